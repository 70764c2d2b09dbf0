'use strict';

// wsrs extras: WebSocketServer#broadcast(), topics (subscribe/publish) and
// how they share one frame between sockets, over loopback.

const assert = require('node:assert');
const crypto = require('node:crypto');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');
const { NativeDeflate } = require('../lib/native/addon');

const HOST = '127.0.0.1';

/** A test bounded in time. */
function check(title, fn) {
  return test(title, { timeout: 10000 }, fn);
}

/** Resolves after `ms` milliseconds. */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts a server and connects `count` clients. Resolves to the server, the
 * clients and their server-side peers, in connection order.
 */
async function setup(count, serverOptions = {}, clientOptions = []) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...serverOptions });

  await once(wss, 'listening');

  const url = `ws://${HOST}:${wss.address().port}`;
  const clients = [];
  const peers = [];

  for (let i = 0; i < count; i++) {
    const connected = once(wss, 'connection');
    const ws = new WebSocket(url, clientOptions[i] || {});

    await once(ws, 'open');
    const [peer] = await connected;

    clients.push(ws);
    peers.push(peer);
  }

  return { wss, url, clients, peers };
}

/** Terminates every client and closes the server. */
async function teardown(wss, clients) {
  for (const ws of clients) ws.terminate();
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
}

/** Collects the next `n` messages of a client as strings (or buffers). */
function collect(ws, n, asBuffer = false) {
  return new Promise((resolve) => {
    const got = [];

    ws.on('message', function onMessage(data, isBinary) {
      got.push(asBuffer ? [data, isBinary] : data.toString());
      if (got.length === n) {
        ws.removeListener('message', onMessage);
        resolve(got);
      }
    });
  });
}

/** Records every chunk written to a socket. */
function spyWrites(socket) {
  const chunks = [];
  const write = socket.write;

  socket.write = function (chunk, ...rest) {
    chunks.push(chunk);
    return write.call(this, chunk, ...rest);
  };

  return chunks;
}

