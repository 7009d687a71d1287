//! Where Rolecall reads and writes: its own configuration folder and the AWS shared files.
//!
//! Resolution follows the platform conventions and the AWS tools' own rules
//! (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, `~` expansion), from an
//! [`Environment`] the caller supplies. This module never touches the file system.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variables Rolecall looks at, captured once by the caller.
///
/// Tests build one by hand; the binaries build one from the process with [`Environment::from_process`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    platform: Platform,
}

/// The conventions to follow for per-user folders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Platform {
    #[default]
    Linux,
    MacOs,
    Windows,
}

impl Platform {
    /// The platform this binary was built for.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Linux
        }
    }
}

/// Set by `rolecall exec` in the program it runs to the profile it runs with, so a nested exec
/// of another profile is noticed (`exec::MARKER`; named here, where the variables Rolecall reads
/// are listed, so this module needs none of `exec`).
pub const EXEC_PROFILE: &str = "ROLECALL_EXEC_PROFILE";

/// The variables that decide Rolecall's paths; nothing else is captured.
const RELEVANT_VARS: &[&str] = &[
    "HOME",
    "USERPROFILE",
    "APPDATA",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "ROLECALL_LOG_DIR",
    "LOCALAPPDATA",
    "XDG_RUNTIME_DIR",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "ROLECALL_CONFIG_DIR",
    // The SDK's own endpoint overrides, which Rolecall's STS client honours.
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
    // Console sign-in: the federation endpoint and the console page (private endpoints, tests).
    "ROLECALL_SIGNIN_ENDPOINT",
    "ROLECALL_CONSOLE_ENDPOINT",
    // `rolecall exec`: the profile of the exec this one runs in, and the shell it starts.
    EXEC_PROFILE,
    "SHELL",
    // `rolecall import saml2aws`: where saml2aws keeps its settings when not in ~/.saml2aws.
    "SAML2AWS_CONFIGFILE",
    "COMSPEC",
    // The system proxy reqwest follows, read only to say which one applies (`rolecall doctor`
    // shows them without user info).
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

impl Environment {
    pub fn new(platform: Platform) -> Self {
        Self {
            vars: BTreeMap::new(),
            platform,
        }
    }

    /// Captures the relevant variables of the running process.
    pub fn from_process() -> Self {
        let mut env = Self::new(Platform::current());
        for name in RELEVANT_VARS {
            if let Some(value) = std::env::var_os(name) {
                env = env.with(name, value.to_string_lossy());
            }
        }
        env
    }

    /// Sets a variable; an empty value counts as unset, as the AWS tools treat it.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        if value.is_empty() {
            self.vars.remove(name);
        } else {
            self.vars.insert(name.to_owned(), value);
        }
        self
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    pub(crate) fn home(&self) -> Result<PathBuf, PathsError> {
        let from = match self.platform {
            // The AWS SDKs and CLI prefer HOME on Windows too, then USERPROFILE.
            Platform::Windows => self.var("HOME").or_else(|| self.var("USERPROFILE")),
            Platform::Linux | Platform::MacOs => self.var("HOME"),
        };
        from.map(PathBuf::from).ok_or(PathsError::NoHome {
            platform: self.platform,
        })
    }

    /// Expands a leading `~` the way the AWS tools do.
    pub(crate) fn expand(&self, raw: &str) -> Result<PathBuf, PathsError> {
        let rest = if raw == "~" {
            Some("")
        } else {
            raw.strip_prefix("~/").or_else(|| {
                (self.platform == Platform::Windows)
                    .then(|| raw.strip_prefix("~\\"))
                    .flatten()
            })
        };
        match rest {
            Some(rest) => Ok(self.home()?.join(rest)),
            None => Ok(PathBuf::from(raw)),
        }
    }
}

/// Every path Rolecall uses, resolved once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppPaths {
    /// Rolecall's own folder: settings, caches, logs.
    pub config_dir: PathBuf,
    /// The AWS shared credentials file (`~/.aws/credentials` unless overridden).
    pub aws_credentials_file: PathBuf,
    /// The AWS config file (`~/.aws/config` unless overridden).
    pub aws_config_file: PathBuf,
}

impl AppPaths {
    pub fn resolve(env: &Environment) -> Result<Self, PathsError> {
        Ok(Self {
            config_dir: config_dir(env)?,
            aws_credentials_file: match env.var("AWS_SHARED_CREDENTIALS_FILE") {
                Some(raw) => env.expand(raw)?,
                None => env.home()?.join(".aws").join("credentials"),
            },
            aws_config_file: match env.var("AWS_CONFIG_FILE") {
                Some(raw) => env.expand(raw)?,
                None => env.home()?.join(".aws").join("config"),
            },
        })
    }

