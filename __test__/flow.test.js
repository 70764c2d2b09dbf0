'use strict';

// wsrs extras on one connection: send backpressure (send() returning false
// above sendHighWaterMark, then 'drain'), the heartbeat and the idle
// timeout. Over loopback, with short timers.

const assert = require('node:assert');
const crypto = require('node:crypto');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('../lib/websocket');
const WebSocketServer = require('../lib/websocket-server');
const { kFlow } = require('../lib/flow/flow');

const HOST = '127.0.0.1';

/** A test bounded in time. */
function check(title, fn) {
  return test(title, { timeout: 10000 }, fn);
}

/** Resolves after `ms` milliseconds. */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a server, connects one client; resolves to the three of them. */
async function pair(serverOptions = {}, clientOptions = {}) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...serverOptions });

  await once(wss, 'listening');

  const connected = once(wss, 'connection');
  const client = new WebSocket(
    `ws://${HOST}:${wss.address().port}`,
    clientOptions
  );
  const [[peer]] = await Promise.all([connected, once(client, 'open')]);

  return { wss, client, peer };
}

/** Terminates both ends and closes the server. */
async function teardown(wss, client) {
  client.terminate();
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
}

/** Resolves with the close code of `ws`. */
function closeCode(ws) {
  return once(ws, 'close').then(([code]) => code);
}

describe('send backpressure', { timeout: 60000 }, () => {
  check('send() is true under the mark, false above, then drain', async () => {
    const { wss, client, peer } = await pair({ sendHighWaterMark: 32 * 1024 });
    const chunk = crypto.randomBytes(64 * 1024);
    let received = 0;

    client.on('message', () => received++);
    assert.strictEqual(peer.send('small'), true);

    // The client stops reading, so the bytes pile up on the server.
    client.pause();

    let sent = 0;
    let result = true;

    while (result && sent < 1000) {
      result = peer.send(chunk);
      sent++;
    }

    assert.strictEqual(result, false);
    assert.ok(peer.bufferedAmount >= 32 * 1024);

    const drained = once(peer, 'drain');

    client.resume();
    await drained;
    assert.ok(peer.bufferedAmount < 32 * 1024);
    assert.strictEqual(peer.send('after drain'), true);

    while (received < sent + 2) await delay(5);
    await teardown(wss, client);
  });

  check('one drain per crossing; callbacks still run', async () => {
    const { wss, client, peer } = await pair({ sendHighWaterMark: 1024 });
    let drains = 0;
    let callbacks = 0;

    peer.on('drain', () => drains++);
    client.pause();

    let result = true;

    while (result) {
      result = peer.send(crypto.randomBytes(16 * 1024), () => callbacks++);
    }

    const more = peer.send('one more', () => callbacks++);

    assert.strictEqual(more, false);
    client.resume();
    await once(peer, 'drain');
    await delay(50);
    assert.strictEqual(drains, 1);
    assert.ok(callbacks > 1);
    await teardown(wss, client);
  });

  check('counts the bytes waiting in the Sender', async () => {
    const { wss, client, peer } = await pair({ perMessageDeflate: true });
    const big = 'abc'.repeat(200 * 1024);
    const received = once(client, 'message');

    // 600 KB go to the thread pool for compression: nothing is in the
    // socket yet, but the Sender holds them.
    assert.strictEqual(peer.send(big), false);
    assert.ok(peer._sender._bufferedBytes > 0);

    await once(peer, 'drain');
    assert.ok(peer.bufferedAmount < 16 * 1024);
    assert.strictEqual((await received)[0].toString(), big);
    await teardown(wss, client);
  });

  check('applies to clients too, with the 16 KiB default', async () => {
    const { wss, client, peer } = await pair();

    assert.strictEqual(client[kFlow].highWaterMark, 16 * 1024);
    assert.strictEqual(client.send('x'), true);

    peer.pause();

    let result = true;

    while (result) result = client.send(crypto.randomBytes(64 * 1024));

    const drained = once(client, 'drain');

    peer.resume();
    await drained;
    await teardown(wss, client);
  });

  check('send() returns false once the socket is not open', async () => {
    const { wss, client } = await pair();

    client.close();
    assert.strictEqual(client.send('too late'), false);
    await once(client, 'close');
    assert.strictEqual(client.send('later still'), false);
    await teardown(wss, client);
  });

  check('rejects a bad sendHighWaterMark', () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, sendHighWaterMark: -1 }),
      RangeError
    );
    assert.throws(
      () => new WebSocket(`ws://${HOST}:1`, { sendHighWaterMark: 'big' }),
      TypeError
    );
  });
});

