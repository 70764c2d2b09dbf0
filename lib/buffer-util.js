'use strict';

const {
  types: { isAnyArrayBuffer }
} = require('util');

const native = require('./native/addon');
const { EMPTY_BUFFER } = require('./constants');

// The native addon is part of wsrs itself rather than an optional peer
// dependency, so unlike ws this module does not look at WS_NO_BUFFER_UTIL:
// there is no missing or broken addon to opt out of.

/**
 * Node's internal `Buffer` subclass. Constructing it directly makes a view on
 * an `ArrayBuffer` without the argument checks of `Buffer.from()`.
 */
const FastBuffer = Buffer[Symbol.species];

// Sizes below which a plain JS loop is faster than crossing into the native
// code (node 20, x64: the native call costs about 55 ns for `mask` and 37 ns
// for `unmask` whatever the size, the JS loops about 1.2 ns and 0.9 ns per
// byte; they break even near 48 and 32 bytes).
const NATIVE_MASK_MIN = 48;
const NATIVE_UNMASK_MIN = 32;

/**
 * Joins buffers into one new buffer. When the buffers hold fewer bytes than
 * `totalLength`, the result is cut to the bytes actually copied, so it never
 * exposes uninitialised memory.
 *
 * @param {Buffer[]} list The buffers to join
 * @param {Number} totalLength The sum of their lengths
 * @return {Buffer} The joined buffer (`list[0]` itself if there is only one)
 * @public
 */
function concat(list, totalLength) {
  const count = list.length;

  if (count === 0) return EMPTY_BUFFER;
  if (count === 1) return list[0];

  const result = Buffer.allocUnsafe(totalLength);
  let written = 0;

  for (let i = 0; i < count; i++) {
    const chunk = list[i];

    result.set(chunk, written);
    written += chunk.length;
  }

  return written < totalLength
    ? new FastBuffer(result.buffer, result.byteOffset, written)
    : result;
}

/**
 * Masks `length` bytes of `source` with a 4-byte key, writing the result to
 * `output` from `offset` on: `output[offset + i] = source[i] ^ key[i % 4]`.
 *
 * @param {Buffer} source The bytes to mask
 * @param {Buffer} key The 4-byte masking key
 * @param {Buffer} output The buffer that receives the masked bytes
 * @param {Number} offset Where to start writing in `output`
 * @param {Number} length How many bytes to mask
 * @public
 */
function mask(source, key, output, offset, length) {
  if (length >= NATIVE_MASK_MIN) {
    native.mask(source, key, output, offset, length);
    return;
  }

  for (let i = 0; i < length; i++) {
    output[offset + i] = source[i] ^ key[i & 3];
  }
}

/**
 * Unmasks a buffer in place with a 4-byte mask.
 *
 * @param {Buffer} buffer The bytes to unmask
 * @param {Buffer} key The 4-byte masking key
 * @public
 */
function unmask(buffer, key) {
  const length = buffer.length;

  if (length >= NATIVE_UNMASK_MIN) {
    native.unmask(buffer, key);
    return;
  }

  for (let i = 0; i < length; i++) {
    buffer[i] ^= key[i & 3];
  }
}

/**
 * Returns an `ArrayBuffer` with the bytes of `buf`. That is the buffer's own
 * backing store when the buffer covers all of it, otherwise a copy of the
 * covered range.
 *
 * @param {Buffer} buf The buffer to convert
 * @return {ArrayBuffer} The bytes as an `ArrayBuffer`
 * @public
 */
function toArrayBuffer(buf) {
  const backing = buf.buffer;

  if (buf.length === backing.byteLength) return backing;

  return backing.slice(buf.byteOffset, buf.byteOffset + buf.length);
}

/**
 * Turns `data` into a `Buffer`. A `Buffer` is returned as it is; an
 * `ArrayBuffer`, a typed array or a `DataView` is wrapped without copying.
 * Anything else goes through `Buffer.from()`, which makes new memory.
 *
 * After each call `toBuffer.readOnly` tells whether the result may share its
 * memory with `data` (`true`), in which case a caller must not change it in
 * place, or is a private copy (`false`).
 *
 * @param {*} data The data to convert
 * @return {Buffer} The resulting buffer
 * @throws {TypeError} If `Buffer.from()` does not accept `data`
 * @public
 */
function toBuffer(data) {
  toBuffer.readOnly = true;

  if (Buffer.isBuffer(data)) return data;

  // SharedArrayBuffer too (ws 8.23).
  if (isAnyArrayBuffer(data)) return new FastBuffer(data);

  if (ArrayBuffer.isView(data)) {
    return new FastBuffer(data.buffer, data.byteOffset, data.byteLength);
  }

  const copy = Buffer.from(data);

  toBuffer.readOnly = false;
  return copy;
}

/**
 * Whether the buffer returned by the last `toBuffer()` call shares memory
 * with its input.
 *
 * @type {Boolean}
 */
toBuffer.readOnly = true;

module.exports = {
  concat,
  mask,
  toArrayBuffer,
  toBuffer,
  unmask
};
