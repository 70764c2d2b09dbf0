//! What both engines' event records have in common: four `u32` words per
//! record, whose offsets and lengths index buffers handed to JavaScript.

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
mod tests {
    use super::word;

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
