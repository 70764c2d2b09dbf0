//! permessage-deflate codec (RFC 7692): raw deflate with the `00 00 ff ff`
//! tail removed on send and put back on receive, context takeover on or off,
//! window bits 8 to 15 (8 behaves as 9, as zlib does), and inflation that
//! stops at a size limit so a small bomb never expands past it.
//!
//! A direction holds no zlib stream between messages: it checks one out of
//! its thread's cache for each message (`super::streams`). Without context
//! takeover that is all; with it, the direction also keeps the bytes the
//! other side may refer back to (`History`), and primes a stream with them
//! whenever the cache could not keep its own.

use zlib_rs::{DeflateConfig, DeflateFlush, InflateFlush, Status, Strategy};

use crate::protocol::error::{InflateFailure, ProtocolError};
use crate::protocol::history::History;
use crate::protocol::streams::{self, Stream};

/// What a compressor with context takeover keeps of what it sent, to prime
/// a stream with when the cache could not keep its own: the peer may be
/// referred to anything in its window, but need not be, and matches in
/// messages of this kind are mostly recent. Priming hashes every byte of
/// it, so this bounds the cost of a cold message as well as the memory.
pub const DEFLATE_HISTORY: usize = 4096;

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

/// How a compressor is made: zlib's `level` (0..=9), `memLevel` (1..=9)
/// and `strategy` (0..=4), and the negotiated window bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateOptions {
    pub level: u8,
    pub window_bits: u8,
    pub mem_level: u8,
    pub strategy: u8,
}

impl DeflateOptions {
    /// zlib's defaults for the rest.
    pub fn new(level: u32, window_bits: u8) -> Self {
        Self {
            level: level.min(9) as u8,
            window_bits: effective_window_bits(window_bits),
            mem_level: 8,
            strategy: 0,
        }
    }
}

/// A zlib compressor, as the thread's cache holds it.
pub struct Compressor(zlib_rs::Deflate);

impl Stream for Compressor {
    type Key = DeflateOptions;

    fn make(o: DeflateOptions) -> Self {
        Compressor(zlib_rs::Deflate::new_with_config(DeflateConfig {
            level: i32::from(o.level),
            window_bits: -i32::from(o.window_bits),
            mem_level: i32::from(o.mem_level.clamp(1, 9)),
            strategy: Strategy::try_from(i32::from(o.strategy)).unwrap_or_default(),
            ..DeflateConfig::default()
        }))
    }

    fn reset(&mut self, _: DeflateOptions) -> bool {
        self.0.reset();
        true
    }

    crate::stream_cache!(Compressor);
}

/// Compresses messages for one direction of a connection.
pub struct Deflater {
    options: DeflateOptions,
    /// With context takeover: what the peer's inflater holds.
    history: Option<History>,
    owner: u64,
    stamp: u64,
}

impl Deflater {
    /// `level` is zlib's 0..=9; `window_bits` is the negotiated 8..=15.
    pub fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        Self::with_options(DeflateOptions::new(level, window_bits), no_context_takeover)
    }

    pub fn with_options(options: DeflateOptions, no_context_takeover: bool) -> Self {
        let options = DeflateOptions {
            window_bits: effective_window_bits(options.window_bits),
            ..options
        };
        Self {
            options,
            history: (!no_context_takeover)
                .then(|| History::with_cap(DEFLATE_HISTORY.min(1 << options.window_bits))),
            owner: streams::owner_id(),
            stamp: 0,
        }
    }

    /// Compresses one fragment of a message, appending to `out`. On the last
    /// fragment (`fin`), the sync-flush tail is removed and, without context
    /// takeover, the compressor starts afresh for the next message.
    pub fn compress(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let (mut c, warm) = streams::checkout::<Compressor>(self.options, self.owner, self.stamp);
        if !warm {
            if let Some(h) = self.history.as_mut().filter(|h| !h.is_empty()) {
                // A reset raw stream always takes a dictionary.
                let _ = c.0.set_dictionary(h.as_slice());
            }
        }
        let start = out.len();
        deflate_into(&mut c.0, input, out);
        if let Some(h) = self.history.as_mut() {
            h.push(input);
        }
        self.stamp += 1;
        if fin {
            if out.len() == start {
                // zlib emits nothing for a flush with nothing new to flush;
                // an empty stored block (its header, tail removed) stands in.
                out.push(0x00);
            } else if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.history.is_none() {
                c.0.reset();
                streams::checkin(self.options, 0, 0, c);
                return;
            }
        }
        streams::checkin(self.options, self.owner, self.stamp, c);
    }

    /// Bytes of memory this direction holds between messages.
    pub fn footprint(&self) -> usize {
        self.history.as_ref().map_or(0, History::footprint)
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        streams::release::<Compressor>(self.owner);
    }
}

