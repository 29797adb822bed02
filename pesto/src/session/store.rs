//! The storage backend trait, its record type and its errors.
//!
//! A backend stores opaque session data under a [`SessionKey`] together with the time of last
//! access. Everything about sessions themselves (ids, cookies, expiry on load, change detection)
//! lives in the middleware, so a new backend stays small; [`conformance`](super::conformance)
//! checks one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::exchange::{RandomError, SessionKey};

/// The default [`SessionStore::max_record_size`]: 64 KiB, far above what a session of ids, flags
/// and a flash message needs, far below what would hurt a server that reads one per request.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 * 1024;

/// The clock reading and lifetime that come with a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The middleware's clock at the time of the request: the record's new last access.
    pub now: SystemTime,
    /// How long an idle record stays valid (`auto_purge_olderthan`); a store with native expiry
    /// (Redis) may use it as the key's time to live, others ignore it.
    pub ttl: Duration,
}

/// A stored session as loaded from a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The serialized session: UTF-8 JSON text, opaque to stores.
    pub data: Vec<u8>,
    /// When the session was last stored or touched (a [`Lease::now`]).
    pub last_access: SystemTime,
    /// The version of `data`, for [`SessionStore::update`]'s compare-and-swap.
    pub version: Version,
}

/// The version of a record's data: [`Version::FIRST`] when created, [`next`](Version::next) after
/// every write of the data (`store`, `update`), unchanged by `touch`.
///
/// [`SessionStore::update`] writes only over the version the caller loaded, so that of two
/// requests that loaded one session, the second to save learns that the first did and merges
/// instead of overwriting it (the session guide, "Concurrent requests").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version(pub u64);

impl Version {
    /// The version of a newly created record.
    pub const FIRST: Version = Version(1);

    /// The version after one more write.
    #[must_use]
    pub fn next(self) -> Version {
        Version(self.0.wrapping_add(1))
    }
}

/// What became of an [`update`](SessionStore::update).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum UpdateOutcome {
    /// The record held the expected version and now holds the new data, at the next version.
    Written,
    /// No record under the key (the session ended): nothing was written.
    Absent,
    /// The record holds another version (another request saved it since it was loaded): nothing
    /// was written.
    Conflict,
}

/// A storage backend failure.
///
/// Backends map their own errors into these variants, so that no backend's error type leaks into the trait.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error (file store).
    #[error("session store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other failure of the backend (connection lost, task failed).
    #[error("session store backend error: {0}")]
    Backend(String),
    /// Session data could not be encoded for storage.
    #[error("could not encode session data: {0}")]
    Encode(String),
    /// Stored data could not be decoded.
    #[error("could not decode session data: {0}")]
    Decode(String),
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
    /// The store holds as many records as it may (a cap such as
    /// [`FileStore::with_max_records`](super::FileStore::with_max_records)); no new one was created.
    #[error("session store is full ({limit} records)")]
    Full {
        /// The cap, in records.
        limit: u64,
    },
    /// A record to write is larger than the store's [`max_record_size`](SessionStore::max_record_size);
    /// nothing was written.
    #[error("session record of {size} bytes exceeds the store's limit of {limit} bytes")]
    TooLarge {
        /// The record's size in bytes.
        size: usize,
        /// The store's limit in bytes.
        limit: usize,
    },
}

/// [`Error::TooLarge`] if `data` is over `limit`: the check a store makes before every write.
pub fn check_record_size(data: &[u8], limit: usize) -> Result<()> {
    if data.len() > limit {
        return Err(Error::TooLarge {
            size: data.len(),
            limit,
        });
    }
    Ok(())
}

impl From<RandomError> for Error {
    fn from(error: RandomError) -> Self {
        Error::Random(error.to_string())
    }
}

