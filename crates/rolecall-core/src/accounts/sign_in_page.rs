//! Reading account names from AWS's SAML role chooser (the sign-in host's `/saml`), in
//! each layout AWS has served:
//!
//! - **Next.js** (since 2023): the page's data travels in `<meta name="data" content="BASE64">`,
//!   JSON whose `roles_accounts` maps `"<alias> (<12 digits>)"`, or `"<12 digits>"` for an
//!   account without alias, to the account's role ARNs; scripts draw the chooser from it.
//! - **Legacy**: the chooser is server-side HTML, each account headed `Account: <alias> (<id>)`
//!   or `Account: <id>`.
//!
//! Only names are read. The page's role lists are never used: the roles a person may assume
//! come from the signed assertion alone. A page in neither layout, or one whose data is broken,
//! gives nothing, so the caller falls back to names it already knows rather than guessing.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::html::{Document, Node};

/// Which of AWS's role chooser layouts a page was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The Next.js page's `<meta name="data">`.
    NextJs,
    /// The server-side page's `Account: alias (id)` headings.
    Legacy,
}

/// What the role chooser says of each account it lists: its alias, or `None` when it lists the
/// account by its id alone (the account has no alias).
pub type PageAccounts = BTreeMap<String, Option<String>>;

/// The account names read from one role chooser page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInPage {
    pub layout: Layout,
    pub accounts: PageAccounts,
}

/// The longest alias kept. IAM's own limit is 63 characters; anything far longer is not an
/// alias but a page Rolecall misread.
const MAX_ALIAS_CHARS: usize = 128;

/// Standard alphabet, padding optional: the data is read, never checked.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the account names from a role chooser page: the Next.js data first, then the legacy
/// headings. `None` when the page is in neither layout (or its data is broken).
pub fn parse(html: &str) -> Option<SignInPage> {
    let document = Document::scan(html);
    if let Some(accounts) = next_js_accounts(&document) {
        return Some(SignInPage {
            layout: Layout::NextJs,
            accounts,
        });
    }
    let accounts = legacy_accounts(&document);
    (!accounts.is_empty()).then_some(SignInPage {
        layout: Layout::Legacy,
        accounts,
    })
}

/// `roles_accounts` of the first `<meta name="data">` whose content decodes to JSON holding it.
fn next_js_accounts(document: &Document) -> Option<PageAccounts> {
    document
        .nodes
        .iter()
        .filter(|node| node.is_open("meta") && node.attribute("name") == Some("data"))
        .filter_map(|node| node.attribute("content"))
        .find_map(accounts_of_data)
}

fn accounts_of_data(content: &str) -> Option<PageAccounts> {
    let compact: String = content
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let json = LENIENT_BASE64.decode(compact).ok()?;
    let data: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let roles_accounts = data.get("roles_accounts")?.as_object()?;
    Some(
        roles_accounts
            .keys()
            .filter_map(|key| account_of_key(key))
            .collect(),
    )
}

/// `"<alias> (<id>)"` or `"<id>"`; anything else (a short id, an empty alias) is skipped.
fn account_of_key(key: &str) -> Option<(String, Option<String>)> {
    let key = key.trim();
    if is_account_id(key) {
        return Some((key.to_owned(), None));
    }
    let (alias, id) = key.strip_suffix(')')?.rsplit_once('(')?;
    let id = id.trim();
    let alias = alias_text(alias)?;
    is_account_id(id).then(|| (id.to_owned(), Some(alias)))
}

/// The legacy page's `Account: <alias> (<id>)` and `Account: <id>` headings.
fn legacy_accounts(document: &Document) -> PageAccounts {
    let mut accounts = PageAccounts::new();
    for node in &document.nodes {
        let Node::Text(text) = node else {
            continue;
        };
        for chunk in text.split("Account: ").skip(1) {
            if let Some((id, alias)) = account_of_key(chunk) {
                accounts.insert(id, alias);
            }
        }
    }
    accounts
}

