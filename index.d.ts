// Types of `require('wsrs')`: the `WebSocket` class is the module itself, and
// the rest of the API (the server, the stream helper, the frame-level
// classes and the header parsers) hangs off it as static members. The ESM
// entry re-exports the same things by name; see wrapper.d.mts.
//
// Needs TypeScript 5.0 or later, and @types/node (for Node.js 18 or later).

/// <reference types="node" />

import { EventEmitter } from 'events';
import {
  ClientRequest,
  IncomingMessage,
  OutgoingHttpHeaders,
  Server as HttpServer,
  ServerResponse
} from 'http';
import {
  RequestOptions as HttpsRequestOptions,
  Server as HttpsServer
} from 'https';
import { AddressInfo as NetAddressInfo } from 'net';
import { Duplex, DuplexOptions, Writable } from 'stream';
import { URL } from 'url';
import { ZlibOptions } from 'zlib';

/**
 * One WebSocket connection. On the client side it is created with the URL of
 * a server and performs the opening handshake itself; on the server side
 * `WebSocketServer` creates the instances and hands them out through its
 * `'connection'` event.
 *
 * Besides the Node.js `EventEmitter` interface it offers a small subset of
 * the browser `EventTarget` interface: `addEventListener()`,
 * `removeEventListener()` and the `on<event>` attributes.
 */
declare class WebSocket extends EventEmitter {
  /** The ready state of a connection whose opening handshake is under way. */
  static readonly CONNECTING: 0;
  /** The ready state of an established connection. */
  static readonly OPEN: 1;
  /** The ready state while the closing handshake is under way. */
  static readonly CLOSING: 2;
  /** The ready state once the connection is gone. */
  static readonly CLOSED: 3;

  /** Same value as the static `WebSocket.CONNECTING`. */
  readonly CONNECTING: 0;
  /** Same value as the static `WebSocket.OPEN`. */
  readonly OPEN: 1;
  /** Same value as the static `WebSocket.CLOSING`. */
  readonly CLOSING: 2;
  /** Same value as the static `WebSocket.CLOSED`. */
  readonly CLOSED: 3;

  /**
   * Opens a client connection.
   *
   * @param address A `ws:`, `wss:`, `http:`, `https:` or `ws+unix:` URL.
   *     `http:`/`https:` are treated as `ws:`/`wss:`. For `ws+unix:` the
   *     socket path and the request path are separated by a colon:
   *     `ws+unix:/tmp/app.sock:/chat?room=1`.
   * @param protocols One subprotocol or a list of them to offer in
   *     `Sec-WebSocket-Protocol`.
   * @param options Client options, including any `http.request()` or
   *     `https.request()` option.
   * @throws {SyntaxError} If the URL or a subprotocol name is invalid.
   * @throws {RangeError} If `options.protocolVersion` is not 8 or 13.
   */
  constructor(
    address: string | URL,
    protocols?: string | readonly string[],
    options?: WebSocket.ClientOptions
  );
  /** Opens a client connection without offering any subprotocol. */
  constructor(address: string | URL, options?: WebSocket.ClientOptions);
  /**
   * Creates the server side of a connection; `WebSocketServer` does this
   * (through its `WebSocket` option) before calling `setSocket()`. The
   * options it passes are its own.
   */
  constructor(
    address: null,
    protocols: undefined,
    options: WebSocket.ServerSideOptions
  );

  /**
   * How binary messages are delivered to `'message'` listeners:
   * `'nodebuffer'` (the default) gives a `Buffer`, `'arraybuffer'` an
   * `ArrayBuffer`, `'fragments'` the array of received frame payloads, and
   * `'blob'` a `Blob`. Assigning any other value has no effect. Text
   * messages are always delivered as a `Buffer` to `'message'` listeners.
   */
  binaryType: WebSocket.BinaryType;

  /**
   * Bytes handed to `send()`, `ping()` or `pong()` that have not reached the
   * kernel yet, frame headers included.
   */
  readonly bufferedAmount: number;

  /**
   * The negotiated extensions as a comma-separated list of names, for
   * instance `'permessage-deflate'`, or `''` when none was negotiated.
   */
  readonly extensions: string;

  /** Whether `pause()` is in effect. */
  readonly isPaused: boolean;

  /** The subprotocol the server selected, or `''`. */
  readonly protocol: string;

  /** The current state: one of the four ready-state constants. */
  readonly readyState: WebSocket.ReadyState;

  /**
   * The URL of the server, after normalisation. Only client connections
   * have one; on server-side instances it is `undefined`.
   */
  readonly url: string;

  /**
   * The listener registered through the attribute, called with an `Event`
   * once the connection is open. Assigning replaces only the listener set
   * through this attribute; assigning `null` removes it.
   */
  onopen: ((this: WebSocket, event: WebSocket.Event) => void) | null;
  /** Like `onopen`, for `'message'`; called with a `MessageEvent`. */
  onmessage: ((this: WebSocket, event: WebSocket.MessageEvent) => void) | null;
  /** Like `onopen`, for `'close'`; called with a `CloseEvent`. */
  onclose: ((this: WebSocket, event: WebSocket.CloseEvent) => void) | null;
  /** Like `onopen`, for `'error'`; called with an `ErrorEvent`. */
  onerror: ((this: WebSocket, event: WebSocket.ErrorEvent) => void) | null;

  /**
   * Starts the closing handshake, or goes on with it. While connecting, the
   * handshake is aborted instead (an `'error'` and a `'close'` follow). Does
   * nothing once closed.
   *
   * @param code A status code: 1000-1014 other than 1004-1006, or
   *     3000-4999. Without it the close frame has no body.
   * @param reason At most 123 bytes of explanation.
   */
  close(code?: number, reason?: string | Uint8Array): void;

  /** Destroys the connection at once, without a closing handshake. */
  terminate(): void;

  /**
   * Stops reading from the socket: no more `'message'`, `'ping'` or
   * `'pong'` events once what was already read has been delivered. Does
   * nothing while connecting or once closed.
   */
  pause(): void;

  /** Undoes `pause()`. Does nothing while connecting or once closed. */
  resume(): void;

  /**
   * Sends a ping frame.
   *
   * @param data The payload, at most 125 bytes. Numbers are sent as their
   *     decimal text.
   * @param mask Whether to mask the payload. Clients mask by default, the
   *     server side does not.
   * @param callback Called once the frame is written, with an error if it
   *     could not be.
   * @throws {Error} While the connection is still being established.
   * @throws {RangeError} If the payload is larger than 125 bytes.
   */
  ping(callback: WebSocket.WriteCallback): void;
  ping(
    data: WebSocket.SendData | undefined,
    callback: WebSocket.WriteCallback
  ): void;
  ping(
    data?: WebSocket.SendData,
    mask?: boolean,
    callback?: WebSocket.WriteCallback
  ): void;

