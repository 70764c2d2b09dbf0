'use strict';

// The `wsrs` command line (bin/wsrs.js), run as a child process against
// servers and clients on the loopback interface.

const assert = require('node:assert');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { after, describe, test } = require('node:test');

const WebSocket = require('..');
const { WebSocketServer } = WebSocket;
const { parseArgs, UsageError } = require('../lib/cli/args');
const { parseLine } = require('../lib/cli/session');

const HOST = '127.0.0.1';
const BIN = path.join(__dirname, '..', 'bin', 'wsrs.js');
const PKG = require('../package.json');

// Every child is killed after this long, and its test fails.
const CHILD_LIMIT = 10000;
const TEST_LIMIT = 20000;

// SGR sequences (colors); readline's cursor movements are not colors.
const SGR = /\x1b\[[0-9;]*m/;
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * An environment for children without the caller's color settings.
 *
 * @param {Object} [extra] Variables to add
 * @return {Object} The environment
 */
function childEnv(extra = {}) {
  const env = Object.assign({}, process.env);

  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return Object.assign(env, extra);
}

/**
 * Start `wsrs` with pipes for its standard streams.
 *
 * @param {String[]} args The arguments
 * @param {Object} [options]
 * @param {Object} [options.env] Extra environment variables
 * @return {Object} `{ child, output, done }`: `output` holds what was read so
 *     far (`stdout`, `stderr`); `done` resolves to `{ code, signal, stdout,
 *     stderr }` once the child exits, or rejects after `CHILD_LIMIT` ms
 */
function start(args, { env } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe']
  });
  const output = { stdout: '', stderr: '' };

  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  child.stderr.on('data', (chunk) => (output.stderr += chunk));
  child.stdin.on('error', () => {});

  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `wsrs ${args.join(' ')} did not exit in time\n` +
            `stdout: ${output.stdout}\nstderr: ${output.stderr}`
        )
      );
    }, CHILD_LIMIT);

    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: output.stdout, stderr: output.stderr });
    });
  });

  return { child, output, done };
}

/**
 * Run `wsrs` to the end, feeding it some input.
 *
 * @param {String[]} args The arguments
 * @param {Object} [options]
 * @param {String} [options.input=''] What to write to its stdin (then EOF)
 * @param {Object} [options.env] Extra environment variables
 * @return {Promise<Object>} `{ code, signal, stdout, stderr }`
 */
function run(args, { input = '', env } = {}) {
  const { child, done } = start(args, { env });

  child.stdin.end(input);
  return done;
}

/**
 * Resolve once `read()` matches `pattern`, polling every 10 ms.
 *
 * @param {Function} read Returns the text to test
 * @param {RegExp} pattern What to wait for
 * @param {Number} [limit=5000] Milliseconds before giving up
 * @return {Promise<void>}
 */
function waitFor(read, pattern, limit = 5000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (pattern.test(read())) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > limit) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${pattern}; got: ${read()}`));
      }
    }, 10);
  });
}

/**
 * Start a WebSocket server on the loopback interface that records what
 * reaches it and echoes messages. A message `close <code> <reason>` makes it
 * close the connection instead.
 *
 * @param {Object} [options] More options for the `WebSocketServer`
 * @return {Promise<Object>} `{ wss, port, url, peers, stop }`; each entry of
 *     `peers` holds `headers`, `url`, `protocol`, `messages`, `pings` and
 *     `closed` (a promise of `{ code, reason }`)
 */
async function startEcho(options = {}) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...options });
  const peers = [];

  wss.on('connection', (ws, req) => {
    const peer = {
      headers: req.headers,
      url: req.url,
      protocol: ws.protocol,
      messages: [],
      pings: [],
      closed: once(ws, 'close').then(([code, reason]) => ({
        code,
        reason: reason.toString()
      }))
    };

    peers.push(peer);
    ws.on('ping', (data) => peer.pings.push(data.toString()));
    ws.on('message', (data, isBinary) => {
      const text = data.toString();

      peer.messages.push(text);
      const order = /^close (\d+) ?(.*)$/.exec(text);

      if (order) ws.close(Number(order[1]), order[2]);
      else ws.send(data, { binary: isBinary });
    });
  });

  await once(wss, 'listening');

  const { port } = wss.address();

  return {
    wss,
    port,
    url: `ws://${HOST}:${port}`,
    peers,
    stop: () => {
      for (const client of wss.clients) client.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    }
  };
}

