//! `rolecall exec` and `rolecall env` hand a profile to other programs, for real: the AWS CLI
//! signs with what they give it (keys in its environment, a container credentials endpoint, or
//! exports a bash evaluated) against the simulator's STS, which knows the keys it issued and
//! counts the sign-ins behind each renewal.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};
use std::time::Duration as WallTime;

use rolecall_sim::Sim;
use rolecall_tests::keyring::SecretService;
use rolecall_tests::{Running, rolecall_binary};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::consumers::{World, caller_arn, demo_sim, rfc3339, text};

/// How long a program under `rolecall exec` may take to get where the test waits for it.
const LIMIT: WallTime = WallTime::from_secs(120);
const ADMIN: &str = "111122223333/Admin";
const ADMIN_ARN: &str = "arn:aws:iam::111122223333:role/Admin";

/// A world whose AWS tools and Rolecall both call the simulator's STS.
fn world_of(sim: &Sim) -> World {
    let mut world = World::new();
    world.set("AWS_ENDPOINT_URL_STS", sim.sts_url().to_string());
    world
}

/// The same, with a Secret Service that keeps the IdP's SSO session, so renewals are silent.
fn renewing_world_of(sim: &Sim) -> (World, SecretService) {
    let mut world = world_of(sim);
    let service = tokio::task::block_in_place(|| SecretService::start(&world.sandbox, "pw"));
    for (key, value) in service.env() {
        world.set(key, value);
    }
    (world, service)
}

/// Logs `alice` in to `role` as `profile` (the active one when `None`), region eu-west-1.
async fn login(world: &World, sim: &Sim, role: &str, profile: Option<&str>) {
    let mut args = vec!["--role", role, "--region", "eu-west-1"];
    if let Some(profile) = profile {
        args.extend(["--profile", profile]);
    }
    let login = world.login(sim, "alice", &args).await;
    assert!(login.status.success(), "login as {profile:?}: {login:?}");
}

/// `NAME=value` lines (as `env` prints them) as a map.
fn variables(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn read(world: &World, name: &str) -> String {
    let path = world.sandbox.root().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("the program should have written {}: {err}", path.display()))
}

/// Starts `rolecall <args>` with its standard output piped and waits for the program it runs
/// to print `ready`.
fn start_until_ready(world: &World, args: &[&str], extra: &[(&str, &str)]) -> Running {
    let mut command = world.command(rolecall_binary(), args);
    command.envs(extra.iter().copied()).stdout(Stdio::piped());
    let mut running = Running::spawn(&mut command);
    let stdout = running.take_stdout().expect("piped stdout");
    let mut line = String::new();
    tokio::task::block_in_place(|| BufReader::new(stdout).read_line(&mut line))
        .expect("reading the program's output");
    assert_eq!(
        line.trim(),
        "ready",
        "the program under rolecall exec should have got ready (it printed {line:?})"
    );
    running
}

