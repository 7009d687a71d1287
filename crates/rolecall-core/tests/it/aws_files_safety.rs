//! The AWS files under stress: several Rolecall processes writing the same credentials file at
//! once while the AWS CLI's `aws configure set` (which takes no lock and rewrites the file in
//! place) edits it too, and a writer killed with SIGKILL in the middle of replacing a 5 MB file.
//!
//! The writers are this same test binary, re-run with `--exact <child test>` and marker
//! variables (the pattern of `keyring.rs`); the child tests are `#[ignore]`d and return at once
//! unless `ROLECALL_SAFETY_CHILD` is set. Nothing here depends on timing to pass: whatever the
//! interleaving, the checks must hold.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use rolecall_core::aws_files::{AwsFiles, Credentials, ProfileWrite};
use rolecall_core::secrets::Sensitive;
use rolecall_tests::Sandbox;

const CHILD: &str = "ROLECALL_SAFETY_CHILD";
/// Printed by a child when it has checked everything, so the parent knows it really ran.
const DONE: &str = "safety child: all checks passed";

const WRITERS: usize = 4;
const WRITES: usize = 50;
/// The iteration number of each writer's last write, after the CLI is done.
const FINAL: usize = 99_999;
/// A bound on the writes of one writer beside a slow CLI.
const MAX_WRITES: usize = 20_000;
/// At least this many `aws configure set` profiles run beside the writers.
const MIN_HANDMADE: usize = 6;
/// At most this many `aws configure set` profiles, so the test ends on a slow machine too.
const MAX_HANDMADE: usize = 30;

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn child_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent sets {name}"))
}

fn files_from_env() -> AwsFiles {
    AwsFiles::new(
        child_var("AWS_SHARED_CREDENTIALS_FILE"),
        child_var("AWS_CONFIG_FILE"),
    )
}

/// Starts `test` of this binary in a child process with the sandbox's environment plus `env`.
/// The child is the test binary itself (no `timeout` wrapper), so killing it kills the writer;
/// every child loop is bounded on its own.
fn spawn_child(sandbox: &Sandbox, test: &str, env: &[(&str, OsString)]) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("the test binary's path: {err}"));
    sandbox
        .command(exe)
        .args(["--exact", test, "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("re-running the test binary: {err}"))
}

/// Waits for a child started by [`spawn_child`]; its output, after checking it ran and passed.
fn finish_child(child: Child, test: &str) -> String {
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && text.contains(DONE) && text.contains("1 passed"),
        "the child test {test} should have run and passed ({}):\n{text}",
        output.status
    );
    text
}

fn writer_key(writer: usize, profile: char, iteration: usize) -> String {
    format!("ASIAWRITER{writer}{profile}{iteration:05}")
}

fn writer_profile(writer: usize, profile: char) -> String {
    format!("writer-{writer}-{profile}")
}

fn writer_region(writer: usize) -> String {
    format!("eu-west-{writer}")
}

fn handmade_key(n: usize) -> String {
    format!("AKIAHANDMADE{n:08}")
}

fn handmade_region(n: usize) -> String {
    format!("us-handmade-{n}")
}

fn write_of(writer: usize, profile: char, iteration: usize) -> ProfileWrite {
    let key = writer_key(writer, profile, iteration);
    ProfileWrite {
        name: writer_profile(writer, profile),
        credentials: Credentials {
            access_key_id: key.clone(),
            secret_access_key: Sensitive::new(format!("secret-{key}")),
            session_token: Sensitive::new(format!("token-{key}-{}", "x".repeat(300))),
            expiration: rolecall_core::clock::SystemClock.now() + time::Duration::hours(1),
            principal_arn: Some(format!(
                "arn:aws:sts::111122223333:assumed-role/Writer{writer}/w@corp.example"
            )),
        },
        region: Some(writer_region(writer)),
        output: Some("json".to_owned()),
        // These writers stand for Rolecall rewriting its own profiles.
        registered: true,
    }
}

