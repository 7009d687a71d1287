//! The webview sign-in as a person meets it: an endpoint with the Webview method, Sign in from
//! the tray of the real app on a private desktop, the IdP's own login and MFA pages in
//! Rolecall's window (driven over WebDriver: `tauri-driver` in front of `WebKitWebDriver`), and
//! then the window closes by itself, the accounts are listed and Use writes the profile: the
//! SAML response was taken from the page on its way to (the simulator's stand-in for) AWS.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::bus::TrayItem;
pub(crate) use rolecall_tests::webdriver::{LIMIT, Session};
use rolecall_tests::webdriver::{WebDriver, free_port};
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};
use serde_json::json;

pub(crate) fn labels(entries: Vec<rolecall_tests::bus::MenuEntry>) -> Vec<String> {
    entries.into_iter().map(|entry| entry.label).collect()
}

/// `tauri-driver`, as `cargo install tauri-driver --locked` (scripts/setup) puts it.
fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(path);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let path = cargo_home.join("bin/tauri-driver");
    assert!(
        path.exists(),
        "{} does not exist: run scripts/setup (cargo install tauri-driver --locked)",
        path.display()
    );
    path
}

/// The pid of the `rolecall-tray` running on `desktop` (WebKitWebDriver started it, not us).
pub(crate) fn app_pid(desktop: &Desktop, binary: &Path) -> Option<u32> {
    let display = format!("DISPLAY={}", desktop.display());
    let binary = binary.canonicalize().ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            if exe != binary {
                return None;
            }
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ
                .split(|&byte| byte == 0)
                .any(|var| var == display.as_bytes())
                .then_some(pid)
        })
}

/// `tauri-driver` on free ports, with the sandbox and desktop environment plus `env`, ready to
/// take a session. It hands its own environment down to WebKitWebDriver and the app.
pub(crate) fn start_driver(
    desktop: &Desktop,
    sandbox: &Sandbox,
    runtime: tokio::runtime::Handle,
    env: &[(&str, &str)],
) -> (Running, WebDriver) {
    let port = free_port();
    let native_port = free_port();
    let mut command = desktop.command(sandbox, tauri_driver());
    command
        .args(["--port", &port.to_string()])
        .args(["--native-port", &native_port.to_string()])
        .env("TAURI_WEBVIEW_AUTOMATION", "true")
        .envs(env.iter().copied())
        // With compositing off, WebKitWebDriver's screenshot never answers (WebKitGTK 2.50).
        .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
        .stdout(Stdio::null());
    let process = Running::spawn(&mut command);
    let driver = WebDriver::new(runtime, port);
    eventually(LIMIT, || driver.ready().then_some(())).expect("tauri-driver answers on its port");
    (process, driver)
}

