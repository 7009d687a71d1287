//! The local socket between `rolecall credential-process` and the running tray app.
//!
//! When the app runs, it answers credential requests itself ([`serve`]): it holds the sign-in
//! state, can ask the person through the tray when a renewal needs them, and renews a profile
//! once however many AWS tools ask at the same moment. `credential-process` asks it first
//! ([`request_credentials`]) and renews by itself only when no app answers.
//!
//! The socket lives in a folder only its owner may open (`$XDG_RUNTIME_DIR/rolecall`, else
//! Rolecall's own folder), and the server also checks that each caller is the same user. One
//! request per connection: a JSON line in, a JSON line out. Unix only for now; elsewhere no app
//! is ever found and `credential-process` renews by itself.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aws_files::StoredCredentials;
use crate::paths::{AppPaths, Environment};

/// How long a caller waits for the app: a renewal may wait for the person to sign in.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The socket's path for this user.
pub fn socket_path(paths: &AppPaths, env: &Environment) -> PathBuf {
    let folder = match env.var("XDG_RUNTIME_DIR") {
        Some(runtime) => PathBuf::from(runtime).join("rolecall"),
        None => paths.config_dir.join("run"),
    };
    folder.join("credentials.sock")
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    profile: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    /// The `credential_process` JSON, as the AWS tools want it.
    Credentials(String),
    /// A sentence saying why not and what to do.
    Refused(String),
}

/// What answers requests: the app's renewal logic.
pub type Handler = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<StoredCredentials, String>> + Send>>
        + Send
        + Sync,
>;

/// A running server; dropping it stops it and removes the socket.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    #[cfg(unix)]
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        #[cfg(unix)]
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error(
        "Rolecall could not open its local socket {} ({source}). Check that you may write to \
         that folder; the AWS tools' credential_process then renews without the app.",
        path.display()
    )]
    Socket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "Another Rolecall already answers on {}. Quit it first, or keep using that one.",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error("Local sockets are not available on this platform yet.")]
    Unsupported,
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{UnixListener, UnixStream};

    use super::*;
    use crate::credential_process::to_json;

    /// The longest request line read: a profile name, with room to spare.
    const MAX_REQUEST: u64 = 4096;

    /// Makes the socket's folder, private to its owner (`chmod` only works for the owner, so
    /// a folder someone else made is refused).
    fn private_folder(path: &Path) -> Result<u32, IpcError> {
        let failed = |source| IpcError::Socket {
            path: path.to_owned(),
            source,
        };
        let folder = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder).map_err(failed)?;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
        Ok(std::fs::metadata(folder).map_err(failed)?.uid())
    }

    pub async fn serve(path: &Path, handler: Handler) -> Result<Server, IpcError> {
        let owner = private_folder(path)?;
        if UnixStream::connect(path).await.is_ok() {
            return Err(IpcError::InUse {
                path: path.to_owned(),
            });
        }
        // A socket left by an app that did not quit cleanly.
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|source| IpcError::Socket {
            path: path.to_owned(),
            source,
        })?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let same_user = stream.peer_cred().is_ok_and(|peer| peer.uid() == owner);
                if !same_user {
                    tracing::warn!("refused a credential request from another user");
                    continue;
                }
                let handler = Arc::clone(&handler);
                tokio::spawn(async move {
                    if let Err(err) = answer(stream, handler).await {
                        tracing::debug!("a credential request ended early: {err}");
                    }
                });
            }
        });
        Ok(Server {
            path: path.to_owned(),
            task,
        })
    }

    async fn answer(stream: UnixStream, handler: Handler) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST))
            .read_line(&mut line)
            .await?;
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => match handler(request.profile).await {
                Ok(stored) => match to_json(&stored) {
                    Some(json) => Reply::Credentials(json),
                    None => Reply::Refused("the credentials have no usable expiration".to_owned()),
                },
                Err(message) => Reply::Refused(message),
            },
            Err(_) => Reply::Refused("the request was not understood".to_owned()),
        };
        let mut text = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        text.push('\n');
        write.write_all(text.as_bytes()).await?;
        write.shutdown().await
    }

    pub async fn request(path: &Path, profile: &str) -> Option<Result<String, String>> {
        let stream = UnixStream::connect(path).await.ok()?;
        let exchange = async {
            let (read, mut write) = stream.into_split();
            let mut text = serde_json::to_string(&Request {
                profile: profile.to_owned(),
            })
            .map_err(std::io::Error::other)?;
            text.push('\n');
            write.write_all(text.as_bytes()).await?;
            let mut line = String::new();
            BufReader::new(read).read_line(&mut line).await?;
            serde_json::from_str::<Reply>(&line).map_err(std::io::Error::other)
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(Reply::Credentials(json))) => Some(Ok(json)),
            Ok(Ok(Reply::Refused(message))) => Some(Err(message)),
            Ok(Err(err)) => Some(Err(format!(
                "the Rolecall app did not answer properly ({err}). Quit and restart it."
            ))),
            Err(_) => Some(Err(
                "the Rolecall app did not answer within 5 minutes. Sign in from the tray, then \
                 try again."
                    .to_owned(),
            )),
        }
    }
}

/// Starts answering credential requests on `path` with `handler`.
pub async fn serve(path: &Path, handler: Handler) -> Result<Server, IpcError> {
    #[cfg(unix)]
    {
        unix::serve(path, handler).await
    }
    #[cfg(not(unix))]
    {
        let _ = (path, handler);
        Err(IpcError::Unsupported)
    }
}

/// Asks the running app for a profile's credentials: `None` when no app answers on `path`,
/// otherwise its `credential_process` JSON or its sentence saying why not.
pub async fn request_credentials(path: &Path, profile: &str) -> Option<Result<String, String>> {
    #[cfg(unix)]
    {
        unix::request(path, profile).await
    }
    #[cfg(not(unix))]
    {
        let _ = (path, profile);
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::secrets::Sensitive;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn stored() -> StoredCredentials {
        StoredCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE12".to_owned(),
            secret_access_key: Sensitive::new("secret".to_owned()),
            session_token: Some(Sensitive::new("token".to_owned())),
            expiration: Some(time::macros::datetime!(2026-12-01 12:00 UTC)),
            principal_arn: None,
        }
    }

    #[tokio::test]
    async fn the_app_answers_with_credential_process_json_or_a_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let handler: Handler = Arc::new(move |profile: String| {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if profile == "work" {
                    Ok(stored())
                } else {
                    Err(format!("no profile {profile}"))
                }
            })
        });
        let server = serve(&path, handler).await.unwrap();

        let json = request_credentials(&path, "work").await.unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["Version"], 1);
        assert_eq!(value["Expiration"], "2026-12-01T12:00:00Z");
        assert_eq!(
            request_credentials(&path, "other").await,
            Some(Err("no profile other".to_owned()))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o700, "only the owner reaches the socket");

        let second = serve(&path, Arc::new(|_| Box::pin(async { Err(String::new()) }))).await;
        assert!(matches!(second, Err(IpcError::InUse { .. })), "{second:?}");

        drop(server);
        assert!(!path.exists(), "the socket goes with the server");
        assert_eq!(
            request_credentials(&path, "work").await,
            None,
            "no app: None"
        );
    }
}
