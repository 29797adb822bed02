//! Updates: `update` replaces an existing session only, and a logout (a `remove`) is final
//! whenever it lands, before, during or after an update (docs/security.md, Session lifecycle:
//! "A logout is not undone"; rack-session CVE-2025-46336).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;

use super::{at, key, lease, mode, store};
use crate::session::file::format::encode;
use crate::session::file::fs::exchange;
use crate::session::file::ops::{
    load_file, remove_file, update_file, write_file, Durability, Landing, WriteOptions,
};
use crate::session::file::shards::KnownShards;
use crate::session::file::FileStore;
use crate::session::store::{Error, SessionStore, UpdateOutcome, Version};
use crate::session::SessionKey;

/// Session data in the file format at the first version, as `write_file` takes it.
fn enc(data: &[u8]) -> Vec<u8> {
    encode(data, Version::FIRST).expect("encode")
}

const DATA: &[u8] = br#"{"n":1}"#;

/// `update_file` over whatever version the file holds now, fsyncing everything: these tests are
/// about removes racing updates, not about versions. `true` when it wrote.
fn update_now(
    root: &Path,
    k: &SessionKey,
    data: &[u8],
    now: std::time::SystemTime,
    swap: impl Fn(&Path, &Path) -> rustix::io::Result<()>,
) -> std::io::Result<bool> {
    let version = load_file(root, &KnownShards::default(), k, u64::MAX)?
        .map_or(Version::FIRST, |r| r.version);
    let options = WriteOptions {
        now,
        durability: Durability::Everything,
        max_content: u64::MAX,
    };
    update_file(
        root,
        &KnownShards::default(),
        k,
        data,
        version,
        options,
        swap,
    )
    .map(|o| o == UpdateOutcome::Written)
}

