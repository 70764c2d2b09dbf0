//! A connection's task: the handshake, then reads (parsed into events for
//! JavaScript) and writes (of what the commands queued).

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncWrite, Interest};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use crate::engine::conn::{window_bits, Conn};
use crate::engine::ctx::{Ctx, READ_SIZE};
use crate::engine::http::{parse_head, HeadError, Request, RESPONSE_408, RESPONSE_426};
use crate::engine::inbox::Batch;
use crate::engine::outq::MAX_IOV;
use crate::engine::wire::*;
use crate::protocol::deflate::Inflater;
use crate::protocol::handshake::{accept_key, is_valid_key};
use crate::protocol::parser::{Event, Parser, Payload};

/// Reads per wake-up before other connections get a turn.
const READS_PER_TURN: usize = 4;
/// A read buffer whose messages hold at least this many bytes is handed to
/// JavaScript as it is, instead of copying the messages out of it.
const HAND_OVER: usize = 16 * 1024;

/// The connection's task.
pub(crate) async fn run(ctx: Rc<Ctx>, conn: Rc<Conn>, mut stream: TcpStream, peer: SocketAddr) {
    // Runs when the task ends, also if it ends by a panic (a bug: tokio
    // contains it to this task), so that JavaScript always hears of it.
    let _finish = Finish {
        ctx: &ctx,
        conn: &conn,
    };
    // Boxed, so that an open connection does not keep the handshake's
    // state: the task stays small while idle.
    if Box::pin(handshake(&ctx, &conn, &mut stream, peer)).await {
        serve(&ctx, &conn, &mut stream).await;
    }
    drop(stream);
}

/// Forgets a connection whose task has ended, and reports it closed.
struct Finish<'a> {
    ctx: &'a Ctx,
    conn: &'a Conn,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let id = self.conn.id;
        if let Ok(mut conns) = self.ctx.conns.try_borrow_mut() {
            conns.remove(&id);
        }
        let announced = self.conn.st.try_borrow().is_ok_and(|st| st.announced);
        if announced {
            self.ctx.emit(|b| b.push(EV_CLOSED, id, 0, 0));
        }
        self.ctx.gone.notify_one();
    }
}

/// Reads the request head and hands it to JavaScript. Returns whether the
/// connection goes on (to wait for JavaScript's answer).
async fn handshake(ctx: &Ctx, conn: &Conn, stream: &mut TcpStream, peer: SocketAddr) -> bool {
    let head = match timeout(ctx.cfg.handshake_timeout, read_head(ctx, stream)).await {
        Err(_) => {
            refuse(stream, RESPONSE_408).await;
            return false;
        }
        Ok(Err(e)) => {
            refuse(stream, e.response()).await;
            return false;
        }
        Ok(Ok(None)) => return false,
        Ok(Ok(Some(head))) => head,
    };
    let (req, rest) = head;
    if !req.is_upgrade() {
        refuse(stream, RESPONSE_426).await;
        return false;
    }
    let fields = describe(&req, peer);
    {
        let mut st = conn.st.borrow_mut();
        st.announced = true;
        st.rest = rest;
    }
    ctx.emit(|b| b.push_bytes(EV_HANDSHAKE, conn.id, &fields));
    let deadline = Instant::now() + ctx.cfg.handshake_timeout;
    timeout_at(deadline, settle(ctx, conn, stream))
        .await
        .unwrap_or(false)
}

/// Until JavaScript answers: writes what it writes (a refusal), half-closes
/// when told to, and returns whether it accepted.
async fn settle(ctx: &Ctx, conn: &Conn, stream: &mut TcpStream) -> bool {
    let mut blocked = false;
    let mut shut = false;
    loop {
        {
            let st = conn.st.borrow();
            if st.destroy {
                return false;
            }
            if st.accepted {
                return true;
            }
        }
        if !blocked {
            match flush(ctx, conn, stream) {
                Ok(b) => blocked = b,
                Err(_) => return false,
            }
        }
        let shut_now = {
            let st = conn.st.borrow();
            st.shutdown && !shut && st.out.is_empty()
        };
        if shut_now {
            if poll_fn(|cx| Pin::new(&mut *stream).poll_shutdown(cx))
                .await
                .is_err()
            {
                return false;
            }
            shut = true;
        }
        let mut readable = false;
        tokio::select! {
            biased;
            _ = conn.wake.notified() => {}
            r = stream.writable(), if blocked => {
                if r.is_err() {
                    return false;
                }
                blocked = false;
            }
            r = stream.readable(), if shut => {
                if r.is_err() {
                    return false;
                }
                readable = true;
            }
        }
        if readable {
            // Refused and half-closed: wait for the client to go.
            let mut scratch = ctx.scratch.borrow_mut();
            scratch.clear();
            scratch.reserve(READ_SIZE);
            match stream.try_read_buf(&mut *scratch) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
        }
    }
}

