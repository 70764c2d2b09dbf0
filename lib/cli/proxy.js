'use strict';

// `--proxy`: reach the WebSocket server through an HTTP proxy's CONNECT
// method. wsrs has no proxy option, but like ws it hands `createConnection`
// to `http(s).request()`, so the tunnel is opened there: ask the proxy for a
// tunnel, then run the handshake (over TLS for wss:) inside it.

const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');

/**
 * Parse the value of `--proxy`. A bare `host:port` means `http://host:port`.
 *
 * @param {String} value The value given on the command line
 * @return {URL} The proxy's URL
 * @throws {Error} When it is not a usable http: or https: URL
 */
function parseProxyUrl(value) {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
    ? value
    : `http://${value}`;
  let url;

  try {
    url = new URL(text);
  } catch {
    throw new Error(`invalid proxy URL '${value}'`);
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(
      `unsupported proxy scheme '${url.protocol}' (use http: or https:)`
    );
  }

  if (!url.hostname) throw new Error(`invalid proxy URL '${value}'`);

  return url;
}

/**
 * Format a host and port for a CONNECT request line.
 *
 * @param {String} host A host name or an IP address
 * @param {(Number|String)} port The port
 * @return {String} E.g. `example.com:443` or `[::1]:8080`
 */
function authority(host, port) {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Mark an error as coming from the proxy leg of the connection.
 *
 * @param {Error} err The error
 * @return {Error} The same error
 * @private
 */
function fromProxy(err) {
  err.viaProxy = true;
  return err;
}

/**
 * Make a `createConnection` function, for `http(s).request()` options, that
 * tunnels each connection through the proxy.
 *
 * @param {URL} proxy The proxy (see `parseProxyUrl()`)
 * @param {Boolean} secureByDefault Whether the target speaks TLS when the
 *     request options do not say (the scheme of the first URL)
 * @return {Function} `(options, callback)`; it calls back with the tunnelled
 *     socket, or with an error flagged `viaProxy`
 */
function proxyConnector(proxy, secureByDefault) {
  const proxyHost =
    proxy.hostname[0] === '[' ? proxy.hostname.slice(1, -1) : proxy.hostname;
  const proxyPort = proxy.port || (proxy.protocol === 'https:' ? 443 : 80);
  const credentials =
    proxy.username || proxy.password
      ? decodeURIComponent(proxy.username) +
        ':' +
        decodeURIComponent(proxy.password)
      : null;

  return function createConnection(options, callback) {
    // A ws+unix: socket is local: no proxy for it.
    if (options.socketPath) return net.connect(options.socketPath);

    // https.request() marks its options with the https agent: that is how a
    // redirect from ws: to wss: (or back) is noticed.
    const agent = options._defaultAgent;
    const secure = agent ? agent.protocol === 'https:' : secureByDefault;
    const target = authority(options.host, options.port);
    const headers = { host: target };

    if (credentials) {
      headers['proxy-authorization'] =
        'Basic ' + Buffer.from(credentials).toString('base64');
    }

    const request = proxy.protocol === 'https:' ? https.request : http.request;
    const req = request({
      host: proxyHost,
      port: proxyPort,
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      ca: options.ca,
      rejectUnauthorized: options.rejectUnauthorized
    });
    let done = false;

    /**
     * Report the outcome once.
     *
     * @param {(Error|null)} err The failure, if any
     * @param {net.Socket} [socket] The tunnel
     */
    const finish = (err, socket) => {
      if (done) return;
      done = true;
      callback(err, socket);
    };

    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        const err = fromProxy(
          new Error(`proxy answered ${res.statusCode} to CONNECT ${target}`)
        );
        err.proxyStatus = `${res.statusCode} ${res.statusMessage || ''}`.trim();
        finish(err);
        return;
      }

      if (head && head.length > 0) socket.unshift(head);

      if (!secure) {
        finish(null, socket);
        return;
      }

      let servername = options.servername;

      if (!servername && servername !== '') {
        servername = net.isIP(options.host) ? '' : options.host;
      }

      const tlsOptions = Object.assign({}, options, {
        socket,
        servername,
        path: undefined
      });

      finish(null, tls.connect(tlsOptions));
    });

    // A server that does not do CONNECT may answer with a plain response.
    req.once('response', (res) => {
      res.resume();
      const err = fromProxy(
        new Error(`proxy answered ${res.statusCode} to CONNECT ${target}`)
      );
      err.proxyStatus = `${res.statusCode} ${res.statusMessage || ''}`.trim();
      finish(err);
    });

    req.once('error', (err) => {
      if (!err.address) {
        err.address = proxyHost;
        err.port = proxyPort;
      }
      finish(fromProxy(err));
    });

    req.end();
    return undefined;
  };
}

module.exports = { authority, parseProxyUrl, proxyConnector };
