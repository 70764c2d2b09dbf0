'use strict';

/*
 * Server memory per connection with permessage-deflate (issue 18).
 *
 *   node bench/deflate-memory.js [--conns N] [--servers a,b] [--modes m,n]
 *     [--verbose]
 *
 * --verbose also prints each run's JS heap and external memory growth.
 *
 * For each server and mode, a fresh server process (./deflate-memory/
 * server.js) serves N connections from raw loopback clients. Each client
 * offers what ws's client offers (`permessage-deflate;
 * client_max_window_bits`), sends one 1 KiB JSON text message compressed as
 * a browser would, waits for the echo, and is then held open. The figure is
 * the server's RSS growth per connection, after two full collections,
 * against the same server before the connections (and after a warm-up of 20
 * connections, opened and closed, so that one-time allocations are out of
 * the figure). Modes: none (no deflate), default (the server's default
 * deflate options), nct (serverNoContextTakeover and
 * clientNoContextTakeover).
 *
 * The clients are raw sockets that compress their one message once, in
 * advance, and never inflate: they cost the measuring process little, and
 * nothing of them is in the server's figure.
 */

const { fork } = require('child_process');
const crypto = require('crypto');
const net = require('net');
const path = require('path');
const zlib = require('zlib');

const args = process.argv.slice(2);
const { JSON_MESSAGE, option } = require('./deflate-common');

const CONNS = Number(option('conns', '2000'));
const SERVERS = option('servers', 'ws,wsrs,wsrs-native,uws').split(',');
const MODES = option('modes', 'none,default,nct').split(',');
const PARALLEL = 64;
const VERBOSE = args.includes('--verbose');

const MESSAGE = JSON_MESSAGE;

// The message as the client sends it: raw deflate, sync flush, tail off.
const COMPRESSED = (() => {
  const out = zlib.deflateRawSync(MESSAGE, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH
  });
  return out.subarray(0, out.length - 4);
})();

/**
 * A masked client frame.
 *
 * @param {Buffer} payload The payload
 * @param {Boolean} rsv1 Whether it is compressed
 * @return {Buffer}
 */
function frame(payload, rsv1) {
  const mask = crypto.randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? 2 : 4;
  const buf = Buffer.alloc(head + 4 + len);

  buf[0] = 0x81 | (rsv1 ? 0x40 : 0);
  if (len < 126) {
    buf[1] = 0x80 | len;
  } else {
    buf[1] = 0x80 | 126;
    buf.writeUInt16BE(len, 2);
  }
  mask.copy(buf, head);
  for (let i = 0; i < len; i++) buf[head + 4 + i] = payload[i] ^ mask[i & 3];
  return buf;
}

/**
 * Opens one connection, exchanges the message, and resolves with the
 * socket once the echo is in.
 *
 * @param {Number} port The server's port
 * @return {Promise<net.Socket>}
 */
function client(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('a client got no echo within 10 s'));
    }, 10000);

    socket.on('connect', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
          'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Key: ${key}\r\n` +
          'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n'
      );
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.toString('latin1', 0, end);
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
          socket.destroy();
          return;
        }
        upgraded = true;
        const deflate = /permessage-deflate/i.test(head);
        buffered = buffered.subarray(end + 4);
        socket.write(
          deflate ? frame(COMPRESSED, true) : frame(Buffer.from(MESSAGE), false)
        );
      }
      if (buffered.length < 2) return;
      let len = buffered[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buffered.length < 4) return;
        len = buffered.readUInt16BE(2);
        at = 4;
      }
      if (buffered.length < at + len) return;
      clearTimeout(timer);
      buffered = Buffer.alloc(0);
      resolve(socket);
    });
  });
}

/**
 * Opens `n` connections, `PARALLEL` at a time.
 *
 * @param {Number} port The server's port
 * @param {Number} n How many
 * @return {Promise<net.Socket[]>}
 */
async function open(port, n) {
  const sockets = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      sockets.push(await client(port));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return sockets;
}

/**
 * Asks the server for its RSS.
 *
 * @param {ChildProcess} child The server
 * @return {Promise<Number>}
 */
function rss(child) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ cmd: 'rss' });
  });
}

/**
 * One server, one mode: KiB of RSS per held connection.
 *
 * @param {String} impl The server
 * @param {String} mode The deflate mode
 * @return {Promise<Number>}
 */
async function measure(impl, mode) {
  const child = fork(
    path.join(__dirname, 'deflate-memory', 'server.js'),
    [impl, mode],
    {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    }
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), 120000);

  try {
    const { port } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) =>
        reject(new Error(`${impl} exited (${code})`))
      );
    });
    const warm = await open(port, 20);

    for (const s of warm) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const before = await rss(child);
    const sockets = await open(port, CONNS);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await rss(child);

    for (const s of sockets) s.destroy();
    const per = (name) => (after[name] - before[name]) / CONNS / 1024;
    if (VERBOSE) {
      console.log(
        `  ${impl} ${mode}: JS heap ${per('heap').toFixed(2)}, external ` +
          `${per('external').toFixed(2)} KiB/conn`
      );
    }
    return per('rss');
  } finally {
    clearTimeout(guard);
    child.kill();
  }
}

(async () => {
  console.log(
    `server RSS growth per connection, ${CONNS} connections, one 1 KiB ` +
      'JSON message each way, then held (KiB/conn)'
  );
  console.log(
    ['server'.padEnd(12), ...MODES.map((m) => m.padStart(9))].join(' ')
  );
  for (const impl of SERVERS) {
    const row = [impl.padEnd(12)];
    for (const mode of MODES) {
      const kib = await measure(impl, mode);
      row.push(kib.toFixed(2).padStart(9));
    }
    console.log(row.join(' '));
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
