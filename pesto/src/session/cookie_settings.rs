//! [`CookieSettings`]: the session cookie's name and attributes, and the `Set-Cookie` value
//! that announces an id under them.

use std::sync::Arc;
use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::HeaderValue;

use super::reply::Reply;
use crate::exchange::SessionId;

/// The session cookie's name and attributes.
#[derive(Debug, Clone)]
pub(super) struct CookieSettings {
    pub(super) name: Arc<str>,
    /// `Path`; `None` for the mount path the app is served under (`/` at the root).
    pub(super) path: Option<String>,
    pub(super) domain: Option<String>,
    /// `Secure`; `None` to follow the request's scheme.
    pub(super) secure: Option<bool>,
    pub(super) same_site: SameSite,
    pub(super) max_age: Option<Duration>,
}

impl CookieSettings {
    /// Makes the settings obey the rules of a `__Host-` or `__Secure-` name (RFC 6265bis,
    /// "Cookie Name Prefixes"; browsers match the prefix case-insensitively and drop a cookie that
    /// breaks them, which would log every user out). `__Host-`: `Secure` always, `Path=/`, no
    /// `Domain`; `__Secure-`: `Secure` always. A setting that contradicts them is overridden and
    /// logged once, when the middleware is built.
    pub(super) fn obey_name_prefix(mut self) -> Self {
        let name = self.name.as_bytes();
        let has_prefix = |prefix: &str| {
            name.len() >= prefix.len()
                && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        };
        let host = has_prefix("__Host-");
        if !host && !has_prefix("__Secure-") {
            return self;
        }
        if self.secure == Some(false) {
            tracing::error!(cookie = %self.name, "secure(false) ignored: a cookie with this name prefix must be Secure");
        }
        self.secure = Some(true);
        if host {
            if self.path.as_deref().is_some_and(|p| p != "/") {
                tracing::error!(cookie = %self.name, "cookie_path ignored: a __Host- cookie must have Path=/");
            }
            self.path = Some("/".to_owned());
            if self.domain.is_some() {
                tracing::error!(cookie = %self.name, "cookie_domain ignored: a __Host- cookie must not have a Domain");
            }
            self.domain = None;
        }
        self
    }

    /// The session cookie carrying `value`, for a response going where `reply` says.
    pub(super) fn build(&self, value: String, reply: &Reply) -> Cookie<'static> {
        let mut cookie = Cookie::new(self.name.to_string(), value);
        cookie.set_path(self.path_for(reply).to_owned());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_http_only(true);
        cookie.set_same_site(self.same_site);
        cookie.set_secure(self.secure.unwrap_or(reply.https));
        if let Some(max_age) = self.max_age {
            let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(secs));
        }
        cookie
    }

    /// The cookie's `Path`: the configured one, else where the middleware is mounted.
    fn path_for<'r>(&'r self, reply: &'r Reply) -> &'r str {
        match &self.path {
            Some(path) => path,
            None if reply.script_name.is_empty() => "/",
            None => &reply.script_name,
        }
    }

    /// The `Set-Cookie` value announcing `id`, written straight into one string, as the
    /// `cookie` crate writes it (the same attributes in the same order); `None` when the name is
    /// not plain enough to need no percent-encoding, or an attribute cannot be a header value,
    /// and the crate is left to write it. A new session sends one on every login and first
    /// write, and an id (hex) never needs encoding.
    pub(super) fn set_cookie_value(&self, id: &SessionId, reply: &Reply) -> Option<HeaderValue> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return None;
        }
        let path = self.path_for(reply);
        let same_site = match self.same_site {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        };
        let secure = self.secure.unwrap_or(reply.https);
        // As the crate writes it: one leading `.` dropped (RFC 6265 ignores it anyway).
        let domain = self
            .domain
            .as_deref()
            .map(|d| d.strip_prefix('.').unwrap_or(d));
        let max_age = self.max_age.map(|max_age| {
            i64::try_from(max_age.as_secs())
                .unwrap_or(i64::MAX)
                .to_string()
        });
        // Sized exactly: a header value takes over a buffer whose length is its capacity as it
        // is, and wraps any other in a header allocated apart (one allocation more per cookie).
        let len = self.name.len()
            + "=".len()
            + id.as_str().len()
            + "; HttpOnly; SameSite=".len()
            + same_site.len()
            + if secure { "; Secure".len() } else { 0 }
            + "; Path=".len()
            + path.len()
            + domain.map_or(0, |d| "; Domain=".len() + d.len())
            + max_age.as_ref().map_or(0, |m| "; Max-Age=".len() + m.len());
        let mut out = String::with_capacity(len);
        out.push_str(&self.name);
        out.push('=');
        out.push_str(id.as_str());
        out.push_str("; HttpOnly; SameSite=");
        out.push_str(same_site);
        if secure {
            out.push_str("; Secure");
        }
        out.push_str("; Path=");
        out.push_str(path);
        if let Some(domain) = domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if let Some(max_age) = max_age {
            out.push_str("; Max-Age=");
            out.push_str(&max_age);
        }
        debug_assert_eq!(out.len(), len, "the Set-Cookie value's size");
        HeaderValue::try_from(out).ok()
    }
}
