//! The four modes. Every connection is a task (two for echo: a reader and a
//! writer, so a full socket buffer on one side never blocks the other).

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, sleep_until, timeout};

use crate::payload::Template;
use crate::proto::{
    client_frame_len, get_hex16, handshake, push_close, push_frame, Deflater, FrameReader, Msg,
    Pmd, RawReader, Rng, OP_PONG,
};
use crate::stats::{clk_tck, cpu_ticks, rss_kib, Counters};
use crate::{Cfg, Mode, Proto};

/// Where a run is.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    Setup,
    Run,
    Stop,
}

/// How long readers wait for the server's close after the window ends.
const GRACE: Duration = Duration::from_secs(3);

/// State every task sees.
struct Shared {
    cfg: Cfg,
    t0: Instant,
    tpl: Option<Template>,
    win_start: AtomicU64,
    win_end: AtomicU64,
    ready: AtomicUsize,
    failed: AtomicUsize,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    fn in_window(&self, ns: u64) -> bool {
        ns >= self.win_start.load(Ordering::Relaxed) && ns < self.win_end.load(Ordering::Relaxed)
    }

    fn host_header(&self) -> String {
        self.cfg.addr.to_string()
    }
}

/// What the writer of a connection is told.
enum Cmd {
    Credits(u64),
    Pong(Vec<u8>),
}

/// What a reader does with each message.
enum Role {
    /// Give the writer one credit per echo.
    Echo(mpsc::UnboundedSender<Cmd>),
    /// Count deliveries; the last subscriber to get a message credits the
    /// publisher.
    Subscriber {
        ring: Arc<Vec<AtomicU32>>,
        nsubs: u32,
        publisher: mpsc::UnboundedSender<Cmd>,
    },
    /// The publisher's own copies: read and dropped.
    Discard,
}

/// Escapes a string as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn f(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "null".into()
    }
}

fn opt_u(v: Option<u64>) -> String {
    v.map_or("null".into(), |v| v.to_string())
}

async fn connect(sh: &Shared) -> Result<TcpStream, String> {
    let s = timeout(Duration::from_secs(5), TcpStream::connect(sh.cfg.addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    Ok(s)
}

/// Connects and, for WebSocket, upgrades.
async fn open(sh: &Shared, rng: &mut Rng) -> Result<(TcpStream, Option<Pmd>, Vec<u8>), String> {
    let mut s = connect(sh).await?;
    if sh.cfg.proto == Proto::Raw {
        return Ok((s, None, Vec::new()));
    }
    let host = sh.host_header();
    let (pmd, left) = timeout(
        Duration::from_secs(10),
        handshake(&mut s, &host, &sh.cfg.path, sh.cfg.deflate, rng),
    )
    .await
    .map_err(|_| "handshake timed out".to_string())??;
    if sh.cfg.deflate && pmd.is_none() {
        return Err("the server declined permessage-deflate".into());
    }
    Ok((s, pmd, left))
}

async fn wait_phase(rx: &mut watch::Receiver<Phase>, pred: impl Fn(Phase) -> bool) -> Phase {
    loop {
        let p = *rx.borrow_and_update();
        if pred(p) {
            return p;
        }
        if rx.changed().await.is_err() {
            return Phase::Stop;
        }
    }
}

/// Sends messages as credits come in; on Stop, a close frame (or a FIN for
/// raw). Returns the write half so that it is dropped only after the reader
/// is done.
#[allow(clippy::too_many_arguments)]
async fn writer(
    sh: Arc<Shared>,
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    mut phase: watch::Receiver<Phase>,
    initial: u64,
    pmd: Option<Pmd>,
    ring: Option<Arc<Vec<AtomicU32>>>,
    seed: u64,
) -> (Counters, OwnedWriteHalf) {
    let mut c = Counters::default();
    let mut rng = Rng::new(seed);
    let ws = sh.cfg.proto == Proto::Ws;
    let mut deflater = pmd.as_ref().map(|p| Deflater::new(p, sh.cfg.level));
    let mut msg = sh.tpl.as_ref().map(|t| t.bytes.clone()).unwrap_or_default();
    let mut out: Vec<u8> = Vec::new();
    let mut pongs: Vec<Vec<u8>> = Vec::new();
    let mut seq: u64 = 0;

    let p = wait_phase(&mut phase, |p| p != Phase::Setup).await;
    let mut credits = if p == Phase::Run { initial } else { 0 };

    'run: loop {
        if *phase.borrow() == Phase::Stop {
            break;
        }
        out.clear();
        for p in pongs.drain(..) {
            push_frame(&mut out, OP_PONG, false, &p, rng.key());
        }
        if let Some(tpl) = sh.tpl.as_ref() {
            while credits > 0 {
                credits -= 1;
                if let Some(ring) = ring.as_ref() {
                    ring[(seq % ring.len() as u64) as usize].store(0, Ordering::Release);
                }
                tpl.stamp(&mut msg, sh.now_ns(), seq);
                seq += 1;
                if !ws {
                    // Raw: the same byte count as the masked frame.
                    let start = out.len();
                    out.extend_from_slice(&msg);
                    out.resize(start + client_frame_len(msg.len()), b' ');
                } else if let Some(d) = deflater.as_mut() {
                    match d.compress(&msg) {
                        Ok(z) => push_frame(&mut out, tpl.opcode, true, z, rng.key()),
                        Err(e) => {
                            c.error(e);
                            break 'run;
                        }
                    }
                } else {
                    push_frame(&mut out, tpl.opcode, false, &msg, rng.key());
                }
            }
        }
        if !out.is_empty() {
            if let Err(e) = wr.write_all(&out).await {
                if *phase.borrow() != Phase::Stop {
                    c.error(format!("write: {e}"));
                }
                break;
            }
        }
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Cmd::Credits(k)) => credits += k,
                Some(Cmd::Pong(p)) => pongs.push(p),
                None => break,
            },
            r = phase.changed() => if r.is_err() { break },
        }
        while let Ok(cmd) = rx.try_recv() {
            match cmd {
                Cmd::Credits(k) => credits += k,
                Cmd::Pong(p) => pongs.push(p),
            }
        }
    }

    if ws {
        out.clear();
        push_close(&mut out, rng.key());
        let _ = timeout(Duration::from_secs(1), wr.write_all(&out)).await;
    } else {
        let _ = timeout(Duration::from_secs(1), wr.shutdown()).await;
    }
    (c, wr)
}

