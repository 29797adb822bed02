//! Where a `Location` header is made absolute: relative locations written by handlers, the
//! router's canonical-path redirects and the session middleware's own redirects are all resolved
//! here against the request URL, as Pesto sends absolute redirects. A redirect made while a
//! request is handled asks [`absolute_in_request`] first, to be written absolute at once; the
//! dispatcher's [`absolutize`] then resolves whatever is still relative.

use http::header::{self, HeaderValue};
use http::HeaderMap;

use super::context::RequestContext;

/// Resolves a relative `Location` among `headers` against the request URL (`ctx`'s origin plus
/// `path`); an absolute or unresolvable location is left as written.
pub(crate) fn absolutize(headers: &mut HeaderMap, ctx: &RequestContext, path: &str) {
    // Most responses have no `Location`: their few header names, compared as tags, tell so for
    // less than the hash of a lookup. Then one lookup: the value is replaced where it is.
    if !headers.keys().any(|name| name == header::LOCATION) {
        return;
    }
    let Some(location) = headers.get_mut(header::LOCATION) else {
        return;
    };
    // `http://…` and `https://…` name their own authority: resolved against any base they are
    // themselves (or fail as they would alone), so they are left as written, without reading
    // them as text or working out the origin — as every location `absolute_in_request` wrote.
    if names_http_authority(location.as_bytes()) {
        return;
    }
    let Some(absolute) = location
        .to_str()
        .ok()
        .and_then(|location| resolve(ctx, path, location))
    else {
        return;
    };
    // The origin is a plain host and the location was a valid value: this never fails, and
    // if it did the location would stay as written.
    if let Ok(absolute) = HeaderValue::try_from(absolute) {
        *location = absolute;
    }
}

/// `location` made absolute against the request being handled on this task, when it is a plain
/// absolute path (`/login`, as `url()` writes) and a handler or the fallback is running; `None`
/// otherwise, and [`absolutize`] resolves it when the handler has returned. Writing the
/// absolute form at once spares a redirect a header value made only to be replaced.
pub(crate) fn absolute_in_request(location: &str) -> Option<String> {
    if !is_plain_absolute_path(location.as_bytes()) {
        return None;
    }
    RequestContext::with_current(|ctx| ctx.absolute(location))
}

/// Resolves `location` against the request URL, `ctx`'s origin (`scheme://host[:port]`)
/// followed by `path`; `None` when it is already absolute or cannot be resolved.
fn resolve(ctx: &RequestContext, path: &str, location: &str) -> Option<String> {
    // The common case — an absolute path of plain URL characters, as `url()` writes — is the
    // origin followed by the path, put together without a URL parser (which would also run
    // IDNA on the host).
    if is_plain_absolute_path(location.as_bytes()) {
        return Some(ctx.absolute(location));
    }
    if url::Url::parse(location).is_ok() {
        return None;
    }
    let base = url::Url::parse(&format!("{}{path}", ctx.origin())).ok()?;
    base.join(location).ok().map(String::from)
}

/// Whether a location (`bytes`) starts with `http://` or `https://` (the scheme in any case).
fn names_http_authority(bytes: &[u8]) -> bool {
    let after_scheme = if bytes.len() >= 5 && bytes[..5].eq_ignore_ascii_case(b"https") {
        &bytes[5..]
    } else if bytes.len() >= 4 && bytes[..4].eq_ignore_ascii_case(b"http") {
        &bytes[4..]
    } else {
        return false;
    };
    after_scheme.starts_with(b"://")
}

/// `/path[?query][#fragment]` made of characters a URL parser keeps as they are (unreserved,
/// sub-delimiters, `:@/?#%` — not `'"<>^{}|\` or spaces, which it would encode), with no `//`
/// start (a scheme-relative reference) and no dot segment, plain or encoded.
fn is_plain_absolute_path(location: &[u8]) -> bool {
    let [b'/', rest @ ..] = location else {
        return false;
    };
    if rest.first() == Some(&b'/') {
        return false;
    }
    // One pass over the bytes (a redirect is made on many requests): each is looked up in a
    // table, and while in the path each `/`, `?` or `#` closes a segment to check.
    let mut in_path = true;
    let mut segment_start = 0;
    for (i, &b) in location.iter().enumerate() {
        if !KEPT_BY_URL_PARSER[usize::from(b)] {
            return false;
        }
        if !in_path {
            continue;
        }
        match b {
            b'/' | b'?' | b'#' => {
                if is_dot_segment(&location[segment_start..i]) {
                    return false;
                }
                segment_start = i + 1;
                in_path = b == b'/';
            }
            b'%' if location.get(i + 1) == Some(&b'2')
                && location
                    .get(i + 2)
                    .is_some_and(|e| e.eq_ignore_ascii_case(&b'e')) =>
            {
                return false;
            }
            _ => {}
        }
    }
    !(in_path && is_dot_segment(&location[segment_start..]))
}

/// `.` or `..`, the segments a URL parser resolves away.
fn is_dot_segment(segment: &[u8]) -> bool {
    matches!(segment, b"." | b"..")
}

