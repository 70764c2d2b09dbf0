'use strict';

// Socket.IO (engine.io) runs on ws's internals: its `wsEngine` option takes
// a ws-compatible Server, and engine.io reaches into `ws._socket` and
// `ws._sender`. Here wsrs is that engine, for a real Socket.IO server and
// socket.io-client over loopback.

const assert = require('node:assert');
const http = require('node:http');
const { once } = require('node:events');
const { test } = require('node:test');

const { Server } = require('socket.io');
const { io } = require('socket.io-client');

const { WebSocketServer } = require('..');

test(
  'Socket.IO with wsEngine: wsrs: events, acks, binary and rooms',
  { timeout: 15000 },
  async () => {
    const httpServer = http.createServer();
    const server = new Server(httpServer, {
      wsEngine: WebSocketServer,
      transports: ['websocket'],
      perMessageDeflate: { threshold: 0 }
    });

    server.on('connection', (socket) => {
      socket.join('room');
      socket.on('echo', (data, ack) => ack(data));
      socket.on('shout', (text) => server.to('room').emit('heard', text));
    });
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');

    const url = `http://127.0.0.1:${httpServer.address().port}`;
    const clients = [0, 1].map(() =>
      io(url, { transports: ['websocket'], forceNew: true })
    );

    try {
      await Promise.all(clients.map((c) => once(c, 'connect')));

      const [a, b] = clients;
      const reply = await a
        .timeout(5000)
        .emitWithAck('echo', { text: 'héllo', bytes: Buffer.from([1, 2, 3]) });

      assert.strictEqual(reply.text, 'héllo');
      assert.deepStrictEqual([...reply.bytes], [1, 2, 3]);

      const heard = Promise.all(clients.map((c) => once(c, 'heard')));

      b.emit('shout', 'x'.repeat(2048));
      for (const [text] of await heard)
        assert.strictEqual(text, 'x'.repeat(2048));
      assert.strictEqual(server.engine.clientsCount, 2);
    } finally {
      for (const c of clients) c.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }
);