/**
 * Find a loopback port with nothing listening on it.
 *
 * @return {Promise<Number>} The port
 */
async function closedPort() {
  const server = net.createServer();

  server.listen(0, HOST);
  await once(server, 'listening');

  const { port } = server.address();

  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Quote a string for `sh`.
 *
 * @param {String} text The string
 * @return {String} The quoted string
 */
function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

// A tiny pseudo-terminal driver, for systems without util-linux `script`:
// runs argv[1:] on a pty, copies our stdin to it and its output to stdout.
const PY_PTY = [
  'import os, pty, select, sys',
  'pid, fd = pty.fork()',
  'if pid == 0:',
  '    os.execvp(sys.argv[1], sys.argv[1:])',
  'inputs = [fd, 0]',
  'while True:',
  '    ready = select.select(inputs, [], [])[0]',
  '    if 0 in ready:',
  '        data = os.read(0, 1024)',
  '        if data:',
  '            os.write(fd, data)',
  '        else:',
  '            inputs.remove(0)',
  '    if fd in ready:',
  '        try:',
  '            data = os.read(fd, 4096)',
  '        except OSError:',
  '            data = b""',
  '        if not data:',
  '            break',
  '        os.write(1, data)',
  'status = os.waitpid(pid, 0)[1]',
  'sys.exit(status >> 8 if status & 0x7f == 0 else 1)'
].join('\n');

/**
 * Pick a way to run a command on a pseudo-terminal.
 *
 * @return {(Object|null)} `{ name, spawnArgs(argv) }`, or `null` when neither
 *     util-linux `script` nor python3 with its pty module is there
 */
function findPty() {
  if (process.platform === 'win32') return null;

  // WSRS_TEST_PTY=python3 exercises the fallback where script exists too.
  const script =
    process.env.WSRS_TEST_PTY === 'python3'
      ? { status: 1 }
      : spawnSync('script', ['--version'], { encoding: 'utf8' });

  if (script.status === 0 && /util-linux/.test(script.stdout)) {
    return {
      name: 'script',
      spawnArgs: (argv) => [
        'script',
        ['-qfec', argv.map(shellQuote).join(' '), '/dev/null']
      ]
    };
  }

  const python = spawnSync('python3', ['-c', 'import pty, select'], {
    encoding: 'utf8'
  });

  if (python.status === 0) {
    return {
      name: 'python3',
      spawnArgs: (argv) => ['python3', ['-c', PY_PTY, ...argv]]
    };
  }

  return null;
}

/**
 * Start `wsrs` on a pseudo-terminal.
 *
 * @param {Object} driver What `findPty()` returned
 * @param {String[]} args The arguments of `wsrs`
 * @return {Object} `{ child, read, type, done }`: `read()` returns the raw
 *     terminal output so far, `type(keys)` sends keys
 */
function startOnPty(driver, args) {
  const [command, argv] = driver.spawnArgs([process.execPath, BIN, ...args]);
  const child = spawn(command, argv, {
    env: childEnv({ TERM: 'xterm' }),
    stdio: ['pipe', 'pipe', 'pipe']
  });
  let output = '';

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.resume();
  child.stdin.on('error', () => {});

  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the pty session did not end in time: ${output}`));
    }, CHILD_LIMIT);

    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });

  return {
    child,
    read: () => output,
    type: (keys) => child.stdin.write(keys),
    done
  };
}

/**
 * Count the occurrences of a string.
 *
 * @param {String} text Where to look
 * @param {String} part What to count
 * @return {Number} How many times `part` occurs
 */
function count(text, part) {
  return text.split(part).length - 1;
}

describe('wsrs command line: arguments', () => {
  test('parses long, short, clustered, repeated and = forms', () => {
    const opts = parseArgs([
      '-c',
      'ws://127.0.0.1:1',
      '-nP',
      '-sone',
      '--subprotocol',
      'two',
      '--header=A: b',
      '-H',
      'C:d',
      '--wait=0.5',
      '--passphrase'
    ]);

    assert.strictEqual(opts.connect, 'ws://127.0.0.1:1');
    assert.strictEqual(opts.noCheck, true);
    assert.strictEqual(opts.showPingPong, true);
    assert.deepStrictEqual(opts.subprotocol, ['one', 'two']);
    assert.deepStrictEqual(opts.header, ['A: b', 'C:d']);
    assert.strictEqual(opts.wait, '0.5');
    assert.strictEqual(opts.passphrase, true);
  });

  test('rejects unknown options, missing values and stray arguments', () => {
    assert.throws(() => parseArgs(['--nope']), UsageError);
    assert.throws(() => parseArgs(['-c']), /needs a value/);
    assert.throws(() => parseArgs(['ws://x']), /unexpected argument/);
    assert.throws(() => parseArgs(['--slash=yes']), /does not take a value/);
  });

  test('slash commands are parsed only with --slash', () => {
    assert.deepStrictEqual(parseLine('/ping', false), {
      type: 'text',
      data: '/ping'
    });
    assert.deepStrictEqual(parseLine('/ping abc', true), {
      type: 'ping',
      data: 'abc'
    });
    assert.deepStrictEqual(parseLine('//ping', true), {
      type: 'text',
      data: '/ping'
    });
    const close = parseLine('/close 4000, so long', true);

    assert.strictEqual(close.code, 4000);
    assert.strictEqual(close.reason, 'so long');
    assert.strictEqual(parseLine('/close', true).code, undefined);
    assert.strictEqual(parseLine('/nope', true).type, 'unknown');
  });
});

describe('wsrs command line', { timeout: 120000 }, () => {
  const servers = [];

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  /**
   * Start an echo server that is stopped after the suite.
   *
   * @param {Object} [options] More server options
   * @return {Promise<Object>} What `startEcho()` returns
   */
  async function echo(options) {
    const server = await startEcho(options);

    servers.push(server);
    return server;
  }

  test(
    '--help lists every option; --version prints the version',
    { timeout: TEST_LIMIT },
    async () => {
      const help = await run(['--help']);

      assert.strictEqual(help.code, 0);
      for (const flag of [
        '--listen',
        '--connect',
        '--protocol',
        '--subprotocol',
        '--header',
        '--origin',
        '--auth',
        '--ca',
        '--cert',
        '--key',
        '--passphrase',
        '--no-check',
        '--execute',
        '--wait',
        '--show-ping-pong',
        '--slash',
        '--no-color',
        '--location',
        '--max-redirects',
        '--proxy',
        '--no-deflate',
        '--binary',
        '--help',
        '--version'
      ]) {
        assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
      }

      const version = await run(['--version']);

      assert.strictEqual(version.code, 0);
      assert.strictEqual(version.stdout.trim(), PKG.version);
    }
  );

  test(
    'a piped session: each line is sent, replies are printed, exit 0',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const result = await run(['-c', server.url, '-w', '0.3'], {
        input: 'hello\nsecond line\n\nlast\n'
      });

      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, '< hello\n< second line\n< \n< last\n');
      assert.match(result.stderr, /connected to ws:\/\/127\.0\.0\.1/);
      assert.deepStrictEqual(server.peers[0].messages, [
        'hello',
        'second line',
        '',
        'last'
      ]);
      assert.deepStrictEqual(await server.peers[0].closed, {
        code: 1000,
        reason: ''
      });
      assert.doesNotMatch(result.stdout + result.stderr, SGR);
    }
  );

  test(
    'a host:port without a scheme means ws://',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const result = await run([
        '-c',
        `${HOST}:${server.port}`,
        '-x',
        'hi',
        '-w',
        '0.2'
      ]);

      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, '< hi\n');
    }
  );

  test(
    '-x sends each message, waits, then closes',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const started = Date.now();
      const result = await run([
        '-c',
        server.url,
        '-x',
        'first',
        '--execute',
        'second',
        '-w',
        '0.4'
      ]);

      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, '< first\n< second\n');
      assert.ok(Date.now() - started >= 400, 'waited for -w');
      assert.deepStrictEqual(server.peers[0].messages, ['first', 'second']);
      assert.strictEqual((await server.peers[0].closed).code, 1000);
      assert.match(result.stderr, /disconnected \(code 1000\)/);
    }
  );

  test(
    'a subprotocol, headers, origin and auth reach the server',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo({
        handleProtocols: (offered) =>
          offered.has('chat.v2') ? 'chat.v2' : false
      });
      const result = await run([
        '-c',
        `${server.url}/room?id=7`,
        '-s',
        'chat.v1',
        '-s',
        'chat.v2',
        '-H',
        'X-Trace: abc 123',
        '--header',
        'X-Other:yes',
        '-o',
        'http://origin.test',
        '--auth',
        'user:pa:ss',
        '-x',
        'hi',
        '-w',
        '0.2'
      ]);

      assert.strictEqual(result.code, 0, result.stderr);
      const peer = server.peers[0];

      assert.strictEqual(peer.url, '/room?id=7');
      assert.strictEqual(
        peer.headers['sec-websocket-protocol'],
        'chat.v1,chat.v2'
      );
      assert.strictEqual(peer.protocol, 'chat.v2');
      assert.strictEqual(peer.headers['x-trace'], 'abc 123');
      assert.strictEqual(peer.headers['x-other'], 'yes');
      assert.strictEqual(peer.headers.origin, 'http://origin.test');
      assert.strictEqual(
        peer.headers.authorization,
        'Basic ' + Buffer.from('user:pa:ss').toString('base64')
      );
      assert.match(result.stderr, /subprotocol chat\.v2/);
    }
  );

  test(
    '-p 8 speaks version 8; --no-deflate offers no extension',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo({ perMessageDeflate: true });

      await run(['-c', server.url, '-x', 'a', '-w', '0.1']);
      await run([
        '-c',
        server.url,
        '-p',
        '8',
        '--no-deflate',
        '-x',
        'b',
        '-w',
        '0.1'
      ]);

      assert.strictEqual(
        server.peers[0].headers['sec-websocket-version'],
        '13'
      );
      assert.match(
        server.peers[0].headers['sec-websocket-extensions'],
        /permessage-deflate/
      );
      assert.strictEqual(server.peers[1].headers['sec-websocket-version'], '8');
      assert.strictEqual(
        server.peers[1].headers['sec-websocket-extensions'],
        undefined
      );
      assert.deepStrictEqual(server.peers[1].messages, ['b']);
    }
  );

  test(
    '--slash: /ping, /pong, /close code reason, // and unknown commands',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const result = await run(['-c', server.url, '--slash', '-P', '-w', '5'], {
        input:
          '/ping are you there\n//etc\n/frobnicate\n/close 99\n/close 4000 see you\n'
      });

      assert.strictEqual(result.code, 0, result.stderr);
      const peer = server.peers[0];

      assert.deepStrictEqual(peer.pings, ['are you there']);
      assert.deepStrictEqual(peer.messages, ['/etc']);
      assert.deepStrictEqual(await peer.closed, {
        code: 4000,
        reason: 'see you'
      });
      assert.match(result.stdout, /^< pong \(data: "are you there"\)$/m);
      assert.match(result.stdout, /^< \/etc$/m);
      assert.match(result.stderr, /unknown command \/frobnicate/);
      assert.match(result.stderr, /invalid close code '99'/);
      assert.match(
        result.stderr,
        /disconnected \(code 4000, reason "see you"\)/
      );
    }
  );

  test(
    'without --slash, /ping is an ordinary message',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const result = await run(['-c', server.url, '-x', '/ping', '-w', '0.2']);

      assert.strictEqual(result.code, 0, result.stderr);
      assert.deepStrictEqual(server.peers[0].messages, ['/ping']);
      assert.deepStrictEqual(server.peers[0].pings, []);
    }
  );

  test(
    'a close by the server prints its code and reason',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const normal = await run([
        '-c',
        server.url,
        '-x',
        'close 4001 go away',
        '-w',
        '5'
      ]);

      assert.strictEqual(normal.code, 0, normal.stderr);
      assert.match(
        normal.stderr,
        /disconnected by the server \(code 4001, reason "go away"\)/
      );

      const failure = await run([
        '-c',
        server.url,
        '-x',
        'close 1011 it broke',
        '-w',
        '5'
      ]);

      assert.strictEqual(failure.code, 1);
      assert.match(
        failure.stderr,
        /^error: connection closed by the server \(code 1011, reason "it broke"\)$/m
      );
    }
  );

  test(
    'a bad URL exits 2 with a readable message',
    { timeout: TEST_LIMIT },
    async () => {
      for (const url of ['ftp://127.0.0.1/', 'ws://exa mple', 'ws://[::1']) {
        const result = await run(['-c', url]);

        assert.strictEqual(result.code, 2, url);
        assert.match(result.stderr, /^error: bad URL/m, url);
        assert.strictEqual(result.stderr.split('\n')[0].includes('\n'), false);
      }
    }
  );

  test(
    'bad flags exit 2 and point to --help',
    { timeout: TEST_LIMIT },
    async () => {
      const cases = [
        [['--frobnicate'], /unknown option '--frobnicate'/],
        [[], /give -l <port> to listen or -c <url> to connect/],
        [['-l', '1', '-c', 'ws://127.0.0.1:1'], /not both/],
        [['-c', 'ws://127.0.0.1:1', '-p', '9'], /must be 8 or 13/],
        [['-c', 'ws://127.0.0.1:1', '-w', 'soon'], /number of seconds/],
        [['-c', 'ws://127.0.0.1:1', '-H', 'no colon'], /--header/],
        [
          ['-c', 'ws://127.0.0.1:1', '--ca', '/nonexistent/ca.pem'],
          /cannot read --ca/
        ],
        [['-l', '70000'], /integer from 0 to 65535/],
        [['-l', '0', '-x', 'hi'], /only works with -c/]
      ];

      for (const [args, pattern] of cases) {
        const result = await run(args);

        assert.strictEqual(result.code, 2, args.join(' '));
        assert.match(result.stderr, pattern, args.join(' '));
        assert.match(result.stderr, /wsrs --help/);
      }
    }
  );

  test(
    'a refused connection exits 1 and says so',
    { timeout: TEST_LIMIT },
    async () => {
      const port = await closedPort();
      const result = await run(['-c', `ws://${HOST}:${port}`, '-x', 'hi']);

      assert.strictEqual(result.code, 1);
      assert.strictEqual(
        result.stderr,
        `error: connection refused by ${HOST}:${port}\n`
      );
      assert.strictEqual(result.stdout, '');
    }
  );

  test(
    'a rejected handshake exits 1 with the status code',
    { timeout: TEST_LIMIT },
    async (t) => {
      const server = http.createServer();

      server.on('upgrade', (req, socket) => {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      });
      server.listen(0, HOST);
      await once(server, 'listening');
      t.after(() => server.close());

      const result = await run([
        '-c',
        `ws://${HOST}:${server.address().port}`,
        '-x',
        'hi'
      ]);

      assert.strictEqual(result.code, 1);
      assert.strictEqual(
        result.stderr,
        'error: server rejected the handshake: 403 Forbidden\n'
      );
    }
  );

  test(
    '-L follows a redirect; without it the redirect is reported',
    { timeout: TEST_LIMIT },
    async (t) => {
      const target = await echo();
      const server = http.createServer();

      server.on('upgrade', (req, socket) => {
        socket.end(
          'HTTP/1.1 302 Found\r\n' +
            `Location: ${target.url}/moved\r\n` +
            'Content-Length: 0\r\n\r\n'
        );
      });
      server.listen(0, HOST);
      await once(server, 'listening');
      t.after(() => server.close());

      const url = `ws://${HOST}:${server.address().port}/old`;
      const stay = await run(['-c', url, '-x', 'hi']);

      assert.strictEqual(stay.code, 1);
      assert.match(
        stay.stderr,
        /302 Found \(redirect to .*\/moved; -L follows it\)/
      );

      const follow = await run(['-c', url, '-L', '-x', 'hi', '-w', '0.2']);

      assert.strictEqual(follow.code, 0, follow.stderr);
      assert.strictEqual(follow.stdout, '< hi\n');
      assert.strictEqual(target.peers[0].url, '/moved');

      const limited = await run([
        '-c',
        url,
        '-L',
        '--max-redirects',
        '0',
        '-x',
        'hi'
      ]);

      assert.strictEqual(limited.code, 1);
      assert.match(limited.stderr, /maximum redirects exceeded/i);
    }
  );

  test(
    '--proxy tunnels through an HTTP CONNECT proxy',
    { timeout: TEST_LIMIT },
    async (t) => {
      const target = await echo();
      const proxy = http.createServer((req, res) => {
        res.statusCode = 405;
        res.end();
      });
      const seen = [];

      proxy.on('connect', (req, socket, head) => {
        seen.push({ url: req.url, auth: req.headers['proxy-authorization'] });
        socket.on('error', () => {});

        if (req.url !== `${HOST}:${target.port}`) {
          socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
          return;
        }

        const upstream = net.connect(target.port, HOST, () => {
          socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.write(head);
          upstream.pipe(socket);
          socket.pipe(upstream);
        });

        upstream.on('error', () => socket.destroy());
      });
      proxy.listen(0, HOST);
      await once(proxy, 'listening');
      t.after(() => proxy.close());

      const proxyUrl = `http://me:secret@${HOST}:${proxy.address().port}`;
      const result = await run([
        '-c',
        target.url,
        '--proxy',
        proxyUrl,
        '-x',
        'through',
        '-w',
        '0.2'
      ]);

      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, '< through\n');
      assert.deepStrictEqual(seen[0], {
        url: `${HOST}:${target.port}`,
        auth: 'Basic ' + Buffer.from('me:secret').toString('base64')
      });

      const refused = await run([
        '-c',
        `ws://${HOST}:1`,
        '--proxy',
        proxyUrl,
        '-x',
        'hi'
      ]);

      assert.strictEqual(refused.code, 1);
      assert.match(
        refused.stderr,
        /^error: proxy refused to connect to 127\.0\.0\.1:1: 403 Forbidden$/m
      );
    }
  );

  test(
    'ws+unix: URLs reach a server on a Unix socket',
    {
      timeout: TEST_LIMIT,
      skip: process.platform === 'win32' && 'no Unix sockets'
    },
    async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-cli-'));
      const socketPath = path.join(dir, 's.sock');
      const server = http.createServer();
      const wss = new WebSocketServer({ server });

      wss.on('connection', (ws, req) => ws.send(`path ${req.url}`));
      server.listen(socketPath);
      await once(server, 'listening');
      t.after(() => {
        for (const client of wss.clients) client.terminate();
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
      });

      const result = await run([
        '-c',
        `ws+unix:${socketPath}:/chat?x=1`,
        '-w',
        '0.2'
      ]);

      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, '< path /chat?x=1\n');
    }
  );

  test(
    'TLS: an untrusted certificate fails; --ca and -n succeed',
    { timeout: TEST_LIMIT },
    async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsrs-cli-tls-'));

      t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

      const certFile = path.join(dir, 'cert.pem');
      const keyFile = path.join(dir, 'key.pem');
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          keyFile,
          '-out',
          certFile,
          '-days',
          '2',
          '-subj',
          '/CN=wsrs test',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost'
        ],
        { encoding: 'utf8' }
      );

      if (made.error || made.status !== 0) {
        t.skip('openssl (1.1.1 or later) is needed to make a test certificate');
        return;
      }

      const server = https.createServer({
        cert: fs.readFileSync(certFile),
        key: fs.readFileSync(keyFile)
      });
      const wss = new WebSocketServer({ server });

      wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
      server.listen(0, HOST);
      await once(server, 'listening');
      t.after(() => {
        for (const client of wss.clients) client.terminate();
        server.close();
      });

      const url = `wss://${HOST}:${server.address().port}`;
      const untrusted = await run(['-c', url, '-x', 'hi']);

      assert.strictEqual(untrusted.code, 1);
      assert.match(
        untrusted.stderr,
        /^error: TLS failure: .*self[- ]signed.*--ca <file>.*-n/m
      );

      const trusted = await run([
        '-c',
        url,
        '--ca',
        certFile,
        '-x',
        'hi',
        '-w',
        '0.2'
      ]);

      assert.strictEqual(trusted.code, 0, trusted.stderr);
      assert.strictEqual(trusted.stdout, '< hi\n');

      const unchecked = await run(['-c', url, '-n', '-x', 'hi', '-w', '0.2']);

      assert.strictEqual(unchecked.code, 0, unchecked.stderr);

      const plain = await run(['-c', url.replace('wss:', 'ws:'), '-x', 'hi']);

      assert.strictEqual(plain.code, 1);
    }
  );

  test(
    'listen mode: prints what a client sends and sends typed lines',
    { timeout: TEST_LIMIT },
    async () => {
      const server = start([
        '-l',
        '0',
        '--host',
        HOST,
        '-s',
        'chat',
        '-P',
        '-b'
      ]);
      const { output } = server;

      await waitFor(
        () => output.stderr,
        /listening on ws:\/\/127\.0\.0\.1:\d+/
      );

      const port = Number(/127\.0\.0\.1:(\d+)/.exec(output.stderr)[1]);
      const client = new WebSocket(`ws://${HOST}:${port}/path?q=1`, [
        'x',
        'chat'
      ]);

      await once(client, 'open');
      assert.strictEqual(client.protocol, 'chat');
      await waitFor(
        () => output.stderr,
        /client #1 connected \(from 127\.0\.0\.1:\d+, path \/path\?q=1, subprotocol chat\)/
      );

      client.send('from the client');
      client.send(Buffer.from([0, 1, 0xfe]));
      client.ping('are you there');
      await waitFor(() => output.stdout, /< ping/);
      assert.strictEqual(
        output.stdout,
        '< from the client\n< (binary, 3 bytes) 00 01 fe\n< ping (data: "are you there")\n'
      );

      const reply = once(client, 'message');

      server.child.stdin.write('from the server\n');
      const [data, isBinary] = await reply;

      assert.strictEqual(data.toString(), 'from the server');
      assert.strictEqual(isBinary, false);

      // A second client: messages are tagged while both are connected.
      const other = new WebSocket(`ws://${HOST}:${port}`, ['chat']);

      await once(other, 'open');
      await waitFor(() => output.stderr, /client #2 connected/);
      other.send('second');
      await waitFor(() => output.stdout, /< \[#2\] second/);

      const closed = once(client, 'close');

      other.close();
      server.child.kill('SIGINT');

      const [code, reason] = await closed;

      assert.strictEqual(code, 1001);
      assert.strictEqual(reason.toString(), 'server shutting down');

      const result = await server.done;

      assert.strictEqual(result.code, 0, result.stderr);
      assert.match(result.stderr, /client #1 disconnected \(code 1001/);
    }
  );

  test(
    'listen mode: a port in use exits 1',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const result = await run(['-l', String(server.port), '--host', HOST]);

      assert.strictEqual(result.code, 1);
      assert.match(
        result.stderr,
        /^error: 127\.0\.0\.1:\d+ is already in use$/m
      );
    }
  );

  test(
    'colors: FORCE_COLOR turns them on, --no-color and NO_COLOR off',
    { timeout: TEST_LIMIT },
    async () => {
      const server = await echo();
      const args = ['-c', server.url, '-x', 'hi', '-w', '0.1'];
      const forced = await run(args, { env: { FORCE_COLOR: '1' } });

      assert.strictEqual(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, SGR);
      assert.match(forced.stderr, SGR);

      const off = await run([...args, '--no-color'], {
        env: { FORCE_COLOR: '1' }
      });

      assert.strictEqual(off.code, 0, off.stderr);
      assert.strictEqual(off.stdout, '< hi\n');
      assert.doesNotMatch(off.stderr, SGR);

      const env = await run(args, { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });

      assert.doesNotMatch(env.stdout + env.stderr, SGR);
    }
  );

  describe('on a terminal', () => {
    const driver = findPty();
    const skip = driver
      ? false
      : 'neither util-linux script nor python3 with its pty module is available';

    test(
      'line editing, history, colors and Ctrl+D',
      { timeout: TEST_LIMIT, skip },
      async () => {
        const server = await echo();
        const session = startOnPty(driver, ['-c', server.url]);
        const plain = () => session.read().replace(ANSI, '');

        await waitFor(plain, /connected to .*press CTRL\+C to quit/);

        // Type "helo", go one left, insert the missing "l", send.
        session.type('helo');
        await waitFor(plain, /> helo/);
        session.type('\x1b[D');
        await waitFor(session.read, /\x1b\[1D/);
        session.type('l');
        await waitFor(plain, /> hello/);
        session.type('\r');
        await waitFor(plain, /< hello/);

        // Up arrow brings the line back; send it again.
        const before = count(plain(), '> hello');

        session.type('\x1b[A');
        await waitFor(plain, new RegExp(`(> hello[\\s\\S]*){${before + 1}}`));
        session.type('\r');
        await waitFor(plain, /< hello[\s\S]*< hello/);

        // Ctrl+D on an empty line closes normally.
        session.type('\x04');

        const { code, output } = await session.done;

        assert.strictEqual(code, 0, output);
        assert.deepStrictEqual(server.peers[0].messages, ['hello', 'hello']);
        assert.strictEqual((await server.peers[0].closed).code, 1000);
        assert.match(output, SGR, 'colored on a terminal');
        assert.match(output.replace(ANSI, ''), /disconnected \(code 1000\)/);
      }
    );

    test(
      '--no-color on a terminal; Ctrl+C closes',
      { timeout: TEST_LIMIT, skip },
      async () => {
        const server = await echo();
        const session = startOnPty(driver, ['-c', server.url, '--no-color']);

        await waitFor(session.read, /connected to/);
        session.type('hi');
        await waitFor(session.read, /hi/);
        session.type('\r');
        await waitFor(session.read, /< hi/);
        session.type('\x03');

        const { code, output } = await session.done;

        assert.strictEqual(code, 0, output);
        assert.doesNotMatch(output, SGR);
        assert.strictEqual((await server.peers[0].closed).code, 1000);
      }
    );
  });
});
