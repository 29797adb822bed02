//! PostgreSQL session store (cargo feature `postgres`): sessions in a table of the app's own
//! database, shared by every process that uses it, kept across restarts and backed up with
//! the rest of the data.
//!
//! # Table
//! One row per session (the default table is `pesto_sessions`; [`PostgresStore::migrate`]
//! creates it):
//!
//! | column           | type       | value                                                     |
//! |------------------|------------|-----------------------------------------------------------|
//! | `key`            | `CHAR(64)` | the session's [`SessionKey`] (SHA-256 of the id, never the id), primary key |
//! | `data`           | `BYTEA`    | the record the middleware gives, byte for byte             |
//! | `last_access_ms` | `BIGINT`   | [`Lease::now`] of the last write or touch, Unix milliseconds (indexed, for the purge) |
//! | `created_ms`     | `BIGINT`   | when the row was created                                   |
//! | `version`        | `BIGINT`   | the record's [`Version`], for the compare-and-swap         |
//!
//! Every operation is one statement: `create` is `INSERT … ON CONFLICT DO NOTHING`, `update`
//! an `UPDATE … WHERE key = $1 AND version = $2` (with the existence check in the same
//! statement), `touch` rewrites `last_access_ms` only, and `purge` deletes in batches of
//! [`PURGE_BATCH`] rows, skipping rows a request holds, so that no purge holds a long lock.
//! A logged-in read is one `SELECT` by primary key.
//!
//! # Faults
//! Every statement runs under a timeout (default 2 s, [`with_timeout`](PostgresStore::with_timeout)),
//! waiting for a pooled connection included. A database that is down, restarting or not
//! answering yields [`Error::Backend`] within about that time, which the middleware answers with
//! 503 on load and 500 on save; sqlx's pool opens new connections by itself once the database is
//! back.
//!
//! # Files
//! This file holds the [`PostgresStore`] type, the statement runner (timeout and error mapping)
//! and the [`SessionStore`] impl; `setup.rs` builds a store and creates its table; `sql.rs` holds
//! the statements and the table-name check.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use sqlx::postgres::PgPool;
use sqlx::Row;

use super::store::{
    check_record_size, Error, Lease, Record, Result, SessionStore, UpdateOutcome, Version,
};
use crate::exchange::SessionKey;
use crate::session::millis::{from_millis, to_millis};

mod setup;
mod sql;

pub use setup::DEFAULT_TABLE;
pub use sql::InvalidTableName;
use sql::{Statements, TableName};

/// How many rows one statement of [`purge`](SessionStore::purge) deletes at most.
pub const PURGE_BATCH: i64 = 1000;

