//! Expiry notifications on a real session bus: the tray app cannot renew the active profile
//! without the person, so it says why, then warns before the session ends, with a Renew
//! button. `dbus-monitor` records the `Notify` calls as a notification server receives them.

use std::process::Stdio;
use std::time::Duration;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread")]
async fn a_session_that_needs_the_person_is_announced_with_a_renew_button() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let rolecall = |args: &[&str]| {
            let output = desktop
                .command(&sandbox, rolecall_binary())
                .args(args)
                .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
                .env("AWS_ENDPOINT_URL_STS", &sts)
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
            &url,
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
        let soon = (rolecall_core::clock::SystemClock.now() + time::Duration::minutes(8))
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
