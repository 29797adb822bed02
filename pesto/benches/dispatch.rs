//! Routing cost against the number of routes: the matcher is a trie, so looking up a route among
//! 10,000 should cost about the same as among 10.
//!
//! `cargo bench -p pesto --bench dispatch`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http_body_util::Full;
use pesto::__private::{Conv, HandlerFuture, Part, RouteEntry, RouteInfo};
use pesto::{box_body, Dispatcher, Endpoint, Request, Response};

fn handler(_req: &mut Request, params: Vec<String>) -> HandlerFuture<'_> {
    Box::pin(async move { Response::text(params.concat()) })
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
                parts,
            },
            handler,
        ));
    }
    Dispatcher::from_routes(entries)
}

fn request(path: &str) -> pesto::RawRequest {
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

criterion_group!(benches, dispatch);
criterion_main!(benches);
