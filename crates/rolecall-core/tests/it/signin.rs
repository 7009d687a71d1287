//! The sign-in engine against `rolecall-sim` over real TCP: forms, passcodes, SSO reuse,
//! sign-out, AD FS errors and every broken answer the simulator can give.
//!
//! These tests use the forms method only: integrated sign-in reads the process's Kerberos
//! environment, so it is tested in child processes with their own (see `negotiate` and the
//! command-line tests).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolecall_core::accounts::{AliasCache, Aliases, NameSource};
use rolecall_core::idp::{
    self, FailureKind, NoPasscodes, Outcome, PasscodePrompt, PasscodeSource, PersonNeeded, SignIn,
    SignInError, SignedIn, SignedInVia,
};
use rolecall_core::saml::SamlError;
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, SignInMethod};
use rolecall_sim::{
    DEMO_PASSWORD, Hostile, Recorder, RecorderAnswer, RoleChooser, Sim, SimConfig, TarpitStep,
    WRONG_PASSCODE_TEXT, WRONG_PASSWORD_TEXT,
};

async fn sim() -> Sim {
    sim_with(SimConfig::demo()).await
}

async fn sim_with(config: SimConfig) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

fn forms_endpoint(sim: &Sim, username: &str) -> Endpoint {
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some(username.to_owned());
    endpoint
}

/// Passcodes handed out in order, then none; records what was asked.
#[derive(Default)]
struct Codes {
    codes: Mutex<Vec<&'static str>>,
    asked: Mutex<Vec<PasscodePrompt>>,
    before_answer: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Codes {
    fn new(codes: &[&'static str]) -> Self {
        let mut codes = codes.to_vec();
        codes.reverse();
        Codes {
            codes: Mutex::new(codes),
            ..Codes::default()
        }
    }
}

impl PasscodeSource for Codes {
    fn passcode(&self, prompt: &PasscodePrompt) -> Option<Sensitive<String>> {
        self.asked.lock().unwrap().push(prompt.clone());
        if let Some(hook) = &self.before_answer {
            hook();
        }
        self.codes
            .lock()
            .unwrap()
            .pop()
            .map(|code| Sensitive::new(code.to_owned()))
    }
}

async fn run(
    endpoint: &Endpoint,
    password: Option<&str>,
    secrets: &Arc<MemoryStore>,
    passcodes: &dyn PasscodeSource,
) -> Result<Outcome, SignInError> {
    idp::sign_in(SignIn {
        endpoint,
        password: password.map(|p| Sensitive::new(p.to_owned())),
        secrets: Arc::clone(secrets) as Arc<dyn SecretStore>,
        passcodes,
    })
    .await
}

fn signed_in(outcome: Result<Outcome, SignInError>) -> Box<SignedIn> {
    match outcome {
        Ok(Outcome::SignedIn(signed_in)) => signed_in,
        other => panic!("the sign-in should have worked: {other:?}"),
    }
}

#[tokio::test]
async fn forms_sign_in_gives_the_roles_and_keeps_the_sso_session() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let endpoint = forms_endpoint(&sim, "alice");

    let done = signed_in(run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes).await);

    assert_eq!(done.via, SignedInVia::Password);
    assert_eq!(done.assertion.role_session_name, "alice@corp.example");
    assert_eq!(done.assertion.roles.len(), 5);
    assert_eq!(done.assertion.session_duration, Some(28_800));
    assert_eq!(
        done.post_to.as_ref(),
        Some(&sim.signin_saml_url()),
        "the auto-post page's action is where aliases are looked up"
    );
    let cookies = secrets
        .get("corp", SecretKind::SsoCookies)
        .unwrap()
        .expect("the MSISAuth cookies are kept for the next sign-in");
    assert!(
        cookies.expose().contains("MSISAuth=") && cookies.expose().contains("MSISAuth1="),
        "every part of the split MSISAuth token is kept"
    );
    assert_eq!(sim.stats().form_posts, 1);
}

