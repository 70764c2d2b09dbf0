'use strict';

// Values shared by the lib/ modules. The names, and the descriptions of the
// symbols, are the ones ws uses, since code written against ws may import
// them from here.

/** Whether the global `Blob` class is available (Node.js >= 15.7). */
const hasBlob = typeof Blob !== 'undefined';

/**
 * The accepted values of `WebSocket#binaryType`. `'blob'` is only offered
 * when the runtime has a `Blob` class.
 *
 * @type {String[]}
 */
const BINARY_TYPES = hasBlob
  ? ['nodebuffer', 'arraybuffer', 'fragments', 'blob']
  : ['nodebuffer', 'arraybuffer', 'fragments'];

module.exports = {
  BINARY_TYPES,
  // Milliseconds a closing connection may wait for the peer before the
  // socket is destroyed.
  CLOSE_TIMEOUT: 30000,
  EMPTY_BUFFER: Buffer.alloc(0),
  // The magic string of RFC 6455, section 1.3, appended to the client key to
  // derive `Sec-WebSocket-Accept`.
  GUID: '258EAFA5-E914-47DA-95CA-C5AB0DC85B11',
  hasBlob,
  kForOnEventAttribute: Symbol('kIsForOnEventAttribute'),
  kListener: Symbol('kListener'),
  kStatusCode: Symbol('status-code'),
  kWebSocket: Symbol('websocket'),
  NOOP: () => {}
};
