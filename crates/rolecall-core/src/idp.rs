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

pub mod page;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use url::Url;

pub use self::page::{Form, Page, classify};
use crate::accounts::{self, AliasCache, AliasError};
use crate::http::{HttpError, Network, Session, is_secure_target, redact};
use crate::negotiate::{NegotiateClient, NegotiateError};
use crate::ntlm::{NtlmClient, NtlmError};
use crate::saml::{self, Assertion, SamlError};
use crate::secrets::{SecretKind, SecretStore, SecretsError, Sensitive};
use crate::settings::{Endpoint, SignInMethod};

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
    let network = Network {
        ca_file: endpoint.ca_file.clone(),
        proxy: endpoint.proxy.clone(),
    };
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

/// Ends the endpoint's single sign-on session: tells AD FS (`wsignout1.0`) and forgets the
/// stored cookies. The cookies are forgotten even when AD FS cannot be reached.
pub async fn sign_out(
    endpoint: &Endpoint,
    secrets: Arc<dyn SecretStore>,
) -> Result<(), SignInError> {
    let stored = match read_secret(&secrets, &endpoint.name, SecretKind::SsoCookies).await {
        Ok(stored) => stored,
        // No keyring to reach: nothing was kept there, so there is nothing to forget either.
        Err(SignInError::Secrets(SecretsError::Unavailable { .. })) => return Ok(()),
        Err(err) => return Err(err),
    };
    let forget = {
        let secrets = Arc::clone(&secrets);
        let name = endpoint.name.clone();
        tokio::task::spawn_blocking(move || secrets.delete(&name, SecretKind::SsoCookies))
    };
    let told = async {
        let Some(cookies) = stored else {
            return Ok(());
        };
        let network = Network {
            ca_file: endpoint.ca_file.clone(),
            proxy: endpoint.proxy.clone(),
        };
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let sso_url = sso_cookie_url(&endpoint.url);
        restore_cookies(&jar, &sso_url, &cookies);
        let session = network.session_with_jar(FORMS_USER_AGENT, jar)?;
        let mut url = endpoint.url.clone();
        url.set_path("/adfs/ls/");
        url.set_query(Some("wa=wsignout1.0"));
        let response = session
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|err| request_error(&url, &err))?;
        tracing::info!(endpoint = %endpoint.name, status = %response.status(), "signed out");
        Ok(())
    };
    let (told, forgotten) = tokio::join!(told, forget);
    forgotten
        .map_err(|err| SignInError::Internal {
            detail: err.to_string(),
        })?
        .map_err(SignInError::Secrets)?;
    told
}

