//! [`TestApp`]: an in-process client for tests, after Pesto's `pesto.testing.TestApp`.
//!
//! The top layer with the server: it drives any [`Endpoint`] and reads sessions through a
//! [`SessionInspector`].
//!
#![doc = include_str!("../../../docs/testing.md")]

mod held;
mod jar;
mod request;
mod response;
mod runtime;

use std::future::Future;
use std::sync::Arc;

use http::Method;

use tower::Layer;

use crate::endpoint::{Endpoint, HttpService, PestoService, ServiceEndpoint};
use crate::exchange::session_json::decode_data;
use crate::session::{Persist, SessionId, SessionInspector};
pub use held::HeldRequest;
use jar::CookieJar;
pub use request::TestRequest;
pub use response::TestResponse;
pub use runtime::{block_on, runtime};

/// Drives an [`Endpoint`] in-process, with no socket: from a plain `#[test]` with
/// [`TestRequest::send`], or from async code by awaiting the [`TestRequest`].
///
/// It keeps cookies between calls like a browser and can follow redirects.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// #[route("/hello/<name>", GET)]
/// async fn hello(req: &mut Request, name: String) -> Response {
///     Response::text(format!("Hello, {name}!")).with_cookie(cookie::Cookie::new("seen", "1"))
/// }
/// dispatcher_app!(App = [hello]);
///
/// let app = TestApp::new(App::new());
/// let response = app.get("/hello/Ada").send();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body_text(), "Hello, Ada!");
/// assert_eq!(response.header("content-type"), Some("text/plain; charset=utf-8"));
/// assert!(response.text().starts_with("200 OK\r\n"));
/// assert_eq!(app.cookie("seen").as_deref(), Some("1"));
/// ```
pub struct TestApp {
    endpoint: Arc<dyn Endpoint>,
    /// The sessions of the app under test, when given with [`TestApp::with_sessions`].
    sessions: Option<SessionInspector>,
    jar: CookieJar,
    host: String,
    follow_redirects: bool,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("host", &self.host)
            .field("follow_redirects", &self.follow_redirects)
            .finish_non_exhaustive()
    }
}

impl TestApp {
    /// A client for `endpoint`, talking to host `localhost`.
    ///
    /// # Panics
    /// When the app cannot serve requests as assembled ([`Endpoint::check_app`]: a handler's
    /// state not given, a session type without session middleware), with the list of problems,
    /// as [`Server`](crate::Server) would refuse to start.
    pub fn new<E: Endpoint>(endpoint: E) -> TestApp {
        if let Err(problems) = endpoint.check_app() {
            panic!("{problems}");
        }
        TestApp {
            endpoint: Arc::new(endpoint),
            sessions: None,
            jar: CookieJar::default(),
            host: "localhost".to_owned(),
            follow_redirects: false,
        }
    }

    /// Sets the default host (`Host` header and cookie domain).
    #[must_use]
    pub fn with_host(mut self, host: &str) -> TestApp {
        self.host = host.to_owned();
        self
    }

    /// Gives the client access to the app's sessions, for [`TestApp::session`],
    /// [`TestApp::session_transaction`] and [`TestApp::purge_sessions`]: pass the
    /// [`inspector`](crate::session::SessionApp::inspector) of the session app under test (which
    /// may sit anywhere inside the endpoint, under your own wrappers).
    ///
    /// ```
    /// use pesto::prelude::*;
    /// use pesto::session::MemoryStore;
    /// use pesto::TestApp;
    ///
    /// #[route("/", GET)]
    /// async fn home(req: &mut Request<SessionMap>) -> &'static str {
    ///     req.session.insert("seen".into(), true.into());
    ///     "hi"
    /// }
    /// dispatcher_app!(App = [home]);
    ///
    /// let app = pesto::session_middleware(MemoryStore::new()).wrap(App::new());
    /// let sessions = app.inspector();
    /// let client = TestApp::new(pesto::mount("/site", app)).with_sessions(sessions);
    /// client.get("/site/").send();
    /// let stored: SessionMap = client.session().expect("a session");
    /// assert_eq!(stored["seen"], true);
    /// ```
    #[must_use]
    pub fn with_sessions(mut self, sessions: SessionInspector) -> TestApp {
        self.sessions = Some(sessions);
        self
    }

