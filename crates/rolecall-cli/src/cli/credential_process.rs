//! `rolecall credential-process --profile NAME`: the `credential_process` of the AWS tools.
//!
//! The fast path (credentials with more than 15 minutes left) reads one file and prints: no
//! runtime, no keyring, no network, so every AWS CLI call stays quick. Otherwise the running
//! app is asked (it renews through the tray's own sign-in, and when a person is needed the tray
//! shows it and the answer says to sign in there); without one, Rolecall renews by itself. Either way a
//! stored password the IdP refused is not sent again until a new one is stored.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::aws_files::{AwsFiles, StoredCredentials};
use rolecall_core::credential_process::{self, Setup};
use rolecall_core::ipc;
use rolecall_core::paths::Environment;
use rolecall_core::secrets::{Keyring, SecretStore};

use super::{exit, fail, resolve_paths, with_runtime};

pub fn run(profile: &str) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    match AwsFiles::from_paths(&paths).read_credentials(profile) {
        Ok(Some(stored))
            if credential_process::is_fresh(&stored, rolecall_core::clock::SystemClock.now()) =>
        {
            return print(&stored);
        }
        Ok(_) => {}
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    }
    let env = Environment::from_process();
    with_runtime(async {
        // At a terminal a person may be waiting for the tray; without one (CI, a scheduled
        // job) the wait is shorter.
        let wait = ipc::wait_for(std::io::stdin().is_terminal());
        match ipc::request_credentials(&ipc::socket_path(&paths, &env), profile, wait).await {
            Some(Ok(json)) => {
                println!("{json}");
                return ExitCode::SUCCESS;
            }
            Some(Err(message)) => return fail(exit::OTHER, &message),
            None => {}
        }
        let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
        let setup = Setup {
            paths: paths.clone(),
            env: env.clone(),
            secrets,
        };
        match credential_process::serve(profile, &setup).await {
            Ok(stored) => print(&stored),
            Err(err) => fail(exit::OTHER, &err.to_string()),
        }
    })
}

fn print(stored: &StoredCredentials) -> ExitCode {
    match credential_process::to_json(stored) {
        Some(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        None => fail(
            exit::OTHER,
            "the profile's expiration cannot be written as RFC 3339; sign in again.",
        ),
    }
}
