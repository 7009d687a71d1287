//! A newcomer's first five minutes: exactly what the README's first command runs
//! (`rolecall --demo`), on a private desktop, with nothing set up beforehand. The demo prints
//! its folder; signing in from the tray and using a role writes a profile there that the AWS
//! CLI accepts against the demo's STS, and nothing lands in the person's own AWS files.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rolecall_tests::bus::{MenuEntry, TrayItem};
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};

const LIMIT: Duration = Duration::from_secs(90);

fn labels(entries: Vec<MenuEntry>) -> Vec<String> {
    entries.into_iter().map(|entry| entry.label).collect()
}

/// The value of the first line of `path` that starts with `prefix`, once it is there.
fn printed(path: &Path, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(prefix).map(str::to_owned))
}

#[test]
fn the_demo_signs_in_and_writes_a_profile_the_aws_cli_accepts() {
    let sandbox = Sandbox::new();
    let desktop = Desktop::start();
    let out = sandbox.root().join("demo.out");
    let mut command = desktop.command(&sandbox, rolecall_binary());
    command
        .arg("--demo")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(sandbox.root().join("demo.err")).unwrap());
    let mut app = Running::spawn(&mut command);

    let folder = PathBuf::from(
        eventually(LIMIT, || {
            assert!(
                app.is_running(),
                "the demo exited: {:?}",
                std::fs::read_to_string(sandbox.root().join("demo.err"))
            );
            printed(&out, "Demo files: ")
        })
        .expect("the demo prints `Demo files: <folder>`"),
    );
    assert_eq!(
        folder,
        sandbox.home().join(".cache/rolecall/demo"),
        "the demo's folder is in the user's cache folder (here the sandbox's XDG_CACHE_HOME)"
    );
    let sts = printed(&out, "Demo STS: ").expect("the demo prints its STS URL");
    assert!(sts.starts_with("http://127.0.0.1:"), "{sts}");

    let item: TrayItem = eventually(LIMIT, || {
        assert!(app.is_running(), "the demo exited");
        desktop.tray_item_of(app.pid())
    })
    .expect("the tray item appears");
    let top = labels(desktop.menu(&item));
    assert!(
        top.contains(&format!("Demo — files in {}", folder.display())),
        "the menu says it is the demo and where its files are: {top:?}"
    );
    assert_eq!(labels(desktop.submenu(&item, &["demo"])), ["Sign in"]);

    desktop.click_path(&item, &["demo", "Sign in"]);
    let account = eventually(LIMIT, || {
        labels(desktop.submenu(&item, &["demo"]))
            .into_iter()
            .find(|label| label.ends_with("(111122223333)"))
    })
    .expect("Sign in needs nothing more in the demo: the accounts are listed");
    desktop.click_path(&item, &["demo", &account, "Admin", "Use as \"default\""]);

    let credentials = folder.join("credentials");
    eventually(LIMIT, || {
        std::fs::read_to_string(&credentials)
            .ok()
            .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
    })
    .expect("Use writes the default profile into the demo folder");
    assert!(
        !sandbox.aws_credentials_file().exists() && !sandbox.aws_config_file().exists(),
        "the demo must not write the person's own AWS files (AWS_SHARED_CREDENTIALS_FILE \
         pointed there)"
    );
    assert!(
        !sandbox.config_dir().exists(),
        "the demo must not write the person's own Rolecall settings"
    );

    // What the demo prints to try the profile, run as printed.
    let env_file = folder.join("env.sh");
    let output = sandbox
        .command("sh")
        .arg("-c")
        .arg(format!(
            ". '{}' && aws sts get-caller-identity --profile default --output json",
            env_file.display()
        ))
        .stdin(Stdio::null())
        .output()
        .expect("sh and the AWS CLI (scripts/test puts the venv's `aws` on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the AWS CLI accepts the demo's profile against the demo STS: {output:?}"
    );
    let identity: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(identity["Account"], "111122223333", "{identity}");
    assert!(
        identity["Arn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":assumed-role/Admin/alice@corp.example")),
        "{identity}"
    );

    desktop.click(&item, "Quit Rolecall");
    assert!(
        app.wait_for_exit(LIMIT)
            .is_some_and(|status| status.success())
    );
}
