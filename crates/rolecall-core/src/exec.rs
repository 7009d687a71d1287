//! A profile's credentials handed to another program: `rolecall exec` runs it with them in its
//! environment ([`exec`]: keys, or a container credentials endpoint,
//! [`crate::container_endpoint`]), and `rolecall env` prints them for a shell to take in
//! ([`environment`], written by [`crate::env_format`]).
//!
//! Credentials come the way `credential-process` gets them ([`credentials`]): from the file
//! while more than [`MIN_REMAINING`](credential_process::MIN_REMAINING) is left, else from
//! the running tray (whose engine renews them), else renewed here. This module never reads the
//! process environment itself: callers pass an [`Environment`] (in the [`Setup`]), and the
//! program [`run`] starts inherits the caller's environment with the [`EnvChanges`] applied.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use crate::aws_files::{AwsFiles, AwsFilesError, StoredCredentials};
use crate::clock::SystemClock;
use crate::container_endpoint::{self, ContainerEndpoint};
pub use crate::credential_process::ProfileCredentials;
use crate::credential_process::{self, RenewError, Setup, rfc3339};
use crate::paths::{AppPaths, Environment, Platform};
use crate::registry::Registry;
use crate::secrets::Sensitive;

/// Set in the program `rolecall exec` runs to the profile it runs with, so a nested exec of
/// another profile is noticed.
pub const MARKER: &str = crate::paths::EXEC_PROFILE;

/// Where the SDKs would otherwise take a profile or keys from, mixing them with ours.
const OTHER_SOURCES: [&str; 2] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];
const STATIC_KEYS: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];
const CONTAINER_KEYS: [&str; 4] = [
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// What `rolecall exec` was asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub profile: String,
    /// Run inside an exec of another profile all the same.
    pub force: bool,
    /// Serve the credentials on a container credentials endpoint instead of putting keys in
    /// the program's environment.
    pub container_endpoint: bool,
    /// The program and its arguments; the person's shell when empty.
    pub command: Vec<OsString>,
}

/// Runs the program `request` names with the profile's credentials (renewed first when fewer
/// than 15 minutes are left) and returns its exit code, as [`run`] does.
///
/// With [`Request::container_endpoint`] the program gets the URL and token of a
/// [`ContainerEndpoint`] instead of keys; the endpoint renews through [`credentials`] on each
/// request and stops when the program ends. Nothing starts when the exec is nested in one of
/// another profile (unless forced) or the profile's credentials cannot be had.
pub async fn exec(request: Request, setup: &Setup, wait: Duration) -> Result<u8, ExecError> {
    check_nesting(&setup.env, &request.profile, request.force)?;
    let program = Program::or_shell(request.command, &setup.env);
    let credentials = credentials(&request.profile, setup, wait).await?;
    // Checked before the program starts, whichever way it gets the credentials.
    temporary(&credentials)?;
    let (mut changes, endpoint) = if request.container_endpoint {
        let source = endpoint_source(&request.profile, setup, wait);
        let endpoint = ContainerEndpoint::start(source).await?;
        let region = credentials.region.as_deref();
        let changes = container_env(endpoint.url(), endpoint.token(), region);
        (changes, Some(endpoint))
    } else {
        (static_env(&credentials)?, None)
    };
    changes.mark(&request.profile);
    let code = run(&program, &changes).await;
    // The endpoint serves for as long as the program runs, and no longer.
    drop(endpoint);
    code
}

/// What `rolecall env` prints: the profile's keys and region as [`static_env`] sets them,
/// renewed first when fewer than 15 minutes are left.
pub async fn environment(
    profile: &str,
    setup: &Setup,
    wait: Duration,
) -> Result<EnvChanges, ExecError> {
    static_env(&credentials(profile, setup, wait).await?)
}

/// Where a container endpoint for `profile` takes each answer: [`credentials`], so the
/// endpoint renews the way `credential-process` does.
pub fn endpoint_source(profile: &str, setup: &Setup, wait: Duration) -> container_endpoint::Source {
    let profile: Arc<str> = profile.into();
    let setup = Arc::new(setup.clone());
    Arc::new(move || {
        let profile = Arc::clone(&profile);
        let setup = Arc::clone(&setup);
        Box::pin(async move {
            credentials(&profile, &setup, wait)
                .await
                .map_err(|err| err.to_string())
        })
    })
}

