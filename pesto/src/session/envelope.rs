//! The stored form of a session: the application's data plus when the session began, so that an
//! absolute lifetime can be enforced on load (docs/security.md, "Session lifecycle": "idle and absolute
//! timeouts enforced when the session is loaded").
//!
//! `{"created":1700000000000,"data":<the session type's JSON>}` (milliseconds since the epoch) —
//! the data is kept byte for byte, so change detection compares exactly what the handler's data
//! serializes to — with `"flash":[{"level":"info","message":"Saved"}],` before `"data"` while
//! flash messages wait to be shown. They live beside the data, not in it, so they work whatever
//! the session type. The data comes last so that a load finds it without parsing it: the session
//! layer parses it into the app's own type anyway, and doing it here too cost a logged-in request
//! a second JSON parse and a copy. Records written by earlier builds
//! (`{"created_ms":…,"data":…,"flash":…}`) are still read, through the parser.
//!
//! The other record the middleware stores is the forward that `cycle_id()` leaves under the old
//! id for the renewal grace window: `{"forward_to":"<the new id's key>","until_ms":…}`. It holds
//! the new id's *key*, never the id, so a store's contents still yield no usable id.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::exchange::{Flash, SessionKey};

#[derive(Deserialize)]
struct Stored<'a> {
    /// `created_ms` in records written by earlier builds.
    #[serde(alias = "created_ms")]
    created: u64,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(default)]
    flash: Vec<Flash>,
}

/// A session record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// When the session began.
    pub created: SystemTime,
    /// The session data's JSON, byte for byte.
    pub data: Vec<u8>,
    /// The flash messages waiting to be shown.
    pub flashes: Vec<Flash>,
}

#[derive(Deserialize)]
struct StoredForward<'a> {
    forward_to: &'a str,
    until_ms: u64,
}

/// A forward from a renewed id to the session's new key, valid until a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The key the session now lives under.
    pub to: SessionKey,
    /// The end of the grace window.
    pub until: SystemTime,
}

/// The record bytes of a forward to `to` until `until`.
pub fn encode_forward(to: &SessionKey, until: SystemTime) -> Vec<u8> {
    format!(
        r#"{{"forward_to":"{}","until_ms":{}}}"#,
        to.as_str(),
        millis(until)
    )
    .into_bytes()
}

/// The forward in `record`, or `None` for bytes that are not one.
pub fn decode_forward(record: &[u8]) -> Option<Forward> {
    if record.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let stored: StoredForward<'_> = serde_json::from_slice(record).ok()?;
    Some(Forward {
        to: SessionKey::parse(stored.forward_to)?,
        until: SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(stored.until_ms))?,
    })
}

