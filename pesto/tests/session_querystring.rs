//! Querystring mode (`Persist::QueryString`): a GET without an id is redirected to the same URL
//! with a new one, other parameters kept and a bad id replaced; no cookie is set; `url()` and
//! redirects inside the app carry the current id (the new one after `cycle_id()`), redirects
//! outside the mount do not; responses carry `Referrer-Policy` and `Cache-Control`
//! (docs/security.md, "Querystring mode").

mod support;

use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist, SessionId, SessionMap};
use pesto::{session_middleware, TestApp};
use support::apps::{SeedApp, VisitorApp};
use support::session_client;

fn query_app() -> TestApp {
    session_client(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(VisitorApp::new()),
    )
}

fn query_id(location: &str) -> String {
    let url = url::Url::parse(location).expect("absolute location");
    url.query_pairs()
        .find(|(k, _)| k == "pesto_session")
        .map(|(_, v)| v.into_owned())
        .expect("pesto_session in location")
}

// ---- A request without a valid id ------------------------------------------------------

#[test]
fn seed_querystring_redirect() {
    // docs/sessions.md, "Querystring persistence".
    let app = session_middleware(MemoryStore::new())
        .persist(Persist::QueryString)
        .wrap(SeedApp::new());
    let response = TestApp::new(app).get("/foo").script_name("/foo").send();
    assert_eq!(response.status(), 302);
    let locations = response.header_values("Location");
    assert!(
        locations[0].contains("/foo?pesto_session="),
        "{locations:?}"
    );
    assert!(
        response.header_values("set-cookie").is_empty(),
        "no cookie in this mode"
    );
}

#[test]
fn querystring_redirect_keeps_other_parameters_and_replaces_a_bad_id() {
    let app = query_app();
    let r = app
        .get("/info?a=1&pesto_session=nonsense&b=two%20words")
        .send();
    assert_eq!(r.status(), 302);
    let location = r.header("location").expect("location").to_owned();
    assert!(
        location.starts_with("http://localhost/info?a=1&b=two+words&pesto_session="),
        "{location}"
    );
    let id = query_id(&location);
    assert!(SessionId::parse(&id).is_some());
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
}

#[test]
fn querystring_session_carries_through_following_the_redirect() {
    let app = query_app().follow_redirects(true);
    let r = app.get("/info").send();
    assert_eq!(r.status(), 200);
    let id = query_id(r.url());
    assert_eq!(r.body_text(), format!("id={id} new=false"));
    assert!(r.header_values("set-cookie").is_empty());
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
}

#[test]
fn non_get_without_an_id_gets_a_session_without_redirect() {
    let app = query_app();
    let r = app.post("/nested").send();
    assert_eq!(r.status(), 200);
    assert!(r.header_values("set-cookie").is_empty());
}

// ---- Links and redirects carry the id --------------------------------------------------

#[test]
fn querystring_urls_and_redirects_carry_the_current_id() {
    let app = query_app().follow_redirects(true);
    let r = app.get("/login").send();
    let id = query_id(r.url());
    assert_eq!(
        r.body_text(),
        format!("form posts to /login?pesto_session={id}")
    );

    // Login cycles the id; the redirect carries the new one, and the old one is dead.
    let r = app
        .post(&format!("/login?pesto_session={id}"))
        .form(&[("username", "ada"), ("password", "secret")])
        .follow_redirects(false)
        .send();
    let location = r.header("location").expect("redirect").to_owned();
    let new_id = query_id(&location);
    assert_ne!(new_id, id);
    assert!(
        location.starts_with("http://localhost/secure-area?pesto_session="),
        "{location}"
    );
    let r = app
        .get(&format!("/secure-area?pesto_session={new_id}"))
        .send();
    assert_eq!(r.body_text(), "Welcome to the secure area, ada");
    let r = app.get(&format!("/secure-area?pesto_session={id}")).send();
    assert_ne!(r.body_text(), "Welcome to the secure area, ada");
}

#[route("/to-sibling", GET)]
async fn to_sibling(_req: &mut Request<SessionMap>) -> Response {
    Response::redirect("/foobar/page")
}
#[route("/write-and-link", GET)]
async fn write_and_link(req: &mut Request<SessionMap>) -> String {
    req.session.insert("seen".to_owned(), true.into());
    to_sibling.url().to_string()
}
#[route("/read", GET)]
async fn read_seen(req: &mut Request<SessionMap>) -> String {
    format!(
        "seen={:?} new={}",
        req.session.get("seen"),
        req.session.is_new()
    )
}
dispatcher_app!(Sibling = [to_sibling, write_and_link, read_seen]);

#[test]
fn lazy_querystring_links_carry_the_id_of_the_session_the_request_creates() {
    let app = session_client(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .lazy(true)
            .wrap(Sibling::new()),
    );
    // Lazy mode does not redirect a GET without an id; this handler writes and renders a link.
    let r = app.get("/write-and-link").send();
    assert_eq!(r.status(), 200);
    let link = r.body_text();
    let id = link
        .rsplit("pesto_session=")
        .next()
        .expect("id in the link")
        .to_owned();
    assert!(SessionId::parse(&id).is_some(), "{link}");
    let r = app.get(&format!("/read?pesto_session={id}")).send();
    assert_eq!(r.body_text(), "seen=Some(Bool(true)) new=false");
}

#[test]
fn querystring_ids_are_not_added_to_redirects_outside_the_mount() {
    let app = TestApp::new(pesto::mount(
        "/foo",
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(Sibling::new()),
    ))
    .follow_redirects(false);
    let first = app.get("/foo/to-sibling").send();
    let location = first
        .header("location")
        .expect("redirect with a new id")
        .to_owned();
    let r = app
        .get(location.trim_start_matches("http://localhost"))
        .send();
    assert_eq!(r.header("location"), Some("http://localhost/foobar/page"));
}

#[test]
fn a_new_visitors_redirect_never_leaves_the_host() {
    // `//evil.example/x` is a valid request path, and a scheme-relative URL if resolved as one:
    // the redirect that carries a fresh id must stay on the request's own host.
    let app = TestApp::new(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(VisitorApp::new()),
    );
    let r = app.get("//evil.example/x").send();
    assert_eq!(r.status(), 302);
    let location = r.header("location").expect("a location");
    assert!(
        location.starts_with("http://localhost//evil.example/x?pesto_session="),
        "{location}"
    );
}
