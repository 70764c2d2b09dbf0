'use strict';

const { Duplex } = require('stream');

// Duplex options the caller cannot override: the stream is torn down, and
// emits `'close'`, by hand (following the WebSocket), and its writable side
// takes bytes and strings, each chunk sent as one message.
const FORCED_OPTIONS = {
  autoDestroy: false,
  emitClose: false,
  objectMode: false,
  writableObjectMode: false
};

/**
 * Emits `'close'` on a duplex (the stream is built with `emitClose: false`,
 * so this is done by hand once the WebSocket is gone).
 *
 * @param {Duplex} duplex The stream
 * @private
 */
function announceClose(duplex) {
  duplex.emit('close');
}

/**
 * `'end'` listener: once both sides are done, the stream is torn down.
 *
 * @private
 */
function destroyWhenFinished() {
  if (this.destroyed) return;
  if (this._writableState.finished) this.destroy();
}

/**
 * Default `'error'` listener. It destroys the stream and, when nobody else
 * listens for errors, emits the error again so that it is thrown as usual.
 *
 * @param {Error} err The error
 * @private
 */
function destroyOnError(err) {
  this.removeListener('error', destroyOnError);
  this.destroy();

  if (this.listenerCount('error') === 0) this.emit('error', err);
}

/**
 * Wraps a `WebSocket` in a `Duplex` stream. Messages become readable chunks
 * and every written chunk is sent as one message.
 *
 * @param {WebSocket} ws The WebSocket
 * @param {Object} [options] Options for the `Duplex` constructor
 * @return {Duplex} The stream
 * @public
 */
function createWebSocketStream(ws, options) {
  // Cleared when the WebSocket itself reported an error. It then closes the
  // connection on its own (sending a close frame), so `_destroy()` must not
  // cut it short with `terminate()`.
  let mayTerminate = true;

  const duplex = new Duplex({ ...options, ...FORCED_OPTIONS });

  ws.on('message', (data, isBinary) => {
    const chunk =
      !isBinary && duplex._readableState.objectMode ? data.toString() : data;

    if (!duplex.push(chunk)) ws.pause();
  });

  ws.once('error', (err) => {
    if (duplex.destroyed) return;

    mayTerminate = false;
    duplex.destroy(err);
  });

  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });

  duplex._destroy = function (err, callback) {
    if (ws.readyState === ws.CLOSED) {
      callback(err);
      process.nextTick(announceClose, duplex);
      return;
    }

    let reported = false;

    // An error raised while the connection is torn down wins over `err`.
    ws.once('error', (wsError) => {
      reported = true;
      callback(wsError);
    });

    ws.once('close', () => {
      if (!reported) callback(err);
      process.nextTick(announceClose, duplex);
    });

    if (mayTerminate) ws.terminate();
  };

  duplex._final = function (callback) {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }

    const socket = ws._socket;

    // A client whose handshake failed never gets a socket; its `'error'`
    // event will destroy the stream.
    if (socket === null) return;

    if (socket._writableState.finished) {
      callback();
      if (duplex._readableState.endEmitted) duplex.destroy();
      return;
    }

    // `'end'` comes later, when the WebSocket emits `'close'` and the end of
    // the readable side is pushed; `destroyWhenFinished()` handles it then.
    socket.once('finish', () => callback());
    ws.close();
  };

  duplex._read = function () {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = function (chunk, encoding, callback) {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, encoding, callback));
      return;
    }

    ws.send(chunk, callback);
  };

  duplex.on('end', destroyWhenFinished);
  duplex.on('error', destroyOnError);

  return duplex;
}

module.exports = createWebSocketStream;
