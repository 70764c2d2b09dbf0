//! wsrs-loadgen: a WebSocket (and raw TCP) load generator for wsrs's
//! end-to-end benchmark. It talks only to loopback addresses, stops by
//! itself, and prints one JSON object on stdout.
//!
//! Modes:
//! - `echo`: C connections, W messages in flight on each (pipelined, masked
//!   frames), every echo checked for size and type; messages/s, MB/s, round
//!   trip p50/p99.
//! - `broadcast`: S subscribers and one publisher; the server sends every
//!   publisher message to every client; deliveries/s at the subscribers.
//! - `idle`: open N connections and hold them; server RSS per connection.
//! - `handshake`: C workers open, upgrade and close connections in a loop.
//!
//! With `--server-pid`, the server's CPU time (utime + stime from
//! /proc/<pid>/stat) is read at the start and the end of the measured window.
//!
//! Run `loadgen --help` for the options.

mod payload;
mod proto;
mod run;
mod sha1;
mod stats;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use payload::Kind;

/// What to do.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    Echo,
    Broadcast,
    Idle,
    Handshake,
}

/// WebSocket, or raw TCP (the floor: the same bytes with no framing).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Proto {
    Ws,
    Raw,
}

/// The command line, parsed.
#[derive(Clone, Debug)]
pub struct Cfg {
    pub mode: Mode,
    pub proto: Proto,
    pub addr: SocketAddr,
    pub path: String,
    pub conns: usize,
    pub inflight: u64,
    pub size: usize,
    pub kind: Kind,
    pub deflate: bool,
    pub level: u32,
    pub warmup: Duration,
    pub duration: Duration,
    pub server_pid: Option<String>,
    pub gc_signal: bool,
    pub subscribers: usize,
    pub threads: usize,
    pub connect_concurrency: usize,
}

