//! `rolecall --demo`: the real app against the simulator (`rolecall-sim`) on loopback, in a
//! sandbox folder of its own, with five-minute sessions so renewals and expiry warnings come
//! while someone watches.
//!
//! The sandbox is a fixed folder in the user's cache (`~/.cache/rolecall/demo` on Linux), so
//! the person can find the files the demo writes; it is wiped at each start. The engine sees
//! only this folder: its settings, the AWS credentials and config files and the credential
//! socket are inside it, and the secrets live in memory. The real `~/.aws`, settings, keyring
//! and start-at-login entry are never touched.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rolecall_core::paths::{self, AppPaths, Environment, Platform};
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
use rolecall_core::tray_menu;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

/// Every session the demo's STS issues ends this long after it starts.
const SESSION: Duration = Duration::from_secs(5 * 60);
/// The endpoint the demo sets up, signed in to as [`DEMO_USER`].
const ENDPOINT: &str = "demo";
const DEMO_USER: &str = "alice";
/// A file that marks a folder as the demo's own, so a wipe never removes anything else.
const MARKER: &str = ".rolecall-demo";
/// The region written with the demo's profiles, so the AWS CLI needs no `--region`.
const REGION: &str = "us-east-1";

/// The running demo: the simulator (stopped when dropped) and the sandbox the engine uses.
#[derive(Debug)]
pub struct Demo {
    folder: PathBuf,
    _sim: Sim,
    pub paths: AppPaths,
    pub env: Environment,
    pub secrets: Arc<dyn SecretStore>,
}

impl Demo {
    /// Wipes and fills the sandbox, starts the simulator on 127.0.0.1 and prints how to use both.
    /// Must run inside the tokio runtime that keeps serving the simulator.
    pub async fn start() -> Result<Self, String> {
        let folder = folder()?;
        prepare(&folder)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|err| format!("the demo cannot listen on 127.0.0.1: {err}"))?;
        let mut config = SimConfig::demo();
        config.sts.session_cap = Some(SESSION);
        let users = describe_users(&config);
        let sim = Sim::start(listener, config)
            .await
            .map_err(|err| format!("the demo's stand-in AD FS cannot start: {err}"))?;

        let sts = sim.sts_url().to_string();
        // Built from nothing, not from the process: no variable of the person's own session
        // (HOME, XDG_RUNTIME_DIR, AWS_*) can lead the engine out of the sandbox.
        let env = Environment::new(Platform::current())
            .with("ROLECALL_CONFIG_DIR", path_text(&folder.join("rolecall")))
            .with(
                "AWS_SHARED_CREDENTIALS_FILE",
                path_text(&folder.join("credentials")),
            )
            .with("AWS_CONFIG_FILE", path_text(&folder.join("config")))
            .with("AWS_ENDPOINT_URL_STS", sts.clone())
            .with("ROLECALL_SIGNIN_ENDPOINT", sim.federation_url().to_string())
            .with("ROLECALL_CONSOLE_ENDPOINT", sim.console_url().to_string());
        let paths = AppPaths::resolve(&env).map_err(|err| err.to_string())?;
        seed_settings(&paths, &sim)?;
        let secrets = MemoryStore::new();
        secrets
            .set(
                ENDPOINT,
                SecretKind::Password,
                &Sensitive::new(DEMO_PASSWORD.to_owned()),
            )
            .map_err(|err| err.to_string())?;
        write_env_file(&folder, &sts)?;

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
            "  In the tray: {ENDPOINT} → Sign in (as {DEMO_USER}, password stored for the demo), \
             then a role → Use as \"default\". Sessions last {} minutes: watch them renew.",
            SESSION.as_secs() / 60
        );
        println!(
            "  The profiles work against the demo's STS only (real AWS would refuse them):\n    \
             . {}/env.sh && aws sts get-caller-identity",
            folder.display()
        );
        println!("  The stand-in AD FS knows (password {DEMO_PASSWORD}): {users}.");
        println!("  AD FS sign-on URL: {}", sim.sign_on_url());
        Ok(Self {
            folder,
            _sim: sim,
            paths,
            env,
            secrets: Arc::new(secrets),
        })
    }

    /// The sandbox folder the demo writes to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// A line that says it is the demo, and where its files are.
    pub fn label(&self) -> String {
        tray_menu::demo_label(&self.folder)
    }
}

/// `demo` in Rolecall's folder of the user's cache ([`paths::cache_dir`]).
fn folder() -> Result<PathBuf, String> {
    let cache = paths::cache_dir(&Environment::from_process())
        .map_err(|err| format!("the demo has no folder for its files: {err}"))?;
    Ok(cache.join("demo"))
}

/// Empties the folder (only if it is the demo's own) and marks it as the demo's.
fn prepare(folder: &Path) -> Result<(), String> {
    let named = |err: std::io::Error| format!("the demo folder {}: {err}", folder.display());
    if folder.exists() {
        let empty = std::fs::read_dir(folder).map_err(named)?.next().is_none();
        if !empty && !folder.join(MARKER).exists() {
            return Err(format!(
                "{} holds files the demo did not write, so it will not wipe it. Move them \
                 away and start the demo again.",
                folder.display()
            ));
        }
        std::fs::remove_dir_all(folder).map_err(named)?;
    }
    std::fs::create_dir_all(folder).map_err(named)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).map_err(named)?;
    }
    std::fs::write(
        folder.join(MARKER),
        "This folder belongs to `rolecall --demo`, which wipes it at each start.\n",
    )
    .map_err(named)
}

/// One endpoint, the simulator's AD FS with forms sign-in as alice, and short lead times to
/// match the five-minute sessions.
fn seed_settings(paths: &AppPaths, sim: &Sim) -> Result<(), String> {
    let mut endpoint =
        Endpoint::new(ENDPOINT, sim.sign_on_url().as_str()).map_err(|err| err.to_string())?;
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some(DEMO_USER.to_owned());
    let mut settings = Settings::default();
    settings.endpoints.push(endpoint);
    let preferences = &mut settings.preferences;
    // STS's shortest session; the simulator cuts it to five minutes.
    preferences.session_duration_secs = 900;
    preferences.refresh_lead_minutes = 2;
    preferences.notify_lead_minutes = 3;
    preferences.default_region = Some(REGION.to_owned());
    preferences.default_output = Some("json".to_owned());
    settings.save(paths).map_err(|err| err.to_string())
}

/// `env.sh`: the variables that point the AWS CLI at the demo's files and STS.
fn write_env_file(folder: &Path, sts: &str) -> Result<(), String> {
    let quoted = |path: &Path| format!("'{}'", path.display().to_string().replace('\'', r"'\''"));
    let text = format!(
        "# Points the AWS tools at Rolecall's demo: `. {env}`\n\
         export AWS_SHARED_CREDENTIALS_FILE={credentials}\n\
         export AWS_CONFIG_FILE={config}\n\
         export AWS_ENDPOINT_URL_STS='{sts}'\n",
        env = folder.join("env.sh").display(),
        credentials = quoted(&folder.join("credentials")),
        config = quoted(&folder.join("config")),
    );
    std::fs::write(folder.join("env.sh"), text)
        .map_err(|err| format!("the demo folder {}: {err}", folder.display()))
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

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
