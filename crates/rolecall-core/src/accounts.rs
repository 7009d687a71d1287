//! AWS account aliases: read from the AWS sign-in page that the assertion names, and cached per
//! account id so that a slow or failing lookup never holds up a sign-in.
//!
//! This module never fails a sign-in: a lookup that errs or takes longer than its budget falls
//! back to the cache, and to bare account ids after that.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::partition::Partition;
use crate::saml::{RolePair, roles_by_account};
use crate::secrets::Sensitive;
use crate::store::{JsonFile, StoreError};

/// How long a sign-in may wait for aliases before going on without them.
pub const LOOKUP_BUDGET: Duration = Duration::from_secs(3);

/// Account id → alias.
pub type Aliases = BTreeMap<String, String>;

/// One AWS account of an assertion, with the roles it grants there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
    pub roles: Vec<RolePair>,
}

impl Account {
    /// How menus name the account: `alias (id)`, or the id alone.
    pub fn label(&self) -> String {
        match &self.alias {
            Some(alias) => format!("{alias} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

/// Groups roles by account, accounts sorted by alias (accounts without one after, by id), roles
/// by name, so menus read the same at every sign-in.
pub fn group(roles: &[RolePair], aliases: &Aliases) -> Vec<Account> {
    let mut accounts: Vec<Account> = roles_by_account(roles)
        .into_iter()
        .map(|(id, roles)| {
            let mut roles: Vec<RolePair> = roles.into_iter().cloned().collect();
            roles.sort_by(|a, b| a.role_name().cmp(b.role_name()).then(a.cmp(b)));
            Account {
                id: id.to_owned(),
                alias: aliases.get(id).cloned(),
                roles,
            }
        })
        .collect();
    accounts.sort_by(|a, b| {
        let key = |account: &Account| {
            (
                account.alias.is_none(),
                account.alias.as_ref().map(|alias| alias.to_lowercase()),
                account.id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    accounts
}

/// Reads the account names from the AWS sign-in page's role chooser, which lists each account as
/// `Account: <alias> (<id>)`, or `Account: <id>` when the account has no alias.
pub fn parse_sign_in_page(html: &str) -> Aliases {
    let mut aliases = Aliases::new();
    let document = crate::html::Document::scan(html);
    for node in &document.nodes {
        let crate::html::Node::Text(text) = node else {
            continue;
        };
        for chunk in text.split("Account: ").skip(1) {
            let text = chunk.trim();
            let Some(open) = text.rfind('(') else {
                continue;
            };
            let id = text[open + 1..].trim_end_matches(')').trim();
            let alias = text[..open].trim();
            if is_account_id(id) && !alias.is_empty() {
                aliases.insert(id.to_owned(), alias.to_owned());
            }
        }
    }
    aliases
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Posts the assertion to the sign-in page named by its Destination and reads the aliases.
///
/// `http://` destinations are only followed to loopback hosts (the simulator and tests): the
/// assertion is a credential and never crosses a network in the clear.
pub async fn fetch(
    client: &reqwest::Client,
    destination: &Url,
    saml_response: &Sensitive<String>,
    budget: Duration,
) -> Result<Aliases, AliasError> {
    let host = destination.host_str().unwrap_or_default().to_owned();
    match destination.scheme() {
        "https" => {}
        "http" if crate::http::is_loopback(destination) => {}
        _ => return Err(AliasError::InsecureDestination { host }),
    }
    let exchange = async {
        let response = client
            .post(destination.clone())
            .form(&[("SAMLResponse", saml_response.expose().as_str())])
            .send()
            .await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    };
    // One budget for the whole exchange: connecting, the answer and its body.
    let (status, body) = tokio::time::timeout(budget, exchange)
        .await
        .map_err(|_| AliasError::TimedOut {
            host: host.clone(),
            budget,
        })?
        .map_err(|err| AliasError::Request {
            host: host.clone(),
            reason: without_url(&err),
        })?;
    if !status.is_success() {
        return Err(AliasError::Status {
            host,
            status: status.as_u16(),
        });
    }
    Ok(parse_sign_in_page(&body))
}

/// A short reason for a failed request; reqwest's own messages repeat the whole URL.
fn without_url(err: &reqwest::Error) -> String {
    crate::http::classify(err).describe().to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    #[error(
        "Rolecall did not send the assertion to {host} to look up account names, because the \
         page is not https. Account ids are shown instead."
    )]
    InsecureDestination { host: String },
    #[error(
        "The assertion was to go to {host}, which is not AWS's sign-in page, so Rolecall did \
         not send it there to look up account names. Account ids are shown instead."
    )]
    NotAws { host: String },
    #[error(
        "The AWS sign-in page at {host} did not answer within {budget:?}, so account ids are \
         shown instead of names. They appear at the next sign-in if the page answers then."
    )]
    TimedOut { host: String, budget: Duration },
    #[error(
        "Looking up account names at {host} failed ({reason}), so account ids are shown instead."
    )]
    Request { host: String, reason: String },
    #[error(
        "The AWS sign-in page at {host} answered HTTP {status}, so account ids are shown instead \
         of names."
    )]
    Status { host: String, status: u16 },
}

