//! The `rolecall` binary: the command line, and the launcher of the tray app.
//!
//! It links no GUI library: `rolecall credential-process`, which the AWS CLI runs before every
//! call, starts in milliseconds. Without a subcommand it becomes the tray app, `rolecall-tray`
//! beside it (on Unix by `exec`, so the process stays the one that was started).

mod browser;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let Some(command) = args.command else {
        return start_tray(args.demo);
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLECALL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
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
