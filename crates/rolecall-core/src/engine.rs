//! The running app's state: who is signed in where, which profiles exist and when they expire,
//! what is being done, and the background renewal. The tray and windows only render the
//! [`Status`] it publishes and send [`Action`]s back.
//!
//! Data flows one way: an action signs in, assumes, writes the AWS files and the registry; the
//! engine then publishes a new snapshot (a `tokio::sync::watch`), and [`Notice`]s for the person
//! on a channel the shell turns into notifications. [`Engine::start_renewals`] runs the
//! scheduler until its handle is dropped: it plans on the wall clock ([`crate::refresh`]) and
//! sleeps at most a minute at a time, waking early when an action changes the plan.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, watch};

use crate::accounts::{Account, AliasCache};
use crate::aws_files::AwsFiles;
use crate::http::Network;
use crate::idp::{self, NoPasscodes, Outcome, SignIn, SignInError};
use crate::paths::{AppPaths, Environment};
use crate::profiles::{self, Registry, Writer};
use crate::refresh::{self, Policy, Tracked, Warning, WarningKind};
use crate::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use crate::saml::{Assertion, RolePair};
use crate::secrets::SecretStore;
use crate::settings::{Endpoint, Settings, SettingsError};
use crate::sts::{SessionLimits, Sts, StsError};

/// How long a failed background renewal waits before it is tried again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a sign-in's assertion is reused for further roles: STS takes it for 5 minutes.
const ASSERTION_REUSE: std::time::Duration = std::time::Duration::from_secs(4 * 60);

/// The wall clock, injected so tests can jump it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// What the engine needs from the outside world.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub paths: AppPaths,
    pub env: Environment,
    pub secrets: Arc<dyn SecretStore>,
    pub clock: Arc<dyn Clock>,
}

/// What the person asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SignIn {
        endpoint: String,
    },
    SignOut {
        endpoint: String,
    },
    /// Assume the role and make it the active profile.
    Use {
        endpoint: String,
        role_arn: String,
    },
    /// Show the role first in the tray, or not.
    Favourite {
        role_arn: String,
        on: bool,
    },
    /// The region written with the profiles of an account (12 digits) or a role (its ARN);
    /// `None` goes back to the default region.
    Region {
        key: String,
        region: Option<String>,
    },
    /// Every role of the endpoint into profiles named by the template.
    AllRoles {
        endpoint: String,
    },
    KeepRefreshed {
        profile: String,
        on: bool,
    },
    RenewNow,
}

/// Something to tell the person (the shell shows a notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Expiry(Warning),
    /// A background renewal failed; the message says why and what to do.
    RenewalFailed {
        endpoint: String,
        message: String,
    },
    /// A background renewal met the IdP's own pages: the shell tries them in a hidden window,
    /// where the IdP's SSO cookie often signs in without anyone; if it does not, nothing is
    /// shown and the expiry warning follows at its time.
    TrySilently {
        endpoint: String,
        url: String,
    },
}

/// One snapshot of everything the tray shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub endpoints: Vec<EndpointStatus>,
    pub profiles: Vec<ProfileStatus>,
    pub active_profile: String,
    /// Role ARNs the person marked as favourites, in the order they were marked.
    pub favourites: Vec<String>,
    pub overall: Overall,
    /// Files of Rolecall's it cannot read (a corrupt registry or cache, a broken settings
    /// file), each a sentence naming the file and saying what to do.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    pub name: String,
    pub phase: Phase,
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Phase {
    SignedOut,
    Working,
    SignedIn {
        session_name: String,
    },
    /// Only the person can go on, in the IdP's own pages.
    NeedsPerson {
        url: String,
        reason: String,
    },
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileStatus {
    pub name: String,
    pub endpoint: String,
    pub role_arn: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiration: Option<OffsetDateTime>,
    pub active: bool,
    pub keep_refreshed: bool,
    pub last_error: Option<String>,
}

/// The tray icon's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    SignedOut,
    Valid,
    Expiring,
    Expired,
    Working,
}

