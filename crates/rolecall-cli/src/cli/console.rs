//! `rolecall console --profile NAME`: open the AWS console signed in with a profile's
//! credentials, or print the sign-in URL.

use std::process::ExitCode;

use rolecall_core::clock::SystemClock;
use rolecall_core::console::{self, ConsoleError};
use rolecall_core::paths::Environment;
use rolecall_core::provision;

use super::{exit, fail, resolve_paths};

/// What `rolecall console` was asked.
#[derive(Debug)]
pub struct Request {
    pub profile: String,
    pub print: bool,
    pub region: Option<String>,
    pub logout_first: bool,
}

pub async fn run(request: Request) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let profile = request.profile.as_str();
    let session =
        match provision::profile_console_session(&paths, profile, request.region.as_deref()) {
            Ok(session) => session,
            Err(err) => return fail(exit_code_of(&err), &err.to_string()),
        };
    let env = Environment::from_process();
    let network = match console::network_of_profile(&paths, profile) {
        Ok(network) => network,
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    let login = match provision::console_url(&env, &network, &session, SystemClock.now()).await {
        Ok(login) => login,
        Err(err) => return fail(exit_code_of(&err), &err.to_string()),
    };
    let url = if request.logout_first {
        console::logout_then_login(&login)
    } else {
        login
    };
    if request.print {
        println!("{}", url.expose());
        return ExitCode::SUCCESS;
    }
    match rolecall_core::browser_page::open(&paths, &env, &url, session.browser.as_ref()) {
        Ok(()) => {
            println!(
                "Opened the AWS console for profile \"{profile}\" in your browser (the link \
                 works for 15 minutes)."
            );
            ExitCode::SUCCESS
        }
        Err(problem) => fail(
            exit::OTHER,
            &format!("{problem} (rolecall console --profile {profile} --print)"),
        ),
    }
}

fn exit_code_of(err: &ConsoleError) -> u8 {
    match err {
        ConsoleError::NoCredentials { .. }
        | ConsoleError::LongTermKeys { .. }
        | ConsoleError::SessionDuration { .. }
        | ConsoleError::SessionDurationNotAllowed { .. }
        | ConsoleError::BadRegion { .. }
        | ConsoleError::BadOverride { .. } => exit::USAGE,
        ConsoleError::Tls { .. } => exit::TLS,
        ConsoleError::Network { .. } => exit::NETWORK,
        _ => exit::OTHER,
    }
}