/// Sessions in a PostgreSQL table, through a sqlx pool (the app's own, or one the store opens).
///
/// ```no_run
/// use pesto::session::PostgresStore;
/// use pesto::session_middleware;
/// # use pesto::prelude::*;
/// # #[route("/", GET)] async fn home(req: &mut Request<SessionMap>) -> &'static str { "" }
/// # dispatcher_app!(App = [home]);
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // The app's pool, shared with its sessions.
/// let pool = sqlx::PgPool::connect("postgres://127.0.0.1/test").await?;
/// let store = PostgresStore::from_pool(pool.clone());
/// store.migrate().await?; // creates `pesto_sessions` and its index if they do not exist
/// let app = session_middleware(store).wrap(App::new());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    table: TableName,
    sql: Statements,
    timeout: Duration,
    max_record_size: usize,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pool's options: they may hold the URL's password.
        f.debug_struct("PostgresStore")
            .field("table", &self.table)
            .field("timeout", &self.timeout)
            .field("max_record_size", &self.max_record_size)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Runs one statement under the timeout, mapping sqlx's errors to [`Error::Backend`].
    async fn run<T, F>(&self, op: &str, statement: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, sqlx::Error>>,
    {
        match tokio::time::timeout(self.timeout, statement).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Error::Backend(format!(
                "PostgreSQL failed on {op} (table {}): {}",
                self.table,
                describe(&e)
            ))),
            Err(_) => Err(Error::Backend(format!(
                "PostgreSQL timed out after {:?} on {op} (table {})",
                self.timeout, self.table
            ))),
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        let limit = i32::try_from(self.max_record_size).unwrap_or(i32::MAX);
        let row = self
            .run(
                "load",
                sqlx::query(&self.sql.load)
                    .bind(key.as_str())
                    .bind(limit)
                    .fetch_optional(&self.pool),
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let decoded = (|| {
            let data: Option<Vec<u8>> = row.try_get("data")?;
            let size: i32 = row.try_get("size")?;
            let stamp: i64 = row.try_get("last_access_ms")?;
            let version: i64 = row.try_get("version")?;
            Ok::<_, sqlx::Error>((data, size, stamp, version))
        })();
        match decoded {
            Ok((Some(data), _, stamp, version)) => Ok(Some(Record {
                data,
                last_access: from_millis(stamp),
                version: Version(u64::try_from(version).unwrap_or_default()),
            })),
            Ok((None, size, _, _)) => {
                // docs/security.md, "Storage": a planted huge record is not read whole.
                tracing::warn!(session = ?key, size, limit, "oversized PostgreSQL session treated as absent");
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(session = ?key, error = %describe(&e), "PostgreSQL session row does not decode; ignoring it");
                Ok(None)
            }
        }
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        check_record_size(data, self.max_record_size)?;
        let done = self
            .run(
                "create",
                sqlx::query(&self.sql.create)
                    .bind(key.as_str())
                    .bind(data)
                    .bind(to_millis(lease.now))
                    .execute(&self.pool),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        check_record_size(data, self.max_record_size)?;
        self.run(
            "store",
            sqlx::query(&self.sql.store)
                .bind(key.as_str())
                .bind(data)
                .bind(to_millis(lease.now))
                .execute(&self.pool),
        )
        .await
        .map(drop)
    }

    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> Result<UpdateOutcome> {
        check_record_size(data, self.max_record_size)?;
        let Ok(expected) = i64::try_from(expected.0) else {
            // No row holds a version beyond BIGINT: the one loaded cannot be this.
            return Ok(UpdateOutcome::Conflict);
        };
        let row = self
            .run(
                "update",
                sqlx::query(&self.sql.update)
                    .bind(key.as_str())
                    .bind(expected)
                    .bind(data)
                    .bind(to_millis(lease.now))
                    .fetch_one(&self.pool),
            )
            .await?;
        let flags = (|| {
            let written: bool = row.try_get("written")?;
            let present: bool = row.try_get("present")?;
            Ok::<_, sqlx::Error>((written, present))
        })();
        match flags {
            Ok((true, _)) => Ok(UpdateOutcome::Written),
            Ok((false, true)) => Ok(UpdateOutcome::Conflict),
            Ok((false, false)) => Ok(UpdateOutcome::Absent),
            Err(e) => Err(Error::Backend(format!(
                "PostgreSQL update answered an unexpected row: {}",
                describe(&e)
            ))),
        }
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        self.run(
            "touch",
            sqlx::query(&self.sql.touch)
                .bind(key.as_str())
                .bind(to_millis(lease.now))
                .execute(&self.pool),
        )
        .await
        .map(drop)
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        self.run(
            "remove",
            sqlx::query(&self.sql.remove)
                .bind(key.as_str())
                .execute(&self.pool),
        )
        .await
        .map(drop)
    }

    /// Deletes the idle rows [`PURGE_BATCH`] at a time, each batch its own statement (and
    /// timeout), until a batch comes back short.
    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        let cutoff = to_millis(cutoff);
        let mut removed = 0;
        loop {
            let done = self
                .run(
                    "purge",
                    sqlx::query(&self.sql.purge_batch)
                        .bind(cutoff)
                        .bind(PURGE_BATCH)
                        .execute(&self.pool),
                )
                .await?;
            removed += done.rows_affected();
            if done.rows_affected() < PURGE_BATCH as u64 {
                return Ok(removed);
            }
        }
    }

    fn max_record_size(&self) -> usize {
        self.max_record_size
    }
}

/// A sqlx error as text; sqlx never puts the connection URL's password in one.
fn describe(error: &sqlx::Error) -> String {
    error.to_string()
}
