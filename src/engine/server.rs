//! The engine's two halves: [`Engine`], used from the JavaScript thread, and
//! the I/O thread's context, which owns the listener and the connections.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Notify;
use tokio::task::LocalSet;

use crate::engine::conn::{self, Conn};
use crate::engine::http::HeadLimits;
use crate::engine::inbox::Batch;
use crate::engine::pinned::Pinned;
use crate::engine::wire::EV_SERVER_CLOSED;
use crate::protocol::parser::Config;

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
    /// zlib level for permessage-deflate.
    pub deflate_level: u32,
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

struct Inbox {
    batch: Batch,
    notified: bool,
}

/// State shared by both threads.
pub(crate) struct Shared {
    inbox: Mutex<Inbox>,
    pub(crate) inbox_weight: AtomicUsize,
    /// Signalled when JavaScript took the inbox (wakes `unpark`).
    pub(crate) space: Notify,
    cmds: Mutex<Vec<CommandBatch>>,
    cmd_wake: Notify,
    stop: Notify,
    killed: AtomicBool,
    kill: Notify,
}

impl Shared {
    fn new() -> Self {
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held; if one did, the
    // data is still consistent enough to go on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The handle JavaScript holds.
pub struct Engine {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Binds, then starts the I/O thread. Returns the bound address.
    pub fn start(
        cfg: EngineConfig,
        notifier: Box<dyn Notifier>,
    ) -> io::Result<(Engine, SocketAddr)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _guard = rt.enter();
            bind(&cfg)?
        };
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("wsrs-io".into())
            .spawn(move || {
                let ctx = Rc::new(Ctx {
                    shared: theirs,
                    cfg,
                    notifier,
                    conns: RefCell::new(HashMap::new()),
                    next_id: Cell::new(0),
                    scratch: RefCell::new(Vec::with_capacity(conn::READ_SIZE)),
                    events: RefCell::new(Vec::new()),
                    gone: Notify::new(),
                    parked: RefCell::new(Vec::new()),
                });
                let local = LocalSet::new();
                local.block_on(&rt, run(ctx.clone(), listener));
                drop(local);
                drop(rt);
                // Dropping the context releases the notifier last.
                drop(ctx);
            })?;
        Ok((
            Engine {
                shared,
                thread: Some(thread),
            },
            addr,
        ))
    }

    /// Takes every pending event. The next event after this wakes
    /// JavaScript again.
    pub fn poll(&self) -> Batch {
        let batch = {
            let mut inbox = lock(&self.shared.inbox);
            inbox.notified = false;
            std::mem::take(&mut inbox.batch)
        };
        self.shared.inbox_weight.store(0, Ordering::Release);
        self.shared.space.notify_one();
        batch
    }

    /// Queues commands for the I/O thread.
    pub fn submit(&self, batch: CommandBatch) {
        lock(&self.shared.cmds).push(batch);
        self.shared.cmd_wake.notify_one();
    }

    /// Stops accepting. Open connections carry on; once they are all gone
    /// the engine reports `EV_SERVER_CLOSED` and its thread ends.
    pub fn close(&self) {
        self.shared.stop.notify_one();
    }

