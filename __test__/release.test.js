'use strict';

// Tests for what a release relies on: the platform packages in step with
// the root (scripts/sync-versions.js), a release workflow that parses and
// covers every target, and one binary for every Node.js the package
// supports.

const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { describe, test } = require('node:test');

const pkg = require('../package.json');
const { platformOf } = require('../scripts/sync-versions');

const ROOT = path.join(__dirname, '..');
const SYNC = path.join(ROOT, 'scripts', 'sync-versions.js');
const WORKFLOW = path.join(ROOT, '.github', 'workflows', 'release.yml');

/**
 * Runs scripts/sync-versions.js.
 *
 * @param {String[]} args The arguments
 * @return {Object} The result of `spawnSync`
 */
function sync(args) {
  return spawnSync(process.execPath, [SYNC, ...args], {
    encoding: 'utf8',
    timeout: 30000
  });
}

/**
 * Parses YAML with js-yaml if it is installed (mocha brings it), else with
 * Python's PyYAML.
 *
 * @param {String} file The path of the YAML file
 * @return {(Object|null)} The parsed document, or `null` if no parser is
 *     available
 */
function parseYaml(file) {
  let yaml = null;
  try {
    yaml = require('js-yaml');
  } catch {
    // Try Python below.
  }
  if (yaml) return yaml.load(fs.readFileSync(file, 'utf8'));

  const result = spawnSync(
    'python3',
    [
      '-c',
      'import json, sys, yaml; ' +
        'json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)',
      file
    ],
    { encoding: 'utf8', timeout: 30000 }
  );
  if (result.error || result.status !== 0) {
    if (/No module named|ENOENT/.test(`${result.stderr}${result.error}`)) {
      return null;
    }
    throw new Error(`PyYAML could not parse ${file}: ${result.stderr}`);
  }
  // PyYAML reads `on` as the boolean true, as YAML 1.1 says.
  const doc = JSON.parse(result.stdout);
  if ('true' in doc && !('on' in doc)) doc.on = doc.true;
  return doc;
}

