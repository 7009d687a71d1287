//! `rolecall-tray`: the tray app. `rolecall` without a subcommand starts it.

// No console window next to the tray app on Windows release builds.
#![cfg_attr(all(not(debug_assertions), windows), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    rolecall::main()
}
