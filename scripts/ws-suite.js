'use strict';

/*
 * Runs ws's own test suite against wsrs.
 *
 *   npm run test:ws-suite -- <ws checkout | ws git dir> [options]
 *   node scripts/ws-suite.js --git-dir <dir> --commit <rev> [options]
 *
 * The `test/` folder of the given ws tree is copied into a fresh temporary
 * folder (the ws tree itself is only read). Next to it go stubs, so that the
 * tests' `require('../lib/<name>')` loads wsrs's `lib/<name>.js` and
 * `require('..')` loads wsrs's `index.js`:
 *
 *   <tmp>/test/...            copied from ws
 *   <tmp>/lib/<name>.js       module.exports = require('<wsrs>/lib/<name>')
 *   <tmp>/index.js            module.exports = require('<wsrs>/index.js')
 *   <tmp>/package.json
 *
 * Each `test/*.test.js` file then runs under mocha in its own child process
 * (`node --throw-deprecation`), so that a file which fails to load, hangs or
 * crashes cannot take the others down with it. The child writes one JSON line
 * per event to a results file, which survives a kill. A file that cannot be
 * loaded has its tests listed anyway (it is loaded a second time with the
 * failing modules replaced by inert stand-ins) and counted as failing.
 *
 * Servers started by the tests without an explicit host are bound to
 * 127.0.0.1 instead of every interface.
 *
 * Options:
 *   --git-dir <dir>    read ws from this git directory (with --commit)
 *   --commit <rev>     the revision to take `test/` from (default: HEAD)
 *   --file <name>      run only this test file (`extension`,
 *                      `extension.test.js`, ...); may be repeated
 *   --grep <pattern>   run only the tests whose full title matches
 *   --timeout <ms>     per-test timeout (default: 5000)
 *   --bound <s>        bound on the whole run, in seconds (default: 900)
 *   --json <out>       also write the results as JSON to <out>
 *   --verbose          pass the tests' own output through
 *   --keep             keep the temporary folder (its path is printed)
 *
 * The exit code is 0 when every selected test passed or is pending, else 1
 * (2 for a usage error).
 */

const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

/** The module names of ws's `lib/` folder, each of which gets a stub. */
const WS_LIB_MODULES = [
  'buffer-util',
  'constants',
  'event-target',
  'extension',
  'limiter',
  'permessage-deflate',
  'receiver',
  'sender',
  'stream',
  'subprotocol',
  'validation',
  'websocket',
  'websocket-server'
];

/**
 * Tests that fail because of how this harness runs them rather than because
 * of wsrs, by full title, with the reason.
 */
const HARNESS_INDUCED = new Map([
  [
    'WebSocketServer #ctor binds the server on any IPv6 address when available',
    'the harness binds servers to 127.0.0.1'
  ]
]);

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_BOUND_S = 900;

// Grace period for a child to exit after being asked to stop.
const KILL_GRACE_MS = 2000;

// ---------------------------------------------------------------------------
// Command line

/**
 * Prints an error and the usage line, then exits with code 2.
 *
 * @param {String} message What is wrong
 * @private
 */
function usageError(message) {
  process.stderr.write(
    `ws-suite: ${message}\n` +
      'usage: node scripts/ws-suite.js (<ws checkout or git dir> | ' +
      '--git-dir <dir>) [--commit <rev>] [--file <name>]... ' +
      '[--grep <pattern>] [--timeout <ms>] [--bound <s>] [--json <out>] ' +
      '[--verbose] [--keep]\n'
  );
  process.exit(2);
}

/**
 * Parses the command line of the main process.
 *
 * @param {String[]} argv The arguments after the script name
 * @return {Object} The options
 * @private
 */
