//! The apps the session tests drive.
//!
//! - [`CountApp`]: a visit counter, for tests about stores rather than handlers.
//! - [`VisitorApp`]: a login flow (the [`Visitor`] session) with handlers that read, change,
//!   save, fail and panic; [`counting_app`] serves it over a [`Counting`] store.
//! - [`SeedApp`]: the one-page example of `docs/sessions.md`.

use std::sync::Arc;

use pesto::prelude::*;
use pesto::session::SessionMap;
use pesto::{session_middleware, TestApp, TestResponse};
use serde::{Deserialize, Serialize};

use super::session_client;
use super::stores::Counting;

/// A session that counts visits.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Visits {
    pub n: u32,
}

/// Counts one more visit and answers the count.
#[route("/count", GET)]
pub async fn count(req: &mut Request<Visits>) -> String {
    req.session.n += 1;
    req.session.n.to_string()
}

/// Answers the count without changing it.
#[route("/peek", GET)]
pub async fn peek(req: &mut Request<Visits>) -> String {
    req.session.n.to_string()
}

dispatcher_app!(pub CountApp = [count, peek]);

/// The session of [`VisitorApp`].
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visitor {
    pub username: Option<String>,
    pub logged_in: bool,
    pub cart: Vec<Vec<String>>,
}

/// Logs `ada` (password `secret`) in, cycling the session id; redirects to the secure area.
#[route("/login", POST)]
pub async fn login(req: &mut Request<Visitor>) -> Response {
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

/// Greets a logged-in visitor; sends anyone else to the login form.
#[route("/secure-area", GET)]
pub async fn secure_area(req: &mut Request<Visitor>) -> Response {
    if !req.session.logged_in {
        return Response::redirect(login_form.url());
    }
    Response::text(format!(
        "Welcome to the secure area, {}",
        req.session.username.as_deref().unwrap_or_default()
    ))
}

/// Names the URL the login form posts to (with the id, in querystring mode).
#[route("/login", GET)]
pub async fn login_form(_req: &mut Request<Visitor>) -> String {
    format!("form posts to {}", login.url())
}

/// Ends the session.
#[route("/logout", POST)]
pub async fn logout(req: &mut Request<Visitor>) -> Response {
    req.session.invalidate();
    Response::redirect(login_form.url())
}

/// Answers `id=ID new=BOOL` without changing the session.
#[route("/info", GET)]
pub async fn info(req: &mut Request<Visitor>) -> String {
    format!(
        "id={} new={}",
        req.session.id().map(|i| i.to_string()).unwrap_or_default(),
        req.session.is_new()
    )
}

/// Changes the session deep inside its data.
#[route("/nested", POST)]
pub async fn nested(req: &mut Request<Visitor>) -> &'static str {
    // A mutation deep inside the data: Pesto would miss it without an explicit save().
    match req.session.cart.first_mut() {
        Some(first) => first.push("basil".to_owned()),
        None => req.session.cart.push(vec!["pine nuts".to_owned()]),
    }
    "ok"
}

/// Saves an unchanged session.
#[route("/force-save", POST)]
pub async fn force_save(req: &mut Request<Visitor>) -> &'static str {
    req.session.save();
    "saved"
}

/// Changes the session, then fails.
#[route("/fail-after-write", POST)]
pub async fn fail_after_write(req: &mut Request<Visitor>) -> Result<&'static str, pesto::Error> {
    req.session.username = Some("mallory".to_owned());
    Err(pesto::Error::msg("database down"))
}

/// Changes the session, then panics.
#[route("/panic-after-write", POST)]
pub async fn panic_after_write(req: &mut Request<Visitor>) -> &'static str {
    req.session.username = Some("mallory".to_owned());
    panic!("handler bug")
}

/// Changes the session, then answers 503.
#[route("/status-503", POST)]
pub async fn status_503(req: &mut Request<Visitor>) -> (StatusCode, &'static str) {
    req.session.username = Some("mallory".to_owned());
    (StatusCode::SERVICE_UNAVAILABLE, "busy")
}

dispatcher_app!(
    pub VisitorApp = [
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

/// [`VisitorApp`] over a [`Counting`] store, with default session options.
pub fn counting_app() -> (TestApp, Arc<Counting>) {
    let store = Arc::new(Counting::default());
    let app = session_middleware(Arc::clone(&store)).wrap(VisitorApp::new());
    (session_client(app), store)
}

/// Posts the right credentials to `/login` of [`VisitorApp`].
pub fn log_in(app: &TestApp) -> TestResponse {
    app.post("/login")
        .form(&[("username", "ada"), ("password", "secret")])
        .send()
}

/// The page of `docs/sessions.md`'s example.
#[route("/foo", GET)]
pub async fn whoa(_req: &mut Request<SessionMap>) -> Response {
    Response::html("<html>Whoa Nelly!</html>")
}

dispatcher_app!(pub SeedApp = [whoa]);
