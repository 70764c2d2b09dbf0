'use strict';

// Builds the error thrown when the native addon cannot be loaded. The
// generated loader (../binding.js) only says "Cannot find native binding"
// and blames an npm bug whatever went wrong; this module says which machine
// it is, which package holds the binary for it, whether that package is
// installed, and how to get a binary another way.

const fs = require('node:fs');
const path = require('node:path');

const pkg = require('../../package.json');

const REPORT_URL = 'https://github.com/npm/cli/issues/4828';

/**
 * @typedef {Object} Target
 * @property {String} platform The value of `process.platform`
 * @property {String} arch The value of `process.arch`
 * @property {(String|null)} libc `'glibc'` or `'musl'` on Linux, `null`
 *     elsewhere
 */

/**
 * @typedef {Object} InstalledPackage
 * @property {String} dir The directory the package is installed in
 * @property {(String|undefined)} version The version it declares
 */

/**
 * Tells which C library this Linux process runs on, the same way the
 * generated loader decides between the `-gnu` and `-musl` packages: the
 * text of `/usr/bin/ldd` first, then the process report.
 *
 * @param {String} platform The platform, `process.platform` by default
 * @return {(String|null)} `'glibc'`, `'musl'`, or `null` off Linux
 */
function detectLibc(platform = process.platform) {
  if (platform !== 'linux') return null;

  try {
    return fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl')
      ? 'musl'
      : 'glibc';
  } catch {
    // No ldd: fall back on the report below.
  }

  const report = process.report;
  if (report && typeof report.getReport === 'function') {
    const excludeNetwork = report.excludeNetwork;
    try {
      report.excludeNetwork = true;
      const { header, sharedObjects } = report.getReport();
      if (header && header.glibcVersionRuntime) return 'glibc';
      if (
        Array.isArray(sharedObjects) &&
        sharedObjects.some((f) => /libc\.musl-|ld-musl-/.test(f))
      ) {
        return 'musl';
      }
    } catch {
      // An unusable report says nothing either way.
    } finally {
      report.excludeNetwork = excludeNetwork;
    }
  }

  // The loader assumes glibc when it cannot tell, and so does this.
  return 'glibc';
}

/**
 * Returns the machine this process runs on.
 *
 * @return {Target} The platform, architecture and C library
 */
function currentTarget() {
  return {
    platform: process.platform,
    arch: process.arch,
    libc: detectLibc(process.platform)
  };
}

/**
 * Returns the napi-rs name of a target, the suffix of its package name and
 * of its `.node` file: `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`...
 *
 * @param {Target} target The machine
 * @return {String} The platform-arch-abi triple
 */
function platformArchAbi(target) {
  const { platform, arch, libc } = target;
  const musl = libc === 'musl';

  if (platform === 'linux') {
    if (arch === 'arm') return `linux-arm-${musl ? 'musleabihf' : 'gnueabihf'}`;
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  if (platform === 'android' && arch === 'arm') return 'android-arm-eabi';
  return `${platform}-${arch}`;
}

/**
 * Returns the name of the package that would hold the binary for a target.
 *
 * @param {Target} target The machine
 * @return {String} The package name, e.g. `wsrs-linux-x64-gnu`
 */
function packageNameFor(target) {
  return `${pkg.name}-${platformArchAbi(target)}`;
}

/**
 * Returns the platform packages this version of the package is published
 * with: its optional dependencies.
 *
 * @return {String[]} The package names
 */
function prebuiltPackages() {
  return Object.keys(pkg.optionalDependencies || {});
}

/**
 * Describes a target for a person: `linux x64 (glibc)`, `darwin arm64`.
 *
 * @param {Target} target The machine
 * @return {String} The description
 */
function describeTarget(target) {
  const base = `${target.platform} ${target.arch}`;
  return target.libc ? `${base} (${target.libc})` : base;
}

/**
 * Finds where a package is installed, as seen from this package.
 *
 * @param {String} name The package name
 * @return {(InstalledPackage|null)} Where it is, or `null` if it is not
 *     installed
 */
function findInstalled(name) {
  let manifest;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    return null;
  }

  let version;
  try {
    version = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
  } catch {
    // An unreadable manifest still means the directory is there.
  }
  return { dir: path.dirname(manifest), version };
}

