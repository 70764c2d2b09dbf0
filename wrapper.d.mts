// Types of the ESM entry (wrapper.mjs): the default export is the WebSocket
// class, and the rest of the API is available as named exports. `Server` is
// not one of them: use `WebSocketServer`.

import WebSocket from './index.js';

export default WebSocket;
export { WebSocket };

export import createWebSocketStream = WebSocket.createWebSocketStream;
export import EventSource = WebSocket.EventSource;
export import extension = WebSocket.extension;
export import PerMessageDeflate = WebSocket.PerMessageDeflate;
export import Receiver = WebSocket.Receiver;
export import Sender = WebSocket.Sender;
export import subprotocol = WebSocket.subprotocol;
export import WebSocketServer = WebSocket.WebSocketServer;

// Types only.
export import AddressInfo = WebSocket.AddressInfo;
export import BinaryType = WebSocket.BinaryType;
export import BroadcastData = WebSocket.BroadcastData;
export import BroadcastOptions = WebSocket.BroadcastOptions;
export import ClientOptions = WebSocket.ClientOptions;
export import CloseEvent = WebSocket.CloseEvent;
export import Data = WebSocket.Data;
export import ErrorEvent = WebSocket.ErrorEvent;
export import Event = WebSocket.Event;
export import EventListenerFor = WebSocket.EventListenerFor;
export import EventListenerOptions = WebSocket.EventListenerOptions;
export import EventMap = WebSocket.EventMap;
export import EventSourceEvents = WebSocket.EventSourceEvents;
export import EventSourceOptions = WebSocket.EventSourceOptions;
export import EventSourceSendOptions = WebSocket.EventSourceSendOptions;
export import FinishRequestCallback = WebSocket.FinishRequestCallback;
export import HeartbeatOptions = WebSocket.HeartbeatOptions;
export import MessageEvent = WebSocket.MessageEvent;
export import PerMessageDeflateOptions = WebSocket.PerMessageDeflateOptions;
export import RawData = WebSocket.RawData;
export import ReadyState = WebSocket.ReadyState;
export import SendData = WebSocket.SendData;
export import SendOptions = WebSocket.SendOptions;
export import ServerOptions = WebSocket.ServerOptions;
export import ServerSideOptions = WebSocket.ServerSideOptions;
export import SetSocketOptions = WebSocket.SetSocketOptions;
export import VerifyClient = WebSocket.VerifyClient;
export import VerifyClientCallbackAsync = WebSocket.VerifyClientCallbackAsync;
export import VerifyClientCallbackSync = WebSocket.VerifyClientCallbackSync;
export import VerifyClientDone = WebSocket.VerifyClientDone;
export import VerifyClientInfo = WebSocket.VerifyClientInfo;
export import WebSocketEvents = WebSocket.WebSocketEvents;
export import WebSocketServerEvents = WebSocket.WebSocketServerEvents;
export import WriteCallback = WebSocket.WriteCallback;