    /// Puts a tower layer around the endpoint under test, as [`Server::layer`](crate::Server::layer)
    /// does around a served app (the first layer added is the outermost), so the tests see what
    /// the layers do; [`TestApp::with_sessions`] keeps reading the sessions of the app inside.
    /// The layered stack runs as a [`ServiceEndpoint`].
    ///
    /// ```
    /// use pesto::prelude::*;
    /// use pesto::session::MemoryStore;
    /// use pesto::TestApp;
    /// use tower_http::set_header::SetResponseHeaderLayer;
    ///
    /// #[route("/", GET)]
    /// async fn home(req: &mut Request<SessionMap>) -> &'static str {
    ///     req.session.insert("seen".into(), true.into());
    ///     "hi"
    /// }
    /// dispatcher_app!(App = [home]);
    ///
    /// let app = pesto::session_middleware(MemoryStore::new()).wrap(App::new());
    /// let sessions = app.inspector();
    /// let client = TestApp::new(app)
    ///     .layer(SetResponseHeaderLayer::overriding(
    ///         http::header::CACHE_CONTROL,
    ///         http::HeaderValue::from_static("no-store"),
    ///     ))
    ///     .with_sessions(sessions);
    /// assert_eq!(client.get("/").send().header("cache-control"), Some("no-store"));
    /// let stored: SessionMap = client.session().expect("a session");
    /// assert_eq!(stored["seen"], true);
    /// ```
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> TestApp
    where
        L: Layer<PestoService<dyn Endpoint>>,
        L::Service: HttpService + Sync,
    {
        let inner = PestoService::from_arc(self.endpoint);
        self.endpoint = Arc::new(ServiceEndpoint::new(layer.layer(inner)));
        self
    }

    /// Follows redirects (up to 10) by default.
    #[must_use]
    pub fn follow_redirects(mut self, follow: bool) -> TestApp {
        self.follow_redirects = follow;
        self
    }

    /// The endpoint under test.
    pub fn endpoint(&self) -> &Arc<dyn Endpoint> {
        &self.endpoint
    }

