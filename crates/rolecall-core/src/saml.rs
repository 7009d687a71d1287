//! Reading the SAML response an identity provider posts to AWS.
//!
//! This module owns turning the `SAMLResponse` form value (base64, or the XML it decodes to) into
//! an [`Assertion`]: the roles it grants, the session name and duration, when it stops being
//! usable, and which AWS partition and region it is meant for. It keeps the base64 text, wrapped
//! in [`Sensitive`], for the one caller that sends it to STS.
//!
//! It never verifies the signature (STS does, and holds the IdP's certificate), never decrypts,
//! never talks to the network, never reads the clock, and never puts the assertion itself in an
//! error or a `Debug` string: an error names at most the one short value it could not read.
//! XML with a DTD or with entities other than XML's five built-in ones is refused outright, so
//! entity-expansion attacks cannot get started. Any input, however damaged, gives an error,
//! never a panic.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use quick_xml::Decoder;
use quick_xml::escape::{EscapeError, resolve_xml_entity};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::partition::{Partition, partition_of_arn};
use crate::secrets::Sensitive;

/// The longest input read, in characters. STS itself takes at most 100,000; the margin lets us
/// still read (and explain) an assertion that is too big for STS rather than call it damaged.
pub const MAX_INPUT_CHARS: usize = 1_000_000;

pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub const ROLE_SESSION_NAME_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
pub const SESSION_DURATION_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/SessionDuration";
pub const SOURCE_IDENTITY_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";

/// The session lengths AWS accepts, in seconds: 15 minutes to 12 hours, in the assertion's
/// `SessionDuration` attribute, STS's `DurationSeconds` and the console's `SessionDuration`
/// alike; a role's `MaxSessionDuration` lies within it. Defined here, the lowest of the modules
/// that use it ([`crate::sts::SESSION_DURATION_SECS`] is the same range).
pub const SESSION_DURATION_SECS: std::ops::RangeInclusive<u32> = 900..=43_200;

const NS_PROTOCOL: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
const NS_ASSERTION: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// The most namespace bindings in scope at once. Real responses have fewer than ten; quick-xml
/// resolves every name by scanning them, so thousands would make reading take seconds.
const MAX_NAMESPACES: usize = 128;

/// How much of an offending value an error message quotes.
const QUOTE_LIMIT: usize = 120;

/// Standard alphabet; padding optional, because some IdPs and copy-paste paths drop it.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a SAML response says about signing in to AWS.
///
/// `Debug` is safe to log: `raw` prints as `<redacted>`, and the other fields are what the tray
/// menu shows anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `Response/@Destination`, as the IdP wrote it.
    pub destination: Option<String>,
    pub partition: Partition,
    /// The region of a regional sign-in endpoint (`https://<region>.<sign-in host>/saml`).
    pub region: Option<String>,
    /// The response's `Issuer` (or the assertion's, when the response has none).
    pub issuer: Option<String>,
    /// Every `Issuer` of the response and of its assertions, in document order: the response's
    /// is not signed, so a check of who issued the response looks at all of them.
    pub issuers: Vec<String>,
    /// Every distinct role, in the order the IdP listed them.
    pub roles: Vec<RolePair>,
    pub role_session_name: String,
    /// `SessionDuration`, in seconds, when the IdP sets one.
    pub session_duration: Option<u32>,
    /// `SourceIdentity`, when the IdP sets one: STS keeps it on the session and every role
    /// chained from it.
    pub source_identity: Option<String>,
    /// The earliest `NotOnOrAfter` of the assertion's conditions and subject confirmations.
    pub not_on_or_after: Option<OffsetDateTime>,
    /// The `Audience`s of the assertion's conditions (`urn:amazon:webservices` for AWS), in
    /// document order: a help desk compares them with the relying party AWS expects.
    pub audiences: Vec<String>,
    /// The base64 `SAMLResponse`, exactly what AssumeRoleWithSAML takes as `SAMLAssertion`.
    pub raw: Sensitive<String>,
}

impl Assertion {
    /// Whether the assertion can no longer be redeemed at `now` (per its own `NotOnOrAfter`; STS
    /// also refuses assertions older than about five minutes, which the caller tracks).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.not_on_or_after.is_some_and(|limit| now >= limit)
    }

    /// The roles grouped by account id; see [`roles_by_account`].
    pub fn roles_by_account(&self) -> BTreeMap<&str, Vec<&RolePair>> {
        roles_by_account(&self.roles)
    }
}

/// One role the assertion grants: the role to assume and the SAML provider that vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RolePair {
    /// `arn:<partition>:iam::<account>:role/<path/>Name`
    pub role_arn: String,
    /// `arn:<partition>:iam::<account>:saml-provider/<Name>`
    pub principal_arn: String,
}

impl RolePair {
    /// Reads one value of the `Role` attribute: a role ARN and a SAML provider ARN separated by a
    /// comma, in either order, with whitespace around either tolerated.
    pub fn from_attribute_value(value: &str) -> Result<RolePair, SamlError> {
        let bad = |reason: &'static str| SamlError::BadRole {
            value: quote(value),
            reason,
        };
        let trimmed = value.trim();
        // Role names may contain commas (IAM allows `[\w+=,.@-]`), so split where the second ARN
        // starts rather than at the first comma.
        let mut splits = trimmed
            .match_indices(',')
            .map(|(at, _)| at)
            .filter(|&at| trimmed[at + 1..].trim_start().starts_with("arn:"));
        let Some(at) = splits.next() else {
            return Err(bad("it should be two ARNs separated by a comma"));
        };
        if splits.next().is_some() {
            return Err(bad("it holds more than two ARNs"));
        }
        let first = parse_iam_arn(trimmed[..at].trim()).ok_or_else(|| {
            bad("the part before the comma is not an IAM role or SAML provider ARN")
        })?;
        let second = parse_iam_arn(trimmed[at + 1..].trim()).ok_or_else(|| {
            bad("the part after the comma is not an IAM role or SAML provider ARN")
        })?;
        let (role, provider) = match (first.kind, second.kind) {
            (ArnKind::Role, ArnKind::SamlProvider) => (first, second),
            (ArnKind::SamlProvider, ArnKind::Role) => (second, first),
            (ArnKind::Role, ArnKind::Role) => return Err(bad("both ARNs are roles")),
            (ArnKind::SamlProvider, ArnKind::SamlProvider) => {
                return Err(bad("both ARNs are SAML providers"));
            }
        };
        if role.partition != provider.partition {
            return Err(bad(
                "the role and the SAML provider are in different partitions",
            ));
        }
        // A role and a provider in different accounts is left for STS to refuse: it is a
        // trust-policy question, and STS's answer names the actual problem.
        Ok(RolePair {
            role_arn: role.text.to_owned(),
            principal_arn: provider.text.to_owned(),
        })
    }

    /// The 12-digit account id of the role (empty if `role_arn` is not an ARN).
    pub fn account_id(&self) -> &str {
        self.role_arn.split(':').nth(4).unwrap_or_default()
    }

    /// The role's name without its path: `arn:aws:iam::123:role/path/Name` → `Name`.
    pub fn role_name(&self) -> &str {
        self.role_arn.rsplit(['/', ':']).next().unwrap_or_default()
    }

    /// The SAML provider's name: `arn:aws:iam::123:saml-provider/ADFS` → `ADFS`.
    pub fn provider_name(&self) -> &str {
        self.principal_arn
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
    }

    pub fn partition(&self) -> Option<Partition> {
        partition_of_arn(&self.role_arn)
    }
}

/// Roles grouped by account id (accounts in ascending order), each account's roles sorted by
/// role name so that menus read the same on every sign-in whatever order the IdP used.
pub fn roles_by_account(roles: &[RolePair]) -> BTreeMap<&str, Vec<&RolePair>> {
    let mut groups: BTreeMap<&str, Vec<&RolePair>> = BTreeMap::new();
    for role in roles {
        groups.entry(role.account_id()).or_default().push(role);
    }
    for group in groups.values_mut() {
        group.sort_by(|a, b| (a.role_name(), &a.role_arn).cmp(&(b.role_name(), &b.role_arn)));
    }
    groups
}

