//! A real Secret Service for tests: `gnome-keyring-daemon` on a private D-Bus session bus, with
//! its keyrings inside the test's [`Sandbox`] (Debian packages dbus-daemon, gnome-keyring and,
//! for `gdbus`, libglib2.0-bin).
//!
//! The bus activates nothing: the machine's service files (which would start a gnome-keyring or
//! a password prompter behind the test's back) are not read, so `org.freedesktop.secrets` is
//! owned exactly when a test started a [`SecretService`] on it.

use crate::{Sandbox, eventually, first_line};
use std::ffi::OsString;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The name the Secret Service owns on the bus.
pub const SECRETS_NAME: &str = "org.freedesktop.secrets";

/// How long a daemon may take to appear on the bus (a loaded 2-core CI machine included).
const STARTUP_LIMIT: Duration = Duration::from_secs(20);

/// A private D-Bus session bus, stopped when dropped. Lighter than a [`crate::Desktop`]: no
/// display.
#[derive(Debug)]
pub struct SessionBus {
    address: String,
    /// `None` for a bus someone else runs (a [`crate::Desktop`]'s).
    daemon: Option<Child>,
}

impl SessionBus {
    /// Starts a bus whose socket lives in the sandbox's runtime folder.
    pub fn start(sandbox: &Sandbox) -> Self {
        let config = sandbox.root().join("session-bus.conf");
        std::fs::write(
            &config,
            bus_config(&sandbox.runtime_dir().display().to_string()),
        )
        .expect("writing the session bus configuration");
        let mut daemon = sandbox
            .command("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon; scripts/setup installs it)");
        let address = first_line(&mut daemon, "the session bus address");
        Self {
            address,
            daemon: Some(daemon),
        }
    }

    /// A bus that is already running, at `address`; it is not stopped when this is dropped.
    pub fn existing(address: &str) -> Self {
        Self {
            address: address.to_owned(),
            daemon: None,
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// The variables that put a child process on this bus.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![("DBUS_SESSION_BUS_ADDRESS", self.address.clone().into())]
    }

    /// Runs `gdbus call` on this bus; its printed answer, or `None` if the call failed.
    pub fn call(&self, dest: &str, path: &str, method: &str, args: &[&str]) -> Option<String> {
        let output = Command::new("timeout")
            .args(["5", "gdbus", "call", "--session", "--timeout", "3"])
            .args(["--dest", dest, "--object-path", path, "--method", method])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("gdbus (Debian package libglib2.0-bin; scripts/setup installs it)");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Whether some connection owns `name` right now.
    pub fn has_owner(&self, name: &str) -> bool {
        self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &[name],
        )
        .is_some_and(|answer| answer.contains("true"))
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        if let Some(daemon) = &mut self.daemon {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

/// A session bus configuration like the system's, minus service activation.
pub(crate) fn bus_config(socket_dir: &str) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
    )
}

/// `gnome-keyring-daemon` serving the Secret Service on its own session bus, stopped when
/// dropped. Its keyrings are files under the sandbox's `XDG_DATA_HOME`.
#[derive(Debug)]
pub struct SecretService {
    bus: SessionBus,
    daemon: Option<Child>,
}

impl SecretService {
    /// A Secret Service whose login keyring is created and unlocked with `password`, as a
    /// desktop login does. Returns once the default collection can take items.
    pub fn start(sandbox: &Sandbox, password: &str) -> Self {
        Self::start_on(sandbox, SessionBus::start(sandbox), password)
    }

    /// Like [`SecretService::start`], on a bus that already runs (a desktop's, so the app under
    /// test has its tray and its keyring on one bus).
    pub fn start_on(sandbox: &Sandbox, bus: SessionBus, password: &str) -> Self {
        let service = Self::spawn(sandbox, bus, Some(password));
        let ready = eventually(STARTUP_LIMIT, || {
            service
                .call_service(
                    "/org/freedesktop/secrets",
                    "org.freedesktop.Secret.Service.ReadAlias",
                    &["default"],
                )
                .filter(|answer| answer.contains("/collection/"))
        });
        assert!(
            ready.is_some(),
            "gnome-keyring-daemon did not create an unlocked login keyring within {STARTUP_LIMIT:?}"
        );
        service
    }

    /// A Secret Service with no unlocked keyring: nobody has logged in to it. Returns once it
    /// owns its name.
    pub fn start_locked(sandbox: &Sandbox) -> Self {
        Self::spawn(sandbox, SessionBus::start(sandbox), None)
    }

    fn spawn(sandbox: &Sandbox, bus: SessionBus, password: Option<&str>) -> Self {
        let mut command = sandbox.command("gnome-keyring-daemon");
        command
            .args(["--foreground", "--components=secrets"])
            .envs(bus.env())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if password.is_some() {
            // `--unlock` reads the password from stdin, up to end of file.
            command.arg("--unlock").stdin(Stdio::piped());
        } else {
            command.stdin(Stdio::null());
        }
        let mut daemon = command.spawn().expect(
            "gnome-keyring-daemon (Debian package gnome-keyring; scripts/setup installs it)",
        );
        if let Some(password) = password {
            let mut stdin = daemon.stdin.take().expect("piped stdin");
            stdin
                .write_all(password.as_bytes())
                .expect("giving gnome-keyring-daemon its password");
        }
        let service = Self {
            bus,
            daemon: Some(daemon),
        };
        assert!(
            eventually(STARTUP_LIMIT, || service
                .bus
                .has_owner(SECRETS_NAME)
                .then_some(()))
            .is_some(),
            "gnome-keyring-daemon did not take {SECRETS_NAME} within {STARTUP_LIMIT:?}"
        );
        service
    }

    pub fn bus(&self) -> &SessionBus {
        &self.bus
    }

    /// The variables that make a child process use this Secret Service.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        self.bus.env()
    }

    /// Stops the daemon and waits until its name is gone; the bus stays up.
    pub fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        assert!(
            eventually(STARTUP_LIMIT, || (!self.bus.has_owner(SECRETS_NAME))
                .then_some(()))
            .is_some(),
            "{SECRETS_NAME} is still owned after gnome-keyring-daemon stopped"
        );
    }

    /// How many items carry all these attributes (e.g. `service` = `rolecall`, `username` =
    /// `password:corp`), locked or not: a view of the keyring that does not go through the
    /// code under test.
    pub fn count_items(&self, attributes: &[(&str, &str)]) -> usize {
        let dict = attributes
            .iter()
            .map(|(key, value)| format!("{}: {}", quote(key), quote(value)))
            .collect::<Vec<_>>()
            .join(", ");
        let answer = self
            .call_service(
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.SearchItems",
                &[&format!("{{{dict}}}")],
            )
            .unwrap_or_else(|| panic!("SearchItems {dict} failed"));
        answer
            .matches("/org/freedesktop/secrets/collection/")
            .count()
    }

    fn call_service(&self, path: &str, method: &str, args: &[&str]) -> Option<String> {
        self.bus.call(SECRETS_NAME, path, method, args)
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

/// A GVariant string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}
