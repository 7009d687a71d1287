//! `rolecall login` against AD FS 2019+ pages, as a person runs it: the real binary against
//! `rolecall-sim` in its paginated and home-realm-discovery modes and with its expired and
//! locked-out users. Each ends in written credentials or in a sentence that says what happened
//! and what to do, with the exit code scripts rely on.

use std::process::Output;
use std::sync::Arc;

use rolecall_sim::{
    ClaimsProviderTrust, DEMO_PASSWORD, LOCKED_OUT_TEXT, Sim, SimConfig, UPDATE_PASSWORD_PATH,
    WRONG_PASSWORD_TEXT,
};
use rolecall_tests::{Sandbox, rolecall_binary};

async fn sim_with(config: SimConfig) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

/// Runs `rolecall <args>` in `sandbox` with the demo password and the simulator's STS.
async fn rolecall(sandbox: &Arc<Sandbox>, sim: &Sim, args: &[&str]) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(args)
        .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
        .env("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str());
    let keep = Arc::clone(sandbox);
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

async fn login_as(sandbox: &Arc<Sandbox>, sim: &Sim, username: &str) -> Output {
    let url = sim.sign_on_url().to_string();
    rolecall(
        sandbox,
        sim,
        &[
            "login",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            username,
            "--role",
            "111122223333/ReadOnly",
            "--profile",
            "work",
        ],
    )
    .await
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_through_a_paginated_sign_in_writes_the_profile() {
    let sim = sim_with(SimConfig {
        paginated: true,
        ..SimConfig::demo()
    })
    .await;
    let sandbox = Arc::new(Sandbox::new());

    let output = login_as(&sandbox, &sim, "alice").await;

    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("work: arn:aws:iam::111122223333:role/ReadOnly (ASIA…"),
        "{stdout}"
    );
    let credentials = std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap();
    assert!(
        credentials.contains("[work]") && credentials.contains("aws_session_token = "),
        "{credentials}"
    );
    let stats = sim.stats();
    assert_eq!(
        (stats.username_posts, stats.form_posts),
        (1, 1),
        "the username on one page, the password on the next"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_out_account_says_so_once_and_writes_nothing() {
    let sim = sim_with(SimConfig::demo()).await;
    let sandbox = Arc::new(Sandbox::new());

    let output = login_as(&sandbox, &sim, "locked").await;

    assert_eq!(
        output.status.code(),
        Some(3),
        "username or password refused: {output:?}"
    );
    let said = stderr(&output);
    for expected in [LOCKED_OUT_TEXT, "is locked out", "IT help desk"] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    assert!(!said.contains(DEMO_PASSWORD), "never the password: {said}");
    assert!(!sandbox.aws_credentials_file().exists());
    assert_eq!(sim.stats().form_posts, 1, "the password was sent once");
    assert_eq!(sim.stats().sts_calls, 0);

    // Extranet lockout reads like a wrong password; the message says it may be a lockout.
    let extranet = login_as(&sandbox, &sim, "extranet-locked").await;
    assert_eq!(extranet.status.code(), Some(3), "{extranet:?}");
    let said = stderr(&extranet);
    assert!(
        said.contains(WRONG_PASSWORD_TEXT) && said.contains("locked out"),
        "{said}"
    );
    assert_eq!(sim.stats().form_posts, 2, "once more, for the one command");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_password_says_where_to_change_it() {
    let sim = sim_with(SimConfig::demo()).await;
    let sandbox = Arc::new(Sandbox::new());

    let output = login_as(&sandbox, &sim, "expired").await;

    assert_eq!(
        output.status.code(),
        Some(5),
        "needs the person: {output:?}"
    );
    let said = stderr(&output);
    for expected in [
        "has expired",
        UPDATE_PASSWORD_PATH,
        "rolecall password set --endpoint",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    assert!(!said.contains("a page Rolecall cannot fill in"), "{said}");
    assert!(!sandbox.aws_credentials_file().exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoints_claims_provider_answers_home_realm_discovery() {
    let sim = sim_with(SimConfig {
        claims_providers: ClaimsProviderTrust::directory_and_partner(),
        ..SimConfig::demo()
    })
    .await;
    let sandbox = Arc::new(Sandbox::new());
    let url = sim.sign_on_url().to_string();
    let add = rolecall(
        &sandbox,
        &sim,
        &[
            "endpoint",
            "add",
            "corp",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
        ],
    )
    .await;
    assert!(add.status.success(), "{add:?}");
    let login = [
        "login",
        "--endpoint",
        "corp",
        "--role",
        "111122223333/Admin",
    ];

    let asked = rolecall(&sandbox, &sim, &login).await;
    assert_eq!(asked.status.code(), Some(1), "{asked:?}");
    let said = stderr(&asked);
    for expected in ["Corp directory", "Partner & Co", "--claims-provider"] {
        assert!(said.contains(expected), "{expected}: {said}");
    }

    let edit = rolecall(
        &sandbox,
        &sim,
        &[
            "endpoint",
            "edit",
            "corp",
            "--claims-provider",
            "Corp directory",
            "--keep-me-signed-in",
            "true",
        ],
    )
    .await;
    assert!(edit.status.success(), "{edit:?}");
    let listed = rolecall(&sandbox, &sim, &["endpoint", "list"]).await;
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("claims provider \"Corp directory\""),
        "{listed:?}"
    );

    let signed_in = rolecall(&sandbox, &sim, &login).await;
    assert!(signed_in.status.success(), "{signed_in:?}");
    let stats = sim.stats();
    assert_eq!(stats.home_realm_selections, vec!["AD AUTHORITY".to_owned()]);
    assert_eq!(stats.kmsi_sign_ins, 1, "the Kmsi box was ticked");
}
