//! The command line: the same core as the tray, for scripts and headless machines.

use std::process::ExitCode;

mod args;
mod completions;
mod console;
mod credential_process;
mod doctor;
mod endpoints;
mod exec;
mod exit;
mod import;
mod login;
mod roles;
mod sign_in;
mod sign_out;
mod status;

pub use self::args::{Args, Command, SignInArgs, TargetArgs};
pub(crate) use self::completions::answer_if_asked as answer_completions;
pub(crate) use self::exit::exit_code_of;
pub(crate) use self::sign_in::{Session, sign_in};
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::settings::Settings;
use rolecall_core::untrusted;

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Paths { json } => paths(json),
        Command::Roles { sign_in, json } => with_runtime(roles::run(sign_in, json)),
        Command::Login {
            sign_in,
            roles,
            all_roles,
            profile,
            region,
            duration,
            saml_response_file,
            chain,
        } => with_runtime(login::run(login::Request {
            sign_in,
            roles,
            all_roles,
            profile,
            region,
            duration,
            saml_response_file,
            chain,
        })),
        Command::CredentialProcess { profile } => credential_process::run(&profile),
        Command::Exec {
            profile,
            force,
            ecs_server,
            command,
        } => exec::run(exec::Request {
            profile,
            force,
            ecs_server,
            command,
        }),
        Command::Env { profile, format } => exec::env(profile, format),
        Command::Console {
            profile,
            print,
            region,
            logout_first,
        } => with_runtime(console::run(console::Request {
            profile,
            print,
            region,
            logout_first,
        })),
        Command::SignOut { target } => with_runtime(sign_out::run(target)),
        Command::Status {
            json,
            format,
            profile,
        } => status::run(status::Request {
            json,
            format,
            profile,
        }),
        Command::Doctor { json, endpoint } => with_runtime(doctor::run(json, endpoint)),
        Command::Completions { shell } => completions::run(shell),
        Command::Import { tool, file, apply } => import::run(tool, file, apply),
        Command::Endpoint(command) => endpoints::endpoint(command),
        Command::Password(command) => endpoints::password(command),
    }
}

pub(crate) fn with_runtime(work: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(work),
        Err(err) => fail(exit::OTHER, &format!("could not start: {err}")),
    }
}

pub(crate) fn fail(code: u8, message: &str) -> ExitCode {
    // Messages quote the IdP's own text, which may carry escape sequences.
    eprintln!("rolecall: {}", untrusted::for_terminal(message));
    ExitCode::from(code)
}

pub(crate) fn resolve_paths() -> Result<AppPaths, ExitCode> {
    AppPaths::resolve(&Environment::from_process())
        .map_err(|err| fail(exit::USAGE, &err.to_string()))
}

fn paths(json: bool) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    if json {
        match serde_json::to_string_pretty(&paths) {
            Ok(text) => println!("{text}"),
            Err(err) => return fail(exit::OTHER, &format!("could not print JSON: {err}")),
        }
    } else {
        println!("settings file     {}", paths.settings_file().display());
        println!("credentials file  {}", paths.aws_credentials_file.display());
        println!("config file       {}", paths.aws_config_file.display());
    }
    ExitCode::SUCCESS
}

pub(crate) fn load_settings(paths: &AppPaths) -> Result<Settings, ExitCode> {
    Settings::load(paths).map_err(|err| fail(exit::USAGE, &err.to_string()))
}
