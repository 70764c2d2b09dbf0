'use strict';

//
// The WebSocket endpoint object. Framing, masking, UTF-8 checks and the
// inflate/deflate bookkeeping live in the Receiver/Sender pair (backed by the
// Rust engine); this module owns the connection state machine: the closing
// handshake, and translating socket/receiver/sender signals into the public
// `ws` events. The client's opening handshake is in lib/client/handshake.js.
//

// Node built-ins.
const { EventEmitter } = require('events');

// The I/O: a socket's transport builds the receiver and sender that parse
// and frame for it (lib/transport/transport.js).
const { transportOf } = require('./transport/transport');
const PerMessageDeflate = require('./permessage-deflate');

// The client's opening handshake (request, redirects, proxy, response).
const { failHandshake, listOf, openClient } = require('./client/handshake');
const { adoptOptions } = require('./endpoint-options');

// Our own additions to ws: send flow control and pub/sub topics.
const {
  afterWrite,
  sendCallback,
  startFlow,
  stopFlow,
  touch
} = require('./flow/flow');
const topics = require('./broadcast/topics');

// Helpers shared with the other modules.
const { EventTarget } = require('./event-target');
const Listeners = require('./listeners');
const { isBlob } = require('./validation');
const { toBuffer } = require('./buffer-util');
const constants = require('./constants');

const { BINARY_TYPES, EMPTY_BUFFER, NOOP } = constants;
const { CONNECTING, OPEN, CLOSING, CLOSED } = require('./ready-states');
const { kForOnEventAttribute, kListener, kStatusCode, kWebSocket } = constants;

// The extensions of a server-side endpoint that negotiated none.
const NO_EXTENSIONS = Object.freeze({});

// Names of the ready states, indexed by their numeric value.
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];

const HANDSHAKE_CLOSED_EARLY =
  'WebSocket was closed before the connection was established';

/**
 * A WebSocket endpoint, usable both as a client (created with a URL) and as
 * the per-connection object of a `WebSocketServer` (created with `null`).
 *
 * @extends EventEmitter
 */
class WebSocket extends EventEmitter {
  /**
   * Create a new `WebSocket`.
   *
   * @param {(String|URL|null)} address The URL to connect to, or `null` for
   *     a server-side endpoint
   * @param {(String|String[]|Object)} [protocols] The subprotocols to offer,
   *     or the options object
   * @param {Object} [options] Connection options
   */
  constructor(address, protocols, options) {
    super();

    this._events = new Listeners();
    this._isServer = address === null;
    this._readyState = CONNECTING;
    this._errorEmitted = false;

    // The connection, once setSocket() attaches one, and what flows over it.
    this._socket = this._receiver = this._sender = null;
    this._receiverFailed = false;
    this._paused = false;
    this._binaryType = BINARY_TYPES[0];
    this._bufferedAmount = 0;
    this._pendingAutoPongs = 0;

    // What the opening handshake negotiated. A server-side endpoint starts
    // out with the shared empty set, which the WebSocketServer replaces if
    // it negotiates any extension.
    this._extensions = this._isServer ? NO_EXTENSIONS : {};
    this._protocol = '';

    // The closing handshake. The code stays 1006 (abnormal closure) unless a
    // close frame brings one.
    this._closeFrameReceived = this._closeFrameSent = false;
    this._closeCode = 1006;
    this._closeMessage = EMPTY_BUFFER;
    this._closeTimer = null;

    if (this._isServer) {
      // The WebSocketServer hands over its own, already checked, options.
      adoptOptions(this, options);
      return;
    }

    this._redirects = 0;

    let offered = protocols;

    if (
      protocols !== null &&
      typeof protocols === 'object' &&
      !Array.isArray(protocols)
    ) {
      options = protocols;
      offered = undefined;
    }

    // Without a `protocols` argument, the option of that name (ws 8.22).
    if (offered === undefined && options) offered = options.protocols;

    openClient(this, address, listOf(offered), options);
  }

  /**
   * How binary messages are handed to `'message'` listeners: `'nodebuffer'`
   * (the default), `'arraybuffer'`, `'fragments'` or `'blob'`. Unknown values
   * are ignored.
   *
   * @type {String}
   */
  get binaryType() {
    return this._binaryType;
  }