/// Where test artifacts go: `target/screenshots/` of the target folder this test runs from.
pub(crate) fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // target/<profile>/deps/<test>
            let exe = std::env::current_exe().unwrap();
            exe.ancestors().nth(3).unwrap().to_path_buf()
        });
    target.join("screenshots")
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_in_the_webview_window_takes_the_saml_response_and_lists_the_roles() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let runtime = tokio::runtime::Handle::current();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let rolecall = |args: &[&str]| {
            let output = desktop
                .command(&sandbox, rolecall_binary())
                .args(args)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(output.status.success(), "rolecall {args:?}: {output:?}");
        };
        rolecall(&[
            "endpoint", "add", "corp", "--url", &url, "--auth", "webview",
        ]);

        let application = rolecall_binary().with_file_name("rolecall-tray");
        let (_driver_process, driver) = start_driver(
            &desktop,
            &sandbox,
            runtime,
            &[("AWS_ENDPOINT_URL_STS", &sts)],
        );

        std::thread::scope(|scope| {
            // The session attaches to the app's first webview, and a tray app has none until
            // Sign in opens one: ask for the session while the tray is used. (Tauri lets only
            // the first web context be automated, so the sign-in window, with its own data
            // folder, must be that first webview.)
            let session = scope.spawn(|| driver.new_session(&application));
            let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                .expect("WebKitWebDriver starts rolecall-tray");
            let item: TrayItem =
                eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
            assert!(labels(desktop.menu(&item)).contains(&"Sign in to corp".to_owned()));
            desktop.click(&item, "Sign in to corp");
            let session = session.join().expect("the WebDriver session starts");

            let handle = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Sign In")
                })
            })
            .expect("the sign-in window shows the IdP's login page");
            session.switch_to(&handle);
            session.type_into("#userNameInput", "bob");
            session.type_into("#passwordInput", DEMO_PASSWORD);
            session.click("#submitButton");

            session.find("#passcodeInput");
            session.type_into("#passcodeInput", "123456");
            session.click("#submitButton");

            eventually(LIMIT, || {
                (!session.window_handles().contains(&handle)).then_some(())
            })
            .expect("the window closes once the SAML response is taken");

            let account = eventually(LIMIT, || {
                labels(desktop.menu(&item))
                    .into_iter()
                    .find(|label| label.ends_with("(111122223333)"))
            })
            .expect("after the window signed in, the accounts are listed");
            assert!(
                labels(desktop.menu(&item)).contains(&"Signed in as bob@corp.example".to_owned()),
                "{:?}",
                labels(desktop.menu(&item))
            );
            let roles = labels(desktop.submenu(&item, &[&account]));
            assert_eq!(roles, ["ReadOnly", "", "More"], "bob's role in corp-prod");
            desktop.click_path(&item, &[&account, "ReadOnly"]);
            let credentials = sandbox.aws_credentials_file();
            eventually(LIMIT, || {
                std::fs::read_to_string(&credentials)
                    .ok()
                    .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
            })
            .expect("a click on the role writes the active profile from the window's sign-in");
            // The AWS CLI accepts the profile (the simulator's STS answers for its keys).
            let caller = sandbox
                .command("aws")
                .args([
                    "sts",
                    "get-caller-identity",
                    "--profile",
                    "default",
                    "--output",
                    "json",
                ])
                .env("AWS_ENDPOINT_URL", &sts)
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .stdin(Stdio::null())
                .output()
                .expect("the AWS CLI (the test venv, on PATH in scripts/test)");
            assert!(
                caller.status.success(),
                "the AWS CLI uses the profile: {caller:?}"
            );
            assert!(
                String::from_utf8_lossy(&caller.stdout)
                    .contains("assumed-role/ReadOnly/bob@corp.example"),
                "{caller:?}"
            );

            // Renew now: the engine meets the IdP's pages and the app tries them in a window
            // that never shows; the IdP's SSO cookie signs in, and the profile gets new keys.
            let key_of = |text: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix("aws_access_key_id = "))
                    .map(str::to_owned)
            };
            let before = key_of(&std::fs::read_to_string(&credentials).unwrap());
            desktop.click(&item, "Renew now");
            eventually(LIMIT, || {
                let now = key_of(&std::fs::read_to_string(&credentials).ok()?);
                (now.is_some() && now != before).then_some(())
            })
            .expect("the hidden window's silent sign-in renews the profile");

            // The IdP's SSO cookie is kept in the endpoint's own webview folder.
            assert!(
                sandbox.config_dir().join("webview/corp").is_dir(),
                "the endpoint has its own webview data folder"
            );
            // Sign out ends the IdP session of the window too: the next sign-in is not
            // silent, the IdP's login page asks for the person again.
            eventually(LIMIT, || {
                labels(desktop.menu(&item))
                    .contains(&"Sign out of corp".to_owned())
                    .then_some(())
            })
            .expect("the menu offers Sign out");
            desktop.click(&item, "Sign out of corp");
            eventually(LIMIT, || {
                labels(desktop.menu(&item))
                    .contains(&"Sign in to corp".to_owned())
                    .then_some(())
            })
            .expect("signed out");
            desktop.click(&item, "Sign in to corp");
            let again = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Sign In")
                })
            })
            .expect("after Sign out, the IdP asks for the person again");
            session.switch_to(&again);
            session.find("#userNameInput");
            assert!(
                !labels(desktop.menu(&item))
                    .iter()
                    .any(|label| label.starts_with("Signed in as ")),
                "{:?}",
                labels(desktop.menu(&item))
            );
            drop(session);
            desktop.click(&item, "Quit Rolecall");
        });
        let _ = std::io::stderr().flush();
    });
    work.await.unwrap();
}

