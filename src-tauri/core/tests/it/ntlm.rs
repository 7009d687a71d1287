//! NTLM with a username and password against a real acceptor: pyspnego's, run by
//! `tests/peers/ntlm_acceptor.py` with its users in an `NTLM_USER_FILE` inside the sandbox and
//! `LM_COMPAT_LEVEL=5` (the server refuses LM and NTLMv1, as hardened domains do).
//!
//! The acceptor's Python is `ROLECALL_PYTHON` if set, else `python3` on `PATH`; `scripts/test`
//! puts the test peers' venv (scripts/setup installs pyspnego there) first on `PATH`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rolecall_core::ntlm::{NtlmClient, NtlmError};
use rolecall_core::secrets::Sensitive;
use rolecall_tests::Sandbox;

const PASSWORD: &str = "alice's NTLM password, with ünïcode";

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
        let python =
            std::env::var_os("ROLECALL_PYTHON").map_or_else(|| "python3".into(), PathBuf::from);
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/ntlm_acceptor.py");
        let mut child = sandbox
            .command(&python)
            .arg(&script)
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
    let mut client =
        NtlmClient::new(username, &Sensitive::new(password.to_owned())).expect("an NTLM client");
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

/// A username that cannot be sent is refused before anything goes on the wire.
#[test]
fn an_unusable_username_is_refused_with_a_sentence() {
    let err = NtlmClient::new("CORP\\", &Sensitive::new(PASSWORD.to_owned()))
        .expect_err("no user after the domain");
    assert!(matches!(err, NtlmError::BadUsername { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "\"CORP\\\" is not a username NTLM can sign in with. Give it as DOMAIN\\user, \
         user@domain or user."
    );
}
