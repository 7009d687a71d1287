//! `rolecall-sim [--port N]`: serves the demo directory on 127.0.0.1 until interrupted, and
//! prints where to point Rolecall and whom to sign in as.

use std::process::ExitCode;

use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

/// The demo's port unless `--port` says otherwise (`--port 0` picks a free one).
const DEFAULT_PORT: u16 = 44380;

fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = DEFAULT_PORT;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" => args.next().ok_or("--port needs a number")?,
            other => match other.strip_prefix("--port=") {
                Some(value) => value.to_owned(),
                None => {
                    return Err(format!(
                        "unknown argument {other:?}; usage: rolecall-sim [--port N]"
                    ));
                }
            },
        };
        port = value
            .parse()
            .map_err(|_| format!("--port {value:?} is not a port number"))?;
    }
    Ok(port)
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match port_from_args() {
        Ok(port) => port,
        Err(message) => {
            eprintln!("rolecall-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("rolecall-sim: cannot listen on 127.0.0.1:{port}: {error}. Try --port 0.");
            return ExitCode::FAILURE;
        }
    };
    let config = SimConfig::demo();
    let users: Vec<String> = config.users.iter().map(|u| u.username.clone()).collect();
    let sim = match Sim::start(listener, config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("rolecall-sim: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("AD FS sign-on URL: {}", sim.sign_on_url());
    println!("AWS sign-in stand-in: {}", sim.signin_saml_url());
    println!("Users (password {DEMO_PASSWORD}): {}", users.join(", "));
    println!("bob's passcode is 123456, dave's 654321. Ctrl-C stops the simulator.");
    // Ctrl-C's default action ends the process; there is nothing to flush.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
