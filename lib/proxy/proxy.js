'use strict';

//
// The client's `proxy` option: the WebSocket connection is tunnelled through
// an HTTP proxy with `CONNECT host:port` (RFC 9110, section 9.3.6), for ws:
// and wss: alike; for wss: TLS then runs end to end inside the tunnel. With
// `proxy: true` the proxy comes from the environment, read the way curl
// reads it.
//

const http = require('http');
const https = require('https');
const net = require('net');
const { URL } = require('url');

/**
 * The `createConnection` function of a client request that goes through a
 * proxy, or `null` when this URL is to be reached directly.
 *
 * @param {(String|URL|Boolean)} option The `proxy` option: a proxy URL
 *     (`http://[user:pass@]host[:port]`, or `https://` to reach the proxy
 *     over TLS), or `true` to use the environment
 * @param {URL} url The WebSocket URL (`ws:` or `wss:`)
 * @param {Boolean} secure Whether `url` is `wss:`
 * @param {Function} connectSecure Wraps a socket in TLS the way the client
 *     does for direct connections (SNI and all)
 * @return {(Function|null)} `(options, oncreate)`, as `http.request()`
 *     calls it; its `cancel()` gives up on a tunnel still being opened
 * @throws {SyntaxError} If the proxy URL is invalid
 * @public
 */
function proxyConnection(option, url, secure, connectSecure) {
  let proxy;

  if (option === true) {
    proxy = proxyFromEnv(url, secure);
    if (proxy === null) return null;
  } else {
    proxy = parseProxy(option, 'The "proxy" option');
  }

  let cancel = null;
  const createConnection = (options, oncreate) => {
    cancel = openTunnel(proxy, options, secure, connectSecure, oncreate);
  };

  createConnection.cancel = () => {
    if (cancel !== null) cancel();
  };

  return createConnection;
}

/**
 * Parses a proxy URL. A value without a scheme (`host:port`) is taken as
 * `http://`, as curl does.
 *
 * @param {(String|URL)} value The proxy
 * @param {String} source Where it came from, for the error message
 * @return {URL}
 * @throws {SyntaxError} If the value is not an http: or https: URL
 * @public
 */
function parseProxy(value, source) {
  let text = value instanceof URL ? value.href : String(value);
  let proxy;

  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;

  try {
    proxy = new URL(text);
  } catch {
    throw new SyntaxError(`${source} is not a valid URL: ${value}`);
  }

  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new SyntaxError(
      `${source} must be an http: or https: URL, not ${proxy.protocol}`
    );
  }

  return proxy;
}

/**
 * Reads an environment variable by its lower-case name first, then the
 * upper-case one.
 *
 * @param {String} name The lower-case name
 * @return {(String|undefined)} The value, if not empty
 * @private
 */
function fromEnv(name) {
  return process.env[name] || process.env[name.toUpperCase()] || undefined;
}

/**
 * The proxy for `url` according to the environment: `https_proxy` for
 * wss:, `http_proxy` for ws:, `all_proxy` for either when those are unset
 * (each also in upper case; lower case wins), unless `no_proxy` excludes
 * the host.
 *
 * @param {URL} url The WebSocket URL
 * @param {Boolean} secure Whether it is wss:
 * @return {(URL|null)} The proxy, or `null` to connect directly
 * @private
 */
function proxyFromEnv(url, secure) {
  const value =
    fromEnv(secure ? 'https_proxy' : 'http_proxy') || fromEnv('all_proxy');

  if (value === undefined) return null;

  const noProxy = fromEnv('no_proxy');

  if (noProxy !== undefined && matchesNoProxy(url, secure, noProxy)) {
    return null;
  }

  const source = secure ? 'HTTPS_PROXY' : 'HTTP_PROXY';

  return parseProxy(value, `The ${source} environment variable`);
}

/**
 * Whether a `no_proxy` list covers a URL's host. Entries are separated by
 * commas or spaces; `*` covers everything; `example.com` (or
 * `.example.com`, or `*.example.com`) covers that host and its subdomains;
 * an IP address covers itself and a CIDR block (`10.0.0.0/8`) its
 * addresses; an entry with `:port` only applies to that port.
 *
 * @param {URL} url The WebSocket URL
 * @param {Boolean} secure Whether it is wss:
 * @param {String} list The value of `no_proxy`
 * @return {Boolean}
 * @public
 */
function matchesNoProxy(url, secure, list) {
  const host = unbracket(url.hostname).toLowerCase();
  const port = url.port || (secure ? '443' : '80');
  const family = net.isIP(host);

  for (const raw of list.split(/[\s,]+/)) {
    if (raw === '') continue;
    if (raw === '*') return true;

    let entry = raw.toLowerCase();
    let entryPort = '';
    const bracket = entry.match(/^\[([^\]]+)\](?::(\d+))?$/);

    if (bracket !== null) {
      entry = bracket[1];
      entryPort = bracket[2] || '';
    } else if (/^[^:]+:\d+$/.test(entry)) {
      const colon = entry.lastIndexOf(':');

      entryPort = entry.slice(colon + 1);
      entry = entry.slice(0, colon);
    }

    if (entryPort !== '' && entryPort !== port) continue;

    const slash = entry.indexOf('/');

    if (slash !== -1) {
      const base = entry.slice(0, slash);
      const prefix = Number(entry.slice(slash + 1));
      const baseFamily = net.isIP(base);

      if (family !== 0 && family === baseFamily && Number.isInteger(prefix)) {
        const block = new net.BlockList();
        const type = family === 4 ? 'ipv4' : 'ipv6';

        try {
          block.addSubnet(base, prefix, type);
        } catch {
          continue;
        }

        if (block.check(host, type)) return true;
      }

      continue;
    }

    entry = entry.replace(/^\*?\./, '');

    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }

  return false;
}

