//! How often the idle tray wakes up: signed in, one role in use with a one-hour session, nobody
//! at the menu. A measurement, not a check (it watches for minutes): `scripts/bench-idle` runs
//! it against a release build and prints the figures.

use std::collections::BTreeMap;
use std::time::Duration;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::keyring::{SecretService, SessionBus};
use rolecall_tests::{Desktop, Sandbox, eventually};

const LIMIT: Duration = Duration::from_secs(90);
/// Time for the start's own work (the first renewal plan, the menu's first renders) to end.
const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement of minutes: scripts/bench-idle runs it"]
async fn idle_tray_wake_ups() {
    let seconds: u64 = std::env::var("ROLECALL_IDLE_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300);
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

        let (mut app, item) = desktop.start_tray(&sandbox, &sts, LIMIT);
        desktop.click(&item, "Sign in to corp");
        let account = eventually(LIMIT, || {
            desktop
                .menu(&item)
                .into_iter()
                .map(|entry| entry.label)
                .find(|label| label.ends_with("(111122223333)"))
        })
        .expect("after signing in, the accounts are listed");
        desktop.click_path(&item, &[&account, "Admin"]);
        let credentials = sandbox.aws_credentials_file();
        eventually(LIMIT, || {
            std::fs::read_to_string(&credentials)
                .ok()
                .filter(|text| text.contains("aws_session_token"))
        })
        .expect("Use writes the active profile");

        std::thread::sleep(SETTLE);
        let before = switches(app.pid());
        std::thread::sleep(Duration::from_secs(seconds));
        let after = switches(app.pid());
        assert!(app.is_running(), "the tray kept running");

        let minutes = seconds as f64 / 60.0;
        let mut total = 0;
        println!("wake-ups of the idle tray over {seconds} s, per minute, by thread:");
        for (thread, count) in &after {
            let woke = count - before.get(thread).copied().unwrap_or(0);
            total += woke;
            if woke > 0 {
                println!("  {thread:<24} {:>8.1}", woke as f64 / minutes);
            }
        }
        println!("  {:<24} {:>8.1}", "all threads", total as f64 / minutes);
        println!("threads: {}", after.len());
        desktop.click(&item, "Quit Rolecall");
        app.wait_for_exit(LIMIT);
    });
    work.await.unwrap();
    drop(sim);
}

/// Voluntary context switches (each one a sleep the thread woke from) per thread name,
/// threads of one name summed.
fn switches(pid: u32) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the app's threads");
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let voluntary: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        *counts.entry(name.trim().to_owned()).or_insert(0) += voluntary;
    }
    counts
}
