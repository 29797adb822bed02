//! How sessions end with time, on an injected clock: the idle timeout (checked on load, before
//! any purge), the absolute lifetime (counted from login), and the purge of idle sessions,
//! explicit or in the background, which starts with the app and stops with it
//! (docs/security.md, "Session lifecycle").

mod support;

use std::sync::Arc;
use std::time::Duration;

use pesto::session::{MemoryStore, SessionStore};
use pesto::{session_middleware, TestApp};
use support::apps::{log_in, VisitorApp};
use support::session_client;
use support::time::{clock, lease};

/// Lets the tasks woken by paused time (the background purge) run.
async fn let_tasks_run() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

// ---- Idle and absolute timeouts --------------------------------------------------------

#[test]
fn an_idle_session_is_refused_before_the_purge_runs() {
    let clock = clock();
    let app = session_client(
        session_middleware(MemoryStore::new())
            .auto_purge_olderthan(Duration::from_secs(1800))
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
    );
    log_in(&app);
    clock.advance(Duration::from_secs(1000));
    assert_eq!(
        app.get("/secure-area").send().status(),
        200,
        "touched at t=1000"
    );
    clock.advance(Duration::from_secs(1801));
    assert_eq!(
        app.get("/secure-area").send().status(),
        302,
        "idle too long"
    );
}

#[test]
fn an_active_user_stays_logged_in_when_the_idle_timeout_is_shorter_than_the_touch_interval() {
    // Idle timeout 5 s, touch interval left at its 60 s default: the last access must still be
    // refreshed often enough (at most every quarter of the idle timeout).
    let clock = clock();
    let app = session_client(
        session_middleware(MemoryStore::new())
            .auto_purge_olderthan(Duration::from_secs(5))
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
    );
    log_in(&app);
    for second in 1..=20 {
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            app.get("/secure-area").send().status(),
            200,
            "a request every second, still logged in at t={second} s"
        );
    }
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        app.get("/secure-area").send().status(),
        302,
        "then idle too long"
    );
}

#[test]
fn the_absolute_lifetime_ends_even_an_active_session_and_counts_from_login() {
    // Idle *and* absolute timeouts, both enforced on load.
    let clock = clock();
    let app = session_client(
        session_middleware(MemoryStore::new())
            .absolute_timeout(Duration::from_secs(3600))
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
    );
    app.get("/info").send();
    clock.advance(Duration::from_secs(3000));
    // Login renews the id, and with it the lifetime.
    log_in(&app);
    for _ in 0..5 {
        clock.advance(Duration::from_secs(600));
        assert_eq!(
            app.get("/secure-area").send().status(),
            200,
            "active and within the lifetime"
        );
    }
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        app.get("/secure-area").send().status(),
        302,
        "3601 s after login: refused however active"
    );
}

#[test]
fn without_an_absolute_lifetime_an_active_session_lives_on() {
    let clock = clock();
    let app = session_client(
        session_middleware(MemoryStore::new())
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
    );
    log_in(&app);
    for _ in 0..24 {
        clock.advance(Duration::from_secs(1200));
        assert_eq!(app.get("/secure-area").send().status(), 200);
    }
}

// ---- The purge -------------------------------------------------------------------------

#[test]
fn purge_removes_idle_sessions_using_the_injected_clock() {
    let clock = clock();
    let store = Arc::new(MemoryStore::new());
    let app = session_client(
        session_middleware(Arc::clone(&store))
            .auto_purge_olderthan(Duration::from_secs(1800))
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
    );
    app.get("/info").send();
    app.clear_cookies();
    clock.advance(Duration::from_secs(1000));
    app.get("/info").send();
    assert_eq!(store.len(), 2);
    clock.advance(Duration::from_secs(900));
    assert_eq!(
        app.purge_sessions(),
        1,
        "only the first is idle for more than 1800 s"
    );
    assert_eq!(store.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_background_purge_runs_every_interval_and_stops_with_the_app() {
    let clock = clock();
    let store = Arc::new(MemoryStore::new());
    let app = session_middleware(Arc::clone(&store))
        .auto_purge_every(Duration::from_secs(600))
        .auto_purge_olderthan(Duration::from_secs(1800))
        .clock(clock.clone())
        .wrap(VisitorApp::new());
    let client = session_client(app);
    client.get("/info").await; // starts the purge task
    assert_eq!(store.len(), 1);
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(601)).await; // paused time: advances instantly
    let_tasks_run().await;
    assert_eq!(store.len(), 0, "the purge task removed the idle session");

    // After the app is dropped the task ends: a new idle session is not purged any more.
    client.get("/info").await;
    let key_count = store.len();
    drop(client);
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(1201)).await;
    let_tasks_run().await;
    assert_eq!(store.len(), key_count);
}

#[tokio::test(start_paused = true)]
async fn zero_disables_the_auto_purge_and_purge_is_public() {
    let clock = clock();
    let store = Arc::new(MemoryStore::new());
    let app = Arc::new(
        session_middleware(Arc::clone(&store))
            .auto_purge_every(Duration::ZERO)
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
    );
    let client = TestApp::new(Arc::clone(&app));
    client.get("/info").await;
    clock.advance(Duration::from_secs(7200));
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let_tasks_run().await;
    assert_eq!(store.len(), 1, "no background purge with a zero interval");
    assert_eq!(app.purge(Duration::from_secs(50)).await.expect("purge"), 1);
    assert_eq!(store.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_purge_starts_with_the_app_not_with_its_first_request() {
    let clock = clock();
    let store = Arc::new(MemoryStore::new());
    let key = support::stores::new_key();
    assert!(store.create(&key, b"{}", lease(0)).await.expect("create"));
    let app = session_middleware(Arc::clone(&store))
        .auto_purge_every(Duration::from_secs(600))
        .clock(clock.clone())
        .wrap(VisitorApp::new());
    // What the server does before accepting connections; no request is ever made.
    pesto::Endpoint::start(&app);
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(601)).await;
    let_tasks_run().await;
    assert_eq!(store.len(), 0);
}
