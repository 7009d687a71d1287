//! Tauri's build step, with the app's commands in the ACL: each command gets an `allow-…`
//! permission, and only a capability can grant it. `capabilities/settings.json` grants them to
//! the local `settings` window alone, so no other window (a sign-in window showing an IdP's
//! pages, even if one of them reached the app's own origin) may call any.

/// Every command of `tauri::generate_handler!` in `src/app.rs`; a test keeps the lists equal.
const COMMANDS: &[&str] = &[
    "settings_view",
    "save_endpoint",
    "remove_endpoint",
    "test_endpoint",
    "save_preferences",
    "set_favourite",
    "set_region",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(err) = tauri_build::try_build(attributes) {
        eprintln!("the Tauri build step failed: {err:#}");
        std::process::exit(1);
    }
}