/**
 * Strips the brackets of an IPv6 literal.
 *
 * @param {String} host A host name as a URL holds it
 * @return {String}
 * @private
 */
function unbracket(host) {
  return host[0] === '[' ? host.slice(1, -1) : host;
}

/**
 * Asks the proxy for a tunnel to `options.host:options.port`, then hands
 * the tunnel (wrapped in TLS for wss:) to `oncreate`.
 *
 * @param {URL} proxy The proxy
 * @param {Object} options The client request's options
 * @param {Boolean} secure Whether to run TLS inside the tunnel
 * @param {Function} connectSecure Wraps a socket in TLS
 * @param {Function} oncreate `(err, socket)`
 * @return {Function} Abandons the tunnel if it is not open yet
 * @private
 */
function openTunnel(proxy, options, secure, connectSecure, oncreate) {
  const target = authority(options.host, options.port);
  const headers = { Host: target };
  let done = false;

  if (proxy.username || proxy.password) {
    const credentials = `${decodeURIComponent(
      proxy.username
    )}:${decodeURIComponent(proxy.password)}`;

    headers['Proxy-Authorization'] =
      'Basic ' + Buffer.from(credentials).toString('base64');
  }

  // Errors of the proxy leg say so (`viaProxy`), so that a caller can tell
  // a refused proxy from a refused server.
  const fail = (err) => {
    if (done) return;
    done = true;
    err.viaProxy = true;
    oncreate(err);
  };

  const requestOptions = {
    agent: false,
    headers,
    host: unbracket(proxy.hostname),
    method: 'CONNECT',
    path: target,
    port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80)
  };

  if (proxy.protocol === 'https:') {
    // The TLS settings given for the WebSocket also apply to the proxy.
    for (const key of ['ca', 'cert', 'key', 'passphrase', 'pfx']) {
      if (options[key] !== undefined) requestOptions[key] = options[key];
    }

    if (options.rejectUnauthorized !== undefined) {
      requestOptions.rejectUnauthorized = options.rejectUnauthorized;
    }
  }

  const request = proxy.protocol === 'https:' ? https.request : http.request;
  const req = request(requestOptions);

  if (options.timeout) {
    req.setTimeout(options.timeout, () => {
      req.destroy();
      fail(
        new Error(
          `The proxy did not open the tunnel to ${target} within ` +
            `${options.timeout} ms`
        )
      );
    });
  }

  req.on('error', (err) => fail(err));

  req.on('response', (res) => {
    // A CONNECT answered with anything but 2xx: no tunnel.
    res.resume();
    req.destroy();
    fail(refusal(target, res));
  });

  req.on('connect', (res, socket, head) => {
    if (res.statusCode < 200 || res.statusCode > 299) {
      socket.destroy();
      fail(refusal(target, res));
      return;
    }

    if (done) {
      socket.destroy();
      return;
    }

    done = true;
    req.setTimeout(0);
    if (head.length > 0) socket.unshift(head);

    if (!secure) {
      oncreate(null, socket);
      return;
    }

    let tlsSocket;

    try {
      tlsSocket = connectSecure(Object.assign({}, options, { socket }));
    } catch (err) {
      socket.destroy();
      oncreate(err);
      return;
    }

    oncreate(null, tlsSocket);
  });

  req.end();

  return () => {
    if (done) return;
    done = true;
    req.destroy();
  };
}

/**
 * The error for a proxy that would not open the tunnel.
 *
 * @param {String} target The `host:port` asked for
 * @param {http.IncomingMessage} res The proxy's response
 * @return {Error} With `code` `'ERR_WSRS_PROXY_REFUSED'`, the proxy's
 *     `statusCode` and `statusMessage`, and the `target`
 * @private
 */
function refusal(target, res) {
  const err = new Error(
    `The proxy refused to open a tunnel to ${target}: ` +
      `${res.statusCode} ${res.statusMessage || ''}`.trimEnd()
  );

  err.code = 'ERR_WSRS_PROXY_REFUSED';
  err.statusCode = res.statusCode;
  err.statusMessage = res.statusMessage || '';
  err.target = target;
  return err;
}

/**
 * A host and port as a CONNECT request line and `Host` header write them.
 *
 * @param {String} host A host name or an IP address (IPv6 unbracketed)
 * @param {(Number|String)} port The port
 * @return {String} E.g. `example.com:443` or `[::1]:8080`
 * @public
 */
function authority(host, port) {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

module.exports = { authority, matchesNoProxy, parseProxy, proxyConnection };