/// Runs `input` through `c` with a sync flush, appending to `out`.
fn deflate_into(c: &mut zlib_rs::Deflate, mut input: &[u8], out: &mut Vec<u8>) {
    loop {
        // A sync flush adds at most a few bytes per 16 KiB block.
        out.reserve(input.len() + input.len() / 256 + 64);
        let len = out.len();
        let (before_in, before_out) = (c.total_in(), c.total_out());
        let spare = out.spare_capacity_mut();
        let room = spare.len();
        let status = c
            .compress_uninit(input, spare, DeflateFlush::SyncFlush)
            .unwrap_or(Status::BufError);
        let made = written(c.total_out() - before_out, room);
        // SAFETY: zlib-rs wrote exactly `made` bytes (what its total_out
        // counts) at the start of the spare capacity, `made <= room`.
        unsafe { out.set_len(len + made) };
        let used = written(c.total_in() - before_in, input.len());
        input = &input[used..];
        let filled = made == room;
        if (input.is_empty() && !filled) || status == Status::BufError && used == 0 && !filled {
            break;
        }
    }
}

/// A count zlib reports, bounded by what it was given.
fn written(n: u64, bound: usize) -> usize {
    usize::try_from(n).map_or(bound, |n| n.min(bound))
}

/// A zlib decompressor, as the thread's cache holds it.
pub struct Decompressor(zlib_rs::Inflate);

impl Stream for Decompressor {
    type Key = u8;

    fn make(bits: u8) -> Self {
        Decompressor(zlib_rs::Inflate::new(false, bits))
    }

    // zlib-rs's reset goes back to 15 window bits: other sizes are made anew.
    fn reset(&mut self, bits: u8) -> bool {
        if bits != 15 {
            return false;
        }
        self.0.reset(false);
        true
    }

    crate::stream_cache!(Decompressor);
}

/// Decompresses messages for one direction of a connection.
pub struct Inflater {
    window_bits: u8,
    /// With context takeover: the peer's window, as inflated so far.
    history: Option<History>,
    /// The stream of the message in progress (a deflate block may span
    /// frames, so it stays with the message).
    active: Option<Decompressor>,
    owner: u64,
    stamp: u64,
}

impl Inflater {
    /// `window_bits` is the negotiated 8..=15 for the peer's compressor.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let window_bits = effective_window_bits(window_bits);
        Self {
            window_bits,
            history: (!no_context_takeover).then(|| History::new(window_bits)),
            active: None,
            owner: streams::owner_id(),
            stamp: 0,
        }
    }

    /// Inflates `input`, appending to `out`. With `limit > 0`, fails as soon
    /// as `out` would grow past `limit` bytes; it never grows much past it.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut d = match self.active.take() {
            Some(d) => d,
            None => self.checkout(),
        };
        let start = out.len();
        let result = inflate_into(&mut d, self.window_bits, input, out, limit);
        match result {
            Ok(ended) => {
                if let Some(h) = self.history.as_mut() {
                    if ended {
                        // The peer ended its stream: nothing before is
                        // referred to again.
                        h.clear();
                    }
                    h.push(&out[start..]);
                }
                self.active = Some(d);
                Ok(())
            }
            Err(e) => {
                // The stream is in an unknown state: it goes, and the next
                // message starts afresh.
                self.forget();
                Err(e)
            }
        }
    }

    /// Ends a message: puts the removed tail back.
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        self.inflate(&TAIL, out, limit)?;
        self.stamp += 1;
        if let Some(mut d) = self.active.take() {
            if self.history.is_some() {
                streams::checkin(self.window_bits, self.owner, self.stamp, d);
            } else if d.reset(self.window_bits) {
                streams::checkin(self.window_bits, 0, 0, d);
            }
        }
        Ok(())
    }

    /// Bytes of memory this direction holds between messages.
    pub fn footprint(&self) -> usize {
        self.history.as_ref().map_or(0, History::footprint)
    }

    fn checkout(&mut self) -> Decompressor {
        let (mut d, warm) =
            streams::checkout::<Decompressor>(self.window_bits, self.owner, self.stamp);
        if !warm {
            if let Some(h) = self.history.as_mut().filter(|h| !h.is_empty()) {
                let _ = d.0.set_dictionary(h.as_slice());
            }
        }
        d
    }

    fn forget(&mut self) {
        self.active = None;
        self.stamp += 1;
        if let Some(h) = self.history.as_mut() {
            h.clear();
        }
        streams::release::<Decompressor>(self.owner);
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        streams::release::<Decompressor>(self.owner);
    }
}

