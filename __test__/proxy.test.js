'use strict';

// The client's `proxy` option: HTTP CONNECT tunnels through a small proxy
// started here on 127.0.0.1, for ws: and wss:, with and without proxy
// authentication, refusals, and the environment variables of `proxy: true`.

const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { after, before, describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');
const { matchesNoProxy } = require('../lib/proxy/proxy');

const HOST = '127.0.0.1';

/** A test bounded in time. */
function check(title, fn, options = {}) {
  return test(title, { timeout: 10000, ...options }, fn);
}

/**
 * Starts a CONNECT proxy. `mode` is `'open'` (tunnel everything), `'auth'`
 * (407 unless `user:secret` is given), `'forbid'` (403) or `'silent'` (never
 * answers a CONNECT). It records each CONNECT request.
 */
async function startProxy(mode = 'open') {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    res.writeHead(405);
    res.end();
  });
  const expected = 'Basic ' + Buffer.from('user:secret').toString('base64');

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  server.on('connect', (req, socket, head) => {
    requests.push({
      target: req.url,
      host: req.headers.host,
      authorization: req.headers['proxy-authorization']
    });
    socket.on('error', () => {});

    if (mode === 'silent') {
      // Read, so that the client's going away is noticed (the HTTP server
      // allows half-open sockets: end ours when the client ends its side).
      socket.resume();
      socket.on('end', () => socket.end());
      return;
    }

    if (mode === 'auth' && req.headers['proxy-authorization'] !== expected) {
      socket.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\n' +
          'Proxy-Authenticate: Basic realm="test"\r\n' +
          'Content-Length: 0\r\n\r\n'
      );
      return;
    }

    if (mode === 'forbid') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }

    const colon = req.url.lastIndexOf(':');
    const upstream = net.connect(
      Number(req.url.slice(colon + 1)),
      req.url.slice(0, colon).replace(/^\[|\]$/g, ''),
      () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      }
    );

    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  });

  server.listen(0, HOST);
  await once(server, 'listening');

  return {
    requests,
    sockets,
    url: `http://${HOST}:${server.address().port}`,
    port: server.address().port,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    }
  };
}

/** Starts an echo WebSocketServer, on `server` if given. */
async function startEcho(server) {
  const options = server ? { server } : { host: HOST, port: 0 };
  const wss = new WebSocketServer(options);

  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });

  if (server) {
    server.listen(0, HOST);
    await once(server, 'listening');
  } else {
    await once(wss, 'listening');
  }

  const port = (server || wss).address().port;

  return {
    wss,
    port,
    close() {
      for (const ws of wss.clients) ws.terminate();
      return new Promise((resolve) => {
        wss.close(() => (server ? server.close(resolve) : resolve()));
      });
    }
  };
}

/** Opens `ws`, sends one message, and resolves with the echo. */
async function roundTrip(ws, text = 'through the tunnel') {
  await once(ws, 'open');
  ws.send(text);

  const [data] = await once(ws, 'message');

  ws.close();
  await once(ws, 'close');
  return data.toString();
}

/** Resolves with the `error` and close code of a client that fails. */
function failure(ws) {
  return new Promise((resolve) => {
    let error = null;

    ws.on('error', (err) => {
      error = err;
    });
    ws.on('close', (code) => resolve({ error, code }));
  });
}