/// Reads the aliases of the assertion's accounts (at most [`accounts::LOOKUP_BUDGET`] long) and
/// groups its roles by account.
pub async fn accounts_of(
    signed_in: &SignedIn,
    endpoint: &Endpoint,
    cache: &mut AliasCache,
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
    let network = Network {
        ca_file: endpoint.ca_file.clone(),
        proxy: endpoint.proxy.clone(),
    };
    let (aliases, problem) = match (destination, network.session(FORMS_USER_AGENT)) {
        (Some(destination), Ok(session)) => {
            accounts::resolve(
                &session.client,
                &destination,
                on_loopback,
                &signed_in.assertion.raw,
                cache,
                accounts::LOOKUP_BUDGET,
            )
            .await
        }
        _ => (cache.all().clone(), None),
    };
    (
        accounts::group(&signed_in.assertion.roles, &aliases),
        problem,
    )
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
    /// Only ever a form Rolecall filled in: it holds a password or a passcode.
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

impl<'a> Conversation<'a> {
    async fn run(&mut self) -> Result<Outcome, SignInError> {
        let mut next = Request::get(self.endpoint.url.clone(), Step::SignOnPage);
        for _ in 0..MAX_PAGES {
            let mut fetched = self.fetch(next).await?;
            if fetched.status == StatusCode::UNAUTHORIZED {
                next = self.answer_challenge(&fetched)?;
                if self.attempt == Attempt::Ntlm {
                    // NTLM authenticates the TCP connection; reqwest hands a connection back
                    // to its pool just after the body is read, so give it that moment.
                    tokio::time::sleep(NTLM_LEG_PAUSE).await;
                }
                continue;
            }
            if !fetched.status.is_success() {
                return Err(SignInError::Status {
                    host: host_of(&fetched.url),
                    status: fetched.status.as_u16(),
                });
            }
            let body = std::mem::take(&mut fetched.body);
            let page = if body.len() < CLASSIFY_INLINE_BYTES {
                classify(&body)
            } else {
                tokio::task::spawn_blocking(move || classify(&body))
                    .await
                    .map_err(|err| SignInError::Internal {
                        detail: err.to_string(),
                    })?
            };
            next = match page {
                Page::SamlPost {
                    action,
                    saml_response,
                } => return self.finish(&fetched.url, &action, &saml_response),
                Page::Login {
                    form,
                    username_field,
                    password_field,
                    error,
                } => {
                    self.answer_login(&fetched.url, &form, &username_field, &password_field, error)?
                }
                Page::Passcode {
                    form,
                    adapter,
                    passcode_field,
                    error,
                } => self.answer_passcode(&fetched.url, &form, adapter, &passcode_field, error)?,
                Page::OtherMfa { adapter } => {
                    return Ok(Outcome::NeedsPerson {
                        url: self.endpoint.url.clone(),
                        reason: PersonNeeded::Mfa { adapter },
                    });
                }
                Page::AdfsError { code, text } => {
                    return Err(SignInError::Adfs {
                        host: host_of(&fetched.url),
                        code,
                        text,
                    });
                }
                Page::Unknown => {
                    tracing::info!(url = %redact(&fetched.url), "a sign-in page Rolecall does not know");
                    return Ok(Outcome::NeedsPerson {
                        url: self.endpoint.url.clone(),
                        reason: PersonNeeded::UnknownPage,
                    });
                }
            };
        }
        Err(SignInError::TooManyPages {
            host: host_of(&self.endpoint.url),
        })
    }

    fn finish(
        &self,
        page_url: &Url,
        action: &str,
        saml_response: &Sensitive<String>,
    ) -> Result<Outcome, SignInError> {
        let assertion = saml::parse_response(saml_response.expose())?;
        let post_to = page_url.join(action).ok();
        let via = if self.passcode_tries > 0 {
            SignedInVia::PasswordAndPasscode
        } else if self.posted_password {
            SignedInVia::Password
        } else if self.used_kerberos {
            SignedInVia::Kerberos
        } else {
            SignedInVia::SingleSignOn
        };
        Ok(Outcome::SignedIn(Box::new(SignedIn {
            assertion,
            post_to,
            via,
        })))
    }

    /// Integrated authentication: `401` with `WWW-Authenticate: Negotiate` and `NTLM`.
    fn answer_challenge(&mut self, fetched: &Fetched) -> Result<Request, SignInError> {
        let host = host_of(&fetched.url);
        let offers: Vec<(String, String)> = fetched
            .headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(|offer| {
                let (scheme, token) = offer.split_once(' ').unwrap_or((offer, ""));
                (scheme.to_ascii_lowercase(), token.trim().to_owned())
            })
            .collect();
        let offer = |scheme: &str| {
            offers
                .iter()
                .find(|(offered, _)| offered == scheme)
                .map(|(_, token)| token.clone())
        };
        if self.attempt != Attempt::Password && !self.trusts(&fetched.url) {
            return Err(SignInError::ChallengeElsewhere {
                endpoint_host: host_of(&self.endpoint.url),
                other_host: host,
                scheme: if self.attempt == Attempt::Ntlm {
                    "NTLM"
                } else {
                    "Kerberos (Negotiate)"
                },
            });
        }
        let (scheme, token) = match self.attempt {
            Attempt::Password => {
                return Err(if offers.is_empty() {
                    SignInError::Status {
                        host,
                        status: fetched.status.as_u16(),
                    }
                } else {
                    SignInError::IntegratedOnly { host }
                });
            }
            Attempt::Integrated | Attempt::KerberosPassword => {
                let Some(server_token) = offer("negotiate") else {
                    return Err(SignInError::IntegratedOff { host });
                };
                (
                    "Negotiate",
                    self.negotiate_step(fetched, &host, &server_token)?,
                )
            }
            Attempt::Ntlm => {
                let Some(server_token) = offer("ntlm") else {
                    return Err(SignInError::IntegratedOff { host });
                };
                let target_host = fetched.url.host_str().unwrap_or_default();
                ("NTLM", self.ntlm_step(&host, target_host, &server_token)?)
            }
        };
        Ok(Request {
            method: Method::GET,
            url: fetched.url.clone(),
            form: None,
            authorization: Some(Sensitive::new(format!(
                "{scheme} {}",
                STANDARD.encode(token.expose())
            ))),
            step: if scheme == "NTLM" {
                Step::Ntlm
            } else {
                Step::Negotiate
            },
        })
    }

    /// The next Kerberos token: the current user's ticket, or one got with the password.
    fn negotiate_step(
        &mut self,
        fetched: &Fetched,
        host: &str,
        server_token: &str,
    ) -> Result<Sensitive<Vec<u8>>, SignInError> {
        let refused = || SignInError::KerberosRefused {
            host: host.to_owned(),
        };
        if self.used_kerberos && server_token.is_empty() {
            // A second bare challenge after a ticket: the server did not accept it.
            return Err(refused());
        }
        let client = match &mut self.negotiate {
            Some(client) => client,
            None => {
                let host_name = fetched.url.host_str().unwrap_or_default();
                let client = if self.attempt == Attempt::KerberosPassword {
                    let (username, password) = self.credentials()?;
                    NegotiateClient::with_password(host_name, &username, password)?
                } else {
                    NegotiateClient::new(host_name)?
                };
                self.negotiate.insert(client)
            }
        };
        let server_token = if server_token.is_empty() {
            None
        } else {
            Some(
                STANDARD
                    .decode(server_token.as_bytes())
                    .map_err(|_| refused())?,
            )
        };
        let token = client.step(server_token.as_deref())?.ok_or_else(refused)?;
        self.used_kerberos = true;
        Ok(token)
    }

    /// NTLM's three legs: negotiate, the server's challenge, authenticate. A bare challenge
    /// after our answer means the password was refused, or (rarely) that the last leg went on
    /// another connection; the handshake is tried again a few times before giving up.
    fn ntlm_step(
        &mut self,
        host: &str,
        target_host: &str,
        server_token: &str,
    ) -> Result<Sensitive<Vec<u8>>, SignInError> {
        if server_token.is_empty() {
            if self.ntlm.is_some() {
                self.ntlm_rounds += 1;
                if self.ntlm_rounds >= MAX_NTLM_ROUNDS {
                    return Err(SignInError::NtlmRefused {
                        host: host.to_owned(),
                        username: self.endpoint.username.clone().unwrap_or_default(),
                    });
                }
            }
            let (username, password) = self.credentials()?;
            let client = self
                .ntlm
                .insert(NtlmClient::new(&username, password, target_host)?);
            return Ok(client.negotiate()?);
        }
        let challenge =
            STANDARD
                .decode(server_token.as_bytes())
                .map_err(|_| SignInError::NtlmRefused {
                    host: host.to_owned(),
                    username: self.endpoint.username.clone().unwrap_or_default(),
                })?;
        let client = self.ntlm.as_mut().ok_or_else(|| SignInError::NtlmRefused {
            host: host.to_owned(),
            username: self.endpoint.username.clone().unwrap_or_default(),
        })?;
        self.posted_password = true;
        Ok(client.authenticate(&challenge)?)
    }

    /// The username and password for Kerberos or NTLM with a password.
    fn credentials(&self) -> Result<(String, &'a Sensitive<String>), SignInError> {
        let username = self
            .endpoint
            .username
            .clone()
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| SignInError::NoUsername {
                endpoint: self.endpoint.name.clone(),
            })?;
        let password = self.password.ok_or_else(|| SignInError::NoPassword {
            endpoint: self.endpoint.name.clone(),
            keyring: None,
        })?;
        Ok((username, password))
    }

    fn answer_login(
        &mut self,
        page_url: &Url,
        form: &Form,
        username_field: &str,
        password_field: &str,
        error: Option<String>,
    ) -> Result<Request, SignInError> {
        let username = self.endpoint.username.clone().unwrap_or_default();
        if self.passcode_tries > 0 {
            // AD FS starts over at the login page when the MFA context has expired.
            return Err(SignInError::PasscodeExpired {
                endpoint: self.endpoint.name.clone(),
            });
        }
        if self.posted_password {
            return Err(match error {
                Some(message) => SignInError::BadCredentials {
                    endpoint: self.endpoint.name.clone(),
                    username,
                    message,
                },
                None => SignInError::LoginLoop {
                    host: host_of(page_url),
                },
            });
        }
        if self.attempt == Attempt::Integrated {
            // AD FS showed its form to an integrated-capable agent: integrated sign-in is off.
            return Err(SignInError::IntegratedOff {
                host: host_of(page_url),
            });
        }
        if username.is_empty() {
            return Err(SignInError::NoUsername {
                endpoint: self.endpoint.name.clone(),
            });
        }
        let Some(password) = self.password else {
            return Err(SignInError::NoPassword {
                endpoint: self.endpoint.name.clone(),
                keyring: None,
            });
        };
        let request = self.post(page_url, form, Step::LoginForm)?;
        if request.method != Method::POST {
            // A GET would put the password in the address, and so in proxy and server logs.
            return Err(SignInError::PasswordInAddress {
                page_host: host_of(page_url),
                target_host: host_of(&request.url),
                endpoint_host: host_of(&self.endpoint.url),
            });
        }
        let mut fields = form.default_fields();
        set_field(&mut fields, username_field, &username);
        set_field(&mut fields, password_field, password.expose());
        self.posted_password = true;
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
    }

    fn answer_passcode(
        &mut self,
        page_url: &Url,
        form: &Form,
        adapter: String,
        passcode_field: &str,
        error: Option<String>,
    ) -> Result<Request, SignInError> {
        if self.passcode_tries >= MAX_PASSCODE_TRIES {
            return Err(SignInError::PasscodeRejected {
                endpoint: self.endpoint.name.clone(),
                message: error.unwrap_or_default(),
            });
        }
        self.passcode_tries += 1;
        let prompt = PasscodePrompt {
            endpoint: self.endpoint.name.clone(),
            adapter: adapter.clone(),
            error: error.clone(),
            attempt: self.passcode_tries,
        };
        let Some(code) = self.passcodes.passcode(&prompt) else {
            return Err(match error {
                Some(message) if self.passcode_tries > 1 => SignInError::PasscodeRejected {
                    endpoint: self.endpoint.name.clone(),
                    message,
                },
                _ => SignInError::PasscodeNeeded {
                    endpoint: self.endpoint.name.clone(),
                    adapter,
                },
            });
        };
        let request = self.post(page_url, form, Step::PasscodeForm)?;
        let mut fields = form.default_fields();
        set_field(&mut fields, passcode_field, code.expose().trim());
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
    }

    /// Where and how `form` is sent, once its action is known to be a host that may receive
    /// the endpoint's secrets. The caller adds the fields.
    fn post(&self, page_url: &Url, form: &Form, step: Step) -> Result<Request, SignInError> {
        let action = form.action.as_deref().unwrap_or("");
        let url = page_url
            .join(action)
            .map_err(|_| SignInError::UnusableForm {
                host: host_of(page_url),
            })?;
        if !self.trusts(&url) {
            return Err(SignInError::FormElsewhere {
                form: if step == Step::LoginForm {
                    "sign-in form"
                } else {
                    "passcode form"
                },
                page_host: host_of(page_url),
                other_host: host_of(&url),
                endpoint_host: host_of(&self.endpoint.url),
            });
        }
        // HTML's default method is GET; AD FS's forms all say `post`.
        let method = if form.method.trim() == "post" {
            Method::POST
        } else {
            Method::GET
        };
        Ok(Request {
            method,
            url,
            form: None,
            authorization: None,
            step,
        })
    }

    /// Whether `url`'s host may receive this endpoint's password, passcodes, NTLM answers and
    /// Kerberos tickets.
    fn trusts(&self, url: &Url) -> bool {
        url.host_str()
            .is_some_and(|host| self.endpoint.trusts_host(host))
    }

    /// Sends `request` and follows redirects to the page at their end. A `302`/`303` (and
    /// `301`) turn a POST into a GET, as browsers do; `307`/`308` keep it.
    // `&mut self`: the conversation is `Send` but not `Sync` (the Negotiate client).
    async fn fetch(&mut self, mut request: Request) -> Result<Fetched, SignInError> {
        for _ in 0..=MAX_REDIRECTS {
            if !is_secure_target(&request.url) {
                return Err(SignInError::Insecure {
                    url: redact(&request.url),
                });
            }
            // Every secret goes through here: the checks where each is made name the case
            // better, this one makes sure none is missed.
            if (request.form.is_some() || request.authorization.is_some())
                && !self.trusts(&request.url)
            {
                return Err(SignInError::FormElsewhere {
                    form: "sign-in request",
                    page_host: host_of(&request.url),
                    other_host: host_of(&request.url),
                    endpoint_host: host_of(&self.endpoint.url),
                });
            }
            let mut builder = self
                .session
                .client
                .request(request.method.clone(), request.url.clone());
            if let Some(fields) = &request.form {
                builder = if request.method == Method::GET {
                    builder.query(fields.expose())
                } else {
                    builder.form(fields.expose())
                };
            }
            if let Some(authorization) = &request.authorization {
                builder = builder.header(AUTHORIZATION, authorization.expose().as_str());
            }
            let url = request.url.clone();
            let response = self
                .within(&request, async move {
                    builder
                        .send()
                        .await
                        .map_err(|err| request_error(&url, &err))
                })
                .await?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(LOCATION)
            {
                let target = location
                    .to_str()
                    .ok()
                    .and_then(|location| request.url.join(location).ok())
                    .ok_or_else(|| SignInError::UnusableForm {
                        host: host_of(&request.url),
                    })?;
                let keep_method = matches!(
                    status,
                    StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
                );
                // Every form Rolecall sends holds a password or a passcode, so a re-post to
                // another host is refused rather than sent, or sent without its body (which
                // that host did not ask for either).
                if keep_method && request.form.is_some() && !self.trusts(&target) {
                    return Err(SignInError::RepostElsewhere {
                        from_host: host_of(&request.url),
                        status: status.as_u16(),
                        other_host: host_of(&target),
                        endpoint_host: host_of(&self.endpoint.url),
                    });
                }
                request = if keep_method {
                    Request {
                        url: target,
                        authorization: None,
                        ..request
                    }
                } else {
                    Request::get(target, Step::Redirect)
                };
                continue;
            }
            let url = response.url().clone();
            let headers = response.headers().clone();
            let body = self.within(&request, read_body(response, &url)).await?;
            return Ok(Fetched {
                url,
                status,
                headers,
                body,
            });
        }
        Err(SignInError::TooManyPages {
            host: host_of(&request.url),
        })
    }
}

