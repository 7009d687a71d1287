//! Integrated sign-in against a real MIT KDC: Rolecall's Negotiate client turns a ticket from
//! `kinit` into an SPNEGO token, and the simulator's acceptor checks it with the service keytab.
//!
//! GSSAPI reads `KRB5_CONFIG`, `KRB5CCNAME` and `KRB5_KTNAME` from the process environment,
//! which this multi-threaded test binary must not change. So, as in `keyring.rs`, each scenario
//! runs its Kerberos half in a child process: this same binary, re-run with
//! `--exact <child test>` and the KDC's variables as its whole environment. The child tests are
//! `#[ignore]`d and return at once unless `ROLECALL_NEGOTIATE_CHILD` is set.
//!
//! The acceptor is `rolecall-sim`'s, the one its `/adfs/ls/wia` uses.

use rolecall_core::negotiate::{NegotiateClient, NegotiateError};
use rolecall_core::secrets::Sensitive;
use rolecall_sim::negotiate::KerberosAcceptor;
use rolecall_tests::Sandbox;
use rolecall_tests::kdc::{ALICE, ALICE_PASSWORD, Kdc};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

const CHILD: &str = "ROLECALL_NEGOTIATE_CHILD";
/// Printed by a child when it has checked everything, so the parent knows it really ran.
const DONE: &str = "negotiate child: all checks passed";

/// Runs `test` of this binary in a child process with only the sandbox's variables, `env` and
/// `PATH` set; returns its output after checking that it ran and passed.
fn run_child(sandbox: &Sandbox, env: Vec<(&'static str, OsString)>, test: &str) -> String {
    let text = rolecall_tests::run_child_test(sandbox, CHILD, DONE, env, test);
    // Shown with --nocapture, or when the parent's own checks fail.
    println!("{text}");
    text
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// The KDC's variables with `KRB5CCNAME` pointing at alice's fresh ticket cache.
fn alice_env(sandbox: &Sandbox, kdc: &Kdc) -> Vec<(&'static str, OsString)> {
    let ccache = sandbox.root().join("alice.ccache");
    kdc.kinit(ALICE, ALICE_PASSWORD, &ccache);
    let mut env = kdc.env();
    env.retain(|(name, _)| *name != "KRB5CCNAME");
    env.push(("KRB5CCNAME", ccache_name(&ccache)));
    env
}

fn ccache_name(path: &Path) -> OsString {
    let mut name = OsString::from("FILE:");
    name.push(path);
    name
}

/// The browser case: one SPNEGO leg with alice's ticket, and the server's mutual-auth reply
/// completes the client's side.
#[test]
fn a_kerberos_ticket_signs_in_as_its_user() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let output = run_child(
        &sandbox,
        alice_env(&sandbox, &kdc),
        "negotiate::child_signs_in_with_a_ticket",
    );
    assert!(
        output.contains(&format!("accepted {ALICE} for HTTP/localhost")),
        "the acceptor should have named alice:\n{output}"
    );
}

#[test]
#[ignore = "run by a_kerberos_ticket_signs_in_as_its_user in a child process"]
fn child_signs_in_with_a_ticket() {
    if !in_child() {
        return;
    }
    let acceptor = KerberosAcceptor::new().expect("an acceptor with the test keytab");
    for host in ["localhost", "127.0.0.1"] {
        let mut client = NegotiateClient::new(host).expect("a Negotiate client");
        let token = client
            .step(None)
            .expect("the first token from alice's ticket")
            .expect("the first step gives a token to send");
        // SPNEGO's initial token: an [APPLICATION 0] GSS-API token with the SPNEGO OID.
        assert_eq!(
            token.expose().first(),
            Some(&0x60),
            "an initial context token"
        );
        assert!(
            !client.is_complete(),
            "mutual authentication waits for the server"
        );

        let accepted = acceptor
            .accept(token.expose())
            .unwrap_or_else(|err| panic!("the acceptor should take alice's token: {err}"));
        assert_eq!(accepted.principal, ALICE, "the client the KDC vouched for");
        let reply = accepted
            .reply
            .expect("a mutual-authentication reply for the client");

        let last = client
            .step(Some(&reply))
            .unwrap_or_else(|err| panic!("the server's reply should verify: {err:?}"));
        assert!(last.is_none(), "nothing more to send after the reply");
        assert!(client.is_complete(), "the server proved who it is");
        println!("accepted {} for HTTP/{host}", accepted.principal);
    }

    // A token that is not Kerberos is refused with words, not a panic.
    let err = acceptor
        .accept(b"not a token")
        .expect_err("garbage is refused");
    assert!(err.contains("refused"), "{err}");
    println!("{DONE}");
}

/// Before `kinit` (or a domain login) there is nothing to sign in with: the person is told
/// what to run, not shown a GSSAPI status.
#[test]
fn no_ticket_says_to_run_kinit() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let output = run_child(&sandbox, kdc.env(), "negotiate::child_has_no_ticket");
    assert!(output.contains("Run `kinit"), "{output}");
}

