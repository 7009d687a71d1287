//! The tray app, `rolecall-tray` (its binary is `main.rs`). `rolecall` without a subcommand
//! starts it. It renders the core's state and forwards the person's actions; the decisions are
//! the core's.

mod app;
mod commands;
mod demo;
mod menu;
mod notifications;
mod signin_window;
mod tray;
mod windows;

use std::process::ExitCode;

/// Runs the tray app with the process's arguments until it quits.
pub fn main() -> ExitCode {
    withhold_secrets_from_children();
    rolecall_core::logs::init(
        std::env::var(rolecall_core::logs::VARIABLE).ok().as_deref(),
        "warn",
    );
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

/// The tray reads no secret from its environment, but WebKit's processes and the browser would
/// inherit `ROLECALL_PASSWORD` and `ROLECALL_MFA_CODE`: started with them, it starts again
/// without (on Unix by `exec`, the same process). `rolecall` never passes them on.
fn withhold_secrets_from_children() {
    use rolecall_core::browser_page::{SECRET_VARIABLES, withhold_secrets};
    if !SECRET_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return;
    }
    #[cfg(unix)]
    if let Ok(exe) = std::env::current_exe() {
        use std::os::unix::process::CommandExt;
        let mut again = std::process::Command::new(exe);
        withhold_secrets(&mut again).args(std::env::args_os().skip(1));
        let err = again.exec();
        eprintln!("rolecall-tray: could not restart without the secret variables: {err}");
    }
    #[cfg(not(unix))]
    let _ = withhold_secrets;
}

const USAGE: &str = "usage: rolecall-tray [--demo]  (--demo: try Rolecall against a stand-in AD FS \
and AWS on 127.0.0.1, in a sandbox folder)";
