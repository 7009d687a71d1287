//! A real MIT Kerberos KDC for tests (Debian packages krb5-kdc, krb5-admin-server for
//! `kadmin.local`, and krb5-user for `kinit`), with its configuration, database, keytab and
//! ticket caches inside the test's [`Sandbox`].
//!
//! The machine's own Kerberos setup is never read: `krb5.conf` and `kdc.conf` are written into
//! the sandbox and named by `KRB5_CONFIG` / `KRB5_KDC_PROFILE`, the default ticket cache, client
//! keytab and replay cache all point there too, and the KDC listens on 127.0.0.1 only, on a port
//! picked per test.
//!
//! The realm is [`REALM`], with the user `alice` ([`ALICE_PASSWORD`]) and the service principals
//! `HTTP/localhost` and `HTTP/127.0.0.1`, whose keys are in [`Kdc::keytab`]. Hosts under
//! `.example` belong to the realm too (it knows none of them); other names have no realm.

use crate::{Sandbox, eventually};
use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const REALM: &str = "ROLECALL.TEST";
/// The user principal every KDC has.
pub const ALICE: &str = "alice@ROLECALL.TEST";
pub const ALICE_PASSWORD: &str = "alice's Kerberos password";
/// The services every KDC knows; their keys are in the keytab.
pub const SERVICES: [&str; 2] = ["HTTP/localhost", "HTTP/127.0.0.1"];

const SBIN: &str = "/usr/sbin";
/// How long the KDC may take to listen (a loaded 2-core CI machine included).
const STARTUP_LIMIT: Duration = Duration::from_secs(20);
/// Other tests pick free ports too: a port taken between the probe and the KDC's bind is
/// retried with another one.
const PORT_ATTEMPTS: usize = 5;

/// A running `krb5kdc`, stopped when dropped.
#[derive(Debug)]
pub struct Kdc {
    dir: PathBuf,
    port: u16,
    daemon: Child,
}

