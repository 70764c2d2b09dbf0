'use strict';

/*
 * End-to-end benchmark: wsrs against ws (with and without its native
 * helpers), uWebSockets.js, faye-websocket and a raw TCP echo floor, each
 * server in its own process, driven by the Rust load generator in
 * bench/loadgen. Loopback (127.0.0.1) only; every process it starts has a
 * time limit and stops by itself.
 *
 * For each scenario the servers run interleaved (A B C A B C ...), a fresh
 * server process per run; the table gives the median of the repetitions and
 * its ratio to ws. With two or more CPUs and `taskset`, the server is pinned
 * to the last CPU and the load generator (or client) to the others.
 *
 * Usage: node bench/e2e.js [--quick] [--json <file>] [--only <scenarios>]
 *   [--servers <list>] [--reps N] [--duration SECS] [--base <checkout>]
 *
 * `--base <checkout>` adds the servers `wsrs@base` and `wsrs-native@base`:
 * wsrs from another checkout (built), e.g. the commit before a change, so
 * that a change is measured against its predecessor in one run.
 *
 * Scenarios (ids or names, comma-separated for --only):
 *   a echo-64      64 B binary echo, 32 connections x 16 in flight
 *   b echo-16k     16 KiB binary echo, 8 x 8
 *   c echo-1m      1 MiB binary echo, 2 x 2
 *   d text-1k      1 KiB UTF-8 text echo (validated by the server), 32 x 16
 *   e deflate-1k   permessage-deflate both ways, 1 KiB JSON, 32 x 16
 *   f broadcast    1 publisher, 1,000 subscribers, 128 B: deliveries/s
 *   g idle         10,000 idle connections: server RSS per connection
 *   h handshake    open + upgrade + close, 16 at a time: connections/s
 *   i client-64    wsrs vs ws *clients* against uWebSockets.js: client CPU
 * Servers: wsrs, wsrs-native, ws, ws-nobu, uws, faye, raw (for i: clients
 * wsrs, ws, ws-nobu). wsrs-native is wsrs with `engine: 'native'` (Rust owns
 * the sockets, on an I/O thread inside the server process).
 *
 * A server that cannot run a scenario is skipped for the rest of that
 * scenario, with the reason in a `note:` line: when it does not start in the
 * first repetition (e.g. it rejects an option), or when, in a
 * permessage-deflate scenario, it declines the extension in a test
 * handshake made before the load generator starts, or compresses no echo.
 */

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const readline = require('readline');

const ROOT = path.resolve(__dirname, '..');
const LOADGEN_DIR = path.join(__dirname, 'loadgen');
const LOADGEN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen');

/**
 * @typedef {Object} ServerDef
 * @property {String} script The file under bench/servers/
 * @property {Object} env Extra environment variables
 * @property {String} proto The loadgen protocol: `ws` or `raw`
 * @property {String[]} needs Packages that must resolve
 * @property {String} label A longer description
 */

/** @type {Object<String, ServerDef>} */
const SERVERS = {
  wsrs: {
    script: 'wsrs.js',
    env: {},
    proto: 'ws',
    needs: [],
    label: 'wsrs (this repository)'
  },
  'wsrs-native': {
    script: 'wsrs-native.js',
    env: {},
    proto: 'ws',
    needs: [],
    label: "wsrs, engine: 'native' (Rust/tokio owns the sockets)"
  },
  ws: {
    script: 'ws.js',
    env: {},
    proto: 'ws',
    needs: ['ws', 'bufferutil'],
    label: 'ws 8 with bufferutil (UTF-8: buffer.isUtf8)'
  },
  'ws-nobu': {
    script: 'ws.js',
    env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
    proto: 'ws',
    needs: ['ws'],
    label: 'ws 8, WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1'
  },
  uws: {
    script: 'uws.js',
    env: {},
    proto: 'ws',
    needs: ['@trufflesuite/uws-js-unofficial'],
    label: 'uWebSockets.js v20.30 (@trufflesuite/uws-js-unofficial)'
  },
  faye: {
    script: 'faye.js',
    env: {},
    proto: 'ws',
    needs: ['faye-websocket'],
    label: 'faye-websocket'
  },
  raw: {
    script: 'raw.js',
    env: {},
    proto: 'raw',
    needs: [],
    label: 'raw TCP echo, no WebSocket (the floor)'
  }
};

