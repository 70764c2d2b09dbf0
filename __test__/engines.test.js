'use strict';

// The same API-level cases against both server engines: the default one
// (Node owns the sockets through an http server) and the native one
// (`engine: 'native'`, Rust owns the sockets). Clients are always wsrs's
// own client, or raw `net` sockets where a handshake is written by hand.
// A few cases at the end only concern the native engine: its send queue
// limit, its handshake limits, `reusePort` across worker threads, and a
// process that must exit on its own once its server is closed.
//
// Every case runs under `within()`: a hung case fails after a few seconds,
// and whatever it opened (servers, clients, raw sockets, workers, child
// processes, temporary files) is released in a `finally`, so one failure
// cannot keep the file from finishing.

const assert = require('node:assert');
const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { describe, test } = require('node:test');
const { Worker } = require('node:worker_threads');

const WebSocket = require('..');

const { WebSocketServer } = WebSocket;

const HOST = '127.0.0.1';
const ROOT = path.join(__dirname, '..');
const ENGINES = ['default', 'native'];

// ---------------------------------------------------------------------------
// Time bounds and resource tracking
// ---------------------------------------------------------------------------

/** Resolves after `ms` milliseconds. */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves on the next turn of the event loop. */
function nextTurn() {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Settles like `promise`, or rejects once `ms` milliseconds have passed
 * without it settling. The timer never outlives the race.
 */
function within(promise, ms, what) {
  let timer;
  const expiry = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });

  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with the arguments of the next `name` event. Unlike
 * `events.once()` it does not reject when the emitter emits `'error'`, for
 * the cases where an error is expected on the way.
 */
function when(emitter, name) {
  return new Promise((resolve) => {
    emitter.once(name, (...args) => resolve(args));
  });
}

/**
 * Everything a case opens, released when it ends, passed or failed. Each
 * release step is bounded too.
 */
class Resources {
  constructor() {
    this.servers = [];
    this.others = [];
  }

  /** Tracks a server, client, socket, worker or child process. */
  add(thing) {
    if (thing instanceof WebSocketServer) this.servers.push(thing);
    else this.others.push(thing);
    return thing;
  }

  /** Runs `fn` at release time (before the servers are closed). */
  defer(fn) {
    this.others.push({ release: fn });
  }

  async release() {
    for (const thing of this.others.reverse()) {
      try {
        await within(Promise.resolve(releaseOne(thing)), 2000, 'a release');
      } catch {
        // Best effort: the case itself reports what went wrong.
      }
    }

    for (const wss of this.servers) {
      try {
        if (wss.clients) {
          for (const ws of wss.clients) ws.terminate();
        }

        await within(
          new Promise((resolve) => wss.close(() => resolve())),
          2000,
          'the server to close'
        );
      } catch {
        // As above.
      }
    }
  }
}

/** Releases one tracked thing, whatever its kind. */
function releaseOne(thing) {
  if (thing instanceof WebSocket) {
    // Terminating a client that is still connecting emits an error.
    thing.on('error', () => {});
    thing.terminate();
    return undefined;
  }

  if (thing instanceof net.Socket) {
    thing.destroy();
    return undefined;
  }

  if (thing instanceof Worker) return thing.terminate();

  if (thing instanceof childProcess.ChildProcess) {
    if (thing.exitCode === null && thing.signalCode === null) {
      thing.kill('SIGKILL');
    }
    return undefined;
  }

  return thing.release();
}

/**
 * Declares a case: `fn(res)` must settle within `ms` milliseconds, and the
 * resources it tracked in `res` are released afterwards.
 */
function check(title, fn, ms = 4000) {
  test(title, { timeout: ms + 10000 }, async () => {
    const res = new Resources();

    try {
      await within(fn(res), ms, `"${title}"`);
    } finally {
      await res.release();
    }
  });
}

// ---------------------------------------------------------------------------
// Servers and clients
// ---------------------------------------------------------------------------

/** The options of a loopback server on an ephemeral port, for an engine. */
function serverOptions(engine, extra = {}) {
  const options = { port: 0, host: HOST, ...extra };

  if (engine === 'native') options.engine = 'native';
  return options;
}

/** Starts a tracked server and resolves once it listens. */
async function listen(res, engine, extra) {
  const wss = res.add(new WebSocketServer(serverOptions(engine, extra)));

  await once(wss, 'listening');
  return wss;
}

/** The `ws://` URL of a listening server. */
function urlOf(wss, pathname = '/') {
  return `ws://${HOST}:${wss.address().port}${pathname}`;
}

/**
 * Starts a server and connects one client. Resolves with the server, the
 * client, the server-side socket and the upgrade request.
 */
async function pair(res, engine, extra = {}, client = {}) {
  const wss = await listen(res, engine, extra);
  const connected = once(wss, 'connection');
  const ws = res.add(
    new WebSocket(urlOf(wss, client.path), client.protocols, client.options)
  );
  const [[peer, req]] = await Promise.all([connected, once(ws, 'open')]);

  return { wss, client: ws, peer, req };
}

