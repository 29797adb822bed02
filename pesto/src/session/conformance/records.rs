//! The checks of plain record keeping: create, load, store, touch, remove, purge, limits, and
//! many keys at once.

use futures_util::future::join_all;

use super::check::{at, json_of_size, lease, Check, DATA_A, DATA_B, DAY, HOUR};
use super::CONCURRENT_KEYS;
use crate::exchange::SessionKey;
use crate::session::store::{Error, Result, SessionStore};

/// `create` on a free key returns `true`, and `load` returns the exact bytes and time written.
pub async fn check_create_then_load<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_create_then_load");
    // JSON a store must not reformat: key order, escapes, non-ASCII text, scalars.
    let samples: [&[u8]; 6] = [
        br#"{"user":"alice","logged_in":true}"#,
        br#"{"b":1,"a":[2,3.5,null,{"z":{}}]}"#,
        "{\"name\":\"Zoë ✓ 漢字\",\"esc\":\"\\u0000\\n\\\"\"}".as_bytes(),
        b"{}",
        b"null",
        br#""just a string""#,
    ];
    for data in samples {
        let key = c.key();
        c.expect_absent(store, &key, "a fresh key").await;
        if !c.ok("create", store.create(&key, data, lease(0)).await) {
            c.fail("create on a fresh key returned false");
        }
        c.expect_record(store, &key, data, at(0), "after create")
            .await;
        c.cleanup(store, [&key]).await;
    }
}

/// A second `create` of an existing key returns `false` and changes neither data nor last access.
///
/// docs/security.md, "Session ids" ("creating a session must not overwrite an existing record").
pub async fn check_create_only<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_create_only");
    let key = c.key();
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    if c.ok("create", store.create(&key, DATA_B, lease(HOUR)).await) {
        c.fail("a second create of the same key returned true (it must return false)");
    }
    c.expect_record(store, &key, DATA_A, at(0), "after the refused create")
        .await;
    // A key written by `store` is taken too.
    let stored = c.key();
    c.ok("store", store.store(&stored, DATA_A, lease(0)).await);
    if c.ok("create", store.create(&stored, DATA_B, lease(HOUR)).await) {
        c.fail("create over a key written by store returned true");
    }
    c.expect_record(store, &stored, DATA_A, at(0), "after the refused create")
        .await;
    c.cleanup(store, [&key, &stored]).await;
}

/// Concurrent `create`s of one key: exactly one returns `true`, and its data is what is stored.
pub async fn check_create_race<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_create_race");
    let key = c.key();
    let data: Vec<Vec<u8>> = (0..8)
        .map(|i| format!(r#"{{"writer":{i}}}"#).into_bytes())
        .collect();
    let results = join_all(data.iter().map(|d| store.create(&key, d, lease(0)))).await;
    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        if c.ok("create", result) {
            winners.push(i);
        }
    }
    let [winner] = winners[..] else {
        c.fail(format_args!(
            "{} of 8 concurrent creates of one key returned true (exactly one must)",
            winners.len()
        ));
    };
    c.expect_record(store, &key, &data[winner], at(0), "after the race")
        .await;
    c.cleanup(store, [&key]).await;
}

/// `store` creates a missing record and replaces an existing one, data and last access alike.
pub async fn check_store_replaces<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_store_replaces");
    let key = c.key();
    c.ok("store", store.store(&key, DATA_A, lease(0)).await);
    c.expect_record(store, &key, DATA_A, at(0), "after store on a free key")
        .await;
    c.ok("store", store.store(&key, DATA_B, lease(HOUR)).await);
    c.expect_record(store, &key, DATA_B, at(HOUR), "after the second store")
        .await;
    // Shorter data must not leave a tail of the longer one behind.
    c.ok("store", store.store(&key, b"{}", lease(2 * HOUR)).await);
    c.expect_record(store, &key, b"{}", at(2 * HOUR), "after a shorter store")
        .await;
    c.cleanup(store, [&key]).await;
}

