//! Where a secret must never show, with the real binary against `rolecall-sim`: the log on
//! stderr at `ROLECALL_LOG=trace`, the IdP's escape sequences on the terminal, the environment of
//! the processes Rolecall starts, and the browser opener's command line.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rolecall_sim::{DEMO_PASSWORD, Mfa, Role, Sim, SimConfig, User};
use rolecall_tests::keyring::SecretService;
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};

const PASSCODE: &str = "73190428";
const ROLE: &str = "111122223333/Admin";

/// alice, with a one-time passcode after her password.
async fn sim(config: SimConfig) -> Sim {
    let config = SimConfig {
        users: vec![User {
            mfa: Some(Mfa {
                adapter: "SecurIDv2Authentication".to_owned(),
                passcode: PASSCODE.to_owned(),
            }),
            ..User::new("alice", vec![Role::new("111122223333", "Admin")])
        }],
        ..config
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

/// Runs `rolecall <args>` in the sandbox with `env`, `stdin` on its standard input.
async fn rolecall(
    sandbox: &Arc<Sandbox>,
    args: &[&str],
    env: &[(&str, OsString)],
    stdin: &str,
) -> Output {
    let mut command = sandbox.command(rolecall_binary());
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let keep = Arc::clone(sandbox);
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        drop(keep);
        output
    })
    .await
    .unwrap()
}

fn assert_ok(what: &str, output: &Output) {
    assert!(output.status.success(), "{what}: {output:?}");
}

/// Pieces to look for: a short secret whole; a long one as its 16-character pieces, so a leak
/// of 31 characters or more is found however it was cut.
fn pieces(secret: &str) -> Vec<String> {
    const PIECE: usize = 16;
    if secret.len() < 2 * PIECE {
        return vec![secret.to_owned()];
    }
    secret
        .as_bytes()
        .chunks_exact(PIECE)
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
        .collect()
}

/// The spellings a secret travels in: as it is, and form- or query-encoded (either hex case).
fn spellings(secret: &str) -> Vec<String> {
    let encode = |upper: bool| -> String {
        secret
            .bytes()
            .map(|b| match b {
                b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => char::from(b).to_string(),
                b' ' => "+".to_owned(),
                b if upper => format!("%{b:02X}"),
                b => format!("%{b:02x}"),
            })
            .collect()
    };
    let mut all = vec![secret.to_owned(), encode(true), encode(false)];
    all.dedup();
    all.sort();
    all.dedup();
    all
}

/// The text between `start` and the next `end` after it, each time it occurs.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        rest = &rest[at + start.len()..];
        let Some(stop) = rest.find(end) else { break };
        found.push(&rest[..stop]);
        rest = &rest[stop..];
    }
    found
}