#[tokio::test]
async fn the_next_sign_in_is_silent_while_the_idp_session_lasts() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let endpoint = forms_endpoint(&sim, "alice");
    signed_in(run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes).await);

    let again = signed_in(run(&endpoint, None, &secrets, &NoPasscodes).await);

    assert_eq!(again.via, SignedInVia::SingleSignOn);
    assert_eq!(
        sim.stats().form_posts,
        1,
        "no password was posted the second time"
    );

    // Once AD FS's session has ended, the password is needed again.
    sim.advance_clock(Duration::from_secs(9 * 60 * 60));
    let err = run(&endpoint, None, &secrets, &NoPasscodes)
        .await
        .expect_err("an expired session needs the password");
    assert!(matches!(err, SignInError::NoPassword { .. }), "{err:?}");
}

#[tokio::test]
async fn sign_out_ends_the_idp_session_and_forgets_the_cookies() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let endpoint = forms_endpoint(&sim, "alice");
    signed_in(run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes).await);
    let cookies = secrets
        .get("corp", SecretKind::SsoCookies)
        .unwrap()
        .unwrap();

    idp::sign_out(&endpoint, Arc::clone(&secrets) as Arc<dyn SecretStore>)
        .await
        .unwrap();

    assert_eq!(sim.stats().sign_outs, 1, "AD FS was told (wsignout1.0)");
    assert_eq!(secrets.get("corp", SecretKind::SsoCookies).unwrap(), None);
    // Even the old cookies, were they kept elsewhere, no longer sign anybody in.
    secrets
        .set("corp", SecretKind::SsoCookies, &cookies)
        .unwrap();
    let err = run(&endpoint, None, &secrets, &NoPasscodes)
        .await
        .unwrap_err();
    assert!(matches!(err, SignInError::NoPassword { .. }), "{err:?}");
}

#[tokio::test]
async fn a_wrong_password_shows_the_idp_message_verbatim() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let endpoint = forms_endpoint(&sim, "alice");

    let err = run(&endpoint, Some("wrong"), &secrets, &NoPasscodes)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), FailureKind::BadCredentials);
    let message = err.to_string();
    assert!(message.contains(WRONG_PASSWORD_TEXT), "{message}");
    assert!(message.contains("alice"), "names the user: {message}");
    assert!(!message.contains("wrong"), "never the password: {message}");
    assert_eq!(sim.stats().form_posts, 1, "one try, no retry loop");
}

#[tokio::test]
async fn the_password_can_come_from_the_keyring() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let done = signed_in(run(&forms_endpoint(&sim, "alice"), None, &secrets, &NoPasscodes).await);
    assert_eq!(done.via, SignedInVia::Password);
}

#[tokio::test]
async fn a_passcode_page_is_answered_with_the_callers_code() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let codes = Codes::new(&["123456"]);

    let done = signed_in(
        run(
            &forms_endpoint(&sim, "bob"),
            Some(DEMO_PASSWORD),
            &secrets,
            &codes,
        )
        .await,
    );

    assert_eq!(done.via, SignedInVia::PasswordAndPasscode);
    let asked = codes.asked.lock().unwrap();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].adapter, "SecurIDv2Authentication");
    assert_eq!(asked[0].error, None);
}

#[tokio::test]
async fn a_wrong_passcode_is_asked_again_with_the_page_message() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let codes = Codes::new(&["000000"]);

    let err = run(
        &forms_endpoint(&sim, "bob"),
        Some(DEMO_PASSWORD),
        &secrets,
        &codes,
    )
    .await
    .unwrap_err();

    assert_eq!(err.kind(), FailureKind::Passcode);
    assert!(err.to_string().contains(WRONG_PASSCODE_TEXT), "{err}");
    let asked = codes.asked.lock().unwrap();
    assert_eq!(
        asked.len(),
        2,
        "the person is asked again after a wrong code"
    );
    assert_eq!(asked[1].error.as_deref(), Some(WRONG_PASSCODE_TEXT));
    assert_eq!(asked[1].attempt, 2);
}

