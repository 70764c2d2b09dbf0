'use strict';

const WebSocket = require('./lib/websocket');

WebSocket.Backplane = require('./lib/backplane/backplane').Backplane;
WebSocket.createWebSocketStream = require('./lib/stream');
WebSocket.EventSource = require('./lib/eventsource/eventsource');
WebSocket.extension = require('./lib/extension');
WebSocket.PerMessageDeflate = require('./lib/permessage-deflate');
WebSocket.Receiver = require('./lib/receiver');
WebSocket.Sender = require('./lib/sender');
WebSocket.Server = require('./lib/websocket-server');
WebSocket.subprotocol = require('./lib/subprotocol');
WebSocket.WebSocket = WebSocket;
WebSocket.WebSocketServer = WebSocket.Server;

module.exports = WebSocket;
