'use strict';

// Tests for lib/native/addon.js, the one place the addon is loaded: the normal
// load, and the error it throws on a machine with no binary. The second is
// tested in child processes whose `process.platform` / `process.arch` are
// redefined by a `--require` preload before anything is loaded.

const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const pkg = require('../package.json');
const {
  detectLibc,
  loadErrorsOf,
  nativeBindingError,
  packageNameFor,
  platformArchAbi
} = require('../lib/native/missing-binary');

const ROOT = path.join(__dirname, '..');

// A published target other than this machine's, so that no binary for it
// is present: the loader has to fail on it.
const OTHER_ARCH = process.arch === 'x64' ? 'arm64' : 'x64';
const OTHER_LIBC = detectLibc('linux');
const OTHER_PACKAGE = packageNameFor({
  platform: 'linux',
  arch: OTHER_ARCH,
  libc: OTHER_LIBC
});

let tmp;

/**
 * Requires a module in a child process whose platform and architecture are
 * faked, and returns what the require threw.
 *
 * @param {String} modulePath The absolute path of the module to require
 * @param {Object} fake The platform and architecture to pretend
 * @param {String} [fake.platform] The value for `process.platform`
 * @param {String} [fake.arch] The value for `process.arch`
 * @return {Object} `{ loaded: true }`, or `{ loaded: false, message, code,
 *     packageName, platform, arch, libc, causeMessage, loadErrors }`
 */
function probe(modulePath, fake) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('NAPI_RS_')) delete env[key];
  }
  if (fake.platform) env.WSRS_FAKE_PLATFORM = fake.platform;
  if (fake.arch) env.WSRS_FAKE_ARCH = fake.arch;

  const out = execFileSync(
    process.execPath,
    [
      '--require',
      path.join(tmp, 'fake-platform.js'),
      path.join(tmp, 'probe.js'),
      modulePath
    ],
    { env, encoding: 'utf8', timeout: 30000 }
  );
  return JSON.parse(out);
}

before(() => {
  // The real path: require.resolve reports real paths (macOS's /var is a
  // link to /private/var).
  tmp = fs.realpathSync.native(
    fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-loader-test-'))
  );

  fs.writeFileSync(
    path.join(tmp, 'fake-platform.js'),
    [
      "'use strict';",
      'for (const [key, name] of [',
      "  ['platform', 'WSRS_FAKE_PLATFORM'],",
      "  ['arch', 'WSRS_FAKE_ARCH']",
      ']) {',
      '  const value = process.env[name];',
      '  if (value) Object.defineProperty(process, key, { value });',
      '}',
      ''
    ].join('\n')
  );

  fs.writeFileSync(
    path.join(tmp, 'probe.js'),
    [
      "'use strict';",
      'let result;',
      'try {',
      '  require(process.argv[2]);',
      '  result = { loaded: true };',
      '} catch (err) {',
      '  result = {',
      '    loaded: false,',
      '    message: err.message,',
      '    code: err.code,',
      '    packageName: err.packageName,',
      '    platform: err.platform,',
      '    arch: err.arch,',
      '    libc: err.libc,',
      '    causeMessage: err.cause && err.cause.message,',
      '    loadErrors: (err.loadErrors || []).map((e) => e.message)',
      '  };',
      '}',
      'process.stdout.write(JSON.stringify(result));',
      ''
    ].join('\n')
  );
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the normal load', () => {
  test('lib/native/addon exports the addon', () => {
    const native = require('../lib/native/addon');

    for (const name of ['mask', 'unmask', 'isValidUTF8']) {
      assert.strictEqual(typeof native[name], 'function', name);
    }
    for (const name of ['NativeParser', 'NativeDeflate', 'NativeInflate']) {
      assert.strictEqual(typeof native[name], 'function', name);
    }
    assert.strictEqual(native, require('../binding'));
  });

  test('the drop-ins load through lib/native/addon', () => {
    const { mask, unmask } = require('../bufferutil');
    const isValidUTF8 = require('../utf-8-validate');

    const source = Buffer.from('hello');
    const output = Buffer.alloc(5);
    const key = Buffer.from([1, 2, 3, 4]);
    mask(source, key, output, 0, 5);
    assert.notDeepStrictEqual(output, source);
    unmask(output, key);
    assert.deepStrictEqual(output, source);

    assert.strictEqual(isValidUTF8(Buffer.from('h\u00e9llo')), true);
    assert.strictEqual(isValidUTF8(Buffer.from([0xc0, 0x80])), false);
  });

  test('a child process without fakes loads it too', () => {
    const result = probe(path.join(ROOT, 'bufferutil.js'), {});
    assert.deepStrictEqual(result, { loaded: true });
  });
});

