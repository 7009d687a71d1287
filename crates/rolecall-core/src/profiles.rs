//! From an assertion to profiles: naming them, assuming every chosen role at once, writing them
//! in one update of the AWS files, and remembering where each came from.
//!
//! [`assign_names`] turns the profile template (`{account_alias}-{role}`) into names that are
//! valid in the AWS files and never collide. [`assume_all`] calls STS for every role with a
//! bounded number of calls in flight, so a 590-role assertion is redeemed well inside STS's
//! 5-minute window; a role that fails is reported and the others still get their profile.
//! [`Registry`] (`profiles.json` in Rolecall's folder) records which endpoint and role each
//! profile belongs to, so `credential-process` and the refresh can renew it later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::accounts::Aliases;
use crate::aws_files::{AwsFiles, AwsFilesError, Credentials, ProfileWrite, WriteReport};
use crate::saml::{Assertion, RolePair};
use crate::settings::{Endpoint, Settings, SignInMethod};
use crate::store::{JsonFile, StoreError};
use crate::sts::{SessionLimits, Sts, StsError};

/// STS calls in flight at once: enough to assume 590 roles in seconds, few enough that STS
/// does not throttle an account's burst.
pub const CONCURRENT_CALLS: usize = 16;

/// The values a profile name template can use.
#[derive(Debug, Clone, Copy)]
pub struct NameParts<'a> {
    pub account_id: &'a str,
    pub account_alias: Option<&'a str>,
    pub role: &'a str,
    pub endpoint: &'a str,
}

/// Fills the template's placeholders; the alias falls back to the account id. Characters the AWS
/// files cannot hold in a section name become `-`.
pub fn profile_name(template: &str, parts: NameParts<'_>) -> String {
    let filled = template
        .replace(
            "{account_alias}",
            parts.account_alias.unwrap_or(parts.account_id),
        )
        .replace("{account_id}", parts.account_id)
        .replace("{role}", parts.role)
        .replace("{endpoint}", parts.endpoint);
    let cleaned: String = filled
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.@+".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        parts.account_id.to_owned()
    } else {
        cleaned
    }
}

/// `base` if it is free, otherwise the first free one of `base-2`, `base-3`, ...
pub fn free_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !taken(name))
        .unwrap_or_else(|| base.to_owned())
}

/// A profile name for every role. Names that would collide (two roles named alike in accounts
/// of the same alias, say) get `-2`, `-3`, ... in the order of their role ARNs, so the same
/// assertion always gives the same names; so do names in `foreign`, the profiles Rolecall may
/// not write ([`AwsFiles::foreign_profiles`]).
pub fn assign_names(
    roles: &[RolePair],
    template: &str,
    aliases: &Aliases,
    endpoint: &str,
    foreign: &BTreeSet<String>,
) -> Vec<(RolePair, String)> {
    let mut sorted: Vec<&RolePair> = roles.iter().collect();
    sorted.sort_by(|a, b| a.role_arn.cmp(&b.role_arn));
    sorted.dedup_by(|a, b| a.role_arn == b.role_arn);
    let mut taken = BTreeSet::new();
    let mut named: BTreeMap<String, String> = BTreeMap::new();
    for role in sorted {
        let base = profile_name(
            template,
            NameParts {
                account_id: role.account_id(),
                account_alias: aliases.get(role.account_id()).map(String::as_str),
                role: role.role_name(),
                endpoint,
            },
        );
        let name = free_name(&base, |name| taken.contains(name) || foreign.contains(name));
        taken.insert(name.clone());
        named.insert(role.role_arn.clone(), name);
    }
    roles
        .iter()
        .filter_map(|role| {
            named
                .remove(&role.role_arn)
                .map(|name| (role.clone(), name))
        })
        .collect()
}

/// What one role's call gave.
#[derive(Debug)]
pub struct Assumption {
    pub role: RolePair,
    pub profile: String,
    pub result: Result<Credentials, StsError>,
}

