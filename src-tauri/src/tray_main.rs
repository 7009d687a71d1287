//! `rolecall-tray`: the tray app. `rolecall` without a subcommand starts it.

// No console window next to the tray app on Windows release builds.
#![cfg_attr(all(not(debug_assertions), windows), windows_subsystem = "windows")]

mod app;
mod browser;
mod commands;
mod demo;
mod menu;
mod notifications;
mod signin_window;
mod tray;
mod windows;

use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLECALL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let mut demo = false;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--demo") => demo = true,
            Some("--help" | "-h") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            // Launchers add arguments of their own (macOS's -psn_…): not a reason to fail.
            _ => tracing::warn!("ignoring the argument {arg:?}; {USAGE}"),
        }
    }
    app::run(demo)
}

const USAGE: &str = "usage: rolecall-tray [--demo]  (--demo: try Rolecall against a stand-in AD FS \
and AWS on 127.0.0.1, in a sandbox folder)";
