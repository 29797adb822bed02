//! [`TestApp`]: an in-process client for tests, after Pesto's `pesto.testing.TestApp`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::Full;

use crate::endpoint::{box_body, Endpoint, Https, ScriptName};
use crate::routing::encode_query;

/// Drives an [`Endpoint`] in-process, with no socket: from a plain `#[test]` with
/// [`TestRequest::send`], or from async code by awaiting the [`TestRequest`].
///
/// It keeps cookies between calls like a browser and can follow redirects.
///
/// ```
/// use pesto::prelude::*;
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
    jar: Mutex<Vec<StoredCookie>>,
    host: String,
    follow_redirects: bool,
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("host", &self.host)
            .field("follow_redirects", &self.follow_redirects)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct StoredCookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    expires: Option<SystemTime>,
    secure: bool,
}

impl TestApp {
    /// A client for `endpoint`, talking to host `localhost`.
    pub fn new<E: Endpoint>(endpoint: E) -> TestApp {
        TestApp {
            endpoint: Arc::new(endpoint),
            jar: Mutex::new(Vec::new()),
            host: "localhost".to_owned(),
            follow_redirects: false,
            runtime: OnceLock::new(),
        }
    }

    /// Sets the default host (`Host` header and cookie domain).
    #[must_use]
    pub fn with_host(mut self, host: &str) -> TestApp {
        self.host = host.to_owned();
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
        TestRequest {
            app: self,
            method,
            path: path.to_owned(),
            script_name: String::new(),
            host: None,
            https: false,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            multipart: None,
            follow_redirects: None,
        }
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
        let mut req = self.request(Method::POST, path);
        req.multipart = Some(Vec::new());
        req
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
        self.jar_lock()
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    }

