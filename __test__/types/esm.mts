// wsrs from an ES module: the package name as resolved through its "exports"
// map, and wrapper.d.mts (the types of the ESM entry) directly. Compiled by
// __test__/types.test.js, never run.

import WebSocket, { WebSocketServer, WebSocket as NamedWebSocket } from 'wsrs';
import type { RawData } from 'wsrs';
import EsmWebSocket, {
  createWebSocketStream,
  EventSource,
  extension,
  PerMessageDeflate,
  Receiver,
  Sender,
  subprotocol,
  WebSocket as EsmNamedWebSocket,
  WebSocketServer as EsmWebSocketServer
} from '../../wrapper.mjs';
import type {
  ClientOptions,
  MessageEvent,
  ServerOptions
} from '../../wrapper.mjs';
// @ts-expect-error: the ESM entry has no `Server` export (only the CommonJS one has)
import { Server } from '../../wrapper.mjs';

const serverOptions: ServerOptions = {
  port: 0,
  perMessageDeflate: { threshold: 0 }
};
const wss = new WebSocketServer(serverOptions);
const esmServer: EsmWebSocketServer = new EsmWebSocketServer({
  noServer: true
});

wss.on('connection', (ws: NamedWebSocket, request) => {
  ws.send(request.headers.host ?? '');
  ws.on('message', (data: RawData) =>
    esmServer.clients.forEach((peer) => peer.send(data))
  );
});

const clientOptions: ClientOptions = { perMessageDeflate: false };
const client: EsmNamedWebSocket = new EsmWebSocket(
  'ws://127.0.0.1:8080',
  clientOptions
);
const sameClass: typeof WebSocket = EsmWebSocket;
client.addEventListener('message', (event: MessageEvent) => String(event.data));
client.on('open', () => {
  const frame = Sender.frame(Buffer.from('hi'), {
    opcode: 1,
    fin: true,
    mask: true
  });
  client.send(Buffer.concat(frame));
});

createWebSocketStream(client, { decodeStrings: false }).destroy();
const sameEventSource: typeof WebSocket.EventSource = EventSource;
new Receiver({ isServer: false }).destroy();
new PerMessageDeflate().offer();
extension.parse('a').a.length;
subprotocol.parse('a').has('a');
void [sameClass, Server, WebSocket.OPEN];

export {};
