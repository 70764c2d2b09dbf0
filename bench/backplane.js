'use strict';

/*
 * Cross-server fan-out benchmark (issue 15): 2 server processes sharing one
 * Redis, 1,000 subscribers split between them, and 1 publisher, 128 B
 * messages. Compared, in one run and interleaved:
 *
 *   wsrs      wsrs with RedisBackplane, wss.publish('room', ...)
 *   ws-loop   ws with the loop its users write: a Redis subscriber per
 *             process that forwards each message to every `wss.clients`
 *   socketio  Socket.IO 4 with @socket.io/redis-adapter, io.to(room).emit
 *
 * The publisher and the subscribers run in this process, closed loop: at
 * most WINDOW messages are out (published and not yet received by every
 * subscriber). Reported: deliveries per second, and deliveries per
 * CPU-second of the two server processes plus redis-server (from
 * /proc/<pid>/stat; this process's own CPU is not counted). Loopback only;
 * every process started here is stopped at the end.
 *
 * Usage: node bench/backplane.js [--reps N] [--seconds S] [--clients N]
 *        [--window N] [--stacks wsrs,ws-loop,socketio]
 */

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const { startRedis } = require('../__test__/fixtures/redis-server');

const args = process.argv.slice(2);

/** The value of a flag, or a default. */
function flag(name, fallback) {
  const i = args.indexOf(`--${name}`);

  return i === -1 ? fallback : args[i + 1];
}

const REPS = Number(flag('reps', 3));
const SECONDS = Number(flag('seconds', 5));
const CLIENTS = Number(flag('clients', 1000));
const STACKS = flag('stacks', 'wsrs,ws-loop,socketio').split(',');
const WINDOW = Number(flag('window', 32));
const WARMUP_MS = 1000;
const SIZE = 128;
const TICKS = 100; // USER_HZ on Linux

/** Resolves after `ms` milliseconds. */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU seconds a process has used so far. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');

  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Starts a fan-out server; resolves to `{ child, port }`. */
async function startServer(stack, url) {
  const script = path.join(
    __dirname,
    'fanout',
    `server-${stack === 'ws-loop' ? 'ws' : stack}.js`
  );
  const child = childProcess.spawn(process.execPath, [script], {
    env: { ...process.env, REDIS_URL: url },
    stdio: ['pipe', 'pipe', 'inherit']
  });
  const lines = readline.createInterface({ input: child.stdout });
  const line = await Promise.race([
    new Promise((resolve) => lines.once('line', resolve)),
    delay(15000).then(() => {
      throw new Error(`${stack} server did not start`);
    })
  ]);

  return { child, port: JSON.parse(line).port };
}

/** The 128 B message with sequence number `seq`. */
function message(seq) {
  return String(seq).padStart(10, '0').padEnd(SIZE, 'x');
}

/** The sequence number of a received message. */
function sequence(data) {
  return typeof data === 'string'
    ? Number(data.slice(0, 10))
    : Number(data.toString('latin1', 0, 10));
}

/** Opens the subscribers; `onMessage(seq)` for each delivery. */
async function connect(stack, ports, onMessage) {
  const sockets = [];

  for (let i = 0; i < CLIENTS; i += 100) {
    const batch = [];

    for (let j = i; j < Math.min(i + 100, CLIENTS); j++) {
      const port = ports[j % ports.length];

      if (stack === 'socketio') {
        const { io } = require('socket.io-client');
        const socket = io(`http://127.0.0.1:${port}`, {
          transports: ['websocket'],
          forceNew: true
        });

        socket.on('m', (data) => onMessage(sequence(data)));
        batch.push(new Promise((resolve) => socket.once('connect', resolve)));
        sockets.push(() => socket.close());
      } else {
        const WebSocket = require('ws');
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);

        ws.on('message', (data) => onMessage(sequence(data)));
        batch.push(
          new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
          })
        );
        sockets.push(() => ws.terminate());
      }
    }
    await Promise.all(batch);
  }

  return () => sockets.forEach((close) => close());
}