/// The names in a key's shard directory (a leftover temp file or old record shows up here).
fn shard_names(m: &FileStore, k: &SessionKey) -> Vec<String> {
    let shard = m.file_path(k).parent().expect("shard").to_owned();
    let mut names: Vec<String> = fs::read_dir(shard)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn update_of_an_absent_key_writes_nothing() {
    // docs/security.md, Session lifecycle: "A logout is not undone."
    let (dir, m) = store();
    let k = key();
    let file = m.file_path(&k);
    let shard = file.parent().expect("shard").to_owned();
    // No shard directory: none is made.
    assert_eq!(
        m.update(&k, b"{}", Version::FIRST, lease(0))
            .await
            .expect("update"),
        UpdateOutcome::Absent
    );
    assert!(!shard.exists(), "update made a shard directory");
    // A shard directory without the file: nothing is written, no temp file is left.
    fs::create_dir(&shard).expect("mkdir");
    assert_eq!(
        m.update(&k, b"{}", Version::FIRST, lease(0))
            .await
            .expect("update"),
        UpdateOutcome::Absent
    );
    assert!(shard_names(&m, &k).is_empty());
    // A removed session stays removed.
    m.store(&k, br#"{"user":"alice"}"#, lease(0))
        .await
        .expect("store");
    m.remove(&k).await.expect("remove");
    assert_eq!(
        m.update(&k, b"{}", Version::FIRST, lease(1))
            .await
            .expect("update"),
        UpdateOutcome::Absent
    );
    assert!(!file.exists());
    assert_eq!(m.load(&k).await.expect("load"), None);
    assert!(shard_names(&m, &k).is_empty());
    // A symlink in its place is no record (as for load): neither it nor its target is touched.
    let secret = dir.path().join("secret");
    fs::write(&secret, b"secret").expect("write");
    symlink(&secret, &file).expect("symlink");
    assert_eq!(
        m.update(&k, b"{}", Version::FIRST, lease(2))
            .await
            .expect("update"),
        UpdateOutcome::Absent
    );
    assert!(fs::symlink_metadata(&file)
        .expect("stat")
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&secret).expect("read"), b"secret");
    assert_eq!(shard_names(&m, &k), vec![k.as_str().to_owned()]);
}

#[tokio::test]
async fn update_of_an_existing_key_replaces_data_and_mtime() {
    let (_dir, m) = store();
    let k = key();
    m.store(&k, br#"{"n":1}"#, lease(0)).await.expect("store");
    assert_eq!(
        m.update(&k, br#"{"n":2}"#, Version::FIRST, lease(50))
            .await
            .expect("update"),
        UpdateOutcome::Written
    );
    let record = m.load(&k).await.expect("load").expect("present");
    assert_eq!(record.data, br#"{"n":2}"#);
    assert_eq!(record.last_access, at(50));
    let file = m.file_path(&k);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        r#"{"v":1,"version":2,"data":{"n":2}}"#
    );
    // The old record (left under the temp name by the exchange) is gone.
    assert_eq!(shard_names(&m, &k), vec![k.as_str().to_owned()]);
    // Non-JSON data is refused before anything is written.
    let err = m
        .update(&k, b"not json", Version::FIRST.next(), lease(60))
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Encode(_)), "{err}");
    assert_eq!(
        m.load(&k).await.expect("load").map(|r| r.data),
        Some(br#"{"n":2}"#.to_vec())
    );
}

#[test]
fn update_falls_back_where_exchange_is_unsupported() {
    use rustix::io::Errno;
    let (_dir, m) = store();
    let unsupported: [fn(&Path, &Path) -> rustix::io::Result<()>; 3] = [
        |_, _| Err(Errno::INVAL),
        |_, _| Err(Errno::NOSYS),
        |_, _| Err(Errno::OPNOTSUPP),
    ];
    for swap in unsupported {
        let k = key();
        write_file(
            &m.root,
            &KnownShards::default(),
            &k,
            &enc(br#"{"n":1}"#),
            at(0),
            Landing::Replace,
            Durability::Everything,
        )
        .expect("store");
        assert!(update_now(&m.root, &k, br#"{"n":2}"#, at(5), swap).expect("update"));
        let record = load_file(&m.root, &KnownShards::default(), &k, u64::MAX)
            .expect("load")
            .expect("present");
        assert_eq!(
            (record.data, record.last_access),
            (br#"{"n":2}"#.to_vec(), at(5))
        );
        remove_file(&m.root, &KnownShards::default(), &k).expect("remove");
        assert!(!update_now(&m.root, &k, b"{}", at(6), swap).expect("update"));
        assert!(shard_names(&m, &k).is_empty(), "nothing written");
    }
    // Any other failure is an error, and leaves the record and no temp file.
    let k = key();
    write_file(
        &m.root,
        &KnownShards::default(),
        &k,
        &enc(br#"{"n":1}"#),
        at(0),
        Landing::Replace,
        Durability::Everything,
    )
    .expect("store");
    let err = update_now(&m.root, &k, b"{}", at(5), |_, _| Err(Errno::IO)).expect_err("EIO");
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    assert_eq!(
        load_file(&m.root, &KnownShards::default(), &k, u64::MAX)
            .expect("load")
            .map(|r| r.data),
        Some(br#"{"n":1}"#.to_vec())
    );
    assert_eq!(shard_names(&m, &k), vec![k.as_str().to_owned()]);
}

#[test]
fn a_remove_at_any_point_of_an_update_is_final() {
    // Each interleaving of a remove with an update, forced (rack-session CVE-2025-46336).
    let (_dir, m) = store();
    let data = enc(br#"{"n":1}"#);
    // Removed after the early check, while the new file is written: the exchange finds nothing.
    let k = key();
    write_file(
        &m.root,
        &KnownShards::default(),
        &k,
        &data,
        at(0),
        Landing::Replace,
        Durability::Everything,
    )
    .expect("store");
    let remove_first = |a: &Path, b: &Path| {
        fs::remove_file(b).expect("remove");
        exchange(a, b)
    };
    assert!(!update_now(&m.root, &k, DATA, at(1), remove_first).expect("update"));
    assert!(!m.file_path(&k).exists());
    assert!(shard_names(&m, &k).is_empty(), "temp file left");
    // Removed just after the exchange: the remove takes the new file, the old one is unlinked.
    let k = key();
    write_file(
        &m.root,
        &KnownShards::default(),
        &k,
        &data,
        at(0),
        Landing::Replace,
        Durability::Everything,
    )
    .expect("store");
    let remove_after = |a: &Path, b: &Path| {
        let swapped = exchange(a, b);
        fs::remove_file(b).expect("remove");
        swapped
    };
    assert!(update_now(&m.root, &k, DATA, at(1), remove_after).expect("update"));
    assert!(!m.file_path(&k).exists());
    assert!(shard_names(&m, &k).is_empty(), "old record left");
    // And after a remove has returned, a later update writes nothing.
    assert!(!update_now(&m.root, &k, DATA, at(2), exchange).expect("update"));
    assert!(!m.file_path(&k).exists());
}

#[test]
fn an_update_racing_a_remove_never_brings_the_session_back() {
    // Once remove() has returned, no update(), begun before or after it, makes the session exist
    // again (rack-session CVE-2025-46336).
    use std::sync::Barrier;
    use std::time::Instant;
    let (_dir, m) = store();
    let data = enc(br#"{"n":1}"#);
    // An update (temp file, fsync, exchange) takes far longer than a remove: start the removes
    // at staggered points of it (0 to 1.2 times its length), so they land before, during and
    // after the exchange (about half of them after, here). A check-then-rename update fails
    // this test within a few dozen iterations.
    let k = key();
    write_file(
        &m.root,
        &KnownShards::default(),
        &k,
        &data,
        at(0),
        Landing::Replace,
        Durability::Everything,
    )
    .expect("store");
    let started = Instant::now();
    for _ in 0..5 {
        update_now(&m.root, &k, DATA, at(0), exchange).expect("update");
    }
    let update_takes = started.elapsed() / 5;
    remove_file(&m.root, &KnownShards::default(), &k).expect("remove");
    let (mut updates_won, mut removes_won) = (0, 0);
    for i in 0..200u32 {
        let k = key();
        write_file(
            &m.root,
            &KnownShards::default(),
            &k,
            &data,
            at(0),
            Landing::Replace,
            Durability::Everything,
        )
        .expect("store");
        let barrier = Arc::new(Barrier::new(2));
        let updater = {
            let (root, k, barrier) = (m.root.clone(), k.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                update_now(&root, &k, DATA, at(u64::from(i)), exchange)
            })
        };
        let remover = {
            let (root, k) = (m.root.clone(), k.clone());
            let delay = update_takes * (i % 25) / 20;
            std::thread::spawn(move || {
                barrier.wait();
                // A sleep, not a spin: on two cores a spinning remover starves the updater.
                std::thread::sleep(delay);
                remove_file(&root, &KnownShards::default(), &k)
            })
        };
        let updated = updater.join().expect("updater").expect("update");
        remover.join().expect("remover").expect("remove");
        if updated {
            updates_won += 1;
        } else {
            removes_won += 1;
        }
        // Whatever the interleaving, the remove was the last word.
        assert!(
            !m.file_path(&k).exists(),
            "iteration {i}: session came back"
        );
        let late = update_now(&m.root, &k, DATA, at(u64::from(i) + 1), exchange);
        assert!(!late.expect("update"), "iteration {i}: late update wrote");
        assert!(
            !m.file_path(&k).exists(),
            "iteration {i}: late update wrote"
        );
        assert_eq!(
            load_file(&m.root, &KnownShards::default(), &k, u64::MAX).expect("load"),
            None
        );
    }
    assert_eq!(updates_won + removes_won, 200);
    // No temp file and no old record left anywhere.
    for shard in fs::read_dir(m.directory()).expect("ls") {
        let shard = shard.expect("entry").path();
        let left: Vec<_> = fs::read_dir(&shard).expect("ls").collect();
        assert!(left.is_empty(), "{} holds {left:?}", shard.display());
    }
}
