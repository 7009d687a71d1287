//! The background renewal: what is due, one sign-in per endpoint, what failed.

use super::*;

impl Engine {
    /// Renews what the plan says is due (everything kept, when `all`), gives the warnings
    /// that are due, and says when to look again.
    pub(super) async fn renew_due(&self, all: bool) -> (OffsetDateTime, bool) {
        let now = self.shared.config.clock.now();
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
            plan.renew.retain(|endpoint, _| {
                state
                    .failed_at
                    .get(endpoint)
                    .is_none_or(|at| at.elapsed() >= RETRY_AFTER)
            });
        }
        let renewed = !plan.renew.is_empty();
        for (endpoint, names) in &plan.renew {
            self.renew_endpoint(&settings, endpoint, names).await;
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

    /// One sign-in for all of an endpoint's due profiles.
    pub(super) async fn renew_endpoint(&self, settings: &Settings, name: &str, names: &[String]) {
        let registry = Registry::load(&self.shared.config.paths.config_dir);
        let result = match (
            registry,
            self.assertion(name).await,
            settings.endpoint(name),
        ) {
            (Ok(registry), Ok(assertion), Some(endpoint)) => {
                let roles: Vec<(RolePair, String)> = names
                    .iter()
                    .filter_map(|profile| Some((registry.get(profile)?.role(), profile.clone())))
                    .collect();
                self.write(settings, endpoint, &assertion, roles).await
            }
            (Err(err), _, _) => Err(err.into()),
            (_, Err(err), _) => Err(err),
            (_, _, None) => Err(EngineError::NoEndpoint {
                name: name.to_owned(),
            }),
        };
        if let Err(err) = result {
            if matches!(err, EngineError::NeedsPerson { .. })
                && let Some(url) = self.needs_person_url(name)
            {
                if let Ok(mut state) = self.shared.state.lock() {
                    state
                        .failed_at
                        .insert(name.to_owned(), crate::clock::monotonic());
                    state.needs_person.insert(name.to_owned());
                }
                let _ = self.shared.notices.send(Notice::TrySilently {
                    endpoint: name.to_owned(),
                    url,
                });
                return;
            }
            let needs_person = matches!(
                err,
                EngineError::NeedsPerson { .. } | EngineError::PasswordRefused(_)
            ) || matches!(&err, EngineError::SignIn(sign_in) if matches!(
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
    }

    /// Where the endpoint's sign-in wants the person, when it does.
    pub(super) fn needs_person_url(&self, name: &str) -> Option<String> {
        let state = self.shared.state.lock().ok()?;
        match state.phases.get(name)? {
            Phase::NeedsPerson { url, .. } => Some(url.clone()),
            _ => None,
        }
    }

    /// The registry's profiles that still have credentials in the file.
    pub(super) fn tracked(&self, settings: &Settings) -> Vec<Tracked> {
        let config = &self.shared.config;
        let Ok(registry) = Registry::load(&config.paths.config_dir) else {
            // Shown in the status; nothing can be renewed without knowing where it came from.
            return Vec::new();
        };
        let files = AwsFiles::from_paths(&config.paths);
        let (needs_person, written_at) = self
            .shared
            .state
            .lock()
            .map(|state| (state.needs_person.clone(), state.written_at.clone()))
            .unwrap_or_default();
        registry
            .all()
            .iter()
            .filter(|(_, source)| settings.endpoint(&source.endpoint).is_some())
            .filter_map(|(name, source)| {
                let stored = files.read_credentials(name).ok().flatten()?;
                Some(Tracked {
                    profile: name.clone(),
                    endpoint: source.endpoint.clone(),
                    expiration: stored.expiration?,
                    kept: source.keep_refreshed || *name == settings.preferences.active_profile,
                    needs_person: needs_person.contains(&source.endpoint),
                    written_at: written_at.get(name).copied(),
                })
            })
            .collect()
    }
}
