'use strict';

// The backplane (issue 15): publish, broadcast and presence across server
// processes, on a real redis-server (and a real Redis Cluster) that the
// tests start themselves, and on node:cluster IPC.

const assert = require('node:assert');
const { fork, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const { once } = require('node:events');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const WebSocket = require('..');
const { WebSocketServer } = WebSocket;
const { decode, encode } = require('../lib/backplane/frame');
const {
  freePort,
  startCluster,
  startRedis
} = require('./fixtures/redis-server');

const NODE = path.join(__dirname, 'fixtures', 'backplane-node.js');
const CLUSTER = path.join(__dirname, 'fixtures', 'backplane-cluster.js');

let prefixes = 0;

/** A prefix of its own for each test, so that tests cannot hear each other. */
function prefix() {
  return `t${process.pid}-${++prefixes}`;
}

/** Resolves after `ms` milliseconds. */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns something truthy, for at most `ms`. */
async function until(what, fn, ms = 10000) {
  const deadline = Date.now() + ms;
  let last;

  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what} (last: ${last && (last.message || JSON.stringify(last))})`
      );
    }
    await delay(50);
  }
}

/** A server process with a backplane (fixtures/backplane-node.js). */
class Node {
  constructor(child, port, id) {
    this.child = child;
    this.port = port;
    this.id = id;
    this.calls = 0;
  }

  static async start(config, file = NODE, args = []) {
    const child = fork(file, args, {
      env: { ...process.env, WSRS_BACKPLANE_NODE: JSON.stringify(config) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    });
    const [msg] = await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(
          `the server process exited with ${code} before it was ready`
        );
      }),
      delay(15000).then(() => {
        throw new Error('the server process was not ready within 15 s');
      })
    ]);

    return new Node(child, msg.port, msg.id);
  }

  /** Runs a command in the process. */
  call(cmd, args = {}) {
    const id = ++this.calls;

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.removeListener('message', onMessage);
        reject(new Error(`no answer to ${cmd} within 10 s`));
      }, 10000);
      const onMessage = (msg) => {
        if (msg.id !== id) return;
        clearTimeout(timer);
        this.child.removeListener('message', onMessage);
        if (msg.error !== undefined) reject(new Error(msg.error));
        else resolve(msg.value);
      };

      this.child.on('message', onMessage);
      this.child.send({ id, cmd, ...args });
    });
  }

  kill() {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve();
    const exited = once(this.child, 'exit');

    this.child.kill('SIGKILL');
    return exited;
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await Promise.race([this.call('close').catch(() => {}), delay(5000)]);
    await this.kill();
  }
}

/** A client subscribed to `topics`, keeping what it receives. */
async function subscriber(port, topics = [], options = {}) {
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}/?topics=${topics.join(',')}`,
    options
  );
  const messages = [];
  const waiters = [];
  let welcome;

  ws.on('message', (data, isBinary) => {
    if (welcome === undefined) {
      welcome = JSON.parse(data);
      return;
    }
    messages.push({ data, isBinary });
    for (const waiter of waiters.splice(0)) waiter();
  });
  await once(ws, 'open');
  await until('the welcome message', () => welcome !== undefined, 5000);

  return {
    ws,
    messages,
    welcome,
    /** Resolves to the first `n` messages once they have arrived. */
    async take(n, ms = 10000) {
      const deadline = Date.now() + ms;

      while (messages.length < n) {
        if (Date.now() > deadline) {
          throw new Error(
            `got ${messages.length} of ${n} messages within ${ms} ms`
          );
        }
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return messages.splice(0, n);
    },
    texts() {
      return messages.splice(0).map((m) => String(m.data));
    }
  };
}

/** Waits until `node` sees `expected` subscribers of `topic` in total. */
function presence(node, topic, expected, ms) {
  return until(
    `${expected} subscribers of ${topic}`,
    async () => (await node.call('count', { topic })) === expected,
    ms
  );
}

describe('backplane frame', () => {
  test('round-trips header and payload, and refuses what is not ours', () => {
    const id = crypto.randomBytes(8);
    const payload = crypto.randomBytes(300);
    const frame = encode(id, payload, true, false);
    const back = decode(frame);

    assert.strictEqual(frame.length, 12 + 300);
    assert.ok(back.origin.equals(id));
    assert.ok(back.payload.equals(payload));
    assert.strictEqual(back.binary, true);
    assert.strictEqual(back.compress, false);
    assert.strictEqual(
      decode(encode(id, Buffer.alloc(0), false, true)).payload.length,
      0
    );
    assert.strictEqual(decode(Buffer.from('hello, this is not a frame')), null);
    assert.strictEqual(decode(Buffer.alloc(5)), null);
  });
});

