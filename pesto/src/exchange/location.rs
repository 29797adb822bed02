//! The one place where a `Location` header is made absolute: relative locations written by
//! handlers, the router's canonical-path redirects and the session middleware's own redirects are
//! all resolved here against the request URL, as Pesto sends absolute redirects.

use http::header::{self, HeaderValue};

use super::context::RequestContext;
use super::response::Response;

/// Resolves a relative `Location` of `response` against the request URL (`ctx`'s origin plus
/// `path`); an absolute or unresolvable location is left as written.
pub(crate) fn absolutize(response: &mut Response, ctx: &RequestContext, path: &str) {
    // One lookup: the value is replaced where it is.
    let Some(location) = response.headers_mut().get_mut(header::LOCATION) else {
        return;
    };
    let Some(absolute) = location
        .to_str()
        .ok()
        .and_then(|location| resolve(ctx.origin(), path, location))
    else {
        return;
    };
    // The origin is a plain host and the location was a valid value: this never fails, and
    // if it did the location would stay as written.
    if let Ok(absolute) = HeaderValue::try_from(absolute) {
        *location = absolute;
    }
}

/// Resolves `location` against the request URL, `origin` (`scheme://host[:port]`) followed by
/// `path`; `None` when it is already absolute or cannot be resolved.
fn resolve(origin: &str, path: &str, location: &str) -> Option<String> {
    // The common case — an absolute path of plain URL characters, as `url()` writes — is the
    // origin followed by the path, put together without a URL parser (which would also run
    // IDNA on the host).
    if is_plain_absolute_path(location.as_bytes()) {
        let mut out = String::with_capacity(origin.len() + location.len());
        out.push_str(origin);
        out.push_str(location);
        return Some(out);
    }
    if url::Url::parse(location).is_ok() {
        return None;
    }
    let base = url::Url::parse(&format!("{origin}{path}")).ok()?;
    base.join(location).ok().map(String::from)
}

/// `/path[?query][#fragment]` made of characters a URL parser keeps as they are (unreserved,
/// sub-delimiters, `:@/?#%` — not `'"<>^{}|\` or spaces, which it would encode), with no `//`
/// start (a scheme-relative reference) and no dot segment, plain or encoded.
fn is_plain_absolute_path(location: &[u8]) -> bool {
    let [b'/', rest @ ..] = location else {
        return false;
    };
    if rest.first() == Some(&b'/') || !location.iter().all(|&b| is_kept_by_url_parser(b)) {
        return false;
    }
    let path_len = location
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(location.len());
    let path = &location[..path_len];
    !path
        .split(|&b| b == b'/')
        .any(|segment| segment == b"." || segment == b"..")
        && !path
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'e'))
}

/// A byte a URL parser leaves as it is in a path, query or fragment.
fn is_kept_by_url_parser(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'#'
                | b'%'
        )
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn relative_locations_are_resolved_against_the_request() {
        let base = ("http://example.org", "/shop/cart");
        assert_eq!(
            resolve(base.0, base.1, "/login").as_deref(),
            Some("http://example.org/login")
        );
        assert_eq!(
            resolve(base.0, base.1, "checkout").as_deref(),
            Some("http://example.org/shop/checkout")
        );
        assert_eq!(resolve(base.0, base.1, "https://other.example/x"), None);
    }

    #[test]
    fn the_fast_path_agrees_with_the_url_parser() {
        let base = "http://example.org:8080/shop/cart";
        let parsed = |location: &str| {
            url::Url::parse(base)
                .and_then(|b| b.join(location))
                .map(String::from)
                .ok()
        };
        for location in [
            "/login",
            "/a/b?x=1&y=%20z#frag",
            "/caf%C3%A9",
            "/",
            "/a//b",
            "//evil.example/x",
            "/a/../b",
            "/a/./b",
            "/a/%2e%2e/b",
            "/a b",
            "/a\\b",
            "/ü",
            "/a\"b",
            "/a<b>",
            "/a^b",
            "/a{b}",
            "/a|b",
            "/a?q='x'",
            "/a?x#y z",
            "/a?b=c/d#e?f",
        ] {
            assert_eq!(
                resolve("http://example.org:8080", "/shop/cart", location),
                parsed(location),
                "{location}"
            );
        }
    }
}
