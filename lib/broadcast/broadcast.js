'use strict';

//
// One message for many server-side sockets, framed once.
//
// A `PreparedMessage` holds the payload and builds, on first need, the frame
// every socket without compression gets, and one compressed frame per
// distinct compressor setting (window bits and level) among the sockets that
// negotiated permessage-deflate with `server_no_context_takeover`. Those
// frames are the same buffers written to every socket concerned.
//
// Sockets whose server side keeps its compression context (no
// `server_no_context_takeover`) cannot share compressed bytes: their peer's
// inflater continues from the previous message's window, and the next
// message this socket compresses on its own will refer back into that
// window, so what it receives must be what its own compressor saw. Such a
// socket compresses the message through its own Sender, as `ws.send()`
// would (RFC 7692, section 7.2.3 on context takeover).
//

const PerMessageDeflate = require('../permessage-deflate');
const Sender = require('../sender');
const { NativeDeflate } = require('../native/addon');
const { isBlob } = require('../validation');
const { toBuffer } = require('../buffer-util');
const { afterWrite, drainCallback, touch } = require('../flow/flow');
const { EMPTY_BUFFER } = require('../constants');
const { OPEN } = require('../ready-states');

// Payloads up to this size are copied behind their header, so that each
// socket gets one write instead of two.
const MERGE_SIZE = 16 * 1024;

// Compressors that start afresh after every message, by "bits:level:memLevel:strategy". They
// keep no state between messages, so one of each serves every server.
const freshDeflaters = new Map();

/**
 * A message about to be sent to many sockets.
 */
class PreparedMessage {
  /**
   * @param {*} data The message: a string, Buffer, ArrayBuffer, typed array
   *     or DataView (numbers are sent as text, like `ws.send()` does)
   * @param {Object} [options] Options object
   * @param {Boolean} [options.binary] Binary or text; by default text only
   *     for strings
   * @param {Boolean} [options.compress=true] Compress for the sockets that
   *     negotiated permessage-deflate
   */
  constructor(data, options) {
    const opts = options || {};

    if (typeof data === 'number') data = String(data);

    if (isBlob(data)) {
      throw new TypeError(
        'A Blob cannot be broadcast; read it into a Buffer first'
      );
    }

    this.binary =
      opts.binary !== undefined ? !!opts.binary : typeof data !== 'string';
    this.compress = opts.compress !== false;
    this.payload =
      typeof data === 'string'
        ? Buffer.from(data)
        : data
          ? toBuffer(data)
          : EMPTY_BUFFER;
    this._plain = null;
    this._deflated = null;
  }

  /**
   * The uncompressed frame.
   *
   * @return {{list: Buffer[], size: Number}}
   * @public
   */
  plain() {
    if (this._plain === null) this._plain = this._frame(this.payload, false);

    return this._plain;
  }

  /**
   * The frame compressed afresh with the given settings.
   *
   * @param {Number} bits The window bits
   * @param {Object} settings The compressor's `level`, `memLevel` and
   *     `strategy` (see PerMessageDeflate#deflateSettings)
   * @return {{list: Buffer[], size: Number}}
   * @public
   */
  deflated(bits, settings) {
    const { level, memLevel, strategy } = settings;
    const key = `${bits}:${level}:${memLevel}:${strategy}`;

    if (this._deflated === null) this._deflated = new Map();

    let frame = this._deflated.get(key);

    if (frame === undefined) {
      let deflater = freshDeflaters.get(key);

      if (deflater === undefined) {
        deflater = new NativeDeflate(level, bits, true, memLevel, strategy);
        freshDeflaters.set(key, deflater);
      }

      frame = this._frame(deflater.compress(this.payload, true), true);
      this._deflated.set(key, frame);
    }

    return frame;
  }

  /**
   * Frames a payload unmasked, as a server sends it.
   *
   * @param {Buffer} payload The payload
   * @param {Boolean} rsv1 Whether it is compressed
   * @return {{list: Buffer[], size: Number}}
   * @private
   */
  _frame(payload, rsv1) {
    const list = Sender.frame(payload, {
      fin: true,
      mask: false,
      opcode: this.binary ? 2 : 1,
      readOnly: false,
      rsv1
    });
    const size = list[0].length + payload.length;

    if (payload.length <= MERGE_SIZE) {
      return { list: [Buffer.concat([list[0], payload], size)], size };
    }

    return { list, size };
  }
}

/**
 * Hands a prepared message to one server-side socket, in order with what
 * its Sender already has queued, and after a fragmented message it may be
 * in the middle of.
 *
 * @param {WebSocket} ws The socket
 * @param {PreparedMessage} message The message
 * @return {Boolean} Whether the socket was open and took the message
 * @public
 */
function deliver(ws, message) {
  if (ws.readyState !== OPEN) return false;

  if (ws._sender._firstFragment) write(ws, message);
  else ws._sender.afterMessage(() => write(ws, message));
  return true;
}

// Sockets corked by deliveries in the current tick.
const kHeld = Symbol('wsrs-broadcast-held');
let heldSockets = null;

/**
 * Corks a subscriber's socket until the end of the tick, so that every
 * message published to it in this tick leaves in one write: one system call
 * per subscriber per tick, instead of one per message.
 *
 * @param {Duplex} socket The socket
 * @private
 */
function holdWrites(socket) {
  if (socket[kHeld] === true || typeof socket.cork !== 'function') return;

  socket.cork();
  socket[kHeld] = true;

  if (heldSockets === null) {
    heldSockets = [];
    process.nextTick(releaseWrites);
  }

  heldSockets.push(socket);
}

/**
 * Uncorks the sockets held in this tick.
 *
 * @private
 */
function releaseWrites() {
  const sockets = heldSockets;

  heldSockets = null;

  for (const socket of sockets) {
    socket[kHeld] = false;
    socket.uncork();
  }
}

/**
 * Writes a prepared message to a socket at a message boundary.
 *
 * @param {WebSocket} ws The socket
 * @param {PreparedMessage} message The message
 * @private
 */
function write(ws, message) {
  // It may have closed while a fragmented message held this one back.
  if (ws.readyState !== OPEN) return;

  const sender = ws._sender;
  const cb = drainCallback(ws);
  const deflate = message.compress
    ? ws._extensions[PerMessageDeflate.extensionName]
    : undefined;

  touch(ws);
  holdWrites(ws._socket);

  if (deflate !== undefined && deflate.params) {
    const own = deflate.ownSide();

    if (!own.reset) {
      sender.send(
        message.payload,
        { binary: message.binary, compress: true, fin: true, mask: false },
        cb
      );
      afterWrite(ws);
      return;
    }

    if (message.payload.length >= deflate._threshold) {
      const frame = message.deflated(own.bits, deflate.deflateSettings());

      sender.sendPrepared(frame.list, frame.size, cb);
      afterWrite(ws);
      return;
    }
  }

  const frame = message.plain();

  sender.sendPrepared(frame.list, frame.size, cb);
  afterWrite(ws);
}

/**
 * Turns the `except` option into a test.
 *
 * @param {*} except A WebSocket, an iterable of them, or a predicate
 * @return {Function} Tells whether a socket is excluded
 * @public
 */
function exclusion(except) {
  if (except === undefined || except === null) return () => false;
  if (typeof except === 'function') return except;

  if (typeof except[Symbol.iterator] === 'function') {
    const set = except instanceof Set ? except : new Set(except);

    return (ws) => set.has(ws);
  }

  return (ws) => ws === except;
}

module.exports = { PreparedMessage, deliver, exclusion };
