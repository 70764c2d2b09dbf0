'use strict';

// What changed in ws between 8.21 and 8.23.1 (issue 16), each behaviour
// checked over loopback against a wsrs server or client.

const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('..');
const { WebSocketServer } = WebSocket;
const { toBuffer } = require('../lib/buffer-util');

const HOST = '127.0.0.1';

/** Starts a server; resolves to it and its ws:// URL. */
async function serve(options = {}) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...options });

  await once(wss, 'listening');
  return { wss, url: `ws://${HOST}:${wss.address().port}` };
}

/** Closes a server and whatever it still has. */
function shut(wss) {
  for (const ws of wss.clients) ws.terminate();
  return new Promise((resolve) => wss.close(resolve));
}

/** Sends a handshake by hand; resolves to the response's status and headers. */
function handshake(port, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: HOST,
      port,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
        ...headers
      }
    });

    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, headers: res.headers });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ws 8.22 defaults: fragments and buffered chunks', () => {
  test('the defaults are 262,144 chunks, 16,384 fragments and 60 pending pongs', () => {
    const wss = new WebSocketServer({ noServer: true });

    assert.strictEqual(wss.options.maxBufferedChunks, 262144);
    assert.strictEqual(wss.options.maxFragments, 16384);
    assert.strictEqual(wss.options.maxPendingAutoPongs, 60);
  });

  test(
    '16,384 empty fragments make a message; one more closes with 1008',
    { timeout: 20000 },
    async () => {
      const { wss, url } = await serve();
      const results = [];

      wss.on('connection', (ws) => {
        ws.on('message', (data) => results.push(['message', data.length]));
        ws.on('error', (err) =>
          results.push(['error', err.name, err.message, err.code])
        );
      });

      for (const count of [16384, 16385]) {
        const client = new WebSocket(url);

        await once(client, 'open');
        for (let i = 1; i < count; i++) client.send('', { fin: false });
        client.send('', { fin: true });

        if (count === 16384) {
          await new Promise((resolve) => {
            const poll = setInterval(() => {
              if (results.length > 0) resolve(clearInterval(poll));
            }, 10);
          });
          client.close();
        } else {
          const [code] = await once(client, 'close');

          assert.strictEqual(code, 1008);
        }
      }

      assert.deepStrictEqual(results, [
        ['message', 0],
        [
          'error',
          'RangeError',
          'Too many message fragments',
          'WS_ERR_TOO_MANY_BUFFERED_PARTS'
        ]
      ]);
      await shut(wss);
    }
  );

  test(
    'the client has the same fragment limit',
    { timeout: 20000 },
    async () => {
      const { wss, url } = await serve();

      wss.on('connection', (ws) => {
        for (let i = 0; i < 16385; i++) ws.send('x', { fin: false });
        ws.send('', { fin: true });
      });

      const client = new WebSocket(url);
      const [err] = await once(client, 'error');

      assert.strictEqual(err.code, 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
      assert.ok(err instanceof RangeError);
      assert.strictEqual(client.readyState, WebSocket.CLOSING);
      await shut(wss);
    }
  );
});

describe('ws 8.22: the client protocols option', () => {
  test('new WebSocket(url, { protocols }) and (url, undefined, { protocols })', async () => {
    const offered = [];
    const { wss, url } = await serve({
      handleProtocols: (protocols) => {
        offered.push([...protocols]);
        return protocols.values().next().value;
      }
    });

    for (const ws of [
      new WebSocket(url, { protocols: 'chat' }),
      new WebSocket(url, undefined, { protocols: ['json', 'chat'] })
    ]) {
      await once(ws, 'open');
      ws.close();
    }

    assert.deepStrictEqual(offered, [['chat'], ['json', 'chat']]);
    await shut(wss);
  });
});

