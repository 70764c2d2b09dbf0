'use strict';

const EventEmitter = require('events');
const http = require('http');

const {
  PreparedMessage,
  deliver,
  exclusion
} = require('./broadcast/broadcast');
const { CLOSE_TIMEOUT, kWebSocket } = require('./constants');
const extension = require('./extension');
const { validateFlowOptions } = require('./flow/flow');
const { NativeHub } = require('./native/hub');
const { transportOf } = require('./transport/transport');
const PerMessageDeflate = require('./permessage-deflate');
const subprotocol = require('./subprotocol');
const { attachToServer, membersOf, serverOf } = require('./broadcast/topics');
const WebSocket = require('./websocket');

// Lifecycle of a server, stored in `_state` (the numbers are observable).
const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

// 16 random bytes, base64-encoded: 22 significant characters plus padding.
const CLIENT_KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

// Compared as the header's text: `13.0` or `0xd` is not 13 (ws 8.22).
const SUPPORTED_VERSIONS = new Set(['8', '13']);

// The server options that each connection's receiver is built with.
const RECEIVER_OPTIONS = [
  'allowSynchronousEvents',
  'maxBufferedChunks',
  'maxFragments',
  'maxPayload',
  'skipUTF8Validation'
];

const MODE_ERROR =
  'One and only one of the "port", "server", or "noServer" options must be ' +
  'specified';

/**
 * A WebSocket server. It either owns an HTTP server (`port`), borrows one
 * (`server`), or leaves the routing of upgrade requests to the caller
 * (`noServer`, see `handleUpgrade()`).
 *
 * @extends EventEmitter
 */
