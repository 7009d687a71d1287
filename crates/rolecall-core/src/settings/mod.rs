//! Rolecall's settings: sign-in endpoints and preferences, stored as TOML in the config folder.
//!
//! This module owns `settings.toml`: reading it (a missing file means defaults), checking every
//! value with a message that names the file, the endpoint and the field and says what to do, and
//! writing it atomically (temporary file in the same folder, fsync, rename). It never holds a
//! secret: passwords and SSO cookies live in the keyring ([`crate::secrets`]), so the file may be
//! shown, copied and backed up freely. Comments in the file are not kept when Rolecall saves it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use crate::http::check_proxy_url;
pub use crate::http::{ProxyProblem, ProxySetting};
use crate::partition::is_region_name;
use crate::paths::AppPaths;
use crate::store::{self, StoreError};
use crate::sts::SESSION_DURATION_SECS;

mod error;
mod file;
mod validate;

pub use self::error::*;
use self::file::*;
use self::validate::{
    check_account_name, check_ca_file, check_chain, check_console_browser, check_endpoint_url,
    check_name, check_profile_name, check_range, check_template, is_account_or_role_key,
    is_claims_provider,
};
pub use self::validate::{endpoint_url, trusted_host};

/// The first line of every settings file Rolecall writes.
const HEADER: &str = "# Rolecall's settings. Rolecall rewrites this file when you change \
                      settings in the app; comments here are not kept.";

/// What a bare AD FS host expands to: the IdP-initiated sign-on page, straight to AWS.
pub const ADFS_SIGN_ON_PATH: &str = "/adfs/ls/IdpInitiatedSignOn.aspx";
pub const ADFS_AWS_QUERY: &str = "loginToRp=urn:amazon:webservices";

/// The placeholders a profile name template may use.
pub const PROFILE_PLACEHOLDERS: [&str; 4] = ["account_alias", "account_id", "role", "endpoint"];

pub const REFRESH_LEAD_MINUTES: RangeInclusive<u32> = 1..=120;
/// 0 turns the expiry notification off.
pub const NOTIFY_LEAD_MINUTES: RangeInclusive<u32> = 0..=120;

/// The `output` values the AWS CLI accepts.
pub const AWS_OUTPUTS: [&str; 5] = ["json", "yaml", "yaml-stream", "text", "table"];

const MAX_NAME_CHARS: usize = 64;

/// Everything in `settings.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Settings {
    pub endpoints: Vec<Endpoint>,
    pub preferences: Preferences,
    /// Roles reached from a SAML role by chaining (`[[chains]]`), written by hand: Rolecall
    /// keeps them as they are when it saves.
    pub chains: Vec<ChainSetting>,
}

/// A `[[chains]]` entry: a role the sign-in grants, and the roles assumed from its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainSetting {
    /// What the tray calls it.
    pub name: String,
    /// The endpoint whose sign-in grants `source_role`; any that grants it when unset.
    pub endpoint: Option<String>,
    /// The role ARN the SAML sign-in grants, where the chain starts.
    pub source_role: String,
    pub chain: crate::chain::Chain,
}

/// A place to sign in: an AD FS host or any IdP-initiated SAML URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Shown in menus; also keeps the endpoint's secrets apart in the keyring.
    pub name: String,
    /// Normalised by [`endpoint_url`]: a bare AD FS host is already expanded.
    #[serde(serialize_with = "serialize_url")]
    pub url: Url,
    pub method: SignInMethod,
    /// For NTLM, Kerberos-with-password and forms sign-in; asked for when absent.
    pub username: Option<String>,
    /// Extra CA certificates (PEM) to trust for this endpoint, besides the system's.
    pub ca_file: Option<PathBuf>,
    pub proxy: ProxySetting,
    /// Hosts besides the endpoint's own that may receive its password, NTLM answers and
    /// Kerberos tickets (lowercase host names or IP addresses, no port). Empty for most: AD FS
    /// signs in on its own host.
    pub trusted_hosts: Vec<String>,
    /// The `Issuer` of the first SAML response the sign-in window took for this endpoint: a
    /// later response from another issuer is refused. Editing the endpoint can forget it.
    pub issuer: Option<String>,
    /// The browser command ([`crate::browser_command`]) that opens the console of this
    /// endpoint's accounts, unless [`Preferences::console_browsers`] names one for the account.
    pub console_browser: Option<String>,
    /// The claims provider to choose when AD FS asks which one (home realm discovery): what
    /// its button posts (`AD AUTHORITY` for the farm's own directory, else the provider's
    /// identifier) or the name the button shows.
    pub claims_provider: Option<String>,
    /// Tick AD FS's "Keep me signed in" box (`Kmsi`): the farm then keeps the sign-in session
    /// for its longer, persistent lifetime.
    pub keep_me_signed_in: bool,
}

