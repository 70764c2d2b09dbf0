//! Message templates. Every message carries, at fixed offsets, a send stamp
//! (nanoseconds since the run started) and a sequence number, each as 16 hex
//! digits, so a message stays valid UTF-8 and the reader needs no per-message
//! bookkeeping to compute round trips.

use crate::proto::{put_hex16, OP_BINARY, OP_TEXT};

/// What kind of payload to send.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    /// Pseudo-random bytes, binary frames.
    Binary,
    /// Valid UTF-8 mixing ASCII, Greek, CJK and emoji, text frames.
    Text,
    /// Compressible JSON, text frames.
    Json,
}

/// A message template and where its stamps go.
pub struct Template {
    pub bytes: Vec<u8>,
    pub stamp_at: usize,
    pub seq_at: usize,
    pub opcode: u8,
}

const MIXED: &str = "Hello, κόσμε! Γειά σου κόσμε. 你好，世界。こんにちは 🌍🚀😀 \
                     naïve café — 𝄞 music ✓ 한국어 テスト; ";

impl Template {
    /// Builds a template of exactly `size` bytes (at least 64).
    pub fn new(kind: Kind, size: usize) -> Result<Template, String> {
        if size < 64 {
            return Err(format!("message size {size} is below the 64-byte minimum"));
        }
        match kind {
            Kind::Binary => {
                let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ size as u64;
                let bytes = (0..size)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                Ok(Template {
                    bytes,
                    stamp_at: 0,
                    seq_at: 16,
                    opcode: OP_BINARY,
                })
            }
            Kind::Text => {
                // 32 ASCII bytes for the stamps, then mixed text cut at a
                // character boundary, then spaces.
                let mut s = String::from("0000000000000000000000000000000|");
                while s.len() < size {
                    for ch in MIXED.chars() {
                        if s.len() + ch.len_utf8() > size {
                            break;
                        }
                        s.push(ch);
                    }
                    while s.len() < size && size - s.len() < 4 {
                        s.push(' ');
                    }
                }
                Ok(Template {
                    bytes: s.into_bytes(),
                    stamp_at: 0,
                    seq_at: 16,
                    opcode: OP_TEXT,
                })
            }
            Kind::Json => {
                let mut s = String::from(
                    "{\"t\":\"0000000000000000\",\"s\":\"0000000000000000\",\"items\":[",
                );
                let tail = "]}";
                let mut i = 0;
                loop {
                    let item = format!(
                        "{}{{\"id\":{i},\"name\":\"item-{i}\",\"tags\":[\"alpha\",\"beta\"],\"price\":{}.5,\"inStock\":true}}",
                        if i == 0 { "" } else { "," },
                        10 + i % 7
                    );
                    if s.len() + item.len() + tail.len() > size {
                        break;
                    }
                    s.push_str(&item);
                    i += 1;
                }
                while s.len() + tail.len() < size {
                    s.push(' ');
                }
                s.push_str(tail);
                Ok(Template {
                    bytes: s.into_bytes(),
                    stamp_at: 6,
                    seq_at: 29,
                    opcode: OP_TEXT,
                })
            }
        }
    }

    /// Writes the stamps into `buf` (a copy of the template).
    pub fn stamp(&self, buf: &mut [u8], now_ns: u64, seq: u64) {
        put_hex16(&mut buf[self.stamp_at..self.stamp_at + 16], now_ns);
        put_hex16(&mut buf[self.seq_at..self.seq_at + 16], seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_the_exact_size_and_stay_valid() {
        for size in [64, 128, 1000, 1024, 4099, 16384] {
            for kind in [Kind::Binary, Kind::Text, Kind::Json] {
                let t = Template::new(kind, size).expect("template");
                assert_eq!(t.bytes.len(), size, "{kind:?} {size}");
                let mut b = t.bytes.clone();
                t.stamp(&mut b, u64::MAX, 12345);
                if kind != Kind::Binary {
                    assert!(std::str::from_utf8(&b).is_ok(), "{kind:?} {size}");
                }
            }
        }
        let t = Template::new(Kind::Json, 1024).expect("json");
        let s = String::from_utf8(t.bytes).expect("utf8");
        assert!(s.starts_with("{\"t\":\"0000000000000000\",\"s\":\"0000000000000000\""));
        assert!(s.ends_with("]}"));
    }
}