    /// The settings file inside [`AppPaths::config_dir`].
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    /// Whether `path` lies inside Rolecall's own folder.
    pub fn is_in_config_dir(&self, path: &Path) -> bool {
        path.starts_with(&self.config_dir)
    }
}

/// Rolecall's folder in the user's cache, for what may be thrown away (the demo's sandbox):
/// `$XDG_CACHE_HOME/rolecall` or `~/.cache/rolecall` on Linux, `~/Library/Caches/rolecall` on
/// macOS, `%LOCALAPPDATA%\Rolecall` on Windows.
pub fn cache_dir(env: &Environment) -> Result<PathBuf, PathsError> {
    Ok(match env.platform() {
        Platform::Linux => match env.var("XDG_CACHE_HOME") {
            // As for XDG_CONFIG_HOME, a relative value is ignored.
            Some(xdg) if Path::new(xdg).is_absolute() => PathBuf::from(xdg),
            _ => env.home()?.join(".cache"),
        }
        .join("rolecall"),
        Platform::MacOs => env.home()?.join("Library").join("Caches").join("rolecall"),
        Platform::Windows => match env.var("LOCALAPPDATA") {
            Some(local) => PathBuf::from(local),
            None => env.home()?.join("AppData").join("Local"),
        }
        .join("Rolecall"),
    })
}

