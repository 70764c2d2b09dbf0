//! WebSocket masking (RFC 6455 section 5.3), a 16-byte lane at a time.
//!
//! The loops below work on fixed-size blocks so the compiler turns them into
//! vector XORs; the tail is handled byte by byte.

const LANE: usize = 16;
const BLOCK: usize = 4 * LANE;

/// The mask repeated over one block, rotated so that index 0 lines up with
/// payload byte `offset`.
#[inline]
fn rotated(mask: [u8; 4], offset: usize) -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    for (i, b) in out.iter_mut().enumerate() {
        *b = mask[(i + offset) & 3];
    }
    out
}

/// XORs `buf` in place with `mask`, treating `buf[0]` as payload byte
/// `offset` (so a payload may be unmasked in pieces).
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    if buf.len() < LANE {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= mask[(i + offset) & 3];
        }
        return;
    }
    let m = rotated(mask, offset);
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        for (b, k) in block.iter_mut().zip(m.iter()) {
            *b ^= k;
        }
    }
    // BLOCK is a multiple of 4, so the rotation still holds for the tail.
    for (b, k) in blocks.into_remainder().iter_mut().zip(m.iter()) {
        *b ^= k;
    }
}

/// Writes `src[i] ^ mask[i % 4]` into `dst[i]` for every `i` in `src`.
/// `dst` must be at least as long as `src`.
pub fn mask_into(src: &[u8], mask: [u8; 4], dst: &mut [u8]) {
    let dst = &mut dst[..src.len()];
    let m = rotated(mask, 0);
    let mut d = dst.chunks_exact_mut(BLOCK);
    let mut s = src.chunks_exact(BLOCK);
    for (db, sb) in (&mut d).zip(&mut s) {
        for ((o, i), k) in db.iter_mut().zip(sb.iter()).zip(m.iter()) {
            *o = i ^ k;
        }
    }
    for ((o, i), k) in d
        .into_remainder()
        .iter_mut()
        .zip(s.remainder().iter())
        .zip(m.iter())
    {
        *o = i ^ k;
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
