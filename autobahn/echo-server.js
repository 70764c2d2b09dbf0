'use strict';

// The server Autobahn's fuzzing client drives: echoes every message, with
// permessage-deflate enabled. Usage: node autobahn/echo-server.js [port]

const { WebSocketServer } = require('..');

const port = Number(process.argv[2] || 9001);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: true,
  maxPayload: 64 * 1024 * 1024
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

wss.on('listening', () => {
  if (process.send) process.send('listening');
  else console.log(`echo server on ws://127.0.0.1:${port}`);
});
