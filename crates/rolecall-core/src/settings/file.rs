//! The settings file: its TOML shape, reading it with messages that point at the line, and
//! writing it.

use super::*;

// ---- The file's shape -------------------------------------------------------------------------
//
// Values are read as plain strings first and checked afterwards, so a bad value gets a message
// that names its endpoint and says what to do, not a deserializer's "expected one of".

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSettings {
    #[serde(default)]
    preferences: FilePreferences,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    endpoints: Vec<FileEndpoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    chains: Vec<FileChain>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileChain {
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    source_role: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_name: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePreferences {
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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    console_browsers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    account_names: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileEndpoint {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    console_browser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_me_signed_in: Option<bool>,
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
                console_browsers: p.console_browsers.clone(),
                account_names: p.account_names.clone(),
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
                    console_browser: endpoint.console_browser.clone(),
                    claims_provider: endpoint.claims_provider.clone(),
                    // Written only when on: off is what AD FS's page does by itself.
                    keep_me_signed_in: endpoint.keep_me_signed_in.then_some(true),
                })
                .collect(),
            chains: settings
                .chains
                .iter()
                .map(|chain| FileChain {
                    name: Some(chain.name.clone()),
                    endpoint: chain.endpoint.clone(),
                    source_role: Some(chain.source_role.clone()),
                    roles: chain.chain.roles.clone(),
                    external_id: chain.chain.external_id.clone(),
                    session_name: chain.chain.session_name.clone(),
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
            console_browsers: p.console_browsers,
            account_names: p.account_names,
        };
        let endpoints = file
            .endpoints
            .into_iter()
            .enumerate()
            .map(|(index, endpoint)| endpoint_from_file(endpoint, index + 1))
            .collect::<Result<_, _>>()?;
        let chains = file
            .chains
            .into_iter()
            .map(|chain| ChainSetting {
                name: chain.name.unwrap_or_default(),
                endpoint: chain.endpoint,
                source_role: chain.source_role.unwrap_or_default(),
                chain: crate::chain::Chain {
                    roles: chain.roles,
                    external_id: chain.external_id,
                    session_name: chain.session_name,
                },
            })
            .collect();
        Ok(Self {
            endpoints,
            preferences,
            chains,
        })
    }
}

pub(super) fn endpoint_from_file(file: FileEndpoint, position: usize) -> Result<Endpoint, Problem> {
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
        console_browser: file.console_browser,
        claims_provider: file.claims_provider,
        keep_me_signed_in: file.keep_me_signed_in.unwrap_or(false),
    })
}

// ---- Reading and writing ----------------------------------------------------------------------

pub(super) fn load_file(path: &Path) -> Result<Settings, SettingsError> {
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
pub(super) fn save_error(path: &Path, err: StoreError) -> SettingsError {
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
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
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

pub(super) fn describe_toml_error(path: &Path, text: &str, err: &toml::de::Error) -> SettingsError {
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
pub(super) fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest.strip_prefix(", expected ").unwrap_or(rest);
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    Some((key.to_owned(), expected.replace('`', "")))
}

/// Where in the file `offset` is, in words: the table whose header comes last before it.
pub(super) fn place_of(text: &str, offset: usize) -> String {
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
