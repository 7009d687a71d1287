//! AWS STS: turning a SAML assertion and a role into temporary credentials.
//!
//! [`Sts`] calls AssumeRoleWithSAML through aws-sdk-sts with no credentials provider at all (the
//! call is unsigned), so it never reads the profiles Rolecall manages. Its requests go through
//! Rolecall's own HTTP client ([`crate::http::Network`]: the endpoint's CA file and proxy), to
//! the STS endpoint of the assertion's partition and region unless the SDK's own
//! `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` say otherwise. Throttling is retried with backoff;
//! every other error becomes a sentence a person can act on.
//!
//! Chained roles ([`crate::chain`]) take one more call, AssumeRole, which is signed: [`Sts::assume_role`]
//! gives the client the previous hop's session credentials and nothing else, through the same
//! endpoint and HTTP client.
//!
//! The duration policy lives here too: what to ask for ([`requested_duration`]) and, when a
//! role's `MaxSessionDuration` is lower, retrying once with the longest that always works and
//! remembering it per role ([`SessionLimits`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::assume_role_with_saml::AssumeRoleWithSAMLError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use time::OffsetDateTime;

use crate::aws_files::Credentials;
use crate::http::{HttpError, Network};
use crate::partition::Partition;
use crate::paths::Environment;
use crate::saml::{Assertion, RolePair};
use crate::secrets::Sensitive;
use crate::store::{JsonFile, StoreError};

/// What STS accepts for `DurationSeconds`: 15 minutes to 12 hours, the range of every AWS
/// session length.
pub use crate::saml::SESSION_DURATION_SECS;
/// Every IAM role accepts sessions of an hour: the longest duration that always works.
pub const ALWAYS_ALLOWED_SECS: u32 = 3600;
/// AssumeRoleWithSAML takes at most this many characters of assertion.
pub const MAX_ASSERTION_CHARS: usize = 100_000;
/// What a chained hop asks for: AWS caps a session assumed with role-session credentials at
/// one hour whatever `DurationSeconds` says, and refuses more than that.
pub const CHAINED_SESSION_SECS: u32 = 3600;

/// Attempts per call, counting the first: throttling is retried with jittered backoff.
const MAX_ATTEMPTS: u32 = 5;
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What to ask STS for: the person's setting, capped by the assertion's `SessionDuration` and by
/// what the role is known to allow, within the 15 minutes to 12 hours STS accepts.
pub fn requested_duration(setting: u32, assertion_cap: Option<u32>, role_cap: Option<u32>) -> u32 {
    let mut secs = setting;
    if let Some(cap) = assertion_cap {
        secs = secs.min(cap);
    }
    if let Some(cap) = role_cap {
        secs = secs.min(cap);
    }
    secs.clamp(*SESSION_DURATION_SECS.start(), *SESSION_DURATION_SECS.end())
}

/// Where STS is, for one sign-in.
#[derive(Debug, Clone)]
pub struct Sts {
    client: aws_sdk_sts::Client,
    /// The client's configuration, for the signed clients of chained hops.
    config: aws_sdk_sts::Config,
    endpoint: String,
}

/// One hop of a chain: what AssumeRole is asked, and where the hop stands, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Hop<'a> {
    /// 1 for the first role after the one the SAML sign-in grants.
    pub number: usize,
    pub role_arn: &'a str,
    /// The role whose session signs the call.
    pub from: &'a str,
    pub session_name: &'a str,
    pub external_id: Option<&'a str>,
    /// The sign-in's `SourceIdentity`, passed on so every hop carries it.
    pub source_identity: Option<&'a str>,
}

