//! The session middleware through the public API (issue 3). Each test names the requirement it
//! covers; SECURITY-NOTES sections are cited where a rule comes from there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use pesto::prelude::*;
use pesto::{session_middleware, TestApp};

mod support;
use pesto::session::MemoryStore;
use pesto::session::{
    Clock, Lease, ManualClock, Persist, Record, SessionId, SessionKey, SessionMap, SessionStore,
};
use serde::{Deserialize, Serialize};
use support::session_client;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Visitor {
    username: Option<String>,
    logged_in: bool,
    cart: Vec<Vec<String>>,
}

#[route("/login", POST)]
async fn login(req: &mut Request<Visitor>) -> Response {
    let user = req.get("username").map(str::to_owned);
    if user.as_deref() == Some("ada") && req.get("password") == Some("secret") {
        req.session.username = user;
        req.session.logged_in = true;
        if req.session.cycle_id().is_err() {
            return Response::internal_server_error();
        }
    }
    Response::redirect(secure_area.url())
}

#[route("/secure-area", GET)]
async fn secure_area(req: &mut Request<Visitor>) -> Response {
    if !req.session.logged_in {
        return Response::redirect(login_form.url());
    }
    Response::text(format!(
        "Welcome to the secure area, {}",
        req.session.username.as_deref().unwrap_or_default()
    ))
}

#[route("/login", GET)]
async fn login_form(_req: &mut Request<Visitor>) -> String {
    format!("form posts to {}", login.url())
}

#[route("/logout", POST)]
async fn logout(req: &mut Request<Visitor>) -> Response {
    req.session.invalidate();
    Response::redirect(login_form.url())
}

#[route("/info", GET)]
async fn info(req: &mut Request<Visitor>) -> String {
    format!(
        "id={} new={}",
        req.session.id().map(|i| i.to_string()).unwrap_or_default(),
        req.session.is_new()
    )
}

#[route("/nested", POST)]
async fn nested(req: &mut Request<Visitor>) -> &'static str {
    // A mutation deep inside the data: Pesto would miss it without an explicit save().
    match req.session.cart.first_mut() {
        Some(first) => first.push("basil".to_owned()),
        None => req.session.cart.push(vec!["pine nuts".to_owned()]),
    }
    "ok"
}

#[route("/force-save", POST)]
async fn force_save(req: &mut Request<Visitor>) -> &'static str {
    req.session.save();
    "saved"
}

#[route("/fail-after-write", POST)]
async fn fail_after_write(req: &mut Request<Visitor>) -> Result<&'static str, String> {
    req.session.username = Some("mallory".to_owned());
    Err("database down".to_owned())
}

#[route("/panic-after-write", POST)]
async fn panic_after_write(req: &mut Request<Visitor>) -> &'static str {
    req.session.username = Some("mallory".to_owned());
    panic!("handler bug")
}

#[route("/status-503", POST)]
async fn status_503(req: &mut Request<Visitor>) -> (StatusCode, &'static str) {
    req.session.username = Some("mallory".to_owned());
    (StatusCode::SERVICE_UNAVAILABLE, "busy")
}

dispatcher_app!(
    App = [
        login,
        login_form,
        secure_area,
        logout,
        info,
        nested,
        force_save,
        fail_after_write,
        panic_after_write,
        status_503,
    ]
);

/// A memory store that counts writes and can be told to fail.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryStore,
    writes: AtomicUsize,
    touches: AtomicUsize,
    fail_load: std::sync::atomic::AtomicBool,
    fail_save: std::sync::atomic::AtomicBool,
}

impl Counting {
    fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
    fn down(&self) -> pesto::session::Error {
        pesto::session::Error::Backend("store is down".to_owned())
    }
}

#[async_trait]
impl SessionStore for Counting {
    async fn load(&self, key: &SessionKey) -> pesto::session::Result<Option<Record>> {
        if self.fail_load.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.inner.load(key).await
    }
    async fn create(
        &self,
        key: &SessionKey,
        data: &[u8],
        lease: Lease,
    ) -> pesto::session::Result<bool> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.create(key, data, lease).await
    }
    async fn store(
        &self,
        key: &SessionKey,
        data: &[u8],
        lease: Lease,
    ) -> pesto::session::Result<()> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.store(key, data, lease).await
    }
    async fn touch(&self, key: &SessionKey, lease: Lease) -> pesto::session::Result<()> {
        self.touches.fetch_add(1, Ordering::SeqCst);
        self.inner.touch(key, lease).await
    }
    async fn remove(&self, key: &SessionKey) -> pesto::session::Result<()> {
        self.inner.remove(key).await
    }
    async fn purge(&self, cutoff: SystemTime) -> pesto::session::Result<u64> {
        self.inner.purge(cutoff).await
    }
}

