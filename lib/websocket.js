'use strict';

//
// The WebSocket endpoint object. Framing, masking, UTF-8 checks and the
// inflate/deflate bookkeeping live in the Receiver/Sender pair (backed by the
// Rust engine); this module owns the connection state machine: the client
// opening handshake over http(s), the closing handshake, and translating
// socket/receiver/sender signals into the public `ws` events.
//

// Node built-ins.
const { EventEmitter } = require('events');
const { createHash, randomBytes } = require('crypto');
const { URL } = require('url');
const { unescape } = require('querystring');

// Transports of the opening handshake: the request goes out over http(s),
// on a socket from net (ws:, ws+unix:) or tls (wss:).
const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');

// The protocol engine: the stand-ins used on a connection of the Rust engine,
// and the JavaScript Receiver/Sender pair they replace there.
const {
  NativeReceiver,
  NativeSender,
  NativeSocket
} = require('./native/engine');
const Receiver = require('./receiver');
const Sender = require('./sender');

// Extension negotiation.
const PerMessageDeflate = require('./permessage-deflate');
const {
  format: formatExtensions,
  parse: parseExtensions
} = require('./extension');

// Our own additions to ws: send flow control, proxies and pub/sub topics.
const {
  afterWrite,
  initFlow,
  sendCallback,
  startFlow,
  stopFlow,
  touch,
  validateFlowOptions
} = require('./flow/flow');
const { proxyConnection } = require('./proxy/proxy');
const topics = require('./broadcast/topics');

// Helpers shared with the other modules.
const { EventTarget } = require('./event-target');
const Listeners = require('./listeners');
const { isBlob } = require('./validation');
const { toBuffer } = require('./buffer-util');
const constants = require('./constants');

const { BINARY_TYPES, CLOSE_TIMEOUT, EMPTY_BUFFER, GUID, NOOP } = constants;
const { CONNECTING, OPEN, CLOSING, CLOSED } = require('./ready-states');
const { kForOnEventAttribute, kListener, kStatusCode, kWebSocket } = constants;

// The extensions of a server-side endpoint that negotiated none.
const NO_EXTENSIONS = Object.freeze({});

// Names of the ready states, indexed by their numeric value.
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];

// `Sec-WebSocket-Version` values this client is able to speak.
const SUPPORTED_VERSIONS = [8, 13];

// An RFC 7230 `token`: what a subprotocol name must look like.
const TOKEN_RE = /^[\w!#$%&'*+.^`|~-]+$/;

// Marks a ClientRequest that we tore down on purpose, so that the `'error'`
// it may emit afterwards is not reported a second time.
const kHandshakeAborted = Symbol('wsrs-handshake-aborted');

// Client option defaults. User options are layered on top of these.
const CLIENT_DEFAULTS = {
  allowSynchronousEvents: true,
  autoPong: true,
  closeTimeout: CLOSE_TIMEOUT,
  followRedirects: false,
  maxBufferedChunks: 262144,
  maxFragments: 16384,
  maxPayload: 104857600,
  maxPendingAutoPongs: 60,
  maxRedirects: 10,
  perMessageDeflate: true,
  protocolVersion: 13,
  skipUTF8Validation: false
};

// Request options the handshake computes itself. Whatever the user passed for
// these keys is discarded before the real values are filled in.
const CLIENT_OVERRIDES = {
  host: undefined,
  hostname: undefined,
  method: 'GET',
  path: undefined,
  port: undefined,
  protocol: undefined,
  socketPath: undefined,
  timeout: undefined
};

// The headers that end every handshake request, after the per-request ones.
const UPGRADE_HEADERS = Object.freeze({
  Connection: 'Upgrade',
  Upgrade: 'websocket'
});

// What a JavaScript Receiver takes over from the options of setSocket().
const RECEIVER_SETTINGS = [
  'allowSynchronousEvents',
  'maxBufferedChunks',
  'maxFragments',
  'maxPayload',
  'skipUTF8Validation'
];

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

    if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)) {
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

    return this._socket._writableState.length + this._sender._bufferedBytes;
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
    // A connection of the native engine: Rust parses and frames, and the
    // stand-ins of lib/native/engine.js take the Receiver's and Sender's
    // places.
    const isNative = socket instanceof NativeSocket;
    const receiver = isNative
      ? new NativeReceiver(this._binaryType)
      : new Receiver(receiverSettings(this, options));
    const sender = isNative
      ? new NativeSender(socket, this._extensions)
      : new Sender(socket, this._extensions, options.generateMask);

    this._socket = socket;
    this._receiver = receiver;
    this._sender = sender;

    // Their event handlers find their way back here through `kWebSocket`.
    for (const part of [socket, receiver, sender]) part[kWebSocket] = this;

    for (const [event, handler] of RECEIVER_HANDLERS) {
      receiver.on(event, handler);
    }

    sender.onerror = handleSenderError;

    // A plain Duplex (e.g. in tests or custom transports) may lack these.
    if (typeof socket.setTimeout === 'function') socket.setTimeout(0);
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay();

    if (head.length > 0) socket.unshift(head);

    socket.on('close', handleSocketClose);
    socket.on('data', handleSocketData);
    socket.on('end', handleSocketEnd);
    socket.on('error', handleSocketError);

    if (isNative) socket._start(this, receiver);

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
    if (!this._receiver._writableState.needDrain) this._socket.resume();
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
 * Take over the per-connection settings of the (server or merged client)
 * options: the keepalive replies and the closing timeout, then the send flow
 * control.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Object} options The options
 * @private
 */
