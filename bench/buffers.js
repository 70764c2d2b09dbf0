'use strict';

/*
 * Micro-benchmark: wsrs's bufferutil / utf-8-validate replacements against
 * the native bufferutil 4 and utf-8-validate 6 addons, plus a reference
 * (bufferutil's JS fallback, `buffer.isUtf8`).
 *
 * For each (operation, size, input) the candidates run interleaved
 * (A B C A B C ...) for several rounds; each round times one batch sized by a
 * short calibration to last about `targetMs`. The median ns/op per candidate
 * is reported, with `wsrs speedup = other ns/op / wsrs ns/op` (> 1 means wsrs
 * is faster).
 *
 * Usage: node bench/buffers.js [--quick] [--json <file>]
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');

const wsrsBufferUtil = require('../bufferutil');
const wsrsIsValidUTF8 = require('../utf-8-validate');
const nativeBufferUtil = require('bufferutil');
const fallbackBufferUtil = require('bufferutil/fallback');
const nativeIsValidUTF8 = require('utf-8-validate');
const fallbackIsValidUTF8 = require('utf-8-validate/fallback');
const { isUtf8 } = require('buffer');

const SIZES = [64, 1024, 64 * 1024, 1024 * 1024];
const MASK_KEY = Buffer.from([0x6d, 0xb6, 0xb2, 0x80]);
const ASCII_TEXT =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do ' +
  'eiusmod tempor incididunt ut labore et dolore magna aliqua. {"id":42} ';
const MIXED_TEXT =
  'Hello, κόσμε! Γειά σου κόσμε. 你好，世界。こんにちは 🌍🚀😀 ' +
  'naïve café — 𝄞 music ✓ 한국어 テスト; ';

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
    } else if (arg === '--json') {
      if (i + 1 >= argv.length) usage('--json needs a file name');
      opts.json = argv[++i];
    } else if (arg.startsWith('--json=')) {
      opts.json = arg.slice('--json='.length);
    } else if (arg === '--help' || arg === '-h') {
      usage(null);
    } else {
      usage(`unknown argument: ${arg}`);
    }
  }
  return opts;
}

/**
 * Prints the usage and exits (0 for --help, 2 for a bad argument).
 *
 * @param {(String|null)} error The problem, or `null` for --help
 */
