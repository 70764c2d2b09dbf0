'use strict';

// npm run test:stress: a wsrs server under hostile load, on 127.0.0.1 only.
//
// This process runs the server (an echo server with the limits of
// docs/security.md tightened so that every attack crosses one). Worker
// processes keep CLIENTS connections open between them for the attack
// phase; each connection does one thing from a random mix: valid traffic,
// garbage bytes (after or instead of the handshake), truncated frames,
// oversized lengths, compression bombs, invalid UTF-8, fragment floods,
// ping floods that never read the pongs, slow-loris handshakes and abrupt
// disconnects; when it ends, a new one takes its place. Throughout, a
// probe process sends messages on a well-behaved connection and checks
// every echo. A warm-up runs the same mix first; then the RSS is taken
// with no client connected. At the end every client leaves, and the run
// fails unless the probe saw no error, `wss.clients.size` is back to 0
// and the RSS is within RSS_MARGIN of the RSS after warm-up (measured
// with glibc's dynamic mmap threshold off, see below).
//
//   node scripts/stress.js [--clients 2000] [--seconds 90] [--workers 4] [--native 1]
//
// Every process stops by itself: the workers and the probe after the
// attack phase, this process after a hard limit of the run's length plus
// 90 seconds.

const { fork, spawnSync } = require('child_process');
const crypto = require('crypto');
const http = require('http');
const net = require('net');
const zlib = require('zlib');

const HOST = '127.0.0.1';
// The warm-up runs the same hostile mix at full concurrency, so that the
// allocators reach their working size before the reference RSS is taken.
const WARMUP_MS = 20000;
const DRAIN_LIMIT_MS = 45000;
const MAX_PAYLOAD = 1 << 20;
const MAX_FRAGMENTS = 1024;
// The RSS at the end may exceed the RSS after warm-up by this much.
const RSS_MARGIN = 48 << 20;

const KINDS = [
  // [name, weight]
  ['valid', 20],
  ['garbage', 8],
  ['garbage-http', 5],
  ['truncated', 8],
  ['oversized', 8],
  ['bomb', 6],
  ['bad-utf8', 6],
  ['fragments', 5],
  ['ping-flood', 6],
  ['slow-loris', 8],
  ['abrupt', 10]
];

/**
 * Parses `--name value` pairs.
 *
 * @return {Object} The options
 */
function options() {
  const o = { clients: 2000, seconds: 90, workers: 4, native: 0 };
  const argv = process.argv.slice(2);

  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in o)) throw new Error(`unknown option ${argv[i]}`);
    o[key] = Number(argv[i + 1]);
  }
  return o;
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

// ---------------------------------------------------------------- server

/**
 * Raises the open file limit for this process and its children by running
 * again under `ulimit -n`, when the soft limit is too low and the hard one
 * allows more.
 *
 * @param {Number} needed File descriptors wanted
 * @return {Boolean} `true` if the run was handed to a new process
 */
function ensureFileLimit(needed) {
  if (process.env.WSRS_STRESS_ULIMIT) return false;
  const sh = (flag) =>
    spawnSync('sh', ['-c', `ulimit ${flag}`], {
      encoding: 'utf8'
    }).stdout.trim();
  const soft = sh('-Sn');
  const hard = sh('-Hn');

  if (soft === 'unlimited' || Number(soft) >= needed) return false;
  if (hard !== 'unlimited' && Number(hard) < needed) {
    console.error(
      `ulimit -n is ${soft} (hard ${hard}); ${needed} file descriptors are needed`
    );
    process.exit(1);
  }

  console.log(`raising ulimit -n from ${soft} to ${needed}`);
  const child = spawnSync(
    'sh',
    [
      '-c',
      `ulimit -n ${needed} && exec "$0" "$@"`,
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1)
    ],
    { stdio: 'inherit', env: { ...process.env, WSRS_STRESS_ULIMIT: '1' } }
  );
  process.exit(child.status === null ? 1 : child.status);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The RSS after full garbage collections. Node-API finalizers (which free
 * the native parsers and codecs) run after a GC, from the event loop, so
 * the loop gets turns between the collections.
 *
 * @return {Promise<Number>} The RSS in bytes
 */