/// How Rolecall signs in to an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignInMethod {
    /// Integrated Windows auth, then stored credentials, then the webview.
    #[default]
    Auto,
    /// Kerberos/Negotiate as the current user (SSPI, or the GSSAPI ticket cache).
    Windows,
    /// Kerberos with a username and password.
    Kerberos,
    /// NTLM with a username and password.
    Ntlm,
    /// Username and password posted to the IdP's form.
    Forms,
    /// The IdP's own pages in an embedded window (any MFA, any IdP).
    Webview,
}

impl SignInMethod {
    pub const ALL: [SignInMethod; 6] = [
        SignInMethod::Auto,
        SignInMethod::Windows,
        SignInMethod::Kerberos,
        SignInMethod::Ntlm,
        SignInMethod::Forms,
        SignInMethod::Webview,
    ];

    /// The name used in the settings file.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Auto => "auto",
            SignInMethod::Windows => "windows",
            SignInMethod::Kerberos => "kerberos",
            SignInMethod::Ntlm => "ntlm",
            SignInMethod::Forms => "forms",
            SignInMethod::Webview => "webview",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == name)
    }

    /// Whether this method signs in with a password kept in the keyring.
    pub fn uses_password(self) -> bool {
        matches!(
            self,
            SignInMethod::Auto | SignInMethod::Kerberos | SignInMethod::Ntlm | SignInMethod::Forms
        )
    }
}

impl fmt::Display for SignInMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn serialize_url<S: Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(url.as_str())
}

/// How Rolecall behaves across endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// The profile that "Assume" writes to.
    pub active_profile: String,
    /// How "All roles" names profiles; see [`PROFILE_PLACEHOLDERS`].
    pub profile_template: String,
    /// The session length asked of STS (capped by the role's own maximum).
    pub session_duration_secs: u32,
    /// How long before expiry a kept-alive profile is refreshed.
    pub refresh_lead_minutes: u32,
    /// How long before expiry the person is told; 0 for never.
    pub notify_lead_minutes: u32,
    /// The `region` written with a profile, when the role has none of its own.
    pub default_region: Option<String>,
    /// The `output` written with a profile (`json`, `text`, ...).
    pub default_output: Option<String>,
    /// Role ARNs shown first in the tray.
    pub favourites: Vec<String>,
    /// The `region` written with the profiles of an account (12-digit id) or a role (its ARN);
    /// a role's own entry wins over its account's, and both over `default_region`.
    pub regions: BTreeMap<String, String>,
    /// The browser command ([`crate::browser_command`]) that opens the console of an account
    /// (12-digit id) or a role (its ARN); a role's own entry wins over its account's, and both
    /// over the endpoint's `console_browser`.
    pub console_browsers: BTreeMap<String, String>,
    /// Names the person gives accounts (12-digit id → name), shown where AWS's sign-in page
    /// gives no alias ([`crate::accounts::AccountNames`]).
    pub account_names: BTreeMap<String, String>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            active_profile: "default".to_owned(),
            profile_template: "{account_alias}-{role}".to_owned(),
            session_duration_secs: 3600,
            refresh_lead_minutes: 15,
            notify_lead_minutes: 10,
            default_region: None,
            default_output: None,
            favourites: Vec::new(),
            regions: BTreeMap::new(),
            console_browsers: BTreeMap::new(),
            account_names: BTreeMap::new(),
        }
    }
}

impl Endpoint {
    /// The network of the endpoint's sign-ins, and of the AWS calls made with what they give
    /// (STS, the console's federation endpoint): behind a company's TLS inspection or proxy,
    /// AWS is reached the same way as the IdP.
    pub fn network(&self) -> crate::http::Network {
        crate::http::Network {
            ca_file: self.ca_file.clone(),
            proxy: self.proxy.clone(),
        }
    }
}

impl Endpoint {
    /// An endpoint with the automatic method and no extras, from what a person typed.
    pub fn new(name: impl Into<String>, url_input: &str) -> Result<Self, SettingsError> {
        let name = name.into();
        let url = endpoint_url(url_input).map_err(|reason| {
            SettingsError::Rejected(Problem::Url {
                endpoint: name.clone(),
                input: url_input.to_owned(),
                reason,
            })
        })?;
        let endpoint = Self {
            name,
            url,
            method: SignInMethod::Auto,
            username: None,
            ca_file: None,
            proxy: ProxySetting::System,
            trusted_hosts: Vec::new(),
            issuer: None,
            console_browser: None,
            claims_provider: None,
            keep_me_signed_in: false,
        };
        endpoint
            .check(1)
            .map_err(SettingsError::Rejected)
            .map(|()| endpoint)
    }

