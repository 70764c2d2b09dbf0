'use strict';

const assert = require('node:assert');
const crypto = require('node:crypto');
const http = require('node:http');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');

const LOCALHOST = '127.0.0.1';
const LIMIT = { timeout: 5000 };
const MAGIC = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Starts a server that owns its HTTP server and resolves once it listens. */
async function listen(options = {}) {
  const wss = new WebSocketServer({ host: LOCALHOST, port: 0, ...options });
  await once(wss, 'listening');
  return wss;
}

/** Closes a server and waits for its `'close'` event. */
function shutdown(wss) {
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** A fresh, valid Sec-WebSocket-Key. */
function newKey() {
  return crypto.randomBytes(16).toString('base64');
}

/**
 * Sends a hand-made upgrade request. Resolves with `{ kind: 'upgrade', res,
 * socket }` on 101 and with `{ kind: 'response', res, body }` otherwise.
 */
function rawHandshake(port, { method = 'GET', path = '/', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: LOCALHOST,
      port,
      method,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', ...headers }
    });

    req.on('error', reject);
    req.on('upgrade', (res, socket) =>
      resolve({ kind: 'upgrade', res, socket })
    );
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ kind: 'response', res, body }));
    });
    req.end();
  });
}

/** A request with every header a valid version 13 handshake needs. */
function validHeaders(extra = {}) {
  return {
    'Sec-WebSocket-Key': newKey(),
    'Sec-WebSocket-Version': '13',
    ...extra
  };
}

/** Opens a client and resolves once it is open. */
async function connect(url, protocols, options) {
  const ws = new WebSocket(url, protocols, options);
  await once(ws, 'open');
  return ws;
}

describe('WebSocketServer construction', () => {
  test('needs exactly one of port, server and noServer', () => {
    const message =
      'One and only one of the "port", "server", or "noServer" options ' +
      'must be specified';

    for (const bad of [
      undefined,
      {},
      { port: 0, noServer: true },
      { noServer: true, server: http.createServer() }
    ]) {
      assert.throws(() => new WebSocketServer(bad), {
        name: 'TypeError',
        message
      });
    }
  });

  test('fills in the documented defaults', () => {
    const wss = new WebSocketServer({ noServer: true });
    const o = wss.options;

    assert.strictEqual(o.maxPayload, 100 * 1024 * 1024);
    assert.strictEqual(o.maxFragments, 16384);
    assert.strictEqual(o.maxBufferedChunks, 262144);
    assert.strictEqual(o.closeTimeout, 30000);
    assert.strictEqual(o.perMessageDeflate, false);
    assert.strictEqual(o.allowSynchronousEvents, true);
    assert.strictEqual(o.autoPong, true);
    assert.strictEqual(o.WebSocket, WebSocket);
    assert.ok(wss.clients instanceof Set);
    assert.strictEqual(wss._state, 0);
  });

  test('turns perMessageDeflate: true into an empty object', () => {
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: true
    });
    assert.deepStrictEqual(wss.options.perMessageDeflate, {});
  });

  test('address() throws in noServer mode', () => {
    const wss = new WebSocketServer({ noServer: true });
    assert.throws(() => wss.address(), {
      message: 'The server is operating in "noServer" mode'
    });
  });

  test(
    'the internal HTTP server answers plain requests with 426',
    LIMIT,
    async () => {
      const wss = await listen();
      const { port } = wss.address();
      const res = await new Promise((resolve) =>
        http.get({ host: LOCALHOST, port }, resolve)
      );
      let body = '';
      for await (const chunk of res) body += chunk;

      assert.strictEqual(res.statusCode, 426);
      assert.strictEqual(res.headers['content-type'], 'text/plain');
      assert.strictEqual(body, 'Upgrade Required');
      await shutdown(wss);
    }
  );
});

