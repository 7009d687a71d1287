//! Adding, editing, renaming and removing sign-in endpoints, and changing the preferences: the
//! one way every front end (the settings window through the engine, the command line directly)
//! changes them.
//!
//! An endpoint's name keys more than its entry in `settings.toml`: its password and single
//! sign-on cookies in the keyring, its sign-in window's data folder, the marker of a password
//! the IdP refused, and the records of the profiles it wrote (which say where to renew them).
//! A rename moves all of them, and takes every step back if a later one fails; the settings file
//! is written last, so it never names an endpoint whose secrets are elsewhere. An edit is a
//! patch: what the request does not carry (the proxy, the trusted hosts, the pinned issuer)
//! keeps its value. A removal forgets the secrets, the window data and the marker; the
//! endpoint's profiles stay in the AWS files until they expire, and are no longer renewed.
//!
//! Every function here blocks (keyring calls, file locks): call them from a blocking context.
//! This module never starts a sign-in and never holds a secret longer than the call.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use crate::accounts::{Account, NameSource};
use crate::paths::AppPaths;
use crate::refused_passwords::RefusedPasswords;
use crate::registry::{ProfileSource, Registry};
use crate::secrets::{SecretKind, SecretPlace, SecretStore, SecretsError, Sensitive};
use crate::settings::{
    self, Endpoint, Preferences, Problem, ProxySetting, Settings, SettingsError, SignInMethod,
};
use crate::store::StoreError;
use crate::webview::{self, WebviewError};

/// A new endpoint, as the person typed it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub name: String,
    /// An AD FS host or an IdP-initiated sign-in URL ([`settings::endpoint_url`]).
    pub url: String,
    #[serde(default)]
    pub method: SignInMethod,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Not offered in the settings window: the system's proxy unless the command line says.
    #[serde(skip)]
    pub proxy: ProxySetting,
    #[serde(default)]
    pub trusted_hosts: Vec<String>,
    /// The claims provider to choose when AD FS asks which one; blank for none.
    #[serde(default)]
    pub claims_provider: Option<String>,
    #[serde(default)]
    pub keep_me_signed_in: bool,
    #[serde(default)]
    pub password: PasswordChange,
}

/// Changes to an existing endpoint. A field left out (`None`) keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointEdit {
    /// The endpoint's name before the edit.
    pub name: String,
    /// A new name: the endpoint's secrets, window data and profiles move with it.
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub method: Option<SignInMethod>,
    /// `Some(None)` (or a blank name) clears it.
    #[serde(default, deserialize_with = "present")]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub ca_file: Option<Option<PathBuf>>,
    /// Not offered in the settings window, so it never changes from there.
    #[serde(skip)]
    pub proxy: Option<ProxySetting>,
    #[serde(skip)]
    pub trusted_hosts: Option<Vec<String>>,
    /// Forget the IdP issuer the sign-in window pinned: the next sign-in pins its own.
    #[serde(default)]
    pub forget_issuer: bool,
    /// `Some(None)` (or a blank one) clears it.
    #[serde(default, deserialize_with = "present")]
    pub claims_provider: Option<Option<String>>,
    #[serde(default)]
    pub keep_me_signed_in: Option<bool>,
    #[serde(default)]
    pub password: PasswordChange,
}

/// What to do with the endpoint's stored password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Option<Sensitive<String>>")]
pub enum PasswordChange {
    #[default]
    Keep,
    Set(Sensitive<String>),
    Forget,
}

/// From a form: no password keeps the stored one, an empty one forgets it.
impl From<Option<Sensitive<String>>> for PasswordChange {
    fn from(password: Option<Sensitive<String>>) -> Self {
        match password {
            None => PasswordChange::Keep,
            Some(password) if password.expose().is_empty() => PasswordChange::Forget,
            Some(password) => PasswordChange::Set(password),
        }
    }
}

