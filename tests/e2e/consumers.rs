//! The programs that read what Rolecall writes, for real: the AWS CLI (botocore) calling moto's
//! STS with the profile `rolecall login` wrote, the AWS CLI running `rolecall credential-process`
//! as a `credential_process`, and aws-sdk-rust's own profile loader.
//!
//! moto stands in for STS where the AWS CLI must accept the credentials (it knows the keys it
//! issued); stock moto takes only single-role assertions, so those tests sign in a user with
//! exactly one role. Where calls must be counted, the simulator's own STS answers.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Output, Stdio};

use rolecall_core::aws_files::{AwsFiles, StoredCredentials};
use rolecall_sim::{DEMO_PASSWORD, Role, Sim, SimConfig, User};
use rolecall_tests::keyring::SecretService;
use rolecall_tests::moto::Moto;
use rolecall_tests::{Sandbox, rolecall_binary};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The one account and role of the `solo` user. The account is moto's default one: moto 5.2
/// keeps an AssumeRoleWithSAML session in the caller's (default) account but answers
/// GetCallerIdentity from the account of the role's ARN, so in any other account it would not
/// recognise the keys it issued (it answers `user/moto`).
const ACCOUNT: &str = "123456789012";
const ROLE: &str = "Admin";

/// Signed in by a person, with comments, another profile, CRLF line endings and aligned values:
/// none of it is Rolecall's.
const HANDMADE_CREDENTIALS: &str = "# Written by hand: Rolecall must keep this comment.\r\n\
; and this one\r\n\
[other]\r\n\
aws_access_key_id     = AKIAOTHEREXAMPLE0001\r\n\
aws_secret_access_key = otherSecretOtherSecretOtherSecret0001\r\n\
\r\n";

const HANDMADE_CONFIG: &str = "# My own settings.\r\n\
[profile other]\r\n\
region = ap-south-1\r\n\
output = text\r\n\
s3 =\r\n\
  max_concurrent_requests = 4\r\n\
\r\n";