#[tokio::test]
async fn a_wrong_then_right_passcode_signs_in() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let codes = Codes::new(&["000000", "123456"]);
    let done = signed_in(
        run(
            &forms_endpoint(&sim, "bob"),
            Some(DEMO_PASSWORD),
            &secrets,
            &codes,
        )
        .await,
    );
    assert_eq!(done.via, SignedInVia::PasswordAndPasscode);
}

#[tokio::test]
async fn no_passcode_to_give_is_its_own_error() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(
        &forms_endpoint(&sim, "bob"),
        Some(DEMO_PASSWORD),
        &secrets,
        &NoPasscodes,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, SignInError::PasscodeNeeded { adapter, .. } if adapter == "SecurIDv2Authentication"),
        "{err:?}"
    );
    assert!(err.to_string().contains("ROLECALL_MFA_CODE"), "{err}");
}

#[tokio::test]
async fn a_passcode_given_after_the_context_expired_starts_over_with_a_clear_error() {
    let sim = Arc::new(sim().await);
    let secrets = Arc::new(MemoryStore::new());
    let clock = Arc::clone(&sim);
    let codes = Codes {
        before_answer: Some(Box::new(move || {
            clock.advance_clock(Duration::from_secs(600))
        })),
        ..Codes::new(&["123456"])
    };
    let err = run(
        &forms_endpoint(&sim, "bob"),
        Some(DEMO_PASSWORD),
        &secrets,
        &codes,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, SignInError::PasscodeExpired { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_mfa_adapter_without_a_passcode_needs_a_person() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let outcome = run(
        &forms_endpoint(&sim, "duo"),
        Some(DEMO_PASSWORD),
        &secrets,
        &NoPasscodes,
    )
    .await
    .unwrap();
    let Outcome::NeedsPerson { url, reason } = outcome else {
        panic!("Duo's prompt is for a person: {outcome:?}");
    };
    assert_eq!(
        url,
        sim.sign_on_url(),
        "the webview starts where the sign-in did"
    );
    assert!(
        matches!(reason, PersonNeeded::UnknownPage | PersonNeeded::Mfa { .. }),
        "{reason:?}"
    );
}

#[tokio::test]
async fn an_unknown_relying_party_is_msis7007_with_advice() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let mut url = sim.sign_on_url();
    url.set_query(Some("loginToRp=urn:not:aws"));
    let mut endpoint = Endpoint::new("corp", url.as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());

    let err = run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes)
        .await
        .unwrap_err();

    let SignInError::Adfs { code, .. } = &err else {
        panic!("MSIS7007 is an AD FS error: {err:?}");
    };
    assert_eq!(code, "MSIS7007");
    assert!(err.to_string().contains("urn:amazon:webservices"), "{err}");
}

#[tokio::test]
async fn an_account_without_aws_roles_says_so() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(
        &forms_endpoint(&sim, "carol"),
        Some(DEMO_PASSWORD),
        &secrets,
        &NoPasscodes,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, SignInError::Saml(SamlError::NoRoles)),
        "{err:?}"
    );
    assert_eq!(err.kind(), FailureKind::NoRoles);
    assert!(err.to_string().contains("no AWS roles"), "{err}");
}

