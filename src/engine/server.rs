//! [`Engine`], the handle the JavaScript thread holds, and the I/O thread's
//! top-level tasks: the accept loop, the command loop and the unparking.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::LocalSet;

use crate::engine::commands::apply_batch;
use crate::engine::conn::Conn;
use crate::engine::ctx::{lock, CommandBatch, Ctx, EngineConfig, Notifier, Shared};
use crate::engine::inbox::Batch;
use crate::engine::task;
use crate::engine::wire::EV_SERVER_CLOSED;

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
                let ctx = Rc::new(Ctx::new(theirs, cfg, notifier));
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
                    tokio::task::spawn_local(task::run(ctx.clone(), c, stream, peer));
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
                apply_batch(&ctx, batch);
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ctx::testing::context;

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
            let ctx = context(0);
            let task = task::run(ctx, Rc::new(Conn::new(1)), s, peer);
            let size = std::mem::size_of_val(&task);
            assert!(size <= 512, "connection task is {size} bytes");
            assert!(std::mem::size_of::<Conn>() <= 192);
        });
    }
}
