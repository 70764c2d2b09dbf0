//! The HTTP side of the native engine: a bounded parser for the request
//! head of an upgrade, and the fixed responses the engine writes itself.

/// Bounds on a request head.
#[derive(Clone, Copy, Debug)]
pub struct HeadLimits {
    /// Most bytes in the head, request line and terminating blank line
    /// included (Node's `maxHeaderSize` is 16 KiB).
    pub max_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_headers: 100,
        }
    }
}

/// Why a head was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Over a bound: 431.
    TooLarge,
    /// Not an HTTP/1.x request head: 400.
    Malformed,
}

impl HeadError {
    /// The response the engine writes before closing.
    pub fn response(self) -> &'static [u8] {
        match self {
            HeadError::TooLarge => RESPONSE_431,
            HeadError::Malformed => RESPONSE_400,
        }
    }
}

/// Node's answer to a malformed request.
pub const RESPONSE_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
/// Node's answer to a head over `maxHeaderSize`.
pub const RESPONSE_431: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
/// Node's answer when the head does not arrive in time.
pub const RESPONSE_408: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n";
/// ws's answer (with the `port` option) to a request that is not an upgrade.
pub const RESPONSE_426: &[u8] = b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 16\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nUpgrade Required";

/// A parsed request head. Names keep their case; text is Latin-1 decoded,
/// as Node decodes header values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// `"1.1"` or `"1.0"`.
    pub version: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether Node would emit `'upgrade'` for it: an `Upgrade` header and
    /// `upgrade` among the `Connection` tokens.
    pub fn is_upgrade(&self) -> bool {
        self.header("upgrade").is_some()
            && self.headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("connection")
                    && v.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
    }
}

/// Looks for a complete head at the start of `buf`. Returns the request and
/// the head's length once the blank line has arrived, `None` while more
/// bytes are needed. Only the first `max_bytes` bytes are ever looked at.
pub fn parse_head(buf: &[u8], limits: HeadLimits) -> Result<Option<(Request, usize)>, HeadError> {
    let window = &buf[..buf.len().min(limits.max_bytes)];
    // A field takes at least 4 bytes ("a:\r\n"), so no more slots than that
    // can ever be used, whatever `max_headers` says.
    let slots = limits.max_headers.min(limits.max_bytes / 4 + 1);
    let mut fields = vec![httparse::EMPTY_HEADER; slots];
    let mut parsed = httparse::Request::new(&mut fields);
    let len = match parsed.parse(window) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_bytes => {
            return Err(HeadError::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    // httparse also takes a bare LF as a line end; Node does not.
    if has_bare_lf(&window[..len]) {
        return Err(HeadError::Malformed);
    }
    let version = match parsed.version {
        Some(1) => "1.1",
        Some(0) => "1.0",
        _ => return Err(HeadError::Malformed),
    };
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(HeadError::Malformed);
    };
    let headers = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_string(), latin1(trim(h.value))))
        .collect();
    Ok(Some((
        Request {
            method: method.to_string(),
            target: target.to_string(),
            version: version.to_string(),
            headers,
        },
        len,
    )))
}

fn has_bare_lf(head: &[u8]) -> bool {
    head.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
}

/// A field value without the spaces and tabs around it.
fn trim(value: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !blank(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |p| p + 1);
    &value[start..end]
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = b"GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nX-Odd:  sp\xe9ce \t\r\n\r\nrest";

    #[test]
    fn parses_a_request() {
        let (req, len) = parse_head(GOOD, HeadLimits::default())
            .expect("valid")
            .expect("complete");
        assert_eq!(len, GOOD.len() - 4);
        assert_eq!(req.headers.len(), 4);
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/chat?x=1");
        assert_eq!(req.version, "1.1");
        assert_eq!(req.header("UPGRADE"), Some("websocket"));
        assert_eq!(req.header("x-odd"), Some("sp\u{e9}ce"));
        assert!(req.is_upgrade());
    }

    #[test]
    fn incomplete_at_every_cut() {
        for cut in 0..GOOD.len() - 4 {
            assert_eq!(
                parse_head(&GOOD[..cut], HeadLimits::default()),
                Ok(None),
                "{cut}"
            );
        }
    }

    #[test]
    fn not_an_upgrade_without_connection_token() {
        let (req, _) = parse_head(
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n",
            HeadLimits::default(),
        )
        .expect("valid")
        .expect("complete");
        assert!(!req.is_upgrade());
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            &b"HELLO\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\0c\r\n\r\n",
            b"GET / HTTP/1.1\nA: b\r\n\r\n",
            b"\x16\x03\x01",
        ] {
            assert_eq!(
                parse_head(bad, HeadLimits::default()),
                Err(HeadError::Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn bounds() {
        let limits = HeadLimits {
            max_bytes: 64,
            max_headers: 2,
        };
        let big = [b'a'; 64];
        assert_eq!(parse_head(&big, limits), Err(HeadError::TooLarge));
        let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(parse_head(many, limits), Err(HeadError::TooLarge));
        let two = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
        assert!(parse_head(two, limits).expect("fits").is_some());
    }

    #[test]
    fn a_huge_max_headers_costs_no_more_than_the_bytes_allow() {
        let limits = HeadLimits {
            max_bytes: 1024,
            max_headers: usize::MAX,
        };
        let (req, _) = parse_head(b"GET / HTTP/1.0\r\nA: 1\r\n\r\n", limits)
            .expect("valid")
            .expect("complete");
        assert_eq!(req.version, "1.0");
        assert_eq!(req.header("a"), Some("1"));
    }
}
