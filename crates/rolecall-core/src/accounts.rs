//! AWS account names: the aliases read from the AWS sign-in page that the assertion names
//! ([`sign_in_page`], in each layout AWS has served), cached per account id so that a slow or
//! failing lookup never holds up a sign-in, and the names a person gives accounts in the
//! settings (`[preferences.account_names]`).
//!
//! This module never fails a sign-in: a lookup that errs, takes longer than its budget or finds
//! a page it cannot read falls back to the cache, then to the settings, then to bare account
//! ids. It never decides which roles exist: those come from the assertion alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::partition::Partition;
use crate::saml::{RolePair, roles_by_account};
use crate::secrets::Sensitive;
use crate::store::{JsonFile, StoreError};

pub mod sign_in_page;

pub use self::sign_in_page::{Layout, PageAccounts, SignInPage};

/// How long a sign-in may wait for aliases before going on without them.
pub const LOOKUP_BUDGET: Duration = Duration::from_secs(3);

/// Account id → alias (or name).
pub type Aliases = BTreeMap<String, String>;

/// Where an account's name came from, so the settings window can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NameSource {
    /// The account's alias, read from AWS's sign-in page at this sign-in.
    Page,
    /// The alias an earlier sign-in read from AWS's page (the alias cache).
    Cache,
    /// The name the person gave the account in `[preferences.account_names]`.
    Settings,
    /// Nothing names the account: its id stands for it.
    #[default]
    None,
}

/// One AWS account of an assertion, with the roles it grants there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
    /// Where `alias` came from; [`NameSource::None`] when there is none.
    pub alias_source: NameSource,
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

/// Everything that can name an account, best first: AWS's page at this sign-in, the cache of
/// earlier ones, the person's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountNames {
    /// What AWS's page said at this sign-in; empty when it was not read.
    pub page: PageAccounts,
    /// Aliases earlier sign-ins read ([`AliasCache`]).
    pub cache: Aliases,
    /// `[preferences.account_names]`.
    pub settings: Aliases,
}

impl AccountNames {
    /// The names known without a lookup: the cache's, then the settings'.
    pub fn known(cache: &AliasCache, settings: &Aliases) -> Self {
        Self {
            page: PageAccounts::new(),
            cache: cache.all().clone(),
            settings: settings.clone(),
        }
    }

    /// The account's name and where it came from. An account the page lists without an alias
    /// has none at AWS: an alias cached before is stale, and the settings' name (if any) is used.
    pub fn name_of(&self, account_id: &str) -> (Option<&str>, NameSource) {
        let from_aws = match self.page.get(account_id) {
            Some(Some(alias)) => Some((alias, NameSource::Page)),
            Some(None) => None,
            None => self
                .cache
                .get(account_id)
                .map(|alias| (alias, NameSource::Cache)),
        };
        match from_aws.or_else(|| {
            self.settings
                .get(account_id)
                .map(|name| (name, NameSource::Settings))
        }) {
            Some((name, source)) => (Some(name.as_str()), source),
            None => (None, NameSource::None),
        }
    }

    /// Account id → name for every account named anywhere, as [`Self::name_of`] picks them:
    /// what profile name templates and browser commands fill `{account_alias}` with.
    pub fn to_aliases(&self) -> Aliases {
        let ids = self
            .page
            .keys()
            .chain(self.cache.keys())
            .chain(self.settings.keys());
        ids.filter_map(|id| Some((id.clone(), self.name_of(id).0?.to_owned())))
            .collect()
    }
}