#[tokio::test]
async fn broken_answers_end_in_their_own_errors() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    type Expected = fn(&SignInError) -> bool;
    let cases: [(&str, Expected); 5] = [
        ("truncated", |e| {
            matches!(
                e,
                SignInError::Saml(
                    SamlError::NotXml { .. } | SamlError::NotBase64 | SamlError::NotResponse
                )
            )
        }),
        ("broken-base64", |e| {
            matches!(e, SignInError::Saml(SamlError::NotBase64))
        }),
        ("huge", |e| {
            matches!(e, SignInError::Saml(SamlError::TooLarge { .. }))
        }),
        ("dtd", |e| {
            matches!(e, SignInError::Saml(SamlError::DtdRejected))
        }),
        ("encrypted", |e| {
            matches!(e, SignInError::Saml(SamlError::Encrypted))
        }),
    ];
    for (user, expected) in cases {
        let err = run(
            &forms_endpoint(&sim, user),
            Some(DEMO_PASSWORD),
            &secrets,
            &NoPasscodes,
        )
        .await
        .expect_err(user);
        assert!(expected(&err), "{user}: {err:?}");
        assert!(
            !err.to_string().contains("PHNhbWxw"),
            "{user}: no assertion in {err}"
        );
    }
}

#[tokio::test]
async fn an_unknown_page_after_the_password_needs_a_person() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let outcome = run(
        &forms_endpoint(&sim, "garbage"),
        Some(DEMO_PASSWORD),
        &secrets,
        &NoPasscodes,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::NeedsPerson {
                reason: PersonNeeded::UnknownPage,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_webview_method_goes_straight_to_a_person() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "alice");
    endpoint.method = SignInMethod::Webview;
    let outcome = run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes)
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::NeedsPerson {
                reason: PersonNeeded::WebviewMethod,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(sim.stats().login_pages_served, 0, "nothing was fetched");
}

/// AWS's role chooser as it is served today (the names only in the Next.js page's data meta)
/// and as it was (the `Account:` headings) both name the accounts; an account without an alias
/// takes the name the person gave it in the settings, and the cache keeps what the page said.
#[tokio::test]
async fn aliases_come_from_the_sign_in_page_in_either_layout_and_are_cached() {
    for layout in [RoleChooser::NextJs, RoleChooser::Legacy] {
        let sim = sim_with(SimConfig {
            role_chooser: layout,
            ..SimConfig::demo()
        })
        .await;
        let secrets = Arc::new(MemoryStore::new());
        let endpoint = forms_endpoint(&sim, "alice");
        let done = signed_in(run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes).await);
        let dir = tempfile::tempdir().unwrap();
        let mut cache = AliasCache::load(dir.path()).unwrap();
        let settings = Aliases::from([
            ("777788889999".to_owned(), "audit".to_owned()),
            (
                "111122223333".to_owned(),
                "not shown: AWS names it".to_owned(),
            ),
        ]);

        let (accounts, problem) = idp::accounts_of(&done, &endpoint, &mut cache, &settings).await;

        assert!(problem.is_none(), "{layout:?}: {problem:?}");
        let named: Vec<(String, NameSource)> = accounts
            .iter()
            .map(|account| (account.label(), account.alias_source))
            .collect();
        assert_eq!(
            named,
            [
                ("audit (777788889999)".to_owned(), NameSource::Settings),
                ("corp-prod (111122223333)".to_owned(), NameSource::Page),
                ("corp-staging (444455556666)".to_owned(), NameSource::Page),
            ],
            "{layout:?}"
        );
        assert_eq!(sim.stats().alias_page_posts, 1);
        let reloaded = AliasCache::load(dir.path()).unwrap();
        assert_eq!(reloaded.all(), cache.all(), "the cache was saved");
        assert_eq!(
            reloaded.all().len(),
            2,
            "{layout:?}: it holds AWS's aliases, not the settings' names: {:?}",
            reloaded.all()
        );
    }
}

#[tokio::test]
async fn a_590_role_assertion_is_read_whole() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let done = signed_in(
        run(
            &forms_endpoint(&sim, "many"),
            Some(DEMO_PASSWORD),
            &secrets,
            &NoPasscodes,
        )
        .await,
    );
    assert_eq!(done.assertion.roles.len(), 590);
    assert_eq!(done.assertion.roles_by_account().len(), 60);
    assert!(
        done.assertion.raw.expose().len() <= 100_000,
        "fits the STS limit: {}",
        done.assertion.raw.expose().len()
    );
}