describe('backplane option', () => {
  test('a value that is not a backplane is a TypeError', () => {
    assert.throws(
      () =>
        new WebSocketServer({ noServer: true, backplane: { publish() {} } }),
      { name: 'TypeError', message: /"backplane" option must implement/ }
    );
  });

  test('requiring wsrs/redis without a Redis client library names what to install', () => {
    const hide =
      "const M = require('module'); const load = M._load;" +
      "M._load = function (r, ...a) { if (r === 'redis' || r === 'ioredis') {" +
      "const e = new Error('not found'); e.code = 'MODULE_NOT_FOUND'; throw e; }" +
      'return load.call(this, r, ...a); };';
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `${hide} try { require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'backplane', 'redis.js'))}) } catch (e) { console.log(e.code + ' ' + e.message) }`
      ],
      { encoding: 'utf8', timeout: 10000 }
    );

    assert.match(
      run.stdout,
      /^ERR_WSRS_REDIS_CLIENT_MISSING .*npm install redis.*ioredis/
    );
  });
});

describe('RedisBackplane', () => {
  let redis;
  const nodes = [];

  before(async () => {
    redis = await startRedis();
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    if (redis) await redis.stop();
  });

  /** Starts `count` server processes on the test Redis. */
  async function servers(count, config = {}) {
    const started = [];
    const p = config.prefix || prefix();

    for (let i = 0; i < count; i++) {
      const extra = Array.isArray(config) ? config[i] : config;
      const node = await Node.start({ url: redis.url, ...extra, prefix: p });

      nodes.push(node);
      started.push(node);
    }
    return started;
  }

  test(
    'a Redis that is down: local traffic goes on, nothing throws, presence is refused',
    { timeout: 20000 },
    async () => {
      const { RedisBackplane } = require('../lib/backplane/redis');
      const port = await freePort();
      const backplane = new RedisBackplane({
        url: `redis://127.0.0.1:${port}`
      });
      const wss = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        backplane
      });

      await once(wss, 'listening');
      wss.on('connection', (ws) => ws.subscribe('news'));

      const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
      const got = once(client, 'message');

      await once(wss, 'connection');
      assert.strictEqual(wss.publish('news', 'still here'), 1);
      assert.strictEqual(String((await got)[0]), 'still here');
      assert.strictEqual(wss.broadcast('to all'), 1);
      assert.strictEqual(backplane.isUp, false);
      assert.strictEqual(backplane.stats.dropped, 2);
      await assert.rejects(backplane.count('news'), {
        code: 'ERR_WSRS_BACKPLANE_DOWN'
      });
      await assert.rejects(backplane.nodes(), {
        code: 'ERR_WSRS_BACKPLANE_DOWN'
      });
      client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await backplane.close();
    }
  );

  test(
    'three servers: publish and broadcast reach every server, local stays local',
    { timeout: 30000 },
    async () => {
      const [a, b, c] = await servers(3);
      const a1 = await subscriber(a.port, ['news']);
      const b1 = await subscriber(b.port, ['news']);
      const c1 = await subscriber(c.port, ['sport']);
      const c2 = await subscriber(c.port);

      await presence(a, 'news', 2);
      await presence(a, 'sport', 1);

      assert.strictEqual(
        await a.call('publish', { topic: 'news', data: 'first' }),
        1
      );
      assert.deepStrictEqual(
        (await a1.take(1)).map((m) => String(m.data)),
        ['first']
      );
      assert.deepStrictEqual(
        (await b1.take(1)).map((m) => String(m.data)),
        ['first']
      );

      assert.strictEqual(
        await b.call('publish', { topic: 'sport', data: 'goal' }),
        0
      );
      assert.strictEqual(String((await c1.take(1))[0].data), 'goal');

      assert.strictEqual(await c.call('broadcast', { data: 'everyone' }), 2);
      for (const sub of [a1, b1, c1, c2]) {
        assert.strictEqual(String((await sub.take(1))[0].data), 'everyone');
      }

      // `local`: this server's subscribers only. A later message shows that
      // the local one did not travel.
      assert.strictEqual(
        await a.call('publish', {
          topic: 'news',
          data: 'here only',
          local: true
        }),
        1
      );
      assert.strictEqual(
        await a.call('broadcast', { data: 'here too', local: true }),
        1
      );
      await a.call('publish', { topic: 'news', data: 'marker' });
      assert.deepStrictEqual(
        (await a1.take(3)).map((m) => String(m.data)),
        ['here only', 'here too', 'marker']
      );
      assert.deepStrictEqual(
        (await b1.take(1)).map((m) => String(m.data)),
        ['marker']
      );
      await delay(100);
      assert.deepStrictEqual(
        [c1.texts(), c2.texts(), b1.texts()],
        [[], [], []]
      );

      for (const s of [a1, b1, c1, c2]) s.ws.terminate();
    }
  );

  test(
    'a burst from one server arrives in order on the others',
    { timeout: 30000 },
    async () => {
      const [a, b] = await servers(2);
      const b1 = await subscriber(b.port, ['ticks']);
      const b2 = await subscriber(b.port, ['ticks']);

      await presence(a, 'ticks', 2);
      await a.call('burst', { topic: 'ticks', count: 3000, label: 'n' });

      const expected = Array.from({ length: 3000 }, (_, i) => `n${i}`);

      for (const sub of [b1, b2]) {
        const got = (await sub.take(3000, 20000)).map((m) => String(m.data));

        assert.ok(
          got.every((text, i) => text === expected[i]),
          'out of order'
        );
        sub.ws.terminate();
      }
    }
  );

  test(
    'payloads are byte-exact, 0 B to 1 MiB, and text stays text',
    { timeout: 30000 },
    async () => {
      const [a, b] = await servers(2);
      const b1 = await subscriber(b.port, ['bytes']);
      const big = crypto.randomBytes(1024 * 1024);
      const text = 'héllo wörld ✓ '.repeat(1000);

      await presence(a, 'bytes', 1);
      await a.call('publish', {
        topic: 'bytes',
        data: Buffer.alloc(0),
        binary: true
      });
      await a.call('publish', { topic: 'bytes', data: big, binary: true });
      await a.call('publish', { topic: 'bytes', data: text, binary: false });
      await a.call('publish', { topic: 'bytes', data: '', binary: false });

      const got = await b1.take(4, 20000);

      assert.deepStrictEqual(
        got.map((m) => m.isBinary),
        [true, true, false, false]
      );
      assert.strictEqual(got[0].data.length, 0);
      assert.ok(got[1].data.equals(big));
      assert.ok(String(got[2].data) === text, 'the text arrived changed');
      assert.strictEqual(got[3].data.length, 0);
      b1.ws.terminate();
    }
  );

  test(
    'permessage-deflate on one server only',
    { timeout: 30000 },
    async () => {
      const [plain, deflating] = await servers(2, [{}, { deflate: true }]);
      const d1 = await subscriber(deflating.port, ['json']);
      const d2 = await subscriber(deflating.port, ['json']);
      const p1 = await subscriber(plain.port, ['json']);
      const body = JSON.stringify({
        items: Array.from({ length: 500 }, (_, i) => ({ i, name: `item ${i}` }))
      });

      assert.match(d1.ws.extensions, /permessage-deflate/);
      assert.strictEqual(p1.ws.extensions, '');
      await presence(plain, 'json', 3);

      // Messages of two servers have no order between them: one at a time.
      await plain.call('publish', { topic: 'json', data: body });
      for (const sub of [d1, d2, p1]) {
        const [got] = await sub.take(1);

        assert.ok(String(got.data) === body, 'the text arrived changed');
        assert.strictEqual(got.isBinary, false);
      }

      await deflating.call('publish', {
        topic: 'json',
        data: Buffer.from([0, 255, 1]),
        binary: true
      });
      for (const sub of [d1, d2, p1]) {
        const [got] = await sub.take(1);

        assert.deepStrictEqual([...got.data], [0, 255, 1]);
        assert.strictEqual(got.isBinary, true);
        sub.ws.terminate();
      }
    }
  );

  test(
    'count() and nodes() see every live server',
    { timeout: 30000 },
    async () => {
      const [a, b, c] = await servers(3);
      const subs = [
        await subscriber(a.port, ['x', 'y']),
        await subscriber(b.port, ['x']),
        await subscriber(c.port, ['x']),
        await subscriber(c.port, ['y'])
      ];

      await presence(b, 'x', 3);
      await presence(c, 'y', 2);
      assert.strictEqual(await a.call('count', { topic: 'nobody' }), 0);

      const list = await a.call('nodes');

      assert.deepStrictEqual(
        list.map((n) => n.id).sort(),
        [a.id, b.id, c.id].sort()
      );
      for (const n of list) assert.strictEqual(typeof n.pid, 'number');

      subs[0].ws.close();
      await presence(c, 'x', 2);
      await presence(c, 'y', 1);
      for (const s of subs) s.ws.terminate();
    }
  );

  test(
    'a server killed with SIGKILL leaves the presence within nodeTimeout',
    { timeout: 30000 },
    async () => {
      const [a, b] = await servers(2, { nodeTimeout: 1500 });
      const a1 = await subscriber(a.port, ['room']);
      const b1 = await subscriber(b.port, ['room']);

      await presence(a, 'room', 2);
      await b.kill();

      const killed = Date.now();

      await presence(a, 'room', 1, 5000);
      assert.ok(
        Date.now() - killed <= 1500 + 1500,
        `left after ${Date.now() - killed} ms`
      );
      assert.deepStrictEqual(
        (await a.call('nodes')).map((n) => n.id),
        [a.id]
      );
      a1.ws.terminate();
      b1.ws.terminate();
    }
  );

  test(
    'Redis killed with SIGKILL and restarted empty: local traffic goes on, presence and delivery come back',
    { timeout: 60000 },
    async () => {
      const [a, b] = await servers(2, { nodeTimeout: 3000 });
      const a1 = await subscriber(a.port, ['live']);
      const b1 = await subscriber(b.port, ['live']);

      await presence(a, 'live', 2);
      await redis.kill();
      await until('both servers to see Redis down', async () => {
        const states = await Promise.all([a.call('state'), b.call('state')]);

        return states.every((s) => !s.up && s.events.includes('down'));
      });

      // During the outage: local delivery, no throw, the remote copy counted
      // as dropped.
      const dropped = (await a.call('state')).stats.dropped;

      assert.strictEqual(
        await a.call('publish', { topic: 'live', data: 'in the outage' }),
        1
      );
      assert.strictEqual(String((await a1.take(1))[0].data), 'in the outage');
      assert.strictEqual((await a.call('state')).stats.dropped, dropped + 1);
      await assert.rejects(
        a.call('count', { topic: 'live' }),
        /ERR_WSRS_BACKPLANE_DOWN/
      );

      await redis.start();
      await until(
        'both servers to see Redis up',
        async () => {
          const states = await Promise.all([a.call('state'), b.call('state')]);

          return states.every((s) => s.up);
        },
        15000
      );
      // Redis came back with no data: the servers announce themselves again.
      await presence(a, 'live', 2, 10000);
      assert.strictEqual((await a.call('nodes')).length, 2);

      await until('delivery across servers again', async () => {
        await a.call('publish', { topic: 'live', data: 'back' });
        await delay(100);
        return b1.texts().includes('back');
      });
      a1.ws.terminate();
      b1.ws.terminate();
    }
  );

  test(
    'a node-redis client and an ioredis client the application gave',
    { timeout: 30000 },
    async () => {
      const [a, b] = await servers(2, [
        { client: 'node-redis' },
        { client: 'ioredis' }
      ]);
      const a1 = await subscriber(a.port, ['chat']);
      const b1 = await subscriber(b.port, ['chat']);

      await presence(a, 'chat', 2);
      await presence(b, 'chat', 2);
      await a.call('publish', { topic: 'chat', data: 'from node-redis' });
      assert.strictEqual(String((await b1.take(1))[0].data), 'from node-redis');
      assert.strictEqual(String((await a1.take(1))[0].data), 'from node-redis');
      await b.call('publish', {
        topic: 'chat',
        data: Buffer.from([1, 2, 3]),
        binary: true
      });
      assert.deepStrictEqual([...(await a1.take(1))[0].data], [1, 2, 3]);

      // Closing the backplane leaves the application's own client open.
      for (const node of [a, b]) {
        await node.call('close');
        assert.strictEqual(await node.call('userClient'), true);
      }
      a1.ws.terminate();
      b1.ws.terminate();
    }
  );

  test(
    'the native engine with reusePort: two processes on one port',
    { timeout: 30000 },
    async () => {
      const port = await freePort();
      const config = { engine: 'native', reusePort: true, port };
      const [a, b] = await servers(2, config);
      const subs = [];
      const seen = new Set();

      // The kernel spreads connections over the two processes; open until
      // both have some.
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        const sub = await subscriber(port, ['n']);

        subs.push(sub);
        seen.add(sub.welcome.pid);
      }
      assert.strictEqual(
        seen.size,
        2,
        'the connections all went to one process'
      );
      await presence(a, 'n', subs.length);
      await b.call('publish', { topic: 'n', data: 'to all of them' });
      for (const sub of subs) {
        assert.strictEqual(
          String((await sub.take(1))[0].data),
          'to all of them'
        );
        sub.ws.terminate();
      }
    }
  );
});

