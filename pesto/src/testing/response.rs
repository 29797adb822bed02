//! [`TestResponse`]: what a [`TestApp`](super::TestApp) request got back.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::exchange::headers;

/// A response received by [`TestApp`](super::TestApp).
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) url: String,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::first(&self.headers, name)
    }

    /// Every value of header `name` (e.g. several `Set-Cookie`), as Pesto's `get_headers`.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        headers::all(&self.headers, name)
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
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