class WebSocketServer extends EventEmitter {
  /**
   * Create a `WebSocketServer` instance.
   *
   * @param {Object} options Configuration options
   * @param {Boolean} [options.allowSynchronousEvents=true] Whether more than
   *     one `'message'`, `'ping'` or `'pong'` event may be emitted in the same
   *     tick
   * @param {Boolean} [options.autoPong=true] Whether to answer pings with a
   *     pong automatically
   * @param {Backplane} [options.backplane] wsrs: carries `publish()` and
   *     `broadcast()` to the other servers that share it (see
   *     `wsrs/redis` and `wsrs/cluster`)
   * @param {Number} [options.backlog=511] Length of the queue of pending
   *     connections of the internal HTTP server
   * @param {Boolean} [options.clientTracking=true] Whether to keep the
   *     connected clients in `server.clients`
   * @param {Number} [options.closeTimeout=30000] Milliseconds to wait for the
   *     closing handshake after `websocket.close()` before the socket is
   *     destroyed
   * @param {Function} [options.handleProtocols] Picks the subprotocol out of
   *     the ones offered by the client
   * @param {Object} [options.heartbeat] wsrs: `{ interval, timeout }` in
   *     ms; ping each client every `interval` and terminate one that sends
   *     nothing (no pong, no data) within `timeout` of a ping
   * @param {String} [options.host] Hostname for the internal HTTP server
   * @param {Number} [options.idleTimeout] wsrs: close a connection with
   *     1001 after this many ms without a message either way
   * @param {Number} [options.maxBufferedChunks=262144] Maximum number of
   *     unparsed chunks a receiver may hold
   * @param {Number} [options.maxFragments=16384] Maximum number of fragments
   *     in a single message
   * @param {Number} [options.maxPayload=104857600] Maximum message size in
   *     bytes
   * @param {Number} [options.maxPendingAutoPongs=60] How many automatic
   *     pongs may wait unwritten; the next ping terminates the connection
   *     (0 disables the limit)
   * @param {Boolean} [options.noServer=false] Do not attach to any HTTP server
   * @param {String} [options.path] Only upgrade requests for this pathname
   * @param {(Boolean|Object)} [options.perMessageDeflate=false] Enables and
   *     configures permessage-deflate
   * @param {Number} [options.port] Port of the internal HTTP server
   * @param {Number} [options.sendHighWaterMark=16384] wsrs: the buffered
   *     amount in bytes at which `websocket.send()` starts returning `false`
   * @param {(http.Server|https.Server)} [options.server] An existing HTTP/S
   *     server to attach to
   * @param {Boolean} [options.skipUTF8Validation=false] Whether to skip UTF-8
   *     validation of text messages and close reasons
   * @param {Function} [options.verifyClient] Hook that can refuse a client
   * @param {Function} [options.WebSocket=WebSocket] The class used for the
   *     server-side sockets; `WebSocket` or a subclass of it
   * @param {Function} [callback] Added as a `'listening'` listener
   */
  constructor(options, callback) {
    super();

    const settings = Object.assign(
      {
        // Where the upgrade requests come from: exactly one of `port`,
        // `server` and `noServer` is given.
        port: null,
        host: null,
        server: null,
        backlog: null,
        noServer: false,
        path: null,
        // The handshake.
        verifyClient: null,
        handleProtocols: null,
        perMessageDeflate: false,
        // Reading messages.
        maxPayload: 104857600,
        skipUTF8Validation: false,
        allowSynchronousEvents: true,
        maxFragments: 16384,
        maxBufferedChunks: 262144,
        // Keeping connections alive, and closing them.
        autoPong: true,
        maxPendingAutoPongs: 60,
        closeTimeout: CLOSE_TIMEOUT,
        // Bookkeeping.
        clientTracking: true,
        WebSocket
      },
      options
    );

    const modes =
      (settings.port != null ? 1 : 0) +
      (settings.server ? 1 : 0) +
      (settings.noServer ? 1 : 0);

    if (modes !== 1) throw new TypeError(MODE_ERROR);

    validateFlowOptions(settings);
    validateEngineOptions(settings);

    // Bad zlib options throw here, before anything listens, not at the
    // first handshake.
    if (settings.perMessageDeflate) {
      new PerMessageDeflate({ ...settings.perMessageDeflate, isServer: true });
    }
    this.backplane = attachBackplane(this, settings.backplane);

    this._native = null;

    if (settings.engine === 'native') {
      // Rust owns the port (see lib/native/hub.js); no HTTP server.
      try {
        this._native = new NativeHub(this, settings);
        process.nextTick(() => this.emit('listening'));
      } catch (err) {
        process.nextTick(() => this.emit('error', err));
      }
      if (callback) this.once('listening', callback);
    } else if (settings.port != null) {
      this._server = http.createServer(answerUpgradeRequired);
      this._server.listen(
        settings.port,
        settings.host,
        settings.backlog,
        callback
      );
    } else if (settings.server) {
      this._server = settings.server;
    }

    if (this._server) {
      const onConnection = (ws, req) => this.emit('connection', ws, req);

      this._detachFromServer = attachListeners(this._server, {
        listening: () => this.emit('listening'),
        error: (err) => this.emit('error', err),
        upgrade: (req, socket, head) => {
          this.handleUpgrade(req, socket, head, onConnection);
        }
      });
    }

    if (settings.perMessageDeflate === true) settings.perMessageDeflate = {};

    if (settings.clientTracking) {
      this.clients = new Set();
      this._closeWhenEmpty = false;
    }

    this.options = settings;
    this._state = RUNNING;
  }

  /**
   * Returns the address the underlying HTTP server is bound to, as reported
   * by `server.address()`.
   *
   * @return {(Object|String|null)} The bound address, or `null` if there is
   *     no HTTP server (any more)
   * @throws {Error} In "noServer" mode
   * @public
   */
  address() {
    if (this.options.noServer) {
      throw new Error('The server is operating in "noServer" mode');
    }

    if (this.options.engine === 'native') {
      return this._native === null ? null : this._native.address();
    }

    return this._server ? this._server.address() : null;
  }

