// A TypeScript program written against wsrs's typings, through the CommonJS
// form `import WebSocket = require('wsrs')`. __test__/types.test.js compiles
// it with `tsc --noEmit --strict`; it is never run. The `@ts-expect-error`
// lines are misuses the typings must reject.

import WebSocket = require('wsrs');
import isValidUTF8 = require('wsrs/utf-8-validate');
import { mask, unmask } from 'wsrs/bufferutil';
import * as http from 'http';
import * as https from 'https';
import { Duplex } from 'stream';

// --- client -----------------------------------------------------------------

export function client(): WebSocket {
  const ws = new WebSocket('ws://127.0.0.1:8080/chat', ['chat.v2', 'chat.v1'], {
    allowSynchronousEvents: false,
    autoPong: false,
    closeTimeout: 5000,
    finishRequest(request, websocket) {
      request.setHeader('X-Target', websocket.url);
      request.end();
    },
    followRedirects: true,
    generateMask(key) {
      key.fill(0);
    },
    handshakeTimeout: 3000,
    maxBufferedChunks: 1024,
    maxFragments: 64,
    maxPayload: 1 << 20,
    maxRedirects: 3,
    origin: 'https://example.com',
    perMessageDeflate: {
      clientMaxWindowBits: true,
      serverNoContextTakeover: true,
      threshold: 256,
      zlibDeflateOptions: { level: 3, memLevel: 7 }
    },
    protocolVersion: 13,
    skipUTF8Validation: true,
    // http.request() / https.request() options pass through.
    agent: new https.Agent({ keepAlive: true }),
    headers: { Authorization: 'Bearer token', Cookie: 'a=b' },
    rejectUnauthorized: false,
    family: 4,
    localAddress: '127.0.0.1'
  });

  new WebSocket(new URL('wss://example.com/feed'), {
    perMessageDeflate: false
  });
  new WebSocket('ws+unix:/tmp/app.sock:/chat?room=1', 'single-protocol');
  new WebSocket('http://localhost:3000');

  const types: WebSocket.BinaryType[] = [
    'nodebuffer',
    'arraybuffer',
    'fragments',
    'blob'
  ];
  ws.binaryType = types[3];

  const state: WebSocket.ReadyState = ws.readyState;
  const states: number[] = [
    WebSocket.CONNECTING,
    WebSocket.OPEN,
    WebSocket.CLOSING,
    WebSocket.CLOSED,
    ws.CONNECTING,
    ws.OPEN,
    ws.CLOSING,
    ws.CLOSED,
    state
  ];
  states.sort();

  const info: [number, string, boolean, string, string] = [
    ws.bufferedAmount,
    ws.extensions,
    ws.isPaused,
    ws.protocol,
    ws.url
  ];
  info.reverse();

  // EventEmitter events, with typed arguments.
  ws.on('open', function () {
    this.send('hello');
  });
  ws.on('message', (data, isBinary) => {
    const binary: boolean = isBinary;
    if (Buffer.isBuffer(data)) data.readUInt8(0);
    else if (Array.isArray(data)) Buffer.concat(data).length;
    else if (data instanceof ArrayBuffer) data.byteLength;
    else data.size;
    return binary;
  });
  ws.once('close', (code, reason) => {
    const text: string = reason.toString('utf8');
    return code === 1000 ? text : '';
  });
  ws.on('error', (error) => error.message);
  ws.on('ping', (payload) => payload.length);
  ws.on('pong', (payload) => payload.length);
  ws.on('upgrade', (response) => response.headers['set-cookie']);
  ws.on('unexpected-response', (request, response) => {
    request.destroy();
    return response.statusCode;
  });
  ws.on('redirect', (url, request) => {
    if (!url.startsWith('wss:')) request.removeHeader('authorization');
  });
  ws.on('some-other-event', (...args) => args.length);

  const onPing = (payload: Buffer): void => void payload;
  ws.addListener('ping', onPing)
    .prependListener('ping', onPing)
    .prependOnceListener('ping', onPing)
    .removeListener('ping', onPing)
    .off('ping', onPing);

  // EventTarget-style listeners get event objects.
  ws.addEventListener('open', (event) => event.target.readyState);
  ws.addEventListener('message', (event) => {
    const data: WebSocket.Data = event.data;
    if (typeof data === 'string') data.toUpperCase();
  });
  ws.addEventListener(
    'close',
    (event) => event.wasClean && event.code > 0 && event.reason,
    {
      once: true
    }
  );
  const errorListener = {
    handleEvent(event: WebSocket.ErrorEvent) {
      return [event.error, event.message, event.type];
    }
  };
  ws.addEventListener('error', errorListener);
  ws.removeEventListener('error', errorListener);

  ws.onopen = function (event) {
    this.send(event.type);
  };
  ws.onmessage = (event) => event.data;
  ws.onclose = (event: WebSocket.CloseEvent) => event.code;
  ws.onerror = null;

  // Sending.
  ws.send('text');
  ws.send(Buffer.from('bytes'), {
    binary: true,
    compress: false,
    fin: false,
    mask: true
  });
  ws.send(new Uint8Array(4), (err) => {
    if (err) err.message;
  });
  ws.send(new ArrayBuffer(8), { fin: true }, (err?: Error) => err);
  ws.send(new DataView(new ArrayBuffer(2)));
  ws.send(new Float32Array(2));
  ws.send(new Blob(['a blob']));
  ws.send(42);
  ws.send([1, 2, 3]);
  ws.send({ valueOf: () => 'converted' });

  ws.ping();
  ws.ping('payload');
  ws.ping(Buffer.alloc(4), true);
  ws.ping((err) => err);
  ws.ping('payload', (err) => err);
  ws.ping(undefined, false, (err) => err);
  ws.pong();
  ws.pong(Buffer.alloc(1), false, () => undefined);

  ws.pause();
  ws.resume();
  ws.close();
  ws.close(1000);
  ws.close(4000, 'done');
  ws.close(1001, Buffer.from('going away'));
  ws.terminate();

  return ws;
}

