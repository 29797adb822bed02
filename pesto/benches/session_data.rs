//! Session data to and from its stored form, for a small typed session and for a `SessionMap`.
//!
//! ```text
//! cargo bench -p pesto --bench session_data -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! pesto stores a session as `{"created_ms":…,"data":<the session type's JSON>}` (serde_json).
//! The code that wraps and unwraps that record (`session/envelope.rs`) and the change check
//! (`exchange/session.rs`) are reached through the hidden `pesto::__private::session_data`.
//!
//! - `decode`: what a load does — unwrap the record (the data borrowed as a raw JSON value, then
//!   copied out) and deserialize the session type;
//! - `encode`: what saving a changed session does — serialize the session type and wrap it;
//! - `unchanged_check`: what a request that only read its session does — serialize into a writer
//!   that compares with the loaded JSON, building nothing.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use pesto::__private::session_data::{
    decode_data, envelope_decode, envelope_encode, serializes_to,
};
use pesto::session::SessionMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A small typed session: who is logged in, a CSRF token, a counter and a short cart.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Visitor {
    user: Option<String>,
    logged_in: bool,
    csrf: String,
    visits: u32,
    cart: Vec<u32>,
}

fn visitor() -> Visitor {
    Visitor {
        user: Some("alice".to_owned()),
        logged_in: true,
        csrf: "2f6b1c0e9d8a7b6c5d4e3f2a1b0c9d8e".to_owned(),
        visits: 42,
        cart: vec![3, 14, 15, 92],
    }
}

/// The same content as a dictionary session.
fn map() -> SessionMap {
    match serde_json::to_value(visitor()).expect("serializes") {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a struct serializes to an object"),
    }
}

// ---- the benchmarks -------------------------------------------------------------------------

/// The three benchmarks for session type `S`, in group `session_data_{name}`.
fn bench_type<S>(c: &mut Criterion, name: &str, session: S)
where
    S: Serialize + DeserializeOwned + Default + PartialEq + std::fmt::Debug,
{
    let created = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let json = serde_json::to_vec(&session).expect("serializes");
    let record = envelope_encode(created, &json, &[]);
    // The round trip gives the session back, and an unchanged session is seen as unchanged.
    let decoded = envelope_decode(&record).expect("a record");
    assert_eq!(decoded.created, created);
    assert_eq!(decode_data::<S>(&decoded.data).expect("decodes"), session);
    assert!(serializes_to(&session, &json).expect("serializes"));

    let mut group = c.benchmark_group(format!("session_data_{name}"));
    group.bench_function("decode", |b| {
        b.iter(|| {
            let decoded = envelope_decode(black_box(&record)).expect("a record");
            (
                decoded.created,
                decode_data::<S>(&decoded.data).expect("decodes"),
            )
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            let json = serde_json::to_vec(black_box(&session)).expect("serializes");
            envelope_encode(created, &json, &[])
        })
    });
    group.bench_function("unchanged_check", |b| {
        b.iter(|| serializes_to(black_box(&session), black_box(&json)).expect("serializes"))
    });
    group.finish();
}

fn session_data(c: &mut Criterion) {
    bench_type(c, "typed", visitor());
    bench_type(c, "map", map());
}

criterion_group!(benches, session_data);
criterion_main!(benches);
