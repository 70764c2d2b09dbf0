'use strict';

//
// The client side of the opening handshake: the request (over http(s), on
// a socket from net, tls or the proxy tunnel), redirects, and the checks of
// the server's 101 response, after which the socket is handed to
// `WebSocket#setSocket()`. A failure before that point is reported as
// `'error'` then `'close'`.
//

const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');
const { createHash, randomBytes } = require('crypto');
const { unescape } = require('querystring');
const { URL } = require('url');

const PerMessageDeflate = require('../permessage-deflate');
const {
  format: formatExtensions,
  parse: parseExtensions
} = require('../extension');
const { adoptOptions } = require('../endpoint-options');
const { validateFlowOptions } = require('../flow/flow');
const { proxyConnection } = require('../proxy/proxy');
const { CLOSE_TIMEOUT, GUID } = require('../constants');
const { CONNECTING, CLOSING } = require('../ready-states');

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

// `Sec-WebSocket-Version` values this client is able to speak.
const SUPPORTED_VERSIONS = [8, 13];

// An RFC 7230 `token`: what a subprotocol name must look like.
const TOKEN_RE = /^[\w!#$%&'*+.^`|~-]+$/;

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

module.exports = { failHandshake, listOf, openClient };
