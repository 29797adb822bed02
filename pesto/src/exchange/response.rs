//! [`Response`] and the [`IntoResponse`] conversions handlers may return.

use std::fmt;

use bytes::Bytes;
use cookie::Cookie;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use super::headers;
use super::html::push_escaped;
use super::location;

/// An HTTP response: status, headers and a body held in memory.
///
/// Builders never panic: a header that cannot be encoded is remembered, logged and turns the
/// response into a 500 when it is sent.
///
/// ```
/// use pesto::{Response, StatusCode};
///
/// let r = Response::html("<p>hi</p>")
///     .with_status(StatusCode::CREATED)
///     .with_header("x-recipe", "42")
///     .with_cookie(cookie::Cookie::new("theme", "dark"));
/// assert_eq!(r.status(), StatusCode::CREATED);
/// assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
/// assert!(r.header("set-cookie").unwrap().starts_with("theme=dark"));
/// ```
#[derive(Clone)]
pub struct Response(Box<Head>);

/// What a response holds, behind one pointer: a response is handed out through every layer's
/// future (the handler's, the request's scope, the dispatcher's, the session's, the server's),
/// and each hand-over moves it; a pointer moves in a register where the 160 bytes of these
/// fields were copied each time, which costs more than the one allocation.
#[derive(Clone)]
struct Head {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    error: Option<String>,
}

impl Default for Response {
    fn default() -> Self {
        Response::new(StatusCode::OK)
    }
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Response {
        Response(Box::new(Head {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            error: None,
        }))
    }