/// The settings window through WebDriver: add an endpoint with its password (into a real
/// Secret Service), see it listed, test it (a real sign-in against the simulator), and get the
/// core's own sentence for a refused URL.
#[tokio::test(flavor = "multi_thread")]
async fn the_settings_window_adds_tests_and_explains() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let runtime = tokio::runtime::Handle::current();

    let work =
        tokio::task::spawn_blocking(move || {
            let sandbox = Sandbox::new();
            // `aws configure`'s IAM user keys in [default]: the window proposes another name.
            std::fs::write(
                sandbox.aws_credentials_file(),
                "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n",
            )
            .unwrap();
            let desktop = Desktop::start();
            let service = rolecall_tests::keyring::SecretService::start_on(
                &sandbox,
                rolecall_tests::keyring::SessionBus::existing(desktop.bus_address()),
                "login password",
            );
            let application = rolecall_binary().with_file_name("rolecall-tray");
            let (_driver_process, driver) = start_driver(
                &desktop,
                &sandbox,
                runtime,
                &[("AWS_ENDPOINT_URL_STS", &sts)],
            );

            std::thread::scope(|scope| {
                let session = scope.spawn(|| driver.new_session(&application));
                let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                    .expect("WebKitWebDriver starts rolecall-tray");
                let item: TrayItem =
                    eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
                desktop.click(&item, "Settings…");
                let session = session.join().expect("the WebDriver session starts");
                eventually(LIMIT, || {
                    (session.title().as_deref() == Some("Rolecall settings")).then_some(())
                })
                .expect("the settings window is the session's window");
                session.find("#no-endpoints");
                assert_eq!(
                    session.value("#preferences-form [name=active_profile]"),
                    "default-2"
                );
                let note = session.text("#active-profile-note");
                assert!(note.contains("did not write"), "the note shows: {note:?}");

                session.type_into("#endpoint-form [name=name]", "corp");
                session.type_into("#endpoint-form [name=url]", &url);
                // Choosing in the list, as a click on the option does.
                session.click("#endpoint-form [name=method] option[value=forms]");
                session.type_into("#endpoint-form [name=username]", "alice");
                session.type_into("#endpoint-form [name=password]", DEMO_PASSWORD);
                session.click("#save-endpoint");
                eventually(LIMIT, || {
                    Some(session.text("#endpoints")).filter(|text| {
                        text.contains("corp") && text.contains("password in your keyring")
                    })
                })
                .expect("the new endpoint is listed, its password in the keyring");
                assert_eq!(
                    service.count_items(&[("service", "rolecall"), ("username", "password:corp")]),
                    1,
                    "the password went to the Secret Service"
                );
                assert!(
                    !std::fs::read_to_string(sandbox.config_dir().join("settings.toml"))
                        .unwrap()
                        .contains(DEMO_PASSWORD),
                    "and not into the settings file"
                );
                assert!(
                    std::fs::read_to_string(sandbox.config_dir().join("settings.toml"))
                        .unwrap()
                        .contains("active_profile = \"default-2\""),
                    "the first save takes the free name"
                );

                session.click("#endpoints button[aria-label='Test corp']");
                let result = eventually(LIMIT, || {
                    Some(session.text("#endpoints .result"))
                        .filter(|text| text.starts_with("Signed in"))
                })
                .expect("Test signs in and says what it found");
                assert_eq!(
                    result,
                    "Signed in as alice@corp.example: 5 roles in 3 accounts."
                );

                // What the assertion said, readable for a help desk, under the endpoint.
                let panel = eventually(LIMIT, || {
                    Some(session.text("#endpoints [aria-label='Last sign-in to corp']"))
                        .filter(|text| text.contains("Issuer"))
                })
                .expect("the endpoint shows a Last sign-in panel after Test");
                for expected in [
                    "Last sign-in".to_owned(),
                    "/adfs/services/trust".to_owned(),
                    "Destination".to_owned(),
                    "/saml".to_owned(),
                    "Audience".to_owned(),
                    "urn:amazon:webservices".to_owned(),
                    "NotOnOrAfter".to_owned(),
                    "SessionDuration".to_owned(),
                    "arn:aws:iam::111122223333:role/Admin".to_owned(),
                    "alice@corp.example".to_owned(),
                ] {
                    assert!(
                        panel.contains(&expected),
                        "the Last sign-in panel shows {expected:?}: {panel}"
                    );
                }
                assert!(
                    !panel.contains("STS refused"),
                    "no STS refusal after a sign-in STS was not asked about: {panel}"
                );

                // The roles of the sign-in, searchable; a favourite goes first in the tray.
                eventually(LIMIT, || {
                    (session.texts("#roles tbody tr").len() == 5).then_some(())
                })
                .expect("the window lists the five roles");
                session.type_into("#role-search", "prod admin");
                // A hidden row has no visible text.
                let visible: Vec<String> = session
                    .texts("#roles tbody tr")
                    .into_iter()
                    .filter(|text| !text.is_empty())
                    .collect();
                assert!(
                    visible.len() == 1 && visible[0].contains("Admin"),
                    "the search finds one role: {visible:?}"
                );
                session.click("#roles tbody tr:not([hidden]) input[type=checkbox]");
                eventually(LIMIT, || {
                    std::fs::read_to_string(sandbox.config_dir().join("settings.toml"))
                        .ok()
                        .filter(|text| text.contains("favourites") && text.contains("role/Admin"))
                })
                .expect("the favourite is saved in the settings");
                eventually(LIMIT, || {
                    labels(desktop.menu(&item))
                        .into_iter()
                        .find(|label| label.starts_with("★ corp-prod / Admin"))
                })
                .expect("the tray lists the favourite first");
                session.screenshot(&screenshots_dir().join("settings-window.png"));

                // The open window follows the files: an endpoint added on the command line shows
                // within a second.
                desktop.rolecall(
                    &sandbox,
                    &[
                        "endpoint",
                        "add",
                        "lab",
                        "--url",
                        "https://sts.lab.example",
                        "--auth",
                        "forms",
                    ],
                    None,
                    &[],
                );
                eventually(Duration::from_secs(1), || {
                session.text("#endpoints").contains("sts.lab.example").then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "the window shows the endpoint added on the command line within a second: {}",
                    session.text("#endpoints")
                )
            });

                session.type_into("#endpoint-form [name=name]", "lab-http");
                session.type_into("#endpoint-form [name=url]", "http://sts.lab.example");
                session.click("#save-endpoint");
                // A hidden banner has no visible text.
                let message = eventually(LIMIT, || {
                    Some(session.text("#problem")).filter(|text| !text.is_empty())
                })
                .expect("a refused URL is explained");
                assert!(message.contains("https"), "the core's sentence: {message}");
                drop(session);
                desktop.click(&item, "Quit Rolecall");
            });
        });
    work.await.unwrap();
}

