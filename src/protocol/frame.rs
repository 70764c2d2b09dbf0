//! Frame headers (RFC 6455 section 5.2): opcodes and the header builder.
//!
//! The header is built apart from the payload so the caller can write header
//! and payload as two buffers without copying a large payload.

/// Continuation frame.
pub const OP_CONTINUATION: u8 = 0x0;
/// Text frame.
pub const OP_TEXT: u8 = 0x1;
/// Binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame.
pub const OP_PING: u8 = 0x9;
/// Pong frame.
pub const OP_PONG: u8 = 0xa;

/// The longest possible header: 2 + 8 (length) + 4 (mask).
pub const MAX_HEADER: usize = 14;

/// A frame header: up to 14 bytes, stored inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; MAX_HEADER],
    len: usize,
}

impl Header {
    /// The header bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What a frame header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// The frame's opcode (lower four bits are used).
    pub opcode: u8,
    /// FIN bit.
    pub fin: bool,
    /// RSV1 bit (permessage-deflate's "compressed" flag).
    pub rsv1: bool,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
}

/// Builds the header for a frame of `payload_len` bytes.
pub fn build_header(spec: FrameSpec, payload_len: u64) -> Header {
    let mut bytes = [0u8; MAX_HEADER];
    bytes[0] = spec.opcode & 0x0f;
    if spec.fin {
        bytes[0] |= 0x80;
    }
    if spec.rsv1 {
        bytes[0] |= 0x40;
    }
    let mask_bit = if spec.mask.is_some() { 0x80 } else { 0 };
    let mut len = 2;
    if payload_len < 126 {
        bytes[1] = mask_bit | payload_len as u8;
    } else if payload_len <= u64::from(u16::MAX) {
        bytes[1] = mask_bit | 126;
        bytes[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
        len = 4;
    } else {
        bytes[1] = mask_bit | 127;
        bytes[2..10].copy_from_slice(&payload_len.to_be_bytes());
        len = 10;
    }
    if let Some(mask) = spec.mask {
        bytes[len..len + 4].copy_from_slice(&mask);
        len += 4;
    }
    Header { bytes, len }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(opcode: u8, mask: Option<[u8; 4]>) -> FrameSpec {
        FrameSpec {
            opcode,
            fin: true,
            rsv1: false,
            mask,
        }
    }

    #[test]
    fn length_encodings() {
        assert_eq!(
            build_header(spec(OP_TEXT, None), 0).as_bytes(),
            &[0x81, 0x00]
        );
        assert_eq!(
            build_header(spec(OP_TEXT, None), 125).as_bytes(),
            &[0x81, 125]
        );
        assert_eq!(
            build_header(spec(OP_BINARY, None), 126).as_bytes(),
            &[0x82, 126, 0x00, 126]
        );
        assert_eq!(
            build_header(spec(OP_BINARY, None), 65535).as_bytes(),
            &[0x82, 126, 0xff, 0xff]
        );
        assert_eq!(
            build_header(spec(OP_BINARY, None), 65536).as_bytes(),
            &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(
            build_header(spec(OP_BINARY, None), (1 << 53) - 1).as_bytes(),
            &[0x82, 127, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn flags_and_mask() {
        let h = build_header(
            FrameSpec {
                opcode: OP_CONTINUATION,
                fin: false,
                rsv1: true,
                mask: Some([1, 2, 3, 4]),
            },
            300,
        );
        assert_eq!(h.as_bytes(), &[0x40, 0x80 | 126, 0x01, 0x2c, 1, 2, 3, 4]);
        let h = build_header(spec(OP_PING, Some([9, 9, 9, 9])), 5);
        assert_eq!(h.as_bytes(), &[0x89, 0x85, 9, 9, 9, 9]);
        let h = build_header(spec(OP_CLOSE, Some([0; 4])), 70000);
        assert_eq!(h.as_bytes().len(), MAX_HEADER);
    }
}