/** Makes every server-side socket echo what it receives. */
function echoServer(wss) {
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

/** Resolves with the next `count` messages of a socket, as `[data, isBinary]`. */
function messages(ws, count) {
  return new Promise((resolve) => {
    const seen = [];
    const onMessage = (data, isBinary) => {
      seen.push([data, isBinary]);
      if (seen.length === count) {
        ws.removeListener('message', onMessage);
        resolve(seen);
      }
    };

    ws.on('message', onMessage);
  });
}

/** Calls `ws.send()` and resolves with the error its callback gets. */
function sendAndWait(ws, data, options = {}) {
  return new Promise((resolve) => ws.send(data, options, resolve));
}

// ---------------------------------------------------------------------------
// Raw sockets
// ---------------------------------------------------------------------------

/** A fresh Sec-WebSocket-Key. */
function newKey() {
  return crypto.randomBytes(16).toString('base64');
}

/** The headers of a valid version 13 upgrade request, with overrides. */
function upgradeHeaders(extra = {}) {
  return {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': newKey(),
    'Sec-WebSocket-Version': '13',
    ...extra
  };
}

/** The text of an HTTP/1.1 request; headers set to `undefined` are left out. */
function requestText(
  port,
  { method = 'GET', target = '/', headers = {} } = {}
) {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${HOST}:${port}`];

  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) lines.push(`${name}: ${value}`);
  }

  return lines.join('\r\n') + '\r\n\r\n';
}

/**
 * Accumulates what a raw socket receives. `wait(parse)` resolves with the
 * first non-undefined value of `parse(bytes, ended)`, re-run on each chunk
 * and at the end; it rejects if the socket closes before that.
 */
function collect(socket) {
  let bytes = Buffer.alloc(0);
  let ended = false;
  const waiters = new Set();

  const settle = () => {
    for (const waiter of waiters) {
      let value;

      try {
        value = waiter.parse(bytes, ended);
      } catch (err) {
        waiters.delete(waiter);
        waiter.reject(err);
        continue;
      }

      if (value !== undefined) {
        waiters.delete(waiter);
        waiter.resolve(value);
      } else if (ended) {
        waiters.delete(waiter);
        waiter.reject(new Error('the socket closed first'));
      }
    }
  };

  socket.on('data', (chunk) => {
    bytes = Buffer.concat([bytes, chunk]);
    settle();
  });
  socket.on('error', () => {}); // 'close' follows.
  socket.on('close', () => {
    ended = true;
    settle();
  });

  return {
    get bytes() {
      return bytes;
    },
    get ended() {
      return ended;
    },
    wait(parse) {
      return new Promise((resolve, reject) => {
        waiters.add({ parse, resolve, reject });
        settle();
      });
    }
  };
}

/**
 * Parses an HTTP response at the start of `bytes`, or returns `undefined`
 * while it is incomplete. A 101 has no body; otherwise the body runs for
 * Content-Length bytes or, without one, to the end of the connection.
 */
function parseResponse(bytes, ended) {
  const headEnd = bytes.indexOf('\r\n\r\n');

  if (headEnd === -1) return undefined;

  const lines = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);

  assert.ok(status, `not an HTTP status line: ${JSON.stringify(lines[0])}`);

  const headers = {};

  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();

    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }

  const statusCode = Number(status[1]);
  const bodyStart = headEnd + 4;
  let bodyEnd;

  if (statusCode === 101) {
    bodyEnd = bodyStart;
  } else if (headers['content-length'] !== undefined) {
    bodyEnd = bodyStart + Number(headers['content-length']);
    if (bytes.length < bodyEnd) return undefined;
  } else if (ended) {
    bodyEnd = bytes.length;
  } else {
    return undefined;
  }

  return {
    statusCode,
    headers,
    body: bytes.subarray(bodyStart, bodyEnd).toString(),
    length: bodyEnd
  };
}

/**
 * Parses the first WebSocket frame of `bytes` (unmasked, as a server sends
 * them), or returns `undefined` while it is incomplete.
 */
function parseFrame(bytes) {
  if (bytes.length < 2) return undefined;

  let length = bytes[1] & 0x7f;
  let offset = 2;

  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = Number(bytes.readBigUInt64BE(2));
    offset = 10;
  }

  if (bytes[1] & 0x80) offset += 4;
  if (bytes.length < offset + length) return undefined;

  return {
    fin: (bytes[0] & 0x80) !== 0,
    opcode: bytes[0] & 0x0f,
    masked: (bytes[1] & 0x80) !== 0,
    payload: bytes.subarray(offset, offset + length)
  };
}

/** Opens a tracked raw socket to a port and resolves once it is connected. */
async function rawSocket(res, port) {
  const socket = res.add(net.connect(port, HOST));
  const received = collect(socket);

  await once(socket, 'connect');
  return { socket, received };
}

/** Sends one raw request and resolves with the parsed response. */
async function rawRequest(res, port, text) {
  const { socket, received } = await rawSocket(res, port);

  socket.write(text);
  return received.wait(parseResponse);
}

// ---------------------------------------------------------------------------
// The cases, for each engine
// ---------------------------------------------------------------------------

for (const engine of ENGINES) {
  describe(`engine: ${engine}`, () => {
    describe('messages', () => {
      check(
        'echoes text and binary; message gets (Buffer, isBinary)',
        async (res) => {
          const { client, peer } = await pair(res, engine);
          const atServer = messages(peer, 2);

          peer.on('message', (data, isBinary) => {
            peer.send(data, { binary: isBinary });
          });

          const echoed = messages(client, 2);

          client.send('hello engines');
          client.send(Buffer.from([0, 1, 2, 254, 255]));

          const [[text, textIsBinary], [bin, binIsBinary]] = await atServer;

          assert.ok(Buffer.isBuffer(text));
          assert.strictEqual(text.toString(), 'hello engines');
          assert.strictEqual(textIsBinary, false);
          assert.ok(Buffer.isBuffer(bin));
          assert.deepStrictEqual([...bin], [0, 1, 2, 254, 255]);
          assert.strictEqual(binIsBinary, true);

          const [[text2, isBinary2], [bin2, isBinary3]] = await echoed;

          assert.strictEqual(text2.toString(), 'hello engines');
          assert.strictEqual(isBinary2, false);
          assert.deepStrictEqual([...bin2], [0, 1, 2, 254, 255]);
          assert.strictEqual(isBinary3, true);
        }
      );

      check(
        'Blobs, compressed or not, keep their place among other messages',
        async (res) => {
          const { client, peer } = await pair(res, engine, {
            perMessageDeflate: { threshold: 0 }
          });
          const got = messages(client, 5);

          peer.send(new Blob(['blob one '.repeat(300)]));
          peer.send('text after');
          peer.send(new Blob([Buffer.from([1, 2, 3])]), { compress: false });
          peer.send(new Blob(['blob three']));
          peer.send('last');

          const texts = (await got).map(([data]) => String(data));

          assert.match(client.extensions, /permessage-deflate/);
          assert.deepStrictEqual(texts, [
            'blob one '.repeat(300),
            'text after',
            '\u0001\u0002\u0003',
            'blob three',
            'last'
          ]);
        }
      );

      check(
        'echoes messages of every size intact, several per read and across reads',
        async (res) => {
          const { client, peer } = await pair(res, engine);

          peer.on('message', (data, isBinary) => {
            peer.send(data, { binary: isBinary });
          });

          // Sizes either side of the engine's copy/no-copy thresholds (16 KiB
          // and 64 KiB), sent back to back so that a read holds several.
          const sizes = [
            1,
            125,
            126,
            16383,
            16384,
            20000,
            65535,
            65536,
            100000,
            1 << 20
          ];
          const sent = sizes.map((n, i) => {
            const buf = Buffer.alloc(n);

            for (let j = 0; j < n; j++) buf[j] = (j * 31 + i) & 0xff;
            return buf;
          });
          const texts = [20000, 70000].map((n) => 'é'.repeat(n / 2));
          const echoed = messages(client, sent.length + texts.length);

          for (const buf of sent) client.send(buf);
          for (const text of texts) client.send(text);

          const got = await echoed;

          sent.forEach((buf, i) => {
            assert.strictEqual(got[i][1], true);
            assert.ok(got[i][0].equals(buf), `message of ${buf.length} bytes`);
          });
          texts.forEach((text, i) => {
            const [data, isBinary] = got[sent.length + i];

            assert.strictEqual(isBinary, false);
            assert.strictEqual(data.toString(), text);
          });
        },
        8000
      );

      check(
        'binaryType "arraybuffer" on the server socket gives ArrayBuffer',
        async (res) => {
          const { client, peer } = await pair(res, engine);

          assert.strictEqual(peer.binaryType, 'nodebuffer');
          peer.binaryType = 'arraybuffer';
          assert.strictEqual(peer.binaryType, 'arraybuffer');

          const received = once(peer, 'message');

          client.send(Buffer.from([9, 8, 7]));

          const [data, isBinary] = await received;

          assert.ok(data instanceof ArrayBuffer, 'an ArrayBuffer');
          assert.deepStrictEqual([...new Uint8Array(data)], [9, 8, 7]);
          assert.strictEqual(isBinary, true);
        }
      );
    });

    describe('the connection event', () => {
      check(
        'gets (ws, req) with url, method, headers, rawHeaders and socket',
        async (res) => {
          const { peer, req } = await pair(
            res,
            engine,
            {},
            {
              path: '/room/7?user=ada&mode=read',
              options: { headers: { 'X-Engine-Probe': 'probe-value' } }
            }
          );

          assert.strictEqual(typeof peer.send, 'function');
          assert.strictEqual(peer.readyState, WebSocket.OPEN);
          assert.strictEqual(req.url, '/room/7?user=ada&mode=read');
          assert.strictEqual(req.method, 'GET');

          assert.strictEqual(req.headers['x-engine-probe'], 'probe-value');
          assert.strictEqual(req.headers.upgrade.toLowerCase(), 'websocket');
          assert.strictEqual(req.headers['sec-websocket-version'], '13');
          for (const name of Object.keys(req.headers)) {
            assert.strictEqual(name, name.toLowerCase());
          }

          assert.ok(Array.isArray(req.rawHeaders));
          assert.strictEqual(req.rawHeaders.length % 2, 0);
          const at = req.rawHeaders.indexOf('X-Engine-Probe');
          assert.notStrictEqual(at, -1, 'rawHeaders keeps the sent case');
          assert.strictEqual(req.rawHeaders[at + 1], 'probe-value');

          assert.strictEqual(req.socket.remoteAddress, HOST);
          assert.strictEqual(typeof req.socket.remotePort, 'number');
          assert.ok(Number.isInteger(req.socket.remotePort));
          assert.ok(req.socket.remotePort > 0);
        }
      );
    });

    describe('send, readyState, protocol and extensions', () => {
      check('send(data, cb) calls back with no error', async (res) => {
        const { client, peer } = await pair(res, engine);
        const received = once(client, 'message');

        const err = await sendAndWait(peer, 'with a callback');

        assert.ok(err == null, `no error expected, got ${err}`);
        const [data] = await received;
        assert.strictEqual(data.toString(), 'with a callback');
      });

      check('send after close calls back with an Error', async (res) => {
        const { peer } = await pair(res, engine);

        peer.close();
        const err = await sendAndWait(peer, 'too late');

        assert.ok(err instanceof Error, `an Error expected, got ${err}`);
      });

      check(
        'readyState goes CONNECTING, OPEN, CLOSING, CLOSED',
        async (res) => {
          const wss = await listen(res, engine);
          const connected = once(wss, 'connection');
          const client = res.add(new WebSocket(urlOf(wss)));

          assert.strictEqual(client.readyState, WebSocket.CONNECTING);
          await once(client, 'open');
          assert.strictEqual(client.readyState, WebSocket.OPEN);

          const [peer] = await connected;
          assert.strictEqual(peer.readyState, WebSocket.OPEN);

          const peerClosed = once(peer, 'close');
          const clientClosed = once(client, 'close');

          peer.close(1000);
          assert.strictEqual(peer.readyState, WebSocket.CLOSING);

          await clientClosed;
          assert.strictEqual(client.readyState, WebSocket.CLOSED);
          await peerClosed;
          assert.strictEqual(peer.readyState, WebSocket.CLOSED);

          // And from the client side.
          const connected2 = once(wss, 'connection');
          const client2 = res.add(new WebSocket(urlOf(wss)));
          await once(client2, 'open');
          const [peer2] = await connected2;
          const peer2Closed = once(peer2, 'close');

          client2.close();
          assert.strictEqual(client2.readyState, WebSocket.CLOSING);
          await once(client2, 'close');
          assert.strictEqual(client2.readyState, WebSocket.CLOSED);
          await peer2Closed;
          assert.strictEqual(peer2.readyState, WebSocket.CLOSED);
        }
      );

      check('handleProtocols picks the subprotocol', async (res) => {
        let offered;
        let request;
        const { client, peer } = await pair(
          res,
          engine,
          {
            handleProtocols: (protocols, req) => {
              offered = protocols;
              request = req;
              return 'beta';
            }
          },
          { protocols: ['alpha', 'beta'] }
        );

        assert.ok(offered instanceof Set);
        assert.deepStrictEqual([...offered], ['alpha', 'beta']);
        assert.strictEqual(request.method, 'GET');
        assert.strictEqual(client.protocol, 'beta');
        assert.strictEqual(peer.protocol, 'beta');
      });

      check(
        'without handleProtocols the first offered subprotocol wins',
        async (res) => {
          const { client, peer } = await pair(
            res,
            engine,
            {},
            {
              protocols: ['alpha', 'beta']
            }
          );

          assert.strictEqual(client.protocol, 'alpha');
          assert.strictEqual(peer.protocol, 'alpha');
        }
      );

      check(
        'permessage-deflate is negotiated and compresses big messages',
        async (res) => {
          const { client, peer } = await pair(
            res,
            engine,
            { perMessageDeflate: true },
            { options: { perMessageDeflate: true } }
          );

          peer.on('message', (data, isBinary) => {
            peer.send(data, { binary: isBinary });
          });

          assert.strictEqual(client.extensions, 'permessage-deflate');
          assert.strictEqual(peer.extensions, 'permessage-deflate');

          const text = 'permessage-deflate over both engines. '.repeat(270);
          assert.ok(text.length > 10 * 1024);

          // The client is wsrs's usual one: its socket counts the bytes that
          // really went over the wire in each direction.
          const wire = client._socket;
          const writtenBefore = wire.bytesWritten;
          const readBefore = wire.bytesRead;
          const echoed = once(client, 'message');

          const err = await sendAndWait(client, text);
          assert.ok(err == null);

          const [data, isBinary] = await echoed;

          assert.strictEqual(isBinary, false);
          assert.strictEqual(data.toString(), text);

          const written = wire.bytesWritten - writtenBefore;
          const read = wire.bytesRead - readBefore;

          assert.ok(written < text.length / 4, `${written} bytes sent`);
          assert.ok(read < text.length / 4, `${read} bytes received`);
        }
      );

      check(
        'no permessage-deflate unless the server enables it',
        async (res) => {
          const { client, peer } = await pair(
            res,
            engine,
            {},
            {
              options: { perMessageDeflate: true }
            }
          );

          assert.strictEqual(client.extensions, '');
          assert.strictEqual(peer.extensions, '');
        }
      );
    });

    describe('ping and pong', () => {
      check(
        'a server ping is answered by the client with its payload',
        async (res) => {
          const { client, peer } = await pair(res, engine);
          const pinged = once(client, 'ping');
          const ponged = once(peer, 'pong');

          peer.ping('x');

          const [ping] = await pinged;
          const [pong] = await ponged;

          assert.ok(Buffer.isBuffer(ping));
          assert.strictEqual(ping.toString(), 'x');
          assert.ok(Buffer.isBuffer(pong));
          assert.strictEqual(pong.toString(), 'x');
        }
      );

      check('a client ping gets the server auto-pong', async (res) => {
        const { client, peer } = await pair(res, engine);
        const pinged = once(peer, 'ping');
        const ponged = once(client, 'pong');

        client.ping('from the client');

        const [ping] = await pinged;
        const [pong] = await ponged;

        assert.strictEqual(ping.toString(), 'from the client');
        assert.strictEqual(pong.toString(), 'from the client');
      });
    });

    describe('closing', () => {
      check(
        'server close(4000, "bye") reaches the client; the server sees 4000',
        async (res) => {
          const { client, peer } = await pair(res, engine);
          const clientClosed = once(client, 'close');
          const peerClosed = once(peer, 'close');

          peer.close(4000, 'bye');

          const [code, reason] = await clientClosed;
          assert.strictEqual(code, 4000);
          assert.strictEqual(reason.toString(), 'bye');

          const [peerCode] = await peerClosed;
          assert.strictEqual(peerCode, 4000);
        }
      );

      check(
        'a client close(1001) is seen by the server with its reason',
        async (res) => {
          const { client, peer } = await pair(res, engine);
          const peerClosed = once(peer, 'close');
          const clientClosed = once(client, 'close');

          client.close(1001, 'going away');

          const [code, reason] = await peerClosed;
          assert.strictEqual(code, 1001);
          assert.strictEqual(reason.toString(), 'going away');

          const [clientCode] = await clientClosed;
          assert.strictEqual(clientCode, 1001);
        }
      );

      check('terminate() on the server gives the client 1006', async (res) => {
        const { client, peer } = await pair(res, engine);
        const clientClosed = once(client, 'close');
        const peerClosed = once(peer, 'close');

        peer.terminate();

        const [code] = await clientClosed;
        assert.strictEqual(code, 1006);

        const [peerCode] = await peerClosed;
        assert.strictEqual(peerCode, 1006);
        assert.strictEqual(peer.readyState, WebSocket.CLOSED);
      });
    });

    describe('pause and resume', () => {
      check(
        'no message while paused; all of them, in order, after resume()',
        async (res) => {
          const { client, peer } = await pair(res, engine);
          const seen = [];

          peer.on('message', (data) => seen.push(data.toString()));

          assert.strictEqual(peer.isPaused, false);
          peer.pause();
          assert.strictEqual(peer.isPaused, true);

          for (const text of ['one', 'two', 'three']) {
            await sendAndWait(client, text);
          }

          await delay(100);
          assert.deepStrictEqual(seen, []);

          const all = messages(peer, 3);

          peer.resume();
          assert.strictEqual(peer.isPaused, false);
          await all;
          assert.deepStrictEqual(seen, ['one', 'two', 'three']);
        }
      );
    });

    describe('buffering and backpressure', () => {
      check(
        'bufferedAmount falls back to 0 after a burst sent without callbacks',
        async (res) => {
          const { client, peer } = await pair(res, engine);
          const all = messages(client, 300);

          // Sends of 1 KiB and of 20 KiB (written from the sender's buffer by the
          // native engine), and multi-byte strings, none with a callback.
          for (let i = 0; i < 300; i++) {
            if (i % 5 === 4) peer.send('é€'.repeat(i * 7));
            else peer.send(Buffer.alloc(i % 3 === 0 ? 20480 : 1024, i));
          }
          await all;

          const deadline = Date.now() + 2000;

          while (peer.bufferedAmount !== 0 && Date.now() < deadline)
            await delay(10);
          assert.strictEqual(peer.bufferedAmount, 0);
        }
      );

      check(
        'bufferedAmount is a number, 0 once the send callback has fired',
        async (res) => {
          const { client, peer } = await pair(res, engine);

          assert.strictEqual(typeof peer.bufferedAmount, 'number');
          assert.strictEqual(peer.bufferedAmount, 0);

          const received = once(client, 'message');
          const err = await sendAndWait(peer, Buffer.alloc(4096, 1));

          assert.ok(err == null);
          assert.strictEqual(peer.bufferedAmount, 0);
          await received;
        }
      );

      check(
        'send() returns false above sendHighWaterMark, then drain',
        async (res) => {
          const { client, peer } = await pair(res, engine, {
            sendHighWaterMark: 1024
          });
          const small = once(client, 'message');

          assert.strictEqual(peer.send('small'), true);
          await small;

          // The client stops reading, so the bytes pile up on the server.
          client.pause();

          const chunk = Buffer.alloc(64 * 1024, 0x61);
          let result = true;
          let sent = 0;

          while (result === true && sent < 256) {
            result = peer.send(chunk);
            sent++;
          }

          assert.strictEqual(result, false, `still true after ${sent} sends`);

          const drained = once(peer, 'drain');

          client.resume();
          await drained;
          assert.ok(peer.bufferedAmount < 1024);
        }
      );
    });

    describe('limits and protocol errors', () => {
      check('maxPayload: a message too big closes with 1009', async (res) => {
        const wss = await listen(res, engine, { maxPayload: 100 });
        const errors = [];
        const peerClosed = new Promise((resolve) => {
          wss.on('connection', (ws) => {
            ws.on('error', (err) => errors.push(err));
            ws.on('close', (code) => resolve(code));
          });
        });
        const client = res.add(new WebSocket(urlOf(wss)));

        await once(client, 'open');

        const clientClosed = when(client, 'close');

        client.send(Buffer.alloc(200, 0x62));

        const [code] = await clientClosed;
        assert.strictEqual(code, 1009);
        await peerClosed;
        assert.strictEqual(errors.length, 1);
        assert.ok(errors[0] instanceof Error);
        assert.strictEqual(errors[0].code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      });

      check(
        'an unmasked client frame fails the connection with 1002',
        async (res) => {
          const wss = await listen(res, engine);
          const errors = [];
          const connected = new Promise((resolve) => {
            wss.on('connection', (ws) => {
              ws.on('error', (err) => errors.push(err));
              resolve(ws);
            });
          });
          const port = wss.address().port;
          const { socket, received } = await rawSocket(res, port);

          socket.write(requestText(port, { headers: upgradeHeaders() }));

          const response = await received.wait(parseResponse);
          assert.strictEqual(response.statusCode, 101);
          const peer = await connected;
          const peerClosed = when(peer, 'close');

          // A text frame "hi" without the mask bit.
          socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));

          const frame = await received.wait((bytes) => {
            return parseFrame(bytes.subarray(response.length));
          });

          assert.strictEqual(frame.opcode, 0x08);
          assert.strictEqual(frame.masked, false);
          assert.ok(frame.payload.length >= 2);
          assert.strictEqual(frame.payload.readUInt16BE(0), 1002);

          socket.destroy();
          await peerClosed;
          assert.strictEqual(errors.length, 1);
          assert.strictEqual(errors[0].code, 'WS_ERR_EXPECTED_MASK');
        }
      );
    });

    describe('verifyClient', () => {
      check('a synchronous false gives 401', async (res) => {
        let info;
        const wss = await listen(res, engine, {
          verifyClient: (i) => {
            info = i;
            return false;
          }
        });
        const port = wss.address().port;
        const response = await rawRequest(
          res,
          port,
          requestText(port, {
            target: '/guarded',
            headers: upgradeHeaders({ Origin: 'http://example.test' })
          })
        );

        assert.strictEqual(response.statusCode, 401);
        assert.strictEqual(info.origin, 'http://example.test');
        assert.strictEqual(info.secure, false);
        assert.strictEqual(info.req.url, '/guarded');
      });

      check('the callback form can refuse with 403 and a body', async (res) => {
        const wss = await listen(res, engine, {
          verifyClient: (info, cb) =>
            setTimeout(() => cb(false, 403, 'Nope'), 10)
        });
        const port = wss.address().port;
        const response = await rawRequest(
          res,
          port,
          requestText(port, { headers: upgradeHeaders() })
        );

        assert.strictEqual(response.statusCode, 403);
        assert.strictEqual(response.body, 'Nope');
      });

      check('the callback form can accept', async (res) => {
        let calls = 0;
        const wss = await listen(res, engine, {
          verifyClient: (info, cb) => {
            calls++;
            setTimeout(() => cb(true), 10);
          }
        });

        echoServer(wss);

        const client = res.add(new WebSocket(urlOf(wss)));

        await once(client, 'open');
        client.send('verified');
        const [data] = await once(client, 'message');

        assert.strictEqual(data.toString(), 'verified');
        assert.strictEqual(calls, 1);
      });
    });

    describe('bad handshakes', () => {
      check('POST is refused with 405', async (res) => {
        const wss = await listen(res, engine);
        const port = wss.address().port;
        const response = await rawRequest(
          res,
          port,
          requestText(port, { method: 'POST', headers: upgradeHeaders() })
        );

        assert.strictEqual(response.statusCode, 405);
        assert.strictEqual(response.body, 'Invalid HTTP method');
      });

      check('a missing Sec-WebSocket-Key is refused with 400', async (res) => {
        const wss = await listen(res, engine);
        const port = wss.address().port;
        const response = await rawRequest(
          res,
          port,
          requestText(port, {
            headers: upgradeHeaders({ 'Sec-WebSocket-Key': undefined })
          })
        );

        assert.strictEqual(response.statusCode, 400);
        assert.strictEqual(
          response.body,
          'Missing or invalid Sec-WebSocket-Key header'
        );
      });

      check(
        'version 7 is refused with 400 and the supported versions',
        async (res) => {
          const wss = await listen(res, engine);
          const port = wss.address().port;
          const response = await rawRequest(
            res,
            port,
            requestText(port, {
              headers: upgradeHeaders({ 'Sec-WebSocket-Version': '7' })
            })
          );

          assert.strictEqual(response.statusCode, 400);
          assert.strictEqual(
            response.headers['sec-websocket-version'],
            '13, 8'
          );
        }
      );

      check(
        'a path other than the path option is refused with 400',
        async (res) => {
          const wss = await listen(res, engine, { path: '/ok' });
          const port = wss.address().port;
          const response = await rawRequest(
            res,
            port,
            requestText(port, {
              target: '/elsewhere',
              headers: upgradeHeaders()
            })
          );

          assert.strictEqual(response.statusCode, 400);

          // The right path, with a query, still works.
          const client = res.add(new WebSocket(urlOf(wss, '/ok?x=1')));
          await once(client, 'open');
        }
      );

      check('a plain GET without Upgrade gets 426', async (res) => {
        const wss = await listen(res, engine);
        const port = wss.address().port;
        const response = await rawRequest(
          res,
          port,
          requestText(port, { headers: { Connection: 'close' } })
        );

        assert.strictEqual(response.statusCode, 426);
      });

      check(
        'a wsClientError listener gets (err, socket, req) and answers',
        async (res) => {
          const wss = await listen(res, engine);
          const port = wss.address().port;
          const seen = [];

          wss.on('wsClientError', (err, socket, req) => {
            seen.push({ err, method: req.method, url: req.url });
            socket.end(
              "HTTP/1.1 418 I'm a Teapot\r\n" +
                'Connection: close\r\n' +
                'Content-Length: 6\r\n' +
                '\r\n' +
                'teapot'
            );
          });

          const response = await rawRequest(
            res,
            port,
            requestText(port, {
              target: '/brew',
              headers: upgradeHeaders({ 'Sec-WebSocket-Key': undefined })
            })
          );

          assert.strictEqual(response.statusCode, 418);
          assert.strictEqual(response.body, 'teapot');
          assert.strictEqual(seen.length, 1);
          assert.ok(seen[0].err instanceof Error);
          assert.strictEqual(
            seen[0].err.message,
            'Missing or invalid Sec-WebSocket-Key header'
          );
          assert.strictEqual(seen[0].method, 'GET');
          assert.strictEqual(seen[0].url, '/brew');
        }
      );
    });

    describe('client tracking', () => {
      check(
        'wss.clients holds the socket and is emptied after close',
        async (res) => {
          const { wss, client, peer } = await pair(res, engine);

          assert.ok(wss.clients instanceof Set);
          assert.strictEqual(wss.clients.size, 1);
          assert.ok(wss.clients.has(peer));

          const peerClosed = once(peer, 'close');

          client.close();
          await peerClosed;
          await nextTurn();
          assert.strictEqual(wss.clients.size, 0);
        }
      );

      check(
        'clientTracking: false leaves wss.clients undefined',
        async (res) => {
          const { wss } = await pair(res, engine, { clientTracking: false });

          assert.strictEqual(wss.clients, undefined);
        }
      );
    });

    describe('wss.close()', () => {
      check(
        'stops accepting, keeps open clients, closes after them',
        async (res) => {
          const { wss, client, peer } = await pair(res, engine);
          const port = wss.address().port;
          const order = [];
          let closeArgs;
          let peerStateAtClose;

          const peerClosed = when(peer, 'close');
          const serverClosed = new Promise((resolve) => {
            wss.close((...args) => {
              closeArgs = args;
              peerStateAtClose = peer.readyState;
              order.push('server closed');
              resolve();
            });
          });

          // A new connection attempt fails.
          const late = res.add(new WebSocket(`ws://${HOST}:${port}`));
          const outcome = await new Promise((resolve) => {
            late.once('open', () => resolve('open'));
            late.once('error', () => resolve('error'));
          });

          assert.strictEqual(outcome, 'error');

          // The open client still works both ways.
          const down = once(client, 'message');
          peer.send('still here');
          assert.strictEqual((await down)[0].toString(), 'still here');

          const up = once(peer, 'message');
          client.send('me too');
          assert.strictEqual((await up)[0].toString(), 'me too');

          await delay(50);
          assert.deepStrictEqual(order, []);

          // 'close' waits for the connection to go. As in ws, it may come
          // before or after the server-side socket's own 'close' event (the
          // TCP connection is gone first), but never while it is open.
          order.push('client closing');
          client.close();
          await serverClosed;
          await peerClosed;

          assert.deepStrictEqual(order, ['client closing', 'server closed']);
          assert.notStrictEqual(peerStateAtClose, WebSocket.OPEN);
          assert.ok(closeArgs.length === 0 || closeArgs[0] == null);
        }
      );
    });

    describe('the headers event', () => {
      check('can add a response header the client sees', async (res) => {
        const wss = await listen(res, engine);
        let first;
        let url;

        wss.on('headers', (headers, req) => {
          first = headers[0];
          url = req.url;
          headers.push('X-Engine-Header: added');
        });

        const client = res.add(new WebSocket(urlOf(wss, '/with-header')));
        // 'open' follows 'upgrade' in the same tick: wait for both at once.
        const [[response]] = await Promise.all([
          once(client, 'upgrade'),
          once(client, 'open')
        ]);

        assert.strictEqual(response.headers['x-engine-header'], 'added');
        assert.strictEqual(first, 'HTTP/1.1 101 Switching Protocols');
        assert.strictEqual(url, '/with-header');
      });
    });
  });
}