    /// A 200 with `body`, of `content_type`: a constant at each call site (`const { .. }`), so
    /// that its bytes are checked once, when pesto is compiled, not on every response.
    fn with_body(content_type: HeaderValue, body: impl Into<Bytes>) -> Response {
        let mut r = Response::new(StatusCode::OK);
        r.0.headers.insert(header::CONTENT_TYPE, content_type);
        r.0.body = body.into();
        r
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(body: impl Into<String>) -> Response {
        Response::with_body(
            const { HeaderValue::from_static("text/plain; charset=utf-8") },
            body.into(),
        )
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(body: impl Into<String>) -> Response {
        Response::with_body(
            const { HeaderValue::from_static("text/html; charset=utf-8") },
            body.into(),
        )
    }

    /// An `application/json` response; a value that cannot be serialized gives a logged 500.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => {
                Response::with_body(const { HeaderValue::from_static("application/json") }, body)
            }
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a JSON response");
                Response::internal_server_error()
            }
        }
    }

    /// An `application/octet-stream` response.
    pub fn bytes(body: impl Into<Bytes>) -> Response {
        Response::with_body(
            const { HeaderValue::from_static("application/octet-stream") },
            body,
        )
    }

    /// A redirect (`302 Found`) to `location`, with the small HTML body Pesto sends.
    ///
    /// A relative location is made absolute from the current request; in querystring session
    /// mode the session middleware adds the session id to a location inside the app.
    pub fn redirect(location: impl fmt::Display) -> Response {
        Response::redirect_with(StatusCode::FOUND, location)
    }

    /// A redirect with any 3xx status (for example `301 Moved Permanently`); another status is
    /// replaced by 302.
    pub fn redirect_with(status: StatusCode, location: impl fmt::Display) -> Response {
        let status = if status.is_redirection() {
            status
        } else {
            StatusCode::FOUND
        };
        let location = location.to_string();
        // Pesto's page, written piece by piece: a redirect is made on many requests (every
        // visitor sent to a login page), and `format!` would escape the location twice.
        const HEAD: &str = "<html><head></head><body><h1>Page has moved</h1><p><a href=\"";
        const TAIL: &str = "</a></p></body></html>";
        let mut page = String::with_capacity(HEAD.len() + 2 * location.len() + 2 + TAIL.len());
        page.push_str(HEAD);
        push_escaped(&mut page, &location);
        let escaped_at = HEAD.len();
        let escaped_len = page.len() - escaped_at;
        page.push_str("\">");
        page.extend_from_within(escaped_at..escaped_at + escaped_len);
        page.push_str(TAIL);
        let mut response = Response::html(page);
        response.0.status = status;
        // Within a request, a path is written absolute now, in the one header value it needs.
        let location = location::absolute_in_request(&location).unwrap_or(location);
        response.with_header(header::LOCATION, location)
    }

    /// `404 Not Found`.
    pub fn not_found() -> Response {
        Response::error_page(StatusCode::NOT_FOUND)
    }

    /// `403 Forbidden`.
    pub fn forbidden() -> Response {
        Response::error_page(StatusCode::FORBIDDEN)
    }

    /// `400 Bad Request`.
    pub fn bad_request() -> Response {
        Response::error_page(StatusCode::BAD_REQUEST)
    }

    /// `405 Method Not Allowed` with an `Allow` header listing `methods`.
    pub fn method_not_allowed<I, M>(methods: I) -> Response
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        let allow: Vec<String> = methods.into_iter().map(|m| m.as_ref().to_owned()).collect();
        Response::error_page(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(header::ALLOW, allow.join(", "))
    }

    /// `500 Internal Server Error`, with a body that reveals nothing.
    pub fn internal_server_error() -> Response {
        Response::error_page(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A plain-text page naming `status`.
    pub fn error_page(status: StatusCode) -> Response {
        let reason = status.canonical_reason().unwrap_or("Error");
        Response::text(format!("{} {reason}\n", status.as_u16())).with_status(status)
    }

    /// Sets the status.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Response {
        self.0.status = status;
        self
    }

    /// Sets a header, replacing earlier values of the same name.
    #[must_use]
    pub fn with_header<K, V>(self, name: K, value: V) -> Response
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        self.put_header(name, value, HeaderMap::insert)
    }

    /// Adds a header value, keeping earlier values of the same name.
    #[must_use]
    pub fn append_header<K, V>(self, name: K, value: V) -> Response
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        self.put_header(name, value, |headers, name, value| {
            headers.append(name, value);
        })
    }

    /// Converts a header pair and hands it to `put`; a conversion error is remembered and turns
    /// the response into a 500 when it is sent.
    fn put_header<K, V, R>(
        mut self,
        name: K,
        value: V,
        put: impl FnOnce(&mut HeaderMap, HeaderName, HeaderValue) -> R,
    ) -> Response
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let name = match name.try_into() {
            Ok(name) => name,
            Err(e) => {
                self.0.error = Some(format!("invalid header name: {e}"));
                return self;
            }
        };
        match value.try_into() {
            Ok(value) => {
                put(&mut self.0.headers, name, value);
            }
            Err(e) => self.0.error = Some(format!("invalid value for header `{name}`: {e}")),
        }
        self
    }

    /// Adds a `Set-Cookie` header (the value is percent-encoded).
    #[must_use]
    pub fn with_cookie(self, cookie: Cookie<'_>) -> Response {
        let text = cookie.encoded().to_string();
        self.append_header(header::SET_COOKIE, text)
    }

    /// Adds a `Set-Cookie` header that removes a cookie: a name (`"theme"`) or a [`Cookie`]
    /// carrying the path and domain the cookie was set with. Without a path, `/` is used, as the
    /// `cookie` crate's `CookieJar::remove` does.
    #[must_use]
    pub fn remove_cookie<'c>(self, cookie: impl Into<Cookie<'c>>) -> Response {
        let mut cookie = cookie.into();
        if cookie.path().is_none() {
            cookie.set_path("/");
        }
        cookie.make_removal();
        self.with_cookie(cookie)
    }

    /// Replaces the body.
    #[must_use]
    pub fn with_body_bytes(mut self, body: impl Into<Bytes>) -> Response {
        self.0.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.0.headers
    }

    /// The first value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::first(&self.0.headers, name)
    }

    /// Every value of header `name` that is text (e.g. several `Set-Cookie`).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        headers::all(&self.0.headers, name)
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.0.body
    }

    pub(crate) fn take_body(&mut self) -> Bytes {
        std::mem::take(&mut self.0.body)
    }

    /// Turns a deferred builder error into a logged 500.
    pub(crate) fn check_errors(&mut self) {
        if let Some(error) = &self.0.error {
            tracing::error!(%error, "a handler built an invalid response");
            *self = Response::internal_server_error();
        }
    }

    /// Converts into an `http::Response` for hyper and tower.
    pub fn into_http(self) -> http::Response<http_body_util::Full<Bytes>> {
        let mut this = self;
        this.check_errors();
        let Head {
            status,
            headers,
            body,
            ..
        } = *this.0;
        let mut out = http::Response::new(http_body_util::Full::new(body));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        out
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cookies and locations may carry session ids: never print their values.
        let headers: Vec<(&str, &str)> = self
            .0
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = match *name {
                    header::SET_COOKIE | header::COOKIE | header::LOCATION => "<redacted>",
                    _ => value.to_str().unwrap_or("<binary>"),
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("Response")
            .field("status", &self.0.status)
            .field("headers", &headers)
            .field("body_len", &self.0.body.len())
            .finish()
    }
}

