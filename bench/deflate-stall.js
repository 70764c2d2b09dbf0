'use strict';

/*
 * Does a large compressed message stall the other connections? (issue 18)
 *
 *   node bench/deflate-stall.js [--seconds S] [--servers ws,wsrs,...]
 *
 * One client sends 16 MiB compressible JSON-like text messages, one at a
 * time, to an echo server with permessage-deflate; 100 other clients echo
 * 64 B messages, one in flight each. Reported: the server's event-loop
 * delay (perf_hooks.monitorEventLoopDelay, p50/p99/max) and the small
 * echoes' round-trip times (p50/p99/max) over the run, and how many large
 * messages went round. The clients are ws's, in this process.
 */

const { fork } = require('child_process');
const path = require('path');
const WebSocket = require('ws');

const { option } = require('./deflate-common');

const SECONDS = Number(option('seconds', '5'));
const SERVERS = option('servers', 'ws,wsrs,wsrs-native').split(',');
const SMALL = 100;

const BIG = (() => {
  const parts = [];
  let size = 0;
  for (let i = 0; size < 16 * 1024 * 1024; i++) {
    const part = `{"id":${i},"name":"user-${i % 977}","score":${(i * 7919) % 10007}},`;
    parts.push(part);
    size += part.length;
  }
  return parts.join('').slice(0, 16 * 1024 * 1024);
})();

/**
 * A percentile of sorted numbers.
 *
 * @param {Number[]} sorted The numbers, ascending
 * @param {Number} p The percentile
 * @return {Number}
 */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/**
 * One run against `impl`.
 *
 * @param {String} impl The server
 * @return {Promise<Object>}
 */
async function measure(impl) {
  const child = fork(
    path.join(__dirname, 'deflate-stall', 'server.js'),
    [impl],
    {
      execArgv: process.env.STALL_PROF
        ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.STALL_PROF]
        : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    }
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 60) * 1000);
  const sockets = [];

  try {
    const { port } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) =>
        reject(new Error(`${impl} exited (${code})`))
      );
    });
    const url = `ws://127.0.0.1:${port}`;
    const open = (ws) =>
      new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });

    const big = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    sockets.push(big);
    const small = [];
    for (let i = 0; i < SMALL; i++) {
      const ws = new WebSocket(url);
      small.push(ws);
      sockets.push(ws);
    }
    await Promise.all(sockets.map(open));

    let running = true;
    let bigRounds = 0;
    const rtts = [];

    big.on('message', () => {
      bigRounds++;
      if (running) big.send(BIG);
    });

    for (const ws of small) {
      let sentAt = 0;
      const payload = Buffer.alloc(64, 1);
      ws.on('message', () => {
        rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        if (!running) return;
        sentAt = process.hrtime.bigint();
        ws.send(payload, { compress: false });
      });
      sentAt = process.hrtime.bigint();
      ws.send(payload, { compress: false });
    }

    child.send({ cmd: 'start' });
    big.send(BIG);
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    running = false;
    const loop = await new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ cmd: 'stop' });
    });
    rtts.sort((a, b) => a - b);
    return {
      loop,
      rtt: {
        p50: percentile(rtts, 50),
        p99: percentile(rtts, 99),
        max: rtts[rtts.length - 1]
      },
      echoes: rtts.length,
      bigRounds
    };
  } finally {
    clearTimeout(guard);
    for (const ws of sockets) ws.terminate();
    child.kill();
  }
}

(async () => {
  console.log(
    `one client echoing 16 MiB compressible text, ${SMALL} echoing 64 B, ${SECONDS} s; ms`
  );
  console.log(
    'server        loop p50   loop p99   loop max | echo p50   echo p99   echo max | echoes  16 MiB rounds'
  );
  const f = (n) => n.toFixed(1).padStart(9);
  for (const impl of SERVERS) {
    const r = await measure(impl);
    console.log(
      `${impl.padEnd(12)} ${f(r.loop.p50)}  ${f(r.loop.p99)}  ${f(r.loop.max)} | ` +
        `${f(r.rtt.p50)}  ${f(r.rtt.p99)}  ${f(r.rtt.max)} | ${String(r.echoes).padStart(7)}  ${r.bigRounds}`
    );
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
