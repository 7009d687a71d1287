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
        }
    }
}

/// Turns what a person typed into an endpoint URL.
///
/// A bare host, or an `https://` URL whose path is empty, `/`, or a beginning of the AD FS
/// sign-on path (`/adfs`, `/adfs/ls/`), expands to
/// `https://<host>/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices`; the sign-on
/// page itself without a query gets the `loginToRp` query, so AD FS goes straight to AWS; any
/// other URL (a longer path, or one with a query) is kept as it is. `http://` is refused except
/// to loopback hosts.
pub fn endpoint_url(input: &str) -> Result<Url, UrlProblem> {
    let input = input.trim();
    if input.is_empty() {
        return Err(UrlProblem::Empty);
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|err| UrlProblem::NotUrl(err.to_string()))?;
    check_endpoint_url(&url)?;
    if url.query().is_none() && url.fragment().is_none() {
        let path = url.path().to_ascii_lowercase();
        let sign_on = ADFS_SIGN_ON_PATH.to_ascii_lowercase();
        let is_start = ["", "/", "/adfs", "/adfs/", "/adfs/ls", "/adfs/ls/"].contains(&&*path);
        if is_start {
            url.set_path(ADFS_SIGN_ON_PATH);
        }
        if is_start || path == sign_on {
            url.set_query(Some(ADFS_AWS_QUERY));
        }
    }
    Ok(url)
}

fn check_endpoint_url(url: &Url) -> Result<(), UrlProblem> {
    match url.scheme() {
        "https" => {}
        "http" if crate::http::is_loopback(url) => {}
        "http" => return Err(UrlProblem::Insecure),
        other => return Err(UrlProblem::Scheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    Ok(())
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
    fn check(&self, position: usize) -> Result<(), Problem> {
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

/// A host as [`Endpoint::trusted_hosts`] keeps it: a DNS name or an IP address, lowercase, no
/// trailing dot, IPv6 in brackets; `None` for anything else (a port, a path, a scheme, a `*`).
pub fn trusted_host(input: &str) -> Option<String> {
    let input = input.trim();
    let input = input.strip_suffix('.').unwrap_or(input);
    let bracketed = input.starts_with('[') && input.ends_with(']');
    if input.is_empty()
        || input
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':')))
        || (input.contains(':') && !bracketed)
    {
        return None;
    }
    match url::Host::parse(input).ok()? {
        url::Host::Domain(name) => Some(name.to_ascii_lowercase()),
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(format!("[{ip}]")),
    }
}

fn check_name(name: &str, position: usize) -> Result<(), Problem> {
    let bad = |reason| {
        Err(Problem::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return Err(Problem::EmptyName { position });
    }
    if name.trim() != name {
        return bad("starts or ends with a space");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return bad("is longer than 64 characters");
    }
    Ok(())
}

/// Reads at most this much of a CA file: far more than any bundle.
const MAX_CA_FILE_BYTES: u64 = 16 << 20;
const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

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

fn check_ca_file(path: &Path) -> Result<(), CaProblem> {
    if let Some(problem) = ca_path_problem(path) {
        return Err(problem);
    }
    // Never a FIFO or a device: opening one for reading would wait for ever.
    let file = match store::open_regular(path) {
        Ok(Some(file)) => file,
        Ok(None) => return Err(CaProblem::Missing),
        Err(StoreError::NotAFile { kind, .. }) => {
            return Err(CaProblem::Unreadable(format!("it is a {kind}")));
        }
        Err(err) => return Err(CaProblem::Unreadable(err.to_string())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|err| CaProblem::Unreadable(err.to_string()))?;
    if !bytes
        .windows(PEM_CERTIFICATE.len())
        .any(|window| window == PEM_CERTIFICATE)
    {
        return Err(CaProblem::NotPem);
    }
    Ok(())
}

fn bad_profile_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '#' | ';')
}

fn check_profile_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    match name.chars().find(|&c| bad_profile_char(c)) {
        Some(c) => Err(NameProblem::BadChar(c)),
        None => Ok(()),
    }
}

fn check_template(template: &str) -> Result<(), TemplateProblem> {
    if template.is_empty() {
        return Err(TemplateProblem::Empty);
    }
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        check_literal(&rest[..at])?;
        if rest[at..].starts_with('}') {
            return Err(TemplateProblem::Unbalanced);
        }
        let after = &rest[at + 1..];
        let end = after.find('}').ok_or(TemplateProblem::Unbalanced)?;
        let name = &after[..end];
        if name.contains('{') {
            return Err(TemplateProblem::Unbalanced);
        }
        if !PROFILE_PLACEHOLDERS.contains(&name) {
            return Err(TemplateProblem::Unknown(name.to_owned()));
        }
        rest = &after[end + 1..];
    }
    check_literal(rest)
}

