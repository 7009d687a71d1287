//! Provisioning: the roles of a sign-in into AWS profiles, and the console for a role. The tray,
//! the command line and `credential-process` all come here, so the rules below are the only ones.
//!
//! - **Session length.** The request's own (`--duration`) or the person's setting, within
//!   [`SESSION_DURATION_SECS`]; STS is asked for [`crate::sts::requested_duration`] of it (the
//!   assertion's `SessionDuration` and a role's learned limit cap it). A console session is a
//!   role session like any other: it gets the same length, and ends with its credentials.
//! - **Region written** with a profile ([`Regions::written`]): the request's (`--region`), else
//!   the one the profile had when it is renewed, else the role's, else its account's, else the
//!   default region. With none, the config file keeps whatever region the profile has.
//! - **STS region** ([`Regions::sts`]): the request's, else the default region, else the
//!   assertion's (a regional sign-in endpoint), else the partition's first. A region of another
//!   partition than the assertion's is passed over: STS would not know the role there.
//! - **Console region** ([`Regions::console`]): the request's, else the profile's (its config
//!   file), else the region its profile is written with, else the assertion's, else the
//!   partition's first; again only regions of the credentials' partition.
//! - **Chained roles** ([`Roles::Chain`], and renewals of chained profiles): the source role is
//!   assumed with the assertion as above, then the chain runs from that new session
//!   ([`crate::chain`]); the profile gets the last hop's credentials, written in the region of
//!   the last hop's role. Renewing one always starts again from the assertion.
//! - **Session limits** learned from STS are remembered per role ([`SessionLimits`]) on every
//!   path, the console's too.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::accounts::{AccountNames, AliasCache, Aliases};
use crate::aws_files::{AwsFiles, AwsFilesError, Credentials, StoredCredentials, WriteReport};
use crate::browser_command::ConsoleBrowser;
use crate::chain::{self, Chain, ChainProblem};
use crate::clock::Clock;
use crate::console::{self, ConsoleError};
use crate::partition::{Partition, is_region_name};
use crate::paths::{AppPaths, Environment};
use crate::profiles::{self, NewProfile};
use crate::registry::Registry;
use crate::saml::{Assertion, RolePair};
use crate::secrets::Sensitive;
use crate::settings::{Endpoint, Preferences, Settings};
use crate::store::StoreError;
use crate::sts::{SESSION_DURATION_SECS, SessionLimits, Sts, StsError};

/// A profile opens the console only with more than this left; otherwise a new session does.
pub const CONSOLE_MIN_REMAINING: time::Duration = time::Duration::minutes(5);

/// Which roles go into which profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roles {
    /// One role into the profile named (the active profile, or `--profile`).
    One { role: RolePair, profile: String },
    /// These roles, into profiles the template names.
    Set(Vec<RolePair>),
    /// Every role the sign-in grants, into profiles the template names.
    All,
    /// Profiles written before, renewed: each keeps its name and the region it was written with
    /// (a chained one runs its chain again, from a new session of its source role).
    Again(Vec<(RolePair, String)>),
    /// The last role of `chain`, assumed from a new session of `role` (which the sign-in
    /// grants), into the profile named.
    Chain {
        role: RolePair,
        chain: Chain,
        profile: String,
    },
}

/// What to provision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub roles: Roles,
    /// Seconds instead of the person's setting (`--duration`).
    pub duration_secs: Option<u32>,
    /// The region of every profile instead of the settings' (`--region`).
    pub region: Option<String>,
}

impl Request {
    pub fn new(roles: Roles) -> Self {
        Self {
            roles,
            duration_secs: None,
            region: None,
        }
    }

    /// Refuses a length STS would refuse and a region that is not one, before any call.
    pub fn check(&self) -> Result<(), ProvisionError> {
        check_overrides(self.duration_secs, self.region.as_deref())?;
        if let Roles::Chain { chain, .. } = &self.roles {
            chain.check()?;
        }
        Ok(())
    }
}