function adoptOptions(ws, options) {
  ws._autoPong = options.autoPong;
  ws._closeTimeout = options.closeTimeout;
  ws._maxPendingAutoPongs = options.maxPendingAutoPongs | 0;
  initFlow(ws, options);
}

/**
 * The constructor options of a JavaScript Receiver for `ws`.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Object} options The options given to `setSocket()`
 * @return {Object}
 * @private
 */
function receiverSettings(ws, options) {
  const settings = {
    binaryType: ws._binaryType,
    extensions: ws._extensions,
    isServer: ws._isServer
  };

  for (const key of RECEIVER_SETTINGS) settings[key] = options[key];
  return settings;
}

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
  return ws._closeFrameReceived || ws._receiver._writableState.errorEmitted;
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
  if (isBlob(data)) return data.size;
  if (typeof data.byteLength === 'number') return data.byteLength;
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

/**
 * Report a fatal client error: `'error'` followed by `'close'`.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Error} err The error
 * @private
 */
function failWith(ws, err) {
  ws._readyState = CLOSING;
  ws._errorEmitted = true;
  ws.emit('error', err);
  ws.emitClose();
}

/**
 * Give up on the opening handshake.
 *
 * @param {WebSocket} ws The endpoint
 * @param {(http.ClientRequest|net.Socket)} target The pending request, or
 *     the already upgraded socket
 * @param {String} message Text of the error to emit
 * @private
 */
function failHandshake(ws, target, message) {
  ws._readyState = CLOSING;

  const err = new Error(message);

  Error.captureStackTrace(err, failHandshake);

  if (typeof target.setHeader === 'function') {
    // Still an HTTP request.
    target[kHandshakeAborted] = true;
    target.abort();

    // After the response has been received `abort()` leaves the socket
    // alone, so make sure it goes away.
    if (target.socket && !target.socket.destroyed) target.socket.destroy();

    process.nextTick(failWith, ws, err);
    return;
  }

  // An upgraded socket: destroy it with the error and report once it closes.
  target.destroy(err);
  target.once('error', (error) => ws.emit('error', error));
  target.once('close', () => ws.emitClose());
}

/**
 * Connect a TCP (or IPC) socket for the handshake request.
 *
 * @param {Object} options Request options
 * @return {net.Socket}
 * @private
 */
function connectPlain(options) {
  options.path = options.socketPath;
  return net.connect(options);
}

/**
 * Connect a TLS socket for the handshake request, sending SNI for host names.
 *
 * @param {Object} options Request options
 * @return {tls.TLSSocket}
 * @private
 */
