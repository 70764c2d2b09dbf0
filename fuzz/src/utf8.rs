//! Incremental UTF-8 validation against `std::str::from_utf8`.
//!
//! Input layout: a count and that many chunking seeds, then the text.
//!
//! Invariants: `is_valid` agrees with std; a `Utf8Stream` fed the text in
//! pieces agrees with std at the end; it says no exactly at the first piece
//! whose end makes the text impossible to complete (std reports an invalid
//! sequence, not just a cut-off one, for the text so far); and after
//! `finish` it starts afresh.

use wsrs::protocol::utf8::{is_valid, Utf8Stream};

use super::bytes::{bytewise, cuts, split, Reader};

/// Runs every check on one fuzz input.
pub fn check(data: &[u8]) {
    let mut r = Reader::new(data);
    let seed_count = usize::from(r.byte() % 16);
    let seeds = r.take(seed_count).to_vec();
    let text = r.rest();
    let whole = std::str::from_utf8(text).is_ok();
    assert_eq!(is_valid(text), whole, "is_valid vs std");

    let mut stream = Utf8Stream::new();
    stream_agrees(&mut stream, text, &cuts(&seeds, text.len()));
    // The same validator, reused after finish(), one byte at a time.
    if text.len() <= 4096 {
        stream_agrees(&mut stream, text, &bytewise(text.len()));
    }
}

fn stream_agrees(stream: &mut Utf8Stream, text: &[u8], cut_list: &[usize]) {
    let mut fed = 0;
    for piece in split(text, cut_list) {
        fed += piece.len();
        let ok = stream.feed(piece);
        let impossible = matches!(
            std::str::from_utf8(&text[..fed]),
            Err(e) if e.error_len().is_some()
        );
        assert_eq!(ok, !impossible, "after {fed} bytes");
        if !ok {
            stream.finish();
            return;
        }
    }
    let complete = stream.finish();
    assert_eq!(complete, std::str::from_utf8(text).is_ok(), "at the end");
}
