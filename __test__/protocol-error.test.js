'use strict';

// lib/protocol-error.js: the one decoder of the errors Rust hands over.

const assert = require('node:assert');
const { test } = require('node:test');

const { decodeError } = require('../lib/protocol-error');
const { kStatusCode } = require('../lib/constants');
const { NativeInflate } = require('../lib/native/addon');

test('a RangeError with its code and close code', () => {
  const err = decodeError(
    'WS_ERR_TOO_MANY_BUFFERED_PARTS\u00001008\u0000R\u0000\u0000Too many message fragments'
  );

  assert.ok(err instanceof RangeError);
  assert.strictEqual(err.message, 'Too many message fragments');
  assert.strictEqual(err.code, 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
  assert.strictEqual(err[kStatusCode], 1008);
  assert.strictEqual('errno' in err, false);
});

test('an Error with zlib errno, and an empty message', () => {
  const err = decodeError('Z_DATA_ERROR\u00001007\u0000E\u0000-3\u0000');

  assert.strictEqual(Object.getPrototypeOf(err), Error.prototype);
  assert.strictEqual(err.message, '');
  assert.strictEqual(err.errno, -3);
  assert.strictEqual(err[kStatusCode], 1007);
});

test('text not in the encoded form is an internal error closing with 1011', () => {
  const err = decodeError('the compressor is poisoned');

  assert.strictEqual(err.code, 'ERR_WSRS_INTERNAL');
  assert.strictEqual(err[kStatusCode], 1011);
  assert.match(err.message, /internal error: the compressor is poisoned/);
});

test("a corrupt compressed message through NativeInflate decodes to zlib's error", () => {
  const inflate = new NativeInflate(15, false);
  let thrown;

  try {
    inflate.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff]), true, 0);
  } catch (e) {
    thrown = decodeError(e.message);
  }

  assert.ok(thrown instanceof Error);
  assert.match(thrown.code, /^Z_/);
  assert.strictEqual(thrown[kStatusCode], 1007);
  assert.strictEqual(typeof thrown.errno, 'number');
});
