//! Unit tests of the file store.

use super::*;
use crate::session::SessionId;
use std::os::unix::fs::symlink;

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn lease(secs: u64) -> Lease {
    Lease {
        now: at(secs),
        ttl: Duration::from_secs(1800),
    }
}

fn key() -> SessionKey {
    SessionId::generate().expect("OS rng").key()
}

fn store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = FileStore::new(dir.path()).expect("file store");
    (dir, m)
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("stat").mode() & 0o777
}

#[tokio::test]
async fn layout_and_private_permissions() {
    // SECURITY-NOTES: Storage ("directories 0700, files 0600 whatever the umask").
    let (dir, m) = store();
    let k = key();
    m.store(&k, br#"{"user":"alice"}"#, lease(0))
        .await
        .expect("store");
    let root = dir.path().join("_pesto_sessions");
    assert_eq!(m.directory(), root);
    let file = root.join(&k.as_str()[..2]).join(k.as_str());
    assert_eq!(m.file_path(&k), file);
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(file.parent().expect("shard")), 0o700);
    assert_eq!(mode(&file), 0o600);
    let content = fs::read_to_string(&file).expect("read");
    assert_eq!(content, r#"{"v":1,"data":{"user":"alice"}}"#);
    assert_eq!(
        fs::metadata(&file).expect("stat").modified().ok(),
        Some(at(0))
    );
    // Only the session file: the temp file is gone.
    assert_eq!(
        fs::read_dir(file.parent().expect("shard"))
            .expect("ls")
            .count(),
        1
    );
}

#[tokio::test]
async fn existing_directory_is_made_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(SESSION_DIR);
    fs::create_dir(&root).expect("mkdir");
    fs::set_permissions(&root, Permissions::from_mode(0o750)).expect("chmod");
    FileStore::new(dir.path()).expect("file store");
    assert_eq!(mode(&root), 0o700);
    assert_eq!(
        fs::read_dir(&root).expect("ls").count(),
        0,
        "probe file removed"
    );
}

#[test]
fn unsafe_session_directories_are_refused() {
    // SECURITY-NOTES: Storage ("refuse a world-writable, foreign-owned or symlinked session directory").
    let dir = tempfile::tempdir().expect("tempdir");
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");

    let linked = dir.path().join("linked");
    fs::create_dir(&linked).expect("mkdir");
    symlink(&elsewhere, linked.join(SESSION_DIR)).expect("symlink");
    let err = FileStore::new(&linked).expect_err("symlink refused");
    assert!(err.to_string().contains("symbolic link"), "{err}");

    let open = dir.path().join("open");
    fs::create_dir_all(open.join(SESSION_DIR)).expect("mkdir");
    fs::set_permissions(open.join(SESSION_DIR), Permissions::from_mode(0o777)).expect("chmod");
    let err = FileStore::new(&open).expect_err("world-writable refused");
    assert!(err.to_string().contains("world-writable"), "{err}");

    let plain = dir.path().join("plain");
    fs::create_dir(&plain).expect("mkdir");
    fs::write(plain.join(SESSION_DIR), b"").expect("write");
    let err = FileStore::new(&plain).expect_err("file refused");
    assert!(err.to_string().contains("not a directory"), "{err}");

    // Giving a directory away needs root; elsewhere this part cannot be set up.
    let foreign = dir.path().join("foreign");
    fs::create_dir_all(foreign.join(SESSION_DIR)).expect("mkdir");
    let me = fs::metadata(&foreign).expect("stat").uid();
    if std::os::unix::fs::chown(foreign.join(SESSION_DIR), Some(me + 4242), None).is_ok() {
        let err = FileStore::new(&foreign).expect_err("foreign owner refused");
        assert!(err.to_string().contains("owned by uid"), "{err}");
    }
}