// --- server -----------------------------------------------------------------

export function server(): WebSocket.Server {
  const wss = new WebSocket.Server(
    {
      allowSynchronousEvents: true,
      autoPong: true,
      backlog: 128,
      clientTracking: true,
      closeTimeout: 10000,
      handleProtocols(protocols, request) {
        if (request.headers['x-legacy']) return false;
        return protocols.has('chat.v2') ? 'chat.v2' : false;
      },
      host: '127.0.0.1',
      maxBufferedChunks: 4096,
      maxFragments: 1024,
      maxPayload: 64 * 1024,
      path: '/chat',
      perMessageDeflate: {
        clientNoContextTakeover: true,
        concurrencyLimit: 4,
        serverMaxWindowBits: 12,
        threshold: 1024,
        zlibInflateOptions: { chunkSize: 16 * 1024 }
      },
      port: 8080,
      skipUTF8Validation: false,
      verifyClient: (info) =>
        info.secure && info.origin === 'https://example.com'
    },
    () => console.log('listening')
  );

  wss.on('connection', function (ws, request) {
    const clients: Set<WebSocket> = this.clients;
    ws.send(`hello ${request.socket.remoteAddress}`);
    ws.on('message', (data, isBinary) => {
      for (const client of clients) {
        if (client !== ws && client.readyState === WebSocket.OPEN) {
          client.send(data, { binary: isBinary });
        }
      }
    });
  });
  wss.on('headers', (headers, request) => {
    headers.push(`X-Path: ${request.url}`);
  });
  wss.on('wsClientError', (error, socket, request) => {
    socket.end(
      `HTTP/1.1 400 Bad Request\r\n\r\n${error.message} ${request.method}`
    );
  });
  wss.on('listening', () => undefined);
  wss.on('error', (error) => error.stack);
  wss.once('close', () => undefined);

  const address = wss.address();
  if (address !== null && typeof address !== 'string') address.port.toFixed();

  wss.close((err) => {
    if (err) err.message;
  });

  return wss;
}