  /**
   * Stops accepting new connections. Connections that are already open are
   * left alone. `'close'` is emitted once the internal HTTP server has closed
   * or, without one, once every tracked client has gone.
   *
   * @param {Function} [cb] Called once on `'close'`; with an error if the
   *     server was already closed
   * @public
   */
  close(cb) {
    if (this._state === CLOSED) {
      if (cb) {
        this.once('close', () => cb(new Error('The server is not running')));
      }

      process.nextTick(markClosed, this);
      return;
    }

    if (cb) this.once('close', cb);

    if (this._state === CLOSING) return;
    this._state = CLOSING;

    if (this.backplane !== null) this.backplane.close();

    const server = this._server;

    if (server) {
      this._detachFromServer();
      this._detachFromServer = null;
      this._server = null;
    }

    if (this.options.engine === 'native') {
      // `'close'` follows once the engine has no connection left.
      if (this._native === null) process.nextTick(markClosed, this);
      else this._native.close();
      return;
    }

    if (this.options.port != null) {
      // The HTTP server is ours; `'close'` follows its own.
      server.close(() => markClosed(this));
      return;
    }

    if (this.clients && this.clients.size > 0) {
      this._closeWhenEmpty = true;
    } else {
      process.nextTick(markClosed, this);
    }
  }

  /**
   * wsrs: sends one message to every open client (`clients` must be
   * tracked). The frame is built once and the same bytes are written to
   * each socket, behind whatever that socket has queued. With
   * permessage-deflate, the message is compressed once for all the clients
   * that negotiated `server_no_context_takeover` (once per distinct window
   * size and level); a client whose server side keeps its compression
   * context gets it compressed by its own compressor, as `send()` would.
   *
   * @param {*} data The message (not a Blob)
   * @param {Object} [options] Options object
   * @param {Boolean} [options.binary] Binary or text; by default text only
   *     for strings
   * @param {Boolean} [options.compress=true] Compress where negotiated
   * @param {(WebSocket|Iterable<WebSocket>|Function)} [options.except] A
   *     client, clients, or a predicate `(ws) => Boolean`, to leave out
   *     (on this server)
   * @param {Boolean} [options.local=false] With a backplane: this server's
   *     clients only
   * @return {Number} How many clients of this server the message was
   *     handed to
   * @throws {Error} Without client tracking
   * @public
   */
  broadcast(data, options) {
    if (!this.clients) {
      throw new Error(
        'broadcast() needs the clients to be tracked (clientTracking: true)'
      );
    }

    const message = new PreparedMessage(data, options);

    share(this, null, message, options);
    return sendToAll(this.clients, message, options);
  }

  /**
   * wsrs: sends one message to every open client subscribed to `topic`
   * (see `websocket.subscribe()`), framed once as in `broadcast()`.
   *
   * @param {String} topic The topic
   * @param {*} data The message (not a Blob)
   * @param {Object} [options] The options of `broadcast()`
   * @return {Number} How many subscribers the message was handed to
   * @public
   */
  publish(topic, data, options) {
    const members = membersOf(this, topic);
    const message = new PreparedMessage(data, options);

    share(this, topic, message, options);
    return members === undefined ? 0 : sendToAll(members, message, options);
  }

  /**
   * wsrs: the number of sockets subscribed to a topic.
   *
   * @param {String} topic The topic
   * @return {Number}
   * @public
   */
  subscribers(topic) {
    const members = membersOf(this, topic);

    return members === undefined ? 0 : members.size;
  }

  /**
   * Tells whether a request is meant for this server. The default checks the
   * `path` option against the pathname of the request (the query string does
   * not count). Subclasses may override it.
   *
   * @param {http.IncomingMessage} req The request
   * @return {Boolean} `true` to handle the request
   * @public
   */
  shouldHandle(req) {
    const wanted = this.options.path;

    if (!wanted) return true;

    const query = req.url.indexOf('?');
    const pathname = query === -1 ? req.url : req.url.slice(0, query);

    return pathname === wanted;
  }

  /**
   * Validates an HTTP Upgrade request and, if everything is in order, turns
   * the socket into a WebSocket.
   *
   * @param {http.IncomingMessage} req The upgrade request
   * @param {Duplex} socket The socket the request came on
   * @param {Buffer} head Bytes that followed the request headers
   * @param {Function} cb Called with `(ws, req)` once the upgrade is complete
   * @public
   */
  handleUpgrade(req, socket, head, cb) {
    socket.on('error', destroySocket);

    const headers = req.headers;
    const key = headers['sec-websocket-key'];
    const upgrade = headers.upgrade;
    const version = headers['sec-websocket-version'];

    if (req.method !== 'GET') {
      refuse(this, req, socket, 405, 'Invalid HTTP method');
      return;
    }

    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      refuse(this, req, socket, 400, 'Invalid Upgrade header');
      return;
    }

