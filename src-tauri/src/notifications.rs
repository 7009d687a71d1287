//! The engine's notices for the person: expiry warnings and failed renewals become
//! notifications ([`crate::alert`]), in the words the core gives them; a background renewal
//! that meets the IdP's own pages tries them in a window that never shows.

use rolecall_core::engine::Notice;
use rolecall_core::tray_menu;
use rolecall_core::webview::Visibility;
use tauri::{AppHandle, Manager};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{Shell, signin_window};

/// Shows every notice the engine sends until the engine is gone.
pub async fn show_all(app: AppHandle, mut notices: UnboundedReceiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        let shell = app.state::<Shell>();
        match &notice {
            Notice::TrySilently { endpoint, url } => match url::Url::parse(url) {
                Ok(url) => signin_window::open(&app, endpoint, url, Visibility::Never),
                Err(err) => tracing::warn!("no silent sign-in for {endpoint:?}: {err}"),
            },
            _ => {
                if let Some(toast) = tray_menu::toast(&notice, shell.engine.config().clock.now()) {
                    shell.alerts.show(toast);
                }
            }
        }
    }
}
