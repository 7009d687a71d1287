//! The tray icon and its menu, rendered from the engine's status snapshot. A choice in the
//! menu becomes an engine action; what it means is decided in the core.

use std::sync::Mutex;
use std::time::Duration;

use rolecall_core::browser_page;
use rolecall_core::engine::{Action, Engine, EngineError, Overall, Phase, ProfileStatus, Status};
use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu,
};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt as _;
use time::OffsetDateTime;

use crate::demo::Demo;
use crate::menu::{MenuId, RoleAt};
use crate::{notifications, signin_window, windows};

const TRAY_ID: &str = "rolecall";
/// How often the countdowns in the menu move on.
const TICK: Duration = Duration::from_secs(30);

/// The engine and the snapshot the current menu shows (menu ids point into it).
pub struct TrayState {
    engine: Engine,
    shown: Mutex<Status>,
}

pub fn install(app: &AppHandle, engine: Engine) -> tauri::Result<()> {
    let status = engine.status();
    let menu = build_menu(app, &status)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(status.overall))
        .tooltip(tooltip(&status))
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    let mut changes = engine.subscribe();
    app.manage(TrayState {
        engine,
        shown: Mutex::new(status),
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(TICK) => {}
            }
            let status = changes.borrow_and_update().clone();
            render(&app, status);
        }
    });
    Ok(())
}

fn render(app: &AppHandle, status: Status) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match build_menu(app, &status) {
        Ok(menu) => {
            if let Err(err) = tray.set_menu(Some(menu)) {
                tracing::error!("could not show the tray menu: {err}");
            }
        }
        Err(err) => tracing::error!("could not build the tray menu: {err}"),
    }
    let _ = tray.set_icon(Some(icon(status.overall)));
    let _ = tray.set_tooltip(Some(tooltip(&status)));
    if let Some(state) = app.try_state::<TrayState>()
        && let Ok(mut shown) = state.shown.lock()
    {
        *shown = status;
    }
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

fn tooltip(status: &Status) -> String {
    format!("Rolecall — {}", status_line(status))
}

/// "52 min left", "1 h 05 min left", "expired".
fn time_left(expiration: OffsetDateTime) -> String {
    let minutes = (expiration - rolecall_core::clock::SystemClock.now()).whole_minutes();
    match minutes {
        ..0 => "expired".to_owned(),
        0..60 => format!("{minutes} min left"),
        _ => format!("{} h {:02} min left", minutes / 60, minutes % 60),
    }
}

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn status_line(status: &Status) -> String {
    if status.overall == Overall::Working {
        return "working…".to_owned();
    }
    match status.profiles.iter().find(|profile| profile.active) {
        Some(ProfileStatus {
            name,
            role_arn,
            expiration: Some(expiration),
            ..
        }) => format!(
            "{name}: {} — {}",
            role_name(role_arn),
            time_left(*expiration)
        ),
        _ => "Signed out".to_owned(),
    }
}

fn build_menu(app: &AppHandle, status: &Status) -> tauri::Result<Menu<Wry>> {
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = Vec::new();
    items.push(Box::new(MenuItem::with_id(
        app,
        MenuId::Status.to_id(),
        status_line(status),
        false,
        None::<&str>,
    )?));
    let demo = app.try_state::<Demo>();
    if let Some(demo) = &demo {
        items.push(Box::new(MenuItem::new(
            app,
            demo.label(),
            false,
            None::<&str>,
        )?));
    }
    // A file Rolecall cannot read, named with what to do (the menu cannot wrap a sentence,
    // so the line is the whole sentence, disabled).
    for problem in &status.problems {
        items.push(Box::new(MenuItem::new(
            app,
            format!("⚠ {problem}"),
            false,
            None::<&str>,
        )?));
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    if status.endpoints.is_empty() {
        items.push(Box::new(MenuItem::with_id(
            app,
            "no-endpoints",
            "No sign-in endpoints yet: add one in Settings…",
            false,
            None::<&str>,
        )?));
    }
    for (index, endpoint) in status.endpoints.iter().enumerate() {
        items.push(Box::new(endpoint_menu(app, status, index)?));
        let _ = endpoint;
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(MenuItem::with_id(
        app,
        MenuId::RenewNow.to_id(),
        "Renew now",
        status
            .profiles
            .iter()
            .any(|profile| profile.active || profile.keep_refreshed),
        None::<&str>,
    )?));
    items.push(Box::new(MenuItem::with_id(
        app,
        MenuId::Settings.to_id(),
        "Settings…",
        true,
        None::<&str>,
    )?));
    items.push(Box::new(CheckMenuItem::with_id(
        app,
        MenuId::StartAtLogin.to_id(),
        "Start at login",
        // The demo leaves the real login items alone.
        demo.is_none(),
        start_at_login_enabled(app),
        None::<&str>,
    )?));
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(MenuItem::with_id(
        app,
        MenuId::Quit.to_id(),
        "Quit Rolecall",
        true,
        None::<&str>,
    )?));
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(|item| item.as_ref()).collect();
    Menu::with_items(app, &refs)
}

