//! Desktop notifications: expiry warnings with a "Renew" button, and failures with their reason.
//!
//! notify-rust talks to the desktop's notification server (D-Bus on Linux). A desktop without
//! one answers `show()` with an error: that is logged and never fatal, since the tray still shows
//! the state. Waiting for a button press blocks, so each notification with an action gets its
//! own thread.

use rolecall_core::engine::{Action, Engine, EngineError, Notice};
use rolecall_core::refresh::WarningKind;
use tauri::AppHandle;
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedReceiver;

const APP_NAME: &str = "Rolecall";
/// The action id of the "Renew" button.
const RENEW: &str = "renew";

/// Shows every notice the engine sends until the engine is gone.
pub fn spawn(app: AppHandle, mut notices: UnboundedReceiver<Notice>, engine: Engine) {
    tauri::async_runtime::spawn(async move {
        while let Some(notice) = notices.recv().await {
            let engine = engine.clone();
            let app = app.clone();
            std::thread::spawn(move || show(&app, &notice, &engine));
        }
    });
}

fn show(app: &AppHandle, notice: &Notice, engine: &Engine) {
    match notice {
        Notice::Expiry(warning) => {
            let minutes = (warning.expiration - OffsetDateTime::now_utc())
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
            with_renew(&summary, &body, || {
                tauri::async_runtime::block_on(async {
                    match engine.act(Action::SignIn { endpoint }).await {
                        Ok(()) => {}
                        // Renew was pressed: the person is there for the IdP's pages. The
                        // profiles follow once the window has signed in.
                        Err(EngineError::NeedsPerson { endpoint, .. }) => {
                            if !crate::signin_window::open_where_needed(
                                app,
                                engine.clone(),
                                &endpoint,
                            ) {
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
                });
            });
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

/// A notification that says something went wrong and why.
pub fn failure(summary: &str, body: &str) {
    let shown = notify_rust::Notification::new()
        .appname(APP_NAME)
        .summary(summary)
        .body(body)
        .show();
    if let Err(err) = shown {
        tracing::warn!("could not show a notification ({err}): {summary}: {body}");
    }
}

fn with_renew(summary: &str, body: &str, on_renew: impl FnOnce()) {
    let shown = notify_rust::Notification::new()
        .appname(APP_NAME)
        .summary(summary)
        .body(body)
        .action(RENEW, "Renew")
        .show();
    match shown {
        #[cfg(all(unix, not(target_os = "macos")))]
        Ok(handle) => {
            let mut renew = false;
            handle.wait_for_action(|action| renew = action == RENEW);
            if renew {
                on_renew();
            }
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        Ok(_) => {
            let _ = on_renew;
        }
        Err(err) => tracing::warn!("could not show a notification ({err}): {summary}"),
    }
}