describe('heartbeat', { timeout: 60000 }, () => {
  // Short timers to see a peer go; a generous timeout where it must stay,
  // so that a busy machine does not make the test flaky.
  const heartbeat = { interval: 40, timeout: 40 };
  const lenient = { interval: 40, timeout: 250 };

  check('terminates a peer that does not answer', async () => {
    const { wss, client, peer } = await pair(
      { heartbeat },
      { autoPong: false }
    );
    let pings = 0;

    client.on('ping', () => pings++);

    const started = Date.now();
    const clientClosed = closeCode(client);
    const [code] = await once(peer, 'close');

    assert.strictEqual(code, 1006);
    assert.ok(pings >= 1);
    assert.ok(Date.now() - started < 1000);
    assert.strictEqual(await clientClosed, 1006);
    await teardown(wss, client);
  });

  check('keeps a peer that answers with pongs', async () => {
    const { wss, client, peer } = await pair({ heartbeat: lenient });
    let pings = 0;

    client.on('ping', () => pings++);
    await delay(400);
    assert.ok(pings >= 3, `only ${pings} pings`);
    assert.strictEqual(peer.readyState, WebSocket.OPEN);
    await teardown(wss, client);
  });

  check('any data counts as an answer', async () => {
    const { wss, client, peer } = await pair(
      { heartbeat: lenient },
      { autoPong: false }
    );
    const timer = setInterval(() => client.send('still here'), 10);

    await delay(400);
    clearInterval(timer);
    assert.strictEqual(peer.readyState, WebSocket.OPEN);

    // Once the data stops, the silent peer goes.
    assert.strictEqual(await closeCode(peer), 1006);
    await teardown(wss, client);
  });

  check('spares a paused socket, whose answer cannot be read', async () => {
    const { wss, client, peer } = await pair(
      { heartbeat },
      { autoPong: false }
    );
    let pings = 0;

    client.on('ping', () => pings++);
    peer.pause();
    await delay(300);

    // No ping was sent and nobody was terminated while paused.
    assert.strictEqual(peer.readyState, WebSocket.OPEN);
    assert.strictEqual(pings, 0);

    peer.resume();
    assert.strictEqual(await closeCode(peer), 1006);
    assert.ok(pings >= 1);
    await teardown(wss, client);
  });

  check('a socket paused after the ping is not terminated', async () => {
    const { wss, client, peer } = await pair(
      { heartbeat: { interval: 40, timeout: 150 } },
      { autoPong: false }
    );

    await once(client, 'ping');
    peer.pause();
    await delay(300);
    assert.strictEqual(peer.readyState, WebSocket.OPEN);
    peer.resume();
    assert.strictEqual(await closeCode(peer), 1006);
    await teardown(wss, client);
  });

  check('works on the client side', async () => {
    const { wss, client, peer } = await pair(
      { autoPong: false },
      { heartbeat }
    );
    let pings = 0;

    peer.on('ping', () => pings++);
    assert.strictEqual(await closeCode(client), 1006);
    assert.ok(pings >= 1);
    await teardown(wss, client);
  });

  check('clears its timers when the connection closes', async () => {
    const { wss, client, peer } = await pair({ heartbeat }, { heartbeat });

    client.close();
    await Promise.all([once(client, 'close'), once(peer, 'close')]);

    for (const ws of [client, peer]) {
      const hb = ws[kFlow].heartbeat;

      assert.strictEqual(hb.timer, null);
      assert.strictEqual(hb.expiry, null);
      assert.strictEqual(hb.onData, null);
    }

    await teardown(wss, client);
  });

  check('its timers do not keep the process alive', async () => {
    const { wss, client } = await pair({
      heartbeat: { interval: 1e6, timeout: 1e6 }
    });
    const peer = [...wss.clients][0];

    assert.strictEqual(peer[kFlow].heartbeat.timer.hasRef(), false);
    await teardown(wss, client);
  });

  check('rejects bad heartbeat options', () => {
    assert.throws(
      () => new WebSocketServer({ noServer: true, heartbeat: 1000 }),
      TypeError
    );
    assert.throws(
      () =>
        new WebSocketServer({
          noServer: true,
          heartbeat: { interval: 0, timeout: 10 }
        }),
      RangeError
    );
    assert.throws(
      () => new WebSocket(`ws://${HOST}:1`, { heartbeat: { interval: 10 } }),
      TypeError
    );
  });
});

describe('idleTimeout', { timeout: 60000 }, () => {
  check('closes with 1001 after no message for that long', async () => {
    const { wss, client, peer } = await pair({ idleTimeout: 100 });
    const started = Date.now();
    const peerClosed = closeCode(peer);
    const [code] = await once(client, 'close');

    assert.strictEqual(code, 1001);
    assert.ok(Date.now() - started >= 90);
    assert.strictEqual(await peerClosed, 1001);
    await teardown(wss, client);
  });

  check('messages either way keep the connection', async () => {
    const { wss, client, peer } = await pair({ idleTimeout: 200 });
    let i = 0;
    const timer = setInterval(() => {
      // Alternate the direction.
      if (i++ % 2) client.send('ping-pong');
      else peer.send('pong-ping');
    }, 30);

    await delay(500);
    clearInterval(timer);
    assert.strictEqual(peer.readyState, WebSocket.OPEN);
    assert.strictEqual(await closeCode(client), 1001);
    await teardown(wss, client);
  });

  check('control frames do not count as traffic', async () => {
    const { wss, client } = await pair({
      idleTimeout: 200,
      heartbeat: { interval: 20, timeout: 150 }
    });
    let pings = 0;

    client.on('ping', () => pings++);
    assert.strictEqual(await closeCode(client), 1001);
    assert.ok(pings >= 1);
    await teardown(wss, client);
  });

  check('waits while the socket is paused', async () => {
    const { wss, client, peer } = await pair({}, { idleTimeout: 60 });

    client.pause();
    await delay(250);
    assert.strictEqual(client.readyState, WebSocket.OPEN);
    client.resume();

    const [code] = await once(peer, 'close');

    assert.strictEqual(code, 1001);
    await teardown(wss, client);
  });
});