    /// A request with any method; `path` is the path info (below the script name) and may carry
    /// a query string.
    pub fn request(&self, method: Method, path: &str) -> TestRequest<'_> {
        TestRequest::new(self, method, path)
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::GET, path)
    }

    /// A HEAD request.
    pub fn head(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::HEAD, path)
    }

    /// A POST request; add a body with [`TestRequest::form`] or [`TestRequest::body`].
    pub fn post(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::POST, path)
    }

    /// A POST request with a `multipart/form-data` body built from [`TestRequest::field`] and
    /// [`TestRequest::file`].
    pub fn post_multipart(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::POST, path).multipart()
    }

    /// A PUT request.
    pub fn put(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// A DELETE request.
    pub fn delete(&self, path: &str) -> TestRequest<'_> {
        self.request(Method::DELETE, path)
    }

    /// The value of cookie `name` in the jar (any path).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.get(name)
    }

    /// Puts a cookie for the default host and path `/` into the jar.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar.set(name, value, &self.host);
    }

    /// Empties the cookie jar.
    pub fn clear_cookies(&self) {
        self.jar.clear();
    }

    /// The session data the store holds for this client's session cookie (`None` without a
    /// cookie or a stored session). Like Flask's `session_transaction`, it reads the store
    /// itself, so it shows exactly what was saved.
    ///
    /// # Panics
    /// Panics without [`TestApp::with_sessions`], when called inside an async runtime (use
    /// [`TestApp::session_async`]) or when the stored data does not decode as `T`.
    pub fn session<T: serde::de::DeserializeOwned + Default>(&self) -> Option<T> {
        self.block_on(self.session_async())
    }

    /// Async form of [`TestApp::session`].
    pub async fn session_async<T: serde::de::DeserializeOwned + Default>(&self) -> Option<T> {
        let id = self.cookie(self.sessions("session").cookie_name())?;
        self.session_by_id_async(&id).await
    }

    /// The session data the store holds for session id `id` (querystring mode has no cookie).
    ///
    /// # Panics
    /// As [`TestApp::session`].
    pub fn session_by_id<T: serde::de::DeserializeOwned + Default>(&self, id: &str) -> Option<T> {
        self.block_on(self.session_by_id_async(id))
    }

    /// Async form of [`TestApp::session_by_id`].
    pub async fn session_by_id_async<T: serde::de::DeserializeOwned + Default>(
        &self,
        id: &str,
    ) -> Option<T> {
        let sessions = self.sessions("session_by_id");
        let id = SessionId::parse(id)?;
        let json = match sessions.load_json(&id).await {
            Ok(json) => json?,
            Err(e) => panic!("TestApp: session store failed: {e}"),
        };
        match decode_data(&json) {
            Ok(value) => Some(value),
            Err(e) => panic!("TestApp: stored session does not decode as the requested type: {e}"),
        }
    }

    /// Seeds or edits this client's session before a request, as Flask's `session_transaction`:
    /// `edit` gets the stored data (or the default), the result is stored, and the session cookie
    /// is put in the jar. Returns the session id (for querystring mode).
    ///
    /// # Panics
    /// Panics without [`TestApp::with_sessions`], inside an async runtime, or when the store fails.
    pub fn session_transaction<T, F>(&self, edit: F) -> String
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default,
        F: FnOnce(&mut T),
    {
        self.block_on(self.session_transaction_async(edit))
    }

    /// Async form of [`TestApp::session_transaction`].
    pub async fn session_transaction_async<T, F>(&self, edit: F) -> String
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default,
        F: FnOnce(&mut T),
    {
        let sessions = self.sessions("session_transaction");
        let existing = self
            .cookie(sessions.cookie_name())
            .and_then(|id| SessionId::parse(&id));
        let id = match existing {
            Some(id) => id,
            None => match SessionId::generate() {
                Ok(id) => id,
                Err(e) => panic!("TestApp: cannot generate a session id: {e}"),
            },
        };
        let mut data: T = match sessions.load_json(&id).await {
            Ok(Some(json)) => decode_data(&json).unwrap_or_default(),
            Ok(None) => T::default(),
            Err(e) => panic!("TestApp: session store failed: {e}"),
        };
        edit(&mut data);
        let json = match serde_json::to_vec(&data) {
            Ok(json) => json,
            Err(e) => panic!("TestApp: session data does not serialize: {e}"),
        };
        if let Err(e) = sessions.store_json(&id, &json).await {
            panic!("TestApp: session store failed: {e}");
        }
        let id = id.to_string();
        if sessions.persist() == Persist::Cookie {
            self.set_cookie(sessions.cookie_name(), &id);
        }
        id
    }

    /// Runs the session purge now (with the middleware's idle limit and clock); returns how many
    /// sessions were removed.
    ///
    /// # Panics
    /// Panics without [`TestApp::with_sessions`], inside an async runtime, or when the store fails.
    pub fn purge_sessions(&self) -> u64 {
        self.block_on(self.purge_sessions_async())
    }

    /// Async form of [`TestApp::purge_sessions`].
    pub async fn purge_sessions_async(&self) -> u64 {
        match self.sessions("purge_sessions").purge().await {
            Ok(n) => n,
            Err(e) => panic!("TestApp: purge failed: {e}"),
        }
    }

    /// The session inspector, or a panic naming `method` and how to give one.
    fn sessions(&self, method: &str) -> &SessionInspector {
        match &self.sessions {
            Some(sessions) => sessions,
            None => panic!(
                "TestApp::{method} needs the app's sessions: \
                 `TestApp::new(app).with_sessions(session_app.inspector())`"
            ),
        }
    }

    /// Runs `fut` on the runtime shared with the test's own resources ([`runtime()`]).
    pub(super) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        block_on(fut)
    }
}
