#!/usr/bin/env node
'use strict';

// Keeps the platform packages in npm/<platform>/ in step with the root
// package (`npm run version:sync`):
//
// - every npm/<platform>/package.json gets the root version, and the `os`,
//   `cpu`, `libc` (Linux only), `main` and `files` its napi target calls
//   for, plus the root's `license`, `engines` and, when the root has them,
//   `repository`, `homepage`, `bugs` and `author` (npm's provenance check
//   compares `repository` with the repository that built the package);
// - every npm/<platform>/README.md gets its one-paragraph text;
// - the root's `optionalDependencies` name exactly the platform packages, at
//   the root version, and so does package-lock.json's root entry.
//
// With --check nothing is written: it lists what is out of step and exits
// with status 1 if anything is. Options: --root DIR works on another copy
// of the package (the tests use it), --quiet prints only problems.

const fs = require('node:fs');
const path = require('node:path');

/** The napi-rs name of each Rust architecture. */
const ARCHES = {
  x86_64: 'x64',
  aarch64: 'arm64',
  i686: 'ia32',
  armv7: 'arm',
  riscv64gc: 'riscv64',
  powerpc64le: 'ppc64',
  s390x: 's390x',
  loongarch64: 'loong64'
};

/** The fields a platform package copies from the root when it has them. */
const COPIED_FIELDS = [
  'license',
  'engines',
  'repository',
  'homepage',
  'bugs',
  'author'
];

/**
 * @typedef {Object} Platform
 * @property {String} triple The Rust target, e.g. `x86_64-unknown-linux-gnu`
 * @property {String} dir The napi-rs name, e.g. `linux-x64-gnu`, which is
 *     the folder under npm/ and the suffix of the package name
 * @property {String} os The value for `os`
 * @property {String} cpu The value for `cpu`
 * @property {(String|null)} libc The value for `libc` on Linux, else `null`
 */

/**
 * Maps a Rust target triple to its npm platform package.
 *
 * @param {String} triple The target, as listed in `napi.targets`
 * @return {Platform} The platform
 * @throws {Error} If the triple is not one this script knows
 */
function platformOf(triple) {
  const parts = triple.split('-');
  const cpu = ARCHES[parts[0]];
  if (!cpu) throw new Error(`unknown architecture in target ${triple}`);

  if (parts.includes('linux')) {
    const abi = parts[parts.length - 1];
    const libc = abi.startsWith('musl')
      ? 'musl'
      : abi.startsWith('gnu')
        ? 'glibc'
        : null;
    if (!libc) throw new Error(`unknown C library in target ${triple}`);
    return { triple, dir: `linux-${cpu}-${abi}`, os: 'linux', cpu, libc };
  }
  if (parts.includes('darwin')) {
    return { triple, dir: `darwin-${cpu}`, os: 'darwin', cpu, libc: null };
  }
  if (parts.includes('windows')) {
    const abi = parts[parts.length - 1];
    return { triple, dir: `win32-${cpu}-${abi}`, os: 'win32', cpu, libc: null };
  }
  if (parts.includes('freebsd')) {
    return { triple, dir: `freebsd-${cpu}`, os: 'freebsd', cpu, libc: null };
  }
  throw new Error(`unknown operating system in target ${triple}`);
}

/**
 * Returns the package.json a platform package should have, keeping the
 * fields the current one has that this script does not manage.
 *
 * @param {Object} root The root package.json
 * @param {Platform} platform The platform
 * @param {(Object|null)} current The current package.json, if any
 * @return {Object} The expected package.json
 */
function expectedManifest(root, platform, current) {
  const binary = `${root.napi.binaryName}.${platform.dir}.node`;
  const name = `${root.name}-${platform.dir}`;
  const manifest = {
    name,
    version: root.version,
    description:
      `The ${platform.dir} binary of ${root.name} (installed automatically ` +
      `as an optional dependency of ${root.name})`,
    os: [platform.os],
    cpu: [platform.cpu],
    main: binary,
    files: [binary]
  };
  if (platform.libc) manifest.libc = [platform.libc];

  // Keep the current order of keys and the fields not managed here.
  const result = current ? { ...current } : {};
  if (current && current.description)
    manifest.description = current.description;
  Object.assign(result, manifest);
  if (!platform.libc) delete result.libc;
  for (const field of COPIED_FIELDS) {
    if (root[field] !== undefined) result[field] = root[field];
    else delete result[field];
  }
  return result;
}