fn check_literal(text: &str) -> Result<(), TemplateProblem> {
    match text.chars().find(|&c| bad_profile_char(c)) {
        Some(c) => Err(TemplateProblem::BadChar(c)),
        None => Ok(()),
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

fn check_range(
    field: &'static str,
    value: u32,
    range: &RangeInclusive<u32>,
    unit: &'static str,
) -> Result<(), Problem> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(Problem::OutOfRange {
        field,
        value,
        min: *range.start(),
        max: *range.end(),
        unit,
    })
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
        self.preferences.check()
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

// ---- The file's shape -------------------------------------------------------------------------
//
// Values are read as plain strings first and checked afterwards, so a bad value gets a message
// that names its endpoint and says what to do, not a deserializer's "expected one of".

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    #[serde(default)]
    preferences: FilePreferences,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    endpoints: Vec<FileEndpoint>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePreferences {
    active_profile: Option<String>,
    profile_template: Option<String>,
    session_duration_secs: Option<u32>,
    refresh_lead_minutes: Option<u32>,
    notify_lead_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_output: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    favourites: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    regions: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEndpoint {
    name: Option<String>,
    url: Option<String>,
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<PathBuf>,
    proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    trusted_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
}

impl From<&Settings> for FileSettings {
    fn from(settings: &Settings) -> Self {
        let p = &settings.preferences;
        Self {
            preferences: FilePreferences {
                active_profile: Some(p.active_profile.clone()),
                profile_template: Some(p.profile_template.clone()),
                session_duration_secs: Some(p.session_duration_secs),
                refresh_lead_minutes: Some(p.refresh_lead_minutes),
                notify_lead_minutes: Some(p.notify_lead_minutes),
                default_region: p.default_region.clone(),
                default_output: p.default_output.clone(),
                favourites: p.favourites.clone(),
                regions: p.regions.clone(),
            },
            endpoints: settings
                .endpoints
                .iter()
                .map(|endpoint| FileEndpoint {
                    name: Some(endpoint.name.clone()),
                    url: Some(endpoint.url.to_string()),
                    method: Some(endpoint.method.as_str().to_owned()),
                    username: endpoint.username.clone(),
                    ca_file: endpoint.ca_file.clone(),
                    proxy: Some(endpoint.proxy.as_setting()),
                    trusted_hosts: endpoint.trusted_hosts.clone(),
                    issuer: endpoint.issuer.clone(),
                })
                .collect(),
        }
    }
}

impl TryFrom<FileSettings> for Settings {
    type Error = Problem;

    fn try_from(file: FileSettings) -> Result<Self, Problem> {
        let defaults = Preferences::default();
        let p = file.preferences;
        let preferences = Preferences {
            active_profile: p.active_profile.unwrap_or(defaults.active_profile),
            profile_template: p.profile_template.unwrap_or(defaults.profile_template),
            session_duration_secs: p
                .session_duration_secs
                .unwrap_or(defaults.session_duration_secs),
            refresh_lead_minutes: p
                .refresh_lead_minutes
                .unwrap_or(defaults.refresh_lead_minutes),
            notify_lead_minutes: p
                .notify_lead_minutes
                .unwrap_or(defaults.notify_lead_minutes),
            default_region: p.default_region,
            default_output: p.default_output,
            favourites: p.favourites,
            regions: p.regions,
        };
        let endpoints = file
            .endpoints
            .into_iter()
            .enumerate()
            .map(|(index, endpoint)| endpoint_from_file(endpoint, index + 1))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            endpoints,
            preferences,
        })
    }
}

fn endpoint_from_file(file: FileEndpoint, position: usize) -> Result<Endpoint, Problem> {
    let name = file.name.unwrap_or_default();
    check_name(&name, position)?;
    let input = file.url.unwrap_or_default();
    let url = endpoint_url(&input).map_err(|reason| Problem::Url {
        endpoint: name.clone(),
        input: input.clone(),
        reason,
    })?;
    let method = match file.method {
        None => SignInMethod::Auto,
        Some(value) => SignInMethod::from_name(&value).ok_or_else(|| Problem::Method {
            endpoint: name.clone(),
            value,
        })?,
    };
    let proxy = match file.proxy {
        None => ProxySetting::System,
        Some(value) => ProxySetting::parse(&value).map_err(|reason| Problem::Proxy {
            endpoint: name.clone(),
            value,
            reason,
        })?,
    };
    let trusted_hosts = file
        .trusted_hosts
        .iter()
        .map(|value| {
            trusted_host(value).ok_or_else(|| Problem::TrustedHost {
                endpoint: name.clone(),
                value: value.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Endpoint {
        name,
        url,
        method,
        username: file.username,
        ca_file: file.ca_file,
        proxy,
        trusted_hosts,
        issuer: file.issuer,
    })
}

// ---- Reading and writing ----------------------------------------------------------------------

fn load_file(path: &Path) -> Result<Settings, SettingsError> {
    let Some(bytes) = store::read_optional(path)? else {
        return Ok(Settings::default());
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = String::from_utf8_lossy(&bytes[..err.valid_up_to()]);
            let (line, column) = line_column(&valid, valid.len());
            return Err(SettingsError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: "the file is not UTF-8 text".to_owned(),
            });
        }
    };
    // Notepad saves a byte-order mark; TOML does not allow one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let file: FileSettings =
        toml::from_str(text).map_err(|err| describe_toml_error(path, text, &err))?;
    let settings = Settings::try_from(file).map_err(|problem| SettingsError::Invalid {
        path: path.to_owned(),
        problem,
    })?;
    settings
        .validate()
        .map_err(|problem| SettingsError::Invalid {
            path: path.to_owned(),
            problem,
        })?;
    Ok(settings)
}

/// A failed save as the settings' own sentence, naming the settings file.
fn save_error(path: &Path, err: StoreError) -> SettingsError {
    match err {
        StoreError::Write { source, .. } | StoreError::Lock { source, .. } => {
            SettingsError::Write {
                path: path.to_owned(),
                source,
            }
        }
        other => SettingsError::File(other),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

fn describe_toml_error(path: &Path, text: &str, err: &toml::de::Error) -> SettingsError {
    let offset = err.span().map_or(0, |span| span.start);
    let (line, column) = line_column(text, offset);
    let message = err.message().trim().to_owned();
    if let Some((key, known)) = unknown_field(&message) {
        return SettingsError::UnknownKey {
            path: path.to_owned(),
            line,
            column,
            key,
            place: place_of(text, offset),
            known,
        };
    }
    SettingsError::Syntax {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" into `x` and "a, b".
fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest.strip_prefix(", expected ").unwrap_or(rest);
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    Some((key.to_owned(), expected.replace('`', "")))
}

/// Where in the file `offset` is, in words: the table whose header comes last before it.
fn place_of(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let header = text[..offset]
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('['));
    match header {
        Some(line) if line.starts_with("[[") => {
            let table = line.split("]]").next().unwrap_or(line);
            format!("in a {table}]] entry")
        }
        Some(line) => {
            let table = line.split(']').next().unwrap_or(line);
            format!("in {table}]")
        }
        None => "at the top of the file".to_owned(),
    }
}

// ---- Errors -----------------------------------------------------------------------------------

/// A settings file that cannot be read, parsed, accepted or written. Each message names the file
/// where there is one and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "Rolecall could not read its settings file {}: {source}. Check that you can read it, \
         or move it away to start from the default settings.",
        path.display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "Rolecall's settings file {} is not valid at line {line}, column {column}: {message}. \
         Fix that line, or move the file away to start from the default settings.",
        path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "Rolecall's settings file {} has an unknown setting `{key}` {place} (line {line}, \
         column {column}). Check its spelling; the settings there are: {known}.",
        path.display()
    )]
    UnknownKey {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        place: String,
        known: String,
    },

    /// The file parsed but a value is wrong.
    #[error("In Rolecall's settings file {}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: Problem },

    /// A change made in the app was refused; nothing was written.
    #[error("{0}")]
    Rejected(Problem),

    #[error("There is no endpoint named \"{name}\". Check the name in Settings → Endpoints.")]
    NoSuchEndpoint { name: String },

    #[error(transparent)]
    File(#[from] StoreError),

    #[error(
        "Rolecall could not save its settings to {}: {source}. Check that you can write to \
         that folder and that the disk is not full, then try again.",
        path.display()
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One wrong value, in words that name the endpoint and the field and say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "Endpoint number {position} has no name. Give it a short name, such as \"corp\"; \
         Rolecall shows it in menus."
    )]
    EmptyName { position: usize },

    #[error("The endpoint name {name:?} {reason}. Use a short name, such as \"corp\".")]
    BadName { name: String, reason: &'static str },

    #[error("Two endpoints are named \"{name}\". Give each endpoint its own name.")]
    DuplicateName { name: String },

    #[error("The URL of endpoint \"{endpoint}\" ({input:?}) {reason}")]
    Url {
        endpoint: String,
        input: String,
        reason: UrlProblem,
    },

    #[error(
        "Endpoint \"{endpoint}\" has an unknown sign-in method {value:?}. Use one of: auto, \
         windows, kerberos, ntlm, forms, webview."
    )]
    Method { endpoint: String, value: String },

    #[error(
        "The username of endpoint \"{endpoint}\" is blank or contains control characters. Set it \
         to your sign-in name (such as alice@corp.example or CORP\\alice), or remove it."
    )]
    Username { endpoint: String },

    #[error("The CA file of endpoint \"{endpoint}\", {}, {reason}", path.display())]
    CaFile {
        endpoint: String,
        path: PathBuf,
        reason: CaProblem,
    },

    #[error(
        "The trusted host {value:?} of endpoint \"{endpoint}\" is not a host name. List host \
         names or IP addresses only, such as login.corp.example (no https://, port or path)."
    )]
    TrustedHost { endpoint: String, value: String },

    #[error("The proxy of endpoint \"{endpoint}\" ({value:?}) {reason}")]
    Proxy {
        endpoint: String,
        value: String,
        reason: ProxyProblem,
    },

    #[error("The profile name template {template:?} {reason}")]
    Template {
        template: String,
        reason: TemplateProblem,
    },

    #[error("The active profile name {name:?} {reason}")]
    ActiveProfile { name: String, reason: NameProblem },

    #[error("{field} is {value}; use a value from {min} to {max}{unit}.")]
    OutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
        unit: &'static str,
    },

    #[error(
        "{field} ({minutes} minutes) must be shorter than the session itself \
         (session_duration_secs = {session_secs}). Lower it, or lengthen the session."
    )]
    LeadTooLong {
        field: &'static str,
        minutes: u32,
        session_secs: u32,
    },

    #[error(
        "The default region {value:?} is not an AWS region name. Use one such as us-east-1 or \
         eu-west-1, or remove default_region."
    )]
    Region { value: String },

    #[error(
        "The region setting for {key:?} names neither an AWS account (12 digits) nor a role \
         ARN. Use an account id such as 111122223333 or a role ARN."
    )]
    RegionKey { key: String },

    #[error(
        "The default output {value:?} is not one the AWS CLI knows. Use json, yaml, yaml-stream, \
         text or table, or remove default_output."
    )]
    Output { value: String },
}

