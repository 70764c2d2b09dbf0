'use strict';

//
// The JavaScript half of the native I/O engine (`engine: 'native'`). Rust
// (src/engine/) owns the listening socket and every connection; this file
// turns its batches of events into the objects of the default engine, so
// that the `WebSocket` class and `WebSocketServer#handleUpgrade()` run
// unchanged on top of three stand-ins:
//
// - `NativeSocket`, in place of the `net.Socket` (handshake responses,
//   `end()`, `destroy()`, `pause()`, `'end'` and `'close'`);
// - `NativeReceiver`, in place of the `Receiver` (its events come from
//   Rust, which parsed, unmasked, validated and inflated the frames);
// - `NativeSender`, a `Sender` whose messages are framed and compressed in
//   Rust and whose frames are written by Rust.
//
// Commands go back in one `submit()` per turn: at the end of each batch of
// events, or on the next tick for sends made outside one.
//

const EventEmitter = require('events');

const native = require('./addon');
const Sender = require('../sender');
const PerMessageDeflate = require('../permessage-deflate');
const { EMPTY_BUFFER } = require('../constants');
const { decodeError } = require('../protocol-error');
const { drainIfOwed, kFlow } = require('../flow/flow');
const Listeners = require('../listeners');

// Event records (src/engine/wire.rs).
const EV_HANDSHAKE = 1;
const EV_TEXT = 2;
const EV_BINARY = 3;
const EV_PING = 4;
const EV_PONG = 5;
const EV_CLOSE = 6;
const EV_ERROR = 7;
const EV_END = 8;
const EV_CLOSED = 9;
const EV_WRITTEN = 10;
const EV_SERVER_CLOSED = 11;
const OWNED = 0x100;
const SLICE = 0x400;

// Command records.
const CMD_ACCEPT = 1;
const CMD_RAW = 2;
const CMD_FRAME = 3;
const CMD_SHUTDOWN = 4;
const CMD_DESTROY = 5;
const CMD_PAUSE = 6;
const CMD_RESUME = 7;
const CMD_WRITE = 8;
const CMD_REPORT = 9;
const F_FIN = 1;
const F_COMPRESS = 2;
const F_REPORT = 4;
const F_BIG = 8;
const A_DEFLATE = 1;
const A_SERVER_NCT = 2;
const A_CLIENT_NCT = 4;

// Frame payloads at least this large are not copied: Rust reads them where
// they are, and the socket keeps them referenced until they are written.
const PIN_AT = 16 * 1024;
// A socket asks Rust for progress reports once this much may be queued.
const REPORT_AT = 4096;
const TWO_32 = 4294967296;
// A frame list's two buffers joined into one (see NativeSender#sendFrame).
const kJoined = Symbol('wsrs-joined-frame');

// A socket's readable state as the WebSocket reads it on close: nothing is
// ever buffered on the JavaScript side.
const READABLE = Object.freeze({ endEmitted: false, length: 0 });
const ENDED = Object.freeze({ endEmitted: true, length: 0 });

// Node's rule for repeated request headers: these keep the first value,
// `set-cookie` becomes an array, and the rest are joined with ', '.
const SINGLE_VALUE_HEADERS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent'
]);

/**
 * The engine of one `WebSocketServer`: the Rust handle, the connections by
 * id, and the command batch being filled.
 */
class NativeHub {
  /**
   * Binds and starts the engine.
   *
   * @param {WebSocketServer} server The owner
   * @param {Object} options The server's settings
   * @throws {Error} If the port cannot be bound (with the OS error's code)
   */
  constructor(server, options) {
    this._server = server;
    this._conns = new Map();
    this._events = new Uint32Array(4 + 4 * 1024);
    this._dispatching = false;
    this._scheduled = false;
    this._closed = false;

    // The command batch.
    this._tape = new Uint32Array(4 * 256);
    this._count = 0;
    this._arena = Buffer.allocUnsafe(64 * 1024);
    this._used = 0;
    this._bigs = [];
    // The last frame copied whole (see `command()`).
    this._last = null;
    this._lastOffset = 0;
    this._lastFlags = 0;

    this._flush = () => this.flush();

    const pmd = options.perMessageDeflate;
    const level =
      pmd && pmd.zlibDeflateOptions && pmd.zlibDeflateOptions.level !== undefined
        ? pmd.zlibDeflateOptions.level
        : 6;

    this._onConnection = (ws, req) => server.emit('connection', ws, req);

    let handle;

    try {
      handle = new native.NativeServer(
        {
          host: options.host == null ? '' : String(options.host),
          port: options.port,
          backlog: options.backlog == null ? 511 : options.backlog,
          reusePort: options.reusePort === true,
          maxPayload: options.maxPayload,
          maxFragments: options.maxFragments,
          maxBufferedChunks: options.maxBufferedChunks,
          skipUTF8Validation: options.skipUTF8Validation === true,
          deflateLevel: level >= 0 && level <= 9 ? level : 6,
          maxBufferedAmount: options.maxBufferedAmount,
          handshakeTimeout: options.handshakeTimeout,
          maxHeaderSize: options.maxHeaderSize,
          maxHeaders: options.maxHeaders
        },
        () => this.wake()
      );
    } catch (e) {
      throw listenError(e, options);
    }

    this._handle = handle;
    this._address = {
      address: handle.address,
      family: handle.family,
      port: handle.port
    };
  }

