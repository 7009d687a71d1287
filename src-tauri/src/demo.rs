//! `rolecall --demo`: the real app against the simulator (`rolecall-sim`) on loopback, in a
//! sandbox folder of its own, with five-minute sessions so renewals and expiry warnings come
//! while someone watches.
//!
//! The sandbox is a fixed folder in the user's cache (`~/.cache/rolecall/demo` on Linux), so
//! the person can find the files the demo writes; it is wiped at each start. The engine sees
//! only this folder: its settings, the AWS credentials and config files and the credential
//! socket are inside it, and the secrets live in memory. The real `~/.aws`, settings, keyring
//! and start-at-login entry are never touched.

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::demo;
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

/// Every session the demo's STS issues ends this long after it starts.
const SESSION: Duration = Duration::from_secs(5 * 60);
/// Who the demo's endpoint with a stored password signs in as.
const DEMO_USER: &str = "alice";
/// Who the person signs in as in the demo's sign-in window: the simulator asks them for a
/// passcode too.
const WINDOW_USER: &str = "bob";

/// The running demo: the simulator (stopped when dropped) and the sandbox the engine uses.
#[derive(Debug)]
pub struct Demo {
    pub guide: demo::Guide,
    _sim: Sim,
    pub paths: AppPaths,
    pub env: Environment,
    pub secrets: Arc<dyn SecretStore>,
}

impl Demo {
    /// Wipes and fills the sandbox, starts the simulator on 127.0.0.1 and prints how to use both.
    /// Must run inside the tokio runtime that keeps serving the simulator.
    pub async fn start() -> Result<Self, String> {
        let folder = demo::prepare(&Environment::from_process()).map_err(|err| err.to_string())?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|err| format!("the demo cannot listen on 127.0.0.1: {err}"))?;
        let mut config = SimConfig::demo();
        config.sts.session_cap = Some(SESSION);
        let users = describe_users(&config);
        let window_passcode = config
            .users
            .iter()
            .find(|user| user.username == WINDOW_USER)
            .and_then(|user| user.mfa.as_ref())
            .map(|mfa| mfa.passcode.clone())
            .ok_or_else(|| {
                format!("the demo's stand-in AD FS has no {WINDOW_USER} with a passcode")
            })?;
        let sim = Sim::start(listener, config)
            .await
            .map_err(|err| format!("the demo's stand-in AD FS cannot start: {err}"))?;
        let peers = demo::Peers {
            sign_on: sim.sign_on_url(),
            sts: sim.sts_url(),
            federation: sim.federation_url(),
            console: sim.console_url(),
        };
        let sandbox = demo::fill(&folder, &peers, DEMO_USER).map_err(|err| err.to_string())?;
        let secrets = MemoryStore::new();
        secrets
            .set(
                demo::ENDPOINT,
                SecretKind::Password,
                &Sensitive::new(DEMO_PASSWORD.to_owned()),
            )
            .map_err(|err| err.to_string())?;
        let sts = peers.sts.to_string();

        println!(
            "Rolecall demo: a stand-in AD FS and AWS on 127.0.0.1; nothing leaves this machine."
        );
        println!("Demo files: {}", folder.display());
        println!("Demo STS: {sts}");
        println!(
            "  Settings, AWS credentials and config are in that folder (wiped at each demo \
             start); your own ~/.aws, settings and keyring are not touched."
        );
        println!(
            "  In the tray: {0} → Sign in (as {DEMO_USER}, password stored for the demo), \
             then {0} → an account → a role: a click makes it \"default\". Sessions last {1} \
             minutes: watch them renew.",
            demo::ENDPOINT,
            SESSION.as_secs() / 60
        );
        println!(
            "  Or {} → Sign in: the sign-in window shows the IdP's page; type {WINDOW_USER}, \
             {DEMO_PASSWORD} and the passcode {window_passcode}.",
            demo::WINDOW_ENDPOINT
        );
        println!(
            "  The profiles work against the demo's STS only (real AWS would refuse them):\n    \
             . {}/env.sh && aws sts get-caller-identity",
            folder.display()
        );
        println!("  The stand-in AD FS knows (password {DEMO_PASSWORD}): {users}.");
        println!("  AD FS sign-on URL: {}", sim.sign_on_url());
        Ok(Self {
            guide: demo::Guide {
                folder,
                window_user: WINDOW_USER.to_owned(),
                window_password: DEMO_PASSWORD.to_owned(),
                window_passcode,
            },
            _sim: sim,
            paths: sandbox.paths,
            env: sandbox.env,
            secrets: Arc::new(secrets),
        })
    }
}

fn describe_users(config: &SimConfig) -> String {
    config
        .users
        .iter()
        .filter(|user| user.fault.is_none())
        .map(|user| match (&user.mfa, user.roles.len()) {
            (Some(mfa), _) => format!("{} (passcode {})", user.username, mfa.passcode),
            (None, 0) => format!("{} (no roles)", user.username),
            (None, count) => format!("{} ({count} roles)", user.username),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
