//! `rolecall completions SHELL`: the script that registers Rolecall's completions with a shell.
//! The shell then asks `rolecall` itself (COMPLETE=<shell>) for each completion, so profile
//! names come from the registry as it is now, not as it was when the script was written.

use std::ffi::OsStr;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::EnvCompleter;

use super::{Args, exit, fail};

/// The variable the registered script sets when it asks for completions.
pub(crate) const VARIABLE: &str = "COMPLETE";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Answers a shell that asks for completions, then exits; returns when nobody asked.
pub(crate) fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(Args::command)
        .var(VARIABLE)
        .complete();
}

pub(crate) fn run(shell: ShellArg) -> ExitCode {
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.to_str().map(str::to_owned))
        .unwrap_or_else(|| "rolecall".to_owned());
    let mut out = Vec::new();
    let written = match shell {
        ShellArg::Bash => clap_complete::env::Bash
            .write_registration(VARIABLE, "rolecall", "rolecall", &bin, &mut out),
        ShellArg::Zsh => clap_complete::env::Zsh
            .write_registration(VARIABLE, "rolecall", "rolecall", &bin, &mut out),
        ShellArg::Fish => clap_complete::env::Fish
            .write_registration(VARIABLE, "rolecall", "rolecall", &bin, &mut out),
        ShellArg::Powershell => clap_complete::env::Powershell
            .write_registration(VARIABLE, "rolecall", "rolecall", &bin, &mut out),
    };
    if let Err(err) = written {
        return fail(
            exit::OTHER,
            &format!("could not write the completions: {err}"),
        );
    }
    print!("{}", String::from_utf8_lossy(&out));
    ExitCode::SUCCESS
}

/// The names of the profiles Rolecall manages that start with what was typed.
pub(crate) fn profile_names(typed: &OsStr) -> Vec<CompletionCandidate> {
    let typed = typed.to_string_lossy();
    let Ok(paths) =
        rolecall_core::paths::AppPaths::resolve(&rolecall_core::paths::Environment::from_process())
    else {
        return Vec::new();
    };
    let Ok(registry) = rolecall_core::registry::Registry::load(&paths.config_dir) else {
        return Vec::new();
    };
    registry
        .all()
        .keys()
        .filter(|name| name.starts_with(typed.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}
