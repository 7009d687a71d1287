//! Chained roles against the simulator's STS, which answers AssumeRole as AWS does for role
//! chaining (at most an hour, the SourceIdentity kept) and records every call it received:
//! each hop is signed with the session before it, asks for an hour, carries the sign-in's
//! SourceIdentity, and a renewal starts from a new session of the source role.

use std::sync::Arc;

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::chain::Chain;
use rolecall_core::clock::SystemClock;
use rolecall_core::idp::{self, NoPasscodes, Outcome};
use rolecall_core::paths::{Environment, Platform};
use rolecall_core::provision::{self, Request, Roles};
use rolecall_core::registry::Registry;
use rolecall_core::saml::{Assertion, RolePair};
use rolecall_core::secrets::{MemoryStore, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Preferences, SignInMethod};
use rolecall_core::sts::StsError;
use rolecall_sim::{DEMO_PASSWORD, IssuedCredentials, Role, Sim, SimConfig, User};

const HUB: &str = "arn:aws:iam::111122223333:role/Hub";
const TRANSIT: &str = "arn:aws:iam::444455556666:role/Transit";
const DEPLOY: &str = "arn:aws:iam::777788889999:role/Deploy";
const SOURCE_IDENTITY: &str = "alice.smith";

/// alice holds the hub role; her assertion sets a SourceIdentity when `identity` says so. The
/// deploy role asks for an external id.
async fn sim(identity: bool, denied: &[&str]) -> Sim {
    let mut config = SimConfig::demo();
    config.users = vec![User {
        source_identity: identity.then(|| SOURCE_IDENTITY.to_owned()),
        ..User::new("alice", vec![Role::new("111122223333", "Hub")])
    }];
    config
        .sts
        .external_ids
        .insert(DEPLOY.to_owned(), "corp-42".to_owned());
    config.sts.denied_roles = denied.iter().map(|role| (*role).to_owned()).collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
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

fn hub(assertion: &Assertion) -> RolePair {
    assertion
        .roles
        .iter()
        .find(|role| role.role_arn == HUB)
        .cloned()
        .expect("the sign-in grants the hub role")
}

fn chain() -> Chain {
    Chain {
        roles: vec![TRANSIT.to_owned(), DEPLOY.to_owned()],
        external_id: Some("corp-42".to_owned()),
        session_name: None,
    }
}

/// A temporary folder with AWS files, and what provisioning needs around them.
struct Place {
    dir: tempfile::TempDir,
    files: AwsFiles,
    env: Environment,
    endpoint: Endpoint,
    preferences: Preferences,
    aliases: rolecall_core::accounts::Aliases,
}

impl Place {
    fn new(sim: &Sim) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = AwsFiles::new(dir.path().join("credentials"), dir.path().join("config"));
        Self {
            files,
            env: Environment::new(Platform::current()).with("AWS_ENDPOINT_URL_STS", sim.sts_url()),
            endpoint: endpoint(sim),
            preferences: Preferences {
                // Eight hours for SAML sessions: a chained hop still asks for one.
                session_duration_secs: 8 * 60 * 60,
                regions: [("777788889999".to_owned(), "eu-north-1".to_owned())].into(),
                ..Preferences::default()
            },
            aliases: Default::default(),
            dir,
        }
    }

    fn ctx(&self) -> provision::Context<'_> {
        provision::Context {
            env: &self.env,
            files: &self.files,
            config_dir: self.dir.path(),
            clock: &SystemClock,
            preferences: &self.preferences,
            endpoint: &self.endpoint,
            aliases: &self.aliases,
            limits: provision::limits_on_disk(self.dir.path()),
        }
    }
}

fn issued(sim: &Sim, access_key_id: &str) -> IssuedCredentials {
    sim.issued_credentials()
        .into_iter()
        .find(|issued| issued.access_key_id == access_key_id)
        .unwrap_or_else(|| panic!("the simulator issued {access_key_id}"))
}