  set binaryType(type) {
    if (BINARY_TYPES.includes(type)) {
      this._binaryType = type;

      // A live receiver picks the change up for the next message.
      if (this._receiver !== null) this._receiver._binaryType = type;
    }
  }

  /**
   * Bytes queued but not yet handed to the kernel.
   *
   * @type {Number}
   */
  get bufferedAmount() {
    if (this._socket === null) return this._bufferedAmount;

    return this._socket.writableLength + this._sender._bufferedBytes;
  }

  /**
   * The names of the negotiated extensions, comma separated.
   *
   * @type {String}
   */
  get extensions() {
    return Object.keys(this._extensions).join(',');
  }

  /**
   * Attach an upgraded socket and start speaking the WebSocket protocol.
   *
   * @param {Duplex} socket The upgraded connection
   * @param {Buffer} head Bytes already read past the HTTP head
   * @param {Object} options Receiver/Sender settings
   * @param {Boolean} [options.allowSynchronousEvents] Whether several
   *     `'message'`, `'ping'` or `'pong'` events may fire in the same tick
   * @param {Function} [options.generateMask] Fills a 4-byte masking key
   * @param {Number} [options.maxBufferedChunks] Limit on unparsed chunks
   * @param {Number} [options.maxFragments] Limit on fragments per message
   * @param {Number} [options.maxPayload] Limit on the message size
   * @param {Boolean} [options.skipUTF8Validation] Whether to skip UTF-8
   *     validation of text messages and close reasons
   * @private
   */
  setSocket(socket, head, options) {
    const transport = transportOf(socket);
    const { receiver, sender } = transport.open(this, socket, options);

    this._socket = socket;
    this._receiver = receiver;
    this._sender = sender;

    // Their event handlers find their way back here through `kWebSocket`.
    for (const part of [socket, receiver, sender]) part[kWebSocket] = this;

    for (const [event, handler] of RECEIVER_HANDLERS) {
      receiver.on(event, handler);
    }

    sender.onerror = handleSenderError;
    transport.start(this, socket, head);

    socket.on('close', handleSocketClose);
    socket.on('data', handleSocketData);
    socket.on('end', handleSocketEnd);
    socket.on('error', handleSocketError);

    this._readyState = OPEN;
    startFlow(this);
    this.emit('open');
  }

  /**
   * Move to `CLOSED` and emit `'close'`, releasing per-connection resources.
   *
   * @private
   */
  emitClose() {
    if (this._socket !== null) {
      const deflate = this._extensions[PerMessageDeflate.extensionName];

      if (deflate) deflate.cleanup();
      this._receiver.removeAllListeners();
      stopFlow(this);
      topics.leaveAll(this);
    }

    this._readyState = CLOSED;
    this.emit('close', this._closeCode, this._closeMessage);
  }

  /**
   * Start (or continue) the closing handshake.
   *
   * While connecting, the handshake is aborted instead. Once our close frame
   * is out and the peer's has arrived, the socket is ended; a timer destroys
   * it if the peer never finishes.
   *
   * @param {Number} [code] Status code to send
   * @param {(String|Buffer)} [data] Reason to send (at most 123 bytes)
   * @public
   */
  close(code, data) {
    const state = this._readyState;

    if (state === CLOSED) return;

    if (state === CONNECTING) {
      failHandshake(this, this._req, HANDSHAKE_CLOSED_EARLY);
      return;
    }

    if (state === CLOSING) {
      if (this._closeFrameSent && peerIsDone(this)) this._socket.end();
      return;
    }

    this._sender.close(code, data, !this._isServer, (err) => {
      // Write failures surface through the socket's `'error'` listener; here
      // we only care whether our close frame made it out.
      if (err) return;

      this._closeFrameSent = true;
      if (peerIsDone(this)) this._socket.end();
    });
    // Only once the Sender took the frame: a bad code or reason throws above
    // and leaves the connection open (ws 8.22).
    this._readyState = CLOSING;

    startCloseTimer(this);
  }

  /**
   * Stop reading from the socket until `resume()` is called.
   *
   * @public
   */
  pause() {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;

    this._paused = true;
    this._socket.pause();
  }

