'use strict';

// The ws-compatible API (WebSocket, WebSocketServer, ...) is built on the
// Rust core in later steps. Until then the package exposes the drop-ins for
// ws's native helpers.

const bufferUtil = require('./bufferutil');
const isValidUTF8 = require('./utf-8-validate');

module.exports = { bufferUtil, isValidUTF8 };
