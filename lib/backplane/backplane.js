'use strict';

//
// The backplane contract: what a WebSocketServer needs from whatever carries
// its publish() and broadcast() calls to the other servers, and what those
// servers' presence looks like to the application. docs/backplane.md
// describes it for other implementations; RedisBackplane (./redis.js) and
// ClusterBackplane (./cluster.js) are two.
//
// The server calls, in this order of life:
//   attach(hub)                     once, from its constructor
//   track(topic, count)             whenever its local subscriber count of
//                                   a topic changes (0: none left)
//   publish(topic, payload, binary, compress)
//                                   after a local publish (topic) or
//                                   broadcast (topic null); never throws
//   close()                         from wss.close()
// and the backplane calls hub.deliver(topic, payload, binary, compress) for
// every message another server published, in the order it published them.
//
// An implementation extends this class and provides:
//   _transmit(topic, frame)         send one encoded frame; may return a
//                                   promise, whose rejection counts as lost
//   _listen(topic, on)              start (on) or stop hearing a topic;
//                                   idempotent (it is called again for
//                                   every topic when the transport is back)
//   _announce(changes, full)        record local subscriber counts
//                                   (Map topic -> count; full: every topic,
//                                   and no other, is ours)
//   _count(topic), _nodes()         presence queries (promises)
//   _shutdown()                     release what it opened (a promise)
// and calls _setUp(bool) as its transport comes and goes, _receive(topic,
// frame) for each frame heard, and _fail(err) for errors.
//

const EventEmitter = require('events');
const { randomBytes } = require('crypto');

const { decode, encode } = require('./frame');

const DEFAULT_PREFIX = 'wsrs';
const DEFAULT_NODE_TIMEOUT = 10000;
const DEFAULT_MAX_PENDING = 16 * 1024 * 1024;

/**
 * An error of the backplane, with a `code`.
 *
 * @param {String} code The code
 * @param {String} message The message
 * @return {Error}
 * @private
 */
function backplaneError(code, message) {
  const err = new Error(message);

  err.code = code;
  return err;
}

/**
 * A promise that gives up after `ms`, with `ERR_WSRS_BACKPLANE_TIMEOUT`.
 *
 * @param {Promise} promise The promise
 * @param {Number} ms The time limit
 * @return {Promise}
 * @public
 */
function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        backplaneError(
          'ERR_WSRS_BACKPLANE_TIMEOUT',
          `The backplane did not answer within ${ms} ms`
        )
      );
    }, ms);
  });

  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Checks a positive integer option.
 *
 * @param {Object} options The options
 * @param {String} name The option
 * @param {Number} fallback Its default
 * @return {Number}
 * @private
 */
function positive(options, name, fallback) {
  const value = options[name];

  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`The "${name}" option must be a positive integer`);
  }

  return value;
}

/**
 * Base class of the backplanes.
 *
 * @extends EventEmitter
 */
class Backplane extends EventEmitter {
  /**
   * @param {Object} [options] Options object
   * @param {String} [options.prefix='wsrs'] Servers share messages and
   *     presence with the servers of the same prefix only
   * @param {Number} [options.nodeTimeout=10000] Milliseconds after which a
   *     server that stopped announcing itself drops out of the presence
   * @param {Number} [options.maxPending=16777216] Bytes of published
   *     messages that may wait for the transport; more are dropped (counted)
   */
  constructor(options = {}) {
    super();

    if (options === null || typeof options !== 'object') {
      throw new TypeError('The options must be an object');
    }

    const prefix =
      options.prefix === undefined ? DEFAULT_PREFIX : options.prefix;

    if (typeof prefix !== 'string' || prefix === '') {
      throw new TypeError('The "prefix" option must be a non-empty string');
    }

    this.prefix = prefix;
    this.nodeTimeout = positive(options, 'nodeTimeout', DEFAULT_NODE_TIMEOUT);
    this._maxPending = positive(options, 'maxPending', DEFAULT_MAX_PENDING);
    this._idBytes = randomBytes(8);
    this.id = this._idBytes.toString('hex');
    this.startedAt = Date.now();
    this.stats = {
      published: 0,
      received: 0,
      dropped: 0,
      failed: 0,
      malformed: 0,
      outages: 0
    };

    this._hub = null;
    this._up = false;
    this._closed = false;
    this._closing = null;
    this._pending = 0;
    this._topics = new Map();
    this._changes = new Map();
    this._flushScheduled = false;
  }

  /**
   * Whether messages currently reach the other servers.
   *
   * @type {Boolean}
   */
  get isUp() {
    return this._up;
  }

  /**
   * Called by the WebSocketServer that uses this backplane.
   *
   * @param {Object} hub `{ deliver(topic, payload, binary, compress) }`
   * @throws {Error} If already attached
   * @public
   */
  attach(hub) {
    if (this._hub !== null) {
      throw new Error('A backplane serves one WebSocketServer');
    }

    if (this._closed) throw new Error('The backplane is closed');

    this._hub = hub;
  }

