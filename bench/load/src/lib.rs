//! The load harness's apps: what every server answers, shared so the bodies are the same.
//!
//! - [`pages`]: the HTML and text of the secure-area app (a copy of `examples/secure_area.rs`
//!   plus a page that does not touch the session) and of the 1,000-route app.
//! - [`Users`]: the one account, checked in constant time as the example does.
//! - [`pesto_app`]: the pesto apps, built with pesto's public API; the server binary and the
//!   instruction counter both use them.
//! - [`runtime`]: the one Tokio runtime every tokio-based server runs on.
//!
//! The binaries: `pesto-server`, `hyper-baseline`, `axum-server`, `actix-server` (load runs)
//! and `instructions` (the in-process instruction counter).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The account every app accepts.
pub const USERNAME: &str = "bench";
/// Its password.
pub const PASSWORD: &str = "bench-password";
/// The form body of a successful login (scenario D and the login before scenario A).
pub const LOGIN_BODY: &str = "username=bench&password=bench-password";

/// The typed session, as in the example: who is logged in.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Visitor {
    /// The logged-in user's name.
    pub username: Option<String>,
    /// Whether the visitor logged in.
    pub logged_in: bool,
    /// Pages counted by pesto's `POST /visit` (the in-process save measure); absent until then,
    /// so the other servers' sessions are unchanged.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub visits: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The accounts an app accepts, shared with the handlers.
#[derive(Debug, Clone)]
pub struct Users(Arc<HashMap<String, String>>);

impl Default for Users {
    fn default() -> Self {
        Users(Arc::new(HashMap::from([(
            USERNAME.to_owned(),
            PASSWORD.to_owned(),
        )])))
    }
}

impl Users {
    /// Checks a user name and password as the example does: the password comparison takes the
    /// same time whether or not it matches, and an unknown user costs the same comparison.
    pub fn is_valid(&self, username: &str, password: &str) -> bool {
        let stored = self.0.get(username);
        let expected = stored.map(String::as_bytes).unwrap_or(b"\0unknown user\0");
        let same = expected.ct_eq(password.as_bytes());
        stored.is_some() && bool::from(same)
    }
}

/// The pages, byte for byte the example's, so that every server sends the same bodies.
pub mod pages {
    use std::borrow::Cow;

    /// The text of `/about`, the page that does not touch the session.
    pub const ABOUT: &str = "pesto load bench: a page that does not touch the session\n";

    /// The example's page frame.
    pub fn page(title: &str, body: &str) -> String {
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body><h1>{title}</h1>\n{body}\n</body></html>\n"
        )
    }

    /// HTML-escapes text: pesto's own escaper, so every server sends the same bytes (the
    /// escaping is not what the load compares).
    pub use pesto::html_escape;

    /// The login form, with an error message or not (`escape` is the server's escaper).
    pub fn login_page(message: Option<&str>, escape: fn(&str) -> Cow<'_, str>) -> String {
        let message = message
            .map(|m| format!("<p class=\"error\">{}</p>", escape(m)))
            .unwrap_or_default();
        page(
            "Log in",
            &format!(
                "{message}<form method=\"post\" action=\"{action}\">\
                 <label>User name <input name=\"username\" autocomplete=\"username\"></label>\
                 <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label>\
                 <button type=\"submit\">Log in</button></form>",
                action = escape("/login"),
            ),
        )
    }

    /// The secure area's page for `name`.
    pub fn secure_page(name: &str, escape: fn(&str) -> Cow<'_, str>) -> String {
        page(
            "Secure area",
            &format!(
                "<p>Welcome to the secure area, {}</p>\
                 <form method=\"post\" action=\"{}\"><button type=\"submit\">Log out</button></form>",
                escape(name),
                escape("/logout"),
            ),
        )
    }

    /// The body pesto's `Response::redirect` sends, which the references send too.
    pub fn redirect_body(location: &str) -> String {
        let escaped = html_escape(location);
        format!(
            "<html><head></head><body>\
             <h1>Page has moved</h1><p><a href=\"{escaped}\">{escaped}</a></p></body></html>"
        )
    }

    /// The text of `/section{section}/items/{id}` in the 1,000-route app.
    pub fn item_text(section: u32, id: u32) -> String {
        format!("section {section} item {id}\n")
    }
}

/// The number of routes of the scenario E app.
pub const ROUTES: u32 = 1000;

/// The Redis key prefix of every bench session: the harness deletes only keys under it.
pub const REDIS_PREFIX: &str = "pesto-bench:";

/// The runtime of every tokio-based server here (bare hyper, pesto, axum) and of the
/// instruction counter: Tokio's `current_thread` runtime, one thread running every task.
/// (actix-web runs each worker on the same kind of runtime; its servers use one worker.)
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the Tokio runtime")
}

/// Prints the line the harness reads to learn the port, and flushes it.
pub fn announce(addr: std::net::SocketAddr) {
    use std::io::Write as _;
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
}

/// Which app a server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AppKind {
    /// The secure-area app (scenarios A–D).
    Secure,
    /// The 1,000-route app without sessions (scenario E).
    Routes,
}

pub mod pesto_app;

/// The bare-hyper baseline's service: reads the request's body (so a POST leaves the
/// connection reusable), then answers `200 ok` (text/plain).
///
/// # Errors
/// Never.
pub async fn bare_ok(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt as _;
    let _ = req.into_body().collect().await;
    let mut response =
        http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}