/// `rolecall exec --profile dev -- aws sts get-caller-identity` is the profile's role, with
/// keys the file holds and the profile's region in its environment, and without the AWS_PROFILE
/// and keys of the shell it was started from; the program's exit code comes through, and a
/// signal sent to Rolecall reaches it. Without a program, the person's shell starts.
#[tokio::test(flavor = "multi_thread")]
async fn exec_runs_the_aws_cli_as_the_profiles_role() {
    let sim = demo_sim().await;
    let world = world_of(&sim);
    login(&world, &sim, ADMIN, Some("dev")).await;
    let stored = world.stored("dev");
    let principal = stored.principal_arn.clone().unwrap();
    // What a shell may hold already: the SDKs must not mix it with the profile's keys.
    let outside = [
        ("AWS_PROFILE", "nowhere"),
        ("AWS_ACCESS_KEY_ID", "AKIADECOYDECOYDECOY1"),
        ("AWS_SECRET_ACCESS_KEY", "decoy"),
    ];

    let identity = world
        .rolecall(
            &[
                "exec",
                "--profile",
                "dev",
                "--",
                "aws",
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ],
            &outside,
        )
        .await;
    assert_eq!(
        caller_arn(&identity),
        principal,
        "the AWS CLI signed with the profile's keys"
    );

    let env = world
        .rolecall(&["exec", "--profile", "dev", "--", "env"], &outside)
        .await;
    assert!(env.status.success(), "{env:?}");
    let env = variables(&text(&env.stdout));
    let expected = [
        ("AWS_ACCESS_KEY_ID", stored.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            stored.secret_access_key.expose().clone(),
        ),
        (
            "AWS_SESSION_TOKEN",
            stored.session_token.as_ref().unwrap().expose().clone(),
        ),
        (
            "AWS_CREDENTIAL_EXPIRATION",
            rfc3339(stored.expiration.unwrap()),
        ),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_DEFAULT_REGION", "eu-west-1".to_owned()),
        ("ROLECALL_EXEC_PROFILE", "dev".to_owned()),
    ];
    for (name, value) in expected {
        assert_eq!(
            env.get(name),
            Some(&value),
            "{name} in the program's environment"
        );
    }
    assert!(
        !env.contains_key("AWS_PROFILE"),
        "AWS_PROFILE is removed: {env:?}"
    );

    let failed = world
        .rolecall(
            &["exec", "--profile", "dev", "--", "sh", "-c", "exit 7"],
            &[],
        )
        .await;
    assert_eq!(
        failed.status.code(),
        Some(7),
        "the program's exit code: {failed:?}"
    );
    let missing = world
        .rolecall(
            &["exec", "--profile", "dev", "--", "no-such-program-here"],
            &[],
        )
        .await;
    assert_eq!(
        missing.status.code(),
        Some(127),
        "as a shell says: {missing:?}"
    );
    assert!(
        text(&missing.stderr).contains("There is no program \"no-such-program-here\""),
        "{}",
        text(&missing.stderr)
    );

    // A supervisor (or a person with `kill`) stops Rolecall: the program hears it and ends as
    // it chooses, and Rolecall ends with it.
    let mut trapping = tokio::task::block_in_place(|| {
        start_until_ready(
            &world,
            &[
                "exec",
                "--profile",
                "dev",
                "--",
                "sh",
                "-c",
                "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
            ],
            &[],
        )
    });
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &trapping.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let ended = tokio::task::block_in_place(|| trapping.wait_for_exit(LIMIT));
    assert_eq!(
        ended.and_then(|status| status.code()),
        Some(42),
        "the TERM reached the program, whose exit code is Rolecall's"
    );

    // No program: the person's shell, which reads what they type.
    let mut command = world.command(rolecall_binary(), &["exec", "--profile", "dev"]);
    command
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let shell: Output = tokio::task::block_in_place(|| {
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"echo \"in $ROLECALL_EXEC_PROFILE, $AWS_REGION\"\nexit 5\n")
            .unwrap();
        child.wait_with_output().unwrap()
    });
    assert_eq!(shell.status.code(), Some(5), "{shell:?}");
    assert_eq!(text(&shell.stdout), "in dev, eu-west-1\n");

    let help = world.rolecall(&["--help"], &[]).await;
    let help = text(&help.stdout);
    assert!(
        help.contains("exec  ") && help.contains("Run a program with a profile's credentials"),
        "{help}"
    );
    assert!(
        help.contains("env  ") && help.contains("Print a profile's credentials for a shell"),
        "{help}"
    );
}

/// Takes its first Ctrl-C as "finish cleanly" and a second as "stop now", as Terraform does.
const TWO_INTERRUPTS: &str = r#"import os, signal, sys
# os.write, unbuffered: an interrupt may come while Python is writing.
count = 0
def interrupted(*_):
    global count
    count += 1
    os.write(1, b"stop now\n" if count > 1 else b"finishing cleanly\n")
    if count > 1:
        os._exit(9)
signal.signal(signal.SIGINT, interrupted)
os.write(1, b"ready\n")
sys.stdin.readline()
os.write(1, b"finished cleanly\n")
"#;

