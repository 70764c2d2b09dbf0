'use strict';

//
// A connection of the native engine, behind the same interface as a
// `net.Socket` (lib/transport/transport.js). Rust owns the socket: it
// parses, unmasks, validates and inflates what arrives, and frames,
// compresses and writes what is sent. This side keeps the send progress
// and callbacks, and holds events while the `WebSocket` is paused.
//
// Its transport gives a `WebSocket` a `NativeReceiver`, whose events come
// from here, and a `NativeSender`, which hands data frames to Rust.
//

const EventEmitter = require('events');

const PerMessageDeflate = require('../permessage-deflate');
const { EMPTY_BUFFER } = require('../constants');
const { drainIfOwed, kFlow } = require('../flow/flow');
const Listeners = require('../listeners');
const { kTransport, nodeTransport } = require('../transport/transport');
const NativeReceiver = require('./receiver');
const NativeSender = require('./sender');
const {
  A_CLIENT_NCT,
  A_DEFLATE,
  A_SERVER_NCT,
  CMD_ACCEPT,
  CMD_DESTROY,
  CMD_PAUSE,
  CMD_RAW,
  CMD_REPORT,
  CMD_RESUME,
  CMD_SHUTDOWN,
  EV_BINARY,
  EV_CLOSE,
  EV_PING,
  EV_PONG,
  EV_TEXT,
  F_REPORT,
  PIN_AT
} = require('./records');

// A connection asks Rust for progress reports once this much may be queued.
const REPORT_AT = 4096;
const TWO_32 = 4294967296;

/**
 * Stands in for the `net.Socket` of a connection owned by the engine.
 *
 * @extends EventEmitter
 */
class NativeConnection extends EventEmitter {
  /**
   * @param {NativeHub} hub The engine
   * @param {Number} id The connection id
   * @param {String[]} fields The handshake fields (see `NativeHub#handshake`)
   */
  constructor(hub, id, fields) {
    super();

    this._events = new Listeners();
    this._hub = hub;
    this._id = id;
    this._accept = '';
    this._open = false;
    this._ended = false;
    this._websocket = null;
    this._receiver = null;
    this._held = null;

    // Send progress, in payload bytes and frames (both mod 2^32), and the
    // callbacks and pinned payloads waiting for it: pairs of (frame, item).
    this._submitted = 0;
    this._frames = 0;
    this._reporting = false;
    this._callbacks = null;

    // A copy, not a slice that would keep the whole request head alive.
    this.remoteAddress = Buffer.from(fields[3], 'latin1').latin1Slice();
    this.remotePort = Number(fields[4]);
    this.remoteFamily = fields[5] === 'IPv4' ? 'IPv4' : 'IPv6';
    this.readable = true;
    this.writable = true;
    this.destroyed = false;
    this.writableNeedDrain = false;

    // Payload bytes Rust has not written yet, as `net.Socket` names them;
    // nothing is ever buffered for reading on this side.
    this.writableLength = 0;
    this.readableEnded = false;
    this.readableLength = 0;
  }

  /**
   * During the handshake: writes bytes as they are (an HTTP response).
   *
   * @param {(String|Buffer)} data The bytes
   * @param {(String|Function)} [encoding] Ignored
   * @param {Function} [cb] Called on the next tick
   * @return {Boolean}
   */
  write(data, encoding, cb) {
    if (typeof encoding === 'function') cb = encoding;
    if (!this.destroyed && !this._ended) {
      this._hub.command(
        CMD_RAW,
        this._id,
        typeof data === 'string' ? data : Buffer.from(data)
      );
    }
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  }

  /**
   * Half-closes once everything queued is written.
   *
   * @param {(String|Buffer|Function)} [data] Last bytes to write
   * @param {Function} [cb] Called on `'finish'`
   * @return {NativeConnection}
   */
  end(data, encoding, cb) {
    if (typeof data === 'function') cb = data;
    else if (typeof encoding === 'function') cb = encoding;

    if (this._ended || this.destroyed) return this;

    if (data && typeof data !== 'function' && !this._open) this.write(data);
    this._ended = true;
    this.writable = false;
    this._hub.command(CMD_SHUTDOWN, this._id, null);
    if (typeof cb === 'function') this.once('finish', cb);
    process.nextTick(() => this.emit('finish'));
    return this;
  }

  /**
   * Closes the connection now.
   *
   * @return {NativeConnection}
   */
  destroy() {
    if (this.destroyed) return this;

    // A rejected handshake is ended, not cut: its response still goes out.
    const cut = this._open || !this._ended;

    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    if (cut) this._hub.command(CMD_DESTROY, this._id, null);
    return this;
  }