  /**
   * Hands a message to the other servers. Never throws: while the transport
   * is down, or when `maxPending` bytes already wait, the message is dropped
   * and counted in `stats.dropped`.
   *
   * @param {(String|null)} topic The topic, or `null` for a broadcast
   * @param {Buffer} payload The message
   * @param {Boolean} binary Binary or text
   * @param {Boolean} compress Whether receivers may compress it
   * @return {Boolean} Whether it was handed to the transport
   * @public
   */
  publish(topic, payload, binary, compress) {
    if (this._closed) return false;

    if (!this._up || this._pending + payload.length > this._maxPending) {
      this.stats.dropped++;
      return false;
    }

    const frame = encode(this._idBytes, payload, binary, compress);
    const size = frame.length;
    let sent;

    this._pending += size;
    this.stats.published++;

    try {
      sent = this._transmit(topic, frame);
    } catch (err) {
      this._lost(size, err);
      return false;
    }

    if (sent && typeof sent.then === 'function') {
      sent.then(
        () => {
          this._pending -= size;
        },
        (err) => this._lost(size, err)
      );
    } else {
      this._pending -= size;
    }

    return true;
  }

  /**
   * Records the local subscriber count of a topic.
   *
   * @param {String} topic The topic
   * @param {Number} count Subscribers on this server now
   * @public
   */
  track(topic, count) {
    if (this._closed) return;

    const had = this._topics.has(topic);

    if (count > 0) this._topics.set(topic, count);
    else this._topics.delete(topic);

    if (had !== count > 0 && this._up)
      this._safely(() => this._listen(topic, count > 0));

    this._changes.set(topic, count);

    if (!this._flushScheduled) {
      this._flushScheduled = true;
      setImmediate(() => this._flush());
    }
  }

  /**
   * The number of subscribers of a topic on all live servers.
   *
   * @param {String} topic The topic
   * @return {Promise<Number>}
   * @public
   */
  count(topic) {
    if (typeof topic !== 'string') {
      return Promise.reject(new TypeError('The topic must be a string'));
    }

    return this._query(() => this._count(topic));
  }

  /**
   * The live servers.
   *
   * @return {Promise<Object[]>} `{ id, host, pid, startedAt }` each
   * @public
   */
  nodes() {
    return this._query(() => this._nodes());
  }

  /**
   * Leaves the presence and releases what the backplane opened.
   *
   * @return {Promise<void>}
   * @public
   */
  close() {
    if (this._closing === null) {
      this._closed = true;
      this._closing = Promise.resolve()
        .then(() => this._shutdown())
        .catch((err) => this._fail(err))
        .then(() => {
          this._setUp(false);
          this.emit('close');
        });
    }

    return this._closing;
  }

  /**
   * Runs a presence query, refused while the transport is down.
   *
   * @param {Function} run Starts the query
   * @return {Promise}
   * @private
   */
  _query(run) {
    if (this._closed) {
      return Promise.reject(
        backplaneError('ERR_WSRS_BACKPLANE_CLOSED', 'The backplane is closed')
      );
    }

    if (!this._up) {
      return Promise.reject(
        backplaneError(
          'ERR_WSRS_BACKPLANE_DOWN',
          'The backplane is down: presence is not known'
        )
      );
    }

    return withTimeout(run(), this.nodeTimeout);
  }

  /**
   * Sends the subscriber counts that changed since the last flush.
   *
   * @private
   */
  _flush() {
    this._flushScheduled = false;

    if (this._closed || !this._up || this._changes.size === 0) return;

    const changes = this._changes;

    this._changes = new Map();
    this._safely(() => this._announce(changes, false));
  }

  /**
   * Records every local subscriber count anew (after the transport came
   * back, or after the presence was lost).
   *
   * @protected
   */
  _resync() {
    if (this._closed || !this._up) return;

    this._changes.clear();
    this._safely(() => this._announce(new Map(this._topics), true));
  }

  /**
   * Runs a transport call, catching both a throw and a rejection.
   *
   * @param {Function} fn The call
   * @private
   */
  _safely(fn) {
    try {
      const result = fn();

      if (result && typeof result.then === 'function') {
        result.then(undefined, (err) => this._fail(err));
      }
    } catch (err) {
      this._fail(err);
    }
  }

  /**
   * Accounts for a message that did not make it.
   *
   * @param {Number} size Its encoded size
   * @param {Error} err Why
   * @private
   */
  _lost(size, err) {
    this._pending -= size;
    this.stats.failed++;
    this._fail(err);
  }

  /**
   * Marks the transport up or down, and says so with `'up'` or `'down'`.
   *
   * @param {Boolean} up Whether it is up
   * @protected
   */
  _setUp(up) {
    if (up && this._closed) return;
    if (up === this._up) return;

    this._up = up;

    if (up) {
      for (const topic of this._topics.keys()) {
        this._safely(() => this._listen(topic, true));
      }

      this.emit('up');
      this._flush();
    } else {
      this.stats.outages++;
      this.emit('down');
    }
  }

  /**
   * Handles a frame that another server published.
   *
   * @param {(String|null)} topic The topic, or `null` for a broadcast
   * @param {Buffer} frame The frame
   * @protected
   */
  _receive(topic, frame) {
    const message = decode(frame);

    if (message === null) {
      this.stats.malformed++;
      return;
    }

    if (message.origin.equals(this._idBytes) || this._hub === null) return;

    this.stats.received++;

    try {
      this._hub.deliver(
        topic,
        message.payload,
        message.binary,
        message.compress
      );
    } catch (err) {
      this._fail(err);
    }
  }

  /**
   * Reports an error: as `'error'` if someone listens, silently otherwise,
   * so that an outage is never an unhandled error.
   *
   * @param {Error} err The error
   * @protected
   */
  _fail(err) {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

module.exports = { Backplane, backplaneError, withTimeout };
