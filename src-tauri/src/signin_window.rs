//! The sign-in window: the IdP's own pages in a webview, for any MFA and any IdP. When the IdP's
//! page submits the SAML response toward AWS, Rolecall takes the value and closes the window:
//! the assertion never reaches AWS from here, and no remote page gets IPC.
//!
//! What the window may load and which response it takes is decided in the core
//! ([`rolecall_core::webview`]): a capture script in every frame hands the response over
//! through a sentinel navigation that only the IdP's own top-level page can make, navigations
//! off `https` (loopback `http` for the demo), to the app's own origin and to AWS's `/saml`
//! are refused, and downloads and pop-ups are denied here. The engine then checks the
//! response's Issuer against the one pinned for the endpoint.
//!
//! The window never gets a capability, and every app command is in the ACL (`build.rs`): only
//! the `settings` window may call them.
//!
//! It starts hidden: with the IdP's SSO cookie (kept in a data directory per endpoint) the
//! response arrives without a person, and no window flashes. It shows when a page stays put
//! (the IdP wants the person) or after [`SHOW_AFTER`] at the latest, and gives up after
//! [`GIVE_UP_AFTER`]. Signing out clears that data, removing the endpoint deletes it, and a
//! rename moves it ([`forget`], [`rename`]).
//!
//! This module never logs or shows the SAML response; it lives in
//! [`Sensitive`](rolecall_core::secrets::Sensitive) until the engine reads it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolecall_core::engine::{Engine, Phase};
use rolecall_core::paths::AppPaths;
use rolecall_core::settings::Settings;
use rolecall_core::webview::{self, Navigation, SignInPolicy};
use tauri::webview::{DownloadEvent, NewWindowResponse, PageLoadEvent};
use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use crate::notifications;

/// Labels of sign-in windows start with this; no capability names them.
pub const LABEL_PREFIX: &str = "signin-";
/// The window shows at the latest this long after it opened without a response.
const SHOW_AFTER: Duration = Duration::from_secs(8);
/// A page that stays this long after loading wants the person: the window shows.
const SETTLED_AFTER: Duration = Duration::from_secs(2);
/// The window closes and the sign-in fails this long after it opened.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5 * 60);

/// Whether windows must show at once: WebDriver cannot drive or photograph a hidden window.
fn automation() -> bool {
    std::env::var("TAURI_WEBVIEW_AUTOMATION").is_ok_and(|value| value == "true")
}

/// The open sign-in windows, one per endpoint.
#[derive(Debug, Default)]
struct SignInWindows {
    next: AtomicU64,
    open: Mutex<BTreeMap<String, String>>,
    /// Data folders with a web context in this process: the webview keeps one per folder for
    /// the app's lifetime, with the cookies in memory too, so clearing them takes the webview.
    live: Mutex<BTreeSet<PathBuf>>,
}

fn config_dir(app: &AppHandle) -> tauri::Result<PathBuf> {
    match app.try_state::<AppPaths>() {
        Some(paths) => Ok(paths.config_dir.clone()),
        None => app.path().app_config_dir(),
    }
}

/// One window's progress, shared by its callbacks and its timers.
#[derive(Debug, Default)]
struct Progress {
    /// The window is done (response taken, refused, or given up): timers stand down.
    done: AtomicBool,
    /// Counts navigations, so a timer can tell whether the page it waited on is still there.
    navigations: AtomicU64,
}

/// Opens the sign-in window on the page where the engine says `endpoint` needs the person
/// (`Phase::NeedsPerson`); false when it says no such thing.
pub fn open_where_needed(app: &AppHandle, engine: Engine, endpoint: &str) -> bool {
    let url = engine
        .status()
        .endpoints
        .iter()
        .find(|status| status.name == endpoint)
        .and_then(|status| match &status.phase {
            Phase::NeedsPerson { url, .. } => Url::parse(url).ok(),
            _ => None,
        });
    match url {
        Some(url) => {
            open(app, engine, endpoint, url, false);
            true
        }
        None => false,
    }
}

/// When a sign-in window shows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    /// At once.
    Now,
    /// When a page waits for the person (the IdP may sign in silently first).
    WhenNeeded,
    /// Never: a background renewal's try of the IdP's SSO cookie. A page that waits for the
    /// person closes the window quietly; the expiry warning tells them in time.
    Never,
}

/// Opens a sign-in window for `endpoint` on the IdP's `url` (or brings the open one forward).
/// `shown`: show at once instead of waiting to see whether the IdP signs in silently.
pub fn open(app: &AppHandle, engine: Engine, endpoint: &str, url: Url, shown: bool) {
    let visibility = if shown {
        Visibility::Now
    } else {
        Visibility::WhenNeeded
    };
    open_as(app, engine, endpoint, url, visibility);
}

