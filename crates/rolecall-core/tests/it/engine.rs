//! The app's engine against the simulator: sign in, use a role, and the background renewal
//! driven by a clock the test jumps, as after a laptop slept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolecall_core::engine::{Action, Clock, Engine, EngineConfig, Notice, Overall, Phase, Status};
use rolecall_core::paths::{AppPaths, Environment, Platform};
use rolecall_core::recent::Used;
use rolecall_core::refresh::WarningKind;
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use time::OffsetDateTime;

#[derive(Debug)]
struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    fn jump(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

struct World {
    sim: Sim,
    engine: Engine,
    notices: tokio::sync::mpsc::UnboundedReceiver<Notice>,
    clock: Arc<TestClock>,
    secrets: Arc<MemoryStore>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    world_with(sim, Vec::new(), None)
}

/// [`world`] with `sim`, more environment and the endpoint's CA file.
fn world_with(
    sim: Sim,
    more_env: Vec<(&str, String)>,
    ca_file: Option<std::path::PathBuf>,
) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Environment::new(Platform::current())
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "ROLECALL_CONFIG_DIR",
            dir.path().join("config").to_string_lossy(),
        )
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    for (name, value) in more_env {
        env = env.with(name, value);
    }
    let paths = AppPaths::resolve(&env).unwrap();
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    endpoint.ca_file = ca_file;
    let mut settings = Settings::default();
    settings.add_endpoint(endpoint).unwrap();
    settings.save(&paths).unwrap();
    let secrets = Arc::new(MemoryStore::new());
    secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let clock = Arc::new(TestClock(Mutex::new(
        rolecall_core::clock::SystemClock.now(),
    )));
    let (engine, notices) = Engine::new(EngineConfig {
        paths,
        env,
        secrets: Arc::clone(&secrets) as Arc<dyn SecretStore>,
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
    });
    World {
        sim,
        engine,
        notices,
        clock,
        secrets,
        _dir: dir,
    }
}

async fn wait_for(engine: &Engine, what: &str, check: impl Fn(&Status) -> bool) -> Status {
    let mut status = engine.subscribe();
    tokio::time::timeout(Duration::from_secs(60), status.wait_for(|s| check(s)))
        .await
        .unwrap_or_else(|_| panic!("{what}: {:?}", engine.status()))
        .unwrap()
        .clone()
}

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const READ_ONLY: &str = "arn:aws:iam::111122223333:role/ReadOnly";

