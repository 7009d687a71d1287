//! "Open console" against `rolecall-sim`'s federation endpoint: the sign-in token, the login
//! URL a browser follows, and AWS's refusals (a bad session length, expired credentials).

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::aws_files::StoredCredentials;
use rolecall_core::console::{self, ConsoleError, Endpoints, SignIn};
use rolecall_core::http::Network;
use rolecall_core::idp::{self, NoPasscodes, Outcome};
use rolecall_core::partition::Partition;
use rolecall_core::paths::{Environment, Platform};
use rolecall_core::secrets::{MemoryStore, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, SignInMethod};
use rolecall_core::sts::Sts;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use url::Url;

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

/// alice's Admin credentials, as `rolecall login` would have stored them.
async fn admin_credentials(sim: &Sim) -> StoredCredentials {
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let outcome = idp::sign_in(idp::SignIn {
        endpoint: &endpoint,
        password: Some(Sensitive::new(DEMO_PASSWORD.to_owned())),
        secrets,
        passcodes: &NoPasscodes,
    })
    .await
    .unwrap();
    let Outcome::SignedIn(signed_in) = outcome else {
        panic!("alice should sign in: {outcome:?}");
    };
    let assertion = signed_in.assertion;
    let admin = assertion
        .roles
        .iter()
        .find(|role| role.role_name() == "Admin" && role.account_id() == "111122223333")
        .cloned()
        .unwrap();
    let env = Environment::new(Platform::current()).with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    let sts = Sts::new(&Network::default(), &env, Partition::Aws, "us-east-1").unwrap();
    let credentials = sts.assume(&admin, &assertion, 3600).await.unwrap();
    StoredCredentials {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: Some(credentials.session_token),
        expiration: Some(credentials.expiration),
        principal_arn: credentials.principal_arn,
    }
}

fn endpoints(sim: &Sim) -> Endpoints {
    let env = Environment::new(Platform::current())
        .with(console::SIGNIN_ENDPOINT_VAR, sim.federation_url());
    Endpoints::for_partition(Partition::Aws, &env).unwrap()
}

fn sign_in<'a>(credentials: &'a StoredCredentials, region: Option<&'a str>) -> SignIn<'a> {
    SignIn {
        credentials,
        profile: "work",
        partition: Partition::Aws,
        region,
        session_duration: None,
        now: rolecall_core::clock::SystemClock.now(),
    }
}

