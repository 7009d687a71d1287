//! Signing in to AD FS (or another SAML IdP): the conversation that ends in a SAML response.
//!
//! [`sign_in`] fetches the endpoint's IdP-initiated page and loops: it classifies each page
//! ([`page::classify`]), acts on it (posts the password, answers the passcode prompt, answers
//! integrated authentication's `401` with a Kerberos ticket), and stops at the auto-post page that
//! carries the SAML response. The number of steps is bounded, every redirect is followed by hand
//! (so `http` is refused beyond loopback at every hop), and a page it cannot classify ends in
//! [`Outcome::NeedsPerson`] with the URL for the webview, never in a guess.
//!
//! AD FS's single sign-on cookies (`MSISAuth*`) are kept per endpoint in the [`SecretStore`], so
//! the next sign-in within the IdP's session is silent; [`sign_out`] ends that session.
//!
//! This module never logs or returns a password, a cookie or an assertion outside
//! [`Sensitive`], and never reads the environment: the caller passes the password it has and the
//! source of MFA codes.

mod challenge;
mod conversation;
mod error;
pub mod page;
mod sso;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use url::Url;

pub use self::page::{ClaimsProvider, Form, Page, classify};
use crate::accounts::{self, AliasCache, AliasError};
use crate::http::{HttpError, Session, is_secure_target, redact};
use crate::negotiate::{NegotiateClient, NegotiateError};
use crate::ntlm::{NtlmClient, NtlmError};
use crate::saml::{self, Assertion, SamlError};
use crate::secrets::{SecretKind, SecretStore, SecretsError, Sensitive};
use crate::settings::{Endpoint, SignInMethod};

pub use self::error::{FailureKind, SignInError};
pub use self::sso::sign_out;
use self::sso::{read_secret, restore_cookies, save_sso_cookies, sso_cookie_url};
use self::transport::{host_of, request_error};

/// What AD FS treats as able to do integrated Windows authentication (its default
/// `WIASupportedUserAgents` list matches `Trident/7.0` and `Windows NT ... Edg`).
pub const WIA_USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko";
/// A browser-like agent AD FS does not send to integrated authentication, so it shows its form.
pub const FORMS_USER_AGENT: &str = concat!(
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Rolecall/",
    env!("CARGO_PKG_VERSION")
);

/// Pages one sign-in may go through (login, MFA, a few retries); real ones take 2 to 5.
const MAX_PAGES: usize = 12;
/// Redirects one page fetch may follow.
const MAX_REDIRECTS: usize = 10;
/// NTLM handshakes one sign-in starts before taking a refusal as final.
const MAX_NTLM_ROUNDS: u32 = 3;
const NTLM_LEG_PAUSE: Duration = Duration::from_millis(20);
/// Wrong passcodes Rolecall lets a person retry before giving up.
const MAX_PASSCODE_TRIES: u32 = 3;
/// How long the IdP may take to answer one whole sign-in, all its pages, redirects and
/// integrated-auth legs together. A slow or tarpitting IdP then holds the profile (and every
/// AWS CLI call waiting on it) no longer; the time a person takes to type a passcode does not
/// count.
pub const SIGN_IN_DEADLINE: Duration = Duration::from_secs(90);
/// Pages at least this large are read off the async workers: the classifier is linear, but an
/// 8 MiB page still takes a while.
const CLASSIFY_INLINE_BYTES: usize = 64 * 1024;
/// The largest page read. A 590-role auto-post page is about 130 KB; a response above the SAML
/// reader's own limit still fits, so it can be refused with its own message.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Where one-time passcodes come from: a prompt on a terminal, `ROLECALL_MFA_CODE`, the tray.
pub trait PasscodeSource: Send + Sync {
    /// A code for `prompt`, or `None` when there is nobody to ask.
    fn passcode(&self, prompt: &PasscodePrompt) -> Option<Sensitive<String>>;
}