describe('a machine without a binary', () => {
  test('an unknown architecture on Linux', () => {
    const result = probe(path.join(ROOT, 'lib', 'native', 'addon.js'), {
      platform: 'linux',
      arch: 'mips'
    });
    const libc = detectLibc('linux');
    const name = `${pkg.name}-linux-mips-${libc === 'musl' ? 'musl' : 'gnu'}`;

    assert.strictEqual(result.loaded, false);
    assert.strictEqual(result.code, 'ERR_WSRS_NATIVE_BINDING');
    assert.strictEqual(result.packageName, name);
    assert.strictEqual(result.libc, libc);
    assert.match(result.message, new RegExp(`on linux mips \\(${libc}\\)`));
    assert.ok(result.message.includes(`package ${name}`), result.message);
    assert.match(result.message, /publishes no binary for this platform/);
    assert.match(result.message, /prebuilt: [^)]*\blinux-x64-gnu\b/);
    assert.match(result.message, /Rust toolchain/);
    assert.match(result.message, /`npm run build`/);
    assert.match(result.message, /NAPI_RS_NATIVE_LIBRARY_PATH/);

    // The loader's own error, and each attempt, are kept.
    assert.match(result.causeMessage, /Cannot find native binding/);
    assert.ok(
      result.loadErrors.includes('Unsupported architecture on Linux: mips'),
      result.loadErrors.join('\n')
    );
    assert.match(
      result.message,
      /Load attempts[^\n]*\n {2}- Unsupported architecture on Linux: mips/
    );
  });

  test('an unknown platform', () => {
    const result = probe(path.join(ROOT, 'bufferutil.js'), {
      platform: 'aix',
      arch: 'ppc64'
    });

    assert.strictEqual(result.loaded, false);
    assert.strictEqual(result.code, 'ERR_WSRS_NATIVE_BINDING');
    assert.strictEqual(result.packageName, `${pkg.name}-aix-ppc64`);
    assert.strictEqual(result.libc, null);
    assert.match(
      result.message,
      /^wsrs could not load its native addon on aix ppc64\.\n/
    );
    assert.match(
      result.message,
      /package wsrs-aix-ppc64, but wsrs publishes no binary/
    );
    assert.match(result.message, /`npm run build`/);
    assert.match(
      result.loadErrors[0],
      /Unsupported OS: aix, architecture: ppc64/
    );
  });

  test('a published target whose package is not installed', () => {
    const result = probe(path.join(ROOT, 'utf-8-validate.js'), {
      platform: 'linux',
      arch: OTHER_ARCH
    });

    assert.strictEqual(result.loaded, false);
    assert.strictEqual(result.code, 'ERR_WSRS_NATIVE_BINDING');
    assert.strictEqual(result.packageName, OTHER_PACKAGE);
    assert.ok(
      Object.keys(pkg.optionalDependencies).includes(OTHER_PACKAGE),
      `${OTHER_PACKAGE} is an optional dependency`
    );
    assert.match(
      result.message,
      new RegExp(`on linux ${OTHER_ARCH} \\(${OTHER_LIBC}\\)`)
    );
    assert.ok(
      result.message.includes(
        `It looked for the package ${OTHER_PACKAGE}, which is not installed.`
      ),
      result.message
    );
    assert.match(result.message, /--omit=optional/);
    assert.match(result.message, /`npm run build`/);
    assert.ok(
      result.loadErrors.some((m) => m.includes(`'${OTHER_PACKAGE}'`)),
      result.loadErrors.join('\n')
    );
  });

  test('an installed package whose binary does not load', () => {
    // A copy of the parts of wsrs that load the addon, with a platform
    // package of the wrong version whose .node file is not a library.
    const copy = path.join(tmp, 'installed');
    const abi = platformArchAbi({
      platform: 'linux',
      arch: OTHER_ARCH,
      libc: OTHER_LIBC
    });
    const platformDir = path.join(copy, 'node_modules', OTHER_PACKAGE);

    fs.mkdirSync(path.join(copy, 'lib', 'native'), { recursive: true });
    fs.mkdirSync(platformDir, { recursive: true });
    for (const file of [
      'package.json',
      'binding.js',
      path.join('lib', 'native', 'addon.js'),
      path.join('lib', 'native', 'missing-binary.js')
    ]) {
      fs.copyFileSync(path.join(ROOT, file), path.join(copy, file));
    }
    fs.writeFileSync(
      path.join(platformDir, 'package.json'),
      JSON.stringify({
        name: OTHER_PACKAGE,
        version: '0.0.0-broken',
        main: `${pkg.name}.${abi}.node`
      })
    );
    fs.writeFileSync(
      path.join(platformDir, `${pkg.name}.${abi}.node`),
      'not a shared library'
    );

    const result = probe(path.join(copy, 'lib', 'native', 'addon.js'), {
      platform: 'linux',
      arch: OTHER_ARCH
    });

    assert.strictEqual(result.loaded, false);
    assert.strictEqual(result.packageName, OTHER_PACKAGE);
    assert.ok(
      result.message.includes(
        `It looked for the package ${OTHER_PACKAGE}, which is installed in ` +
          `${platformDir} (version 0.0.0-broken) but did not load.`
      ),
      result.message
    );
    assert.ok(
      result.message.includes(
        `${pkg.name} ${pkg.version} needs ${OTHER_PACKAGE} ${pkg.version}`
      ),
      result.message
    );
    // The dlopen failure is among the attempts.
    assert.ok(
      result.loadErrors.some((m) => m.includes(`${pkg.name}.${abi}.node`)),
      result.loadErrors.join('\n')
    );
  });
});

