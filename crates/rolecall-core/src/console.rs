//! "Open console": a one-click AWS Management Console sign-in for a profile's temporary
//! credentials, through AWS's federation endpoint.
//!
//! This module owns the two federation calls (`getSigninToken`, then the `login` URL), the
//! console destination per partition and region, and the logout-then-login URL for a browser
//! already signed in to another account. It never opens a browser (the caller does), never logs
//! a URL with its query (the login URL carries a `SigninToken`, a 15-minute secret: it lives in
//! [`Sensitive`] and logs use [`http::redact`]), and never reads the environment itself (the
//! overrides come in through an [`Environment`]).
//!
//! The rules, from the IAM User Guide ("Enable custom identity broker access to the AWS
//! console", `id_roles_providers_enable-console-custom-url`):
//! - `Session` is the URL-encoded JSON `{"sessionId","sessionKey","sessionToken"}` of
//!   temporary credentials; long-term keys cannot be federated.
//! - `SessionDuration` (900..=43200 seconds) is only for credentials from an `AssumeRole*`
//!   call; with `GetFederationToken` credentials it makes the call fail. Without it, the console
//!   session lasts as long as the credentials do, which is what Rolecall wants by default: the
//!   console ends when the profile does, and the person renews both at once.
//! - The login URL is valid for 15 minutes after it is made.

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use crate::aws_files::StoredCredentials;
use crate::browser_command::{BrowserCommand, ConsoleBrowser};
use crate::http::{self, HttpError, Network};
use crate::partition::{self, Partition, is_region_name};
use crate::paths::{AppPaths, Environment};
use crate::registry::Registry;
use crate::secrets::{Sensitive, mask_access_key};
use crate::settings::{Endpoint, Preferences, Settings, SettingsError};
use crate::store::StoreError;

/// Overrides the federation endpoint (`https://<the partition's sign-in host>/federation`),
/// e.g. for a private sign-in endpoint or a test's simulator.
pub const SIGNIN_ENDPOINT_VAR: &str = "ROLECALL_SIGNIN_ENDPOINT";
/// Overrides the console page the login lands on (`?region=` is added), e.g. the simulator's
/// stand-in console for the demo.
pub const CONSOLE_ENDPOINT_VAR: &str = "ROLECALL_CONSOLE_ENDPOINT";

/// Who made the login URL: AWS shows it to the person when the console session ends, as the
/// place to sign in again.
pub const ISSUER: &str = "https://github.com/rolecall-app/rolecall";

/// The range of `SessionDuration` AWS accepts: the same as STS's for a role's session.
pub const SESSION_DURATION_SECS: std::ops::RangeInclusive<u32> = crate::sts::SESSION_DURATION_SECS;

/// How long AWS honours a login URL after `getSigninToken`.
pub const SIGNIN_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The User-Agent of the federation calls.
pub const USER_AGENT: &str = concat!("Rolecall/", env!("CARGO_PKG_VERSION"));

/// Bytes of an error body shown to the person; AWS answers errors with whole HTML pages.
const ERROR_BODY_SHOWN: usize = 300;

/// Where the federation calls go and where the login lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://<signin host>/federation`, or [`SIGNIN_ENDPOINT_VAR`].
    pub federation: Url,
    /// [`CONSOLE_ENDPOINT_VAR`], when set; otherwise the partition's console.
    pub console: Option<Url>,
}

impl Endpoints {
    /// The partition's endpoints, unless the environment overrides them. An override must be
    /// `https`, or `http` to this machine: the federation call carries the credentials.
    /// Where AWS offers no console federation ([`Partition::offers_console_federation`]), only
    /// an override can open the console.
    pub fn for_partition(partition: Partition, env: &Environment) -> Result<Self, ConsoleError> {
        let federation = match env.var(SIGNIN_ENDPOINT_VAR).map(str::trim) {
            Some(raw) => parse_override(SIGNIN_ENDPOINT_VAR, raw)?,
            None if !partition.offers_console_federation() => {
                return Err(ConsoleError::NotOffered { partition });
            }
            None => Url::parse(&partition.federation_url()).map_err(|err| ConsoleError::Bug {
                detail: err.to_string(),
            })?,
        };
        let console = env
            .var(CONSOLE_ENDPOINT_VAR)
            .map(|raw| parse_override(CONSOLE_ENDPOINT_VAR, raw.trim()))
            .transpose()?;
        Ok(Self {
            federation,
            console,
        })
    }
}

