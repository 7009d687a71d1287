//! Format-preserving edits of the AWS shared credentials and config files.
//!
//! This module owns the keys Rolecall writes there, and only those: `aws_access_key_id`,
//! `aws_secret_access_key`, `aws_session_token` (and its legacy twin `aws_security_token` where
//! present), `x_security_token_expires` and `x_principal_arn` in a profile's section of the
//! credentials file, `region` and `output` in
//! its section of the config file. It edits the files as lines: it replaces those keys' values
//! in place, adds missing keys after the profile's last key, and appends missing profiles at the
//! end. Every other byte stays as it was (comments, blank lines, CRLF, alignment, indented
//! sub-sections, unknown keys and sections, a missing final newline, a BOM). It never rewrites a
//! file from a parsed model, and never writes to a profile whose credentials another mechanism
//! (`credential_process`, SSO, `role_arn`...) would provide.
//!
//! Where the tools disagree, it follows aws-sdk-rust: repeated sections are one profile and the
//! last value of a key wins, so that is the one updated (botocore refuses such files; the report
//! warns). Files are replaced atomically under a side lock file, and an edit is redone if
//! another program changed the file meanwhile.

mod disk;
mod edit;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod lines;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use self::disk::{Locked, Patience};
use self::edit::Want;
use self::lines::{Document, FileKind};
use crate::paths::AppPaths;
use crate::secrets::Sensitive;
use crate::store::StoreError;

pub const ACCESS_KEY_ID: &str = "aws_access_key_id";
pub const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
pub const SESSION_TOKEN: &str = "aws_session_token";
/// boto2's name for the session token. saml2aws still writes it, and botocore reads it *before*
/// `aws_session_token`: where it exists, it gets the same token, so the AWS CLI never pairs new
/// keys with an old token. It is never added.
pub const LEGACY_SESSION_TOKEN: &str = "aws_security_token";
/// When the session ends, RFC 3339 in UTC (`2026-11-05T10:00:00Z`): saml2aws writes it, shell
/// prompts read it.
pub const EXPIRATION: &str = "x_security_token_expires";
/// The assumed-role ARN that STS returned, as saml2aws writes it.
pub const PRINCIPAL_ARN: &str = "x_principal_arn";
pub const REGION: &str = "region";
pub const OUTPUT: &str = "output";

/// Keys that make the AWS tools get a profile's credentials some other way than from the keys
/// we write, each with the tool that owns such a profile; the tools disagree on which wins, so
/// Rolecall refuses to write such a profile.
const COMPETING_KEYS: [(&str, &str); 6] = [
    ("credential_process", "a credential_process program"),
    ("role_arn", "the AWS CLI's role assumption"),
    ("source_profile", "the AWS CLI's role assumption"),
    ("credential_source", "the AWS CLI's role assumption"),
    ("web_identity_token_file", "web identity (OIDC) federation"),
    ("login_session", "the AWS CLI's `aws login`"),
];
/// `sso_session`, `sso_start_url`, `sso_account_id`, ...
const COMPETING_PREFIX: &str = "sso_";
const COMPETING_PREFIX_OWNER: &str = "IAM Identity Center (`aws sso login`)";

/// The tool that owns a profile with `key` (lower case), if the key is one of another tool's.
fn competing_owner(key: &str) -> Option<&'static str> {
    COMPETING_KEYS
        .iter()
        .find(|(competing, _)| *competing == key)
        .map(|(_, owner)| *owner)
        .or_else(|| {
            key.starts_with(COMPETING_PREFIX)
                .then_some(COMPETING_PREFIX_OWNER)
        })
}

/// Temporary credentials from STS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
    pub session_token: Sensitive<String>,
    pub expiration: OffsetDateTime,
    /// The assumed-role ARN STS returned, if known.
    pub principal_arn: Option<String>,
}

/// One profile to write: its credentials, and its region and output when given (the config
/// file's values are left alone otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileWrite {
    pub name: String,
    pub credentials: Credentials,
    pub region: Option<String>,
    pub output: Option<String>,
    /// Rolecall's registry lists this profile as one it wrote, so temporary keys found there
    /// are Rolecall's to replace. Without it, only a profile that holds no keys is written.
    pub registered: bool,
}

