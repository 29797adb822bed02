//! Form-urlencoding of query strings and form bodies, shared by URL generation, redirects and
//! `TestApp`.

/// Percent-encodes a query-string key or value (`application/x-www-form-urlencoded` rules).
pub(crate) fn encode_query(text: &str, out: &mut String) {
    out.extend(url::form_urlencoded::byte_serialize(text.as_bytes()));
}

/// Appends `key=value` pairs joined by `&`, form-urlencoded (a query string or a form body).
pub(crate) fn encode_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    out: &mut String,
) {
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_query(key, out);
        out.push('=');
        encode_query(value, out);
    }
}
