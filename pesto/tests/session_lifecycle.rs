//! A session from its first request to its end, through the public API: the typed and the
//! dynamic session, `id()` and `is_new()`, `cycle_id()` at login, `invalidate()` at logout,
//! seeding a session from the test client, and logouts that race with requests still running
//! (docs/security.md, "Session lifecycle").

mod support;

use std::sync::Arc;

use pesto::prelude::*;
use pesto::session::{MemoryStore, SessionMap, SessionStore};
use pesto::session_middleware;
use support::apps::{counting_app, info, log_in, Visitor};
use support::cookies::{has_attribute, session_cookie};
use support::session_client;

// ---- Login, the id and logout ----------------------------------------------------------

#[test]
fn typed_session_login_flow_with_cycle_id() {
    let (app, _) = counting_app();
    let first = app.get("/secure-area").send();
    assert_eq!(first.status(), 302);
    assert_eq!(first.header("location"), Some("http://localhost/login"));
    let before = app.cookie("pesto_session").expect("session cookie");

    let r = log_in(&app);
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("location"), Some("http://localhost/secure-area"));
    let after = app.cookie("pesto_session").expect("session cookie");
    assert_ne!(before, after, "login must give a new id");
    assert_eq!(
        app.get("/secure-area").send().body_text(),
        "Welcome to the secure area, ada"
    );

    // The old id is gone: presenting it gets a fresh, logged-out session. A login changes the
    // data, so it leaves no forward whatever the renewal grace window (session fixation).
    assert_eq!(app.session::<Visitor>().map(|v| v.logged_in), Some(true));
    app.set_cookie("pesto_session", &before);
    assert_eq!(app.get("/secure-area").send().status(), 302);
}

#[test]
fn id_and_is_new() {
    let (app, _) = counting_app();
    let first = app.get("/info").send().body_text();
    assert!(first.ends_with("new=true"), "{first}");
    let id = app.cookie("pesto_session").expect("cookie");
    assert_eq!(first, format!("id={id} new=true"));
    assert_eq!(
        app.get("/info").send().body_text(),
        format!("id={id} new=false")
    );
}

#[test]
fn invalidate_removes_the_session_and_expires_the_cookie() {
    let (app, _) = counting_app();
    log_in(&app);
    let id = app.cookie("pesto_session").expect("cookie");
    let r = app.post("/logout").send();
    let cookie = session_cookie(&r).expect("expiring cookie");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    assert!(
        has_attribute(&cookie, "Path=/"),
        "same path as the session cookie: {cookie}"
    );
    assert_eq!(
        app.session_by_id::<Visitor>(&id),
        None,
        "record removed from the store"
    );
    assert_eq!(app.cookie("pesto_session"), None);
}

// ---- A dynamic session, and seeding one from the test client ---------------------------

#[route("/counter", GET)]
async fn counter(req: &mut Request<SessionMap>) -> String {
    let n = req.session.get("n").and_then(|v| v.as_u64()).unwrap_or(0) + 1;
    req.session.insert("n".to_owned(), n.into());
    if n == 3 {
        req.session.remove("n");
    }
    n.to_string()
}
dispatcher_app!(Dict = [counter]);

#[test]
fn dynamic_map_session_for_pesto_style_use() {
    let app = session_client(session_middleware(MemoryStore::new()).wrap(Dict::new()));
    let bodies: Vec<String> = (0..4)
        .map(|_| app.get("/counter").send().body_text())
        .collect();
    assert_eq!(bodies, ["1", "2", "3", "1"]);
}

#[test]
fn session_transaction_seeds_a_typed_session() {
    let (app, _) = counting_app();
    app.session_transaction(|v: &mut Visitor| {
        v.username = Some("grace".to_owned());
        v.logged_in = true;
    });
    assert_eq!(
        app.get("/secure-area").send().body_text(),
        "Welcome to the secure area, grace"
    );
    app.post("/nested").send();
    let stored: Visitor = app.session().expect("stored");
    assert_eq!(stored.cart, [vec!["pine nuts".to_owned()]]);
}

// ---- An ended session stays ended ------------------------------------------------------

#[route("/logout-elsewhere", POST)]
async fn logout_elsewhere(req: &mut Request<Visitor>) -> &'static str {
    // Another request logs the user out while this one is still running...
    if let (Some(store), Some(id)) = (req.state::<Arc<MemoryStore>>(), req.session.id()) {
        let _ = store.remove(id.key()).await;
    }
    // ...and this one then changes the session it loaded before the logout.
    req.session.username = Some("resurrected".to_owned());
    "done"
}
dispatcher_app!(Race = [logout_elsewhere]);

#[test]
fn a_request_that_began_before_a_logout_does_not_bring_the_session_back() {
    // A logout is not undone (docs/security.md, "Session lifecycle"; rack-session
    // CVE-2025-46336).
    let store = Arc::new(MemoryStore::new());
    let app = session_client(
        session_middleware(Arc::clone(&store)).wrap(Race::new().with_state(Arc::clone(&store))),
    );
    app.session_transaction(|v: &mut Visitor| v.logged_in = true);
    assert_eq!(store.len(), 1);
    assert_eq!(app.post("/logout-elsewhere").send().status(), 200);
    assert_eq!(store.len(), 0, "the ended session was written back");
}

