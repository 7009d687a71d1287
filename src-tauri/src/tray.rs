//! The tray icon and its menu. It renders state and forwards the person's choices; what a
//! choice means is decided elsewhere.

use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Wry};
use tauri_plugin_autostart::ManagerExt as _;

use crate::menu::MenuId;
use crate::windows;

const TRAY_ID: &str = "rolecall";

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let menu = build_menu(app)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(tauri::include_image!("../icons/tray-signed-out.png"))
        .tooltip("Rolecall — signed out")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(())
}

fn build_menu(app: &AppHandle) -> tauri::Result<Menu<Wry>> {
    let start_at_login = start_at_login_enabled(app);
    Menu::with_items(
        app,
        &[
            &MenuItem::with_id(
                app,
                MenuId::Status.as_str(),
                "Signed out",
                false,
                None::<&str>,
            )?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(
                app,
                MenuId::Settings.as_str(),
                "Settings…",
                true,
                None::<&str>,
            )?,
            &CheckMenuItem::with_id(
                app,
                MenuId::StartAtLogin.as_str(),
                "Start at login",
                true,
                start_at_login,
                None::<&str>,
            )?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(
                app,
                MenuId::Quit.as_str(),
                "Quit Rolecall",
                true,
                None::<&str>,
            )?,
        ],
    )
}

fn start_at_login_enabled(app: &AppHandle) -> bool {
    app.autolaunch().is_enabled().unwrap_or_else(|err| {
        tracing::warn!("could not read the start-at-login state: {err}");
        false
    })
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    let id = match event.id().as_ref().parse::<MenuId>() {
        Ok(id) => id,
        Err(unknown) => {
            tracing::warn!("ignoring unknown menu entry {:?}", unknown.0);
            return;
        }
    };
    match id {
        MenuId::Status => {}
        MenuId::Settings => {
            if let Err(err) = windows::show_settings(app) {
                tracing::error!("could not open the settings window: {err}");
            }
        }
        MenuId::StartAtLogin => toggle_start_at_login(app),
        MenuId::Quit => app.exit(0),
    }
}

fn toggle_start_at_login(app: &AppHandle) {
    let autolaunch = app.autolaunch();
    let result = if start_at_login_enabled(app) {
        autolaunch.disable()
    } else {
        autolaunch.enable()
    };
    if let Err(err) = result {
        tracing::error!("could not change start at login: {err}");
    }
    // The check mark shows what the platform now says, not what was asked for.
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        match build_menu(app) {
            Ok(menu) => {
                if let Err(err) = tray.set_menu(Some(menu)) {
                    tracing::error!("could not refresh the tray menu: {err}");
                }
            }
            Err(err) => tracing::error!("could not rebuild the tray menu: {err}"),
        }
    }
}