/// What a handler may return.
///
/// A `Result<T, E>` answers with `T` or with `E`, both `IntoResponse`: return a redirect or a
/// `4xx` as the `Err` for an early answer with `?`, and [`Error`](crate::Error) for a failure
/// (logged, answered with a `500` that reveals nothing).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a handler can answer with",
    label = "not a response",
    note = "a handler returns a `Response`, `String`, `&'static str`, `StatusCode`, `(StatusCode, T)`, `Vec<u8>`, `Bytes`, or a `Result<T, E>` of these",
    note = "for a failure, return `Result<T, pesto::Error>`: `?` turns any `std::error::Error` into a logged 500"
)]
pub trait IntoResponse {
    /// Converts into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        // Static text is sent from where it lies, not copied into a `String` first.
        Response::with_body(
            const { HeaderValue::from_static("text/plain; charset=utf-8") },
            self,
        )
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::error_page(self)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::bytes(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::bytes(self)
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

/// `Ok` and `Err` both answer: `Err(Response::redirect(..))`, `Err(StatusCode::FORBIDDEN)` or
/// `Err(pesto::Error)` (a logged `500`) make `?` an early answer. The `Err` must be an
/// [`ErrAnswer`]: a `String` there would be shown to the visitor as a `200` page.
impl<T: IntoResponse, E: ErrAnswer> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(answer) => answer.into_response(),
        }
    }
}

/// What a handler's `Result` may carry as its `Err`: an answer meant as one (a redirect, an error
/// status, [`crate::Error`], a guard's rejection), never a bare `String` or `&str`, which would
/// show an error's text to the visitor as a `200` page and save the session as if all went well.
///
/// Implement it for an error type of your own that is an [`IntoResponse`] answering with the
/// status it means.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's `Err`",
    label = "not an error answer",
    note = "for a failure, return `Result<T, pesto::Error>`: `?` turns any `std::error::Error` into a logged 500 that shows nothing",
    note = "for an early answer, return a `Response` (a redirect, a 4xx page) or a `StatusCode`; a `String` would be a 200 page showing its text"
)]
pub trait ErrAnswer: IntoResponse {}

impl ErrAnswer for Response {}
impl ErrAnswer for StatusCode {}
impl<T: IntoResponse> ErrAnswer for (StatusCode, T) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_moves_as_one_pointer() {
        // Every layer a response passes through moves it (see `Head`).
        assert_eq!(
            std::mem::size_of::<Response>(),
            std::mem::size_of::<usize>()
        );
        assert_eq!(
            std::mem::size_of::<Option<Response>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn debug_never_prints_cookies_or_locations() {
        let r = Response::redirect("/next?pesto_session=secret-id")
            .with_cookie(Cookie::new("pesto_session", "secret-id"));
        let shown = format!("{r:?}");
        assert!(!shown.contains("secret-id"), "{shown}");
        assert!(shown.contains("content-type"), "{shown}");
    }
}