  /**
   * The bound address, as `net.Server#address()` gives it.
   *
   * @return {(Object|null)}
   */
  address() {
    return this._closed ? null : { ...this._address };
  }

  /**
   * Stops accepting connections; `'close'` follows once the open ones are
   * gone.
   */
  close() {
    if (this._closed) return;
    this._closed = true;
    this._handle.close();
  }

  /**
   * Called (through the engine's thread-safe function) when events wait.
   *
   * @private
   */
  wake() {
    const handle = this._handle;

    if (handle === null) return;

    let data = handle.poll(this._events);

    if (data === null) {
      const needed = this._events[0];

      if (this._events[1] !== 0xffffffff) return;
      this._events = new Uint32Array(4 + 4 * Math.max(needed, 2 * (this._events.length >> 2)));
      data = handle.poll(this._events);
      if (data === null) return;
    }

    const tape = this._events;
    const count = tape[0];
    const owned = tape[1] > 0 ? handle.takeOwned() : null;
    let thrown = null;

    this._dispatching = true;

    for (let i = 0, o = 4; i < count; i++, o += 4) {
      try {
        this.handle(tape[o], tape[o + 1], tape[o + 2], tape[o + 3], data, owned);
      } catch (err) {
        if (thrown === null) thrown = { err };
      }
    }

    this._dispatching = false;
    this.flush();

    // A listener's exception is rethrown once the batch is done, so that
    // it still reaches `uncaughtException` as with the default engine.
    if (thrown !== null) throw thrown.err;
  }

  /**
   * Handles one event record.
   *
   * @private
   */
  handle(word0, id, a, b, data, owned) {
    const kind = word0 & 0xff;

    if (kind === EV_SERVER_CLOSED) {
      const handle = this._handle;

      this._handle = null;
      setImmediate(() => handle.destroy());
      this._server._nativeClosed();
      return;
    }

    const socket = this._conns.get(id);

    if (socket === undefined) {
      if (kind === EV_HANDSHAKE) this.handshake(id, data.latin1Slice(a, b));
      return;
    }

    switch (kind) {
      case EV_TEXT:
      case EV_BINARY:
      case EV_PING:
      case EV_PONG:
      case EV_CLOSE: {
        const payload =
          word0 & SLICE
            ? owned[word0 >>> 16].subarray(a, b)
            : word0 & OWNED
              ? owned[a]
              : b > a
                ? data.subarray(a, b)
                : EMPTY_BUFFER;

        socket._event(kind, payload, word0 >>> 16);
        break;
      }
      case EV_ERROR:
        socket._error(decodeError(data.toString('utf8', a, b)));
        break;
      case EV_WRITTEN:
        socket._written(a, b);
        break;
      case EV_END:
        socket._end();
        break;
      case EV_CLOSED:
        this._conns.delete(id);
        socket._closed();
        break;
    }
  }

  /**
   * A request head arrived: run it through `handleUpgrade()`.
   *
   * @param {Number} id The connection
   * @param {String} text The fields, NUL separated
   * @private
   */
  handshake(id, text) {
    const fields = text.split('\0');
    const socket = new NativeSocket(this, id, fields);
    const rawHeaders = fields.slice(7);
    const headers = {};

    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toLowerCase();
      const value = rawHeaders[i + 1];
      const seen = headers[name];

      if (seen === undefined) {
        headers[name] = name === 'set-cookie' ? [value] : value;
      } else if (name === 'set-cookie') {
        seen.push(value);
      } else if (!SINGLE_VALUE_HEADERS.has(name)) {
        headers[name] = `${seen}, ${value}`;
      }
    }

    const version = fields[2];
    const req = {
      method: fields[0],
      url: fields[1],
      httpVersion: version,
      httpVersionMajor: 1,
      httpVersionMinor: version === '1.0' ? 0 : 1,
      headers,
      rawHeaders,
      complete: true,
      aborted: false,
      upgrade: true,
      socket,
      connection: socket
    };

