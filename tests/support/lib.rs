//! Test support shared by Rolecall's tests: a private sandbox per test (HOME, AWS files, config
//! folder) and, for end-to-end tests, a private desktop (an Xvfb display and a D-Bus session
//! bus) to run the real app in.
//!
//! Nothing here reads the machine's own environment into a child process: every command starts
//! from an empty environment plus what the sandbox and the desktop say, so no test can pick up a
//! real profile, a real keyring or a secret of the machine it runs on.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test support: a missing tool or a failed precondition fails the test, with a message"
)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod bus;
pub mod kdc;
pub mod keyring;
pub mod moto;
pub mod no_network;
pub mod panel;
pub mod simplesamlphp;
pub mod tls;
pub mod webdriver;

pub use no_network::NoNetwork;

/// A per-test home: `HOME`, the XDG folders, Rolecall's config folder and the AWS files all
/// point inside one temporary folder that is removed when the sandbox is dropped.
#[derive(Debug)]
pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("rolecall-test-")
            .tempdir()
            .expect("a temporary folder for the test sandbox");
        let sandbox = Self { root };
        for dir in [
            sandbox.home(),
            sandbox.xdg_config_home(),
            sandbox.home().join(".local/share"),
            sandbox.home().join(".cache"),
            sandbox.home().join(".aws"),
        ] {
            std::fs::create_dir_all(&dir).expect("sandbox folders");
        }
        let runtime = sandbox.runtime_dir();
        std::fs::create_dir_all(&runtime).expect("sandbox runtime folder");
        set_owner_only(&runtime);
        // An empty Kerberos configuration: the machine's realm and tickets stay out of tests.
        std::fs::write(sandbox.root().join("krb5.conf"), "").expect("sandbox krb5.conf");
        sandbox
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    pub fn xdg_config_home(&self) -> PathBuf {
        self.home().join(".config")
    }

    /// Rolecall's own folder, as the app resolves it from `XDG_CONFIG_HOME`.
    pub fn config_dir(&self) -> PathBuf {
        self.xdg_config_home().join("rolecall")
    }

    pub fn aws_credentials_file(&self) -> PathBuf {
        self.home().join(".aws/credentials")
    }

    pub fn aws_config_file(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.root().join("run")
    }

    /// The variables a child process of this test sees, besides the desktop's.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("HOME", self.home().into()),
            ("XDG_CONFIG_HOME", self.xdg_config_home().into()),
            ("XDG_DATA_HOME", self.home().join(".local/share").into()),
            ("XDG_CACHE_HOME", self.home().join(".cache").into()),
            ("XDG_STATE_HOME", self.home().join(".local/state").into()),
            ("XDG_RUNTIME_DIR", self.runtime_dir().into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                self.aws_credentials_file().into(),
            ),
            ("AWS_CONFIG_FILE", self.aws_config_file().into()),
            // The AWS tools must never reach out to an instance metadata service.
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            // Kerberos finds no realm and no ticket unless a test's own KDC provides them.
            ("KRB5_CONFIG", self.root().join("krb5.conf").into()),
            (
                "KRB5CCNAME",
                format!("FILE:{}", self.root().join("krb5cc").display()).into(),
            ),
        ]
    }

    /// A command with an empty environment plus this sandbox's variables, `PATH` and a locale.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new(program.as_ref());
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.env("LANG", "C.UTF-8");
        command.envs(self.env());
        command.current_dir(self.root());
        command
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(unix)]
fn set_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .expect("owner-only permissions on the runtime folder");
}

#[cfg(not(unix))]
fn set_owner_only(_path: &Path) {}

/// A private X display and D-Bus session bus, stopped when dropped.
#[derive(Debug)]
pub struct Desktop {
    display: String,
    bus_address: String,
    xvfb: Child,
    bus: Child,
    _dir: tempfile::TempDir,
}

