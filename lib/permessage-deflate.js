'use strict';

const { NativeDeflate, NativeInflate } = require('./native/addon');
const Limiter = require('./limiter');
const { decodeError } = require('./protocol-error');

// zlib's defaults, which ws's options mirror.
const DEFAULT_WINDOW_BITS = 15;
const DEFAULT_LEVEL = -1;
const DEFAULT_CHUNK_SIZE = 16 * 1024;
const DEFAULT_MEM_LEVEL = 8;
const DEFAULT_STRATEGY = 0;

// The zlib options wsrs honours, with the ranges Node's zlib takes. The
// window bits come from the negotiation, as in ws; a `windowBits` given here
// is checked and then, as in ws, overridden by the negotiated value.
const ZLIB_DEFLATE_OPTIONS = {
  level: [-1, 9],
  memLevel: [1, 9],
  strategy: [0, 4],
  windowBits: [8, 15],
  chunkSize: [64, Infinity]
};
const ZLIB_INFLATE_OPTIONS = {
  windowBits: [8, 15],
  chunkSize: [64, Infinity]
};

// A window bits parameter as RFC 7692 writes it: 8 to 15, in plain digits.
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

// Messages at least this large are compressed on the libuv thread pool so
// the event loop stays free; smaller ones in the calling thread, where the
// round trip to the pool would cost more than the work.
const ASYNC_COMPRESS_SIZE = 256 * 1024;

// ws bounds concurrent compression jobs process-wide; so does wsrs, for the
// jobs that go to the thread pool.
let limiter;

/**
 * permessage-deflate (RFC 7692): negotiation in JS, compression in Rust.
 */
class PerMessageDeflate {
  /**
   * Creates a PerMessageDeflate instance.
   *
   * @param {Object} [options] Configuration options
   * @param {(Boolean|Number)} [options.clientMaxWindowBits] Advertise or
   *     request the client's window size
   * @param {Boolean} [options.clientNoContextTakeover=false] Advertise or
   *     acknowledge that the client resets its context after each message
   * @param {Number} [options.concurrencyLimit=10] The most concurrent
   *     compression jobs
   * @param {Boolean} [options.isServer=false] Server or client mode
   * @param {Number} [options.maxPayload=0] The largest message after
   *     inflation
   * @param {(Boolean|Number)} [options.serverMaxWindowBits] Request or
   *     limit the server's window size
   * @param {Boolean} [options.serverNoContextTakeover=false] Request or
   *     acknowledge that the server resets its context after each message
   * @param {Number} [options.threshold=1024] Smallest payload worth
   *     compressing when there is no context takeover
   * @param {Object} [options.zlibDeflateOptions] zlib's `level`,
   *     `memLevel`, `strategy` and `chunkSize`; the window size comes from
   *     the negotiation. Any other zlib option throws, as wsrs cannot honour
   *     it
   * @param {Object} [options.zlibInflateOptions] zlib's `chunkSize` (and
   *     `windowBits`, which the negotiation overrides, as in ws)
   * @throws {TypeError|RangeError} If a zlib option is unknown to wsrs or
   *     out of zlib's range
   */
  constructor(options) {
    const settings = options || {};
    const {
      concurrencyLimit = 10,
      isServer,
      maxPayload,
      threshold = 1024
    } = settings;

    // Read as they are by the sender and by code written against ws.
    this._options = settings;
    this._zlib = {
      deflate: checkZlibOptions(
        'zlibDeflateOptions',
        settings.zlibDeflateOptions,
        ZLIB_DEFLATE_OPTIONS
      ),
      inflate: checkZlibOptions(
        'zlibInflateOptions',
        settings.zlibInflateOptions,
        ZLIB_INFLATE_OPTIONS
      )
    };
    this._isServer = !!isServer;
    this._maxPayload = maxPayload | 0;
    this._threshold = threshold;

    // The negotiated parameters, set by `accept()`; the codecs are made
    // from them on first use.
    this.params = null;
    this._inflate = null;
    this._deflate = null;
    // What `params` says of each side, worked out once per `params`.
    this._sides = null;
    this._sidesOf = null;

    // The first instance sizes the process-wide queue.
    if (limiter === undefined) limiter = new Limiter(concurrencyLimit);
  }

