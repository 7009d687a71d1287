//! The sign-in against AD FS 2019+ pages served by `rolecall-sim`: the paginated sign-in, home
//! realm discovery, an expired password, lockouts and "Keep me signed in". Each ends in a
//! sign-in or in a message of its own, never in the webview's "a page Rolecall cannot fill in".
//! The simulator's pages have the shapes of the fixtures in `tests/fixtures/adfs`, which the
//! classifier's own tests read; the first test here holds the two together.

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::engine::{Action, Clock, Engine, EngineConfig, Phase, SystemClock};
use rolecall_core::idp::{
    self, ClaimsProvider, FailureKind, NoPasscodes, Outcome, Page, PersonNeeded, SignIn,
    SignInError, SignedInVia, classify,
};
use rolecall_core::paths::{AppPaths, Environment, Platform};
use rolecall_core::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
use rolecall_sim::{
    ClaimsProviderTrust, DEMO_PASSWORD, LOCKED_OUT_TEXT, Sim, SimConfig, UPDATE_PASSWORD_PATH,
    WRONG_PASSWORD_TEXT,
};

async fn sim_with(config: SimConfig) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

fn paginated() -> SimConfig {
    SimConfig {
        paginated: true,
        ..SimConfig::demo()
    }
}

fn with_providers() -> SimConfig {
    SimConfig {
        claims_providers: ClaimsProviderTrust::directory_and_partner(),
        ..SimConfig::demo()
    }
}

fn forms_endpoint(sim: &Sim, username: &str) -> Endpoint {
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some(username.to_owned());
    endpoint
}

async fn run(
    endpoint: &Endpoint,
    password: Option<&str>,
    secrets: &Arc<MemoryStore>,
) -> Result<Outcome, SignInError> {
    idp::sign_in(SignIn {
        endpoint,
        password: password.map(|p| Sensitive::new(p.to_owned())),
        secrets: Arc::clone(secrets) as Arc<dyn SecretStore>,
        passcodes: &NoPasscodes,
    })
    .await
}

fn signed_in_via(outcome: Result<Outcome, SignInError>) -> SignedInVia {
    match outcome {
        Ok(Outcome::SignedIn(signed_in)) => signed_in.via,
        other => panic!("the sign-in should have worked: {other:?}"),
    }
}

