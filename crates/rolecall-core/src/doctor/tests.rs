//! The doctor's checks, each with the inputs that make it pass, warn and fail: loopback servers
//! (one with a skewed clock, one behind a TLS front with a private CA), a stand-in Kerberos, a
//! keyring in memory or one that is not there, AWS files written by hand.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::clock::ManualClock;
use crate::last_sign_in::Via;
use crate::negotiate::{NegotiateError, Ticket};
use crate::secrets::{MemoryStore, SecretKind, SecretPlace, SecretsError, Sensitive};
use crate::settings::SignInMethod;

const NOW: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);
const PASSWORD: &str = "correct horse battery staple";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENdoNotLeak";

/// A server that answers every request `200` with a `Date` of `NOW + skew` (none if `None`).
async fn server_with_date(skew: Option<time::Duration>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0; 8192];
                let _ = socket.read(&mut buffer).await;
                let date = skew
                    .map(|skew| format!("date: {}\r\n", probe::format_http_date(NOW + skew)))
                    .unwrap_or_default();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\n{date}content-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

/// A Kerberos that has what it is told, and counts the questions.
#[derive(Debug, Default)]
struct StandInKerberos {
    ticket: Option<Ticket>,
    /// Hosts whose service the realm does not know.
    unknown: Vec<String>,
    asked: AtomicUsize,
}

impl KerberosTickets for StandInKerberos {
    fn current(&self) -> Result<Ticket, NegotiateError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.ticket.clone().ok_or(NegotiateError::NoTicket {
            host: String::new(),
            detail: "No Kerberos credentials available".to_owned(),
        })
    }

    fn service_ticket(&self, host: &str) -> Result<(), NegotiateError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.unknown.iter().any(|unknown| unknown == host) {
            Err(NegotiateError::UnknownServer {
                host: host.to_owned(),
                detail: "Server not found in Kerberos database".to_owned(),
            })
        } else {
            Ok(())
        }
    }
}

fn alice_ticket(lifetime: Duration) -> Ticket {
    Ticket {
        principal: "alice@CORP.EXAMPLE".to_owned(),
        lifetime,
    }
}

/// A keyring that is not there (no Secret Service, a locked collection).
#[derive(Debug)]
struct NoKeyring;

impl SecretStore for NoKeyring {
    fn place(&self) -> SecretPlace {
        SecretPlace::Keyring
    }

    fn get(&self, _: &str, _: SecretKind) -> Result<Option<Sensitive<String>>, SecretsError> {
        Err(SecretsError::Unavailable {
            detail: "org.freedesktop.DBus.Error.ServiceUnknown".to_owned(),
        })
    }

    fn set(&self, _: &str, _: SecretKind, _: &Sensitive<String>) -> Result<(), SecretsError> {
        Err(SecretsError::Unavailable {
            detail: String::new(),
        })
    }

    fn delete(&self, _: &str, _: SecretKind) -> Result<(), SecretsError> {
        Ok(())
    }
}

/// A config folder and AWS files of a test's own, with the STS endpoint on loopback.
struct World {
    // Removed with the world.
    _dir: tempfile::TempDir,
    paths: AppPaths,
    env: Environment,
    secrets: Arc<dyn SecretStore>,
    kerberos: Arc<dyn KerberosTickets>,
}

impl World {
    fn new(sts_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths {
            config_dir: dir.path().join("config"),
            aws_credentials_file: dir.path().join("credentials"),
            aws_config_file: dir.path().join("config.aws"),
        };
        // Never the real AWS STS: the tests stay on loopback.
        let env = Environment::default().with(
            "AWS_ENDPOINT_URL_STS",
            format!("http://127.0.0.1:{sts_port}"),
        );
        let store = MemoryStore::new();
        store
            .set(
                "corp",
                SecretKind::Password,
                &Sensitive::new(PASSWORD.to_owned()),
            )
            .unwrap();
        Self {
            _dir: dir,
            paths,
            env,
            secrets: Arc::new(store),
            kerberos: Arc::new(StandInKerberos::default()),
        }
    }

    fn add(&self, name: &str, url: &str, method: SignInMethod, ca_file: Option<&Path>) {
        let mut settings = Settings::load(&self.paths).unwrap();
        let mut endpoint = Endpoint::new(name, url).unwrap();
        endpoint.method = method;
        endpoint.ca_file = ca_file.map(Path::to_owned);
        settings.add_endpoint(endpoint).unwrap();
        settings.save(&self.paths).unwrap();
    }

