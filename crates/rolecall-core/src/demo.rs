//! The demo's sandbox (`rolecall --demo`): a fixed folder in the user's cache that the demo
//! wipes at each start, the environment that points the engine into it and nowhere else, the
//! settings it starts with, and `env.sh` for the AWS tools. The tray app runs the simulator;
//! everything written to the disk is written here.

use std::io;
use std::path::{Path, PathBuf};

use url::Url;

use crate::paths::{self, AppPaths, Environment, PathsError, Platform};
use crate::settings::{Endpoint, Settings, SettingsError, SignInMethod};

/// The demo's endpoint that signs in with a stored password.
pub const ENDPOINT: &str = "demo";
/// The demo's endpoint that signs in in Rolecall's window, where the person types.
pub const WINDOW_ENDPOINT: &str = "demo-window";
/// A file that marks a folder as the demo's own, so a wipe never removes anything else.
const MARKER: &str = ".rolecall-demo";
/// The region written with the demo's profiles, so the AWS CLI needs no `--region`.
pub const REGION: &str = "us-east-1";

/// Where the simulator the demo runs answers.
#[derive(Debug, Clone)]
pub struct Peers {
    pub sign_on: Url,
    pub sts: Url,
    pub federation: Url,
    pub console: Url,
}

/// What the demo tells the person, in the tray and in the settings window: where its files
/// are and what to type in the sign-in window. The demo's password is the simulator's, known
/// to anyone who reads its source: not a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guide {
    pub folder: PathBuf,
    /// Who the sign-in window's endpoint is for, with the password and the passcode to type.
    pub window_user: String,
    pub window_password: String,
    pub window_passcode: String,
}

impl Guide {
    /// The tray's first lines after the status: each thing once.
    pub fn tray_lines(&self) -> [String; 2] {
        [
            format!("Demo — files in {}", self.folder.display()),
            format!(
                "{WINDOW_ENDPOINT}: type {}, {}, passcode {}",
                self.window_user, self.window_password, self.window_passcode
            ),
        ]
    }

    /// The settings window's banner.
    pub fn banner(&self) -> String {
        format!(
            "This is Rolecall's demo, against a stand-in AD FS and AWS on this machine. Its \
             files are in {}, wiped at each start, and passwords stay in memory until it quits. \
             \"{ENDPOINT}\" signs in with a stored password; in \"{WINDOW_ENDPOINT}\" you type \
             {} with password {} and passcode {}.",
            self.folder.display(),
            self.window_user,
            self.window_password,
            self.window_passcode
        )
    }
}

/// The demo's folder and the world the engine sees in it.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub folder: PathBuf,
    pub env: Environment,
    pub paths: AppPaths,
}

/// `demo` in Rolecall's folder of the user's cache, emptied (only if it is the demo's own) and
/// marked as the demo's.
pub fn prepare(process: &Environment) -> Result<PathBuf, DemoError> {
    let folder = paths::cache_dir(process)?.join("demo");
    let named = |source: io::Error| DemoError::Folder {
        folder: folder.clone(),
        source,
    };
    if folder.exists() {
        let empty = std::fs::read_dir(&folder).map_err(named)?.next().is_none();
        if !empty && !folder.join(MARKER).exists() {
            return Err(DemoError::NotTheDemos { folder });
        }
        std::fs::remove_dir_all(&folder).map_err(named)?;
    }
    std::fs::create_dir_all(&folder).map_err(named)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).map_err(named)?;
    }
    std::fs::write(
        folder.join(MARKER),
        "This folder belongs to `rolecall --demo`, which wipes it at each start.\n",
    )
    .map_err(named)?;
    Ok(folder)
}

