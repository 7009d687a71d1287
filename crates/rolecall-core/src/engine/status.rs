//! The snapshot the front ends render.

use super::*;

impl Engine {
    /// Builds and publishes a new snapshot.
    pub(super) fn publish(&self) {
        let config = &self.shared.config;
        let now = config.clock.now();
        let mut problems = Vec::new();
        let settings = self.settings().unwrap_or_else(|err| {
            problems.push(err.to_string());
            Settings::default()
        });
        let registry = Registry::load(&config.paths.config_dir)
            .map(|registry| registry.all().clone())
            .unwrap_or_else(|err| {
                problems.push(err.to_string());
                BTreeMap::new()
            });
        problems.extend(
            [
                AliasCache::load(&config.paths.config_dir).err(),
                SessionLimits::load(&config.paths.config_dir).err(),
            ]
            .into_iter()
            .flatten()
            .map(|err| err.to_string()),
        );
        let files = AwsFiles::from_paths(&config.paths);
        let Ok(state) = self.shared.state.lock() else {
            return;
        };
        let active = settings.preferences.active_profile.clone();
        let profiles: Vec<ProfileStatus> = registry
            .iter()
            // Profiles from endpoints given only on the command line are renewed there.
            .filter(|(_, source)| settings.endpoint(&source.endpoint).is_some())
            .map(|(name, source)| ProfileStatus {
                name: name.clone(),
                endpoint: source.endpoint.clone(),
                role_arn: source.role_arn.clone(),
                expiration: files
                    .read_credentials(name)
                    .ok()
                    .flatten()
                    .and_then(|stored| stored.expiration),
                active: *name == active,
                keep_refreshed: source.keep_refreshed,
                last_error: state.profile_errors.get(name).map(|error| shown(error)),
            })
            .collect();
        let endpoints: Vec<EndpointStatus> = settings
            .endpoints
            .iter()
            .map(|endpoint| EndpointStatus {
                name: endpoint.name.clone(),
                phase: state
                    .phases
                    .get(&endpoint.name)
                    .map_or(Phase::SignedOut, shown_phase),
                accounts: state
                    .accounts
                    .get(&endpoint.name)
                    .map(|accounts| accounts.iter().map(shown_account).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let lead = time::Duration::minutes(i64::from(settings.preferences.notify_lead_minutes));
        let overall = if endpoints.iter().any(|e| e.phase == Phase::Working) {
            Overall::Working
        } else {
            match profiles
                .iter()
                .find(|profile| profile.active)
                .and_then(|profile| profile.expiration)
            {
                None => Overall::SignedOut,
                Some(expiration) if expiration <= now => Overall::Expired,
                Some(expiration) if expiration - now <= lead => Overall::Expiring,
                Some(_) => Overall::Valid,
            }
        };
        drop(state);
        self.shared.status.send_replace(Status {
            endpoints,
            profiles,
            active_profile: active,
            favourites: settings.preferences.favourites.clone(),
            overall,
            problems: problems.iter().map(|problem| shown(problem)).collect(),
        });
    }
}

/// The snapshot's free text comes from outside (the IdP's messages and session names, aliases
/// from AWS's sign-in page, errors quoting them): every front end gets it without the controls
/// that would hide, reorder or colour what it shows.
fn shown(text: &str) -> String {
    crate::untrusted::for_terminal(text).into_owned()
}

fn shown_phase(phase: &Phase) -> Phase {
    match phase {
        Phase::SignedOut => Phase::SignedOut,
        Phase::Working => Phase::Working,
        Phase::SignedIn { session_name } => Phase::SignedIn {
            session_name: shown(session_name),
        },
        Phase::NeedsPerson { url, reason } => Phase::NeedsPerson {
            url: url.clone(),
            reason: shown(reason),
        },
        Phase::Failed { message } => Phase::Failed {
            message: shown(message),
        },
    }
}

fn shown_account(account: &Account) -> Account {
    Account {
        id: account.id.clone(),
        alias: account.alias.as_deref().map(shown),
        roles: account.roles.clone(),
    }
}
