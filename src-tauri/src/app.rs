//! The tray app: plugins, the tray, and the rule that closing a window does not quit.

use std::process::ExitCode;

use std::sync::Arc;

use rolecall_core::credential_process::{Renewals, Service};
use rolecall_core::ipc;
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::secrets::{Keyring, SecretStore};
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

use crate::{tray, windows};

pub fn run() -> ExitCode {
    let app = tauri::Builder::default()
        // Registered first, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            on_second_launch(app);
        }))
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            None,
        ))
        .setup(|app| {
            tray::install(app.handle())?;
            if let Some(socket) = answer_credential_requests() {
                app.manage(socket);
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            eprintln!(
                "rolecall: the tray app could not start: {err}. If this is a machine without a \
                 desktop session, use the command line (`rolecall --help`)."
            );
            return ExitCode::FAILURE;
        }
    };
    app.run(|_app, event| {
        // Closing the last window leaves Rolecall in the tray; only Quit (an explicit exit
        // code) ends it.
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}

/// A second `rolecall` was started: bring ours forward instead of running twice.
fn on_second_launch(app: &AppHandle) {
    if let Err(err) = windows::show_settings(app) {
        tracing::error!("could not open the settings window for a second launch: {err}");
    }
}

/// The socket `rolecall credential-process` asks first, kept open while the app runs.
struct CredentialSocket(#[allow(dead_code, reason = "held open until the app exits")] ipc::Server);

/// Starts answering the AWS tools' credential requests; without it they renew by themselves,
/// so a failure here is only logged.
fn answer_credential_requests() -> Option<CredentialSocket> {
    let env = Environment::from_process();
    let paths = match AppPaths::resolve(&env) {
        Ok(paths) => paths,
        Err(err) => {
            tracing::warn!("no credential socket: {err}");
            return None;
        }
    };
    let path = ipc::socket_path(&paths, &env);
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
    let renewals = Renewals::new(Service {
        paths,
        env,
        secrets,
    });
    match tauri::async_runtime::block_on(ipc::serve(&path, renewals.handler())) {
        Ok(server) => Some(CredentialSocket(server)),
        Err(err) => {
            tracing::warn!("{err}");
            None
        }
    }
}