    /// Takes over the Issuer pinned for `previous`, the same endpoint before an edit, unless the
    /// person chose to forget it or the edit points the endpoint at another URL (another IdP
    /// pins its own at its first sign-in).
    pub fn keep_issuer_of(&mut self, previous: &Endpoint, forget: bool) {
        self.issuer = previous
            .issuer
            .clone()
            .filter(|_| !forget && previous.url == self.url);
    }

    /// Checks everything about this endpoint alone, its CA file on disk too: what the person
    /// enters. `position` (from 1) names it when it has no name.
    pub(crate) fn check(&self, position: usize) -> Result<(), Problem> {
        self.check_shape(position)?;
        if let Some(path) = &self.ca_file {
            check_ca_file(path).map_err(|reason| Problem::CaFile {
                endpoint: self.name.clone(),
                path: path.clone(),
                reason,
            })?;
        }
        Ok(())
    }

    /// What is wrong with the endpoint's CA file on disk now (gone, unreadable, not PEM), if
    /// it names one.
    pub fn ca_file_problem(&self) -> Option<Problem> {
        let path = self.ca_file.as_ref()?;
        check_ca_file(path).err().map(|reason| Problem::CaFile {
            endpoint: self.name.clone(),
            path: path.clone(),
            reason,
        })
    }

    /// Checks the endpoint as written, without reading other files: a CA file that went
    /// away since it was entered is a problem of the sign-in that needs it
    /// ([`crate::http::HttpError::CaFile`]), not one that hides the endpoint.
    fn check_shape(&self, position: usize) -> Result<(), Problem> {
        check_name(&self.name, position)?;
        let endpoint = || self.name.clone();
        check_endpoint_url(&self.url).map_err(|reason| Problem::Url {
            endpoint: endpoint(),
            input: self.url.to_string(),
            reason,
        })?;
        if let Some(username) = &self.username
            && (username.trim().is_empty() || username.chars().any(char::is_control))
        {
            return Err(Problem::Username {
                endpoint: endpoint(),
            });
        }
        if let Some(path) = &self.ca_file
            && let Some(reason) = ca_path_problem(path)
        {
            return Err(Problem::CaFile {
                endpoint: endpoint(),
                path: path.clone(),
                reason,
            });
        }
        if let ProxySetting::Url(url) = &self.proxy {
            check_proxy_url(url).map_err(|reason| Problem::Proxy {
                endpoint: endpoint(),
                value: url.to_string(),
                reason,
            })?;
        }
        for host in &self.trusted_hosts {
            if trusted_host(host).as_deref() != Some(host.as_str()) {
                return Err(Problem::TrustedHost {
                    endpoint: endpoint(),
                    value: host.clone(),
                });
            }
        }
        if let Some(provider) = &self.claims_provider
            && !is_claims_provider(provider)
        {
            return Err(Problem::ClaimsProvider {
                endpoint: endpoint(),
                value: provider.clone(),
            });
        }
        if let Some(template) = &self.console_browser {
            check_console_browser(template).map_err(|reason| Problem::ConsoleBrowser {
                place: format!("of endpoint \"{}\"", self.name),
                template: template.clone(),
                reason,
            })?;
        }
        Ok(())
    }

    /// Whether `host` may receive this endpoint's secrets: the endpoint's own host or one the
    /// person listed. Host names compare without case and without a trailing dot; ports do not
    /// count (AD FS answers on one host, whatever the port).
    pub fn trusts_host(&self, host: &str) -> bool {
        let Some(host) = trusted_host(host) else {
            return false;
        };
        self.url.host_str().and_then(trusted_host).as_deref() == Some(host.as_str())
            || self.trusted_hosts.contains(&host)
    }
}

/// What is wrong with a CA file's path as written, without looking at the file.
fn ca_path_problem(path: &Path) -> Option<CaProblem> {
    if path.to_str().is_none() {
        Some(CaProblem::NotUnicode)
    } else if !path.is_absolute() {
        Some(CaProblem::NotAbsolute)
    } else {
        None
    }
}