/// A simulator whose one user, `solo`, holds one role: what stock moto can redeem.
async fn solo_sim() -> Sim {
    let config = SimConfig {
        users: vec![User::new("solo", vec![Role::new(ACCOUNT, ROLE)])],
        ..SimConfig::demo()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

pub(crate) async fn demo_sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

/// A sandbox and the variables every child of the test gets on top of it.
pub(crate) struct World {
    pub(crate) sandbox: Sandbox,
    env: Vec<(String, OsString)>,
}

impl World {
    pub(crate) fn new() -> Self {
        Self {
            sandbox: Sandbox::new(),
            env: Vec::new(),
        }
    }

    pub(crate) fn set(&mut self, key: &str, value: impl Into<OsString>) {
        self.env.push((key.to_owned(), value.into()));
    }

    pub(crate) fn command(
        &self,
        program: impl AsRef<Path>,
        args: &[&str],
    ) -> std::process::Command {
        let mut command = self.sandbox.command(program);
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Runs a program to its end on a blocking thread, while the simulator keeps serving.
    pub(crate) async fn run(
        &self,
        program: impl AsRef<Path>,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> Output {
        let mut command = self.command(program, args);
        command.envs(extra.iter().copied());
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    pub(crate) async fn rolecall(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.run(rolecall_binary(), args, extra).await
    }

    /// `rolecall login --url <sim> --auth forms --username <user> <args>` with the password.
    pub(crate) async fn login(&self, sim: &Sim, user: &str, args: &[&str]) -> Output {
        let url = sim.sign_on_url().to_string();
        let mut all = vec![
            "login",
            "--url",
            &url,
            "--auth",
            "forms",
            "--username",
            user,
        ];
        all.extend_from_slice(args);
        self.rolecall(&all, &[("ROLECALL_PASSWORD", DEMO_PASSWORD)])
            .await
    }

    pub(crate) async fn aws(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.run("aws", args, extra).await
    }

    fn files(&self) -> AwsFiles {
        AwsFiles::new(
            self.sandbox.aws_credentials_file(),
            self.sandbox.aws_config_file(),
        )
    }

    pub(crate) fn credentials_text(&self) -> String {
        std::fs::read_to_string(self.sandbox.aws_credentials_file()).unwrap()
    }

    fn config_text(&self) -> String {
        std::fs::read_to_string(self.sandbox.aws_config_file()).unwrap()
    }

    pub(crate) fn stored(&self, profile: &str) -> StoredCredentials {
        self.files()
            .read_credentials(profile)
            .unwrap()
            .unwrap_or_else(|| panic!("the profile {profile} should have credentials"))
    }

    /// Makes `profile`'s credentials look as if they end in `left` (editing the file as a
    /// person would), so `credential-process` must renew them.
    pub(crate) fn expire_in(&self, profile: &str, left: Duration) {
        let path = self.sandbox.aws_credentials_file();
        let text = std::fs::read_to_string(&path).unwrap();
        let expires = rfc3339(rolecall_core::clock::SystemClock.now() + left);
        let mut in_profile = false;
        let mut edited = 0;
        let lines: Vec<String> = text
            .split_inclusive('\n')
            .map(|line| {
                let content = line.trim_end_matches(['\r', '\n']);
                if content.starts_with('[') {
                    in_profile = content == format!("[{profile}]");
                }
                if in_profile && content.starts_with("x_security_token_expires") {
                    edited += 1;
                    format!(
                        "x_security_token_expires = {expires}{}",
                        &line[content.len()..]
                    )
                } else {
                    line.to_owned()
                }
            })
            .collect();
        assert_eq!(edited, 1, "one expiration line in [{profile}]:\n{text}");
        std::fs::write(&path, lines.concat()).unwrap();
    }
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `key = value` lines of the section headed `header`, read without Rolecall's parser.
fn section(text: &str, header: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            keys.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    keys
}

fn value<'a>(keys: &'a [(String, String)], key: &str) -> &'a str {
    keys.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {keys:?}"))
}

pub(crate) fn caller_arn(output: &Output) -> String {
    assert!(
        output.status.success(),
        "aws sts get-caller-identity should succeed: {output:?}"
    );
    let identity: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    identity["Arn"]
        .as_str()
        .unwrap_or_else(|| panic!("an Arn in {identity}"))
        .to_owned()
}

async fn start_moto(world: &World) -> Moto {
    tokio::task::block_in_place(|| Moto::start(&world.sandbox))
}

/// `rolecall login` through moto's STS writes a profile the AWS CLI signs real calls with, and
/// leaves every byte of a hand-written file that is not Rolecall's where it was.
#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_calls_sts_with_the_profile_rolecall_wrote() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    std::fs::write(world.sandbox.aws_credentials_file(), HANDMADE_CREDENTIALS).unwrap();
    std::fs::write(world.sandbox.aws_config_file(), HANDMADE_CONFIG).unwrap();

    let role = format!("{ACCOUNT}/{ROLE}");
    let args = [
        "--role",
        &role,
        "--profile",
        "work",
        "--region",
        "eu-west-1",
    ];
    let login = world.login(&sim, "solo", &args).await;
    assert!(login.status.success(), "login through moto: {login:?}");

    let credentials = world.credentials_text();
    assert!(
        credentials.starts_with(HANDMADE_CREDENTIALS),
        "the hand-written part stays byte for byte:\n{credentials:?}"
    );
    let work = section(&credentials, "[work]");
    let keys: Vec<&str> = work.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "x_security_token_expires",
            "x_principal_arn",
        ],
        "exactly Rolecall's keys in [work]:\n{credentials}"
    );
    let expires = value(&work, "x_security_token_expires");
    assert!(
        expires.ends_with('Z') && OffsetDateTime::parse(expires, &Rfc3339).is_ok(),
        "the expiration is RFC 3339 in UTC: {expires}"
    );
    let principal = value(&work, "x_principal_arn").to_owned();
    assert!(
        principal.ends_with(&format!(":assumed-role/{ROLE}/solo@corp.example")),
        "x_principal_arn is the assumed-role ARN moto returned: {principal}"
    );
    let rest = &credentials[HANDMADE_CREDENTIALS.len()..];
    assert!(
        rest.split_inclusive('\n')
            .all(|line| line.ends_with("\r\n")),
        "the new section follows the file's CRLF line endings: {rest:?}"
    );

    let config = world.config_text();
    assert!(
        config.starts_with(HANDMADE_CONFIG),
        "the hand-written config stays byte for byte:\n{config:?}"
    );
    assert_eq!(
        section(&config, "[profile work]"),
        [("region".to_owned(), "eu-west-1".to_owned())],
        "{config}"
    );

    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "work",
                "--output",
                "json",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    let arn = caller_arn(&identity);
    assert_eq!(
        arn, principal,
        "moto recognised the keys Rolecall wrote as the assumed role"
    );

    let other = world
        .aws(&["configure", "get", "region", "--profile", "other"], &[])
        .await;
    assert!(other.status.success(), "{other:?}");
    assert_eq!(text(&other.stdout).trim(), "ap-south-1");
    let other_key = world
        .aws(
            &[
                "configure",
                "get",
                "aws_access_key_id",
                "--profile",
                "other",
            ],
            &[],
        )
        .await;
    assert_eq!(text(&other_key.stdout).trim(), "AKIAOTHEREXAMPLE0001");

    // A second login updates [work] in place: still nothing else moves.
    let before = world.stored("work");
    let again = world.login(&sim, "solo", &args).await;
    assert!(again.status.success(), "{again:?}");
    let after = world.stored("work");
    assert_ne!(
        before.access_key_id, after.access_key_id,
        "new keys were written"
    );
    let credentials = world.credentials_text();
    assert!(
        credentials.starts_with(HANDMADE_CREDENTIALS),
        "{credentials:?}"
    );
    assert_eq!(
        credentials.matches("[work]").count(),
        1,
        "updated in place, not appended again:\n{credentials}"
    );
    assert_eq!(
        world.config_text(),
        config,
        "the config already said all that"
    );
    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "work",
                "--output",
                "json",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert_eq!(caller_arn(&identity), principal);
}

/// The AWS CLI runs `rolecall credential-process` for a `credential_process` profile and signs
/// with what it prints; for a profile Rolecall does not manage, the CLI shows Rolecall's line.
#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_runs_rolecall_as_its_credential_process() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    let role = format!("{ACCOUNT}/{ROLE}");
    let login = world
        .login(
            &sim,
            "solo",
            &[
                "--role",
                &role,
                "--profile",
                "work",
                "--region",
                "eu-west-1",
            ],
        )
        .await;
    assert!(login.status.success(), "{login:?}");
    let principal = world.stored("work").principal_arn.unwrap();

    let binary = rolecall_binary();
    let mut config = world.config_text();
    config.push_str(&format!(
        "[profile cp]\ncredential_process = {} credential-process --profile work\n\
         region = eu-west-1\n\n\
         [profile stranger]\ncredential_process = {} credential-process --profile nobody\n\
         region = eu-west-1\n",
        binary.display(),
        binary.display()
    ));
    std::fs::write(world.sandbox.aws_config_file(), config).unwrap();
    let credentials_before = world.credentials_text();

    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "cp",
                "--output",
                "json",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert_eq!(
        caller_arn(&identity),
        principal,
        "the CLI signed with the keys credential-process served"
    );
    assert_eq!(
        world.credentials_text(),
        credentials_before,
        "an hour left: served from the file, nothing renewed"
    );

    let refused = world
        .aws(
            &["sts", "get-caller-identity", "--profile", "stranger"],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert!(!refused.status.success(), "{refused:?}");
    let message = text(&refused.stderr);
    assert!(
        message.contains("The profile \"nobody\" is not one Rolecall manages")
            && message.contains("rolecall login --role ... --profile nobody"),
        "the AWS CLI shows Rolecall's message: {message}"
    );
}

/// Near its end, `credential-process` renews a profile silently through the IdP's SSO session
/// kept in the keyring; once that session is over (and no password is stored) it says, on one
/// line, to sign in from the tray, and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn credential_process_renews_through_the_sso_session_until_it_ends() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let service = tokio::task::block_in_place(|| SecretService::start(&world.sandbox, "pw"));
    for (key, value) in service.env() {
        world.set(key, value);
    }
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    let role = format!("{ACCOUNT}/{ROLE}");
    let login = world
        .login(&sim, "solo", &["--role", &role, "--profile", "work"])
        .await;
    assert!(login.status.success(), "{login:?}");
    let first = world.stored("work");

    world.expire_in("work", Duration::minutes(5));
    let renewed = world
        .rolecall(&["credential-process", "--profile", "work"], &[])
        .await;
    assert!(renewed.status.success(), "silent renewal: {renewed:?}");
    assert!(
        renewed.stderr.is_empty(),
        "quiet: {}",
        text(&renewed.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&renewed.stdout).unwrap();
    assert_eq!(json["Version"], 1);
    let key = json["AccessKeyId"].as_str().unwrap();
    assert_ne!(key, first.access_key_id, "new credentials from STS");
    let expiration = OffsetDateTime::parse(json["Expiration"].as_str().unwrap(), &Rfc3339).unwrap();
    let now = rolecall_core::clock::SystemClock.now();
    assert!(
        expiration > now + Duration::minutes(50) && expiration <= now + Duration::minutes(61),
        "about an hour ahead: {expiration}"
    );
    assert_eq!(world.stored("work").access_key_id, key, "and written");
    assert_eq!(
        sim.stats().form_posts,
        1,
        "no password post: the SSO session"
    );
    assert_eq!(sim.stats().assertions_issued, 2);

    // The SSO session ends after 8 hours; no password is stored.
    world.expire_in("work", Duration::minutes(5));
    let before = world.credentials_text();
    sim.advance_clock(std::time::Duration::from_secs(9 * 60 * 60));
    let refused = world
        .rolecall(&["credential-process", "--profile", "work"], &[])
        .await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(refused.stdout.is_empty(), "no credentials printed");
    let message = text(&refused.stderr);
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(
        message.contains("sign in from the Rolecall tray"),
        "says what to do: {message}"
    );
    assert_eq!(world.credentials_text(), before, "nothing changed");
}

/// Eight `credential-process` callers at once on credentials near their end (a shell loop,
/// Terraform's parallel providers) all get fresh credentials from one AssumeRoleWithSAML.
/// The simulator's STS stands in for moto here because its calls can be counted.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_credential_processes_share_one_renewal() {
    const CALLERS: usize = 8;
    let sim = demo_sim().await;
    let mut world = World::new();
    let service = tokio::task::block_in_place(|| SecretService::start(&world.sandbox, "pw"));
    for (key, value) in service.env() {
        world.set(key, value);
    }
    world.set("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str());
    let login = world
        .login(
            &sim,
            "alice",
            &["--role", "corp-prod/ReadOnly", "--profile", "work"],
        )
        .await;
    assert!(login.status.success(), "{login:?}");
    assert_eq!(sim.issued_credentials().len(), 1);
    let login_key = world.stored("work").access_key_id;
    world.expire_in("work", Duration::minutes(5));

    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CALLERS));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let mut command = world.command(
                rolecall_binary(),
                &["credential-process", "--profile", "work"],
            );
            let barrier = std::sync::Arc::clone(&barrier);
            tokio::task::spawn_blocking(move || {
                barrier.wait();
                command.output().unwrap()
            })
        })
        .collect();
    let mut keys = Vec::new();
    for caller in callers {
        let output = caller.await.unwrap();
        assert!(
            output.status.success(),
            "every caller is served: {output:?}"
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        keys.push(json["AccessKeyId"].as_str().unwrap().to_owned());
    }
    let issued = sim.issued_credentials();
    assert_eq!(
        issued.len(),
        2,
        "one AssumeRoleWithSAML for all {CALLERS} callers (plus the login's)"
    );
    assert_eq!(sim.stats().assertions_issued, 2, "and one sign-in");
    assert!(
        keys.iter().all(|key| *key == keys[0]) && keys[0] != login_key,
        "all callers got the same renewed credentials: {keys:?}"
    );
    assert!(issued.iter().any(|c| c.access_key_id == keys[0]));
    assert_eq!(
        world.stored("work").access_key_id,
        keys[0],
        "and they are in the file"
    );
}

