//! The client side of RFC 6455 and RFC 7692, as much as the load generator
//! needs: the opening handshake, masked frames out, a streaming frame reader
//! in, and permessage-deflate both ways.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sha1::{base64, sha1};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// How many leading payload bytes of each message the readers keep (the
/// stamps live there).
pub const HEAD_MAX: usize = 64;

/// The largest message the reader accepts.
const MAX_MESSAGE: u64 = 256 << 20;

/// A small xorshift64* generator for masking keys and handshake nonces.
/// Not cryptographic, which a load generator does not need.
pub struct Rng(u64);

impl Rng {
    /// Seeds a generator (any seed; zero is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Four random bytes.
    pub fn key(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_ne_bytes()
    }
}

/// XORs `buf` with the repeating 4-byte `key`, starting at key offset 0.
pub fn mask_in_place(buf: &mut [u8], key: [u8; 4]) {
    let k32 = u32::from_ne_bytes(key) as u64;
    let k64 = k32 | (k32 << 32);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ k64).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so at key offset 0.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Appends one masked, final frame to `out`.
pub fn push_frame(out: &mut Vec<u8>, opcode: u8, rsv1: bool, payload: &[u8], key: [u8; 4]) {
    out.push(0x80 | if rsv1 { 0x40 } else { 0 } | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    let start = out.len();
    out.extend_from_slice(payload);
    mask_in_place(&mut out[start..], key);
}

/// The size of a masked client frame carrying `len` payload bytes.
pub fn client_frame_len(len: usize) -> usize {
    let ext = if len < 126 {
        0
    } else if len <= 0xFFFF {
        2
    } else {
        8
    };
    2 + ext + 4 + len
}

/// Appends a masked close frame with status 1000.
pub fn push_close(out: &mut Vec<u8>, key: [u8; 4]) {
    push_frame(out, OP_CLOSE, false, &1000u16.to_be_bytes(), key);
}

/// Writes `v` as 16 lowercase hex digits into `out[..16]`.
pub fn put_hex16(out: &mut [u8], v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in out.iter_mut().take(16).enumerate() {
        *b = HEX[((v >> (60 - 4 * i)) & 0xF) as usize];
    }
}

/// Reads 16 hex digits, or `None` if they are not.
pub fn get_hex16(s: &[u8]) -> Option<u64> {
    if s.len() < 16 {
        return None;
    }
    let mut v = 0u64;
    for &c in &s[..16] {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u64;
    }
    Some(v)
}

/// The permessage-deflate parameters the server agreed to.
#[derive(Clone, Debug)]
pub struct Pmd {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub client_max_window_bits: u8,
}

/// Parses a `Sec-WebSocket-Extensions` response value.
fn parse_pmd(value: &str) -> Result<Option<Pmd>, String> {
    for ext in value.split(',') {
        let mut parts = ext.split(';').map(str::trim);
        if parts.next() != Some("permessage-deflate") {
            continue;
        }
        let mut pmd = Pmd {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            client_max_window_bits: 15,
        };
        for p in parts {
            let (name, val) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (p, None),
            };
            match name {
                "server_no_context_takeover" => pmd.server_no_context_takeover = true,
                "client_no_context_takeover" => pmd.client_no_context_takeover = true,
                "client_max_window_bits" => {
                    if let Some(v) = val {
                        pmd.client_max_window_bits = v
                            .parse()
                            .map_err(|_| format!("bad client_max_window_bits: {v}"))?;
                    }
                }
                "server_max_window_bits" => {}
                "" => {}
                other => return Err(format!("unknown permessage-deflate parameter: {other}")),
            }
        }
        return Ok(Some(pmd));
    }
    Ok(None)
}