  /**
   * @type {String}
   */
  static get extensionName() {
    return 'permessage-deflate';
  }

  /**
   * The parameters a client offers.
   *
   * @return {Object} Extension parameters
   * @public
   */
  offer() {
    const o = this._options;
    const params = {};

    if (o.serverNoContextTakeover) params.server_no_context_takeover = true;
    if (o.clientNoContextTakeover) params.client_no_context_takeover = true;
    if (o.serverMaxWindowBits) {
      params.server_max_window_bits = o.serverMaxWindowBits;
    }
    if (o.clientMaxWindowBits) {
      params.client_max_window_bits = o.clientMaxWindowBits;
    } else if (o.clientMaxWindowBits == null) {
      params.client_max_window_bits = true;
    }

    return params;
  }

  /**
   * Accepts an offer (server) or a response (client).
   *
   * @param {Array} configurations The parsed extension parameters
   * @return {Object} The accepted parameters
   * @public
   */
  accept(configurations) {
    const normalized = this.normalizeParams(configurations);

    this.params = this._isServer
      ? this.acceptAsServer(normalized)
      : this.acceptAsClient(normalized);

    return this.params;
  }

  /**
   * Releases the codecs.
   *
   * @public
   */
  cleanup() {
    this._inflate = null;

    const deflate = this._deflate;

    this._deflate = null;

    if (deflate && deflate.pending) {
      const callback = deflate.pending;

      deflate.pending = null;
      callback(
        new Error(
          'The deflate stream was closed while data was being processed'
        )
      );
    }
  }

  /**
   * Picks the first offer the server's options allow.
   *
   * @param {Array} offers The client's offers
   * @return {Object} The accepted parameters
   * @private
   */
  acceptAsServer(offers) {
    const o = this._options;
    const acceptable = (p) => {
      if (o.serverNoContextTakeover === false && p.server_no_context_takeover) {
        return false;
      }
      if (p.server_max_window_bits) {
        if (o.serverMaxWindowBits === false) return false;
        if (
          typeof o.serverMaxWindowBits === 'number' &&
          o.serverMaxWindowBits > p.server_max_window_bits
        ) {
          return false;
        }
      }
      if (typeof o.clientMaxWindowBits !== 'number') return true;

      // A number of ours is an upper bound the client must allow: it has to
      // offer the parameter, and not with a smaller value (ws 8.22).
      const offered = p.client_max_window_bits;

      return (
        offered === true ||
        (typeof offered === 'number' && offered >= o.clientMaxWindowBits)
      );
    };
    const accepted = offers.find(acceptable);

    if (!accepted) {
      throw new Error('None of the extension offers can be accepted');
    }

    if (o.serverNoContextTakeover) accepted.server_no_context_takeover = true;
    if (o.clientNoContextTakeover) accepted.client_no_context_takeover = true;
    if (typeof o.serverMaxWindowBits === 'number') {
      accepted.server_max_window_bits = o.serverMaxWindowBits;
    }
    if (typeof o.clientMaxWindowBits === 'number') {
      accepted.client_max_window_bits = o.clientMaxWindowBits;
    } else if (
      accepted.client_max_window_bits === true ||
      o.clientMaxWindowBits === false
    ) {
      delete accepted.client_max_window_bits;
    }

    return accepted;
  }

  /**
   * Checks the server's response against what the client asked for.
   *
   * @param {Array} response The server's parameters
   * @return {Object} The accepted parameters
   * @private
   */
  acceptAsClient(response) {
    const o = this._options;
    const params = response[0];

    if (
      o.clientNoContextTakeover === false &&
      params.client_no_context_takeover
    ) {
      throw new Error('Unexpected parameter "client_no_context_takeover"');
    }

    if (!params.client_max_window_bits) {
      if (typeof o.clientMaxWindowBits === 'number') {
        params.client_max_window_bits = o.clientMaxWindowBits;
      }
    } else if (
      o.clientMaxWindowBits === false ||
      (typeof o.clientMaxWindowBits === 'number' &&
        params.client_max_window_bits > o.clientMaxWindowBits)
    ) {
      throw new Error(
        'Unexpected or invalid parameter "client_max_window_bits"'
      );
    }

    return params;
  }

