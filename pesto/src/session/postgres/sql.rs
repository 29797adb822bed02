//! The SQL of the PostgreSQL store: the table name, checked, and every statement written for it
//! once, when the store is built. Each store operation is exactly one statement, so each is
//! atomic on its own, with no transaction to hold open.

use std::fmt;

/// A table name the store may put into SQL: `name` or `schema.name`, each part a plain
/// identifier (ASCII letters, digits, `_`, not starting with a digit, at most 63 bytes — what
/// PostgreSQL keeps of a name). Written unquoted, so `Sessions` is the table `sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TableName(String);

/// Why a table name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid session table name {0:?}: expected `name` or `schema.name`, each of ASCII letters, \
     digits and `_`, not starting with a digit, at most 63 bytes"
)]
pub struct InvalidTableName(pub String);

impl TableName {
    pub(super) fn parse(name: &str) -> Result<TableName, InvalidTableName> {
        let plain = |part: &str| {
            !part.is_empty()
                && part.len() <= 63
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !part.as_bytes()[0].is_ascii_digit()
        };
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 2 || !parts.iter().all(|part| plain(part)) {
            return Err(InvalidTableName(name.to_owned()));
        }
        Ok(TableName(name.to_ascii_lowercase()))
    }

    /// The schema (`None`: the search path's) and the bare name.
    pub(super) fn parts(&self) -> (Option<&str>, &str) {
        match self.0.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, &self.0),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The statements of one store, for its table.
#[derive(Debug, Clone)]
pub(super) struct Statements {
    /// `$1` key, `$2` size limit: the data only when within the limit, so an oversized record
    /// never crosses the network; its size; the last access; the version.
    pub(super) load: String,
    /// `$1` key, `$2` data, `$3` last access (ms): a new record of version 1, or nothing.
    pub(super) create: String,
    /// Same arguments as `create`: a new record, or the existing one replaced at its next version.
    pub(super) store: String,
    /// `$1` key, `$2` expected version, `$3` data, `$4` last access: written only over the
    /// expected version; says whether it was written and whether the key exists.
    pub(super) update: String,
    /// `$1` key, `$2` last access.
    pub(super) touch: String,
    /// `$1` key.
    pub(super) remove: String,
    /// `$1` cutoff (ms), `$2` batch size: removes one batch of idle records.
    pub(super) purge_batch: String,
    /// The table, if it does not exist.
    pub(super) create_table: String,
    /// The index the purge uses, if it does not exist.
    pub(super) create_index: String,
}

impl Statements {
    pub(super) fn for_table(table: &TableName) -> Statements {
        let (_, bare) = table.parts();
        Statements {
            load: format!(
                "SELECT CASE WHEN octet_length(data) <= $2 THEN data END AS data, \
                 octet_length(data) AS size, last_access_ms, version FROM {table} WHERE key = $1"
            ),
            create: format!(
                "INSERT INTO {table} (key, data, last_access_ms, created_ms, version) \
                 VALUES ($1, $2, $3, $3, 1) ON CONFLICT (key) DO NOTHING"
            ),
            store: format!(
                "INSERT INTO {table} AS t (key, data, last_access_ms, created_ms, version) \
                 VALUES ($1, $2, $3, $3, 1) ON CONFLICT (key) DO UPDATE \
                 SET data = EXCLUDED.data, last_access_ms = EXCLUDED.last_access_ms, \
                 version = t.version + 1"
            ),
            // One statement: the UPDATE and the existence check see one snapshot, and the row
            // lock the UPDATE takes makes concurrent updates of one key queue, each checking
            // the version the previous one left. A row deleted by a concurrent statement after
            // that snapshot reads as a conflict rather than absent; the caller then reloads and
            // finds the session gone, which ends the same way.
            update: format!(
                "WITH written AS (UPDATE {table} SET data = $3, last_access_ms = $4, \
                 version = version + 1 WHERE key = $1 AND version = $2 RETURNING 1) \
                 SELECT EXISTS (SELECT 1 FROM written) AS written, \
                 EXISTS (SELECT 1 FROM {table} WHERE key = $1) AS present"
            ),
            touch: format!("UPDATE {table} SET last_access_ms = $2 WHERE key = $1"),
            remove: format!("DELETE FROM {table} WHERE key = $1"),
            // A batch at a time, locked rows skipped: a purge of millions never holds many locks
            // for long, and never waits on a request saving its session.
            purge_batch: format!(
                "DELETE FROM {table} WHERE key IN (SELECT key FROM {table} \
                 WHERE last_access_ms < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
            ),
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {table} (\
                 key CHAR(64) PRIMARY KEY, \
                 data BYTEA NOT NULL, \
                 last_access_ms BIGINT NOT NULL, \
                 created_ms BIGINT NOT NULL, \
                 version BIGINT NOT NULL)"
            ),
            create_index: format!(
                "CREATE INDEX IF NOT EXISTS {bare}_last_access_ms ON {table} (last_access_ms)"
            ),
        }
    }
}

/// The columns (name, type as `information_schema` spells it) a session table must have.
pub(super) const COLUMNS: [(&str, &str); 5] = [
    ("key", "character"),
    ("data", "bytea"),
    ("last_access_ms", "bigint"),
    ("created_ms", "bigint"),
    ("version", "bigint"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_table_names() {
        for good in ["pesto_sessions", "app.sessions", "_s1", "Sessions"] {
            assert!(TableName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1sessions",
            "sessions; DROP TABLE users",
            "a.b.c",
            "\"quoted\"",
            "with space",
            "app.",
            &"x".repeat(64),
        ] {
            assert_eq!(
                TableName::parse(bad),
                Err(InvalidTableName(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(
            TableName::parse("App.Sessions").expect("valid").parts(),
            (Some("app"), "sessions")
        );
    }
}