/**
 * Returns the README a platform package should have.
 *
 * @param {Object} root The root package.json
 * @param {Platform} platform The platform
 * @return {String} The text
 */
function expectedReadme(root, platform) {
  return (
    `# ${root.name}-${platform.dir}\n\n` +
    `The prebuilt \`${platform.dir}\` (\`${platform.triple}\`) binary of ` +
    `\`${root.name}\`. Install \`${root.name}\`, not this package: npm picks ` +
    'the binary that matches your machine.\n'
  );
}

/**
 * Serializes JSON the way npm writes package.json files.
 *
 * @param {Object} value The value
 * @return {String} The text
 */
function toJson(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Sets the versions of named dependencies in a package.json text without
 * reformatting the rest of it. Returns `null` if the result does not parse
 * to `expected`, in which case the caller writes the whole file.
 *
 * @param {String} text The current text
 * @param {Object} deps The dependency versions to set, by name
 * @param {Object} expected The object the result must parse to
 * @return {(String|null)} The new text, or `null`
 */
function patchVersions(text, deps, expected) {
  let result = text;
  for (const [name, version] of Object.entries(deps)) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    result = result.replace(
      new RegExp(`("${escaped}"\\s*:\\s*)"[^"]*"`, 'g'),
      `$1"${version}"`
    );
  }
  try {
    if (canonical(JSON.parse(result)) === canonical(expected)) {
      return result;
    }
  } catch {
    // Fall through to a full rewrite.
  }
  return null;
}

/**
 * Compares what is with what should be and collects the differences.
 *
 * @param {String} rootDir The package root
 * @return {Object} `{ problems, writes }`: the differences as sentences, and
 *     the files to write (path to text) to fix them
 */