fn client() -> reqwest::Client {
    Network::default().client(console::USER_AGENT).unwrap()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn the_login_url_lands_on_the_console_of_the_region() {
    let sim = sim().await;
    let credentials = admin_credentials(&sim).await;

    let login = console::signin_url(
        &client(),
        &endpoints(&sim),
        &sign_in(&credentials, Some("eu-west-1")),
    )
    .await
    .unwrap();

    let url = login.expose();
    assert_eq!(url.path(), "/federation");
    assert_eq!(param(url, "Action").as_deref(), Some("login"));
    assert_eq!(param(url, "Issuer").as_deref(), Some(console::ISSUER));
    assert!(
        param(url, "SigninToken").is_some_and(|t| t.len() > 100),
        "a long sign-in token"
    );
    assert!(
        !url.as_str()
            .contains(credentials.secret_access_key.expose()),
        "the login URL carries a token, never the credentials"
    );
    assert_eq!(format!("{login:?}"), "<redacted>");

    // A browser follows it: 302 to the console.
    let answer = client().get(url.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 302, "login sends the browser on");
    let location = answer.headers()["location"].to_str().unwrap();
    assert_eq!(
        location, "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
        "the regional console, in the region asked"
    );
    assert_eq!(sim.stats().console_sign_ins, 1);

    // The stand-in console knows who signed in.
    let page = client()
        .get(sim.console_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example"),
        "{page}"
    );
}

#[tokio::test]
async fn logout_first_signs_out_then_follows_the_login() {
    let sim = sim().await;
    let credentials = admin_credentials(&sim).await;
    let login = console::signin_url(&client(), &endpoints(&sim), &sign_in(&credentials, None))
        .await
        .unwrap();

    let both = console::logout_then_login(&login);

    let answer = client().get(both.expose().clone()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(
        answer.headers()["location"].to_str().unwrap(),
        login.expose().as_str(),
        "after signing out, the browser goes on to the login"
    );
    assert_eq!(sim.stats().console_sign_outs, 1);
    let answer = client().get(login.expose().clone()).send().await.unwrap();
    assert_eq!(
        answer.headers()["location"].to_str().unwrap(),
        "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1",
        "no region: the partition's first"
    );
}

#[tokio::test]
async fn the_federation_endpoint_refuses_a_session_length_aws_does_not_allow() {
    let sim = sim().await;
    let credentials = admin_credentials(&sim).await;

    // Rolecall refuses it before asking ...
    let mut asked = sign_in(&credentials, None);
    asked.session_duration = Some(60);
    let err = console::signin_url(&client(), &endpoints(&sim), &asked)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConsoleError::SessionDuration { seconds: 60 }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("900 (15 minutes) to 43200"),
        "{err}"
    );

    // ... and the endpoint refuses it as AWS does, with a 400 page.
    let mut url = sim.federation_url();
    url.query_pairs_mut()
        .append_pair("Action", "getSigninToken")
        .append_pair("SessionDuration", "43201")
        .append_pair("Session", "{}");
    let answer = client().get(url).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("SessionDuration"));

    // A length AWS allows is accepted.
    asked.session_duration = Some(43_200);
    console::signin_url(&client(), &endpoints(&sim), &asked)
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_credentials_are_refused_with_a_way_out() {
    let sim = sim().await;
    let credentials = admin_credentials(&sim).await;

    // Expired by Rolecall's clock: no request at all.
    let mut later = sign_in(&credentials, None);
    later.now = credentials.expiration.unwrap() + time::Duration::seconds(1);
    let err = console::signin_url(&client(), &endpoints(&sim), &later)
        .await
        .unwrap_err();
    assert!(matches!(err, ConsoleError::Expired { .. }), "{err:?}");
    assert!(err.to_string().contains("Renew the profile"), "{err}");

    // Expired by AWS's clock (or revoked): the endpoint's 400 becomes a sentence.
    sim.advance_clock(Duration::from_secs(2 * 3600));
    let err = console::signin_url(&client(), &endpoints(&sim), &sign_in(&credentials, None))
        .await
        .unwrap_err();
    let ConsoleError::Refused {
        status, message, ..
    } = &err
    else {
        panic!("the endpoint refuses: {err:?}");
    };
    assert_eq!(*status, 400);
    assert!(
        message.contains("Invalid credentials parameter"),
        "{message}"
    );
    assert!(err.to_string().contains("renew the profile"), "{err}");
    assert!(
        !err.to_string()
            .contains(credentials.session_token.as_ref().unwrap().expose()),
        "no secret in the message"
    );
    assert_eq!(sim.stats().console_sign_ins, 0);
}

#[tokio::test]
async fn credentials_the_sts_never_issued_are_refused() {
    let sim = sim().await;
    let mut forged = admin_credentials(&sim).await;
    forged.secret_access_key = Sensitive::new("not-the-secret".to_owned());
    let err = console::signin_url(&client(), &endpoints(&sim), &sign_in(&forged, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConsoleError::Refused { status: 400, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_old_sign_in_token_no_longer_logs_in() {
    let sim = sim().await;
    let credentials = admin_credentials(&sim).await;
    let login = console::signin_url(&client(), &endpoints(&sim), &sign_in(&credentials, None))
        .await
        .unwrap();
    sim.advance_clock(console::SIGNIN_TOKEN_LIFETIME + Duration::from_secs(1));
    let answer = client().get(login.expose().clone()).send().await.unwrap();
    assert_eq!(answer.status(), 400, "the login URL works for 15 minutes");
    assert_eq!(sim.stats().console_sign_ins, 0);
}
