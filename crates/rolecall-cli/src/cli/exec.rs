//! `rolecall exec` and `rolecall env`: a profile's credentials handed to another program, in
//! its environment or on a container credentials endpoint, or printed for a shell.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::credential_process::{RenewError, Setup};
use rolecall_core::env_format;
use rolecall_core::exec::{self, ExecError};
use rolecall_core::ipc;
use rolecall_core::paths::Environment;
use rolecall_core::secrets::{Keyring, SecretStore};

use super::args::EnvFormatArg;
use super::{exit, fail, load_settings, resolve_paths, with_runtime};

/// What `rolecall exec` was asked.
#[derive(Debug)]
pub(crate) struct Request {
    pub profile: Option<String>,
    pub force: bool,
    pub ecs_server: bool,
    pub command: Vec<OsString>,
}

pub(crate) fn run(request: Request) -> ExitCode {
    let (setup, profile) = match setup(request.profile) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let request = exec::Request {
        profile,
        force: request.force,
        container_endpoint: request.ecs_server,
        command: request.command,
    };
    with_runtime(async {
        match exec::exec(request, &setup, tray_wait()).await {
            Ok(code) => ExitCode::from(code),
            Err(err) => fail(exit_code_of(&err), &err.to_string()),
        }
    })
}

pub(crate) fn env(profile: Option<String>, format: EnvFormatArg) -> ExitCode {
    let (setup, profile) = match setup(profile) {
        Ok(found) => found,
        Err(code) => return code,
    };
    with_runtime(async {
        match exec::environment(&profile, &setup, tray_wait()).await {
            Ok(changes) => {
                print!("{}", env_format::render(format.into(), &changes));
                ExitCode::SUCCESS
            }
            Err(err) => fail(exit_code_of(&err), &err.to_string()),
        }
    })
}

/// Where the credentials come from, and the profile: the one given, else the active one.
fn setup(profile: Option<String>) -> Result<(Setup, String), ExitCode> {
    let paths = resolve_paths()?;
    let profile = match profile {
        Some(profile) => profile,
        None => load_settings(&paths)?.preferences.active_profile,
    };
    // Fresh credentials need no keyring: it is reached only when a renewal signs in.
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::when_needed());
    let setup = Setup {
        paths,
        env: Environment::from_process(),
        secrets,
    };
    Ok((setup, profile))
}

/// How long to wait for the tray's renewal: at a terminal a person may be signing in there;
/// without one (CI, a scheduled job) the wait is shorter.
fn tray_wait() -> std::time::Duration {
    ipc::wait_for(std::io::stdin().is_terminal())
}

fn exit_code_of(err: &ExecError) -> u8 {
    match err {
        // What a shell answers for a program it cannot run or find.
        ExecError::NotRunnable { .. } => 126,
        ExecError::NotFound { .. } => 127,
        ExecError::Nested { .. }
        | ExecError::NotTemporary { .. }
        | ExecError::Renew(RenewError::NotManaged { .. } | RenewError::UnknownEndpoint { .. }) => {
            exit::USAGE
        }
        ExecError::Renew(RenewError::NeedsPerson { .. } | RenewError::PasswordRefused { .. }) => {
            exit::NEEDS_PERSON
        }
        _ => exit::OTHER,
    }
}
