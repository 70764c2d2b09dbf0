//! The records exchanged with JavaScript: four `u32` words each. The
//! numbers are mirrored in `lib/native-engine.js`.
//!
//! Events (engine to JS): `[kind | extra << 16, id, a, b]`, where `a..b` is
//! a range of the batch's byte buffer unless the `OWNED` bit is set, in
//! which case `a` indexes the batch's list of owned buffers.
//!
//! Commands (JS to engine): `[kind | opcode << 8 | flags << 12 | extra << 16,
//! id, offset, len]`, the payload being a range of the command's byte buffer
//! or, with `F_BIG`, the buffer at index `offset` of its list.

/// A request head arrived: `a..b` holds its fields, NUL separated
/// (method, target, version, remote address, remote port, family, accept
/// value, then name and value of each header).
pub const EV_HANDSHAKE: u32 = 1;
/// A text message.
pub const EV_TEXT: u32 = 2;
/// A binary message.
pub const EV_BINARY: u32 = 3;
/// A ping.
pub const EV_PING: u32 = 4;
/// A pong.
pub const EV_PONG: u32 = 5;
/// The peer's close frame; the code is in the upper half of word 0.
pub const EV_CLOSE: u32 = 6;
/// A protocol error: `a..b` holds `code NUL message`, the close code is in
/// the upper half of word 0, and bit 8 marks a RangeError.
pub const EV_ERROR: u32 = 7;
/// The peer ended its side (FIN).
pub const EV_END: u32 = 8;
/// The socket is gone; the id will not be seen again.
pub const EV_CLOSED: u32 = 9;
/// Progress of the send queue: `a` = payload bytes written (mod 2^32),
/// `b` = frames written (mod 2^32).
pub const EV_WRITTEN: u32 = 10;
/// The listener is closed and every connection has gone.
pub const EV_SERVER_CLOSED: u32 = 11;

/// Bit of word 0: the payload is an owned buffer.
pub const OWNED: u32 = 0x100;
/// Bit of word 0 of a message: the payload is `a..b` of the owned buffer
/// whose index is in the upper half of word 0 (a read buffer handed over).
pub const SLICE: u32 = 0x400;
/// Bit of word 0 of `EV_ERROR`: the error is a RangeError.
pub const RANGE_ERROR: u32 = 0x200;

/// Accept the handshake: write the payload (the 101 response), then speak
/// WebSocket. Flags: `A_DEFLATE`, `A_SERVER_NCT`, `A_CLIENT_NCT`; extra:
/// server window bits | client window bits << 4.
pub const CMD_ACCEPT: u32 = 1;
/// Write the payload as is (HTTP responses during the handshake).
pub const CMD_RAW: u32 = 2;
/// Send a frame with the given opcode and flags.
pub const CMD_FRAME: u32 = 3;
/// Half-close once everything queued is written.
pub const CMD_SHUTDOWN: u32 = 4;
/// Close the socket now.
pub const CMD_DESTROY: u32 = 5;
/// Stop reading.
pub const CMD_PAUSE: u32 = 6;
/// Read again.
pub const CMD_RESUME: u32 = 7;

/// Write a frame built by JavaScript (control frames, frames prepared once
/// for many sockets); counted as one frame. Takes `F_REPORT` and `F_BIG`.
pub const CMD_WRITE: u32 = 8;

/// Report progress (`EV_WRITTEN`) after the next write, or now if nothing
/// is queued: JavaScript learned of progress while frames it sent without
/// `F_REPORT` were still on their way.
pub const CMD_REPORT: u32 = 9;

/// `CMD_FRAME` flag: last fragment.
pub const F_FIN: u32 = 1;
/// `CMD_FRAME` flag: compress (if negotiated).
pub const F_COMPRESS: u32 = 2;
/// `CMD_FRAME` flag: report progress (`EV_WRITTEN`) until the queue empties.
pub const F_REPORT: u32 = 4;
/// `CMD_FRAME` flag: the payload is a separate buffer.
pub const F_BIG: u32 = 8;

/// `CMD_ACCEPT` flag: permessage-deflate was negotiated.
pub const A_DEFLATE: u32 = 1;
/// `CMD_ACCEPT` flag: server_no_context_takeover.
pub const A_SERVER_NCT: u32 = 2;
/// `CMD_ACCEPT` flag: client_no_context_takeover.
pub const A_CLIENT_NCT: u32 = 4;
