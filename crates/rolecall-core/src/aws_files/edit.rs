//! Pure edits of one file's text: set or remove some keys of one profile, touching only those
//! keys' lines. Every other byte is copied from the input as it was.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use super::lines::{Document, FileKind, LineKind, comment_start, is_blank};

/// What to do with one key of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want<'v> {
    Set(&'v str),
    /// Set where the key already is, never add it.
    Update(&'v str),
    Remove,
}

/// One replacement of a byte range of the original text.
#[derive(Debug)]
struct Change {
    range: Range<usize>,
    text: Vec<u8>,
}

/// The keys to change in one profile.
pub(super) type ProfileWants<'v> = (&'v str, Vec<(&'v str, Want<'v>)>);

/// Applies each profile's wants, all against one reading of the file (a write of every role
/// of a sign-in touches hundreds of profiles). A key that is set replaces the value of its last
/// occurrence (the one aws-sdk-rust uses) in place, keeping that line's layout and any inline
/// comment; a missing key goes after the last key of the profile's last section; a missing
/// profile is appended as a new section. A removed key loses every occurrence, so that no older
/// copy comes back into force. When a profile is listed twice, its later wants win.
pub(super) fn set_profiles(text: &[u8], kind: FileKind, profiles: &[ProfileWants<'_>]) -> Vec<u8> {
    let doc = Document::parse(text, kind);
    let file_spaced = separator_style(&doc, 0..doc.lines.len(), true);
    let mut changes = Vec::new();
    let mut appends = Vec::new();
    for (profile, wants) in merge(profiles) {
        let sections = doc.profile_sections(profile);
        let mut deleted = BTreeSet::new();
        let mut missing = Vec::new();
        for (key, want) in wants {
            let lines: Vec<usize> = doc
                .properties(&sections)
                .filter(|&(_, found)| found == key.as_bytes())
                .map(|(index, _)| index)
                .collect();
            match (want, lines.last()) {
                (Want::Set(value) | Want::Update(value), Some(&line)) => {
                    replace_value(&doc, line, value, &mut changes, &mut deleted);
                }
                (Want::Set(value), None) => missing.push((key, value)),
                (Want::Update(_), None) => {}
                (Want::Remove, _) => {
                    for line in lines {
                        deleted.insert(line);
                        deleted.extend(doc.continuation_of(line));
                    }
                }
            }
        }
        for &line in &deleted {
            let line = &doc.lines[line];
            changes.push(Change {
                range: line.start..line.end(),
                text: Vec::new(),
            });
        }
        match (sections.last(), missing.is_empty()) {
            (_, true) => {}
            (Some(&section), false) => {
                changes.push(insert_keys(&doc, section, &missing, &deleted, file_spaced));
            }
            (None, false) => appends.push((profile, missing)),
        }
    }
    let edited = splice(text, changes);
    if appends.is_empty() {
        return edited;
    }
    append_sections(edited, kind, &appends, doc.newline(), file_spaced)
}

/// One entry per profile, in order of first mention; a key's later want replaces its earlier.
fn merge<'v>(profiles: &[ProfileWants<'v>]) -> Vec<ProfileWants<'v>> {
    let mut merged: Vec<ProfileWants<'v>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (profile, wants) in profiles {
        let at = *index.entry(profile).or_insert_with(|| {
            merged.push((profile, Vec::new()));
            merged.len() - 1
        });
        let keys = &mut merged[at].1;
        for &(key, want) in wants {
            match keys.iter_mut().find(|(known, _)| *known == key) {
                Some(slot) => slot.1 = want,
                None => keys.push((key, want)),
            }
        }
    }
    merged
}

/// Removes these profiles' sections that hold nothing but blank lines (after
/// [`set_profiles`] took our keys out), with the blank line that separated them, so that
/// writing a new profile and removing it gives back the file as it was.
pub(super) fn remove_empty_sections(text: &[u8], kind: FileKind, profiles: &[&str]) -> Vec<u8> {
    let doc = Document::parse(text, kind);
    let mut changes = Vec::new();
    let mut seen = BTreeSet::new();
    for section in profiles
        .iter()
        .flat_map(|profile| doc.profile_sections(profile))
    {
        if !seen.insert(section) {
            continue;
        }
        let lines = doc.sections[section].lines.clone();
        let body = lines.start + 1..lines.end;
        if !body
            .clone()
            .all(|index| doc.lines[index].kind == LineKind::Blank)
        {
            continue;
        }
        // An indented line right after the section would read as a continuation of the key
        // before it once the header is gone: the empty section stays, and so does its meaning.
        if doc
            .lines
            .get(lines.end)
            .is_some_and(|next| matches!(next.content.first(), Some(b' ' | b'\t')))
        {
            continue;
        }
        let mut first = lines.start;
        let separator = lines.start.checked_sub(1);
        if body.is_empty()
            && let Some(before) = separator
            && doc.lines[before].kind == LineKind::Blank
        {
            first = before;
        }
        changes.push(Change {
            range: doc.lines[first].start..doc.lines[lines.end - 1].end(),
            text: Vec::new(),
        });
    }
    splice(text, changes)
}