#[tokio::test]
async fn an_unreachable_idp_is_a_network_error_naming_the_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut endpoint = Endpoint::new("corp", &format!("http://127.0.0.1:{port}/adfs/ls/")).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    let secrets = Arc::new(MemoryStore::new());
    let err = run(&endpoint, Some("pw"), &secrets, &NoPasscodes)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FailureKind::Network, "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

/// NTLM with a username and password: the WIA redirect, the two challenges and the three legs
/// on one connection, against the simulator's NTLMv2 acceptor.
#[tokio::test(flavor = "multi_thread")]
async fn ntlm_with_a_password_signs_in_through_wia() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "CORP\\alice");
    endpoint.method = SignInMethod::Ntlm;

    let done = signed_in(run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes).await);

    assert_eq!(done.assertion.role_session_name, "alice@corp.example");
    assert_eq!(sim.stats().form_posts, 0, "no form was used");
    assert!(
        secrets
            .get("corp", SecretKind::SsoCookies)
            .unwrap()
            .is_some(),
        "the session from WIA is kept like any other"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ntlm_with_a_wrong_password_is_refused_as_bad_credentials() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "CORP\\alice");
    endpoint.method = SignInMethod::Ntlm;
    let err = run(&endpoint, Some("wrong"), &secrets, &NoPasscodes)
        .await
        .unwrap_err();
    assert!(matches!(err, SignInError::NtlmRefused { .. }), "{err:?}");
    assert_eq!(err.kind(), FailureKind::BadCredentials);
    assert!(err.to_string().contains("CORP\\alice"), "{err}");
}

/// A machine without a keyring kept no SSO cookies, so signing out has nothing to forget and
/// must not fail for it.
#[tokio::test]
async fn sign_out_without_a_keyring_is_not_an_error() {
    #[derive(Debug)]
    struct NoKeyring;
    impl SecretStore for NoKeyring {
        fn place(&self) -> rolecall_core::secrets::SecretPlace {
            rolecall_core::secrets::SecretPlace::Keyring
        }

        fn get(
            &self,
            _: &str,
            _: SecretKind,
        ) -> Result<Option<Sensitive<String>>, rolecall_core::secrets::SecretsError> {
            Err(rolecall_core::secrets::SecretsError::Unavailable {
                detail: String::new(),
            })
        }
        fn set(
            &self,
            _: &str,
            _: SecretKind,
            _: &Sensitive<String>,
        ) -> Result<(), rolecall_core::secrets::SecretsError> {
            Err(rolecall_core::secrets::SecretsError::Unavailable {
                detail: String::new(),
            })
        }
        fn delete(
            &self,
            _: &str,
            _: SecretKind,
        ) -> Result<(), rolecall_core::secrets::SecretsError> {
            Err(rolecall_core::secrets::SecretsError::Unavailable {
                detail: String::new(),
            })
        }
    }
    let sim = sim().await;
    let endpoint = forms_endpoint(&sim, "alice");
    idp::sign_out(&endpoint, Arc::new(NoKeyring)).await.unwrap();
}

// ---- Secrets go only to the endpoint's host ------------------------------------------------

/// The "other host": a recorder on the second loopback address, 127.0.0.2.
async fn other_host(answer: RecorderAnswer) -> Recorder {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("127.0.0.2 is loopback on Linux");
    Recorder::start(listener, answer).await.unwrap()
}

async fn hostile_sim(hostile: Hostile) -> Sim {
    sim_with(SimConfig {
        hostile: Some(hostile),
        ..SimConfig::demo()
    })
    .await
}

