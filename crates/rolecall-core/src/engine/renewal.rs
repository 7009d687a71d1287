//! The background renewal: what is due, one sign-in per endpoint, what failed.

use super::*;
use crate::aws_files::StoredCredentials;

impl Engine {
    /// Renews what the plan says is due (everything kept, when `all`), gives the warnings
    /// that are due, and says when to look again.
    pub(super) async fn renew_due(&self, all: bool) -> (OffsetDateTime, bool) {
        let now = self.shared.config.clock.now();
        // On the last settings that loaded: a broken file is shown, and renewals go on.
        let settings = self.settings().unwrap_or_default();
        let tracked = self.tracked(&settings);
        let policy = Policy {
            renew_lead: time::Duration::minutes(i64::from(
                settings.preferences.refresh_lead_minutes,
            )),
            warn_lead: match settings.preferences.notify_lead_minutes {
                0 => None,
                minutes => Some(time::Duration::minutes(i64::from(minutes))),
            },
        };
        let warned = self
            .shared
            .state
            .lock()
            .map(|state| state.warned.clone())
            .unwrap_or_default();
        let mut plan = refresh::plan(now, &tracked, policy, &warned);
        if all {
            plan.renew.clear();
            for profile in tracked.iter().filter(|profile| profile.kept) {
                plan.renew
                    .entry(profile.endpoint.clone())
                    .or_default()
                    .push(profile.profile.clone());
            }
        }
        if !all && let Ok(state) = self.shared.state.lock() {
            let now = crate::clock::monotonic();
            plan.renew
                .retain(|endpoint, _| retry_due(state.failed_at.get(endpoint), now));
        }
        let renewed = !plan.renew.is_empty();
        for (endpoint, names) in &plan.renew {
            // What failed is in the status and the notices.
            let _ = self.renew_endpoint(&settings, endpoint, names).await;
        }
        if let Ok(mut state) = self.shared.state.lock() {
            for warning in &plan.warn {
                state.warned.insert(warning.key());
            }
        }
        for warning in plan.warn {
            let _ = self.shared.notices.send(Notice::Expiry(warning));
        }
        (plan.wake_at, renewed)
    }

    /// One sign-in for all of an endpoint's due profiles; a failure is remembered (retried
    /// calmly, shown on the profiles, told in a notice).
    pub(super) async fn renew_endpoint(
        &self,
        settings: &Settings,
        name: &str,
        names: &[String],
    ) -> Result<(), EngineError> {
        let result = match settings.endpoint(name) {
            Some(endpoint) => self.renew_roles(settings, endpoint, names).await,
            None => Err(EngineError::NoEndpoint {
                name: name.to_owned(),
            }),
        };
        if let Err(err) = &result {
            self.remember_failure(name, names, err);
        }
        result
    }

    /// Assumes the roles of the registry's profiles `names` again, with the endpoint's
    /// assertion (reused, or from a new sign-in).
    pub(super) async fn renew_roles(
        &self,
        settings: &Settings,
        endpoint: &Endpoint,
        names: &[String],
    ) -> Result<(), EngineError> {
        let registry = self.on_disk().registry;
        let assertion = self.assertion_of(endpoint, false).await?;
        let roles: Vec<(RolePair, String)> = names
            .iter()
            .filter_map(|profile| Some((registry.get(profile)?.role(), profile.clone())))
            .collect();
        self.write(settings, endpoint, &assertion, roles).await
    }

    /// The profile's credentials with more than
    /// [`MIN_REMAINING`](crate::credential_process::MIN_REMAINING) left, for the AWS tools: from
    /// the file while they are fresh, otherwise renewed here, through the same sign-in as the
    /// tray's: its reused assertion, one sign-in per endpoint at a time (callers that waited
    /// for one that found a person needed get that answer), and its failures shown in the
    /// tray. Each new request tries again: the person may have fixed things elsewhere (a
    /// password stored with the command line), and a refused password is never sent again.
    pub async fn credentials_for(&self, profile: &str) -> Result<StoredCredentials, EngineError> {
        let files = AwsFiles::from_paths(&self.shared.config.paths);
        if let Some(fresh) = self.fresh(&files, profile).await? {
            return Ok(fresh);
        }
        let source = self
            .on_disk()
            .registry
            .get(profile)
            .cloned()
            .ok_or_else(|| EngineError::NoProfile {
                profile: profile.to_owned(),
            })?;
        let settings = self.settings()?;
        // A profile from an endpoint given only on the command line signs in to the one
        // recorded with it.
        let endpoint =
            source
                .endpoint(&settings.endpoints)
                .ok_or_else(|| EngineError::NoEndpoint {
                    name: source.endpoint.clone(),
                })?;
        // Other Rolecall processes (the command line) renew under the same lock.
        let config_dir = self.shared.config.paths.config_dir.clone();
        let name = profile.to_owned();
        let _lock = tokio::task::spawn_blocking(move || {
            crate::credential_process::lock(
                &config_dir,
                &name,
                crate::credential_process::LOCK_TIMEOUT,
            )
        })
        .await
        .map_err(|err| EngineError::Registry {
            detail: err.to_string(),
        })?
        .map_err(|err| EngineError::Registry {
            detail: err.to_string(),
        })?;
        // Whoever held the lock may have renewed it already.
        if let Some(fresh) = self.fresh(&files, profile).await? {
            return Ok(fresh);
        }
        // Keys put there since Rolecall wrote the profile are not its own.
        files.check_writable(profile, true)?;
        let names = [profile.to_owned()];
        let result = self.renew_roles(&settings, &endpoint, &names).await;
        if let Err(err) = &result {
            self.remember_failure(&endpoint.name, &names, err);
        }
        self.publish();
        self.shared.replan.notify_one();
        result?;
        self.fresh(&files, profile)
            .await?
            .ok_or_else(|| EngineError::NoProfile {
                profile: profile.to_owned(),
            })
    }