fn replace_value(
    doc: &Document<'_>,
    index: usize,
    value: &str,
    changes: &mut Vec<Change>,
    deleted: &mut BTreeSet<usize>,
) {
    let line = &doc.lines[index];
    let LineKind::Property {
        delimiter,
        value: range,
        ..
    } = &line.kind
    else {
        return;
    };
    // Indented lines under a key we own are part of its value (both tools join them).
    let continuation = doc.continuation_of(index);
    if &line.content[range.clone()] == value.as_bytes() && continuation.is_empty() {
        return;
    }
    let mut text = Vec::new();
    // `key =` becomes `key = value`, not `key =value`.
    if range.is_empty() && range.start == delimiter + 1 && spaced(line.content, *delimiter) {
        text.push(b' ');
    }
    text.extend_from_slice(value.as_bytes());
    // A value read up to an inline comment (its sign after a `\r` or form feed, which belong to
    // the value) would run into it: a blank keeps the comment a comment.
    if range.end < line.content.len() && range.end == comment_start(line.content) {
        text.push(b' ');
    }
    changes.push(Change {
        range: line.start + range.start..line.start + range.end,
        text,
    });
    deleted.extend(continuation);
}

/// New keys go after the section's last line that is neither blank nor a comment, so that
/// comments and blank lines closing the section stay where they were.
fn insert_keys(
    doc: &Document<'_>,
    section: usize,
    keys: &[(&str, &str)],
    deleted: &BTreeSet<usize>,
    file_spaced: bool,
) -> Change {
    let lines = doc.sections[section].lines.clone();
    let anchor = lines
        .rev()
        .find(|&index| {
            !deleted.contains(&index)
                && !matches!(doc.lines[index].kind, LineKind::Blank | LineKind::Comment)
        })
        .unwrap_or(doc.sections[section].lines.start);
    let line = &doc.lines[anchor];
    let newline = doc.newline();
    let mut text = Vec::new();
    if line.ending.is_empty() {
        text.extend_from_slice(terminator(line.content, newline));
    }
    let spaced = separator_style(doc, doc.sections[section].lines.clone(), file_spaced);
    // The next header would read as the new keys' continuation if indented deeper than them.
    let indent = doc
        .lines
        .get(doc.sections[section].lines.end)
        .map_or(&[][..], |next| {
            let blanks = next.content.iter().take_while(|&&b| is_blank(b)).count();
            &next.content[..blanks]
        });
    for (key, value) in keys {
        text.extend_from_slice(indent);
        key_line(&mut text, key, value, spaced, newline);
    }
    Change {
        range: line.end()..line.end(),
        text,
    }
}

/// New sections at the end of the file (already edited in place), one blank line after what
/// was there and after each other.
fn append_sections(
    mut text: Vec<u8>,
    kind: FileKind,
    profiles: &[(&str, Vec<(&str, &str)>)],
    newline: &[u8],
    spaced: bool,
) -> Vec<u8> {
    let doc = Document::parse(&text, kind);
    let mut added = Vec::new();
    if let Some(last) = doc.lines.last() {
        if last.ending.is_empty() {
            added.extend_from_slice(terminator(last.content, newline));
        }
        if last.kind != LineKind::Blank {
            added.extend_from_slice(newline);
        }
    }
    for (index, (profile, keys)) in profiles.iter().enumerate() {
        if index > 0 {
            added.extend_from_slice(newline);
        }
        let header = match kind {
            FileKind::Config if *profile != "default" => format!("[profile {profile}]"),
            _ => format!("[{profile}]"),
        };
        added.extend_from_slice(header.as_bytes());
        added.extend_from_slice(newline);
        for (key, value) in keys {
            key_line(&mut added, key, value, spaced, newline);
        }
    }
    text.extend_from_slice(&added);
    text
}

/// The ending for a last line that had none: one that keeps its content as it was (a line
/// ending in a lone `\r` would otherwise lose it to a `\r\n`).
fn terminator<'n>(content: &[u8], newline: &'n [u8]) -> &'n [u8] {
    if content.ends_with(b"\r") {
        b"\r\n"
    } else {
        newline
    }
}

fn key_line(text: &mut Vec<u8>, key: &str, value: &str, spaced: bool, newline: &[u8]) {
    text.extend_from_slice(key.as_bytes());
    text.extend_from_slice(if spaced { b" = " } else { b"=" });
    text.extend_from_slice(value.as_bytes());
    text.extend_from_slice(newline);
}

/// Whether new key lines get blanks around `=`: as the last key line among `lines` does,
/// else `fallback`.
fn separator_style(doc: &Document<'_>, lines: Range<usize>, fallback: bool) -> bool {
    lines
        .rev()
        .find_map(|index| match doc.lines[index].kind {
            LineKind::Property { delimiter, .. } => {
                Some(spaced(doc.lines[index].content, delimiter))
            }
            _ => None,
        })
        .unwrap_or(fallback)
}

fn spaced(content: &[u8], delimiter: usize) -> bool {
    let before = delimiter.checked_sub(1).map(|i| content[i]);
    let after = content.get(delimiter + 1).copied();
    before.is_some_and(is_blank) || after.is_some_and(is_blank)
}

fn splice(text: &[u8], mut changes: Vec<Change>) -> Vec<u8> {
    // Stable: a value replaced at the end of a line stays before keys inserted after it.
    changes.sort_by_key(|change| change.range.start);
    let mut out = Vec::with_capacity(text.len() + 256);
    let mut pos = 0;
    for change in changes {
        let start = change.range.start.max(pos);
        out.extend_from_slice(&text[pos..start]);
        out.extend_from_slice(&change.text);
        pos = change.range.end.max(start);
    }
    out.extend_from_slice(&text[pos..]);
    out
}