/// Runs the opening handshake on `stream`. Returns the negotiated
/// permessage-deflate parameters (if offered and accepted) and any bytes
/// that arrived after the response head.
pub async fn handshake(
    stream: &mut TcpStream,
    host: &str,
    path: &str,
    offer_deflate: bool,
    rng: &mut Rng,
) -> Result<(Option<Pmd>, Vec<u8>), String> {
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&rng.next_u64().to_ne_bytes());
    nonce[8..].copy_from_slice(&rng.next_u64().to_ne_bytes());
    let key = base64(&nonce);
    let ext = if offer_deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n{ext}\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("handshake write: {e}"))?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("connection closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 * 1024 {
            return Err("handshake response head over 16 KiB".into());
        }
    };

    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| "handshake response is not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 101") {
        return Err(format!("expected 101, got: {status}"));
    }
    let expected = base64(&sha1(format!("{key}{GUID}").as_bytes()));
    let mut accept_ok = false;
    let mut pmd = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name == "sec-websocket-accept" {
            accept_ok = value == expected;
        } else if name == "sec-websocket-extensions" {
            pmd = parse_pmd(value)?;
        }
    }
    if !accept_ok {
        return Err("missing or wrong Sec-WebSocket-Accept".into());
    }
    if pmd.is_some() && !offer_deflate {
        return Err("server negotiated an extension that was not offered".into());
    }
    Ok((pmd, buf[head_end..].to_vec()))
}

/// Client-side message compression (RFC 7692 section 7.2.1).
pub struct Deflater {
    c: Compress,
    no_context: bool,
    out: Vec<u8>,
}

impl Deflater {
    /// Creates a compressor for the negotiated parameters.
    pub fn new(pmd: &Pmd, level: u32) -> Self {
        // zlib cannot make raw deflate streams with an 8-bit window.
        let bits = pmd.client_max_window_bits.clamp(9, 15);
        Deflater {
            c: Compress::new_with_window_bits(Compression::new(level), false, bits),
            no_context: pmd.client_no_context_takeover,
            out: Vec::new(),
        }
    }

    /// Compresses one message; the result lacks the trailing 00 00 FF FF.
    pub fn compress(&mut self, data: &[u8]) -> Result<&[u8], String> {
        if self.no_context {
            self.c.reset();
        }
        self.out.clear();
        let mut input = data;
        loop {
            self.out.reserve(input.len() / 2 + 64);
            let before = self.c.total_in();
            self.c
                .compress_vec(input, &mut self.out, FlushCompress::Sync)
                .map_err(|e| format!("deflate: {e}"))?;
            let used = (self.c.total_in() - before) as usize;
            input = &input[used..];
            if input.is_empty() && self.out.len() < self.out.capacity() {
                break;
            }
        }
        if !self.out.ends_with(&[0, 0, 0xFF, 0xFF]) {
            return Err("deflate: sync flush did not end with 00 00 FF FF".into());
        }
        let n = self.out.len() - 4;
        Ok(&self.out[..n])
    }
}

/// Client-side message decompression.
struct Inflater {
    d: Decompress,
    no_context: bool,
    out: Vec<u8>,
}

impl Inflater {
    fn inflate(&mut self, data: &mut Vec<u8>) -> Result<(), String> {
        data.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
        self.out.clear();
        let mut input = &data[..];
        loop {
            self.out.reserve((input.len() * 4).max(4096));
            let before = self.d.total_in();
            let status = self
                .d
                .decompress_vec(input, &mut self.out, FlushDecompress::Sync)
                .map_err(|e| format!("inflate: {e}"))?;
            let used = (self.d.total_in() - before) as usize;
            input = &input[used..];
            if self.out.len() as u64 > MAX_MESSAGE {
                return Err("inflated message too large".into());
            }
            let room = self.out.len() < self.out.capacity();
            if (input.is_empty() && room) || status == Status::StreamEnd {
                break;
            }
            if used == 0 && room {
                return Err("inflate made no progress".into());
            }
        }
        if self.no_context {
            self.d.reset(false);
        }
        Ok(())
    }
}

/// One complete data message, as the reader reports it.
pub struct Msg<'a> {
    pub opcode: u8,
    pub len: usize,
    /// The first (up to `HEAD_MAX`) bytes of the (inflated) payload.
    pub head: &'a [u8],
    pub compressed: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Header,
    Payload(u64),
}