async fn read_head(ctx: &Ctx, stream: &TcpStream) -> Result<Option<(Request, Vec<u8>)>, HeadError> {
    let limits = ctx.cfg.head_limits;
    let mut buf = Vec::new();
    loop {
        if stream.readable().await.is_err() {
            return Ok(None);
        }
        buf.reserve(limits.max_bytes.saturating_sub(buf.len()).clamp(1, 4096));
        match stream.try_read_buf(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return Ok(None),
        }
        if let Some((req, len)) = parse_head(&buf, limits)? {
            return Ok(Some((req, buf.split_off(len))));
        }
    }
}

/// The request, NUL separated, as `EV_HANDSHAKE` carries it.
fn describe(req: &Request, peer: SocketAddr) -> Vec<u8> {
    let key = req.header("sec-websocket-key").unwrap_or("");
    let accept = if is_valid_key(key) {
        accept_key(key)
    } else {
        String::new()
    };
    let ip = peer.ip().to_string();
    let port = peer.port().to_string();
    let family = if peer.is_ipv4() { "IPv4" } else { "IPv6" };
    let mut out = Vec::with_capacity(256);
    let mut field = |s: &str| {
        // Header text was decoded from Latin-1; encode it back the same way.
        out.extend(s.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
        out.push(0);
    };
    for s in [
        req.method.as_str(),
        &req.target,
        &req.version,
        &ip,
        &port,
        family,
        &accept,
    ] {
        field(s);
    }
    for (name, value) in &req.headers {
        field(name);
        field(value);
    }
    out.pop();
    out
}

/// Writes a fixed response, half-closes, and reads whatever the client
/// still sends for a moment, so that the response is not lost to a reset.
async fn refuse(stream: &mut TcpStream, response: &[u8]) {
    let _ = stream.try_write(response);
    let _ = poll_fn(|cx| Pin::new(&mut *stream).poll_shutdown(cx)).await;
    let _ = timeout(Duration::from_millis(500), async {
        let mut sink = vec![0u8; 1024];
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match stream.try_read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    })
    .await;
}

enum Read {
    More,
    Eof,
    Failed,
}

/// After the request: wait for JavaScript's answer, then move bytes both
/// ways until the connection ends.
async fn serve(ctx: &Ctx, conn: &Rc<Conn>, stream: &mut TcpStream) {
    let mut write_blocked = false;
    let mut peer_eof = false;
    let mut shut = false;
    let mut rest = std::mem::take(&mut conn.st.borrow_mut().rest);
    if !rest.is_empty() {
        let n = rest.len();
        deliver(ctx, conn, &mut rest, n);
    }
    drop(rest);
    loop {
        if !write_blocked {
            match flush(ctx, conn, stream) {
                Ok(blocked) => write_blocked = blocked,
                Err(_) => return,
            }
        }
        let (destroy, doomed, paused, shut_now) = {
            let st = conn.st.borrow();
            (
                st.destroy,
                st.doomed,
                st.paused,
                st.shutdown && !shut && st.out.is_empty(),
            )
        };
        if destroy || doomed {
            return;
        }
        if shut_now {
            if poll_fn(|cx| Pin::new(&mut *stream).poll_shutdown(cx))
                .await
                .is_err()
            {
                return;
            }
            shut = true;
        }
        if shut && peer_eof {
            return;
        }
        let mut want_read = !paused && !peer_eof;
        if want_read && ctx.throttled() {
            // JavaScript is behind: wait until it has taken its events.
            ctx.park(conn);
            want_read = false;
        }
        // One readiness wait for both directions keeps the task small.
        let interest = match (want_read, write_blocked) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        };
        let mut readable = false;
        tokio::select! {
            biased;
            _ = conn.wake.notified() => {}
            r = stream.ready(interest.unwrap_or(Interest::READABLE)), if interest.is_some() => {
                let Ok(ready) = r else {
                    return;
                };
                readable = want_read && (ready.is_readable() || ready.is_read_closed());
                if ready.is_writable() || ready.is_write_closed() {
                    write_blocked = false;
                }
            }
        }
        if readable {
            match read(ctx, conn, stream) {
                Read::More => {}
                Read::Eof => {
                    peer_eof = true;
                    ctx.emit(|b| b.push(EV_END, conn.id, 0, 0));
                }
                Read::Failed => return,
            }
        }
    }
}

