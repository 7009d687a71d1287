//! The tray icon and its menu: draws the view the core builds from the engine's status
//! ([`tray_menu::model`]) on every change, and every half minute so the countdowns move on.
//! What a choice does is the caller's handler's business.

use std::time::Duration;

use rolecall_core::engine::Overall;
use rolecall_core::tray_menu::{self, Entry, Surroundings, TrayMenu};
use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu,
};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt as _;

use crate::{AppMode, Shell};

const TRAY_ID: &str = "rolecall";
/// How often the countdowns in the menu move on.
const TICK: Duration = Duration::from_secs(30);

/// Puts the icon in the tray; `on_choice` runs with each menu entry the person chooses.
pub fn install(
    app: &AppHandle,
    on_choice: impl Fn(&AppHandle, MenuEvent) + Send + Sync + 'static,
) -> tauri::Result<()> {
    let shell = app.state::<Shell>();
    let first = view(app, &shell);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(first.overall))
        .tooltip(&first.tooltip)
        .menu(&menu(app, &first.entries)?)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| {
            if let Some(drawn) = app.try_state::<Drawn>() {
                drawn.clicked(event.id().as_ref());
            }
            on_choice(app, event);
        })
        .build(app)?;
    app.manage(Drawn(std::sync::Mutex::new((first, false))));
    let mut changes = shell.engine.subscribe();
    let app = app.clone();
    shell.tasks.spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(TICK) => {}
            }
            follow(&app);
        }
    });
    Ok(())
}

/// Draws the tray again from the engine's current status.
pub fn redraw(app: &AppHandle) {
    let view = view(app, &app.state::<Shell>());
    draw(app, &view);
}

/// Draws the tray again if it no longer shows the engine's status. Rebuilding the menu costs
/// the GUI thread a wake-up per entry: only a menu that reads differently (a minute gone, a
/// new state), or whose check mark a click moved, is drawn again.
pub fn follow(app: &AppHandle) {
    let now = view(app, &app.state::<Shell>());
    if !app.state::<Drawn>().shows(&now) {
        draw(app, &now);
    }
}

/// What the tray shows now, and whether a click on one of its checks has since toggled that
/// check's mark on the screen (GTK does, whatever the status says).
struct Drawn(std::sync::Mutex<(TrayMenu, bool)>);

impl Drawn {
    fn shows(&self, view: &TrayMenu) -> bool {
        self.0
            .lock()
            .is_ok_and(|drawn| !drawn.1 && drawn.0 == *view)
    }

    fn clicked(&self, id: &str) {
        if let Ok(mut drawn) = self.0.lock()
            && has_check(&drawn.0.entries, id)
        {
            drawn.1 = true;
        }
    }
}

fn has_check(entries: &[Entry], id: &str) -> bool {
    entries.iter().any(|entry| match entry {
        Entry::Check { id: check, .. } => check.to_id() == id,
        Entry::Submenu { entries, .. } => has_check(entries, id),
        Entry::Item { .. } | Entry::Separator => false,
    })
}

fn draw(app: &AppHandle, view: &TrayMenu) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Some(drawn) = app.try_state::<Drawn>()
        && let Ok(mut drawn) = drawn.0.lock()
    {
        drawn.0.clone_from(view);
        drawn.1 = false;
    }
    match menu(app, &view.entries) {
        Ok(menu) => {
            if let Err(err) = tray.set_menu(Some(menu)) {
                tracing::error!("could not show the tray menu: {err}");
            }
        }
        Err(err) => tracing::error!("could not build the tray menu: {err}"),
    }
    let _ = tray.set_icon(Some(icon(view.overall)));
    let _ = tray.set_tooltip(Some(&view.tooltip));
}

fn view(app: &AppHandle, shell: &Shell) -> TrayMenu {
    let (demo, start_at_login) = match &shell.mode {
        AppMode::Demo(guide) => (Some(&**guide), None),
        AppMode::Normal => {
            let enabled = app.autolaunch().is_enabled().unwrap_or_else(|err| {
                tracing::warn!("could not read the start-at-login state: {err}");
                false
            });
            (None, Some(enabled))
        }
    };
    let surroundings = Surroundings {
        demo,
        start_at_login,
    };
    let now = shell.engine.config().clock.now();
    tray_menu::model(&shell.engine.status(), surroundings, now)
}

fn menu(app: &AppHandle, entries: &[Entry]) -> tauri::Result<Menu<Wry>> {
    let items = items(app, entries)?;
    Menu::with_items(app, &items.iter().map(AsRef::as_ref).collect::<Vec<_>>())
}

type Item = Box<dyn IsMenuItem<Wry>>;

fn items(app: &AppHandle, entries: &[Entry]) -> tauri::Result<Vec<Item>> {
    let item = |entry: &Entry| -> tauri::Result<Item> {
        Ok(match entry {
            Entry::Item { id, label, enabled } => match id {
                Some(id) => Box::new(MenuItem::with_id(
                    app,
                    id.to_id(),
                    label,
                    *enabled,
                    None::<&str>,
                )?),
                None => Box::new(MenuItem::new(app, label, *enabled, None::<&str>)?),
            },
            Entry::Check {
                id,
                label,
                enabled,
                checked,
            } => Box::new(CheckMenuItem::with_id(
                app,
                id.to_id(),
                label,
                *enabled,
                *checked,
                None::<&str>,
            )?),
            Entry::Submenu { label, entries } => {
                let children = items(app, entries)?;
                let children: Vec<&dyn IsMenuItem<Wry>> =
                    children.iter().map(AsRef::as_ref).collect();
                Box::new(Submenu::with_items(app, label, true, &children)?)
            }
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        })
    };
    entries.iter().map(item).collect()
}

fn icon(overall: Overall) -> Image<'static> {
    match overall {
        Overall::SignedOut => tauri::include_image!("../icons/tray-signed-out.png"),
        Overall::Valid => tauri::include_image!("../icons/tray-valid.png"),
        Overall::Expiring => tauri::include_image!("../icons/tray-expiring.png"),
        Overall::Expired => tauri::include_image!("../icons/tray-expired.png"),
        Overall::Working => tauri::include_image!("../icons/tray-working.png"),
    }
}