describe('ws 8.22: window bits, strictly', () => {
  test('the server refuses 09, 1e1 and 10.0 with 400, and takes 10', async () => {
    const { wss } = await serve({ perMessageDeflate: true });
    const port = wss.address().port;

    for (const value of ['09', '1e1', '10.0', '0x9', ' 10']) {
      for (const param of [
        'client_max_window_bits',
        'server_max_window_bits'
      ]) {
        const { status } = await handshake(port, {
          'Sec-WebSocket-Extensions': `permessage-deflate; ${param}=${value}`
        });

        assert.strictEqual(status, 400, `${param}=${value}`);
      }
    }

    const ok = await handshake(port, {
      'Sec-WebSocket-Extensions':
        'permessage-deflate; client_max_window_bits=10'
    });

    assert.strictEqual(ok.status, 101);
    await shut(wss);
  });

  test('a server whose clientMaxWindowBits is a number refuses a smaller client offer', async () => {
    const { wss } = await serve({
      perMessageDeflate: { clientMaxWindowBits: 12 }
    });
    const port = wss.address().port;
    const offer = (bits) =>
      handshake(port, {
        'Sec-WebSocket-Extensions': `permessage-deflate; client_max_window_bits${bits}`
      });

    assert.strictEqual((await offer('=11')).status, 400);
    assert.strictEqual((await offer('=12')).status, 101);
    assert.strictEqual((await offer('=15')).status, 101);
    assert.strictEqual((await offer('')).status, 101);
    await shut(wss);
  });

  test('the client refuses a response with window bits 09', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', (head) => {
        const key = /sec-websocket-key: (\S+)/i.exec(String(head))[1];
        const accept = require('node:crypto')
          .createHash('sha1')
          .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
          .digest('base64');

        socket.end(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${accept}\r\n` +
            'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=09\r\n\r\n'
        );
      });
    });

    await new Promise((resolve) => server.listen(0, HOST, resolve));

    const ws = new WebSocket(`ws://${HOST}:${server.address().port}`);
    const [err] = await once(ws, 'error');

    assert.match(
      err.message,
      /Sec-WebSocket-Extensions|server_max_window_bits/
    );
    await once(ws, 'close');
    server.close();
  });
});

describe('ws 8.22: Sec-WebSocket-Version compared as a string', () => {
  test('13.0 and 0xd get 400 with Sec-WebSocket-Version: 13, 8', async () => {
    const { wss } = await serve();
    const port = wss.address().port;

    for (const version of ['13.0', '0xd', '013', '1e1']) {
      const { status, headers } = await handshake(port, {
        'Sec-WebSocket-Version': version
      });

      assert.strictEqual(status, 400, version);
      assert.strictEqual(headers['sec-websocket-version'], '13, 8');
    }
    assert.strictEqual(
      (await handshake(port, { 'Sec-WebSocket-Version': '13' })).status,
      101
    );
    await shut(wss);
  });
});

describe('ws 8.22/8.23: the client URL', () => {
  test('credentials are percent-decoded before Basic auth', async () => {
    let authorization;
    const { wss, url } = await serve({
      verifyClient: (info) => {
        authorization = info.req.headers.authorization;
        return true;
      }
    });
    const target = url.replace('ws://', 'ws://us%40er:p%3As%20s@');
    const ws = new WebSocket(target);

    await once(ws, 'open');
    ws.close();
    assert.strictEqual(
      Buffer.from(authorization.slice('Basic '.length), 'base64').toString(),
      'us@er:p:s s'
    );
    await shut(wss);
  });

  test(
    'a ws+unix: socket path ends at the first colon',
    { skip: process.platform === 'win32' },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-unix-'));
      const socketPath = path.join(dir, 's.sock');
      const server = http.createServer();
      const wss = new WebSocketServer({ server });
      let requested;

      wss.on('connection', (ws, req) => {
        requested = req.url;
        ws.close();
      });
      await new Promise((resolve) => server.listen(socketPath, resolve));

      const ws = new WebSocket(`ws+unix:${socketPath}:/a:b/c:d?e=f:g`);

      await once(ws, 'close');
      assert.strictEqual(requested, '/a:b/c:d?e=f:g');
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  );

  test('an http: URL object is converted without being changed', async () => {
    const { wss, url } = await serve();
    const given = new URL(url.replace('ws:', 'http:'));
    const ws = new WebSocket(given);

    await once(ws, 'open');
    assert.strictEqual(given.protocol, 'http:');
    assert.strictEqual(ws.url, url + '/');
    ws.close();
    await shut(wss);
  });
});