async function settledRss() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await sleep(200);
  }
  return process.memoryUsage().rss;
}

/**
 * Forks this script in another role and collects its messages.
 *
 * @param {String} role `'worker'` or `'probe'`
 * @param {Object} config Sent as the first message
 * @return {Object} `{ child, done }`; `done` resolves with its last report
 */
function spawnRole(role, config) {
  const child = fork(__filename, [role], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  });
  let report = null;
  const done = new Promise((resolve) => {
    child.on('message', (m) => {
      if (m.type === 'report') report = m.report;
    });
    child.on('exit', (code) => resolve({ code, report }));
  });

  child.send({ type: 'start', config });
  return { child, done };
}

async function orchestrate() {
  const o = options();
  ensureFileLimit(o.clients * 2 + 1024);

  if (!global.gc) {
    // Run again with --expose-gc, so that RSS is measured after a full GC,
    // and with glibc's dynamic mmap threshold turned off: by default glibc
    // raises the threshold as large blocks are freed and then keeps freed
    // memory, so RSS stays near its high-water mark (1,000 hostile
    // connections left about 170 MiB behind) and would hide a leak as
    // well as fake one. With a fixed threshold, blocks of 64 KiB and more
    // (zlib's windows, large messages) go back to the system when freed,
    // and RSS follows live memory. Other C libraries ignore the variable.
    const env = { ...process.env };
    if (!env.GLIBC_TUNABLES) {
      env.GLIBC_TUNABLES =
        'glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=1048576';
    }
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', ...process.argv.slice(1)],
      {
        stdio: 'inherit',
        env
      }
    );
    process.exit(child.status === null ? 1 : child.status);
  }

  const hardLimit = setTimeout(
    () => {
      console.error('stress: hard time limit reached');
      process.exit(1);
    },
    (o.seconds + 90) * 1000 + WARMUP_MS
  );
  hardLimit.unref();

  const WebSocketServer = require('../lib/websocket-server');
  // Node's handshake timeouts, shortened so that the slow-loris clients of
  // this run are dropped within it (the defaults are 60 s / 300 s).
  const server = http.createServer({
    headersTimeout: 5000,
    requestTimeout: 10000,
    connectionsCheckingInterval: 1000
  });
  // `--native 1`: the same server on the native engine (Rust owns the
  // port; its own handshake timeout plays the part of Node's).
  const wss = new WebSocketServer({
    ...(o.native
      ? { port: 0, host: HOST, engine: 'native', handshakeTimeout: 5000 }
      : { server }),
    perMessageDeflate: true,
    maxPayload: MAX_PAYLOAD,
    maxFragments: MAX_FRAGMENTS,
    closeTimeout: 5000
  });
  const serverErrors = {};
  let accepted = 0;
  let peak = 0;

  wss.on('connection', (ws) => {
    accepted++;
    peak = Math.max(peak, wss.clients.size);
    ws.on('error', (err) => {
      serverErrors[err.code] = (serverErrors[err.code] || 0) + 1;
    });
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  if (o.native) await new Promise((resolve) => wss.once('listening', resolve));
  else await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { port } = o.native ? wss.address() : server.address();
  const started = Date.now();

  console.log(
    `stress: ${o.clients} concurrent client connections from ${o.workers} worker processes, ` +
      `${WARMUP_MS / 1000} s of warm-up then ${o.seconds} s of attack (127.0.0.1:${port})`
  );
  console.log(`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES || ''}`);

  const rssStart = await settledRss();
  const probe = spawnRole('probe', {
    port,
    seconds: WARMUP_MS / 1000 + o.seconds + (2 * DRAIN_LIMIT_MS) / 1000
  });
  const attackers = (seconds, seed) =>
    Array.from({ length: o.workers }, (_, i) =>
      spawnRole('worker', {
        port,
        clients: Math.ceil(o.clients / o.workers),
        seconds,
        kinds: KINDS,
        seed: seed + i
      })
    );
  // Waits until only `keep` clients (the probe) are left.
  const drain = async (keep) => {
    const from = Date.now();
    while (wss.clients.size > keep && Date.now() - from < DRAIN_LIMIT_MS)
      await sleep(250);
    await sleep(1000);
  };

  // Warm-up: the same mix, shorter; then quiet, for the reference RSS.
  const warm = await Promise.all(
    attackers(WARMUP_MS / 1000, 1).map((w) => w.done)
  );
  await drain(1);
  const rssWarm = await settledRss();
  const memWarm = process.memoryUsage();
  console.log(
    `warm-up done: RSS ${mib(rssWarm)} (${mib(rssStart)} before it), ` +
      `${wss.clients.size} clients left, ${warm.length} workers`
  );

  const workers = attackers(o.seconds, 1000);

  const ticker = setInterval(() => {
    console.log(
      `  t+${Math.round((Date.now() - started) / 1000)} s: ${wss.clients.size} server-side clients, ` +
        `RSS ${mib(process.memoryUsage().rss)}`
    );
  }, 15000);

  const results = await Promise.all(workers.map((w) => w.done));
  probe.child.send({ type: 'stop' });
  const probeResult = await probe.done;
  clearInterval(ticker);

  // Drain: every client has left; wait for the server to notice.
  await drain(0);
  const leftover = wss.clients.size;
  const rssEnd = await settledRss();
  const memEnd = process.memoryUsage();

  wss.close();
  server.close();
  server.closeAllConnections();

  // Figures.
  const total = { opened: 0, byKind: {}, outcomes: {} };
  for (const { report } of results) {
    if (!report) continue;
    total.opened += report.opened;
    for (const [k, n] of Object.entries(report.byKind))
      total.byKind[k] = (total.byKind[k] || 0) + n;
    for (const [k, m] of Object.entries(report.outcomes)) {
      const into = (total.outcomes[k] = total.outcomes[k] || {});
      for (const [what, n] of Object.entries(m))
        into[what] = (into[what] || 0) + n;
    }
  }

  console.log(
    `\nconnections: ${total.opened} opened by the attackers; ${accepted} upgraded by the server ` +
      `in all (warm-up and probe included), at most ${peak} at once`
  );
  console.log(
    'bad inputs tried, by kind (and how each ended, as the client saw it):'
  );
  for (const [kind] of KINDS) {
    const outcomes = Object.entries(total.outcomes[kind] || {})
      .sort((a, b) => b[1] - a[1])
      .map(([what, n]) => `${what} ${n}`)
      .join(', ');
    console.log(
      `  ${kind.padEnd(13)} ${String(total.byKind[kind] || 0).padStart(7)}  ${outcomes}`
    );
  }
  console.log(
    'errors the server reported: ' +
      Object.entries(serverErrors)
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')
  );

  const p = probeResult.report || {
    roundTrips: 0,
    errors: ['no report'],
    p50: 0,
    p99: 0,
    max: 0
  };
  console.log(
    `probe: ${p.roundTrips} round trips, ${p.errors.length} errors, ` +
      `latency p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`
  );
  for (const e of p.errors.slice(0, 10)) console.log(`  probe error: ${e}`);

  const drift = rssEnd - rssWarm;
  console.log(
    `RSS: after warm-up ${mib(rssWarm)}, at the end ${mib(rssEnd)}, drift ${drift >= 0 ? '+' : ''}${mib(drift)} ` +
      `(allowed +${mib(RSS_MARGIN)})`
  );
  console.log(
    `  JS heap used ${mib(memWarm.heapUsed)} -> ${mib(memEnd.heapUsed)} ` +
      `(of ${mib(memWarm.heapTotal)} -> ${mib(memEnd.heapTotal)}), ` +
      `external ${mib(memWarm.external)} -> ${mib(memEnd.external)}, ` +
      `array buffers ${mib(memWarm.arrayBuffers)} -> ${mib(memEnd.arrayBuffers)}`
  );
  console.log(`wss.clients.size at the end: ${leftover}`);
  console.log(`time: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const checks = [
    ['probe saw no error', p.errors.length === 0 && p.roundTrips > 0],
    ['no leaked connection', leftover === 0],
    ['RSS within the margin', drift <= RSS_MARGIN],
    ['every worker finished', results.every((r) => r.code === 0 && r.report)]
  ];
  let failed = 0;
  for (const [name, ok] of checks) {
    if (!ok) {
      failed++;
      console.log(`FAILED: ${name}`);
    }
  }
  console.log(`stress: ${checks.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

// ---------------------------------------------------------------- attackers

/** A seeded generator (xorshift32), so a worker's mix is reproducible. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return {
    below: (n) => next() % n,
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    }
  };
}

/**
 * A masked client frame.
 *
 * @param {Number} first The first byte (FIN, RSV, opcode)
 * @param {Buffer} payload The payload
 * @param {Number} [claimed] The length to write in the header, when it
 *     must differ from the payload's
 * @return {Buffer} The frame
 */
function frame(first, payload, claimed = payload.length) {
  let head;
  if (claimed < 126) {
    head = Buffer.from([first, 0x80 | claimed]);
  } else if (claimed < 65536) {
    head = Buffer.from([first, 0x80 | 126, claimed >> 8, claimed & 0xff]);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(claimed), 2);
  }
  const key = crypto.randomBytes(4);
  const body = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

function upgradeRequest(deflate) {
  return (
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '') +
    '\r\n'
  );
}

/** The close code in the first close frame of what the server sent. */
function closeCode(data) {
  let at = 0;
  while (at + 2 <= data.length) {
    let len = data[at + 1] & 0x7f;
    let start = at + 2;
    if (len === 126) {
      if (at + 4 > data.length) return null;
      len = data.readUInt16BE(at + 2);
      start += 2;
    } else if (len === 127) {
      if (at + 10 > data.length) return null;
      len = Number(data.readBigUInt64BE(at + 2));
      start += 8;
    }
    if ((data[at] & 0x0f) === 8)
      return len >= 2 && start + 2 <= data.length
        ? data.readUInt16BE(start)
        : 1005;
    at = start + len;
  }
  return null;
}

async function attack(config) {
  const WebSocket = require('../lib/websocket');
  const r = rng(config.seed);
  const weights = config.kinds;
  const sum = weights.reduce((a, [, w]) => a + w, 0);
  const report = { opened: 0, byKind: {}, outcomes: {} };
  const bomb = (() => {
    const z = zlib.deflateRawSync(Buffer.alloc(16 << 20), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH
    });
    return z.subarray(0, z.length - 4);
  })();
  const deadline = Date.now() + config.seconds * 1000;
  const live = new Set();
  let active = 0;
  let leaving = false;

  const pick = () => {
    let n = r.below(sum);
    for (const [name, w] of weights) {
      if (n < w) return name;
      n -= w;
    }
    return weights[0][0];
  };
  const note = (kind, what) => {
    const m = (report.outcomes[kind] = report.outcomes[kind] || {});
    m[what] = (m[what] || 0) + 1;
  };

  /** A raw connection; resolves when it is closed, with how it ended. */
  const raw = (kind) =>
    new Promise((resolve) => {
      const socket = net.connect(config.port, HOST);
      let data = Buffer.alloc(0);
      let upgraded = false;
      let status = null;
      let ended = null;
      const timers = [];
      const later = (ms, fn) => timers.push(setTimeout(fn, ms));
      const finish = (what) => {
        if (ended === null) ended = what;
      };

      live.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {});
      socket.on('close', () => {
        timers.forEach(clearTimeout);
        live.delete(socket);
        if (ended === null) {
          const code = upgraded ? closeCode(data) : null;
          if (status !== null && !upgraded) ended = `http ${status}`;
          else if (code !== null) ended = `close ${code}`;
          else if (leaving) ended = 'open at the end';
          else ended = 'closed without a close frame';
        }
        resolve(ended);
      });

      const onUpgrade = (fn) => {
        socket.on('data', (chunk) => {
          if (upgraded) {
            if (data.length < 4096) data = Buffer.concat([data, chunk]);
            return;
          }
          data = Buffer.concat([data, chunk]);
          const end = data.indexOf('\r\n\r\n');
          if (end === -1) return;
          status = Number(data.toString('latin1', 9, 12));
          if (status !== 101) {
            socket.destroy();
            return;
          }
          upgraded = true;
          const head = data.toString('latin1', 0, end);
          data = data.subarray(end + 4);
          fn(/permessage-deflate/i.test(head));
        });
      };
      // Wait for the server to end it; then give up.
      const awaitClose = (ms = 8000) =>
        later(ms, () => {
          finish('still open, closed by client');
          socket.destroy();
        });

      socket.on('connect', () => {
        switch (kind) {
          case 'garbage-http':
            onUpgrade(() => {});
            socket.write(r.bytes(1 + r.below(3000)));
            awaitClose();
            break;
          case 'slow-loris': {
            onUpgrade(() => {});
            const lines = [
              'GET / HTTP/1.1\r\n',
              'Host: 127.0.0.1\r\n',
              'Upgrade: websocket\r\n'
            ];
            let i = 0;
            const drip = () => {
              if (socket.destroyed || Date.now() > deadline) {
                finish('still open, closed by client');
                socket.destroy();
                return;
              }
              socket.write(lines[i] || `x-slow-${i}: ${i}\r\n`);
              i++;
              later(700 + r.below(600), drip);
            };
            drip();
            break;
          }
          default:
            onUpgrade((deflate) =>
              misbehave(kind, socket, deflate, later, awaitClose, finish)
            );
            socket.write(upgradeRequest(kind === 'bomb'));
            awaitClose(15000);
        }
      });
    });

  const misbehave = (kind, socket, deflate, later, awaitClose, finish) => {
    switch (kind) {
      case 'garbage': {
        socket.write(r.bytes(1 + r.below(4000)));
        awaitClose();
        break;
      }
      case 'truncated': {
        const whole = frame(0x82, r.bytes(2000));
        socket.write(whole.subarray(0, 14 + r.below(1000)));
        later(500 + r.below(3000), () => {
          finish('truncated, closed by client');
          socket.destroy();
        });
        break;
      }
      case 'oversized': {
        const claimed = [MAX_PAYLOAD + 1 + r.below(1 << 20), 2 ** 40, 2 ** 60][
          r.below(3)
        ];
        socket.write(frame(0x82, r.bytes(100), claimed).subarray(0, 114));
        awaitClose();
        break;
      }
      case 'bomb':
        if (!deflate) {
          finish('deflate refused');
          socket.destroy();
          break;
        }
        socket.write(frame(0xc2, bomb));
        awaitClose();
        break;
      case 'bad-utf8':
        socket.write(frame(0x81, Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62])));
        awaitClose();
        break;
      case 'fragments': {
        const parts = [frame(0x01, Buffer.from('a'))];
        for (let i = 0; i < MAX_FRAGMENTS + 10; i++)
          parts.push(frame(0x00, Buffer.alloc(0)));
        socket.write(Buffer.concat(parts));
        awaitClose();
        break;
      }
      case 'ping-flood': {
        // Pings without reading the pongs; read again a second later to
        // see whether the server terminated the connection (no close
        // frame) or answered them all.
        socket.pause();
        const pings = [];
        for (let i = 0; i < 200; i++)
          pings.push(frame(0x89, Buffer.from(`ping ${i}`)));
        socket.write(Buffer.concat(pings));
        later(1000, () => socket.resume());
        later(4000, () => {
          finish('survived, closed by client');
          socket.destroy();
        });
        break;
      }
      case 'abrupt': {
        const whole = frame(0x82, r.bytes(500));
        socket.write(whole.subarray(0, r.below(whole.length)));
        later(r.below(300), () => {
          finish('reset by client');
          if (typeof socket.resetAndDestroy === 'function')
            socket.resetAndDestroy();
          else socket.destroy();
        });
        break;
      }
      default:
        socket.destroy();
    }
  };

  /** A valid client; resolves with how it ended. */
  const valid = () =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://${HOST}:${config.port}`, {
        perMessageDeflate: r.below(2) === 0
      });
      let sent = [];
      let mismatches = 0;
      let timer = null;
      const lifetime = 1000 + r.below(4000);

      live.add(ws);
      ws.on('error', () => {});
      ws.on('open', () => {
        const tick = () => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const binary = r.below(2) === 0;
          const data = binary
            ? r.bytes(1 + r.below(2000))
            : 'x'.repeat(1 + r.below(2000));
          sent.push(binary ? data : Buffer.from(data));
          ws.send(data, { binary });
          timer = setTimeout(tick, 50 + r.below(400));
        };
        tick();
        setTimeout(() => ws.close(1000), lifetime);
      });
      ws.on('message', (data) => {
        const want = sent.shift();
        if (!want || !want.equals(data)) mismatches++;
      });
      ws.on('close', (code) => {
        clearTimeout(timer);
        live.delete(ws);
        sent = [];
        if (mismatches) resolve(`ECHO MISMATCH x${mismatches}`);
        else
          resolve(
            leaving && code === 1006 ? 'open at the end' : `close ${code}`
          );
      });
    });

  const startOne = () => {
    const kind = pick();
    active++;
    report.opened++;
    report.byKind[kind] = (report.byKind[kind] || 0) + 1;
    (kind === 'valid' ? valid() : raw(kind)).then((what) => {
      note(kind, what);
      active--;
    });
  };

  // Keep `clients` connections going, opening at most 50 per 20 ms.
  while (Date.now() < deadline) {
    let opened = 0;
    while (active < config.clients && opened < 50) {
      startOne();
      opened++;
    }
    await sleep(20);
  }

  // Leave: close what is still open, abruptly or not, then wait for it.
  leaving = true;
  for (const c of live) {
    if (c instanceof net.Socket) c.destroy();
    else c.terminate();
  }
  const leave = Date.now();
  while (active > 0 && Date.now() - leave < 10000) await sleep(50);
  return report;
}

