//! Events waiting for JavaScript: records plus the bytes they point at,
//! taken all at once by one `poll` per wake-up.

use crate::engine::wire::{OWNED, SLICE};
use crate::record::word;

/// Payloads at least this large travel as buffers of their own.
const OWN_BUFFER: usize = 64 * 1024;

/// A batch of events.
#[derive(Default)]
pub struct Batch {
    /// Four words per event (see `wire`).
    pub recs: Vec<u32>,
    /// Bytes the records point into.
    pub data: Vec<u8>,
    /// Large payloads, by index.
    pub owned: Vec<Vec<u8>>,
    owned_bytes: usize,
}

impl Batch {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.recs.len() / 4
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Bytes held, for the engine's read throttle.
    pub fn weight(&self) -> usize {
        self.data.len() + self.owned_bytes + self.recs.len() * 4
    }

    /// An event without payload.
    pub fn push(&mut self, word0: u32, id: u32, a: u32, b: u32) {
        self.recs.extend_from_slice(&[word0, id, a, b]);
    }

    /// An event whose payload is copied into the batch.
    pub fn push_bytes(&mut self, word0: u32, id: u32, bytes: &[u8]) {
        let start = word(self.data.len());
        self.data.extend_from_slice(bytes);
        self.push(word0, id, start, word(self.data.len()));
    }

    /// Reserves a slot of the owned list for a whole read buffer (see
    /// [`Batch::fill_chunk`]); `None` if the slots are used up.
    pub fn reserve_chunk(&mut self) -> Option<u32> {
        let index = self.owned.len();
        if index > 0xffff {
            return None;
        }
        self.owned.push(Vec::new());
        Some(word(index))
    }

    /// Puts the read buffer into its reserved slot.
    pub fn fill_chunk(&mut self, slot: u32, chunk: Vec<u8>) {
        if let Some(place) = self.owned.get_mut(slot as usize) {
            self.owned_bytes += chunk.len();
            *place = chunk;
        }
    }

    /// An event whose payload is `range` of the owned buffer in `slot`.
    pub fn push_slice(&mut self, kind: u32, id: u32, slot: u32, range: std::ops::Range<usize>) {
        self.push(
            kind | SLICE | slot << 16,
            id,
            word(range.start),
            word(range.end),
        );
    }

    /// An event whose payload is an owned buffer: large ones are moved,
    /// small ones copied.
    pub fn push_vec(&mut self, word0: u32, id: u32, bytes: Vec<u8>) {
        if bytes.len() < OWN_BUFFER {
            self.push_bytes(word0, id, &bytes);
            return;
        }
        let index = word(self.owned.len());
        let len = word(bytes.len());
        self.owned_bytes += bytes.len();
        self.owned.push(bytes);
        self.push(word0 | OWNED, id, index, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::wire::EV_BINARY;

    #[test]
    fn records_point_at_their_bytes() {
        let mut b = Batch::default();
        b.push_bytes(2, 7, b"hello");
        b.push_vec(3, 7, vec![1, 2, 3]);
        b.push_vec(3, 8, vec![9; OWN_BUFFER]);
        b.push(9, 8, 0, 0);
        assert_eq!(b.len(), 4);
        assert_eq!(&b.recs[..4], &[2, 7, 0, 5]);
        assert_eq!(&b.recs[4..8], &[3, 7, 5, 8]);
        assert_eq!(&b.recs[8..12], &[3 | OWNED, 8, 0, OWN_BUFFER as u32]);
        assert_eq!(&b.data[5..8], &[1, 2, 3]);
        assert_eq!(b.owned[0].len(), OWN_BUFFER);
        let slot = b.reserve_chunk().expect("a slot");
        b.push_slice(EV_BINARY, 9, slot, 3..7);
        b.fill_chunk(slot, vec![0; 10]);
        assert_eq!(&b.recs[16..20], &[EV_BINARY | SLICE | 1 << 16, 9, 3, 7]);
        assert_eq!(b.owned[1].len(), 10);
    }
}