/// [`Request::check`] before there is a request: the command line checks its `--duration` and
/// `--region` before it signs in.
pub fn check_overrides(duration_secs: Option<u32>, region: Option<&str>) -> Result<(), StsError> {
    if let Some(seconds) = duration_secs
        && !SESSION_DURATION_SECS.contains(&seconds)
    {
        return Err(StsError::SessionLength { seconds });
    }
    if let Some(region) = region
        && !is_region_name(region)
    {
        return Err(StsError::BadRegion {
            region: region.to_owned(),
        });
    }
    Ok(())
}

impl Roles {
    /// The roles a person chose: one role goes into `profile` (the active profile unless one
    /// is named), several or all into profiles the template names, where naming one profile
    /// makes no sense.
    pub fn chosen(
        chosen: Vec<RolePair>,
        all: bool,
        profile: Option<String>,
        active_profile: &str,
    ) -> Result<Self, ChoiceError> {
        match (all, <[RolePair; 1]>::try_from(chosen), profile) {
            (false, Ok([role]), profile) => Ok(Roles::One {
                role,
                profile: profile.unwrap_or_else(|| active_profile.to_owned()),
            }),
            (_, _, Some(_)) => Err(ChoiceError::ProfileOfMany),
            (true, _, None) => Ok(Roles::All),
            (false, Err(chosen), None) => Ok(Roles::Set(chosen)),
        }
    }
}

/// A choice of roles that cannot be provisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error(
        "--profile names the profile of one role; several roles get names from the profile \
         template (Settings → Profiles)."
    )]
    ProfileOfMany,
}

/// Picks roles by what a person typed: a role ARN, or `ACCOUNT/ROLE` with the account's id or
/// alias (case-insensitive) and the role's name.
pub fn select_roles(
    roles: &[RolePair],
    aliases: &Aliases,
    wanted: &[String],
) -> Result<Vec<RolePair>, SelectError> {
    let mut chosen: Vec<RolePair> = Vec::new();
    for typed in wanted {
        let typed = typed.trim();
        let found = if typed.starts_with("arn:") {
            roles.iter().find(|role| role.role_arn == typed)
        } else {
            let (account, name) =
                typed
                    .rsplit_once('/')
                    .ok_or_else(|| SelectError::Unreadable {
                        typed: typed.to_owned(),
                    })?;
            roles.iter().find(|role| {
                let id = role.account_id();
                let account_matches = id == account
                    || aliases
                        .get(id)
                        .is_some_and(|alias| alias.eq_ignore_ascii_case(account));
                account_matches && role.role_name().eq_ignore_ascii_case(name)
            })
        };
        let role = found.ok_or_else(|| SelectError::NotGranted {
            typed: typed.to_owned(),
        })?;
        if !chosen.contains(role) {
            chosen.push(role.clone());
        }
    }
    Ok(chosen)
}

/// A role a person asked for that the assertion does not grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error(
        "\"{typed}\" names no role: give a role ARN, or ACCOUNT/ROLE such as prod/Admin or \
         111122223333/Admin."
    )]
    Unreadable { typed: String },
    #[error("The sign-in grants no role \"{typed}\". `rolecall roles` lists the roles you hold.")]
    NotGranted { typed: String },
}

/// The region rules (see the module's documentation), for one request.
#[derive(Debug, Clone, Copy)]
pub struct Regions<'a> {
    pub preferences: &'a Preferences,
    /// The request's region (`--region`), for every profile.
    pub asked: Option<&'a str>,
}

