//! Fixed times for store and expiry tests, so that timestamps compare exactly and nothing sleeps.

use std::time::{Duration, SystemTime};

use pesto::session::{Lease, ManualClock};

/// The clock reading the tests start from, in seconds after the Unix epoch (2023-11-14).
pub const T0: u64 = 1_700_000_000;

/// `secs` after [`T0`].
pub fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

/// A store write at `at(secs)`, valid for 1800 s of idleness.
pub fn lease(secs: u64) -> Lease {
    Lease {
        now: at(secs),
        ttl: Duration::from_secs(1800),
    }
}

/// A manual clock showing [`T0`], for the middleware's `.clock(..)`.
pub fn clock() -> ManualClock {
    ManualClock::new(at(0))
}
