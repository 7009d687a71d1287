//! From an assertion to profiles: naming them, assuming every chosen role at once, writing them
//! in one update of the AWS files, and remembering where each came from.
//!
//! [`assign_names`] turns the profile template (`{account_alias}-{role}`) into names that are
//! valid in the AWS files and never collide. [`assume_all`] calls STS for every role with a
//! bounded number of calls in flight, so a 590-role assertion is redeemed well inside STS's
//! 5-minute window; a role that fails is reported and the others still get their profile.
//! [`Registry`] (`profiles.json`, [`crate::registry`]) records which endpoint and role each
//! profile belongs to, so `credential-process` and the refresh can renew it later.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::accounts::Aliases;
use crate::aws_files::{AwsFiles, AwsFilesError, Credentials, ProfileWrite, WriteReport};
use crate::registry::{ProfileSource, Registry};
use crate::saml::{Assertion, RolePair};
use crate::settings::{Endpoint, Settings};
use crate::store::StoreError;
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
    /// For a chained profile: the roles assumed after `role`, whose last one's the credentials
    /// are.
    pub chain: Option<crate::chain::Chain>,
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
            let mut source = ProfileSource::new(endpoint, &profile.role, profile.region.as_deref());
            source.chain = profile.chain.clone();
            (profile.name.clone(), source)
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
}
