//! Endpoint and preference changes as actions: [`crate::endpoints`] does them, off the async
//! workers; the engine then carries what it remembers of the endpoint to its new name, or
//! forgets it.

use super::*;
use crate::endpoints::{self, EndpointError, EndpointSave, PreferencesPatch, Saved, SettingsView};

impl Engine {
    pub(super) async fn save_endpoint(&self, request: EndpointSave) -> Result<(), EngineError> {
        let edited = matches!(request, EndpointSave::Edit(_));
        let Saved {
            name, renamed_from, ..
        } = self
            .off_the_workers(move |paths, secrets| endpoints::save(paths, secrets, request))
            .await?;
        if edited && let Ok(mut state) = self.shared.state.lock() {
            let old = renamed_from.as_deref().unwrap_or(&name);
            // The edit may point the endpoint at another IdP or person, and may be what fixes
            // a failing renewal: the next one starts afresh.
            state.assertions.remove(old);
            state.failed_at.remove(old);
            state.needs_person.remove(old);
            if let Some(old) = &renamed_from {
                if let Some(phase) = state.phases.remove(old) {
                    state.phases.insert(name.clone(), phase);
                }
                if let Some(accounts) = state.accounts.remove(old) {
                    state.accounts.insert(name.clone(), accounts);
                }
                if let Some(offered) = state.claims_providers.remove(old) {
                    state.claims_providers.insert(name.clone(), offered);
                }
            }
        }
        Ok(())
    }

    pub(super) async fn remove_endpoint(&self, name: &str) -> Result<(), EngineError> {
        let owned = name.to_owned();
        let removed = self
            .off_the_workers(move |paths, secrets| endpoints::remove(paths, secrets, &owned))
            .await;
        // Even when a clean-up failed, the endpoint is gone from the settings.
        if !matches!(&removed, Err(err) if err.is_invalid_input())
            && let Ok(mut state) = self.shared.state.lock()
        {
            state.phases.remove(name);
            state.accounts.remove(name);
            state.claims_providers.remove(name);
            state.assertions.remove(name);
            state.failed_at.remove(name);
            state.needs_person.remove(name);
        }
        tracing::info!("{}", removed?);
        Ok(())
    }

    pub(super) async fn set_preferences(&self, patch: PreferencesPatch) -> Result<(), EngineError> {
        self.off_the_workers(move |paths, _| endpoints::set_preferences(paths, &patch))
            .await?;
        Ok(())
    }

    /// What the settings window shows: the settings, the keyring's passwords and the roles
    /// of the endpoints signed in to.
    pub async fn settings_view(&self) -> Result<SettingsView, EngineError> {
        let status = self.status();
        let problems = status.problems.clone();
        let offered: Vec<(String, Vec<idp::ClaimsProvider>)> = status
            .endpoints
            .iter()
            .map(|endpoint| (endpoint.name.clone(), endpoint.claims_providers.clone()))
            .collect();
        let mut view = self
            .off_the_workers(move |paths, secrets| {
                endpoints::view(
                    paths,
                    secrets,
                    status
                        .endpoints
                        .iter()
                        .map(|endpoint| (endpoint.name.as_str(), endpoint.accounts.as_slice())),
                )
            })
            .await?;
        view.problems = problems;
        for endpoint in &mut view.endpoints {
            if let Some((_, seen)) = offered.iter().find(|(name, _)| *name == endpoint.name) {
                endpoint.claims_providers_offered.clone_from(seen);
            }
        }
        Ok(view)
    }

    /// Runs `work` where it may block (keyring calls, file locks).
    async fn off_the_workers<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AppPaths, &dyn SecretStore) -> Result<T, EndpointError> + Send + 'static,
    ) -> Result<T, EndpointError> {
        let config = self.shared.config.clone();
        tokio::task::spawn_blocking(move || work(&config.paths, config.secrets.as_ref()))
            .await
            .map_err(|err| EndpointError::Stopped {
                detail: err.to_string(),
            })?
    }
}
