//! The local socket between `rolecall credential-process` and the running tray app.
//!
//! When the app runs, it answers credential requests itself ([`serve`]): its engine holds the
//! sign-in state (the keyring's SSO session, the assertion it may reuse, what failed a moment
//! ago), renews a profile once however many AWS tools ask at the same moment, and when a
//! renewal needs the person it shows that in the tray and tells the caller to sign in there.
//! `credential-process` asks it first ([`request_credentials`]) and renews by itself only when
//! no app answers.
//!
//! The socket carries text: what answers ([`Handler`]) gives the `credential_process` JSON or
//! a sentence, so this module knows nothing of credentials.
//!
//! The socket lives in a folder only its owner may open (`$XDG_RUNTIME_DIR/rolecall`, else
//! Rolecall's own folder). Both sides check that folder (not a link, this user's, mode 0700),
//! the server checks that each caller is the same user, and the caller checks the same of the
//! server before it trusts an answer. A server holds `credentials.lock` beside the socket while
//! it runs, so two starting apps never unlink each other's socket. One request per connection: a JSON line in, a JSON line
//! out, each bounded in size and time. Unix only for now; elsewhere no app
//! is ever found and `credential-process` renews by itself.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::paths::{AppPaths, Environment};
use crate::secrets::Sensitive;

/// How long a caller at a terminal waits for the app.
pub const INTERACTIVE_WAIT: Duration = Duration::from_secs(300);
/// How long a caller without a terminal (CI, a scheduled job) waits: one sign-in with its
/// deadline and the role's assumption, so a stuck IdP never holds a pipeline for long.
pub const UNATTENDED_WAIT: Duration = Duration::from_secs(120);

/// How long a caller waits, at a terminal or not.
pub fn wait_for(interactive: bool) -> Duration {
    if interactive {
        INTERACTIVE_WAIT
    } else {
        UNATTENDED_WAIT
    }
}

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

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    /// The `credential_process` JSON, as the AWS tools want it.
    Credentials(String),
    /// A sentence saying why not and what to do.
    Refused(String),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The JSON holds the secret key and the session token.
            Reply::Credentials(_) => f.write_str("Credentials(<redacted>)"),
            Reply::Refused(message) => f.debug_tuple("Refused").field(message).finish(),
        }
    }
}

/// What answers requests: given a profile name, its `credential_process` JSON (which holds the
/// secret key), or a sentence saying why not and what to do.
pub type Handler = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<Sensitive<String>, String>> + Send>>
        + Send
        + Sync,
>;

/// How much the server takes from its callers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a caller has to send its request, and to take the answer.
    pub read_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// The pause after `accept` fails (out of file descriptors), so it is not retried at once.
    pub accept_pause: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(5),
            max_connections: 64,
            accept_pause: Duration::from_millis(250),
        }
    }
}

/// A running server; dropping it stops it and removes its socket, unless another app has
/// bound a socket of its own at the path since.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    #[cfg(unix)]
    task: tokio::task::JoinHandle<()>,
    /// The device and inode of the socket this server bound.
    #[cfg(unix)]
    bound: Option<(u64, u64)>,
    /// Held while the server runs (`credentials.lock` beside the socket): a second app that
    /// starts finds it taken and leaves the socket alone, even before the first one listens.
    #[cfg(unix)]
    _lock: std::fs::File,
}

impl Drop for Server {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            self.task.abort();
            // Checked while the lock is still held, so no other Rolecall binds in between.
            let ours = std::fs::symlink_metadata(&self.path)
                .is_ok_and(|meta| Some((meta.dev(), meta.ino())) == self.bound);
            if ours {
                let _ = std::fs::remove_file(&self.path);
            }
        }
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
    #[error("{0}")]
    UnsafeFolder(UnsafeFolder),
    #[error("Local sockets are not available on this platform yet.")]
    Unsupported,
}