fn endpoint_menu(app: &AppHandle, status: &Status, index: usize) -> tauri::Result<Submenu<Wry>> {
    let endpoint = &status.endpoints[index];
    let menu = Submenu::new(app, &endpoint.name, true)?;
    let note = |text: String| MenuItem::new(app, text, false, None::<&str>);
    match &endpoint.phase {
        Phase::SignedOut => {}
        Phase::Working => menu.append(&note("Signing in…".to_owned())?)?,
        Phase::SignedIn { session_name } => {
            menu.append(&note(format!("Signed in as {session_name}"))?)?;
        }
        Phase::NeedsPerson { reason, .. } => {
            menu.append(&note(format!("Needs you: {reason}"))?)?;
        }
        Phase::Failed { message } => {
            let short: String = message.chars().take(90).collect();
            menu.append(&note(format!("Failed: {short}"))?)?;
        }
    }
    let signed_in = matches!(endpoint.phase, Phase::SignedIn { .. });
    if !signed_in {
        menu.append(&MenuItem::with_id(
            app,
            MenuId::SignIn(index).to_id(),
            "Sign in",
            endpoint.phase != Phase::Working,
            None::<&str>,
        )?)?;
        return Ok(menu);
    }
    // Favourites first, each under its account's name, then every account.
    for favourite in &status.favourites {
        for (account_index, account) in endpoint.accounts.iter().enumerate() {
            if let Some(role_index) = account.roles.iter().position(|r| &r.role_arn == favourite) {
                let at = RoleAt {
                    endpoint: index,
                    account: account_index,
                    role: role_index,
                };
                let prefix = format!("★ {} / ", account.alias.as_deref().unwrap_or(&account.id));
                menu.append(&role_menu(app, status, at, &prefix)?)?;
            }
        }
    }
    if !status.favourites.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    for (account_index, account) in endpoint.accounts.iter().enumerate() {
        let account_menu = Submenu::new(app, account.label(), true)?;
        for role_index in 0..account.roles.len() {
            let at = RoleAt {
                endpoint: index,
                account: account_index,
                role: role_index,
            };
            account_menu.append(&role_menu(app, status, at, "")?)?;
        }
        menu.append(&account_menu)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        MenuId::AllRoles(index).to_id(),
        "All roles → profiles",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        MenuId::SignOut(index).to_id(),
        "Sign out",
        true,
        None::<&str>,
    )?)?;
    Ok(menu)
}

/// One role's submenu: its name with a check and the time left when it is the active one.
fn role_menu(
    app: &AppHandle,
    status: &Status,
    at: RoleAt,
    prefix: &str,
) -> tauri::Result<Submenu<Wry>> {
    let endpoint = &status.endpoints[at.endpoint];
    let role = &endpoint.accounts[at.account].roles[at.role];
    let note = |text: String| MenuItem::new(app, text, false, None::<&str>);
    let profile = status
        .profiles
        .iter()
        .filter(|profile| profile.endpoint == endpoint.name && profile.role_arn == role.role_arn)
        .max_by_key(|profile| (profile.active, profile.expiration));
    let mut label = format!("{prefix}{}", role.role_name());
    if let Some(profile) = profile {
        if profile.active {
            label = format!("✓ {label}");
        }
        if let Some(expiration) = profile.expiration {
            label.push_str(&format!(" ({})", time_left(expiration)));
        }
    }
    let role_menu = Submenu::new(app, label, true)?;
    role_menu.append(&MenuItem::with_id(
        app,
        MenuId::Use(at).to_id(),
        format!("Use as \"{}\"", status.active_profile),
        true,
        None::<&str>,
    )?)?;
    role_menu.append(&MenuItem::with_id(
        app,
        MenuId::Console(at).to_id(),
        "Open console",
        true,
        None::<&str>,
    )?)?;
    role_menu.append(&CheckMenuItem::with_id(
        app,
        MenuId::KeepRefreshed(at).to_id(),
        "Keep refreshed",
        profile.is_some(),
        profile.is_some_and(|profile| profile.keep_refreshed || profile.active),
        None::<&str>,
    )?)?;
    role_menu.append(&CheckMenuItem::with_id(
        app,
        MenuId::Favourite(at).to_id(),
        "Favourite",
        true,
        status.favourites.contains(&role.role_arn),
        None::<&str>,
    )?)?;
    if let Some(error) = profile.and_then(|profile| profile.last_error.as_ref()) {
        let short: String = error.chars().take(90).collect();
        role_menu.append(&note(format!("Last renewal: {short}"))?)?;
    }
    Ok(role_menu)
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
        other => dispatch(app, other),
    }
}