/// Both files as botocore (the AWS CLI) parses them: it refuses repeated sections, so this is
/// also the check that the files are still valid for the CLI.
fn botocore_view(sandbox: &Sandbox) -> serde_json::Value {
    const SCRIPT: &str = "import json, os\n\
import botocore.configloader as c\n\
print(json.dumps({\n\
    'credentials': c.raw_config_parse(os.environ['AWS_SHARED_CREDENTIALS_FILE']),\n\
    'config': c.load_config(os.environ['AWS_CONFIG_FILE'])['profiles'],\n\
}))\n";
    let output = sandbox
        .command("python3")
        .args(["-c", SCRIPT])
        .output()
        .expect("python3 with botocore (the venv of scripts/setup first on PATH)");
    assert!(
        output.status.success(),
        "botocore should parse both files: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn aws_configure_set(sandbox: &Sandbox, key: &str, value: &str, profile: &str) {
    let output = sandbox
        .command("aws")
        .args(["configure", "set", key, value, "--profile", profile])
        .stdin(Stdio::null())
        .output()
        .expect("the AWS CLI (the venv of scripts/setup first on PATH)");
    assert!(
        output.status.success(),
        "aws configure set {key} --profile {profile}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn marker(sandbox: &Sandbox, name: &str) -> PathBuf {
    sandbox.root().join(format!("marker-{name}"))
}

/// The sum of a figure the children printed (`safety child: <what>=<n>`): `writes`, or
/// `reverts` (how often a writer found its own last write undone).
fn sum_of(outputs: &[String], what: &str) -> usize {
    let prefix = format!("safety child: {what}=");
    outputs
        .iter()
        .flat_map(|text| text.lines())
        // libtest may print `test <name> ... ` before the child's own first line.
        .filter_map(|line| Some(&line[line.find(prefix.as_str())? + prefix.len()..]))
        .map(|count| count.trim().parse::<usize>().unwrap())
        .sum()
}

/// Runs the writers, with or without an `aws configure set` loop beside them; returns the
/// number of `aws configure set` profiles written and the children's outputs.
fn run_writers(sandbox: &Sandbox, with_aws: bool) -> (usize, Vec<String>) {
    // A hand-written start, so every write has something of someone else's to keep.
    std::fs::write(
        sandbox.aws_credentials_file(),
        "# mine\n[default]\naws_access_key_id = AKIADEFAULTEXAMPLE01\naws_secret_access_key = d\n",
    )
    .unwrap();
    std::fs::write(
        sandbox.aws_config_file(),
        "[default]\nregion = eu-north-1\n",
    )
    .unwrap();
    if !with_aws {
        std::fs::write(marker(sandbox, "aws-done"), "").unwrap();
    }
    let test = "aws_files_safety::child_writes_its_profiles";
    let children: Vec<Child> = (0..WRITERS)
        .map(|writer| {
            spawn_child(
                sandbox,
                test,
                &[
                    ("SAFETY_WRITER", writer.to_string().into()),
                    ("SAFETY_STRICT", if with_aws { "0" } else { "1" }.into()),
                    ("SAFETY_MARKERS", sandbox.root().into()),
                ],
            )
        })
        .collect();

    let mut handmade = 0;
    if with_aws {
        let looped = |sandbox: &Sandbox| {
            (0..WRITERS).all(|writer| marker(sandbox, &format!("looped-{writer}")).exists())
        };
        // Keep editing until every writer has done its 50 writes (at least MIN_HANDMADE, at
        // most MAX_HANDMADE profiles); the writers go on until this loop is done. The overlap
        // varies from run to run, the checks do not.
        while handmade < MAX_HANDMADE && (handmade < MIN_HANDMADE || !looped(sandbox)) {
            let profile = format!("handmade-{handmade}");
            aws_configure_set(
                sandbox,
                "aws_access_key_id",
                &handmade_key(handmade),
                &profile,
            );
            aws_configure_set(sandbox, "region", &handmade_region(handmade), &profile);
            handmade += 1;
        }
        std::fs::write(marker(sandbox, "aws-done"), "").unwrap();
    }
    let outputs = children
        .into_iter()
        .map(|child| finish_child(child, test))
        .collect();
    (handmade, outputs)
}

fn check_everything_is_there(sandbox: &Sandbox, handmade: usize) {
    let view = botocore_view(sandbox);
    let credentials = &view["credentials"];
    let config = &view["config"];
    let files = AwsFiles::new(sandbox.aws_credentials_file(), sandbox.aws_config_file());
    for writer in 0..WRITERS {
        for profile in ['a', 'b'] {
            let name = writer_profile(writer, profile);
            let key = writer_key(writer, profile, FINAL);
            assert_eq!(
                credentials[&name]["aws_access_key_id"], key,
                "botocore reads {name}'s last write"
            );
            assert_eq!(
                files
                    .read_credentials(&name)
                    .unwrap()
                    .unwrap()
                    .access_key_id,
                key,
                "Rolecall reads {name}'s last write"
            );
            assert_eq!(config[&name]["region"], writer_region(writer), "{name}");
        }
    }
    for n in 0..handmade {
        let name = format!("handmade-{n}");
        assert_eq!(
            credentials[&name]["aws_access_key_id"],
            handmade_key(n),
            "`aws configure set aws_access_key_id` of {name} was kept"
        );
        assert_eq!(
            config[&name]["region"],
            handmade_region(n),
            "`aws configure set region` of {name} was kept"
        );
    }
    assert_eq!(
        credentials["default"]["aws_access_key_id"],
        "AKIADEFAULTEXAMPLE01"
    );
    assert_eq!(config["default"]["region"], "eu-north-1");
    let text = std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap();
    assert!(text.starts_with("# mine\n[default]\n"), "{text}");
}

/// Four Rolecall processes write their own profiles 50 times each into the same files: every
/// write is kept (each writer finds its previous write before the next), nothing else is lost.
#[test]
fn concurrent_rolecall_writers_lose_no_update() {
    let sandbox = Sandbox::new();
    let (_, outputs) = run_writers(&sandbox, false);
    assert_eq!(
        sum_of(&outputs, "reverts"),
        0,
        "no writer ever lost a write"
    );
    check_everything_is_there(&sandbox, 0);
}

/// The same writers while the AWS CLI's `aws configure set` loop edits both files: every value
/// the CLI set is still there at the end, and so is every writer's last write, and both files
/// still parse for botocore.
///
/// `aws configure set` reads the file, then rewrites it in place, with no lock: when a Rolecall
/// write lands between the two, the CLI puts the older content back. No protocol on our side
/// can prevent that, so the children count such reverts (reported, not failed) and write once
/// more after the CLI is done; what Rolecall must never do is undo one of the CLI's edits.
///
/// Regression: an in-place write by the CLI that lands after Rolecall's re-check and before its
/// rename goes into the old inode; Rolecall reads it back from there and redoes its edit on it.
#[test]
fn writers_and_aws_configure_set_lose_no_update() {
    let sandbox = Sandbox::new();
    let (handmade, outputs) = run_writers(&sandbox, true);
    eprintln!(
        "aws configure set wrote {handmade} profiles beside {} Rolecall writes, and undid {} \
         of them",
        sum_of(&outputs, "writes"),
        sum_of(&outputs, "reverts")
    );
    check_everything_is_there(&sandbox, handmade);
}

#[test]
#[ignore = "run by the concurrent writer tests in a child process"]
fn child_writes_its_profiles() {
    if !in_child() {
        return;
    }
    let writer: usize = child_var("SAFETY_WRITER").parse().unwrap();
    let strict = child_var("SAFETY_STRICT") == "1";
    let markers = PathBuf::from(child_var("SAFETY_MARKERS"));
    let files = files_from_env();
    let mut reverts = 0;
    let mut check = |iteration: usize| {
        for profile in ['a', 'b'] {
            let found = files
                .read_credentials(&writer_profile(writer, profile))
                .unwrap()
                .map(|stored| stored.access_key_id);
            if found.as_deref() != Some(writer_key(writer, profile, iteration).as_str()) {
                assert!(
                    !strict,
                    "writer {writer} lost its write {iteration} of {profile}: found {found:?}"
                );
                reverts += 1;
            }
        }
    };
    // At least 50 writes; beside the CLI, on until it is done, so the two really overlap.
    let aws_done = markers.join("marker-aws-done");
    let deadline = rolecall_core::clock::monotonic() + Duration::from_secs(240);
    let mut iteration = 0;
    while iteration < WRITES || !aws_done.exists() {
        assert!(
            rolecall_core::clock::monotonic() < deadline && iteration < MAX_WRITES,
            "writer {writer}: the parent never said the CLI is done"
        );
        if iteration > 0 {
            check(iteration - 1);
        }
        files
            .write_profiles(&[
                write_of(writer, 'a', iteration),
                write_of(writer, 'b', iteration),
            ])
            .unwrap_or_else(|err| panic!("writer {writer}, write {iteration}: {err}"));
        iteration += 1;
        if iteration == WRITES {
            std::fs::write(markers.join(format!("marker-looped-{writer}")), "").unwrap();
        }
    }
    check(iteration - 1);
    // Once more after the CLI is done: it may have put back older content over the last one.
    files
        .write_profiles(&[write_of(writer, 'a', FINAL), write_of(writer, 'b', FINAL)])
        .unwrap_or_else(|err| panic!("writer {writer}, last write: {err}"));
    check(FINAL);
    println!("safety child: writes={}", iteration + 1);
    println!("safety child: reverts={reverts}");
    println!("{DONE}");
}

// --- kill -9 -------------------------------------------------------------------------------

/// Hand-written profiles worth about 5 MB, like a company's many-account credentials file.
fn big_file() -> String {
    let token = "T".repeat(900);
    let mut text = String::from("# thousands of profiles, written by hand\n");
    for n in 0..5_000 {
        text.push_str(&format!(
            "[hand-{n}]\naws_access_key_id = AKIAHAND{n:012}\naws_secret_access_key = s{n}\n\
             aws_session_token = {token}{n}\n\n"
        ));
    }
    text
}

/// The fixed-width values of generation `generation` of the `gen` profile.
fn generation_key(generation: u64) -> String {
    format!("ASIAGEN{generation:013}")
}

fn generation_write(generation: u64) -> ProfileWrite {
    let key = generation_key(generation);
    ProfileWrite {
        name: "gen".to_owned(),
        credentials: Credentials {
            access_key_id: key.clone(),
            secret_access_key: Sensitive::new(format!("secret-{key}")),
            session_token: Sensitive::new(format!("token-{key}")),
            expiration: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            principal_arn: None,
        },
        region: None,
        output: None,
        registered: true,
    }
}

/// Rolecall's temporary files beside `file`.
fn temp_files(file: &Path) -> Vec<PathBuf> {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!(".{name}.rolecall.");
    let mut temps: Vec<PathBuf> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".tmp")
        })
        .collect();
    temps.sort();
    temps
}

