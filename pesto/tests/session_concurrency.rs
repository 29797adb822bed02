//! Concurrent requests of one session (the session guide, "Concurrent requests"): each
//! interleaving forced with `TestRequest::send_until_save` — two requests changing different
//! fields, the same field, a logout against a slow request, an id renewal against a request
//! with the old id inside and after the grace window — and a load of hundreds of concurrent
//! requests of one session on the memory and file stores (Redis: `redis_store.rs`).

mod support;

use std::sync::Arc;
use std::time::Duration;

use pesto::prelude::*;
use pesto::session::{
    FileStore, Lease, ManualClock, MemoryStore, OnConflict, Record, SessionKey, SessionMiddleware,
    SessionStore, UpdateOutcome, Version, DEFAULT_RENEWAL_GRACE,
};
use pesto::{session_middleware, TestApp};
use serde::{Deserialize, Serialize};
use support::logs::capture;
use support::session_client;

/// A session of two independent fields and a free-form note.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Tabs {
    a: u32,
    b: u32,
    note: String,
}

#[route("/a", POST)]
async fn bump_a(req: &mut Request<Tabs>) -> String {
    req.session.a += 1;
    req.session.a.to_string()
}

#[route("/b", POST)]
async fn bump_b(req: &mut Request<Tabs>) -> String {
    req.session.b += 1;
    req.session.b.to_string()
}

#[route("/note/<text>", POST)]
async fn note(req: &mut Request<Tabs>, text: String) -> &'static str {
    req.session.note = text;
    "noted"
}

#[route("/show", GET)]
async fn show(req: &mut Request<Tabs>) -> String {
    format!(
        "a={} b={} note={}",
        req.session.a, req.session.b, req.session.note
    )
}

/// Renews the id without changing the data: a rotation, which leaves a forward.
#[route("/rotate", POST)]
async fn rotate(req: &mut Request<Tabs>) -> Response {
    match req.session.cycle_id() {
        Ok(()) => Response::text("rotated"),
        Err(_) => Response::internal_server_error(),
    }
}

#[route("/logout", POST)]
async fn logout(req: &mut Request<Tabs>) -> &'static str {
    req.session.invalidate();
    "bye"
}

dispatcher_app!(TabsApp = [bump_a, bump_b, note, show, rotate, logout]);

fn tabs_app(configure: impl FnOnce(SessionMiddleware) -> SessionMiddleware) -> TestApp {
    session_client(configure(session_middleware(MemoryStore::new())).wrap(TabsApp::new()))
}

fn stored(client: &TestApp) -> Tabs {
    client.session::<Tabs>().expect("a stored session")
}

#[test]
fn two_requests_changing_different_fields_both_persist() {
    let client = tabs_app(|m| m);
    client.post("/a").send();
    let slow = client.post("/a").send_until_save();
    assert!(slow.is_held());
    assert_eq!(client.post("/b").send().body_text(), "1");
    assert_eq!(slow.finish().body_text(), "2");
    assert_eq!(
        stored(&client),
        Tabs {
            a: 2,
            b: 1,
            note: String::new()
        }
    );
}

#[test]
fn two_requests_changing_one_field_end_with_the_later_save_and_a_warning() {
    let (logs, _guard) = capture();
    let client = tabs_app(|m| m);
    client.post("/note/first").send();
    let slow = client.post("/note/slow").send_until_save();
    client.post("/note/fast").send();
    slow.finish();
    assert_eq!(stored(&client).note, "slow", "the later save wins");
    let text = logs.text();
    let warning = text
        .lines()
        .find(|l| l.contains("two requests changed one session field at once"))
        .unwrap_or_else(|| panic!("no warning in:\n{text}"));
    assert!(
        warning.contains("WARN") && warning.contains("field=note"),
        "{warning}"
    );
    // The session is named by its hash only.
    let id = client.cookie("pesto_session").expect("cookie");
    assert!(!text.contains(&id), "the raw id is in the log:\n{text}");
}

