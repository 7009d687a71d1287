//! The AWS file editor on any file: after Rolecall writes (or removes) its keys of some
//! profiles, every line it does not own is still there byte for byte and in order, the keys it
//! wrote read back as the AWS SDK reads them, and writing the same again changes nothing.
//!
//! The first byte picks the edit (bit 0: the config file, else the credentials file; bit 1:
//! remove rather than write; bit 2: the principal ARN is known; bit 3: an output too; bits
//! 4-7: which of four fixed profiles), the first byte after it picks the values; the rest is
//! the file. The first section name in the file is always written as well.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use rolecall_core::aws_files::fuzzing::{self, Change, Kind, Line};
use rolecall_core::aws_files::{
    ACCESS_KEY_ID, EXPIRATION, LEGACY_SESSION_TOKEN, OUTPUT, PRINCIPAL_ARN, REGION,
    SECRET_ACCESS_KEY, SESSION_TOKEN,
};

const CREDENTIAL_KEYS: [&str; 6] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    LEGACY_SESSION_TOKEN,
    EXPIRATION,
    PRINCIPAL_ARN,
];
const CONFIG_KEYS: [&str; 2] = [REGION, OUTPUT];
const PROFILES: [&str; 4] = ["default", "dev", "prod", "a.b"];

fuzz_target!(|data: &[u8]| {
    let [flags, tag, text @ ..] = data else {
        return;
    };
    let kind = if flags & 1 == 1 {
        Kind::Config
    } else {
        Kind::Credentials
    };
    let mut names: Vec<String> = PROFILES
        .iter()
        .enumerate()
        .filter(|&(index, _)| flags >> (4 + index) & 1 == 1)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    if let Some(name) = first_section_name(text)
        && !names.contains(&name)
    {
        names.push(name);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    if flags & 2 == 2 && kind == Kind::Credentials {
        check_remove(text, &names);
        return;
    }
    let values = Values::new(*tag);
    let plan: Vec<(&str, Vec<(&str, Change<'_>)>)> = names
        .iter()
        .map(|name| {
            let changes = match kind {
                Kind::Credentials => vec![
                    (ACCESS_KEY_ID, Change::Set(&values.key_id)),
                    (SECRET_ACCESS_KEY, Change::Set(&values.secret)),
                    (SESSION_TOKEN, Change::Set(&values.token)),
                    (LEGACY_SESSION_TOKEN, Change::Update(&values.token)),
                    (EXPIRATION, Change::Set("2026-11-05T10:30:00Z")),
                    (
                        PRINCIPAL_ARN,
                        if flags & 4 == 4 {
                            Change::Set(&values.principal)
                        } else {
                            Change::Remove
                        },
                    ),
                ],
                Kind::Config if flags & 8 == 8 => vec![
                    (REGION, Change::Set(&values.region)),
                    (OUTPUT, Change::Set("json")),
                ],
                Kind::Config => vec![(REGION, Change::Set(&values.region))],
            };
            (*name, changes)
        })
        .collect();
    check_set(text, kind, &plan);
});

/// Values as STS and the settings give them: no blanks, no comment sign first.
struct Values {
    key_id: String,
    secret: String,
    token: String,
    principal: String,
    region: String,
}

impl Values {
    fn new(tag: u8) -> Self {
        Self {
            key_id: format!("ASIA{tag:016}"),
            secret: format!("secret/{tag}+x="),
            token: format!("IQo{tag}//token=="),
            principal: format!("arn:aws:sts::123456789012:assumed-role/R{tag}/alice"),
            region: format!("eu-west-{}", tag % 4),
        }
    }
}

/// The name in the first `[...]` line, when it is one Rolecall could write.
fn first_section_name(text: &[u8]) -> Option<String> {
    let line = text
        .split(|&b| b == b'\n')
        .map(|line| line.trim_ascii())
        .find(|line| line.starts_with(b"["))?;
    let inner = line
        .strip_prefix(b"[")?
        .split(|&b| b == b']')
        .next()?
        .trim_ascii();
    let name = inner
        .strip_prefix(b"profile ")
        .unwrap_or(inner)
        .trim_ascii();
    let name = std::str::from_utf8(name).ok()?;
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c));
    valid.then(|| name.to_owned())
}

fn managed(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Credentials => &CREDENTIAL_KEYS,
        Kind::Config => &CONFIG_KEYS,
    }
}

fn show(text: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(text))
}