/**
 * @typedef {Object} Scenario
 * @property {String} id The letter
 * @property {String} name The name
 * @property {(String|function(Object): String)} title What the table shows
 *     (or a function of the run configuration giving it)
 * @property {String} kind `echo`, `broadcast`, `idle`, `handshake` or
 *     `client`
 * @property {String[]} [skip] Servers that do not apply
 * @property {function(Object): String[]} [args] Loadgen arguments, given
 *     the run configuration
 * @property {Boolean} [deflate] Whether the server enables
 *     permessage-deflate
 */

/** @type {Scenario[]} */
const SCENARIOS = [
  {
    id: 'a',
    name: 'echo-64',
    title: 'echo 64 B bin 32x16',
    kind: 'echo',
    args: () => ['--conns', '32', '--inflight', '16', '--size', '64']
  },
  {
    id: 'b',
    name: 'echo-16k',
    title: 'echo 16 KiB bin 8x8',
    kind: 'echo',
    args: () => ['--conns', '8', '--inflight', '8', '--size', '16384']
  },
  {
    id: 'c',
    name: 'echo-1m',
    title: 'echo 1 MiB bin 2x2',
    kind: 'echo',
    args: () => ['--conns', '2', '--inflight', '2', '--size', '1048576']
  },
  {
    id: 'd',
    name: 'text-1k',
    title: 'echo 1 KiB UTF-8 text 32x16',
    kind: 'echo',
    args: () => [
      '--conns',
      '32',
      '--inflight',
      '16',
      '--size',
      '1024',
      '--payload',
      'text'
    ]
  },
  {
    id: 'e',
    name: 'deflate-1k',
    title: 'deflate 1 KiB JSON 32x16',
    kind: 'echo',
    deflate: true,
    skip: ['faye', 'raw'],
    args: () => [
      '--conns',
      '32',
      '--inflight',
      '16',
      '--size',
      '1024',
      '--payload',
      'json',
      '--deflate'
    ]
  },
  {
    id: 'f',
    name: 'broadcast',
    title: (cfg) => `broadcast 128 B to ${fmt(cfg.subscribers)} subs`,
    kind: 'broadcast',
    args: (cfg) => [
      '--mode',
      'broadcast',
      '--subscribers',
      String(cfg.subscribers),
      '--inflight',
      '16',
      '--size',
      '128'
    ]
  },
  {
    id: 'g',
    name: 'idle',
    title: (cfg) => `${fmt(cfg.idleConns)} idle connections`,
    kind: 'idle',
    args: (cfg) => [
      '--mode',
      'idle',
      '--conns',
      String(cfg.idleConns),
      '--gc-signal'
    ]
  },
  {
    id: 'h',
    name: 'handshake',
    title: 'handshakes, 16 at a time',
    kind: 'handshake',
    args: () => ['--mode', 'handshake', '--conns', '16']
  },
  {
    id: 'i',
    name: 'client-64',
    title: 'client 64 B 32x16 vs uws',
    kind: 'client'
  }
];

const CLIENTS = ['wsrs', 'ws', 'ws-nobu'];

/**
 * Parses the command line.
 *
 * @param {String[]} argv The arguments after the script name
 * @return {Object} The options
 */