describe('Handshake validation', () => {
  test('rejects a non-GET request with 405', LIMIT, async () => {
    const wss = await listen();
    const out = await rawHandshake(wss.address().port, { method: 'PUT' });

    assert.strictEqual(out.res.statusCode, 405);
    assert.strictEqual(out.body, 'Invalid HTTP method');
    assert.strictEqual(out.res.headers['content-type'], 'text/html');
    await shutdown(wss);
  });

  test('rejects a bad key with 400', LIMIT, async () => {
    const wss = await listen();
    const out = await rawHandshake(wss.address().port, {
      headers: { 'Sec-WebSocket-Key': 'c2hvcnQ=', 'Sec-WebSocket-Version': 13 }
    });

    assert.strictEqual(out.res.statusCode, 400);
    assert.strictEqual(out.body, 'Missing or invalid Sec-WebSocket-Key header');
    await shutdown(wss);
  });

  test(
    'advertises the supported versions on a version mismatch',
    LIMIT,
    async () => {
      const wss = await listen();
      const out = await rawHandshake(wss.address().port, {
        headers: validHeaders({ 'Sec-WebSocket-Version': '7' })
      });

      assert.strictEqual(out.res.statusCode, 400);
      assert.strictEqual(out.res.headers['sec-websocket-version'], '13, 8');
      assert.strictEqual(
        out.body,
        'Missing or invalid Sec-WebSocket-Version header'
      );
      await shutdown(wss);
    }
  );

  test(
    'accepts version 8 and answers with the right accept key',
    LIMIT,
    async () => {
      const wss = await listen();
      const key = newKey();
      const out = await rawHandshake(wss.address().port, {
        headers: { 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '8' }
      });

      assert.strictEqual(out.kind, 'upgrade');
      const expected = crypto
        .createHash('sha1')
        .update(key + MAGIC)
        .digest('base64');
      assert.strictEqual(out.res.headers['sec-websocket-accept'], expected);
      out.socket.destroy();
      await shutdown(wss);
    }
  );

  test(
    'hands failures to wsClientError listeners instead of answering',
    LIMIT,
    async () => {
      const wss = await listen();
      const seen = [];

      wss.on('wsClientError', (err, socket, req) => {
        seen.push([err.message, req.method]);
        socket.end("HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\n\r\n");
      });

      const out = await rawHandshake(wss.address().port, {
        headers: validHeaders({ Upgrade: 'h2c' })
      });

      assert.strictEqual(out.res.statusCode, 418);
      assert.deepStrictEqual(seen, [['Invalid Upgrade header', 'GET']]);
      await shutdown(wss);
    }
  );
});

describe('The path option', () => {
  test(
    'only upgrades matching pathnames, ignoring the query',
    LIMIT,
    async () => {
      const wss = await listen({ path: '/chat' });
      const { port } = wss.address();

      const wrong = await rawHandshake(port, {
        path: '/other',
        headers: validHeaders()
      });
      assert.strictEqual(wrong.res.statusCode, 400);
      assert.strictEqual(wrong.body, 'Bad Request');

      const ws = await connect(`ws://${LOCALHOST}:${port}/chat?room=1`);
      ws.terminate();
      await shutdown(wss);
    }
  );

  test('shouldHandle can be overridden', () => {
    class OnlyAdmins extends WebSocketServer {
      shouldHandle(req) {
        return req.url.startsWith('/admin');
      }
    }
    const wss = new OnlyAdmins({ noServer: true });

    assert.strictEqual(wss.shouldHandle({ url: '/admin/x' }), true);
    assert.strictEqual(wss.shouldHandle({ url: '/user' }), false);
  });
});