// ---------------------------------------------------------------- probe

async function runProbe(config) {
  const WebSocket = require('../lib/websocket');
  const errors = [];
  const latencies = [];
  let roundTrips = 0;

  const ws = new WebSocket(`ws://${HOST}:${config.port}`, {
    perMessageDeflate: true
  });
  let deadline = Date.now() + config.seconds * 1000;
  let pending = null;

  // The orchestrator says when to stop; `seconds` is only a safety limit.
  process.on('message', (m) => {
    if (m.type === 'stop') deadline = 0;
  });

  await new Promise((resolve) => {
    ws.on('open', resolve);
    ws.on('error', (err) => {
      errors.push(`error: ${err.message}`);
      resolve();
    });
  });

  const check = setInterval(() => {
    if (pending && Date.now() - pending.at > 5000) {
      errors.push(`no echo within 5 s (message ${roundTrips})`);
      pending = null;
    }
  }, 500);

  ws.on('message', (data) => {
    if (!pending) {
      errors.push('an echo nobody asked for');
      return;
    }
    if (!pending.data.equals(data))
      errors.push(`wrong echo for message ${roundTrips}`);
    latencies.push(Date.now() - pending.at);
    roundTrips++;
    pending = null;
  });
  ws.on('close', (code) => {
    if (deadline !== 0) errors.push(`closed early with ${code}`);
  });

  while (Date.now() < deadline && ws.readyState === WebSocket.OPEN) {
    if (!pending) {
      const data = crypto.randomBytes(16 + Math.floor(Math.random() * 1024));
      pending = { data, at: Date.now() };
      ws.send(data);
    }
    await sleep(20);
  }
  await sleep(200);
  clearInterval(check);
  ws.close();

  latencies.sort((a, b) => a - b);
  const q = (f) =>
    latencies[
      Math.min(latencies.length - 1, Math.floor(f * latencies.length))
    ] || 0;
  return {
    roundTrips,
    errors,
    p50: q(0.5),
    p99: q(0.99),
    max: latencies[latencies.length - 1] || 0
  };
}

// ---------------------------------------------------------------- roles

const role = process.argv[2];

if (role === 'worker' || role === 'probe') {
  process.once('message', async (m) => {
    // Bounded on its own as well.
    setTimeout(() => process.exit(2), (m.config.seconds + 60) * 1000).unref();
    const report =
      role === 'worker' ? await attack(m.config) : await runProbe(m.config);
    process.send({ type: 'report', report }, () => process.exit(0));
  });
} else {
  orchestrate().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
