use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use time::macros::datetime;

use super::disk::{self, Patience};
use super::edit::{Want, remove_empty_sections, set_profiles};
use super::lines::{BOM, Document, FileKind, LineKind};
use super::*;

const CREDENTIAL_KEYS: [&str; 6] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    LEGACY_SESSION_TOKEN,
    EXPIRATION,
    PRINCIPAL_ARN,
];
const CONFIG_KEYS: [&str; 2] = [REGION, OUTPUT];

fn credentials(tag: &str) -> Credentials {
    Credentials {
        access_key_id: format!("ASIA{tag}"),
        secret_access_key: Sensitive::new(format!("secret/{tag}+key==")),
        session_token: Sensitive::new(format!("token//{tag}==")),
        expiration: datetime!(2026-11-05 11:30:00.250 +01:00),
        principal_arn: Some(format!("arn:aws:sts::123456789012:assumed-role/Dev/{tag}")),
    }
}

fn profile(name: &str, tag: &str) -> ProfileWrite {
    ProfileWrite {
        name: name.to_owned(),
        credentials: credentials(tag),
        region: None,
        output: None,
        registered: true,
    }
}

fn with_region(mut write: ProfileWrite, region: &str, output: &str) -> ProfileWrite {
    write.region = Some(region.to_owned());
    write.output = Some(output.to_owned());
    write
}

/// What Rolecall writes for `tag`'s credentials, as key → value.
fn credential_values(tag: &str) -> Vec<(&'static str, String)> {
    let c = credentials(tag);
    vec![
        (ACCESS_KEY_ID, c.access_key_id),
        (SECRET_ACCESS_KEY, c.secret_access_key.into_inner()),
        (SESSION_TOKEN, c.session_token.into_inner()),
        (EXPIRATION, "2026-11-05T10:30:00Z".to_owned()),
        (PRINCIPAL_ARN, c.principal_arn.unwrap_or_default()),
    ]
}

fn set_all<'v>(values: &'v [(&'static str, String)]) -> Vec<(&'static str, Want<'v>)> {
    values
        .iter()
        .map(|(key, value)| (*key, Want::Set(value.as_str())))
        .collect()
}

fn set_keys(text: &[u8], kind: FileKind, name: &str, wants: &[(&str, Want<'_>)]) -> Vec<u8> {
    set_profiles(text, kind, &[(name, wants.to_vec())])
}

fn edit_str(text: &str, kind: FileKind, name: &str, wants: &[(&str, Want<'_>)]) -> String {
    String::from_utf8(set_keys(text.as_bytes(), kind, name, wants)).unwrap()
}

fn quick<'h>(hook: &'h dyn Fn(&Path)) -> Patience<'h> {
    Patience {
        lock_timeout: Duration::from_millis(300),
        attempts: 3,
        before_replace: hook,
        after_check: &|_| {},
        late_write_wait: Duration::from_millis(200),
    }
}

/// Mode 0600, as Rolecall leaves a credentials file (so no warning says it made it so).
fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn files_in(dir: &Path) -> AwsFiles {
    AwsFiles::new(dir.join(".aws/credentials"), dir.join(".aws/config"))
}

// ---- The preservation property ----------------------------------------------------------------

/// Lines that belong to us in `doc`: managed keys of the written profiles, with the indented
/// lines that continue their values.
fn owned_lines(doc: &Document<'_>, profiles: &[&str], managed: &[&str]) -> BTreeSet<usize> {
    let mut owned = BTreeSet::new();
    for name in profiles {
        let sections = doc.profile_sections(name);
        for (line, key) in doc.properties(&sections) {
            if managed.iter().any(|m| m.as_bytes() == key) {
                owned.insert(line);
                owned.extend(doc.continuation_of(line));
            }
        }
    }
    owned
}

/// (a): apart from managed key lines, `new` is `old` line for line (contents and endings, in
/// order), plus at most one blank separator and a header per appended profile at the end; the
/// old last line may have gained a line ending. The BOM is kept, never added.
fn assert_preserved(old: &[u8], new: &[u8], kind: FileKind, profiles: &[&str], why: &str) {
    let managed: &[&str] = match kind {
        FileKind::Credentials => &CREDENTIAL_KEYS,
        FileKind::Config => &CONFIG_KEYS,
    };
    let old_doc = Document::parse(old, kind);
    let new_doc = Document::parse(new, kind);
    assert_eq!(
        old.starts_with(BOM),
        new.starts_with(BOM),
        "{why}: the BOM must be kept, never added"
    );
    let old_owned = owned_lines(&old_doc, profiles, managed);
    let mut new_skipped = owned_lines(&new_doc, profiles, managed);
    let mut appended = 0;
    for name in profiles {
        let before = old_doc.profile_sections(name).len();
        for &section in new_doc.profile_sections(name).iter().skip(before) {
            new_skipped.insert(new_doc.sections[section].lines.start);
            appended += 1;
        }
    }
    let kept = |doc: &Document<'_>, skip: &BTreeSet<usize>| -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..doc.lines.len())
            .filter(|index| !skip.contains(index))
            .map(|index| {
                (
                    doc.lines[index].content.to_vec(),
                    doc.lines[index].ending.to_vec(),
                )
            })
            .collect()
    };
    let old_kept = kept(&old_doc, &old_owned);
    let new_kept = kept(&new_doc, &new_skipped);
    assert!(
        new_kept.len() >= old_kept.len(),
        "{why}: lines were lost\nold: {:?}\nnew: {:?}",
        String::from_utf8_lossy(old),
        String::from_utf8_lossy(new)
    );
    for (index, (was, now)) in old_kept.iter().zip(&new_kept).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(&was.0),
            String::from_utf8_lossy(&now.0),
            "{why}: line {index} of the unmanaged lines changed\nold: {:?}\nnew: {:?}",
            String::from_utf8_lossy(old),
            String::from_utf8_lossy(new)
        );
        let last = index + 1 == old_kept.len();
        assert!(
            was.1 == now.1 || (last && was.1.is_empty()),
            "{why}: the line ending of unmanaged line {index} changed\nold: {:?}\nnew: {:?}",
            String::from_utf8_lossy(old),
            String::from_utf8_lossy(new)
        );
    }
    let extra = &new_kept[old_kept.len()..];
    assert!(
        extra.len() <= appended
            && extra
                .iter()
                .all(|(content, _)| lines::trim(content).is_empty()),
        "{why}: only one blank line per appended profile may be added, got {extra:?}\nnew: {:?}",
        String::from_utf8_lossy(new)
    );
}

/// (b): what the SDK would read for `name` in `text`.
fn effective_values(text: &[u8], kind: FileKind, name: &str) -> BTreeMap<String, String> {
    let doc = Document::parse(text, kind);
    doc.effective(name)
        .into_iter()
        .map(|(key, line)| {
            (
                String::from_utf8_lossy(&key).into_owned(),
                String::from_utf8_lossy(&doc.value(line)).into_owned(),
            )
        })
        .collect()
}

// ---- The corpus -------------------------------------------------------------------------------

fn fixtures() -> Vec<(PathBuf, FileKind)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws_files");
    let mut found = Vec::new();
    for (folder, kind) in [
        ("credentials", FileKind::Credentials),
        ("config", FileKind::Config),
    ] {
        let mut paths: Vec<PathBuf> = fs::read_dir(root.join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        found.extend(paths.into_iter().map(|path| (path, kind)));
    }
    found
}