  /**
   * Validates parameter values and turns them into numbers and booleans.
   *
   * @param {Array} configurations The parsed parameters
   * @return {Array} The same array, normalized
   * @private
   */
  normalizeParams(configurations) {
    for (const params of configurations) {
      for (const key of Object.keys(params)) {
        const values = params[key];

        if (values.length > 1) {
          throw new Error(`Parameter "${key}" must have only a single value`);
        }

        const value = values[0];
        const invalid = () =>
          new TypeError(`Invalid value for parameter "${key}": ${value}`);

        if (
          key === 'client_max_window_bits' ||
          key === 'server_max_window_bits'
        ) {
          if (value === true && key === 'client_max_window_bits') {
            if (!this._isServer) throw invalid();
            params[key] = true;
            continue;
          }
          // Digits only, 8 to 15: `09`, `1e1` or `10.0` are refused (ws 8.22).
          if (typeof value !== 'string' || !WINDOW_BITS.test(value))
            throw invalid();
          params[key] = Number(value);
        } else if (
          key === 'client_no_context_takeover' ||
          key === 'server_no_context_takeover'
        ) {
          if (value !== true) throw invalid();
          params[key] = true;
        } else {
          throw new Error(`Unknown parameter "${key}"`);
        }
      }
    }

    return configurations;
  }

  /**
   * Inflates a fragment of the peer's message.
   *
   * @param {Buffer} data Compressed data
   * @param {Boolean} fin Whether this is the last fragment
   * @param {Function} callback `(err, data)`
   * @public
   */
  decompress(data, fin, callback) {
    limiter.add((done) => {
      let result;
      let error = null;

      try {
        result = this._decompressSync(data, fin);
      } catch (err) {
        error = err;
      }

      done();
      callback(error, result);
    });
  }

  /**
   * Deflates a fragment of our message.
   *
   * @param {(Buffer|String)} data Data to compress
   * @param {Boolean} fin Whether this is the last fragment
   * @param {Function} callback `(err, data)`
   * @public
   */
  compress(data, fin, callback) {
    limiter.add((done) => {
      const input = typeof data === 'string' ? Buffer.from(data) : data;

      if (input.length < ASYNC_COMPRESS_SIZE) {
        let result;
        let error = null;

        // The addon turns an internal panic into an exception; hand it to
        // the callback like any other failure.
        try {
          result = this._deflater().engine.compress(input, fin);
        } catch (err) {
          error = err;
        }

        done();
        callback(error, result);
        return;
      }

      const deflate = this._deflater();

      deflate.pending = callback;
      deflate.engine.compressAsync(input, fin).then(
        (result) => {
          done();
          // After cleanup() the callback has already had its error.
          if (deflate.pending !== callback) return;
          deflate.pending = null;
          callback(null, result);
        },
        (err) => {
          done();
          if (deflate.pending !== callback) return;
          deflate.pending = null;
          callback(err);
        }
      );
    });
  }

  /**
   * wsrs: the window bits and context mode negotiated for our compressor.
   * This and `peerSide()` are the one place the negotiated parameters are
   * read, by the Sender, the Receiver, broadcasts and the native engine.
   *
   * @return {{bits: Number, reset: Boolean}} `reset`: no context takeover
   * @public
   */
  ownSide() {
    return this._side(this._isServer ? 'server' : 'client');
  }

  /**
   * wsrs: the window bits and context mode negotiated for the peer's
   * compressor (which our inflater follows).
   *
   * @return {{bits: Number, reset: Boolean}}
   * @public
   */
  peerSide() {
    return this._side(this._isServer ? 'client' : 'server');
  }