/// Sign-in (password from the keyring, passcode from the environment), assume, console and a
/// credential-process renewal through the SSO cookie, all at `ROLECALL_LOG=trace`: stderr holds
/// none of the run's secrets.
#[tokio::test(flavor = "multi_thread")]
async fn a_trace_log_of_sign_in_assume_console_and_credential_process_holds_no_secret() {
    let sim = sim(SimConfig::demo()).await;
    let sandbox = Arc::new(Sandbox::new());
    let service = SecretService::start(&sandbox, "login password");
    let mut env: Vec<(&str, OsString)> = service.env();
    env.extend([
        ("ROLECALL_LOG", "trace".into()),
        ("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str().into()),
        (
            "ROLECALL_SIGNIN_ENDPOINT",
            sim.federation_url().as_str().into(),
        ),
    ]);
    let url = sim.sign_on_url().to_string();
    let mut stderr = String::new();
    let mut run = async |args: &[&str], extra: &[(&str, OsString)], stdin: &str| {
        let mut all = env.clone();
        all.extend(extra.iter().cloned());
        let output = rolecall(&sandbox, args, &all, stdin).await;
        stderr.push_str(&String::from_utf8_lossy(&output.stderr));
        output
    };

    let added = run(
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
        &[],
        "",
    )
    .await;
    assert_ok("endpoint add", &added);
    let stored = run(
        &["password", "set", "--endpoint", "corp"],
        &[],
        &format!("{DEMO_PASSWORD}\n"),
    )
    .await;
    assert_ok("password set", &stored);
    let login = run(
        &[
            "login",
            "--endpoint",
            "corp",
            "--role",
            ROLE,
            "--profile",
            "work",
        ],
        &[("ROLECALL_MFA_CODE", PASSCODE.into())],
        "",
    )
    .await;
    assert_ok("login", &login);
    let console = run(&["console", "--profile", "work", "--print"], &[], "").await;
    assert_ok("console --print", &console);

    // The session now looks nearly over: credential-process renews it by itself, through the
    // SSO cookie in the keyring.
    let file = sandbox.aws_credentials_file();
    let soon = (rolecall_core::clock::SystemClock.now() + time::Duration::minutes(5))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let text: String = std::fs::read_to_string(&file)
        .unwrap()
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
    let renewed = run(&["credential-process", "--profile", "work"], &[], "").await;
    assert_ok("credential-process", &renewed);
    let served = run(&["credential-process", "--profile", "work"], &[], "").await;
    assert_ok("credential-process again", &served);

    let stats = sim.stats();
    assert_eq!(stats.mfa_posts, 1, "the passcode was posted once");
    assert_eq!(
        stats.sts_calls, 2,
        "login and the renewal each assumed the role"
    );
    let handed_out = sim.handed_out();
    assert_eq!(handed_out.saml_responses.len(), 2, "{handed_out:?}");
    assert!(!handed_out.sso_cookies.is_empty(), "{handed_out:?}");
    assert_eq!(handed_out.signin_tokens.len(), 1, "{handed_out:?}");
    let printed = String::from_utf8_lossy(&console.stdout);
    assert!(
        printed.contains(&handed_out.signin_tokens[0]),
        "the console URL carries the SigninToken: {printed}"
    );
    assert!(
        stderr.contains("aws_smithy_runtime") && stderr.contains("DEBUG"),
        "the log really was on: {}",
        &stderr[..stderr.len().min(2000)]
    );

    // Every secret of the run, by what it is.
    let mut secrets: Vec<(String, String)> = vec![
        ("the password".into(), DEMO_PASSWORD.into()),
        ("the passcode".into(), PASSCODE.into()),
    ];
    for (n, response) in handed_out.saml_responses.iter().enumerate() {
        secrets.push((format!("SAMLResponse #{n}"), response.clone()));
        let xml = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(response)
                .unwrap(),
        )
        .unwrap();
        for (what, start, end) in [
            ("its Response ID", "<samlp:Response ID=\"", "\""),
            ("its Assertion ID", "<Assertion ID=\"", "\""),
            ("its DigestValue", "<ds:DigestValue>", "<"),
            ("its SignatureValue", "<ds:SignatureValue>", "<"),
        ] {
            let found = between(&xml, start, end);
            assert!(!found.is_empty(), "{what} in the assertion: {xml}");
            for fragment in found {
                secrets.push((format!("SAMLResponse #{n}: {what}"), fragment.to_owned()));
            }
        }
    }
    for credentials in sim.issued_credentials() {
        secrets.push(("a SecretAccessKey".into(), credentials.secret_access_key));
        secrets.push(("a SessionToken".into(), credentials.session_token));
    }
    for cookie in &handed_out.sso_cookies {
        secrets.push(("an MSISAuth cookie".into(), cookie.clone()));
    }
    for token in &handed_out.signin_tokens {
        secrets.push(("the SigninToken".into(), token.clone()));
    }

    let mut searched = 0;
    let mut leaked = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (what, secret) in &secrets {
        for spelling in spellings(secret) {
            for piece in pieces(&spelling) {
                searched += 1;
                if let Some(at) = stderr.find(&piece) {
                    // Where it was: the start of the log line (time, level, target).
                    let line_start = stderr[..at].rfind('\n').map_or(0, |n| n + 1);
                    let prefix: String = stderr[line_start..].chars().take(90).collect();
                    leaked
                        .entry(what.clone())
                        .or_default()
                        .push(format!("{piece} in {prefix}"));
                }
            }
        }
    }
    println!(
        "{} secrets of the run, {searched} search strings, {} bytes of trace log",
        secrets.len(),
        stderr.len()
    );
    let report: Vec<String> = leaked
        .iter()
        .map(|(what, lines)| {
            let mut lines = lines.clone();
            lines.sort();
            lines.dedup();
            format!("{what} ({} pieces), in: {}", lines.len(), lines.join(" | "))
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "secrets on stderr at ROLECALL_LOG=trace ({} kinds):\n{}",
        leaked.len(),
        report.join("\n")
    );
    drop(service);
}

/// An IdP's errorText with an escape sequence (`&#27;[31m`) and markup reaches the terminal
/// without the escape characters.
#[tokio::test(flavor = "multi_thread")]
async fn the_idps_error_text_reaches_the_terminal_without_escape_sequences() {
    let sim = sim(SimConfig {
        wrong_password_html: Some(
            "&#27;[31mYour password has expired&#27;[0m&#13; &lt;b&gt;Call the helpdesk&lt;/b&gt;"
                .to_owned(),
        ),
        ..SimConfig::demo()
    })
    .await;
    let sandbox = Arc::new(Sandbox::new());
    let url = sim.sign_on_url().to_string();
    let output = rolecall(
        &sandbox,
        &[
            "roles",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
        ],
        &[("ROLECALL_PASSWORD", "not her password".into())],
        "",
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "a refused password: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Your password has expired") && stderr.contains("<b>Call the helpdesk"),
        "the IdP's words are shown: {stderr}"
    );
    assert!(
        !output.stderr.iter().any(|&b| b == 0x1b || b == b'\r'),
        "no escape or carriage return reaches the terminal: {stderr:?}"
    );
}