impl Regions<'_> {
    /// The region written with `role`'s profile; `kept` is the one it was written with before,
    /// when it is renewed.
    pub fn written(&self, role: &RolePair, kept: Option<&str>) -> Option<String> {
        self.asked
            .or(kept)
            .or_else(|| {
                self.preferences
                    .region_for(&role.role_arn, role.account_id())
            })
            .map(str::to_owned)
    }

    /// The region STS is called in for an assertion of `partition`.
    pub fn sts(&self, partition: Partition, assertion_region: Option<&str>) -> String {
        first_of(
            partition,
            [
                self.asked,
                self.preferences.default_region.as_deref(),
                assertion_region,
            ],
        )
    }

    /// The region the console opens in for credentials of `partition`: `profile_region` is the
    /// region in the config file of the profile they come from, `role` the role they are of.
    pub fn console(
        &self,
        partition: Partition,
        role: Option<&RolePair>,
        profile_region: Option<&str>,
        assertion_region: Option<&str>,
    ) -> String {
        let written = match role {
            Some(role) => self.written(role, None),
            None => self.preferences.default_region.clone(),
        };
        first_of(
            partition,
            [
                self.asked,
                profile_region,
                written.as_deref(),
                assertion_region,
            ],
        )
    }
}

/// The first of `candidates` that is a region of `partition`, else the partition's first.
fn first_of<'r>(
    partition: Partition,
    candidates: impl IntoIterator<Item = Option<&'r str>>,
) -> String {
    candidates
        .into_iter()
        .flatten()
        .find(|region| is_region_name(region) && Partition::of_region(region) == partition)
        .unwrap_or(partition.default_region())
        .to_owned()
}

/// Everything provisioning uses besides the request.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub env: &'a Environment,
    pub files: &'a AwsFiles,
    /// Rolecall's folder: the registry and the session limits.
    pub config_dir: &'a Path,
    pub clock: &'a dyn Clock,
    pub preferences: &'a Preferences,
    /// The endpoint the assertion came from: its network, and what the registry records.
    pub endpoint: &'a Endpoint,
    /// Account aliases, for profile names.
    pub aliases: &'a Aliases,
    /// The session limits learned so far: the running app's in memory, or [`limits_on_disk`].
    pub limits: Arc<Mutex<SessionLimits>>,
}

/// The session limits in Rolecall's folder, for callers that keep none in memory.
pub fn limits_on_disk(config_dir: &Path) -> Arc<Mutex<SessionLimits>> {
    Arc::new(Mutex::new(SessionLimits::load_or_empty(config_dir)))
}

impl Context<'_> {
    /// The browser the person chose for `role_arn`'s console. The preferences were checked
    /// when the settings were read, so a template that does not parse is one built in code:
    /// it is logged, and the desktop's default browser opens the console.
    fn console_browser(&self, role_arn: &str) -> Option<ConsoleBrowser> {
        let account = role_arn.split(':').nth(4).unwrap_or_default();
        console::browser_of(
            self.preferences,
            Some(self.endpoint),
            role_arn,
            self.aliases.get(account).map(String::as_str),
        )
        .unwrap_or_else(|err| {
            tracing::warn!("{err}");
            None
        })
    }

    fn sts(&self, assertion: &Assertion, regions: &Regions<'_>) -> Result<Sts, StsError> {
        let region = regions.sts(assertion.partition, assertion.region.as_deref());
        Sts::new(
            &self.endpoint.network(),
            self.env,
            assertion.partition,
            &region,
        )
    }
}

/// What [`provision`] did.
#[derive(Debug)]
pub struct Provisioned {
    /// Profile name, role and credentials of every profile written, in the order asked.
    pub profiles: Vec<(String, RolePair, Credentials)>,
    /// The roles STS refused, with why.
    pub failed: Vec<(String, RolePair, StsError)>,
    /// What the write changed; `None` when no role gave credentials.
    pub report: Option<WriteReport>,
    /// When the profiles were written, on the context's clock.
    pub at: OffsetDateTime,
}

