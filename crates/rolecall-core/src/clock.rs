//! The one place Rolecall reads the time.
//!
//! Two clocks, for two jobs. Expiries, warnings and console sessions are wall-clock facts (an
//! STS expiration is a UTC instant), so they go through [`Clock`], which callers inject and
//! tests set. Intervals (how long an assertion is reused, when a failed renewal is retried,
//! how long to sleep) are measured with [`monotonic`], which is Tokio's clock: tests run on
//! paused time (`#[tokio::test(start_paused = true)]`) and move it with
//! `tokio::time::advance`, without waiting.

use std::fmt;
use std::sync::Mutex;

use time::OffsetDateTime;

/// The wall clock, injected so tests can set it.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The machine's time now, for the edges that pick the real clock (the command line, the
    /// tray's rendering, file names that must be unique).
    pub fn now(self) -> OffsetDateTime {
        #[expect(
            clippy::disallowed_methods,
            reason = "the one reading of the wall clock"
        )]
        OffsetDateTime::now_utc()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        SystemClock::now(*self)
    }
}

/// A clock that shows what it was set to, for tests and benchmarks.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(now: OffsetDateTime) -> Self {
        Self(Mutex::new(now))
    }

    /// Starts at the machine's time, so files written with it look current to other tools.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn set(&self, now: OffsetDateTime) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Monotonic time for intervals: Tokio's, so paused-time tests control it.
pub fn monotonic() -> tokio::time::Instant {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one reading of the monotonic clock"
    )]
    tokio::time::Instant::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_shows_what_it_was_set_to_and_moves_when_told() {
        let start = time::macros::datetime!(2026-12-02 10:00 UTC);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(time::Duration::minutes(5));
        assert_eq!(clock.now(), start + time::Duration::minutes(5));
        clock.set(start);
        assert_eq!(clock.now(), start, "set goes back as well as forward");
    }

    #[tokio::test(start_paused = true)]
    async fn the_monotonic_clock_follows_paused_tokio_time() {
        let before = monotonic();
        tokio::time::advance(std::time::Duration::from_secs(240)).await;
        assert_eq!(monotonic() - before, std::time::Duration::from_secs(240));
    }
}