describe('WebSocketServer#broadcast()', { timeout: 60000 }, () => {
  check('sends to every open client and returns the count', async () => {
    const { wss, clients } = await setup(3);
    const received = clients.map((ws) => collect(ws, 2, true));

    assert.strictEqual(wss.broadcast('hello'), 3);
    assert.strictEqual(wss.broadcast(new Uint8Array([1, 2, 3])), 3);

    for (const got of await Promise.all(received)) {
      assert.strictEqual(got[0][0].toString(), 'hello');
      assert.strictEqual(got[0][1], false);
      assert.deepStrictEqual([...got[1][0]], [1, 2, 3]);
      assert.strictEqual(got[1][1], true);
    }

    await teardown(wss, clients);
  });

  check('honours binary, and numbers and empty data like send()', async () => {
    const { wss, clients } = await setup(1);
    const received = collect(clients[0], 3, true);

    wss.broadcast('as binary', { binary: true });
    wss.broadcast(42);
    wss.broadcast();

    const got = await received;

    assert.deepStrictEqual(
      got.map(([data, isBinary]) => [data.toString(), isBinary]),
      [
        ['as binary', true],
        ['42', false],
        ['', true]
      ]
    );
    await teardown(wss, clients);
  });

  check('leaves out the clients named by except', async () => {
    const { wss, clients, peers } = await setup(3);
    const counts = [0, 0, 0];

    clients.forEach((ws, i) => ws.on('message', () => counts[i]++));

    assert.strictEqual(wss.broadcast('a', { except: peers[0] }), 2);
    assert.strictEqual(wss.broadcast('b', { except: [peers[0], peers[1]] }), 1);
    assert.strictEqual(wss.broadcast('c', { except: new Set([peers[2]]) }), 2);
    assert.strictEqual(
      wss.broadcast('d', { except: (ws) => ws !== peers[1] }),
      1
    );

    await delay(100);
    assert.deepStrictEqual(counts, [1, 3, 2]);
    await teardown(wss, clients);
  });

  check('writes the same frame buffer to every socket', async () => {
    const { wss, clients, peers } = await setup(3);
    const writes = peers.map((peer) => spyWrites(peer._socket));
    const received = clients.map((ws) => collect(ws, 2));
    const big = 'x'.repeat(100000);

    wss.broadcast('small');
    wss.broadcast(big);

    for (const got of await Promise.all(received)) {
      assert.deepStrictEqual(got, ['small', big]);
    }

    // The small message is one buffer (header and payload), the big one a
    // header and the payload: the very same objects for each socket.
    assert.strictEqual(writes[0].length, 3);

    for (const w of writes.slice(1)) {
      assert.strictEqual(w.length, 3);
      w.forEach((chunk, i) => assert.strictEqual(chunk, writes[0][i]));
    }

    await teardown(wss, clients);
  });

  check('throws without client tracking, and for a Blob', async () => {
    const wss = new WebSocketServer({ noServer: true, clientTracking: false });

    assert.throws(() => wss.broadcast('x'), /clientTracking/);

    const tracked = new WebSocketServer({ noServer: true });

    assert.throws(
      () => tracked.broadcast(new Blob(['x'])),
      (err) => err instanceof TypeError && /Blob/.test(err.message)
    );
    assert.strictEqual(tracked.broadcast('nobody'), 0);
  });

  check('skips sockets that are closing or closed', async () => {
    const { wss, clients, peers } = await setup(3);
    const counts = [0, 0, 0];

    clients.forEach((ws, i) => ws.on('message', () => counts[i]++));

    peers[0].close();
    peers[1].terminate();

    assert.strictEqual(wss.broadcast('still here?'), 1);
    await once(clients[1], 'close');
    await delay(50);
    assert.deepStrictEqual(counts, [0, 0, 1]);
    await teardown(wss, clients);
  });

  check('keeps order with send() while the Sender is busy', async () => {
    const { wss, clients, peers } = await setup(1, { perMessageDeflate: true });
    const peer = peers[0];
    const large = crypto.randomBytes(300 * 1024).toString('hex');
    const received = collect(clients[0], 6);

    // 600 KB are compressed on the thread pool: the Sender is busy while
    // the following messages arrive.
    peer.send(large);
    assert.notStrictEqual(peer._sender._state, 0);
    wss.broadcast('after large');
    peer.send('sent');

    // A Blob keeps the Sender busy while it is read.
    peer.send(new Blob(['from a blob']));
    assert.notStrictEqual(peer._sender._state, 0);
    wss.broadcast('after blob');
    peer.send('last');

    assert.deepStrictEqual(await received, [
      large,
      'after large',
      'sent',
      'from a blob',
      'after blob',
      'last'
    ]);
    await teardown(wss, clients);
  });

  check('waits for a fragmented message to end', async () => {
    const { wss, clients, peers } = await setup(1);
    const peer = peers[0];
    const received = collect(clients[0], 3);

    peer.send('frag', { fin: false });
    wss.broadcast('broadcast 1');
    peer.send('ment', { fin: false });
    wss.broadcast('broadcast 2');
    peer.send('ed', { fin: true });

    assert.deepStrictEqual(await received, [
      'fragmented',
      'broadcast 1',
      'broadcast 2'
    ]);
    await teardown(wss, clients);
  });
});

