//! What a sign-in is asked for, before any IdP is contacted: an endpoint from the settings or
//! one given only by its URL, with what the person overrides for this one sign-in. The command
//! line and the app read the same rules here.

use std::path::PathBuf;

use crate::settings::{Endpoint, Settings, SettingsError, SignInMethod};

/// Which endpoint to sign in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One of the settings' endpoints, by name.
    Named(String),
    /// An endpoint that is in no settings: its sign-on URL as the person typed it.
    Url(String),
}

/// What this sign-in changes of the endpoint's settings; nothing is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub method: Option<SignInMethod>,
    pub username: Option<String>,
    pub ca_file: Option<PathBuf>,
}

/// The endpoint to sign in to, with the overrides applied. An endpoint given by URL is named
/// after its host, so its secrets and webview data are kept under that name.
pub fn endpoint(
    settings: &Settings,
    target: &Target,
    overrides: &Overrides,
) -> Result<Endpoint, TargetError> {
    let mut endpoint = match target {
        Target::Named(name) => {
            settings
                .endpoint(name)
                .cloned()
                .ok_or_else(|| TargetError::NoEndpoint {
                    name: name.clone(),
                    known: settings.endpoints.iter().map(|e| e.name.clone()).collect(),
                })?
        }
        Target::Url(url) => Endpoint::new(name_of_url(url), url).map_err(TargetError::Url)?,
    };
    if let Some(method) = overrides.method {
        endpoint.method = method;
    }
    if let Some(username) = &overrides.username {
        endpoint.username = Some(username.clone());
    }
    if let Some(ca_file) = &overrides.ca_file {
        endpoint.ca_file = Some(ca_file.clone());
    }
    Ok(endpoint)
}

/// The host of a typed URL, or what looks like one when it does not parse (the URL check that
/// follows says what is wrong with it).
fn name_of_url(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|parsed| parsed.host_str().map(str::to_owned))
        .unwrap_or_else(|| {
            url.trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or(url)
                .to_owned()
        })
}

/// Why there is no endpoint to sign in to.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("there is no endpoint named \"{name}\" ({}).", known_list(known))]
    NoEndpoint { name: String, known: Vec<String> },
    #[error(transparent)]
    Url(SettingsError),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "there are none yet: add one in Settings or use --url".to_owned()
    } else {
        format!("the endpoints are: {}", known.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_given_by_url_is_named_after_its_host() {
        let settings = Settings::default();
        let endpoint = endpoint(
            &settings,
            &Target::Url("https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx".into()),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(endpoint.name, "sts.corp.example");
        assert_eq!(name_of_url("sts.corp.example:443/adfs"), "sts.corp.example");
    }

    #[test]
    fn overrides_apply_to_this_sign_in_only() {
        let mut settings = Settings::default();
        let mut corp = Endpoint::new("corp", "https://sts.corp.example").unwrap();
        corp.username = Some("alice".into());
        settings.endpoints.push(corp);
        let overrides = Overrides {
            method: Some(SignInMethod::Forms),
            username: Some("bob".into()),
            ca_file: Some("/etc/corp.pem".into()),
        };
        let endpoint = endpoint(&settings, &Target::Named("corp".into()), &overrides).unwrap();
        assert_eq!(endpoint.method, SignInMethod::Forms);
        assert_eq!(endpoint.username.as_deref(), Some("bob"));
        assert_eq!(endpoint.ca_file, Some(PathBuf::from("/etc/corp.pem")));
        assert_eq!(settings.endpoints[0].username.as_deref(), Some("alice"));
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let mut settings = Settings::default();
        let missing = endpoint(
            &settings,
            &Target::Named("corp".into()),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("there are none yet"), "{missing}");
        settings
            .endpoints
            .push(Endpoint::new("work", "https://sts.work.example").unwrap());
        let missing = endpoint(
            &settings,
            &Target::Named("corp".into()),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("the endpoints are: work"), "{missing}");
    }
}