fn host_of(url: &url::Url) -> String {
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

/// The refusal names the endpoint's host and the other one, and never the password.
fn names_both_hosts(err: &SignInError, sim: &Sim, other: &str) {
    let message = err.to_string();
    assert!(
        message.contains(&host_of(&sim.base_url())),
        "names the endpoint's host: {message}"
    );
    assert!(message.contains(other), "names the other host: {message}");
    assert!(!message.contains(DEMO_PASSWORD), "{message}");
}

#[tokio::test]
async fn a_login_form_posting_to_another_host_gets_no_password() {
    let other = other_host(RecorderAnswer::Page).await;
    let sim = hostile_sim(Hostile::LoginFormPostsTo(format!(
        "{}adfs/ls/",
        other.base_url()
    )))
    .await;
    let secrets = Arc::new(MemoryStore::new());
    let err = run(
        &forms_endpoint(&sim, "alice"),
        Some(DEMO_PASSWORD),
        &secrets,
        &NoPasscodes,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SignInError::FormElsewhere { .. }), "{err:?}");
    names_both_hosts(&err, &sim, &host_of(&other.base_url()));
    assert!(
        other.requests().is_empty(),
        "127.0.0.2 got {:?}",
        other.requests()
    );
}

/// A 307 or 308 keeps the method and body: to another host it would post the password there.
#[tokio::test]
async fn a_cross_host_307_or_308_does_not_post_the_form_again() {
    for status in [307, 308] {
        let other = other_host(RecorderAnswer::Page).await;
        let sim = hostile_sim(Hostile::LoginPostRedirects {
            status,
            location: format!("{}adfs/ls/", other.base_url()),
        })
        .await;
        let secrets = Arc::new(MemoryStore::new());
        let err = run(
            &forms_endpoint(&sim, "alice"),
            Some(DEMO_PASSWORD),
            &secrets,
            &NoPasscodes,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, SignInError::RepostElsewhere { status: s, .. } if *s == status),
            "{err:?}"
        );
        names_both_hosts(&err, &sim, &host_of(&other.base_url()));
        assert!(err.to_string().contains(&status.to_string()), "{err}");
        assert_eq!(
            sim.stats().form_posts,
            1,
            "the endpoint's own host got the form"
        );
        assert!(
            other.requests().is_empty(),
            "127.0.0.2 got {:?} after a {status}",
            other.requests()
        );
    }
}

/// A GET form (or one without `method`, which HTML reads as GET) would put the password in the
/// address; nothing is sent, not even to the endpoint's own host.
#[tokio::test]
async fn a_get_or_methodless_login_form_is_refused() {
    for hostile in [Hostile::GetLoginForm, Hostile::MethodlessLoginForm] {
        let other = other_host(RecorderAnswer::Page).await;
        let sim = hostile_sim(hostile.clone()).await;
        let secrets = Arc::new(MemoryStore::new());
        let err = run(
            &forms_endpoint(&sim, "alice"),
            Some(DEMO_PASSWORD),
            &secrets,
            &NoPasscodes,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, SignInError::PasswordInAddress { .. }),
            "{hostile:?}: {err:?}"
        );
        names_both_hosts(&err, &sim, &host_of(&sim.base_url()));
        let stats = sim.stats();
        assert_eq!(
            (stats.login_pages_served, stats.form_posts),
            (1, 0),
            "{hostile:?}: only the login page was asked for"
        );
        assert!(other.requests().is_empty());
    }
}

/// Integrated sign-in answers only the endpoint's host: a `401 NTLM`/`Negotiate` from another
/// host gets no NTLM answer and no Kerberos ticket (not even the first NTLM leg).
#[tokio::test]
async fn a_401_from_another_host_gets_no_ntlm_answer_or_ticket() {
    for method in [
        SignInMethod::Ntlm,
        SignInMethod::Kerberos,
        SignInMethod::Windows,
    ] {
        let other = other_host(RecorderAnswer::IntegratedChallenge).await;
        let sim = hostile_sim(Hostile::WiaAt(format!(
            "{}adfs/ls/wia?loginToRp=urn:amazon:webservices",
            other.base_url()
        )))
        .await;
        let secrets = Arc::new(MemoryStore::new());
        let mut endpoint = forms_endpoint(&sim, "CORP\\alice");
        endpoint.method = method;
        let err = run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SignInError::ChallengeElsewhere { .. }),
            "{method}: {err:?}"
        );
        names_both_hosts(&err, &sim, &host_of(&other.base_url()));
        let seen = other.requests();
        assert_eq!(seen.len(), 1, "{method}: only the redirect was followed");
        assert!(
            seen[0].headers.get("authorization").is_none() && seen[0].body.is_empty(),
            "{method}: 127.0.0.2 got credentials"
        );
    }
}

