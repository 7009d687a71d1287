//! `rolecall console --profile NAME`: open the AWS console signed in with a profile's
//! credentials, or print the sign-in URL.

use std::process::ExitCode;

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::console::{self, ConsoleError, Endpoints, SignIn};
use rolecall_core::paths::Environment;

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
    let files = AwsFiles::from_paths(&paths);
    let profile = request.profile.as_str();
    let stored = match files.read_credentials(profile) {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            return fail(
                exit::USAGE,
                &format!(
                    "there are no credentials for profile \"{profile}\" in {}. Create them with \
                     rolecall login --profile {profile} ...",
                    files.credentials_file().display()
                ),
            );
        }
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    let region = match &request.region {
        Some(region) => Some(region.clone()),
        None => match files.read_region(profile) {
            Ok(region) => region,
            Err(err) => return fail(exit::OTHER, &err.to_string()),
        },
    };
    let partition = console::partition_of(&stored, region.as_deref());
    let env = Environment::from_process();
    let endpoints = match Endpoints::for_partition(partition, &env) {
        Ok(endpoints) => endpoints,
        Err(err) => return fail(exit_code_of(&err), &err.to_string()),
    };
    let network = match console::network_of_profile(&paths, profile) {
        Ok(network) => network,
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    let client = match network.client(console::USER_AGENT) {
        Ok(client) => client,
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    let sign_in = SignIn {
        credentials: &stored,
        profile,
        partition,
        region: region.as_deref(),
        session_duration: None,
        now: rolecall_core::clock::SystemClock.now(),
    };
    let login = match console::signin_url(&client, &endpoints, &sign_in).await {
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
    match rolecall_core::browser_page::open(&paths, &env, &url) {
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
        ConsoleError::LongTermKeys { .. }
        | ConsoleError::SessionDuration { .. }
        | ConsoleError::SessionDurationNotAllowed { .. }
        | ConsoleError::BadRegion { .. }
        | ConsoleError::BadOverride { .. } => exit::USAGE,
        ConsoleError::Tls { .. } => exit::TLS,
        ConsoleError::Network { .. } => exit::NETWORK,
        _ => exit::OTHER,
    }
}
