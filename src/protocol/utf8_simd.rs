//! Vectorised whole-buffer UTF-8 validation for x86_64 with AVX2.
//!
//! It follows the "lookup" method of Keiser and Lemire (Validating UTF-8 In
//! Less Than One Instruction Per Byte, 2021): for every byte, three 16-entry
//! tables indexed by the high and low nibble of the previous byte and the
//! high nibble of the current byte each give a set of error classes; a byte
//! pair is wrong when a class is in all three sets. Third and fourth bytes
//! of long sequences are checked by looking two and three bytes back. ASCII
//! blocks skip the tables.

use std::arch::x86_64::*;

// Error classes, one bit each (bit 6 serves two classes that never meet).
const TOO_SHORT: u8 = 1 << 0;
const TOO_LONG: u8 = 1 << 1;
const OVERLONG_3: u8 = 1 << 2;
const TOO_LARGE: u8 = 1 << 3;
const SURROGATE: u8 = 1 << 4;
const OVERLONG_2: u8 = 1 << 5;
const TOO_LARGE_1000: u8 = 1 << 6;
const OVERLONG_4: u8 = 1 << 6;
const TWO_CONTS: u8 = 1 << 7;
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// Indexed by the previous byte's high nibble.
const PREV_HIGH: [u8; 16] = [
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// Indexed by the previous byte's low nibble.
const PREV_LOW: [u8; 16] = [
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    CARRY | TOO_LARGE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// Indexed by the current byte's high nibble.
const CUR_HIGH: [u8; 16] = [
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

struct Tables {
    prev_high: __m256i,
    prev_low: __m256i,
    cur_high: __m256i,
    nibble: __m256i,
}

#[target_feature(enable = "avx2")]
fn table(t: &[u8; 16]) -> __m256i {
    let mut both = [0u8; 32];
    both[..16].copy_from_slice(t);
    both[16..].copy_from_slice(t);
    // SAFETY: reading 32 bytes from a 32-byte array.
    unsafe { _mm256_loadu_si256(both.as_ptr().cast()) }
}

/// The bytes of `input` shifted `n` places later, with the last `n` bytes
/// of `prev` in front.
macro_rules! prev_n {
    ($input:expr, $prev:expr, $n:literal) => {
        _mm256_alignr_epi8::<{ 16 - $n }>($input, _mm256_permute2x128_si256::<0x21>($prev, $input))
    };
}

#[target_feature(enable = "avx2")]
fn high_nibbles(v: __m256i, mask: __m256i) -> __m256i {
    _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask)
}

/// The error bits for one 32-byte block given the block before it.
#[target_feature(enable = "avx2")]
fn block_errors(t: &Tables, input: __m256i, prev: __m256i) -> __m256i {
    let prev1 = prev_n!(input, prev, 1);
    let a = _mm256_shuffle_epi8(t.prev_high, high_nibbles(prev1, t.nibble));
    let b = _mm256_shuffle_epi8(t.prev_low, _mm256_and_si256(prev1, t.nibble));
    let c = _mm256_shuffle_epi8(t.cur_high, high_nibbles(input, t.nibble));
    let special = _mm256_and_si256(_mm256_and_si256(a, b), c);
    // Bytes that must be the 2nd or 3rd continuation of a 3- or 4-byte
    // sequence; they must be exactly the TWO_CONTS cases.
    let prev2 = prev_n!(input, prev, 2);
    let prev3 = prev_n!(input, prev, 3);
    let third = _mm256_subs_epu8(prev2, _mm256_set1_epi8(0xdf_u8 as i8));
    let fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8(0xef_u8 as i8));
    let must = _mm256_cmpgt_epi8(_mm256_or_si256(third, fourth), _mm256_setzero_si256());
    let must80 = _mm256_and_si256(must, _mm256_set1_epi8(0x80_u8 as i8));
    _mm256_xor_si256(must80, special)
}

/// Whether `bytes` is valid UTF-8.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn is_valid(bytes: &[u8]) -> bool {
    let t = Tables {
        prev_high: table(&PREV_HIGH),
        prev_low: table(&PREV_LOW),
        cur_high: table(&CUR_HIGH),
        nibble: _mm256_set1_epi8(0x0f),
    };
    // A block that ends with a sequence cut off (a lead byte among the last
    // three that needs more bytes than remain).
    let mut max = [0xffu8; 32];
    max[29] = 0xef;
    max[30] = 0xdf;
    max[31] = 0xbf;
    // SAFETY: reading 32 bytes from a 32-byte array.
    let max = unsafe { _mm256_loadu_si256(max.as_ptr().cast()) };

    let mut error = _mm256_setzero_si256();
    let mut prev = _mm256_setzero_si256();
    let mut prev_incomplete = _mm256_setzero_si256();
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        // SAFETY: block is 32 bytes long.
        let input = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
        if _mm256_movemask_epi8(input) == 0 {
            error = _mm256_or_si256(error, prev_incomplete);
            prev_incomplete = _mm256_setzero_si256();
        } else {
            error = _mm256_or_si256(error, block_errors(&t, input, prev));
            prev_incomplete = _mm256_subs_epu8(input, max);
        }
        prev = input;
    }
    // The rest, padded with zero bytes: a sequence cut off by the end of
    // the input meets a zero and fails like any other short sequence.
    let rest = blocks.remainder();
    if rest.is_empty() {
        // Ends on a block boundary: only a cut-off last sequence can be wrong.
        error = _mm256_or_si256(error, prev_incomplete);
        return _mm256_testz_si256(error, error) == 1;
    }
    let mut last = [0u8; 32];
    last[..rest.len()].copy_from_slice(rest);
    // SAFETY: reading 32 bytes from a 32-byte array.
    let input = unsafe { _mm256_loadu_si256(last.as_ptr().cast()) };
    error = _mm256_or_si256(error, block_errors(&t, input, prev));
    _mm256_testz_si256(error, error) == 1
}