/// A real third-party IdP in the window: SimpleSAMLphp's own login page, then its own auto-post
/// page submitting the SAML response toward AWS's real `https://signin.aws.amazon.com/saml`.
/// Rolecall takes the response before the page leaves, lists the account by id (the alias
/// lookup cannot reach AWS: there is no network), and Use gets credentials from moto.
#[tokio::test(flavor = "multi_thread")]
async fn a_third_party_idp_in_the_window_simplesamlphp_posting_to_aws() {
    use rolecall_tests::simplesamlphp::{self, SimpleSamlPhp};
    let runtime = tokio::runtime::Handle::current();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let idp = SimpleSamlPhp::start(&sandbox);
        let moto = rolecall_tests::moto::Moto::start(&sandbox);
        let no_network = rolecall_tests::NoNetwork::start();
        let desktop = Desktop::start();
        let url = idp.sign_on_url();
        let output = desktop
            .command(&sandbox, rolecall_binary())
            .args(["endpoint", "add", "lab", "--url", &url, "--auth", "webview"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "rolecall endpoint add: {output:?}");

        let application = rolecall_binary().with_file_name("rolecall-tray");
        let proxy = no_network.proxy_url();
        let mut env = vec![("AWS_ENDPOINT_URL_STS", moto.url())];
        for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            env.push((var, proxy.as_str()));
        }
        for var in ["NO_PROXY", "no_proxy"] {
            env.push((var, "127.0.0.1,localhost"));
        }
        let (_driver_process, driver) = start_driver(&desktop, &sandbox, runtime, &env);

        std::thread::scope(|scope| {
            let session = scope.spawn(|| driver.new_session(&application));
            let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                .expect("WebKitWebDriver starts rolecall-tray");
            let item: TrayItem =
                eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
            assert!(labels(desktop.menu(&item)).contains(&"Sign in to lab".to_owned()));
            desktop.click(&item, "Sign in to lab");
            let session = session.join().expect("the WebDriver session starts");

            // SimpleSAMLphp's IdP-initiated SSO redirects to its username/password page.
            let handle = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Enter your username and password")
                })
            })
            .unwrap_or_else(|| {
                panic!(
                    "the sign-in window shows SimpleSAMLphp's login page:\n{}",
                    idp.logs()
                )
            });
            session.switch_to(&handle);
            session.find("#username");
            session.screenshot(&screenshots_dir().join("signin-window-simplesamlphp.png"));
            // A control: what the window sends off the machine does reach the stand-in, so
            // the absence of the window's POST toward AWS below means something. Script, not a
            // person: a request the page itself makes is what this stands for, and it gets the
            // test past no page.
            session.execute("fetch('https://webview-probe.invalid/').catch(() => {});");
            eventually(LIMIT, || {
                no_network
                    .requests()
                    .iter()
                    .any(|head| head.starts_with("CONNECT webview-probe.invalid:443 "))
                    .then_some(())
            })
            .expect("the window's requests off the machine go through the stand-in");
            session.type_into("#username", simplesamlphp::USERNAME);
            session.type_into("#password", simplesamlphp::PASSWORD);
            session.click("#submit_button");

            // The IdP's "POST data" page clicks its submit button on load, toward AWS.
            eventually(LIMIT, || {
                (!session.window_handles().contains(&handle)).then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "the window closes once the SAML response is taken:\n{}",
                    idp.logs()
                )
            });
            let closed = rolecall_core::clock::monotonic();
            drop(session);

            // No alias (AWS's sign-in page is out of reach): the account is named by its id,
            // once the lookup's budget (3 s) is spent at most.
            eventually(LIMIT, || {
                labels(desktop.menu(&item))
                    .contains(&simplesamlphp::ACCOUNT.to_owned())
                    .then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "after the window signed in, the account is listed: {:?}",
                    labels(desktop.menu(&item))
                )
            });
            let listed_after = closed.elapsed();
            assert!(
                listed_after < Duration::from_secs(20),
                "the account took {listed_after:?} to be listed: the alias lookup's budget is 3 s"
            );
            assert!(
                labels(desktop.menu(&item))
                    .contains(&format!("Signed in as {}", simplesamlphp::SESSION_NAME)),
                "{:?}",
                labels(desktop.menu(&item))
            );
            let roles = labels(desktop.submenu(&item, &[simplesamlphp::ACCOUNT]));
            assert_eq!(
                roles,
                ["Admin", "", "More"],
                "the role SimpleSAMLphp released"
            );
            desktop.click_path(&item, &[simplesamlphp::ACCOUNT, "Admin"]);
            let credentials = sandbox.aws_credentials_file();
            eventually(LIMIT, || {
                std::fs::read_to_string(&credentials)
                    .ok()
                    .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
            })
            .expect("a click on the role writes the profile with moto's credentials for SimpleSAMLphp's assertion");
            desktop.click(&item, "Quit Rolecall");
        });

        // The page never reached AWS: the window took the response and refused the
        // navigation, so besides the probe the window sent nothing off the machine. The one
        // other request is Rolecall's own alias lookup at AWS's sign-in page (its client names
        // itself), refused by the stand-in as it would fail without a network.
        let left: Vec<String> = no_network
            .requests()
            .into_iter()
            .filter(|head| !head.starts_with("CONNECT webview-probe.invalid:443 "))
            .collect();
        assert!(
            left.iter().all(|head| {
                head.starts_with("CONNECT signin.aws.amazon.com:443 ") && head.contains("Rolecall/")
            }),
            "nothing but Rolecall's alias lookup tried to leave the machine: {left:?}"
        );
        let _ = std::io::stderr().flush();
    });
    work.await.unwrap();
}