  /**
   * Send a ping frame.
   *
   * @param {*} [data] The payload (at most 125 bytes)
   * @param {Boolean} [mask] Whether to mask the payload
   * @param {Function} [cb] Called once the frame is written
   * @public
   */
  ping(data, mask, cb) {
    sendControl(this, 'ping', data, mask, cb);
  }

  /**
   * Send a pong frame.
   *
   * @param {*} [data] The payload (at most 125 bytes)
   * @param {Boolean} [mask] Whether to mask the payload
   * @param {Function} [cb] Called once the frame is written
   * @public
   */
  pong(data, mask, cb) {
    sendControl(this, 'pong', data, mask, cb);
  }

  /**
   * Undo `pause()`.
   *
   * @public
   */
  resume() {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;

    this._paused = false;

    // If the receiver is applying backpressure, its `'drain'` handler will
    // resume the socket instead.
    if (!this._receiver.writableNeedDrain) this._socket.resume();
  }

  /**
   * Send a data message (or one fragment of it).
   *
   * @param {*} data The payload
   * @param {Object} [options] Send options
   * @param {Boolean} [options.binary] Binary or text; by default text only
   *     for strings
   * @param {Boolean} [options.compress] Whether to compress the payload
   * @param {Boolean} [options.fin=true] Whether this is the last fragment
   * @param {Boolean} [options.mask] Whether to mask the payload
   * @param {Function} [cb] Called once the data is written out
   * @return {Boolean} `false` once the buffered amount has reached the
   *     `sendHighWaterMark` (wait for `'drain'`), or if the socket is not
   *     open; `true` otherwise. ws returns `undefined`
   * @public
   */
  send(data, options, cb) {
    assertNotConnecting(this);

    if (typeof options === 'function') {
      cb = options;
      options = {};
    }

    if (typeof data === 'number') data = String(data);

    if (this._readyState !== OPEN) {
      rejectAfterClose(this, data, cb);
      return false;
    }

    const sendOptions = Object.assign(
      {
        binary: typeof data !== 'string',
        compress: true,
        fin: true,
        mask: !this._isServer
      },
      options
    );

    if (!this._extensions[PerMessageDeflate.extensionName]) {
      sendOptions.compress = false;
    }

    touch(this);
    this._sender.send(
      data || EMPTY_BUFFER,
      sendOptions,
      sendCallback(this, sizeBound(data), cb)
    );
    return afterWrite(this);
  }

  /**
   * Subscribe to a topic of the server that accepted this socket (see
   * `WebSocketServer#publish()`).
   *
   * @param {String} topic The topic
   * @return {Boolean} `true` if newly subscribed, `false` if already
   *     subscribed or not open
   * @throws {Error} On a client socket
   * @public
   */
  subscribe(topic) {
    return topics.subscribe(this, topic);
  }

  /**
   * Unsubscribe from a topic.
   *
   * @param {String} topic The topic
   * @return {Boolean} `true` if it was subscribed
   * @throws {Error} On a client socket
   * @public
   */
  unsubscribe(topic) {
    return topics.unsubscribe(this, topic);
  }

  /**
   * Whether this socket is subscribed to a topic.
   *
   * @param {String} topic The topic
   * @return {Boolean}
   * @throws {Error} On a client socket
   * @public
   */
  isSubscribed(topic) {
    return topics.isSubscribed(this, topic);
  }

  /**
   * The topics this socket is subscribed to (a new array each time).
   *
   * @type {String[]}
   */
  get topics() {
    return topics.topicsOf(this);
  }

  /**
   * Destroy the connection without a closing handshake.
   *
   * @public
   */
  terminate() {
    const state = this._readyState;

    if (state === CLOSED) return;

    if (state === CONNECTING) {
      failHandshake(this, this._req, HANDSHAKE_CLOSED_EARLY);
      return;
    }

    if (this._socket !== null) {
      this._readyState = CLOSING;
      this._socket.destroy();
    }
  }
}

