//! How long building the tray's menu takes for the simulator's `many` user: 590 roles in 60
//! accounts, every role in a profile (after "All roles → profiles"), one of them active, five
//! favourites and five roles used last. The tray builds it at every change of the status and
//! every half minute, and draws it again only when it reads differently.
//!
//! Plain `std::time::Instant`, no harness: `cargo bench -p rolecall-core --bench tray_menu`.

use std::hint::black_box;
use std::time::Duration;

use rolecall_core::engine::{EndpointStatus, Overall, Phase, ProfileStatus, Status};
use rolecall_core::recent::Used;
use rolecall_core::saml::RolePair;
use rolecall_core::tray_menu::{self, Entry, Surroundings};
use rolecall_sim::SimConfig;

const RUNS: usize = 200;

fn status(now: time::OffsetDateTime) -> Status {
    let config = SimConfig::demo();
    let Some(user) = config.user("many") else {
        panic!("the simulator's demo has the user `many`");
    };
    let roles: Vec<RolePair> = (user.roles.iter())
        .map(|role| RolePair {
            role_arn: format!("arn:aws:iam::{}:role/{}", role.account_id, role.role_name),
            principal_arn: format!("arn:aws:iam::{}:saml-provider/ADFS", role.account_id),
        })
        .collect();
    let names = rolecall_core::accounts::AccountNames {
        cache: config.aliases.clone(),
        ..Default::default()
    };
    let accounts = rolecall_core::accounts::group(&roles, &names);
    let profiles = (roles.iter().enumerate())
        .map(|(n, role)| ProfileStatus {
            name: if n == 7 {
                "default".to_owned()
            } else {
                format!("p{n}")
            },
            endpoint: "corp".to_owned(),
            role_arn: role.role_arn.clone(),
            expiration: Some(now + time::Duration::minutes(5 + (n % 55) as i64)),
            active: n == 7,
            keep_refreshed: false,
            last_error: None,
            chain: Vec::new(),
            containers: None,
        })
        .collect();
    Status {
        endpoints: vec![EndpointStatus {
            name: "corp".to_owned(),
            phase: Phase::SignedIn {
                session_name: "many@corp.example".to_owned(),
            },
            accounts,
            claims_providers: Vec::new(),
        }],
        profiles,
        active_profile: "default".to_owned(),
        favourites: (roles.iter().step_by(97).take(5))
            .map(|role| role.role_arn.clone())
            .collect(),
        recent: (roles.iter().skip(3).step_by(89).take(5))
            .map(|role| Used::Role {
                endpoint: "corp".to_owned(),
                role_arn: role.role_arn.clone(),
            })
            .collect(),
        chains: Vec::new(),
        overall: Overall::Valid,
        problems: Vec::new(),
        files_revision: 0,
    }
}

fn count(entries: &[Entry]) -> usize {
    entries
        .iter()
        .map(|entry| match entry {
            Entry::Submenu { entries, .. } => 1 + count(entries),
            _ => 1,
        })
        .sum()
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let now = rolecall_core::clock::SystemClock.now();
    let status = status(now);
    let surroundings = Surroundings {
        demo: None,
        start_at_login: Some(false),
    };
    let menu = tray_menu::model(&status, surroundings, now);
    let entries = count(&menu.entries);
    // Fail loudly rather than time a menu without the roles.
    assert!(entries > 590 * 2, "{entries} entries");
    let mut builds: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = rolecall_core::clock::monotonic();
            let menu = tray_menu::model(black_box(&status), surroundings, now);
            let elapsed = start.elapsed();
            black_box(menu);
            elapsed
        })
        .collect();
    // What the tray does every half minute: build, then compare with what it drew.
    let mut compares: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = rolecall_core::clock::monotonic();
            let same = tray_menu::model(black_box(&status), surroundings, now) == menu;
            let elapsed = start.elapsed();
            assert!(same);
            elapsed
        })
        .collect();
    builds.sort();
    compares.sort();
    println!(
        "tray menu (590 roles, 60 accounts, {entries} entries): build median {:.0} µs, p95 {:.0} µs; \
         build and compare median {:.0} µs, p95 {:.0} µs",
        micros(builds[RUNS / 2]),
        micros(builds[RUNS * 95 / 100]),
        micros(compares[RUNS / 2]),
        micros(compares[RUNS * 95 / 100]),
    );
}