/// Reads until the server closes (or the grace period after Stop ends),
/// checking every message and counting those completed in the window.
#[allow(clippy::too_many_arguments)]
async fn reader(
    sh: Arc<Shared>,
    mut rd: OwnedReadHalf,
    leftover: Vec<u8>,
    pmd: Option<Pmd>,
    mut phase: watch::Receiver<Phase>,
    role: Role,
    pongs: mpsc::UnboundedSender<Cmd>,
    bufsize: usize,
) -> Counters {
    let mut c = Counters::default();
    let Some(tpl) = sh.tpl.as_ref() else {
        return c;
    };
    let size = sh.cfg.size;
    let mut ws_reader = (sh.cfg.proto == Proto::Ws).then(|| FrameReader::new(pmd.as_ref()));
    let mut raw_reader = RawReader::new(client_frame_len(size));
    let mut buf = vec![0u8; bufsize.max(leftover.len())];
    let mut data_len = leftover.len();
    buf[..data_len].copy_from_slice(&leftover);
    let mut stopping = false;
    let mut deadline = tokio::time::Instant::now() + Duration::from_secs(3600);

    loop {
        if data_len > 0 {
            let now = sh.now_ns();
            let win = sh.in_window(now);
            let mut completed = 0u64;
            let raw = ws_reader.is_none();
            let mut on_msg = |m: Msg<'_>| {
                c.received += 1;
                if m.compressed {
                    c.compressed += 1;
                }
                if (!raw && (m.len != size || m.opcode != tpl.opcode))
                    || (raw && m.len != client_frame_len(size))
                {
                    c.error(format!(
                        "echo of the wrong size or type: {} bytes, opcode {} (sent {} bytes, opcode {})",
                        m.len, m.opcode, size, tpl.opcode
                    ));
                    return;
                }
                let stamp = m.head.get(tpl.stamp_at..).and_then(get_hex16);
                let seq = m.head.get(tpl.seq_at..).and_then(get_hex16);
                let (Some(stamp), Some(seq)) = (stamp, seq) else {
                    c.error("message without a stamp".into());
                    return;
                };
                let latency = now.saturating_sub(stamp);
                match &role {
                    Role::Echo(_) => {
                        completed += 1;
                        if win {
                            c.done += 1;
                            c.bytes += size as u64;
                            c.hist.record(latency);
                        }
                    }
                    Role::Subscriber {
                        ring,
                        nsubs,
                        publisher,
                    } => {
                        if win {
                            c.done += 1;
                            c.bytes += size as u64;
                            c.hist.record(latency);
                        }
                        let slot = &ring[(seq % ring.len() as u64) as usize];
                        if slot.fetch_add(1, Ordering::AcqRel) + 1 == *nsubs {
                            let _ = publisher.send(Cmd::Credits(1));
                        }
                    }
                    Role::Discard => {}
                }
            };
            let res = match ws_reader.as_mut() {
                Some(r) => r.feed(&buf[..data_len], &mut on_msg),
                None => {
                    raw_reader.feed(&buf[..data_len], &mut on_msg);
                    Ok(())
                }
            };
            data_len = 0;
            if completed > 0 {
                if let Role::Echo(tx) = &role {
                    let _ = tx.send(Cmd::Credits(completed));
                }
            }
            if let Err(e) = res {
                c.error(format!("protocol: {e}"));
                break;
            }
            if let Some(r) = ws_reader.as_mut() {
                for p in r.pings.drain(..) {
                    let _ = pongs.send(Cmd::Pong(p));
                }
                if r.closed {
                    if !stopping && *phase.borrow() != Phase::Stop {
                        c.error("the server closed the connection".into());
                    }
                    break;
                }
            }
        }

        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) => {
                    if !stopping && *phase.borrow() != Phase::Stop {
                        c.error("the server closed the connection".into());
                    }
                    break;
                }
                Ok(n) => data_len = n,
                Err(e) => {
                    if !stopping && *phase.borrow() != Phase::Stop {
                        c.error(format!("read: {e}"));
                    }
                    break;
                }
            },
            r = phase.changed(), if !stopping => {
                if r.is_err() || *phase.borrow() == Phase::Stop {
                    stopping = true;
                    deadline = tokio::time::Instant::now() + GRACE;
                }
            },
            _ = sleep_until(deadline), if stopping => break,
        }
    }
    c
}

