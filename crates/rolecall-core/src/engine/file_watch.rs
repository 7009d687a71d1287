//! Following the files other programs change. The command line, another tool or a hand edit
//! writes the settings, the registry or the AWS credentials file; the engine hears of it from
//! the operating system (inotify, FSEvents, ReadDirectoryChangesW) and publishes at once, so
//! the tray and the settings window show it without waiting for the minute's countdown.
//!
//! The watches are on the folders, not the files: every save renames a new file into place,
//! which a watch on the old file would never see. A folder that does not exist yet (no `~/.aws`
//! before the first profile) is watched through its nearest existing parent until it appears.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::Engine;

/// Quiet after a change before the engine looks: one save is a burst of events.
const SETTLE: Duration = Duration::from_millis(40);
/// The longest a steady stream of changes can hold the look back.
const AT_MOST: Duration = Duration::from_millis(250);

/// Follows the files until dropped.
#[derive(Debug)]
pub struct FileWatch {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operating system refused a watch.
#[derive(Debug, thiserror::Error)]
#[error(
    "Rolecall cannot follow changes to its files ({detail}), so changes made outside the app \
     show only within a minute. On Linux, raise fs.inotify.max_user_watches."
)]
pub struct FileWatchError {
    detail: String,
}

impl From<notify::Error> for FileWatchError {
    fn from(err: notify::Error) -> Self {
        Self {
            detail: err.to_string(),
        }
    }
}

/// The files the engine follows and the folders that hold them.
#[derive(Debug, Clone)]
struct Followed {
    files: BTreeSet<PathBuf>,
    folders: BTreeSet<PathBuf>,
}

impl Followed {
    fn new(files: Vec<PathBuf>) -> Self {
        let folders = files
            .iter()
            .filter_map(|file| file.parent().map(Path::to_path_buf))
            .collect();
        Self {
            files: files.into_iter().collect(),
            folders,
        }
    }

    /// Whether a change at `path` can change what the engine knows: one of its files, or a
    /// folder on the way to one (created, moved, removed).
    fn matters(&self, path: &Path) -> bool {
        self.files.contains(path) || self.folders.iter().any(|folder| folder.starts_with(path))
    }
}

impl Engine {
    /// Starts following the engine's files; on a change, the new state is published. Needs a
    /// Tokio runtime.
    pub fn follow_files(&self) -> Result<FileWatch, FileWatchError> {
        let followed = Followed::new(super::files::Files::followed(&self.shared.config.paths));
        let (changes, mut received) = mpsc::unbounded_channel::<Vec<PathBuf>>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // An error event (a queue overflow) may hide a change: look anyway.
                let paths = event.map(|event| event.paths).unwrap_or_default();
                let _ = changes.send(paths);
            })?;
        let mut watching = BTreeSet::new();
        arm(&mut watcher, &followed, &mut watching)?;
        let engine = self.clone();
        let task = tokio::spawn(async move {
            while let Some(first) = received.recv().await {
                let mut matters = first.is_empty() || first.iter().any(|p| followed.matters(p));
                let deadline = tokio::time::sleep(AT_MOST);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        () = &mut deadline => break,
                        next = tokio::time::timeout(SETTLE, received.recv()) => match next {
                            Ok(Some(paths)) => {
                                matters |= paths.is_empty()
                                    || paths.iter().any(|p| followed.matters(p));
                            }
                            Ok(None) => return,
                            Err(_) => break,
                        },
                    }
                }
                if matters {
                    if let Err(err) = arm(&mut watcher, &followed, &mut watching) {
                        tracing::warn!("{}", FileWatchError::from(err));
                    }
                    engine.refresh_status();
                }
            }
        });
        Ok(FileWatch { task })
    }
}

