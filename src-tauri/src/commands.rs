//! The settings window's commands: each forwards one action to the engine, or asks it for the
//! window's view. Errors cross as `{code, message}`: the window shows the message and branches
//! on the code only.

use std::sync::Mutex;

use rolecall_core::endpoints::{EndpointSave, PreferencesPatch, SettingsView};
use rolecall_core::engine::{Action, Engine, EngineError, Phase, Status};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{Manager as _, State};

/// What the settings window needs: the engine, whose settings it changes.
pub struct SettingsWindow {
    pub engine: Engine,
}

/// What the window branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// What the person entered was refused; the message says what to change.
    InvalidInput,
    /// Only the person can go on, in the IdP's own pages (Sign in from the tray).
    NeedsPerson,
    /// Anything else; the message says what happened and what to do.
    Failed,
}

#[derive(Debug, Serialize)]
pub struct CommandError {
    code: ErrorCode,
    message: String,
}

impl From<EngineError> for CommandError {
    fn from(err: EngineError) -> Self {
        let code = match &err {
            EngineError::Endpoint(err) if err.is_invalid_input() => ErrorCode::InvalidInput,
            EngineError::NoEndpoint { .. } => ErrorCode::InvalidInput,
            EngineError::NeedsPerson { .. } => ErrorCode::NeedsPerson,
            _ => ErrorCode::Failed,
        };
        Self {
            code,
            message: err.to_string(),
        }
    }
}

/// The window's view, with the demo's note when this is the demo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowView {
    #[serde(flatten)]
    view: SettingsView,
    /// Set in the demo: the banner saying so and where its files are.
    demo: Option<String>,
}

async fn view(app: &tauri::AppHandle, engine: &Engine) -> Result<WindowView, CommandError> {
    Ok(WindowView {
        view: engine.settings_view().await?,
        demo: match &app.state::<crate::Shell>().mode {
            crate::AppMode::Demo(guide) => Some(guide.banner()),
            crate::AppMode::Normal => None,
        },
    })
}

/// Sends the window a new view whenever the engine's snapshot changes, until the window is
/// gone or asks again (a reload).
#[derive(Default)]
struct ViewUpdates(Mutex<Option<tauri::async_runtime::JoinHandle<()>>>);