impl Sts {
    /// A client for `partition`'s STS in `region`, or for the endpoint the SDK's variables name.
    pub fn new(
        network: &Network,
        env: &Environment,
        partition: Partition,
        region: &str,
    ) -> Result<Self, StsError> {
        let overridden = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(|variable| {
                env.var(variable)
                    .filter(|url| !url.trim().is_empty())
                    .map(|url| (variable, url))
            });
        let endpoint = match overridden {
            Some((variable, url)) => {
                // The assertion is a credential: the same https-or-loopback rule as every hop.
                let parsed = url::Url::parse(url.trim())
                    .ok()
                    .filter(|parsed| crate::http::is_secure_target(parsed) && parsed.has_host());
                let Some(parsed) = parsed else {
                    return Err(StsError::InsecureOverride {
                        variable,
                        value: url::Url::parse(url.trim())
                            .map(|parsed| crate::http::redact(&parsed))
                            .unwrap_or_else(|_| "a value that is not a URL".to_owned()),
                    });
                };
                tracing::warn!(
                    "{variable} is set: AssumeRoleWithSAML goes to {} instead of AWS STS",
                    crate::http::redact(&parsed)
                );
                url.trim().to_owned()
            }
            None => partition
                .sts_endpoint(region)
                .ok_or_else(|| StsError::BadRegion {
                    region: region.to_owned(),
                })?,
        };
        let http = network.client(concat!("Rolecall/", env!("CARGO_PKG_VERSION")))?;
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint.clone())
            .http_client(ReqwestClient { client: http })
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(CALL_TIMEOUT)
                    .build(),
            )
            .build();
        Ok(Self {
            client: aws_sdk_sts::Client::from_conf(config.clone()),
            config,
            endpoint,
        })
    }

    /// The endpoint calls go to, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One AssumeRoleWithSAML call, exactly as asked.
    pub async fn assume(
        &self,
        role: &RolePair,
        assertion: &Assertion,
        duration_secs: u32,
    ) -> Result<Credentials, StsError> {
        let saml = assertion.raw.expose();
        if saml.len() > MAX_ASSERTION_CHARS {
            return Err(StsError::AssertionTooLarge { chars: saml.len() });
        }
        let output = self
            .client
            .assume_role_with_saml()
            .role_arn(&role.role_arn)
            .principal_arn(&role.principal_arn)
            .saml_assertion(saml)
            .duration_seconds(i32::try_from(duration_secs).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|err| self.error(role, err))?;
        self.issued(
            output.credentials(),
            output.assumed_role_user().map(|user| user.arn()),
        )
    }

    /// One AssumeRole call for a chained `hop`, signed with `previous`, the session of the role
    /// before it; asks for [`CHAINED_SESSION_SECS`]. The client gets those credentials and no
    /// provider, so it never reads the AWS files.
    pub async fn assume_role(
        &self,
        hop: &Hop<'_>,
        previous: &Credentials,
    ) -> Result<Credentials, StsError> {
        let signing = aws_sdk_sts::config::Credentials::new(
            previous.access_key_id.clone(),
            previous.secret_access_key.expose().clone(),
            Some(previous.session_token.expose().clone()),
            Some(std::time::SystemTime::from(previous.expiration)),
            "rolecall-chain",
        );
        let client = aws_sdk_sts::Client::from_conf(
            self.config
                .to_builder()
                .credentials_provider(signing)
                .build(),
        );
        let output = client
            .assume_role()
            .role_arn(hop.role_arn)
            .role_session_name(hop.session_name)
            .duration_seconds(i32::try_from(CHAINED_SESSION_SECS).unwrap_or(i32::MAX))
            .set_external_id(hop.external_id.map(str::to_owned))
            .set_source_identity(hop.source_identity.map(str::to_owned))
            .send()
            .await
            .map_err(|err| self.hop_error(hop, err))?;
        self.issued(
            output.credentials(),
            output.assumed_role_user().map(|user| user.arn()),
        )
    }

    /// The credentials of an answer, and the assumed-role ARN it names.
    fn issued(
        &self,
        credentials: Option<&aws_sdk_sts::types::Credentials>,
        principal_arn: Option<&str>,
    ) -> Result<Credentials, StsError> {
        let credentials = credentials.ok_or_else(|| StsError::Unexpected {
            endpoint: self.endpoint.clone(),
            detail: "the answer had no credentials".to_owned(),
        })?;
        let expiration = OffsetDateTime::from_unix_timestamp(credentials.expiration().secs())
            .map_err(|_| StsError::Unexpected {
                endpoint: self.endpoint.clone(),
                detail: "the expiration is out of range".to_owned(),
            })?;
        Ok(Credentials {
            access_key_id: credentials.access_key_id().to_owned(),
            secret_access_key: Sensitive::new(credentials.secret_access_key().to_owned()),
            session_token: Sensitive::new(credentials.session_token().to_owned()),
            expiration,
            principal_arn: principal_arn.map(str::to_owned),
        })
    }

    /// [`Sts::assume`] with the duration policy: asks for [`requested_duration`] and, when the
    /// role's `MaxSessionDuration` is lower, once more for [`ALWAYS_ALLOWED_SECS`], noting the
    /// limit in `limits`.
    pub async fn assume_with_policy(
        &self,
        role: &RolePair,
        assertion: &Assertion,
        setting_secs: u32,
        limits: &SessionLimits,
    ) -> Result<Assumed, StsError> {
        let known = limits.get(&role.role_arn);
        let asked = requested_duration(setting_secs, assertion.session_duration, known);
        match self.assume(role, assertion, asked).await {
            Err(StsError::DurationTooLong { .. }) if asked > ALWAYS_ALLOWED_SECS => {
                let credentials = self.assume(role, assertion, ALWAYS_ALLOWED_SECS).await?;
                Ok(Assumed {
                    credentials,
                    learned_limit: Some(ALWAYS_ALLOWED_SECS),
                })
            }
            result => result.map(|credentials| Assumed {
                credentials,
                learned_limit: None,
            }),
        }
    }

    fn error(&self, role: &RolePair, err: SdkError<AssumeRoleWithSAMLError>) -> StsError {
        let endpoint = self.endpoint.clone();
        match err {
            SdkError::ServiceError(context) => {
                let err = context.into_err();
                let message = err.message().unwrap_or_default().to_owned();
                let said = AwsAnswer {
                    code: err.code().unwrap_or_default().to_owned(),
                    message: message.clone(),
                };
                match (&err, err.code().unwrap_or_default()) {
                    (AssumeRoleWithSAMLError::ExpiredTokenException(_), _) => {
                        StsError::AssertionExpired { said }
                    }
                    (AssumeRoleWithSAMLError::IdpRejectedClaimException(_), _) => {
                        StsError::ClaimRejected { message, said }
                    }
                    (AssumeRoleWithSAMLError::InvalidIdentityTokenException(_), _) => {
                        StsError::InvalidAssertion { message, said }
                    }
                    (AssumeRoleWithSAMLError::RegionDisabledException(_), _) => {
                        StsError::RegionDisabled { endpoint, said }
                    }
                    (_, "AccessDenied") => StsError::AccessDenied {
                        role: role.role_arn.clone(),
                        provider: role.principal_arn.clone(),
                        said,
                    },
                    (_, "ValidationError") if message.contains("MaxSessionDuration") => {
                        StsError::DurationTooLong {
                            role: role.role_arn.clone(),
                            said,
                        }
                    }
                    (_, "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                        StsError::Throttled { endpoint, said }
                    }
                    (_, code) => StsError::Refused {
                        endpoint,
                        code: code.to_owned(),
                        message,
                    },
                }
            }
            other => transport_error(endpoint, other),
        }
    }

    fn hop_error(&self, hop: &Hop<'_>, err: SdkError<AssumeRoleError>) -> StsError {
        let endpoint = self.endpoint.clone();
        match err {
            SdkError::ServiceError(context) => {
                let err = context.into_err();
                let message = err.message().unwrap_or_default().to_owned();
                let said = AwsAnswer {
                    code: err.code().unwrap_or_default().to_owned(),
                    message: message.clone(),
                };
                match (&err, err.code().unwrap_or_default()) {
                    (AssumeRoleError::RegionDisabledException(_), _) => {
                        StsError::RegionDisabled { endpoint, said }
                    }
                    (_, "AccessDenied") => StsError::HopDenied {
                        hop: hop.number,
                        role: hop.role_arn.to_owned(),
                        from: hop.from.to_owned(),
                        message,
                    },
                    (_, "ExpiredToken" | "InvalidClientTokenId") => StsError::HopSessionRefused {
                        hop: hop.number,
                        from: hop.from.to_owned(),
                        message,
                    },
                    (_, "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                        StsError::Throttled { endpoint, said }
                    }
                    (_, code) => StsError::Refused {
                        endpoint,
                        code: code.to_owned(),
                        message,
                    },
                }
            }
            other => transport_error(endpoint, other),
        }
    }
}

