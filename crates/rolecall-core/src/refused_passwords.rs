//! Passwords the identity provider refused, so no unattended sign-in tries them again.
//!
//! Each failed password counts toward the directory's lockout threshold, and the AWS tools run
//! `credential_process` before every call: after a password change, a stored old password tried
//! on every call would lock the account within minutes. So when the IdP refuses the stored
//! password, Rolecall leaves a marker for the endpoint, and every sign-in that would use the
//! stored password (the tray's renewals, the credential socket, `credential-process` on its own)
//! goes on without it: the IdP's SSO session and Kerberos still sign in, anything else says the
//! stored password was refused and how to replace it. Storing a new password clears the marker.
//!
//! The marker is a small file, `config_dir/refused-passwords/<endpoint>`, rather than a keyring
//! entry: every Rolecall process reads it (the tray and `credential-process` each renew), a file
//! is readable with the keyring locked or absent, and it is not a secret. One file per endpoint
//! is created and removed atomically, so concurrent processes never rewrite each other's state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::idp::{self, Outcome, PersonNeeded, SignIn, SignInError};
use crate::negotiate::NegotiateError;
use crate::secrets::{SecretKind, SecretPlace, SecretStore, SecretsError, Sensitive};
use crate::settings::SignInMethod;

/// The folder of markers inside Rolecall's config folder.
pub const FOLDER: &str = "refused-passwords";

/// The markers of one config folder.
#[derive(Debug, Clone)]
pub struct RefusedPasswords {
    folder: PathBuf,
}

impl RefusedPasswords {
    pub fn new(config_dir: &Path) -> Self {
        Self {
            folder: config_dir.join(FOLDER),
        }
    }

    fn path(&self, endpoint: &str) -> PathBuf {
        self.folder.join(crate::paths::file_name(endpoint))
    }

    /// Whether the IdP refused the endpoint's stored password and no new one was stored since.
    pub fn is_refused(&self, endpoint: &str) -> bool {
        // Anything at the path counts: when in doubt, the password is not tried.
        std::fs::symlink_metadata(self.path(endpoint)).is_ok()
    }

    /// Notes that the IdP refused the endpoint's stored password.
    pub fn mark(&self, endpoint: &str) -> std::io::Result<()> {
        create_private_dir(&self.folder)?;
        let path = self.path(endpoint);
        let temp = self.folder.join(format!(
            ".{}.{}.{}.tmp",
            crate::paths::file_name(endpoint),
            std::process::id(),
            crate::clock::SystemClock.now().unix_timestamp_nanos()
        ));
        let written = (|| {
            let mut options = std::fs::File::options();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temp)?;
            let now = crate::clock::SystemClock
                .now()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            writeln!(
                file,
                "The identity provider refused the stored password of endpoint \"{endpoint}\" \
                 at {now}. Rolecall does not try it again until a new one is stored."
            )?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// Forgets the marker: a new password was stored (or none is any more).
    pub fn clear(&self, endpoint: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(endpoint)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// Moves the marker with the endpoint's new name.
    pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        if from == to || !self.is_refused(from) {
            return Ok(());
        }
        std::fs::rename(self.path(from), self.path(to))
    }
}

fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)
}

/// Whether the IdP itself refused the password (not: there was none, or no username). A
/// lockout counts: trying the password again would only keep the account locked.
pub fn is_password_refusal(err: &SignInError) -> bool {
    matches!(
        err,
        SignInError::BadCredentials { .. }
            | SignInError::AccountLocked { .. }
            | SignInError::NtlmRefused { .. }
            | SignInError::Negotiate(NegotiateError::BadPassword { .. })
    )
}

/// Whether a sign-in with this method may use the stored password.
fn uses_password(method: SignInMethod) -> bool {
    matches!(
        method,
        SignInMethod::Auto | SignInMethod::Forms | SignInMethod::Kerberos | SignInMethod::Ntlm
    )
}

/// Why a sign-in that heeds the markers failed.
#[derive(Debug, thiserror::Error)]
pub enum GuardedSignInError {
    #[error(
        "The identity provider refused the password Rolecall keeps for endpoint \"{endpoint}\"{}, \
         so Rolecall no longer tries it on its own (every try counts toward locking your \
         account). Store the current one with `rolecall password set --endpoint {endpoint}` or \
         in Settings → Endpoints, then try again.",
        said.as_deref().map(|said| format!(" ({said})")).unwrap_or_default()
    )]
    PasswordRefused {
        endpoint: String,
        /// What the IdP said when it refused the password, the one time it is sent; later
        /// refusals come from the marker and have nothing new to say.
        said: Option<String>,
    },
    #[error(transparent)]
    SignIn(#[from] SignInError),
}