#[derive(Debug, Default)]
struct State {
    phases: BTreeMap<String, Phase>,
    accounts: BTreeMap<String, Vec<Account>>,
    /// The last assertion of each endpoint and when it was issued, for more roles at once.
    assertions: BTreeMap<String, (Arc<Assertion>, Instant)>,
    /// Endpoints whose silent renewal found that a person is needed.
    needs_person: BTreeSet<String>,
    profile_errors: BTreeMap<String, String>,
    warned: BTreeSet<(String, i64, WarningKind)>,
    /// When a renewal of each endpoint last failed, so a failing one is retried calmly.
    failed_at: BTreeMap<String, Instant>,
    /// When each profile was last written, on the engine's clock.
    written_at: BTreeMap<String, OffsetDateTime>,
}

#[derive(Debug)]
struct Shared {
    config: EngineConfig,
    state: Mutex<State>,
    status: watch::Sender<Status>,
    notices: mpsc::UnboundedSender<Notice>,
    replan: Notify,
}

/// The app's engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// Runs the background renewal until dropped.
#[derive(Debug)]
pub struct Renewals {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Renewals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Engine {
    /// A new engine and the receiving end of its notices.
    pub fn new(config: EngineConfig) -> (Self, mpsc::UnboundedReceiver<Notice>) {
        let (notices, receiver) = mpsc::unbounded_channel();
        let (status, _) = watch::channel(Status {
            endpoints: Vec::new(),
            profiles: Vec::new(),
            active_profile: String::new(),
            favourites: Vec::new(),
            overall: Overall::SignedOut,
            problems: Vec::new(),
        });
        let engine = Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                status,
                notices,
                replan: Notify::new(),
            }),
        };
        engine.publish();
        (engine, receiver)
    }

    /// Where the engine keeps its files and secrets (the settings window edits the same).
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Publishes a new snapshot after a change made outside an action (the settings window).
    pub fn refresh_status(&self) {
        self.publish();
        self.shared.replan.notify_one();
    }

    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.shared.status.subscribe()
    }

    pub fn status(&self) -> Status {
        self.shared.status.borrow().clone()
    }

    /// Carries out `action`; the new state is published either way.
    pub async fn act(&self, action: Action) -> Result<(), EngineError> {
        let result = match &action {
            Action::SignIn { endpoint } => self.sign_in(endpoint).await.map(|_| ()),
            Action::SignOut { endpoint } => self.sign_out(endpoint).await,
            Action::Use { endpoint, role_arn } => self.use_role(endpoint, role_arn).await,
            Action::AllRoles { endpoint } => self.all_roles(endpoint).await,
            Action::KeepRefreshed { profile, on } => self.keep_refreshed(profile, *on),
            Action::Favourite { role_arn, on } => self.edit_preferences(|preferences| {
                preferences
                    .favourites
                    .retain(|favourite| favourite != role_arn);
                if *on {
                    preferences.favourites.push(role_arn.clone());
                }
            }),
            Action::Region { key, region } => self.edit_preferences(|preferences| {
                match region {
                    Some(region) => preferences.regions.insert(key.clone(), region.clone()),
                    None => preferences.regions.remove(key),
                };
            }),
            Action::RenewNow => {
                self.renew_due(true).await;
                Ok(())
            }
        };
        self.publish();
        self.shared.replan.notify_one();
        result
    }

    /// Starts the background renewal.
    pub fn start_renewals(&self) -> Renewals {
        let engine = self.clone();
        Renewals {
            task: tokio::spawn(async move {
                loop {
                    let (wake_at, renewed) = engine.renew_due(false).await;
                    engine.publish();
                    if renewed {
                        // What the renewals changed (a new expiry, a person now needed) may
                        // call for a warning at once.
                        continue;
                    }
                    let now = engine.shared.config.clock.now();
                    let sleep = (wake_at - now)
                        .clamp(refresh::MIN_SLEEP, refresh::MAX_SLEEP)
                        .unsigned_abs();
                    tokio::select! {
                        () = tokio::time::sleep(sleep) => {}
                        () = engine.shared.replan.notified() => {}
                    }
                }
            }),
        }
    }

    fn settings(&self) -> Result<Settings, EngineError> {
        Ok(Settings::load(&self.shared.config.paths)?)
    }

    fn endpoint(&self, name: &str) -> Result<(Settings, Endpoint), EngineError> {
        let settings = self.settings()?;
        let endpoint = settings
            .endpoint(name)
            .cloned()
            .ok_or_else(|| EngineError::NoEndpoint {
                name: name.to_owned(),
            })?;
        Ok((settings, endpoint))
    }

    fn set_phase(&self, endpoint: &str, phase: Phase) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.phases.insert(endpoint.to_owned(), phase);
        }
        self.publish();
    }

    /// Signs in (silently where the method allows) and keeps the roles and the assertion.
    async fn sign_in(&self, name: &str) -> Result<Arc<Assertion>, EngineError> {
        let (_, endpoint) = self.endpoint(name)?;
        self.set_phase(name, Phase::Working);
        let refused = RefusedPasswords::new(&self.shared.config.paths.config_dir);
        let outcome = refused_passwords::sign_in(
            SignIn {
                endpoint: &endpoint,
                password: None,
                secrets: Arc::clone(&self.shared.config.secrets),
                passcodes: &NoPasscodes,
            },
            &refused,
        )
        .await;
        let needs_person = |url: &url::Url, reason: String| {
            self.set_phase(
                name,
                Phase::NeedsPerson {
                    url: url.to_string(),
                    reason: reason.clone(),
                },
            );
            EngineError::NeedsPerson {
                endpoint: name.to_owned(),
                reason,
            }
        };
        let signed_in = match outcome {
            Ok(Outcome::SignedIn(signed_in)) => signed_in,
            Ok(Outcome::NeedsPerson { url, reason }) => {
                return Err(needs_person(&url, reason.to_string()));
            }
            // The one time the stored password is sent and refused, the person hears the
            // IdP's own words; it is not sent again until they store a new one.
            Err(err @ GuardedSignInError::PasswordRefused { said: Some(_), .. }) => {
                self.set_phase(
                    name,
                    Phase::Failed {
                        message: err.to_string(),
                    },
                );
                return Err(EngineError::PasswordRefused(err));
            }
            // Later on, the IdP's own pages in the window still let the person in.
            Err(GuardedSignInError::PasswordRefused { said: None, .. }) => {
                let reason = format!(
                    "the identity provider refused the stored password, which Rolecall no \
                     longer tries; store the current one in Settings → Endpoints or with \
                     `rolecall password set --endpoint {name}`"
                );
                return Err(needs_person(&endpoint.url, reason));
            }
            Err(GuardedSignInError::SignIn(err)) => {
                self.set_phase(
                    name,
                    Phase::Failed {
                        message: err.to_string(),
                    },
                );
                return Err(EngineError::SignIn(err));
            }
        };
        self.signed_in(name, &endpoint, *signed_in).await
    }

    /// Takes a SAML response the IdP's own pages produced (the sign-in window captured it on
    /// its way to AWS) as the endpoint's sign-in.
    pub async fn accept_saml_response(
        &self,
        name: &str,
        saml_response: &crate::secrets::Sensitive<String>,
        post_to: Option<url::Url>,
    ) -> Result<(), EngineError> {
        let (_, endpoint) = self.endpoint(name)?;
        let assertion = match crate::saml::parse_response(saml_response.expose()) {
            Ok(assertion) => assertion,
            Err(err) => {
                self.set_phase(
                    name,
                    Phase::Failed {
                        message: err.to_string(),
                    },
                );
                return Err(EngineError::SignIn(SignInError::Saml(err)));
            }
        };
        if let Err(err) = self.check_issuer(name, &endpoint, &assertion) {
            self.set_phase(
                name,
                Phase::Failed {
                    message: err.to_string(),
                },
            );
            return Err(err);
        }
        let signed_in = idp::SignedIn {
            assertion,
            post_to,
            via: idp::SignedInVia::SingleSignOn,
        };
        self.signed_in(name, &endpoint, signed_in).await?;
        self.publish();
        self.shared.replan.notify_one();
        Ok(())
    }

    /// A response from the sign-in window counts only when every `Issuer` in it is the one
    /// pinned for the endpoint; the first one taken pins its issuer. A page in the window's
    /// flow could hand over another IdP's genuine response (for the attacker's own account):
    /// the pin refuses it from the second sign-in on.
    fn check_issuer(
        &self,
        name: &str,
        endpoint: &Endpoint,
        assertion: &Assertion,
    ) -> Result<(), EngineError> {
        let Some(issuer) = assertion.issuers.first() else {
            return Err(EngineError::NoIssuer {
                endpoint: name.to_owned(),
            });
        };
        if let Some(other) = assertion.issuers.iter().find(|other| *other != issuer) {
            return Err(EngineError::MixedIssuers {
                endpoint: name.to_owned(),
                first: shown_issuer(issuer),
                other: shown_issuer(other),
            });
        }
        match &endpoint.issuer {
            Some(pinned) if pinned == issuer => Ok(()),
            Some(pinned) => Err(EngineError::OtherIssuer {
                endpoint: name.to_owned(),
                pinned: shown_issuer(pinned),
                seen: shown_issuer(issuer),
            }),
            None => {
                let paths = &self.shared.config.paths;
                let mut settings = Settings::load(paths)?;
                let mut pinned = endpoint.clone();
                pinned.issuer = Some(issuer.clone());
                settings.update_endpoint(name, pinned)?;
                settings.save(paths)?;
                tracing::info!(endpoint = name, issuer = %shown_issuer(issuer), "pinned the IdP's issuer");
                Ok(())
            }
        }
    }

    /// A sign-in in the IdP's own pages ended without a SAML response (the window gave up, or
    /// the page sent it where Rolecall could not read it): the endpoint shows `reason`, a
    /// sentence that says what to do.
    pub fn sign_in_abandoned(&self, name: &str, reason: &str) {
        self.set_phase(
            name,
            Phase::Failed {
                message: reason.to_owned(),
            },
        );
    }

    /// Keeps what a sign-in gave: the accounts (with aliases) and the assertion.
    async fn signed_in(
        &self,
        name: &str,
        endpoint: &Endpoint,
        signed_in: idp::SignedIn,
    ) -> Result<Arc<Assertion>, EngineError> {
        let mut cache = AliasCache::load_or_empty(&self.shared.config.paths.config_dir);
        let (accounts, problem) = idp::accounts_of(&signed_in, endpoint, &mut cache).await;
        if let Some(problem) = problem {
            tracing::info!("{problem}");
        }
        let assertion = Arc::new(signed_in.assertion);
        if let Ok(mut state) = self.shared.state.lock() {
            state.accounts.insert(name.to_owned(), accounts);
            state
                .assertions
                .insert(name.to_owned(), (Arc::clone(&assertion), Instant::now()));
            state.needs_person.remove(name);
            state.failed_at.remove(name);
            state.phases.insert(
                name.to_owned(),
                Phase::SignedIn {
                    session_name: assertion.role_session_name.clone(),
                },
            );
        }
        Ok(assertion)
    }

    /// The endpoint's assertion while STS still takes it, or a new sign-in.
    async fn assertion(&self, name: &str) -> Result<Arc<Assertion>, EngineError> {
        let now = self.shared.config.clock.now();
        let kept = self
            .shared
            .state
            .lock()
            .ok()
            .and_then(|state| state.assertions.get(name).cloned());
        match kept {
            Some((assertion, issued))
                if issued.elapsed() < ASSERTION_REUSE && !assertion.is_expired_at(now) =>
            {
                Ok(assertion)
            }
            _ => self.sign_in(name).await,
        }
    }

    async fn sign_out(&self, name: &str) -> Result<(), EngineError> {
        let (_, endpoint) = self.endpoint(name)?;
        if let Ok(mut state) = self.shared.state.lock() {
            state.assertions.remove(name);
            state.accounts.remove(name);
            state.phases.insert(name.to_owned(), Phase::SignedOut);
        }
        idp::sign_out(&endpoint, Arc::clone(&self.shared.config.secrets)).await?;
        Ok(())
    }

    async fn use_role(&self, name: &str, role_arn: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let assertion = self.assertion(name).await?;
        let role = assertion
            .roles
            .iter()
            .find(|role| role.role_arn == role_arn)
            .cloned()
            .ok_or_else(|| EngineError::NoRole {
                role: role_arn.to_owned(),
            })?;
        let profile = settings.preferences.active_profile.clone();
        self.write(&settings, &endpoint, &assertion, vec![(role, profile)])
            .await
    }

    async fn all_roles(&self, name: &str) -> Result<(), EngineError> {
        let (settings, endpoint) = self.endpoint(name)?;
        let assertion = self.assertion(name).await?;
        let config = &self.shared.config;
        let aliases = AliasCache::load_or_empty(&config.paths.config_dir)
            .all()
            .clone();
        let registry = Registry::load(&config.paths.config_dir)?;
        let foreign = AwsFiles::from_paths(&config.paths)
            .foreign_profiles(|profile| registry.get(profile).is_some())?;
        let named = profiles::assign_names(
            &assertion.roles,
            &settings.preferences.profile_template,
            &aliases,
            name,
            &foreign,
        );
        self.write(&settings, &endpoint, &assertion, named).await
    }

    async fn write(
        &self,
        settings: &Settings,
        endpoint: &Endpoint,
        assertion: &Arc<Assertion>,
        roles: Vec<(RolePair, String)>,
    ) -> Result<(), EngineError> {
        let config = &self.shared.config;
        let region = settings.preferences.default_region.clone();
        let sts_region = region
            .clone()
            .or_else(|| assertion.region.clone())
            .unwrap_or_else(|| assertion.partition.default_region().to_owned());
        let network = Network {
            ca_file: endpoint.ca_file.clone(),
            proxy: endpoint.proxy.clone(),
        };
        let sts = Sts::new(&network, &config.env, assertion.partition, &sts_region)?;
        let files = AwsFiles::from_paths(&config.paths);
        let limits = Arc::new(Mutex::new(SessionLimits::load_or_empty(
            &config.paths.config_dir,
        )));
        let role_regions = settings
            .preferences
            .role_regions(roles.iter().map(|(role, _)| role));
        let writer = Writer {
            sts: &sts,
            files: &files,
            endpoint,
            region,
            role_regions,
            output: settings.preferences.default_output.clone(),
            setting_secs: settings.preferences.session_duration_secs,
            limits: &limits,
        };
        let mut registry = Registry::load(&config.paths.config_dir)?;
        let written = profiles::assume_and_write(&writer, assertion, roles, &mut registry).await?;
        let now = config.clock.now();
        if let Ok(mut state) = self.shared.state.lock() {
            for (profile, _, _) in &written.profiles {
                state.profile_errors.remove(profile);
                state.written_at.insert(profile.clone(), now);
            }
            for (profile, _, err) in &written.failed {
                state
                    .profile_errors
                    .insert(profile.clone(), err.to_string());
            }
        }
        match written.failed.into_iter().next() {
            Some((_, _, err)) if written.profiles.is_empty() => Err(EngineError::Sts(err)),
            _ => Ok(()),
        }
    }

    /// The console sign-in URL for a role: from its profile's credentials while they last,
    /// otherwise from a new session that is not written anywhere.
    pub async fn console_url(
        &self,
        name: &str,
        role_arn: &str,
    ) -> Result<crate::secrets::Sensitive<url::Url>, EngineError> {
        let config = &self.shared.config;
        let now = config.clock.now();
        let files = AwsFiles::from_paths(&config.paths);
        let registry = Registry::load(&config.paths.config_dir)?;
        let (settings, endpoint) = self.endpoint(name)?;
        let from_profile = registry
            .all()
            .iter()
            .filter(|(_, source)| source.endpoint == name && source.role_arn == role_arn)
            .find_map(|(profile, source)| {
                let stored = files.read_credentials(profile).ok().flatten()?;
                let fresh = stored
                    .expiration
                    .is_some_and(|e| e - now > time::Duration::minutes(5));
                fresh.then(|| (profile.clone(), stored, source.region.clone()))
            });
        let (profile, stored, region) = match from_profile {
            Some(found) => found,
            None => {
                let assertion = self.assertion(name).await?;
                let role = assertion
                    .roles
                    .iter()
                    .find(|role| role.role_arn == role_arn)
                    .cloned()
                    .ok_or_else(|| EngineError::NoRole {
                        role: role_arn.to_owned(),
                    })?;
                let region = settings.preferences.default_region.clone();
                let network = Network {
                    ca_file: endpoint.ca_file.clone(),
                    proxy: endpoint.proxy.clone(),
                };
                let sts_region = region
                    .clone()
                    .unwrap_or_else(|| assertion.partition.default_region().to_owned());
                let sts = Sts::new(&network, &config.env, assertion.partition, &sts_region)?;
                let credentials = sts
                    .assume(
                        &role,
                        &assertion,
                        settings.preferences.session_duration_secs.min(3600),
                    )
                    .await?;
                let stored = crate::aws_files::StoredCredentials {
                    access_key_id: credentials.access_key_id,
                    secret_access_key: credentials.secret_access_key,
                    session_token: Some(credentials.session_token),
                    expiration: Some(credentials.expiration),
                    principal_arn: credentials.principal_arn,
                };
                (role.role_name().to_owned(), stored, region)
            }
        };
        let partition = crate::console::partition_of(&stored, region.as_deref());
        let endpoints = crate::console::Endpoints::for_partition(partition, &config.env)?;
        let client = crate::console::network_of(&endpoint).client(crate::console::USER_AGENT)?;
        let sign_in = crate::console::SignIn {
            credentials: &stored,
            profile: &profile,
            partition,
            region: region.as_deref(),
            session_duration: None,
            now,
        };
        Ok(crate::console::signin_url(&client, &endpoints, &sign_in).await?)
    }

    fn edit_preferences(
        &self,
        change: impl FnOnce(&mut crate::settings::Preferences),
    ) -> Result<(), EngineError> {
        Settings::update(&self.shared.config.paths, |settings| {
            change(&mut settings.preferences);
            Ok(())
        })?;
        Ok(())
    }

    fn keep_refreshed(&self, profile: &str, on: bool) -> Result<(), EngineError> {
        let mut registry = Registry::load(&self.shared.config.paths.config_dir)?;
        match registry.set_keep_refreshed(profile, on) {
            Ok(true) => Ok(()),
            Ok(false) => Err(EngineError::NoProfile {
                profile: profile.to_owned(),
            }),
            Err(err) => Err(EngineError::Registry {
                detail: err.to_string(),
            }),
        }
    }

    /// Renews what the plan says is due (everything kept, when `all`), gives the warnings
    /// that are due, and says when to look again.
    async fn renew_due(&self, all: bool) -> (OffsetDateTime, bool) {
        let now = self.shared.config.clock.now();
        let settings = self.settings().unwrap_or_default();
        let tracked = self.tracked(&settings);
        let policy = Policy {
            renew_lead: time::Duration::minutes(i64::from(
                settings.preferences.refresh_lead_minutes,
            )),
            warn_lead: match settings.preferences.notify_lead_minutes {
                0 => None,
                minutes => Some(time::Duration::minutes(i64::from(minutes))),
            },
        };
        let warned = self
            .shared
            .state
            .lock()
            .map(|state| state.warned.clone())
            .unwrap_or_default();
        let mut plan = refresh::plan(now, &tracked, policy, &warned);
        if all {
            plan.renew.clear();
            for profile in tracked.iter().filter(|profile| profile.kept) {
                plan.renew
                    .entry(profile.endpoint.clone())
                    .or_default()
                    .push(profile.profile.clone());
            }
        }
        if !all && let Ok(state) = self.shared.state.lock() {
            plan.renew.retain(|endpoint, _| {
                state
                    .failed_at
                    .get(endpoint)
                    .is_none_or(|at| at.elapsed() >= RETRY_AFTER)
            });
        }
        let renewed = !plan.renew.is_empty();
        for (endpoint, names) in &plan.renew {
            self.renew_endpoint(&settings, endpoint, names).await;
        }
        if let Ok(mut state) = self.shared.state.lock() {
            for warning in &plan.warn {
                state.warned.insert(warning.key());
            }
        }
        for warning in plan.warn {
            let _ = self.shared.notices.send(Notice::Expiry(warning));
        }
        (plan.wake_at, renewed)
    }

    /// One sign-in for all of an endpoint's due profiles.
    async fn renew_endpoint(&self, settings: &Settings, name: &str, names: &[String]) {
        let registry = Registry::load(&self.shared.config.paths.config_dir);
        let result = match (
            registry,
            self.assertion(name).await,
            settings.endpoint(name),
        ) {
            (Ok(registry), Ok(assertion), Some(endpoint)) => {
                let roles: Vec<(RolePair, String)> = names
                    .iter()
                    .filter_map(|profile| Some((registry.get(profile)?.role(), profile.clone())))
                    .collect();
                self.write(settings, endpoint, &assertion, roles).await
            }
            (Err(err), _, _) => Err(err.into()),
            (_, Err(err), _) => Err(err),
            (_, _, None) => Err(EngineError::NoEndpoint {
                name: name.to_owned(),
            }),
        };
        if let Err(err) = result {
            if matches!(err, EngineError::NeedsPerson { .. })
                && let Some(url) = self.needs_person_url(name)
            {
                if let Ok(mut state) = self.shared.state.lock() {
                    state.failed_at.insert(name.to_owned(), Instant::now());
                    state.needs_person.insert(name.to_owned());
                }
                let _ = self.shared.notices.send(Notice::TrySilently {
                    endpoint: name.to_owned(),
                    url,
                });
                return;
            }
            let needs_person = matches!(
                err,
                EngineError::NeedsPerson { .. } | EngineError::PasswordRefused(_)
            ) || matches!(&err, EngineError::SignIn(sign_in) if matches!(
                sign_in.kind(),
                idp::FailureKind::BadCredentials | idp::FailureKind::Passcode
            ));
            if let Ok(mut state) = self.shared.state.lock() {
                state.failed_at.insert(name.to_owned(), Instant::now());
                if needs_person {
                    state.needs_person.insert(name.to_owned());
                }
                for profile in names {
                    state
                        .profile_errors
                        .insert(profile.clone(), err.to_string());
                }
            }
            let _ = self.shared.notices.send(Notice::RenewalFailed {
                endpoint: name.to_owned(),
                message: err.to_string(),
            });
        }
    }

    /// Where the endpoint's sign-in wants the person, when it does.
    fn needs_person_url(&self, name: &str) -> Option<String> {
        let state = self.shared.state.lock().ok()?;
        match state.phases.get(name)? {
            Phase::NeedsPerson { url, .. } => Some(url.clone()),
            _ => None,
        }
    }

    /// The registry's profiles that still have credentials in the file.
    fn tracked(&self, settings: &Settings) -> Vec<Tracked> {
        let config = &self.shared.config;
        let Ok(registry) = Registry::load(&config.paths.config_dir) else {
            // Shown in the status; nothing can be renewed without knowing where it came from.
            return Vec::new();
        };
        let files = AwsFiles::from_paths(&config.paths);
        let (needs_person, written_at) = self
            .shared
            .state
            .lock()
            .map(|state| (state.needs_person.clone(), state.written_at.clone()))
            .unwrap_or_default();
        registry
            .all()
            .iter()
            .filter(|(_, source)| settings.endpoint(&source.endpoint).is_some())
            .filter_map(|(name, source)| {
                let stored = files.read_credentials(name).ok().flatten()?;
                Some(Tracked {
                    profile: name.clone(),
                    endpoint: source.endpoint.clone(),
                    expiration: stored.expiration?,
                    kept: source.keep_refreshed || *name == settings.preferences.active_profile,
                    needs_person: needs_person.contains(&source.endpoint),
                    written_at: written_at.get(name).copied(),
                })
            })
            .collect()
    }

    /// Builds and publishes a new snapshot.
    fn publish(&self) {
        let config = &self.shared.config;
        let now = config.clock.now();
        let mut problems = Vec::new();
        let settings = self.settings().unwrap_or_else(|err| {
            problems.push(err.to_string());
            Settings::default()
        });
        let registry = Registry::load(&config.paths.config_dir)
            .map(|registry| registry.all().clone())
            .unwrap_or_else(|err| {
                problems.push(err.to_string());
                BTreeMap::new()
            });
        problems.extend(
            [
                AliasCache::load(&config.paths.config_dir).err(),
                SessionLimits::load(&config.paths.config_dir).err(),
            ]
            .into_iter()
            .flatten()
            .map(|err| err.to_string()),
        );
        let files = AwsFiles::from_paths(&config.paths);
        let Ok(state) = self.shared.state.lock() else {
            return;
        };
        let active = settings.preferences.active_profile.clone();
        let profiles: Vec<ProfileStatus> = registry
            .iter()
            // Profiles from endpoints given only on the command line are renewed there.
            .filter(|(_, source)| settings.endpoint(&source.endpoint).is_some())
            .map(|(name, source)| ProfileStatus {
                name: name.clone(),
                endpoint: source.endpoint.clone(),
                role_arn: source.role_arn.clone(),
                expiration: files
                    .read_credentials(name)
                    .ok()
                    .flatten()
                    .and_then(|stored| stored.expiration),
                active: *name == active,
                keep_refreshed: source.keep_refreshed,
                last_error: state.profile_errors.get(name).map(|error| shown(error)),
            })
            .collect();
        let endpoints: Vec<EndpointStatus> = settings
            .endpoints
            .iter()
            .map(|endpoint| EndpointStatus {
                name: endpoint.name.clone(),
                phase: state
                    .phases
                    .get(&endpoint.name)
                    .map_or(Phase::SignedOut, shown_phase),
                accounts: state
                    .accounts
                    .get(&endpoint.name)
                    .map(|accounts| accounts.iter().map(shown_account).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let lead = time::Duration::minutes(i64::from(settings.preferences.notify_lead_minutes));
        let overall = if endpoints.iter().any(|e| e.phase == Phase::Working) {
            Overall::Working
        } else {
            match profiles
                .iter()
                .find(|profile| profile.active)
                .and_then(|profile| profile.expiration)
            {
                None => Overall::SignedOut,
                Some(expiration) if expiration <= now => Overall::Expired,
                Some(expiration) if expiration - now <= lead => Overall::Expiring,
                Some(_) => Overall::Valid,
            }
        };
        drop(state);
        self.shared.status.send_replace(Status {
            endpoints,
            profiles,
            active_profile: active,
            favourites: settings.preferences.favourites.clone(),
            overall,
            problems: problems.iter().map(|problem| shown(problem)).collect(),
        });
    }
}

/// The snapshot's free text comes from outside (the IdP's messages and session names, aliases
/// from AWS's sign-in page, errors quoting them): every front end gets it without the controls
/// that would hide, reorder or colour what it shows.
fn shown(text: &str) -> String {
    crate::untrusted::for_terminal(text).into_owned()
}

fn shown_phase(phase: &Phase) -> Phase {
    match phase {
        Phase::SignedOut => Phase::SignedOut,
        Phase::Working => Phase::Working,
        Phase::SignedIn { session_name } => Phase::SignedIn {
            session_name: shown(session_name),
        },
        Phase::NeedsPerson { url, reason } => Phase::NeedsPerson {
            url: url.clone(),
            reason: shown(reason),
        },
        Phase::Failed { message } => Phase::Failed {
            message: shown(message),
        },
    }
}

fn shown_account(account: &Account) -> Account {
    Account {
        id: account.id.clone(),
        alias: account.alias.as_deref().map(shown),
        roles: account.roles.clone(),
    }
}

/// Why an action did not happen. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("There is no endpoint named \"{name}\". Add it in Settings → Endpoints.")]
    NoEndpoint { name: String },
    #[error(
        "Endpoint \"{endpoint}\" needs you to sign in ({reason}). Choose Sign in from the tray."
    )]
    NeedsPerson { endpoint: String, reason: String },
    #[error(transparent)]
    PasswordRefused(GuardedSignInError),
    #[error("Your sign-in does not grant {role}. Sign in again to see your current roles.")]
    NoRole { role: String },
    #[error("Rolecall does not manage a profile named \"{profile}\".")]
    NoProfile { profile: String },
    #[error(
        "Rolecall could not save its list of profiles ({detail}). Check that you may write to \
         its folder."
    )]
    Registry { detail: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Sts(#[from] StsError),
    #[error(transparent)]
    Files(#[from] crate::aws_files::AwsFilesError),
    #[error(transparent)]
    Console(#[from] crate::console::ConsoleError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(
        "The SAML response the sign-in window took for \"{endpoint}\" names no issuer, so \
         Rolecall cannot tell which IdP sent it and did not use it. Sign in again; if this \
         keeps happening, report it."
    )]
    NoIssuer { endpoint: String },
    #[error(
        "The SAML response the sign-in window took for \"{endpoint}\" names two issuers \
         ({first} and {other}), so Rolecall did not use it. Sign in again; if this keeps \
         happening, report it."
    )]
    MixedIssuers {
        endpoint: String,
        first: String,
        other: String,
    },
    #[error(
        "The SAML response the sign-in window took for \"{endpoint}\" was issued by {seen}, \
         not by {pinned} as before, so Rolecall did not use it: a page in the sign-in may have \
         slipped in another IdP's answer. If your company really moved to a new IdP, edit the \
         endpoint in Settings, choose \"Forget the pinned issuer\" and sign in again."
    )]
    OtherIssuer {
        endpoint: String,
        pinned: String,
        seen: String,
    },
}

/// An issuer as a message shows it: the IdP wrote it, so no control characters, and not
/// more than a line.
fn shown_issuer(issuer: &str) -> String {
    let mut shown: String = issuer
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if issuer.chars().count() > 200 {
        shown.push('…');
    }
    format!("\"{shown}\"")
}
