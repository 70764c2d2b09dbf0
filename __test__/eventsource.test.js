'use strict';

// The EventSource server (faye-websocket's API) against a small client that
// reads the stream the way the HTML standard's event-stream interpretation
// describes. Node 20 has no global EventSource and undici is not a
// dependency, so the client is written here.

const assert = require('node:assert');
const http = require('node:http');
const { once } = require('node:events');
const { describe, test } = require('node:test');

const WebSocket = require('..');
const EventSource = require('../lib/eventsource/eventsource');

const HOST = '127.0.0.1';

/** A test bounded in time. */
function check(title, fn) {
  return test(title, { timeout: 10000 }, fn);
}

/** Resolves after `ms` milliseconds. */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * An event-stream reader: feed it text, it calls `onEvent` for each
 * dispatched event and keeps the reconnection time and last event id.
 */
class StreamParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.data = '';
    this.eventType = '';
    this.lastEventId = '';
    this.pendingId = '';
    this.retry = null;
    this.comments = [];
    this.first = true;
  }

  feed(text) {
    if (this.first) {
      // A leading byte order mark is ignored.
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }

    this.buffer += text;

    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);

      if (match === null) return;
      // A lone CR at the end may be the first half of CRLF.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) return;

      const line = this.buffer.slice(0, match.index);

      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      this.dispatch();
      return;
    }

    if (line[0] === ':') {
      this.comments.push(line.slice(1));
      return;
    }

    const colon = line.indexOf(':');
    let field = line;
    let value = '';

    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
    }

    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) this.pendingId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = +value;
  }

  dispatch() {
    // The id is set even by a block without data.
    this.lastEventId = this.pendingId;

    if (this.data === '') {
      this.eventType = '';
      return;
    }

    const event = {
      type: this.eventType || 'message',
      data: this.data.slice(0, -1),
      lastEventId: this.lastEventId
    };

    this.data = '';
    this.eventType = '';
    this.onEvent(event);
  }
}

/**
 * Starts an HTTP server whose request handler is `handler`. Resolves to the
 * server and its base URL.
 */
async function serve(handler) {
  const server = http.createServer(handler);

  server.listen(0, HOST);
  await once(server, 'listening');
  return { server, base: `http://${HOST}:${server.address().port}` };
}

/**
 * Opens a stream like a browser: GET with `Accept: text/event-stream`.
 * Resolves to the response and a parser that collects events.
 */
async function connect(url, headers = {}) {
  const events = [];
  const waiters = [];
  const parser = new StreamParser((event) => {
    events.push(event);
    for (const w of waiters.splice(0)) w();
  });
  const req = http.get(url, {
    headers: { Accept: 'text/event-stream', ...headers }
  });
  const [res] = await once(req, 'response');

  res.setEncoding('utf8');
  res.on('data', (text) => parser.feed(text));

  const client = {
    req,
    res,
    parser,
    events,
    /** Resolves once `n` events have arrived. */
    async waitFor(n) {
      while (events.length < n) {
        await new Promise((resolve) => waiters.push(resolve));
      }
      return events;
    },
    close() {
      req.destroy();
    }
  };

  return client;
}

