//! Switching roles as a person does it all day, in the real app under a real panel
//! (xfce4-panel): a click on the icon opens the menu, the keyboard walks to a role in the
//! account's submenu (icon → account → role) and Return uses it; the AWS credentials file's
//! active profile then holds that role. Screenshots keep the menu signed out, signed in with a
//! role in use, and the account's submenu after the switch.

use std::time::Duration;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::bus::TrayItem;
use rolecall_tests::keyring::{SecretService, SessionBus};
use rolecall_tests::{Desktop, Sandbox, eventually};

use crate::webview::screenshots_dir;

const LIMIT: Duration = Duration::from_secs(90);

fn labels(desktop: &Desktop, item: &TrayItem, path: &[&str]) -> Vec<String> {
    (desktop.submenu(item, path).into_iter())
        .map(|entry| entry.label)
        .collect()
}

/// The label in the submenu at `path` that starts with `start` (time left follows a name).
fn label_of(desktop: &Desktop, item: &TrayItem, path: &[&str], start: &str) -> String {
    eventually(LIMIT, || {
        labels(desktop, item, path)
            .into_iter()
            .find(|label| label.starts_with(start))
    })
    .unwrap_or_else(|| {
        panic!(
            "no {start:?} in {path:?}: {:?}",
            labels(desktop, item, path)
        )
    })
}

/// The role the active profile "default" holds, from the AWS credentials file.
fn default_role(sandbox: &Sandbox) -> Option<String> {
    let text = std::fs::read_to_string(sandbox.aws_credentials_file()).ok()?;
    let section = text.split("[default]").nth(1)?.split("\n[").next()?;
    section
        .lines()
        .find_map(|line| line.strip_prefix("x_principal_arn = "))
        .and_then(|arn| arn.split('/').nth(1))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_is_switched_to_with_a_click_in_its_account() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let _service = SecretService::start_on(
            &sandbox,
            SessionBus::existing(desktop.bus_address()),
            "login password",
        );
        desktop.add_corp_endpoint(&sandbox, &url, DEMO_PASSWORD);
        let panel = desktop.start_panel();
        let (mut app, item) = desktop.start_tray(&sandbox, &sts, LIMIT);
        let shots = screenshots_dir();

        // Signed out: the only endpoint's Sign in is at the top.
        panel.walk_to(&desktop, &item, &["Sign in to corp"]);
        panel.screenshot(&shots.join("tray-signed-out.png"));
        panel.press(&["Return"]);
        let account = label_of(&desktop, &item, &[], "corp-prod (");

        // Icon → account → role, and Return.
        panel.walk_to(&desktop, &item, &[&account, "Admin"]);
        panel.press(&["Return"]);
        eventually(LIMIT, || {
            (default_role(&sandbox).as_deref() == Some("Admin")).then_some(())
        })
        .expect("the role chosen is in the active profile");
        label_of(&desktop, &item, &[], "default: Admin — ");

        // Signed in, the role in use: the menu's top shows it, its entries and the roles used.
        let used = label_of(&desktop, &item, &[], "corp-prod / Admin (");
        panel.walk_to(&desktop, &item, &[&used]);
        panel.screenshot(&shots.join("tray-signed-in.png"));
        panel.press(&["Escape"]);

        // Another role of the account, the same way.
        panel.walk_to(&desktop, &item, &[&account, "ReadOnly"]);
        panel.press(&["Return"]);
        eventually(LIMIT, || {
            (default_role(&sandbox).as_deref() == Some("ReadOnly")).then_some(())
        })
        .expect("the active profile now holds the other role");
        label_of(&desktop, &item, &[], "default: ReadOnly — ");
        let read_only = label_of(&desktop, &item, &[&account], "ReadOnly (");
        let checked: Vec<(String, Option<bool>)> = (desktop.submenu(&item, &[&account]))
            .into_iter()
            .filter(|entry| entry.checked.is_some())
            .map(|entry| (entry.label, entry.checked))
            .collect();
        assert_eq!(
            checked.iter().filter(|(_, on)| *on == Some(true)).count(),
            1,
            "one role checked: {checked:?}"
        );
        assert!(
            checked.contains(&(read_only.clone(), Some(true))),
            "{checked:?}"
        );
        panel.walk_to(&desktop, &item, &[&account, &read_only]);
        panel.screenshot(&shots.join("tray-role-in-use.png"));
        panel.press(&["Escape", "Escape"]);

        desktop.click(&item, "Quit Rolecall");
        assert!(
            app.wait_for_exit(LIMIT)
                .is_some_and(|status| status.success())
        );
    });
    work.await.unwrap();
}
