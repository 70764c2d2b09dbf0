'use strict';

const binding = require('./binding');

/**
 * Checks whether `buffer` holds valid UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). Same contract as utf-8-validate 6, whose
 * module export is this function.
 *
 * @param {Buffer} buffer The bytes to check
 * @return {Boolean} `true` if the bytes are valid UTF-8
 * @public
 */
function isValidUTF8(buffer) {
  if (!ArrayBuffer.isView(buffer)) {
    throw new TypeError(
      'The "buffer" argument must be a Buffer, TypedArray or DataView'
    );
  }
  return binding.isValidUTF8(buffer);
}

module.exports = isValidUTF8;