/// An alias as shown: trimmed, not empty, no control characters, not absurdly long.
fn alias_text(raw: &str) -> Option<String> {
    let alias = raw.trim();
    let fits = !alias.is_empty()
        && alias.chars().count() <= MAX_ALIAS_CHARS
        && !alias.chars().any(char::is_control);
    fits.then(|| alias.to_owned())
}

pub(crate) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    /// A role chooser page as AWS serves it, read from `tests/fixtures/aws_signin`.
    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/aws_signin")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    fn named<'a>(accounts: &'a PageAccounts, id: &str) -> Option<Option<&'a str>> {
        accounts.get(id).map(Option::as_deref)
    }

    #[test]
    fn the_next_js_page_gives_its_aliases_and_its_accounts_without_one() {
        let page = parse(&fixture("nextjs.html")).expect("the Next.js layout is read");
        assert_eq!(page.layout, Layout::NextJs);
        let accounts = &page.accounts;
        assert_eq!(named(accounts, "111122223333"), Some(Some("prod-main")));
        assert_eq!(named(accounts, "222233334444"), Some(Some("dev-sandbox")));
        assert_eq!(
            named(accounts, "444455556666"),
            Some(None),
            "an account listed by its id alone has no alias"
        );
        assert_eq!(accounts.len(), 3, "{accounts:?}");
    }

    #[test]
    fn the_legacy_page_gives_its_aliases_and_its_accounts_without_one() {
        let page = parse(&fixture("legacy.html")).expect("the legacy layout is read");
        assert_eq!(page.layout, Layout::Legacy);
        let accounts = &page.accounts;
        assert_eq!(named(accounts, "111122223333"), Some(Some("prod-main")));
        assert_eq!(named(accounts, "777788889999"), Some(Some("dev & test")));
        assert_eq!(named(accounts, "444455556666"), Some(None));
        assert_eq!(accounts.len(), 3, "{accounts:?}");
    }

    /// Each twin is a real layout with one thing changed the way a new AWS release might: the
    /// reader must give nothing rather than names it half understood.
    #[test]
    fn a_page_that_changed_gives_nothing_rather_than_wrong_names() {
        for (twin, what) in [
            ("nextjs-broken-base64.html", "the meta's base64 is cut"),
            (
                "nextjs-without-roles-accounts.html",
                "the JSON names its accounts otherwise",
            ),
            (
                "legacy-changed-label.html",
                "the heading no longer says Account:",
            ),
        ] {
            assert_eq!(parse(&fixture(twin)), None, "{twin}: {what}");
        }
    }

    #[test]
    fn the_twins_differ_from_the_real_layouts_only_where_they_say() {
        // So the twins keep testing what they claim: each is its original with one change.
        let next_js = fixture("nextjs.html");
        for twin in [
            "nextjs-broken-base64.html",
            "nextjs-without-roles-accounts.html",
        ] {
            let twin_text = fixture(twin);
            let changed: Vec<&str> = next_js
                .lines()
                .zip(twin_text.lines())
                .filter(|(original, twin)| original != twin)
                .map(|(_, twin)| twin)
                .collect();
            assert_eq!(next_js.lines().count(), twin_text.lines().count(), "{twin}");
            assert!(
                changed.len() == 1 && changed[0].starts_with("<meta name=\"data\" content=\""),
                "{twin} changes the data meta only: {changed:?}"
            );
        }
        let legacy = fixture("legacy.html");
        let relabelled = fixture("legacy-changed-label.html");
        assert_eq!(
            legacy.replace("Account: ", "Konto: "),
            relabelled,
            "the relabelled twin only renames the heading"
        );
    }

    fn meta_page(data: &serde_json::Value) -> String {
        format!(
            r#"<html><head><meta name="data" content="{}"></head><body></body></html>"#,
            STANDARD.encode(data.to_string())
        )
    }

    #[test]
    fn next_js_keys_that_are_not_account_names_are_skipped() {
        let page = meta_page(&serde_json::json!({
            "roles_accounts": {
                "prod-main (111122223333)": ["arn:aws:iam::111122223333:role/Admin"],
                "short (1111)": [],
                " (222233334444)": [],
                "444455556666": [],
                "odd (name) (555566667777)": [],
            },
        }));
        let accounts = parse(&page).unwrap().accounts;
        assert_eq!(named(&accounts, "111122223333"), Some(Some("prod-main")));
        assert_eq!(named(&accounts, "444455556666"), Some(None));
        assert_eq!(
            named(&accounts, "555566667777"),
            Some(Some("odd (name)")),
            "the id is the last parenthesis"
        );
        assert_eq!(accounts.len(), 3, "{accounts:?}");
    }

    #[test]
    fn the_page_role_lists_are_never_read() {
        // The names come from the keys; what the lists hold, or whether they are lists at all,
        // does not matter, since roles come from the assertion.
        let page = meta_page(&serde_json::json!({
            "roles_accounts": {"prod-main (111122223333)": "not a list"},
        }));
        let accounts = parse(&page).unwrap().accounts;
        assert_eq!(named(&accounts, "111122223333"), Some(Some("prod-main")));
    }

    #[test]
    fn broken_next_js_data_falls_back_to_the_legacy_headings() {
        let page =
            r#"<meta name="data" content="e30="><div>Account: prod-main (111122223333)</div>"#;
        let read = parse(page).unwrap();
        assert_eq!(read.layout, Layout::Legacy, "{{}} has no roles_accounts");
        assert_eq!(
            named(&read.accounts, "111122223333"),
            Some(Some("prod-main"))
        );
    }

    #[test]
    fn pages_without_accounts_give_nothing() {
        for page in [
            "",
            "<html>Your request included an invalid SAML response.</html>",
            "Account: short (123)",
            "<meta name=\"data\">",
            "<meta name=\"description\" content=\"eyJyb2xlc19hY2NvdW50cyI6e319\">",
        ] {
            assert_eq!(parse(page), None, "{page:?}");
        }
        // Valid data with no account is the Next.js layout with nothing in it.
        let empty = meta_page(&serde_json::json!({"roles_accounts": {}}));
        assert_eq!(
            parse(&empty),
            Some(SignInPage {
                layout: Layout::NextJs,
                accounts: PageAccounts::new()
            })
        );
    }

    /// Roughly what a changed or hostile page might hold: pieces of both layouts, odd base64
    /// and JSON around them.
    fn near_page() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<meta name=\"data\" content=\"".to_owned()),
            Just("\">".to_owned()),
            Just("Account: ".to_owned()),
            Just("(111122223333)".to_owned()),
            Just("<div class=\"saml-account-name\">".to_owned()),
            "[A-Za-z0-9+/=]{0,40}",
            ".{0,20}",
            any::<String>(),
            prop::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| STANDARD.encode(bytes)),
            "[a-z(){}\\[\\]\" :,0-9]{0,40}".prop_map(|json| STANDARD.encode(json)),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn any_page_is_read_without_panic_and_gives_only_account_ids(page in near_page()) {
            if let Some(read) = parse(&page) {
                for (id, alias) in &read.accounts {
                    prop_assert!(is_account_id(id), "{id:?}");
                    if let Some(alias) = alias {
                        prop_assert!(!alias.is_empty() && alias.trim() == alias);
                        prop_assert!(!alias.chars().any(char::is_control));
                    }
                }
            }
        }

        #[test]
        fn any_roles_accounts_keys_are_read_without_panic(
            keys in prop::collection::vec(any::<String>(), 0..8)
        ) {
            let roles_accounts: serde_json::Map<String, serde_json::Value> = keys
                .into_iter()
                .map(|key| (key, serde_json::json!([])))
                .collect();
            let page = meta_page(&serde_json::json!({"roles_accounts": roles_accounts}));
            let read = parse(&page);
            prop_assert_eq!(read.map(|read| read.layout), Some(Layout::NextJs));
        }
    }
}