  /**
   * Sends a pong frame. A pong is already sent automatically for every
   * received ping unless the `autoPong` option is `false`. The parameters
   * are those of `ping()`.
   */
  pong(callback: WebSocket.WriteCallback): void;
  pong(
    data: WebSocket.SendData | undefined,
    callback: WebSocket.WriteCallback
  ): void;
  pong(
    data?: WebSocket.SendData,
    mask?: boolean,
    callback?: WebSocket.WriteCallback
  ): void;

  /**
   * Sends a message, or one fragment of a message (see `options.fin`).
   *
   * @param data The payload. Strings go out as text unless `options.binary`
   *     is set, everything else as binary. Numbers are sent as their decimal
   *     text; arrays and other objects go through `Buffer.from()`.
   * @param options How to frame it.
   * @param callback Called once the data is written, with an error if it
   *     could not be (including when the connection is no longer open).
   * @returns wsrs: `false` once `bufferedAmount` has reached the
   *     `sendHighWaterMark` option (16 KiB by default; a `'drain'` event
   *     follows when it falls back under), or when the connection is not
   *     open; `true` otherwise. (ws returns `undefined`.)
   * @throws {Error} While the connection is still being established.
   */
  send(data: WebSocket.SendData, callback?: WebSocket.WriteCallback): boolean;
  send(
    data: WebSocket.SendData,
    options: WebSocket.SendOptions,
    callback?: WebSocket.WriteCallback
  ): boolean;

  /**
   * wsrs: subscribes this connection to a topic of the `WebSocketServer`
   * that accepted it; see `WebSocketServer#publish()`. A closed connection
   * leaves all its topics.
   *
   * @returns `true` if newly subscribed; `false` if it already was, or if
   *     the connection is not open.
   * @throws {Error} On a client connection.
   * @throws {TypeError} If `topic` is not a string.
   */
  subscribe(topic: string): boolean;

  /**
   * wsrs: unsubscribes from a topic.
   *
   * @returns Whether it was subscribed.
   * @throws {Error} On a client connection.
   */
  unsubscribe(topic: string): boolean;

  /**
   * wsrs: whether this connection is subscribed to a topic.
   *
   * @throws {Error} On a client connection.
   */
  isSubscribed(topic: string): boolean;

  /** wsrs: the topics this connection is subscribed to (a new array). */
  readonly topics: string[];

  /**
   * Registers a listener in the manner of `EventTarget`. Only `'open'`,
   * `'message'`, `'close'` and `'error'` are supported, and a listener that
   * is already registered for the type is not added again. Listeners get an
   * event object instead of the `EventEmitter` arguments; a `'message'`
   * event carries text messages as strings.
   */
  addEventListener<K extends keyof WebSocket.EventMap>(
    type: K,
    listener: WebSocket.EventListenerFor<K, this>,
    options?: WebSocket.EventListenerOptions
  ): void;

  /**
   * Removes a listener added with `addEventListener()`. Listeners added any
   * other way are left alone.
   */
  removeEventListener<K extends keyof WebSocket.EventMap>(
    type: K,
    listener: WebSocket.EventListenerFor<K, this>
  ): void;

  /**
   * Takes over a socket whose HTTP upgrade is complete and opens the
   * connection. Used by `WebSocketServer` and by the client handshake;
   * rarely useful elsewhere.
   */
  setSocket(
    socket: Duplex,
    head: Buffer,
    options: WebSocket.SetSocketOptions
  ): void;

  /**
   * Moves to `CLOSED` and emits `'close'`. Used internally once the socket
   * is gone; calling it by hand confuses the connection state.
   */
  emitClose(): void;