#[test]
fn a_stricter_policy_refuses_what_the_merge_would_resolve() {
    // Same field: refused by both strict policies; nothing of the late request is saved.
    for policy in [OnConflict::RefuseOverlap, OnConflict::Refuse] {
        let client = tabs_app(|m| m.on_conflict(policy));
        client.post("/note/first").send();
        let slow = client.post("/note/slow").send_until_save();
        client.post("/note/fast").send();
        let refused = slow.finish();
        assert_eq!(refused.status(), 409, "{policy:?}");
        assert!(refused
            .body_text()
            .contains("another request changed this session"));
        assert_eq!(stored(&client).note, "fast", "{policy:?}");
    }
    // Different fields: merged under RefuseOverlap, refused under Refuse.
    let merged = tabs_app(|m| m.on_conflict(OnConflict::RefuseOverlap));
    merged.post("/a").send();
    let slow = merged.post("/a").send_until_save();
    merged.post("/b").send();
    assert_eq!(slow.finish().status(), 200);
    assert_eq!((stored(&merged).a, stored(&merged).b), (2, 1));
    let strict = tabs_app(|m| m.on_conflict(OnConflict::Refuse));
    strict.post("/a").send();
    let slow = strict.post("/a").send_until_save();
    strict.post("/b").send();
    assert_eq!(slow.finish().status(), 409);
    assert_eq!((stored(&strict).a, stored(&strict).b), (1, 1));
}

#[test]
fn a_logout_during_a_slow_request_is_final() {
    let client = tabs_app(|m| m);
    client.post("/a").send();
    let id = client.cookie("pesto_session").expect("cookie");
    let slow = client.post("/a").send_until_save();
    assert_eq!(client.post("/logout").send().body_text(), "bye");
    let late = slow.finish();
    assert_eq!(late.status(), 200);
    assert!(
        client.session_by_id::<Tabs>(&id).is_none(),
        "the slow request's save brought the session back"
    );
}

#[test]
fn a_request_that_loaded_before_a_renewal_saves_into_the_renewed_session() {
    let client = tabs_app(|m| m);
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    let slow = client.post("/b").send_until_save();
    assert_eq!(client.post("/rotate").send().body_text(), "rotated");
    let new = client.cookie("pesto_session").expect("cookie");
    assert_ne!(old, new);
    let late = slow.finish();
    assert_eq!(late.status(), 200);
    assert_eq!(
        late.header("set-cookie"),
        None,
        "the old id is never sent again"
    );
    // Both the renewal and the slow request's change are in the session under the new id.
    assert_eq!(
        client.cookie("pesto_session").as_deref(),
        Some(new.as_str())
    );
    assert_eq!((stored(&client).a, stored(&client).b), (1, 1));
}

#[test]
fn the_old_id_forwards_to_the_renewed_session_for_the_grace_window_only() {
    let clock = ManualClock::new(std::time::SystemTime::now());
    let client = tabs_app(|m| m.clock(clock.clone()));
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    client.post("/rotate").send();
    let new = client.cookie("pesto_session").expect("cookie");

    // Inside the window: a request with the old id (a parallel one, a retry) keeps the session,
    // its change lands in the renewed session, and the old id is not sent back as the cookie.
    clock.advance(DEFAULT_RENEWAL_GRACE - Duration::from_secs(1));
    client.set_cookie("pesto_session", &old);
    let parallel = client.post("/b").send();
    assert_eq!(parallel.body_text(), "1");
    assert_eq!(parallel.header("set-cookie"), None);
    client.set_cookie("pesto_session", &new);
    assert_eq!(client.get("/show").send().body_text(), "a=1 b=1 note=");

    // After the window the old id is dead: a fresh session, the renewed one untouched.
    clock.advance(Duration::from_secs(2));
    client.set_cookie("pesto_session", &old);
    assert_eq!(client.get("/show").send().body_text(), "a=0 b=0 note=");
    assert_ne!(
        client.cookie("pesto_session").as_deref(),
        Some(old.as_str())
    );
    assert_eq!(client.session_by_id::<Tabs>(&new).map(|t| t.b), Some(1));
}

#[test]
fn the_old_id_is_dead_after_an_invalidate_even_inside_the_window() {
    let client = tabs_app(|m| m);
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    client.post("/rotate").send();
    client.post("/logout").send();
    client.set_cookie("pesto_session", &old);
    assert_eq!(client.get("/show").send().body_text(), "a=0 b=0 note=");
    // And a logout through the old id, inside the window, ends the renewed session too.
    let client = tabs_app(|m| m);
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    client.post("/rotate").send();
    let new = client.cookie("pesto_session").expect("cookie");
    client.set_cookie("pesto_session", &old);
    client.post("/logout").send();
    assert!(client.session_by_id::<Tabs>(&new).is_none());
    assert!(client.session_by_id::<Tabs>(&old).is_none());
}

