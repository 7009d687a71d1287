//! `rolecall doctor`: the core's checks, printed for a person or as JSON, with the exit code
//! of the first failed check.

use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::clock::SystemClock;
use rolecall_core::doctor::{self, SystemKerberos};
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::secrets::Keyring;

use super::{exit, fail};

pub(crate) async fn run(json: bool, endpoint: Option<String>) -> ExitCode {
    let env = Environment::from_process();
    let paths = match AppPaths::resolve(&env) {
        Ok(paths) => paths,
        Err(err) => return fail(exit::USAGE, &err.to_string()),
    };
    let request = doctor::Request {
        paths,
        env,
        clock: Arc::new(SystemClock),
        secrets: Arc::new(Keyring::new()),
        kerberos: Arc::new(SystemKerberos),
        endpoint,
    };
    let report = doctor::run(&request).await;
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(err) => return fail(exit::OTHER, &format!("could not print JSON: {err}")),
        }
    } else {
        print!("{}", report.text());
    }
    ExitCode::from(report.exit_code)
}
