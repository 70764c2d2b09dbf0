'use strict';

const { randomFillSync } = require('crypto');
const {
  types: { isUint8Array }
} = require('util');

const PerMessageDeflate = require('./permessage-deflate');
const { EMPTY_BUFFER, kWebSocket, NOOP } = require('./constants');
const { isBlob, isValidStatusCode } = require('./validation');
const { mask: applyMask, toBuffer } = require('./buffer-util');

// The payload's byte length, computed once by the caller of `frame()`.
const kByteLength = Symbol('kByteLength');

// The queue of a Sender that never had to queue: shared, so an idle
// connection does not hold an array of its own.
const NO_QUEUE = Object.freeze([]);

// Sender states.
const DEFAULT = 0;
const DEFLATING = 1;
const GET_BLOB_DATA = 2;

// Masking keys come from a pool of random bytes refilled 8 KiB at a time.
const POOL_SIZE = 8 * 1024;
const sharedMask = Buffer.alloc(4);
let pool = null;
let poolOffset = POOL_SIZE;

/**
 * Fills `target` with four random bytes from the pool.
 *
 * @param {Buffer} target Where the key goes
 * @private
 */
function randomMask(target) {
  if (poolOffset === POOL_SIZE) {
    if (pool === null) pool = Buffer.alloc(POOL_SIZE);
    randomFillSync(pool, 0, POOL_SIZE);
    poolOffset = 0;
  }

  target[0] = pool[poolOffset];
  target[1] = pool[poolOffset + 1];
  target[2] = pool[poolOffset + 2];
  target[3] = pool[poolOffset + 3];
  poolOffset += 4;
}

/**
 * The WebSocket frame writer. Frame headers are a few bytes and are built
 * here; masking and compression run in Rust.
 */
class Sender {
  /**
   * Creates a Sender instance.
   *
   * @param {Duplex} socket The connection's socket
   * @param {Object} [extensions] The negotiated extensions
   * @param {Function} [generateMask] Fills a 4-byte buffer with a masking key
   */
  constructor(socket, extensions, generateMask) {
    this._extensions = extensions || {};

    if (generateMask) {
      this._generateMask = generateMask;
      this._maskBuffer = Buffer.alloc(4);
    }

    this._socket = socket;
    this._firstFragment = true;
    this._compress = false;
    this._bufferedBytes = 0;
    this._queue = NO_QUEUE;
    this._state = DEFAULT;
    this._held = null;
    this.onerror = NOOP;
    this[kWebSocket] = undefined;
  }