describe('verifyClient', () => {
  test('a synchronous false gives 401', LIMIT, async () => {
    let info;
    const wss = await listen({
      verifyClient: (i) => {
        info = i;
        return false;
      }
    });
    const out = await rawHandshake(wss.address().port, {
      headers: validHeaders({ Origin: 'http://example.org' })
    });

    assert.strictEqual(out.res.statusCode, 401);
    assert.strictEqual(info.origin, 'http://example.org');
    assert.strictEqual(info.secure, false);
    assert.ok(info.req instanceof http.IncomingMessage);
    await shutdown(wss);
  });

  test(
    'version 8 clients are checked against Sec-WebSocket-Origin',
    LIMIT,
    async () => {
      let origin;
      const wss = await listen({
        verifyClient: (i) => {
          origin = i.origin;
          return false;
        }
      });

      await rawHandshake(wss.address().port, {
        headers: validHeaders({
          'Sec-WebSocket-Version': '8',
          'Sec-WebSocket-Origin': 'http://legacy.example',
          Origin: 'http://ignored.example'
        })
      });
      assert.strictEqual(origin, 'http://legacy.example');
      await shutdown(wss);
    }
  );

  test('the callback form can set code, body and headers', LIMIT, async () => {
    const wss = await listen({
      verifyClient: (info, done) => {
        setImmediate(done, false, 429, 'Slow down', { 'Retry-After': '5' });
      }
    });
    const out = await rawHandshake(wss.address().port, {
      headers: validHeaders()
    });

    assert.strictEqual(out.res.statusCode, 429);
    assert.strictEqual(out.res.headers['retry-after'], '5');
    assert.strictEqual(out.body, 'Slow down');
    await shutdown(wss);
  });

  test('the callback form can accept', LIMIT, async () => {
    const wss = await listen({
      verifyClient: (info, done) => setImmediate(done, true)
    });
    const accepted = once(wss, 'connection');
    const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`);

    await accepted;
    ws.terminate();
    await shutdown(wss);
  });
});

describe('handleProtocols', () => {
  test('defaults to the first offered protocol', LIMIT, async () => {
    const wss = await listen();
    const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`, [
      'alpha',
      'beta'
    ]);

    assert.strictEqual(ws.protocol, 'alpha');
    ws.terminate();
    await shutdown(wss);
  });

  test(
    'receives a Set and the request, and its choice is used',
    LIMIT,
    async () => {
      let offered;
      const wss = await listen({
        handleProtocols: (protocols, req) => {
          offered = [...protocols];
          assert.ok(req instanceof http.IncomingMessage);
          return 'beta';
        }
      });
      const serverSide = once(wss, 'connection');
      const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`, [
        'alpha',
        'beta'
      ]);
      const [peer] = await serverSide;

      assert.deepStrictEqual(offered, ['alpha', 'beta']);
      assert.strictEqual(ws.protocol, 'beta');
      assert.strictEqual(peer.protocol, 'beta');
      ws.terminate();
      await shutdown(wss);
    }
  );

  test('is not called when no protocol is offered', LIMIT, async () => {
    let calls = 0;
    const wss = await listen({
      handleProtocols: () => {
        calls++;
        return 'x';
      }
    });
    const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`);

    assert.strictEqual(calls, 0);
    assert.strictEqual(ws.protocol, '');
    ws.terminate();
    await shutdown(wss);
  });

  test(
    'an invalid Sec-WebSocket-Protocol header gives 400',
    LIMIT,
    async () => {
      const wss = await listen();
      const out = await rawHandshake(wss.address().port, {
        headers: validHeaders({ 'Sec-WebSocket-Protocol': 'a, a' })
      });

      assert.strictEqual(out.res.statusCode, 400);
      assert.strictEqual(out.body, 'Invalid Sec-WebSocket-Protocol header');
      await shutdown(wss);
    }
  );
});

describe('noServer and handleUpgrade', () => {
  test('upgrades requests routed by the caller', LIMIT, async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    const headerEvents = [];

    wss.on('headers', (lines) => {
      headerEvents.push(lines[0]);
      lines.push('X-Powered-By: wsrs-test');
    });

    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws, request) => {
        assert.strictEqual(request, req);
        ws.send('routed');
      });
    });
    server.listen(0, LOCALHOST);
    await once(server, 'listening');

    const ws = new WebSocket(`ws://${LOCALHOST}:${server.address().port}`);
    const upgraded = once(ws, 'upgrade');
    const received = once(ws, 'message');
    const [res] = await upgraded;
    const [data, isBinary] = await received;

    assert.strictEqual(res.headers['x-powered-by'], 'wsrs-test');
    assert.deepStrictEqual(headerEvents, ['HTTP/1.1 101 Switching Protocols']);
    assert.strictEqual(data.toString(), 'routed');
    assert.strictEqual(isBinary, false);
    assert.strictEqual(wss.clients.size, 1);

    ws.close();
    await once(ws, 'close');
    await shutdown(wss);
    server.close();
    await once(server, 'close');
  });

  test(
    'a second handleUpgrade() on the same socket throws',
    LIMIT,
    async () => {
      const server = http.createServer();
      const wss = new WebSocketServer({ noServer: true });
      let thrown;

      server.on('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (ws) => ws.close());
        try {
          wss.handleUpgrade(req, socket, head, () => {});
        } catch (err) {
          thrown = err;
        }
      });
      server.listen(0, LOCALHOST);
      await once(server, 'listening');

      const ws = new WebSocket(`ws://${LOCALHOST}:${server.address().port}`);
      await once(ws, 'close');

      assert.strictEqual(
        thrown.message,
        'server.handleUpgrade() was called more than once with the same ' +
          'socket, possibly due to a misconfiguration'
      );
      server.close();
      await once(server, 'close');
    }
  );

  test('answers 503 once the server is closing', LIMIT, async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });

    server.on('upgrade', (req, socket, head) => {
      wss.close();
      wss.handleUpgrade(req, socket, head, () => {
        assert.fail('must not upgrade');
      });
    });
    server.listen(0, LOCALHOST);
    await once(server, 'listening');

    const out = await rawHandshake(server.address().port, {
      headers: validHeaders()
    });
    assert.strictEqual(out.res.statusCode, 503);
    assert.strictEqual(out.body, 'Service Unavailable');
    server.close();
    await once(server, 'close');
  });
});