/// Adding or changing an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndpointSave {
    Add(NewEndpoint),
    Edit(EndpointEdit),
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Saved {
    pub name: String,
    /// The sign-in URL as saved (a bare AD FS host expanded).
    pub url: String,
    /// The endpoint's name before, when the save renamed it.
    pub renamed_from: Option<String>,
    /// The profiles recorded for the endpoint, now under its new name or settings.
    pub profiles: Vec<String>,
}

/// What a removal did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub name: String,
    /// The endpoint's profiles: still in the AWS files, no longer renewed.
    pub profiles: Vec<String>,
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Removed endpoint \"{}\" and forgot its password and sign-in session.",
            self.name
        )?;
        match self.profiles.as_slice() {
            [] => Ok(()),
            [one] => write!(
                f,
                " Its profile \"{one}\" stays in your AWS files until it expires; Rolecall no \
                 longer renews it."
            ),
            many => write!(
                f,
                " Its profiles {} stay in your AWS files until they expire; Rolecall no longer \
                 renews them.",
                many.iter()
                    .map(|name| format!("\"{name}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Adds an endpoint, or changes one.
pub fn save(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    request: EndpointSave,
) -> Result<Saved, EndpointError> {
    match request {
        EndpointSave::Add(new) => add(paths, secrets, new),
        EndpointSave::Edit(edit) => edit_endpoint(paths, secrets, edit),
    }
}

/// Adds an endpoint and stores its password, if one is given.
pub fn add(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    new: NewEndpoint,
) -> Result<Saved, EndpointError> {
    let mut endpoint = Endpoint::new(new.name.trim(), &new.url)?;
    endpoint.method = new.method;
    endpoint.username = filled(new.username);
    endpoint.ca_file = new.ca_file.filter(|path| !path.as_os_str().is_empty());
    endpoint.proxy = new.proxy;
    endpoint.trusted_hosts = new.trusted_hosts.into_iter().map(tidy_host).collect();
    endpoint.claims_provider = filled(new.claims_provider);
    endpoint.keep_me_signed_in = new.keep_me_signed_in;
    let (name, url) = (endpoint.name.clone(), endpoint.url.to_string());
    update_settings(paths, |settings| settings.add_endpoint(endpoint))?;
    change_password(paths, secrets, &name, new.password)?;
    Ok(Saved {
        name,
        url,
        renamed_from: None,
        profiles: Vec::new(),
    })
}

/// Renames an endpoint, with everything keyed by its name.
pub fn rename(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    from: &str,
    to: &str,
) -> Result<Saved, EndpointError> {
    edit_endpoint(
        paths,
        secrets,
        EndpointEdit {
            name: from.to_owned(),
            new_name: Some(to.to_owned()),
            ..EndpointEdit::default()
        },
    )
}

/// Changes an endpoint as `edit` says; a new name moves its secrets, window data, refused
/// password marker and profile records, all or none.
pub fn edit_endpoint(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    edit: EndpointEdit,
) -> Result<Saved, EndpointError> {
    let settings = Settings::load(paths)?;
    let previous = settings
        .endpoint(&edit.name)
        .ok_or_else(|| SettingsError::NoSuchEndpoint {
            name: edit.name.clone(),
        })?;
    let edited = edit.apply(previous)?;
    // Checked before anything moves, so a refused edit changes nothing.
    let mut trial = settings.clone();
    trial.update_endpoint(&edit.name, edited.clone())?;
    trial.validate().map_err(SettingsError::Rejected)?;

    let from = edit.name.as_str();
    let to = edited.name.clone();
    let renamed = from != to;
    let mut undo = Undo::default();
    let moved = (|| {
        if renamed {
            move_secrets(secrets, from, &to)?;
            undo.push(Step::Secrets);
        }
        let mut registry = Registry::load(&paths.config_dir)?;
        let before = registry.follow_endpoint(from, &edited)?;
        let profiles = registry
            .all()
            .iter()
            .filter(|(_, source)| source.endpoint == to)
            .map(|(profile, _)| profile.clone())
            .collect::<Vec<_>>();
        undo.push(Step::Registry(before));
        if renamed {
            let refused = RefusedPasswords::new(&paths.config_dir);
            refused
                .clear(&to)
                .and_then(|()| refused.rename(from, &to))
                .map_err(|err| EndpointError::RefusedMarker {
                    name: from.to_owned(),
                    detail: err.to_string(),
                })?;
            undo.push(Step::RefusedMarker);
            webview::move_data(&paths.config_dir, from, &to)?;
            undo.push(Step::WebviewData);
        }
        // Last: only now does the file name the endpoint by its new name.
        update_settings(paths, |settings| {
            let current = settings
                .endpoint(from)
                .ok_or_else(|| SettingsError::NoSuchEndpoint {
                    name: from.to_owned(),
                })?;
            let endpoint = edit.apply(current)?;
            settings.update_endpoint(from, endpoint)
        })?;
        Ok::<_, EndpointError>(profiles)
    })();
    let profiles = match moved {
        Ok(profiles) => profiles,
        Err(err) => {
            undo.run(paths, secrets, from, &to);
            return Err(err);
        }
    };
    change_password(paths, secrets, &to, edit.password)?;
    Ok(Saved {
        name: to,
        url: edited.url.to_string(),
        renamed_from: renamed.then(|| from.to_owned()),
        profiles,
    })
}

/// Removes an endpoint and forgets its secrets, its window data and its refused password
/// marker. Its profiles stay in the AWS files but are no longer renewed.
pub fn remove(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    name: &str,
) -> Result<Removed, EndpointError> {
    update_settings(paths, |settings| settings.remove_endpoint(name).map(drop))?;
    // The endpoint is gone; what follows cleans up, and says what it could not.
    let mut left = Vec::new();
    if let Err(err) = secrets.forget_endpoint(name) {
        left.push(err.to_string());
    }
    if let Err(err) = RefusedPasswords::new(&paths.config_dir).clear(name) {
        left.push(format!(
            "Rolecall could not forget that the IdP refused its password ({err})."
        ));
    }
    if let Err(err) = webview::delete_data(&paths.config_dir, name) {
        left.push(err.to_string());
    }
    let profiles = Registry::load(&paths.config_dir)
        .and_then(|mut registry| registry.stop_renewing(name))
        .unwrap_or_else(|err| {
            left.push(err.to_string());
            Vec::new()
        });
    if left.is_empty() {
        Ok(Removed {
            name: name.to_owned(),
            profiles,
        })
    } else {
        Err(EndpointError::Leftovers {
            name: name.to_owned(),
            detail: left.join(" "),
        })
    }
}

/// Stores or forgets the endpoint's password. A change means the person entered it again, so
/// the note that the IdP refused the old one goes.
pub fn change_password(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    name: &str,
    change: PasswordChange,
) -> Result<(), EndpointError> {
    let stored = match change {
        PasswordChange::Keep => return Ok(()),
        PasswordChange::Set(password) => secrets.set(name, SecretKind::Password, &password),
        PasswordChange::Forget => secrets.delete(name, SecretKind::Password),
    };
    stored.map_err(|source| EndpointError::Password {
        name: name.to_owned(),
        source,
    })?;
    RefusedPasswords::new(&paths.config_dir)
        .clear(name)
        .map_err(|err| EndpointError::RefusedMarker {
            name: name.to_owned(),
            detail: err.to_string(),
        })
}

impl EndpointEdit {
    /// The endpoint after this edit.
    fn apply(&self, previous: &Endpoint) -> Result<Endpoint, SettingsError> {
        let mut endpoint = previous.clone();
        if let Some(name) = &self.new_name {
            name.trim().clone_into(&mut endpoint.name);
        }
        if let Some(input) = &self.url {
            endpoint.url = settings::endpoint_url(input).map_err(|reason| {
                SettingsError::Rejected(Problem::Url {
                    endpoint: endpoint.name.clone(),
                    input: input.clone(),
                    reason,
                })
            })?;
        }
        if let Some(method) = self.method {
            endpoint.method = method;
        }
        if let Some(username) = &self.username {
            endpoint.username = filled(username.clone());
        }
        if let Some(ca_file) = &self.ca_file {
            endpoint.ca_file = ca_file.clone().filter(|path| !path.as_os_str().is_empty());
        }
        if let Some(proxy) = &self.proxy {
            endpoint.proxy = proxy.clone();
        }
        if let Some(hosts) = &self.trusted_hosts {
            endpoint.trusted_hosts = hosts.iter().cloned().map(tidy_host).collect();
        }
        if let Some(provider) = &self.claims_provider {
            endpoint.claims_provider = filled(provider.clone());
        }
        if let Some(keep) = self.keep_me_signed_in {
            endpoint.keep_me_signed_in = keep;
        }
        // The pin stays through an edit of the same IdP, unless the person forgets it.
        endpoint.keep_issuer_of(previous, self.forget_issuer);
        Ok(endpoint)
    }
}

/// The preferences the person changed; a field left out keeps its value. Favourites and
/// regions are chosen one at a time elsewhere (the engine's `Favourite` and `Region`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesPatch {
    #[serde(default)]
    pub active_profile: Option<String>,
    #[serde(default)]
    pub profile_template: Option<String>,
    #[serde(default)]
    pub session_duration_secs: Option<u32>,
    #[serde(default)]
    pub refresh_lead_minutes: Option<u32>,
    #[serde(default)]
    pub notify_lead_minutes: Option<u32>,
    /// `Some(None)` (or a blank one) goes back to none.
    #[serde(default, deserialize_with = "present")]
    pub default_region: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub default_output: Option<Option<String>>,
}

impl PreferencesPatch {
    pub fn apply(&self, preferences: &mut Preferences) {
        if let Some(profile) = &self.active_profile {
            profile.trim().clone_into(&mut preferences.active_profile);
        }
        if let Some(template) = &self.profile_template {
            template
                .trim()
                .clone_into(&mut preferences.profile_template);
        }
        if let Some(secs) = self.session_duration_secs {
            preferences.session_duration_secs = secs;
        }
        if let Some(minutes) = self.refresh_lead_minutes {
            preferences.refresh_lead_minutes = minutes;
        }
        if let Some(minutes) = self.notify_lead_minutes {
            preferences.notify_lead_minutes = minutes;
        }
        if let Some(region) = &self.default_region {
            preferences.default_region = filled(region.clone());
        }
        if let Some(output) = &self.default_output {
            preferences.default_output = filled(output.clone());
        }
    }
}

/// Changes the preferences the patch carries, under the settings file's lock, so a change
/// made meanwhile elsewhere (a favourite from the tray, the command line) is kept.
pub fn set_preferences(paths: &AppPaths, patch: &PreferencesPatch) -> Result<(), EndpointError> {
    update_settings(paths, |settings| {
        patch.apply(&mut settings.preferences);
        Ok(())
    })?;
    Ok(())
}

/// The settings window's view of the endpoints and preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsView {
    pub endpoints: Vec<EndpointView>,
    pub preferences: Preferences,
    /// Every role of the endpoints signed in to, for the searchable list.
    pub roles: Vec<RoleRow>,
    pub config_dir: PathBuf,
    pub credentials_file: PathBuf,
    /// A free name to use instead of the active profile, which holds keys Rolecall did not
    /// write.
    pub proposed_profile: Option<String>,
    /// What is wrong with Rolecall's files (the engine's [`crate::engine::Status::problems`]),
    /// each a sentence naming the file and what to do.
    pub problems: Vec<String>,
    /// Where a password saved now is kept.
    pub password_place: SecretPlace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointView {
    pub name: String,
    pub url: String,
    pub method: SignInMethod,
    pub username: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// Shown, not edited, in the window: `system`, `none` or the proxy's URL.
    pub proxy: ProxySetting,
    /// Where the endpoint's password is kept; `None` when none is stored.
    pub password: Option<SecretPlace>,
    /// The IdP refused the stored password: no sign-in tries it again until a new one is saved.
    pub password_refused: bool,
    /// The IdP's Issuer pinned by the first sign-in in the window.
    pub issuer: Option<String>,
    pub claims_provider: Option<String>,
    pub keep_me_signed_in: bool,
    /// The claims providers AD FS offered when it last asked which one and the endpoint named
    /// none of them (the engine's [`crate::engine::EndpointStatus::claims_providers`]).
    pub claims_providers_offered: Vec<crate::idp::ClaimsProvider>,
    /// What the endpoint's last sign-in's assertion said (and STS's last refusal of it), as
    /// the Last sign-in panel shows it; `None` before the first sign-in.
    pub last_sign_in: Option<Vec<crate::last_sign_in::PanelRow>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    pub endpoint: String,
    pub account_id: String,
    pub account: String,
    /// Where the account's name in `account` came from, for the window to say.
    pub account_name_source: NameSource,
    pub role: String,
    pub role_arn: String,
    pub favourite: bool,
    /// The account's own region setting, if any.
    pub account_region: Option<String>,
}

/// The view of the settings file, the keyring and `signed_in` (each endpoint signed in to and
/// its accounts).
pub fn view<'a>(
    paths: &AppPaths,
    secrets: &dyn SecretStore,
    signed_in: impl IntoIterator<Item = (&'a str, &'a [Account])>,
) -> Result<SettingsView, EndpointError> {
    let settings = Settings::load(paths)?;
    let refused = RefusedPasswords::new(&paths.config_dir);
    // A summary file that cannot be read costs the window its panels, never the window.
    let last_sign_ins = crate::last_sign_in::read(&paths.config_dir).unwrap_or_else(|err| {
        tracing::warn!("{err}");
        Default::default()
    });
    let preferences = &settings.preferences;
    let mut roles = Vec::new();
    for (endpoint, accounts) in signed_in {
        for account in accounts {
            for role in &account.roles {
                roles.push(RoleRow {
                    endpoint: endpoint.to_owned(),
                    account_id: account.id.clone(),
                    account: account.label(),
                    account_name_source: account.alias_source,
                    role: role.role_name().to_owned(),
                    role_arn: role.role_arn.clone(),
                    favourite: preferences.is_favourite(&role.role_arn),
                    account_region: preferences.regions.get(&account.id).cloned(),
                });
            }
        }
    }
    Ok(SettingsView {
        endpoints: settings
            .endpoints
            .iter()
            .map(|endpoint| EndpointView {
                name: endpoint.name.clone(),
                url: endpoint.url.to_string(),
                method: endpoint.method,
                username: endpoint.username.clone(),
                ca_file: endpoint.ca_file.clone(),
                proxy: endpoint.proxy.clone(),
                password: matches!(
                    secrets.get(&endpoint.name, SecretKind::Password),
                    Ok(Some(_))
                )
                .then(|| secrets.place()),
                password_refused: refused.is_refused(&endpoint.name),
                issuer: endpoint.issuer.clone(),
                claims_provider: endpoint.claims_provider.clone(),
                keep_me_signed_in: endpoint.keep_me_signed_in,
                claims_providers_offered: Vec::new(),
                last_sign_in: last_sign_ins
                    .get(&endpoint.name)
                    .map(crate::last_sign_in::LastSignIn::panel),
            })
            .collect(),
        preferences: settings.preferences.clone(),
        roles,
        config_dir: paths.config_dir.clone(),
        credentials_file: paths.aws_credentials_file.clone(),
        proposed_profile: crate::profiles::proposed_active_profile(
            paths,
            &settings.preferences.active_profile,
        ),
        problems: Vec::new(),
        password_place: secrets.place(),
    })
}

/// Why an endpoint or the preferences were not changed as asked. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The settings file refused the change (the message names the field), or could not be
    /// read or written.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(
        "Endpoint \"{name}\" is saved, but its password is not: {source} Enter it again in \
         Settings → Endpoints."
    )]
    Password {
        name: String,
        #[source]
        source: SecretsError,
    },
    #[error(transparent)]
    Registry(#[from] StoreError),
    #[error(transparent)]
    Webview(#[from] WebviewError),
    #[error(
        "Rolecall could not move or clear the note that the IdP refused the password of \
         \"{name}\" ({detail}). Check that you may write to Rolecall's folder, then try again."
    )]
    RefusedMarker { name: String, detail: String },
    #[error("Removed endpoint \"{name}\", but not everything of it: {detail}")]
    Leftovers { name: String, detail: String },
    /// The change ran off the async workers and did not come back (a bug).
    #[error(
        "Rolecall stopped before it finished the change ({detail}). Check the endpoint in \
         Settings → Endpoints, then try again."
    )]
    Stopped { detail: String },
}