  /**
   * Frames a payload.
   *
   * @param {(Buffer|String)} data The payload
   * @param {Object} options Options object
   * @param {Boolean} [options.fin=false] Whether to set the FIN bit
   * @param {Function} [options.generateMask] Fills the masking key
   * @param {Boolean} [options.mask=false] Whether to mask `data`
   * @param {Buffer} [options.maskBuffer] Where to store the masking key
   * @param {Number} options.opcode The opcode
   * @param {Boolean} [options.readOnly=false] Whether `data` must not be
   *     changed (then it is masked into a copy)
   * @param {Boolean} [options.rsv1=false] Whether to set the RSV1 bit
   * @return {(Buffer|String)[]} The header and the payload, or one buffer
   *     holding both
   * @public
   */
  static frame(data, options) {
    let key;
    let keyIsZero = false;
    let headerSize = 2;

    if (options.mask) {
      key = options.maskBuffer || sharedMask;
      if (options.generateMask) options.generateMask(key);
      else randomMask(key);
      keyIsZero = (key[0] | key[1] | key[2] | key[3]) === 0;
      headerSize += 4;
    }

    let length;
    let copyIntoHeader = false;

    if (typeof data !== 'string') {
      length = data.length;
      copyIntoHeader = options.mask && options.readOnly && !keyIsZero;
    } else if (
      options[kByteLength] !== undefined &&
      (!options.mask || keyIsZero)
    ) {
      length = options[kByteLength];
    } else {
      data = Buffer.from(data);
      length = data.length;
    }

    let lengthField = length;

    if (length > 0xffff) {
      headerSize += 8;
      lengthField = 127;
    } else if (length > 125) {
      headerSize += 2;
      lengthField = 126;
    }

    const head = Buffer.allocUnsafe(copyIntoHeader ? headerSize + length : headerSize);

    head[0] = (options.fin ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | options.opcode;
    head[1] = lengthField;

    if (lengthField === 126) {
      head.writeUInt16BE(length, 2);
    } else if (lengthField === 127) {
      head[2] = 0;
      head[3] = 0;
      head.writeUIntBE(length, 4, 6);
    }

    if (!options.mask) return [head, data];

    head[1] |= 0x80;
    head[headerSize - 4] = key[0];
    head[headerSize - 3] = key[1];
    head[headerSize - 2] = key[2];
    head[headerSize - 1] = key[3];

    if (keyIsZero) return [head, data];

    if (copyIntoHeader) {
      applyMask(data, key, head, headerSize, length);
      return [head];
    }

    applyMask(data, key, data, 0, length);
    return [head, data];
  }

  /**
   * Sends a close frame.
   *
   * @param {Number} [code] The status code
   * @param {(String|Buffer)} [data] The reason (at most 123 bytes)
   * @param {Boolean} [mask=false] Whether to mask the frame
   * @param {Function} [cb] Called once the frame is written
   * @public
   */
  close(code, data, mask, cb) {
    let body;

    if (code === undefined) {
      body = EMPTY_BUFFER;
    } else if (typeof code !== 'number' || !isValidStatusCode(code)) {
      throw new TypeError('First argument must be a valid error code number');
    } else if (data === undefined || !data.length) {
      body = Buffer.allocUnsafe(2);
      body.writeUInt16BE(code, 0);
    } else {
      const size = Buffer.byteLength(data);

      if (size > 123) {
        throw new RangeError('The message must not be greater than 123 bytes');
      }

      if (typeof data !== 'string' && !isUint8Array(data)) {
        throw new TypeError('Second argument must be a string or a Uint8Array');
      }

      // Every byte is written below, so unsafe allocation leaks nothing.
      body = Buffer.allocUnsafe(2 + size);
      body.writeUInt16BE(code, 0);
      if (typeof data === 'string') body.write(data, 2);
      else body.set(data, 2);
    }

    const options = this._frameOptions(0x08, body.length, mask, false, true, false);

    if (this._state !== DEFAULT) {
      this.enqueue([this.dispatch, body, false, options, cb]);
    } else {
      this.sendFrame(Sender.frame(body, options), cb);
    }
  }

  /**
   * Sends a ping frame.
   *
   * @param {*} data The payload (at most 125 bytes)
   * @param {Boolean} [mask=false] Whether to mask the frame
   * @param {Function} [cb] Called once the frame is written
   * @public
   */
  ping(data, mask, cb) {
    this._control(0x09, data, mask, cb);
  }

  /**
   * Sends a pong frame.
   *
   * @param {*} data The payload (at most 125 bytes)
   * @param {Boolean} [mask=false] Whether to mask the frame
   * @param {Function} [cb] Called once the frame is written
   * @public
   */
  pong(data, mask, cb) {
    this._control(0x0a, data, mask, cb);
  }

  /**
   * Sends a ping or pong.
   *
   * @param {Number} opcode 0x09 or 0x0a
   * @param {*} data The payload
   * @param {Boolean} mask Whether to mask the frame
   * @param {Function} [cb] Callback
   * @private
   */
  _control(opcode, data, mask, cb) {
    const { payload, byteLength, readOnly } = measure(data);
    measured.payload = null; // so the record never keeps a message alive

    if (byteLength > 125) {
      throw new RangeError('The data size must not be greater than 125 bytes');
    }

    const options = this._frameOptions(opcode, byteLength, mask, readOnly, true, false);

    if (isBlob(payload)) {
      if (this._state !== DEFAULT) {
        this.enqueue([this.getBlobData, payload, false, options, cb]);
      } else {
        this.getBlobData(payload, false, options, cb);
      }
    } else if (this._state !== DEFAULT) {
      this.enqueue([this.dispatch, payload, false, options, cb]);
    } else {
      this.sendFrame(Sender.frame(payload, options), cb);
    }
  }

  /**
   * Sends a data message (or one fragment of it).
   *
   * @param {*} data The message
   * @param {Object} options Options object
   * @param {Boolean} [options.binary=false] Binary or text
   * @param {Boolean} [options.compress=false] Whether to compress
   * @param {Boolean} [options.fin=false] Whether this is the last fragment
   * @param {Boolean} [options.mask=false] Whether to mask
   * @param {Function} [cb] Called once the frame is written
   * @public
   */
  send(data, options, cb) {
    const pmd = this._extensions[PerMessageDeflate.extensionName];
    const { payload, byteLength, readOnly } = measure(data);
    measured.payload = null; // so the record never keeps a message alive
    let opcode = options.binary ? 2 : 1;
    let rsv1 = options.compress;

    if (this._firstFragment) {
      this._firstFragment = false;

      // Without context takeover, small messages are not worth compressing;
      // the first fragment decides for the whole message.
      if (rsv1 && pmd) {
        const own = pmd._isServer ? 'server' : 'client';
        if (pmd.params[`${own}_no_context_takeover`]) {
          rsv1 = byteLength >= pmd._threshold;
        }
      }

      this._compress = rsv1;
    } else {
      rsv1 = false;
      opcode = 0;
    }

    if (options.fin) this._firstFragment = true;

    const opts = this._frameOptions(
      opcode,
      byteLength,
      options.mask,
      readOnly,
      options.fin,
      rsv1
    );

    if (isBlob(payload)) {
      if (this._state !== DEFAULT) {
        this.enqueue([this.getBlobData, payload, this._compress, opts, cb]);
      } else {
        this.getBlobData(payload, this._compress, opts, cb);
      }
    } else if (this._state !== DEFAULT) {
      this.enqueue([this.dispatch, payload, this._compress, opts, cb]);
    } else {
      this.dispatch(payload, this._compress, opts, cb);
    }

    // Messages held back while this fragmented one was in progress follow
    // its last fragment.
    if (options.fin && this._held !== null) {
      const held = this._held;

      this._held = null;
      for (const job of held) job();
    }
  }

  /**
   * wsrs: runs `job` at the next message boundary: now, unless a
   * fragmented message is in progress, in which case right after its last
   * fragment has been handed to `send()`. A data frame must not come
   * between two fragments of another message.
   *
   * @param {Function} job Sends one whole message
   * @public
   */
  afterMessage(job) {
    if (this._firstFragment) {
      job();
    } else if (this._held === null) {
      this._held = [job];
    } else {
      this._held.push(job);
    }
  }

  /**
   * wsrs: writes a frame that was built (and maybe compressed) elsewhere,
   * such as one message framed once for many sockets. It keeps its place
   * behind whatever this Sender has queued. Call it at a message boundary
   * (see `afterMessage()`).
   *
   * @param {Buffer[]} list The frame, as `frame()` returns it
   * @param {Number} byteLength The frame's size, counted in
   *     `bufferedAmount` while it waits in the queue
   * @param {Function} [cb] Called once written
   * @public
   */
  sendPrepared(list, byteLength, cb) {
    if (this._state !== DEFAULT) {
      this.enqueue([
        this._writePrepared,
        list,
        false,
        { [kByteLength]: byteLength },
        cb
      ]);
    } else {
      this.sendFrame(list, cb);
    }
  }

  /**
   * Queue entry point of `sendPrepared()`: the arguments follow the layout
   * of the other queued calls.
   *
   * @param {Buffer[]} list The frame
   * @param {Boolean} compress Unused
   * @param {Object} options Unused
   * @param {Function} [cb] Callback
   * @private
   */
  _writePrepared(list, compress, options, cb) {
    this.sendFrame(list, cb);
  }

  /**
   * The options object `frame()` takes.
   *
   * @private
   */
  _frameOptions(opcode, byteLength, mask, readOnly, fin, rsv1) {
    return {
      [kByteLength]: byteLength,
      fin,
      generateMask: this._generateMask,
      mask,
      maskBuffer: this._maskBuffer,
      opcode,
      readOnly,
      rsv1
    };
  }

  /**
   * Reads a Blob, then frames and sends it.
   *
   * @param {Blob} blob The Blob
   * @param {Boolean} compress Whether to compress
   * @param {Object} options Frame options
   * @param {Function} [cb] Callback
   * @private
   */
  getBlobData(blob, compress, options, cb) {
    this._bufferedBytes += options[kByteLength];
    this._state = GET_BLOB_DATA;

    blob
      .arrayBuffer()
      .then((arrayBuffer) => {
        if (this._socket.destroyed) {
          const err = new Error(
            'The socket was closed while the blob was being read'
          );
          process.nextTick(failAll, this, err, cb);
          return;
        }

        this._bufferedBytes -= options[kByteLength];
        const data = toBuffer(arrayBuffer);

        if (compress) {
          this.dispatch(data, compress, options, cb);
        } else {
          this._state = DEFAULT;
          this.sendFrame(Sender.frame(data, options), cb);
          this.dequeue();
        }
      })
      .catch((err) => {
        process.nextTick(failAndReport, this, err, cb);
      });
  }

  /**
   * Compresses if asked, then frames and sends.
   *
   * @param {(Buffer|String)} data The payload
   * @param {Boolean} compress Whether to compress
   * @param {Object} options Frame options
   * @param {Function} [cb] Callback
   * @private
   */
  dispatch(data, compress, options, cb) {
    if (!compress) {
      this.sendFrame(Sender.frame(data, options), cb);
      return;
    }

    const pmd = this._extensions[PerMessageDeflate.extensionName];

    this._bufferedBytes += options[kByteLength];
    this._state = DEFLATING;
    pmd.compress(data, options.fin, (err, compressed) => {
      if (err) {
        // Only an internal failure of the compressor gets here.
        failAndReport(this, err, cb);
        return;
      }

      if (this._socket.destroyed) {
        failAll(
          this,
          new Error('The socket was closed while data was being compressed'),
          cb
        );
        return;
      }

      this._bufferedBytes -= options[kByteLength];
      this._state = DEFAULT;
      options.readOnly = false;
      this.sendFrame(Sender.frame(compressed, options), cb);
      this.dequeue();
    });
  }

  /**
   * Sends queued frames while nothing is being compressed or read.
   *
   * @private
   */
  dequeue() {
    while (this._state === DEFAULT && this._queue.length) {
      const params = this._queue.shift();

      this._bufferedBytes -= params[3][kByteLength];
      Reflect.apply(params[0], this, params.slice(1));
    }
  }

  /**
   * Queues a frame until the current one is sent.
   *
   * @param {Array} params The method and its arguments
   * @private
   */
  enqueue(params) {
    this._bufferedBytes += params[3][kByteLength];
    if (this._queue === NO_QUEUE) this._queue = [];
    this._queue.push(params);
  }

  /**
   * Writes a framed message (one or two buffers) to the socket.
   *
   * @param {(Buffer|String)[]} list The frame
   * @param {Function} [cb] Called once written
   * @public
   */
  sendFrame(list, cb) {
    if (list.length === 2) {
      this._socket.cork();
      this._socket.write(list[0]);
      this._socket.write(list[1], cb);
      this._socket.uncork();
    } else {
      this._socket.write(list[0], cb);
    }
  }
}

module.exports = Sender;

// What `measure()` found. One record serves every call: callers read it
// right away, so no object is allocated per message.
const measured = { payload: null, byteLength: 0, readOnly: false };

/**
 * Normalises a payload: strings and Blobs are kept, everything else
 * becomes a Buffer.
 *
 * @param {*} data The payload
 * @return {{payload: *, byteLength: Number, readOnly: Boolean}} The shared
 *     record, valid until the next call
 * @private
 */
function measure(data) {
  if (typeof data === 'string') {
    measured.payload = data;
    measured.byteLength = Buffer.byteLength(data);
    measured.readOnly = false;
  } else if (isBlob(data)) {
    measured.payload = data;
    measured.byteLength = data.size;
    measured.readOnly = false;
  } else {
    const payload = toBuffer(data);

    measured.payload = payload;
    measured.byteLength = payload.length;
    measured.readOnly = toBuffer.readOnly;
  }

  return measured;
}

/**
 * Calls `cb` and every queued callback with `err`.
 *
 * @param {Sender} sender The Sender
 * @param {Error} err The error
 * @param {Function} [cb] The current callback
 * @private
 */
function failAll(sender, err, cb) {
  if (typeof cb === 'function') cb(err);

  for (const params of sender._queue) {
    const callback = params[params.length - 1];
    if (typeof callback === 'function') callback(err);
  }
}

/**
 * Like `failAll()`, then reports the error through `onerror`.
 *
 * @private
 */
function failAndReport(sender, err, cb) {
  failAll(sender, err, cb);
  sender.onerror(err);
}
