//! UTF-8 validation: whole buffers, and incremental for text split across
//! fragments. Rejects overlong forms, surrogates and code points above
//! U+10FFFF, and reports an impossible sequence at its first bad byte.

/// The outcome of scanning a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Every byte is part of a complete, valid sequence.
    Valid,
    /// Some sequence can never become valid.
    Invalid,
    /// Valid so far, but the sequence starting at `start` is cut off by the
    /// end of the buffer.
    Incomplete { start: usize },
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Length of the sequence a leading byte starts, or 0 if it cannot lead.
#[inline]
fn width(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

/// The allowed range of the byte after `lead` (this is where overlongs,
/// surrogates and values above U+10FFFF are excluded).
#[inline]
fn second_range(lead: u8) -> (u8, u8) {
    match lead {
        0xe0 => (0xa0, 0xbf),
        0xed => (0x80, 0x9f),
        0xf0 => (0x90, 0xbf),
        0xf4 => (0x80, 0x8f),
        _ => (0x80, 0xbf),
    }
}

#[inline]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(word)
}

/// Scans `bytes` and says whether it is valid, invalid, or cut off.
pub fn scan(bytes: &[u8]) -> Scan {
    let len = bytes.len();
    let mut i = 0;
    while i < len {
        // ASCII fast path: 32 bytes per step while the high bits are clear.
        while i + 32 <= len {
            let any = read_u64(bytes, i)
                | read_u64(bytes, i + 8)
                | read_u64(bytes, i + 16)
                | read_u64(bytes, i + 24);
            if any & HIGH_BITS != 0 {
                break;
            }
            i += 32;
        }
        if i >= len {
            break;
        }
        let lead = bytes[i];
        if lead < 0x80 {
            i += 1;
            continue;
        }
        let w = width(lead);
        if w == 0 {
            return Scan::Invalid;
        }
        let (lo, hi) = second_range(lead);
        match bytes.get(i + 1) {
            None => return Scan::Incomplete { start: i },
            Some(&b) if b < lo || b > hi => return Scan::Invalid,
            Some(_) => {}
        }
        for k in 2..w {
            match bytes.get(i + k) {
                None => return Scan::Incomplete { start: i },
                Some(&b) if b & 0xc0 != 0x80 => return Scan::Invalid,
                Some(_) => {}
            }
        }
        i += w;
    }
    Scan::Valid
}

/// Below this many bytes AVX2 is as fast as AVX-512 here.
#[cfg(target_arch = "x86_64")]
const AVX512_MIN: usize = 256;

/// Whether `bytes` is complete, valid UTF-8. Uses AVX-512 or AVX2 where
/// the CPU has them (checked at run time, cached by std) and the scalar
/// scan otherwise.
pub fn is_valid(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= 32 {
        use crate::protocol::utf8_simd;
        if bytes.len() >= AVX512_MIN
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: AVX-512 F and BW are present.
            return unsafe { utf8_simd::avx512::is_valid(bytes) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present.
            return unsafe { utf8_simd::is_valid(bytes) };
        }
    }
    scan(bytes) == Scan::Valid
}

/// The scalar scan alone, for tests that compare the paths.
#[cfg(test)]
fn is_valid_scalar(bytes: &[u8]) -> bool {
    scan(bytes) == Scan::Valid
}

/// Incremental validator for a message that arrives in pieces. A code point
/// split between two pieces is valid.
#[derive(Clone, Debug, Default)]
pub struct Utf8Stream {
    pending: [u8; 4],
    len: usize,
}