/// One echo (or publisher, or subscriber) connection, from connect to close.
async fn connection(
    sh: Arc<Shared>,
    phase: watch::Receiver<Phase>,
    id: u64,
    kind: ConnKind,
) -> Result<Counters, String> {
    let mut rng = Rng::new(id.wrapping_add(0x5EED) ^ (sh.t0.elapsed().as_nanos() as u64));
    let opened = open(&sh, &mut rng).await;
    let (stream, pmd, leftover) = match opened {
        Ok(v) => v,
        Err(e) => {
            sh.failed.fetch_add(1, Ordering::SeqCst);
            return Err(e);
        }
    };
    sh.ready.fetch_add(1, Ordering::SeqCst);
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let (role, initial, ring, wrx, bufsize) = match kind {
        ConnKind::Echo => (Role::Echo(tx.clone()), sh.cfg.inflight, None, rx, 64 * 1024),
        ConnKind::Subscriber {
            ring,
            nsubs,
            publisher,
        } => (
            Role::Subscriber {
                ring,
                nsubs,
                publisher,
            },
            0,
            None,
            rx,
            16 * 1024,
        ),
        ConnKind::Publisher { ring, credits } => (
            Role::Discard,
            sh.cfg.inflight,
            Some(ring),
            credits,
            64 * 1024,
        ),
    };
    let w = tokio::spawn(writer(
        sh.clone(),
        wr,
        wrx,
        phase.clone(),
        initial,
        pmd.clone(),
        ring,
        rng.next_u64(),
    ));
    let mut c = reader(sh.clone(), rd, leftover, pmd, phase, role, tx, bufsize).await;
    match timeout(GRACE + Duration::from_secs(2), w).await {
        Ok(Ok((wc, _wr))) => c.merge(&wc),
        Ok(Err(e)) => c.error(format!("writer task: {e}")),
        Err(_) => {}
    }
    Ok(c)
}

