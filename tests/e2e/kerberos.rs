//! Integrated sign-in end to end, as on a domain-joined laptop: a real MIT KDC, alice's ticket
//! from `kinit`, the `rolecall-sim` binary checking Negotiate tokens with the realm's service
//! keytab, and the real `rolecall roles` finding alice's roles without any password.
//!
//! GSSAPI reads its configuration, ticket cache and keytab from the process environment, so the
//! simulator runs as a child process with the KDC's variables, not in this test binary.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Output, Stdio};

use rolecall_tests::kdc::{ALICE, ALICE_PASSWORD, Kdc};
use rolecall_tests::{Sandbox, rolecall_binary};

/// What `rolecall-sim` prints before the URL on its first line.
const URL_LINE_PREFIX: &str = "AD FS sign-on URL: ";

/// A `rolecall-sim --port 0 --kerberos` child process, killed when dropped.
struct SimProcess {
    child: Child,
    /// Kept open: the simulator prints more lines after the URL, and a closed pipe would make
    /// its `println!` fail.
    _stdout: BufReader<ChildStdout>,
    stderr: PathBuf,
    /// The sign-on URL with the host `localhost`, whose SPN the KDC knows.
    url: String,
}

impl SimProcess {
    fn start(sandbox: &Sandbox, kdc: &Kdc) -> Self {
        let stderr = sandbox.root().join("rolecall-sim.stderr");
        let mut child = sandbox
            .command(sim_binary())
            .args(["--port", "0", "--kerberos"])
            // The service keytab (KRB5_KTNAME) and the realm's configuration.
            .envs(kdc.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("the simulator's stderr file"))
            .spawn()
            .unwrap_or_else(|err| panic!("starting {}: {err}", sim_binary().display()));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout
            .read_line(&mut first)
            .expect("reading the simulator's first line");
        let Some(url) = first.trim().strip_prefix(URL_LINE_PREFIX) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "rolecall-sim should print {URL_LINE_PREFIX:?} and its URL first, printed {first:?}; \
                 stderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the simulator listens on 127.0.0.1: {url}"
        );
        let url = url.replacen("http://127.0.0.1:", "http://localhost:", 1);
        Self {
            child,
            _stdout: stdout,
            stderr,
            url,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rolecall-sim`, built by `cargo build --workspace` next to `rolecall`.
fn sim_binary() -> PathBuf {
    let binary =
        rolecall_binary().with_file_name(format!("rolecall-sim{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} does not exist: build it first with `cargo build --workspace --all-targets` \
         (scripts/test does)",
        binary.display()
    );
    binary
}

fn ccache_name(path: &Path) -> OsString {
    let mut name = OsString::from("FILE:");
    name.push(path);
    name
}

/// `rolecall roles --url <sim> <args>` with the realm's configuration and `ccache` as the
/// ticket cache, and no password anywhere.
fn roles(sandbox: &Sandbox, kdc: &Kdc, sim: &SimProcess, ccache: &Path, args: &[&str]) -> Output {
    sandbox
        .command(rolecall_binary())
        .args(["roles", "--url", &sim.url])
        .args(args)
        .envs(kdc.env())
        .env("KRB5CCNAME", ccache_name(ccache))
        .env_remove("ROLECALL_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("running rolecall roles")
}

fn describe(output: &Output, sim: &SimProcess) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}\nrolecall-sim's stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        sim.stderr()
    )
}

/// alice's roles as `rolecall roles` lists them for the demo directory.
fn assert_lists_alices_roles(output: &Output, sim: &SimProcess) {
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "alice's ticket should sign her in: {}",
        describe(output, sim)
    );
    assert!(
        text.starts_with("Signed in as alice@corp.example: 5 roles in 3 accounts."),
        "the roles of the ticket's user: {}",
        describe(output, sim)
    );
    assert!(
        text.contains("arn:aws:iam::111122223333:role/Admin"),
        "alice's roles are listed: {}",
        describe(output, sim)
    );
}

/// The point of integrated sign-in: `kinit` (or the domain login) once, and Rolecall signs in
/// with the ticket, no password asked for or stored.
#[test]
fn windows_integrated_signs_in_with_a_kerberos_ticket() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let ccache = sandbox.root().join("alice.ccache");
    kdc.kinit(ALICE, ALICE_PASSWORD, &ccache);
    let sim = SimProcess::start(&sandbox, &kdc);

    let output = roles(&sandbox, &kdc, &sim, &ccache, &["--auth", "windows"]);
    assert_lists_alices_roles(&output, &sim);
}

/// No ticket yet (before `kinit`, or a ticket cache nobody filled): the one line says what to
/// run, and the exit code is not success.
#[test]
fn windows_integrated_without_a_ticket_says_to_run_kinit() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let sim = SimProcess::start(&sandbox, &kdc);

    let output = roles(
        &sandbox,
        &kdc,
        &sim,
        &kdc.empty_ccache(),
        &["--auth", "windows"],
    );
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "no ticket, no sign-in: {}",
        describe(&output, &sim)
    );
    assert!(
        message.contains("kinit"),
        "the message should tell to run kinit: {}",
        describe(&output, &sim)
    );
    assert_eq!(
        message.trim_end().lines().count(),
        1,
        "one line: {}",
        describe(&output, &sim)
    );
}

/// The automatic method tries integrated sign-in first: with a ticket it needs neither a
/// username nor a password (there is none in the environment or the keyring).
#[test]
fn automatic_sign_in_uses_the_ticket_without_a_password() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let ccache = sandbox.root().join("alice.ccache");
    kdc.kinit(ALICE, ALICE_PASSWORD, &ccache);
    let sim = SimProcess::start(&sandbox, &kdc);

    let output = roles(&sandbox, &kdc, &sim, &ccache, &["--auth", "auto"]);
    assert_lists_alices_roles(&output, &sim);
}

/// Kerberos with a username and password, as on a machine that is not in the domain: no
/// ticket cache is used or written, the password gets a ticket for this sign-in only.
#[test]
fn kerberos_with_a_password_needs_no_ticket_cache() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let sim = SimProcess::start(&sandbox, &kdc);
    let ccache = kdc.empty_ccache();

    let output = sandbox
        .command(rolecall_binary())
        .args([
            "roles",
            "--url",
            &sim.url,
            "--auth",
            "kerberos",
            "--username",
            ALICE,
        ])
        .envs(kdc.env())
        .env("KRB5CCNAME", ccache_name(&ccache))
        .env("ROLECALL_PASSWORD", ALICE_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("running rolecall roles");
    assert_lists_alices_roles(&output, &sim);

    let wrong = sandbox
        .command(rolecall_binary())
        .args([
            "roles",
            "--url",
            &sim.url,
            "--auth",
            "kerberos",
            "--username",
            ALICE,
        ])
        .envs(kdc.env())
        .env("KRB5CCNAME", ccache_name(&ccache))
        .env("ROLECALL_PASSWORD", "not the password")
        .stdin(Stdio::null())
        .output()
        .expect("running rolecall roles");
    assert_eq!(
        wrong.status.code(),
        Some(3),
        "a wrong password is refused credentials: {}",
        describe(&wrong, &sim)
    );
}

/// NTLM with a username and password against the simulator's NTLMv2 acceptor, through the
/// real binary: the three legs on one connection.
#[test]
fn ntlm_with_a_password_signs_in() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let sim = SimProcess::start(&sandbox, &kdc);
    let output = sandbox
        .command(rolecall_binary())
        .args([
            "roles",
            "--url",
            &sim.url,
            "--auth",
            "ntlm",
            "--username",
            "CORP\\alice",
        ])
        .env("ROLECALL_PASSWORD", rolecall_sim::DEMO_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("running rolecall roles");
    assert_lists_alices_roles(&output, &sim);
}
