'use strict';

// Tests for the small lib/ modules: constants, validation, buffer-util,
// extension, subprotocol, limiter and event-target.

const assert = require('node:assert');
const crypto = require('node:crypto');
const EventEmitter = require('node:events');
const { describe, test } = require('node:test');

const constants = require('../lib/constants');
const validation = require('../lib/validation');
const bufferUtil = require('../lib/buffer-util');
const extension = require('../lib/extension');
const subprotocol = require('../lib/subprotocol');
const Limiter = require('../lib/limiter');
const {
  CloseEvent,
  ErrorEvent,
  Event,
  EventTarget,
  MessageEvent
} = require('../lib/event-target');

/**
 * Asserts that `fn` throws a `SyntaxError` with exactly `message`.
 *
 * @param {Function} fn The function to call
 * @param {String} message The expected message
 */
function throwsSyntax(fn, message) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof SyntaxError, `not a SyntaxError: ${err}`);
    assert.strictEqual(err.message, message);
    return true;
  });
}

/**
 * A strict UTF-8 check to compare against.
 *
 * @param {Buffer} buf The bytes
 * @return {Boolean} Whether they are valid UTF-8
 */
function referenceUTF8(buf) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

describe('constants', () => {
  test('has the names ws has, with their values', () => {
    assert.deepStrictEqual(Object.keys(constants).sort(), [
      'BINARY_TYPES',
      'CLOSE_TIMEOUT',
      'EMPTY_BUFFER',
      'GUID',
      'NOOP',
      'hasBlob',
      'kForOnEventAttribute',
      'kListener',
      'kStatusCode',
      'kWebSocket'
    ]);
    assert.strictEqual(constants.GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    assert.strictEqual(constants.CLOSE_TIMEOUT, 30000);
    assert.strictEqual(constants.EMPTY_BUFFER.length, 0);
    assert.ok(Buffer.isBuffer(constants.EMPTY_BUFFER));
    assert.strictEqual(constants.NOOP(), undefined);
  });

  test('offers the blob binary type only when Blob exists', () => {
    assert.strictEqual(constants.hasBlob, typeof Blob !== 'undefined');
    const expected = ['nodebuffer', 'arraybuffer', 'fragments'];
    if (constants.hasBlob) expected.push('blob');
    assert.deepStrictEqual(constants.BINARY_TYPES, expected);
  });

  test('the keys are distinct symbols', () => {
    const keys = [
      constants.kForOnEventAttribute,
      constants.kListener,
      constants.kStatusCode,
      constants.kWebSocket
    ];
    for (const key of keys) assert.strictEqual(typeof key, 'symbol');
    assert.strictEqual(new Set(keys).size, keys.length);
  });
});

describe('validation', () => {
  test('isValidStatusCode accepts exactly the codes of RFC 6455', () => {
    const accepted = [];
    for (let code = 0; code < 6000; code++) {
      if (validation.isValidStatusCode(code)) accepted.push(code);
    }
    const expected = [];
    for (let code = 1000; code <= 1014; code++) {
      if (code < 1004 || code > 1006) expected.push(code);
    }
    for (let code = 3000; code <= 4999; code++) expected.push(code);
    assert.deepStrictEqual(accepted, expected);
    assert.strictEqual(validation.isValidStatusCode(NaN), false);
    assert.strictEqual(validation.isValidStatusCode(undefined), false);
  });

  test('tokenChars marks the RFC 7230 token characters', () => {
    const { tokenChars } = validation;
    assert.strictEqual(tokenChars.length, 128);
    const allowed = [];
    for (let c = 0; c < 128; c++) {
      if (tokenChars[c] === 1) allowed.push(String.fromCharCode(c));
      else assert.strictEqual(tokenChars[c], 0);
    }
    assert.strictEqual(
      allowed.join(''),
      "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`" +
        'abcdefghijklmnopqrstuvwxyz|~'
    );
    assert.strictEqual(tokenChars[0xe9], undefined);
  });

  test('isValidUTF8 agrees with a strict decoder on every 1 and 2 byte input', () => {
    const buf = Buffer.alloc(2);
    for (let a = 0; a < 256; a++) {
      assert.strictEqual(
        validation.isValidUTF8(Buffer.from([a])),
        referenceUTF8(Buffer.from([a]))
      );
      for (let b = 0; b < 256; b++) {
        buf[0] = a;
        buf[1] = b;
        assert.strictEqual(validation.isValidUTF8(buf), referenceUTF8(buf));
      }
    }
  });

  test('isValidUTF8 rejects overlongs, surrogates and values past U+10FFFF', () => {
    const bad = [
      [0xc0, 0xaf],
      [0xe0, 0x9f, 0xbf],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0x80],
      [0xe2, 0x82]
    ];
    for (const bytes of bad) {
      assert.strictEqual(validation.isValidUTF8(Buffer.from(bytes)), false);
    }
    const good = [
      [0xed, 0x9f, 0xbf],
      [0xee, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf],
      [0xf0, 0x90, 0x80, 0x80]
    ];
    for (const bytes of good) {
      assert.strictEqual(validation.isValidUTF8(Buffer.from(bytes)), true);
    }
    assert.strictEqual(validation.isValidUTF8(Buffer.alloc(0)), true);
  });

  test('isValidUTF8 gives the same answers on both sides of the native threshold', () => {
    const text = Buffer.from('añ€𐍈'.repeat(20));
    for (let length = 0; length <= 64; length++) {
      const head = text.subarray(0, length);
      assert.strictEqual(validation.isValidUTF8(head), referenceUTF8(head));

      // The same bytes followed by a stray continuation byte, and by a
      // truncated 3-byte sequence.
      for (const tail of [[0x80], [0xe2, 0x82]]) {
        const buf = Buffer.concat([head, Buffer.from(tail)]);
        assert.strictEqual(validation.isValidUTF8(buf), referenceUTF8(buf));
      }
    }
  });

  test('isValidUTF8 agrees with a strict decoder on random short inputs', () => {
    const pieces = ['a', 'ß', '€', '😀']
      .map((s) => Buffer.from(s))
      .concat([Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc1, 0xbf])]);
    for (let round = 0; round < 20000; round++) {
      const parts = [];
      const count = crypto.randomInt(24);
      for (let k = 0; k < count; k++) {
        const pick =
          crypto.randomInt(100) < 95
            ? crypto.randomInt(4)
            : 4 + crypto.randomInt(2);
        parts.push(pieces[pick]);
      }
      let buf = Buffer.concat(parts);
      if (buf.length && crypto.randomInt(4) === 0) {
        buf = buf.subarray(0, crypto.randomInt(buf.length));
      }
      assert.strictEqual(
        validation.isValidUTF8(buf),
        referenceUTF8(buf),
        buf.toString('hex')
      );
    }
  });

  test('isBlob recognises Blob and File, and nothing else', (t) => {
    if (typeof Blob === 'undefined') {
      t.skip('no Blob in this runtime');
      return;
    }
    assert.strictEqual(validation.isBlob(new Blob(['x'])), true);
    if (typeof File !== 'undefined') {
      assert.strictEqual(validation.isBlob(new File([], 'f')), true);
    }
    for (const value of [
      null,
      undefined,
      {},
      'blob',
      Buffer.alloc(1),
      new ArrayBuffer(1)
    ]) {
      assert.strictEqual(validation.isBlob(value), false);
    }
    const lookalike = {
      type: '',
      arrayBuffer() {},
      stream() {},
      [Symbol.toStringTag]: 'Blob'
    };
    assert.strictEqual(validation.isBlob(lookalike), true);
    delete lookalike.stream;
    assert.strictEqual(validation.isBlob(lookalike), false);
  });
});

