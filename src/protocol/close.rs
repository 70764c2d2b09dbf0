//! Close codes (RFC 6455 section 7.4) and close frame payloads.

/// Whether `code` may appear in a close frame on the wire, by ws's rule:
/// 1000 to 1014 except 1004, 1005 and 1006, or 3000 to 4999.
pub fn is_valid_status_code(code: u16) -> bool {
    (1000..=1014).contains(&code) && !matches!(code, 1004..=1006) || (3000..=4999).contains(&code)
}

/// Status reported when a close frame has an empty body.
pub const NO_STATUS: u16 = 1005;
/// Status reported when the connection ended without a close frame.
pub const ABNORMAL: u16 = 1006;

/// Builds a close frame body: the code in network order, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 + reason.len());
    body.extend_from_slice(&code.to_be_bytes());
    body.extend_from_slice(reason);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_code_rules() {
        let valid: Vec<u16> = (0..=u16::MAX)
            .filter(|&c| is_valid_status_code(c))
            .collect();
        let mut expected: Vec<u16> = (1000..=1003).collect();
        expected.extend(1007..=1014);
        expected.extend(3000..=4999);
        assert_eq!(valid, expected);
        for c in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!is_valid_status_code(c), "{c}");
        }
    }

    #[test]
    fn payload_layout() {
        assert_eq!(close_payload(1000, b"ok"), vec![0x03, 0xe8, b'o', b'k']);
        assert_eq!(close_payload(4999, b""), vec![0x13, 0x87]);
    }
}
