//! What `rolecall credential-process --profile NAME` answers the AWS tools: the profile's
//! credentials as `credential_process` JSON, renewed first when fewer than 15 minutes are left.
//!
//! The AWS CLI runs the command before every call and refreshes on its own within 15 minutes of
//! expiry, so credentials are handed out only with more than [`MIN_REMAINING`] left. Concurrent
//! callers (a shell loop, Terraform's parallel providers) share one renewal: each takes the
//! profile's lock file, and whoever gets it second finds fresh credentials already written.
//! Renewing signs in only the silent ways (the IdP's SSO session, Kerberos, a stored password);
//! when a person is needed it says so and changes nothing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::accounts::Aliases;
use crate::aws_files::{AwsFiles, AwsFilesError, StoredCredentials};
use crate::clock::SystemClock;
use crate::idp::{self, NoPasscodes, Outcome, SignIn, SignInError};
use crate::paths::{AppPaths, Environment};
use crate::provision::{self, ProvisionError, Request, Roles};
use crate::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use crate::registry::{ProfileSource, Registry};
use crate::secrets::SecretStore;
use crate::settings::{Settings, SettingsError};
use crate::sts::StsError;

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

/// `expiration` as the AWS tools read it: RFC 3339 in UTC, whole seconds.
pub fn rfc3339(expiration: OffsetDateTime) -> Option<String> {
    expiration
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// A profile's credentials with what goes beside them, as `rolecall exec`, `rolecall env` and
/// the container credentials endpoint hand them out.
#[derive(Debug, Clone)]
pub struct ProfileCredentials {
    pub profile: String,
    pub credentials: StoredCredentials,
    /// The profile's `region` in the AWS config file.
    pub region: Option<String>,
    /// The IAM role the profile was assumed from, as Rolecall's registry recorded it.
    pub role_arn: Option<String>,
}

/// The Version 1 JSON the AWS tools read, with `Expiration` in RFC 3339 UTC (`Z`).
pub fn to_json(stored: &StoredCredentials) -> Option<String> {
    let expiration = rfc3339(stored.expiration?)?;
    serde_json::to_string(&Output {
        version: 1,
        access_key_id: &stored.access_key_id,
        secret_access_key: stored.secret_access_key.expose(),
        session_token: stored.session_token.as_ref()?.expose(),
        expiration,
    })
    .ok()
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

/// Reads back what [`to_json`] wrote (the running app's answer on the credential socket);
/// `None` when it is not that JSON.
pub fn from_json(text: &str) -> Option<StoredCredentials> {
    let input: Input = serde_json::from_str(text).ok()?;
    Some(StoredCredentials {
        access_key_id: input.access_key_id,
        secret_access_key: crate::secrets::Sensitive::new(input.secret_access_key),
        session_token: Some(crate::secrets::Sensitive::new(input.session_token)),
        expiration: Some(OffsetDateTime::parse(&input.expiration, &Rfc3339).ok()?),
        principal_arn: None,
    })
}

/// How long a renewal waits for another Rolecall process renewing the same profile: longer
/// than a whole sign-in may take, so only a stuck process makes it give up.
pub const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(150);
/// How often a waiting renewal looks whether the lock is free.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Held while one process renews a profile; others wait for it.
#[derive(Debug)]
pub struct ProfileLock {
    _file: File,
}

/// Takes the renewal lock of `profile` (a file in Rolecall's `locks` folder), waiting up to
/// `timeout` for a renewal that is already under way. Blocks: call it off the async workers.
pub fn lock(
    config_dir: &Path,
    profile: &str,
    timeout: std::time::Duration,
) -> Result<ProfileLock, RenewError> {
    let folder = config_dir.join("locks");
    let path = folder.join(format!("{}.lock", crate::paths::file_name(profile)));
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
    // A blocking wait on a real thread: Tokio's clock, paused in tests, would never run out.
    #[expect(
        clippy::disallowed_methods,
        reason = "the deadline of a lock wait on a blocking thread"
    )]
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(ProfileLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < timeout => {
                std::thread::sleep(LOCK_POLL);
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(RenewError::Busy {
                    profile: profile.to_owned(),
                    path: path.clone(),
                    waited_secs: timeout.as_secs(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(failed(source)),
        }
    }
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
    let refused = RefusedPasswords::new(renewal.config_dir);
    let outcome = refused_passwords::sign_in(
        SignIn {
            endpoint: &endpoint,
            password: None,
            secrets: Arc::clone(&renewal.secrets),
            passcodes: &NoPasscodes,
        },
        &refused,
    )
    .await;
    let signed_in = match outcome {
        Ok(Outcome::SignedIn(signed_in)) => signed_in,
        Ok(Outcome::NeedsPerson {
            reason: idp::PersonNeeded::PasswordExpired { .. },
            ..
        }) => {
            return Err(RenewError::PasswordExpired {
                profile: profile.to_owned(),
                endpoint: endpoint.name.clone(),
            });
        }
        Ok(Outcome::NeedsPerson { .. }) => return Err(needs_person()),
        Err(GuardedSignInError::PasswordRefused { endpoint, .. }) => {
            return Err(RenewError::PasswordRefused {
                profile: profile.to_owned(),
                endpoint,
            });
        }
        Err(GuardedSignInError::SignIn(err))
            if matches!(
                err.kind(),
                idp::FailureKind::Passcode | idp::FailureKind::BadCredentials
            ) =>
        {
            tracing::info!("renewal needs a person: {err}");
            return Err(needs_person());
        }
        Err(GuardedSignInError::SignIn(err)) => return Err(RenewError::SignIn(err)),
    };
    crate::last_sign_in::record_or_log(
        renewal.config_dir,
        &endpoint.name,
        crate::last_sign_in::LastSignIn::of(
            &signed_in.assertion,
            crate::last_sign_in::Via::Idp(signed_in.via),
            SystemClock.now(),
        ),
    );
    let role = source.role();
    if !signed_in.assertion.roles.contains(&role) {
        return Err(RenewError::RoleGone {
            profile: profile.to_owned(),
            role: role.role_arn,
        });
    }
    let assertion = Arc::new(signed_in.assertion);
    let ctx = provision::Context {
        env: renewal.env,
        files: renewal.files,
        config_dir: renewal.config_dir,
        clock: &SystemClock,
        preferences: &renewal.settings.preferences,
        endpoint: &endpoint,
        aliases: &Aliases::new(),
        limits: provision::limits_on_disk(renewal.config_dir),
    };
    let request = Request::new(Roles::Again(vec![(role, profile.to_owned())]));
    let mut written = provision::provision(&ctx, &assertion, request)
        .await
        .map_err(|err| match err {
            ProvisionError::Sts(err) => RenewError::Sts(err),
            ProvisionError::Files(err) => RenewError::Files(err),
            ProvisionError::Store(err) => RenewError::Store(err),
            ProvisionError::Chain(problem) => RenewError::Chain(problem),
        })?;
    if let Some((_, _, err)) = written.failed.pop() {
        return Err(RenewError::Sts(err));
    }
    let files = renewal.files.clone();
    let name = profile.to_owned();
    blocking(move || files.read_credentials(&name))
        .await??
        .ok_or_else(|| RenewError::NotWritten {
            profile: profile.to_owned(),
        })
}

/// Runs file work on a blocking thread, off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RenewError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| RenewError::Internal {
            detail: err.to_string(),
        })
}