/// Tries the IdP's pages in a window that never shows (see [`Visibility::Never`]).
pub fn open_silently(app: &AppHandle, engine: Engine, endpoint: &str, url: Url) {
    open_as(app, engine, endpoint, url, Visibility::Never);
}

fn open_as(app: &AppHandle, engine: Engine, endpoint: &str, url: Url, visibility: Visibility) {
    if let Err(err) = try_open(app, engine, endpoint, url, visibility) {
        tracing::error!("could not open the sign-in window for {endpoint:?}: {err}");
        notifications::failure(
            "Could not open the sign-in window",
            &format!("Rolecall could not open a window to sign in to \"{endpoint}\": {err}."),
        );
    }
}

fn try_open(
    app: &AppHandle,
    engine: Engine,
    endpoint: &str,
    url: Url,
    visibility: Visibility,
) -> Result<(), String> {
    app.manage(SignInWindows::default());
    let windows = app.state::<SignInWindows>();
    let existing = windows
        .open
        .lock()
        .ok()
        .and_then(|open| open.get(endpoint).cloned())
        .and_then(|label| app.get_webview_window(&label));
    if let Some(window) = existing {
        if visibility != Visibility::Never {
            show(&window);
        }
        return Ok(());
    }
    let label = format!(
        "{LABEL_PREFIX}{}",
        windows.next.fetch_add(1, Ordering::Relaxed)
    );
    let config_dir = config_dir(app).map_err(|err| err.to_string())?;
    // The IdP's origin is the endpoint's, whatever page the window starts on.
    // The hosts the person trusts for the endpoint may end its sign-in too.
    let (endpoint_url, trusted_hosts) = Settings::load(&engine.config().paths)
        .ok()
        .and_then(|settings| {
            settings
                .endpoint(endpoint)
                .map(|e| (e.url.clone(), e.trusted_hosts.clone()))
        })
        .unwrap_or_else(|| (url.clone(), Vec::new()));
    let policy = SignInPolicy::new(&endpoint_url, &trusted_hosts).map_err(|err| err.to_string())?;
    let script = policy.script();
    let idp_origins = policy.origins().join(", ");
    let silent = visibility == Visibility::Never;
    let shown = visibility == Visibility::Now || (automation() && !silent);
    let progress = Arc::new(Progress::default());

    let on_navigation = {
        let app = app.clone();
        let engine = engine.clone();
        let endpoint = endpoint.to_owned();
        let label = label.clone();
        let progress = Arc::clone(&progress);
        move |url: &Url| {
            progress.navigations.fetch_add(1, Ordering::SeqCst);
            let navigation = policy.navigation(url);
            // The scheme, host and path only: the sentinel's query is the SAML response.
            tracing::debug!(
                scheme = url.scheme(),
                host = url.host_str(),
                path = url.path(),
                ?navigation,
                "sign-in window navigation"
            );
            match navigation {
                Navigation::Allowed => return true,
                Navigation::Refused => {
                    tracing::info!(
                        scheme = url.scheme(),
                        host = url.host_str(),
                        "the sign-in window does not load this page"
                    );
                    return false;
                }
                // Made up by a page or frame that is not the IdP's top page: it changes
                // nothing, and the IdP's own flow goes on.
                Navigation::Forged => {
                    tracing::warn!("ignored a SAML response that did not come from the IdP's page");
                    return false;
                }
                _ => {}
            }
            // Once done (taken, refused or given up), nothing more is taken from this window.
            if progress.done.swap(true, Ordering::SeqCst) {
                return false;
            }
            match navigation {
                Navigation::Allowed | Navigation::Refused | Navigation::Forged => false,
                Navigation::Captured {
                    saml_response,
                    post_to,
                } => {
                    close(&app, &label);
                    let engine = engine.clone();
                    let endpoint = endpoint.clone();
                    tauri::async_runtime::spawn(async move {
                        if let Err(err) = engine
                            .accept_saml_response(&endpoint, &saml_response, post_to)
                            .await
                        {
                            notifications::failure("Could not sign in", &err.to_string());
                        }
                    });
                    false
                }
                Navigation::NotTheIdp { origin } => {
                    close(&app, &label);
                    let reason = format!(
                        "A page at {origin} tried to hand Rolecall a sign-in for \"{endpoint}\", \
                         but the endpoint's IdP is at {idp_origins}, so nothing was taken. Sign \
                         in again; if your IdP really ends its sign-in on {origin}, tell your IT \
                         department."
                    );
                    engine.sign_in_abandoned(&endpoint, &reason);
                    notifications::failure("Could not sign in", &reason);
                    false
                }
                Navigation::Empty | Navigation::TowardAws => {
                    close(&app, &label);
                    let reason = format!(
                        "The sign-in page of \"{endpoint}\" sent its answer in a way Rolecall \
                         could not read, so it was stopped before it reached AWS. Sign in again; \
                         if this keeps happening, report it."
                    );
                    engine.sign_in_abandoned(&endpoint, &reason);
                    notifications::failure("Could not sign in", &reason);
                    false
                }
            }
        }
    };
    let on_page_load = {
        let progress = Arc::clone(&progress);
        let app = app.clone();
        let label = label.clone();
        move |window: WebviewWindow, payload: tauri::webview::PageLoadPayload<'_>| {
            if payload.event() != PageLoadEvent::Finished {
                return;
            }
            let seen = progress.navigations.load(Ordering::SeqCst);
            let progress = Arc::clone(&progress);
            let app = app.clone();
            let label = label.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(SETTLED_AFTER).await;
                let settled = progress.navigations.load(Ordering::SeqCst) == seen;
                if !settled || progress.done.load(Ordering::SeqCst) {
                    return;
                }
                if silent {
                    // The IdP wants the person: not now, in the background.
                    progress.done.store(true, Ordering::SeqCst);
                    close(&app, &label);
                } else {
                    show(&window);
                }
            });
        }
    };

    let data = webview::data_directory(&config_dir, endpoint);
    let window = WebviewWindowBuilder::new(app, &label, WebviewUrl::External(url))
        .title(format!("Sign in to {endpoint} — Rolecall"))
        .inner_size(520.0, 680.0)
        .center()
        .visible(shown)
        .focused(shown)
        .data_directory(data.clone())
        .initialization_script_for_all_frames(&script)
        .on_navigation(on_navigation)
        .on_page_load(on_page_load)
        // A pop-up would be a window without the capture script and the safety net.
        .on_new_window(|_, _| NewWindowResponse::Deny)
        .on_download(refuse_download)
        .build()
        .map_err(|err| err.to_string())?;
    if let Ok(mut open) = windows.open.lock() {
        open.insert(endpoint.to_owned(), label.clone());
    }
    if let Ok(mut live) = windows.live.lock() {
        live.insert(data);
    }

    let app = app.clone();
    let endpoint = endpoint.to_owned();
    // Ends by itself: when the window is done or gone, or after GIVE_UP_AFTER.
    tauri::async_runtime::spawn(async move {
        if !shown {
            tokio::time::sleep(SHOW_AFTER).await;
            if progress.done.load(Ordering::SeqCst) || app.get_webview_window(&label).is_none() {
                return;
            }
            if silent {
                progress.done.store(true, Ordering::SeqCst);
                close(&app, &label);
                return;
            }
            show(&window);
        }
        tokio::time::sleep(GIVE_UP_AFTER.saturating_sub(SHOW_AFTER)).await;
        if progress.done.swap(true, Ordering::SeqCst) || app.get_webview_window(&label).is_none() {
            return;
        }
        close(&app, &label);
        engine.sign_in_abandoned(
            &endpoint,
            "The sign-in window was open for 5 minutes without finishing, so Rolecall closed \
             it. Choose Sign in to try again.",
        );
    });
    Ok(())
}