/// What the sign-in window would capture: a SAML response of the IdP, got here with the forms
/// method and alice's password.
async fn response_of(endpoint: &Endpoint) -> Box<rolecall_core::idp::SignedIn> {
    let outcome = rolecall_core::idp::sign_in(rolecall_core::idp::SignIn {
        endpoint,
        password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
        secrets: Arc::new(MemoryStore::new()),
        passcodes: &rolecall_core::idp::NoPasscodes,
    })
    .await
    .unwrap();
    match outcome {
        rolecall_core::idp::Outcome::SignedIn(signed_in) => signed_in,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_lists_accounts_and_using_a_role_makes_the_active_profile() {
    let world = world().await;
    assert_eq!(world.engine.status().overall, Overall::SignedOut);
    assert_eq!(world.engine.status().endpoints[0].phase, Phase::SignedOut);

    world
        .engine
        .act(Action::SignIn {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    let status = world.engine.status();
    assert!(
        matches!(&status.endpoints[0].phase, Phase::SignedIn { session_name } if session_name == "alice@corp.example"),
        "{status:?}"
    );
    assert_eq!(status.endpoints[0].accounts.len(), 3);

    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let status = world.engine.status();
    let active = status
        .profiles
        .iter()
        .find(|p| p.active)
        .expect("an active profile");
    assert_eq!(active.name, "default");
    assert_eq!(active.role_arn, ADMIN);
    assert_eq!(status.overall, Overall::Valid);
    assert_eq!(
        world.sim.stats().form_posts,
        1,
        "the sign-in's assertion was reused"
    );

    // The roles used last, newest first, for the tray's top; still there after a restart.
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: READ_ONLY.to_owned(),
        })
        .await
        .unwrap();
    let used = |role_arn: &str| Used::Role {
        endpoint: "corp".to_owned(),
        role_arn: role_arn.to_owned(),
    };
    assert_eq!(world.engine.status().recent, [used(READ_ONLY), used(ADMIN)]);
    let (restarted, _) = Engine::new(world.engine.config().clone());
    assert_eq!(restarted.status().recent, [used(READ_ONLY), used(ADMIN)]);
}

/// The active profile is renewed when 15 minutes are left, with no one asked, after the clock
/// jumps (a laptop waking up) — the scheduler never slept past it.
#[tokio::test(flavor = "multi_thread")]
async fn the_active_profile_is_renewed_in_the_background_before_it_expires() {
    let world = world().await;
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let first = world.engine.status().profiles[0].expiration.unwrap();
    let calls = world.sim.stats().sts_calls;
    let _renewals = world.engine.start_renewals();

    // The wall clock moves for everyone: Rolecall and the IdP/STS.
    world.clock.jump(time::Duration::minutes(50));
    world.sim.advance_clock(Duration::from_secs(50 * 60));
    world
        .engine
        .act(Action::KeepRefreshed {
            profile: "default".to_owned(),
            on: true,
        })
        .await
        .unwrap();

    wait_for(&world.engine, "the profile should be renewed", |status| {
        status.profiles[0].expiration.is_some_and(|e| e > first)
    })
    .await;
    assert_eq!(world.sim.stats().sts_calls, calls + 1);
}

/// When renewal needs a person (the IdP session is over and there is no password), the person
/// is told once, then warned before expiry; nothing loops.
#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_that_needs_a_person_says_so_and_then_warns() {
    let mut world = world().await;
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    world.secrets.delete("corp", SecretKind::Password).unwrap();
    world.sim.advance_clock(Duration::from_secs(9 * 60 * 60));
    let _renewals = world.engine.start_renewals();

    // 51 minutes: clearly inside the 10-minute warning lead, whatever the seconds.
    world.clock.jump(time::Duration::minutes(51));
    world
        .engine
        .act(Action::KeepRefreshed {
            profile: "default".to_owned(),
            on: true,
        })
        .await
        .unwrap();

    let first = tokio::time::timeout(Duration::from_secs(60), world.notices.recv())
        .await
        .expect("a notice")
        .unwrap();
    assert!(
        matches!(&first, Notice::RenewalFailed { endpoint, message } if endpoint == "corp" && message.contains("password")),
        "{first:?}"
    );
    let second = tokio::time::timeout(Duration::from_secs(60), world.notices.recv())
        .await
        .expect("a warning")
        .unwrap();
    assert!(
        matches!(&second, Notice::Expiry(warning) if warning.kind == WarningKind::ExpiresSoon && warning.profile == "default"),
        "{second:?}"
    );
    let posts = world.sim.stats().form_posts;
    world
        .engine
        .act(Action::KeepRefreshed {
            profile: "default".to_owned(),
            on: true,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        world.notices.try_recv().is_err(),
        "no repeated notices for the same session"
    );
    assert_eq!(
        world.sim.stats().form_posts,
        posts,
        "no silent retries that cannot work"
    );
    assert!(world.engine.status().profiles[0].last_error.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn all_roles_writes_a_profile_per_role_and_keep_refreshed_is_remembered() {
    let world = world().await;
    world
        .engine
        .act(Action::AllRoles {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    let status = world.engine.status();
    assert_eq!(status.profiles.len(), 5, "{status:?}");
    let name = status.profiles[0].name.clone();
    world
        .engine
        .act(Action::KeepRefreshed {
            profile: name.clone(),
            on: true,
        })
        .await
        .unwrap();
    assert!(
        world
            .engine
            .status()
            .profiles
            .iter()
            .any(|p| p.name == name && p.keep_refreshed)
    );
    let missing = world
        .engine
        .act(Action::KeepRefreshed {
            profile: "nope".to_owned(),
            on: true,
        })
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
}

/// A sign-in window that gave up must not leave the endpoint saying "Needs you" forever: the
/// tray shows why it failed, and Sign in stays offered.
#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_webview_sign_in_shows_why_and_a_new_sign_in_still_works() {
    let world = world().await;
    let reason = "The sign-in window was open for 5 minutes without finishing. Sign in again.";
    world.engine.sign_in_abandoned("corp", reason);
    let status = world.engine.status();
    assert_eq!(
        status.endpoints[0].phase,
        Phase::Failed {
            message: reason.to_owned()
        },
        "the endpoint says why: {status:?}"
    );

    world
        .engine
        .act(Action::SignIn {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    assert!(
        matches!(
            world.engine.status().endpoints[0].phase,
            Phase::SignedIn { .. }
        ),
        "signing in again after an abandoned window works: {:?}",
        world.engine.status()
    );
}

/// The tray's Open console crosses the network as the endpoint's sign-ins do: behind TLS
/// inspection AWS's federation endpoint shows a certificate only the endpoint's CA file trusts.
#[tokio::test(flavor = "multi_thread")]
async fn open_console_trusts_the_endpoints_ca_file() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let certs_dir = tempfile::tempdir().unwrap();
    let certificates = rolecall_tests::tls::certificates(certs_dir.path());
    let front =
        rolecall_tests::tls::TlsFront::start(&certificates, sim.federation_url().port().unwrap());
    let world = world_with(
        sim,
        vec![("ROLECALL_SIGNIN_ENDPOINT", front.url("/federation"))],
        Some(certificates.ca.clone()),
    );
    world
        .engine
        .act(Action::SignIn {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();

    let url = world.engine.console_url("corp", ADMIN).await.unwrap();
    assert!(
        url.expose()
            .as_str()
            .starts_with(&front.url("/federation?Action=login&")),
        "{}",
        rolecall_core::http::redact(url.expose())
    );
    assert_eq!(world.sim.handed_out().signin_tokens.len(), 1);
}

/// Text from outside reaches the tray's snapshot without escape sequences or the controls that
/// reorder what follows: a tray menu, a terminal and the settings window all show it as text.
#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_shows_outside_text_without_controls() {
    let world = world().await;
    world.engine.sign_in_abandoned(
        "corp",
        "\u{1b}[31mMSIS7012\u{1b}[0m: call \u{202E}kseplehdeht\u{202C} now\r",
    );
    assert_eq!(
        world.engine.status().endpoints[0].phase,
        Phase::Failed {
            message: "[31mMSIS7012[0m: call kseplehdeht now".to_owned()
        }
    );
}

/// The webview method: signing in needs the person, and the SAML response the IdP's pages
/// produced (captured by the sign-in window) becomes the endpoint's sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn a_response_from_the_sign_in_window_signs_the_endpoint_in() {
    let world = world().await;
    let mut endpoint = Endpoint::new("corp", world.sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    let signed_in = response_of(&endpoint).await;

    world
        .engine
        .accept_saml_response("corp", &signed_in.assertion.raw, signed_in.post_to.clone())
        .await
        .unwrap();

    let status = world.engine.status();
    assert!(
        matches!(status.endpoints[0].phase, Phase::SignedIn { .. }),
        "{status:?}"
    );
    assert_eq!(status.endpoints[0].accounts.len(), 3);
    let garbage = world
        .engine
        .accept_saml_response("corp", &Sensitive::new("not base64!".to_owned()), None)
        .await
        .unwrap_err();
    assert!(garbage.to_string().contains("SAML response"), "{garbage}");
    assert!(matches!(
        world.engine.status().endpoints[0].phase,
        Phase::Failed { .. }
    ));
}

/// Favourites are kept in the settings and shown first; an account's region goes with the
/// profiles of its roles, a role's own region wins.
#[tokio::test(flavor = "multi_thread")]
async fn favourites_and_regions_per_account_and_role() {
    let world = world().await;
    world
        .engine
        .act(Action::Favourite {
            role_arn: ADMIN.to_owned(),
            on: true,
        })
        .await
        .unwrap();
    assert_eq!(world.engine.status().favourites, [ADMIN]);
    world
        .engine
        .act(Action::Region {
            key: "111122223333".to_owned(),
            region: Some("eu-west-1".to_owned()),
        })
        .await
        .unwrap();
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let config =
        std::fs::read_to_string(world.engine.config().paths.aws_config_file.clone()).unwrap();
    assert!(
        config.contains("[default]") && config.contains("region = eu-west-1"),
        "{config}"
    );

    let refused = world
        .engine
        .act(Action::Region {
            key: "prod".to_owned(),
            region: Some("eu-west-1".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("12 digits"), "{refused}");
    world
        .engine
        .act(Action::Favourite {
            role_arn: ADMIN.to_owned(),
            on: false,
        })
        .await
        .unwrap();
    assert!(world.engine.status().favourites.is_empty());
}

/// A webview endpoint's background renewal asks the shell to try the IdP's pages silently; the
/// response that try captures renews the due profile, with no one asked.
#[tokio::test(flavor = "multi_thread")]
async fn a_webview_endpoints_renewal_is_tried_silently_and_finishes_with_its_response() {
    let mut world = world().await;
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let first = world.engine.status().profiles[0].expiration.unwrap();
    let paths = world.engine.config().paths.clone();
    let mut settings = Settings::load(&paths).unwrap();
    let mut endpoint = settings.endpoints[0].clone();
    endpoint.method = SignInMethod::Webview;
    settings.update_endpoint("corp", endpoint.clone()).unwrap();
    settings.save(&paths).unwrap();

    let _renewals = world.engine.start_renewals();
    // 14 minutes left: the renewal is due (15), the warning is not (10).
    world.clock.jump(time::Duration::minutes(46));
    world.sim.advance_clock(Duration::from_secs(46 * 60));
    world.engine.refresh_status();

    let notice = tokio::time::timeout(Duration::from_secs(60), world.notices.recv())
        .await
        .expect("a notice")
        .unwrap();
    let Notice::TrySilently {
        endpoint: name,
        url,
    } = notice
    else {
        panic!("the shell is asked to try silently first: {notice:?}");
    };
    assert_eq!(name, "corp");
    assert_eq!(url, world.sim.sign_on_url().as_str());

    // What the hidden window would capture: the IdP's answer, here through its SSO session.
    endpoint.method = SignInMethod::Forms;
    let signed_in = response_of(&endpoint).await;
    world
        .engine
        .accept_saml_response("corp", &signed_in.assertion.raw, signed_in.post_to.clone())
        .await
        .unwrap();

    wait_for(
        &world.engine,
        "the profile is renewed from the silent sign-in",
        |status| status.profiles[0].expiration.is_some_and(|e| e > first),
    )
    .await;
    assert!(
        world.notices.try_recv().is_err(),
        "no failure and no warning were needed"
    );
}

/// `raw` (a base64 SAML response) with `issuer` replaced by `by`, `count` times.
fn with_issuer(raw: &str, issuer: &str, by: &str, count: usize) -> Sensitive<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(STANDARD.decode(raw).unwrap()).unwrap();
    assert!(xml.contains(issuer));
    Sensitive::new(STANDARD.encode(xml.replacen(issuer, by, count)))
}

/// The sign-in window takes whatever a page in its flow hands over: the first response pins
/// its IdP's Issuer in the settings, and a later one from another issuer, or one that names
/// the pinned issuer only in its unsigned outer element, is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_window_response_pins_its_issuer_and_another_issuer_is_refused() {
    let world = world().await;
    let paths = world.engine.config().paths.clone();
    let endpoint = Settings::load(&paths).unwrap().endpoints[0].clone();
    assert_eq!(endpoint.issuer, None);
    let signed_in = response_of(&endpoint).await;
    let issuer = signed_in.assertion.issuer.clone().unwrap();

    world
        .engine
        .accept_saml_response("corp", &signed_in.assertion.raw, None)
        .await
        .unwrap();
    let pinned = Settings::load(&paths).unwrap().endpoints[0].issuer.clone();
    assert_eq!(
        pinned.as_deref(),
        Some(issuer.as_str()),
        "pinned at first use"
    );

    let signed_in = response_of(&endpoint).await;
    let raw = signed_in.assertion.raw.expose();
    let other = "http://adfs.evil.example/adfs/services/trust";
    let refused = world
        .engine
        .accept_saml_response("corp", &with_issuer(raw, &issuer, other, usize::MAX), None)
        .await
        .unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains(other) && message.contains(&issuer) && message.contains("Forget"),
        "{message}"
    );
    assert!(matches!(
        world.engine.status().endpoints[0].phase,
        Phase::Failed { .. }
    ));

    // The response's own Issuer is not signed: naming the pinned issuer there is not enough.
    let assertion_only = with_issuer(raw, &issuer, other, usize::MAX);
    let outer_pinned = {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let xml = String::from_utf8(STANDARD.decode(assertion_only.expose()).unwrap()).unwrap();
        Sensitive::new(STANDARD.encode(xml.replacen(other, &issuer, 1)))
    };
    let refused = world
        .engine
        .accept_saml_response("corp", &outer_pinned, None)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("two issuers"), "{refused}");

    // The genuine IdP still signs in, and the pin stays.
    world
        .engine
        .accept_saml_response("corp", &signed_in.assertion.raw, None)
        .await
        .unwrap();
    assert!(matches!(
        world.engine.status().endpoints[0].phase,
        Phase::SignedIn { .. }
    ));
    assert_eq!(
        Settings::load(&paths).unwrap().endpoints[0].issuer,
        pinned,
        "the pin stays"
    );
}

/// Use, All roles and the status, with IAM user keys in `[default]` and a hand-written profile
/// that the template would name, and then a registry that no longer parses.
#[tokio::test(flavor = "multi_thread")]
async fn keys_rolecall_did_not_write_are_left_alone_and_a_corrupt_registry_is_shown() {
    let world = world().await;
    let paths = world.engine.config().paths.clone();
    let handmade = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
                    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n\
                    [corp-prod-Admin]\naws_access_key_id = AKIAIOSFODNN7EXAMPLF\n\
                    aws_secret_access_key = x\n";
    std::fs::create_dir_all(paths.aws_credentials_file.parent().unwrap()).unwrap();
    std::fs::write(&paths.aws_credentials_file, handmade).unwrap();

    let refused = world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("\"default\""), "{refused}");
    assert!(refused.contains("another active profile"), "{refused}");
    assert_eq!(
        std::fs::read_to_string(&paths.aws_credentials_file).unwrap(),
        handmade
    );
    assert_eq!(world.sim.stats().sts_calls, 0, "refused before STS");

    world
        .engine
        .act(Action::AllRoles {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    let status = world.engine.status();
    let names: Vec<&str> = status.profiles.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"corp-prod-Admin-2"), "{names:?}");
    assert!(!names.contains(&"corp-prod-Admin"), "{names:?}");
    let written = std::fs::read_to_string(&paths.aws_credentials_file).unwrap();
    assert!(written.starts_with(handmade), "{written}");
    assert!(status.problems.is_empty(), "{:?}", status.problems);

    let registry = paths.config_dir.join("profiles.json");
    std::fs::write(&registry, "{\"corp-prod-Admin-2\": ").unwrap();
    world.engine.refresh_status();
    let status = world.engine.status();
    assert_eq!(status.problems.len(), 1, "{:?}", status.problems);
    assert!(
        status.problems[0].contains(&registry.display().to_string()),
        "{:?}",
        status.problems
    );
    let err = world
        .engine
        .act(Action::AllRoles {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("profiles.json"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&registry).unwrap(),
        "{\"corp-prod-Admin-2\": ",
        "a corrupt registry is never written over"
    );
}

/// A CA file that went away (a certificate bundle moved, a package update) leaves the endpoint
/// and its profiles in the tray, with the problem named; a sign-in says what is wrong with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_ca_file_is_shown_and_the_tray_keeps_the_endpoint_and_its_profiles() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let certs_dir = tempfile::tempdir().unwrap();
    let certificates = rolecall_tests::tls::certificates(certs_dir.path());
    let world = world_with(sim, Vec::new(), Some(certificates.ca.clone()));
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    assert!(world.engine.status().problems.is_empty());

    std::fs::remove_file(&certificates.ca).unwrap();
    world.engine.refresh_status();
    let status = world.engine.status();
    assert_eq!(status.endpoints.len(), 1, "{status:?}");
    assert_eq!(status.endpoints[0].name, "corp");
    assert!(
        status
            .profiles
            .iter()
            .any(|p| p.name == "default" && p.role_arn == ADMIN),
        "{status:?}"
    );
    let ca = certificates.ca.display().to_string();
    assert!(
        status.problems.len() == 1 && status.problems[0].contains(&ca),
        "{:?}",
        status.problems
    );

    let err = world
        .engine
        .act(Action::SignIn {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&ca), "{err}");
    let status = world.engine.status();
    assert_eq!(status.endpoints.len(), 1, "{status:?}");
    assert!(
        matches!(&status.endpoints[0].phase, Phase::Failed { message } if message.contains(&ca)),
        "{status:?}"
    );
}

/// Rewrites every expiry in the credentials file to `at`, as time passing would.
fn expire_at(engine: &Engine, at: OffsetDateTime) {
    let path = &engine.config().paths.aws_credentials_file;
    let at = at
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let text: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            if line.starts_with("x_security_token_expires") {
                format!("x_security_token_expires = {at}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

/// The credential socket's requests go through the engine: fresh credentials from the file;
/// near their end, one sign-in and one STS call for eight callers and a Renew now at once.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_for_the_aws_tools_share_the_engines_one_sign_in() {
    let world = world().await;
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let (posts, calls) = (world.sim.stats().form_posts, world.sim.stats().sts_calls);
    let fresh = world.engine.credentials_for("default").await.unwrap();
    assert_eq!(world.sim.stats().sts_calls, calls, "fresh: from the file");

    // The sign-in's assertion is gone (signed out) and the credentials are near their end.
    world
        .engine
        .act(Action::SignOut {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    expire_at(
        &world.engine,
        world.clock.now() + time::Duration::minutes(5),
    );
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let engine = world.engine.clone();
        callers.spawn(async move { engine.credentials_for("default").await });
    }
    let engine = world.engine.clone();
    let renew_now = tokio::spawn(async move { engine.act(Action::RenewNow).await });
    let mut keys = Vec::new();
    while let Some(served) = callers.join_next().await {
        let served = served.unwrap().unwrap();
        assert!(served.expiration.unwrap() > world.clock.now() + time::Duration::minutes(30));
        keys.push(served.access_key_id);
    }
    renew_now.await.unwrap().unwrap();
    assert_ne!(keys[0], fresh.access_key_id, "renewed");
    assert_eq!(
        world.sim.stats().form_posts,
        posts + 1,
        "one sign-in for eight callers and Renew now"
    );
    assert!(
        world.sim.stats().sts_calls <= calls + 2,
        "one assumption for the callers (and one for Renew now): {}",
        world.sim.stats().sts_calls - calls
    );

    let unknown = world.engine.credentials_for("nobody").await.unwrap_err();
    assert!(
        matches!(
            unknown,
            rolecall_core::engine::EngineError::NoProfile { .. }
        ),
        "{unknown}"
    );
}

/// A chain of the settings, used from the tray, becomes the active profile with the last
/// role's keys, and the background renewal renews it as a chain: a new SAML session of the
/// source role, then the hops again.
#[tokio::test(flavor = "multi_thread")]
async fn a_chain_used_from_the_tray_is_renewed_as_a_chain_in_the_background() {
    const SPOKE: &str = "arn:aws:iam::444455556666:role/Spoke";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let world = world_with(sim, Vec::new(), None);
    Settings::update(
        &world.engine.config().paths,
        Settings::default,
        |settings| {
            settings.chains.push(rolecall_core::settings::ChainSetting {
                name: "spoke".to_owned(),
                endpoint: None,
                source_role: ADMIN.to_owned(),
                chain: rolecall_core::chain::Chain {
                    roles: vec![SPOKE.to_owned()],
                    external_id: None,
                    session_name: None,
                },
            });
            Ok(())
        },
    )
    .unwrap();
    world.engine.refresh_status();
    assert_eq!(world.engine.status().chains[0].name, "spoke");

    world
        .engine
        .act(Action::UseChain {
            endpoint: "corp".to_owned(),
            chain: "spoke".to_owned(),
        })
        .await
        .unwrap();
    let status = world.engine.status();
    let profile = &status.profiles[0];
    assert!(profile.active && profile.name == "default", "{profile:?}");
    assert_eq!(profile.chain, [SPOKE]);
    assert_eq!(
        status.recent,
        [Used::Chain {
            endpoint: "corp".to_owned(),
            chain: "spoke".to_owned()
        }],
        "the tray offers the chain at its top"
    );
    let first = profile.expiration.unwrap();
    // The simulator stamps sessions with the wall clock, which has moved on since the test
    // clock was set; the wall clock is what bounds the hour.
    assert!(
        first - rolecall_core::clock::SystemClock.now() <= time::Duration::hours(1),
        "a chained session: {first}"
    );
    let chained_calls = world.sim.assume_role_calls().len();
    assert_eq!(chained_calls, 1);

    let _renewals = world.engine.start_renewals();
    world.clock.jump(time::Duration::minutes(50));
    world.sim.advance_clock(Duration::from_secs(50 * 60));
    world.engine.refresh_status();
    wait_for(
        &world.engine,
        "the chained profile should be renewed",
        |s| s.profiles[0].expiration.is_some_and(|e| e > first),
    )
    .await;
    let calls = world.sim.assume_role_calls();
    assert_eq!(calls.len(), chained_calls + 1, "the hop again: {calls:?}");
    let signer = calls.last().unwrap().signed_with.clone().unwrap();
    let issued = world.sim.issued_credentials();
    let source = issued
        .iter()
        .find(|c| c.access_key_id == signer)
        .expect("the renewal's hop is signed by a session the simulator issued");
    assert_eq!(
        source.role_arn, ADMIN,
        "signed by a session of the source role"
    );
    assert_eq!(source.chained_from, None, "from the SAML sign-in");
    assert!(
        source.expiration > first,
        "a new session of the source role, issued for the renewal"
    );
}

// ---- Handing credentials to other programs --------------------------------------------------

/// The key `profile` holds in the credentials file.
fn key_in_file(engine: &Engine, profile: &str) -> String {
    rolecall_core::aws_files::AwsFiles::from_paths(&engine.config().paths)
        .read_credentials(profile)
        .unwrap()
        .unwrap_or_else(|| panic!("no credentials for {profile}"))
        .access_key_id
}

/// What a POSIX shell holds in `variable` after evaluating `script`.
fn evaluated(script: &str, variable: &str) -> String {
    let output = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("eval \"$1\"; printf %s \"${variable}\""),
            "sh",
            script,
        ])
        .env("AWS_PROFILE", "must-go")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// "Copy environment" on a role without a profile writes one named by the template (the
/// active profile stays unset) and copies its keys; near their end they are renewed first.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn copy_environment_writes_the_roles_profile_first_and_renews_it_near_its_end() {
    use rolecall_core::engine::{CopyRequest, Held};
    let world = world().await;
    let copy = |profile: Option<String>| CopyRequest::Environment {
        endpoint: "corp".to_owned(),
        role_arn: ADMIN.to_owned(),
        profile,
    };
    let copied = world.engine.copy(&copy(None)).await.unwrap();
    let Held::Environment {
        profile,
        expiration,
    } = copied.holds
    else {
        panic!("{:?}", copied.holds);
    };
    let status = world.engine.status();
    let written = status
        .profiles
        .iter()
        .find(|p| p.name == profile)
        .unwrap_or_else(|| panic!("{profile} is in the status: {status:?}"));
    assert_eq!(written.role_arn, ADMIN);
    assert!(!written.active && profile != "default", "{profile}");
    assert!(expiration.is_some());
    let text = copied.text.expose();
    assert!(text.starts_with("unset "), "{text}");
    assert!(text.contains("export AWS_SESSION_TOKEN='"), "{text}");
    let first = key_in_file(&world.engine, &profile);
    assert_eq!(evaluated(text, "AWS_ACCESS_KEY_ID"), first);
    assert_eq!(evaluated(text, "AWS_PROFILE"), "", "no profile to mix in");

    // Fresh: the same keys, no new assumption.
    let calls = world.sim.stats().sts_calls;
    let again = world
        .engine
        .copy(&copy(Some(profile.clone())))
        .await
        .unwrap();
    assert_eq!(evaluated(again.text.expose(), "AWS_ACCESS_KEY_ID"), first);
    assert_eq!(world.sim.stats().sts_calls, calls);
    // Ten minutes left: renewed before they are handed out.
    expire_at(
        &world.engine,
        world.clock.now() + time::Duration::minutes(10),
    );
    let renewed = world
        .engine
        .copy(&copy(Some(profile.clone())))
        .await
        .unwrap();
    let key = evaluated(renewed.text.expose(), "AWS_ACCESS_KEY_ID");
    assert_ne!(key, first, "renewed");
    assert_eq!(key, key_in_file(&world.engine, &profile));

    let unknown = world
        .engine
        .copy(&copy(Some("nobody".to_owned())))
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("nobody"), "{unknown}");
}

/// "Serve to containers and IDEs": on, the engine serves the profile on 127.0.0.1 to the token
/// only (renewing near the end), the status says where without showing the token, and "Copy
/// container variables" points the SDKs there; off, the port closes.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn serving_a_profile_to_containers_on_and_off() {
    use rolecall_core::engine::{CopyRequest, EngineError};
    let world = world().await;
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let serve = |on: bool| Action::Serve {
        endpoint: "corp".to_owned(),
        role_arn: ADMIN.to_owned(),
        profile: Some("default".to_owned()),
        on,
    };
    let variables = CopyRequest::ContainerVariables {
        profile: "default".to_owned(),
    };
    let before = world.engine.copy(&variables).await.unwrap_err();
    assert!(matches!(before, EngineError::NotServed { .. }), "{before}");

    world.engine.act(serve(true)).await.unwrap();
    let status = world.engine.status();
    let service = status.profiles[0].containers.clone().expect("served");
    assert!(
        service.url.starts_with("http://127.0.0.1:"),
        "{}",
        service.url
    );
    let token = service.token.expose().clone();
    assert!(
        !format!("{status:?}").contains(&token),
        "the token stays out of Debug"
    );

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |token: &str| {
        client
            .get(&service.url)
            .header("Authorization", token)
            .send()
    };
    let answer = get(&token).await.unwrap();
    assert_eq!(answer.status(), 200);
    let json: serde_json::Value = answer.json().await.unwrap();
    let first = key_in_file(&world.engine, "default");
    assert_eq!(json["AccessKeyId"], first.as_str());
    assert_eq!(json["RoleArn"], ADMIN);
    assert_eq!(get("wrong").await.unwrap().status(), 401);

    let copied = world.engine.copy(&variables).await.unwrap();
    let text = copied.text.expose();
    assert_eq!(
        evaluated(text, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        service.url
    );
    assert_eq!(evaluated(text, "AWS_CONTAINER_AUTHORIZATION_TOKEN"), token);
    assert_eq!(
        evaluated(text, "AWS_ACCESS_KEY_ID"),
        "",
        "no keys beside it"
    );

    // Near the end, a request gets renewed keys.
    expire_at(
        &world.engine,
        world.clock.now() + time::Duration::minutes(10),
    );
    let json: serde_json::Value = get(&token).await.unwrap().json().await.unwrap();
    assert_ne!(json["AccessKeyId"], first.as_str(), "renewed");
    assert_eq!(
        json["AccessKeyId"],
        key_in_file(&world.engine, "default").as_str()
    );

    // On again keeps the same endpoint; off stops it.
    world.engine.act(serve(true)).await.unwrap();
    assert_eq!(
        world.engine.status().profiles[0].containers.as_ref(),
        Some(&service)
    );
    world.engine.act(serve(false)).await.unwrap();
    assert_eq!(world.engine.status().profiles[0].containers, None);
    let address = service
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "nothing listens on {address} once serving is off");
    assert!(world.engine.copy(&variables).await.is_err());
}

/// Serving a role that has no profile writes one first, as Copy environment does.
#[tokio::test(flavor = "multi_thread")]
async fn serving_a_role_without_a_profile_writes_one_first() {
    let world = world().await;
    world
        .engine
        .act(Action::Serve {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
            profile: None,
            on: true,
        })
        .await
        .unwrap();
    let status = world.engine.status();
    let [profile] = status.profiles.as_slice() else {
        panic!("one profile: {status:?}");
    };
    assert_eq!(profile.role_arn, ADMIN);
    assert!(profile.containers.is_some() && !profile.active);
}

/// "Copy diagnostics" copies the doctor's report after a sign-in: the endpoint and the last
/// sign-in are in it, the password and the session's keys are not.
#[tokio::test(flavor = "multi_thread")]
async fn copy_diagnostics_copies_the_doctors_report_without_secrets() {
    use rolecall_core::engine::{CopyRequest, Held};
    let world = world().await;
    world
        .engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let copied = world.engine.copy(&CopyRequest::Diagnostics).await.unwrap();
    assert!(
        matches!(copied.holds, Held::Diagnostics { .. }),
        "{:?}",
        copied.holds
    );
    let text = copied.text.expose();
    assert!(text.contains("doctor"), "{text}");
    assert!(text.contains("corp"), "the endpoint is checked: {text}");
    assert!(!text.contains(DEMO_PASSWORD), "{text}");
    let key = key_in_file(&world.engine, "default");
    assert!(!text.contains(&key), "no access key id: {text}");
}
