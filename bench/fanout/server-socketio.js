'use strict';

// Fan-out benchmark server: Socket.IO 4 with @socket.io/redis-adapter; every
// socket joins the room "room".

const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const pub = createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();

pub.on('error', () => {});
sub.on('error', () => {});
Promise.all([pub.connect(), sub.connect()]).then(() => {
  const server = http.createServer();
  const io = new Server(server, {
    adapter: createAdapter(pub, sub),
    transports: ['websocket']
  });

  io.on('connection', (socket) => socket.join('room'));
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(
      `${JSON.stringify({ port: server.address().port })}\n`
    );
  });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
