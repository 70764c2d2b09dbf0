'use strict';

// `npm run test:autobahn`: the Autobahn TestSuite cases (run by kosoku, a
// Python 3 port) against wsrs servers and a wsrs client, on 127.0.0.1.
//
//   node scripts/autobahn.js [--only server,server-native,client]
//                            [--include 1.*]... [--update-expected]
//                            [--keep-reports DIR]
//
// Sides (all three by default, in this order):
//   server         kosoku's fuzzing client against a wsrs echo server
//   server-native  the same against a wsrs echo server with engine: 'native'
//   client         a wsrs client against kosoku's fuzzing server
// `--mode` is the older name of `--only`; it also takes `both` (server and
// client) and `all`.
//
// It installs kosoku==0.1.0 into .venv/autobahn (ignored by git), applies
// ../shared/tools/kosoku-fix.py, runs the cases, and compares the results
// with autobahn/expected-<side>.json (case id -> behaviour). It fails on any
// FAILED or ERROR case and on any case that got worse than expected.

const { spawn, spawnSync, fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const freePort = require('./free-port');

const root = path.join(__dirname, '..');
const venv = path.join(root, '.venv', 'autobahn');
const python = path.join(venv, 'bin', 'python');
const kosoku = path.join(venv, 'bin', 'kosoku');
const fixScript = path.join(root, '..', 'shared', 'tools', 'kosoku-fix.py');
const MODE_LIMIT_MS = 20 * 60 * 1000;

// The sides, in the order they run; `engine` is the echo server's.
const SIDES = {
  server: { kind: 'server', engine: null, reports: 'servers' },
  'server-native': {
    kind: 'server',
    engine: 'native',
    reports: 'servers-native'
  },
  client: { kind: 'client', reports: 'clients' }
};
const SIDE_SETS = { both: ['server', 'client'], all: Object.keys(SIDES) };

const USAGE = `usage: node scripts/autobahn.js [--only <sides>] [--include <case>]...
                               [--update-expected] [--keep-reports DIR]
  --only <sides>     comma-separated: ${Object.keys(SIDES).join(', ')}
                     (default: all); also 'both' (server,client) and 'all'
  --mode <sides>     the same as --only
  --include, -i ID   only the cases matching ID (e.g. 6.4.*), repeatable
  --update-expected  rewrite autobahn/expected-<side>.json from the results
  --keep-reports DIR keep kosoku's reports in DIR`;

// How good a behaviour is; a case may not move to a higher rank.
const RANK = {
  OK: 0,
  INFORMATIONAL: 0,
  'NON-STRICT': 1,
  UNIMPLEMENTED: 2,
  FAILED: 3,
  ERROR: 3,
  MISSING: 3
};

/**
 * Parses the command line.
 *
 * @return {Object} The options
 */
function parseArgs() {
  const args = process.argv.slice(2);
  const options = {
    sides: SIDE_SETS.all,
    include: [],
    update: false,
    keep: null
  };

  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--mode' || a === '--only')
      options.sides = parseSides(a, args[++i]);
    else if (a === '--include' || a === '-i') options.include.push(args[++i]);
    else if (a === '--update-expected') options.update = true;
    else if (a === '--keep-reports') options.keep = args[++i];
    else if (a === '--help' || a === '-h') options.help = true;
    else throw new Error(`unknown argument: ${a}\n${USAGE}`);
  }

  return options;
}

/**
 * Parses a list of sides.
 *
 * @param {String} flag The flag it came with
 * @param {(String|undefined)} value The list
 * @return {String[]} The sides, in running order
 */