/// Assumes every `(role, profile)` with at most [`CONCURRENT_CALLS`] calls in flight, in the
/// order given. Limits learned on the way are noted in `limits` (the caller saves them).
pub async fn assume_all(
    sts: &Sts,
    assertion: &Arc<Assertion>,
    roles: Vec<(RolePair, String)>,
    setting_secs: u32,
    limits: &Arc<Mutex<SessionLimits>>,
) -> Vec<Assumption> {
    let permits = Arc::new(Semaphore::new(CONCURRENT_CALLS));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (role, profile)) in roles.into_iter().enumerate() {
        let sts = sts.clone();
        let assertion = Arc::clone(assertion);
        let permits = Arc::clone(&permits);
        let limits = Arc::clone(limits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let known = limits
                .lock()
                .map(|limits| limits.clone())
                .unwrap_or_default();
            let result = sts
                .assume_with_policy(&role, &assertion, setting_secs, &known)
                .await
                .map(|assumed| {
                    if let (Some(limit), Ok(mut limits)) = (assumed.learned_limit, limits.lock())
                        && let Err(err) = limits.remember(&role.role_arn, limit)
                    {
                        tracing::warn!("could not save the session limit of a role: {err}");
                    }
                    assumed.credentials
                });
            (
                index,
                Assumption {
                    role,
                    profile,
                    result,
                },
            )
        });
    }
    let mut done: Vec<(usize, Assumption)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(item) => done.push(item),
            Err(err) => tracing::error!("an STS call stopped unexpectedly: {err}"),
        }
    }
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, assumption)| assumption).collect()
}

/// Where a profile came from, so it can be renewed without asking which role it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSource {
    pub endpoint: String,
    pub url: String,
    pub method: SignInMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    pub role_arn: String,
    pub principal_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Renewed in the background before it expires (the active profile always is).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_refreshed: bool,
}

impl ProfileSource {
    pub fn new(endpoint: &Endpoint, role: &RolePair, region: Option<&str>) -> Self {
        Self {
            endpoint: endpoint.name.clone(),
            url: endpoint.url.to_string(),
            method: endpoint.method,
            username: endpoint.username.clone(),
            ca_file: endpoint.ca_file.clone(),
            role_arn: role.role_arn.clone(),
            principal_arn: role.principal_arn.clone(),
            region: region.map(str::to_owned),
            keep_refreshed: false,
        }
    }

    pub fn role(&self) -> RolePair {
        RolePair {
            role_arn: self.role_arn.clone(),
            principal_arn: self.principal_arn.clone(),
        }
    }

    /// The endpoint to sign in to again: the settings' own when it still exists under that
    /// name and URL, otherwise the one recorded.
    pub fn endpoint(&self, settings: &[Endpoint]) -> Option<Endpoint> {
        if let Some(endpoint) = settings
            .iter()
            .find(|e| e.name == self.endpoint && e.url.as_str() == self.url)
        {
            return Some(endpoint.clone());
        }
        let mut endpoint = Endpoint::new(self.endpoint.clone(), &self.url).ok()?;
        endpoint.method = self.method;
        endpoint.username = self.username.clone();
        endpoint.ca_file = self.ca_file.clone();
        Some(endpoint)
    }
}

/// `profiles.json`: profile name → where it came from.
#[derive(Debug, Clone)]
pub struct Registry {
    file: JsonFile<BTreeMap<String, ProfileSource>>,
    profiles: BTreeMap<String, ProfileSource>,
}

impl Registry {
    pub const FILE_NAME: &str = "profiles.json";

