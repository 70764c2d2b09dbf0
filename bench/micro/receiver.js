'use strict';

/*
 * Micro-benchmark: frame parsing and framing, wsrs's lib/ against ws's lib/,
 * in one process, on the same bytes.
 *
 * - `Receiver`: the server-side parser (`isServer: true`) fed a byte stream
 *   of masked binary client frames (64 B, 1 KiB, 64 KiB payloads), cut into
 *   64 KiB chunks as a socket would deliver them. Each candidate gets its own
 *   copy of the stream (a parser may unmask in place). One op = one message
 *   out, with its 'message' event.
 * - `Sender.frame`: framing one payload, unmasked (server side) and masked
 *   with `readOnly: true` (client side: header and masked copy in one
 *   buffer). One op = one call.
 *
 * ws is ws 8 as installed, with bufferutil when it loads (ws's default);
 * on Node >= 18.14 ws validates UTF-8 with buffer.isUtf8 and never loads
 * utf-8-validate. Candidates run interleaved (A B A B ...) for several
 * rounds of batches of about `targetMs`; the table gives median ns/op and
 * `speedup = ws ns/op / wsrs ns/op` (> 1 means wsrs is faster).
 *
 * Usage: node bench/micro/receiver.js [--quick] [--json <file>]
 */

const fs = require('fs');
const os = require('os');
const path = require('path');

const WsrsReceiver = require('../../lib/receiver');
const WsrsSender = require('../../lib/sender');
// ws's exports map hides lib/: load its files by path, as ws's index does.
const WS_DIR = path.dirname(require.resolve('ws'));
const WsReceiver = require(path.join(WS_DIR, 'lib', 'receiver.js'));
const WsSender = require(path.join(WS_DIR, 'lib', 'sender.js'));

const FRAME_SIZES = [64, 1024, 64 * 1024];
const CHUNK = 64 * 1024;

/**
 * Parses the command line.
 *
 * @param {String[]} argv The arguments after the script name
 * @return {{quick: Boolean, json: (String|null)}} The options
 */
function parseArgs(argv) {
  const opts = { quick: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') {
      opts.quick = true;
    } else if (arg === '--json' && i + 1 < argv.length) {
      opts.json = argv[++i];
    } else if (arg.startsWith('--json=')) {
      opts.json = arg.slice('--json='.length);
    } else {
      const text =
        'usage: node bench/micro/receiver.js [--quick] [--json <file>]';
      if (arg === '--help' || arg === '-h') {
        console.log(text);
        process.exit(0);
      }
      console.error(`unknown argument: ${arg}\n${text}`);
      process.exit(2);
    }
  }
  return opts;
}

/**
 * A deterministic xorshift byte generator.
 *
 * @param {Number} seed The seed
 * @return {function(): Number} Returns the next byte
 */
function byteSource(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  };
}

/**
 * Builds one masked, final binary client frame.
 *
 * @param {Buffer} payload The payload
 * @param {Buffer} key The 4-byte masking key
 * @return {Buffer} The frame
 */
function maskedFrame(payload, key) {
  const n = payload.length;
  const ext = n > 0xffff ? 8 : n > 125 ? 2 : 0;
  const frame = Buffer.alloc(2 + ext + 4 + n);
  frame[0] = 0x82;
  if (ext === 0) {
    frame[1] = 0x80 | n;
  } else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  key.copy(frame, 2 + ext);
  const at = 2 + ext + 4;
  for (let i = 0; i < n; i++) frame[at + i] = payload[i] ^ key[i & 3];
  return frame;
}

/**
 * Builds the byte stream of `count` frames of `size` payload bytes.
 *
 * @param {Number} size The payload size
 * @param {Number} count How many frames
 * @return {{stream: Buffer, payloads: Buffer[]}} The stream and the
 *     payloads it carries
 */
function buildStream(size, count) {
  const next = byteSource(0x51ed ^ size);
  const frames = [];
  const payloads = [];
  for (let f = 0; f < count; f++) {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = next();
    const key = Buffer.from([next(), next(), next(), next() | 1]);
    payloads.push(payload);
    frames.push(maskedFrame(payload, key));
  }
  return { stream: Buffer.concat(frames), payloads };
}

/**
 * Cuts a buffer into socket-sized chunks (views, no copies).
 *
 * @param {Buffer} stream The bytes
 * @return {Buffer[]} The chunks
 */
function chunksOf(stream) {
  const out = [];
  for (let at = 0; at < stream.length; at += CHUNK) {
    out.push(stream.subarray(at, Math.min(at + CHUNK, stream.length)));
  }
  return out;
}