/// Why a SAML response could not be used. Messages say what happened and what to do; they quote
/// at most one short offending value, never the assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error(
        "The identity provider's answer is {chars} characters long, more than the 1,000,000 \
         Rolecall reads, so it is not a SAML response Rolecall can use. Sign in again; if it \
         repeats, ask your AD FS administrator why the response is so large."
    )]
    TooLarge { chars: usize },

    #[error(
        "The identity provider's answer was not a SAML response (not base64). Sign in again; if \
         it repeats, the sign-in URL may point at the wrong page."
    )]
    NotBase64,

    #[error(
        "The identity provider's answer was not readable XML (it is damaged near byte {at}). Sign \
         in again; if it repeats, the sign-in URL may point at the wrong page."
    )]
    NotXml { at: u64 },

    #[error(
        "The identity provider's answer was XML but not a SAML response. Sign in again; if it \
         repeats, check that the sign-in URL's loginToRp names the AWS relying party \
         (urn:amazon:webservices)."
    )]
    NotResponse,

    #[error(
        "The SAML response declares more than {MAX_NAMESPACES} XML namespaces at once, far more \
         than any identity provider writes, so Rolecall refuses it. Sign in again; if it repeats, \
         tell your AD FS administrator."
    )]
    TooManyNamespaces,

    #[error(
        "The SAML response contains a document type declaration (DTD), which Rolecall refuses \
         because DTDs are a way to attack XML readers. Sign in again; if it repeats, tell your \
         AD FS administrator: a genuine AD FS response never has one."
    )]
    DtdRejected,

    #[error(
        "The SAML response uses the XML entity {name}, which is not one of XML's five built-in \
         entities, so Rolecall refuses it. Sign in again; if it repeats, tell your AD FS \
         administrator: a genuine AD FS response never uses one."
    )]
    EntityRejected { name: String },

    #[error(
        "The identity provider refused the sign-in (SAML status {status}). Sign in again; if it \
         repeats, ask your AD FS administrator to look for this sign-in in the AD FS event log."
    )]
    Refused { status: String },

    #[error(
        "The SAML response is encrypted, so Rolecall cannot read the roles in it. Ask your AD FS \
         administrator to turn off assertion encryption for the AWS relying party \
         (urn:amazon:webservices); the response is still signed and sent only over HTTPS."
    )]
    Encrypted,

    #[error(
        "The SAML response carries no assertion, so there is nothing to sign in to AWS with. Sign \
         in again; if it repeats, ask your AD FS administrator to check the AWS relying party."
    )]
    NoAssertion,

    #[error(
        "The SAML response has no AWS roles: this account has no AWS roles (the assertion has no \
         {ROLE_ATTRIBUTE} attribute). Ask your AD FS administrator to give you at least one AWS \
         role, usually by adding you to an AWS group."
    )]
    NoRoles,

    #[error(
        "The SAML response lists a role Rolecall cannot read: {value} ({reason}). Ask your AD FS \
         administrator to send each role as \
         arn:aws:iam::<account>:role/<name>,arn:aws:iam::<account>:saml-provider/<name>."
    )]
    BadRole { value: String, reason: &'static str },

    #[error(
        "The SAML response has no RoleSessionName, which AWS requires. Ask your AD FS \
         administrator to add a claim rule that sends {ROLE_SESSION_NAME_ATTRIBUTE} (usually \
         your e-mail address or user name)."
    )]
    NoSessionName,

    #[error(
        "The SAML response's RoleSessionName {value} is not one AWS accepts: it must be 2 to 64 \
         letters, digits or the characters + = , . @ _ -. Ask your AD FS administrator to change \
         the RoleSessionName claim rule."
    )]
    BadSessionName { value: String },

    #[error(
        "The SAML response's SessionDuration {value} is not a number of seconds from 900 to \
         43200, so AWS would refuse it. Ask your AD FS administrator to fix the SessionDuration \
         claim rule."
    )]
    BadSessionDuration { value: String },

    #[error(
        "The SAML response's NotOnOrAfter time {value} is not a valid date and time. Sign in \
         again; if it repeats, tell your AD FS administrator."
    )]
    BadTimestamp { value: String },
}

/// Reads the base64 `SAMLResponse` value an IdP posts (line breaks and spaces in it ignored).
pub fn parse_response(saml_response: &str) -> Result<Assertion, SamlError> {
    check_size(saml_response.len(), || saml_response.chars().count())?;
    let mut cleaned: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let xml = LENIENT_BASE64
        .decode(cleaned.as_bytes())
        .map_err(|_| SamlError::NotBase64)?;
    // STS wants canonical base64: put back padding that a lenient decode let through.
    while !cleaned.len().is_multiple_of(4) {
        cleaned.push('=');
    }
    read_response(&xml, Sensitive::new(cleaned))
}

/// Reads an already-decoded SAML response (the XML bytes).
pub fn parse_response_xml(xml: &[u8]) -> Result<Assertion, SamlError> {
    check_size(xml.len(), || String::from_utf8_lossy(xml).chars().count())?;
    read_response(xml, Sensitive::new(STANDARD.encode(xml)))
}

fn check_size(bytes: usize, chars: impl FnOnce() -> usize) -> Result<(), SamlError> {
    // Bytes bound characters from above, so counting is needed only past the limit.
    if bytes > MAX_INPUT_CHARS {
        let chars = chars();
        if chars > MAX_INPUT_CHARS {
            return Err(SamlError::TooLarge { chars });
        }
    }
    Ok(())
}

/// An element of interest, by namespace and local name (never by prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Response,
    Status,
    StatusCode,
    Assertion,
    EncryptedAssertion,
    EncryptedAttribute,
    Issuer,
    Conditions,
    Audience,
    SubjectConfirmationData,
    Attribute,
    AttributeValue,
    Other,
}

