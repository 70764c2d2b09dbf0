'use strict';

// Fan-out benchmark server: ws with the loop its users write by hand, a
// Redis subscriber that forwards each message to `wss.clients`.

const { WebSocketServer } = require('ws');
const { createClient } = require('redis');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
const sub = createClient({ url: process.env.REDIS_URL });

sub.on('error', () => {});
sub.connect().then(async () => {
  await sub.subscribe('room', (message) => {
    for (const ws of wss.clients) {
      if (ws.readyState === 1) ws.send(message);
    }
  });
  process.stdout.write(`${JSON.stringify({ port: wss.address().port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