#[test]
#[ignore = "run by no_ticket_says_to_run_kinit and an_expired_ticket_says_to_run_kinit in a child process"]
fn child_has_no_ticket() {
    if !in_child() {
        return;
    }
    let err = NegotiateClient::new("localhost")
        .and_then(|mut client| client.step(None))
        .expect_err("there is no ticket to make a token from");
    assert!(
        matches!(&err, NegotiateError::NoTicket { host, .. } if host == "localhost"),
        "expected NoTicket, got {err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Rolecall found no valid Kerberos ticket for integrated sign-in to localhost. Run \
         `kinit you@REALM` (or log in to your domain account), then try again."
    );
    println!("{err}\n{err:?}");
    println!("{DONE}");
}

/// A ticket from yesterday's login has expired: that is no ticket too, with the same advice.
#[test]
fn an_expired_ticket_says_to_run_kinit() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let ccache = sandbox.root().join("expired.ccache");
    kdc.kinit_for(ALICE, ALICE_PASSWORD, &ccache, Duration::from_secs(1));
    std::thread::sleep(Duration::from_millis(2500));
    let mut env = kdc.env();
    env.retain(|(name, _)| *name != "KRB5CCNAME");
    env.push(("KRB5CCNAME", ccache_name(&ccache)));
    let output = run_child(&sandbox, env, "negotiate::child_has_no_ticket");
    assert!(output.contains("Run `kinit"), "{output}");
}

/// An AD FS host whose SPN nobody registered: the KDC says "Server not found in Kerberos
/// database", and the person is pointed at the SPN or at forms sign-in.
#[test]
fn a_host_the_kdc_does_not_know_is_an_unknown_server() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let output = run_child(
        &sandbox,
        alice_env(&sandbox, &kdc),
        "negotiate::child_meets_an_unknown_server",
    );
    assert!(output.contains("SPN registered"), "{output}");
}

#[test]
#[ignore = "run by a_host_the_kdc_does_not_know_is_an_unknown_server in a child process"]
fn child_meets_an_unknown_server() {
    if !in_child() {
        return;
    }
    // nosuch.example is in the realm but has no SPN; nosuch.invalid is in no realm at all (the
    // KDC has no cross-realm key for INVALID). Both are "not found in Kerberos database".
    for (host, missing) in [
        ("nosuch.example", "HTTP/nosuch.example@ROLECALL.TEST"),
        ("nosuch.invalid", "krbtgt/INVALID@ROLECALL.TEST"),
    ] {
        let err = NegotiateClient::new(host)
            .and_then(|mut client| client.step(None))
            .expect_err("the KDC does not know the service");
        let NegotiateError::UnknownServer {
            host: named,
            detail,
        } = &err
        else {
            panic!("expected UnknownServer for {host}, got {err:?}");
        };
        assert_eq!(named, host);
        assert!(
            detail.contains(&format!("Server {missing} not found in Kerberos database")),
            "the detail keeps the KDC's words: {detail}"
        );
        assert!(
            !err.to_string().contains("not found in Kerberos database"),
            "the message leaves the raw status out: {err}"
        );
        println!("{err}\n{err:?}");
    }
    println!("{DONE}");
}