function usage(error) {
  const text = 'usage: node bench/buffers.js [--quick] [--json <file>]';
  if (error) {
    console.error(`${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

/**
 * Builds a buffer of exactly `size` bytes of valid UTF-8 by repeating `text`
 * and cutting at a code point boundary; the (at most 3) bytes left over are
 * padded with ASCII spaces.
 *
 * @param {String} text The text to repeat
 * @param {Number} size The byte length wanted
 * @return {Buffer} A fresh (non-pooled) buffer of `size` bytes
 */
function makeText(text, size) {
  const unit = Buffer.from(text, 'utf8');
  const repeated = Buffer.from(
    text.repeat(Math.ceil(size / unit.length) + 1),
    'utf8'
  );
  let cut = size;
  while (cut > 0 && (repeated[cut] & 0xc0) === 0x80) cut--;
  const out = Buffer.alloc(size, 0x20);
  repeated.copy(out, 0, 0, cut);
  return out;
}

/**
 * Returns a fresh (non-pooled) buffer of `size` pseudo-random bytes.
 *
 * @param {Number} size The byte length
 * @param {Number} seed The seed of the generator
 * @return {Buffer} The buffer
 */
function makeRandom(size, seed) {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/**
 * Compiles a batch runner `(n) => sink` around one call expression. Each
 * runner is compiled from its own source so that every candidate gets its
 * own monomorphic call site (closures of one literal share type feedback).
 *
 * @param {String} body The loop body; may use `impl`, `a`, `b`, `c`, `len`,
 *     `i` and `sink`
 * @param {Function} impl The function under test
 * @param {Array} args Values bound to `a`, `b`, `c` and `len`
 * @return {function(Number): Number} Runs `n` iterations, returns the sink
 */
function compileBatch(body, impl, args) {
  const factory = new Function(
    'impl',
    'a',
    'b',
    'c',
    'len',
    `'use strict';
    return function batch(n) {
      let sink = 0;
      for (let i = 0; i < n; i++) {
        ${body}
      }
      return sink;
    };`
  );
  return factory(impl, args[0], args[1], args[2], args[3]);
}

let globalSink = 0;

/**
 * Times one batch of `n` iterations.
 *
 * @param {function(Number): Number} batch The batch runner
 * @param {Number} n The number of iterations
 * @return {Number} Elapsed nanoseconds
 */
function timeBatch(batch, n) {
  const start = process.hrtime.bigint();
  const sink = batch(n);
  const elapsed = process.hrtime.bigint() - start;
  globalSink = (globalSink + sink) | 0;
  return Number(elapsed);
}

/**
 * Finds how many iterations make a batch last about `targetMs`.
 *
 * @param {function(Number): Number} batch The batch runner
 * @param {Number} targetMs The wanted batch duration
 * @return {Number} The iteration count
 */
function calibrate(batch, targetMs) {
  const probeNs = Math.max(1, targetMs / 8) * 1e6;
  let n = 1;
  let ns = timeBatch(batch, n);
  while (ns < probeNs) {
    n *= ns < probeNs / 16 ? 8 : 2;
    ns = timeBatch(batch, n);
  }
  // Once more at the estimated size, now that the code is warm.
  n = Math.max(1, Math.round((n * targetMs * 1e6) / ns));
  ns = timeBatch(batch, n);
  return Math.max(1, Math.round((n * targetMs * 1e6) / ns));
}

/**
 * Returns the median of a list of numbers.
 *
 * @param {Number[]} values The numbers
 * @return {Number} The median
 */
function median(values) {
  const s = values.slice().sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Runs the candidates of one case interleaved and collects ns/op figures.
 *
 * @param {Array<{name: String, batch: Function}>} candidates The candidates
 * @param {{rounds: Number, targetMs: Number}} cfg The timing settings
 * @return {Object<String, {iterations: Number, nsPerOp: Number[],
 *     median: Number, spread: Number}>} Figures by candidate name
 */
function runCase(candidates, cfg) {
  const iters = candidates.map((c) => calibrate(c.batch, cfg.targetMs));
  const samples = candidates.map(() => []);
  for (let r = 0; r < cfg.rounds; r++) {
    for (let k = 0; k < candidates.length; k++) {
      const ns = timeBatch(candidates[k].batch, iters[k]);
      samples[k].push(ns / iters[k]);
    }
  }
  const out = {};
  candidates.forEach((c, k) => {
    const med = median(samples[k]);
    out[c.name] = {
      iterations: iters[k],
      nsPerOp: samples[k],
      median: med,
      spread: (Math.max(...samples[k]) - Math.min(...samples[k])) / med
    };
  });
  return out;
}

/**
 * Fails the run with a message (exit code 1).
 *
 * @param {String} message What did not match
 */
function fail(message) {
  console.error(`verification failed: ${message}`);
  process.exit(1);
}

/**
 * Checks once, before any timing, that every candidate gives the same
 * result as the reference for every input. Exits non-zero on mismatch.
 *
 * @param {Object} inputs The inputs by size
 * @param {Array} utf8Impls `[name, fn]` pairs for UTF-8 validation
 */
function verify(inputs, utf8Impls) {
  const maskImpls = [
    ['wsrs', wsrsBufferUtil],
    ['bufferutil', nativeBufferUtil],
    ['fallback', fallbackBufferUtil]
  ];
  for (const size of SIZES) {
    const src = inputs[size].random;
    // mask, at offset 0 and at an odd offset
    for (const offset of [0, 3]) {
      const len = size - offset;
      const ref = Buffer.alloc(size + 8);
      fallbackBufferUtil.mask(src, MASK_KEY, ref, offset, len);
      for (const [name, impl] of maskImpls) {
        const out = Buffer.alloc(size + 8);
        impl.mask(src, MASK_KEY, out, offset, len);
        if (!out.equals(ref))
          fail(`mask ${name} size=${size} offset=${offset}`);
      }
    }
    // unmask: equals mask, and is an involution
    const masked = Buffer.alloc(size);
    fallbackBufferUtil.mask(src, MASK_KEY, masked, 0, size);
    for (const [name, impl] of maskImpls) {
      const buf = Buffer.from(src);
      impl.unmask(buf, MASK_KEY);
      if (!buf.equals(masked)) fail(`unmask ${name} size=${size}`);
      impl.unmask(buf, MASK_KEY);
      if (!buf.equals(src)) fail(`unmask twice ${name} size=${size}`);
    }
    // UTF-8: the benchmark inputs (valid) and broken variants (invalid)
    for (const kind of ['ascii', 'mixed']) {
      const good = inputs[size][kind];
      const bads = [Buffer.from(good), Buffer.from(good), Buffer.from(good)];
      bads[0].set([0x20, 0x80], size - 2); // stray continuation byte at the end
      bads[1][size >> 1] = 0xff; // never valid
      bads[2].set([0xed, 0xa0, 0x80], size - 3); // UTF-16 surrogate
      const cases = [[good, true], ...bads.map((b) => [b, false])];
      for (const [buf, expected] of cases) {
        for (const [name, fn] of utf8Impls) {
          if (fn(buf) !== expected) {
            fail(
              `utf8 ${name} size=${size} input=${kind} expected=${expected}`
            );
          }
        }
        if (fallbackIsValidUTF8(buf) !== expected) {
          fail(`utf8 reference fallback size=${size} input=${kind}`);
        }
      }
    }
  }
}

/**
 * Formats a ns/op figure.
 *
 * @param {(Number|undefined)} ns The figure
 * @return {String} The text
 */
function fmtNs(ns) {
  if (ns === undefined) return 'n/a';
  if (ns < 100) return ns.toFixed(1);
  return Math.round(ns).toLocaleString('en-US');
}

/**
 * Formats a byte size.
 *
 * @param {Number} size The size in bytes
 * @return {String} The text
 */
function fmtSize(size) {
  if (size >= 1 << 20) return `${size / (1 << 20)} MiB`;
  if (size >= 1 << 10) return `${size / (1 << 10)} KiB`;
  return `${size} B`;
}

/**
 * Formats a speedup ratio.
 *
 * @param {(Number|undefined)} ratio The ratio
 * @return {String} The text
 */
function fmtRatio(ratio) {
  return ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}x`;
}

/**
 * Renders rows as an aligned text table.
 *
 * @param {String[]} header The column titles
 * @param {String[][]} rows The cells
 * @param {Boolean[]} rightAlign Which columns are right-aligned
 * @return {String} The table
 */
function renderTable(header, rows, rightAlign) {
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((r) => r[c].length))
  );
  const line = (cells) =>
    cells
      .map((cell, c) =>
        rightAlign[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * Reads a package's version from its package.json.
 *
 * @param {String} name The package name
 * @return {String} The version
 */
function pkgVersion(name) {
  return require(`${name}/package.json`).version;
}

/**
 * Runs the benchmark.
 */
function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cfg = opts.quick
    ? { rounds: 3, targetMs: 10 }
    : { rounds: 7, targetMs: 40 };
  const t0 = performance.now();

  const buVersion = pkgVersion('bufferutil');
  const u8vVersion = pkgVersion('utf-8-validate');
  const buNative =
    nativeBufferUtil.mask !== fallbackBufferUtil.mask &&
    nativeBufferUtil.unmask !== fallbackBufferUtil.unmask;
  const u8vNative = nativeIsValidUTF8 !== fallbackIsValidUTF8;

  const date = new Date().toISOString();
  console.log(`wsrs buffers benchmark — ${date}`);
  console.log(
    `node ${process.version} (V8 ${process.versions.v8}), ` +
      `${process.platform}-${process.arch}, ${os.cpus().length} CPU ` +
      `(${(os.cpus()[0] || {}).model || 'unknown'})`
  );
  console.log(
    `bufferutil ${buVersion} ${buNative ? '(native)' : '(JS FALLBACK!)'}, ` +
      `utf-8-validate ${u8vVersion} ` +
      `${u8vNative ? '(native)' : '(JS FALLBACK!)'}, ` +
      `buffer.isUtf8 ${typeof isUtf8 === 'function' ? 'yes' : 'n/a'}`
  );
  console.log(
    `${opts.quick ? 'quick: ' : ''}${cfg.rounds} interleaved rounds, ` +
      `~${cfg.targetMs} ms per batch, median ns/op; ` +
      'speedup = other ns/op / wsrs ns/op (> 1 = wsrs faster)'
  );
  console.log('');
  if (!buNative || !u8vNative) {
    console.warn(
      'warning: a native addon failed to load; its column measures the JS fallback'
    );
  }

  const inputs = {};
  for (const size of SIZES) {
    inputs[size] = {
      random: makeRandom(size, 0x9e3779b9 ^ size),
      ascii: makeText(ASCII_TEXT, size),
      mixed: makeText(MIXED_TEXT, size)
    };
  }

  const utf8Impls = [
    ['wsrs', wsrsIsValidUTF8],
    ['utf-8-validate', nativeIsValidUTF8]
  ];
  if (typeof isUtf8 === 'function') utf8Impls.push(['isUtf8', isUtf8]);
  verify(inputs, utf8Impls);

  // Case list: [op, size, input, candidates]. `other` = the native addon,
  // `ref` = bufferutil's JS fallback / buffer.isUtf8.
  const cases = [];
  const MASK_BODY = 'impl(a, b, c, 0, len); sink ^= c[i & 63];';
  const UNMASK_BODY = 'impl(a, b); sink ^= a[i & 63];';
  const UTF8_BODY = 'if (impl(a)) sink++;';
  const maskImpls = [
    ['wsrs', wsrsBufferUtil],
    ['other', nativeBufferUtil],
    ['ref', fallbackBufferUtil]
  ];
  for (const size of SIZES) {
    const src = inputs[size].random;
    cases.push({
      op: 'mask',
      size,
      input: 'random',
      candidates: maskImpls.map(([name, impl]) => ({
        name,
        batch: compileBatch(MASK_BODY, impl.mask, [
          src,
          MASK_KEY,
          Buffer.alloc(size),
          size
        ])
      }))
    });
  }
  for (const size of SIZES) {
    cases.push({
      op: 'unmask',
      size,
      input: 'random',
      candidates: maskImpls.map(([name, impl]) => ({
        name,
        // Each candidate XORs its own copy in place, over and over.
        batch: compileBatch(UNMASK_BODY, impl.unmask, [
          Buffer.from(inputs[size].random),
          MASK_KEY,
          null,
          size
        ])
      }))
    });
  }
  for (const size of SIZES) {
    for (const kind of ['ascii', 'mixed']) {
      cases.push({
        op: 'utf8',
        size,
        input: kind,
        candidates: utf8Impls.map(([name, fn]) => ({
          name: name === 'wsrs' ? 'wsrs' : name === 'isUtf8' ? 'ref' : 'other',
          batch: compileBatch(UTF8_BODY, fn, [
            Buffer.from(inputs[size][kind]),
            null,
            null,
            size
          ])
        }))
      });
    }
  }

  const results = [];
  for (const c of cases) {
    const figures = runCase(c.candidates, cfg);
    const wsrs = figures.wsrs.median;
    const speedup = {};
    for (const name of ['other', 'ref']) {
      if (figures[name]) speedup[name] = figures[name].median / wsrs;
    }
    results.push({ op: c.op, size: c.size, input: c.input, figures, speedup });
  }

  const header = [
    'op',
    'size',
    'input',
    'wsrs ns/op',
    'bufferutil|utf-8-validate ns/op',
    'fallback|isUtf8 ns/op',
    'speedup vs bu|u8v',
    'speedup vs fb|isUtf8'
  ];
  const rows = results.map((r) => [
    r.op,
    fmtSize(r.size),
    r.input,
    fmtNs(r.figures.wsrs.median),
    fmtNs(r.figures.other && r.figures.other.median),
    fmtNs(r.figures.ref && r.figures.ref.median),
    fmtRatio(r.speedup.other),
    fmtRatio(r.speedup.ref)
  ]);
  console.log(
    renderTable(header, rows, [
      false,
      true,
      false,
      true,
      true,
      true,
      true,
      true
    ])
  );

  const noisy = [];
  for (const r of results) {
    for (const [name, f] of Object.entries(r.figures)) {
      if (f.spread > 0.25) {
        noisy.push(
          `${r.op}/${fmtSize(r.size)}/${r.input}/${name} ` +
            `(${Math.round(f.spread * 100)}%)`
        );
      }
    }
  }
  const slower = results
    .filter((r) => r.speedup.other < 1)
    .map(
      (r) =>
        `${r.op} ${fmtSize(r.size)} ${r.input} ` +
        `(${fmtRatio(r.speedup.other)})`
    );
  const elapsedMs = performance.now() - t0;

  console.log('');
  console.log(
    'columns: bu|u8v = native bufferutil (mask/unmask) or utf-8-validate (utf8); ' +
      'fb|isUtf8 = bufferutil/fallback or buffer.isUtf8'
  );
  console.log(
    `wsrs slower than the native addon: ${slower.length ? slower.join(', ') : 'none'}`
  );
  if (noisy.length) {
    console.log(`noisy (max-min > 25% of median): ${noisy.join(', ')}`);
  }
  console.log(
    `done in ${(elapsedMs / 1000).toFixed(1)} s (checksum ${globalSink >>> 0})`
  );

  if (opts.json) {
    const report = {
      date,
      node: process.version,
      v8: process.versions.v8,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
      cpuModel: (os.cpus()[0] || {}).model || null,
      versions: { bufferutil: buVersion, 'utf-8-validate': u8vVersion },
      nativeLoaded: { bufferutil: buNative, 'utf-8-validate': u8vNative },
      config: { quick: opts.quick, ...cfg },
      candidates: {
        mask: {
          wsrs: 'wsrs/bufferutil',
          other: 'bufferutil',
          ref: 'bufferutil/fallback'
        },
        unmask: {
          wsrs: 'wsrs/bufferutil',
          other: 'bufferutil',
          ref: 'bufferutil/fallback'
        },
        utf8: {
          wsrs: 'wsrs/utf-8-validate',
          other: 'utf-8-validate',
          ref: 'buffer.isUtf8'
        }
      },
      results: results.map((r) => ({
        op: r.op,
        size: r.size,
        input: r.input,
        wsrsSpeedup: r.speedup,
        figures: r.figures
      })),
      elapsedMs,
      checksum: globalSink >>> 0
    };
    const file = path.resolve(opts.json);
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`raw figures written to ${file}`);
  }
}

main();
