//! The one place where a `Location` header is made absolute: relative locations written by
//! handlers, the router's canonical-path redirects and the session middleware's own redirects are
//! all resolved here against the request URL, as Pesto sends absolute redirects.

use http::header::{self, HeaderValue};

use super::context::RequestContext;
use super::response::Response;

/// Resolves a relative `Location` of `response` against the request URL (`ctx`'s origin plus
/// `path`); an absolute or unresolvable location is left as written.
pub(crate) fn absolutize(response: &mut Response, ctx: &RequestContext, path: &str) {
    let Some(location) = response.headers().get(header::LOCATION) else {
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
        response.headers_mut().insert(header::LOCATION, absolute);
    }
}

/// Resolves `location` against the request URL, `origin` (`scheme://host[:port]`) followed by
/// `path`; `None` when it is already absolute or cannot be resolved.
fn resolve(origin: &str, path: &str, location: &str) -> Option<String> {
    // The common case — an absolute path of plain URL characters, as `url()` writes — resolves to
    // the origin plus the path without a URL parser (which also runs IDNA on the host).
    if is_plain_absolute_path(location) {
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
fn is_plain_absolute_path(location: &str) -> bool {
    let path = location.split(['?', '#']).next().unwrap_or(location);
    location.starts_with('/')
        && !location.starts_with("//")
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        && location
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/?#%".contains(&b))
        && !path.contains("%2e")
        && !path.contains("%2E")
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