function connectSecure(options) {
  options.path = undefined;

  if (!options.servername && options.servername !== '') {
    options.servername = net.isIP(options.host) ? '' : options.host;
  }

  return tls.connect(options);
}

/**
 * Check a client URL and return the reason it cannot be used, if any.
 *
 * @param {URL} url The (scheme-normalised) URL
 * @return {(String|undefined)} The error message
 * @private
 */
function describeBadUrl(url) {
  const scheme = url.protocol;

  if (scheme !== 'ws:' && scheme !== 'wss:' && scheme !== 'ws+unix:') {
    return (
      'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", ' +
      'or "ws+unix:"'
    );
  }

  if (scheme === 'ws+unix:' && !url.pathname) {
    return "The URL's pathname is empty";
  }

  if (url.hash) return 'The URL contains a fragment identifier';

  return undefined;
}

/**
 * Decide whether a redirect target is still "the same place" as the URL the
 * user originally asked for.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Boolean} ipc Whether the new target is a `ws+unix:` URL
 * @param {String} where Socket path (IPC) or `host[:port]` of the new target
 * @return {Boolean}
 * @private
 */
function isOriginalHost(ws, ipc, where) {
  if (ipc !== ws._originalIpc) return false;
  return where === ws._originalHostOrSocketPath;
}

/**
 * The subprotocols to offer, as a list.
 *
 * @param {(String|String[]|undefined)} protocols One, several or none
 * @return {String[]}
 * @private
 */
function listOf(protocols) {
  if (protocols === undefined) return [];
  return Array.isArray(protocols) ? protocols : [protocols];
}

/**
 * Build and send the opening handshake request of a client, following
 * redirects by calling itself again.
 *
 * @param {WebSocket} ws The client
 * @param {(String|URL)} address The URL to connect to
 * @param {String[]} protocols The subprotocols to offer
 * @param {Object} [options] User options (see the README for the list);
 *     everything not listed there is passed to `http(s).request()`
 * @private
 */
