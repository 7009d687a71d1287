//! `rolecall credential-process --profile NAME`: the `credential_process` of the AWS tools.
//!
//! The fast path (credentials with more than 15 minutes left) reads one file and prints: no
//! runtime, no keyring, no network, so every AWS CLI call stays quick.

use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::credential_process::{self, RenewError, Renewal};
use rolecall_core::paths::Environment;
use rolecall_core::profiles::Registry;
use rolecall_core::secrets::{Keyring, SecretStore};
use time::OffsetDateTime;

use super::{exit, fail, load_settings, resolve_paths, with_runtime};

pub fn run(profile: &str) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let files = AwsFiles::from_paths(&paths);
    match files.read_credentials(profile) {
        Ok(Some(stored)) if credential_process::is_fresh(&stored, OffsetDateTime::now_utc()) => {
            return print(&stored);
        }
        Ok(_) => {}
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    }
    let registry = Registry::load(&paths.config_dir);
    let Some(source) = registry.get(profile).cloned() else {
        return fail(
            exit::OTHER,
            &RenewError::NotManaged {
                profile: profile.to_owned(),
            }
            .to_string(),
        );
    };
    let settings = match load_settings(&paths) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    // One renewal for all concurrent callers: the second one finds fresh credentials.
    let _lock = match credential_process::lock(&paths.config_dir, profile) {
        Ok(lock) => lock,
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    if let Ok(Some(stored)) = files.read_credentials(profile)
        && credential_process::is_fresh(&stored, OffsetDateTime::now_utc())
    {
        return print(&stored);
    }
    let env = Environment::from_process();
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
    with_runtime(async {
        let renewal = Renewal {
            settings: &settings,
            secrets,
            env: &env,
            files: &files,
            config_dir: &paths.config_dir,
        };
        match credential_process::renew(profile, &source, renewal).await {
            Ok(stored) => print(&stored),
            Err(err) => fail(exit::OTHER, &err.to_string()),
        }
    })
}

fn print(stored: &rolecall_core::aws_files::StoredCredentials) -> ExitCode {
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