/// What a page of the flow would hand over: a SAML response of the simulator for `user`, got
/// with the forms method.
pub(crate) async fn saml_response_of(sim: &Sim, user: &str, passcode: &str) -> String {
    use rolecall_core::idp::{self, Outcome, PasscodePrompt, PasscodeSource, SignIn};
    use rolecall_core::secrets::{MemoryStore, Sensitive};
    use rolecall_core::settings::{Endpoint, SignInMethod};
    struct Passcode(String);
    impl PasscodeSource for Passcode {
        fn passcode(&self, _: &PasscodePrompt) -> Option<Sensitive<String>> {
            Some(Sensitive::new(self.0.clone()))
        }
    }
    let mut endpoint = Endpoint::new("sim", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some(user.to_owned());
    let outcome = idp::sign_in(SignIn {
        endpoint: &endpoint,
        password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
        secrets: std::sync::Arc::new(MemoryStore::new()),
        passcodes: &Passcode(passcode.to_owned()),
    })
    .await
    .unwrap();
    match outcome {
        Outcome::SignedIn(signed_in) => signed_in.assertion.raw.expose().clone(),
        other => panic!("{user} signs in: {other:?}"),
    }
}

/// A few fixed pages over plain HTTP on one loopback address.
struct Pages {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pages {
    fn listen(ip: &str) -> std::net::TcpListener {
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        listener
    }

    fn serve(listener: std::net::TcpListener, pages: Vec<(&'static str, String)>) -> Self {
        use std::io::{BufRead, BufReader};
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::<std::sync::atomic::AtomicBool>::default();
        let thread = {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut request_line = String::new();
                    let mut reader = BufReader::new(&stream);
                    let _ = reader.read_line(&mut request_line);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                        line.clear();
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or_default();
                    let response = match pages.iter().find(|(at, _)| *at == path) {
                        Some((_, body)) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                             Cache-Control: no-store\r\nContent-Length: {}\r\n\
                             Connection: close\r\n\r\n{body}",
                            body.len()
                        ),
                        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\
                                 Connection: close\r\n\r\n"
                            .to_owned(),
                    };
                    let _ = stream.write_all(response.as_bytes());
                }
            })
        };
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A page of the flow embeds a frame of another origin (`127.0.0.2`), which tries to slip
/// bob's genuine response in for alice's: it submits a form with it, and it navigates to a
/// made-up sentinel claiming to be the IdP's top page. Both are ignored: the window stays,
/// the IdP's own page then hands over alice's response, and alice is signed in.
#[tokio::test(flavor = "multi_thread")]
async fn a_forged_response_from_a_cross_origin_frame_is_ignored() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let sts = sim.sts_url().to_string();
    let aws = sim.signin_saml_url().to_string();
    let alice = saml_response_of(&sim, "alice", "").await;
    let bob = saml_response_of(&sim, "bob", "123456").await;
    let runtime = tokio::runtime::Handle::current();

    let idp_listener = Pages::listen("127.0.0.1");
    let frame_listener = Pages::listen("127.0.0.2");
    let idp_origin = format!(
        "http://127.0.0.1:{}",
        idp_listener.local_addr().unwrap().port()
    );
    let frame_origin = format!(
        "http://127.0.0.2:{}",
        frame_listener.local_addr().unwrap().port()
    );
    let start = format!(
        r#"<!doctype html><title>Corp sign-in</title>
<p id="state">waiting</p>
<iframe src="{frame_origin}/frame"></iframe>
<form method="post" action="{aws}"><input type="hidden" name="SAMLResponse" value="{alice}">
<button id="continue" type="submit">Continue</button></form>
<script>
window.addEventListener('message', function (event) {{
  if (event.data === 'forged') {{ document.getElementById('state').textContent = 'forged'; }}
}});
</script>"#
    );
    let forged_sentinel = format!(
        "https://rolecall-capture.invalid/?key=00112233445566778899aabbccddeeff&origin={}&SAMLResponse={}&action={}",
        urlencode(&idp_origin),
        urlencode(&bob),
        urlencode(&aws)
    );
    let frame = format!(
        r#"<!doctype html><title>Widget</title>
<form id="f" method="post" action="{aws}"><input type="hidden" name="SAMLResponse" value="{bob}"></form>
<script>
document.getElementById('f').submit();
window.location.replace('{forged_sentinel}');
parent.postMessage('forged', '*');
</script>"#
    );
    let _idp = Pages::serve(idp_listener, vec![("/start", start)]);
    let _frame = Pages::serve(frame_listener, vec![("/frame", frame)]);

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let url = format!("{idp_origin}/start");
        let output = desktop
            .command(&sandbox, rolecall_binary())
            .args([
                "endpoint", "add", "corp", "--url", &url, "--auth", "webview",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "rolecall endpoint add: {output:?}");
        let application = rolecall_binary().with_file_name("rolecall-tray");
        let (_driver_process, driver) = start_driver(
            &desktop,
            &sandbox,
            runtime,
            &[("AWS_ENDPOINT_URL_STS", &sts)],
        );

        std::thread::scope(|scope| {
            let session = scope.spawn(|| driver.new_session(&application));
            let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                .expect("WebKitWebDriver starts rolecall-tray");
            let item: TrayItem =
                eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
            desktop.click(&item, "Sign in to corp");
            let session = session.join().expect("the WebDriver session starts");
            let handle = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Corp sign-in")
                })
            })
            .expect("the sign-in window shows the IdP's page");
            session.switch_to(&handle);
            eventually(LIMIT, || (session.text("#state") == "forged").then_some(()))
                .expect("the frame made its attempts");
            assert!(
                session.window_handles().contains(&handle),
                "the window is still there: nothing was taken from the frame"
            );
            assert!(
                !labels(desktop.menu(&item))
                    .iter()
                    .any(|label| label.starts_with("Signed in as ")),
                "{:?}",
                labels(desktop.menu(&item))
            );

            session.click("#continue");
            eventually(LIMIT, || {
                (!session.window_handles().contains(&handle)).then_some(())
            })
            .expect("the IdP's own page hands over the response");
            let signed_in = eventually(LIMIT, || {
                labels(desktop.menu(&item))
                    .into_iter()
                    .find(|label| label.starts_with("Signed in as "))
            })
            .expect("signed in");
            assert_eq!(signed_in, "Signed in as alice@corp.example", "not bob");
            let settings =
                std::fs::read_to_string(sandbox.config_dir().join("settings.toml")).unwrap();
            assert!(
                settings.contains("issuer = "),
                "the IdP's issuer is pinned: {settings}"
            );
            drop(session);
            desktop.click(&item, "Quit Rolecall");
        });
        // Removing the endpoint deletes the sign-in window's data with the IdP's cookies.
        let data = sandbox.config_dir().join("webview/corp");
        assert!(
            data.is_dir(),
            "the window kept its data in {}",
            data.display()
        );
        let output = desktop
            .command(&sandbox, rolecall_binary())
            .args(["endpoint", "remove", "corp"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // This desktop has no keyring, so the command says the secrets stay; the folder goes.
        assert!(
            !data.exists(),
            "removing the endpoint deletes {}: {output:?}",
            data.display()
        );
    });
    work.await.unwrap();
}

