//! Reading header values as text, the same way for requests, responses and test responses.

use http::HeaderMap;

/// The first value of header `name`, if it is text.
pub(crate) fn first<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every value of header `name` that is text, in order.
pub(crate) fn all<'h>(headers: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}
