//! The `url()` that `#[route]` generates, outside and inside a request.
//!
//! ```text
//! cargo bench -p pesto --bench url -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! - `url/outside_request`: `show_recipe.url("fish", 7)`, no request context (empty mount path);
//! - `url/outside_request_to_string`: the same, rendered as text;
//! - `url/inside_request_mounted`: in a handler of an app mounted at `/cook`: the task's request
//!   context is read, the path starts with the mount path;
//! - `url/inside_request_querystring_session`: in a handler under the session middleware in
//!   querystring mode, so the URL also carries the live session id.
//!
//! Inside a request, the loop runs in the handler and times itself; criterion is handed that
//! time (`iter_custom`), so the request around it is not counted.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist};
use pesto::{mount, session_middleware, TestApp};

#[route("/recipes/<category>/<id:int>", GET)]
async fn show_recipe(_req: &mut Request, category: String, id: u32) -> String {
    format!("recipe #{id} in {category}")
}

/// How many `url()` calls the next request's handler makes.
static CALLS: AtomicU64 = AtomicU64::new(0);
/// How long the last request's calls took, in nanoseconds.
static ELAPSED_NS: AtomicU64 = AtomicU64::new(0);

/// Makes `CALLS` calls of `url()` and records how long they took; answers the last URL.
fn timed_calls() -> String {
    let calls = CALLS.load(Ordering::SeqCst);
    let mut last = None;
    let started = Instant::now();
    for _ in 0..calls {
        last = Some(black_box(show_recipe.url(black_box("fish"), black_box(7))));
    }
    let elapsed = started.elapsed();
    ELAPSED_NS.store(
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        Ordering::SeqCst,
    );
    last.map(|url| url.to_string()).unwrap_or_default()
}

#[route("/loop", GET)]
async fn url_loop(_req: &mut Request) -> String {
    timed_calls()
}

#[route("/loop", GET)]
async fn url_loop_with_session(_req: &mut Request<SessionMap>) -> String {
    timed_calls()
}

dispatcher_app!(Plain = [show_recipe, url_loop]);
dispatcher_app!(WithSession = [url_loop_with_session]);

/// Runs `iters` calls inside one request to `path` of `app`; their time as the handler measured it.
fn inside(app: &TestApp, path: &str, iters: u64) -> Duration {
    CALLS.store(iters, Ordering::SeqCst);
    let response = app.get(path).send();
    assert_eq!(response.status(), 200, "{}", response.body_text());
    Duration::from_nanos(ELAPSED_NS.load(Ordering::SeqCst))
}

fn url(c: &mut Criterion) {
    let mut group = c.benchmark_group("url");
    group.bench_function("outside_request", |b| {
        b.iter(|| show_recipe.url(black_box("fish"), black_box(7)))
    });
    group.bench_function("outside_request_to_string", |b| {
        b.iter(|| show_recipe.url(black_box("fish"), black_box(7)).to_string())
    });

    let mounted = TestApp::new(mount("/cook", Plain::new()));
    CALLS.store(1, Ordering::SeqCst);
    assert_eq!(
        mounted.get("/cook/loop").send().body_text(),
        "/cook/recipes/fish/7"
    );
    group.bench_function("inside_request_mounted", |b| {
        b.iter_custom(|iters| inside(&mounted, "/cook/loop", iters))
    });

    // Querystring mode: the first request is redirected to carry a new id; follow it once and
    // keep the URL with the id.
    let sessions = TestApp::new(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(WithSession::new()),
    );
    let first = sessions.get("/loop").send();
    assert_eq!(first.status(), 302);
    let location = first.header("location").expect("redirect").to_owned();
    let with_id = location
        .strip_prefix("http://localhost")
        .expect("a local redirect")
        .to_owned();
    CALLS.store(1, Ordering::SeqCst);
    let answer = sessions.get(&with_id).send().body_text();
    assert!(
        answer.starts_with("/recipes/fish/7?pesto_session="),
        "{answer}"
    );
    group.bench_function("inside_request_querystring_session", |b| {
        b.iter_custom(|iters| inside(&sessions, &with_id, iters))
    });
    group.finish();
}

criterion_group!(benches, url);
criterion_main!(benches);
