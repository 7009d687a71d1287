//! NTLM with a username and password against real peers: Rolecall's client against pyspnego's
//! acceptor (`tests/peers/ntlm_acceptor.py`, users in an `NTLM_USER_FILE` inside the sandbox,
//! `LM_COMPAT_LEVEL=5`: LM and NTLMv1 refused, as hardened domains do), the simulator's acceptor
//! against pyspnego's client (`tests/peers/ntlm_initiator.py`), and then Rolecall's client
//! against the simulator's `/adfs/ls/wia` over HTTP, three legs on one connection.
//!
//! The peers' Python is `ROLECALL_PYTHON` if set, else `python3` on `PATH`; `scripts/test` puts
//! the test peers' venv (scripts/setup installs pyspnego there) first on `PATH`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use rolecall_core::ntlm::{NtlmClient, NtlmError};
use rolecall_core::secrets::Sensitive;
use rolecall_sim::ntlm::NtlmAcceptor;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig, WiaAcceptor, WiaStep};
use rolecall_tests::Sandbox;

const PASSWORD: &str = "alice's NTLM password, with ünïcode";

/// The Python that has pyspnego.
fn python() -> PathBuf {
    std::env::var_os("ROLECALL_PYTHON").map_or_else(|| "python3".into(), PathBuf::from)
}

fn peer(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/peers")
        .join(script)
}

