//! The `rolecall` binary: the tray app when started without a subcommand, the command line
//! otherwise. The command line never creates a window or touches the display.

// No console window next to the tray app on Windows release builds.
#![cfg_attr(all(not(debug_assertions), windows), windows_subsystem = "windows")]

mod app;
mod browser;
mod cli;
mod menu;
mod notifications;
mod tray;
mod windows;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    // The command line speaks in one line on stderr; the tray app's diagnostics go there too,
    // so by default only warnings (app) or errors (command line) are shown.
    let default_level = if args.command.is_some() {
        "error"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLECALL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match args.command {
        Some(command) => cli::run(command),
        None => app::run(),
    }
}
