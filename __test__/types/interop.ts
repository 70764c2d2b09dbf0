// wsrs from a CommonJS TypeScript module with esModuleInterop: a default
// import for the class, and named imports for the rest. Compiled by
// __test__/types.test.js, never run.

import WebSocket, {
  createWebSocketStream,
  extension,
  PerMessageDeflate,
  Receiver,
  Sender,
  Server,
  subprotocol,
  WebSocket as NamedWebSocket,
  WebSocketServer
} from 'wsrs';
import type { ClientOptions, RawData, ServerOptions } from 'wsrs';

const options: ClientOptions = { handshakeTimeout: 1000 };
const ws: NamedWebSocket = new WebSocket('ws://127.0.0.1:8080', options);

const serverOptions: ServerOptions = { noServer: true };
const wss: WebSocketServer = new Server(serverOptions);
const other = new WebSocketServer({ port: 0 });

wss.on('connection', (client: WebSocket) => {
  client.on('message', (data: RawData, isBinary) => {
    other.clients.forEach((peer) => peer.send(data, { binary: isBinary }));
  });
  createWebSocketStream(client).resume();
});

ws.on('open', () =>
  ws.send(Sender.frame(Buffer.from('x'), { opcode: 2, fin: true })[0])
);
new Receiver().end();
new PerMessageDeflate({ threshold: 0 }).cleanup();
extension.format(extension.parse('x; y=1'));
subprotocol.parse('a,b').size.toFixed();

export { ws, wss };
