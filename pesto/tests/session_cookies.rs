//! The session cookie in cookie mode (the default): its attributes and what configures them,
//! its path and domain (the mount path by default), when it is set and refreshed, and
//! `Vary: Cookie` on every response (docs/security.md, "Cookies and caching").

mod support;

use std::time::Duration;

use pesto::session::MemoryStore;
use pesto::{session_middleware, TestApp};
use support::apps::{counting_app, log_in, SeedApp, VisitorApp};
use support::cookies::{has_attribute, session_cookie};
use support::session_client;

// ---- Attributes ------------------------------------------------------------------------

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
    let app = session_client(session_middleware(MemoryStore::new()).wrap(VisitorApp::new()));
    let cookie = session_cookie(&app.get("/info").https().send()).expect("cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    let app = session_client(
        session_middleware(MemoryStore::new())
            .secure(true)
            .wrap(VisitorApp::new()),
    );
    assert!(session_cookie(&app.get("/info").send())
        .expect("cookie")
        .contains("Secure"));
    let app = session_client(
        session_middleware(MemoryStore::new())
            .secure(false)
            .wrap(VisitorApp::new()),
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
            .wrap(VisitorApp::new()),
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

// ---- Path and domain -------------------------------------------------------------------

#[test]
fn seed_cookie_path_and_domain() {
    // docs/sessions.md, "Setting the cookie path and domain".
    let app = session_middleware(MemoryStore::new())
        .cookie_path("/")
        .cookie_domain(".example.org")
        .wrap(SeedApp::new());
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
    let app = session_middleware(MemoryStore::new()).wrap(SeedApp::new());
    let response = TestApp::new(app).get("/foo").script_name("/foo").send();
    let cookie = session_cookie(&response).expect("cookie");
    assert!(cookie.contains("Path=/foo"), "{cookie}");
    let app = pesto::mount(
        "/shop",
        session_middleware(MemoryStore::new()).wrap(SeedApp::new()),
    );
    let response = TestApp::new(app).get("/shop/foo").send();
    assert!(session_cookie(&response)
        .expect("cookie")
        .contains("Path=/shop"));
}

#[test]
fn a_host_prefixed_name_forces_its_rules_whatever_else_is_configured() {
    // docs/security.md, "Cookies and caching": browsers drop a `__Host-` cookie that is not
    // Secure, has a Domain or a Path other than `/`, so the prefix's rules win.
    let app = pesto::mount(
        "/shop",
        session_middleware(MemoryStore::new())
            .cookie_name("__Host-pesto_session")
            .cookie_path("/shop")
            .cookie_domain("example.org")
            .secure(false)
            .wrap(SeedApp::new()),
    );
    let response = TestApp::new(app).get("/shop/foo").send();
    let cookie = response.header("set-cookie").expect("a cookie").to_owned();
    assert!(cookie.starts_with("__Host-pesto_session="), "{cookie}");
    assert!(has_attribute(&cookie, "Secure"), "{cookie}");
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");

    let app = session_middleware(MemoryStore::new())
        .cookie_name("__Secure-sid")
        .wrap(SeedApp::new());
    let cookie = TestApp::new(app).get("/foo").send();
    let cookie = cookie.header("set-cookie").expect("a cookie");
    assert!(has_attribute(cookie, "Secure"), "over http too: {cookie}");
}

// ---- When the cookie is sent -----------------------------------------------------------

#[test]
fn set_cookie_only_when_the_id_is_new_or_changed() {
    let (app, _) = counting_app();
    assert!(session_cookie(&app.get("/info").send()).is_some());
    assert!(session_cookie(&app.get("/info").send()).is_none());
    assert!(
        session_cookie(&app.post("/nested").send()).is_none(),
        "data change, same id"
    );
    let r = log_in(&app);
    assert!(session_cookie(&r).is_some(), "cycle_id changes the id");
}

#[test]
fn max_age_cookie_is_refreshed_when_the_session_is_touched() {
    let clock = support::time::clock();
    let app = session_client(
        session_middleware(MemoryStore::new())
            .max_age(Duration::from_secs(3600))
            .touch_interval(Duration::from_secs(60))
            .clock(clock.clone())
            .wrap(VisitorApp::new()),
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

// ---- Caching ---------------------------------------------------------------------------

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