// ---------------------------------------------------------------------------
// The native engine only
// ---------------------------------------------------------------------------

/** The source of a worker that runs a native echo server with reusePort. */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { WebSocketServer } = require(workerData.root);

const wss = new WebSocketServer({
  host: workerData.host,
  port: workerData.port,
  engine: 'native',
  reusePort: true
});

wss.on('error', (err) => {
  parentPort.postMessage({ error: String((err && err.stack) || err) });
});
wss.on('listening', () => {
  parentPort.postMessage({ port: wss.address().port });
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
parentPort.once('message', () => {
  wss.close(() => parentPort.postMessage({ closed: true }));
});
`;

/** The source of a child process that must exit on its own. */
function childSource() {
  return `
'use strict';
const WebSocket = require(${JSON.stringify(ROOT)});

const wss = new WebSocket.WebSocketServer({
  host: ${JSON.stringify(HOST)},
  port: 0,
  engine: 'native'
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  const client = new WebSocket('ws://${HOST}:' + wss.address().port);

  client.on('open', () => client.send('echo from the child'));
  client.on('message', (data) => {
    process.stdout.write(JSON.stringify({ echo: data.toString() }) + '\\n');
    client.close();
  });
  client.on('close', () => {
    wss.close((err) => {
      if (err) throw err;
    });
  });
});
`;
}

/**
 * Resolves with the first message of a worker that has `key`; rejects on
 * a reported error, an `'error'` event or an early exit.
 */
function workerMessage(worker, key) {
  return new Promise((resolve, reject) => {
    const done = () => {
      worker.removeListener('message', onMessage);
      worker.removeListener('error', onError);
      worker.removeListener('exit', onExit);
    };
    const onMessage = (message) => {
      if (message.error) {
        done();
        reject(new Error(`worker: ${message.error}`));
      } else if (key in message) {
        done();
        resolve(message);
      }
    };
    const onError = (err) => {
      done();
      reject(err);
    };
    const onExit = (code) => {
      done();
      reject(new Error(`the worker exited early with code ${code}`));
    };

    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

describe('native engine only', () => {
  const engine = 'native';

  check(
    'a worker terminated with its server open takes the engine down',
    async () => {
      // The worker serves one echo on a native server, then is terminated
      // without closing anything: the engine must stop with it (its thread
      // ended, its port and connections closed), or the port would stay open.
      const source = `
      const { parentPort } = require('node:worker_threads');
      const WebSocket = require(${JSON.stringify(path.join(__dirname, '..'))});
      const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1', engine: 'native' });
      wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
      wss.on('listening', () => {
        const client = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        client.on('open', () => client.send('x'));
        client.on('message', () => parentPort.postMessage(wss.address().port));
      });
    `;
      const worker = new Worker(source, { eval: true });
      const [port] = await once(worker, 'message');

      await worker.terminate();

      const refused = await new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');

        socket.on('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.on('error', (err) => resolve(err.code === 'ECONNREFUSED'));
      });

      assert.strictEqual(refused, true, 'the port still accepts connections');
    },
    8000
  );

  check('maxBufferedAmount: a reader that stops gets 1008', async (res) => {
    const { client, peer } = await pair(res, engine, {
      maxBufferedAmount: 256 * 1024
    });
    const events = [];
    let closeCode;

    client.pause();

    peer.on('error', (err) => events.push(`error ${err.code}`));
    const peerClosed = new Promise((resolve) => {
      peer.on('close', (code) => {
        closeCode = code;
        events.push('close');
        resolve();
      });
    });

    // Keep sending 64 KiB messages, a few per turn of the event loop, until
    // the server gives up on the client (or 64 MiB have been offered).
    const chunk = Buffer.alloc(64 * 1024, 0x63);

    for (let sent = 0; sent < 1024 && events.length === 0;) {
      for (let i = 0; i < 16; i++, sent++) peer.send(chunk);
      await nextTurn();
    }

    await within(peerClosed, 3000, 'the server socket to close');
    assert.deepStrictEqual(events, [
      'error ERR_WSRS_SEND_QUEUE_LIMIT',
      'close'
    ]);
    assert.strictEqual(closeCode, 1008);
  });

  check('handshakeTimeout closes a half-sent request', async (res) => {
    const wss = await listen(res, engine, { handshakeTimeout: 200 });
    const { socket, received } = await rawSocket(res, wss.address().port);
    const started = Date.now();

    socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\n`);
    await within(once(socket, 'close'), 2000, 'the server to close it');

    assert.ok(received.ended);
    assert.ok(Date.now() - started >= 150, 'not before the timeout');
  });

  check('20 KB of request headers get 431', async (res) => {
    const wss = await listen(res, engine);
    const port = wss.address().port;
    const response = await rawRequest(
      res,
      port,
      requestText(port, {
        headers: upgradeHeaders({ 'X-Filler': 'f'.repeat(20 * 1024) })
      })
    );

    assert.strictEqual(response.statusCode, 431);
  });

  check('garbage instead of a request gets 400', async (res) => {
    const wss = await listen(res, engine);
    const response = await rawRequest(res, wss.address().port, 'HELLO\r\n\r\n');

    assert.strictEqual(response.statusCode, 400);
  });

  check(
    'reusePort: two servers in two worker threads share a port',
    async (res) => {
      const start = (port) => {
        return res.add(
          new Worker(WORKER_SOURCE, {
            eval: true,
            workerData: { root: ROOT, host: HOST, port }
          })
        );
      };

      const first = start(0);
      const { port } = await workerMessage(first, 'port');

      assert.ok(port > 0);

      const second = start(port);
      const { port: port2 } = await workerMessage(second, 'port');

      assert.strictEqual(port2, port);

      for (let i = 0; i < 8; i++) {
        const client = res.add(new WebSocket(`ws://${HOST}:${port}`));

        await once(client, 'open');
        client.send(`hello ${i}`);
        const [data] = await once(client, 'message');
        assert.strictEqual(data.toString(), `hello ${i}`);

        client.close();
        await once(client, 'close');
      }

      const exits = [first, second].map((worker) => when(worker, 'exit'));
      const closes = [first, second].map((worker) =>
        workerMessage(worker, 'closed')
      );

      first.postMessage('close');
      second.postMessage('close');
      await Promise.all(closes);

      const codes = (await Promise.all(exits)).map(([code]) => code);
      assert.deepStrictEqual(codes, [0, 0]);
    },
    8000
  );

  check(
    'a process using the native engine exits on its own',
    async (res) => {
      const file = path.join(
        os.tmpdir(),
        `wsrs-engines-${process.pid}-${crypto.randomBytes(4).toString('hex')}.js`
      );

      fs.writeFileSync(file, childSource());
      res.defer(() => fs.rmSync(file, { force: true }));

      const child = res.add(childProcess.fork(file, [], { silent: true }));
      let stdout = '';
      let stderr = '';

      child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
      child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));

      const [code, signal] = await within(
        when(child, 'close'),
        5000,
        'the child to exit on its own'
      );

      assert.strictEqual(signal, null, stderr);
      assert.strictEqual(code, 0, stderr);
      assert.deepStrictEqual(JSON.parse(stdout.trim()), {
        echo: 'echo from the child'
      });
    },
    7000
  );
});