impl Desktop {
    pub fn start() -> Self {
        // `-displayfd 1`: Xvfb picks a free display and writes its number to stdout, so parallel
        // tests never race for a display number.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (Debian package xvfb; scripts/setup installs it)");
        let display = first_line(&mut xvfb, "Xvfb's display number");
        // A bus that activates nothing: with the system's session configuration it would start
        // gnome-keyring, dconf and the accessibility bus on demand, with this test process's
        // HOME, outside any sandbox.
        let dir = tempfile::Builder::new()
            .prefix("rolecall-desktop-")
            .tempdir()
            .expect("a temporary folder for the desktop's bus");
        let config = dir.path().join("session-bus.conf");
        std::fs::write(
            &config,
            keyring::bus_config(&dir.path().display().to_string()),
        )
        .expect("writing the desktop bus configuration");
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon; scripts/setup installs it)");
        let bus_address = first_line(&mut bus, "the session bus address");
        Self {
            display: format!(":{display}"),
            bus_address,
            xvfb,
            bus,
            _dir: dir,
        }
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// The variables that put a child process on this desktop.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("DISPLAY", self.display.clone().into()),
            ("DBUS_SESSION_BUS_ADDRESS", self.bus_address.clone().into()),
            ("GDK_BACKEND", "x11".into()),
            // Keeps GTK from looking for an accessibility bus that a test desktop lacks.
            ("NO_AT_BRIDGE", "1".into()),
            ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".into()),
        ]
    }

    /// A sandboxed command that runs on this desktop.
    pub fn command(&self, sandbox: &Sandbox, program: impl AsRef<Path>) -> Command {
        let mut command = sandbox.command(program);
        command.envs(self.env());
        command
    }

    /// Runs `rolecall` on this desktop as a person types it: `args`, then `typed` on standard
    /// input (a password, say), with `env` set. Fails the test unless it succeeds.
    pub fn rolecall(
        &self,
        sandbox: &Sandbox,
        args: &[&str],
        typed: Option<&str>,
        env: &[(&str, &str)],
    ) -> std::process::Output {
        use std::io::Write as _;
        let mut child = self
            .command(sandbox, rolecall_binary())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rolecall starts");
        let mut input = child.stdin.take().expect("rolecall's standard input");
        if let Some(text) = typed {
            writeln!(input, "{text}").expect("rolecall reads its standard input");
        }
        drop(input);
        let output = child.wait_with_output().expect("rolecall ends");
        assert!(output.status.success(), "rolecall {args:?}: {output:?}");
        output
    }

    /// Endpoint `corp` at `sign_on` (forms sign-in as alice) and its password, set up from the
    /// command line as a person does; the password goes to whatever keyring the desktop has.
    pub fn add_corp_endpoint(&self, sandbox: &Sandbox, sign_on: &str, password: &str) {
        self.rolecall(
            sandbox,
            &[
                "endpoint",
                "add",
                "corp",
                "--url",
                sign_on,
                "--auth",
                "forms",
                "--username",
                "alice",
            ],
            None,
            &[],
        );
        self.rolecall(
            sandbox,
            &["password", "set", "--endpoint", "corp"],
            Some(password),
            &[],
        );
    }

    /// Starts the tray app with its STS at `sts` and waits up to `limit` for its tray item.
    pub fn start_tray(
        &self,
        sandbox: &Sandbox,
        sts: &str,
        limit: Duration,
    ) -> (Running, bus::TrayItem) {
        let mut command = self.command(sandbox, rolecall_binary());
        command.env("AWS_ENDPOINT_URL_STS", sts);
        let mut app = Running::spawn(&mut command);
        let item = eventually(limit, || {
            assert!(app.is_running(), "the app exited");
            self.tray_item_of(app.pid())
        })
        .expect("the tray item appears");
        (app, item)
    }

    /// The titles of the windows a person can see on this display: mapped, not merely created
    /// (needs `xwininfo`).
    pub fn visible_window_titles(&self) -> Vec<String> {
        let output = Command::new("xwininfo")
            .args(["-root", "-tree"])
            .env("DISPLAY", &self.display)
            .output()
            .expect("xwininfo (Debian package x11-utils; scripts/setup installs it)");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let id = line.trim_start().split(' ').next()?.to_owned();
                let start = line.find(" \"")? + 2;
                let end = start + line[start..].find('"')?;
                Some((id, line[start..end].to_owned()))
            })
            .filter(|(id, _)| {
                Command::new("xwininfo")
                    .args(["-id", id])
                    .env("DISPLAY", &self.display)
                    .output()
                    .is_ok_and(|info| {
                        String::from_utf8_lossy(&info.stdout).contains("Map State: IsViewable")
                    })
            })
            .map(|(_, title)| title)
            .collect()
    }

    /// The titles of the top-level windows on this display (needs `xwininfo`).
    pub fn window_titles(&self) -> Vec<String> {
        let output = Command::new("xwininfo")
            .args(["-root", "-tree"])
            .env("DISPLAY", &self.display)
            .output()
            .expect("xwininfo (Debian package x11-utils; scripts/setup installs it)");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let start = line.find(" \"")? + 2;
                let end = start + line[start..].find('"')?;
                Some(line[start..end].to_owned())
            })
            .collect()
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for child in [&mut self.bus, &mut self.xvfb] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn first_line(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|err| panic!("reading {what}: {err}"));
    let line = line.trim().to_owned();
    assert!(!line.is_empty(), "{what}: the process printed nothing");
    line
}

/// A child process that is killed when the test ends, however it ends.
#[derive(Debug)]
pub struct Running {
    child: Child,
}

impl Running {
    pub fn spawn(command: &mut Command) -> Self {
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting {command:?}: {err}"));
        Self { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself; `None` if it is still running after `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = real_now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling a child process") {
                return Some(status);
            }
            if real_now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process's standard output, when its command piped it; taken once.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Real time, for waits on real processes (the test support cannot depend on the core, whose
/// tests use it).
fn real_now() -> Instant {
    #[expect(
        clippy::disallowed_methods,
        reason = "waits on real processes run on real time"
    )]
    Instant::now()
}

/// Polls `probe` until it gives a value or `limit` passes.
pub fn eventually<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = real_now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if real_now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `rolecall` binary the workspace built: `ROLECALL_BIN`, or the one beside this test's
/// own executable in cargo's target folder.
pub fn rolecall_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROLECALL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test> → target/<profile>/rolecall
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("rolecall{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} does not exist: build it first with `cargo build --workspace` (scripts/test does)",
        binary.display()
    );
    binary
}

/// Re-runs the test `test` of the running test binary in a child process with the sandbox's
/// variables, `env`, and `marker` set (the child test is `#[ignore]`d and returns at once
/// without `marker`). For code that reads the process environment (GSSAPI, the keyring's
/// session bus), which a multi-threaded test binary must not change. Returns the child's
/// output after checking that it ran, passed and printed `done`.
pub fn run_child_test(
    sandbox: &Sandbox,
    marker: &str,
    done: &str,
    env: Vec<(&'static str, OsString)>,
    test: &str,
) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = sandbox
        .command("timeout")
        .arg("120")
        .arg(exe)
        .args(["--exact", test, "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .envs(env)
        .env(marker, "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("re-running the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && text.contains(done) && text.contains("1 passed"),
        "the child test {test} should have run and passed ({}):\n{text}",
        output.status
    );
    text
}