/// A streaming reader of server frames (unmasked), which may be fed any
/// split of the byte stream.
pub struct FrameReader {
    state: State,
    hdr: [u8; 14],
    hdr_len: usize,
    frame_op: u8,
    frame_fin: bool,
    in_message: bool,
    msg_op: u8,
    msg_rsv1: bool,
    msg_len: u64,
    head: [u8; HEAD_MAX],
    head_len: usize,
    compressed: Vec<u8>,
    control: Vec<u8>,
    inflater: Option<Inflater>,
    /// Ping payloads to answer with pongs.
    pub pings: Vec<Vec<u8>>,
    /// Set when a close frame arrived.
    pub closed: bool,
}

impl FrameReader {
    /// Creates a reader; `pmd` enables inflation of RSV1 messages.
    pub fn new(pmd: Option<&Pmd>) -> Self {
        FrameReader {
            state: State::Header,
            hdr: [0; 14],
            hdr_len: 0,
            frame_op: 0,
            frame_fin: false,
            in_message: false,
            msg_op: 0,
            msg_rsv1: false,
            msg_len: 0,
            head: [0; HEAD_MAX],
            head_len: 0,
            compressed: Vec::new(),
            control: Vec::new(),
            inflater: pmd.map(|p| Inflater {
                d: Decompress::new(false),
                no_context: p.server_no_context_takeover,
                out: Vec::new(),
            }),
            pings: Vec::new(),
            closed: false,
        }
    }