  /**
   * Stops reading.
   */
  pause() {
    this._hub.command(CMD_PAUSE, this._id, null);
    return this;
  }

  /**
   * Reads again, and replays the events held while paused.
   */
  resume() {
    this._hub.command(CMD_RESUME, this._id, null);
    if (this._held !== null) process.nextTick(replay, this);
    return this;
  }

  setTimeout() {
    return this;
  }

  setNoDelay() {
    return this;
  }

  setKeepAlive() {
    return this;
  }

  cork() {}

  uncork() {}

  ref() {
    return this;
  }

  unref() {
    return this;
  }

  unshift() {}

  /**
   * Nothing is buffered for reading: events go straight to the receiver.
   *
   * @return {null}
   */
  read() {
    return null;
  }

  /**
   * The handshake was accepted: start speaking WebSocket.
   *
   * @param {WebSocket} ws The endpoint
   * @param {NativeReceiver} receiver Its receiver
   * @private
   */
  _start(ws, receiver) {
    const pmd = ws._extensions[PerMessageDeflate.extensionName];
    let word0 = CMD_ACCEPT;

    if (pmd) {
      // The native engine serves: our side is the server's.
      const server = pmd.ownSide();
      const client = pmd.peerSide();
      let flags = A_DEFLATE;

      if (server.reset) flags |= A_SERVER_NCT;
      if (client.reset) flags |= A_CLIENT_NCT;
      word0 |= (flags << 8) | (server.bits << 16) | (client.bits << 20);
    }

    this._open = true;
    this._websocket = ws;
    this._receiver = receiver;
    this._hub.command(word0, this._id, null);
  }

  /**
   * Queues a frame for Rust to build (and compress), or bytes framed here.
   *
   * @param {Number} word0 Kind, opcode and flags
   * @param {(Buffer|String)} payload The payload
   * @param {Function} [cb] Called once written
   * @private
   */
  _send(word0, payload, cb) {
    // A bare drain check (what broadcasts pass) needs no report of its
    // own: `_written()` checks for `'drain'` whenever progress is reported.
    if (
      cb !== undefined &&
      this._websocket !== null &&
      cb === this._websocket[kFlow].check
    ) {
      cb = undefined;
    }

    if (typeof payload === 'string' && payload.length >= PIN_AT) {
      payload = Buffer.from(payload);
    }

    // Pinned as `command()` pins: a Buffer this large is read in place, so
    // keep it until it is written.
    const pinned = typeof payload !== 'string' && payload.length >= PIN_AT;
    const frame = (this._frames = (this._frames + 1) >>> 0);

    if (pinned || typeof cb === 'function') {
      if (this._callbacks === null) this._callbacks = [];
      if (pinned) this._callbacks.push(frame, payload);
      if (typeof cb === 'function') this._callbacks.push(frame, cb);
      this._reporting = true;
      word0 |= F_REPORT << 12;
    } else if (
      !this._reporting &&
      this.writableLength + payload.length >= REPORT_AT
    ) {
      // A string's length in UTF-16 units is a lower bound of its bytes.
      word0 |= F_REPORT << 12;
      this._reporting = true;
    }

    // The hub encodes strings once, and says how many bytes it queued.
    const size = this._hub.command(word0, this._id, payload);

    this._submitted = (this._submitted + size) % TWO_32;
    this.writableLength += size;
  }

  /**
   * Rust wrote up to `units` payload bytes and `frames` frames.
   *
   * @private
   */
  _written(units, frames) {
    const pending = (this._submitted - units + TWO_32) % TWO_32;

    this.writableLength = pending;

    if (pending === 0) {
      this._reporting = false;
    } else if (frames === this._frames) {
      // Every frame is written but some bytes are unaccounted for: cannot
      // happen, as frames carry their bytes; keep the counters honest.
      this.writableLength = 0;
      this._reporting = false;
    } else {
      // Frames sent without F_REPORT may still be on their way to Rust,
      // which stops reporting once its queue is empty: ask for one more.
      this._hub.command(CMD_REPORT, this._id, null);
    }

    const callbacks = this._callbacks;

    if (callbacks === null) {
      if (this._websocket !== null) drainIfOwed(this._websocket);
      return;
    }

    let i = 0;

    while (i < callbacks.length && ((frames - callbacks[i]) | 0) >= 0) i += 2;

    if (i === 0) {
      if (this._websocket !== null) drainIfOwed(this._websocket);
      return;
    }

    const done = callbacks.splice(0, i);

    if (callbacks.length === 0) this._callbacks = null;
    for (let j = 1; j < done.length; j += 2) {
      if (typeof done[j] === 'function') done[j]();
    }

    if (this._websocket !== null) drainIfOwed(this._websocket);
  }

