//! When to renew which profile and when to tell the person: a pure planner over the wall clock.
//!
//! [`plan`] looks at the profiles Rolecall keeps (the active one and those marked "keep
//! refreshed"), and says which to renew now, grouped by endpoint so each endpoint is signed in to
//! once; which expiry warnings are due (one per profile and session); and when to look again.
//! It never reads the clock: `now` is passed in, so tests jump it, and a laptop that slept
//! through a deadline is simply late, never stuck. The caller sleeps at most [`MAX_SLEEP`] at a
//! time, because timers stop during sleep while the wall clock does not.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

/// The longest the scheduler sleeps before planning again.
pub const MAX_SLEEP: Duration = Duration::minutes(1);
/// The shortest: a plan never asks to wake in the past.
pub const MIN_SLEEP: Duration = Duration::seconds(1);

/// A profile as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub profile: String,
    pub endpoint: String,
    pub expiration: OffsetDateTime,
    /// The active profile, or one the person asked to keep refreshed.
    pub kept: bool,
    /// The last silent renewal found that a person is needed; it is not retried silently until
    /// the person signs in again.
    pub needs_person: bool,
    /// When this session was written, if known: a session shorter than twice the renewal lead
    /// is renewed at half its length instead, so it is never renewed over and over.
    pub written_at: Option<OffsetDateTime>,
}

/// The person's lead times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Renew kept profiles when this much is left (15 minutes, so `credential_process`
    /// consumers never see less).
    pub renew_lead: Duration,
    /// Warn when this much is left; `None` for never.
    pub warn_lead: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            renew_lead: Duration::minutes(15),
            warn_lead: Some(Duration::minutes(10)),
        }
    }
}

/// A warning the person should get.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    pub profile: String,
    pub endpoint: String,
    pub expiration: OffsetDateTime,
    pub kind: WarningKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningKind {
    /// The session ends within the warning lead and will not be renewed without the person.
    ExpiresSoon,
    /// The session of a kept profile has ended.
    Expired,
}

impl Warning {
    /// The key that makes each warning come once per profile and session.
    pub fn key(&self) -> (String, i64, WarningKind) {
        (
            self.profile.clone(),
            self.expiration.unix_timestamp(),
            self.kind,
        )
    }
}

/// What to do now, and when to plan again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Endpoint → the profiles to renew with one sign-in there.
    pub renew: BTreeMap<String, Vec<String>>,
    pub warn: Vec<Warning>,
    pub wake_at: OffsetDateTime,
}

