//! What the engine knows of the files: the settings, the registry, the session limits, the
//! credentials' expirations and the endpoints' CA files, read once and again only when a file
//! changed on disk (the command line and the settings window write them too).
//!
//! A file that cannot be read or is not valid keeps what was last read from it: its problem
//! goes into the status, and renewals go on with the last good settings.

use std::path::Path;
use std::sync::PoisonError;

use super::*;
use crate::registry::ProfileSource;

/// What tells a file's versions apart without reading it. Every save renames a new file into
/// place, so the inode changes even when the size and time do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
    })
}

/// One file's last good contents, and the problem of the version on disk if it has one.
#[derive(Debug)]
struct Watched<T> {
    /// The fingerprint of the version last read (`Some(None)`: there was no file).
    seen: Option<Option<Fingerprint>>,
    value: T,
    problem: Option<String>,
}

impl<T> Watched<T> {
    fn new(value: T) -> Self {
        Self {
            seen: None,
            value,
            problem: None,
        }
    }

    /// Reads the file again when it changed since it was last read; says whether it did.
    fn follow(&mut self, path: &Path, read: impl FnOnce() -> Result<T, String>) -> bool {
        let now = fingerprint(path);
        if self.seen == Some(now) {
            return false;
        }
        self.seen = Some(now);
        match read() {
            Ok(value) => {
                self.value = value;
                self.problem = None;
            }
            Err(problem) => self.problem = Some(problem),
        }
        true
    }
}

/// How often each file was read: the files' revision, and for tests that hold the engine to
/// reading only changes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reads {
    pub settings: usize,
    pub registry: usize,
    pub limits: usize,
    pub aliases: usize,
    pub recent: usize,
    pub credentials: usize,
    pub ca_files: usize,
}

impl Reads {
    /// Goes up with every change read from any file.
    fn total(&self) -> u64 {
        [
            self.settings,
            self.registry,
            self.limits,
            self.aliases,
            self.recent,
            self.credentials,
            self.ca_files,
        ]
        .iter()
        .map(|&reads| reads as u64)
        .sum()
    }
}

#[derive(Debug)]
pub(super) struct Files {
    settings: Watched<Option<Arc<Settings>>>,
    registry: Watched<Arc<BTreeMap<String, ProfileSource>>>,
    limits: Watched<Arc<Mutex<SessionLimits>>>,
    aliases: Watched<()>,
    recent: Watched<Arc<Vec<crate::recent::Used>>>,
    expirations: Watched<Arc<BTreeMap<String, OffsetDateTime>>>,
    /// Per endpoint: its CA file's path and what is wrong with it.
    ca_files: BTreeMap<String, (std::path::PathBuf, Watched<()>)>,
    pub(super) reads: Reads,
}

impl Default for Files {
    fn default() -> Self {
        Self {
            settings: Watched::new(None),
            registry: Watched::new(Arc::default()),
            limits: Watched::new(Arc::default()),
            aliases: Watched::new(()),
            recent: Watched::new(Arc::default()),
            expirations: Watched::new(Arc::default()),
            ca_files: BTreeMap::new(),
            reads: Reads::default(),
        }
    }
}

/// A copy of what the engine knows of the files, cheap to take.
#[derive(Debug, Clone, Default)]
pub(super) struct OnDisk {
    /// The last settings that loaded; `None` when none ever did.
    pub settings: Option<Arc<Settings>>,
    pub registry: Arc<BTreeMap<String, ProfileSource>>,
    pub limits: Arc<Mutex<SessionLimits>>,
    /// Each profile's expiration in the credentials file.
    pub expirations: Arc<BTreeMap<String, OffsetDateTime>>,
    /// The roles used last, newest first.
    pub recent: Arc<Vec<crate::recent::Used>>,
    /// What is wrong with the files now, each a sentence naming the file and what to do.
    pub problems: Vec<String>,
    /// Goes up whenever a file changed, also in ways the status does not show (an endpoint's
    /// URL), so that views of the files know to look again.
    pub revision: u64,
}

impl Files {
    /// Every file [`Files::follow`] reads.
    pub(super) fn followed(paths: &AppPaths) -> Vec<std::path::PathBuf> {
        let config_dir = &paths.config_dir;
        vec![
            paths.settings_file(),
            config_dir.join(Registry::FILE_NAME),
            config_dir.join(SessionLimits::FILE_NAME),
            config_dir.join(AliasCache::FILE_NAME),
            config_dir.join(crate::recent::FILE_NAME),
            paths.aws_credentials_file.clone(),
        ]
    }