function parseArgs(argv) {
  const opts = {
    source: null,
    gitDir: null,
    commit: null,
    files: [],
    grep: null,
    timeout: DEFAULT_TIMEOUT_MS,
    bound: DEFAULT_BOUND_S,
    json: null,
    verbose: false,
    keep: false
  };

  const valueOf = (i, name) => {
    if (i + 1 >= argv.length) usageError(`${name} needs a value`);
    return argv[i + 1];
  };

  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline = null;

    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }

    const take = () => {
      if (inline !== null) return inline;
      const value = valueOf(i, arg);
      i++;
      return value;
    };

    switch (arg) {
      case '--git-dir':
        opts.gitDir = take();
        break;
      case '--commit':
        opts.commit = take();
        break;
      case '--file':
        opts.files.push(take());
        break;
      case '--grep':
        opts.grep = take();
        break;
      case '--timeout':
        opts.timeout = Number(take());
        if (!(opts.timeout > 0)) usageError('--timeout must be positive');
        break;
      case '--bound':
        opts.bound = Number(take());
        if (!(opts.bound > 0)) usageError('--bound must be positive');
        break;
      case '--json':
        opts.json = path.resolve(take());
        break;
      case '--verbose':
        opts.verbose = true;
        break;
      case '--keep':
        opts.keep = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          fs
            .readFileSync(__filename, 'utf8')
            .split('*/')[0]
            .replace(/^'use strict';\s*\/\*\n?/, '')
            .replace(/^ \* ?/gm, '')
        );
        process.exit(0);
        break;
      default:
        if (arg.startsWith('-')) usageError(`unknown option: ${arg}`);
        if (opts.source !== null) usageError(`unexpected argument: ${arg}`);
        opts.source = arg;
    }
  }

  if (opts.source === null && opts.gitDir === null) {
    usageError('no ws checkout or git dir given');
  }

  if (opts.source !== null && opts.gitDir !== null) {
    usageError('give either a path or --git-dir, not both');
  }

  if (opts.grep !== null) {
    try {
      new RegExp(opts.grep);
    } catch (err) {
      usageError(`invalid --grep pattern: ${err.message}`);
    }
  }

  return opts;
}

// ---------------------------------------------------------------------------
// Preparing the temporary tree

/**
 * Runs git and returns its standard output.
 *
 * @param {String} gitDir The git directory
 * @param {String[]} args The git arguments
 * @param {Object} [options] Extra `execFileSync` options
 * @return {Buffer} The output
 * @private
 */
function git(gitDir, args, options) {
  return execFileSync('git', ['--git-dir', gitDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 512 * 1024 * 1024,
    ...options
  });
}

/**
 * Tells whether a path is a git directory (a bare repository or `.git`).
 *
 * @param {String} dir The path
 * @return {Boolean} `true` if git accepts it as a git directory
 * @private
 */
function isGitDir(dir) {
  try {
    git(dir, ['rev-parse', '--git-dir']);
    return fs.existsSync(path.join(dir, 'HEAD'));
  } catch {
    return false;
  }
}

/**
 * Works out where ws's tests come from.
 *
 * @param {Object} opts The options
 * @return {Object} `{ kind: 'git', gitDir, commit }` or
 *     `{ kind: 'dir', dir }`
 * @private
 */
function resolveSource(opts) {
  if (opts.gitDir !== null) {
    const gitDir = path.resolve(opts.gitDir);
    if (!isGitDir(gitDir)) usageError(`not a git directory: ${gitDir}`);
    return { kind: 'git', gitDir, commit: opts.commit || 'HEAD' };
  }

  const dir = path.resolve(opts.source);

  if (!fs.existsSync(dir)) usageError(`no such path: ${dir}`);

  if (opts.commit !== null) {
    // A checkout with a commit: read that commit from its repository.
    const dotGit = path.join(dir, '.git');
    const gitDir = isGitDir(dotGit) ? dotGit : dir;
    if (!isGitDir(gitDir))
      usageError(`--commit given, but ${dir} has no git data`);
    return { kind: 'git', gitDir, commit: opts.commit };
  }

  if (fs.existsSync(path.join(dir, 'test'))) return { kind: 'dir', dir };

  if (isGitDir(dir)) return { kind: 'git', gitDir: dir, commit: 'HEAD' };

  usageError(`${dir} has no test/ folder and is not a git directory`);
}

/**
 * Copies ws's `test/` folder into the temporary folder and returns the ws
 * `lib/` module names found in the source (if any).
 *
 * @param {Object} source Where the tests come from
 * @param {String} tmp The temporary folder
 * @return {{label: String, libNames: String[]}} A description of the source
 *     and the names of its `lib/*.js` modules
 * @private
 */
