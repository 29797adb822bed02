//! Target `redis_record` (feature `redis`): a session value as the Redis store reads it back.

use crate::session::redis::record;

/// Decodes `data` as the value `GETRANGE` returns for a session key, then the envelope and
/// session data. Asserts: no panic; a decoded record keeps the bytes after the header byte for
/// byte, and encodes back to the same value.
pub fn redis_record(data: &[u8]) {
    match record::decode(data.to_vec()) {
        Ok(Some(decoded)) => {
            assert_eq!(
                data.get(record::HEADER_LEN..),
                Some(decoded.data.as_slice()),
                "data changed on load"
            );
            let again = record::encode(
                decoded.version,
                crate::session::millis::to_millis(decoded.last_access),
                &decoded.data,
            );
            // Equal unless the stamp was out of `SystemTime`'s range (read as the epoch) or
            // written with another spelling of the same number ("+1", "-0").
            if again != data {
                assert_eq!(
                    again.get(record::HEADER_LEN..),
                    data.get(record::HEADER_LEN..)
                );
            }
            super::session_record::check(&decoded.data);
        }
        Ok(None) => assert!(data.is_empty(), "a stored value read as absent"),
        Err(_) => {}
    }
}
