//! Target `urlencoded`: query strings and `application/x-www-form-urlencoded` bodies.

use crate::exchange::encoding::encode_pairs;
use crate::exchange::MultiDict;

/// Parses `data` as a query string (lenient) and as a form body (strict).
///
/// Asserts: no panic; decode(encode(pairs)) == pairs for both parsers, so what the framework
/// writes into URLs and forms reads back unchanged.
pub fn urlencoded(data: &[u8]) {
    let query = MultiDict::parse_query(&String::from_utf8_lossy(data));
    assert_eq!(
        MultiDict::parse_query(&encode(&query)),
        query,
        "query round trip"
    );

    if let Ok(form) = MultiDict::parse_form(data) {
        let encoded = encode(&form);
        assert_eq!(
            MultiDict::parse_form(encoded.as_bytes()).ok(),
            Some(form),
            "form round trip of {encoded:?}"
        );
    }
}

/// The pairs written back as `application/x-www-form-urlencoded` text.
fn encode(pairs: &MultiDict) -> String {
    let mut out = String::new();
    encode_pairs(pairs.iter(), &mut out);
    out
}