    /// Reads again the files that changed.
    pub(super) fn follow(&mut self, paths: &AppPaths) {
        let config_dir = &paths.config_dir;
        let reads = &mut self.reads;
        self.settings.follow(&paths.settings_file(), || {
            reads.settings += 1;
            Settings::load(paths)
                .map(|settings| Some(Arc::new(settings)))
                .map_err(|err| err.to_string())
        });
        self.registry
            .follow(&config_dir.join(Registry::FILE_NAME), || {
                reads.registry += 1;
                Registry::load(config_dir)
                    .map(|registry| Arc::new(registry.all().clone()))
                    .map_err(|err| err.to_string())
            });
        self.limits
            .follow(&config_dir.join(SessionLimits::FILE_NAME), || {
                reads.limits += 1;
                SessionLimits::load(config_dir)
                    .map(|limits| Arc::new(Mutex::new(limits)))
                    .map_err(|err| err.to_string())
            });
        self.aliases
            .follow(&config_dir.join(AliasCache::FILE_NAME), || {
                reads.aliases += 1;
                AliasCache::load(config_dir)
                    .map(|_| ())
                    .map_err(|err| err.to_string())
            });
        self.recent
            .follow(&config_dir.join(crate::recent::FILE_NAME), || {
                reads.recent += 1;
                crate::recent::load(config_dir)
                    .map(Arc::new)
                    .map_err(|err| err.to_string())
            });
        let files = AwsFiles::from_paths(paths);
        self.expirations.follow(files.credentials_file(), || {
            reads.credentials += 1;
            files
                .read_all_credentials()
                .map(|all| {
                    Arc::new(
                        all.into_iter()
                            .filter_map(|(name, stored)| Some((name, stored.expiration?)))
                            .collect(),
                    )
                })
                .map_err(|err| err.to_string())
        });
        self.follow_ca_files();
    }

    /// Looks at the CA file of each endpoint again when it changed (or the endpoint now names
    /// another).
    fn follow_ca_files(&mut self) {
        let wanted: BTreeMap<String, Endpoint> = self
            .settings
            .value
            .iter()
            .flat_map(|settings| settings.endpoints.iter())
            .filter(|endpoint| endpoint.ca_file.is_some())
            .map(|endpoint| (endpoint.name.clone(), endpoint.clone()))
            .collect();
        self.ca_files.retain(|name, (path, _)| {
            wanted
                .get(name)
                .is_some_and(|endpoint| endpoint.ca_file.as_ref() == Some(path))
        });
        for (name, endpoint) in wanted {
            let Some(path) = endpoint.ca_file.clone() else {
                continue;
            };
            let (_, watched) = self
                .ca_files
                .entry(name)
                .or_insert_with(|| (path.clone(), Watched::new(())));
            let reads = &mut self.reads;
            watched.follow(&path, || {
                reads.ca_files += 1;
                match endpoint.ca_file_problem() {
                    Some(problem) => Err(problem.to_string()),
                    None => Ok(()),
                }
            });
        }
    }

    pub(super) fn on_disk(&self) -> OnDisk {
        let problems = [
            &self.settings.problem,
            &self.registry.problem,
            &self.aliases.problem,
            &self.recent.problem,
            &self.limits.problem,
            &self.expirations.problem,
        ]
        .into_iter()
        .chain(self.ca_files.values().map(|(_, watched)| &watched.problem))
        .flatten()
        .cloned()
        .collect();
        OnDisk {
            settings: self.settings.value.clone(),
            registry: Arc::clone(&self.registry.value),
            limits: Arc::clone(&self.limits.value),
            expirations: Arc::clone(&self.expirations.value),
            recent: Arc::clone(&self.recent.value),
            problems,
            revision: self.reads.total(),
        }
    }
}

impl Engine {
    /// What the files hold now: read again where they changed on disk, else from memory.
    pub(super) fn on_disk(&self) -> OnDisk {
        let mut files = self
            .shared
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        files.follow(&self.shared.config.paths);
        files.on_disk()
    }