/// What the IdP asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasscodePrompt {
    pub endpoint: String,
    /// The AD FS adapter (`AuthMethod`), e.g. `SecurIDv2Authentication`.
    pub adapter: String,
    /// The page's message after a wrong code.
    pub error: Option<String>,
    /// 1 for the first code, 2 after one was refused, ...
    pub attempt: u32,
}

/// No one to ask: every passcode prompt fails the sign-in with [`SignInError::PasscodeNeeded`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPasscodes;

impl PasscodeSource for NoPasscodes {
    fn passcode(&self, _prompt: &PasscodePrompt) -> Option<Sensitive<String>> {
        None
    }
}

/// One sign-in to do.
#[derive(Clone)]
pub struct SignIn<'a> {
    pub endpoint: &'a Endpoint,
    /// The password, when the caller has one (typed, `ROLECALL_PASSWORD`, stdin); otherwise the
    /// one stored for the endpoint is used.
    pub password: Option<Sensitive<String>>,
    pub secrets: Arc<dyn SecretStore>,
    pub passcodes: &'a dyn PasscodeSource,
}

impl std::fmt::Debug for SignIn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("endpoint", &self.endpoint.name)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

/// How a sign-in ended, when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    SignedIn(Box<SignedIn>),
    /// Only a person can go on, in the IdP's own pages (the webview).
    NeedsPerson {
        url: Url,
        reason: PersonNeeded,
    },
}

/// Why a sign-in needs the webview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonNeeded {
    /// The endpoint's method is the webview.
    WebviewMethod,
    /// The automatic method had neither a Kerberos ticket nor a stored password.
    NoSilentMethod,
    /// An MFA adapter that takes no passcode (push, phone call, FIDO2, Duo, ...).
    Mfa { adapter: String },
    /// A page Rolecall does not know.
    UnknownPage,
    /// AD FS took the password but it has expired or must be changed: its own page
    /// (`/adfs/portal/updatepassword`) changes it.
    PasswordExpired { username: String },
}

impl std::fmt::Display for PersonNeeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PersonNeeded::WebviewMethod => f.write_str("this endpoint signs in in a window"),
            PersonNeeded::NoSilentMethod => f.write_str(
                "there is no Kerberos ticket and no stored password to sign in with silently",
            ),
            PersonNeeded::Mfa { adapter } => write!(
                f,
                "the identity provider asks for a second factor ({adapter}) that only you can give"
            ),
            PersonNeeded::UnknownPage => {
                f.write_str("the identity provider showed a page Rolecall cannot fill in")
            }
            PersonNeeded::PasswordExpired { username } => write!(
                f,
                "the identity provider says the password of {username} has expired and must be \
                 changed: change it on the identity provider's page in the sign-in window, then \
                 store the new one in Settings → Endpoints"
            ),
        }
    }
}

/// A successful sign-in: the assertion and where it is to be posted.
#[derive(Debug)]
pub struct SignedIn {
    pub assertion: Assertion,
    /// Where the IdP's page would post the response (the AWS sign-in page), when it said.
    pub post_to: Option<Url>,
    /// How the person was authenticated, for the status line.
    pub via: SignedInVia,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInVia {
    /// The IdP's single sign-on session (stored cookies): nothing was asked.
    SingleSignOn,
    Kerberos,
    Password,
    /// Password and a one-time passcode.
    PasswordAndPasscode,
}

/// Signs in to `request.endpoint` and returns the SAML assertion, or says that a person is
/// needed, within [`SIGN_IN_DEADLINE`].
pub async fn sign_in(request: SignIn<'_>) -> Result<Outcome, SignInError> {
    sign_in_within(request, SIGN_IN_DEADLINE).await
}

/// [`sign_in`] with another deadline for the IdP's answers. When it passes, the error names the
/// request that was still waiting.
pub async fn sign_in_within(
    request: SignIn<'_>,
    deadline: Duration,
) -> Result<Outcome, SignInError> {
    let mut budget = Budget {
        deadline,
        left: deadline,
    };
    sign_in_steps(request, &mut budget).await
}

/// The IdP's time left in one sign-in.
#[derive(Debug)]
struct Budget {
    deadline: Duration,
    left: Duration,
}

/// Which request of the conversation is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SignOnPage,
    Redirect,
    HomeRealmForm,
    UsernameForm,
    LoginForm,
    PasscodeForm,
    Negotiate,
    Ntlm,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::SignOnPage => "the sign-in page",
            Step::Redirect => "a redirect of the sign-in",
            Step::HomeRealmForm => "the posted choice of claims provider",
            Step::UsernameForm => "the posted username (the first page of the sign-in)",
            Step::LoginForm => "the posted sign-in form (username and password)",
            Step::PasscodeForm => "the posted passcode",
            Step::Negotiate => "a Kerberos (Negotiate) sign-in step",
            Step::Ntlm => "an NTLM sign-in step",
        })
    }
}