/// Every fixture, written through the public API: only managed lines change, the new values
/// read back, and a second identical write changes nothing.
#[test]
fn corpus_writes_touch_only_managed_lines_read_back_and_are_idempotent() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 30,
        "the corpus should hold at least 30 files"
    );
    for (fixture, kind) in fixtures {
        let why = fixture.display().to_string();
        let original = fs::read(&fixture).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = files_in(dir.path());
        let target = match kind {
            FileKind::Credentials => files.credentials_file().to_owned(),
            FileKind::Config => files.config_file().to_owned(),
        };
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, &original).unwrap();

        let doc = Document::parse(&original, kind);
        let (names, refused): (Vec<&str>, Vec<&str>) = ["default", "dev", "rolecall-new"]
            .into_iter()
            .filter(|name| refuse_competing(&doc, name, &target).is_ok())
            .partition(|name| refuse_profile(&doc, kind, name, true, &target).is_ok());
        assert!(!names.is_empty(), "{why}: nothing to write");
        if fixture.ends_with("aws-configure-default") {
            assert_eq!(
                refused,
                ["default"],
                "{why}: IAM user keys are not Rolecall's"
            );
        }
        // Keys Rolecall did not write (long-term ones) are never replaced: not a byte changes,
        // alone or beside writable profiles.
        for name in &refused {
            let all: Vec<ProfileWrite> = ["rolecall-new", name]
                .iter()
                .map(|name| with_region(profile(name, "NEW"), "eu-west-1", "json"))
                .collect();
            let err = files.write_profiles(&all).unwrap_err();
            assert!(
                matches!(&err, AwsFilesError::ForeignKeys { profile, .. } if profile == name),
                "{why}: {err}"
            );
            assert_eq!(fs::read(&target).unwrap(), original, "{why}: {name}");
            let other = match kind {
                FileKind::Credentials => files.config_file(),
                FileKind::Config => files.credentials_file(),
            };
            assert!(!other.exists(), "{why}: {name}: the other file was created");
        }
        let writes: Vec<ProfileWrite> = names
            .iter()
            .map(|name| with_region(profile(name, &format!("NEW{name}")), "eu-west-1", "json"))
            .map(|write| match kind {
                FileKind::Credentials => ProfileWrite {
                    region: None,
                    output: None,
                    ..write
                },
                FileKind::Config => write,
            })
            .collect();

        let report = files.write_profiles(&writes).unwrap();
        let written = fs::read(&target).unwrap();
        assert_preserved(&original, &written, kind, &names, &why);
        for name in &names {
            match kind {
                FileKind::Credentials => {
                    let stored = files.read_credentials(name).unwrap().unwrap();
                    let expected = credentials(&format!("NEW{name}"));
                    assert_eq!(
                        stored.access_key_id, expected.access_key_id,
                        "{why}: {name}"
                    );
                    assert_eq!(
                        stored.secret_access_key, expected.secret_access_key,
                        "{why}"
                    );
                    assert_eq!(stored.session_token, Some(expected.session_token), "{why}");
                    assert_eq!(
                        stored.expiration,
                        Some(datetime!(2026-11-05 10:30:00 UTC)),
                        "{why}: {name}"
                    );
                    assert_eq!(stored.principal_arn, expected.principal_arn, "{why}");
                }
                FileKind::Config => {
                    let values = effective_values(&written, kind, name);
                    assert_eq!(
                        values.get(REGION).map(String::as_str),
                        Some("eu-west-1"),
                        "{why}: {name}"
                    );
                    assert_eq!(
                        values.get(OUTPUT).map(String::as_str),
                        Some("json"),
                        "{why}: {name}"
                    );
                }
            }
        }
        if original.starts_with(BOM) {
            assert!(
                report.warnings.contains(&Warning::ByteOrderMark {
                    path: target.clone()
                }),
                "{why}: a BOM should be reported"
            );
        }

        let again = files.write_profiles(&writes).unwrap();
        assert_eq!(
            (again.credentials, again.config),
            (FileChange::Unchanged, FileChange::Unchanged),
            "{why}: the same write twice must not write again"
        );
        assert_eq!(fs::read(&target).unwrap(), written, "{why}: not idempotent");
    }
}

// ---- Edits, one rule at a time ----------------------------------------------------------------

#[test]
fn replacing_a_value_keeps_the_line_layout() {
    let text = "[dev]\naws_access_key_id   =   OLD  \nregion=eu\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(edited, "[dev]\naws_access_key_id   =   NEW  \nregion=eu\n");
}

#[test]
fn values_continued_on_indented_lines_are_replaced_whole() {
    let text = "[dev]\naws_session_token = PART1\n  PART2\n# kept\n\tPART3\nregion = eu\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(SESSION_TOKEN, Want::Set("NEW"))],
    );
    assert_eq!(
        edited,
        "[dev]\naws_session_token = NEW\n# kept\nregion = eu\n"
    );
}

#[test]
fn an_inline_comment_after_a_value_is_kept() {
    let text = "[dev] ; team\naws_access_key_id = OLD   # rotated monthly\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(
        edited,
        "[dev] ; team\naws_access_key_id = NEW   # rotated monthly\n"
    );
}

/// An indented line after a line the tools reject still continues the key above (as
/// `classify` reads it): removing the key removes it too, so it cannot become a key itself.
#[test]
fn removing_a_key_removes_its_continuation_after_a_rejected_line() {
    let text = "[default]\naws_access_key_id = OLD\nnot a key\n\taws_access_key_id = X\n";
    let removes = [(ACCESS_KEY_ID, Want::Remove)];
    let once = set_keys(text.as_bytes(), FileKind::Credentials, "default", &removes);
    assert_eq!(
        effective_values(&once, FileKind::Credentials, "default").get(ACCESS_KEY_ID),
        None,
        "{:?}",
        String::from_utf8_lossy(&once)
    );
}

/// A header indented deeper than the keys added above it would read as their continuation
/// (the way configparser reads an indented line after a key): the keys take its indentation.
#[test]
fn keys_added_before_an_indented_header_keep_it_a_header() {
    let text = "[dev]\n  [prod]\naws_access_key_id = PROD\n";
    let once = set_keys(
        text.as_bytes(),
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    let shown = String::from_utf8_lossy(&once).into_owned();
    for (profile, value) in [("dev", "NEW"), ("prod", "PROD")] {
        assert_eq!(
            effective_values(&once, FileKind::Credentials, profile)
                .get(ACCESS_KEY_ID)
                .map(String::as_str),
            Some(value),
            "{profile} in {shown:?}"
        );
    }
}

/// A comment sign after a carriage return or a form feed starts a comment too, and the SDK
/// reads that character as the end of the value: the value written in its place must not run
/// into the comment.
#[test]
fn a_value_that_runs_up_to_an_inline_comment_stays_apart_from_it() {
    for (text, comment) in [
        ("[dev]\naws_access_key_id = OLD\r;note\n", ";note\n"),
        ("[dev]\naws_access_key_id =\x0c#note\n", "#note\n"),
    ] {
        let wants = [(ACCESS_KEY_ID, Want::Set("NEW"))];
        let once = set_keys(text.as_bytes(), FileKind::Credentials, "dev", &wants);
        let shown = String::from_utf8_lossy(&once).into_owned();
        assert_eq!(
            effective_values(&once, FileKind::Credentials, "dev")
                .get(ACCESS_KEY_ID)
                .map(String::as_str),
            Some("NEW"),
            "{shown:?}"
        );
        assert!(shown.ends_with(comment), "the comment is kept: {shown:?}");
        assert_eq!(
            set_keys(&once, FileKind::Credentials, "dev", &wants),
            once,
            "a second write changes nothing"
        );
    }
}

#[test]
fn an_empty_value_gets_a_blank_after_the_equals_sign_like_its_neighbours() {
    let text = "[dev]\naws_access_key_id =\naws_session_token=\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[
            (ACCESS_KEY_ID, Want::Set("A")),
            (SESSION_TOKEN, Want::Set("T")),
        ],
    );
    assert_eq!(
        edited,
        "[dev]\naws_access_key_id = A\naws_session_token=T\n"
    );
}