    if (key === undefined || !CLIENT_KEY_PATTERN.test(key)) {
      refuse(
        this,
        req,
        socket,
        400,
        'Missing or invalid Sec-WebSocket-Key header'
      );
      return;
    }

    if (!SUPPORTED_VERSIONS.has(version)) {
      refuse(
        this,
        req,
        socket,
        400,
        'Missing or invalid Sec-WebSocket-Version header',
        { 'Sec-WebSocket-Version': '13, 8' }
      );
      return;
    }

    if (!this.shouldHandle(req)) {
      writeRejection(socket, 400);
      return;
    }

    let protocols = new Set();
    const protocolHeader = headers['sec-websocket-protocol'];

    if (protocolHeader !== undefined) {
      try {
        protocols = subprotocol.parse(protocolHeader);
      } catch {
        refuse(this, req, socket, 400, 'Invalid Sec-WebSocket-Protocol header');
        return;
      }
    }

    const extensions = {};
    const extensionHeader = headers['sec-websocket-extensions'];

    if (this.options.perMessageDeflate && extensionHeader !== undefined) {
      const name = PerMessageDeflate.extensionName;
      const deflate = new PerMessageDeflate({
        ...this.options.perMessageDeflate,
        isServer: true,
        maxPayload: this.options.maxPayload
      });

      try {
        const offers = extension.parse(extensionHeader);

        if (offers[name]) {
          deflate.accept(offers[name]);
          extensions[name] = deflate;
        }
      } catch {
        refuse(
          this,
          req,
          socket,
          400,
          'Invalid or unacceptable Sec-WebSocket-Extensions header'
        );
        return;
      }
    }

    const proceed = () => {
      this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
    };

    const verifyClient = this.options.verifyClient;

    if (!verifyClient) {
      proceed();
      return;
    }

    const info = {
      origin: headers[version === '8' ? 'sec-websocket-origin' : 'origin'],
      secure: Boolean(req.socket.authorized || req.socket.encrypted),
      req
    };

    if (verifyClient.length === 2) {
      verifyClient(info, (verified, code, message, extraHeaders) => {
        if (verified) {
          proceed();
        } else {
          writeRejection(socket, code || 401, message, extraHeaders);
        }
      });
      return;
    }