/// A profile's keys as the credentials file holds them. Long-term keys written by another tool
/// have no token and no expiration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
    pub session_token: Option<Sensitive<String>>,
    /// `None` when absent or not RFC 3339.
    pub expiration: Option<OffsetDateTime>,
    pub principal_arn: Option<String>,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// It already said all that: not written (its modification time did not change either).
    Unchanged,
    Updated,
    Created,
}

/// What [`AwsFiles::write_profiles`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub credentials: FileChange,
    pub config: FileChange,
    /// Things people may want to fix; the write itself succeeded.
    pub warnings: Vec<Warning>,
}

/// Something odd in a file that Rolecall worked around, which other tools will trip over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// aws-sdk-rust reads the last copy (which Rolecall updated), the AWS CLI refuses the file.
    Repeated { path: PathBuf, profile: String },
    /// Rolecall kept the byte order mark, but neither the AWS CLI nor the SDKs read such a file.
    ByteOrderMark { path: PathBuf },
    /// A comment after a value Rolecall wrote: the SDKs drop it, the AWS CLI reads it as part
    /// of the value. Rolecall keeps it (it is not Rolecall's to remove).
    InlineComment {
        path: PathBuf,
        profile: String,
        key: String,
    },
    /// The credentials file could be read by other users; Rolecall made it owner-only.
    MadePrivate { path: PathBuf },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Repeated { path, profile } => write!(
                f,
                "The profile \"{profile}\" appears more than once in {} (a repeated section or \
                 key). Rolecall updated the last copy, which the AWS SDKs use, but the AWS CLI \
                 refuses such a file: remove the older copy.",
                path.display()
            ),
            Warning::InlineComment { path, profile, key } => write!(
                f,
                "In {}, the `{key}` of the profile \"{profile}\" is followed by a comment on the \
                 same line, which the AWS CLI reads as part of the value. Move the comment to a \
                 line of its own.",
                path.display()
            ),
            Warning::MadePrivate { path } => write!(
                f,
                "{} could be read by other users on this computer; Rolecall made it readable \
                 by you only (mode 0600), as it holds your AWS keys.",
                path.display()
            ),
            Warning::ByteOrderMark { path } => write!(
                f,
                "{} starts with a byte order mark, which the AWS CLI and SDKs cannot read. Save \
                 it as UTF-8 without a byte order mark.",
                path.display()
            ),
        }
    }
}

/// The two AWS shared files, at paths the caller chose (see [`AppPaths`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFiles {
    credentials: PathBuf,
    config: PathBuf,
}

impl AwsFiles {
    pub fn new(credentials_file: impl Into<PathBuf>, config_file: impl Into<PathBuf>) -> Self {
        Self {
            credentials: credentials_file.into(),
            config: config_file.into(),
        }
    }

    pub fn from_paths(paths: &AppPaths) -> Self {
        Self::new(&paths.aws_credentials_file, &paths.aws_config_file)
    }

    pub fn credentials_file(&self) -> &Path {
        &self.credentials
    }

    pub fn config_file(&self) -> &Path {
        &self.config
    }

    /// Writes each profile's credentials into the credentials file, then its region and output
    /// (when given) into the config file, each file once. Nothing is written if a profile
    /// name or value is invalid or a profile gets its credentials some other way. A later
    /// write of the same profile wins.
    pub fn write_profiles(&self, writes: &[ProfileWrite]) -> Result<WriteReport, AwsFilesError> {
        self.write_profiles_with(writes, Patience::default())
    }

