//! The tray app, `rolecall-tray` (its binary is `main.rs`). `rolecall` without a subcommand
//! starts it. It renders the core's state and forwards the person's actions; the decisions are
//! the core's.

mod alert;
mod app;
mod commands;
mod demo;
mod dispatch;
mod notifications;
mod settings_window;
mod signin_window;
mod tray;

use std::process::ExitCode;
use std::time::Duration;

use rolecall_core::engine::Engine;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the app was started; what behaves differently in the demo is given this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppMode {
    Normal,
    /// `--demo`: where it writes and what it tells the person.
    Demo(Box<rolecall_core::demo::Guide>),
}

/// What the shell's parts share, made once at start.
#[derive(Debug)]
pub(crate) struct Shell {
    pub engine: Engine,
    pub mode: AppMode,
    pub tasks: Tasks,
    pub alerts: alert::Alerts,
    /// A test drives the windows through WebDriver, which cannot drive a hidden window.
    pub automation: bool,
}

/// Every background task of the shell: cancelled and waited for when the app quits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tasks {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Tasks {
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        let task = self.tracker.track_future(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = task => {}
            }
        });
        tauri::async_runtime::spawn(task);
    }

    /// Cancels every task and waits a moment for them to end.
    pub fn stop(&self) {
        self.cancel.cancel();
        self.tracker.close();
        // The timer is made inside the runtime: outside it there is no clock to run on.
        let ended = tauri::async_runtime::block_on(async {
            tokio::time::timeout(Duration::from_secs(2), self.tracker.wait()).await
        });
        if ended.is_err() {
            tracing::warn!("some background tasks were still running at exit");
        }
    }
}

/// Runs the tray app with the process's arguments until it quits.
pub fn main() -> ExitCode {
    withhold_secrets_from_children();
    // Held to the end: dropping it writes out what is left of the log.
    let _log_file = rolecall_core::logs::init_with_file(
        std::env::var(rolecall_core::logs::VARIABLE).ok().as_deref(),
        "warn",
        "info",
        &rolecall_core::paths::Environment::from_process(),
        "rolecall-tray.log",
    );
    tracing::info!("Rolecall {} starts", env!("CARGO_PKG_VERSION"));
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
    let automation = std::env::var("TAURI_WEBVIEW_AUTOMATION").is_ok_and(|value| value == "true");
    app::run(demo, automation)
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
