//! Target `file_record`: the content of a session file, as the file store reads it back.

use crate::session::file::format;

/// Decodes `data` as a session file's content, then the envelope and session data inside it.
///
/// Asserts: no panic; decoded data is JSON and encode(decode(file)) decodes to the same bytes.
pub fn file_record(data: &[u8]) {
    let Ok((json, version)) = format::decode(data) else {
        return;
    };
    let rewritten = format::encode(&json, version);
    assert!(
        rewritten.is_ok(),
        "decoded file data does not re-encode: {rewritten:?}"
    );
    if let Ok(rewritten) = rewritten {
        assert_eq!(
            format::decode(&rewritten),
            Ok((json.clone(), version)),
            "file round trip"
        );
    }
    super::session_record::check(&json);
}
