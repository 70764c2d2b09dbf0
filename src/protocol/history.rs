//! The last bytes a permessage-deflate direction with context takeover has
//! carried: what the peer's inflater (or our own compressor) may still
//! refer back to. A direction keeps this instead of a zlib stream of its
//! own, and primes a shared stream with it when it needs one again
//! (`super::streams`). It grows with the traffic, up to the window size.

use std::collections::VecDeque;

/// Up to `cap` bytes, the most recent last.
#[derive(Debug)]
pub struct History {
    bytes: VecDeque<u8>,
    cap: usize,
}

impl History {
    /// A history for a window of `1 << window_bits` bytes.
    pub fn new(window_bits: u8) -> Self {
        Self::with_cap(1usize << window_bits)
    }

    /// A history of at most `cap` bytes.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            bytes: VecDeque::new(),
            cap,
        }
    }

    /// Appends `data`, forgetting what falls out of the window.
    pub fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(self.cap)..];
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.cap);
        self.bytes.drain(..overflow);
        self.bytes.extend(data);
    }

    /// The bytes, oldest first, in one slice.
    pub fn as_slice(&mut self) -> &[u8] {
        self.bytes.make_contiguous()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn clear(&mut self) {
        self.bytes = VecDeque::new();
    }

    /// Bytes of memory held.
    pub fn footprint(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::History;

    #[test]
    fn keeps_the_last_window_of_bytes() {
        let mut h = History::new(9);
        assert!(h.is_empty());
        h.push(b"hello ");
        h.push(b"world");
        assert_eq!(h.as_slice(), b"hello world");
        let big: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        h.push(&big);
        assert_eq!(h.as_slice(), &big[2000 - 512..]);
        h.push(b"!");
        assert_eq!(h.as_slice().len(), 512);
        assert_eq!(h.as_slice()[511], b'!');
        assert_eq!(h.as_slice()[..511], big[2000 - 511..]);
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.footprint(), 0);
    }

    #[test]
    fn grows_with_the_traffic_only() {
        let mut h = History::new(15);
        h.push(&[7u8; 100]);
        assert!(h.footprint() < 1024, "{}", h.footprint());
    }
}
