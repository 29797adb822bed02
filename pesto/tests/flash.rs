//! Flash messages (docs/pages.md, "Flash messages"): one-shot messages stored with the session,
//! shown exactly once, surviving a redirect and a logout, in cookie and querystring mode, lazy
//! and eager, on every store (Redis and PostgreSQL: their own test files, through
//! `support::flash`).

mod support;

use pesto::prelude::*;
use pesto::session::{FileStore, MemoryStore, Persist, SessionMap};
use pesto::{session_middleware, Flash};
use support::session_client;

#[test]
fn a_flash_survives_the_redirect_and_is_shown_exactly_once() {
    let client = session_client(
        session_middleware(MemoryStore::new()).wrap(support::flash::FlashApp::new()),
    );
    support::flash::shown_once_after_a_redirect(&client);
}

#[test]
fn a_flash_in_querystring_mode_travels_with_the_id() {
    let app = session_middleware(MemoryStore::new())
        .persist(Persist::QueryString)
        .wrap(support::flash::FlashApp::new());
    let client = session_client(app);
    // The redirect of a new visitor gives the id; the save redirects to the page carrying it.
    let saved = client.post("/save").follow_redirects(false).send();
    assert_eq!(saved.status(), 302);
    let location = saved.header("location").expect("a redirect").to_owned();
    assert!(location.contains("pesto_session="), "{location}");
    let path = location.trim_start_matches("http://localhost");
    let page = client.get(path).send();
    assert_eq!(page.body_text(), "success: Saved");
    assert_eq!(client.get(path).send().body_text(), "");
}

#[test]
fn a_flash_after_logout_starts_a_new_session_that_carries_it() {
    let client = session_client(
        session_middleware(MemoryStore::new()).wrap(support::flash::FlashApp::new()),
    );
    client.post("/login").send();
    let before = client.cookie("pesto_session").expect("a session");
    let out = client.post("/logout").follow_redirects(false).send();
    let after = client
        .cookie("pesto_session")
        .expect("a new session for the message");
    assert_ne!(before, after);
    assert!(out.header("set-cookie").is_some());
    assert!(
        client.session_by_id::<SessionMap>(&before).is_none(),
        "the old session ended"
    );
    assert_eq!(
        client.get("/").send().body_text(),
        "info: You are logged out"
    );
    // The new session holds nothing of the old one.
    assert_eq!(client.get("/who").send().body_text(), "nobody");
}

#[test]
fn in_lazy_mode_a_flash_on_an_anonymous_visit_creates_the_session() {
    let app = session_middleware(MemoryStore::new())
        .lazy(true)
        .wrap(support::flash::FlashApp::new());
    let client = session_client(app);
    let page = client.get("/").send();
    assert_eq!(
        page.header("set-cookie"),
        None,
        "no session for a plain visit"
    );
    let saved = client.post("/save").follow_redirects(false).send();
    assert!(
        saved.header("set-cookie").is_some(),
        "the flash made a session"
    );
    assert_eq!(client.get("/").send().body_text(), "success: Saved");
}

#[test]
fn messages_not_taken_wait_and_several_come_out_in_order() {
    let client = session_client(
        session_middleware(MemoryStore::new()).wrap(support::flash::FlashApp::new()),
    );
    client.post("/save").follow_redirects(false).send();
    client.post("/warn").follow_redirects(false).send();
    // A page that does not show them leaves them.
    assert_eq!(client.get("/who").send().body_text(), "nobody");
    assert_eq!(
        client.get("/").send().body_text(),
        "success: Saved\nwarning: Look <here> & there"
    );
    assert_eq!(client.get("/").send().body_text(), "");
}

#[test]
fn a_flash_works_with_the_file_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::new(dir.path()).expect("file store");
    let client = session_client(session_middleware(store).wrap(support::flash::FlashApp::new()));
    support::flash::shown_once_after_a_redirect(&client);
}

#[test]
fn a_detached_session_drops_flashes_quietly() {
    let mut session: Session<()> = Session::detached(());
    session.flash(FlashLevel::Info, "nowhere to keep it");
    assert_eq!(session.flashes(), &[] as &[Flash]);
    assert!(session.take_flashes().is_empty());
}