fn config_dir(env: &Environment) -> Result<PathBuf, PathsError> {
    if let Some(raw) = env.var("ROLECALL_CONFIG_DIR") {
        return env.expand(raw);
    }
    Ok(match env.platform() {
        Platform::Linux => match env.var("XDG_CONFIG_HOME") {
            // The XDG spec says a relative value is invalid and must be ignored.
            Some(xdg) if Path::new(xdg).is_absolute() => PathBuf::from(xdg),
            _ => env.home()?.join(".config"),
        }
        .join("rolecall"),
        Platform::MacOs => env
            .home()?
            .join("Library")
            .join("Application Support")
            .join("app.rolecall.desktop"),
        Platform::Windows => match env.var("APPDATA") {
            Some(appdata) => PathBuf::from(appdata),
            None => env.home()?.join("AppData").join("Roaming"),
        }
        .join("Rolecall"),
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathsError {
    #[error(
        "Rolecall cannot tell where your home folder is: {}. Set it, or point \
         ROLECALL_CONFIG_DIR, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE at the files to use.",
        match platform {
            Platform::Windows => "neither HOME nor USERPROFILE is set",
            Platform::Linux | Platform::MacOs => "HOME is not set",
        }
    )]
    NoHome { platform: Platform },
}

/// A file or folder name for a name a person chose (an endpoint, a profile): letters, digits,
/// `-`, `_` and `.` as they are, every other byte as `%XX`, so two names never share a file and
/// no name climbs out of its folder. A leading dot is escaped too: it would hide the file, and
/// `.`/`..` are not names.
pub fn file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(char::from(byte)),
            b'.' if !out.is_empty() => out.push('.'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_distinct_plain_file_names() {
        assert_eq!(file_name("corp"), "corp");
        assert_eq!(file_name("corp.example"), "corp.example");
        assert_eq!(file_name("../x"), "%2E.%2Fx");
        assert_eq!(file_name("a/b"), "a%2Fb");
        assert_ne!(file_name("a b"), file_name("a_b"));
        assert_ne!(file_name("a%20b"), file_name("a b"));
    }

    fn linux_home() -> Environment {
        Environment::new(Platform::Linux).with("HOME", "/home/alice")
    }

    #[test]
    fn the_cache_folder_follows_each_platform() {
        assert_eq!(
            cache_dir(&linux_home()).unwrap(),
            PathBuf::from("/home/alice/.cache/rolecall")
        );
        let xdg = |value: &str| cache_dir(&linux_home().with("XDG_CACHE_HOME", value)).unwrap();
        assert_eq!(
            xdg("/var/cache/alice"),
            PathBuf::from("/var/cache/alice/rolecall")
        );
        assert_eq!(
            xdg("relative"),
            PathBuf::from("/home/alice/.cache/rolecall"),
            "a relative XDG_CACHE_HOME is ignored"
        );
        let mac = Environment::new(Platform::MacOs).with("HOME", "/Users/alice");
        assert_eq!(
            cache_dir(&mac).unwrap(),
            PathBuf::from("/Users/alice/Library/Caches/rolecall")
        );
        let windows = Environment::new(Platform::Windows).with("USERPROFILE", r"C:\Users\alice");
        assert_eq!(
            cache_dir(&windows.clone().with("LOCALAPPDATA", r"D:\Local")).unwrap(),
            PathBuf::from(r"D:\Local").join("Rolecall")
        );
        assert_eq!(
            cache_dir(&windows).unwrap(),
            PathBuf::from(r"C:\Users\alice")
                .join("AppData")
                .join("Local")
                .join("Rolecall")
        );
        assert_eq!(
            cache_dir(&Environment::new(Platform::Linux)),
            Err(PathsError::NoHome {
                platform: Platform::Linux
            })
        );
    }

    #[test]
    fn linux_defaults_follow_home() {
        let paths = AppPaths::resolve(&linux_home()).unwrap();
        assert_eq!(
            paths.config_dir,
            PathBuf::from("/home/alice/.config/rolecall")
        );
        assert_eq!(
            paths.aws_credentials_file,
            PathBuf::from("/home/alice/.aws/credentials")
        );
        assert_eq!(
            paths.aws_config_file,
            PathBuf::from("/home/alice/.aws/config")
        );
        assert_eq!(
            paths.settings_file(),
            PathBuf::from("/home/alice/.config/rolecall/settings.toml")
        );
    }

    #[test]
    fn xdg_config_home_is_honoured_only_when_absolute() {
        let absolute = linux_home().with("XDG_CONFIG_HOME", "/cfg");
        assert_eq!(
            AppPaths::resolve(&absolute).unwrap().config_dir,
            PathBuf::from("/cfg/rolecall")
        );
        let relative = linux_home().with("XDG_CONFIG_HOME", "cfg");
        assert_eq!(
            AppPaths::resolve(&relative).unwrap().config_dir,
            PathBuf::from("/home/alice/.config/rolecall"),
            "a relative XDG_CONFIG_HOME must be ignored, as the XDG spec says"
        );
    }

    #[test]
    fn aws_overrides_win_and_expand_tilde() {
        let env = linux_home()
            .with("AWS_SHARED_CREDENTIALS_FILE", "~/work/creds")
            .with("AWS_CONFIG_FILE", "/etc/aws/config");
        let paths = AppPaths::resolve(&env).unwrap();
        assert_eq!(
            paths.aws_credentials_file,
            PathBuf::from("/home/alice/work/creds")
        );
        assert_eq!(paths.aws_config_file, PathBuf::from("/etc/aws/config"));
    }

    #[test]
    fn empty_override_counts_as_unset() {
        let env = linux_home().with("AWS_CONFIG_FILE", "");
        assert_eq!(
            AppPaths::resolve(&env).unwrap().aws_config_file,
            PathBuf::from("/home/alice/.aws/config")
        );
    }

    #[test]
    fn explicit_config_dir_wins() {
        let env = linux_home().with("ROLECALL_CONFIG_DIR", "~/rc");
        assert_eq!(
            AppPaths::resolve(&env).unwrap().config_dir,
            PathBuf::from("/home/alice/rc")
        );
    }

    #[test]
    fn macos_uses_application_support() {
        let env = Environment::new(Platform::MacOs).with("HOME", "/Users/bob");
        assert_eq!(
            AppPaths::resolve(&env).unwrap().config_dir,
            PathBuf::from("/Users/bob/Library/Application Support/app.rolecall.desktop")
        );
    }

    #[test]
    fn windows_uses_appdata_and_userprofile() {
        let env = Environment::new(Platform::Windows)
            .with("USERPROFILE", r"C:\Users\carol")
            .with("APPDATA", r"C:\Users\carol\AppData\Roaming");
        let paths = AppPaths::resolve(&env).unwrap();
        assert_eq!(
            paths.config_dir,
            PathBuf::from(r"C:\Users\carol\AppData\Roaming").join("Rolecall")
        );
        assert_eq!(
            paths.aws_credentials_file,
            PathBuf::from(r"C:\Users\carol")
                .join(".aws")
                .join("credentials")
        );
    }

    #[test]
    fn missing_home_is_a_sentence_that_says_what_to_do() {
        let err = AppPaths::resolve(&Environment::new(Platform::Linux)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("HOME is not set"), "{message}");
        assert!(message.contains("AWS_SHARED_CREDENTIALS_FILE"), "{message}");
    }

    #[test]
    fn everything_overridden_needs_no_home() {
        let env = Environment::new(Platform::Linux)
            .with("ROLECALL_CONFIG_DIR", "/rc")
            .with("AWS_SHARED_CREDENTIALS_FILE", "/a/creds")
            .with("AWS_CONFIG_FILE", "/a/config");
        let paths = AppPaths::resolve(&env).unwrap();
        assert!(paths.is_in_config_dir(&paths.settings_file()));
    }
}
