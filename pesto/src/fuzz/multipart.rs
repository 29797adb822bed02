//! Target `multipart`: `multipart/form-data` bodies (multer, driven as the dispatcher drives it)
//! and the `Content-Type` boundary parameter.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue};

use crate::exchange::body::{self, BodyError, Limits};

/// A small multipart limit, so that the size check is reached by inputs a fuzzer makes.
const FUZZ_MULTIPART_LIMIT: usize = 4096;

thread_local! {
    /// One runtime per thread: building one per input would dominate the run time.
    static RUNTIME: Option<tokio::runtime::Runtime> =
        tokio::runtime::Builder::new_current_thread().build().ok();
}

/// Parses `data` as a form: its first line is the `Content-Type` header value, the rest the body.
///
/// Asserts: no panic, and every outcome is a parsed form, 413 or 400 (a multipart body is never
/// answered with any other error).
pub fn multipart(data: &[u8]) {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let content_type = content_type.strip_suffix(b"\r").unwrap_or(content_type);
    let mut headers = HeaderMap::new();
    let Ok(value) = HeaderValue::from_bytes(content_type) else {
        return;
    };
    headers.insert(header::CONTENT_TYPE, value);
    let body = Bytes::copy_from_slice(body);
    let limits = Limits::default().multipart(FUZZ_MULTIPART_LIMIT);
    let outcome = RUNTIME.with(|runtime| {
        runtime
            .as_ref()
            .map(|rt| rt.block_on(body::parse_form(&headers, &body, &limits)))
    });
    match outcome {
        None => panic!("no tokio runtime could be built"),
        Some(Ok((fields, files))) => {
            let total: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
                + files.iter().map(|f| f.data.len()).sum::<usize>();
            assert!(total <= body.len(), "a form larger than its body");
        }
        Some(Err(BodyError::TooLarge | BodyError::Malformed(_))) => {}
        Some(Err(other)) => panic!("unexpected body error {other:?}"),
    }
}
