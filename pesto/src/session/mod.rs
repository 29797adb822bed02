//! Sessions: the session middleware and its storage backends.
//!
//! The layer above routing: [`SessionApp`] wraps any [`Endpoint`](crate::Endpoint) (a
//! `Dispatcher`, a mount, your own wrapper) and lends each request's session to it through the
//! request vocabulary's [`Session`] handle; routing never names this module.
//!
#![doc = include_str!("../../../docs/sessions.md")]

mod clock;
mod concurrent;
mod config;
pub mod conformance;
mod cookie_settings;
pub(crate) mod envelope;
pub(crate) mod file;
mod inspector;
mod memory;
mod merge;
mod middleware;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) mod millis;
#[cfg(feature = "postgres")]
mod postgres;
mod purge;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod reply;
mod save;
mod shared;
mod store;
mod transport;

#[cfg(feature = "postgres")]
pub use self::postgres::{InvalidTableName, PostgresStore, DEFAULT_TABLE, PURGE_BATCH};
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    session_middleware, OnConflict, SameSite, SessionMiddleware, DEFAULT_RENEWAL_GRACE,
};
pub use file::{Durability, FileStore};
pub use inspector::SessionInspector;
pub use memory::MemoryStore;
pub use middleware::SessionApp;
pub use store::{
    check_record_size, Error, Lease, Record, Result, SessionStore, UpdateOutcome, Version,
    DEFAULT_MAX_RECORD_SIZE,
};
pub use transport::Persist;

pub use crate::exchange::{ParseIdError, RandomError, Session, SessionData, SessionId, SessionKey};

/// A ready-made dynamic session type for Pesto-style dictionary use: string keys, JSON values.
pub type SessionMap = serde_json::Map<String, serde_json::Value>;