    /// Whether the I/O thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.killed.store(true, Ordering::Release);
        self.shared.kill.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(cfg: &EngineConfig) -> io::Result<TcpListener> {
    let hosts: Vec<&str> = if cfg.host.is_empty() {
        vec!["::", "0.0.0.0"]
    } else {
        vec![cfg.host.as_str()]
    };
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind");
    for host in hosts {
        let addrs = match (host, cfg.port).to_socket_addrs() {
            Ok(a) => a,
            Err(e) => {
                last = e;
                continue;
            }
        };
        for addr in addrs {
            match bind_one(cfg, addr) {
                Ok(l) => return Ok(l),
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

fn bind_one(cfg: &EngineConfig, addr: SocketAddr) -> io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    if cfg.reuse_port {
        sock.set_reuseport(true)?;
    }
    sock.bind(addr)?;
    sock.listen(cfg.backlog.max(1))
}

/// The I/O thread's context.
pub(crate) struct Ctx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cfg: EngineConfig,
    notifier: Box<dyn Notifier>,
    pub(crate) conns: RefCell<HashMap<u32, Rc<Conn>>>,
    next_id: Cell<u32>,
    /// The read buffer every connection reads into.
    pub(crate) scratch: RefCell<Vec<u8>>,
    pub(crate) events: RefCell<Vec<crate::protocol::parser::Event>>,
    /// Signalled whenever a connection goes.
    pub(crate) gone: Notify,
    /// Connections waiting for JavaScript to take its events.
    pub(crate) parked: RefCell<Vec<Rc<Conn>>>,
}

impl Ctx {
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

    fn new_id(&self) -> u32 {
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

async fn run(ctx: Rc<Ctx>, listener: TcpListener) {
    if ctx.shared.killed.load(Ordering::Acquire) {
        return;
    }
    tokio::task::spawn_local(commands(ctx.clone()));
    tokio::task::spawn_local(unpark(ctx.clone()));
    let serve = async {
        accept_loop(&ctx, listener).await;
        while !ctx.conns.borrow().is_empty() {
            ctx.gone.notified().await;
        }
        ctx.emit(|b| b.push(EV_SERVER_CLOSED, 0, 0, 0));
    };
    tokio::select! {
        _ = serve => {}
        _ = ctx.shared.kill.notified() => {}
    }
}

async fn accept_loop(ctx: &Rc<Ctx>, listener: TcpListener) {
    loop {
        tokio::select! {
            biased;
            _ = ctx.shared.stop.notified() => return,
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let id = ctx.new_id();
                    let c = Rc::new(Conn::new(id));
                    ctx.conns.borrow_mut().insert(id, c.clone());
                    tokio::task::spawn_local(conn::run(ctx.clone(), c, stream, peer));
                }
                // Out of descriptors and the like: back off a little.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

/// Wakes the parked connections each time JavaScript has polled.
async fn unpark(ctx: Rc<Ctx>) {
    loop {
        ctx.shared.space.notified().await;
        let parked = std::mem::take(&mut *ctx.parked.borrow_mut());
        for c in parked {
            c.wake.notify_one();
        }
    }
}

async fn commands(ctx: Rc<Ctx>) {
    loop {
        ctx.shared.cmd_wake.notified().await;
        let batches = std::mem::take(&mut *lock(&ctx.shared.cmds));
        for batch in batches {
            // A panic here would be a bug; contain it to this batch rather
            // than stop every connection's commands.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                conn::apply_batch(&ctx, batch);
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;

    impl Notifier for Quiet {
        fn notify(&self) -> bool {
            true
        }
    }

    /// An idle connection costs its task's future: keep it small (the
    /// handshake's state is boxed and freed once the handshake is over).
    #[test]
    fn an_idle_connection_task_stays_small() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let s = tokio::net::TcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
            let peer = s.local_addr().unwrap();
            let cfg = EngineConfig {
                host: String::new(),
                port: 0,
                backlog: 1,
                reuse_port: false,
                parser: Config::default(),
                deflate_level: 6,
                max_buffered_amount: 0,
                handshake_timeout: Duration::from_secs(1),
                head_limits: HeadLimits::default(),
            };
            let ctx = Rc::new(Ctx {
                shared: Arc::new(Shared::new()),
                cfg,
                notifier: Box::new(Quiet),
                conns: RefCell::new(HashMap::new()),
                next_id: Cell::new(0),
                scratch: RefCell::new(Vec::new()),
                events: RefCell::new(Vec::new()),
                gone: Notify::new(),
                parked: RefCell::new(Vec::new()),
            });
            let task = conn::run(ctx, Rc::new(Conn::new(1)), s, peer);
            let size = std::mem::size_of_val(&task);
            assert!(size <= 512, "connection task is {size} bytes");
            assert!(std::mem::size_of::<Conn>() <= 192);
        });
    }
}
