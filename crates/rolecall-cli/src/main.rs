//! The `rolecall` binary: the command line, and the launcher of the tray app.
//!
//! It links no GUI library: `rolecall credential-process`, which the AWS CLI runs before every
//! call, starts in milliseconds. Without a subcommand it becomes the tray app, `rolecall-tray`
//! beside it (on Unix by `exec`, so the process stays the one that was started).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A shell asking for completions (`rolecall completions` registered it) is answered here.
    cli::answer_completions();
    let args = cli::Args::parse();
    let Some(command) = args.command else {
        return start_tray(args.demo);
    };
    rolecall_core::logs::init(
        std::env::var(rolecall_core::logs::VARIABLE).ok().as_deref(),
        "error",
    );
    cli::run(command)
}

/// Becomes (Unix) or starts (elsewhere) the tray app installed beside this binary, in demo mode
/// when asked.
fn start_tray(demo: bool) -> ExitCode {
    let tray = std::env::current_exe().ok().and_then(|exe| {
        let tray = exe.with_file_name(format!("rolecall-tray{}", std::env::consts::EXE_SUFFIX));
        tray.exists().then_some(tray)
    });
    let Some(tray) = tray else {
        eprintln!(
            "rolecall: the tray app (rolecall-tray) is not installed beside this binary. \
             Reinstall Rolecall, or use the command line (`rolecall --help`)."
        );
        return ExitCode::FAILURE;
    };
    let mut command = std::process::Command::new(&tray);
    // The tray never reads them; its webview and browser children would inherit them.
    rolecall_core::browser_page::withhold_secrets(&mut command);
    if demo {
        command.arg("--demo");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        eprintln!("rolecall: could not start {}: {err}", tray.display());
        ExitCode::FAILURE
    }
    #[cfg(not(unix))]
    match command.spawn() {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rolecall: could not start {}: {err}", tray.display());
            ExitCode::FAILURE
        }
    }
}
