//! Roles into profiles: one role, all roles, the console, and the preferences they follow.

use super::*;

impl Engine {
    pub(super) async fn use_role(&self, name: &str, role_arn: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let assertion = self.assertion(name).await?;
        let role = assertion
            .roles
            .iter()
            .find(|role| role.role_arn == role_arn)
            .cloned()
            .ok_or_else(|| EngineError::NoRole {
                role: role_arn.to_owned(),
            })?;
        let profile = settings.preferences.active_profile.clone();
        self.write(&settings, &endpoint, &assertion, vec![(role, profile)])
            .await
    }

    pub(super) async fn all_roles(&self, name: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let assertion = self.assertion(name).await?;
        let config = &self.shared.config;
        let aliases = AliasCache::load_or_empty(&config.paths.config_dir)
            .all()
            .clone();
        let registry = Registry::load(&config.paths.config_dir)?;
        let foreign = AwsFiles::from_paths(&config.paths)
            .foreign_profiles(|profile| registry.get(profile).is_some())?;
        let named = profiles::assign_names(
            &assertion.roles,
            &settings.preferences.profile_template,
            &aliases,
            name,
            &foreign,
        );
        self.write(&settings, &endpoint, &assertion, named).await
    }

    pub(super) async fn write(
        &self,
        settings: &Settings,
        endpoint: &Endpoint,
        assertion: &Arc<Assertion>,
        roles: Vec<(RolePair, String)>,
    ) -> Result<(), EngineError> {
        let config = &self.shared.config;
        let region = settings.preferences.default_region.clone();
        let sts_region = region
            .clone()
            .or_else(|| assertion.region.clone())
            .unwrap_or_else(|| assertion.partition.default_region().to_owned());
        let network = Network {
            ca_file: endpoint.ca_file.clone(),
            proxy: endpoint.proxy.clone(),
        };
        let sts = Sts::new(&network, &config.env, assertion.partition, &sts_region)?;
        let files = AwsFiles::from_paths(&config.paths);
        let limits = self.on_disk().limits;
        let role_regions = settings
            .preferences
            .role_regions(roles.iter().map(|(role, _)| role));
        let writer = Writer {
            sts: &sts,
            files: &files,
            endpoint,
            region,
            role_regions,
            output: settings.preferences.default_output.clone(),
            setting_secs: settings.preferences.session_duration_secs,
            limits: &limits,
        };
        let mut registry = Registry::load(&config.paths.config_dir)?;
        let written = profiles::assume_and_write(&writer, assertion, roles, &mut registry).await?;
        let now = config.clock.now();
        if let Ok(mut state) = self.shared.state.lock() {
            for (profile, _, _) in &written.profiles {
                state.profile_errors.remove(profile);
                state.written_at.insert(profile.clone(), now);
            }
            for (profile, _, err) in &written.failed {
                state
                    .profile_errors
                    .insert(profile.clone(), err.to_string());
            }
        }
        match written.failed.into_iter().next() {
            Some((_, _, err)) if written.profiles.is_empty() => Err(EngineError::Sts(err)),
            _ => Ok(()),
        }
    }

    /// The console sign-in URL for a role: from its profile's credentials while they last,
    /// otherwise from a new session that is not written anywhere.
    pub async fn console_url(
        &self,
        name: &str,
        role_arn: &str,
    ) -> Result<crate::secrets::Sensitive<url::Url>, EngineError> {
        let config = &self.shared.config;
        let now = config.clock.now();
        let files = AwsFiles::from_paths(&config.paths);
        let registry = Registry::load(&config.paths.config_dir)?;
        let (settings, endpoint) = self.endpoint(name)?;
        let from_profile = registry
            .all()
            .iter()
            .filter(|(_, source)| source.endpoint == name && source.role_arn == role_arn)
            .find_map(|(profile, source)| {
                let stored = files.read_credentials(profile).ok().flatten()?;
                let fresh = stored
                    .expiration
                    .is_some_and(|e| e - now > time::Duration::minutes(5));
                fresh.then(|| (profile.clone(), stored, source.region.clone()))
            });
        let (profile, stored, region) = match from_profile {
            Some(found) => found,
            None => {
                let assertion = self.assertion(name).await?;
                let role = assertion
                    .roles
                    .iter()
                    .find(|role| role.role_arn == role_arn)
                    .cloned()
                    .ok_or_else(|| EngineError::NoRole {
                        role: role_arn.to_owned(),
                    })?;
                let region = settings.preferences.default_region.clone();
                let network = Network {
                    ca_file: endpoint.ca_file.clone(),
                    proxy: endpoint.proxy.clone(),
                };
                let sts_region = region
                    .clone()
                    .unwrap_or_else(|| assertion.partition.default_region().to_owned());
                let sts = Sts::new(&network, &config.env, assertion.partition, &sts_region)?;
                let credentials = sts
                    .assume(
                        &role,
                        &assertion,
                        settings.preferences.session_duration_secs.min(3600),
                    )
                    .await?;
                let stored = crate::aws_files::StoredCredentials {
                    access_key_id: credentials.access_key_id,
                    secret_access_key: credentials.secret_access_key,
                    session_token: Some(credentials.session_token),
                    expiration: Some(credentials.expiration),
                    principal_arn: credentials.principal_arn,
                };
                (role.role_name().to_owned(), stored, region)
            }
        };
        let partition = crate::console::partition_of(&stored, region.as_deref());
        let endpoints = crate::console::Endpoints::for_partition(partition, &config.env)?;
        let client = crate::console::network_of(&endpoint).client(crate::console::USER_AGENT)?;
        let sign_in = crate::console::SignIn {
            credentials: &stored,
            profile: &profile,
            partition,
            region: region.as_deref(),
            session_duration: None,
            now,
        };
        Ok(crate::console::signin_url(&client, &endpoints, &sign_in).await?)
    }

    pub(super) fn edit_preferences(
        &self,
        change: impl FnOnce(&mut crate::settings::Preferences),
    ) -> Result<(), EngineError> {
        Settings::update(&self.shared.config.paths, |settings| {
            change(&mut settings.preferences);
            Ok(())
        })?;
        Ok(())
    }

    pub(super) fn keep_refreshed(&self, profile: &str, on: bool) -> Result<(), EngineError> {
        let mut registry = Registry::load(&self.shared.config.paths.config_dir)?;
        match registry.set_keep_refreshed(profile, on) {
            Ok(true) => Ok(()),
            Ok(false) => Err(EngineError::NoProfile {
                profile: profile.to_owned(),
            }),
            Err(err) => Err(EngineError::Registry {
                detail: err.to_string(),
            }),
        }
    }
}
