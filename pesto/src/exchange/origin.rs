//! Where a request was sent: its scheme, host and origin, read defensively because the host ends
//! up in absolute URLs and redirects.

use super::raw::Https;

/// `http` or `https`, from the URI or the [`Https`] marker.
pub(crate) fn scheme(parts: &http::request::Parts) -> &str {
    match parts.uri.scheme_str() {
        Some(s) => s,
        None if parts.extensions.get::<Https>().is_some() => "https",
        None => "http",
    }
}

/// The host from the URI authority or the `Host` header; `localhost` when neither is present
/// or the value is not a plain `host[:port]` (it ends up in absolute URLs and redirects).
pub(crate) fn host(parts: &http::request::Parts) -> &str {
    parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|h| is_plain_host(h))
        .unwrap_or("localhost")
}

/// `name[:port]` or `[v6]:port`, nothing else (no user info, path or odd characters).
pub(crate) fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        && host.parse::<http::uri::Authority>().is_ok()
}
