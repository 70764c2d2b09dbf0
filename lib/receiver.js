'use strict';

const { Writable } = require('stream');

const { toArrayBuffer } = require('./buffer-util');
const {
  BINARY_TYPES,
  EMPTY_BUFFER,
  kStatusCode,
  kWebSocket
} = require('./constants');
const { NativeParser } = require('./native/addon');
const PerMessageDeflate = require('./permessage-deflate');
const { decodeError } = require('./protocol-error');

// ws's receiver states, kept for code that reads `_state`: GET_INFO,
// INFLATING while a chunk is parsed on the thread pool, and DEFER_EVENT.
const GET_INFO = 0;
const INFLATING = 5;
const DEFER_EVENT = 6;

// Once a chunk inflates to this many bytes, the next chunks of its message
// (of at least OFFLOAD_CHUNK bytes) are parsed on the libuv thread pool, so
// that a large compressed message does not stall the event loop; small
// messages stay in this thread, where a round trip to the pool would cost
// more than the work.
const OFFLOAD_INFLATED = 256 * 1024;
const OFFLOAD_CHUNK = 1024;

// The parser writes the records both engines share (lib/native/records.js).
const {
  EV_BINARY: BINARY,
  EV_CLOSE: CLOSE,
  EV_ERROR: ERROR,
  EV_PING: PING,
  EV_PONG: PONG,
  EV_TEXT: TEXT,
  FRAGMENTS,
  OWNED
} = require('./native/records');

// Records per batch. One tape serves every receiver; a receiver written to
// from inside another's event handler gets a tape of its own.
const TAPE_RECORDS = 256;
const sharedTape = new Uint32Array(TAPE_RECORDS * 4);
let sharedTapeBusy = false;

/**
 * The WebSocket frame reader: a Writable fed the socket's bytes. Parsing,
 * unmasking, UTF-8 validation and inflation run in Rust, once per chunk;
 * this class turns the parser's records into ws's events.
 *
 * @extends Writable
 */
class Receiver extends Writable {
  /**
   * Creates a Receiver instance.
   *
   * @param {Object} [options] Options object
   * @param {Boolean} [options.allowSynchronousEvents=true] Whether more than
   *     one `'message'`, `'ping'` or `'pong'` event may be emitted in a tick
   * @param {String} [options.binaryType=nodebuffer] The type for binary data
   * @param {Object} [options.extensions] The negotiated extensions
   * @param {Boolean} [options.isServer=false] Server or client mode
   * @param {Number} [options.maxBufferedChunks=0] The most socket chunks
   *     held unparsed
   * @param {Number} [options.maxFragments=0] The most fragments in a message
   * @param {Number} [options.maxPayload=0] The largest allowed message
   * @param {Boolean} [options.skipUTF8Validation=false] Whether to skip UTF-8
   *     validation of text messages and close reasons
   */
  constructor({
    allowSynchronousEvents = true,
    binaryType,
    extensions,
    isServer,
    maxBufferedChunks,
    maxFragments,
    maxPayload,
    skipUTF8Validation
  } = {}) {
    super();

    // How events are delivered. `_binaryType` is also set by the WebSocket
    // when its `binaryType` changes.
    this._allowSynchronousEvents = allowSynchronousEvents;
    this._binaryType = binaryType || BINARY_TYPES[0];
    this[kWebSocket] = undefined;

    // What the native parser is built from on the first write, by when the
    // extensions have been negotiated. ws's tests read these fields.
    this._extensions = extensions || {};
    this._isServer = !!isServer;
    this._skipUTF8Validation = !!skipUTF8Validation;
    this._maxPayload = toLimit(maxPayload);
    this._maxFragments = toLimit(maxFragments);
    this._maxBufferedChunks = toLimit(maxBufferedChunks);

    this._parser = null;
    this._inflating = false;
    this._concluded = false;
    this._errored = false;
    this._deferred = [];
    this._owned = undefined;
    this._fragments = undefined;
    this._offload = false;
    this._state = GET_INFO;
  }

  /**
   * Payload bytes of the data message being received (0 between messages).
   *
   * @type {Number}
   */
  get _totalPayloadLength() {
    return this._parser ? this._parser.totalPayloadLength : 0;
  }

