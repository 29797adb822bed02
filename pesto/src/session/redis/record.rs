//! Decoding a session hash read back with `HMGET data last_access_ms version` into a [`Record`].
//!
//! Kept apart from the command that reads it so that the fuzz target `redis_record` (and its
//! corpus replay) exercises exactly what `load` runs, without a Redis.

use super::from_millis;
use crate::session::store::{Record, Version};

/// Why a hash under the session prefix is not a session, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotASession {
    /// `last_access_ms` or `version` is not an integer.
    MalformedStamp,
    /// One of the two fields is missing: something else lives under our key.
    Foreign,
}

/// The record held by the fields, `Ok(None)` when neither `data` nor the stamp exists (no such
/// session). A missing `version` (a record written before versions) is version 0; a malformed
/// one is no session.
pub(crate) fn decode(
    data: Option<Vec<u8>>,
    stamp: Option<String>,
    version: Option<String>,
) -> Result<Option<Record>, NotASession> {
    match (data, stamp) {
        (None, None) => Ok(None),
        (Some(data), Some(stamp)) => {
            let version = match version.as_deref().map(str::parse::<u64>) {
                None => Version::default(),
                Some(Ok(version)) => Version(version),
                Some(Err(_)) => return Err(NotASession::MalformedStamp),
            };
            match stamp.parse::<i64>() {
                Ok(ms) => Ok(Some(Record {
                    data,
                    last_access: from_millis(ms),
                    version,
                })),
                Err(_) => Err(NotASession::MalformedStamp),
            }
        }
        _ => Err(NotASession::Foreign),
    }
}