function parseSides(flag, value) {
  const wanted = new Set();
  for (const name of String(value || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (SIDE_SETS[name]) SIDE_SETS[name].forEach((s) => wanted.add(s));
    else if (SIDES[name]) wanted.add(name);
    else throw new Error(`${flag}: unknown side '${name}'\n${USAGE}`);
  }
  if (wanted.size === 0)
    throw new Error(`${flag} needs a list of sides\n${USAGE}`);
  return Object.keys(SIDES).filter((s) => wanted.has(s));
}

/**
 * Runs a command to completion, throwing if it fails.
 *
 * @param {String} file The program
 * @param {String[]} args Its arguments
 */
function must(file, args) {
  const r = spawnSync(file, args, { stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error(`${file} ${args.join(' ')} failed (${r.status})`);
}

/**
 * Creates the virtual environment with kosoku and the fix, once.
 */
function ensureKosoku() {
  if (!fs.existsSync(kosoku)) {
    console.log('autobahn: installing kosoku==0.1.0 into .venv/autobahn');
    must('python3', ['-m', 'venv', venv]);
    must(python, ['-m', 'pip', 'install', '--quiet', 'kosoku==0.1.0']);
  }

  const check = spawnSync(python, [fixScript, '--check'], { encoding: 'utf8' });
  if (check.status !== 0) must(python, [fixScript]);
}

/**
 * Runs a child to completion, bounded in time.
 *
 * @param {ChildProcess} child The child
 * @param {String} what Its name, for errors
 * @return {Promise<Number>} Its exit code
 */
function finished(child, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${what} did not finish within ${MODE_LIMIT_MS / 60000} minutes`
        )
      );
    }, MODE_LIMIT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Server mode: kosoku's fuzzing client drives a wsrs echo server.
 *
 * @param {Object} options The options
 * @param {String} outdir Where the reports go
 * @param {(String|null)} engine The server's `engine` option, if any
 */
async function runServerMode(options, outdir, engine) {
  const port = await freePort();
  const serverArgs = engine ? [String(port), engine] : [String(port)];
  const server = fork(
    path.join(root, 'autobahn', 'echo-server.js'),
    serverArgs,
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    }
  );

  await new Promise((resolve, reject) => {
    server.once('message', resolve);
    server.once('exit', (code) =>
      reject(
        new Error(
          `echo server${engine ? ` (engine: ${engine})` : ''} exited (${code})`
        )
      )
    );
  });

  const args = ['-m', 'fuzzingclient', '-p', '2', '-o', outdir];
  for (const c of options.include) args.push('-i', c);
  args.push(`127.0.0.1:${port}`);

  const run = spawn(kosoku, args, { stdio: ['ignore', 'inherit', 'inherit'] });

  try {
    await finished(run, 'kosoku fuzzingclient');
  } finally {
    server.kill();
  }
}

/**
 * The suite's case ids with descriptions, in the order `runCase` numbers
 * them.
 *
 * @return {Array<{id: String, description: String}>} The cases
 */
function caseList() {
  const script =
    'import json\nfrom kosoku.cases import CASES\n' +
    'print(json.dumps([{"id": k, "description": v.DESCRIPTION} for k, v in CASES.items()]))';
  const r = spawnSync(python, ['-c', script], {
    encoding: 'utf8',
    maxBuffer: 16 << 20
  });
  if (r.status !== 0) throw new Error(`could not list the cases: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * The permessage-deflate options a 13.x case wants the client to offer:
 * its description names the offers as (requestNoContextTakeover,
 * requestMaxWindowBits) pairs. The client makes one offer: the first.
 *
 * @param {String} description The case's description
 * @return {(Object|Boolean)} The client's `perMessageDeflate` option
 */
function deflateOffer(description) {
  const m =
    /client offers \(requestNoContextTakeover, requestMaxWindowBits\): \[\((True|False), (\d+)\)/.exec(
      description
    );
  if (!m) return true;

  const options = {};
  if (m[1] === 'True') options.clientNoContextTakeover = true;
  if (m[2] !== '0') options.clientMaxWindowBits = Number(m[2]);
  return options;
}

/**
 * Opens one connection to the fuzzing server and waits for it to close.
 *
 * @param {String} url The URL
 * @param {Object} [wsOptions] Client options
 * @param {Function} [onMessage] Message handler
 * @return {Promise<Buffer[]>} The messages received
 */
function visit(url, wsOptions, onMessage) {
  const WebSocket = require('..');

  return new Promise((resolve) => {
    const messages = [];
    const ws = new WebSocket(url, wsOptions);
    const timer = setTimeout(() => ws.terminate(), 120000);

    ws.on('message', (data, isBinary) => {
      messages.push(data);
      if (onMessage) onMessage(ws, data, isBinary);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(messages);
    });
  });
}

/**
 * Client mode: a wsrs client runs every case against kosoku's fuzzing
 * server, echoing each message.
 *
 * @param {Object} options The options
 * @param {String} outdir Where the reports go
 */
async function runClientMode(options, outdir) {
  const port = await freePort();
  const args = ['-m', 'fuzzingserver', '-o', outdir];
  for (const c of options.include) args.push('-i', c);
  args.push(`127.0.0.1:${port}`);

  const server = spawn(kosoku, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  const done = finished(server, 'kosoku fuzzingserver');

  await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error('kosoku did not start')),
      30000
    );
    server.stderr.on('data', (chunk) => {
      process.stderr.write(chunk);
      seen += chunk;
      if (seen.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });

  const base = `ws://127.0.0.1:${port}`;
  const [count] = await visit(`${base}/getCaseCount`);
  const total = Number(count);
  const all = caseList();
  const selected = new Set(
    options.include.length === 0
      ? all.map((c) => c.id)
      : all
          .map((c) => c.id)
          .filter((id) =>
            options.include.some((p) =>
              new RegExp(
                `^${p.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`
              ).test(id)
            )
          )
  );
  const cases = all.filter((c) => selected.has(c.id));

  if (cases.length !== total) {
    throw new Error(
      `kosoku serves ${total} cases, the local index selects ${cases.length}`
    );
  }

  for (let n = 1; n <= total; n++) {
    const c = cases[n - 1];
    if (n % 50 === 1 || n === total)
      console.log(`autobahn: client case ${n}/${total} (${c.id})`);
    await visit(
      `${base}/runCase?case=${n}&agent=wsrs`,
      // Cases 9.3.1 and 9.4.1 send 65,536 fragments, over the 16,384
      // that ws 8.22 made the default (see autobahn/echo-server.js).
      {
        perMessageDeflate: deflateOffer(c.description),
        maxFragments: 128 * 1024
      },
      (ws, data, isBinary) => ws.send(data, { binary: isBinary })
    );
  }

  await visit(`${base}/updateReports?agent=wsrs`);
  await done;
}

/**
 * Reads the case results from a report directory.
 *
 * @param {String} outdir The report directory
 * @return {Object} Case id -> behaviour
 */
function readResults(outdir) {
  const index = JSON.parse(
    fs.readFileSync(path.join(outdir, 'index.json'), 'utf8')
  );
  const agent = Object.keys(index)[0];
  const results = {};

  for (const [id, r] of Object.entries(index[agent])) {
    results[id] =
      r.behaviorClose === 'FAILED' && r.behavior === 'OK'
        ? 'FAILED'
        : r.behavior;
  }

  return results;
}

/**
 * Compares results with the expected ones and prints a summary.
 *
 * @param {String} mode The side: `server`, `server-native` or `client`
 * @param {Object} results Case id -> behaviour
 * @param {Object} options The options
 * @return {String[]} The problems found
 */
function compare(mode, results, options) {
  const file = path.join(root, 'autobahn', `expected-${mode}.json`);
  const expected = fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, 'utf8'))
    : {};
  const tally = {};
  const problems = [];

  for (const [id, behavior] of Object.entries(results)) {
    tally[behavior] = (tally[behavior] || 0) + 1;
    if (behavior === 'FAILED' || behavior === 'ERROR') {
      problems.push(`${mode} ${id}: ${behavior}`);
    } else if (
      expected[id] !== undefined &&
      RANK[behavior] > RANK[expected[id]]
    ) {
      problems.push(`${mode} ${id}: ${behavior}, expected ${expected[id]}`);
    }
  }

  if (options.include.length === 0) {
    for (const id of Object.keys(expected)) {
      if (results[id] === undefined) problems.push(`${mode} ${id}: missing`);
    }
  }

  const summary = Object.entries(tally)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  console.log(
    `autobahn ${mode}: ${Object.keys(results).length} cases: ${summary}`
  );

  if (options.update && options.include.length === 0) {
    const sorted = {};
    for (const id of Object.keys(results)) sorted[id] = results[id];
    fs.writeFileSync(file, JSON.stringify(sorted, null, 1) + '\n');
    console.log(`autobahn ${mode}: wrote ${path.relative(root, file)}`);
  }

  return problems;
}

/**
 * Runs the selected modes.
 */
async function main() {
  const options = parseArgs();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  ensureKosoku();

  const reports =
    options.keep || fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-autobahn-'));
  const problems = [];
  console.log(`autobahn: sides ${options.sides.join(', ')}`);

  try {
    for (const mode of options.sides) {
      const side = SIDES[mode];
      const outdir = path.join(reports, side.reports);
      const started = Date.now();

      let results;
      try {
        if (side.kind === 'server')
          await runServerMode(options, outdir, side.engine);
        else await runClientMode(options, outdir);
        results = readResults(outdir);
      } catch (err) {
        // A side that cannot run (e.g. a build without the native engine)
        // is a problem, but the other sides still run.
        problems.push(`${mode}: did not run: ${err.message}`);
        console.error(`autobahn ${mode}: did not run: ${err.message}`);
        continue;
      }

      console.log(
        `autobahn ${mode}: ran in ${Math.round((Date.now() - started) / 1000)} s`
      );
      problems.push(...compare(mode, results, options));
    }
  } finally {
    if (!options.keep) fs.rmSync(reports, { recursive: true, force: true });
  }

  if (problems.length) {
    console.error(
      `autobahn: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`
    );
    process.exitCode = 1;
  } else {
    console.log('autobahn: no case failed or got worse');
  }
}

main().catch((err) => {
  console.error(`autobahn: ${err.message}`);
  process.exitCode = 1;
});