/// A host the person lists for the endpoint may receive the password.
#[tokio::test]
async fn a_host_the_person_trusts_gets_the_form() {
    let other = other_host(RecorderAnswer::Page).await;
    let sim = hostile_sim(Hostile::LoginFormPostsTo(format!(
        "{}adfs/ls/",
        other.base_url()
    )))
    .await;
    let secrets = Arc::new(MemoryStore::new());
    let mut endpoint = forms_endpoint(&sim, "alice");
    endpoint.trusted_hosts = vec!["127.0.0.2".to_owned()];
    let outcome = run(&endpoint, Some(DEMO_PASSWORD), &secrets, &NoPasscodes).await;
    assert!(
        matches!(
            outcome,
            Ok(Outcome::NeedsPerson {
                reason: PersonNeeded::UnknownPage,
                ..
            })
        ),
        "{outcome:?}"
    );
    let seen = other.requests();
    assert_eq!(seen.len(), 1, "the trusted host got the form");
    assert_eq!(seen[0].method, "POST");
}

// ---- The sign-in's deadline ------------------------------------------------------------------

/// An IdP that never answers ends the sign-in at its deadline, and the message says which
/// request of which host was still waiting.
#[tokio::test]
async fn a_tarpitting_idp_ends_at_the_deadline_naming_the_step() {
    for (step, what) in [
        (TarpitStep::SignOnPage, "the sign-in page"),
        (TarpitStep::LoginPost, "the posted sign-in form"),
    ] {
        let sim = hostile_sim(Hostile::Tarpit(step)).await;
        let secrets = Arc::new(MemoryStore::new());
        let endpoint = forms_endpoint(&sim, "alice");
        let err = idp::sign_in_within(
            SignIn {
                endpoint: &endpoint,
                password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
                secrets: Arc::clone(&secrets) as Arc<dyn SecretStore>,
                passcodes: &NoPasscodes,
            },
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, SignInError::Deadline { .. }),
            "{step:?}: {err:?}"
        );
        assert_eq!(err.kind(), FailureKind::Network);
        let message = err.to_string();
        assert!(message.contains("more than 0.5 seconds"), "{message}");
        assert!(message.contains(&host_of(&sim.base_url())), "{message}");
        assert!(message.contains(what), "{step:?}: {message}");
        assert!(
            message.contains("/adfs/ls/IdpInitiatedSignOn.aspx"),
            "names the page: {message}"
        );
    }
}

/// The deadline is the IdP's time, not the person's: a passcode typed slower than the whole
/// deadline still signs in.
#[tokio::test(flavor = "multi_thread")]
async fn the_time_a_person_takes_for_the_passcode_does_not_count() {
    let sim = sim().await;
    let secrets = Arc::new(MemoryStore::new());
    let deadline = Duration::from_secs(3);
    let codes = Codes {
        before_answer: Some(Box::new(move || {
            std::thread::sleep(deadline + deadline / 4)
        })),
        ..Codes::new(&["123456"])
    };
    let endpoint = forms_endpoint(&sim, "bob");
    let outcome = idp::sign_in_within(
        SignIn {
            endpoint: &endpoint,
            password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
            secrets: Arc::clone(&secrets) as Arc<dyn SecretStore>,
            passcodes: &codes,
        },
        deadline,
    )
    .await;
    assert_eq!(signed_in(outcome).via, SignedInVia::PasswordAndPasscode);
}