/// A fake `xdg-open` first on `PATH`: it records its arguments, its command line, its environment
/// and the mode of the page it was given and of its folder in `record`, the page itself in
/// `record.page`.
fn fake_opener(dir: &Path, record: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\n\
         {{\n\
           for arg in \"$@\"; do printf 'arg: %s\\n' \"$arg\"; done\n\
           tr '\\0' ' ' < /proc/$$/cmdline; echo\n\
           env | sed 's/^/env: /'\n\
           for arg in \"$@\"; do\n\
             stat -c 'mode: %a' \"$arg\"\n\
             stat -c 'folder: %a' \"$(dirname \"$arg\")\"\n\
             cat \"$arg\" > '{}.page'\n\
           done\n\
         }} > '{}'\n\
         exit 0\n",
        record.display(),
        record.display()
    );
    let opener = bin.join("xdg-open");
    std::fs::write(&opener, script).unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `rolecall console` hands the browser a private page: the opener's command line holds its
/// path, never the SigninToken, and the opener does not inherit ROLECALL_PASSWORD or
/// ROLECALL_MFA_CODE.
#[tokio::test(flavor = "multi_thread")]
async fn the_browser_opener_gets_a_private_page_and_no_secret() {
    let sim = sim(SimConfig::demo()).await;
    let sandbox = Arc::new(Sandbox::new());
    let record = sandbox.root().join("opener.txt");
    let bin = fake_opener(sandbox.root(), &record);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env: Vec<(&str, OsString)> = vec![
        ("PATH", path.into()),
        ("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str().into()),
        (
            "ROLECALL_SIGNIN_ENDPOINT",
            sim.federation_url().as_str().into(),
        ),
        ("ROLECALL_PASSWORD", DEMO_PASSWORD.into()),
        ("ROLECALL_MFA_CODE", PASSCODE.into()),
    ];
    let url = sim.sign_on_url().to_string();
    let login = rolecall(
        &sandbox,
        &[
            "login",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            "alice",
            "--role",
            ROLE,
            "--profile",
            "work",
        ],
        &env,
        "",
    )
    .await;
    assert_ok("login", &login);

    let opened = rolecall(&sandbox, &["console", "--profile", "work"], &env, "").await;
    assert_ok("console", &opened);
    let seen = std::fs::read_to_string(&record).expect("the opener ran");
    let token = sim.handed_out().signin_tokens.pop().expect("a SigninToken");

    let args: Vec<&str> = seen
        .lines()
        .filter_map(|line| line.strip_prefix("arg: "))
        .collect();
    assert_eq!(args.len(), 1, "one argument, the page: {seen}");
    let page = Path::new(args[0]);
    assert!(
        page.starts_with(sandbox.runtime_dir().join("rolecall")),
        "the page is in the person's runtime folder: {}",
        page.display()
    );
    for line in seen.lines() {
        assert!(
            !line.contains(&token) && !line.contains("SigninToken"),
            "no SigninToken outside the page: {line}"
        );
    }
    for name in ["ROLECALL_PASSWORD", "ROLECALL_MFA_CODE"] {
        assert!(
            !seen.contains(&format!("env: {name}=")),
            "the opener does not inherit {name}: {seen}"
        );
    }
    assert!(
        !seen.contains(DEMO_PASSWORD) && !seen.contains(PASSCODE),
        "{seen}"
    );
    assert!(seen.contains("mode: 600\n"), "the page is 0600: {seen}");
    assert!(seen.contains("folder: 700\n"), "its folder is 0700: {seen}");
    let html = std::fs::read_to_string(record.with_extension("txt.page")).unwrap();
    assert!(
        html.contains("http-equiv=\"refresh\"") && html.contains(&token),
        "the page sends the browser on with the token: {html}"
    );
}

/// The tray app (`rolecall` without a subcommand, and `rolecall-tray` started by itself) keeps
/// no ROLECALL_PASSWORD or ROLECALL_MFA_CODE in its environment, which its webview processes
/// and the browser would inherit.
#[tokio::test(flavor = "multi_thread")]
async fn the_tray_app_does_not_keep_the_secret_variables() {
    let work = tokio::task::spawn_blocking(|| {
        let tray = rolecall_binary().with_file_name("rolecall-tray");
        for program in [rolecall_binary(), tray] {
            let sandbox = Sandbox::new();
            let desktop = Desktop::start();
            let mut command = desktop.command(&sandbox, &program);
            command
                .env("ROLECALL_PASSWORD", DEMO_PASSWORD)
                .env("ROLECALL_MFA_CODE", PASSCODE)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut app = Running::spawn(&mut command);
            let socket = sandbox
                .runtime_dir()
                .join("rolecall")
                .join("credentials.sock");
            eventually(Duration::from_secs(90), || {
                assert!(app.is_running(), "{}: the app exited", program.display());
                socket.exists().then_some(())
            })
            .expect("the tray app opens its credential socket");
            let proc = PathBuf::from(format!("/proc/{}", app.pid()));
            let exe = std::fs::read_link(proc.join("exe")).unwrap();
            assert!(
                exe.ends_with("rolecall-tray"),
                "{}: the tray app runs as {}",
                program.display(),
                exe.display()
            );
            let environ = std::fs::read(proc.join("environ")).unwrap();
            let environ = String::from_utf8_lossy(&environ);
            let names: Vec<&str> = environ
                .split('\0')
                .filter_map(|pair| pair.split_once('=').map(|(name, _)| name))
                .collect();
            assert!(
                names.contains(&"HOME"),
                "the environment was read: {names:?}"
            );
            for name in ["ROLECALL_PASSWORD", "ROLECALL_MFA_CODE"] {
                assert!(
                    !names.contains(&name),
                    "{}: the tray app keeps {name}",
                    program.display()
                );
            }
            drop(app);
        }
    });
    work.await.unwrap();
}

/// A background renewal refused with the IdP's errorText (`&#27;[31m`, `<b>`) is announced in a
/// notification whose body holds the words as text: no escape character, the markup escaped.
#[tokio::test(flavor = "multi_thread")]
async fn the_idps_error_text_reaches_a_notification_as_plain_text() {
    use rolecall_tests::keyring::SessionBus;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(
        listener,
        SimConfig {
            wrong_password_html: Some(
                "&#27;[31mYour password has expired&#27;[0m &lt;b&gt;Call the helpdesk&lt;/b&gt;"
                    .to_owned(),
            ),
            ..SimConfig::demo()
        },
    )
    .await
    .unwrap();
    let url = sim.sign_on_url().to_string();
    let sts = sim.sts_url().to_string();

    let work = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::new();
        let desktop = Desktop::start();
        let service = SecretService::start_on(
            &sandbox,
            SessionBus::existing(desktop.bus_address()),
            "login password",
        );
        let rolecall = |args: &[&str], stdin: &str| {
            let mut child = desktop
                .command(&sandbox, rolecall_binary())
                .args(args)
                .envs(service.env())
                .env("AWS_ENDPOINT_URL_STS", &sts)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "rolecall {args:?}: {output:?}");
        };
        rolecall(
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
            "",
        );
        rolecall(
            &["password", "set", "--endpoint", "corp"],
            &format!("{DEMO_PASSWORD}\n"),
        );
        rolecall(&["login", "--endpoint", "corp", "--role", ROLE], "");
        // The password changed at the IdP since, and the SSO session is gone: the renewal
        // posts the stored password and AD FS refuses it with its own words.
        rolecall(
            &["password", "set", "--endpoint", "corp"],
            "an old password\n",
        );
        rolecall(&["sign-out", "--endpoint", "corp"], "");

        let file = sandbox.aws_credentials_file();
        let soon = (rolecall_core::clock::SystemClock.now() + time::Duration::minutes(8))
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let text: String = std::fs::read_to_string(&file)
            .unwrap()
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

        let log = sandbox.root().join("notifications.log");
        let _monitor = Running::spawn(
            std::process::Command::new("dbus-monitor")
                .args(["--address", desktop.bus_address()])
                .arg("interface='org.freedesktop.Notifications',member='Notify'")
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(Stdio::null()),
        );
        let mut command = desktop.command(&sandbox, rolecall_binary());
        command
            .envs(service.env())
            .env("AWS_ENDPOINT_URL_STS", &sts);
        let mut app = Running::spawn(&mut command);
        let seen = eventually(Duration::from_secs(90), || {
            assert!(app.is_running(), "the app exited");
            let text = std::fs::read(&log).unwrap_or_default();
            let text = String::from_utf8_lossy(&text).into_owned();
            text.contains("Call the helpdesk").then_some(text)
        })
        .expect("the refused renewal is announced");
        drop(app);
        seen
    });
    let seen = work.await.unwrap();
    assert!(
        seen.contains("&lt;b&gt;Call the helpdesk&lt;/b&gt;"),
        "the IdP's markup is shown as text: {seen}"
    );
    assert!(
        !seen.contains("<b>") && !seen.contains('\u{1b}'),
        "no markup and no escape character reach the notification server: {seen:?}"
    );
}
