//! All roles of a 590-role assertion assumed and written, against `rolecall-sim`'s STS with
//! 50 ms of latency per call: DESIGN §5 wants it well inside STS's 5-minute redemption window
//! (target 30 s) and the credentials file written once.
//!
//! `cargo bench -p rolecall-core --bench assume_all`

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::aws_files::{AwsFiles, FileChange};
use rolecall_core::clock::SystemClock;
use rolecall_core::idp::{self, NoPasscodes, Outcome, SignIn};
use rolecall_core::paths::{Environment, Platform};
use rolecall_core::profiles;
use rolecall_core::provision::{self, Request, Roles};
use rolecall_core::secrets::{MemoryStore, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Preferences, SignInMethod};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

const LATENCY: Duration = Duration::from_millis(50);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("a tokio runtime: {err}"));
    runtime.block_on(run());
}

async fn run() {
    let mut config = SimConfig::demo();
    config.sts.latency = LATENCY;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("a loopback port: {err}"));
    let sim = Sim::start(listener, config)
        .await
        .unwrap_or_else(|err| panic!("the simulator: {err}"));
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str())
        .unwrap_or_else(|err| panic!("the endpoint: {err}"));
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("many".to_owned());
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("a temp dir: {err}"));
    let files = AwsFiles::new(dir.path().join("credentials"), dir.path().join("config"));
    let env = Environment::new(Platform::current()).with("AWS_ENDPOINT_URL_STS", sim.sts_url());

    let start = rolecall_core::clock::monotonic();
    let outcome = idp::sign_in(SignIn {
        endpoint: &endpoint,
        password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
        secrets,
        passcodes: &NoPasscodes,
    })
    .await;
    let Ok(Outcome::SignedIn(signed_in)) = outcome else {
        panic!("the sign-in should work: {outcome:?}");
    };
    let signed_in_after = start.elapsed();
    let assertion = Arc::new(signed_in.assertion);
    let preferences = Preferences {
        profile_template: "{account_alias}-{role}".to_owned(),
        session_duration_secs: 3600,
        ..Preferences::default()
    };
    let ctx = provision::Context {
        env: &env,
        files: &files,
        config_dir: dir.path(),
        clock: &SystemClock,
        preferences: &preferences,
        endpoint: &endpoint,
        aliases: &Default::default(),
        limits: provision::limits_on_disk(dir.path()),
    };
    let roles = assertion.roles.len();
    let written = provision::provision(&ctx, &assertion, Request::new(Roles::All))
        .await
        .unwrap_or_else(|err| panic!("writing the profiles: {err}"));
    let total = start.elapsed();
    assert_eq!(
        written.profiles.len(),
        roles,
        "every role: {:?}",
        written.failed
    );
    assert_eq!(
        written.report.map(|report| report.credentials),
        Some(FileChange::Created),
        "one write of the credentials file"
    );
    println!(
        "assume all ({roles} roles, {} ms STS latency, {} calls in flight): sign-in {:.0} ms, \
         total {:.2} s, {} STS calls, credentials file written once",
        LATENCY.as_millis(),
        profiles::CONCURRENT_CALLS,
        signed_in_after.as_secs_f64() * 1000.0,
        total.as_secs_f64(),
        sim.stats().sts_calls
    );
}
