'use strict';

// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/):
// small, hand-picked inputs in each harness's layout (see fuzz/src/*.rs),
// so that a short fuzz run starts from valid traffic instead of nothing.
// Run it again after changing a layout: node fuzz/seeds.js

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const ROOT = path.join(__dirname, 'corpus');

/**
 * One frame on the wire.
 *
 * @param {Number} opcode The opcode
 * @param {Buffer} payload The payload
 * @param {Object} [opts] `fin` (default true), `rsv1`, `mask` (4 bytes)
 * @return {Buffer} The frame
 */
function frame(opcode, payload, opts = {}) {
  const fin = opts.fin !== false;
  const head = [(fin ? 0x80 : 0) | (opts.rsv1 ? 0x40 : 0) | opcode];
  const m = opts.mask ? 0x80 : 0;

  if (payload.length < 126) {
    head.push(m | payload.length);
  } else if (payload.length < 65536) {
    head.push(m | 126, payload.length >> 8, payload.length & 0xff);
  } else {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(payload.length));
    head.push(m | 127, ...len);
  }

  let body = payload;

  if (opts.mask) {
    head.push(...opts.mask);
    body = Buffer.from(payload.map((b, i) => b ^ opts.mask[i & 3]));
  }

  return Buffer.concat([Buffer.from(head), body]);
}

/**
 * permessage-deflate compression of one message (tail removed).
 *
 * @param {Buffer} data The message
 * @return {Buffer} The compressed payload
 */
function deflate(data) {
  const out = zlib.deflateRawSync(data, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH
  });

  return out.subarray(0, out.length - 4);
}

const KEY = [0x37, 0xfa, 0x21, 0x3d];
const text = (s) => Buffer.from(s, 'utf8');
const close = (code, reason) => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));

  b.writeUInt16BE(code);
  b.write(reason, 2);
  return b;
};

/**
 * Raw-mode input of the frame harness: four settings bytes, the chunking
 * seeds, then the wire bytes.
 *
 * @param {Object} o `deflate`, `skipUtf8`, `limits`, `window`, `buffered`,
 *     `seeds` (array), `wire` (Buffer)
 * @return {Buffer} The input
 */
function raw(o) {
  const flags = (o.deflate ? 1 : 0) | (o.skipUtf8 ? 2 : 0);
  const seeds = o.seeds || [];

  return Buffer.concat([
    Buffer.from([flags, o.limits || 0, o.window || 7, o.buffered || 0]),
    Buffer.from([seeds.length, ...seeds]),
    o.wire
  ]);
}

/**
 * Structured-mode input of the frame harness: the settings, then frame
 * descriptions `[flag, ext?, len, payload..., key?]`.
 *
 * @param {Object} o As for `raw()`, with `frames` (arrays of bytes) for
 *     `wire`
 * @return {Buffer} The input
 */
function structured(o) {
  const input = raw({ ...o, wire: Buffer.from(o.frames.flat()) });

  input[0] |= 4;
  return input;
}

/**
 * Frame description bytes for the structured mode.
 *
 * @param {Number} opcode The opcode
 * @param {String} payload The payload, one byte per character (at most
 *     255)
 * @param {Object} [o] `fin` (default true), `compress`, `repeat` (0-7),
 *     `long` (8-byte length), `wrongMask`, `key` (whether to add 4 key
 *     bytes)
 * @return {Number[]} The bytes
 */
function desc(opcode, payload, o = {}) {
  const p = [...Buffer.from(payload, 'latin1')];
  let flag = opcode | (o.fin === false ? 0 : 0x10) | (o.wrongMask ? 0x40 : 0);
  const ext =
    (o.compress ? 1 : 0) | ((o.repeat || 0) << 1) | (o.long ? 0x20 : 0);
  const out = [];

  if (ext) flag |= 0x80;
  out.push(flag);
  if (ext) out.push(ext);
  out.push(p.length, ...p);
  if (o.key) out.push(...KEY);
  return out;
}

