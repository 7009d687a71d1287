//! A role's credentials handed to other programs from the tray, as a person does it: in the
//! real app under a real panel (xfce4-panel), Copy environment, pasted into bash, signs the
//! AWS CLI's calls; Serve to containers and IDEs, with its copied variables, serves the AWS
//! CLI through the container credentials endpoint and refuses a wrong token; Copy sign-in
//! link copies the federation endpoint's login URL. The simulator's STS answers the calls.

use std::io::{Read as _, Write as _};
use std::process::{Output, Stdio};
use std::time::Duration;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::bus::TrayItem;
use rolecall_tests::keyring::{SecretService, SessionBus};
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};

use crate::webview::screenshots_dir;

const LIMIT: Duration = Duration::from_secs(90);
const IDENTITY: &str = ":assumed-role/Admin/alice@corp.example";

fn labels(entries: Vec<rolecall_tests::bus::MenuEntry>) -> Vec<String> {
    entries.into_iter().map(|entry| entry.label).collect()
}

/// Runs `script` in bash after it evaluates `pasted`, as a person pastes into a terminal, with
/// the AWS CLI pointed at the simulator's STS.
fn in_bash(sandbox: &Sandbox, sts: &str, pasted: &str, script: &str) -> Output {
    sandbox
        .command("bash")
        .args(["-c", &format!("eval \"$1\" && {script}"), "bash", pasted])
        .env("AWS_ENDPOINT_URL", sts)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .stdin(Stdio::null())
        .output()
        .expect("bash and the AWS CLI (the test venv, on PATH in scripts/test)")
}

fn caller_arn(output: &Output) -> String {
    assert!(
        output.status.success(),
        "aws sts get-caller-identity succeeds: {output:?}"
    );
    let identity: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    identity["Arn"].as_str().unwrap_or_default().to_owned()
}

/// The status code a GET of `url` (`http://127.0.0.1:<port>/…`) answers with `token`.
fn status_of(url: &str, token: &str) -> u16 {
    let rest = url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {token}\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {answer}"))
}

/// The label of the role whose name is `role` in the account's "More" (its time left changes).
/// The menu is rebuilt when the status changes, which a walk down to it may meet: it is read
/// again then.
fn role_label(desktop: &Desktop, item: &TrayItem, account: &str, role: &str) -> String {
    eventually(LIMIT, || {
        labels(desktop.submenu(item, &[account, "More"]))
            .into_iter()
            .find(|label| label == role || label.starts_with(&format!("{role} (")))
    })
    .unwrap_or_else(|| {
        panic!(
            "no role {role} under {account}: {:?}",
            labels(desktop.submenu(item, &[account, "More"]))
        )
    })
}