impl EndpointError {
    /// Whether what the person entered was refused (the message says what to change), rather
    /// than something around them failing.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            EndpointError::Settings(
                SettingsError::Rejected(_) | SettingsError::NoSuchEndpoint { .. }
            )
        )
    }
}

/// A rename's steps done so far, to take back in reverse when a later one fails.
#[derive(Debug, Default)]
struct Undo(Vec<Step>);

#[derive(Debug)]
enum Step {
    Secrets,
    Registry(Vec<(String, ProfileSource)>),
    RefusedMarker,
    WebviewData,
}

impl Undo {
    fn push(&mut self, step: Step) {
        self.0.push(step);
    }

    fn run(self, paths: &AppPaths, secrets: &dyn SecretStore, from: &str, to: &str) {
        for step in self.0.into_iter().rev() {
            let undone = match step {
                Step::Secrets => move_secrets(secrets, to, from).map_err(|err| err.to_string()),
                Step::Registry(before) => Registry::load(&paths.config_dir)
                    .and_then(|mut registry| registry.restore(before))
                    .map_err(|err| err.to_string()),
                Step::RefusedMarker => RefusedPasswords::new(&paths.config_dir)
                    .rename(to, from)
                    .map_err(|err| err.to_string()),
                Step::WebviewData => {
                    webview::move_data(&paths.config_dir, to, from).map_err(|err| err.to_string())
                }
            };
            if let Err(err) = undone {
                tracing::warn!("could not take back a step of renaming {from:?} to {to:?}: {err}");
            }
        }
    }
}

/// Moves every secret of `from` to `to`. A kind `from` has none of is cleared at `to` too, so
/// a removed endpoint's leftovers never pass to the renamed one.
fn move_secrets(secrets: &dyn SecretStore, from: &str, to: &str) -> Result<(), SecretsError> {
    for kind in SecretKind::ALL {
        match secrets.get(from, kind)? {
            Some(value) => {
                secrets.set(to, kind, &value)?;
                secrets.delete(from, kind)?;
            }
            None => secrets.delete(to, kind)?,
        }
    }
    Ok(())
}

fn filled(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// A trusted host as the settings file keeps it; anything else is refused on save.
fn tidy_host(host: String) -> String {
    settings::trusted_host(&host).unwrap_or(host)
}

/// A field that is there, even as `null`, is `Some`: `Some(None)` clears a value, a field left
/// out keeps it.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
/// [`Settings::update`] as the product does it: a first run starts from
/// [`crate::profiles::first_run_settings`].
pub fn update_settings<R>(
    paths: &AppPaths,
    change: impl FnOnce(&mut Settings) -> Result<R, SettingsError>,
) -> Result<R, SettingsError> {
    Settings::update(paths, || crate::profiles::first_run_settings(paths), change)
}
