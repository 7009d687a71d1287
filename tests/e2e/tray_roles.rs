//! The tray as a person uses it: an endpoint and its password set up from the command line,
//! then, in the real app on a private desktop, Sign in, the accounts and roles appear, and a
//! click on a role writes the active profile; after a restart the roles used last are at the
//! top. The password lives in a real Secret Service on the desktop's bus.

use std::time::Duration;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::bus::TrayItem;
use rolecall_tests::keyring::{SecretService, SessionBus};
use rolecall_tests::{Desktop, Sandbox, eventually};

const LIMIT: Duration = Duration::from_secs(90);

fn labels(entries: Vec<rolecall_tests::bus::MenuEntry>) -> Vec<String> {
    entries.into_iter().map(|entry| entry.label).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_and_use_a_role_from_the_tray() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let service = SecretService::start_on(
            &sandbox,
            SessionBus::existing(desktop.bus_address()),
            "login password",
        );
        desktop.add_corp_endpoint(&sandbox, &url, DEMO_PASSWORD);
        assert_eq!(
            service.count_items(&[("service", "rolecall"), ("username", "password:corp")]),
            1,
            "the password is in the keyring"
        );

        let (mut app, item) = desktop.start_tray(&sandbox, &sts, LIMIT);

        let top = labels(desktop.menu(&item));
        assert!(
            top.contains(&"Sign in to corp".to_owned()),
            "the only endpoint's Sign in is at the top: {top:?}"
        );

        desktop.click(&item, "Sign in to corp");
        let account = account_of(&desktop, &item);
        let top = labels(desktop.menu(&item));
        assert!(
            top.contains(&"Signed in as alice@corp.example".to_owned())
                && top.contains(&"All roles → profiles".to_owned())
                && top.contains(&"Sign out of corp".to_owned()),
            "{top:?}"
        );
        let roles = labels(desktop.submenu(&item, &[&account]));
        assert_eq!(
            roles,
            ["Admin", "ReadOnly", "", "More"],
            "roles sorted by name, then what else they offer"
        );

        // A click on a role, two levels from the icon, makes it the active profile's.
        desktop.click_path(&item, &[&account, "Admin"]);
        let credentials = sandbox.aws_credentials_file();
        eventually(LIMIT, || {
            std::fs::read_to_string(&credentials)
                .ok()
                .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
        })
        .expect("a click on the role writes the active profile");
        let status = eventually(LIMIT, || {
            labels(desktop.menu(&item))
                .into_iter()
                .find(|label| label.starts_with("default: Admin —"))
        })
        .expect("the status line shows the active role and its time left");
        assert!(status.contains("min left"), "{status}");
        let admin = checked_role(&desktop, &item, &[&account], "Admin (");
        assert_eq!(admin, Some(true), "the active role is checked");

        desktop.click_path(&item, &[&account, "ReadOnly"]);
        eventually(LIMIT, || {
            labels(desktop.menu(&item))
                .into_iter()
                .find(|label| label.starts_with("default: ReadOnly —"))
        })
        .expect("another click switches the role");
        assert_eq!(
            checked_role(&desktop, &item, &[&account], "Admin"),
            Some(false),
            "one role is checked at a time"
        );
        // (AppIndicator has no tooltips on Linux: the status line is the menu's first entry.)
        desktop.click(&item, "Quit Rolecall");
        assert!(
            app.wait_for_exit(LIMIT)
                .is_some_and(|status| status.success())
        );

        // The log a person sends says what happened and holds no secret of the sign-in.
        let log = std::fs::read_to_string(
            sandbox
                .home()
                .join(".local/state/rolecall/rolecall-tray.log"),
        )
        .unwrap();
        let written = std::fs::read_to_string(&credentials).unwrap();
        let secrets: Vec<&str> = written
            .lines()
            .filter_map(|line| line.split_once(" = ").map(|(_, value)| value))
            .chain([DEMO_PASSWORD])
            .collect();
        for secret in secrets {
            assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
        }

        // After a restart and a sign-in, the roles used last are at the top, newest first,
        // each one click.
        let (mut app, item) = desktop.start_tray(&sandbox, &sts, LIMIT);
        desktop.click(&item, "Sign in to corp");
        account_of(&desktop, &item);
        let recent: Vec<String> = labels(desktop.menu(&item))
            .into_iter()
            .filter(|label| label.starts_with("corp-prod / "))
            .collect();
        assert!(
            recent.len() == 2
                && recent[0].starts_with("corp-prod / ReadOnly (")
                && recent[1] == "corp-prod / Admin",
            "{recent:?}"
        );
        desktop.click(&item, &recent[1]);
        eventually(LIMIT, || {
            labels(desktop.menu(&item))
                .into_iter()
                .find(|label| label.starts_with("default: Admin —"))
        })
        .expect("a role used before is used again from the top");
        desktop.click(&item, "Quit Rolecall");
        assert!(
            app.wait_for_exit(LIMIT)
                .is_some_and(|status| status.success())
        );
    });
    work.await.unwrap();
}

