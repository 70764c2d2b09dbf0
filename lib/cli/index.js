'use strict';

// The `wsrs` command: check the command line, then run the listen or the
// connect mode. `bin/wsrs.js` calls `main()` and exits with what it returns.

const fs = require('fs');
const path = require('path');

const { UsageError, helpText, parseArgs } = require('./args');
const { runConnect } = require('./connect');
const { runListen } = require('./listen');
const { Printer } = require('./output');
const { authority, parseProxy } = require('../proxy/proxy');

// Options that only make sense when connecting.
const CONNECT_ONLY = [
  ['protocol', '-p, --protocol'],
  ['header', '-H, --header'],
  ['origin', '-o, --origin'],
  ['auth', '--auth'],
  ['location', '-L, --location'],
  ['maxRedirects', '--max-redirects'],
  ['proxy', '--proxy'],
  ['ca', '--ca'],
  ['cert', '--cert'],
  ['key', '--key'],
  ['passphrase', '--passphrase'],
  ['noCheck', '-n, --no-check'],
  ['execute', '-x, --execute'],
  ['wait', '-w, --wait']
];

// An HTTP header name (RFC 7230 token).
const TOKEN_RE = /^[\w!#$%&'*+.^`|~-]+$/;

/**
 * Read the version from package.json.
 *
 * @return {String} The version
 */
function version() {
  const file = path.join(__dirname, '..', '..', 'package.json');

  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

/**
 * Read a PEM file named by a TLS option.
 *
 * @param {String} flag The option, for the error message
 * @param {String} file The path
 * @return {Buffer} The content
 * @throws {UsageError} When it cannot be read
 */
function readPem(flag, file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(
      `cannot read ${flag} file '${file}': ${err.code || err.message}`
    );
  }
}

/**
 * Turn the value of `-c` into a URL string, adding `ws://` when no scheme is
 * given, and check it.
 *
 * @param {String} value The value of `-c`
 * @return {URL} The URL
 * @throws {UsageError} When it is not a usable WebSocket URL
 */
function parseTargetUrl(value) {
  const text =
    /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^ws\+unix:/i.test(value)
      ? value
      : `ws://${value}`;
  let url;

  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`bad URL '${value}'`);
  }

  const scheme = url.protocol;

  if (!['ws:', 'wss:', 'http:', 'https:', 'ws+unix:'].includes(scheme)) {
    throw new UsageError(
      `bad URL '${value}': the scheme must be ws:, wss: or ws+unix:`
    );
  }

  if (scheme === 'ws+unix:' ? !url.pathname : !url.hostname) {
    throw new UsageError(`bad URL '${value}': no host`);
  }

  if (url.hash) {
    throw new UsageError(`bad URL '${value}': it may not have a fragment`);
  }

  return url;
}

/**
 * Parse a number of seconds.
 *
 * @param {String} flag The option, for the error message
 * @param {String} value The text
 * @return {Number} Milliseconds
 * @throws {UsageError} When it is not a non-negative number
 */
function parseSeconds(flag, value) {
  const seconds = Number(value);

  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`${flag} needs a number of seconds, not '${value}'`);
  }

  return Math.round(seconds * 1000);
}

/**
 * Parse a non-negative integer.
 *
 * @param {String} flag The option, for the error message
 * @param {String} value The text
 * @param {Number} max The largest value allowed
 * @return {Number} The number
 * @throws {UsageError} When it is not an integer in range
 */
function parseInteger(flag, value, max) {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(
      `${flag} needs an integer from 0 to ${max}, not '${value}'`
    );
  }

  return Number(value);
}

/**
 * Check the parsed options and build what the listen mode needs.
 *
 * @param {Object} opts The result of `parseArgs()`
 * @return {Object} The listen configuration
 * @throws {UsageError} On a bad combination or value
 */
function listenConfig(opts) {
  for (const [key, flag] of CONNECT_ONLY) {
    if (opts[key] !== undefined) {
      throw new UsageError(`${flag} only works with -c, --connect`);
    }
  }

  return {
    port: parseInteger('-l, --listen', opts.listen, 65535),
    host: opts.host,
    protocols: opts.subprotocol || [],
    deflate: !opts.noDeflate,
    slash: Boolean(opts.slash),
    showPingPong: Boolean(opts.showPingPong)
  };
}

/**
 * Check the parsed options and build what the connect mode needs.
 *
 * @param {Object} opts The result of `parseArgs()`
 * @return {Object} The connect configuration
 * @throws {UsageError} On a bad combination or value
 */
