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

/// The AWS CLI starts `rolecall credential-process` before every call: loading GTK and WebKit
/// would cost it most of 100 ms, so the command-line binary must not link them (the tray app
/// is `rolecall-tray`).
#[cfg(target_os = "linux")]
#[test]
fn the_command_line_binary_links_no_gui_library() {
    let output = Command::new("ldd")
        .arg(rolecall_tests::rolecall_binary())
        .output()
        .expect("ldd (Debian package libc-bin)");
    let libraries = String::from_utf8_lossy(&output.stdout);
    for gui in [
        "libgtk",
        "libwebkit",
        "libjavascriptcore",
        "libgdk",
        "libayatana",
    ] {
        assert!(
            !libraries.contains(gui),
            "rolecall links {gui}; keep the GUI in rolecall-tray:\n{libraries}"
        );
    }
}