export function attachedServer(): void {
  const httpServer = http.createServer();
  const httpsServer = https.createServer({});

  // The asynchronous verifyClient form, with a custom refusal.
  const wss = new WebSocket.WebSocketServer({
    server: httpServer,
    verifyClient(info, done) {
      if (info.req.headers.authorization) done(true);
      else done(false, 403, 'Forbidden', { 'Retry-After': 120 });
    }
  });
  wss.clients.forEach((client) => client.ping());

  new WebSocket.WebSocketServer({
    server: httpsServer,
    perMessageDeflate: true
  });

  // Either form, typed on its own first.
  const sync: WebSocket.VerifyClientCallbackSync = (info) => info.secure;
  const deferred: WebSocket.VerifyClientCallbackAsync = (info, done) => {
    setImmediate(done, info.req.headers.cookie !== undefined, 401);
  };
  new WebSocket.Server({ noServer: true, verifyClient: sync });
  new WebSocket.Server({ noServer: true, verifyClient: deferred });
}

// noServer mode: the application routes upgrade requests.
export function routedUpgrades(): void {
  const httpServer = http.createServer();
  const chat = new WebSocket.WebSocketServer({
    noServer: true,
    clientTracking: false
  });
  const feed = new WebSocket.Server({ noServer: true, path: '/feed' });

  httpServer.on('upgrade', (request, socket, head) => {
    if (feed.shouldHandle(request)) {
      feed.handleUpgrade(request, socket, head, (ws, req) => {
        feed.emit('connection', ws, req);
      });
    } else if (request.url === '/chat') {
      chat.handleUpgrade(request, socket, head, (ws) => ws.send('welcome'));
    } else {
      socket.destroy();
    }
  });

  // Over a plain Duplex.
  const duplex = new Duplex();
  chat.handleUpgrade(
    new http.IncomingMessage(duplex as never),
    duplex,
    Buffer.alloc(0),
    (ws) => {
      ws.close();
    }
  );
}

// A WebSocket subclass as the server's connection class, and a custom
// request class on the HTTP server: both flow into the event types.
class TaggedSocket extends WebSocket {
  tag = 'untagged';
}

class TracedRequest extends http.IncomingMessage {
  traceId = '';
}

export function customClasses(): void {
  const httpServer = http.createServer({ IncomingMessage: TracedRequest });
  const wss = new WebSocket.Server({
    server: httpServer,
    WebSocket: TaggedSocket
  });

  wss.on('connection', (ws, request) => {
    ws.tag = request.traceId;
  });
  for (const ws of wss.clients) ws.tag.toUpperCase();

  class PathServer extends WebSocket.Server {
    shouldHandle(request: http.IncomingMessage): boolean {
      return request.url === '/only-here';
    }
  }
  new PathServer({ noServer: true });
}

// --- stream, frame-level classes and header helpers -------------------------