/** An HTTP agent that throws on every request after the first `allowed`. */
class RefusingAgent extends http.Agent {
  constructor(allowed) {
    super();
    this.allowed = allowed;
    this.requests = 0;
  }

  addRequest(req, options) {
    if (++this.requests > this.allowed)
      throw new Error(`request ${this.requests} refused`);
    return super.addRequest(req, options);
  }
}

describe('ws 8.23: a redirect whose request fails synchronously', () => {
  test("is reported as 'error' then 'close', not thrown", async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(302, { Location: '/next' });
      res.end();
    });

    await new Promise((resolve) => server.listen(0, HOST, resolve));

    // http.request() calls an agent's addRequest() synchronously, so an
    // agent that refuses the second request makes the redirect's request
    // throw.
    const agent = new RefusingAgent(1);
    const ws = new WebSocket(`ws://${HOST}:${server.address().port}/`, {
      followRedirects: true,
      agent
    });
    const events = [];

    ws.on('error', (err) => events.push(`error: ${err.message}`));
    // Not events.once(): it rejects on 'error'.
    await new Promise((resolve) => ws.on('close', resolve));
    events.push('close');
    assert.deepStrictEqual(events, ['error: request 2 refused', 'close']);
    server.close();
  });

  test('the first request failing synchronously still throws', () => {
    assert.throws(
      () => new WebSocket(`ws://${HOST}:1/`, { agent: new RefusingAgent(0) }),
      { message: 'request 1 refused' }
    );
  });
});

describe('ws 8.22/8.23: buffers', () => {
  test('a SharedArrayBuffer is accepted wherever a Buffer is', async () => {
    const shared = new SharedArrayBuffer(4);

    new Uint8Array(shared).set([1, 2, 3, 4]);
    assert.deepStrictEqual([...toBuffer(shared)], [1, 2, 3, 4]);

    const { wss, url } = await serve();

    wss.on('connection', (ws) =>
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    );

    const ws = new WebSocket(url);

    await once(ws, 'open');
    ws.send(shared);
    ws.ping(shared);
    const [data, isBinary] = await once(ws, 'message');

    assert.deepStrictEqual([...data], [1, 2, 3, 4]);
    assert.strictEqual(isBinary, true);
    ws.close();
    await shut(wss);
  });

  test('the close reason is a copy, not a view of the socket chunk', async () => {
    const { wss, url } = await serve();

    wss.on('connection', (ws) => ws.close(4000, 'bye now'));

    const ws = new WebSocket(url);
    const [code, reason] = await once(ws, 'close');

    assert.strictEqual(code, 4000);
    assert.strictEqual(String(reason), 'bye now');
    assert.strictEqual(reason.buffer.byteLength, reason.length);
    await shut(wss);
  });

  test('readyState becomes CLOSING only once the Sender took the close frame', async () => {
    const { wss, url } = await serve();
    const ws = new WebSocket(url);

    await once(ws, 'open');
    assert.throws(() => ws.close(1005), TypeError);
    assert.strictEqual(ws.readyState, WebSocket.OPEN);
    assert.throws(() => ws.close(1000, 'x'.repeat(124)), RangeError);
    assert.strictEqual(ws.readyState, WebSocket.OPEN);
    ws.close(1000);
    assert.strictEqual(ws.readyState, WebSocket.CLOSING);
    await once(ws, 'close');
    await shut(wss);
  });
});
