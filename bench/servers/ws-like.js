'use strict';

/*
 * The server body for the libraries with ws's API: wsrs, and ws itself
 * (with or without bufferutil / utf-8-validate, chosen by ws's
 * WS_NO_BUFFER_UTIL / WS_NO_UTF_8_VALIDATE environment variables).
 *
 * echo: `ws.send(data, { binary: isBinary })` for every message.
 * broadcast: every message goes to every open client, through
 * `wss.broadcast(data, { binary })` when the library has it and
 * BENCH_BROADCAST is not `loop`, else through ws's documented loop over
 * `wss.clients`.
 *
 * `extra.serverOptions` is merged into the server's options (wsrs-native
 * passes `engine: 'native'`), and `extra.check(wss)`, when given, runs once
 * the server listens: if it returns a string, the server prints that as its
 * error line and exits instead of announcing itself.
 */

const { announce, fail, loaded } = require('./common');

/**
 * Starts the server.
 *
 * @param {Function} WebSocket The library's WebSocket class (with
 *     `.WebSocketServer`)
 * @param {Object} info What to put in the ready line
 * @param {import('./common').ServerOptions} opts The options
 * @param {Object} [extra] `{ serverOptions, check }`, see above
 */
function runWsLike(WebSocket, info, opts, extra = {}) {
  const { WebSocketServer } = WebSocket;
  const OPEN = WebSocket.OPEN;
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: opts.deflate,
    maxPayload: 64 * 1024 * 1024,
    ...extra.serverOptions
  });
  const useBroadcast =
    typeof wss.broadcast === 'function' &&
    process.env.BENCH_BROADCAST !== 'loop';

  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    if (opts.mode === 'echo') {
      ws.on('message', (data, isBinary) => {
        ws.send(data, { binary: isBinary });
      });
    } else if (useBroadcast) {
      ws.on('message', (data, isBinary) => {
        wss.broadcast(data, { binary: isBinary });
      });
    } else {
      ws.on('message', (data, isBinary) => {
        for (const client of wss.clients) {
          if (client.readyState === OPEN)
            client.send(data, { binary: isBinary });
        }
      });
    }
  });
  wss.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  wss.on('listening', () => {
    const problem = extra.check ? extra.check(wss) : null;
    if (problem) fail(problem);
    announce(wss.address().port, {
      ...info,
      broadcast:
        opts.mode === 'broadcast'
          ? useBroadcast
            ? 'wss.broadcast'
            : 'loop'
          : null,
      bufferutil: loaded('/node_modules/bufferutil/'),
      utf8validate: loaded('/node_modules/utf-8-validate/')
    });
  });
}

module.exports = { runWsLike };