function openClient(ws, address, protocols, options) {
  const opts = Object.assign({}, CLIENT_DEFAULTS, options, CLIENT_OVERRIDES);

  validateFlowOptions(opts);
  adoptOptions(ws, opts);

  if (!SUPPORTED_VERSIONS.includes(opts.protocolVersion)) {
    throw new RangeError(
      `Unsupported protocol version: ${opts.protocolVersion} ` +
        `(supported versions: ${SUPPORTED_VERSIONS.join(', ')})`
    );
  }

  let url;

  try {
    // Work on a copy so that a caller's URL object is never rewritten.
    url = new URL(address instanceof URL ? address.href : address);
  } catch {
    throw new SyntaxError(`Invalid URL: ${address}`);
  }

  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';

  ws._url = url.href;

  const problem = describeBadUrl(url);

  if (problem !== undefined) {
    const err = new SyntaxError(problem);

    // The first URL comes from the caller, so throw; a bad redirect target
    // comes from the server and is reported as an event.
    if (ws._redirects === 0) throw err;

    failWith(ws, err);
    return;
  }

  const secure = url.protocol === 'wss:';
  const ipc = url.protocol === 'ws+unix:';
  const defaultPort = secure ? 443 : 80;
  const key = randomBytes(16).toString('base64');
  const offered = new Set();
  let deflate;

  // An explicit agent or createConnection wins over the proxy, as in
  // http.request(); so does a ws+unix: URL.
  const tunnel =
    opts.proxy && !ipc && !opts.agent && !opts.createConnection
      ? proxyConnection(opts.proxy, url, secure, connectSecure)
      : null;

  opts.createConnection =
    tunnel || opts.createConnection || (secure ? connectSecure : connectPlain);
  opts.defaultPort = opts.defaultPort || defaultPort;
  opts.port = url.port || defaultPort;
  opts.host =
    url.hostname[0] === '[' ? url.hostname.slice(1, -1) : url.hostname;
  opts.path = url.pathname + url.search;
  opts.timeout = opts.handshakeTimeout;

  // The user's headers first; ours replace any of the same name.
  const perRequest = {
    'Sec-WebSocket-Version': opts.protocolVersion,
    'Sec-WebSocket-Key': key
  };

  opts.headers = Object.assign({}, opts.headers, perRequest, UPGRADE_HEADERS);

  if (opts.perMessageDeflate) {
    deflate = new PerMessageDeflate(
      Object.assign({}, opts.perMessageDeflate, {
        isServer: false,
        maxPayload: opts.maxPayload
      })
    );
    opts.headers['Sec-WebSocket-Extensions'] = formatExtensions({
      [PerMessageDeflate.extensionName]: deflate.offer()
    });
  }

  for (const name of protocols) {
    if (typeof name !== 'string' || !TOKEN_RE.test(name) || offered.has(name)) {
      throw new SyntaxError(
        'An invalid or duplicated subprotocol was specified'
      );
    }

    offered.add(name);
  }

  if (offered.size > 0) {
    opts.headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  }

  if (opts.origin) {
    // Version 8 (hybi-08) used its own header name for the origin.
    const header =
      opts.protocolVersion < 13 ? 'Sec-WebSocket-Origin' : 'Origin';

    opts.headers[header] = opts.origin;
  }

  if (url.username || url.password) {
    // The URL keeps them percent-encoded; Basic auth wants them as typed
    // (ws 8.22). A malformed escape is kept as it is.
    opts.auth = `${unescape(url.username)}:${unescape(url.password)}`;
  }

  if (ipc) {
    // `ws+unix:/path/to.sock:/request/path?query`
    const colon = opts.path.indexOf(':');

    if (colon === -1) {
      opts.socketPath = opts.path;
      opts.path = undefined;
    } else {
      opts.socketPath = opts.path.slice(0, colon);
      opts.path = opts.path.slice(colon + 1);
    }
  }

  const request = secure ? https.request : http.request;
  let req;

  if (opts.followRedirects) {
    if (ws._redirects === 0) {
      // Remember where we started, for the header hygiene below.
      ws._originalIpc = ipc;
      ws._originalSecure = secure;
      ws._originalHostOrSocketPath = ipc ? opts.socketPath : url.host;

      // Keep a private copy of the options with lower-cased header names so
      // that later hops can drop headers without touching the caller's
      // object.
      const headers = {};
      const given = options && options.headers;

      if (given) {
        for (const name of Object.keys(given)) {
          headers[name.toLowerCase()] = given[name];
        }
      }

      options = Object.assign({}, options, { headers });
    } else if (ws.listenerCount('redirect') === 0) {
      // Like curl (7.77.0): credentials do not follow a redirect to another
      // host, nor a downgrade from wss to ws.
      const sameHost = isOriginalHost(
        ws,
        ipc,
        ipc ? opts.socketPath : url.host
      );

      if (!sameHost || (ws._originalSecure && !secure)) {
        delete opts.headers.authorization;
        delete opts.headers.cookie;
        if (!sameHost) delete opts.headers.host;
        opts.auth = undefined;
      }
    }

    // Also like curl: credentials from the first URL's userinfo win, and are
    // carried as a header on the following hops.
    if (opts.auth && !options.headers.authorization) {
      options.headers.authorization =
        'Basic ' + Buffer.from(opts.auth).toString('base64');
    }

    try {
      req = ws._req = request(opts);
    } catch (err) {
      // On a redirect this runs in a `'response'` listener, where a throw
      // could not be caught: report it as the connection's failure.
      if (ws._redirects === 0) throw err;

      failWith(ws, err);
      return;
    }

    if (ws._redirects > 0) {
      // No early exit here even if a listener closes the client: the
      // listener may also destroy `req` with an error, which must still find
      // our `'error'` handler attached.
      ws.emit('redirect', ws.url, req);
    }
  } else {
    req = ws._req = request(opts);
  }

  // A request aborted while the proxy is still opening the tunnel.
  if (tunnel !== null) {
    req.on('abort', tunnel.cancel);
    req.on('close', tunnel.cancel);
  }

  if (opts.timeout) {
    req.on('timeout', () => {
      failHandshake(ws, req, 'Opening handshake has timed out');
    });
  }

  req.on('error', (err) => {
    if (req === null || req[kHandshakeAborted]) return;

    req = ws._req = null;
    failWith(ws, err);
  });

  req.on('response', (res) => {
    const location = res.headers.location;
    const status = res.statusCode;

    const redirecting =
      location && opts.followRedirects && status >= 300 && status < 400;

    if (!redirecting) {
      if (!ws.emit('unexpected-response', req, res)) {
        failHandshake(ws, req, `Unexpected server response: ${status}`);
      }
      return;
    }

    ws._redirects++;

    if (ws._redirects > opts.maxRedirects) {
      failHandshake(ws, req, 'Maximum redirects exceeded');
      return;
    }

    req.abort();

    let next;

    try {
      next = new URL(location, address);
    } catch {
      failWith(ws, new SyntaxError(`Invalid URL: ${location}`));
      return;
    }

    openClient(ws, next, protocols, options);
  });

  req.on('upgrade', (res, socket, head) => {
    ws.emit('upgrade', res);

    // A listener of `'upgrade'` may have closed or terminated the client.
    if (ws._readyState !== CONNECTING) return;

    req = ws._req = null;

    const problem = checkUpgradeResponse(ws, res, key, offered, deflate);

    if (problem !== undefined) {
      failHandshake(ws, socket, problem);
      return;
    }

    // The merged options carry every setting setSocket() looks for.
    ws.setSocket(socket, head, opts);
  });

  if (typeof opts.finishRequest === 'function') opts.finishRequest(req, ws);
  else req.end();
}