/// The socket's folder is not private to the person, so whatever answers in it may not be
/// Rolecall.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Rolecall's socket folder {} {problem}, so Rolecall does not use it: another user could \
     answer in Rolecall's place. Remove it (Rolecall makes it again, private to you), or set \
     XDG_RUNTIME_DIR to a folder only you can open.",
    folder.display()
)]
pub struct UnsafeFolder {
    pub folder: PathBuf,
    pub problem: String,
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};

    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{UnixListener, UnixStream};
    use tokio::sync::Semaphore;

    use super::*;

    /// The longest request line read: a profile name, with room to spare.
    const MAX_REQUEST: u64 = 4096;
    /// The longest answer read: credentials JSON is under 2 KiB, a sentence far less.
    const MAX_REPLY: u64 = 64 * 1024;

    fn euid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// Checks, without following a link, that `folder` is a folder of this user that nobody
    /// else may open.
    pub(super) fn check_folder(folder: &Path) -> Result<(), UnsafeFolder> {
        let unsafe_folder = |problem: String| UnsafeFolder {
            folder: folder.to_owned(),
            problem,
        };
        let meta = std::fs::symlink_metadata(folder)
            .map_err(|err| unsafe_folder(format!("cannot be examined ({err})")))?;
        if meta.file_type().is_symlink() {
            return Err(unsafe_folder("is a symbolic link".to_owned()));
        }
        if !meta.is_dir() {
            return Err(unsafe_folder("is not a folder".to_owned()));
        }
        if meta.uid() != euid() {
            return Err(unsafe_folder(format!(
                "belongs to another user (uid {}, you are {})",
                meta.uid(),
                euid()
            )));
        }
        let mode = meta.mode() & 0o777;
        if mode != 0o700 {
            return Err(unsafe_folder(format!(
                "has mode {mode:04o}, not 0700 (only you may open it)"
            )));
        }
        Ok(())
    }

    /// Makes the socket's folder, private to this user, or checks the one already there.
    fn private_folder(path: &Path) -> Result<(), IpcError> {
        let folder = path.parent().unwrap_or(Path::new("."));
        if std::fs::symlink_metadata(folder).is_err() {
            if let Some(parent) = folder.parent() {
                std::fs::create_dir_all(parent).map_err(|source| IpcError::Socket {
                    path: path.to_owned(),
                    source,
                })?;
            }
            match std::fs::DirBuilder::new().mode(0o700).create(folder) {
                Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(IpcError::Socket {
                        path: path.to_owned(),
                        source: err,
                    });
                }
                _ => {}
            }
        }
        check_folder(folder).map_err(IpcError::UnsafeFolder)
    }

    /// Takes the lock file beside the socket, for as long as the returned file is open.
    fn take_lock(path: &Path) -> Result<std::fs::File, IpcError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let socket_error = |source| IpcError::Socket {
            path: path.to_owned(),
            source,
        };
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path.with_extension("lock"))
            .map_err(socket_error)?;
        match lock.try_lock() {
            Ok(()) => Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) => Err(IpcError::InUse {
                path: path.to_owned(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(socket_error(source)),
        }
    }

    pub async fn serve(path: &Path, handler: Handler, limits: Limits) -> Result<Server, IpcError> {
        private_folder(path)?;
        let lock = take_lock(path)?;
        // An app that answers without the lock (an older Rolecall) keeps its socket.
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
        let bound = std::fs::symlink_metadata(path)
            .ok()
            .map(|meta| (meta.dev(), meta.ino()));
        let owner = euid();
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let task = tokio::spawn(async move {
            // The callers being answered: owned here, so they end with the server.
            let mut answering = tokio::task::JoinSet::new();
            loop {
                while answering.try_join_next().is_some() {}
                let Ok(permit) = Arc::clone(&connections).acquire_owned().await else {
                    return;
                };
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        #[cfg(test)]
                        tests::ACCEPT_ERRORS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tracing::warn!("the credential socket could not accept a caller: {err}");
                        tokio::time::sleep(limits.accept_pause).await;
                        continue;
                    }
                };
                let same_user = stream.peer_cred().is_ok_and(|peer| peer.uid() == owner);
                if !same_user {
                    tracing::warn!("refused a credential request from another user");
                    continue;
                }
                let handler = Arc::clone(&handler);
                answering.spawn(async move {
                    if let Err(err) = answer(stream, handler, limits.read_timeout).await {
                        tracing::debug!("a credential request ended early: {err}");
                    }
                    drop(permit);
                });
            }
        });
        Ok(Server {
            path: path.to_owned(),
            task,
            bound,
            _lock: lock,
        })
    }

    /// Reads one line of at most `limit` bytes; `None` when it is longer or has no end.
    async fn read_bounded_line(
        read: impl AsyncRead + Unpin,
        limit: u64,
    ) -> std::io::Result<Option<String>> {
        let mut bytes = Vec::new();
        BufReader::new(read.take(limit + 1))
            .read_until(b'\n', &mut bytes)
            .await?;
        if bytes.last() != Some(&b'\n') || bytes.len() as u64 > limit {
            return Ok(None);
        }
        bytes.pop();
        Ok(String::from_utf8(bytes).ok())
    }

    fn timed_out(what: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, what.to_owned())
    }

    async fn answer(
        stream: UnixStream,
        handler: Handler,
        read_timeout: Duration,
    ) -> std::io::Result<()> {
        let (mut read, mut write) = stream.into_split();
        let line = tokio::time::timeout(read_timeout, read_bounded_line(&mut read, MAX_REQUEST))
            .await
            .map_err(|_| timed_out("the caller sent no request in time"))??;
        if line.is_none() {
            // Take in (a bounded part of) the rest, so the caller reads the refusal instead of
            // a reset connection.
            let rest = (&mut read).take(MAX_REQUEST * 16);
            let _ = tokio::time::timeout(
                read_timeout,
                tokio::io::copy(&mut BufReader::new(rest), &mut tokio::io::sink()),
            )
            .await;
        }
        let reply = match line.as_deref().map(serde_json::from_str::<Request>) {
            Some(Ok(request)) => match handler(request.profile).await {
                Ok(json) => Reply::Credentials(json.expose().clone()),
                Err(message) => Reply::Refused(message),
            },
            Some(Err(_)) => Reply::Refused("the request was not understood".to_owned()),
            None => Reply::Refused(format!(
                "the request was not one line of at most {MAX_REQUEST} bytes"
            )),
        };
        let mut text = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        text.push('\n');
        tokio::time::timeout(read_timeout, async {
            write.write_all(text.as_bytes()).await?;
            write.shutdown().await
        })
        .await
        .map_err(|_| timed_out("the caller did not take the answer in time"))?
    }

    pub async fn request(
        path: &Path,
        profile: &str,
        wait: Duration,
    ) -> Option<Result<String, String>> {
        let folder = path.parent().unwrap_or(Path::new("."));
        if std::fs::symlink_metadata(folder).is_err() {
            return None;
        }
        if let Err(problem) = check_folder(folder) {
            return Some(Err(problem.to_string()));
        }
        let stream = UnixStream::connect(path).await.ok()?;
        match stream.peer_cred() {
            Ok(peer) if peer.uid() == euid() => {}
            Ok(peer) => {
                return Some(Err(format!(
                    "Rolecall's socket {} is held by another user (uid {}), so Rolecall does \
                     not trust its answer. Remove {} and start the Rolecall app again.",
                    path.display(),
                    peer.uid(),
                    path.display()
                )));
            }
            Err(err) => {
                return Some(Err(format!(
                    "Rolecall could not tell who answers on {} ({err}), so it does not trust \
                     the answer. Quit and restart the Rolecall app.",
                    path.display()
                )));
            }
        }
        let exchange = async {
            let (read, mut write) = stream.into_split();
            let mut text = serde_json::to_string(&Request {
                profile: profile.to_owned(),
            })
            .map_err(std::io::Error::other)?;
            text.push('\n');
            write.write_all(text.as_bytes()).await?;
            let line = read_bounded_line(read, MAX_REPLY).await?.ok_or_else(|| {
                std::io::Error::other(format!(
                    "the answer was not one line of at most {MAX_REPLY} bytes"
                ))
            })?;
            serde_json::from_str::<Reply>(&line).map_err(std::io::Error::other)
        };
        match tokio::time::timeout(wait, exchange).await {
            Ok(Ok(Reply::Credentials(json))) => Some(Ok(json)),
            Ok(Ok(Reply::Refused(message))) => Some(Err(message)),
            Ok(Err(err)) => Some(Err(format!(
                "the Rolecall app did not answer properly ({err}). Quit and restart it."
            ))),
            Err(_) => Some(Err(format!(
                "the Rolecall app did not answer within {} seconds. Sign in from the tray, \
                 then try again.",
                wait.as_secs()
            ))),
        }
    }
}