/// The same method on 64-byte AVX-512 vectors.
pub mod avx512 {
    use super::{CUR_HIGH, PREV_HIGH, PREV_LOW};
    use std::arch::x86_64::*;

    struct Tables {
        prev_high: __m512i,
        prev_low: __m512i,
        cur_high: __m512i,
        nibble: __m512i,
        carry_idx: __m512i,
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    fn table(t: &[u8; 16]) -> __m512i {
        // SAFETY: reading 16 bytes from a 16-byte array.
        let lane = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
        _mm512_broadcast_i32x4(lane)
    }

    /// `input` shifted `N` bytes later with the end of `prev` in front:
    /// `carried` holds, lane by lane, the 16 bytes before each lane.
    macro_rules! prev_n {
        ($input:expr, $carried:expr, $n:literal) => {
            _mm512_alignr_epi8::<{ 16 - $n }>($input, $carried)
        };
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    fn block_errors(t: &Tables, input: __m512i, prev: __m512i) -> __m512i {
        // [prev lane 3, input lanes 0..3]: the lane before each lane.
        let carried = _mm512_permutex2var_epi64(prev, t.carry_idx, input);
        let prev1 = prev_n!(input, carried, 1);
        let hi = |v: __m512i| _mm512_and_si512(_mm512_srli_epi16::<4>(v), t.nibble);
        let a = _mm512_shuffle_epi8(t.prev_high, hi(prev1));
        let b = _mm512_shuffle_epi8(t.prev_low, _mm512_and_si512(prev1, t.nibble));
        let c = _mm512_shuffle_epi8(t.cur_high, hi(input));
        let special = _mm512_and_si512(_mm512_and_si512(a, b), c);
        let prev2 = prev_n!(input, carried, 2);
        let prev3 = prev_n!(input, carried, 3);
        let third = _mm512_subs_epu8(prev2, _mm512_set1_epi8(0xdf_u8 as i8));
        let fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8(0xef_u8 as i8));
        let must = _mm512_test_epi8_mask(_mm512_or_si512(third, fourth), _mm512_set1_epi8(-1));
        let must80 = _mm512_maskz_mov_epi8(must, _mm512_set1_epi8(0x80_u8 as i8));
        _mm512_xor_si512(must80, special)
    }

    /// Whether `bytes` is valid UTF-8.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn is_valid(bytes: &[u8]) -> bool {
        let t = Tables {
            prev_high: table(&PREV_HIGH),
            prev_low: table(&PREV_LOW),
            cur_high: table(&CUR_HIGH),
            nibble: _mm512_set1_epi8(0x0f),
            carry_idx: _mm512_setr_epi64(6, 7, 8, 9, 10, 11, 12, 13),
        };
        let mut max = [0xffu8; 64];
        max[61] = 0xef;
        max[62] = 0xdf;
        max[63] = 0xbf;
        // SAFETY: reading 64 bytes from a 64-byte array.
        let max = unsafe { _mm512_loadu_si512(max.as_ptr().cast()) };
        let mut error = _mm512_setzero_si512();
        let mut prev = _mm512_setzero_si512();
        let mut prev_incomplete = _mm512_setzero_si512();
        // Runs of ASCII are skipped 256 bytes at a time.
        let mut start = 0;
        while start + 256 <= bytes.len() {
            let p = bytes[start..start + 256].as_ptr();
            // SAFETY: four 64-byte loads inside the 256 bytes at p.
            let (a, b, c, d) = unsafe {
                (
                    _mm512_loadu_si512(p.cast()),
                    _mm512_loadu_si512(p.add(64).cast()),
                    _mm512_loadu_si512(p.add(128).cast()),
                    _mm512_loadu_si512(p.add(192).cast()),
                )
            };
            let any = _mm512_or_si512(_mm512_or_si512(a, b), _mm512_or_si512(c, d));
            if _mm512_movepi8_mask(any) != 0 {
                for input in [a, b, c, d] {
                    error = _mm512_or_si512(error, block_errors(&t, input, prev));
                    prev = input;
                }
                prev_incomplete = _mm512_subs_epu8(d, max);
            } else {
                error = _mm512_or_si512(error, prev_incomplete);
                prev_incomplete = _mm512_setzero_si512();
                prev = d;
            }
            start += 256;
        }
        let mut blocks = bytes[start..].chunks_exact(64);
        for block in &mut blocks {
            // SAFETY: block is 64 bytes long.
            let input = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
            if _mm512_movepi8_mask(input) == 0 {
                error = _mm512_or_si512(error, prev_incomplete);
                prev_incomplete = _mm512_setzero_si512();
            } else {
                error = _mm512_or_si512(error, block_errors(&t, input, prev));
                prev_incomplete = _mm512_subs_epu8(input, max);
            }
            prev = input;
        }
        let rest = blocks.remainder();
        if rest.is_empty() {
            // Ends on a block boundary: only a cut-off last sequence can be wrong.
            error = _mm512_or_si512(error, prev_incomplete);
            return _mm512_test_epi8_mask(error, error) == 0;
        }
        let mut last = [0u8; 64];
        last[..rest.len()].copy_from_slice(rest);
        // SAFETY: reading 64 bytes from a 64-byte array.
        let input = unsafe { _mm512_loadu_si512(last.as_ptr().cast()) };
        error = _mm512_or_si512(error, block_errors(&t, input, prev));
        _mm512_test_epi8_mask(error, error) == 0
    }
}