#[test]
fn new_keys_go_after_the_last_key_before_the_sections_closing_comments() {
    let text = "[dev]\n# about the key\naws_access_key_id = A\ns3 =\n  max_concurrent_requests = 10\n# closing comment\n\n[next]\nx = 1\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[
            (SECRET_ACCESS_KEY, Want::Set("S")),
            (SESSION_TOKEN, Want::Set("T")),
        ],
    );
    assert_eq!(
        edited,
        "[dev]\n# about the key\naws_access_key_id = A\ns3 =\n  max_concurrent_requests = 10\naws_secret_access_key = S\naws_session_token = T\n# closing comment\n\n[next]\nx = 1\n"
    );
}

#[test]
fn new_keys_follow_the_files_spacing_around_equals() {
    let text = "[dev]\naws_access_key_id=A\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(SESSION_TOKEN, Want::Set("T"))],
    );
    assert_eq!(edited, "[dev]\naws_access_key_id=A\naws_session_token=T\n");
}

#[test]
fn a_new_profile_is_appended_after_one_blank_line() {
    let cases = [
        ("", "[dev]\naws_access_key_id = A\n"),
        (
            "[a]\nx = 1\n",
            "[a]\nx = 1\n\n[dev]\naws_access_key_id = A\n",
        ),
        ("[a]\nx = 1", "[a]\nx = 1\n\n[dev]\naws_access_key_id = A\n"),
        (
            "[a]\nx = 1\n\n",
            "[a]\nx = 1\n\n[dev]\naws_access_key_id = A\n",
        ),
        (
            "# only a comment",
            "# only a comment\n\n[dev]\naws_access_key_id = A\n",
        ),
    ];
    for (text, expected) in cases {
        let edited = edit_str(
            text,
            FileKind::Credentials,
            "dev",
            &[(ACCESS_KEY_ID, Want::Set("A"))],
        );
        assert_eq!(edited, expected, "appending to {text:?}");
    }
    let config = edit_str(
        "",
        FileKind::Config,
        "dev",
        &[(REGION, Want::Set("eu-west-1"))],
    );
    assert_eq!(config, "[profile dev]\nregion = eu-west-1\n");
    let default = edit_str(
        "",
        FileKind::Config,
        "default",
        &[(REGION, Want::Set("eu-west-1"))],
    );
    assert_eq!(default, "[default]\nregion = eu-west-1\n");
}

#[test]
fn several_new_profiles_are_appended_in_order_one_blank_line_apart() {
    let edits = [
        ("dev", vec![(ACCESS_KEY_ID, Want::Set("D"))]),
        ("a", vec![(ACCESS_KEY_ID, Want::Set("A"))]),
        ("prod", vec![(ACCESS_KEY_ID, Want::Set("P"))]),
    ];
    let edited = set_profiles(b"[a]\nx = 1", FileKind::Credentials, &edits);
    assert_eq!(
        String::from_utf8(edited).unwrap(),
        "[a]\nx = 1\naws_access_key_id = A\n\n[dev]\naws_access_key_id = D\n\n[prod]\naws_access_key_id = P\n"
    );
}

#[test]
fn a_profile_listed_twice_takes_its_later_values() {
    let edits = [
        (
            "dev",
            vec![(REGION, Want::Set("first")), (OUTPUT, Want::Set("json"))],
        ),
        ("dev", vec![(REGION, Want::Set("second"))]),
    ];
    let edited = set_profiles(b"", FileKind::Config, &edits);
    assert_eq!(
        String::from_utf8(edited).unwrap(),
        "[profile dev]\nregion = second\noutput = json\n"
    );
}

#[test]
fn crlf_files_get_crlf_lines_and_keep_a_missing_final_newline_until_we_append() {
    let text = "[a]\r\nx = 1\r\n[dev]\r\naws_access_key_id = OLD";
    let replaced = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(replaced, "[a]\r\nx = 1\r\n[dev]\r\naws_access_key_id = NEW");
    let added = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(SESSION_TOKEN, Want::Set("T"))],
    );
    assert_eq!(
        added,
        "[a]\r\nx = 1\r\n[dev]\r\naws_access_key_id = OLD\r\naws_session_token = T\r\n"
    );
}

#[test]
fn a_bom_is_kept_and_never_added() {
    let with = "\u{feff}[dev]\naws_access_key_id = OLD\n";
    let edited = edit_str(
        with,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(edited, "\u{feff}[dev]\naws_access_key_id = NEW\n");
    let new = edit_str(
        "",
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert!(!new.starts_with('\u{feff}'), "a new file has no BOM");
}

/// aws-sdk-rust merges repeated sections and the last value wins, so the last copy is the one
/// to update; updating the first would leave the SDK reading the old key.
#[test]
fn repeated_sections_and_keys_update_the_last_copy() {
    let text = "[dev]\naws_access_key_id = FIRST\n[other]\n[dev]\naws_access_key_id = SECOND\naws_access_key_id = THIRD\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(
        edited,
        "[dev]\naws_access_key_id = FIRST\n[other]\n[dev]\naws_access_key_id = SECOND\naws_access_key_id = NEW\n"
    );
    // A missing key goes into the last copy too.
    let added = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(SESSION_TOKEN, Want::Set("T"))],
    );
    assert!(
        added.ends_with("aws_access_key_id = THIRD\naws_session_token = T\n"),
        "{added}"
    );
}

/// botocore reads `aws_security_token` before `aws_session_token`: a stale copy would pair the
/// new keys with an old token in the AWS CLI.
#[test]
fn a_legacy_security_token_gets_the_new_token_but_is_never_added() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    fs::write(
        files.credentials_file(),
        "[dev]\naws_session_token = OLD\naws_security_token = OLD\n",
    )
    .unwrap();
    files
        .write_profiles(&[profile("dev", "A"), profile("new", "B")])
        .unwrap();
    let text = fs::read_to_string(files.credentials_file()).unwrap();
    assert!(
        text.contains("aws_session_token = token//A==\naws_security_token = token//A==\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("aws_security_token").count(),
        1,
        "never added: {text}"
    );
    files.remove_profiles(&["dev", "new"]).unwrap();
    assert_eq!(fs::read_to_string(files.credentials_file()).unwrap(), "");
}

/// configparser reads an indented line with no key above it as a key (aws-sdk-rust rejects the
/// file); adding the same key again would make botocore refuse the whole file.
#[test]
fn an_indented_line_with_no_key_above_is_a_key_as_configparser_reads_it() {
    let text = "[dev]\n  aws_access_key_id = OLD\n  region = eu\n    nested = 1\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(
        edited,
        "[dev]\n  aws_access_key_id = NEW\n  region = eu\n    nested = 1\n"
    );
    let header = "[a]\n  [dev]\nregion = eu\n";
    let edited = edit_str(
        header,
        FileKind::Credentials,
        "dev",
        &[(REGION, Want::Set("us"))],
    );
    assert_eq!(
        edited, "[a]\n  [dev]\nregion = us\n",
        "an indented header is a header to configparser"
    );
}

#[test]
fn indented_lines_are_never_keys() {
    let text = "[dev]\ns3 =\n  aws_access_key_id = nested\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("A"))],
    );
    assert_eq!(
        edited,
        "[dev]\ns3 =\n  aws_access_key_id = nested\naws_access_key_id = A\n"
    );
}

