//! The commands JavaScript sends (see `wire`): accept or refuse a
//! handshake, frame and queue messages, close, pause.

use std::rc::Rc;

use crate::engine::conn::{window_bits, Conn, State};
use crate::engine::ctx::{CommandBatch, Ctx};
use crate::engine::pinned::Pinned;
use crate::engine::wire::*;
use crate::protocol::deflate::{DeflateOptions, Deflater};
use crate::protocol::error::ProtocolError;
use crate::protocol::frame::{build_header, FrameSpec, OP_CLOSE};

/// Applies a batch of commands, then wakes each connection it touched once,
/// so that everything queued for one goes out in one write.
pub(crate) fn apply_batch(ctx: &Ctx, mut batch: CommandBatch) {
    let mut touched: Vec<Rc<Conn>> = Vec::new();
    let recs = std::mem::take(&mut batch.recs);
    for rec in recs.chunks_exact(4) {
        let (w0, id, off, len) = (rec[0], rec[1], rec[2] as usize, rec[3] as usize);
        let conn = match touched.last() {
            Some(c) if c.id == id => c.clone(),
            _ => match ctx.conns.borrow().get(&id) {
                Some(c) => {
                    touched.push(c.clone());
                    c.clone()
                }
                None => continue,
            },
        };
        let cmd = CommandWord::parse(w0);
        let is_frame = cmd.kind == CMD_FRAME || cmd.kind == CMD_WRITE;
        if is_frame && cmd.flags & F_BIG != 0 {
            let Some(big) = batch.bigs.get_mut(off) else {
                continue;
            };
            let payload = std::mem::replace(big, Pinned::from_static(&[]));
            frame(ctx, &conn, cmd, Body::Pinned(payload));
            continue;
        }
        let Some(payload) = off
            .checked_add(len)
            .and_then(|end| batch.data.get(off..end))
        else {
            continue;
        };
        if is_frame {
            frame(ctx, &conn, cmd, Body::Slice(payload));
        } else {
            control(&conn, cmd, payload);
        }
    }
    touched.dedup_by_key(|c| c.id);
    for c in touched {
        c.wake.notify_one();
    }
}

enum Body<'a> {
    Slice(&'a [u8]),
    Pinned(Pinned),
}

impl Body<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Body::Slice(s) => s,
            Body::Pinned(p) => p.bytes(),
        }
    }
}

fn control(conn: &Conn, cmd: CommandWord, payload: &[u8]) {
    let mut st = conn.st.borrow_mut();
    match cmd.kind {
        CMD_ACCEPT => {
            if st.accepted || st.destroy {
                return;
            }
            st.out.push_raw(payload);
            // The flags in the low bits, the window bits where they were.
            st.deflate = u32::from(cmd.opcode) | (cmd.extra & 0xff) << 16;
            st.accepted = true;
        }
        CMD_RAW if !st.accepted => st.out.push_raw(payload),
        CMD_SHUTDOWN => st.shutdown = true,
        CMD_DESTROY => st.destroy = true,
        CMD_REPORT => {
            st.report = true;
            st.report_due = true;
        }
        CMD_PAUSE => st.paused = true,
        CMD_RESUME => st.paused = false,
        _ => {}
    }
}