impl Preferences {
    /// The region written with a role's profile: its own, its account's, or the default.
    pub fn region_for(&self, role_arn: &str, account_id: &str) -> Option<&str> {
        self.regions
            .get(role_arn)
            .or_else(|| self.regions.get(account_id))
            .or(self.default_region.as_ref())
            .map(String::as_str)
    }

    /// The browser command of a role's console, as written: its own, its account's, else
    /// `None` (the endpoint's, or the desktop's default browser).
    pub fn console_browser_for(&self, role_arn: &str, account_id: &str) -> Option<&str> {
        self.console_browsers
            .get(role_arn)
            .or_else(|| self.console_browsers.get(account_id))
            .map(String::as_str)
    }

    pub fn is_favourite(&self, role_arn: &str) -> bool {
        self.favourites
            .iter()
            .any(|favourite| favourite == role_arn)
    }

    fn check(&self) -> Result<(), Problem> {
        check_profile_name(&self.active_profile).map_err(|reason| Problem::ActiveProfile {
            name: self.active_profile.clone(),
            reason,
        })?;
        check_template(&self.profile_template).map_err(|reason| Problem::Template {
            template: self.profile_template.clone(),
            reason,
        })?;
        check_range(
            "session_duration_secs",
            self.session_duration_secs,
            &SESSION_DURATION_SECS,
            " seconds (15 minutes to 12 hours)",
        )?;
        check_range(
            "refresh_lead_minutes",
            self.refresh_lead_minutes,
            &REFRESH_LEAD_MINUTES,
            " minutes",
        )?;
        check_range(
            "notify_lead_minutes",
            self.notify_lead_minutes,
            &NOTIFY_LEAD_MINUTES,
            " minutes (0 turns the notification off)",
        )?;
        for (field, minutes) in [
            ("refresh_lead_minutes", self.refresh_lead_minutes),
            ("notify_lead_minutes", self.notify_lead_minutes),
        ] {
            if u64::from(minutes) * 60 >= u64::from(self.session_duration_secs) {
                return Err(Problem::LeadTooLong {
                    field,
                    minutes,
                    session_secs: self.session_duration_secs,
                });
            }
        }
        if let Some(region) = &self.default_region
            && !is_region_name(region)
        {
            return Err(Problem::Region {
                value: region.clone(),
            });
        }
        for (key, region) in &self.regions {
            let account = key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit());
            if !account && !key.starts_with("arn:") {
                return Err(Problem::RegionKey { key: key.clone() });
            }
            if !is_region_name(region) {
                return Err(Problem::Region {
                    value: region.clone(),
                });
            }
        }
        for (key, template) in &self.console_browsers {
            if !is_account_or_role_key(key) {
                return Err(Problem::ConsoleBrowserKey { key: key.clone() });
            }
            check_console_browser(template).map_err(|reason| Problem::ConsoleBrowser {
                place: format!("for {key} in [preferences.console_browsers]"),
                template: template.clone(),
                reason,
            })?;
        }
        for (key, name) in &self.account_names {
            if !crate::accounts::is_account_id(key) {
                return Err(Problem::AccountNameKey { key: key.clone() });
            }
            check_account_name(name).map_err(|reason| Problem::AccountName {
                account: key.clone(),
                name: name.clone(),
                reason,
            })?;
        }
        if let Some(output) = &self.default_output
            && !AWS_OUTPUTS.contains(&output.as_str())
        {
            return Err(Problem::Output {
                value: output.clone(),
            });
        }
        Ok(())
    }
}

impl Settings {
    /// Reads `settings.toml`; a missing file gives the defaults.
    pub fn load(paths: &AppPaths) -> Result<Self, SettingsError> {
        load_file(&paths.settings_file())
    }

    /// Writes `settings.toml` atomically under its lock, creating the folder (owner-only) if
    /// needed. Settings that do not pass [`Settings::validate`] are not written. To change
    /// what is there, use [`Settings::update`], which reads under the same lock.
    pub fn save(&self, paths: &AppPaths) -> Result<(), SettingsError> {
        self.validate().map_err(SettingsError::Rejected)?;
        let path = paths.settings_file();
        let _lock =
            store::lock(&path, store::LOCK_TIMEOUT).map_err(|err| save_error(&path, err))?;
        self.write(&path)
    }

