//! One connection's state, shared by its task (`task.rs`) and the commands
//! JavaScript sends it (`commands.rs`).

use std::cell::RefCell;

use tokio::sync::Notify;

use crate::engine::outq::OutQueue;
use crate::protocol::deflate::Deflater;
use crate::protocol::parser::Parser;

/// A connection, shared by its task and the command task.
pub(crate) struct Conn {
    pub(crate) id: u32,
    pub(crate) wake: Notify,
    pub(crate) st: RefCell<State>,
}

#[derive(Default)]
pub(crate) struct State {
    /// JavaScript has seen the request (so it must hear of the close).
    pub(crate) announced: bool,
    pub(crate) accepted: bool,
    pub(crate) out: OutQueue,
    // Created on first use, so that an idle connection holds neither.
    pub(crate) parser: Option<Box<Parser>>,
    pub(crate) deflater: Option<Box<Deflater>>,
    /// permessage-deflate as negotiated: `A_*` flags and window bits as
    /// `CMD_ACCEPT` carries them (0: not negotiated).
    pub(crate) deflate: u32,
    /// Whether the fragmented message being sent is compressed.
    pub(crate) sending_compressed: bool,
    pub(crate) paused: bool,
    pub(crate) shutdown: bool,
    pub(crate) destroy: bool,
    pub(crate) report: bool,
    /// A report is owed even without progress (`CMD_REPORT`).
    pub(crate) report_due: bool,
    pub(crate) doomed: bool,
    /// Bytes that followed the request head, parsed once accepted.
    pub(crate) rest: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(id: u32) -> Self {
        Self {
            id,
            wake: Notify::new(),
            st: RefCell::new(State::default()),
        }
    }
}

/// Window bits as `CMD_ACCEPT` carries them, 15 when absent or invalid.
pub(crate) fn window_bits(v: u32) -> u8 {
    if (8..=15).contains(&v) {
        v as u8
    } else {
        15
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bits_default_to_15() {
        for v in 8..=15 {
            assert_eq!(window_bits(v), v as u8);
        }
        for v in [0, 7, 16, 255, u32::MAX] {
            assert_eq!(window_bits(v), 15);
        }
    }

    #[test]
    fn a_new_connection_holds_no_parser_and_no_compressor() {
        let conn = Conn::new(7);
        let st = conn.st.borrow();
        assert_eq!(conn.id, 7);
        assert!(st.parser.is_none() && st.deflater.is_none());
        assert!(!st.accepted && !st.announced && st.out.is_empty());
    }
}
