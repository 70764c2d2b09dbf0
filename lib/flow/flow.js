'use strict';

//
// Per-connection extras that ws does not have, all opt-in: send
// backpressure (`send()` returning `false` above a high-water mark, then a
// `'drain'` event), the heartbeat (ping every `interval` ms, terminate a
// peer that stays silent for `timeout` ms) and the idle timeout (close with
// 1001 after no message in either direction for that long).
//
// The state lives under one symbol on the WebSocket, so that code which
// inspects a ws instance's own keys sees nothing new.
//

const { NOOP } = require('../constants');
const { OPEN } = require('../ready-states');

const kFlow = Symbol('wsrs-flow');

/** The default of the `sendHighWaterMark` option, in bytes. */
const DEFAULT_HIGH_WATER_MARK = 16 * 1024;

// The flow state of endpoints with the default high-water mark and no
// heartbeat or idle timeout, until one of them has a `'drain'` to track.
const SHARED_FLOW = Object.freeze({
  highWaterMark: DEFAULT_HIGH_WATER_MARK,
  needDrain: false,
  watchingSocket: false,
  check: null,
  heartbeat: null,
  idle: null
});

// Frame header plus what deflate may add to incompressible data: the margin
// by which a frame can exceed the size of its payload.
const FRAME_OVERHEAD = 64;

/**
 * Checks the options this module reads and throws the error a bad value
 * deserves. Run by the WebSocketServer and client constructors, so that a
 * mistake surfaces where the options are given.
 *
 * @param {Object} options The user's options
 * @throws {TypeError|RangeError} If an option is invalid
 * @public
 */
function validateFlowOptions(options) {
  if (!options) return;

  const { heartbeat, idleTimeout, sendHighWaterMark } = options;

  if (sendHighWaterMark !== undefined) {
    checkNumber('sendHighWaterMark', sendHighWaterMark, 0);
  }

  if (idleTimeout !== undefined && idleTimeout !== null && idleTimeout !== 0) {
    checkNumber('idleTimeout', idleTimeout, 1);
  }

  if (heartbeat !== undefined && heartbeat !== null && heartbeat !== false) {
    if (typeof heartbeat !== 'object') {
      throw new TypeError(
        'The "heartbeat" option must be an object like ' +
          '{ interval, timeout }'
      );
    }

    checkNumber('heartbeat.interval', heartbeat.interval, 1);
    checkNumber('heartbeat.timeout', heartbeat.timeout, 1);
  }
}

/**
 * Throws unless `value` is a finite number of at least `min`.
 *
 * @param {String} name The option's name, for the message
 * @param {*} value The value
 * @param {Number} min The smallest accepted value
 * @private
 */
function checkNumber(name, value, min) {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`The "${name}" option must be a number`);
  }

  if (value < min || value === Infinity) {
    throw new RangeError(
      `The "${name}" option must be a finite number >= ${min}`
    );
  }
}

/**
 * Gives a WebSocket its flow state from the (already validated) options.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Object} [options] Client or server options
 * @param {Number} [options.sendHighWaterMark=16384] Bytes
 * @param {Object} [options.heartbeat] `{ interval, timeout }` in ms
 * @param {Number} [options.idleTimeout] Milliseconds
 * @public
 */
function initFlow(ws, options) {
  const opts = options || {};
  const heartbeat = opts.heartbeat;
  const highWaterMark =
    opts.sendHighWaterMark !== undefined
      ? opts.sendHighWaterMark
      : DEFAULT_HIGH_WATER_MARK;

  if (
    !(heartbeat && typeof heartbeat === 'object') &&
    !(opts.idleTimeout > 0) &&
    highWaterMark === DEFAULT_HIGH_WATER_MARK
  ) {
    // Nothing per connection yet: share the defaults until `'drain'` has
    // to be tracked (see `ownFlow()`).
    ws[kFlow] = SHARED_FLOW;
    return;
  }

  ws[kFlow] = {
    highWaterMark,
    needDrain: false,
    watchingSocket: false,
    check: null,
    heartbeat:
      heartbeat && typeof heartbeat === 'object'
        ? {
            interval: heartbeat.interval,
            timeout: heartbeat.timeout,
            timer: null,
            expiry: null,
            waiting: false,
            answered: false,
            onData: null
          }
        : null,
    idle: opts.idleTimeout > 0 ? { ms: opts.idleTimeout, timer: null } : null
  };
}

/**
 * The flow state of `ws` that it may change: its own copy of the shared
 * defaults if it had none, with its `'drain'` check.
 *
 * @param {WebSocket} ws The endpoint
 * @return {Object}
 * @private
 */
function ownFlow(ws) {
  let flow = ws[kFlow];

  if (flow === SHARED_FLOW) {
    flow = ws[kFlow] = { ...SHARED_FLOW };
  }

  if (flow.check === null) flow.check = () => checkDrain(ws);
  return flow;
}

/**
 * Starts the timers of an endpoint that has just opened.
 *
 * @param {WebSocket} ws The endpoint, with its socket and receiver set
 * @public
 */
function startFlow(ws) {
  const flow = ws[kFlow];
  const hb = flow.heartbeat;

  if (hb !== null) {
    // Any byte from the peer proves it is alive, not only a pong.
    hb.onData = () => {
      hb.answered = true;

      if (hb.waiting) {
        hb.waiting = false;
        clearTimeout(hb.expiry);
        hb.expiry = null;
      }
    };
    ws._socket.on('data', hb.onData);
    hb.timer = setInterval(heartbeatTick, hb.interval, ws);
    hb.timer.unref();
  }

  const idle = flow.idle;

  if (idle !== null) {
    idle.timer = setTimeout(idleExpired, idle.ms, ws);
    idle.timer.unref();
    ws._receiver.on('message', () => touch(ws));
  }
}