/// Nothing is saved from a sign-in window: an IdP page has no business downloading files.
fn refuse_download(_: tauri::Webview, event: DownloadEvent<'_>) -> bool {
    if let DownloadEvent::Requested { url, .. } = event {
        tracing::info!(
            scheme = url.scheme(),
            host = url.host_str(),
            "refused a download in the sign-in window"
        );
    }
    false
}

/// What happens to an endpoint's sign-in window data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget {
    /// Signed out: the cookies, cache and storage are cleared; the folder stays for the next
    /// sign-in.
    Session,
    /// The endpoint is gone: its folder goes too.
    Everything,
}

/// Ends the IdP session the sign-in window kept for `endpoint`: closes its window, clears
/// what the webview holds of it, and with [`Forget::Everything`] deletes its folder.
pub async fn forget(app: &AppHandle, endpoint: &str, what: Forget) -> Result<(), String> {
    let config_dir = config_dir(app).map_err(|err| err.to_string())?;
    app.manage(SignInWindows::default());
    let windows = app.state::<SignInWindows>();
    let open = windows
        .open
        .lock()
        .ok()
        .and_then(|mut open| open.remove(endpoint))
        .and_then(|label| app.get_webview_window(&label));
    if let Some(window) = open {
        window.destroy().map_err(|err| err.to_string())?;
    }
    let data = webview::data_directory(&config_dir, endpoint);
    let live = windows
        .live
        .lock()
        .map(|live| live.contains(&data))
        .unwrap_or(true);
    if live {
        clear_live(app, &windows, &data)?;
    }
    if what == Forget::Everything || !live {
        // With no web context for it in this process, the folder is all there is.
        webview::delete_data(&config_dir, endpoint).map_err(|err| err.to_string())?;
    }
    Ok(())
}

