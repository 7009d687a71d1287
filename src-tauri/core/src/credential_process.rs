//! What `rolecall credential-process --profile NAME` answers the AWS tools: the profile's
//! credentials as `credential_process` JSON, renewed first when fewer than 15 minutes are left.
//!
//! The AWS CLI runs the command before every call and refreshes on its own within 15 minutes of
//! expiry, so credentials are handed out only with more than [`MIN_REMAINING`] left. Concurrent
//! callers (a shell loop, Terraform's parallel providers) share one renewal: each takes the
//! profile's lock file, and whoever gets it second finds fresh credentials already written.
//! Renewing signs in only the silent ways (the IdP's SSO session, Kerberos, a stored password);
//! when a person is needed it says so and changes nothing.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::aws_files::{AwsFiles, AwsFilesError, StoredCredentials};
use crate::http::Network;
use crate::idp::{self, NoPasscodes, Outcome, SignIn, SignInError};
use crate::paths::{AppPaths, Environment};
use crate::profiles::{self, ProfileSource, Registry, Writer};
use crate::secrets::SecretStore;
use crate::settings::{Settings, SettingsError};
use crate::sts::{SessionLimits, Sts, StsError};

/// Credentials are served only with more than this left: the AWS CLI would refresh them itself
/// within it, and call again at once.
pub const MIN_REMAINING: Duration = Duration::minutes(15);