describe('buffer-util', () => {
  test('concat joins buffers, and never exposes bytes it did not write', () => {
    const { concat } = bufferUtil;
    assert.strictEqual(concat([], 0), constants.EMPTY_BUFFER);
    const only = Buffer.from('abc');
    assert.strictEqual(concat([only], 3), only);
    assert.deepStrictEqual(
      concat([Buffer.from('ab'), Buffer.from('c'), Buffer.from('de')], 5),
      Buffer.from('abcde')
    );
    const short = concat([Buffer.from([1, 2]), Buffer.from([3])], 10);
    assert.deepStrictEqual([...short], [1, 2, 3]);
    assert.ok(Buffer.isBuffer(short));
  });

  test('mask and unmask match the byte-wise definition at every size up to 300', () => {
    const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    for (let length = 0; length <= 300; length++) {
      const source = crypto.randomBytes(length);
      const output = Buffer.alloc(length + 7, 0xaa);
      bufferUtil.mask(source, key, output, 7, length);
      for (let i = 0; i < 7; i++) assert.strictEqual(output[i], 0xaa);
      for (let i = 0; i < length; i++) {
        assert.strictEqual(output[7 + i], source[i] ^ key[i & 3]);
      }

      const copy = Buffer.from(output.subarray(7));
      bufferUtil.unmask(copy, key);
      assert.deepStrictEqual(copy, source);
    }
  });

  test('mask can mask part of the source', () => {
    const key = Buffer.from([1, 2, 3, 4]);
    const source = Buffer.alloc(100, 0);
    const output = Buffer.alloc(100, 0xff);
    bufferUtil.mask(source, key, output, 0, 60);
    assert.deepStrictEqual(
      [...output.subarray(0, 8)],
      [1, 2, 3, 4, 1, 2, 3, 4]
    );
    assert.strictEqual(output[59], 4);
    assert.strictEqual(output[60], 0xff);
  });

  test('toArrayBuffer returns the backing store only when it is all used', () => {
    const whole = new Uint8Array([1, 2, 3]);
    const buf = Buffer.from(whole.buffer);
    assert.strictEqual(bufferUtil.toArrayBuffer(buf), whole.buffer);

    const part = Buffer.from(whole.buffer, 1, 2);
    const ab = bufferUtil.toArrayBuffer(part);
    assert.notStrictEqual(ab, whole.buffer);
    assert.deepStrictEqual([...new Uint8Array(ab)], [2, 3]);
  });

  test('toBuffer shares memory with binary inputs and copies the rest', () => {
    const { toBuffer } = bufferUtil;

    const buf = Buffer.from('abc');
    assert.strictEqual(toBuffer(buf), buf);
    assert.strictEqual(toBuffer.readOnly, true);

    const ab = new ArrayBuffer(4);
    const fromAb = toBuffer(ab);
    assert.strictEqual(toBuffer.readOnly, true);
    new Uint8Array(ab)[0] = 9;
    assert.strictEqual(fromAb[0], 9);
    assert.strictEqual(fromAb.length, 4);

    const u16 = new Uint16Array(ab, 2, 1);
    const fromView = toBuffer(u16);
    assert.strictEqual(fromView.buffer, ab);
    assert.strictEqual(fromView.byteOffset, 2);
    assert.strictEqual(fromView.length, 2);

    const dv = new DataView(ab, 1, 2);
    const fromDataView = toBuffer(dv);
    assert.strictEqual(fromDataView.byteOffset, 1);
    assert.strictEqual(fromDataView.length, 2);
    assert.strictEqual(toBuffer.readOnly, true);

    assert.deepStrictEqual(toBuffer('héllo'), Buffer.from('héllo'));
    assert.strictEqual(toBuffer.readOnly, false);

    assert.deepStrictEqual(toBuffer([1, 2, 300]), Buffer.from([1, 2, 44]));
    assert.strictEqual(toBuffer.readOnly, false);

    toBuffer(buf);
    assert.strictEqual(toBuffer.readOnly, true);

    assert.throws(() => toBuffer(42), TypeError);
    assert.throws(() => toBuffer(null), TypeError);
  });
});