fn urlencode(text: &str) -> String {
    let mut url = reqwest::Url::parse("https://x.invalid/").unwrap();
    url.query_pairs_mut().append_pair("v", text);
    url.query().unwrap().trim_start_matches("v=").to_owned()
}

/// An IdP page is not the app: the app's own pages, files, `data:` and plain `http` never
/// load in the sign-in window, and the app's commands refuse a page there.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_in_the_sign_in_window_cannot_call_the_app_or_open_its_pages() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let runtime = tokio::runtime::Handle::current();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let output = desktop
            .command(&sandbox, rolecall_binary())
            .args([
                "endpoint", "add", "corp", "--url", &url, "--auth", "webview",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "rolecall endpoint add: {output:?}");
        let application = rolecall_binary().with_file_name("rolecall-tray");
        let (_driver_process, driver) = start_driver(
            &desktop,
            &sandbox,
            runtime,
            &[("AWS_ENDPOINT_URL_STS", &sts)],
        );

        std::thread::scope(|scope| {
            let session = scope.spawn(|| driver.new_session(&application));
            let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                .expect("WebKitWebDriver starts rolecall-tray");
            let item: TrayItem =
                eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
            desktop.click(&item, "Sign in to corp");
            let session = session.join().expect("the WebDriver session starts");
            let handle = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Sign In")
                })
            })
            .expect("the sign-in window shows the IdP's login page");
            session.switch_to(&handle);
            session.find("#userNameInput");

            // This script stands in for a hostile IdP page: the one use of script here that a
            // person's IdP would not run. It calls an app command as the settings window does.
            let answer = session.execute_async(
                "const done = arguments[arguments.length - 1];
                 const ipc = window.__TAURI_INTERNALS__;
                 if (!ipc || typeof ipc.invoke !== 'function') { done('no IPC'); return; }
                 ipc.invoke('settings_view').then(
                   (view) => done('answered: ' + JSON.stringify(view)),
                   (error) => done('refused: ' + String(error)));",
            );
            let answer = answer.as_str().unwrap_or_default().to_owned();
            assert!(
                answer.starts_with("refused: ") || answer == "no IPC",
                "an IdP page must not get the settings: {answer}"
            );

            // A refused navigation never loads: the driver waits for a page this long.
            session.post("/timeouts", json!({ "pageLoad": 3000 }));
            let idp_page = session.url().unwrap();
            for target in [
                "tauri://localhost/index.html",
                "http://tauri.localhost/index.html",
                "file:///etc/hostname",
                "data:text/html,<title>data</title>",
                "http://sts.corp.example/adfs/ls/",
            ] {
                session.navigate(target);
                assert_eq!(
                    session.title().as_deref(),
                    Some("Sign In"),
                    "{target} must not load in the sign-in window"
                );
                assert_eq!(
                    session.url().as_deref(),
                    Some(idp_page.as_str()),
                    "{target}"
                );
            }
            drop(session);
            desktop.click(&item, "Quit Rolecall");
        });
    });
    work.await.unwrap();
}