/// The profile's credentials with more than 15 minutes left, renewed first otherwise: by the
/// running tray when one answers on the credential socket within `wait`, else here.
pub async fn credentials(
    profile: &str,
    setup: &Setup,
    wait: Duration,
) -> Result<ProfileCredentials, ExecError> {
    let files = AwsFiles::from_paths(&setup.paths);
    let fresh = files
        .read_credentials(profile)?
        .filter(|stored| credential_process::is_fresh(stored, SystemClock.now()));
    let stored = match fresh {
        Some(stored) => stored,
        None => {
            let socket = crate::ipc::socket_path(&setup.paths, &setup.env);
            match crate::ipc::request_credentials(&socket, profile, wait).await {
                Some(Ok(json)) => {
                    credential_process::from_json(&json).ok_or(ExecError::UnreadableAnswer)?
                }
                Some(Err(message)) => return Err(ExecError::FromTray { message }),
                None => credential_process::serve(profile, setup).await?,
            }
        }
    };
    with_details(&setup.paths, profile, stored)
}

/// `stored` with the profile's region and role, read from the AWS config file and Rolecall's
/// registry.
pub fn with_details(
    paths: &AppPaths,
    profile: &str,
    stored: StoredCredentials,
) -> Result<ProfileCredentials, ExecError> {
    let region = AwsFiles::from_paths(paths).read_region(profile)?;
    // The role is extra information for the container endpoint: a registry that cannot be
    // read leaves it out rather than failing.
    let role_arn = Registry::load(&paths.config_dir)
        .ok()
        .and_then(|registry| registry.get(profile).map(|source| source.role_arn.clone()));
    Ok(ProfileCredentials {
        profile: profile.to_owned(),
        credentials: stored,
        region,
        role_arn,
    })
}

/// Variables to set and to remove in a program's environment.
#[derive(Debug, Default, Clone)]
pub struct EnvChanges {
    pub set: Vec<(String, Sensitive<String>)>,
    pub remove: Vec<String>,
}

impl EnvChanges {
    fn put(&mut self, name: &str, value: impl Into<String>) {
        self.remove.retain(|removed| removed != name);
        self.set.retain(|(set, _)| set != name);
        self.set
            .push((name.to_owned(), Sensitive::new(value.into())));
    }

    fn take_out(&mut self, names: &[&str]) {
        for name in names {
            self.set.retain(|(set, _)| set != name);
            if !self.remove.iter().any(|removed| removed == name) {
                self.remove.push((*name).to_owned());
            }
        }
    }

    /// Marks the environment as `rolecall exec`'s for `profile` ([`MARKER`]).
    pub fn mark(&mut self, profile: &str) {
        self.put(MARKER, profile);
    }

    /// The value set for `name`, if any.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.set
            .iter()
            .find(|(set, _)| set == name)
            .map(|(_, value)| value.expose().as_str())
    }

    /// Applies the changes to a command about to start.
    pub fn apply(&self, command: &mut std::process::Command) {
        for name in &self.remove {
            command.env_remove(name);
        }
        for (name, value) in &self.set {
            command.env(name, value.expose());
        }
    }

    fn region(&mut self, region: Option<&str>) {
        if let Some(region) = region {
            self.put("AWS_REGION", region);
            self.put("AWS_DEFAULT_REGION", region);
        }
    }
}

/// The profile's keys as the SDKs read them from the environment, its region, and no other
/// source of credentials.
pub fn static_env(credentials: &ProfileCredentials) -> Result<EnvChanges, ExecError> {
    let stored = &credentials.credentials;
    let (token, expiration) = temporary(credentials)?;
    let mut changes = EnvChanges::default();
    changes.take_out(&OTHER_SOURCES);
    changes.take_out(&CONTAINER_KEYS);
    changes.take_out(&STATIC_KEYS);
    changes.put("AWS_ACCESS_KEY_ID", stored.access_key_id.clone());
    changes.put(
        "AWS_SECRET_ACCESS_KEY",
        stored.secret_access_key.expose().clone(),
    );
    changes.put("AWS_SESSION_TOKEN", token.expose().clone());
    changes.put("AWS_CREDENTIAL_EXPIRATION", expiration);
    changes.region(credentials.region.as_deref());
    Ok(changes)
}

/// The session token and the RFC 3339 expiration of temporary credentials; long-term keys are
/// not handed out.
fn temporary(credentials: &ProfileCredentials) -> Result<(&Sensitive<String>, String), ExecError> {
    let stored = &credentials.credentials;
    let no_session = || ExecError::NotTemporary {
        profile: credentials.profile.clone(),
    };
    let token = stored.session_token.as_ref().ok_or_else(no_session)?;
    let expiration = stored.expiration.and_then(rfc3339).ok_or_else(no_session)?;
    Ok((token, expiration))
}