/// Watches each folder, or its nearest existing parent while it does not exist.
fn arm(
    watcher: &mut impl Watcher,
    followed: &Followed,
    watching: &mut BTreeSet<PathBuf>,
) -> notify::Result<()> {
    for folder in &followed.folders {
        let Some(existing) = folder.ancestors().find(|dir| dir.is_dir()) else {
            continue;
        };
        if watching.contains(existing) {
            continue;
        }
        watcher.watch(existing, RecursiveMode::NonRecursive)?;
        watching.insert(existing.to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::{EngineConfig, Status};
    use crate::paths::{AppPaths, Environment, Platform};
    use crate::secrets::MemoryStore;
    use crate::settings::{Endpoint, Settings};

    /// Generous: this waits on the operating system, not on a timer of Rolecall's.
    const LIMIT: Duration = Duration::from_secs(20);

    fn engine(dir: &Path) -> (Engine, AppPaths) {
        let env = Environment::new(Platform::current())
            .with("HOME", dir.to_string_lossy())
            .with("ROLECALL_CONFIG_DIR", dir.join("config").to_string_lossy());
        let paths = AppPaths::resolve(&env).unwrap();
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        let (engine, _) = Engine::new(EngineConfig {
            paths: paths.clone(),
            env,
            secrets: Arc::new(MemoryStore::new()),
            clock: Arc::new(crate::clock::ManualClock::new(
                time::macros::datetime!(2026-12-03 10:00 UTC),
            )),
        });
        (engine, paths)
    }

    async fn until(
        updates: &mut tokio::sync::watch::Receiver<Status>,
        done: impl Fn(&Status) -> bool,
    ) {
        tokio::time::timeout(LIMIT, updates.wait_for(|status| done(status)))
            .await
            .expect("the engine publishes the change")
            .unwrap();
    }

    // The engine's renewals are not running: only the watch can publish these changes.
    #[tokio::test]
    async fn a_settings_file_saved_by_another_program_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, paths) = engine(dir.path());
        let _watch = engine.follow_files().unwrap();
        let mut updates = engine.subscribe();
        assert!(engine.status().endpoints.is_empty());

        let mut settings = Settings::default();
        settings
            .add_endpoint(Endpoint::new("corp", "https://sts.corp.example").unwrap())
            .unwrap();
        settings.save(&paths).unwrap();
        until(&mut updates, |status| {
            status.endpoints.iter().any(|e| e.name == "corp")
        })
        .await;

        // A hand edit in place (no rename) is seen too.
        let text = std::fs::read_to_string(paths.settings_file()).unwrap();
        std::fs::write(paths.settings_file(), text.replace("\"corp\"", "\"work\"")).unwrap();
        until(&mut updates, |status| {
            status.endpoints.iter().any(|e| e.name == "work")
        })
        .await;
    }

    #[tokio::test]
    async fn an_aws_folder_created_later_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, paths) = engine(dir.path());
        assert!(!paths.aws_credentials_file.parent().unwrap().exists());
        // A profile Rolecall manages, whose keys are not written yet.
        let mut settings = Settings::default();
        settings
            .add_endpoint(Endpoint::new("corp", "https://sts.corp.example").unwrap())
            .unwrap();
        settings.save(&paths).unwrap();
        let role = crate::saml::RolePair {
            role_arn: "arn:aws:iam::111122223333:role/Dev".to_owned(),
            principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
        };
        let endpoint = settings.endpoint("corp").unwrap().clone();
        let mut registry = crate::registry::Registry::load(&paths.config_dir).unwrap();
        registry
            .record([(
                "dev".to_owned(),
                crate::registry::ProfileSource::new(&endpoint, &role, None),
            )])
            .unwrap();
        let _watch = engine.follow_files().unwrap();
        let mut updates = engine.subscribe();
        engine.refresh_status();
        assert!(
            engine
                .status()
                .profiles
                .iter()
                .all(|p| p.expiration.is_none()),
            "{:?}",
            engine.status()
        );

        let aws = paths.aws_credentials_file.parent().unwrap();
        std::fs::create_dir(aws).unwrap();
        std::fs::write(
            &paths.aws_credentials_file,
            "[dev]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = s\n\
             aws_session_token = t\nx_security_token_expires = 2026-12-03T11:00:00Z\n",
        )
        .unwrap();
        until(&mut updates, |status| {
            status
                .profiles
                .iter()
                .any(|p| p.name == "dev" && p.expiration.is_some())
        })
        .await;
    }

    #[test]
    fn only_the_followed_files_and_the_way_to_them_matter() {
        let followed = Followed::new(vec![
            PathBuf::from("/home/p/.config/rolecall/settings.toml"),
            PathBuf::from("/home/p/.aws/credentials"),
        ]);
        assert!(followed.matters(Path::new("/home/p/.aws/credentials")));
        assert!(followed.matters(Path::new("/home/p/.aws")));
        assert!(followed.matters(Path::new("/home/p/.config/rolecall/settings.toml")));
        assert!(!followed.matters(Path::new("/home/p/.aws/cli/cache/x.json")));
        assert!(!followed.matters(Path::new("/home/p/.aws/config.lock")));
        assert!(!followed.matters(Path::new("/home/p/.config/rolecall/webview")));
    }
}
