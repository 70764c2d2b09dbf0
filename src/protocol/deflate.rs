//! permessage-deflate codec (RFC 7692): raw deflate with the `00 00 ff ff`
//! tail removed on send and put back on receive, context takeover on or off,
//! window bits 8 to 15 (8 behaves as 9, as zlib does), and inflation that
//! stops at a size limit so a small bomb never expands past it.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::protocol::error::{InflateFailure, ProtocolError};

/// The four bytes a sync flush ends with, removed from each message.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Clamps negotiated window bits into what the deflate backend takes.
pub fn effective_window_bits(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// Why inflation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The output would exceed the limit.
    LimitExceeded,
    /// The input is not valid deflate data.
    Corrupt(InflateFailure),
}

impl From<InflateError> for ProtocolError {
    fn from(e: InflateError) -> Self {
        match e {
            InflateError::LimitExceeded => ProtocolError::MaxPayloadExceeded,
            InflateError::Corrupt(f) => ProtocolError::Inflate(f),
        }
    }
}

/// Compresses messages for one direction of a connection.
pub struct Deflater {
    engine: Compress,
    no_context_takeover: bool,
}

impl Deflater {
    /// `level` is zlib's 0..=9; `window_bits` is the negotiated 8..=15.
    pub fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        let engine = Compress::new_with_window_bits(
            Compression::new(level.min(9)),
            false,
            effective_window_bits(window_bits),
        );
        Self {
            engine,
            no_context_takeover,
        }
    }

    /// Compresses one fragment of a message, appending to `out`. On the last
    /// fragment (`fin`), the sync-flush tail is removed and, without context
    /// takeover, the compressor starts afresh for the next message.
    pub fn compress(&mut self, mut input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let start = out.len();
        loop {
            // A sync flush adds at most a few bytes per 16 KiB block.
            out.reserve(input.len() + input.len() / 256 + 64);
            let before = self.engine.total_in();
            let status = self
                .engine
                .compress_vec(input, out, FlushCompress::Sync)
                .unwrap_or(Status::BufError);
            let used = (self.engine.total_in() - before) as usize;
            input = &input[used..];
            let filled = out.len() == out.capacity();
            if (input.is_empty() && !filled) || status == Status::BufError && used == 0 && !filled {
                break;
            }
        }
        if fin {
            if out.len() == start {
                // zlib emits nothing for a flush with nothing new to flush;
                // an empty stored block (its header, tail removed) stands in.
                out.push(0x00);
            } else if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.no_context_takeover {
                self.engine.reset();
            }
        }
    }
}

/// Decompresses messages for one direction of a connection.
pub struct Inflater {
    engine: Decompress,
    window_bits: u8,
    no_context_takeover: bool,
}