    async fn report(&self) -> Report {
        run(&Request {
            paths: self.paths.clone(),
            env: self.env.clone(),
            clock: Arc::new(ManualClock::new(NOW)),
            secrets: Arc::clone(&self.secrets),
            kerberos: Arc::clone(&self.kerberos),
            endpoint: None,
        })
        .await
    }
}

fn of(report: &Report, kind: CheckKind) -> Vec<&Check> {
    report.checks.iter().filter(|c| c.check == kind).collect()
}

fn about<'r>(report: &'r Report, kind: CheckKind, subject: &str) -> &'r Check {
    report
        .checks
        .iter()
        .find(|c| c.check == kind && c.subject.as_deref() == Some(subject))
        .unwrap_or_else(|| panic!("a {kind:?} check about {subject}: {report:#?}"))
}

#[tokio::test]
async fn a_clock_two_minutes_off_a_server_warns_and_five_minutes_fails() {
    for (skew, status) in [
        (time::Duration::seconds(30), Status::Ok),
        (time::Duration::seconds(-150), Status::Warn),
        (time::Duration::minutes(6), Status::Fail),
    ] {
        let port = server_with_date(Some(skew)).await;
        let world = World::new(port);
        world.add(
            "corp",
            &format!("http://127.0.0.1:{port}/adfs/ls/IdpInitiatedSignOn.aspx"),
            SignInMethod::Forms,
            None,
        );
        let report = world.report().await;
        let clock = about(&report, CheckKind::Clock, "corp");
        assert_eq!(clock.status, status, "{skew}: {clock:#?}");
        assert_eq!(clock.skew_seconds, Some(skew.whole_seconds()));
        if skew.is_negative() {
            assert!(clock.finding.contains("2 min 30 s ahead of"), "{clock:#?}");
        }
        if status == Status::Fail {
            assert_eq!(report.exit_code, CheckKind::Clock.code(), "{report:#?}");
            assert!(clock.action.as_deref().unwrap().contains("5 minutes"));
        } else {
            assert_eq!(report.exit_code, 0, "{}", report.text());
        }
    }
}

#[tokio::test]
async fn a_server_without_a_date_leaves_the_clock_unchecked_with_a_warning() {
    let port = server_with_date(None).await;
    let world = World::new(port);
    world.add(
        "corp",
        &format!("http://127.0.0.1:{port}/"),
        SignInMethod::Forms,
        None,
    );
    let report = world.report().await;
    let clock = about(&report, CheckKind::Clock, "corp");
    assert_eq!(clock.status, Status::Warn);
    assert!(clock.finding.contains("no readable Date"), "{clock:#?}");
    assert_eq!(clock.skew_seconds, None);
}

#[tokio::test]
async fn a_closed_port_fails_the_network_check_with_its_code() {
    let sts = server_with_date(Some(time::Duration::ZERO)).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let world = World::new(sts);
    world.add(
        "corp",
        &format!("http://127.0.0.1:{closed}/"),
        SignInMethod::Forms,
        None,
    );
    let report = world.report().await;
    let network = about(&report, CheckKind::Network, "corp");
    assert_eq!(network.status, Status::Fail);
    assert!(network.finding.contains("refused"), "{network:#?}");
    assert_eq!(
        about(&report, CheckKind::Network, "AWS STS for corp").status,
        Status::Ok,
        "the STS override is reached"
    );
    assert_eq!(report.exit_code, CheckKind::Network.code());
}

