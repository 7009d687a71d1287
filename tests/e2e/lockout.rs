//! A stored password that the IdP refuses (the person changed it) is sent once, not on every
//! AWS CLI call: the real `rolecall credential-process`, renewing by itself or through the
//! running tray app, against the simulator with the password in a real Secret Service, stops
//! after the first refusal and says how to fix it, until `rolecall password set` stores the
//! right one.

use std::io::Write;
use std::process::{Output, Stdio};

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::keyring::SecretService;
use rolecall_tests::{Sandbox, rolecall_binary};
use time::Duration;
use time::format_description::well_known::Rfc3339;

const CALLS: usize = 20;

struct World {
    sandbox: Sandbox,
    env: Vec<(String, std::ffi::OsString)>,
    /// Whether `credential-process` runs without the keyring's bus, so only the tray app can
    /// renew.
    callers_without_keyring: bool,
}

impl World {
    /// Runs `rolecall` with `stdin` on its standard input, on a blocking thread while the
    /// simulator keeps serving.
    async fn rolecall(&self, args: &[&str], stdin: &str, extra: &[(&str, &str)]) -> Output {
        let mut command = self.sandbox.command(rolecall_binary());
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied());
        if self.callers_without_keyring && args.first() == Some(&"credential-process") {
            command.env_remove("DBUS_SESSION_BUS_ADDRESS");
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    /// Makes the profile's credentials end in 5 minutes, so `credential-process` renews them.
    fn expire_soon(&self, profile: &str) {
        let path = self.sandbox.aws_credentials_file();
        let text = std::fs::read_to_string(&path).unwrap();
        let soon = (rolecall_core::clock::SystemClock.now() + Duration::minutes(5))
            .replace_nanosecond(0)
            .unwrap()
            .format(&Rfc3339)
            .unwrap();
        let mut inside = false;
        let edited: String = text
            .lines()
            .map(|line| {
                if line.starts_with('[') {
                    inside = line == format!("[{profile}]");
                }
                if inside && line.starts_with("x_security_token_expires") {
                    format!("x_security_token_expires = {soon}\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        assert_ne!(edited, text, "the expiration of [{profile}] was changed");
        std::fs::write(&path, edited).unwrap();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The simulator, and a sandbox with a real Secret Service where `rolecall` signed in to
/// endpoint `corp` and wrote the profile `work`; then the password changed at the IdP (the
/// keyring keeps the old one), the IdP's SSO session ended and `work` is about to expire.
async fn after_a_password_change() -> (Sim, World, SecretService) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let mut world = World {
        sandbox: Sandbox::new(),
        env: Vec::new(),
        callers_without_keyring: false,
    };
    let service = tokio::task::block_in_place(|| SecretService::start(&world.sandbox, "pw"));
    world.env = service
        .env()
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    world.env.push((
        "AWS_ENDPOINT_URL_STS".to_owned(),
        sim.sts_url().as_str().into(),
    ));

    let url = sim.sign_on_url().to_string();
    let added = world
        .rolecall(
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
            "",
            &[],
        )
        .await;
    assert!(added.status.success(), "{added:?}");
    let stored = world
        .rolecall(
            &["password", "set", "--endpoint", "corp"],
            DEMO_PASSWORD,
            &[],
        )
        .await;
    assert!(stored.status.success(), "{stored:?}");
    let login = world
        .rolecall(
            &[
                "login",
                "--endpoint",
                "corp",
                "--role",
                "corp-prod/ReadOnly",
                "--profile",
                "work",
            ],
            "",
            &[],
        )
        .await;
    assert!(login.status.success(), "{login:?}");

    let changed = world
        .rolecall(
            &["password", "set", "--endpoint", "corp"],
            "the-old-password\n",
            &[],
        )
        .await;
    assert!(changed.status.success(), "{changed:?}");
    sim.advance_clock(std::time::Duration::from_secs(9 * 60 * 60));
    world.expire_soon("work");
    (sim, world, service)
}

/// `CALLS` refused calls, each saying what happened and what to do.
async fn refused_calls(world: &World) {
    for call in 0..CALLS {
        let refused = world
            .rolecall(&["credential-process", "--profile", "work"], "", &[])
            .await;
        assert_eq!(refused.status.code(), Some(1), "call {call}: {refused:?}");
        assert!(refused.stdout.is_empty(), "no credentials printed");
        let message = text(&refused.stderr);
        assert!(
            message.contains("refused the password Rolecall keeps for endpoint \"corp\"")
                && message.contains("rolecall password set --endpoint corp"),
            "call {call} says what happened and what to do: {message}"
        );
    }
}

/// `password set` with the right password, then one call that is served.
async fn fixed(world: &World) {
    let fixed = world
        .rolecall(
            &["password", "set", "--endpoint", "corp"],
            &format!("{DEMO_PASSWORD}\n"),
            &[],
        )
        .await;
    assert!(fixed.status.success(), "{fixed:?}");
    let renewed = world
        .rolecall(&["credential-process", "--profile", "work"], "", &[])
        .await;
    assert!(renewed.status.success(), "{renewed:?}");
    let json: serde_json::Value = serde_json::from_slice(&renewed.stdout).unwrap();
    assert_eq!(json["Version"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_stored_password_is_posted_once_in_twenty_credential_process_calls() {
    let (sim, world, _service) = after_a_password_change().await;
    let before = sim.stats().form_posts;
    refused_calls(&world).await;
    assert_eq!(
        sim.stats().form_posts - before,
        1,
        "the IdP saw the old password once in {CALLS} calls"
    );
    // `rolecall login` without a typed password does not send the refused one either.
    let login = world
        .rolecall(
            &[
                "login",
                "--endpoint",
                "corp",
                "--role",
                "corp-prod/ReadOnly",
                "--profile",
                "work",
            ],
            "",
            &[],
        )
        .await;
    assert!(!login.status.success(), "{login:?}");
    assert!(
        text(&login.stderr).contains("refused the password Rolecall keeps"),
        "{login:?}"
    );
    assert_eq!(sim.stats().form_posts - before, 1);
    fixed(&world).await;
    assert_eq!(sim.stats().form_posts - before, 2, "the new password, once");
}

/// The same through the running tray app: `credential-process` (without the keyring, so only
/// the app can sign in) asks it over the credential socket, and the app's renewals heed the
/// refusal too.
#[tokio::test(flavor = "multi_thread")]
async fn the_tray_app_also_posts_a_refused_password_once_for_twenty_callers() {
    use rolecall_tests::{Desktop, Running, eventually};

    let (sim, mut world, service) = after_a_password_change().await;
    world.callers_without_keyring = true;
    let desktop = Desktop::start();
    let mut command = desktop.command(&world.sandbox, rolecall_binary());
    command.envs(service.env()).envs(
        world
            .env
            .iter()
            .filter(|(key, _)| key == "AWS_ENDPOINT_URL_STS")
            .map(|(k, v)| (k, v)),
    );
    let mut app = Running::spawn(&mut command);
    let socket = world
        .sandbox
        .runtime_dir()
        .join("rolecall")
        .join("credentials.sock");
    eventually(std::time::Duration::from_secs(90), || {
        assert!(app.is_running(), "the app exited");
        socket.exists().then_some(())
    })
    .expect("the app opens its credential socket");

    let before = sim.stats().form_posts;
    refused_calls(&world).await;
    assert_eq!(
        sim.stats().form_posts - before,
        1,
        "the IdP saw the old password once in {CALLS} calls through the app"
    );
    fixed(&world).await;
    assert_eq!(sim.stats().form_posts - before, 2, "the new password, once");
    assert!(app.is_running());
}