/// The kinds of connection.
enum ConnKind {
    Echo,
    Subscriber {
        ring: Arc<Vec<AtomicU32>>,
        nsubs: u32,
        publisher: mpsc::UnboundedSender<Cmd>,
    },
    Publisher {
        ring: Arc<Vec<AtomicU32>>,
        credits: mpsc::UnboundedReceiver<Cmd>,
    },
}

/// Waits until `target` tasks are ready; fails on any failure or after
/// `budget`.
async fn await_ready(sh: &Shared, target: usize, budget: Duration) -> Result<(), String> {
    let until = Instant::now() + budget;
    loop {
        let ready = sh.ready.load(Ordering::SeqCst);
        let failed = sh.failed.load(Ordering::SeqCst);
        if failed > 0 {
            return Err(format!(
                "{failed} connection(s) failed to open ({ready} open)"
            ));
        }
        if ready >= target {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(format!(
                "only {ready} of {target} connections opened in time"
            ));
        }
        sleep(Duration::from_millis(5)).await;
    }
}

/// CPU and clock readings at the window's edges.
struct Window {
    secs: f64,
    server_cpu_s: Option<f64>,
    self_cpu_s: Option<f64>,
}

/// Starts the run phase, times the window, then stops.
async fn measure(sh: &Shared, ptx: &watch::Sender<Phase>) -> Window {
    let tck = clk_tck() as f64;
    let self_pid = std::process::id().to_string();
    let go = sh.now_ns();
    let start = go + sh.cfg.warmup.as_nanos() as u64;
    let end = start + sh.cfg.duration.as_nanos() as u64;
    sh.win_start.store(start, Ordering::SeqCst);
    sh.win_end.store(end, Ordering::SeqCst);
    let _ = ptx.send(Phase::Run);

    let base = tokio::time::Instant::now();
    sleep_until(base + sh.cfg.warmup).await;
    let t_a = Instant::now();
    let s_a = sh.cfg.server_pid.as_deref().and_then(cpu_ticks);
    let m_a = cpu_ticks(&self_pid);
    sleep_until(base + sh.cfg.warmup + sh.cfg.duration).await;
    let s_b = sh.cfg.server_pid.as_deref().and_then(cpu_ticks);
    let m_b = cpu_ticks(&self_pid);
    let secs = t_a.elapsed().as_secs_f64();
    let _ = ptx.send(Phase::Stop);

    let delta = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / tck),
        _ => None,
    };
    Window {
        secs,
        server_cpu_s: delta(s_a, s_b),
        self_cpu_s: delta(m_a, m_b),
    }
}

/// Sends SIGUSR2 to the server (its gc hook) and lets it settle.
async fn server_gc(sh: &Shared) {
    if let (true, Some(pid)) = (sh.cfg.gc_signal, sh.cfg.server_pid.as_deref()) {
        let _ = std::process::Command::new("kill")
            .args(["-USR2", pid])
            .status();
        sleep(Duration::from_millis(400)).await;
    }
}

/// Runs the configured mode; returns the JSON report and whether it is clean.
pub async fn run(cfg: Cfg) -> (String, bool) {
    let tpl = if matches!(cfg.mode, Mode::Echo | Mode::Broadcast) {
        match Template::new(cfg.kind, cfg.size) {
            Ok(t) => Some(t),
            Err(e) => return (format!("{{\"error\":{}}}", json_str(&e)), false),
        }
    } else {
        None
    };
    let sh = Arc::new(Shared {
        cfg,
        t0: Instant::now(),
        tpl,
        win_start: AtomicU64::new(u64::MAX),
        win_end: AtomicU64::new(u64::MAX),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });
    let result = match sh.cfg.mode {
        Mode::Echo => run_echo(sh.clone()).await,
        Mode::Broadcast => run_broadcast(sh.clone()).await,
        Mode::Idle => run_idle(sh.clone()).await,
        Mode::Handshake => run_handshake(sh.clone()).await,
    };
    match result {
        Ok((json, errors)) => (json, errors == 0),
        Err(e) => (format!("{{\"error\":{}}}", json_str(&e)), false),
    }
}