  /**
   * Creates the native parser on first use, when the extensions are known.
   *
   * @return {NativeParser} The parser
   * @private
   */
  _createParser() {
    const pmd = this._extensions[PerMessageDeflate.extensionName];
    const options = {
      isServer: this._isServer,
      maxPayload: this._maxPayload,
      maxFragments: this._maxFragments,
      maxBufferedChunks: this._maxBufferedChunks,
      skipUTF8Validation: this._skipUTF8Validation
    };

    if (pmd && pmd.params) {
      const peer = pmd.peerSide();

      options.inflateWindowBits = peer.bits;
      options.inflateNoContextTakeover = peer.reset;
    }

    this._inflating = options.inflateWindowBits !== undefined;
    this._parser = new NativeParser(options);
    return this._parser;
  }

  /**
   * Implements `Writable.prototype._write()`.
   *
   * @param {Buffer} chunk The chunk of data to write
   * @param {String} encoding The character encoding of `chunk`
   * @param {Function} cb Callback
   * @private
   */
  _write(chunk, encoding, cb) {
    if (this._concluded || this._errored) return cb();

    const parser = this._parser || this._createParser();

    if (!this._offload || chunk.length < OFFLOAD_CHUNK) {
      this._process(chunk, cb, this._inflating ? parser.inflated : 0, false);
      return;
    }

    // The message being received inflates to a lot: parse this chunk on
    // the thread pool, and the records once it is done. The Receiver is
    // INFLATING meanwhile, as ws's is while zlib works.
    const inflatedBefore = parser.inflated;

    this._state = INFLATING;
    parser.feedAsync(chunk).then(
      () => {
        this._state = GET_INFO;
        this._process(chunk, cb, inflatedBefore, true);
      },
      (err) => {
        this._state = GET_INFO;
        cb(this._internalError(toError(err)));
      }
    );
  }

  /**
   * Feeds a chunk to the parser (unless `parsed`: it was, on the thread
   * pool) and emits the events of its records.
   *
   * @param {Buffer} chunk The chunk
   * @param {Function} cb The write callback
   * @param {Number} inflatedBefore The parser's `inflated` count before
   * @param {Boolean} parsed Whether `feedAsync()` parsed it already
   * @private
   */
  _process(chunk, cb, inflatedBefore, parsed) {
    const parser = this._parser;
    const deferring = !this._allowSynchronousEvents;
    let tape = sharedTape;
    let ownsShared = false;

    if (sharedTapeBusy) {
      tape = new Uint32Array(TAPE_RECORDS * 4);
    } else {
      sharedTapeBusy = true;
      ownsShared = true;
    }

    let result;
    let corked = null;

    try {
      let n = parsed
        ? moreNative(parser, tape)
        : feedNative(parser, chunk, tape);

      // Several events in one chunk: whatever the handlers send in reply
      // (echoes, pongs) leaves in one write when the batch is done.
      if (n > 1 && !deferring) corked = this._corkSocket();

      for (;;) {
        if (n instanceof Error) {
          result = this._internalError(n);
          break;
        }
        result = deferring
          ? this._collect(chunk, tape, n)
          : this._dispatch(chunk, tape, n);
        if (result !== undefined || n < TAPE_RECORDS) break;
        n = moreNative(parser, tape);
      }
    } finally {
      if (ownsShared) sharedTapeBusy = false;
      if (corked !== null) corked.uncork();
      // The batch's owned payloads belong to the events now: an idle
      // connection must not keep its last message alive.
      this._owned = undefined;
      this._fragments = undefined;
    }

    const inflated = this._inflating ? parser.inflated - inflatedBefore : 0;

    // The next chunks of a message that inflates this much are parsed off
    // this thread, until one inflates little.
    this._offload =
      this._inflating &&
      (inflated >= OFFLOAD_INFLATED ||
        (this._offload && parser.totalPayloadLength >= OFFLOAD_INFLATED));

    if (deferring && this._deferred.length) {
      this._drainDeferred(cb);
      return;
    }

    if (result instanceof Error) {
      cb(result);
    } else if (inflated > 0 && !parsed) {
      // Decompression can turn a small chunk into a lot of work. Take the
      // next chunk in a later turn, so other connections get theirs first;
      // meanwhile the Writable buffers, the socket is paused past its
      // high-water mark, and the Receiver is INFLATING, as with ws's
      // asynchronous inflation.
      this._state = INFLATING;
      setImmediate(() => {
        this._state = GET_INFO;
        cb();
      });
    } else {
      cb();
    }
  }