fn parse_override(name: &'static str, raw: &str) -> Result<Url, ConsoleError> {
    match Url::parse(raw) {
        Ok(url) if http::is_secure_target(&url) && url.host_str().is_some() => Ok(url),
        _ => Err(ConsoleError::BadOverride {
            name,
            value: raw.to_owned(),
        }),
    }
}

/// The browser that opens the console of `role_arn` (an IAM role ARN), if the person chose
/// one: the role's own or its account's in `[preferences]`, else the endpoint's
/// `console_browser` (`endpoint`: the endpoint the role was signed in through, if known). `None`
/// leaves it to the desktop's default browser.
pub fn browser_of(
    preferences: &Preferences,
    endpoint: Option<&Endpoint>,
    role_arn: &str,
    alias: Option<&str>,
) -> Result<Option<ConsoleBrowser>, ConsoleError> {
    let Some((account_id, role)) = account_and_role(role_arn) else {
        return Ok(None);
    };
    let template = preferences
        .console_browser_for(role_arn, account_id)
        .or_else(|| endpoint.and_then(|endpoint| endpoint.console_browser.as_deref()));
    let Some(template) = template else {
        return Ok(None);
    };
    let command = BrowserCommand::parse(template).map_err(|reason| {
        SettingsError::Rejected(crate::settings::Problem::ConsoleBrowser {
            place: format!("for {role_arn}"),
            template: template.to_owned(),
            reason,
        })
    })?;
    Ok(Some(ConsoleBrowser {
        command,
        account_id: account_id.to_owned(),
        account_alias: alias.unwrap_or(account_id).to_owned(),
        role: role.to_owned(),
    }))
}

/// The account id and role name of a role ARN (`arn:<p>:iam::<id>:role/<path/>Name`).
fn account_and_role(role_arn: &str) -> Option<(&str, &str)> {
    let mut fields = role_arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (!account.is_empty() && !name.is_empty()).then_some((account, name))
}

/// The IAM role ARN behind an assumed-role ARN
/// (`arn:<p>:sts::<id>:assumed-role/<name>/<session>` → `arn:<p>:iam::<id>:role/<name>`), for a
/// profile Rolecall did not write. The role's path is not in the assumed-role ARN.
pub fn role_of_assumed_role(arn: &str) -> Option<String> {
    let mut fields = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("sts"), Some(""), Some(account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    (!name.is_empty()).then(|| format!("arn:{partition}:iam::{account}:role/{name}"))
}

/// The network the federation call of `profile` crosses: the CA file and proxy of the endpoint
/// Rolecall wrote the profile from (behind a company's TLS inspection or proxy, AWS is reached
/// the same way as the IdP), else the system's.
pub fn network_of_profile(paths: &AppPaths, profile: &str) -> Result<Network, ConsoleError> {
    let registry = Registry::load(&paths.config_dir)?;
    let Some(source) = registry.get(profile) else {
        return Ok(Network::default());
    };
    let settings = Settings::load(paths)?;
    Ok(source
        .endpoint(&settings.endpoints)
        .map_or_else(Network::default, |endpoint| endpoint.network()))
}

/// One console sign-in to make.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub credentials: &'a StoredCredentials,
    /// The profile the credentials come from, for messages.
    pub profile: &'a str,
    pub partition: Partition,
    /// The console's region; the partition's default region when `None`.
    pub region: Option<&'a str>,
    /// The console session's length; `None` (recommended) makes it end with the credentials.
    pub session_duration: Option<u32>,
    pub now: OffsetDateTime,
}

/// The partition credentials belong to: their assumed-role ARN's, else the region's, else `aws`.
pub fn partition_of(credentials: &StoredCredentials, region: Option<&str>) -> Partition {
    if let Some(partition) = credentials
        .principal_arn
        .as_deref()
        .and_then(partition::partition_of_arn)
    {
        return partition;
    }
    region.map_or(Partition::Aws, Partition::of_region)
}

