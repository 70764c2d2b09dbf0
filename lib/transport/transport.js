'use strict';

//
// The one interface between a `WebSocket` and its I/O.
//
// A `WebSocket` holds three parts: its socket, a receiver and a sender. It
// only ever uses the public surface of a Node `Duplex` on the socket:
//
//   write(), end(), destroy(), pause(), resume(), cork(), uncork(), read(),
//   `readable`, `writable`, `destroyed`, `writableLength`,
//   `writableNeedDrain`, `readableEnded`, `readableLength`, and the events
//   'data', 'end', 'close', 'error' and 'drain';
//
// and the public surface of a `Writable` on the receiver:
//
//   write(), end(), `writableFinished`, `writableNeedDrain`, and the events
//   'message', 'ping', 'pong', 'conclude', 'drain', 'error' and 'finish'.
//
// What differs between transports, a socket supplies through `kTransport`:
// a `Transport` object that builds the receiver and the sender, and starts
// the connection once the handshake is done. A `net.Socket` (or any other
// Duplex) has none and gets `nodeTransport`: the JavaScript Receiver, fed
// one socket chunk at a time, and the JavaScript Sender. A connection of
// the native engine (lib/native/connection.js) brings its own.
//

const { createHash } = require('crypto');

const Receiver = require('../receiver');
const Sender = require('../sender');
const { GUID } = require('../constants');

/**
 * @typedef {Object} Transport
 * @property {Function} acceptKey `(socket, key) => String`: the
 *     `Sec-WebSocket-Accept` value for the client's key
 * @property {Function} open `(ws, socket, options) => { receiver, sender }`:
 *     builds the parts that parse and frame for `ws`
 * @property {Function} start `(ws, socket, head) => void`: begins reading,
 *     `head` being bytes that arrived with the handshake
 */

const kTransport = Symbol('wsrs-transport');

// What a JavaScript Receiver takes over from the options of setSocket().
const RECEIVER_SETTINGS = [
  'allowSynchronousEvents',
  'maxBufferedChunks',
  'maxFragments',
  'maxPayload',
  'skipUTF8Validation'
];

/**
 * The transport of a Node socket: Rust parses each chunk the socket reads
 * (lib/receiver.js), and the Sender writes frames to the socket.
 *
 * @type {Transport}
 */
const nodeTransport = {
  acceptKey(socket, key) {
    return createHash('sha1')
      .update(key + GUID)
      .digest('base64');
  },

  open(ws, socket, options) {
    const settings = {
      binaryType: ws._binaryType,
      extensions: ws._extensions,
      isServer: ws._isServer
    };

    for (const name of RECEIVER_SETTINGS) settings[name] = options[name];

    return {
      receiver: new Receiver(settings),
      sender: new Sender(socket, ws._extensions, options.generateMask)
    };
  },

  start(ws, socket, head) {
    // A plain Duplex (e.g. in tests or custom transports) may lack these.
    if (typeof socket.setTimeout === 'function') socket.setTimeout(0);
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay();
    if (head.length > 0) socket.unshift(head);
  }
};

/**
 * The transport of a socket.
 *
 * @param {Duplex} socket The socket
 * @return {Transport}
 * @public
 */
function transportOf(socket) {
  return socket[kTransport] || nodeTransport;
}

module.exports = { kTransport, nodeTransport, transportOf };