function copyTests(source, tmp) {
  if (source.kind === 'dir') {
    fs.cpSync(path.join(source.dir, 'test'), path.join(tmp, 'test'), {
      recursive: true,
      dereference: true
    });

    let libNames = [];
    const libDir = path.join(source.dir, 'lib');
    if (fs.existsSync(libDir)) {
      libNames = fs
        .readdirSync(libDir)
        .filter((name) => name.endsWith('.js'))
        .map((name) => name.slice(0, -3));
    }

    return { label: source.dir, libNames };
  }

  let sha;
  try {
    sha = git(source.gitDir, [
      'rev-parse',
      '--verify',
      `${source.commit}^{commit}`
    ])
      .toString()
      .trim();
  } catch {
    throw new Error(`unknown commit ${source.commit} in ${source.gitDir}`);
  }

  const archive = git(source.gitDir, ['archive', '--format=tar', sha, 'test']);
  execFileSync('tar', ['-x', '-C', tmp], {
    input: archive,
    stdio: ['pipe', 'ignore', 'pipe']
  });

  const libNames = git(source.gitDir, ['ls-tree', '--name-only', sha, 'lib/'])
    .toString()
    .split('\n')
    .filter((p) => p.endsWith('.js'))
    .map((p) => path.basename(p, '.js'));

  return { label: `${source.gitDir} @ ${sha.slice(0, 12)}`, libNames };
}

/**
 * Writes the stubs that route ws's relative requires to wsrs.
 *
 * @param {String} tmp The temporary folder
 * @param {String[]} extraNames More `lib/` module names to stub
 * @private
 */
function writeStubs(tmp, extraNames) {
  const names = new Set([...WS_LIB_MODULES, ...extraNames]);
  const stub = (target) =>
    "'use strict';\n\n// Generated by wsrs's scripts/ws-suite.js.\n" +
    `module.exports = require(${JSON.stringify(target)});\n`;

  fs.mkdirSync(path.join(tmp, 'lib'), { recursive: true });

  for (const name of names) {
    fs.writeFileSync(
      path.join(tmp, 'lib', `${name}.js`),
      stub(path.join(ROOT, 'lib', name))
    );
  }

  fs.writeFileSync(
    path.join(tmp, 'index.js'),
    stub(path.join(ROOT, 'index.js'))
  );
  fs.writeFileSync(
    path.join(tmp, 'package.json'),
    JSON.stringify(
      {
        name: 'ws',
        private: true,
        description: 'ws test suite running against wsrs (generated)',
        main: 'index.js'
      },
      null,
      2
    ) + '\n'
  );
}

/**
 * Lists the test files to run.
 *
 * @param {String} testDir The copied `test/` folder
 * @param {String[]} wanted The `--file` values (empty for all)
 * @return {String[]} The file names, sorted
 * @private
 */
function selectFiles(testDir, wanted) {
  const all = fs
    .readdirSync(testDir)
    .filter((name) => name.endsWith('.test.js'))
    .sort();

  if (wanted.length === 0) return all;

  return wanted.map((want) => {
    const base = path.basename(want).replace(/(\.test)?(\.js)?$/, '');
    const name = `${base}.test.js`;
    if (!all.includes(name)) {
      usageError(`no test file ${name} (have: ${all.join(', ')})`);
    }
    return name;
  });
}

// ---------------------------------------------------------------------------
// Running one file in a child process

/**
 * Runs one test file in a child process and collects its results.
 *
 * @param {Object} ctx What the run needs: `tmp`, `opts`, `deadline`
 * @param {String} file The test file name
 * @return {Promise<Object>} The file's results
 * @private
 */
