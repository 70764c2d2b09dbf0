//! The one record format between Rust and JavaScript, written by both
//! engines: four `u32` words, `[kind | flags | extra << 16, id, a, b]`.
//! The numbers are mirrored in `lib/native/records.js` (a test below checks
//! them).
//!
//! `a..b` is a range of the bytes handed over with the records, unless a
//! flag says otherwise:
//! - [`OWNED`]: the payload is the owned buffer at index `a`;
//! - [`SLICE`]: the payload is `a..b` of the owned buffer at index `extra`;
//! - [`FRAGMENTS`]: a message's fragment ends are the list at index `extra`.
//!
//! `id` is the connection on the native engine's records, and 0 on a
//! parser's (lib/receiver.js), which all belong to one connection.

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
/// The peer's close frame; the code is in `extra`.
pub const EV_CLOSE: u32 = 6;
/// An error: its payload is what `ProtocolError::encoded` writes (code,
/// close code, class, errno and message), the one form every error of the
/// Rust side takes into JavaScript.
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

/// Flag: the payload is the owned buffer at index `a`.
pub const OWNED: u32 = 0x100;
/// Flag of a binary message: its fragment ends are the list at index
/// `extra`.
pub const FRAGMENTS: u32 = 0x200;
/// Flag of a message: the payload is `a..b` of the owned buffer at index
/// `extra` (a read buffer handed over whole).
pub const SLICE: u32 = 0x400;

/// The largest `extra`: it has the upper 16 bits of word 0.
pub const EXTRA_MAX: usize = 0xffff;

/// Word 0 of a record.
#[inline]
pub fn head(kind: u32, flags: u32, extra: u32) -> u32 {
    kind | flags | extra << 16
}

/// `n` as a record word. Every offset and length that goes into a record is
/// bounded well below 2^32 (a read chunk, a batch under its inbox limit, a
/// message under `maxPayload`, which is at most 2^32 - 1); should one not
/// be, the word saturates, so that JavaScript sees a range past the end of
/// its buffer and fails loudly, instead of a truncated one that points at
/// the wrong bytes.
#[inline]
pub fn word(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The numbers as lib/native/records.js defines them (`NAME: n,`).
    pub(crate) fn js_constants() -> Vec<(String, u32)> {
        let js = include_str!("../lib/native/records.js");
        js.lines()
            .filter_map(|line| {
                let (name, value) = line.trim().strip_suffix(',')?.split_once(": ")?;
                let value = match value.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => value.parse().ok()?,
                };
                Some((name.to_string(), value))
            })
            .collect()
    }

    pub(crate) fn assert_mirrored(ours: &[(&str, u32)]) {
        let theirs = js_constants();
        for &(name, value) in ours {
            let found = theirs.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            assert_eq!(found, Some(value), "{name} in lib/native/records.js");
        }
    }

    #[test]
    fn javascript_mirrors_the_events() {
        assert_mirrored(&[
            ("EV_HANDSHAKE", EV_HANDSHAKE),
            ("EV_TEXT", EV_TEXT),
            ("EV_BINARY", EV_BINARY),
            ("EV_PING", EV_PING),
            ("EV_PONG", EV_PONG),
            ("EV_CLOSE", EV_CLOSE),
            ("EV_ERROR", EV_ERROR),
            ("EV_END", EV_END),
            ("EV_CLOSED", EV_CLOSED),
            ("EV_WRITTEN", EV_WRITTEN),
            ("EV_SERVER_CLOSED", EV_SERVER_CLOSED),
            ("OWNED", OWNED),
            ("FRAGMENTS", FRAGMENTS),
            ("SLICE", SLICE),
        ]);
    }

    #[test]
    fn flags_stay_apart_from_kinds_and_extra() {
        for flag in [OWNED, FRAGMENTS, SLICE] {
            assert!(flag > 0xff && flag < 1 << 16);
            assert_eq!(head(EV_SERVER_CLOSED, 0, 0) & flag, 0);
        }
        assert_eq!(head(EV_CLOSE, OWNED, 1000) >> 16, 1000);
        assert_eq!(head(EV_CLOSE, OWNED, 1000) & 0xff, EV_CLOSE);
    }

    #[test]
    fn words_are_exact_or_saturate() {
        assert_eq!(word(0), 0);
        assert_eq!(word(65_536), 65_536);
        assert_eq!(word(u32::MAX as usize), u32::MAX);
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(word(u32::MAX as usize + 1), u32::MAX);
            assert_eq!(word(usize::MAX), u32::MAX);
        }
    }
}