/// `touch` moves last access (forwards or backwards) and keeps the data.
pub async fn check_touch<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_touch");
    let key = c.key();
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    c.ok("touch", store.touch(&key, lease(2 * HOUR)).await);
    c.expect_record(store, &key, DATA_A, at(2 * HOUR), "after touch")
        .await;
    // The middleware's clock may step back; the store just records what it is given.
    c.ok("touch", store.touch(&key, lease(HOUR)).await);
    c.expect_record(
        store,
        &key,
        DATA_A,
        at(HOUR),
        "after touch to an earlier time",
    )
    .await;
    c.cleanup(store, [&key]).await;
}

/// `load` of a missing key is `None`; `touch` and `remove` of it are `Ok` and do not create it.
pub async fn check_absent_keys<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_absent_keys");
    let key = c.key();
    c.expect_absent(store, &key, "a fresh key").await;
    c.ok("touch of an absent key", store.touch(&key, lease(0)).await);
    c.expect_absent(store, &key, "after touch of an absent key")
        .await;
    c.ok("remove of an absent key", store.remove(&key).await);
    c.expect_absent(store, &key, "after remove of an absent key")
        .await;
}

/// After `remove` the key loads as `None` (twice removing is fine) and can be created again.
pub async fn check_remove<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_remove");
    let (key, other) = (c.key(), c.key());
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    c.ok("create", store.create(&other, DATA_B, lease(0)).await);
    c.ok("remove", store.remove(&key).await);
    c.expect_absent(store, &key, "after remove").await;
    c.ok("second remove", store.remove(&key).await);
    c.expect_record(store, &other, DATA_B, at(0), "after removing another key")
        .await;
    if !c.ok("create", store.create(&key, DATA_B, lease(HOUR)).await) {
        c.fail("create after remove returned false (the key must be free again)");
    }
    c.expect_record(store, &key, DATA_B, at(HOUR), "after re-create")
        .await;
    c.cleanup(store, [&key, &other]).await;
}

/// `purge(cutoff)` removes exactly the records with `last_access < cutoff` and returns their count.
pub async fn check_purge<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_purge");
    let cutoff = -DAY;
    let [old, older, boundary, touched, fresh] = [c.key(), c.key(), c.key(), c.key(), c.key()];
    c.ok("store", store.store(&older, DATA_A, lease(-3 * DAY)).await);
    c.ok("create", store.create(&old, DATA_A, lease(-2 * DAY)).await);
    c.ok(
        "create",
        store.create(&boundary, DATA_A, lease(cutoff)).await,
    );
    // Created long ago but touched since: touch counts as access.
    c.ok(
        "create",
        store.create(&touched, DATA_A, lease(-5 * DAY)).await,
    );
    c.ok("touch", store.touch(&touched, lease(-HOUR)).await);
    c.ok("store", store.store(&fresh, DATA_B, lease(0)).await);

    let removed = c.ok("purge", store.purge(at(cutoff)).await);
    if removed != 2 {
        c.fail(format_args!(
            "purge removed {removed} records, expected 2 (last accessed 3 and 2 days before the cutoff's day)"
        ));
    }
    c.expect_absent(store, &older, "after purge (3 days old)")
        .await;
    c.expect_absent(store, &old, "after purge (2 days old)")
        .await;
    c.expect_record(
        store,
        &boundary,
        DATA_A,
        at(cutoff),
        "after purge (last access == cutoff must be kept)",
    )
    .await;
    c.expect_record(
        store,
        &touched,
        DATA_A,
        at(-HOUR),
        "after purge (touched after creation)",
    )
    .await;
    c.expect_record(store, &fresh, DATA_B, at(0), "after purge (fresh)")
        .await;
    let again = c.ok("purge", store.purge(at(cutoff)).await);
    if again != 0 {
        c.fail(format_args!(
            "a second purge with the same cutoff removed {again} records, expected 0"
        ));
    }
    c.cleanup(store, [&boundary, &touched, &fresh]).await;
}

