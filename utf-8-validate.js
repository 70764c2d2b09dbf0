'use strict';

// `isValidUTF8(buffer)`: true if the bytes are valid UTF-8 (no overlongs,
// surrogates or code points above U+10FFFF). Like utf-8-validate 6, the
// module export is the function itself. It throws a TypeError for a value
// that is not a Buffer or TypedArray.

module.exports = require('./lib/native/addon').isValidUTF8;
