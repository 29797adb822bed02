//! Session ids from the client are never trusted: a malformed or unknown id is never adopted
//! (the client gets a fresh one), junk `Cookie` headers never cause a 5xx, a second cookie of
//! the same name is tried when the first is unknown, stores are keyed by a hash of the id, and
//! creating a session never overwrites a record (docs/security.md, "Session ids").

mod support;

use std::sync::Arc;

use pesto::session::{MemoryStore, SessionId, SessionKey, SessionStore};
use pesto::session_middleware;
use support::apps::{counting_app, VisitorApp};
use support::cookies::{cookie_value, session_cookie};
use support::session_client;
use support::time::lease;

/// A runtime for the store calls a synchronous test makes itself.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt")
}

// ---- Ids the client sends --------------------------------------------------------------

#[test]
fn malformed_and_unknown_ids_are_never_adopted() {
    let (app, store) = counting_app();
    let unknown = SessionId::generate().expect("id").to_string();
    for bad in [
        "short",
        "../../../../etc/passwd",
        &"G".repeat(64),
        &unknown,
        "",
    ] {
        app.clear_cookies();
        app.set_cookie("pesto_session", bad);
        let r = app.get("/info").send();
        assert_eq!(r.status(), 200);
        let new_id = cookie_value(&session_cookie(&r).expect("a fresh cookie"));
        assert_ne!(new_id, bad);
        assert!(SessionId::parse(&new_id).is_some());
        assert!(r.body_text().ends_with("new=true"));
    }
    assert_eq!(
        store.inner.len(),
        5,
        "one fresh session per attempt, none under the bad ids"
    );
}

#[test]
fn junk_cookie_headers_never_cause_5xx() {
    let (app, _) = counting_app();
    for junk in [
        "=x",
        "pesto_session",
        "pesto_session=",
        ";;;",
        "pesto_session=\"\"; =; a=b",
    ] {
        let r = app.get("/info").header("cookie", junk).send();
        assert_eq!(r.status(), 200, "Cookie: {junk}");
    }
}

#[test]
fn a_second_same_named_cookie_is_tried_when_the_first_is_unknown() {
    let (app, _) = counting_app();
    app.get("/info").send();
    let real = app.cookie("pesto_session").expect("cookie");
    let planted = SessionId::generate().expect("id").to_string();
    app.clear_cookies();
    let r = app
        .get("/info")
        .header(
            "cookie",
            &format!("pesto_session={planted}; pesto_session={real}"),
        )
        .send();
    assert_eq!(r.body_text(), format!("id={real} new=false"));
}

#[test]
fn only_the_first_three_same_named_cookies_are_tried() {
    // The bound keeps the work per request small; its cost is documented with the remedy (a
    // `__Host-` name) in docs/security.md, "Cookies and caching".
    let (app, _) = counting_app();
    app.get("/info").send();
    let real = app.cookie("pesto_session").expect("cookie");
    let planted = || SessionId::generate().expect("id").to_string();
    app.clear_cookies();
    let header = |count: usize| {
        let mut cookies: Vec<String> = (0..count)
            .map(|_| format!("pesto_session={}", planted()))
            .collect();
        cookies.push(format!("pesto_session={real}"));
        cookies.join("; ")
    };
    let two_planted = app.get("/info").header("cookie", &header(2)).send();
    assert_eq!(two_planted.body_text(), format!("id={real} new=false"));
    let three_planted = app.get("/info").header("cookie", &header(3)).send();
    assert!(three_planted.body_text().ends_with("new=true"));
}

// ---- What the store sees ---------------------------------------------------------------

#[test]
fn stores_are_keyed_by_the_hash_of_the_id() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(session_middleware(Arc::clone(&store)).wrap(VisitorApp::new()));
    app.get("/info").send();
    let id = SessionId::parse(&app.cookie("pesto_session").expect("cookie")).expect("valid");
    let rt = runtime();
    let by_key = rt.block_on(store.load(id.key())).expect("load");
    assert!(by_key.is_some());
    // A key made from the raw id text finds nothing: the raw id is not the key.
    let raw_as_key = SessionKey::parse(id.as_str()).expect("same alphabet");
    assert!(rt
        .block_on(store.load(&raw_as_key))
        .expect("load")
        .is_none());
}

#[test]
fn creating_a_session_never_overwrites_an_existing_record() {
    let store = MemoryStore::new();
    let rt = runtime();
    let key = support::stores::new_key();
    assert!(rt
        .block_on(store.create(&key, b"{\"a\":1}", lease(0)))
        .expect("create"));
    assert!(!rt
        .block_on(store.create(&key, b"{\"a\":2}", lease(0)))
        .expect("create"));
    assert_eq!(
        rt.block_on(store.load(&key))
            .expect("load")
            .expect("record")
            .data,
        b"{\"a\":1}"
    );
}
