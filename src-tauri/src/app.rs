//! The tray app: plugins, the tray, and the rule that closing a window does not quit.

use std::process::ExitCode;

use tauri::{AppHandle, RunEvent};
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
