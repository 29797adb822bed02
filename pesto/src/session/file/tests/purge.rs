//! The purge: removes sessions by their last access and temp files by their age, leaves
//! everything else alone, and shrugs off files and shards that vanish under it.

use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::time::{Duration, SystemTime};

use super::{at, key, lease, store};
use crate::session::file::fs::create_temp;
use crate::session::file::purge::{purge_tree, STALE_TEMP};
use crate::session::file::SESSION_DIR;
use crate::session::store::SessionStore;

#[tokio::test]
async fn purge_removes_by_mtime_and_skips_foreign_files() {
    let (dir, m) = store();
    let (old, boundary, fresh) = (key(), key(), key());
    m.store(&old, b"1", lease(0)).await.expect("store");
    m.store(&boundary, b"2", lease(100)).await.expect("store");
    m.store(&fresh, b"3", lease(200)).await.expect("store");
    let root = dir.path().join(SESSION_DIR);
    // Foreign names, a stray directory, a symlink and an old session in a wrong shard: all left alone.
    fs::write(root.join("README"), b"x").expect("write");
    fs::create_dir_all(root.join("zz")).expect("mkdir");
    let shard = m.file_path(&old).parent().expect("shard").to_owned();
    fs::write(shard.join("notes.txt"), b"x").expect("write");
    let misplaced_key = key();
    let wrong_shard = if misplaced_key.as_str().starts_with("00") {
        "01"
    } else {
        "00"
    };
    fs::create_dir_all(root.join(wrong_shard)).expect("mkdir");
    let misplaced = root.join(wrong_shard).join(misplaced_key.as_str());
    fs::write(&misplaced, b"{}").expect("write");
    File::options()
        .write(true)
        .open(&misplaced)
        .expect("open")
        .set_modified(at(0))
        .expect("mtime");
    symlink(m.file_path(&old), shard.join(key().as_str())).expect("symlink");

    assert_eq!(m.purge(at(100)).await.expect("purge"), 1);
    assert_eq!(m.load(&old).await.expect("load"), None);
    assert!(
        m.load(&boundary).await.expect("load").is_some(),
        "last_access == cutoff is kept"
    );
    assert!(m.load(&fresh).await.expect("load").is_some());
    assert!(root.join("README").exists() && shard.join("notes.txt").exists() && misplaced.exists());
    assert_eq!(m.purge(at(100)).await.expect("purge"), 0);
}

#[tokio::test]
async fn purge_removes_stale_temp_files_only() {
    let (_dir, m) = store();
    let k = key();
    m.store(&k, b"{}", lease(0)).await.expect("store");
    let shard = m.file_path(&k).parent().expect("shard").to_owned();
    let (temp, file) = create_temp(&shard, "").expect("temp");
    drop(file);
    let (probe, file) = create_temp(m.directory(), "probe-").expect("temp");
    drop(file);
    let root = m.directory().to_owned();
    // A recent temp file may be a write in flight.
    let kept = purge_tree(&root, at(0), SystemTime::now() - STALE_TEMP).expect("purge");
    assert_eq!(kept, 0);
    assert!(temp.exists() && probe.exists());
    let later = SystemTime::now() + Duration::from_secs(5);
    assert_eq!(
        purge_tree(&root, at(0), later).expect("purge"),
        0,
        "temps are not counted"
    );
    assert!(!temp.exists() && !probe.exists());
    assert!(m.file_path(&k).exists());
}

#[tokio::test]
async fn purge_tolerates_a_vanished_shard() {
    let (_dir, m) = store();
    let k = key();
    m.store(&k, b"{}", lease(0)).await.expect("store");
    fs::remove_dir_all(m.file_path(&k).parent().expect("shard")).expect("rm");
    assert_eq!(m.purge(at(10)).await.expect("purge"), 0);
}

#[tokio::test]
async fn stale_temp_after_sets_the_age_of_a_leftover_temp() {
    let (_dir, m) = store();
    let k = key();
    m.store(&k, b"{}", lease(0)).await.expect("store");
    let shard = m.file_path(&k).parent().expect("shard").to_owned();
    let (temp, file) = create_temp(&shard, "").expect("temp");
    drop(file);
    // The default (an hour) keeps a temp file just made: it may be a write in flight.
    assert_eq!(m.purge(at(0)).await.expect("purge"), 0);
    assert!(temp.exists());
    // Zero: every temp file is a leftover (no other writer, as after a crash).
    let m = m.stale_temp_after(Duration::ZERO);
    assert_eq!(m.purge(at(0)).await.expect("purge"), 0);
    assert!(!temp.exists());
    assert!(
        m.load(&k).await.expect("load").is_some(),
        "sessions are kept"
    );
}
