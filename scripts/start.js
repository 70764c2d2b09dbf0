'use strict';

// `npm start`: builds the addon if needed, then runs a wsrs server and a
// wsrs client on 127.0.0.1 that exchange text, binary and compressed
// messages, a ping and a pong, and close cleanly, printing each step.

const { ensureBuilt } = require('./ensure-built');

ensureBuilt();

const WebSocket = require('..');

const { WebSocketServer } = WebSocket;

const log = (who, what) => console.log(`${who.padEnd(6)} ${what}`);

// Never hang: the demo is bounded in time.
const deadline = setTimeout(() => {
  console.error('demo timed out');
  process.exit(1);
}, 10000);

const wss = new WebSocketServer(
  { host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } },
  () => {
    const { port } = wss.address();
    log('server', `listening on ws://127.0.0.1:${port}`);
    runClient(port);
  }
);

wss.on('connection', (ws, req) => {
  log(
    'server',
    `connection from ${req.socket.remoteAddress}, extensions: "${ws.extensions}"`
  );

  ws.on('message', (data, isBinary) => {
    const shown = isBinary
      ? `<${data.length} bytes>`
      : `"${data.toString().slice(0, 60)}"`;
    log(
      'server',
      `received ${isBinary ? 'binary' : 'text'} ${shown}, echoing it`
    );
    ws.send(data, { binary: isBinary });
  });

  ws.on('ping', (data) =>
    log('server', `ping "${data}" (pong sent automatically)`)
  );

  ws.on('close', (code, reason) => {
    log('server', `client closed: ${code} "${reason}"`);
    wss.close(() => {
      log('server', 'closed');
      clearTimeout(deadline);
    });
  });
});

/**
 * Connects, sends the demo messages and closes once all echoes are back.
 *
 * @param {Number} port The server's port
 */
function runClient(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const steps = [
    () => ws.send('Hello from wsrs: κόσμε, 世界 🌍'),
    () => ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef])),
    () =>
      ws.send(
        JSON.stringify({ compressed: true, items: Array(50).fill('wsrs') }),
        { compress: true }
      ),
    () => ws.ping('are you there?')
  ];
  let step = 0;
  const next = () => {
    if (step < steps.length) steps[step++]();
    else ws.close(1000, 'demo done');
  };

  ws.on('open', () => {
    log('client', `connected, extensions: "${ws.extensions}"`);
    next();
  });

  ws.on('message', (data, isBinary) => {
    const shown = isBinary
      ? `<${data.toString('hex')}>`
      : `"${data.toString().slice(0, 60)}"`;
    log('client', `echo ${isBinary ? 'binary' : 'text'} ${shown}`);
    next();
  });

  ws.on('pong', (data) => {
    log('client', `pong "${data}"`);
    next();
  });

  ws.on('close', (code, reason) =>
    log('client', `closed: ${code} "${reason}"`)
  );
  ws.on('error', (err) => {
    console.error('client error:', err.message);
    process.exitCode = 1;
  });
}