/// Why an endpoint URL was refused; completes a sentence that starts with the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error(
        "is empty. Enter your AD FS host (such as sts.corp.example) or the full IdP-initiated \
         sign-in URL."
    )]
    Empty,
    #[error(
        "is not a URL ({0}). Enter your AD FS host (such as sts.corp.example) or the full \
         IdP-initiated sign-in URL."
    )]
    NotUrl(String),
    #[error(
        "uses http://, which would send your password unprotected. Use https:// (http:// is \
         allowed only to this computer: localhost, 127.0.0.1, ::1)."
    )]
    Insecure,
    #[error("uses {0}://. Use an https:// URL.")]
    Scheme(String),
    #[error("has no host name. Use a URL such as https://sts.corp.example.")]
    NoHost,
    #[error(
        "contains a user name or password. Remove them from the URL: Rolecall asks for them and \
         keeps passwords in your keyring."
    )]
    Credentials,
}

/// Why a CA file was refused; completes a sentence that starts with the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaProblem {
    #[error(
        "is not an absolute path. Give the full path of the PEM file, such as \
         /etc/ssl/corp-ca.pem."
    )]
    NotAbsolute,
    #[error(
        "has characters the settings file cannot hold. Move the certificate to a path of plain \
         characters."
    )]
    NotUnicode,
    #[error(
        "does not exist. Check the path, or remove ca_file to trust only the system's \
         certificates."
    )]
    Missing,
    #[error("cannot be read ({0}). Check that it is a file you can read.")]
    Unreadable(String),
    #[error(
        "is not a PEM certificate file (it has no \"-----BEGIN CERTIFICATE-----\" line). \
         Convert a DER certificate with `openssl x509 -inform der -in corp.cer -out corp.pem`."
    )]
    NotPem,
}

/// Why a profile name template was refused; completes a sentence that starts with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("is empty. Use placeholders, such as {{account_alias}}-{{role}}.")]
    Empty,
    #[error(
        "uses {{{0}}}, which Rolecall does not know. Use {{account_alias}}, {{account_id}}, \
         {{role}} and {{endpoint}}."
    )]
    Unknown(String),
    #[error("has an unmatched {{ or }}. Write placeholders as {{role}}.")]
    Unbalanced,
    #[error("contains {0:?}, which an AWS profile name cannot hold. Leave out spaces and [ ] # ;.")]
    BadChar(char),
}

