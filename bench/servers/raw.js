'use strict';

/*
 * The floor: a raw TCP server with no WebSocket at all. echo pipes every
 * socket into itself; broadcast writes every chunk read to every socket.
 * The loadgen's `--proto raw` sends blobs of the same size as its masked
 * WebSocket frames and waits for them back. See ./common.js.
 */

const net = require('net');
const { announce, start } = require('./common');

start((opts) => {
  if (opts.deflate) throw new Error('raw: no permessage-deflate');
  const sockets = new Set();
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    if (opts.mode === 'echo') {
      socket.pipe(socket);
    } else {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('data', (chunk) => {
        for (const s of sockets) s.write(chunk);
      });
    }
  });

  server.listen(0, '127.0.0.1', () => {
    announce(server.address().port, { impl: 'raw', version: process.version });
  });
});
