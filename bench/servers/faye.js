'use strict';

/*
 * faye-websocket as a benchmark server, on a plain `http` server's
 * 'upgrade' event. See ./common.js. permessage-deflate needs the separate
 * `permessage-deflate` package, which is not installed: --deflate is
 * refused.
 */

const http = require('http');
const { announce, start } = require('./common');

start((opts) => {
  if (opts.deflate) throw new Error('faye: permessage-deflate is not set up');
  const WebSocket = require('faye-websocket');
  const clients = new Set();
  const server = http.createServer((req, res) => {
    res.writeHead(426);
    res.end();
  });

  server.on('upgrade', (req, socket, body) => {
    if (!WebSocket.isWebSocket(req)) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const ws = new WebSocket(req, socket, body, [], {
      maxLength: 64 * 1024 * 1024
    });
    ws.on('open', () => clients.add(ws));
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
    if (opts.mode === 'echo') {
      ws.on('message', (event) => ws.send(event.data));
    } else {
      ws.on('message', (event) => {
        for (const client of clients) client.send(event.data);
      });
    }
  });

  server.listen(0, '127.0.0.1', () => {
    announce(server.address().port, {
      impl: 'faye',
      version: require('faye-websocket/package.json').version
    });
  });
});
