'use strict';

const assert = require('node:assert');
const crypto = require('node:crypto');
const { test } = require('node:test');

const PerMessageDeflate = require('../lib/permessage-deflate');
const Receiver = require('../lib/receiver');
const Sender = require('../lib/sender');
const { EMPTY_BUFFER, kStatusCode } = require('../lib/constants');

/**
 * Frames `payload` as the peer would (masked when the peer is a client).
 */
function frame(
  payload,
  { opcode = 2, fin = true, rsv1 = false, mask = true } = {}
) {
  return Buffer.concat(
    Sender.frame(Buffer.from(payload), {
      opcode,
      fin,
      rsv1,
      mask,
      readOnly: true
    })
  );
}

/**
 * Collects a receiver's events as [name, ...args] until `count` arrived.
 */
function collect(receiver, count) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const push = (entry) => {
      seen.push(entry);
      if (seen.length === count) resolve(seen);
    };
    receiver.on('message', (data, isBinary) =>
      push(['message', data, isBinary])
    );
    receiver.on('ping', (data) => push(['ping', data]));
    receiver.on('pong', (data) => push(['pong', data]));
    receiver.on('conclude', (code, reason) => push(['conclude', code, reason]));
    receiver.on('error', (err) => push(['error', err]));
    setTimeout(
      () => reject(new Error(`only ${seen.length} events`)),
      2000
    ).unref();
  });
}

test('messages, pings and pongs come out in order, whatever the chunking', async () => {
  const stream = Buffer.concat([
    frame('hello', { opcode: 1 }),
    frame('ping!', { opcode: 9 }),
    frame(crypto.randomBytes(70000)),
    frame('', { opcode: 10 }),
    frame('fragmented ', { opcode: 1, fin: false }),
    frame('text', { opcode: 0 })
  ]);

  for (const size of [1, 7, 100, 4096, stream.length]) {
    const receiver = new Receiver({ isServer: true });
    const events = collect(receiver, 5);
    const copy = Buffer.from(stream);
    for (let i = 0; i < copy.length; i += size) {
      receiver.write(copy.subarray(i, i + size));
    }
    const seen = await events;
    assert.deepStrictEqual(seen[0], ['message', Buffer.from('hello'), false]);
    assert.deepStrictEqual(seen[1], ['ping', Buffer.from('ping!')]);
    assert.strictEqual(seen[2][1].length, 70000);
    assert.strictEqual(seen[2][2], true);
    assert.strictEqual(
      seen[3][1],
      EMPTY_BUFFER,
      'an empty pong is EMPTY_BUFFER'
    );
    assert.deepStrictEqual(seen[4], [
      'message',
      Buffer.from('fragmented text'),
      false
    ]);
  }
});

test('close frames give conclude with a copied reason and end the stream', async () => {
  const receiver = new Receiver({ isServer: true });
  const events = collect(receiver, 1);
  const chunk = Buffer.concat([
    frame(Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), { opcode: 8 }),
    Buffer.from([0xff, 0xff])
  ]);
  receiver.write(chunk);
  const [[name, code, reason]] = await events;
  assert.strictEqual(name, 'conclude');
  assert.strictEqual(code, 1000);
  assert.deepStrictEqual(reason, Buffer.from('bye'));
  assert.strictEqual(reason.buffer.byteLength, 3, 'the reason owns its memory');
});

