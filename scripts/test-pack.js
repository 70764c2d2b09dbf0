#!/usr/bin/env node
'use strict';

// The packaging test (`npm run test:pack`): what a user gets from
// `npm install wsrs`, without a registry and without a Rust toolchain.
//
// 1. `npm pack` the root package, and the platform package of this machine
//    (a staging copy of npm/<platform>/ plus the built .node, so no build
//    output lands in the repository's npm/ folder); check that both file
//    lists are minimal and print their sizes.
// 2. Install both tarballs into a fresh temporary project, offline, with a
//    PATH that has no cargo or rustc, then load wsrs from there: the
//    bufferutil and utf-8-validate drop-ins, an echo between a wsrs
//    WebSocketServer and a wsrs WebSocket through require(), and the same
//    through `import`.
// 3. Install the root tarball alone and check that loading it fails with
//    the missing-binary error.
//
// Every step prints one line, `[ok]`, `[FAIL]` or `[skip]`, and the run
// ends with `N passed, N failed`. Each child process has a time limit, the
// whole run has one, and the temporary directory is removed at the end.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const pkg = require('../package.json');
const {
  currentTarget,
  platformArchAbi
} = require('../lib/native/missing-binary');

/** The whole run's time limit, in milliseconds. */
const TOTAL_LIMIT = 5 * 60 * 1000;
/** One child process's time limit, in milliseconds. */
const STEP_LIMIT = 2 * 60 * 1000;
/** The time limit of one echo, in milliseconds. */
const ECHO_LIMIT = 15 * 1000;

const started = Date.now();
const results = { passed: 0, failed: 0, skipped: 0 };
let tmp = null;

/**
 * Prints the outcome of one step.
 *
 * @param {('ok'|'FAIL'|'skip')} status The outcome
 * @param {String} step What the step checks
 * @param {String} [detail] What happened
 */
function report(status, step, detail) {
  if (status === 'ok') results.passed++;
  else if (status === 'FAIL') results.failed++;
  else results.skipped++;

  const head = `[${status}]`.padEnd(7);
  const lines = detail ? String(detail).trimEnd().split('\n') : [];
  console.log(`${head}${step}${lines.length === 1 ? ` - ${lines[0]}` : ''}`);
  if (lines.length > 1) {
    for (const line of lines.slice(0, 40)) console.log(`         ${line}`);
    if (lines.length > 40)
      console.log(`         ... (${lines.length - 40} more lines)`);
  }
}

/**
 * Runs one step: `fn` returns a detail string on success and throws on
 * failure. A step whose prerequisites failed is skipped.
 *
 * @param {String} step What the step checks
 * @param {Function} fn The check
 * @param {Boolean} [ready=true] Whether its prerequisites passed
 * @return {Boolean} Whether the step passed
 */
function run(step, fn, ready = true) {
  if (!ready) {
    report('skip', step, 'an earlier step failed');
    return false;
  }
  if (Date.now() - started > TOTAL_LIMIT) {
    report('FAIL', step, 'the run is over its time limit');
    return false;
  }
  try {
    report('ok', step, fn());
    return true;
  } catch (err) {
    report('FAIL', step, err && err.message ? err.message : String(err));
    return false;
  }
}

/**
 * Runs a command with a time limit and returns its output.
 *
 * @param {String} file The program
 * @param {String[]} args Its arguments
 * @param {Object} options `cwd`, `env` and `limit` (milliseconds)
 * @return {String} What it wrote to standard output
 * @throws {Error} If it failed, timed out or was killed, with its output
 */
function exec(file, args, options) {
  const remaining = TOTAL_LIMIT - (Date.now() - started);
  const timeout = Math.max(
    1000,
    Math.min(options.limit || STEP_LIMIT, remaining)
  );
  const result = spawnSync(file, args, {
    cwd: options.cwd,
    env: options.env,
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024
  });

  const output = `${result.stdout || ''}${result.stderr || ''}`.trim();
  if (result.error && result.error.code === 'ETIMEDOUT') {
    throw new Error(`timed out after ${timeout} ms\n${output}`);
  }
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const how = result.signal
      ? `signal ${result.signal}`
      : `status ${result.status}`;
    throw new Error(`exited with ${how}\n${output}`);
  }
  return result.stdout;
}

