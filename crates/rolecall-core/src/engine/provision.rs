//! Roles into profiles: one role, all roles, the console, and the preferences they follow;
//! the rules are [`crate::provision`]'s.

use super::*;
use crate::provision::{self, ProvisionError, Request, Roles};

impl Engine {
    pub(super) async fn use_role(&self, name: &str, role_arn: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let assertion = self.assertion(name).await?;
        let role = granted(&assertion, role_arn)?;
        let profile = settings.preferences.active_profile.clone();
        self.provision(
            &settings,
            &endpoint,
            &assertion,
            Request::new(Roles::One { role, profile }),
        )
        .await?;
        self.remember_use(crate::recent::Used::Role {
            endpoint: name.to_owned(),
            role_arn: role_arn.to_owned(),
        });
        Ok(())
    }

    pub(super) async fn use_chain(&self, name: &str, chain: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let setting = settings
            .chain(chain)
            .cloned()
            .ok_or_else(|| EngineError::NoChain {
                name: chain.to_owned(),
            })?;
        let assertion = self.assertion(name).await?;
        let role = granted(&assertion, &setting.source_role)?;
        let profile = settings.preferences.active_profile.clone();
        self.provision(
            &settings,
            &endpoint,
            &assertion,
            Request::new(Roles::Chain {
                role,
                chain: setting.chain,
                profile,
            }),
        )
        .await?;
        self.remember_use(crate::recent::Used::Chain {
            endpoint: name.to_owned(),
            chain: chain.to_owned(),
        });
        Ok(())
    }

    /// Notes a role or chain just used, for the tray's top. The list only saves the person a
    /// few clicks: when its file cannot be written the role is in use all the same.
    fn remember_use(&self, used: crate::recent::Used) {
        if let Err(err) = crate::recent::remember(&self.shared.config.paths.config_dir, used) {
            tracing::warn!("{err}");
        }
    }

    pub(super) async fn all_roles(&self, name: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let assertion = self.assertion(name).await?;
        self.provision(&settings, &endpoint, &assertion, Request::new(Roles::All))
            .await
            .map(drop)
    }

    /// Renews these profiles of `endpoint` from `assertion`.
    pub(super) async fn write(
        &self,
        settings: &Settings,
        endpoint: &Endpoint,
        assertion: &Arc<Assertion>,
        roles: Vec<(RolePair, String)>,
    ) -> Result<(), EngineError> {
        self.provision(
            settings,
            endpoint,
            assertion,
            Request::new(Roles::Again(roles)),
        )
        .await
        .map(drop)
    }

    /// Provisions `request`; the names of the profiles written.
    pub(super) async fn provision(
        &self,
        settings: &Settings,
        endpoint: &Endpoint,
        assertion: &Arc<Assertion>,
        request: Request,
    ) -> Result<Vec<String>, EngineError> {
        let config = &self.shared.config;
        let files = AwsFiles::from_paths(&config.paths);
        let aliases = known_names(config, settings);
        let ctx = context(
            config,
            &files,
            settings,
            endpoint,
            &aliases,
            self.on_disk().limits,
        );
        let written = provision::provision(&ctx, assertion, request).await?;
        if let Ok(mut state) = self.shared.state.lock() {
            for (profile, _, _) in &written.profiles {
                state.profile_errors.remove(profile);
                state.written_at.insert(profile.clone(), written.at);
            }
            for (profile, _, err) in &written.failed {
                state
                    .profile_errors
                    .insert(profile.clone(), err.to_string());
            }
        }
        match written.failed.into_iter().next() {
            Some((_, _, err)) if written.profiles.is_empty() => Err(EngineError::Sts(err)),
            _ => Ok(written
                .profiles
                .into_iter()
                .map(|(profile, _, _)| profile)
                .collect()),
        }
    }

    /// "Copy sign-in link": the console sign-in URL of `role_arn` from endpoint `name`, made
    /// from its profile's credentials while they last, otherwise from a new session that is
    /// not written anywhere. It signs anyone who has it in to the console for
    /// [`crate::console::SIGNIN_TOKEN_LIFETIME`].
    pub async fn console_url(
        &self,
        name: &str,
        role_arn: &str,
    ) -> Result<crate::secrets::Sensitive<url::Url>, EngineError> {
        Ok(self.console(name, role_arn).await?.url)
    }

    /// "Open console": the sign-in URL and the browser the person chose for the account, for
    /// the shell to hand to [`crate::browser_page::open`].
    pub async fn console(&self, name: &str, role_arn: &str) -> Result<ConsoleLink, EngineError> {
        let config = &self.shared.config;
        let files = AwsFiles::from_paths(&config.paths);
        let (settings, endpoint) = self.endpoint(name)?;
        let aliases = known_names(config, &settings);
        let ctx = context(
            config,
            &files,
            &settings,
            &endpoint,
            &aliases,
            self.on_disk().limits,
        );
        let session = match provision::fresh_console_session(&ctx, role_arn)? {
            Some(session) => session,
            None => {
                let assertion = self.assertion(name).await?;
                let role = granted(&assertion, role_arn)?;
                provision::new_console_session(&ctx, &assertion, &role).await?
            }
        };
        let url = provision::console_url(
            &config.env,
            &endpoint.network(),
            &session,
            config.clock.now(),
        )
        .await?;
        Ok(ConsoleLink {
            url,
            browser: session.browser,
        })
    }

    pub(super) fn edit_preferences(
        &self,
        change: impl FnOnce(&mut crate::settings::Preferences),
    ) -> Result<(), EngineError> {
        crate::endpoints::update_settings(&self.shared.config.paths, |settings| {
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

/// A console to open: where, and in which browser.
#[derive(Debug)]
pub struct ConsoleLink {
    /// The federation sign-in URL (a 15-minute secret).
    pub url: crate::secrets::Sensitive<url::Url>,
    /// The person's browser command for the account; `None` for the desktop's default.
    pub browser: Option<crate::browser_command::ConsoleBrowser>,
}

pub(super) fn granted(assertion: &Assertion, role_arn: &str) -> Result<RolePair, EngineError> {
    assertion
        .roles
        .iter()
        .find(|role| role.role_arn == role_arn)
        .cloned()
        .ok_or_else(|| EngineError::NoRole {
            role: role_arn.to_owned(),
        })
}

/// The account names profile names and browser commands use: the cached aliases, then the
/// person's `[preferences.account_names]`.
fn known_names(config: &EngineConfig, settings: &Settings) -> crate::accounts::Aliases {
    let cache = AliasCache::load_or_empty(&config.paths.config_dir);
    crate::accounts::AccountNames::known(&cache, &settings.preferences.account_names).to_aliases()
}

fn context<'a>(
    config: &'a EngineConfig,
    files: &'a AwsFiles,
    settings: &'a Settings,
    endpoint: &'a Endpoint,
    aliases: &'a crate::accounts::Aliases,
    limits: Arc<Mutex<SessionLimits>>,
) -> provision::Context<'a> {
    provision::Context {
        env: &config.env,
        files,
        config_dir: &config.paths.config_dir,
        clock: config.clock.as_ref(),
        preferences: &settings.preferences,
        endpoint,
        aliases,
        limits,
    }
}

impl From<ProvisionError> for EngineError {
    fn from(err: ProvisionError) -> Self {
        match err {
            ProvisionError::Sts(err) => Self::Sts(err),
            ProvisionError::Files(err) => Self::Files(err),
            ProvisionError::Store(err) => Self::Store(err),
            ProvisionError::Chain(problem) => Self::Chain(problem),
        }
    }
}
