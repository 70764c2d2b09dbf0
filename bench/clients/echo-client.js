'use strict';

/*
 * Client-side benchmark (scenario i of bench/e2e.js): one process holding
 * C connections made with wsrs's or ws's WebSocket client, W 64-byte binary
 * messages in flight on each, against an echo server (uWebSockets.js, so
 * that the server is the same for every client). The figure is the client
 * process's own CPU time per message, from /proc/self/stat (utime + stime)
 * at the start and the end of the measured window.
 *
 * Usage: node bench/clients/echo-client.js --impl wsrs|ws --port P
 *   [--conns 32] [--inflight 16] [--size 64] [--warmup 1] [--duration 3]
 *   [--clk-tck 100]
 *
 * For ws without bufferutil, set WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1.
 * Prints one JSON line; stops by itself (hard limit warmup + duration + 15 s).
 */

const fs = require('fs');

/**
 * Parses the command line.
 *
 * @param {String[]} argv The arguments after the script name
 * @return {Object} The options
 */
function parseArgs(argv) {
  const opts = {
    impl: null,
    port: 0,
    conns: 32,
    inflight: 16,
    size: 64,
    warmup: 1,
    duration: 3,
    clkTck: 100
  };
  const numeric = {
    '--port': 'port',
    '--conns': 'conns',
    '--inflight': 'inflight',
    '--size': 'size',
    '--warmup': 'warmup',
    '--duration': 'duration',
    '--clk-tck': 'clkTck'
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--impl') {
      opts.impl = argv[++i];
    } else if (numeric[arg]) {
      opts[numeric[arg]] = Number(argv[++i]);
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  if (opts.impl !== 'wsrs' && opts.impl !== 'ws')
    throw new Error('--impl wsrs|ws');
  for (const key of Object.values(numeric)) {
    if (!(opts[key] >= 0)) throw new Error(`bad --${key}`);
  }
  if (!opts.port) throw new Error('--port is required');
  return opts;
}

/**
 * utime + stime of this process in clock ticks.
 *
 * @return {Number} The ticks
 */
function cpuTicks() {
  const text = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // `fields` starts at field 3 (state); utime and stime are fields 14, 15.
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Runs the benchmark and prints the result.
 */
function main() {
  const opts = parseArgs(process.argv.slice(2));
  const WebSocket = opts.impl === 'wsrs' ? require('../..') : require('ws');
  const payload = Buffer.alloc(opts.size, 0x61);
  const sockets = [];
  const result = {
    impl: opts.impl,
    conns: opts.conns,
    inflight: opts.inflight,
    size: opts.size
  };
  let open = 0;
  let counting = false;
  let stopping = false;
  let done = 0;
  let received = 0;
  let errors = 0;
  const errorSamples = [];

  const fail = (text) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text);
  };
  const finish = () => {
    result.errors = errors;
    result.error_samples = errorSamples;
    result.received = received;
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(errors ? 1 : 0);
  };
  setTimeout(
    () => {
      fail('hard time limit reached');
      finish();
    },
    (opts.warmup + opts.duration + 15) * 1000
  ).unref();

  const start = () => {
    for (const ws of sockets) {
      for (let i = 0; i < opts.inflight; i++) ws.send(payload);
    }
    setTimeout(() => {
      const t0 = process.hrtime.bigint();
      const ticks0 = cpuTicks();
      const usage0 = process.cpuUsage();
      counting = true;
      setTimeout(() => {
        counting = false;
        stopping = true;
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = (cpuTicks() - ticks0) / opts.clkTck;
        const usage = process.cpuUsage(usage0);
        result.window_s = secs;
        result.done = done;
        result.rate = done / secs;
        result.cpu_s = cpu;
        result.cpu_s_cpuusage = (usage.user + usage.system) / 1e6;
        result.cpu_us_per_msg = done ? (cpu * 1e6) / done : null;
        result.msgs_per_cpu_s = cpu ? done / cpu : null;
        let closing = sockets.length;
        for (const ws of sockets) {
          ws.once('close', () => {
            if (--closing === 0) finish();
          });
          ws.close();
        }
        setTimeout(finish, 2000).unref();
      }, opts.duration * 1000);
    }, opts.warmup * 1000);
  };

  for (let i = 0; i < opts.conns; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${opts.port}/`, {
      perMessageDeflate: false
    });
    ws.on('open', () => {
      if (++open === opts.conns) start();
    });
    ws.on('message', (data, isBinary) => {
      received++;
      if (data.length !== opts.size || !isBinary) {
        fail(`echo of ${data.length} bytes (binary ${isBinary})`);
        return;
      }
      if (stopping) return;
      if (counting) done++;
      ws.send(payload);
    });
    ws.on('error', (err) => fail(`socket: ${err.message}`));
    ws.on('close', () => {
      if (!stopping) fail('closed before the end');
    });
    sockets.push(ws);
  }
}

main();
