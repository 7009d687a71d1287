//! `last-sign-in.json` in Rolecall's folder: what each endpoint's last sign-in's assertion said,
//! so `rolecall doctor` can show a help desk the Issuer, Destination, Audience, expiry, session
//! length and roles without signing in again.
//!
//! It keeps a summary only: never the assertion, its signature, a password, a cookie or a
//! token. Every field is what the tray and `rolecall roles` show anyway. A summary that cannot
//! be written costs the doctor its last section, never a sign-in.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::idp::SignedInVia;
use crate::saml::Assertion;
use crate::store::{JsonFile, StoreError};

/// What one sign-in's assertion said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSignIn {
    /// When the sign-in ended.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// How the person was signed in: `password`, `kerberos`, `single sign-on`, ...
    pub via: String,
    pub issuer: Option<String>,
    pub destination: Option<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_on_or_after: Option<OffsetDateTime>,
    pub session_duration: Option<u32>,
    pub role_session_name: String,
    /// The AWS partition's id (`aws`, `aws-us-gov`, ...).
    pub partition: String,
    pub region: Option<String>,
    /// The role ARNs the assertion grants, in its order.
    pub roles: Vec<String>,
}

impl LastSignIn {
    /// The summary of `assertion`, taken at `at`.
    pub fn of(assertion: &Assertion, via: Via, at: OffsetDateTime) -> Self {
        Self {
            at,
            via: via.word().to_owned(),
            issuer: assertion.issuer.clone(),
            destination: assertion.destination.clone(),
            audiences: assertion.audiences.clone(),
            not_on_or_after: assertion.not_on_or_after,
            session_duration: assertion.session_duration,
            role_session_name: assertion.role_session_name.clone(),
            partition: assertion.partition.id().to_owned(),
            region: assertion.region.clone(),
            roles: assertion
                .roles
                .iter()
                .map(|role| role.role_arn.clone())
                .collect(),
        }
    }
}

/// How a sign-in got its assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Idp(SignedInVia),
    /// The IdP's own pages, in the sign-in window.
    Window,
}

impl Via {
    fn word(self) -> &'static str {
        match self {
            Via::Idp(SignedInVia::SingleSignOn) => "single sign-on session",
            Via::Idp(SignedInVia::Kerberos) => "kerberos",
            Via::Idp(SignedInVia::Password) => "password",
            Via::Idp(SignedInVia::PasswordAndPasscode) => "password and passcode",
            Via::Window => "sign-in window",
        }
    }
}

pub const FILE_NAME: &str = "last-sign-in.json";

fn file(config_dir: &Path) -> JsonFile<BTreeMap<String, LastSignIn>> {
    JsonFile::new(config_dir.join(FILE_NAME))
}

/// Keeps `summary` as `endpoint`'s last sign-in.
pub fn record(config_dir: &Path, endpoint: &str, summary: LastSignIn) -> Result<(), StoreError> {
    file(config_dir).update(|all| {
        all.insert(endpoint.to_owned(), summary);
        Ok::<_, StoreError>(())
    })
}

/// [`record`], for a sign-in path that goes on whatever happens: a failure is logged.
pub fn record_or_log(config_dir: &Path, endpoint: &str, summary: LastSignIn) {
    if let Err(err) = record(config_dir, endpoint, summary) {
        tracing::warn!("could not keep the summary of the sign-in: {err}");
    }
}

/// Every endpoint's last sign-in (empty when none was kept).
pub fn read(config_dir: &Path) -> Result<BTreeMap<String, LastSignIn>, StoreError> {
    file(config_dir).load()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::parse_response_xml;

    const ASSERTION_SECRET: &str = "c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw";

    fn response() -> Vec<u8> {
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="https://signin.aws.amazon.com/saml"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://sts.corp.example/adfs/services/trust</saml:Issuer><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>{ASSERTION_SECRET}</ds:SignatureValue></ds:Signature><saml:Conditions NotOnOrAfter="2026-12-02T11:00:00Z"><saml:AudienceRestriction><saml:Audience>urn:amazon:webservices</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>alice@corp.example</saml:AttributeValue></saml:Attribute><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>arn:aws:iam::111122223333:role/Admin,arn:aws:iam::111122223333:saml-provider/ADFS</saml:AttributeValue></saml:Attribute><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration"><saml:AttributeValue>3600</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#
        )
        .into_bytes()
    }

    #[test]
    fn the_summary_keeps_what_a_help_desk_reads_and_never_the_assertion() {
        let dir = tempfile::tempdir().unwrap();
        let assertion = parse_response_xml(&response()).unwrap();
        let at = time::macros::datetime!(2026-12-02 10:00 UTC);
        record(
            dir.path(),
            "corp",
            LastSignIn::of(&assertion, Via::Idp(SignedInVia::Password), at),
        )
        .unwrap();

        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            !text.contains(ASSERTION_SECRET) && !text.contains(&assertion.raw.expose()[..40]),
            "neither the signature nor the assertion is kept: {text}"
        );
        let kept = read(dir.path()).unwrap();
        let corp = &kept["corp"];
        assert_eq!(
            corp.issuer.as_deref(),
            Some("http://sts.corp.example/adfs/services/trust")
        );
        assert_eq!(
            corp.destination.as_deref(),
            Some("https://signin.aws.amazon.com/saml")
        );
        assert_eq!(corp.audiences, ["urn:amazon:webservices"]);
        assert_eq!(corp.session_duration, Some(3600));
        assert_eq!(
            corp.not_on_or_after,
            Some(time::macros::datetime!(2026-12-02 11:00 UTC))
        );
        assert_eq!(corp.roles, ["arn:aws:iam::111122223333:role/Admin"]);
        assert_eq!(corp.via, "password");
        assert_eq!(corp.at, at);
    }

    #[test]
    fn each_endpoint_keeps_its_own_last_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let assertion = parse_response_xml(&response()).unwrap();
        let first = time::macros::datetime!(2026-12-02 10:00 UTC);
        for (endpoint, at) in [
            ("corp", first),
            ("lab", first),
            ("corp", first + time::Duration::hours(1)),
        ] {
            record(
                dir.path(),
                endpoint,
                LastSignIn::of(&assertion, Via::Window, at),
            )
            .unwrap();
        }
        let kept = read(dir.path()).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept["corp"].at, first + time::Duration::hours(1));
        assert_eq!(kept["lab"].at, first);
    }
}