  /**
   * One side's parameters, read from `params` once per `params` object.
   *
   * @param {String} endpoint `'client'` or `'server'`
   * @return {{bits: Number, reset: Boolean}}
   * @private
   */
  _side(endpoint) {
    if (this._sidesOf !== this.params) {
      const read = (name) => {
        const bits = this.params[`${name}_max_window_bits`];

        return Object.freeze({
          bits: typeof bits === 'number' ? bits : DEFAULT_WINDOW_BITS,
          reset: !!this.params[`${name}_no_context_takeover`]
        });
      };

      this._sides = { client: read('client'), server: read('server') };
      this._sidesOf = this.params;
    }

    return this._sides[endpoint];
  }

  /**
   * Inflates synchronously.
   *
   * @param {Buffer} data Compressed data
   * @param {Boolean} fin Whether this is the last fragment
   * @return {Buffer} The inflated data
   * @private
   */
  _decompressSync(data, fin) {
    if (!this._inflate) {
      const { bits, reset } = this.peerSide();

      this._inflate = {
        engine: new NativeInflate(bits, reset),
        _chunkSize: this._zlib.inflate.chunkSize
      };
    }

    try {
      return this._inflate.engine.decompress(data, fin, this._maxPayload);
    } catch (e) {
      this._inflate = null;
      throw decodeError(e.message);
    }
  }

  /**
   * The compressor for our side, created on first use.
   *
   * @return {Object} `{ engine, pending, _level, _chunkSize }`
   * @private
   */
  _deflater() {
    if (!this._deflate) {
      const { bits, reset } = this.ownSide();
      const { level, memLevel, strategy, chunkSize } = this._zlib.deflate;

      this._deflate = {
        engine: new NativeDeflate(level, bits, reset, memLevel, strategy),
        pending: null,
        _level: level,
        _chunkSize: chunkSize
      };
    }

    return this._deflate;
  }

  /**
   * wsrs: how our compressor is made (`level`, `memLevel`, `strategy`),
   * for code that compresses once for many connections (broadcasts, the
   * native engine).
   *
   * @return {{level: Number, memLevel: Number, strategy: Number}}
   * @public
   */
  deflateSettings() {
    const { level, memLevel, strategy } = this._zlib.deflate;

    return { level, memLevel, strategy };
  }
}

/**
 * Checks the zlib options of one direction against what wsrs honours, and
 * fills in zlib's defaults.
 *
 * @param {String} name `zlibDeflateOptions` or `zlibInflateOptions`
 * @param {Object} [options] The options given
 * @param {Object} ranges The options wsrs honours, with their ranges
 * @return {Object} Every honoured option, given or zlib's default
 * @throws {TypeError} If an option is not one wsrs honours, or not a number
 * @throws {RangeError} If a number is outside zlib's range
 * @private
 */
function checkZlibOptions(name, options, ranges) {
  const settings = {
    level: DEFAULT_LEVEL,
    memLevel: DEFAULT_MEM_LEVEL,
    strategy: DEFAULT_STRATEGY,
    windowBits: DEFAULT_WINDOW_BITS,
    chunkSize: DEFAULT_CHUNK_SIZE
  };

  if (options == null) return settings;

  for (const key of Object.keys(options)) {
    const value = options[key];

    if (value === undefined) continue;

    if (!Object.prototype.hasOwnProperty.call(ranges, key)) {
      const err = new TypeError(
        `The zlib option "${key}" of ${name} is not supported by wsrs ` +
          `(it honours ${Object.keys(ranges).join(', ')})`
      );

      err.code = 'ERR_WSRS_ZLIB_OPTION';
      throw err;
    }

    const [min, max] = ranges[key];

    if (typeof value !== 'number' || Number.isNaN(value)) {
      const err = new TypeError(
        `The "${name}.${key}" option must be of type number. ` +
          `Received ${typeof value}`
      );

      err.code = 'ERR_INVALID_ARG_TYPE';
      throw err;
    }

    if (!Number.isInteger(value) || value < min || value > max) {
      const bound = max === Infinity ? `>= ${min}` : `>= ${min} and <= ${max}`;
      const err = new RangeError(
        `The value of "${name}.${key}" is out of range. It must be ${bound}. ` +
          `Received ${value}`
      );

      err.code = 'ERR_OUT_OF_RANGE';
      throw err;
    }

    settings[key] = value;
  }

  return settings;
}

module.exports = PerMessageDeflate;
