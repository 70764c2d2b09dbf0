'use strict';

/*
 * One server of the deflate memory benchmark (../deflate-memory.js), forked
 * with an IPC channel and --expose-gc.
 *
 *   node --expose-gc server.js <impl> <deflate>
 *
 * impl: ws, wsrs, wsrs-native or uws; deflate: none, default (the server's
 * default permessage-deflate options) or nct (serverNoContextTakeover and
 * clientNoContextTakeover). Every message is echoed. It sends
 * { port } once listening, answers { cmd: 'rss' } with { rss, heap, external } after two
 * full collections, and exits when its parent goes or after 300 s.
 */

const path = require('path');

const [impl, deflate] = process.argv.slice(2);
const root = path.join(__dirname, '..', '..');

setTimeout(() => process.exit(0), 300 * 1000).unref();
process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => {
  if (msg.cmd !== 'rss') return;
  global.gc();
  global.gc();
  setTimeout(() => {
    const m = process.memoryUsage();
    process.send({ rss: m.rss, heap: m.heapUsed, external: m.external });
  }, 200);
});

/**
 * The permessage-deflate option of ws and wsrs for `deflate`.
 *
 * @return {(Boolean|Object)}
 */
function wsOption() {
  if (deflate === 'none') return false;
  if (deflate === 'default') return true;
  return { serverNoContextTakeover: true, clientNoContextTakeover: true };
}

if (impl === 'uws') {
  const uWS = require('@trufflesuite/uws-js-unofficial');
  const app = uWS.App();
  app.ws('/*', {
    compression:
      deflate === 'none'
        ? uWS.DISABLED
        : uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR,
    maxPayloadLength: 1 << 20,
    idleTimeout: 0,
    message: (ws, message, isBinary) => ws.send(message, isBinary, true)
  });
  app.listen('127.0.0.1', 0, (token) => {
    process.send({ port: uWS.us_socket_local_port(token) });
  });
} else {
  const { WebSocketServer } = impl === 'ws' ? require('ws') : require(root);
  const options = {
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: wsOption()
  };

  if (impl === 'wsrs-native') options.engine = 'native';

  const wss = new WebSocketServer(options, () => {
    process.send({ port: wss.address().port });
  });

  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}