/// Why nothing was provisioned.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Sts(#[from] StsError),
    #[error(transparent)]
    Files(#[from] AwsFilesError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("The chain of roles cannot be assumed: {0}")]
    Chain(#[from] ChainProblem),
}

/// Assumes the request's roles and writes their profiles in one update of each AWS file; the
/// registry learns where each came from. A role STS refuses is reported and the others are
/// still written. Nothing is written when one of the profiles holds keys Rolecall did not write.
pub async fn provision(
    ctx: &Context<'_>,
    assertion: &Arc<Assertion>,
    request: Request,
) -> Result<Provisioned, ProvisionError> {
    request.check()?;
    let regions = Regions {
        preferences: ctx.preferences,
        asked: request.region.as_deref(),
    };
    let mut registry = Registry::load(ctx.config_dir)?;
    let foreign = ctx
        .files
        .foreign_profiles(|name| registry.get(name).is_some())?;
    let mut chains: BTreeMap<String, Chain> = BTreeMap::new();
    let (named, renewing) = match request.roles {
        Roles::One { role, profile } => (vec![(role, profile)], false),
        Roles::Set(roles) => (name_by_template(ctx, &roles, &foreign), false),
        Roles::All => (name_by_template(ctx, &assertion.roles, &foreign), false),
        Roles::Again(named) => {
            // A chained profile runs its chain again; its own credentials are never used.
            for (role, profile) in &named {
                if let Some(chain) = registry
                    .get(profile)
                    .filter(|source| source.role_arn == role.role_arn)
                    .and_then(|source| source.chain.clone())
                {
                    chains.insert(profile.clone(), chain);
                }
            }
            (named, true)
        }
        Roles::Chain {
            role,
            chain,
            profile,
        } => {
            chains.insert(profile.clone(), chain);
            (vec![(role, profile)], false)
        }
    };
    // Refused before any STS call; the write checks again under the files' lock.
    if let Some((_, name)) = named.iter().find(|(_, name)| foreign.contains(name)) {
        ctx.files
            .check_writable(name, registry.get(name).is_some())?;
    }
    let sts = ctx.sts(assertion, &regions)?;
    let limits = Arc::clone(&ctx.limits);
    let setting = request
        .duration_secs
        .unwrap_or(ctx.preferences.session_duration_secs);
    let assumed = profiles::assume_all(&sts, assertion, named, setting, &limits).await;

    let mut provisioned = Provisioned {
        profiles: Vec::new(),
        failed: Vec::new(),
        report: None,
        at: ctx.clock.now(),
    };
    let mut writes = Vec::new();
    for assumption in assumed {
        if let Err(err) = &assumption.result {
            keep_refusal(ctx, &assumption.role, err);
        }
        let chain = chains.remove(&assumption.profile);
        let result = match (assumption.result, &chain) {
            (Ok(source), Some(chain)) => {
                chain::assume(&sts, assertion, &assumption.role, source, chain).await
            }
            (result, _) => result,
        };
        match result {
            Ok(credentials) => {
                let kept = registry
                    .get(&assumption.profile)
                    .filter(|source| {
                        renewing
                            && source.role_arn == assumption.role.role_arn
                            && source.chain == chain
                    })
                    .and_then(|source| source.region.as_deref());
                // A chained profile works in the last hop's account: its region follows that role.
                let target = match chain.as_ref().and_then(Chain::last_role) {
                    Some(last) => RolePair {
                        role_arn: last.to_owned(),
                        principal_arn: assumption.role.principal_arn.clone(),
                    },
                    None => assumption.role.clone(),
                };
                writes.push(NewProfile {
                    region: regions.written(&target, kept),
                    name: assumption.profile.clone(),
                    role: assumption.role.clone(),
                    credentials: credentials.clone(),
                    chain,
                });
                provisioned
                    .profiles
                    .push((assumption.profile, assumption.role, credentials));
            }
            Err(err) => provisioned
                .failed
                .push((assumption.profile, assumption.role, err)),
        }
    }
    if writes.is_empty() {
        return Ok(provisioned);
    }
    let report = profiles::write_profiles(
        ctx.files,
        ctx.endpoint,
        ctx.preferences.default_output.clone(),
        writes,
        &mut registry,
    )
    .await?;
    provisioned.report = Some(report);
    provisioned.at = ctx.clock.now();
    Ok(provisioned)
}

/// Keeps STS's own words with the endpoint's last sign-in when it refused `role`, for the
/// settings window and the doctor.
fn keep_refusal(ctx: &Context<'_>, role: &RolePair, err: &StsError) {
    if let Some(aws) = err.aws_answer() {
        crate::last_sign_in::record_refusal_or_log(
            ctx.config_dir,
            &ctx.endpoint.name,
            crate::last_sign_in::StsRefusal {
                at: ctx.clock.now(),
                role_arn: role.role_arn.clone(),
                aws,
            },
        );
    }
}

fn name_by_template(
    ctx: &Context<'_>,
    roles: &[RolePair],
    foreign: &std::collections::BTreeSet<String>,
) -> Vec<(RolePair, String)> {
    profiles::assign_names(
        roles,
        &ctx.preferences.profile_template,
        ctx.aliases,
        &ctx.endpoint.name,
        foreign,
    )
}

/// Temporary credentials to open the console with, and where it opens.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The profile the credentials come from (the role's name for a session not written
    /// anywhere), for messages.
    pub profile: String,
    pub credentials: StoredCredentials,
    pub partition: Partition,
    pub region: String,
    /// The browser the person chose for the account or role, if any.
    pub browser: Option<ConsoleBrowser>,
}

