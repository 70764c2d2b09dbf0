//! A connection's send queue: frames coalesced into chunks, written with
//! one vectored write per turn, with the progress counters that back
//! `bufferedAmount` and send callbacks.

use std::collections::VecDeque;
use std::io::IoSlice;

use crate::engine::pinned::Pinned;

/// Small frames are appended to the last chunk while it is under this size.
const COALESCE: usize = 64 * 1024;
/// Payloads this large get a chunk of their own (no copy).
const OWN_CHUNK: usize = 16 * 1024;
/// Most buffers handed to one vectored write.
pub const MAX_IOV: usize = 64;

struct Chunk {
    // A frame header kept apart from a large payload, so the payload is
    // not copied; chunks always hold whole frames.
    prefix: [u8; 14],
    prefix_len: u8,
    data: Data,
    // Payload bytes (as submitted) and frames completed with this chunk.
    units: u64,
    frames: u32,
}

/// A chunk's bytes: ours, or JavaScript's (a large payload, not copied).
enum Data {
    Owned(Vec<u8>),
    Pinned(Pinned),
}

impl Data {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Owned(v) => v,
            Data::Pinned(p) => p.bytes(),
        }
    }
}

impl Chunk {
    fn len(&self) -> usize {
        usize::from(self.prefix_len) + self.data.bytes().len()
    }
}

/// The queue.
#[derive(Default)]
pub struct OutQueue {
    chunks: VecDeque<Chunk>,
    // Bytes of the front chunk already written.
    off: usize,
    bytes: usize,
    units_done: u64,
    frames_done: u32,
}

impl OutQueue {
    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Payload bytes (mod 2^32) and frames (mod 2^32) fully written so far.
    pub fn progress(&self) -> (u32, u32) {
        // Mod 2^32 by design: JavaScript compares them with wrapping sums.
        ((self.units_done & 0xffff_ffff) as u32, self.frames_done)
    }