/// The console's home page in `region`.
///
/// In `aws`, the regional host (`https://eu-west-1.<console host>/`) is where the console
/// lives since AWS moved it to per-region endpoints; the global host only redirects there. In
/// the other partitions, AWS's own documentation links both the global host with `?region=` and
/// regional hosts, not consistently, so Rolecall uses the global host, which exists in every
/// case and picks the region from the query ([`Partition::console_host_in`]).
pub fn destination(
    partition: Partition,
    region: &str,
    console_override: Option<&Url>,
) -> Result<Url, ConsoleError> {
    if !is_region_name(region) {
        return Err(ConsoleError::BadRegion {
            region: region.to_owned(),
        });
    }
    let mut url = match console_override {
        Some(url) => url.clone(),
        None => {
            let host = partition.console_host_in(region);
            Url::parse(&format!("https://{host}/console/home")).map_err(|err| {
                ConsoleError::Bug {
                    detail: err.to_string(),
                }
            })?
        }
    };
    url.query_pairs_mut().append_pair("region", region);
    Ok(url)
}

/// The `Session` parameter: the credentials as AWS's federation endpoint reads them.
fn session_json(credentials: &StoredCredentials, token: &Sensitive<String>) -> Sensitive<String> {
    Sensitive::new(
        serde_json::json!({
            "sessionId": credentials.access_key_id,
            "sessionKey": credentials.secret_access_key.expose(),
            "sessionToken": token.expose(),
        })
        .to_string(),
    )
}

#[derive(Deserialize)]
struct SigninTokenAnswer {
    #[serde(rename = "SigninToken")]
    signin_token: String,
}

/// Exchanges the credentials for a sign-in token and returns the login URL that opens the
/// console with them (valid for [`SIGNIN_TOKEN_LIFETIME`]).
pub async fn signin_url(
    client: &reqwest::Client,
    endpoints: &Endpoints,
    sign_in: &SignIn<'_>,
) -> Result<Sensitive<Url>, ConsoleError> {
    let credentials = sign_in.credentials;
    let profile = sign_in.profile.to_owned();
    let Some(token) = &credentials.session_token else {
        return Err(ConsoleError::LongTermKeys {
            profile,
            key: mask_access_key(&credentials.access_key_id),
        });
    };
    if let Some(expiration) = credentials.expiration
        && expiration <= sign_in.now
    {
        return Err(ConsoleError::Expired { profile });
    }
    if let Some(seconds) = sign_in.session_duration {
        if !SESSION_DURATION_SECS.contains(&seconds) {
            return Err(ConsoleError::SessionDuration { seconds });
        }
        // GetFederationToken credentials (a `federated-user` principal) fail with it.
        if credentials
            .principal_arn
            .as_deref()
            .is_some_and(|arn| arn.contains(":federated-user/"))
        {
            return Err(ConsoleError::SessionDurationNotAllowed { profile });
        }
    }
    let region = sign_in
        .region
        .unwrap_or_else(|| sign_in.partition.default_region());
    let destination = destination(sign_in.partition, region, endpoints.console.as_ref())?;
    let federation = &endpoints.federation;
    if !http::is_secure_target(federation) {
        return Err(ConsoleError::BadOverride {
            name: SIGNIN_ENDPOINT_VAR,
            value: http::redact(federation),
        });
    }

    let mut request = federation.clone();
    {
        let session = session_json(credentials, token);
        let mut query = request.query_pairs_mut();
        query.append_pair("Action", "getSigninToken");
        if let Some(seconds) = sign_in.session_duration {
            query.append_pair("SessionDuration", &seconds.to_string());
        }
        query.append_pair("Session", session.expose());
    }
    tracing::debug!(
        endpoint = %http::redact(federation),
        key = %mask_access_key(&credentials.access_key_id),
        "asking for a console sign-in token"
    );
    let answer = client
        .get(request)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| network_error(federation, &err))?;
    let status = answer.status();
    let body = answer
        .text()
        .await
        .map_err(|err| network_error(federation, &err))?;
    if !status.is_success() {
        return Err(ConsoleError::Refused {
            endpoint: http::redact(federation),
            profile,
            status: status.as_u16(),
            message: error_message(&body),
        });
    }
    let token = serde_json::from_str::<SigninTokenAnswer>(&body)
        .ok()
        .map(|answer| Sensitive::new(answer.signin_token))
        .filter(|token| !token.expose().is_empty())
        .ok_or_else(|| ConsoleError::Unexpected {
            endpoint: http::redact(federation),
        })?;

    let mut login = federation.clone();
    login
        .query_pairs_mut()
        .append_pair("Action", "login")
        .append_pair("Issuer", ISSUER)
        .append_pair("Destination", destination.as_str())
        .append_pair("SigninToken", token.expose());
    Ok(Sensitive::new(login))
}