/// aws-sdk-rust's profile loader, given the sandbox's two files and nothing of the process
/// environment, reads every profile Rolecall wrote exactly as Rolecall's own reader does, also
/// where a hand-made file repeats a section (the SDK merges, last wins; Rolecall updated the
/// last copy).
#[tokio::test(flavor = "multi_thread")]
async fn aws_sdk_rust_reads_the_profiles_as_rolecall_does() {
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_types::os_shim_internal::{Env, Fs};

    let sim = demo_sim().await;
    let mut world = World::new();
    world.set("AWS_ENDPOINT_URL_STS", sim.sts_url().as_str());
    std::fs::write(
        world.sandbox.aws_credentials_file(),
        "[twice]\nnote = from the first copy\n\n[other]\naws_access_key_id = AKIAOTHEREXAMPLE0001\n\
         aws_secret_access_key = other\n\n[twice]\n# the second copy\nextra = kept\n",
    )
    .unwrap();
    let one = world
        .login(
            &sim,
            "alice",
            &[
                "--role",
                "corp-prod/Admin",
                "--profile",
                "twice",
                "--region",
                "eu-central-1",
            ],
        )
        .await;
    assert!(one.status.success(), "{one:?}");
    assert!(
        text(&one.stderr).contains("appears more than once"),
        "Rolecall warns about the repeated section: {one:?}"
    );
    let all = world.login(&sim, "alice", &["--all-roles"]).await;
    assert!(all.status.success(), "{all:?}");

    let files = world.files();
    let profile_files = EnvConfigFiles::builder()
        .with_file(
            EnvConfigFileKind::Credentials,
            world.sandbox.aws_credentials_file(),
        )
        .with_file(EnvConfigFileKind::Config, world.sandbox.aws_config_file())
        .build();
    let set = aws_config::profile::load(&Fs::real(), &Env::from_slice(&[]), &profile_files, None)
        .await
        .unwrap();
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    let expected = [
        "777788889999-SecurityAudit",
        "corp-prod-Admin",
        "corp-prod-ReadOnly",
        "corp-staging-Admin",
        "corp-staging-Developer",
        "other",
        "twice",
    ];
    assert_eq!(names, expected, "the SDK sees every profile");

    for name in expected.into_iter().filter(|name| *name != "other") {
        let ours = world.stored(name);
        let profile = set.get_profile(name).unwrap();
        assert_eq!(
            profile.get("aws_access_key_id"),
            Some(ours.access_key_id.as_str()),
            "{name}"
        );
        assert_eq!(
            profile.get("aws_secret_access_key"),
            Some(ours.secret_access_key.expose().as_str()),
            "{name}"
        );
        assert_eq!(
            profile.get("aws_session_token"),
            ours.session_token.as_ref().map(|t| t.expose().as_str()),
            "{name}"
        );
        assert_eq!(
            profile.get("x_security_token_expires"),
            ours.expiration.map(rfc3339).as_deref(),
            "{name}"
        );
        assert_eq!(
            profile.get("x_principal_arn"),
            ours.principal_arn.as_deref(),
            "{name}"
        );
    }
    let twice = set.get_profile("twice").unwrap();
    assert_eq!(twice.get("note"), Some("from the first copy"), "merged");
    assert_eq!(twice.get("extra"), Some("kept"));
    let credentials = std::fs::read_to_string(world.sandbox.aws_credentials_file()).unwrap();
    let second = credentials.rfind("# the second copy").unwrap();
    assert!(
        credentials[second..].contains(&world.stored("twice").access_key_id),
        "Rolecall wrote the last copy, which wins: {credentials}"
    );
    assert_eq!(
        set.get_profile("twice").and_then(|p| p.get("region")),
        Some("eu-central-1"),
        "the config file's region"
    );
    assert_eq!(
        files
            .read_credentials("other")
            .unwrap()
            .unwrap()
            .access_key_id,
        "AKIAOTHEREXAMPLE0001"
    );
}

