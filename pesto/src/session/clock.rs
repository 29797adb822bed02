//! Wall-clock sources for session expiry: the system clock, and a manual one for tests.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// A source of wall-clock time for session expiry and purge.
///
/// Injectable so that tests can expire sessions without sleeping.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use pesto::session::{Clock, ManualClock};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
/// let handle = clock.clone(); // e.g. given to the session middleware
/// clock.advance(Duration::from_secs(1800));
/// assert_eq!(handle.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(1800));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            time: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by` (a step that would overflow `SystemTime` leaves it unchanged).
    pub fn advance(&self, by: Duration) {
        let mut time = self.lock();
        if let Some(later) = time.checked_add(by) {
            *time = later;
        }
    }

    /// Sets the clock to `time` (it may go backwards, as a real clock can).
    pub fn set(&self, time: SystemTime) {
        *self.lock() = time;
    }

    fn lock(&self) -> MutexGuard<'_, SystemTime> {
        // A poisoned lock only means a panic elsewhere while holding a plain value: it is still valid.
        self.time.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_by_clones() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = ManualClock::new(start);
        let other = clock.clone();
        other.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        clock.set(start);
        assert_eq!(other.now(), start);
    }

    #[test]
    fn manual_clock_survives_a_poisoned_lock() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        let poisoner = clock.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.lock();
            panic!("poison the lock");
        })
        .join();
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    }
}