/// pyspnego's acceptor in a child process, one conversation long.
struct Acceptor {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Acceptor {
    /// Knows `users` (`DOMAIN:user:password` lines).
    fn start(sandbox: &Sandbox, users: &[&str]) -> Self {
        let user_file = sandbox.root().join("ntlm-users");
        std::fs::write(&user_file, users.join("\n") + "\n").expect("the NTLM user file");
        let python = python();
        let mut child = sandbox
            .command(&python)
            .arg(peer("ntlm_acceptor.py"))
            .env("NTLM_USER_FILE", &user_file)
            .env("LM_COMPAT_LEVEL", "5")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "{} could not run ({err}): run scripts/setup, then the tests through \
                     scripts/test, or set ROLECALL_PYTHON to the test peers' venv python",
                    python.display()
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one token, returns the acceptor's answer line.
    fn step(&mut self, token: &[u8]) -> String {
        writeln!(self.stdin, "{}", STANDARD.encode(token)).expect("writing to the acceptor");
        self.stdin.flush().expect("flushing to the acceptor");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("reading the acceptor");
        if line.is_empty() {
            let mut stderr = String::new();
            if let Some(mut pipe) = self.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!(
                "the NTLM acceptor ended without answering. If pyspnego is missing, run \
                 scripts/setup and the tests through scripts/test (or set ROLECALL_PYTHON to the \
                 venv's python). Its stderr:\n{stderr}"
            );
        }
        line.trim_end().to_owned()
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole conversation for `username`/`password`; returns the acceptor's last word.
fn sign_in(users: &[&str], username: &str, password: &str) -> String {
    sign_in_tampered(users, username, password, |_| {})
}

/// [`sign_in`], with `tamper` changing the AUTHENTICATE_MESSAGE on the wire.
fn sign_in_tampered(
    users: &[&str],
    username: &str,
    password: &str,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> String {
    let sandbox = Sandbox::new();
    let mut acceptor = Acceptor::start(&sandbox, users);
    let mut client = NtlmClient::new(username, &Sensitive::new(password.to_owned()), "localhost")
        .expect("an NTLM client");
    let negotiate = client.negotiate().expect("the NEGOTIATE_MESSAGE");
    let answer = acceptor.step(negotiate.expose());
    let Some(challenge) = answer.strip_prefix("CHALLENGE ") else {
        panic!("the acceptor should challenge the NEGOTIATE_MESSAGE, said {answer:?}");
    };
    let challenge = STANDARD
        .decode(challenge)
        .expect("base64 from the acceptor");
    let authenticate = client
        .authenticate(&challenge)
        .unwrap_or_else(|err| panic!("answering pyspnego's challenge: {err} ({err:?})"));
    let mut authenticate = authenticate.into_inner();
    tamper(&mut authenticate);
    acceptor.step(&authenticate)
}

/// The right password signs in, in each form a person may type the username.
#[test]
fn the_right_password_is_accepted_by_a_real_ntlm_server() {
    let users = [
        &format!("CORP:alice:{PASSWORD}")[..],
        &format!(":alice@corp.example:{PASSWORD}"),
        &format!(":bob:{PASSWORD}"),
    ];
    for (username, principal) in [
        ("CORP\\alice", "CORP\\alice"),
        ("corp\\ALICE", "corp\\ALICE"),
        ("alice@corp.example", "alice@corp.example"),
        ("bob", "bob"),
    ] {
        let answer = sign_in(&users, username, PASSWORD);
        assert_eq!(
            answer,
            format!("ACCEPTED {principal}"),
            "pyspnego should accept {username} with the right password"
        );
    }
}

/// A wrong password is refused by the server (the client cannot know: NTLM proves the password
/// only to the server).
#[test]
fn a_wrong_password_is_rejected_by_a_real_ntlm_server() {
    let users = [&format!("CORP:alice:{PASSWORD}")[..]];
    let answer = sign_in(&users, "CORP\\alice", "not alice's password");
    assert!(
        answer.starts_with("REJECTED") && answer.contains("Invalid NTLM response"),
        "pyspnego should refuse a wrong password, said {answer:?}"
    );
    // The right password for another domain's alice is no better.
    let answer = sign_in(&users, "OTHER\\alice", PASSWORD);
    assert!(
        answer.starts_with("REJECTED"),
        "an unknown domain is refused, said {answer:?}"
    );
}

/// The MIC binds the three messages: a server that checks it (pyspnego does, when the client
/// says it sent one) refuses a message changed on the way, even with the right password.
#[test]
fn a_message_changed_on_the_wire_is_rejected() {
    let users = [&format!("CORP:alice:{PASSWORD}")[..]];
    // The AUTHENTICATE_MESSAGE's NegotiateFlags (offset 60): drop NEGOTIATE_ALWAYS_SIGN.
    let answer = sign_in_tampered(&users, "CORP\\alice", PASSWORD, |message| {
        message[61] &= !0x80;
    });
    assert!(
        answer.starts_with("REJECTED") && answer.contains("MIC"),
        "the MIC should no longer match, said {answer:?}"
    );
}

/// MsvAvTargetName is inside the NTLMv2 proof: pyspnego accepts Rolecall's answer with it (see
/// above) and refuses one whose target name was changed on the way, so an answer meant for
/// `HTTP/localhost` is no answer for any other service.
#[test]
fn the_target_name_is_sent_and_covered_by_the_proof() {
    let users = [&format!("CORP:alice:{PASSWORD}")[..]];
    let target: Vec<u8> = "HTTP/localhost"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let answer = sign_in_tampered(&users, "CORP\\alice", PASSWORD, |message| {
        let at = message
            .windows(target.len())
            .position(|window| window == target)
            .expect("MsvAvTargetName HTTP/localhost in the AUTHENTICATE_MESSAGE");
        message[at + target.len() - 2] = b'u';
    });
    assert!(
        answer.starts_with("REJECTED"),
        "a changed target name must not pass, said {answer:?}"
    );
}

/// A username that cannot be sent is refused before anything goes on the wire.
#[test]
fn an_unusable_username_is_refused_with_a_sentence() {
    let err = NtlmClient::new("CORP\\", &Sensitive::new(PASSWORD.to_owned()), "localhost")
        .expect_err("no user after the domain");
    assert!(matches!(err, NtlmError::BadUsername { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "\"CORP\\\" is not a username NTLM can sign in with. Give it as DOMAIN\\user, \
         user@domain or user."
    );
}

/// pyspnego's client (`ntlm_initiator.py`) through the simulator's acceptor as `/adfs/ls/wia`
/// would call it; returns the acceptor's last step. pyspnego asks for key exchange, signing and
/// sealing and sends a MIC, as Windows does, so this covers what Rolecall's client leaves out.
fn pyspnego_to_simulator(username: &str, password: &str) -> WiaStep {
    let sandbox = Sandbox::new();
    let python = python();
    let mut child = sandbox
        .command(&python)
        .arg(peer("ntlm_initiator.py"))
        .arg(username)
        .env("NTLM_PASSWORD", password)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|err| panic!("{} could not run ({err})", python.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut read_token = || {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("reading pyspnego");
        STANDARD.decode(line.trim()).unwrap_or_else(|err| {
            panic!(
                "pyspnego's client should print a base64 token ({err}), printed {line:?}; if \
                 pyspnego is missing, run scripts/setup and the tests through scripts/test"
            )
        })
    };
    let acceptor = NtlmAcceptor::new(&SimConfig::demo().users);
    let connection = 41;
    let negotiate = read_token();
    let WiaStep::Continue(challenge) = acceptor.accept("NTLM", &negotiate, connection) else {
        panic!("the simulator should challenge pyspnego's NEGOTIATE_MESSAGE");
    };
    writeln!(stdin, "{}", STANDARD.encode(&challenge)).expect("writing to pyspnego");
    stdin.flush().expect("flushing to pyspnego");
    let authenticate = read_token();
    let step = acceptor.accept("NTLM", &authenticate, connection);
    let _ = child.wait();
    step
}

#[test]
fn the_simulator_accepts_pyspnegos_ntlm_client_with_the_right_password_only() {
    for (username, sent_as) in [
        ("CORP\\alice", "alice"),
        ("alice@corp.example", "alice@corp.example"),
        ("alice", "alice"),
    ] {
        assert_eq!(
            pyspnego_to_simulator(username, DEMO_PASSWORD),
            WiaStep::Accepted {
                username: sent_as.to_owned(),
                reply: None
            },
            "the simulator should accept pyspnego as {username}"
        );
    }
    assert_eq!(
        pyspnego_to_simulator("CORP\\alice", "not the password"),
        WiaStep::Rejected,
        "a wrong password is refused"
    );
}

async fn sim() -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, SimConfig::demo()).await.unwrap()
}

fn wia_url(sim: &Sim) -> url::Url {
    sim.base_url()
        .join("adfs/ls/wia?loginToRp=urn:amazon:webservices")
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One leg: `Authorization: <scheme> <token>`. NTLM's legs must share a TCP connection, and
/// reqwest (hyper's pool) hands a connection back to its pool only after the body is read *and*
/// a background task has seen the connection ready again: a next request sent at once can find
/// the pool empty and open a new connection. So the body is read, and the leg waits a moment on
/// this test's single-threaded runtime, where that background task then surely runs.
async fn leg(
    http: &reqwest::Client,
    sim: &Sim,
    scheme: &str,
    token: &[u8],
) -> (StatusCode, reqwest::header::HeaderMap) {
    let response = http
        .get(wia_url(sim))
        .header(
            AUTHORIZATION,
            format!("{scheme} {}", STANDARD.encode(token)),
        )
        .send()
        .await
        .expect("the simulator answers");
    let status = response.status();
    let headers = response.headers().clone();
    response.bytes().await.expect("the body");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    (status, headers)
}

fn server_token(headers: &reqwest::header::HeaderMap, scheme: &str) -> Vec<u8> {
    let prefix = format!("{scheme} ");
    let offer = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("a {scheme} challenge with a token: {headers:?}"));
    STANDARD.decode(offer).expect("a base64 challenge")
}

/// Whether `/adfs/ls/wia` signed the user in: its 302 back to sign-on, with `MSISAuth`.
fn signed_in(status: StatusCode, headers: &reqwest::header::HeaderMap) -> bool {
    status == StatusCode::FOUND
        && headers.contains_key(LOCATION)
        && headers
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("MSISAuth")))
}

/// The whole WIA dance over HTTP as the sign-in loop will do it, with `NTLM` and with raw
/// NTLMSSP under `Negotiate` (what Windows clients send when Kerberos is out of reach).
#[tokio::test]
async fn the_ntlm_client_signs_in_to_the_simulators_wia_endpoint() {
    let sim = sim().await;
    for scheme in ["NTLM", "Negotiate"] {
        let http = http();
        let mut client = NtlmClient::new(
            "CORP\\alice",
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
            "127.0.0.1",
        )
        .unwrap();
        let negotiate = client.negotiate().unwrap();
        let (status, headers) = leg(&http, &sim, scheme, negotiate.expose()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{scheme}: leg one is challenged"
        );
        let authenticate = client
            .authenticate(&server_token(&headers, scheme))
            .unwrap();
        let (status, headers) = leg(&http, &sim, scheme, authenticate.expose()).await;
        assert!(
            signed_in(status, &headers),
            "{scheme}: the right password signs alice in: {status} {headers:?}"
        );
    }
    assert_eq!(
        sim.stats().sso_sessions,
        2,
        "two sign-ins, two SSO sessions"
    );
}

/// A wrong password, and the right one sent on another TCP connection than its challenge,
/// both get the plain challenge again and no session.
#[tokio::test]
async fn the_simulator_refuses_a_wrong_password_and_a_leg_on_another_connection() {
    let sim = sim().await;
    for (password, same_connection) in [("not the password", true), (DEMO_PASSWORD, false)] {
        let first = http();
        let mut client = NtlmClient::new(
            "CORP\\alice",
            &Sensitive::new(password.to_owned()),
            "127.0.0.1",
        )
        .unwrap();
        let negotiate = client.negotiate().unwrap();
        let (_, headers) = leg(&first, &sim, "NTLM", negotiate.expose()).await;
        let authenticate = client
            .authenticate(&server_token(&headers, "NTLM"))
            .unwrap();
        let second = if same_connection { first } else { http() };
        let (status, headers) = leg(&second, &sim, "NTLM", authenticate.expose()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "refused (password {password:?}, same connection {same_connection})"
        );
        let offers: Vec<_> = headers.get_all(WWW_AUTHENTICATE).iter().collect();
        assert_eq!(offers, ["Negotiate", "NTLM"], "the plain challenge again");
    }
    assert_eq!(sim.stats().sso_sessions, 0);
}