/// Turns a menu choice into an engine action, run in the background; its failure is told.
fn dispatch(app: &AppHandle, id: MenuId) {
    let Some(state) = app.try_state::<TrayState>() else {
        return;
    };
    let engine = state.engine.clone();
    let Ok(shown) = state.shown.lock().map(|shown| shown.clone()) else {
        return;
    };
    let endpoint_name = |index: usize| shown.endpoints.get(index).map(|e| e.name.clone());
    let role_of = |at: RoleAt| {
        let endpoint = shown.endpoints.get(at.endpoint)?;
        let role = endpoint.accounts.get(at.account)?.roles.get(at.role)?;
        Some((endpoint.name.clone(), role.role_arn.clone()))
    };
    let action = match id {
        MenuId::SignIn(index) => endpoint_name(index).map(|endpoint| Action::SignIn { endpoint }),
        MenuId::SignOut(index) => endpoint_name(index).map(|endpoint| Action::SignOut { endpoint }),
        MenuId::AllRoles(index) => {
            endpoint_name(index).map(|endpoint| Action::AllRoles { endpoint })
        }
        MenuId::Use(at) => {
            role_of(at).map(|(endpoint, role_arn)| Action::Use { endpoint, role_arn })
        }
        MenuId::KeepRefreshed(at) => role_of(at).and_then(|(endpoint, role_arn)| {
            let profile = shown
                .profiles
                .iter()
                .find(|p| p.endpoint == endpoint && p.role_arn == role_arn)?;
            Some(Action::KeepRefreshed {
                profile: profile.name.clone(),
                on: !profile.keep_refreshed,
            })
        }),
        MenuId::Favourite(at) => role_of(at).map(|(_, role_arn)| Action::Favourite {
            on: !shown.favourites.contains(&role_arn),
            role_arn,
        }),
        MenuId::RenewNow => Some(Action::RenewNow),
        MenuId::Console(at) => {
            if let Some((endpoint, role_arn)) = role_of(at) {
                tauri::async_runtime::spawn(async move {
                    match engine.console_url(&endpoint, &role_arn).await {
                        Ok(url) => {
                            let config = engine.config();
                            if let Err(problem) =
                                browser_page::open(&config.paths, &config.env, &url)
                            {
                                notifications::failure(
                                    "Could not open the console",
                                    &problem.to_string(),
                                );
                            }
                        }
                        Err(err) => {
                            notifications::failure("Could not open the console", &err.to_string())
                        }
                    }
                });
            }
            return;
        }
        MenuId::Status | MenuId::Settings | MenuId::StartAtLogin | MenuId::Quit => None,
    };
    let Some(action) = action else {
        tracing::warn!("the menu entry {id} no longer matches the status");
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // The sign-in window's cookies would sign in again without anyone: they go first, so
        // a Sign in right after the menu says "signed out" meets the IdP's login page.
        if let Action::SignOut { endpoint } = &action
            && let Err(err) =
                signin_window::forget(&app, endpoint, signin_window::Forget::Session).await
        {
            notifications::failure("Could not end the sign-in window's session", &err);
        }
        match engine.act(action).await {
            Ok(()) => {}
            // The person is at the screen (they chose this): the IdP's own pages take over, in
            // a window that shows if the IdP wants them.
            Err(EngineError::NeedsPerson { endpoint, .. })
                if signin_window::open_where_needed(&app, engine.clone(), &endpoint) => {}
            Err(err) => notifications::failure("Rolecall", &err.to_string()),
        }
    });
}

fn toggle_start_at_login(app: &AppHandle) {
    if app.try_state::<Demo>().is_some() {
        return;
    }
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
    if let Some(state) = app.try_state::<TrayState>() {
        let status = state.engine.status();
        render(app, status);
    }
}
