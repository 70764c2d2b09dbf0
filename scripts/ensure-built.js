'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

/**
 * Newest modification time (ms) of the Rust sources and manifests.
 *
 * @return {Number} The time
 * @private
 */
function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    } else if (st.mtimeMs > newest) {
      newest = st.mtimeMs;
    }
  };
  visit(path.join(root, 'src'));
  for (const f of ['Cargo.toml', 'Cargo.lock', 'build.rs']) {
    visit(path.join(root, f));
  }
  return newest;
}

/**
 * The addon files built in the package root (`wsrs.<platform>.node`).
 *
 * @return {String[]} Their paths
 * @private
 */
function builtAddons() {
  return fs
    .readdirSync(root)
    .filter((f) => /^wsrs\..+\.node$/.test(f))
    .map((f) => path.join(root, f));
}

/**
 * Builds the addon with `npm run build` when there is none in the package
 * root or the Rust sources are newer than it. A prebuilt platform package
 * in node_modules is used as it is.
 *
 * @return {Boolean} `true` if a build ran
 * @public
 */
function ensureBuilt() {
  const addons = builtAddons();
  const hasSources = fs.existsSync(path.join(root, 'src'));
  if (addons.length && hasSources) {
    const built = Math.min(...addons.map((f) => fs.statSync(f).mtimeMs));
    if (built >= newestSource()) return false;
  } else if (!hasSources) {
    return false;
  } else {
    try {
      require(path.join(root, 'binding.js'));
      return false;
    } catch {
      // No usable binary: build one below.
    }
  }
  console.log('Building the native addon (npm run build)...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32'
  });
  if (r.status !== 0) {
    throw new Error(
      '`npm run build` failed: a Rust toolchain is needed to build from source'
    );
  }
  return true;
}

module.exports = { ensureBuilt };

if (require.main === module) ensureBuilt();