describe('broadcast and permessage-deflate', { timeout: 60000 }, () => {
  check('compresses once for clients without context takeover', async () => {
    const { wss, clients, peers } = await setup(4, {
      perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 }
    });
    const writes = peers.map((peer) => spyWrites(peer._socket));
    const text = 'all work and no play makes jack a dull boy. '.repeat(200);
    const received = clients.map((ws) => collect(ws, 2));

    const compress = NativeDeflate.prototype.compress;
    let calls = 0;

    NativeDeflate.prototype.compress = function (...args) {
      calls++;
      return compress.apply(this, args);
    };

    try {
      wss.broadcast(text);
      wss.broadcast(text.toUpperCase());
    } finally {
      NativeDeflate.prototype.compress = compress;
    }

    assert.strictEqual(calls, 2);

    for (const got of await Promise.all(received)) {
      assert.deepStrictEqual(got, [text, text.toUpperCase()]);
    }

    for (const w of writes) {
      assert.strictEqual(w.length, 2);
      assert.strictEqual(w[0], writes[0][0]);
      // RSV1 is set, and the frame is far smaller than the text.
      assert.strictEqual(w[0][0] & 0x40, 0x40);
      assert.ok(w[0].length < text.length / 10);
    }

    await teardown(wss, clients);
  });

  check('does not compress below the threshold', async () => {
    const { wss, clients, peers } = await setup(2, {
      perMessageDeflate: { serverNoContextTakeover: true, threshold: 1024 }
    });
    const writes = peers.map((peer) => spyWrites(peer._socket));
    const received = clients.map((ws) => collect(ws, 2));

    wss.broadcast('short');
    wss.broadcast('long enough to compress '.repeat(100));

    await Promise.all(received);
    assert.strictEqual(writes[0][0][0] & 0x40, 0);
    assert.strictEqual(writes[0][1][0] & 0x40, 0x40);
    assert.strictEqual(writes[1][0], writes[0][0]);
    assert.strictEqual(writes[1][1], writes[0][1]);
    await teardown(wss, clients);
  });

  check('compresses once per distinct window size', async () => {
    const { wss, clients, peers } = await setup(
      3,
      { perMessageDeflate: { threshold: 0 } },
      [
        { perMessageDeflate: { serverNoContextTakeover: true } },
        {
          perMessageDeflate: {
            serverNoContextTakeover: true,
            serverMaxWindowBits: 10
          }
        },
        { perMessageDeflate: { serverNoContextTakeover: true } }
      ]
    );
    const writes = peers.map((peer) => spyWrites(peer._socket));
    const text = crypto.randomBytes(3000).toString('base64').repeat(20);
    const received = clients.map((ws) => collect(ws, 1));

    wss.broadcast(text);

    for (const got of await Promise.all(received)) {
      assert.deepStrictEqual(got, [text]);
    }

    assert.strictEqual(writes[0][0], writes[2][0]);
    assert.notStrictEqual(writes[0][0], writes[1][0]);
    await teardown(wss, clients);
  });

  check('context takeover clients get their own compression', async () => {
    // Client 0 asks the server to reset its context after each message,
    // clients 1 and 2 do not. Messages that repeat earlier ones make the
    // context-keeping compressors refer back across messages, so a shared
    // frame would corrupt their stream.
    const { wss, clients, peers } = await setup(
      3,
      { perMessageDeflate: { threshold: 0 } },
      [{ perMessageDeflate: { serverNoContextTakeover: true } }, {}, {}]
    );
    const phrase = crypto.randomBytes(2000).toString('hex');
    const expected = [];
    const received = clients.map((ws) => collect(ws, 8));

    for (let i = 0; i < 4; i++) {
      const own = `${phrase} own ${i}`;
      const shared = `${phrase} shared ${i}`;

      for (const peer of peers) peer.send(own);
      wss.broadcast(shared);
      expected.push(own, shared);
    }

    for (const got of await Promise.all(received)) {
      assert.deepStrictEqual(got, expected);
    }

    for (const ws of clients) assert.strictEqual(ws.readyState, WebSocket.OPEN);
    await teardown(wss, clients);
  });

  check('sends uncompressed with compress: false', async () => {
    const { wss, clients, peers } = await setup(1, {
      perMessageDeflate: { threshold: 0 }
    });
    const writes = spyWrites(peers[0]._socket);
    const received = collect(clients[0], 1);

    wss.broadcast('plain '.repeat(100), { compress: false });
    await received;
    assert.strictEqual(writes[0][0] & 0x40, 0);
    await teardown(wss, clients);
  });
});