    /// The profile's credentials in the file, when they may be handed out now.
    async fn fresh(
        &self,
        files: &AwsFiles,
        profile: &str,
    ) -> Result<Option<StoredCredentials>, EngineError> {
        let files = files.clone();
        let name = profile.to_owned();
        let stored = tokio::task::spawn_blocking(move || files.read_credentials(&name))
            .await
            .map_err(|err| EngineError::Registry {
                detail: err.to_string(),
            })??;
        let now = self.shared.config.clock.now();
        Ok(stored.filter(|stored| crate::credential_process::is_fresh(stored, now)))
    }

    fn remember_failure(&self, name: &str, names: &[String], err: &EngineError) {
        if let EngineError::NeedsPerson { url, .. } = err {
            if let Ok(mut state) = self.shared.state.lock() {
                state
                    .failed_at
                    .insert(name.to_owned(), crate::clock::monotonic());
                state.needs_person.insert(name.to_owned());
            }
            let _ = self.shared.notices.send(Notice::TrySilently {
                endpoint: name.to_owned(),
                url: url.clone(),
            });
            return;
        }
        let needs_person = matches!(err, EngineError::PasswordRefused(_))
            || matches!(err, EngineError::SignIn(sign_in) if matches!(
                sign_in.kind(),
                idp::FailureKind::BadCredentials | idp::FailureKind::Passcode
            ));
        if let Ok(mut state) = self.shared.state.lock() {
            state
                .failed_at
                .insert(name.to_owned(), crate::clock::monotonic());
            if needs_person {
                state.needs_person.insert(name.to_owned());
            }
            for profile in names {
                state
                    .profile_errors
                    .insert(profile.clone(), err.to_string());
            }
        }
        let _ = self.shared.notices.send(Notice::RenewalFailed {
            endpoint: name.to_owned(),
            message: err.to_string(),
        });
    }

    /// The registry's profiles that still have credentials in the file.
    pub(super) fn tracked(&self, settings: &Settings) -> Vec<Tracked> {
        let disk = self.on_disk();
        let (needs_person, written_at, served) = self
            .shared
            .state
            .lock()
            .map(|state| {
                let served: BTreeSet<String> = state.served.keys().cloned().collect();
                (state.needs_person.clone(), state.written_at.clone(), served)
            })
            .unwrap_or_default();
        disk.registry
            .iter()
            .filter(|(_, source)| settings.endpoint(&source.endpoint).is_some())
            .filter_map(|(name, source)| {
                Some(Tracked {
                    profile: name.clone(),
                    endpoint: source.endpoint.clone(),
                    expiration: *disk.expirations.get(name)?,
                    // A served profile is renewed ahead, so no SDK waits for a sign-in.
                    kept: source.keep_refreshed
                        || *name == settings.preferences.active_profile
                        || served.contains(name),
                    needs_person: needs_person.contains(&source.endpoint),
                    written_at: written_at.get(name).copied(),
                })
            })
            .collect()
    }
}

/// Whether an endpoint whose renewal last failed at `failed_at` is tried again at `now`.
pub(super) fn retry_due(failed_at: Option<&Instant>, now: Instant) -> bool {
    failed_at.is_none_or(|at| now.duration_since(*at) >= RETRY_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::monotonic;

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_is_tried_again_after_a_minute() {
        assert!(retry_due(None, monotonic()), "nothing failed: due");
        let failed = monotonic();
        tokio::time::advance(std::time::Duration::from_secs(59)).await;
        assert!(!retry_due(Some(&failed), monotonic()), "59 s: not yet");
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert!(retry_due(Some(&failed), monotonic()), "60 s: again");
    }
}
