'use strict';

//
// The backplane on Redis pub/sub.
//
// Messages: one channel per topic, `<prefix>:t:<topic>`, and one for
// broadcasts, `<prefix>:b`. A server subscribes to a topic's channel while
// it has a local subscriber of that topic, so it hears nothing else; Redis
// thus holds one channel per topic that has a subscriber somewhere, and
// each server one subscription per topic it has locally, plus one.
// Everything is published on one connection, so the messages of one server
// arrive everywhere in the order it published them. Delivery is Redis
// pub/sub's: at most once.
//
// Presence, all under the hash tag `{<prefix>}` so that on a Redis Cluster
// it lives in one slot and the scripts below can touch it together:
//   {p}:nodes                  sorted set: node id -> expiry (Redis time, ms)
//   {p}:info                   hash: node id -> JSON `{ id, host, pid, startedAt }`
//   {p}:presence:<topic>       hash: node id -> local subscriber count
//   {p}:node:<id>:topics       set: the topics a node has announced
// Each server renews its expiry every third of `nodeTimeout`; the renewal
// also removes the nodes that expired and everything they announced. A
// renewal that finds its own node gone (a Redis restart, or a server cut
// off for longer than `nodeTimeout`) announces all its counts anew.
//

const os = require('os');

const { Backplane, withTimeout } = require('./backplane');
const { findLibrary, open, wrap } = require('./redis-client');

// Requiring wsrs/redis without a client library fails at once, and says what
// to install.
findLibrary();

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: nodes, info. ARGV: key base, id, ttl, info.
// Returns 1 when the node was not there (its presence must be sent again).
const RENEW = `${NOW}
local base = ARGV[1]
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)) do
  local set = base .. 'node:' .. node .. ':topics'
  for _, topic in ipairs(redis.call('SMEMBERS', set)) do
    redis.call('HDEL', base .. 'presence:' .. topic, node)
  end
  redis.call('DEL', set)
  redis.call('ZREM', KEYS[1], node)
  redis.call('HDEL', KEYS[2], node)
end
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return added
`;

// KEYS: the node's topic set. ARGV: key base, id, '1' for a full
// announcement (drop the topics not listed), then topic, count pairs.
const ANNOUNCE = `
local base, id = ARGV[1], ARGV[2]
local listed = {}
for i = 4, #ARGV, 2 do
  local topic, n = ARGV[i], tonumber(ARGV[i + 1])
  listed[topic] = true
  if n > 0 then
    redis.call('HSET', base .. 'presence:' .. topic, id, n)
    redis.call('SADD', KEYS[1], topic)
  else
    redis.call('HDEL', base .. 'presence:' .. topic, id)
    redis.call('SREM', KEYS[1], topic)
  end
end
if ARGV[3] == '1' then
  for _, topic in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if not listed[topic] then
      redis.call('HDEL', base .. 'presence:' .. topic, id)
      redis.call('SREM', KEYS[1], topic)
    end
  end
end
return 1
`;

// KEYS: nodes, the topic's presence hash.
const COUNT = `${NOW}
local fields = redis.call('HGETALL', KEYS[2])
local total = 0
for i = 1, #fields, 2 do
  local expiry = redis.call('ZSCORE', KEYS[1], fields[i])
  if expiry and tonumber(expiry) > now then total = total + tonumber(fields[i + 1]) end
end
return total
`;

// KEYS: nodes, info.
const NODES = `${NOW}
local out = {}
for i, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  out[i] = redis.call('HGET', KEYS[2], id) or ''
end
return out
`;

// ANNOUNCE gets at most this many topics per call.
const ANNOUNCE_BATCH = 500;

// What leaving the presence removes. KEYS: nodes, info, the node's topic
// set. ARGV: key base, id.
const LEAVE = `
for _, topic in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('HDEL', ARGV[1] .. 'presence:' .. topic, ARGV[2])
end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
`;

// How long close() waits for Redis to take the leave.
const LEAVE_TIMEOUT = 2000;

/**
 * A backplane on Redis.
 *
 * @extends Backplane
 */
class RedisBackplane extends Backplane {
  /**
   * @param {Object} options Options object
   * @param {String} [options.url] A `redis://` URL to connect to (with
   *     `sharded`, of one node of the cluster)
   * @param {Object} [options.client] A node-redis or ioredis client (or
   *     cluster) to use instead; it is duplicated for subscribing and never
   *     closed by the backplane
   * @param {String} [options.prefix='wsrs'] Namespace of channels and keys
   * @param {Number} [options.nodeTimeout=10000] Milliseconds after which a
   *     silent server leaves the presence
   * @param {Boolean} [options.sharded=false] Sharded pub/sub (SPUBLISH and
   *     SSUBSCRIBE, Redis 7) on a Redis Cluster
   * @param {Number} [options.maxPending=16777216] Bytes of messages that may
   *     wait for Redis; more are dropped and counted
   */
  constructor(options = {}) {
    super(options);

    const { url, client } = options;
    const sharded = options.sharded === true;

    if ((url === undefined) === (client === undefined)) {
      throw new TypeError(
        'One of the "url" and "client" options must be given'
      );
    }

    if (url !== undefined && typeof url !== 'string') {
      throw new TypeError('The "url" option must be a string');
    }

    this.sharded = sharded;
    this._pub =
      client !== undefined ? wrap(client, sharded) : open(url, sharded);
    this._sub = this._pub.duplicate();
    this._listening = new Set();
    this._broadcastListened = false;
    this._channelPrefix = `${this.prefix}:t:`;
    this._broadcastChannel = `${this.prefix}:b`;
    this._base = `{${this.prefix}}:`;
    this._nodesKey = `${this._base}nodes`;
    this._infoKey = `${this._base}info`;
    this._topicsKey = `${this._base}node:${this.id}:topics`;
    this._info = JSON.stringify({
      id: this.id,
      host: os.hostname(),
      pid: process.pid,
      startedAt: this.startedAt
    });

    const state = () => this._checkState();

    this._pub.onState(state);
    this._sub.onState(state);
    this._sub.onMessage((channel, frame) => {
      if (channel === this._broadcastChannel) this._receive(null, frame);
      else if (channel.startsWith(this._channelPrefix)) {
        this._receive(channel.slice(this._channelPrefix.length), frame);
      }
    });

    this._timer = setInterval(
      () => this._renew(),
      Math.max(1, Math.floor(this.nodeTimeout / 3))
    );
    this._timer.unref();

    this._connect(this._pub.owned ? this._pub : null);
    this._connect(this._sub);
    this._checkState();
  }

