//! The tray app: plugins, the tray, and the rule that closing a window does not quit.

use std::process::ExitCode;

use std::sync::Arc;

use rolecall_core::engine::{Engine, EngineConfig, FileWatch, Renewals, SystemClock};
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::secrets::{Keyring, SecretStore};
use rolecall_core::{browser_page, ipc};
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

use crate::alert::Alerts;
use crate::demo::Demo;
use crate::signin_window::SignInWindows;
use crate::{AppMode, Shell, Tasks, commands, dispatch, notifications, settings_window, tray};

/// Runs the tray app; `demo` runs it against the simulator in a sandbox ([`Demo`]);
/// `automation`: a test drives its windows.
pub fn run(demo: bool, automation: bool) -> ExitCode {
    let demo = if demo {
        match tauri::async_runtime::block_on(Demo::start()) {
            Ok(demo) => Some(demo),
            Err(message) => {
                eprintln!("rolecall: the demo could not start: {message}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut builder = tauri::Builder::default();
    // The demo runs beside a real Rolecall rather than handing over to it.
    if demo.is_none() {
        // Registered first, so a second launch hands over before anything else starts.
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            on_second_launch(app);
        }));
    }
    let app = builder
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_clipboard_manager::init())
        .setup(move |app| {
            let (env, paths, secrets) = match &demo {
                Some(demo) => (
                    demo.env.clone(),
                    demo.paths.clone(),
                    Arc::clone(&demo.secrets),
                ),
                None => {
                    let env = Environment::from_process();
                    let paths = AppPaths::resolve(&env)?;
                    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
                    (env, paths, secrets)
                }
            };
            let mode = match &demo {
                Some(demo) => AppMode::Demo(Box::new(demo.guide.clone())),
                None => AppMode::Normal,
            };
            // Managed state owns the demo's simulator, which runs until the app exits.
            if let Some(demo) = demo {
                app.manage(demo);
            }
            let (engine, notices) = Engine::new(EngineConfig {
                paths: paths.clone(),
                env: env.clone(),
                secrets,
                clock: Arc::new(SystemClock),
            });
            let (renewals, file_watch) = tauri::async_runtime::block_on(async {
                let file_watch = engine.follow_files();
                if let Err(err) = &file_watch {
                    tracing::warn!("{err}");
                }
                (engine.start_renewals(), file_watch.ok())
            });
            app.manage(Background(renewals, file_watch));
            // Console pages a previous run left behind (it quit before removing them).
            browser_page::sweep(
                &browser_page::folder(&paths, &env),
                browser_page::KEEP,
                engine.config().clock.now().into(),
            );
            let tasks = Tasks::default();
            let handle = app.handle().clone();
            let alerts = Alerts::start(&tasks, move |endpoint| dispatch::renew(&handle, endpoint));
            app.manage(commands::SettingsWindow {
                engine: engine.clone(),
            });
            // Served before the engine moves into the shell's state.
            let socket = answer_credential_requests(&engine, &paths, &env);
            app.manage(SignInWindows::default());
            app.manage(Shell {
                engine,
                mode,
                tasks,
                alerts,
                automation,
            });
            // After the shell is managed: showing a notice reads its state.
            app.state::<Shell>()
                .tasks
                .spawn(notifications::show_all(app.handle().clone(), notices));
            tray::install(app.handle(), |app, event| {
                dispatch::menu(app, event.id().as_ref())
            })?;
            if let Some(socket) = socket {
                app.manage(socket);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::settings_view,
            commands::save_endpoint,
            commands::remove_endpoint,
            commands::test_endpoint,
            commands::save_preferences,
            commands::set_favourite,
            commands::set_region,
        ])
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
    app.run(|app, event| match event {
        // Closing the last window leaves Rolecall in the tray; only Quit (an explicit exit
        // code) ends it.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(shell) = app.try_state::<Shell>() {
                shell.tasks.stop();
            }
        }
        _ => {}
    });
    ExitCode::SUCCESS
}

/// A second `rolecall` was started: bring ours forward instead of running twice.
fn on_second_launch(app: &AppHandle) {
    if let Err(err) = settings_window::show(app) {
        tracing::error!("could not open the settings window for a second launch: {err}");
    }
}

/// The socket `rolecall credential-process` asks first, kept open while the app runs.
struct CredentialSocket(#[allow(dead_code, reason = "held open until the app exits")] ipc::Server);

/// The background renewal, running until the app exits.
struct Background(
    #[allow(dead_code, reason = "runs until dropped")] Renewals,
    #[allow(dead_code, reason = "runs until dropped")] Option<FileWatch>,
);

/// Starts answering the AWS tools' credential requests with the engine's own renewal; without
/// it they renew by themselves, so a failure here is only logged.
fn answer_credential_requests(
    engine: &Engine,
    paths: &AppPaths,
    env: &Environment,
) -> Option<CredentialSocket> {
    let path = ipc::socket_path(paths, env);
    match tauri::async_runtime::block_on(ipc::serve(&path, engine.credential_handler())) {
        Ok(server) => Some(CredentialSocket(server)),
        Err(err) => {
            tracing::warn!("{err}");
            None
        }
    }
}