describe('scripts/sync-versions.js', () => {
  test('the platform packages are in sync', () => {
    const result = sync(['--check']);
    assert.strictEqual(result.status, 0, result.stderr);
  });

  test('--check fails on a changed version and the sync fixes it', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-sync-test-'));
    try {
      fs.copyFileSync(
        path.join(ROOT, 'package.json'),
        path.join(tmp, 'package.json')
      );
      fs.cpSync(path.join(ROOT, 'npm'), path.join(tmp, 'npm'), {
        recursive: true
      });
      const rootText = fs.readFileSync(path.join(tmp, 'package.json'), 'utf8');
      const newVersion = '9.8.7-test.1';

      // A release bumps the root version (`npm version` does).
      fs.writeFileSync(
        path.join(tmp, 'package.json'),
        rootText.replace(
          `"version": "${pkg.version}"`,
          `"version": "${newVersion}"`
        )
      );
      // One platform package lost its libc field.
      const gnu = path.join(tmp, 'npm', 'linux-x64-gnu', 'package.json');
      const gnuManifest = JSON.parse(fs.readFileSync(gnu, 'utf8'));
      delete gnuManifest.libc;
      fs.writeFileSync(gnu, JSON.stringify(gnuManifest));

      let result = sync(['--check', '--root', tmp]);
      assert.strictEqual(result.status, 1);
      assert.match(
        result.stderr,
        /npm\/darwin-arm64\/package\.json: version is "0\.1\.0", should be "9\.8\.7-test\.1"/
      );
      assert.match(
        result.stderr,
        /optionalDependencies\["wsrs-linux-x64-gnu"\] is "0\.1\.0", should be "9\.8\.7-test\.1"/
      );
      assert.match(
        result.stderr,
        /npm\/linux-x64-gnu\/package\.json: libc is undefined/
      );

      result = sync(['--root', tmp, '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      result = sync(['--check', '--root', tmp]);
      assert.strictEqual(result.status, 0, result.stderr);

      const root = JSON.parse(
        fs.readFileSync(path.join(tmp, 'package.json'), 'utf8')
      );
      for (const [name, version] of Object.entries(root.optionalDependencies)) {
        assert.strictEqual(version, newVersion, name);
        const dir = path.join(tmp, 'npm', name.slice(pkg.name.length + 1));
        const manifest = JSON.parse(
          fs.readFileSync(path.join(dir, 'package.json'), 'utf8')
        );
        assert.strictEqual(manifest.version, newVersion, name);
      }
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(gnu, 'utf8')).libc, [
        'glibc'
      ]);

      // Only the versions changed in the root package.json: the rest keeps
      // its formatting.
      assert.strictEqual(
        fs.readFileSync(path.join(tmp, 'package.json'), 'utf8'),
        rootText.split(pkg.version).join(newVersion)
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('each platform package declares its os, cpu, libc, main and files', () => {
    for (const triple of pkg.napi.targets) {
      const platform = platformOf(triple);
      const dir = path.join(ROOT, 'npm', platform.dir);
      const manifest = require(path.join(dir, 'package.json'));
      const binary = `${pkg.napi.binaryName}.${platform.dir}.node`;

      assert.strictEqual(manifest.name, `${pkg.name}-${platform.dir}`);
      assert.strictEqual(manifest.version, pkg.version);
      assert.deepStrictEqual(manifest.os, [platform.os]);
      assert.deepStrictEqual(manifest.cpu, [platform.cpu]);
      if (platform.os === 'linux') {
        assert.deepStrictEqual(manifest.libc, [
          triple.endsWith('musl') ? 'musl' : 'glibc'
        ]);
      } else {
        assert.strictEqual(manifest.libc, undefined, triple);
      }
      assert.strictEqual(manifest.main, binary);
      assert.deepStrictEqual(manifest.files, [binary]);
      assert.deepStrictEqual(manifest.engines, pkg.engines);
      assert.strictEqual(manifest.license, pkg.license);
      assert.ok(
        fs
          .readFileSync(path.join(dir, 'README.md'), 'utf8')
          .includes(`Install \`${pkg.name}\`, not this package`),
        `${platform.dir}/README.md`
      );
      assert.strictEqual(pkg.optionalDependencies[manifest.name], pkg.version);
    }
  });

  test('platformOf names the napi-rs platforms', () => {
    assert.deepStrictEqual(platformOf('aarch64-unknown-linux-musl'), {
      triple: 'aarch64-unknown-linux-musl',
      dir: 'linux-arm64-musl',
      os: 'linux',
      cpu: 'arm64',
      libc: 'musl'
    });
    assert.strictEqual(
      platformOf('x86_64-pc-windows-msvc').dir,
      'win32-x64-msvc'
    );
    assert.strictEqual(platformOf('aarch64-apple-darwin').dir, 'darwin-arm64');
    assert.strictEqual(
      platformOf('armv7-unknown-linux-gnueabihf').dir,
      'linux-arm-gnueabihf'
    );
    assert.throws(() => platformOf('mips-unknown-linux-gnu'), /architecture/);
  });
});

describe('.github/workflows/release.yml', () => {
  test('parses and builds, tests and publishes every target', (t) => {
    const doc = parseYaml(WORKFLOW);
    if (doc === null) {
      t.skip('no YAML parser (js-yaml or PyYAML) is installed');
      return;
    }

    assert.ok(doc.on.push.tags.includes('v*'));
    const {
      build,
      test: native,
      'test-emulated': emulated,
      publish
    } = doc.jobs;

    const built = build.strategy.matrix.settings.map((s) => s.target);
    assert.deepStrictEqual([...built].sort(), [...pkg.napi.targets].sort());

    const tested = [
      ...native.strategy.matrix.settings,
      ...emulated.strategy.matrix.settings
    ].map((s) => s.target);
    assert.deepStrictEqual([...tested].sort(), [...pkg.napi.targets].sort());

    // The oldest supported Node.js is tested natively and under emulation.
    const oldest = pkg.engines.node.match(/\d+/)[0];
    assert.ok(native.strategy.matrix.node.map(String).includes(oldest));
    assert.ok(emulated.strategy.matrix.node.map(String).includes(oldest));

    assert.deepStrictEqual([...publish.needs].sort(), [
      'test',
      'test-emulated'
    ]);
    assert.match(publish.if, /refs\/tags\/v/);
    assert.strictEqual(publish.permissions['id-token'], 'write');
    const runs = publish.steps.map((s) => s.run || '').join('\n');
    assert.match(runs, /npm publish [^\n]*--provenance/);
    assert.match(runs, /sync-versions\.js --check/);
  });
});

describe('supported Node.js versions', () => {
  test('engines says >= 18', () => {
    assert.strictEqual(pkg.engines.node, '>= 18');
  });

  test('the crate asks for no Node-API version above 8 (Node.js 18)', () => {
    const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
    const napiLine = cargo.split('\n').find((l) => /^napi\s*=/.test(l));
    assert.ok(napiLine, 'Cargo.toml depends on napi');
    const levels = [...napiLine.matchAll(/"napi(\d+)"/g)].map((m) => +m[1]);
    assert.ok(levels.length > 0, napiLine);
    assert.ok(Math.max(...levels) <= 8, napiLine);
    assert.doesNotMatch(napiLine, /experimental/);
  });

  test('the built binary imports no Node-API 9+ function', (t) => {
    const file = fs
      .readdirSync(ROOT)
      .find(
        (f) => f.startsWith(`${pkg.napi.binaryName}.`) && f.endsWith('.node')
      );
    if (!file) {
      t.skip('no built .node file in the package root');
      return;
    }

    // Every Node-API function added after version 8 is named node_api_*;
    // the names of imported functions are in the binary as text.
    const text = fs.readFileSync(path.join(ROOT, file)).toString('latin1');
    const newer = [...new Set(text.match(/node_api_[a-z0-9_]+/g) || [])].filter(
      (name) => name !== 'node_api_module_get_api_version_v1'
    );
    assert.deepStrictEqual(newer, []);
    assert.match(text, /napi_register_module_v1/);
  });
});