    fn write_profiles_with(
        &self,
        writes: &[ProfileWrite],
        patience: Patience<'_>,
    ) -> Result<WriteReport, AwsFilesError> {
        if writes.is_empty() {
            return Ok(WriteReport {
                credentials: FileChange::Unchanged,
                config: FileChange::Unchanged,
                warnings: Vec::new(),
            });
        }
        let expirations = writes
            .iter()
            .map(|write| {
                check_profile_name(&write.name, &self.credentials)?;
                format_expiration(write.credentials.expiration)
                    .ok_or_else(|| invalid_value(&write.name, EXPIRATION, &self.credentials))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let credential_edits = writes
            .iter()
            .zip(&expirations)
            .map(|(write, expiration)| credential_wants(write, expiration, &self.credentials))
            .collect::<Result<Vec<_>, _>>()?;
        let config_edits = writes
            .iter()
            .map(|write| config_wants(write, &self.config))
            .collect::<Result<Vec<_>, _>>()?;
        let writes_config = config_edits.iter().any(|(_, wants)| !wants.is_empty());

        // Always credentials first, then config, so two Rolecalls cannot deadlock.
        let credentials = disk::lock(
            &self.credentials,
            FileKind::Credentials,
            patience.lock_timeout,
            None,
        )?;
        let config = if writes_config {
            Some(disk::lock(
                &self.config,
                FileKind::Config,
                patience.lock_timeout,
                Some(&credentials),
            )?)
        } else {
            None
        };
        let config_now = match &config {
            Some(locked) => locked.read()?,
            None => disk::read_optional(&self.config)?,
        };
        let config_doc =
            Document::parse(config_now.as_deref().unwrap_or_default(), FileKind::Config);
        for write in writes {
            refuse_competing(&config_doc, &write.name, &self.config)?;
        }

        let mut warnings = Vec::new();
        // Checked on every attempt, under the lock: what counts is the file as it is replaced.
        let (credentials_change, made_private) = credentials.edit(patience, |text| {
            let doc = Document::parse(text, FileKind::Credentials);
            for write in writes {
                refuse_competing(&doc, &write.name, &self.credentials)?;
                refuse_foreign_keys(&doc, &write.name, write.registered, &self.credentials)?;
            }
            Ok(edit::set_profiles(
                text,
                FileKind::Credentials,
                &credential_edits,
            ))
        })?;
        if made_private {
            warnings.push(Warning::MadePrivate {
                path: self.credentials.clone(),
            });
        }
        collect_warnings(
            &credentials,
            &self.credentials,
            FileKind::Credentials,
            &credential_edits,
            &mut warnings,
        )?;

        let config_change = match &config {
            Some(config) => {
                let touched: Vec<_> = config_edits
                    .iter()
                    .filter(|(_, wants)| !wants.is_empty())
                    .cloned()
                    .collect();
                let (change, _) = config.edit(patience, |text| {
                    Ok(edit::set_profiles(text, FileKind::Config, &touched))
                })?;
                collect_warnings(
                    config,
                    &self.config,
                    FileKind::Config,
                    &touched,
                    &mut warnings,
                )?;
                change
            }
            None => FileChange::Unchanged,
        };
        Ok(WriteReport {
            credentials: credentials_change,
            config: config_change,
            warnings,
        })
    }

    /// The keys stored for `profile` in the credentials file, read as aws-sdk-rust reads them;
    /// `None` if the file or the profile does not exist or lacks an access key or secret.
    pub fn read_credentials(
        &self,
        profile: &str,
    ) -> Result<Option<StoredCredentials>, AwsFilesError> {
        let Some(bytes) = disk::read_optional(&self.credentials)? else {
            return Ok(None);
        };
        Ok(stored_credentials(&bytes, profile))
    }

    /// The keys of every profile in the credentials file, from one read and one parse of it
    /// (profiles without an access key and secret are left out).
    pub fn read_all_credentials(
        &self,
    ) -> Result<std::collections::BTreeMap<String, StoredCredentials>, AwsFilesError> {
        let Some(bytes) = disk::read_optional(&self.credentials)? else {
            return Ok(std::collections::BTreeMap::new());
        };
        let doc = Document::parse(&bytes, FileKind::Credentials);
        Ok(doc
            .profile_names()
            .into_iter()
            .filter_map(|name| Some((name.clone(), stored_in(&doc, &name)?)))
            .collect())
    }

    /// The `region` of `profile` in the config file (`[profile name]`, or `[default]`), read as
    /// aws-sdk-rust reads it; `None` if the file, the profile or the key is missing.
    pub fn read_region(&self, profile: &str) -> Result<Option<String>, AwsFilesError> {
        let Some(bytes) = disk::read_optional(&self.config)? else {
            return Ok(None);
        };
        let doc = Document::parse(&bytes, FileKind::Config);
        Ok(doc
            .effective(profile)
            .get(REGION.as_bytes())
            .and_then(|&line| String::from_utf8(doc.value(line)).ok())
            .filter(|region| !region.is_empty()))
    }

    /// Takes Rolecall's keys out of these profiles in the credentials file, and a profile's
    /// section too once nothing else is left in it. Other keys, comments and the config file
    /// (whose region and output are the person's settings) stay.
    pub fn remove_profiles(&self, names: &[&str]) -> Result<FileChange, AwsFilesError> {
        self.remove_profiles_with(names, Patience::default())
    }

    fn remove_profiles_with(
        &self,
        names: &[&str],
        patience: Patience<'_>,
    ) -> Result<FileChange, AwsFilesError> {
        if disk::read_optional(&self.credentials)?.is_none() {
            return Ok(FileChange::Unchanged);
        }
        let wants = [
            (ACCESS_KEY_ID, Want::Remove),
            (SECRET_ACCESS_KEY, Want::Remove),
            (SESSION_TOKEN, Want::Remove),
            (LEGACY_SESSION_TOKEN, Want::Remove),
            (EXPIRATION, Want::Remove),
            (PRINCIPAL_ARN, Want::Remove),
        ];
        let credentials = disk::lock(
            &self.credentials,
            FileKind::Credentials,
            patience.lock_timeout,
            None,
        )?;
        let edits: Vec<_> = names.iter().map(|name| (*name, wants.to_vec())).collect();
        credentials
            .edit(patience, |text| {
                let emptied = edit::set_profiles(text, FileKind::Credentials, &edits);
                Ok(edit::remove_empty_sections(
                    &emptied,
                    FileKind::Credentials,
                    names,
                ))
            })
            .map(|(change, _)| change)
    }

    /// The profiles in these files that Rolecall may not write: keys it did not write (see
    /// [`ProfileWrite::registered`]; `registered` says which profiles its registry lists), or
    /// credentials that come from elsewhere (`credential_process`, SSO, `role_arn`...). New
    /// profile names are chosen outside this set.
    pub fn foreign_profiles(
        &self,
        registered: impl Fn(&str) -> bool,
    ) -> Result<BTreeSet<String>, AwsFilesError> {
        let mut foreign = BTreeSet::new();
        for (path, kind) in [
            (&self.credentials, FileKind::Credentials),
            (&self.config, FileKind::Config),
        ] {
            let Some(bytes) = disk::read_optional(path)? else {
                continue;
            };
            let doc = Document::parse(&bytes, kind);
            for name in doc.profile_names() {
                if refuse_profile(&doc, kind, &name, registered(&name), path).is_err() {
                    foreign.insert(name);
                }
            }
        }
        Ok(foreign)
    }

    /// Refuses `profile`, with the reason, when Rolecall may not write it (see
    /// [`AwsFiles::foreign_profiles`]). Writing checks again, under the files' lock.
    pub fn check_writable(&self, profile: &str, registered: bool) -> Result<(), AwsFilesError> {
        for (path, kind) in [
            (&self.credentials, FileKind::Credentials),
            (&self.config, FileKind::Config),
        ] {
            if let Some(bytes) = disk::read_optional(path)? {
                refuse_profile(
                    &Document::parse(&bytes, kind),
                    kind,
                    profile,
                    registered,
                    path,
                )?;
            }
        }
        Ok(())
    }
}

/// Something in the AWS files that the AWS tools or Rolecall trip over, or that a help desk
/// wants to know, as [`AwsFiles::inspect`] finds it. Lines count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Neither the AWS CLI nor the SDKs read a file that starts with one.
    ByteOrderMark { path: PathBuf },
    /// The same section more than once: the AWS CLI refuses the file, the SDKs merge them.
    RepeatedSection {
        path: PathBuf,
        profile: String,
        lines: Vec<usize>,
    },
    /// The same key more than once in one section: the AWS CLI refuses the file.
    RepeatedKey {
        path: PathBuf,
        profile: String,
        key: String,
        lines: Vec<usize>,
    },
    /// A key Rolecall does not write, in the credentials file's section of a profile it
    /// manages: kept, but written by someone else.
    HandWrittenKey {
        path: PathBuf,
        profile: String,
        key: String,
        line: usize,
    },
    /// A profile whose credentials come from elsewhere (another tool's keys, or a key that
    /// makes the AWS tools get them some other way); `registered` says whether Rolecall's
    /// registry lists it, in which case Rolecall can no longer renew it.
    OwnedElsewhere {
        path: PathBuf,
        profile: String,
        /// Whose it is, as a phrase: "IAM Identity Center (`aws sso login`): `sso_session`,
        /// line 3", "an IAM user's long-term access key (AKIA…)".
        owner: String,
        registered: bool,
    },
}

/// The keys Rolecall writes in a profile's section of the credentials file.
const ROLECALL_CREDENTIAL_KEYS: [&str; 6] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    LEGACY_SESSION_TOKEN,
    EXPIRATION,
    PRINCIPAL_ARN,
];

