//! STS through aws-sdk-sts against `rolecall-sim`'s STS, which answers with AWS's own wire
//! shapes: credentials, the duration policy, AWS's errors, throttling, and all roles at once.

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::aws_files::{AwsFiles, FileChange};
use rolecall_core::clock::SystemClock;
use rolecall_core::http::Network;
use rolecall_core::idp::{self, NoPasscodes, Outcome, SignIn};
use rolecall_core::partition::Partition;
use rolecall_core::paths::{Environment, Platform};
use rolecall_core::provision::{self, Request, Roles};
use rolecall_core::registry::Registry;
use rolecall_core::saml::{Assertion, RolePair};
use rolecall_core::secrets::{MemoryStore, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Preferences, SignInMethod};
use rolecall_core::sts::{SessionLimits, Sts, StsError};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

async fn sim_with(config: SimConfig) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

fn endpoint(sim: &Sim, user: &str) -> Endpoint {
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some(user.to_owned());
    endpoint
}

async fn assertion_of(sim: &Sim, user: &str) -> Assertion {
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let endpoint = endpoint(sim, user);
    let outcome = idp::sign_in(SignIn {
        endpoint: &endpoint,
        password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
        secrets,
        passcodes: &NoPasscodes,
    })
    .await
    .unwrap();
    match outcome {
        Outcome::SignedIn(signed_in) => signed_in.assertion,
        other => panic!("{user} should sign in: {other:?}"),
    }
}

fn sts(sim: &Sim) -> Sts {
    let env = Environment::new(Platform::current()).with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    Sts::new(&Network::default(), &env, Partition::Aws, "us-east-1").unwrap()
}

fn role(assertion: &Assertion, name: &str) -> RolePair {
    assertion
        .roles
        .iter()
        .find(|role| role.role_name() == name && role.account_id() == "111122223333")
        .cloned()
        .unwrap_or_else(|| panic!("alice holds {name}: {:?}", assertion.roles))
}

#[tokio::test]
async fn a_role_is_assumed_for_the_duration_asked() {
    let sim = sim_with(SimConfig::demo()).await;
    let assertion = assertion_of(&sim, "alice").await;
    let admin = role(&assertion, "Admin");

    let credentials = sts(&sim).assume(&admin, &assertion, 3600).await.unwrap();

    assert!(
        credentials.access_key_id.starts_with("ASIA"),
        "{credentials:?}"
    );
    let left = credentials.expiration - SystemClock.now();
    assert!(
        (time::Duration::minutes(55)..=time::Duration::minutes(65)).contains(&left),
        "about an hour: {left}"
    );
    assert_eq!(
        credentials.principal_arn.as_deref(),
        Some("arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example")
    );
    assert!(!format!("{credentials:?}").contains(credentials.session_token.expose()));
}

#[tokio::test]
async fn a_role_with_a_shorter_limit_is_retried_once_at_an_hour_and_remembered() {
    let sim = sim_with(SimConfig::demo()).await;
    let assertion = assertion_of(&sim, "alice").await;
    let read_only = role(&assertion, "ReadOnly");
    let sts = sts(&sim);

    // alice's assertion allows 8 hours; ReadOnly's MaxSessionDuration is IAM's default hour.
    let assumed = sts
        .assume_with_policy(&read_only, &assertion, 43_200, &SessionLimits::default())
        .await
        .unwrap();
    assert_eq!(assumed.learned_limit, Some(3600));
    let calls = sim.stats().sts_calls;
    assert_eq!(calls, 2, "one refused call, one retry");

    // Knowing the limit, the next call asks right the first time.
    let mut limits = SessionLimits::default();
    limits.remember(&read_only.role_arn, 3600).unwrap();
    let again = sts
        .assume_with_policy(&read_only, &assertion, 43_200, &limits)
        .await
        .unwrap();
    assert_eq!(again.learned_limit, None);
    assert_eq!(sim.stats().sts_calls, calls + 1);

    // A role allowed 12 hours gets what the assertion allows (8 hours).
    let admin = sts
        .assume_with_policy(&role(&assertion, "Admin"), &assertion, 43_200, &limits)
        .await
        .unwrap();
    let left = admin.credentials.expiration - SystemClock.now();
    assert!(left > time::Duration::hours(7), "{left}");
}