async fn sign_in_steps(request: SignIn<'_>, budget: &mut Budget) -> Result<Outcome, SignInError> {
    let endpoint = request.endpoint;
    if endpoint.method == SignInMethod::Webview {
        return Ok(Outcome::NeedsPerson {
            url: endpoint.url.clone(),
            reason: PersonNeeded::WebviewMethod,
        });
    }
    let network = endpoint.network();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let sso_url = sso_cookie_url(&endpoint.url);
    // A keyring that cannot be read only costs the silent sign-in.
    match read_secret(&request.secrets, &endpoint.name, SecretKind::SsoCookies).await {
        Ok(Some(cookies)) => restore_cookies(&jar, &sso_url, &cookies),
        Ok(None) => {}
        Err(err) => tracing::warn!("could not read the single sign-on session: {err}"),
    }

    let attempts: &[Attempt] = match endpoint.method {
        SignInMethod::Auto => &[Attempt::Integrated, Attempt::Password],
        SignInMethod::Windows => &[Attempt::Integrated],
        SignInMethod::Forms => &[Attempt::Password],
        SignInMethod::Kerberos => &[Attempt::KerberosPassword],
        SignInMethod::Ntlm => &[Attempt::Ntlm],
        SignInMethod::Webview => &[],
    };

    let mut password = request.password.clone();
    let mut keyring_problem = None;
    for (index, attempt) in attempts.iter().enumerate() {
        let last = index + 1 == attempts.len();
        let user_agent = match attempt {
            Attempt::Integrated | Attempt::KerberosPassword | Attempt::Ntlm => WIA_USER_AGENT,
            Attempt::Password => FORMS_USER_AGENT,
        };
        if attempt.uses_password() && password.is_none() {
            match read_secret(&request.secrets, &endpoint.name, SecretKind::Password).await {
                Ok(stored) => password = stored,
                // Without a keyring there is no stored password; the message says both.
                Err(SignInError::Secrets(err)) => keyring_problem = Some(err.to_string()),
                Err(err) => return Err(err),
            }
        }
        let session = network.session_with_jar(user_agent, Arc::clone(&jar))?;
        let mut conversation = Conversation {
            endpoint,
            budget: &mut *budget,
            session: &session,
            attempt: *attempt,
            password: password.as_ref(),
            passcodes: request.passcodes,
            chosen_provider: None,
            posted_username: false,
            posted_password: false,
            passcode_tries: 0,
            used_kerberos: false,
            negotiate: None,
            ntlm: None,
            ntlm_rounds: 0,
        };
        let result = conversation.run().await.map_err(|err| match err {
            SignInError::NoPassword { endpoint, .. } => SignInError::NoPassword {
                endpoint,
                keyring: keyring_problem.clone(),
            },
            other => other,
        });
        let fall_through = !last && endpoint.method == SignInMethod::Auto;
        match result {
            Ok(Outcome::SignedIn(signed_in)) => {
                save_sso_cookies(&request.secrets, &endpoint.name, &jar, &sso_url).await;
                return Ok(Outcome::SignedIn(signed_in));
            }
            Ok(needs_person) => return Ok(needs_person),
            Err(SignInError::NoPassword { .. }) if endpoint.method == SignInMethod::Auto => {
                return Ok(Outcome::NeedsPerson {
                    url: endpoint.url.clone(),
                    reason: PersonNeeded::NoSilentMethod,
                });
            }
            Err(err) if fall_through && err.integrated_unavailable() => {
                tracing::info!(endpoint = %endpoint.name, "integrated sign-in not possible, trying the password: {err}");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(Outcome::NeedsPerson {
        url: endpoint.url.clone(),
        reason: PersonNeeded::NoSilentMethod,
    })
}

/// Reads the aliases of the assertion's accounts (at most [`accounts::LOOKUP_BUDGET`] long) and
/// groups its roles by account, each named by AWS's page, the cache or `account_names` (the
/// person's `[preferences.account_names]`), in that order.
pub async fn accounts_of(
    signed_in: &SignedIn,
    endpoint: &Endpoint,
    cache: &mut AliasCache,
    account_names: &accounts::Aliases,
) -> (Vec<accounts::Account>, Option<AliasError>) {
    // The page's action first, then the assertion's Destination: the first that is AWS's.
    let on_loopback = crate::http::is_loopback(&endpoint.url);
    let candidates: Vec<Url> = signed_in
        .post_to
        .iter()
        .cloned()
        .chain(
            signed_in
                .assertion
                .destination
                .as_deref()
                .and_then(|d| Url::parse(d).ok()),
        )
        .collect();
    let destination = candidates
        .iter()
        .find(|url| accounts::is_alias_page(url, on_loopback))
        .or(candidates.first())
        .cloned();
    let network = endpoint.network();
    let (names, problem) = match (destination, network.session(FORMS_USER_AGENT)) {
        (Some(destination), Ok(session)) => {
            accounts::resolve(
                &session.client,
                &destination,
                on_loopback,
                &signed_in.assertion.raw,
                cache,
                account_names,
                accounts::LOOKUP_BUDGET,
            )
            .await
        }
        _ => (accounts::AccountNames::known(cache, account_names), None),
    };
    (accounts::group(&signed_in.assertion.roles, &names), problem)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Integrated Windows authentication: Kerberos through Negotiate.
    Integrated,
    /// The IdP's form with the username and password.
    Password,
    /// Kerberos with the username and password (no ticket cache needed).
    KerberosPassword,
    /// NTLM with the username and password.
    Ntlm,
}

impl Attempt {
    fn uses_password(self) -> bool {
        self != Attempt::Integrated
    }
}

/// One pass through the IdP's pages.
struct Conversation<'a> {
    endpoint: &'a Endpoint,
    budget: &'a mut Budget,
    session: &'a Session,
    attempt: Attempt,
    password: Option<&'a Sensitive<String>>,
    passcodes: &'a dyn PasscodeSource,
    /// The claims provider posted on the home realm discovery page, once it was.
    chosen_provider: Option<String>,
    /// The username page of a paginated sign-in was answered.
    posted_username: bool,
    posted_password: bool,
    passcode_tries: u32,
    used_kerberos: bool,
    /// The Negotiate conversation, once the server asked for one.
    negotiate: Option<NegotiateClient>,
    /// The NTLM handshake under way, and how many were started.
    ntlm: Option<NtlmClient>,
    ntlm_rounds: u32,
}

/// What the next request is.
struct Request {
    method: Method,
    url: Url,
    /// Only ever a form Rolecall filled in: it holds a password or a passcode, or the username
    /// or claims provider that lead to one, so it goes to trusted hosts only.
    form: Option<Sensitive<Vec<(String, String)>>>,
    authorization: Option<Sensitive<String>>,
    step: Step,
}

impl Request {
    fn get(url: Url, step: Step) -> Self {
        Request {
            method: Method::GET,
            url,
            form: None,
            authorization: None,
            step,
        }
    }
}

/// A page at the end of its redirects.
struct Fetched {
    url: Url,
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}