impl Element {
    fn classify(ns: &ResolveResult<'_>, local: &[u8]) -> Element {
        let ns = match ns {
            ResolveResult::Bound(Namespace(ns)) => *ns,
            _ => return Element::Other,
        };
        match (ns, local) {
            (NS_PROTOCOL, b"Response") => Element::Response,
            (NS_PROTOCOL, b"Status") => Element::Status,
            (NS_PROTOCOL, b"StatusCode") => Element::StatusCode,
            (NS_ASSERTION, b"Assertion") => Element::Assertion,
            (NS_ASSERTION, b"EncryptedAssertion") => Element::EncryptedAssertion,
            (NS_ASSERTION, b"EncryptedAttribute") => Element::EncryptedAttribute,
            (NS_ASSERTION, b"Issuer") => Element::Issuer,
            (NS_ASSERTION, b"Conditions") => Element::Conditions,
            (NS_ASSERTION, b"Audience") => Element::Audience,
            (NS_ASSERTION, b"SubjectConfirmationData") => Element::SubjectConfirmationData,
            (NS_ASSERTION, b"Attribute") => Element::Attribute,
            (NS_ASSERTION, b"AttributeValue") => Element::AttributeValue,
            _ => Element::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttributeKind {
    Role,
    SessionName,
    SessionDuration,
    SourceIdentity,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    Issuer,
    Audience,
    Value(AttributeKind),
}

/// What the walk over the document has found so far. Depths count elements from the root (1).
#[derive(Debug, Default)]
struct Walk {
    depth: usize,
    root_done: bool,
    destination: Option<String>,
    status_depth: Option<usize>,
    status: Option<String>,
    assertion_depth: Option<usize>,
    saw_assertion: bool,
    saw_encrypted: bool,
    issuer: Option<String>,
    issuers: Vec<String>,
    attribute: Option<(AttributeKind, usize)>,
    capture: Option<(Capture, usize)>,
    text: String,
    roles: Vec<RolePair>,
    session_name: Option<String>,
    session_duration: Option<String>,
    source_identity: Option<String>,
    not_on_or_after: Option<OffsetDateTime>,
    audiences: Vec<String>,
}

impl Walk {
    /// An element opens at `self.depth` (`Start`), or opens and closes there (`Empty`).
    fn open(&mut self, element: Element, e: &BytesStart<'_>, at: At) -> Result<(), SamlError> {
        let depth = self.depth;
        if depth == 1 {
            if self.root_done || element != Element::Response {
                return Err(SamlError::NotResponse);
            }
            self.destination = attribute(e, b"Destination", at)?.map(|d| d.trim().to_owned());
            return Ok(());
        }
        let in_assertion = self.assertion_depth.is_some();
        match element {
            Element::Status if depth == 2 => self.status_depth = Some(depth),
            // The first StatusCode is the top-level one; a nested one only refines it.
            Element::StatusCode if self.status_depth.is_some() && self.status.is_none() => {
                self.status = attribute(e, b"Value", at)?;
            }
            Element::Assertion if !in_assertion => {
                self.assertion_depth = Some(depth);
                self.saw_assertion = true;
            }
            Element::EncryptedAssertion | Element::EncryptedAttribute => self.saw_encrypted = true,
            Element::Issuer if depth == 2 || self.assertion_depth == Some(depth - 1) => {
                self.begin_capture(Capture::Issuer, depth);
            }
            Element::Audience if in_assertion => self.begin_capture(Capture::Audience, depth),
            Element::Conditions | Element::SubjectConfirmationData if in_assertion => {
                if let Some(value) = attribute(e, b"NotOnOrAfter", at)? {
                    let limit = parse_time(&value)?;
                    self.not_on_or_after = Some(match self.not_on_or_after {
                        Some(earlier) if earlier <= limit => earlier,
                        _ => limit,
                    });
                }
            }
            Element::Attribute if in_assertion && self.attribute.is_none() => {
                let kind = match attribute(e, b"Name", at)?.as_deref().map(str::trim) {
                    Some(ROLE_ATTRIBUTE) => AttributeKind::Role,
                    Some(ROLE_SESSION_NAME_ATTRIBUTE) => AttributeKind::SessionName,
                    Some(SESSION_DURATION_ATTRIBUTE) => AttributeKind::SessionDuration,
                    Some(SOURCE_IDENTITY_ATTRIBUTE) => AttributeKind::SourceIdentity,
                    _ => AttributeKind::Other,
                };
                self.attribute = Some((kind, depth));
            }
            Element::AttributeValue => {
                if let Some((kind, attr_depth)) = self.attribute
                    && kind != AttributeKind::Other
                    && depth == attr_depth + 1
                {
                    self.begin_capture(Capture::Value(kind), depth);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn begin_capture(&mut self, capture: Capture, depth: usize) {
        if self.capture.is_none() {
            self.capture = Some((capture, depth));
            self.text.clear();
        }
    }

    /// The element at `self.depth` closes.
    fn close(&mut self) -> Result<(), SamlError> {
        let depth = self.depth;
        if let Some((capture, at)) = self.capture
            && at == depth
        {
            self.capture = None;
            let text = std::mem::take(&mut self.text);
            match capture {
                Capture::Issuer => {
                    let issuer = text.trim();
                    if !issuer.is_empty() {
                        self.issuer.get_or_insert_with(|| issuer.to_owned());
                        self.issuers.push(issuer.to_owned());
                    }
                }
                Capture::Audience => {
                    let audience = text.trim();
                    if !audience.is_empty() && !self.audiences.iter().any(|a| a == audience) {
                        self.audiences.push(audience.to_owned());
                    }
                }
                Capture::Value(AttributeKind::Role) => {
                    self.roles.push(RolePair::from_attribute_value(&text)?);
                }
                Capture::Value(AttributeKind::SessionName) => {
                    self.session_name.get_or_insert(text);
                }
                Capture::Value(AttributeKind::SessionDuration) => {
                    self.session_duration.get_or_insert(text);
                }
                Capture::Value(AttributeKind::SourceIdentity) => {
                    self.source_identity.get_or_insert(text);
                }
                Capture::Value(AttributeKind::Other) => {}
            }
        }
        if self.attribute.is_some_and(|(_, at)| at == depth) {
            self.attribute = None;
        }
        if self.assertion_depth == Some(depth) {
            self.assertion_depth = None;
        }
        if self.status_depth == Some(depth) {
            self.status_depth = None;
        }
        if depth == 1 {
            self.root_done = true;
        }
        Ok(())
    }

    fn push_text(&mut self, text: &str) {
        if self.capture.is_some() {
            self.text.push_str(text);
        }
    }

    /// `&name;` or `&#n;` in text: only XML's own five entities and character references exist
    /// here, because a DTD (the only place others could be defined) is refused.
    fn push_reference(&mut self, reference: &BytesRef<'_>, at: At) -> Result<(), SamlError> {
        match reference.resolve_char_ref() {
            Ok(Some(c)) => {
                if self.capture.is_some() {
                    self.text.push(c);
                }
                Ok(())
            }
            Ok(None) => {
                let name = reference.decode().map_err(|_| at.not_xml())?;
                match resolve_xml_entity(&name) {
                    Some(replacement) => {
                        self.push_text(replacement);
                        Ok(())
                    }
                    None => Err(SamlError::EntityRejected {
                        name: quote(&format!("&{name};")),
                    }),
                }
            }
            Err(_) => Err(at.not_xml()),
        }
    }
}

/// Where the reader is, for errors, and how it decodes text.
#[derive(Debug, Clone, Copy)]
struct At {
    position: u64,
    decoder: Decoder,
}

impl At {
    fn not_xml(self) -> SamlError {
        SamlError::NotXml { at: self.position }
    }
}

fn read_response(xml: &[u8], raw: Sensitive<String>) -> Result<Assertion, SamlError> {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = std::str::from_utf8(xml).map_err(|e| SamlError::NotXml {
        at: e.valid_up_to() as u64,
    })?;
    let mut reader = NsReader::from_str(text);
    let decoder = reader.decoder();
    let mut walk = Walk::default();
    loop {
        let at = At {
            position: reader.buffer_position(),
            decoder,
        };
        let (ns, event) = reader.read_resolved_event().map_err(|_| at.not_xml())?;
        match event {
            Event::Start(e) => {
                let element = Element::classify(&ns, e.local_name().as_ref());
                check_namespaces(&reader, &e)?;
                walk.depth += 1;
                walk.open(element, &e, at)?;
            }
            Event::Empty(e) => {
                let element = Element::classify(&ns, e.local_name().as_ref());
                check_namespaces(&reader, &e)?;
                walk.depth += 1;
                walk.open(element, &e, at)?;
                walk.close()?;
                walk.depth -= 1;
            }
            Event::End(_) => {
                walk.close()?;
                walk.depth = walk.depth.saturating_sub(1);
            }
            Event::Text(t) => walk.push_text(&t.xml_content().map_err(|_| at.not_xml())?),
            Event::CData(t) => walk.push_text(&t.decode().map_err(|_| at.not_xml())?),
            Event::GeneralRef(r) => walk.push_reference(&r, at)?,
            Event::DocType(_) => return Err(SamlError::DtdRejected),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    // Empty input, or a document cut off before its root closed.
    if !walk.root_done || walk.depth != 0 {
        return Err(SamlError::NotXml {
            at: reader.buffer_position(),
        });
    }
    finish(walk, raw)
}

/// Refuses a document once `e` brings the bindings in scope past [`MAX_NAMESPACES`]. Counting
/// is done only on elements that declare a namespace, so it stays cheap.
fn check_namespaces(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<(), SamlError> {
    let declares = e
        .attributes()
        .with_checks(false)
        .any(|a| a.is_ok_and(|a| a.key.as_namespace_binding().is_some()));
    if declares && reader.prefixes().nth(MAX_NAMESPACES).is_some() {
        return Err(SamlError::TooManyNamespaces);
    }
    Ok(())
}

fn finish(walk: Walk, raw: Sensitive<String>) -> Result<Assertion, SamlError> {
    if let Some(status) = walk.status.as_deref().map(str::trim)
        && status != STATUS_SUCCESS
    {
        let short = status.rsplit(':').next().unwrap_or(status);
        return Err(SamlError::Refused {
            status: quote(short),
        });
    }
    if walk.roles.is_empty() {
        return Err(if walk.saw_encrypted {
            SamlError::Encrypted
        } else if !walk.saw_assertion {
            SamlError::NoAssertion
        } else {
            SamlError::NoRoles
        });
    }
    let role_session_name = match walk.session_name {
        None => return Err(SamlError::NoSessionName),
        Some(name) => {
            // Pretty-printed XML puts line breaks around values; they are layout, not the name.
            let name = name.trim();
            if !is_valid_session_name(name) {
                return Err(SamlError::BadSessionName { value: quote(name) });
            }
            name.to_owned()
        }
    };
    let session_duration = match walk.session_duration {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse::<u32>()
                .ok()
                .filter(|s| SESSION_DURATION_SECS.contains(s))
                .ok_or_else(|| SamlError::BadSessionDuration {
                    value: quote(&text),
                })?,
        ),
    };

    // STS checks the value; an empty one is as good as none.
    let source_identity = walk
        .source_identity
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());

    let mut roles = walk.roles;
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(roles.len());
        roles.iter().map(|role| seen.insert(role)).collect()
    };
    let mut keep = keep.into_iter();
    roles.retain(|_| keep.next().unwrap_or(true));

    let from_destination = walk
        .destination
        .as_deref()
        .and_then(Partition::from_saml_destination);
    // The role ARNs decide the partition: they are what STS will act on, whereas Destination
    // may be absent, a custom URL, or (misconfigured IdP) another partition's endpoint. Roles
    // were all validated to have a known partition, so the first one speaks for them.
    let partition = roles
        .first()
        .and_then(RolePair::partition)
        .or(from_destination.as_ref().map(|(p, _)| *p))
        .unwrap_or_default();
    // A region belongs to its own partition; one from another partition's endpoint is dropped.
    let region = from_destination.and_then(|(p, region)| region.filter(|_| p == partition));

    Ok(Assertion {
        destination: walk.destination,
        partition,
        region,
        issuer: walk.issuer,
        issuers: walk.issuers,
        roles,
        role_session_name,
        session_duration,
        source_identity,
        not_on_or_after: walk.not_on_or_after,
        audiences: walk.audiences,
        raw,
    })
}

/// The unescaped value of the unprefixed attribute `name` (SAML's own attributes are never
/// namespace-qualified, so a prefixed `x:Name` is someone else's).
fn attribute(e: &BytesStart<'_>, name: &[u8], at: At) -> Result<Option<String>, SamlError> {
    // Without duplicate checks: they cost O(n) per attribute, which a response with 100,000
    // attributes turns into seconds; a duplicate is STS's to refuse, and we read the first.
    for attr in e.attributes().with_checks(false) {
        let attr = attr.map_err(|_| at.not_xml())?;
        if attr.key.as_ref() == name {
            let value = attr
                .decode_and_unescape_value_with(at.decoder, resolve_xml_entity)
                .map_err(|error| match error {
                    quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                        SamlError::EntityRejected {
                            name: quote(&format!("&{name};")),
                        }
                    }
                    _ => at.not_xml(),
                })?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

fn parse_time(value: &str) -> Result<OffsetDateTime, SamlError> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|_| SamlError::BadTimestamp {
        value: quote(value),
    })
}

/// AWS's `[\w+=,.@-]{2,64}`, where `\w` is ASCII letters, digits and `_`.
pub fn is_valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// Whether `text` is an IAM role ARN (`arn:<partition>:iam::<12 digits>:role/<path/>Name`) of
/// a partition Rolecall knows.
pub fn is_role_arn(text: &str) -> bool {
    parse_iam_arn(text).is_some_and(|arn| arn.kind == ArnKind::Role)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArnKind {
    Role,
    SamlProvider,
}

#[derive(Debug)]
struct IamArn<'a> {
    text: &'a str,
    partition: Partition,
    kind: ArnKind,
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>Name` or `...:saml-provider/Name`.
fn parse_iam_arn(text: &str) -> Option<IamArn<'_>> {
    let mut fields = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    let partition = Partition::from_id(partition)?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (kind, name) = if let Some(rest) = resource.strip_prefix("role/") {
        (ArnKind::Role, rest.rsplit('/').next().unwrap_or_default())
    } else if let Some(rest) = resource.strip_prefix("saml-provider/") {
        (ArnKind::SamlProvider, rest)
    } else {
        return None;
    };
    let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    (!name.is_empty() && printable(resource)).then_some(IamArn {
        text,
        partition,
        kind,
    })
}

/// A short, quoted, escaped rendering of an offending value for an error message.
fn quote(value: &str) -> String {
    let mut short: String = value.chars().take(QUOTE_LIMIT).collect();
    if short.len() < value.len() {
        short.push('…');
    }
    format!("{short:?}")
}

impl fmt::Display for RolePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.role_name(), self.account_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const ACCOUNT_A: &str = "111122223333";
    const ACCOUNT_B: &str = "444455556666";

    fn role(account: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:saml-provider/ADFS,arn:aws:iam::{account}:role/{name}")
    }

    /// How a test response spells its namespaces.
    #[derive(Clone, Copy)]
    enum Style {
        /// `<samlp:Response>` with `<saml:Assertion>` (or any other pair of prefixes).
        Prefixed(&'static str, &'static str),
        /// `<Response xmlns=...>` with `<Assertion xmlns=...>`, as AD FS writes the assertion.
        Default,
    }

    /// A response in the given style; `attributes` is inserted into the AttributeStatement as is.
    fn response(style: Style, destination: Option<&str>, attributes: &str) -> String {
        let (p, a, p_decl, a_decl) = match style {
            Style::Prefixed(p, a) => (
                format!("{p}:"),
                format!("{a}:"),
                format!(r#" xmlns:{p}="urn:oasis:names:tc:SAML:2.0:protocol""#),
                format!(r#" xmlns:{a}="urn:oasis:names:tc:SAML:2.0:assertion""#),
            ),
            Style::Default => (
                String::new(),
                String::new(),
                r#" xmlns="urn:oasis:names:tc:SAML:2.0:protocol""#.to_owned(),
                r#" xmlns="urn:oasis:names:tc:SAML:2.0:assertion""#.to_owned(),
            ),
        };
        let destination = destination
            .map(|d| format!(r#" Destination="{d}""#))
            .unwrap_or_default();
        // In the default style the Assertion redeclares the default namespace, so its
        // children (written without prefix) are in the assertion namespace.
        let (issuer_open, issuer_decl) = match style {
            Style::Prefixed(..) => (a.clone(), a_decl.clone()),
            Style::Default => (String::new(), a_decl.clone()),
        };
        format!(
            r##"<?xml version="1.0" encoding="utf-8"?>
<{p}Response ID="_r1" Version="2.0" IssueInstant="2026-11-03T10:15:02.345Z"{destination}{p_decl}>
  <{issuer_open}Issuer{issuer_decl}>http://adfs.corp.example/adfs/services/trust</{issuer_open}Issuer>
  <{p}Status><{p}StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></{p}Status>
  <{a}Assertion ID="_a1" IssueInstant="2026-11-03T10:15:02.329Z" Version="2.0"{a_decl}>
    <{a}Issuer>http://adfs.corp.example/adfs/services/trust</{a}Issuer>
    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_a1"><ds:DigestValue>q3nR7Zb+0jR0Y1cX2E0W3vQ9nQk=</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>bm90IGEgcmVhbCBzaWduYXR1cmU=</ds:SignatureValue><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>MIIC8DCCAdigAwIBAgIQ</X509Certificate></X509Data></KeyInfo></ds:Signature>
    <{a}Subject>
      <{a}NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">CORP\alice</{a}NameID>
      <{a}SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <{a}SubjectConfirmationData NotOnOrAfter="2026-11-03T10:20:02.329Z" Recipient="https://signin.aws.amazon.com/saml"/>
      </{a}SubjectConfirmation>
    </{a}Subject>
    <{a}Conditions NotBefore="2026-11-03T10:15:02.329Z" NotOnOrAfter="2026-11-03T11:15:02.329Z">
      <{a}AudienceRestriction><{a}Audience>urn:amazon:webservices</{a}Audience></{a}AudienceRestriction>
    </{a}Conditions>
    <{a}AttributeStatement>
{attributes}
    </{a}AttributeStatement>
    <{a}AuthnStatement AuthnInstant="2026-11-03T10:15:02.204Z" SessionIndex="_a1"><{a}AuthnContext><{a}AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</{a}AuthnContextClassRef></{a}AuthnContext></{a}AuthnStatement>
  </{a}Assertion>
</{p}Response>"##
        )
    }

    /// An `Attribute` element with the given name and values, using prefix `a` (or none).
    fn attr(a: &str, name: &str, values: &[&str]) -> String {
        let a = if a.is_empty() {
            String::new()
        } else {
            format!("{a}:")
        };
        let values: String = values
            .iter()
            .map(|v| format!("<{a}AttributeValue>{v}</{a}AttributeValue>"))
            .collect();
        format!(r#"      <{a}Attribute Name="{name}">{values}</{a}Attribute>"#)
    }

    fn standard_attributes(a: &str, roles: &[&str]) -> String {
        [
            attr(a, ROLE_SESSION_NAME_ATTRIBUTE, &["alice@corp.example"]),
            attr(a, ROLE_ATTRIBUTE, roles),
            attr(a, SESSION_DURATION_ATTRIBUTE, &["28800"]),
        ]
        .join("\n")
    }

    fn adfs(roles: &[&str]) -> String {
        response(
            Style::Prefixed("samlp", "saml"),
            Some("https://signin.aws.amazon.com/saml"),
            &standard_attributes("saml", roles),
        )
    }

    fn b64(xml: &str) -> String {
        STANDARD.encode(xml)
    }

    fn parse_ok(xml: &str) -> Assertion {
        match parse_response(&b64(xml)) {
            Ok(assertion) => assertion,
            Err(e) => panic!("the response should parse, but: {e}"),
        }
    }

    fn parse_err(xml: &str) -> SamlError {
        match parse_response(&b64(xml)) {
            Ok(a) => panic!("the response should have been refused, but gave {a:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn adfs_response_with_signature_parses_every_field() {
        let admin = role(ACCOUNT_A, "ADFS-Admin");
        let dev = role(ACCOUNT_B, "team/ADFS-Dev");
        let a = parse_ok(&adfs(&[&admin, &dev]));
        assert_eq!(
            a.destination.as_deref(),
            Some("https://signin.aws.amazon.com/saml")
        );
        assert_eq!(a.partition, Partition::Aws);
        assert_eq!(a.region, None, "the global endpoint names no region");
        assert_eq!(
            a.issuer.as_deref(),
            Some("http://adfs.corp.example/adfs/services/trust")
        );
        assert_eq!(a.role_session_name, "alice@corp.example");
        assert_eq!(a.session_duration, Some(28_800));
        assert_eq!(
            a.not_on_or_after,
            Some(datetime!(2026-11-03 10:20:02.329 UTC)),
            "the earlier of SubjectConfirmationData and Conditions should win"
        );
        assert_eq!(a.audiences, ["urn:amazon:webservices"]);
        assert_eq!(
            a.roles,
            vec![
                RolePair {
                    role_arn: format!("arn:aws:iam::{ACCOUNT_A}:role/ADFS-Admin"),
                    principal_arn: format!("arn:aws:iam::{ACCOUNT_A}:saml-provider/ADFS"),
                },
                RolePair {
                    role_arn: format!("arn:aws:iam::{ACCOUNT_B}:role/team/ADFS-Dev"),
                    principal_arn: format!("arn:aws:iam::{ACCOUNT_B}:saml-provider/ADFS"),
                },
            ]
        );
        assert_eq!(
            a.roles[1].role_name(),
            "ADFS-Dev",
            "the role path is not part of the name"
        );
        assert_eq!(a.roles[1].account_id(), ACCOUNT_B);
        assert_eq!(a.roles[1].provider_name(), "ADFS");
    }

    #[test]
    fn raw_keeps_the_base64_for_sts_and_stays_out_of_debug() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]);
        let encoded = b64(&xml);
        let a = parse_ok(&xml);
        assert_eq!(a.raw.expose(), &encoded, "STS needs the base64 exactly");
        let debug = format!("{a:?}");
        assert!(
            !debug.contains(&encoded[..40]),
            "Debug must not print the assertion: {debug}"
        );
        assert!(
            debug.contains("<redacted>"),
            "Debug should show raw as redacted: {debug}"
        );
        assert!(
            debug.contains("role/Admin"),
            "role ARNs are fine to print: {debug}"
        );
    }

    #[test]
    fn line_wrapped_base64_is_read_and_sent_unwrapped() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]);
        let encoded = b64(&xml);
        let wrapped: String = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n");
        let a = parse_response(&format!("  {wrapped}\n"));
        assert_eq!(a.map(|a| a.raw.expose().clone()), Ok(encoded));
    }

    #[test]
    fn unpadded_base64_is_read_and_sent_padded() {
        let xml = format!("{} ", adfs(&[&role(ACCOUNT_A, "Admin")]));
        let encoded = b64(&xml);
        assert!(encoded.ends_with('='), "the fixture should need padding");
        let a = parse_response(encoded.trim_end_matches('='));
        assert_eq!(a.map(|a| a.raw.expose().clone()), Ok(encoded));
    }

    #[test]
    fn xml_entry_point_encodes_raw_for_sts() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]);
        let a = parse_response_xml(xml.as_bytes());
        assert_eq!(a.map(|a| a.raw.expose().clone()), Ok(b64(&xml)));
    }

    #[test]
    fn not_base64_is_refused_with_advice() {
        let e = parse_response("<html>Sign in</html>");
        assert_eq!(e, Err(SamlError::NotBase64));
        let message = SamlError::NotBase64.to_string();
        assert!(
            message.contains("Sign in again"),
            "the message should say what to do: {message}"
        );
    }

    #[test]
    fn base64_of_something_else_is_not_xml() {
        assert!(
            matches!(
                parse_response(&b64("hello, world")),
                Err(SamlError::NotResponse | SamlError::NotXml { .. })
            ),
            "plain text is not a SAML response"
        );
        assert!(
            matches!(
                parse_response(&STANDARD.encode([0xff, 0xfe, 0x00])),
                Err(SamlError::NotXml { .. })
            ),
            "bytes that are not UTF-8 are not XML we read"
        );
        assert!(
            matches!(parse_response(""), Err(SamlError::NotXml { .. })),
            "empty is not XML"
        );
    }

    #[test]
    fn truncated_xml_is_not_xml() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]);
        let cut = &xml[..xml.len() / 2];
        assert!(
            matches!(parse_err(cut), SamlError::NotXml { .. }),
            "a response cut in half must not parse"
        );
    }

    #[test]
    fn other_xml_is_not_a_response() {
        let e = parse_err(r#"<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>"#);
        assert_eq!(e, SamlError::NotResponse);
        // The right local name in the wrong namespace is not a SAML response either.
        let e = parse_err(r#"<Response xmlns="urn:example:other"/>"#);
        assert_eq!(e, SamlError::NotResponse, "namespace, not name, decides");
    }

    #[test]
    fn okta_style_saml2_prefixes_parse() {
        let xml = response(
            Style::Prefixed("saml2p", "saml2"),
            Some("https://signin.aws.amazon.com/saml"),
            &standard_attributes("saml2", &[&role(ACCOUNT_A, "Okta-ReadOnly")]),
        );
        let a = parse_ok(&xml);
        assert_eq!(a.roles.len(), 1);
        assert_eq!(a.roles[0].role_name(), "Okta-ReadOnly");
    }

    #[test]
    fn unusual_prefixes_parse_because_namespaces_decide() {
        let xml = response(
            Style::Prefixed("p", "x"),
            None,
            &standard_attributes("x", &[&role(ACCOUNT_A, "Admin")]),
        );
        assert_eq!(parse_ok(&xml).roles.len(), 1);
    }

    #[test]
    fn a_saml_prefix_bound_to_another_namespace_is_not_saml() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replace(
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#,
            r#"xmlns:saml="urn:example:not-saml""#,
        );
        assert_eq!(
            parse_err(&xml),
            SamlError::NoAssertion,
            "the prefix alone means nothing"
        );
    }

    #[test]
    fn default_namespace_form_parses() {
        let xml = response(
            Style::Default,
            Some("https://signin.aws.amazon.com/saml"),
            &standard_attributes("", &[&role(ACCOUNT_A, "Admin")]),
        );
        let a = parse_ok(&xml);
        assert_eq!(a.roles.len(), 1);
        assert_eq!(a.role_session_name, "alice@corp.example");
        assert_eq!(
            a.issuer.as_deref(),
            Some("http://adfs.corp.example/adfs/services/trust")
        );
    }

    #[test]
    fn real_adfs_fixture_parses() {
        let xml = include_str!("../tests/fixtures/saml/adfs-default-namespace.xml");
        let a = parse_ok(xml);
        assert_eq!(a.roles.len(), 3, "the AD FS fixture lists three roles");
        assert_eq!(a.role_session_name, "alice@corp.example");
        assert_eq!(a.session_duration, Some(3600));
        assert_eq!(
            a.not_on_or_after,
            Some(datetime!(2026-11-03 10:20:02.3290000 UTC))
        );
        assert_eq!(a.region, None);
    }

    #[test]
    fn real_okta_fixture_parses() {
        let xml = include_str!("../tests/fixtures/saml/okta-saml2.xml");
        let a = parse_ok(xml);
        assert_eq!(a.roles.len(), 2);
        assert_eq!(a.region.as_deref(), Some("eu-central-1"));
        assert_eq!(
            a.session_duration, None,
            "the Okta fixture sets no duration"
        );
    }

    #[test]
    fn roles_are_read_in_either_order_with_whitespace() {
        let provider = format!("arn:aws:iam::{ACCOUNT_A}:saml-provider/ADFS");
        let role_arn = format!("arn:aws:iam::{ACCOUNT_A}:role/Admin");
        for value in [
            format!("{provider},{role_arn}"),
            format!("{role_arn},{provider}"),
            format!("\n   {role_arn} ,\t {provider}\n  "),
        ] {
            let pair = RolePair::from_attribute_value(&value);
            assert_eq!(
                pair.as_ref()
                    .map(|p| (p.role_arn.as_str(), p.principal_arn.as_str())),
                Ok((role_arn.as_str(), provider.as_str())),
                "{value:?} should read as the Admin role"
            );
        }
    }

    #[test]
    fn role_names_with_commas_split_at_the_second_arn() {
        let value = format!(
            "arn:aws:iam::{ACCOUNT_A}:role/a,b,arn:aws:iam::{ACCOUNT_A}:saml-provider/ADFS"
        );
        let pair = RolePair::from_attribute_value(&value);
        assert_eq!(pair.map(|p| p.role_name().to_owned()), Ok("a,b".to_owned()));
    }

    #[test]
    fn malformed_role_values_are_refused_and_named() {
        let role_arn = format!("arn:aws:iam::{ACCOUNT_A}:role/Admin");
        let provider = format!("arn:aws:iam::{ACCOUNT_A}:saml-provider/ADFS");
        let cases = [
            (role_arn.clone(), "two ARNs"),
            (format!("{role_arn},{role_arn}"), "both ARNs are roles"),
            (
                format!("{provider},{provider}"),
                "both ARNs are SAML providers",
            ),
            (format!("{role_arn},{provider},{provider}"), "more than two"),
            (
                format!("{role_arn},arn:aws:iam::123:saml-provider/ADFS"),
                "after the comma",
            ),
            (
                format!("arn:aws:iam::{ACCOUNT_A}:role/,{provider}"),
                "before the comma",
            ),
            (
                format!("arn:aws:s3:::{ACCOUNT_A},{provider}"),
                "before the comma",
            ),
            (
                format!("arn:aws-iso:iam::{ACCOUNT_A}:role/A,{provider}"),
                "before the comma",
            ),
            (
                format!("arn:aws-cn:iam::{ACCOUNT_A}:role/A,{provider}"),
                "different partitions",
            ),
            (String::new(), "two ARNs"),
        ];
        for (value, reason) in cases {
            match RolePair::from_attribute_value(&value) {
                Err(e @ SamlError::BadRole { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains(reason), "{value:?}: {message}");
                    assert!(
                        message.contains(&quote(&value)),
                        "the message should quote the value: {message}"
                    );
                }
                other => panic!("{value:?} should be refused as a bad role, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_bad_role_in_a_response_fails_the_whole_response() {
        let e = parse_err(&adfs(&[&role(ACCOUNT_A, "Admin"), "arn:aws:iam::1:role/x"]));
        assert!(matches!(e, SamlError::BadRole { .. }), "got {e:?}");
    }

    #[test]
    fn a_long_bad_value_is_quoted_short() {
        let long = "x".repeat(5_000);
        let e = parse_err(&adfs(&[&long]));
        let message = e.to_string();
        assert!(
            message.len() < 800,
            "the message should not carry 5,000 characters: {}",
            message.len()
        );
        assert!(
            message.contains('…'),
            "a cut value should say it was cut: {message}"
        );
    }

    #[test]
    fn duplicate_roles_are_listed_once() {
        let admin = role(ACCOUNT_A, "Admin");
        let a = parse_ok(&adfs(&[&admin, &role(ACCOUNT_A, "Dev"), &admin]));
        let names: Vec<&str> = a.roles.iter().map(RolePair::role_name).collect();
        assert_eq!(
            names,
            ["Admin", "Dev"],
            "the repeated Admin role should appear once, in place"
        );
    }

    #[test]
    fn entities_and_cdata_in_values_are_unescaped() {
        let value = format!(
            "arn:aws:iam::{ACCOUNT_A}:role/R&amp;D&#x2D;Team&#45;1,<![CDATA[arn:aws:iam::{ACCOUNT_A}]]>:saml-provider/ADFS"
        );
        let a = parse_ok(&adfs(&[&value]));
        assert_eq!(
            a.roles[0].role_name(),
            "R&D-Team-1",
            "&amp; and char refs should resolve"
        );
        assert_eq!(
            a.roles[0].principal_arn,
            format!("arn:aws:iam::{ACCOUNT_A}:saml-provider/ADFS"),
            "CDATA should join the surrounding text"
        );
    }

    #[test]
    fn a_comment_inside_a_value_does_not_truncate_it() {
        // Libraries that read only the first text node were fooled by this (CVE-2017-11427).
        let value = format!(
            "arn:aws:iam::{ACCOUNT_A}:role/Ad<!-- x -->min,arn:aws:iam::{ACCOUNT_A}:saml-provider/ADFS"
        );
        let a = parse_ok(&adfs(&[&value]));
        assert_eq!(a.roles[0].role_name(), "Admin");
    }

    #[test]
    fn gov_destination_names_gov_partition() {
        let arn = format!(
            "arn:aws-us-gov:iam::{ACCOUNT_A}:role/Admin,arn:aws-us-gov:iam::{ACCOUNT_A}:saml-provider/ADFS"
        );
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            Some("https://signin.amazonaws-us-gov.com/saml"),
            &standard_attributes("saml", &[&arn]),
        );
        let a = parse_ok(&xml);
        assert_eq!((a.partition, a.region), (Partition::AwsUsGov, None));
    }

    #[test]
    fn cn_regional_destination_names_cn_partition_and_region() {
        let arn = format!(
            "arn:aws-cn:iam::{ACCOUNT_A}:role/Admin,arn:aws-cn:iam::{ACCOUNT_A}:saml-provider/ADFS"
        );
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            Some("https://cn-northwest-1.signin.amazonaws.cn:443/saml"),
            &standard_attributes("saml", &[&arn]),
        );
        let a = parse_ok(&xml);
        assert_eq!(
            (a.partition, a.region.as_deref()),
            (Partition::AwsCn, Some("cn-northwest-1"))
        );
    }

    #[test]
    fn regional_destination_names_its_region() {
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            Some("https://eu-west-1.signin.aws.amazon.com/saml"),
            &standard_attributes("saml", &[&role(ACCOUNT_A, "Admin")]),
        );
        let a = parse_ok(&xml);
        assert_eq!(
            (a.partition, a.region.as_deref()),
            (Partition::Aws, Some("eu-west-1"))
        );
    }

    #[test]
    fn role_arns_overrule_a_destination_in_another_partition() {
        let arn = format!(
            "arn:aws-cn:iam::{ACCOUNT_A}:role/Admin,arn:aws-cn:iam::{ACCOUNT_A}:saml-provider/ADFS"
        );
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            Some("https://us-west-2.signin.aws.amazon.com/saml"),
            &standard_attributes("saml", &[&arn]),
        );
        let a = parse_ok(&xml);
        assert_eq!(
            a.partition,
            Partition::AwsCn,
            "STS acts on the ARNs, so they decide"
        );
        assert_eq!(a.region, None, "an aws region is meaningless in aws-cn");
    }

    #[test]
    fn missing_or_unknown_destination_defaults_from_the_arns() {
        let a = parse_ok(&response(
            Style::Prefixed("samlp", "saml"),
            None,
            &standard_attributes("saml", &[&role(ACCOUNT_A, "Admin")]),
        ));
        assert_eq!(
            (a.destination, a.partition, a.region),
            (None, Partition::Aws, None)
        );
        let a = parse_ok(&response(
            Style::Prefixed("samlp", "saml"),
            Some("https://sp.example/acs"),
            &standard_attributes("saml", &[&role(ACCOUNT_A, "Admin")]),
        ));
        assert_eq!(a.partition, Partition::Aws);
        assert_eq!(a.destination.as_deref(), Some("https://sp.example/acs"));
    }

    #[test]
    fn encrypted_assertion_says_to_turn_encryption_off() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="https://signin.aws.amazon.com/saml"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://adfs.corp.example/adfs/services/trust</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherValue>c2VjcmV0</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></EncryptedAssertion></samlp:Response>"#;
        let e = parse_err(xml);
        assert_eq!(e, SamlError::Encrypted);
        let message = e.to_string();
        assert!(
            message.contains("turn off assertion encryption"),
            "{message}"
        );
    }

    #[test]
    fn encrypted_role_attribute_says_the_same() {
        let attributes = format!(
            "{}\n<saml:EncryptedAttribute><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/></saml:EncryptedAttribute>",
            attr("saml", ROLE_SESSION_NAME_ATTRIBUTE, &["alice"])
        );
        let xml = response(Style::Prefixed("samlp", "saml"), None, &attributes);
        assert_eq!(parse_err(&xml), SamlError::Encrypted);
    }

    #[test]
    fn doctype_is_refused() {
        let xml = format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Response [<!ELEMENT Response ANY>]>\n{}",
            adfs(&[&role(ACCOUNT_A, "Admin")])
                .replace("<?xml version=\"1.0\" encoding=\"utf-8\"?>", "")
        );
        assert_eq!(parse_err(&xml), SamlError::DtdRejected);
    }

    #[test]
    fn billion_laughs_is_refused_before_any_expansion() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol9;</samlp:Response>"#;
        assert_eq!(parse_err(xml), SamlError::DtdRejected);
    }

    #[test]
    fn undeclared_entities_are_refused_in_text_and_attributes() {
        let in_text = adfs(&[&role(ACCOUNT_A, "Admin")]).replace("alice@corp.example", "&xxe;");
        assert_eq!(
            parse_err(&in_text),
            SamlError::EntityRejected {
                name: "\"&xxe;\"".to_owned()
            }
        );
        let in_attribute = adfs(&[&role(ACCOUNT_A, "Admin")]).replace(
            "https://signin.aws.amazon.com/saml\" ",
            "https://signin.aws.amazon.com/saml&xxe;\" ",
        );
        assert!(
            matches!(parse_err(&in_attribute), SamlError::EntityRejected { .. }),
            "an entity in Destination must be refused too"
        );
        // Outside any value we read, an unknown entity is still refused.
        let elsewhere = adfs(&[&role(ACCOUNT_A, "Admin")]).replace("CORP\\alice", "&xxe;");
        assert!(matches!(
            parse_err(&elsewhere),
            SamlError::EntityRejected { .. }
        ));
    }

    #[test]
    fn predefined_entities_in_attributes_are_unescaped() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replace(
            "Destination=\"https://signin.aws.amazon.com/saml\"",
            "Destination=\"https://signin.aws.amazon.com&#47;saml\"",
        );
        assert_eq!(
            parse_ok(&xml).destination.as_deref(),
            Some("https://signin.aws.amazon.com/saml")
        );
    }

    #[test]
    fn missing_role_attribute_says_the_account_has_no_roles() {
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            None,
            &attr("saml", ROLE_SESSION_NAME_ATTRIBUTE, &["alice"]),
        );
        let e = parse_err(&xml);
        assert_eq!(e, SamlError::NoRoles);
        assert!(
            e.to_string().contains("this account has no AWS roles"),
            "{e}"
        );
    }

    #[test]
    fn role_attribute_with_no_values_has_no_roles() {
        let xml = adfs(&[]);
        assert_eq!(parse_err(&xml), SamlError::NoRoles);
    }

    #[test]
    fn role_attribute_outside_an_assertion_is_ignored() {
        // Only what the (signed) assertion says counts, not look-alikes elsewhere in the response.
        let xml = adfs(&[]).replace(
            "<samlp:Status>",
            &format!(
                "<saml:Attribute xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" Name=\"{ROLE_ATTRIBUTE}\"><saml:AttributeValue>{}</saml:AttributeValue></saml:Attribute><samlp:Status>",
                role(ACCOUNT_A, "Injected")
            ),
        );
        assert_eq!(parse_err(&xml), SamlError::NoRoles);
    }

    #[test]
    fn response_without_assertion_says_so() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>"#;
        assert_eq!(parse_err(xml), SamlError::NoAssertion);
    }

    #[test]
    fn refused_status_is_reported_as_a_refusal() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"/></samlp:StatusCode></samlp:Status></samlp:Response>"#;
        assert_eq!(
            parse_err(xml),
            SamlError::Refused {
                status: "\"Responder\"".to_owned()
            }
        );
    }

    #[test]
    fn missing_session_name_is_refused() {
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            None,
            &attr("saml", ROLE_ATTRIBUTE, &[&role(ACCOUNT_A, "Admin")]),
        );
        assert_eq!(parse_err(&xml), SamlError::NoSessionName);
    }

    #[test]
    fn session_names_follow_the_aws_pattern() {
        for good in [
            "ab",
            "alice@corp.example",
            "CORP_alice+x=y,z-1",
            &"a".repeat(64),
        ] {
            assert!(is_valid_session_name(good), "{good:?} should be accepted");
        }
        for bad in [
            "a",
            "",
            "CORP\\alice",
            "alice smith",
            "élise",
            "a/b",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_session_name(bad), "{bad:?} should be refused");
        }
    }

    #[test]
    fn bad_session_name_is_refused_and_quoted() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replace("alice@corp.example", "CORP\\alice");
        let e = parse_err(&xml);
        assert_eq!(
            e,
            SamlError::BadSessionName {
                value: "\"CORP\\\\alice\"".to_owned()
            }
        );
        assert!(
            e.to_string().contains("2 to 64"),
            "the message should give the rule: {e}"
        );
    }

    #[test]
    fn session_name_whitespace_from_pretty_printing_is_ignored() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")])
            .replace("alice@corp.example", "\n        alice@corp.example\n      ");
        assert_eq!(parse_ok(&xml).role_session_name, "alice@corp.example");
    }

    #[test]
    fn session_duration_is_optional() {
        let xml = response(
            Style::Prefixed("samlp", "saml"),
            None,
            &[
                attr("saml", ROLE_SESSION_NAME_ATTRIBUTE, &["alice"]),
                attr("saml", ROLE_ATTRIBUTE, &[&role(ACCOUNT_A, "Admin")]),
            ]
            .join("\n"),
        );
        assert_eq!(parse_ok(&xml).session_duration, None);
    }

    /// Chained roles pass it on: it must be read when the IdP sends it, and be absent otherwise.
    #[test]
    fn source_identity_is_read_when_the_idp_sends_one() {
        let with = |values: &[&str]| {
            response(
                Style::Prefixed("samlp", "saml"),
                None,
                &[
                    attr("saml", ROLE_SESSION_NAME_ATTRIBUTE, &["alice"]),
                    attr("saml", SOURCE_IDENTITY_ATTRIBUTE, values),
                    attr("saml", ROLE_ATTRIBUTE, &[&role(ACCOUNT_A, "Admin")]),
                ]
                .join("\n"),
            )
        };
        assert_eq!(
            parse_ok(&with(&[" alice.smith "]))
                .source_identity
                .as_deref(),
            Some("alice.smith")
        );
        assert_eq!(
            parse_ok(&with(&[""])).source_identity,
            None,
            "empty is none"
        );
        assert_eq!(
            parse_ok(&adfs(&[&role(ACCOUNT_A, "Admin")])).source_identity,
            None
        );
    }

    #[test]
    fn session_duration_bounds_are_inclusive() {
        for (value, expected) in [("900", 900), ("43200", 43_200), (" 3600 ", 3600)] {
            let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replace(">28800<", &format!(">{value}<"));
            assert_eq!(parse_ok(&xml).session_duration, Some(expected), "{value:?}");
        }
    }

    #[test]
    fn session_duration_out_of_range_or_not_a_number_is_refused() {
        for value in ["899", "43201", "-1", "1h", "", "99999999999"] {
            let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replace(">28800<", &format!(">{value}<"));
            assert!(
                matches!(parse_err(&xml), SamlError::BadSessionDuration { .. }),
                "{value:?} should be refused"
            );
        }
    }

    #[test]
    fn not_on_or_after_takes_the_earliest_and_tolerates_fractions() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")])
            .replace("2026-11-03T10:20:02.329Z", "2026-11-03T12:00:00Z")
            .replace("2026-11-03T11:15:02.329Z", "2026-11-03T11:15:02.1234567Z");
        assert_eq!(
            parse_ok(&xml).not_on_or_after,
            Some(datetime!(2026-11-03 11:15:02.1234567 UTC)),
            "Conditions is earlier here and should win; seven fraction digits (AD FS) are fine"
        );
    }

    #[test]
    fn not_on_or_after_is_absent_when_the_assertion_sets_none() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")])
            .replace(r#" NotOnOrAfter="2026-11-03T10:20:02.329Z""#, "")
            .replace(r#" NotOnOrAfter="2026-11-03T11:15:02.329Z""#, "");
        assert_eq!(parse_ok(&xml).not_on_or_after, None);
    }

    #[test]
    fn not_on_or_after_that_is_not_a_time_is_refused() {
        let xml =
            adfs(&[&role(ACCOUNT_A, "Admin")]).replace("2026-11-03T11:15:02.329Z", "tomorrow");
        assert_eq!(
            parse_err(&xml),
            SamlError::BadTimestamp {
                value: "\"tomorrow\"".to_owned()
            }
        );
    }

    #[test]
    fn expiry_is_judged_against_the_given_time() {
        let a = parse_ok(&adfs(&[&role(ACCOUNT_A, "Admin")]));
        assert!(
            !a.is_expired_at(datetime!(2026-11-03 10:20:02 UTC)),
            "just before the limit"
        );
        assert!(
            a.is_expired_at(datetime!(2026-11-03 10:20:02.329 UTC)),
            "at the limit"
        );
    }

    #[test]
    fn issuer_prefers_the_response_over_the_assertion() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replacen(
            "http://adfs.corp.example/adfs/services/trust",
            "urn:response-issuer",
            1,
        );
        assert_eq!(
            parse_ok(&xml).issuer.as_deref(),
            Some("urn:response-issuer")
        );
    }

    #[test]
    fn every_issuer_of_the_response_and_its_assertion_is_listed() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]).replacen(
            "http://adfs.corp.example/adfs/services/trust",
            "urn:response-issuer",
            1,
        );
        assert_eq!(
            parse_ok(&xml).issuers,
            [
                "urn:response-issuer",
                "http://adfs.corp.example/adfs/services/trust"
            ]
        );
    }

    #[test]
    fn input_over_the_limit_is_refused_without_decoding() {
        let huge = "A".repeat(MAX_INPUT_CHARS + 4);
        assert_eq!(
            parse_response(&huge),
            Err(SamlError::TooLarge {
                chars: MAX_INPUT_CHARS + 4
            })
        );
        assert_eq!(
            parse_response_xml(huge.as_bytes()),
            Err(SamlError::TooLarge {
                chars: MAX_INPUT_CHARS + 4
            })
        );
        let at_limit = "A".repeat(MAX_INPUT_CHARS);
        assert_ne!(
            parse_response(&at_limit).err(),
            Some(SamlError::TooLarge {
                chars: MAX_INPUT_CHARS
            }),
            "exactly the limit is still read"
        );
    }

    /// About 100,000 base64 characters: the most STS accepts.
    fn big_response(roles: usize) -> String {
        let values: Vec<String> = (0..roles)
            .map(|i| {
                role(
                    &format!("{:012}", 100_000_000_000_u64 + (i as u64 % 37)),
                    &format!("Role-{i:04}"),
                )
            })
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        adfs(&refs)
    }

    #[test]
    fn a_590_role_response_of_100000_characters_keeps_every_role() {
        let xml = big_response(590);
        let encoded = b64(&xml);
        assert!(
            (90_000..=110_000).contains(&encoded.len()),
            "the fixture should be about 100,000 characters, is {}",
            encoded.len()
        );
        let a = parse_response(&encoded);
        assert_eq!(
            a.map(|a| a.roles.len()),
            Ok(590),
            "every role should be read"
        );
    }

    #[test]
    fn roles_group_by_account_sorted_by_name() {
        let a = parse_ok(&adfs(&[
            &role(ACCOUNT_B, "Zeta"),
            &role(ACCOUNT_A, "path/Beta"),
            &role(ACCOUNT_B, "Alpha"),
            &role(ACCOUNT_A, "Alpha"),
        ]));
        let groups = a.roles_by_account();
        let names: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(account, roles)| (*account, roles.iter().map(|r| r.role_name()).collect()))
            .collect();
        assert_eq!(
            names,
            vec![
                (ACCOUNT_A, vec!["Alpha", "Beta"]),
                (ACCOUNT_B, vec!["Alpha", "Zeta"])
            ],
            "accounts ascend, roles within an account sort by name"
        );
    }

    #[test]
    fn grouping_nothing_gives_nothing() {
        assert!(roles_by_account(&[]).is_empty());
    }

    #[test]
    fn role_pair_display_is_name_and_account() {
        let pair = RolePair::from_attribute_value(&role(ACCOUNT_A, "ops/Admin"));
        assert_eq!(
            pair.map(|p| p.to_string()),
            Ok(format!("Admin ({ACCOUNT_A})"))
        );
    }

    #[test]
    fn errors_never_carry_the_assertion() {
        let xml = adfs(&[&role(ACCOUNT_A, "Admin")]);
        let cases = [
            xml.replace("alice@corp.example", "&xxe;"),
            xml.replace("28800", "x"),
            xml.replace("</samlp:Response>", ""),
            xml.replace(&role(ACCOUNT_A, "Admin"), "nope"),
        ];
        for bad in cases {
            let e = parse_err(&bad);
            let text = format!("{e} {e:?}");
            assert!(!text.contains("adfs.corp.example"), "{text}");
            assert!(!text.contains("AttributeStatement"), "{text}");
        }
    }

    const RESPONSE_OPEN: &str =
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol""#;

    /// Reads `xml`, failing the test if that takes seconds (a quadratic path would: these
    /// inputs took 1.5 s and 12.5 s in release builds before the guards).
    fn parse_quickly(xml: &str) -> Result<Assertion, SamlError> {
        let start = crate::clock::monotonic();
        let result = parse_response_xml(xml.as_bytes());
        let elapsed = start.elapsed();
        assert!(
            elapsed.as_secs() < 5,
            "reading took {elapsed:?}, it should take milliseconds"
        );
        result
    }

    #[test]
    fn a_response_element_with_100000_attributes_reads_in_linear_time() {
        let attrs: String = (0..99_000).map(|i| format!(" a{i:x}=\"\"")).collect();
        let xml = format!("{RESPONSE_OPEN}{attrs}/>");
        assert_eq!(parse_quickly(&xml).err(), Some(SamlError::NoAssertion));
    }

    #[test]
    fn thousands_of_namespace_declarations_are_refused() {
        let declarations: String = (0..25_000)
            .map(|i| format!(" xmlns:n{i:x}=\"u\""))
            .collect();
        let xml = format!(
            "{RESPONSE_OPEN}{declarations}>{}</samlp:Response>",
            "<a/>".repeat(100_000)
        );
        assert_eq!(
            parse_quickly(&xml).err(),
            Some(SamlError::TooManyNamespaces)
        );
        let nested = format!(
            "{RESPONSE_OPEN}>{}</samlp:Response>",
            (0..200)
                .map(|i| format!("<a xmlns:n{i}=\"u\">"))
                .collect::<String>()
        );
        assert_eq!(
            parse_quickly(&nested).err(),
            Some(SamlError::TooManyNamespaces),
            "declarations spread over nested elements add up"
        );
    }

    #[test]
    fn namespace_declarations_on_each_value_are_fine() {
        // Okta declares xmlns:xsi on every AttributeValue; those go out of scope one by one.
        let values: Vec<String> = (0..300)
            .map(|i| role(ACCOUNT_A, &format!("R{i}")))
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let xml = adfs(&refs).replace(
            "<saml:AttributeValue>",
            r#"<saml:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#,
        );
        assert_eq!(parse_quickly(&xml).map(|a| a.roles.len()), Ok(300));
    }

    #[test]
    fn deep_nesting_is_read_without_recursion() {
        let xml = format!(
            "{RESPONSE_OPEN}>{}{}</samlp:Response>",
            "<a>".repeat(60_000),
            "</a>".repeat(60_000)
        );
        assert_eq!(parse_quickly(&xml).err(), Some(SamlError::NoAssertion));
    }

    fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
        const INTERESTING: &[u8] = b"<>&;\"'/=!?:-[]# \nxa0";
        let mut bytes = base.to_vec();
        for &(at, op, value) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at % bytes.len();
            let pick = INTERESTING[value as usize % INTERESTING.len()];
            match op % 4 {
                0 => bytes[at] = pick,
                1 => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, pick),
                _ => bytes.truncate(at),
            }
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_response_xml(&bytes);
            let _ = parse_response(&String::from_utf8_lossy(&bytes));
            let _ = parse_response(&STANDARD.encode(&bytes));
        }

        #[test]
        fn mutated_responses_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
        ) {
            let base = adfs(&[&role(ACCOUNT_A, "Admin"), &role(ACCOUNT_B, "team/Dev")]);
            let bytes = mutate(base.as_bytes(), &edits);
            let _ = parse_response_xml(&bytes);
            let _ = parse_response(&STANDARD.encode(&bytes));
            // Damage to the base64 itself.
            let encoded = mutate(b64(&base).as_bytes(), &edits);
            let _ = parse_response(&String::from_utf8_lossy(&encoded));
        }
    }
}