/**
 * Returns the errors behind an error from the generated loader, oldest
 * first. The loader chains one error per attempt through `cause`, newest
 * outermost.
 *
 * @param {*} err The error the loader threw
 * @return {Error[]} One error per load attempt
 */
function loadErrorsOf(err) {
  const errors = [];
  const seen = new Set();
  let current = err && err.cause;

  while (current && !seen.has(current) && errors.length < 64) {
    seen.add(current);
    errors.push(current);
    current = current.cause;
  }

  // An error that did not come from the loader's chain stands for itself.
  if (errors.length === 0 && err) errors.push(err);
  return errors.reverse();
}

/**
 * Returns the first line of an error message.
 *
 * @param {*} err The error
 * @return {String} Its first line
 */
function firstLine(err) {
  const message =
    err && typeof err.message === 'string' ? err.message : String(err);
  return message.split('\n', 1)[0];
}

/**
 * Builds the one error to throw when `require('../../binding')` failed.
 *
 * @param {*} cause What the generated loader threw
 * @param {Target} [target] The machine, the current one by default
 * @param {Function} [find] Finds an installed package, for tests
 * @return {Error} The error, with `code`, `cause`, `loadErrors`,
 *     `packageName`, `platform`, `arch` and `libc` set
 */
function nativeBindingError(
  cause,
  target = currentTarget(),
  find = findInstalled
) {
  const name = packageNameFor(target);
  const published = prebuiltPackages();
  const installed = find(name);
  const loadErrors = loadErrorsOf(cause);
  const lines = [
    `${pkg.name} could not load its native addon on ${describeTarget(target)}.`
  ];

  if (installed) {
    const version = installed.version || 'unknown';
    lines.push(
      `It looked for the package ${name}, which is installed in ` +
        `${installed.dir} (version ${version}) but did not load.`
    );
    if (installed.version !== pkg.version) {
      lines.push(
        `${pkg.name} ${pkg.version} needs ${name} ${pkg.version}: ` +
          'reinstall so that the two versions match.'
      );
    }
  } else if (published.includes(name)) {
    lines.push(
      `It looked for the package ${name}, which is not installed.`,
      'npm leaves it out, without an error, when optional dependencies ' +
        'are omitted (--omit=optional, --no-optional), when it cannot ' +
        'fetch it (offline, or not published for this version), and when ' +
        'package-lock.json was written on another platform ' +
        `(${REPORT_URL}): delete node_modules and package-lock.json, then ` +
        'run `npm install` again.'
    );
  } else {
    const list = published.map((n) => n.slice(pkg.name.length + 1));
    lines.push(
      `It looked for the package ${name}, but ${pkg.name} publishes no ` +
        `binary for this platform (prebuilt: ${list.join(', ') || 'none'}).`
    );
  }

  const build =
    'To build the addon from source, install a Rust toolchain ' +
    '(https://rustup.rs), then in a checkout of wsrs run `npm install` and ' +
    '`npm run build`';
  if (published.includes(name)) {
    lines.push(
      `${build}: the loader tries the ` +
        `${pkg.name}.${platformArchAbi(target)}.node it writes beside ` +
        'binding.js before the package. To use that file from another ' +
        'project, set NAPI_RS_NATIVE_LIBRARY_PATH to its path.'
    );
  } else {
    lines.push(
      `${build}, then set NAPI_RS_NATIVE_LIBRARY_PATH to the path of the ` +
        '.node file it writes.'
    );
  }

  lines.push(
    'Load attempts (all in err.loadErrors, the loader error in err.cause):',
    ...loadErrors.map((e) => `  - ${firstLine(e)}`)
  );

  const err = new Error(lines.join('\n'));
  err.code = 'ERR_WSRS_NATIVE_BINDING';
  // Assigned, not passed as `{ cause }`, to match the generated loader.
  err.cause = cause;
  err.loadErrors = loadErrors;
  err.packageName = name;
  err.platform = target.platform;
  err.arch = target.arch;
  err.libc = target.libc;
  return err;
}

module.exports = {
  currentTarget,
  describeTarget,
  detectLibc,
  findInstalled,
  loadErrorsOf,
  nativeBindingError,
  packageNameFor,
  platformArchAbi,
  prebuiltPackages
};
