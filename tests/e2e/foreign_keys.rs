//! Keys Rolecall did not write stay where they are: a person's `aws configure`d IAM user keys in
//! `[default]` and a hand-written profile whose name the template would give. The real AWS CLI
//! writes the files, the real `rolecall` runs against `rolecall-sim`.

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::{Sandbox, rolecall_binary};

const USER_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const USER_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

async fn rolecall(sandbox: &Arc<Sandbox>, sim: &Sim, extra: &[&str]) -> Output {
    let url = sim.sign_on_url().to_string();
    let mut command = sandbox.command(rolecall_binary());
    command
        .args([
            "login",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
        ])
        .args(extra)
        .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
        .env("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str());
    let keep = Arc::clone(sandbox);
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

/// `aws configure set KEY VALUE --profile PROFILE`, the real AWS CLI on the sandbox's files.
fn aws_configure_set(sandbox: &Sandbox, key: &str, value: &str, profile: &str) {
    let output = sandbox
        .command("aws")
        .args(["configure", "set", key, value, "--profile", profile])
        .stdin(Stdio::null())
        .output()
        .expect("the AWS CLI (the venv of scripts/setup first on PATH)");
    assert!(
        output.status.success(),
        "aws configure set {key}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn configure_user_keys(sandbox: &Sandbox, profile: &str) {
    aws_configure_set(sandbox, "aws_access_key_id", USER_KEY, profile);
    aws_configure_set(sandbox, "aws_secret_access_key", USER_SECRET, profile);
    aws_configure_set(sandbox, "region", "us-east-1", profile);
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn login_refuses_to_overwrite_keys_that_aws_configure_wrote() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    configure_user_keys(&sandbox, "default");
    let credentials = bytes(&sandbox.aws_credentials_file());
    let config = bytes(&sandbox.aws_config_file());
    assert!(String::from_utf8_lossy(&credentials).contains(USER_KEY));

    // No settings yet: the active profile is `default`.
    let output = rolecall(&sandbox, &sim, &["--role", "corp-prod/Admin"]).await;

    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in [
        "\"default\"",
        "long-term access key",
        "--profile",
        "another profile",
    ] {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
    assert_eq!(bytes(&sandbox.aws_credentials_file()), credentials);
    assert_eq!(bytes(&sandbox.aws_config_file()), config);
    assert_eq!(sim.stats().sts_calls, 0, "refused before assuming the role");

    // Another profile, as the sentence says, works and leaves the keys alone.
    let output = rolecall(
        &sandbox,
        &sim,
        &["--role", "corp-prod/Admin", "--profile", "work"],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let after = String::from_utf8(bytes(&sandbox.aws_credentials_file())).unwrap();
    assert!(
        after.starts_with(std::str::from_utf8(&credentials).unwrap()),
        "{after}"
    );
    assert!(after.contains("[work]"), "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn all_roles_give_a_hand_written_profile_name_to_no_role() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    configure_user_keys(&sandbox, "corp-prod-Admin");
    let credentials = String::from_utf8(bytes(&sandbox.aws_credentials_file())).unwrap();

    let output = rolecall(&sandbox, &sim, &["--all-roles"]).await;

    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("corp-prod-Admin-2: arn:aws:iam::111122223333:role/Admin"),
        "the colliding role gets the next free name: {stdout}"
    );
    let after = String::from_utf8(bytes(&sandbox.aws_credentials_file())).unwrap();
    assert!(after.starts_with(&credentials), "{after}");
    let sections = after.lines().filter(|line| line.starts_with('[')).count();
    assert_eq!(
        sections,
        1 + 5,
        "the hand-written profile and alice's five: {after}"
    );
}

async fn credential_process(sandbox: &Arc<Sandbox>, sim: &Sim, profile: &str) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(["credential-process", "--profile", profile])
        .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
        .env("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str());
    let keep = Arc::clone(sandbox);
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

/// Rolecall wrote `work`; then `aws configure set` put an IAM user key into it (beside
/// Rolecall's session token and expiry). `credential-process` must neither hand out that mix
/// nor renew over the key.
#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_refuses_a_profile_whose_key_aws_configure_replaced() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let output = rolecall(
        &sandbox,
        &sim,
        &["--role", "corp-prod/Admin", "--profile", "work"],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    aws_configure_set(&sandbox, "aws_access_key_id", USER_KEY, "work");
    aws_configure_set(&sandbox, "aws_secret_access_key", USER_SECRET, "work");
    let credentials = bytes(&sandbox.aws_credentials_file());
    let config = std::fs::read(sandbox.aws_config_file()).ok();
    let calls = sim.stats().sts_calls;

    let output = credential_process(&sandbox, &sim, "work").await;

    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"work\"") && stderr.contains("long-term access key"),
        "{stderr}"
    );
    assert_eq!(bytes(&sandbox.aws_credentials_file()), credentials);
    assert_eq!(std::fs::read(sandbox.aws_config_file()).ok(), config);
    assert_eq!(
        sim.stats().sts_calls,
        calls,
        "refused before assuming the role"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_registry_is_an_error_that_names_it() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let registry = sandbox.config_dir().join("profiles.json");
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(&registry, "{\"work\": {").unwrap();

    let output = rolecall(
        &sandbox,
        &sim,
        &["--role", "corp-prod/Admin", "--profile", "work"],
    )
    .await;

    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&registry.display().to_string()) && stderr.contains("move it away"),
        "{stderr}"
    );
    assert_eq!(bytes(&registry), b"{\"work\": {");
    assert!(!sandbox.aws_credentials_file().exists());
}
