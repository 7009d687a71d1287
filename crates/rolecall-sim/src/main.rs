//! `rolecall-sim [--port N] [--kerberos] [--paginated] [--home-realm]`: serves the demo
//! directory on 127.0.0.1 until interrupted, and prints where to point Rolecall and whom to
//! sign in as. `--paginated` asks for the username and the password on two pages, as AD FS
//! 2019+ can; `--home-realm` first asks which claims provider to sign in with.
//!
//! The first line of stdout is always `AD FS sign-on URL: <url>`, so a script or test that
//! starts the simulator with `--port 0` can read where it listens. With `--kerberos`, `/adfs/ls/wia`
//! also accepts Kerberos (Negotiate) tickets for the services in the keytab named by
//! `KRB5_KTNAME`.

use std::process::ExitCode;
use std::sync::Arc;

use rolecall_sim::negotiate::KerberosWia;
use rolecall_sim::{ClaimsProviderTrust, DEMO_PASSWORD, Sim, SimConfig};

/// The demo's port unless `--port` says otherwise (`--port 0` picks a free one).
const DEFAULT_PORT: u16 = 44380;

const USAGE: &str = "usage: rolecall-sim [--port N] [--kerberos] [--paginated] [--home-realm]";

#[derive(Debug)]
struct Options {
    port: u16,
    kerberos: bool,
    paginated: bool,
    home_realm: bool,
}

fn options_from_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        port: DEFAULT_PORT,
        kerberos: false,
        paginated: false,
        home_realm: false,
    };
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--kerberos" => {
                options.kerberos = true;
                continue;
            }
            "--paginated" => {
                options.paginated = true;
                continue;
            }
            "--home-realm" => {
                options.home_realm = true;
                continue;
            }
            "--port" => args.next().ok_or("--port needs a number")?,
            other => match other.strip_prefix("--port=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unknown argument {other:?}; {USAGE}")),
            },
        };
        options.port = value
            .parse()
            .map_err(|_| format!("--port {value:?} is not a port number"))?;
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options_from_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("rolecall-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let mut config = SimConfig::demo();
    config.paginated = options.paginated;
    if options.home_realm {
        config.claims_providers = ClaimsProviderTrust::directory_and_partner();
    }
    if options.kerberos {
        match KerberosWia::from_keytab() {
            Ok(acceptor) => config.wia = Some(Arc::new(acceptor)),
            Err(message) => {
                eprintln!("rolecall-sim: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    let port = options.port;
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("rolecall-sim: cannot listen on 127.0.0.1:{port}: {error}. Try --port 0.");
            return ExitCode::FAILURE;
        }
    };
    let users: Vec<String> = config.users.iter().map(|u| u.username.clone()).collect();
    let sim = match Sim::start(listener, config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("rolecall-sim: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Tests read this first line; keep it first and in this form.
    println!("AD FS sign-on URL: {}", sim.sign_on_url());
    println!("AWS sign-in stand-in: {}", sim.signin_saml_url());
    println!("Users (password {DEMO_PASSWORD}): {}", users.join(", "));
    println!("bob's passcode is 123456, dave's 654321. Ctrl-C stops the simulator.");
    if options.kerberos {
        println!(
            "Kerberos: /adfs/ls/wia accepts tickets for the services in KRB5_KTNAME's keytab \
             (use http://localhost:<port>/... for HTTP/localhost)."
        );
    }
    // Ctrl-C's default action ends the process; there is nothing to flush.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
