//! Incremental frame parser.
//!
//! Bytes go in a chunk at a time, cut anywhere; complete messages, pings,
//! pongs and the close frame come out as events. Every violation becomes the
//! one [`ProtocolError`] ws would report. Payloads are unmasked in place in
//! the caller's chunk; a message that lies wholly inside one chunk comes out
//! as a range of that chunk (no copy), anything else as an owned buffer.

use std::ops::Range;

use crate::protocol::close::{is_valid_status_code, NO_STATUS};
use crate::protocol::deflate::{InflateError, Inflater};
use crate::protocol::error::ProtocolError;
use crate::protocol::frame::{OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT};
use crate::protocol::mask::apply_mask;
use crate::protocol::utf8::{self, Utf8Stream};

/// The most a frame's claimed length makes the parser reserve up front.
const MAX_RESERVE: usize = 64 << 20;

/// Limits and roles, with ws's meanings (0 disables a limit).
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Server side: frames must be masked. Client side: they must not be.
    pub is_server: bool,
    /// Largest message, summed over fragments and checked again after
    /// inflation (`maxPayload`).
    pub max_payload: u64,
    /// Most fragments in one message (`maxFragments`).
    pub max_fragments: u32,
    /// Most socket chunks held unparsed (`maxBufferedChunks`).
    pub max_buffered_chunks: u32,
    /// Skip UTF-8 checks of text messages and close reasons.
    pub skip_utf8_validation: bool,
}

/// Where an event's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A range of the chunk passed to the `feed` call that produced the event.
    Input(Range<usize>),
    /// Bytes the parser gathered across chunks or inflated.
    Owned(Vec<u8>),
}

impl Payload {
    /// The bytes, given the chunk of the `feed` call.
    pub fn bytes<'a>(&'a self, chunk: &'a [u8]) -> &'a [u8] {
        match self {
            Payload::Input(r) => &chunk[r.clone()],
            Payload::Owned(v) => v,
        }
    }

    /// The payload with its bytes copied out of `chunk` if they are there.
    pub fn into_owned(self, chunk: &[u8]) -> Payload {
        match self {
            Payload::Input(r) => Payload::Owned(chunk[r].to_vec()),
            owned => owned,
        }
    }
}

impl Event {
    /// The event with every payload owned, so it can outlive the chunk of
    /// the `feed` call (and events from different chunkings compare).
    pub fn into_owned(self, chunk: &[u8]) -> Event {
        match self {
            Event::Message {
                binary,
                data,
                fragment_ends,
            } => Event::Message {
                binary,
                data: data.into_owned(chunk),
                fragment_ends,
            },
            Event::Ping(p) => Event::Ping(p.into_owned(chunk)),
            Event::Pong(p) => Event::Pong(p.into_owned(chunk)),
            Event::Close { code, reason } => Event::Close {
                code,
                reason: reason.into_owned(chunk),
            },
        }
    }
}

/// What the parser found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete data message. `fragment_ends` lists where each non-empty
    /// fragment ended, for messages of more than one fragment (ws's
    /// `'fragments'` binary type); it is empty otherwise.
    Message {
        binary: bool,
        data: Payload,
        fragment_ends: Vec<usize>,
    },
    /// A ping and its payload.
    Ping(Payload),
    /// A pong and its payload.
    Pong(Payload),
    /// The close frame: its code (1005 when empty) and reason. Input after
    /// it is ignored.
    Close { code: u16, reason: Payload },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Header,
    Payload,
    Closed,
    Failed,
}