#[test]
fn headers_match_the_way_the_sdk_normalises_them() {
    let write = [(REGION, Want::Set("r"))];
    for header in [
        "[profile dev]",
        "[profile   dev]",
        "[profile\tdev]",
        "[ profile dev ]",
        "[profile dev] # c",
        "[profile dev]#c",
    ] {
        let text = format!("{header}\nregion = old\n");
        let edited = edit_str(&text, FileKind::Config, "dev", &write);
        assert_eq!(
            edited,
            format!("{header}\nregion = r\n"),
            "{header} is profile dev"
        );
    }
    for header in [
        "[profiledev]",
        "[dev]",
        "[Profile dev]",
        "[sso-session dev]",
        "[services dev]",
        "[profile dev",
        "[profile dev] x",
    ] {
        let text = format!("{header}\nregion = old\n");
        let edited = edit_str(&text, FileKind::Config, "dev", &write);
        assert_eq!(
            edited,
            format!("{header}\nregion = old\n\n[profile dev]\nregion = r\n"),
            "{header} is not profile dev in the config file"
        );
    }
    for header in ["[ dev ]", "[dev]\t", "[dev] ; c"] {
        let text = format!("{header}\nregion = old\n");
        let edited = edit_str(&text, FileKind::Credentials, "dev", &write);
        assert_eq!(
            edited,
            format!("{header}\nregion = r\n"),
            "{header} is dev in credentials"
        );
    }
    let prefixed = edit_str(
        "[profile dev]\nregion = old\n",
        FileKind::Credentials,
        "dev",
        &write,
    );
    assert!(
        prefixed.ends_with("\n[dev]\nregion = r\n"),
        "[profile dev] is not a credentials profile"
    );
}

#[test]
fn keys_match_whatever_their_case() {
    let text = "[dev]\nAWS_ACCESS_KEY_ID = OLD\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(ACCESS_KEY_ID, Want::Set("NEW"))],
    );
    assert_eq!(edited, "[dev]\nAWS_ACCESS_KEY_ID = NEW\n");
}

/// aws-sdk-rust ignores `[default]` when `[profile default]` exists.
#[test]
fn profile_default_hides_default_in_the_config_file() {
    let text = "[default]\nregion = a\n[profile default]\noutput = text\n";
    let edited = edit_str(
        text,
        FileKind::Config,
        "default",
        &[(REGION, Want::Set("b"))],
    );
    assert_eq!(
        edited,
        "[default]\nregion = a\n[profile default]\noutput = text\nregion = b\n"
    );
}

#[test]
fn an_unknown_principal_removes_a_stale_one_everywhere() {
    let text = "[dev]\nx_principal_arn = old1\n[dev]\nx_principal_arn = old2\nfoo = bar\n";
    let edited = edit_str(
        text,
        FileKind::Credentials,
        "dev",
        &[(PRINCIPAL_ARN, Want::Remove)],
    );
    assert_eq!(edited, "[dev]\n[dev]\nfoo = bar\n");
}

#[test]
fn expiration_is_written_in_utc_with_z_and_whole_seconds() {
    assert_eq!(
        format_expiration(datetime!(2026-11-05 11:30:00.999 +01:00)).as_deref(),
        Some("2026-11-05T10:30:00Z")
    );
    assert_eq!(format_expiration(datetime!(-0001-01-01 00:00 UTC)), None);
}

#[test]
fn removing_a_profile_that_was_appended_gives_back_the_original_text() {
    let original = "# mine\n[a]\nx = 1\n";
    let values = credential_values("T");
    let written = set_keys(
        original.as_bytes(),
        FileKind::Credentials,
        "dev",
        &set_all(&values),
    );
    let removes: Vec<_> = CREDENTIAL_KEYS
        .iter()
        .map(|key| (*key, Want::Remove))
        .collect();
    let emptied = set_keys(&written, FileKind::Credentials, "dev", &removes);
    let removed = remove_empty_sections(&emptied, FileKind::Credentials, &["dev"]);
    assert_eq!(String::from_utf8(removed).unwrap(), original);

    // A section that holds anything else stays.
    let shared = "[dev]\nregion = eu\naws_access_key_id = A\n\n[b]\n";
    let emptied = set_keys(shared.as_bytes(), FileKind::Credentials, "dev", &removes);
    let kept = remove_empty_sections(&emptied, FileKind::Credentials, &["dev"]);
    assert_eq!(
        String::from_utf8(kept).unwrap(),
        "[dev]\nregion = eu\n\n[b]\n"
    );
    // An empty one in the middle goes with its own blank line.
    let middle = "[a]\n\n[dev]\naws_access_key_id = A\n\n[b]\n";
    let emptied = set_keys(middle.as_bytes(), FileKind::Credentials, "dev", &removes);
    let gone = remove_empty_sections(&emptied, FileKind::Credentials, &["dev"]);
    assert_eq!(String::from_utf8(gone).unwrap(), "[a]\n\n[b]\n");
    // One followed by an indented line stays: without its header that line would become the
    // value of the key above it.
    let indented = "[a]\nregion = eu\n\n[dev]\n [b]\nregion = us\n";
    let kept = remove_empty_sections(indented.as_bytes(), FileKind::Credentials, &["dev"]);
    assert_eq!(String::from_utf8(kept).unwrap(), indented);
}

// ---- Files on disk ----------------------------------------------------------------------------

#[test]
fn write_then_read_back_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let report = files
        .write_profiles(&[
            with_region(profile("dev", "ONE"), "eu-west-1", "json"),
            profile("prod", "TWO"),
        ])
        .unwrap();
    assert_eq!(report.credentials, FileChange::Created);
    assert_eq!(report.config, FileChange::Created);
    assert_eq!(report.warnings, []);
    let credentials_text = fs::read_to_string(files.credentials_file()).unwrap();
    assert_eq!(
        credentials_text,
        "[dev]\naws_access_key_id = ASIAONE\naws_secret_access_key = secret/ONE+key==\n\
         aws_session_token = token//ONE==\nx_security_token_expires = 2026-11-05T10:30:00Z\n\
         x_principal_arn = arn:aws:sts::123456789012:assumed-role/Dev/ONE\n\n\
         [prod]\naws_access_key_id = ASIATWO\naws_secret_access_key = secret/TWO+key==\n\
         aws_session_token = token//TWO==\nx_security_token_expires = 2026-11-05T10:30:00Z\n\
         x_principal_arn = arn:aws:sts::123456789012:assumed-role/Dev/TWO\n"
    );
    assert_eq!(
        fs::read_to_string(files.config_file()).unwrap(),
        "[profile dev]\nregion = eu-west-1\noutput = json\n"
    );
    let stored = files.read_credentials("prod").unwrap().unwrap();
    assert_eq!(stored.access_key_id, "ASIATWO");
    assert_eq!(stored.secret_access_key.expose(), "secret/TWO+key==");
    assert_eq!(files.read_credentials("nobody").unwrap(), None);
}

#[test]
fn no_config_file_is_created_without_a_region_or_output() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let report = files.write_profiles(&[profile("dev", "A")]).unwrap();
    assert_eq!(report.config, FileChange::Unchanged);
    assert!(
        !files.config_file().exists(),
        "the config file should not exist"
    );
}

