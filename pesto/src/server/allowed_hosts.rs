//! The `Host` check of [`Server::allowed_hosts`](super::Server::allowed_hosts), as Django's
//! `ALLOWED_HOSTS`.

/// Whether the request's host is in `allowed` (an empty list allows every host).
pub(super) fn host_allowed<B>(allowed: &[String], req: &http::Request<B>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let host = req
        .uri()
        .host()
        .map(str::to_owned)
        .or_else(|| {
            let header = req.headers().get(http::header::HOST)?.to_str().ok()?;
            let authority: http::uri::Authority = header.parse().ok()?;
            Some(authority.host().to_owned())
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    allowed.iter().any(|a| match a.strip_prefix('.') {
        Some(domain) => host == domain || host.ends_with(a.as_str()),
        None => host == *a,
    })
}
