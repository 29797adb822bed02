//! When the middleware writes a session, and when it must not: changes are detected (deep ones
//! too) and saved before the response; an unchanged session is not written; a failing or
//! panicking handler or a 5xx saves nothing; a store that fails gives 503 on load and 500 on
//! save; lazy mode writes nothing until there is data; and concurrent requests lose no update
//! (docs/security.md, "Session lifecycle").

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pesto::prelude::*;
use pesto::session::{MemoryStore, SessionMap};
use pesto::session_middleware;
use support::apps::{counting_app, log_in, Visitor, VisitorApp};
use support::cookies::session_cookie;
use support::session_client;
use support::stores::Counting;

// ---- What is written, and when ---------------------------------------------------------

#[test]
fn nested_mutation_is_detected_and_saved() {
    let (app, store) = counting_app();
    app.post("/nested").send();
    app.post("/nested").send();
    let stored: Visitor = app.session().expect("stored");
    assert_eq!(
        stored.cart,
        [vec!["pine nuts".to_owned(), "basil".to_owned()]]
    );
    assert_eq!(store.writes(), 2, "one create, one update");
}

#[test]
fn an_unchanged_session_is_never_written() {
    let (app, store) = counting_app();
    app.get("/info").send();
    assert_eq!(store.writes(), 1, "the new session is created");
    for _ in 0..5 {
        app.get("/info").send();
    }
    assert_eq!(store.writes(), 1, "reads do not write");
    app.post("/force-save").send();
    assert_eq!(store.writes(), 2, "save() forces a write");
}

#[test]
fn the_next_request_sees_the_saved_data() {
    let (app, _) = counting_app();
    log_in(&app);
    // Saved before the response was returned: no wait, no retry.
    assert_eq!(app.get("/secure-area").send().status(), 200);
}

// ---- Failures save nothing -------------------------------------------------------------

#[test]
fn a_failing_or_panicking_handler_or_a_5xx_saves_nothing() {
    let (app, store) = counting_app();
    app.get("/info").send();
    let writes = store.writes();
    for path in ["/fail-after-write", "/panic-after-write", "/status-503"] {
        let r = app.post(path).send();
        assert!(r.status().is_server_error(), "{path}");
    }
    assert_eq!(store.writes(), writes);
    assert_eq!(app.session::<Visitor>().expect("stored").username, None);
}

#[test]
fn store_failures_give_503_on_load_and_500_on_save() {
    let (app, store) = counting_app();
    app.get("/info").send();
    store.fail_load.store(true, Ordering::SeqCst);
    assert_eq!(app.get("/info").send().status(), 503);
    store.fail_load.store(false, Ordering::SeqCst);
    store.fail_save.store(true, Ordering::SeqCst);
    assert_eq!(app.post("/nested").send().status(), 500);
    store.fail_save.store(false, Ordering::SeqCst);
    // The failed save lost nothing that was there before: the session still works.
    assert!(app.get("/info").send().body_text().ends_with("new=false"));
}

#[route("/grow/<n:int>", POST)]
async fn grow(req: &mut Request<SessionMap>, n: u64) -> String {
    let blob = "x".repeat(usize::try_from(n).unwrap_or(usize::MAX));
    req.session.insert("blob".to_owned(), blob.into());
    "grown".to_owned()
}
dispatcher_app!(Grower = [grow]);

#[test]
fn a_session_over_the_stores_size_limit_answers_500_and_keeps_the_stored_one() {
    // docs/security.md, "Storage": records have a size limit, checked before every write.
    let app = session_client(
        session_middleware(MemoryStore::new().with_max_record_size(1024)).wrap(Grower::new()),
    );
    let r = app.post("/grow/100").send();
    assert_eq!(r.status(), 200);
    let r = app.post("/grow/2000").send();
    assert_eq!(r.status(), 500);
    assert!(!r.body_text().contains("xxxx"), "the 500 leaks nothing");
    let stored: SessionMap = app.session().expect("the session is still there");
    assert_eq!(
        stored["blob"].as_str().map(str::len),
        Some(100),
        "unchanged"
    );
    // A new session that is too large from its first request is not created at all.
    let fresh = session_client(
        session_middleware(MemoryStore::new().with_max_record_size(1024)).wrap(Grower::new()),
    );
    assert_eq!(fresh.post("/grow/2000").send().status(), 500);
    assert!(fresh.session::<SessionMap>().is_none());
}

// ---- Lazy and eager creation -----------------------------------------------------------

#[test]
fn lazy_mode_creates_nothing_until_data_is_written() {
    let store = Arc::new(Counting::default());
    let app = session_client(
        session_middleware(Arc::clone(&store))
            .lazy(true)
            .wrap(VisitorApp::new()),
    );
    let r = app.get("/info").send();
    assert!(session_cookie(&r).is_none());
    assert_eq!(store.writes(), 0);
    assert_eq!(store.inner.len(), 0);
    let r = app.post("/nested").send();
    assert!(session_cookie(&r).is_some());
    assert_eq!(store.writes(), 1);
    assert!(app.get("/info").send().body_text().ends_with("new=false"));
}

#[test]
fn eager_mode_is_the_default_and_stores_every_new_session() {
    let (app, store) = counting_app();
    assert!(session_cookie(&app.get("/info").send()).is_some());
    assert_eq!(store.inner.len(), 1);
}

// ---- Concurrent requests ---------------------------------------------------------------

#[route("/add/<n:int>", POST)]
async fn add(req: &mut Request<SessionMap>, n: u64) -> String {
    let total = req
        .session
        .get("total")
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
        + n;
    req.session.insert("total".to_owned(), total.into());
    total.to_string()
}
dispatcher_app!(Adder = [add]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_over_many_sessions_lose_nothing() {
    let app = Arc::new(session_client(
        session_middleware(MemoryStore::with_capacity(10_000)).wrap(Adder::new()),
    ));
    const SESSIONS: usize = 64;
    const REQUESTS: u64 = 20;
    let mut ids = Vec::new();
    for _ in 0..SESSIONS {
        ids.push(app.session_transaction_async::<SessionMap, _>(|_| {}).await);
        app.clear_cookies();
    }
    // Each session's requests are sequential (as one browser's are); sessions run concurrently.
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let app = Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            for i in 1..=REQUESTS {
                let r = app
                    .post(&format!("/add/{i}"))
                    .header("cookie", &format!("pesto_session={id}"))
                    .await;
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    for id in ids {
        let data: SessionMap = app.session_by_id_async(&id).await.expect("session kept");
        assert_eq!(
            data.get("total").and_then(|v| v.as_u64()),
            Some(REQUESTS * (REQUESTS + 1) / 2)
        );
    }
}