fn read(ctx: &Ctx, conn: &Conn, stream: &TcpStream) -> Read {
    let mut scratch = ctx.scratch.borrow_mut();
    for _ in 0..READS_PER_TURN {
        scratch.clear();
        scratch.reserve(READ_SIZE);
        match stream.try_read_buf(&mut *scratch) {
            Ok(0) => return Read::Eof,
            Ok(n) => {
                deliver(ctx, conn, &mut scratch, n);
                if n < READ_SIZE {
                    return Read::More;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Read::More,
            Err(_) => return Read::Failed,
        }
    }
    Read::More
}

/// Parses the first `n` bytes of `buf` and queues what they held for
/// JavaScript. When messages in it carry enough bytes, `buf` itself is
/// handed over (and replaced by a fresh buffer) rather than copied.
fn deliver(ctx: &Ctx, conn: &Conn, buf: &mut Vec<u8>, n: usize) {
    let chunk = &mut buf[..n];
    let mut events = ctx.events.borrow_mut();
    let result = {
        let mut st = conn.st.borrow_mut();
        if !st.accepted {
            return;
        }
        let deflate = st.deflate;
        let parser = st.parser.get_or_insert_with(|| {
            let mut cfg = ctx.cfg.parser.clone();
            cfg.is_server = true;
            let inflater = (deflate & A_DEFLATE != 0).then(|| {
                Inflater::new(
                    window_bits((deflate >> 20) & 0xf),
                    deflate & A_CLIENT_NCT != 0,
                )
            });
            Box::new(Parser::new(cfg, inflater))
        });
        parser.feed(chunk, &mut events)
    };
    if events.is_empty() && result.is_ok() {
        return;
    }
    let in_place: usize = events
        .iter()
        .map(|ev| match ev {
            Event::Message {
                data: Payload::Input(r),
                ..
            } => r.len(),
            _ => 0,
        })
        .sum();
    let handed = (in_place >= HAND_OVER).then(|| {
        let mut whole = std::mem::replace(buf, Vec::with_capacity(READ_SIZE));
        whole.truncate(n);
        whole
    });
    let id = conn.id;
    let rest: &[u8] = if handed.is_some() { &[] } else { &buf[..n] };
    ctx.emit(|b| {
        let slot = handed.as_ref().and_then(|_| b.reserve_chunk());
        let chunk: &[u8] = match &handed {
            Some(whole) => whole,
            None => rest,
        };
        for ev in events.drain(..) {
            match ev {
                Event::Message {
                    binary,
                    data: Payload::Input(r),
                    ..
                } if slot.is_some() => {
                    let kind = if binary { EV_BINARY } else { EV_TEXT };
                    if let Some(slot) = slot {
                        b.push_slice(kind, id, slot, r);
                    }
                }
                Event::Message { binary, data, .. } => {
                    let kind = if binary { EV_BINARY } else { EV_TEXT };
                    push_payload(b, kind, id, data, chunk);
                }
                Event::Ping(p) => push_payload(b, EV_PING, id, p, chunk),
                Event::Pong(p) => push_payload(b, EV_PONG, id, p, chunk),
                Event::Close { code, reason } => {
                    push_payload(b, EV_CLOSE | u32::from(code) << 16, id, reason, chunk)
                }
            }
        }
        if let (Some(slot), Some(whole)) = (slot, handed) {
            b.fill_chunk(slot, whole);
        }
        if let Err(e) = result {
            b.push_bytes(EV_ERROR, id, e.encoded().as_bytes());
        }
    });
}

fn push_payload(b: &mut Batch, word0: u32, id: u32, p: Payload, chunk: &[u8]) {
    match p {
        Payload::Input(r) => b.push_bytes(word0, id, chunk.get(r).unwrap_or(&[])),
        Payload::Owned(v) => b.push_vec(word0, id, v),
    }
}

/// Writes what is queued. Returns whether the socket is full.
fn flush(ctx: &Ctx, conn: &Conn, stream: &TcpStream) -> io::Result<bool> {
    let mut st = conn.st.borrow_mut();
    let mut progressed = false;
    let mut blocked = false;
    while !st.out.is_empty() {
        let written = {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let n = st.out.slices(&mut iov);
            stream.try_write_vectored(&iov[..n])
        };
        match written {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => progressed |= st.out.advance(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                blocked = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if (progressed || st.report_due) && st.report {
        st.report_due = false;
        let (units, frames) = st.out.progress();
        ctx.emit(|b| b.push(EV_WRITTEN, conn.id, units, frames));
    }
    if st.out.is_empty() {
        st.report = false;
    }
    Ok(blocked)
}