/** Runs `fn` with environment variables set, then restores them. */
async function withEnv(vars, fn) {
  const saved = {};

  for (const name of Object.keys(vars)) {
    saved[name] = process.env[name];
    if (vars[name] === undefined) delete process.env[name];
    else process.env[name] = vars[name];
  }

  try {
    return await fn();
  } finally {
    for (const name of Object.keys(saved)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

// Every proxy variable, cleared so that the machine's own settings do not
// leak into the tests.
const NO_PROXY_ENV = {};

for (const name of ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy']) {
  NO_PROXY_ENV[name] = undefined;
  NO_PROXY_ENV[name.toUpperCase()] = undefined;
}

describe('client proxy option', { timeout: 60000 }, () => {
  check('tunnels ws: through an HTTP proxy', async () => {
    const proxy = await startProxy();
    const echo = await startEcho();
    const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: proxy.url });

    assert.strictEqual(await roundTrip(ws), 'through the tunnel');
    assert.deepStrictEqual(proxy.requests, [
      {
        target: `${HOST}:${echo.port}`,
        host: `${HOST}:${echo.port}`,
        authorization: undefined
      }
    ]);
    await echo.close();
    await proxy.close();
  });

  check('sends Proxy-Authorization from the proxy URL', async () => {
    const proxy = await startProxy('auth');
    const echo = await startEcho();
    const ws = new WebSocket(`ws://${HOST}:${echo.port}`, {
      proxy: `http://user:secret@${HOST}:${proxy.port}`
    });

    assert.strictEqual(await roundTrip(ws), 'through the tunnel');
    assert.strictEqual(
      proxy.requests[0].authorization,
      'Basic ' + Buffer.from('user:secret').toString('base64')
    );
    await echo.close();
    await proxy.close();
  });

  check('decodes percent-encoded credentials', async () => {
    const proxy = await startProxy();
    const echo = await startEcho();
    const ws = new WebSocket(`ws://${HOST}:${echo.port}`, {
      proxy: new URL(`http://us%40er:p%3Ass@${HOST}:${proxy.port}`)
    });

    await roundTrip(ws);
    assert.strictEqual(
      proxy.requests[0].authorization,
      'Basic ' + Buffer.from('us@er:p:ss').toString('base64')
    );
    await echo.close();
    await proxy.close();
  });

  check('a 407 from the proxy is an error event', async () => {
    const proxy = await startProxy('auth');
    const echo = await startEcho();
    let upgrades = 0;

    echo.wss.on('connection', () => upgrades++);

    const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: proxy.url });
    const { error, code } = await failure(ws);

    assert.ok(error instanceof Error);
    assert.strictEqual(error.code, 'ERR_WSRS_PROXY_REFUSED');
    assert.strictEqual(error.statusCode, 407);
    assert.match(
      error.message,
      new RegExp(`refused to open a tunnel to ${HOST}:${echo.port}: 407`)
    );
    assert.strictEqual(code, 1006);
    assert.strictEqual(ws.readyState, WebSocket.CLOSED);
    assert.strictEqual(upgrades, 0);
    await echo.close();
    await proxy.close();
  });

  check('wrong credentials get the 407 too', async () => {
    const proxy = await startProxy('auth');
    const ws = new WebSocket(`ws://${HOST}:9`, {
      proxy: `http://user:wrong@${HOST}:${proxy.port}`
    });
    const { error } = await failure(ws);

    assert.strictEqual(error.statusCode, 407);
    await proxy.close();
  });

  check('a 403 from the proxy is an error event', async () => {
    const proxy = await startProxy('forbid');
    const ws = new WebSocket(`ws://${HOST}:9`, { proxy: proxy.url });
    const { error, code } = await failure(ws);

    assert.strictEqual(error.code, 'ERR_WSRS_PROXY_REFUSED');
    assert.strictEqual(error.statusCode, 403);
    assert.strictEqual(error.statusMessage, 'Forbidden');
    assert.strictEqual(error.target, `${HOST}:9`);
    assert.strictEqual(error.viaProxy, true);
    assert.match(error.message, /403 Forbidden/);
    assert.strictEqual(code, 1006);
    await proxy.close();
  });

  check('an unreachable proxy is an error event', async () => {
    const free = net.createServer();

    free.listen(0, HOST);
    await once(free, 'listening');

    const port = free.address().port;

    await new Promise((resolve) => free.close(resolve));

    const ws = new WebSocket(`ws://${HOST}:9`, {
      proxy: `http://${HOST}:${port}`
    });
    const { error, code } = await failure(ws);

    assert.strictEqual(error.code, 'ECONNREFUSED');
    assert.strictEqual(error.viaProxy, true);
    assert.strictEqual(code, 1006);
  });

  check('handshakeTimeout covers a proxy that never answers', async () => {
    const proxy = await startProxy('silent');
    const ws = new WebSocket(`ws://${HOST}:9`, {
      proxy: proxy.url,
      handshakeTimeout: 100
    });
    const { error } = await failure(ws);

    assert.match(error.message, /did not open the tunnel/);
    await proxy.close();
  });

  check('terminate() during CONNECT drops the proxy connection', async () => {
    const proxy = await startProxy('silent');
    const ws = new WebSocket(`ws://${HOST}:9`, { proxy: proxy.url });
    const { error, code } = await new Promise((resolve) => {
      const timer = setInterval(() => {
        if (proxy.requests.length === 0) return;
        clearInterval(timer);
        failure(ws).then(resolve);
        ws.terminate();
      }, 5);
    });

    assert.match(error.message, /closed before the connection/);
    assert.strictEqual(code, 1006);

    while (proxy.sockets.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    await proxy.close();
  });

  check('an explicit agent wins over the proxy', async () => {
    const proxy = await startProxy();
    const echo = await startEcho();
    const agent = new http.Agent();
    const ws = new WebSocket(`ws://${HOST}:${echo.port}`, {
      agent,
      proxy: proxy.url
    });

    await roundTrip(ws);
    assert.strictEqual(proxy.requests.length, 0);
    agent.destroy();
    await echo.close();
    await proxy.close();
  });

  check('rejects a proxy URL that is not http: or https:', () => {
    assert.throws(
      () =>
        new WebSocket(`ws://${HOST}:9`, { proxy: 'socks5://127.0.0.1:1080' }),
      (err) => err instanceof SyntaxError && /http: or https:/.test(err.message)
    );
    assert.throws(
      () => new WebSocket(`ws://${HOST}:9`, { proxy: 'http://exa mple:1' }),
      SyntaxError
    );
  });
});