//
// Read-only attributes that only mirror a private field:
//
//   isPaused    {Boolean}  whether reading was paused with `pause()`
//   protocol    {String}   the subprotocol selected by the server, or ''
//   readyState  {Number}   one of the `CONNECTING`..`CLOSED` constants
//   url         {String}   the resolved URL of a client endpoint
//
// Like the accessors of the class body they are configurable; unlike them,
// enumerable from the start.
//
const MIRRORED_ATTRIBUTES = {
  isPaused: '_paused',
  protocol: '_protocol',
  readyState: '_readyState',
  url: '_url'
};

for (const [name, field] of Object.entries(MIRRORED_ATTRIBUTES)) {
  Object.defineProperty(WebSocket.prototype, name, {
    configurable: true,
    enumerable: true,
    get() {
      return this[field];
    }
  });
}

//
// Ready-state constants, readable both from the class and from instances.
//
STATE_NAMES.forEach((name, value) => {
  const descriptor = { enumerable: true, value };

  Object.defineProperty(WebSocket, name, descriptor);
  Object.defineProperty(WebSocket.prototype, name, descriptor);
});

//
// Accessors declared in the class body are not enumerable by default; the
// WHATWG-style attributes should be.
//
for (const name of ['binaryType', 'bufferedAmount', 'extensions']) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

//
// `onopen`, `onmessage`, `onclose` and `onerror`. Each attribute owns at most
// one listener (flagged with `kForOnEventAttribute`); assigning replaces that
// listener only and leaves any other listener alone.
//
for (const type of ['open', 'error', 'close', 'message']) {
  Object.defineProperty(WebSocket.prototype, `on${type}`, {
    configurable: true,
    enumerable: true,
    get() {
      const own = findAttributeListener(this, type);

      return own === undefined ? null : own[kListener];
    },
    set(handler) {
      const own = findAttributeListener(this, type);

      if (own !== undefined) this.removeListener(type, own);
      if (typeof handler !== 'function') return;

      this.addEventListener(type, handler, { [kForOnEventAttribute]: true });
    }
  });
}

WebSocket.prototype.addEventListener = EventTarget.addEventListener;
WebSocket.prototype.removeEventListener = EventTarget.removeEventListener;

module.exports = WebSocket;

/**
 * Find the listener installed through an `on<type>` attribute.
 *
 * @param {WebSocket} ws The endpoint
 * @param {String} type The event name
 * @return {(Function|undefined)} The wrapper listener, if any
 * @private
 */
function findAttributeListener(ws, type) {
  return ws.listeners(type).find((fn) => fn[kForOnEventAttribute]);
}

/**
 * Whether nothing more is expected from the peer: its close frame arrived,
 * or the receiver gave up with an error.
 *
 * @param {WebSocket} ws The endpoint
 * @return {Boolean}
 * @private
 */
function peerIsDone(ws) {
  return ws._closeFrameReceived || ws._receiverFailed;
}

/**
 * An upper bound of the bytes `send()` will frame for `data`, cheap to
 * compute (a string's UTF-8 form is at most three bytes per UTF-16 unit).
 *
 * @param {*} data The payload given to `send()`
 * @return {Number}
 * @private
 */
function sizeBound(data) {
  if (typeof data === 'string') return data.length * 3;
  if (!data) return 0;
  // Buffers, typed arrays and ArrayBuffers first: no Blob check for them.
  if (typeof data.byteLength === 'number') return data.byteLength;
  if (isBlob(data)) return data.size;
  return Infinity;
}

/**
 * Throw the error ws throws for sends attempted during the handshake.
 *
 * @param {WebSocket} ws The endpoint
 * @private
 */
function assertNotConnecting(ws) {
  if (ws._readyState === CONNECTING) {
    throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
  }
}

/**
 * Shared body of `ping()` and `pong()`. The callback may be given in any
 * argument position.
 *
 * @param {WebSocket} ws The endpoint
 * @param {String} kind `'ping'` or `'pong'`
 * @param {*} data The payload
 * @param {Boolean} mask Whether to mask
 * @param {Function} cb Completion callback
 * @private
 */