/**
 * A receiver candidate: its own Receiver and its own copy of the stream.
 *
 * @param {Function} Receiver The Receiver class
 * @param {Buffer} stream The pristine stream
 * @return {{pass: function(): Number, received: function(): Array}} `pass`
 *     feeds the stream once and returns how many messages came out
 */
function receiverCandidate(Receiver, stream) {
  const own = Buffer.from(stream);
  const chunks = chunksOf(own);
  const receiver = new Receiver({
    isServer: true,
    maxPayload: 0,
    binaryType: 'nodebuffer',
    allowSynchronousEvents: true
  });
  let count = 0;
  let keep = null;
  receiver.on('message', (data, isBinary) => {
    count++;
    if (keep !== null) keep.push([Buffer.from(data), isBinary]);
  });
  receiver.on('error', (err) => {
    throw err;
  });
  return {
    pass() {
      const before = count;
      for (let i = 0; i < chunks.length; i++) receiver.write(chunks[i]);
      return count - before;
    },
    received() {
      keep = [];
      return keep;
    }
  };
}

/**
 * Times `fn` over `n` iterations.
 *
 * @param {function(Number): Number} fn Runs n iterations
 * @param {Number} n The iterations
 * @return {Number} Elapsed nanoseconds
 */
function time(fn, n) {
  const t = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t);
}

/**
 * Runs candidates interleaved and returns the median ns per op of each.
 *
 * @param {Object<String, {batch: function(Number): Number, opsPer: Number}>}
 *     candidates `batch(n)` runs n iterations of `opsPer` ops each
 * @param {{rounds: Number, targetMs: Number}} cfg The timing configuration
 * @return {Object<String, {median: Number, min: Number, max: Number}>} The
 *     figures
 */
function runInterleaved(candidates, cfg) {
  const names = Object.keys(candidates);
  const iters = {};
  for (const name of names) {
    const { batch } = candidates[name];
    batch(1); // warm up
    let n = 1;
    let ns = time(batch, n);
    while (ns < cfg.targetMs * 1e6 * 0.25 && n < 1 << 24) {
      n *= 2;
      ns = time(batch, n);
    }
    iters[name] = Math.max(
      1,
      Math.round((n * cfg.targetMs * 1e6) / Math.max(ns, 1))
    );
  }
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < cfg.rounds; r++) {
    for (const name of names) {
      const { batch, opsPer } = candidates[name];
      samples[name].push(time(batch, iters[name]) / (iters[name] * opsPer));
    }
  }
  const out = {};
  for (const name of names) {
    const s = samples[name].slice().sort((a, b) => a - b);
    out[name] = {
      median: s[s.length >> 1],
      min: s[0],
      max: s[s.length - 1],
      samples: samples[name]
    };
  }
  return out;
}

/**
 * Formats a byte size.
 *
 * @param {Number} size The size
 * @return {String} The text
 */
function fmtSize(size) {
  if (size >= 1 << 10) return `${size >> 10} KiB`;
  return `${size} B`;
}

/**
 * Formats ns/op.
 *
 * @param {Number} ns The figure
 * @return {String} The text
 */
function fmtNs(ns) {
  return ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString('en-US');
}

/**
 * Renders an aligned table.
 *
 * @param {String[]} header The titles
 * @param {String[][]} rows The cells
 * @return {String} The table
 */
function table(header, rows) {
  const w = header.map((h, c) =>
    Math.max(h.length, ...rows.map((r) => r[c].length))
  );
  const line = (cells) =>
    cells
      .map((x, c) => (c < 3 ? x.padEnd(w[c]) : x.padStart(w[c])))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...rows.map(line)
  ].join('\n');
}

/**
 * Runs the benchmark.
 */
