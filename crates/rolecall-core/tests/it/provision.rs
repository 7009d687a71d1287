//! The provisioning use case against `rolecall-sim`: the console's new session lasts as long
//! as the person's setting says, and renewing a profile keeps its region.

use std::sync::Arc;

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::clock::SystemClock;
use rolecall_core::console;
use rolecall_core::idp::{self, NoPasscodes, Outcome};
use rolecall_core::last_sign_in::{self, LastSignIn, Via};
use rolecall_core::paths::{Environment, Platform};
use rolecall_core::provision::{self, Request, Roles};
use rolecall_core::saml::{Assertion, RolePair};
use rolecall_core::secrets::{MemoryStore, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Preferences, SignInMethod};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

const EIGHT_HOURS: u32 = 8 * 60 * 60;

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

fn endpoint(sim: &Sim) -> Endpoint {
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    endpoint
}

async fn assertion_of(endpoint: &Endpoint) -> Arc<Assertion> {
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let outcome = idp::sign_in(idp::SignIn {
        endpoint,
        password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
        secrets,
        passcodes: &NoPasscodes,
    })
    .await
    .unwrap();
    let Outcome::SignedIn(signed_in) = outcome else {
        panic!("alice should sign in: {outcome:?}");
    };
    Arc::new(signed_in.assertion)
}

/// alice's Admin role in corp-prod, which allows 12-hour sessions.
fn admin(assertion: &Assertion) -> RolePair {
    assertion
        .roles
        .iter()
        .find(|role| role.role_name() == "Admin" && role.account_id() == "111122223333")
        .cloned()
        .unwrap()
}

fn preferences() -> Preferences {
    Preferences {
        session_duration_secs: EIGHT_HOURS,
        regions: [("111122223333".to_owned(), "eu-central-1".to_owned())].into(),
        ..Preferences::default()
    }
}

/// Opening the console for a role without a fresh profile used to ask STS for at most an
/// hour, whatever the person's session length; now it asks for the setting, as a profile does.
#[tokio::test]
async fn the_consoles_new_session_lasts_the_session_length_of_the_settings() {
    let sim = sim().await;
    let endpoint = endpoint(&sim);
    let assertion = assertion_of(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let files = AwsFiles::new(dir.path().join("credentials"), dir.path().join("config"));
    let env = Environment::new(Platform::current())
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url())
        .with(console::SIGNIN_ENDPOINT_VAR, sim.federation_url());
    let preferences = preferences();
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
    let admin = admin(&assertion);
    assert!(
        provision::fresh_console_session(&ctx, &admin.role_arn)
            .unwrap()
            .is_none(),
        "no profile yet"
    );

    let session = provision::new_console_session(&ctx, &assertion, &admin)
        .await
        .unwrap();

    let left = session.credentials.expiration.unwrap() - SystemClock.now();
    assert!(
        (time::Duration::minutes(8 * 60 - 5)..=time::Duration::minutes(8 * 60 + 5)).contains(&left),
        "eight hours, as the settings say: {left}"
    );
    assert_eq!(sim.stats().sts_calls, 1, "asked once, for eight hours");
    assert_eq!(session.region, "eu-central-1", "the account's region");
    assert!(
        !files.credentials_file().exists(),
        "the console's session is written nowhere"
    );
    let login = provision::console_url(&env, &endpoint.network(), &session, SystemClock.now())
        .await
        .unwrap();
    let destination = login
        .expose()
        .query_pairs()
        .find(|(name, _)| name == "Destination")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    assert!(
        destination.ends_with("region=eu-central-1"),
        "{destination}"
    );
}

