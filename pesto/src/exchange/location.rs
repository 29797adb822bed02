//! The one place where a `Location` header is made absolute: relative locations written by
//! handlers, the router's canonical-path redirects and the session middleware's own redirects are
//! all resolved here against the request URL, as Pesto sends absolute redirects.

use http::header;

use super::context::RequestContext;
use super::response::Response;

/// Resolves a relative `Location` of `response` against the request URL (`ctx`'s origin plus
/// `path`); an absolute or unresolvable location is left as written.
pub(crate) fn absolutize(response: Response, ctx: &RequestContext, path: &str) -> Response {
    let Some(location) = response.header("location") else {
        return response;
    };
    match resolve(&format!("{}{path}", ctx.origin()), location) {
        Some(absolute) => response.with_header(header::LOCATION, absolute),
        None => response,
    }
}

/// Resolves `location` against the request URL `base`; `None` when it is already absolute or
/// cannot be resolved.
fn resolve(base: &str, location: &str) -> Option<String> {
    if url::Url::parse(location).is_ok() {
        return None;
    }
    let base = url::Url::parse(base).ok()?;
    base.join(location).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn relative_locations_are_resolved_against_the_request() {
        let base = "http://example.org/shop/cart";
        assert_eq!(
            resolve(base, "/login").as_deref(),
            Some("http://example.org/login")
        );
        assert_eq!(
            resolve(base, "checkout").as_deref(),
            Some("http://example.org/shop/checkout")
        );
        assert_eq!(resolve(base, "https://other.example/x"), None);
    }
}
