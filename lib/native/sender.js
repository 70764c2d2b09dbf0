'use strict';

const Sender = require('../sender');
const { CMD_FRAME, CMD_WRITE, F_COMPRESS, F_FIN } = require('./records');

// A frame list's two buffers joined into one (see NativeSender#sendFrame).
const kJoined = Symbol('wsrs-joined-frame');

/**
 * A `Sender` for the native engine: data messages are framed (and
 * compressed) by Rust; frames built here (control frames, prepared
 * broadcasts) are written as they are.
 *
 * @extends Sender
 */
class NativeSender extends Sender {
  /**
   * @param {NativeConnection} socket The connection
   * @param {Object} extensions The negotiated extensions
   */
  constructor(socket, extensions) {
    super(socket, extensions);
  }

  /**
   * Hands one data frame to Rust.
   *
   * @param {(Buffer|String)} data The payload
   * @param {Boolean} compress Whether to compress
   * @param {Object} options Frame options (`opcode`, `fin`)
   * @param {Function} [cb] Called once written
   * @private
   */
  dispatch(data, compress, options, cb) {
    let word0 = CMD_FRAME | (options.opcode << 8);
    let flags = 0;

    if (options.fin) flags |= F_FIN;
    if (compress) flags |= F_COMPRESS;
    word0 |= flags << 12;

    this._socket._send(word0, data, cb);
  }

  /**
   * Writes a frame built in JavaScript.
   *
   * @param {Buffer[]} list The frame (one or two buffers)
   * @param {Function} [cb] Called once written
   * @public
   */
  sendFrame(list, cb) {
    let bytes = list[0];

    if (list.length === 2 && list[kJoined] !== undefined) {
      bytes = list[kJoined];
    } else if (list.length === 2) {
      const payload = list[1];
      const size =
        typeof payload === 'string'
          ? Buffer.byteLength(payload)
          : payload.length;

      bytes = Buffer.allocUnsafe(list[0].length + size);
      list[0].copy(bytes, 0);
      if (typeof payload === 'string') bytes.utf8Write(payload, list[0].length);
      else bytes.set(payload, list[0].length);

      // A prepared broadcast frame comes again, as the same list, for each
      // subscriber: join it once.
      list[kJoined] = bytes;
    } else if (typeof bytes === 'string') {
      bytes = Buffer.from(bytes);
    }

    this._socket._send(CMD_WRITE, bytes, cb);
  }
}

module.exports = NativeSender;
