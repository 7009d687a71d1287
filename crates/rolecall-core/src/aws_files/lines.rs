//! How the AWS tools see each line of a shared file, following aws-sdk-rust's profile parser
//! (botocore's configparser where the two differ is noted). Works on bytes and never fails: a
//! line the tools would reject is kept as [`LineKind::Other`] and is never edited.

use std::collections::BTreeMap;
use std::ops::Range;

pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Which shared file a text came from: the two name profile sections differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    Credentials,
    Config,
}

/// A file cut into classified lines. Offsets index the original text, BOM included.
#[derive(Debug)]
pub(super) struct Document<'a> {
    pub text: &'a [u8],
    pub lines: Vec<Line<'a>>,
    pub sections: Vec<Section<'a>>,
}

#[derive(Debug)]
pub(super) struct Line<'a> {
    pub start: usize,
    /// The line without its ending.
    pub content: &'a [u8],
    /// `\n`, `\r\n`, or empty for a last line without one.
    pub ending: &'a [u8],
    pub kind: LineKind,
}

impl Line<'_> {
    pub fn end(&self) -> usize {
        self.start + self.content.len() + self.ending.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LineKind {
    /// Only spaces and tabs.
    Blank,
    /// `#` or `;` first, indented or not. The SDK reads an indented one as a continuation,
    /// configparser as a comment; either way it is not ours, so it is never touched.
    Comment,
    /// Starts with `[` (after blanks, unless it continues a value); a malformed one still ends
    /// the section above it (see [`SectionName`]).
    Header,
    /// `key = value`. `key` is lowercased (both tools ignore case in keys); `value` is the
    /// range inside the line's content that the SDK reads as the value (no inline comment, no
    /// surrounding blanks). `delimiter` is where the `=` (or configparser's `:`) is.
    Property {
        key: Vec<u8>,
        delimiter: usize,
        value: Range<usize>,
    },
    /// Indented deeper than the key above: continues its value (`s3 =` sub-sections).
    /// Never a key.
    Continuation,
    /// Anything else (no `=`, empty key): both tools reject it; we leave it be.
    Other,
}

#[derive(Debug)]
pub(super) struct Section<'a> {
    /// The lines of the section, header first, up to the next header.
    pub lines: Range<usize>,
    pub name: SectionName<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SectionName<'a> {
    /// A profile. `prefixed` tells `[profile default]` from `[default]` in the config file.
    Profile { name: &'a [u8], prefixed: bool },
    /// `[sso-session x]`, `[services x]`, `[profile x]` in the credentials file, `[x]` in the
    /// config file, or a header the tools reject: never a profile we write.
    Other,
}

impl<'a> Document<'a> {
    pub fn parse(text: &'a [u8], kind: FileKind) -> Self {
        let mut pos = if text.starts_with(BOM) { BOM.len() } else { 0 };
        let mut lines = Vec::new();
        let mut sections: Vec<Section<'a>> = Vec::new();
        // The indentation of the section's last key line, `None` before its first.
        let mut key_indent = None;
        while pos < text.len() {
            let rest = &text[pos..];
            let (content, ending) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) if i > 0 && rest[i - 1] == b'\r' => (&rest[..i - 1], &rest[i - 1..=i]),
                Some(i) => (&rest[..i], &rest[i..=i]),
                None => (rest, &rest[rest.len()..]),
            };
            let line_kind = classify(content, &mut key_indent);
            if line_kind == LineKind::Header {
                if let Some(previous) = sections.last_mut() {
                    previous.lines.end = lines.len();
                }
                sections.push(Section {
                    lines: lines.len()..lines.len() + 1,
                    name: section_name(content, kind),
                });
            }
            lines.push(Line {
                start: pos,
                content,
                ending,
                kind: line_kind,
            });
            pos += content.len() + ending.len();
        }
        if let Some(last) = sections.last_mut() {
            last.lines.end = lines.len();
        }
        Self {
            text,
            lines,
            sections,
        }
    }

    pub fn has_bom(&self) -> bool {
        self.text.starts_with(BOM)
    }

    /// The file's own line ending, for lines we add: that of its first line, else `\n`.
    pub fn newline(&self) -> &'static [u8] {
        match self.lines.iter().find(|line| !line.ending.is_empty()) {
            Some(line) if line.ending == b"\r\n" => b"\r\n",
            _ => b"\n",
        }
    }

    /// The sections that make up `profile`, in file order. Like aws-sdk-rust, repeated
    /// sections are one profile; in the config file a `[profile default]` hides `[default]`.
    pub fn profile_sections(&self, profile: &str) -> Vec<usize> {
        let matching: Vec<(usize, bool)> = self
            .sections
            .iter()
            .enumerate()
            .filter_map(|(index, section)| match section.name {
                SectionName::Profile { name, prefixed } if name == profile.as_bytes() => {
                    Some((index, prefixed))
                }
                _ => None,
            })
            .collect();
        let any_prefixed = matching.iter().any(|&(_, prefixed)| prefixed);
        matching
            .into_iter()
            .filter(|&(_, prefixed)| prefixed || !any_prefixed)
            .map(|(index, _)| index)
            .collect()
    }

    /// The names of the profiles in the file, each once, in file order (names that are not
    /// UTF-8 are left out: Rolecall never writes such a profile).
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for section in &self.sections {
            if let SectionName::Profile { name, .. } = section.name
                && let Ok(name) = std::str::from_utf8(name)
                && !names.iter().any(|seen| seen == name)
            {
                names.push(name.to_owned());
            }
        }
        names
    }

    /// The property lines of `sections`, in file order, with their keys.
    pub fn properties<'d>(
        &'d self,
        sections: &'d [usize],
    ) -> impl Iterator<Item = (usize, &'d [u8])> + 'd {
        sections.iter().flat_map(move |&section| {
            self.sections[section]
                .lines
                .clone()
                .filter_map(move |index| match &self.lines[index].kind {
                    LineKind::Property { key, .. } => Some((index, key.as_slice())),
                    _ => None,
                })
        })
    }

    /// Each key of `profile` with the line that wins: the last one, as in aws-sdk-rust
    /// (botocore refuses repeated keys and sections outright).
    pub fn effective(&self, profile: &str) -> BTreeMap<Vec<u8>, usize> {
        let sections = self.profile_sections(profile);
        self.properties(&sections)
            .map(|(index, key)| (key.to_vec(), index))
            .collect()
    }

    /// The indented lines that continue the value of the property at `line`.
    pub fn continuation_of(&self, line: usize) -> Vec<usize> {
        let mut found = Vec::new();
        for (index, next) in self.lines.iter().enumerate().skip(line + 1) {
            match next.kind {
                LineKind::Continuation => found.push(index),
                // A line the tools reject keeps the key's indentation in force (see `classify`),
                // so the indented lines after it still continue this value.
                LineKind::Blank | LineKind::Comment | LineKind::Other => {}
                _ => break,
            }
        }
        found
    }

    /// The value of the property at `line` (empty for other lines): the first line's value,
    /// then each continuation line, trimmed, after a line break, as the SDK joins them.
    pub fn value(&self, line: usize) -> Vec<u8> {
        let Some(current) = self.lines.get(line) else {
            return Vec::new();
        };
        let LineKind::Property { value, .. } = &current.kind else {
            return Vec::new();
        };
        let mut joined = current.content[value.clone()].to_vec();
        for index in self.continuation_of(line) {
            let content = self.lines[index].content;
            joined.push(b'\n');
            joined.extend_from_slice(trim(&content[..comment_start(content)]));
        }
        joined
    }
}

