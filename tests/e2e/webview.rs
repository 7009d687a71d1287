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
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(90);
/// The key of an element reference in WebDriver answers (W3C WebDriver §12.1).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn labels(entries: Vec<rolecall_tests::bus::MenuEntry>) -> Vec<String> {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The pid of the `rolecall-tray` running on `desktop` (WebKitWebDriver started it, not us).
fn app_pid(desktop: &Desktop, binary: &Path) -> Option<u32> {
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

/// A minimal W3C WebDriver client: the few commands this test needs, as blocking calls.
struct WebDriver {
    runtime: tokio::runtime::Handle,
    client: reqwest::Client,
    base: String,
}

impl WebDriver {
    fn new(runtime: tokio::runtime::Handle, port: u16) -> Self {
        Self {
            runtime,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_send(method.clone(), path, body)
            .unwrap_or_else(|err| panic!("WebDriver {method} {path}: {err}"))
    }

    fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.runtime.block_on(async {
            let mut request = self
                .client
                .request(method, format!("{}{path}", self.base))
                .timeout(LIMIT);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.map_err(|err| err.to_string())?;
            let status = response.status();
            let answer: Value = response.json().await.map_err(|err| err.to_string())?;
            if status.is_success() {
                Ok(answer["value"].clone())
            } else {
                Err(format!("{status}: {answer}"))
            }
        })
    }

    fn ready(&self) -> bool {
        self.try_send(reqwest::Method::GET, "/status", None).is_ok()
    }

    fn new_session(&self, application: &Path) -> Session<'_> {
        let answer = self.send(
            reqwest::Method::POST,
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "wry",
                "tauri:options": {"application": application},
            }}})),
        );
        let id = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a session id in {answer}"))
            .to_owned();
        Session { driver: self, id }
    }
}

struct Session<'a> {
    driver: &'a WebDriver,
    id: String,
}

impl Session<'_> {
    fn post(&self, path: &str, body: Value) -> Value {
        self.driver.send(
            reqwest::Method::POST,
            &format!("/session/{}{path}", self.id),
            Some(body),
        )
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        self.driver.try_send(
            reqwest::Method::GET,
            &format!("/session/{}{path}", self.id),
            None,
        )
    }

    fn window_handles(&self) -> Vec<String> {
        self.get("/window/handles")
            .ok()
            .and_then(|handles| serde_json::from_value(handles).ok())
            .unwrap_or_default()
    }

    fn switch_to(&self, handle: &str) {
        self.post("/window", json!({ "handle": handle }));
    }

    fn title(&self) -> Option<String> {
        self.get("/title").ok()?.as_str().map(str::to_owned)
    }

    /// The element `css` selects, once the page has it.
    fn find(&self, css: &str) -> String {
        eventually(LIMIT, || {
            let found = self
                .driver
                .try_send(
                    reqwest::Method::POST,
                    &format!("/session/{}/element", self.id),
                    Some(json!({"using": "css selector", "value": css})),
                )
                .ok()?;
            found[ELEMENT].as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("the page has {css}"))
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
    }

    /// A PNG of the current window, written to `path`: a test artifact, so a failure to take
    /// it is reported, not fatal (WebKitWebDriver's screenshots hang now and then under load).
    fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let taken = self.get("/screenshot").and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_str().unwrap_or_default())
                .map_err(|err| err.to_string())
        });
        match taken {
            Ok(png) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, png).unwrap();
            }
            Err(err) => eprintln!("no screenshot {}: {err}", path.display()),
        }
    }
}