/// The settings window shows the Issuer the sign-in window pinned, keeps it through an edit,
/// and forgets it when the person asks.
#[tokio::test(flavor = "multi_thread")]
async fn the_settings_window_shows_the_pinned_issuer_and_forgets_it_on_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let runtime = tokio::runtime::Handle::current();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let issuer = "http://adfs.corp.example/adfs/services/trust";
        std::fs::create_dir_all(sandbox.config_dir()).unwrap();
        std::fs::write(
            sandbox.config_dir().join("settings.toml"),
            format!(
                "[[endpoints]]\nname = \"corp\"\nurl = \"{url}\"\nmethod = \"webview\"\n\
                 issuer = \"{issuer}\"\n"
            ),
        )
        .unwrap();
        let application = rolecall_binary().with_file_name("rolecall-tray");
        let (_driver_process, driver) = start_driver(&desktop, &sandbox, runtime, &[]);

        std::thread::scope(|scope| {
            let session = scope.spawn(|| driver.new_session(&application));
            let pid = eventually(LIMIT, || app_pid(&desktop, &application))
                .expect("WebKitWebDriver starts rolecall-tray");
            let item: TrayItem =
                eventually(LIMIT, || desktop.tray_item_of(pid)).expect("the tray item appears");
            desktop.click(&item, "Settings…");
            let session = session.join().expect("the WebDriver session starts");
            eventually(LIMIT, || {
                (session.title().as_deref() == Some("Rolecall settings")).then_some(())
            })
            .expect("the settings window is the session's window");
            eventually(LIMIT, || {
                session
                    .text("#endpoints")
                    .contains(&format!(
                        "IdP issuer (pinned at the first sign-in in the window): {issuer}"
                    ))
                    .then_some(())
            })
            .expect("the pinned issuer is shown");
            let settings =
                || std::fs::read_to_string(sandbox.config_dir().join("settings.toml")).unwrap();

            // An edit of something else keeps the pin.
            session.click("#endpoints button");
            session.type_into("#endpoint-form [name=username]", "alice");
            session.click("#save-endpoint");
            eventually(LIMIT, || settings().contains("alice").then_some(()))
                .expect("the edit is saved");
            assert!(settings().contains(issuer), "the pin stays: {}", settings());
            // The person sees the list show the edit before choosing Edit again (the list is
            // drawn anew when the endpoint changes).
            eventually(LIMIT, || {
                session.text("#endpoints").contains("alice").then_some(())
            })
            .expect("the window shows the edit");

            session.click("#endpoints button");
            session.click("#endpoint-form [name=forget_issuer]");
            session.click("#save-endpoint");
            eventually(LIMIT, || (!settings().contains("issuer")).then_some(()))
                .expect("the pin is forgotten");
            drop(session);
            desktop.click(&item, "Quit Rolecall");
        });
    });
    work.await.unwrap();
}