impl Conversation<'_> {
    /// Runs `work` (a request, or reading its answer) within the IdP's time left.
    async fn within<T>(
        &mut self,
        request: &Request,
        work: impl Future<Output = Result<T, SignInError>>,
    ) -> Result<T, SignInError> {
        let started = crate::clock::monotonic();
        let done = tokio::time::timeout(self.budget.left, work).await;
        self.budget.left = self.budget.left.saturating_sub(started.elapsed());
        done.unwrap_or_else(|_| {
            Err(SignInError::Deadline {
                endpoint: self.endpoint.name.clone(),
                seconds: self.budget.deadline.as_secs_f64(),
                waiting: format!("{} to answer {}", redact(&request.url), request.step),
            })
        })
    }
}

async fn read_body(mut response: reqwest::Response, url: &Url) -> Result<String, SignInError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| request_error(url, &err))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(SignInError::PageTooLarge { host: host_of(url) });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(field, _)| field == name) {
        Some((_, slot)) => *slot = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

/// What a failed request means for a person: an untrusted certificate, or no connection.
fn request_error(url: &Url, err: &reqwest::Error) -> SignInError {
    let host = host_of(url);
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = source {
        chain.push_str(&cause.to_string());
        chain.push_str(": ");
        source = cause.source();
    }
    let lowered = chain.to_ascii_lowercase();
    if lowered.contains("certificate") || lowered.contains("unknownissuer") {
        let detail = if lowered.contains("unknownissuer") || lowered.contains("unknown issuer") {
            "it is signed by an authority this computer does not trust"
        } else if lowered.contains("expired") {
            "it has expired"
        } else if lowered.contains("notvalidforname") || lowered.contains("not valid for") {
            "it is for another host name"
        } else {
            "it is not trusted"
        };
        return SignInError::Tls { host, detail };
    }
    let detail = if err.is_timeout() {
        "no answer in time"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    SignInError::Network { host, detail }
}

/// Where AD FS scopes its SSO cookies (`path=/adfs`).
fn sso_cookie_url(endpoint_url: &Url) -> Url {
    let mut url = endpoint_url.clone();
    url.set_path("/adfs/ls/");
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Whether a cookie is part of AD FS's SSO session.
fn is_sso_cookie(name: &str) -> bool {
    name.starts_with("MSISAuth")
}

fn restore_cookies(jar: &reqwest::cookie::Jar, url: &Url, stored: &Sensitive<String>) {
    for pair in stored.expose().split(';') {
        let pair = pair.trim();
        if let Some((name, _)) = pair.split_once('=')
            && is_sso_cookie(name)
        {
            jar.add_cookie_str(&format!("{pair}; Path=/adfs"), url);
        }
    }
}

async fn save_sso_cookies(
    secrets: &Arc<dyn SecretStore>,
    endpoint: &str,
    jar: &reqwest::cookie::Jar,
    url: &Url,
) {
    use reqwest::cookie::CookieStore as _;
    let Some(header) = jar.cookies(url) else {
        return;
    };
    let Ok(header) = header.to_str() else {
        return;
    };
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(name, _)| is_sso_cookie(name))
        })
        .collect();
    if kept.is_empty() {
        return;
    }
    let value = Sensitive::new(kept.join("; "));
    let secrets = Arc::clone(secrets);
    let endpoint = endpoint.to_owned();
    let saved =
        tokio::task::spawn_blocking(move || secrets.set(&endpoint, SecretKind::SsoCookies, &value))
            .await;
    // Not saving only costs a silent sign-in next time; the sign-in itself worked.
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!("could not keep the single sign-on session: {err}"),
        Err(err) => tracing::warn!("could not keep the single sign-on session: {err}"),
    }
}

