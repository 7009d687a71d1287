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
    // Two endpoints, each a submenu: a role is a click in its account's.
    desktop.click_path(&item, &["demo", &account, "Admin"]);

    let credentials = folder.join("credentials");
    eventually(LIMIT, || {
        std::fs::read_to_string(&credentials)
            .ok()
            .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
    })
    .expect("a click on the role writes the default profile into the demo folder");
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

/// The demo's sign-in window endpoint, as a newcomer meets it: the tray's first lines say whom
/// to type, the window shows the stand-in AD FS page, and typing and clicking alone (no
/// script) signs bob in, passcode and all. The README's sign-in window pictures come from here.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_signs_bob_in_through_the_sign_in_window_by_typing_and_clicking() {
    use crate::webview::{app_pid, screenshots_dir, start_driver};

    let runtime = tokio::runtime::Handle::current();
    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let application = rolecall_binary().with_file_name("rolecall-tray");
        let (_driver_process, driver) = start_driver(&desktop, &sandbox, runtime, &[]);
        std::thread::scope(|scope| {
            // The session attaches to the app's first webview, which Sign in opens.
            let session = scope.spawn(|| {
                driver.new_session_with(serde_json::json!({
                    "browserName": "wry",
                    "tauri:options": {"application": application, "args": ["--demo"]},
                }))
            });
            let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                .expect("WebKitWebDriver starts the demo");
            let item: TrayItem =
                eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");

            // What to type, read off the menu as a person reads it.
            let top = labels(desktop.menu(&item));
            let guide = top
                .iter()
                .find_map(|label| label.strip_prefix("demo-window: type "))
                .unwrap_or_else(|| panic!("the tray's first lines say whom to type: {top:?}"));
            let [user, password, passcode]: [&str; 3] = guide
                .split(", ")
                .map(|part| part.strip_prefix("passcode ").unwrap_or(part))
                .collect::<Vec<_>>()
                .try_into()
                .unwrap_or_else(|_| panic!("user, password, passcode in {guide:?}"));
            assert_eq!(user, "bob");

            desktop.click_path(&item, &["demo-window", "Sign in"]);
            let session = session.join().expect("the WebDriver session starts");
            let handle = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Sign In")
                })
            })
            .expect("the sign-in window shows the stand-in AD FS page");
            session.switch_to(&handle);
            eventually(LIMIT, || {
                desktop
                    .visible_window_titles()
                    .iter()
                    .any(|title| title == "Sign in to demo-window — Rolecall")
                    .then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "the sign-in window is on the screen: {:?}",
                    desktop.visible_window_titles()
                )
            });
            let screenshots = screenshots_dir();
            session.click("#userNameInput");
            session.type_into("#userNameInput", user);
            session.type_into("#passwordInput", password);
            assert_eq!(session.value("#userNameInput"), user, "the name is typed");
            session.screenshot(&screenshots.join("signin-window-login.png"));
            session.click("#submitButton");

            session.find("#passcodeInput");
            session.type_into("#passcodeInput", passcode);
            assert_eq!(
                session.value("#passcodeInput"),
                passcode,
                "the passcode is typed"
            );
            session.screenshot(&screenshots.join("signin-window-mfa.png"));
            session.click("#submitButton");

            eventually(LIMIT, || {
                (!session.window_handles().contains(&handle)).then_some(())
            })
            .expect("the window closes once the SAML response is taken");
            eventually(LIMIT, || {
                labels(desktop.submenu(&item, &["demo-window"]))
                    .contains(&"Signed in as bob@corp.example".to_owned())
                    .then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "bob is signed in: {:?}",
                    labels(desktop.submenu(&item, &["demo-window"]))
                )
            });
            assert!(
                labels(desktop.submenu(&item, &["demo-window"]))
                    .iter()
                    .any(|label| label.ends_with("(111122223333)")),
                "his accounts are listed"
            );
            drop(session);
            desktop.click(&item, "Quit Rolecall");
        });
    });
    work.await.unwrap();
}
