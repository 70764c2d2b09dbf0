//! Protocol violations and the ws outcome each one maps to.
//!
//! Every variant corresponds to exactly one of ws's `WS_ERR_*` codes (or to a
//! zlib inflate failure, or to wsrs's own send queue limit), with ws's
//! message text, error class and close code. Every error crosses into
//! JavaScript in one form, [`ProtocolError::encoded`], which
//! `lib/protocol-error.js` decodes, for both engines and for compression.

use std::fmt;

/// The JavaScript error class ws uses for a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// `RangeError`
    Range,
    /// `Error`
    Plain,
}

/// A protocol violation found while reading frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// RSV2 or RSV3 set on any frame.
    Rsv2Rsv3,
    /// RSV1 set without permessage-deflate, on a continuation or control frame.
    Rsv1,
    /// A reserved opcode, a stray continuation, or a new data frame while a
    /// fragmented message is open.
    InvalidOpcode(u8),
    /// A fragmented control frame.
    ExpectedFin,
    /// A control payload over 125 bytes, or a close payload of one byte.
    InvalidControlPayloadLength(u64),
    /// A server received an unmasked frame.
    ExpectedMask,
    /// A client received a masked frame.
    UnexpectedMask,
    /// A 64-bit length above 2^53 - 1.
    UnsupportedDataPayloadLength,
    /// The message (or its inflated form) exceeds `maxPayload`.
    MaxPayloadExceeded,
    /// More unparsed socket chunks than `maxBufferedChunks`.
    TooManyBufferedChunks,
    /// More fragments in one message than `maxFragments`.
    TooManyFragments,
    /// A close frame carrying a status code that is not allowed on the wire.
    InvalidCloseCode(u16),
    /// A text message or close reason that is not valid UTF-8.
    InvalidUtf8,
    /// The compressed payload could not be inflated.
    Inflate(InflateFailure),
    /// (native engine) The peer does not read: more than
    /// `maxBufferedAmount` bytes are queued for it.
    SendQueueLimit,
}

/// Why inflation failed, named like the zlib error ws would surface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InflateFailure {
    /// zlib's error code name, e.g. `Z_DATA_ERROR`.
    pub code: &'static str,
    /// zlib's errno for that code, e.g. -3.
    pub errno: i32,
    /// A human readable description.
    pub message: String,
}