/**
 * Validate the server's 101 response. On success the negotiated subprotocol
 * and extensions are recorded on `ws`.
 *
 * @param {WebSocket} ws The client
 * @param {http.IncomingMessage} res The response
 * @param {String} key The `Sec-WebSocket-Key` that was sent
 * @param {Set<String>} offered The subprotocols that were offered
 * @param {(PerMessageDeflate|undefined)} deflate The offered extension
 * @return {(String|undefined)} The reason the handshake fails, if it does
 * @private
 */
function checkUpgradeResponse(ws, res, key, offered, deflate) {
  const headers = res.headers;
  const upgrade = headers.upgrade;

  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    return 'Invalid Upgrade header';
  }

  const expectedAccept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');

  if (headers['sec-websocket-accept'] !== expectedAccept) {
    return 'Invalid Sec-WebSocket-Accept header';
  }

  const chosen = headers['sec-websocket-protocol'];

  if (chosen === undefined) {
    if (offered.size > 0) return 'Server sent no subprotocol';
  } else if (offered.size === 0) {
    return 'Server sent a subprotocol but none was requested';
  } else if (!offered.has(chosen)) {
    return 'Server sent an invalid subprotocol';
  }

  if (chosen) ws._protocol = chosen;

  const extensionHeader = headers['sec-websocket-extensions'];

  if (extensionHeader === undefined) return undefined;

  if (deflate === undefined) {
    return (
      'Server sent a Sec-WebSocket-Extensions header but no extension was ' +
      'requested'
    );
  }

  let accepted;

  try {
    accepted = parseExtensions(extensionHeader);
  } catch {
    return 'Invalid Sec-WebSocket-Extensions header';
  }

  const names = Object.keys(accepted);

  if (names.length !== 1 || names[0] !== PerMessageDeflate.extensionName) {
    return 'Server indicated an extension that was not requested';
  }

  try {
    deflate.accept(accepted[PerMessageDeflate.extensionName]);
  } catch {
    return 'Invalid Sec-WebSocket-Extensions header';
  }

  ws._extensions[PerMessageDeflate.extensionName] = deflate;
  return undefined;
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
  const state = this._readableState;

  if (
    !state.endEmitted &&
    !ws._closeFrameReceived &&
    !receiver._writableState.errorEmitted &&
    state.length !== 0
  ) {
    receiver.write(this.read(state.length));
  }

  receiver.end();

  this[kWebSocket] = undefined;

  clearTimeout(ws._closeTimer);
  stopFlow(ws);

  const rs = receiver._writableState;

  if (rs.finished || rs.errorEmitted) {
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