#[test]
fn reading_follows_the_sdk_rules() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    fs::write(
        files.credentials_file(),
        "[dev]\naws_access_key_id = OLD\naws_secret_access_key = S # comment\n[ dev ]\n\
         AWS_ACCESS_KEY_ID = NEW\nx_security_token_expires = not a date\n[long]\n\
         aws_access_key_id=AKIA\naws_secret_access_key=K\n",
    )
    .unwrap();
    let dev = files.read_credentials("dev").unwrap().unwrap();
    assert_eq!(dev.access_key_id, "NEW", "the last copy wins");
    assert_eq!(
        dev.secret_access_key.expose(),
        "S",
        "an inline comment is not the secret"
    );
    assert_eq!(dev.expiration, None, "a bad date is no date");
    let long = files.read_credentials("long").unwrap().unwrap();
    assert_eq!((long.session_token, long.expiration), (None, None));
    assert_eq!(
        AwsFiles::new(dir.path().join("none"), dir.path().join("none"))
            .read_credentials("dev")
            .unwrap(),
        None
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_is_edited_in_its_target_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("dotfiles");
    fs::create_dir_all(&real_dir).unwrap();
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    let target = real_dir.join("aws-credentials");
    fs::write(&target, "# from my dotfiles\n").unwrap();
    let files = files_in(dir.path());
    std::os::unix::fs::symlink("../dotfiles/aws-credentials", files.credentials_file()).unwrap();

    files.write_profiles(&[profile("dev", "A")]).unwrap();
    let link = fs::symlink_metadata(files.credentials_file()).unwrap();
    assert!(link.file_type().is_symlink(), "the link must stay a link");
    let text = fs::read_to_string(&target).unwrap();
    assert!(text.starts_with("# from my dotfiles\n\n[dev]\n"), "{text}");
    assert!(
        real_dir.join("aws-credentials.rolecall.lock").exists(),
        "the lock sits beside the target"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    std::os::unix::fs::symlink("b", &a).unwrap();
    std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
    let err = AwsFiles::new(&a, dir.path().join("config"))
        .write_profiles(&[profile("dev", "A")])
        .unwrap_err();
    assert!(matches!(err, AwsFilesError::SymlinkLoop { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn modes_are_kept_and_new_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;

    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    files
        .write_profiles(&[with_region(profile("dev", "A"), "eu-west-1", "json")])
        .unwrap();
    assert_eq!(
        mode(&dir.path().join(".aws")),
        0o700,
        "a new .aws folder is private"
    );
    assert_eq!(
        mode(files.credentials_file()),
        0o600,
        "a new credentials file is private"
    );
    assert_eq!(
        mode(files.config_file()),
        0o600,
        "a new config file is private"
    );

    fs::set_permissions(files.config_file(), fs::Permissions::from_mode(0o644)).unwrap();
    files
        .write_profiles(&[with_region(profile("dev", "A"), "us-east-1", "json")])
        .unwrap();
    assert_eq!(
        mode(files.config_file()),
        0o644,
        "the config file keeps its mode"
    );
}

#[cfg(unix)]
#[test]
fn an_unchanged_file_is_not_rewritten() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    files.write_profiles(&[profile("dev", "A")]).unwrap();
    let before = fs::metadata(files.credentials_file()).unwrap().ino();
    let report = files.write_profiles(&[profile("dev", "A")]).unwrap();
    assert_eq!(report.credentials, FileChange::Unchanged);
    assert_eq!(
        fs::metadata(files.credentials_file()).unwrap().ino(),
        before,
        "no new file"
    );
}

/// Another tool (which takes no lock) writes the file between our read and our rename: its
/// change must survive, and ours is redone on top of it.
#[test]
fn a_change_made_while_we_write_is_kept_and_our_edit_redone() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    fs::write(files.credentials_file(), "[old]\nx = 1\n").unwrap();
    let calls = AtomicUsize::new(0);
    let hook = |path: &Path| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            // Same length, so only the content tells the change apart.
            fs::write(path, "[new]\ny = 2\n").unwrap();
        }
    };
    let report = files
        .write_profiles_with(&[profile("dev", "A")], quick(&hook))
        .unwrap();
    assert_eq!(report.credentials, FileChange::Updated);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the edit should have been redone once"
    );
    let text = fs::read_to_string(files.credentials_file()).unwrap();
    assert!(text.starts_with("[new]\ny = 2\n\n[dev]\n"), "{text}");
    assert_no_temp_files(&dir.path().join(".aws"));
}

#[test]
fn a_file_that_keeps_changing_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    fs::write(files.credentials_file(), "[old]\n").unwrap();
    let calls = AtomicUsize::new(0);
    let hook = |path: &Path| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        fs::write(path, format!("[busy{n}]\n")).unwrap();
    };
    let err = files
        .write_profiles_with(&[profile("dev", "A")], quick(&hook))
        .unwrap_err();
    assert!(matches!(err, AwsFilesError::KeptChanging { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&files.credentials_file().display().to_string()),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(files.credentials_file()).unwrap(),
        "[busy2]\n"
    );
    assert_no_temp_files(&dir.path().join(".aws"));
}

fn assert_no_temp_files(dir: &Path) {
    let temps: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert_eq!(
        temps,
        Vec::<String>::new(),
        "temporary files were left behind"
    );
}

#[test]
fn the_side_lock_is_held_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    let lock_path = dir.path().join(".aws/credentials.rolecall.lock");
    assert_eq!(disk::lock_path_for(files.credentials_file()), lock_path);

    let held = fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let err = files
        .write_profiles_with(&[profile("dev", "A")], quick(&|_| {}))
        .unwrap_err();
    assert!(
        matches!(err, AwsFilesError::File(StoreError::LockBusy { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("credentials.rolecall.lock"),
        "{err}"
    );
    assert!(
        !files.credentials_file().exists(),
        "nothing may be written without the lock"
    );

    // Our own lock is visible to others while the edit runs.
    let hook = |_: &Path| {
        let other = fs::File::open(&lock_path).unwrap();
        assert!(
            other.try_lock().is_err(),
            "the lock should be held during the edit"
        );
    };
    let released = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
    });
    let patience = Patience {
        lock_timeout: Duration::from_secs(5),
        ..quick(&hook)
    };
    files
        .write_profiles_with(&[profile("dev", "A")], patience)
        .unwrap();
    released.join().unwrap();
}

#[test]
fn profiles_with_competing_credentials_are_refused_and_nothing_written() {
    let cases = [
        (
            "config",
            "[profile dev]\ncredential_process = /bin/creds\n",
            "credential_process",
        ),
        (
            "config",
            "[profile dev]\nsso_session = corp\n",
            "sso_session",
        ),
        (
            "config",
            "[profile dev]\nsso_start_url = https://x\n",
            "sso_start_url",
        ),
        (
            "config",
            "[profile dev]\nROLE_ARN = arn:aws:iam::1:role/x\n",
            "role_arn",
        ),
        (
            "config",
            "[profile dev]\nsource_profile = base\n",
            "source_profile",
        ),
        (
            "config",
            "[default]\nregion = x\n[profile   dev] ; c\nsso_account_id = 1\n",
            "sso_account_id",
        ),
        (
            "credentials",
            "[dev]\ncredential_process = /bin/creds\n",
            "credential_process",
        ),
        (
            "config",
            "[profile dev]\nlogin_session = arn:aws:iam::1:user/alice\nregion = x\n",
            "login_session",
        ),
    ];
    for (file, text, key) in cases {
        let dir = tempfile::tempdir().unwrap();
        let files = files_in(dir.path());
        fs::create_dir_all(dir.path().join(".aws")).unwrap();
        let path = dir.path().join(".aws").join(file);
        fs::write(&path, text).unwrap();
        let err = files
            .write_profiles(&[
                profile("ok", "A"),
                with_region(profile("dev", "A"), "r", "json"),
            ])
            .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, AwsFilesError::CompetingKey { .. }),
            "{message}"
        );
        let owner = match key {
            "login_session" => "the AWS CLI's `aws login`",
            "credential_process" => "a credential_process program",
            "role_arn" | "source_profile" => "the AWS CLI's role assumption",
            _ => "IAM Identity Center (`aws sso login`)",
        };
        for part in [
            "\"dev\"",
            &path.display().to_string(),
            key,
            owner,
            "Choose another profile name",
        ] {
            assert!(
                message.contains(part),
                "the message should name {part}: {message}"
            );
        }
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "{file} must be untouched"
        );
        let other = if file == "config" {
            files.credentials_file()
        } else {
            files.config_file()
        };
        assert!(
            !other.exists(),
            "nothing may be written when a profile is refused"
        );
    }
}