/// Inflates `input` into `out` within `limit`; `Ok(true)` if the peer's
/// stream ended (the stream is then made anew for what follows).
fn inflate_into(
    d: &mut Decompressor,
    bits: u8,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<bool, InflateError> {
    let mut ended = false;
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
        let len = out.len();
        let (before_in, before_out) = (d.0.total_in(), d.0.total_out());
        let spare = out.spare_capacity_mut();
        let room = spare.len();
        let status = d.0.decompress_uninit(input, spare, InflateFlush::SyncFlush);
        let made = written(d.0.total_out() - before_out, room);
        // SAFETY: as in `deflate_into`: zlib-rs wrote `made` bytes there.
        unsafe { out.set_len(len + made) };
        let used = written(d.0.total_in() - before_in, input.len());
        input = &input[used..];
        let status = match status {
            Ok(status) => status,
            Err(e) => {
                if limit > 0 && out.len() > limit {
                    return Err(InflateError::LimitExceeded);
                }
                return Err(InflateError::Corrupt(InflateFailure {
                    code: "Z_DATA_ERROR",
                    errno: -3,
                    message: failure_message(d.0.error_message().or(Some(e.as_str()))),
                }));
            }
        };
        if limit > 0 && out.len() > limit {
            return Err(InflateError::LimitExceeded);
        }
        if status == Status::StreamEnd {
            ended = true;
            *d = Decompressor::make(bits);
            if input.is_empty() {
                return Ok(ended);
            }
            continue;
        }
        let progressed = used > 0 || made > 0;
        let full = made == room;
        if !full && (input.is_empty() || !progressed) {
            return Ok(ended);
        }
    }
}

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

    /// A peer that never loses its stream: one zlib inflater for the whole
    /// connection, as a browser has.
    fn continuous_peer(wire: &[u8], peer: &mut zlib_rs::Inflate) -> Vec<u8> {
        let mut input = wire.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = vec![0u8; 1 << 20];
        let before = peer.total_out();
        peer.decompress(&input, &mut out, InflateFlush::SyncFlush)
            .unwrap();
        out.truncate((peer.total_out() - before) as usize);
        out
    }

    #[test]
    fn evicted_streams_are_primed_from_history() {
        streams::limit_this_thread::<Compressor>(1);
        streams::limit_this_thread::<Decompressor>(1);
        let mut senders: Vec<Deflater> = (0..3).map(|_| Deflater::new(6, 15, false)).collect();
        let mut peers: Vec<zlib_rs::Inflate> =
            (0..3).map(|_| zlib_rs::Inflate::new(false, 15)).collect();
        let mut receivers: Vec<Inflater> = (0..3).map(|_| Inflater::new(15, false)).collect();
        let msg = text(3000);
        for round in 0..4 {
            for k in 0..3 {
                // Each sender's stream was taken by the one before it.
                let wire = compress_msg(&mut senders[k], &msg);
                if round > 0 {
                    assert!(wire.len() < 60, "round {round}: {} bytes", wire.len());
                }
                assert_eq!(continuous_peer(&wire, &mut peers[k]), msg);
                assert_eq!(inflate_msg(&mut receivers[k], &wire, 0).unwrap(), msg);
            }
        }
        assert!(streams::held::<Compressor>() <= 1);
        assert!(streams::held::<Decompressor>() <= 1);
        streams::limit_this_thread::<Compressor>(streams::CAPACITY);
        streams::limit_this_thread::<Decompressor>(streams::CAPACITY);
    }

    #[test]
    fn a_direction_holds_only_its_history_between_messages() {
        let mut nct = Deflater::new(6, 15, true);
        let mut keep = Deflater::new(6, 15, false);
        let msg = text(1024);
        compress_msg(&mut nct, &msg);
        compress_msg(&mut keep, &msg);
        assert_eq!(nct.footprint(), 0);
        assert!(keep.footprint() >= 1024 && keep.footprint() <= 2048);
        // A no-takeover stream goes back free, for the next one.
        let mut other = Deflater::new(6, 15, true);
        compress_msg(&mut other, &msg);
        let held = streams::held::<Compressor>();
        compress_msg(&mut nct, &msg);
        compress_msg(&mut other, &msg);
        assert_eq!(streams::held::<Compressor>(), held);
        let mut i = Inflater::new(15, true);
        inflate_msg(&mut i, &compress_msg(&mut other, &msg), 0).unwrap();
        assert_eq!(i.footprint(), 0);
    }

    #[test]
    fn mem_level_and_strategy_are_used() {
        let msg = text(20_000);
        for mem_level in [1u8, 9] {
            for strategy in 0..=4u8 {
                let options = DeflateOptions {
                    mem_level,
                    strategy,
                    ..DeflateOptions::new(6, 15)
                };
                let mut d = Deflater::with_options(options, true);
                let wire = compress_msg(&mut d, &msg);
                let mut i = Inflater::new(15, true);
                assert_eq!(inflate_msg(&mut i, &wire, 0).unwrap(), msg);
            }
        }
        // Huffman only finds no repeats: much larger than the default.
        let huff = DeflateOptions {
            strategy: 2,
            ..DeflateOptions::new(6, 15)
        };
        let a = compress_msg(&mut Deflater::with_options(huff, true), &msg);
        let b = compress_msg(&mut Deflater::new(6, 15, true), &msg);
        assert!(a.len() > 4 * b.len(), "{} vs {}", a.len(), b.len());
    }
}