describe('missing-binary', () => {
  test('platformArchAbi follows the napi-rs package names', () => {
    const cases = [
      [{ platform: 'linux', arch: 'x64', libc: 'glibc' }, 'linux-x64-gnu'],
      [{ platform: 'linux', arch: 'x64', libc: 'musl' }, 'linux-x64-musl'],
      [{ platform: 'linux', arch: 'arm64', libc: 'musl' }, 'linux-arm64-musl'],
      [
        { platform: 'linux', arch: 'arm', libc: 'glibc' },
        'linux-arm-gnueabihf'
      ],
      [{ platform: 'darwin', arch: 'arm64', libc: null }, 'darwin-arm64'],
      [{ platform: 'win32', arch: 'x64', libc: null }, 'win32-x64-msvc'],
      [{ platform: 'android', arch: 'arm', libc: null }, 'android-arm-eabi'],
      [{ platform: 'freebsd', arch: 'x64', libc: null }, 'freebsd-x64']
    ];

    for (const [target, expected] of cases) {
      assert.strictEqual(platformArchAbi(target), expected);
    }
  });

  test('every optional dependency is the package of a target', () => {
    const names = new Set();
    for (const platform of ['linux', 'darwin', 'win32']) {
      for (const arch of ['x64', 'arm64']) {
        for (const libc of platform === 'linux' ? ['glibc', 'musl'] : [null]) {
          names.add(packageNameFor({ platform, arch, libc }));
        }
      }
    }
    for (const name of Object.keys(pkg.optionalDependencies)) {
      assert.ok(names.has(name), name);
    }
  });

  test('loadErrorsOf unrolls the loader chain, oldest first', () => {
    const first = new Error('first');
    const second = new Error('second');
    second.cause = first;
    const top = new Error('Cannot find native binding');
    top.cause = second;

    assert.deepStrictEqual(loadErrorsOf(top), [first, second]);

    const plain = new Error('plain');
    assert.deepStrictEqual(loadErrorsOf(plain), [plain]);

    const loop = new Error('loop');
    loop.cause = loop;
    const outer = new Error('outer');
    outer.cause = loop;
    assert.deepStrictEqual(loadErrorsOf(outer), [loop]);
  });

  test('a matching installed version gets no version advice', () => {
    const cause = new Error('Cannot find native binding');
    cause.cause = new Error('invalid ELF header');
    const err = nativeBindingError(
      cause,
      { platform: 'linux', arch: 'x64', libc: 'musl' },
      () => ({ dir: '/somewhere', version: pkg.version })
    );

    assert.strictEqual(err.packageName, `${pkg.name}-linux-x64-musl`);
    assert.strictEqual(err.cause, cause);
    assert.deepStrictEqual(err.loadErrors, [cause.cause]);
    assert.match(err.message, /on linux x64 \(musl\)/);
    assert.match(err.message, /installed in \/somewhere/);
    assert.doesNotMatch(err.message, /reinstall so that/);
    assert.match(err.message, / {2}- invalid ELF header$/);
  });
});