    /// Consumes `data`, calling `on_msg` for each complete data message.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        on_msg: &mut impl FnMut(Msg<'_>),
    ) -> Result<(), String> {
        while !data.is_empty() {
            match self.state {
                State::Header => {
                    let need = self.header_need();
                    if self.hdr_len < need {
                        let take = (need - self.hdr_len).min(data.len());
                        self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&data[..take]);
                        self.hdr_len += take;
                        data = &data[take..];
                    }
                    // With two bytes in, the full header length may be larger.
                    if self.hdr_len == self.header_need() {
                        self.begin_frame(on_msg)?;
                    }
                }
                State::Payload(remaining) => {
                    let take = (remaining.min(data.len() as u64)) as usize;
                    self.payload(&data[..take]);
                    data = &data[take..];
                    let left = remaining - take as u64;
                    self.state = State::Payload(left);
                    if left == 0 {
                        self.end_frame(on_msg)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Header bytes needed: 2 until the length byte is in, then the total.
    fn header_need(&self) -> usize {
        if self.hdr_len < 2 {
            return 2;
        }
        let ext = match self.hdr[1] & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if self.hdr[1] & 0x80 != 0 { 4 } else { 0 }
    }

    fn begin_frame(&mut self, on_msg: &mut impl FnMut(Msg<'_>)) -> Result<(), String> {
        let b0 = self.hdr[0];
        let b1 = self.hdr[1];
        if b1 & 0x80 != 0 {
            return Err("server frame is masked".into());
        }
        let len = match b1 & 0x7F {
            126 => u16::from_be_bytes([self.hdr[2], self.hdr[3]]) as u64,
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.hdr[2..10]);
                u64::from_be_bytes(b)
            }
            n => n as u64,
        };
        self.hdr_len = 0;
        let fin = b0 & 0x80 != 0;
        let rsv1 = b0 & 0x40 != 0;
        if b0 & 0x30 != 0 {
            return Err("RSV2/RSV3 set".into());
        }
        let op = b0 & 0x0F;
        match op {
            OP_CLOSE | OP_PING | OP_PONG => {
                if len > 125 || !fin {
                    return Err("bad control frame".into());
                }
                self.control.clear();
            }
            OP_TEXT | OP_BINARY => {
                if self.in_message {
                    return Err("new message inside a fragmented one".into());
                }
                if rsv1 && self.inflater.is_none() {
                    return Err("RSV1 set without permessage-deflate".into());
                }
                self.in_message = true;
                self.msg_op = op;
                self.msg_rsv1 = rsv1;
                self.msg_len = 0;
                self.head_len = 0;
                self.compressed.clear();
            }
            OP_CONT => {
                if !self.in_message {
                    return Err("continuation frame outside a message".into());
                }
            }
            _ => return Err(format!("unknown opcode {op}")),
        }
        if self.msg_len.saturating_add(len) > MAX_MESSAGE {
            return Err("message too large".into());
        }
        self.frame_op = op;
        self.frame_fin = fin;
        self.state = State::Payload(len);
        if len == 0 {
            self.end_frame(on_msg)?;
        }
        Ok(())
    }

    fn payload(&mut self, chunk: &[u8]) {
        if self.frame_op >= OP_CLOSE {
            self.control.extend_from_slice(chunk);
        } else if self.msg_rsv1 {
            self.compressed.extend_from_slice(chunk);
        } else {
            if self.head_len < HEAD_MAX {
                let take = (HEAD_MAX - self.head_len).min(chunk.len());
                self.head[self.head_len..self.head_len + take].copy_from_slice(&chunk[..take]);
                self.head_len += take;
            }
            self.msg_len += chunk.len() as u64;
        }
    }

    fn end_frame(&mut self, on_msg: &mut impl FnMut(Msg<'_>)) -> Result<(), String> {
        self.state = State::Header;
        match self.frame_op {
            OP_PING => self.pings.push(self.control.clone()),
            OP_CLOSE => self.closed = true,
            OP_PONG => {}
            _ if self.frame_fin => {
                self.in_message = false;
                if self.msg_rsv1 {
                    let inf = self
                        .inflater
                        .as_mut()
                        .ok_or_else(|| "RSV1 without an inflater".to_string())?;
                    inf.inflate(&mut self.compressed)?;
                    let n = inf.out.len().min(HEAD_MAX);
                    on_msg(Msg {
                        opcode: self.msg_op,
                        len: inf.out.len(),
                        head: &inf.out[..n],
                        compressed: true,
                    });
                } else {
                    on_msg(Msg {
                        opcode: self.msg_op,
                        len: self.msg_len as usize,
                        head: &self.head[..self.head_len],
                        compressed: false,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A reader for the raw TCP floor: the stream is cut into `size`-byte
/// messages.
pub struct RawReader {
    size: usize,
    pos: usize,
    head: [u8; HEAD_MAX],
}

impl RawReader {
    /// Creates a reader of `size`-byte messages.
    pub fn new(size: usize) -> Self {
        RawReader {
            size: size.max(1),
            pos: 0,
            head: [0; HEAD_MAX],
        }
    }

    /// Consumes `data`, calling `on_msg` for each complete message.
    pub fn feed(&mut self, mut data: &[u8], on_msg: &mut impl FnMut(Msg<'_>)) {
        while !data.is_empty() {
            let take = (self.size - self.pos).min(data.len());
            if self.pos < HEAD_MAX {
                let h = (HEAD_MAX - self.pos).min(take);
                self.head[self.pos..self.pos + h].copy_from_slice(&data[..h]);
            }
            self.pos += take;
            data = &data[take..];
            if self.pos == self.size {
                self.pos = 0;
                let n = self.size.min(HEAD_MAX);
                on_msg(Msg {
                    opcode: OP_BINARY,
                    len: self.size,
                    head: &self.head[..n],
                    compressed: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(op: u8, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | op];
        let len = payload.len();
        if len < 126 {
            out.push(len as u8);
        } else if len <= 0xFFFF {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    fn collect(reader: &mut FrameReader, stream: &[u8], step: usize) -> Vec<(u8, usize, Vec<u8>)> {
        let mut got = Vec::new();
        for chunk in stream.chunks(step) {
            reader
                .feed(chunk, &mut |m: Msg<'_>| {
                    got.push((m.opcode, m.len, m.head.to_vec()))
                })
                .expect("valid stream");
        }
        got
    }

    #[test]
    fn reads_frames_at_every_split() {
        let big = vec![7u8; 70_000];
        let mid = vec![9u8; 300];
        let mut stream = Vec::new();
        stream.extend(server_frame(OP_BINARY, true, false, b"hello"));
        stream.extend(server_frame(OP_TEXT, true, false, b""));
        stream.extend(server_frame(OP_PING, true, false, b"p"));
        stream.extend(server_frame(OP_BINARY, true, false, &mid));
        stream.extend(server_frame(OP_TEXT, false, false, b"ab"));
        stream.extend(server_frame(OP_CONT, true, false, b"cd"));
        stream.extend(server_frame(OP_BINARY, true, false, &big));
        for step in [1, 2, 3, 7, 64, 1000, 1 << 20] {
            let mut r = FrameReader::new(None);
            let got = collect(&mut r, &stream, step);
            assert_eq!(got.len(), 5, "step {step}");
            assert_eq!(got[0], (OP_BINARY, 5, b"hello".to_vec()));
            assert_eq!(got[1], (OP_TEXT, 0, vec![]));
            assert_eq!(got[2].1, 300);
            assert_eq!(got[3], (OP_TEXT, 4, b"abcd".to_vec()));
            assert_eq!(got[4].1, 70_000);
            assert_eq!(got[4].2.len(), HEAD_MAX);
            assert_eq!(r.pings, vec![b"p".to_vec()]);
        }
    }

    #[test]
    fn deflate_round_trip_with_and_without_context() {
        for no_ctx in [false, true] {
            let pmd = Pmd {
                server_no_context_takeover: no_ctx,
                client_no_context_takeover: no_ctx,
                client_max_window_bits: 15,
            };
            let mut d = Deflater::new(&pmd, 1);
            let mut stream = Vec::new();
            let text = b"{\"hello\":\"world\",\"hello2\":\"world\"}".repeat(40);
            for _ in 0..3 {
                let c = d.compress(&text).expect("compress").to_vec();
                stream.extend(server_frame(OP_TEXT, true, true, &c));
            }
            let mut r = FrameReader::new(Some(&pmd));
            let got = collect(&mut r, &stream, 13);
            assert_eq!(got.len(), 3);
            for g in got {
                assert_eq!(g.1, text.len());
                assert_eq!(&g.2[..], &text[..HEAD_MAX]);
            }
        }
    }

    #[test]
    fn masks_like_the_spec() {
        let key = [1, 2, 3, 4];
        let mut buf: Vec<u8> = (0..21).collect();
        mask_in_place(&mut buf, key);
        for (i, b) in buf.iter().enumerate() {
            assert_eq!(*b, (i as u8) ^ key[i % 4]);
        }
    }

    #[test]
    fn raw_reader_cuts_messages() {
        let mut r = RawReader::new(100);
        let data = vec![1u8; 1000];
        let mut n = 0;
        for c in data.chunks(33) {
            r.feed(c, &mut |m: Msg<'_>| {
                assert_eq!(m.len, 100);
                n += 1;
            });
        }
        assert_eq!(n, 10);
    }

    #[test]
    fn rejects_masked_and_oversized_control() {
        let mut r = FrameReader::new(None);
        assert!(r
            .feed(&[0x82, 0x81, 0, 0, 0, 0, 0], &mut |_m: Msg<'_>| {})
            .is_err());
        let mut r = FrameReader::new(None);
        assert!(r.feed(&[0x89, 126, 0, 200], &mut |_m: Msg<'_>| {}).is_err());
    }

    #[test]
    fn hex_stamps() {
        let mut b = [0u8; 16];
        put_hex16(&mut b, 0x0123_4567_89ab_cdef);
        assert_eq!(&b, b"0123456789abcdef");
        assert_eq!(get_hex16(&b), Some(0x0123_4567_89ab_cdef));
        assert_eq!(get_hex16(b"zz"), None);
    }
}
