'use strict';

// npm run fuzz: runs each cargo-fuzz target of fuzz/ for a bounded time
// (FUZZ_SECONDS, default 60, per target) and fails if any of them finds a
// crash. Installs cargo-fuzz from crates.io when it is missing. The stable
// toolchain is used, with RUSTC_BOOTSTRAP=1 for the sanitizer flags that
// cargo-fuzz passes.
//
// The committed seeds (fuzz/corpus/<target>/) are only read: what a run
// discovers goes to a temporary corpus, so the work tree stays clean. A
// crash is written to fuzz/artifacts/<target>/; copy it to
// fuzz/regressions/<target>/ with a name saying what it found, fix the bug,
// and `cargo test` replays it from then on (src/protocol/fuzz_regressions.rs).
//
// Usage: node scripts/fuzz.js [target...]
//        FUZZ_SECONDS=300 npm run fuzz -- parse_server

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const FUZZ_DIR = path.join(ROOT, 'fuzz');
const TARGETS = ['parse_server', 'parse_client', 'inflate', 'utf8_stream'];

const env = { ...process.env, RUSTC_BOOTSTRAP: '1' };

/**
 * Runs a command, inheriting the terminal, and exits on failure.
 *
 * @param {String} cmd The command
 * @param {String[]} args Its arguments
 * @param {Object} [opts] Options for `spawnSync`
 * @return {Object} The result of `spawnSync`
 */
function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', env, ...opts });

  if (result.error) throw result.error;
  return result;
}

function ensureCargoFuzz() {
  const probe = spawnSync('cargo', ['fuzz', '--version'], {
    env,
    encoding: 'utf8'
  });

  if (probe.status === 0) return;
  console.log('cargo-fuzz is missing: cargo install cargo-fuzz --locked');
  const installed = run('cargo', ['install', 'cargo-fuzz', '--locked']);

  if (installed.status !== 0) {
    console.error('could not install cargo-fuzz');
    process.exit(1);
  }
}

/**
 * Runs one target and returns its figures.
 *
 * @param {String} target The target's name
 * @param {Number} seconds How long to fuzz
 * @return {Object} `{ target, execs, perSecond, corpus, crashed, log }`
 */
function fuzz(target, seconds) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `wsrs-fuzz-${target}-`));
  const seeds = path.join(FUZZ_DIR, 'corpus', target);
  const artifacts = path.join(FUZZ_DIR, 'artifacts', target);

  fs.mkdirSync(artifacts, { recursive: true });

  const result = spawnSync(
    'cargo',
    [
      'fuzz',
      'run',
      '-O',
      '-a',
      target,
      work,
      seeds,
      '--',
      `-max_total_time=${seconds}`,
      '-timeout=10',
      '-rss_limit_mb=2048',
      '-print_final_stats=1',
      `-artifact_prefix=${artifacts}${path.sep}`
    ],
    { cwd: FUZZ_DIR, env, encoding: 'utf8', maxBuffer: 256 << 20 }
  );

  const log = `${result.stdout || ''}${result.stderr || ''}`;
  const stat = (name) => {
    const m = log.match(new RegExp(`stat::${name}:\\s+(\\d+)`));

    return m ? Number(m[1]) : 0;
  };
  const corpus = fs.readdirSync(work).length;

  fs.rmSync(work, { recursive: true, force: true });

  return {
    target,
    execs: stat('number_of_executed_units'),
    perSecond: stat('average_exec_per_sec'),
    corpus,
    crashed: result.status !== 0,
    log
  };
}

function main() {
  const seconds = Number(process.env.FUZZ_SECONDS || 60);
  const wanted = process.argv.slice(2);
  const targets = wanted.length ? wanted : TARGETS;

  for (const t of targets) {
    if (!TARGETS.includes(t)) {
      console.error(`unknown target ${t}; targets: ${TARGETS.join(', ')}`);
      process.exit(2);
    }
  }

  if (!(seconds > 0)) {
    console.error('FUZZ_SECONDS must be a positive number');
    process.exit(2);
  }

  ensureCargoFuzz();

  console.log('building the fuzz targets (release, debug assertions, ASan)');
  const built = run('cargo', ['fuzz', 'build', '-O', '-a'], { cwd: FUZZ_DIR });

  if (built.status !== 0) process.exit(1);

  const results = [];

  for (const target of targets) {
    console.log(`fuzzing ${target} for ${seconds} s`);
    const r = fuzz(target, seconds);

    results.push(r);
    if (r.crashed) {
      console.error(r.log.split('\n').slice(-80).join('\n'));
    }
  }

  console.log('\ntarget        execs        exec/s  corpus  result');
  for (const r of results) {
    console.log(
      `${r.target.padEnd(13)} ${String(r.execs).padStart(11)} ` +
        `${String(r.perSecond).padStart(9)} ${String(r.corpus).padStart(7)}  ` +
        (r.crashed ? 'CRASH (see fuzz/artifacts/' + r.target + '/)' : 'ok')
    );
  }

  const crashed = results.filter((r) => r.crashed).length;

  console.log(`fuzz: ${results.length - crashed} passed, ${crashed} failed`);
  process.exit(crashed ? 1 : 0);
}

main();