impl Inflater {
    /// `window_bits` is the negotiated 8..=15 for the peer's compressor.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let window_bits = effective_window_bits(window_bits);
        Self {
            engine: Decompress::new_with_window_bits(false, window_bits),
            window_bits,
            no_context_takeover,
        }
    }

    /// Inflates `input`, appending to `out`. With `limit > 0`, fails as soon
    /// as `out` would grow past `limit` bytes; it never grows much past it.
    pub fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        loop {
            if out.len() == out.capacity() {
                let want = out.len().clamp(4096, 1 << 20);
                let room = if limit > 0 {
                    want.min((limit + 1).saturating_sub(out.len()).max(1))
                } else {
                    want
                };
                out.reserve_exact(room);
            }
            let before_in = self.engine.total_in();
            let before_out = out.len();
            let status = match self
                .engine
                .decompress_vec(input, out, FlushDecompress::Sync)
            {
                Ok(status) => status,
                Err(e) => {
                    // Leave the engine usable for whatever comes next.
                    self.reset();
                    // Output past the limit came before the bad input, so
                    // the limit is the error, however the input was cut.
                    if limit > 0 && out.len() > limit {
                        return Err(InflateError::LimitExceeded);
                    }
                    return Err(InflateError::Corrupt(InflateFailure {
                        code: "Z_DATA_ERROR",
                        errno: -3,
                        message: failure_message(e.message()),
                    }));
                }
            };
            let used = (self.engine.total_in() - before_in) as usize;
            input = &input[used..];
            if limit > 0 && out.len() > limit {
                return Err(InflateError::LimitExceeded);
            }
            if status == Status::StreamEnd {
                // The peer ended the deflate stream (a final block); anything
                // after it starts a new one.
                self.reset();
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            let progressed = used > 0 || out.len() > before_out;
            let full = out.len() == out.capacity();
            if !full && (input.is_empty() || !progressed) {
                return Ok(());
            }
        }
    }

    /// Ends a message: inflates the removed tail and, without context
    /// takeover, forgets the window.
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        let result = self.inflate(&TAIL, out, limit);
        if self.no_context_takeover || result.is_err() {
            self.reset();
        }
        result
    }

    fn reset(&mut self) {
        // flate2's reset() would fall back to 15 window bits; rebuild instead.
        self.engine = Decompress::new_with_window_bits(false, self.window_bits);
    }
}

