//! The sign-in window: the IdP's own pages in a webview, for any MFA and any IdP. When the IdP's
//! page submits the SAML response toward AWS, Rolecall takes the value and closes the window:
//! the assertion never reaches AWS from here, and no remote page gets IPC.
//!
//! How the value is taken (DESIGN §7): an initialization script in every frame hooks
//! `HTMLFormElement.prototype.submit` (an auto-post page's `form.submit()` fires no `submit`
//! event) and listens for `submit` in the capture phase; a form carrying `SAMLResponse` goes to
//! a sentinel URL instead, `https://rolecall-capture.invalid/?SAMLResponse=…&action=…`, which
//! [`on_navigation`](tauri::webview::WebviewWindowBuilder::on_navigation) reads and refuses.
//! The page needs no IPC for that, and an IdP's `form-action` CSP does not stop a navigation.
//! Navigations to AWS's `/saml` hosts are refused too, as a safety net.
//!
//! The window never gets a capability: `capabilities/settings.json` is bound to the `settings`
//! window label only, so a `signin-<n>` window's pages cannot call any command.
//!
//! It starts hidden: with the IdP's SSO cookie (kept in a data directory per endpoint) the
//! response arrives without a person, and no window flashes. It shows when a page stays put
//! (the IdP wants the person) or after [`SHOW_AFTER`] at the latest, and gives up after
//! [`GIVE_UP_AFTER`].
//!
//! This module never logs or shows the SAML response; it lives in [`Sensitive`] until the
//! engine reads it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolecall_core::engine::{Engine, Phase};
use rolecall_core::http::is_loopback;
use rolecall_core::partition::Partition;
use rolecall_core::paths::AppPaths;
use rolecall_core::secrets::Sensitive;
use tauri::webview::{NewWindowResponse, PageLoadEvent};
use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use crate::notifications;

/// Labels of sign-in windows start with this; no capability names them.
pub const LABEL_PREFIX: &str = "signin-";
/// The host the capture script navigates to; `.invalid` never resolves (RFC 6761).
const CAPTURE_HOST: &str = "rolecall-capture.invalid";
/// The window shows at the latest this long after it opened without a response.
const SHOW_AFTER: Duration = Duration::from_secs(8);
/// A page that stays this long after loading wants the person: the window shows.
const SETTLED_AFTER: Duration = Duration::from_secs(2);
/// The window closes and the sign-in fails this long after it opened.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5 * 60);

