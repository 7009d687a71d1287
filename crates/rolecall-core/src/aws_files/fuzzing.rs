//! The text-level editor and reader of the AWS files, opened for the fuzz targets in `fuzz/`
//! (cargo feature `fuzzing`) so that they can check what an edit kept. Rolecall itself goes
//! through [`super::AwsFiles`].

use std::collections::{BTreeMap, BTreeSet};

use super::edit::{self, Want};
use super::lines::{BOM, Document, FileKind, LineKind};

/// Which of the two shared files a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Credentials,
    Config,
}

impl From<Kind> for FileKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Credentials => FileKind::Credentials,
            Kind::Config => FileKind::Config,
        }
    }
}

/// What to do with one key of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'v> {
    Set(&'v str),
    /// Set only where the key already is.
    Update(&'v str),
    Remove,
}

/// One line of a file as the editor cuts it (after the BOM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub content: &'a [u8],
    /// `\n`, `\r\n`, or empty for a last line without one.
    pub ending: &'a [u8],
    pub header: bool,
    pub blank: bool,
}

/// The edit [`super::AwsFiles::write_profiles`] makes to the text, without the checks around
/// it (names, values, competing keys).
pub fn set_profiles(
    text: &[u8],
    kind: Kind,
    profiles: &[(&str, Vec<(&str, Change<'_>)>)],
) -> Vec<u8> {
    let wants: Vec<edit::ProfileWants<'_>> = profiles
        .iter()
        .map(|(profile, changes)| {
            let changes = changes
                .iter()
                .map(|&(key, change)| {
                    let want = match change {
                        Change::Set(value) => Want::Set(value),
                        Change::Update(value) => Want::Update(value),
                        Change::Remove => Want::Remove,
                    };
                    (key, want)
                })
                .collect();
            (*profile, changes)
        })
        .collect();
    edit::set_profiles(text, kind.into(), &wants)
}

/// The edit [`super::AwsFiles::remove_profiles`] makes to the credentials file's text.
pub fn remove_profiles(text: &[u8], names: &[&str], keys: &[&str]) -> Vec<u8> {
    let wants: Vec<edit::ProfileWants<'_>> = names
        .iter()
        .map(|name| (*name, keys.iter().map(|key| (*key, Want::Remove)).collect()))
        .collect();
    let emptied = edit::set_profiles(text, FileKind::Credentials, &wants);
    edit::remove_empty_sections(&emptied, FileKind::Credentials, names)
}

pub fn has_bom(text: &[u8]) -> bool {
    text.starts_with(BOM)
}

pub fn lines(text: &[u8], kind: Kind) -> Vec<Line<'_>> {
    Document::parse(text, kind.into())
        .lines
        .into_iter()
        .map(|line| Line {
            content: line.content,
            ending: line.ending,
            header: line.kind == LineKind::Header,
            blank: line.kind == LineKind::Blank,
        })
        .collect()
}

/// The indexes of the lines that hold one of `keys` in one of `profiles`, with the indented
/// lines that continue their values: the only lines an edit of those keys may change.
pub fn owned_lines(text: &[u8], kind: Kind, profiles: &[&str], keys: &[&str]) -> BTreeSet<usize> {
    let doc = Document::parse(text, kind.into());
    let mut owned = BTreeSet::new();
    for profile in profiles {
        let sections = doc.profile_sections(profile);
        for (line, key) in doc.properties(&sections) {
            if keys.iter().any(|wanted| wanted.as_bytes() == key) {
                owned.insert(line);
                owned.extend(doc.continuation_of(line));
            }
        }
    }
    owned
}

/// The header lines of the sections that make up `profile`, in file order.
pub fn profile_headers(text: &[u8], kind: Kind, profile: &str) -> Vec<usize> {
    let doc = Document::parse(text, kind.into());
    doc.profile_sections(profile)
        .into_iter()
        .map(|section| doc.sections[section].lines.start)
        .collect()
}

/// Each key of `profile` with the value aws-sdk-rust reads for it.
pub fn effective(text: &[u8], kind: Kind, profile: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let doc = Document::parse(text, kind.into());
    doc.effective(profile)
        .into_iter()
        .map(|(key, line)| (key, doc.value(line)))
        .collect()
}