/// A container credentials endpoint at `url` with its `token` instead of keys, the profile's
/// region, and no other source of credentials.
pub fn container_env(url: &str, token: &Sensitive<String>, region: Option<&str>) -> EnvChanges {
    let mut changes = EnvChanges::default();
    changes.take_out(&OTHER_SOURCES);
    changes.take_out(&STATIC_KEYS);
    changes.take_out(&CONTAINER_KEYS);
    changes.put("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
    changes.put("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.expose().clone());
    changes.region(region);
    changes
}

/// Refuses an exec of `profile` inside an exec of another profile, unless forced: the inner
/// program would see one profile's credentials where the person expects the other's.
pub fn check_nesting(env: &Environment, profile: &str, force: bool) -> Result<(), ExecError> {
    match env.var(MARKER) {
        Some(current) if current != profile && !force => Err(ExecError::Nested {
            current: current.to_owned(),
            requested: profile.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub program: OsString,
    pub args: Vec<OsString>,
}

impl Program {
    /// `command` (a program and its arguments), or the person's shell when it is empty:
    /// `$SHELL` (else `/bin/sh`), `%COMSPEC%` on Windows (else `cmd.exe`).
    pub fn or_shell(command: Vec<OsString>, env: &Environment) -> Self {
        let mut command = command.into_iter();
        match command.next() {
            Some(program) => Self {
                program,
                args: command.collect(),
            },
            None => {
                let shell = match env.platform() {
                    Platform::Windows => env.var("COMSPEC").unwrap_or("cmd.exe"),
                    _ => env.var("SHELL").unwrap_or("/bin/sh"),
                };
                Self {
                    program: shell.into(),
                    args: Vec::new(),
                }
            }
        }
    }
}

/// Runs `program` with the caller's environment and `changes`, and waits for it: its exit
/// code, or 128 + the signal that ended it (as a shell reports it). On Unix the signals a
/// person or a supervisor sends to Rolecall (INT, TERM, HUP, QUIT, USR1, USR2) are passed on,
/// so Rolecall ends when the program does; Ctrl-C and Ctrl-\\ at the terminal reach the
/// program from the terminal itself, once.
pub async fn run(program: &Program, changes: &EnvChanges) -> Result<u8, ExecError> {
    let mut command = std::process::Command::new(&program.program);
    command.args(&program.args);
    // Rolecall's own secrets (a password given to it) are not the program's.
    crate::browser_page::withhold_secrets(&mut command);
    changes.apply(&mut command);
    let mut command = tokio::process::Command::from(command);
    #[cfg(unix)]
    let forwarded = signals::listen()?;
    let mut child = command.spawn().map_err(|source| {
        let program = program.program.to_string_lossy().into_owned();
        match source.kind() {
            std::io::ErrorKind::NotFound => ExecError::NotFound { program },
            std::io::ErrorKind::PermissionDenied => ExecError::NotRunnable { program, source },
            _ => ExecError::Spawn { program, source },
        }
    })?;
    #[cfg(unix)]
    let status = signals::wait_passing_on(&mut child, forwarded).await;
    #[cfg(not(unix))]
    let status = child.wait().await;
    let status = status.map_err(|source| ExecError::Wait { source })?;
    Ok(exit_code(status))
}

/// The code a shell would report for `status`.
pub fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(255);
        }
    }
    1
}

#[cfg(unix)]
mod signals {
    use rustix::process::{Pid, Signal};
    use tokio::signal::unix::{SignalKind, signal};
    use tokio::sync::mpsc;
    use tokio::task::JoinSet;

    use super::ExecError;

    /// The signals passed on to the program.
    const PASSED_ON: [(fn() -> SignalKind, Signal); 6] = [
        (SignalKind::interrupt, Signal::INT),
        (SignalKind::terminate, Signal::TERM),
        (SignalKind::hangup, Signal::HUP),
        (SignalKind::quit, Signal::QUIT),
        (SignalKind::user_defined1, Signal::USR1),
        (SignalKind::user_defined2, Signal::USR2),
    ];

    /// Listeners for [`PASSED_ON`], taken before the program starts so none is missed; they
    /// stop when dropped.
    pub(super) struct Listening {
        received: mpsc::UnboundedReceiver<Signal>,
        _tasks: JoinSet<()>,
    }

    pub(super) fn listen() -> Result<Listening, ExecError> {
        let (sender, received) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        for (kind, passed) in PASSED_ON {
            let mut stream = signal(kind()).map_err(|source| ExecError::Signals { source })?;
            let sender = sender.clone();
            tasks.spawn(async move {
                while stream.recv().await.is_some() {
                    if sender.send(passed).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Listening {
            received,
            _tasks: tasks,
        })
    }

    /// Whether `signal` is Ctrl-C or Ctrl-\\ typed at the terminal whose foreground process
    /// group holds Rolecall: the terminal sent it to the whole group, so the program (in the
    /// same group) has it already. Passing it on would deliver it twice, and programs such as
    /// Terraform take a second Ctrl-C as "stop now, without cleaning up". (A `kill -INT` of
    /// Rolecall alone while it runs in the foreground is then not passed on either; TERM is.)
    fn from_the_terminal(signal: Signal) -> bool {
        if signal != Signal::INT && signal != Signal::QUIT {
            return false;
        }
        // No controlling terminal (a service, a CI job): nobody typed it.
        let Ok(terminal) = std::fs::File::open("/dev/tty") else {
            return false;
        };
        rustix::termios::tcgetpgrp(&terminal)
            .is_ok_and(|foreground| foreground == rustix::process::getpgrp())
    }

    pub(super) async fn wait_passing_on(
        child: &mut tokio::process::Child,
        mut listening: Listening,
    ) -> std::io::Result<std::process::ExitStatus> {
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw);
        loop {
            tokio::select! {
                status = child.wait() => return status,
                Some(received) = listening.received.recv() => {
                    if let Some(pid) = pid
                        && !from_the_terminal(received)
                    {
                        // The program may have ended a moment ago: then there is no one to tell.
                        let _ = rustix::process::kill_process(pid, received);
                    }
                }
            }
        }
    }
}

/// Why a program could not be given a profile's credentials.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "This shell already runs inside `rolecall exec` for the profile \"{current}\", so \
         \"{requested}\" would replace its credentials where you may expect the others. Leave \
         that shell first (`exit`), or add --force to run \"{requested}\" inside it anyway."
    )]
    Nested { current: String, requested: String },

    #[error(
        "The profile \"{profile}\" holds no temporary credentials with an expiration, so \
         Rolecall cannot hand them out. Choose its role again with `rolecall login` or in the \
         Rolecall tray."
    )]
    NotTemporary { profile: String },

    #[error(
        "The Rolecall tray answered with credentials Rolecall cannot read. Update the tray and \
         the command line to the same version, then try again."
    )]
    UnreadableAnswer,

    #[error("{message}")]
    FromTray { message: String },

    #[error(
        "There is no program \"{program}\" on your PATH. Check its name, or give its full path."
    )]
    NotFound { program: String },

    #[error("Rolecall may not run \"{program}\" ({source}). Check that it is executable.")]
    NotRunnable {
        program: String,
        #[source]
        source: std::io::Error,
    },

    #[error("Rolecall could not start \"{program}\": {source}. Check the command, then try again.")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "Rolecall lost track of the program it started ({source}). Check whether it still runs."
    )]
    Wait {
        #[source]
        source: std::io::Error,
    },

    #[error(
        "Rolecall could not listen for signals to pass on ({source}), so it did not start the \
         program. Try again."
    )]
    Signals {
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Endpoint(#[from] container_endpoint::ContainerEndpointError),
    #[error(transparent)]
    Renew(#[from] RenewError),
    #[error(transparent)]
    Files(#[from] AwsFilesError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(region: Option<&str>) -> ProfileCredentials {
        ProfileCredentials {
            profile: "dev".to_owned(),
            credentials: StoredCredentials {
                access_key_id: "ASIAEXAMPLEEXAMPLE12".to_owned(),
                secret_access_key: Sensitive::new("secret/with+chars".to_owned()),
                session_token: Some(Sensitive::new("token==".to_owned())),
                expiration: Some(time::macros::datetime!(2026-12-01 14:30:00.25 +02:00)),
                principal_arn: None,
            },
            region: region.map(str::to_owned),
            role_arn: Some("arn:aws:iam::123456789012:role/Dev".to_owned()),
        }
    }

    #[test]
    fn the_static_environment_holds_the_keys_the_region_and_no_profile() {
        let changes = static_env(&profile(Some("eu-west-1"))).unwrap();
        assert_eq!(
            changes.value("AWS_ACCESS_KEY_ID"),
            Some("ASIAEXAMPLEEXAMPLE12")
        );
        assert_eq!(
            changes.value("AWS_SECRET_ACCESS_KEY"),
            Some("secret/with+chars")
        );
        assert_eq!(changes.value("AWS_SESSION_TOKEN"), Some("token=="));
        assert_eq!(
            changes.value("AWS_CREDENTIAL_EXPIRATION"),
            Some("2026-12-01T12:30:00Z"),
            "RFC 3339 in UTC, whole seconds"
        );
        assert_eq!(changes.value("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(changes.value("AWS_DEFAULT_REGION"), Some("eu-west-1"));
        for removed in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ] {
            assert!(
                changes.remove.iter().any(|name| name == removed),
                "{removed} is removed so the SDKs do not mix sources"
            );
        }
        assert!(
            !changes
                .remove
                .iter()
                .any(|name| name == "AWS_ACCESS_KEY_ID"),
            "what is set is not also removed"
        );
    }

    #[test]
    fn without_a_region_no_region_is_set() {
        let changes = static_env(&profile(None)).unwrap();
        assert_eq!(changes.value("AWS_REGION"), None);
        assert_eq!(changes.value("AWS_DEFAULT_REGION"), None);
    }

    #[test]
    fn long_term_keys_are_not_handed_out() {
        let mut long_term = profile(None);
        long_term.credentials.session_token = None;
        let err = static_env(&long_term).unwrap_err();
        assert!(matches!(err, ExecError::NotTemporary { .. }), "{err:?}");
    }

    #[test]
    fn the_container_environment_has_the_endpoint_and_no_keys() {
        let token = Sensitive::new("t0ken".to_owned());
        let changes = container_env("http://127.0.0.1:4242/x", &token, Some("us-east-2"));
        assert_eq!(
            changes.value("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            Some("http://127.0.0.1:4242/x")
        );
        assert_eq!(
            changes.value("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            Some("t0ken")
        );
        assert_eq!(changes.value("AWS_ACCESS_KEY_ID"), None);
        for removed in STATIC_KEYS.iter().chain(&OTHER_SOURCES) {
            assert!(
                changes.remove.iter().any(|name| name == removed),
                "{removed}"
            );
        }
        assert_eq!(changes.value("AWS_REGION"), Some("us-east-2"));
    }

    #[test]
    fn an_exec_of_another_profile_inside_an_exec_is_refused_unless_forced() {
        let outside = Environment::new(Platform::Linux);
        assert!(check_nesting(&outside, "prod", false).is_ok());
        let inside = Environment::new(Platform::Linux).with(MARKER, "dev");
        assert!(
            check_nesting(&inside, "dev", false).is_ok(),
            "the same profile again is harmless"
        );
        let err = check_nesting(&inside, "prod", false).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("\"dev\"") && message.contains("--force"),
            "{message}"
        );
        assert!(check_nesting(&inside, "prod", true).is_ok());
    }

    #[test]
    fn no_command_starts_the_persons_shell() {
        let env = Environment::new(Platform::Linux).with("SHELL", "/bin/zsh");
        assert_eq!(Program::or_shell(Vec::new(), &env).program, "/bin/zsh");
        let bare = Environment::new(Platform::Linux);
        assert_eq!(Program::or_shell(Vec::new(), &bare).program, "/bin/sh");
        let windows = Environment::new(Platform::Windows).with("COMSPEC", "C:\\cmd.exe");
        assert_eq!(
            Program::or_shell(Vec::new(), &windows).program,
            "C:\\cmd.exe"
        );
        let given = Program::or_shell(vec!["aws".into(), "s3".into(), "ls".into()], &env);
        assert_eq!(given.program, "aws");
        assert_eq!(given.args, vec![OsString::from("s3"), OsString::from("ls")]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_programs_exit_code_and_environment_come_through() {
        let mut changes = static_env(&profile(Some("eu-west-1"))).unwrap();
        changes.mark("dev");
        let program = Program {
            program: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                "test \"$AWS_ACCESS_KEY_ID\" = ASIAEXAMPLEEXAMPLE12 && \
                 test \"$ROLECALL_EXEC_PROFILE\" = dev && test -z \"${AWS_PROFILE+set}\" && exit 7"
                    .into(),
            ],
        };
        assert_eq!(run(&program, &changes).await.unwrap(), 7);
        let killed = Program {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "kill -TERM $$".into()],
        };
        assert_eq!(
            run(&killed, &changes).await.unwrap(),
            128 + 15,
            "like a shell"
        );
        let missing = Program {
            program: "/nonexistent/rolecall-test-program".into(),
            args: Vec::new(),
        };
        assert!(matches!(
            run(&missing, &changes).await,
            Err(ExecError::NotFound { .. })
        ));
    }
}
