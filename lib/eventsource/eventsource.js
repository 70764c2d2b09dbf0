'use strict';

//
// The server side of Server-Sent Events (the HTML standard's
// `text/event-stream`), with faye-websocket's EventSource API: wrap an
// ordinary HTTP request and response, then `send()` events down the
// response as the browser's `EventSource` expects them.
//

const EventEmitter = require('events');
const { URL } = require('url');

// Ready states, numbered like WebSocket's (as faye-websocket does).
const { CONNECTING, OPEN, CLOSING, CLOSED } = require('../ready-states');

/** Seconds the client should wait before reconnecting, by default. */
const DEFAULT_RETRY = 5;

/** Seconds between keep-alive comments, by default. */
const DEFAULT_PING = 10;

// Line breaks as the event-stream format knows them.
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * A server-sent event stream to one client.
 *
 * @extends EventEmitter
 */
class EventSource extends EventEmitter {
  /**
   * Tells whether a request asks for an event stream: a GET whose `Accept`
   * header lists `text/event-stream`.
   *
   * @param {http.IncomingMessage} req The request
   * @return {Boolean}
   * @public
   */
  static isEventSource(req) {
    if (req.method !== 'GET') return false;

    const accept = req.headers.accept;

    if (typeof accept !== 'string') return false;

    return accept.split(',').some((item) => {
      const type = item.split(';')[0].trim().toLowerCase();

      return type === 'text/event-stream';
    });
  }

  /**
   * Answers the request with an event stream. `'open'` follows on the next
   * tick.
   *
   * @param {http.IncomingMessage} req The request
   * @param {http.ServerResponse} res Its response, not yet started
   * @param {Object} [options] Options object
   * @param {Object} [options.headers] Extra response headers
   * @param {Number} [options.retry=5] Seconds the client waits before it
   *     reconnects, sent as the stream's `retry:` field
   * @param {(Number|Boolean)} [options.ping=10] Seconds between keep-alive
   *     comments; `false` or `0` for none
   */
  constructor(req, res, options) {
    super();

    const opts = options || {};
    const retry = opts.retry !== undefined ? opts.retry : DEFAULT_RETRY;
    const ping = opts.ping !== undefined ? opts.ping : DEFAULT_PING;

    if (typeof retry !== 'number' || !(retry >= 0) || retry === Infinity) {
      throw new RangeError('The "retry" option must be a number of seconds');
    }

    if (ping !== false && (typeof ping !== 'number' || !(ping >= 0))) {
      throw new RangeError('The "ping" option must be a number of seconds');
    }

    const socket = req.socket;
    const scheme = socket && socket.encrypted ? 'https:' : 'http:';

    this._res = res;
    this._pingTimer = null;
    this._readyState = CONNECTING;
    this.url = `${scheme}//${req.headers.host || 'localhost'}${req.url}`;
    this.lastEventId = lastEventIdOf(req, this.url);

    res.on('close', () => this._finish());
    res.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this._finish();
    });

    if (res.writableEnded || res.destroyed || (socket && socket.destroyed)) {
      process.nextTick(() => this._finish());
      return;
    }

    if (socket) {
      socket.setTimeout(0);
      socket.setNoDelay(true);
    }

    res.writeHead(
      200,
      Object.assign(
        {
          'Cache-Control': 'no-cache, no-store',
          'Content-Type': 'text/event-stream'
        },
        opts.headers
      )
    );
    res.write(`retry: ${Math.floor(retry * 1000)}\n\n`);

    if (ping) {
      this._pingTimer = setInterval(() => this.ping(), ping * 1000);
      this._pingTimer.unref();
    }

    process.nextTick(() => {
      if (this._readyState !== CONNECTING) return;

      this._readyState = OPEN;
      this.emit('open');
    });
  }

  /**
   * `CONNECTING`, `OPEN`, `CLOSING` or `CLOSED` (0 to 3).
   *
   * @type {Number}
   */
  get readyState() {
    return this._readyState;
  }

  /**
   * Sends an event. Text with line breaks becomes several `data:` lines,
   * which the client joins back with `\n`.
   *
   * @param {*} data The event's data (turned into a string)
   * @param {Object} [options] Options object
   * @param {String} [options.event] The event type (`message` if absent)
   * @param {String} [options.id] The event id, which the client sends back
   *     as `Last-Event-ID` when it reconnects
   * @return {Boolean} `false` if the stream is closed, or if the response's
   *     buffer is full (wait for `'drain'` on the response)
   * @public
   */
  send(data, options) {
    if (this._readyState > OPEN) return false;

    const opts = options || {};
    let frame = '';

    if (opts.event !== undefined) frame += `event: ${oneLine(opts.event)}\n`;
    if (opts.id !== undefined) frame += `id: ${oneLine(opts.id)}\n`;

    for (const line of String(data).split(LINE_BREAK)) {
      frame += `data: ${line}\n`;
    }

    return this._res.write(`${frame}\n`);
  }

  /**
   * Sends a comment, which keeps the connection (and proxies on the way)
   * from timing out and which the client ignores.
   *
   * @param {String} [message] The comment's text
   * @return {Boolean} As for `send()`
   * @public
   */
  ping(message) {
    if (this._readyState > OPEN) return false;

    const text = message === undefined ? '' : oneLine(message);

    return this._res.write(`:${text}\n\n`);
  }

  /**
   * Ends the stream. The client will reconnect after the `retry` delay
   * unless it is closed on its side too.
   *
   * @public
   */
  close() {
    if (this._readyState >= CLOSING) return;

    this._readyState = CLOSING;
    this._res.end();
    this._finish();
  }

  /**
   * Moves to `CLOSED` and emits `'close'`, once.
   *
   * @private
   */
  _finish() {
    if (this._readyState === CLOSED) return;

    this._readyState = CLOSED;
    clearInterval(this._pingTimer);
    this._pingTimer = null;
    this.emit('close');
  }
}