fn frame(ctx: &Ctx, conn: &Conn, cmd: CommandWord, body: Body<'_>) {
    let mut st = conn.st.borrow_mut();
    if !st.accepted || st.doomed || st.destroy {
        return;
    }
    let opcode = cmd.opcode;
    let flags = cmd.flags;
    let fin = flags & F_FIN != 0;
    if flags & F_REPORT != 0 {
        st.report = true;
    }
    let units = body.bytes().len() as u64;
    if cmd.kind == CMD_WRITE {
        match body {
            Body::Pinned(p) => st.out.push_frame_pinned(&[], p, units),
            Body::Slice(s) => st.out.push_frame(&[], s, units),
        }
        check_limit(ctx, conn, &mut st);
        return;
    }
    let compress = if opcode >= 8 {
        false
    } else if opcode != 0 {
        let c = flags & F_COMPRESS != 0 && st.deflate & A_DEFLATE != 0;
        st.sending_compressed = c;
        c
    } else {
        st.sending_compressed
    };
    if compress && st.deflater.is_none() {
        let d = st.deflate;
        let options = DeflateOptions {
            mem_level: ctx.cfg.deflate_mem_level,
            strategy: ctx.cfg.deflate_strategy,
            ..DeflateOptions::new(ctx.cfg.deflate_level, window_bits((d >> 16) & 0xf))
        };
        st.deflater = Some(Box::new(Deflater::with_options(
            options,
            d & A_SERVER_NCT != 0,
        )));
    }
    let deflated = if compress {
        st.deflater.as_mut().map(|d| {
            let mut out = Vec::new();
            d.compress(body.bytes(), fin, &mut out);
            out
        })
    } else {
        None
    };
    let spec = FrameSpec {
        opcode,
        fin,
        rsv1: compress && opcode != 0,
        mask: None,
    };
    match (deflated, body) {
        (Some(out), _) => {
            let header = build_header(spec, out.len() as u64);
            st.out.push_frame_owned(header.as_bytes(), out, units);
        }
        (None, Body::Pinned(p)) => {
            let header = build_header(spec, p.bytes().len() as u64);
            st.out.push_frame_pinned(header.as_bytes(), p, units);
        }
        (None, Body::Slice(s)) => {
            let header = build_header(spec, s.len() as u64);
            st.out.push_frame(header.as_bytes(), s, units);
        }
    }
    check_limit(ctx, conn, &mut st);
}

fn check_limit(ctx: &Ctx, conn: &Conn, st: &mut State) {
    let limit = ctx.cfg.max_buffered_amount;
    if limit > 0 && st.out.len() > limit {
        doom(ctx, conn, st);
    }
}

/// The peer does not read and the queue is over the limit: drop what was
/// not started, queue a 1008 close frame, tell JavaScript, and end the
/// connection after one last write.
fn doom(ctx: &Ctx, conn: &Conn, st: &mut State) {
    st.out.discard_unstarted();
    let spec = FrameSpec {
        opcode: OP_CLOSE,
        fin: true,
        rsv1: false,
        mask: None,
    };
    let header = build_header(spec, 2);
    st.out.push_raw(header.as_bytes());
    st.out.push_raw(&1008u16.to_be_bytes());
    st.doomed = true;
    let error = ProtocolError::SendQueueLimit.encoded();
    ctx.emit(|b| b.push_bytes(EV_ERROR, conn.id, error.as_bytes()));
}

#[cfg(test)]
mod tests {
    use std::io::IoSlice;

    use super::*;
    use crate::engine::ctx::testing::context;
    use crate::engine::ctx::{lock, Ctx};
    use crate::engine::outq::MAX_IOV;

    const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";

    /// A context with connection 1 in it.
    fn one_connection(max_buffered_amount: usize) -> (Rc<Ctx>, Rc<Conn>) {
        let ctx = context(max_buffered_amount);
        let conn = Rc::new(Conn::new(1));
        ctx.conns.borrow_mut().insert(1, conn.clone());
        (ctx, conn)
    }

    /// A batch of commands, each `(word 0, id, payload)`.
    fn batch(cmds: &[(u32, u32, &[u8])]) -> CommandBatch {
        let mut b = CommandBatch::default();
        for &(w0, id, payload) in cmds {
            let off = b.data.len() as u32;
            b.data.extend_from_slice(payload);
            b.recs
                .extend_from_slice(&[w0, id, off, payload.len() as u32]);
        }
        b
    }