function runFile(ctx, file) {
  const resultsPath = path.join(ctx.tmp, `.results-${file}.jsonl`);
  const testPath = path.join(ctx.tmp, 'test', file);
  const args = [
    '--throw-deprecation',
    __filename,
    '--child',
    JSON.stringify({
      file: testPath,
      results: resultsPath,
      timeout: ctx.opts.timeout,
      grep: ctx.opts.grep
    })
  ];

  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: ctx.tmp,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe']
    });

    ctx.child = child;

    let tail = '';
    const keepTail = (chunk) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };

    child.stdout.on('data', (chunk) => {
      if (ctx.opts.verbose) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      keepTail(chunk);
      if (ctx.opts.verbose) process.stderr.write(chunk);
    });

    let stopReason = null;
    const budget = Math.max(ctx.deadline - Date.now(), 0);
    const timer = setTimeout(() => {
      stopReason = 'the overall time bound was reached';
      killChild(child);
    }, budget);

    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ctx.child = null;

      const result = collect(file, resultsPath);
      result.seconds = (Date.now() - started) / 1000;

      if (!result.ended) {
        result.aborted =
          stopReason ||
          `the test process exited early (${signal || `code ${code}`})` +
            (tail.trim() ? `: ${crashLine(tail)}` : '');

        // The test that was running when the process died is to blame.
        const culprit = result.tests[result.running];
        if (culprit !== undefined && culprit.state === 'not run') {
          culprit.state = 'failing';
          culprit.reason = `running when ${result.aborted}`;
        }
      }

      resolve(result);
    });
  });
}

/**
 * Stops a child process (and anything it started, which shares its process
 * group): SIGTERM, then SIGKILL if it is still there after a grace period.
 *
 * @param {ChildProcess} child The child
 * @private
 */
function killChild(child) {
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };

  signalGroup('SIGTERM');
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup('SIGKILL');
    }
  }, KILL_GRACE_MS).unref();
}

/**
 * Picks the most telling part of what a crashed process printed: the last
 * `SomeError: message` line with the lines that follow it up to the stack
 * trace, joined into one line; else the last non-empty line.
 *
 * @param {String} text The end of the process's standard error
 * @return {String} The summary
 * @private
 */
function crashLine(text) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  let start = -1;

  for (let i = 0; i < lines.length; i++) {
    if (/^([A-Z]\w*)?(Error|Exception)\b[^:]*:/.test(lines[i])) start = i;
  }

  let pick;

  if (start === -1) {
    pick = lines.length ? lines[lines.length - 1] : '';
  } else {
    const parts = [];
    for (let i = start; i < lines.length && !lines[i].startsWith('at '); i++) {
      parts.push(lines[i]);
    }
    pick = parts.join(' ');
  }

  return pick.length > 200 ? `${pick.slice(0, 197)}...` : pick;
}

/**
 * Reads the events a child wrote and turns them into the file's results.
 *
 * @param {String} file The test file name
 * @param {String} resultsPath The child's results file
 * @return {Object} `{ file, tests, hooks, loadError, ended }`
 * @private
 */
function collect(file, resultsPath) {
  const result = {
    file,
    tests: [],
    hooks: [],
    loadError: null,
    ended: false,
    running: -1
  };
  const byId = new Map();

  let text = '';
  try {
    text = fs.readFileSync(resultsPath, 'utf8');
  } catch {
    // The child died before writing anything.
  }

  for (const line of text.split('\n')) {
    if (line === '') continue;

    let event;
    try {
      event = JSON.parse(line);
    } catch {
      continue; // A line cut short by a kill.
    }

    switch (event.type) {
      case 'plan':
        for (const t of event.tests) {
          const entry = {
            title: t.fullTitle,
            state: t.pending ? 'pending' : 'not run',
            reason: null
          };
          byId.set(t.id, entry);
          result.tests.push(entry);
        }
        break;
      case 'load-error':
        result.loadError = event.message;
        break;
      case 'begin':
        result.running = event.id;
        break;
      case 'pass':
      case 'pending':
      case 'fail': {
        const entry = byId.get(event.id);
        if (entry === undefined) {
          // A hook, or a failure outside any test.
          if (event.type === 'fail') {
            result.hooks.push({ title: event.fullTitle, reason: event.reason });
          }
          break;
        }
        // A failure reported after a pass (e.g. `done()` called twice)
        // wins.
        if (entry.state !== 'failing' || event.type === 'fail') {
          entry.state =
            event.type === 'pass'
              ? 'passing'
              : event.type === 'fail'
                ? 'failing'
                : 'pending';
          entry.reason = event.reason || null;
        }
        break;
      }
      case 'end':
        result.ended = true;
        break;
      default:
        break;
    }
  }

  if (result.loadError !== null) {
    for (const entry of result.tests) {
      entry.state = 'failing';
      entry.reason = `file failed to load: ${result.loadError}`;
    }
  }

  return result;
}