/// Writes, touches and removals of one key leave other keys alone.
pub async fn check_keys_independent<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_keys_independent");
    let (one, two) = (c.key(), c.key());
    c.ok("create", store.create(&one, DATA_A, lease(0)).await);
    c.ok("create", store.create(&two, DATA_B, lease(0)).await);
    c.ok(
        "store",
        store.store(&one, br#"{"changed":1}"#, lease(HOUR)).await,
    );
    c.ok("touch", store.touch(&one, lease(2 * HOUR)).await);
    c.expect_record(store, &two, DATA_B, at(0), "after writing another key")
        .await;
    c.ok("remove", store.remove(&one).await);
    c.expect_record(store, &two, DATA_B, at(0), "after removing another key")
        .await;
    c.cleanup(store, [&two]).await;
}

/// A record of the store's [`max_record_size`](SessionStore::max_record_size) (or of 256 KiB,
/// whichever is less) round-trips byte for byte.
pub async fn check_large_value<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_large_value");
    let key = c.key();
    let data = json_of_size(store.max_record_size().min(256 * 1024));
    c.ok("create", store.create(&key, &data, lease(0)).await);
    c.expect_record(
        store,
        &key,
        &data,
        at(0),
        "after create of the largest record",
    )
    .await;
    c.cleanup(store, [&key]).await;
}

/// A record one byte over [`max_record_size`](SessionStore::max_record_size) is refused with
/// [`Error::TooLarge`] by `create`, `store` and `update`, and none of them writes anything.
/// Skipped for a limit of 16 MiB or more (the test would hold it in memory three times).
pub async fn check_record_size_limit<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_record_size_limit");
    let limit = store.max_record_size();
    if limit >= 16 * 1024 * 1024 {
        return;
    }
    let over = json_of_size(limit + 1);
    let refused = |op: &str, result: Result<()>| match result {
        Err(Error::TooLarge { size, limit: l }) if size == limit + 1 && l == limit => {}
        Err(e) => c.fail(format_args!(
            "{op} of {} bytes failed with {e}, expected TooLarge",
            limit + 1
        )),
        Ok(()) => c.fail(format_args!(
            "{op} of {} bytes over a limit of {limit} succeeded",
            limit + 1
        )),
    };
    let key = c.key();
    refused(
        "create",
        store.create(&key, &over, lease(0)).await.map(drop),
    );
    c.expect_absent(store, &key, "after a refused create").await;
    refused("store", store.store(&key, &over, lease(0)).await);
    c.expect_absent(store, &key, "after a refused store").await;
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    let version = c.version(store, &key, "after create").await;
    refused(
        "update",
        store.update(&key, &over, version, lease(1)).await.map(drop),
    );
    c.expect_record(store, &key, DATA_A, at(0), "after a refused update")
        .await;
    c.cleanup(store, [&key]).await;
}

/// [`CONCURRENT_KEYS`] stores on different keys in flight at once: every one is kept.
pub async fn check_concurrent_stores<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_concurrent_stores");
    let keys: Vec<SessionKey> = (0..CONCURRENT_KEYS).map(|_| c.key()).collect();
    let data: Vec<Vec<u8>> = (0..CONCURRENT_KEYS)
        .map(|i| format!(r#"{{"n":{i}}}"#).into_bytes())
        .collect();
    let writes = keys
        .iter()
        .zip(&data)
        .enumerate()
        .map(|(i, (key, d))| async move {
            // Half create, half store, so both write paths run side by side.
            if i % 2 == 0 {
                store.create(key, d, lease(0)).await.map(|_| ())
            } else {
                store.store(key, d, lease(0)).await
            }
        });
    for result in join_all(writes).await {
        c.ok("concurrent write", result);
    }
    let loads = join_all(keys.iter().map(|key| store.load(key))).await;
    for (i, loaded) in loads.into_iter().enumerate() {
        match c.ok("load", loaded) {
            Some(record) if record.data == data[i] => {}
            Some(_) => c.fail(format_args!(
                "record {i} of {CONCURRENT_KEYS} holds another record's data"
            )),
            None => c.fail(format_args!(
                "record {i} of {CONCURRENT_KEYS} written concurrently is missing"
            )),
        }
    }
    for result in join_all(keys.iter().map(|key| store.remove(key))).await {
        c.ok("concurrent remove", result);
    }
}
