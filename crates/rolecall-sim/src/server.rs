//! The running simulator: binding the routes AD FS and AWS sign-in answer, the SSO sessions and
//! MFA contexts it holds, its counters, and shutdown on drop. Page markup lives in `pages`,
//! assertions in `assertion`; this module decides which to serve.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, HeaderName, LOCATION, SET_COOKIE,
    USER_AGENT, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::serve::IncomingStream;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

use crate::assertion::{self, Issue};
use crate::clock::Clock;
use crate::config::{AWS_RELYING_PARTY, Fault, Hostile, SimConfig, TarpitStep};
use crate::escape::markup;
use crate::federation::{CONSOLE_PATH, FEDERATION_PATH, Federation};
use crate::ntlm::{self, NtlmAcceptor};
use crate::pages::LoginStep;
use crate::sts::{IssuedCredentials, STS_PATH, Sts};
use crate::wia::{WIA_SCHEMES, WiaAcceptor, WiaStep, is_wia_user_agent};
use crate::{cookies, pages, portal, random, signin};

/// The sign-on page's path as AD FS spells it (requests may use any case).
pub const SIGN_ON_PATH: &str = "/adfs/ls/IdpInitiatedSignOn.aspx";

/// Random bytes in an `MSISAuth` token: its base64 (4,800 characters) always spans three
/// cookies, like the large tokens of real AD FS farms.
const TOKEN_BYTES: usize = 3600;

/// How long a tarpitted request is held: far beyond any client's patience.
const TARPIT: Duration = Duration::from_secs(3600);

/// The home realm discovery page's error text for a claims provider it does not list.
const UNKNOWN_PROVIDER_TEXT: &str = "Select one of the listed accounts to sign in.";

/// Bytes of random data behind an MFA `Context`.
const CONTEXT_BYTES: usize = 240;

/// Request bodies up to this size are read; the huge fault's response posted to `/saml` is
/// about 1.1 MB once form-encoded.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Counters of what the simulator has done, and what it was asked for, for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub login_pages_served: u64,
    pub form_posts: u64,
    pub mfa_posts: u64,
    pub assertions_issued: u64,
    pub sign_outs: u64,
    pub alias_page_posts: u64,
    /// Posts of the first page of a paginated sign-in (the username alone).
    pub username_posts: u64,
    /// Sign-ins whose form ticked "Keep me signed in" (`Kmsi=true`).
    pub kmsi_sign_ins: u64,
    /// Passwords changed on the update page.
    pub password_changes: u64,
    /// Every `HomeRealmSelection` posted, oldest first (the newest [`HANDED_OUT_KEPT`]).
    pub home_realm_selections: Vec<String>,
    /// SSO sessions valid now on the simulator's clock.
    pub sso_sessions: u64,
    /// Requests to the simulated STS, answered or refused.
    pub sts_calls: u64,
    /// STS requests answered with an error.
    pub sts_errors: u64,
    /// Console logins (`/federation?Action=login`) sent on to their destination, and roles
    /// chosen on the `/saml` page.
    pub console_sign_ins: u64,
    /// Console sign-outs (`/oauth?Action=logout`).
    pub console_sign_outs: u64,
    /// The `DurationSeconds` of each `AssumeRoleWithSAML` call as sent, answered or refused,
    /// oldest first (`None`: not sent, which STS takes as an hour); the newest
    /// [`HANDED_OUT_KEPT`] are kept.
    pub durations_asked: Vec<Option<String>>,
    /// The `SessionDuration` of each `getSigninToken` call as sent, answered or refused, oldest
    /// first (`None`: not sent, so the console session lasts as long as the credentials); the
    /// newest [`HANDED_OUT_KEPT`] are kept.
    pub console_durations_asked: Vec<Option<String>>,
}

/// Secrets the simulator handed out, for tests that look for them where they must never be
/// (logs, command lines). The newest [`HANDED_OUT_KEPT`] of each kind are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandedOut {
    /// Every `SAMLResponse` value served in an auto-post page, base64 as sent.
    pub saml_responses: Vec<String>,
    /// The value of every `MSISAuth`, `MSISAuth1`, … session cookie set.
    pub sso_cookies: Vec<String>,
    /// Every `SigninToken` the federation endpoint issued.
    pub signin_tokens: Vec<String>,
}

/// How many secrets of each kind [`HandedOut`] keeps.
pub const HANDED_OUT_KEPT: usize = 256;

pub(crate) fn keep<T>(list: &mut Vec<T>, value: T) {
    if list.len() >= HANDED_OUT_KEPT {
        list.remove(0);
    }
    list.push(value);
}

