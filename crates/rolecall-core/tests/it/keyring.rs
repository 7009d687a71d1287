//! Rolecall's keyring store against a real Secret Service: gnome-keyring on a private session
//! bus, its keyring files in the test's sandbox.
//!
//! keyring 4 connects to the session bus once per process, at the first entry, with
//! `DBUS_SESSION_BUS_ADDRESS` from the process environment, and keeps that connection (see
//! `rolecall_core::secrets::Keyring`). Setting the variable in this multi-threaded test binary
//! would race with every other test, and the connection could not be changed afterwards anyway.
//! So each scenario runs its client half in a child process: this same test binary, re-run with
//! `--exact <child test>` and the private bus (plus the sandbox's HOME and XDG folders) as its
//! whole environment. The child tests are `#[ignore]`d and return at once unless
//! `ROLECALL_KEYRING_CHILD` is set, so a normal run never touches any real keyring.

use rolecall_core::secrets::{Keyring, SecretKind, SecretStore, SecretsError, Sensitive};
use rolecall_tests::Sandbox;
use rolecall_tests::keyring::{SecretService, SessionBus};
use std::ffi::OsString;

const CHILD: &str = "ROLECALL_KEYRING_CHILD";
/// Printed by a child when it has checked everything, so the parent knows it really ran.
const DONE: &str = "keyring child: all checks passed";

const PASSWORD: &str = "correct horse ü battery staple";

/// An AD FS SSO cookie jar of about 5 KB: more than Windows Credential Manager takes in one
/// entry, so it is stored as chunks on every platform.
fn sso_cookies() -> String {
    let msisauth = "MSISAuth=".to_owned() + &"AAEAADbq9J5k0Yx8Vw+Qz/".repeat(220);
    format!(
        "{msisauth}; MSISAuthenticated=MTEvMjQvMjAyNiAxMDo0NToxMiBQTQ==; MSISLoopDetectionCookie=x"
    )
}

/// Runs `test` of this binary in a child process with only `env` (and `PATH`) set; returns its
/// output after checking that it ran and passed.
fn run_child(sandbox: &Sandbox, env: Vec<(&'static str, OsString)>, test: &str) -> String {
    rolecall_tests::run_child_test(sandbox, CHILD, DONE, env, test)
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn secret(value: &str) -> Sensitive<String> {
    Sensitive::new(value.to_owned())
}

fn rolecall_items(service: &SecretService, username: &str) -> usize {
    service.count_items(&[("service", "rolecall"), ("username", username)])
}

#[test]
fn passwords_and_large_sso_cookies_live_in_the_secret_service() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, "login password");

    run_child(&sandbox, service.env(), "keyring::child_stores_secrets");
    // Seen from outside Rolecall: the password is one item, the cookies a header plus chunks.
    assert_eq!(rolecall_items(&service, "password:corp"), 1);
    assert_eq!(rolecall_items(&service, "sso:corp"), 1);
    let chunks = (0..10)
        .take_while(|index| rolecall_items(&service, &format!("sso:corp#{index}")) == 1)
        .count();
    assert_eq!(
        chunks,
        sso_cookies().chars().count().div_ceil(1280),
        "cookie chunks"
    );

    // A new process (the app after a restart) reads them back, then deletes them.
    run_child(
        &sandbox,
        service.env(),
        "keyring::child_reads_and_deletes_secrets",
    );
    for username in ["password:corp", "sso:corp", "sso:corp#0", "sso:corp#1"] {
        assert_eq!(
            rolecall_items(&service, username),
            0,
            "{username} should be deleted"
        );
    }
}

#[test]
#[ignore = "run by passwords_and_large_sso_cookies_live_in_the_secret_service in a child process"]
fn child_stores_secrets() {
    if !in_child() {
        return;
    }
    let keyring = Keyring::new();
    keyring
        .set("corp", SecretKind::Password, &secret(PASSWORD))
        .expect("storing the password");
    keyring
        .set("corp", SecretKind::SsoCookies, &secret(&sso_cookies()))
        .expect("storing 5 KB of SSO cookies");
    assert_eq!(
        keyring
            .get("corp", SecretKind::Password)
            .expect("reading the password"),
        Some(secret(PASSWORD))
    );
    println!("{DONE}");
}

#[test]
#[ignore = "run by passwords_and_large_sso_cookies_live_in_the_secret_service in a child process"]
fn child_reads_and_deletes_secrets() {
    if !in_child() {
        return;
    }
    let keyring = Keyring::new();
    assert_eq!(
        keyring
            .get("corp", SecretKind::Password)
            .expect("reading the password"),
        Some(secret(PASSWORD)),
        "the password stored by the previous process"
    );
    assert_eq!(
        keyring
            .get("corp", SecretKind::SsoCookies)
            .expect("reading the SSO cookies"),
        Some(secret(&sso_cookies())),
        "the chunked cookies, reassembled"
    );
    assert_eq!(
        keyring
            .get("other", SecretKind::Password)
            .expect("reading nothing"),
        None
    );
    keyring
        .forget_endpoint("corp")
        .expect("deleting both secrets");
    assert_eq!(
        keyring
            .get("corp", SecretKind::Password)
            .expect("after delete"),
        None
    );
    assert_eq!(
        keyring
            .get("corp", SecretKind::SsoCookies)
            .expect("after delete"),
        None
    );
    keyring
        .delete("corp", SecretKind::Password)
        .expect("deleting what is gone is not an error");
    println!("{DONE}");
}

/// With no Secret Service on the bus (no desktop session, or gnome-keyring not running), the
/// person is told to unlock their keyring or log in, not shown a D-Bus error.
#[test]
fn no_secret_service_means_no_unlocked_keyring() {
    let sandbox = Sandbox::new();
    let bus = SessionBus::start(&sandbox);
    let output = run_child(&sandbox, bus.env(), "keyring::child_finds_no_keyring");
    assert!(
        output.contains("could not reach an unlocked keyring"),
        "{output}"
    );
}

/// A Secret Service whose keyring nobody unlocked: storing must fail with the same sentence.
#[test]
fn a_locked_secret_service_means_no_unlocked_keyring() {
    let sandbox = Sandbox::new();
    let service = SecretService::start_locked(&sandbox);
    let output = run_child(&sandbox, service.env(), "keyring::child_finds_no_keyring");
    assert!(
        output.contains("could not reach an unlocked keyring"),
        "{output}"
    );
}

#[test]
#[ignore = "run by the no/locked Secret Service tests in a child process"]
fn child_finds_no_keyring() {
    if !in_child() {
        return;
    }
    let keyring = Keyring::new();
    let err = keyring
        .set("corp", SecretKind::Password, &secret(PASSWORD))
        .expect_err("there is no keyring to store in");
    assert!(
        matches!(err, SecretsError::Unavailable { .. }),
        "expected Unavailable, got {err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Rolecall could not reach an unlocked keyring (Secret Service). Unlock your keyring \
         (GNOME Keyring, KWallet) or log in to a desktop session, then try again."
    );
    println!("{err}\n{err:?}");
    println!("{DONE}");
}
