'use strict';

// permessage-deflate as issue 18 reworked it: no zlib stream is owned by a
// connection between messages (each thread shares a small cache of them,
// and a direction with context takeover keeps only the bytes its peer may
// refer back to), and every zlib option ws takes is honoured or refused.
//
// The cache holds 64 streams per thread, so 100 connections with context
// takeover, sending in turn, make every direction lose its stream and
// prime a new one from its history: what they receive must still be what
// was sent, on both engines, against ws's own client (Node's zlib).

const assert = require('node:assert');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const ws = require('ws');
const WebSocket = require('..');
const PerMessageDeflate = require('../lib/permessage-deflate');

const { WebSocketServer } = WebSocket;

const HOST = '127.0.0.1';

/**
 * Settles like `promise`, or rejects after `ms` ms.
 *
 * @param {Promise} promise The work
 * @param {Number} ms The bound
 * @param {String} what What is awaited, for the error
 * @return {Promise}
 */
function within(promise, ms, what) {
  let timer;
  const expiry = new Promise((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms: ${what}`)),
      ms
    );
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/**
 * A server that echoes, on `engine`.
 *
 * @param {String} engine `default` or `native`
 * @param {Object} perMessageDeflate The deflate options
 * @return {Promise<WebSocketServer>}
 */
async function echoServer(engine, perMessageDeflate) {
  const options = { host: HOST, port: 0, perMessageDeflate };
  if (engine === 'native') options.engine = 'native';
  const wss = new WebSocketServer(options);
  if (engine !== 'native') await once(wss, 'listening');
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      socket.send(data, { binary: isBinary, compress: true });
    });
  });
  return wss;
}

/**
 * A JSON-ish text message, different for each connection and round, that
 * repeats what earlier rounds said (so that it refers back to them).
 *
 * @param {Number} conn The connection
 * @param {Number} round The round
 * @return {String}
 */
function message(conn, round) {
  const parts = [];
  for (let r = 0; r <= round; r++) {
    parts.push(
      `{"conn":${conn},"round":${r},"text":"${'abc'.repeat(40 + r)}"}`
    );
  }
  return parts.join(',');
}

for (const engine of ['default', 'native']) {
  describe(`permessage-deflate on the ${engine} engine`, () => {
    for (const [name, perMessageDeflate] of [
      ['context takeover', { threshold: 0 }],
      [
        'no context takeover',
        {
          threshold: 0,
          serverNoContextTakeover: true,
          clientNoContextTakeover: true
        }
      ]
    ]) {
      test(`${name}: 100 connections in turn, more than the stream cache holds`, async () => {
        const wss = await echoServer(engine, perMessageDeflate);
        const url = `ws://${HOST}:${wss.address().port}`;
        const clients = [];
        try {
          for (let i = 0; i < 100; i++) {
            const client = new ws.WebSocket(url, {
              perMessageDeflate: { threshold: 0 }
            });
            clients.push(client);
          }
          await within(
            Promise.all(clients.map((c) => once(c, 'open'))),
            10000,
            'the connections'
          );
          for (const c of clients) {
            assert.match(c.extensions, /permessage-deflate/);
          }
          for (let round = 0; round < 6; round++) {
            const echoes = clients.map((c) => once(c, 'message'));
            clients.forEach((c, i) => c.send(message(i, round)));
            const got = await within(
              Promise.all(echoes),
              10000,
              `round ${round}`
            );
            got.forEach(([data, isBinary], i) => {
              assert.strictEqual(isBinary, false);
              assert.strictEqual(data.toString(), message(i, round));
            });
          }
        } finally {
          for (const c of clients) c.terminate();
          await within(
            new Promise((resolve) => wss.close(resolve)),
            5000,
            'the server to close'
          );
        }
      });
    }

    test('zlibDeflateOptions memLevel and strategy are used', async () => {
      // Huffman-only (strategy 2) finds no repeats: the echo of a
      // repetitive message comes back much larger on the wire.
      const sizes = [];
      for (const strategy of [0, 2]) {
        const wss = await echoServer(engine, {
          threshold: 0,
          serverNoContextTakeover: true,
          zlibDeflateOptions: { memLevel: 9, strategy, level: 9 }
        });
        const client = new ws.WebSocket(`ws://${HOST}:${wss.address().port}`);
        try {
          await within(once(client, 'open'), 5000, 'open');
          let wire = 0;
          client._socket.on('data', (chunk) => {
            wire += chunk.length;
          });
          const text = 'wsrs '.repeat(2000);
          client.send(text);
          const [data] = await within(once(client, 'message'), 5000, 'echo');
          assert.strictEqual(data.toString(), text);
          sizes.push(wire);
        } finally {
          client.terminate();
          await new Promise((resolve) => wss.close(resolve));
        }
      }
      assert.ok(sizes[1] > 4 * sizes[0], `${sizes[0]} vs ${sizes[1]} bytes`);
    });

    test('a zlib option wsrs cannot honour throws at construction', () => {
      const options = { host: HOST, port: 0 };
      if (engine === 'native') options.engine = 'native';
      assert.throws(
        () =>
          new WebSocketServer({
            ...options,
            perMessageDeflate: {
              zlibDeflateOptions: { dictionary: Buffer.from('x') }
            }
          }),
        { name: 'TypeError', code: 'ERR_WSRS_ZLIB_OPTION' }
      );
      assert.throws(
        () =>
          new WebSocketServer({
            ...options,
            perMessageDeflate: { zlibDeflateOptions: { memLevel: 10 } }
          }),
        { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }
      );
    });
  });
}