/// A running simulator on a loopback listener; dropping it shuts the server down.
#[derive(Debug)]
pub struct Sim {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

#[derive(Debug)]
struct Shared {
    config: SimConfig,
    base: Url,
    clock: Clock,
    sessions: Mutex<HashMap<String, Session>>,
    mfa_contexts: Mutex<HashMap<String, MfaContext>>,
    /// The Duo stand-in's sign-ins, by transaction.
    duo_transactions: Mutex<HashMap<String, DuoTransaction>>,
    /// Passwords changed on the update page, by user (index into `config.users`).
    changed_passwords: Mutex<HashMap<usize, String>>,
    home_realm_selections: Mutex<Vec<String>>,
    counters: Counters,
    handed_out: Mutex<HandedOut>,
    sts: Sts,
    federation: Federation,
    /// The built-in NTLM acceptor, when `config.ntlm` is on.
    ntlm: Option<NtlmAcceptor>,
}

#[derive(Debug, Default)]
struct Counters {
    login_pages_served: AtomicU64,
    form_posts: AtomicU64,
    mfa_posts: AtomicU64,
    assertions_issued: AtomicU64,
    sign_outs: AtomicU64,
    alias_page_posts: AtomicU64,
    username_posts: AtomicU64,
    kmsi_sign_ins: AtomicU64,
    password_changes: AtomicU64,
}

#[derive(Debug, Clone)]
struct Session {
    user: usize,
    authenticated_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct MfaContext {
    user: usize,
    issued_at: OffsetDateTime,
    /// The login form ticked "Keep me signed in".
    keep: bool,
}

/// A sign-in waiting in the Duo stand-in's frame for a person to approve it.
#[derive(Debug, Clone)]
struct DuoTransaction {
    /// The MFA `Context` of the page the frame is in.
    context: String,
    issued_at: OffsetDateTime,
    approved: bool,
}

/// Names the TCP connection a request came on; NTLM's legs must share one.
#[derive(Debug, Clone, Copy)]
struct ConnectionId(u64);

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

impl Connected<IncomingStream<'_, TcpListener>> for ConnectionId {
    // axum asks once per accepted connection, so a counter numbers connections.
    fn connect_info(_: IncomingStream<'_, TcpListener>) -> Self {
        Self(NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed))
    }
}