    /// Loads the registry (a missing one is empty). One that cannot be read is an error:
    /// without it Rolecall would take its own profiles for someone else's.
    pub fn load(config_dir: &Path) -> Result<Self, StoreError> {
        let file = JsonFile::new(config_dir.join(Self::FILE_NAME));
        let profiles = file.load()?;
        Ok(Self { file, profiles })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn get(&self, profile: &str) -> Option<&ProfileSource> {
        self.profiles.get(profile)
    }

    pub fn all(&self) -> &BTreeMap<String, ProfileSource> {
        &self.profiles
    }

    /// Records these profiles and saves the file. A profile written again keeps its
    /// "keep refreshed" choice.
    pub fn record(
        &mut self,
        entries: impl IntoIterator<Item = (String, ProfileSource)>,
    ) -> Result<(), StoreError> {
        self.profiles = self.file.update(|profiles| {
            merge(profiles, entries);
            Ok::<_, StoreError>(profiles.clone())
        })?;
        Ok(())
    }

    /// Turns background renewal of `profile` on or off; `false` if Rolecall does not manage it.
    pub fn set_keep_refreshed(&mut self, profile: &str, on: bool) -> Result<bool, StoreError> {
        let (found, profiles) = self.file.update(|profiles| {
            let found = match profiles.get_mut(profile) {
                Some(source) => {
                    source.keep_refreshed = on;
                    true
                }
                None => false,
            };
            Ok::<_, StoreError>((found, profiles.clone()))
        })?;
        self.profiles = profiles;
        Ok(found)
    }

    /// Points the profiles recorded for the endpoint `name` at `endpoint`, the same endpoint
    /// after an edit or a rename, so they are still renewed and shown under it. Gives back the
    /// records as they were, for [`Registry::restore`]; nothing is written when none changes.
    pub fn follow_endpoint(
        &mut self,
        name: &str,
        endpoint: &Endpoint,
    ) -> Result<Vec<(String, ProfileSource)>, StoreError> {
        let (before, profiles) = self.file.update(|profiles| {
            let mut before = Vec::new();
            for (profile, source) in profiles.iter_mut() {
                if source.endpoint != name {
                    continue;
                }
                let mut followed = ProfileSource::new(endpoint, &source.role(), None);
                followed.region = source.region.clone();
                followed.keep_refreshed = source.keep_refreshed;
                if followed != *source {
                    before.push((profile.clone(), std::mem::replace(source, followed)));
                }
            }
            Ok::<_, StoreError>((before, profiles.clone()))
        })?;
        self.profiles = profiles;
        Ok(before)
    }

    /// Puts these records back as they were (taking back [`Registry::follow_endpoint`]).
    pub fn restore(
        &mut self,
        entries: impl IntoIterator<Item = (String, ProfileSource)>,
    ) -> Result<(), StoreError> {
        let entries: Vec<_> = entries.into_iter().collect();
        self.profiles = self.file.update(|profiles| {
            profiles.extend(entries);
            Ok::<_, StoreError>(profiles.clone())
        })?;
        Ok(())
    }

    /// Stops the background renewal of the endpoint's profiles (the endpoint is gone) and
    /// names them. Their records stay, so Rolecall still knows the profiles as its own.
    pub fn stop_renewing(&mut self, endpoint: &str) -> Result<Vec<String>, StoreError> {
        let (names, profiles) = self.file.update(|profiles| {
            let mut names = Vec::new();
            for (profile, source) in profiles.iter_mut() {
                if source.endpoint == endpoint {
                    source.keep_refreshed = false;
                    names.push(profile.clone());
                }
            }
            Ok::<_, StoreError>((names, profiles.clone()))
        })?;
        self.profiles = profiles;
        Ok(names)
    }

    /// Writes `writes` into the AWS files and records where they came from, under the
    /// registry's lock, so that no other Rolecall sees the profiles written but not yet
    /// recorded (it would take them for someone else's). The record is saved first and taken
    /// back if the write fails: a profile is never written without its record.
    fn write_and_record(
        &mut self,
        files: &AwsFiles,
        mut writes: Vec<ProfileWrite>,
        sources: Vec<(String, ProfileSource)>,
    ) -> Result<WriteReport, AwsFilesError> {
        let mut locked = self.file.lock()?;
        let before = locked.value().clone();
        for write in &mut writes {
            write.registered = before.contains_key(&write.name);
        }
        let mut after = before.clone();
        merge(&mut after, sources);
        locked.save(&after)?;
        match files.write_profiles(&writes) {
            Ok(report) => {
                self.profiles = after;
                Ok(report)
            }
            Err(err) => {
                if let Err(undo) = locked.save(&before) {
                    tracing::warn!("could not take back the record of unwritten profiles: {undo}");
                }
                self.profiles = locked.value().clone();
                Err(err)
            }
        }
    }
}

fn merge(
    profiles: &mut BTreeMap<String, ProfileSource>,
    entries: impl IntoIterator<Item = (String, ProfileSource)>,
) {
    for (name, mut source) in entries {
        if let Some(old) = profiles.get(&name) {
            source.keep_refreshed |= old.keep_refreshed && old.role_arn == source.role_arn;
        }
        profiles.insert(name, source);
    }
}

/// The settings of a first run: the defaults, with an active profile that holds no one else's
/// keys.
pub fn first_run_settings(paths: &crate::paths::AppPaths) -> Settings {
    let mut settings = Settings::default();
    if let Some(name) = proposed_active_profile(paths, &settings.preferences.active_profile) {
        settings.preferences.active_profile = name;
    }
    settings
}

/// [`propose_active_profile`] for the AWS files and registry at `paths`; `None` also when they
/// cannot be read (the engine's status reports that).
pub fn proposed_active_profile(paths: &crate::paths::AppPaths, wanted: &str) -> Option<String> {
    let registry = Registry::load(&paths.config_dir).ok()?;
    propose_active_profile(&AwsFiles::from_paths(paths), &registry, wanted)
        .ok()
        .flatten()
}

/// The name to propose for the active profile instead of `wanted` when Rolecall may not write
/// `wanted` (it holds someone else's keys, see [`AwsFiles::foreign_profiles`]): the first free
/// `wanted-2`, `wanted-3`, ... that is neither foreign nor another of Rolecall's profiles.
/// `None` when `wanted` is fine.
pub fn propose_active_profile(
    files: &AwsFiles,
    registry: &Registry,
    wanted: &str,
) -> Result<Option<String>, AwsFilesError> {
    let foreign = files.foreign_profiles(|name| registry.get(name).is_some())?;
    if !foreign.contains(wanted) {
        return Ok(None);
    }
    Ok(Some(free_name(wanted, |name| {
        foreign.contains(name) || registry.get(name).is_some()
    })))
}

/// A profile to write, with the credentials of its role.
#[derive(Debug, Clone)]
pub struct NewProfile {
    pub name: String,
    pub role: RolePair,
    pub credentials: Credentials,
    /// Written as the profile's `region` (config file) when set.
    pub region: Option<String>,
}

/// Writes the profiles in one update of each AWS file, each with `output` when set, and records
/// in the registry where each came from. The lock waits and the fsyncs block: they run off the
/// async workers. Nothing is written when one of them holds keys Rolecall did not write
/// ([`AwsFilesError::ForeignKeys`]).
pub async fn write_profiles(
    files: &AwsFiles,
    endpoint: &Endpoint,
    output: Option<String>,
    profiles: Vec<NewProfile>,
    registry: &mut Registry,
) -> Result<WriteReport, AwsFilesError> {
    let sources: Vec<(String, ProfileSource)> = profiles
        .iter()
        .map(|profile| {
            (
                profile.name.clone(),
                ProfileSource::new(endpoint, &profile.role, profile.region.as_deref()),
            )
        })
        .collect();
    let writes: Vec<ProfileWrite> = profiles
        .into_iter()
        .map(|profile| ProfileWrite {
            name: profile.name,
            credentials: profile.credentials,
            region: profile.region,
            output: output.clone(),
            registered: false,
        })
        .collect();
    let moved = files.clone();
    let mut kept = registry.clone();
    let (report, kept) = tokio::task::spawn_blocking(move || {
        let report = kept.write_and_record(&moved, writes, sources);
        (report, kept)
    })
    .await
    .map_err(|err| {
        AwsFilesError::File(StoreError::Write {
            path: files.credentials_file().to_owned(),
            source: std::io::Error::other(err.to_string()),
        })
    })?;
    *registry = kept;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(account: &str, role: &str) -> RolePair {
        RolePair {
            role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            principal_arn: format!("arn:aws:iam::{account}:saml-provider/ADFS"),
        }
    }

    #[test]
    fn names_follow_the_template_and_fall_back_to_the_account_id() {
        let parts = NameParts {
            account_id: "111122223333",
            account_alias: Some("prod"),
            role: "Admin",
            endpoint: "corp",
        };
        assert_eq!(profile_name("{account_alias}-{role}", parts), "prod-Admin");
        assert_eq!(
            profile_name("{endpoint}/{account_id}:{role}", parts),
            "corp-111122223333-Admin",
            "characters a section name cannot hold become -"
        );
        let no_alias = NameParts {
            account_alias: None,
            ..parts
        };
        assert_eq!(
            profile_name("{account_alias}-{role}", no_alias),
            "111122223333-Admin"
        );
    }

    #[test]
    fn collisions_get_numbers_in_role_arn_order_whatever_the_input_order() {
        let roles = vec![pair("222222222222", "Admin"), pair("111111111111", "Admin")];
        let aliases = Aliases::from([
            ("111111111111".to_owned(), "team".to_owned()),
            ("222222222222".to_owned(), "team".to_owned()),
        ]);
        let named = assign_names(
            &roles,
            "{account_alias}-{role}",
            &aliases,
            "corp",
            &BTreeSet::new(),
        );
        assert_eq!(named[0].1, "team-Admin-2", "2222... sorts after 1111...");
        assert_eq!(named[1].1, "team-Admin");
        let mut reversed = roles.clone();
        reversed.reverse();
        let again = assign_names(
            &reversed,
            "{account_alias}-{role}",
            &aliases,
            "corp",
            &BTreeSet::new(),
        );
        assert_eq!(again[0].1, "team-Admin", "the same role gets the same name");
    }

    #[test]
    fn names_of_profiles_rolecall_may_not_write_are_skipped() {
        let roles = vec![pair("111111111111", "Admin"), pair("222222222222", "Admin")];
        let aliases = Aliases::from([
            ("111111111111".to_owned(), "team".to_owned()),
            ("222222222222".to_owned(), "team".to_owned()),
        ]);
        let foreign = BTreeSet::from(["team-Admin".to_owned(), "team-Admin-3".to_owned()]);
        let named = assign_names(&roles, "{account_alias}-{role}", &aliases, "corp", &foreign);
        let names: Vec<&str> = named.iter().map(|(_, name)| name.as_str()).collect();
        assert_eq!(names, ["team-Admin-2", "team-Admin-4"]);
        assert_eq!(free_name("default", |name| name == "default"), "default-2");
        assert_eq!(free_name("default", |_| false), "default");
    }

    #[test]
    fn a_corrupt_registry_is_an_error_naming_it_and_is_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(Registry::FILE_NAME);
        std::fs::write(&path, "{ not json").unwrap();
        let err = Registry::load(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
    }

    #[test]
    fn the_registry_remembers_where_profiles_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::new("corp", "https://sts.corp.example").unwrap();
        let source =
            ProfileSource::new(&endpoint, &pair("111111111111", "Admin"), Some("eu-west-1"));
        let mut registry = Registry::load(dir.path()).unwrap();
        registry
            .record([("prod-Admin".to_owned(), source.clone())])
            .unwrap();
        let loaded = Registry::load(dir.path()).unwrap();
        assert_eq!(loaded.get("prod-Admin"), Some(&source));
        let back = source.endpoint(&[]).unwrap();
        assert_eq!(back.url, endpoint.url);
        assert_eq!(source.role(), pair("111111111111", "Admin"));
    }
}