describe('extension', () => {
  const { format, parse } = extension;

  test('parses offers and parameters into null-prototype objects', () => {
    const offers = parse('a; x; y=1; x=2, b, a; z');
    assert.strictEqual(Object.getPrototypeOf(offers), null);
    assert.deepStrictEqual(offers, {
      __proto__: null,
      a: [
        { __proto__: null, x: [true, '2'], y: ['1'] },
        { __proto__: null, z: [true] }
      ],
      b: [{ __proto__: null }]
    });
  });

  test('handles names that are Object.prototype properties', () => {
    assert.deepStrictEqual(parse('__proto__; constructor=1, valueOf'), {
      __proto__: null,
      ['__proto__']: [{ __proto__: null, constructor: ['1'] }],
      valueOf: [{ __proto__: null }]
    });
  });

  test('unquotes and unescapes quoted values', () => {
    const value = (header) => parse(header).e[0].p;
    assert.deepStrictEqual(value('e;p="15"'), ['15']);
    assert.deepStrictEqual(value('e;p="\\1\\5"'), ['15']);
    assert.deepStrictEqual(value('e;p="a\\b"; p'), ['ab', true]);
    assert.deepStrictEqual(value('e; p="x" ,f'), ['x']);
    assert.deepStrictEqual(value('e;p="x"\t'.trimEnd()), ['x']);
  });

  test('accepts white space around tokens and separators', () => {
    assert.deepStrictEqual(parse('e \t; p=1 \t;q\t,  f ;g'), {
      __proto__: null,
      e: [{ __proto__: null, p: ['1'], q: [true] }],
      f: [{ __proto__: null, g: [true] }]
    });
  });

  test('reports the index of the first unexpected character', () => {
    const cases = [
      [' e', 0],
      ['e f', 2],
      [',e', 0],
      ['e,,f', 2],
      ['e;;', 2],
      ['e;=1', 2],
      ['e;p =1', 4],
      ['e;p= 1', 4],
      ['e;p=1 2', 6],
      ['e;p=""', 5],
      ['e;p="a"b', 7],
      ['e;p="a b"', 6],
      ['e;p="a\\"', 7],
      ['e;p=a"', 5],
      ['e;p=\\a', 4],
      ['e=1', 1],
      ['e;p=1=2', 5],
      ['é', 0],
      ['e;p="é"', 5]
    ];
    for (const [header, index] of cases) {
      throwsSyntax(
        () => parse(header),
        `Unexpected character at index ${index}`
      );
    }
  });

  test('reports a value that ends too early', () => {
    for (const header of [
      '',
      'e ',
      'e,',
      'e;',
      'e;p=',
      'e;p="a',
      'e;p="a\\',
      'e;p\t',
      'e;p="a" '
    ]) {
      throwsSyntax(() => parse(header), 'Unexpected end of input');
    }
  });

  test('format writes offers and repeated parameters', () => {
    assert.strictEqual(format({}), '');
    assert.strictEqual(format({ e: {} }), 'e');
    assert.strictEqual(
      format({ e: [{ a: true, b: [1, true] }, {}], f: { c: 'x' } }),
      'e; a; b=1; b, e, f; c=x'
    );
  });

  test('format and parse are inverses for token values', () => {
    const header =
      'permessage-deflate; client_max_window_bits; server_no_context_takeover, x; y=2';
    assert.strictEqual(format(parse(header)), header);
  });
});

