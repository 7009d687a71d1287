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

/// Where a copied SAMLResponse is found in a browser, for the messages below.
const WHERE_TO_COPY: &str = "In the browser, sign in to AWS through your identity provider with \
     the developer tools open (Network tab), select the POST to AWS's sign-in page (its URL ends in /saml) \
     and copy the SAMLResponse value of its form data (Payload), then run the command within 5 \
     minutes.";

/// Reads a `SAMLResponse` the person copied from a browser (`rolecall login
/// --saml-response-file`), the last resort when Rolecall cannot sign in to the IdP itself: the
/// base64 value as the developer tools show it, also URL-encoded or with the `SAMLResponse=`
/// name in front. Refuses what AWS would refuse at `now`: no roles, or past its `NotOnOrAfter`.
pub fn copied_response(
    text: &str,
    now: time::OffsetDateTime,
) -> Result<crate::saml::Assertion, CopiedResponseError> {
    let text = text.trim();
    let text = text.strip_prefix("SAMLResponse=").unwrap_or(text);
    if text.is_empty() {
        return Err(CopiedResponseError::Empty);
    }
    // A value copied from the raw request body is URL-encoded (`%2B` for `+`).
    let decoded;
    let text = if text.contains('%') {
        decoded = url::form_urlencoded::parse(format!("v={text}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        decoded.as_str()
    } else {
        text
    };
    let assertion = crate::saml::parse_response(text).map_err(|err| match err {
        crate::saml::SamlError::NotBase64
        | crate::saml::SamlError::NotXml { .. }
        | crate::saml::SamlError::NotResponse => CopiedResponseError::NotResponse,
        other => CopiedResponseError::Unusable(other),
    })?;
    if let Some(limit) = assertion.not_on_or_after
        && assertion.is_expired_at(now)
    {
        return Err(CopiedResponseError::Expired {
            at: limit
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| limit.to_string()),
        });
    }
    Ok(assertion)
}

/// Why a copied SAMLResponse cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CopiedResponseError {
    #[error("The SAML response given is empty. {WHERE_TO_COPY}")]
    Empty,
    #[error(
        "What was given is not a SAML response (base64 of a samlp:Response): copy the whole \
         SAMLResponse value, nothing else. {WHERE_TO_COPY}"
    )]
    NotResponse,
    #[error(
        "The SAML response expired at {at} (its NotOnOrAfter), so AWS would refuse it. Copy a \
         new one: {WHERE_TO_COPY}"
    )]
    Expired { at: String },
    #[error(transparent)]
    Unusable(crate::saml::SamlError),
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

#[cfg(test)]
mod copied_response_tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn response(not_on_or_after: &str, role: &str) -> String {
        STANDARD.encode(format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="https://signin.aws.amazon.com/saml"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Conditions NotOnOrAfter="{not_on_or_after}"/><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>alice@corp.example</saml:AttributeValue></saml:Attribute>{role}</saml:AttributeStatement></saml:Assertion></samlp:Response>"#
        ))
    }

    const ADMIN: &str = r#"<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>arn:aws:iam::111122223333:role/Admin,arn:aws:iam::111122223333:saml-provider/ADFS</saml:AttributeValue></saml:Attribute>"#;
    const NOW: time::OffsetDateTime = time::macros::datetime!(2026-12-02 10:00 UTC);

    #[test]
    fn a_copied_response_is_read_as_copied_or_url_encoded() {
        let base64 = response("2026-12-02T10:05:00Z", ADMIN);
        let encoded: String = url::form_urlencoded::byte_serialize(base64.as_bytes()).collect();
        for copied in [
            base64.clone(),
            format!("  {base64}\n"),
            format!("SAMLResponse={encoded}"),
            encoded,
        ] {
            let assertion = copied_response(&copied, NOW).unwrap();
            assert_eq!(
                assertion.roles[0].role_arn, "arn:aws:iam::111122223333:role/Admin",
                "{copied}"
            );
            assert_eq!(
                assertion.raw.expose(),
                &base64,
                "STS gets the base64 itself"
            );
        }
    }

    #[test]
    fn what_aws_would_refuse_is_refused_saying_what_to_do() {
        let expired = copied_response(&response("2026-12-02T09:59:00Z", ADMIN), NOW).unwrap_err();
        assert!(
            matches!(expired, CopiedResponseError::Expired { .. })
                && expired.to_string().contains("2026-12-02T09:59:00Z")
                && expired.to_string().contains("Copy a new one"),
            "{expired}"
        );
        let no_roles = copied_response(&response("2026-12-02T10:05:00Z", ""), NOW).unwrap_err();
        assert!(
            matches!(
                no_roles,
                CopiedResponseError::Unusable(crate::saml::SamlError::NoRoles)
            ),
            "{no_roles:?}"
        );
        for junk in [
            "not base64 at all!",
            "aGVsbG8gd29ybGQ=",
            "PGh0bWw+PC9odG1sPg==",
        ] {
            let err = copied_response(junk, NOW).unwrap_err();
            assert!(
                matches!(err, CopiedResponseError::NotResponse)
                    && err.to_string().contains("SAMLResponse value"),
                "{junk}: {err}"
            );
        }
        assert!(matches!(
            copied_response(" \n", NOW),
            Err(CopiedResponseError::Empty)
        ));
    }
}
