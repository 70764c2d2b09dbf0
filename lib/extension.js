'use strict';

const { tokenChars } = require('./validation');

// Where the tokenizer is in a `Sec-WebSocket-Extensions` value:
// extension *( ";" param [ "=" ( token / quoted-string ) ] ) *( "," ... )
const HEADER_START = 0; // very first character: no white space allowed
const NAME_START = 1; // after ",": white space, then an extension name
const NAME = 2;
const AFTER_NAME = 3; // white space after a name
const PARAM_START = 4; // after ";"
const PARAM = 5;
const AFTER_PARAM = 6;
const VALUE_START = 7; // right after "="
const VALUE = 8;
const QUOTED = 9;
const ESCAPED = 10; // after a backslash inside quotes
const AFTER_QUOTE = 11; // right after the closing quote
const AFTER_VALUE = 12; // white space after a value

/**
 * Whether the character code is a token character (RFC 7230).
 *
 * @param {Number} code A character code
 * @return {Boolean}
 * @private
 */
function isToken(code) {
  return code < 128 && tokenChars[code] === 1;
}

/**
 * Whether the character code is optional white space (space or tab).
 *
 * @param {Number} code A character code
 * @return {Boolean}
 * @private
 */
function isSpace(code) {
  return code === 0x20 || code === 0x09;
}

/**
 * Parses a `Sec-WebSocket-Extensions` header value.
 *
 * @param {String} header The header value
 * @return {Object} Extension names mapped to arrays of parameter objects
 *     (objects without a prototype; each parameter maps to an array of
 *     values, `true` for a parameter without one)
 * @throws {SyntaxError} On the first character that does not fit, or when
 *     the value ends too early
 * @public
 */
function parse(header) {
  const result = Object.create(null);
  let state = HEADER_START;
  let name = '';
  let params = Object.create(null);
  let key = '';
  let from = -1;
  let quoted = '';

  const addValue = (value) => {
    if (params[key] === undefined) params[key] = [value];
    else params[key].push(value);
  };
  const endExtension = () => {
    if (result[name] === undefined) result[name] = [params];
    else result[name].push(params);
    params = Object.create(null);
  };
  const fail = (at) => new SyntaxError(`Unexpected character at index ${at}`);

  for (let i = 0; i < header.length; i++) {
    const c = header.charCodeAt(i);

    switch (state) {
      case HEADER_START:
      case NAME_START:
        if (isToken(c)) {
          from = i;
          state = NAME;
        } else if (!(state === NAME_START && isSpace(c))) {
          throw fail(i);
        }
        break;

      case NAME:
      case AFTER_NAME:
        if (state === NAME && isToken(c)) break;
        if (state === NAME) name = header.slice(from, i);
        if (isSpace(c)) state = AFTER_NAME;
        else if (c === 0x3b /* ; */) state = PARAM_START;
        else if (c === 0x2c /* , */) {
          endExtension();
          state = NAME_START;
        } else throw fail(i);
        break;

      case PARAM_START:
        if (isToken(c)) {
          from = i;
          state = PARAM;
        } else if (!isSpace(c)) {
          throw fail(i);
        }
        break;

      case PARAM:
      case AFTER_PARAM:
        if (state === PARAM && isToken(c)) break;
        if (state === PARAM) key = header.slice(from, i);
        if (state === PARAM && c === 0x3d /* = */) state = VALUE_START;
        else if (isSpace(c)) state = AFTER_PARAM;
        else if (c === 0x3b) {
          addValue(true);
          state = PARAM_START;
        } else if (c === 0x2c) {
          addValue(true);
          endExtension();
          state = NAME_START;
        } else throw fail(i);
        break;

      case VALUE_START:
        if (isToken(c)) {
          from = i;
          state = VALUE;
        } else if (c === 0x22 /* " */) {
          quoted = '';
          state = QUOTED;
        } else {
          throw fail(i);
        }
        break;

      case VALUE:
        if (isToken(c)) break;
        addValue(header.slice(from, i));
        if (isSpace(c)) state = AFTER_VALUE;
        else if (c === 0x3b) state = PARAM_START;
        else if (c === 0x2c) {
          endExtension();
          state = NAME_START;
        } else throw fail(i);
        break;

      case QUOTED:
        if (c === 0x5c /* \ */) state = ESCAPED;
        else if (c === 0x22 && quoted !== '') {
          addValue(quoted);
          state = AFTER_QUOTE;
        } else if (isToken(c)) quoted += header[i];
        else throw fail(i);
        break;

      case ESCAPED:
        if (!isToken(c)) throw fail(i);
        quoted += header[i];
        state = QUOTED;
        break;

      case AFTER_QUOTE:
      case AFTER_VALUE:
        if (isSpace(c)) state = AFTER_VALUE;
        else if (c === 0x3b) state = PARAM_START;
        else if (c === 0x2c) {
          endExtension();
          state = NAME_START;
        } else throw fail(i);
        break;
    }
  }

  // The value may only end right after a name, a parameter, a value or a
  // closing quote.
  if (state === NAME) {
    name = header.slice(from);
  } else if (state === PARAM) {
    key = header.slice(from);
    addValue(true);
  } else if (state === VALUE) {
    addValue(header.slice(from));
  } else if (state !== AFTER_QUOTE) {
    throw new SyntaxError('Unexpected end of input');
  }

  endExtension();
  return result;
}

/**
 * Builds a `Sec-WebSocket-Extensions` header value.
 *
 * @param {Object} extensions Extension names mapped to a parameter object
 *     or an array of them; a parameter maps to a value or an array of
 *     values, `true` for a parameter without a value
 * @return {String} The header value
 * @public
 */
function format(extensions) {
  const offers = [];

  for (const name of Object.keys(extensions)) {
    for (const params of [].concat(extensions[name])) {
      const parts = [name];

      for (const key of Object.keys(params)) {
        for (const value of [].concat(params[key])) {
          parts.push(value === true ? key : `${key}=${value}`);
        }
      }

      offers.push(parts.join('; '));
    }
  }

  return offers.join(', ');
}

module.exports = { format, parse };
