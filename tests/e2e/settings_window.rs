//! The settings window as a person uses it (typing and clicking over WebDriver, in the real
//! app on a private desktop): what an endpoint edit keeps, what a rename carries along, and
//! that saving one form leaves the other's unsaved edits alone.

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::bus::TrayItem;
use rolecall_tests::keyring::{SecretService, SessionBus};
use rolecall_tests::{Desktop, Sandbox, eventually, rolecall_binary};

use crate::webview::{LIMIT, Session, app_pid, labels, start_driver};

/// Starts the app under WebDriver, opens Settings… from its tray, runs `body` in the window
/// and quits.
fn in_settings_window(
    desktop: &Desktop,
    sandbox: &Sandbox,
    runtime: tokio::runtime::Handle,
    env: &[(&str, &str)],
    body: impl FnOnce(&Session<'_>, &TrayItem),
) {
    let application = rolecall_binary().with_file_name("rolecall-tray");
    let (_driver_process, driver) = start_driver(desktop, sandbox, runtime, env);
    std::thread::scope(|scope| {
        let session = scope.spawn(|| driver.new_session(&application));
        let pid = eventually(LIMIT, || app_pid(desktop, &application))
            .expect("WebKitWebDriver starts rolecall-tray");
        let item: TrayItem =
            eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
        desktop.click(&item, "Settings…");
        let session = session.join().expect("the WebDriver session starts");
        eventually(LIMIT, || {
            (session.title().as_deref() == Some("Rolecall settings")).then_some(())
        })
        .expect("the settings window is the session's window");
        body(&session, &item);
        drop(session);
        desktop.click(&item, "Quit Rolecall");
    });
}

fn write_settings(sandbox: &Sandbox, text: &str) {
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(sandbox.config_dir().join("settings.toml"), text).unwrap();
}

fn settings_of(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.config_dir().join("settings.toml")).unwrap()
}

/// The window does not show the proxy; editing the endpoint there used to reset it to the
/// system's, sending the next sign-in past the proxy the person set.
#[tokio::test(flavor = "multi_thread")]
async fn editing_an_endpoint_in_the_window_keeps_its_proxy() {
    let runtime = tokio::runtime::Handle::current();
    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        write_settings(
            &sandbox,
            "[[endpoints]]\nname = \"corp\"\nurl = \"https://sts.corp.example\"\n\
             method = \"forms\"\nusername = \"alice\"\nproxy = \"http://proxy.corp.example:3128/\"\n",
        );
        in_settings_window(&desktop, &sandbox, runtime, &[], |session, _| {
            eventually(LIMIT, || {
                session
                    .text("#endpoints")
                    .contains("proxy http://proxy.corp.example:3128/")
                    .then_some(())
            })
            .expect("the window lists the endpoint with its proxy");
            session.click("#endpoints button[aria-label='Edit corp']");
            session.type_into("#endpoint-form [name=username]", "-admin");
            session.click("#save-endpoint");
            eventually(LIMIT, || {
                settings_of(&sandbox).contains("alice-admin").then_some(())
            })
            .expect("the edit is saved");
            assert!(
                settings_of(&sandbox).contains("proxy = \"http://proxy.corp.example:3128/\""),
                "the proxy stays: {}",
                settings_of(&sandbox)
            );
            assert!(
                session
                    .text("#endpoints")
                    .contains("proxy http://proxy.corp.example:3128/"),
                "and the window still shows it"
            );
        });
    });
    work.await.unwrap();
}

