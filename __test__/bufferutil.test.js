'use strict';

const assert = require('node:assert');
const crypto = require('node:crypto');
const { test } = require('node:test');

const bufferUtil = require('../bufferutil');
const { rng } = require('./fixtures/rng');

/**
 * bufferutil's documented semantics, byte by byte.
 */
function referenceMask(source, mask, output, offset, length) {
  for (let i = 0; i < length; i++) {
    output[offset + i] = source[i] ^ mask[i & 3];
  }
}

function referenceUnmask(buffer, mask) {
  for (let i = 0; i < buffer.length; i++) buffer[i] ^= mask[i & 3];
}

test('exports exactly what bufferutil exports', () => {
  assert.deepStrictEqual(Object.keys(bufferUtil).sort(), ['mask', 'unmask']);
});

test('mask and unmask agree with the reference on 100,000 inputs', () => {
  const rand = rng(0xc0ffee);
  const pool = crypto.randomBytes(1 << 17);
  for (let n = 0; n < 100000; n++) {
    // Mostly small lengths, where the edge cases are, and some large ones.
    const len = n % 100 === 0 ? rand(70000) : rand(300);
    const start = rand(pool.length - len);
    const source = pool.subarray(start, start + len);
    const mask = crypto.randomBytes(4);
    const offset = rand(9);
    const pad = rand(5);

    const got = Buffer.alloc(offset + len + pad, 0xaa);
    const want = Buffer.alloc(offset + len + pad, 0xaa);
    bufferUtil.mask(source, mask, got, offset, len);
    referenceMask(source, mask, want, offset, len);
    assert.ok(got.equals(want), `mask len ${len} offset ${offset}`);

    // Unmask on a slice that starts at an arbitrary (unaligned) offset.
    const backing = Buffer.from(got);
    const slice = backing.subarray(offset, offset + len);
    const expect = Buffer.from(slice);
    referenceUnmask(expect, mask);
    bufferUtil.unmask(slice, mask);
    assert.ok(slice.equals(expect), `unmask len ${len}`);
    assert.ok(slice.equals(source), 'unmask undoes mask');
    assert.ok(backing.subarray(0, offset).every((b) => b === 0xaa));
  }
});

test('mask writes only length bytes, even when source is longer', () => {
  const source = Buffer.from('abcdefgh');
  const output = Buffer.alloc(8, 0);
  bufferUtil.mask(source, Buffer.from([1, 2, 3, 4]), output, 2, 3);
  assert.deepStrictEqual(
    [...output],
    [0, 0, 0x61 ^ 1, 0x62 ^ 2, 0x63 ^ 3, 0, 0, 0]
  );
});

test('works on Uint8Array and other views', () => {
  const src = new Uint8Array([1, 2, 3, 4, 5]);
  const out = new Uint8Array(5);
  bufferUtil.mask(src, new Uint8Array([1, 1, 1, 1]), out, 0, 5);
  assert.deepStrictEqual([...out], [0, 3, 2, 5, 4]);
  bufferUtil.unmask(out, new Uint8Array([1, 1, 1, 1]));
  assert.deepStrictEqual([...out], [1, 2, 3, 4, 5]);
});

test('numbers are read as uint32, like bufferutil reads them', () => {
  const src = Buffer.from([1, 2, 3, 4]);
  const m = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const a = Buffer.alloc(4);
  const b = Buffer.alloc(4);
  bufferUtil.mask(src, m, a, 0.7, 3.9);
  bufferUtil.mask(src, m, b, 0, 3);
  assert.deepStrictEqual(a, b);
});

test('wrong argument types throw a TypeError', () => {
  const b = Buffer.alloc(8);
  const m = Buffer.alloc(4);
  for (const bad of [undefined, null, 'str', 42, {}, [1, 2, 3, 4]]) {
    assert.throws(() => bufferUtil.mask(bad, m, b, 0, 1), TypeError);
    assert.throws(() => bufferUtil.mask(b, bad, b, 0, 1), TypeError);
    assert.throws(() => bufferUtil.mask(b, m, bad, 0, 1), TypeError);
    assert.throws(() => bufferUtil.unmask(bad, m), TypeError);
    assert.throws(() => bufferUtil.unmask(b, bad), TypeError);
  }
  assert.throws(() => bufferUtil.mask(b, m, b, '0', 1), TypeError);
  assert.throws(() => bufferUtil.mask(b, m, b, 0, undefined), TypeError);
});

test('out-of-range offsets, lengths and short masks throw a RangeError', () => {
  const b = Buffer.alloc(8);
  const m = Buffer.alloc(4);
  assert.throws(() => bufferUtil.mask(b, m, b, 0, 9), RangeError);
  assert.throws(() => bufferUtil.mask(b, m, b, 1, 8), RangeError);
  assert.throws(() => bufferUtil.mask(b, m, b, -1, 1), RangeError);
  // Like bufferutil's addon, integers are read as uint32: -1 is 2^32 - 1.
  assert.throws(() => bufferUtil.mask(b, m, b, 0, -1), RangeError);
  assert.throws(() => bufferUtil.mask(b, Buffer.alloc(3), b, 0, 1), RangeError);
  assert.throws(() => bufferUtil.unmask(b, Buffer.alloc(3)), RangeError);
  // Zero-length work is fine, and so is an empty buffer.
  bufferUtil.mask(Buffer.alloc(0), m, Buffer.alloc(0), 0, 0);
  bufferUtil.unmask(Buffer.alloc(0), m);
});

test('agrees with the installed bufferutil', (t) => {
  let native;
  try {
    native = require('bufferutil');
  } catch {
    t.skip('bufferutil is not installed');
    return;
  }
  const rand = rng(7);
  for (let n = 0; n < 2000; n++) {
    const len = rand(2000);
    const src = crypto.randomBytes(len);
    const mask = crypto.randomBytes(4);
    const a = Buffer.alloc(len + 3);
    const b = Buffer.alloc(len + 3);
    bufferUtil.mask(src, mask, a, 3, len);
    native.mask(src, mask, b, 3, len);
    assert.ok(a.equals(b));
  }
});

test('the package exports map serves wsrs/bufferutil and wsrs/utf-8-validate', () => {
  assert.strictEqual(require('wsrs/bufferutil'), bufferUtil);
  assert.strictEqual(
    require('wsrs/utf-8-validate'),
    require('../utf-8-validate')
  );
  assert.strictEqual(typeof require('wsrs/package.json').version, 'string');
});