function sendControl(ws, kind, data, mask, cb) {
  assertNotConnecting(ws);

  if (typeof data === 'function') {
    cb = data;
    data = undefined;
    mask = undefined;
  } else if (typeof mask === 'function') {
    cb = mask;
    mask = undefined;
  }

  if (typeof data === 'number') data = String(data);

  if (ws._readyState !== OPEN) {
    rejectAfterClose(ws, data, cb);
    return;
  }

  if (mask === undefined) mask = !ws._isServer;
  ws._sender[kind](data || EMPTY_BUFFER, mask, cb);
}

/**
 * Account for data handed to `send()`/`ping()`/`pong()` after the connection
 * left `OPEN`, and fail the callback asynchronously.
 *
 * @param {WebSocket} ws The endpoint
 * @param {*} data The rejected payload
 * @param {Function} [cb] Callback to fail
 * @private
 */
function rejectAfterClose(ws, data, cb) {
  if (data) {
    const size = isBlob(data) ? data.size : toBuffer(data).length;

    // Without a socket (a client whose handshake failed) there is no sender
    // to charge, so the instance keeps the count itself.
    if (ws._socket !== null) ws._sender._bufferedBytes += size;
    else ws._bufferedAmount += size;
  }

  if (typeof cb === 'function') {
    const state = ws._readyState;
    const err = new Error(
      `WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`
    );

    process.nextTick(cb, err);
  }
}

/**
 * Arm the timer that destroys the socket if the closing handshake stalls.
 *
 * @param {WebSocket} ws The endpoint
 * @private
 */
function startCloseTimer(ws) {
  const socket = ws._socket;

  ws._closeTimer = setTimeout(() => socket.destroy(), ws._closeTimeout);
}

//
// Receiver listeners. `this` is the Receiver.
//

/**
 * A copy of `buf` in memory of its own, not a view of the socket's chunk
 * (which a closed connection would otherwise keep alive) nor of the Buffer
 * pool (which it would keep alive in the same way).
 *
 * @param {Buffer} buf The bytes
 * @return {Buffer}
 * @private
 */
function ownCopy(buf) {
  if (buf.length === 0) return EMPTY_BUFFER;

  const copy = Buffer.allocUnsafeSlow(buf.length);

  copy.set(buf);
  return copy;
}

/**
 * The peer's close frame has been parsed.
 *
 * @param {Number} code The status code (1005 when absent)
 * @param {Buffer} reason The reason
 * @private
 */
function handleReceiverConclude(code, reason) {
  const ws = this[kWebSocket];

  ws._closeFrameReceived = true;
  ws._closeCode = code;
  ws._closeMessage = ownCopy(reason);

  // The socket is already gone: nothing left to answer.
  if (ws._socket[kWebSocket] === undefined) return;

  // Stop feeding the receiver but keep reading so that the socket can see
  // the peer's FIN.
  ws._socket.removeListener('data', handleSocketData);
  process.nextTick(resumeStream, ws._socket);

  if (code === 1005) ws.close();
  else ws.close(code, reason);
}

/**
 * The receiver has room again after applying backpressure.
 *
 * @private
 */
function handleReceiverDrain() {
  const ws = this[kWebSocket];

  if (!ws._paused) ws._socket.resume();
}

/**
 * The incoming data broke the protocol: close with the matching status code
 * and report the error once.
 *
 * @param {Error} err The receiver error
 * @private
 */
function handleReceiverError(err) {
  const ws = this[kWebSocket];

  ws._receiverFailed = true;

  if (ws._socket[kWebSocket] !== undefined) {
    ws._socket.removeListener('data', handleSocketData);

    // Resume on the next tick so the error event does not race the close.
    process.nextTick(resumeStream, ws._socket);
    ws.close(err[kStatusCode]);
  }

  if (!ws._errorEmitted) {
    ws._errorEmitted = true;
    ws.emit('error', err);
  }
}

/**
 * The receiver has processed everything it will get after the socket
 * closed.
 *
 * @private
 */
function handleReceiverFinish() {
  this[kWebSocket].emitClose();
}

/**
 * A complete message.
 *
 * @param {(Buffer|ArrayBuffer|Buffer[]|Blob)} data The message
 * @param {Boolean} isBinary Whether it is binary
 * @private
 */
function handleReceiverMessage(data, isBinary) {
  this[kWebSocket].emit('message', data, isBinary);
}