/// The clipboard, once it holds something with `marker` in it.
fn clipboard_with(desktop: &Desktop, marker: &str) -> String {
    eventually(LIMIT, || {
        desktop.clipboard().filter(|text| text.contains(marker))
    })
    .unwrap_or_else(|| {
        panic!(
            "the clipboard gets {marker:?}; it holds {:?}",
            desktop.clipboard()
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_roles_credentials_are_copied_and_served_from_the_tray() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let federation = sim.federation_url().to_string();

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
        let log = sandbox.root().join("notifications.log");
        let _monitor = Running::spawn(
            std::process::Command::new("dbus-monitor")
                .args(["--address", desktop.bus_address()])
                .arg("interface='org.freedesktop.Notifications',member='Notify'")
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(Stdio::null()),
        );
        let notified = |text: &str| {
            eventually(LIMIT, || {
                std::fs::read_to_string(&log)
                    .ok()
                    .filter(|seen| seen.contains(text))
            })
            .unwrap_or_else(|| panic!("a notification says {text:?}"))
        };
        let mut command = desktop.command(&sandbox, rolecall_binary());
        command
            .env("AWS_ENDPOINT_URL_STS", &sts)
            .env("ROLECALL_SIGNIN_ENDPOINT", &federation);
        let mut app = Running::spawn(&mut command);
        let item = eventually(LIMIT, || {
            assert!(app.is_running(), "the app exited");
            desktop.tray_item_of(app.pid())
        })
        .expect("the tray item appears");

        desktop.click(&item, "Sign in to corp");
        let account = eventually(LIMIT, || {
            labels(desktop.menu(&item))
                .into_iter()
                .find(|label| label.ends_with("(111122223333)"))
        })
        .expect("after signing in, the accounts are listed");

        // Copy environment on a role with no profile yet, through the panel's own menu; the
        // role's entries under its account's More, as the person sees them, are kept as a
        // screenshot.
        panel.walk_to(
            &desktop,
            &item,
            &[&account, "More", "Admin", "Copy environment"],
        );
        panel.screenshot(&screenshots_dir().join("tray-more-menu.png"));
        panel.press(&["Return"]);
        let pasted = clipboard_with(&desktop, "export AWS_SESSION_TOKEN=");
        assert!(
            pasted.contains("export AWS_ACCESS_KEY_ID='ASIA"),
            "{pasted}"
        );
        let output = in_bash(
            &sandbox,
            &sts,
            &pasted,
            "aws sts get-caller-identity --output json",
        );
        assert!(caller_arn(&output).ends_with(IDENTITY), "{output:?}");
        notified("copied");
        let admin = role_label(&desktop, &item, &account, "Admin");
        assert!(
            admin.ends_with("min left)"),
            "the role now has a profile, renewed by Rolecall: {admin}"
        );
        assert!(
            !std::fs::read_to_string(sandbox.aws_credentials_file())
                .unwrap()
                .contains("[default]"),
            "the active profile is left alone"
        );

        // Serve to containers and IDEs, then copy its variables.
        desktop.click_path(
            &item,
            &[&account, "More", &admin, "Serve to containers and IDEs"],
        );
        eventually(LIMIT, || {
            let admin = role_label(&desktop, &item, &account, "Admin");
            labels(desktop.submenu(&item, &[&account, "More", &admin]))
                .contains(&"Copy container variables".to_owned())
                .then_some(())
        })
        .expect("a served profile offers its container variables");
        let admin = role_label(&desktop, &item, &account, "Admin");
        let served = desktop.submenu(&item, &[&account, "More", &admin]);
        assert!(
            served
                .iter()
                .any(|entry| entry.label == "Serve to containers and IDEs"
                    && entry.checked == Some(true)),
            "{served:#?}"
        );
        desktop.click_path(
            &item,
            &[&account, "More", &admin, "Copy container variables"],
        );
        let variables = clipboard_with(&desktop, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        assert!(
            variables.contains("export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://127.0.0.1:"),
            "{variables}"
        );
        let output = in_bash(
            &sandbox,
            &sts,
            &variables,
            "test -z \"${AWS_ACCESS_KEY_ID-}\" && aws sts get-caller-identity --output json",
        );
        assert!(caller_arn(&output).ends_with(IDENTITY), "{output:?}");
        let wrong = in_bash(
            &sandbox,
            &sts,
            &variables,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong aws sts get-caller-identity --output json",
        );
        assert!(
            !wrong.status.success(),
            "a wrong token gets nothing: {wrong:?}"
        );
        let shown = in_bash(
            &sandbox,
            &sts,
            &variables,
            "printf '%s\\n' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\"",
        );
        let shown = String::from_utf8(shown.stdout).unwrap();
        let (endpoint, token) = shown.trim_end().split_once('\n').unwrap();
        assert_eq!(status_of(endpoint, "wrong"), 401);
        assert_eq!(status_of(endpoint, token), 200);
        notified("Anyone who has the token");

        // Copy sign-in link: the federation endpoint's login URL, and a notification that it
        // signs anyone in for 15 minutes.
        desktop.click_path(&item, &[&account, "More", &admin, "Copy sign-in link"]);
        let link = clipboard_with(&desktop, "Action=login");
        assert!(
            link.starts_with(&format!("{federation}?Action=login&")),
            "{link}"
        );
        let seen = notified("Sign-in link copied");
        assert!(seen.contains("15 minutes"), "{seen}");

        // Off: the endpoint stops.
        let admin = role_label(&desktop, &item, &account, "Admin");
        desktop.click_path(
            &item,
            &[&account, "More", &admin, "Serve to containers and IDEs"],
        );
        let address = endpoint
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        eventually(LIMIT, || {
            std::net::TcpStream::connect(&address)
                .is_err()
                .then_some(())
        })
        .expect("nothing listens once serving is off");

        desktop.click(&item, "Quit Rolecall");
        assert!(
            app.wait_for_exit(LIMIT)
                .is_some_and(|status| status.success())
        );
    });
    work.await.unwrap();
}
