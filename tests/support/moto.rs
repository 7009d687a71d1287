//! moto's server (PyPI `moto[server]`) on loopback, as a real STS for the AWS CLI and Rolecall:
//! it issues credentials from `AssumeRoleWithSAML` and answers `GetCallerIdentity` for them.
//!
//! `scripts/test` puts the Python venv that has `moto_server` and `aws` first on `PATH`; the
//! server starts from the sandbox's empty environment, so it reads no real AWS setting.

use crate::{Running, Sandbox, eventually};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

/// How long moto may take to answer after starting (Python imports on a loaded 2-core machine).
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// A running `moto_server`, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    url: String,
    _server: Running,
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers HTTP.
    pub fn start(sandbox: &Sandbox) -> Self {
        // A port another process grabs between probing and moto's bind makes moto exit: try
        // again with a new one, a bounded number of times.
        for _ in 0..5 {
            let port = free_port();
            let mut command = sandbox.command("moto_server");
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut server = Running::spawn(&mut command);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let answered = eventually(STARTUP_LIMIT, || {
                if !server.is_running() {
                    return Some(false);
                }
                answers_http(addr).then_some(true)
            });
            match answered {
                Some(true) => {
                    return Self {
                        url: format!("http://127.0.0.1:{port}"),
                        _server: server,
                    };
                }
                Some(false) => continue,
                None => panic!("moto_server did not answer on {addr} within {STARTUP_LIMIT:?}"),
            }
        }
        panic!(
            "moto_server would not start (is the venv with moto[server] first on PATH? \
             scripts/setup creates it)"
        );
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_STS`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// Whether something on `addr` answers an HTTP request with a status line.
fn answers_http(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/")
}