  /**
   * Corks the socket of the WebSocket this receiver belongs to.
   *
   * @return {(Duplex|null)} The corked socket, or `null`
   * @private
   */
  _corkSocket() {
    const ws = this[kWebSocket];
    const socket = ws && ws._socket;

    if (!socket || typeof socket.cork !== 'function' || socket.destroyed) {
      return null;
    }

    socket.cork();
    return socket;
  }

  /**
   * Emits the events of one batch of records as they come.
   *
   * @param {Buffer} chunk The chunk the records refer to
   * @param {Uint32Array} tape The records
   * @param {Number} n How many records there are
   * @return {(Error|Boolean|undefined)} An error, `true` after a close
   *     frame, or `undefined` to go on
   * @private
   */
  _dispatch(chunk, tape, n) {
    this._owned = undefined;
    this._fragments = undefined;

    for (let i = 0; i < n; i++) {
      const at = i * 4;
      const kind = tape[at];
      const type = kind & 0xff;

      const data = this._payload(chunk, tape, at, kind);

      if (type === ERROR) return this._error(data);

      if (type === TEXT) {
        this.emit('message', data, false);
      } else if (type === BINARY) {
        this.emit(
          'message',
          this._convert(data, this._fragmentEnds(kind)),
          true
        );
      } else if (type === PING) {
        this.emit('ping', data);
      } else if (type === PONG) {
        this.emit('pong', data);
      } else if (type === CLOSE) {
        this._conclude(kind >>> 16, data);
        return true;
      }
    }

    return undefined;
  }

  /**
   * Like `_dispatch()`, but queues the events so that each is emitted in
   * its own turn of the event loop (`allowSynchronousEvents: false`).
   *
   * @param {Buffer} chunk The chunk the records refer to
   * @param {Uint32Array} tape The records
   * @param {Number} n How many records there are
   * @return {(Boolean|undefined)} `true` after a close frame or an error
   * @private
   */
  _collect(chunk, tape, n) {
    this._owned = undefined;
    this._fragments = undefined;

    for (let i = 0; i < n; i++) {
      const at = i * 4;
      const kind = tape[at];
      const type = kind & 0xff;

      const data = this._payload(chunk, tape, at, kind);
      const extra = type === BINARY ? this._fragmentEnds(kind) : kind >>> 16;

      this._deferred.push({ type, data, extra });
      if (type === CLOSE || type === ERROR) return true;
    }

    return undefined;
  }

  /**
   * The payload a record names: a slice of the chunk, or an owned Buffer
   * of the current batch.
   *
   * @param {Buffer} chunk The chunk the records refer to
   * @param {Uint32Array} tape The records
   * @param {Number} at Where the record starts
   * @param {Number} kind The record's kind word
   * @return {Buffer} The payload (`EMPTY_BUFFER` when empty)
   * @private
   */
  _payload(chunk, tape, at, kind) {
    if (kind & OWNED) {
      if (this._owned === undefined) this._owned = this._parser.takeOwned();
      const data = this._owned[tape[at + 2]];
      return data.length === 0 ? EMPTY_BUFFER : data;
    }

    const start = tape[at + 2];
    const end = tape[at + 3];

    return start === end ? EMPTY_BUFFER : chunk.subarray(start, end);
  }

  /**
   * Where each fragment of a binary message ends, for messages of more
   * than one fragment.
   *
   * @param {Number} kind The record's kind word
   * @return {(Number[]|undefined)} The ends, or `undefined`
   * @private
   */
  _fragmentEnds(kind) {
    if ((kind & FRAGMENTS) === 0) return undefined;
    if (this._fragments === undefined)
      this._fragments = this._parser.takeFragments();
    return this._fragments[kind >>> 16];
  }

  /**
   * Emits queued events one per `setImmediate()`, then calls `cb`.
   *
   * @param {Function} cb The write callback
   * @private
   */
  _drainDeferred(cb) {
    const event = this._deferred.shift();

    if (event === undefined) {
      this._state = GET_INFO;
      cb();
      return;
    }

    if (event.type === ERROR) {
      this._deferred.length = 0;
      this._state = GET_INFO;
      cb(this._error(event.data));
      return;
    }

    if (event.type === CLOSE) {
      this._deferred.length = 0;
      this._state = GET_INFO;
      this._conclude(event.extra, event.data);
      cb();
      return;
    }

    this._state = DEFER_EVENT;
    setImmediate(() => {
      if (event.type === TEXT) {
        this.emit('message', event.data, false);
      } else if (event.type === BINARY) {
        this.emit('message', this._convert(event.data, event.extra), true);
      } else {
        this.emit(event.type === PING ? 'ping' : 'pong', event.data);
      }

      this._drainDeferred(cb);
    });
  }

