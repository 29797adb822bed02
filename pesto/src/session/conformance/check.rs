//! What the checks share: the suite's clock readings, leases, sample data, and [`Check`], which
//! names the running check in every failure.

use std::fmt::Display;
use std::time::{Duration, SystemTime};

use crate::exchange::{SessionId, SessionKey};
use crate::session::store::{Lease, Record, Result, SessionStore, Version};

/// The suite's "now": 2023-11-14T22:13:20Z. Real sessions are newer, so the purge check never
/// touches them on a shared backend.
const BASE_SECS: u64 = 1_700_000_000;
pub(super) const HOUR: i64 = 3600;
pub(super) const DAY: i64 = 24 * HOUR;
/// Largest difference accepted between a written and a read timestamp.
const TOLERANCE: Duration = Duration::from_secs(2);

pub(super) const DATA_A: &[u8] = br#"{"user":"alice","n":1}"#;
pub(super) const DATA_B: &[u8] = br#"{"user":"bob","n":2}"#;

/// A JSON object of exactly `size` bytes (or 9, `{"b":"a"}`, if `size` is smaller).
pub(super) fn json_of_size(size: usize) -> Vec<u8> {
    let fill = size.saturating_sub(r#"{"b":""}"#.len()).max(1);
    let mut data = Vec::with_capacity(size.max(9));
    data.extend_from_slice(br#"{"b":""#);
    data.extend((0..fill).map(|i| b'a' + (i % 26) as u8));
    data.extend_from_slice(br#""}"#);
    data
}

/// `BASE + offset` seconds.
pub(super) fn at(offset: i64) -> SystemTime {
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(BASE_SECS);
    if offset >= 0 {
        base + Duration::from_secs(offset.unsigned_abs())
    } else {
        base - Duration::from_secs(offset.unsigned_abs())
    }
}

pub(super) fn lease(offset: i64) -> Lease {
    Lease {
        now: at(offset),
        // Long enough that a backend with native expiry keeps everything for the whole run.
        ttl: Duration::from_secs(3600),
    }
}

fn close(a: SystemTime, b: SystemTime) -> bool {
    let diff = a.duration_since(b).unwrap_or_else(|e| e.duration());
    diff <= TOLERANCE
}

/// The running check's name, for failure messages.
pub(super) struct Check(pub(super) &'static str);

impl Check {
    pub(super) fn fail(&self, what: impl Display) -> ! {
        panic!("session store conformance: {}: {what}", self.0)
    }

    pub(super) fn ok<T>(&self, op: &str, result: Result<T>) -> T {
        result.unwrap_or_else(|e| self.fail(format_args!("{op} failed: {e}")))
    }

    pub(super) fn key(&self) -> SessionKey {
        match SessionId::generate() {
            Ok(id) => id.key().clone(),
            Err(e) => self.fail(e),
        }
    }

    pub(super) async fn load<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
    ) -> Option<Record> {
        self.ok("load", m.load(key).await)
    }

    /// The version of the record under `key`, which must exist.
    pub(super) async fn version<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        when: &str,
    ) -> Version {
        match self.load(m, key).await {
            Some(record) => record.version,
            None => self.fail(format_args!("load {when} returned none, expected a record")),
        }
    }

    pub(super) async fn expect_version<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        expected: Version,
        when: &str,
    ) {
        let version = self.version(m, key, when).await;
        if version != expected {
            self.fail(format_args!(
                "load {when} returned version {version:?}, expected {expected:?}"
            ));
        }
    }

    pub(super) async fn expect_absent<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        when: &str,
    ) {
        if self.load(m, key).await.is_some() {
            self.fail(format_args!("load {when} returned a record, expected none"));
        }
    }

    pub(super) async fn expect_record<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        data: &[u8],
        last_access: SystemTime,
        when: &str,
    ) {
        let Some(record) = self.load(m, key).await else {
            self.fail(format_args!("load {when} returned none, expected a record"));
        };
        if record.data != data {
            self.fail(format_args!(
                "load {when} returned data {:?}, expected {:?}",
                shorten(&record.data),
                shorten(data)
            ));
        }
        if !close(record.last_access, last_access) {
            self.fail(format_args!(
                "load {when} returned last_access {:?}, expected {:?} (± {TOLERANCE:?})",
                record.last_access, last_access
            ));
        }
    }

    pub(super) async fn cleanup<M: SessionStore + ?Sized, const N: usize>(
        &self,
        m: &M,
        keys: [&SessionKey; N],
    ) {
        for key in keys {
            self.ok("remove", m.remove(key).await);
        }
    }
}

/// Data for a failure message, cut so a 100 KiB value does not flood the output.
pub(super) fn shorten(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}… ({} bytes)", &text[..i], data.len()),
        None => text.into_owned(),
    }
}