/// Plans at `now`. `warned` holds the keys of warnings already given ([`Warning::key`]).
pub fn plan(
    now: OffsetDateTime,
    tracked: &[Tracked],
    policy: Policy,
    warned: &BTreeSet<(String, i64, WarningKind)>,
) -> Plan {
    let mut renew: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut warn = Vec::new();
    let mut wake_at = now + MAX_SLEEP;
    let mut wake_for = |at: OffsetDateTime| {
        if at > now && at < wake_at {
            wake_at = at;
        }
    };
    for profile in tracked {
        let left = profile.expiration - now;
        let silent = profile.kept && !profile.needs_person;
        if silent {
            let lead = match profile.written_at {
                Some(at) => policy.renew_lead.min((profile.expiration - at) / 2),
                None => policy.renew_lead,
            };
            if left <= lead {
                renew
                    .entry(profile.endpoint.clone())
                    .or_default()
                    .push(profile.profile.clone());
            } else {
                wake_for(profile.expiration - lead);
            }
            continue;
        }
        let warning = |kind| Warning {
            profile: profile.profile.clone(),
            endpoint: profile.endpoint.clone(),
            expiration: profile.expiration,
            kind,
        };
        if left <= Duration::ZERO {
            if profile.kept {
                let expired = warning(WarningKind::Expired);
                if !warned.contains(&expired.key()) {
                    warn.push(expired);
                }
            }
            continue;
        }
        wake_for(profile.expiration);
        if let Some(lead) = policy.warn_lead {
            if left <= lead {
                let soon = warning(WarningKind::ExpiresSoon);
                if !warned.contains(&soon.key()) {
                    warn.push(soon);
                }
            } else {
                wake_for(profile.expiration - lead);
            }
        }
    }
    for profiles in renew.values_mut() {
        profiles.sort();
    }
    warn.sort();
    Plan {
        renew,
        warn,
        wake_at: wake_at.max(now + MIN_SLEEP),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn tracked(profile: &str, endpoint: &str, minutes_left: i64, kept: bool) -> Tracked {
        Tracked {
            profile: profile.to_owned(),
            endpoint: endpoint.to_owned(),
            expiration: NOW + Duration::minutes(minutes_left),
            kept,
            needs_person: false,
            written_at: None,
        }
    }

    fn plan_at(now: OffsetDateTime, profiles: &[Tracked]) -> Plan {
        plan(now, profiles, Policy::default(), &BTreeSet::new())
    }

    #[test]
    fn kept_profiles_are_renewed_at_fifteen_minutes_one_sign_in_per_endpoint() {
        let profiles = [
            tracked("b", "corp", 14, true),
            tracked("a", "corp", 10, true),
            tracked("c", "lab", 15, true),
            tracked("later", "corp", 40, true),
        ];
        let plan = plan_at(NOW, &profiles);
        assert_eq!(
            plan.renew,
            BTreeMap::from([
                ("corp".to_owned(), vec!["a".to_owned(), "b".to_owned()]),
                ("lab".to_owned(), vec!["c".to_owned()]),
            ])
        );
        assert!(plan.warn.is_empty(), "silent renewals need no warning");
        assert_eq!(
            plan.wake_at,
            NOW + MAX_SLEEP,
            "never sleeps more than a minute"
        );
    }

    #[test]
    fn profiles_nobody_keeps_are_not_renewed_but_warned_about() {
        let profiles = [tracked("once", "corp", 9, false)];
        let first = plan_at(NOW, &profiles);
        assert!(first.renew.is_empty());
        assert_eq!(first.warn.len(), 1);
        assert_eq!(first.warn[0].kind, WarningKind::ExpiresSoon);
        // Given once, never again for the same session.
        let warned = BTreeSet::from([first.warn[0].key()]);
        assert!(
            plan(
                NOW + Duration::minutes(1),
                &profiles,
                Policy::default(),
                &warned
            )
            .warn
            .is_empty()
        );
    }

    #[test]
    fn a_profile_that_needs_a_person_is_warned_then_reported_expired() {
        let mut profile = tracked("work", "corp", 30, true);
        profile.needs_person = true;
        let quiet = plan_at(NOW, std::slice::from_ref(&profile));
        assert!(quiet.renew.is_empty() && quiet.warn.is_empty());
        assert_eq!(quiet.wake_at, NOW + MAX_SLEEP);

        let soon = plan_at(NOW + Duration::minutes(21), std::slice::from_ref(&profile));
        assert_eq!(soon.warn[0].kind, WarningKind::ExpiresSoon);

        let gone = plan_at(NOW + Duration::minutes(31), std::slice::from_ref(&profile));
        assert_eq!(gone.warn[0].kind, WarningKind::Expired);
    }

    #[test]
    fn the_wake_up_is_the_next_deadline_within_a_minute() {
        let profiles = [tracked("work", "corp", 15, true)];
        let early = NOW - Duration::seconds(20);
        assert_eq!(
            plan_at(early, &profiles).wake_at,
            NOW,
            "wakes exactly at the renewal deadline"
        );
        let unkept = [tracked("once", "corp", 10, false)];
        assert_eq!(
            plan_at(NOW - Duration::seconds(30), &unkept).wake_at,
            NOW,
            "wakes at the warning deadline"
        );
    }

    /// A laptop that slept through the deadline wakes up past it: the renewal is due at once,
    /// and so is the plan after a clock that jumped back.
    #[test]
    fn a_clock_that_jumped_is_just_a_new_now() {
        let profiles = [tracked("work", "corp", 60, true)];
        let after_sleep = plan_at(NOW + Duration::hours(3), &profiles);
        assert_eq!(after_sleep.renew.len(), 1, "renewed at once after waking");
        let back = plan_at(NOW - Duration::hours(3), &profiles);
        assert!(back.renew.is_empty());
        assert_eq!(back.wake_at, NOW - Duration::hours(3) + MAX_SLEEP);
    }

    /// A 15-minute session (the shortest STS gives) would be due again the moment it is
    /// renewed; it is renewed at half its length instead.
    #[test]
    fn short_sessions_are_renewed_at_half_their_length_not_over_and_over() {
        let mut profile = tracked("short", "corp", 15, true);
        profile.written_at = Some(NOW);
        assert!(
            plan_at(NOW, std::slice::from_ref(&profile))
                .renew
                .is_empty()
        );
        let later = plan_at(NOW + Duration::minutes(8), std::slice::from_ref(&profile));
        assert_eq!(later.renew.len(), 1, "renewed with 7.5 minutes left");
    }

    #[test]
    fn no_warnings_when_the_person_turned_them_off() {
        let policy = Policy {
            warn_lead: None,
            ..Policy::default()
        };
        let profiles = [tracked("once", "corp", 5, false)];
        assert!(
            plan(NOW, &profiles, policy, &BTreeSet::new())
                .warn
                .is_empty()
        );
    }
}
