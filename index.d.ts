import * as bufferUtil from './bufferutil';
import isValidUTF8 = require('./utf-8-validate');

export { bufferUtil, isValidUTF8 };
