'use strict';

//
// RedisBackplane speaks to Redis through the client library the application
// already has: node-redis (`redis`, 4 and later) or ioredis (5 and later),
// standalone or cluster. This module gives both one small face:
//
//   ready                     whether commands can go out now
//   onState(fn)               fn() after anything that may change `ready`
//   command(key, args)        one command (routed by `key` on a cluster)
//   publish(channel, frame)
//   listen(channel, on)       subscribe or unsubscribe
//   onMessage(fn)             fn(channel, frame) for what is heard
//   duplicate()               a second connection, owned by the caller
//   close()                   for connections the backplane opened
//

// Events after which a client's readiness may have changed.
const NODE_REDIS_EVENTS = [
  'ready',
  'end',
  'error',
  'reconnecting',
  'connect',
  'disconnect',
  'node-ready',
  'node-disconnect',
  'node-reconnecting'
];
const IOREDIS_EVENTS = [
  'ready',
  'close',
  'end',
  'reconnecting',
  'error',
  '+node',
  '-node'
];

/**
 * Reconnection delays in ms: 100, 200, 400... up to 2 s, with jitter.
 *
 * @param {Number} retries Attempts so far
 * @return {Number}
 * @public
 */
function backoff(retries) {
  const base = Math.min(100 * 2 ** Math.min(retries, 10), 2000);

  return Math.round(base / 2 + (Math.random() * base) / 2);
}

/**
 * The client library to open connections with: node-redis if installed,
 * else ioredis.
 *
 * @return {{kind: String, lib: Object}}
 * @throws {Error} `ERR_WSRS_REDIS_CLIENT_MISSING` when neither is installed
 * @public
 */
function findLibrary() {
  for (const kind of ['redis', 'ioredis']) {
    try {
      return { kind, lib: require(kind) };
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
    }
  }

  const err = new Error(
    "wsrs/redis needs a Redis client library: run 'npm install redis' " +
      "(node-redis 4 or later), or 'npm install ioredis'"
  );

  err.code = 'ERR_WSRS_REDIS_CLIENT_MISSING';
  throw err;
}

/**
 * node-redis, standalone or cluster.
 */
class NodeRedis {
  /**
   * @param {Object} client A node-redis client or cluster
   * @param {Boolean} owned Whether the backplane opened it
   * @param {Boolean} sharded Whether to use sharded pub/sub
   */
  constructor(client, owned, sharded) {
    this.client = client;
    this.owned = owned;
    this.sharded = sharded;
    this.cluster = typeof client.nodeClient === 'function';
    this._handler = null;
    this._listener = (frame, channel) => {
      if (this._handler !== null) this._handler(String(channel), frame);
    };
  }

  get ready() {
    return this.client.isReady === true;
  }

  onState(fn) {
    this._detach = watch(this.client, NODE_REDIS_EVENTS, fn);
  }

  command(key, args) {
    return this.cluster
      ? this.client.sendCommand(key, false, args)
      : this.client.sendCommand(args);
  }

  publish(channel, frame) {
    return this.sharded
      ? this.client.sPublish(channel, frame)
      : this.client.publish(channel, frame);
  }

  listen(channel, on) {
    const c = this.client;

    if (this.sharded) {
      return on
        ? c.sSubscribe(channel, this._listener, true)
        : c.sUnsubscribe(channel, this._listener, true);
    }

    return on
      ? c.subscribe(channel, this._listener, true)
      : c.unsubscribe(channel, this._listener, true);
  }

  onMessage(fn) {
    this._handler = fn;
  }

  duplicate() {
    const copy = this.client.duplicate();

    return new NodeRedis(copy, true, this.sharded);
  }

  connect() {
    return this.client.isOpen ? Promise.resolve() : this.client.connect();
  }

  close() {
    if (this._detach) this._detach();

    const c = this.client;

    if (!c.isOpen) return Promise.resolve();

    const closing = typeof c.close === 'function' ? c.close() : c.quit();

    return Promise.resolve(closing).catch(() => {
      if (typeof c.destroy === 'function') c.destroy();
      else c.disconnect();
    });
  }
}

/**
 * ioredis, standalone or cluster.
 */
