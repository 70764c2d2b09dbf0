'use strict';

// Property test of the Sec-WebSocket-Extensions parser (lib/extension.js),
// which is JavaScript, so it is fuzzed here rather than with cargo-fuzz.
// 200,000 random headers (valid ones, mutated ones and noise; set
// EXT_FUZZ_COUNT and EXT_FUZZ_SEED to change that) are given to the
// parser and to an oracle written independently below, from the grammar:
//
//   header = extension *( OWS "," OWS extension )
//   extension = token *( OWS ";" OWS param )
//   param = token [ "=" ( token / quoted ) ]
//   quoted = DQUOTE 1*( tchar / "\" tchar ) DQUOTE
//   OWS = *( SP / HTAB ), never at the very start or end
//
// The oracle matches the whole header with a regular expression, extracts
// the values with sticky expressions, and finds where an invalid header
// goes wrong as the longest prefix that some completion makes valid.
// Results, error classes, error messages and error indexes must agree, and
// formatting a parsed header must parse back to the same thing.

const assert = require('node:assert');
const { test } = require('node:test');

const { format, parse } = require('../lib/extension');
const { rng } = require('./fixtures/rng');

const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const OWS = '[ \\t]*';
const TOKEN = `${TCHAR}+`;
const QUOTED = `"(?:${TCHAR}|\\\\${TCHAR})+"`;
const PARAM = `${TOKEN}(?:=(?:${TOKEN}|${QUOTED}))?`;
const EXTENSION = `${TOKEN}(?:${OWS};${OWS}${PARAM})*`;
const HEADER = new RegExp(`^${EXTENSION}(?:${OWS},${OWS}${EXTENSION})*$`);

// Whatever state a viable prefix ends in, one of these completes it.
const COMPLETIONS = ['', 'a', '"', 'a"', ';a', ',a'];

function viable(prefix) {
  return COMPLETIONS.some((c) => HEADER.test(prefix + c));
}

/**
 * The oracle: the parse result, or `{ error }` with the message the
 * parser must throw.
 *
 * @param {String} header The header value
 * @return {Object}
 */
function oracle(header) {
  if (!HEADER.test(header)) {
    if (viable(header)) return { error: 'Unexpected end of input' };
    // Viability only shrinks as the prefix grows: binary search for the
    // first character after which nothing can fix the header.
    let lo = 0; // viable
    let hi = header.length; // not viable
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (viable(header.slice(0, mid))) lo = mid;
      else hi = mid;
    }
    return { error: `Unexpected character at index ${hi - 1}` };
  }

  const result = Object.create(null);
  const at = { i: 0 };
  const eat = (source) => {
    const re = new RegExp(source, 'y');
    re.lastIndex = at.i;
    const m = re.exec(header);
    if (m === null) return null;
    at.i = re.lastIndex;
    return m;
  };

  do {
    eat(OWS);
    const name = eat(TOKEN)[0];
    const params = Object.create(null);
    while (eat(`${OWS};${OWS}`) !== null) {
      const key = eat(TOKEN)[0];
      let value = true;

      if (eat('=') !== null) {
        const token = eat(TOKEN);
        value =
          token !== null
            ? token[0]
            : eat(QUOTED)[0].slice(1, -1).replace(/\\(.)/g, '$1');
      }
      (params[key] || (params[key] = [])).push(value);
    }
    (result[name] || (result[name] = [])).push(params);
  } while (eat(`${OWS},`) !== null);

  assert.strictEqual(at.i, header.length, 'the oracle consumed everything');
  return result;
}

const TOKEN_CHARS = "!#$%&'*+-.^_`|~09AZaz";
const NOISE = `${TOKEN_CHARS} \t,;="\\\x00\x7f\r\n\u00e9\u00a0\u2028\ud83d\ude00{}()/:@[]?`;