/// A tiny deterministic generator, seeded from the clock: kill moments differ between runs.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Seeds the file with generation 1 and returns its bytes with generation 1's values, from
/// which any generation's exact content follows (the values have a fixed width).
fn seed_generations(sandbox: &Sandbox) -> String {
    std::fs::write(sandbox.aws_credentials_file(), big_file()).unwrap();
    let files = AwsFiles::new(sandbox.aws_credentials_file(), sandbox.aws_config_file());
    files.write_profiles(&[generation_write(1)]).unwrap();
    std::fs::read_to_string(sandbox.aws_credentials_file()).unwrap()
}

/// What generation the file holds, after checking it is exactly that generation's content.
fn whole_generation(content: &str, template: &str) -> u64 {
    let start = content
        .find("ASIAGEN")
        .unwrap_or_else(|| panic!("the gen profile is gone (length {})", content.len()));
    let generation: u64 = content[start + 7..start + 20].parse().unwrap();
    let expected = template.replace(&generation_key(1), &generation_key(generation));
    assert!(
        content == expected,
        "the file is exactly generation {generation}, not a mix or a partial write \
         (length {} vs {})",
        content.len(),
        expected.len()
    );
    generation
}

/// A writer replacing a 5 MB credentials file in a loop, SIGKILLed at 20 random moments: each
/// time the file is exactly the old or the new content, never a partial or mixed one.
#[test]
fn kill_9_mid_write_leaves_the_old_or_the_new_file() {
    let sandbox = Sandbox::new();
    let template = seed_generations(&sandbox);
    let path = sandbox.aws_credentials_file();
    let mut moments = Moments(
        std::time::SystemTime::from(rolecall_core::clock::SystemClock.now())
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    let mut last = 1;
    let mut advanced = 0;
    for kill in 0..20 {
        let progress = sandbox.root().join("generation");
        let _ = std::fs::remove_file(&progress);
        let _ = std::fs::remove_file(progress.with_extension("next"));
        let mut child = spawn_child(
            &sandbox,
            "aws_files_safety::child_rewrites_a_big_file",
            &[
                ("SAFETY_FIRST", (last + 1).to_string().into()),
                ("SAFETY_PROGRESS", progress.clone().into()),
            ],
        );
        // Wait until the child has started its first write, then kill it somewhere in its
        // loop: most of its time goes into writing, syncing and renaming 5 MB.
        let deadline = rolecall_core::clock::monotonic() + Duration::from_secs(60);
        while !progress.exists() {
            assert!(
                rolecall_core::clock::monotonic() < deadline,
                "kill {kill}: the writer never started"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(moments.next_millis(400)));
        child.kill().unwrap();
        child.wait().unwrap();

        let content = std::fs::read_to_string(&path).unwrap();
        let generation = whole_generation(&content, &template);
        let started: u64 = std::fs::read_to_string(&progress)
            .unwrap()
            .lines()
            .filter_map(|line| line.parse().ok())
            .next_back()
            .unwrap_or(last + 1);
        assert!(
            generation >= last && generation <= started,
            "kill {kill}: generation {generation} is the old ({last}) or a newer one the \
             writer started (up to {started})"
        );
        if generation > last {
            advanced += 1;
        }
        last = generation;
    }
    eprintln!(
        "20 kills; the file advanced between {advanced} of them; {} temporary files left",
        temp_files(&path).len()
    );
}

/// A killed write leaves its temporary file (a full copy of the credentials, secrets included)
/// beside the credentials file; the next write should clean up such leftovers, or they pile up
/// with every crash (the kill -9 test above prints how many it found).
#[test]
fn a_temporary_file_left_by_a_killed_write_is_cleaned_up_by_the_next() {
    let sandbox = Sandbox::new();
    let path = sandbox.aws_credentials_file();
    std::fs::write(
        &path,
        "[default]\naws_access_key_id = AKIADEFAULTEXAMPLE01\n",
    )
    .unwrap();
    // What a write killed between its sync and its rename leaves: Rolecall's name pattern
    // (`.credentials.rolecall.<pid>.<nanos>.<attempt>.tmp`), a process that no longer exists
    // (pids stop at 2^22), written an hour ago.
    let leftover = path
        .parent()
        .unwrap()
        .join(".credentials.rolecall.99999999.123456789.0.tmp");
    let stale = std::fs::File::create(&leftover).unwrap();
    std::fs::write(&leftover, std::fs::read(&path).unwrap()).unwrap();
    stale
        .set_modified(
            std::time::SystemTime::from(rolecall_core::clock::SystemClock.now())
                - Duration::from_secs(3600),
        )
        .unwrap();
    drop(stale);

    let files = AwsFiles::new(path.clone(), sandbox.aws_config_file());
    files.write_profiles(&[generation_write(1)]).unwrap();
    assert_eq!(
        temp_files(&path),
        Vec::<PathBuf>::new(),
        "the next write cleans up the dead writer's temporary file"
    );
}

#[test]
#[ignore = "run by the kill -9 tests in a child process"]
fn child_rewrites_a_big_file() {
    if !in_child() {
        return;
    }
    let first: u64 = child_var("SAFETY_FIRST").parse().unwrap();
    let progress = PathBuf::from(child_var("SAFETY_PROGRESS"));
    let files = files_from_env();
    let mut log = String::new();
    // Bounded: the parent kills it long before.
    let deadline = rolecall_core::clock::monotonic() + Duration::from_secs(120);
    for generation in
        (first..first + 10_000).take_while(|_| rolecall_core::clock::monotonic() < deadline)
    {
        log.push_str(&format!("{generation}\n"));
        // Replaced whole, so a kill never leaves the parent a partial log.
        let next = progress.with_extension("next");
        std::fs::write(&next, &log).unwrap();
        std::fs::rename(&next, &progress).unwrap();
        files
            .write_profiles(&[generation_write(generation)])
            .unwrap();
    }
    println!("{DONE}");
}