/// Clears the cookies, cache and storage of the web context of `data` through a window that
/// never shows and loads nothing.
fn clear_live(app: &AppHandle, windows: &SignInWindows, data: &Path) -> Result<(), String> {
    let label = format!(
        "{LABEL_PREFIX}clear-{}",
        windows.next.fetch_add(1, Ordering::Relaxed)
    );
    let blank = Url::parse("about:blank").map_err(|err| err.to_string())?;
    let window = WebviewWindowBuilder::new(app, &label, WebviewUrl::External(blank))
        .visible(false)
        .focused(false)
        .data_directory(data.to_path_buf())
        .on_navigation(|url| url.as_str() == "about:blank")
        .on_new_window(|_, _| NewWindowResponse::Deny)
        .on_download(refuse_download)
        .build()
        .map_err(|err| err.to_string())?;
    let cleared = window.clear_all_browsing_data();
    window.destroy().map_err(|err| err.to_string())?;
    cleared.map_err(|err| err.to_string())
}

fn show(window: &WebviewWindow) {
    let shown = window
        .unminimize()
        .and_then(|()| window.show())
        .and_then(|()| window.set_focus());
    if let Err(err) = shown {
        tracing::warn!("could not show the sign-in window: {err}");
    }
}

/// Closes a sign-in window, off the webview's own callback (closing from inside it is not safe).
fn close(app: &AppHandle, label: &str) {
    let app = app.clone();
    let label = label.to_owned();
    tauri::async_runtime::spawn(async move {
        if let Some(window) = app.get_webview_window(&label)
            && let Err(err) = window.destroy()
        {
            tracing::warn!("could not close the sign-in window: {err}");
        }
        if let Some(windows) = app.try_state::<SignInWindows>()
            && let Ok(mut open) = windows.open.lock()
        {
            open.retain(|_, open_label| *open_label != label);
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// Remote pages get no IPC: no capability may reach a sign-in window, by label, by a
    /// pattern or by remote URL.
    #[test]
    fn no_capability_reaches_a_sign_in_window() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let capability: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(
                capability.get("remote").is_none(),
                "{} gives remote pages IPC",
                path.display()
            );
            for window in capability["windows"].as_array().into_iter().flatten() {
                let window = window.as_str().unwrap();
                assert!(
                    !window.contains('*') && !window.starts_with(LABEL_PREFIX),
                    "{} names the window {window:?}",
                    path.display()
                );
            }
            assert!(
                capability.get("webviews").is_none(),
                "{} names webviews",
                path.display()
            );
        }
    }

    fn quoted_names(text: &str) -> BTreeSet<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// With the app's commands in the ACL, a command missing from `build.rs` or from the
    /// settings capability would be refused to the settings window too; one granted to any
    /// other window would reach pages it must not.
    #[test]
    fn every_app_command_is_in_the_acl_and_granted_to_the_settings_window_alone() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let build = std::fs::read_to_string(root.join("build.rs")).unwrap();
        let listed = build
            .split_once("const COMMANDS: &[&str] = &[")
            .and_then(|(_, rest)| rest.split_once("];"))
            .map(|(list, _)| quoted_names(list))
            .unwrap();
        let app = std::fs::read_to_string(root.join("src/app.rs")).unwrap();
        let handled: BTreeSet<String> = app
            .split_once("generate_handler![")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| {
                list.split(',')
                    .map(|name| name.trim().trim_start_matches("commands::").to_owned())
                    .filter(|name| !name.is_empty())
                    .collect()
            })
            .unwrap();
        assert_eq!(
            listed, handled,
            "build.rs lists every command the app handles"
        );

        let granted: BTreeSet<String> = std::fs::read_dir(root.join("capabilities"))
            .unwrap()
            .flat_map(|entry| {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                let capability: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(capability["windows"], serde_json::json!(["settings"]));
                capability["permissions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let expected: BTreeSet<String> = handled
            .iter()
            .map(|name| format!("allow-{}", name.replace('_', "-")))
            .collect();
        assert_eq!(
            granted, expected,
            "the settings window may call every command"
        );
    }
}