/// zlib's description of a failure. zlib-rs reports some failures found on
/// its fast path (whole input at hand) as "repeated call with bad state",
/// which cannot be true here, as the engine is rebuilt after every error;
/// that one, like a missing message, becomes a generic description.
fn failure_message(zlib: Option<&str>) -> String {
    match zlib {
        Some(m) if m != "repeated call with bad state" => m.to_string(),
        _ => "invalid compressed data".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress_msg(d: &mut Deflater, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        d.compress(msg, true, &mut out);
        out
    }

    fn inflate_msg(i: &mut Inflater, data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        i.inflate(data, &mut out, limit)?;
        i.finish(&mut out, limit)?;
        Ok(out)
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| b"{\"id\":1,\"name\":\"wsrs\",\"ok\":true}"[i % 32])
            .collect()
    }

    #[test]
    fn empty_and_fragmented_round_trip() {
        let mut d = Deflater::new(6, 15, false);
        let mut i = Inflater::new(15, false);
        for msg in [&b""[..], b"first message", b"", b"x"] {
            let wire = compress_msg(&mut d, msg);
            assert_eq!(inflate_msg(&mut i, &wire, 0).unwrap(), msg, "{wire:x?}");
        }
    }

    #[test]
    fn rfc7692_hello_example() {
        // RFC 7692 section 7.2.3.1: "Hello" compressed with no context.
        let mut d = Deflater::new(6, 15, true);
        let out = compress_msg(&mut d, b"Hello");
        assert!(!out.ends_with(&TAIL));
        let mut i = Inflater::new(15, false);
        assert_eq!(
            inflate_msg(&mut i, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 0).unwrap(),
            b"Hello"
        );
        assert_eq!(inflate_msg(&mut i, &out, 0).unwrap(), b"Hello");
    }

    #[test]
    fn round_trips_every_window_and_takeover_mode() {
        for bits in 8..=15u8 {
            for nct in [false, true] {
                let mut d = Deflater::new(6, bits, nct);
                let mut i = Inflater::new(bits, nct);
                for n in [0usize, 1, 5, 300, 5000, 70_000] {
                    let msg = text(n);
                    let wire = compress_msg(&mut d, &msg);
                    assert_eq!(
                        inflate_msg(&mut i, &wire, 0).unwrap(),
                        msg,
                        "bits {bits} nct {nct} n {n}"
                    );
                }
            }
        }
    }

    #[test]
    fn context_takeover_shrinks_repeats() {
        let msg = text(200);
        let mut keep = Deflater::new(6, 15, false);
        let first = compress_msg(&mut keep, &msg);
        let second = compress_msg(&mut keep, &msg);
        assert!(second.len() < first.len(), "second message uses the window");
        let mut fresh = Deflater::new(6, 15, true);
        let a = compress_msg(&mut fresh, &msg);
        let b = compress_msg(&mut fresh, &msg);
        assert_eq!(a, b, "no context takeover compresses each message alike");
        // An inflater without takeover cannot read a message that refers back.
        let mut i = Inflater::new(15, true);
        assert_eq!(inflate_msg(&mut i, &first, 0).unwrap(), msg);
        assert!(inflate_msg(&mut i, &second, 0).is_err());
    }

    #[test]
    fn fragments_compress_and_inflate_in_pieces() {
        let msg = text(10_000);
        let mut d = Deflater::new(6, 15, false);
        let mut wire = Vec::new();
        for (n, piece) in msg.chunks(3000).enumerate() {
            d.compress(piece, n == 3, &mut wire);
        }
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        for piece in wire.chunks(7) {
            i.inflate(piece, &mut out, 0).unwrap();
        }
        i.finish(&mut out, 0).unwrap();
        assert_eq!(out, msg);
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 50 << 20];
        let mut d = Deflater::new(9, 15, true);
        let wire = compress_msg(&mut d, &zeros);
        assert!(wire.len() < 100_000, "a small bomb: {}", wire.len());
        let mut i = Inflater::new(15, true);
        let mut out = Vec::new();
        let limit = 1 << 20;
        let err = i
            .inflate(&wire, &mut out, limit)
            .and_then(|_| i.finish(&mut out, limit));
        assert_eq!(err, Err(InflateError::LimitExceeded));
        assert!(out.capacity() <= limit + 1, "capacity {}", out.capacity());
        // Exactly at the limit is fine.
        let mut i = Inflater::new(15, true);
        let ok = inflate_msg(&mut i, &compress_msg(&mut d, &zeros[..limit]), limit).unwrap();
        assert_eq!(ok.len(), limit);
    }

    #[test]
    fn output_past_the_limit_before_bad_input_is_the_limit() {
        // "a " then an invalid stored block (found by fuzzing): whole, zlib
        // writes both bytes and fails in one call; cut, the limit is hit
        // first. Both must say LimitExceeded.
        let wire = [0x4a, 0x54, 0, 0, 0, 0x10, 0x55, 0x28, 0xc9, 0x2b, 0];
        let mut i = Inflater::new(15, false);
        assert_eq!(
            i.inflate(&wire, &mut Vec::new(), 1),
            Err(InflateError::LimitExceeded)
        );
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        assert_eq!(i.inflate(&wire[..2], &mut out, 1), Ok(()));
        assert_eq!(
            i.inflate(&wire[2..], &mut out, 1),
            Err(InflateError::LimitExceeded)
        );
        // Without a limit, it is the corruption.
        let mut i = Inflater::new(15, false);
        assert!(matches!(
            i.inflate(&wire, &mut Vec::new(), 0),
            Err(InflateError::Corrupt(_))
        ));
    }

    #[test]
    fn a_bogus_zlib_message_is_replaced() {
        assert_eq!(
            failure_message(Some("invalid block type")),
            "invalid block type"
        );
        assert_eq!(
            failure_message(Some("repeated call with bad state")),
            "invalid compressed data"
        );
        assert_eq!(failure_message(None), "invalid compressed data");
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let mut i = Inflater::new(15, false);
        let err = inflate_msg(&mut i, &[0xff, 0xff, 0xff, 0xff], 0).unwrap_err();
        match err {
            InflateError::Corrupt(f) => assert_eq!(f.code, "Z_DATA_ERROR"),
            other => panic!("unexpected {other:?}"),
        }
        // The inflater is usable again afterwards.
        let mut d = Deflater::new(6, 15, false);
        let wire = compress_msg(&mut d, b"after");
        assert_eq!(inflate_msg(&mut i, &wire, 0).unwrap(), b"after");
    }
}