fn common_json(sh: &Shared, c: &Counters, w: &Window) -> String {
    let rate = c.done as f64 / w.secs;
    let per_cpu = w.server_cpu_s.map(|s| c.done as f64 / s);
    let q = |p: f64| c.hist.quantile(p).map(|v| v as f64 / 1000.0);
    let samples: Vec<String> = c.error_samples.iter().map(|s| json_str(s)).collect();
    let cfg = &sh.cfg;
    format!(
        "\"mode\":\"{:?}\",\"proto\":\"{:?}\",\"conns\":{},\"inflight\":{},\"size\":{},\
         \"payload\":\"{:?}\",\"deflate\":{},\"window_s\":{},\"done\":{},\"rate\":{},\
         \"mb_per_s\":{},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\"server_cpu_s\":{},\
         \"per_server_cpu_s\":{},\"loadgen_cpu_s\":{},\"loadgen_cpu_util\":{},\"received\":{},\
         \"compressed\":{},\"errors\":{},\"error_samples\":[{}]",
        cfg.mode,
        cfg.proto,
        cfg.conns,
        cfg.inflight,
        cfg.size,
        cfg.kind,
        cfg.deflate,
        f(w.secs),
        c.done,
        f(rate),
        f(c.bytes as f64 / w.secs / 1e6),
        q(0.5).map_or("null".into(), f),
        q(0.99).map_or("null".into(), f),
        if c.hist.count() > 0 {
            f(c.hist.max() as f64 / 1000.0)
        } else {
            "null".into()
        },
        w.server_cpu_s.map_or("null".into(), f),
        per_cpu.map_or("null".into(), f),
        w.self_cpu_s.map_or("null".into(), f),
        w.self_cpu_s.map_or("null".into(), |s| f(s / w.secs)),
        c.received,
        c.compressed,
        c.errors,
        samples.join(",")
    )
}

async fn collect(handles: Vec<tokio::task::JoinHandle<Result<Counters, String>>>) -> Counters {
    let mut total = Counters::default();
    let limit = tokio::time::Instant::now() + GRACE + Duration::from_secs(5);
    for h in handles {
        match tokio::time::timeout_at(limit, h).await {
            Ok(Ok(Ok(c))) => total.merge(&c),
            Ok(Ok(Err(e))) => total.error(e),
            Ok(Err(e)) => total.error(format!("task: {e}")),
            Err(_) => total.error("a connection did not finish in time".into()),
        }
    }
    total
}

async fn run_echo(sh: Arc<Shared>) -> Result<(String, u64), String> {
    let (ptx, prx) = watch::channel(Phase::Setup);
    let mut handles = Vec::new();
    for i in 0..sh.cfg.conns {
        handles.push(tokio::spawn(connection(
            sh.clone(),
            prx.clone(),
            i as u64,
            ConnKind::Echo,
        )));
    }
    if let Err(e) = await_ready(&sh, sh.cfg.conns, Duration::from_secs(20)).await {
        let _ = ptx.send(Phase::Stop);
        return Err(e);
    }
    let w = measure(&sh, &ptx).await;
    let c = collect(handles).await;
    Ok((format!("{{{}}}", common_json(&sh, &c, &w)), c.errors))
}

async fn run_broadcast(sh: Arc<Shared>) -> Result<(String, u64), String> {
    let (ptx, prx) = watch::channel(Phase::Setup);
    let nsubs = sh.cfg.subscribers;
    let ring: Arc<Vec<AtomicU32>> =
        Arc::new((0..sh.cfg.inflight).map(|_| AtomicU32::new(0)).collect());
    let (ctx, crx) = mpsc::unbounded_channel();
    let mut handles = Vec::new();
    // Subscribers first, a bounded number opening at a time.
    let mut opened = 0;
    while opened < nsubs {
        let batch = sh.cfg.connect_concurrency.min(nsubs - opened);
        for i in opened..opened + batch {
            handles.push(tokio::spawn(connection(
                sh.clone(),
                prx.clone(),
                i as u64,
                ConnKind::Subscriber {
                    ring: ring.clone(),
                    nsubs: nsubs as u32,
                    publisher: ctx.clone(),
                },
            )));
        }
        opened += batch;
        if let Err(e) = await_ready(&sh, opened, Duration::from_secs(20)).await {
            let _ = ptx.send(Phase::Stop);
            return Err(e);
        }
    }
    drop(ctx);
    handles.push(tokio::spawn(connection(
        sh.clone(),
        prx.clone(),
        nsubs as u64,
        ConnKind::Publisher {
            ring: ring.clone(),
            credits: crx,
        },
    )));
    if let Err(e) = await_ready(&sh, nsubs + 1, Duration::from_secs(10)).await {
        let _ = ptx.send(Phase::Stop);
        return Err(e);
    }
    // Let servers that register clients asynchronously catch up.
    sleep(Duration::from_millis(200)).await;
    let w = measure(&sh, &ptx).await;
    let c = collect(handles).await;
    let published = c.done as f64 / nsubs as f64;
    Ok((
        format!(
            "{{{},\"subscribers\":{},\"published_per_s\":{}}}",
            common_json(&sh, &c, &w),
            nsubs,
            f(published / w.secs)
        ),
        c.errors,
    ))
}

