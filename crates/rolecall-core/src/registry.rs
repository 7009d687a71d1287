//! `profiles.json` in Rolecall's folder: which endpoint and role each profile Rolecall wrote
//! came from, and whether it is kept refreshed, so `credential-process` and the background
//! renewal can renew it without asking. Read and changed under the file's lock
//! ([`crate::store::JsonFile`]); a file that does not parse is an error naming it, never an
//! empty registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::aws_files::{AwsFiles, AwsFilesError, ProfileWrite, WriteReport};
use crate::chain::Chain;
use crate::saml::RolePair;
use crate::settings::{Endpoint, SignInMethod};
use crate::store::{JsonFile, StoreError};

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
    /// For a chained profile, the roles assumed after `role_arn` (the source role the SAML
    /// sign-in grants): it is renewed by a new session of the source role and the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
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
            chain: None,
        }
    }

    /// The role whose credentials the profile holds: the chain's last, or the source role.
    pub fn target_role(&self) -> &str {
        self.chain
            .as_ref()
            .and_then(Chain::last_role)
            .unwrap_or(&self.role_arn)
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
                followed.chain = source.chain.clone();
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
    pub(crate) fn write_and_record(
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
            source.keep_refreshed |=
                old.keep_refreshed && old.role_arn == source.role_arn && old.chain == source.chain;
        }
        profiles.insert(name, source);
    }
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

    /// A chained profile renamed with its endpoint must still renew as the chain, not as its
    /// source role.
    #[test]
    fn a_chained_profile_keeps_its_chain_when_its_endpoint_changes() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::new("corp", "https://sts.corp.example").unwrap();
        let mut source = ProfileSource::new(&endpoint, &pair("111111111111", "Hub"), None);
        source.chain = Some(Chain {
            roles: vec!["arn:aws:iam::222222222222:role/Deploy".to_owned()],
            external_id: None,
            session_name: None,
        });
        source.keep_refreshed = true;
        let mut registry = Registry::load(dir.path()).unwrap();
        registry
            .record([("spoke".to_owned(), source.clone())])
            .unwrap();
        let renamed = Endpoint::new("corp-new", "https://sts.corp.example").unwrap();
        registry.follow_endpoint("corp", &renamed).unwrap();
        let followed = Registry::load(dir.path())
            .unwrap()
            .get("spoke")
            .cloned()
            .unwrap();
        assert_eq!(followed.endpoint, "corp-new");
        assert_eq!(followed.chain, source.chain);
        assert!(followed.keep_refreshed);
        assert_eq!(
            followed.target_role(),
            "arn:aws:iam::222222222222:role/Deploy"
        );

        // Written again as the plain source role, it is no longer kept for the chain's sake.
        let plain = ProfileSource::new(&renamed, &pair("111111111111", "Hub"), None);
        registry.record([("spoke".to_owned(), plain)]).unwrap();
        assert!(!registry.get("spoke").unwrap().keep_refreshed);
    }
}