    /// Reads `settings.toml`, lets `change` edit it and saves the result, under the file's
    /// lock, so that the app, the settings window and the command line never undo each
    /// other's changes. Nothing is written when `change` fails or the result is invalid. On
    /// the first run (no file yet) `change` edits `first_run()`: the product's callers pass
    /// [`crate::endpoints::update_settings`]'s, whose active profile holds no one else's keys.
    pub fn update<R>(
        paths: &AppPaths,
        first_run: impl FnOnce() -> Settings,
        change: impl FnOnce(&mut Settings) -> Result<R, SettingsError>,
    ) -> Result<R, SettingsError> {
        let path = paths.settings_file();
        let _lock =
            store::lock(&path, store::LOCK_TIMEOUT).map_err(|err| save_error(&path, err))?;
        let mut settings = match store::read_optional(&path)? {
            Some(_) => load_file(&path)?,
            None => first_run(),
        };
        let result = change(&mut settings)?;
        settings.validate().map_err(SettingsError::Rejected)?;
        settings.write(&path)?;
        Ok(result)
    }

    /// Writes the file; the caller holds its lock, so temporary files left by a killed save
    /// are stale and go first.
    fn write(&self, path: &Path) -> Result<(), SettingsError> {
        store::remove_stale_temps(path);
        let body =
            toml::to_string(&FileSettings::from(self)).map_err(|err| SettingsError::Write {
                path: path.to_owned(),
                source: io::Error::other(err),
            })?;
        store::write_atomically(path, format!("{HEADER}\n\n{body}").as_bytes())
            .map_err(|err| save_error(path, err))
    }

    /// The first problem in these settings, if any. Reads no other file: the CA files are
    /// checked where the person enters them ([`Settings::add_endpoint`],
    /// [`Settings::update_endpoint`]) and where a sign-in uses them.
    pub fn validate(&self) -> Result<(), Problem> {
        for (index, endpoint) in self.endpoints.iter().enumerate() {
            endpoint.check_shape(index + 1)?;
            if self.endpoints[..index]
                .iter()
                .any(|earlier| earlier.name == endpoint.name)
            {
                return Err(Problem::DuplicateName {
                    name: endpoint.name.clone(),
                });
            }
        }
        self.preferences.check()?;
        for (index, chain) in self.chains.iter().enumerate() {
            check_chain(chain, index + 1)?;
            if self.chains[..index]
                .iter()
                .any(|earlier| earlier.name == chain.name)
            {
                return Err(Problem::DuplicateChain {
                    name: chain.name.clone(),
                });
            }
            if let Some(endpoint) = &chain.endpoint
                && self.endpoint(endpoint).is_none()
            {
                return Err(Problem::ChainEndpoint {
                    chain: chain.name.clone(),
                    endpoint: endpoint.clone(),
                });
            }
        }
        Ok(())
    }

    pub fn chain(&self, name: &str) -> Option<&ChainSetting> {
        self.chains.iter().find(|chain| chain.name == name)
    }

    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|endpoint| endpoint.name == name)
    }

    /// Adds an endpoint at the end, after checking it and that its name is new.
    pub fn add_endpoint(&mut self, endpoint: Endpoint) -> Result<(), SettingsError> {
        endpoint
            .check(self.endpoints.len() + 1)
            .map_err(SettingsError::Rejected)?;
        if self.endpoint(&endpoint.name).is_some() {
            return Err(SettingsError::Rejected(Problem::DuplicateName {
                name: endpoint.name,
            }));
        }
        self.endpoints.push(endpoint);
        Ok(())
    }

    /// Replaces the endpoint called `name`, in place. A rename must move the endpoint's
    /// secrets too ([`crate::secrets::SecretStore::rename_endpoint`]).
    pub fn update_endpoint(&mut self, name: &str, endpoint: Endpoint) -> Result<(), SettingsError> {
        let index = self.index_of(name)?;
        endpoint.check(index + 1).map_err(SettingsError::Rejected)?;
        let taken = self
            .endpoints
            .iter()
            .enumerate()
            .any(|(other, existing)| other != index && existing.name == endpoint.name);
        if taken {
            return Err(SettingsError::Rejected(Problem::DuplicateName {
                name: endpoint.name,
            }));
        }
        self.endpoints[index] = endpoint;
        Ok(())
    }

    /// Removes the endpoint called `name` and gives it back. Its secrets stay in the keyring
    /// until the caller forgets them ([`crate::secrets::SecretStore::forget_endpoint`]).
    pub fn remove_endpoint(&mut self, name: &str) -> Result<Endpoint, SettingsError> {
        let index = self.index_of(name)?;
        Ok(self.endpoints.remove(index))
    }

    fn index_of(&self, name: &str) -> Result<usize, SettingsError> {
        self.endpoints
            .iter()
            .position(|endpoint| endpoint.name == name)
            .ok_or_else(|| SettingsError::NoSuchEndpoint {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests;