/**
 * Clears the timers and listeners of an endpoint that is going away. Safe
 * to call more than once.
 *
 * @param {WebSocket} ws The endpoint
 * @public
 */
function stopFlow(ws) {
  const flow = ws[kFlow];
  const hb = flow.heartbeat;

  if (flow !== SHARED_FLOW) flow.needDrain = false;

  if (hb !== null) {
    clearInterval(hb.timer);
    clearTimeout(hb.expiry);
    hb.timer = null;
    hb.expiry = null;
    hb.waiting = false;

    if (hb.onData !== null) {
      ws._socket.removeListener('data', hb.onData);
      hb.onData = null;
    }
  }

  if (flow.idle !== null) {
    clearTimeout(flow.idle.timer);
    flow.idle.timer = null;
  }
}

/**
 * Records message traffic for the idle timeout.
 *
 * @param {WebSocket} ws The endpoint
 * @public
 */
function touch(ws) {
  const idle = ws[kFlow].idle;

  if (idle !== null && idle.timer !== null) idle.timer.refresh();
}

/**
 * Returns the callback to give the Sender for a message of about `size`
 * bytes. When the message may take the buffered amount to the high-water
 * mark, the callback is wrapped so that its completion checks for
 * `'drain'`.
 *
 * @param {WebSocket} ws The endpoint
 * @param {Number} size An upper bound of the payload's size
 * @param {Function} [cb] The user's callback
 * @return {(Function|undefined)} The callback to use
 * @public
 */
function sendCallback(ws, size, cb) {
  const flow = ws[kFlow];

  if (ws.bufferedAmount + size + FRAME_OVERHEAD < flow.highWaterMark) {
    return cb;
  }

  const check = ownFlow(ws).check;

  if (typeof cb !== 'function') return check;

  return (err) => {
    cb(err);
    check();
  };
}

/**
 * The callback for a frame written by `publish()`/`broadcast()`: it checks
 * for `'drain'` once the frame is out.
 *
 * @param {WebSocket} ws The endpoint
 * @return {Function}
 * @public
 */
function drainCallback(ws) {
  return ownFlow(ws).check;
}

/**
 * After a write: tells whether the buffered amount is still under the
 * high-water mark, and if not, arranges for `'drain'`.
 *
 * @param {WebSocket} ws The endpoint
 * @return {Boolean} `true` if under the mark
 * @public
 */
function afterWrite(ws) {
  if (ws.bufferedAmount < ws[kFlow].highWaterMark) return true;

  const flow = ownFlow(ws);

  flow.needDrain = true;

  // Frames written with a checking callback catch most cases; the socket's
  // own `'drain'` catches the bytes that went out without one.
  const socket = ws._socket;

  if (!flow.watchingSocket && socket.writableNeedDrain) {
    flow.watchingSocket = true;
    socket.once('drain', () => {
      flow.watchingSocket = false;
      checkDrain(ws);
    });
  }

  return false;
}

/**
 * Emits `'drain'` if one is owed and the buffered amount is under the mark.
 *
 * @param {WebSocket} ws The endpoint
 * @private
 */
function checkDrain(ws) {
  const flow = ws[kFlow];

  if (!flow.needDrain || ws.readyState !== OPEN) return;
  if (ws.bufferedAmount >= flow.highWaterMark) return;

  flow.needDrain = false;
  ws.emit('drain');
}

/**
 * The heartbeat's interval: ping, and give the peer `timeout` ms to answer.
 * A paused socket is skipped, since its answer could not be read.
 *
 * @param {WebSocket} ws The endpoint
 * @private
 */
function heartbeatTick(ws) {
  const hb = ws[kFlow].heartbeat;

  if (ws.readyState !== OPEN || ws.isPaused || hb.waiting) return;

  hb.waiting = true;
  hb.answered = false;
  ws.ping(NOOP);
  hb.expiry = setTimeout(heartbeatExpired, hb.timeout, ws);
  hb.expiry.unref();
}

/**
 * The peer had `timeout` ms to answer the last ping.
 *
 * @param {WebSocket} ws The endpoint
 * @private
 */
function heartbeatExpired(ws) {
  const hb = ws[kFlow].heartbeat;

  hb.expiry = null;
  hb.waiting = false;

  // Paused since the ping: the answer may be waiting unread.
  if (hb.answered || ws.isPaused || ws.readyState !== OPEN) return;

  ws.terminate();
}

/**
 * No message went either way for `idleTimeout` ms.
 *
 * @param {WebSocket} ws The endpoint
 * @private
 */
function idleExpired(ws) {
  const idle = ws[kFlow].idle;

  if (ws.readyState !== OPEN) return;

  // A paused socket may have messages waiting unread.
  if (ws.isPaused) {
    idle.timer.refresh();
    return;
  }

  ws.close(1001);
}

/**
 * Emits `'drain'` if one is owed and due; for writers that learn of
 * progress other than through write callbacks (the native engine).
 *
 * @param {WebSocket} ws The endpoint
 * @public
 */
function drainIfOwed(ws) {
  if (ws[kFlow].needDrain) checkDrain(ws);
}

module.exports = {
  DEFAULT_HIGH_WATER_MARK,
  afterWrite,
  drainIfOwed,
  drainCallback,
  initFlow,
  kFlow,
  sendCallback,
  startFlow,
  stopFlow,
  touch,
  validateFlowOptions
};
