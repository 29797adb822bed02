//! The synchronizer token (docs/pages.md, "Cross-site request forgery"), beside the cross-origin
//! check: the headers a real browser sends with a same-origin, a same-site and a cross-site form
//! post; the token in a form field or a header; rotation with `cycle_id()`; lazy and querystring
//! mode; and a refusal that logs no token.

mod support;

use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist};
use pesto::{session_middleware, CsrfToken, CsrfVerified, TestApp};
use support::logs::capture;
use support::session_client;

#[route("/form", GET)]
async fn form(_req: &mut Request<SessionMap>, csrf: CsrfToken) -> Response {
    Response::html(format!(
        "<form method=\"post\" action=\"{}\">{}</form>",
        html_escape(&submit.url().to_string()),
        csrf.hidden_input()
    ))
}

#[route("/submit", POST)]
async fn submit(_req: &mut Request<SessionMap>, _csrf: CsrfVerified) -> &'static str {
    "accepted"
}

/// Logs in: renews the id (and so the token).
#[route("/login", POST)]
async fn login(req: &mut Request<SessionMap>, _csrf: CsrfVerified) -> &'static str {
    req.session.insert("user".to_owned(), "ada".into());
    match req.session.cycle_id() {
        Ok(()) => "logged in",
        Err(_) => "no",
    }
}

dispatcher_app!(App = [form, submit, login]);

/// The token in the form a GET of `/form` renders (following the page's action URL, which
/// carries the id in querystring mode).
fn token_and_action(client: &TestApp) -> (String, String) {
    let page = client
        .get("/form")
        .follow_redirects(true)
        .send()
        .body_text();
    let value = |after: &str| {
        page.split(after)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no {after} in {page}"))
            .replace("&amp;", "&")
    };
    (value("value=\""), value("action=\""))
}

/// The headers Chromium sends with a form post from a page of `origin` to http://localhost.
fn browser_post<'a>(
    client: &'a TestApp,
    path: &str,
    site: &str,
    origin: &str,
) -> pesto::TestRequest<'a> {
    client
        .post(path)
        .header("sec-fetch-site", site)
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .header("origin", origin)
}

#[test]
fn a_real_browsers_form_posts_same_origin_pass_and_same_site_or_cross_site_get_403() {
    let client = session_client(session_middleware(MemoryStore::new()).wrap(App::new()));
    let (token, _) = token_and_action(&client);
    let fields = [("csrf_token", token.as_str())];
    let same_origin = browser_post(&client, "/submit", "same-origin", "http://localhost")
        .form(&fields)
        .send();
    assert_eq!(same_origin.body_text(), "accepted");
    // A sibling subdomain and another site, even with the right token (stolen or guessed), are
    // refused by the cross-origin check before the token is looked at.
    for (site, origin) in [
        ("same-site", "http://evil.localhost"),
        ("cross-site", "https://evil.example"),
    ] {
        let forged = browser_post(&client, "/submit", site, origin)
            .form(&fields)
            .send();
        assert_eq!(forged.status(), 403, "{site}");
    }
    // An old browser without Sec-Fetch-Site: the Origin decides.
    let old = client
        .post("/submit")
        .header("origin", "https://evil.example")
        .form(&fields)
        .send();
    assert_eq!(old.status(), 403);
}

#[test]
fn without_either_header_only_the_token_stops_a_forgery() {
    let client = session_client(session_middleware(MemoryStore::new()).wrap(App::new()));
    let (token, _) = token_and_action(&client);
    // No Sec-Fetch-Site, no Origin: the cross-origin check lets it through, the token does not.
    let refused = client
        .post("/submit")
        .form(&[("csrf_token", "0".repeat(64))])
        .send();
    assert_eq!(refused.status(), 403);
    assert!(refused
        .body_text()
        .contains("security token is missing or out of date"));
    assert_eq!(client.post("/submit").send().status(), 403);
    let accepted = client.post("/submit").header("x-csrf-token", &token).send();
    assert_eq!(accepted.body_text(), "accepted");
}

#[test]
fn a_refusal_is_logged_without_any_token() {
    // Run again in a process of its own: tracing caches per call site whether anyone listens,
    // so another test of this file hitting the same log line while this one starts listening
    // could hide the line from it.
    if std::env::var_os("PESTO_CSRF_LOG_TEST").is_none() {
        let status = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "a_refusal_is_logged_without_any_token",
                "--test-threads=1",
            ])
            .env("PESTO_CSRF_LOG_TEST", "1")
            .status()
            .expect("run the test alone");
        assert!(
            status.success(),
            "the test failed when run alone (see its output above)"
        );
        return;
    }
    let (logs, _guard) = capture();
    let client = session_client(session_middleware(MemoryStore::new()).wrap(App::new()));
    let (token, _) = token_and_action(&client);
    let forged = client
        .post("/submit")
        .form(&[("csrf_token", "1".repeat(64))])
        .send();
    assert_eq!(forged.status(), 403);
    let text = logs.text();
    assert!(
        text.contains("CSRF token check failed") && text.contains("wrong token"),
        "{text}"
    );
    assert!(text.contains("path=/submit"), "{text}");
    assert!(
        !text.contains(&token) && !text.contains(&"1".repeat(64)),
        "a token is in the log:\n{text}"
    );
}

#[test]
fn cycle_id_rotates_the_token() {
    let client = session_client(session_middleware(MemoryStore::new()).wrap(App::new()));
    let (before, _) = token_and_action(&client);
    let logged_in = client
        .post("/login")
        .form(&[("csrf_token", before.as_str())])
        .send();
    assert_eq!(logged_in.body_text(), "logged in");
    let (after, _) = token_and_action(&client);
    assert_ne!(before, after);
    // A form rendered before the login cannot be posted after it.
    let stale = client
        .post("/submit")
        .form(&[("csrf_token", before.as_str())])
        .send();
    assert_eq!(stale.status(), 403);
    let fresh = client
        .post("/submit")
        .form(&[("csrf_token", after.as_str())])
        .send();
    assert_eq!(fresh.body_text(), "accepted");
}

#[test]
fn in_lazy_mode_rendering_the_token_stores_the_session_the_post_needs() {
    let client = session_client(
        session_middleware(MemoryStore::new())
            .lazy(true)
            .wrap(App::new()),
    );
    let (token, _) = token_and_action(&client);
    assert!(
        client.cookie("pesto_session").is_some(),
        "the form's session was stored"
    );
    let accepted = client
        .post("/submit")
        .form(&[("csrf_token", token.as_str())])
        .send();
    assert_eq!(accepted.body_text(), "accepted");
}

#[test]
fn in_querystring_mode_the_form_posts_to_a_url_carrying_the_id_and_the_token_checks() {
    let client = session_client(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(App::new()),
    );
    let (token, action) = token_and_action(&client);
    assert!(action.contains("pesto_session="), "{action}");
    let accepted = client
        .post(&action)
        .form(&[("csrf_token", token.as_str())])
        .send();
    assert_eq!(accepted.body_text(), "accepted");
    let forged = client.post(&action).form(&[("csrf_token", "x")]).send();
    assert_eq!(forged.status(), 403);
}