/// The account of corp-prod in the menu's top level, once the sign-in has listed it.
fn account_of(desktop: &Desktop, item: &TrayItem) -> String {
    eventually(LIMIT, || {
        labels(desktop.menu(item))
            .into_iter()
            .find(|label| label.ends_with("(111122223333)"))
    })
    .expect("after signing in, the accounts are listed at the top")
}

/// Whether the role whose label starts with `role` is checked in the submenu at `path`.
fn checked_role(desktop: &Desktop, item: &TrayItem, path: &[&str], role: &str) -> Option<bool> {
    desktop
        .submenu(item, path)
        .into_iter()
        .find(|entry| entry.label.starts_with(role))
        .and_then(|entry| entry.checked)
}

/// A chain the person wrote into the settings file shows under the account of its source role;
/// a click on it writes the active profile with the last role's credentials, through AssumeRole
/// signed with the source role's session.
#[tokio::test(flavor = "multi_thread")]
async fn a_chain_from_the_settings_is_used_from_the_tray() {
    const DEPLOY: &str = "arn:aws:iam::777788889999:role/Deploy";
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
        let settings = sandbox.config_dir().join("settings.toml");
        let mut text = std::fs::read_to_string(&settings).unwrap();
        text.push_str(&format!(
            "\n[[chains]]\nname = \"deploy\"\n\
             source_role = \"arn:aws:iam::111122223333:role/Admin\"\n\
             roles = [\"{DEPLOY}\"]\n"
        ));
        std::fs::write(&settings, text).unwrap();

        let (mut app, item) = desktop.start_tray(&sandbox, &sts, LIMIT);
        desktop.click(&item, "Sign in to corp");
        let account = account_of(&desktop, &item);
        let entries = labels(desktop.submenu(&item, &[&account]));
        assert_eq!(
            entries,
            ["Admin", "ReadOnly", "", "⛓ deploy → Deploy", "", "More"],
            "the chain under its source role's account"
        );

        desktop.click_path(&item, &[&account, "⛓ deploy → Deploy"]);
        let credentials = sandbox.aws_credentials_file();
        let text = eventually(LIMIT, || {
            std::fs::read_to_string(&credentials)
                .ok()
                .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
        })
        .expect("a click on the chain writes the active profile");
        assert!(
            text.contains(
                "x_principal_arn = arn:aws:sts::777788889999:assumed-role/Deploy/alice@corp.example"
            ),
            "the last role's credentials: {text}"
        );
        let status = eventually(LIMIT, || {
            labels(desktop.menu(&item))
                .into_iter()
                .find(|label| label.starts_with("default: Deploy —"))
        })
        .expect("the status line names the chain's last role");
        assert!(status.contains("min left"), "{status}");
        assert_eq!(
            checked_role(&desktop, &item, &[&account], "⛓ deploy → Deploy ("),
            Some(true),
            "the chain is checked"
        );
        assert_eq!(
            checked_role(&desktop, &item, &[&account], "Admin"),
            Some(false),
            "the Admin role is not"
        );
        desktop.click(&item, "Quit Rolecall");
        assert!(
            app.wait_for_exit(LIMIT)
                .is_some_and(|status| status.success())
        );
    });
    work.await.unwrap();
    let calls = sim.assume_role_calls();
    assert_eq!(calls.len(), 1, "one hop: {calls:?}");
    assert_eq!(calls[0].role_arn.as_deref(), Some(DEPLOY));
    assert_eq!(calls[0].duration_seconds.as_deref(), Some("3600"));
}