/// Behind a company's TLS inspection the IdP shows a chain only the endpoint's CA file
/// trusts: without it the check fails and shows the chain; with it, it passes and says the file
/// is needed.
#[tokio::test(flavor = "multi_thread")]
async fn the_chain_is_shown_and_the_ca_file_is_found_needed() {
    let upstream = server_with_date(Some(time::Duration::ZERO)).await;
    let certs_dir = tempfile::tempdir().unwrap();
    let certificates = rolecall_tests::tls::certificates(certs_dir.path());
    let front = rolecall_tests::tls::TlsFront::start(&certificates, upstream);
    let url = front.url("/adfs/ls/IdpInitiatedSignOn.aspx");

    let world = World::new(upstream);
    world.add("bare", &url, SignInMethod::Forms, None);
    world.add(
        "inspected",
        &url,
        SignInMethod::Forms,
        Some(&certificates.ca),
    );
    let report = world.report().await;

    let bare = about(&report, CheckKind::Network, "bare");
    assert_eq!(bare.status, Status::Fail, "{bare:#?}");
    assert!(bare.finding.contains("not trusted"), "{bare:#?}");
    assert!(
        bare.action.as_deref().unwrap().contains("--ca-file"),
        "{bare:#?}"
    );
    let tls = bare.tls.as_ref().expect("the chain it saw");
    assert_eq!(tls.chain[0].subject.as_deref(), Some("CN=localhost"));
    assert_eq!(tls.chain[0].issuer.as_deref(), Some("CN=Rolecall Test CA"));
    assert!(matches!(tls.system, probe::Verdict::Refused(_)), "{tls:?}");
    assert!(
        bare.details
            .iter()
            .any(|d| d.starts_with("certificate 1: CN=localhost, issued by CN=Rolecall Test CA")),
        "{bare:#?}"
    );

    let inspected = about(&report, CheckKind::Network, "inspected");
    assert_eq!(inspected.status, Status::Ok, "{inspected:#?}");
    assert!(
        inspected.finding.contains("which is needed"),
        "{inspected:#?}"
    );
    assert_eq!(
        inspected.tls.as_ref().unwrap().with_ca_file,
        Some(probe::Verdict::Trusted)
    );
    assert_eq!(
        about(&report, CheckKind::Clock, "inspected").status,
        Status::Ok,
        "the clock is read through TLS too"
    );
    assert_eq!(report.exit_code, CheckKind::Network.code());
}

fn endpoint(name: &str, url: &str, method: SignInMethod) -> Endpoint {
    let mut endpoint = Endpoint::new(name, url).unwrap();
    endpoint.method = method;
    endpoint
}

#[tokio::test]
async fn no_ticket_fails_integrated_sign_in_and_only_warns_where_a_password_follows() {
    let kerberos: Arc<dyn KerberosTickets> = Arc::new(StandInKerberos::default());
    let windows = [endpoint(
        "corp",
        "https://sts.corp.example",
        SignInMethod::Windows,
    )];
    let checks = kerberos::checks(&kerberos, &windows).await;
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].status, Status::Fail);
    assert_eq!(checks[0].code, 13);
    assert!(checks[0].action.as_deref().unwrap().contains("kinit"));

    let auto = [endpoint(
        "corp",
        "https://sts.corp.example",
        SignInMethod::Auto,
    )];
    let checks = kerberos::checks(&kerberos, &auto).await;
    assert_eq!(checks[0].status, Status::Warn, "{checks:#?}");
}

#[tokio::test]
async fn a_ticket_shows_its_realm_and_each_spn_is_asked_for() {
    let kerberos: Arc<dyn KerberosTickets> = Arc::new(StandInKerberos {
        ticket: Some(alice_ticket(Duration::from_secs(9 * 3600 + 58 * 60))),
        unknown: vec!["lab.corp.example".to_owned()],
        ..StandInKerberos::default()
    });
    let endpoints = [
        endpoint("corp", "https://sts.corp.example", SignInMethod::Windows),
        endpoint("lab", "https://lab.corp.example", SignInMethod::Auto),
    ];
    let checks = kerberos::checks(&kerberos, &endpoints).await;
    assert_eq!(checks.len(), 3, "{checks:#?}");
    assert_eq!(checks[0].status, Status::Ok);
    assert_eq!(
        checks[0].finding,
        "ticket of alice@CORP.EXAMPLE (realm CORP.EXAMPLE), valid for another 9 h 58 min"
    );
    assert_eq!(checks[1].subject.as_deref(), Some("corp"));
    assert_eq!(checks[1].status, Status::Ok);
    assert!(checks[1].finding.contains("HTTP/sts.corp.example"));
    assert_eq!(checks[2].subject.as_deref(), Some("lab"));
    assert_eq!(
        checks[2].status,
        Status::Warn,
        "auto falls back to a password"
    );
    assert!(
        checks[2]
            .finding
            .contains("does not know the service HTTP/lab.corp.example"),
        "{checks:#?}"
    );
    assert!(checks[2].action.as_deref().unwrap().contains("SPN"));
}

