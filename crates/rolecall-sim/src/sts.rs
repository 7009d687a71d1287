//! The stand-in for AWS STS: `AssumeRoleWithSAML`, `AssumeRole` (role chaining from a session
//! it issued) and `GetCallerIdentity` over the awsQuery
//! protocol (form-encoded request, `text/xml` answer), with AWS's response and error shapes and
//! status codes, so STS clients can be tested against the errors real STS gives (and moto
//! cannot). It redeems only assertions this simulator issued: each one's `Response/@ID` is kept
//! with a keyed hash of its XML, which stands in for STS checking the IdP's signature. It never
//! verifies SigV4 signatures; `AssumeRole` and `GetCallerIdentity` only read the access key id
//! they name (and check the session token that goes with it). A chained `AssumeRole` follows
//! AWS's rules: at most one hour, the caller's `SourceIdentity` kept and never changed.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::assertion::Issue;
use crate::clock::Clock;
use crate::config::StsConfig;
use crate::escape::markup;
use crate::random;
use crate::saml_read::{Claims, RolePair, read_claims, read_response, response_id};
use crate::server::keep;

/// The path `Sim::sts_url` names; `POST /` reaches STS too, as on `sts.amazonaws.com`.
pub const STS_PATH: &str = "/sts";

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// STS refuses assertions longer than this (about 590 roles).
const MAX_ASSERTION_CHARS: usize = 100_000;
const MIN_DURATION: u32 = 900;
const MAX_DURATION: u32 = 43_200;
const DEFAULT_DURATION: u32 = 3_600;
/// STS redeems an assertion only this long after its `IssueInstant`, whatever its conditions say.
const REDEEM_WITHIN: Duration = Duration::from_secs(5 * 60);

/// How many verified assertions are kept for quick redemption.
const VERIFIED_CACHE: usize = 16;