impl AwsFiles {
    /// Reads both files and lists what is odd in them (see [`Finding`]); `registered` says
    /// which profiles Rolecall's registry lists. Missing files have nothing to find.
    pub fn inspect(
        &self,
        registered: impl Fn(&str) -> bool,
    ) -> Result<Vec<Finding>, AwsFilesError> {
        let mut findings = Vec::new();
        for (path, kind) in [
            (&self.credentials, FileKind::Credentials),
            (&self.config, FileKind::Config),
        ] {
            let Some(bytes) = disk::read_optional(path)? else {
                continue;
            };
            let doc = Document::parse(&bytes, kind);
            inspect_document(&doc, kind, path, &registered, &mut findings);
        }
        Ok(findings)
    }
}

/// A profile section's name and whether it is written `[profile name]`.
type SectionKey<'a> = (&'a [u8], bool);

fn inspect_document(
    doc: &Document<'_>,
    kind: FileKind,
    path: &Path,
    registered: &impl Fn(&str) -> bool,
    findings: &mut Vec<Finding>,
) {
    if doc.has_bom() {
        findings.push(Finding::ByteOrderMark {
            path: path.to_owned(),
        });
    }
    // Sections as configparser names them: `[default]` and `[profile default]` differ.
    let mut seen: Vec<(SectionKey<'_>, Vec<usize>)> = Vec::new();
    for section in &doc.sections {
        if let lines::SectionName::Profile { name, prefixed } = section.name {
            let line = section.lines.start + 1;
            match seen.iter_mut().find(|(key, _)| *key == (name, prefixed)) {
                Some((_, lines)) => lines.push(line),
                None => seen.push(((name, prefixed), vec![line])),
            }
        }
    }
    for ((name, _), lines) in &seen {
        if lines.len() > 1 {
            findings.push(Finding::RepeatedSection {
                path: path.to_owned(),
                profile: String::from_utf8_lossy(name).into_owned(),
                lines: lines.clone(),
            });
        }
    }
    for (index, section) in doc.sections.iter().enumerate() {
        let lines::SectionName::Profile { name, .. } = section.name else {
            continue;
        };
        let mut keys: Vec<(&[u8], Vec<usize>)> = Vec::new();
        let one = [index];
        for (line, key) in doc.properties(&one) {
            match keys.iter_mut().find(|(seen, _)| *seen == key) {
                Some((_, lines)) => lines.push(line + 1),
                None => keys.push((key, vec![line + 1])),
            }
        }
        for (key, lines) in keys {
            if lines.len() > 1 {
                findings.push(Finding::RepeatedKey {
                    path: path.to_owned(),
                    profile: String::from_utf8_lossy(name).into_owned(),
                    key: String::from_utf8_lossy(key).into_owned(),
                    lines,
                });
            }
        }
    }
    for profile in doc.profile_names() {
        let is_registered = registered(&profile);
        let owner = match refuse_profile(doc, kind, &profile, is_registered, path) {
            Err(AwsFilesError::CompetingKey {
                key, owner, line, ..
            }) => Some(format!("{owner}: `{key}`, line {line}")),
            Err(AwsFilesError::ForeignKeys { kept, .. }) => Some(kept.to_string()),
            _ => None,
        };
        // An unregistered profile with no keys at all (region only) is nobody's yet.
        if let Some(owner) = owner {
            findings.push(Finding::OwnedElsewhere {
                path: path.to_owned(),
                profile: profile.clone(),
                owner,
                registered: is_registered,
            });
        } else if is_registered && kind == FileKind::Credentials {
            let sections = doc.profile_sections(&profile);
            for (line, key) in doc.properties(&sections) {
                if !ROLECALL_CREDENTIAL_KEYS
                    .iter()
                    .any(|ours| ours.as_bytes() == key)
                {
                    findings.push(Finding::HandWrittenKey {
                        path: path.to_owned(),
                        profile: profile.clone(),
                        key: String::from_utf8_lossy(key).into_owned(),
                        line: line + 1,
                    });
                }
            }
        }
    }
}

fn refuse_profile(
    doc: &Document<'_>,
    kind: FileKind,
    profile: &str,
    registered: bool,
    path: &Path,
) -> Result<(), AwsFilesError> {
    refuse_competing(doc, profile, path)?;
    if kind == FileKind::Credentials {
        refuse_foreign_keys(doc, profile, registered, path)?;
    }
    Ok(())
}

type Wants<'w> = Vec<(&'w str, Want<'w>)>;

fn credential_wants<'w>(
    write: &'w ProfileWrite,
    expiration: &'w str,
    path: &Path,
) -> Result<(&'w str, Wants<'w>), AwsFilesError> {
    let credentials = &write.credentials;
    let wants = vec![
        (ACCESS_KEY_ID, Want::Set(credentials.access_key_id.as_str())),
        (
            SECRET_ACCESS_KEY,
            Want::Set(credentials.secret_access_key.expose().as_str()),
        ),
        (
            SESSION_TOKEN,
            Want::Set(credentials.session_token.expose().as_str()),
        ),
        (
            LEGACY_SESSION_TOKEN,
            Want::Update(credentials.session_token.expose().as_str()),
        ),
        (EXPIRATION, Want::Set(expiration)),
        (
            PRINCIPAL_ARN,
            // Removed when unknown: a stale ARN would name some other role.
            credentials
                .principal_arn
                .as_deref()
                .map_or(Want::Remove, Want::Set),
        ),
    ];
    check_values(&write.name, &wants, path)?;
    Ok((&write.name, wants))
}

