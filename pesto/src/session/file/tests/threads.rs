//! Where the file store's I/O runs: a read, a touch or an unsynced write of one file completes
//! on the thread that polls it (no blocking-pool hand-off), whatever syncs goes to the pool, and
//! `inline_io(false)` sends everything there.
//!
//! Each test runs on a runtime whose blocking pool has one thread, held busy while it checks: a
//! future that completes on its first poll then did its I/O inline, and one that went to the
//! pool stays pending, whatever the machine's timing. Once released, the pool runs what was
//! queued in order, before anything queued later.

use std::fs;
use std::future::Future;
use std::os::unix::fs::symlink;
use std::sync::mpsc;

use futures_util::FutureExt;

use super::{key, lease, store};
use crate::session::file::{Durability, FileStore};
use crate::session::store::{SessionStore, UpdateOutcome};

/// Runs `checks` with the only blocking thread busy until they hand back the release.
fn with_the_pool_held<F, Fut>(checks: F)
where
    F: FnOnce(mpsc::Sender<()>) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (release, held) = mpsc::channel::<()>();
        let holder = tokio::task::spawn_blocking(move || {
            let _ = held.recv();
        });
        checks(release).await;
        holder.await.expect("the holder ends once released");
    });
}

#[test]
fn reads_touches_and_unsynced_writes_run_inline_and_removals_on_the_pool() {
    with_the_pool_held(|release| async move {
        let (_dir, m) = store();
        let k = key();
        // The first write into a new shard directory makes it and syncs the root: on the pool.
        assert!(
            m.create(&k, b"{}", lease(0)).now_or_never().is_none(),
            "ran inline: expected the blocking pool"
        );
        release.send(()).expect("release the pool");
        // Queued behind the first create: finds the key taken, and the record is there.
        assert_eq!(m.create(&k, b"{}", lease(0)).await.ok(), Some(false));
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
        m.remove(&k).await.expect("remove");
        assert_eq!(m.load(&k).await.expect("load"), None);
    });
}

#[test]
fn removals_synced_writes_and_inline_io_false_use_the_blocking_pool() {
    let (dir, m) = store();
    let k = key();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(m.create(&k, b"{}", lease(0)))
        .expect("create");
    with_the_pool_held(|release| async move {
        // A logout is fsynced: never on a worker thread.
        assert!(
            m.remove(&same_shard(&k)).now_or_never().is_none(),
            "remove ran inline: expected the blocking pool"
        );
        let everything = m.clone().durability(Durability::Everything);
        assert!(
            everything
                .store(&k, b"[]", lease(1))
                .now_or_never()
                .is_none(),
            "a synced write ran inline: expected the blocking pool"
        );
        assert!(
            everything.load(&k).now_or_never().is_some(),
            "a read never syncs"
        );
        let pooled = FileStore::new(dir.path()).expect("store").inline_io(false);
        assert!(
            pooled.load(&k).now_or_never().is_none(),
            "inline_io(false) read inline: expected the blocking pool"
        );
        assert!(
            pooled.touch(&k, lease(2)).now_or_never().is_none(),
            "inline_io(false) touched inline: expected the blocking pool"
        );
        release.send(()).expect("release the pool");
        // Queued behind the synced store: it has landed.
        let record = pooled.load(&k).await.expect("load").expect("present");
        assert_eq!(record.data, b"[]");
    });
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