#[test]
fn a_zero_window_ends_the_old_id_at_once_and_a_login_never_leaves_a_forward() {
    let client = tabs_app(|m| m.renewal_grace(Duration::ZERO));
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    client.post("/rotate").send();
    client.set_cookie("pesto_session", &old);
    assert_eq!(client.get("/show").send().body_text(), "a=0 b=0 note=");
}

#[test]
fn the_forward_holds_no_data_and_no_raw_id() {
    let store = Arc::new(MemoryStore::new());
    let client = session_client(session_middleware(Arc::clone(&store)).wrap(TabsApp::new()));
    client.post("/note/secret").send();
    let old = pesto::session::SessionId::parse(&client.cookie("pesto_session").expect("cookie"))
        .expect("an id");
    client.post("/rotate").send();
    let new = client.cookie("pesto_session").expect("cookie");
    let record = pesto::testing::block_on(store.load(old.key()))
        .expect("load")
        .expect("the forward");
    let text = String::from_utf8(record.data).expect("utf-8");
    assert!(text.contains("forward_to"), "{text}");
    assert!(
        !text.contains("secret"),
        "the forward holds session data: {text}"
    );
    assert!(
        !text.contains(&new),
        "the forward holds the new raw id: {text}"
    );
}

// ---- Load: hundreds of concurrent requests of one session -------------------------------

#[test]
fn hundreds_of_concurrent_requests_of_one_session_lose_nothing_in_memory() {
    support::concurrency::nothing_lost_under_load(MemoryStore::new());
}

#[test]
fn hundreds_of_concurrent_requests_of_one_session_lose_nothing_in_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    support::concurrency::nothing_lost_under_load(FileStore::new(dir.path()).expect("file store"));
}

// ---- A save that never gets in ---------------------------------------------------------

/// A memory store whose updates always find another version: every save conflicts.
#[derive(Debug, Default)]
struct AlwaysConflicting(MemoryStore);

#[async_trait::async_trait]
impl SessionStore for AlwaysConflicting {
    async fn load(&self, key: &SessionKey) -> pesto::session::Result<Option<Record>> {
        self.0.load(key).await
    }
    async fn create(
        &self,
        key: &SessionKey,
        data: &[u8],
        lease: Lease,
    ) -> pesto::session::Result<bool> {
        self.0.create(key, data, lease).await
    }
    async fn store(
        &self,
        key: &SessionKey,
        data: &[u8],
        lease: Lease,
    ) -> pesto::session::Result<()> {
        self.0.store(key, data, lease).await
    }
    async fn update(
        &self,
        _: &SessionKey,
        _: &[u8],
        _: Version,
        _: Lease,
    ) -> pesto::session::Result<UpdateOutcome> {
        Ok(UpdateOutcome::Conflict)
    }
    async fn touch(&self, key: &SessionKey, lease: Lease) -> pesto::session::Result<()> {
        self.0.touch(key, lease).await
    }
    async fn remove(&self, key: &SessionKey) -> pesto::session::Result<()> {
        self.0.remove(key).await
    }
    async fn purge(&self, cutoff: std::time::SystemTime) -> pesto::session::Result<u64> {
        self.0.purge(cutoff).await
    }
}

#[test]
fn a_save_that_keeps_conflicting_answers_500_and_says_so_never_a_silent_loss() {
    let (logs, _guard) = capture();
    let client =
        session_client(session_middleware(AlwaysConflicting::default()).wrap(TabsApp::new()));
    assert_eq!(
        client.post("/a").send().status(),
        200,
        "a new session is created"
    );
    let failed = client.post("/a").send();
    assert_eq!(failed.status(), 500);
    let text = logs.text();
    assert!(
        text.contains("session not saved: other requests of the same session kept saving it"),
        "{text}"
    );
    assert_eq!(stored(&client).a, 1, "the stored session is the one before");
}

// ---- Renewals racing other requests ----------------------------------------------------

