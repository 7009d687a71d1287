//! Desktop notifications: expiry warnings with a "Renew" button, and failures with their reason.
//!
//! notify-rust talks to the desktop's notification server (D-Bus on Linux). A desktop without
//! one answers `show()` with an error: that is logged and never fatal, since the tray still shows
//! the state. Notifications never hold a thread each: plain ones are shown by one notifier
//! thread, in order, and a notification with a Renew button is a task that waits for the press
//! on D-Bus; at most [`MAX_WAITING`] wait at once, later ones come without the button.

use std::sync::mpsc::SyncSender;
use std::sync::{Arc, OnceLock};

use rolecall_core::engine::{Action, Engine, EngineError, Notice};
use rolecall_core::refresh::WarningKind;
use rolecall_core::untrusted;
use tauri::AppHandle;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedReceiver;

const APP_NAME: &str = "Rolecall";
/// The action id of the "Renew" button.
const RENEW: &str = "renew";

/// Notifications with a Renew button waiting for the press at once.
const MAX_WAITING: usize = 8;
/// How long a Renew button is waited for: past it the session has long ended.
#[cfg(all(unix, not(target_os = "macos")))]
const ACTION_WAIT: std::time::Duration = std::time::Duration::from_secs(60 * 60);
/// Plain notifications queued for the notifier thread; more are logged and dropped.
const QUEUE: usize = 32;

/// Shows every notice the engine sends until the engine is gone.
pub fn spawn(app: AppHandle, mut notices: UnboundedReceiver<Notice>, engine: Engine) {
    let waiting = Arc::new(Semaphore::new(MAX_WAITING));
    tauri::async_runtime::spawn(async move {
        while let Some(notice) = notices.recv().await {
            let engine = engine.clone();
            let app = app.clone();
            let waiting = Arc::clone(&waiting);
            tauri::async_runtime::spawn(async move { show(&app, &notice, &engine, waiting).await });
        }
    });
}

async fn show(app: &AppHandle, notice: &Notice, engine: &Engine, waiting: Arc<Semaphore>) {
    match notice {
        Notice::Expiry(warning) => {
            let minutes = (warning.expiration - rolecall_core::clock::SystemClock.now())
                .whole_minutes()
                .max(0);
            let (summary, body) = match warning.kind {
                WarningKind::ExpiresSoon => (
                    format!("{} expires in {minutes} minutes", warning.profile),
                    format!(
                        "Rolecall cannot renew it without you (endpoint \"{}\"). Renew now to \
                         keep working.",
                        warning.endpoint
                    ),
                ),
                WarningKind::Expired => (
                    format!("{} has expired", warning.profile),
                    format!("Sign in to endpoint \"{}\" to renew it.", warning.endpoint),
                ),
            };
            let endpoint = warning.endpoint.clone();
            with_renew(summary, body, waiting, || async {
                match engine.act(Action::SignIn { endpoint }).await {
                    Ok(()) => {}
                    // Renew was pressed: the person is there for the IdP's pages. The
                    // profiles follow once the window has signed in.
                    Err(EngineError::NeedsPerson { endpoint, .. }) => {
                        if !crate::signin_window::open_where_needed(app, engine.clone(), &endpoint)
                        {
                            failure(
                                "Could not renew",
                                &format!("Sign in to \"{endpoint}\" from the tray."),
                            );
                        }
                        return;
                    }
                    Err(err) => {
                        failure("Could not renew", &err.to_string());
                        return;
                    }
                }
                if let Err(err) = engine.act(Action::RenewNow).await {
                    failure("Could not renew", &err.to_string());
                }
            })
            .await;
        }
        Notice::TrySilently { endpoint, url } => match url::Url::parse(url) {
            Ok(url) => crate::signin_window::open_silently(app, engine.clone(), endpoint, url),
            Err(err) => tracing::warn!("no silent sign-in for {endpoint:?}: {err}"),
        },
        Notice::RenewalFailed { endpoint, message } => {
            failure(
                &format!("Could not renew the profiles of \"{endpoint}\""),
                message,
            );
        }
    }
}

/// Text as the notification server should show it: the reasons quote the IdP's own words, which
/// may carry control characters, and freedesktop servers read the body as markup.
fn as_shown(text: &str) -> String {
    if cfg!(all(unix, not(target_os = "macos"))) {
        untrusted::for_notification(text)
    } else {
        untrusted::for_terminal(text).into_owned()
    }
}

/// A notification that says something went wrong and why. Never blocks: the notifier thread
/// shows it.
pub fn failure(summary: &str, body: &str) {
    let queued = notifier().map(|queue| queue.try_send((summary.to_owned(), body.to_owned())));
    if !matches!(queued, Some(Ok(()))) {
        tracing::warn!("too many notifications at once, not shown: {summary}: {body}");
    }
}

/// The queue of the one thread that shows plain notifications, started on first use.
fn notifier() -> Option<&'static SyncSender<(String, String)>> {
    static QUEUE_SENDER: OnceLock<Option<SyncSender<(String, String)>>> = OnceLock::new();
    QUEUE_SENDER
        .get_or_init(|| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<(String, String)>(QUEUE);
            let started = std::thread::Builder::new()
                .name("notifications".to_owned())
                .spawn(move || {
                    for (summary, body) in receiver {
                        show_plain(&summary, &body);
                    }
                });
            match started {
                Ok(_) => Some(sender),
                Err(err) => {
                    tracing::warn!("no notifications: could not start their thread ({err})");
                    None
                }
            }
        })
        .as_ref()
}

fn show_plain(summary: &str, body: &str) {
    let shown = notify_rust::Notification::new()
        .appname(APP_NAME)
        .summary(&untrusted::for_terminal(summary))
        .body(&as_shown(body))
        .show();
    if let Err(err) = shown {
        tracing::warn!("could not show a notification ({err}): {summary}: {body}");
    }
}

/// A notification with a Renew button; `on_renew` runs when it is pressed.
#[cfg(all(unix, not(target_os = "macos")))]
async fn with_renew<F: Future<Output = ()>>(
    summary: String,
    body: String,
    waiting: Arc<Semaphore>,
    on_renew: impl FnOnce() -> F,
) {
    let Ok(permit) = waiting.try_acquire_owned() else {
        failure(&summary, &body);
        return;
    };
    let shown = notify_rust::Notification::new()
        .appname(APP_NAME)
        .summary(&untrusted::for_terminal(&summary))
        .body(&as_shown(&body))
        .action(RENEW, "Renew")
        .show_async()
        .await;
    match shown {
        Ok(handle) => {
            let mut renew = false;
            let pressed = handle.wait_for_action_async(|response| {
                renew = matches!(
                    response,
                    notify_rust::NotificationResponse::Action(action) if action == RENEW
                );
            });
            let _ = tokio::time::timeout(ACTION_WAIT, pressed).await;
            drop(permit);
            if renew {
                on_renew().await;
            }
        }
        Err(err) => tracing::warn!("could not show a notification ({err}): {summary}"),
    }
}

/// Elsewhere the button is not waited for: the notification says what to do.
#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn with_renew<F: Future<Output = ()>>(
    summary: String,
    body: String,
    _waiting: Arc<Semaphore>,
    _on_renew: impl FnOnce() -> F,
) {
    failure(&summary, &body);
}