impl Drop for ViewUpdates {
    fn drop(&mut self) {
        if let Some(task) = self.0.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

fn send_updates(app: &tauri::AppHandle, engine: &Engine, updates: Channel<WindowView>) {
    let mut snapshots = engine.subscribe();
    let (app_handle, engine) = (app.clone(), engine.clone());
    let task = tauri::async_runtime::spawn(async move {
        let mut shown: Option<Status> = None;
        while snapshots.changed().await.is_ok() {
            let status = snapshots.borrow_and_update().clone();
            // The engine publishes after every renewal look, mostly with nothing new.
            if shown.as_ref() == Some(&status) {
                continue;
            }
            shown = Some(status);
            let Ok(view) = view(&app_handle, &engine).await else {
                continue;
            };
            if updates.send(view).is_err() {
                break;
            }
        }
    });
    app.manage(ViewUpdates::default());
    let previous = app
        .state::<ViewUpdates>()
        .0
        .lock()
        .ok()
        .and_then(|mut running| running.replace(task));
    if let Some(previous) = previous {
        previous.abort();
    }
}

/// The window's view; later views arrive on `updates` as the engine's state changes.
#[tauri::command]
pub async fn settings_view(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
    updates: Channel<WindowView>,
) -> Result<WindowView, CommandError> {
    send_updates(&app, &state.engine, updates);
    view(&app, &state.engine).await
}

/// Adds an endpoint or changes one, its password among it.
#[tauri::command]
pub async fn save_endpoint(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
    request: EndpointSave,
) -> Result<WindowView, CommandError> {
    let renamed_from = match &request {
        EndpointSave::Edit(edit) => edit
            .new_name
            .as_ref()
            .filter(|new| new.trim() != edit.name)
            .map(|_| edit.name.clone()),
        EndpointSave::Add(_) => None,
    };
    state
        .engine
        .act(Action::SaveEndpoint(request))
        .await
        .map_err(CommandError::from)?;
    if let Some(old) = renamed_from {
        // The data moved with the name; a sign-in window or web context of this run may still
        // hold the old name's cookies.
        forget_window(&app, &old).await;
    }
    view(&app, &state.engine).await
}

#[tauri::command]
pub async fn remove_endpoint(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
    name: String,
) -> Result<WindowView, CommandError> {
    state
        .engine
        .act(Action::RemoveEndpoint { name: name.clone() })
        .await
        .map_err(CommandError::from)?;
    forget_window(&app, &name).await;
    view(&app, &state.engine).await
}

/// Closes the endpoint's sign-in window and clears what this run's webview keeps of it.
async fn forget_window(app: &tauri::AppHandle, name: &str) {
    if let Err(err) =
        crate::signin_window::forget(app, name, crate::signin_window::Forget::Everything).await
    {
        tracing::warn!("could not clear the sign-in window of {name:?}: {err}");
    }
}

/// Signs in to the endpoint and says how many roles it found.
#[tauri::command]
pub async fn test_endpoint(
    state: State<'_, SettingsWindow>,
    name: String,
) -> Result<String, CommandError> {
    let engine = &state.engine;
    engine
        .act(Action::SignIn {
            endpoint: name.clone(),
        })
        .await?;
    let status = engine.status();
    let Some(endpoint) = status.endpoints.iter().find(|e| e.name == name) else {
        return Err(EngineError::NoEndpoint { name }.into());
    };
    let roles: usize = endpoint.accounts.iter().map(|a| a.roles.len()).sum();
    Ok(match &endpoint.phase {
        Phase::SignedIn { session_name } => format!(
            "Signed in as {session_name}: {roles} role{} in {} account{}.",
            if roles == 1 { "" } else { "s" },
            endpoint.accounts.len(),
            if endpoint.accounts.len() == 1 {
                ""
            } else {
                "s"
            },
        ),
        _ => "The sign-in did not finish.".to_owned(),
    })
}

/// Changes the preferences the person changed, and only those.
#[tauri::command]
pub async fn save_preferences(
    app: tauri::AppHandle,
    state: State<'_, SettingsWindow>,
    patch: PreferencesPatch,
) -> Result<WindowView, CommandError> {
    state
        .engine
        .act(Action::SetPreferences(patch))
        .await
        .map_err(CommandError::from)?;
    view(&app, &state.engine).await
}

#[tauri::command]
pub async fn set_favourite(
    state: State<'_, SettingsWindow>,
    role_arn: String,
    on: bool,
) -> Result<(), CommandError> {
    Ok(state.engine.act(Action::Favourite { role_arn, on }).await?)
}

/// The region of an account's profiles; an empty region goes back to the default.
#[tauri::command]
pub async fn set_region(
    state: State<'_, SettingsWindow>,
    account_id: String,
    region: String,
) -> Result<(), CommandError> {
    let region = Some(region.trim().to_owned()).filter(|region| !region.is_empty());
    Ok(state
        .engine
        .act(Action::Region {
            key: account_id,
            region,
        })
        .await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use rolecall_core::endpoints::EndpointSave;

    #[test]
    fn the_endpoint_form_never_prints_its_password() {
        let request: EndpointSave = serde_json::from_value(serde_json::json!({
            "kind": "add",
            "name": "corp",
            "url": "https://sts.corp.example",
            "method": "forms",
            "username": "alice",
            "ca_file": null,
            "password": "hunter2",
        }))
        .unwrap();
        let printed = format!("{request:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    /// The window branches on the code: a refused input stays in its form.
    #[test]
    fn a_refused_input_crosses_as_invalid_input() {
        let err = CommandError::from(EngineError::NoEndpoint {
            name: "corp".to_owned(),
        });
        assert_eq!(
            serde_json::to_value(&err).unwrap()["code"],
            serde_json::json!("invalid_input")
        );
    }
}