/// The sandbox in `folder`, with the settings the demo starts with (an endpoint with forms
/// sign-in as `username`, one with the sign-in window, lead times that suit five-minute
/// sessions) and `env.sh`. The
/// environment is built from nothing, not from the process: no variable of the person's own
/// session (HOME, XDG_RUNTIME_DIR, AWS_*) can lead the engine out of the sandbox.
pub fn fill(folder: &Path, peers: &Peers, username: &str) -> Result<Sandbox, DemoError> {
    let text = |path: PathBuf| path.to_string_lossy().into_owned();
    let env = Environment::new(Platform::current())
        .with("ROLECALL_CONFIG_DIR", text(folder.join("rolecall")))
        .with(
            "AWS_SHARED_CREDENTIALS_FILE",
            text(folder.join("credentials")),
        )
        .with("AWS_CONFIG_FILE", text(folder.join("config")))
        .with("AWS_ENDPOINT_URL_STS", peers.sts.to_string())
        .with("ROLECALL_SIGNIN_ENDPOINT", peers.federation.to_string())
        .with("ROLECALL_CONSOLE_ENDPOINT", peers.console.to_string());
    let paths = AppPaths::resolve(&env)?;

    let mut endpoint = Endpoint::new(ENDPOINT, peers.sign_on.as_str())?;
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some(username.to_owned());
    let mut window = Endpoint::new(WINDOW_ENDPOINT, peers.sign_on.as_str())?;
    window.method = SignInMethod::Webview;
    let mut settings = Settings::default();
    settings.endpoints.extend([endpoint, window]);
    let preferences = &mut settings.preferences;
    // STS's shortest session; the simulator cuts it to five minutes.
    preferences.session_duration_secs = 900;
    preferences.refresh_lead_minutes = 2;
    preferences.notify_lead_minutes = 3;
    preferences.default_region = Some(REGION.to_owned());
    preferences.default_output = Some("json".to_owned());
    settings.save(&paths)?;

    write_env_file(folder, &peers.sts).map_err(|source| DemoError::Folder {
        folder: folder.to_owned(),
        source,
    })?;
    Ok(Sandbox {
        folder: folder.to_owned(),
        env,
        paths,
    })
}

/// `env.sh`: the variables that point the AWS CLI at the demo's files and STS.
fn write_env_file(folder: &Path, sts: &Url) -> io::Result<()> {
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
}

/// Why the demo could not set up its sandbox.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo has no folder for its files: {0}")]
    NoFolder(#[from] PathsError),
    #[error(
        "{} holds files the demo did not write, so it will not wipe it. Move them away and \
         start the demo again.",
        folder.display()
    )]
    NotTheDemos { folder: PathBuf },
    #[error("the demo folder {}: {source}", folder.display())]
    Folder {
        folder: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers() -> Peers {
        let url = |text: &str| Url::parse(text).unwrap();
        Peers {
            sign_on: url("http://127.0.0.1:9/adfs/ls/IdpInitiatedSignOn.aspx"),
            sts: url("http://127.0.0.1:9/sts"),
            federation: url("http://127.0.0.1:9/federation"),
            console: url("http://127.0.0.1:9/console"),
        }
    }

    #[test]
    fn the_demo_wipes_only_its_own_folder_and_points_everything_into_it() {
        let home = tempfile::tempdir().unwrap();
        let process = Environment::new(Platform::Linux)
            .with("HOME", home.path().to_string_lossy().into_owned());
        let folder = prepare(&process).unwrap();
        assert_eq!(folder, home.path().join(".cache/rolecall/demo"));
        std::fs::write(folder.join("left over"), "x").unwrap();
        let folder = prepare(&process).unwrap();
        assert!(
            !folder.join("left over").exists(),
            "the demo's own folder is wiped"
        );

        let sandbox = fill(&folder, &peers(), "alice").unwrap();
        assert!(sandbox.paths.aws_credentials_file.starts_with(&folder));
        assert!(sandbox.paths.config_dir.starts_with(&folder));
        let settings = Settings::load(&sandbox.paths).unwrap();
        assert_eq!(settings.endpoints[0].username.as_deref(), Some("alice"));
        assert_eq!(settings.endpoints[1].name, WINDOW_ENDPOINT);
        assert_eq!(settings.endpoints[1].method, SignInMethod::Webview);
        let env_sh = std::fs::read_to_string(folder.join("env.sh")).unwrap();
        assert!(env_sh.contains("AWS_ENDPOINT_URL_STS='http://127.0.0.1:9/sts'"));

        std::fs::remove_file(folder.join(MARKER)).unwrap();
        assert!(matches!(
            prepare(&process),
            Err(DemoError::NotTheDemos { .. })
        ));
    }

    #[test]
    fn the_guide_says_each_thing_once() {
        let guide = Guide {
            folder: PathBuf::from("/tmp/demo"),
            window_user: "bob".to_owned(),
            window_password: "pw".to_owned(),
            window_passcode: "123456".to_owned(),
        };
        let banner = guide.banner();
        for once in ["/tmp/demo", "bob", "123456", "memory", "wiped", "stand-in"] {
            assert_eq!(banner.matches(once).count(), 1, "{once} in {banner}");
        }
        assert_eq!(
            guide.tray_lines(),
            [
                "Demo — files in /tmp/demo".to_owned(),
                "demo-window: type bob, pw, passcode 123456".to_owned()
            ]
        );
    }
}
