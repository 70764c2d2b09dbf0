//! WebSocket masking (RFC 6455 section 5.3).
//!
//! One kernel serves both masking into another buffer and unmasking in
//! place: 32-byte AVX2 lanes where the CPU has them (checked once at run
//! time), 8-byte words otherwise, and single bytes for the tail.

use std::ptr;

/// The mask as a native-endian word whose bytes, in memory order, line up
/// with payload byte `offset`.
#[inline]
fn mask_word(mask: [u8; 4], offset: usize) -> u32 {
    let r = offset & 3;
    u32::from_ne_bytes([
        mask[r],
        mask[(r + 1) & 3],
        mask[(r + 2) & 3],
        mask[(r + 3) & 3],
    ])
}

/// The mask word as seen `by` bytes further into the payload.
#[inline]
fn turn(m: u32, by: usize) -> u32 {
    let b = m.to_ne_bytes();
    mask_word(b, by)
}

/// XORs `len` bytes from `src` into `dst` (which may be the same memory)
/// with the repeated mask word `m`, 8 bytes at a time.
///
/// # Safety
/// `src` must be readable and `dst` writable for `len` bytes; they either
/// do not overlap or are equal.
#[inline]
unsafe fn xor_words(src: *const u8, dst: *mut u8, len: usize, m: u32) {
    let wide = u64::from(m) | (u64::from(m) << 32);
    let mut i = 0;
    while i + 8 <= len {
        // SAFETY: i + 8 <= len, unaligned access is allowed.
        unsafe {
            let v = ptr::read_unaligned(src.add(i).cast::<u64>());
            ptr::write_unaligned(dst.add(i).cast::<u64>(), v ^ wide);
        }
        i += 8;
    }
    let bytes = m.to_ne_bytes();
    while i < len {
        // SAFETY: i < len.
        unsafe { *dst.add(i) = *src.add(i) ^ bytes[i & 3] };
        i += 1;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// The AVX2 kernel: 128 bytes per step, then 32, then the word kernel.
    ///
    /// # Safety
    /// As for `xor_words`, and the CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, m: u32) {
        // Bytes up to a 32-byte boundary of dst, so that no store splits a
        // cache line; the mask turns by as many bytes.
        let head = (32 - (dst as usize & 31)) & 31;
        // SAFETY: head < 32 <= 64 <= len (the dispatcher's minimum).
        unsafe { super::xor_words(src, dst, head, m) };
        let turned = super::turn(m, head);
        // SAFETY: as above; what is left starts at a 32-byte boundary.
        unsafe { aligned(src.add(head), dst.add(head), len - head, turned) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn aligned(src: *const u8, dst: *mut u8, len: usize, m: u32) {
        let k = _mm256_set1_epi32(m as i32);
        let mut i = 0;
        // SAFETY: every load and store stays below len; dst is aligned.
        unsafe {
            while i + 128 <= len {
                let a = _mm256_loadu_si256(src.add(i).cast());
                let b = _mm256_loadu_si256(src.add(i + 32).cast());
                let c = _mm256_loadu_si256(src.add(i + 64).cast());
                let d = _mm256_loadu_si256(src.add(i + 96).cast());
                _mm256_store_si256(dst.add(i).cast(), _mm256_xor_si256(a, k));
                _mm256_store_si256(dst.add(i + 32).cast(), _mm256_xor_si256(b, k));
                _mm256_store_si256(dst.add(i + 64).cast(), _mm256_xor_si256(c, k));
                _mm256_store_si256(dst.add(i + 96).cast(), _mm256_xor_si256(d, k));
                i += 128;
            }
            while i + 32 <= len {
                let a = _mm256_loadu_si256(src.add(i).cast());
                _mm256_store_si256(dst.add(i).cast(), _mm256_xor_si256(a, k));
                i += 32;
            }
            // i is a multiple of 4, so the mask phase is unchanged.
            super::xor_words(src.add(i), dst.add(i), len - i, m);
        }
    }
}

/// Picks the widest kernel the CPU has.
#[inline]
unsafe fn xor(src: *const u8, dst: *mut u8, len: usize, m: u32) {
    #[cfg(target_arch = "x86_64")]
    if len >= 64 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present; the caller upholds the rest.
        return unsafe { avx2::xor(src, dst, len, m) };
    }
    // SAFETY: the caller upholds the contract.
    unsafe { xor_words(src, dst, len, m) }
}

/// XORs `buf` in place with `mask`, treating `buf[0]` as payload byte
/// `offset` (so a payload may be unmasked in pieces).
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let p = buf.as_mut_ptr();
    // SAFETY: source and destination are the same live slice.
    unsafe { xor(p, p, buf.len(), mask_word(mask, offset)) }
}

/// Writes `src[i] ^ mask[i % 4]` into `dst[i]` for every `i` in `src`.
/// Only the first `src.len()` bytes of `dst` are written.
///
/// # Panics
/// If `dst` is shorter than `src`.
pub fn mask_into(src: &[u8], mask: [u8; 4], dst: &mut [u8]) {
    let dst = &mut dst[..src.len()];
    // SAFETY: both slices are live for src.len() bytes and, being a shared
    // and an exclusive borrow, cannot overlap.
    unsafe {
        xor(
            src.as_ptr(),
            dst.as_mut_ptr(),
            src.len(),
            mask_word(mask, 0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(src: &[u8], mask: [u8; 4], offset: usize) -> Vec<u8> {
        src.iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[(i + offset) % 4])
            .collect()
    }

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn apply_mask_matches_reference_for_every_length_and_offset() {
        let mask = [0x6d, 0xb6, 0xb2, 0x80];
        for len in 0..=300 {
            for offset in 0..8 {
                let src = data(len, offset as u8);
                let mut got = src.clone();
                apply_mask(&mut got, mask, offset);
                assert_eq!(
                    got,
                    reference(&src, mask, offset),
                    "len {len} offset {offset}"
                );
            }
        }
    }

    #[test]
    fn apply_mask_on_unaligned_slices() {
        let mask = [1, 2, 3, 4];
        let backing = data(400, 9);
        for start in 0..16 {
            for len in [0, 1, 15, 16, 17, 63, 64, 65, 200, 300] {
                let mut copy = backing.clone();
                apply_mask(&mut copy[start..start + len], mask, 0);
                assert_eq!(
                    &copy[start..start + len],
                    &reference(&backing[start..start + len], mask, 0)[..]
                );
                assert_eq!(&copy[..start], &backing[..start]);
            }
        }
    }

    #[test]
    fn mask_into_matches_reference() {
        let mask = [0xff, 0x00, 0x55, 0xaa];
        for len in 0..=300 {
            for start in 0..4 {
                let src = data(len + start, 3);
                let mut dst = vec![0u8; len + 8];
                mask_into(&src[start..], mask, &mut dst[5..]);
                assert_eq!(&dst[5..5 + len], &reference(&src[start..], mask, 0)[..]);
                assert!(dst[..5].iter().all(|&b| b == 0));
                assert!(dst[5 + len..].iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn masking_twice_is_identity_and_pieces_compose() {
        let mask = [9, 8, 7, 6];
        let src = data(1000, 1);
        let mut whole = src.clone();
        apply_mask(&mut whole, mask, 0);
        let mut pieces = src.clone();
        let (a, rest) = pieces.split_at_mut(333);
        apply_mask(a, mask, 0);
        let (b, c) = rest.split_at_mut(17);
        apply_mask(b, mask, 333);
        apply_mask(c, mask, 350);
        assert_eq!(whole, pieces);
        apply_mask(&mut whole, mask, 0);
        assert_eq!(whole, src);
    }
}