/// The aliases seen so far, kept in a small JSON file in Rolecall's folder.
#[derive(Debug, Clone)]
pub struct AliasCache {
    file: JsonFile<Aliases>,
    aliases: Aliases,
}

impl AliasCache {
    pub const FILE_NAME: &str = "account-aliases.json";

    /// Loads the cache from `config_dir` (a missing one is empty); one that cannot be read is
    /// an error naming it.
    pub fn load(config_dir: &Path) -> Result<Self, StoreError> {
        let file = JsonFile::new(config_dir.join(Self::FILE_NAME));
        let aliases = file.load()?;
        Ok(Self { file, aliases })
    }

    /// The cache, or an empty one when it cannot be read: it only saves a lookup. The broken
    /// file is never written over (saving reads it first, and fails), and the caller reports
    /// it (the engine's [`crate::engine::Status::problems`]).
    pub fn load_or_empty(config_dir: &Path) -> Self {
        Self::load(config_dir).unwrap_or_else(|err| {
            tracing::warn!("{err}");
            Self {
                file: JsonFile::new(config_dir.join(Self::FILE_NAME)),
                aliases: Aliases::new(),
            }
        })
    }

    pub fn get(&self, account_id: &str) -> Option<&str> {
        self.aliases.get(account_id).map(String::as_str)
    }

    pub fn all(&self) -> &Aliases {
        &self.aliases
    }

    /// Adds what a lookup found and saves the file if anything changed, keeping what other
    /// Rolecalls saved meanwhile.
    pub fn remember(&mut self, found: &Aliases) -> Result<(), StoreError> {
        if found
            .iter()
            .all(|(id, alias)| self.aliases.get(id) == Some(alias))
        {
            return Ok(());
        }
        self.aliases = self.file.update(|aliases| {
            aliases.extend(found.iter().map(|(id, alias)| (id.clone(), alias.clone())));
            Ok::<_, StoreError>(aliases.clone())
        })?;
        Ok(())
    }
}

/// Looks aliases up within [`LOOKUP_BUDGET`], remembers what it found, and answers from the cache
/// for the rest. The error, if any, is returned beside the aliases for the caller to show or log.
/// Whether the assertion may be posted to `destination` to read account names: AWS's own
/// `/saml` page, in any partition, or for an endpoint on this computer (the demo and the tests)
/// the simulator's `…/saml` on loopback.
pub fn is_alias_page(destination: &Url, endpoint_on_loopback: bool) -> bool {
    Partition::from_saml_destination(destination.as_str()).is_some()
        || crate::partition::is_loopback_stand_in(destination, endpoint_on_loopback)
}