/// One Ctrl-C typed at a terminal (a pseudo-terminal from `script`) reaches the program once:
/// the terminal sends it to the program and Rolecall alike, and Rolecall does not send it a
/// second time (which Terraform would take as "stop now").
#[tokio::test(flavor = "multi_thread")]
async fn one_ctrl_c_at_a_terminal_reaches_the_program_once() {
    let sim = demo_sim().await;
    let world = world_of(&sim);
    login(&world, &sim, ADMIN, Some("dev")).await;
    std::fs::write(world.sandbox.root().join("interrupts.py"), TWO_INTERRUPTS).unwrap();
    let inner = format!(
        "exec '{}' exec --profile dev -- python3 interrupts.py",
        rolecall_binary().display()
    );
    // `timeout`, so a program that never ends cannot hold the test.
    let mut command = world.command("timeout", &["120", "script", "-qec", &inner, "/dev/null"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    let output = tokio::task::block_in_place(|| {
        let mut terminal = command.spawn().expect("script (util-linux)");
        let mut keyboard = terminal.stdin.take().unwrap();
        let mut screen = BufReader::new(terminal.stdout.take().unwrap());
        let mut seen = String::new();
        let mut wait_for = |word: &str| loop {
            let mut line = String::new();
            let read = screen.read_line(&mut line).unwrap();
            seen.push_str(&line);
            assert!(read > 0, "the terminal should show {word:?}: {seen:?}");
            if line.contains(word) {
                return;
            }
        };
        wait_for("ready");
        keyboard.write_all(b"\x03").unwrap();
        keyboard.flush().unwrap();
        wait_for("finishing cleanly");
        keyboard.write_all(b"done\n").unwrap();
        keyboard.flush().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut screen, &mut rest).unwrap();
        seen.push_str(&rest);
        (terminal.wait().unwrap(), seen)
    });
    let (status, screen) = output;
    assert!(
        !screen.contains("stop now") && screen.contains("finished cleanly"),
        "one Ctrl-C, one interrupt: {screen:?}"
    );
    assert_eq!(status.code(), Some(0), "{screen:?}");
}

/// An exec of another profile inside an exec (here the active profile, `default`, by leaving
/// out --profile) is refused with a sentence that says what to do, and runs with --force; the
/// same profile again is harmless.
#[tokio::test(flavor = "multi_thread")]
async fn an_exec_inside_an_exec_of_another_profile_needs_force() {
    let sim = demo_sim().await;
    let world = world_of(&sim);
    login(&world, &sim, ADMIN, Some("dev")).await;
    login(&world, &sim, "111122223333/ReadOnly", None).await;
    let binary = rolecall_binary();
    let binary = binary.to_str().unwrap();
    // `rolecall exec --profile dev -- rolecall exec <inner> -- aws sts get-caller-identity`
    let nested = |inner: &[&str]| {
        let mut args = vec!["exec", "--profile", "dev", "--", binary, "exec"];
        args.extend_from_slice(inner);
        args.extend([
            "--",
            "aws",
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ]);
        let mut command = world.command(rolecall_binary(), &args);
        tokio::task::block_in_place(move || command.output().unwrap())
    };

    let refused = nested(&[]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(refused.stdout.is_empty(), "the inner program never ran");
    let message = text(&refused.stderr);
    assert!(
        message.contains("already runs inside `rolecall exec` for the profile \"dev\"")
            && message.contains("\"default\"")
            && message.contains("--force"),
        "{message}"
    );

    let forced = nested(&["--force"]);
    assert!(
        caller_arn(&forced).ends_with(":assumed-role/ReadOnly/alice@corp.example"),
        "the inner exec is the active profile's role: {forced:?}"
    );

    let same = nested(&["--profile", "dev"]);
    assert!(
        caller_arn(&same).ends_with(":assumed-role/Admin/alice@corp.example"),
        "the same profile again runs: {same:?}"
    );
}

/// With fewer than 15 minutes left, `rolecall exec` renews the profile first (silently, through
/// the IdP's SSO session in the keyring) and the program gets the new keys; with more left, the
/// file's keys are handed out and nobody signs in.
#[tokio::test(flavor = "multi_thread")]
async fn exec_renews_a_profile_near_its_end_first() {
    let sim = demo_sim().await;
    let (world, _service) = renewing_world_of(&sim);
    login(&world, &sim, ADMIN, Some("dev")).await;
    let first = world.stored("dev").access_key_id;
    world.expire_in("dev", Duration::minutes(5));

    let script = "printf '%s' \"$AWS_ACCESS_KEY_ID\" > key-seen && \
                  printf '%s' \"$AWS_CREDENTIAL_EXPIRATION\" > expiration-seen && \
                  aws sts get-caller-identity --output json";
    let exec = ["exec", "--profile", "dev", "--", "sh", "-c", script];
    let renewed = world.rolecall(&exec, &[]).await;
    assert!(
        caller_arn(&renewed).ends_with(":assumed-role/Admin/alice@corp.example"),
        "{renewed:?}"
    );
    let seen = read(&world, "key-seen");
    assert_ne!(seen, first, "the program got new keys");
    assert_eq!(
        world.stored("dev").access_key_id,
        seen,
        "and they are in the file"
    );
    let expiration = OffsetDateTime::parse(&read(&world, "expiration-seen"), &Rfc3339).unwrap();
    assert!(
        expiration > rolecall_core::clock::SystemClock.now() + Duration::minutes(50),
        "about an hour ahead: {expiration}"
    );
    assert_eq!(sim.stats().assertions_issued, 2, "one silent sign-in");
    assert_eq!(
        sim.stats().form_posts,
        1,
        "no password post: the SSO session"
    );

    let again = world.rolecall(&exec, &[]).await;
    assert!(again.status.success(), "{again:?}");
    assert_eq!(
        read(&world, "key-seen"),
        seen,
        "the fresh keys from the file"
    );
    assert_eq!(
        sim.stats().assertions_issued,
        2,
        "no sign-in for fresh keys"
    );
}

/// `rolecall exec --ecs-server` gives the program a container credentials endpoint instead of
/// keys: the AWS CLI reads it, a wrong token or none gets 401, a request near the end renews
/// the profile, and the endpoint stops with the program.
#[tokio::test(flavor = "multi_thread")]
async fn exec_with_an_ecs_server_serves_the_aws_cli_from_loopback() {
    let sim = demo_sim().await;
    let (world, _service) = renewing_world_of(&sim);
    login(&world, &sim, ADMIN, Some("dev")).await;
    let first = world.stored("dev").access_key_id;

    let script = r#"set -eu
env > program-env
fetch() { curl -sS -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; }
status() { curl -sS -o /dev/null -w '%{http_code}' "$@" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; }
aws sts get-caller-identity --output json > identity-before.json
fetch > served-before.json
status -H 'Authorization: not-the-token' > wrong-token-status
status > no-token-status
echo ready
while [ ! -e go ]; do sleep 0.1; done
fetch > served-after.json
aws sts get-caller-identity --output json > identity-after.json
"#;
    let outside = [
        ("AWS_PROFILE", "nowhere"),
        ("AWS_ACCESS_KEY_ID", "AKIADECOYDECOYDECOY1"),
        ("AWS_SECRET_ACCESS_KEY", "decoy"),
    ];
    let mut running = tokio::task::block_in_place(|| {
        start_until_ready(
            &world,
            &[
                "exec",
                "--profile",
                "dev",
                "--ecs-server",
                "--",
                "sh",
                "-c",
                script,
            ],
            &outside,
        )
    });

    let env = variables(&read(&world, "program-env"));
    let url = env
        .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .unwrap_or_else(|| panic!("the endpoint's URL: {env:?}"))
        .clone();
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    let token = &env["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    assert_eq!(token.len(), 64, "a random token: {token}");
    for absent in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        assert!(
            !env.contains_key(absent),
            "{absent} is not the program's: {env:?}"
        );
    }
    assert_eq!(env.get("AWS_REGION").map(String::as_str), Some("eu-west-1"));
    let identity: serde_json::Value =
        serde_json::from_str(&read(&world, "identity-before.json")).unwrap();
    assert!(
        identity["Arn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":assumed-role/Admin/alice@corp.example")),
        "the AWS CLI signed with what the endpoint served: {identity}"
    );
    let served: serde_json::Value =
        serde_json::from_str(&read(&world, "served-before.json")).unwrap();
    assert_eq!(served["AccessKeyId"], first.as_str(), "{served}");
    assert_eq!(served["RoleArn"], ADMIN_ARN, "{served}");
    assert_eq!(read(&world, "wrong-token-status"), "401");
    assert_eq!(read(&world, "no-token-status"), "401");

    // The credentials near their end while the program runs: its next request renews them.
    world.expire_in("dev", Duration::minutes(5));
    std::fs::write(world.sandbox.root().join("go"), "").unwrap();
    let ended = tokio::task::block_in_place(|| running.wait_for_exit(LIMIT));
    assert_eq!(
        ended.and_then(|status| status.code()),
        Some(0),
        "the program finished"
    );
    let served: serde_json::Value =
        serde_json::from_str(&read(&world, "served-after.json")).unwrap();
    let renewed = served["AccessKeyId"].as_str().unwrap();
    assert_ne!(renewed, first, "renewed: {served}");
    assert_eq!(world.stored("dev").access_key_id, renewed, "and written");
    assert_eq!(sim.stats().assertions_issued, 2, "one silent sign-in");
    let identity: serde_json::Value =
        serde_json::from_str(&read(&world, "identity-after.json")).unwrap();
    assert!(
        identity["Arn"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":assumed-role/Admin/alice@corp.example")),
        "{identity}"
    );

    let address = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "nothing listens on {address} once the program has ended"
    );
}

/// `eval "$(rolecall env --profile dev)"` in a real bash that had another AWS_PROFILE and keys
/// makes the AWS CLI the profile's role; the .env file works for `set -a; . ./dev.env`, and the
/// JSON holds the same values.
#[tokio::test(flavor = "multi_thread")]
async fn env_exports_the_profile_for_bash_a_dotenv_file_and_json() {
    let sim = demo_sim().await;
    let world = world_of(&sim);
    login(&world, &sim, ADMIN, Some("dev")).await;
    let stored = world.stored("dev");
    let principal = stored.principal_arn.clone().unwrap();
    let binary = rolecall_binary();
    let binary = binary.display();

    let evaluated = world
        .run(
            "bash",
            &[
                "-c",
                &format!(
                    "set -e; export AWS_PROFILE=nowhere AWS_ACCESS_KEY_ID=AKIADECOYDECOYDECOY1; \
                     eval \"$('{binary}' env --profile dev)\"; \
                     aws sts get-caller-identity --output json"
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(caller_arn(&evaluated), principal, "{evaluated:?}");

    let dotenv = world
        .rolecall(&["env", "--profile", "dev", "--format", "dotenv"], &[])
        .await;
    assert!(dotenv.status.success(), "{dotenv:?}");
    std::fs::write(world.sandbox.root().join("dev.env"), &dotenv.stdout).unwrap();
    let sourced = world
        .run(
            "bash",
            &[
                "-c",
                "set -e; set -a; . ./dev.env; set +a; aws sts get-caller-identity --output json",
            ],
            &[],
        )
        .await;
    assert_eq!(caller_arn(&sourced), principal, "{sourced:?}");

    let json = world
        .rolecall(&["env", "--profile", "dev", "--format", "json"], &[])
        .await;
    assert!(json.status.success(), "{json:?}");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["AWS_ACCESS_KEY_ID"], stored.access_key_id.as_str());
    assert_eq!(
        json["AWS_SECRET_ACCESS_KEY"],
        stored.secret_access_key.expose().as_str()
    );
    assert_eq!(
        json["AWS_SESSION_TOKEN"],
        stored.session_token.as_ref().unwrap().expose().as_str()
    );
    assert_eq!(
        json["AWS_CREDENTIAL_EXPIRATION"],
        rfc3339(stored.expiration.unwrap()).as_str()
    );
    assert_eq!(json["AWS_REGION"], "eu-west-1");

    let unknown = world.rolecall(&["env", "--profile", "nobody"], &[]).await;
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(unknown.stdout.is_empty());
    assert!(
        text(&unknown.stderr).contains("The profile \"nobody\" is not one Rolecall manages"),
        "{}",
        text(&unknown.stderr)
    );
}

/// A chained profile (AssumeRoleWithSAML, then AssumeRole twice, each hop signed by the
/// session before) runs the AWS CLI as the last role, and near its end `rolecall exec` renews
/// it as the chain, from a new sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn exec_of_a_chained_profile_is_the_last_role_and_renews_the_chain() {
    const TRANSIT: &str = "arn:aws:iam::222222222222:role/Transit";
    const DEPLOY: &str = "arn:aws:iam::333333333333:role/Deploy";
    let sim = demo_sim().await;
    let (world, _service) = renewing_world_of(&sim);
    let chained = world
        .login(
            &sim,
            "alice",
            &[
                "--role",
                ADMIN,
                "--chain",
                TRANSIT,
                "--chain",
                DEPLOY,
                "--profile",
                "spoke",
                "--region",
                "eu-west-1",
            ],
        )
        .await;
    assert!(chained.status.success(), "chained login: {chained:?}");
    let expected = "arn:aws:sts::333333333333:assumed-role/Deploy/alice@corp.example";
    let script = "printf '%s' \"$AWS_ACCESS_KEY_ID\" > key-seen && \
                  aws sts get-caller-identity --output json";
    let exec = ["exec", "--profile", "spoke", "--", "sh", "-c", script];

    let identity = world.rolecall(&exec, &[]).await;
    assert_eq!(caller_arn(&identity), expected, "the last hop's role");
    let first = read(&world, "key-seen");

    world.expire_in("spoke", Duration::minutes(5));
    let renewed = world.rolecall(&exec, &[]).await;
    assert_eq!(caller_arn(&renewed), expected, "renewed as the last hop");
    assert_ne!(read(&world, "key-seen"), first, "with new keys");
    assert_eq!(
        sim.stats().assertions_issued,
        2,
        "a new sign-in for the renewal"
    );
}