describe('subprotocol', () => {
  const { parse } = subprotocol;

  test('returns the names in order', () => {
    assert.deepStrictEqual([...parse('chat')], ['chat']);
    assert.deepStrictEqual([...parse('b, a\t,c')], ['b', 'a', 'c']);
  });

  test('rejects a repeated name', () => {
    throwsSyntax(() => parse('a,b,a'), 'The "a" subprotocol is duplicated');
    throwsSyntax(() => parse('x ,x'), 'The "x" subprotocol is duplicated');
    // The duplicate is reported before a later syntax error.
    throwsSyntax(() => parse('a,a,@'), 'The "a" subprotocol is duplicated');
  });

  test('reports misplaced characters and early ends', () => {
    for (const [header, index] of [
      [' a', 0],
      ['a b', 2],
      [',a', 0],
      ['a,,b', 2],
      ['a;b', 1],
      ['a,b/c', 3]
    ]) {
      throwsSyntax(
        () => parse(header),
        `Unexpected character at index ${index}`
      );
    }
    for (const header of ['', 'a ', 'a,', 'a, ', 'a\t']) {
      throwsSyntax(() => parse(header), 'Unexpected end of input');
    }
  });
});

describe('Limiter', () => {
  test('treats a falsy concurrency as no limit', () => {
    assert.strictEqual(new Limiter().concurrency, Infinity);
    assert.strictEqual(new Limiter(0).concurrency, Infinity);
    assert.strictEqual(new Limiter(3).concurrency, 3);
  });

  test('runs at most `concurrency` jobs at once, in order', async () => {
    const limiter = new Limiter(2);
    const started = [];
    let running = 0;
    let peak = 0;

    await new Promise((resolve) => {
      let finished = 0;
      for (let n = 0; n < 7; n++) {
        limiter.add((done) => {
          started.push(n);
          running++;
          peak = Math.max(peak, running);
          setTimeout(() => {
            running--;
            done();
            if (++finished === 7) resolve();
          }, 7 - n);
        });
      }
      assert.strictEqual(limiter.pending, 2);
      assert.strictEqual(limiter.jobs.length, 5);
    });

    assert.strictEqual(peak, 2);
    assert.deepStrictEqual(started, [0, 1, 2, 3, 4, 5, 6]);
    assert.strictEqual(limiter.pending, 0);
    assert.strictEqual(limiter.jobs.length, 0);
  });

  test('starts synchronously when below the limit', () => {
    const limiter = new Limiter(1);
    let ran = false;
    limiter.add((done) => {
      ran = true;
      done();
    });
    assert.strictEqual(ran, true);
    assert.strictEqual(limiter.pending, 0);
  });
});

