'use strict';

// One-line explanations of why a connection failed, for `wsrs`'s `error:`
// line.

// OpenSSL verification failures: the server's certificate is not trusted.
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID'
]);

/**
 * Tell whether an error comes from TLS (certificate checks or the TLS
 * handshake itself).
 *
 * @param {Error} err The error
 * @return {Boolean} `true` for a TLS failure
 */
function isTlsError(err) {
  const code = String(err.code || '');

  return (
    UNTRUSTED.has(code) ||
    /^ERR_(SSL|TLS)_/.test(code) ||
    /CERT/.test(code) ||
    typeof err.library === 'string' ||
    /SSL routines/.test(String(err.message))
  );
}

/**
 * Get the readable part of an OpenSSL error message, whose raw form is
 * `<op> EPROTO <id>:error:<code>:SSL routines:<function>:<reason>:<file>...`.
 *
 * @param {Error} err The error
 * @return {String} E.g. `wrong version number`, or the message itself
 */
function tlsReason(err) {
  if (err.reason) return err.reason;

  const fields = String(err.message).split(':');
  const at = fields.indexOf('SSL routines');

  if (at !== -1 && fields[at + 2]) return fields[at + 2];
  return err.message;
}

/**
 * Describe a failed connection in one line.
 *
 * @param {Error} err The error emitted by the WebSocket (or the proxy)
 * @param {String} target What we were connecting to (`host:port` or a socket
 *     path), for messages that do not carry it
 * @param {Boolean} [opened=false] Whether the handshake had completed
 * @return {String} The description
 */
function describeError(err, target, opened = false) {
  const code = err.code;
  const where = err.address
    ? err.port
      ? `${err.address}:${err.port}`
      : err.address
    : target;
  const through = err.viaProxy ? 'proxy ' : '';

  if (err.code === 'ERR_WSRS_PROXY_REFUSED') {
    const status = `${err.statusCode} ${err.statusMessage}`.trim();

    return `proxy refused to connect to ${err.target}: ${status}`;
  }

  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${through}${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `cannot resolve host ${err.hostname || where}`;
    case 'ENOENT':
      return `no such socket: ${where}`;
    case 'EACCES':
      return `permission denied connecting to ${where}`;
    case 'ECONNRESET':
      return `connection reset by ${through}${where}`;
    case 'ETIMEDOUT':
      return `connection to ${through}${where} timed out`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${through}${where} is unreachable`;
    default:
      break;
  }

  if (isTlsError(err)) {
    const hint = UNTRUSTED.has(code)
      ? '; trust it with --ca <file> or skip the check with -n'
      : '';

    const reason = tlsReason(err);

    if (/bad decrypt|bad password/i.test(reason)) {
      return 'TLS failure: cannot decrypt the --key file (wrong --passphrase?)';
    }

    const label = code && code !== 'EPROTO' ? ` (${code})` : '';
    const notTls = /wrong version number|packet length too long/.test(reason);
    const wrongVersion = notTls
      ? '; is the server speaking TLS? (use ws: for plain WebSocket)'
      : '';

    return oneLine(`TLS failure: ${reason}${label}${hint}${wrongVersion}`);
  }

  if (err.viaProxy) return oneLine(`proxy ${where}: ${err.message}`);

  if (!opened && !code) {
    const text = String(err.message || err.code || 'unknown error');

    return oneLine(
      `handshake failed: ${text[0].toLowerCase()}${text.slice(1)}`
    );
  }

  return oneLine(err.message);
}

/**
 * Collapse a message onto one line.
 *
 * @param {String} text The message
 * @return {String} The message without line breaks or repeated spaces
 */
function oneLine(text) {
  return String(text).replace(/\s+/g, ' ').trim();
}

module.exports = { describeError, isTlsError };