/// A profile renewed keeps the region it was written with (`rolecall login --region`), while
/// a role provisioned anew follows the settings.
#[tokio::test]
async fn a_renewed_profile_keeps_its_region_and_a_new_one_follows_the_settings() {
    let sim = sim().await;
    let endpoint = endpoint(&sim);
    let assertion = assertion_of(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let files = AwsFiles::new(dir.path().join("credentials"), dir.path().join("config"));
    let env = Environment::new(Platform::current()).with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    let preferences = preferences();
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
    let admin = admin(&assertion);
    let one = |profile: &str| Roles::One {
        role: admin.clone(),
        profile: profile.to_owned(),
    };
    let asked = Request {
        region: Some("ap-south-1".to_owned()),
        ..Request::new(one("work"))
    };
    provision::provision(&ctx, &assertion, asked).await.unwrap();
    provision::provision(&ctx, &assertion, Request::new(one("plain")))
        .await
        .unwrap();
    assert_eq!(
        files.read_region("work").unwrap().as_deref(),
        Some("ap-south-1")
    );
    assert_eq!(
        files.read_region("plain").unwrap().as_deref(),
        Some("eu-central-1")
    );

    let again = Request::new(Roles::Again(vec![(admin.clone(), "work".to_owned())]));
    let renewed = provision::provision(&ctx, &assertion, again).await.unwrap();

    assert_eq!(renewed.profiles.len(), 1, "{:?}", renewed.failed);
    assert_eq!(
        files.read_region("work").unwrap().as_deref(),
        Some("ap-south-1"),
        "renewing keeps the region asked for"
    );
}

/// A help desk reads STS's own words: when STS refuses a role, the endpoint's last sign-in
/// keeps the code and message STS sent, and the settings window's Last sign-in panel shows
/// them next to what the assertion said.
#[tokio::test]
async fn a_refusal_of_sts_is_kept_word_for_word_with_the_last_sign_in() {
    let mut config = SimConfig::demo();
    config.sts.denied_roles.insert("ReadOnly".to_owned());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, config).await.unwrap();
    let endpoint = endpoint(&sim);
    let assertion = assertion_of(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::new(Platform::current())
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "ROLECALL_CONFIG_DIR",
            dir.path().join("config").to_string_lossy(),
        )
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    let paths = rolecall_core::paths::AppPaths::resolve(&env).unwrap();
    let mut settings = rolecall_core::settings::Settings::default();
    settings.add_endpoint(endpoint.clone()).unwrap();
    settings.save(&paths).unwrap();
    last_sign_in::record(
        &paths.config_dir,
        "corp",
        LastSignIn::of(&assertion, Via::Window, SystemClock.now()),
    )
    .unwrap();
    let files = AwsFiles::from_paths(&paths);
    let preferences = preferences();
    let ctx = provision::Context {
        env: &env,
        files: &files,
        config_dir: &paths.config_dir,
        clock: &SystemClock,
        preferences: &preferences,
        endpoint: &endpoint,
        aliases: &Default::default(),
        limits: provision::limits_on_disk(&paths.config_dir),
    };
    let read_only = assertion
        .roles
        .iter()
        .find(|role| role.role_name() == "ReadOnly")
        .cloned()
        .expect("alice has a ReadOnly role");

    let written = provision::provision(
        &ctx,
        &assertion,
        Request::new(Roles::One {
            role: read_only.clone(),
            profile: "ro".to_owned(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(written.failed.len(), 1, "STS refuses ReadOnly");

    let kept = last_sign_in::read(&paths.config_dir).unwrap()["corp"]
        .sts_refusal
        .clone()
        .expect("the refusal is kept with the last sign-in");
    assert_eq!(kept.role_arn, read_only.role_arn);
    assert_eq!(
        (kept.aws.code.as_str(), kept.aws.message.as_str()),
        (
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithSAML"
        ),
        "STS's code and message, as it sent them"
    );

    let view = rolecall_core::endpoints::view(&paths, &MemoryStore::new(), []).unwrap();
    let panel = view.endpoints[0]
        .last_sign_in
        .as_ref()
        .expect("the window has a Last sign-in panel for corp");
    let row = |label: &str| -> Vec<String> {
        panel
            .iter()
            .filter(|row| row.label == label)
            .map(|row| row.value.clone())
            .collect()
    };
    assert_eq!(row("Issuer"), [assertion.issuer.clone().unwrap()]);
    assert_eq!(row("Destination"), [assertion.destination.clone().unwrap()]);
    assert_eq!(row("Audience"), ["urn:amazon:webservices"]);
    assert_eq!(row("NotOnOrAfter").len(), 1);
    assert_eq!(
        row("Role").len(),
        assertion.roles.len(),
        "every role the assertion grants"
    );
    let refused = row("STS refused");
    assert!(
        refused.len() == 1
            && refused[0].starts_with(&read_only.role_arn)
            && refused[0]
                .ends_with("AccessDenied: Not authorized to perform sts:AssumeRoleWithSAML"),
        "the panel shows STS's words: {refused:?}"
    );
}
