'use strict';

const { randomFillSync } = require('crypto');
const { isUint8Array } = require('util').types;

const { EMPTY_BUFFER, NOOP, kWebSocket } = require('./constants');
const { toBuffer, mask: applyMask } = require('./buffer-util');
const { isValidStatusCode, isBlob } = require('./validation');
const PerMessageDeflate = require('./permessage-deflate');

// Frame options key: the payload's size in bytes, measured once by whoever
// builds the options, so `frame()` need not measure a string again and a
// queued frame knows what it adds to `_bufferedBytes`.
const kSize = Symbol('wsrs.payloadSize');

// The queue of a Sender that never had to queue: shared, so an idle
// connection does not hold an array of its own.
const NO_QUEUE = Object.freeze([]);

// Values of `_state` (ws's tests read them). Only an IDLE Sender writes;
// otherwise it waits for the compressor or for a Blob's bytes, and frames
// line up in `_queue` behind the one it waits for.
const IDLE = 0;
const DEFLATING = 1;
const READING_BLOB = 2;

// Errors of a frame whose socket was destroyed while the Sender waited.
const CLOSED_WHILE_READING =
  'The socket was closed while the blob was being read';
const CLOSED_WHILE_COMPRESSING =
  'The socket was closed while data was being compressed';

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
    // Where frames go, and what the handshake agreed on.
    this._socket = socket;
    this._extensions = extensions || {};

    // The wait (see IDLE), the frames queued behind it, and their bytes
    // (which the WebSocket adds to `bufferedAmount`).
    this._state = IDLE;
    this._bufferedBytes = 0;
    this._queue = NO_QUEUE;

    // The owning WebSocket, and where a failure while waiting is reported.
    this[kWebSocket] = undefined;
    this.onerror = NOOP;

    // The message in progress: whether the next `send()` starts a new one,
    // whether it is compressed, and the whole messages `afterMessage()`
    // holds back until it ends.
    this._firstFragment = true;
    this._compress = false;
    this._held = null;

    // A mask generator of the user's writes into a key buffer of this
    // Sender's own; without one, `frame()` takes keys from the shared pool.
    if (generateMask) {
      this._generateMask = generateMask;
      this._maskBuffer = Buffer.alloc(4);
    }
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
    } else if (options[kSize] !== undefined && (!options.mask || keyIsZero)) {
      length = options[kSize];
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

    const head = Buffer.allocUnsafe(
      copyIntoHeader ? headerSize + length : headerSize
    );

    head[0] =
      (options.fin ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | options.opcode;
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

    const options = this._frameOptions(
      0x08,
      body.length,
      mask,
      false,
      true,
      false
    );

    route(this, body, false, false, options, cb, true);
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
    const { payload, byteLength, readOnly, blob } = measure(data);
    measured.payload = null; // so the record never keeps a message alive

    if (byteLength > 125) {
      throw new RangeError('The data size must not be greater than 125 bytes');
    }

    const options = this._frameOptions(
      opcode,
      byteLength,
      mask,
      readOnly,
      true,
      false
    );

    route(this, payload, blob, false, options, cb, true);
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
    const { payload, byteLength, readOnly, blob } = measure(data);
    measured.payload = null; // so the record never keeps a message alive
    let opcode = options.binary ? 2 : 1;
    let rsv1 = options.compress;

    if (this._firstFragment) {
      this._firstFragment = false;

      // Without context takeover, small messages are not worth compressing;
      // the first fragment decides for the whole message.
      if (rsv1 && pmd && pmd.ownSide().reset) {
        rsv1 = byteLength >= pmd._threshold;
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

    route(this, payload, blob, this._compress, opts, cb, false);

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
    if (this._state === IDLE) {
      this.sendFrame(list, cb);
    } else {
      const options = { [kSize]: byteLength };

      this.enqueue(this._writePrepared, list, false, options, cb);
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
      [kSize]: byteLength,
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
   * Reads a Blob, then frames and sends it (compressed first if asked).
   * The Sender waits meanwhile: later frames queue up behind this one.
   *
   * @param {Blob} blob The Blob
   * @param {Boolean} compress Whether to compress
   * @param {Object} options Frame options
   * @param {Function} [cb] Callback
   * @private
   */
  getBlobData(blob, compress, options, cb) {
    this._bufferedBytes += options[kSize];
    this._state = READING_BLOB;

    const reading = blob.arrayBuffer();

    reading
      .then((bytes) => blobArrived(this, bytes, compress, options, cb))
      .catch((err) => process.nextTick(failAndReport, this, err, cb));
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
    if (compress) deflate(this, data, options, cb);
    else this.sendFrame(Sender.frame(data, options), cb);
  }

  /**
   * Runs the queued steps, oldest first, for as long as the Sender stays
   * idle: a step that starts a new wait leaves the rest queued.
   *
   * @private
   */
  dequeue() {
    const queue = this._queue;

    while (queue.length > 0 && this._state === IDLE) {
      const job = queue.shift();

      this._bufferedBytes -= job.size;
      job.step.call(this, job.payload, job.compress, job.options, job.cb);
    }
  }

  /**
   * Queues a step (`dispatch()`, `getBlobData()` or `_writePrepared()`)
   * with its arguments until the Sender is idle again.
   *
   * @param {Function} step The method to call
   * @param {*} payload Its payload
   * @param {Boolean} compress Whether to compress
   * @param {Object} options Frame options (their size counts as buffered)
   * @param {Function} [cb] Callback
   * @private
   */
  enqueue(step, payload, compress, options, cb) {
    const job = { step, payload, compress, options, cb, size: options[kSize] };

    this._bufferedBytes += job.size;
    if (this._queue === NO_QUEUE) this._queue = [job];
    else this._queue.push(job);
  }

  /**
   * Writes a framed message (one or two buffers) to the socket.
   *
   * @param {(Buffer|String)[]} list The frame
   * @param {Function} [cb] Called once written
   * @public
   */
  sendFrame(list, cb) {
    const socket = this._socket;

    if (list.length !== 2) {
      socket.write(list[0], cb);
      return;
    }

    // Header and payload are separate buffers: corked, they leave together.
    socket.cork();
    socket.write(list[0]);
    socket.write(list[1], cb);
    socket.uncork();
  }
}

/**
 * Sets a frame on its way. A Blob is read first (`getBlobData()`); any
 * other payload goes to `dispatch()`, except that a control frame sent at
 * once is framed and written directly. While the Sender waits, the step is
 * queued instead.
 *
 * @param {Sender} sender The Sender
 * @param {*} payload The payload, as `measure()` left it
 * @param {Boolean} blob Whether it is a Blob (as `measure()` found)
 * @param {Boolean} compress Whether to compress
 * @param {Object} options Frame options
 * @param {Function} [cb] Callback
 * @param {Boolean} control Whether this is a close, ping or pong frame
 * @private
 */
function route(sender, payload, blob, compress, options, cb, control) {
  if (sender._state !== IDLE) {
    const step = blob ? sender.getBlobData : sender.dispatch;

    sender.enqueue(step, payload, compress, options, cb);
  } else if (blob) {
    sender.getBlobData(payload, compress, options, cb);
  } else if (control) {
    sender.sendFrame(Sender.frame(payload, options), cb);
  } else {
    sender.dispatch(payload, compress, options, cb);
  }
}

/**
 * The second half of `getBlobData()`: the Blob's bytes are in. Unless the
 * socket went away meanwhile, they are sent, or handed to `dispatch()` to
 * be compressed.
 *
 * @param {Sender} sender The Sender
 * @param {ArrayBuffer} bytes The Blob's contents
 * @param {Boolean} compress Whether to compress
 * @param {Object} options Frame options
 * @param {Function} [cb] Callback
 * @private
 */
function blobArrived(sender, bytes, compress, options, cb) {
  if (sender._socket.destroyed) {
    const err = new Error(CLOSED_WHILE_READING);

    process.nextTick(failAll, sender, err, cb);
    return;
  }

  sender._bufferedBytes -= options[kSize];

  const data = toBuffer(bytes);

  // The wait for the Blob is over. A compression started by `dispatch()`
  // begins a wait of its own (the JavaScript Sender's); a dispatch that
  // hands the frame on at once (the native engine's) leaves the Sender
  // idle, and the queue runs on.
  sender._state = IDLE;
  if (compress) sender.dispatch(data, compress, options, cb);
  else sender.sendFrame(Sender.frame(data, options), cb);
  sender.dequeue();
}

/**
 * Compresses one frame's payload through permessage-deflate, the Sender
 * waiting until the compressor calls back.
 *
 * @param {Sender} sender The Sender
 * @param {(Buffer|String)} data The payload
 * @param {Object} options Frame options
 * @param {Function} [cb] Callback
 * @private
 */
function deflate(sender, data, options, cb) {
  const pmd = sender._extensions[PerMessageDeflate.extensionName];
  const size = options[kSize];

  sender._bufferedBytes += size;
  sender._state = DEFLATING;
  pmd.compress(data, options.fin, (err, compressed) => {
    if (sender._socket.destroyed) {
      // The connection went while the compression ran (its cleanup() may
      // be what ended it): the callbacks learn of it, as in ws; it is not
      // an error of the WebSocket.
      failAll(sender, new Error(CLOSED_WHILE_COMPRESSING), cb);
    } else if (err) {
      // Only an internal failure of the compressor gets here.
      failAndReport(sender, err, cb);
    } else {
      sender._bufferedBytes -= size;
      // The compressed bytes are a fresh buffer: mask them in place.
      options.readOnly = false;
      resume(sender, compressed, options, cb);
    }
  });
}

/**
 * Ends a wait: the Sender is idle again, the frame it waited for goes out,
 * and the queue runs until the next wait.
 *
 * @param {Sender} sender The Sender
 * @param {Buffer} payload The payload, ready to frame
 * @param {Object} options Frame options
 * @param {Function} [cb] Callback
 * @private
 */
function resume(sender, payload, options, cb) {
  sender._state = IDLE;
  sender.sendFrame(Sender.frame(payload, options), cb);
  sender.dequeue();
}

// What `measure()` found. One record serves every call: callers read it
// right away, so no object is allocated per message.
const measured = { payload: null, byteLength: 0, readOnly: false, blob: false };

/**
 * Normalises a payload: strings and Blobs are kept, everything else
 * becomes a Buffer. This is the one place a send tells a Blob from the
 * rest, and the one `toBuffer()` of its payload.
 *
 * @param {*} data The payload
 * @return {{payload: *, byteLength: Number, readOnly: Boolean, blob: Boolean}}
 *     The shared record, valid until the next call
 * @private
 */
function measure(data) {
  measured.blob = false;
  measured.readOnly = false;

  if (typeof data === 'string') {
    measured.payload = data;
    measured.byteLength = Buffer.byteLength(data);
  } else if (Buffer.isBuffer(data) || !isBlob(data)) {
    const payload = toBuffer(data);

    measured.payload = payload;
    measured.byteLength = payload.length;
    measured.readOnly = toBuffer.readOnly;
  } else {
    measured.payload = data;
    measured.byteLength = data.size;
    measured.blob = true;
  }

  return measured;
}

/**
 * Calls `cb` and then the callback of every queued frame with `err`.
 *
 * @param {Sender} sender The Sender
 * @param {Error} err The error
 * @param {Function} [cb] The current callback
 * @private
 */
function failAll(sender, err, cb) {
  if (typeof cb === 'function') cb(err);

  for (const job of sender._queue) {
    if (typeof job.cb === 'function') job.cb(err);
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

module.exports = Sender;