#[test]
fn a_logout_racing_a_rotation_ends_the_renewed_session_too() {
    let client = tabs_app(|m| m);
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    // The logout loaded the session under the old id; a rotation renews it before it saves.
    let leaving = client.post("/logout").send_until_save();
    client.post("/rotate").send();
    let renewed = client.cookie("pesto_session").expect("cookie");
    assert_ne!(renewed, old);
    leaving.finish();
    assert!(
        client.session_by_id::<Tabs>(&renewed).is_none(),
        "the renewed session outlived the logout"
    );
    assert!(client.session_by_id::<Tabs>(&old).is_none());
}

#[test]
fn a_save_landing_during_a_renewal_is_merged_into_the_renewed_session() {
    let client = tabs_app(|m| m);
    client.post("/a").send();
    // The rotation loaded {a: 1}; a save of b lands before the rotation saves.
    let rotation = client.post("/rotate").send_until_save();
    client.post("/b").send();
    rotation.finish();
    assert_eq!((stored(&client).a, stored(&client).b), (1, 1));
}

#[test]
fn a_request_saving_through_a_renewal_made_meanwhile_never_sends_the_old_id_back() {
    let clock = ManualClock::new(std::time::SystemTime::now());
    let client = tabs_app(|m| m.clock(clock.clone()).max_age(Duration::from_secs(3600)));
    client.post("/a").send();
    let old = client.cookie("pesto_session").expect("cookie");
    // Due for a cookie refresh, the slow request loaded the old id; a rotation renews it.
    clock.advance(Duration::from_secs(120));
    let slow = client.post("/b").send_until_save();
    client.post("/rotate").send();
    let renewed = client.cookie("pesto_session").expect("cookie");
    let late = slow.finish();
    assert_eq!(late.header("set-cookie"), None, "the old id was sent back");
    assert_eq!(
        client.cookie("pesto_session").as_deref(),
        Some(renewed.as_str())
    );
    assert_ne!(renewed, old);
    assert_eq!(stored(&client).b, 1);
}

#[test]
fn in_querystring_mode_a_rotation_leaves_no_forward() {
    let client = tabs_app(|m| m.persist(pesto::session::Persist::QueryString));
    let page = client.get("/show").follow_redirects(true).send();
    let old = page
        .url()
        .split("pesto_session=")
        .nth(1)
        .expect("an id in the URL")
        .to_owned();
    client.post(&format!("/a?pesto_session={old}")).send();
    let rotated = client.post(&format!("/rotate?pesto_session={old}")).send();
    assert_eq!(rotated.body_text(), "rotated");
    let stale = client
        .get(&format!("/show?pesto_session={old}"))
        .follow_redirects(true)
        .send();
    assert_eq!(
        stale.body_text(),
        "a=0 b=0 note=",
        "the old id still reached the session"
    );
}

// ---- Flash messages of two requests at once ----------------------------------------------

#[route("/flash/<text>", POST)]
async fn add_flash(req: &mut Request<Tabs>, text: String) -> &'static str {
    req.session.flash(pesto::FlashLevel::Info, text);
    "added"
}

#[route("/flashes", GET)]
async fn show_flashes(req: &mut Request<Tabs>) -> String {
    let shown: Vec<String> = req
        .session
        .take_flashes()
        .into_iter()
        .map(|f| f.message)
        .collect();
    shown.join(",")
}

dispatcher_app!(FlashTabs = [add_flash, show_flashes]);

#[test]
fn a_page_showing_messages_beside_a_request_adding_one_loses_none_and_shows_none_twice() {
    for page_saves_last in [true, false] {
        let client = session_client(session_middleware(MemoryStore::new()).wrap(FlashTabs::new()));
        client.post("/flash/first").send();
        let shown = if page_saves_last {
            let page = client.get("/flashes").send_until_save();
            client.post("/flash/second").send();
            page.finish().body_text()
        } else {
            let add = client.post("/flash/second").send_until_save();
            let shown = client.get("/flashes").send().body_text();
            add.finish();
            shown
        };
        assert_eq!(shown, "first", "page saves last: {page_saves_last}");
        // The message added meanwhile waits for the next page; the one shown is gone.
        assert_eq!(
            client.get("/flashes").send().body_text(),
            "second",
            "page saves last: {page_saves_last}"
        );
    }
}
