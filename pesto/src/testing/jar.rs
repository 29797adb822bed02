//! The cookie jar of [`TestApp`](super::TestApp): RFC 6265 domain and path matching and expiry,
//! as a browser keeps cookies.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use http::{header, HeaderMap};

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

/// Cookies received so far.
#[derive(Debug, Default)]
pub(super) struct CookieJar {
    cookies: Mutex<Vec<StoredCookie>>,
}

impl CookieJar {
    fn lock(&self) -> MutexGuard<'_, Vec<StoredCookie>> {
        self.cookies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of cookie `name` (any path).
    pub(super) fn get(&self, name: &str) -> Option<String> {
        self.lock()
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    }

    /// Puts a host-only cookie for `host` and path `/`.
    pub(super) fn set(&self, name: &str, value: &str, host: &str) {
        let cookie = StoredCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            domain: strip_port(host).to_ascii_lowercase(),
            host_only: true,
            path: "/".to_owned(),
            expires: None,
            secure: false,
        };
        let mut jar = self.lock();
        jar.retain(|c| {
            !(c.name == cookie.name && c.path == cookie.path && c.domain == cookie.domain)
        });
        jar.push(cookie);
    }

    /// Forgets every cookie.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    /// The `Cookie` header a browser would send to `host` for `path`.
    pub(super) fn header_for(&self, host: &str, path: &str, https: bool) -> Option<String> {
        let now = SystemTime::now();
        let mut jar = self.lock();
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

    /// Takes in the `Set-Cookie` headers of a response to a request for `request_path` on `host`.
    pub(super) fn store_from(&self, headers: &HeaderMap, host: &str, request_path: &str) {
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
            let mut jar = self.lock();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(set_cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in set_cookies {
            h.append(header::SET_COOKIE, c.parse().expect("header"));
        }
        h
    }

    #[test]
    fn path_match_follows_rfc_6265() {
        assert!(path_matches("/", "/anything"));
        assert!(path_matches("/foo", "/foo"));
        assert!(path_matches("/foo", "/foo/bar"));
        assert!(path_matches("/foo/", "/foo/bar"));
        assert!(!path_matches("/foo", "/foobar"));
        assert!(!path_matches("/foo/bar", "/foo"));
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("/a"), "/");
    }

    #[test]
    fn domain_cookies_reach_subdomains_and_host_only_ones_do_not() {
        let jar = CookieJar::default();
        jar.store_from(
            &headers(&["d=1; Domain=.example.org; Path=/", "h=2; Path=/"]),
            "www.example.org",
            "/",
        );
        assert_eq!(
            jar.header_for("www.example.org", "/", false).as_deref(),
            Some("d=1; h=2")
        );
        assert_eq!(
            jar.header_for("shop.example.org:8080", "/", false)
                .as_deref(),
            Some("d=1")
        );
        assert_eq!(jar.header_for("example.com", "/", false), None);
    }

    #[test]
    fn secure_expired_and_replaced_cookies() {
        let jar = CookieJar::default();
        jar.store_from(
            &headers(&["s=1; Secure; Path=/", "a=1; Path=/"]),
            "localhost",
            "/",
        );
        assert_eq!(
            jar.header_for("localhost", "/", false).as_deref(),
            Some("a=1")
        );
        jar.store_from(&headers(&["a=2; Path=/"]), "localhost", "/");
        assert_eq!(jar.get("a").as_deref(), Some("2"));
        jar.store_from(&headers(&["a=; Max-Age=0; Path=/"]), "localhost", "/");
        assert_eq!(jar.get("a"), None);
    }
}