/// Classifies a line. An indented line continues the value above only when it is indented
/// deeper than that key's line (configparser's rule; the SDK's is "any indent after a key",
/// which is the same for keys at the start of the line). Otherwise it is read as configparser
/// reads it, a key or a header: the SDK rejects such a file, and botocore would refuse one in
/// which we added the same key again.
fn classify(line: &[u8], key_indent: &mut Option<usize>) -> LineKind {
    let trimmed = trim(line);
    let indent = line.iter().take_while(|&&b| is_blank(b)).count();
    let kind = match trimmed.first() {
        None => return LineKind::Blank,
        Some(b'#' | b';') => return LineKind::Comment,
        _ if key_indent.is_some_and(|above| indent > above) => return LineKind::Continuation,
        Some(b'[') => LineKind::Header,
        _ => property(line),
    };
    *key_indent = match kind {
        LineKind::Header => None,
        LineKind::Property { .. } => Some(indent),
        _ => *key_indent,
    };
    kind
}

fn property(line: &[u8]) -> LineKind {
    let before_comment = trim_end(&line[..comment_start(line)]);
    // configparser also takes `:` as the delimiter, whichever comes first; the SDK only `=`.
    // They agree on every line the SDK accepts unless a key itself holds a `:`.
    let Some(delimiter) = before_comment.iter().position(|&b| b == b'=' || b == b':') else {
        return LineKind::Other;
    };
    let key = trim(&before_comment[..delimiter]);
    if key.is_empty() {
        return LineKind::Other;
    }
    let mut value_start = delimiter + 1;
    while value_start < before_comment.len() && is_blank(before_comment[value_start]) {
        value_start += 1;
    }
    LineKind::Property {
        key: key.to_ascii_lowercase(),
        delimiter,
        value: value_start..before_comment.len(),
    }
}

/// Where an inline comment starts: the SDK takes `#` or `;` after a blank as one (botocore
/// does not, and reads it as part of the value). The line's length if there is none.
pub(super) fn comment_start(line: &[u8]) -> usize {
    (1..line.len())
        .find(|&i| matches!(line[i], b'#' | b';') && line[i - 1].is_ascii_whitespace())
        .unwrap_or(line.len())
}

fn section_name(line: &[u8], kind: FileKind) -> SectionName<'_> {
    // The SDK drops a comment after a header even without a blank before it: `[dev]# x`.
    let end = line
        .iter()
        .position(|&b| b == b'#' || b == b';')
        .unwrap_or(line.len());
    let Some(inner) = trim(&line[..end])
        .strip_prefix(b"[")
        .and_then(|rest| rest.strip_suffix(b"]"))
    else {
        return SectionName::Other;
    };
    let inner = trim(inner);
    // `[profile   dev]` and `[profile\tdev]` are `dev`; `[profiledev]` is not prefixed.
    let (name, prefixed) = match inner.strip_prefix(b"profile") {
        Some(rest) if rest.first().is_some_and(|&b| is_blank(b)) => (rest.trim_ascii(), true),
        _ => (inner, false),
    };
    match (kind, prefixed) {
        (FileKind::Config, true) | (FileKind::Credentials, false) => {
            SectionName::Profile { name, prefixed }
        }
        (FileKind::Config, false) if name == b"default" => SectionName::Profile { name, prefixed },
        _ => SectionName::Other,
    }
}

/// The SDK's idea of whitespace in these files: spaces and tabs.
pub(super) fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

pub(super) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    trim_end(&bytes[start..])
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(0, |last| last + 1);
    &bytes[..end]
}
