//! The app of the flash tests, and the round trip every store is checked with.

use pesto::prelude::*;
use pesto::session::SessionMap;
use pesto::TestApp;

/// Shows (and so takes) the waiting messages, one `level: message` per line.
#[route("/", GET)]
pub async fn show(req: &mut Request<SessionMap>) -> String {
    req.session
        .take_flashes()
        .iter()
        .map(|f| format!("{}: {}", f.level.as_str(), f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Says who is logged in, without touching the messages.
#[route("/who", GET)]
pub async fn who(req: &mut Request<SessionMap>) -> String {
    req.session
        .get("user")
        .and_then(|u| u.as_str())
        .unwrap_or("nobody")
        .to_owned()
}

#[route("/save", POST)]
pub async fn save(req: &mut Request<SessionMap>) -> Response {
    req.session.flash(FlashLevel::Success, "Saved");
    Response::redirect(show.url())
}

#[route("/warn", POST)]
pub async fn warn(req: &mut Request<SessionMap>) -> Response {
    req.session
        .flash(FlashLevel::Warning, "Look <here> & there");
    Response::redirect(show.url())
}

#[route("/login", POST)]
pub async fn login(req: &mut Request<SessionMap>) -> Response {
    req.session.insert("user".to_owned(), "ada".into());
    Response::redirect(who.url())
}

#[route("/logout", POST)]
pub async fn logout(req: &mut Request<SessionMap>) -> Response {
    req.session.invalidate();
    req.session.flash(FlashLevel::Info, "You are logged out");
    Response::redirect(show.url())
}

dispatcher_app!(pub FlashApp = [show, who, save, warn, login, logout]);

/// A flash set before a redirect is on the page after it, and only there.
pub fn shown_once_after_a_redirect(client: &TestApp) {
    let saved = client.post("/save").follow_redirects(false).send();
    assert_eq!(saved.status(), 302);
    assert_eq!(client.get("/").send().body_text(), "success: Saved");
    assert_eq!(client.get("/").send().body_text(), "", "shown once");
}
