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
    let mut last = [0u8; 32];
    last[..rest.len()].copy_from_slice(rest);
    // SAFETY: reading 32 bytes from a 32-byte array.
    let input = unsafe { _mm256_loadu_si256(last.as_ptr().cast()) };
    error = _mm256_or_si256(error, block_errors(&t, input, prev));
    _mm256_testz_si256(error, error) == 1
}
