//! What the engine's parts share: [`Shared`] between the JavaScript thread
//! and the I/O thread, [`Ctx`] between the I/O thread's tasks, and the
//! types that cross (`EngineConfig`, `CommandBatch`, `Notifier`). It uses
//! the connection's state (`conn`), and is used by the connection tasks
//! and the server, neither of which it knows.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::engine::conn::Conn;
use crate::engine::http::HeadLimits;
use crate::engine::inbox::Batch;
use crate::engine::pinned::Pinned;
use crate::protocol::parser::Config;

/// Bytes asked of each read (the size of the shared read buffer).
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// Above this many bytes of undelivered events, connections stop reading
/// until JavaScript has taken them.
pub(crate) const INBOX_LIMIT: usize = 16 << 20;

/// Wakes JavaScript so that it polls.
pub trait Notifier: Send + 'static {
    /// Returns `false` once JavaScript is gone; the engine then stops.
    fn notify(&self) -> bool;
}

/// How the engine listens and what it allows.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Host to bind; empty for any address (`::`, else `0.0.0.0`).
    pub host: String,
    pub port: u16,
    pub backlog: u32,
    /// Set `SO_REUSEPORT`, so several processes or threads can listen on
    /// one port.
    pub reuse_port: bool,
    /// Incoming limits (the server role is forced).
    pub parser: Config,
    /// zlib level, memLevel and strategy for permessage-deflate.
    pub deflate_level: u32,
    pub deflate_mem_level: u8,
    pub deflate_strategy: u8,
    /// Bytes a connection may have queued unwritten before it is closed
    /// with 1008 (0: no limit).
    pub max_buffered_amount: usize,
    /// Time allowed from accept to the end of the handshake.
    pub handshake_timeout: Duration,
    pub head_limits: HeadLimits,
}

/// Commands from JavaScript (see `wire`).
#[derive(Default)]
pub struct CommandBatch {
    pub recs: Vec<u32>,
    pub data: Vec<u8>,
    /// Large payloads, left in JavaScript's memory.
    pub bigs: Vec<Pinned>,
}

pub(crate) struct Inbox {
    pub(crate) batch: Batch,
    pub(crate) notified: bool,
}

/// State shared by both threads.
pub(crate) struct Shared {
    pub(crate) inbox: Mutex<Inbox>,
    pub(crate) inbox_weight: AtomicUsize,
    /// Signalled when JavaScript took the inbox (wakes `unpark`).
    pub(crate) space: Notify,
    pub(crate) cmds: Mutex<Vec<CommandBatch>>,
    pub(crate) cmd_wake: Notify,
    pub(crate) stop: Notify,
    pub(crate) killed: AtomicBool,
    pub(crate) kill: Notify,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            inbox: Mutex::new(Inbox {
                batch: Batch::default(),
                notified: false,
            }),
            inbox_weight: AtomicUsize::new(0),
            space: Notify::new(),
            cmds: Mutex::new(Vec::new()),
            cmd_wake: Notify::new(),
            stop: Notify::new(),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held; if one did, the
    // data is still consistent enough to go on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The I/O thread's context.
pub(crate) struct Ctx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cfg: EngineConfig,
    pub(crate) notifier: Box<dyn Notifier>,
    pub(crate) conns: RefCell<HashMap<u32, Rc<Conn>>>,
    pub(crate) next_id: Cell<u32>,
    /// The read buffer every connection reads into.
    pub(crate) scratch: RefCell<Vec<u8>>,
    pub(crate) events: RefCell<Vec<crate::protocol::parser::Event>>,
    /// Signalled whenever a connection goes.
    pub(crate) gone: Notify,
    /// Connections waiting for JavaScript to take its events.
    pub(crate) parked: RefCell<Vec<Rc<Conn>>>,
}

impl Ctx {
    /// A context with no connection yet.
    pub(crate) fn new(shared: Arc<Shared>, cfg: EngineConfig, notifier: Box<dyn Notifier>) -> Self {
        Self {
            shared,
            cfg,
            notifier,
            conns: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
            scratch: RefCell::new(Vec::with_capacity(READ_SIZE)),
            events: RefCell::new(Vec::new()),
            gone: Notify::new(),
            parked: RefCell::new(Vec::new()),
        }
    }

    /// Adds events to the inbox, waking JavaScript if it is not already
    /// due to poll.
    pub(crate) fn emit(&self, f: impl FnOnce(&mut Batch)) {
        let call = {
            let mut inbox = lock(&self.shared.inbox);
            f(&mut inbox.batch);
            self.shared
                .inbox_weight
                .store(inbox.batch.weight(), Ordering::Release);
            !std::mem::replace(&mut inbox.notified, true)
        };
        if call && !self.notifier.notify() {
            self.shared.killed.store(true, Ordering::Release);
            self.shared.kill.notify_one();
        }
    }

    /// Whether connections should stop reading for now.
    pub(crate) fn throttled(&self) -> bool {
        self.shared.inbox_weight.load(Ordering::Acquire) > INBOX_LIMIT
    }

    /// Parks a connection until JavaScript polls (see `unpark`).
    pub(crate) fn park(&self, conn: &Rc<Conn>) {
        let mut parked = self.parked.borrow_mut();
        if !parked.iter().any(|c| Rc::ptr_eq(c, conn)) {
            parked.push(conn.clone());
        }
    }

    pub(crate) fn new_id(&self) -> u32 {
        let conns = self.conns.borrow();
        loop {
            let id = self.next_id.get().wrapping_add(1).max(1);
            self.next_id.set(id);
            if !conns.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    struct Quiet;

    impl Notifier for Quiet {
        fn notify(&self) -> bool {
            true
        }
    }

    /// A context for tests: default limits, a notifier that does nothing.
    pub(crate) fn context(max_buffered_amount: usize) -> Rc<Ctx> {
        let cfg = EngineConfig {
            host: String::new(),
            port: 0,
            backlog: 1,
            reuse_port: false,
            parser: Config::default(),
            deflate_level: 6,
            deflate_mem_level: 8,
            deflate_strategy: 0,
            max_buffered_amount,
            handshake_timeout: Duration::from_secs(1),
            head_limits: HeadLimits::default(),
        };
        Rc::new(Ctx::new(Arc::new(Shared::new()), cfg, Box::new(Quiet)))
    }
}