    /// Appends bytes that are not a counted frame (an HTTP response).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.append(&[], bytes, 0, 0);
    }

    /// Appends a frame: its header, and a payload given as a slice.
    pub fn push_frame(&mut self, header: &[u8], payload: &[u8], units: u64) {
        if payload.len() >= OWN_CHUNK {
            self.push_frame_owned(header, payload.to_vec(), units);
            return;
        }
        self.append(header, payload, units, 1);
    }

    /// Appends a frame whose payload is already an owned buffer.
    pub fn push_frame_owned(&mut self, header: &[u8], payload: Vec<u8>, units: u64) {
        if payload.len() < OWN_CHUNK || header.len() > 14 {
            self.append(header, &payload, units, 1);
            return;
        }
        self.push_chunk(header, Data::Owned(payload), units);
    }

    /// Appends a frame whose payload stays in JavaScript's memory.
    pub fn push_frame_pinned(&mut self, header: &[u8], payload: Pinned, units: u64) {
        if payload.bytes().len() < OWN_CHUNK || header.len() > 14 {
            self.append(header, payload.bytes(), units, 1);
            return;
        }
        self.push_chunk(header, Data::Pinned(payload), units);
    }

    fn push_chunk(&mut self, header: &[u8], data: Data, units: u64) {
        let mut prefix = [0u8; 14];
        prefix[..header.len()].copy_from_slice(header);
        let chunk = Chunk {
            prefix,
            prefix_len: header.len() as u8,
            data,
            units,
            frames: 1,
        };
        self.bytes += chunk.len();
        self.chunks.push_back(chunk);
    }

    fn append(&mut self, header: &[u8], payload: &[u8], units: u64, frames: u32) {
        let n = header.len() + payload.len();
        self.bytes += n;
        match self.chunks.back_mut() {
            Some(Chunk {
                prefix_len: 0,
                data: Data::Owned(data),
                units: u,
                frames: f,
                ..
            }) if data.len() + n <= COALESCE => {
                data.extend_from_slice(header);
                data.extend_from_slice(payload);
                *u += units;
                *f += frames;
            }
            _ => {
                let mut data = Vec::with_capacity(n.max(256));
                data.extend_from_slice(header);
                data.extend_from_slice(payload);
                self.chunks.push_back(Chunk {
                    prefix: [0; 14],
                    prefix_len: 0,
                    data: Data::Owned(data),
                    units,
                    frames,
                });
            }
        }
    }

    /// Fills `iov` with the unwritten bytes; returns how many were filled.
    pub fn slices<'a>(&'a self, iov: &mut [IoSlice<'a>; MAX_IOV]) -> usize {
        let mut n = 0;
        for (i, c) in self.chunks.iter().enumerate() {
            if n + 2 > MAX_IOV {
                break;
            }
            let skip = if i == 0 { self.off } else { 0 };
            let plen = usize::from(c.prefix_len);
            let data = c.data.bytes();
            if skip < plen {
                iov[n] = IoSlice::new(&c.prefix[skip..plen]);
                n += 1;
                iov[n] = IoSlice::new(data);
            } else {
                iov[n] = IoSlice::new(&data[skip - plen..]);
            }
            n += 1;
        }
        n
    }

    /// Records that `n` bytes were written. Returns whether a counted frame
    /// completed.
    pub fn advance(&mut self, mut n: usize) -> bool {
        let mut progressed = false;
        self.bytes -= n.min(self.bytes);
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let left = front.len() - self.off;
            if n < left {
                self.off += n;
                break;
            }
            n -= left;
            self.off = 0;
            if let Some(done) = self.chunks.pop_front() {
                self.units_done += done.units;
                self.frames_done = self.frames_done.wrapping_add(done.frames);
                progressed |= done.frames > 0;
            }
        }
        progressed
    }

    /// Drops every chunk not yet started (the front one is kept if partly
    /// written, so the stream stays well formed). Returns the bytes dropped.
    pub fn discard_unstarted(&mut self) -> usize {
        let keep = usize::from(self.off > 0);
        let mut dropped = 0;
        while self.chunks.len() > keep {
            if let Some(c) = self.chunks.pop_back() {
                dropped += c.len();
            }
        }
        self.bytes -= dropped;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(q: &OutQueue) -> Vec<u8> {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let n = q.slices(&mut iov);
        iov[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn coalesces_and_counts() {
        let mut q = OutQueue::default();
        q.push_raw(b"HTTP");
        q.push_frame(&[0x81, 2], b"hi", 2);
        q.push_frame(&[0x82, 0], b"", 0);
        assert_eq!(gather(&q), b"HTTP\x81\x02hi\x82\x00");
        assert_eq!(q.len(), 10);
        assert!(!q.advance(5));
        assert_eq!(q.progress(), (0, 0));
        assert!(q.advance(5));
        assert_eq!(q.progress(), (2, 2));
        assert!(q.is_empty());
    }

    #[test]
    fn big_payloads_get_their_own_chunk() {
        let mut q = OutQueue::default();
        let big = vec![7u8; 100_000];
        q.push_frame_owned(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0], big, 100_000);
        q.push_frame(&[0x81, 1], b"x", 1);
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        assert_eq!(q.slices(&mut iov), 3);
        assert!(!q.advance(60_000));
        assert!(q.advance(40_010));
        assert_eq!(q.progress(), (100_000, 1));
        assert!(q.advance(3));
        assert_eq!(q.progress(), (100_001, 2));
    }

    #[test]
    fn discard_keeps_a_started_chunk() {
        let mut q = OutQueue::default();
        q.push_frame_owned(&[0x82, 126, 0x50, 0], vec![1u8; 20480], 20480);
        q.push_frame_owned(&[0x82, 126, 0x50, 0], vec![2u8; 20480], 20480);
        q.advance(100);
        let before = q.len();
        let dropped = q.discard_unstarted();
        assert_eq!(before - dropped, q.len());
        // The second frame goes whole, header included.
        assert_eq!(q.len(), 20484 - 100);
        q.push_frame(&[0x88, 2], &1008u16.to_be_bytes(), 2);
        assert_eq!(gather(&q).len(), 20484 - 100 + 4);
    }
}
