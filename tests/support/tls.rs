//! TLS with a private certificate authority, as behind a company's TLS inspection: a CA and a
//! `localhost` certificate made with `openssl`, and a TLS front (`tests/peers/tls_front.py`)
//! that puts a loopback HTTP server behind that certificate.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The files of [`certificates`].
#[derive(Debug, Clone)]
pub struct Certificates {
    /// The CA's certificate: the PEM file a person gives as the endpoint's CA file.
    pub ca: PathBuf,
    /// The server's certificate for `localhost` and 127.0.0.1, signed by the CA, and its key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes a CA and a `localhost` certificate it signed in `dir`.
pub fn certificates(dir: &Path) -> Certificates {
    let file = |name: &str| dir.join(name);
    let (ca_key, ca, key, csr, cert, ext) = (
        file("ca.key"),
        file("ca.pem"),
        file("server.key"),
        file("server.csr"),
        file("server.pem"),
        file("server.ext"),
    );
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("the certificate's extensions file");
    let openssl = |args: &[&std::ffi::OsStr]| {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl (Debian package openssl; scripts/setup installs it)");
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
    };
    let s = |text: &'static str| std::ffi::OsStr::new(text);
    openssl(&[
        s("req"),
        s("-x509"),
        s("-newkey"),
        s("rsa:2048"),
        s("-nodes"),
        s("-days"),
        s("2"),
        s("-subj"),
        s("/CN=Rolecall Test CA"),
        s("-keyout"),
        ca_key.as_os_str(),
        s("-out"),
        ca.as_os_str(),
    ]);
    openssl(&[
        s("req"),
        s("-newkey"),
        s("rsa:2048"),
        s("-nodes"),
        s("-subj"),
        s("/CN=localhost"),
        s("-keyout"),
        key.as_os_str(),
        s("-out"),
        csr.as_os_str(),
    ]);
    openssl(&[
        s("x509"),
        s("-req"),
        s("-in"),
        csr.as_os_str(),
        s("-CA"),
        ca.as_os_str(),
        s("-CAkey"),
        ca_key.as_os_str(),
        s("-CAcreateserial"),
        s("-days"),
        s("2"),
        s("-extfile"),
        ext.as_os_str(),
        s("-out"),
        cert.as_os_str(),
    ]);
    Certificates { ca, cert, key }
}

/// A TLS front for `127.0.0.1:<upstream_port>` with [`Certificates::cert`], stopped when
/// dropped. Its Python is `ROLECALL_PYTHON` if set, else `python3` (standard library only).
#[derive(Debug)]
pub struct TlsFront {
    child: Child,
    port: u16,
}

impl TlsFront {
    pub fn start(certificates: &Certificates, upstream_port: u16) -> Self {
        let python = std::env::var_os("ROLECALL_PYTHON").unwrap_or_else(|| "python3".into());
        let mut child = Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/tls_front.py"))
            .arg(&certificates.cert)
            .arg(&certificates.key)
            .arg(upstream_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("starting {}: {err}", python.to_string_lossy()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the TLS front's port");
        let port = line.trim().parse().expect("the TLS front prints its port");
        Self { child, port }
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