describe('client proxy over wss:', { timeout: 60000 }, () => {
  let tls = null;

  before(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-proxy-'));

    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem')
        ],
        { stdio: 'ignore', timeout: 20000 }
      );
      tls = {
        cert: fs.readFileSync(path.join(dir, 'cert.pem')),
        key: fs.readFileSync(path.join(dir, 'key.pem'))
      };
    } catch {
      tls = null;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  check('runs TLS end to end inside the tunnel', async (t) => {
    if (tls === null) {
      t.skip('openssl is not available');
      return;
    }

    const proxy = await startProxy('auth');
    const echo = await startEcho(https.createServer(tls));
    const ws = new WebSocket(`wss://${HOST}:${echo.port}`, {
      ca: tls.cert,
      proxy: `http://user:secret@${HOST}:${proxy.port}`
    });

    assert.strictEqual(await roundTrip(ws, 'secret'), 'secret');
    assert.strictEqual(proxy.requests[0].target, `${HOST}:${echo.port}`);
    await echo.close();
    await proxy.close();
  });

  check('checks the server certificate inside the tunnel', async (t) => {
    if (tls === null) {
      t.skip('openssl is not available');
      return;
    }

    const proxy = await startProxy();
    const echo = await startEcho(https.createServer(tls));
    const ws = new WebSocket(`wss://${HOST}:${echo.port}`, {
      proxy: proxy.url
    });
    const { error } = await failure(ws);

    assert.strictEqual(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    await echo.close();
    await proxy.close();
  });
});