describe('a large compressed message', () => {
  test('is parsed on the thread pool, in order with the small ones', async () => {
    const { NativeParser } = require('../lib/native/addon');
    const feedAsync = NativeParser.prototype.feedAsync;
    let offloaded = 0;
    NativeParser.prototype.feedAsync = function (chunk) {
      offloaded++;
      return feedAsync.call(this, chunk);
    };
    const wss = await echoServer('default', { threshold: 0 });
    const client = new ws.WebSocket(`ws://${HOST}:${wss.address().port}`, {
      maxPayload: 64 << 20
    });
    try {
      await within(once(client, 'open'), 5000, 'open');
      const parts = [];
      for (let i = 0; parts.length < 200000; i++) {
        parts.push(`{"id":${i},"name":"user-${i % 977}"}`);
      }
      const big = parts.join(',');
      const sent = [big, 'after 1', 'after 2', big.slice(0, 1000)];
      const got = [];
      const all = new Promise((resolve) => {
        client.on('message', (data) => {
          got.push(data.toString());
          if (got.length === sent.length) resolve();
        });
      });
      for (const m of sent) client.send(m);
      await within(all, 20000, 'the echoes');
      assert.strictEqual(got.length, sent.length);
      got.forEach((m, i) => assert.ok(m === sent[i], `message ${i}`));
      assert.ok(offloaded > 0, 'no chunk was parsed on the thread pool');
      assert.ok(big.length > 5 << 20);
    } finally {
      NativeParser.prototype.feedAsync = feedAsync;
      client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});

describe('a connection that goes during a compression', () => {
  test('the send callback gets the error; the WebSocket emits none', async () => {
    // 1 MiB is compressed on the thread pool: the connection is cut while
    // that runs.
    const wss = await echoServer('default', { threshold: 0 });
    const client = new ws.WebSocket(`ws://${HOST}:${wss.address().port}`);
    try {
      const [[server]] = await Promise.all([
        within(once(wss, 'connection'), 5000, 'connection'),
        within(once(client, 'open'), 5000, 'open')
      ]);
      const errors = [];
      server.on('error', (err) => errors.push(err));
      const sent = new Promise((resolve) => {
        server.send(Buffer.alloc(1 << 20, 97), resolve);
      });
      const closed = once(server, 'close');
      server.terminate();
      const err = await within(sent, 5000, 'the send callback');
      assert.ok(err instanceof Error);
      assert.strictEqual(
        err.message,
        'The socket was closed while data was being compressed'
      );
      await within(closed, 5000, 'close');
      assert.deepStrictEqual(errors, []);
    } finally {
      client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});

describe('zlib options', () => {
  test('every option ws takes, in zlib ranges, is accepted', () => {
    const pmd = new PerMessageDeflate({
      zlibDeflateOptions: {
        level: 3,
        memLevel: 7,
        strategy: 1,
        windowBits: 12,
        chunkSize: 1024
      },
      zlibInflateOptions: { windowBits: 10, chunkSize: 10 * 1024 },
      concurrencyLimit: 10,
      threshold: 1024
    });
    assert.deepStrictEqual(pmd.deflateSettings(), {
      level: 3,
      memLevel: 7,
      strategy: 1
    });
  });

  test('out of range, of the wrong type or unknown: a clear error', () => {
    const bad = [
      [{ zlibDeflateOptions: { level: 10 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ zlibDeflateOptions: { level: -2 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ zlibDeflateOptions: { memLevel: 0 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [{ zlibDeflateOptions: { strategy: 5 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [
        { zlibDeflateOptions: { windowBits: 16 } },
        RangeError,
        'ERR_OUT_OF_RANGE'
      ],
      [
        { zlibDeflateOptions: { chunkSize: 63 } },
        RangeError,
        'ERR_OUT_OF_RANGE'
      ],
      [{ zlibDeflateOptions: { level: 1.5 } }, RangeError, 'ERR_OUT_OF_RANGE'],
      [
        { zlibDeflateOptions: { level: '9' } },
        TypeError,
        'ERR_INVALID_ARG_TYPE'
      ],
      [
        { zlibInflateOptions: { chunkSize: 1 } },
        RangeError,
        'ERR_OUT_OF_RANGE'
      ],
      [{ zlibInflateOptions: { level: 1 } }, TypeError, 'ERR_WSRS_ZLIB_OPTION'],
      [{ zlibDeflateOptions: { flush: 2 } }, TypeError, 'ERR_WSRS_ZLIB_OPTION'],
      [
        { zlibDeflateOptions: { info: true } },
        TypeError,
        'ERR_WSRS_ZLIB_OPTION'
      ]
    ];
    for (const [options, type, code] of bad) {
      assert.throws(
        () => new PerMessageDeflate(options),
        (err) => {
          assert.ok(err instanceof type, `${JSON.stringify(options)}: ${err}`);
          assert.strictEqual(err.code, code);
          return true;
        }
      );
    }
    // The client throws from its constructor, before connecting.
    assert.throws(
      () =>
        new WebSocket(`ws://${HOST}:9`, {
          perMessageDeflate: { zlibDeflateOptions: { memLevel: 99 } }
        }),
      { code: 'ERR_OUT_OF_RANGE' }
    );
  });
});