// ---------------------------------------------------------------------------
// Child process side

/**
 * Makes servers that would listen on every interface listen on 127.0.0.1
 * only, by giving `net.Server#listen()` a host when a TCP port is given
 * without one.
 *
 * @private
 */
function bindToLoopback() {
  const net = require('net');
  const listen = net.Server.prototype.listen;
  const LOOPBACK = '127.0.0.1';

  net.Server.prototype.listen = function (...args) {
    const first = args[0];

    if (first === undefined || typeof first === 'function') {
      args.unshift(0, LOOPBACK);
    } else if (
      typeof first === 'number' ||
      (typeof first === 'string' && /^\d+$/.test(first))
    ) {
      if (typeof args[1] !== 'string') args.splice(1, 0, LOOPBACK);
    } else if (
      first !== null &&
      typeof first === 'object' &&
      first.path === undefined &&
      first.host === undefined &&
      first.fd === undefined &&
      first._handle === undefined &&
      first.handle === undefined
    ) {
      args[0] = { ...first, host: LOOPBACK };
    }

    return listen.apply(this, args);
  };
}

/**
 * Turns an error into a one-line reason.
 *
 * @param {*} err The error
 * @return {String} The reason
 * @private
 */
function oneLine(err) {
  let text;

  if (err instanceof Error || (err && typeof err.message === 'string')) {
    text = `${err.name || 'Error'}: ${err.message}`;
    if (err.code && !String(err.message).includes(err.code)) {
      text += ` [${err.code}]`;
    }
  } else {
    text = String(err);
  }

  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

/**
 * Lists the tests of a loaded suite tree, giving each an id.
 *
 * @param {Suite} root The root suite
 * @param {(RegExp|null)} grep Only the tests whose full title matches
 * @return {Object[]} `{ id, fullTitle, pending }` for each test
 * @private
 */
function planOf(root, grep) {
  const tests = [];

  const visit = (suite, pending) => {
    const suitePending = pending || suite.pending;

    for (const test of suite.tests) {
      const fullTitle = test.fullTitle();
      if (grep && !grep.test(fullTitle)) continue;
      test.wsSuiteId = tests.length;
      tests.push({
        id: test.wsSuiteId,
        fullTitle,
        pending: Boolean(suitePending || test.pending)
      });
    }

    for (const child of suite.suites) visit(child, suitePending);
  };

  visit(root, false);
  return tests;
}

/**
 * Makes an inert stand-in for a module that failed to load: any property is
 * another stand-in, and it can be called, constructed and extended.
 *
 * @return {Function} The stand-in
 * @private
 */
function makeStandIn() {
  const target = function () {};
  const handler = {
    get(t, key) {
      if (key === Symbol.toPrimitive) return () => 0;
      if (key === 'prototype') return t.prototype;
      if (key === Symbol.iterator) return undefined;
      if (key === 'then') return undefined;
      return proxy;
    },
    apply: () => proxy,
    construct: () => proxy
  };
  const proxy = new Proxy(target, handler);
  return proxy;
}

/**
 * Entry point of a child process: runs one test file under mocha and writes
 * the events, one JSON line each, to the results file.
 *
 * @param {Object} job `{ file, results, timeout, grep }`
 * @private
 */
function child(job) {
  const Mocha = require('mocha');
  const fd = fs.openSync(job.results, 'w');
  const emit = (event) => fs.writeSync(fd, JSON.stringify(event) + '\n');
  const grep = job.grep === null ? null : new RegExp(job.grep);

  bindToLoopback();

  /**
   * A mocha reporter that forwards the results to the parent.
   *
   * @param {Runner} runner The mocha runner
   */
  function Forwarder(runner) {
    const { constants } = Mocha.Runner;

    runner.on(constants.EVENT_TEST_BEGIN, (test) => {
      emit({ type: 'begin', id: test.wsSuiteId });
    });
    runner.on(constants.EVENT_TEST_PASS, (test) => {
      emit({ type: 'pass', id: test.wsSuiteId });
    });
    runner.on(constants.EVENT_TEST_PENDING, (test) => {
      emit({ type: 'pending', id: test.wsSuiteId });
    });
    runner.on(constants.EVENT_TEST_FAIL, (test, err) => {
      emit({
        type: 'fail',
        id: test.type === 'test' ? test.wsSuiteId : undefined,
        fullTitle: test.fullTitle(),
        reason: oneLine(err)
      });
    });
    runner.once(constants.EVENT_RUN_END, () => {
      emit({ type: 'end' });
    });
  }

  const options = { timeout: job.timeout, reporter: Forwarder };
  if (grep) options.grep = grep;

  const mocha = new Mocha(options);
  mocha.addFile(job.file);

  try {
    mocha.loadFiles();
    // Already loaded: `run()` must not load them again.
    mocha.lazyLoadFiles(true);
  } catch (err) {
    // The first line says it all ("Cannot find module ..."); the require
    // stack that follows is noise.
    const brief = { name: err && err.name, code: err && err.code };
    brief.message = String(err && err.message).split('\n')[0];
    emit({ type: 'load-error', message: oneLine(brief) });
    emit({ type: 'plan', tests: listDespiteLoadError(Mocha, job, grep) });
    emit({ type: 'end' });
    fs.closeSync(fd);
    process.exit(0);
  }

  emit({ type: 'plan', tests: planOf(mocha.suite, grep) });

  mocha.run(() => {
    fs.closeSync(fd);
    // Like mocha's --exit: a handle left open by the code under test must
    // not keep the run from finishing.
    process.exit(0);
  });
}

/**
 * Lists the tests of a file that failed to load, by loading it again with
 * every module that fails to load replaced by a stand-in.
 *
 * @param {Function} Mocha The mocha class
 * @param {Object} job The job
 * @param {(RegExp|null)} grep The title filter
 * @return {Object[]} The plan (possibly empty)
 * @private
 */
function listDespiteLoadError(Mocha, job, grep) {
  const Module = require('module');
  const load = Module._load;

  Module._load = function (request, parent, isMain) {
    try {
      return load.call(this, request, parent, isMain);
    } catch (err) {
      if (Module.isBuiltin && Module.isBuiltin(request)) throw err;
      return makeStandIn();
    }
  };

  try {
    const mocha = new Mocha({ timeout: job.timeout });
    mocha.addFile(job.file);
    mocha.loadFiles();
    return planOf(mocha.suite, grep);
  } catch {
    return [];
  } finally {
    Module._load = load;
  }
}

// ---------------------------------------------------------------------------
// Report

/**
 * Counts the states of a file's tests.
 *
 * @param {Object} result A file's results
 * @return {Object} `{ passing, failing, pending, notRun }`
 * @private
 */
function tally(result) {
  const counts = { passing: 0, failing: 0, pending: 0, notRun: 0 };

  for (const t of result.tests) {
    if (t.state === 'passing') counts.passing++;
    else if (t.state === 'failing') counts.failing++;
    else if (t.state === 'pending') counts.pending++;
    else counts.notRun++;
  }

  counts.failing += result.hooks.length;
  return counts;
}

/**
 * Prints the summary table and the failing tests.
 *
 * @param {String} label The source of the tests
 * @param {Object[]} results The results, one per file
 * @param {Object} opts The options
 * @return {Object} The totals
 * @private
 */
function report(label, results, opts) {
  const out = [];
  const width = Math.max(24, ...results.map((r) => r.file.length)) + 2;
  const row = (name, c) =>
    name.padEnd(width) +
    [c.passing, c.failing, c.pending, c.notRun]
      .map((n) => String(n).padStart(9))
      .join('');

  out.push(`ws test suite from ${label}`);
  if (opts.grep !== null) out.push(`grep: ${opts.grep}`);
  out.push('');
  out.push(
    'file'.padEnd(width) +
      ['passing', 'failing', 'pending', 'not run']
        .map((s) => s.padStart(9))
        .join('')
  );

  const total = { passing: 0, failing: 0, pending: 0, notRun: 0 };

  for (const result of results) {
    const counts = tally(result);
    for (const key of Object.keys(total)) total[key] += counts[key];
    let line = row(result.file, counts);
    if (result.loadError !== null) line += '   (failed to load)';
    else if (result.aborted) line += '   (aborted)';
    out.push(line);
  }

  out.push(row('total', total));

  const problems = results.filter(
    (r) =>
      r.loadError !== null ||
      r.aborted ||
      r.hooks.length > 0 ||
      r.tests.some((t) => t.state === 'failing' || t.state === 'not run')
  );

  for (const result of problems) {
    out.push('');
    out.push(`${result.file}:`);

    if (result.loadError !== null) {
      out.push(`  failed to load: ${result.loadError}`);
      out.push(
        result.tests.length
          ? `  (all ${result.tests.length} of its tests count as failing)`
          : '  (its tests could not be listed)'
      );
      continue;
    }

    if (result.aborted) out.push(`  aborted: ${result.aborted}`);

    for (const t of result.tests) {
      if (t.state !== 'failing') continue;
      const note = HARNESS_INDUCED.get(t.title);
      out.push(`  ✗ ${t.title}`);
      out.push(`      ${t.reason}${note ? `  [expected here: ${note}]` : ''}`);
    }

    for (const h of result.hooks) {
      out.push(`  ✗ ${h.title}`);
      out.push(`      ${h.reason}`);
    }

    const notRun = result.tests.filter((t) => t.state === 'not run').length;
    if (notRun) out.push(`  ${notRun} test(s) did not run`);
  }

  out.push('');
  process.stdout.write(out.join('\n') + '\n');
  return total;
}

// ---------------------------------------------------------------------------
// Main

/**
 * Entry point of the main process.
 *
 * @private
 */
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const source = resolveSource(opts);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-ws-suite-'));
  const ctx = {
    tmp,
    opts,
    deadline: Date.now() + opts.bound * 1000,
    child: null
  };

  let cleaned = false;
  const cleanUp = () => {
    if (cleaned) return;
    cleaned = true;
    if (opts.keep) {
      process.stderr.write(`ws-suite: kept ${tmp}\n`);
    } else {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  };

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      if (ctx.child) {
        try {
          process.kill(-ctx.child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      cleanUp();
      process.exit(130);
    });
  }

  process.once('exit', cleanUp);

  let exitCode = 1;

  try {
    const { label, libNames } = copyTests(source, tmp);
    writeStubs(tmp, libNames);

    const files = selectFiles(path.join(tmp, 'test'), opts.files);
    const results = [];

    for (const file of files) {
      if (Date.now() >= ctx.deadline) {
        results.push({
          file,
          tests: [],
          hooks: [],
          loadError: null,
          ended: false,
          aborted: 'the overall time bound was reached before it started'
        });
        continue;
      }

      process.stderr.write(`ws-suite: running ${file}\n`);
      results.push(await runFile(ctx, file));
    }

    const total = report(label, results, opts);

    if (opts.json !== null) {
      fs.writeFileSync(
        opts.json,
        JSON.stringify(
          {
            source: label,
            grep: opts.grep,
            timeout: opts.timeout,
            total,
            files: results.map((r) => ({
              file: r.file,
              ...tally(r),
              seconds: r.seconds,
              loadError: r.loadError,
              aborted: r.aborted || null,
              hookFailures: r.hooks,
              tests: r.tests
            }))
          },
          null,
          2
        ) + '\n'
      );
    }

    const allRan = results.every((r) => !r.aborted && r.loadError === null);
    exitCode = total.failing === 0 && total.notRun === 0 && allRan ? 0 : 1;
  } catch (err) {
    process.stderr.write(`ws-suite: ${err.message}\n`);
    exitCode = 1;
  } finally {
    cleanUp();
  }

  process.exitCode = exitCode;
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]));
} else {
  main();
}
