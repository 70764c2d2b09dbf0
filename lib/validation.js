'use strict';

const native = require('./native/addon');
const { hasBlob } = require('./constants');

/**
 * Below this many bytes the JS loop in `isValidUTF8Short()` beats a call into
 * the native validator (measured on node 20, x64: at 24 bytes the loop takes
 * about 17 ns against 36 ns for the native call; from 32 bytes on the native
 * SIMD path wins).
 */
const NATIVE_UTF8_MIN = 32;

/**
 * `tokenChars[c] === 1` when the character code `c` may appear in an HTTP
 * token (RFC 7230, section 3.2.6): the visible ASCII characters except the
 * separators `"(),/:;<=>?@[\]{}`. Every other entry below 128 is 0; codes
 * from 128 on are outside the array.
 *
 * @type {Number[]}
 */
const tokenChars = new Array(128).fill(0);

{
  const separators = '"(),/:;<=>?@[\\]{}';

  // 0x21 ('!') to 0x7e ('~') are the visible characters.
  for (let code = 0x21; code <= 0x7e; code++) {
    if (!separators.includes(String.fromCharCode(code))) tokenChars[code] = 1;
  }
}

/**
 * Tells whether a status code may be sent in, or received in, a close frame.
 * 1004, 1005 and 1006 are reserved and must never appear on the wire; 1015 is
 * reserved too (TLS failure). The 3000-4999 range belongs to libraries,
 * frameworks and applications.
 *
 * @param {Number} code The status code
 * @return {Boolean} `true` if the code is allowed, else `false`
 * @public
 */
function isValidStatusCode(code) {
  if (code >= 3000) return code <= 4999;
  if (code < 1000 || code > 1014) return false;
  return code < 1004 || code > 1006;
}

/**
 * Checks the UTF-8 of a short buffer without leaving JS. For every lead byte,
 * the allowed range of the first continuation byte excludes overlong forms,
 * the UTF-16 surrogates (U+D800 to U+DFFF) and code points above U+10FFFF, as
 * in table 3-7 of the Unicode standard; the other continuation bytes are
 * 0x80 to 0xbf.
 *
 * @param {Uint8Array} buf The bytes to check
 * @return {Boolean} `true` if `buf` is well-formed UTF-8, else `false`
 * @private
 */
function isValidUTF8Short(buf) {
  const n = buf.length;
  let pos = 0;

  while (pos < n) {
    const lead = buf[pos];

    if (lead < 0x80) {
      pos++;
      continue;
    }

    let extra;
    let low = 0x80;
    let high = 0xbf;

    if (lead < 0xc2) {
      // A stray continuation byte, or the overlong 0xc0 / 0xc1 leads.
      return false;
    } else if (lead < 0xe0) {
      extra = 1;
    } else if (lead < 0xf0) {
      extra = 2;
      if (lead === 0xe0) low = 0xa0;
      else if (lead === 0xed) high = 0x9f;
    } else if (lead < 0xf5) {
      extra = 3;
      if (lead === 0xf0) low = 0x90;
      else if (lead === 0xf4) high = 0x8f;
    } else {
      return false;
    }

    if (pos + extra >= n) return false;

    const second = buf[pos + 1];
    if (second < low || second > high) return false;

    for (let k = 2; k <= extra; k++) {
      if ((buf[pos + k] & 0xc0) !== 0x80) return false;
    }

    pos += extra + 1;
  }

  return true;
}

/**
 * Checks whether a buffer holds only well-formed UTF-8: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence at the end.
 *
 * @param {Buffer} buf The buffer to check
 * @return {Boolean} `true` if `buf` is valid UTF-8, else `false`
 * @public
 */
function isValidUTF8(buf) {
  return buf.length < NATIVE_UTF8_MIN
    ? isValidUTF8Short(buf)
    : native.isValidUTF8(buf);
}

/**
 * Tells whether a value is a `Blob` (or a `File`, which extends it). The test
 * is structural, so that a `Blob` from another realm or a polyfill with the
 * same shape is recognised too.
 *
 * @param {*} value The value to test
 * @return {Boolean} `true` if `value` is a `Blob`, else `false`
 * @public
 */
function isBlob(value) {
  if (!hasBlob || typeof value !== 'object' || value === null) return false;

  const tag = value[Symbol.toStringTag];

  return (
    (tag === 'Blob' || tag === 'File') &&
    typeof value.type === 'string' &&
    typeof value.arrayBuffer === 'function' &&
    typeof value.stream === 'function'
  );
}

module.exports = {
  isBlob,
  isValidStatusCode,
  isValidUTF8,
  tokenChars
};
