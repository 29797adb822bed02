//! [`Request`]: what a handler receives.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};

use super::body::UploadedFile;
use super::context::RequestContext;
use super::cookies;
use super::headers;
use super::multidict::MultiDict;
use super::origin;
use super::raw::RemoteAddr;
use super::session::Session;

/// A request as a handler sees it, with the user's typed session in `session`.
///
/// The body has already been read (within the [`Limits`](crate::Limits)) and form bodies parsed, so every
/// accessor is cheap and synchronous.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// #[route("/search", GET, POST)]
/// async fn search(req: &mut Request) -> String {
///     format!("{} {} q={:?}", req.method(), req.path_info(), req.get("q"))
/// }
/// dispatcher_app!(App = [search]);
///
/// let app = TestApp::new(App::new());
/// assert_eq!(app.get("/search?q=fish").send().body_text(), "GET /search q=Some(\"fish\")");
/// assert_eq!(app.post("/search").form(&[("q", "chips")]).send().body_text(), "POST /search q=Some(\"chips\")");
/// ```
pub struct Request<S = ()> {
    /// The session: dereferences to the application's session type `S`.
    pub session: Session<S>,
    parts: http::request::Parts,
    body: Bytes,
    /// The context the request arrived with; the handler's task runs with it as the current one.
    context: Arc<RequestContext>,
    /// Parsed on first use (or already parsed by the session middleware in querystring mode).
    query: OnceLock<MultiDict>,
    form: MultiDict,
    files: Vec<UploadedFile>,
    /// Parsed on first use: most handlers read no cookie.
    cookies: OnceLock<MultiDict>,
    state: Arc<http::Extensions>,
    /// Set when a route parameter did not convert to its handler's type (the handler never ran).
    unconverted: bool,
}

/// Everything about a request except its session, gathered before the handler runs.
pub(crate) struct RequestData {
    /// The request head, its context already detached (see [`RequestContext::take`]).
    pub(crate) parts: http::request::Parts,
    pub(crate) context: Arc<RequestContext>,
    /// The query string's parameters, if a layer already parsed them.
    pub(crate) query: Option<MultiDict>,
    pub(crate) body: Bytes,
    pub(crate) form: MultiDict,
    pub(crate) files: Vec<UploadedFile>,
    pub(crate) state: Arc<http::Extensions>,
}

impl<S> Request<S> {
    // Inlined: see `Dispatcher::begin`.
    #[inline(always)]
    pub(crate) fn new(data: RequestData, session: Session<S>) -> Self {
        Request {
            session,
            parts: data.parts,
            body: data.body,
            context: data.context,
            query: data.query.map(OnceLock::from).unwrap_or_default(),
            form: data.form,
            files: data.files,
            cookies: OnceLock::new(),
            state: data.state,
            unconverted: false,
        }
    }

    /// Sets the body, read after routing, and the form parsed from it.
    pub(crate) fn set_body(&mut self, body: Bytes, (form, files): super::body::Form) {
        self.body = body;
        self.form = form;
        self.files = files;
    }

    /// Records that a route parameter did not convert, so the dispatcher's fallback can answer.
    pub(crate) fn mark_unconverted(&mut self) {
        self.unconverted = true;
    }

    /// Whether a route parameter did not convert (see [`Request::mark_unconverted`]).
    pub(crate) fn was_unconverted(&self) -> bool {
        self.unconverted
    }

    /// The context the request arrived with.
    pub(crate) fn context(&self) -> &Arc<RequestContext> {
        &self.context
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The request URI as received.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.parts.version
    }

    /// The path below the mount point (WSGI's `PATH_INFO`), percent-encoded as received.
    pub fn path_info(&self) -> &str {
        self.context.path_info(&self.parts.uri)
    }

    /// The mount path the app is served under (WSGI's `SCRIPT_NAME`); empty at the root.
    pub fn script_name(&self) -> &str {
        self.context.script_name()
    }

    /// The whole path: script name plus path info.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The query string's parameters (multi-valued).
    pub fn query(&self) -> &MultiDict {
        self.query.get_or_init(|| {
            self.parts
                .uri
                .query()
                .map(MultiDict::parse_query)
                .unwrap_or_default()
        })
    }

    /// The fields of an `application/x-www-form-urlencoded` or `multipart/form-data` body.
    pub fn form(&self) -> &MultiDict {
        &self.form
    }

    /// The files uploaded in a `multipart/form-data` body.
    pub fn files(&self) -> &[UploadedFile] {
        &self.files
    }

    /// The first uploaded file of form field `field`.
    pub fn file(&self, field: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|f| f.field == field)
    }

    /// A submitted value, as Pesto's `request.get`: the form body for POST, PUT and PATCH, the
    /// query string for other methods.
    pub fn get(&self, key: &str) -> Option<&str> {
        if matches!(
            self.parts.method,
            Method::POST | Method::PUT | Method::PATCH
        ) {
            self.form.get(key)
        } else {
            self.query().get(key)
        }
    }

    /// The cookies the client sent (names as sent, values percent-decoded; duplicates kept).
    pub fn cookies(&self) -> &MultiDict {
        self.cookies
            .get_or_init(|| cookies::parse(&self.parts.headers))
    }

    /// The first value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().get(name)
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The first value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::first(&self.parts.headers, name)
    }

    /// The client's address, when served by [`Server`](crate::Server) (or set as a
    /// [`RemoteAddr`](crate::RemoteAddr) extension).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.context
            .remote()
            .or_else(|| self.parts.extensions.get::<RemoteAddr>().map(|a| a.0))
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        origin::scheme(&self.parts)
    }

    /// `scheme://host[:port]` of this request.
    pub fn origin(&self) -> &str {
        self.context.origin()
    }

    /// The host (and port) the client asked for.
    pub fn host(&self) -> &str {
        origin::host(&self.parts)
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    /// Fails when the body is not valid JSON for `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The value of type `T` shared with
    /// [`Dispatcher::with_state`](crate::Dispatcher::with_state).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state
            .get::<Arc<T>>()
            .map(|shared| &**shared)
            .or_else(|| self.parts.extensions.get::<T>())
    }

    /// The shared handle of the value of type `T` given to `with_state`, for the `State` guard.
    pub(crate) fn shared_state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.state.get::<Arc<T>>().cloned()
    }

    /// Request extensions (values other layers attached to the request).
    pub fn extensions(&self) -> &http::Extensions {
        &self.parts.extensions
    }
}

impl<S> std::fmt::Debug for Request<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.parts.method)
            // The path only: a query may carry the session id (querystring mode).
            .field("path", &self.parts.uri.path())
            .field("script_name", &self.script_name())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}
