//! The stored form of a session: the application's data plus when the session began, so that an
//! absolute lifetime can be enforced on load (docs/security.md, "Session lifecycle": "idle and absolute
//! timeouts enforced when the session is loaded").
//!
//! `{"created_ms":1700000000000,"data":<the session type's JSON>}` — the data is kept byte for
//! byte, so change detection compares exactly what the handler's data serializes to.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Stored<'a> {
    created_ms: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// The record bytes for session data `data` (JSON) begun at `created`.
pub fn encode(created: SystemTime, data: &[u8]) -> Vec<u8> {
    let millis = created
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut out = Vec::with_capacity(data.len() + 40);
    out.extend_from_slice(b"{\"created_ms\":");
    out.extend_from_slice(millis.to_string().as_bytes());
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data);
    out.push(b'}');
    out
}

/// When the session began and its data (JSON), or `None` for bytes that are not a record.
pub fn decode(record: &[u8]) -> Option<(SystemTime, Vec<u8>)> {
    // serde would also read a struct from a JSON array: only an object is a record.
    if record.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let stored: Stored<'_> = serde_json::from_slice(record).ok()?;
    let created = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(stored.created_ms))?;
    Some((created, stored.data.get().as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_the_data_byte_for_byte() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let data = br#"{"b":[1, 2],"a":"x"}"#;
        let bytes = encode(at, data);
        assert_eq!(decode(&bytes), Some((at, data.to_vec())));
    }

    #[test]
    fn anything_else_is_not_a_record() {
        for junk in [
            &b""[..],
            b"{}",
            b"{\"data\":1}",
            b"[1,2]",
            b"{\"created_ms\":-1,\"data\":{}}",
        ] {
            assert_eq!(decode(junk), None, "{:?}", String::from_utf8_lossy(junk));
        }
    }
}
