'use strict';

// Client/server behaviour of lib/websocket.js, exercised over loopback.

const assert = require('node:assert');
const crypto = require('node:crypto');
const http = require('node:http');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HOST = '127.0.0.1';

/** Start a WebSocketServer on an ephemeral loopback port. */
async function startServer(options = {}) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...options });

  await once(wss, 'listening');
  return { wss, url: `ws://${HOST}:${wss.address().port}` };
}

/** Close a WebSocketServer, terminating whatever clients are left. */
function stopServer(wss) {
  for (const client of wss.clients) client.terminate();
  return new Promise((resolve) => wss.close(() => resolve()));
}

/**
 * Start a bare HTTP server whose `upgrade` handler writes a hand-made
 * response, so that the client can be fed broken handshakes.
 */
async function startRawUpgradeServer(respond) {
  const server = http.createServer();

  server.on('upgrade', (req, socket) => {
    socket.on('error', () => {});
    respond(req, socket);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return { server, url: `ws://${HOST}:${server.address().port}` };
}

function acceptFor(req) {
  return crypto
    .createHash('sha1')
    .update(req.headers['sec-websocket-key'] + GUID)
    .digest('base64');
}

/** Wait for the error + close pair of a failed handshake. */
function handshakeFailure(ws) {
  // `events.once()` would reject on 'error', so collect the pair by hand.
  return new Promise((resolve) => {
    let err = null;

    ws.once('error', (e) => {
      err = e;
    });
    ws.once('close', (code) => resolve({ err, code }));
  });
}

/** A test bounded in time, so that a hang fails fast. */
function check(title, fn) {
  return test(title, { timeout: 5000 }, fn);
}

describe('WebSocket client and server', { timeout: 30000 }, () => {
  check('echoes text and binary messages', async () => {
    const { wss, url } = await startServer();

    wss.on('connection', (peer) => {
      peer.on('message', (data, isBinary) => {
        peer.send(data, { binary: isBinary });
      });
    });

    const ws = new WebSocket(url);

    await once(ws, 'open');
    assert.strictEqual(ws.readyState, WebSocket.OPEN);

    ws.send('hello there');
    let [data, isBinary] = await once(ws, 'message');
    assert.strictEqual(isBinary, false);
    assert.ok(Buffer.isBuffer(data));
    assert.strictEqual(data.toString(), 'hello there');

    const blob = crypto.randomBytes(70000);
    ws.send(blob);
    [data, isBinary] = await once(ws, 'message');
    assert.strictEqual(isBinary, true);
    assert.ok(data.equals(blob));

    ws.binaryType = 'arraybuffer';
    ws.send(new Uint8Array([1, 2, 3]));
    [data] = await once(ws, 'message');
    assert.ok(data instanceof ArrayBuffer);
    assert.deepStrictEqual([...new Uint8Array(data)], [1, 2, 3]);

    ws.close();
    await once(ws, 'close');
    await stopServer(wss);
  });

  check('carries close codes and reasons in both directions', async () => {
    const { wss, url } = await startServer();
    const serverSaw = new Promise((resolve) => {
      wss.on('connection', (peer) => {
        peer.on('close', (code, reason) => resolve([code, reason.toString()]));
      });
    });

    const ws = new WebSocket(url);

    await once(ws, 'open');
    ws.close(4001, 'bye now');
    assert.strictEqual(ws.readyState, WebSocket.CLOSING);

    const [code, reason] = await once(ws, 'close');

    assert.strictEqual(code, 4001);
    assert.strictEqual(reason.toString(), 'bye now');
    assert.deepStrictEqual(await serverSaw, [4001, 'bye now']);
    assert.strictEqual(ws.readyState, WebSocket.CLOSED);
    await stopServer(wss);
  });

  check('reports 1005 for an empty close frame, 1006 for none', async () => {
    const { wss, url } = await startServer();
    let first = true;

    wss.on('connection', (peer) => {
      if (first) {
        first = false;
        peer.close();
      } else {
        peer.terminate();
      }
    });

    const a = new WebSocket(url);
    const [codeA, reasonA] = await once(a, 'close');

    assert.strictEqual(codeA, 1005);
    assert.strictEqual(reasonA.length, 0);

    const b = new WebSocket(url);
    const [codeB] = await once(b, 'close');

    assert.strictEqual(codeB, 1006);
    await stopServer(wss);
  });

  check('answers pings automatically and emits ping/pong events', async () => {
    const { wss, url } = await startServer();
    const gotPong = new Promise((resolve) => {
      wss.on('connection', (peer) => {
        peer.on('pong', (data) => resolve(data.toString()));
        peer.ping('are you there');
      });
    });

    const ws = new WebSocket(url);
    const [pingData] = await once(ws, 'ping');

    assert.strictEqual(pingData.toString(), 'are you there');
    assert.strictEqual(await gotPong, 'are you there');

    ws.ping(42);
    const [pongData] = await once(ws, 'pong');
    assert.strictEqual(pongData.toString(), '42');

    ws.terminate();
    await once(ws, 'close');
    await stopServer(wss);
  });

  check('does not answer pings when autoPong is false', async () => {
    const { wss, url } = await startServer();
    let pongs = 0;

    wss.on('connection', (peer) => {
      peer.on('pong', () => pongs++);
      peer.ping();
    });

    const ws = new WebSocket(url, { autoPong: false });

    await once(ws, 'ping');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.strictEqual(pongs, 0);
    ws.close();
    await once(ws, 'close');
    await stopServer(wss);
  });

  check('negotiates a subprotocol', async () => {
    const { wss, url } = await startServer({
      handleProtocols: (offered) => offered.has('chat.v2') && 'chat.v2'
    });

    const ws = new WebSocket(url, ['chat.v1', 'chat.v2']);

    await once(ws, 'open');
    assert.strictEqual(ws.protocol, 'chat.v2');
    ws.close();
    await once(ws, 'close');

    const none = new WebSocket(url, 'chat.v1');
    const { err } = await handshakeFailure(none);

    assert.strictEqual(err.message, 'Server sent no subprotocol');
    await stopServer(wss);
  });

  check('negotiates permessage-deflate (`extensions`)', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: true });

    wss.on('connection', (peer) => peer.on('message', (m) => peer.send(m)));

    const ws = new WebSocket(url);

    await once(ws, 'open');
    assert.strictEqual(ws.extensions, 'permessage-deflate');
    ws.send('x'.repeat(5000));
    const [data] = await once(ws, 'message');
    assert.strictEqual(data.toString(), 'x'.repeat(5000));
    ws.close();
    await once(ws, 'close');

    const plain = new WebSocket(url, { perMessageDeflate: false });
    await once(plain, 'open');
    assert.strictEqual(plain.extensions, '');
    plain.close();
    await once(plain, 'close');
    await stopServer(wss);
  });

  check('rejects bad constructor arguments synchronously', () => {
    assert.throws(() => new WebSocket('not a url'), {
      name: 'SyntaxError',
      message: 'Invalid URL: not a url'
    });
    assert.throws(() => new WebSocket('ftp://example.com'), SyntaxError);
    assert.throws(() => new WebSocket('ws://example.com/#frag'), {
      message: 'The URL contains a fragment identifier'
    });
    assert.throws(() => new WebSocket('ws://example.com', ['a b']), {
      message: 'An invalid or duplicated subprotocol was specified'
    });
    assert.throws(
      () => new WebSocket('ws://example.com', { protocolVersion: 7 }),
      RangeError
    );
  });

  check('fails the handshake on a wrong Sec-WebSocket-Accept', async () => {
    const { server, url } = await startRawUpgradeServer((req, socket) => {
      socket.end(
        'HTTP/1.1 101 Switching Protocols\r\n' +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Accept: nope\r\n\r\n'
      );
    });

    const { err, code } = await handshakeFailure(new WebSocket(url));

    assert.strictEqual(err.message, 'Invalid Sec-WebSocket-Accept header');
    assert.strictEqual(code, 1006);
    server.close();
  });

  check('rejects an unrequested subprotocol or extension', async () => {
    let extra = '';
    const { server, url } = await startRawUpgradeServer((req, socket) => {
      socket.end(
        'HTTP/1.1 101 Switching Protocols\r\n' +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptFor(req)}\r\n${extra}\r\n`
      );
    });

    extra = 'Sec-WebSocket-Protocol: surprise\r\n';
    let result = await handshakeFailure(new WebSocket(url));
    assert.strictEqual(
      result.err.message,
      'Server sent a subprotocol but none was requested'
    );

    extra = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
    result = await handshakeFailure(
      new WebSocket(url, { perMessageDeflate: false })
    );
    assert.strictEqual(
      result.err.message,
      'Server sent a Sec-WebSocket-Extensions header but no extension ' +
        'was requested'
    );

    extra = 'Sec-WebSocket-Extensions: x-custom\r\n';
    result = await handshakeFailure(new WebSocket(url));
    assert.strictEqual(
      result.err.message,
      'Server indicated an extension that was not requested'
    );
    server.close();
  });

  check('reports an unexpected HTTP response', async () => {
    const { server, url } = await startRawUpgradeServer((req, socket) => {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\nConnection: close\r\n' +
          'Content-Length: 0\r\n\r\n'
      );
    });

    const { err, code } = await handshakeFailure(new WebSocket(url));

    assert.strictEqual(err.message, 'Unexpected server response: 403');
    assert.strictEqual(code, 1006);

    // With a listener the response is handed over instead of failing.
    const ws = new WebSocket(url);
    const [req, res] = await once(ws, 'unexpected-response');

    assert.strictEqual(res.statusCode, 403);
    assert.strictEqual(ws.readyState, WebSocket.CONNECTING);
    ws.on('error', () => {});
    req.destroy();
    server.close();
  });

  check('times out a stalled handshake', async () => {
    const { server, url } = await startRawUpgradeServer(() => {});
    const ws = new WebSocket(url, { handshakeTimeout: 50 });
    const { err } = await handshakeFailure(ws);

    assert.strictEqual(err.message, 'Opening handshake has timed out');
    server.closeAllConnections();
    server.close();
  });

  check('aborts the handshake when closed while connecting', async () => {
    const { server, url } = await startRawUpgradeServer(() => {});
    const ws = new WebSocket(url);

    assert.throws(() => ws.send('early'), {
      message: 'WebSocket is not open: readyState 0 (CONNECTING)'
    });
    ws.close();

    const { err } = await handshakeFailure(ws);

    assert.strictEqual(
      err.message,
      'WebSocket was closed before the connection was established'
    );
    assert.strictEqual(ws.readyState, WebSocket.CLOSED);
    server.closeAllConnections();
    server.close();
  });

  check('fails sends after close and counts their bytes', async () => {
    const { wss, url } = await startServer();
    const ws = new WebSocket(url);

    await once(ws, 'open');
    ws.close();

    const before = ws.bufferedAmount;
    const failed = new Promise((resolve) => ws.send('abcd', resolve));

    assert.strictEqual(ws.bufferedAmount, before + 4);

    const err = await failed;

    assert.strictEqual(
      err.message,
      'WebSocket is not open: readyState 2 (CLOSING)'
    );
    await once(ws, 'close');
    await stopServer(wss);
  });

  check('follows redirects when asked to', async () => {
    const { wss, url } = await startServer();
    const redirector = http.createServer();

    redirector.on('upgrade', (req, socket) => {
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${url}/landed\r\n\r\n`);
    });
    redirector.listen(0, HOST);
    await once(redirector, 'listening');

    const from = `ws://${HOST}:${redirector.address().port}/start`;
    const ws = new WebSocket(from, { followRedirects: true });
    const [redirectedTo] = await once(ws, 'redirect');

    assert.strictEqual(redirectedTo, `${url}/landed`);
    await once(ws, 'open');
    assert.strictEqual(ws.url, `${url}/landed`);
    ws.close();
    await once(ws, 'close');

    const stay = new WebSocket(from);
    const { err } = await handshakeFailure(stay);
    assert.strictEqual(err.message, 'Unexpected server response: 302');

    redirector.close();
    await stopServer(wss);
  });

  check('supports the on* attributes and addEventListener', async () => {
    const { wss, url } = await startServer();

    wss.on('connection', (peer) => peer.send('greeting'));

    const ws = new WebSocket(url);
    const seen = [];

    ws.onopen = () => seen.push('open');
    ws.addEventListener('message', (event) => {
      seen.push(`message:${event.data}`);
      ws.close(1000);
    });

    const closed = new Promise((resolve) => {
      ws.onclose = (event) => resolve(event);
    });
    const event = await closed;

    assert.deepStrictEqual(seen, ['open', 'message:greeting']);
    assert.strictEqual(event.code, 1000);
    assert.strictEqual(event.wasClean, true);
    assert.strictEqual(typeof ws.onclose, 'function');
    ws.onclose = null;
    assert.strictEqual(ws.onclose, null);
    await stopServer(wss);
  });
});