describe('EventSource', { timeout: 60000 }, () => {
  check('is exported from the package, CommonJS and ESM', async () => {
    assert.strictEqual(WebSocket.EventSource, EventSource);

    const esm = await import('../wrapper.mjs');

    assert.strictEqual(esm.EventSource, EventSource);
  });

  check('isEventSource() recognises a streaming GET', () => {
    const req = (method, accept) => ({
      method,
      headers: accept === undefined ? {} : { accept }
    });

    assert.strictEqual(
      EventSource.isEventSource(req('GET', 'text/event-stream')),
      true
    );
    assert.strictEqual(
      EventSource.isEventSource(
        req('GET', 'text/html, Text/Event-Stream;q=0.9')
      ),
      true
    );
    assert.strictEqual(
      EventSource.isEventSource(req('GET', 'text/html')),
      false
    );
    assert.strictEqual(EventSource.isEventSource(req('GET')), false);
    assert.strictEqual(
      EventSource.isEventSource(req('POST', 'text/event-stream')),
      false
    );
  });

  check('streams events with types, ids and multi-line data', async () => {
    let es;
    let handler;
    const opened = new Promise((resolve) => {
      handler = (req, res) => {
        es = new EventSource(req, res, {
          headers: { 'Access-Control-Allow-Origin': '*' },
          retry: 3
        });
        assert.strictEqual(es.readyState, EventSource.CONNECTING);
        es.on('open', resolve);
      };
    });
    const { server, base } = await serve((req, res) => handler(req, res));
    const client = await connect(`${base}/events?x=1`);

    await opened;
    assert.strictEqual(es.readyState, EventSource.OPEN);
    assert.strictEqual(es.url, `${base}/events?x=1`);
    assert.strictEqual(es.lastEventId, '');
    assert.strictEqual(client.res.statusCode, 200);
    assert.strictEqual(client.res.headers['content-type'], 'text/event-stream');
    assert.match(client.res.headers['cache-control'], /no-cache/);
    assert.strictEqual(client.res.headers['access-control-allow-origin'], '*');

    assert.strictEqual(es.send('plain'), true);
    es.send('line one\nline two\r\nline three\rline four');
    es.send('typed', { event: 'update', id: '42' });
    es.send('after the id');
    es.send(12345);
    es.send('', { event: 'empty-data' });

    const events = await client.waitFor(6);

    assert.strictEqual(client.parser.retry, 3000);
    assert.deepStrictEqual(events, [
      { type: 'message', data: 'plain', lastEventId: '' },
      {
        type: 'message',
        data: 'line one\nline two\nline three\nline four',
        lastEventId: ''
      },
      { type: 'update', data: 'typed', lastEventId: '42' },
      { type: 'message', data: 'after the id', lastEventId: '42' },
      { type: 'message', data: '12345', lastEventId: '42' },
      // A single empty data line still makes an event with empty data.
      { type: 'empty-data', data: '', lastEventId: '42' }
    ]);

    client.close();
    server.close();
  });

  check('keeps line breaks out of the event and id fields', async () => {
    const { server, base } = await serve((req, res) => {
      const es = new EventSource(req, res);

      es.send('data', { event: 'evil\ndata: injected', id: 'a\r\nb' });
    });
    const client = await connect(base);
    const [event] = await client.waitFor(1);

    assert.deepStrictEqual(event, {
      type: 'evildata: injected',
      data: 'data',
      lastEventId: 'ab'
    });
    client.close();
    server.close();
  });

  check('reads lastEventId from the header, else from the query', async () => {
    const ids = [];
    const { server, base } = await serve((req, res) => {
      const es = new EventSource(req, res);

      ids.push(es.lastEventId);
      es.close();
    });

    for (const [path, headers] of [
      ['/', { 'Last-Event-ID': 'from-header' }],
      ['/?lastEventId=from-query', {}],
      ['/?lastEventId=ignored', { 'Last-Event-ID': 'header-wins' }],
      ['/', {}]
    ]) {
      const client = await connect(base + path, headers);

      await once(client.res, 'end');
    }

    assert.deepStrictEqual(ids, [
      'from-header',
      'from-query',
      'header-wins',
      ''
    ]);
    server.close();
  });

  check('ping() and the ping option send comments', async () => {
    let es;
    const { server, base } = await serve((req, res) => {
      es = new EventSource(req, res, { ping: 0.05 });
    });
    const client = await connect(base);

    await delay(200);
    assert.ok(client.parser.comments.length >= 2);
    assert.ok(client.parser.comments.every((c) => c === ''));

    es.ping('hello');
    await delay(50);
    assert.ok(client.parser.comments.includes('hello'));
    assert.strictEqual(client.events.length, 0);

    es.close();
    assert.strictEqual(es._pingTimer, null);
    client.close();
    server.close();
  });

  check('close() ends the response and emits close once', async () => {
    let es;
    let closes = 0;
    const { server, base } = await serve((req, res) => {
      es = new EventSource(req, res, { ping: false });
      es.onclose = () => closes++;
      es.on('open', () => {
        es.send('bye');
        es.close();
        es.close();
      });
    });
    const client = await connect(base);

    await once(client.res, 'end');
    assert.deepStrictEqual(
      client.events.map((e) => e.data),
      ['bye']
    );
    assert.strictEqual(es.readyState, EventSource.CLOSED);
    assert.strictEqual(es.send('too late'), false);
    assert.strictEqual(es.ping(), false);
    await delay(20);
    assert.strictEqual(closes, 1);
    assert.strictEqual(typeof es.onclose, 'function');
    server.close();
  });

  check('emits close when the client goes away', async () => {
    let es;
    let handler;
    const opened = new Promise((resolve) => {
      handler = (req, res) => {
        es = new EventSource(req, res);
        es.on('open', resolve);
      };
    });
    const { server, base } = await serve((req, res) => handler(req, res));
    const client = await connect(base);

    await opened;

    const closed = once(es, 'close');

    client.close();
    await closed;
    assert.strictEqual(es.readyState, EventSource.CLOSED);
    assert.strictEqual(es.send('nobody listens'), false);
    server.close();
  });

  check('closed before open: no open event', async () => {
    let es;
    let opens = 0;
    const { server, base } = await serve((req, res) => {
      es = new EventSource(req, res);
      es.on('open', () => opens++);
      es.close();
    });
    const client = await connect(base);

    await once(client.res, 'end');
    await delay(20);
    assert.strictEqual(opens, 0);
    assert.strictEqual(es.readyState, EventSource.CLOSED);
    server.close();
  });

  check('rejects bad retry and ping options', () => {
    const fake = { method: 'GET', url: '/', headers: {}, socket: null };

    assert.throws(() => new EventSource(fake, {}, { retry: -1 }), RangeError);
    assert.throws(
      () => new EventSource(fake, {}, { ping: 'often' }),
      RangeError
    );
  });
});