/// A URL that first signs the browser out of the console (which keeps one session per browser
/// unless multi-session is on), then follows the login URL.
///
/// AWS documents only the sign-out itself (`https://<sign-in host>/oauth?Action=logout`,
/// Knowledge Center "sign-out-account"); its `redirect_uri` is honoured only towards AWS's own
/// sign-in host, and in `aws` only on the regional `us-east-1.<sign-in host>` (the global host
/// ignores it and shows the console's start page: [`Partition::logout_signin_host`]). So, as aws-vault's
/// `--auto-logout`, Leapp and Janus do, the login moves to that regional host (the sign-in token
/// is valid there) and the sign-out is asked of the same host. In the other partitions, and at an
/// overridden endpoint, the sign-out is asked of the login URL's own host; if AWS
/// ignores `redirect_uri` there, the person lands on the console's start page, signed out, and
/// opening the console again signs in.
pub fn logout_then_login(login: &Sensitive<Url>) -> Sensitive<Url> {
    let mut login = login.expose().clone();
    if let Some(partition) = login.host_str().and_then(Partition::of_signin_host) {
        // Infallible for a host name: the URL already has one.
        let _ = login.set_host(Some(&partition.logout_signin_host()));
    }
    let mut logout = login.clone();
    logout.set_path("/oauth");
    logout.set_query(None);
    logout.set_fragment(None);
    logout
        .query_pairs_mut()
        .append_pair("Action", "logout")
        .append_pair("redirect_uri", login.as_str());
    Sensitive::new(logout)
}

