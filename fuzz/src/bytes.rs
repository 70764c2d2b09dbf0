//! Reading a fuzz input as a stream of small decisions.

/// Hands out the fuzzer's bytes front to back; past the end it hands out
/// zeros and empty slices, so every input is usable.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte, or 0 at the end.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Up to `n` next bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Whether any byte is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything left.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Chunk boundaries for `len` bytes, stepping by sizes taken from `seeds`
/// in turn (cycled): bytes below 0xf0 step 1 to 240 bytes, the others
/// 1 to 16 KiB. No seeds: a single chunk. The result lists the end of every
/// chunk but the last, ascending.
pub fn cuts(seeds: &[u8], len: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if seeds.is_empty() {
        return out;
    }
    let mut at = 0usize;
    for &s in seeds.iter().cycle() {
        let step = match s {
            0..=0xef => usize::from(s) + 1,
            _ => usize::from(s - 0xef) * 1024,
        };
        at += step;
        if at >= len {
            break;
        }
        out.push(at);
    }
    out
}

/// Splits `data` at the boundaries `cuts` returns.
pub fn split<'a>(data: &'a [u8], cut_list: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::with_capacity(cut_list.len() + 1);
    let mut start = 0;
    for &end in cut_list.iter().chain(std::iter::once(&data.len())) {
        pieces.push(&data[start..end]);
        start = end;
    }
    pieces
}

/// One byte per chunk.
pub fn bytewise(len: usize) -> Vec<usize> {
    (1..len).collect()
}