/// Where test artifacts go: `target/screenshots/` of the target folder this test runs from.
fn screenshots_dir() -> PathBuf {
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
        let port = free_port();
        let native_port = free_port();
        // tauri-driver hands its own environment down to WebKitWebDriver and the app.
        let mut command = desktop.command(&sandbox, tauri_driver());
        command
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("AWS_ENDPOINT_URL_STS", &sts)
            // With compositing off, WebKitWebDriver's screenshot never answers (WebKitGTK 2.50).
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            .stdout(Stdio::null());
        let _driver_process = Running::spawn(&mut command);
        let driver = WebDriver::new(runtime, port);
        eventually(LIMIT, || driver.ready().then_some(()))
            .expect("tauri-driver answers on its port");

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
            assert_eq!(labels(desktop.submenu(&item, &["corp"])), ["Sign in"]);
            desktop.click_path(&item, &["corp", "Sign in"]);
            let session = session.join().expect("the WebDriver session starts");

            let handle = eventually(LIMIT, || {
                session.window_handles().into_iter().find(|handle| {
                    session.switch_to(handle);
                    session.title().as_deref() == Some("Sign In")
                })
            })
            .expect("the sign-in window shows the IdP's login page");
            session.switch_to(&handle);
            let screenshots = screenshots_dir();
            session.screenshot(&screenshots.join("signin-window-login.png"));
            session.type_into("#userNameInput", "bob");
            session.type_into("#passwordInput", DEMO_PASSWORD);
            // AD FS's "Sign in" is a span whose script (onload.js) the simulator does not serve:
            // submit the form as that script does.
            session.execute("document.getElementById('loginForm').submit();");

            session.find("#passcodeInput");
            session.screenshot(&screenshots.join("signin-window-mfa.png"));
            session.type_into("#passcodeInput", "123456");
            session.click("#submitButton");

            eventually(LIMIT, || {
                (!session.window_handles().contains(&handle)).then_some(())
            })
            .expect("the window closes once the SAML response is taken");
            drop(session);

            let account = eventually(LIMIT, || {
                labels(desktop.submenu(&item, &["corp"]))
                    .into_iter()
                    .find(|label| label.ends_with("(111122223333)"))
            })
            .expect("after the window signed in, the accounts are listed");
            assert!(
                labels(desktop.submenu(&item, &["corp"]))
                    .contains(&"Signed in as bob@corp.example".to_owned()),
                "{:?}",
                labels(desktop.submenu(&item, &["corp"]))
            );
            let roles = labels(desktop.submenu(&item, &["corp", &account]));
            assert_eq!(roles, ["ReadOnly"], "bob's role in corp-prod");
            desktop.click_path(&item, &["corp", &account, "ReadOnly", "Use as \"default\""]);
            let credentials = sandbox.aws_credentials_file();
            eventually(LIMIT, || {
                std::fs::read_to_string(&credentials)
                    .ok()
                    .filter(|text| text.contains("[default]") && text.contains("aws_session_token"))
            })
            .expect("Use writes the active profile from the window's sign-in");

            // The IdP's SSO cookie stayed in the endpoint's own webview folder: the next
            // sign-in needs nobody (here nothing drives the window).
            assert!(
                sandbox.config_dir().join("webview/corp").is_dir(),
                "the endpoint has its own webview data folder"
            );
            desktop.click_path(&item, &["corp", "Sign out"]);
            eventually(LIMIT, || {
                (labels(desktop.submenu(&item, &["corp"])) == ["Sign in"]).then_some(())
            })
            .expect("signed out");
            desktop.click_path(&item, &["corp", "Sign in"]);
            eventually(LIMIT, || {
                labels(desktop.submenu(&item, &["corp"]))
                    .contains(&"Signed in as bob@corp.example".to_owned())
                    .then_some(())
            })
            .expect("the second sign-in is silent, through the IdP's SSO cookie");
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

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let service = rolecall_tests::keyring::SecretService::start_on(
            &sandbox,
            rolecall_tests::keyring::SessionBus::existing(desktop.bus_address()),
            "login password",
        );
        let application = rolecall_binary().with_file_name("rolecall-tray");
        let port = free_port();
        let native_port = free_port();
        let mut command = desktop.command(&sandbox, tauri_driver());
        command
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("AWS_ENDPOINT_URL_STS", &sts)
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            .stdout(Stdio::null());
        let _driver_process = Running::spawn(&mut command);
        let driver = WebDriver::new(runtime, port);
        eventually(LIMIT, || driver.ready().then_some(()))
            .expect("tauri-driver answers on its port");

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

            session.type_into("#endpoint-form [name=name]", "corp");
            session.type_into("#endpoint-form [name=url]", &url);
            session
                .execute("document.querySelector('#endpoint-form [name=method]').value = 'forms';");
            session.type_into("#endpoint-form [name=username]", "alice");
            session.type_into("#endpoint-form [name=password]", DEMO_PASSWORD);
            session.click("#save-endpoint");
            eventually(LIMIT, || {
                let text =
                    session.execute("return document.querySelector('#endpoints').textContent;");
                text.as_str()
                    .filter(|text| text.contains("corp") && text.contains("password in keyring"))
                    .map(str::to_owned)
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

            session.execute(
                "[...document.querySelectorAll('#endpoints button')].find(b => b.textContent === 'Test').click();",
            );
            let result = eventually(LIMIT, || {
                let text = session
                    .execute("return document.querySelector('#endpoints .result').textContent;");
                text.as_str()
                    .filter(|text| text.starts_with("Signed in"))
                    .map(str::to_owned)
            })
            .expect("Test signs in and says what it found");
            assert_eq!(
                result,
                "Signed in as alice@corp.example: 5 roles in 3 accounts."
            );
            session.screenshot(&screenshots_dir().join("settings-window.png"));

            session.type_into("#endpoint-form [name=name]", "lab");
            session.type_into("#endpoint-form [name=url]", "http://sts.lab.example");
            session.click("#save-endpoint");
            let message = eventually(LIMIT, || {
                let text = session.execute(
                    "const p = document.querySelector('#problem'); return p.hidden ? '' : p.textContent;",
                );
                text.as_str().filter(|text| !text.is_empty()).map(str::to_owned)
            })
            .expect("a refused URL is explained");
            assert!(message.contains("https"), "the core's sentence: {message}");
            drop(session);
            desktop.click(&item, "Quit Rolecall");
        });
    });
    work.await.unwrap();
}