/// What to show of an error body: the first `<h1>` of an HTML page (AWS's error pages put the
/// message there), else the text without tags, shortened.
fn error_message(body: &str) -> String {
    let document = crate::html::Document::scan(body);
    let text = document
        .text_of_tag("h1")
        .unwrap_or_else(|| document.text());
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut text = words.join(" ");
    if text.len() > ERROR_BODY_SHOWN {
        let mut cut = ERROR_BODY_SHOWN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    if text.is_empty() {
        "no message".to_owned()
    } else {
        text
    }
}

fn network_error(endpoint: &Url, err: &reqwest::Error) -> ConsoleError {
    let endpoint = http::redact(endpoint);
    match http::classify(err) {
        http::RequestFailure::Untrusted(_) => ConsoleError::Tls { endpoint },
        failure => ConsoleError::Network {
            endpoint,
            problem: failure.describe(),
        },
    }
}

/// Why the console could not be opened. No message holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(
        "There are no credentials for profile \"{profile}\" in {}. Create them with rolecall \
         login --profile {profile} ...",
        file.display()
    )]
    NoCredentials {
        profile: String,
        file: std::path::PathBuf,
    },
    #[error(
        "The credentials of profile \"{profile}\" have expired. Renew the profile (rolecall \
         login --profile {profile} ...) or sign in again from the tray, then open the console."
    )]
    Expired { profile: String },
    #[error(
        "Profile \"{profile}\" holds long-term access keys ({key}) without a session token, and \
         AWS opens the console only for temporary credentials. Use a profile Rolecall wrote \
         with rolecall login, or sign in to the console with your IAM user's password."
    )]
    LongTermKeys { profile: String, key: String },
    #[error(
        "A console session of {seconds} seconds is not possible: AWS allows 900 (15 minutes) to \
         43200 (12 hours). Leave it out to make the console last as long as the credentials."
    )]
    SessionDuration { seconds: u32 },
    #[error(
        "The credentials of profile \"{profile}\" come from GetFederationToken, for which AWS \
         refuses a console session length. Leave the session length out."
    )]
    SessionDurationNotAllowed { profile: String },
    #[error(
        "\"{region}\" is not an AWS region name (like eu-west-1). Give the console's region with \
         --region, or set the profile's region in the AWS config file."
    )]
    BadRegion { region: String },
    #[error(
        "{name} is set to \"{value}\", which Rolecall cannot use: it must be an https URL (or \
         http to this machine). Fix or unset {name}."
    )]
    BadOverride { name: &'static str, value: String },
    #[error(
        "AWS's sign-in endpoint {endpoint} refused the credentials of profile \"{profile}\" \
         (HTTP {status}: {message}). They may have expired or been revoked: renew the profile \
         (rolecall login) and try again."
    )]
    Refused {
        endpoint: String,
        profile: String,
        status: u16,
        message: String,
    },
    #[error(
        "AWS's sign-in endpoint {endpoint} answered without a sign-in token. Try again; if it \
         keeps happening, check {SIGNIN_ENDPOINT_VAR} or your proxy."
    )]
    Unexpected { endpoint: String },
    #[error(
        "Rolecall does not trust the certificate of {endpoint}. If your network inspects TLS, \
         give your company's CA file to the endpoint in Settings."
    )]
    Tls { endpoint: String },
    #[error(
        "Rolecall could not reach AWS's sign-in endpoint {endpoint}: {problem}. Check your \
         network or proxy, then try again."
    )]
    Network {
        endpoint: String,
        problem: &'static str,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Records(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] crate::aws_files::AwsFilesError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(
        "AWS does not offer console sign-in through federation in the {partition} partition yet, \
         so Rolecall cannot open its console. Sign in to the console there the way your \
         organisation provides; the profiles Rolecall writes work as usual."
    )]
    NotOffered { partition: Partition },
    #[error("Rolecall could not build a console URL ({detail}). This is a bug: please report it.")]
    Bug { detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(token: Option<&str>, arn: Option<&str>) -> StoredCredentials {
        StoredCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE12".to_owned(),
            secret_access_key: Sensitive::new("secret".to_owned()),
            session_token: token.map(|t| Sensitive::new(t.to_owned())),
            expiration: None,
            principal_arn: arn.map(str::to_owned),
        }
    }

    #[test]
    fn the_console_follows_the_partition_and_region() {
        let cases = [
            (
                Partition::Aws,
                "eu-west-1",
                "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
            ),
            (
                Partition::AwsUsGov,
                "us-gov-west-1",
                "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
            ),
            (
                Partition::AwsCn,
                "cn-northwest-1",
                "https://console.amazonaws.cn/console/home?region=cn-northwest-1",
            ),
        ];
        for (partition, region, want) in cases {
            assert_eq!(
                destination(partition, region, None).unwrap().as_str(),
                want,
                "the {partition} console in {region}"
            );
        }
    }

    #[test]
    fn a_region_that_would_change_the_host_is_refused() {
        for bad in ["evil.example/x", "us-east-1.evil.example", "", "EU-WEST-1"] {
            assert!(
                matches!(
                    destination(Partition::Aws, bad, None),
                    Err(ConsoleError::BadRegion { .. })
                ),
                "{bad:?} must not become part of the console host"
            );
        }
    }

    #[test]
    fn the_console_override_keeps_its_url_and_gets_the_region() {
        let base = Url::parse("http://127.0.0.1:9/console").unwrap();
        assert_eq!(
            destination(Partition::Aws, "eu-west-1", Some(&base))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/console?region=eu-west-1"
        );
    }

    #[test]
    fn where_aws_offers_no_federation_only_an_override_opens_the_console() {
        let refused = Endpoints::for_partition(Partition::AwsEusc, &Environment::default());
        match refused {
            Err(err @ ConsoleError::NotOffered { .. }) => {
                assert!(err.to_string().contains("aws-eusc"), "{err}");
            }
            other => panic!("aws-eusc has no console federation: {other:?}"),
        }
        let env = Environment::default().with(SIGNIN_ENDPOINT_VAR, "https://signin.corp.example/f");
        assert_eq!(
            Endpoints::for_partition(Partition::AwsEusc, &env)
                .unwrap()
                .federation
                .as_str(),
            "https://signin.corp.example/f"
        );
        assert_eq!(
            destination(Partition::AwsEusc, "eusc-de-east-1", None)
                .unwrap()
                .as_str(),
            "https://console.amazonaws-eusc.eu/console/home?region=eusc-de-east-1"
        );
    }

    #[test]
    fn the_browser_is_the_roles_then_the_accounts_then_the_endpoints() {
        let admin = "arn:aws:iam::111122223333:role/team/Admin";
        let mut preferences = Preferences::default();
        let mut endpoint = Endpoint::new("corp", "sts.corp.example").unwrap();
        assert_eq!(
            browser_of(&preferences, Some(&endpoint), admin, None).unwrap(),
            None,
            "nothing chosen: the desktop's default browser"
        );
        endpoint.console_browser = Some("firefox -P {account_alias}".to_owned());
        let browser = browser_of(&preferences, Some(&endpoint), admin, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            browser.argv("file:///p.html"),
            (
                "firefox".to_owned(),
                vec![
                    "-P".to_owned(),
                    "111122223333".to_owned(),
                    "file:///p.html".to_owned()
                ]
            ),
            "without an alias, the account id names the profile"
        );
        preferences
            .console_browsers
            .insert("111122223333".to_owned(), "chromium {role}".to_owned());
        let browser = browser_of(&preferences, Some(&endpoint), admin, Some("corp-prod"))
            .unwrap()
            .unwrap();
        assert_eq!(browser.command.program(), "chromium", "the account's wins");
        assert_eq!(browser.role, "Admin", "the role's name, without its path");
        assert_eq!(browser.account_alias, "corp-prod");
        preferences
            .console_browsers
            .insert(admin.to_owned(), "brave".to_owned());
        let browser = browser_of(&preferences, Some(&endpoint), admin, None)
            .unwrap()
            .unwrap();
        assert_eq!(browser.command.program(), "brave", "the role's own wins");
    }

    #[test]
    fn assumed_role_arns_name_their_role() {
        assert_eq!(
            role_of_assumed_role("arn:aws-us-gov:sts::111122223333:assumed-role/Admin/alice")
                .as_deref(),
            Some("arn:aws-us-gov:iam::111122223333:role/Admin")
        );
        assert_eq!(
            role_of_assumed_role("arn:aws:iam::111122223333:user/bob"),
            None
        );
    }

    #[test]
    fn federation_follows_the_partition_unless_overridden() {
        let env = Environment::default();
        for partition in Partition::ALL
            .into_iter()
            .filter(|p| p.offers_console_federation())
        {
            let endpoints = Endpoints::for_partition(partition, &env).unwrap();
            assert_eq!(
                endpoints.federation.as_str(),
                format!("https://{}/federation", partition.signin_host()),
                "{partition}"
            );
            assert_eq!(endpoints.console, None);
        }
        let env = Environment::default().with(SIGNIN_ENDPOINT_VAR, "http://127.0.0.1:8/federation");
        assert_eq!(
            Endpoints::for_partition(Partition::AwsCn, &env)
                .unwrap()
                .federation
                .as_str(),
            "http://127.0.0.1:8/federation"
        );
    }

    #[test]
    fn an_override_that_would_send_credentials_in_the_clear_is_refused() {
        for bad in [
            "http://signin.corp.example/federation",
            "not a url",
            "file:///x",
        ] {
            let env = Environment::default().with(SIGNIN_ENDPOINT_VAR, bad);
            assert!(
                matches!(
                    Endpoints::for_partition(Partition::Aws, &env),
                    Err(ConsoleError::BadOverride { .. })
                ),
                "{bad:?} must not receive credentials"
            );
        }
    }

    #[test]
    fn the_partition_comes_from_the_arn_then_the_region() {
        let gov = stored(
            Some("t"),
            Some("arn:aws-us-gov:sts::111122223333:assumed-role/Admin/alice"),
        );
        assert_eq!(partition_of(&gov, Some("eu-west-1")), Partition::AwsUsGov);
        let unknown = stored(Some("t"), None);
        assert_eq!(partition_of(&unknown, Some("cn-north-1")), Partition::AwsCn);
        assert_eq!(
            partition_of(&unknown, Some("us-gov-east-1")),
            Partition::AwsUsGov
        );
        assert_eq!(partition_of(&unknown, None), Partition::Aws);
    }

    #[test]
    fn logout_first_moves_the_global_aws_login_to_us_east_1() {
        let login = Sensitive::new(
            Url::parse(
                "https://signin.aws.amazon.com/federation?Action=login&Issuer=x&SigninToken=tok",
            )
            .unwrap(),
        );
        let url = logout_then_login(&login).into_inner();
        assert_eq!(url.host_str(), Some("us-east-1.signin.aws.amazon.com"));
        assert_eq!(url.path(), "/oauth");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("Action".to_owned(), "logout".to_owned()));
        assert_eq!(
            pairs[1].1,
            "https://us-east-1.signin.aws.amazon.com/federation?Action=login&Issuer=x&SigninToken=tok",
            "the redirect is the login, on the host that honours redirect_uri"
        );
    }

    #[test]
    fn logout_first_stays_on_other_partitions_and_overrides() {
        for base in [
            "https://signin.amazonaws-us-gov.com/federation",
            "http://127.0.0.1:7/federation",
        ] {
            let login = Sensitive::new(Url::parse(&format!("{base}?Action=login")).unwrap());
            let url = logout_then_login(&login).into_inner();
            let origin = Url::parse(base).unwrap();
            assert_eq!(url.host_str(), origin.host_str(), "{base}");
            assert_eq!(url.port(), origin.port(), "{base}");
            assert!(
                url.as_str().contains("Action=logout&redirect_uri="),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn long_term_keys_and_expired_credentials_never_reach_the_network() {
        // An endpoint nobody listens on: reaching it would be a network error.
        let endpoints = Endpoints {
            federation: Url::parse("http://127.0.0.1:9/federation").unwrap(),
            console: None,
        };
        let client = reqwest::Client::new();
        let now = crate::clock::SystemClock.now();
        let long_term = stored(None, None);
        let sign_in = SignIn {
            credentials: &long_term,
            profile: "personal",
            partition: Partition::Aws,
            region: None,
            session_duration: None,
            now,
        };
        let err = signin_url(&client, &endpoints, &sign_in).await.unwrap_err();
        assert!(matches!(err, ConsoleError::LongTermKeys { .. }), "{err:?}");
        assert!(err.to_string().contains("ASIA…LE12"), "key masked: {err}");
        assert!(!err.to_string().contains("secret"), "{err}");

        let mut expired = stored(Some("t"), None);
        expired.expiration = Some(now - time::Duration::minutes(1));
        let sign_in = SignIn {
            credentials: &expired,
            ..sign_in
        };
        let err = signin_url(&client, &endpoints, &sign_in).await.unwrap_err();
        assert!(matches!(err, ConsoleError::Expired { .. }), "{err:?}");
        assert!(err.to_string().contains("Renew the profile"), "{err}");

        let fresh = stored(Some("t"), None);
        for seconds in [899, 43_201] {
            let sign_in = SignIn {
                credentials: &fresh,
                session_duration: Some(seconds),
                ..sign_in
            };
            let err = signin_url(&client, &endpoints, &sign_in).await.unwrap_err();
            assert!(
                matches!(err, ConsoleError::SessionDuration { .. }),
                "{seconds}: {err:?}"
            );
        }
        let federated = stored(
            Some("t"),
            Some("arn:aws:sts::111122223333:federated-user/bob"),
        );
        let sign_in = SignIn {
            credentials: &federated,
            session_duration: Some(3600),
            ..sign_in
        };
        let err = signin_url(&client, &endpoints, &sign_in).await.unwrap_err();
        assert!(
            matches!(err, ConsoleError::SessionDurationNotAllowed { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn error_pages_are_shown_by_their_heading() {
        let page = "<html><head><title>Error</title></head><body><h1>HTTP Status 400 - \
                    Invalid credentials parameter</h1><p>long text</p></body></html>";
        assert_eq!(
            error_message(page),
            "HTTP Status 400 - Invalid credentials parameter"
        );
        assert_eq!(
            error_message("plain <b>words</b>\n here"),
            "plain words here"
        );
        assert_eq!(error_message(""), "no message");
        assert!(error_message(&"é".repeat(400)).ends_with('…'));
    }
}
