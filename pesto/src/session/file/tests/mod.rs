//! Unit tests of the file store, by topic, and the helpers they share. What every store must do
//! is checked once, for all of them, by `session::conformance` (see `tests/session_stores.rs`).

mod purge;
mod storage;
mod update;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::FileStore;
use crate::session::store::Lease;
use crate::session::{SessionId, SessionKey};

/// A fixed clock reading, so that mtimes compare exactly.
const T0: u64 = 1_700_000_000;

/// `secs` after [`T0`].
fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

/// A write at `at(secs)`.
fn lease(secs: u64) -> Lease {
    Lease {
        now: at(secs),
        ttl: Duration::from_secs(1800),
    }
}

/// A fresh session key.
fn key() -> SessionKey {
    SessionId::generate().expect("OS rng").key()
}

/// A store in a new temp directory (which lives as long as the returned guard).
fn store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = FileStore::new(dir.path()).expect("file store");
    (dir, m)
}

/// A path's permission bits, not following a symlink.
fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).expect("stat").mode() & 0o777
}
