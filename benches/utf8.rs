//! UTF-8 validation: ours (`protocol::utf8::is_valid`, AVX-512/AVX2 with a
//! scalar fallback) against simdutf8's `basic` and `compat` APIs (`compat`
//! reports where validation stopped, which an incremental validator needs).
//! Interleaved rounds, median ns per call. Run: `cargo bench --bench utf8`.

use std::hint::black_box;
use std::time::Instant;

use wsrs::protocol::utf8::is_valid;

fn text(unit: &str, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        out.extend_from_slice(unit.as_bytes());
    }
    // Cut back to a character boundary at or below `size`.
    let mut end = size.min(out.len());
    while end > 0 && (out[end] & 0xc0) == 0x80 {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// A validator under test.
type Validate<'a> = &'a dyn Fn(&[u8]) -> bool;

fn time(f: Validate<'_>, input: &[u8], iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f(black_box(input)));
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn main() {
    let candidates: [(&str, Validate<'_>); 3] = [
        ("wsrs", &|b| is_valid(b)),
        ("simdutf8 basic", &|b| simdutf8::basic::from_utf8(b).is_ok()),
        ("simdutf8 compat", &|b| {
            simdutf8::compat::from_utf8(b).is_ok()
        }),
    ];
    println!(
        "{:<8} {:>9} {:>12} {:>16} {:>16}",
        "input", "size", "wsrs ns", "basic ns", "compat ns"
    );
    for (label, unit) in [
        ("ascii", "The quick brown fox jumps over the lazy dog. "),
        ("mixed", "Grüße, 世界! Ça va? 🦀 "),
    ] {
        for size in [64usize, 1024, 16 * 1024, 1024 * 1024] {
            let input = text(unit, size);
            assert!(candidates.iter().all(|(_, f)| f(&input)));
            let iters = (64 * 1024 * 1024 / size.max(64)).clamp(16, 2_000_000) as u32;
            let mut samples = vec![Vec::new(); candidates.len()];
            for _ in 0..15 {
                for (i, (_, f)) in candidates.iter().enumerate() {
                    samples[i].push(time(*f, &input, iters));
                }
            }
            let medians: Vec<f64> = samples
                .iter_mut()
                .map(|s| {
                    s.sort_by(|a, b| a.total_cmp(b));
                    s[s.len() / 2]
                })
                .collect();
            println!(
                "{:<8} {:>9} {:>12.1} {:>16.1} {:>16.1}",
                label,
                input.len(),
                medians[0],
                medians[1],
                medians[2]
            );
        }
    }
}