/// Groups roles by account, accounts sorted by name (accounts without one after, by id), roles
/// by name, so menus read the same at every sign-in.
pub fn group(roles: &[RolePair], names: &AccountNames) -> Vec<Account> {
    let mut accounts: Vec<Account> = roles_by_account(roles)
        .into_iter()
        .map(|(id, roles)| {
            let mut roles: Vec<RolePair> = roles.into_iter().cloned().collect();
            roles.sort_by(|a, b| a.role_name().cmp(b.role_name()).then(a.cmp(b)));
            let (alias, alias_source) = names.name_of(id);
            Account {
                id: id.to_owned(),
                alias: alias.map(str::to_owned),
                alias_source,
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

pub(crate) use self::sign_in_page::is_account_id;

/// Posts the assertion to the sign-in page named by its Destination and reads the aliases.
/// A page in neither of AWS's layouts is [`AliasError::UnknownPage`].
///
/// `http://` destinations are only followed to loopback hosts (the simulator and tests): the
/// assertion is a credential and never crosses a network in the clear.
pub async fn fetch(
    client: &reqwest::Client,
    destination: &Url,
    saml_response: &Sensitive<String>,
    budget: Duration,
) -> Result<SignInPage, AliasError> {
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
    sign_in_page::parse(&body).ok_or(AliasError::UnknownPage { host })
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
    #[error(
        "The AWS sign-in page at {host} did not list account names in a way Rolecall knows, so \
         names from earlier sign-ins or your settings are shown, or account ids. AWS may have \
         changed the page: a newer Rolecall may read it."
    )]
    UnknownPage { host: String },
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

    /// Keeps what a lookup found and saves the file if anything changed, keeping what other
    /// Rolecalls saved meanwhile. An account the page lists without an alias has none any more:
    /// its old alias is forgotten.
    pub fn remember(&mut self, found: &PageAccounts) -> Result<(), StoreError> {
        if found
            .iter()
            .all(|(id, alias)| self.aliases.get(id) == alias.as_ref())
        {
            return Ok(());
        }
        self.aliases = self.file.update(|aliases| {
            for (id, alias) in found {
                match alias {
                    Some(alias) => aliases.insert(id.clone(), alias.clone()),
                    None => aliases.remove(id),
                };
            }
            Ok::<_, StoreError>(aliases.clone())
        })?;
        Ok(())
    }
}

/// Whether the assertion may be posted to `destination` to read account names: AWS's own
/// `/saml` page, in any partition, or for an endpoint on this computer (the demo and the tests)
/// the simulator's `…/saml` on loopback.
pub fn is_alias_page(destination: &Url, endpoint_on_loopback: bool) -> bool {
    Partition::from_saml_destination(destination.as_str()).is_some()
        || crate::partition::is_loopback_stand_in(destination, endpoint_on_loopback)
}

/// Reads the aliases at `destination` when it is an alias page ([`is_alias_page`]) within
/// `budget`, and adds them to the cache; returns every name known (the page's, the cache's and
/// `settings`', the person's `[preferences.account_names]`) and what went wrong, if anything,
/// for the caller to show or log.
pub async fn resolve(
    client: &reqwest::Client,
    destination: &Url,
    endpoint_on_loopback: bool,
    saml_response: &Sensitive<String>,
    cache: &mut AliasCache,
    settings: &Aliases,
    budget: Duration,
) -> (AccountNames, Option<AliasError>) {
    if !is_alias_page(destination, endpoint_on_loopback) {
        let host = destination.host_str().unwrap_or_default().to_owned();
        return (
            AccountNames::known(cache, settings),
            Some(AliasError::NotAws { host }),
        );
    }
    match fetch(client, destination, saml_response, budget).await {
        Ok(page) => {
            tracing::debug!(layout = ?page.layout, accounts = page.accounts.len(), "read the AWS sign-in page");
            if let Err(err) = cache.remember(&page.accounts) {
                tracing::warn!("could not save the account alias cache: {err}");
            }
            let names = AccountNames {
                page: page.accounts,
                ..AccountNames::known(cache, settings)
            };
            (names, None)
        }
        Err(err) => (AccountNames::known(cache, settings), Some(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const NEXT_JS: &str = include_str!("../tests/fixtures/aws_signin/nextjs.html");
    const LEGACY: &str = include_str!("../tests/fixtures/aws_signin/legacy.html");
    const BROKEN_NEXT_JS: &str =
        include_str!("../tests/fixtures/aws_signin/nextjs-broken-base64.html");
    const RELABELLED_LEGACY: &str =
        include_str!("../tests/fixtures/aws_signin/legacy-changed-label.html");

    fn pair(account: &str, role: &str) -> RolePair {
        RolePair {
            role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            principal_arn: format!("arn:aws:iam::{account}:saml-provider/ADFS"),
        }
    }

    fn aliases(entries: &[(&str, &str)]) -> Aliases {
        entries
            .iter()
            .map(|(id, name)| ((*id).to_owned(), (*name).to_owned()))
            .collect()
    }

    #[test]
    fn accounts_sort_by_alias_then_id_and_roles_by_name() {
        let roles = vec![
            pair("999999999999", "Zeta"),
            pair("111111111111", "ReadOnly"),
            pair("222222222222", "Admin"),
            pair("111111111111", "Admin"),
        ];
        let names = AccountNames {
            cache: aliases(&[("111111111111", "prod"), ("222222222222", "Dev")]),
            ..AccountNames::default()
        };
        let accounts = group(&roles, &names);
        let labels: Vec<String> = accounts.iter().map(Account::label).collect();
        assert_eq!(
            labels,
            ["Dev (222222222222)", "prod (111111111111)", "999999999999"],
            "aliases sort case-insensitively; accounts without one come last"
        );
        let prod: Vec<&str> = accounts[1].roles.iter().map(RolePair::role_name).collect();
        assert_eq!(prod, ["Admin", "ReadOnly"]);
    }

    /// The page wins, then the cache, then the person's settings, then the id; an account the
    /// page lists by id alone has no alias at AWS, so a cached one is stale.
    #[test]
    fn names_come_from_the_page_then_the_cache_then_the_settings() {
        let names = AccountNames {
            page: PageAccounts::from([
                ("111111111111".to_owned(), Some("from-page".to_owned())),
                ("222222222222".to_owned(), None),
            ]),
            cache: aliases(&[
                ("111111111111", "old-alias"),
                ("222222222222", "removed-alias"),
                ("333333333333", "cached"),
            ]),
            settings: aliases(&[
                ("111111111111", "Mine"),
                ("222222222222", "Sandbox"),
                ("333333333333", "Mine too"),
                ("444444444444", "Only mine"),
            ]),
        };
        assert_eq!(
            names.name_of("111111111111"),
            (Some("from-page"), NameSource::Page)
        );
        assert_eq!(
            names.name_of("222222222222"),
            (Some("Sandbox"), NameSource::Settings),
            "AWS says the account has no alias: the settings name it, not the stale cache"
        );
        assert_eq!(
            names.name_of("333333333333"),
            (Some("cached"), NameSource::Cache)
        );
        assert_eq!(
            names.name_of("444444444444"),
            (Some("Only mine"), NameSource::Settings)
        );
        assert_eq!(names.name_of("555555555555"), (None, NameSource::None));
        assert_eq!(
            names.to_aliases(),
            aliases(&[
                ("111111111111", "from-page"),
                ("222222222222", "Sandbox"),
                ("333333333333", "cached"),
                ("444444444444", "Only mine"),
            ]),
            "profile names use the same choice"
        );

        let roles = [pair("444444444444", "Admin"), pair("555555555555", "Admin")];
        let accounts = group(&roles, &names);
        let sources: Vec<(&str, NameSource)> = accounts
            .iter()
            .map(|account| (account.id.as_str(), account.alias_source))
            .collect();
        assert_eq!(
            sources,
            [
                ("444444444444", NameSource::Settings),
                ("555555555555", NameSource::None)
            ]
        );
        assert_eq!(
            serde_json::to_value(&accounts[0]).unwrap()["alias_source"],
            "settings",
            "front ends get the source as a word"
        );
    }

    #[tokio::test]
    async fn the_cache_forgets_an_alias_the_page_no_longer_shows() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = AliasCache::load(dir.path()).unwrap();
        cache
            .remember(&PageAccounts::from([
                ("111111111111".to_owned(), Some("prod".to_owned())),
                ("222222222222".to_owned(), Some("old".to_owned())),
            ]))
            .unwrap();
        cache
            .remember(&PageAccounts::from([("222222222222".to_owned(), None)]))
            .unwrap();
        let reloaded = AliasCache::load(dir.path()).unwrap();
        assert_eq!(reloaded.all(), &aliases(&[("111111111111", "prod")]));
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

    /// What a sign-in's lookup at `page` gives, with `cached` in the alias cache and
    /// `settings` as the person's `[preferences.account_names]`; the cache as saved after.
    async fn look_up(
        page: &'static str,
        cached: &str,
        settings: &Aliases,
    ) -> (AccountNames, Option<AliasError>, AliasCache) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(AliasCache::FILE_NAME), cached).unwrap();
        let url = serve_once(page, Duration::ZERO).await;
        let mut cache = AliasCache::load(dir.path()).unwrap();
        let (names, problem) = resolve(
            &reqwest::Client::new(),
            &url,
            true,
            &assertion(),
            &mut cache,
            settings,
            LOOKUP_BUDGET,
        )
        .await;
        (names, problem, AliasCache::load(dir.path()).unwrap())
    }

    #[tokio::test]
    async fn lookup_reads_either_layout_and_saves_the_cache() {
        for (page, layout) in [(NEXT_JS, "Next.js"), (LEGACY, "legacy")] {
            let (names, problem, saved) =
                look_up(page, r#"{"444455556666":"renamed-since"}"#, &Aliases::new()).await;
            assert!(problem.is_none(), "{layout}: {problem:?}");
            assert_eq!(
                names.name_of("111122223333"),
                (Some("prod-main"), NameSource::Page),
                "{layout}"
            );
            assert_eq!(
                names.name_of("444455556666"),
                (None, NameSource::None),
                "{layout}: the page lists the account without alias"
            );
            assert_eq!(
                saved.get("111122223333"),
                Some("prod-main"),
                "{layout}: the cache is saved"
            );
            assert_eq!(saved.get("444455556666"), None, "{layout}");
        }
    }

    /// A page AWS changed gives no names: the cache and the settings name the accounts, and the
    /// problem says the page was not understood.
    #[tokio::test]
    async fn a_changed_page_falls_back_to_the_cache_then_the_settings() {
        let settings = aliases(&[("444455556666", "audit"), ("111122223333", "Mine")]);
        for twin in [BROKEN_NEXT_JS, RELABELLED_LEGACY] {
            let (names, problem, saved) =
                look_up(twin, r#"{"111122223333":"cached-name"}"#, &settings).await;
            assert!(
                matches!(&problem, Some(AliasError::UnknownPage { host }) if host == "127.0.0.1"),
                "{problem:?}"
            );
            assert_eq!(
                names.name_of("111122223333"),
                (Some("cached-name"), NameSource::Cache)
            );
            assert_eq!(
                names.name_of("444455556666"),
                (Some("audit"), NameSource::Settings)
            );
            assert_eq!(names.name_of("777788889999"), (None, NameSource::None));
            assert_eq!(
                saved.all(),
                &aliases(&[("111122223333", "cached-name")]),
                "nothing is learnt from a page that was not understood"
            );
        }
    }

    #[tokio::test]
    async fn a_slow_page_falls_back_to_the_cache_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(AliasCache::FILE_NAME),
            r#"{"111122223333":"cached-name"}"#,
        )
        .unwrap();
        let url = serve_once(NEXT_JS, Duration::from_secs(30)).await;
        let mut cache = AliasCache::load(dir.path()).unwrap();
        let started = crate::clock::monotonic();
        let budget = Duration::from_millis(300);
        let (names, problem) = resolve(
            &reqwest::Client::new(),
            &url,
            true,
            &assertion(),
            &mut cache,
            &Aliases::new(),
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
            names.name_of("111122223333"),
            (Some("cached-name"), NameSource::Cache)
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
                &Aliases::new(),
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