/// Region and output only when given: otherwise the person's own choice stays.
fn config_wants<'w>(
    write: &'w ProfileWrite,
    path: &Path,
) -> Result<(&'w str, Wants<'w>), AwsFilesError> {
    let wants: Wants<'w> = [(REGION, &write.region), (OUTPUT, &write.output)]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| (key, Want::Set(value))))
        .collect();
    check_values(&write.name, &wants, path)?;
    Ok((&write.name, wants))
}

fn check_values(profile: &str, wants: &Wants<'_>, path: &Path) -> Result<(), AwsFilesError> {
    for &(key, want) in wants {
        if let Want::Set(value) | Want::Update(value) = want
            && !valid_value(value)
        {
            return Err(invalid_value(profile, key, path));
        }
    }
    Ok(())
}

/// A value both tools read back unchanged on one line: no blanks (which would end it at an
/// inline comment or be trimmed), no control characters, no leading comment sign.
fn valid_value(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with(['#', ';'])
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn invalid_value(profile: &str, key: &str, path: &Path) -> AwsFilesError {
    AwsFilesError::InvalidValue {
        profile: profile.to_owned(),
        key: key.to_owned(),
        path: path.to_owned(),
    }
}

/// The names aws-sdk-rust accepts (it ignores profiles with any other character); this also
/// keeps `]`, `#` and line breaks out of headers.
fn check_profile_name(name: &str, path: &Path) -> Result<(), AwsFilesError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c));
    if valid {
        Ok(())
    } else {
        Err(AwsFilesError::InvalidProfileName {
            name: name.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// RFC 3339 in UTC with `Z` and whole seconds; `None` for years RFC 3339 cannot write.
fn format_expiration(expiration: OffsetDateTime) -> Option<String> {
    expiration
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

fn refuse_competing(doc: &Document<'_>, profile: &str, path: &Path) -> Result<(), AwsFilesError> {
    let sections = doc.profile_sections(profile);
    let competing = doc.properties(&sections).find_map(|(line, key)| {
        let key = String::from_utf8_lossy(key).to_ascii_lowercase();
        competing_owner(&key).map(|owner| (line, key, owner))
    });
    match competing {
        Some((line, key, owner)) => Err(AwsFilesError::CompetingKey {
            profile: profile.to_owned(),
            path: path.to_owned(),
            key,
            owner,
            line: line + 1,
        }),
        None => Ok(()),
    }
}

/// Refuses to write `profile` when it holds keys Rolecall did not write. Rolecall's are
/// temporary (a session token, never an `AKIA` long-term key) in a profile its registry lists;
/// anything else there (`aws configure`'s IAM user keys, another tool's session) would be
/// lost for good, as nothing else keeps a copy.
fn refuse_foreign_keys(
    doc: &Document<'_>,
    profile: &str,
    registered: bool,
    path: &Path,
) -> Result<(), AwsFilesError> {
    let values = doc.effective(profile);
    let get = |key: &str| {
        values
            .get(key.as_bytes())
            .map(|&line| doc.value(line))
            .filter(|value| !value.is_empty())
    };
    let access_key = get(ACCESS_KEY_ID);
    let token = get(SESSION_TOKEN).or_else(|| get(LEGACY_SESSION_TOKEN));
    if access_key.is_none() && get(SECRET_ACCESS_KEY).is_none() && token.is_none() {
        return Ok(());
    }
    let kept = if access_key
        .as_deref()
        .is_some_and(|key| key.starts_with(b"AKIA"))
    {
        ForeignKeys::LongTerm
    } else if token.is_none() {
        ForeignKeys::NoSessionToken
    } else if !registered {
        ForeignKeys::NotRecorded
    } else {
        return Ok(());
    };
    Err(AwsFilesError::ForeignKeys {
        profile: profile.to_owned(),
        path: path.to_owned(),
        kept,
    })
}

/// Why the keys of a profile are not Rolecall's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignKeys {
    /// An `AKIA…` access key: an IAM user's long-term key.
    LongTerm,
    /// Keys without a session token: long-term keys.
    NoSessionToken,
    /// Temporary keys in a profile Rolecall's registry does not list (another tool's).
    NotRecorded,
}

impl fmt::Display for ForeignKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForeignKeys::LongTerm => "an IAM user's long-term access key (AKIA…)",
            ForeignKeys::NoSessionToken => "long-term keys, without a session token",
            ForeignKeys::NotRecorded => "keys another program wrote",
        })
    }
}