function plan(rootDir) {
  const problems = [];
  const writes = new Map();
  const rootPath = path.join(rootDir, 'package.json');
  const rootText = fs.readFileSync(rootPath, 'utf8');
  const root = JSON.parse(rootText);
  const npmDir = path.join(rootDir, 'npm');

  if (
    !root.napi ||
    !root.napi.binaryName ||
    !Array.isArray(root.napi.targets)
  ) {
    throw new Error('package.json has no napi.binaryName and napi.targets');
  }

  const platforms = root.napi.targets.map(platformOf);
  const dirs = new Set(platforms.map((p) => p.dir));

  // Folders under npm/ that no target accounts for are not guessed at.
  if (fs.existsSync(npmDir)) {
    for (const entry of fs.readdirSync(npmDir, { withFileTypes: true })) {
      if (entry.isDirectory() && !dirs.has(entry.name)) {
        problems.push(`npm/${entry.name} matches no target in napi.targets`);
      }
    }
  }

  for (const platform of platforms) {
    const dir = path.join(npmDir, platform.dir);
    const manifestPath = path.join(dir, 'package.json');
    const readmePath = path.join(dir, 'README.md');
    const rel = `npm/${platform.dir}`;

    let current = null;
    let currentText = null;
    if (fs.existsSync(manifestPath)) {
      currentText = fs.readFileSync(manifestPath, 'utf8');
      current = JSON.parse(currentText);
    } else {
      problems.push(`${rel}/package.json is missing`);
    }

    const expected = expectedManifest(root, platform, current);
    if (current) {
      for (const key of new Set([
        ...Object.keys(current),
        ...Object.keys(expected)
      ])) {
        const is = JSON.stringify(current[key]);
        const should = JSON.stringify(expected[key]);
        if (is !== should) {
          problems.push(
            `${rel}/package.json: ${key} is ${is}, should be ${should}`
          );
        }
      }
    }
    if (currentText !== toJson(expected))
      writes.set(manifestPath, toJson(expected));

    const readme = expectedReadme(root, platform);
    const currentReadme = fs.existsSync(readmePath)
      ? fs.readFileSync(readmePath, 'utf8')
      : null;
    if (currentReadme !== readme) {
      problems.push(
        `${rel}/README.md ${currentReadme === null ? 'is missing' : 'differs'}`
      );
      writes.set(readmePath, readme);
    }
  }

  // The root lists exactly the platform packages, at its own version.
  const optional = {};
  for (const platform of [...platforms].sort((a, b) =>
    a.dir.localeCompare(b.dir)
  )) {
    optional[`${root.name}-${platform.dir}`] = root.version;
  }
  const currentOptional = root.optionalDependencies || {};
  if (
    JSON.stringify(sortKeys(currentOptional)) !==
    JSON.stringify(sortKeys(optional))
  ) {
    for (const [name, version] of Object.entries(optional)) {
      if (currentOptional[name] !== version) {
        problems.push(
          `package.json: optionalDependencies["${name}"] is ` +
            `${JSON.stringify(currentOptional[name])}, should be "${version}"`
        );
      }
    }
    for (const name of Object.keys(currentOptional)) {
      if (!(name in optional)) {
        problems.push(
          `package.json: optionalDependencies["${name}"] matches no target`
        );
      }
    }
    const fixed = { ...root, optionalDependencies: optional };
    writes.set(
      rootPath,
      patchVersions(rootText, optional, fixed) || toJson(fixed)
    );
  }

  // package-lock.json repeats the root's optional dependencies.
  const lockPath = path.join(rootDir, 'package-lock.json');
  if (fs.existsSync(lockPath)) {
    const lockText = fs.readFileSync(lockPath, 'utf8');
    const lock = JSON.parse(lockText);
    const entry = lock.packages && lock.packages[''];
    if (entry) {
      const lockOptional = entry.optionalDependencies || {};
      if (
        JSON.stringify(sortKeys(lockOptional)) !==
        JSON.stringify(sortKeys(optional))
      ) {
        problems.push(
          'package-lock.json: the root optionalDependencies differ from package.json'
        );
        entry.optionalDependencies = optional;
        writes.set(lockPath, toJson(lock));
      }
    }
  }

  return { problems, writes };
}

/**
 * Serializes a value with the keys of every object sorted, so that two
 * values that differ only in key order serialize the same.
 *
 * @param {*} value The value
 * @return {String} The text
 */
function canonical(value) {
  return JSON.stringify(value, (key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? sortKeys(v) : v
  );
}

/**
 * Returns a copy of an object with its keys sorted.
 *
 * @param {Object} object The object
 * @return {Object} The copy
 */
function sortKeys(object) {
  return Object.fromEntries(
    Object.entries(object).sort(([a], [b]) => a.localeCompare(b))
  );
}

/**
 * Runs the script.
 *
 * @param {String[]} argv The arguments, without node and the script
 * @return {Number} The exit status
 */
function main(argv) {
  let check = false;
  let quiet = false;
  let rootDir = path.join(__dirname, '..');

  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') check = true;
    else if (argv[i] === '--quiet') quiet = true;
    else if (argv[i] === '--root' && i + 1 < argv.length)
      rootDir = path.resolve(argv[++i]);
    else {
      console.error(`usage: sync-versions.js [--check] [--quiet] [--root DIR]`);
      return 2;
    }
  }

  const { problems, writes } = plan(rootDir);

  if (check) {
    for (const problem of problems) console.error(`out of sync: ${problem}`);
    // Formatting alone (a file that parses the same) is not a problem.
    if (problems.length > 0) {
      console.error('run `npm run version:sync` to fix this');
      return 1;
    }
    if (!quiet) console.log('platform packages are in sync with package.json');
    return 0;
  }

  for (const [file, text] of writes) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    if (!quiet) console.log(`wrote ${path.relative(rootDir, file)}`);
  }
  if (!quiet && writes.size === 0) console.log('nothing to change');
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`sync-versions: ${err.message}`);
    process.exitCode = 2;
  }
}

module.exports = { expectedManifest, expectedReadme, main, plan, platformOf };