/// Whether `stored` can be handed out at `now`: temporary keys (a session token, never an
/// `AKIA` long-term key someone put there since) with time left.
pub fn is_fresh(stored: &StoredCredentials, now: OffsetDateTime) -> bool {
    stored.session_token.is_some()
        && !stored.access_key_id.starts_with("AKIA")
        && stored
            .expiration
            .is_some_and(|expiration| expiration - now > MIN_REMAINING)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

/// The Version 1 JSON the AWS tools read, with `Expiration` in RFC 3339 UTC (`Z`).
pub fn to_json(stored: &StoredCredentials) -> Option<String> {
    let expiration = stored
        .expiration?
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?
        .format(&Rfc3339)
        .ok()?;
    serde_json::to_string(&Output {
        version: 1,
        access_key_id: &stored.access_key_id,
        secret_access_key: stored.secret_access_key.expose(),
        session_token: stored.session_token.as_ref()?.expose(),
        expiration,
    })
    .ok()
}

/// Held while one process renews a profile; others wait for it.
#[derive(Debug)]
pub struct ProfileLock {
    _file: File,
}

/// Takes the renewal lock of `profile` (a file in Rolecall's `locks` folder), waiting for a
/// renewal that is already under way.
pub fn lock(config_dir: &Path, profile: &str) -> Result<ProfileLock, RenewError> {
    let folder = config_dir.join("locks");
    let path = folder.join(format!("{}.lock", lock_name(profile)));
    let failed = |source: std::io::Error| RenewError::Lock {
        path: path.clone(),
        source,
    };
    crate::store::create_private_dir(&folder).map_err(failed)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    file.lock().map_err(failed)?;
    Ok(ProfileLock { _file: file })
}

/// A file name for a profile name (which may hold `/` and `:`).
fn lock_name(profile: &str) -> String {
    profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a renewal uses.
#[derive(Debug)]
pub struct Renewal<'a> {
    pub settings: &'a Settings,
    pub secrets: Arc<dyn SecretStore>,
    pub env: &'a Environment,
    pub files: &'a AwsFiles,
    pub config_dir: &'a Path,
}

/// Signs in silently to the profile's endpoint, assumes its role again and writes the profile.
pub async fn renew(
    profile: &str,
    source: &ProfileSource,
    renewal: Renewal<'_>,
) -> Result<StoredCredentials, RenewError> {
    // Before any sign-in: keys put there since Rolecall wrote the profile are not its own.
    renewal.files.check_writable(profile, true)?;
    let endpoint = source
        .endpoint(&renewal.settings.endpoints)
        .ok_or_else(|| RenewError::UnknownEndpoint {
            profile: profile.to_owned(),
            endpoint: source.endpoint.clone(),
        })?;
    let needs_person = || RenewError::NeedsPerson {
        profile: profile.to_owned(),
        endpoint: endpoint.name.clone(),
    };
    let outcome = idp::sign_in(SignIn {
        endpoint: &endpoint,
        password: None,
        secrets: Arc::clone(&renewal.secrets),
        passcodes: &NoPasscodes,
    })
    .await;
    let signed_in = match outcome {
        Ok(Outcome::SignedIn(signed_in)) => signed_in,
        Ok(Outcome::NeedsPerson { .. }) => return Err(needs_person()),
        Err(err)
            if matches!(
                err.kind(),
                idp::FailureKind::Passcode | idp::FailureKind::BadCredentials
            ) =>
        {
            tracing::info!("renewal needs a person: {err}");
            return Err(needs_person());
        }
        Err(err) => return Err(RenewError::SignIn(err)),
    };
    let role = source.role();
    if !signed_in.assertion.roles.contains(&role) {
        return Err(RenewError::RoleGone {
            profile: profile.to_owned(),
            role: role.role_arn,
        });
    }
    let partition = signed_in.assertion.partition;
    let region = source
        .region
        .clone()
        .or_else(|| signed_in.assertion.region.clone())
        .unwrap_or_else(|| partition.default_region().to_owned());
    let network = Network {
        ca_file: endpoint.ca_file.clone(),
        proxy: endpoint.proxy.clone(),
    };
    let sts = Sts::new(&network, renewal.env, partition, &region)?;
    let limits = Arc::new(Mutex::new(SessionLimits::load(renewal.config_dir)?));
    let writer = Writer {
        sts: &sts,
        role_regions: Default::default(),
        files: renewal.files,
        endpoint: &endpoint,
        region: source.region.clone(),
        output: renewal.settings.preferences.default_output.clone(),
        setting_secs: renewal.settings.preferences.session_duration_secs,
        limits: &limits,
    };
    let mut registry = Registry::load(renewal.config_dir)?;
    let assertion = Arc::new(signed_in.assertion);
    let mut written = profiles::assume_and_write(
        &writer,
        &assertion,
        vec![(role, profile.to_owned())],
        &mut registry,
    )
    .await?;
    if let Some((_, _, err)) = written.failed.pop() {
        return Err(RenewError::Sts(err));
    }
    renewal
        .files
        .read_credentials(profile)?
        .ok_or_else(|| RenewError::NotWritten {
            profile: profile.to_owned(),
        })
}

/// Where `serve` finds everything.
#[derive(Debug, Clone)]
pub struct Service {
    pub paths: AppPaths,
    pub env: Environment,
    pub secrets: Arc<dyn SecretStore>,
}

/// The profile's credentials with more than [`MIN_REMAINING`] left: from the file when they are
/// fresh, renewed otherwise. Concurrent callers, in this process or others, share one renewal.
pub async fn serve(profile: &str, service: &Service) -> Result<StoredCredentials, RenewError> {
    let files = AwsFiles::from_paths(&service.paths);
    let fresh = |files: &AwsFiles| -> Result<Option<StoredCredentials>, RenewError> {
        Ok(files
            .read_credentials(profile)?
            .filter(|stored| is_fresh(stored, OffsetDateTime::now_utc())))
    };
    if let Some(stored) = fresh(&files)? {
        return Ok(stored);
    }
    let registry = Registry::load(&service.paths.config_dir)?;
    let source = registry
        .get(profile)
        .cloned()
        .ok_or_else(|| RenewError::NotManaged {
            profile: profile.to_owned(),
        })?;
    let settings = Settings::load(&service.paths)?;
    let config_dir = service.paths.config_dir.clone();
    let name = profile.to_owned();
    let _lock = tokio::task::spawn_blocking(move || lock(&config_dir, &name))
        .await
        .map_err(|err| RenewError::Lock {
            path: service.paths.config_dir.join("locks"),
            source: std::io::Error::other(err.to_string()),
        })??;
    // Whoever held the lock before may have renewed the profile already.
    if let Some(stored) = fresh(&files)? {
        return Ok(stored);
    }
    renew(
        profile,
        &source,
        Renewal {
            settings: &settings,
            secrets: Arc::clone(&service.secrets),
            env: &service.env,
            files: &files,
            config_dir: &service.paths.config_dir,
        },
    )
    .await
}

/// Serves many callers at once (the app's socket): one renewal per profile at a time, and
/// whoever waited gets what it wrote.
#[derive(Debug, Clone)]
pub struct Renewals {
    service: Service,
    in_flight: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Renewals {
    pub fn new(service: Service) -> Self {
        Self {
            service,
            in_flight: Arc::default(),
        }
    }

    pub async fn serve(&self, profile: &str) -> Result<StoredCredentials, RenewError> {
        let gate = match self.in_flight.lock() {
            Ok(mut in_flight) => Arc::clone(in_flight.entry(profile.to_owned()).or_default()),
            Err(_) => Arc::default(),
        };
        let _turn = gate.lock().await;
        serve(profile, &self.service).await
    }

    /// A handler for [`crate::ipc::serve`].
    pub fn handler(self) -> crate::ipc::Handler {
        Arc::new(move |profile: String| {
            let renewals = self.clone();
            Box::pin(async move {
                renewals
                    .serve(&profile)
                    .await
                    .map_err(|err| err.to_string())
            })
        })
    }
}

/// Why a profile's credentials could not be served.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error(
        "The profile \"{profile}\" is not one Rolecall manages, or its credentials are gone. \
         Create it with `rolecall login --role ... --profile {profile}` or from the Rolecall tray."
    )]
    NotManaged { profile: String },

    #[error(
        "Rolecall needs you to sign in to endpoint \"{endpoint}\" to renew the profile \
         \"{profile}\": sign in from the Rolecall tray (or run `rolecall login --endpoint \
         {endpoint} ...`), then try again."
    )]
    NeedsPerson { profile: String, endpoint: String },

    #[error(
        "The profile \"{profile}\" came from endpoint \"{endpoint}\", which Rolecall no longer \
         knows. Sign in again with `rolecall login` to recreate it."
    )]
    UnknownEndpoint { profile: String, endpoint: String },

    #[error(
        "Your sign-in no longer grants {role}, the role of the profile \"{profile}\". Choose \
         another role for it with `rolecall login` or in the Rolecall tray."
    )]
    RoleGone { profile: String, role: String },

    #[error(
        "Rolecall renewed the profile \"{profile}\" but cannot read it back from the \
         credentials file. Check that no other program rewrites that file, then try again."
    )]
    NotWritten { profile: String },

    #[error(
        "Rolecall could not take the lock {}: {source}. Check that you may write to Rolecall's \
         folder, then try again.",
        path.display()
    )]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Sts(#[from] StsError),
    #[error(transparent)]
    Files(#[from] AwsFilesError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Sensitive;

    fn stored(minutes_left: i64, now: OffsetDateTime) -> StoredCredentials {
        StoredCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE12".to_owned(),
            secret_access_key: Sensitive::new("secret".to_owned()),
            session_token: Some(Sensitive::new("token".to_owned())),
            expiration: Some(now + Duration::minutes(minutes_left)),
            principal_arn: None,
        }
    }

    #[test]
    fn only_credentials_with_more_than_15_minutes_left_are_served() {
        let now = OffsetDateTime::now_utc();
        assert!(is_fresh(&stored(16, now), now));
        assert!(
            !is_fresh(&stored(15, now), now),
            "the CLI would refresh these itself"
        );
        assert!(!is_fresh(&stored(-1, now), now));
        let mut long_term = stored(60, now);
        long_term.session_token = None;
        assert!(
            !is_fresh(&long_term, now),
            "keys without a token are not ours"
        );
        let mut replaced = stored(60, now);
        replaced.access_key_id = "AKIAIOSFODNN7EXAMPLE".to_owned();
        assert!(
            !is_fresh(&replaced, now),
            "an IAM user key beside our token is not ours"
        );
    }

    #[test]
    fn the_json_is_version_1_with_a_utc_expiration() {
        let expiration = time::macros::datetime!(2026-12-01 14:30:00.5 +02:00);
        let mut credentials = stored(60, expiration);
        credentials.expiration = Some(expiration);
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&credentials).unwrap()).unwrap();
        assert_eq!(json["Version"], 1);
        assert_eq!(json["AccessKeyId"], "ASIAEXAMPLEEXAMPLE12");
        assert_eq!(json["SecretAccessKey"], "secret");
        assert_eq!(json["SessionToken"], "token");
        assert_eq!(json["Expiration"], "2026-12-01T12:30:00Z");
    }

    #[test]
    fn lock_names_are_plain_file_names() {
        assert_eq!(lock_name("corp/prod:Admin"), "corp_prod_Admin");
    }
}
