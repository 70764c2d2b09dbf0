'use strict';

// No panic crosses into Node: an addon built with the `panic-probe` cargo
// feature panics on inputs that start with a magic prefix (see
// src/glue/mod.rs). That build is made here with cargo, into its own
// target directory (the shipped addon is never touched), and loaded in a
// child process through napi-rs's NAPI_RS_NATIVE_LIBRARY_PATH. Skipped
// where cargo is not available.

const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const ROOT = path.join(__dirname, '..');
const TARGET_DIR = path.join(ROOT, 'target', 'panic-probe');
const LIB = process.platform === 'darwin' ? 'libwsrs.dylib' : 'libwsrs.so';
const hasCargo =
  spawnSync('cargo', ['--version']).status === 0 &&
  process.platform === 'linux';

test(
  'a panic inside the addon becomes a JavaScript error and only fails its connection',
  { skip: hasCargo ? false : 'needs cargo on Linux', timeout: 600000 },
  () => {
    const build = spawnSync(
      'cargo',
      [
        'build',
        '--lib',
        '--features',
        'panic-probe',
        '--target-dir',
        TARGET_DIR
      ],
      { cwd: ROOT, encoding: 'utf8' }
    );
    assert.strictEqual(build.status, 0, build.stderr);

    const addon = path.join(TARGET_DIR, 'wsrs-panic-probe.node');
    fs.copyFileSync(path.join(TARGET_DIR, 'debug', LIB), addon);

    const child = spawnSync(
      process.execPath,
      [path.join(__dirname, 'fixtures', 'panic-probe-child.js')],
      {
        encoding: 'utf8',
        timeout: 30000,
        env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: addon }
      }
    );
    assert.strictEqual(child.status, 0, `${child.stdout}\n${child.stderr}`);
    const out = JSON.parse(child.stdout.trim().split('\n').pop());
    const internal = /^Error: .*wsrs panic probe|^Error: wsrs: internal error/;

    // The raw buffer helpers throw, and work again afterwards.
    assert.match(out.isValidUTF8, internal);
    assert.match(out.mask, internal);
    assert.match(out.unmask, internal);
    assert.strictEqual(out.helpersAfter, true);

    // Compression, in the calling thread and on the thread pool, and
    // decompression report the panic to their callback.
    assert.match(out.compress, internal);
    assert.strictEqual(
      out.compressSameAfter,
      'Error: the compressor is poisoned'
    );
    assert.match(out.compressAsync, internal);
    assert.strictEqual(
      out.compressAsyncSameAfter,
      'Error: the compressor is poisoned'
    );
    assert.match(out.decompress, /^Error: /);
    assert.strictEqual(out.compressAfter, true);

    // A panic while parsing fails that connection with 1011; one while
    // compressing a message ends that connection; the server goes on.
    assert.strictEqual(out.receiveCloseCode, 1011);
    assert.strictEqual(out.sendCloseCode, 1006);
    assert.ok(
      out.serverErrors.some((e) => e.startsWith('ERR_WSRS_INTERNAL ')),
      out.serverErrors
    );
    assert.strictEqual(out.echoAfter, 'still serving');
    assert.strictEqual(out.clientsLeft, 0);
  }
);