fn counting_app() -> (TestApp, Arc<Counting>) {
    let store = Arc::new(Counting::default());
    let app = session_middleware(Arc::clone(&store)).wrap(App::new());
    (session_client(app), store)
}

fn session_cookie(r: &pesto::TestResponse) -> Option<String> {
    r.header_values("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("pesto_session="))
        .map(str::to_owned)
}

/// Whether a `Set-Cookie` value has exactly this attribute (e.g. `Path=/`, not `Path=/foo`).
fn has_attribute(set_cookie: &str, attribute: &str) -> bool {
    set_cookie.split(';').skip(1).any(|a| a.trim() == attribute)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

// ---- Requirement 1: typed session and its API -------------------------------------------

#[test]
fn typed_session_login_flow_with_cycle_id() {
    let (app, _) = counting_app();
    let first = app.get("/secure-area").send();
    assert_eq!(first.status(), 302);
    assert_eq!(first.header("location"), Some("http://localhost/login"));
    let before = app.cookie("pesto_session").expect("session cookie");

    let r = app
        .post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("location"), Some("http://localhost/secure-area"));
    let after = app.cookie("pesto_session").expect("session cookie");
    assert_ne!(before, after, "login must give a new id");
    assert_eq!(
        app.get("/secure-area").send().body_text(),
        "Welcome to the secure area, ada"
    );

    // The old id is gone: presenting it gets a fresh, logged-out session.
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
    app.post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
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

// ---- Requirement 2: saving -------------------------------------------------------------

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
    app.post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
    // Saved before the response was returned: no wait, no retry.
    assert_eq!(app.get("/secure-area").send().status(), 200);
}

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

// ---- Requirement 3: options ------------------------------------------------------------

#[test]
fn default_cookie_attributes() {
    let (app, _) = counting_app();
    let cookie = session_cookie(&app.get("/info").send()).expect("cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(has_attribute(&cookie, "Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(
        !cookie.contains("Max-Age"),
        "browser-session cookie by default: {cookie}"
    );
}

#[test]
fn secure_follows_https_unless_configured() {
    let app = session_client(session_middleware(MemoryStore::new()).wrap(App::new()));
    let cookie = session_cookie(&app.get("/info").https().send()).expect("cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    let app = session_client(
        session_middleware(MemoryStore::new())
            .secure(true)
            .wrap(App::new()),
    );
    assert!(session_cookie(&app.get("/info").send())
        .expect("cookie")
        .contains("Secure"));
    let app = session_client(
        session_middleware(MemoryStore::new())
            .secure(false)
            .wrap(App::new()),
    );
    assert!(!session_cookie(&app.get("/info").https().send())
        .expect("cookie")
        .contains("Secure"));
}

#[test]
fn cookie_name_same_site_and_max_age_are_configurable() {
    let app = session_client(
        session_middleware(MemoryStore::new())
            .cookie_name("sid")
            .same_site(pesto::session::SameSite::Strict)
            .max_age(Duration::from_secs(3600))
            .wrap(App::new()),
    );
    let r = app.get("/info").send();
    let cookie = r
        .header_values("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("sid="))
        .expect("cookie");
    assert!(
        cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=3600"),
        "{cookie}"
    );
    assert!(app.get("/info").send().body_text().ends_with("new=false"));
}

#[test]
fn max_age_cookie_is_refreshed_when_the_session_is_touched() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let app = session_client(
        session_middleware(MemoryStore::new())
            .max_age(Duration::from_secs(3600))
            .touch_interval(Duration::from_secs(60))
            .clock(clock.clone())
            .wrap(App::new()),
    );
    assert!(session_cookie(&app.get("/info").send()).is_some());
    assert!(
        session_cookie(&app.get("/info").send()).is_none(),
        "nothing to refresh yet"
    );
    clock.advance(Duration::from_secs(61));
    assert!(
        session_cookie(&app.get("/info").send()).is_some(),
        "refreshed with the touch"
    );
}

#[test]
fn lazy_mode_creates_nothing_until_data_is_written() {
    let store = Arc::new(Counting::default());
    let app = session_client(
        session_middleware(Arc::clone(&store))
            .lazy(true)
            .wrap(App::new()),
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

// ---- Requirement 4: ids ----------------------------------------------------------------

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
fn an_idle_session_is_refused_before_the_purge_runs() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let app = session_client(
        session_middleware(MemoryStore::new())
            .auto_purge_olderthan(Duration::from_secs(1800))
            .clock(clock.clone())
            .wrap(App::new()),
    );
    app.post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
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
fn stores_are_keyed_by_the_hash_of_the_id() {
    let store = Arc::new(MemoryStore::new());
    let app = session_client(session_middleware(Arc::clone(&store)).wrap(App::new()));
    app.get("/info").send();
    let id = SessionId::parse(&app.cookie("pesto_session").expect("cookie")).expect("valid");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let by_key = rt.block_on(store.load(&id.key())).expect("load");
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let key = SessionId::generate().expect("id").key();
    let lease = Lease {
        now: SystemTime::now(),
        ttl: Duration::from_secs(60),
    };
    assert!(rt
        .block_on(store.create(&key, b"{\"a\":1}", lease))
        .expect("create"));
    assert!(!rt
        .block_on(store.create(&key, b"{\"a\":2}", lease))
        .expect("create"));
    assert_eq!(
        rt.block_on(store.load(&key))
            .expect("load")
            .expect("record")
            .data,
        b"{\"a\":1}"
    );
}

// ---- Requirement 5: response hygiene ---------------------------------------------------

#[test]
fn every_response_through_the_middleware_varies_on_cookie() {
    let (app, _) = counting_app();
    for r in [
        app.get("/info").send(),
        app.get("/info").send(),
        app.get("/missing").send(),
    ] {
        assert!(r
            .header_values("vary")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("cookie")));
    }
}

// ---- Requirement 6: cookie mode and the seed's example ---------------------------------

#[route("/foo", GET)]
async fn whoa(_req: &mut Request<SessionMap>) -> Response {
    Response::html("<html>Whoa Nelly!</html>")
}
dispatcher_app!(Seed = [whoa]);

#[test]
fn seed_cookie_path_and_domain() {
    // docs/sessions.md, "Setting the cookie path and domain".
    let app = session_middleware(MemoryStore::new())
        .cookie_path("/")
        .cookie_domain(".example.org")
        .wrap(Seed::new());
    let response = TestApp::new(app).get("/foo").script_name("/foo").send();
    let cookies = response.header_values("Set-Cookie");
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(
        cookies[0].contains("Path=/;") || cookies[0].ends_with("Path=/"),
        "{}",
        cookies[0]
    );
    assert!(
        cookies[0].contains("Domain=example.org") || cookies[0].contains("Domain=.example.org")
    );
}

#[test]
fn cookie_path_defaults_to_the_mount_path() {
    let app = session_middleware(MemoryStore::new()).wrap(Seed::new());
    let response = TestApp::new(app).get("/foo").script_name("/foo").send();
    let cookie = session_cookie(&response).expect("cookie");
    assert!(cookie.contains("Path=/foo"), "{cookie}");
    let app = pesto::mount(
        "/shop",
        session_middleware(MemoryStore::new()).wrap(Seed::new()),
    );
    let response = TestApp::new(app).get("/shop/foo").send();
    assert!(session_cookie(&response)
        .expect("cookie")
        .contains("Path=/shop"));
}

#[test]
fn set_cookie_only_when_the_id_is_new_or_changed() {
    let (app, _) = counting_app();
    assert!(session_cookie(&app.get("/info").send()).is_some());
    assert!(session_cookie(&app.get("/info").send()).is_none());
    assert!(
        session_cookie(&app.post("/nested").send()).is_none(),
        "data change, same id"
    );
    let r = app
        .post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
    assert!(session_cookie(&r).is_some(), "cycle_id changes the id");
}

// ---- Requirement 7: querystring mode ---------------------------------------------------

fn query_app() -> TestApp {
    session_client(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(App::new()),
    )
}

fn query_id(location: &str) -> String {
    let url = url::Url::parse(location).expect("absolute location");
    url.query_pairs()
        .find(|(k, _)| k == "pesto_session")
        .map(|(_, v)| v.into_owned())
        .expect("pesto_session in location")
}

#[test]
fn seed_querystring_redirect() {
    // docs/sessions.md, "Querystring persistence".
    let app = session_middleware(MemoryStore::new())
        .persist(Persist::QueryString)
        .wrap(Seed::new());
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

// ---- Requirement 8: memory backend, concurrency ----------------------------------------

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

// ---- Requirement 10: purge -------------------------------------------------------------

#[test]
fn purge_removes_idle_sessions_using_the_injected_clock() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let store = Arc::new(MemoryStore::new());
    let app = session_client(
        session_middleware(Arc::clone(&store))
            .auto_purge_olderthan(Duration::from_secs(1800))
            .clock(clock.clone())
            .wrap(App::new()),
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
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let store = Arc::new(MemoryStore::new());
    let app = session_middleware(Arc::clone(&store))
        .auto_purge_every(Duration::from_secs(600))
        .auto_purge_olderthan(Duration::from_secs(1800))
        .clock(clock.clone())
        .wrap(App::new());
    let client = session_client(app);
    client.get("/info").await; // starts the purge task
    assert_eq!(store.len(), 1);
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(601)).await; // paused time: advances instantly
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.len(), 0, "the purge task removed the idle session");

    // After the app is dropped the task ends: a new idle session is not purged any more.
    client.get("/info").await;
    let key_count = store.len();
    drop(client);
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(1201)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.len(), key_count);
}

#[tokio::test(start_paused = true)]
async fn zero_disables_the_auto_purge_and_purge_is_public() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let store = Arc::new(MemoryStore::new());
    let app = Arc::new(
        session_middleware(Arc::clone(&store))
            .auto_purge_every(Duration::ZERO)
            .clock(clock.clone())
            .wrap(App::new()),
    );
    let client = TestApp::new(Arc::clone(&app));
    client.get("/info").await;
    clock.advance(Duration::from_secs(7200));
    tokio::time::sleep(Duration::from_secs(3600)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.len(), 1, "no background purge with a zero interval");
    assert_eq!(app.purge(Duration::from_secs(50)).await.expect("purge"), 1);
    assert_eq!(store.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_purge_starts_with_the_app_not_with_its_first_request() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let store = Arc::new(MemoryStore::new());
    let key = SessionId::generate().expect("id").key();
    let lease = Lease {
        now: clock.now(),
        ttl: Duration::from_secs(1800),
    };
    assert!(store.create(&key, b"{}", lease).await.expect("create"));
    let app = session_middleware(Arc::clone(&store))
        .auto_purge_every(Duration::from_secs(600))
        .clock(clock.clone())
        .wrap(App::new());
    // What the server does before accepting connections; no request is ever made.
    pesto::Endpoint::start(&app);
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(601)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.len(), 0);
}