function connectConfig(opts) {
  const url = parseTargetUrl(opts.connect);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const wsOptions = {
    perMessageDeflate: !opts.noDeflate,
    closeTimeout: 5000
  };
  const headers = {};

  if (opts.protocol !== undefined) {
    if (opts.protocol !== '8' && opts.protocol !== '13') {
      throw new UsageError(
        `-p, --protocol must be 8 or 13, not '${opts.protocol}'`
      );
    }
    wsOptions.protocolVersion = Number(opts.protocol);
  }

  for (const header of opts.header || []) {
    const colon = header.indexOf(':');
    const name = colon === -1 ? '' : header.slice(0, colon).trim();

    if (!TOKEN_RE.test(name)) {
      throw new UsageError(`-H, --header needs 'name: value', not '${header}'`);
    }
    headers[name] = header.slice(colon + 1).trim();
  }

  if (opts.host !== undefined) headers.Host = opts.host;
  if (Object.keys(headers).length > 0) wsOptions.headers = headers;
  if (opts.origin !== undefined) wsOptions.origin = opts.origin;

  if (opts.auth !== undefined) {
    if (!opts.auth.includes(':')) {
      throw new UsageError(`--auth needs 'user:password', not '${opts.auth}'`);
    }
    wsOptions.auth = opts.auth;
  }

  if (opts.location) wsOptions.followRedirects = true;
  if (opts.maxRedirects !== undefined) {
    wsOptions.maxRedirects = parseInteger(
      '--max-redirects',
      opts.maxRedirects,
      1000
    );
  }

  if (opts.ca !== undefined) wsOptions.ca = readPem('--ca', opts.ca);
  if (opts.cert !== undefined) wsOptions.cert = readPem('--cert', opts.cert);
  if (opts.key !== undefined) wsOptions.key = readPem('--key', opts.key);
  if (typeof opts.passphrase === 'string') {
    wsOptions.passphrase = opts.passphrase;
  }
  if (opts.noCheck) wsOptions.rejectUnauthorized = false;

  if (opts.proxy !== undefined) {
    let proxy;

    try {
      proxy = parseProxy(opts.proxy, 'the proxy');
    } catch (err) {
      throw new UsageError(`--proxy: ${err.message}`);
    }

    // The client's own `proxy` option (a ws+unix: URL never uses it).
    wsOptions.proxy = proxy.href;
  }

  const protocols = opts.subprotocol || [];

  for (const name of protocols) {
    if (!TOKEN_RE.test(name)) {
      throw new UsageError(`-s, --subprotocol '${name}' is not a valid name`);
    }
  }

  if (new Set(protocols).size !== protocols.length) {
    throw new UsageError('-s, --subprotocol names a subprotocol twice');
  }

  let target;

  if (url.protocol === 'ws+unix:') {
    target = url.pathname.split(':')[0];
  } else {
    const host =
      url.hostname[0] === '[' ? url.hostname.slice(1, -1) : url.hostname;

    target = authority(host, url.port || (secure ? 443 : 80));
  }

  return {
    url: url.href,
    target,
    protocols,
    wsOptions,
    execute: opts.execute || [],
    wait:
      opts.wait !== undefined ? parseSeconds('-w, --wait', opts.wait) : 2000,
    slash: Boolean(opts.slash),
    showPingPong: Boolean(opts.showPingPong),
    askPassphrase: opts.passphrase === true
  };
}

/**
 * Ask for a passphrase on the terminal without echoing it.
 *
 * @param {tty.ReadStream} stdin The terminal
 * @param {stream.Writable} stderr Where the prompt goes
 * @return {Promise<(String|null)>} The passphrase, or `null` on Ctrl+C
 */
function askHidden(stdin, stderr) {
  return new Promise((resolve) => {
    let answer = '';

    // Raw mode first: that also turns the terminal's echo off.
    stdin.setRawMode(true);
    stderr.write('Passphrase: ');
    stdin.setEncoding('utf8');
    stdin.resume();

    /**
     * Collect keys until Enter.
     *
     * @param {String} chunk What was typed
     */
    const onData = (chunk) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          done(answer);
          return;
        }
        if (char === '\u0003') {
          done(null);
          return;
        }
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };

    /**
     * Restore the terminal and report.
     *
     * @param {(String|null)} value The result
     */
    const done = (value) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      resolve(value);
    };

    stdin.on('data', onData);
  });
}

/**
 * Run `wsrs`.
 *
 * @param {String[]} argv The arguments, without `node` and the script
 * @param {Object} io `{ stdin, stdout, stderr, env, signals }`; `signals`
 *     emits `'SIGINT'` and `'SIGTERM'` (normally `process`)
 * @return {Promise<Number>} The exit status
 */
async function main(argv, io) {
  const plain = new Printer({
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    noColor: argv.includes('--no-color')
  });
  let opts;
  let config;

  try {
    opts = parseArgs(argv);

    if (opts.help) {
      io.stdout.write(helpText(version()));
      return 0;
    }

    if (opts.version) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }

    if (opts.listen !== undefined && opts.connect !== undefined) {
      throw new UsageError(
        'give either -l, --listen or -c, --connect, not both'
      );
    }

    if (opts.listen === undefined && opts.connect === undefined) {
      throw new UsageError('give -l <port> to listen or -c <url> to connect');
    }

    config =
      opts.listen !== undefined ? listenConfig(opts) : connectConfig(opts);

    if (config.askPassphrase && !io.stdin.isTTY) {
      throw new UsageError(
        '--passphrase needs a value when stdin is not a terminal'
      );
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    plain.error(err.message);
    io.stderr.write("Run 'wsrs --help' for the options.\n");
    return 2;
  }

  const printer = new Printer({
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    noColor: Boolean(opts.noColor),
    binaryAsHex: Boolean(opts.binary)
  });
  const session = {
    stdin: io.stdin,
    stdout: io.stdout,
    printer,
    signals: io.signals
  };

  if (opts.listen !== undefined) return runListen(config, session);

  if (config.askPassphrase) {
    const answer = await askHidden(io.stdin, io.stderr);

    if (answer === null) return 130;
    config.wsOptions.passphrase = answer;
  }

  return runConnect(config, session);
}

module.exports = { main, parseTargetUrl };
