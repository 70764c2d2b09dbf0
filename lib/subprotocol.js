'use strict';

const { tokenChars } = require('./validation');

/**
 * Parses a `Sec-WebSocket-Protocol` header value: tokens separated by
 * commas, with optional white space around the commas.
 *
 * @param {String} header The header value
 * @return {Set<String>} The subprotocols, in order
 * @throws {SyntaxError} On a misplaced or invalid character, a duplicate,
 *     or a value that ends too early
 * @public
 */
function parse(header) {
  const protocols = new Set();
  // Each item is a token, optionally followed by white space; between
  // items, a comma and optional white space.
  let tokenStart = -1;
  let tokenEnd = -1;
  let sawComma = false;

  const add = () => {
    const protocol = header.slice(tokenStart, tokenEnd);

    if (protocols.has(protocol)) {
      throw new SyntaxError(`The "${protocol}" subprotocol is duplicated`);
    }

    protocols.add(protocol);
    tokenStart = tokenEnd = -1;
  };

  for (let i = 0; i < header.length; i++) {
    const c = header.charCodeAt(i);
    const space = c === 0x20 || c === 0x09;

    if (c < 128 && tokenChars[c] === 1) {
      // A token character is fine unless white space already ended the
      // current token.
      if (tokenEnd !== -1)
        throw new SyntaxError(`Unexpected character at index ${i}`);
      if (tokenStart === -1) tokenStart = i;
    } else if (space && (tokenStart !== -1 || sawComma)) {
      if (tokenStart !== -1 && tokenEnd === -1) tokenEnd = i;
    } else if (c === 0x2c && tokenStart !== -1) {
      if (tokenEnd === -1) tokenEnd = i;
      add();
      sawComma = true;
    } else {
      throw new SyntaxError(`Unexpected character at index ${i}`);
    }
  }

  if (tokenStart === -1 || tokenEnd !== -1) {
    throw new SyntaxError('Unexpected end of input');
  }

  tokenEnd = header.length;
  add();
  return protocols;
}

module.exports = { parse };
