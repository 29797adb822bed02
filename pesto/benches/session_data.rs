//! Session data to and from its stored form, for a small typed session and for a `SessionMap`.
//!
//! ```text
//! cargo bench -p pesto --bench session_data -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! pesto stores a session as `{"created_ms":…,"data":<the session type's JSON>}` (serde_json).
//! The code that wraps and unwraps that record is private (`session/envelope.rs`, and the change
//! check in `exchange/session.rs`), so this file repeats it step for step; keep the two in step.
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
use pesto::session::SessionMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

// ---- pesto's stored form, repeated from session/envelope.rs and exchange/session.rs ----------

/// What `decode_data` reads as the session type's default.
const DEFAULT_DATA: &[u8] = b"null";

#[derive(Deserialize)]
struct Stored<'a> {
    created_ms: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

fn envelope_encode(created: SystemTime, data: &[u8]) -> Vec<u8> {
    let millis = created
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut out = Vec::with_capacity(data.len() + 40);
    out.extend_from_slice(b"{\"created_ms\":");
    out.extend_from_slice(millis.to_string().as_bytes());
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data);
    out.push(b'}');
    out
}

fn envelope_decode(record: &[u8]) -> Option<(SystemTime, Vec<u8>)> {
    if record.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let stored: Stored<'_> = serde_json::from_slice(record).ok()?;
    let created = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(stored.created_ms))?;
    Some((created, stored.data.get().as_bytes().to_vec()))
}

fn decode_data<S: DeserializeOwned + Default>(json: &[u8]) -> serde_json::Result<S> {
    if json == DEFAULT_DATA {
        return Ok(S::default());
    }
    serde_json::from_slice(json)
}

fn serializes_to<T: Serialize>(value: &T, expected: &[u8]) -> serde_json::Result<bool> {
    struct Compare<'e> {
        rest: &'e [u8],
        same: bool,
    }
    impl std::io::Write for Compare<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.rest.strip_prefix(buf) {
                Some(rest) if self.same => self.rest = rest,
                _ => self.same = false,
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut compare = Compare {
        rest: expected,
        same: true,
    };
    serde_json::to_writer(&mut compare, value)?;
    Ok(compare.same && compare.rest.is_empty())
}

// ---- the benchmarks -------------------------------------------------------------------------

/// The three benchmarks for session type `S`, in group `session_data_{name}`.
fn bench_type<S>(c: &mut Criterion, name: &str, session: S)
where
    S: Serialize + DeserializeOwned + Default + PartialEq + std::fmt::Debug,
{
    let created = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let json = serde_json::to_vec(&session).expect("serializes");
    let record = envelope_encode(created, &json);
    // The round trip gives the session back, and an unchanged session is seen as unchanged.
    let (at, data) = envelope_decode(&record).expect("a record");
    assert_eq!(at, created);
    assert_eq!(decode_data::<S>(&data).expect("decodes"), session);
    assert!(serializes_to(&session, &json).expect("serializes"));

    let mut group = c.benchmark_group(format!("session_data_{name}"));
    group.bench_function("decode", |b| {
        b.iter(|| {
            let (created, data) = envelope_decode(black_box(&record)).expect("a record");
            (created, decode_data::<S>(&data).expect("decodes"))
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            let json = serde_json::to_vec(black_box(&session)).expect("serializes");
            envelope_encode(created, &json)
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
