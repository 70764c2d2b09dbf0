//! Replays the fuzz seed corpora and every input that once broke a fuzz
//! invariant (`fuzz/regressions/<target>/`) through the fuzz harnesses, so
//! that `cargo test` keeps each crash found by `npm run fuzz` fixed. The
//! harnesses are the fuzz crate's own source, included as a module (they
//! name this crate `wsrs`, which lib.rs makes resolve in test builds).

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::fs;
use std::path::Path;

/// Every file of `fuzz/<dir>/<target>/`, sorted, with its name.
fn inputs(dir: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = fs::read_dir(&path) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.display().to_string();
            let data = fs::read(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, data)
        })
        .collect()
}

/// Runs `check` on every regression and seed input of `target`.
fn replay(target: &str, check: impl Fn(&[u8]) + std::panic::RefUnwindSafe) -> usize {
    let mut n = 0;
    for dir in ["regressions", "corpus"] {
        for (name, data) in inputs(dir, target) {
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{name} fails the {target} harness");
            }
            n += 1;
        }
    }
    n
}

#[test]
fn parse_server_inputs() {
    assert!(replay("parse_server", |d| harness::frames::check(d, true)) > 0);
}

#[test]
fn parse_client_inputs() {
    assert!(replay("parse_client", |d| harness::frames::check(d, false)) > 0);
}

#[test]
fn inflate_inputs() {
    assert!(replay("inflate", harness::inflate::check) > 0);
}

#[test]
fn utf8_stream_inputs() {
    assert!(replay("utf8_stream", harness::utf8::check) > 0);
}