/// `rolecall status` answers from the files after a real login: the table, JSON and a prompt
/// template; and the bash completions Rolecall prints complete that profile's name in a real
/// bash, from the registry as it is now.
#[tokio::test(flavor = "multi_thread")]
async fn status_and_completions_know_the_profiles_rolecall_wrote() {
    let sim = demo_sim().await;
    let mut world = World::new();
    world.set("AWS_ENDPOINT_URL_STS", sim.sts_url().to_string());
    let login = world
        .login(
            &sim,
            "alice",
            &["--role", "111122223333/Admin", "--profile", "prod-admin"],
        )
        .await;
    assert!(login.status.success(), "{login:?}");

    let table = world.rolecall(&["status"], &[]).await;
    assert!(table.status.success(), "{table:?}");
    let table = text(&table.stdout);
    let row = table
        .lines()
        .find(|line| line.contains("prod-admin"))
        .unwrap_or_else(|| panic!("the profile is listed: {table}"));
    assert!(
        row.contains("Admin") && row.contains("111122223333"),
        "{row}"
    );

    let json = world.rolecall(&["status", "--json"], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let line = &json["profiles"][0];
    assert_eq!(line["profile"], "prod-admin", "{json}");
    assert_eq!(line["state"], "valid", "{json}");
    assert!(line["seconds_left"].as_i64().unwrap() > 0, "{json}");

    world.expire_in("prod-admin", Duration::minutes(5));
    let prompt = world
        .rolecall(
            &[
                "status",
                "--profile",
                "prod-admin",
                "--format",
                "{profile} {state} {left}",
            ],
            &[],
        )
        .await;
    let prompt = text(&prompt.stdout);
    assert!(
        prompt == "prod-admin expiring 4m\n" || prompt == "prod-admin expiring 5m\n",
        "{prompt:?}"
    );
    let unknown = world
        .rolecall(
            &["status", "--profile", "nobody", "--format", "{profile}"],
            &[],
        )
        .await;
    assert!(
        unknown.status.success() && unknown.stdout.is_empty(),
        "{unknown:?}"
    );

    // What a person puts in ~/.bashrc, then a Tab after `--profile prod-`.
    let script = world.rolecall(&["completions", "bash"], &[]).await;
    assert!(script.status.success(), "{script:?}");
    let registration = world.sandbox.root().join("rolecall.bash");
    std::fs::write(&registration, &script.stdout).unwrap();
    let completed = world
        .run(
            "bash",
            &[
                "-c",
                &format!(
                    "source '{}' && COMP_WORDS=(rolecall status --profile prod-) && \
                     COMP_CWORD=3 && COMP_TYPE=9 && _clap_complete_rolecall rolecall prod- status \
                     && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                    registration.display()
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(
        text(&completed.stdout).trim(),
        "prod-admin",
        "{completed:?}"
    );
}

// ---- Chained roles ------------------------------------------------------------------------------

/// The hops after the `solo` user's one role, in accounts moto has never seen (its AssumeRole
/// accepts any role and keeps the session in the role's account).
const TRANSIT: &str = "arn:aws:iam::222222222222:role/Transit";
const DEPLOY: &str = "arn:aws:iam::333333333333:role/Deploy";

/// `rolecall login --role … --chain … --chain …` through moto's STS (AssumeRoleWithSAML, then
/// two AssumeRole calls each signed with the session before): the AWS CLI is the last role with
/// the profile Rolecall wrote, for at most an hour, and `credential-process` renews it as the
/// chain.
#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_is_the_last_role_of_a_chain_rolecall_wrote() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let service = tokio::task::block_in_place(|| SecretService::start(&world.sandbox, "pw"));
    for (key, value) in service.env() {
        world.set(key, value);
    }
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    let role = format!("{ACCOUNT}/{ROLE}");
    let args = [
        "--role",
        &role,
        "--chain",
        TRANSIT,
        "--chain",
        DEPLOY,
        "--external-id",
        "corp-42",
        "--profile",
        "spoke",
        "--region",
        "eu-west-1",
    ];
    let login = world.login(&sim, "solo", &args).await;
    assert!(login.status.success(), "chained login: {login:?}");
    assert!(
        text(&login.stdout).contains(&format!("→ {TRANSIT} → {DEPLOY}")),
        "the login says which roles it went through: {}",
        text(&login.stdout)
    );

    let spoke = section(&world.credentials_text(), "[spoke]");
    let expected = "arn:aws:sts::333333333333:assumed-role/Deploy/solo@corp.example";
    assert_eq!(value(&spoke, "x_principal_arn"), expected);
    let expires = OffsetDateTime::parse(value(&spoke, "x_security_token_expires"), &Rfc3339)
        .expect("an RFC 3339 expiry");
    let now = rolecall_core::clock::SystemClock.now();
    assert!(
        expires <= now + Duration::hours(1) && expires > now + Duration::minutes(50),
        "a chained session lasts at most an hour: {expires}"
    );
    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "spoke",
                "--output",
                "json",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert_eq!(
        caller_arn(&identity),
        expected,
        "moto knows the keys Rolecall wrote as the last hop's"
    );

    // Near its end, the profile is renewed as the chain, from a new sign-in.
    let first = world.stored("spoke");
    world.expire_in("spoke", Duration::minutes(5));
    let renewed = world
        .rolecall(&["credential-process", "--profile", "spoke"], &[])
        .await;
    assert!(renewed.status.success(), "renewal: {renewed:?}");
    let json: serde_json::Value = serde_json::from_slice(&renewed.stdout).unwrap();
    assert_ne!(
        json["AccessKeyId"].as_str(),
        Some(first.access_key_id.as_str())
    );
    assert_eq!(
        sim.stats().assertions_issued,
        2,
        "a new sign-in for the renewal"
    );
    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "spoke",
                "--output",
                "json",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert_eq!(caller_arn(&identity), expected, "renewed as the last hop");
}

/// `--chain` starts from exactly one role, and its values are checked before anyone signs in
/// or STS is called.
#[tokio::test(flavor = "multi_thread")]
async fn a_chain_needs_one_role_and_role_arns() {
    let sim = demo_sim().await;
    let world = World::new();
    let two = world
        .login(
            &sim,
            "alice",
            &[
                "--role",
                "111122223333/Admin",
                "--role",
                "111122223333/ReadOnly",
                "--chain",
                TRANSIT,
            ],
        )
        .await;
    assert_eq!(two.status.code(), Some(2), "{two:?}");
    assert!(
        text(&two.stderr).contains("give exactly one --role"),
        "{}",
        text(&two.stderr)
    );
    let bad = world
        .login(
            &sim,
            "alice",
            &[
                "--role",
                "111122223333/Admin",
                "--chain",
                "222222222222/Transit",
            ],
        )
        .await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(
        text(&bad.stderr).contains("is not an IAM role ARN"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(
        (sim.stats().form_posts, sim.stats().sts_calls),
        (0, 0),
        "nobody signed in, STS never called"
    );
    let help = world.rolecall(&["login", "--help"], &[]).await;
    assert!(
        text(&help.stdout)
            .contains("--chain arn:aws:iam::222222222222:role/Deploy --profile spoke"),
        "the help shows an example: {}",
        text(&help.stdout)
    );
}

// ---- Coming from another tool -------------------------------------------------------------------

/// A saml2aws user's `~/.saml2aws` (its IdP account pointing at the simulator's AD FS): `rolecall
/// import saml2aws` shows the plan and saves nothing, `--apply` saves the endpoint, and the
/// login line the plan suggests writes the profile saml2aws used, which the AWS CLI then uses.
#[tokio::test(flavor = "multi_thread")]
async fn a_saml2aws_account_is_imported_and_its_suggested_login_writes_the_same_profile() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    let url = sim.sign_on_url();
    let base = format!("{}://{}", url.scheme(), url.authority());
    std::fs::write(
        world.sandbox.home().join(".saml2aws"),
        format!(
            "[corp]\nname = corp\nurl = {base}\nusername = solo\nprovider = ADFS\nmfa = Auto\n\
             skip_verify = false\naws_urn = urn:amazon:webservices\naws_profile = saml\n\
             role_arn = arn:aws:iam::{ACCOUNT}:role/{ROLE}\nregion = eu-west-1\n\n\
             [okta]\nurl = https://corp.okta.example/home/amazon_aws/0oa1/272\nprovider = Okta\n\n\
             [azure]\nurl = https://account.activedirectory.windowsazure.com\nprovider = AzureAD\n"
        ),
    )
    .unwrap();

    let dry = world.rolecall(&["import", "saml2aws"], &[]).await;
    assert!(dry.status.success(), "{dry:?}");
    let plan = text(&dry.stdout);
    assert!(plan.contains("+ corp → endpoint \"corp\""), "{plan}");
    assert!(plan.contains("+ okta → endpoint \"okta\""), "{plan}");
    assert!(plan.contains("- azure: not imported."), "{plan}");
    assert!(plan.contains("rolecall import saml2aws --apply"), "{plan}");
    let listed = world.rolecall(&["endpoint", "list"], &[]).await;
    assert!(
        text(&listed.stdout).starts_with("No endpoints yet."),
        "the dry run saved nothing: {listed:?}"
    );

    let applied = world
        .rolecall(&["import", "saml2aws", "--apply"], &[])
        .await;
    assert!(applied.status.success(), "{applied:?}");
    assert!(
        text(&applied.stdout).contains("Saved endpoints \"corp\", \"okta\"."),
        "{applied:?}"
    );
    let again = world.rolecall(&["import", "saml2aws"], &[]).await;
    assert!(
        text(&again.stdout).contains("= corp: already in Rolecall as endpoint \"corp\""),
        "{again:?}"
    );

    let suggested = plan
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("To have the same profile: rolecall ")
        })
        .unwrap_or_else(|| panic!("the plan says how to get the profile: {plan}"))
        .to_owned();
    let words: Vec<&str> = suggested.split(' ').collect();
    let login = world
        .rolecall(&words, &[("ROLECALL_PASSWORD", DEMO_PASSWORD)])
        .await;
    assert!(login.status.success(), "{suggested}: {login:?}");
    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "saml",
                "--region",
                "eu-west-1",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert!(
        caller_arn(&identity).contains(ROLE),
        "the profile saml2aws wrote is Rolecall's now: {identity:?}"
    );
}

/// An aws-adfs user's AWS config (two profiles on one AD FS host behind a company CA, with its
/// `adfs_config.*` keys): one endpoint is imported with that CA, and the suggested login writes
/// the profile in place, leaving aws-adfs's keys as they were.
#[tokio::test(flavor = "multi_thread")]
async fn aws_adfs_profiles_are_imported_as_one_endpoint_and_keep_their_keys() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    // aws-adfs speaks https only; the company's CA comes with it (adfs_ca_bundle).
    let certificates = rolecall_tests::tls::certificates(world.sandbox.root());
    let front =
        rolecall_tests::tls::TlsFront::start(&certificates, sim.sign_on_url().port().unwrap());
    let host = front.url("").trim_start_matches("https://").to_owned();
    let ca = certificates.ca.display().to_string();
    let config = format!(
        "[profile dev]\nregion = eu-west-1\noutput = json\n\
         adfs_config.ssl_verification = True\n\
         adfs_config.role_arn = arn:aws:iam::{ACCOUNT}:role/{ROLE}\n\
         adfs_config.adfs_host = {host}\nadfs_config.session_duration = 3600\n\
         adfs_config.provider_id = urn:amazon:webservices\nadfs_config.sspi = False\n\
         adfs_config.adfs_user = solo\nadfs_config.adfs_ca_bundle = {ca}\n\n\
         [profile ops]\nadfs_config.role_arn = arn:aws:iam::{ACCOUNT}:role/Ops\n\
         adfs_config.adfs_host = {host}\nadfs_config.adfs_user = solo\n"
    );
    std::fs::write(world.sandbox.aws_config_file(), &config).unwrap();

    let applied = world
        .rolecall(&["import", "aws-adfs", "--apply"], &[])
        .await;
    assert!(applied.status.success(), "{applied:?}");
    let plan = text(&applied.stdout);
    assert!(
        plan.contains("+ dev, ops → endpoint \"localhost\""),
        "{plan}"
    );
    assert!(plan.contains("Saved endpoint \"localhost\"."), "{plan}");

    let settings =
        std::fs::read_to_string(world.sandbox.config_dir().join("settings.toml")).unwrap();
    assert!(
        settings.contains(&format!("ca_file = \"{ca}\"")),
        "the CA bundle aws-adfs trusted comes along: {settings}"
    );
    // The simulator redirects to its own plain-http address, which the TLS front does not
    // cover: from here on the endpoint talks to the simulator itself.
    let direct = world
        .rolecall(
            &[
                "endpoint",
                "edit",
                "localhost",
                "--url",
                sim.sign_on_url().as_str(),
            ],
            &[],
        )
        .await;
    assert!(direct.status.success(), "{direct:?}");

    let suggested = plan
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("To have the same profile: rolecall ")
        })
        .filter(|line| line.ends_with("--profile dev"))
        .unwrap_or_else(|| panic!("the plan says how to get the dev profile: {plan}"))
        .to_owned();
    let words: Vec<&str> = suggested.split(' ').collect();
    let login = world
        .rolecall(&words, &[("ROLECALL_PASSWORD", DEMO_PASSWORD)])
        .await;
    assert!(login.status.success(), "{suggested}: {login:?}");
    assert!(
        world.config_text().starts_with(&config),
        "aws-adfs's keys stay byte for byte:\n{}",
        world.config_text()
    );
    let identity = world
        .aws(
            &["sts", "get-caller-identity", "--profile", "dev"],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert!(caller_arn(&identity).contains(ROLE), "{identity:?}");
}