/// Opens `n` connections, `connect_concurrency` at a time.
async fn open_many(sh: &Arc<Shared>, n: usize, c: &mut Counters) -> Vec<TcpStream> {
    let k = sh.cfg.connect_concurrency.min(n).max(1);
    let mut workers = Vec::new();
    for wkr in 0..k {
        let sh = sh.clone();
        workers.push(tokio::spawn(async move {
            let mut held = Vec::new();
            let mut errors = Vec::new();
            let mut rng = Rng::new(wkr as u64 + 7);
            let mut i = wkr;
            while i < n {
                match open(&sh, &mut rng).await {
                    Ok((s, _, _)) if sh.cfg.proto == Proto::Raw => match raw_ping(s).await {
                        Ok(s) => held.push(s),
                        Err(e) => errors.push(e),
                    },
                    Ok((s, _, _)) => held.push(s),
                    Err(e) => errors.push(e),
                }
                i += k;
            }
            (held, errors)
        }));
    }
    let mut held = Vec::with_capacity(n);
    for w in workers {
        match timeout(Duration::from_secs(60), w).await {
            Ok(Ok((h, errs))) => {
                held.extend(h);
                for e in errs {
                    c.error(e);
                }
            }
            Ok(Err(e)) => c.error(format!("task: {e}")),
            Err(_) => c.error("opening connections took over 60 s".into()),
        }
    }
    held
}

/// Sends one byte and waits for it back: the raw server has accepted the
/// connection (and holds its state) only then. Without it, connects finish in
/// the kernel faster than the server accepts, and its accept queue overflows.
async fn raw_ping(mut s: TcpStream) -> Result<TcpStream, String> {
    s.write_all(b"x").await.map_err(|e| format!("write: {e}"))?;
    let mut b = [0u8; 1];
    let n = timeout(Duration::from_secs(5), s.read(&mut b))
        .await
        .map_err(|_| "echo timed out".to_string())?
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("closed before the echo".into());
    }
    Ok(s)
}

/// Resets every connection (no TIME_WAIT left on the client side: 10,000
/// such sockets per run would soon use up the ephemeral ports).
fn reset_all(held: Vec<TcpStream>) {
    for s in &held {
        let _ = s.set_zero_linger();
    }
    drop(held);
}