#[tokio::test]
async fn a_chain_writes_the_last_hops_credentials_each_hop_signed_with_the_session_before() {
    let sim = sim(true, &[]).await;
    let place = Place::new(&sim);
    let assertion = assertion_of(&place.endpoint).await;
    assert_eq!(
        assertion.source_identity.as_deref(),
        Some(SOURCE_IDENTITY),
        "the assertion's SourceIdentity is read"
    );
    let request = Request::new(Roles::Chain {
        role: hub(&assertion),
        chain: chain(),
        profile: "spoke".to_owned(),
    });

    let written = provision::provision(&place.ctx(), &assertion, request)
        .await
        .unwrap();

    assert!(written.failed.is_empty(), "{:?}", written.failed);
    let stored = place.files.read_credentials("spoke").unwrap().unwrap();
    let last = issued(&sim, &stored.access_key_id);
    assert_eq!(
        last.role_arn, DEPLOY,
        "the profile holds the last hop's keys"
    );
    assert_eq!(
        stored.principal_arn.as_deref(),
        Some("arn:aws:sts::777788889999:assumed-role/Deploy/alice@corp.example"),
        "the assumed-role ARN of the last hop, with the sign-in's session name"
    );
    let left = stored.expiration.unwrap() - SystemClock.now();
    assert!(
        left <= time::Duration::hours(1) && left > time::Duration::minutes(55),
        "a chained session lasts an hour, whatever the settings say: {left}"
    );
    let transit = issued(&sim, last.chained_from.as_deref().unwrap());
    assert_eq!(
        transit.role_arn, TRANSIT,
        "the last hop is signed by the first"
    );
    let source = issued(&sim, transit.chained_from.as_deref().unwrap());
    assert_eq!(
        source.role_arn, HUB,
        "the first hop is signed by the SAML session"
    );
    assert_eq!(source.chained_from, None);

    let calls = sim.assume_role_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for call in &calls {
        assert_eq!(call.duration_seconds.as_deref(), Some("3600"), "{call:?}");
        assert_eq!(
            call.source_identity.as_deref(),
            Some(SOURCE_IDENTITY),
            "every hop passes the SourceIdentity on: {call:?}"
        );
        assert_eq!(
            call.role_session_name.as_deref(),
            Some("alice@corp.example")
        );
        assert_eq!(call.external_id.as_deref(), Some("corp-42"));
    }
    assert_eq!(last.source_identity.as_deref(), Some(SOURCE_IDENTITY));
    assert_eq!(
        place.files.read_region("spoke").unwrap().as_deref(),
        Some("eu-north-1"),
        "the region of the last hop's account"
    );
    let registry = Registry::load(place.dir.path()).unwrap();
    let source = registry.get("spoke").unwrap();
    assert_eq!(source.role_arn, HUB, "recorded with its source role");
    assert_eq!(source.chain, Some(chain()), "and its chain, to renew it");
    assert_eq!(source.target_role(), DEPLOY);
}

#[tokio::test]
async fn without_a_source_identity_none_is_sent() {
    let sim = sim(false, &[]).await;
    let place = Place::new(&sim);
    let assertion = assertion_of(&place.endpoint).await;
    let mut one_hop = chain();
    one_hop.roles = vec![TRANSIT.to_owned()];
    one_hop.session_name = Some("alice-spoke".to_owned());
    let request = Request::new(Roles::Chain {
        role: hub(&assertion),
        chain: one_hop,
        profile: "spoke".to_owned(),
    });
    let written = provision::provision(&place.ctx(), &assertion, request)
        .await
        .unwrap();
    assert!(written.failed.is_empty(), "{:?}", written.failed);
    let calls = sim.assume_role_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].source_identity, None);
    assert_eq!(
        calls[0].role_session_name.as_deref(),
        Some("alice-spoke"),
        "the chain's own session name"
    );
}