describe('proxy: true and the environment', { timeout: 60000 }, () => {
  let proxy;
  let echo;

  before(async () => {
    proxy = await startProxy();
    echo = await startEcho();
  });

  after(async () => {
    await echo.close();
    await proxy.close();
  });

  check('uses HTTP_PROXY for ws:', async () => {
    await withEnv({ ...NO_PROXY_ENV, HTTP_PROXY: proxy.url }, async () => {
      const before = proxy.requests.length;
      const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: true });

      await roundTrip(ws);
      assert.strictEqual(proxy.requests.length, before + 1);
    });
  });

  check('lower case wins, and a scheme-less value is http://', async () => {
    await withEnv(
      {
        ...NO_PROXY_ENV,
        http_proxy: `${HOST}:${proxy.port}`,
        HTTP_PROXY: 'http://127.0.0.1:9'
      },
      async () => {
        const before = proxy.requests.length;
        const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: true });

        await roundTrip(ws);
        assert.strictEqual(proxy.requests.length, before + 1);
      }
    );
  });

  check('NO_PROXY sends the connection direct', async () => {
    await withEnv(
      {
        ...NO_PROXY_ENV,
        HTTP_PROXY: proxy.url,
        NO_PROXY: `example.com, ${HOST}`
      },
      async () => {
        const before = proxy.requests.length;
        const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: true });

        await roundTrip(ws);
        assert.strictEqual(proxy.requests.length, before);
      }
    );
  });

  check('HTTPS_PROXY is only for wss:, ALL_PROXY for either', async () => {
    await withEnv(
      { ...NO_PROXY_ENV, HTTPS_PROXY: 'http://127.0.0.1:9' },
      async () => {
        const before = proxy.requests.length;
        const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: true });

        await roundTrip(ws);
        assert.strictEqual(proxy.requests.length, before);
      }
    );

    await withEnv({ ...NO_PROXY_ENV, ALL_PROXY: proxy.url }, async () => {
      const before = proxy.requests.length;
      const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: true });

      await roundTrip(ws);
      assert.strictEqual(proxy.requests.length, before + 1);
    });
  });

  check('without any variable the connection is direct', async () => {
    await withEnv(NO_PROXY_ENV, async () => {
      const before = proxy.requests.length;
      const ws = new WebSocket(`ws://${HOST}:${echo.port}`, { proxy: true });

      await roundTrip(ws);
      assert.strictEqual(proxy.requests.length, before);
    });
  });
});

describe('no_proxy matching', () => {
  const url = (u) => new URL(u);

  check('host names and their subdomains', () => {
    const list = 'example.com,.internal, *.corp.net';

    assert.ok(matchesNoProxy(url('ws://example.com'), false, list));
    assert.ok(matchesNoProxy(url('ws://a.b.example.com'), false, list));
    assert.ok(!matchesNoProxy(url('ws://badexample.com'), false, list));
    assert.ok(matchesNoProxy(url('ws://x.internal'), false, list));
    assert.ok(matchesNoProxy(url('wss://host.corp.net'), true, list));
    assert.ok(matchesNoProxy(url('ws://EXAMPLE.com'), false, 'Example.COM'));
  });

  check('*, ports, addresses and CIDR blocks', () => {
    assert.ok(matchesNoProxy(url('ws://anything'), false, '*'));
    assert.ok(matchesNoProxy(url('ws://h:8080'), false, 'h:8080'));
    assert.ok(!matchesNoProxy(url('ws://h:8081'), false, 'h:8080'));
    assert.ok(matchesNoProxy(url('wss://h'), true, 'h:443'));
    assert.ok(matchesNoProxy(url('ws://10.1.2.3'), false, '10.0.0.0/8'));
    assert.ok(!matchesNoProxy(url('ws://11.1.2.3'), false, '10.0.0.0/8'));
    assert.ok(matchesNoProxy(url('ws://[::1]:80'), false, '::1'));
    assert.ok(matchesNoProxy(url('ws://[::1]'), false, '[::1]:80'));
    assert.ok(matchesNoProxy(url('ws://[fd00::5]'), false, 'fd00::/8'));
    assert.ok(!matchesNoProxy(url('ws://example.com'), false, ''));
  });
});