/// Milliseconds since the epoch (0 before it, saturating far out).
fn millis(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The record bytes for session data `data` (JSON) begun at `created`, with the flash messages
/// waiting to be shown.
pub fn encode(created: SystemTime, data: &[u8], flashes: &[Flash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 36);
    out.extend_from_slice(CREATED);
    out.extend_from_slice(millis(created).to_string().as_bytes());
    if !flashes.is_empty() {
        out.extend_from_slice(b",\"flash\":");
        // A list of plain structs of strings serializes into a Vec without fail.
        let _ = serde_json::to_writer(&mut out, flashes);
    }
    out.extend_from_slice(DATA);
    out.extend_from_slice(data);
    out.push(b'}');
    out
}

/// How a record of this layout begins, and what stands between the time or the flash messages
/// and the data.
const CREATED: &[u8] = b"{\"created\":";
const DATA: &[u8] = b",\"data\":";

/// The session in `record`, or `None` for bytes that are not a session record.
pub fn decode(record: &[u8]) -> Option<Decoded> {
    decode_without_flashes(record).or_else(|| decode_with_serde(record))
}

/// Any record layout, flash messages included, and those of earlier builds, through serde.
fn decode_with_serde(record: &[u8]) -> Option<Decoded> {
    // serde would also read a struct from a JSON array: only an object is a record.
    if record.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let stored: Stored<'_> = serde_json::from_slice(record).ok()?;
    Some(Decoded {
        created: from_millis(stored.created)?,
        data: stored.data.get().as_bytes().to_vec(),
        flashes: stored.flash,
    })
}

/// A record as [`encode`] writes it when no flash message waits — nearly every load: the time,
/// then the data up to the closing brace, taken as it is. The data is not checked here: the
/// session layer parses it into the app's type, and data that does not parse starts a new
/// session there, as a record from a parser would.
fn decode_without_flashes(record: &[u8]) -> Option<Decoded> {
    let (created, data) = split_without_flashes(record)?;
    Some(Decoded {
        created,
        data: record[data].to_vec(),
        flashes: Vec::new(),
    })
}

/// When a record without flash messages began, and where its data lies in it.
fn split_without_flashes(record: &[u8]) -> Option<(SystemTime, std::ops::Range<usize>)> {
    let rest = record.strip_prefix(CREATED)?;
    // The time's digits, read and counted in one pass (every logged-in request loads a record):
    // none, or more than a `u64` holds, is not a record of this layout.
    let mut created: u64 = 0;
    let mut digits = 0;
    for &byte in rest.iter().take_while(|b| b.is_ascii_digit()) {
        created = created
            .checked_mul(10)?
            .checked_add(u64::from(byte - b'0'))?;
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    let data = rest[digits..]
        .strip_prefix(DATA)?
        .strip_suffix(b"}")
        .filter(|data| closes_as_it_opens(data))?;
    let start = CREATED.len() + digits + DATA.len();
    Some((from_millis(created)?, start..start + data.len()))
}

/// As [`decode`], taking the record's bytes: the data of a record without flash messages is
/// moved to the front of the record's own buffer instead of copied into a new one (a load
/// allocates once, not twice). Bytes that are not a session record are handed back.
pub(crate) fn decode_owned(mut record: Vec<u8>) -> Result<Decoded, Vec<u8>> {
    if let Some((created, data)) = split_without_flashes(&record) {
        record.truncate(data.end);
        record.drain(..data.start);
        return Ok(Decoded {
            created,
            data: record,
            flashes: Vec::new(),
        });
    }
    decode_with_serde(&record).ok_or(record)
}

/// Whether `data` ends with the bracket or quote it starts with (any other value, a number or a
/// literal, passes): a record cut short is refused here without parsing the data.
fn closes_as_it_opens(data: &[u8]) -> bool {
    match (data.first(), data.last()) {
        (None, _) => false,
        (Some(b'{'), last) => data.len() > 1 && last == Some(&b'}'),
        (Some(b'['), last) => data.len() > 1 && last == Some(&b']'),
        (Some(b'"'), last) => data.len() > 1 && last == Some(&b'"'),
        (Some(_), _) => true,
    }
}

/// The time `ms` milliseconds after the epoch, if it can be represented.
fn from_millis(ms: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::exchange::FlashLevel;

    #[test]
    fn round_trip_keeps_the_data_byte_for_byte_and_the_flashes() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let data = br#"{"b":[1, 2],"a":"x"}"#;
        let bytes = encode(at, data, &[]);
        assert!(
            !bytes.windows(5).any(|w| w == b"flash"),
            "no flash member when none wait"
        );
        let decoded = decode(&bytes).expect("a record");
        assert_eq!((decoded.created, decoded.data), (at, data.to_vec()));
        assert!(decoded.flashes.is_empty());
        let flashes = [Flash {
            level: FlashLevel::Success,
            message: "Saved \"it\" ✓".to_owned(),
        }];
        let decoded = decode(&encode(at, data, &flashes)).expect("a record");
        assert_eq!(decoded.data, data.to_vec());
        assert_eq!(decoded.flashes, flashes);
    }

    #[test]
    fn a_forward_round_trips_and_is_no_session() {
        let to = SessionKey::parse(&"ab".repeat(32)).expect("a key");
        let until = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_005_000);
        let bytes = encode_forward(&to, until);
        assert_eq!(
            decode_forward(&bytes),
            Some(Forward {
                to: to.clone(),
                until
            })
        );
        assert_eq!(decode(&bytes), None, "a forward is not a session");
        let session = encode(until, b"{}", &[]);
        assert_eq!(decode_forward(&session), None, "a session is not a forward");
        assert_eq!(
            decode_forward(br#"{"forward_to":"not a key","until_ms":1}"#),
            None
        );
    }

    #[test]
    fn the_data_comes_last_and_records_of_earlier_builds_still_decode() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let flashes = vec![Flash {
            level: FlashLevel::Info,
            message: "Saved".to_owned(),
        }];
        assert_eq!(
            encode(at, br#"{"n":1}"#, &[]),
            br#"{"created":1700000000123,"data":{"n":1}}"#.to_vec()
        );
        assert_eq!(
            encode(at, br#"{"n":1}"#, &flashes),
            br#"{"created":1700000000123,"flash":[{"level":"info","message":"Saved"}],"data":{"n":1}}"#
                .to_vec()
        );
        // Written by earlier builds: the time under `created_ms`, the flash messages after the
        // data, which a reader that took the data up to the closing brace would swallow.
        let earlier = br#"{"created_ms":1700000000123,"data":{"n":"}"},"flash":[{"level":"info","message":"Saved"}]}"#;
        assert_eq!(
            decode(earlier),
            Some(Decoded {
                created: at,
                data: br#"{"n":"}"}"#.to_vec(),
                flashes,
            })
        );
        let earlier = br#"{"created_ms":1700000000123,"data":[1,2]}"#;
        assert_eq!(decode(earlier).map(|d| d.data), Some(b"[1,2]".to_vec()));
    }

    #[test]
    fn the_time_is_read_up_to_the_largest_u64_and_no_further() {
        let most = b"{\"created\":18446744073709551615,\"data\":{}}";
        let decoded = decode(most).expect("the largest time is a time");
        let expected = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::MAX);
        assert_eq!(decoded.created, expected);
        assert_eq!(decoded.data, b"{}");
        for record in [
            &b"{\"created\":18446744073709551616,\"data\":{}}"[..],
            b"{\"created\":-1,\"data\":{}}",
        ] {
            assert_eq!(decode(record), None);
            assert_eq!(decode_owned(record.to_vec()), Err(record.to_vec()));
        }
        let leading = decode(b"{\"created\":0007,\"data\":1}").expect("digits are digits");
        assert_eq!(
            leading.created,
            SystemTime::UNIX_EPOCH + Duration::from_millis(7)
        );
    }

    #[test]
    fn anything_else_is_not_a_record() {
        for junk in [
            &b""[..],
            b"{}",
            b"{\"data\":1}",
            b"[1,2]",
            b"{\"created_ms\":-1,\"data\":{}}",
            b"{\"created\":,\"data\":{}}",
            b"{\"created\":1,\"data\":}",
            b"{\"created\":99999999999999999999999,\"data\":{}}",
            b"{\"created\":1,\"data\":{}",
        ] {
            assert_eq!(decode(junk), None, "{:?}", String::from_utf8_lossy(junk));
            assert_eq!(decode_owned(junk.to_vec()), Err(junk.to_vec()));
        }
    }

    #[test]
    fn a_record_decoded_from_its_own_buffer_is_the_same_session() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let flashes = vec![Flash {
            level: FlashLevel::Info,
            message: "Saved".to_owned(),
        }];
        for record in [
            encode(at, br#"{"n":"}"}"#, &[]),
            encode(at, br#"{"n":1}"#, &flashes),
            br#"{"created_ms":1700000000123,"data":[1,2]}"#.to_vec(),
        ] {
            assert_eq!(decode_owned(record.clone()).ok(), decode(&record));
            assert!(decode(&record).is_some());
        }
    }
}