/// The console session of a profile of `role_arn` from the context's endpoint that has more
/// than [`CONSOLE_MIN_REMAINING`] left, if there is one.
pub fn fresh_console_session(
    ctx: &Context<'_>,
    role_arn: &str,
) -> Result<Option<ConsoleSession>, ProvisionError> {
    let registry = Registry::load(ctx.config_dir)?;
    let now = ctx.clock.now();
    let regions = Regions {
        preferences: ctx.preferences,
        asked: None,
    };
    for (profile, source) in registry.all() {
        // A chained profile holds another role's credentials than its source role's.
        if source.endpoint != ctx.endpoint.name
            || source.role_arn != role_arn
            || source.chain.is_some()
        {
            continue;
        }
        let Some(credentials) = ctx.files.read_credentials(profile)? else {
            continue;
        };
        let fresh = credentials
            .expiration
            .is_some_and(|expiration| expiration - now > CONSOLE_MIN_REMAINING);
        if !fresh {
            continue;
        }
        let profile_region = ctx.files.read_region(profile)?;
        let partition = console::partition_of(&credentials, profile_region.as_deref());
        let region = regions.console(
            partition,
            Some(&source.role()),
            profile_region.as_deref(),
            None,
        );
        let browser = ctx.console_browser(role_arn);
        return Ok(Some(ConsoleSession {
            profile: profile.clone(),
            credentials,
            partition,
            region,
            browser,
        }));
    }
    Ok(None)
}

/// A new session of `role` for the console, written nowhere: as long as a profile's would be
/// (the person's session length and the role's limit), in the region its profile is written
/// with.
pub async fn new_console_session(
    ctx: &Context<'_>,
    assertion: &Arc<Assertion>,
    role: &RolePair,
) -> Result<ConsoleSession, ProvisionError> {
    let regions = Regions {
        preferences: ctx.preferences,
        asked: None,
    };
    let sts = ctx.sts(assertion, &regions)?;
    let limits = Arc::clone(&ctx.limits);
    let profile = role.role_name().to_owned();
    let mut assumed = profiles::assume_all(
        &sts,
        assertion,
        vec![(role.clone(), profile.clone())],
        ctx.preferences.session_duration_secs,
        &limits,
    )
    .await;
    let credentials = match assumed.pop() {
        Some(assumption) => {
            if let Err(err) = &assumption.result {
                keep_refusal(ctx, role, err);
            }
            assumption.result?
        }
        None => {
            return Err(StsError::Unexpected {
                endpoint: sts.endpoint().to_owned(),
                detail: "the call stopped before it answered".to_owned(),
            }
            .into());
        }
    };
    let partition = assertion.partition;
    Ok(ConsoleSession {
        region: regions.console(partition, Some(role), None, assertion.region.as_deref()),
        browser: ctx.console_browser(&role.role_arn),
        profile,
        credentials: StoredCredentials {
            access_key_id: credentials.access_key_id,
            secret_access_key: credentials.secret_access_key,
            session_token: Some(credentials.session_token),
            expiration: Some(credentials.expiration),
            principal_arn: credentials.principal_arn,
        },
        partition,
    })
}

