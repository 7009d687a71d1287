//! The simulator's own clock: the wall clock plus an offset tests can push forward. Every expiry
//! the simulator decides (SSO sessions, MFA contexts, assertion validity) reads this clock.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset: Mutex<Duration>,
}

impl Clock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        #[expect(
            clippy::disallowed_methods,
            reason = "the simulator's own clock starts from the machine's"
        )]
        let machine = OffsetDateTime::now_utc();
        machine + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

/// The machine's time, where the simulator needs it without its offset (NTLM's timestamp,
/// seeding its randomness).
pub(crate) fn machine_time() -> std::time::SystemTime {
    #[expect(
        clippy::disallowed_methods,
        reason = "the simulator's one reading of the machine's time"
    )]
    std::time::SystemTime::now()
}

/// Monotonic time for the simulator's short-lived state (pending NTLM challenges).
pub(crate) fn monotonic() -> std::time::Instant {
    #[expect(
        clippy::disallowed_methods,
        reason = "the simulator's one reading of monotonic time"
    )]
    std::time::Instant::now()
}
