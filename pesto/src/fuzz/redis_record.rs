//! Target `redis_record` (feature `redis`): a session hash as the Redis store reads it back.

use crate::session::redis::record;

/// Decodes `data` as the fields of a session hash, then the envelope and session data.
///
/// Layout: byte 0 says which fields exist (bit 0 `data`, bit 1 `last_access_ms`, bit 2
/// `version`); the rest, up to the first `\n`, is `last_access_ms` and `version` alike (as
/// redis-rs hands them over, so only UTF-8), and after it the `data` field. Asserts: no panic; a decoded record keeps `data` byte for byte.
pub fn redis_record(data: &[u8]) {
    let Some((&present, rest)) = data.split_first() else {
        return;
    };
    let (stamp, field) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(stamp) = std::str::from_utf8(stamp) else {
        return;
    };
    let data_field = (present & 1 != 0).then(|| field.to_vec());
    let stamp_field = (present & 2 != 0).then(|| stamp.to_owned());
    let version_field = (present & 4 != 0).then(|| stamp.to_owned());
    match record::decode(data_field.clone(), stamp_field, version_field) {
        Ok(Some(record)) => {
            assert_eq!(
                Some(&record.data),
                data_field.as_ref(),
                "data changed on load"
            );
            super::session_record::check(&record.data);
        }
        Ok(None) => assert!(data_field.is_none(), "a session hash read as absent"),
        Err(_) => {}
    }
}
