//! Target `cookie_header`: the `Cookie` header parser and the session id parser behind it.

use http::{HeaderMap, HeaderValue};

use crate::exchange::cookies;
use crate::exchange::{SessionId, SessionKey};

/// The cookie name whose raw values are parsed as session ids, as the middleware does.
const ID_COOKIE: &str = "pesto_session";

/// Parses `data`, one `Cookie` header per line, as a request's cookies and session id cookies.
///
/// Asserts: no panic; every parsed name is non-empty, trimmed and free of `;` and `=`; every
/// id that parses is the exact 64-hex text it came from and its key is a valid key.
pub fn cookie_header(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        // Bytes hyper would refuse as a header value never reach the parser.
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(http::header::COOKIE, value);
        }
    }
    let parsed = cookies::parse(&headers);
    for (name, _) in parsed.iter() {
        assert!(!name.is_empty(), "empty cookie name");
        assert_eq!(
            name,
            name.trim_matches([' ', '\t']),
            "untrimmed cookie name"
        );
        assert!(
            !name.contains([';', '=']),
            "cookie name {name:?} holds a separator"
        );
    }
    for raw in cookies::raw_values(&headers, ID_COOKIE) {
        check_id(raw);
    }
    // The whole input as one id text, as a querystring-mode id arrives.
    if let Ok(text) = std::str::from_utf8(data) {
        check_id(text);
    }
}

/// A text that parses as an id is exactly its 64 lowercase hex digits, and so is its key.
fn check_id(text: &str) {
    let Some(id) = SessionId::parse(text) else {
        assert!(text.parse::<SessionId>().is_err());
        return;
    };
    assert_eq!(id.as_str(), text);
    assert_eq!(id.to_string(), text);
    assert_eq!(text.len(), 64);
    let key = id.key();
    assert_eq!(SessionKey::parse(key.as_str()).as_ref(), Some(key));
    assert_ne!(key.as_str(), text, "a key must not be the id it hashes");
}
