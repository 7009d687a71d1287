//! Expiry notifications on a real session bus: the tray app cannot renew the active profile
//! without the person, so it says why, then warns before the session ends, with a Renew
//! button. `dbus-monitor` records the `Notify` calls as a notification server receives them.

use std::process::Stdio;
use std::time::Duration;

use rolecall_core::clock::SystemClock;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};
use zbus::message::Type;

const LIMIT: Duration = Duration::from_secs(90);

/// An endpoint `corp` whose password is not kept, and an active profile `default` from it with
/// 8 minutes left: the app can renew it only with the person.
fn expiring_soon(desktop: &Desktop, sandbox: &Sandbox, url: &str, sts: &str) {
    let rolecall = |args: &[&str]| {
        let output = desktop
            .command(sandbox, rolecall_binary())
            .args(args)
            .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
            .env("AWS_ENDPOINT_URL_STS", sts)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "rolecall {args:?}: {output:?}");
    };
    rolecall(&[
        "endpoint",
        "add",
        "corp",
        "--url",
        url,
        "--auth",
        "forms",
        "--username",
        "alice",
    ]);
    // The password is given once and not kept (there is no keyring on this desktop).
    rolecall(&[
        "login",
        "--endpoint",
        "corp",
        "--role",
        "111122223333/Admin",
    ]);

    // The active profile now has 8 minutes left.
    let file = sandbox.aws_credentials_file();
    let soon = (SystemClock.now() + time::Duration::minutes(8))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let text: String = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|line| {
            if line.starts_with("x_security_token_expires") {
                format!("x_security_token_expires = {soon}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&file, text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_that_needs_the_person_is_announced_with_a_renew_button() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        expiring_soon(&desktop, &sandbox, &url, &sts);

        let log = sandbox.root().join("notifications.log");
        let _monitor = Running::spawn(
            std::process::Command::new("dbus-monitor")
                .args(["--address", desktop.bus_address()])
                .arg("interface='org.freedesktop.Notifications',member='Notify'")
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(Stdio::null()),
        );
        let mut command = desktop.command(&sandbox, rolecall_binary());
        command.env("AWS_ENDPOINT_URL_STS", &sts);
        let mut app = Running::spawn(&mut command);

        let seen = eventually(LIMIT, || {
            assert!(app.is_running(), "the app exited");
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("default expires in").then_some(text)
        })
        .expect("the expiry warning is sent to the notification server");
        assert!(
            seen.contains("Could not renew the profiles of") && seen.contains("corp"),
            "the failed renewal is told with its reason: {seen}"
        );
        assert!(
            seen.contains("password"),
            "the reason names what is missing: {seen}"
        );
        assert!(
            seen.contains("string \"renew\"") && seen.contains("string \"Renew\""),
            "the warning has a Renew action: {seen}"
        );
        assert!(
            seen.contains("string \"Rolecall\""),
            "sent as Rolecall: {seen}"
        );
        assert_eq!(
            seen.matches("default expires in").count(),
            1,
            "one warning per session: {seen}"
        );
        drop(app);
    });
    work.await.unwrap();
}

/// A notification server that takes every notification and answers with the next id; `press`
/// then presses Renew on each of them, as the person would.
struct NotificationServer {
    bus: zbus::Connection,
    handed_out: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl NotificationServer {
    async fn start(address: &str) -> Self {
        use zbus::export::futures_core::Stream as _;
        let bus = zbus::connection::Builder::address(address)
            .build()
            .await
            .unwrap();
        bus.request_name("org.freedesktop.Notifications")
            .await
            .unwrap();
        let handed_out = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (calls, counter) = (bus.clone(), std::sync::Arc::clone(&handed_out));
        tokio::spawn(async move {
            let mut messages = zbus::MessageStream::from(&calls);
            while let Some(Ok(message)) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut messages).poll_next(cx)).await
            {
                let header = message.header();
                if header.message_type() == Type::MethodCall
                    && header
                        .member()
                        .is_some_and(|member| member.as_str() == "Notify")
                {
                    let id = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    calls.reply(&header, &id).await.unwrap();
                }
            }
        });
        Self { bus, handed_out }
    }

    async fn press_renew_on_all(&self) {
        let count = self.handed_out.load(std::sync::atomic::Ordering::SeqCst);
        for id in 1..=count {
            self.bus
                .emit_signal(
                    None::<&str>,
                    "/org/freedesktop/Notifications",
                    "org.freedesktop.Notifications",
                    "ActionInvoked",
                    &(id, "renew"),
                )
                .await
                .unwrap();
        }
    }
}

/// Renew on the expiry warning signs in to its endpoint: here, without a password kept, the
/// sign-in window opens on the IdP's page or a notification says why it could not renew.
#[tokio::test(flavor = "multi_thread")]
async fn pressing_renew_on_the_warning_signs_in_to_its_endpoint() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let sandbox = Sandbox::new();
    let desktop = tokio::task::block_in_place(Desktop::start);
    tokio::task::block_in_place(|| expiring_soon(&desktop, &sandbox, &url, &sts));
    let server = NotificationServer::start(desktop.bus_address()).await;

    let log = sandbox.root().join("notifications.log");
    let _monitor = Running::spawn(
        std::process::Command::new("dbus-monitor")
            .args(["--address", desktop.bus_address()])
            .arg("interface='org.freedesktop.Notifications',member='Notify'")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null()),
    );
    let mut command = desktop.command(&sandbox, rolecall_binary());
    command.env("AWS_ENDPOINT_URL_STS", &sts);
    let mut app = Running::spawn(&mut command);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    tokio::task::block_in_place(|| {
        eventually(LIMIT, || {
            assert!(app.is_running(), "the app exited");
            read_log().contains("default expires in").then_some(())
        })
    })
    .expect("the expiry warning is shown");

    server.press_renew_on_all().await;
    let outcome = tokio::task::block_in_place(|| {
        eventually(LIMIT, || {
            if read_log().contains("Could not renew\"") {
                return Some("a notification says why it could not renew");
            }
            (desktop.window_titles().iter())
                .any(|title| title == "Sign in to corp — Rolecall")
                .then_some("the sign-in window opened")
        })
    });
    assert!(
        outcome.is_some(),
        "Renew should sign in to corp: {}",
        read_log()
    );
    eprintln!("Renew: {}", outcome.unwrap_or_default());
    drop(app);
}