/**
 * Finds npm's JavaScript entry point, so that npm runs on this Node.js
 * whatever the PATH holds.
 *
 * @return {String} The path of npm-cli.js
 */
function findNpmCli() {
  const candidates = [];
  if (process.env.npm_execpath && process.env.npm_execpath.endsWith('.js')) {
    candidates.push(process.env.npm_execpath);
  }
  const nodeDir = path.dirname(process.execPath);
  candidates.push(
    path.join(nodeDir, 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    path.join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')
  );
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      const real = fs.realpathSync(path.join(dir, 'npm'));
      if (real.endsWith('.js')) candidates.push(real);
    } catch {
      // Not here.
    }
  }
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error('cannot find npm-cli.js');
  return found;
}

/**
 * Tells whether a directory holds a Rust build tool.
 *
 * @param {String} dir The directory
 * @return {Boolean} Whether cargo, rustc or rustup is in it
 */
function hasRust(dir) {
  for (const tool of ['cargo', 'rustc', 'rustup']) {
    for (const ext of process.platform === 'win32' ? ['.exe', '.cmd'] : ['']) {
      if (fs.existsSync(path.join(dir, tool + ext))) return true;
    }
  }
  return false;
}

/**
 * Returns the environment for everything run in the test project: a PATH
 * without any directory holding cargo, rustc or rustup (with a link to
 * this Node.js if its own directory had to go), no Rust or npm variables
 * from the calling process, and an npm configuration of its own.
 *
 * @return {Object} `{ env, removed }`: the environment, and the PATH
 *     directories that were left out
 */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      /^(CARGO|RUSTUP|RUSTC|RUSTFLAGS|RUST_|npm_|NAPI_RS_|INIT_CWD$|NODE_OPTIONS$)/i.test(
        key
      )
    ) {
      continue;
    }
    env[key] = value;
  }

  const removed = [];
  const kept = [];
  const pathKey =
    Object.keys(process.env).find((k) => k.toUpperCase() === 'PATH') || 'PATH';
  for (const dir of (process.env[pathKey] || '').split(path.delimiter)) {
    if (!dir) continue;
    if (hasRust(dir)) {
      if (!removed.includes(dir)) removed.push(dir);
    } else if (!kept.includes(dir)) kept.push(dir);
  }

  const nodeDir = path.dirname(process.execPath);
  if (hasRust(nodeDir) || !kept.includes(nodeDir)) {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const link = path.join(bin, path.basename(process.execPath));
    if (!fs.existsSync(link)) fs.symlinkSync(process.execPath, link);
    kept.unshift(bin);
  }
  env[pathKey] = kept.join(path.delimiter);

  const npmrc = path.join(tmp, 'npmrc');
  fs.writeFileSync(npmrc, '');
  env.npm_config_userconfig = npmrc;
  env.npm_config_cache = path.join(tmp, 'npm-cache');
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  return { env, removed };
}

/**
 * Runs `npm pack` and returns what it packed.
 *
 * @param {String} npmCli The path of npm-cli.js
 * @param {String} dir The package directory
 * @param {String} dest Where to write the tarball
 * @param {Object} env The environment
 * @return {Object} `{ filename, size, unpackedSize, files }`, with the
 *     tarball's full path as `filename` and its file paths as `files`
 */
function pack(npmCli, dir, dest, env) {
  const out = exec(
    process.execPath,
    [npmCli, 'pack', '--json', '--ignore-scripts', '--pack-destination', dest],
    { cwd: dir, env }
  );
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  return {
    filename: path.join(dest, info.filename),
    size: fs.statSync(path.join(dest, info.filename)).size,
    unpackedSize: info.unpackedSize,
    files: info.files.map((f) => f.path).sort()
  };
}