/// Kerberos with a username and password, for a laptop that is not in the domain: no `kinit`,
/// no ticket cache before or after, and the acceptor still sees alice.
#[test]
fn a_password_signs_in_without_any_ticket_cache() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    // kdc.env() points KRB5CCNAME at a cache nobody filled; it must stay that way.
    let output = run_child(
        &sandbox,
        kdc.env(),
        "negotiate::child_signs_in_with_a_password",
    );
    assert!(
        output.contains(&format!("accepted {ALICE} with a password")),
        "the acceptor should have named alice:\n{output}"
    );
    for cache in [kdc.empty_ccache(), sandbox.root().join("krb5cc")] {
        assert!(
            !cache.exists(),
            "signing in with a password must write no ticket cache, but {} exists",
            cache.display()
        );
    }
}

#[test]
#[ignore = "run by a_password_signs_in_without_any_ticket_cache in a child process"]
fn child_signs_in_with_a_password() {
    if !in_child() {
        return;
    }
    let acceptor = KerberosAcceptor::new().expect("an acceptor with the test keytab");
    let password = Sensitive::new(ALICE_PASSWORD.to_owned());
    // The full principal, and the bare name in the configuration's default realm.
    for principal in [ALICE, "alice"] {
        let mut client = NegotiateClient::with_password("localhost", principal, &password)
            .unwrap_or_else(|err| panic!("alice's password should get a ticket: {err} {err:?}"));
        let token = client
            .step(None)
            .expect("a token from the in-memory ticket")
            .expect("the first step gives a token to send");
        let accepted = acceptor
            .accept(token.expose())
            .unwrap_or_else(|err| panic!("the acceptor should take alice's token: {err}"));
        assert_eq!(accepted.principal, ALICE, "the KDC vouched for alice");
        let reply = accepted.reply.expect("a mutual-authentication reply");
        assert!(
            client
                .step(Some(&reply))
                .expect("the reply verifies")
                .is_none()
        );
        assert!(client.is_complete(), "the server proved who it is");
        println!(
            "accepted {} with a password as {principal}",
            accepted.principal
        );
    }
    println!("{DONE}");
}

/// A wrong password (or a user the realm does not know) is the person's to fix, and says so;
/// a Windows-style DOMAIN\user is refused before the KDC is asked.
#[test]
fn a_wrong_password_is_a_bad_password() {
    let sandbox = Sandbox::new();
    let kdc = Kdc::start(&sandbox);
    let output = run_child(&sandbox, kdc.env(), "negotiate::child_has_a_wrong_password");
    assert!(output.contains("did not accept the password"), "{output}");
}

#[test]
#[ignore = "run by a_wrong_password_is_a_bad_password in a child process"]
fn child_has_a_wrong_password() {
    if !in_child() {
        return;
    }
    for (principal, password) in [
        (ALICE, "not alice's password"),
        ("mallory@ROLECALL.TEST", ALICE_PASSWORD),
    ] {
        let err = NegotiateClient::with_password(
            "localhost",
            principal,
            &Sensitive::new(password.to_owned()),
        )
        .expect_err("the KDC refuses");
        let NegotiateError::BadPassword {
            principal: named, ..
        } = &err
        else {
            panic!("expected BadPassword for {principal}, got {err:?}");
        };
        assert_eq!(named, principal);
        assert_eq!(
            err.to_string(),
            format!(
                "Kerberos did not accept the password for {principal} (or does not know that \
                 user). Check the username and password in Settings → Endpoints, then try again."
            )
        );
        assert!(
            !format!("{err:?}").contains(password),
            "the password is never in the error: {err:?}"
        );
        println!("{err}\n{err:?}");
    }
    let err = NegotiateClient::with_password(
        "localhost",
        "CORP\\alice",
        &Sensitive::new(ALICE_PASSWORD.to_owned()),
    )
    .expect_err("not a Kerberos principal");
    assert!(
        matches!(err, NegotiateError::BadPrincipal { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("user@REALM"), "{err}");
    println!("{DONE}");
}