impl Utf8Stream {
    /// A validator with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next piece; returns false as soon as the text so far can no
    /// longer be valid.
    pub fn feed(&mut self, mut bytes: &[u8]) -> bool {
        if self.len > 0 {
            let need = width(self.pending[0]) - self.len;
            let take = need.min(bytes.len());
            self.pending[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            match scan(&self.pending[..self.len + take]) {
                Scan::Invalid => return false,
                Scan::Incomplete { .. } => {
                    self.len += take;
                    return true;
                }
                Scan::Valid => {
                    self.len = 0;
                    bytes = &bytes[take..];
                }
            }
        }
        // Validate all but the last (possibly cut-off) sequence in bulk.
        let cut = bytes.len().saturating_sub(4)
            + bytes[bytes.len().saturating_sub(4)..]
                .iter()
                .rposition(|&b| b & 0xc0 != 0x80)
                .unwrap_or(bytes.len().min(4));
        if cut > 0 && !is_valid(&bytes[..cut]) {
            return false;
        }
        match scan(&bytes[cut..]) {
            Scan::Valid => true,
            Scan::Invalid => false,
            Scan::Incomplete { start } => {
                let tail = &bytes[cut + start..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.len = tail.len();
                true
            }
        }
    }

    /// Ends the message: true if no sequence was left cut off. Resets the
    /// validator for the next message.
    pub fn finish(&mut self) -> bool {
        let complete = self.len == 0;
        self.len = 0;
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift generator so the tests need no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn std_valid(b: &[u8]) -> bool {
        std::str::from_utf8(b).is_ok()
    }

    /// Random text mixing ASCII and multi-byte characters, with an optional
    /// corruption.
    fn sample(rng: &mut Rng, corrupt: bool) -> Vec<u8> {
        let mut s = String::new();
        let n = rng.below(80);
        for _ in 0..n {
            let c = match rng.below(5) {
                0 => char::from_u32(0x80 + rng.below(0x780) as u32),
                1 => char::from_u32(0x800 + rng.below(0xf7ff) as u32),
                2 => char::from_u32(0x10000 + rng.below(0xfffff) as u32),
                _ => char::from_u32(rng.below(0x80) as u32),
            };
            if let Some(c) = c {
                s.push(c);
            }
            if rng.below(10) == 0 {
                s.push_str("plain ascii run of more than thirty-two bytes .....");
            }
        }
        let mut b = s.into_bytes();
        if corrupt && !b.is_empty() {
            let i = rng.below(b.len());
            b[i] = rng.next() as u8;
        }
        b
    }

    #[test]
    fn scalar_and_vector_paths_agree_with_std_at_every_position() {
        // Each crafted sequence at every offset of a 100-byte ASCII run, so
        // it lands across vector block boundaries and in the padded tail.
        let seqs: &[&[u8]] = &[
            &[0xc2, 0x80],
            &[0xc0, 0x80],
            &[0xe0, 0xa0, 0x80],
            &[0xe0, 0x9f, 0xbf],
            &[0xed, 0x9f, 0xbf],
            &[0xed, 0xa0, 0x80],
            &[0xf0, 0x90, 0x80, 0x80],
            &[0xf0, 0x8f, 0xbf, 0xbf],
            &[0xf4, 0x8f, 0xbf, 0xbf],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xf5, 0x80, 0x80, 0x80],
            &[0x80],
            &[0xbf, 0x80],
            &[0xc2],
            &[0xe2, 0x82],
            &[0xf0, 0x9f, 0x98],
            &[0xe2, 0x82, 0xac, 0x80],
            &[0xff],
        ];
        for seq in seqs {
            for len in [31usize, 32, 33, 63, 64, 65, 100, 127, 128, 129, 200] {
                for at in 0..=len.saturating_sub(seq.len()) {
                    let mut b = vec![b'a'; len];
                    b[at..at + seq.len()].copy_from_slice(seq);
                    assert_eq!(is_valid(&b), std_valid(&b), "{seq:x?} at {at} of {len}");
                    assert_eq!(is_valid_scalar(&b), std_valid(&b));
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: AVX2 is present.
                        let v = unsafe { crate::protocol::utf8_simd::is_valid(&b) };
                        assert_eq!(v, std_valid(&b), "avx2: {seq:x?} at {at} of {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn long_random_text_agrees_with_std() {
        let mut rng = Rng(0xfeed_beef);
        for i in 0..3_000 {
            let mut b = Vec::new();
            while b.len() < 300 {
                b.extend(sample(&mut rng, false));
            }
            if i % 2 == 0 {
                let at = rng.below(b.len());
                b[at] = rng.next() as u8;
            }
            assert_eq!(is_valid(&b), std_valid(&b), "{b:x?}");
            // Every 2-byte pair of random bytes inside valid text.
            let at = rng.below(b.len() - 2);
            let mut c = b.clone();
            c[at] = rng.next() as u8;
            c[at + 1] = rng.next() as u8;
            assert_eq!(is_valid(&c), std_valid(&c), "{c:x?}");
        }
    }

    #[test]
    fn crafted_cases() {
        let cases: &[&[u8]] = &[
            b"",
            b"hello",
            "κόσμε".as_bytes(),
            &[0xc0, 0x80],             // overlong NUL
            &[0xc1, 0xbf],             // overlong
            &[0xe0, 0x80, 0xaf],       // overlong '/'
            &[0xe0, 0x9f, 0xbf],       // overlong
            &[0xed, 0xa0, 0x80],       // surrogate U+D800
            &[0xed, 0xbf, 0xbf],       // surrogate U+DFFF
            &[0xed, 0x9f, 0xbf],       // U+D7FF, valid
            &[0xee, 0x80, 0x80],       // U+E000, valid
            &[0xf0, 0x8f, 0xbf, 0xbf], // overlong 4-byte
            &[0xf0, 0x90, 0x80, 0x80], // U+10000
            &[0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
            &[0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
            &[0xf5, 0x80, 0x80, 0x80],
            &[0xff],
            &[0x80],
            &[0xc2],
            &[0xe2, 0x82],
            &[0xf0, 0x9f, 0x98],
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            ],
        ];
        for c in cases {
            assert_eq!(is_valid(c), std_valid(c), "{c:x?}");
        }
    }

    #[test]
    fn every_two_and_three_byte_prefix_agrees_with_std() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let two = [a, b];
                assert_eq!(is_valid(&two), std_valid(&two), "{two:x?}");
                for c in [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                    let three = [a, b, c];
                    assert_eq!(is_valid(&three), std_valid(&three), "{three:x?}");
                }
            }
        }
    }

    #[test]
    fn random_inputs_agree_with_std() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..20_000 {
            let b = sample(&mut rng, i % 2 == 0);
            assert_eq!(is_valid(&b), std_valid(&b), "{b:x?}");
            let raw: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
            assert_eq!(is_valid(&raw), std_valid(&raw), "{raw:x?}");
        }
    }

    #[test]
    fn incremental_agrees_with_whole_for_every_split() {
        let mut rng = Rng(12345);
        for i in 0..3_000 {
            let b = sample(&mut rng, i % 3 == 0);
            let whole = std_valid(&b);
            // Two-way split at every point.
            for cut in 0..=b.len() {
                let mut s = Utf8Stream::new();
                let ok = s.feed(&b[..cut]) && s.feed(&b[cut..]) && s.finish();
                assert_eq!(ok, whole, "{b:x?} cut at {cut}");
            }
            // Byte at a time.
            let mut s = Utf8Stream::new();
            let ok = b.iter().all(|x| s.feed(std::slice::from_ref(x))) && s.finish();
            assert_eq!(ok, whole, "{b:x?} bytewise");
        }
    }

    #[test]
    fn incremental_fails_at_the_first_impossible_byte() {
        let mut s = Utf8Stream::new();
        assert!(s.feed(&[0xce, 0xba, 0xed]));
        assert!(!s.feed(&[0xa0]), "surrogate detected on its second byte");
        let mut s = Utf8Stream::new();
        assert!(s.feed(b"ok"));
        assert!(!s.feed(&[0xf4, 0x90]), "above U+10FFFF detected early");
        let mut s = Utf8Stream::new();
        assert!(s.feed(&[0xf0, 0x9f]));
        assert!(!s.finish(), "cut-off sequence at the end is invalid");
        assert!(s.feed(b"fresh") && s.finish(), "finish resets");
    }
}