/**
 * Lists the files under a directory (what `readdirSync`'s `recursive`
 * option does from Node.js 18.17 on).
 *
 * @param {String} dir The directory
 * @param {String} [prefix=''] The path of `dir` relative to the first one
 * @return {String[]} The relative paths
 */
function listFiles(dir, prefix = '') {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory())
      files.push(...listFiles(path.join(dir, entry.name), rel));
    else files.push(rel);
  }
  return files;
}

/**
 * Formats a byte count.
 *
 * @param {Number} bytes The count
 * @return {String} E.g. `53.5 KiB (54762 B)`
 */
function size(bytes) {
  const units = ['B', 'KiB', 'MiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(1)} ${units[unit]} (${bytes} B)`;
}

/**
 * Checks the root tarball's file list: everything the package points to is
 * there, and nothing that only the repository needs.
 *
 * @param {String[]} files The packed paths
 * @return {String} A summary
 */
function checkRootFiles(files) {
  const problems = [];
  const forbidden = [
    [/^src\//, 'Rust sources'],
    [/^target\//, 'cargo output'],
    [/^__test__\//, 'tests'],
    [/^bench\//, 'benchmarks'],
    [/^npm\//, 'platform packages'],
    [/^scripts\//, 'repository scripts'],
    [/^\.(ci|github)\//, 'CI files'],
    [/^autobahn\//, 'the Autobahn harness'],
    [/^docs\//, 'docs'],
    [/\.node$/, 'a native binary'],
    [/\.tgz$/, 'a tarball'],
    [/^Cargo\.(toml|lock)$|^build\.rs$/, 'the crate manifest'],
    [/(^|\/)node_modules\//, 'node_modules']
  ];
  for (const file of files) {
    for (const [pattern, what] of forbidden) {
      if (pattern.test(file)) problems.push(`${file} is packed (${what})`);
    }
  }

  // Everything package.json points at must be packed.
  const wanted = new Set([
    'package.json',
    'binding.js',
    'lib/native/addon.js',
    'lib/native/missing-binary.js'
  ]);
  if (pkg.main) wanted.add(path.posix.normalize(pkg.main));
  if (pkg.types) wanted.add(path.posix.normalize(pkg.types));
  const walk = (value) => {
    if (typeof value === 'string') wanted.add(path.posix.normalize(value));
    else if (value && typeof value === 'object')
      Object.values(value).forEach(walk);
  };
  walk(pkg.exports);
  for (const file of wanted) {
    if (file.includes('*')) {
      // A subpath pattern must match at least one packed file.
      const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const pattern = new RegExp(`^${file.split('*').map(escape).join('.+')}$`);
      if (!files.some((f) => pattern.test(f))) {
        problems.push(`${file} is exported but matches no packed file`);
      }
    } else if (!files.includes(file)) {
      problems.push(`${file} is referenced but not packed`);
    }
  }

  if (problems.length > 0) throw new Error(problems.join('\n'));
  return `${files.length} files, none of src/ target/ __test__/ bench/ npm/ *.node`;
}

/**
 * The CommonJS echo: a wsrs server and a wsrs client on 127.0.0.1, one text
 * and one binary message each way, then a clean close. Written for ws's
 * API, which wsrs copies.
 */
const ECHO_CJS = `'use strict';
const assert = require('node:assert');
const { WebSocket, WebSocketServer } = require('wsrs');
${echoBody()}
`;

/** The same echo through ESM named imports. */
const ECHO_ESM = `import assert from 'node:assert';
import { WebSocket, WebSocketServer } from 'wsrs';
${echoBody()}
`;

/**
 * Returns the body shared by the two echo scripts.
 *
 * @return {String} JavaScript source
 */
function echoBody() {
  return `
const timer = setTimeout(() => {
  console.error('the echo did not finish in ${ECHO_LIMIT} ms');
  process.exit(3);
}, ${ECHO_LIMIT});

const fail = (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
};

const text = 'hello from wsrs \\u00e9\\u20ac';
const binary = Buffer.from([0, 1, 2, 127, 128, 255]);
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('error', fail);
wss.on('connection', (ws) => {
  ws.on('error', fail);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  const { port } = wss.address();
  const ws = new WebSocket('ws://127.0.0.1:' + port);
  const received = [];
  ws.on('error', fail);
  ws.on('open', () => {
    ws.send(text);
    ws.send(binary);
  });
  ws.on('message', (data, isBinary) => {
    received.push({ data, isBinary });
    if (received.length < 2) return;
    try {
      assert.strictEqual(received[0].isBinary, false);
      assert.strictEqual(received[0].data.toString(), text);
      assert.strictEqual(received[1].isBinary, true);
      assert.deepStrictEqual(Buffer.from(received[1].data), binary);
    } catch (err) {
      fail(err);
    }
    ws.close(1000, 'done');
  });
  ws.on('close', (code, reason) => {
    try {
      assert.strictEqual(code, 1000);
      assert.strictEqual(reason.toString(), 'done');
    } catch (err) {
      fail(err);
    }
    wss.close(() => {
      clearTimeout(timer);
      console.log('echoed a text and a binary message on port ' + port + ', closed with 1000');
    });
  });
});
`;
}

/** The drop-ins, checked against what they must compute. */
const HELPERS_CJS = `'use strict';
const assert = require('node:assert');
const path = require('node:path');
const { mask, unmask } = require('wsrs/bufferutil');
const isValidUTF8 = require('wsrs/utf-8-validate');

const source = Buffer.from('wsrs packaging test');
const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
const output = Buffer.alloc(source.length + 2);
mask(source, key, output, 2, source.length);
for (let i = 0; i < source.length; i++) {
  assert.strictEqual(output[i + 2], source[i] ^ key[i & 3]);
}
const copy = Buffer.from(output.subarray(2));
unmask(copy, key);
assert.deepStrictEqual(copy, source);

assert.strictEqual(isValidUTF8(Buffer.from('caf\\u00e9 \\u{1f600}')), true);
assert.strictEqual(isValidUTF8(Buffer.from([0xed, 0xa0, 0x80])), false);

const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
assert.strictEqual(loaded.length, 1, loaded.join(', '));
console.log('binary: ' + path.relative(process.cwd(), loaded[0]));
`;

/** Loading wsrs without its platform package. */
const MISSING_CJS = `'use strict';
try {
  require('wsrs/bufferutil');
  console.log('LOADED');
} catch (err) {
  console.log(JSON.stringify({ code: err.code, message: err.message }));
}
`;

/**
 * Runs the test.
 *
 * @return {Number} The exit status
 */
function main() {
  const target = currentTarget();
  const abi = platformArchAbi(target);
  const platformName = `${pkg.name}-${abi}`;
  const binary = `${pkg.napi.binaryName}.${abi}.node`;
  const npmDir = path.join(ROOT, 'npm', abi);

  tmp = fs.realpathSync(
    fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-test-pack-'))
  );
  const packs = path.join(tmp, 'packs');
  const stage = path.join(tmp, 'stage', abi);
  const project = path.join(tmp, 'project');
  const bare = path.join(tmp, 'project-without-binary');
  const asWs = path.join(tmp, 'project-as-ws');
  fs.mkdirSync(packs, { recursive: true });

  console.log(
    `wsrs ${pkg.version} packaging test on ${abi}, node ${process.version}`
  );
  console.log(`temporary directory: ${tmp}`);

  let npmCli;
  let env;
  let rootPack;
  let platformPack;

  const haveTools = run(
    'find npm and clear the PATH of cargo and rustc',
    () => {
      npmCli = findNpmCli();
      const clean = cleanEnv();
      env = clean.env;
      const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH');
      const left = env[pathKey].split(path.delimiter).filter(hasRust);
      if (left.length > 0) throw new Error(`still on PATH: ${left.join(', ')}`);
      const removed = clean.removed.length
        ? clean.removed.join(', ')
        : 'nothing to remove';
      return `npm: ${npmCli}; left out: ${removed}`;
    }
  );

  const havePlatformSource = run(
    `the built ${binary} and npm/${abi}/ exist`,
    () => {
      if (!fs.existsSync(path.join(ROOT, binary))) {
        throw new Error(`${binary} is missing: build it first (npm run build)`);
      }
      if (!fs.existsSync(path.join(npmDir, 'package.json'))) {
        throw new Error(
          `npm/${abi}/package.json is missing: no package for ${abi}`
        );
      }
      return size(fs.statSync(path.join(ROOT, binary)).size);
    }
  );

  const rootPacked = run(
    'npm pack the root package',
    () => {
      rootPack = pack(npmCli, ROOT, packs, env);
      return (
        `${path.basename(rootPack.filename)}: ${size(rootPack.size)} packed, ` +
        `${size(rootPack.unpackedSize)} unpacked, ${rootPack.files.length} files`
      );
    },
    haveTools
  );

  run(
    'the root tarball holds only what the package needs',
    () => checkRootFiles(rootPack.files),
    rootPacked
  );

  const platformPacked = run(
    `npm pack ${platformName} from a staging copy`,
    () => {
      fs.mkdirSync(stage, { recursive: true });
      for (const file of fs.readdirSync(npmDir)) {
        fs.copyFileSync(path.join(npmDir, file), path.join(stage, file));
      }
      fs.copyFileSync(path.join(ROOT, binary), path.join(stage, binary));
      platformPack = pack(npmCli, stage, packs, env);
      return (
        `${path.basename(platformPack.filename)}: ${size(platformPack.size)} packed, ` +
        `${size(platformPack.unpackedSize)} unpacked`
      );
    },
    haveTools && havePlatformSource
  );

  run(
    'the platform tarball holds only the binary, package.json and README.md',
    () => {
      const expected = ['README.md', binary, 'package.json'].sort();
      if (JSON.stringify(platformPack.files) !== JSON.stringify(expected)) {
        throw new Error(
          `packed: ${platformPack.files.join(', ')}; expected: ${expected.join(', ')}`
        );
      }
      if (fs.readdirSync(npmDir).some((f) => f.endsWith('.node'))) {
        throw new Error(
          `npm/${abi}/ holds a .node file: build output belongs in the staging copy`
        );
      }
      return platformPack.files.join(', ');
    },
    platformPacked
  );

  const installed = run(
    'npm install both tarballs into a fresh project (offline, no Rust on PATH)',
    () => {
      fs.mkdirSync(project, { recursive: true });
      fs.writeFileSync(
        path.join(project, 'package.json'),
        JSON.stringify(
          { name: 'wsrs-pack-test', version: '1.0.0', private: true },
          null,
          2
        )
      );
      const out = exec(
        process.execPath,
        [
          npmCli,
          'install',
          '--offline',
          '--no-audit',
          '--no-fund',
          platformPack.filename,
          rootPack.filename
        ],
        { cwd: project, env }
      );
      const modules = fs
        .readdirSync(path.join(project, 'node_modules'))
        .filter((d) => !d.startsWith('.'));
      const expected = [pkg.name, platformName].sort();
      if (JSON.stringify(modules.sort()) !== JSON.stringify(expected)) {
        throw new Error(
          `node_modules holds ${modules.join(', ')}; expected ${expected.join(', ')}`
        );
      }
      const stray = listFiles(
        path.join(project, 'node_modules', pkg.name)
      ).filter((f) => f.endsWith('.node'));
      if (stray.length > 0)
        throw new Error(`wsrs itself holds ${stray.join(', ')}`);
      return `${out.trim().split('\n').pop()}; the other optional dependencies were skipped`;
    },
    rootPacked && platformPacked
  );

  const script = (name, text) => {
    const file = path.join(project, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const node = (file, cwd = project) =>
    exec(process.execPath, [file], {
      cwd,
      env,
      limit: ECHO_LIMIT + 10000
    }).trim();

  run(
    "require('wsrs/bufferutil') and require('wsrs/utf-8-validate')",
    () => node(script('helpers.cjs', HELPERS_CJS)),
    installed
  );

  run(
    "require('wsrs'): echo between a WebSocketServer and a WebSocket",
    () => node(script('echo.cjs', ECHO_CJS)),
    installed
  );

  run(
    "import { WebSocket, WebSocketServer } from 'wsrs': the same echo",
    () => node(script('echo.mjs', ECHO_ESM)),
    installed
  );

  run(
    "installed under the name ws (npm install ws@file:...): require('ws') echoes",
    () => {
      fs.mkdirSync(asWs, { recursive: true });
      fs.writeFileSync(
        path.join(asWs, 'package.json'),
        JSON.stringify(
          { name: 'wsrs-pack-test-as-ws', version: '1.0.0', private: true },
          null,
          2
        )
      );
      exec(
        process.execPath,
        [
          npmCli,
          'install',
          '--offline',
          '--no-audit',
          '--no-fund',
          platformPack.filename,
          `ws@file:${rootPack.filename}`
        ],
        { cwd: asWs, env }
      );
      const manifest = JSON.parse(
        fs.readFileSync(
          path.join(asWs, 'node_modules', 'ws', 'package.json'),
          'utf8'
        )
      );
      if (manifest.name !== pkg.name) {
        throw new Error(`node_modules/ws is ${manifest.name}, not ${pkg.name}`);
      }
      const file = path.join(asWs, 'echo-as-ws.cjs');
      fs.writeFileSync(
        file,
        ECHO_CJS.split("require('wsrs')").join("require('ws')")
      );
      return node(file, asWs);
    },
    rootPacked && platformPacked
  );

  run(
    'without the platform package, loading wsrs throws the missing-binary error',
    () => {
      fs.mkdirSync(bare, { recursive: true });
      fs.writeFileSync(
        path.join(bare, 'package.json'),
        JSON.stringify(
          { name: 'wsrs-pack-test-bare', version: '1.0.0', private: true },
          null,
          2
        )
      );
      exec(
        process.execPath,
        [
          npmCli,
          'install',
          '--offline',
          '--no-audit',
          '--no-fund',
          rootPack.filename
        ],
        {
          cwd: bare,
          env
        }
      );
      const file = path.join(bare, 'missing.cjs');
      fs.writeFileSync(file, MISSING_CJS);
      const out = node(file, bare);
      if (out === 'LOADED')
        throw new Error('wsrs loaded without its platform package');
      const { code, message } = JSON.parse(out);
      if (
        code !== 'ERR_WSRS_NATIVE_BINDING' ||
        !message.includes(`package ${platformName}, which is not installed`)
      ) {
        throw new Error(`unexpected error (${code}):\n${message}`);
      }
      return `npm installed wsrs alone without complaint; require throws ${code} naming ${platformName}`;
    },
    rootPacked
  );

  return results.failed > 0 ? 1 : 0;
}

/**
 * Removes the temporary directory.
 */
function cleanUp() {
  if (!tmp) return;
  try {
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    console.error(`could not remove ${tmp}: ${err.message}`);
  }
  tmp = null;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

let status = 1;
try {
  status = main();
} catch (err) {
  report(
    'FAIL',
    'the packaging test itself',
    err && err.stack ? err.stack : String(err)
  );
} finally {
  cleanUp();
}
console.log(
  `${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`
);
process.exitCode = results.failed > 0 ? 1 : status;