async fn run_idle(sh: Arc<Shared>) -> Result<(String, u64), String> {
    let pid = sh.cfg.server_pid.clone();
    let n = sh.cfg.conns;
    let mut c = Counters::default();
    // Warm the server up first (code loaded and compiled, pools grown), so
    // that the RSS difference is what the connections themselves hold.
    let warm = open_many(&sh, (n / 10).clamp(1, 200), &mut c).await;
    sleep(Duration::from_millis(100)).await;
    reset_all(warm);
    sleep(Duration::from_millis(200)).await;
    server_gc(&sh).await;
    let rss_before = pid.as_deref().and_then(rss_kib);
    let t_open = Instant::now();
    let held = open_many(&sh, n, &mut c).await;
    let open_s = t_open.elapsed().as_secs_f64();
    let hold_start = Instant::now();
    sleep(Duration::from_millis(300)).await;
    server_gc(&sh).await;
    let rss_after = pid.as_deref().and_then(rss_kib);
    let rest = sh.cfg.duration.saturating_sub(hold_start.elapsed());
    sleep(rest).await;

    // Were they all still open? A closed one reads 0 bytes at once.
    let mut closed = 0;
    let mut buf = [0u8; 64];
    for s in &held {
        if let Ok(0) = s.try_read(&mut buf) {
            closed += 1;
        }
    }
    if closed > 0 {
        c.error(format!(
            "{closed} connection(s) were closed by the server while idle"
        ));
    }
    let opened = held.len();
    reset_all(held);
    let per_conn = match (rss_before, rss_after) {
        (Some(a), Some(b)) if opened > 0 => Some((b as f64 - a as f64) / opened as f64),
        _ => None,
    };
    let samples: Vec<String> = c.error_samples.iter().map(|s| json_str(s)).collect();
    Ok((
        format!(
            "{{\"mode\":\"Idle\",\"proto\":\"{:?}\",\"conns\":{},\"done\":{},\"open_s\":{},\
             \"open_rate\":{},\"rss_before_kib\":{},\"rss_after_kib\":{},\"kib_per_conn\":{},\
             \"errors\":{},\"error_samples\":[{}]}}",
            sh.cfg.proto,
            n,
            opened,
            f(open_s),
            f(opened as f64 / open_s),
            opt_u(rss_before),
            opt_u(rss_after),
            per_conn.map_or("null".into(), f),
            c.errors,
            samples.join(",")
        ),
        c.errors,
    ))
}

/// One handshake cycle: connect, upgrade (or a 1-byte echo for raw), close.
/// Returns the time to the 101 (or the echo) and whether the close was clean.
async fn cycle(sh: &Shared, rng: &mut Rng) -> Result<(u64, bool), String> {
    let t = Instant::now();
    let (mut s, _, _) = open(sh, rng).await?;
    let mut buf = [0u8; 512];
    if sh.cfg.proto == Proto::Raw {
        s.write_all(b"x").await.map_err(|e| format!("write: {e}"))?;
        let n = timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .map_err(|_| "echo timed out".to_string())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the echo".into());
        }
    }
    let latency = t.elapsed().as_nanos() as u64;
    if sh.cfg.proto == Proto::Raw {
        // A reset, so that no TIME_WAIT socket holds a client port.
        let _ = s.set_zero_linger();
        return Ok((latency, true));
    }
    let mut out = Vec::new();
    push_close(&mut out, rng.key());
    s.write_all(&out).await.map_err(|e| format!("write: {e}"))?;
    // The server closes first (so TIME_WAIT stays on its side).
    let clean = timeout(Duration::from_secs(2), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok();
    if !clean {
        let _ = s.set_zero_linger();
    }
    Ok((latency, clean))
}

async fn run_handshake(sh: Arc<Shared>) -> Result<(String, u64), String> {
    let (ptx, prx) = watch::channel(Phase::Setup);
    let slow_closes = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for wkr in 0..sh.cfg.conns {
        let sh = sh.clone();
        let mut phase = prx.clone();
        let slow = slow_closes.clone();
        handles.push(tokio::spawn(async move {
            let mut c = Counters::default();
            let mut rng = Rng::new(wkr as u64 + 99);
            if wait_phase(&mut phase, |p| p != Phase::Setup).await == Phase::Stop {
                return Ok(c);
            }
            while *phase.borrow() == Phase::Run {
                match cycle(&sh, &mut rng).await {
                    Ok((lat, clean)) => {
                        if !clean {
                            slow.fetch_add(1, Ordering::Relaxed);
                        }
                        if sh.in_window(sh.now_ns()) {
                            c.done += 1;
                            c.hist.record(lat);
                        }
                    }
                    Err(e) => {
                        c.error(e);
                        if c.errors > 100 {
                            break;
                        }
                    }
                }
            }
            Ok(c)
        }));
    }
    let w = measure(&sh, &ptx).await;
    let c = collect(handles).await;
    Ok((
        format!(
            "{{{},\"slow_closes\":{}}}",
            common_json(&sh, &c, &w),
            slow_closes.load(Ordering::Relaxed)
        ),
        c.errors,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Kind;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn kinds_are_named() {
        assert_eq!(format!("{:?}", Kind::Json), "Json");
    }
}
