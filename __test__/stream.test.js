'use strict';

const assert = require('node:assert');
const { once } = require('node:events');
const { Duplex, Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');
const createWebSocketStream = require('../lib/stream');

const LOCALHOST = '127.0.0.1';
const LIMIT = { timeout: 5000 };

/**
 * Starts a server on 127.0.0.1 and opens one client to it. The client is
 * still CONNECTING when this resolves; `peer` resolves to the server side.
 */
async function pair(serverOptions = {}) {
  const wss = new WebSocketServer({
    host: LOCALHOST,
    port: 0,
    ...serverOptions
  });
  await once(wss, 'listening');

  const peer = once(wss, 'connection').then(([ws]) => ws);
  const client = new WebSocket(`ws://${LOCALHOST}:${wss.address().port}`);

  return { wss, client, peer };
}

function shutdown(wss) {
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** Collects everything a writable receives. */
function sink(chunks) {
  return new Writable({
    objectMode: true,
    write(chunk, encoding, callback) {
      chunks.push(chunk);
      callback();
    }
  });
}

describe('createWebSocketStream', () => {
  test('returns a Duplex and forces the byte-mode settings', () => {
    const duplex = createWebSocketStream(new (require('node:events'))(), {
      objectMode: true,
      autoDestroy: true,
      emitClose: true,
      highWaterMark: 4
    });

    assert.ok(duplex instanceof Duplex);
    assert.strictEqual(duplex.readableObjectMode, false);
    assert.strictEqual(duplex.writableObjectMode, false);
    assert.strictEqual(duplex._readableState.autoDestroy, false);
    assert.strictEqual(duplex._readableState.emitClose, false);
    assert.strictEqual(duplex.readableHighWaterMark, 4);
  });

  test('writes made while connecting are sent once open', LIMIT, async () => {
    const { wss, client, peer } = await pair();
    const duplex = createWebSocketStream(client);

    assert.strictEqual(client.readyState, WebSocket.CONNECTING);
    duplex.write('first');
    duplex.write(Buffer.from('second'));
    duplex.end();

    const server = await peer;
    const got = [];
    server.on('message', (data, isBinary) => {
      got.push([data.toString(), isBinary]);
    });

    await once(duplex.resume(), 'close');
    // Every chunk reaches the WebSocket as a Buffer, hence binary frames.
    assert.deepStrictEqual(got, [
      ['first', true],
      ['second', true]
    ]);
    await shutdown(wss);
  });

  test(
    'messages are readable; the stream ends when the peer closes',
    LIMIT,
    async () => {
      const { wss, client, peer } = await pair();
      const duplex = createWebSocketStream(client);
      const chunks = [];

      const server = await peer;
      server.send('text');
      server.send(Buffer.from([1, 2, 3]));
      server.close();

      duplex.end();
      await pipeline(duplex, sink(chunks));

      assert.deepStrictEqual(chunks, [
        Buffer.from('text'),
        Buffer.from([1, 2, 3])
      ]);
      await shutdown(wss);
    }
  );

  test(
    'readableObjectMode gives strings for text and Buffers for binary',
    LIMIT,
    async () => {
      const { wss, client, peer } = await pair();
      const duplex = createWebSocketStream(client, {
        readableObjectMode: true
      });
      const chunks = [];

      const server = await peer;
      server.send('hello');
      server.send(Buffer.from('raw'));
      server.close();

      duplex.end();
      await pipeline(duplex, sink(chunks));

      assert.strictEqual(chunks[0], 'hello');
      assert.ok(Buffer.isBuffer(chunks[1]));
      assert.strictEqual(chunks[1].toString(), 'raw');
      await shutdown(wss);
    }
  );

  test('end() closes the WebSocket with a normal close', LIMIT, async () => {
    const { wss, client, peer } = await pair();
    const duplex = createWebSocketStream(client);
    const server = await peer;

    const serverClosed = once(server, 'close');
    await once(client, 'open');
    duplex.resume();
    duplex.end();

    const [code] = await serverClosed;
    assert.strictEqual(code, 1005);
    await once(duplex, 'close');
    assert.ok(duplex.destroyed);
    await shutdown(wss);
  });

  test('an echo through two streams round-trips', LIMIT, async () => {
    const { wss, client, peer } = await pair();
    const duplex = createWebSocketStream(client);

    peer.then((server) => {
      const serverStream = createWebSocketStream(server);
      serverStream.pipe(serverStream);
    });

    const input = ['a', 'bb', 'ccc'].map((s) => Buffer.from(s));
    const received = [];

    duplex.on('data', (chunk) => {
      received.push(chunk.toString());
      if (received.length === input.length) duplex.end();
    });
    await pipeline(
      Readable.from(input),
      new Writable({
        write(chunk, encoding, callback) {
          duplex.write(chunk, callback);
        }
      })
    );

    await once(duplex, 'close');
    assert.deepStrictEqual(received, ['a', 'bb', 'ccc']);
    await shutdown(wss);
  });

  test(
    'destroy(err) reports err and terminates the connection',
    LIMIT,
    async () => {
      const { wss, client, peer } = await pair();
      const duplex = createWebSocketStream(client);
      const server = await peer;
      await once(client, 'open');

      const serverClosed = once(server, 'close');
      const boom = new Error('boom');
      const errored = once(duplex, 'error');

      duplex.destroy(boom);
      const [err] = await errored;
      assert.strictEqual(err, boom);

      const [code] = await serverClosed;
      assert.strictEqual(code, 1006);
      await shutdown(wss);
    }
  );

  test(
    'writing after the WebSocket closed errors the stream',
    LIMIT,
    async () => {
      const { wss, client, peer } = await pair();
      const duplex = createWebSocketStream(client);
      const server = await peer;

      const errored = once(duplex, 'error');
      client.on('close', () => duplex.write('late'));
      server.close();

      const [err] = await errored;
      assert.strictEqual(
        err.message,
        'WebSocket is not open: readyState 3 (CLOSED)'
      );
      assert.ok(duplex.destroyed);
      await shutdown(wss);
    }
  );

  test('protocol errors surface on the stream', LIMIT, async () => {
    const { wss, client, peer } = await pair();
    const duplex = createWebSocketStream(client);
    const server = await peer;

    // An unmasked frame with reserved opcode 0x3.
    const errored = once(duplex, 'error');
    // Not `once()`: that would reject on the `'error'` event.
    const closed = new Promise((resolve) => duplex.on('close', resolve));
    server._socket.write(Buffer.from([0x83, 0x00]));

    const [err] = await errored;
    assert.strictEqual(err.code, 'WS_ERR_INVALID_OPCODE');
    await closed;
    await shutdown(wss);
  });

  test('a slow reader pauses the WebSocket and resumes it', LIMIT, async () => {
    const { wss, client, peer } = await pair();
    const duplex = createWebSocketStream(client, { highWaterMark: 1 });
    const server = await peer;
    await once(client, 'open');

    for (let i = 0; i < 5; i++) server.send(Buffer.alloc(64, i));

    await once(client, 'message');
    await new Promise((resolve) => setImmediate(resolve));
    assert.strictEqual(client.isPaused, true);

    const got = [];
    server.close();
    duplex.end();
    for await (const chunk of duplex) got.push(chunk);

    // Byte mode: the messages arrive as one byte sequence, in order.
    const expected = Buffer.concat(
      [0, 1, 2, 3, 4].map((i) => Buffer.alloc(64, i))
    );
    assert.deepStrictEqual(Buffer.concat(got), expected);
    await shutdown(wss);
  });
});
