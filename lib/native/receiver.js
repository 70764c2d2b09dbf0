'use strict';

const EventEmitter = require('events');

const Listeners = require('../listeners');

/**
 * Stands in for the `Receiver`: the `WebSocket`'s receiver listeners are
 * attached to it, and it emits what Rust parsed.
 *
 * @extends EventEmitter
 */
class NativeReceiver extends EventEmitter {
  /**
   * @param {String} binaryType The initial binary type
   */
  constructor(binaryType) {
    super();

    this._events = new Listeners();
    this._binaryType = binaryType;
    this._closed = false;
    // What a `WebSocket` reads of a Receiver's writable side.
    this.writableNeedDrain = false;
    this.writableFinished = false;
  }

  /**
   * Bytes never come this way; present for the socket's `'data'` listener.
   *
   * @return {Boolean}
   */
  write() {
    return true;
  }

  /**
   * Nothing more will arrive.
   */
  end() {
    this.writableFinished = true;
  }
}

module.exports = NativeReceiver;
