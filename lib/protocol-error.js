'use strict';

//
// The one place where errors of the Rust side become JavaScript errors.
// Both engines' parsers and the permessage-deflate codec hand them over in
// one form (see `ProtocolError::encoded` in src/protocol/error.rs): code,
// close code, class (`R` RangeError, `E` Error), zlib errno (or nothing)
// and message, separated by NUL.
//

const { kStatusCode } = require('./constants');

/**
 * Builds the error an encoded Rust error stands for.
 *
 * @param {String} text The encoded error
 * @param {Function} [caller] Left out of the stack trace, with the frames
 *     above it
 * @return {(Error|RangeError)} The error, with `code`, the close code under
 *     `kStatusCode`, and `errno` for zlib failures
 * @public
 */
function decodeError(text, caller) {
  const parts = text.split('\0', 4);

  // Not in the encoded form: a failure of the addon itself (a caught panic,
  // a poisoned lock), which fails the connection with 1011.
  if (parts.length < 4) {
    const err = new Error(`wsrs: internal error: ${text}`);

    Error.captureStackTrace(err, caller || decodeError);
    err.code = 'ERR_WSRS_INTERNAL';
    err[kStatusCode] = 1011;
    return err;
  }

  const message = text.slice(parts.join('\0').length + 1);
  const [code, closeCode, kind, errno] = parts;
  const err = kind === 'R' ? new RangeError(message) : new Error(message);

  Error.captureStackTrace(err, caller || decodeError);
  err.code = code;
  err[kStatusCode] = Number(closeCode);
  if (errno !== '') err.errno = Number(errno);
  return err;
}

module.exports = { decodeError };