impl Sim {
    /// Serves on `listener`, which must be bound to a loopback address.
    pub async fn start(listener: TcpListener, config: SimConfig) -> io::Result<Sim> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the simulator only serves loopback; bind 127.0.0.1, not {addr}"),
            ));
        }
        let base = Url::parse(&format!("http://{addr}/")).map_err(io::Error::other)?;
        let ntlm = config.ntlm.then(|| NtlmAcceptor::new(&config.users));
        let shared = Arc::new(Shared {
            ntlm,
            config,
            base,
            clock: Clock::default(),
            sessions: Mutex::default(),
            mfa_contexts: Mutex::default(),
            duo_transactions: Mutex::default(),
            changed_passwords: Mutex::default(),
            home_realm_selections: Mutex::default(),
            counters: Counters::default(),
            handed_out: Mutex::default(),
            sts: Sts::default(),
            federation: Federation::default(),
        });
        let app = Router::new()
            .fallback(dispatch)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<ConnectionId>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
            if let Err(error) = served {
                eprintln!("rolecall-sim: server stopped: {error}");
            }
        });
        Ok(Sim {
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> Url {
        self.shared.base.clone()
    }

    /// `<base>adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices`.
    pub fn sign_on_url(&self) -> Url {
        self.shared
            .sign_on_url(&format!("loginToRp={AWS_RELYING_PARTY}"))
    }

    /// `<base>saml`, the stand-in for AWS's sign-in page.
    pub fn signin_saml_url(&self) -> Url {
        self.shared.saml_url()
    }

    /// `<base>sts`, the stand-in for AWS STS (awsQuery over POST), for `AWS_ENDPOINT_URL_STS`.
    pub fn sts_url(&self) -> Url {
        let mut url = self.shared.base.clone();
        url.set_path(STS_PATH);
        url
    }

    /// `<base>federation`, the stand-in for `https://signin.aws.amazon.com/federation`, for
    /// `ROLECALL_SIGNIN_ENDPOINT`.
    pub fn federation_url(&self) -> Url {
        let mut url = self.shared.base.clone();
        url.set_path(FEDERATION_PATH);
        url
    }

    /// `<base>console`, the stand-in console page, for `ROLECALL_CONSOLE_ENDPOINT`.
    pub fn console_url(&self) -> Url {
        let mut url = self.shared.base.clone();
        url.set_path(CONSOLE_PATH);
        url
    }

    /// Every set of credentials the simulated STS has issued, by access key id.
    pub fn issued_credentials(&self) -> Vec<IssuedCredentials> {
        self.shared.sts.issued_credentials()
    }

    /// Every `AssumeRole` call the simulated STS received, oldest first (the newest
    /// [`HANDED_OUT_KEPT`] are kept).
    pub fn assume_role_calls(&self) -> Vec<crate::sts::AssumeRoleCall> {
        self.shared.sts.assume_role_calls()
    }

    /// Moves the simulator's clock forward: sessions, MFA contexts and assertions age by `by`.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The secrets handed out so far (with the credentials of [`Self::issued_credentials`]).
    pub fn handed_out(&self) -> HandedOut {
        let mut handed_out = lock(&self.shared.handed_out).clone();
        handed_out.signin_tokens = self.shared.federation.signin_tokens();
        handed_out
    }

    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let now = self.shared.clock.now();
        let sessions = lock(&self.shared.sessions);
        Stats {
            login_pages_served: c.login_pages_served.load(Ordering::Relaxed),
            form_posts: c.form_posts.load(Ordering::Relaxed),
            mfa_posts: c.mfa_posts.load(Ordering::Relaxed),
            assertions_issued: c.assertions_issued.load(Ordering::Relaxed),
            sign_outs: c.sign_outs.load(Ordering::Relaxed),
            alias_page_posts: c.alias_page_posts.load(Ordering::Relaxed),
            username_posts: c.username_posts.load(Ordering::Relaxed),
            kmsi_sign_ins: c.kmsi_sign_ins.load(Ordering::Relaxed),
            password_changes: c.password_changes.load(Ordering::Relaxed),
            home_realm_selections: lock(&self.shared.home_realm_selections).clone(),
            sso_sessions: sessions.values().filter(|s| s.expires_at > now).count() as u64,
            sts_calls: self.shared.sts.calls(),
            sts_errors: self.shared.sts.errors(),
            console_sign_ins: self.shared.federation.sign_ins(),
            console_sign_outs: self.shared.federation.sign_outs(),
            durations_asked: self.shared.sts.durations_asked(),
            console_durations_asked: self.shared.federation.durations_asked(),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One request, read once, with the parts the pages depend on.
#[derive(Debug)]
struct Request {
    method: Method,
    raw_query: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    connection: u64,
}

impl Request {
    /// A query parameter; AD FS reads their names case-insensitively.
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    fn header(&self, name: HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The query with a `client-request-id`, as AD FS puts in its form actions.
    fn query_with_request_id(&self) -> String {
        if self.param("client-request-id").is_some() {
            self.raw_query.clone()
        } else {
            format!("{}&client-request-id={}", self.raw_query, random::guid())
        }
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(ConnectionId(connection)): ConnectInfo<ConnectionId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_query = uri.query().unwrap_or_default().to_owned();
    let request = Request {
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        raw_query,
        method,
        headers,
        body,
        connection,
    };
    let path = uri.path().to_ascii_lowercase();
    if let Some(Hostile::Tarpit(step)) = &shared.config.hostile
        && path == SIGN_ON_PATH.to_ascii_lowercase()
    {
        let held = match step {
            TarpitStep::SignOnPage => request.method == Method::GET,
            TarpitStep::LoginPost => {
                request.method == Method::POST && field(&request.form(), "UserName").is_some()
            }
        };
        if held {
            tokio::time::sleep(TARPIT).await;
        }
    }
    match path.as_str() {
        "/adfs/ls/idpinitiatedsignon.aspx" | "/adfs/ls/idpinitiatedsignon" => {
            shared.sign_on(&request)
        }
        "/adfs/ls/wia" => shared.wia(&request),
        "/adfs/portal/updatepassword" | "/adfs/portal/updatepassword/" => {
            shared.update_password(&request)
        }
        "/adfs/ls" | "/adfs/ls/"
            if request
                .param("wa")
                .is_some_and(|wa| wa.eq_ignore_ascii_case("wsignout1.0")) =>
        {
            shared.sign_out(&request)
        }
        "/saml" if request.method == Method::POST => shared.saml(&request),
        // STS answers POSTs at its root, so `POST /` is STS as well; `GET /` stays the index.
        "/sts" | "/sts/" | "/" if request.method == Method::POST => {
            let Request {
                headers,
                query,
                body,
                ..
            } = &request;
            let config = &shared.config.sts;
            shared
                .sts
                .answer(config, &shared.clock, headers, query, body)
                .await
        }
        "/saml" => html(StatusCode::METHOD_NOT_ALLOWED, pages::not_found()),
        pages::DUO_FRAME_PATH => shared.duo_frame(&request),
        _ if request.method == Method::GET
            && let Some(asset) = portal::asset(&path) =>
        {
            let mut response = Response::new(Body::from(asset.body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
            response
        }
        "/federation" if request.method == Method::GET => {
            let issued = shared.sts.issued_credentials();
            shared
                .federation
                .answer(&request.query, &issued, shared.clock.now())
        }
        "/oauth" if request.method == Method::GET => {
            shared.federation.oauth(&request.query, &shared.base)
        }
        "/console" if request.method == Method::GET => shared.federation.console(&request.query),
        "/" => {
            let users: Vec<String> = shared
                .config
                .users
                .iter()
                .map(|u| u.username.clone())
                .collect();
            let sign_on = shared.sign_on_url(&format!("loginToRp={AWS_RELYING_PARTY}"));
            html(StatusCode::OK, pages::index(sign_on.as_str(), &users))
        }
        _ => html(StatusCode::NOT_FOUND, pages::not_found()),
    }
}

impl Shared {
    fn sign_on_url(&self, query: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(SIGN_ON_PATH);
        url.set_query(Some(query));
        url
    }

    /// AD FS writes absolute URLs with its federation service name, which is the name clients
    /// reach it by: here the request's loopback `Host` (`localhost` or `127.0.0.1`), else the
    /// base.
    fn base_for(&self, request: &Request) -> Url {
        let host = request.header(axum::http::header::HOST);
        Url::parse(&format!("http://{host}/"))
            .ok()
            .filter(|url| {
                url.port() == self.base.port()
                    && match url.host() {
                        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                        None => false,
                    }
            })
            .unwrap_or_else(|| self.base.clone())
    }

    fn sign_on_url_for(&self, request: &Request, query: &str) -> Url {
        let mut url = self.base_for(request);
        url.set_path(SIGN_ON_PATH);
        url.set_query(Some(query));
        url
    }

    fn saml_url(&self) -> Url {
        let mut url = self.base.clone();
        url.set_path("/saml");
        url
    }

    fn destination(&self) -> String {
        self.config
            .destination
            .clone()
            .unwrap_or_else(|| self.saml_url().to_string())
    }

    /// The page to answer instead when `loginToRp` is missing or names no known trust.
    fn relying_party_refusal(&self, request: &Request) -> Option<Response> {
        let Some(rp) = request.param("loginToRp") else {
            return Some(html(
                StatusCode::OK,
                pages::idp_initiated(SIGN_ON_PATH, &self.config.relying_parties),
            ));
        };
        if self.config.relying_parties.iter().any(|known| known == rp) {
            None
        } else {
            // AD FS answers 200 with its error page, naming the trust it does not have.
            let page = pages::unknown_relying_party(
                rp,
                &random::guid(),
                &assertion::instant(self.clock.now()),
            );
            Some(html(StatusCode::OK, page))
        }
    }

    fn sign_on(&self, request: &Request) -> Response {
        if let Some(page) = self.relying_party_refusal(request) {
            return page;
        }
        if request.method == Method::POST {
            let form = request.form();
            if field(&form, "Context").is_some() {
                return self.mfa_post(request, &form);
            }
            if let Some(choice) = field(&form, "HomeRealmSelection") {
                return self.home_realm_post(request, choice);
            }
            if self.config.paginated
                && field(&form, "Password").is_none()
                && let Some(username) = field(&form, "UserName")
            {
                count(&self.counters.username_posts);
                return self.login_step_page(request, LoginStep::Password, username, "");
            }
            if field(&form, "UserName").is_some() || field(&form, "Password").is_some() {
                if let Some(Hostile::LoginPostRedirects { status, location }) = &self.config.hostile
                {
                    count(&self.counters.form_posts);
                    let mut response = html(
                        StatusCode::from_u16(*status).unwrap_or(StatusCode::TEMPORARY_REDIRECT),
                        String::new(),
                    );
                    append(&mut response, LOCATION, location);
                    return response;
                }
                return self.forms_post(request, &form);
            }
        }
        if let Some(session) = self.session(request) {
            return self.after_sign_in(&session);
        }
        if !self.config.claims_providers.is_empty() {
            return self.home_realm_page(request, None);
        }
        self.authentication_page(request, request.method == Method::GET)
    }

    /// What a client without a session is asked for, once its claims provider is known:
    /// integrated sign-in for an agent that can do it (`wia` allows it), else the login form.
    fn authentication_page(&self, request: &Request, wia: bool) -> Response {
        if wia && is_wia_user_agent(request.header(USER_AGENT)) {
            if let Some(Hostile::WiaAt(elsewhere)) = &self.config.hostile {
                let mut response = html(StatusCode::FOUND, String::new());
                append(&mut response, LOCATION, elsewhere);
                return response;
            }
            let mut wia = self.base_for(request);
            wia.set_path("/adfs/ls/wia");
            wia.set_query(Some(&request.raw_query));
            return redirect(&wia);
        }
        self.login_page(request, "", None)
    }

    fn home_realm_page(&self, request: &Request, error: Option<&str>) -> Response {
        let action = format!("{SIGN_ON_PATH}?{}", request.query_with_request_id());
        let providers: Vec<(String, String)> = self
            .config
            .claims_providers
            .iter()
            .map(|provider| (provider.id.clone(), provider.name.clone()))
            .collect();
        html(
            StatusCode::OK,
            pages::home_realm(&action, &providers, error),
        )
    }

    /// A claims provider was chosen: every one signs in against this directory.
    fn home_realm_post(&self, request: &Request, choice: &str) -> Response {
        keep(&mut lock(&self.home_realm_selections), choice.to_owned());
        if self
            .config
            .claims_providers
            .iter()
            .any(|provider| provider.id == choice)
        {
            self.authentication_page(request, true)
        } else {
            self.home_realm_page(request, Some(UNKNOWN_PROVIDER_TEXT))
        }
    }

    /// The login form, or the first page of a paginated one.
    fn login_page(&self, request: &Request, username: &str, error: Option<&str>) -> Response {
        if self.config.paginated {
            let step = if username.is_empty() {
                LoginStep::Username
            } else {
                LoginStep::Password
            };
            return self.login_step_page(
                request,
                step,
                username,
                &markup(error.unwrap_or_default()),
            );
        }
        count(&self.counters.login_pages_served);
        let mut action = format!("{SIGN_ON_PATH}?{}", request.query_with_request_id());
        let mut method = Some("post");
        match &self.config.hostile {
            Some(Hostile::LoginFormPostsTo(elsewhere)) => action.clone_from(elsewhere),
            Some(Hostile::GetLoginForm) => method = Some("get"),
            Some(Hostile::MethodlessLoginForm) => method = None,
            _ => {}
        }
        html(
            StatusCode::OK,
            pages::login(&action, method, username, error),
        )
    }

    /// A page of the paginated sign-in, with `error` as HTML.
    fn login_step_page(
        &self,
        request: &Request,
        step: LoginStep,
        username: &str,
        error: &str,
    ) -> Response {
        count(&self.counters.login_pages_served);
        let action = format!("{SIGN_ON_PATH}?{}", request.query_with_request_id());
        html(
            StatusCode::OK,
            pages::login_page(step, &action, Some("post"), username, error),
        )
    }

    fn forms_post(&self, request: &Request, form: &[(String, String)]) -> Response {
        count(&self.counters.form_posts);
        let typed = field(form, "UserName").unwrap_or_default();
        let password = field(form, "Password").unwrap_or_default();
        let kmsi = field(form, "Kmsi") == Some("true");
        let user = self.config.users.iter().position(|u| u.answers_to(typed));
        let fault = user.and_then(|user| self.config.users[user].fault);
        match fault {
            Some(Fault::LockedOut) => {
                return self.login_page(request, typed, Some(pages::LOCKED_OUT_TEXT));
            }
            // Extranet lockout answers the right password too as if it were wrong.
            Some(Fault::ExtranetLockout) => return self.wrong_password(request, typed),
            _ => {}
        }
        let Some(user) = user.filter(|&user| self.password_of(user) == password) else {
            return self.wrong_password(request, typed);
        };
        if fault == Some(Fault::PasswordExpired)
            && !lock(&self.changed_passwords).contains_key(&user)
        {
            let mut update = self.base_for(request);
            update.set_path(pages::UPDATE_PASSWORD_PATH);
            return redirect(&update);
        }
        if kmsi {
            count(&self.counters.kmsi_sign_ins);
        }
        self.primary_authenticated(request, user, kmsi)
    }

    /// The user's password now: the one changed on the update page, else the directory's.
    fn password_of(&self, user: usize) -> String {
        lock(&self.changed_passwords)
            .get(&user)
            .cloned()
            .unwrap_or_else(|| self.config.users[user].password.clone())
    }

    fn wrong_password(&self, request: &Request, typed: &str) -> Response {
        match &self.config.wrong_password_html {
            Some(error) if self.config.paginated => {
                self.login_step_page(request, LoginStep::Password, typed, error)
            }
            Some(error) => {
                count(&self.counters.login_pages_served);
                let action = format!("{SIGN_ON_PATH}?{}", request.query_with_request_id());
                html(
                    StatusCode::OK,
                    pages::login_with_error_html(&action, Some("post"), typed, error),
                )
            }
            None => self.login_page(request, typed, Some(pages::WRONG_PASSWORD_TEXT)),
        }
    }

    /// `/adfs/portal/updatepassword/`: `GET` shows the form, `POST` changes the password of a
    /// user whose old one is given.
    fn update_password(&self, request: &Request) -> Response {
        if request.method != Method::POST {
            return html(StatusCode::OK, pages::update_password("", None));
        }
        let form = request.form();
        let typed = field(&form, "UserName").unwrap_or_default();
        let old = field(&form, "OldPassword").unwrap_or_default();
        let new = field(&form, "NewPassword").unwrap_or_default();
        let confirm = field(&form, "ConfirmNewPassword").unwrap_or_default();
        let Some(user) = self
            .config
            .users
            .iter()
            .position(|u| u.answers_to(typed))
            .filter(|&user| self.password_of(user) == old)
        else {
            return html(
                StatusCode::OK,
                pages::update_password(typed, Some(pages::UPDATE_REFUSED_TEXT)),
            );
        };
        if new.is_empty() || new != confirm || new == old {
            return html(
                StatusCode::OK,
                pages::update_password(typed, Some(pages::NEW_PASSWORD_REFUSED_TEXT)),
            );
        }
        lock(&self.changed_passwords).insert(user, new.to_owned());
        count(&self.counters.password_changes);
        let sign_on = self.sign_on_url_for(request, &format!("loginToRp={AWS_RELYING_PARTY}"));
        html(StatusCode::OK, pages::password_updated(sign_on.as_str()))
    }

    /// The first factor passed (forms or WIA): ask for the second, or start the session
    /// (`keep`: a persistent one, "Keep me signed in").
    fn primary_authenticated(&self, request: &Request, user: usize, keep: bool) -> Response {
        let Some(account) = self.config.users.get(user) else {
            return html(StatusCode::INTERNAL_SERVER_ERROR, pages::unexpected_error());
        };
        let action = self.sign_on_url_for(request, &request.query_with_request_id());
        if account.fault == Some(Fault::UnknownAdapter) {
            return self.duo_page(&action, user, keep);
        }
        match &account.mfa {
            Some(mfa) => {
                let context = self.new_mfa_context(user, keep);
                html(
                    StatusCode::OK,
                    pages::mfa(action.as_str(), &mfa.adapter, &context, None),
                )
            }
            None => self.start_session(
                user,
                &self.sign_on_url_for(request, &request.raw_query),
                keep,
            ),
        }
    }

    /// The Duo-like page for `user`, with a fresh context and a transaction in the stand-in frame.
    fn duo_page(&self, action: &Url, user: usize, keep: bool) -> Response {
        let context = self.new_mfa_context(user, keep);
        let transaction = random::guid();
        let now = self.clock.now();
        {
            let mut transactions = lock(&self.duo_transactions);
            let lifetime = self.config.mfa_context_lifetime;
            transactions.retain(|_, t| t.issued_at + lifetime > now);
            transactions.insert(
                transaction.clone(),
                DuoTransaction {
                    context: context.clone(),
                    issued_at: now,
                    approved: false,
                },
            );
        }
        html(
            StatusCode::OK,
            pages::duo(action.as_str(), &context, &transaction),
        )
    }

    /// The stand-in for Duo's frame: `GET` shows the approval button, `POST` approves.
    fn duo_frame(&self, request: &Request) -> Response {
        let (transaction, approving) = if request.method == Method::POST {
            (field(&request.form(), "tx").map(str::to_owned), true)
        } else {
            (request.param("tx").map(str::to_owned), false)
        };
        let Some(transaction) = transaction else {
            return html(StatusCode::NOT_FOUND, pages::not_found());
        };
        let mut transactions = lock(&self.duo_transactions);
        let Some(waiting) = transactions.get_mut(&transaction) else {
            return html(StatusCode::NOT_FOUND, pages::not_found());
        };
        if approving {
            waiting.approved = true;
            html(StatusCode::OK, pages::duo_approved(&transaction))
        } else {
            html(StatusCode::OK, pages::duo_frame(&transaction))
        }
    }

    /// Whether `form` carries the approval of a Duo transaction made for `context`; it is used
    /// up either way.
    fn duo_approved(&self, context: &str, form: &[(String, String)]) -> bool {
        let Some(response) = field(form, pages::DUO_RESPONSE_FIELD) else {
            return false;
        };
        let mut transactions = lock(&self.duo_transactions);
        let found = transactions
            .iter()
            .find(|(id, t)| t.context == context && pages::duo_response(id) == response)
            .map(|(id, t)| (id.clone(), t.approved));
        match found {
            Some((id, approved)) => {
                transactions.remove(&id);
                approved
            }
            None => false,
        }
    }

    fn new_mfa_context(&self, user: usize, keep: bool) -> String {
        let context = random::base64(CONTEXT_BYTES);
        let issued_at = self.clock.now();
        lock(&self.mfa_contexts).insert(
            context.clone(),
            MfaContext {
                user,
                issued_at,
                keep,
            },
        );
        context
    }

    fn mfa_post(&self, request: &Request, form: &[(String, String)]) -> Response {
        count(&self.counters.mfa_posts);
        let now = self.clock.now();
        let presented = field(form, "Context").unwrap_or_default();
        let context = {
            let mut contexts = lock(&self.mfa_contexts);
            let lifetime = self.config.mfa_context_lifetime;
            contexts.retain(|_, c| c.issued_at + lifetime > now);
            contexts.get(presented).cloned()
        };
        // An unknown or expired context cannot be resumed: AD FS starts over at the login page.
        let Some(context) = context else {
            return self.login_page(request, "", Some(pages::CONTEXT_EXPIRED_TEXT));
        };
        let is_duo = self
            .config
            .users
            .get(context.user)
            .is_some_and(|u| u.fault == Some(Fault::UnknownAdapter));
        if is_duo {
            lock(&self.mfa_contexts).remove(presented);
            if self.duo_approved(presented, form) {
                return self.start_session(
                    context.user,
                    &self.sign_on_url_for(request, &request.raw_query),
                    context.keep,
                );
            }
            let action = self.sign_on_url_for(request, &request.query_with_request_id());
            return self.duo_page(&action, context.user, context.keep);
        }
        let Some(mfa) = self
            .config
            .users
            .get(context.user)
            .and_then(|u| u.mfa.as_ref())
        else {
            return self.login_page(request, "", Some(pages::CONTEXT_EXPIRED_TEXT));
        };
        if field(form, "Passcode").is_some_and(|code| code.trim() == mfa.passcode) {
            lock(&self.mfa_contexts).remove(presented);
            self.start_session(
                context.user,
                &self.sign_on_url_for(request, &request.raw_query),
                context.keep,
            )
        } else {
            let fresh = self.new_mfa_context(context.user, context.keep);
            let action = self.sign_on_url_for(request, &request.query_with_request_id());
            let page = pages::mfa(
                action.as_str(),
                &mfa.adapter,
                &fresh,
                Some(pages::WRONG_PASSCODE_TEXT),
            );
            html(StatusCode::OK, page)
        }
    }

    /// Opens an SSO session for `user` and sends the client back to `location` with it:
    /// `persistent` ("Keep me signed in") makes it the longer kind, in lasting cookies.
    fn start_session(&self, user: usize, location: &Url, persistent: bool) -> Response {
        let now = self.clock.now();
        let token = random::base64(TOKEN_BYTES);
        let lifetime = if persistent {
            self.config.kmsi_lifetime
        } else {
            self.config.sso_lifetime
        };
        let session = Session {
            user,
            authenticated_at: now,
            expires_at: now + lifetime,
        };
        lock(&self.sessions).insert(token.clone(), session);
        let mut response = redirect(location);
        let set_cookies = cookies::session_set_cookies(&token, now, persistent.then_some(lifetime));
        {
            let mut handed_out = lock(&self.handed_out);
            for cookie in &set_cookies {
                if let Some(value) = cookie
                    .split(';')
                    .next()
                    .and_then(|pair| pair.split_once('='))
                    .filter(|(name, _)| *name != "MSISAuthenticated")
                    .map(|(_, value)| value.to_owned())
                {
                    keep(&mut handed_out.sso_cookies, value);
                }
            }
        }
        for cookie in set_cookies {
            append(&mut response, SET_COOKIE, &cookie);
        }
        response
    }

    /// The valid session the request's `MSISAuth` cookies name, if any.
    fn session(&self, request: &Request) -> Option<Session> {
        let header = request.header(COOKIE);
        let token = cookies::msisauth_token(&cookies::parse(header))?;
        let now = self.clock.now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.expires_at > now);
        sessions.get(&token).cloned()
    }

    fn after_sign_in(&self, session: &Session) -> Response {
        let Some(user) = self.config.users.get(session.user) else {
            return html(StatusCode::INTERNAL_SERVER_ERROR, pages::unexpected_error());
        };
        if user.fault == Some(Fault::GarbageAfterLogin) {
            return html(StatusCode::OK, pages::unexpected_error());
        }
        let destination = self.destination();
        let host = self.base.host_str().unwrap_or("127.0.0.1");
        let host = match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let issue = Issue {
            user,
            host: &host,
            destination: &destination,
            provider_name: &self.config.provider_name,
            partition: &self.config.partition,
            now: self.clock.now(),
            authn_instant: session.authenticated_at,
            lifetime: self.config.assertion_lifetime,
        };
        let value = assertion::form_value(&issue);
        self.sts.remember(&value, &issue);
        keep(&mut lock(&self.handed_out).saml_responses, value.clone());
        count(&self.counters.assertions_issued);
        html(StatusCode::OK, pages::auto_post(&destination, &value))
    }

    fn wia(&self, request: &Request) -> Response {
        if let Some(page) = self.relying_party_refusal(request) {
            return page;
        }
        let authorization = request.header(AUTHORIZATION);
        let offered = authorization.split_once(' ').and_then(|(scheme, token)| {
            let scheme = WIA_SCHEMES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(scheme))?;
            Some((*scheme, STANDARD.decode(token.trim()).ok()?))
        });
        let Some((scheme, token)) = offered else {
            return wia_challenge();
        };
        // NTLM legs, also raw NTLMSSP under `Negotiate`, go to the built-in acceptor when it is
        // on; Negotiate (Kerberos) goes to the configured one.
        let is_ntlm = scheme == "NTLM" || ntlm::is_ntlmssp(&token);
        let acceptor: Option<&dyn WiaAcceptor> = match &self.ntlm {
            Some(builtin) if is_ntlm => Some(builtin),
            _ => self.config.wia.as_deref(),
        };
        let Some(acceptor) = acceptor else {
            return wia_challenge();
        };
        match acceptor.accept(scheme, &token, request.connection) {
            WiaStep::Continue(reply) => {
                let mut response = html(StatusCode::UNAUTHORIZED, pages::wia_challenge());
                append(
                    &mut response,
                    WWW_AUTHENTICATE,
                    &format!("{scheme} {}", STANDARD.encode(reply)),
                );
                response
            }
            WiaStep::Accepted { username, reply } => {
                let Some(user) = self
                    .config
                    .users
                    .iter()
                    .position(|u| u.answers_to(&username))
                else {
                    return wia_challenge();
                };
                let mut response = self.primary_authenticated(request, user, false);
                if let Some(reply) = reply {
                    append(
                        &mut response,
                        WWW_AUTHENTICATE,
                        &format!("{scheme} {}", STANDARD.encode(reply)),
                    );
                }
                response
            }
            WiaStep::Rejected => wia_challenge(),
        }
    }

    fn sign_out(&self, request: &Request) -> Response {
        count(&self.counters.sign_outs);
        let cookies = cookies::parse(request.header(COOKIE));
        if let Some(token) = cookies::msisauth_token(&cookies) {
            lock(&self.sessions).remove(&token);
        }
        let mut response = html(StatusCode::OK, pages::signed_out());
        for cookie in cookies::clearing_set_cookies(cookies::msisauth_count(&cookies)) {
            append(&mut response, SET_COOKIE, &cookie);
        }
        response
    }

    fn saml(&self, request: &Request) -> Response {
        count(&self.counters.alias_page_posts);
        let chooser = signin::Chooser {
            layout: self.config.role_chooser,
            aliases: &self.config.aliases,
        };
        match signin::sign_in(&request.form(), &chooser, self.clock.now()) {
            Ok(signin::SignIn::Chooser(page)) => html(StatusCode::OK, page),
            Ok(signin::SignIn::Role { assumed_role_arn }) => {
                self.federation.sign_in_as(assumed_role_arn);
                let mut console = self.base.clone();
                console.set_path(CONSOLE_PATH);
                redirect(&console)
            }
            Err(rejection) => html(StatusCode::BAD_REQUEST, signin::rejection_page(&rejection)),
        }
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    response
}

fn redirect(location: &Url) -> Response {
    let mut response = html(
        StatusCode::FOUND,
        format!(
            "<html><head><title>Object moved</title></head><body><h2>Object moved to <a href=\"{0}\">here</a>.</h2></body></html>",
            markup(location.as_str())
        ),
    );
    append(&mut response, LOCATION, location.as_str());
    response
}

/// `401` offering both schemes as separate headers, as AD FS's `/adfs/ls/wia` does.
fn wia_challenge() -> Response {
    let mut response = html(StatusCode::UNAUTHORIZED, pages::wia_challenge());
    for scheme in WIA_SCHEMES {
        append(&mut response, WWW_AUTHENTICATE, scheme);
    }
    response
}

fn append(response: &mut Response, name: HeaderName, value: &str) {
    // Every value here is built from ASCII the simulator chose; one that is not is dropped.
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(name, value);
    }
}