#[tokio::test]
async fn corrupt_files_are_absent_and_harm_no_other_session() {
    // SECURITY-NOTES: Storage ("a decode failure is 'no session' plus a log line").
    let (dir, m) = store();
    let good = key();
    m.store(&good, br#"{"ok":true}"#, lease(0))
        .await
        .expect("store");
    let cases: [&[u8]; 6] = [
        b"",
        b"garbage",
        br#"{"v":1,"data":{"trunc"#,
        br#"{"v":2,"data":{}}"#,
        br#"{"v":1}"#,
        b"\x80\x81pickle",
    ];
    for content in cases {
        let bad = key();
        m.store(&bad, b"{}", lease(0)).await.expect("store");
        fs::write(m.file_path(&bad), content).expect("corrupt it");
        assert_eq!(m.load(&bad).await.expect("load"), None, "{content:?}");
        // A later store repairs it.
        m.store(&bad, b"[1]", lease(1)).await.expect("store");
        assert_eq!(
            m.load(&bad).await.expect("load").map(|r| r.data),
            Some(b"[1]".to_vec())
        );
    }
    // A directory or a symlink where a session file should be.
    let dir_key = key();
    let shard = m.file_path(&dir_key).parent().expect("shard").to_owned();
    fs::create_dir_all(m.file_path(&dir_key)).expect("mkdir");
    assert_eq!(m.load(&dir_key).await.expect("load"), None);
    let link_key = key();
    let secret = dir.path().join("secret");
    fs::write(&secret, br#"{"v":1,"data":{"secret":1}}"#).expect("write");
    let link_shard = m.file_path(&link_key).parent().expect("shard").to_owned();
    fs::create_dir_all(&link_shard).expect("mkdir");
    symlink(&secret, m.file_path(&link_key)).expect("symlink");
    assert_eq!(
        m.load(&link_key).await.expect("load"),
        None,
        "symlink followed"
    );
    assert!(
        m.touch(&link_key, lease(9)).await.is_err(),
        "symlink touched"
    );
    m.remove(&link_key).await.expect("remove the link");
    assert!(secret.exists(), "the link's target survives");
    assert!(shard.exists());

    let record = m.load(&good).await.expect("load").expect("still there");
    assert_eq!(record.data, br#"{"ok":true}"#);
}

#[tokio::test]
async fn non_json_data_is_an_encode_error() {
    let (_dir, m) = store();
    let err = m
        .store(&key(), b"not json", lease(0))
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Encode(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_never_see_a_torn_file() {
    // SECURITY-NOTES: Storage ("write a temp file in the same directory, then rename").
    let (_dir, m) = store();
    let k = key();
    let values: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            format!(
                r#"{{"fill":"{}","n":{i}}}"#,
                "x".repeat(64 * 1024 + i * 4096)
            )
            .into_bytes()
        })
        .collect();
    m.store(&k, &values[0], lease(0)).await.expect("store");
    let mut tasks = Vec::new();
    for w in 0..2 {
        let (m, k, values) = (m.clone(), k.clone(), values.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                m.store(&k, &values[(i + w) % values.len()], lease(i as u64))
                    .await
                    .expect("store");
            }
        }));
    }
    for _ in 0..2 {
        let (m, k, values) = (m.clone(), k.clone(), values.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..120 {
                let record = m.load(&k).await.expect("load").expect("never absent");
                assert!(values.contains(&record.data), "torn read");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
}

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

/// Session data in the file format, as `write_file` and `update_file` take it.
fn enc(data: &[u8]) -> Vec<u8> {
    encode(data).expect("encode")
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
    // SECURITY-NOTES: Lifecycle ("an ended session stays ended").
    let (dir, m) = store();
    let k = key();
    let file = m.file_path(&k);
    let shard = file.parent().expect("shard").to_owned();
    // No shard directory: none is made.
    assert!(!m.update(&k, b"{}", lease(0)).await.expect("update"));
    assert!(!shard.exists(), "update made a shard directory");
    // A shard directory without the file: nothing is written, no temp file is left.
    fs::create_dir(&shard).expect("mkdir");
    assert!(!m.update(&k, b"{}", lease(0)).await.expect("update"));
    assert!(shard_names(&m, &k).is_empty());
    // A removed session stays removed.
    m.store(&k, br#"{"user":"alice"}"#, lease(0))
        .await
        .expect("store");
    m.remove(&k).await.expect("remove");
    assert!(!m.update(&k, b"{}", lease(1)).await.expect("update"));
    assert!(!file.exists());
    assert_eq!(m.load(&k).await.expect("load"), None);
    assert!(shard_names(&m, &k).is_empty());
    // A symlink in its place is no record (as for load): neither it nor its target is touched.
    let secret = dir.path().join("secret");
    fs::write(&secret, b"secret").expect("write");
    symlink(&secret, &file).expect("symlink");
    assert!(!m.update(&k, b"{}", lease(2)).await.expect("update"));
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
    assert!(m
        .update(&k, br#"{"n":2}"#, lease(50))
        .await
        .expect("update"));
    let record = m.load(&k).await.expect("load").expect("present");
    assert_eq!(record.data, br#"{"n":2}"#);
    assert_eq!(record.last_access, at(50));
    let file = m.file_path(&k);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        r#"{"v":1,"data":{"n":2}}"#
    );
    // The old record (left under the temp name by the exchange) is gone.
    assert_eq!(shard_names(&m, &k), vec![k.as_str().to_owned()]);
    // Non-JSON data is refused before anything is written.
    let err = m
        .update(&k, b"not json", lease(60))
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
        write_file(&m.root, &k, &enc(br#"{"n":1}"#), at(0), Landing::Replace).expect("store");
        assert!(update_file(&m.root, &k, &enc(br#"{"n":2}"#), at(5), swap).expect("update"));
        let record = load_file(&m.root, &k).expect("load").expect("present");
        assert_eq!(
            (record.data, record.last_access),
            (br#"{"n":2}"#.to_vec(), at(5))
        );
        remove_file(&m.root, &k).expect("remove");
        assert!(!update_file(&m.root, &k, &enc(b"{}"), at(6), swap).expect("update"));
        assert!(shard_names(&m, &k).is_empty(), "nothing written");
    }
    // Any other failure is an error, and leaves the record and no temp file.
    let k = key();
    write_file(&m.root, &k, &enc(br#"{"n":1}"#), at(0), Landing::Replace).expect("store");
    let err = update_file(&m.root, &k, &enc(b"{}"), at(5), |_, _| Err(Errno::IO)).expect_err("EIO");
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    assert_eq!(
        load_file(&m.root, &k).expect("load").map(|r| r.data),
        Some(br#"{"n":1}"#.to_vec())
    );
    assert_eq!(shard_names(&m, &k), vec![k.as_str().to_owned()]);
}

#[test]
fn a_remove_at_any_point_of_an_update_is_final() {
    // SECURITY-NOTES: Lifecycle (rack-session CVE-2025-46336), each interleaving forced.
    let (_dir, m) = store();
    let data = enc(br#"{"n":1}"#);
    // Removed after the early check, while the new file is written: the exchange finds nothing.
    let k = key();
    write_file(&m.root, &k, &data, at(0), Landing::Replace).expect("store");
    let remove_first = |a: &Path, b: &Path| {
        fs::remove_file(b).expect("remove");
        exchange(a, b)
    };
    assert!(!update_file(&m.root, &k, &data, at(1), remove_first).expect("update"));
    assert!(!m.file_path(&k).exists());
    assert!(shard_names(&m, &k).is_empty(), "temp file left");
    // Removed just after the exchange: the remove takes the new file, the old one is unlinked.
    let k = key();
    write_file(&m.root, &k, &data, at(0), Landing::Replace).expect("store");
    let remove_after = |a: &Path, b: &Path| {
        let swapped = exchange(a, b);
        fs::remove_file(b).expect("remove");
        swapped
    };
    assert!(update_file(&m.root, &k, &data, at(1), remove_after).expect("update"));
    assert!(!m.file_path(&k).exists());
    assert!(shard_names(&m, &k).is_empty(), "old record left");
    // And after a remove has returned, a later update writes nothing.
    assert!(!update_file(&m.root, &k, &data, at(2), exchange).expect("update"));
    assert!(!m.file_path(&k).exists());
}

#[test]
fn an_update_racing_a_remove_never_brings_the_session_back() {
    // SECURITY-NOTES: Lifecycle (rack-session CVE-2025-46336): once remove() has returned, no
    // update(), begun before or after it, makes the session exist again.
    use std::sync::Barrier;
    use std::time::Instant;
    let (_dir, m) = store();
    let data = enc(br#"{"n":1}"#);
    // An update (temp file, fsync, exchange) takes far longer than a remove: start the removes
    // at staggered points of it (0 to 1.2 times its length), so they land before, during and
    // after the exchange (about half of them after, here). A check-then-rename update fails
    // this test within a few dozen iterations.
    let k = key();
    write_file(&m.root, &k, &data, at(0), Landing::Replace).expect("store");
    let started = Instant::now();
    for _ in 0..5 {
        update_file(&m.root, &k, &data, at(0), exchange).expect("update");
    }
    let update_takes = started.elapsed() / 5;
    remove_file(&m.root, &k).expect("remove");
    let (mut updates_won, mut removes_won) = (0, 0);
    for i in 0..200u32 {
        let k = key();
        write_file(&m.root, &k, &data, at(0), Landing::Replace).expect("store");
        let barrier = Arc::new(Barrier::new(2));
        let updater = {
            let (root, k, data, barrier) =
                (m.root.clone(), k.clone(), data.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                update_file(&root, &k, &data, at(u64::from(i)), exchange)
            })
        };
        let remover = {
            let (root, k) = (m.root.clone(), k.clone());
            let delay = update_takes * (i % 25) / 20;
            std::thread::spawn(move || {
                barrier.wait();
                // A sleep, not a spin: on two cores a spinning remover starves the updater.
                std::thread::sleep(delay);
                remove_file(&root, &k)
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
        let late = update_file(&m.root, &k, &data, at(u64::from(i) + 1), exchange);
        assert!(!late.expect("update"), "iteration {i}: late update wrote");
        assert!(
            !m.file_path(&k).exists(),
            "iteration {i}: late update wrote"
        );
        assert_eq!(load_file(&m.root, &k).expect("load"), None);
    }
    assert_eq!(updates_won + removes_won, 200);
    // No temp file and no old record left anywhere.
    for shard in fs::read_dir(m.directory()).expect("ls") {
        let shard = shard.expect("entry").path();
        let left: Vec<_> = fs::read_dir(&shard).expect("ls").collect();
        assert!(left.is_empty(), "{} holds {left:?}", shard.display());
    }
}

#[test]
fn format_round_trip() {
    for data in [
        &br#"{"a":[1,2,{"b":"\u00e9\n"}],"c":null}"#[..],
        b"null",
        b"7",
    ] {
        let content = encode(data).expect("encode");
        assert_eq!(decode(&content).expect("decode"), data.to_vec());
    }
    assert_eq!(
        decode(br#"{"v":2,"payload":[]}"#),
        Err("unsupported format version 2".to_owned())
    );
}