/// The incremental parser for one connection's incoming direction.
pub struct Parser {
    cfg: Config,
    inflater: Option<Inflater>,
    state: State,
    // The frame header being read.
    hdr: [u8; 14],
    hdr_len: usize,
    hdr_need: usize,
    // The current frame.
    fin: bool,
    opcode: u8,
    masked: bool,
    mask: [u8; 4],
    payload_len: u64,
    received: u64,
    // The data message in progress (opcode 0 = none).
    msg_opcode: u8,
    msg_compressed: bool,
    msg: Vec<u8>,
    msg_validated: usize,
    fragment_ends: Vec<usize>,
    total_payload: u64,
    fragments: u32,
    utf8: Utf8Stream,
    // A control frame gathered across chunks.
    control: Vec<u8>,
    // ws's count of socket chunks holding unparsed bytes.
    held_chunks: u32,
    // Bytes produced by inflation so far, over the connection's life.
    inflated: u64,
}

impl Parser {
    /// A parser; pass an [`Inflater`] when permessage-deflate was negotiated.
    pub fn new(cfg: Config, inflater: Option<Inflater>) -> Self {
        Self {
            cfg,
            inflater,
            state: State::Header,
            hdr: [0; 14],
            hdr_len: 0,
            hdr_need: 2,
            fin: false,
            opcode: 0,
            masked: false,
            mask: [0; 4],
            payload_len: 0,
            received: 0,
            msg_opcode: 0,
            msg_compressed: false,
            msg: Vec::new(),
            msg_validated: 0,
            fragment_ends: Vec::new(),
            total_payload: 0,
            fragments: 0,
            utf8: Utf8Stream::new(),
            control: Vec::new(),
            held_chunks: 0,
            inflated: 0,
        }
    }

    /// Payload bytes of the data message in progress (ws's
    /// `_totalPayloadLength`), 0 between messages.
    pub fn total_payload(&self) -> u64 {
        self.total_payload
    }

    /// Bytes inflated so far (compressed messages' output), so a caller can
    /// tell whether a chunk made the parser decompress.
    pub fn inflated(&self) -> u64 {
        self.inflated
    }

    /// True once a close frame was read; later input is ignored.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Feeds one chunk. Events found are pushed to `out` (those before an
    /// error are kept). Payload bytes are unmasked in place in `chunk`.
    /// After an error or a close frame, further input is ignored.
    pub fn feed(&mut self, chunk: &mut [u8], out: &mut Vec<Event>) -> Result<(), ProtocolError> {
        if matches!(self.state, State::Closed | State::Failed) {
            return Ok(());
        }
        if self.cfg.max_buffered_chunks > 0 && self.held_chunks >= self.cfg.max_buffered_chunks {
            return self.fail(ProtocolError::TooManyBufferedChunks);
        }
        let mut pos = 0;
        let mut unit_done = false;
        let result = self.run(chunk, &mut pos, &mut unit_done, out);
        if let Err(e) = result {
            return self.fail(e);
        }
        // ws keeps every chunk that still has unparsed bytes; mirror its count.
        self.held_chunks = if !self.unit_pending() {
            0
        } else if unit_done {
            1
        } else {
            self.held_chunks + 1
        };
        Ok(())
    }

    fn fail(&mut self, e: ProtocolError) -> Result<(), ProtocolError> {
        self.state = State::Failed;
        self.msg = Vec::new();
        self.control = Vec::new();
        Err(e)
    }

    /// Whether bytes of a partly read unit (as ws splits a frame: 2 info
    /// bytes, extended length, mask, payload) are held.
    fn unit_pending(&self) -> bool {
        match self.state {
            State::Header => {
                let ext = self.ext_len();
                !(self.hdr_len == 0 || self.hdr_len == 2 || self.hdr_len == 2 + ext && ext > 0)
            }
            State::Payload => self.received > 0,
            State::Closed | State::Failed => false,
        }
    }

    fn ext_len(&self) -> usize {
        if self.hdr_len < 2 {
            return 0;
        }
        match self.hdr[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        }
    }

