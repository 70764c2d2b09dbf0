//! The zlib streams of permessage-deflate, shared by the connections of a
//! thread.
//!
//! A connection does not own a zlib stream. Between messages, a direction
//! without context takeover needs none at all, and one with context
//! takeover needs only the bytes its peer may refer back to (its
//! `History`). Each thread keeps a small cache of streams: a direction
//! checks one out for a message and gives it back afterwards, either free
//! (reset, for anyone with the same settings) or still its own, so that its
//! next message goes on from where it stopped. When the cache is full, the
//! stream used least recently is taken from its owner, which then primes a
//! stream from its history the next time (`warm` is false).
//!
//! An owner's stream is only warm if nothing else wrote to its direction
//! since: each give-back carries the owner's `stamp`, which the owner bumps
//! on every message, so a stream left behind on another thread is never
//! mistaken for a current one.

use std::sync::atomic::{AtomicU64, Ordering};

/// Streams a thread keeps, free or owned. At about 300 KiB per compressor
/// (15 window bits), this bounds a thread's deflate memory near 75 MiB,
/// whatever the number of connections, while a few hundred connections
/// that all talk at once still keep their own.
pub const CAPACITY: usize = 256;

/// What a stream was made with; only a stream made alike is reused.
pub trait Stream: Sized {
    type Key: Copy + Eq;

    fn make(key: Self::Key) -> Self;

    /// Makes the stream as new; `false` if it cannot be, and must go.
    fn reset(&mut self, key: Self::Key) -> bool;

    fn with_cache<R>(f: impl FnOnce(&mut Cache<Self>) -> R) -> Option<R>;
}

struct Entry<T: Stream> {
    key: T::Key,
    /// 0: free (and reset).
    owner: u64,
    stamp: u64,
    used: u64,
    stream: T,
}

/// One thread's streams of one kind.
pub struct Cache<T: Stream> {
    entries: Vec<Entry<T>>,
    clock: u64,
    capacity: usize,
}

impl<T: Stream> Default for Cache<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            clock: 0,
            capacity: CAPACITY,
        }
    }
}

impl<T: Stream> Cache<T> {
    fn take(&mut self, key: T::Key, owner: u64, stamp: u64) -> Option<(T, bool)> {
        if owner != 0 {
            if let Some(i) = self.entries.iter().position(|e| e.owner == owner) {
                let mut e = self.entries.swap_remove(i);
                if e.key == key && e.stamp == stamp {
                    return Some((e.stream, true));
                }
                if e.key == key && e.stream.reset(key) {
                    return Some((e.stream, false));
                }
            }
        }
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.owner == 0 && e.key == key)
        {
            return Some((self.entries.swap_remove(i).stream, false));
        }
        if self.entries.len() < self.capacity {
            return None;
        }
        let mut e = self.entries.swap_remove(self.least_used()?);
        if e.key == key && e.stream.reset(key) {
            return Some((e.stream, false));
        }
        None
    }

    fn give(&mut self, key: T::Key, owner: u64, stamp: u64, stream: T) {
        self.clock += 1;
        // An owner has at most one stream here.
        if owner != 0 {
            self.entries.retain(|e| e.owner != owner);
        }
        self.entries.push(Entry {
            key,
            owner,
            stamp,
            used: self.clock,
            stream,
        });
        while self.entries.len() > self.capacity {
            match self.least_used() {
                Some(i) => drop(self.entries.swap_remove(i)),
                None => break,
            }
        }
    }

    /// An owner is gone: its stream, if still here, becomes free.
    fn release(&mut self, owner: u64) {
        if let Some(i) = self.entries.iter().position(|e| e.owner == owner) {
            let mut e = self.entries.swap_remove(i);
            if e.stream.reset(e.key) {
                e.owner = 0;
                self.entries.push(e);
            }
        }
    }

    fn least_used(&self) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.used)
            .map(|(i, _)| i)
    }
}