#[tokio::test]
async fn a_ticket_about_to_end_warns_and_forms_endpoints_never_ask_kerberos() {
    let ending = Arc::new(StandInKerberos {
        ticket: Some(alice_ticket(Duration::from_secs(5 * 60))),
        ..StandInKerberos::default()
    });
    let shared: Arc<dyn KerberosTickets> = ending.clone();
    let windows = [endpoint(
        "corp",
        "https://sts.corp.example",
        SignInMethod::Windows,
    )];
    let checks = kerberos::checks(&shared, &windows).await;
    assert_eq!(checks[0].status, Status::Warn, "{checks:#?}");

    let asked = Arc::new(StandInKerberos::default());
    let shared: Arc<dyn KerberosTickets> = asked.clone();
    let forms = [endpoint(
        "corp",
        "https://sts.corp.example",
        SignInMethod::Forms,
    )];
    let checks = kerberos::checks(&shared, &forms).await;
    assert_eq!(checks[0].status, Status::Ok);
    assert_eq!(asked.asked.load(Ordering::SeqCst), 0, "GSSAPI is not asked");
}

#[tokio::test]
async fn the_keyring_says_what_is_stored_but_never_the_value() {
    let store: Arc<dyn SecretStore> = {
        let store = MemoryStore::new();
        store
            .set(
                "corp",
                SecretKind::Password,
                &Sensitive::new(PASSWORD.to_owned()),
            )
            .unwrap();
        Arc::new(store)
    };
    let endpoints = [
        endpoint("corp", "https://sts.corp.example", SignInMethod::Forms),
        endpoint("lab", "https://lab.corp.example", SignInMethod::Forms),
    ];
    let checks = keyring::checks(&store, &endpoints).await;
    assert_eq!(checks[0].status, Status::Ok);
    assert_eq!(
        checks[0].details,
        [
            "corp: a password is stored, no single sign-on session",
            "lab: no password stored, no single sign-on session"
        ]
    );
    assert!(!format!("{checks:?}").contains(PASSWORD));

    let none: Arc<dyn SecretStore> = Arc::new(NoKeyring);
    let checks = keyring::checks(&none, &endpoints).await;
    assert_eq!(checks[0].status, Status::Fail);
    assert_eq!(checks[0].code, 14);
    assert!(
        checks[0]
            .action
            .as_deref()
            .unwrap()
            .contains("Unlock your keyring")
    );
    let checks = keyring::checks(&none, &[]).await;
    assert_eq!(
        checks[0].status,
        Status::Fail,
        "probed even without endpoints"
    );
}

const REGISTRY: &str = r#"{
  "work": {"endpoint": "corp", "url": "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx", "method": "auto",
           "role_arn": "arn:aws:iam::111122223333:role/Admin", "principal_arn": "arn:aws:iam::111122223333:saml-provider/ADFS"},
  "taken": {"endpoint": "corp", "url": "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx", "method": "auto",
            "role_arn": "arn:aws:iam::111122223333:role/Dev", "principal_arn": "arn:aws:iam::111122223333:saml-provider/ADFS"}
}"#;

fn write_files(world: &World, credentials: &[u8], config: &str) {
    std::fs::create_dir_all(&world.paths.config_dir).unwrap();
    std::fs::write(world.paths.config_dir.join("profiles.json"), REGISTRY).unwrap();
    std::fs::write(&world.paths.aws_credentials_file, credentials).unwrap();
    std::fs::write(&world.paths.aws_config_file, config).unwrap();
}

#[test]
fn clean_files_pass_and_other_tools_profiles_are_listed() {
    let world = World::new(1);
    let credentials = format!(
        "[work]\naws_access_key_id = ASIAEXAMPLEEXAMPLE01\naws_secret_access_key = secretsecret\n\
         aws_session_token = {SESSION_TOKEN}\nx_security_token_expires = 2026-12-02T11:00:00Z\n\
         [personal]\naws_access_key_id = AKIAEXAMPLEEXAMPLE02\naws_secret_access_key = x\n"
    );
    let config = "[profile work]\nregion = eu-west-1\n[profile dev]\nsso_session = corp\n\
                  [profile login]\nlogin_session = arn:aws:iam::1:user/a\n";
    write_files(&world, credentials.as_bytes(), config);
    let checks = files::checks(&world.paths);
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].status, Status::Ok);
    assert!(
        checks[0]
            .finding
            .contains("manages 2 profiles: taken, work"),
        "{checks:#?}"
    );
    let others = checks[0]
        .details
        .iter()
        .find(|d| d.starts_with("profiles other tools own"))
        .unwrap();
    assert!(
        others.contains("personal (an IAM user's long-term access key"),
        "{others}"
    );
    assert!(others.contains("dev (IAM Identity Center"), "{others}");
    assert!(
        others.contains("login (the AWS CLI's `aws login`"),
        "{others}"
    );
    assert!(!format!("{checks:?}").contains(SESSION_TOKEN));
}

