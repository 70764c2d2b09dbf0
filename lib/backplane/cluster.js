'use strict';

//
// The backplane on node:cluster's IPC, for the workers of one machine that
// share a port, with no external service. The primary relays: it knows
// which worker has subscribers of which topic, sends each message only to
// the workers that want it, and answers the presence queries. A worker that
// exits leaves the presence at once.
//
// In the primary, before forking:   ClusterBackplane.setupPrimary()
// In each worker:                   new ClusterBackplane()
//
// setupPrimary() asks for the 'advanced' serialization, so that frames
// cross as bytes; with the default JSON serialization they still arrive,
// only slower.
//

const cluster = require('cluster');
const os = require('os');

const { Backplane } = require('./backplane');

// The key that marks our IPC messages; its value is the prefix.
const KEY = '__wsrsBackplane';

// Relays set up in this (primary) process, by prefix.
const relays = new Map();
let primaryListening = false;

/**
 * Bytes from whatever the IPC serialization made of a Buffer.
 *
 * @param {*} value A Buffer, a Uint8Array, or `{ type: 'Buffer', data }`
 * @return {(Buffer|null)}
 * @private
 */
function bytes(value) {
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value && value.type === 'Buffer' && Array.isArray(value.data)) {
    return Buffer.from(value.data);
  }

  return null;
}

/**
 * A backplane for cluster workers.
 *
 * @extends Backplane
 */
class ClusterBackplane extends Backplane {
  /**
   * @param {Object} [options] Options object
   * @param {String} [options.prefix='wsrs'] Workers share messages with the
   *     workers of the same prefix only
   * @param {Number} [options.nodeTimeout=10000] How long a presence query
   *     may wait for the primary, in ms
   * @throws {Error} Outside a cluster worker
   */
  constructor(options) {
    super(options);

    if (!cluster.isWorker) {
      throw new Error(
        'ClusterBackplane runs in cluster workers; in the primary, call ' +
          'ClusterBackplane.setupPrimary() before cluster.fork()'
      );
    }

    this._requests = new Map();
    this._nextRequest = 1;
    this._onMessage = (msg) => {
      if (msg !== null && typeof msg === 'object' && msg[KEY] === this.prefix) {
        this._handle(msg);
      }
    };

    process.on('message', this._onMessage);
    this._send({
      op: 'hello',
      info: {
        id: this.id,
        host: os.hostname(),
        pid: process.pid,
        startedAt: this.startedAt
      }
    });
  }

  /**
   * Sends an IPC message to the primary.
   *
   * @param {Object} msg The message
   * @private
   */
  _send(msg) {
    msg[KEY] = this.prefix;
    process.send(msg);
  }

  /**
   * Handles a message from the primary.
   *
   * @param {Object} msg The message
   * @private
   */
  _handle(msg) {
    switch (msg.op) {
      case 'welcome':
        this._setUp(true);
        this._resync();
        break;
      case 'msg': {
        const frame = bytes(msg.frame);

        if (frame === null) this.stats.malformed++;
        else this._receive(msg.topic, frame);
        break;
      }
      case 'reply': {
        const request = this._requests.get(msg.id);

        if (request !== undefined) {
          this._requests.delete(msg.id);
          request(msg.value);
        }
        break;
      }
      default:
        this.stats.malformed++;
    }
  }

  /**
   * Asks the primary something.
   *
   * @param {Object} msg The question
   * @return {Promise} Its answer
   * @private
   */
  _ask(msg) {
    const id = this._nextRequest++;

    return new Promise((resolve) => {
      this._requests.set(id, resolve);
      msg.id = id;
      this._send(msg);
    });
  }

  _transmit(topic, frame) {
    this._send({ op: 'pub', topic, frame });
  }

  _listen() {
    // The primary routes by the announced counts.
  }

  _announce(changes, full) {
    this._send({ op: 'announce', changes: Array.from(changes), full });
  }

  _count(topic) {
    return this._ask({ op: 'count', topic });
  }

  _nodes() {
    return this._ask({ op: 'nodes' });
  }

  _shutdown() {
    if (process.connected) this._send({ op: 'leave' });
    process.removeListener('message', this._onMessage);
    this._requests.clear();
    return Promise.resolve();
  }

  /**
   * Makes this (primary) process relay for the workers' backplanes. Call it
   * before `cluster.fork()`; calling it again is harmless.
   *
   * @param {Object} [options] Options object
   * @param {String} [options.prefix='wsrs'] The prefix the workers use
   * @public
   */
  static setupPrimary(options = {}) {
    if (!cluster.isPrimary) {
      throw new Error('ClusterBackplane.setupPrimary() runs in the primary');
    }

    const prefix = options.prefix === undefined ? 'wsrs' : options.prefix;

    if (!relays.has(prefix)) relays.set(prefix, new Map());

    if (!primaryListening) {
      primaryListening = true;
      cluster.setupPrimary({ serialization: 'advanced' });
      cluster.on('message', relay);
      cluster.on('exit', (worker) => {
        for (const nodes of relays.values()) nodes.delete(worker.id);
      });
    }
  }
}

/**
 * The primary's side: one message from a worker.
 *
 * @param {Worker} worker The worker
 * @param {Object} msg The message
 * @private
 */
function relay(worker, msg) {
  if (msg === null || typeof msg !== 'object' || typeof msg[KEY] !== 'string')
    return;

  const prefix = msg[KEY];
  const nodes = relays.get(prefix);

  if (nodes === undefined) return;

  const reply = (body) => {
    body[KEY] = prefix;
    if (worker.isConnected()) worker.send(body);
  };

  switch (msg.op) {
    case 'hello':
      nodes.set(worker.id, { worker, info: msg.info, topics: new Map() });
      reply({ op: 'welcome' });
      break;
    case 'pub': {
      const out = {
        op: 'msg',
        topic: msg.topic,
        frame: msg.frame,
        [KEY]: prefix
      };

      for (const [id, node] of nodes) {
        if (id === worker.id || !node.worker.isConnected()) continue;
        if (msg.topic === null || node.topics.has(msg.topic))
          node.worker.send(out);
      }
      break;
    }
    case 'announce': {
      const node = nodes.get(worker.id);

      if (node === undefined) break;
      if (msg.full) node.topics.clear();
      for (const [topic, count] of msg.changes) {
        if (count > 0) node.topics.set(topic, count);
        else node.topics.delete(topic);
      }
      break;
    }
    case 'count': {
      let total = 0;

      for (const node of nodes.values())
        total += node.topics.get(msg.topic) || 0;
      reply({ op: 'reply', id: msg.id, value: total });
      break;
    }
    case 'nodes':
      reply({
        op: 'reply',
        id: msg.id,
        value: Array.from(nodes.values(), (node) => node.info)
      });
      break;
    case 'leave':
      nodes.delete(worker.id);
      break;
    default:
  }
}

module.exports = { ClusterBackplane };