/// A stream for `owner`'s next message (0: no owner), and whether it goes
/// on from the owner's last one (`warm`); a cold one is new or reset.
pub fn checkout<T: Stream>(key: T::Key, owner: u64, stamp: u64) -> (T, bool) {
    T::with_cache(|c| c.take(key, owner, stamp))
        .flatten()
        .unwrap_or_else(|| (T::make(key), false))
}

/// Gives a stream back: as `owner`'s (after message `stamp`), or free
/// (owner 0; the caller has reset it).
pub fn checkin<T: Stream>(key: T::Key, owner: u64, stamp: u64, stream: T) {
    // During the thread's teardown there is no cache: the stream just goes.
    let _ = T::with_cache(move |c| c.give(key, owner, stamp, stream));
}

/// `owner` will not come back for its stream.
pub fn release<T: Stream>(owner: u64) {
    let _ = T::with_cache(|c| c.release(owner));
}

/// Limits the streams this thread keeps (a worker thread that compresses
/// only the odd large message needs few).
pub fn limit_this_thread<T: Stream>(capacity: usize) {
    let _ = T::with_cache(|c| {
        c.capacity = capacity;
        while c.entries.len() > capacity {
            match c.least_used() {
                Some(i) => drop(c.entries.swap_remove(i)),
                None => break,
            }
        }
    });
}

/// How many streams this thread holds.
pub fn held<T: Stream>() -> usize {
    T::with_cache(|c| c.entries.len()).unwrap_or(0)
}

/// A new owner id, never 0.
pub fn owner_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Declares the thread-local cache of a stream type.
#[macro_export]
macro_rules! stream_cache {
    ($ty:ty) => {
        fn with_cache<R>(
            f: impl FnOnce(&mut $crate::protocol::streams::Cache<Self>) -> R,
        ) -> Option<R> {
            thread_local! {
                static CACHE: std::cell::RefCell<$crate::protocol::streams::Cache<$ty>> =
                    std::cell::RefCell::new(Default::default());
            }
            CACHE
                .try_with(|c| c.try_borrow_mut().ok().map(|mut c| f(&mut c)))
                .ok()
                .flatten()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Fake {
        key: u8,
        fresh: bool,
    }

    impl Stream for Fake {
        type Key = u8;
        fn make(key: u8) -> Self {
            Fake { key, fresh: true }
        }
        fn reset(&mut self, key: u8) -> bool {
            self.fresh = true;
            key != 0xff
        }
        stream_cache!(Fake);
    }

    #[test]
    fn an_owner_gets_its_stream_back_warm_until_someone_else_writes() {
        let (mut s, warm) = checkout::<Fake>(1, 7, 0);
        assert!(!warm);
        s.fresh = false;
        checkin(1, 7, 1, s);
        let (s, warm) = checkout::<Fake>(1, 7, 1);
        assert!(warm && !s.fresh);
        // Stamp moved on elsewhere: cold, and reset.
        checkin(1, 7, 1, s);
        let (s, warm) = checkout::<Fake>(1, 7, 2);
        assert!(!warm && s.fresh);
        checkin(1, 0, 0, s);
        assert_eq!(held::<Fake>(), 1);
        // A free stream serves anyone with the same key.
        let (_, warm) = checkout::<Fake>(1, 9, 0);
        assert!(!warm);
        assert_eq!(held::<Fake>(), 0);
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_least_used() {
        limit_this_thread::<Fake>(3);
        for owner in 1..=5u64 {
            let (s, _) = checkout::<Fake>(2, owner, 0);
            checkin(2, owner, 1, s);
        }
        assert_eq!(held::<Fake>(), 3);
        // Owners 1 and 2 lost theirs; 5 still has it.
        assert!(!checkout::<Fake>(2, 1, 1).1);
        assert!(checkout::<Fake>(2, 5, 1).1);
        release::<Fake>(4);
        limit_this_thread::<Fake>(CAPACITY);
    }
}