#[test]
fn a_bom_repeated_sections_and_keys_and_a_taken_profile_fail_with_their_lines() {
    let world = World::new(1);
    let credentials = b"\xEF\xBB\xBF[work]\naws_access_key_id = ASIAEXAMPLEEXAMPLE01\n\
        aws_secret_access_key = s\naws_session_token = t\nmfa_serial = arn:aws:iam::1:mfa/a\n\
        [work]\noutput = json\noutput = text\n";
    let config = "[profile taken]\ncredential_process = /usr/bin/other-tool\n";
    write_files(&world, credentials, config);
    let checks = files::checks(&world.paths);
    let findings: Vec<(Status, &str)> = checks
        .iter()
        .map(|c| (c.status, c.finding.as_str()))
        .collect();
    let has = |status: Status, text: &str| {
        assert!(
            findings
                .iter()
                .any(|(s, f)| *s == status && f.contains(text)),
            "{status:?} {text:?} in {findings:#?}"
        );
    };
    has(Status::Fail, "byte order mark");
    has(Status::Fail, "\"work\" has 2 sections (lines 1, 6)");
    has(
        Status::Fail,
        "`output` appears 2 times in the profile \"work\" (lines 7, 8)",
    );
    has(
        Status::Warn,
        "`mfa_serial` (line 5) is not a key Rolecall writes",
    );
    has(
        Status::Fail,
        "Rolecall's profile \"taken\" now holds a credential_process program: \
         `credential_process`, line 2",
    );
    assert!(checks.iter().all(|c| c.code == CheckKind::AwsFiles.code()));
}

fn summary(audience: &str) -> LastSignIn {
    LastSignIn {
        at: NOW - time::Duration::minutes(42),
        via: "password".to_owned(),
        issuer: Some("http://sts.corp.example/adfs/services/trust".to_owned()),
        destination: Some("https://signin.aws.amazon.com/saml".to_owned()),
        audiences: vec![audience.to_owned()],
        not_on_or_after: Some(NOW - time::Duration::minutes(37)),
        session_duration: Some(28_800),
        role_session_name: "alice@corp.example".to_owned(),
        partition: "aws".to_owned(),
        region: None,
        roles: vec![
            "arn:aws:iam::111122223333:role/Admin".to_owned(),
            "arn:aws:iam::444455556666:role/Dev".to_owned(),
        ],
        sts_refusal: None,
    }
}

#[test]
fn the_last_sign_in_shows_its_assertion_and_warns_of_another_audience() {
    let endpoints = [
        endpoint("corp", "https://sts.corp.example", SignInMethod::Auto),
        endpoint("lab", "https://lab.corp.example", SignInMethod::Auto),
        endpoint("new", "https://new.corp.example", SignInMethod::Auto),
    ];
    let kept = BTreeMap::from([
        ("corp".to_owned(), summary("urn:amazon:webservices")),
        ("lab".to_owned(), summary("urn:example:other-app")),
    ]);
    let checks = sign_in::checks(&endpoints, Ok(kept), &Settings::default(), NOW);
    assert_eq!(checks[0].status, Status::Ok, "{checks:#?}");
    assert_eq!(
        checks[0].finding,
        "signed in 42 min ago (2026-12-02T09:18:00Z) with the password as alice@corp.example: \
         2 roles"
    );
    for line in [
        "Issuer: http://sts.corp.example/adfs/services/trust",
        "Destination: https://signin.aws.amazon.com/saml",
        "Audience: urn:amazon:webservices",
        "NotOnOrAfter: 2026-12-02T09:23:00Z (5 min after the sign-in)",
        "SessionDuration: 28800 s (8 h)",
        "role: arn:aws:iam::444455556666:role/Dev",
    ] {
        assert!(
            checks[0].details.iter().any(|d| d == line),
            "{line}: {checks:#?}"
        );
    }
    assert_eq!(checks[1].status, Status::Warn);
    assert!(
        checks[1].finding.contains("Audience is not AWS's"),
        "{checks:#?}"
    );
    assert_eq!(checks[2].status, Status::Warn);
    assert!(checks[2].finding.contains("no sign-in"), "{checks:#?}");
}