    fn run(
        &mut self,
        chunk: &mut [u8],
        pos: &mut usize,
        unit_done: &mut bool,
        out: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        while *pos < chunk.len() {
            match self.state {
                State::Header => {
                    let take = (self.hdr_need - self.hdr_len).min(chunk.len() - *pos);
                    self.hdr[self.hdr_len..self.hdr_len + take]
                        .copy_from_slice(&chunk[*pos..*pos + take]);
                    let before = self.hdr_len;
                    self.hdr_len += take;
                    *pos += take;
                    if before < 2 && self.hdr_len >= 2 {
                        self.check_info()?;
                        *unit_done = true;
                        self.hdr_need = 2 + self.ext_len() + if self.masked { 4 } else { 0 };
                        if self.hdr_len < self.hdr_need {
                            continue;
                        }
                    }
                    if self.hdr_len < self.hdr_need {
                        continue;
                    }
                    *unit_done = true;
                    self.finish_header()?;
                    self.start_payload(chunk, pos, out)?;
                }
                State::Payload => {
                    let want = self.payload_len - self.received;
                    let take = want.min((chunk.len() - *pos) as u64) as usize;
                    let range = *pos..*pos + take;
                    *pos += take;
                    self.take_payload(chunk, range)?;
                    if self.received == self.payload_len {
                        *unit_done = true;
                        self.end_frame(out)?;
                    }
                }
                State::Closed | State::Failed => return Ok(()),
            }
        }
        // A frame with an empty payload whose header ended this chunk.
        if self.state == State::Payload && self.payload_len == 0 {
            self.end_frame(out)?;
        }
        Ok(())
    }

    /// The checks ws makes on a frame's first two bytes, in ws's order.
    fn check_info(&mut self) -> Result<(), ProtocolError> {
        let b0 = self.hdr[0];
        let b1 = self.hdr[1];
        if b0 & 0x30 != 0 {
            return Err(ProtocolError::Rsv2Rsv3);
        }
        let rsv1 = b0 & 0x40 != 0;
        if rsv1 && self.inflater.is_none() {
            return Err(ProtocolError::Rsv1);
        }
        self.fin = b0 & 0x80 != 0;
        self.opcode = b0 & 0x0f;
        let len7 = b1 & 0x7f;
        match self.opcode {
            OP_CONTINUATION => {
                if rsv1 {
                    return Err(ProtocolError::Rsv1);
                }
                if self.msg_opcode == 0 {
                    return Err(ProtocolError::InvalidOpcode(0));
                }
            }
            OP_TEXT | OP_BINARY => {
                if self.msg_opcode != 0 {
                    return Err(ProtocolError::InvalidOpcode(self.opcode));
                }
                self.msg_opcode = self.opcode;
                self.msg_compressed = rsv1;
            }
            0x8..=0xa => {
                if !self.fin {
                    return Err(ProtocolError::ExpectedFin);
                }
                if rsv1 {
                    return Err(ProtocolError::Rsv1);
                }
                if len7 > 125 || self.opcode == OP_CLOSE && len7 == 1 {
                    return Err(ProtocolError::InvalidControlPayloadLength(u64::from(len7)));
                }
            }
            op => return Err(ProtocolError::InvalidOpcode(op)),
        }
        self.masked = b1 & 0x80 != 0;
        if self.cfg.is_server && !self.masked {
            return Err(ProtocolError::ExpectedMask);
        }
        if !self.cfg.is_server && self.masked {
            return Err(ProtocolError::UnexpectedMask);
        }
        Ok(())
    }

