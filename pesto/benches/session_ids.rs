//! Session ids: drawing a new one and reading one a client sent.
//!
//! ```text
//! cargo bench -p pesto --bench session_ids -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! - `generate`: `SessionId::generate()` — 32 bytes from the thread's ChaCha12 (reseeded from the
//!   OS every 1,024 ids, so the reseed is inside the average) written as hex;
//! - `generate_then_key`: the same, then `key()`, the SHA-256 that stores see (worked out on
//!   first use: a new session that is never written needs none);
//! - `parse_valid`: `SessionId::parse` of a well-formed id (shape check and copy);
//! - `parse_valid_then_key`: the same, then `key()`, as a request presenting an id costs before
//!   its store lookup;
//! - `parse_invalid`: the refusal of a 64-character text with one bad character at the end, the
//!   longest a refusal can take.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use pesto::session::SessionId;

fn session_ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("session_id");
    group.bench_function("generate", |b| {
        b.iter(|| SessionId::generate().expect("OS random generator"))
    });
    group.bench_function("generate_then_key", |b| {
        b.iter(|| {
            let id = SessionId::generate().expect("OS random generator");
            black_box(id.key());
            id
        })
    });

    let text = SessionId::generate()
        .expect("OS random generator")
        .to_string();
    group.bench_function("parse_valid", |b| {
        b.iter(|| SessionId::parse(black_box(&text)).expect("a valid id"))
    });
    group.bench_function("parse_valid_then_key", |b| {
        b.iter(|| {
            let id = SessionId::parse(black_box(&text)).expect("a valid id");
            black_box(id.key());
            id
        })
    });

    let bad = format!("{}G", &text[..63]);
    group.bench_function("parse_invalid", |b| {
        b.iter(|| SessionId::parse(black_box(&bad)))
    });
    group.finish();
}

criterion_group!(benches, session_ids);
criterion_main!(benches);
