'use strict';

// The native functions check their own arguments (TypeError for a value
// that is not a Buffer or TypedArray, RangeError for an offset, length or
// mask that would go out of bounds), so they are exported as they are: a
// JS wrapper would add a call to every mask and unmask.

const { mask, unmask } = require('./lib/native/addon');

/**
 * @typedef {Function} MaskFunction
 * `mask(source, mask, output, offset, length)`: writes
 * `source[i] ^ mask[i & 3]` to `output[offset + i]` for `i < length`.
 */

/**
 * @typedef {Function} UnmaskFunction
 * `unmask(buffer, mask)`: XORs `buffer` in place with the 4-byte `mask`.
 */

module.exports = { mask, unmask };