/// What a page is, for comparing shapes: its kind, its form's id and its fields.
fn shape(html: &str) -> (String, Option<String>, Vec<(String, String)>) {
    let fields = |form: &idp::Form| {
        let mut fields: Vec<(String, String)> = form
            .inputs
            .iter()
            .map(|input| (input.name.clone(), input.kind.clone()))
            .collect();
        fields.sort();
        fields.dedup();
        fields
    };
    match classify(html) {
        Page::Username { form, .. } => ("username".into(), form.id.clone(), fields(&form)),
        Page::Login { form, .. } => ("login".into(), form.id.clone(), fields(&form)),
        Page::HomeRealm { form, .. } => ("home realm".into(), form.id.clone(), fields(&form)),
        Page::PasswordChange { .. } => ("password change".into(), None, Vec::new()),
        other => (format!("{other:?}"), None, Vec::new()),
    }
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/adfs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

async fn page_at(client: &reqwest::Client, url: url::Url, form: &[(&str, &str)]) -> String {
    let request = if form.is_empty() {
        client.get(url)
    } else {
        client.post(url).form(form)
    };
    request.send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn the_simulator_serves_the_shapes_of_the_fixtures() {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap();
    let paginated = sim_with(paginated()).await;
    let url = paginated.sign_on_url();
    let first = page_at(&client, url.clone(), &[]).await;
    assert_eq!(shape(&first), shape(&fixture("paginated-username.html")));
    let second = page_at(&client, url.clone(), &[("UserName", "alice")]).await;
    assert_eq!(shape(&second), shape(&fixture("paginated-password.html")));

    let choosing = sim_with(with_providers()).await;
    let discovery = page_at(&client, choosing.sign_on_url(), &[]).await;
    assert_eq!(
        shape(&discovery),
        shape(&fixture("home-realm-discovery.html"))
    );
    let Page::HomeRealm { providers, .. } = classify(&discovery) else {
        unreachable!("compared above");
    };
    let Page::HomeRealm {
        providers: recorded,
        ..
    } = classify(&fixture("home-realm-discovery.html"))
    else {
        unreachable!("compared above");
    };
    assert_eq!(providers, recorded, "the same providers, read the same way");

    let sim = sim_with(SimConfig::demo()).await;
    let update = page_at(
        &client,
        sim.sign_on_url(),
        &[("UserName", "expired"), ("Password", DEMO_PASSWORD)],
    )
    .await;
    assert_eq!(shape(&update), shape(&fixture("update-password.html")));
    let locked = page_at(
        &client,
        sim.sign_on_url(),
        &[("UserName", "locked"), ("Password", DEMO_PASSWORD)],
    )
    .await;
    assert_eq!(shape(&locked), shape(&fixture("lockout-msis7017.html")));
    assert!(
        matches!(classify(&locked), Page::Login { error: Some(ref error), .. } if error == LOCKED_OUT_TEXT)
    );
}

#[tokio::test]
async fn a_paginated_sign_in_posts_the_username_then_the_password() {
    let sim = sim_with(paginated()).await;
    let secrets = Arc::new(MemoryStore::new());
    let endpoint = forms_endpoint(&sim, "alice");

    let via = signed_in_via(run(&endpoint, Some(DEMO_PASSWORD), &secrets).await);

    assert_eq!(via, SignedInVia::Password);
    let stats = sim.stats();
    assert_eq!((stats.username_posts, stats.form_posts), (1, 1));
    assert!(
        secrets
            .get("corp", SecretKind::SsoCookies)
            .unwrap()
            .is_some(),
        "the session is kept as after any sign-in"
    );
    let again = signed_in_via(run(&endpoint, None, &secrets).await);
    assert_eq!(again, SignedInVia::SingleSignOn);
}

#[tokio::test]
async fn a_wrong_password_on_the_second_page_is_refused_once() {
    let sim = sim_with(paginated()).await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(&forms_endpoint(&sim, "alice"), Some("wrong"), &secrets)
        .await
        .unwrap_err();
    assert!(matches!(err, SignInError::BadCredentials { .. }), "{err:?}");
    assert!(err.to_string().contains(WRONG_PASSWORD_TEXT), "{err}");
    assert_eq!(sim.stats().form_posts, 1, "one try, no retry loop");
}

#[tokio::test]
async fn without_a_password_the_paginated_sign_in_sends_not_even_the_username() {
    let sim = sim_with(paginated()).await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(&forms_endpoint(&sim, "alice"), None, &secrets)
        .await
        .unwrap_err();
    assert!(matches!(err, SignInError::NoPassword { .. }), "{err:?}");
    assert_eq!(sim.stats().username_posts, 0);

    // The automatic method hands over to the sign-in window, as on any login page.
    let mut auto = forms_endpoint(&sim, "alice");
    auto.method = SignInMethod::Auto;
    let outcome = run(&auto, None, &secrets).await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::NeedsPerson {
                reason: PersonNeeded::NoSilentMethod,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn without_a_claims_provider_the_error_lists_the_ones_offered() {
    let sim = sim_with(with_providers()).await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(
        &forms_endpoint(&sim, "alice"),
        Some(DEMO_PASSWORD),
        &secrets,
    )
    .await
    .unwrap_err();
    let expected = vec![
        ClaimsProvider {
            id: "AD AUTHORITY".to_owned(),
            name: "Corp directory".to_owned(),
        },
        ClaimsProvider {
            id: "http://sts.partner.example/adfs/services/trust".to_owned(),
            name: "Partner & Co".to_owned(),
        },
    ];
    assert!(
        matches!(&err, SignInError::ClaimsProviderNeeded { offered, .. } if *offered == expected),
        "{err:?}"
    );
    assert_eq!(err.claims_providers_offered(), Some(expected.as_slice()));
    let message = err.to_string();
    for said in [
        "\"Corp directory\" (AD AUTHORITY)",
        "\"Partner & Co\" (http://sts.partner.example/adfs/services/trust)",
        "Settings → Endpoints",
        "claims_provider",
    ] {
        assert!(message.contains(said), "{said}: {message}");
    }
    assert!(sim.stats().home_realm_selections.is_empty());
    assert_eq!(sim.stats().form_posts, 0, "no password was sent");
}

#[tokio::test]
async fn the_endpoints_claims_provider_is_chosen_by_identifier_or_name() {
    let sim = sim_with(with_providers()).await;
    for (setting, posted) in [
        ("AD AUTHORITY", "AD AUTHORITY"),
        ("corp directory", "AD AUTHORITY"),
        (
            "Partner & Co",
            "http://sts.partner.example/adfs/services/trust",
        ),
    ] {
        let secrets = Arc::new(MemoryStore::new());
        let mut endpoint = forms_endpoint(&sim, "alice");
        endpoint.claims_provider = Some(setting.to_owned());
        let via = signed_in_via(run(&endpoint, Some(DEMO_PASSWORD), &secrets).await);
        assert_eq!(via, SignedInVia::Password);
        assert_eq!(
            sim.stats().home_realm_selections.last().map(String::as_str),
            Some(posted),
            "{setting}"
        );
    }
}

#[tokio::test]
async fn a_claims_provider_the_page_does_not_offer_is_not_posted() {
    let sim = sim_with(with_providers()).await;
    let secrets = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "alice");
    endpoint.claims_provider = Some("Elsewhere Inc".to_owned());
    let err = run(&endpoint, Some(DEMO_PASSWORD), &secrets)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SignInError::ClaimsProviderUnknown { wanted, offered, .. }
            if wanted == "Elsewhere Inc" && offered.len() == 2),
        "{err:?}"
    );
    assert!(err.to_string().contains("Corp directory"), "{err}");
    assert!(sim.stats().home_realm_selections.is_empty());
}

#[tokio::test]
async fn home_realm_discovery_then_a_paginated_sign_in_works() {
    let sim = sim_with(SimConfig {
        paginated: true,
        ..with_providers()
    })
    .await;
    let secrets = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "alice");
    endpoint.claims_provider = Some("AD AUTHORITY".to_owned());
    endpoint.keep_me_signed_in = true;
    let via = signed_in_via(run(&endpoint, Some(DEMO_PASSWORD), &secrets).await);
    assert_eq!(via, SignedInVia::Password);
    let stats = sim.stats();
    assert_eq!(stats.home_realm_selections, vec!["AD AUTHORITY".to_owned()]);
    assert_eq!(
        (stats.username_posts, stats.form_posts, stats.kmsi_sign_ins),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_expired_password_hands_over_to_the_idps_change_page() {
    let sim = sim_with(SimConfig::demo()).await;
    let secrets = Arc::new(MemoryStore::new());
    let endpoint = forms_endpoint(&sim, "expired");

    let outcome = run(&endpoint, Some(DEMO_PASSWORD), &secrets).await.unwrap();

    let Outcome::NeedsPerson { url, reason } = outcome else {
        panic!("a person changes the password: {outcome:?}");
    };
    assert_eq!(
        url.path(),
        UPDATE_PASSWORD_PATH,
        "the window opens the change page"
    );
    assert_eq!(
        reason,
        PersonNeeded::PasswordExpired {
            username: "expired".to_owned()
        }
    );
    let said = reason.to_string();
    assert!(
        said.contains("has expired") && said.contains("sign-in window"),
        "what happened and what to do: {said}"
    );

    // The person changes it there, as in the window; the new one signs in.
    let changed = reqwest::Client::new()
        .post(url)
        .form(&[
            ("UserName", "expired"),
            ("OldPassword", DEMO_PASSWORD),
            ("NewPassword", "New-Password2"),
            ("ConfirmNewPassword", "New-Password2"),
        ])
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success());
    let via = signed_in_via(run(&endpoint, Some("New-Password2"), &secrets).await);
    assert_eq!(via, SignedInVia::Password);
}

#[tokio::test]
async fn a_lockout_the_page_names_is_its_own_error_and_is_not_retried() {
    let sim = sim_with(SimConfig::demo()).await;
    let dir = tempfile::tempdir().unwrap();
    let refused = RefusedPasswords::new(dir.path());
    let secrets = Arc::new(MemoryStore::new());
    secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let endpoint = forms_endpoint(&sim, "locked");
    let guarded = || {
        refused_passwords::sign_in(
            SignIn {
                endpoint: &endpoint,
                password: None,
                secrets: Arc::clone(&secrets) as Arc<dyn SecretStore>,
                passcodes: &NoPasscodes,
            },
            &refused,
        )
    };

    let direct = run(&endpoint, Some(DEMO_PASSWORD), &secrets)
        .await
        .unwrap_err();
    assert!(
        matches!(direct, SignInError::AccountLocked { .. }),
        "{direct:?}"
    );
    assert_eq!(direct.kind(), FailureKind::BadCredentials);
    let message = direct.to_string();
    for said in [LOCKED_OUT_TEXT, "locked out", "locked", "IT help desk"] {
        assert!(message.contains(said), "{said}: {message}");
    }
    assert!(refused_passwords::is_password_refusal(&direct));

    let first = guarded().await.unwrap_err();
    assert!(
        matches!(&first, GuardedSignInError::PasswordRefused { said: Some(said), .. } if said.contains(LOCKED_OUT_TEXT)),
        "{first:?}"
    );
    assert!(
        refused.is_refused("corp"),
        "marked, so nothing tries it again"
    );
    let posts = sim.stats().form_posts;
    let later = guarded().await.unwrap_err();
    assert!(
        matches!(
            later,
            GuardedSignInError::PasswordRefused { said: None, .. }
        ),
        "{later:?}"
    );
    assert_eq!(
        sim.stats().form_posts,
        posts,
        "the password was not sent again"
    );
}

#[tokio::test]
async fn an_extranet_lockout_reads_as_a_wrong_password_that_may_be_a_lockout() {
    let sim = sim_with(SimConfig::demo()).await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(
        &forms_endpoint(&sim, "extranet-locked"),
        Some(DEMO_PASSWORD),
        &secrets,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SignInError::BadCredentials { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(WRONG_PASSWORD_TEXT) && message.contains("locked out"),
        "says it may be a lockout: {message}"
    );
    assert_eq!(sim.stats().form_posts, 1);
}

#[tokio::test]
async fn keep_me_signed_in_ticks_kmsi_and_the_session_outlasts_the_plain_one() {
    let sim = sim_with(SimConfig::demo()).await;
    let kept = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "alice");
    endpoint.keep_me_signed_in = true;
    signed_in_via(run(&endpoint, Some(DEMO_PASSWORD), &kept).await);
    assert_eq!(sim.stats().kmsi_sign_ins, 1);

    let plain = Arc::new(MemoryStore::new());
    let plain_endpoint = forms_endpoint(&sim, "alice");
    signed_in_via(run(&plain_endpoint, Some(DEMO_PASSWORD), &plain).await);
    assert_eq!(sim.stats().kmsi_sign_ins, 1, "unticked unless asked for");

    sim.advance_clock(Duration::from_secs(9 * 60 * 60));
    assert_eq!(
        signed_in_via(run(&endpoint, None, &kept).await),
        SignedInVia::SingleSignOn,
        "the kept session lasts a day"
    );
    let err = run(&plain_endpoint, None, &plain).await.unwrap_err();
    assert!(matches!(err, SignInError::NoPassword { .. }), "{err:?}");
}

/// The engine keeps the claims providers the IdP offered, and the settings window offers them
/// once the endpoint names none.
#[tokio::test]
async fn the_engine_reports_the_claims_providers_for_the_settings_window() {
    let sim = sim_with(with_providers()).await;
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::new(Platform::current())
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "ROLECALL_CONFIG_DIR",
            dir.path().join("config").to_string_lossy(),
        )
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    let paths = AppPaths::resolve(&env).unwrap();
    let mut settings = Settings::default();
    settings
        .add_endpoint(forms_endpoint(&sim, "alice"))
        .unwrap();
    settings.save(&paths).unwrap();
    let secrets = Arc::new(MemoryStore::new());
    secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let (engine, _notices) = Engine::new(EngineConfig {
        paths,
        env,
        secrets: secrets as Arc<dyn SecretStore>,
        clock: Arc::new(SystemClock) as Arc<dyn Clock>,
    });
    let sign_in = || {
        engine.act(Action::SignIn {
            endpoint: "corp".to_owned(),
        })
    };

    let err = sign_in().await.unwrap_err();
    assert!(err.to_string().contains("Corp directory"), "{err}");
    let status = engine.status();
    let corp = &status.endpoints[0];
    assert!(
        matches!(&corp.phase, Phase::Failed { message } if message.contains("claims provider")),
        "{:?}",
        corp.phase
    );
    assert_eq!(corp.claims_providers.len(), 2);
    let view = engine.settings_view().await.unwrap();
    assert_eq!(
        view.endpoints[0]
            .claims_providers_offered
            .iter()
            .map(|provider| provider.id.as_str())
            .collect::<Vec<_>>(),
        [
            "AD AUTHORITY",
            "http://sts.partner.example/adfs/services/trust"
        ]
    );

    // Choosing one (as the settings window saves it) signs in.
    engine
        .act(Action::SaveEndpoint(
            rolecall_core::endpoints::EndpointSave::Edit(rolecall_core::endpoints::EndpointEdit {
                name: "corp".to_owned(),
                claims_provider: Some(Some("Corp directory".to_owned())),
                ..Default::default()
            }),
        ))
        .await
        .unwrap();
    sign_in().await.unwrap();
    assert!(matches!(
        engine.status().endpoints[0].phase,
        Phase::SignedIn { .. }
    ));
    let view = engine.settings_view().await.unwrap();
    assert_eq!(
        view.endpoints[0].claims_provider.as_deref(),
        Some("Corp directory"),
        "kept on save"
    );
}