test('protocol errors carry ws code, message, class and close code', async () => {
  const cases = [
    [
      Buffer.from([0xa2, 0x00]),
      RangeError,
      'WS_ERR_UNEXPECTED_RSV_2_3',
      'Invalid WebSocket frame: RSV2 and RSV3 must be clear',
      1002,
      {}
    ],
    [
      Buffer.from([0x83, 0x00]),
      RangeError,
      'WS_ERR_INVALID_OPCODE',
      'Invalid WebSocket frame: invalid opcode 3',
      1002,
      {}
    ],
    [
      Buffer.from([0x82, 0x00]),
      RangeError,
      'WS_ERR_EXPECTED_MASK',
      'Invalid WebSocket frame: MASK must be set',
      1002,
      { isServer: true }
    ],
    [
      frame('x', { opcode: 1 }),
      RangeError,
      'WS_ERR_UNEXPECTED_MASK',
      'Invalid WebSocket frame: MASK must be clear',
      1002,
      {}
    ],
    [
      frame(Buffer.from([0xff]), { opcode: 1 }),
      Error,
      'WS_ERR_INVALID_UTF8',
      'Invalid WebSocket frame: invalid UTF-8 sequence',
      1007,
      { isServer: true }
    ],
    [
      frame(Buffer.alloc(11)),
      RangeError,
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      'Max payload size exceeded',
      1009,
      { isServer: true, maxPayload: 10 }
    ]
  ];

  for (const [bytes, Ctor, code, message, closeCode, options] of cases) {
    const receiver = new Receiver(options);
    const events = collect(receiver, 1);
    receiver.write(bytes);
    const [[name, err]] = await events;
    assert.strictEqual(name, 'error');
    assert.ok(err instanceof Ctor, code);
    if (Ctor === Error) assert.ok(!(err instanceof RangeError));
    assert.strictEqual(err.code, code);
    assert.strictEqual(err.message, message);
    assert.strictEqual(err[kStatusCode], closeCode);
  }
});