    socket._accept = fields[6];
    this._conns.set(id, socket);
    this._server.handleUpgrade(req, socket, EMPTY_BUFFER, this._onConnection);
  }

  /**
   * Queues a command.
   *
   * @param {Number} word0 Kind, opcode and flags
   * @param {Number} id The connection
   * @param {(Buffer|String|null)} payload The payload
   * @return {Number} The payload's length in bytes
   * @private
   */
  command(word0, id, payload) {
    if (this._handle === null) return 0;

    let offset = 0;
    let length = 0;

    if (typeof payload === 'string') {
      if (payload.length > 0) {
        this.reserve(payload.length * 3);
        offset = this._used;
        length = this._arena.utf8Write(payload, offset);
        this._used += length;
      }
    } else if (payload !== null && payload === this._last && (word0 & 0xff) === CMD_WRITE) {
      // The same bytes again in this batch (a broadcast): one copy.
      word0 |= this._lastFlags;
      offset = this._lastOffset;
      length = payload.length;
    } else if (payload !== null) {
      length = payload.length;

      if (length >= PIN_AT && (word0 & 0xff) >= CMD_FRAME) {
        // Left where it is: the socket keeps it referenced until Rust has
        // written it (see NativeSocket#_send).
        word0 |= F_BIG << 12;
        offset = this._bigs.length;
        this._bigs.push(payload);
      } else if (length > 0) {
        this.reserve(length);
        offset = this._used;
        this._arena.set(payload, offset);
        this._used += length;
      }

      if ((word0 & 0xff) === CMD_WRITE) {
        this._last = payload;
        this._lastOffset = offset;
        this._lastFlags = word0 & (F_BIG << 12);
      }
    }

    if ((this._count + 1) * 4 > this._tape.length) {
      const tape = new Uint32Array(this._tape.length * 2);

      tape.set(this._tape);
      this._tape = tape;
    }

    const o = this._count * 4;

    this._tape[o] = word0;
    this._tape[o + 1] = id;
    this._tape[o + 2] = offset;
    this._tape[o + 3] = length;
    this._count++;

    if (!this._dispatching && !this._scheduled) {
      this._scheduled = true;
      process.nextTick(this._flush);
    }

    return length;
  }

  /**
   * Makes room for `n` more bytes in the arena.
   *
   * @private
   */
  reserve(n) {
    if (this._used + n <= this._arena.length) return;

    let size = this._arena.length * 2;

    while (size < this._used + n) size *= 2;

    const arena = Buffer.allocUnsafe(size);

    this._arena.copy(arena, 0, 0, this._used);
    this._arena = arena;
  }

  /**
   * Hands the queued commands to the engine.
   */
  flush() {
    this._scheduled = false;
    if (this._count === 0) return;

    if (this._handle !== null) {
      this._handle.submit(
        this._tape,
        this._count,
        this._arena,
        this._used,
        this._bigs.length > 0 ? this._bigs : undefined
      );
    }

    this._count = 0;
    this._used = 0;
    this._last = null;
    if (this._bigs.length > 0) this._bigs = [];
  }
}

/**
 * Stands in for the `net.Socket` of a connection owned by the engine.
 *
 * @extends EventEmitter
 */
class NativeSocket extends EventEmitter {
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

