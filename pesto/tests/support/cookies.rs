//! Reading the session cookie out of `Set-Cookie` headers.

use pesto::TestResponse;

/// The `Set-Cookie` value for `pesto_session`, if the response sets it.
pub fn session_cookie(r: &TestResponse) -> Option<String> {
    r.header_values("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("pesto_session="))
        .map(str::to_owned)
}

/// Whether a `Set-Cookie` value has exactly this attribute (e.g. `Path=/`, not `Path=/foo`).
pub fn has_attribute(set_cookie: &str, attribute: &str) -> bool {
    set_cookie.split(';').skip(1).any(|a| a.trim() == attribute)
}

/// The value a `Set-Cookie` header gives its cookie.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}
