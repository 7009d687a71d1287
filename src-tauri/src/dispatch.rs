//! The one router: a menu choice or a notification's Renew button becomes an engine action (or
//! a window, or the text the engine gives put on the clipboard), run as an owned task. When the engine says only the person can go on, the
//! IdP's own pages open in the sign-in window: the person chose this and is at the screen.

use rolecall_core::browser_page;
use rolecall_core::engine::{Action, CopyRequest, EngineError};
use rolecall_core::tray_menu::{self, MenuId};
use rolecall_core::webview::Visibility;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use crate::signin_window::{self, Forget};
use crate::{AppMode, Shell, settings_window};

/// The person chose the menu entry `id`.
pub fn menu(app: &AppHandle, id: &str) {
    let Some(id) = MenuId::parse(id) else {
        tracing::warn!("ignoring unknown menu entry {id:?}");
        return;
    };
    let shell = app.state::<Shell>();
    match id {
        MenuId::Settings => {
            if let Err(err) = settings_window::show(app) {
                tracing::error!("could not open the settings window: {err}");
            }
        }
        MenuId::StartAtLogin { on } => start_at_login(app, &shell, on),
        MenuId::Quit => app.exit(0),
        MenuId::OpenLogFolder => {
            if let Err(message) = rolecall_core::logs::open_folder(&shell.engine.config().env) {
                shell
                    .alerts
                    .failure("Could not open the log folder", &message);
            }
        }
        MenuId::Console { endpoint, role_arn } => {
            let app = app.clone();
            shell.tasks.spawn(async move {
                let shell = app.state::<Shell>();
                let engine = &shell.engine;
                let opened = match engine.console(&endpoint, &role_arn).await {
                    Ok(link) => browser_page::open(
                        &engine.config().paths,
                        &engine.config().env,
                        &link.url,
                        link.browser.as_ref(),
                    )
                    .map_err(|problem| problem.to_string()),
                    Err(err) => Err(err.to_string()),
                };
                if let Err(message) = opened {
                    shell.alerts.failure("Could not open the console", &message);
                }
            });
        }
        id => {
            let app = app.clone();
            match (id.copy(), id.action()) {
                (Some(request), _) => shell.tasks.spawn(async move { copy(&app, request).await }),
                (None, Some(action)) => shell.tasks.spawn(async move { act(&app, action).await }),
                (None, None) => {}
            }
        }
    }
}

/// A Copy entry: the engine gives the text, it goes on the clipboard, and a notification says
/// what it holds and who can use it.
async fn copy(app: &AppHandle, request: CopyRequest) {
    let shell = app.state::<Shell>();
    let clipboard = match shell.engine.copy(&request).await {
        Ok(clipboard) => clipboard,
        Err(err) => return failed(app, &shell, "Could not copy", &err),
    };
    if let Err(err) = app.clipboard().write_text(clipboard.text.expose().as_str()) {
        let message = format!("Rolecall could not write to the clipboard ({err}).");
        shell.alerts.failure("Could not copy", &message);
        return;
    }
    let now = shell.engine.config().clock.now();
    shell.alerts.show(tray_menu::copied(&clipboard.holds, now));
}

async fn act(app: &AppHandle, action: Action) {
    let shell = app.state::<Shell>();
    // The sign-in window's cookies would sign in again without anyone: they go first, so a
    // Sign in right after the menu says "signed out" meets the IdP's login page.
    if let Action::SignOut { endpoint } = &action
        && let Err(err) = signin_window::forget(app, endpoint, Forget::Session).await
    {
        shell
            .alerts
            .failure("Could not end the sign-in window's session", &err);
    }
    let result = shell.engine.act(action).await;
    // A check the person clicked shows what is true again, also when nothing changed (the
    // active role chosen again within the minute).
    crate::tray::follow(app);
    if let Err(err) = result {
        failed(app, &shell, "Rolecall", &err);
    }
}

/// A notification's Renew button: sign in to `endpoint`, then renew what is due.
pub fn renew(app: &AppHandle, endpoint: String) {
    let shell = app.state::<Shell>();
    let app = app.clone();
    shell.tasks.spawn(async move {
        let shell = app.state::<Shell>();
        let engine = &shell.engine;
        let mut result = engine.act(Action::SignIn { endpoint }).await;
        if result.is_ok() {
            result = engine.act(Action::RenewNow).await;
        }
        if let Err(err) = result {
            failed(&app, &shell, "Could not renew", &err);
        }
    });
}

/// Opens the IdP's pages where the engine needs the person; tells any other failure.
fn failed(app: &AppHandle, shell: &Shell, summary: &str, err: &EngineError) {
    if let EngineError::NeedsPerson { endpoint, .. } = err
        && let Some(url) = shell.engine.status().page_for(endpoint)
    {
        signin_window::open(app, endpoint, url, Visibility::WhenNeeded);
        return;
    }
    shell.alerts.failure(summary, &err.to_string());
}

fn start_at_login(app: &AppHandle, shell: &Shell, on: bool) {
    // The demo leaves the real login items alone (its menu entry is disabled too).
    if shell.mode != AppMode::Normal {
        return;
    }
    let autolaunch = app.autolaunch();
    let changed = if on {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    if let Err(err) = changed {
        tracing::error!("could not change start at login: {err}");
    }
    // The check mark shows what the platform now says, not what was asked for.
    crate::tray::redraw(app);
}
