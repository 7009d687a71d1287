//! `rolecall doctor` as a help desk asks a person to run it: the real binary after a real
//! sign-in to `rolecall-sim`, with a real keyring, and with a real MIT KDC for the Kerberos
//! check. The report must pass where all is well, name the first failing check by its exit
//! code, and hold none of the run's secrets.

use std::ffi::OsString;
use std::io::Write;
use std::process::{Output, Stdio};
use std::sync::Arc;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::kdc::{ALICE, ALICE_PASSWORD, Kdc};
use rolecall_tests::keyring::SecretService;
use rolecall_tests::{Sandbox, rolecall_binary};

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

/// Runs `rolecall <args>` in `sandbox` with `env`, `stdin` on its standard input.
async fn rolecall(
    sandbox: &Arc<Sandbox>,
    args: &[&str],
    env: &[(&'static str, OsString)],
    stdin: &str,
) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(args)
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    let keep = Arc::clone(sandbox);
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.as_bytes()).unwrap();
        drop(pipe);
        let output = child.wait_with_output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn checks<'a>(
    report: &'a serde_json::Value,
    check: &str,
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    let check = check.to_owned();
    report["checks"]
        .as_array()
        .expect("the report's checks")
        .iter()
        .filter(move |found| found["check"] == check.as_str())
}

/// After `rolecall login` with the password from the keyring, every check passes: exit code 0,
/// the last sign-in's Issuer, Destination, Audience and roles in the report, and neither the
/// password nor the keys and token the login wrote anywhere in it.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_login_the_doctor_passes_and_shows_the_assertion_but_no_secret() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let service = SecretService::start(&sandbox, "login password");
    let mut env = service.env();
    env.push(("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str().into()));
    let url = sim.sign_on_url().to_string();

    let added = rolecall(
        &sandbox,
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
        &env,
        "",
    )
    .await;
    assert!(added.status.success(), "{}", describe(&added));
    let stored = rolecall(
        &sandbox,
        &["password", "set", "--endpoint", "corp"],
        &env,
        &format!("{DEMO_PASSWORD}\n"),
    )
    .await;
    assert!(stored.status.success(), "{}", describe(&stored));
    let login = rolecall(
        &sandbox,
        &[
            "login",
            "--endpoint",
            "corp",
            "--role",
            "111122223333/Admin",
            "--profile",
            "work",
        ],
        &env,
        "",
    )
    .await;
    assert!(login.status.success(), "{}", describe(&login));

    let text = rolecall(&sandbox, &["doctor"], &env, "").await;
    let json = rolecall(&sandbox, &["doctor", "--json"], &env, "").await;
    assert_eq!(text.status.code(), Some(0), "{}", describe(&text));
    assert_eq!(json.status.code(), Some(0), "{}", describe(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["exit_code"], 0);
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|check| check["status"] == "ok"),
        "every check passes after a login: {}",
        describe(&text)
    );

    let stdout = String::from_utf8_lossy(&text.stdout);
    for line in [
        "ok    keyring: the keyring answers (it is unlocked)",
        "corp: a password is stored, a single sign-on session is kept",
        "Audience: urn:amazon:webservices",
        "role: arn:aws:iam::111122223333:role/Admin",
        "Rolecall manages 1 profile: work; the AWS tools can read both files",
        "with the password as alice",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }
    let last = checks(&report, "last_sign_in").next().unwrap();
    assert_eq!(last["last_sign_in"]["roles"].as_array().unwrap().len(), 5);
    assert!(last["last_sign_in"]["issuer"].is_string(), "{last}");

    let credentials = std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap();
    let value_of = |key: &str| {
        credentials
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{key} in {credentials}"))
            .to_owned()
    };
    let secrets = [
        DEMO_PASSWORD.to_owned(),
        value_of("aws_secret_access_key"),
        value_of("aws_session_token"),
    ];
    for output in [&text, &json] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for secret in &secrets {
            assert!(
                !all.contains(secret.as_str()),
                "a secret in the report:\n{all}"
            );
        }
        assert!(
            !all.contains("MSISAuth") && !all.contains("SAMLResponse"),
            "no cookie, no assertion: {all}"
        );
    }
}