/// [`is_kept_by_url_parser`] for every byte, looked up rather than worked out.
const KEPT_BY_URL_PARSER: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_kept_by_url_parser(b as u8);
        b += 1;
    }
    table
};

/// A byte a URL parser leaves as it is in a path, query or fragment.
const fn is_kept_by_url_parser(b: u8) -> bool {
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
    use std::sync::Arc;

    use super::{
        absolute_in_request, is_kept_by_url_parser, is_plain_absolute_path, names_http_authority,
        resolve,
    };
    use crate::exchange::context::RequestContext;
    use crate::exchange::Response;

    /// The context of a request to `host` over http.
    fn context(host: &str) -> Arc<RequestContext> {
        let (mut parts, ()) = http::Request::get("/")
            .header("host", host)
            .body(())
            .expect("request")
            .into_parts();
        RequestContext::take(&mut parts)
    }

    #[tokio::test]
    async fn a_redirect_made_within_a_request_is_absolute_at_once() {
        let (mut parts, ()) = http::Request::get("/shop/cart")
            .header("host", "example.org:8080")
            .body(())
            .expect("request")
            .into_parts();
        let context = RequestContext::take(&mut parts);
        // Outside a request there is nothing to resolve against: left for `absolutize`.
        assert_eq!(absolute_in_request("/login"), None);
        assert_eq!(
            Response::redirect("/login").header("location"),
            Some("/login")
        );
        let (login, relative, dotted, redirect) = context
            .scope(async {
                (
                    absolute_in_request("/login?next=%2Fa"),
                    absolute_in_request("checkout"),
                    absolute_in_request("/a/../b"),
                    Response::redirect("/login"),
                )
            })
            .await;
        assert_eq!(
            login.as_deref(),
            Some("http://example.org:8080/login?next=%2Fa")
        );
        // What only a URL parser resolves waits for `absolutize`, which has the request path.
        assert_eq!((relative, dotted), (None, None));
        assert_eq!(
            redirect.header("location"),
            Some("http://example.org:8080/login")
        );
        // The page links to the location as the handler wrote it.
        assert!(redirect.body().windows(13).any(|w| w == b"href=\"/login\""));
    }

    #[test]
    fn relative_locations_are_resolved_against_the_request() {
        let base = (context("example.org"), "/shop/cart");
        assert_eq!(
            resolve(&base.0, base.1, "/login").as_deref(),
            Some("http://example.org/login")
        );
        assert_eq!(
            resolve(&base.0, base.1, "checkout").as_deref(),
            Some("http://example.org/shop/checkout")
        );
        assert_eq!(resolve(&base.0, base.1, "https://other.example/x"), None);
    }

    #[test]
    fn the_one_pass_path_check_agrees_with_its_definition() {
        // The definition, pass by pass, as `is_plain_absolute_path` documents it.
        fn by_definition(location: &[u8]) -> bool {
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
        // Every string of up to five bytes over the alphabet that matters, after a `/`.
        const ALPHABET: &[u8] = b"/.?#%2eEa ";
        let mut location = Vec::new();
        let mut counter: Vec<usize> = Vec::new();
        loop {
            location.clear();
            location.push(b'/');
            location.extend(counter.iter().map(|&i| ALPHABET[i]));
            assert_eq!(
                is_plain_absolute_path(&location),
                by_definition(&location),
                "{:?}",
                String::from_utf8_lossy(&location)
            );
            // The next string: count in base ALPHABET.len(), growing up to five digits.
            match counter.iter().rposition(|&i| i + 1 < ALPHABET.len()) {
                Some(at) => {
                    counter[at] += 1;
                    counter[at + 1..].iter_mut().for_each(|i| *i = 0);
                }
                None if counter.len() < 5 => counter = vec![0; counter.len() + 1],
                None => break,
            }
        }
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
                resolve(&context("example.org:8080"), "/shop/cart", location),
                parsed(location),
                "{location}"
            );
        }
    }

    #[test]
    fn an_http_location_with_an_authority_is_the_same_against_any_base() {
        // Why `absolutize` may leave these unparsed: joined to a base, the parser gives what it
        // gives them alone (the same URL, or the same failure).
        for location in [
            "http://example.org/x",
            "https://other.example:8443/a/../b?q#f",
            "HTTP://Example.ORG/x",
            "hTtPs://example.org",
            "http://exa mple/x",
            "http://",
            "https:///x",
            "http://[::1]:8080/",
            "http://user:pw@example.org/",
        ] {
            assert!(names_http_authority(location.as_bytes()), "{location}");
            for base in ["http://example.org/shop/cart", "https://127.0.0.1:8080/"] {
                let joined = url::Url::parse(base).and_then(|b| b.join(location));
                assert_eq!(
                    joined,
                    url::Url::parse(location),
                    "{location} against {base}"
                );
            }
            assert_eq!(resolve(&context("example.org"), "/shop", location), None);
        }
        for location in [
            "http:x",
            "http:/x",
            "https:",
            "htt://x",
            "/http://x",
            "ftp://x",
        ] {
            assert!(!names_http_authority(location.as_bytes()), "{location}");
        }
    }
}