describe('topics', { timeout: 60000 }, () => {
  check('the topic methods and the subscriber count', async () => {
    const { wss, clients, peers } = await setup(2);
    const [a, b] = peers;

    assert.strictEqual(a.subscribe('news'), true);
    assert.strictEqual(a.subscribe('news'), false);
    assert.strictEqual(a.subscribe('sport'), true);
    assert.strictEqual(b.subscribe('news'), true);

    assert.strictEqual(a.isSubscribed('news'), true);
    assert.strictEqual(b.isSubscribed('sport'), false);
    assert.deepStrictEqual(a.topics.sort(), ['news', 'sport']);
    assert.deepStrictEqual(b.topics, ['news']);
    assert.strictEqual(wss.subscribers('news'), 2);
    assert.strictEqual(wss.subscribers('sport'), 1);
    assert.strictEqual(wss.subscribers('weather'), 0);

    assert.strictEqual(a.unsubscribe('news'), true);
    assert.strictEqual(a.unsubscribe('news'), false);
    assert.strictEqual(wss.subscribers('news'), 1);

    // The array is a copy.
    a.topics.push('fake');
    assert.deepStrictEqual(a.topics, ['sport']);

    assert.throws(() => a.subscribe(42), TypeError);
    assert.throws(() => wss.subscribers(null), TypeError);
    await teardown(wss, clients);
  });

  check('publish reaches the subscribers only', async () => {
    const { wss, clients, peers } = await setup(3);
    const counts = [0, 0, 0];
    const last = [];

    clients.forEach((ws, i) =>
      ws.on('message', (data) => {
        counts[i]++;
        last[i] = data.toString();
      })
    );

    peers[0].subscribe('room');
    peers[2].subscribe('room');

    assert.strictEqual(wss.publish('room', 'hi room'), 2);
    assert.strictEqual(wss.publish('empty', 'hi nobody'), 0);
    assert.strictEqual(
      wss.publish('room', 'not to 0', { except: peers[0] }),
      1
    );

    await delay(100);
    assert.deepStrictEqual(counts, [1, 0, 2]);
    assert.strictEqual(last[0], 'hi room');
    assert.strictEqual(last[2], 'not to 0');
    await teardown(wss, clients);
  });

  check('a closed socket leaves its topics', async () => {
    const { wss, clients, peers } = await setup(2);

    peers[0].subscribe('t1');
    peers[0].subscribe('t2');
    peers[1].subscribe('t1');

    clients[0].close();
    await once(peers[0], 'close');

    assert.deepStrictEqual(peers[0].topics, []);
    assert.strictEqual(wss.subscribers('t1'), 1);
    assert.strictEqual(wss.subscribers('t2'), 0);
    assert.strictEqual(peers[0].subscribe('t1'), false);
    assert.strictEqual(wss.subscribers('t1'), 1);
    await teardown(wss, clients);
  });

  check('publishing to a closing socket is skipped quietly', async () => {
    const { wss, clients, peers } = await setup(2);
    const got = [];

    peers[0].subscribe('t');
    peers[1].subscribe('t');
    clients[0].on('message', (data) => got.push(data.toString()));

    const closed = once(clients[0], 'close');

    peers[0].close(1000, 'going');
    assert.strictEqual(peers[0].readyState, WebSocket.CLOSING);
    assert.strictEqual(wss.publish('t', 'late'), 1);

    const [code] = await closed;

    assert.strictEqual(code, 1000);
    assert.deepStrictEqual(got, []);

    // A socket that terminated abruptly is gone from the topic too.
    peers[1].terminate();
    await once(peers[1], 'close');
    assert.strictEqual(wss.publish('t', 'later'), 0);
    assert.strictEqual(wss.subscribers('t'), 0);
    await teardown(wss, clients);
  });

  check('a message held behind a fragment dies with the socket', async () => {
    const { wss, clients, peers } = await setup(1);
    const got = [];

    clients[0].on('message', (data) => got.push(data.toString()));
    peers[0].subscribe('t');
    peers[0].send('unfinished', { fin: false });
    assert.strictEqual(wss.publish('t', 'held'), 1);
    peers[0].terminate();
    await once(clients[0], 'close');
    assert.deepStrictEqual(got, []);
    await teardown(wss, clients);
  });

  check('topics are for server-side sockets only', async () => {
    const { wss, clients } = await setup(1);

    assert.throws(() => clients[0].subscribe('t'), /WebSocketServer/);
    assert.deepStrictEqual(clients[0].topics, []);
    await teardown(wss, clients);
  });

  check('a slow subscriber backs up alone and drains later', async () => {
    const { wss, clients, peers } = await setup(2, {
      sendHighWaterMark: 64 * 1024
    });
    const [slow, fast] = clients;
    const chunk = crypto.randomBytes(256 * 1024);
    let fastCount = 0;
    let slowCount = 0;

    fast.on('message', () => fastCount++);
    slow.on('message', () => slowCount++);
    peers.forEach((peer) => peer.subscribe('feed'));

    // The slow client stops reading: the server's kernel buffer fills up,
    // then its socket's user-space buffer.
    slow.pause();

    let rounds = 0;

    while (peers[0].bufferedAmount < 2 * 1024 * 1024 && rounds < 200) {
      wss.publish('feed', chunk);
      rounds++;
      await delay(5);
    }

    assert.ok(peers[0].bufferedAmount >= 64 * 1024);
    assert.ok(peers[1].bufferedAmount < 64 * 1024);

    // A policy for slow subscribers: leave out those over the mark.
    const sent = wss.publish('feed', chunk, {
      except: (ws) => ws.bufferedAmount >= 64 * 1024
    });

    assert.strictEqual(sent, 1);

    const drained = once(peers[0], 'drain');

    slow.resume();
    await drained;
    assert.ok(peers[0].bufferedAmount < 64 * 1024);

    while (slowCount < rounds || fastCount < rounds + 1) await delay(10);
    assert.strictEqual(slowCount, rounds);
    assert.strictEqual(fastCount, rounds + 1);
    await teardown(wss, clients);
  });
});
