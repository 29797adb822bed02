//! [`CrossOriginProtection`]: refuses the unsafe requests a browser sends on another site's
//! behalf (cross-site request forgery), by the headers browsers add, as Go 1.25's
//! `net/http.CrossOriginProtection` does — no tokens in forms.
//!
//! The session middleware applies it by default; it also wraps any endpoint on its own.

use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{header, HeaderName, Method, StatusCode};

use super::check::AppCheck;
use super::Endpoint;
use crate::exchange::{ErrAnswer, HandedContext, IntoResponse, RawRequest, Response};

/// The Fetch Metadata header that says where a request was started from.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Refuses cross-origin `POST`, `PUT`, `PATCH` and `DELETE` requests from browsers with `403`
/// (docs/security.md, "Cross-site request forgery").
///
/// The rules, as Go's `CrossOriginProtection`:
/// - `GET`, `HEAD` and `OPTIONS` are always allowed (they must not change anything);
/// - `Sec-Fetch-Site: same-origin` or `none` (the user typed the address) is allowed, and any
///   other value (`same-site`, `cross-site`) refused — every current browser sends this header;
/// - without it, an `Origin` whose host is the request's `Host` is allowed and any other refused;
/// - a request with neither header is not a cross-site browser request (`curl`, an API client,
///   the test client, a very old browser) and is allowed;
/// - an [`Origin` you trust](Self::trust_origin) and a [path you exempt](Self::bypass) are
///   always allowed.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{CrossOriginProtection, TestApp};
///
/// #[route("/transfer", POST)]
/// async fn transfer(req: &mut Request) -> &'static str { "done" }
/// dispatcher_app!(App = [transfer]);
///
/// let protection = CrossOriginProtection::new().trust_origin("https://partner.example")?;
/// let app = TestApp::new(protection.wrap(App::new()));
/// let from_evil = app.post("/transfer").header("sec-fetch-site", "cross-site").send();
/// assert_eq!(from_evil.status(), 403);
/// let same_origin = app.post("/transfer").header("sec-fetch-site", "same-origin").send();
/// assert_eq!(same_origin.body_text(), "done");
/// let partner = app
///     .post("/transfer")
///     .header("sec-fetch-site", "cross-site")
///     .header("origin", "https://partner.example")
///     .send();
/// assert_eq!(partner.body_text(), "done");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CrossOriginProtection {
    /// Origins always allowed, `scheme://host[:port]`, lower case.
    trusted: Vec<String>,
    /// Paths always allowed: exact, or a prefix when written with a trailing `*`.
    bypass: Vec<String>,
}

impl CrossOriginProtection {
    /// The protection with no trusted origin and no exempt path.
    pub fn new() -> Self {
        Self::default()
    }

    /// Always allows requests whose `Origin` is `origin`, written `scheme://host[:port]`
    /// (another site of yours that posts here).
    ///
    /// # Errors
    /// When `origin` is not of that form (a path, a query or a missing scheme would never match).
    pub fn trust_origin(mut self, origin: &str) -> Result<Self, String> {
        let uri: http::Uri = origin
            .parse()
            .map_err(|e| format!("invalid trusted origin {origin:?}: {e}"))?;
        let plain = uri.scheme().is_some()
            && uri.authority().is_some()
            && matches!(
                uri.path_and_query().map(|p| p.as_str()),
                None | Some("/" | "")
            )
            && !origin.ends_with('/');
        if !plain {
            return Err(format!(
                "invalid trusted origin {origin:?}: expected scheme://host[:port], e.g. https://example.org"
            ));
        }
        self.trusted.push(origin.to_ascii_lowercase());
        Ok(self)
    }

    /// Always allows requests to `path` (the path as the client sent it, mount included), or to
    /// every path starting with `path` without its trailing `*`: for an endpoint other sites post
    /// to on purpose, such as a payment provider's webhook.
    #[must_use]
    pub fn bypass(mut self, path: &str) -> Self {
        self.bypass.push(path.to_owned());
        self
    }

    /// Wraps `app`: requests the protection refuses get `403`, the rest reach `app`.
    pub fn wrap<E: Endpoint>(self, app: E) -> CrossOriginApp<E> {
        CrossOriginApp {
            protection: self,
            inner: app,
        }
    }

    /// `Ok` when the request may go on; else [`CrossOriginRefused`], whose answer is the `403`
    /// (logged here, naming the request's method and path only).
    pub fn check(&self, parts: &http::request::Parts) -> Result<(), CrossOriginRefused> {
        if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        // By `HeaderName`: a name given as text would be parsed and checked on every request.
        let header = |name: &HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let allowed = match header(&SEC_FETCH_SITE) {
            Some(site) if site.eq_ignore_ascii_case("same-origin") => true,
            Some(site) if site.eq_ignore_ascii_case("none") => true,
            Some(_) => self.exempt(parts),
            None => match header(&header::ORIGIN) {
                None => true,
                Some(origin) => same_host(origin, parts) || self.exempt(parts),
            },
        };
        if allowed {
            return Ok(());
        }
        tracing::info!(
            method = %parts.method,
            path = parts.uri.path(),
            "cross-origin request refused"
        );
        Err(CrossOriginRefused)
    }

    /// A trusted `Origin`, or a bypassed path.
    fn exempt(&self, parts: &http::request::Parts) -> bool {
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if origin.is_some_and(|o| self.trusted.iter().any(|t| t.eq_ignore_ascii_case(o))) {
            return true;
        }
        let path = parts.uri.path();
        self.bypass.iter().any(|b| match b.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == b,
        })
    }
}

/// A request [`CrossOriginProtection`] refused; it answers `403` with a plain page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossOriginRefused;

impl IntoResponse for CrossOriginRefused {
    fn into_response(self) -> Response {
        Response::text("403 Forbidden\ncross-origin request refused\n")
            .with_status(StatusCode::FORBIDDEN)
    }
}

impl ErrAnswer for CrossOriginRefused {}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn same_host(origin: &str, parts: &http::request::Parts) -> bool {
    let Some(origin_host) = origin.split_once("://").map(|(_, rest)| rest) else {
        return false;
    };
    let request_host = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| parts.headers.get(header::HOST)?.to_str().ok());
    request_host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
}

/// An endpoint behind a [`CrossOriginProtection`] ([`CrossOriginProtection::wrap`]).
#[derive(Debug)]
pub struct CrossOriginApp<E> {
    protection: CrossOriginProtection,
    inner: E,
}

impl<E: Endpoint> Endpoint for CrossOriginApp<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        let (mut parts, body) = req.into_parts();
        if let Err(refused) = self.protection.check(&parts) {
            if !self.inner.accepts_cross_origin(&mut parts) {
                return Box::pin(async move { refused.into_response() });
            }
        }
        self.inner.call(http::Request::from_parts(parts, body))
    }

    fn call_with_context(
        &self,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'_, Response> {
        let (mut parts, body) = req.into_parts();
        if self.protection.check(&parts).is_ok() {
            return self
                .inner
                .call_with_context(http::Request::from_parts(parts, body), context);
        }
        // The rare path: whether the inner endpoint takes the request anyway is read from the
        // request's context, so it goes back onto the request.
        context.attach(&mut parts.extensions);
        self.call(http::Request::from_parts(parts, body))
    }

    fn start(&self) {
        self.inner.start();
    }

    fn check(&self, check: &mut AppCheck) {
        self.inner.check(check);
    }

    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        self.inner.accepts_cross_origin(parts)
    }
}