    if (verifyClient(info)) {
      proceed();
    } else {
      writeRejection(socket, 401);
    }
  }

  /**
   * Writes the 101 response and hands the socket over to a new WebSocket.
   *
   * @param {Object} extensions The negotiated extensions, by name
   * @param {String} key The value of the `Sec-WebSocket-Key` header
   * @param {Set} protocols The subprotocols offered by the client
   * @param {http.IncomingMessage} req The upgrade request
   * @param {Duplex} socket The socket the request came on
   * @param {Buffer} head Bytes that followed the request headers
   * @param {Function} cb Called with `(ws, req)` once the upgrade is complete
   * @throws {Error} If the socket has already been upgraded
   * @private
   */
  completeUpgrade(extensions, key, protocols, req, socket, head, cb) {
    // The peer may have gone (or half-closed) while `verifyClient` ran.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }

    if (socket[kWebSocket]) {
      throw new Error(
        'server.handleUpgrade() was called more than once with the same ' +
          'socket, possibly due to a misconfiguration'
      );
    }

    if (this._state !== RUNNING) {
      writeRejection(socket, 503);
      return;
    }

    const accept = transportOf(socket).acceptKey(socket, key);

    const response = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${accept}`
    ];

    const ws = new this.options.WebSocket(null, undefined, this.options);

    attachToServer(ws, this);

    if (protocols.size > 0) {
      const chosen = this.options.handleProtocols
        ? this.options.handleProtocols(protocols, req)
        : protocols.values().next().value;

      if (chosen) {
        response.push(`Sec-WebSocket-Protocol: ${chosen}`);
        ws._protocol = chosen;
      }
    }

    const deflate = extensions[PerMessageDeflate.extensionName];

    if (deflate) {
      const value = extension.format({
        [PerMessageDeflate.extensionName]: [deflate.params]
      });

      response.push(`Sec-WebSocket-Extensions: ${value}`);
      ws._extensions = extensions;
    }

    // Listeners may inspect or change the response lines.
    this.emit('headers', response, req);

    socket.write(response.join('\r\n') + '\r\n\r\n');

    socket.removeListener('error', destroySocket);

    ws.setSocket(socket, head, pick(this.options, RECEIVER_OPTIONS));

    if (this.clients) {
      this.clients.add(ws);
      ws.on('close', forgetClient);
    }

    cb(ws, req);
  }
}

/**
 * Called by the native engine once its listener is closed and every
 * connection has gone.
 *
 * @private
 */
WebSocketServer.prototype._nativeClosed = function _nativeClosed() {
  this._native = null;
  markClosed(this);
};

module.exports = WebSocketServer;

/**
 * Checks the options of the native engine.
 *
 * @param {Object} settings The server's settings
 * @throws {TypeError} On a bad value
 * @private
 */
function validateEngineOptions(settings) {
  const engine = settings.engine;

  if (engine === undefined || engine === 'default') {
    settings.engine = 'default';
    return;
  }

  if (engine !== 'native') {
    throw new TypeError(
      `The "engine" option must be 'default' or 'native', got ${String(engine)}`
    );
  }

  if (settings.port == null) {
    throw new TypeError(
      'engine: \'native\' needs the "port" option (Rust owns the listening socket)'
    );
  }

  const numbers = {
    handshakeTimeout: [10000, 1],
    maxBufferedAmount: [64 * 1024 * 1024, 0],
    maxHeaderSize: [16 * 1024, 256],
    maxHeaders: [100, 1]
  };

  for (const name of Object.keys(numbers)) {
    const [fallback, min] = numbers[name];
    const value = settings[name];

    if (value === undefined) {
      settings[name] = fallback;
    } else if (
      typeof value !== 'number' ||
      !(value >= min) ||
      value > 2 ** 32 - 1
    ) {
      throw new TypeError(
        `The "${name}" option must be a number from ${min} to 2^32 - 1`
      );
    }
  }
}

/**
 * Hands one prepared message to a set of sockets.
 *
 * @param {Set<WebSocket>} sockets The candidates
 * @param {PreparedMessage} message The message
 * @param {Object} [options] The options of `broadcast()`
 * @return {Number} How many sockets took it
 * @private
 */
function sendToAll(sockets, message, options) {
  const excluded = exclusion(options && options.except);
  let count = 0;

  for (const ws of sockets) {
    if (!excluded(ws) && deliver(ws, message)) count++;
  }

  return count;
}

/**
 * Checks the `backplane` option and attaches the server to it.
 *
 * @param {WebSocketServer} server The server
 * @param {*} backplane The option
 * @return {(Backplane|null)}
 * @private
 */
function attachBackplane(server, backplane) {
  if (backplane === undefined || backplane === null) return null;

  if (
    typeof backplane !== 'object' ||
    typeof backplane.attach !== 'function' ||
    typeof backplane.publish !== 'function' ||
    typeof backplane.track !== 'function' ||
    typeof backplane.close !== 'function'
  ) {
    throw new TypeError(
      'The "backplane" option must implement attach(), publish(), track() ' +
        'and close() (see wsrs/redis and wsrs/cluster)'
    );
  }

  backplane.attach({
    deliver(topic, payload, binary, compress) {
      const message = new PreparedMessage(payload, { binary, compress });
      const sockets =
        topic === null ? server.clients : membersOf(server, topic);

      if (sockets !== undefined) sendToAll(sockets, message, undefined);
    }
  });

  return backplane;
}

/**
 * Hands a message published on this server to the backplane, unless the
 * call asked to stay local.
 *
 * @param {WebSocketServer} server The server
 * @param {(String|null)} topic The topic, or `null` for a broadcast
 * @param {PreparedMessage} message The message
 * @param {Object} [options] The options of `broadcast()`
 * @private
 */
function share(server, topic, message, options) {
  if (server.backplane === null || (options && options.local === true)) return;

  server.backplane.publish(
    topic,
    message.payload,
    message.binary,
    message.compress
  );
}

/**
 * Request handler of the internal HTTP server: plain HTTP requests get a 426.
 *
 * @param {http.IncomingMessage} req The request
 * @param {http.ServerResponse} res The response
 * @private
 */
function answerUpgradeRequired(req, res) {
  const text = http.STATUS_CODES[426];

  res.writeHead(426, {
    'Content-Length': text.length,
    'Content-Type': 'text/plain'
  });
  res.end(text);
}

/**
 * Adds a set of listeners to an emitter.
 *
 * @param {EventEmitter} emitter The emitter
 * @param {Object.<String, Function>} listeners Listener by event name
 * @return {Function} Removes exactly the listeners that were added
 * @private
 */
function attachListeners(emitter, listeners) {
  const events = Object.keys(listeners);

  for (const event of events) emitter.on(event, listeners[event]);

  return () => {
    for (const event of events) {
      emitter.removeListener(event, listeners[event]);
    }
  };
}

/**
 * `'close'` listener of a tracked client (`this`): one function for all of
 * them, so that tracking costs no closure per connection.
 *
 * @private
 */
function forgetClient() {
  const server = serverOf(this);
  const clients = server.clients;

  clients.delete(this);

  if (server._closeWhenEmpty && clients.size === 0) {
    process.nextTick(markClosed, server);
  }
}

/**
 * Moves a server to the CLOSED state and emits `'close'`.
 *
 * @param {WebSocketServer} server The server
 * @private
 */
function markClosed(server) {
  server._state = CLOSED;
  server.emit('close');
}

/**
 * `'error'` listener kept on a socket while its handshake is pending.
 *
 * @private
 */
function destroySocket() {
  this.destroy();
}

/**
 * Ends a socket with an HTTP error response.
 *
 * @param {Duplex} socket The socket of the upgrade request
 * @param {Number} status The HTTP status code
 * @param {String} [body] The response body; the status text if empty
 * @param {Object} [extraHeaders] Additional response headers
 * @private
 */
function writeRejection(socket, status, body, extraHeaders) {
  const reason = http.STATUS_CODES[status];
  const text = body || reason;
  const fields = Object.assign(
    {
      Connection: 'close',
      'Content-Type': 'text/html',
      'Content-Length': Buffer.byteLength(text)
    },
    extraHeaders
  );

  let head = `HTTP/1.1 ${status} ${reason}\r\n`;

  for (const name of Object.keys(fields)) {
    head += `${name}: ${fields[name]}\r\n`;
  }

  // Writing may fail if the socket was already ended by user code; the
  // `'error'` listener then destroys it, and `'finish'` does otherwise.
  socket.once('finish', socket.destroy);
  socket.end(head + '\r\n' + text);
}

/**
 * Fails a handshake. If the server has `'wsClientError'` listeners the socket
 * is handed to them, otherwise an error response is written.
 *
 * @param {WebSocketServer} server The server
 * @param {http.IncomingMessage} req The upgrade request
 * @param {Duplex} socket The socket of the upgrade request
 * @param {Number} status The HTTP status code
 * @param {String} message Describes the problem (the response body)
 * @param {Object} [extraHeaders] Additional response headers
 * @private
 */
function refuse(server, req, socket, status, message, extraHeaders) {
  if (server.listenerCount('wsClientError') === 0) {
    writeRejection(socket, status, message, extraHeaders);
    return;
  }

  const err = new Error(message);

  Error.captureStackTrace(err, refuse);
  server.emit('wsClientError', err, socket, req);
}

/**
 * Copies some properties of an object.
 *
 * @param {Object} source The object to copy from
 * @param {String[]} keys The properties to copy
 * @return {Object} A new object with just those properties
 * @private
 */
function pick(source, keys) {
  const copy = {};

  for (const key of keys) copy[key] = source[key];
  return copy;
}
