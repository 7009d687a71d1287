//! `rolecall roles` as a script uses it: the real binary against `rolecall-sim` on loopback,
//! with an exit code and one line on stderr for every way a sign-in can fail.

use std::process::Output;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig, WRONG_PASSWORD_TEXT};
use rolecall_tests::{Sandbox, rolecall_binary};

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

/// Runs `rolecall roles --url <sim> <args>` in the sandbox with `env`, while the simulator keeps
/// serving on this test's runtime.
async fn roles(sim: &Sim, args: &[&str], env: &[(&str, &str)]) -> Output {
    roles_in(Sandbox::new(), sim, args, env).await
}

/// [`roles`] in a sandbox the test prepared (its settings, say).
async fn roles_in(sandbox: Sandbox, sim: &Sim, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(["roles", "--url", sim.sign_on_url().as_str()])
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(sandbox);
        output
    })
    .await
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_lists_accounts_by_alias_with_their_roles() {
    let sim = sim().await;
    let output = roles(
        &sim,
        &["--auth", "forms", "--username", "alice"],
        &[("ROLECALL_PASSWORD", DEMO_PASSWORD)],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.starts_with("Signed in as alice@corp.example: 5 roles in 3 accounts."),
        "{text}"
    );
    assert!(
        text.lines().any(|line| line.ends_with("(111122223333)")),
        "accounts are shown as alias (id): {text}"
    );
    assert!(
        text.contains("  Admin     arn:aws:iam::111122223333:role/Admin"),
        "roles are listed under their account, aligned: {text}"
    );
    assert!(!text.contains(DEMO_PASSWORD), "never the password");
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_json_is_for_scripts() {
    let sim = sim().await;
    let output = roles(
        &sim,
        &["--auth", "forms", "--username", "many", "--json"],
        &[("ROLECALL_PASSWORD", DEMO_PASSWORD)],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let accounts = document["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 60);
    let roles: usize = accounts
        .iter()
        .map(|a| a["roles"].as_array().unwrap().len())
        .sum();
    assert_eq!(roles, 590);
    assert!(accounts[0]["alias"].is_string(), "aliased accounts first");
    assert_eq!(
        accounts[0]["roles"][0]["principal_arn"]
            .as_str()
            .unwrap()
            .split(":saml-provider/")
            .nth(1),
        Some("ADFS")
    );
}

/// AWS's role chooser as served today (the simulator's default: the names only in the Next.js
/// page's data) names the accounts; one without an alias takes the name the person gave it in
/// `[preferences.account_names]`, and the JSON says where each name came from.
#[tokio::test(flavor = "multi_thread")]
async fn roles_name_accounts_from_the_aws_page_and_the_settings() {
    let sim = sim().await;
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(
        sandbox.config_dir().join("settings.toml"),
        "[preferences.account_names]\n777788889999 = \"security audit\"\n\
         111122223333 = \"unused: AWS names it\"\n",
    )
    .unwrap();
    let output = roles_in(
        sandbox,
        &sim,
        &["--auth", "forms", "--username", "alice", "--json"],
        &[("ROLECALL_PASSWORD", DEMO_PASSWORD)],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        document["alias_lookup_problem"].is_null(),
        "the page was read: {document}"
    );
    let named: Vec<(&str, &str, &str)> = document["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| {
            (
                account["id"].as_str().unwrap(),
                account["alias"].as_str().unwrap_or_default(),
                account["alias_source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("111122223333", "corp-prod", "page"),
            ("444455556666", "corp-staging", "page"),
            ("777788889999", "security audit", "settings"),
        ],
        "aliases from AWS's page first, the settings' name where AWS has none"
    );
    assert_eq!(sim.stats().alias_page_posts, 1);
}

/// The automatic method tries integrated sign-in first; with no Kerberos ticket (the sandbox has
/// an empty Kerberos setup) it goes on to the password.
#[tokio::test(flavor = "multi_thread")]
async fn auto_falls_back_from_kerberos_to_the_password() {
    let sim = sim().await;
    let output = roles(
        &sim,
        &["--username", "alice"],
        &[("ROLECALL_PASSWORD", DEMO_PASSWORD)],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    assert_eq!(sim.stats().form_posts, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_without_ticket_or_password_needs_the_tray() {
    let sim = sim().await;
    let output = roles(&sim, &["--username", "alice"], &[]).await;
    assert_eq!(output.status.code(), Some(5), "{output:?}");
    let message = stderr(&output);
    assert!(
        message.contains("Sign in from the Rolecall tray"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_can_come_from_stdin() {
    let sim = sim().await;
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(["roles", "--url", sim.sign_on_url().as_str()])
        .args(["--auth", "forms", "--username", "alice", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{DEMO_PASSWORD}").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_failure_has_its_exit_code_and_one_line() {
    let sim = sim().await;
    let password = [("ROLECALL_PASSWORD", DEMO_PASSWORD)];
    // What is wrong, the arguments, the environment, the exit code, what stderr says.
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (
            "wrong password",
            vec!["--auth", "forms", "--username", "alice"],
            vec![("ROLECALL_PASSWORD", "nope")],
            3,
            WRONG_PASSWORD_TEXT,
        ),
        (
            "no password",
            vec!["--auth", "forms", "--username", "alice"],
            vec![],
            3,
            "ROLECALL_PASSWORD",
        ),
        (
            "passcode needed, nobody to ask",
            vec!["--auth", "forms", "--username", "bob"],
            password.to_vec(),
            4,
            "ROLECALL_MFA_CODE",
        ),
        (
            "wrong passcode",
            vec!["--auth", "forms", "--username", "bob"],
            vec![
                ("ROLECALL_PASSWORD", DEMO_PASSWORD),
                ("ROLECALL_MFA_CODE", "999999"),
            ],
            4,
            "did not accept the passcode",
        ),
        (
            "no roles",
            vec!["--auth", "forms", "--username", "carol"],
            password.to_vec(),
            6,
            "no AWS roles",
        ),
        (
            "a page only a person can read",
            vec!["--auth", "forms", "--username", "garbage"],
            password.to_vec(),
            5,
            "interactive sign-in",
        ),
    ];
    for (what, args, env, code, says) in cases {
        let output = roles(&sim, &args, &env).await;
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(code), "{what}: {message}");
        assert!(message.contains(says), "{what}: {message}");
        assert_eq!(
            message.trim_end().lines().count(),
            1,
            "{what}: one line: {message}"
        );
        assert!(
            !message.contains(DEMO_PASSWORD),
            "{what}: no password in {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passcode_from_the_environment_signs_in() {
    let sim = sim().await;
    let output = roles(
        &sim,
        &["--auth", "forms", "--username", "bob"],
        &[
            ("ROLECALL_PASSWORD", DEMO_PASSWORD),
            ("ROLECALL_MFA_CODE", "123456"),
        ],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn an_unreachable_idp_is_exit_8() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let sandbox = Sandbox::new();
    let output = sandbox
        .command(rolecall_binary())
        .args([
            "roles",
            "--url",
            &format!("http://127.0.0.1:{port}/adfs/ls/"),
        ])
        .args(["--auth", "forms", "--username", "alice"])
        .env("ROLECALL_PASSWORD", "x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(8), "{output:?}");
    assert!(stderr(&output).contains("could not reach"), "{output:?}");
}

#[test]
fn plain_http_beyond_loopback_is_refused_before_anything_is_sent() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command(rolecall_binary())
        .args(["roles", "--url", "http://sts.corp.example/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(stderr(&output).contains("https"), "{output:?}");
}

/// A TLS server (`openssl s_server -www`) with a certificate from a private CA: untrusted until
/// the CA file is given, as behind a company's own certificate authority.
#[test]
fn an_untrusted_certificate_names_the_ca_file_option() {
    let sandbox = Sandbox::new();
    let rolecall_tests::tls::Certificates { ca, cert, key } =
        rolecall_tests::tls::certificates(sandbox.root());
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = rolecall_tests::Running::spawn(
        std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null()),
    );
    rolecall_tests::eventually(std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("openssl s_server listens");
    let url = format!("https://localhost:{port}/adfs/ls/");
    let roles = |ca_file: Option<&std::path::Path>| {
        let mut command = sandbox.command(rolecall_binary());
        command
            .args([
                "roles",
                "--url",
                &url,
                "--auth",
                "forms",
                "--username",
                "alice",
            ])
            .env("ROLECALL_PASSWORD", "x");
        if let Some(ca_file) = ca_file {
            command.arg("--ca-file").arg(ca_file);
        }
        command.output().unwrap()
    };

    let untrusted = roles(None);
    assert_eq!(untrusted.status.code(), Some(7), "{untrusted:?}");
    let message = stderr(&untrusted);
    assert!(message.contains("--ca-file"), "says what to do: {message}");
    assert!(
        message.contains(&format!("localhost:{port}")),
        "names the host: {message}"
    );

    // With the CA file the connection is trusted; s_server's status page is no sign-in page.
    let trusted = roles(Some(&ca));
    assert_eq!(trusted.status.code(), Some(5), "{trusted:?}");
    assert!(server.is_running(), "the TLS server served both");
}

/// The IdP's SSO cookies go to the real Secret Service (gnome-keyring on a private bus), so a
/// second `rolecall roles` signs in without the password; `rolecall sign-out` ends it.
#[tokio::test(flavor = "multi_thread")]
async fn the_sso_session_lives_in_the_keyring_until_sign_out() {
    use rolecall_tests::keyring::SecretService;
    let sim = sim().await;
    let sandbox = std::sync::Arc::new(Sandbox::new());
    let service = std::sync::Arc::new(SecretService::start(&sandbox, "login password"));
    let url = sim.sign_on_url().to_string();
    let run = |args: Vec<String>, password: Option<&'static str>| {
        let sandbox = std::sync::Arc::clone(&sandbox);
        let service = std::sync::Arc::clone(&service);
        tokio::task::spawn_blocking(move || {
            let mut command = sandbox.command(rolecall_binary());
            command.args(&args).envs(service.env());
            if let Some(password) = password {
                command.env("ROLECALL_PASSWORD", password);
            }
            command.output().unwrap()
        })
    };
    let roles_args = || {
        [
            "roles",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
        ]
        .map(str::to_owned)
        .to_vec()
    };

    let first = run(roles_args(), Some(DEMO_PASSWORD)).await.unwrap();
    assert!(first.status.success(), "{first:?}");
    assert_eq!(
        service.count_items(&[("service", "rolecall"), ("username", "sso:127.0.0.1")]),
        1,
        "the SSO cookies are one keyring entry (plus chunks)"
    );

    let second = run(roles_args(), None).await.unwrap();
    assert!(
        second.status.success(),
        "silent with the kept session: {second:?}"
    );
    assert_eq!(sim.stats().form_posts, 1, "no second password post");

    let out = run(
        ["sign-out", "--url", &url].map(str::to_owned).to_vec(),
        None,
    )
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(sim.stats().sign_outs, 1);
    assert_eq!(
        service.count_items(&[("service", "rolecall"), ("username", "sso:127.0.0.1")]),
        0,
        "sign-out forgets the cookies"
    );
    let third = run(roles_args(), None).await.unwrap();
    assert_eq!(
        third.status.code(),
        Some(3),
        "the password is needed again: {third:?}"
    );
}
