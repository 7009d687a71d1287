//! The settings window: created on demand, brought forward if it is already open.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

pub const LABEL: &str = "settings";

/// Shows the settings window, creating it if needed.
pub fn show(app: &AppHandle) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(LABEL) {
        window.unminimize()?;
        window.show()?;
        window.set_focus()?;
        return Ok(());
    }
    WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title("Rolecall settings")
        .inner_size(720.0, 560.0)
        .min_inner_size(480.0, 360.0)
        .center()
        .focused(true)
        .build()?;
    Ok(())
}