function parseArgs(argv) {
  const opts = {
    quick: false,
    json: null,
    only: null,
    servers: null,
    reps: null,
    duration: null
  };
  const value = (i, name) => {
    if (i + 1 >= argv.length) usage(`${name} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const take = () => (inline !== null ? inline : value(i++, arg));
    if (arg === '--quick') {
      opts.quick = true;
    } else if (arg === '--json') {
      opts.json = take();
    } else if (arg === '--only') {
      opts.only = take()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (arg === '--base') {
      opts.base = path.resolve(take());
    } else if (arg === '--servers') {
      opts.servers = take()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (arg === '--reps') {
      opts.reps = Number(take());
      if (!Number.isInteger(opts.reps) || opts.reps < 1 || opts.reps > 20) {
        usage('--reps must be 1..20');
      }
    } else if (arg === '--duration') {
      opts.duration = Number(take());
      if (!(opts.duration > 0 && opts.duration <= 30)) {
        usage('--duration must be in (0, 30] seconds');
      }
    } else if (arg === '--help' || arg === '-h') {
      usage(null);
    } else {
      usage(`unknown argument: ${argv[i]}`);
    }
  }
  if (opts.base) {
    for (const name of ['wsrs', 'wsrs-native']) {
      SERVERS[`${name}@base`] = {
        ...SERVERS[name],
        dir: path.join(opts.base, 'bench', 'servers'),
        label: `${SERVERS[name].label}, from ${opts.base}`
      };
    }
  }
  if (opts.only) {
    for (const s of opts.only) {
      if (!SCENARIOS.some((sc) => sc.id === s || sc.name === s)) {
        usage(`unknown scenario: ${s}`);
      }
    }
  }
  if (opts.servers) {
    for (const s of opts.servers) {
      if (!SERVERS[s]) usage(`unknown server: ${s}`);
    }
  }
  return opts;
}

/**
 * Prints the usage and exits (0 for --help, 2 for a bad argument).
 *
 * @param {(String|null)} error The problem, or `null` for --help
 */
function usage(error) {
  const text =
    'usage: node bench/e2e.js [--quick] [--json <file>] [--only <a,b,...|names>]\n' +
    '         [--servers <wsrs,wsrs-native,ws,ws-nobu,uws,faye,raw>] [--reps N]\n' +
    '         [--duration SECS]\n' +
    'scenarios: ' +
    SCENARIOS.map((s) => `${s.id}=${s.name}`).join(' ');
  if (error) {
    console.error(`${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

/**
 * Logs a progress line to stderr.
 *
 * @param {String} text The line
 */
function log(text) {
  process.stderr.write(`${text}\n`);
}

/**
 * Whether a package resolves from the repository.
 *
 * @param {String} name The package name
 * @return {Boolean} `true` if it does
 */
function resolves(name) {
  try {
    require.resolve(`${name}/package.json`, { paths: [ROOT] });
    return true;
  } catch {
    return false;
  }
}

/**
 * A package's version, or `null`.
 *
 * @param {String} name The package name
 * @return {(String|null)} The version
 */
function pkgVersion(name) {
  try {
    return require(require.resolve(`${name}/package.json`, { paths: [ROOT] }))
      .version;
  } catch {
    return null;
  }
}

/**
 * The newest modification time under a directory (files only).
 *
 * @param {String} dir The directory
 * @return {Number} Milliseconds since the epoch
 */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const t = entry.isDirectory()
      ? newestMtime(file)
      : fs.statSync(file).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

/**
 * Builds the load generator when it is missing or older than its sources.
 */
function ensureLoadgen() {
  const sources = Math.max(
    newestMtime(path.join(LOADGEN_DIR, 'src')),
    fs.statSync(path.join(LOADGEN_DIR, 'Cargo.toml')).mtimeMs
  );
  if (fs.existsSync(LOADGEN) && fs.statSync(LOADGEN).mtimeMs >= sources) return;
  log('building bench/loadgen (cargo build --release) ...');
  const r = childProcess.spawnSync(
    'cargo',
    [
      'build',
      '--release',
      '--quiet',
      '--manifest-path',
      path.join(LOADGEN_DIR, 'Cargo.toml')
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 }
  );
  if (r.status !== 0 || !fs.existsSync(LOADGEN)) {
    console.error('error: could not build bench/loadgen (is cargo installed?)');
    process.exit(1);
  }
}

/**
 * Decides the CPU pinning.
 *
 * @return {{server: (String|null), load: (String|null), note: String}} The
 *     CPU lists for `taskset -c`, or `null`s when not pinning
 */
function pinning() {
  const cpus = os.cpus().length;
  const probe = childProcess.spawnSync('taskset', ['-c', '0', 'true'], {
    stdio: 'ignore'
  });
  if (probe.error || probe.status !== 0) {
    return { server: null, load: null, note: 'not pinned (no taskset)' };
  }
  if (cpus < 2) {
    return { server: null, load: null, note: 'not pinned (1 CPU)' };
  }
  const server = String(cpus - 1);
  const load = cpus === 2 ? '0' : `0-${cpus - 2}`;
  return { server, load, note: `server on CPU ${server}, load on CPU ${load}` };
}

/**
 * The soft limit on open files of this process (which children inherit).
 *
 * @return {Number} The limit, or Infinity when unknown
 */
function openFileLimit() {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line.trim().split(/\s+/)[3];
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return Infinity;
  }
}

/**
 * Prefixes a command with `taskset -c <cpus>` when pinning.
 *
 * @param {(String|null)} cpus The CPU list
 * @param {String} cmd The command
 * @param {String[]} args Its arguments
 * @return {[String, String[]]} The command and arguments to spawn
 */
function pinned(cpus, cmd, args) {
  return cpus === null ? [cmd, args] : ['taskset', ['-c', cpus, cmd, ...args]];
}

/**
 * Runs a process to completion with a time limit.
 *
 * @param {String} cmd The command
 * @param {String[]} args Its arguments
 * @param {Object} env Extra environment variables
 * @param {Number} limitMs The time limit
 * @return {Promise<{code: (Number|null), stdout: String, stderr: String}>}
 *     What it did
 */
function runProcess(cmd, args, env, limitMs) {
  return new Promise((resolve) => {
    const child = childProcess.spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Parses the last JSON line of a process's output.
 *
 * @param {String} stdout The output
 * @return {(Object|null)} The object, or `null`
 */
function lastJson(stdout) {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      return JSON.parse(line);
    } catch {
      // not JSON; keep looking
    }
  }
  return null;
}

/**
 * @typedef {Object} RunningServer
 * @property {childProcess.ChildProcess} child The process
 * @property {Number} port Its port
 * @property {Number} pid Its pid (for /proc)
 * @property {Object} info Its ready line
 * @property {function(): String} stderr The tail of what it wrote to stderr
 */

/**
 * Starts a server and waits for its ready line.
 *
 * @param {String} name The server name
 * @param {Object} options `{ mode, deflate, maxSeconds, cpus, env }`
 * @return {Promise<RunningServer>} The server
 */
function startServer(name, options) {
  const def = SERVERS[name];
  const args = [
    '--expose-gc',
    path.join(def.dir || path.join(__dirname, 'servers'), def.script),
    '--mode',
    options.mode,
    '--max-seconds',
    String(options.maxSeconds)
  ];
  if (options.deflate) args.push('--deflate');
  const [cmd, cmdArgs] = pinned(options.cpus, process.execPath, args);
  const child = childProcess.spawn(cmd, cmdArgs, {
    cwd: ROOT,
    env: { ...process.env, ...def.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe']
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.stdin.on('error', () => {});

  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: no ready line within 15 s ${stderr}`));
    }, 15_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`${name} exited (${code}) before it was ready: ${stderr}`)
      );
    });
    rl.once('line', (line) => {
      clearTimeout(timer);
      let info;
      try {
        info = JSON.parse(line);
      } catch {
        info = { error: `bad ready line: ${line}` };
      }
      if (info.error || !info.port) {
        child.kill('SIGKILL');
        reject(new Error(`${name}: ${info.error || 'no port'}`));
        return;
      }
      child.removeAllListeners('exit');
      rl.on('line', () => {});
      resolve({
        child,
        port: info.port,
        pid: info.pid || child.pid,
        info,
        stderr: () => stderr
      });
    });
  });
}

/**
 * Stops a server: closes its stdin, sends SIGTERM, and SIGKILL after 3 s.
 *
 * @param {RunningServer} server The server
 * @return {Promise<void>} Resolves when it has exited
 */
function stopServer(server) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin.end();
    child.kill('SIGTERM');
  });
}

/**
 * One WebSocket handshake offering permessage-deflate, then the connection
 * is dropped: whether the server accepts the extension.
 *
 * @param {Number} port The server's port on 127.0.0.1
 * @return {Promise<(String|null)>} Why not, or `null` if it does
 */
function deflateRefusal(port) {
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
        'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits'
      }
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer to a handshake within 5 s');
    }, 5000);
    req.on('upgrade', (res, socket) => {
      clearTimeout(timer);
      socket.destroy();
      const ext = String(res.headers['sec-websocket-extensions'] || '');
      resolve(
        /(^|,)\s*permessage-deflate\b/.test(ext)
          ? null
          : `the server declined permessage-deflate (Sec-WebSocket-Extensions: ${ext || 'none'})`
      );
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve(`a handshake got HTTP ${res.statusCode}`);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve(`a handshake failed: ${err.message}`);
    });
    req.end();
  });
}

/**
 * Runs one measurement: a fresh server, the load generator (or a client
 * process for scenario i), then stops the server.
 *
 * @param {Scenario} sc The scenario
 * @param {String} name The server (or, for `client`, the client) name
 * @param {Object} cfg The run configuration
 * @return {Promise<Object>} The loadgen's (or client's) JSON, plus `server`
 *     (the ready line) or `error`
 */
async function runOne(sc, name, cfg) {
  const isClient = sc.kind === 'client';
  const serverName = isClient ? 'uws' : name;
  const limitS = cfg.warmup + cfg.duration + 60;
  let server;
  try {
    server = await startServer(serverName, {
      mode: sc.kind === 'broadcast' ? 'broadcast' : 'echo',
      deflate: !!sc.deflate,
      maxSeconds: limitS + 30,
      cpus: cfg.pin.server,
      env: {}
    });
  } catch (err) {
    return { error: String(err.message || err), cannotRun: 'it did not start' };
  }

  try {
    if (sc.deflate) {
      const refusal = await deflateRefusal(server.port);
      if (refusal) {
        return {
          error: refusal,
          cannotRun: 'it does not do permessage-deflate here',
          server: server.info
        };
      }
    }
    let out;
    if (isClient) {
      const args = [
        path.join(__dirname, 'clients', 'echo-client.js'),
        '--impl',
        name === 'wsrs' ? 'wsrs' : 'ws',
        '--port',
        String(server.port),
        '--warmup',
        String(cfg.warmup),
        '--duration',
        String(cfg.duration),
        '--clk-tck',
        String(cfg.clkTck)
      ];
      const [cmd, cmdArgs] = pinned(cfg.pin.load, process.execPath, args);
      out = await runProcess(cmd, cmdArgs, SERVERS[name].env, limitS * 1000);
    } else {
      const def = SERVERS[name];
      const args = [
        '--port',
        String(server.port),
        '--proto',
        def.proto,
        '--server-pid',
        String(server.pid),
        '--warmup',
        String(cfg.warmup),
        '--duration',
        String(sc.kind === 'idle' ? cfg.idleHold : cfg.duration),
        ...sc.args(cfg)
      ];
      const [cmd, cmdArgs] = pinned(cfg.pin.load, LOADGEN, args);
      out = await runProcess(cmd, cmdArgs, {}, limitS * 1000);
    }
    const result = lastJson(out.stdout) || {
      error: `no result (exit ${out.code}): ${out.stderr.slice(0, 500)}`
    };
    if (out.code !== 0 && !result.error && !result.errors) {
      result.error = `exit ${out.code}: ${out.stderr.slice(0, 500)}`;
    }
    if (
      sc.deflate &&
      !result.error &&
      result.received > 0 &&
      result.compressed === 0
    ) {
      result.error =
        'permessage-deflate was negotiated but no echo came back compressed';
      result.cannotRun = 'it does not do permessage-deflate here';
    }
    result.server = server.info;
    if (result.error || result.errors) {
      // A crash shows up at the loadgen as closed connections: keep the
      // server's own words (after it has exited, so that they are all in).
      await stopServer(server);
      const tail = server.stderr().trim();
      if (tail) result.server_stderr = tail.slice(-1500);
    }
    return result;
  } finally {
    await stopServer(server);
  }
}

/**
 * @typedef {Object} Metric
 * @property {String} key The field in a run's result
 * @property {String} label The column text
 * @property {Boolean} lowerBetter Whether a lower figure is better
 * @property {Number} scale Multiplier for display
 */

/**
 * The primary metric of a scenario kind.
 *
 * @param {String} kind The scenario kind
 * @return {Metric} The metric
 */
function primaryMetric(kind) {
  switch (kind) {
    case 'broadcast':
      return {
        key: 'rate',
        label: 'deliveries/s',
        lowerBetter: false,
        scale: 1
      };
    case 'idle':
      return {
        key: 'kib_per_conn',
        label: 'KiB/conn',
        lowerBetter: true,
        scale: 1
      };
    case 'handshake':
      return { key: 'rate', label: 'conns/s', lowerBetter: false, scale: 1 };
    case 'client':
      return {
        key: 'cpu_us_per_msg',
        label: 'client CPU us/msg',
        lowerBetter: true,
        scale: 1
      };
    default:
      return { key: 'rate', label: 'msg/s', lowerBetter: false, scale: 1 };
  }
}

/**
 * The median of the finite numbers in a list.
 *
 * @param {Number[]} values The numbers
 * @return {(Number|null)} The median, or `null` if there is none
 */
function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return null;
  v.sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * (max - min) / median of the finite numbers in a list.
 *
 * @param {Number[]} values The numbers
 * @return {(Number|null)} The spread, or `null`
 */
function spread(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  const m = median(v);
  if (v.length < 2 || !m) return null;
  return (Math.max(...v) - Math.min(...v)) / Math.abs(m);
}

/**
 * The most telling lines of a stderr tail: the first error-looking line and
 * the last few, joined.
 *
 * @param {String} text The text
 * @param {Number} n How many lines from the end
 * @return {String} The lines
 */
function lastLines(text, n) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const err = lines.find((l) => /Error|error:/.test(l));
  const tail = lines.slice(-n);
  return (err && !tail.includes(err) ? [err, ...tail] : tail).join(' / ');
}

/**
 * Medians of a server's runs in one scenario.
 *
 * @param {Scenario} sc The scenario
 * @param {Object[]} runs The runs' results
 * @return {Object} The summary
 */
function summarize(sc, runs) {
  const good = runs.filter((r) => !r.error && !r.errors);
  const metric = primaryMetric(sc.kind);
  const pick = (key) => good.map((r) => r[key]);
  return {
    runs: runs.length,
    ok: good.length,
    primary: median(pick(metric.key)),
    spread: spread(pick(metric.key)),
    perCpu:
      sc.kind === 'client'
        ? median(pick('msgs_per_cpu_s'))
        : median(pick('per_server_cpu_s')),
    p50: median(pick('p50_us')),
    p99: median(pick('p99_us')),
    mbps: median(pick('mb_per_s')),
    rate: median(pick('rate')),
    loadgenUtil: median(pick('loadgen_cpu_util')),
    serverUtil: median(
      good.map((r) =>
        r.server_cpu_s != null ? r.server_cpu_s / r.window_s : null
      )
    ),
    openRate: median(pick('open_rate')),
    broadcastVia:
      (runs.find((r) => r.server && r.server.broadcast) || { server: {} })
        .server.broadcast || null,
    errors: runs
      .filter((r) => r.error || r.errors)
      .map(
        (r) =>
          (r.error || (r.error_samples || [])[0] || `${r.errors} errors`) +
          (r.server_stderr
            ? ` | server stderr: ${lastLines(r.server_stderr, 3)}`
            : '')
      )
  };
}

/**
 * Formats a number with thousands separators and sensible precision.
 *
 * @param {(Number|null)} v The number
 * @return {String} The text
 */
function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * Formats a ratio.
 *
 * @param {(Number|null)} r The ratio
 * @return {String} The text
 */
function fmtRatio(r) {
  return r === null || r === undefined || !Number.isFinite(r)
    ? 'n/a'
    : `${r.toFixed(2)}x`;
}

/**
 * The "vs ws" ratio, oriented so that above 1 is better than ws.
 *
 * @param {(Number|null)} value The figure
 * @param {(Number|null)} base ws's figure
 * @param {Boolean} lowerBetter Whether lower is better
 * @return {(Number|null)} The ratio
 */
function ratio(value, base, lowerBetter) {
  if (value === null || base === null || value === 0 || base === 0) return null;
  return lowerBetter ? base / value : value / base;
}

/**
 * A scenario's title for a run configuration.
 *
 * @param {Scenario} sc The scenario
 * @param {Object} cfg The run configuration
 * @return {String} The title
 */
function titleOf(sc, cfg) {
  return typeof sc.title === 'function' ? sc.title(cfg) : sc.title;
}

/**
 * Renders rows as an aligned text table.
 *
 * @param {String[]} header The column titles
 * @param {String[][]} rows The cells
 * @param {Boolean[]} right Which columns are right-aligned
 * @return {String} The table
 */
function renderTable(header, rows, right) {
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((r) => r[c].length))
  );
  const line = (cells) =>
    cells
      .map((cell, c) =>
        right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])
      )
      .join('  ')
      .trimEnd();
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line)
  ].join('\n');
}

/**
 * Runs the benchmark.
 */
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const cfg = opts.quick
    ? {
        reps: 1,
        warmup: 0.25,
        duration: 0.5,
        idleHold: 1,
        subscribers: 200,
        idleConns: 1000
      }
    : {
        reps: 3,
        warmup: 0.5,
        duration: 2,
        idleHold: 1.5,
        subscribers: 1000,
        idleConns: 10000
      };
  if (opts.reps) cfg.reps = opts.reps;
  if (opts.duration) cfg.duration = opts.duration;
  cfg.pin = pinning();
  const clk = childProcess.spawnSync('getconf', ['CLK_TCK'], {
    encoding: 'utf8'
  });
  cfg.clkTck = Number((clk.stdout || '').trim()) || 100;

  const notes = [];
  const fdLimit = openFileLimit();
  if (fdLimit < cfg.idleConns + 1000) {
    const n = Math.max(100, Math.floor((fdLimit - 1000) / 100) * 100);
    notes.push(
      `open-file limit ${fdLimit} (ulimit -n) is too low for ${cfg.idleConns} idle ` +
        `connections: using ${n}; raise it with 'ulimit -n ${cfg.idleConns + 2000}'`
    );
    cfg.idleConns = n;
  }

  ensureLoadgen();

  let serverNames = opts.servers || Object.keys(SERVERS);
  const missing = [];
  serverNames = serverNames.filter((n) => {
    const lacking = SERVERS[n].needs.filter((p) => !resolves(p));
    if (lacking.length) missing.push(`${n} (needs ${lacking.join(', ')})`);
    return lacking.length === 0;
  });
  if (missing.length)
    notes.push(`skipped, not installed: ${missing.join(', ')}`);

  const scenarios = SCENARIOS.filter(
    (sc) =>
      !opts.only || opts.only.includes(sc.id) || opts.only.includes(sc.name)
  );

  const date = new Date().toISOString();
  console.log(`wsrs end-to-end benchmark — ${date}`);
  console.log(
    `node ${process.version}, ${process.platform}-${process.arch}, ${os.cpus().length} CPU ` +
      `(${(os.cpus()[0] || {}).model || 'unknown'}), load average ` +
      os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')
  );
  console.log(
    `ws ${pkgVersion('ws')}, bufferutil ${pkgVersion('bufferutil')}, uWS ` +
      `${pkgVersion('@trufflesuite/uws-js-unofficial')}, faye-websocket ` +
      `${pkgVersion('faye-websocket')}; ${cfg.pin.note}`
  );
  console.log(
    `${opts.quick ? 'quick: ' : ''}${cfg.reps} interleaved repetition(s), ` +
      `${cfg.warmup} s warm-up + ${cfg.duration} s measured per run, a fresh server per run; ` +
      `median shown`
  );
  console.log('');

  const report = [];
  // "name\0reason" -> the ids of the scenarios it was skipped in.
  const skips = new Map();
  for (const sc of scenarios) {
    const names =
      sc.kind === 'client'
        ? CLIENTS.filter((c) => serverNames.includes(c))
        : serverNames.filter((n) => !(sc.skip || []).includes(n));
    if (sc.kind === 'client' && !resolves('@trufflesuite/uws-js-unofficial')) {
      notes.push(
        'scenario i skipped: uWebSockets.js (its server) is not installed'
      );
      continue;
    }
    if (sc.kind === 'client' && serverNames.includes('wsrs-native')) {
      notes.push(
        `${sc.id} wsrs-native skipped: it is a server engine, and ${sc.id} measures ` +
          'clients (against uws)'
      );
    }
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    const skipped = {};
    for (let rep = 0; rep < cfg.reps; rep++) {
      for (const name of names) {
        if (skipped[name]) continue;
        const started = Date.now();
        const result = await runOne(sc, name, cfg);
        result.rep = rep;
        runs[name].push(result);
        if (rep === 0 && result.cannotRun) {
          // A server that rejects the scenario's setup would do so in every
          // repetition: skip it for the rest of the scenario.
          skipped[name] = `${result.cannotRun}: ${result.error}`;
          const key = `${name}\0${skipped[name]}`;
          skips.set(key, [...(skips.get(key) || []), sc.id]);
        }
        const metric = primaryMetric(sc.kind);
        const shown = skipped[name]
          ? `SKIPPED for this scenario, ${skipped[name].slice(0, 300)}`
          : result.error
            ? `ERROR ${result.error.slice(0, 200)}`
            : `${fmt(result[metric.key])} ${metric.label}` +
              (result.errors
                ? ` (${result.errors} errors: ${(result.error_samples || [])[0]})`
                : '');
        log(
          `[${((Date.now() - t0) / 1000).toFixed(0)}s] ${sc.id} ${sc.name} rep ${rep + 1}/${cfg.reps} ` +
            `${name}: ${shown} (${((Date.now() - started) / 1000).toFixed(1)} s)`
        );
      }
    }
    const summary = Object.fromEntries(
      names.map((n) => [
        n,
        skipped[n]
          ? { ...summarize(sc, []), skipped: skipped[n] }
          : summarize(sc, runs[n])
      ])
    );
    report.push({ sc, names, runs, summary });
  }

  const header = [
    'scenario',
    'server',
    'metric',
    'median',
    'vs ws',
    'per CPU-s',
    'vs ws',
    'p50 ms',
    'p99 ms',
    'notes'
  ];
  const rows = [];
  for (const { sc, names, summary } of report) {
    const metric = primaryMetric(sc.kind);
    const base = summary.ws || null;
    names.forEach((name, i) => {
      const s = summary[name];
      const notesCell = [];
      if (s.skipped) notesCell.push('skipped, see note');
      if (s.ok < s.runs)
        notesCell.push(`${s.runs - s.ok}/${s.runs} runs failed`);
      if (s.spread !== null && s.spread > 0.25)
        notesCell.push(`spread ${Math.round(s.spread * 100)}%`);
      if (sc.kind === 'echo' || sc.kind === 'broadcast') {
        if (s.mbps !== null) notesCell.push(`${fmt(s.mbps)} MB/s`);
      }
      if (sc.kind === 'broadcast' && s.broadcastVia)
        notesCell.push(`via ${s.broadcastVia}`);
      if (sc.kind === 'idle' && s.openRate !== null)
        notesCell.push(`opened ${fmt(s.openRate)}/s`);
      if (sc.kind === 'client' && s.rate !== null)
        notesCell.push(`${fmt(s.rate)} msg/s`);
      if (s.loadgenUtil !== null && s.loadgenUtil > 0.9)
        notesCell.push('loadgen-bound?');
      if (s.serverUtil !== null && sc.kind !== 'idle' && sc.kind !== 'client') {
        notesCell.push(`srv ${Math.round(s.serverUtil * 100)}% CPU`);
      }
      rows.push([
        i === 0 ? `${sc.id} ${titleOf(sc, cfg)}` : '',
        name,
        metric.label + (metric.lowerBetter ? ' (lower better)' : ''),
        fmt(s.primary),
        base && name !== 'ws'
          ? fmtRatio(ratio(s.primary, base.primary, metric.lowerBetter))
          : name === 'ws'
            ? '1.00x'
            : 'n/a',
        s.perCpu === null ? 'n/a' : fmt(s.perCpu),
        base && s.perCpu !== null && base.perCpu !== null
          ? fmtRatio(ratio(s.perCpu, base.perCpu, false))
          : 'n/a',
        s.p50 === null ? 'n/a' : fmt(s.p50 / 1000),
        s.p99 === null ? 'n/a' : fmt(s.p99 / 1000),
        notesCell.join('; ')
      ]);
    });
  }
  console.log(
    renderTable(header, rows, [
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
      true,
      false
    ])
  );
  console.log('');
  console.log(
    "vs ws: the median's ratio to ws's median, oriented so that above 1.00x is better than ws. " +
      'per CPU-s: messages (deliveries, connections) per CPU-second of the server process ' +
      '(utime+stime from /proc/<pid>/stat); for i, messages per CPU-second of the client process.'
  );
  for (const { sc, names, summary } of report) {
    for (const name of names) {
      for (const e of summary[name].errors)
        notes.push(`${sc.id} ${name}: ${e.slice(0, 300)}`);
    }
  }
  for (const [key, ids] of skips) {
    const [name, reason] = key.split('\0');
    notes.push(`${name} skipped in ${ids.join(', ')}, ${reason.slice(0, 400)}`);
  }
  if (!serverNames.includes('ws'))
    notes.push('ws was not run: no "vs ws" ratios');
  for (const n of notes) console.log(`note: ${n}`);
  const elapsedMs = Date.now() - t0;
  console.log(`done in ${(elapsedMs / 1000).toFixed(1)} s`);

  if (opts.json) {
    const out = {
      date,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
      cpuModel: (os.cpus()[0] || {}).model || null,
      loadAverage: os.loadavg(),
      versions: {
        ws: pkgVersion('ws'),
        bufferutil: pkgVersion('bufferutil'),
        'utf-8-validate': pkgVersion('utf-8-validate'),
        uws: pkgVersion('@trufflesuite/uws-js-unofficial'),
        'faye-websocket': pkgVersion('faye-websocket')
      },
      config: { quick: opts.quick, ...cfg },
      servers: Object.fromEntries(
        serverNames.map((n) => [n, SERVERS[n].label])
      ),
      scenarios: report.map(({ sc, runs, summary }) => ({
        id: sc.id,
        name: sc.name,
        title: titleOf(sc, cfg),
        kind: sc.kind,
        metric: primaryMetric(sc.kind),
        summary,
        runs
      })),
      notes,
      elapsedMs
    };
    const file = path.resolve(opts.json);
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    console.log(`raw figures written to ${file}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
