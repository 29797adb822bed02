//! The dispatcher's own tests; the routing rules are tested through the public API in
//! `pesto/tests/dispatch.rs`.

use serde::{Deserialize, Serialize};

use super::{Begun, Dispatcher};
use crate::exchange::context::RequestContext;
use crate::exchange::pending_id::PendingId;
use crate::exchange::session::{LentSession, SessionSlot};
use crate::exchange::{box_body, Request};
use crate::routing::captures::Captures;
use crate::routing::route::{HandlerFuture, Part, RouteInfo};
use crate::routing::RouteEntry;

/// A session type the size of a typical app's.
#[derive(Default, Serialize, Deserialize)]
struct Visitor {
    username: Option<String>,
    logged_in: bool,
    visits: u64,
}

fn home(_: &mut Request<Visitor>, _: Captures) -> HandlerFuture<'_> {
    Box::pin(async { crate::Response::text("home") })
}

#[test]
fn the_dispatchers_future_for_a_request_stays_under_a_kilobyte() {
    // As the session middleware's (see its test): every request's future is boxed, and up to
    // 1 KiB the box comes from glibc's per-thread cache. Inline body reading or fallback
    // state would push it over.
    let info = RouteInfo {
        name: "home",
        pattern: "/",
        key: "/",
        methods: &["GET"],
        accepts_cross_origin: false,
        parts: &[Part::Literal("/")],
    };
    let dispatcher = Dispatcher::from_routes(vec![RouteEntry::from_raw(info, home)]);
    let (mut parts, body) = http::Request::get("/")
        .body(box_body(http_body_util::Empty::new()))
        .expect("request")
        .into_parts();
    RequestContext::of(&mut parts)
        .1
        .lend_session(SessionSlot::lend(LentSession {
            id: PendingId::default(),
            json: None,
            live: None,
            flashes: Vec::new(),
        }));
    let req = http::Request::from_parts(parts, body);
    let Begun::Routed(routed) = dispatcher.begin(req, None) else {
        panic!("GET / is routed to `home`");
    };
    let future = Dispatcher::answer(&dispatcher, routed);
    let size = std::mem::size_of_val(&future);
    assert!(size <= 1024, "the dispatcher's future takes {size} bytes");
}
