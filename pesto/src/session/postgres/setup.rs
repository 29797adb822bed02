//! Building a [`PostgresStore`]: from a URL or the app's pool, its options, and
//! [`migrate`](PostgresStore::migrate), which creates the table.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

use super::sql::{InvalidTableName, Statements, TableName, COLUMNS};
use super::{describe, PostgresStore};
use crate::session::store::{Error, Result, DEFAULT_MAX_RECORD_SIZE};

/// The default table.
pub const DEFAULT_TABLE: &str = "pesto_sessions";

/// The default bound on one statement, waiting for a connection included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections of a pool the store opens itself ([`PostgresStore::connect`]).
const OWN_POOL_CONNECTIONS: u32 = 10;

impl PostgresStore {
    /// A store on the app's own pool, so that the app and its sessions share connections;
    /// table [`DEFAULT_TABLE`].
    ///
    /// The pool's own `acquire_timeout` still applies; the store's
    /// [`with_timeout`](Self::with_timeout) bounds each statement whatever it is.
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        let table = TableName::parse(DEFAULT_TABLE)
            .unwrap_or_else(|_| unreachable!("the default table name is valid"));
        PostgresStore {
            sql: Statements::for_table(&table),
            table,
            pool,
            timeout: DEFAULT_TIMEOUT,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }

    /// A store with a pool of its own on `url` (`postgres://user@host:port/db`), connecting
    /// lazily: a database that is down now makes requests fail with 503, not this call. Call it
    /// inside a tokio runtime (the pool's tasks run there).
    ///
    /// # Errors
    /// [`Error::Backend`] for a URL sqlx cannot read.
    pub fn connect_lazy(url: &str) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(OWN_POOL_CONNECTIONS)
            .acquire_timeout(DEFAULT_TIMEOUT)
            .connect_lazy(url)
            .map_err(|e| Error::Backend(format!("PostgreSQL URL: {}", describe(&e))))?;
        Ok(PostgresStore::from_pool(pool))
    }

    /// [`connect_lazy`](Self::connect_lazy), then one connection made now, so that a wrong
    /// address, user or database is reported at start-up.
    ///
    /// # Errors
    /// [`Error::Backend`] when the URL is unreadable or the database cannot be reached in time.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let store = PostgresStore::connect_lazy(url)?;
        store
            .run("connect", async { store.pool.acquire().await.map(drop) })
            .await?;
        Ok(store)
    }

    /// Keeps the sessions in `table` (`name` or `schema.name`, plain identifiers).
    ///
    /// # Errors
    /// [`InvalidTableName`] for anything else: the name goes into SQL, so nothing that would
    /// need quoting is taken.
    pub fn with_table(mut self, table: &str) -> std::result::Result<Self, InvalidTableName> {
        self.table = TableName::parse(table)?;
        self.sql = Statements::for_table(&self.table);
        Ok(self)
    }

    /// Bounds every statement, waiting for a pooled connection included (default 2 s): past it
    /// the operation fails with [`Error::Backend`] (503 on load, 500 on save).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest record, in bytes, this store writes or loads (default
    /// [`DEFAULT_MAX_RECORD_SIZE`]); see [`SessionStore::max_record_size`](crate::session::SessionStore::max_record_size).
    #[must_use]
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }

    /// The table the sessions are kept in.
    pub fn table(&self) -> String {
        self.table.to_string()
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the session table and its `last_access_ms` index if they do not exist, then
    /// checks that the table has the columns the store needs. A table of that name that is not
    /// a session table is reported, never altered.
    ///
    /// The statements, for a migration tool of your own (table `pesto_sessions`):
    ///
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS pesto_sessions (
    ///     key CHAR(64) PRIMARY KEY,        -- SHA-256 of the session id, hex
    ///     data BYTEA NOT NULL,             -- the session record
    ///     last_access_ms BIGINT NOT NULL,  -- Unix milliseconds
    ///     created_ms BIGINT NOT NULL,      -- Unix milliseconds
    ///     version BIGINT NOT NULL          -- for compare-and-swap
    /// );
    /// CREATE INDEX IF NOT EXISTS pesto_sessions_last_access_ms ON pesto_sessions (last_access_ms);
    /// ```
    ///
    /// # Errors
    /// [`Error::Backend`] when the database refuses or fails, or when the table exists with
    /// other columns.
    pub async fn migrate(&self) -> Result<()> {
        self.run(
            "migrate",
            sqlx::query(&self.sql.create_table).execute(&self.pool),
        )
        .await?;
        // Before the index: a foreign table of that name is reported, and nothing is added to it.
        self.check_columns().await?;
        self.run(
            "migrate",
            sqlx::query(&self.sql.create_index).execute(&self.pool),
        )
        .await
        .map(drop)
    }

    /// Fails unless the table has every column the store needs, of the right type.
    async fn check_columns(&self) -> Result<()> {
        let (schema, name) = self.table.parts();
        let rows = self
            .run(
                "migrate",
                sqlx::query(
                    "SELECT column_name::text AS name, data_type::text AS kind \
                     FROM information_schema.columns \
                     WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())",
                )
                .bind(name)
                .bind(schema)
                .fetch_all(&self.pool),
            )
            .await?;
        let found: Vec<(String, String)> = rows
            .iter()
            .filter_map(|row| Some((row.try_get("name").ok()?, row.try_get("kind").ok()?)))
            .collect();
        let missing: Vec<String> = COLUMNS
            .iter()
            .filter(|(column, kind)| !found.iter().any(|(c, k)| c == column && k == kind))
            .map(|(column, kind)| format!("{column} {kind}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::Backend(format!(
            "table {} exists but is not a pesto session table (missing {}); pesto does not alter \
             a table it did not create: choose another with PostgresStore::with_table",
            self.table,
            missing.join(", ")
        )))
    }
}