/// Why a profile name was refused; completes a sentence that starts with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("is empty. Use a profile name such as default.")]
    Empty,
    #[error("contains {0:?}, which an AWS profile name cannot hold. Leave out spaces and [ ] # ;.")]
    BadChar(char),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_fifo_as_the_ca_file_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("corp.pem");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let problem = check_ca_file(&fifo).unwrap_err();
        assert!(
            matches!(&problem, CaProblem::Unreadable(why) if why.contains("FIFO")),
            "{problem:?}"
        );
    }
    use proptest::prelude::*;
    use std::fs;

    /// A config folder inside a temporary directory; the AWS files are never touched here.
    struct Folder {
        _root: tempfile::TempDir,
        paths: AppPaths,
    }

    fn folder() -> Folder {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths {
            config_dir: root.path().join("config").join("rolecall"),
            aws_credentials_file: root.path().join("aws-credentials"),
            aws_config_file: root.path().join("aws-config"),
        };
        Folder { _root: root, paths }
    }

    impl Folder {
        fn write(&self, text: impl AsRef<[u8]>) {
            fs::create_dir_all(&self.paths.config_dir).unwrap();
            fs::write(self.paths.settings_file(), text).unwrap();
        }

        fn load(&self) -> Result<Settings, SettingsError> {
            Settings::load(&self.paths)
        }

        fn load_err(&self, text: &str) -> String {
            self.write(text);
            match self.load() {
                Ok(settings) => panic!("{text:?} should be refused, got {settings:#?}"),
                Err(err) => err.to_string(),
            }
        }

        fn root(&self) -> &Path {
            self._root.path()
        }
    }

    const CORP_URL: &str =
        "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices";

    fn url_of(input: &str) -> String {
        endpoint_url(input)
            .unwrap_or_else(|err| panic!("{input:?} should be accepted: {err}"))
            .to_string()
    }

    fn endpoint(name: &str) -> Endpoint {
        Endpoint::new(name, "sts.corp.example").unwrap()
    }

    fn problem(settings: &Settings) -> Problem {
        settings
            .validate()
            .expect_err("these settings should be refused")
    }

    fn with_preferences(change: impl FnOnce(&mut Preferences)) -> Settings {
        let mut settings = Settings::default();
        change(&mut settings.preferences);
        settings
    }

    // ---- Loading ----------------------------------------------------------------------------

    #[test]
    fn a_missing_file_gives_the_defaults() {
        let folder = folder();
        let settings = folder.load().unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.preferences.active_profile, "default");
        assert_eq!(
            settings.preferences.profile_template,
            "{account_alias}-{role}"
        );
        assert_eq!(settings.preferences.session_duration_secs, 3600);
        assert_eq!(settings.preferences.refresh_lead_minutes, 15);
        assert_eq!(settings.preferences.notify_lead_minutes, 10);
        assert!(
            !folder.paths.config_dir.exists(),
            "loading must not create the folder"
        );
    }

    #[test]
    fn a_hand_written_file_loads_with_defaults_for_what_it_leaves_out() {
        let folder = folder();
        folder.write(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\n\
             [preferences]\ndefault_region = \"eu-west-1\"\n",
        );
        let settings = folder.load().unwrap();
        let corp = settings.endpoint("corp").unwrap();
        assert_eq!(corp.url.as_str(), CORP_URL);
        assert_eq!(corp.method, SignInMethod::Auto);
        assert_eq!(corp.proxy, ProxySetting::System);
        assert_eq!(
            settings.preferences.default_region.as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(settings.preferences.session_duration_secs, 3600);
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let folder = folder();
        folder.write("\u{feff}[preferences]\nactive_profile = \"work\"\n");
        assert_eq!(folder.load().unwrap().preferences.active_profile, "work");
    }

    #[test]
    fn a_syntax_error_names_the_file_line_and_column() {
        let folder = folder();
        let message = folder.load_err("[preferences]\nactive_profile = \"work\"\nrefresh = = 3\n");
        assert!(
            message.contains(&folder.paths.settings_file().display().to_string()),
            "{message}"
        );
        assert!(message.contains("line 3, column"), "{message}");
        assert!(message.contains("move the file away"), "{message}");
    }

    #[test]
    fn a_wrong_type_names_the_line() {
        let folder = folder();
        let message = folder.load_err("[preferences]\nsession_duration_secs = \"an hour\"\n");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_with_its_place() {
        let folder = folder();
        folder.write(b"[preferences]\nactive_profile = \"w\xffrk\"\n");
        let message = folder.load().unwrap_err().to_string();
        assert!(message.contains("not UTF-8"), "{message}");
        assert!(message.contains("line 2, column 20"), "{message}");
    }

    #[test]
    fn an_unreadable_file_names_the_path() {
        let folder = folder();
        // A folder where the file should be: unreadable even for root.
        fs::create_dir_all(folder.paths.settings_file()).unwrap();
        let message = folder.load().unwrap_err().to_string();
        assert!(
            message.contains("is a folder, not a regular file"),
            "{message}"
        );
        assert!(message.contains("settings.toml"), "{message}");
    }

    /// Typos must not be silently ignored: `sesion_duration_secs` would otherwise do nothing.
    #[test]
    fn unknown_keys_are_named_with_their_place() {
        let folder = folder();
        let message = folder.load_err("[preferences]\nsesion_duration_secs = 7200\n");
        assert!(
            message.contains("unknown setting `sesion_duration_secs`"),
            "{message}"
        );
        assert!(message.contains("in [preferences]"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(
            message.contains("session_duration_secs"),
            "lists the known ones: {message}"
        );

        let message = folder.load_err(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethd = \"forms\"\n",
        );
        assert!(message.contains("`methd`"), "{message}");
        assert!(message.contains("in a [[endpoints]] entry"), "{message}");

        let message = folder.load_err("verbose = true\n");
        assert!(message.contains("`verbose`"), "{message}");
        assert!(message.contains("at the top of the file"), "{message}");
    }

    #[test]
    fn known_keys_are_accepted_everywhere() {
        let folder = folder();
        let pem = folder.root().join("ca.pem");
        fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        folder.write(format!(
            "[preferences]\nactive_profile = \"work\"\nprofile_template = \"{{role}}\"\n\
             session_duration_secs = 7200\nrefresh_lead_minutes = 5\nnotify_lead_minutes = 0\n\
             default_region = \"us-gov-west-1\"\ndefault_output = \"json\"\n\n\
             [[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethod = \"ntlm\"\n\
             username = \"CORP\\\\alice\"\nca_file = {:?}\nproxy = \"none\"\n\
             issuer = \"http://adfs.corp.example/adfs/services/trust\"\n",
            pem.display().to_string()
        ));
        let settings = folder.load().unwrap();
        let corp = settings.endpoint("corp").unwrap();
        assert_eq!(corp.username.as_deref(), Some("CORP\\alice"));
        assert_eq!(corp.ca_file.as_deref(), Some(pem.as_path()));
        assert_eq!(
            corp.issuer.as_deref(),
            Some("http://adfs.corp.example/adfs/services/trust")
        );
        assert_eq!(settings.preferences.default_output.as_deref(), Some("json"));
    }

    /// The hosts a person lists are the only ones besides the endpoint's that get its secrets:
    /// they must be plain host names, kept as written in the file, compared without case.
    #[test]
    fn trusted_hosts_are_plain_host_names() {
        let folder = folder();
        folder.write(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\
             trusted_hosts = [\"Login.Corp.Example.\", \"10.0.0.7\", \"[::1]\"]\n",
        );
        let settings = folder.load().unwrap();
        let corp = settings.endpoint("corp").unwrap();
        assert_eq!(
            corp.trusted_hosts,
            ["login.corp.example", "10.0.0.7", "[::1]"]
        );
        for host in [
            "sts.corp.example",
            "STS.corp.example.",
            "login.corp.example",
            "10.0.0.7",
            "[::1]",
        ] {
            assert!(corp.trusts_host(host), "{host} should be trusted");
        }
        for host in [
            "corp.example",
            "evil.example",
            "login.corp.example.evil.example",
            "127.0.0.2",
        ] {
            assert!(!corp.trusts_host(host), "{host} should not be trusted");
        }

        for bad in [
            "https://login.corp.example",
            "login.corp.example:443",
            "*.corp.example",
            "a/b",
            "",
        ] {
            let message = folder.load_err(&format!(
                "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\ntrusted_hosts = [{bad:?}]\n"
            ));
            assert!(message.contains("is not a host name"), "{bad}: {message}");
            assert!(message.contains("endpoint \"corp\""), "{bad}: {message}");
        }
        let mut settings = Settings::default();
        let mut corp = endpoint("corp");
        corp.trusted_hosts = vec!["Login.corp.example".to_owned()];
        settings.endpoints.push(corp);
        assert!(matches!(problem(&settings), Problem::TrustedHost { .. }));
    }

    #[test]
    fn a_bad_value_in_the_file_names_the_file_and_the_endpoint() {
        let folder = folder();
        let message =
            folder.load_err("[[endpoints]]\nname = \"corp\"\nurl = \"http://sts.corp.example\"\n");
        assert!(
            message.starts_with("In Rolecall's settings file"),
            "{message}"
        );
        assert!(message.contains("endpoint \"corp\""), "{message}");
        assert!(message.contains("Use https://"), "{message}");
    }

    // ---- Saving -----------------------------------------------------------------------------

    fn everything(folder: &Folder) -> Settings {
        let pem = folder.root().join("corp-ca.pem");
        fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let mut corp = endpoint("corp");
        corp.method = SignInMethod::Forms;
        corp.username = Some("alice@corp.example".to_owned());
        corp.ca_file = Some(pem);
        corp.proxy = ProxySetting::parse("http://proxy.corp.example:8080").unwrap();
        let mut okta = Endpoint::new(
            "Okta (partner)",
            "https://corp.okta.com/app/amazon_aws/exk1/sso/saml",
        )
        .unwrap();
        okta.method = SignInMethod::Webview;
        okta.proxy = ProxySetting::None;
        okta.issuer = Some("http://www.okta.com/exk1".to_owned());
        Settings {
            endpoints: vec![corp, okta],
            preferences: Preferences {
                active_profile: "work".to_owned(),
                profile_template: "{endpoint}.{account_id}.{role}".to_owned(),
                session_duration_secs: 43_200,
                refresh_lead_minutes: 20,
                notify_lead_minutes: 0,
                default_region: Some("eu-central-1".to_owned()),
                default_output: Some("table".to_owned()),
                favourites: vec!["arn:aws:iam::111122223333:role/Admin".to_owned()],
                regions: BTreeMap::from([
                    ("111122223333".to_owned(), "eu-west-1".to_owned()),
                    (
                        "arn:aws:iam::111122223333:role/Billing".to_owned(),
                        "us-east-1".to_owned(),
                    ),
                ]),
            },
        }
    }

    #[test]
    fn a_roles_region_wins_over_its_accounts_and_the_default() {
        let folder = folder();
        let preferences = everything(&folder).preferences;
        let region =
            |role: &str| preferences.region_for(&format!("arn:aws:iam::{role}"), &role[..12]);
        assert_eq!(region("111122223333:role/Billing"), Some("us-east-1"));
        assert_eq!(region("111122223333:role/Admin"), Some("eu-west-1"));
        assert_eq!(region("444455556666:role/Admin"), Some("eu-central-1"));
        assert!(preferences.is_favourite("arn:aws:iam::111122223333:role/Admin"));
        let mut bad = everything(&folder);
        bad.preferences
            .regions
            .insert("prod".to_owned(), "eu-west-1".to_owned());
        assert!(matches!(bad.validate(), Err(Problem::RegionKey { .. })));
        let mut bad = everything(&folder);
        bad.preferences
            .regions
            .insert("111122223333".to_owned(), "eu/west".to_owned());
        assert!(matches!(bad.validate(), Err(Problem::Region { .. })));
    }

    #[test]
    fn settings_survive_a_round_trip() {
        let folder = folder();
        let settings = everything(&folder);
        settings.save(&folder.paths).unwrap();
        assert_eq!(folder.load().unwrap(), settings);
        // A second save of what was loaded is byte-for-byte the same file.
        let first = fs::read_to_string(folder.paths.settings_file()).unwrap();
        folder.load().unwrap().save(&folder.paths).unwrap();
        assert_eq!(
            fs::read_to_string(folder.paths.settings_file()).unwrap(),
            first
        );
    }

    #[test]
    fn the_saved_file_says_it_is_rolecalls_and_holds_no_secret_fields() {
        let folder = folder();
        everything(&folder).save(&folder.paths).unwrap();
        let text = fs::read_to_string(folder.paths.settings_file()).unwrap();
        assert!(text.starts_with("# Rolecall's settings."), "{text}");
        assert!(!text.to_lowercase().contains("password"), "{text}");
        assert!(text.contains("method = \"forms\""), "{text}");
        assert!(
            text.contains("proxy = \"http://proxy.corp.example:8080/\""),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_created_owner_only_and_the_file_is_0600() {
        use std::os::unix::fs::PermissionsExt;
        let folder = folder();
        Settings::default().save(&folder.paths).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder.paths.config_dir), 0o700);
        assert_eq!(mode(&folder.paths.settings_file()), 0o600);
    }

    #[test]
    fn saving_replaces_the_file_and_leaves_no_temporary_files() {
        let folder = folder();
        folder.write("# someone else's notes\n");
        everything(&folder).save(&folder.paths).unwrap();
        Settings::default().save(&folder.paths).unwrap();
        let mut names: Vec<String> = fs::read_dir(&folder.paths.config_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["settings.toml", "settings.toml.rolecall.lock"]);
        assert_eq!(folder.load().unwrap(), Settings::default());
    }

    #[test]
    fn invalid_settings_are_not_saved() {
        let folder = folder();
        let settings = with_preferences(|p| p.session_duration_secs = 60);
        let err = settings.save(&folder.paths).unwrap_err();
        assert!(
            matches!(err, SettingsError::Rejected(Problem::OutOfRange { .. })),
            "{err:?}"
        );
        assert!(!folder.paths.settings_file().exists());
    }

    #[test]
    fn concurrent_updates_keep_every_change() {
        let folder = folder();
        let threads: Vec<_> = (0..4)
            .map(|writer| {
                let paths = folder.paths.clone();
                std::thread::spawn(move || {
                    for n in 0..10 {
                        Settings::update(&paths, Settings::default, |settings| {
                            settings
                                .preferences
                                .favourites
                                .push(format!("arn:aws:iam::111122223333:role/W{writer}-{n}"));
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(folder.load().unwrap().preferences.favourites.len(), 40);
    }

    #[test]
    fn the_first_run_proposes_a_free_active_profile_when_default_holds_keys() {
        let folder = folder();
        assert_eq!(
            crate::profiles::first_run_settings(&folder.paths)
                .preferences
                .active_profile,
            "default"
        );
        fs::write(
            &folder.paths.aws_credentials_file,
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n\n\
             [default-2]\naws_access_key_id = AKIAIOSFODNN7EXAMPLF\naws_secret_access_key = y\n",
        )
        .unwrap();
        crate::endpoints::update_settings(&folder.paths, |_| Ok(())).unwrap();
        assert_eq!(
            folder.load().unwrap().preferences.active_profile,
            "default-3"
        );
        // Only the first run chooses; a saved name stays the person's.
        crate::endpoints::update_settings(&folder.paths, |settings| {
            settings.preferences.active_profile = "default".to_owned();
            Ok(())
        })
        .unwrap();
        crate::endpoints::update_settings(&folder.paths, |_| Ok(())).unwrap();
        assert_eq!(folder.load().unwrap().preferences.active_profile, "default");
    }

    #[test]
    fn a_save_that_cannot_write_names_the_file() {
        let folder = folder();
        // A file where the folder should be.
        fs::create_dir_all(folder.paths.config_dir.parent().unwrap()).unwrap();
        fs::write(&folder.paths.config_dir, "").unwrap();
        let message = Settings::default()
            .save(&folder.paths)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("Rolecall could not save its settings to"),
            "{message}"
        );
        assert!(message.contains("settings.toml"), "{message}");
    }

    /// The settings window receives the settings as JSON: URLs as strings, methods and proxies
    /// as the words of the file.
    #[test]
    fn settings_serialise_for_the_settings_window_as_in_the_file() {
        let folder = folder();
        let json = serde_json::to_value(everything(&folder)).unwrap();
        assert_eq!(json["endpoints"][0]["url"], CORP_URL);
        assert_eq!(json["endpoints"][0]["method"], "forms");
        assert_eq!(
            json["endpoints"][0]["proxy"],
            "http://proxy.corp.example:8080/"
        );
        assert_eq!(json["endpoints"][1]["proxy"], "none");
        assert_eq!(json["preferences"]["session_duration_secs"], 43_200);
    }

    // ---- Endpoint URLs ----------------------------------------------------------------------

    #[test]
    fn a_bare_host_expands_to_the_adfs_sign_on_page_for_aws() {
        assert_eq!(url_of("sts.corp.example"), CORP_URL);
        assert_eq!(
            url_of("  STS.Corp.Example  "),
            CORP_URL,
            "hosts are lower-cased"
        );
        assert_eq!(
            url_of("sts.corp.example:8443"),
            CORP_URL.replace("example/", "example:8443/")
        );
    }

    #[test]
    fn an_https_host_with_no_path_or_the_start_of_the_adfs_path_expands() {
        for input in [
            "https://sts.corp.example",
            "https://sts.corp.example/",
            "https://sts.corp.example/adfs",
            "https://sts.corp.example/adfs/",
            "https://sts.corp.example/adfs/ls",
            "https://sts.corp.example/ADFS/ls/",
        ] {
            assert_eq!(url_of(input), CORP_URL, "{input}");
        }
    }

    #[test]
    fn the_sign_on_page_without_a_query_is_sent_straight_to_aws() {
        assert_eq!(
            url_of("https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx"),
            CORP_URL
        );
    }

    #[test]
    fn a_full_idp_initiated_url_is_kept_as_it_is() {
        for input in [
            CORP_URL,
            "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices:govcloud",
            "https://corp.okta.com/app/amazon_aws/exk1/sso/saml",
            "https://idp.corp.example/?RelayState=x",
            "https://sts.corp.example/adfs/services/trust",
        ] {
            assert_eq!(url_of(input), input, "{input}");
        }
    }

    #[test]
    fn http_is_refused_except_to_loopback() {
        for input in [
            "http://127.0.0.1:8443/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=x",
            "http://127.9.9.9:8443",
            "http://[::1]:8443",
            "http://localhost:8443",
            "http://LOCALHOST",
        ] {
            assert!(endpoint_url(input).is_ok(), "{input} is loopback");
        }
        for input in [
            "http://sts.corp.example",
            "http://10.0.0.1",
            "http://localhost.corp.example",
            "http://[::2]",
        ] {
            assert_eq!(endpoint_url(input), Err(UrlProblem::Insecure), "{input}");
        }
        let message = Endpoint::new("corp", "http://sts.corp.example")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(
                "The URL of endpoint \"corp\" (\"http://sts.corp.example\") uses http://"
            ),
            "{message}"
        );
        assert!(message.contains("Use https://"), "{message}");
    }

    #[test]
    fn urls_that_are_not_https_sign_in_pages_are_refused_with_a_reason() {
        assert_eq!(endpoint_url(""), Err(UrlProblem::Empty));
        assert_eq!(endpoint_url("   "), Err(UrlProblem::Empty));
        assert!(matches!(
            endpoint_url("https://"),
            Err(UrlProblem::NotUrl(_))
        ));
        assert!(matches!(
            endpoint_url("sts corp"),
            Err(UrlProblem::NotUrl(_))
        ));
        assert_eq!(
            endpoint_url("ftp://sts.corp.example"),
            Err(UrlProblem::Scheme("ftp".to_owned()))
        );
        assert_eq!(
            endpoint_url("https://alice:pw@sts.corp.example"),
            Err(UrlProblem::Credentials)
        );
    }

    // ---- Endpoints --------------------------------------------------------------------------

    #[test]
    fn endpoints_need_a_name() {
        assert!(Endpoint::new("corp", "sts.corp.example").is_ok());
        let message = Endpoint::new(" ", "sts.corp.example")
            .unwrap_err()
            .to_string();
        assert!(message.contains("has no name"), "{message}");

        let folder = folder();
        let message = folder.load_err("[[endpoints]]\nurl = \"sts.corp.example\"\n");
        assert!(
            message.contains("Endpoint number 1 has no name"),
            "{message}"
        );
    }

    #[test]
    fn endpoint_names_are_tidy() {
        assert!(Endpoint::new("Corp (EU) – prod", "sts.corp.example").is_ok());
        for (name, reason) in [
            (" corp", "starts or ends with a space"),
            ("co\trp", "control character"),
            (&*"x".repeat(65), "longer than 64"),
        ] {
            let message = Endpoint::new(name, "sts.corp.example")
                .unwrap_err()
                .to_string();
            assert!(message.contains(reason), "{name:?}: {message}");
        }
    }

    #[test]
    fn endpoint_names_are_unique() {
        let two = Settings {
            endpoints: vec![endpoint("corp"), endpoint("lab")],
            ..Settings::default()
        };
        assert_eq!(two.validate(), Ok(()));
        let twins = Settings {
            endpoints: vec![endpoint("corp"), endpoint("corp")],
            ..Settings::default()
        };
        assert_eq!(
            problem(&twins).to_string(),
            "Two endpoints are named \"corp\". Give each endpoint its own name."
        );
    }

    #[test]
    fn every_method_is_known_by_its_name_and_others_are_listed() {
        let folder = folder();
        for method in SignInMethod::ALL {
            folder.write(format!(
                "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethod = \"{method}\"\n"
            ));
            assert_eq!(folder.load().unwrap().endpoints[0].method, method);
        }
        let message = folder.load_err(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethod = \"saml\"\n",
        );
        assert!(
            message.contains(
                "Endpoint \"corp\" has an unknown sign-in method \"saml\". Use one of: auto, \
                 windows, kerberos, ntlm, forms, webview."
            ),
            "{message}"
        );
    }

    #[test]
    fn usernames_are_optional_but_never_blank() {
        let mut corp = endpoint("corp");
        corp.username = Some("alice@corp.example".to_owned());
        assert_eq!(corp.check(1), Ok(()));
        corp.username = Some("  ".to_owned());
        assert!(matches!(corp.check(1), Err(Problem::Username { .. })));
    }

    #[test]
    fn a_ca_file_must_be_an_existing_pem_certificate() {
        let folder = folder();
        let mut corp = endpoint("corp");
        let pem = folder.root().join("ca.pem");
        fs::write(&pem, "subject=CN=Corp\n-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        corp.ca_file = Some(pem);
        assert_eq!(corp.check(1), Ok(()));

        let der = folder.root().join("ca.cer");
        fs::write(&der, [0x30, 0x82, 0x01, 0x0a]).unwrap();
        for (path, reason) in [
            (folder.root().join("missing.pem"), CaProblem::Missing),
            (der, CaProblem::NotPem),
            (PathBuf::from("ca.pem"), CaProblem::NotAbsolute),
        ] {
            corp.ca_file = Some(path.clone());
            match corp.check(1) {
                Err(Problem::CaFile { reason: got, .. }) => assert_eq!(got, reason, "{path:?}"),
                other => panic!("{path:?}: expected {reason:?}, got {other:?}"),
            }
        }
        corp.ca_file = Some(folder.root().to_owned());
        let message = corp.check(1).unwrap_err().to_string();
        assert!(
            message.contains("cannot be read"),
            "a folder is not a CA file: {message}"
        );
        assert!(
            message.starts_with("The CA file of endpoint \"corp\", /"),
            "{message}"
        );

        corp.ca_file = Some(folder.root().join("missing.pem"));
        let message = corp.check(1).unwrap_err().to_string();
        assert!(message.contains("remove ca_file"), "{message}");
    }

    #[test]
    fn settings_whose_ca_file_went_away_still_load_and_save() {
        let folder = folder();
        let pem = folder.root().join("ca.pem");
        fs::write(&pem, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        let mut corp = endpoint("corp");
        corp.ca_file = Some(pem.clone());
        let mut settings = Settings::default();
        settings.add_endpoint(corp.clone()).unwrap();
        settings.save(&folder.paths).unwrap();
        fs::remove_file(&pem).unwrap();

        let loaded = Settings::load(&folder.paths).expect("a gone CA file does not fail the load");
        assert_eq!(loaded.endpoint("corp"), Some(&corp));
        loaded
            .save(&folder.paths)
            .expect("nor a save that keeps it");
        let mut entered = Settings::default();
        assert!(
            matches!(
                entered.add_endpoint(corp),
                Err(SettingsError::Rejected(Problem::CaFile { .. }))
            ),
            "entering it is still refused"
        );
    }

    #[test]
    fn proxies_are_system_none_or_a_plain_url() {
        assert_eq!(ProxySetting::parse("system"), Ok(ProxySetting::System));
        assert_eq!(ProxySetting::parse("None"), Ok(ProxySetting::None));
        assert_eq!(
            ProxySetting::parse("proxy.corp.example:8080"),
            Ok(ProxySetting::Url(
                Url::parse("http://proxy.corp.example:8080").unwrap()
            )),
            "http:// is assumed, as curl and reqwest do"
        );
        assert!(ProxySetting::parse("socks5h://127.0.0.1:1080").is_ok());
        assert!(ProxySetting::parse("http://alice@proxy.corp.example:8080").is_ok());

        assert!(matches!(
            ProxySetting::parse("http://proxy:99999"),
            Err(ProxyProblem::NotUrl(_))
        ));
        assert_eq!(
            ProxySetting::parse("ftp://proxy.corp.example"),
            Err(ProxyProblem::Scheme("ftp".to_owned()))
        );
        assert_eq!(
            ProxySetting::parse("http://alice:pw@proxy.corp.example:8080"),
            Err(ProxyProblem::Password)
        );
        assert_eq!(
            ProxySetting::parse("http://proxy.corp.example/pac.js"),
            Err(ProxyProblem::Path)
        );

        let folder = folder();
        let message = folder.load_err(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nproxy = \"http://a:b@p\"\n",
        );
        assert!(
            message.contains("The proxy of endpoint \"corp\""),
            "{message}"
        );
        assert!(message.contains("contains a password"), "{message}");
    }

    #[test]
    fn an_edit_keeps_the_pinned_issuer_unless_it_is_forgotten_or_the_url_changes() {
        let mut before = endpoint("corp");
        before.issuer = Some("http://sts.corp.example/adfs/services/trust".to_owned());
        let mut edited = endpoint("corp");
        edited.keep_issuer_of(&before, false);
        assert_eq!(edited.issuer, before.issuer, "an edit keeps the pin");
        edited.keep_issuer_of(&before, true);
        assert_eq!(edited.issuer, None, "the person forgot it");
        let mut moved = Endpoint::new("corp", "https://idp.other.example/sso/aws").unwrap();
        moved.keep_issuer_of(&before, false);
        assert_eq!(moved.issuer, None, "another IdP pins its own");
    }

    #[test]
    fn endpoints_can_be_added_updated_and_removed() {
        let mut settings = Settings::default();
        settings.add_endpoint(endpoint("corp")).unwrap();
        settings.add_endpoint(endpoint("lab")).unwrap();
        let err = settings.add_endpoint(endpoint("corp")).unwrap_err();
        assert!(
            matches!(err, SettingsError::Rejected(Problem::DuplicateName { .. })),
            "{err:?}"
        );

        let mut renamed = endpoint("corp-eu");
        renamed.method = SignInMethod::Kerberos;
        settings.update_endpoint("corp", renamed.clone()).unwrap();
        assert_eq!(
            settings.endpoints[0], renamed,
            "an update keeps the endpoint's place"
        );
        let err = settings
            .update_endpoint("corp-eu", endpoint("lab"))
            .unwrap_err();
        assert!(
            matches!(err, SettingsError::Rejected(Problem::DuplicateName { .. })),
            "{err:?}"
        );
        settings.update_endpoint("lab", endpoint("lab")).unwrap();

        assert_eq!(settings.remove_endpoint("lab").unwrap().name, "lab");
        let err = settings.remove_endpoint("lab").unwrap_err();
        assert_eq!(
            err.to_string(),
            "There is no endpoint named \"lab\". Check the name in Settings → Endpoints."
        );
        assert_eq!(settings.endpoints.len(), 1);
    }

    // ---- Preferences ------------------------------------------------------------------------

    #[test]
    fn templates_use_only_known_placeholders() {
        for template in [
            "{account_alias}-{role}",
            "{endpoint}/{account_id}/{role}",
            "aws",
        ] {
            assert_eq!(
                with_preferences(|p| p.profile_template = template.to_owned()).validate(),
                Ok(()),
                "{template}"
            );
        }
        let message = problem(&with_preferences(|p| {
            p.profile_template = "{account}-{role}".to_owned()
        }))
        .to_string();
        assert_eq!(
            message,
            "The profile name template \"{account}-{role}\" uses {account}, which Rolecall does \
             not know. Use {account_alias}, {account_id}, {role} and {endpoint}."
        );
        for (template, expected) in [
            ("", TemplateProblem::Empty),
            ("{role", TemplateProblem::Unbalanced),
            ("role}", TemplateProblem::Unbalanced),
            ("{{role}}", TemplateProblem::Unbalanced),
            ("{account_alias} {role}", TemplateProblem::BadChar(' ')),
            ("[{role}]", TemplateProblem::BadChar('[')),
        ] {
            assert_eq!(
                problem(&with_preferences(
                    |p| p.profile_template = template.to_owned()
                )),
                Problem::Template {
                    template: template.to_owned(),
                    reason: expected
                },
                "{template:?}"
            );
        }
    }

    #[test]
    fn the_active_profile_is_a_valid_profile_name() {
        assert_eq!(
            with_preferences(|p| p.active_profile = "corp-admin".to_owned()).validate(),
            Ok(())
        );
        let message = problem(&with_preferences(|p| {
            p.active_profile = "my profile".to_owned()
        }))
        .to_string();
        assert!(
            message.starts_with("The active profile name \"my profile\" contains ' '"),
            "{message}"
        );
    }

    #[test]
    fn session_durations_are_what_sts_accepts() {
        for secs in [900, 3600, 43_200] {
            assert_eq!(
                with_preferences(|p| {
                    p.session_duration_secs = secs;
                    p.refresh_lead_minutes = 5;
                    p.notify_lead_minutes = 5;
                })
                .validate(),
                Ok(()),
                "{secs}"
            );
        }
        for secs in [0, 899, 43_201] {
            let message =
                problem(&with_preferences(|p| p.session_duration_secs = secs)).to_string();
            assert_eq!(
                message,
                format!(
                    "session_duration_secs is {secs}; use a value from 900 to 43200 seconds \
                     (15 minutes to 12 hours)."
                )
            );
        }
    }

    #[test]
    fn lead_times_are_in_range_and_shorter_than_the_session() {
        assert_eq!(
            with_preferences(|p| p.refresh_lead_minutes = 0).validate(),
            Err(Problem::OutOfRange {
                field: "refresh_lead_minutes",
                value: 0,
                min: 1,
                max: 120,
                unit: " minutes"
            })
        );
        assert!(matches!(
            with_preferences(|p| p.notify_lead_minutes = 121).validate(),
            Err(Problem::OutOfRange {
                field: "notify_lead_minutes",
                ..
            })
        ));
        let message = problem(&with_preferences(|p| {
            p.session_duration_secs = 900;
            p.refresh_lead_minutes = 15;
        }))
        .to_string();
        assert!(
            message
                .starts_with("refresh_lead_minutes (15 minutes) must be shorter than the session"),
            "{message}"
        );
        assert_eq!(
            with_preferences(|p| {
                p.session_duration_secs = 900;
                p.refresh_lead_minutes = 14;
                p.notify_lead_minutes = 14;
            })
            .validate(),
            Ok(())
        );
    }

    #[test]
    fn regions_and_outputs_are_ones_aws_knows() {
        for region in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
        ] {
            assert_eq!(
                with_preferences(|p| p.default_region = Some(region.to_owned())).validate(),
                Ok(()),
                "{region}"
            );
        }
        for region in [
            "",
            "us-east",
            "US-EAST-1",
            "east-1",
            "us_east_1",
            "us-east-1a",
            // The STS endpoint and the console refuse it: settings must too.
            "us-east-1234",
        ] {
            assert!(
                matches!(
                    with_preferences(|p| p.default_region = Some(region.to_owned())).validate(),
                    Err(Problem::Region { .. })
                ),
                "{region:?}"
            );
        }
        assert_eq!(
            with_preferences(|p| p.default_output = Some("yaml-stream".to_owned())).validate(),
            Ok(())
        );
        let message = problem(&with_preferences(|p| {
            p.default_output = Some("xml".to_owned())
        }))
        .to_string();
        assert!(
            message.contains("Use json, yaml, yaml-stream, text or table"),
            "{message}"
        );
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\né", 5), (2, 2));
        assert_eq!(
            line_column("é", 1),
            (1, 1),
            "a split character counts from its start"
        );
    }

    // ---- Robustness -------------------------------------------------------------------------

    fn near_valid() -> impl Strategy<Value = Vec<u8>> {
        let valid = b"[preferences]\nactive_profile = \"work\"\nsession_duration_secs = 3600\n\n\
                      [[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\
                      method = \"forms\"\nproxy = \"none\"\n"
            .to_vec();
        (
            Just(valid),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        )
            .prop_map(|(mut bytes, edits)| {
                for (at, byte) in edits {
                    let index = at.index(bytes.len());
                    bytes[index] = byte;
                }
                bytes
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever is in the file, loading gives settings or an error, never a panic.
        #[test]
        fn load_never_panics(bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "\\PC{0,300}".prop_map(String::into_bytes),
            near_valid(),
        ]) {
            let folder = folder();
            folder.write(&bytes);
            match folder.load() {
                Ok(settings) => prop_assert_eq!(settings.validate(), Ok(())),
                Err(err) => prop_assert!(err.to_string().ends_with('.'), "{}", err),
            }
        }
    }
}
