'use strict';

/*
 * The test suites of packages built on ws, run once with ws 8.23.1 and once
 * with wsrs installed under the name `ws`, in one run:
 *
 *   npm run test:ecosystem [-- --keep]
 *
 * Each package comes from the npm registry at a pinned version (its tarball
 * ships its tests), into a temporary folder outside this repository, with
 * only the dependencies its tests need. For the wsrs run, its
 * `node_modules/ws` is replaced by a link to this checkout.
 *
 * The exit code is 1 when wsrs fails a test that ws passes, or passes fewer
 * tests; the failures ws has as well are listed, and explained in
 * docs/compatibility.md.
 */

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const WS_VERSION = '8.23.1';

/**
 * The suites: where the package comes from, what its tests need, and how
 * they run (`node --test`, or mocha's TAP reporter: both print `# pass N`
 * and `not ok N - title` lines, which are read).
 */
const SUITES = [
  {
    name: '@fastify/websocket',
    spec: '@fastify/websocket@11.3.7',
    dependencies: {
      duplexify: '^4.1.3',
      'fastify-plugin': '^6.0.0',
      fastify: '^5.0.0',
      split2: '^4.2.0'
    },
    test: ['--test', '--test-concurrency=1', 'test/']
  },
  {
    // Koa's counterpart of express-ws (whose repository has no tests).
    name: 'koa-websocket',
    spec: 'koa-websocket@7.0.0',
    dependencies: {
      co: '^4.6.0',
      debug: '^4.3.4',
      'koa-compose': '^4.1.0',
      koa: '^2.13.4',
      'koa-route': '^3.2.0',
      mocha: '^10.8.2'
    },
    test: [
      'node_modules/mocha/bin/mocha.js',
      '--reporter',
      'tap',
      '--timeout',
      '10000',
      'test/test.js'
    ]
  }
];

const keep = process.argv.includes('--keep');

/**
 * Runs a command, bounded in time; throws when it fails.
 *
 * @param {String} cmd The command
 * @param {String[]} args Its arguments
 * @param {Object} options `spawnSync` options
 * @return {String} Its standard output
 */
function must(cmd, args, options) {
  const run = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 300000,
    ...options
  });

  if (run.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${run.status ?? run.signal}):\n${run.stderr || run.stdout}`
    );
  }

  return run.stdout;
}

/**
 * Fetches a suite's package and installs what its tests need, with the real
 * ws.
 *
 * @param {Object} suite The suite
 * @param {String} dir A scratch folder
 * @return {String} The package's folder
 */
function prepare(suite, dir) {
  const tarball = must('npm', ['pack', suite.spec, '--silent'], { cwd: dir })
    .trim()
    .split('\n')
    .pop();

  must('tar', ['xzf', tarball], { cwd: dir });

  const pkgDir = path.join(dir, 'package');
  const manifest = JSON.parse(
    fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')
  );

  // Only what the tests need: no linters, type checkers or coverage tools.
  manifest.dependencies = { ...suite.dependencies, ws: WS_VERSION };
  delete manifest.devDependencies;
  delete manifest.peerDependencies;
  fs.writeFileSync(
    path.join(pkgDir, 'package.json'),
    JSON.stringify(manifest, null, 2)
  );
  must(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-package-lock'
    ],
    {
      cwd: pkgDir
    }
  );

  return pkgDir;
}

/**
 * Runs a suite's tests; returns the counts and the failing tests' titles.
 *
 * @param {Object} suite The suite
 * @param {String} pkgDir The package's folder
 * @return {{pass: Number, fail: Number, failing: String[]}}
 */
function runTests(suite, pkgDir) {
  const run = spawnSync(process.execPath, suite.test, {
    cwd: pkgDir,
    encoding: 'utf8',
    timeout: 300000,
    env: { ...process.env, NODE_OPTIONS: '' }
  });
  const out = run.stdout || '';
  const count = (label) => {
    const m = new RegExp(`^# ${label} (\\d+)$`, 'm').exec(out);

    return m ? Number(m[1]) : NaN;
  };
  const failing = [];

  for (const m of out.matchAll(/^\s*not ok \d+ - (.*)$/gm)) failing.push(m[1]);

  if (Number.isNaN(count('pass'))) {
    throw new Error(
      `${suite.name}: no test summary (exit ${run.status ?? run.signal}):\n${run.stderr}`
    );
  }

  return { pass: count('pass'), fail: count('fail'), failing };
}

/**
 * Points the package's `ws` at this checkout.
 *
 * @param {String} pkgDir The package's folder
 */
function useWsrs(pkgDir) {
  const target = path.join(pkgDir, 'node_modules', 'ws');

  fs.rmSync(target, { recursive: true, force: true });
  fs.symlinkSync(ROOT, target, 'dir');

  const name = must(
    process.execPath,
    ['-p', "require('ws/package.json').name"],
    { cwd: pkgDir }
  ).trim();

  if (name !== 'wsrs') throw new Error(`require('ws') loads ${name}, not wsrs`);
}

function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-ecosystem-'));
  let ok = true;

  console.log(`| suite | on ws ${WS_VERSION} | on wsrs | failing on both |`);
  console.log('|---|---|---|---|');

  try {
    for (const suite of SUITES) {
      const scratch = fs.mkdtempSync(path.join(dir, 'suite-'));
      const pkgDir = prepare(suite, scratch);
      const onWs = runTests(suite, pkgDir);

      useWsrs(pkgDir);

      const onWsrs = runTests(suite, pkgDir);
      const both = onWsrs.failing.filter((t) => onWs.failing.includes(t));
      const only = onWsrs.failing.filter((t) => !onWs.failing.includes(t));

      console.log(
        `| ${suite.spec} | ${onWs.pass}/${onWs.pass + onWs.fail} | ` +
          `${onWsrs.pass}/${onWsrs.pass + onWsrs.fail} | ${both.length} |`
      );
      for (const title of both) console.log(`  on both: ${title}`);
      for (const title of only) console.log(`  ONLY ON WSRS: ${title}`);
      if (only.length > 0 || onWsrs.pass < onWs.pass) ok = false;
    }
  } finally {
    if (keep) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    ok
      ? 'ecosystem: wsrs passes every test ws passes'
      : 'ecosystem: wsrs fails tests that ws passes'
  );
  process.exitCode = ok ? 0 : 1;
}

main();
