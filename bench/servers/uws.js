'use strict';

/*
 * uWebSockets.js (the @trufflesuite/uws-js-unofficial build of v20.30) as a
 * benchmark server. See ./common.js.
 *
 * echo: `ws.send(message, isBinary, compress)`. broadcast: every client
 * subscribes to one topic on open and every message is `app.publish`ed to
 * it (uWS's own fan-out), or, with BENCH_BROADCAST=loop, sent in a loop over
 * the open sockets. The package falls back to a pure-JS implementation when
 * its binary does not load; this script refuses to run in that case.
 */

const path = require('path');
const { announce, loaded, start } = require('./common');

start((opts) => {
  const uWS = require('@trufflesuite/uws-js-unofficial');
  if (!loaded(`${path.sep}uws_`) || process.env.UWS_USE_FALLBACK) {
    throw new Error('uWebSockets.js did not load its native binary');
  }
  const sockets = new Set();
  const loop = process.env.BENCH_BROADCAST === 'loop';
  const compress = opts.deflate;
  const app = uWS.App();

  app.ws('/*', {
    compression: opts.deflate
      ? uWS.DEDICATED_COMPRESSOR | uWS.DEDICATED_DECOMPRESSOR
      : uWS.DISABLED,
    maxPayloadLength: 64 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 0,
    sendPingsAutomatically: false,
    open: (ws) => {
      if (opts.mode === 'broadcast') {
        if (loop) sockets.add(ws);
        else ws.subscribe('all');
      }
    },
    message: (ws, message, isBinary) => {
      if (opts.mode === 'echo') {
        ws.send(message, isBinary, compress);
      } else if (loop) {
        for (const s of sockets) s.send(message, isBinary, compress);
      } else {
        app.publish('all', message, isBinary, compress);
      }
    },
    close: (ws) => {
      sockets.delete(ws);
    }
  });

  app.listen('127.0.0.1', 0, (token) => {
    if (!token) {
      process.stdout.write(
        JSON.stringify({ error: 'uWS could not listen' }) + '\n'
      );
      process.exit(1);
    }
    announce(uWS.us_socket_local_port(token), {
      impl: 'uws',
      version: require('@trufflesuite/uws-js-unofficial/package.json').version,
      broadcast:
        opts.mode === 'broadcast' ? (loop ? 'loop' : 'app.publish') : null
    });
  });
});