    /// Puts a cookie for the default host and path `/` into the jar.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let cookie = StoredCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            domain: self.host_without_port().to_owned(),
            host_only: true,
            path: "/".to_owned(),
            expires: None,
            secure: false,
        };
        let mut jar = self.jar_lock();
        jar.retain(|c| {
            !(c.name == cookie.name && c.path == cookie.path && c.domain == cookie.domain)
        });
        jar.push(cookie);
    }

    /// Empties the cookie jar.
    pub fn clear_cookies(&self) {
        self.jar_lock().clear();
    }

    /// The session data the store holds for this client's session cookie (`None` without a
    /// session layer, cookie or stored session). Like Flask's `session_transaction`, it reads the
    /// store itself, so it shows exactly what was saved.
    ///
    /// # Panics
    /// Panics when called inside an async runtime (use [`TestApp::session_async`]) or when the
    /// stored data does not decode as `T`.
    pub fn session<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.block_on(self.session_async())
    }

    /// Async form of [`TestApp::session`].
    pub async fn session_async<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        let layer = self.endpoint.session_layer()?;
        let id = self.cookie(layer.cookie_name())?;
        self.session_by_id_async(&id).await
    }

    /// The session data the store holds for session id `id` (querystring mode has no cookie).
    ///
    /// # Panics
    /// As [`TestApp::session`].
    pub fn session_by_id<T: serde::de::DeserializeOwned>(&self, id: &str) -> Option<T> {
        self.block_on(self.session_by_id_async(id))
    }

    /// Async form of [`TestApp::session_by_id`].
    pub async fn session_by_id_async<T: serde::de::DeserializeOwned>(&self, id: &str) -> Option<T> {
        let layer = self.endpoint.session_layer()?;
        let id = crate::session::SessionId::parse(id)?;
        let json = match layer.load_json(&id).await {
            Ok(json) => json?,
            Err(e) => panic!("TestApp: session store failed: {e}"),
        };
        match serde_json::from_slice(&json) {
            Ok(value) => Some(value),
            Err(e) => panic!("TestApp: stored session does not decode as the requested type: {e}"),
        }
    }

    /// Seeds or edits this client's session before a request, as Flask's `session_transaction`:
    /// `edit` gets the stored data (or the default), the result is stored, and the session cookie
    /// is put in the jar. Returns the session id (for querystring mode).
    ///
    /// # Panics
    /// Panics without a session layer, inside an async runtime, or when the store fails.
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
        let Some(layer) = self.endpoint.session_layer() else {
            panic!("TestApp::session_transaction needs an app wrapped in session middleware");
        };
        let existing = self
            .cookie(layer.cookie_name())
            .and_then(|id| crate::session::SessionId::parse(&id));
        let id = match existing {
            Some(id) => id,
            None => match crate::session::SessionId::generate() {
                Ok(id) => id,
                Err(e) => panic!("TestApp: cannot generate a session id: {e}"),
            },
        };
        let mut data: T = match layer.load_json(&id).await {
            Ok(Some(json)) => serde_json::from_slice(&json).unwrap_or_default(),
            Ok(None) => T::default(),
            Err(e) => panic!("TestApp: session store failed: {e}"),
        };
        edit(&mut data);
        let json = match serde_json::to_vec(&data) {
            Ok(json) => json,
            Err(e) => panic!("TestApp: session data does not serialize: {e}"),
        };
        if let Err(e) = layer.store_json(&id, json).await {
            panic!("TestApp: session store failed: {e}");
        }
        let id = id.to_string();
        if layer.persist() == crate::session::Persist::Cookie {
            self.set_cookie(layer.cookie_name(), &id);
        }
        id
    }

    /// Runs the session purge now (with the middleware's idle limit and clock); returns how many
    /// sessions were removed.
    ///
    /// # Panics
    /// Panics without a session layer, inside an async runtime, or when the store fails.
    pub fn purge_sessions(&self) -> u64 {
        self.block_on(self.purge_sessions_async())
    }

    /// Async form of [`TestApp::purge_sessions`].
    pub async fn purge_sessions_async(&self) -> u64 {
        let Some(layer) = self.endpoint.session_layer() else {
            panic!("TestApp::purge_sessions needs an app wrapped in session middleware");
        };
        match layer.purge_now().await {
            Ok(n) => n,
            Err(e) => panic!("TestApp: purge failed: {e}"),
        }
    }

    fn host_without_port(&self) -> &str {
        strip_port(&self.host)
    }

    fn jar_lock(&self) -> std::sync::MutexGuard<'_, Vec<StoredCookie>> {
        self.jar.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        assert!(
            tokio::runtime::Handle::try_current().is_err(),
            "TestApp's blocking calls cannot run inside an async runtime: `.await` the request instead"
        );
        let runtime = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        });
        match runtime {
            Ok(rt) => rt.block_on(fut),
            Err(e) => panic!("TestApp could not start a tokio runtime: {e}"),
        }
    }

    fn cookie_header(&self, host: &str, path: &str, https: bool) -> Option<String> {
        let now = SystemTime::now();
        let mut jar = self.jar_lock();
        jar.retain(|c| c.expires.is_none_or(|e| e > now));
        let mut matching: Vec<&StoredCookie> = jar
            .iter()
            .filter(|c| {
                domain_matches(c, host) && path_matches(&c.path, path) && (https || !c.secure)
            })
            .collect();
        // RFC 6265 §5.4: longer paths first.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn store_cookies(&self, headers: &HeaderMap, host: &str, request_path: &str) {
        let now = SystemTime::now();
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let Ok(parsed) = cookie::Cookie::parse(text.to_owned()) else {
                continue;
            };
            let (domain, host_only) = match parsed.domain() {
                Some(d) => (d.trim_start_matches('.').to_ascii_lowercase(), false),
                None => (host.to_ascii_lowercase(), true),
            };
            let path = match parsed.path() {
                Some(p) if p.starts_with('/') => p.to_owned(),
                _ => default_path(request_path),
            };
            let expires = match (parsed.max_age(), parsed.expires_datetime()) {
                (Some(age), _) => {
                    let secs = age.whole_seconds();
                    if secs <= 0 {
                        Some(SystemTime::UNIX_EPOCH)
                    } else {
                        Some(now + Duration::from_secs(secs.unsigned_abs()))
                    }
                }
                (None, Some(at)) => {
                    let secs = at.unix_timestamp();
                    Some(if secs <= 0 {
                        SystemTime::UNIX_EPOCH
                    } else {
                        SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
                    })
                }
                (None, None) => None,
            };
            let stored = StoredCookie {
                name: parsed.name().to_owned(),
                value: parsed.value().to_owned(),
                domain,
                host_only,
                path,
                expires,
                secure: parsed.secure().unwrap_or(false),
            };
            let mut jar = self.jar_lock();
            jar.retain(|c| {
                !(c.name == stored.name && c.path == stored.path && c.domain == stored.domain)
            });
            if stored.expires.is_none_or(|e| e > now) {
                jar.push(stored);
            }
        }
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn domain_matches(cookie: &StoredCookie, host: &str) -> bool {
    let host = strip_port(host).to_ascii_lowercase();
    if cookie.host_only {
        host == cookie.domain
    } else {
        host == cookie.domain || host.ends_with(&format!(".{}", cookie.domain))
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

/// RFC 6265 §5.1.4 default-path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// One request being built; send it with [`TestRequest::send`] or `.await` it.
#[must_use = "a TestRequest does nothing until sent with `.send()` or awaited"]
pub struct TestRequest<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    script_name: String,
    host: Option<String>,
    https: bool,
    headers: HeaderMap,
    body: Bytes,
    multipart: Option<Vec<MultipartPart>>,
    follow_redirects: Option<bool>,
}

impl std::fmt::Debug for TestRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("script_name", &self.script_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct MultipartPart {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

impl<'a> TestRequest<'a> {
    /// Sets the script name (mount path) the app sees, as Pesto's `SCRIPT_NAME=`: the request
    /// goes to `script_name + path`.
    pub fn script_name(mut self, script_name: &str) -> Self {
        let trimmed = script_name.trim_end_matches('/');
        self.script_name = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Sets the host for this request.
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Sends the request as if over https.
    pub fn https(mut self) -> Self {
        self.https = true;
        self
    }

    /// Adds a header; an invalid name or value is ignored with a warning on stderr.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => eprintln!("TestRequest: ignoring invalid header {name:?}: {value:?}"),
        }
        self
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, fields: &[(K, V)]) -> Self {
        let mut body = String::new();
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            encode_query(k.as_ref(), &mut body);
            body.push('=');
            encode_query(v.as_ref(), &mut body);
        }
        self.body(body, "application/x-www-form-urlencoded")
    }

    /// Sets a raw body and its content type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = body.into();
        self.multipart = None;
        if let Ok(v) = HeaderValue::try_from(content_type) {
            self.headers.insert(header::CONTENT_TYPE, v);
        }
        self
    }

    /// Sets a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.body(body, "application/json")
    }

    /// Adds a text field to a multipart body (turning the body into multipart).
    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.multipart
            .get_or_insert_with(Vec::new)
            .push(MultipartPart {
                name: name.to_owned(),
                file_name: None,
                content_type: None,
                data: Bytes::copy_from_slice(value.as_bytes()),
            });
        self
    }

    /// Adds a file to a multipart body (turning the body into multipart).
    pub fn file(
        mut self,
        field: &str,
        file_name: &str,
        content_type: &str,
        data: impl Into<Bytes>,
    ) -> Self {
        self.multipart
            .get_or_insert_with(Vec::new)
            .push(MultipartPart {
                name: field.to_owned(),
                file_name: Some(file_name.to_owned()),
                content_type: Some(content_type.to_owned()),
                data: data.into(),
            });
        self
    }

    /// Follows (or not) redirects for this request, overriding the app's default.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = Some(follow);
        self
    }

    /// Sends the request and waits for the response (from a plain, non-async test).
    ///
    /// # Panics
    /// Panics when called inside an async runtime (`.await` the request there instead).
    pub fn send(self) -> TestResponse {
        let app = self.app;
        app.block_on(self.send_async())
    }

    /// Sends the request (the same as awaiting it).
    pub async fn send_async(mut self) -> TestResponse {
        if let Some(parts) = self.multipart.take() {
            let boundary = format!("pesto-test-boundary-{:016x}", rand::random::<u64>());
            let body = encode_multipart(&parts, &boundary);
            self = self.body(body, &format!("multipart/form-data; boundary={boundary}"));
        }
        let follow = self.follow_redirects.unwrap_or(self.app.follow_redirects);
        let mut hops = 0;
        let mut response = self.send_once().await;
        while follow && response.status.is_redirection() && hops < 10 {
            let Some(location) = response.header("location").map(str::to_owned) else {
                break;
            };
            hops += 1;
            self = self.redirected(&location, response.status);
            response = self.send_once().await;
        }
        response
    }

    /// The request that follows a redirect to `location`.
    fn redirected(mut self, location: &str, status: StatusCode) -> Self {
        let (host, https, path) = match url::Url::parse(location) {
            Ok(u) => {
                let host = match u.port() {
                    Some(p) => format!("{}:{p}", u.host_str().unwrap_or("localhost")),
                    None => u.host_str().unwrap_or("localhost").to_owned(),
                };
                let mut path = u.path().to_owned();
                if let Some(q) = u.query() {
                    path.push('?');
                    path.push_str(q);
                }
                (Some(host), u.scheme() == "https", path)
            }
            Err(_) => (self.host.clone(), self.https, location.to_owned()),
        };
        // Keep the mount path when the new location is still inside it.
        let script = std::mem::take(&mut self.script_name);
        self.path = match path.strip_prefix(&script) {
            Some(rest)
                if !script.is_empty() && (rest.is_empty() || rest.starts_with(['/', '?'])) =>
            {
                self.script_name = script;
                if rest.is_empty() || rest.starts_with('?') {
                    format!("/{rest}")
                } else {
                    rest.to_owned()
                }
            }
            _ => path,
        };
        self.host = host;
        self.https = https;
        if status == StatusCode::SEE_OTHER
            || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                && self.method == Method::POST)
        {
            self.method = Method::GET;
            self.body = Bytes::new();
            self.headers.remove(header::CONTENT_TYPE);
        }
        self
    }

    async fn send_once(&self) -> TestResponse {
        let host = self.host.clone().unwrap_or_else(|| self.app.host.clone());
        let scheme = if self.https { "https" } else { "http" };
        let full_path = format!("{}{}", self.script_name, self.path);
        let url = format!("{scheme}://{host}{full_path}");
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(url.as_str())
            .header(header::HOST, host.as_str());
        let path_only = full_path.split('?').next().unwrap_or("/").to_owned();
        if let Some(cookies) = self.app.cookie_header(&host, &path_only, self.https) {
            builder = builder.header(header::COOKIE, cookies);
        }
        if !self.body.is_empty() {
            builder = builder.header(header::CONTENT_LENGTH, self.body.len());
        }
        let mut req = match builder.body(box_body(Full::new(self.body.clone()))) {
            Ok(req) => req,
            Err(e) => {
                return TestResponse {
                    status: StatusCode::BAD_REQUEST,
                    headers: HeaderMap::new(),
                    body: Bytes::from(format!("TestApp: invalid request {url:?}: {e}")),
                    url,
                }
            }
        };
        for (name, value) in &self.headers {
            req.headers_mut().append(name, value.clone());
        }
        if !self.script_name.is_empty() {
            req.extensions_mut()
                .insert(ScriptName(self.script_name.clone()));
        }
        if self.https {
            req.extensions_mut().insert(Https);
        }
        let response = self.app.endpoint.call(req).await.into_http();
        let (parts, body) = response.into_parts();
        let body = http_body_util::BodyExt::collect(body)
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        self.app.store_cookies(&parts.headers, &host, &path_only);
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
            url,
        }
    }
}

impl<'a> IntoFuture for TestRequest<'a> {
    type Output = TestResponse;
    type IntoFuture = Pin<Box<dyn Future<Output = TestResponse> + Send + 'a>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send_async())
    }
}

fn encode_multipart(parts: &[MultipartPart], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = &part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = &part.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// A response received by [`TestApp`].
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    url: String,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name` (e.g. several `Set-Cookie`), as Pesto's `get_headers`.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// All headers.
    pub fn header_map(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    /// Fails when the body is not JSON for `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The URL this response answered (after any redirects followed).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Status line, headers and body as one string, as Pesto's `TestApp` response `text()`.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} {}\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("")
        );
        for (name, value) in &self.headers {
            out.push_str(&format!(
                "{}: {}\r\n",
                name,
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        out.push_str("\r\n");
        out.push_str(&self.body_text());
        out
    }
}
