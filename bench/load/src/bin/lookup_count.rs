//! Route lookups in a loop, pesto's or matchit's, for counting instructions per lookup under
//! callgrind (`bench/load/lookup-instructions`): the same tables and paths as the criterion
//! bench `vs_matchit_param` (`pesto/benches/dispatch.rs`), counted instead of timed, so that a
//! change to the matcher can be judged on a noisy machine.

use std::hint::black_box;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures_util::FutureExt;
use http_body_util::Full;
use pesto::__private::{Captures, Conv, HandlerFuture, Part, RouteEntry, RouteInfo};
use pesto::{box_body, Dispatcher, Endpoint, RawRequest, Request, Response};

/// Which router looks the path up.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Router {
    /// `Dispatcher::lookup_route`: path decoding, the trie, the `int` converter, the captures.
    Pesto,
    /// `matchit::Router::at`.
    Matchit,
    /// Pesto's whole in-process dispatch, as the criterion bench `pesto_dispatch` times it: a
    /// request built, `Endpoint::call` polled to its response, both dropped. Less `request`,
    /// it is the dispatch alone.
    PestoDispatch,
    /// Building and dropping the request `pesto-dispatch` sends, and nothing else.
    Request,
}

/// Route lookups in a loop, for callgrind.
#[derive(Parser)]
struct Args {
    /// Which router.
    #[arg(long, value_enum)]
    router: Router,
    /// Routes in the table: `/section{i}/items/<id:int>` and `/section{i}/about`, i < N/2.
    #[arg(long, default_value_t = 10)]
    routes: usize,
    /// How many lookups of `/section{N/2-1}/items/42`.
    #[arg(long, default_value_t = 10_000)]
    lookups: u32,
}

fn handler(req: &mut Request, params: Captures) -> HandlerFuture<'_> {
    // As the criterion bench's handler (and generated code): each value read in the path.
    let text = (0..params.len())
        .filter_map(|i| params.get(i, req.path_info()))
        .collect::<String>();
    Box::pin(async move { Response::text(text) })
}

/// A bodiless GET of `path`, as the criterion bench builds it.
fn request(path: &str) -> RawRequest {
    let mut req = http::Request::new(box_body(Full::new(Bytes::new())));
    match path.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(error) => panic!("{path} is not a URI: {error}"),
    }
    req
}

/// A `&'static str` of `text` (the route table's descriptions are static, as generated code's).
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn pesto_table(routes: usize) -> Dispatcher {
    let mut entries = Vec::new();
    for i in 0..routes / 2 {
        let prefix = leak(format!("/section{i}/items/"));
        let parts: &'static [Part] = Box::leak(Box::new([
            Part::Literal(prefix),
            Part::Param {
                name: "id",
                conv: Conv::Int,
            },
        ]));
        let key = leak(format!("{prefix}<:int>"));
        let about = leak(format!("/section{i}/about"));
        let about_parts: &'static [Part] = Box::leak(Box::new([Part::Literal(about)]));
        for (name, key, parts) in [("item", key, parts), ("about", about, about_parts)] {
            let info = RouteInfo {
                name,
                pattern: key,
                key,
                methods: &["GET"],
                accepts_cross_origin: false,
                parts,
            };
            entries.push(RouteEntry::from_raw(info, handler));
        }
    }
    Dispatcher::from_routes(entries)
}

fn matchit_table(routes: usize) -> matchit::Router<usize> {
    let mut router = matchit::Router::new();
    for i in 0..routes / 2 {
        for (path, value) in [
            (format!("/section{i}/items/{{id}}"), 2 * i),
            (format!("/section{i}/about"), 2 * i + 1),
        ] {
            if let Err(error) = router.insert(path, value) {
                panic!("matchit refuses a route: {error}");
            }
        }
    }
    router
}

fn main() {
    let args = Args::parse();
    if args.routes < 2 {
        eprintln!("--routes must be at least 2");
        std::process::exit(2);
    }
    let path = format!("/section{}/items/42", args.routes / 2 - 1);
    let found = match args.router {
        Router::Pesto => {
            let app = pesto_table(args.routes);
            let method = http::Method::GET;
            (0..args.lookups)
                .filter(|_| {
                    let hit = app.lookup_route(&method, black_box(&path));
                    black_box(hit.map(|(info, params)| (info.name, params.len()))).is_some()
                })
                .count()
        }
        Router::PestoDispatch => {
            let app = pesto_table(args.routes);
            (0..args.lookups)
                .filter(|_| {
                    // Completes when first polled: a bodiless GET waits for nothing.
                    let response = app.call(request(black_box(&path))).now_or_never();
                    black_box(response).is_some_and(|r| r.status() == 200)
                })
                .count()
        }
        Router::Request => (0..args.lookups)
            .filter(|_| black_box(request(black_box(&path))).uri().path() == path)
            .count(),
        Router::Matchit => {
            let router = matchit_table(args.routes);
            (0..args.lookups)
                .filter(|_| {
                    let hit = router.at(black_box(&path));
                    black_box(hit.map(|m| (*m.value, m.params.len()))).is_ok()
                })
                .count()
        }
    };
    if found != args.lookups as usize {
        eprintln!("{path} was found {found} times in {} lookups", args.lookups);
        std::process::exit(1);
    }
}