/// The console session of any profile in the AWS files (`rolecall console --profile`), in
/// `asked` when given. A profile Rolecall wrote follows its role's region rule.
pub fn profile_console_session(
    paths: &AppPaths,
    profile: &str,
    asked: Option<&str>,
) -> Result<ConsoleSession, ConsoleError> {
    let files = AwsFiles::from_paths(paths);
    let credentials =
        files
            .read_credentials(profile)?
            .ok_or_else(|| ConsoleError::NoCredentials {
                profile: profile.to_owned(),
                file: files.credentials_file().to_owned(),
            })?;
    let profile_region = files.read_region(profile)?;
    // What the person gave is never passed over in silence.
    if let Some(region) = asked
        .or(profile_region.as_deref())
        .filter(|region| !is_region_name(region))
    {
        return Err(ConsoleError::BadRegion {
            region: region.to_owned(),
        });
    }
    let source = Registry::load(&paths.config_dir)?.get(profile).cloned();
    let role = source.as_ref().map(|source| source.role());
    let person = Settings::load(paths)?;
    let settings = match role {
        // Only a profile of Rolecall's follows its settings' regions.
        Some(_) => person.clone(),
        None => Settings::default(),
    };
    // The browser follows the account, whoever wrote the profile.
    let role_arn = match &source {
        Some(source) => Some(source.role_arn.clone()),
        None => credentials
            .principal_arn
            .as_deref()
            .and_then(console::role_of_assumed_role),
    };
    let browser = match role_arn {
        Some(role_arn) => {
            let endpoint = source
                .as_ref()
                .and_then(|source| source.endpoint(&person.endpoints));
            let cache = AliasCache::load_or_empty(&paths.config_dir);
            let names = AccountNames::known(&cache, &person.preferences.account_names);
            let account = role_arn.split(':').nth(4).unwrap_or_default();
            console::browser_of(
                &person.preferences,
                endpoint.as_ref(),
                &role_arn,
                names.name_of(account).0,
            )?
        }
        None => None,
    };
    let partition = console::partition_of(&credentials, asked.or(profile_region.as_deref()));
    let region = Regions {
        preferences: &settings.preferences,
        asked,
    }
    .console(partition, role.as_ref(), profile_region.as_deref(), None);
    Ok(ConsoleSession {
        profile: profile.to_owned(),
        credentials,
        partition,
        region,
        browser,
    })
}