async fn read_secret(
    secrets: &Arc<dyn SecretStore>,
    endpoint: &str,
    kind: SecretKind,
) -> Result<Option<Sensitive<String>>, SignInError> {
    let secrets = Arc::clone(secrets);
    let endpoint = endpoint.to_owned();
    tokio::task::spawn_blocking(move || secrets.get(&endpoint, kind))
        .await
        .map_err(|err| SignInError::Internal {
            detail: err.to_string(),
        })?
        .map_err(SignInError::Secrets)
}

/// The broad kind of a sign-in failure, for exit codes and IPC codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BadCredentials,
    Passcode,
    NoRoles,
    Tls,
    Network,
    Other,
}

/// Why a sign-in failed. Each message says what happened and what to do, and never holds a
/// password, a cookie or the assertion.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(
        "The identity provider did not accept the username and password for {username} at \
         endpoint \"{endpoint}\": “{message}” Check them (Settings → Endpoints, or \
         ROLECALL_PASSWORD), then try again."
    )]
    BadCredentials {
        endpoint: String,
        username: String,
        message: String,
    },

    #[error(
        "Endpoint \"{endpoint}\" signs in with a username and password, but Rolecall has no \
         password for it{}. Save it in Settings → Endpoints, or give it with ROLECALL_PASSWORD \
         or --password-stdin.",
        keyring.as_ref().map(|problem| format!(" (and the keyring could not be read: {problem})")).unwrap_or_default()
    )]
    NoPassword {
        endpoint: String,
        /// Why the keyring could not be asked, when it could not.
        keyring: Option<String>,
    },

    #[error(
        "Endpoint \"{endpoint}\" has no username to sign in with. Set it in Settings → \
         Endpoints (or with --username), then try again."
    )]
    NoUsername { endpoint: String },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" asks for a one-time passcode \
         ({adapter}). Enter it when Rolecall asks (ROLECALL_MFA_CODE for scripts), then try \
         again."
    )]
    PasscodeNeeded { endpoint: String, adapter: String },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" did not accept the passcode: \
         “{message}” Wait for a fresh code, then sign in again."
    )]
    PasscodeRejected { endpoint: String, message: String },

    #[error(
        "The passcode step of endpoint \"{endpoint}\" took too long and the identity provider \
         started over. Sign in again and enter the code as soon as it is asked for."
    )]
    PasscodeExpired { endpoint: String },

    #[error("AD FS at {host} answered with an error: {text} {}", adfs_advice(code))]
    Adfs {
        host: String,
        code: String,
        text: String,
    },

    #[error(transparent)]
    Saml(#[from] SamlError),

    #[error(
        "Rolecall does not trust the certificate of {host}: {detail}. If your company uses its \
         own certificate authority, give its PEM file as the endpoint's CA file (--ca-file on \
         the command line)."
    )]
    Tls { host: String, detail: &'static str },

    #[error(
        "Rolecall could not reach {host} ({detail}). Check your network connection, VPN and \
         proxy settings, then try again."
    )]
    Network { host: String, detail: &'static str },

    #[error(
        "{host} answered HTTP {status} during the sign-in. Try again later; if it keeps \
         happening, check the endpoint URL or sign in with the Webview method."
    )]
    Status { host: String, status: u16 },

    #[error(
        "The sign-in led to {url}, which is not https, so Rolecall stopped rather than send \
         credentials in the clear. Check the endpoint URL."
    )]
    Insecure { url: String },

    #[error(
        "The {form} at {page_host} would send your credentials to {other_host}, which is not \
         the endpoint's host {endpoint_host}, so Rolecall sent nothing there. {}",
        elsewhere_advice(other_host)
    )]
    FormElsewhere {
        form: &'static str,
        page_host: String,
        other_host: String,
        endpoint_host: String,
    },

    #[error(
        "{from_host} answered the sign-in form with HTTP {status}, which would post it again, \
         password included, to {other_host}, which is not the endpoint's host {endpoint_host}, \
         so Rolecall sent nothing there. {}",
        elsewhere_advice(other_host)
    )]
    RepostElsewhere {
        from_host: String,
        status: u16,
        other_host: String,
        endpoint_host: String,
    },

    #[error(
        "The sign-in form at {page_host} would send your password to {target_host} inside the \
         web address (a GET form), where proxies and server logs keep it, so Rolecall sent \
         nothing (the endpoint's host is {endpoint_host}). Sign in with the Webview method, and \
         tell your IT team."
    )]
    PasswordInAddress {
        page_host: String,
        target_host: String,
        endpoint_host: String,
    },

    #[error(
        "{other_host} asks for {scheme} sign-in, but it is not the endpoint's host \
         {endpoint_host}, so Rolecall sent it no answer. {}",
        elsewhere_advice(other_host)
    )]
    ChallengeElsewhere {
        endpoint_host: String,
        other_host: String,
        scheme: &'static str,
    },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" took more than {seconds} seconds in \
         all to answer the sign-in: Rolecall was still waiting for {waiting}. Try again later; \
         if it keeps happening, check the endpoint URL, your network and proxy, or sign in with \
         the Webview method."
    )]
    Deadline {
        endpoint: String,
        seconds: f64,
        waiting: String,
    },

    #[error(
        "The sign-in at {host} went through more pages than any sign-in needs, so Rolecall \
         stopped. Sign in with the Webview method, or tell your AD FS administrator."
    )]
    TooManyPages { host: String },

    #[error(
        "The sign-in page of {host} answered far more data than a sign-in page holds, so \
         Rolecall stopped reading. Check the endpoint URL."
    )]
    PageTooLarge { host: String },

    #[error(
        "The identity provider at {host} showed its sign-in form again without saying why. \
         Sign in with the Webview method to see what it wants."
    )]
    LoginLoop { host: String },

    #[error(
        "A sign-in page of {host} has a form Rolecall cannot send. Sign in with the Webview \
         method."
    )]
    UnusableForm { host: String },

    #[error(
        "AD FS at {host} asks for integrated Windows sign-in only. Choose the Automatic or \
         Windows integrated sign-in method for this endpoint."
    )]
    IntegratedOnly { host: String },

    #[error(
        "AD FS at {host} does not offer integrated Windows sign-in to Rolecall (it showed its \
         sign-in form). Choose the Forms or Automatic sign-in method for this endpoint."
    )]
    IntegratedOff { host: String },

    #[error(
        "AD FS at {host} did not accept Rolecall's Kerberos ticket. Run `klist` to check your \
         ticket (renew it with `kinit`), or choose the Forms sign-in method."
    )]
    KerberosRefused { host: String },

    #[error(transparent)]
    Negotiate(#[from] NegotiateError),

    #[error(
        "The identity provider at {host} did not accept the NTLM sign-in of {username}. Check \
         the username (DOMAIN\\user or user@domain) and password, then try again."
    )]
    NtlmRefused { host: String, username: String },

    #[error(transparent)]
    Ntlm(#[from] NtlmError),

    #[error(transparent)]
    Http(#[from] HttpError),

    #[error(transparent)]
    Secrets(SecretsError),

    #[error("Rolecall's sign-in stopped unexpectedly ({detail}). Try again.")]
    Internal { detail: String },
}

fn elsewhere_advice(other_host: &str) -> String {
    let host = other_host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(other_host, |(host, _)| host);
    format!(
        "If {host} is part of your company's sign-in, add it to the endpoint's trusted hosts \
         (trusted_hosts in the settings file, or `rolecall endpoint add --trust-host {host}`); \
         otherwise tell your IT team."
    )
}

fn adfs_advice(code: &str) -> &'static str {
    match code {
        "MSIS7007" => {
            "The sign-in URL names a relying party AD FS does not know: for AWS its loginToRp is \
             urn:amazon:webservices. Check the endpoint URL, or ask your AD FS administrator \
             whether the AWS relying party trust exists."
        }
        "MSIS7042" | "MSIS7043" => {
            "AD FS saw too many sign-ins in a short time. Wait a few minutes, then try again."
        }
        "MSIS7012" | "MSIS7000" => {
            "AD FS could not handle the request. Try again; if it repeats, ask your AD FS \
             administrator to look for this time in the AD FS event log."
        }
        _ => {
            "Ask your AD FS administrator what this code means for your account, or sign in with \
             the Webview method."
        }
    }
}

impl SignInError {
    pub fn kind(&self) -> FailureKind {
        match self {
            SignInError::BadCredentials { .. }
            | SignInError::NoPassword { .. }
            | SignInError::NoUsername { .. }
            | SignInError::NtlmRefused { .. }
            | SignInError::Negotiate(
                NegotiateError::BadPassword { .. } | NegotiateError::NoTicket { .. },
            ) => FailureKind::BadCredentials,
            SignInError::PasscodeNeeded { .. }
            | SignInError::PasscodeRejected { .. }
            | SignInError::PasscodeExpired { .. } => FailureKind::Passcode,
            SignInError::Saml(SamlError::NoRoles) => FailureKind::NoRoles,
            SignInError::Tls { .. } => FailureKind::Tls,
            SignInError::Network { .. } | SignInError::Deadline { .. } => FailureKind::Network,
            _ => FailureKind::Other,
        }
    }

    /// Failures after which the automatic method goes on to the password.
    fn integrated_unavailable(&self) -> bool {
        matches!(
            self,
            SignInError::Negotiate(_)
                | SignInError::KerberosRefused { .. }
                | SignInError::IntegratedOff { .. }
        )
    }
}
