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
//! response arrives without a person, and no window flashes. When it shows and when it gives
//! up is the core's [`SignInTiming`], fed this window's events. Signing out clears that data,
//! removing the endpoint deletes it, and a rename moves it ([`forget`], [`rename`]).
//!
//! This module never logs or shows the SAML response; it lives in
//! [`Sensitive`](rolecall_core::secrets::Sensitive) until the engine reads it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rolecall_core::clock;
use rolecall_core::webview::{self, Navigation, SignInPolicy, SignInTiming, Step, Visibility};
use tauri::webview::{DownloadEvent, NewWindowResponse, PageLoadEvent};
use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use tokio::sync::Notify;

use crate::Shell;

/// Labels of sign-in windows start with this; no capability names them.
pub const LABEL_PREFIX: &str = "signin-";

/// The open sign-in windows, one per endpoint.
#[derive(Debug, Default)]
pub struct SignInWindows {
    next: AtomicU64,
    open: Mutex<BTreeMap<String, String>>,
    /// Data folders with a web context in this process: the webview keeps one per folder for
    /// the app's lifetime, with the cookies in memory too, so clearing them takes the webview.
    live: Mutex<BTreeSet<PathBuf>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn config_dir(app: &AppHandle) -> PathBuf {
    app.state::<Shell>()
        .engine
        .config()
        .paths
        .config_dir
        .clone()
}

/// Opens a sign-in window for `endpoint` on the IdP's `url`, or brings the open one forward.
pub fn open(app: &AppHandle, endpoint: &str, url: Url, visibility: Visibility) {
    if let Err(err) = try_open(app, endpoint, url, visibility) {
        tracing::error!("could not open the sign-in window for {endpoint:?}: {err}");
        app.state::<Shell>().alerts.failure(
            "Could not open the sign-in window",
            &format!("Rolecall could not open a window to sign in to \"{endpoint}\": {err}."),
        );
    }
}

fn try_open(
    app: &AppHandle,
    endpoint: &str,
    url: Url,
    visibility: Visibility,
) -> Result<(), String> {
    let shell = app.state::<Shell>();
    let windows = app.state::<SignInWindows>();
    let existing = lock(&windows.open)
        .get(endpoint)
        .and_then(|label| app.get_webview_window(label));
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
    let engine = shell.engine.clone();
    let policy = SignInPolicy::for_endpoint(&engine.config().paths, endpoint, &url)
        .map_err(|err| err.to_string())?;
    let script = policy.script();
    let timing = Arc::new(Mutex::new(SignInTiming::new(
        visibility,
        shell.automation,
        clock::monotonic(),
    )));
    let shown = lock(&timing).shown();
    // Wakes the window's timer when an event moved its next deadline.
    let wake = Arc::new(Notify::new());

    let on_navigation = {
        let (app, endpoint, label) = (app.clone(), endpoint.to_owned(), label.clone());
        let (timing, wake) = (Arc::clone(&timing), Arc::clone(&wake));
        move |url: &Url| {
            let navigation = policy.navigation(url);
            // The scheme, host and path only: the sentinel's query is the SAML response.
            let (scheme, host, path) = (url.scheme(), url.host_str(), url.path());
            tracing::debug!(scheme, host, path, ?navigation, "sign-in window navigation");
            match navigation {
                Navigation::Allowed => {
                    lock(&timing).navigated();
                    wake.notify_one();
                    return true;
                }
                Navigation::Refused => {
                    tracing::info!(scheme, host, "the sign-in window does not load this page");
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
            if !lock(&timing).finish() {
                return false;
            }
            wake.notify_one();
            close(&app, &label);
            let shell = app.state::<Shell>();
            if let Some(reason) = navigation.abandoned(&endpoint, policy.origins()) {
                shell.engine.sign_in_abandoned(&endpoint, &reason);
                shell.alerts.failure("Could not sign in", &reason);
            } else if let Navigation::Captured {
                saml_response,
                post_to,
            } = navigation
            {
                let (app, endpoint) = (app.clone(), endpoint.clone());
                shell.tasks.spawn(async move {
                    let shell = app.state::<Shell>();
                    let accepted =
                        shell
                            .engine
                            .accept_saml_response(&endpoint, &saml_response, post_to);
                    if let Err(err) = accepted.await {
                        shell.alerts.failure("Could not sign in", &err.to_string());
                    }
                });
            }
            false
        }
    };
    let on_page_load = {
        let (timing, wake) = (Arc::clone(&timing), Arc::clone(&wake));
        move |_: WebviewWindow, payload: tauri::webview::PageLoadPayload<'_>| {
            if payload.event() == PageLoadEvent::Finished {
                lock(&timing).page_loaded(clock::monotonic());
                wake.notify_one();
            }
        }
    };

    let data = webview::data_directory(&config_dir(app), endpoint);
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
    lock(&windows.open).insert(endpoint.to_owned(), label.clone());
    lock(&windows.live).insert(data);

    // The window's timer: ends when the window is done or gone.
    let (app, endpoint) = (app.clone(), endpoint.to_owned());
    shell.tasks.spawn(async move {
        loop {
            let Some(at) = lock(&timing).next_wake() else {
                break;
            };
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = wake.notified() => continue,
            }
            if app.get_webview_window(&label).is_none() {
                break;
            }
            let step = lock(&timing).step(clock::monotonic());
            match step {
                Step::Wait => {}
                Step::Show => show(&window),
                Step::CloseQuietly => close(&app, &label),
                Step::GiveUp => {
                    close(&app, &label);
                    app.state::<Shell>().engine.sign_in_abandoned(
                        &endpoint,
                        "The sign-in window was open for 5 minutes without finishing, so \
                         Rolecall closed it. Choose Sign in to try again.",
                    );
                }
            }
        }
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
    let config_dir = config_dir(app);
    let windows = app.state::<SignInWindows>();
    let open = lock(&windows.open)
        .remove(endpoint)
        .and_then(|label| app.get_webview_window(&label));
    if let Some(window) = open {
        window.destroy().map_err(|err| err.to_string())?;
    }
    let data = webview::data_directory(&config_dir, endpoint);
    let live = lock(&windows.live).contains(&data);
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
    let (handle, label) = (app.clone(), label.to_owned());
    app.state::<Shell>().tasks.spawn(async move {
        if let Some(window) = handle.get_webview_window(&label)
            && let Err(err) = window.destroy()
        {
            tracing::warn!("could not close the sign-in window: {err}");
        }
        lock(&handle.state::<SignInWindows>().open).retain(|_, open| *open != label);
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
