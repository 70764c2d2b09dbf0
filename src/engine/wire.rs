//! The native engine's side of the one record format (`crate::record`):
//! the events it writes are the shared ones, re-exported here, and the
//! commands JavaScript sends it are defined here. The numbers are mirrored
//! in `lib/native/records.js`.
//!
//! Commands (JS to engine): `[kind | opcode << 8 | flags << 12 | extra << 16,
//! id, offset, len]`, the payload being a range of the command's byte buffer
//! or, with `F_BIG`, the buffer at index `offset` of its list.

pub use crate::record::{
    EV_BINARY, EV_CLOSE, EV_CLOSED, EV_END, EV_ERROR, EV_HANDSHAKE, EV_PING, EV_PONG,
    EV_SERVER_CLOSED, EV_TEXT, EV_WRITTEN, OWNED, SLICE,
};

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

/// Word 0 of a command, taken apart: `kind | opcode << 8 | flags << 12 |
/// extra << 16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandWord {
    pub kind: u32,
    /// The frame's opcode (`CMD_FRAME`), or the `A_*` flags (`CMD_ACCEPT`).
    pub opcode: u8,
    /// `F_*` flags.
    pub flags: u32,
    pub extra: u32,
}

impl CommandWord {
    pub fn parse(w0: u32) -> Self {
        Self {
            kind: w0 & 0xff,
            opcode: ((w0 >> 8) & 0xf) as u8,
            flags: (w0 >> 12) & 0xf,
            extra: w0 >> 16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_mirrors_every_number() {
        crate::record::tests::assert_mirrored(&[
            ("CMD_ACCEPT", CMD_ACCEPT),
            ("CMD_RAW", CMD_RAW),
            ("CMD_FRAME", CMD_FRAME),
            ("CMD_SHUTDOWN", CMD_SHUTDOWN),
            ("CMD_DESTROY", CMD_DESTROY),
            ("CMD_PAUSE", CMD_PAUSE),
            ("CMD_RESUME", CMD_RESUME),
            ("CMD_WRITE", CMD_WRITE),
            ("CMD_REPORT", CMD_REPORT),
            ("F_FIN", F_FIN),
            ("F_COMPRESS", F_COMPRESS),
            ("F_REPORT", F_REPORT),
            ("F_BIG", F_BIG),
            ("A_DEFLATE", A_DEFLATE),
            ("A_SERVER_NCT", A_SERVER_NCT),
            ("A_CLIENT_NCT", A_CLIENT_NCT),
        ]);
    }

    #[test]
    fn event_bits_stay_apart_from_kinds_and_the_extra_half() {
        let kinds = [
            EV_HANDSHAKE,
            EV_TEXT,
            EV_BINARY,
            EV_PING,
            EV_PONG,
            EV_CLOSE,
            EV_ERROR,
            EV_END,
            EV_CLOSED,
            EV_WRITTEN,
            EV_SERVER_CLOSED,
        ];
        for k in kinds {
            assert_eq!(k & !0xff, 0, "kind {k} fits in the low byte");
        }
        for bit in [OWNED, SLICE] {
            assert_eq!(bit.count_ones(), 1);
            assert!(bit > 0xff && bit < 1 << 16);
        }
        assert_eq!(OWNED & SLICE, 0);
    }

    #[test]
    fn command_words_come_apart() {
        let w0 = CMD_FRAME | 0x2 << 8 | (F_FIN | F_BIG) << 12 | 1234 << 16;
        assert_eq!(
            CommandWord::parse(w0),
            CommandWord {
                kind: CMD_FRAME,
                opcode: 2,
                flags: F_FIN | F_BIG,
                extra: 1234
            }
        );
        let accept = CMD_ACCEPT | (A_DEFLATE | A_CLIENT_NCT) << 8 | (12 | 10 << 4) << 16;
        let parts = CommandWord::parse(accept);
        assert_eq!(u32::from(parts.opcode), A_DEFLATE | A_CLIENT_NCT);
        assert_eq!(parts.extra & 0xf, 12);
        assert_eq!(parts.extra >> 4 & 0xf, 10);
    }
}