describe('RedisBackplane on a Redis Cluster (sharded pub/sub)', () => {
  let cluster;
  const nodes = [];

  before(async () => {
    cluster = await startCluster(3);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    if (cluster) await cluster.stop();
  });

  test(
    'SPUBLISH/SSUBSCRIBE across three masters',
    { timeout: 60000 },
    async () => {
      const p = prefix();

      for (let i = 0; i < 2; i++) {
        nodes.push(
          await Node.start({ url: cluster.url, prefix: p, sharded: true })
        );
      }

      const [a, b] = nodes;
      // Enough topics that their channels hash to every master.
      const topics = Array.from({ length: 12 }, (_, i) => `topic-${i}`);
      const b1 = await subscriber(b.port, topics);
      const a1 = await subscriber(a.port, topics.slice(0, 1));

      await presence(a, topics[11], 1, 20000);
      await presence(b, topics[0], 2, 20000);
      for (const topic of topics)
        await a.call('publish', { topic, data: `on ${topic}` });

      const got = (await b1.take(topics.length))
        .map((m) => String(m.data))
        .sort();

      assert.deepStrictEqual(got, topics.map((t) => `on ${t}`).sort());
      await b.call('broadcast', { data: 'all shards' });
      assert.deepStrictEqual(
        (await a1.take(2)).map((m) => String(m.data)),
        ['on topic-0', 'all shards']
      );
      assert.strictEqual((await a.call('nodes')).length, 2);
      a1.ws.terminate();
      b1.ws.terminate();
    }
  );
});

