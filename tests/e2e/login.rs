//! `rolecall login` and `rolecall credential-process` as a person and the AWS tools use them:
//! the real binary against `rolecall-sim`'s AD FS and STS, files in the test's sandbox.

use std::process::Output;
use std::sync::Arc;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::{Sandbox, rolecall_binary};

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

/// Runs `rolecall <args>` in `sandbox` with the simulator's STS as the SDK's STS endpoint.
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

fn login_args<'a>(sim_url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "login",
        "--url",
        sim_url,
        "--auth",
        "forms",
        "--username",
        "alice",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn login_writes_one_role_to_the_named_profile_and_keeps_the_rest_of_the_files() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let handmade = "# my keys\r\n[personal]\r\naws_access_key_id = AKIAHANDMADE00000000\r\naws_secret_access_key = x\r\n";
    std::fs::write(sandbox.aws_credentials_file(), handmade).unwrap();
    let url = sim.sign_on_url().to_string();

    let output = rolecall(
        &sandbox,
        &sim,
        &login_args(
            &url,
            &[
                "--role",
                "111122223333/Admin",
                "--profile",
                "work",
                "--region",
                "eu-west-1",
            ],
        ),
    )
    .await;

    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("work: arn:aws:iam::111122223333:role/Admin (ASIA…"),
        "says what it wrote, key masked: {stdout}"
    );
    let credentials = std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap();
    assert!(
        credentials.starts_with(handmade),
        "the hand-written part is byte for byte the same: {credentials:?}"
    );
    for key in [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "x_security_token_expires",
        "x_principal_arn",
    ] {
        assert!(
            credentials.contains(&format!("{key} = ")),
            "{key}: {credentials}"
        );
    }
    assert!(
        credentials.contains("\r\n[work]\r\n"),
        "CRLF kept for the new section"
    );
    let config = std::fs::read_to_string(sandbox.aws_config_file()).unwrap();
    assert!(
        config.contains("[profile work]") && config.contains("region = eu-west-1"),
        "{config}"
    );

    // The AWS tools' credential_process: served at once from the file.
    let served = rolecall(&sandbox, &sim, &["credential-process", "--profile", "work"]).await;
    assert!(served.status.success(), "{served:?}");
    let json: serde_json::Value = serde_json::from_slice(&served.stdout).unwrap();
    assert_eq!(json["Version"], 1);
    assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(json["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        sim.stats().sts_calls,
        1,
        "credential-process did not call STS"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn all_roles_get_profiles_named_by_the_template() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let url = sim.sign_on_url().to_string();

    let output = rolecall(&sandbox, &sim, &login_args(&url, &["--all-roles"])).await;

    assert!(output.status.success(), "{output:?}");
    let credentials = std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap();
    let sections: Vec<&str> = credentials
        .lines()
        .filter(|line| line.starts_with('['))
        .collect();
    assert_eq!(sections.len(), 5, "alice's five roles: {sections:?}");
    assert!(
        sections.iter().all(|section| !section.contains("default")),
        "several roles never go to the active profile: {sections:?}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Wrote 5 profiles to"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_the_sign_in_does_not_grant_is_a_usage_error_that_writes_nothing() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let url = sim.sign_on_url().to_string();
    let output = rolecall(
        &sandbox,
        &sim,
        &login_args(&url, &["--role", "prod/Billing"]),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rolecall roles"),
        "says how to list roles: {stderr}"
    );
    assert!(!sandbox.aws_credentials_file().exists());
    assert_eq!(sim.stats().sts_calls, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn credential_process_for_an_unknown_profile_says_how_to_create_it() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let output = rolecall(&sandbox, &sim, &["credential-process", "--profile", "nope"]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rolecall login"), "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line for the AWS CLI: {stderr}"
    );
}

/// With the tray app running, `credential-process` asks it (over the user-only local socket)
/// and it renews: here the app can read the keyring (the IdP's SSO session) and the callers
/// cannot, so only the app's renewal can succeed. Eight callers at once cost one STS call.
#[tokio::test(flavor = "multi_thread")]
async fn the_running_app_renews_for_credential_process_once_for_all_callers() {
    use rolecall_tests::keyring::SecretService;
    use rolecall_tests::{Desktop, Running, eventually};
    use std::time::Duration;

    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    let service = SecretService::start(&sandbox, "login password");
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();

    // Sign in once with the keyring, so the SSO cookies are kept there.
    let mut login = sandbox.command(rolecall_binary());
    login
        .args(login_args(
            &url,
            &["--role", "111122223333/Admin", "--profile", "work"],
        ))
        .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
        .env("AWS_ENDPOINT_URL_STS", &sts)
        .envs(service.env());
    let output = tokio::task::spawn_blocking(move || login.output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    // The credentials now look nearly expired.
    let file = sandbox.aws_credentials_file();
    let text = std::fs::read_to_string(&file).unwrap();
    let soon = (rolecall_core::clock::SystemClock.now() + time::Duration::minutes(5))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let text: String = text
        .lines()
        .map(|line| {
            if line.starts_with("x_security_token_expires") {
                format!("x_security_token_expires = {soon}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    let calls_before = sim.stats().sts_calls;

    let credential_process = |sandbox: &Arc<Sandbox>| {
        let mut command = sandbox.command(rolecall_binary());
        command
            .args(["credential-process", "--profile", "work"])
            .env("AWS_ENDPOINT_URL_STS", &sts);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };

    // Without the app, the caller cannot reach the keyring: a person is needed.
    let alone = credential_process(&sandbox).await.unwrap();
    assert_eq!(alone.status.code(), Some(1), "{alone:?}");
    assert!(
        String::from_utf8_lossy(&alone.stderr).contains("sign in"),
        "{alone:?}"
    );

    // The app, with the keyring on its session bus.
    let desktop = Desktop::start();
    let mut command = desktop.command(&sandbox, rolecall_binary());
    command
        .envs(service.env())
        .env("AWS_ENDPOINT_URL_STS", &sts);
    let mut app = Running::spawn(&mut command);
    let socket = sandbox
        .runtime_dir()
        .join("rolecall")
        .join("credentials.sock");
    eventually(Duration::from_secs(90), || {
        assert!(app.is_running(), "the app exited");
        socket.exists().then_some(())
    })
    .expect("the app opens its credential socket");

    let callers: Vec<_> = (0..8).map(|_| credential_process(&sandbox)).collect();
    let mut expirations = Vec::new();
    for caller in callers {
        let output = caller.await.unwrap();
        assert!(output.status.success(), "{output:?}");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        expirations.push(json["Expiration"].as_str().unwrap().to_owned());
    }
    assert!(
        expirations
            .iter()
            .all(|e| e > &soon && e == &expirations[0]),
        "everyone got the one renewed session: {expirations:?}"
    );
    assert_eq!(
        sim.stats().sts_calls,
        calls_before + 1,
        "one renewal for eight callers"
    );
}

/// The environment a process in `sandbox` sees, for an engine run inside this test.
fn sandbox_env(sandbox: &Sandbox, sim: &Sim) -> rolecall_core::paths::Environment {
    let mut env = rolecall_core::paths::Environment::new(rolecall_core::paths::Platform::current())
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    for (name, value) in sandbox.env() {
        env = env.with(name, value.to_string_lossy());
    }
    env
}

/// Saves the same settings in `sandbox`: the simulator as endpoint "corp", a default region,
/// and a region of corp-prod's own.
fn save_settings(sandbox: &Sandbox, sim: &Sim) -> rolecall_core::paths::AppPaths {
    use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
    let paths = rolecall_core::paths::AppPaths::resolve(&sandbox_env(sandbox, sim)).unwrap();
    let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str()).unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    let mut settings = Settings::default();
    settings.add_endpoint(endpoint).unwrap();
    settings.preferences.default_region = Some("us-east-2".to_owned());
    settings
        .preferences
        .regions
        .insert("111122223333".to_owned(), "eu-central-1".to_owned());
    settings.save(&paths).unwrap();
    paths
}

/// `rolecall login` and the tray's "use this role" write the same region for the same role and
/// settings: the account's own, not the default one.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_and_the_tray_write_the_same_region() {
    use rolecall_core::engine::{Action, Engine, EngineConfig, SystemClock};
    use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
    let sim = sim().await;

    let by_cli = Arc::new(Sandbox::new());
    save_settings(&by_cli, &sim);
    let output = rolecall(
        &by_cli,
        &sim,
        &[
            "login",
            "--endpoint",
            "corp",
            "--role",
            "111122223333/Admin",
        ],
    )
    .await;
    assert!(output.status.success(), "{output:?}");

    let by_tray = Sandbox::new();
    let paths = save_settings(&by_tray, &sim);
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
        env: sandbox_env(&by_tray, &sim),
        secrets: secrets as Arc<dyn SecretStore>,
        clock: Arc::new(SystemClock),
    });
    engine
        .act(Action::SignIn {
            endpoint: "corp".to_owned(),
        })
        .await
        .unwrap();
    engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: "arn:aws:iam::111122223333:role/Admin".to_owned(),
        })
        .await
        .unwrap();

    let region_of = |sandbox: &Sandbox| {
        let files = rolecall_core::aws_files::AwsFiles::new(
            sandbox.aws_credentials_file(),
            sandbox.aws_config_file(),
        );
        files.read_region("default").unwrap()
    };
    assert_eq!(region_of(&by_cli).as_deref(), Some("eu-central-1"));
    assert_eq!(region_of(&by_tray), region_of(&by_cli));
}
