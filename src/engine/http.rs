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
/// bytes are needed.
pub fn parse_head(buf: &[u8], limits: HeadLimits) -> Result<Option<(Request, usize)>, HeadError> {
    let end = match find_blank_line(buf) {
        Some(end) => end,
        None if buf.len() >= limits.max_bytes => return Err(HeadError::TooLarge),
        None => {
            // A request line must start with a token: fail garbage early.
            if let Some(&b) = buf.first() {
                if !is_token(b) {
                    return Err(HeadError::Malformed);
                }
            }
            return Ok(None);
        }
    };
    if end > limits.max_bytes {
        return Err(HeadError::TooLarge);
    }
    // Every line, the last one included, ends with CRLF.
    let mut lines = buf[..end - 2].split(|&b| b == b'\n');
    let first = lines.next().ok_or(HeadError::Malformed)?;
    let lines = lines.filter(|l| !l.is_empty());
    let (method, target, version) = parse_request_line(strip_cr(first)?)?;
    let mut headers = Vec::new();
    for line in lines {
        let line = strip_cr(line)?;
        if headers.len() == limits.max_headers {
            return Err(HeadError::TooLarge);
        }
        headers.push(parse_field(line)?);
    }
    Ok(Some((
        Request {
            method,
            target,
            version,
            headers,
        },
        end,
    )))
}

fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn strip_cr(line: &[u8]) -> Result<&[u8], HeadError> {
    match line.split_last() {
        Some((b'\r', rest)) => Ok(rest),
        _ => Err(HeadError::Malformed),
    }
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn parse_request_line(line: &[u8]) -> Result<(String, String, String), HeadError> {
    let mut parts = line.split(|&b| b == b' ');
    let method = parts.next().ok_or(HeadError::Malformed)?;
    let target = parts.next().ok_or(HeadError::Malformed)?;
    let version = parts.next().ok_or(HeadError::Malformed)?;
    if parts.next().is_some()
        || method.is_empty()
        || !method.iter().all(|&b| is_token(b))
        || target.is_empty()
        || !target.iter().all(|&b| b > b' ' && b != 0x7f)
    {
        return Err(HeadError::Malformed);
    }
    let version = match version {
        b"HTTP/1.1" => "1.1",
        b"HTTP/1.0" => "1.0",
        _ => return Err(HeadError::Malformed),
    };
    Ok((latin1(method), latin1(target), version.to_string()))
}

fn parse_field(line: &[u8]) -> Result<(String, String), HeadError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HeadError::Malformed)?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(HeadError::Malformed);
    }
    let value = &line[colon + 1..];
    // Field values: visible characters, spaces, tabs and obs-text.
    if value.iter().any(|&b| b == 0x7f || b < b' ' && b != b'\t') {
        return Err(HeadError::Malformed);
    }
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    Ok((latin1(name), latin1(&value[start..end])))
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
}
