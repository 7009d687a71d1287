//! The command line runs without a display and speaks about the sandbox it was given.

use rolecall_tests::{Sandbox, rolecall_binary};

#[test]
fn help_runs_without_a_display() {
    let sandbox = Sandbox::new();
    // The sandbox's command has no DISPLAY and no session bus: creating a window would fail.
    let output = sandbox
        .command(rolecall_binary())
        .arg("--help")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "--help failed: {output:?}");
    assert!(stdout.contains("Usage: rolecall"), "{stdout}");
    assert!(
        stdout.contains("paths"),
        "--help should list the subcommands: {stdout}"
    );
}

#[test]
fn paths_point_into_the_sandbox() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command(rolecall_binary())
        .args(["paths", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "paths failed: {output:?}");
    let paths: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        paths["config_dir"].as_str(),
        sandbox.config_dir().to_str(),
        "the config dir follows XDG_CONFIG_HOME"
    );
    assert_eq!(
        paths["aws_credentials_file"].as_str(),
        sandbox.aws_credentials_file().to_str()
    );
    assert_eq!(
        paths["aws_config_file"].as_str(),
        sandbox.aws_config_file().to_str()
    );
}

#[test]
fn paths_without_home_says_what_to_do() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command(rolecall_binary())
        .arg("paths")
        .env_remove("HOME")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing HOME is a usage error: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HOME is not set"), "{stderr}");
    assert!(
        stderr.contains("ROLECALL_CONFIG_DIR"),
        "the message should say what to set: {stderr}"
    );
}

/// `endpoint add --trust-host` lists the other hosts that may get the endpoint's secrets: kept
/// as host names in the settings file, shown by `endpoint list`, and anything else is refused.
#[test]
fn endpoint_add_keeps_the_hosts_the_person_trusts() {
    let sandbox = Sandbox::new();
    let run = |args: &[&str]| {
        sandbox
            .command(rolecall_binary())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let added = run(&[
        "endpoint",
        "add",
        "corp",
        "--url",
        "sts.corp.example",
        "--trust-host",
        "Login.Corp.Example",
        "--trust-host",
        "10.0.0.7",
    ]);
    assert!(added.status.success(), "{added:?}");
    let settings = std::fs::read_to_string(sandbox.config_dir().join("settings.toml")).unwrap();
    assert!(
        settings.contains(r#"trusted_hosts = ["login.corp.example", "10.0.0.7"]"#),
        "{settings}"
    );
    let listed = run(&["endpoint", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("also trusts login.corp.example, 10.0.0.7"),
        "{text}"
    );

    let refused = run(&[
        "endpoint",
        "add",
        "lab",
        "--url",
        "sts.lab.example",
        "--trust-host",
        "https://evil.example/",
    ]);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{message}");
    assert!(message.contains("is not a host name"), "{message}");
}