describe('close()', () => {
  test(
    'with a borrowed server, waits for tracked clients and keeps the server',
    LIMIT,
    async () => {
      const server = http.createServer();
      const wss = new WebSocketServer({ server });
      server.listen(0, LOCALHOST);
      await once(server, 'listening');

      const serverSide = once(wss, 'connection');
      const ws = await connect(`ws://${LOCALHOST}:${server.address().port}`);
      const [peer] = await serverSide;
      const clientClosed = once(ws, 'close');

      let closed = false;
      wss.close(() => (closed = true));
      await new Promise((resolve) => setImmediate(resolve));

      assert.strictEqual(closed, false);
      assert.strictEqual(wss._state, 1);
      assert.strictEqual(server.listening, true);
      assert.strictEqual(server.listenerCount('upgrade'), 0);

      peer.close();
      await once(wss, 'close');
      assert.strictEqual(closed, true);
      assert.strictEqual(wss._state, 2);
      assert.strictEqual(server.listening, true);

      await clientClosed;
      server.close();
      await once(server, 'close');
    }
  );

  test(
    'with its own server, leaves open connections alone',
    LIMIT,
    async () => {
      const wss = await listen();
      const serverSide = once(wss, 'connection');
      const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`);
      const [peer] = await serverSide;

      wss.close();
      assert.strictEqual(wss.address(), null);

      // The connection still works in both directions.
      peer.send('still here');
      const [data] = await once(ws, 'message');
      assert.strictEqual(data.toString(), 'still here');

      ws.close();
      await once(wss, 'close');
      assert.strictEqual(wss._state, 2);
    }
  );

  test('without client tracking, closes on the next tick', LIMIT, async () => {
    const wss = new WebSocketServer({ noServer: true, clientTracking: false });

    assert.strictEqual(wss.clients, undefined);
    let sync = true;
    const closed = new Promise((resolve) => wss.close(() => resolve(sync)));
    sync = false;
    assert.strictEqual(await closed, false);
  });

  test(
    'after close, a callback gets "The server is not running"',
    LIMIT,
    async () => {
      const wss = new WebSocketServer({ noServer: true });
      await shutdown(wss);

      const err = await new Promise((resolve) => wss.close(resolve));
      assert.ok(err instanceof Error);
      assert.strictEqual(err.message, 'The server is not running');
    }
  );

  test('repeated calls while closing emit close once', LIMIT, async () => {
    const wss = await listen();
    let count = 0;

    wss.on('close', () => count++);
    wss.close();
    wss.close();
    await once(wss, 'close');
    await new Promise((resolve) => setImmediate(resolve));
    assert.strictEqual(count, 1);
  });
});

describe('Connection options', () => {
  test('passes the receiver limits to setSocket', LIMIT, async () => {
    const wss = await listen({
      maxPayload: 4096,
      maxFragments: 7,
      maxBufferedChunks: 9
    });
    const serverSide = once(wss, 'connection');
    const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`);
    const [peer] = await serverSide;

    assert.strictEqual(peer._receiver._maxPayload, 4096);
    assert.strictEqual(peer._receiver._maxFragments, 7);
    assert.strictEqual(peer._receiver._maxBufferedChunks, 9);

    ws.terminate();
    await shutdown(wss);
  });

  test('negotiates permessage-deflate when enabled', LIMIT, async () => {
    const wss = await listen({ perMessageDeflate: { threshold: 0 } });
    const serverSide = once(wss, 'connection');
    const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`);
    const [peer] = await serverSide;

    assert.strictEqual(ws.extensions, 'permessage-deflate');
    assert.strictEqual(peer.extensions, 'permessage-deflate');

    const payload = 'z'.repeat(2000);
    peer.send(payload);
    const [data] = await once(ws, 'message');
    assert.strictEqual(data.toString(), payload);

    ws.terminate();
    await shutdown(wss);
  });

  test('uses a WebSocket subclass given as an option', LIMIT, async () => {
    class Tagged extends WebSocket {}
    const wss = await listen({ WebSocket: Tagged });
    const serverSide = once(wss, 'connection');
    const ws = await connect(`ws://${LOCALHOST}:${wss.address().port}`);
    const [peer] = await serverSide;

    assert.ok(peer instanceof Tagged);
    ws.terminate();
    await shutdown(wss);
  });
});