    // Payload bytes Rust has not written yet (see `_writableState`).
    this.length = 0;
    this._readableState = READABLE;
  }

  /**
   * What `WebSocket#bufferedAmount` reads: `length` is the bytes queued.
   *
   * @type {NativeSocket}
   * @private
   */
  get _writableState() {
    return this;
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
      this._hub.command(CMD_RAW, this._id, typeof data === 'string' ? data : Buffer.from(data));
    }
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  }

  /**
   * Half-closes once everything queued is written.
   *
   * @param {(String|Buffer|Function)} [data] Last bytes to write
   * @param {Function} [cb] Called on `'finish'`
   * @return {NativeSocket}
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
   * @return {NativeSocket}
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
    if (cb !== undefined && this._websocket !== null && cb === this._websocket[kFlow].check) {
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
    } else if (!this._reporting && this.length + payload.length >= REPORT_AT) {
      // A string's length in UTF-16 units is a lower bound of its bytes.
      word0 |= F_REPORT << 12;
      this._reporting = true;
    }

    // The hub encodes strings once, and says how many bytes it queued.
    const size = this._hub.command(word0, this._id, payload);

    this._submitted = (this._submitted + size) % TWO_32;
    this.length += size;
  }

  /**
   * Rust wrote up to `units` payload bytes and `frames` frames.
   *
   * @private
   */
  _written(units, frames) {
    const pending = (this._submitted - units + TWO_32) % TWO_32;

    this.length = pending;

    if (pending === 0) {
      this._reporting = false;
    } else if (frames === this._frames) {
      // Every frame is written but some bytes are unaccounted for: cannot
      // happen, as frames carry their bytes; keep the counters honest.
      this.length = 0;
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
    if (err.code === 'ERR_WSRS_SEND_QUEUE_LIMIT') this._websocket._closeCode = 1008;

    receiver.errorEmitted = true;
    receiver.emit('error', err);
  }

  /**
   * The peer ended its side.
   *
   * @private
   */
  _end() {
    this.readable = false;
    this._readableState = ENDED;
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
      const err = new Error('The socket was closed before the data was written');

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
 * @param {NativeSocket} socket The socket
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
 * @param {NativeSocket} socket The socket
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
 * Stands in for the `Receiver`: the `WebSocket`'s receiver listeners are
 * attached to it, and it emits what Rust parsed.
 *
 * @extends EventEmitter
 */
class NativeReceiver extends EventEmitter {
  /**
   * @param {String} binaryType The initial binary type
   */
  constructor(binaryType) {
    super();

    this._events = new Listeners();
    this._binaryType = binaryType;
    this._closed = false;
    this.needDrain = false;
    this.errorEmitted = false;
    this.finished = false;
  }

  /**
   * What the `WebSocket` reads of a Receiver's writable state
   * (`needDrain`, `errorEmitted`, `finished`): kept on the receiver.
   *
   * @type {NativeReceiver}
   * @private
   */
  get _writableState() {
    return this;
  }

  /**
   * Bytes never come this way; present for the socket's `'data'` listener.
   *
   * @return {Boolean}
   */
  write() {
    return true;
  }

  /**
   * Nothing more will arrive.
   */
  end() {
    this.finished = true;
  }
}

/**
 * A `Sender` for the native engine: data messages are framed (and
 * compressed) by Rust; frames built here (control frames, prepared
 * broadcasts) are written as they are.
 *
 * @extends Sender
 */
class NativeSender extends Sender {
  /**
   * @param {NativeSocket} socket The socket
   * @param {Object} extensions The negotiated extensions
   */
  constructor(socket, extensions) {
    super(socket, extensions);
  }

  /**
   * Hands one data frame to Rust.
   *
   * @param {(Buffer|String)} data The payload
   * @param {Boolean} compress Whether to compress
   * @param {Object} options Frame options (`opcode`, `fin`)
   * @param {Function} [cb] Called once written
   * @private
   */
  dispatch(data, compress, options, cb) {
    let word0 = CMD_FRAME | (options.opcode << 8);
    let flags = 0;

    if (options.fin) flags |= F_FIN;
    if (compress) flags |= F_COMPRESS;
    word0 |= flags << 12;

    this._socket._send(word0, data, cb);
  }

  /**
   * Writes a frame built in JavaScript.
   *
   * @param {Buffer[]} list The frame (one or two buffers)
   * @param {Function} [cb] Called once written
   * @public
   */
  sendFrame(list, cb) {
    let bytes = list[0];

    if (list.length === 2 && list[kJoined] !== undefined) {
      bytes = list[kJoined];
    } else if (list.length === 2) {
      const payload = list[1];
      const size =
        typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;

      bytes = Buffer.allocUnsafe(list[0].length + size);
      list[0].copy(bytes, 0);
      if (typeof payload === 'string') bytes.utf8Write(payload, list[0].length);
      else bytes.set(payload, list[0].length);

      // A prepared broadcast frame comes again, as the same list, for each
      // subscriber: join it once.
      list[kJoined] = bytes;
    } else if (typeof bytes === 'string') {
      bytes = Buffer.from(bytes);
    }

    this._socket._send(CMD_WRITE, bytes, cb);
  }
}

/**
 * The error `new WebSocketServer()` reports when the port cannot be bound,
 * shaped like Node's listen errors.
 *
 * @param {Error} e The addon's error (`"CODE: message"`)
 * @param {Object} options The server's settings
 * @return {Error}
 * @private
 */
function listenError(e, options) {
  const match = /^([A-Z]+): (.*)$/s.exec(e.message);
  const code = match ? match[1] : 'ELISTEN';
  const host = options.host == null ? '::' : options.host;
  const err = new Error(`listen ${code}: ${match ? match[2] : e.message} ${host}:${options.port}`);

  err.code = code;
  err.syscall = 'listen';
  err.address = host;
  err.port = options.port;
  return err;
}

module.exports = { NativeHub, NativeReceiver, NativeSender, NativeSocket };
