//! Private pages (docs/pages.md, "Private pages and caches"): a response made with a session that
//! holds something gets `Cache-Control: private, no-store`, so neither a shared cache nor the
//! browser's back button after logout shows it to someone else.

mod support;

use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist};
use pesto::session_middleware;
use support::apps::{log_in, VisitorApp};
use support::session_client;

const PRIVATE: Option<&str> = Some("private, no-store");

#[test]
fn pages_of_a_session_that_holds_something_are_kept_out_of_caches() {
    let client = session_client(session_middleware(MemoryStore::new()).wrap(VisitorApp::new()));
    // A first visit with an empty session: a public page, left alone.
    let anonymous = client.get("/secure-area").send();
    assert_eq!(anonymous.header("cache-control"), None);
    // The login writes the session: its answer is private, and so is every page after it.
    let login = log_in(&client);
    assert_eq!(login.header("cache-control"), PRIVATE);
    let area = client.get("/secure-area").send();
    assert_eq!(area.status(), 200);
    assert_eq!(area.header("cache-control"), PRIVATE);
    // So is a 404 made with that session.
    assert_eq!(
        client.get("/nowhere").send().header("cache-control"),
        PRIVATE
    );
    // After logout the session is gone, and the next pages are public again.
    client.post("/logout").send();
    assert_eq!(
        client.get("/secure-area").send().header("cache-control"),
        None
    );
}

#[route("/cached", GET)]
async fn cached(req: &mut Request<support::apps::Visitor>) -> Response {
    req.session.logged_in = true;
    Response::text("mine").with_header(http::header::CACHE_CONTROL, "private, max-age=60")
}

dispatcher_app!(CachedApp = [cached]);

#[test]
fn a_cache_control_the_handler_chose_is_kept() {
    let client = session_client(session_middleware(MemoryStore::new()).wrap(CachedApp::new()));
    assert_eq!(
        client.get("/cached").send().header("cache-control"),
        Some("private, max-age=60")
    );
}

#[test]
fn the_setting_turns_it_off_and_querystring_mode_has_it_too() {
    let off = session_client(
        session_middleware(MemoryStore::new())
            .private_pages(false)
            .wrap(VisitorApp::new()),
    );
    log_in(&off);
    assert_eq!(off.get("/secure-area").send().header("cache-control"), None);

    let querystring = session_client(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(VisitorApp::new()),
    );
    let login = querystring
        .post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .follow_redirects(false)
        .send();
    let location = login.header("location").expect("redirect").to_owned();
    let area = querystring
        .get(location.trim_start_matches("http://localhost"))
        .send();
    assert_eq!(area.status(), 200, "{}", area.body_text());
    // Querystring mode marks every page `no-store` already (the id is in its URLs).
    let cache_control = area.header("cache-control").expect("a Cache-Control");
    assert!(cache_control.contains("no-store"), "{cache_control}");
}
