//! The settings window's few commands. Each is one call into the core; errors cross as
//! `{code, message}`: the window shows the message and branches on the code only.

use std::path::PathBuf;
use std::sync::Arc;

use rolecall_core::engine::{Action, Engine, Phase};
use rolecall_core::refused_passwords::RefusedPasswords;
use rolecall_core::secrets::{SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Preferences, Settings, SignInMethod};
use serde::{Deserialize, Serialize};
use tauri::State;

/// What the settings window needs: the engine, whose folders and keyring it edits.
pub struct SettingsWindow {
    pub engine: Engine,
}

#[derive(Debug, Serialize)]
pub struct CommandError {
    /// `rejected` (the input; the message says what to fix), `keyring`, `sign_in`, `internal`.
    code: &'static str,
    message: String,
}

impl CommandError {
    fn new(code: &'static str, message: impl ToString) -> Self {
        Self {
            code,
            message: message.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EndpointView {
    name: String,
    url: String,
    method: SignInMethod,
    username: Option<String>,
    ca_file: Option<PathBuf>,
    has_password: bool,
    /// The IdP refused the stored password: no sign-in tries it again until a new one is saved.
    password_refused: bool,
    /// The IdP's Issuer pinned by the first sign-in in the window.
    issuer: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SettingsView {
    endpoints: Vec<EndpointView>,
    preferences: Preferences,
    config_dir: PathBuf,
    credentials_file: PathBuf,
    /// A free name to use instead of the active profile, which holds keys Rolecall did not
    /// write.
    proposed_profile: Option<String>,
    /// Set in the demo: the sentence saying so and where its files are.
    demo: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EndpointForm {
    name: String,
    url: String,
    method: String,
    username: Option<String>,
    ca_file: Option<String>,
    /// A new password; `None` keeps the stored one, an empty string forgets it.
    password: Option<Sensitive<String>>,
    /// Forget the pinned Issuer: the next sign-in in the window pins its own.
    #[serde(default)]
    forget_issuer: bool,
}

#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    active_profile: String,
    profile_template: String,
    session_duration_secs: u32,
    refresh_lead_minutes: u32,
    notify_lead_minutes: u32,
    default_region: Option<String>,
    default_output: Option<String>,
}

fn secrets(engine: &Engine) -> Arc<dyn SecretStore> {
    Arc::clone(&engine.config().secrets)
}

fn load(engine: &Engine) -> Result<Settings, CommandError> {
    Settings::load(&engine.config().paths).map_err(|err| CommandError::new("rejected", err))
}

async fn view(engine: &Engine) -> Result<SettingsView, CommandError> {
    let settings = load(engine)?;
    let store = secrets(engine);
    let names: Vec<String> = settings.endpoints.iter().map(|e| e.name.clone()).collect();
    // Keyring calls block (D-Bus, Keychain prompts).
    let has_password = tokio::task::spawn_blocking(move || {
        names
            .iter()
            .map(|name| matches!(store.get(name, SecretKind::Password), Ok(Some(_))))
            .collect::<Vec<bool>>()
    })
    .await
    .map_err(|err| CommandError::new("internal", err))?;
    let paths = &engine.config().paths;
    let refused = RefusedPasswords::new(&paths.config_dir);
    Ok(SettingsView {
        endpoints: settings
            .endpoints
            .iter()
            .zip(has_password)
            .map(|(endpoint, has_password)| EndpointView {
                name: endpoint.name.clone(),
                url: endpoint.url.to_string(),
                method: endpoint.method,
                username: endpoint.username.clone(),
                ca_file: endpoint.ca_file.clone(),
                has_password,
                password_refused: refused.is_refused(&endpoint.name),
                issuer: endpoint.issuer.clone(),
            })
            .collect(),
        preferences: settings.preferences.clone(),
        config_dir: paths.config_dir.clone(),
        credentials_file: paths.aws_credentials_file.clone(),
        proposed_profile: rolecall_core::profiles::proposed_active_profile(
            paths,
            &settings.preferences.active_profile,
        ),
        demo: None,
    })
}

#[tauri::command]
pub async fn settings_view(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
) -> Result<SettingsView, CommandError> {
    use tauri::Manager as _;
    let mut view = view(&state.engine).await?;
    view.demo = app
        .try_state::<crate::demo::Demo>()
        .map(|demo| demo.label());
    Ok(view)
}

/// Adds an endpoint (`original` is `None`) or changes one, and its password.
#[tauri::command]
pub async fn save_endpoint(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
    original: Option<String>,
    form: EndpointForm,
) -> Result<SettingsView, CommandError> {
    let engine = &state.engine;
    let method = SignInMethod::from_name(&form.method).ok_or_else(|| {
        CommandError::new(
            "rejected",
            format!("\"{}\" is not a sign-in method.", form.method),
        )
    })?;
    let mut endpoint = Endpoint::new(form.name.trim(), &form.url)
        .map_err(|err| CommandError::new("rejected", err))?;
    endpoint.method = method;
    endpoint.username = form.username.filter(|user| !user.trim().is_empty());
    endpoint.ca_file = form
        .ca_file
        .filter(|path| !path.trim().is_empty())
        .map(PathBuf::from);
    let forget_issuer = form.forget_issuer;
    Settings::update(&engine.config().paths, |settings| {
        let mut endpoint = endpoint.clone();
        if let Some(previous) = original.as_deref().and_then(|name| settings.endpoint(name)) {
            // The window does not edit the trusted hosts: keep the ones the file lists.
            endpoint.trusted_hosts = previous.trusted_hosts.clone();
            // The pin stays with the endpoint through an edit of the same IdP, unless the
            // person forgets it.
            endpoint.keep_issuer_of(previous, forget_issuer);
        }
        match &original {
            Some(name) => settings.update_endpoint(name, endpoint),
            None => settings.add_endpoint(endpoint),
        }
    })
    .map_err(|err| CommandError::new("rejected", err))?;
    let store = secrets(engine);
    let name = endpoint.name.clone();
    let renamed_from = original.filter(|old| *old != name);
    if let Some(old) = &renamed_from {
        crate::signin_window::rename(&app, old, &name)
            .await
            .map_err(|err| CommandError::new("internal", err))?;
    }
    let password = form.password;
    let refused = RefusedPasswords::new(&engine.config().paths.config_dir);
    tokio::task::spawn_blocking(move || {
        if let Some(old) = renamed_from {
            store.rename_endpoint(&old, &name)?;
            if let Err(err) = refused.rename(&old, &name) {
                tracing::warn!("could not move the refused-password note of {old:?}: {err}");
            }
        }
        let changed = match password {
            None => return Ok(()),
            Some(password) if password.expose().is_empty() => {
                store.delete(&name, SecretKind::Password)
            }
            Some(password) => store.set(&name, SecretKind::Password, &password),
        };
        // The person entered the password again: background sign-ins may use it.
        if changed.is_ok()
            && let Err(err) = refused.clear(&name)
        {
            tracing::warn!("could not forget that the old password of {name:?} was refused: {err}");
        }
        changed
    })
    .await
    .map_err(|err| CommandError::new("internal", err))?
    .map_err(|err| CommandError::new("keyring", err))?;
    engine.refresh_status();
    view(engine).await
}

#[tauri::command]
pub async fn remove_endpoint(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
    name: String,
) -> Result<SettingsView, CommandError> {
    let engine = &state.engine;
    Settings::update(&engine.config().paths, |settings| {
        settings.remove_endpoint(&name).map(drop)
    })
    .map_err(|err| CommandError::new("rejected", err))?;
    // The IdP's cookies and the cache of its sign-in window go with it.
    crate::signin_window::forget(&app, &name, crate::signin_window::Forget::Everything)
        .await
        .map_err(|err| CommandError::new("internal", err))?;
    let store = secrets(engine);
    let refused = RefusedPasswords::new(&engine.config().paths.config_dir);
    tokio::task::spawn_blocking(move || {
        let _ = refused.clear(&name);
        store.forget_endpoint(&name)
    })
    .await
    .map_err(|err| CommandError::new("internal", err))?
    .map_err(|err| CommandError::new("keyring", err))?;
    engine.refresh_status();
    view(engine).await
}

/// Signs in to the endpoint and says how many roles it found.
#[tauri::command]
pub async fn test_endpoint(
    state: State<'_, SettingsWindow>,
    name: String,
) -> Result<String, CommandError> {
    let engine = &state.engine;
    engine
        .act(Action::SignIn {
            endpoint: name.clone(),
        })
        .await
        .map_err(|err| CommandError::new("sign_in", err))?;
    let status = engine.status();
    let Some(endpoint) = status.endpoints.iter().find(|e| e.name == name) else {
        return Err(CommandError::new("internal", "the endpoint vanished"));
    };
    let roles: usize = endpoint.accounts.iter().map(|a| a.roles.len()).sum();
    Ok(match &endpoint.phase {
        Phase::SignedIn { session_name } => format!(
            "Signed in as {session_name}: {roles} role{} in {} account{}.",
            if roles == 1 { "" } else { "s" },
            endpoint.accounts.len(),
            if endpoint.accounts.len() == 1 {
                ""
            } else {
                "s"
            },
        ),
        _ => "The sign-in did not finish.".to_owned(),
    })
}

#[tauri::command]
pub async fn save_preferences(
    state: State<'_, SettingsWindow>,
    form: PreferencesForm,
) -> Result<SettingsView, CommandError> {
    let engine = &state.engine;
    let blank_to_none = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    Settings::update(&engine.config().paths, |settings| {
        settings.preferences = Preferences {
            active_profile: form.active_profile.trim().to_owned(),
            profile_template: form.profile_template.trim().to_owned(),
            session_duration_secs: form.session_duration_secs,
            refresh_lead_minutes: form.refresh_lead_minutes,
            notify_lead_minutes: form.notify_lead_minutes,
            default_region: blank_to_none(form.default_region),
            default_output: blank_to_none(form.default_output),
            // Chosen from the roles list, not this form.
            favourites: settings.preferences.favourites.clone(),
            regions: settings.preferences.regions.clone(),
        };
        Ok(())
    })
    .map_err(|err| CommandError::new("rejected", err))?;
    engine.refresh_status();
    view(engine).await
}

#[derive(Debug, Serialize)]
pub struct RoleRow {
    endpoint: String,
    account_id: String,
    account: String,
    role: String,
    role_arn: String,
    favourite: bool,
    /// The account's own region setting, if any.
    account_region: Option<String>,
}

/// Every role of the endpoints signed in to, for the window's searchable list.
#[tauri::command]
pub async fn roles_view(state: State<'_, SettingsWindow>) -> Result<Vec<RoleRow>, CommandError> {
    let engine = &state.engine;
    let settings = load(engine)?;
    let status = engine.status();
    let mut rows = Vec::new();
    for endpoint in &status.endpoints {
        for account in &endpoint.accounts {
            for role in &account.roles {
                rows.push(RoleRow {
                    endpoint: endpoint.name.clone(),
                    account_id: account.id.clone(),
                    account: account.label(),
                    role: role.role_name().to_owned(),
                    role_arn: role.role_arn.clone(),
                    favourite: settings.preferences.is_favourite(&role.role_arn),
                    account_region: settings.preferences.regions.get(&account.id).cloned(),
                });
            }
        }
    }
    Ok(rows)
}

#[tauri::command]
pub async fn set_favourite(
    state: State<'_, SettingsWindow>,
    role_arn: String,
    on: bool,
) -> Result<(), CommandError> {
    state
        .engine
        .act(Action::Favourite { role_arn, on })
        .await
        .map_err(|err| CommandError::new("rejected", err))
}

/// The region of an account's profiles; an empty region goes back to the default.
#[tauri::command]
pub async fn set_region(
    state: State<'_, SettingsWindow>,
    account_id: String,
    region: String,
) -> Result<(), CommandError> {
    let region = Some(region.trim().to_owned()).filter(|region| !region.is_empty());
    state
        .engine
        .act(Action::Region {
            key: account_id,
            region,
        })
        .await
        .map_err(|err| CommandError::new("rejected", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_form_never_prints_its_password() {
        let form: EndpointForm = serde_json::from_value(serde_json::json!({
            "name": "corp",
            "url": "https://sts.corp.example",
            "method": "forms",
            "username": "alice",
            "ca_file": null,
            "password": "hunter2",
        }))
        .unwrap();
        let printed = format!("{form:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    /// The window tells which stored passwords the IdP refused, so the person enters them again.
    #[test]
    fn the_view_shows_a_stored_password_the_idp_refused() {
        use rolecall_core::engine::{EngineConfig, SystemClock};
        use rolecall_core::paths::{AppPaths, Environment, Platform};
        use rolecall_core::secrets::MemoryStore;

        let dir = tempfile::tempdir().unwrap();
        let env = Environment::new(Platform::current())
            .with("HOME", dir.path().to_string_lossy())
            .with(
                "ROLECALL_CONFIG_DIR",
                dir.path().join("config").to_string_lossy(),
            );
        let paths = AppPaths::resolve(&env).unwrap();
        let mut settings = Settings::default();
        for name in ["corp", "lab"] {
            let endpoint = Endpoint::new(name, "https://sts.corp.example").unwrap();
            settings.add_endpoint(endpoint).unwrap();
        }
        settings.save(&paths).unwrap();
        let secrets = Arc::new(MemoryStore::new());
        for name in ["corp", "lab"] {
            secrets
                .set(
                    name,
                    SecretKind::Password,
                    &Sensitive::new("old".to_owned()),
                )
                .unwrap();
        }
        RefusedPasswords::new(&paths.config_dir)
            .mark("corp")
            .unwrap();
        let (engine, _notices) = Engine::new(EngineConfig {
            paths,
            env,
            secrets,
            clock: Arc::new(SystemClock),
        });

        let view = tauri::async_runtime::block_on(view(&engine)).unwrap();
        let shown: Vec<(&str, bool, bool)> = view
            .endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.has_password, e.password_refused))
            .collect();
        assert_eq!(shown, [("corp", true, true), ("lab", true, false)]);
    }
}
