//! The snapshot the front ends render.

use super::*;

impl Status {
    /// Where the sign-in window opens for `endpoint`: the IdP's page the engine says needs the
    /// person ([`Phase::NeedsPerson`]), if it says so.
    pub fn page_for(&self, endpoint: &str) -> Option<url::Url> {
        self.endpoints
            .iter()
            .find(|status| status.name == endpoint)
            .and_then(|status| match &status.phase {
                Phase::NeedsPerson { url, .. } => url::Url::parse(url).ok(),
                _ => None,
            })
    }
}

impl Engine {
    /// Builds and publishes a new snapshot. The files are looked at (and read only where they
    /// changed) before the state is locked.
    pub(super) fn publish(&self) {
        let disk = self.on_disk();
        let now = self.shared.config.clock.now();
        let Ok(state) = self.shared.state.lock() else {
            return;
        };
        let status = build(&disk, &state, now);
        drop(state);
        // Subscribers (the tray) wake only for a snapshot that differs.
        self.shared.status.send_if_modified(|current| {
            let changed = *current != status;
            if changed {
                *current = status;
            }
            changed
        });
    }
}

/// The snapshot of what the files hold and what the engine is doing, at `now`.
pub(super) fn build(disk: &OnDisk, state: &State, now: OffsetDateTime) -> Status {
    let no_settings = Settings::default();
    let settings = disk.settings.as_deref().unwrap_or(&no_settings);
    let active = settings.preferences.active_profile.clone();
    let profiles: Vec<ProfileStatus> = disk
        .registry
        .iter()
        // Profiles from endpoints given only on the command line are renewed there.
        .filter(|(_, source)| settings.endpoint(&source.endpoint).is_some())
        .map(|(name, source)| ProfileStatus {
            name: name.clone(),
            endpoint: source.endpoint.clone(),
            role_arn: source.role_arn.clone(),
            expiration: disk.expirations.get(name).copied(),
            active: *name == active,
            keep_refreshed: source.keep_refreshed,
            last_error: state.profile_errors.get(name).map(|error| shown(error)),
            chain: source
                .chain
                .as_ref()
                .map(|chain| chain.roles.clone())
                .unwrap_or_default(),
            containers: state.served.get(name).map(|endpoint| ContainerService {
                url: endpoint.url().to_owned(),
                token: endpoint.token().clone(),
            }),
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
            claims_providers: state
                .claims_providers
                .get(&endpoint.name)
                .map(|offered| offered.iter().map(shown_provider).collect())
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
    Status {
        endpoints,
        profiles,
        active_profile: active,
        favourites: settings.preferences.favourites.clone(),
        recent: disk.recent.to_vec(),
        chains: settings
            .chains
            .iter()
            .map(|chain| ChainStatus {
                name: chain.name.clone(),
                endpoint: chain.endpoint.clone(),
                source_role: chain.source_role.clone(),
                roles: chain.chain.roles.clone(),
            })
            .collect(),
        overall,
        problems: disk.problems.iter().map(|problem| shown(problem)).collect(),
        files_revision: disk.revision,
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

fn shown_provider(provider: &idp::ClaimsProvider) -> idp::ClaimsProvider {
    idp::ClaimsProvider {
        id: shown(&provider.id),
        name: shown(&provider.name),
    }
}

fn shown_account(account: &Account) -> Account {
    Account {
        id: account.id.clone(),
        alias: account.alias.as_deref().map(shown),
        alias_source: account.alias_source,
        roles: account.roles.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_opens_where_the_engine_needs_the_person() {
        let endpoint = |name: &str, phase: Phase| EndpointStatus {
            name: name.to_owned(),
            phase,
            accounts: Vec::new(),
            claims_providers: Vec::new(),
        };
        let status = Status {
            endpoints: vec![
                endpoint("lab", Phase::SignedOut),
                endpoint(
                    "corp",
                    Phase::NeedsPerson {
                        url: "https://sts.corp.example/adfs/ls/".to_owned(),
                        reason: "MFA".to_owned(),
                    },
                ),
            ],
            profiles: Vec::new(),
            active_profile: "default".to_owned(),
            favourites: Vec::new(),
            recent: Vec::new(),
            chains: Vec::new(),
            overall: Overall::SignedOut,
            problems: Vec::new(),
            files_revision: 0,
        };
        assert_eq!(
            status.page_for("corp"),
            Some(url::Url::parse("https://sts.corp.example/adfs/ls/").unwrap())
        );
        assert_eq!(status.page_for("lab"), None, "signed out: nothing to open");
        assert_eq!(status.page_for("gone"), None);
    }

    use crate::registry::ProfileSource;
    use crate::saml::RolePair;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);

    fn disk(expiration: Option<OffsetDateTime>) -> OnDisk {
        let corp = Endpoint::new("corp", "https://sts.corp.example/adfs/ls/").unwrap();
        let mut settings = Settings::default();
        settings.add_endpoint(corp.clone()).unwrap();
        settings.preferences.active_profile = "default".to_owned();
        let role = RolePair {
            role_arn: "arn:aws:iam::111122223333:role/Admin".to_owned(),
            principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
        };
        let mut registry = BTreeMap::new();
        registry.insert("default".to_owned(), ProfileSource::new(&corp, &role, None));
        OnDisk {
            settings: Some(Arc::new(settings)),
            registry: Arc::new(registry),
            expirations: Arc::new(
                expiration
                    .map(|at| ("default".to_owned(), at))
                    .into_iter()
                    .collect(),
            ),
            problems: vec!["The CA file of endpoint \"corp\" is gone.\u{1b}[31m".to_owned()],
            ..OnDisk::default()
        }
    }

    #[test]
    fn the_icon_follows_the_active_profiles_expiry() {
        let state = State::default();
        for (expiration, overall) in [
            (None, Overall::SignedOut),
            (Some(NOW - time::Duration::seconds(1)), Overall::Expired),
            (Some(NOW + time::Duration::minutes(5)), Overall::Expiring),
            (Some(NOW + time::Duration::hours(1)), Overall::Valid),
        ] {
            let status = build(&disk(expiration), &state, NOW);
            assert_eq!(status.overall, overall, "{expiration:?}");
        }
    }

    #[test]
    fn endpoints_profiles_phases_and_problems_are_all_in_the_snapshot() {
        let mut state = State::default();
        state.phases.insert("corp".to_owned(), Phase::Working);
        state
            .profile_errors
            .insert("default".to_owned(), "STS said no".to_owned());
        let status = build(&disk(Some(NOW + time::Duration::hours(1))), &state, NOW);
        assert_eq!(status.endpoints.len(), 1);
        assert_eq!(status.endpoints[0].phase, Phase::Working);
        assert_eq!(status.overall, Overall::Working, "work shows first");
        assert_eq!(status.profiles.len(), 1);
        assert!(status.profiles[0].active);
        assert_eq!(
            status.profiles[0].last_error.as_deref(),
            Some("STS said no")
        );
        assert_eq!(status.problems.len(), 1);
        assert!(
            !status.problems[0].contains('\u{1b}'),
            "problems are shown without controls: {:?}",
            status.problems
        );
    }

    #[test]
    fn without_settings_nothing_is_listed_but_the_problem() {
        let mut disk = disk(None);
        disk.settings = None;
        let status = build(&disk, &State::default(), NOW);
        assert!(status.endpoints.is_empty() && status.profiles.is_empty());
        assert_eq!(status.problems.len(), 1);
    }
}