  // Node.js events, typed per event name. Any other name falls through to
  // the untyped form inherited from EventEmitter.
  on<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  on(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;

  once<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  once(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;

  off<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  off(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;

  addListener<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  addListener(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;

  removeListener<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  removeListener(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;

  prependListener<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  prependListener(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;

  prependOnceListener<E extends keyof WebSocket.WebSocketEvents>(
    event: E,
    listener: (this: this, ...args: WebSocket.WebSocketEvents[E]) => void
  ): this;
  prependOnceListener(
    event: string | symbol,
    listener: (this: this, ...args: any[]) => void
  ): this;
}

// The class under a second name, so that the namespace below can expose it
// as `WebSocket.WebSocket` (the name `WebSocket` is shadowed in there).
import WebSocketClass = WebSocket;

declare namespace WebSocket {
  /** The class itself, for `import { WebSocket } from 'wsrs'`. */
  export import WebSocket = WebSocketClass;

  /** The server class under its older name. */
  export import Server = WebSocket.WebSocketServer;

  // ---------------------------------------------------------------------
  // Data

  /** The values of `websocket.readyState`. */
  type ReadyState = 0 | 1 | 2 | 3;

  /** The values `websocket.binaryType` accepts. */
  type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';

  /**
   * A message as the `'message'` event delivers it. Text messages and, with
   * the default `binaryType`, binary ones are a `Buffer`; the other binary
   * types give an `ArrayBuffer`, a `Buffer[]` (`'fragments'`) or a `Blob`.
   */
  type RawData = Buffer | ArrayBuffer | Buffer[] | Blob;

  /** A message as a `MessageEvent` carries it: text is decoded to a string. */
  type Data = string | RawData;

  /**
   * What `send()`, `ping()` and `pong()` accept. Binary views are sent as
   * they are, strings as UTF-8, numbers as their decimal text, and a `Blob`
   * is read first. Arrays (of byte values) and objects that `Buffer.from()`
   * can convert (through `valueOf()` or `Symbol.toPrimitive`) are copied.
   * Arrays are accepted in general so that any `RawData` can be sent back,
   * but only arrays of numbers convert meaningfully.
   */
  type SendData =
    | string
    | number
    | Buffer
    | ArrayBuffer
    | SharedArrayBuffer
    | ArrayBufferView
    | Blob
    | readonly unknown[]
    | {
        valueOf():
          | ArrayBuffer
          | SharedArrayBuffer
          | Uint8Array
          | readonly number[]
          | string;
      }
    | { [Symbol.toPrimitive](hint: 'string'): string };

  /**
   * Completion callback of a write: `error` is set when the data could not
   * be written, and `null` or `undefined` otherwise. (Declared as a method
   * so that callbacks typed with a narrower error parameter are accepted.)
   */
  type WriteCallback = {
    done(error?: Error | null): void;
  }['done'];

  /** Options of `websocket.send()`. */
  interface SendOptions {
    /**
     * Send as a binary message (`true`) or as text (`false`). By default
     * strings are text and everything else is binary.
     */
    binary?: boolean | undefined;
    /**
     * Compress the payload when permessage-deflate was negotiated. Defaults
     * to `true`; ignored without the extension.
     */
    compress?: boolean | undefined;
    /**
     * Whether this is the last fragment of the message. Defaults to `true`;
     * pass `false` to send a message in several calls.
     */
    fin?: boolean | undefined;
    /**
     * Mask the payload. Defaults to `true` on clients and `false` on the
     * server side, as RFC 6455 requires.
     */
    mask?: boolean | undefined;
  }

  // ---------------------------------------------------------------------
  // Events

  /** Listener arguments of the `EventEmitter` events of a `WebSocket`. */
  interface WebSocketEvents {
    /** The connection is gone. `reason` is the raw UTF-8 bytes. */
    close: [code: number, reason: Buffer];
    /** Something failed; `'close'` follows. Emitted at most once. */
    error: [error: Error];
    /** A complete message arrived; see `RawData`. */
    message: [data: RawData, isBinary: boolean];
    /** The opening handshake succeeded. */
    open: [];
    /**
     * wsrs: `bufferedAmount` fell back under `sendHighWaterMark` after a
     * `send()` returned `false` (or a broadcast went over the mark).
     */
    drain: [];
    /** A ping arrived (a pong was already sent unless `autoPong` is off). */
    ping: [data: Buffer];
    /** A pong arrived. */
    pong: [data: Buffer];
    /**
     * A redirect is about to be followed (client, `followRedirects`).
     * With a listener registered no header is removed automatically.
     */
    redirect: [url: string, request: ClientRequest];
    /**
     * The server answered the handshake with something other than a
     * successful upgrade. Without a listener this becomes an `'error'`.
     */
    'unexpected-response': [request: ClientRequest, response: IncomingMessage];
    /** The server accepted the upgrade; its response headers are readable. */
    upgrade: [response: IncomingMessage];
  }

  /** The object every `EventTarget`-style listener receives. */
  interface Event {
    readonly type: string;
    /** The connection the event comes from. */
    readonly target: WebSocket;
  }

  /** Received by `'message'` listeners added with `addEventListener()`. */
  interface MessageEvent extends Event {
    /** A string for text messages, the raw value for binary ones. */
    readonly data: Data;
  }

  /** Received by `'close'` listeners added with `addEventListener()`. */
  interface CloseEvent extends Event {
    readonly code: number;
    readonly reason: string;
    /** Whether close frames were both sent and received. */
    readonly wasClean: boolean;
  }

  /** Received by `'error'` listeners added with `addEventListener()`. */
  interface ErrorEvent extends Event {
    /** The error that was emitted. */
    readonly error: any;
    readonly message: string;
  }

  /** The event object of each type `addEventListener()` supports. */
  interface EventMap {
    open: Event;
    message: MessageEvent;
    close: CloseEvent;
    error: ErrorEvent;
  }

  /** A listener for `addEventListener()`: a function or a `handleEvent` object. */
  type EventListenerFor<K extends keyof EventMap, T = WebSocket> =
    | ((this: T, event: EventMap[K]) => void)
    | { handleEvent(event: EventMap[K]): void };

  /** Options of `addEventListener()`. */
  interface EventListenerOptions {
    /** Remove the listener after its first call. */
    once?: boolean | undefined;
  }

  // ---------------------------------------------------------------------
  // Client options

  /**
   * Options of `new WebSocket()`. Everything `http.request()` and
   * `https.request()` take is accepted and passed on (`agent`, `headers`,
   * `ca`, `rejectUnauthorized`, `localAddress`, `lookup`, `family`, ...),
   * except what the handshake decides itself: `method`, `host`, `hostname`,
   * `port`, `path`, `socketPath`, `protocol` and `timeout` come from the URL
   * and from `handshakeTimeout`, and the `Sec-WebSocket-*`, `Connection` and
   * `Upgrade` headers cannot be overridden.
   */
  interface ClientOptions extends HttpsRequestOptions {
    /**
     * Whether several `'message'`, `'ping'` or `'pong'` events may be
     * emitted in the same tick. Defaults to `true`; `false` delivers each
     * one in its own macrotask, as browsers do.
     */
    allowSynchronousEvents?: boolean | undefined;
    /** Answer every ping with a pong automatically. Defaults to `true`. */
    autoPong?: boolean | undefined;
    /**
     * The subprotocols to offer when the constructor's `protocols`
     * argument is left out (ws 8.22).
     */
    protocols?: string | readonly string[] | undefined;
    /**
     * Milliseconds to wait, after `close()`, for the closing handshake to
     * finish before the socket is destroyed. Defaults to 30000.
     */
    closeTimeout?: number | undefined;
    /**
     * Called for each handshake request (the first one and every redirect)
     * instead of `request.end()`. It may set last-minute headers and must
     * call `request.end()` itself.
     */
    finishRequest?: FinishRequestCallback | undefined;
    /** Follow 3xx responses to the handshake. Defaults to `false`. */
    followRedirects?: boolean | undefined;
    /**
     * Fills the 4-byte masking key of each outgoing frame, synchronously.
     * By default the key comes from a pool of cryptographically random
     * bytes.
     */
    generateMask?: ((mask: Buffer) => void) | undefined;
    /**
     * Milliseconds the opening handshake may take, counted afresh for each
     * redirect (and, through a proxy, for the CONNECT too). No limit by
     * default.
     */
    handshakeTimeout?: number | undefined;
    /** wsrs: ping the server regularly; see `HeartbeatOptions`. */
    heartbeat?: HeartbeatOptions | undefined;
    /**
     * wsrs: close with 1001 after this many milliseconds without a message
     * in either direction (pings and pongs do not count). Off by default.
     */
    idleTimeout?: number | undefined;
    /**
     * Most socket chunks held before they are parsed; 0 disables the
     * limit. Defaults to 262144 (ws 8.22).
     */
    maxBufferedChunks?: number | undefined;
    /**
     * Most frames one message may be made of; 0 disables the limit.
     * Defaults to 16384 (ws 8.22); empty fragments count.
     */
    maxFragments?: number | undefined;
    /**
     * Largest message accepted, in bytes (after decompression); 0 disables
     * the limit. Defaults to 262144 (ws 8.22).0 (100 MiB).
     */
    maxPayload?: number | undefined;
    /**
     * Automatic pongs that may wait unwritten: the next ping after that
     * many terminates the connection; 0 disables the limit. Defaults to 60.
     */
    maxPendingAutoPongs?: number | undefined;
    /** Most redirects followed. Defaults to 10. */
    maxRedirects?: number | undefined;
    /**
     * Sent as the `Origin` header (or `Sec-WebSocket-Origin` with protocol
     * version 8).
     */
    origin?: string | undefined;
    /**
     * Offer permessage-deflate, optionally with parameters. Defaults to
     * `true` on clients.
     */
    perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
    /** `Sec-WebSocket-Version` to send: 13 (the default) or 8. */
    protocolVersion?: number | undefined;
    /**
     * wsrs: tunnel the connection through an HTTP proxy with `CONNECT`:
     * `'http://[user:password@]host[:port]'` (credentials are sent as
     * `Proxy-Authorization: Basic`; `https:` reaches the proxy over TLS),
     * or `true` to take it from `https_proxy` (wss:), `http_proxy` (ws:) or
     * `all_proxy`, minus the hosts in `no_proxy` (each variable also in
     * upper case; lower case wins). An explicit `agent` or
     * `createConnection` wins over this option. A proxy that refuses the
     * tunnel fails the connection with an error whose `code` is
     * `'ERR_WSRS_PROXY_REFUSED'` and whose `statusCode` is the proxy's.
     */
    proxy?: string | URL | boolean | undefined;
    /**
     * wsrs: the `bufferedAmount` at which `send()` starts returning
     * `false`. Defaults to 16384.
     */
    sendHighWaterMark?: number | undefined;
    /**
     * Skip the UTF-8 check of text messages and close reasons. Only for
     * trusted servers. Defaults to `false`.
     */
    skipUTF8Validation?: boolean | undefined;
  }

  /** The `finishRequest` client option. */
  type FinishRequestCallback = (
    request: ClientRequest,
    websocket: WebSocket
  ) => void;

  /**
   * The options a server-side instance is constructed with (the server
   * passes its own options object).
   */
  interface ServerSideOptions {
    autoPong?: boolean | undefined;
    closeTimeout?: number | undefined;
    heartbeat?: HeartbeatOptions | undefined;
    idleTimeout?: number | undefined;
    sendHighWaterMark?: number | undefined;
  }

  /** Third argument of `websocket.setSocket()`. */
  interface SetSocketOptions {
    allowSynchronousEvents?: boolean | undefined;
    generateMask?: ((mask: Buffer) => void) | undefined;
    maxBufferedChunks?: number | undefined;
    maxFragments?: number | undefined;
    maxPayload?: number | undefined;
    skipUTF8Validation?: boolean | undefined;
  }

  /**
   * permessage-deflate settings (RFC 7692), shared by clients and servers.
   * On a client the `server*`/`client*` parameters are requested from the
   * server; on a server they constrain what is accepted from the client's
   * offer. A parameter that is not set follows the offer or the default.
   */
  interface PerMessageDeflateOptions {
    /** Ask for, or impose, no context takeover on the server's side. */
    serverNoContextTakeover?: boolean | undefined;
    /** Ask for, or accept, no context takeover on the client's side. */
    clientNoContextTakeover?: boolean | undefined;
    /**
     * Window size (8-15) of the server's compressor; on a server, `false`
     * refuses offers that carry `server_max_window_bits`.
     */
    serverMaxWindowBits?: number | false | undefined;
    /**
     * Window size (8-15) of the client's compressor. On a client, `true`
     * (the effect of leaving it unset) offers the bare parameter and
     * `false` leaves it out; on a server, `false` refuses a limit.
     */
    clientMaxWindowBits?: number | boolean | undefined;
    /**
     * zlib options of the compressor. Its window size always comes from the
     * negotiation.
     */
    zlibDeflateOptions?: ZlibOptions | undefined;
    /** zlib options of the decompressor. */
    zlibInflateOptions?: ZlibOptions | undefined;
    /**
     * Payloads shorter than this many bytes are sent uncompressed when this
     * side has no context takeover. For a fragmented message the first
     * fragment decides. Defaults to 1024.
     */
    threshold?: number | undefined;
    /**
     * Most compression jobs in flight, process-wide (the first instance
     * created sets it). Defaults to 10.
     */
    concurrencyLimit?: number | undefined;
  }

  /**
   * wsrs: the `heartbeat` option. A ping goes out every `interval`
   * milliseconds; a peer that sends nothing at all (no pong, no data)
   * within `timeout` milliseconds of a ping is terminated. While a
   * connection is paused (`pause()`) it is neither pinged nor terminated,
   * since its answer could not be read. The timers do not keep the process
   * alive.
   */
  interface HeartbeatOptions {
    interval: number;
    timeout: number;
  }

  // ---------------------------------------------------------------------
  // Server

  /** What `verifyClient` learns about a handshake request. */
  interface VerifyClientInfo<
    Request extends IncomingMessage = IncomingMessage
  > {
    /**
     * The `Origin` header (`Sec-WebSocket-Origin` for protocol version 8),
     * if the client sent one.
     */
    origin: string | undefined;
    /** Whether the request came over TLS. */
    secure: boolean;
    /** The handshake request. */
    req: Request;
  }

  /** The synchronous form of `verifyClient`: return whether to accept. */
  type VerifyClientCallbackSync<
    Request extends IncomingMessage = IncomingMessage
  > = (info: VerifyClientInfo<Request>) => boolean;

  /**
   * The asynchronous form of `verifyClient`: call `done` with the verdict.
   * A refusal may carry the HTTP status (401 by default), the response body
   * and extra response headers.
   */
  type VerifyClientCallbackAsync<
    Request extends IncomingMessage = IncomingMessage
  > = (info: VerifyClientInfo<Request>, done: VerifyClientDone) => void;

  /** The callback handed to an asynchronous `verifyClient`. */
  type VerifyClientDone = (
    result: boolean,
    code?: number,
    message?: string,
    headers?: OutgoingHttpHeaders
  ) => void;

  /**
   * The `verifyClient` server option. The server tells the two forms apart
   * by the number of declared parameters: with one it uses the return value,
   * with two it waits for the callback.
   */
  type VerifyClient<Request extends IncomingMessage = IncomingMessage> = (
    info: VerifyClientInfo<Request>,
    done: VerifyClientDone
  ) => boolean | void;

  /**
   * Options of `new WebSocketServer()`. Exactly one of `port`, `server` and
   * `noServer` must be given.
   *
   * `Client` is the class used for the connections (the `WebSocket` option)
   * and `Request` the request class of the HTTP server.
   */
  interface ServerOptions<
    Client extends typeof WebSocketClass = typeof WebSocketClass,
    Request extends typeof IncomingMessage = typeof IncomingMessage
  > {
    /** As the client option of the same name. Defaults to `true`. */
    allowSynchronousEvents?: boolean | undefined;
    /** As the client option of the same name. Defaults to `true`. */
    autoPong?: boolean | undefined;
    /**
     * wsrs: carries `publish()` and `broadcast()` to every server that
     * shares it (`wsrs/redis`, `wsrs/cluster`).
     */
    backplane?: Backplane | undefined;
    /** Backlog of the HTTP server created for `port`. */
    backlog?: number | undefined;
    /**
     * Keep the open connections in `server.clients`. Defaults to `true`.
     */
    clientTracking?: boolean | undefined;
    /** As the client option of the same name. Defaults to 30000. */
    closeTimeout?: number | undefined;
    /** wsrs: as the client option of the same name. */
    heartbeat?: HeartbeatOptions | undefined;
    /** wsrs: as the client option of the same name. */
    idleTimeout?: number | undefined;
    /**
     * Picks the subprotocol from those the client offered (in its order).
     * The returned name is sent back; a falsy return sends none. Not
     * called when the client offers none. By default the first offer wins.
     */
    handleProtocols?:
      | ((
          protocols: Set<string>,
          request: InstanceType<Request>
        ) => string | false | null | undefined)
      | undefined;
    /** Address the HTTP server created for `port` listens on. */
    host?: string | undefined;
    /** As the client option of the same name. Defaults to 262144. */
    maxBufferedChunks?: number | undefined;
    /** As the client option of the same name. Defaults to 16384. */
    maxFragments?: number | undefined;
    /** As the client option of the same name. Defaults to 104857600. */
    maxPayload?: number | undefined;
    /** As the client option of the same name. Defaults to 60. */
    maxPendingAutoPongs?: number | undefined;
    /**
     * Attach to no HTTP server: upgrade requests are routed to
     * `handleUpgrade()` by the application.
     */
    noServer?: boolean | undefined;
    /**
     * Only accept upgrade requests for this pathname (the query string is
     * ignored). See `shouldHandle()`.
     */
    path?: string | undefined;
    /**
     * Accept permessage-deflate, optionally with parameters. Defaults to
     * `false` on servers.
     */
    perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
    /**
     * Create an HTTP server listening on this port. It answers plain HTTP
     * requests with 426 Upgrade Required.
     */
    port?: number | undefined;
    /** An HTTP or HTTPS server to take upgrade requests from. */
    server?: HttpServer<Request, any> | HttpsServer<Request, any> | undefined;
    /** wsrs: as the client option of the same name. Defaults to 16384. */
    sendHighWaterMark?: number | undefined;
    /** As the client option of the same name. Defaults to `false`. */
    skipUTF8Validation?: boolean | undefined;
    /**
     * wsrs: `'native'` makes Rust (a tokio runtime on a thread of its own)
     * own the port given by `port` and every connection: it reads the
     * upgrade request, parses, inflates, frames, deflates and writes, while
     * JavaScript keeps the same API and every decision (`verifyClient`,
     * `handleProtocols`, `'headers'`). Needs `port`. Defaults to
     * `'default'` (Node owns the sockets).
     */
    engine?: 'default' | 'native' | undefined;
    /**
     * wsrs, `engine: 'native'`: set `SO_REUSEPORT`, so that several
     * processes or worker threads can each listen on the same port.
     */
    reusePort?: boolean | undefined;
    /**
     * wsrs, `engine: 'native'`: bytes a connection may have queued
     * unwritten (a peer that stops reading) before it fails with
     * `ERR_WSRS_SEND_QUEUE_LIMIT` and is closed with 1008. 0 disables the
     * limit. Defaults to 64 MiB.
     */
    maxBufferedAmount?: number | undefined;
    /**
     * wsrs, `engine: 'native'`: milliseconds from accept to the end of the
     * opening handshake (the request head, then `verifyClient`). Defaults
     * to 10000; a request head that is not complete by then gets 408.
     */
    handshakeTimeout?: number | undefined;
    /**
     * wsrs, `engine: 'native'`: largest request head in bytes (431 above
     * it). Defaults to 16384, Node's `maxHeaderSize`.
     */
    maxHeaderSize?: number | undefined;
    /**
     * wsrs, `engine: 'native'`: most request header fields (431 above
     * it). Defaults to 100.
     */
    maxHeaders?: number | undefined;
    /**
     * Decides whether to accept a handshake, after the protocol checks;
     * see `VerifyClient`. A refusal answers 401 unless told otherwise.
     */
    verifyClient?: VerifyClient<InstanceType<Request>> | undefined;
    /** The class instantiated for each connection: `WebSocket` or a subclass. */
    WebSocket?: Client | undefined;
  }

  /** wsrs: what `broadcast()` and `publish()` send: `SendData` but a Blob. */
  type BroadcastData = Exclude<SendData, Blob> | undefined;

  /** wsrs: options of `broadcast()` and `publish()`. */
  interface BroadcastOptions<Client extends WebSocketClass = WebSocketClass> {
    /** Binary or text; by default text only for strings. */
    binary?: boolean | undefined;
    /** Compress where permessage-deflate was negotiated. Defaults to `true`. */
    compress?: boolean | undefined;
    /** A connection, some connections, or a predicate, to leave out (on this server). */
    except?:
      Client | Iterable<Client> | ((websocket: Client) => boolean) | undefined;
    /** With a backplane: this server's connections only. Defaults to `false`. */
    local?: boolean | undefined;
  }

  /** wsrs: what the server gives a backplane in `attach()`. */
  interface BackplaneHub {
    /** Delivers a message another server published (`topic` null: a broadcast). */
    deliver(
      topic: string | null,
      payload: Buffer,
      binary: boolean,
      compress: boolean
    ): void;
  }

  /** wsrs: a live server, as `backplane.nodes()` lists it. */
  interface BackplaneNode {
    id: string;
    host: string;
    pid: number;
    /** `Date.now()` when its backplane was made. */
    startedAt: number;
  }

  /** wsrs: counters of a backplane. */
  interface BackplaneStats {
    /** Messages handed to the transport. */
    published: number;
    /** Messages of other servers delivered here. */
    received: number;
    /** Messages not sent because the transport was down or `maxPending` was reached. */
    dropped: number;
    /** Messages the transport refused after taking them. */
    failed: number;
    /** Frames heard that were not a backplane's. */
    malformed: number;
    /** How many times the transport went down. */
    outages: number;
  }

  interface BackplaneOptions {
    /** Servers share messages and presence with those of the same prefix. Defaults to `'wsrs'`. */
    prefix?: string | undefined;
    /** Milliseconds after which a silent server leaves the presence. Defaults to 10000. */
    nodeTimeout?: number | undefined;
    /** Bytes of messages that may wait for the transport; more are dropped. Defaults to 16 MiB. */
    maxPending?: number | undefined;
  }

  interface BackplaneEvents {
    /** The transport is up: messages reach the other servers. */
    up: [];
    /** The transport is down: messages are dropped and counted, local traffic goes on. */
    down: [];
    /** A transport error; without a listener, errors are not raised. */
    error: [error: Error];
    /** `close()` has finished. */
    close: [];
  }

  /**
   * wsrs: the base class of the backplanes (`RedisBackplane`,
   * `ClusterBackplane`); see docs/backplane.md to write another.
   */
  class Backplane extends EventEmitter {
    constructor(options?: BackplaneOptions);
    /** This server's id in the presence. */
    readonly id: string;
    readonly prefix: string;
    readonly nodeTimeout: number;
    readonly startedAt: number;
    readonly isUp: boolean;
    readonly stats: BackplaneStats;
    /** Called by the server; a backplane serves one server. */
    attach(hub: BackplaneHub): void;
    publish(
      topic: string | null,
      payload: Buffer,
      binary: boolean,
      compress: boolean
    ): boolean;
    track(topic: string, count: number): void;
    /** Subscribers of `topic` on every live server (rejects while down). */
    count(topic: string): Promise<number>;
    /** The live servers (rejects while down). */
    nodes(): Promise<BackplaneNode[]>;
    /** Leaves the presence and closes what the backplane opened. */
    close(): Promise<void>;

    on<E extends keyof BackplaneEvents>(
      event: E,
      listener: (...args: BackplaneEvents[E]) => void
    ): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
    once<E extends keyof BackplaneEvents>(
      event: E,
      listener: (...args: BackplaneEvents[E]) => void
    ): this;
    once(event: string | symbol, listener: (...args: any[]) => void): this;
  }

  interface RedisBackplaneOptions extends BackplaneOptions {
    /** A `redis://` URL (with `sharded`, of one node of the cluster). */
    url?: string | undefined;
    /**
     * A node-redis or ioredis client (or cluster) of the application's; it
     * is duplicated for subscribing and never closed by the backplane.
     */
    client?: object | undefined;
    /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE) on a Redis Cluster. Defaults to `false`. */
    sharded?: boolean | undefined;
  }

  /** wsrs: the backplane on Redis, from `require('wsrs/redis')`. */
  class RedisBackplane extends Backplane {
    constructor(options: RedisBackplaneOptions);
    readonly sharded: boolean;
  }

  /** wsrs: the backplane on node:cluster IPC, from `require('wsrs/cluster')`. */
  class ClusterBackplane extends Backplane {
    constructor(options?: Pick<BackplaneOptions, 'prefix' | 'nodeTimeout'>);
    /** In the primary, before `cluster.fork()`: relay for the workers. */
    static setupPrimary(options?: { prefix?: string | undefined }): void;
  }

  /** Listener arguments of the events of a `WebSocketServer`. */
  interface WebSocketServerEvents<
    Client extends typeof WebSocketClass = typeof WebSocketClass,
    Request extends typeof IncomingMessage = typeof IncomingMessage
  > {
    /** The server has stopped; see `close()`. */
    close: [];
    /** A handshake completed. */
    connection: [
      websocket: InstanceType<Client>,
      request: InstanceType<Request>
    ];
    /** The HTTP server reported an error. */
    error: [error: Error];
    /**
     * The lines of the 101 response (status line first) are about to be
     * written; listeners may change the array.
     */
    headers: [headers: string[], request: InstanceType<Request>];
    /** The HTTP server is listening. */
    listening: [];
    /**
     * A handshake request was rejected before a connection existed. With a
     * listener, answering and closing the socket is up to it; without one
     * the server writes a 4xx response.
     */
    wsClientError: [
      error: Error,
      socket: Duplex,
      request: InstanceType<Request>
    ];
  }

  /**
   * A WebSocket server. It either creates its own HTTP server (`port`),
   * listens to the upgrade requests of an existing one (`server`), or is fed
   * upgrade requests by the application (`noServer` and `handleUpgrade()`).
   */
  class WebSocketServer<
    Client extends typeof WebSocketClass = typeof WebSocketClass,
    Request extends typeof IncomingMessage = typeof IncomingMessage
  > extends EventEmitter {
    /**
     * @param options Exactly one of `port`, `server` and `noServer` must be
     *     set.
     * @param callback With `port`, added as a `'listening'` listener.
     * @throws {TypeError} If not exactly one of `port`, `server` and
     *     `noServer` is set.
     */
    constructor(options: ServerOptions<Client, Request>, callback?: () => void);

    /** The options in effect, defaults included. */
    options: ServerOptions<Client, Request>;

    /**
     * The open connections. Only present when `clientTracking` is on (the
     * default).
     */
    clients: Set<InstanceType<Client>>;

    /**
     * The address the HTTP server is bound to, as `server.address()`
     * reports it; `null` if there is none.
     *
     * @throws {Error} In `noServer` mode.
     */
    address(): AddressInfo | string | null;

    /**
     * Stops accepting connections and closes the HTTP server if this server
     * created it. Open connections are not closed. `'close'` follows once
     * that HTTP server is closed, or else once every tracked connection is
     * gone (next tick without tracking).
     *
     * @param callback Called on `'close'`; with an error if the server was
     *     already closed.
     */
    close(callback?: (error?: Error) => void): void;

    /**
     * Completes (or rejects) the handshake of an upgrade request. Called
     * automatically with `port` and `server`; in `noServer` mode the
     * application calls it from the HTTP server's `'upgrade'` event.
     *
     * @param callback Called with the new connection once the 101 response
     *     is written.
     * @throws {Error} When called twice for the same socket.
     */
    handleUpgrade(
      request: InstanceType<Request>,
      socket: Duplex,
      head: Buffer,
      callback: (
        websocket: InstanceType<Client>,
        request: InstanceType<Request>
      ) => void
    ): void;

    /**
     * Whether an upgrade request is for this server. By default it compares
     * the pathname with the `path` option. May be overridden; a `false`
     * answers 400.
     */
    shouldHandle(request: InstanceType<Request>): boolean;

    /**
     * wsrs: sends one message to every open connection in `clients`. The
     * frame is built once and the same bytes go to every connection, each
     * behind what it already has queued (and after a fragmented message it
     * is in the middle of). With permessage-deflate, connections that
     * negotiated `server_no_context_takeover` share one compression (one
     * per distinct window size and level); the others compress with their
     * own context, as `send()` does.
     *
     * With a backplane, the message also reaches every other server's
     * connections, unless `local` is set.
     *
     * @returns How many connections of this server the message was handed to.
     * @throws {Error} Without `clientTracking`.
     * @throws {TypeError} For a `Blob`.
     */
    broadcast(
      data: BroadcastData,
      options?: BroadcastOptions<InstanceType<Client>>
    ): number;

    /**
     * wsrs: sends one message to every open connection subscribed to
     * `topic` (see `websocket.subscribe()`), framed once as by
     * `broadcast()`. With a backplane, the subscribers on every other
     * server get it too, unless `local` is set.
     *
     * @returns How many subscribers of this server the message was handed to.
     */
    publish(
      topic: string,
      data: BroadcastData,
      options?: BroadcastOptions<InstanceType<Client>>
    ): number;

    /** wsrs: how many connections of this server are subscribed to `topic`. */
    subscribers(topic: string): number;

    /** wsrs: the `backplane` option, or `null`. */
    readonly backplane: Backplane | null;

    on<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    on(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    once<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    once(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    off<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    off(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    addListener<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    addListener(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    removeListener<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    removeListener(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    prependListener<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    prependListener(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    prependOnceListener<E extends keyof WebSocketServerEvents<Client, Request>>(
      event: E,
      listener: (
        this: this,
        ...args: WebSocketServerEvents<Client, Request>[E]
      ) => void
    ): this;
    prependOnceListener(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;
  }

  /** The address of a server listening on TCP. */
  type AddressInfo = NetAddressInfo;

  // ---------------------------------------------------------------------
  // Server-sent events

  /** wsrs: options of `new EventSource()`. */
  interface EventSourceOptions {
    /** Extra response headers (they may override the defaults). */
    headers?: OutgoingHttpHeaders | undefined;
    /**
     * Seconds the client waits before reconnecting, sent as the stream's
     * `retry:` field. Defaults to 5.
     */
    retry?: number | undefined;
    /**
     * Seconds between keep-alive comments; `false` or 0 sends none.
     * Defaults to 10.
     */
    ping?: number | false | undefined;
  }

  /** wsrs: options of `eventSource.send()`. */
  interface EventSourceSendOptions {
    /** The event type; the client dispatches `'message'` without one. */
    event?: string | undefined;
    /** The event id, sent back as `Last-Event-ID` on reconnection. */
    id?: string | number | undefined;
  }

  /** wsrs: listener arguments of the events of an `EventSource`. */
  interface EventSourceEvents {
    /** The stream is ready (emitted on the tick after construction). */
    open: [];
    /** The stream ended, on either side. */
    close: [];
    /** The response failed; `'close'` follows. */
    error: [error: Error];
  }

  /**
   * wsrs: the server side of a Server-Sent Events stream (`text/event-stream`),
   * with faye-websocket's API. Wrap a request for which `isEventSource()` is
   * true, and its response, then `send()` events.
   */
  class EventSource extends EventEmitter {
    /** Whether a request is a GET that accepts `text/event-stream`. */
    static isEventSource(request: IncomingMessage): boolean;

    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    readonly CONNECTING: 0;
    readonly OPEN: 1;
    readonly CLOSING: 2;
    readonly CLOSED: 3;

    /**
     * Writes the response head (200, `Content-Type: text/event-stream`,
     * `Cache-Control: no-cache, no-store`) and the `retry:` field.
     *
     * @throws {RangeError} For a bad `retry` or `ping`.
     */
    constructor(
      request: IncomingMessage,
      response: ServerResponse,
      options?: EventSourceOptions
    );

    /** The request's absolute URL. */
    readonly url: string;
    /**
     * The id the client last saw: its `Last-Event-ID` header, else the
     * `lastEventId` query parameter, else `''`.
     */
    readonly lastEventId: string;
    /** `CONNECTING`, `OPEN`, `CLOSING` or `CLOSED`. */
    readonly readyState: ReadyState;

    onopen: ((this: EventSource) => void) | null;
    onclose: ((this: EventSource) => void) | null;
    onerror: ((this: EventSource, error: Error) => void) | null;

    /**
     * Sends an event. Line breaks in `data` split it into several `data:`
     * lines, which the client joins with `\n`.
     *
     * @returns `false` if the stream is closed or the response's buffer is
     *     full (wait for the response's `'drain'`).
     */
    send(data: unknown, options?: EventSourceSendOptions): boolean;

    /** Sends a comment, which the client ignores, to keep the line alive. */
    ping(message?: string): boolean;

    /** Ends the response; `'close'` is emitted once. */
    close(): void;

    on<E extends keyof EventSourceEvents>(
      event: E,
      listener: (this: this, ...args: EventSourceEvents[E]) => void
    ): this;
    on(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    once<E extends keyof EventSourceEvents>(
      event: E,
      listener: (this: this, ...args: EventSourceEvents[E]) => void
    ): this;
    once(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;
  }

  // ---------------------------------------------------------------------
  // Streams

  /**
   * Wraps a connection in a `Duplex` stream: each received message is a
   * readable chunk, each written chunk is sent as one message. Writes made
   * while connecting wait for `'open'`; ending the writable side closes the
   * connection and destroying the stream terminates it.
   *
   * @param options `Duplex` options. `objectMode`, `writableObjectMode`,
   *     `autoDestroy` and `emitClose` are overridden; `readableObjectMode`
   *     makes text messages readable as strings.
   */
  function createWebSocketStream(
    websocket: WebSocket,
    options?: DuplexOptions
  ): Duplex;

  // ---------------------------------------------------------------------
  // Frame-level classes

  /**
   * Parses the bytes of one connection (written to it as a stream) into
   * messages and control frames.
   */
  class Receiver extends Writable {
    constructor(options?: Receiver.Options);

    on<E extends keyof Receiver.Events>(
      event: E,
      listener: (this: this, ...args: Receiver.Events[E]) => void
    ): this;
    on(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    once<E extends keyof Receiver.Events>(
      event: E,
      listener: (this: this, ...args: Receiver.Events[E]) => void
    ): this;
    once(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;

    addListener<E extends keyof Receiver.Events>(
      event: E,
      listener: (this: this, ...args: Receiver.Events[E]) => void
    ): this;
    addListener(
      event: string | symbol,
      listener: (this: this, ...args: any[]) => void
    ): this;
  }

  namespace Receiver {
    /** Options of `new Receiver()`. Limits set to 0 are disabled. */
    interface Options {
      /** Defaults to `true`. */
      allowSynchronousEvents?: boolean | undefined;
      /** Defaults to `'nodebuffer'`. */
      binaryType?: BinaryType | undefined;
      /** The negotiated extensions, by name. */
      extensions?: { [name: string]: PerMessageDeflate } | undefined;
      /** Server side (frames must be masked) or client side. */
      isServer?: boolean | undefined;
      maxBufferedChunks?: number | undefined;
      maxFragments?: number | undefined;
      maxPayload?: number | undefined;
      skipUTF8Validation?: boolean | undefined;
    }

    /** Listener arguments of the receiver's own events. */
    interface Events {
      /** A close frame; the code is 1005 when it had no body. */
      conclude: [code: number, reason: Buffer];
      /** A protocol violation; the error has a `WS_ERR_*` `code`. */
      error: [error: Error];
      message: [data: RawData, isBinary: boolean];
      ping: [data: Buffer];
      pong: [data: Buffer];
    }
  }

  /**
   * Frames and writes outgoing data for one connection, compressing it when
   * permessage-deflate was negotiated.
   */
  class Sender {
    /**
     * @param socket Where frames are written.
     * @param extensions The negotiated extensions, by name.
     * @param generateMask Fills each 4-byte masking key.
     */
    constructor(
      socket: Duplex,
      extensions?: { [name: string]: PerMessageDeflate },
      generateMask?: (mask: Buffer) => void
    );

    /**
     * Builds one frame. Returns the header and the payload as two buffers,
     * or a single buffer holding both. Useful to frame a message once and
     * write it to many sockets (with `sendFrame()`).
     *
     * When masking, the payload is masked in place unless `readOnly` is set.
     */
    static frame(data: Buffer | string, options: Sender.FrameOptions): Buffer[];

    /** Called when compressing or reading a `Blob` fails. */
    onerror: (error: Error) => void;

    /**
     * Sends a close frame.
     *
     * @throws {TypeError} If `code` is not a valid close code, or `reason`
     *     is neither a string nor a `Uint8Array`.
     * @throws {RangeError} If `reason` is longer than 123 bytes.
     */
    close(
      code?: number,
      reason?: string | Uint8Array,
      mask?: boolean,
      callback?: WriteCallback
    ): void;

    /**
     * Sends a ping frame.
     *
     * @throws {RangeError} If the payload is larger than 125 bytes.
     */
    ping(data: SendData, mask: boolean, callback?: WriteCallback): void;

    /**
     * Sends a pong frame.
     *
     * @throws {RangeError} If the payload is larger than 125 bytes.
     */
    pong(data: SendData, mask: boolean, callback?: WriteCallback): void;

    /** Sends a message or one fragment of it. */
    send(
      data: SendData,
      options: Sender.SendOptions,
      callback?: WriteCallback
    ): void;

    /**
     * Writes a frame built by `Sender.frame()` to the socket (corked when
     * it comes in two parts).
     */
    sendFrame(
      list: ReadonlyArray<Buffer | string>,
      callback?: WriteCallback
    ): void;
  }

  namespace Sender {
    /** Options of `Sender.frame()`. Flags that are left out count as false. */
    interface FrameOptions {
      /** Set FIN: this is the last frame of the message. */
      fin?: boolean | undefined;
      /** Fills the masking key instead of the built-in random source. */
      generateMask?: ((mask: Buffer) => void) | undefined;
      /** Mask the payload (client to server). */
      mask?: boolean | undefined;
      /** A 4-byte buffer to hold the masking key. */
      maskBuffer?: Buffer | undefined;
      /**
       * The opcode: 0 continuation, 1 text, 2 binary, 8 close, 9 ping,
       * 10 pong.
       */
      opcode: number;
      /** Do not modify `data`: masking then works on a copy. */
      readOnly?: boolean | undefined;
      /** Set RSV1 (the payload is compressed). */
      rsv1?: boolean | undefined;
    }

    /**
     * Options of `sender.send()`. Unlike `websocket.send()`, nothing is
     * defaulted: a flag that is left out counts as false (so without
     * `fin: true` more fragments are expected).
     */
    interface SendOptions {
      binary?: boolean | undefined;
      compress?: boolean | undefined;
      fin?: boolean | undefined;
      mask?: boolean | undefined;
    }
  }

  /**
   * The permessage-deflate extension: parameter negotiation, and the
   * compression and decompression of payloads.
   */
  class PerMessageDeflate {
    constructor(options?: PerMessageDeflate.Options);

    /** `'permessage-deflate'`, the extension token. */
    static readonly extensionName: 'permessage-deflate';

    /** The negotiated parameters, once `accept()` succeeded. */
    params: PerMessageDeflate.Params | null;

    /** The parameters of a client's offer, from the options. */
    offer(): PerMessageDeflate.Params;

    /**
     * Settles the parameters from the peer's offers (server) or response
     * (client), as parsed by `extension.parse()`.
     *
     * @throws {Error} If nothing acceptable was offered, or a parameter is
     *     unknown, repeated or out of range.
     */
    accept(configurations: extension.Params[]): PerMessageDeflate.Params;

    /** Releases the compressor and decompressor. */
    cleanup(): void;

    /** Compresses one fragment; `fin` ends the message. */
    compress(
      data: Buffer | string,
      fin: boolean,
      callback: (error: Error | null, result?: Buffer) => void
    ): void;

    /**
     * Decompresses one fragment; `fin` ends the message. Fails with a
     * `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH` error beyond `maxPayload`.
     */
    decompress(
      data: Buffer,
      fin: boolean,
      callback: (error: Error | null, result?: Buffer) => void
    ): void;
  }

  namespace PerMessageDeflate {
    /** Options of `new PerMessageDeflate()`. */
    interface Options extends PerMessageDeflateOptions {
      /** Negotiate as the server. Defaults to `false`. */
      isServer?: boolean | undefined;
      /** Largest decompressed message; 0 (the default) means no limit. */
      maxPayload?: number | undefined;
    }

    /**
     * Extension parameters in their negotiated (or offered) form, ready for
     * `extension.format()`.
     */
    type Params = {
      server_no_context_takeover?: true;
      client_no_context_takeover?: true;
      server_max_window_bits?: number | true;
      client_max_window_bits?: number | true;
    };
  }

  // ---------------------------------------------------------------------
  // Header helpers

  /** The `Sec-WebSocket-Extensions` header. */
  namespace extension {
    /**
     * The parameters of one offer: each parameter name maps to its values,
     * `true` standing for a parameter without a value.
     */
    interface Params {
      [param: string]: Array<string | true>;
    }

    /** A parameter value for `format()`; `true` writes the bare name. */
    type FormatValue = string | number | true;

    /** The parameters of one offer for `format()`. */
    interface FormatParams {
      [param: string]: FormatValue | FormatValue[];
    }

    /**
     * Parses a header value into the offers of each extension, by name.
     *
     * @throws {SyntaxError} If the value is malformed.
     */
    function parse(header: string): { [extension: string]: Params[] };

    /** Builds a header value from offers by extension name. */
    function format(extensions: {
      [extension: string]: FormatParams | FormatParams[];
    }): string;
  }

  /** The `Sec-WebSocket-Protocol` header. */
  namespace subprotocol {
    /**
     * Parses a comma-separated list of subprotocol names.
     *
     * @throws {SyntaxError} On an invalid character, a duplicate, or a value
     *     that ends early.
     */
    function parse(header: string): Set<string>;
  }
}

export = WebSocket;
