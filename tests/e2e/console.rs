//! `rolecall console` as a person uses it: the real binary, after `rolecall login`, against
//! `rolecall-sim`'s STS and federation endpoint. `--print` only: no test opens a browser.

use std::process::Output;
use std::sync::Arc;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::{Sandbox, rolecall_binary, tls};

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

/// Runs `rolecall <args>` in `sandbox` against the simulator's STS and federation endpoint.
async fn rolecall(
    sandbox: &Arc<Sandbox>,
    sim: &Sim,
    args: &[&str],
    env: &[(&str, String)],
) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(args)
        .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
        .env("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str())
        .env("ROLECALL_SIGNIN_ENDPOINT", sim.federation_url().as_str())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let keep = Arc::clone(sandbox);
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

async fn login_work(sandbox: &Arc<Sandbox>, sim: &Sim) {
    let url = sim.sign_on_url().to_string();
    let output = rolecall(
        sandbox,
        sim,
        &[
            "login",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
            "--role",
            "111122223333/Admin",
            "--profile",
            "work",
            "--region",
            "eu-west-1",
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "login: {output:?}");
}

fn printed_url(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "--print prints the URL alone: {stdout}");
    lines[0].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_url_lands_on_the_console_in_the_profiles_region() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    login_work(&sandbox, &sim).await;

    let output = rolecall(
        &sandbox,
        &sim,
        &["console", "--profile", "work", "--print"],
        &[],
    )
    .await;

    let url = printed_url(&output);
    assert!(
        url.starts_with(&format!("{}?Action=login&", sim.federation_url())),
        "{url}"
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_redirects.get(&url).send().await.unwrap();
    assert_eq!(
        answer.status(),
        302,
        "the login URL signs in and sends the browser on"
    );
    assert_eq!(
        answer.headers()["location"].to_str().unwrap(),
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
        "the region written by rolecall login --region"
    );
    assert_eq!(sim.stats().console_sign_ins, 1);
    assert_eq!(
        sim.stats().sts_calls,
        1,
        "the console needs no new STS call"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_first_then_the_demo_console_names_the_role() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    login_work(&sandbox, &sim).await;

    let output = rolecall(
        &sandbox,
        &sim,
        &[
            "console",
            "--profile",
            "work",
            "--print",
            "--logout-first",
            "--region",
            "us-west-2",
        ],
        &[("ROLECALL_CONSOLE_ENDPOINT", sim.console_url().to_string())],
    )
    .await;

    let url = printed_url(&output);
    assert!(url.contains("/oauth?Action=logout&redirect_uri="), "{url}");
    // A browser: follows every redirect (all on loopback here).
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.url().path(), "/console");
    let page = page.text().await.unwrap();
    assert!(page.contains("AWS console (Rolecall demo)"), "{page}");
    assert!(
        page.contains("arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example"),
        "{page}"
    );
    assert!(
        page.contains("us-west-2"),
        "--region wins over the profile's: {page}"
    );
    let stats = sim.stats();
    assert_eq!((stats.console_sign_outs, stats.console_sign_ins), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn long_term_keys_cannot_open_the_console() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    std::fs::write(
        sandbox.aws_credentials_file(),
        "[personal]\naws_access_key_id = AKIAHANDMADE00001234\naws_secret_access_key = x\n",
    )
    .unwrap();

    let output = rolecall(
        &sandbox,
        &sim,
        &["console", "--profile", "personal", "--print"],
        &[],
    )
    .await;

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "no URL: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("long-term access keys (AKIA…1234)"),
        "{stderr}"
    );
    assert!(stderr.contains("temporary credentials"), "{stderr}");
    assert_eq!(sim.stats().console_sign_ins, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_profile_says_how_to_create_it() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let output = rolecall(
        &sandbox,
        &sim,
        &["console", "--profile", "nope", "--print"],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rolecall login --profile nope"), "{stderr}");
}

/// Behind a company's TLS inspection AWS's sign-in endpoint shows a certificate of the company's
/// CA: the console's federation call trusts the CA file of the endpoint the profile came from.
/// The endpoint here is the simulator's federation endpoint behind a TLS front
/// (`tests/peers/tls_front.py`) whose certificate only that CA file vouches for.
#[tokio::test(flavor = "multi_thread")]
async fn the_federation_call_trusts_the_endpoints_ca_file() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let certificates = tls::certificates(sandbox.root());
    let front = tls::TlsFront::start(&certificates, sim.federation_url().port().unwrap());
    let federation = front.url("/federation");

    let url = sim.sign_on_url().to_string();
    let ca = certificates.ca.to_str().unwrap().to_owned();
    let login = rolecall(
        &sandbox,
        &sim,
        &[
            "login",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
            "--role",
            "111122223333/Admin",
            "--profile",
            "work",
            "--ca-file",
            &ca,
        ],
        &[],
    )
    .await;
    assert!(login.status.success(), "login: {login:?}");

    let output = rolecall(
        &sandbox,
        &sim,
        &["console", "--profile", "work", "--print"],
        &[("ROLECALL_SIGNIN_ENDPOINT", federation.clone())],
    )
    .await;

    let url = printed_url(&output);
    assert!(
        url.starts_with(&format!("{federation}?Action=login&")),
        "{url}"
    );
    assert_eq!(
        sim.handed_out().signin_tokens.len(),
        1,
        "getSigninToken went through the front to the simulator"
    );
}