#[test]
fn invalid_names_and_values_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    for name in ["", "my profile", "dev]\n[x", "dév"] {
        let err = files.write_profiles(&[profile(name, "A")]).unwrap_err();
        assert!(
            matches!(err, AwsFilesError::InvalidProfileName { .. }),
            "{name:?}: {err}"
        );
    }
    let mut bad_token = profile("dev", "A");
    bad_token.credentials.session_token = Sensitive::new("line\nbreak secret".to_owned());
    let err = files
        .write_profiles(&[profile("ok", "B"), bad_token])
        .unwrap_err();
    assert!(
        matches!(err, AwsFilesError::InvalidValue { ref key, .. } if key == SESSION_TOKEN),
        "{err}"
    );
    assert!(
        !err.to_string().contains("secret"),
        "no value in messages: {err}"
    );
    let bad_region = with_region(profile("dev", "A"), "eu west", "json");
    let err = files.write_profiles(&[bad_region]).unwrap_err();
    assert!(
        matches!(err, AwsFilesError::InvalidValue { ref key, .. } if key == REGION),
        "{err}"
    );
    assert!(!dir.path().join(".aws").exists(), "nothing may be written");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let write = profile("dev", "TOPSECRET");
    let debug = format!("{write:?}");
    assert!(!debug.contains("secret/TOPSECRET"), "{debug}");
    assert!(!debug.contains("token//TOPSECRET"), "{debug}");
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    files.write_profiles(&[write]).unwrap();
    let stored = format!("{:?}", files.read_credentials("dev").unwrap());
    assert!(
        !stored.contains("secret/TOPSECRET") && !stored.contains("token//"),
        "{stored}"
    );
}

#[test]
fn remove_profiles_takes_out_our_keys_and_empty_sections() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    let original = "# mine\n[keep]\nnote = x\n";
    fs::write(files.credentials_file(), original).unwrap();
    files
        .write_profiles(&[profile("dev", "A"), profile("keep", "B")])
        .unwrap();
    assert_eq!(
        files.remove_profiles(&["dev", "keep", "missing"]).unwrap(),
        FileChange::Updated
    );
    assert_eq!(
        fs::read_to_string(files.credentials_file()).unwrap(),
        "# mine\n[keep]\nnote = x\n"
    );
    assert_eq!(
        files.remove_profiles(&["dev"]).unwrap(),
        FileChange::Unchanged
    );
    let none = files_in(&dir.path().join("nowhere"));
    assert_eq!(
        none.remove_profiles(&["dev"]).unwrap(),
        FileChange::Unchanged
    );
    assert!(
        !dir.path().join("nowhere").exists(),
        "removing creates nothing"
    );
}

#[test]
fn repeated_profiles_and_boms_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    fs::write(
        files.credentials_file(),
        "\u{feff}[dev]\nfoo = 1\n[dev]\nbar = 2\n",
    )
    .unwrap();
    make_private(files.credentials_file());
    let report = files.write_profiles(&[profile("dev", "A")]).unwrap();
    let path = files.credentials_file().to_owned();
    assert_eq!(
        report.warnings,
        [
            Warning::ByteOrderMark { path: path.clone() },
            Warning::Repeated {
                path,
                profile: "dev".to_owned()
            },
        ]
    );
    assert!(
        report.warnings[1]
            .to_string()
            .contains("remove the older copy")
    );

    fs::write(
        files.config_file(),
        "[profile dev]\nregion = eu-west-1 # Ireland\n",
    )
    .unwrap();
    let report = files
        .write_profiles(&[with_region(profile("dev", "A"), "us-east-1", "json")])
        .unwrap();
    assert_eq!(
        fs::read_to_string(files.config_file()).unwrap(),
        "[profile dev]\nregion = us-east-1 # Ireland\noutput = json\n"
    );
    assert!(
        report.warnings.contains(&Warning::InlineComment {
            path: files.config_file().to_owned(),
            profile: "dev".to_owned(),
            key: REGION.to_owned(),
        }),
        "{:?}",
        report.warnings
    );
}

// ---- Random files -----------------------------------------------------------------------------

const NAMES: [&str; 5] = ["default", "dev", "prod", "a.b", "rolecall-new"];

fn line() -> impl Strategy<Value = String> {
    let name = prop::sample::select(NAMES.to_vec());
    let key = prop::sample::select(vec![
        "aws_access_key_id",
        "AWS_SECRET_ACCESS_KEY",
        "aws_session_token",
        "aws_security_token",
        "x_security_token_expires",
        "x_principal_arn",
        "region",
        "Output",
        "s3",
        "foo",
        "credential_process",
    ]);
    prop_oneof![
        name.clone().prop_map(|n| format!("[{n}]")),
        name.clone().prop_map(|n| format!("[profile {n}]")),
        name.clone().prop_map(|n| format!("[ profile\t{n} ] # c")),
        name.prop_map(|n| format!("[ {n} ]")),
        Just("[sso-session corp]".to_owned()),
        Just("[services s]".to_owned()),
        Just("[broken".to_owned()),
        (key.clone(), "[a-z0-9]{0,6}").prop_map(|(k, v)| format!("{k} = {v}")),
        (key.clone(), "[a-z0-9]{0,6}").prop_map(|(k, v)| format!("{k}={v}")),
        (key.clone(), "[a-z0-9]{1,6}").prop_map(|(k, v)| format!("{k}   =\t{v}  # note")),
        (key.clone(), "[a-z0-9]{0,6}").prop_map(|(k, v)| format!("{k}: {v}")),
        (key, "[a-z0-9]{0,6}", "[ \t]{1,3}")
            .prop_map(|(k, v, indent)| format!("{indent}{k} = {v}")),
        "[a-z_ =#;]{0,8}".prop_map(|v| format!("  {v}")),
        "[a-z ]{0,8}".prop_map(|v| format!("# {v}")),
        "[a-z ]{0,8}".prop_map(|v| format!("\t; {v}")),
        Just(String::new()),
        Just("   ".to_owned()),
        Just("garbage".to_owned()),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((line(), any::<bool>()), 0..40),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(lines, final_newline, bom)| {
            let mut text = if bom { BOM.to_vec() } else { Vec::new() };
            let count = lines.len();
            for (index, (line, crlf)) in lines.into_iter().enumerate() {
                text.extend_from_slice(line.as_bytes());
                if index + 1 < count || final_newline {
                    text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            text
        })
}

fn odd_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = b"[]=#;: \t\r\nadefilopr_\xef\xbb\xbf\xff".to_vec();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(prop::sample::select(alphabet), 0..300),
    ]
}

/// One write per profile: its name, a value tag, whether the principal is known, and whether
/// region and output are given.
fn writes() -> impl Strategy<Value = Vec<(&'static str, String, bool, bool)>> {
    prop::sample::subsequence(NAMES.to_vec(), 1..=3).prop_flat_map(|names| {
        let count = names.len();
        (
            Just(names),
            prop::collection::vec(
                ("[A-Za-z0-9/+=]{1,12}", any::<bool>(), any::<bool>()),
                count,
            ),
        )
            .prop_map(|(names, values)| {
                names
                    .into_iter()
                    .zip(values)
                    .map(|(name, (tag, principal, region))| (name, tag, principal, region))
                    .collect()
            })
    })
}