  /**
   * Connects a connection the backplane opened; failures are retried by the
   * client library and reported as `'error'` (if listened to).
   *
   * @param {Object} conn The connection
   * @private
   */
  _connect(conn) {
    if (conn === null) return;
    this._safely(() => conn.connect());
  }

  /**
   * Follows the connections' readiness.
   *
   * @param {Error} [err] An error some client emitted
   * @private
   */
  _checkState(err) {
    if (err instanceof Error) this._fail(err);

    const up = this._pub.ready && this._sub.ready;

    if (up === this._up) return;

    if (up) {
      // The subscriber connection comes back with the subscriptions it had;
      // drop those whose last local subscriber left while it was down, and
      // _setUp() adds those made meanwhile.
      for (const topic of this._listening) {
        if (!this._topics.has(topic)) {
          this._listening.delete(topic);
          this._safely(() =>
            this._sub.listen(this._channelPrefix + topic, false)
          );
        }
      }

      this._setUp(true);
      this._renew();
    } else {
      this._setUp(false);
    }
  }

  _transmit(topic, frame) {
    return this._pub.publish(
      topic === null ? this._broadcastChannel : this._channelPrefix + topic,
      frame
    );
  }

  _listen(topic, on) {
    if (!this._sub.ready || this._listening.has(topic) === on) return undefined;

    if (on) this._listening.add(topic);
    else this._listening.delete(topic);

    return this._sub.listen(this._channelPrefix + topic, on);
  }

  /**
   * Renews this node's expiry, and announces everything again when Redis
   * no longer knew it.
   *
   * @private
   */
  _renew() {
    if (!this._up || this._closed) return;

    if (!this._broadcastListened) {
      this._broadcastListened = true;
      this._safely(() => this._sub.listen(this._broadcastChannel, true));
    }

    const args = ['EVAL', RENEW, '2', this._nodesKey, this._infoKey];

    args.push(this._base, this.id, String(this.nodeTimeout), this._info);
    this._safely(() =>
      this._pub.command(this._nodesKey, args).then((added) => {
        if (Number(added) === 1) this._resync();
      })
    );
  }

  _announce(changes, full) {
    const entries = Array.from(changes);
    const calls = [];

    for (
      let i = 0;
      i < entries.length || (full && i === 0);
      i += ANNOUNCE_BATCH
    ) {
      const args = [
        'EVAL',
        ANNOUNCE,
        '1',
        this._topicsKey,
        this._base,
        this.id
      ];

      args.push(full && i === 0 ? '1' : '0');
      for (const [topic, count] of entries.slice(i, i + ANNOUNCE_BATCH)) {
        args.push(topic, String(count));
      }

      calls.push(this._pub.command(this._topicsKey, args));
    }

    return Promise.all(calls);
  }

  _count(topic) {
    const args = [
      'EVAL',
      COUNT,
      '2',
      this._nodesKey,
      `${this._base}presence:${topic}`
    ];

    return this._pub.command(this._nodesKey, args).then(Number);
  }

  _nodes() {
    const args = ['EVAL', NODES, '2', this._nodesKey, this._infoKey];

    return this._pub.command(this._nodesKey, args).then((list) =>
      list.map((json) => {
        try {
          return JSON.parse(String(json));
        } catch {
          return { id: null };
        }
      })
    );
  }

  _shutdown() {
    clearInterval(this._timer);

    const leave = this._up
      ? withTimeout(
          this._pub.command(this._nodesKey, [
            'EVAL',
            LEAVE,
            '3',
            this._nodesKey,
            this._infoKey,
            this._topicsKey,
            this._base,
            this.id
          ]),
          LEAVE_TIMEOUT
        ).catch(() => {})
      : Promise.resolve();

    return leave.then(() =>
      Promise.all([
        this._sub.close(),
        this._pub.owned ? this._pub.close() : detach(this._pub)
      ])
    );
  }
}

/**
 * Stops following a connection the application owns.
 *
 * @param {Object} conn The connection
 * @return {Promise<void>}
 * @private
 */
function detach(conn) {
  if (conn._detach) conn._detach();
  return Promise.resolve();
}

module.exports = { RedisBackplane };
