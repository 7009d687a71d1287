//! The SAML 2.0 Response AD FS posts to AWS: its XML, shaped like AD FS writes it, and the
//! `SAMLResponse` form value, with the user's [`Fault`] applied. The signature is a stand-in of
//! the right shape; nobody here verifies it (STS would).

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::config::{AWS_RELYING_PARTY, Fault, User};
use crate::escape::markup;
use crate::random;

pub(crate) const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub(crate) const ROLE_SESSION_NAME_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const SESSION_DURATION_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
pub(crate) const SOURCE_IDENTITY_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
const PADDING_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Padding";

/// Characters of padding in the huge response: its base64 then exceeds 1,000,000.
const HUGE_PADDING: usize = 800_000;

/// An instant as AD FS writes it: UTC, milliseconds, `Z` (`2026-12-01T10:00:00.123Z`).
pub(crate) fn instant(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Everything one issued Response depends on.
#[derive(Debug)]
pub(crate) struct Issue<'a> {
    pub(crate) user: &'a User,
    /// `host:port` of the simulator, for the issuer URI.
    pub(crate) host: &'a str,
    pub(crate) destination: &'a str,
    pub(crate) provider_name: &'a str,
    /// The partition in the role ARNs (`aws`, `aws-us-gov`, ...).
    pub(crate) partition: &'a str,
    pub(crate) now: OffsetDateTime,
    pub(crate) authn_instant: OffsetDateTime,
    pub(crate) lifetime: Duration,
}

