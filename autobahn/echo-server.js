'use strict';

// The server Autobahn's fuzzing client drives: echoes every message, with
// permessage-deflate enabled. Usage: node autobahn/echo-server.js [port]
// [engine]; with an engine (`native`), it is passed as the server's `engine`
// option, and for `native` the server refuses to run if Node itself holds
// the listening socket (a wsrs without that engine ignores the option).

const { WebSocketServer } = require('..');

const port = Number(process.argv[2] || 9001);
const MAX_FRAGMENTS = 128 * 1024;
const engine = process.argv[3] || null;
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: true,
  maxPayload: 64 * 1024 * 1024,
  // Cases 9.3.1 and 9.4.1 send 4 MiB in 64-byte fragments: 65,536 of them,
  // over the 16,384 that ws 8.22 made the default.
  maxFragments: MAX_FRAGMENTS,
  ...(engine ? { engine } : {})
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

wss.on('listening', () => {
  if (
    engine === 'native' &&
    process.getActiveResourcesInfo().includes('TCPServerWrap')
  ) {
    console.error(
      "echo server: engine: 'native' was not honoured: the listening socket " +
        'is a Node one (TCPServerWrap), so this build of wsrs has no native engine'
    );
    process.exit(1);
  }
  if (process.send) process.send('listening');
  else console.log(`echo server on ws://127.0.0.1:${port}${engine ? ` (engine: ${engine})` : ''}`);
});
