'use strict';

// Type-checks index.d.ts and wrapper.d.mts: the TypeScript programs in
// __test__/types/ use the API the way applications do and must compile
// under `--strict` (nothing is emitted). They import the package by its name:
// with "nodenext" and "bundler" module resolution a package may import itself
// through its own "exports" map, so 'wsrs' resolves to this checkout.
//
// Needs the `typescript` and `@types/node` devDependencies. Without
// `typescript` the checks are skipped.

const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { test } = require('node:test');

const ROOT = path.join(__dirname, '..');
const SAMPLES = path.join(__dirname, 'types');

// One program per module system: Node's (CommonJS and ESM files, resolved
// through the "exports" conditions) and a bundler's.
const CONFIGS = ['tsconfig.json', 'tsconfig.bundler.json'];

/**
 * Resolves a module from the repository root.
 *
 * @param {String} request The module
 * @return {(String|null)} Its path, or `null` if it is not installed
 */
function locate(request) {
  try {
    return require.resolve(request, { paths: [ROOT] });
  } catch {
    return null;
  }
}

const typescriptManifest = locate('typescript/package.json');
const skip =
  typescriptManifest === null
    ? 'typescript is not installed (it is a devDependency): type checks skipped'
    : false;

for (const config of CONFIGS) {
  test(
    `tsc --noEmit --strict -p __test__/types/${config}`,
    { skip, timeout: 120000 },
    () => {
      assert.ok(
        locate('@types/node/package.json') !== null,
        'typescript is installed but @types/node is not; the typings need it ' +
          '(it is a devDependency)'
      );

      const manifest = require(typescriptManifest);
      const tsc = path.join(path.dirname(typescriptManifest), manifest.bin.tsc);
      const result = spawnSync(
        process.execPath,
        [
          tsc,
          '--project',
          path.join(SAMPLES, config),
          '--noEmit',
          '--strict',
          '--pretty',
          'false'
        ],
        { cwd: ROOT, encoding: 'utf8' }
      );

      assert.ifError(result.error);
      assert.strictEqual(
        result.status,
        0,
        `tsc ${manifest.version} reported errors:\n${result.stdout}${result.stderr}`
      );
    }
  );
}