impl ProtocolError {
    /// ws's `err.code` (`WS_ERR_*`, or the zlib code for inflate failures).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rsv2Rsv3 => "WS_ERR_UNEXPECTED_RSV_2_3",
            Self::Rsv1 => "WS_ERR_UNEXPECTED_RSV_1",
            Self::InvalidOpcode(_) => "WS_ERR_INVALID_OPCODE",
            Self::ExpectedFin => "WS_ERR_EXPECTED_FIN",
            Self::InvalidControlPayloadLength(_) => "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
            Self::ExpectedMask => "WS_ERR_EXPECTED_MASK",
            Self::UnexpectedMask => "WS_ERR_UNEXPECTED_MASK",
            Self::UnsupportedDataPayloadLength => "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
            Self::MaxPayloadExceeded => "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
            Self::TooManyBufferedChunks | Self::TooManyFragments => {
                "WS_ERR_TOO_MANY_BUFFERED_PARTS"
            }
            Self::InvalidCloseCode(_) => "WS_ERR_INVALID_CLOSE_CODE",
            Self::InvalidUtf8 => "WS_ERR_INVALID_UTF8",
            Self::Inflate(f) => f.code,
            Self::SendQueueLimit => "ERR_WSRS_SEND_QUEUE_LIMIT",
        }
    }

    /// The close code ws sends when it fails the connection for this error.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::UnsupportedDataPayloadLength | Self::MaxPayloadExceeded => 1009,
            Self::TooManyBufferedChunks | Self::TooManyFragments | Self::SendQueueLimit => 1008,
            Self::InvalidUtf8 | Self::Inflate(_) => 1007,
            _ => 1002,
        }
    }

    /// The JavaScript error class ws throws.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::InvalidUtf8 | Self::Inflate(_) | Self::SendQueueLimit => ErrorClass::Plain,
            _ => ErrorClass::Range,
        }
    }

    /// ws's `err.message`, including the `Invalid WebSocket frame: ` prefix
    /// where ws adds it.
    pub fn message(&self) -> String {
        const P: &str = "Invalid WebSocket frame: ";
        match self {
            Self::Rsv2Rsv3 => format!("{P}RSV2 and RSV3 must be clear"),
            Self::Rsv1 => format!("{P}RSV1 must be clear"),
            Self::InvalidOpcode(op) => format!("{P}invalid opcode {op}"),
            Self::ExpectedFin => format!("{P}FIN must be set"),
            Self::InvalidControlPayloadLength(n) => format!("{P}invalid payload length {n}"),
            Self::ExpectedMask => format!("{P}MASK must be set"),
            Self::UnexpectedMask => format!("{P}MASK must be clear"),
            Self::UnsupportedDataPayloadLength => {
                "Unsupported WebSocket frame: payload length > 2^53 - 1".to_string()
            }
            Self::MaxPayloadExceeded => "Max payload size exceeded".to_string(),
            Self::TooManyBufferedChunks => "Too many buffered chunks".to_string(),
            Self::TooManyFragments => "Too many message fragments".to_string(),
            Self::InvalidCloseCode(c) => format!("{P}invalid status code {c}"),
            Self::InvalidUtf8 => format!("{P}invalid UTF-8 sequence"),
            Self::Inflate(f) => f.message.clone(),
            Self::SendQueueLimit => "Send queue limit exceeded".to_string(),
        }
    }

    /// zlib's errno, for inflate failures.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Inflate(f) => Some(f.errno),
            _ => None,
        }
    }

    /// The error as it crosses into JavaScript: `code`, close code, class
    /// (`R` for RangeError, `E` for Error), errno (empty when none) and
    /// message, separated by NUL (which no part contains).
    pub fn encoded(&self) -> String {
        let class = match self.class() {
            ErrorClass::Range => 'R',
            ErrorClass::Plain => 'E',
        };
        let errno = self.errno().map(|n| n.to_string()).unwrap_or_default();
        format!(
            "{}\0{}\0{class}\0{errno}\0{}",
            self.code(),
            self.close_code(),
            self.message()
        )
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ProtocolError> {
        vec![
            ProtocolError::Rsv2Rsv3,
            ProtocolError::Rsv1,
            ProtocolError::InvalidOpcode(3),
            ProtocolError::ExpectedFin,
            ProtocolError::InvalidControlPayloadLength(126),
            ProtocolError::ExpectedMask,
            ProtocolError::UnexpectedMask,
            ProtocolError::UnsupportedDataPayloadLength,
            ProtocolError::MaxPayloadExceeded,
            ProtocolError::TooManyBufferedChunks,
            ProtocolError::TooManyFragments,
            ProtocolError::InvalidCloseCode(1005),
            ProtocolError::InvalidUtf8,
        ]
    }

    #[test]
    fn the_encoded_form_holds_every_part() {
        let parts = |e: &ProtocolError| -> Vec<String> {
            e.encoded().split('\0').map(String::from).collect()
        };
        assert_eq!(
            parts(&ProtocolError::TooManyFragments),
            [
                "WS_ERR_TOO_MANY_BUFFERED_PARTS",
                "1008",
                "R",
                "",
                "Too many message fragments"
            ]
        );
        let inflate = ProtocolError::Inflate(InflateFailure {
            code: "Z_DATA_ERROR",
            errno: -3,
            message: "invalid stored block lengths".into(),
        });
        assert_eq!(
            parts(&inflate),
            [
                "Z_DATA_ERROR",
                "1007",
                "E",
                "-3",
                "invalid stored block lengths"
            ]
        );
        assert_eq!(
            parts(&ProtocolError::SendQueueLimit),
            [
                "ERR_WSRS_SEND_QUEUE_LIMIT",
                "1008",
                "E",
                "",
                "Send queue limit exceeded"
            ]
        );
        for e in all() {
            assert_eq!(parts(&e).len(), 5, "{e:?}");
        }
    }

    #[test]
    fn twelve_ws_codes_are_covered() {
        let mut codes: Vec<_> = all().iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 12);
        assert!(codes.iter().all(|c| c.starts_with("WS_ERR_")));
    }

    #[test]
    fn close_codes_and_classes_match_ws() {
        for e in all() {
            let expected = match e.code() {
                "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH" | "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" => {
                    1009
                }
                "WS_ERR_TOO_MANY_BUFFERED_PARTS" => 1008,
                "WS_ERR_INVALID_UTF8" => 1007,
                _ => 1002,
            };
            assert_eq!(e.close_code(), expected, "{e:?}");
            let class = if e == ProtocolError::InvalidUtf8 {
                ErrorClass::Plain
            } else {
                ErrorClass::Range
            };
            assert_eq!(e.class(), class, "{e:?}");
        }
    }

    #[test]
    fn messages_match_ws_text() {
        assert_eq!(
            ProtocolError::InvalidOpcode(0).message(),
            "Invalid WebSocket frame: invalid opcode 0"
        );
        assert_eq!(
            ProtocolError::InvalidControlPayloadLength(1).to_string(),
            "Invalid WebSocket frame: invalid payload length 1"
        );
        assert_eq!(
            ProtocolError::InvalidCloseCode(999).message(),
            "Invalid WebSocket frame: invalid status code 999"
        );
        assert_eq!(
            ProtocolError::UnsupportedDataPayloadLength.message(),
            "Unsupported WebSocket frame: payload length > 2^53 - 1"
        );
        assert_eq!(
            ProtocolError::MaxPayloadExceeded.message(),
            "Max payload size exceeded"
        );
        assert_eq!(
            ProtocolError::TooManyFragments.message(),
            "Too many message fragments"
        );
        let inflate = ProtocolError::Inflate(InflateFailure {
            code: "Z_DATA_ERROR",
            errno: -3,
            message: "invalid block type".into(),
        });
        assert_eq!(inflate.code(), "Z_DATA_ERROR");
        assert_eq!(inflate.close_code(), 1007);
        assert_eq!(inflate.class(), ErrorClass::Plain);
    }
}
