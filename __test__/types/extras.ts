// wsrs's additions to the ws API (broadcast and topics, send backpressure,
// heartbeat and idle timeout, the client proxy, the EventSource server),
// through `import WebSocket = require('wsrs')`. Compiled by
// __test__/types.test.js, never run. The `@ts-expect-error` lines are
// misuses the typings must reject.

import WebSocket = require('wsrs');
import * as http from 'http';

const { EventSource, WebSocketServer } = WebSocket;

// --- server: broadcast, topics, flow options ----------------------------------

const wss = new WebSocketServer({
  port: 0,
  heartbeat: { interval: 30000, timeout: 10000 },
  idleTimeout: 120000,
  sendHighWaterMark: 64 * 1024
});

wss.on('connection', (ws) => {
  const joined: boolean = ws.subscribe('news');
  const left: boolean = ws.unsubscribe('sport');
  const member: boolean = ws.isSubscribed('news');
  const topics: string[] = ws.topics;

  void [joined, left, member, topics];

  const ok: boolean = ws.send('hello');

  if (!ok) ws.once('drain', () => ws.resume());

  // @ts-expect-error: a topic is a string
  ws.subscribe(42);
});

const count: number = wss.broadcast('to all', {
  binary: false,
  compress: true,
  except: (ws) => ws.bufferedAmount > 1 << 20
});
const toTopic: number = wss.publish('news', Buffer.from('extra'), {
  except: [...wss.clients][0]
});
const subscribers: number = wss.subscribers('news');

wss.broadcast(new Uint8Array(2), { except: wss.clients });
// @ts-expect-error: a Blob cannot be broadcast
wss.broadcast(new Blob(['x']));
// @ts-expect-error: heartbeat needs both interval and timeout
new WebSocketServer({ noServer: true, heartbeat: { interval: 1000 } });

// --- server: the native engine ------------------------------------------------

const nativeServer = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  engine: 'native',
  reusePort: true,
  maxBufferedAmount: 1 << 20,
  handshakeTimeout: 5000,
  maxHeaderSize: 8192,
  maxHeaders: 50
});
nativeServer.close();
// @ts-expect-error: engines are 'default' or 'native'
new WebSocketServer({ port: 0, engine: 'uws' });

void [count, toTopic, subscribers];

// --- client: proxy, heartbeat ---------------------------------------------------

const viaProxy = new WebSocket('wss://example.com/socket', {
  proxy: 'http://user:secret@127.0.0.1:3128',
  heartbeat: { interval: 1000, timeout: 500 },
  idleTimeout: 60000,
  sendHighWaterMark: 1024
});
const fromEnv = new WebSocket('ws://example.com', { proxy: true });

viaProxy.on('drain', () => fromEnv.close());
// @ts-expect-error: proxy is a URL or a boolean
new WebSocket('ws://example.com', { proxy: 3128 });

// --- EventSource ----------------------------------------------------------------

http.createServer((req, res) => {
  if (!EventSource.isEventSource(req)) return;

  const es = new EventSource(req, res, {
    headers: { 'Access-Control-Allow-Origin': '*' },
    retry: 10,
    ping: 15
  });
  const id: string = es.lastEventId;
  const url: string = es.url;

  es.on('open', () => {
    es.send('hello', { event: 'greeting', id: 1 });
    es.ping('keep-alive');
  });
  es.onclose = () => void [id, url];

  if (es.readyState === EventSource.CLOSED) es.close();

  // @ts-expect-error: ping is a number of seconds or false
  new EventSource(req, res, { ping: 'often' });
});
