//! Routing cost against the number of routes: the matcher is a trie, so looking up a route among
//! 10,000 should cost about the same as among 10.
//!
//! ```text
//! cargo bench -p pesto --bench dispatch -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! `dispatch/…` runs the whole in-process call as a client would: build the request (URI
//! parsing included), then `Endpoint::call` on a current-thread runtime.
//!
//! `vs_matchit_param/…` and `vs_matchit_static/…` put pesto beside matchit, the router behind
//! axum, on the same tables (10 / 100 / 1,000 routes) and the same paths; the two functions of a
//! table size print one after the other, so their ratio reads straight off the output:
//!
//! - `matchit_at/N`: `matchit::Router::at` alone (borrowed parameters, no conversion);
//! - `pesto_dispatch/N`: pesto's full in-process dispatch of a request built beforehand (not
//!   timed): lookup with the `int` converter, `Request` built, handler run, `Response` out, no
//!   session. The call is polled directly, without a runtime's scheduling (it completes without
//!   waiting); should it ever wait, it is finished on the runtime.
//!
//! - `pesto_lookup/N`: pesto's route lookup alone (`Dispatcher::lookup_route`, hidden): path
//!   decoding, the trie, the `int` converter's check and owned captures.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use futures_util::FutureExt;
use http_body_util::Full;
use pesto::__private::{Captures, Conv, HandlerFuture, Part, RouteEntry, RouteInfo};
use pesto::{box_body, Dispatcher, Endpoint, RawRequest, Request, Response};
use tokio::runtime::Runtime;

fn handler(req: &mut Request, params: Captures) -> HandlerFuture<'_> {
    // What generated code does: each value read in the request's path (only a `String` copies).
    let text = (0..params.len())
        .filter_map(|i| params.get(i, req.path_info()))
        .collect::<String>();
    Box::pin(async move { Response::text(text) })
}

/// `count` routes shaped like a real app: `/section{i}/items/<id:int>` and `/section{i}/about`.
fn table(count: usize) -> Dispatcher {
    let mut entries = Vec::new();
    for i in 0..count / 2 {
        let prefix: &'static str = Box::leak(format!("/section{i}/items/").into_boxed_str());
        let parts: &'static [Part] = Box::leak(Box::new([
            Part::Literal(prefix),
            Part::Param {
                name: "id",
                conv: Conv::Int,
            },
        ]));
        let key: &'static str = Box::leak(format!("{prefix}<:int>").into_boxed_str());
        entries.push(RouteEntry::from_raw(
            RouteInfo {
                name: "item",
                pattern: key,
                key,
                methods: &["GET"],
                accepts_cross_origin: false,
                parts,
            },
            handler,
        ));
        let about: &'static str = Box::leak(format!("/section{i}/about").into_boxed_str());
        let parts: &'static [Part] = Box::leak(Box::new([Part::Literal(about)]));
        entries.push(RouteEntry::from_raw(
            RouteInfo {
                name: "about",
                pattern: about,
                key: about,
                methods: &["GET"],
                accepts_cross_origin: false,
                parts,
            },
            handler,
        ));
    }
    Dispatcher::from_routes(entries)
}

/// The same table for matchit (0.8 syntax: `{id}`), each route's value its index in `table`.
fn matchit_table(count: usize) -> matchit::Router<usize> {
    let mut router = matchit::Router::new();
    for i in 0..count / 2 {
        router
            .insert(format!("/section{i}/items/{{id}}"), 2 * i)
            .expect("matchit route");
        router
            .insert(format!("/section{i}/about"), 2 * i + 1)
            .expect("matchit route");
    }
    router
}

fn request(path: &str) -> RawRequest {
    let mut req = http::Request::new(box_body(Full::new(Bytes::new())));
    *req.uri_mut() = path.parse().expect("uri");
    req
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("dispatch");
    for count in [10usize, 100, 1_000, 10_000] {
        let app = table(count);
        let last = count / 2 - 1;
        let hit = format!("/section{last}/items/42");
        group.bench_with_input(BenchmarkId::new("param_route", count), &hit, |b, path| {
            b.iter(|| runtime.block_on(app.call(request(black_box(path)))))
        });
        group.bench_with_input(
            BenchmarkId::new("not_found", count),
            &"/nowhere/at/all",
            |b, path| b.iter(|| runtime.block_on(app.call(request(black_box(path))))),
        );
    }
    group.finish();
}

/// Dispatches `req` by polling the call once (it needs no waiting for a bodiless GET), falling
/// back to the runtime if it ever does wait.
fn dispatch_now(runtime: &Runtime, app: &Dispatcher, req: RawRequest) -> Response {
    let mut call = app.call(req);
    let polled = {
        let _context = runtime.enter();
        (&mut call).now_or_never()
    };
    match polled {
        Some(response) => response,
        None => runtime.block_on(call),
    }
}

fn vs_matchit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sizes = [10usize, 100, 1_000];
    let tables: Vec<_> = sizes
        .iter()
        .map(|&count| (count, table(count), matchit_table(count)))
        .collect();
    for kind in ["param", "static"] {
        let mut group = c.benchmark_group(format!("vs_matchit_{kind}"));
        for (count, app, router) in &tables {
            // A route of the last section (the last declared).
            let last = count / 2 - 1;
            let path = match kind {
                "param" => format!("/section{last}/items/42"),
                _ => format!("/section{last}/about"),
            };
            // Both answer, and with the same route.
            let found = router.at(&path).expect("matchit finds the route");
            let response = {
                let _context = runtime.enter();
                app.call(request(&path)).now_or_never()
            };
            let response = response.expect("the dispatch completes when first polled");
            assert_eq!(response.status(), 200, "pesto finds {path}");
            if kind == "param" {
                assert_eq!(found.params.get("id"), Some("42"));
            }
            group.bench_with_input(BenchmarkId::new("matchit_at", count), &path, |b, path| {
                b.iter(|| {
                    router
                        .at(black_box(path))
                        .map(|m| (*m.value, m.params.len()))
                })
            });
            group.bench_with_input(BenchmarkId::new("pesto_lookup", count), &path, |b, path| {
                b.iter(|| {
                    app.lookup_route(&http::Method::GET, black_box(path))
                        .map(|(info, params)| (info.name, params.len()))
                })
            });
            group.bench_with_input(
                BenchmarkId::new("pesto_dispatch", count),
                &path,
                |b, path| {
                    b.iter_batched(
                        || request(path),
                        |req| dispatch_now(&runtime, app, black_box(req)),
                        BatchSize::SmallInput,
                    )
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, dispatch, vs_matchit);
criterion_main!(benches);