/// Reads the aliases at `destination` when it is an alias page ([`is_alias_page`]) and adds them
/// to the cache; returns every alias known, and what went wrong, if anything.
pub async fn resolve(
    client: &reqwest::Client,
    destination: &Url,
    endpoint_on_loopback: bool,
    saml_response: &Sensitive<String>,
    cache: &mut AliasCache,
    budget: Duration,
) -> (Aliases, Option<AliasError>) {
    if !is_alias_page(destination, endpoint_on_loopback) {
        let host = destination.host_str().unwrap_or_default().to_owned();
        return (cache.all().clone(), Some(AliasError::NotAws { host }));
    }
    let problem = match fetch(client, destination, saml_response, budget).await {
        Ok(found) => {
            if let Err(err) = cache.remember(&found) {
                tracing::warn!("could not save the account alias cache: {err}");
            }
            None
        }
        Err(err) => Some(err),
    };
    (cache.all().clone(), problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const PAGE: &str = r#"<form id="saml_form"><fieldset>
      <div class="saml-account"><div class="expandable-container">
        <div class="saml-account-name">Account: prod-main (111122223333)</div></div></div>
      <div class="saml-account"><div class="saml-account-name">Account: 444455556666</div></div>
      <div class="saml-account"><div class="saml-account-name">Account: dev &amp; test (777788889999)</div></div>
    </fieldset></form>"#;

    #[test]
    fn reads_aliases_and_skips_accounts_without_one() {
        let aliases = parse_sign_in_page(PAGE);
        assert_eq!(
            aliases.get("111122223333").map(String::as_str),
            Some("prod-main")
        );
        assert_eq!(
            aliases.get("777788889999").map(String::as_str),
            Some("dev & test")
        );
        assert!(
            !aliases.contains_key("444455556666"),
            "an account without alias has no entry"
        );
    }

    #[test]
    fn accounts_sort_by_alias_then_id_and_roles_by_name() {
        let pair = |account: &str, role: &str| RolePair {
            role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            principal_arn: format!("arn:aws:iam::{account}:saml-provider/ADFS"),
        };
        let roles = vec![
            pair("999999999999", "Zeta"),
            pair("111111111111", "ReadOnly"),
            pair("222222222222", "Admin"),
            pair("111111111111", "Admin"),
        ];
        let aliases = Aliases::from([
            ("111111111111".to_owned(), "prod".to_owned()),
            ("222222222222".to_owned(), "Dev".to_owned()),
        ]);
        let accounts = group(&roles, &aliases);
        let labels: Vec<String> = accounts.iter().map(Account::label).collect();
        assert_eq!(
            labels,
            ["Dev (222222222222)", "prod (111111111111)", "999999999999"],
            "aliases sort case-insensitively; accounts without one come last"
        );
        let prod: Vec<&str> = accounts[1].roles.iter().map(RolePair::role_name).collect();
        assert_eq!(prod, ["Admin", "ReadOnly"]);
    }

    #[test]
    fn a_page_without_accounts_gives_nothing() {
        assert!(
            parse_sign_in_page("<html>Your request included an invalid SAML response.</html>")
                .is_empty()
        );
        assert!(
            parse_sign_in_page("Account: short (123)").is_empty(),
            "ids have 12 digits"
        );
    }

    /// A one-shot HTTP server on loopback that answers `body` after `delay`.
    async fn serve_once(body: &'static str, delay: Duration) -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 65536];
            let _ = socket.read(&mut buf).await;
            tokio::time::sleep(delay).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
        Url::parse(&format!("http://{addr}/saml")).unwrap()
    }

    fn assertion() -> Sensitive<String> {
        Sensitive::new("PHNhbWxwOlJlc3BvbnNlLz4=".to_owned())
    }

    #[tokio::test]
    async fn lookup_fills_and_saves_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let url = serve_once(PAGE, Duration::ZERO).await;
        let mut cache = AliasCache::load(dir.path()).unwrap();
        let (aliases, problem) = resolve(
            &reqwest::Client::new(),
            &url,
            true,
            &assertion(),
            &mut cache,
            LOOKUP_BUDGET,
        )
        .await;
        assert!(problem.is_none(), "{problem:?}");
        assert_eq!(
            aliases.get("111122223333").map(String::as_str),
            Some("prod-main")
        );
        let reloaded = AliasCache::load(dir.path()).unwrap();
        assert_eq!(
            reloaded.get("111122223333"),
            Some("prod-main"),
            "the cache is saved"
        );
    }

    #[tokio::test]
    async fn a_slow_page_falls_back_to_the_cache_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(AliasCache::FILE_NAME),
            r#"{"111122223333":"cached-name"}"#,
        )
        .unwrap();
        let url = serve_once(PAGE, Duration::from_secs(30)).await;
        let mut cache = AliasCache::load(dir.path()).unwrap();
        let started = crate::clock::monotonic();
        let budget = Duration::from_millis(300);
        let (aliases, problem) = resolve(
            &reqwest::Client::new(),
            &url,
            true,
            &assertion(),
            &mut cache,
            budget,
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the budget bounds the wait"
        );
        assert!(
            matches!(problem, Some(AliasError::TimedOut { .. })),
            "{problem:?}"
        );
        assert_eq!(
            aliases.get("111122223333").map(String::as_str),
            Some("cached-name")
        );
    }

    /// The assertion is a credential: it goes to AWS's `/saml` only, or to the simulator's on
    /// loopback when the endpoint itself is on loopback (the demo and the tests).
    #[tokio::test]
    async fn the_assertion_goes_only_to_an_aws_saml_page() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = AliasCache::load(dir.path()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let other = [
            format!("http://{addr}/saml"),
            format!("http://{addr}/collect"),
        ];
        for (url, endpoint_on_loopback) in [(&other[0], false), (&other[1], true)] {
            let url = Url::parse(url).unwrap();
            let (_, problem) = resolve(
                &reqwest::Client::new(),
                &url,
                endpoint_on_loopback,
                &assertion(),
                &mut cache,
                LOOKUP_BUDGET,
            )
            .await;
            assert!(
                matches!(&problem, Some(AliasError::NotAws { host }) if host == "127.0.0.1"),
                "{url}: {problem:?}"
            );
        }
        // `resolve` returned, so any connection it made is queued: there is none.
        let accepted = listener.accept();
        assert!(
            matches!(&accepted, Err(err) if err.kind() == std::io::ErrorKind::WouldBlock),
            "nothing may reach a page that is not AWS's: {accepted:?}"
        );

        for aws in [
            "https://signin.aws.amazon.com/saml",
            "https://eu-west-1.signin.aws.amazon.com/saml",
            "https://signin.amazonaws-us-gov.com/saml",
        ] {
            assert!(is_alias_page(&Url::parse(aws).unwrap(), false), "{aws}");
        }
        for not_aws in [
            "https://signin.aws.amazon.com.evil.example/saml",
            "https://sts.corp.example/saml",
            "https://signin.aws.amazon.com/federation",
        ] {
            assert!(
                !is_alias_page(&Url::parse(not_aws).unwrap(), true),
                "{not_aws}"
            );
        }
    }

    #[tokio::test]
    async fn plain_http_is_refused_beyond_loopback() {
        let url = Url::parse("http://signin.example.com/saml").unwrap();
        let err = fetch(&reqwest::Client::new(), &url, &assertion(), LOOKUP_BUDGET)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AliasError::InsecureDestination { .. }),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("PHNhbWxw"),
            "the assertion never appears in messages"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_sentence_without_the_assertion() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/saml", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let err = fetch(&reqwest::Client::new(), &url, &assertion(), LOOKUP_BUDGET)
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("account ids are shown instead"),
            "{message}"
        );
        assert!(!message.contains("PHNhbWxw"), "{message}");
    }
}