const USAGE: &str = "\
usage: loadgen --port P [options]
  --mode echo|broadcast|idle|handshake   (echo)
  --proto ws|raw            WebSocket, or raw TCP echo of the same bytes (ws)
  --host H                  a loopback address only (127.0.0.1)
  --path /P                 request path (/)
  --conns C                 connections; idle: connections to hold;
                            handshake: concurrent workers (32)
  --inflight W              messages in flight per connection (16)
  --size S                  payload bytes, at least 64 (64)
  --payload binary|text|json (binary)
  --deflate                 offer permessage-deflate, compress every message
  --level L                 client deflate level (1)
  --subscribers N           broadcast subscribers (1000)
  --warmup SECS             unmeasured time first (1)
  --duration SECS           measured time; idle: how long to hold (3)
  --server-pid PID          read its CPU time / RSS from /proc
  --gc-signal               idle: send SIGUSR2 (the servers' gc hook) before RSS
  --threads N               runtime worker threads (1)
  --connect-concurrency K   connections opened at once (64)
The raw proto sends blobs of the masked client frame's size.";

fn fail(msg: &str) -> ! {
    eprintln!("loadgen: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_num<T: std::str::FromStr>(name: &str, v: Option<String>) -> T {
    match v.as_deref().map(str::parse) {
        Some(Ok(n)) => n,
        _ => fail(&format!("{name} needs a number")),
    }
}

fn parse_secs(name: &str, v: Option<String>) -> Duration {
    let s: f64 = parse_num(name, v);
    if !(0.0..=3600.0).contains(&s) {
        fail(&format!("{name} out of range"));
    }
    Duration::from_secs_f64(s)
}

fn parse_args() -> Cfg {
    let mut args = std::env::args().skip(1);
    let mut mode = Mode::Echo;
    let mut proto = Proto::Ws;
    let mut host = String::from("127.0.0.1");
    let mut port: Option<u16> = None;
    let mut cfg_path = String::from("/");
    let mut conns = None;
    let mut inflight = 16;
    let mut size = 64;
    let mut kind = Kind::Binary;
    let mut deflate = false;
    let mut level = 1;
    let mut subscribers = 1000;
    let mut warmup = Duration::from_secs(1);
    let mut duration = Duration::from_secs(3);
    let mut server_pid = None;
    let mut gc_signal = false;
    let mut threads = 1;
    let mut connect_concurrency = 64;

    while let Some(a) = args.next() {
        match a.as_str() {
            "--mode" => {
                mode = match args.next().as_deref() {
                    Some("echo") => Mode::Echo,
                    Some("broadcast") => Mode::Broadcast,
                    Some("idle") => Mode::Idle,
                    Some("handshake") => Mode::Handshake,
                    _ => fail("bad --mode"),
                }
            }
            "--proto" => {
                proto = match args.next().as_deref() {
                    Some("ws") => Proto::Ws,
                    Some("raw") => Proto::Raw,
                    _ => fail("bad --proto"),
                }
            }
            "--payload" => {
                kind = match args.next().as_deref() {
                    Some("binary") => Kind::Binary,
                    Some("text") => Kind::Text,
                    Some("json") => Kind::Json,
                    _ => fail("bad --payload"),
                }
            }
            "--host" => host = args.next().unwrap_or_default(),
            "--port" => port = Some(parse_num("--port", args.next())),
            "--path" => cfg_path = args.next().unwrap_or_else(|| "/".into()),
            "--conns" => conns = Some(parse_num::<usize>("--conns", args.next())),
            "--inflight" => inflight = parse_num("--inflight", args.next()),
            "--size" => size = parse_num("--size", args.next()),
            "--deflate" => deflate = true,
            "--level" => level = parse_num("--level", args.next()),
            "--subscribers" => subscribers = parse_num("--subscribers", args.next()),
            "--warmup" => warmup = parse_secs("--warmup", args.next()),
            "--duration" => duration = parse_secs("--duration", args.next()),
            "--server-pid" => {
                let p: u32 = parse_num("--server-pid", args.next());
                server_pid = Some(p.to_string());
            }
            "--gc-signal" => gc_signal = true,
            "--threads" => threads = parse_num("--threads", args.next()),
            "--connect-concurrency" => {
                connect_concurrency = parse_num("--connect-concurrency", args.next())
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => fail(&format!("unknown argument: {other}")),
        }
    }

    let ip: IpAddr = host
        .parse()
        .unwrap_or_else(|_| fail("--host must be an IP address"));
    if !ip.is_loopback() {
        fail("--host must be a loopback address");
    }
    let port = port.unwrap_or_else(|| fail("--port is required"));
    if !cfg_path.starts_with('/') || cfg_path.contains(char::is_whitespace) {
        fail("--path must start with / and have no spaces");
    }
    let conns = conns.unwrap_or(match mode {
        Mode::Idle => 1000,
        _ => 32,
    });
    if conns == 0 || inflight == 0 || threads == 0 || connect_concurrency == 0 {
        fail("counts must be positive");
    }
    if level > 9 {
        fail("--level is 0..9");
    }
    if deflate && proto == Proto::Raw {
        fail("--deflate needs --proto ws");
    }
    if mode == Mode::Broadcast && subscribers == 0 {
        fail("--subscribers must be positive");
    }
    if matches!(mode, Mode::Echo | Mode::Broadcast) && size < 64 {
        fail("--size must be at least 64");
    }

    Cfg {
        mode,
        proto,
        addr: SocketAddr::new(ip, port),
        path: cfg_path,
        conns,
        inflight,
        size,
        kind,
        deflate,
        level,
        warmup,
        duration,
        server_pid,
        gc_signal,
        subscribers,
        threads,
        connect_concurrency,
    }
}

fn main() {
    let cfg = parse_args();

    // Whatever happens, stop: setup budget + warmup + duration + grace.
    let cap = Duration::from_secs(90) + cfg.warmup + cfg.duration;
    std::thread::spawn(move || {
        std::thread::sleep(cap);
        println!(
            "{{\"error\":\"loadgen hit its hard time limit of {} s\"}}",
            cap.as_secs()
        );
        std::process::exit(3);
    });

    let rt = if cfg.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            println!("{{\"error\":{}}}", run::json_str(&format!("runtime: {e}")));
            std::process::exit(1);
        }
    };
    let (json, ok) = rt.block_on(run::run(cfg));
    println!("{json}");
    // Do not wait for lingering sockets or tasks.
    std::process::exit(if ok { 0 } else { 1 });
}