function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cfg = opts.quick
    ? { rounds: 3, targetMs: 15 }
    : { rounds: 7, targetMs: 50 };
  const started = Date.now();
  let sink = 0;
  const results = [];

  console.log(
    `wsrs Receiver / Sender.frame micro-benchmark — ${new Date().toISOString()}`
  );
  console.log(
    `node ${process.version}, ${os.cpus().length} CPU (${(os.cpus()[0] || {}).model || 'unknown'}); ` +
      `ws ${require('ws/package.json').version}, bufferutil ` +
      `${require('bufferutil/package.json').version}`
  );
  console.log(
    `${opts.quick ? 'quick: ' : ''}${cfg.rounds} interleaved rounds of ~${cfg.targetMs} ms, ` +
      'median ns/op; speedup = ws / wsrs (> 1 = wsrs faster)'
  );
  console.log('');

  for (const size of FRAME_SIZES) {
    const total = size >= 64 * 1024 ? 4 << 20 : 1 << 20;
    const count = Math.max(16, Math.floor(total / (size + 14)));
    const { stream, payloads } = buildStream(size, count);

    // Both must decode the stream to exactly its payloads before timing.
    for (const [name, Receiver] of [
      ['wsrs', WsrsReceiver],
      ['ws', WsReceiver]
    ]) {
      const c = receiverCandidate(Receiver, stream);
      const got = c.received();
      const n = c.pass();
      if (n !== count || got.length !== count) {
        throw new Error(
          `${name} Receiver: ${n} messages from ${count} frames (size ${size})`
        );
      }
      for (let i = 0; i < count; i++) {
        if (!got[i][1] || !got[i][0].equals(payloads[i])) {
          throw new Error(
            `${name} Receiver: message ${i} differs (size ${size})`
          );
        }
      }
    }

    const candidates = {};
    for (const [name, Receiver] of [
      ['wsrs', WsrsReceiver],
      ['ws', WsReceiver]
    ]) {
      const c = receiverCandidate(Receiver, stream);
      candidates[name] = {
        opsPer: count,
        batch: (n) => {
          for (let i = 0; i < n; i++) {
            if (c.pass() !== count) throw new Error(`${name}: messages lost`);
          }
          return 0;
        }
      };
    }
    const fig = runInterleaved(candidates, cfg);
    results.push({
      op: 'Receiver',
      variant: 'masked, binary',
      size,
      frames: count,
      streamBytes: stream.length,
      figures: fig,
      speedup: fig.ws.median / fig.wsrs.median,
      wsrsMBps: (stream.length / count / fig.wsrs.median) * 1e3,
      wsMBps: (stream.length / count / fig.ws.median) * 1e3
    });
  }

  for (const size of FRAME_SIZES) {
    const payload = Buffer.alloc(size, 0x5a);
    for (const masked of [false, true]) {
      const options = {
        fin: true,
        opcode: 2,
        rsv1: false,
        mask: masked,
        readOnly: true
      };
      const candidates = {};
      for (const [name, Sender] of [
        ['wsrs', WsrsSender],
        ['ws', WsSender]
      ]) {
        const list = Sender.frame(payload, { ...options });
        const bytes = list.reduce((a, b) => a + b.length, 0);
        const expect =
          size +
          2 +
          (size > 0xffff ? 8 : size > 125 ? 2 : 0) +
          (masked ? 4 : 0);
        if (bytes !== expect)
          throw new Error(
            `${name} Sender.frame: ${bytes} bytes, expected ${expect}`
          );
        candidates[name] = {
          opsPer: 1,
          batch: (n) => {
            let s = 0;
            for (let i = 0; i < n; i++)
              s += Sender.frame(payload, options).length;
            sink += s;
            return s;
          }
        };
      }
      const fig = runInterleaved(candidates, cfg);
      results.push({
        op: 'Sender.frame',
        variant: masked ? 'masked (client), readOnly' : 'unmasked (server)',
        size,
        figures: fig,
        speedup: fig.ws.median / fig.wsrs.median
      });
    }
  }

  const rows = results.map((r) => [
    r.op,
    r.variant,
    fmtSize(r.size),
    fmtNs(r.figures.wsrs.median),
    fmtNs(r.figures.ws.median),
    `${r.speedup.toFixed(2)}x`,
    r.wsrsMBps
      ? `${Math.round(r.wsrsMBps).toLocaleString('en-US')} / ${Math.round(r.wsMBps).toLocaleString('en-US')}`
      : ''
  ]);
  console.log(
    table(
      [
        'op',
        'variant',
        'size',
        'wsrs ns/op',
        'ws ns/op',
        'speedup',
        'MB/s wsrs / ws'
      ],
      rows
    )
  );
  const noisy = results.flatMap((r) =>
    Object.entries(r.figures)
      .filter(([, f]) => (f.max - f.min) / f.median > 0.25)
      .map(([n]) => `${r.op} ${fmtSize(r.size)} ${n}`)
  );
  console.log('');
  if (noisy.length)
    console.log(`noisy (max-min > 25% of median): ${noisy.join(', ')}`);
  console.log(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s (checksum ${sink % 997})`
  );

  if (opts.json) {
    const file = path.resolve(opts.json);
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          config: cfg,
          results
        },
        null,
        2
      ) + '\n'
    );
    console.log(`raw figures written to ${file}`);
  }
}

main();
