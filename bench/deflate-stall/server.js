'use strict';

/*
 * The server of ../deflate-stall.js, forked with an IPC channel:
 *
 *   node server.js <impl>     (ws, wsrs or wsrs-native)
 *
 * An echo server with permessage-deflate (default options). It sends
 * { port } once listening; { cmd: 'start' } resets its event-loop delay
 * histogram and { cmd: 'stop' } answers { p50, p99, max } in milliseconds.
 * It exits when its parent goes, or after 120 s.
 */

const path = require('path');
const { monitorEventLoopDelay } = require('perf_hooks');

const impl = process.argv[2];
const { WebSocketServer } =
  impl === 'ws' ? require('ws') : require(path.join(__dirname, '..', '..'));

setTimeout(() => process.exit(0), 120 * 1000).unref();
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();

process.on('message', (msg) => {
  if (msg.cmd === 'start') histogram.reset();
  if (msg.cmd === 'stop') {
    const ms = (ns) => ns / 1e6;
    process.send({
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max)
    });
  }
});

const options = {
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: true,
  maxPayload: 64 * 1024 * 1024
};

if (impl === 'wsrs-native') options.engine = 'native';

const wss = new WebSocketServer(options, () => {
  process.send({ port: wss.address().port });
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