    fn finish_header(&mut self) -> Result<(), ProtocolError> {
        let ext = self.ext_len();
        self.payload_len = match ext {
            2 => u64::from(u16::from_be_bytes([self.hdr[2], self.hdr[3]])),
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.hdr[2..10]);
                let n = u64::from_be_bytes(b);
                if n >> 32 > (1 << 21) - 1 {
                    return Err(ProtocolError::UnsupportedDataPayloadLength);
                }
                n
            }
            _ => u64::from(self.hdr[1] & 0x7f),
        };
        if self.masked {
            self.mask.copy_from_slice(&self.hdr[2 + ext..6 + ext]);
        }
        if self.payload_len > 0 && self.opcode < 0x8 {
            self.total_payload += self.payload_len;
            if self.cfg.max_payload > 0 && self.total_payload > self.cfg.max_payload {
                return Err(ProtocolError::MaxPayloadExceeded);
            }
        }
        self.received = 0;
        self.hdr_len = 0;
        self.hdr_need = 2;
        self.state = State::Payload;
        Ok(())
    }

    fn unmask(&self, bytes: &mut [u8]) {
        if self.masked && self.mask != [0; 4] {
            apply_mask(bytes, self.mask, self.received as usize);
        }
    }

    /// Right after a header: a frame whose payload is all in this chunk and
    /// that is a whole message (or a control frame) is handled in place.
    fn start_payload(
        &mut self,
        chunk: &mut [u8],
        pos: &mut usize,
        out: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        let avail = (chunk.len() - *pos) as u64;
        let control = self.opcode >= 0x8;
        let single = self.fin && self.opcode != OP_CONTINUATION && !self.msg_compressed;
        if self.payload_len == 0 || avail < self.payload_len || !(control || single) {
            return Ok(());
        }
        let range = *pos..*pos + self.payload_len as usize;
        *pos = range.end;
        self.unmask(&mut chunk[range.clone()]);
        self.received = self.payload_len;
        self.state = State::Header;
        if control {
            return self.control_frame(chunk, Payload::Input(range), out);
        }
        self.count_fragment()?;
        let binary = self.opcode == OP_BINARY;
        if !binary && !self.cfg.skip_utf8_validation && !utf8::is_valid(&chunk[range.clone()]) {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.reset_message();
        out.push(Event::Message {
            binary,
            data: Payload::Input(range),
            fragment_ends: Vec::new(),
        });
        Ok(())
    }

    fn take_payload(&mut self, chunk: &mut [u8], range: Range<usize>) -> Result<(), ProtocolError> {
        if range.is_empty() {
            return Ok(());
        }
        self.unmask(&mut chunk[range.clone()]);
        self.received += range.len() as u64;
        let bytes = &chunk[range];
        if self.opcode >= 0x8 {
            self.control.extend_from_slice(bytes);
            return Ok(());
        }
        if self.msg_compressed {
            let limit = self.cfg.max_payload as usize;
            let before = self.msg.len();
            let result = match self.inflater.as_mut() {
                Some(inflater) => inflater.inflate(bytes, &mut self.msg, limit),
                None => Ok(()),
            };
            self.inflated += (self.msg.len() - before) as u64;
            return self.after_inflate(result);
        }
        // Room for the rest of this frame at once, instead of growing by
        // doubling (a copy and a fresh allocation per step). Untouched pages
        // cost no resident memory, so a peer that only claims a large length
        // gains nothing; the claim is already bounded by maxPayload.
        let rest = (self.payload_len - self.received) as usize + bytes.len();
        if self.msg.capacity() - self.msg.len() < rest {
            self.msg.reserve_exact(rest.min(MAX_RESERVE));
        }
        self.msg.extend_from_slice(bytes);
        self.validate_new_text()
    }

    /// Checks the text inflation produced, then reports inflation's own
    /// failure. Bytes that came out before zlib failed (or before the limit
    /// was crossed) precede the failure in the stream, so an invalid one
    /// among them is the error, however the input was cut into chunks.
    fn after_inflate(&mut self, result: Result<(), InflateError>) -> Result<(), ProtocolError> {
        if let Err(e) = result {
            if self.cfg.max_payload > 0 {
                // Output past the limit is never looked at.
                self.msg.truncate(self.cfg.max_payload as usize);
            }
            self.validate_new_text()?;
            return Err(e.into());
        }
        self.validate_new_text()
    }

    /// Feeds text appended to the message since the last check to the
    /// incremental validator, so bad UTF-8 fails as soon as it arrives.
    fn validate_new_text(&mut self) -> Result<(), ProtocolError> {
        if self.msg_opcode == OP_TEXT
            && !self.cfg.skip_utf8_validation
            && !self.utf8.feed(&self.msg[self.msg_validated..])
        {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.msg_validated = self.msg.len();
        Ok(())
    }

    fn count_fragment(&mut self) -> Result<(), ProtocolError> {
        self.fragments += 1;
        if self.cfg.max_fragments > 0 && self.fragments > self.cfg.max_fragments {
            return Err(ProtocolError::TooManyFragments);
        }
        Ok(())
    }

    fn end_frame(&mut self, out: &mut Vec<Event>) -> Result<(), ProtocolError> {
        self.state = State::Header;
        if self.opcode >= 0x8 {
            let body = std::mem::take(&mut self.control);
            return self.control_frame(&[], Payload::Owned(body), out);
        }
        self.count_fragment()?;
        if self.msg_compressed && self.fin {
            let limit = self.cfg.max_payload as usize;
            let before = self.msg.len();
            let result = match self.inflater.as_mut() {
                Some(inflater) => inflater.finish(&mut self.msg, limit),
                None => Ok(()),
            };
            // Counted even when empty, so an empty compressed message counts.
            self.inflated += (self.msg.len() - before) as u64 + 1;
            self.after_inflate(result)?;
        }
        if self.msg.len() > self.fragment_ends.last().copied().unwrap_or(0) {
            self.fragment_ends.push(self.msg.len());
        }
        if !self.fin {
            return Ok(());
        }
        let binary = self.msg_opcode == OP_BINARY;
        if !binary && !self.cfg.skip_utf8_validation && !self.utf8.finish() {
            return Err(ProtocolError::InvalidUtf8);
        }
        let mut data = std::mem::take(&mut self.msg);
        shrink_slack(&mut data);
        let mut fragment_ends = std::mem::take(&mut self.fragment_ends);
        if fragment_ends.len() < 2 {
            fragment_ends.clear();
        }
        self.reset_message();
        out.push(Event::Message {
            binary,
            data: Payload::Owned(data),
            fragment_ends,
        });
        Ok(())
    }

    fn reset_message(&mut self) {
        self.msg_opcode = 0;
        self.msg_compressed = false;
        self.msg_validated = 0;
        self.total_payload = 0;
        self.fragments = 0;
        self.utf8.finish();
    }

    /// A complete control frame; `payload` is its unmasked body, in `chunk`
    /// or owned.
    fn control_frame(
        &mut self,
        chunk: &[u8],
        payload: Payload,
        out: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        match self.opcode {
            OP_PING => out.push(Event::Ping(payload)),
            OP_CLOSE => {
                let body = payload.bytes(chunk);
                let code = if body.is_empty() {
                    NO_STATUS
                } else {
                    let code = u16::from_be_bytes([body[0], body[1]]);
                    if !is_valid_status_code(code) {
                        return Err(ProtocolError::InvalidCloseCode(code));
                    }
                    if !self.cfg.skip_utf8_validation && !utf8::is_valid(&body[2..]) {
                        return Err(ProtocolError::InvalidUtf8);
                    }
                    code
                };
                let reason = match payload {
                    Payload::Input(r) if r.len() >= 2 => Payload::Input(r.start + 2..r.end),
                    Payload::Owned(mut v) if v.len() >= 2 => {
                        v.drain(..2);
                        Payload::Owned(v)
                    }
                    _ => Payload::Owned(Vec::new()),
                };
                self.state = State::Closed;
                out.push(Event::Close { code, reason });
            }
            _ => out.push(Event::Pong(payload)),
        }
        Ok(())
    }
}

/// Gives back the spare room of a gathered or inflated message. The buffer
/// goes to JS as is, and its whole allocation lives as long as the message
/// does: inflation reserves at least 4 KiB, and growth can double, so a
/// small message could otherwise pin many times its size.
fn shrink_slack(v: &mut Vec<u8>) {
    if v.capacity() - v.len() > v.len() / 8 + 64 {
        v.shrink_to_fit();
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
