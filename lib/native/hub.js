'use strict';

//
// The JavaScript half of the native I/O engine (`engine: 'native'`). Rust
// (src/engine/) owns the listening socket and every connection. A
// `NativeHub` receives the engine's batches of event records, hands each
// request head to `WebSocketServer#handleUpgrade()` with a
// `NativeConnection` (lib/native/connection.js) as its socket, and returns
// the commands of a turn in one `submit()`: at the end of each batch of
// events, or on the next tick for sends made outside one.
//

const native = require('./addon');
const { NativeConnection } = require('./connection');
const PerMessageDeflate = require('../permessage-deflate');
const { EMPTY_BUFFER } = require('../constants');
const { decodeError } = require('../protocol-error');
const {
  CMD_FRAME,
  CMD_WRITE,
  EV_BINARY,
  EV_CLOSE,
  EV_CLOSED,
  EV_END,
  EV_ERROR,
  EV_HANDSHAKE,
  EV_PING,
  EV_PONG,
  EV_SERVER_CLOSED,
  EV_TEXT,
  EV_WRITTEN,
  F_BIG,
  OWNED,
  PIN_AT,
  SLICE
} = require('./records');

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

    // The zlib settings, checked as the default engine checks them.
    const pmd = options.perMessageDeflate;
    const zlib = pmd
      ? new PerMessageDeflate({ ...pmd, isServer: true }).deflateSettings()
      : { level: 6, memLevel: 8, strategy: 0 };
    const level = zlib.level;

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
          deflateMemLevel: zlib.memLevel,
          deflateStrategy: zlib.strategy,
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
      this._events = new Uint32Array(
        4 + 4 * Math.max(needed, 2 * (this._events.length >> 2))
      );
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
        this.handle(
          tape[o],
          tape[o + 1],
          tape[o + 2],
          tape[o + 3],
          data,
          owned
        );
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
    const socket = new NativeConnection(this, id, fields);
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
    } else if (
      payload !== null &&
      payload === this._last &&
      (word0 & 0xff) === CMD_WRITE
    ) {
      // The same bytes again in this batch (a broadcast): one copy.
      word0 |= this._lastFlags;
      offset = this._lastOffset;
      length = payload.length;
    } else if (payload !== null) {
      length = payload.length;

      if (length >= PIN_AT && (word0 & 0xff) >= CMD_FRAME) {
        // Left where it is: the socket keeps it referenced until Rust has
        // written it (see NativeConnection#_send).
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
  const err = new Error(
    `listen ${code}: ${match ? match[2] : e.message} ${host}:${options.port}`
  );

  err.code = code;
  err.syscall = 'listen';
  err.address = host;
  err.port = options.port;
  return err;
}

module.exports = { NativeHub };