/// One set of temporary credentials the simulated STS handed out.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `ASIA` and 16 upper-case letters and digits.
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Whole seconds, as STS writes it.
    pub expiration: OffsetDateTime,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`.
    pub assumed_role_arn: String,
    /// `AROA...:<session name>`.
    pub assumed_role_id: String,
    pub account: String,
    pub role_arn: String,
    /// The SAML provider, for a session from `AssumeRoleWithSAML`; empty for a chained one.
    pub principal_arn: String,
    /// The `SourceIdentity` the session carries: the assertion's, kept through every chain.
    pub source_identity: Option<String>,
    /// For a session from `AssumeRole`, the access key id of the session that signed the call.
    pub chained_from: Option<String>,
}

/// One `AssumeRole` call as it came, answered or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleCall {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<String>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
    /// The access key id the call was signed with.
    pub signed_with: Option<String>,
}

impl fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// What the simulated STS remembers: the assertions it may redeem, the credentials it issued,
/// its counters.
#[derive(Debug, Default)]
pub(crate) struct Sts {
    /// Keys the hash that marks an assertion as the simulator's own.
    seal: RandomState,
    assertions: Mutex<HashMap<String, Issued>>,
    /// The last few assertions verified, by their `SAMLAssertion` text: Rolecall redeems one
    /// assertion for hundreds of roles, and decoding it each time is the slow part.
    verified: Mutex<Vec<(String, Verified)>>,
    credentials: Mutex<BTreeMap<String, IssuedCredentials>>,
    calls: AtomicU64,
    errors: AtomicU64,
    /// `AssumeRoleWithSAML` calls so far, for the throttling knob.
    assume_calls: AtomicU64,
    /// The `DurationSeconds` of each `AssumeRoleWithSAML` call, as sent.
    durations_asked: Mutex<Vec<Option<String>>>,
    /// Every `AssumeRole` call, as sent.
    assume_role_calls: Mutex<Vec<AssumeRoleCall>>,
}

/// An assertion the simulator issued, by `Response/@ID`.
#[derive(Debug)]
struct Issued {
    seal: u64,
    issued_at: OffsetDateTime,
    /// For an `EncryptedAssertion`: the claims STS would find after decrypting it.
    sealed_claims: Option<Claims>,
}

#[derive(Debug, Clone)]
struct Verified {
    issued_at: OffsetDateTime,
    claims: Arc<Claims>,
}

/// An awsQuery error: HTTP status, `Code`, `Message`.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// AWS's model-validation error, listing every constraint that failed.
    fn validation(problems: &[String]) -> Self {
        let noun = if problems.len() == 1 {
            "error"
        } else {
            "errors"
        };
        Self::validation_text(format!(
            "{} validation {noun} detected: {}",
            problems.len(),
            problems.join("; ")
        ))
    }

    fn validation_text(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidIdentityToken", message)
    }

    fn expired_assertion(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ExpiredTokenException", message)
    }

    fn access_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithSAML",
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Sts {
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub(crate) fn durations_asked(&self) -> Vec<Option<String>> {
        lock(&self.durations_asked).clone()
    }

    pub(crate) fn assume_role_calls(&self) -> Vec<AssumeRoleCall> {
        lock(&self.assume_role_calls).clone()
    }

    pub(crate) fn issued_credentials(&self) -> Vec<IssuedCredentials> {
        lock(&self.credentials).values().cloned().collect()
    }

    /// Records a `SAMLResponse` value AD FS just handed out, so STS will redeem it. Values that
    /// are not base64 (the broken fault) are not recorded: no IdP signed them.
    pub(crate) fn remember(&self, saml_response: &str, issue: &Issue<'_>) {
        let Ok(bytes) = STANDARD.decode(saml_response) else {
            return;
        };
        let Some(id) = read_response(&String::from_utf8_lossy(&bytes))
            .as_deref()
            .and_then(response_id)
        else {
            return;
        };
        let encrypted = String::from_utf8_lossy(&bytes).contains("EncryptedAssertion");
        let issued = Issued {
            seal: self.seal.hash_one(&bytes),
            issued_at: issue.now,
            sealed_claims: encrypted.then(|| issued_claims(issue)),
        };
        lock(&self.assertions).insert(id, issued);
    }

    /// Answers one STS request: `query` and the form `body` together are its parameters.
    pub(crate) async fn answer(
        &self,
        config: &StsConfig,
        clock: &Clock,
        headers: &HeaderMap,
        query: &[(String, String)],
        body: &[u8],
    ) -> Response {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !config.latency.is_zero() {
            // No lock is held here: concurrent calls wait side by side, as on the real service.
            tokio::time::sleep(config.latency).await;
        }
        let mut params = query.to_vec();
        params.extend(url::form_urlencoded::parse(body).into_owned());
        let request_id = random::guid();
        let now = clock.now();
        let answered = match param(&params, "Action") {
            Some("AssumeRoleWithSAML") => self.assume_role_with_saml(config, now, &params),
            Some("AssumeRole") => self.assume_role(config, now, headers, &params),
            Some("GetCallerIdentity") => self.get_caller_identity(now, headers, &params),
            Some(other) => Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("Could not find operation {other} for version 2011-06-15"),
            )),
            None => Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "MissingAction",
                "Missing Action",
            )),
        };
        match answered {
            Ok(result) => xml(StatusCode::OK, &request_id, &result.render(&request_id)),
            Err(failure) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"<ErrorResponse xmlns="{NAMESPACE}">
  <Error>
    <Type>Sender</Type>
    <Code>{}</Code>
    <Message>{}</Message>
  </Error>
  <RequestId>{request_id}</RequestId>
</ErrorResponse>
"#,
                    failure.code,
                    markup(&failure.message)
                );
                xml(failure.status, &request_id, &body)
            }
        }
    }

    fn assume_role_with_saml(
        &self,
        config: &StsConfig,
        now: OffsetDateTime,
        params: &[(String, String)],
    ) -> Result<Answer, Failure> {
        keep(
            &mut lock(&self.durations_asked),
            param(params, "DurationSeconds").map(str::to_owned),
        );
        let call = self.assume_calls.fetch_add(1, Ordering::Relaxed) + 1;
        let every = u64::from(config.throttle_every);
        if call <= u64::from(config.throttle_first) || (every > 0 && call.is_multiple_of(every)) {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Throttling",
                "Rate exceeded",
            ));
        }

        let role_arn = param(params, "RoleArn");
        let principal_arn = param(params, "PrincipalArn");
        let assertion = param(params, "SAMLAssertion");
        let duration = param(params, "DurationSeconds");
        let mut problems = Vec::new();
        for (value, member) in [
            (role_arn, "roleArn"),
            (principal_arn, "principalArn"),
            (assertion, "sAMLAssertion"),
        ] {
            if value.is_none() {
                problems.push(format!(
                    "Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ));
            }
        }
        if let Some(assertion) = assertion {
            let chars = assertion.chars().count();
            if chars > MAX_ASSERTION_CHARS {
                problems.push(format!("Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to {MAX_ASSERTION_CHARS}"));
            } else if chars < 4 {
                problems.push("Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length greater than or equal to 4".to_owned());
            }
        }
        let duration = match duration.map(str::trim) {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(seconds) if seconds < i64::from(MIN_DURATION) => {
                    problems.push(format!("Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"));
                    None
                }
                Ok(seconds) if seconds > i64::from(MAX_DURATION) => {
                    problems.push(format!("Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {MAX_DURATION}"));
                    None
                }
                Ok(seconds) => u32::try_from(seconds).ok(),
                Err(_) => {
                    // awsQuery rejects a non-number before the model constraints are checked.
                    return Err(Failure::new(
                        StatusCode::BAD_REQUEST,
                        "MalformedInput",
                        format!("Invalid value for parameter DurationSeconds, value: {text}"),
                    ));
                }
            },
        };
        let (Some(role_arn), Some(principal_arn), Some(assertion), true) =
            (role_arn, principal_arn, assertion, problems.is_empty())
        else {
            return Err(Failure::validation(&problems));
        };
        let account = arn_field(role_arn, 4).to_owned();
        if config.disabled {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "RegionDisabledException",
                format!(
                    "STS is not activated in this region for account:{account}. Your account administrator can activate STS in this region using the IAM Console."
                ),
            ));
        }

        let claims = self.redeemable_claims(assertion, now)?;
        let session_name = claims
            .session_name
            .as_deref()
            .filter(|name| valid_session_name(name))
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::FORBIDDEN,
                    "IDPRejectedClaim",
                    "Invalid RoleSessionName in SAML assertion",
                )
            })?;
        let granted = claims
            .roles
            .iter()
            .any(|pair| pair.role_arn == role_arn && pair.provider_arn == principal_arn);
        if !granted || config.denies(role_arn) {
            return Err(Failure::access_denied());
        }
        let max = config.max_session_duration_for(role_arn);
        let duration = match duration {
            Some(seconds) if seconds > max => {
                return Err(Failure::validation_text(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                ));
            }
            Some(seconds) => seconds,
            None => DEFAULT_DURATION.min(max),
        };
        let duration = match config.session_cap {
            Some(cap) => duration.min(u32::try_from(cap.as_secs()).unwrap_or(u32::MAX)),
            None => duration,
        };

        let role_name = role_arn.rsplit('/').next().unwrap_or_default();
        let partition = arn_field(role_arn, 1);
        let assumed_role_id = format!("AROA{}:{session_name}", role_id(role_arn));
        let assumed_role_arn =
            format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}");
        let expiration = (now + Duration::from_secs(u64::from(duration)))
            .replace_nanosecond(0)
            .unwrap_or(now);
        let credentials = IssuedCredentials {
            access_key_id: format!("ASIA{}", upper_alnum(&random::bytes(16))),
            secret_access_key: random::base64(30),
            session_token: format!("IQoJb3JpZ2luX2VjE{}", random::base64(618)),
            expiration,
            assumed_role_arn,
            assumed_role_id,
            account,
            role_arn: role_arn.to_owned(),
            principal_arn: principal_arn.to_owned(),
            source_identity: claims.source_identity.clone(),
            chained_from: None,
        };
        lock(&self.credentials).insert(credentials.access_key_id.clone(), credentials.clone());

        let policies = params
            .iter()
            .filter(|(name, _)| name == "Policy" || name.starts_with("PolicyArns.member."))
            .map(|(_, value)| value.len())
            .collect::<Vec<_>>();
        let packed_policy_size = (!policies.is_empty()).then(|| {
            // A percentage of the packed limit; AWS compresses, so short policies come out small.
            let packed = policies.iter().sum::<usize>() / 4 + 50 * policies.len();
            (packed * 100 / 2048).clamp(1, 100)
        });
        Ok(Answer::AssumeRoleWithSaml {
            credentials,
            claims,
            provider_name: principal_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            packed_policy_size,
        })
    }

    /// The claims of an assertion STS may redeem now, or why it may not.
    fn redeemable_claims(
        &self,
        assertion: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Claims>, Failure> {
        let cached = lock(&self.verified)
            .iter()
            .find(|(text, _)| text == assertion)
            .map(|(_, verified)| verified.clone());
        let Verified { issued_at, claims } = match cached {
            Some(verified) => verified,
            None => {
                let verified = self.verify(assertion)?;
                let mut cache = lock(&self.verified);
                if cache.len() >= VERIFIED_CACHE {
                    cache.remove(0);
                }
                cache.push((assertion.to_owned(), verified.clone()));
                verified
            }
        };
        if now >= issued_at + REDEEM_WITHIN {
            return Err(Failure::expired_assertion(
                "Token must be redeemed within 5 minutes of issuance",
            ));
        }
        if claims.not_on_or_after.is_some_and(|end| now >= end) {
            return Err(Failure::expired_assertion(
                "Assertion is no longer valid: its NotOnOrAfter has passed",
            ));
        }
        Ok(claims)
    }

    /// Decodes an assertion, checks that this simulator issued it, and reads its claims.
    fn verify(&self, assertion: &str) -> Result<Verified, Failure> {
        let compact: String = assertion
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = STANDARD
            .decode(compact)
            .map_err(|_| Failure::invalid_token("Invalid base64 SAMLResponse"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::invalid_token("Invalid SAML response: not UTF-8 XML"))?;
        if text.to_ascii_lowercase().contains("<!doctype") {
            return Err(Failure::invalid_token(
                "Invalid SAML response: DOCTYPE is not allowed",
            ));
        }
        let elements = read_response(&text).ok_or_else(|| {
            Failure::invalid_token("Invalid SAML response: not a well-formed samlp:Response")
        })?;
        let (issued_at, sealed_claims) = {
            let assertions = lock(&self.assertions);
            let issued = response_id(&elements)
                .and_then(|id| assertions.get(&id))
                .filter(|issued| issued.seal == self.seal.hash_one(text.as_bytes()))
                .ok_or_else(|| Failure::invalid_token("Response signature invalid"))?;
            (issued.issued_at, issued.sealed_claims.clone())
        };
        let claims = match sealed_claims {
            Some(claims) => claims,
            None => read_claims(&elements).ok_or_else(|| {
                Failure::invalid_token("Invalid SAML response: its status is not Success")
            })?,
        };
        Ok(Verified {
            issued_at,
            claims: Arc::new(claims),
        })
    }

    /// The session that signed the request: a key this STS issued, with its own session token,
    /// not expired.
    fn caller(
        &self,
        now: OffsetDateTime,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Result<IssuedCredentials, Failure> {
        let credential = signing_key(headers, params).ok_or_else(|| {
            Failure::new(
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            )
        })?;
        let token = header(headers, "x-amz-security-token")
            .or_else(|| param(params, "X-Amz-Security-Token").map(str::to_owned));
        let invalid = || {
            Failure::new(
                StatusCode::FORBIDDEN,
                "InvalidClientTokenId",
                "The security token included in the request is invalid",
            )
        };
        let credentials = lock(&self.credentials)
            .get(&credential)
            .cloned()
            .ok_or_else(invalid)?;
        // Signatures are not checked, but a session token that is not this key's is refused.
        if token.is_some_and(|token| token != credentials.session_token) {
            return Err(invalid());
        }
        if now >= credentials.expiration {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "The security token included in the request is expired",
            ));
        }
        Ok(credentials)
    }

    fn get_caller_identity(
        &self,
        now: OffsetDateTime,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Result<Answer, Failure> {
        self.caller(now, headers, params)
            .map(Answer::GetCallerIdentity)
    }

    /// `AssumeRole` from a session this STS issued. Every caller is a role session, so this is
    /// role chaining: AWS refuses more than an hour, and the caller's `SourceIdentity` stays.
    fn assume_role(
        &self,
        config: &StsConfig,
        now: OffsetDateTime,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Result<Answer, Failure> {
        let asked = |name| param(params, name).map(str::to_owned);
        keep(
            &mut lock(&self.assume_role_calls),
            AssumeRoleCall {
                role_arn: asked("RoleArn"),
                role_session_name: asked("RoleSessionName"),
                duration_seconds: asked("DurationSeconds"),
                external_id: asked("ExternalId"),
                source_identity: asked("SourceIdentity"),
                signed_with: signing_key(headers, params),
            },
        );
        let caller = self.caller(now, headers, params)?;
        let role_arn = param(params, "RoleArn");
        let session_name = param(params, "RoleSessionName");
        let mut problems = Vec::new();
        for (value, member) in [(role_arn, "roleArn"), (session_name, "roleSessionName")] {
            if value.is_none() {
                problems.push(format!(
                    "Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ));
            }
        }
        if let Some(name) = session_name
            && !valid_session_name(name)
        {
            problems.push(format!("Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"));
        }
        let duration = match param(params, "DurationSeconds").map(str::trim) {
            None => DEFAULT_DURATION,
            Some(text) => match text.parse::<u32>() {
                Ok(seconds) if (MIN_DURATION..=MAX_DURATION).contains(&seconds) => seconds,
                Ok(seconds) => {
                    problems.push(format!("Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between {MIN_DURATION} and {MAX_DURATION}"));
                    DEFAULT_DURATION
                }
                Err(_) => {
                    return Err(Failure::new(
                        StatusCode::BAD_REQUEST,
                        "MalformedInput",
                        format!("Invalid value for parameter DurationSeconds, value: {text}"),
                    ));
                }
            },
        };
        let (Some(role_arn), Some(session_name), true) =
            (role_arn, session_name, problems.is_empty())
        else {
            return Err(Failure::validation(&problems));
        };
        if duration > DEFAULT_DURATION {
            return Err(Failure::validation_text(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ));
        }
        let denied = || {
            Failure::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!(
                    "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                    caller.assumed_role_arn
                ),
            )
        };
        if arn_field(role_arn, 2) != "iam"
            || !role_arn.contains(":role/")
            || config.denies(role_arn)
        {
            return Err(denied());
        }
        if let Some(wanted) = config.external_id_for(role_arn)
            && param(params, "ExternalId") != Some(wanted)
        {
            return Err(denied());
        }
        let source_identity = match (&caller.source_identity, param(params, "SourceIdentity")) {
            (Some(kept), Some(asked)) if kept != asked => return Err(denied()),
            (Some(kept), _) => Some(kept.clone()),
            (None, asked) => asked.map(str::to_owned),
        };
        let duration = match config.session_cap {
            Some(cap) => duration.min(u32::try_from(cap.as_secs()).unwrap_or(u32::MAX)),
            None => duration,
        };
        let account = arn_field(role_arn, 4).to_owned();
        let role_name = role_arn.rsplit('/').next().unwrap_or_default();
        let partition = arn_field(role_arn, 1);
        let credentials = IssuedCredentials {
            access_key_id: format!("ASIA{}", upper_alnum(&random::bytes(16))),
            secret_access_key: random::base64(30),
            session_token: format!("IQoJb3JpZ2luX2VjE{}", random::base64(618)),
            expiration: (now + Duration::from_secs(u64::from(duration)))
                .replace_nanosecond(0)
                .unwrap_or(now),
            assumed_role_arn: format!(
                "arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"
            ),
            assumed_role_id: format!("AROA{}:{session_name}", role_id(role_arn)),
            account,
            role_arn: role_arn.to_owned(),
            principal_arn: String::new(),
            source_identity,
            chained_from: Some(caller.access_key_id),
        };
        lock(&self.credentials).insert(credentials.access_key_id.clone(), credentials.clone());
        Ok(Answer::AssumeRole(credentials))
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The access key id a request is signed with: a signed header, or the presigned form's query
/// parameters.
fn signing_key(headers: &HeaderMap, params: &[(String, String)]) -> Option<String> {
    header(headers, AUTHORIZATION.as_str())
        .and_then(|auth| {
            let (_, rest) = auth.split_once("Credential=")?;
            Some(rest.split(['/', ',', ' ']).next()?.to_owned())
        })
        .or_else(|| {
            param(params, "X-Amz-Credential")
                .and_then(|c| c.split('/').next())
                .map(str::to_owned)
        })
        .filter(|key| !key.is_empty())
}

/// A successful result, rendered once the request id is known.
#[derive(Debug)]
enum Answer {
    AssumeRoleWithSaml {
        credentials: IssuedCredentials,
        claims: Arc<Claims>,
        provider_name: String,
        packed_policy_size: Option<usize>,
    },
    AssumeRole(IssuedCredentials),
    GetCallerIdentity(IssuedCredentials),
}

impl Answer {
    fn render(&self, request_id: &str) -> String {
        match self {
            Answer::AssumeRoleWithSaml {
                credentials: c,
                claims,
                provider_name,
                packed_policy_size,
            } => {
                let packed = packed_policy_size
                    .map(|size| format!("\n    <PackedPolicySize>{size}</PackedPolicySize>"))
                    .unwrap_or_default();
                let subject_type = claims
                    .subject_format
                    .rsplit_once("nameid-format:")
                    .map_or(claims.subject_format.as_str(), |(_, kind)| kind);
                format!(
                    r#"<AssumeRoleWithSAMLResponse xmlns="{NAMESPACE}">
  <AssumeRoleWithSAMLResult>
    <Audience>{audience}</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>{role_id}</AssumedRoleId>
      <Arn>{arn}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <Issuer>{issuer}</Issuer>
    <NameQualifier>{qualifier}</NameQualifier>{packed}
    <Subject>{subject}</Subject>
    <SubjectType>{subject_type}</SubjectType>
  </AssumeRoleWithSAMLResult>
  <ResponseMetadata>
    <RequestId>{request_id}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithSAMLResponse>
"#,
                    audience = markup(&claims.recipient),
                    role_id = markup(&c.assumed_role_id),
                    arn = markup(&c.assumed_role_arn),
                    akid = c.access_key_id,
                    secret = c.secret_access_key,
                    token = c.session_token,
                    expiration = timestamp(c.expiration),
                    issuer = markup(&claims.issuer),
                    qualifier = name_qualifier(&claims.issuer, &c.account, provider_name),
                    subject = markup(&claims.subject),
                    subject_type = markup(subject_type),
                )
            }
            Answer::AssumeRole(c) => {
                let source_identity = c
                    .source_identity
                    .as_deref()
                    .map(|identity| {
                        format!(
                            "\n    <SourceIdentity>{}</SourceIdentity>",
                            markup(identity)
                        )
                    })
                    .unwrap_or_default();
                format!(
                    r#"<AssumeRoleResponse xmlns="{NAMESPACE}">
  <AssumeRoleResult>{source_identity}
    <AssumedRoleUser>
      <AssumedRoleId>{role_id}</AssumedRoleId>
      <Arn>{arn}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>{request_id}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
"#,
                    role_id = markup(&c.assumed_role_id),
                    arn = markup(&c.assumed_role_arn),
                    akid = c.access_key_id,
                    secret = c.secret_access_key,
                    token = c.session_token,
                    expiration = timestamp(c.expiration),
                )
            }
            Answer::GetCallerIdentity(c) => format!(
                r#"<GetCallerIdentityResponse xmlns="{NAMESPACE}">
  <GetCallerIdentityResult>
    <Arn>{arn}</Arn>
    <UserId>{user_id}</UserId>
    <Account>{account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>{request_id}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
"#,
                arn = markup(&c.assumed_role_arn),
                user_id = markup(&c.assumed_role_id),
                account = markup(&c.account),
            ),
        }
    }
}

fn xml(status: StatusCode, request_id: &str, body: &str) -> Response {
    let mut response = Response::new(Body::from(body.to_owned()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), value);
    }
    response
}

/// STS's timestamps: UTC, whole seconds, `Z`.
fn timestamp(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Field `index` of a colon-separated ARN (1 partition, 4 account).
fn arn_field(arn: &str, index: usize) -> &str {
    arn.split(':').nth(index).unwrap_or_default()
}

/// AWS's rule for role session names: `[\w+=,.@-]{2,64}`.
fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// Sixteen of `[A-Z0-9]` from `bytes`.
fn upper_alnum(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    bytes
        .iter()
        .take(16)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A role's unique id: the same for a role ARN every time, as IAM's are.
fn role_id(role_arn: &str) -> String {
    upper_alnum(&stable_bytes(role_arn, 16))
}

/// AWS's `NameQualifier` is base64(SHA-1(issuer + account + "/" + provider)); the simulator
/// has no SHA-1, so it gives a stable value of the same shape.
fn name_qualifier(issuer: &str, account: &str, provider: &str) -> String {
    STANDARD.encode(stable_bytes(&format!("{issuer}{account}/{provider}"), 20))
}

/// `len` bytes that depend only on `text`: MD5 of a round number and the text, as many rounds
/// as needed (`DefaultHasher` would do, but its algorithm may change between Rust releases).
fn stable_bytes(text: &str, len: usize) -> Vec<u8> {
    use md5::{Digest, Md5};

    let mut out = Vec::with_capacity(len + 16);
    let mut round = 0u32;
    while out.len() < len {
        let mut hasher = Md5::new();
        hasher.update(round.to_le_bytes());
        hasher.update(text.as_bytes());
        out.extend_from_slice(&hasher.finalize());
        round += 1;
    }
    out.truncate(len);
    out
}

/// The claims an issued assertion carries, for STS to "decrypt" an `EncryptedAssertion` with.
fn issued_claims(issue: &Issue<'_>) -> Claims {
    let roles = issue
        .user
        .roles
        .iter()
        .map(|role| RolePair {
            role_arn: format!(
                "arn:{}:iam::{}:role/{}",
                issue.partition, role.account_id, role.role_name
            ),
            provider_arn: format!(
                "arn:{}:iam::{}:saml-provider/{}",
                issue.partition, role.account_id, issue.provider_name
            ),
        })
        .collect();
    Claims {
        issuer: format!("http://{}/adfs/services/trust", issue.host),
        subject: format!("CORP\\{}", issue.user.username),
        subject_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".to_owned(),
        recipient: issue.destination.to_owned(),
        session_name: Some(issue.user.session_name.clone()),
        source_identity: issue.user.source_identity.clone(),
        roles,
        not_on_or_after: Some(issue.now + issue.lifetime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_aws_rule() {
        assert!(valid_session_name("alice@corp.example"));
        assert!(valid_session_name("a_b+c=d,e.f@g-h"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("alice smith"));
        assert!(!valid_session_name(&"x".repeat(65)));
    }

    #[test]
    fn role_ids_are_stable_and_shaped() {
        let id = role_id("arn:aws:iam::1:role/A");
        assert_eq!(id, role_id("arn:aws:iam::1:role/A"));
        assert_ne!(id, role_id("arn:aws:iam::1:role/B"));
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(name_qualifier("i", "1", "P").len(), 28);
    }

    #[test]
    fn timestamps_are_whole_seconds_with_z() {
        let at = OffsetDateTime::UNIX_EPOCH + Duration::from_millis(61_500);
        assert_eq!(timestamp(at), "1970-01-01T00:01:01Z");
    }
}
