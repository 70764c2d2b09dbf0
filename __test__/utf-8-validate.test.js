'use strict';

const assert = require('node:assert');
const crypto = require('node:crypto');
const { isUtf8 } = require('node:buffer');
const { test } = require('node:test');

const isValidUTF8 = require('../utf-8-validate');
const { rng } = require('./fixtures/rng');

const CRAFTED = [
  [],
  [0x41],
  [0xc0, 0x80], // overlong NUL
  [0xc1, 0xbf],
  [0xc2, 0x80],
  [0xdf, 0xbf],
  [0xe0, 0x80, 0xaf], // overlong
  [0xe0, 0xa0, 0x80],
  [0xed, 0x9f, 0xbf], // last before surrogates
  [0xed, 0xa0, 0x80], // surrogate
  [0xed, 0xbf, 0xbf],
  [0xee, 0x80, 0x80],
  [0xef, 0xbf, 0xbf],
  [0xf0, 0x8f, 0xbf, 0xbf], // overlong
  [0xf0, 0x90, 0x80, 0x80],
  [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0x80],
  [0xbf],
  [0xc2],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5]
];

test('the module export is the function itself', () => {
  assert.strictEqual(typeof isValidUTF8, 'function');
});

test('crafted inputs agree with buffer.isUtf8, alone and inside ASCII', () => {
  for (const bytes of CRAFTED) {
    const buf = Buffer.from(bytes);
    assert.strictEqual(isValidUTF8(buf), isUtf8(buf), buf.toString('hex'));
    // The same bytes after a long ASCII run (past any fast path) and before.
    for (const pad of [1, 31, 32, 33, 64, 100]) {
      const a = Buffer.concat([Buffer.alloc(pad, 0x61), buf]);
      const b = Buffer.concat([buf, Buffer.alloc(pad, 0x61)]);
      assert.strictEqual(
        isValidUTF8(a),
        isUtf8(a),
        `${pad} + ${buf.toString('hex')}`
      );
      assert.strictEqual(
        isValidUTF8(b),
        isUtf8(b),
        `${buf.toString('hex')} + ${pad}`
      );
    }
  }
});

test('agrees with buffer.isUtf8 on 100,000 random inputs', () => {
  const rand = rng(0x5eed);
  const alphabet = [
    'a',
    'Z',
    ' ',
    'é',
    'κ',
    'ё',
    '中',
    '文',
    '€',
    '😀',
    '🎉',
    '\u0000',
    '\uffff'
  ];
  let valid = 0;
  for (let n = 0; n < 100000; n++) {
    let buf;
    if (n % 2 === 0) {
      // Real text, sometimes with one byte corrupted.
      let s = '';
      const chars = rand(60);
      for (let i = 0; i < chars; i++) s += alphabet[rand(alphabet.length)];
      if (n % 10 === 0) s = 'x'.repeat(rand(200)) + s;
      buf = Buffer.from(s);
      if (n % 4 === 0 && buf.length) buf[rand(buf.length)] = rand(256);
    } else {
      buf = crypto.randomBytes(rand(12));
    }
    const expected = isUtf8(buf);
    if (expected) valid++;
    assert.strictEqual(isValidUTF8(buf), expected, buf.toString('hex'));
  }
  // Both outcomes were exercised in quantity.
  assert.ok(valid > 30000 && valid < 90000, `valid: ${valid}`);
});

test('works on views with an offset into a larger ArrayBuffer', () => {
  const backing = Buffer.from('ab\xffcd€', 'latin1');
  const full = Buffer.concat([
    Buffer.from([0xff]),
    Buffer.from('hello €'),
    Buffer.from([0xff])
  ]);
  assert.strictEqual(isValidUTF8(full.subarray(1, full.length - 1)), true);
  assert.strictEqual(isValidUTF8(full), false);
  assert.strictEqual(
    isValidUTF8(new Uint8Array(backing.buffer, backing.byteOffset, 2)),
    true
  );
  assert.strictEqual(
    isValidUTF8(new DataView(full.buffer, full.byteOffset + 1, 5)),
    true
  );
});

test('wrong argument types throw a TypeError', () => {
  for (const bad of [undefined, null, 'text', 1, {}, [0x41]]) {
    assert.throws(() => isValidUTF8(bad), TypeError);
  }
});

test('agrees with the installed utf-8-validate', (t) => {
  let native;
  try {
    native = require('utf-8-validate');
  } catch {
    t.skip('utf-8-validate is not installed');
    return;
  }
  const rand = rng(99);
  for (let n = 0; n < 5000; n++) {
    const buf =
      n % 2
        ? crypto.randomBytes(rand(16))
        : Buffer.from('ok ' + '€'.repeat(rand(20)));
    assert.strictEqual(isValidUTF8(buf), native(buf));
  }
});