/// Starts answering credential requests on `path` with `handler`.
pub async fn serve(path: &Path, handler: Handler) -> Result<Server, IpcError> {
    serve_with(path, handler, Limits::default()).await
}

/// [`serve`] with other limits.
pub async fn serve_with(path: &Path, handler: Handler, limits: Limits) -> Result<Server, IpcError> {
    #[cfg(unix)]
    {
        unix::serve(path, handler, limits).await
    }
    #[cfg(not(unix))]
    {
        let _ = (path, handler, limits);
        Err(IpcError::Unsupported)
    }
}

/// Asks the running app for a profile's credentials, waiting at most `wait`: `None` when no
/// app answers on `path`, otherwise its `credential_process` JSON or a sentence saying why not
/// (also when the socket's folder or the answering process is not this user's).
pub async fn request_credentials(
    path: &Path,
    profile: &str,
    wait: Duration,
) -> Option<Result<String, String>> {
    #[cfg(unix)]
    {
        unix::request(path, profile, wait).await
    }
    #[cfg(not(unix))]
    {
        let _ = (path, profile, wait);
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::aws_files::StoredCredentials;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// How often the server's `accept` failed, in this process.
    pub(super) static ACCEPT_ERRORS: AtomicUsize = AtomicUsize::new(0);

    /// Long enough for any machine; only a broken bound makes a test wait for it.
    const GUARD: Duration = Duration::from_secs(60);
    const WAIT: Duration = Duration::from_secs(30);

    fn stored() -> StoredCredentials {
        StoredCredentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE12".to_owned(),
            secret_access_key: Sensitive::new("secret-key-value".to_owned()),
            session_token: Some(Sensitive::new("session-token-value".to_owned())),
            expiration: Some(time::macros::datetime!(2026-12-01 12:00 UTC)),
            principal_arn: None,
        }
    }

    /// What the app's handler answers for [`stored`].
    fn json() -> Sensitive<String> {
        Sensitive::new(crate::credential_process::to_json(&stored()).unwrap_or_default())
    }

    fn answering() -> Handler {
        Arc::new(|_| Box::pin(async { Ok(json()) }))
    }

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|err| panic!("chmod {}: {err}", path.display()));
    }

    /// A Python another user can run (not one under root's home).
    const PYTHON: &str = "/usr/bin/python3";

    /// Whether this test can run processes as another user: as root, with a system Python.
    fn can_be_another_user() -> bool {
        rustix::process::geteuid().is_root() && Path::new(PYTHON).exists()
    }

    /// A folder another user can reach (a test's temp folder may be under a private home).
    fn shared_tempdir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .tempdir_in("/tmp")
            .unwrap_or_else(|err| panic!("a folder in /tmp: {err}"))
    }

    async fn guarded<T>(what: &str, work: impl Future<Output = T>) -> T {
        tokio::time::timeout(GUARD, work)
            .await
            .unwrap_or_else(|_| panic!("{what} did not end"))
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
                    Ok(json())
                } else {
                    Err(format!("no profile {profile}"))
                }
            })
        });
        let server = serve(&path, handler).await.unwrap();

        let json = request_credentials(&path, "work", WAIT)
            .await
            .unwrap()
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["Version"], 1);
        assert_eq!(value["Expiration"], "2026-12-01T12:00:00Z");
        assert_eq!(
            request_credentials(&path, "other", WAIT).await,
            Some(Err("no profile other".to_owned()))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "only the owner reaches the socket");

        let second = serve(&path, Arc::new(|_| Box::pin(async { Err(String::new()) }))).await;
        assert!(matches!(second, Err(IpcError::InUse { .. })), "{second:?}");

        drop(server);
        assert!(!path.exists(), "the socket goes with the server");
        assert_eq!(
            request_credentials(&path, "work", WAIT).await,
            None,
            "no app: None"
        );
    }

    /// Two apps starting at once: the second never unlinks the first one's socket, even when
    /// it finds no socket to connect to (the first has not bound yet, or its file was removed).
    #[tokio::test]
    async fn a_second_server_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let first = serve(&path, answering()).await.unwrap();
        std::fs::remove_file(&path).unwrap();

        let second = serve(&path, answering()).await;
        assert!(matches!(second, Err(IpcError::InUse { .. })), "{second:?}");
        assert!(!path.exists(), "the second app bound nothing");

        drop(first);
        let again = serve(&path, answering()).await;
        assert!(again.is_ok(), "the lock goes with the server: {again:?}");
    }

    /// A server whose socket was replaced leaves the new one where it is when it stops.
    #[tokio::test]
    async fn dropping_a_server_keeps_a_socket_that_is_not_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let server = serve(&path, answering()).await.unwrap();
        std::fs::remove_file(&path).unwrap();
        let _other = std::os::unix::net::UnixListener::bind(&path).unwrap();

        drop(server);
        assert!(path.exists(), "the other socket stays");
    }

    #[test]
    fn a_reply_never_shows_the_credentials_in_debug() {
        let json = crate::credential_process::to_json(&stored()).unwrap();
        let shown = format!("{:?}", Reply::Credentials(json));
        assert!(
            !shown.contains("secret-key-value") && !shown.contains("session-token-value"),
            "{shown}"
        );
        assert_eq!(
            format!("{:?}", Reply::Refused("why".to_owned())),
            "Refused(\"why\")"
        );
    }

    #[test]
    fn unattended_callers_wait_less_than_people_at_a_terminal() {
        assert!(wait_for(false) < wait_for(true));
        assert!(wait_for(false) <= Duration::from_secs(120));
    }

    #[tokio::test]
    async fn a_folder_others_may_open_is_refused_by_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let server = serve(&path, answering()).await.unwrap();
        let folder = path.parent().unwrap();
        set_mode(folder, 0o755);

        let answer = request_credentials(&path, "work", WAIT).await;
        let Some(Err(message)) = answer else {
            panic!("the client must not trust the socket: {answer:?}");
        };
        assert!(
            message.contains("has mode 0755") && message.contains("Remove it"),
            "{message}"
        );
        drop(server);

        let refused = serve(&path, answering()).await;
        assert!(
            matches!(&refused, Err(IpcError::UnsafeFolder(problem)) if problem.problem.contains("0755")),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_symlinked_folder_is_refused_by_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real").join("credentials.sock");
        let server = serve(&real, answering()).await.unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(real.parent().unwrap(), &link).unwrap();
        let through_link = link.join("credentials.sock");

        let answer = request_credentials(&through_link, "work", WAIT).await;
        let Some(Err(message)) = answer else {
            panic!("the client must not follow the link: {answer:?}");
        };
        assert!(message.contains("is a symbolic link"), "{message}");
        drop(server);

        let refused = serve(&through_link, answering()).await;
        assert!(
            matches!(&refused, Err(IpcError::UnsafeFolder(problem)) if problem.problem.contains("symbolic link")),
            "{refused:?}"
        );
    }

    /// Another user's folder, and a socket in this user's folder that another user's process
    /// holds: neither is trusted. Changing owners needs root, so elsewhere this test only says
    /// it did not run.
    #[tokio::test]
    async fn another_users_folder_or_server_is_not_trusted() {
        if !can_be_another_user() {
            eprintln!("skipped: changing owners needs root and {PYTHON}");
            return;
        }
        let dir = shared_tempdir();
        set_mode(dir.path(), 0o755);
        let nobody = 65534;

        // Their folder: the server refuses it, the client does not connect into it.
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        set_mode(&theirs, 0o700);
        std::os::unix::fs::chown(&theirs, Some(nobody), Some(nobody)).unwrap();
        let path = theirs.join("credentials.sock");
        let refused = serve(&path, answering()).await;
        assert!(
            matches!(&refused, Err(IpcError::UnsafeFolder(problem)) if problem.problem.contains("another user")),
            "{refused:?}"
        );
        let _listener = tokio::net::UnixListener::bind(&path).unwrap();
        let answer = request_credentials(&path, "work", WAIT).await;
        assert!(
            matches!(&answer, Some(Err(message)) if message.contains("belongs to another user")),
            "{answer:?}"
        );

        // Their server, moved into our folder: the client checks who holds the socket.
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::chown(&outside, Some(nobody), Some(nobody)).unwrap();
        let forged = r#"{"credentials":"{\"Version\":1,\"AccessKeyId\":\"ASIAFORGED\"}"}"#;
        let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\n\
                      s.listen()\nprint('ready',flush=True)\nc,_=s.accept()\nc.recv(4096)\n\
                      c.sendall(sys.argv[2].encode()+b'\\n')\n";
        let mut child = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                PYTHON,
                "-c",
            ])
            .arg(script)
            .arg(outside.join("s"))
            .arg(forged)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut ready,
        )
        .unwrap();
        assert_eq!(ready.trim(), "ready");
        let ours = dir.path().join("ours").join("credentials.sock");
        std::fs::DirBuilder::new()
            .create(ours.parent().unwrap())
            .unwrap();
        set_mode(ours.parent().unwrap(), 0o700);
        std::fs::rename(outside.join("s"), &ours).unwrap();
        let answer = request_credentials(&ours, "work", WAIT).await;
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            matches!(&answer, Some(Err(message)) if message.contains("held by another user (uid 65534)")),
            "{answer:?}"
        );
    }

    /// A caller of another user that reaches the socket (here through a hard link in a public
    /// folder) gets nothing: the server checks each caller against its own euid.
    #[tokio::test]
    async fn the_server_answers_no_other_user() {
        if !can_be_another_user() {
            eprintln!("skipped: running as another user needs root and {PYTHON}");
            return;
        }
        let dir = shared_tempdir();
        set_mode(dir.path(), 0o755);
        let path = dir.path().join("run").join("credentials.sock");
        let _server = serve(&path, answering()).await.unwrap();
        let public = dir.path().join("public");
        std::fs::create_dir(&public).unwrap();
        set_mode(&public, 0o777);
        set_mode(&path, 0o777);
        std::fs::hard_link(&path, public.join("s")).unwrap();
        let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n\
                      try:\n s.sendall(b'{\"profile\":\"work\"}\\n')\n print(repr(s.recv(65536)))\n\
                      except OSError:\n print('closed')\n";
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    PYTHON,
                    "-c",
                ])
                .arg(script)
                .arg(public.join("s"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let seen = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{output:?}");
        assert!(
            !seen.contains("ASIA"),
            "no credentials for another user: {seen}"
        );
        assert!(
            ["b''", "closed"].contains(&seen.trim()),
            "the connection is closed unanswered: {seen}"
        );
    }

    #[tokio::test]
    async fn a_caller_that_never_ends_its_line_is_cut_off_and_others_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let limits = Limits {
            read_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let _server = serve_with(&path, answering(), limits).await.unwrap();

        let mut silent = tokio::net::UnixStream::connect(&path).await.unwrap();
        silent.write_all(br#"{"profile":"wo"#).await.unwrap();
        let served = request_credentials(&path, "work", WAIT).await;
        assert!(matches!(served, Some(Ok(_))), "{served:?}");

        let mut rest = Vec::new();
        guarded(
            "the silent caller's connection",
            silent.read_to_end(&mut rest),
        )
        .await
        .unwrap();
        assert!(
            !String::from_utf8_lossy(&rest).contains("ASIA"),
            "no credentials for an unfinished request"
        );
    }

    #[tokio::test]
    async fn an_over_long_request_is_refused_and_the_server_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let _server = serve(&path, answering()).await.unwrap();

        let mut long = tokio::net::UnixStream::connect(&path).await.unwrap();
        let profile = "p".repeat(10_000);
        long.write_all(format!("{{\"profile\":\"{profile}\"}}\n").as_bytes())
            .await
            .unwrap_or(());
        let mut answer = String::new();
        guarded("the answer", long.read_to_string(&mut answer))
            .await
            .unwrap();
        assert!(
            answer.contains("not one line of at most 4096 bytes"),
            "{answer}"
        );
        let served = request_credentials(&path, "work", WAIT).await;
        assert!(matches!(served, Some(Ok(_))), "{served:?}");
    }

    #[tokio::test]
    async fn the_client_reads_a_bounded_answer_from_a_server_that_never_ends_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("run");
        std::fs::create_dir(&folder).unwrap();
        set_mode(&folder, 0o700);
        let path = folder.join("credentials.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let endless = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let chunk = vec![b'x'; 16 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        });

        let answer = guarded("the client", request_credentials(&path, "work", WAIT)).await;
        assert!(
            matches!(&answer, Some(Err(message)) if message.contains("not one line of at most 65536 bytes")),
            "{answer:?}"
        );
        endless.abort();
    }

    #[tokio::test]
    async fn a_server_that_does_not_answer_is_given_up_on_after_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let stuck: Handler = Arc::new(|_| Box::pin(std::future::pending()));
        let _server = serve(&path, stuck).await.unwrap();
        let answer = guarded(
            "the client",
            request_credentials(&path, "work", Duration::from_millis(300)),
        )
        .await;
        assert!(
            matches!(&answer, Some(Err(message)) if message.contains("did not answer within")),
            "{answer:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_beyond_the_cap_wait_their_turn() {
        const CAP: usize = 2;
        const CALLERS: usize = 6;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Semaphore::new(0));
        let handler: Handler = {
            let (inside, most, release) =
                (Arc::clone(&inside), Arc::clone(&most), Arc::clone(&release));
            Arc::new(move |_| {
                let (inside, most, release) =
                    (Arc::clone(&inside), Arc::clone(&most), Arc::clone(&release));
                Box::pin(async move {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    release.acquire().await.unwrap().forget();
                    inside.fetch_sub(1, Ordering::SeqCst);
                    Ok(json())
                })
            })
        };
        let limits = Limits {
            max_connections: CAP,
            ..Limits::default()
        };
        let _server = serve_with(&path, handler, limits).await.unwrap();
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(async move { request_credentials(&path, "work", WAIT).await })
            })
            .collect();
        for _ in 0..CALLERS {
            while inside.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Room for callers past the cap to come in, were they let in.
            tokio::time::sleep(Duration::from_millis(50)).await;
            release.add_permits(1);
        }
        for caller in callers {
            let answer = guarded("a caller", caller).await.unwrap();
            assert!(matches!(answer, Some(Ok(_))), "{answer:?}");
        }
        assert!(
            most.load(Ordering::SeqCst) <= CAP,
            "at most {CAP} at once, saw {}",
            most.load(Ordering::SeqCst)
        );
    }

    const EMFILE_CHILD: &str = "ROLECALL_TEST_EMFILE_CHILD";
    const EMFILE_TEST: &str = "ipc::tests::accept_errors_pause_instead_of_spinning";

    /// Out of file descriptors, `accept` fails at once for as long as a caller waits: the
    /// server pauses between tries instead of spinning. The limit is the process's, so the
    /// test runs itself again in a child process.
    #[test]
    fn accept_errors_pause_instead_of_spinning() {
        if std::env::var_os(EMFILE_CHILD).is_none() {
            let output = std::process::Command::new(std::env::current_exe().unwrap())
                .args([EMFILE_TEST, "--exact", "--nocapture", "--test-threads=1"])
                .env(EMFILE_CHILD, "1")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{output:?}");
            let errors: usize = stdout
                .lines()
                .find_map(|line| line.split_once("accept errors: ").map(|(_, count)| count))
                .unwrap_or_else(|| panic!("the child reports its count: {stdout}"))
                .trim()
                .parse()
                .unwrap();
            // One second with a 100 ms pause: about ten tries. A spinning loop makes thousands.
            assert!(
                (1..=50).contains(&errors),
                "accept failed {errors} times in one second"
            );
            return;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("credentials.sock");
        let limits = Limits {
            accept_pause: Duration::from_millis(100),
            ..Limits::default()
        };
        let _server = runtime
            .block_on(serve_with(&path, answering(), limits))
            .unwrap();
        // A caller waits in the listen queue while no descriptor is left to accept it with.
        let _caller = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let mut hoard = Vec::new();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        rustix::process::setrlimit(
            rustix::process::Resource::Nofile,
            rustix::process::Rlimit {
                current: Some(256),
                maximum: limit.maximum,
            },
        )
        .unwrap();
        while let Ok(file) = std::fs::File::open("/dev/null") {
            hoard.push(file);
        }
        runtime.block_on(async { tokio::time::sleep(Duration::from_secs(1)).await });
        println!("accept errors: {}", ACCEPT_ERRORS.load(Ordering::SeqCst));
        drop(hoard);
    }
}