/// Each key to set, update (when present) or remove.
type KeyPlan = Vec<(&'static str, Planned)>;

#[derive(Debug, Clone)]
enum Planned {
    Set(String),
    Update(String),
    Remove,
}

/// Applies the writes at the text level and checks (a), (b) and (c).
fn check_edit(text: &[u8], kind: FileKind, writes: &[(&'static str, String, bool, bool)]) {
    let plan: Vec<(&str, KeyPlan)> = writes
        .iter()
        .map(|(name, tag, principal, region)| {
            let wants = match kind {
                FileKind::Credentials => vec![
                    (ACCESS_KEY_ID, Planned::Set(format!("AK{tag}"))),
                    (SECRET_ACCESS_KEY, Planned::Set(format!("SK{tag}"))),
                    (SESSION_TOKEN, Planned::Set(format!("ST{tag}"))),
                    (LEGACY_SESSION_TOKEN, Planned::Update(format!("ST{tag}"))),
                    (EXPIRATION, Planned::Set("2026-11-05T10:30:00Z".to_owned())),
                    (
                        PRINCIPAL_ARN,
                        match principal {
                            true => Planned::Set(format!("arn:{tag}")),
                            false => Planned::Remove,
                        },
                    ),
                ],
                FileKind::Config if *region => vec![
                    (REGION, Planned::Set(format!("r{tag}"))),
                    (OUTPUT, Planned::Set("json".to_owned())),
                ],
                FileKind::Config => vec![(REGION, Planned::Set(format!("r{tag}")))],
            };
            (*name, wants)
        })
        .collect();
    let apply = |text: &[u8]| {
        let edits: Vec<(&str, Vec<(&str, Want<'_>)>)> = plan
            .iter()
            .map(|(name, wants)| {
                let wants = wants
                    .iter()
                    .map(|(key, planned)| {
                        let want = match planned {
                            Planned::Set(value) => Want::Set(value.as_str()),
                            Planned::Update(value) => Want::Update(value.as_str()),
                            Planned::Remove => Want::Remove,
                        };
                        (*key, want)
                    })
                    .collect();
                (*name, wants)
            })
            .collect();
        set_profiles(text, kind, &edits)
    };
    let names: Vec<&str> = plan.iter().map(|(name, _)| *name).collect();
    let once = apply(text);
    assert_preserved(text, &once, kind, &names, "random file");
    for (name, wants) in &plan {
        let before = effective_values(text, kind, name);
        let values = effective_values(&once, kind, name);
        for (key, planned) in wants {
            let expected = match planned {
                Planned::Set(value) => Some(value),
                Planned::Update(value) => before.contains_key(*key).then_some(value),
                Planned::Remove => None,
            };
            assert_eq!(
                values.get(*key),
                expected,
                "{name}.{key} should read back\n{:?}",
                String::from_utf8_lossy(&once)
            );
        }
    }
    assert_eq!(
        apply(&once),
        once,
        "a second identical write must change nothing"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_files_keep_every_unmanaged_line(
        text in file(),
        config in any::<bool>(),
        writes in writes(),
    ) {
        let kind = if config { FileKind::Config } else { FileKind::Credentials };
        check_edit(&text, kind, &writes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_keep_every_unmanaged_line(
        text in odd_bytes(),
        config in any::<bool>(),
        writes in writes(),
    ) {
        let kind = if config { FileKind::Config } else { FileKind::Credentials };
        check_edit(&text, kind, &writes);
        let doc = Document::parse(&text, kind);
        let _ = stored_credentials(&text, "dev");
        let _ = refuse_competing(&doc, "dev", Path::new("x"));
        let removes: Vec<_> = CREDENTIAL_KEYS.iter().map(|key| (*key, Want::Remove)).collect();
        let removed = set_keys(&text, kind, "dev", &removes);
        let _ = remove_empty_sections(&removed, kind, &["dev"]);
        prop_assert!(doc.lines.iter().all(|line| line.kind != LineKind::Header || lines::trim(line.content).starts_with(b"[")));
    }
}

/// `rolecall console` opens the console in the profile's region: read as the SDK reads it.
#[test]
fn the_region_of_a_profile_is_read_from_its_config_section() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    assert_eq!(files.read_region("work").unwrap(), None, "no config file");
    fs::create_dir_all(files.config_file().parent().unwrap()).unwrap();
    fs::write(
        files.config_file(),
        "[default]\nregion = us-east-2\n[profile work]\nregion = eu-west-1 # home\n[work]\nregion = ap-south-1\n[profile bare]\noutput = json\n",
    )
    .unwrap();
    assert_eq!(
        files.read_region("work").unwrap().as_deref(),
        Some("eu-west-1"),
        "`[profile work]`, inline comment dropped; `[work]` is not a profile in the config file"
    );
    assert_eq!(
        files.read_region("default").unwrap().as_deref(),
        Some("us-east-2")
    );
    assert_eq!(files.read_region("bare").unwrap(), None);
    assert_eq!(files.read_region("missing").unwrap(), None);
}

// ---- Keys Rolecall did not write ----------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/aws_files/credentials")
            .join(name),
    )
    .unwrap()
}

fn unregistered(name: &str, tag: &str) -> ProfileWrite {
    ProfileWrite {
        registered: false,
        ..with_region(profile(name, tag), "eu-west-1", "json")
    }
}

/// What `aws configure` leaves: IAM user keys in `[default]`, a region in the config file.
#[test]
fn long_term_keys_are_never_replaced_and_neither_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    let credentials = fixture("aws-configure-default");
    let config = b"[default]\nregion = us-east-1\noutput = json\n".to_vec();
    fs::write(files.credentials_file(), &credentials).unwrap();
    fs::write(files.config_file(), &config).unwrap();
    for write in [
        with_region(profile("default", "A"), "eu-west-1", "text"),
        unregistered("default", "A"),
    ] {
        let err = files
            .write_profiles(&[profile("dev", "B"), write])
            .unwrap_err();
        assert!(
            matches!(
                err,
                AwsFilesError::ForeignKeys {
                    kept: ForeignKeys::LongTerm,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        for part in [
            "\"default\"",
            &files.credentials_file().display().to_string(),
            "long-term access key",
            "another active profile",
            "--profile",
            "move those keys to another profile",
        ] {
            assert!(message.contains(part), "{part:?} missing from: {message}");
        }
        assert_eq!(fs::read(files.credentials_file()).unwrap(), credentials);
        assert_eq!(fs::read(files.config_file()).unwrap(), config);
    }
    assert_eq!(
        files.foreign_profiles(|_| true).unwrap(),
        BTreeSet::from(["default".to_owned()])
    );
    assert!(files.check_writable("default", true).is_err());
    files.check_writable("dev", false).unwrap();
}

#[test]
fn only_temporary_keys_rolecall_recorded_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    let text = "[sso-like]\naws_access_key_id = ASIAOTHERTOOL\naws_secret_access_key = s\n\
                aws_session_token = t\n\n[static]\naws_access_key_id = LOCALSTACKKEY\n\
                aws_secret_access_key = s\n\n[bare]\nregion = eu-west-1\n";
    fs::write(files.credentials_file(), text).unwrap();
    let refused = |write: ProfileWrite| match files.write_profiles(&[write]).unwrap_err() {
        AwsFilesError::ForeignKeys { kept, .. } => kept,
        other => panic!("{other}"),
    };
    assert_eq!(
        refused(unregistered("sso-like", "A")),
        ForeignKeys::NotRecorded,
        "another tool's session is not Rolecall's to replace"
    );
    assert_eq!(
        refused(with_region(profile("static", "A"), "eu-west-1", "json")),
        ForeignKeys::NoSessionToken,
        "keys without a token are long-term, whatever the registry says"
    );
    assert_eq!(fs::read_to_string(files.credentials_file()).unwrap(), text);
    assert!(!files.config_file().exists());
    assert_eq!(
        files
            .foreign_profiles(|name| name == "sso-like")
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["static"]
    );

    files
        .write_profiles(&[unregistered("bare", "B"), profile("sso-like", "C")])
        .unwrap();
    let stored = files.read_credentials("bare").unwrap().unwrap();
    assert_eq!(
        stored.access_key_id, "ASIAB",
        "a profile without keys is free"
    );
    let stored = files.read_credentials("sso-like").unwrap().unwrap();
    assert_eq!(
        stored.access_key_id, "ASIAC",
        "a recorded profile is Rolecall's"
    );
}

// ---- Writers that do not lock, after the last check ----------------------------------------

const THREE_PROFILES: &str = "[one]\naws_access_key_id = AKIAONE\naws_secret_access_key = a\n\n\
                              [two]\nregion = eu-west-2\n\n[three]\nx = 3\n";

fn late_writer_files(dir: &Path) -> AwsFiles {
    let files = files_in(dir);
    fs::create_dir_all(dir.join(".aws")).unwrap();
    fs::write(files.credentials_file(), THREE_PROFILES).unwrap();
    files
}

/// A program truncates the file in place after our check and stops half-way (as
/// `aws configure set` does for a moment): its partial text must never become the file.
#[test]
fn a_late_truncating_writer_never_leaves_the_file_partial() {
    let dir = tempfile::tempdir().unwrap();
    let files = late_writer_files(dir.path());
    let hook = |path: &Path| {
        use std::io::Write;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .unwrap();
        file.write_all(&THREE_PROFILES.as_bytes()[..20]).unwrap();
    };
    let patience = Patience {
        after_check: &hook,
        ..quick(&|_| {})
    };
    let err = files
        .write_profiles_with(&[profile("dev", "A")], patience)
        .unwrap_err();
    assert!(
        matches!(err, AwsFilesError::ChangedWhileReplaced { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&files.credentials_file().display().to_string())
    );
    let text = fs::read_to_string(files.credentials_file()).unwrap();
    assert!(
        text.starts_with(THREE_PROFILES),
        "every profile must survive: {text}"
    );
    assert_eq!(
        files
            .read_credentials("dev")
            .unwrap()
            .unwrap()
            .access_key_id,
        "ASIAA"
    );
    assert_no_temp_files(&dir.path().join(".aws"));
}

/// The same writer finishing its write: its change is kept and ours redone on top of it.
#[test]
fn a_late_complete_write_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let files = late_writer_files(dir.path());
    let theirs = THREE_PROFILES.replace("x = 3\n", "x = 3\ny = 4\n");
    let calls = AtomicUsize::new(0);
    let hook = |path: &Path| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            use std::io::Write;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .unwrap();
            file.write_all(theirs.as_bytes()).unwrap();
        }
    };
    let patience = Patience {
        after_check: &hook,
        ..quick(&|_| {})
    };
    files
        .write_profiles_with(&[profile("dev", "A")], patience)
        .unwrap();
    let text = fs::read_to_string(files.credentials_file()).unwrap();
    assert!(text.starts_with(&theirs), "{text}");
    assert_eq!(
        files
            .read_credentials("dev")
            .unwrap()
            .unwrap()
            .access_key_id,
        "ASIAA"
    );
}

#[test]
fn a_partial_copy_does_not_look_complete() {
    let read = THREE_PROFILES.as_bytes();
    let kind = FileKind::Credentials;
    assert!(disk::looks_complete(read, read, kind));
    for cut in 1..read.len() {
        assert!(
            !disk::looks_complete(&read[..cut], read, kind),
            "a prefix of {cut} bytes"
        );
    }
    let edited = THREE_PROFILES.replace("eu-west-2", "eu-central-1");
    assert!(disk::looks_complete(edited.as_bytes(), read, kind));
    assert!(!disk::looks_complete(b"", read, kind), "an emptied file");
    // Written from a copy read before Rolecall's last write: only Rolecall's session is
    // missing, which Rolecall writes again; a hand-written profile must all be there.
    let ours = "[one]\nx = 1\n\n[rolecall]\naws_access_key_id = ASIAOURS\n\
                aws_secret_access_key = s\naws_session_token = t\n";
    assert!(disk::looks_complete(
        b"[one]\nx = 1\ny = 2\n",
        ours.as_bytes(),
        kind
    ));
    let handmade = "[one]\nx = 1\n\n[keys]\naws_access_key_id = AKIAMINE\n\
                    aws_secret_access_key = s\n";
    assert!(!disk::looks_complete(
        b"[one]\nx = 1\n",
        handmade.as_bytes(),
        kind
    ));
    let dropped = THREE_PROFILES.replace("[two]\nregion = eu-west-2\n\n", "");
    let padded = format!("{dropped}# {}\n", "-".repeat(60));
    assert!(
        !disk::looks_complete(padded.as_bytes(), read, kind),
        "a lost profile is lost, however long the rest"
    );
}

// ---- Modes and odd files ----------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_credentials_file_others_can_read_is_made_private_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    fs::write(files.credentials_file(), "[other]\nx = 1\n").unwrap();
    fs::set_permissions(files.credentials_file(), fs::Permissions::from_mode(0o644)).unwrap();
    let report = files.write_profiles(&[profile("dev", "A")]).unwrap();
    assert_eq!(mode(files.credentials_file()), 0o600);
    let warning = Warning::MadePrivate {
        path: files.credentials_file().to_owned(),
    };
    assert!(report.warnings.contains(&warning), "{:?}", report.warnings);
    assert!(warning.to_string().contains("0600"));
    let again = files.write_profiles(&[profile("dev", "B")]).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_folder_at_an_aws_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    fs::create_dir_all(dir.path().join(".aws")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(files.credentials_file())
        .status()
        .unwrap();
    assert!(made.success());
    let refused = |err: AwsFilesError| {
        assert!(
            matches!(err, AwsFilesError::File(StoreError::NotAFile { .. })),
            "{err:?}"
        );
        err.to_string()
    };
    let message = refused(files.write_profiles(&[profile("dev", "A")]).unwrap_err());
    assert!(message.contains("FIFO"), "{message}");
    refused(files.read_credentials("dev").unwrap_err());
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = fs::symlink_metadata(files.credentials_file())
            .unwrap()
            .file_type();
        assert!(kind.is_fifo(), "the FIFO stays as it was");
    }

    fs::remove_file(files.credentials_file()).unwrap();
    fs::create_dir(files.credentials_file()).unwrap();
    let message = refused(files.write_profiles(&[profile("dev", "A")]).unwrap_err());
    assert!(message.contains("is a folder"), "{message}");
    assert!(files.credentials_file().is_dir());

    fs::remove_dir(files.credentials_file()).unwrap();
    fs::create_dir(files.config_file()).unwrap();
    let message = refused(
        files
            .write_profiles(&[with_region(profile("dev", "A"), "eu-west-1", "json")])
            .unwrap_err(),
    );
    assert!(message.contains("is a folder"), "{message}");
    assert!(
        !files.credentials_file().exists(),
        "nothing is written when either file is refused"
    );
}