#[tokio::test]
async fn renewing_a_chained_profile_starts_from_a_new_session_of_its_source_role() {
    let sim = sim(true, &[]).await;
    let place = Place::new(&sim);
    let assertion = assertion_of(&place.endpoint).await;
    let hub = hub(&assertion);
    provision::provision(
        &place.ctx(),
        &assertion,
        Request::new(Roles::Chain {
            role: hub.clone(),
            chain: chain(),
            profile: "spoke".to_owned(),
        }),
    )
    .await
    .unwrap();
    let before: Vec<String> = sim
        .issued_credentials()
        .into_iter()
        .map(|issued| issued.access_key_id)
        .collect();
    let old = place.files.read_credentials("spoke").unwrap().unwrap();

    // As the engine and credential-process renew: the registry's role, by profile name.
    let again = assertion_of(&place.endpoint).await;
    let renewed = provision::provision(
        &place.ctx(),
        &again,
        Request::new(Roles::Again(vec![(hub, "spoke".to_owned())])),
    )
    .await
    .unwrap();

    assert!(renewed.failed.is_empty(), "{:?}", renewed.failed);
    let new = place.files.read_credentials("spoke").unwrap().unwrap();
    assert_ne!(new.access_key_id, old.access_key_id);
    let last = issued(&sim, &new.access_key_id);
    assert_eq!(
        last.role_arn, DEPLOY,
        "renewed as the chain, not as the hub role"
    );
    let transit = issued(&sim, last.chained_from.as_deref().unwrap());
    let source = issued(&sim, transit.chained_from.as_deref().unwrap());
    assert_eq!(source.role_arn, HUB);
    assert!(
        !before.contains(&source.access_key_id),
        "the chain starts from a session of the source role that is new, not from any \
         credentials issued before the renewal"
    );
    let calls = sim.assume_role_calls();
    assert_eq!(calls.len(), 4, "two hops each time: {calls:?}");
    assert!(
        calls
            .iter()
            .all(|call| call.signed_with.as_deref() != Some(old.access_key_id.as_str())),
        "the old chained credentials never sign a call"
    );
}

#[tokio::test]
async fn a_refused_hop_names_the_hop_and_the_role_it_came_from_and_nothing_is_written() {
    let sim = sim(true, &[DEPLOY]).await;
    let place = Place::new(&sim);
    let assertion = assertion_of(&place.endpoint).await;
    let written = provision::provision(
        &place.ctx(),
        &assertion,
        Request::new(Roles::Chain {
            role: hub(&assertion),
            chain: chain(),
            profile: "spoke".to_owned(),
        }),
    )
    .await
    .unwrap();
    assert!(written.profiles.is_empty());
    let (profile, _, err) = written.failed.first().expect("the chain failed");
    assert_eq!(profile, "spoke");
    assert!(
        matches!(err, StsError::HopDenied { hop: 2, role, from, .. } if role == DEPLOY && from == TRANSIT),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("hop 2") && message.contains(DEPLOY) && message.contains(TRANSIT),
        "the message names the hop, the role and where it came from: {message}"
    );
    assert!(
        place.files.read_credentials("spoke").unwrap().is_none(),
        "no profile without the last hop's credentials"
    );
}

#[tokio::test]
async fn a_wrong_external_id_is_refused_by_sts_and_a_wrong_chain_before_any_call() {
    let sim = sim(false, &[]).await;
    let place = Place::new(&sim);
    let assertion = assertion_of(&place.endpoint).await;
    let mut wrong = chain();
    wrong.external_id = Some("corp-41".to_owned());
    let written = provision::provision(
        &place.ctx(),
        &assertion,
        Request::new(Roles::Chain {
            role: hub(&assertion),
            chain: wrong,
            profile: "spoke".to_owned(),
        }),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            written.failed.first(),
            Some((_, _, StsError::HopDenied { hop: 2, .. }))
        ),
        "{:?}",
        written.failed
    );

    let calls = sim.stats().sts_calls;
    let mut broken = chain();
    broken.roles.push("777788889999/Admin".to_owned());
    let refused = provision::provision(
        &place.ctx(),
        &assertion,
        Request::new(Roles::Chain {
            role: hub(&assertion),
            chain: broken,
            profile: "spoke".to_owned(),
        }),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("is not an IAM role ARN"),
        "{refused}"
    );
    assert_eq!(sim.stats().sts_calls, calls, "refused before any call");
}
