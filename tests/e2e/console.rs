//! The console as a person opens it, against `rolecall-sim`'s STS and federation endpoint:
//! `rolecall console` (the real binary, after `rolecall login`, `--print` only) and "Open
//! console" in the tray of the real app on a private desktop, whose browser is a fake
//! `xdg-open` that keeps the page it was given. No test opens a real browser.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use rolecall_core::clock::SystemClock;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use rolecall_tests::bus::TrayItem;
use rolecall_tests::keyring::{SecretService, SessionBus};
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary, tls};

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

/// A fake `xdg-open` first on `PATH`: it copies the page it is given (the one that sends the
/// browser on to the login URL) to `record`. Returns the `PATH` to start the app with.
fn fake_browser(dir: &Path, record: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Copied whole, then renamed: the test never reads half a page.
    let script = format!(
        "#!/bin/sh\ncat \"$1\" > '{0}.part' && mv '{0}.part' '{0}'\n",
        record.display()
    );
    let opener = bin.join("xdg-open");
    std::fs::write(&opener, script).unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The URL the page sends the browser to (its link's `href`).
fn page_target(page: &str) -> String {
    let from = page.find("<a href=\"").expect("the page links its URL") + "<a href=\"".len();
    let to = from + page[from..].find('"').unwrap();
    page[from..to]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn labels(entries: Vec<rolecall_tests::bus::MenuEntry>) -> Vec<String> {
    entries.into_iter().map(|entry| entry.label).collect()
}

/// "Open console" on a role without a profile used to open the console from a new session of
/// at most an hour, whatever session length the person had set; it must last as long as the
/// settings say, as a profile's session does.
#[tokio::test(flavor = "multi_thread")]
async fn the_trays_console_for_a_role_without_a_profile_lasts_the_session_length_of_the_settings() {
    const LIMIT: Duration = Duration::from_secs(90);
    const EIGHT_HOURS: u32 = 8 * 60 * 60;
    let sim = sim().await;
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();
    let federation = sim.federation_url().to_string();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let _service = SecretService::start_on(
            &sandbox,
            SessionBus::existing(desktop.bus_address()),
            "login password",
        );
        desktop.add_corp_endpoint(&sandbox, &url, DEMO_PASSWORD);
        // The command line has no command for preferences: the person edits settings.toml
        // (or the Settings window) before the app starts.
        let settings = sandbox.config_dir().join("settings.toml");
        let text = std::fs::read_to_string(&settings).unwrap();
        assert!(
            text.contains("session_duration_secs = 3600\n"),
            "the default session length is written: {text}"
        );
        std::fs::write(
            &settings,
            text.replace(
                "session_duration_secs = 3600\n",
                &format!("session_duration_secs = {EIGHT_HOURS}\n"),
            ),
        )
        .unwrap();

        let record: PathBuf = sandbox.root().join("browser-page.html");
        let mut command = desktop.command(&sandbox, rolecall_binary());
        command
            .env("PATH", fake_browser(sandbox.root(), &record))
            .env("AWS_ENDPOINT_URL_STS", &sts)
            .env("ROLECALL_SIGNIN_ENDPOINT", &federation);
        let mut app = Running::spawn(&mut command);
        let item: TrayItem = eventually(LIMIT, || {
            assert!(app.is_running(), "the app exited");
            desktop.tray_item_of(app.pid())
        })
        .expect("the tray item appears");

        desktop.click(&item, "Sign in to corp");
        let account = eventually(LIMIT, || {
            labels(desktop.menu(&item))
                .into_iter()
                .find(|label| label.ends_with("(111122223333)"))
        })
        .expect("after signing in, the accounts are listed");
        assert!(
            labels(desktop.submenu(&item, &[&account])).contains(&"Admin".to_owned()),
            "Admin is listed with no profile (no check, no time left)"
        );

        desktop.click_path(&item, &[&account, "More", "Admin", "Open console"]);
        let page = eventually(LIMIT, || std::fs::read_to_string(&record).ok())
            .expect("the console opens in the browser");
        let opened_at = SystemClock.now();
        assert!(
            !sandbox.aws_credentials_file().exists(),
            "the console's session is written nowhere"
        );
        desktop.click(&item, "Quit Rolecall");
        assert!(
            app.wait_for_exit(LIMIT)
                .is_some_and(|status| status.success())
        );
        (page_target(&page), opened_at)
    });
    let (login, opened_at) = work.await.unwrap();

    assert!(
        login.starts_with(&format!("{}?Action=login&", sim.federation_url())),
        "the browser gets the federation login URL: {login}"
    );
    let stats = sim.stats();
    assert_eq!(
        stats.durations_asked,
        [Some(EIGHT_HOURS.to_string())],
        "STS was asked once, for the session length of the settings"
    );
    assert_eq!(
        stats.console_durations_asked,
        [None],
        "the console session lasts as long as its credentials"
    );
    let credentials = sim.issued_credentials();
    let [credentials] = credentials.as_slice() else {
        panic!("one session: {credentials:?}");
    };
    let left = credentials.expiration - opened_at;
    assert!(
        (time::Duration::minutes(8 * 60 - 5)..=time::Duration::minutes(8 * 60)).contains(&left),
        "the credentials last eight hours: {left}"
    );
}

/// A "browser" for a console browser command: it writes each argument it gets on a line of
/// `record`, the way `/proc/<pid>/cmdline` would show them to every user of the machine.
fn argv_recorder(dir: &Path, record: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("recording browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor arg in \"$@\"; do printf '%s\\n' \"$arg\"; done > '{0}.part' && \
             mv '{0}.part' '{0}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// `console_browser` per account: `rolecall console` starts the person's command, split into
/// words without a shell, with the account's alias as one argument whatever it holds, and the
/// private page's file URL instead of the sign-in URL, so the sign-in token is on no command
/// line.
#[tokio::test(flavor = "multi_thread")]
async fn the_accounts_browser_command_gets_the_alias_as_one_word_and_never_the_token() {
    let sim = sim().await;
    let sandbox = Arc::new(Sandbox::new());
    login_work(&sandbox, &sim).await;

    // An alias is whatever the account's administrators chose; this one tries everything a
    // shell would act on.
    let alias = r#"prod; touch pwned-semicolon $(touch pwned-subshell) 'x" `touch pwned-tick`"#;
    let cache = sandbox.config_dir().join("account-aliases.json");
    std::fs::write(
        &cache,
        serde_json::json!({ "111122223333": alias }).to_string(),
    )
    .unwrap();
    let record = sandbox.root().join("browser-argv.txt");
    let browser = argv_recorder(sandbox.root(), &record);
    let settings = sandbox.config_dir().join("settings.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap_or_default();
    text.push_str(&format!(
        "\n[preferences.console_browsers]\n111122223333 = {}\n",
        toml_string(&format!(
            "'{}' -P {{account_alias}} --class=rolecall-{{account_id}}-{{role}} {{url}}",
            browser.display()
        ))
    ));
    std::fs::write(&settings, text).unwrap();

    let output = rolecall(&sandbox, &sim, &["console", "--profile", "work"], &[]).await;
    assert!(output.status.success(), "{output:?}");

    let argv = eventually(Duration::from_secs(30), || {
        std::fs::read_to_string(&record).ok()
    })
    .expect("the browser command ran");
    let argv: Vec<&str> = argv.lines().collect();
    let [profile_flag, profile, class, page_url] = argv[..] else {
        panic!("four arguments, the alias one of them: {argv:#?}");
    };
    assert_eq!(profile_flag, "-P");
    assert_eq!(profile, alias, "the alias is one argument, unchanged");
    assert_eq!(class, "--class=rolecall-111122223333-Admin");
    assert!(page_url.starts_with("file:///"), "{page_url}");
    for pwned in ["pwned-semicolon", "pwned-subshell", "pwned-tick"] {
        assert!(
            !sandbox.root().join(pwned).exists(),
            "no shell ran what the alias holds ({pwned})"
        );
    }
    let tokens = sim.handed_out().signin_tokens;
    assert_eq!(tokens.len(), 1, "one sign-in token was made");
    let everything = argv.join(" ");
    assert!(
        !everything.contains("SigninToken") && !everything.contains(tokens[0].as_str()),
        "the sign-in token is on no command line: {argv:?}"
    );
    // The page's folder has no character a file URL escapes.
    let page_path = page_url.strip_prefix("file://").unwrap();
    let page = std::fs::read_to_string(page_path).unwrap();
    let target = page_target(&page);
    assert!(
        target.starts_with(&format!("{}?Action=login&", sim.federation_url()))
            && target.contains(tokens[0].as_str()),
        "the private page leads to the login: {target}"
    );
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
