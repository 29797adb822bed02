//! Route lookups in a loop, pesto's or matchit's, for counting instructions per lookup under
//! callgrind (`bench/load/lookup-instructions`): the same tables and paths as the criterion
//! bench `vs_matchit_param` (`pesto/benches/dispatch.rs`), counted instead of timed, so that a
//! change to the matcher can be judged on a noisy machine.

use std::hint::black_box;

use clap::{Parser, ValueEnum};
use pesto::__private::{Captures, Conv, HandlerFuture, Part, RouteEntry, RouteInfo};
use pesto::{Dispatcher, Request, Response};

/// Which router looks the path up.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Router {
    /// `Dispatcher::lookup_route`: path decoding, the trie, the `int` converter, the captures.
    Pesto,
    /// `matchit::Router::at`.
    Matchit,
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

fn handler(_: &mut Request, _: Captures) -> HandlerFuture<'_> {
    Box::pin(async { Response::text("") })
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