class IORedis {
  /**
   * @param {Object} client An ioredis `Redis` or `Cluster`
   * @param {Boolean} owned Whether the backplane opened it
   * @param {Boolean} sharded Whether to use sharded pub/sub
   */
  constructor(client, owned, sharded) {
    this.client = client;
    this.owned = owned;
    this.sharded = sharded;
    this._handler = null;
    this._listener = (channel, frame) => {
      if (this._handler !== null) this._handler(String(channel), frame);
    };
  }

  get ready() {
    return this.client.status === 'ready';
  }

  onState(fn) {
    this._detach = watch(this.client, IOREDIS_EVENTS, fn);
  }

  command(key, args) {
    return this.client.call(...args);
  }

  publish(channel, frame) {
    return this.sharded
      ? this.client.spublish(channel, frame)
      : this.client.publish(channel, frame);
  }

  listen(channel, on) {
    const c = this.client;

    if (this.sharded)
      return on ? c.ssubscribe(channel) : c.sunsubscribe(channel);

    return on ? c.subscribe(channel) : c.unsubscribe(channel);
  }

  onMessage(fn) {
    if (this._handler === null) {
      this.client.on(
        this.sharded ? 'smessageBuffer' : 'messageBuffer',
        this._listener
      );
    }

    this._handler = fn;
  }

  duplicate() {
    const c = this.client;
    const copy = c.isCluster
      ? c.duplicate(undefined, this.sharded ? { shardedSubscribers: true } : {})
      : c.duplicate();

    return new IORedis(copy, true, this.sharded);
  }

  connect() {
    const status = this.client.status;

    if (status === 'wait') return this.client.connect();
    return Promise.resolve();
  }

  close() {
    if (this._detach) this._detach();

    const c = this.client;

    c.removeListener('messageBuffer', this._listener);
    c.removeListener('smessageBuffer', this._listener);

    if (c.status === 'end') return Promise.resolve();

    return Promise.resolve(c.quit()).catch(() => c.disconnect());
  }
}

/**
 * Listens to some events of an emitter; an `'error'` listener among them
 * keeps an outage from being an unhandled error.
 *
 * @param {EventEmitter} emitter The client
 * @param {String[]} events The events
 * @param {Function} fn The listener
 * @return {Function} Removes the listeners
 * @private
 */
function watch(emitter, events, fn) {
  for (const event of events) emitter.on(event, fn);

  return () => {
    for (const event of events) emitter.removeListener(event, fn);
  };
}

/**
 * Wraps a client the application gave.
 *
 * @param {Object} client A node-redis or ioredis client or cluster
 * @param {Boolean} sharded Whether to use sharded pub/sub
 * @return {(NodeRedis|IORedis)}
 * @throws {TypeError} For anything else
 * @public
 */
function wrap(client, sharded) {
  if (
    client &&
    typeof client.sendCommand === 'function' &&
    'isReady' in client
  ) {
    return new NodeRedis(client, false, sharded);
  }

  if (
    client &&
    typeof client.call === 'function' &&
    typeof client.status === 'string'
  ) {
    return new IORedis(client, false, sharded);
  }

  throw new TypeError(
    'The "client" option must be a node-redis or an ioredis client'
  );
}

/**
 * Opens a connection to `url` with the library that is installed.
 *
 * @param {String} url A `redis://` or `rediss://` URL (on a cluster, of
 *     one of its nodes)
 * @param {Boolean} sharded Whether `url` names a Redis Cluster node and
 *     sharded pub/sub is wanted
 * @return {(NodeRedis|IORedis)}
 * @public
 */
function open(url, sharded) {
  const { kind, lib } = findLibrary();

  if (kind === 'redis') {
    const options = {
      disableOfflineQueue: true,
      socket: { connectTimeout: 5000, reconnectStrategy: backoff }
    };
    const client = sharded
      ? lib.createCluster({ rootNodes: [{ url }], defaults: options })
      : lib.createClient({ url, ...options });

    return new NodeRedis(client, true, sharded);
  }

  const Redis = lib.Redis || lib;
  const options = {
    enableOfflineQueue: false,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: backoff
  };
  const client = sharded
    ? new lib.Cluster([url], {
        redisOptions: options,
        shardedSubscribers: true,
        lazyConnect: true
      })
    : new Redis(url, options);

  return new IORedis(client, true, sharded);
}

module.exports = { findLibrary, open, wrap };