/// The last resort: a SAMLResponse the person copied from the browser's developer tools goes
/// through `rolecall login --saml-response-file` without a sign-in to the IdP, and the profile
/// it writes is one the AWS CLI signs real calls with. What is not a SAML response is refused
/// with what to copy instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_copied_saml_response_writes_a_profile_the_aws_cli_uses() {
    let sim = solo_sim().await;
    let mut world = World::new();
    let moto = start_moto(&world).await;
    world.set("AWS_ENDPOINT_URL_STS", moto.url());
    // What the browser posted to AWS, as the developer tools show it.
    let copied = crate::webview::saml_response_of(&sim, "solo", "").await;
    let file = world.sandbox.home().join("saml-response.txt");
    std::fs::write(&file, format!("{copied}\n")).unwrap();
    let signed_in_before = sim.stats().form_posts;

    let url = sim.sign_on_url().to_string();
    let file_arg = file.to_string_lossy().into_owned();
    let role = format!("{ACCOUNT}/{ROLE}");
    let login = world
        .rolecall(
            &[
                "login",
                "--url",
                &url,
                "--saml-response-file",
                &file_arg,
                "--role",
                &role,
                "--profile",
                "copied",
                "--region",
                "eu-west-1",
            ],
            &[],
        )
        .await;
    assert!(
        login.status.success(),
        "login with the copied response: {login:?}"
    );
    assert!(
        text(&login.stdout).starts_with(&format!("copied: arn:aws:iam::{ACCOUNT}:role/{ROLE}")),
        "says what it wrote: {}",
        text(&login.stdout)
    );
    assert_eq!(
        sim.stats().form_posts,
        signed_in_before,
        "Rolecall did not sign in to the IdP"
    );
    let identity = world
        .aws(
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "copied",
                "--output",
                "json",
            ],
            &[("AWS_ENDPOINT_URL", moto.url())],
        )
        .await;
    assert!(
        caller_arn(&identity).ends_with(&format!(":assumed-role/{ROLE}/solo@corp.example")),
        "the AWS CLI calls as the role of the copied response: {identity:?}"
    );

    std::fs::write(&file, "<html>the page, not the SAMLResponse</html>").unwrap();
    let refused = world
        .rolecall(
            &[
                "login",
                "--url",
                &url,
                "--saml-response-file",
                &file_arg,
                "--role",
                &role,
                "--profile",
                "copied",
            ],
            &[],
        )
        .await;
    let said = text(&refused.stderr);
    assert!(
        !refused.status.success()
            && said.contains("not a SAML response")
            && said.contains("SAMLResponse value"),
        "what is not a SAML response is refused saying what to copy: {said}"
    );
}
