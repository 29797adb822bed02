//! The checks of `update`'s compare-and-swap: versions, conflicts, and races of many writers on
//! one record.

use futures_util::future::join_all;

use super::check::{at, lease, shorten, Check, DATA_A, DATA_B, HOUR};
use super::RACERS;
use crate::exchange::SessionKey;
use crate::session::store::{SessionStore, UpdateOutcome, Version};

/// `update` replaces an existing record and never creates one (an ended session stays ended).
pub async fn check_update_only_existing<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_update_only_existing");
    let key = c.key();
    let outcome = c.ok(
        "update",
        store.update(&key, DATA_A, Version::FIRST, lease(0)).await,
    );
    if outcome != UpdateOutcome::Absent {
        c.fail(format_args!(
            "update of an absent key returned {outcome:?}, expected Absent"
        ));
    }
    c.expect_absent(store, &key, "after update on a free key")
        .await;
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    let version = c.version(store, &key, "after create").await;
    let outcome = c.ok(
        "update",
        store.update(&key, DATA_B, version, lease(HOUR)).await,
    );
    if outcome != UpdateOutcome::Written {
        c.fail(format_args!(
            "update of an existing key at its version returned {outcome:?}, expected Written"
        ));
    }
    c.expect_record(store, &key, DATA_B, at(HOUR), "after update")
        .await;
    c.cleanup(store, [&key]).await;
}

/// Versions: `create` writes [`Version::FIRST`], `store` and `update` the [`next`](Version::next)
/// one, `touch` keeps it; `update` over any other version than the stored one is a `Conflict`
/// and writes nothing, neither data nor last access.
pub async fn check_update_compare_and_swap<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_update_compare_and_swap");
    let key = c.key();
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    c.expect_version(store, &key, Version::FIRST, "after create")
        .await;
    c.ok("touch", store.touch(&key, lease(HOUR)).await);
    c.expect_version(store, &key, Version::FIRST, "after touch")
        .await;
    let outcome = c.ok(
        "update",
        store
            .update(&key, DATA_B, Version::FIRST, lease(HOUR))
            .await,
    );
    if outcome != UpdateOutcome::Written {
        c.fail(format_args!(
            "update at the stored version returned {outcome:?}"
        ));
    }
    let second = Version::FIRST.next();
    c.expect_version(store, &key, second, "after update").await;
    // The version this request loaded is stale now: another request saved meanwhile.
    for stale in [Version::FIRST, second.next(), Version(0)] {
        let outcome = c.ok(
            "update",
            store
                .update(&key, br#"{"lost":true}"#, stale, lease(2 * HOUR))
                .await,
        );
        if outcome != UpdateOutcome::Conflict {
            c.fail(format_args!(
                "update at version {stale:?} of a record at {second:?} returned {outcome:?}, expected Conflict"
            ));
        }
    }
    c.expect_record(store, &key, DATA_B, at(HOUR), "after refused updates")
        .await;
    c.expect_version(store, &key, second, "after refused updates")
        .await;
    c.ok("store", store.store(&key, DATA_A, lease(HOUR)).await);
    c.expect_version(store, &key, second.next(), "after store over it")
        .await;
    c.cleanup(store, [&key]).await;
}

/// Concurrent updates of one record: of [`RACERS`] updates over the same version exactly one is
/// written; and [`RACERS`] writers that each add one to a counter, reloading and retrying on a
/// conflict, end with the counter at [`RACERS`] — no update lost.
pub async fn check_update_race<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_update_race");
    let key = c.key();
    c.ok("create", store.create(&key, br#"{"n":0}"#, lease(0)).await);
    let data: Vec<Vec<u8>> = (0..RACERS)
        .map(|i| format!(r#"{{"n":0,"writer":{i}}}"#).into_bytes())
        .collect();
    let racing = data
        .iter()
        .map(|d| store.update(&key, d, Version::FIRST, lease(0)));
    let mut winners = Vec::new();
    for (i, outcome) in join_all(racing).await.into_iter().enumerate() {
        match c.ok("update", outcome) {
            UpdateOutcome::Written => winners.push(i),
            UpdateOutcome::Conflict => {}
            UpdateOutcome::Absent => c.fail("a racing update found the record absent"),
        }
    }
    let [winner] = winners[..] else {
        c.fail(format_args!(
            "{} of {RACERS} concurrent updates over one version were written (exactly one must)",
            winners.len()
        ));
    };
    c.expect_record(store, &key, &data[winner], at(0), "after the race")
        .await;

    c.ok("store", store.store(&key, br#"{"n":0}"#, lease(0)).await);
    let increments = (0..RACERS).map(|_| increment(&c, store, &key));
    join_all(increments).await;
    let expected = format!(r#"{{"n":{RACERS}}}"#);
    c.expect_record(
        store,
        &key,
        expected.as_bytes(),
        at(0),
        "after concurrent increments with retries",
    )
    .await;
    c.cleanup(store, [&key]).await;
}

/// Adds one to the counter `{"n":…}` under `key`, retrying on conflicts.
async fn increment<M: SessionStore + ?Sized>(c: &Check, store: &M, key: &SessionKey) {
    for _ in 0..RACERS * 4 {
        let Some(record) = c.load(store, key).await else {
            c.fail("the counter record vanished");
        };
        let n = std::str::from_utf8(&record.data)
            .ok()
            .and_then(|text| {
                text.strip_prefix(r#"{"n":"#)?
                    .strip_suffix('}')?
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or_else(|| c.fail(format_args!("not a counter: {}", shorten(&record.data))));
        let next = format!(r#"{{"n":{}}}"#, n + 1);
        let outcome = store
            .update(key, next.as_bytes(), record.version, lease(0))
            .await;
        match c.ok("update", outcome) {
            UpdateOutcome::Written => return,
            UpdateOutcome::Conflict => tokio::task::yield_now().await,
            UpdateOutcome::Absent => c.fail("the counter record vanished"),
        }
    }
    c.fail("an increment kept conflicting");
}