  /**
   * A message or control frame arrived.
   *
   * @private
   */
  _event(kind, payload, code) {
    const ws = this._websocket;

    if (ws === null) return;

    if (ws._paused || this._held !== null) {
      if (this._held === null) this._held = [];
      this._held.push(kind, payload, code);
      return;
    }

    dispatch(this, kind, payload, code);
  }

  /**
   * The peer broke the protocol (or stopped reading with too much queued).
   *
   * @param {Error} err The error (see lib/protocol-error.js)
   * @private
   */
  _error(err) {
    const receiver = this._receiver;

    if (receiver === null) return;

    // The engine closes such a connection itself, with 1008.
    if (err.code === 'ERR_WSRS_SEND_QUEUE_LIMIT')
      this._websocket._closeCode = 1008;

    receiver.emit('error', err);
  }

  /**
   * The peer ended its side.
   *
   * @private
   */
  _end() {
    this.readable = false;
    this.readableEnded = true;
    this.emit('end');
  }

  /**
   * The connection is gone.
   *
   * @private
   */
  _closed() {
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    this._held = null;

    const callbacks = this._callbacks;

    this._callbacks = null;
    this.emit('close', false);

    if (callbacks !== null) {
      const err = new Error(
        'The socket was closed before the data was written'
      );

      err.code = 'ERR_STREAM_DESTROYED';
      for (let j = 1; j < callbacks.length; j += 2) {
        if (typeof callbacks[j] === 'function') callbacks[j](err);
      }
    }
  }
}

/**
 * Emits one event on a socket's receiver.
 *
 * @param {NativeConnection} socket The socket
 * @param {Number} kind The event kind
 * @param {Buffer} payload The payload
 * @param {Number} code The close code (`EV_CLOSE`)
 * @private
 */
function dispatch(socket, kind, payload, code) {
  const receiver = socket._receiver;

  if (socket.listenerCount('data') > 1) socket.emit('data', EMPTY_BUFFER);

  switch (kind) {
    case EV_TEXT:
      receiver.emit('message', payload, false);
      break;
    case EV_BINARY:
      receiver.emit('message', convert(payload, receiver._binaryType), true);
      break;
    case EV_PING:
      receiver.emit('ping', payload);
      break;
    case EV_PONG:
      receiver.emit('pong', payload);
      break;
    case EV_CLOSE:
      receiver._closed = true;
      receiver.emit('conclude', code, Buffer.from(payload));
      break;
  }
}

/**
 * Replays the events held while a socket was paused, until it is paused
 * again.
 *
 * @param {NativeConnection} socket The socket
 * @private
 */
function replay(socket) {
  const held = socket._held;

  if (held === null || socket._websocket === null) return;

  let i = 0;

  while (i < held.length && !socket._websocket._paused) {
    const kind = held[i];
    const payload = held[i + 1];
    const code = held[i + 2];

    i += 3;
    dispatch(socket, kind, payload, code);
  }

  held.splice(0, i);
  if (held.length === 0 && socket._held === held) socket._held = null;
}

/**
 * A binary message in the form `binaryType` asks for.
 *
 * @param {Buffer} buf The message
 * @param {String} type The binary type
 * @return {*}
 * @private
 */
function convert(buf, type) {
  if (type === 'nodebuffer') return buf;
  if (type === 'arraybuffer') {
    return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  }
  if (type === 'fragments') return [buf];
  return new Blob([buf]);
}

/**
 * The transport of a native connection: its receiver and sender stand in
 * for the JavaScript ones, and Rust computed the accept value already.
 *
 * @type {Transport}
 */
const nativeTransport = {
  acceptKey(socket, key) {
    const accept = socket._accept;

    // The value was a slice of the request head: let the head go.
    socket._accept = '';
    return accept === '' ? nodeTransport.acceptKey(socket, key) : accept;
  },

  open(ws, socket) {
    return {
      receiver: new NativeReceiver(ws._binaryType),
      sender: new NativeSender(socket, ws._extensions)
    };
  },

  start(ws, socket) {
    socket._start(ws, ws._receiver);
  }
};

NativeConnection.prototype[kTransport] = nativeTransport;

module.exports = { NativeConnection };
