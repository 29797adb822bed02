//! Cross-site request forgery refused by the headers browsers send, on by default with sessions
//! (docs/security.md, "Cross-site request forgery"): what a real browser sends for a same-origin,
//! a same-site and a cross-site form post, `Origin` alone, requests without either header,
//! trusted origins, exempt paths, and turning it off.

mod support;

use std::sync::Arc;

use pesto::prelude::*;
use pesto::session::MemoryStore;
use pesto::{session_middleware, CrossOriginProtection, TestApp};
use support::apps::VisitorApp;
use support::session_client;

/// What Chromium sends with a form post to `path` from a page of `origin`.
fn browser_post(app: &TestApp, path: &str, fetch_site: &str, origin: &str) -> pesto::TestResponse {
    app.post(path)
        .header("sec-fetch-site", fetch_site)
        .header("sec-fetch-mode", "navigate")
        .header("origin", origin)
        .form(&[("username", "ada"), ("password", "secret")])
        .send()
}

#[test]
fn a_same_origin_form_post_passes_and_forged_ones_are_refused_before_any_session() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(session_middleware(Arc::clone(&store)).wrap(VisitorApp::new()));
    let same_origin = browser_post(&app, "/login", "same-origin", "http://localhost");
    assert!(
        same_origin.status().is_redirection(),
        "{}",
        same_origin.status()
    );
    assert_eq!(app.get("/secure-area").send().status(), 200, "logged in");
    let before = store.len();

    app.clear_cookies();
    for (site, origin) in [
        ("same-site", "http://blog.localhost"),
        ("cross-site", "https://evil.example"),
    ] {
        let forged = browser_post(&app, "/login", site, origin);
        assert_eq!(forged.status(), 403, "{site}");
        assert_eq!(
            forged.body_text(),
            "403 Forbidden\ncross-origin request refused\n"
        );
        assert!(
            forged.header("set-cookie").is_none(),
            "{site}: no session made"
        );
    }
    assert_eq!(store.len(), before, "refused before any session was stored");
    // A cross-site link (GET) still works: only unsafe methods are refused.
    let linked = app
        .get("/login")
        .header("sec-fetch-site", "cross-site")
        .send();
    assert_eq!(linked.status(), 200);
}

#[test]
fn origin_alone_is_compared_with_the_host_and_no_header_at_all_passes() {
    let app = session_client(session_middleware(MemoryStore::new()).wrap(VisitorApp::new()));
    let post = |origin: Option<&str>| {
        let mut request = app.post("/force-save");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().status()
    };
    assert_eq!(post(Some("http://localhost")), 200, "same host");
    assert_eq!(post(Some("http://evil.example")), 403);
    assert_eq!(post(Some("null")), 403, "an opaque origin");
    assert_eq!(post(None), 200, "curl, API clients, the test client");
    let other_host = app
        .post("/force-save")
        .host("shop.example")
        .header("origin", "http://shop.example")
        .send();
    assert_eq!(other_host.status(), 200);
}

#[test]
fn trusted_origins_and_exempt_paths_pass_and_the_protection_can_be_turned_off() {
    let protection = CrossOriginProtection::new()
        .trust_origin("https://partner.example")
        .expect("a plain origin")
        .bypass("/force-*");
    let app = session_client(
        session_middleware(MemoryStore::new())
            .cross_origin_protection(protection)
            .wrap(VisitorApp::new()),
    );
    let partner = browser_post(&app, "/login", "cross-site", "https://partner.example");
    assert!(partner.status().is_redirection());
    let exempt = app
        .post("/force-save")
        .header("sec-fetch-site", "cross-site")
        .send();
    assert_eq!(exempt.status(), 200);
    let other = browser_post(&app, "/login", "cross-site", "https://evil.example");
    assert_eq!(other.status(), 403);

    let open = session_client(
        session_middleware(MemoryStore::new())
            .without_cross_origin_protection()
            .wrap(VisitorApp::new()),
    );
    let forged = browser_post(&open, "/login", "cross-site", "https://evil.example");
    assert!(forged.status().is_redirection(), "turned off");

    for bad in [
        "partner.example",
        "https://partner.example/path",
        "https://x.example/",
    ] {
        assert!(
            CrossOriginProtection::new().trust_origin(bad).is_err(),
            "{bad}"
        );
    }
}

// ---- A route that takes requests from other sites on purpose ---------------------------

#[route("/hooks/payment", POST, cross_origin)]
async fn payment_hook(_req: &mut Request) -> &'static str {
    "hook received"
}

#[route("/account/delete", POST)]
async fn delete_account(_req: &mut Request) -> &'static str {
    "deleted"
}

dispatcher_app!(HookApp = [payment_hook, delete_account]);

#[test]
fn a_route_declared_cross_origin_takes_cross_site_posts_and_its_neighbours_do_not() {
    let direct = TestApp::new(session_middleware(MemoryStore::new()).wrap(HookApp::new()));
    let mounted = TestApp::new(
        session_middleware(MemoryStore::new()).wrap(pesto::mount("/shop", HookApp::new())),
    );
    let alone =
        TestApp::new(CrossOriginProtection::new().wrap(pesto::mount("/shop", HookApp::new())));
    for (client, prefix) in [(&direct, ""), (&mounted, "/shop"), (&alone, "/shop")] {
        let hook = client
            .post(&format!("{prefix}/hooks/payment"))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://payments.example")
            .send();
        assert_eq!(hook.body_text(), "hook received", "{prefix}");
        let forged = client
            .post(&format!("{prefix}/account/delete"))
            .header("sec-fetch-site", "cross-site")
            .send();
        assert_eq!(forged.status(), 403, "{prefix}");
    }
    // The exemption is the route's, not its path's: another method on it is still refused.
    let put = direct
        .put("/hooks/payment")
        .header("sec-fetch-site", "cross-site")
        .send();
    assert_eq!(put.status(), 403);
}