/// The console sign-in URL of `session` (valid for [`console::SIGNIN_TOKEN_LIFETIME`]),
/// through the federation endpoint of its partition, over `network`.
pub async fn console_url(
    env: &Environment,
    network: &crate::http::Network,
    session: &ConsoleSession,
    now: OffsetDateTime,
) -> Result<Sensitive<url::Url>, ConsoleError> {
    let endpoints = console::Endpoints::for_partition(session.partition, env)?;
    let client = network.client(console::USER_AGENT)?;
    let sign_in = console::SignIn {
        credentials: &session.credentials,
        profile: &session.profile,
        partition: session.partition,
        region: Some(&session.region),
        session_duration: None,
        now,
    };
    console::signin_url(&client, &endpoints, &sign_in).await
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

    fn preferences(default: Option<&str>, regions: &[(&str, &str)]) -> Preferences {
        Preferences {
            default_region: default.map(str::to_owned),
            regions: regions
                .iter()
                .map(|(key, region)| ((*key).to_owned(), (*region).to_owned()))
                .collect(),
            ..Preferences::default()
        }
    }

    #[test]
    fn the_written_region_is_the_asked_then_the_kept_then_the_roles_then_the_accounts_then_the_default()
     {
        let admin = pair("111122223333", "Admin");
        let all = preferences(
            Some("us-east-2"),
            &[
                (admin.role_arn.as_str(), "eu-west-1"),
                ("111122223333", "eu-central-1"),
            ],
        );
        let regions = |asked| Regions {
            preferences: &all,
            asked,
        };
        assert_eq!(
            regions(Some("ap-south-1")).written(&admin, Some("sa-east-1")),
            Some("ap-south-1".to_owned())
        );
        assert_eq!(
            regions(None).written(&admin, Some("sa-east-1")),
            Some("sa-east-1".to_owned()),
            "a renewed profile keeps its region"
        );
        assert_eq!(
            regions(None).written(&admin, None),
            Some("eu-west-1".to_owned())
        );
        let other = pair("111122223333", "ReadOnly");
        assert_eq!(
            regions(None).written(&other, None),
            Some("eu-central-1".to_owned()),
            "the account's region"
        );
        let elsewhere = pair("444455556666", "Admin");
        assert_eq!(
            regions(None).written(&elsewhere, None),
            Some("us-east-2".to_owned())
        );
        let none = preferences(None, &[]);
        assert_eq!(
            Regions {
                preferences: &none,
                asked: None
            }
            .written(&elsewhere, None),
            None,
            "nothing configured: the config file keeps its own"
        );
    }

    #[test]
    fn sts_is_called_in_the_asked_then_the_default_then_the_assertions_region_of_its_partition() {
        let with_default = preferences(Some("eu-west-1"), &[("111122223333", "ap-south-1")]);
        let none = preferences(None, &[]);
        let sts = |preferences, asked, partition, assertion| {
            Regions { preferences, asked }.sts(partition, assertion)
        };
        assert_eq!(
            sts(
                &with_default,
                Some("us-west-2"),
                Partition::Aws,
                Some("eu-north-1")
            ),
            "us-west-2"
        );
        assert_eq!(
            sts(&with_default, None, Partition::Aws, Some("eu-north-1")),
            "eu-west-1",
            "a role's or account's region does not move STS"
        );
        assert_eq!(
            sts(&none, None, Partition::Aws, Some("eu-north-1")),
            "eu-north-1"
        );
        assert_eq!(sts(&none, None, Partition::Aws, None), "us-east-1");
        assert_eq!(
            sts(&with_default, None, Partition::AwsUsGov, None),
            "us-gov-west-1",
            "a default region of another partition is passed over"
        );
        assert_eq!(
            sts(
                &with_default,
                None,
                Partition::AwsCn,
                Some("cn-northwest-1")
            ),
            "cn-northwest-1"
        );
    }

    #[test]
    fn the_console_opens_in_the_asked_then_the_profiles_then_the_written_region() {
        let admin = pair("111122223333", "Admin");
        let all = preferences(Some("us-east-2"), &[("111122223333", "eu-central-1")]);
        let regions = |asked| Regions {
            preferences: &all,
            asked,
        };
        assert_eq!(
            regions(Some("ap-south-1")).console(
                Partition::Aws,
                Some(&admin),
                Some("eu-west-1"),
                None
            ),
            "ap-south-1"
        );
        assert_eq!(
            regions(None).console(Partition::Aws, Some(&admin), Some("eu-west-1"), None),
            "eu-west-1",
            "the region in the profile's config"
        );
        assert_eq!(
            regions(None).console(Partition::Aws, Some(&admin), None, Some("eu-north-1")),
            "eu-central-1",
            "a new session opens where its profile would be written"
        );
        assert_eq!(
            regions(None).console(Partition::Aws, None, None, None),
            "us-east-2",
            "a profile not Rolecall's: the default region"
        );
        let none = preferences(None, &[]);
        assert_eq!(
            Regions {
                preferences: &none,
                asked: None
            }
            .console(Partition::Aws, Some(&admin), None, Some("eu-north-1")),
            "eu-north-1"
        );
        assert_eq!(
            Regions {
                preferences: &none,
                asked: None
            }
            .console(Partition::AwsUsGov, Some(&admin), Some("eu-west-1"), None),
            "us-gov-west-1"
        );
    }

    #[test]
    fn a_request_outside_what_sts_accepts_is_refused_before_any_call() {
        let role = pair("111122223333", "Admin");
        let request = |duration_secs, region: Option<&str>| Request {
            roles: Roles::One {
                role: role.clone(),
                profile: "default".to_owned(),
            },
            duration_secs,
            region: region.map(str::to_owned),
        };
        for seconds in [900, 3600, 43_200] {
            assert!(request(Some(seconds), None).check().is_ok(), "{seconds}");
        }
        for seconds in [0, 899, 43_201] {
            assert!(
                matches!(
                    request(Some(seconds), None).check(),
                    Err(ProvisionError::Sts(StsError::SessionLength { seconds: s })) if s == seconds
                ),
                "{seconds}"
            );
        }
        assert!(request(None, Some("eu-west-1")).check().is_ok());
        for region in ["eu-west", "us-east-1234", "eu-west-1.evil.example"] {
            assert!(
                matches!(
                    request(None, Some(region)).check(),
                    Err(ProvisionError::Sts(StsError::BadRegion { .. }))
                ),
                "{region}"
            );
        }
    }

    #[test]
    fn one_role_goes_into_the_named_or_active_profile_and_several_into_the_templates() {
        let admin = pair("111122223333", "Admin");
        let read = pair("111122223333", "ReadOnly");
        assert_eq!(
            Roles::chosen(vec![admin.clone()], false, None, "default"),
            Ok(Roles::One {
                role: admin.clone(),
                profile: "default".to_owned()
            })
        );
        assert_eq!(
            Roles::chosen(
                vec![admin.clone()],
                false,
                Some("work".to_owned()),
                "default"
            ),
            Ok(Roles::One {
                role: admin.clone(),
                profile: "work".to_owned()
            })
        );
        assert_eq!(
            Roles::chosen(vec![admin.clone(), read.clone()], false, None, "default"),
            Ok(Roles::Set(vec![admin.clone(), read.clone()]))
        );
        assert_eq!(
            Roles::chosen(vec![admin.clone()], true, None, "default"),
            Ok(Roles::All),
            "all roles, even when the sign-in grants one"
        );
        assert_eq!(
            Roles::chosen(vec![admin, read], false, Some("work".to_owned()), "default"),
            Err(ChoiceError::ProfileOfMany)
        );
    }

    #[test]
    fn roles_are_chosen_by_arn_or_account_and_name() {
        let roles = vec![
            pair("111111111111", "Admin"),
            pair("111111111111", "ReadOnly"),
            pair("222222222222", "Admin"),
        ];
        let aliases = Aliases::from([("111111111111".to_owned(), "Prod".to_owned())]);
        let pick = |typed: &[&str]| {
            select_roles(
                &roles,
                &aliases,
                &typed.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            pick(&["prod/admin"]).unwrap(),
            vec![roles[0].clone()],
            "alias and name in any case"
        );
        assert_eq!(
            pick(&["222222222222/Admin"]).unwrap(),
            vec![roles[2].clone()]
        );
        assert_eq!(
            pick(&["arn:aws:iam::111111111111:role/ReadOnly", "Prod/ReadOnly"]).unwrap(),
            vec![roles[1].clone()],
            "once each"
        );
        assert!(matches!(
            pick(&["Prod/Billing"]),
            Err(SelectError::NotGranted { .. })
        ));
        assert!(matches!(
            pick(&["Admin"]),
            Err(SelectError::Unreadable { .. })
        ));
    }
}
