'use strict';

//
// The one record format between JavaScript and Rust (src/record.rs and
// src/engine/wire.rs; a Rust test checks that these numbers match).
//
// A record is four u32 words: `[kind | flags | extra << 16, id, a, b]`.
// `a..b` is a range of the bytes handed over with the records, unless a
// flag says otherwise. `id` is the connection (the native engine; 0 on a
// parser's records, which belong to one connection).
//
// Both engines write the message kinds (EV_TEXT to EV_ERROR) the same way:
// - OWNED: the payload is the owned buffer at index `a`;
// - SLICE: the payload is `a..b` of the owned buffer at index `extra`;
// - FRAGMENTS: the message's fragment ends are the list at index `extra`;
// - EV_CLOSE carries the close code in `extra`;
// - EV_ERROR's payload is the error, as lib/protocol-error.js decodes it.
//

module.exports = {
  // Events (Rust to JavaScript).
  EV_HANDSHAKE: 1,
  EV_TEXT: 2,
  EV_BINARY: 3,
  EV_PING: 4,
  EV_PONG: 5,
  EV_CLOSE: 6,
  EV_ERROR: 7,
  EV_END: 8,
  EV_CLOSED: 9,
  EV_WRITTEN: 10,
  EV_SERVER_CLOSED: 11,
  OWNED: 0x100,
  FRAGMENTS: 0x200,
  SLICE: 0x400,

  // Commands (JavaScript to the native engine): `[kind | opcode << 8 |
  // flags << 12 | extra << 16, id, offset, len]`.
  CMD_ACCEPT: 1,
  CMD_RAW: 2,
  CMD_FRAME: 3,
  CMD_SHUTDOWN: 4,
  CMD_DESTROY: 5,
  CMD_PAUSE: 6,
  CMD_RESUME: 7,
  CMD_WRITE: 8,
  CMD_REPORT: 9,
  F_FIN: 1,
  F_COMPRESS: 2,
  F_REPORT: 4,
  F_BIG: 8,
  A_DEFLATE: 1,
  A_SERVER_NCT: 2,
  A_CLIENT_NCT: 4,

  // Frame payloads at least this large are not copied: Rust reads them
  // where they are, and the connection keeps them referenced until they are
  // written.
  PIN_AT: 16 * 1024
};
