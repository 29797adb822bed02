//! [`AcceptErrors`]: the log of failed `accept` calls, rate-limited. When the process runs out of
//! file descriptors every accept fails at once; the server pauses and retries, and without a limit
//! its log would fill with one identical warning per retry (ten a second).

use std::time::{Duration, Instant};

/// How often at most a failed accept is logged; the failures in between are counted.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Failed accepts since the last line logged.
#[derive(Debug, Default)]
pub(super) struct AcceptErrors {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    /// Records a failure at `now`; returns how many failures the line to log now stands for
    /// (this one and those suppressed since the last line), or `None` to stay quiet.
    pub(super) fn record(&mut self, now: Instant) -> Option<u64> {
        match self.last_logged {
            Some(at) if now.duration_since(at) < LOG_EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last_logged = Some(now);
                Some(std::mem::take(&mut self.suppressed) + 1)
            }
        }
    }

    /// An accept succeeded: the next failure is news again.
    pub(super) fn reset(&mut self) -> Option<u64> {
        self.last_logged = None;
        (self.suppressed > 0).then(|| std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_then_a_count_per_interval() {
        let start = Instant::now();
        let mut errors = AcceptErrors::default();
        assert_eq!(errors.record(start), Some(1), "the first failure is logged");
        let logged: Vec<_> = (1..=100u64)
            .filter_map(|i| errors.record(start + Duration::from_millis(100 * i)))
            .collect();
        assert_eq!(
            logged,
            [100],
            "ten seconds of retries at 10/s: one more line, counting 100"
        );
        assert_eq!(errors.record(start + Duration::from_millis(10_050)), None);
        assert_eq!(
            errors.reset(),
            Some(1),
            "recovery reports what was left uncounted"
        );
        assert_eq!(errors.record(start + Duration::from_secs(11)), Some(1));
    }
}
