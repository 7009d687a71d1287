//! The provisioning use case against `rolecall-sim`: the console's new session lasts as long
//! as the person's setting says, and renewing a profile keeps its region.

use std::sync::Arc;

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::clock::SystemClock;
use rolecall_core::console;
use rolecall_core::idp::{self, NoPasscodes, Outcome};
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