function generator(seed) {
  const pick = rng(seed);
  const from = (chars) => chars[pick(chars.length)];
  const ows = () => [' ', '', '', '\t', '  '][pick(5)];
  const token = () => {
    const names = [
      'permessage-deflate',
      'x-webkit-deflate-frame',
      'foo',
      'a',
      'client_max_window_bits'
    ];
    if (pick(3) === 0) return names[pick(names.length)];
    let s = '';
    for (let n = 1 + pick(6); n > 0; n--) s += from(TOKEN_CHARS);
    return s;
  };
  const value = () => {
    if (pick(3)) return token();
    let q = '"';
    for (let n = 1 + pick(4); n > 0; n--)
      q += pick(4) === 0 ? `\\${from(TOKEN_CHARS)}` : from(TOKEN_CHARS);
    return `${q}"`;
  };
  const extension = () => {
    let s = token();
    for (let n = pick(4); n > 0; n--) {
      s += `${ows()};${ows()}${token()}`;
      if (pick(2)) s += `=${value()}`;
    }
    return s;
  };
  const valid = () => {
    let s = extension();
    for (let n = pick(3); n > 0; n--) s += `${ows()},${ows()}${extension()}`;
    return s;
  };
  const mutate = (s) => {
    for (let n = 1 + pick(3); n > 0; n--) {
      const i = pick(s.length + 1);
      const c = from(NOISE);
      const op = pick(3);
      if (op === 0) s = s.slice(0, i) + c + s.slice(i);
      else if (op === 1) s = s.slice(0, i) + s.slice(i + 1);
      else s = s.slice(0, i) + c + s.slice(i + 1);
    }
    return s;
  };
  const noise = () => {
    let s = '';
    for (let n = pick(12); n > 0; n--) s += from(NOISE);
    return s;
  };

  return () => {
    const kind = pick(10);
    if (kind < 4) return valid();
    if (kind < 9) return mutate(valid());
    return noise();
  };
}

function outcome(header) {
  try {
    return parse(header);
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `${JSON.stringify(header)}: ${err}`);
    return { error: err.message };
  }
}

test('the extension header parser agrees with an independent oracle', () => {
  const count = Number(process.env.EXT_FUZZ_COUNT || 200000);
  const seed = Number(process.env.EXT_FUZZ_SEED || 0x5eed);
  const next = generator(seed);
  const seen = { valid: 0, invalid: 0 };

  for (let i = 0; i < count; i++) {
    const header = next();
    const want = oracle(header);
    const got = outcome(header);

    assert.deepStrictEqual(
      got,
      want,
      `seed ${seed}, header #${i}: ${JSON.stringify(header)}`
    );
    if (want.error === undefined) {
      seen.valid++;
      assert.deepStrictEqual(
        parse(format(got)),
        got,
        `format round trip of ${JSON.stringify(header)}`
      );
    } else {
      seen.invalid++;
    }
  }

  // The generator must produce both kinds in quantity to mean anything.
  assert.ok(
    seen.valid > count / 4 && seen.invalid > count / 4,
    JSON.stringify(seen)
  );
});

test('the oracle itself gets known headers right', () => {
  const obj = (o) => Object.assign(Object.create(null), o);

  assert.deepStrictEqual(
    oracle('permessage-deflate; client_max_window_bits, foo;a="b\\c" ;d'),
    obj({
      'permessage-deflate': [obj({ client_max_window_bits: [true] })],
      foo: [obj({ a: ['bc'], d: [true] })]
    })
  );
  assert.deepStrictEqual(oracle(' a'), {
    error: 'Unexpected character at index 0'
  });
  assert.deepStrictEqual(oracle('a;b ='), {
    error: 'Unexpected character at index 4'
  });
  assert.deepStrictEqual(oracle('a;b=""'), {
    error: 'Unexpected character at index 5'
  });
  assert.deepStrictEqual(oracle('a '), { error: 'Unexpected end of input' });
  assert.deepStrictEqual(oracle('a;b="c'), {
    error: 'Unexpected end of input'
  });
  assert.deepStrictEqual(oracle(''), { error: 'Unexpected end of input' });
});
