'use strict';

// Values shared by the lib/ modules. The names, and the descriptions of the
// symbols, are the ones ws uses, since code written against ws may import
// them from here.

/** Whether the global `Blob` class is available (Node.js >= 15.7). */
const hasBlob = typeof Blob !== 'undefined';

exports.hasBlob = hasBlob;

/**
 * The accepted values of `WebSocket#binaryType`. `'blob'` is only offered
 * when the runtime has a `Blob` class.
 *
 * @type {String[]}
 */
exports.BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments'];
if (hasBlob) exports.BINARY_TYPES.push('blob');

/**
 * Milliseconds a closing connection may wait for the peer before the socket
 * is destroyed.
 *
 * @type {Number}
 */
exports.CLOSE_TIMEOUT = 30 * 1000;

/**
 * The zero-length Buffer handed out for every empty payload.
 *
 * @type {Buffer}
 */
exports.EMPTY_BUFFER = Buffer.alloc(0);

/**
 * The magic string of RFC 6455, section 1.3, appended to the client key to
 * derive `Sec-WebSocket-Accept`.
 *
 * @type {String}
 */
exports.GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * A function that does nothing, for callbacks nobody waits on.
 *
 * @type {Function}
 */
exports.NOOP = () => {};

// Keys under which lib/ modules keep their state on objects they share
// (listeners, errors, sockets).

/** Marks a listener added through an `on<event>` attribute. */
exports.kForOnEventAttribute = Symbol('kIsForOnEventAttribute');
/** The user's function behind a wrapped EventTarget listener. */
exports.kListener = Symbol('kListener');
/** The close code that an error fails the connection with. */
exports.kStatusCode = Symbol('status-code');
/** The WebSocket a socket or receiver belongs to. */
exports.kWebSocket = Symbol('websocket');
