//! `last-sign-in.json` in Rolecall's folder: what each endpoint's last sign-in's assertion said,
//! so `rolecall doctor` can show a help desk the Issuer, Destination, Audience, expiry, session
//! length and roles without signing in again.
//!
//! When STS then refused an AssumeRoleWithSAML with that assertion, the summary keeps the
//! last refusal too, AWS's code and message word for word, for the settings window and the
//! doctor to show.
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
use crate::sts::AwsAnswer;

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
    /// The last AssumeRoleWithSAML that STS refused with this sign-in's assertion.
    #[serde(default)]
    pub sts_refusal: Option<StsRefusal>,
}

/// One AssumeRoleWithSAML that STS refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsRefusal {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub role_arn: String,
    /// STS's own answer, as it sent it.
    pub aws: AwsAnswer,
}

/// One line of the settings window's Last sign-in panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelRow {
    pub label: &'static str,
    pub value: String,
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
            sts_refusal: None,
        }
    }

    /// What the settings window shows, label and value, in the order a help desk reads them.
    pub fn panel(&self) -> Vec<PanelRow> {
        let none = || "(none)".to_owned();
        let when = |at: OffsetDateTime| {
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| at.to_string())
        };
        let mut rows = vec![
            PanelRow {
                label: "Signed in",
                value: format!(
                    "{} ({}, as {})",
                    when(self.at),
                    self.via,
                    self.role_session_name
                ),
            },
            PanelRow {
                label: "Issuer",
                value: self.issuer.clone().unwrap_or_else(none),
            },
            PanelRow {
                label: "Destination",
                value: self.destination.clone().unwrap_or_else(none),
            },
            PanelRow {
                label: "Audience",
                value: if self.audiences.is_empty() {
                    none()
                } else {
                    self.audiences.join(", ")
                },
            },
            PanelRow {
                label: "NotOnOrAfter",
                value: self.not_on_or_after.map_or_else(none, when),
            },
            PanelRow {
                label: "SessionDuration",
                value: self.session_duration.map_or_else(
                    || "(none: AWS gives sessions of one hour)".to_owned(),
                    |secs| format!("{secs} s"),
                ),
            },
        ];
        rows.extend(self.roles.iter().map(|role| PanelRow {
            label: "Role",
            value: role.clone(),
        }));
        if self.roles.is_empty() {
            rows.push(PanelRow {
                label: "Role",
                value: "(none: the assertion grants no AWS role)".to_owned(),
            });
        }
        if let Some(refusal) = &self.sts_refusal {
            rows.push(PanelRow {
                label: "STS refused",
                value: format!(
                    "{} at {}: {}",
                    refusal.role_arn,
                    when(refusal.at),
                    refusal.aws
                ),
            });
        }
        rows
    }
}

/// How a sign-in got its assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Idp(SignedInVia),
    /// The IdP's own pages, in the sign-in window.
    Window,
    /// A SAMLResponse the person copied (`rolecall login --saml-response-file`).
    CopiedResponse,
}

impl Via {
    fn word(self) -> &'static str {
        match self {
            Via::Idp(SignedInVia::SingleSignOn) => "single sign-on session",
            Via::Idp(SignedInVia::Kerberos) => "kerberos",
            Via::Idp(SignedInVia::Password) => "password",
            Via::Idp(SignedInVia::PasswordAndPasscode) => "password and passcode",
            Via::Window => "sign-in window",
            Via::CopiedResponse => "copied SAML response",
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

/// Adds `refusal` to `endpoint`'s last sign-in, the one whose assertion STS refused. Nothing
/// is kept when no sign-in of it was.
pub fn record_refusal(
    config_dir: &Path,
    endpoint: &str,
    refusal: StsRefusal,
) -> Result<(), StoreError> {
    file(config_dir).update(|all| {
        if let Some(last) = all.get_mut(endpoint) {
            last.sts_refusal = Some(refusal);
        }
        Ok::<_, StoreError>(())
    })
}

/// [`record_refusal`], logging a failure: the refusal is reported to the person anyway.
pub fn record_refusal_or_log(config_dir: &Path, endpoint: &str, refusal: StsRefusal) {
    if let Err(err) = record_refusal(config_dir, endpoint, refusal) {
        tracing::warn!("could not keep STS's refusal with the last sign-in: {err}");
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
    fn the_panel_reads_like_the_assertion_and_quotes_sts() {
        let dir = tempfile::tempdir().unwrap();
        let assertion = parse_response_xml(&response()).unwrap();
        let at = time::macros::datetime!(2026-12-02 10:00 UTC);
        let refusal = StsRefusal {
            at: at + time::Duration::seconds(2),
            role_arn: "arn:aws:iam::111122223333:role/Admin".to_owned(),
            aws: AwsAnswer {
                code: "InvalidIdentityToken".to_owned(),
                message: "Specified provider doesn't exist.".to_owned(),
            },
        };
        record_refusal(dir.path(), "corp", refusal.clone()).unwrap();
        assert!(
            read(dir.path()).unwrap().is_empty(),
            "no sign-in, no refusal"
        );
        record(
            dir.path(),
            "corp",
            LastSignIn::of(&assertion, Via::Window, at),
        )
        .unwrap();
        record_refusal(dir.path(), "corp", refusal).unwrap();

        let panel = read(dir.path()).unwrap()["corp"].panel();
        let shown: Vec<(&str, &str)> = panel
            .iter()
            .map(|row| (row.label, row.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "Signed in",
                    "2026-12-02T10:00:00Z (sign-in window, as alice@corp.example)"
                ),
                ("Issuer", "http://sts.corp.example/adfs/services/trust"),
                ("Destination", "https://signin.aws.amazon.com/saml"),
                ("Audience", "urn:amazon:webservices"),
                ("NotOnOrAfter", "2026-12-02T11:00:00Z"),
                ("SessionDuration", "3600 s"),
                ("Role", "arn:aws:iam::111122223333:role/Admin"),
                (
                    "STS refused",
                    "arn:aws:iam::111122223333:role/Admin at 2026-12-02T10:00:02Z: \
                     InvalidIdentityToken: Specified provider doesn't exist."
                ),
            ]
        );
        let next = LastSignIn::of(&assertion, Via::Window, at + time::Duration::hours(1));
        record(dir.path(), "corp", next).unwrap();
        assert_eq!(
            read(dir.path()).unwrap()["corp"].sts_refusal,
            None,
            "a new sign-in starts without the refusal of the one before"
        );
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
