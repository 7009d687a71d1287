//! A stored password the IdP refused is sent once, whoever renews next (the tray's engine, the
//! credential socket, a restarted app), until the person stores a new one.

use std::sync::Arc;

use rolecall_core::engine::{Action, Engine, EngineConfig, EngineError, Phase, SystemClock};
use rolecall_core::idp::{NoPasscodes, Outcome, SignIn};
use rolecall_core::paths::{AppPaths, Environment, Platform};
use rolecall_core::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

struct World {
    sim: Sim,
    paths: AppPaths,
    env: Environment,
    secrets: Arc<MemoryStore>,
    endpoint: Endpoint,
    _dir: tempfile::TempDir,
}

async fn world(stored: &str) -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::new(Platform::current())
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "ROLECALL_CONFIG_DIR",
            dir.path().join("config").to_string_lossy(),
        )
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    let paths = AppPaths::resolve(&env).unwrap();
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    let mut settings = Settings::default();
    settings.add_endpoint(endpoint.clone()).unwrap();
    settings.save(&paths).unwrap();
    let secrets = Arc::new(MemoryStore::new());
    secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(stored.to_owned()),
        )
        .unwrap();
    World {
        sim,
        paths,
        env,
        secrets,
        endpoint,
        _dir: dir,
    }
}

impl World {
    fn engine(&self) -> Engine {
        Engine::new(EngineConfig {
            paths: self.paths.clone(),
            env: self.env.clone(),
            secrets: Arc::clone(&self.secrets) as Arc<dyn SecretStore>,
            clock: Arc::new(SystemClock),
        })
        .0
    }

    fn refused(&self) -> RefusedPasswords {
        RefusedPasswords::new(&self.paths.config_dir)
    }

