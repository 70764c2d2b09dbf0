'use strict';

const binding = require('./binding');

/**
 * Throws a TypeError unless `value` is a Buffer or another ArrayBuffer view.
 *
 * @param {*} value The value to check
 * @param {String} name The argument's name, for the message
 * @private
 */
function checkView(value, name) {
  if (!ArrayBuffer.isView(value)) {
    throw new TypeError(
      `The "${name}" argument must be a Buffer, TypedArray or DataView`
    );
  }
}

/**
 * Throws unless `value` is an integer in `[0, max]`.
 *
 * @param {*} value The value to check
 * @param {String} name The argument's name, for the message
 * @param {Number} max The largest allowed value
 * @private
 */
function checkIndex(value, name, max) {
  if (typeof value !== 'number') {
    throw new TypeError(`The "${name}" argument must be a number`);
  }
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(
      `The "${name}" argument must be an integer from 0 to ${max}; received ${value}`
    );
  }
}

/**
 * Masks `source` with `mask`, writing the result to `output` at `offset`.
 * Same contract as bufferutil 4's `mask`.
 *
 * @param {Buffer} source The data to mask
 * @param {Buffer} mask The 4-byte masking key
 * @param {Buffer} output Where the masked bytes go
 * @param {Number} offset Where in `output` to start writing
 * @param {Number} length How many bytes of `source` to mask
 * @public
 */
function mask(source, mask, output, offset, length) {
  checkView(source, 'source');
  checkView(mask, 'mask');
  checkView(output, 'output');
  if (mask.byteLength < 4) throw new RangeError('The mask must be 4 bytes');
  checkIndex(length, 'length', source.byteLength);
  checkIndex(offset, 'offset', output.byteLength - length);
  binding.mask(source, mask, output, offset, length);
}

/**
 * Unmasks `buffer` in place with `mask`. Same contract as bufferutil 4's
 * `unmask`.
 *
 * @param {Buffer} buffer The data to unmask
 * @param {Buffer} mask The 4-byte masking key
 * @public
 */
function unmask(buffer, mask) {
  checkView(buffer, 'buffer');
  checkView(mask, 'mask');
  if (mask.byteLength < 4) throw new RangeError('The mask must be 4 bytes');
  binding.unmask(buffer, mask);
}

module.exports = { mask, unmask };