// ---- Requirement 12: TestApp session helpers -------------------------------------------

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

// ---- Lifecycle edge cases (SECURITY-NOTES, Lifecycle and Cookies) ------------------------

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

#[route("/logout-elsewhere", POST)]
async fn logout_elsewhere(req: &mut Request<Visitor>) -> &'static str {
    // Another request logs the user out while this one is still running...
    if let (Some(store), Some(id)) = (req.state::<Arc<MemoryStore>>(), req.session.id()) {
        let _ = store.remove(&id.key()).await;
    }
    // ...and this one then changes the session it loaded before the logout.
    req.session.username = Some("resurrected".to_owned());
    "done"
}
dispatcher_app!(Race = [logout_elsewhere]);

#[test]
fn a_request_that_began_before_a_logout_does_not_bring_the_session_back() {
    // rack-session CVE-2025-46336.
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
        let _ = store.remove(&id.key()).await;
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
fn the_absolute_lifetime_ends_even_an_active_session_and_counts_from_login() {
    // SECURITY-NOTES, Lifecycle: idle *and* absolute timeouts, enforced on load.
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let app = session_client(
        session_middleware(MemoryStore::new())
            .absolute_timeout(Duration::from_secs(3600))
            .clock(clock.clone())
            .wrap(App::new()),
    );
    app.get("/info").send();
    clock.advance(Duration::from_secs(3000));
    // Login renews the id, and with it the lifetime.
    app.post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
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
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let app = session_client(
        session_middleware(MemoryStore::new())
            .clock(clock.clone())
            .wrap(App::new()),
    );
    app.post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send();
    for _ in 0..24 {
        clock.advance(Duration::from_secs(1200));
        assert_eq!(app.get("/secure-area").send().status(), 200);
    }
}
