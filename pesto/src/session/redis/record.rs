//! Decoding a session hash read back with `HMGET data last_access_ms` into a [`Record`].
//!
//! Kept apart from the command that reads it so that the fuzz target `redis_record` (and its
//! corpus replay) exercises exactly what `load` runs, without a Redis.

use super::from_millis;
use crate::session::store::Record;

/// Why a hash under the session prefix is not a session, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotASession {
    /// `last_access_ms` is not an integer.
    MalformedStamp,
    /// One of the two fields is missing: something else lives under our key.
    Foreign,
}

/// The record held by the two fields, `Ok(None)` when neither exists (no such session).
pub(crate) fn decode(
    data: Option<Vec<u8>>,
    stamp: Option<String>,
) -> Result<Option<Record>, NotASession> {
    match (data, stamp) {
        (None, None) => Ok(None),
        (Some(data), Some(stamp)) => match stamp.parse::<i64>() {
            Ok(ms) => Ok(Some(Record {
                data,
                last_access: from_millis(ms),
            })),
            Err(_) => Err(NotASession::MalformedStamp),
        },
        _ => Err(NotASession::Foreign),
    }
}
