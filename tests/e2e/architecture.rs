//! The rules of the workspace's shape that a compiler does not check.

use std::process::Command;

/// The core stays GUI-free: no tauri (or its webview and windowing crates) anywhere in its
/// normal or build dependencies, so the engine is testable without a display.
#[test]
fn core_never_depends_on_tauri() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "rolecall-core",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        tree.contains("rolecall-core"),
        "cargo tree printed no core: {tree}"
    );
    let forbidden: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or_default();
            name.starts_with("tauri")
                || ["wry", "tao", "webkit2gtk", "gtk", "muda", "tray-icon"].contains(&name)
        })
        .collect();
    assert!(
        forbidden.is_empty(),
        "rolecall-core must not depend on GUI crates, but pulls in: {forbidden:?}"
    );
}