    /// How often the engine has read each file.
    #[cfg(test)]
    pub(crate) fn file_reads(&self) -> Reads {
        self.shared
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::paths::Platform;
    use crate::saml::RolePair;
    use crate::secrets::MemoryStore;

    const PROFILES: usize = 50;

    struct Fixture {
        engine: Engine,
        paths: AppPaths,
        _dir: tempfile::TempDir,
    }

    /// An engine with one endpoint and `PROFILES` profiles of it, each with credentials.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths {
            config_dir: dir.path().join("config"),
            aws_credentials_file: dir.path().join("credentials"),
            aws_config_file: dir.path().join("config-aws"),
        };
        let endpoint = Endpoint::new("corp", "https://sts.corp.example/adfs/ls/").unwrap();
        let mut settings = Settings::default();
        settings.add_endpoint(endpoint.clone()).unwrap();
        settings.save(&paths).unwrap();
        let mut registry = BTreeMap::new();
        let mut credentials = String::new();
        for n in 0..PROFILES {
            let role = RolePair {
                role_arn: format!("arn:aws:iam::111122223333:role/R{n}"),
                principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
            };
            registry.insert(format!("p{n}"), ProfileSource::new(&endpoint, &role, None));
            credentials.push_str(&format!(
                "[p{n}]\naws_access_key_id = ASIAEXAMPLE{n:05}\naws_secret_access_key = s\n\
                 aws_session_token = t\nx_security_token_expires = 2026-12-02T11:00:00Z\n\n"
            ));
        }
        std::fs::write(
            paths.config_dir.join(Registry::FILE_NAME),
            serde_json::to_string(&registry).unwrap(),
        )
        .unwrap();
        std::fs::write(&paths.aws_credentials_file, credentials).unwrap();
        let (engine, _) = Engine::new(EngineConfig {
            paths: paths.clone(),
            env: Environment::new(Platform::current()),
            secrets: Arc::new(MemoryStore::new()),
            clock: Arc::new(ManualClock::new(
                time::macros::datetime!(2026-12-02 10:00 UTC),
            )),
        });
        Fixture {
            engine,
            paths,
            _dir: dir,
        }
    }

    #[test]
    fn publishing_reads_each_file_once_until_it_changes() {
        let fixture = fixture();
        for _ in 0..10 {
            fixture.engine.refresh_status();
        }
        let status = fixture.engine.status();
        assert_eq!(status.profiles.len(), PROFILES);
        assert!(
            status.profiles.iter().all(|p| p.expiration.is_some()),
            "{status:?}"
        );
        let once = Reads {
            settings: 1,
            registry: 1,
            limits: 1,
            aliases: 1,
            recent: 1,
            credentials: 1,
            ca_files: 0,
        };
        assert_eq!(fixture.engine.file_reads(), once, "11 publishes");

        // Another program rewrites the credentials file (as Rolecall does: a new file renamed
        // into place): read once more, and only it.
        let text = std::fs::read_to_string(&fixture.paths.aws_credentials_file).unwrap();
        let temp = fixture.paths.aws_credentials_file.with_extension("new");
        std::fs::write(&temp, text.replace("[p0]", "[renamed]")).unwrap();
        std::fs::rename(&temp, &fixture.paths.aws_credentials_file).unwrap();
        fixture.engine.refresh_status();
        fixture.engine.refresh_status();
        assert_eq!(
            fixture.engine.file_reads(),
            Reads {
                credentials: 2,
                ..once
            }
        );
        let status = fixture.engine.status();
        assert_eq!(
            status
                .profiles
                .iter()
                .find(|p| p.name == "p0")
                .unwrap()
                .expiration,
            None,
            "the change is seen"
        );
    }

    #[test]
    fn a_settings_file_that_breaks_keeps_the_last_good_settings_and_says_why() {
        let fixture = fixture();
        std::fs::write(fixture.paths.settings_file(), "endpoints = [").unwrap();
        fixture.engine.refresh_status();
        let status = fixture.engine.status();
        assert_eq!(status.endpoints.len(), 1, "not the defaults: {status:?}");
        assert_eq!(status.profiles.len(), PROFILES);
        assert_eq!(status.problems.len(), 1, "{:?}", status.problems);
        assert!(
            status.problems[0].contains("settings.toml"),
            "{:?}",
            status.problems
        );
        assert_eq!(
            fixture.engine.settings().unwrap().endpoints.len(),
            1,
            "renewals go on with the last good settings"
        );
    }

    #[test]
    fn a_ca_file_that_went_away_is_a_problem_and_the_endpoint_stays() {
        let fixture = fixture();
        let ca = fixture.paths.config_dir.join("corp-ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        Settings::update(&fixture.paths, Settings::default, |settings| {
            let mut corp = settings.endpoint("corp").unwrap().clone();
            corp.ca_file = Some(ca.clone());
            settings.update_endpoint("corp", corp)
        })
        .unwrap();
        fixture.engine.refresh_status();
        assert!(fixture.engine.status().problems.is_empty());

        std::fs::remove_file(&ca).unwrap();
        fixture.engine.refresh_status();
        let status = fixture.engine.status();
        assert_eq!(status.endpoints.len(), 1, "{status:?}");
        assert_eq!(status.profiles.len(), PROFILES);
        assert_eq!(status.problems.len(), 1, "{:?}", status.problems);
        assert!(
            status.problems[0].contains(&ca.display().to_string()),
            "{:?}",
            status.problems
        );
        fixture.engine.refresh_status();
        assert_eq!(
            fixture.engine.file_reads().ca_files,
            2,
            "looked at again only when it changed"
        );
    }
}
