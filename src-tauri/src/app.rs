//! The tray app: plugins, the tray, and the rule that closing a window does not quit.

use std::process::ExitCode;

use std::sync::Arc;

use rolecall_core::credential_process::{Renewals as CredentialRenewals, Service};
use rolecall_core::engine::{Engine, EngineConfig, Renewals, SystemClock};
use rolecall_core::ipc;
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::secrets::{Keyring, SecretStore};
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

use crate::{notifications, tray, windows};

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
            let env = Environment::from_process();
            let paths = AppPaths::resolve(&env)?;
            let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
            let (engine, notices) = Engine::new(EngineConfig {
                paths: paths.clone(),
                env: env.clone(),
                secrets: Arc::clone(&secrets),
                clock: Arc::new(SystemClock),
            });
            let renewals = tauri::async_runtime::block_on(async { engine.start_renewals() });
            app.manage(Background(renewals));
            notifications::spawn(notices, engine.clone());
            tray::install(app.handle(), engine)?;
            if let Some(socket) = answer_credential_requests(paths, env, secrets) {
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

/// The background renewal, running until the app exits.
struct Background(#[allow(dead_code, reason = "runs until dropped")] Renewals);

/// Starts answering the AWS tools' credential requests; without it they renew by themselves,
/// so a failure here is only logged.
fn answer_credential_requests(
    paths: AppPaths,
    env: Environment,
    secrets: Arc<dyn SecretStore>,
) -> Option<CredentialSocket> {
    let path = ipc::socket_path(&paths, &env);
    let renewals = CredentialRenewals::new(Service {
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