/// The whole report after a real sign-in's summary was kept: warnings do not set the exit code,
/// and neither the text nor the JSON holds the password, the session token or the assertion.
#[tokio::test]
async fn a_report_of_warnings_exits_0_and_holds_no_secret() {
    let port = server_with_date(Some(time::Duration::ZERO)).await;
    let world = World::new(port);
    world.add(
        "corp",
        &format!("http://127.0.0.1:{port}/adfs/ls/IdpInitiatedSignOn.aspx"),
        SignInMethod::Forms,
        None,
    );
    world.add(
        "lab",
        &format!("http://127.0.0.1:{port}/lab"),
        SignInMethod::Forms,
        None,
    );
    let credentials = format!(
        "[work]\naws_access_key_id = ASIAEXAMPLEEXAMPLE01\naws_secret_access_key = \
         wJalrXUtnFEMIEXAMPLEKEY\naws_session_token = {SESSION_TOKEN}\n"
    );
    std::fs::write(&world.paths.aws_credentials_file, credentials).unwrap();
    let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="https://signin.aws.amazon.com/saml"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Issuer>http://127.0.0.1/adfs/services/trust</saml:Issuer><saml:Conditions NotOnOrAfter="2026-12-02T10:05:00Z"><saml:AudienceRestriction><saml:Audience>urn:amazon:webservices</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>arn:aws:iam::111122223333:role/Admin,arn:aws:iam::111122223333:saml-provider/ADFS</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#;
    let assertion = crate::saml::parse_response_xml(xml.as_bytes()).unwrap();
    crate::last_sign_in::record(
        &world.paths.config_dir,
        "corp",
        LastSignIn::of(&assertion, Via::Window, NOW - time::Duration::minutes(1)),
    )
    .unwrap();

    let report = world.report().await;
    let text = report.text();
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(report.exit_code, 0, "{text}");
    assert_eq!(
        of(&report, CheckKind::LastSignIn)
            .iter()
            .map(|c| c.status)
            .collect::<Vec<_>>(),
        [Status::Ok, Status::Warn],
        "lab was never signed in to: {text}"
    );
    for secret in [
        PASSWORD,
        SESSION_TOKEN,
        "wJalrXUtnFEMIEXAMPLEKEY",
        &assertion.raw.expose()[..40],
    ] {
        assert!(!text.contains(secret), "{secret} in the text:\n{text}");
        assert!(!json.contains(secret), "{secret} in the JSON:\n{json}");
    }
    assert!(text.contains("Audience: urn:amazon:webservices"), "{text}");
    assert!(text.contains("corp: a password is stored"), "{text}");
    assert!(text.ends_with("Exit code 0.\n"), "{text}");
    let order: Vec<CheckKind> = report.checks.iter().map(|c| c.check).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|kind| kind.code());
    assert_eq!(order, sorted, "the checks come in the order of their codes");
}

#[test]
fn every_check_has_its_own_code_and_the_help_names_them() {
    let text = exit_codes();
    let mut codes: Vec<u8> = CheckKind::ALL.iter().map(|kind| kind.code()).collect();
    for kind in CheckKind::ALL {
        assert!(text.contains(&format!(", {} ", kind.code())), "{text}");
    }
    codes.dedup();
    assert_eq!(codes.len(), CheckKind::ALL.len());
    assert!(
        codes.iter().all(|code| *code > 8),
        "no clash with the sign-in codes 1 to 8"
    );
}

#[test]
fn the_first_failed_check_in_order_gives_the_exit_code() {
    let checks = vec![
        Check::new(CheckKind::Settings, Status::Ok, "fine"),
        Check::new(CheckKind::Clock, Status::Warn, "a bit off"),
        Check::new(CheckKind::Keyring, Status::Fail, "locked"),
        Check::new(CheckKind::AwsFiles, Status::Fail, "a BOM"),
    ];
    assert_eq!(Report::new(NOW, checks).exit_code, 14);
    let fine = vec![Check::new(CheckKind::Clock, Status::Warn, "a bit off")];
    assert_eq!(Report::new(NOW, fine).exit_code, 0);
}

#[test]
fn spans_read_as_people_say_them() {
    assert_eq!(span(40), "40 s");
    assert_eq!(span(-150), "2 min 30 s");
    assert_eq!(span(300), "5 min");
    assert_eq!(span(7500), "2 h 5 min");
    assert_eq!(span(28_800), "8 h");
}
