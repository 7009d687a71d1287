//! AWS's console federation endpoint (`/federation`: `getSigninToken`, `login`), its sign-out
//! (`/oauth?Action=logout`) and a stand-in console page (`/console`) for the demo.
//!
//! It follows the IAM User Guide ("Enable custom identity broker access to the AWS console"):
//! `getSigninToken` takes the URL-encoded JSON `Session` of temporary credentials, which must be
//! ones this simulator's STS issued and not expired on the simulator's clock, and an optional
//! `SessionDuration` of 900 to 43200 seconds; it answers `{"SigninToken":"..."}`. `login` takes
//! the token (valid 15 minutes after it was issued; the guide sets no use count, so it may be
//! used again within them), a `Destination` and an `Issuer`, and sends the browser on with
//! `302`. AWS answers refusals with `400` and an HTML error page (its servlet container's:
//! "Invalid credentials parameter"); the simulator does the same, with the reason in the `<h1>`.
//! The exact wording AWS uses for a bad `SessionDuration` is not documented: the simulator says
//! which parameter it refused. AWS refuses `SessionDuration` only with `GetFederationToken`
//! credentials; every credential here comes from `AssumeRoleWithSAML`, so it is always allowed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use crate::escape::markup;
use crate::random;
use crate::server::keep;
use crate::sts::IssuedCredentials;

/// The federation endpoint's path, as on `signin.aws.amazon.com`.
pub const FEDERATION_PATH: &str = "/federation";
/// The sign-out's path, as on `signin.aws.amazon.com`.
pub const OAUTH_PATH: &str = "/oauth";
/// The stand-in console's path.
pub const CONSOLE_PATH: &str = "/console";

/// How long a login URL's token is honoured.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
const MIN_SESSION_DURATION: u32 = 900;
const MAX_SESSION_DURATION: u32 = 43_200;
/// Random bytes behind a `SigninToken`; AWS's are several hundred characters long.
const TOKEN_BYTES: usize = 600;
/// Tokens kept at most; older ones are forgotten first.
const MAX_TOKENS: usize = 1024;

/// What the federation endpoint remembers: the sign-in tokens it issued and the console
/// sessions it opened.
#[derive(Debug, Default)]
pub(crate) struct Federation {
    tokens: Mutex<HashMap<String, Token>>,
    /// Every token issued, newest last (for [`crate::HandedOut`]).
    issued: Mutex<Vec<String>>,
    /// The assumed-role ARN of the last console sign-in, until a sign-out.
    signed_in: Mutex<Option<String>>,
    sign_ins: AtomicU64,
    sign_outs: AtomicU64,
    /// The `SessionDuration` of each `getSigninToken` call, as sent.
    durations_asked: Mutex<Vec<Option<String>>>,
}

