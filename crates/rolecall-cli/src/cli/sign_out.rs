//! `rolecall sign-out`: ends the endpoint's session at the IdP and forgets its cookies.

use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::idp;
use rolecall_core::secrets::{Keyring, SecretStore};

use super::{TargetArgs, exit, exit_code_of, fail, load_settings, resolve_paths};

pub(crate) async fn run(target: TargetArgs) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let settings = match load_settings(&paths) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let endpoint = match rolecall_core::sign_in::endpoint(
        &settings,
        &target.target(),
        &rolecall_core::sign_in::Overrides::default(),
    ) {
        Ok(endpoint) => endpoint,
        Err(err) => return fail(exit::USAGE, &err.to_string()),
    };
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
    match idp::sign_out(&endpoint, secrets).await {
        Ok(()) => {
            println!("Signed out of endpoint \"{}\".", endpoint.name);
            ExitCode::SUCCESS
        }
        Err(err) => fail(exit_code_of(&err), &err.to_string()),
    }
}
