//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/*`) through its target's body, so
//! that `cargo test --workspace` re-checks each input the fuzzers kept, crashes they found
//! included, without the fuzzer (docs/security.md, "Fuzzing").
//!
//! A missing or empty corpus directory fails the test: it must never pass by replaying nothing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

// The macros' pattern parser and its fuzz body: a proc-macro crate cannot export functions, and
// the parser needs nothing but std, so the replay (like the fuzz binary) includes it by path.
#[path = "../pesto-macros/src/pattern/mod.rs"]
#[allow(dead_code)]
mod pattern;

/// The committed corpus of `target`.
fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// The files of `target`'s corpus; panics when there are none.
fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(target);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => panic!("fuzz corpus {} is missing: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz corpus {} is empty", dir.display());
    files
}

/// Runs `body` on every file of `target`'s corpus and fails naming each file that panicked.
fn replay(target: &str, body: fn(&[u8])) {
    let files = corpus_files(target);
    let mut failed = Vec::new();
    for file in &files {
        let data = match std::fs::read(file) {
            Ok(data) => data,
            Err(e) => panic!("cannot read {}: {e}", file.display()),
        };
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            eprintln!("fuzz target `{target}` failed on {}", file.display());
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "fuzz target `{target}` failed on {} of {} corpus files: {failed:#?}",
        failed.len(),
        files.len()
    );
    println!("{target}: {} corpus files replayed", files.len());
}

#[test]
fn pattern_corpus_replays() {
    replay("pattern", pattern::fuzz::pattern);
}

#[test]
fn path_match_corpus_replays() {
    replay("path_match", pesto::__private::fuzz::path_match);
}

#[test]
fn cookie_header_corpus_replays() {
    replay("cookie_header", pesto::__private::fuzz::cookie_header);
}

#[test]
fn urlencoded_corpus_replays() {
    replay("urlencoded", pesto::__private::fuzz::urlencoded);
}

#[test]
fn multipart_corpus_replays() {
    replay("multipart", pesto::__private::fuzz::multipart);
}

#[test]
fn file_record_corpus_replays() {
    replay("file_record", pesto::__private::fuzz::file_record);
}

#[cfg(feature = "redis")]
#[test]
fn redis_record_corpus_replays() {
    replay("redis_record", pesto::__private::fuzz::redis_record);
}

/// Without the `redis` feature the decoder is not compiled; its corpus must still be there
/// (`cargo test --workspace --features redis` replays it).
#[cfg(not(feature = "redis"))]
#[test]
fn redis_record_corpus_is_present() {
    corpus_files("redis_record");
}