export function lowLevel(ws: WebSocket, socket: Duplex): void {
  const stream: Duplex = WebSocket.createWebSocketStream(ws, {
    encoding: 'utf8',
    readableObjectMode: true
  });
  stream.pipe(process.stdout);

  // Frame once, write to many (the Socket.IO broadcast recipe).
  const frame: Buffer[] = WebSocket.Sender.frame(Buffer.from('4hello'), {
    fin: true,
    mask: false,
    opcode: 1,
    readOnly: false,
    rsv1: false
  });
  const masked = WebSocket.Sender.frame('text', {
    fin: true,
    generateMask: (key) => key.fill(7),
    mask: true,
    maskBuffer: Buffer.alloc(4),
    opcode: 0x01
  });

  const sender = new WebSocket.Sender(socket, {}, (key) => key.fill(1));
  sender.sendFrame(frame, (err) => err);
  sender.sendFrame(masked);
  sender.send('fragment', {
    binary: false,
    compress: false,
    fin: false,
    mask: true
  });
  sender.send(Buffer.alloc(3), { fin: true }, () => undefined);
  sender.ping(Buffer.alloc(0), false);
  sender.pong('pong', true, () => undefined);
  sender.close(1000, 'bye', false, () => undefined);
  sender.close();
  sender.onerror = (err) => console.error(err.message);

  const receiver = new WebSocket.Receiver({
    binaryType: 'arraybuffer',
    isServer: true,
    maxPayload: 1024,
    skipUTF8Validation: false
  });
  receiver.on('message', (data, isBinary) => [data, isBinary]);
  receiver.on('conclude', (code, reason) => code + reason.length);
  receiver.on('ping', (data) => data.length);
  receiver.on('drain', () => undefined);
  receiver.write(Buffer.from([0x81, 0x00]));

  const name: 'permessage-deflate' = WebSocket.PerMessageDeflate.extensionName;
  const deflate = new WebSocket.PerMessageDeflate({
    clientMaxWindowBits: 10,
    isServer: true,
    maxPayload: 1 << 16,
    serverNoContextTakeover: true
  });
  const offers = WebSocket.extension.parse(
    'permessage-deflate; client_max_window_bits, foo'
  );
  const accepted = deflate.accept(offers[name]);
  const header: string = WebSocket.extension.format({ [name]: [accepted] });
  WebSocket.extension.format({
    foo: { a: 1, b: true, c: ['x', 'y'] },
    bar: [{}, { d: 'e' }]
  });
  deflate.compress(Buffer.from(header), true, (err, result) => {
    if (err === null && result)
      deflate.decompress(result, true, () => deflate.cleanup());
  });
  const clientOffer = new WebSocket.PerMessageDeflate().offer();
  const bits: number | true | undefined =
    clientOffer.client_max_window_bits ??
    deflate.params?.server_max_window_bits;
  void bits;

  const protocols: Set<string> =
    WebSocket.subprotocol.parse('chat.v2, chat.v1');
  protocols.clear();

  // The aliases hanging off the class.
  const Self: typeof WebSocket = WebSocket.WebSocket;
  const Server: typeof WebSocket.Server = WebSocket.WebSocketServer;
  [Self, Server].slice();

  // The helper drop-ins.
  const payload = Buffer.alloc(8);
  const key = Buffer.from([1, 2, 3, 4]);
  mask(payload, key, payload, 0, payload.length);
  unmask(payload, key);
  const valid: boolean = isValidUTF8(payload);
  void valid;
}

// --- misuse -----------------------------------------------------------------

export function misuse(
  ws: WebSocket,
  wss: WebSocket.Server,
  socket: Duplex
): void {
  // @ts-expect-error: not a binary type
  ws.binaryType = 'text';

  // @ts-expect-error: the ready-state constants are read-only
  WebSocket.OPEN = 2;

  // @ts-expect-error: readyState is read-only
  ws.readyState = WebSocket.CLOSED;

  // @ts-expect-error: a plain object is not something Buffer.from() converts
  ws.send({ text: 'hello' });

  // @ts-expect-error: booleans cannot be sent
  ws.send(true);

  // @ts-expect-error: `binary` is a boolean
  ws.send('x', { binary: 'yes' });

  // @ts-expect-error: the close code is a number
  ws.close('normal');

  // @ts-expect-error: the URL is required
  new WebSocket();

  // @ts-expect-error: protocolVersion is a number
  new WebSocket('ws://localhost', { protocolVersion: '13' });

  // @ts-expect-error: the threshold is a number of bytes
  new WebSocket('ws://localhost', { perMessageDeflate: { threshold: '1k' } });

  // @ts-expect-error: options are required
  new WebSocket.Server();

  // @ts-expect-error: port is a number
  new WebSocket.Server({ port: '8080' });

  // @ts-expect-error: handleProtocols returns a protocol name
  new WebSocket.Server({ noServer: true, handleProtocols: () => 1 });

  // @ts-expect-error: the connection class must be a WebSocket
  new WebSocket.Server({ noServer: true, WebSocket: Date });

  // @ts-expect-error: handleUpgrade needs the head and a callback
  wss.handleUpgrade(new http.IncomingMessage(socket as never), socket);

  // @ts-expect-error: 'ping' is not an EventTarget-style event
  ws.addEventListener('ping', () => undefined);

  // @ts-expect-error: MessageEvent data may be a string
  ws.addEventListener('message', (event) => event.data.byteLength);

  // @ts-expect-error: onmessage listeners get a MessageEvent
  ws.onmessage = (event: WebSocket.CloseEvent) => event.code;

  // @ts-expect-error: a frame needs an opcode
  WebSocket.Sender.frame(Buffer.alloc(1), { fin: true });

  // @ts-expect-error: subprotocol.parse returns a Set
  const list: string[] = WebSocket.subprotocol.parse('a');
  void list;
}