/// Where `serve` finds everything.
#[derive(Debug, Clone)]
pub struct Setup {
    pub paths: AppPaths,
    pub env: Environment,
    pub secrets: Arc<dyn SecretStore>,
}

/// The profile's credentials with more than [`MIN_REMAINING`] left: from the file when they are
/// fresh, renewed otherwise. Concurrent callers, in this process or others, share one renewal.
pub async fn serve(profile: &str, setup: &Setup) -> Result<StoredCredentials, RenewError> {
    let files = AwsFiles::from_paths(&setup.paths);
    let fresh = |files: &AwsFiles, profile: String| {
        let files = files.clone();
        blocking(move || {
            Ok::<_, RenewError>(
                files
                    .read_credentials(&profile)?
                    .filter(|stored| is_fresh(stored, SystemClock.now())),
            )
        })
    };
    if let Some(stored) = fresh(&files, profile.to_owned()).await?? {
        return Ok(stored);
    }
    let paths = setup.paths.clone();
    let name = profile.to_owned();
    let (source, settings) = blocking(move || {
        let source = Registry::load(&paths.config_dir)?
            .get(&name)
            .cloned()
            .ok_or(RenewError::NotManaged { profile: name })?;
        Ok::<_, RenewError>((source, Settings::load(&paths)?))
    })
    .await??;
    let config_dir = setup.paths.config_dir.clone();
    let name = profile.to_owned();
    let _lock = blocking(move || lock(&config_dir, &name, LOCK_TIMEOUT)).await??;
    // Whoever held the lock before may have renewed the profile already.
    if let Some(stored) = fresh(&files, profile.to_owned()).await?? {
        return Ok(stored);
    }
    renew(
        profile,
        &source,
        Renewal {
            settings: &settings,
            secrets: Arc::clone(&setup.secrets),
            env: &setup.env,
            files: &files,
            config_dir: &setup.paths.config_dir,
        },
    )
    .await
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
        "The identity provider of endpoint \"{endpoint}\" says your password has expired, so \
         Rolecall cannot renew the profile \"{profile}\". Change it in the sign-in window (Sign \
         in from the Rolecall tray), store the new one with `rolecall password set --endpoint \
         {endpoint}`, then try again."
    )]
    PasswordExpired { profile: String, endpoint: String },

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

    #[error(
        "Another Rolecall process has been renewing the profile \"{profile}\" for over \
         {waited_secs} seconds (it holds {}). Wait for it to finish, or end that process, then \
         try again.",
        path.display()
    )]
    Busy {
        profile: String,
        path: PathBuf,
        waited_secs: u64,
    },

    #[error(
        "The identity provider refused the password Rolecall keeps for endpoint \"{endpoint}\", \
         so Rolecall no longer tries it on its own (every try counts toward locking your \
         account) and cannot renew the profile \"{profile}\". Store the current password with \
         `rolecall password set --endpoint {endpoint}` or in Settings → Endpoints, then try \
         again."
    )]
    PasswordRefused { profile: String, endpoint: String },

    #[error("Rolecall stopped unexpectedly while renewing ({detail}). Try again.")]
    Internal { detail: String },

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
    #[error("The chain of roles of this profile cannot be assumed: {0}")]
    Chain(crate::chain::ChainProblem),
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
        let now = SystemClock.now();
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
        let read = from_json(&to_json(&credentials).unwrap()).unwrap();
        assert_eq!(read.access_key_id, credentials.access_key_id);
        assert_eq!(read.session_token, credentials.session_token);
        assert_eq!(
            read.expiration,
            Some(time::macros::datetime!(2026-12-01 12:30 UTC))
        );
        assert!(from_json("{\"Version\":1}").is_none(), "keys are required");
    }

    #[test]
    fn the_profile_lock_gives_up_with_a_sentence_when_another_process_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path(), "work", LOCK_TIMEOUT).unwrap();
        let config_dir = dir.path().to_owned();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(lock(
                &config_dir,
                "work",
                std::time::Duration::from_millis(300),
            ));
        });
        let waited = receiver
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the wait for the lock is bounded");
        let Err(err) = waited else {
            panic!("the lock is held: {waited:?}");
        };
        assert!(matches!(err, RenewError::Busy { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("Another Rolecall process has been renewing the profile \"work\""),
            "{message}"
        );
        assert!(
            lock(dir.path(), "other", LOCK_TIMEOUT).is_ok(),
            "other profiles are free"
        );
        drop(held);
        assert!(lock(dir.path(), "work", LOCK_TIMEOUT).is_ok());
    }

    #[test]
    fn profiles_that_differ_only_in_punctuation_have_their_own_locks() {
        assert_eq!(
            crate::paths::file_name("corp/prod:Admin"),
            "corp%2Fprod%3AAdmin"
        );
        assert_ne!(
            crate::paths::file_name("a/b"),
            crate::paths::file_name("a_b")
        );
    }
}