function frameSeeds(server) {
  const mask = server ? { mask: KEY } : {};
  const key = { key: server };
  const hello = frame(1, text('hello'), mask);
  const seeds = {
    text: raw({ wire: hello }),
    binary_fragments: raw({
      seeds: [3, 1, 200],
      wire: Buffer.concat([
        frame(2, Buffer.from([1, 2, 3]), { ...mask, fin: false }),
        frame(9, text('ping'), mask),
        frame(0, Buffer.from([4, 5]), { ...mask, fin: false }),
        frame(0, Buffer.from([6]), mask)
      ])
    }),
    close: raw({
      wire: Buffer.concat([hello, frame(8, close(1000, 'bye'), mask)])
    }),
    long_lengths: raw({
      seeds: [0xf0, 7],
      wire: frame(2, Buffer.alloc(300, 7), mask)
    }),
    long_lengths_structured: structured({
      seeds: [0xf3],
      frames: [desc(2, 'x'.repeat(255), { ...key, repeat: 4 })]
    }),
    utf8: raw({
      seeds: [0, 1, 2],
      wire: Buffer.concat([
        frame(1, text('κόσμε 😀'), mask),
        frame(1, Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80]), mask)
      ])
    }),
    deflate: raw({
      deflate: true,
      wire: Buffer.concat([
        frame(1, deflate(text('Hello, Hello, Hello')), { ...mask, rsv1: true }),
        frame(2, deflate(Buffer.alloc(5000, 1)), { ...mask, rsv1: true })
      ])
    }),
    bomb: raw({
      deflate: true,
      limits: 5,
      wire: frame(2, deflate(Buffer.alloc(200000)), { ...mask, rsv1: true })
    }),
    limits: raw({
      limits: 5 | (2 << 3),
      buffered: 2,
      seeds: [1],
      wire: Buffer.concat([
        frame(1, text('ab'), { ...mask, fin: false }),
        frame(0, text('c'), { ...mask, fin: false }),
        frame(0, text('d'), mask)
      ])
    }),
    structured: structured({
      frames: [
        desc(1, 'hi', { ...key, fin: false }),
        desc(10, 'pong', key),
        desc(0, ' there', key),
        desc(8, '\x03\xe8ok', key)
      ]
    }),
    structured_deflate: structured({
      deflate: true,
      seeds: [5, 0xf1],
      frames: [
        desc(1, 'compressed ', { ...key, compress: true, fin: false }),
        desc(0, 'text', { ...key }),
        desc(2, 'zeros', { ...key, compress: true, repeat: 7 }),
        desc(2, 'long', { ...key, long: true }),
        desc(9, 'p', { ...key, wrongMask: true })
      ]
    })
  };

  return seeds;
}

function inflateSeeds() {
  const hello = Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
  const message = (s, repeat, corrupt) => [
    s.length & 0xff,
    s.length >> 8,
    repeat,
    corrupt ? 0x81 : 0,
    3,
    0,
    ...text(s)
  ];

  return {
    rfc_hello: Buffer.concat([Buffer.from([7, 0, 0]), hello]),
    raw_split: Buffer.concat([
      Buffer.from([7, 3, 2, 1, 2]),
      deflate(text('a message that is cut into pieces'))
    ]),
    raw_bomb: Buffer.concat([
      Buffer.from([7, 4, 0]),
      deflate(Buffer.alloc(100000))
    ]),
    messages: Buffer.from([
      0x10 | 7 | (6 << 5),
      0,
      1,
      9,
      3,
      ...message('first message', 0, false),
      ...message('first message again', 0, false),
      ...message('', 0, false),
      ...message('zzzz', 9, false)
    ]),
    no_context: Buffer.from([
      0x10 | 8 | 1,
      5,
      0,
      1,
      ...message('window of 9 bits', 4, false),
      ...message('corrupted', 0, true)
    ])
  };
}

function utf8Seeds() {
  return {
    ascii: Buffer.from([0, ...text('plain ascii text')]),
    mixed: Buffer.from([
      3,
      1,
      2,
      3,
      ...text('κόσμε, 😀, €, ascii and more ascii')
    ]),
    surrogate: Buffer.from([1, 0, 0xce, 0xba, 0xed, 0xa0, 0x80]),
    overlong: Buffer.from([0, 0xc0, 0x80, 0xe0, 0x80, 0xaf]),
    cut: Buffer.from([2, 0, 1, 0xf0, 0x9f, 0x98])
  };
}

function write(target, seeds) {
  const dir = path.join(ROOT, target);

  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(seeds)) {
    fs.writeFileSync(path.join(dir, name), data);
  }
}

write('parse_server', frameSeeds(true));
write('parse_client', frameSeeds(false));
write('inflate', inflateSeeds());
write('utf8_stream', utf8Seeds());