describe('ClusterBackplane', () => {
  test(
    'two cluster workers on one port share publish, broadcast and presence',
    { timeout: 30000 },
    async () => {
      const child = fork(CLUSTER, ['2'], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc']
      });
      const ready = new Map();
      const answers = new Map();
      let calls = 0;

      child.on('message', (msg) => {
        if (msg.ready) ready.set(msg.from, msg.port);
        else answers.set(msg.id, msg);
      });

      const call = async (to, cmd, args = {}) => {
        const id = ++calls;

        child.send({ to, id, cmd, ...args });
        const msg = await until(
          `${cmd} from worker ${to}`,
          () => answers.get(id),
          10000
        );

        if (msg.error !== undefined) throw new Error(msg.error);
        return msg.value;
      };

      try {
        await until('both workers', () => ready.size === 2, 20000);

        const port = ready.get(0);
        const subs = new Map();

        for (let i = 0; i < 40 && subs.size < 2; i++) {
          const sub = await subscriber(port, ['room']);

          if (subs.has(sub.welcome.worker)) sub.ws.terminate();
          else subs.set(sub.welcome.worker, sub);
        }
        assert.strictEqual(
          subs.size,
          2,
          'the connections all went to one worker'
        );

        await until(
          '2 subscribers',
          async () => (await call(0, 'count', { topic: 'room' })) === 2
        );
        assert.strictEqual((await call(1, 'nodes')).length, 2);
        assert.strictEqual(
          await call(0, 'publish', { topic: 'room', data: 'hi both' }),
          1
        );
        assert.strictEqual(
          await call(1, 'broadcast', { data: Buffer.from([7]), binary: true }),
          1
        );

        for (const sub of subs.values()) {
          const got = await sub.take(2);

          assert.strictEqual(String(got[0].data), 'hi both');
          assert.deepStrictEqual([...got[1].data], [7]);
          assert.strictEqual(got[1].isBinary, true);
          sub.ws.terminate();
        }
        await until(
          '0 subscribers',
          async () => (await call(1, 'count', { topic: 'room' })) === 0
        );
      } finally {
        const exited = once(child, 'exit');

        child.disconnect();
        await Promise.race([
          exited,
          delay(5000).then(() => child.kill('SIGKILL'))
        ]);
      }
    }
  );
});
