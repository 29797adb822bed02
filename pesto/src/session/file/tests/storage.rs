//! What lands on disk and how it reads back: the layout, private permissions, refused session
//! directories, corrupt or foreign files read as absent, and writes no reader sees half done.

use std::fs::{self, Permissions};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

use super::{at, key, lease, mode, store};
use crate::session::file::format::{decode, encode};
use crate::session::file::{FileStore, SESSION_DIR};
use crate::session::store::{Error, SessionStore, UpdateOutcome, Version};

#[tokio::test]
async fn layout_and_private_permissions() {
    // docs/security.md, Storage: "Directories are 0700 and files 0600 whatever the umask."
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
    assert_eq!(content, r#"{"v":1,"version":1,"data":{"user":"alice"}}"#);
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
    // docs/security.md, Storage: `FileStore::new` refuses a `_pesto_sessions` that is a symbolic
    // link, world-writable, owned by another user or not a directory.
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
    // docs/security.md, Storage: "Data that no longer decodes counts as no session, and a warning
    // is logged."
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
    // docs/security.md, Storage: every write goes to a temporary file in the same directory, is
    // synced, then renamed into place, so no reader sees a torn file.
    let (_dir, m) = store();
    let k = key();
    let values: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            format!(
                r#"{{"fill":"{}","n":{i}}}"#,
                "x".repeat(48 * 1024 + i * 4096)
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

#[test]
fn format_round_trip() {
    for data in [
        &br#"{"a":[1,2,{"b":"\u00e9\n"}],"c":null}"#[..],
        b"null",
        b"7",
    ] {
        let content = encode(data, Version(7)).expect("encode");
        assert_eq!(
            decode(&content).expect("decode"),
            (data.to_vec(), Version(7))
        );
        // A file written before versions reads as version 0.
        let unversioned = format!(r#"{{"v":1,"data":{}}}"#, String::from_utf8_lossy(data));
        assert_eq!(
            decode(unversioned.as_bytes()).expect("decode"),
            (data.to_vec(), Version(0))
        );
    }
    assert_eq!(
        decode(br#"{"v":2,"payload":[]}"#),
        Err("unsupported format version 2".to_owned())
    );
}

#[tokio::test]
async fn oversized_files_are_absent_and_not_read_whole() {
    // docs/security.md, "Storage": a 200 MB record planted in the directory must not be read.
    let (_dir, m) = store();
    let m = m.with_max_record_size(1024);
    let (small, big, edge) = (key(), key(), key());
    let fits = format!(r#"{{"b":"{}"}}"#, "a".repeat(1024 - 8)).into_bytes();
    assert_eq!(fits.len(), 1024);
    m.store(&small, &fits, lease(0))
        .await
        .expect("a record at the limit is written");
    assert_eq!(
        m.load(&small).await.expect("load").map(|r| r.data),
        Some(fits.clone())
    );
    // A (sparse) 200 MB file under a real session name: absent, at once.
    m.store(&big, b"{}", lease(0)).await.expect("store");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(m.file_path(&big))
        .expect("open");
    file.set_len(200 * 1024 * 1024).expect("grow");
    assert_eq!(m.load(&big).await.expect("load"), None);
    // A valid file whose record is over the limit: absent too.
    let unlimited = FileStore::new(m.directory().parent().expect("parent")).expect("same dir");
    let over = format!(r#"{{"b":"{}"}}"#, "a".repeat(2048)).into_bytes();
    unlimited
        .store(&edge, &over, lease(0))
        .await
        .expect("the default limit allows it");
    assert_eq!(m.load(&edge).await.expect("load"), None);
    assert_eq!(
        unlimited.load(&edge).await.expect("load").map(|r| r.data),
        Some(over.clone())
    );
    // Writes over the limit are refused and write nothing.
    let err = m.store(&edge, &over, lease(1)).await.expect_err("refused");
    assert!(
        matches!(
            err,
            Error::TooLarge {
                size: 2056,
                limit: 1024
            }
        ),
        "{err}"
    );
    assert_eq!(
        unlimited.load(&edge).await.expect("load").map(|r| r.data),
        Some(over)
    );
}

#[tokio::test]
async fn a_capped_store_refuses_new_records_and_keeps_the_ones_it_has() {
    let (_dir, m) = store();
    // Two records written before the cap is set are found by the first count.
    let (a, b, c) = (key(), key(), key());
    m.create(&a, b"{}", lease(0)).await.expect("create");
    m.create(&b, b"{}", lease(0)).await.expect("create");
    let capped = m.clone().with_max_records(3);
    assert!(capped.create(&c, b"{}", lease(0)).await.expect("fits"));
    let err = capped
        .create(&key(), b"{}", lease(0))
        .await
        .expect_err("full");
    assert!(matches!(err, Error::Full { limit: 3 }), "{err}");
    // Existing records are still written and touched; none was evicted.
    assert_eq!(
        capped
            .update(&a, br#"{"n":1}"#, Version::FIRST, lease(1))
            .await
            .expect("update"),
        UpdateOutcome::Written
    );
    capped.touch(&b, lease(2)).await.expect("touch");
    for k in [&a, &b, &c] {
        assert!(capped.load(k).await.expect("load").is_some());
    }
    // A removal makes room; so does a purge, which recounts.
    capped.remove(&c).await.expect("remove");
    assert!(capped
        .create(&key(), b"{}", lease(0))
        .await
        .expect("room again"));
    let removed = capped.purge(at(1)).await.expect("purge");
    assert_eq!(removed, 1, "the record last written at 0");
    assert!(capped
        .create(&key(), b"{}", lease(3))
        .await
        .expect("room after purge"));
    let err = capped
        .create(&key(), b"{}", lease(3))
        .await
        .expect_err("full again");
    assert!(matches!(err, Error::Full { limit: 3 }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_overshoot_the_cap() {
    let (_dir, m) = store();
    let capped = m.with_max_records(10);
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let capped = capped.clone();
            tokio::spawn(async move { capped.create(&key(), b"{}", lease(0)).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(true) => created += 1,
            Ok(false) => panic!("fresh keys never collide"),
            Err(Error::Full { limit: 10 }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(created, 10);
    assert_eq!(super::super::cap::count_records(capped.directory()), 10);
}