#[route("/save-after-invalidate", POST)]
async fn save_after_invalidate(req: &mut Request<Visitor>) -> &'static str {
    req.session.invalidate();
    req.session.save();
    "bye"
}
#[route("/renew-after-logout-elsewhere", POST)]
async fn renew_after_logout_elsewhere(req: &mut Request<Visitor>) -> &'static str {
    if let (Some(store), Some(id)) = (req.state::<Arc<MemoryStore>>(), req.session.id()) {
        let _ = store.remove(id.key()).await;
    }
    req.session.logged_in = true;
    let _ = req.session.cycle_id();
    "renewed"
}
dispatcher_app!(Ending = [save_after_invalidate, renew_after_logout_elsewhere, info]);

#[test]
fn save_after_invalidate_does_not_bring_the_session_back() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(session_middleware(Arc::clone(&store)).wrap(Ending::new()));
    app.session_transaction(|v: &mut Visitor| v.logged_in = true);
    app.post("/save-after-invalidate").send();
    assert_eq!(store.len(), 0);
}

#[test]
fn cycle_id_does_not_renew_a_session_that_ended_during_the_request() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(
        session_middleware(Arc::clone(&store)).wrap(Ending::new().with_state(Arc::clone(&store))),
    );
    app.session_transaction(|v: &mut Visitor| v.logged_in = false);
    let r = app.post("/renew-after-logout-elsewhere").send();
    assert_eq!(r.status(), 200);
    assert_eq!(store.len(), 0, "no session re-issued under a new id");
    assert!(session_cookie(&r).is_none());
}

// ---- Writing after invalidate() starts a new session -----------------------------------

#[route("/login", POST)]
async fn map_login(req: &mut Request<SessionMap>) -> &'static str {
    req.session.insert("user".to_owned(), "ada".into());
    "in"
}
#[route("/logout", POST)]
async fn logout_with_message(req: &mut Request<SessionMap>) -> Response {
    req.session.invalidate();
    if req.get("quiet").is_none() {
        req.session
            .insert("flash".to_owned(), "You are logged out".into());
    }
    Response::redirect("/")
}
#[route("/", GET)]
async fn show(req: &mut Request<SessionMap>) -> String {
    let field = |name: &str| {
        req.session
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or("-")
            .to_owned()
    };
    format!("user={} flash={}", field("user"), field("flash"))
}
dispatcher_app!(Flashing = [map_login, logout_with_message, show]);

#[test]
fn writing_after_invalidate_starts_a_new_session_with_a_new_id() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(session_middleware(Arc::clone(&store)).wrap(Flashing::new()));
    app.post("/login").send();
    let old = app.cookie("pesto_session").expect("cookie");
    let r = app.post("/logout").send();
    let new = app.cookie("pesto_session").expect("a new session's cookie");
    assert_ne!(old, new, "a new id");
    assert!(session_cookie(&r).is_some_and(|c| !c.contains("Max-Age=0")));
    assert_eq!(
        app.session_by_id::<SessionMap>(&old),
        None,
        "the ended session is gone"
    );
    assert_eq!(
        app.get("/").send().body_text(),
        "user=- flash=You are logged out"
    );
    assert_eq!(store.len(), 1);
    // Nothing written after invalidate(): no new session.
    app.post("/login").send();
    let r = app.post("/logout").form(&[("quiet", "1")]).send();
    assert!(session_cookie(&r).is_some_and(|c| c.contains("Max-Age=0")));
    assert_eq!(store.len(), 0);
}

#[test]
fn writing_after_invalidate_starts_a_new_session_in_querystring_mode_too() {
    use pesto::session::Persist;
    let store = Arc::new(MemoryStore::new());
    let app = session_client(
        session_middleware(Arc::clone(&store))
            .persist(Persist::QueryString)
            .wrap(Flashing::new()),
    );
    let first = app.get("/").send();
    let to = first
        .header("location")
        .expect("the new visitor's redirect")
        .to_owned();
    let old = to.split("pesto_session=").nth(1).expect("an id").to_owned();
    app.post(&format!("/login?pesto_session={old}")).send();
    let r = app.post(&format!("/logout?pesto_session={old}")).send();
    let location = r.header("location").expect("redirect").to_owned();
    let new = location
        .split("pesto_session=")
        .nth(1)
        .expect("the new id")
        .to_owned();
    assert_ne!(old, new);
    let page = app.get(&format!("/?pesto_session={new}")).send();
    assert_eq!(page.body_text(), "user=- flash=You are logged out");
    assert_eq!(app.session_by_id::<SessionMap>(&old), None);
}

// ---- Change detection -----------------------------------------------------------------------

/// A session whose data changes through a shared reference (a `Cell`): change detection must
/// see it, since the handler reached the data.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Hits {
    count: std::cell::Cell<u32>,
}

#[route("/hit", GET)]
async fn hit(req: &mut Request<Hits>) -> String {
    let session: &Hits = &req.session;
    session.count.set(session.count.get() + 1);
    session.count.get().to_string()
}

#[route("/quiet", GET)]
async fn quiet(_req: &mut Request<Hits>) -> &'static str {
    "nothing read"
}

dispatcher_app!(HitsApp = [hit, quiet]);

#[test]
fn a_change_through_a_shared_reference_is_saved_and_an_unread_session_is_kept_as_it_was() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(session_middleware(Arc::clone(&store)).wrap(HitsApp::new()));
    assert_eq!(app.get("/hit").send().body_text(), "1");
    assert_eq!(
        app.get("/hit").send().body_text(),
        "2",
        "the Cell's change was saved"
    );
    // A handler that never reached its session leaves it as stored.
    assert_eq!(app.get("/quiet").send().body_text(), "nothing read");
    assert_eq!(app.get("/hit").send().body_text(), "3");
    assert_eq!(store.len(), 1);
}