/// Renaming an endpoint used to orphan its profiles: they vanished from the tray and were never
/// renewed again. Now the profile stays the tray's active one and Renew now renews it, signing
/// in with the password that moved to the new name in the keyring.
#[tokio::test(flavor = "multi_thread")]
async fn renaming_an_endpoint_in_the_window_keeps_its_profiles_shown_and_renewed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let runtime = tokio::runtime::Handle::current();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let service = SecretService::start_on(
            &sandbox,
            SessionBus::existing(desktop.bus_address()),
            "login password",
        );
        let rolecall = |args: &[&str], stdin: Option<&str>| {
            desktop.rolecall(
                &sandbox,
                args,
                stdin,
                &[("AWS_ENDPOINT_URL_STS", sts.as_str())],
            );
        };
        rolecall(
            &[
                "endpoint",
                "add",
                "corp",
                "--url",
                &url,
                "--auth",
                "forms",
                "--username",
                "alice",
            ],
            None,
        );
        rolecall(
            &["password", "set", "--endpoint", "corp"],
            Some(DEMO_PASSWORD),
        );
        rolecall(
            &[
                "login",
                "--endpoint",
                "corp",
                "--role",
                "arn:aws:iam::111122223333:role/Admin",
            ],
            None,
        );
        let credentials = sandbox.aws_credentials_file();
        let key = || {
            std::fs::read_to_string(&credentials)
                .ok()?
                .lines()
                .find_map(|line| line.strip_prefix("aws_access_key_id = "))
                .map(str::to_owned)
        };
        let before = key().expect("the login wrote the profile");

        in_settings_window(
            &desktop,
            &sandbox,
            runtime,
            &[("AWS_ENDPOINT_URL_STS", &sts)],
            |session, item| {
                let status_line = || labels(desktop.menu(item)).into_iter().next();
                eventually(LIMIT, || {
                    status_line().filter(|line| line.starts_with("default: Admin"))
                })
                .expect("the tray shows the active profile");

                session.click("#endpoints button[aria-label='Edit corp']");
                session.clear("#endpoint-form [name=name]");
                session.type_into("#endpoint-form [name=name]", "work");
                session.click("#save-endpoint");
                // With one endpoint, its Sign in or Sign out entry at the top names it.
                let names = |top: &[String], name: &str| {
                    top.iter().any(|label| {
                        [format!("Sign in to {name}"), format!("Sign out of {name}")]
                            .contains(label)
                    })
                };
                eventually(LIMIT, || {
                    let top = labels(desktop.menu(item));
                    (names(&top, "work") && !names(&top, "corp")).then_some(())
                })
                .expect("the tray lists the endpoint by its new name");
                assert!(
                    session.text("#endpoints").contains("work"),
                    "the window lists it too"
                );
                assert!(
                    status_line().is_some_and(|line| line.starts_with("default: Admin")),
                    "the profile is still the tray's active one: {:?}",
                    labels(desktop.menu(item))
                );
                assert_eq!(
                    service.count_items(&[("service", "rolecall"), ("username", "password:work")]),
                    1,
                    "the password moved to the new name"
                );
                assert_eq!(
                    service.count_items(&[("service", "rolecall"), ("username", "password:corp")]),
                    0,
                    "and left the old one"
                );

                desktop.click(item, "Renew now");
                eventually(LIMIT, || key().filter(|now| *now != before))
                    .expect("Renew now renews the renamed endpoint's profile");
            },
        );
    });
    work.await.unwrap();
}

/// Saving an endpoint used to redraw the preferences from the file, throwing away what the
/// person had typed there and not saved yet.
#[tokio::test(flavor = "multi_thread")]
async fn saving_an_endpoint_keeps_unsaved_preference_edits() {
    let runtime = tokio::runtime::Handle::current();
    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        write_settings(
            &sandbox,
            "[[endpoints]]\nname = \"corp\"\nurl = \"https://sts.corp.example\"\n",
        );
        in_settings_window(&desktop, &sandbox, runtime, &[], |session, _| {
            let template = "#preferences-form [name=profile_template]";
            eventually(LIMIT, || {
                session.text("#endpoints").contains("corp").then_some(())
            })
            .expect("the window lists the endpoint");
            session.clear(template);
            session.type_into(template, "{account_id}-{role}");

            session.click("#endpoints button[aria-label='Edit corp']");
            session.type_into("#endpoint-form [name=username]", "alice");
            session.click("#save-endpoint");
            eventually(LIMIT, || {
                settings_of(&sandbox).contains("alice").then_some(())
            })
            .expect("the endpoint is saved");
            assert_eq!(
                session.value(template),
                "{account_id}-{role}",
                "the unsaved edit is still there"
            );
            assert!(
                !settings_of(&sandbox).contains("{account_id}-{role}"),
                "and still unsaved"
            );

            session.click("#save-preferences");
            eventually(LIMIT, || {
                settings_of(&sandbox)
                    .contains("profile_template = \"{account_id}-{role}\"")
                    .then_some(())
            })
            .expect("Save saves it");
            let settings = settings_of(&sandbox);
            assert!(
                settings.contains("username = \"alice\"") && settings.contains("corp"),
                "the endpoint is as saved: {settings}"
            );
        });
    });
    work.await.unwrap();
}

/// A file of Rolecall's that cannot be used is said in the settings window too, not only in
/// the tray: here a profile registry that does not parse, and an endpoint whose CA file went
/// away, which still stays in the window's list.
#[tokio::test(flavor = "multi_thread")]
async fn problems_with_rolecalls_files_are_shown_in_the_window() {
    let runtime = tokio::runtime::Handle::current();
    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let gone = sandbox.root().join("corp-ca.pem");
        write_settings(
            &sandbox,
            &format!(
                "[[endpoints]]\nname = \"corp\"\nurl = \"https://sts.corp.example\"\n\
                 method = \"forms\"\nusername = \"alice\"\nca_file = \"{}\"\n",
                gone.display()
            ),
        );
        std::fs::write(sandbox.config_dir().join("profiles.json"), "{ not json").unwrap();
        in_settings_window(&desktop, &sandbox, runtime, &[], |session, _| {
            let shown = eventually(LIMIT, || {
                let text = session.text("#file-problems");
                (text.contains("profiles.json") && text.contains("corp-ca.pem")).then_some(text)
            })
            .expect("the window lists what is wrong with the registry and the CA file");
            assert!(
                session.text("#endpoints").contains("corp"),
                "the endpoint stays in the list: {shown}"
            );
        });
    });
    work.await.unwrap();
}
