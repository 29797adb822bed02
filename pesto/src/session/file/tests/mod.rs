//! Unit tests of the file store, by topic, and the helpers they share. What every store must do
//! is checked once, for all of them, by `session::conformance` (see `tests/session_stores.rs`).

mod purge;
mod storage;
mod threads;
mod update;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::FileStore;
// Fixed times, leases at them and fresh keys, shared with the memory store's tests.
use crate::session::memory::tests::fixtures::{at, key, lease};

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