/// Hooks form submission in every frame; see the module docs. The getters are taken from the
/// prototype once, so a page's input named `elements` or `action` cannot shadow them.
const CAPTURE_SCRIPT: &str = r#"(function () {
  'use strict';
  var proto = window.HTMLFormElement && window.HTMLFormElement.prototype;
  if (!proto || proto.__rolecallCapture) { return; }
  var elements = Object.getOwnPropertyDescriptor(proto, 'elements').get;
  var action = Object.getOwnPropertyDescriptor(proto, 'action').get;
  var submit = proto.submit;
  function capture(form) {
    if (!(form instanceof window.HTMLFormElement)) { return false; }
    var field = elements.call(form).namedItem('SAMLResponse');
    if (!field || typeof field.value !== 'string' || field.value === '') { return false; }
    // `location.replace` is an own, unforgeable property of `location` (not on its
    // prototype): a page cannot swap it.
    window.location.replace('https://rolecall-capture.invalid/?SAMLResponse=' +
      encodeURIComponent(field.value) + '&action=' + encodeURIComponent(action.call(form)));
    return true;
  }
  Object.defineProperty(proto, '__rolecallCapture', { value: true });
  proto.submit = function () {
    if (!capture(this)) { return submit.apply(this, arguments); }
  };
  window.addEventListener('submit', function (event) {
    if (capture(event.target)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();"#;

/// What a navigation in the sign-in window means.
#[derive(Debug)]
enum Navigation {
    /// The capture script's sentinel: the response, and where the page would have posted it
    /// when that is an AWS sign-in page (it serves the account aliases).
    Captured {
        saml_response: Sensitive<String>,
        post_to: Option<Url>,
    },
    /// The sentinel without a response: nothing to sign in with.
    Empty,
    /// Toward AWS's `/saml` past the capture script: refused, the response is not readable.
    TowardAws,
    Allowed,
}

/// Reads one navigation. `endpoint_on_loopback`: the endpoint is the simulator (demo, tests).
fn classify(url: &Url, endpoint_on_loopback: bool) -> Navigation {
    if url.scheme() == "https" && url.host_str() == Some(CAPTURE_HOST) {
        let mut saml_response = None;
        let mut action = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "SAMLResponse" => saml_response = Some(Sensitive::new(value.into_owned())),
                "action" => action = Url::parse(&value).ok(),
                _ => {}
            }
        }
        return match saml_response {
            Some(saml_response) if !saml_response.expose().is_empty() => Navigation::Captured {
                saml_response,
                // Only an AWS sign-in page gets the assertion (for the aliases): a page could
                // name any action.
                post_to: action.filter(|action| is_aws_saml(action, endpoint_on_loopback)),
            },
            _ => Navigation::Empty,
        };
    }
    if is_aws_saml(url, endpoint_on_loopback) {
        return Navigation::TowardAws;
    }
    Navigation::Allowed
}

/// AWS's `/saml` page in any partition, regional hosts too. The simulator stands in for AWS at
/// `<its base>/saml` on loopback, so for an endpoint on loopback a loopback `…/saml` counts as
/// AWS's: otherwise the demo's response would reach the simulator's page and never be taken.
fn is_aws_saml(url: &Url, endpoint_on_loopback: bool) -> bool {
    if Partition::from_saml_destination(url.as_str()).is_some() {
        return true;
    }
    endpoint_on_loopback && is_loopback(url) && url.path().ends_with("/saml")
}

/// The folder of an endpoint's webview data (cookies, storage): one per endpoint, so one IdP's
/// SSO session never signs in to another endpoint. Every byte outside `[A-Za-z0-9_-]` is
/// written as `%XX`, so any endpoint name is one safe, distinct folder name.
fn data_directory(config_dir: &std::path::Path, endpoint: &str) -> PathBuf {
    let mut name = String::with_capacity(endpoint.len());
    for byte in endpoint.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    config_dir.join("webview").join(name)
}

/// Whether windows must show at once: WebDriver cannot drive or photograph a hidden window.
fn automation() -> bool {
    std::env::var("TAURI_WEBVIEW_AUTOMATION").is_ok_and(|value| value == "true")
}

/// The open sign-in windows, one per endpoint.
#[derive(Debug, Default)]
struct SignInWindows {
    next: AtomicU64,
    open: Mutex<BTreeMap<String, String>>,
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
) -> tauri::Result<()> {
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
    let config_dir = match app.try_state::<AppPaths>() {
        Some(paths) => paths.config_dir.clone(),
        None => app.path().app_config_dir()?,
    };
    let loopback = is_loopback(&url);
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
            let navigation = classify(url, loopback);
            // The host and path only: the sentinel's query is the SAML response.
            tracing::debug!(
                host = url.host_str(),
                path = url.path(),
                ?navigation,
                "sign-in window navigation"
            );
            if matches!(navigation, Navigation::Allowed) {
                return true;
            }
            // Once done (taken, refused or given up), nothing more is taken from this window.
            if progress.done.swap(true, Ordering::SeqCst) {
                return false;
            }
            match navigation {
                Navigation::Allowed => true,
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

    let window = WebviewWindowBuilder::new(app, &label, WebviewUrl::External(url))
        .title(format!("Sign in to {endpoint} — Rolecall"))
        .inner_size(520.0, 680.0)
        .center()
        .visible(shown)
        .focused(shown)
        .data_directory(data_directory(&config_dir, endpoint))
        .initialization_script_for_all_frames(CAPTURE_SCRIPT)
        .on_navigation(on_navigation)
        .on_page_load(on_page_load)
        // A pop-up would be a window without the capture script and the safety net.
        .on_new_window(|_, _| NewWindowResponse::Deny)
        .build()?;
    if let Ok(mut open) = windows.open.lock() {
        open.insert(endpoint.to_owned(), label.clone());
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

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn sentinel(saml_response: &str, action: &str) -> Url {
        let mut url = url("https://rolecall-capture.invalid/");
        url.query_pairs_mut()
            .append_pair("SAMLResponse", saml_response)
            .append_pair("action", action);
        url
    }

    #[test]
    fn the_sentinel_gives_the_response_and_an_aws_action() {
        // Base64 has `+`, `/` and `=`, which the script percent-encodes.
        let value = "PHNhbWxwOlJlc3BvbnNl+/==";
        let Navigation::Captured {
            saml_response,
            post_to,
        } = classify(
            &sentinel(value, "https://signin.aws.amazon.com:443/saml"),
            false,
        )
        else {
            panic!("the sentinel is a capture");
        };
        assert_eq!(saml_response.expose(), value);
        assert_eq!(
            post_to.map(String::from).as_deref(),
            Some("https://signin.aws.amazon.com/saml"),
            "the AWS action is kept for the aliases"
        );
    }

    #[test]
    fn the_sentinel_as_the_script_writes_it_with_encode_uri_component() {
        // encodeURIComponent("a+b/c=") and of the action.
        let written = url(
            "https://rolecall-capture.invalid/?SAMLResponse=a%2Bb%2Fc%3D&action=https%3A%2F%2Fus-east-2.signin.aws.amazon.com%2Fsaml",
        );
        let Navigation::Captured {
            saml_response,
            post_to,
        } = classify(&written, false)
        else {
            panic!("the sentinel is a capture");
        };
        assert_eq!(saml_response.expose(), "a+b/c=");
        assert!(post_to.is_some(), "a regional sign-in host is AWS's");
    }

    /// A page names the action: the assertion must only ever go to an AWS sign-in page.
    #[test]
    fn an_action_that_is_not_aws_is_dropped() {
        for action in [
            "https://evil.example/saml",
            "https://signin.aws.amazon.com.evil.example/saml",
            "http://127.0.0.1:8080/saml",
            "",
        ] {
            let Navigation::Captured { post_to, .. } = classify(&sentinel("x", action), false)
            else {
                panic!("the sentinel is a capture");
            };
            assert!(
                post_to.is_none(),
                "{action:?} is not where the response goes"
            );
        }
    }

    #[test]
    fn the_simulators_saml_page_counts_as_aws_for_a_loopback_endpoint() {
        let Navigation::Captured { post_to, .. } =
            classify(&sentinel("x", "http://127.0.0.1:8080/saml"), true)
        else {
            panic!("the sentinel is a capture");
        };
        assert!(post_to.is_some());
        assert!(matches!(
            classify(&url("http://127.0.0.1:8080/saml"), true),
            Navigation::TowardAws
        ));
        assert!(matches!(
            classify(&url("http://127.0.0.1:8080/saml"), false),
            Navigation::Allowed
        ));
    }

    #[test]
    fn a_sentinel_without_a_response_is_refused() {
        assert!(matches!(
            classify(&url("https://rolecall-capture.invalid/?action=x"), false),
            Navigation::Empty
        ));
        assert!(matches!(
            classify(&sentinel("", "https://signin.aws.amazon.com/saml"), false),
            Navigation::Empty
        ));
    }

    #[test]
    fn navigations_to_aws_saml_hosts_of_every_partition_are_blocked() {
        for target in [
            "https://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com:443/saml",
            "https://eu-west-1.signin.aws.amazon.com/saml",
            "https://signin.amazonaws-us-gov.com/saml",
            "https://us-gov-west-1.signin.amazonaws-us-gov.com/saml",
            "https://signin.amazonaws.cn/saml",
            "https://cn-north-1.signin.amazonaws.cn/saml",
        ] {
            assert!(
                matches!(classify(&url(target), false), Navigation::TowardAws),
                "{target} is AWS's /saml"
            );
        }
    }

    #[test]
    fn the_idps_own_pages_are_allowed() {
        for target in [
            "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices",
            "https://login.microsoftonline.com/common/saml2",
            "https://signin.aws.amazon.com/console",
            "https://rolecall-capture.invalid.evil.example/?SAMLResponse=x",
            "http://rolecall-capture.invalid/?SAMLResponse=x",
        ] {
            assert!(
                matches!(classify(&url(target), false), Navigation::Allowed),
                "{target} is the IdP's business"
            );
        }
    }

    #[test]
    fn each_endpoint_has_its_own_safe_data_folder() {
        let base = std::path::Path::new("/config");
        assert_eq!(
            data_directory(base, "corp"),
            base.join("webview").join("corp")
        );
        assert_eq!(
            data_directory(base, "../x y"),
            base.join("webview").join("%2E%2E%2Fx%20y")
        );
        assert_ne!(data_directory(base, "a/b"), data_directory(base, "a_b"));
    }

    /// Remote pages get no IPC: no capability may reach a sign-in window, by label, by a
    /// pattern or by remote URL.
    #[test]
    fn no_capability_reaches_a_sign_in_window() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities");
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

    #[test]
    fn the_capture_script_goes_to_the_sentinel_host() {
        assert!(CAPTURE_SCRIPT.contains(&format!("https://{CAPTURE_HOST}/?SAMLResponse=")));
        assert!(CAPTURE_SCRIPT.contains("'submit'"));
    }
}
