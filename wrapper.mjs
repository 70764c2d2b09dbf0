// ESM entry point: ws's named exports, with WebSocket as the default.
import WebSocket from './index.js';

export const {
  createWebSocketStream,
  EventSource,
  extension,
  PerMessageDeflate,
  Receiver,
  Sender,
  subprotocol,
  WebSocketServer
} = WebSocket;

export { WebSocket };
export default WebSocket;