describe('event-target', () => {
  /**
   * An EventEmitter with the EventTarget methods, standing in for WebSocket.
   */
  class Host extends EventEmitter {}
  Host.prototype.addEventListener = EventTarget.addEventListener;
  Host.prototype.removeEventListener = EventTarget.removeEventListener;

  test('events have enumerable read-only accessors and defaults', () => {
    const accessors = [
      [Event, ['target', 'type']],
      [CloseEvent, ['code', 'reason', 'wasClean']],
      [ErrorEvent, ['error', 'message']],
      [MessageEvent, ['data']]
    ];
    for (const [Class, names] of accessors) {
      for (const name of names) {
        const d = Object.getOwnPropertyDescriptor(Class.prototype, name);
        assert.strictEqual(d.enumerable, true, name);
        assert.strictEqual(d.configurable, true, name);
        assert.strictEqual(typeof d.get, 'function', name);
        assert.strictEqual(d.set, undefined, name);
      }
    }

    const close = new CloseEvent('close');
    assert.deepStrictEqual(
      [close.type, close.target, close.code, close.reason, close.wasClean],
      ['close', null, 0, '', false]
    );
    const error = new ErrorEvent('error');
    assert.deepStrictEqual([error.error, error.message], [null, '']);
    assert.strictEqual(new MessageEvent('message').data, null);
    assert.ok(new MessageEvent('m') instanceof Event);
  });

  test('converts each emitted event into its DOM form', () => {
    const host = new Host();
    const seen = [];
    host._closeFrameReceived = true;
    host._closeFrameSent = true;

    for (const type of ['open', 'message', 'close', 'error']) {
      host.addEventListener(type, function (event) {
        assert.strictEqual(this, host);
        assert.strictEqual(event.target, host);
        seen.push(event);
      });
    }

    const error = new Error('boom');
    host.emit('open');
    host.emit('message', Buffer.from('text'), false);
    host.emit('message', Buffer.from('bin'), true);
    host.emit('close', 1001, Buffer.from('bye'));
    host.emit('error', error);

    assert.strictEqual(seen[0].type, 'open');
    assert.ok(!(seen[0] instanceof MessageEvent));
    assert.strictEqual(seen[1].data, 'text');
    assert.deepStrictEqual(seen[2].data, Buffer.from('bin'));
    assert.ok(seen[3] instanceof CloseEvent);
    assert.deepStrictEqual(
      [seen[3].code, seen[3].reason, seen[3].wasClean],
      [1001, 'bye', true]
    );
    assert.ok(seen[4] instanceof ErrorEvent);
    assert.strictEqual(seen[4].error, error);
    assert.strictEqual(seen[4].message, 'boom');
  });

  test('wasClean needs both close frames', () => {
    const host = new Host();
    let clean;
    host.addEventListener('close', (event) => (clean = event.wasClean));
    host._closeFrameReceived = true;
    host._closeFrameSent = false;
    host.emit('close', 1006, Buffer.alloc(0));
    assert.strictEqual(clean, false);
  });

  test('calls handleEvent on listener objects, with the object as `this`', () => {
    const host = new Host();
    const listener = {
      calls: 0,
      handleEvent(event) {
        assert.strictEqual(this, listener);
        assert.strictEqual(event.type, 'open');
        this.calls++;
      }
    };
    host.addEventListener('open', listener);
    host.emit('open');
    host.emit('open');
    assert.strictEqual(listener.calls, 2);
  });

  test('ignores unknown types and listeners already added', () => {
    const host = new Host();
    const fn = () => {};
    host.addEventListener('ping', fn);
    assert.strictEqual(host.listenerCount('ping'), 0);
    host.addEventListener('open', fn);
    host.addEventListener('open', fn);
    host.addEventListener('open', fn, { once: true });
    assert.strictEqual(host.listenerCount('open'), 1);
    assert.strictEqual(host.listeners('open')[0][constants.kListener], fn);
  });

  test('once listeners run a single time', () => {
    const host = new Host();
    let calls = 0;
    host.addEventListener('message', () => calls++, { once: true });
    host.emit('message', Buffer.from('a'), false);
    host.emit('message', Buffer.from('b'), false);
    assert.strictEqual(calls, 1);
    assert.strictEqual(host.listenerCount('message'), 0);
  });

  test('a once listener can be removed before it runs', () => {
    const host = new Host();
    const fn = () => assert.fail('should have been removed');
    host.addEventListener('open', fn, { once: true });
    host.removeEventListener('open', fn);
    assert.strictEqual(host.listenerCount('open'), 0);
    host.emit('open');
  });

  test('removeEventListener leaves attribute and plain listeners alone', () => {
    const host = new Host();
    const fn = () => {};
    const plain = () => {};
    host.on('close', plain);
    host.addEventListener('close', fn, {
      [constants.kForOnEventAttribute]: true
    });
    host.addEventListener('close', fn);
    assert.strictEqual(host.listenerCount('close'), 3);

    host.removeEventListener('close', fn);
    assert.strictEqual(host.listenerCount('close'), 2);
    assert.strictEqual(host.listeners('close')[0], plain);
    assert.strictEqual(
      host.listeners('close')[1][constants.kForOnEventAttribute],
      true
    );

    host.removeEventListener('close', fn);
    host.removeEventListener('close', plain);
    assert.strictEqual(host.listenerCount('close'), 2);
  });

  test('an attribute listener does not block a normal one for the same function', () => {
    const host = new Host();
    const fn = () => {};
    host.addEventListener('error', fn, {
      [constants.kForOnEventAttribute]: true
    });
    host.addEventListener('error', fn);
    host.addEventListener('error', fn, {
      [constants.kForOnEventAttribute]: true
    });
    assert.strictEqual(host.listenerCount('error'), 3);
  });
});
