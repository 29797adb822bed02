//! A session as the Redis store keeps it: one string, a fixed-width header and the data.
//!
//! ```text
//! v1 <version: 20 digits> <last access: 20 characters, signed Unix ms>\n<data>
//! ```
//!
//! One string, so that `load` is a single plain `GETRANGE` that never reads more than the size
//! limit (no script, no second command); a fixed-width header, so that the write scripts compare
//! the version and rewrite the stamp in place (`SETRANGE`) without parsing the data.
//!
//! Kept apart from the commands that read and write it so that the fuzz target `redis_record`
//! (and its corpus replay) exercises exactly what `load` decodes, without a Redis.

use super::from_millis;
use crate::session::store::{Record, Version};

/// The header's length: `v1 `, 20 digits, a space, 20 characters, a newline.
pub(crate) const HEADER_LEN: usize = 45;
/// What every record starts with; anything else under the prefix is not a session.
const MAGIC: &[u8] = b"v1 ";
/// Where the version's digits start (the scripts' 1-based `string.sub(head, 4, 23)`).
const VERSION_AT: usize = 3;
/// Where the stamp starts (the touch script's 0-based `SETRANGE` offset).
const STAMP_AT: usize = 24;
/// The width of both numbers.
const FIELD_WIDTH: usize = 20;

/// Why a value under the session prefix is not a session, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotASession {
    /// The header is there but its version or stamp is not a number.
    MalformedStamp,
    /// No header: something else lives under our key.
    Foreign,
}

/// `version` as the header writes it: 20 digits, zero-padded.
pub(super) fn version_field(version: Version) -> String {
    format!("{:020}", version.0)
}

/// `ms` as the header writes it: 20 characters, zero-padded after the sign (`i64::MIN` fits).
pub(super) fn stamp_field(ms: i64) -> String {
    format!("{ms:020}")
}

/// The whole value of a record: the header, then `data` byte for byte.
pub(crate) fn encode(version: Version, last_access_ms: i64, data: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(HEADER_LEN + data.len());
    value.extend_from_slice(MAGIC);
    value.extend_from_slice(version_field(version).as_bytes());
    value.push(b' ');
    value.extend_from_slice(stamp_field(last_access_ms).as_bytes());
    value.push(b'\n');
    value.extend_from_slice(data);
    value
}

/// The record a value holds; `Ok(None)` for an empty value, which is what `GETRANGE` answers
/// for a key that does not exist (a record is never empty: it has its header).
pub(crate) fn decode(mut value: Vec<u8>) -> Result<Option<Record>, NotASession> {
    if value.is_empty() {
        return Ok(None);
    }
    let header = value.get(..HEADER_LEN).ok_or(NotASession::Foreign)?;
    if !header.starts_with(MAGIC)
        || header[VERSION_AT + FIELD_WIDTH] != b' '
        || header[HEADER_LEN - 1] != b'\n'
    {
        return Err(NotASession::Foreign);
    }
    let version = number::<u64>(&header[VERSION_AT..VERSION_AT + FIELD_WIDTH])?;
    let stamp = number::<i64>(&header[STAMP_AT..STAMP_AT + FIELD_WIDTH])?;
    value.drain(..HEADER_LEN);
    Ok(Some(Record {
        data: value,
        last_access: from_millis(stamp),
        version: Version(version),
    }))
}

/// A header field as a number.
fn number<T: std::str::FromStr>(field: &[u8]) -> Result<T, NotASession> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(NotASession::MalformedStamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_at_every_extreme_of_its_numbers() {
        let data = br#"{"user":"alice"}"#;
        for (version, ms) in [
            (1, 1_800_000_090_000),
            (0, 0),
            (u64::MAX, i64::MAX),
            (7, -1),
            (2, i64::MIN),
        ] {
            let value = encode(Version(version), ms, data);
            assert_eq!(value.len(), HEADER_LEN + data.len(), "{version} {ms}");
            let record = decode(value).expect("a record").expect("present");
            assert_eq!(record.data, data);
            assert_eq!(record.version, Version(version));
            assert_eq!(record.last_access, from_millis(ms));
        }
    }

    #[test]
    fn the_header_is_what_the_scripts_expect() {
        let value = encode(Version(3), 1_800_000_090_000, b"{}");
        assert_eq!(
            String::from_utf8_lossy(&value),
            "v1 00000000000000000003 00000001800000090000\n{}"
        );
        // scripts.rs reads the version at 1-based 4..=23 and writes the stamp at 0-based 24.
        assert_eq!(&value[3..23], version_field(Version(3)).as_bytes());
        assert_eq!(&value[STAMP_AT..STAMP_AT + 20], b"00000001800000090000");
    }

    #[test]
    fn anything_else_is_absent_or_not_a_session() {
        assert_eq!(decode(Vec::new()), Ok(None));
        for foreign in [
            &b"not a session"[..],
            b"v1 ",
            b"v2 00000000000000000001 00000000000000000001\n{}",
        ] {
            assert_eq!(
                decode(foreign.to_vec()),
                Err(NotASession::Foreign),
                "{foreign:?}"
            );
        }
        let bad_version = b"v1 0000000000000000000x 00000000000000000001\n{}";
        assert_eq!(
            decode(bad_version.to_vec()),
            Err(NotASession::MalformedStamp)
        );
        let bad_stamp = b"v1 00000000000000000001 -000000000000000000-\n{}";
        assert_eq!(decode(bad_stamp.to_vec()), Err(NotASession::MalformedStamp));
    }
}