/// The `SAMLResponse` form value for this issue, fault applied.
pub(crate) fn form_value(issue: &Issue<'_>) -> String {
    match issue.user.fault {
        Some(Fault::TruncatedResponse) => {
            let full = STANDARD.encode(response_xml(issue, Body::Plain));
            // Cut on a base64 quantum: the value still decodes, the XML inside is cut short.
            let half = (full.len() / 2) & !3;
            full[..half].to_owned()
        }
        Some(Fault::BrokenBase64) => {
            let mut value = STANDARD.encode(response_xml(issue, Body::Plain));
            let middle = (value.len() / 2) & !3;
            value.insert_str(middle, "!!**");
            value
        }
        Some(Fault::HugeResponse) => STANDARD.encode(response_xml(issue, Body::Padded)),
        Some(Fault::DtdInResponse) => STANDARD.encode(response_xml(issue, Body::WithDtd)),
        Some(Fault::EncryptedAssertion) => STANDARD.encode(response_xml(issue, Body::Encrypted)),
        Some(
            Fault::GarbageAfterLogin
            | Fault::UnknownAdapter
            | Fault::PasswordExpired
            | Fault::LockedOut
            | Fault::ExtranetLockout,
        )
        | None => STANDARD.encode(response_xml(issue, Body::Plain)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Plain,
    Padded,
    WithDtd,
    Encrypted,
}

/// The billion-laughs shape, kept small: a parser that expands it gets 100 "lol"s.
const LAUGHS_DTD: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<!DOCTYPE samlp:Response [<!ENTITY lol "lol">"#,
    r#"<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">"#,
    r#"<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>"#,
);

fn response_xml(issue: &Issue<'_>, body: Body) -> String {
    let now = instant(issue.now);
    let expires = instant(issue.now + issue.lifetime);
    let destination = markup(issue.destination);
    let issuer = format!("http://{}/adfs/services/trust", markup(issue.host));
    let response_id = random::xml_id();
    let assertion_id = random::xml_id();

    let mut xml = String::with_capacity(4096 + 130 * issue.user.roles.len());
    if body == Body::WithDtd {
        xml.push_str(LAUGHS_DTD);
    }
    let _ = write!(
        xml,
        r#"<samlp:Response ID="{response_id}" Version="2.0" IssueInstant="{now}" Destination="{destination}" Consent="urn:oasis:names:tc:SAML:2.0:consent:unspecified" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{issuer}</Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success" /></samlp:Status>"#
    );
    if body == Body::Encrypted {
        let key = random::base64(256);
        let cipher = random::base64(1536 + 100 * issue.user.roles.len());
        let _ = write!(
            xml,
            r#"<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc" /><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><e:EncryptedKey xmlns:e="http://www.w3.org/2001/04/xmlenc#"><e:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1" /></e:EncryptionMethod><e:CipherData><e:CipherValue>{key}</e:CipherValue></e:CipherData></e:EncryptedKey></KeyInfo><xenc:CipherData><xenc:CipherValue>{cipher}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></EncryptedAssertion></samlp:Response>"#
        );
        return xml;
    }

    let session_name = if body == Body::WithDtd {
        "&lol2;".to_owned()
    } else {
        markup(&issue.user.session_name)
    };
    let name_id = markup(&format!("CORP\\{}", issue.user.username));
    let _ = write!(
        xml,
        r#"<Assertion ID="{assertion_id}" IssueInstant="{now}" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Issuer>{issuer}</Issuer>{signature}<Subject><NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData NotOnOrAfter="{expires}" Recipient="{destination}" /></SubjectConfirmation></Subject><Conditions NotBefore="{now}" NotOnOrAfter="{expires}"><AudienceRestriction><Audience>{AWS_RELYING_PARTY}</Audience></AudienceRestriction></Conditions><AttributeStatement><Attribute Name="{ROLE_SESSION_NAME_ATTRIBUTE}"><AttributeValue>{session_name}</AttributeValue></Attribute>"#,
        signature = signature(&assertion_id),
    );
    if !issue.user.roles.is_empty() {
        let _ = write!(xml, r#"<Attribute Name="{ROLE_ATTRIBUTE}">"#);
        for (index, role) in issue.user.roles.iter().enumerate() {
            let account = markup(&role.account_id);
            let provider = format!(
                "arn:{partition}:iam::{account}:saml-provider/{}",
                markup(issue.provider_name),
                partition = markup(issue.partition)
            );
            let role_arn = format!(
                "arn:{partition}:iam::{account}:role/{}",
                markup(&role.role_name),
                partition = markup(issue.partition)
            );
            // AD FS claim rules are written both ways round; clients must accept either.
            let (first, second) = if index % 3 == 1 {
                (role_arn, provider)
            } else {
                (provider, role_arn)
            };
            let _ = write!(xml, "<AttributeValue>{first},{second}</AttributeValue>");
        }
        xml.push_str("</Attribute>");
    }
    if let Some(seconds) = issue.user.session_duration {
        let _ = write!(
            xml,
            r#"<Attribute Name="{SESSION_DURATION_ATTRIBUTE}"><AttributeValue>{seconds}</AttributeValue></Attribute>"#
        );
    }
    if let Some(identity) = &issue.user.source_identity {
        let _ = write!(
            xml,
            r#"<Attribute Name="{SOURCE_IDENTITY_ATTRIBUTE}"><AttributeValue>{}</AttributeValue></Attribute>"#,
            markup(identity)
        );
    }
    if body == Body::Padded {
        let _ = write!(
            xml,
            r#"<Attribute Name="{PADDING_ATTRIBUTE}"><AttributeValue>{}</AttributeValue></Attribute>"#,
            "x".repeat(HUGE_PADDING)
        );
    }
    let _ = write!(
        xml,
        r#"</AttributeStatement><AuthnStatement AuthnInstant="{authn}" SessionIndex="{assertion_id}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef></AuthnContext></AuthnStatement></Assertion></samlp:Response>"#,
        authn = instant(issue.authn_instant),
    );
    xml
}

/// An enveloped XML-DSig element of AD FS's shape with random digest, value and certificate.
fn signature(assertion_id: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" /><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" /><ds:Reference URI="#{assertion_id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature" /><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" /></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256" /><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>{value}</ds:SignatureValue><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></KeyInfo></ds:Signature>"##,
        digest = random::base64(32),
        value = random::base64(256),
        certificate = random::base64(720),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    fn issue(user: &User) -> Issue<'_> {
        Issue {
            user,
            host: "127.0.0.1:1",
            destination: "http://127.0.0.1:1/saml",
            provider_name: "ADFS",
            partition: "aws",
            now: OffsetDateTime::UNIX_EPOCH + Duration::from_millis(1_234),
            authn_instant: OffsetDateTime::UNIX_EPOCH,
            lifetime: Duration::from_secs(300),
        }
    }

    fn decode(value: &str) -> String {
        String::from_utf8(STANDARD.decode(value).unwrap()).unwrap()
    }

    #[test]
    fn instants_have_milliseconds_and_z() {
        let at = OffsetDateTime::UNIX_EPOCH + Duration::from_millis(1_234);
        assert_eq!(instant(at), "1970-01-01T00:00:01.234Z");
    }

    #[test]
    fn role_pairs_come_in_both_orders() {
        let config = SimConfig::demo();
        let xml = decode(&form_value(&issue(config.user("alice").unwrap())));
        assert!(xml.contains("<AttributeValue>arn:aws:iam::111122223333:saml-provider/ADFS,arn:aws:iam::111122223333:role/Admin</AttributeValue>"), "{xml}");
        assert!(xml.contains("<AttributeValue>arn:aws:iam::111122223333:role/ReadOnly,arn:aws:iam::111122223333:saml-provider/ADFS</AttributeValue>"), "{xml}");
        assert!(
            xml.contains(r#"NotOnOrAfter="1970-01-01T00:05:01.234Z""#),
            "{xml}"
        );
        assert!(
            xml.contains("<AttributeValue>28800</AttributeValue>"),
            "{xml}"
        );
    }

    #[test]
    fn faults_shape_the_value() {
        let config = SimConfig::demo();
        let value = |name: &str| form_value(&issue(config.user(name).unwrap()));
        assert!(STANDARD.decode(value("broken-base64")).is_err());
        let truncated = decode(&value("truncated"));
        assert!(!truncated.ends_with("</samlp:Response>"));
        assert!(value("huge").len() > 1_000_000);
        assert!(decode(&value("dtd")).contains("<!ENTITY lol2"));
        let encrypted = decode(&value("encrypted"));
        assert!(encrypted.contains("<EncryptedAssertion") && !encrypted.contains("<Assertion "));
    }
}