    async fn sign_in(&self, typed: Option<&str>) -> Result<Outcome, GuardedSignInError> {
        refused_passwords::sign_in(
            SignIn {
                endpoint: &self.endpoint,
                password: typed.map(|typed| Sensitive::new(typed.to_owned())),
                secrets: Arc::clone(&self.secrets) as Arc<dyn SecretStore>,
                passcodes: &NoPasscodes,
            },
            &self.refused(),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_stored_password_is_posted_once_by_every_engine_until_a_new_one_is_stored() {
    let world = world("an-old-password").await;
    let sign_in = Action::SignIn {
        endpoint: "corp".to_owned(),
    };

    let first = world.engine().act(sign_in.clone()).await;
    assert!(
        matches!(&first, Err(err @ EngineError::PasswordRefused(_)) if err.to_string().contains("refused the password Rolecall keeps") && err.to_string().contains("rolecall password set --endpoint corp")),
        "the first refusal says what to do: {first:?}"
    );
    let said = first.unwrap_err().to_string();
    assert!(
        said.contains(rolecall_sim::WRONG_PASSWORD_TEXT),
        "and quotes the IdP's own words: {said}"
    );
    assert_eq!(world.sim.stats().form_posts, 1);
    assert!(world.refused().is_refused("corp"), "the refusal is kept");

    // The same engine, a restarted one, and the credential socket's renewals: none posts it.
    let engine = world.engine();
    for _ in 0..3 {
        let again = engine.act(sign_in.clone()).await;
        assert!(
            matches!(&again, Err(EngineError::NeedsPerson { url, .. }) if url == world.endpoint.url.as_str()),
            "the error says where the person goes on: {again:?}"
        );
    }
    let Phase::NeedsPerson { url, reason } = engine.status().endpoints[0].phase.clone() else {
        panic!("{:?}", engine.status());
    };
    assert_eq!(
        url,
        world.endpoint.url.as_str(),
        "the window can still sign in"
    );
    assert!(
        reason.contains("refused the password Rolecall keeps for endpoint \"corp\""),
        "{reason}"
    );
    let guarded = world.sign_in(None).await;
    assert!(
        matches!(&guarded, Err(GuardedSignInError::PasswordRefused { endpoint, .. }) if endpoint == "corp"),
        "{guarded:?}"
    );
    assert_eq!(
        world.sim.stats().form_posts,
        1,
        "the stored password went to the IdP once"
    );

    // The person stores the right one (what `password set` and the settings window do).
    world
        .secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    world.refused().clear("corp").unwrap();
    engine.act(sign_in).await.unwrap();
    assert_eq!(world.sim.stats().form_posts, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_credential_socket_answers_that_the_stored_password_was_refused() {
    let world = world("an-old-password").await;
    world.refused().mark("corp").unwrap();
    let mut registry = rolecall_core::registry::Registry::load(&world.paths.config_dir).unwrap();
    let role = rolecall_core::saml::RolePair {
        role_arn: "arn:aws:iam::111122223333:role/Admin".to_owned(),
        principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
    };
    registry
        .record([(
            "work".to_owned(),
            rolecall_core::registry::ProfileSource::new(&world.endpoint, &role, None),
        )])
        .unwrap();
    let engine = world.engine();
    for _ in 0..5 {
        let served = engine.credentials_for("work").await;
        // The running app asks the person (the sign-in window) rather than post it again.
        assert!(
            matches!(&served, Err(EngineError::NeedsPerson { endpoint, .. }) if endpoint == "corp"),
            "{served:?}"
        );
        let message = served.unwrap_err().to_string();
        assert!(
            message.contains("rolecall password set --endpoint corp"),
            "says how to fix it: {message}"
        );
    }
    assert_eq!(world.sim.stats().form_posts, 0, "nothing was posted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typed_password_is_always_tried_and_clears_the_refusal_only_when_it_is_the_stored_one() {
    let world = world(DEMO_PASSWORD).await;
    world.refused().mark("corp").unwrap();

    // A wrong typed password is tried (the person is there) and marks nothing new.
    let wrong = world.sign_in(Some("a-typo")).await;
    assert!(
        matches!(&wrong, Err(GuardedSignInError::SignIn(_))),
        "{wrong:?}"
    );
    assert_eq!(world.sim.stats().form_posts, 1);

    world
        .secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new("still-old".to_owned()),
        )
        .unwrap();
    let other = world.sign_in(Some(DEMO_PASSWORD)).await.unwrap();
    assert!(matches!(other, Outcome::SignedIn(_)));
    assert!(
        world.refused().is_refused("corp"),
        "the stored password is still the refused one"
    );

    world
        .secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let same = world.sign_in(Some(DEMO_PASSWORD)).await.unwrap();
    assert!(matches!(same, Outcome::SignedIn(_)));
    assert!(
        !world.refused().is_refused("corp"),
        "the IdP took the stored password again"
    );
}

/// The person stores a new password while a renewal is posting the old one: the old one's
/// refusal must not stick to the new one.
#[derive(Debug)]
struct ReplacedDuringSignIn {
    reads: std::sync::atomic::AtomicUsize,
    sso: MemoryStore,
}

impl SecretStore for ReplacedDuringSignIn {
    fn place(&self) -> rolecall_core::secrets::SecretPlace {
        rolecall_core::secrets::SecretPlace::Memory
    }

    fn get(
        &self,
        endpoint: &str,
        kind: SecretKind,
    ) -> Result<Option<Sensitive<String>>, rolecall_core::secrets::SecretsError> {
        if kind != SecretKind::Password {
            return self.sso.get(endpoint, kind);
        }
        let read = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let password = if read == 0 {
            "an-old-password"
        } else {
            DEMO_PASSWORD
        };
        Ok(Some(Sensitive::new(password.to_owned())))
    }

    fn set(
        &self,
        endpoint: &str,
        kind: SecretKind,
        value: &Sensitive<String>,
    ) -> Result<(), rolecall_core::secrets::SecretsError> {
        self.sso.set(endpoint, kind, value)
    }

    fn delete(
        &self,
        endpoint: &str,
        kind: SecretKind,
    ) -> Result<(), rolecall_core::secrets::SecretsError> {
        self.sso.delete(endpoint, kind)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_replaced_while_the_old_one_was_refused_is_not_marked() {
    let world = world("unused").await;
    let secrets = Arc::new(ReplacedDuringSignIn {
        reads: Default::default(),
        sso: MemoryStore::new(),
    });
    let refused = world.refused();
    let outcome = refused_passwords::sign_in(
        SignIn {
            endpoint: &world.endpoint,
            password: None,
            secrets: Arc::clone(&secrets) as Arc<dyn SecretStore>,
            passcodes: &NoPasscodes,
        },
        &refused,
    )
    .await;
    assert!(
        matches!(outcome, Err(GuardedSignInError::PasswordRefused { .. })),
        "{outcome:?}"
    );
    assert_eq!(world.sim.stats().form_posts, 1, "the old one was posted");
    assert!(
        !refused.is_refused("corp"),
        "the new password is not blamed for the old one"
    );
}