/// The result type of session stores.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A session storage backend.
///
/// Stores see only [`SessionKey`]s (hashes of the ids), never raw ids. Time comes from the
/// caller's [`Lease`], never from the store's own clock, so the middleware's injectable clock
/// drives expiry and purge in tests. Idle expiry is the middleware's job: `load` returns records
/// whatever their age. Run [`conformance::run`](super::conformance::run) against a new backend.
///
/// # Record size
///
/// A store keeps records of at most [`max_record_size`](Self::max_record_size) bytes: a write of
/// a larger one fails with [`Error::TooLarge`] and writes nothing, and a larger record found on
/// load (written by something else: another program, a hand with access to the directory or the
/// Redis) is logged and treated as absent *without being read whole*, so that one planted record
/// cannot make every request that presents its id read megabytes (docs/security.md, "Storage").
#[async_trait::async_trait]
pub trait SessionStore: std::fmt::Debug + Send + Sync + 'static {
    /// Loads a record; `None` if it is absent, or unreadable or corrupt (which the store logs).
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>>;

    /// Creates a record of [`Version::FIRST`] only if the key is free: `Ok(false)`, and nothing
    /// written, if it exists.
    ///
    /// docs/security.md, "Session ids" ("creating a session must not overwrite an existing record").
    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool>;

    /// Creates or replaces a record, with `last_access = lease.now`: a new record gets
    /// [`Version::FIRST`], a replaced one its version's [`next`](Version::next).
    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()>;

    /// Replaces a record only if it exists and still holds version `expected`
    /// (compare-and-swap): the data, `last_access = lease.now` and the version's
    /// [`next`](Version::next) are written in one atomic step, or nothing is.
    ///
    /// The middleware saves changes with it. An absent record is never created, so that a
    /// request which began before a logout cannot bring the ended session back (docs/security.md,
    /// "Session lifecycle"; rack-session CVE-2025-46336); a record of another version means
    /// another request saved the session meanwhile, and the middleware merges and retries
    /// instead of losing that save. The check and the write must be one step against every
    /// other writer of the backend (a lock, a script, a conditional statement):
    /// [`conformance`](super::conformance) races them.
    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> Result<UpdateOutcome>;

    /// Sets `last_access = lease.now` without rewriting the data; an absent key is `Ok` and stays absent.
    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()>;

    /// Removes a record; an absent key is `Ok`.
    async fn remove(&self, key: &SessionKey) -> Result<()>;

    /// Removes every record with `last_access < cutoff` and returns how many it removed.
    async fn purge(&self, cutoff: SystemTime) -> Result<u64>;

    /// True when the backend expires idle records by itself (Redis TTLs): the middleware then
    /// runs no periodic purge (an explicit `purge` still works).
    fn self_expiring(&self) -> bool {
        false
    }

    /// The largest record, in bytes, this store writes or loads (default
    /// [`DEFAULT_MAX_RECORD_SIZE`]); see "Record size" above. The middleware checks it before
    /// every write and answers 500 (and logs why) when a session has grown past it.
    fn max_record_size(&self) -> usize {
        DEFAULT_MAX_RECORD_SIZE
    }
}

/// The future every [`SessionStore`] method returns, as `async_trait` spells it.
type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Forwards every method to the pointee, so shared (`Arc<dyn SessionStore>`) and boxed stores
/// are stores too.
///
/// Written out rather than through `#[async_trait]`, which would box a second future around the
/// pointee's own on every call (and a third for an `Arc` of an `Arc`): the pointee's boxed
/// future is handed on as it is. The signatures are `async_trait`'s expansion of the trait's.
macro_rules! forward_session_store {
    ($($pointer:ident),*) => {$(
        impl<M: SessionStore + ?Sized> SessionStore for $pointer<M> {
            fn load<'s, 'k, 'f>(&'s self, key: &'k SessionKey) -> StoreFuture<'f, Option<Record>>
            where
                's: 'f,
                'k: 'f,
                Self: 'f,
            {
                (**self).load(key)
            }
            fn create<'s, 'k, 'd, 'f>(
                &'s self,
                key: &'k SessionKey,
                data: &'d [u8],
                lease: Lease,
            ) -> StoreFuture<'f, bool>
            where
                's: 'f,
                'k: 'f,
                'd: 'f,
                Self: 'f,
            {
                (**self).create(key, data, lease)
            }
            fn store<'s, 'k, 'd, 'f>(
                &'s self,
                key: &'k SessionKey,
                data: &'d [u8],
                lease: Lease,
            ) -> StoreFuture<'f, ()>
            where
                's: 'f,
                'k: 'f,
                'd: 'f,
                Self: 'f,
            {
                (**self).store(key, data, lease)
            }
            fn update<'s, 'k, 'd, 'f>(
                &'s self,
                key: &'k SessionKey,
                data: &'d [u8],
                expected: Version,
                lease: Lease,
            ) -> StoreFuture<'f, UpdateOutcome>
            where
                's: 'f,
                'k: 'f,
                'd: 'f,
                Self: 'f,
            {
                (**self).update(key, data, expected, lease)
            }
            fn touch<'s, 'k, 'f>(&'s self, key: &'k SessionKey, lease: Lease) -> StoreFuture<'f, ()>
            where
                's: 'f,
                'k: 'f,
                Self: 'f,
            {
                (**self).touch(key, lease)
            }
            fn remove<'s, 'k, 'f>(&'s self, key: &'k SessionKey) -> StoreFuture<'f, ()>
            where
                's: 'f,
                'k: 'f,
                Self: 'f,
            {
                (**self).remove(key)
            }
            fn purge<'s, 'f>(&'s self, cutoff: SystemTime) -> StoreFuture<'f, u64>
            where
                's: 'f,
                Self: 'f,
            {
                (**self).purge(cutoff)
            }
            fn self_expiring(&self) -> bool {
                (**self).self_expiring()
            }
            fn max_record_size(&self) -> usize {
                (**self).max_record_size()
            }
        }
    )*};
}

forward_session_store!(Arc, Box);