test('too many buffered chunks, as ws counts them', async () => {
  const receiver = new Receiver({ maxBufferedChunks: 2 });
  const events = collect(receiver, 1);
  receiver.write(Buffer.from([0x82, 0x05]));
  receiver.write(Buffer.from([0x61]));
  receiver.write(Buffer.from([0x62]));
  receiver.write(Buffer.from([0x63]));
  const [[, err]] = await events;
  assert.strictEqual(err.code, 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
  assert.strictEqual(err.message, 'Too many buffered chunks');
  assert.strictEqual(err[kStatusCode], 1008);
});

test('binaryType: arraybuffer, fragments and blob', async () => {
  const parts = [
    crypto.randomBytes(17),
    crypto.randomBytes(3000),
    crypto.randomBytes(1)
  ];
  const wire = Buffer.concat(
    parts.map((p, i) =>
      frame(p, {
        opcode: i === 0 ? 2 : 0,
        fin: i === parts.length - 1,
        mask: false
      })
    )
  );

  const fragments = new Receiver({ binaryType: 'fragments' });
  const f = collect(fragments, 1);
  fragments.write(wire);
  assert.deepStrictEqual((await f)[0][1], parts);

  const ab = new Receiver({ binaryType: 'arraybuffer' });
  const a = collect(ab, 1);
  ab.write(Buffer.from(wire));
  const got = (await a)[0][1];
  assert.ok(got instanceof ArrayBuffer);
  assert.deepStrictEqual(Buffer.from(got), Buffer.concat(parts));

  const blob = new Receiver({ binaryType: 'blob' });
  const b = collect(blob, 1);
  blob.write(Buffer.from(wire));
  const data = (await b)[0][1];
  assert.ok(data instanceof Blob);
  assert.deepStrictEqual(
    Buffer.from(await data.arrayBuffer()),
    Buffer.concat(parts)
  );
});

test('compressed messages are inflated, and a bomb stops at maxPayload', async () => {
  const sender = new PerMessageDeflate({});
  sender.accept([{}]);
  const compress = (data) =>
    new Promise((resolve, reject) =>
      sender.compress(data, true, (err, out) =>
        err ? reject(err) : resolve(out)
      )
    );

  const pmd = new PerMessageDeflate({ isServer: true, maxPayload: 1000 });
  pmd.accept([{}]);
  const receiver = new Receiver({
    isServer: true,
    maxPayload: 1000,
    extensions: { 'permessage-deflate': pmd }
  });
  const events = collect(receiver, 2);
  receiver.write(
    frame(await compress(Buffer.from('compressed hello')), {
      opcode: 1,
      rsv1: true
    })
  );
  receiver.write(
    frame(await compress(Buffer.alloc(100000, 0x61)), { rsv1: true })
  );
  const [first, second] = await events;
  assert.deepStrictEqual(first, [
    'message',
    Buffer.from('compressed hello'),
    false
  ]);
  assert.strictEqual(second[0], 'error');
  assert.strictEqual(second[1].code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  assert.strictEqual(second[1][kStatusCode], 1009);
});

test('allowSynchronousEvents: false emits one event per turn, in order', async () => {
  const receiver = new Receiver({ allowSynchronousEvents: false });
  const order = [];
  const done = new Promise((resolve) => {
    receiver.on('message', (data) => {
      order.push(data.toString());
      if (order.length === 3) resolve();
    });
  });
  receiver.write(
    Buffer.concat([
      frame('a', { opcode: 1, mask: false }),
      frame('b', { opcode: 1, mask: false }),
      frame('c', { opcode: 1, mask: false })
    ])
  );
  assert.deepStrictEqual(order, [], 'nothing is emitted synchronously');
  await done;
  assert.deepStrictEqual(order, ['a', 'b', 'c']);
});

test("a receiver written to from inside another one's handler", async () => {
  const inner = new Receiver();
  const outer = new Receiver();
  const innerEvents = collect(inner, 2);
  const outerEvents = collect(outer, 3);
  outer.on('message', (data) => {
    if (data.toString() === 'relay') {
      inner.write(
        Buffer.concat([
          frame('x', { opcode: 1, mask: false }),
          frame('y', { opcode: 1, mask: false })
        ])
      );
    }
  });
  outer.write(
    Buffer.concat([
      frame('first', { opcode: 1, mask: false }),
      frame('relay', { opcode: 1, mask: false }),
      frame('last', { opcode: 1, mask: false })
    ])
  );
  assert.deepStrictEqual(
    (await outerEvents).map((e) => e[1].toString()),
    ['first', 'relay', 'last']
  );
  assert.deepStrictEqual(
    (await innerEvents).map((e) => e[1].toString()),
    ['x', 'y']
  );
});

test('many small frames in one chunk (more than one batch of records)', async () => {
  const n = 2000;
  const receiver = new Receiver();
  const events = collect(receiver, n);
  const one = frame('', { opcode: 1, mask: false });
  receiver.write(Buffer.concat(Array(n).fill(one)));
  const seen = await events;
  assert.strictEqual(seen.length, n);
  assert.ok(seen.every((e) => e[0] === 'message' && e[1] === EMPTY_BUFFER));
});

test('large messages compress off the event loop and keep their order', async () => {
  const WebSocket = require('..');
  const wss = new WebSocket.WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: { threshold: 0 }
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const big = Buffer.alloc(
    3 << 20,
    'wsrs compresses large payloads on the thread pool. '
  );

  const received = new Promise((resolve, reject) => {
    wss.once('connection', (ws) => {
      const got = [];
      ws.on('message', (data) => {
        got.push(data.length);
        if (got.length === 3) resolve(got);
      });
      ws.on('error', reject);
    });
  });

  const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  await new Promise((resolve) => ws.once('open', resolve));

  let calledBack = false;
  ws.send(big, { compress: true }, () => {
    calledBack = true;
  });
  ws.send('small after big', { compress: true });
  ws.send(Buffer.alloc(10), { compress: true });
  // The big message is still being compressed: later sends wait behind it.
  assert.strictEqual(calledBack, false);
  assert.ok(
    ws.bufferedAmount >= big.length,
    `bufferedAmount ${ws.bufferedAmount}`
  );

  assert.deepStrictEqual(await received, [big.length, 15, 10]);
  ws.close();
  await new Promise((resolve) => wss.close(resolve));
});
