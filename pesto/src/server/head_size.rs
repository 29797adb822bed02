//! The size of a request's head as the header limit counts it.
//!
//! hyper bounds its read buffer (`max_buf_size`), but checks the bound only while a head is still
//! incomplete, and one read may bring in far more than the bound: a 111 KiB head passed a 64 KiB
//! limit. So the server measures every parsed head again and answers 431 itself when it is over
//! the limit, which makes the documented limit exact (docs/security.md, "The server").

/// The bytes of `req`'s head written the canonical way: `METHOD target HTTP/1.1\r\n`, one
/// `name: value\r\n` per header, and the final `\r\n`. Whitespace that hyper trims around a value is
/// not counted, so this is at most the size on the wire.
pub(super) fn head_size<B>(req: &http::Request<B>) -> usize {
    const VERSION_AND_EOL: usize = " HTTP/1.1\r\n".len();
    const FIELD_PUNCTUATION: usize = ": \r\n".len();
    let uri = req.uri();
    let target = if uri.scheme().is_some() {
        // Absolute form (`GET http://host/path`), rare: the whole URI was on the line.
        uri.to_string().len()
    } else if let Some(path) = uri.path_and_query() {
        path.as_str().len()
    } else {
        // Authority form (`CONNECT host:port`).
        uri.authority().map_or(0, |a| a.as_str().len())
    };
    let line = req.method().as_str().len() + 1 + target + VERSION_AND_EOL;
    let fields: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + FIELD_PUNCTUATION + value.len())
        .sum();
    line + fields + "\r\n".len()
}

#[cfg(test)]
mod tests {
    use super::head_size;

    #[test]
    fn counts_the_canonical_head_byte_for_byte() {
        let req = http::Request::get("/a?b=c")
            .header("host", "x")
            .header("x-long", "y".repeat(100))
            .body(())
            .expect("request");
        let wire = format!(
            "GET /a?b=c HTTP/1.1\r\nhost: x\r\nx-long: {}\r\n\r\n",
            "y".repeat(100)
        );
        assert_eq!(head_size(&req), wire.len());
    }

    #[test]
    fn an_absolute_form_target_counts_whole() {
        let req = http::Request::get("http://example.org/a")
            .body(())
            .expect("request");
        assert_eq!(
            head_size(&req),
            "GET http://example.org/a HTTP/1.1\r\n\r\n".len()
        );
    }
}