    /// Everything queued on the connection, in order.
    fn queued(conn: &Conn) -> Vec<u8> {
        let st = conn.st.borrow();
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let n = st.out.slices(&mut iov);
        iov[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    fn text_frame(fin: bool) -> u32 {
        let flags = if fin { F_FIN } else { 0 };
        CMD_FRAME | 1 << 8 | flags << 12
    }

    #[test]
    fn frames_wait_for_the_accept() {
        let (ctx, conn) = one_connection(0);
        apply_batch(&ctx, batch(&[(text_frame(true), 1, b"early")]));
        assert!(queued(&conn).is_empty());

        apply_batch(
            &ctx,
            batch(&[(CMD_ACCEPT, 1, RESPONSE), (text_frame(true), 1, b"hi")]),
        );
        let mut expected = RESPONSE.to_vec();
        expected.extend_from_slice(&[0x81, 2, b'h', b'i']);
        assert_eq!(queued(&conn), expected);
        assert!(conn.st.borrow().accepted);
    }

    #[test]
    fn a_second_accept_and_late_raw_writes_are_ignored() {
        let (ctx, conn) = one_connection(0);
        apply_batch(
            &ctx,
            batch(&[
                (CMD_ACCEPT, 1, RESPONSE),
                (CMD_ACCEPT, 1, b"again"),
                (CMD_RAW, 1, b"raw"),
            ]),
        );
        assert_eq!(queued(&conn), RESPONSE);
    }

    #[test]
    fn fragments_and_control_frames() {
        let (ctx, conn) = one_connection(0);
        let ping = CMD_FRAME | 9 << 8 | F_FIN << 12;
        let continuation = CMD_FRAME | F_FIN << 12;
        apply_batch(
            &ctx,
            batch(&[
                (CMD_ACCEPT, 1, b""),
                (text_frame(false), 1, b"a"),
                (ping, 1, b"p"),
                (continuation, 1, b"b"),
            ]),
        );
        assert_eq!(queued(&conn), [0x01, 1, b'a', 0x89, 1, b'p', 0x80, 1, b'b']);
    }

    #[test]
    fn pause_resume_shutdown_destroy_and_report() {
        let (ctx, conn) = one_connection(0);
        apply_batch(&ctx, batch(&[(CMD_PAUSE, 1, b""), (CMD_REPORT, 1, b"")]));
        {
            let st = conn.st.borrow();
            assert!(st.paused && st.report && st.report_due);
        }
        apply_batch(&ctx, batch(&[(CMD_RESUME, 1, b""), (CMD_SHUTDOWN, 1, b"")]));
        assert!(!conn.st.borrow().paused && conn.st.borrow().shutdown);
        apply_batch(
            &ctx,
            batch(&[(CMD_DESTROY, 1, b""), (CMD_ACCEPT, 1, RESPONSE)]),
        );
        assert!(conn.st.borrow().destroy && !conn.st.borrow().accepted);
    }

    #[test]
    fn unknown_connections_and_short_payloads_are_skipped() {
        let (ctx, conn) = one_connection(0);
        let mut b = batch(&[(CMD_ACCEPT, 2, RESPONSE)]);
        // A payload range past the end of the data.
        b.recs.extend_from_slice(&[CMD_ACCEPT, 1, 0, 1 << 20]);
        apply_batch(&ctx, b);
        assert!(queued(&conn).is_empty());
        assert!(!conn.st.borrow().accepted);
    }

    #[test]
    fn over_the_send_limit_the_connection_closes_with_1008() {
        let (ctx, conn) = one_connection(16);
        let big = [0u8; 64];
        apply_batch(
            &ctx,
            batch(&[(CMD_ACCEPT, 1, b""), (text_frame(true), 1, &big)]),
        );
        assert!(conn.st.borrow().doomed);
        assert_eq!(queued(&conn), [0x88, 2, 0x03, 0xf0]);
        let inbox = lock(&ctx.shared.inbox);
        assert_eq!(inbox.batch.recs[0], EV_ERROR);
        assert_eq!(
            inbox.batch.data,
            ProtocolError::SendQueueLimit.encoded().as_bytes()
        );
        drop(inbox);
        // Nothing more is queued once doomed.
        apply_batch(&ctx, batch(&[(text_frame(true), 1, b"more")]));
        assert_eq!(queued(&conn), [0x88, 2, 0x03, 0xf0]);
    }
}