#[derive(Debug, Clone)]
struct Token {
    issued_at: OffsetDateTime,
    assumed_role_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    session_id: String,
    session_key: String,
    session_token: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Federation {
    pub(crate) fn sign_ins(&self) -> u64 {
        self.sign_ins.load(Ordering::Relaxed)
    }

    pub(crate) fn signin_tokens(&self) -> Vec<String> {
        lock(&self.issued).clone()
    }

    pub(crate) fn durations_asked(&self) -> Vec<Option<String>> {
        lock(&self.durations_asked).clone()
    }

    pub(crate) fn sign_outs(&self) -> u64 {
        self.sign_outs.load(Ordering::Relaxed)
    }

    /// `GET /federation`.
    pub(crate) fn answer(
        &self,
        query: &[(String, String)],
        issued: &[IssuedCredentials],
        now: OffsetDateTime,
    ) -> Response {
        match param(query, "Action") {
            Some("getSigninToken") => self.get_signin_token(query, issued, now),
            Some("login") => self.login(query, now),
            _ => error_page("Invalid Action parameter"),
        }
    }

    fn get_signin_token(
        &self,
        query: &[(String, String)],
        issued: &[IssuedCredentials],
        now: OffsetDateTime,
    ) -> Response {
        keep(
            &mut lock(&self.durations_asked),
            param(query, "SessionDuration").map(str::to_owned),
        );
        if let Some(text) = param(query, "SessionDuration") {
            let valid = text
                .parse::<u32>()
                .is_ok_and(|s| (MIN_SESSION_DURATION..=MAX_SESSION_DURATION).contains(&s));
            if !valid {
                return error_page("Invalid SessionDuration parameter");
            }
        }
        let Some(session) = param(query, "Session") else {
            return error_page("Missing credentials parameter");
        };
        let Ok(session) = serde_json::from_str::<Session>(session) else {
            return error_page("Invalid credentials parameter");
        };
        let matching = issued.iter().find(|c| {
            c.access_key_id == session.session_id
                && c.secret_access_key == session.session_key
                && c.session_token == session.session_token
        });
        // Unknown, altered and expired credentials look the same from outside.
        let Some(credentials) = matching.filter(|c| c.expiration > now) else {
            return error_page("Invalid credentials parameter");
        };
        let token = signin_token();
        {
            let mut tokens = lock(&self.tokens);
            tokens.retain(|_, t| t.issued_at + TOKEN_LIFETIME > now);
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
            tokens.insert(
                token.clone(),
                Token {
                    issued_at: now,
                    assumed_role_arn: credentials.assumed_role_arn.clone(),
                },
            );
        }
        keep(&mut lock(&self.issued), token.clone());
        let body = serde_json::json!({ "SigninToken": token }).to_string();
        response(StatusCode::OK, "application/json", body)
    }

    fn login(&self, query: &[(String, String)], now: OffsetDateTime) -> Response {
        let token = param(query, "SigninToken").and_then(|presented| {
            lock(&self.tokens)
                .get(presented)
                .filter(|t| t.issued_at + TOKEN_LIFETIME > now)
                .cloned()
        });
        let Some(token) = token else {
            return error_page(
                "The credentials in your login link were invalid. Please contact your \
                 administrator.",
            );
        };
        let destination = param(query, "Destination")
            .and_then(|d| Url::parse(d).ok())
            .filter(|d| matches!(d.scheme(), "https" | "http"));
        let Some(destination) = destination else {
            return error_page("Invalid Destination parameter");
        };
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
        *lock(&self.signed_in) = Some(token.assumed_role_arn);
        redirect(&destination)
    }

    /// Opens the console session as `assumed_role_arn`, for a role chosen on the `/saml` page.
    pub(crate) fn sign_in_as(&self, assumed_role_arn: String) {
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
        *lock(&self.signed_in) = Some(assumed_role_arn);
    }

    /// `GET /oauth?Action=logout[&redirect_uri=...]`: ends the console session, then goes on to
    /// `redirect_uri` when it is on this host (AWS follows it only to its own sign-in host).
    pub(crate) fn oauth(&self, query: &[(String, String)], base: &Url) -> Response {
        if param(query, "Action") != Some("logout") {
            return error_page("Invalid Action parameter");
        }
        self.sign_outs.fetch_add(1, Ordering::Relaxed);
        *lock(&self.signed_in) = None;
        let onward = param(query, "redirect_uri")
            .and_then(|uri| Url::parse(uri).ok())
            .filter(|uri| uri.origin() == base.origin());
        match onward {
            Some(uri) => redirect(&uri),
            None => response(
                StatusCode::OK,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><head><title>Signed out</title></head><body>\
                 <h1>You have signed out of the AWS console (Rolecall demo)</h1></body></html>"
                    .to_owned(),
            ),
        }
    }

    /// `GET /console`: who the console is signed in as.
    pub(crate) fn console(&self, query: &[(String, String)]) -> Response {
        let region = param(query, "region").unwrap_or("us-east-1");
        let who = match lock(&self.signed_in).as_deref() {
            Some(arn) => format!("Signed in as <code id=\"principal\">{}</code>", markup(arn)),
            None => "Not signed in.".to_owned(),
        };
        let page = format!(
            "<!DOCTYPE html><html><head><title>AWS console (Rolecall demo)</title></head><body>\
             <h1>AWS console (Rolecall demo)</h1><p>{who}</p>\
             <p>Region: <code id=\"region\">{}</code></p></body></html>",
            markup(region)
        );
        response(StatusCode::OK, "text/html; charset=utf-8", page)
    }
}

/// A URL-safe random token, shaped like AWS's.
fn signin_token() -> String {
    random::base64(TOKEN_BYTES)
        .chars()
        .filter_map(|c| match c {
            '+' => Some('-'),
            '/' => Some('_'),
            '=' => None,
            c => Some(c),
        })
        .collect()
}

fn response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    response
}

/// `400` with the servlet-container error page AWS's federation endpoint answers with.
fn error_page(message: &str) -> Response {
    let message = markup(message);
    let page = format!(
        "<!DOCTYPE html><html><head><title>Error</title></head><body>\
         <h1>HTTP Status 400 - {message}</h1><hr/><p><b>type</b> Status report</p>\
         <p><b>message</b> <u>{message}</u></p><p><b>description</b> <u>The request sent by the \
         client was syntactically incorrect.</u></p></body></html>"
    );
    response(StatusCode::BAD_REQUEST, "text/html; charset=utf-8", page)
}

fn redirect(location: &Url) -> Response {
    let mut response = response(StatusCode::FOUND, "text/html; charset=utf-8", String::new());
    if let Ok(value) = HeaderValue::from_str(location.as_str()) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}