/**
 * A ping frame; answered automatically unless `autoPong` is off. A peer
 * that pings without reading the pongs would make them pile up in memory:
 * once `maxPendingAutoPongs` of them are still unwritten, the next ping
 * terminates the connection (as in ws 8.23).
 *
 * @param {Buffer} data The payload
 * @private
 */
function handleReceiverPing(data) {
  const ws = this[kWebSocket];

  if (ws._autoPong) {
    if (ws._readyState !== OPEN) {
      ws.pong(data, !ws._isServer, NOOP);
    } else if (
      ws._maxPendingAutoPongs > 0 &&
      ws._pendingAutoPongs >= ws._maxPendingAutoPongs
    ) {
      ws.terminate();
    } else {
      ws._pendingAutoPongs++;
      ws.pong(data, !ws._isServer, () => {
        ws._pendingAutoPongs--;
      });
    }
  }

  ws.emit('ping', data);
}

/**
 * A pong frame.
 *
 * @param {Buffer} data The payload
 * @private
 */
function handleReceiverPong(data) {
  this[kWebSocket].emit('pong', data);
}

const RECEIVER_HANDLERS = [
  ['conclude', handleReceiverConclude],
  ['drain', handleReceiverDrain],
  ['error', handleReceiverError],
  ['message', handleReceiverMessage],
  ['ping', handleReceiverPing],
  ['pong', handleReceiverPong]
];

/**
 * Resume a readable stream (used with `process.nextTick`).
 *
 * @param {Readable} stream The stream
 * @private
 */
function resumeStream(stream) {
  stream.resume();
}

/**
 * The Sender failed (e.g. compression error). `this` is the Sender.
 *
 * @param {Error} err The error
 * @private
 */
function handleSenderError(err) {
  const ws = this[kWebSocket];

  if (ws._readyState === CLOSED) return;

  if (ws._readyState === OPEN) {
    ws._readyState = CLOSING;
    startCloseTimer(ws);
  }

  // End rather than destroy, so that the peer can still flush what it is
  // sending. In CLOSING a timer is already running, or none is needed.
  ws._socket.end();

  if (!ws._errorEmitted) {
    ws._errorEmitted = true;
    ws.emit('error', err);
  }
}

//
// Socket listeners. `this` is the socket.
//

/**
 * The socket is fully closed.
 *
 * @private
 */
function handleSocketClose() {
  const ws = this[kWebSocket];
  const receiver = ws._receiver;

  this.removeListener('close', handleSocketClose);
  this.removeListener('data', handleSocketData);
  this.removeListener('end', handleSocketEnd);

  ws._readyState = CLOSING;

  // If the socket closed abruptly while paused, bytes may still be sitting
  // in its readable buffer. Hand them to the receiver before ending it, so
  // that every message that fully arrived is still delivered.
  if (
    !this.readableEnded &&
    !ws._closeFrameReceived &&
    !ws._receiverFailed &&
    this.readableLength !== 0
  ) {
    receiver.write(this.read(this.readableLength));
  }

  receiver.end();

  this[kWebSocket] = undefined;

  clearTimeout(ws._closeTimer);
  stopFlow(ws);

  if (receiver.writableFinished || ws._receiverFailed) {
    ws.emitClose();
  } else {
    receiver.on('error', handleReceiverFinish);
    receiver.on('finish', handleReceiverFinish);
  }
}

/**
 * Feed incoming bytes to the receiver, pausing on backpressure.
 *
 * @param {Buffer} chunk The bytes
 * @private
 */
function handleSocketData(chunk) {
  if (!this[kWebSocket]._receiver.write(chunk)) this.pause();
}

/**
 * The peer ended its side of the connection.
 *
 * @private
 */
function handleSocketEnd() {
  const ws = this[kWebSocket];

  ws._readyState = CLOSING;
  ws._receiver.end();
  this.end();
}

/**
 * A socket error. It is not re-emitted on the WebSocket; the socket is
 * destroyed and the `'close'` event follows.
 *
 * @private
 */
function handleSocketError() {
  const ws = this[kWebSocket];

  this.removeListener('error', handleSocketError);
  this.on('error', NOOP);

  if (ws) {
    ws._readyState = CLOSING;
    this.destroy();
  }
}