/// [`idp::sign_in`] that never sends a stored password the IdP refused before, and marks the
/// stored password when the IdP refuses it. A typed password (`request.password`) is always
/// tried; when it signs in and is the stored one, the marker goes (the IdP takes it again).
pub async fn sign_in(
    mut request: SignIn<'_>,
    refused: &RefusedPasswords,
) -> Result<Outcome, GuardedSignInError> {
    let endpoint = request.endpoint;
    let name = endpoint.name.clone();
    if !uses_password(endpoint.method) {
        return Ok(idp::sign_in(request).await?);
    }
    let marked = refused.is_refused(&name);
    if let Some(typed) = request.password.clone() {
        let outcome = idp::sign_in(request.clone()).await?;
        if marked
            && matches!(outcome, Outcome::SignedIn(_))
            && stored_password(&request.secrets, &name).await.as_ref() == Some(&typed)
        {
            clear_off_thread(refused, &name).await;
        }
        return Ok(outcome);
    }
    if marked {
        // The SSO session and Kerberos may still sign in; the password stays out of it.
        request.secrets = Arc::new(WithoutPassword(Arc::clone(&request.secrets)));
        return match idp::sign_in(request).await {
            Ok(Outcome::NeedsPerson {
                reason: PersonNeeded::NoSilentMethod,
                ..
            })
            | Err(SignInError::NoPassword { .. }) => Err(GuardedSignInError::PasswordRefused {
                endpoint: name,
                said: None,
            }),
            other => Ok(other?),
        };
    }
    // The stored password is read here, so that a refusal is pinned on the one that was sent.
    let sent = stored_password(&request.secrets, &name).await;
    request.password = sent.clone();
    match idp::sign_in(request.clone()).await {
        Err(err) if is_password_refusal(&err) => {
            tracing::info!(endpoint = %name, "the stored password was refused: {err}");
            mark_off_thread(refused, &name, &request.secrets, sent).await;
            Err(GuardedSignInError::PasswordRefused {
                endpoint: name,
                said: Some(err.to_string()),
            })
        }
        other => Ok(other?),
    }
}

async fn stored_password(
    secrets: &Arc<dyn SecretStore>,
    endpoint: &str,
) -> Option<Sensitive<String>> {
    let secrets = Arc::clone(secrets);
    let endpoint = endpoint.to_owned();
    // A keyring that cannot be read: the sign-in reads it again and says so.
    tokio::task::spawn_blocking(move || secrets.get(&endpoint, SecretKind::Password))
        .await
        .ok()?
        .ok()?
}

async fn clear_off_thread(refused: &RefusedPasswords, endpoint: &str) {
    let refused = refused.clone();
    let endpoint = endpoint.to_owned();
    let cleared = tokio::task::spawn_blocking(move || refused.clear(&endpoint)).await;
    if let Ok(Err(err)) = cleared {
        tracing::warn!("could not forget that a password was refused: {err}");
    }
}

/// Marks the endpoint, unless the password was replaced while the refused one was in flight
/// (marking first, then looking, so a replacement and its clearing always win).
async fn mark_off_thread(
    refused: &RefusedPasswords,
    endpoint: &str,
    secrets: &Arc<dyn SecretStore>,
    sent: Option<Sensitive<String>>,
) {
    let refused = refused.clone();
    let endpoint = endpoint.to_owned();
    let secrets = Arc::clone(secrets);
    let marked = tokio::task::spawn_blocking(move || {
        refused.mark(&endpoint)?;
        // A keyring that cannot be read now keeps the mark: nothing is known to have changed.
        if let Ok(now) = secrets.get(&endpoint, SecretKind::Password)
            && now != sent
        {
            refused.clear(&endpoint)?;
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if let Ok(Err(err)) = marked {
        tracing::warn!("could not note that the stored password was refused: {err}");
    }
}

/// A secret store that has no password: what an unattended sign-in sees once the stored one
/// was refused. The SSO cookies pass through.
#[derive(Debug)]
struct WithoutPassword(Arc<dyn SecretStore>);

impl SecretStore for WithoutPassword {
    fn place(&self) -> SecretPlace {
        self.0.place()
    }

    fn get(
        &self,
        endpoint: &str,
        kind: SecretKind,
    ) -> Result<Option<Sensitive<String>>, SecretsError> {
        match kind {
            SecretKind::Password => Ok(None),
            other => self.0.get(endpoint, other),
        }
    }

    fn set(
        &self,
        endpoint: &str,
        kind: SecretKind,
        value: &Sensitive<String>,
    ) -> Result<(), SecretsError> {
        self.0.set(endpoint, kind, value)
    }

    fn delete(&self, endpoint: &str, kind: SecretKind) -> Result<(), SecretsError> {
        self.0.delete(endpoint, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_set_cleared_and_moved() {
        let dir = tempfile::tempdir().unwrap();
        let refused = RefusedPasswords::new(dir.path());
        assert!(!refused.is_refused("corp"));
        refused.mark("corp").unwrap();
        assert!(refused.is_refused("corp"));
        assert!(!refused.is_refused("other"));
        refused.rename("corp", "work").unwrap();
        assert!(!refused.is_refused("corp") && refused.is_refused("work"));
        refused.clear("work").unwrap();
        refused.clear("work").unwrap();
        assert!(!refused.is_refused("work"));
        let left: Vec<_> = std::fs::read_dir(dir.path().join(FOLDER))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "no temp file left: {left:?}");
    }
}