/** A publisher of the stack's own kind; resolves to `{ send, close }`. */
async function publisher(stack, url) {
  if (stack === 'wsrs') {
    const { WebSocketServer } = require('..');
    const { RedisBackplane } = require('../lib/backplane/redis');
    const backplane = new RedisBackplane({ url });
    const wss = new WebSocketServer({ noServer: true, backplane });

    if (!backplane.isUp)
      await new Promise((resolve) => backplane.once('up', resolve));
    return {
      send: (text) => wss.publish('room', text),
      close: () => wss.close()
    };
  }

  const { createClient } = require('redis');
  const pub = createClient({ url });

  pub.on('error', () => {});
  await pub.connect();

  if (stack === 'ws-loop') {
    return {
      send: (text) => pub.publish('room', text),
      close: () => pub.close()
    };
  }

  const { Server } = require('socket.io');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const sub = pub.duplicate();

  sub.on('error', () => {});
  await sub.connect();

  const io = new Server({ adapter: createAdapter(pub, sub) });

  return {
    send: (text) => io.to('room').emit('m', text),
    close: () => {
      // Never attached to an HTTP server, so there is no engine to close.
      io.of('/').adapter.close();
      sub.close();
      pub.close();
    }
  };
}

/** One run of one stack; resolves to its figures. */
async function run(stack, redis) {
  const servers = [
    await startServer(stack, redis.url),
    await startServer(stack, redis.url)
  ];
  const pub = await publisher(stack, redis.url);
  const remaining = new Map();
  let next = 0;
  let deliveries = 0;
  let pumping = true;

  const pump = () => {
    while (pumping && remaining.size < WINDOW) {
      remaining.set(next, CLIENTS);
      pub.send(message(next++));
    }
  };
  const closeClients = await connect(
    stack,
    servers.map((s) => s.port),
    (seq) => {
      deliveries++;

      const left = remaining.get(seq) - 1;

      if (left > 0) {
        remaining.set(seq, left);
      } else {
        remaining.delete(seq);
        pump();
      }
    }
  );

  // Let every subscription reach Redis before the first message.
  await delay(500);
  pump();
  await delay(WARMUP_MS);

  const pids = [...servers.map((s) => s.child.pid), redis.child.pid];
  const cpu0 = pids.map(cpuSeconds);
  const d0 = deliveries;
  const t0 = process.hrtime.bigint();

  await delay(SECONDS * 1000);

  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = pids.map(cpuSeconds).reduce((sum, c, i) => sum + c - cpu0[i], 0);
  const delivered = deliveries - d0;

  pumping = false;
  closeClients();
  pub.close();
  for (const s of servers) s.child.kill('SIGKILL');
  await delay(300);

  return { perSecond: delivered / elapsed, perCpuSecond: delivered / cpu, cpu };
}

/** The median of some numbers. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);

  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const redis = await startRedis();
  const results = Object.fromEntries(STACKS.map((s) => [s, []]));

  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const stack of STACKS) {
        const r = await run(stack, redis);

        results[stack].push(r);
        console.error(
          `rep ${rep + 1} ${stack}: ${Math.round(r.perSecond)} deliveries/s, ` +
            `${Math.round(r.perCpuSecond)} per CPU-s (servers + redis, ${r.cpu.toFixed(2)} CPU-s)`
        );
      }
    }
  } finally {
    await redis.stop();
  }

  const base = median(results[STACKS[0]].map((r) => r.perCpuSecond));

  console.log(
    `\nfan-out across 2 servers on Redis: ${CLIENTS} subscribers, ${SIZE} B, ` +
      `${WINDOW} in flight, ${SECONDS} s x ${REPS} (medians)\n`
  );
  console.log(
    '| stack | deliveries/s | deliveries per CPU-s | wsrs vs it (per CPU-s) |'
  );
  console.log('|---|---|---|---|');
  for (const stack of STACKS) {
    const perSecond = median(results[stack].map((r) => r.perSecond));
    const perCpu = median(results[stack].map((r) => r.perCpuSecond));

    console.log(
      `| ${stack} | ${Math.round(perSecond).toLocaleString('en-US')} | ` +
        `${Math.round(perCpu).toLocaleString('en-US')} | ${(base / perCpu).toFixed(2)}x |`
    );
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