/// With no keyring and an endpoint whose server is down, the exit code is the network
/// check's, the first that failed; `--endpoint` of an unknown name is the settings check's.
#[tokio::test(flavor = "multi_thread")]
async fn the_exit_code_is_the_first_failed_checks() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str().into())];
    let added = rolecall(
        &sandbox,
        &[
            "endpoint",
            "add",
            "down",
            "--url",
            &format!("http://127.0.0.1:{closed}/adfs/ls/IdpInitiatedSignOn.aspx"),
            "--auth",
            "forms",
        ],
        &env,
        "",
    )
    .await;
    assert!(added.status.success(), "{}", describe(&added));

    let down = rolecall(&sandbox, &["doctor"], &env, "").await;
    let stdout = String::from_utf8_lossy(&down.stdout);
    assert_eq!(down.status.code(), Some(12), "{}", describe(&down));
    assert!(
        stdout.contains(
            "FAIL  network [down]: 127.0.0.1 could not be reached: the connection was refused"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  keyring"),
        "the sandbox has no keyring, a later failure: {stdout}"
    );
    assert!(stdout.ends_with("Exit code 12.\n"), "{stdout}");

    let unknown = rolecall(&sandbox, &["doctor", "--endpoint", "nope"], &env, "").await;
    assert_eq!(unknown.status.code(), Some(10), "{}", describe(&unknown));

    let help = rolecall(&sandbox, &["doctor", "--help"], &env, "").await;
    let help = String::from_utf8_lossy(&help.stdout);
    for code in ["10 ", "11 ", "12 ", "13 ", "14 ", "15 ", "16 "] {
        assert!(help.contains(code), "--help names exit code {code}: {help}");
    }
}

/// With a ticket from a real KDC, the Kerberos check names alice and her realm, and asks the
/// KDC for each endpoint's `HTTP/<host>`: the one it knows (localhost) passes, the one it does
/// not (127.0.0.2) fails, so integrated sign-in there would fail too.
#[tokio::test(flavor = "multi_thread")]
async fn the_kerberos_check_reads_the_ticket_and_asks_for_each_spn() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let kdc = Kdc::start(&sandbox);
    let ccache = sandbox.root().join("alice.ccache");
    kdc.kinit(ALICE, ALICE_PASSWORD, &ccache);
    let mut env = kdc.env();
    let mut cache = OsString::from("FILE:");
    cache.push(&ccache);
    env.push(("KRB5CCNAME", cache));
    env.push(("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str().into()));
    // A second simulator on another loopback address, whose SPN the realm does not know.
    let other = Sim::start(
        tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap(),
        SimConfig::demo(),
    )
    .await
    .unwrap();
    for (name, host, port) in [
        ("corp", "localhost", sim.sign_on_url().port().unwrap()),
        ("lab", "127.0.0.2", other.sign_on_url().port().unwrap()),
    ] {
        let added = rolecall(
            &sandbox,
            &[
                "endpoint",
                "add",
                name,
                "--url",
                &format!("http://{host}:{port}/adfs/ls/IdpInitiatedSignOn.aspx"),
                "--auth",
                "windows",
            ],
            &env,
            "",
        )
        .await;
        assert!(added.status.success(), "{}", describe(&added));
    }

    let output = rolecall(&sandbox, &["doctor", "--json"], &env, "").await;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", describe(&output)));
    let kerberos: Vec<&serde_json::Value> = checks(&report, "kerberos").collect();
    assert_eq!(kerberos.len(), 3, "{report:#}");
    assert_eq!(kerberos[0]["status"], "ok", "{report:#}");
    let ticket = kerberos[0]["finding"].as_str().unwrap();
    assert!(
        ticket.starts_with(&format!("ticket of {ALICE} (realm {})", kdc.realm())),
        "{ticket}"
    );
    assert_eq!(kerberos[1]["subject"], "corp");
    assert_eq!(kerberos[1]["status"], "ok", "{report:#}");
    assert_eq!(kerberos[2]["subject"], "lab");
    assert_eq!(kerberos[2]["status"], "fail", "{report:#}");
    assert!(
        kerberos[2]["finding"]
            .as_str()
            .unwrap()
            .contains("HTTP/127.0.0.2"),
        "{report:#}"
    );
    // The sandbox has no keyring: that check fails later, so Kerberos's code comes first.
    assert_eq!(output.status.code(), Some(13), "{}", describe(&output));
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(ALICE_PASSWORD),
        "the Kerberos password is never in the report"
    );
}
