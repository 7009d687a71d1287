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
        OffsetDateTime::now_utc() + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}
