//! [`TestRequest`]: one request of a [`TestApp`], built and then sent.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::Full;

use super::held::HeldRequest;
use super::{TestApp, TestResponse};
use crate::exchange::context::RequestContext;
use crate::exchange::encoding::encode_pairs;
use crate::exchange::save_gate::SaveGate;
use crate::exchange::{box_body, Https};

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
    /// A builder mistake (an invalid header), reported by `send` as a 400 instead of a panic.
    invalid: Option<String>,
    /// Set by [`send_until_save`](Self::send_until_save): where the session middleware holds it.
    gate: Option<SaveGate>,
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
    /// A request with no body, headers or script name yet.
    pub(super) fn new(app: &'a TestApp, method: Method, path: &str) -> Self {
        TestRequest {
            app,
            method,
            path: path.to_owned(),
            script_name: String::new(),
            host: None,
            https: false,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            multipart: None,
            follow_redirects: None,
            invalid: None,
            gate: None,
        }
    }

    /// Makes the body multipart even before a field is added.
    pub(super) fn multipart(mut self) -> Self {
        self.multipart.get_or_insert_with(Vec::new);
        self
    }

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

    /// Adds a header; an invalid name or value makes `send` answer `400` naming it, without
    /// reaching the app.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => self.invalid = Some(format!("invalid header {name:?}: {value:?}")),
        }
        self
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, fields: &[(K, V)]) -> Self {
        let mut body = String::new();
        encode_pairs(
            fields.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
            &mut body,
        );
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

    /// Sends the request and returns once its handler has answered and the session middleware
    /// is about to save its session — holding it there, so that the test can run other
    /// requests of the same session before [`HeldRequest::finish`] lets it save (the testing
    /// guide, "Concurrent requests of one session").
    ///
    /// A request that never gets there (no session middleware, a refusal before the handler, a
    /// 5xx) runs to its end: [`HeldRequest::is_held`] is then false.
    ///
    /// # Panics
    /// Panics when called inside an async runtime (use
    /// [`send_until_save_async`](Self::send_until_save_async) there).
    pub fn send_until_save(self) -> HeldRequest<'a> {
        let app = self.app;
        app.block_on(self.send_until_save_async())
    }

    /// [`send_until_save`](Self::send_until_save), from async code.
    pub async fn send_until_save_async(mut self) -> HeldRequest<'a> {
        let (gate, control) = SaveGate::new();
        self.gate = Some(gate);
        let app = self.app;
        HeldRequest::start(app, Box::pin(self.send_async()), control).await
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
        if let Some(cookies) = self.app.jar.header_for(&host, &path_only, self.https) {
            builder = builder.header(header::COOKIE, cookies);
        }
        if !self.body.is_empty() {
            builder = builder.header(header::CONTENT_LENGTH, self.body.len());
        }
        let built = match &self.invalid {
            Some(problem) => Err(problem.clone()),
            None => builder
                .body(box_body(Full::new(self.body.clone())))
                .map_err(|e| e.to_string()),
        };
        let mut req = match built {
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
        if self.https {
            req.extensions_mut().insert(Https);
        }
        if let Some(gate) = &self.gate {
            req.extensions_mut().insert(gate.clone());
        }
        if !self.script_name.is_empty() {
            let (mut parts, body) = req.into_parts();
            RequestContext::of(&mut parts)
                .1
                .set_script_name(&self.script_name);
            req = http::Request::from_parts(parts, body);
        }
        let response = self.app.endpoint.call(req).await.into_http();
        let (parts, body) = response.into_parts();
        let body = http_body_util::BodyExt::collect(body)
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        self.app.jar.store_from(&parts.headers, &host, &path_only);
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
