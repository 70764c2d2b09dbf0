//! Inflation with a size limit.
//!
//! Input layout: a settings byte (window bits, no context takeover, mode,
//! level), a limit selector, a count and that many chunking seeds, then
//! either one raw compressed message or (compress mode) up to four plain
//! messages that are compressed with one compressor, maybe corrupted, and
//! inflated in turn with one inflater.
//!
//! Invariants: no panic; the output never grows past the limit plus one
//! byte, nor its allocation past the limit plus a little; cutting the input
//! differently changes neither the output nor the error; and an intact
//! message comes back exactly, or fails with `LimitExceeded` exactly when
//! it is larger than the limit.

use wsrs::protocol::deflate::{Deflater, InflateError, Inflater};

use super::bytes::{cuts, split, Reader};

const LIMITS: [usize; 8] = [0, 1, 2, 100, 1000, 4096, 65_536, 1 << 20];

/// How far past the limit an output buffer's allocation may reach.
pub const CAPACITY_SLACK: usize = 64;

/// Runs every check on one fuzz input.
pub fn check(data: &[u8]) {
    let mut r = Reader::new(data);
    let settings = r.byte();
    let limit = LIMITS[usize::from(r.byte() & 7)];
    let seed_count = usize::from(r.byte() % 16);
    let seeds = r.take(seed_count).to_vec();
    let bits = 8 + (settings & 7);
    let nct = settings & 8 != 0;

    if settings & 0x10 == 0 {
        let wire = r.rest();
        let mut a = Inflater::new(bits, nct);
        let mut b = Inflater::new(bits, nct);
        let cut = inflate_message(&mut a, wire, &cuts(&seeds, wire.len()), limit);
        let whole = inflate_message(&mut b, wire, &[], limit);
        assert_eq!(cut, whole, "chunking changed the result");
        return;
    }

    let level = u32::from(settings >> 5).min(9);
    let mut deflater = Deflater::new(level, bits, nct);
    let mut a = Inflater::new(bits, nct);
    let mut b = Inflater::new(bits, nct);
    // A corrupted message can end in a state the compressor never meant
    // (inside a stored block, say), so later messages may inflate to
    // anything: after one, only the bounds and chunking are checked.
    let mut in_step = true;
    for _ in 0..=(r.byte() % 4) {
        let len = usize::from(u16::from_le_bytes([r.byte(), r.byte()]) % 2048);
        let repeat = 1usize << (r.byte() % 10);
        let corrupt = r.byte();
        let at = u16::from_le_bytes([r.byte(), r.byte()]);
        let unit = r.take(len);
        let mut plain = Vec::with_capacity(unit.len() * repeat);
        for _ in 0..repeat {
            plain.extend_from_slice(unit);
        }
        let mut wire = Vec::new();
        deflater.compress(&plain, true, &mut wire);
        if corrupt & 0x80 != 0 && !wire.is_empty() {
            let i = usize::from(at) % wire.len();
            wire[i] ^= corrupt | 1;
            in_step = false;
        }
        let cut = inflate_message(&mut a, &wire, &cuts(&seeds, wire.len()), limit);
        let whole = inflate_message(&mut b, &wire, &[], limit);
        assert_eq!(cut, whole, "chunking changed the result");
        if in_step {
            if limit == 0 || plain.len() <= limit {
                assert_eq!(cut.as_deref(), Ok(&plain[..]), "round trip");
            } else {
                assert_eq!(cut, Err(InflateError::LimitExceeded));
            }
        }
        if cut.is_err() {
            // The connection would be failed; the window is gone.
            return;
        }
    }
}

/// Inflates one message fed in pieces, checking the bound after each call.
pub fn inflate_message(
    inflater: &mut Inflater,
    wire: &[u8],
    cut_list: &[usize],
    limit: usize,
) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    let mut result = Ok(());
    for piece in split(wire, cut_list) {
        result = inflater.inflate(piece, &mut out, limit);
        check_bound(&out, limit);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = inflater.finish(&mut out, limit);
        check_bound(&out, limit);
    }
    // zlib words one failure differently depending on how much input it
    // had at hand; compare code and errno only.
    result.map(|()| out).map_err(|e| match e {
        InflateError::Corrupt(mut f) => {
            f.message.clear();
            InflateError::Corrupt(f)
        }
        other => other,
    })
}

/// The output and its allocation stay within the limit (plus slack).
fn check_bound(out: &Vec<u8>, limit: usize) {
    if limit > 0 {
        assert!(
            out.len() <= limit + 1,
            "{} bytes out, limit {limit}",
            out.len()
        );
        assert!(
            out.capacity() <= limit + CAPACITY_SLACK,
            "{} bytes allocated, limit {limit}",
            out.capacity()
        );
    }
}