for (const [name, value] of [
  ['CONNECTING', CONNECTING],
  ['OPEN', OPEN],
  ['CLOSING', CLOSING],
  ['CLOSED', CLOSED]
]) {
  const descriptor = { enumerable: true, value };

  Object.defineProperty(EventSource, name, descriptor);
  Object.defineProperty(EventSource.prototype, name, descriptor);
}

//
// `onopen`, `onclose` and `onerror`, each owning at most one listener.
//
const kAttribute = Symbol('wsrs-eventsource-attribute');

for (const type of ['open', 'close', 'error']) {
  Object.defineProperty(EventSource.prototype, `on${type}`, {
    configurable: true,
    enumerable: true,
    get() {
      const own = this.listeners(type).find((fn) => fn[kAttribute]);

      return own === undefined ? null : own[kAttribute];
    },
    set(handler) {
      const own = this.rawListeners(type).find((fn) => fn[kAttribute]);

      if (own !== undefined) this.removeListener(type, own);
      if (typeof handler !== 'function') return;

      const listener = (...args) => handler.apply(this, args);

      listener[kAttribute] = handler;
      this.on(type, listener);
    }
  });
}

module.exports = EventSource;

/**
 * The id the client last saw: its `Last-Event-ID` header, or the
 * `lastEventId` query parameter (which polyfills that cannot set headers
 * use).
 *
 * @param {http.IncomingMessage} req The request
 * @param {String} url The request's absolute URL
 * @return {String} The id, or `''`
 * @private
 */
function lastEventIdOf(req, url) {
  const header = req.headers['last-event-id'];

  if (typeof header === 'string' && header !== '') return header;

  try {
    return new URL(url).searchParams.get('lastEventId') || '';
  } catch {
    return '';
  }
}

/**
 * Removes line breaks, which would end a field early.
 *
 * @param {*} value A field value
 * @return {String}
 * @private
 */
function oneLine(value) {
  return String(value).replace(/[\r\n]/g, '');
}
