'use strict';

// Every resource limit (docs/security.md), crossed on purpose: each test
// checks the error code and the close code the limit produces, and that
// the server keeps serving other clients afterwards.

const assert = require('node:assert');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');
const { kStatusCode } = require('../lib/constants');

const HOST = '127.0.0.1';
const LIMIT = { timeout: 10000 };

/** Starts a server on an ephemeral loopback port. */
async function listen(options = {}) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...options });
  await once(wss, 'listening');
  return wss;
}

function shutdown(wss) {
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** Resolves with the first `'connection'` socket of a server. */
function nextConnection(wss) {
  return once(wss, 'connection').then(([ws]) => ws);
}

/**
 * Resolves with `{ error, code }`: the first error a server-side socket
 * emits (if any) and the code of its `'close'` event.
 */
function outcome(ws) {
  return new Promise((resolve) => {
    let error = null;
    ws.on('error', (err) => {
      if (error === null) error = err;
    });
    ws.on('close', (code) => resolve({ error, code }));
  });
}

/** A round trip through a fresh, well-behaved client. */
async function echoes(wss) {
  const onConnection = (ws) =>
    ws.on('message', (d, b) => ws.send(d, { binary: b }));
  wss.on('connection', onConnection);
  const ws = new WebSocket(`ws://${HOST}:${wss.address().port}`);
  await once(ws, 'open');
  ws.send('still serving');
  const [data] = await once(ws, 'message');
  ws.close();
  await once(ws, 'close');
  wss.off('connection', onConnection);
  return String(data);
}

/** One frame as a client sends it (masked unless `mask: false`). */
function frame(opcode, payload, { fin = true, mask = true } = {}) {
  const data = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | opcode];
  const bit = mask ? 0x80 : 0;

  if (data.length < 126) head.push(bit | data.length);
  else head.push(bit | 126, data.length >> 8, data.length & 0xff);

  if (!mask) return Buffer.concat([Buffer.from(head), data]);

  const key = crypto.randomBytes(4);
  const body = Buffer.from(data.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** Frames the server sent (it never masks): `{ opcode, payload }`. */
function serverFrames(buf) {
  const frames = [];
  let at = 0;

  while (at + 2 <= buf.length) {
    let len = buf[at + 1] & 0x7f;
    let start = at + 2;

    if (len === 126) {
      if (at + 4 > buf.length) break;
      len = buf.readUInt16BE(at + 2);
      start = at + 4;
    }
    if (start + len > buf.length) break;
    frames.push({
      opcode: buf[at] & 0x0f,
      payload: buf.subarray(start, start + len)
    });
    at = start + len;
  }
  return frames;
}

/**
 * A hand-made client: completes the handshake and collects what the
 * server sends after the 101 in `received`.
 */
async function rawClient(port) {
  const socket = net.connect(port, HOST);
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`
  );

  const client = { socket, received: Buffer.alloc(0) };
  let head = Buffer.alloc(0);

  await new Promise((resolve) => {
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      client.received = head.subarray(end + 4);
      socket.on('data', (more) => {
        client.received = Buffer.concat([client.received, more]);
      });
      resolve();
    };
    socket.on('data', onData);
  });
  return client;
}

/** Resolves once a socket has closed (at once if it already has). */
function closed(socket) {
  return socket.closed ? Promise.resolve() : once(socket, 'close');
}

/** The status code of the close frame a raw client got, if any. */
function closeCodeOf(client) {
  const close = serverFrames(client.received).find((f) => f.opcode === 8);
  return close && close.payload.length >= 2
    ? close.payload.readUInt16BE(0)
    : null;
}

/** Sends raw bytes on a new connection; resolves with the status line. */
function rawRequest(port, request) {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST, () => socket.end(request));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (data += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(data.split('\r\n')[0]));
  });
}

const UPGRADE_HEADERS =
  'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

describe('Message limits', () => {
  test(
    'maxPayload: 1009 and WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    LIMIT,
    async () => {
      const wss = await listen({ maxPayload: 1024 });
      const peer = nextConnection(wss);
      const ws = new WebSocket(`ws://${HOST}:${wss.address().port}`);
      await once(ws, 'open');
      const server = outcome(await peer);

      ws.send(Buffer.alloc(1025));
      const [clientCode] = await once(ws, 'close');
      const { error, code } = await server;

      assert.strictEqual(error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      assert.strictEqual(error[kStatusCode], 1009);
      // The server sent 1009 and stopped reading, as ws does: its own close
      // code is 1006, the peer's is the code it was sent.
      assert.strictEqual(clientCode, 1009);
      assert.strictEqual(code, 1006);
      assert.strictEqual(await echoes(wss), 'still serving');
      await shutdown(wss);
    }
  );

  test(
    'maxPayload after inflation: a compression bomb is a 1009',
    LIMIT,
    async () => {
      const wss = await listen({
        maxPayload: 1 << 20,
        perMessageDeflate: true
      });
      const peer = nextConnection(wss);
      const ws = new WebSocket(`ws://${HOST}:${wss.address().port}`, {
        perMessageDeflate: true
      });
      await once(ws, 'open');
      const server = outcome(await peer);

      // 32 MiB of zeros compress to about 32 KiB.
      ws.send(Buffer.alloc(32 << 20), { binary: true });
      const [clientCode] = await once(ws, 'close');
      const { error } = await server;

      assert.strictEqual(error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      assert.strictEqual(clientCode, 1009);
      assert.strictEqual(await echoes(wss), 'still serving');
      await shutdown(wss);
    }
  );

  test(
    'maxFragments: 1008 and WS_ERR_TOO_MANY_BUFFERED_PARTS',
    LIMIT,
    async () => {
      const wss = await listen({ maxFragments: 3 });
      const peer = nextConnection(wss);
      const client = await rawClient(wss.address().port);
      const server = outcome(await peer);

      client.socket.write(
        Buffer.concat([
          frame(1, 'a', { fin: false }),
          frame(0, 'b', { fin: false }),
          frame(0, 'c', { fin: false }),
          frame(0, 'd')
        ])
      );
      const { error, code } = await server;

      assert.strictEqual(error.code, 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
      assert.strictEqual(error.message, 'Too many message fragments');
      assert.strictEqual(error[kStatusCode], 1008);
      assert.strictEqual(code, 1006);
      await closed(client.socket);
      assert.strictEqual(closeCodeOf(client), 1008);
      assert.strictEqual(await echoes(wss), 'still serving');
      await shutdown(wss);
    }
  );

  test('maxBufferedChunks: a dribbled frame is a 1008', LIMIT, async () => {
    const wss = await listen({ maxBufferedChunks: 4 });
    const peer = nextConnection(wss);
    const client = await rawClient(wss.address().port);
    const server = outcome(await peer);
    const whole = frame(2, Buffer.alloc(100));

    // One byte per write, apart in time, so each is a chunk of its own.
    let at = 0;
    const timer = setInterval(() => {
      if (at < whole.length && !client.socket.destroyed) {
        client.socket.write(whole.subarray(at, at + 1));
        at++;
      }
    }, 15);
    const { error, code } = await server;
    clearInterval(timer);

    assert.strictEqual(error.code, 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
    assert.strictEqual(error.message, 'Too many buffered chunks');
    assert.strictEqual(error[kStatusCode], 1008);
    assert.strictEqual(code, 1006);
    assert.ok(at < whole.length, `failed after ${at} of ${whole.length} bytes`);
    await closed(client.socket);
    assert.strictEqual(closeCodeOf(client), 1008);
    assert.strictEqual(await echoes(wss), 'still serving');
    await shutdown(wss);
  });
});

describe('Handshake limits (Node http server)', () => {
  test('headers over maxHeaderSize (16 KiB) get a 431', LIMIT, async () => {
    const wss = await listen();
    const status = await rawRequest(
      wss.address().port,
      `GET / HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}X-Big: ${'a'.repeat(20000)}\r\n\r\n`
    );

    assert.strictEqual(status, 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.strictEqual(await echoes(wss), 'still serving');
    await shutdown(wss);
  });

  test('headers past maxHeadersCount (2000) are dropped', LIMIT, async () => {
    const wss = await listen();
    const port = wss.address().port;
    // 2100 short headers: past the count, under the 16 KiB.
    let many = '';
    for (let i = 0; i < 2100; i++) many += `${i.toString(36)}:\r\n`;

    // The upgrade headers among the first 2000: the upgrade goes ahead.
    const first = await rawRequest(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}${many}\r\n`
    );
    // Past the 2000th: they are dropped, so the request is refused.
    const last = await rawRequest(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\n${many}${UPGRADE_HEADERS}\r\n`
    );

    assert.strictEqual(first, 'HTTP/1.1 101 Switching Protocols');
    assert.strictEqual(last, 'HTTP/1.1 400 Bad Request');
    assert.strictEqual(await echoes(wss), 'still serving');
    await shutdown(wss);
  });

  test('the own HTTP server keeps Node timeouts against slow handshakes', () => {
    const wss = new WebSocketServer({ host: HOST, port: 0 });

    assert.strictEqual(wss._server.headersTimeout, 60000);
    assert.strictEqual(wss._server.requestTimeout, 300000);
    wss.close();
  });

  test(
    'a slow-loris handshake is dropped with 408 by headersTimeout',
    LIMIT,
    async () => {
      const server = http.createServer({
        headersTimeout: 500,
        requestTimeout: 1000,
        connectionsCheckingInterval: 100
      });
      const wss = new WebSocketServer({ server });
      await new Promise((resolve) => server.listen(0, HOST, resolve));

      const socket = net.connect(server.address().port, HOST);
      socket.on('error', () => {});
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (d) => (answer += d));
      await once(socket, 'connect');
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      let n = 0;
      const drip = setInterval(() => {
        if (!socket.destroyed) socket.write(`x-${n++}: y\r\n`);
      }, 50);
      const started = Date.now();
      await once(socket, 'close');
      clearInterval(drip);

      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
      assert.ok(Date.now() - started < 3000);
      assert.strictEqual(await echoes(wss), 'still serving');
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  );
});

describe('Connection limits', () => {
  test(
    'closeTimeout: a peer that never answers a close is dropped',
    LIMIT,
    async () => {
      const wss = await listen({ closeTimeout: 300 });
      const peer = nextConnection(wss);
      const client = await rawClient(wss.address().port);
      const ws = await peer;
      const server = outcome(ws);
      const started = Date.now();

      ws.close(1000, 'bye');
      const { error, code } = await server;
      const elapsed = Date.now() - started;

      assert.strictEqual(error, null);
      assert.strictEqual(code, 1006);
      assert.ok(elapsed >= 250 && elapsed < 3000, `closed after ${elapsed} ms`);
      assert.strictEqual(closeCodeOf(client), 1000);
      assert.strictEqual(await echoes(wss), 'still serving');
      await shutdown(wss);
    }
  );

  test('maxPendingAutoPongs: defaults to 60 on both sides', LIMIT, async () => {
    const wss = await listen();
    const peer = nextConnection(wss);
    const ws = new WebSocket(`ws://${HOST}:${wss.address().port}`);
    await once(ws, 'open');

    assert.strictEqual(wss.options.maxPendingAutoPongs, 60);
    assert.strictEqual(ws._maxPendingAutoPongs, 60);
    assert.strictEqual((await peer)._maxPendingAutoPongs, 60);
    ws.close();
    await once(ws, 'close');
    await shutdown(wss);
  });

  test(
    'maxPendingAutoPongs: a ping flood past the limit terminates',
    LIMIT,
    async () => {
      const wss = await listen({ maxPendingAutoPongs: 5 });
      const peer = nextConnection(wss);
      const client = await rawClient(wss.address().port);
      const ws = await peer;
      const server = outcome(ws);
      let pings = 0;
      ws.on('ping', () => pings++);

      // Eight pings in one chunk: five pongs are queued, the sixth ping
      // finds them all unwritten.
      client.socket.write(
        Buffer.concat(Array.from({ length: 8 }, (_, i) => frame(9, `p${i}`)))
      );
      const { error, code } = await server;

      assert.strictEqual(error, null);
      assert.strictEqual(code, 1006);
      assert.ok(pings >= 6, `${pings} pings seen`);
      await closed(client.socket);
      const pongs = serverFrames(client.received).filter(
        (f) => f.opcode === 10
      );
      assert.ok(pongs.length <= 5, `${pongs.length} pongs`);
      assert.strictEqual(await echoes(wss), 'still serving');
      await shutdown(wss);
    }
  );

  test(
    'maxPendingAutoPongs: pings under the limit are all answered',
    LIMIT,
    async () => {
      for (const limit of [10, 0]) {
        const wss = await listen({ maxPendingAutoPongs: limit });
        const peer = nextConnection(wss);
        const client = await rawClient(wss.address().port);
        const ws = await peer;
        ws.on('message', (d) => ws.send(d, { binary: false }));
        const count = limit || 100;

        client.socket.write(
          Buffer.concat([
            ...Array.from({ length: count }, (_, i) => frame(9, `p${i}`)),
            frame(1, 'done')
          ])
        );
        for (;;) {
          const frames = serverFrames(client.received);
          if (frames.some((f) => f.opcode === 1)) {
            assert.strictEqual(
              frames.filter((f) => f.opcode === 10).length,
              count
            );
            break;
          }
          await once(client.socket, 'data');
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.strictEqual(ws.readyState, WebSocket.OPEN);
        assert.strictEqual(ws._pendingAutoPongs, 0);
        client.socket.destroy();
        await shutdown(wss);
      }
    }
  );

  test('maxPendingAutoPongs: a client is protected too', LIMIT, async () => {
    const wss = await listen();
    const peer = nextConnection(wss);
    const ws = new WebSocket(`ws://${HOST}:${wss.address().port}`, {
      maxPendingAutoPongs: 3
    });
    await once(ws, 'open');
    const server = await peer;

    server._socket.write(
      Buffer.concat(
        Array.from({ length: 6 }, () => frame(9, 'x', { mask: false }))
      )
    );
    const [code] = await once(ws, 'close');

    assert.strictEqual(code, 1006);
    await shutdown(wss);
  });
});

describe('Memory held by received data', () => {
  test('a close reason has memory of its own', LIMIT, async () => {
    const wss = await listen();
    const peer = nextConnection(wss);
    const client = await rawClient(wss.address().port);
    const ws = await peer;
    const closing = once(ws, 'close');

    client.socket.write(
      Buffer.concat([
        frame(2, Buffer.alloc(4000)),
        frame(8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]))
      ])
    );
    const [code, reason] = await closing;

    assert.strictEqual(code, 1000);
    assert.strictEqual(String(reason), 'bye');
    assert.strictEqual(reason.buffer.byteLength, 3);
    client.socket.destroy();
    await shutdown(wss);
  });

  test(
    'a message inside a chunk is a view of that chunk only',
    LIMIT,
    async () => {
      // Zero-copy, as in ws: it pins the socket chunk it came in (Node sizes
      // each read to the bytes read, at most 64 KiB), never a shared pool.
      const wss = await listen();
      const peer = nextConnection(wss);
      const client = await rawClient(wss.address().port);
      const ws = await peer;
      const messages = [];
      ws.on('message', (data) => messages.push(data));

      const chunk = Buffer.concat([frame(2, 'first'), frame(2, 'second')]);
      client.socket.write(chunk);
      while (messages.length < 2) await once(ws, 'message');

      assert.strictEqual(messages[0].buffer, messages[1].buffer);
      assert.strictEqual(messages[0].buffer.byteLength, chunk.length);
      client.socket.destroy();
      await shutdown(wss);
    }
  );

  test(
    'an inflated message has memory of exactly its size',
    LIMIT,
    async () => {
      const wss = await listen({ perMessageDeflate: { threshold: 0 } });
      const peer = nextConnection(wss);
      const ws = new WebSocket(`ws://${HOST}:${wss.address().port}`, {
        perMessageDeflate: { threshold: 0 }
      });
      await once(ws, 'open');
      const server = await peer;

      ws.send(Buffer.from('small and compressed'));
      const [data] = await once(server, 'message');

      assert.strictEqual(String(data), 'small and compressed');
      assert.strictEqual(data.buffer.byteLength, data.length);
      ws.close();
      await once(ws, 'close');
      await shutdown(wss);
    }
  );
});
