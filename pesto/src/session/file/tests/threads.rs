//! Where the file store's I/O runs: a read, a touch or an unsynced write of one file completes
//! on the thread that polls it (no blocking-pool hand-off), whatever syncs goes to the pool, and
//! `inline_io(false)` sends everything there. A future that completes on its first poll did its
//! I/O inline; one still pending has handed it to the pool.

use std::fs;
use std::os::unix::fs::symlink;

use futures_util::FutureExt;

use super::{key, lease, store};
use crate::session::file::{Durability, FileStore};
use crate::session::store::{SessionStore, UpdateOutcome};

#[tokio::test]
async fn reads_touches_and_unsynced_writes_run_inline_and_removals_on_the_pool() {
    let (_dir, m) = store();
    let k = key();
    // The first write into a new shard directory makes it and syncs the root: on the pool.
    assert!(
        m.create(&k, b"{}", lease(0)).now_or_never().is_none(),
        "ran inline: expected the blocking pool"
    );
    assert!(m.create(&k, b"{}", lease(0)).await.is_ok());
    let record = m.load(&k).now_or_never().expect("load inline");
    let version = record.expect("load").expect("present").version;
    let updated = m
        .update(&k, br#"{"n":1}"#, version, lease(1))
        .now_or_never();
    assert!(
        matches!(updated, Some(Ok(UpdateOutcome::Written))),
        "{updated:?}"
    );
    assert!(
        m.touch(&k, lease(2)).now_or_never().is_some(),
        "touch inline"
    );
    // Another key in the same shard directory: its create is inline too.
    let sibling = same_shard(&k);
    let created = m.create(&sibling, b"{}", lease(3)).now_or_never();
    assert!(matches!(created, Some(Ok(true))), "{created:?}");
    // A logout is fsynced: never on a worker thread.
    assert!(
        m.remove(&k).now_or_never().is_none(),
        "ran inline: expected the blocking pool"
    );
    m.remove(&k).await.expect("remove");
    assert_eq!(m.load(&k).await.expect("load"), None);
}

#[tokio::test]
async fn synced_writes_and_inline_io_false_use_the_blocking_pool() {
    let (dir, m) = store();
    let k = key();
    m.create(&k, b"{}", lease(0)).await.expect("create");

    let everything = m.clone().durability(Durability::Everything);
    assert!(
        everything
            .store(&k, b"[]", lease(1))
            .now_or_never()
            .is_none(),
        "ran inline: expected the blocking pool"
    );
    // The pool goes on with a write whose future was dropped: this one lands the same data, so
    // whichever finishes last, the file holds it.
    everything.store(&k, b"[]", lease(1)).await.expect("store");
    assert!(
        everything.load(&k).now_or_never().is_some(),
        "a read never syncs"
    );

    let pooled = FileStore::new(dir.path()).expect("store").inline_io(false);
    assert!(
        pooled.load(&k).now_or_never().is_none(),
        "ran inline: expected the blocking pool"
    );
    assert!(
        pooled.touch(&k, lease(2)).now_or_never().is_none(),
        "ran inline: expected the blocking pool"
    );
    let record = pooled.load(&k).await.expect("load").expect("present");
    assert_eq!(record.data, b"[]");
}

#[tokio::test]
async fn a_shard_directory_that_is_a_symlink_is_never_read_through() {
    // docs/security.md, Storage: nothing inside the tree is opened through a symlink. A store
    // that has never seen the shard checks it before reading.
    let (dir, m) = store();
    let k = key();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    let planted = FileStore::new(&elsewhere).expect("store");
    planted
        .store(&k, br#"{"planted":1}"#, lease(0))
        .await
        .expect("store");
    let planted_shard = planted.file_path(&k).parent().expect("shard").to_owned();
    let shard = m.file_path(&k).parent().expect("shard").to_owned();
    symlink(&planted_shard, &shard).expect("symlink");
    assert_eq!(
        m.load(&k).await.expect("load"),
        None,
        "read through a symlink"
    );
    assert!(
        m.store(&k, b"{}", lease(1)).await.is_err(),
        "wrote through a symlink"
    );
}

/// A fresh key whose shard directory (first two hex digits) is `k`'s.
fn same_shard(k: &crate::session::SessionKey) -> crate::session::SessionKey {
    loop {
        let other = key();
        if other.as_str()[..2] == k.as_str()[..2] {
            return other;
        }
    }
}