#[tokio::test]
async fn sts_errors_become_sentences() {
    let sim = sim_with(SimConfig::demo()).await;
    let assertion = assertion_of(&sim, "alice").await;
    let sts = sts(&sim);

    let stranger = RolePair {
        role_arn: "arn:aws:iam::999999999999:role/Other".to_owned(),
        principal_arn: "arn:aws:iam::999999999999:saml-provider/ADFS".to_owned(),
    };
    let denied = sts.assume(&stranger, &assertion, 3600).await.unwrap_err();
    assert!(
        matches!(denied, StsError::AccessDenied { .. }),
        "{denied:?}"
    );
    assert!(denied.to_string().contains("trust policy"), "{denied}");

    sim.advance_clock(Duration::from_secs(6 * 60));
    let expired = sts
        .assume(&role(&assertion, "Admin"), &assertion, 3600)
        .await
        .unwrap_err();
    assert!(
        matches!(expired, StsError::AssertionExpired { .. }),
        "{expired:?}"
    );
    assert!(expired.to_string().contains("Sign in again"), "{expired}");
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let mut config = SimConfig::demo();
    config.sts.throttle_first = 2;
    let sim = sim_with(config).await;
    let assertion = assertion_of(&sim, "alice").await;
    let credentials = sts(&sim)
        .assume(&role(&assertion, "Admin"), &assertion, 3600)
        .await
        .unwrap();
    assert!(credentials.access_key_id.starts_with("ASIA"));
    assert_eq!(
        sim.stats().sts_calls,
        3,
        "two throttled calls, then the answer"
    );
}

#[tokio::test]
async fn an_unreachable_sts_names_its_endpoint() {
    let sim = sim_with(SimConfig::demo()).await;
    let assertion = assertion_of(&sim, "alice").await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let env = Environment::new(Platform::current())
        .with("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}/"));
    let sts = Sts::new(&Network::default(), &env, Partition::Aws, "us-east-1").unwrap();
    let err = sts
        .assume(&role(&assertion, "Admin"), &assertion, 3600)
        .await
        .unwrap_err();
    assert!(matches!(err, StsError::Network { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

/// 590 roles from one assertion, with a denied one among them: the others are still written,
/// in one update of the credentials file.
#[tokio::test]
async fn all_roles_of_a_large_assertion_are_written_in_one_update() {
    let mut config = SimConfig::demo();
    config.sts.latency = Duration::from_millis(20);
    let denied = "arn:aws:iam::210000000000:role/Admin".to_owned();
    config.sts.denied_roles.insert(denied.clone());
    let sim = sim_with(config).await;
    let assertion = Arc::new(assertion_of(&sim, "many").await);
    let dir = tempfile::tempdir().unwrap();
    let files = AwsFiles::new(dir.path().join("credentials"), dir.path().join("config"));
    let endpoint = endpoint(&sim, "many");
    let env = Environment::new(Platform::current()).with("AWS_ENDPOINT_URL_STS", sim.sts_url());
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
    let request = Request {
        region: Some("eu-west-1".to_owned()),
        ..Request::new(Roles::All)
    };

    let written = provision::provision(&ctx, &assertion, request)
        .await
        .unwrap();

    assert_eq!(written.profiles.len(), 589);
    assert_eq!(written.failed.len(), 1);
    assert_eq!(written.failed[0].1.role_arn, denied);
    let report = written.report.unwrap();
    assert_eq!(report.credentials, FileChange::Created);
    let text = std::fs::read_to_string(files.credentials_file()).unwrap();
    assert_eq!(text.matches("aws_session_token").count(), 589);
    assert_eq!(
        Registry::load(dir.path()).unwrap().all().len(),
        589,
        "every written profile knows where it came from"
    );
    let (name, _, credentials) = &written.profiles[0];
    let stored = files.read_credentials(name).unwrap().unwrap();
    assert_eq!(stored.access_key_id, credentials.access_key_id);
}