fn check_set(old: &[u8], kind: Kind, plan: &[(&str, Vec<(&str, Change<'_>)>)]) {
    let new = fuzzing::set_profiles(old, kind, plan);
    let names: Vec<&str> = plan.iter().map(|(name, _)| *name).collect();
    let keys = managed(kind);
    assert_eq!(
        fuzzing::has_bom(old),
        fuzzing::has_bom(&new),
        "the BOM is kept, never added"
    );

    // Every line the edit does not own is kept, byte for byte and in order; after them come at
    // most one blank line and the header of each appended profile, and the old last line may
    // gain a line ending.
    let old_lines = fuzzing::lines(old, kind);
    let new_lines = fuzzing::lines(&new, kind);
    let old_owned = fuzzing::owned_lines(old, kind, &names, keys);
    let mut new_skipped = fuzzing::owned_lines(&new, kind, &names, keys);
    let mut appended = 0;
    for name in &names {
        let before = fuzzing::profile_headers(old, kind, name).len();
        for header in fuzzing::profile_headers(&new, kind, name)
            .into_iter()
            .skip(before)
        {
            new_skipped.insert(header);
            appended += 1;
        }
    }
    let kept_old = kept(&old_lines, &old_owned);
    let kept_new = kept(&new_lines, &new_skipped);
    assert!(
        kept_new.len() >= kept_old.len(),
        "lines were lost\nold: {}\nnew: {}",
        show(old),
        show(&new)
    );
    for (index, (was, now)) in kept_old.iter().zip(&kept_new).enumerate() {
        assert_eq!(
            was.content,
            now.content,
            "unmanaged line {index} changed\nold: {}\nnew: {}",
            show(old),
            show(&new)
        );
        let last = index + 1 == kept_old.len();
        assert!(
            was.ending == now.ending || (last && was.ending.is_empty()),
            "the ending of unmanaged line {index} changed\nold: {}\nnew: {}",
            show(old),
            show(&new)
        );
    }
    let extra = &kept_new[kept_old.len()..];
    assert!(
        extra.len() <= appended && extra.iter().all(|line| line.blank),
        "lines were added besides our keys\nold: {}\nnew: {}",
        show(old),
        show(&new)
    );

    // The same, without the editor's own reading of the file: a line that names none of the
    // managed keys and is not indented under one is never touched.
    let plain = |line: &Line<'_>| {
        let lower = line.content.to_ascii_lowercase();
        let indented = matches!(line.content.first(), Some(b' ' | b'\t'));
        let names_a_key = keys.iter().any(|key| {
            lower
                .windows(key.len())
                .any(|window| window == key.as_bytes())
        });
        !names_a_key && (!indented || is_blank(line.content) || starts_comment(line.content))
    };
    let mut later = new_lines.iter();
    for (index, line) in old_lines.iter().enumerate().filter(|(_, line)| plain(line)) {
        let last = index + 1 == old_lines.len();
        assert!(
            later.any(|now| now.content == line.content
                && (now.ending == line.ending || (last && line.ending.is_empty()))),
            "line {index} ({}) is gone\nold: {}\nnew: {}",
            show(line.content),
            show(old),
            show(&new)
        );
    }

    // What was written reads back.
    for (name, changes) in plan {
        let before = fuzzing::effective(old, kind, name);
        let after = fuzzing::effective(&new, kind, name);
        for (key, change) in changes {
            let expected = match change {
                Change::Set(value) => Some(value.as_bytes()),
                Change::Update(value) => before
                    .contains_key(key.as_bytes())
                    .then_some(value.as_bytes()),
                Change::Remove => None,
            };
            assert_eq!(
                after.get(key.as_bytes()).map(Vec::as_slice),
                expected,
                "{name}.{key} does not read back\nold: {}\nnew: {}",
                show(old),
                show(&new)
            );
        }
    }

    assert_eq!(
        fuzzing::set_profiles(&new, kind, plan),
        new,
        "a second identical write changed the file\nold: {}",
        show(old)
    );
}

/// Removing Rolecall's keys takes out only those lines (with their continuations), and the
/// headers and blank lines of the sections that are left empty.
fn check_remove(old: &[u8], names: &[&str]) {
    let kind = Kind::Credentials;
    let new = fuzzing::remove_profiles(old, names, &CREDENTIAL_KEYS);
    let old_lines = fuzzing::lines(old, kind);
    let new_lines = fuzzing::lines(&new, kind);
    assert!(
        fuzzing::owned_lines(&new, kind, names, &CREDENTIAL_KEYS).is_empty(),
        "a key was left\nold: {}\nnew: {}",
        show(old),
        show(&new)
    );
    for name in names {
        let after = fuzzing::effective(&new, kind, name);
        for key in CREDENTIAL_KEYS {
            assert!(
                !after.contains_key(key.as_bytes()),
                "{name}.{key} still reads"
            );
        }
    }
    // Nothing is added or changed: the new lines are some of the old ones, in order.
    let mut rest = old_lines.iter();
    for (index, line) in new_lines.iter().enumerate() {
        assert!(
            rest.any(|was| was.content == line.content && was.ending == line.ending),
            "new line {index} ({}) was not in the file\nold: {}\nnew: {}",
            show(line.content),
            show(old),
            show(&new)
        );
    }
    // And only our keys, empty headers and blank lines are gone.
    let owned = fuzzing::owned_lines(old, kind, names, &CREDENTIAL_KEYS);
    let solid = |lines: &[Line<'_>], skip: &BTreeSet<usize>| -> Vec<(Vec<u8>, Vec<u8>)> {
        lines
            .iter()
            .enumerate()
            .filter(|(index, line)| !skip.contains(index) && !line.header && !line.blank)
            .map(|(_, line)| (line.content.to_vec(), line.ending.to_vec()))
            .collect()
    };
    assert_eq!(
        solid(&old_lines, &owned),
        solid(&new_lines, &BTreeSet::new()),
        "a line that is not ours was removed\nold: {}\nnew: {}",
        show(old),
        show(&new)
    );
}

fn kept<'l, 'a>(lines: &'l [Line<'a>], skip: &BTreeSet<usize>) -> Vec<&'l Line<'a>> {
    lines
        .iter()
        .enumerate()
        .filter(|(index, _)| !skip.contains(index))
        .map(|(_, line)| line)
        .collect()
}

/// Spaces and tabs are the only blanks in these files (as for the AWS SDK).
fn is_blank(content: &[u8]) -> bool {
    content.iter().all(|&b| b == b' ' || b == b'\t')
}

fn starts_comment(content: &[u8]) -> bool {
    let start = content.iter().position(|&b| b != b' ' && b != b'\t');
    matches!(start.map(|at| content[at]), Some(b'#' | b';'))
}