/// An error that is not STS's answer: no connection, no answer in time, or one unreadable.
fn transport_error<E, R>(endpoint: String, err: SdkError<E, R>) -> StsError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::TimeoutError(_) => StsError::Network {
            endpoint,
            detail: "no answer in time".to_owned(),
        },
        SdkError::DispatchFailure(failure) => StsError::Network {
            endpoint,
            detail: failure
                .as_connector_error()
                .map(|err| connection_problem(err))
                .unwrap_or("the request could not be sent")
                .to_owned(),
        },
        other => StsError::Unexpected {
            endpoint,
            detail: error_chain(&other),
        },
    }
}

/// Credentials, and the role's limit when the call had to learn it.
#[derive(Debug, Clone)]
pub struct Assumed {
    pub credentials: Credentials,
    pub learned_limit: Option<u32>,
}

/// A few words for a failed connection; the libraries' own chain repeats the URL at length.
fn connection_problem(err: &(dyn std::error::Error + 'static)) -> &'static str {
    match crate::http::classify(err) {
        crate::http::RequestFailure::Untrusted(_) => {
            "its certificate is not trusted; give your company's CA file to the endpoint"
        }
        crate::http::RequestFailure::Other => "could not connect",
        failure => failure.describe(),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The session limits learned per role (`MaxSessionDuration` below what was asked), kept in a
/// small JSON file in Rolecall's folder so later sessions ask right the first time.
#[derive(Debug, Clone, Default)]
pub struct SessionLimits {
    file: Option<JsonFile<BTreeMap<String, u32>>>,
    limits: BTreeMap<String, u32>,
}

impl SessionLimits {
    pub const FILE_NAME: &str = "session-limits.json";

    /// Loads the limits from `config_dir` (a missing file is empty); one that cannot be read
    /// is an error naming it.
    pub fn load(config_dir: &Path) -> Result<Self, StoreError> {
        let file = JsonFile::new(config_dir.join(Self::FILE_NAME));
        let limits = file.load()?;
        Ok(Self {
            file: Some(file),
            limits,
        })
    }

    /// The limits, or none when the file cannot be read: they only save a retry. The broken
    /// file is never written over, and the caller reports it.
    pub fn load_or_empty(config_dir: &Path) -> Self {
        Self::load(config_dir).unwrap_or_else(|err| {
            tracing::warn!("{err}");
            Self {
                file: Some(JsonFile::new(config_dir.join(Self::FILE_NAME))),
                limits: BTreeMap::new(),
            }
        })
    }

    pub fn get(&self, role_arn: &str) -> Option<u32> {
        self.limits.get(role_arn).copied()
    }

    /// Notes `limit` for `role_arn` and saves the file if it changed.
    pub fn remember(&mut self, role_arn: &str, limit: u32) -> Result<(), StoreError> {
        if self.limits.insert(role_arn.to_owned(), limit) == Some(limit) {
            return Ok(());
        }
        let Some(file) = &self.file else {
            return Ok(());
        };
        self.limits = file.update(|limits| {
            limits.insert(role_arn.to_owned(), limit);
            Ok::<_, StoreError>(limits.clone())
        })?;
        Ok(())
    }
}

/// The SDK's HTTP client, carried by Rolecall's reqwest client so that STS calls use the same
/// trust store, CA file and proxy as the sign-in.
#[derive(Debug, Clone)]
struct ReqwestClient {
    client: reqwest::Client,
}

impl HttpClient for ReqwestClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for ReqwestClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|err| ConnectorError::user(Box::new(err)))?;
            let mut builder = client.request(method, request.uri());
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            let body = request
                .body()
                .bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            let response = builder.body(body).send().await.map_err(|err| {
                if err.is_timeout() {
                    ConnectorError::timeout(Box::new(err))
                } else {
                    ConnectorError::io(Box::new(err))
                }
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(|err| ConnectorError::io(Box::new(err)))?;
            let mut answer = HttpResponse::new(
                status
                    .try_into()
                    .map_err(|err| ConnectorError::other(Box::new(err), None))?,
                SdkBody::from(bytes.to_vec()),
            );
            for (name, value) in &headers {
                if let Ok(value) = value.to_str() {
                    answer
                        .headers_mut()
                        .insert(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(answer)
        })
    }
}

/// What STS itself answered to a refused call, word for word: the error code and message of
/// its answer (no secret is in either).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AwsAnswer {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for AwsAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{}: {}", self.code, self.message),
            (false, true) => f.write_str(&self.code),
            (true, _) => f.write_str(&self.message),
        }
    }
}

impl StsError {
    /// STS's own answer, when the error is one: a refusal, not a connection or a check of
    /// Rolecall's.
    pub fn aws_answer(&self) -> Option<AwsAnswer> {
        match self {
            StsError::AssertionExpired { said }
            | StsError::AccessDenied { said, .. }
            | StsError::RegionDisabled { said, .. }
            | StsError::ClaimRejected { said, .. }
            | StsError::InvalidAssertion { said, .. }
            | StsError::DurationTooLong { said, .. }
            | StsError::Throttled { said, .. } => Some(said.clone()),
            StsError::HopDenied { message, .. } => Some(AwsAnswer {
                code: "AccessDenied".to_owned(),
                message: message.clone(),
            }),
            StsError::Refused { code, message, .. } => Some(AwsAnswer {
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        }
    }
}

/// Why STS gave no credentials. Messages say what to do and never hold the assertion.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error(
        "{variable} points STS at {value}, which is neither https nor this computer, so \
         Rolecall did not send the assertion there. Use an https:// URL, or unset {variable} \
         to use AWS STS."
    )]
    InsecureOverride {
        variable: &'static str,
        value: String,
    },

    #[error(
        "AWS no longer accepts this sign-in: an assertion must be used within 5 minutes of \
         signing in. Sign in again."
    )]
    AssertionExpired { said: AwsAnswer },

    #[error(
        "AWS refused to let you assume {role}: the role does not trust the SAML provider \
         {provider}, or you are not allowed to use it. Ask your AWS administrator to check the \
         role's trust policy."
    )]
    AccessDenied {
        role: String,
        provider: String,
        said: AwsAnswer,
    },

    #[error(
        "AWS refused to let {from} assume {role} (hop {hop} of the chain: {message}). Ask your \
         AWS administrator to let {from} assume {role}: its trust policy must allow \
         sts:AssumeRole from {from}, with the chain's external id if it asks for one, and \
         sts:SetSourceIdentity when your sign-in sets a SourceIdentity."
    )]
    HopDenied {
        hop: usize,
        role: String,
        from: String,
        message: String,
    },

    #[error(
        "AWS STS did not accept the session of {from} to go on to hop {hop} of the chain \
         ({message}). Sign in again; if it repeats, check the clock of this computer."
    )]
    HopSessionRefused {
        hop: usize,
        from: String,
        message: String,
    },

    #[error(
        "STS is not activated for this account in the region of {endpoint}. Choose another STS \
         region (us-east-1 always works) or ask your AWS administrator to activate it."
    )]
    RegionDisabled { endpoint: String, said: AwsAnswer },

    #[error(
        "AWS rejected a claim of the assertion ({message}). Ask your AD FS administrator to \
         check the RoleSessionName claim of the AWS relying party."
    )]
    ClaimRejected { message: String, said: AwsAnswer },

    #[error(
        "AWS could not validate the assertion ({message}). The SAML provider in IAM may hold an \
         outdated certificate (AD FS renews its token-signing certificate yearly); ask your AWS \
         administrator to update the provider's metadata."
    )]
    InvalidAssertion { message: String, said: AwsAnswer },

    #[error(
        "The role {role} allows shorter sessions than Rolecall asked for. Lower the session \
         length in Settings, or ask your AWS administrator to raise the role's \
         MaxSessionDuration."
    )]
    DurationTooLong { role: String, said: AwsAnswer },

    #[error(
        "The assertion is {chars} characters long, more than the 100,000 AWS accepts. Ask your \
         AD FS administrator to send fewer roles to AWS (each AWS group adds one)."
    )]
    AssertionTooLarge { chars: usize },

    #[error(
        "AWS STS at {endpoint} kept throttling Rolecall's requests. Wait a minute, then try \
         again."
    )]
    Throttled { endpoint: String, said: AwsAnswer },

    #[error("AWS STS at {endpoint} refused the request: {code}: {message}")]
    Refused {
        endpoint: String,
        code: String,
        message: String,
    },

    #[error(
        "Rolecall could not reach AWS STS at {endpoint} ({detail}). Check your network \
         connection and proxy, then try again."
    )]
    Network { endpoint: String, detail: String },

    #[error(
        "A session of {seconds} seconds is not possible: AWS allows 900 (15 minutes) to 43200 \
         (12 hours). Choose a length in that range (Settings, or --duration)."
    )]
    SessionLength { seconds: u32 },

    #[error(
        "\"{region}\" is not an AWS region name. Use one such as eu-west-1 (Settings, or \
         --region)."
    )]
    BadRegion { region: String },

    #[error(
        "AWS STS at {endpoint} gave an answer Rolecall cannot use ({detail}). Try again; if it \
         repeats, please report it."
    )]
    Unexpected { endpoint: String, detail: String },

    #[error(transparent)]
    Http(#[from] HttpError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_setting_capped_by_the_assertion_and_the_role() {
        assert_eq!(requested_duration(3600, None, None), 3600);
        assert_eq!(requested_duration(43_200, Some(28_800), None), 28_800);
        assert_eq!(requested_duration(43_200, Some(28_800), Some(3600)), 3600);
        assert_eq!(
            requested_duration(100, None, None),
            900,
            "never below 15 minutes"
        );
        assert_eq!(
            requested_duration(90_000, None, None),
            43_200,
            "never above 12 hours"
        );
    }

    #[test]
    fn learned_limits_are_saved_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut limits = SessionLimits::load(dir.path()).unwrap();
        assert_eq!(limits.get("arn:aws:iam::1:role/A"), None);
        limits.remember("arn:aws:iam::1:role/A", 3600).unwrap();
        assert_eq!(
            SessionLimits::load(dir.path())
                .unwrap()
                .get("arn:aws:iam::1:role/A"),
            Some(3600)
        );
    }

    /// The assertion is a credential: an override that is plain http beyond this computer
    /// would send it in the clear.
    #[test]
    fn an_endpoint_override_must_be_https_or_loopback() {
        let base = || Environment::new(crate::paths::Platform::Linux);
        for (variable, value) in [
            (
                "AWS_ENDPOINT_URL_STS",
                "http://localstack.corp.example:4566",
            ),
            ("AWS_ENDPOINT_URL", "http://10.0.0.5/sts"),
            ("AWS_ENDPOINT_URL_STS", "ftp://127.0.0.1/"),
            ("AWS_ENDPOINT_URL_STS", "not a url"),
        ] {
            let env = base().with(variable, value);
            match Sts::new(&Network::default(), &env, Partition::Aws, "us-east-1") {
                Err(err @ StsError::InsecureOverride { .. }) => {
                    let message = err.to_string();
                    assert!(message.contains(variable), "{message}");
                }
                other => panic!("{variable}={value} should be refused, got {other:?}"),
            }
        }
        let env = base().with("AWS_ENDPOINT_URL_STS", "https://sts.vpce.example/");
        let sts = Sts::new(&Network::default(), &env, Partition::Aws, "us-east-1").unwrap();
        assert_eq!(sts.endpoint(), "https://sts.vpce.example/");
    }

    #[test]
    fn the_endpoint_follows_the_partition_unless_the_sdk_variables_say_otherwise() {
        let network = Network::default();
        let env = Environment::new(crate::paths::Platform::Linux);
        let sts = Sts::new(&network, &env, Partition::AwsCn, "cn-northwest-1").unwrap();
        assert_eq!(
            sts.endpoint(),
            "https://sts.cn-northwest-1.amazonaws.com.cn"
        );
        let env = env.with("AWS_ENDPOINT_URL", "http://127.0.0.1:9/all");
        let sts = Sts::new(&network, &env, Partition::Aws, "us-east-1").unwrap();
        assert_eq!(sts.endpoint(), "http://127.0.0.1:9/all");
        let env = env.with("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9/sts");
        let sts = Sts::new(&network, &env, Partition::Aws, "us-east-1").unwrap();
        assert_eq!(
            sts.endpoint(),
            "http://127.0.0.1:9/sts",
            "the service variable wins"
        );
        assert!(matches!(
            Sts::new(
                &Network::default(),
                &Environment::new(crate::paths::Platform::Linux),
                Partition::Aws,
                "eu/west"
            ),
            Err(StsError::BadRegion { .. })
        ));
    }
}
