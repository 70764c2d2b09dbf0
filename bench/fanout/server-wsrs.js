'use strict';

// Fan-out benchmark server: wsrs with a RedisBackplane. Every client is
// subscribed to the topic "room".

const { WebSocketServer } = require('../..');
const { RedisBackplane } = require('../../lib/backplane/redis');

const backplane = new RedisBackplane({ url: process.env.REDIS_URL });
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backplane });

wss.on('connection', (ws) => ws.subscribe('room'));
wss.on('listening', () => {
  const report = () =>
    process.stdout.write(`${JSON.stringify({ port: wss.address().port })}\n`);

  if (backplane.isUp) report();
  else backplane.once('up', report);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