impl Kdc {
    /// Creates a realm in `<sandbox>/kdc` and starts its KDC; returns once it serves tickets.
    pub fn start(sandbox: &Sandbox) -> Self {
        let dir = sandbox.root().join("kdc");
        std::fs::create_dir_all(&dir).expect("the KDC's folder");
        let master_password = "master key of the test realm";
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            std::fs::write(dir.join("krb5.conf"), krb5_conf(&dir, port)).expect("krb5.conf");
            std::fs::write(dir.join("kdc.conf"), kdc_conf(&dir, port)).expect("kdc.conf");
            if !dir.join("principal").exists() {
                create_realm(sandbox, &dir, master_password);
            }
            let log = dir.join("kdc.log");
            let _ = std::fs::remove_file(&log);
            let mut daemon = kdc_command(sandbox, &dir, &Path::new(SBIN).join("krb5kdc"))
                .args(["-n", "-r", REALM])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("krb5kdc (Debian package krb5-kdc; scripts/setup installs it)");
            let outcome = eventually(STARTUP_LIMIT, || {
                if let Some(status) = daemon.try_wait().expect("polling krb5kdc") {
                    return Some(Err(status));
                }
                let started = std::fs::read_to_string(&log)
                    .is_ok_and(|text| text.contains("commencing operation"));
                let listening =
                    TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok();
                (started && listening).then_some(Ok(()))
            });
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            match outcome {
                Some(Ok(())) => return Self { dir, port, daemon },
                Some(Err(_exited)) => continue,
                None => {
                    let _ = daemon.kill();
                    let _ = daemon.wait();
                    panic!("krb5kdc did not start within {STARTUP_LIMIT:?}; its log:\n{last_log}");
                }
            }
        }
        panic!(
            "krb5kdc could not listen on a free port in {PORT_ATTEMPTS} tries; its log:\n{last_log}"
        );
    }

    pub fn realm(&self) -> &'static str {
        REALM
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The keytab with the keys of [`SERVICES`].
    pub fn keytab(&self) -> PathBuf {
        self.dir.join("http.keytab")
    }

    /// A ticket cache that nobody fills: what a client sees before `kinit`.
    pub fn empty_ccache(&self) -> PathBuf {
        self.dir.join("nobody.ccache")
    }

    /// The variables a Kerberos client or acceptor of this realm needs: the configuration, and
    /// the ticket cache ([`Self::empty_ccache`]; set `KRB5CCNAME` after these to use another),
    /// keytab, client keytab and replay cache all inside the sandbox.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("KRB5_CONFIG", self.dir.join("krb5.conf").into()),
            ("KRB5CCNAME", ccache_name(&self.empty_ccache())),
            ("KRB5_KTNAME", file_name(&self.keytab())),
            (
                "KRB5_CLIENT_KTNAME",
                file_name(&self.dir.join("no-client.keytab")),
            ),
            ("KRB5RCACHEDIR", self.dir.clone().into()),
        ]
    }

    /// Gets a ticket-granting ticket for `principal` into the ticket cache at `ccache` (a file),
    /// giving `password` on stdin as a person would type it; panics with kinit's words if the
    /// KDC refuses.
    pub fn kinit(&self, principal: &str, password: &str, ccache: &Path) {
        let output = self.try_kinit(principal, password, ccache);
        assert!(
            output.status.success(),
            "kinit {principal} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// [`Self::kinit`] for a ticket that expires after `lifetime` (whole seconds): what a
    /// person has the morning after a domain login.
    pub fn kinit_for(&self, principal: &str, password: &str, ccache: &Path, lifetime: Duration) {
        let lifetime = format!("{}s", lifetime.as_secs().max(1));
        let output = self.run_kinit(&["-l", &lifetime], principal, password, ccache);
        assert!(
            output.status.success(),
            "kinit -l {lifetime} {principal} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `kinit` as [`Self::kinit`], returning its output whatever happened.
    pub fn try_kinit(&self, principal: &str, password: &str, ccache: &Path) -> Output {
        self.run_kinit(&[], principal, password, ccache)
    }

    fn run_kinit(
        &self,
        options: &[&str],
        principal: &str,
        password: &str,
        ccache: &Path,
    ) -> Output {
        let mut child = Command::new("kinit")
            .args(options)
            .arg("-c")
            .arg(ccache_name(ccache))
            .arg(principal)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kinit (Debian package krb5-user; scripts/setup installs it)");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .expect("giving kinit the password");
        drop(stdin);
        child.wait_with_output().expect("waiting for kinit")
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// `FILE:<path>`, the ticket cache type both MIT and Heimdal read.
fn ccache_name(path: &Path) -> OsString {
    file_name(path)
}

fn file_name(path: &Path) -> OsString {
    let mut name = OsString::from("FILE:");
    name.push(path);
    name
}

/// A port free on 127.0.0.1 for both TCP and UDP right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
        let port = tcp.local_addr().expect("the bound port").port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// A sandboxed command that sees only this realm's configuration (and `/usr/sbin` on `PATH`).
fn kdc_command(sandbox: &Sandbox, dir: &Path, program: &Path) -> Command {
    let mut command = sandbox.command(program);
    let mut path = OsString::from(SBIN);
    if let Some(inherited) = std::env::var_os("PATH") {
        path.push(":");
        path.push(inherited);
    }
    command
        .env("PATH", path)
        .env("KRB5_CONFIG", dir.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", dir.join("kdc.conf"))
        .env("KRB5CCNAME", file_name(&dir.join("admin.ccache")))
        .env("KRB5RCACHEDIR", dir);
    command
}

/// `kdb5_util create`, then the principals and the service keytab.
fn create_realm(sandbox: &Sandbox, dir: &Path, master_password: &str) {
    run(
        kdc_command(sandbox, dir, &Path::new(SBIN).join("kdb5_util")).args([
            "create",
            "-s",
            "-r",
            REALM,
            "-P",
            master_password,
        ]),
    );
    let keytab = dir.join("http.keytab");
    let mut queries = vec![format!("addprinc -pw \"{ALICE_PASSWORD}\" alice")];
    for service in SERVICES {
        queries.push(format!("addprinc -randkey {service}"));
    }
    queries.push(format!(
        "ktadd -k {} {}",
        keytab.display(),
        SERVICES.join(" ")
    ));
    for query in queries {
        let output = run(
            kdc_command(sandbox, dir, &Path::new(SBIN).join("kadmin.local"))
                .args(["-r", REALM, "-q"])
                .arg(&query),
        );
        // kadmin.local exits 0 even when a query fails; its complaints go to stderr.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let complaints: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.contains("defaulting to no policy") && !line.trim().is_empty())
            .collect();
        assert!(
            complaints.is_empty(),
            "kadmin.local -q {query:?} complained:\n{stderr}"
        );
    }
    assert!(
        keytab.exists(),
        "ktadd should have written {}",
        keytab.display()
    );
}

fn run(command: &mut Command) -> Output {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|err| {
        panic!("{command:?} (Debian packages krb5-kdc, krb5-admin-server): {err}")
    });
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The client configuration: this realm only, no DNS, host names used exactly as given.
fn krb5_conf(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    qualify_shortname = \"\"
    rdns = false
    ignore_acceptor_hostname = false
    default_ccache_name = FILE:{dir}/nobody.ccache
    default_client_keytab_name = FILE:{dir}/no-client.keytab
    default_keytab_name = FILE:{dir}/http.keytab
    forwardable = false
    udp_preference_limit = 1

[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{port}
    }}

[domain_realm]
    localhost = {REALM}
    127.0.0.1 = {REALM}
    .example = {REALM}
"
    )
}

/// The KDC's own configuration: database, stash and log inside `dir`, 127.0.0.1 only.
fn kdc_conf(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {REALM} = {{
        database_name = {dir}/principal
        key_stash_file = {dir}/stash
        acl_file = {dir}/kadm5.acl
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        max_life = 1h
        max_renewable_life = 0
    }}

[logging]
    kdc = FILE:{dir}/kdc.log
    admin_server = FILE:{dir}/kadmin.log
    default = FILE:{dir}/krb5lib.log
"
    )
}