fn collect_warnings(
    locked: &Locked,
    path: &Path,
    kind: FileKind,
    edits: &[(&str, Wants<'_>)],
    warnings: &mut Vec<Warning>,
) -> Result<(), AwsFilesError> {
    let text = locked.read()?.unwrap_or_default();
    let doc = Document::parse(&text, kind);
    if doc.has_bom() {
        warnings.push(Warning::ByteOrderMark {
            path: path.to_owned(),
        });
    }
    let mut seen: Vec<&str> = Vec::new();
    for (name, wants) in edits {
        if seen.contains(name) {
            continue;
        }
        seen.push(name);
        let sections = doc.profile_sections(name);
        let repeated_key = wants.iter().any(|(key, _)| {
            doc.properties(&sections)
                .filter(|(_, found)| found == &key.as_bytes())
                .count()
                > 1
        });
        if sections.len() > 1 || repeated_key {
            warnings.push(Warning::Repeated {
                path: path.to_owned(),
                profile: (*name).to_owned(),
            });
        }
        let effective = doc.effective(name);
        for (key, _) in wants {
            let commented = effective.get(key.as_bytes()).is_some_and(|&line| {
                let content = doc.lines[line].content;
                lines::comment_start(content) < content.len()
            });
            if commented {
                warnings.push(Warning::InlineComment {
                    path: path.to_owned(),
                    profile: (*name).to_owned(),
                    key: (*key).to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn stored_credentials(text: &[u8], profile: &str) -> Option<StoredCredentials> {
    stored_in(&Document::parse(text, FileKind::Credentials), profile)
}

fn stored_in(doc: &Document<'_>, profile: &str) -> Option<StoredCredentials> {
    let values = doc.effective(profile);
    let get = |key: &str| {
        values
            .get(key.as_bytes())
            .and_then(|&line| String::from_utf8(doc.value(line)).ok())
            .filter(|value| !value.is_empty())
    };
    Some(StoredCredentials {
        access_key_id: get(ACCESS_KEY_ID)?,
        secret_access_key: Sensitive::new(get(SECRET_ACCESS_KEY)?),
        session_token: get(SESSION_TOKEN).map(Sensitive::new),
        expiration: get(EXPIRATION).and_then(|value| OffsetDateTime::parse(&value, &Rfc3339).ok()),
        principal_arn: get(PRINCIPAL_ARN),
    })
}

/// An AWS file that could not be read, written or accepted. Each message names the file and
/// says what to do; none holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum AwsFilesError {
    #[error(transparent)]
    File(#[from] StoreError),

    #[error(
        "{} kept changing while Rolecall was updating it (another program is writing to it), \
         so Rolecall left it alone. Try again in a moment.",
        path.display()
    )]
    KeptChanging { path: PathBuf },

    #[error(
        "Another program wrote to {} at the moment Rolecall replaced it, and what it wrote \
         looked incomplete, so Rolecall did not build on it: the file holds what it held \
         before, with Rolecall's profiles updated. Redo the other program's change (for \
         example `aws configure set ...`) if it is missing.",
        path.display()
    )]
    ChangedWhileReplaced { path: PathBuf },

    #[error(
        "The profile \"{profile}\" in {} holds {kept}, which Rolecall did not write and \
         would destroy, so it changed neither AWS file. Choose another active profile in \
         Rolecall's settings (or pass --profile NAME), or move those keys to another profile.",
        path.display()
    )]
    ForeignKeys {
        profile: String,
        path: PathBuf,
        kept: ForeignKeys,
    },

    #[error(
        "The profile \"{profile}\" in {} belongs to {owner}: it has `{key}` (line {line}), so \
         AWS tools would get its credentials from there and not from what Rolecall writes; they \
         disagree on which one wins, so Rolecall wrote nothing. Choose another profile name for \
         this role in Rolecall's settings, or remove `{key}` from that profile.",
        path.display()
    )]
    CompetingKey {
        profile: String,
        path: PathBuf,
        key: String,
        /// The tool the profile belongs to.
        owner: &'static str,
        line: usize,
    },

    #[error(
        "\"{name}\" cannot be a profile name in {}: AWS tools accept only letters, digits and \
         _ - / . % @ : + there. Choose another profile name in Rolecall's settings.",
        path.display()
    )]
    InvalidProfileName { name: String, path: PathBuf },

    #[error(
        "Rolecall did not write `{key}` of the profile \"{profile}\" to {}: the value is \
         empty, holds blanks or line breaks, or starts with a comment sign. Correct the region \
         or output in Rolecall's settings; for other keys, please report this as a bug.",
        path.display()
    )]
    InvalidValue {
        profile: String,
        key: String,
        path: PathBuf,
    },

    #[error(
        "{} leads through more than 40 symbolic links (probably a loop). Point it at a real \
         file, then try again.",
        path.display()
    )]
    SymlinkLoop { path: PathBuf },
}

/// How a file other than the two shared ones names its sections, for [`read_sections`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionNames {
    /// `[name]`, as in the credentials file (and other tools' own INI files).
    Plain,
    /// `[profile name]` and `[default]`, as in the config file.
    Config,
}

/// Each profile of `text` with its keys as the AWS tools read them (keys lowercased, the last
/// value of a key winning), in file order: how Rolecall reads other tools' settings.
pub fn read_sections(
    text: &[u8],
    names: SectionNames,
) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    let kind = match names {
        SectionNames::Plain => FileKind::Credentials,
        SectionNames::Config => FileKind::Config,
    };
    let document = Document::parse(text, kind);
    document
        .profile_names()
        .into_iter()
        .map(|profile| {
            let keys = document
                .effective(&profile)
                .into_iter()
                .map(|(key, line)| {
                    (
                        String::from_utf8_lossy(&key).into_owned(),
                        String::from_utf8_lossy(&document.value(line)).into_owned(),
                    )
                })
                .collect();
            (profile, keys)
        })
        .collect()
}
