'use strict';

// `npm start`: builds the addon if needed, then shows the native helpers at
// work on data sent through a TCP echo server on 127.0.0.1.

const net = require('net');
const { ensureBuilt } = require('./ensure-built');

ensureBuilt();

const bufferUtil = require('../bufferutil');
const isValidUTF8 = require('../utf-8-validate');

const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const text = Buffer.from('Hello from wsrs: κόσμε, 世界 🌍');

const server = net.createServer((socket) => socket.pipe(socket));

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`echo server listening on 127.0.0.1:${port}`);

  const masked = Buffer.alloc(text.length);
  bufferUtil.mask(text, mask, masked, 0, text.length);
  console.log(`masked ${text.length} bytes:  ${masked.toString('hex').slice(0, 48)}...`);

  const client = net.connect(port, '127.0.0.1', () => client.end(masked));
  const chunks = [];
  client.on('data', (c) => chunks.push(c));
  client.on('end', () => {
    const echoed = Buffer.concat(chunks);
    console.log(`echoed back ${echoed.length} bytes through 127.0.0.1`);
    bufferUtil.unmask(echoed, mask);
    console.log(`unmasked:            ${echoed.toString()}`);
    console.log(`valid UTF-8:         ${isValidUTF8(echoed)}`);
    const broken = Buffer.concat([echoed, Buffer.from([0xed, 0xa0, 0x80])]);
    console.log(`with a surrogate:    ${isValidUTF8(broken)}`);
    server.close(() => console.log('server closed, done'));
  });
});

// Never hang: the demo is bounded in time.
setTimeout(() => {
  console.error('demo timed out');
  process.exit(1);
}, 10000).unref();