  /**
   * Converts a binary message according to `binaryType`.
   *
   * @param {Buffer} data The whole message
   * @param {Number[]} [ends] Where each fragment ends, for messages of more
   *     than one fragment
   * @return {(Buffer|ArrayBuffer|Blob|Buffer[])} The converted message
   * @private
   */
  _convert(data, ends) {
    const type = this._binaryType;

    if (type === 'nodebuffer') return data;
    if (type === 'arraybuffer') return toArrayBuffer(data);

    let parts;

    if (data.length === 0) {
      parts = [];
    } else if (ends === undefined) {
      parts = [data];
    } else {
      parts = [];
      let start = 0;

      for (const end of ends) {
        parts.push(data.subarray(start, end));
        start = end;
      }
    }

    return type === 'blob' ? new Blob(parts) : parts;
  }

  /**
   * Handles the peer's close frame: emits `'conclude'` and ends the stream.
   *
   * @param {Number} code The status code (1005 when the frame had none)
   * @param {Buffer} reason The reason; copied into memory of its own so that
   *     it neither pins nor exposes a larger socket or pool buffer
   * @private
   */
  _conclude(code, reason) {
    let copy = EMPTY_BUFFER;

    if (reason.length) {
      copy = Buffer.allocUnsafeSlow(reason.length);
      reason.copy(copy);
    }

    this._concluded = true;
    this.emit('conclude', code, copy);

    // Bytes that race the close frame (already on their way) are accepted
    // and ignored rather than failing with "write after end".
    process.nextTick(endReceiver, this);
  }

  /**
   * Builds the error the parser stopped on.
   *
   * @param {Buffer} encoded The error record's payload
   * @return {(Error|RangeError)} The error
   * @private
   */
  _error(encoded) {
    this._errored = true;
    return decodeError(encoded.toString(), this._error);
  }

  /**
   * Builds the error for a failure inside the native parser (a panic that
   * the addon caught and turned into a JavaScript exception). The parser
   * is not used again; the connection is failed with 1011.
   *
   * @param {Error} cause The exception the addon threw
   * @return {Error} The error
   * @private
   */
  _internalError(cause) {
    const err = new Error(
      `wsrs: internal error in the frame parser: ${cause.message}`
    );

    Error.captureStackTrace(err, this._internalError);
    err.code = 'ERR_WSRS_INTERNAL';
    err[kStatusCode] = 1011;
    err.cause = cause;
    this._errored = true;
    return err;
  }
}

module.exports = Receiver;

/**
 * `parser.feed(chunk, tape)`, with an exception from the addon (it turns an
 * internal panic into one) returned instead of thrown, so that it fails
 * the connection and never the process. Exceptions from event listeners
 * are not caught by this: they propagate as in ws.
 *
 * @param {NativeParser} parser The parser
 * @param {Buffer} chunk The chunk
 * @param {Uint32Array} tape The records
 * @return {(Number|Error)} How many records, or the exception
 * @private
 */
function feedNative(parser, chunk, tape) {
  try {
    return parser.feed(chunk, tape);
  } catch (err) {
    return toError(err);
  }
}

/**
 * `parser.more(tape)`, with exceptions returned as in `feedNative()`.
 *
 * @param {NativeParser} parser The parser
 * @param {Uint32Array} tape The records
 * @return {(Number|Error)} How many records, or the exception
 * @private
 */
function moreNative(parser, tape) {
  try {
    return parser.more(tape);
  } catch (err) {
    return toError(err);
  }
}

/**
 * @param {*} value Something thrown
 * @return {Error} It, or an Error describing it
 * @private
 */
function toError(value) {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * Ends a receiver after its close frame, unless it was destroyed meanwhile.
 *
 * @param {Receiver} receiver The receiver
 * @private
 */
function endReceiver(receiver) {
  if (!receiver.destroyed && !receiver.writableEnded) receiver.end();
}

/**
 * A size or count limit as ws stores it: an integer, 0 (no limit) unless
 * given.
 *
 * @param {*} value The option's value
 * @return {Number} The limit
 * @private
 */
function toLimit(value) {
  return value | 0;
}
