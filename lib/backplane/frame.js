'use strict';

//
// What one server tells the others about one message: a 12-byte header,
// then the payload as it was given, byte for byte.
//
//   0      'w' (0x77), so that a stray message on the channel is ignored
//   1      format version (1)
//   2      flags: bit 0 binary, bit 1 do not compress
//   3      0
//   4..11  id of the node that published it (so that it skips its own)
//

const MAGIC = 0x77;
const VERSION = 1;
const HEADER_SIZE = 12;
const ID_SIZE = 8;
const FLAG_BINARY = 1;
const FLAG_NO_COMPRESS = 2;

/**
 * Puts the header in front of a payload.
 *
 * @param {Buffer} id The publishing node's id (8 bytes)
 * @param {Buffer} payload The message
 * @param {Boolean} binary Binary or text
 * @param {Boolean} compress Whether receivers may compress it
 * @return {Buffer} One buffer: header and payload
 * @public
 */
function encode(id, payload, binary, compress) {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);

  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = (binary ? FLAG_BINARY : 0) | (compress ? 0 : FLAG_NO_COMPRESS);
  out[3] = 0;
  id.copy(out, 4, 0, ID_SIZE);
  payload.copy(out, HEADER_SIZE);
  return out;
}

/**
 * Reads a header. The payload is a view of `frame`, not a copy.
 *
 * @param {Buffer} frame What came off the wire
 * @return {(Object|null)} `{ origin, binary, compress, payload }`, or `null`
 *     when `frame` is not one of ours
 * @public
 */
function decode(frame) {
  if (
    !Buffer.isBuffer(frame) ||
    frame.length < HEADER_SIZE ||
    frame[0] !== MAGIC ||
    frame[1] !== VERSION
  ) {
    return null;
  }

  const flags = frame[2];

  return {
    origin: frame.subarray(4, HEADER_SIZE),
    binary: (flags & FLAG_BINARY) !== 0,
    compress: (flags & FLAG_NO_COMPRESS) === 0,
    payload: frame.subarray(HEADER_SIZE)
  };
}

module.exports = { HEADER_SIZE, ID_SIZE, decode, encode };
