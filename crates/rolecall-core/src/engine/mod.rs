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
use tokio::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, watch};

use crate::accounts::{Account, AliasCache};
use crate::aws_files::AwsFiles;
use crate::idp::{self, NoPasscodes, Outcome, SignIn, SignInError};
use crate::paths::{AppPaths, Environment};
use crate::refresh::{self, Policy, Tracked, Warning, WarningKind};
use crate::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use crate::registry::Registry;
use crate::saml::{Assertion, RolePair};
use crate::secrets::SecretStore;
use crate::settings::{Endpoint, Settings, SettingsError};
use crate::sts::{SessionLimits, StsError};
use files::OnDisk;

mod endpoints;
mod file_watch;
mod files;
mod handover;
mod provision;
mod renewal;
mod signin;
mod status;

/// How long a failed background renewal waits before it is tried again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a sign-in's assertion is reused for further roles: STS takes it for 5 minutes.
const ASSERTION_REUSE: std::time::Duration = std::time::Duration::from_secs(4 * 60);

pub use crate::clock::{Clock, SystemClock};
pub use file_watch::{FileWatch, FileWatchError};
pub use handover::{Clipboard, CopyRequest, Held};
pub use provision::ConsoleLink;

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
    /// The last role of the chain (`[[chains]]`, by name) into the active profile, from a new
    /// session of its source role at the endpoint.
    UseChain {
        endpoint: String,
        chain: String,
    },
    /// Every role of the endpoint into profiles named by the template.
    AllRoles {
        endpoint: String,
    },
    KeepRefreshed {
        profile: String,
        on: bool,
    },
    /// Serve the profile's credentials on a loopback container credentials endpoint while
    /// `on` ([`crate::container_endpoint`]); a role without a profile (`None`) gets one first,
    /// named by the template.
    Serve {
        endpoint: String,
        role_arn: String,
        profile: Option<String>,
        on: bool,
    },
    RenewNow,
    /// Add or change an endpoint, with everything keyed by its name ([`crate::endpoints`]).
    SaveEndpoint(crate::endpoints::EndpointSave),
    /// Forget the endpoint; its profiles stay in the AWS files, no longer renewed.
    RemoveEndpoint {
        name: String,
    },
    /// Change the preferences the patch carries.
    SetPreferences(crate::endpoints::PreferencesPatch),
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
    /// The roles and chains used last, newest first ([`crate::recent`]).
    pub recent: Vec<crate::recent::Used>,
    /// The chains of the settings (`[[chains]]`), in their order.
    pub chains: Vec<ChainStatus>,
    pub overall: Overall,
    /// Files of Rolecall's it cannot read (a corrupt registry or cache, a broken settings
    /// file), each a sentence naming the file and saying what to do.
    pub problems: Vec<String>,
    /// Goes up whenever one of the files changed, also where nothing above shows it: the
    /// settings window's view of the endpoints follows it.
    pub files_revision: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    pub name: String,
    pub phase: Phase,
    pub accounts: Vec<Account>,
    /// The claims providers AD FS offered when it last asked which one and the endpoint named
    /// none of them, for the settings window to offer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_providers: Vec<idp::ClaimsProvider>,
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

/// A chain of roles the tray offers under the account of its source role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainStatus {
    pub name: String,
    /// Only under this endpoint, when set.
    pub endpoint: Option<String>,
    pub source_role: String,
    /// The roles after the source role, hop by hop.
    pub roles: Vec<String>,
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
    /// For a chained profile, the roles assumed after `role_arn` (its source role); the
    /// credentials are the last one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Where the profile is served to containers and IDEs, while it is.
    pub containers: Option<ContainerService>,
}

/// A profile's container credentials endpoint: whoever has the token reads the credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerService {
    /// `http://127.0.0.1:<port>/rolecall/credentials`.
    pub url: String,
    #[serde(skip)]
    pub token: crate::secrets::Sensitive<String>,
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
    /// The container credentials endpoint of each profile served; dropping one stops it.
    served: BTreeMap<String, crate::container_endpoint::ContainerEndpoint>,
    /// The claims providers each endpoint's IdP offered when Rolecall could not choose one.
    claims_providers: BTreeMap<String, Vec<idp::ClaimsProvider>>,
}

#[derive(Debug)]
struct Shared {
    config: EngineConfig,
    state: Mutex<State>,
    /// What the files hold; locked apart from `state`, which is never held while a file is
    /// read.
    files: Mutex<files::Files>,
    /// One turn per endpoint: whoever waits for a sign-in under way takes its assertion.
    turns: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
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
            recent: Vec::new(),
            chains: Vec::new(),
            overall: Overall::SignedOut,
            problems: Vec::new(),
            files_revision: 0,
        });
        let engine = Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                files: Mutex::default(),
                turns: Mutex::default(),
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
            Action::UseChain { endpoint, chain } => self.use_chain(endpoint, chain).await,
            Action::AllRoles { endpoint } => self.all_roles(endpoint).await,
            Action::KeepRefreshed { profile, on } => self.keep_refreshed(profile, *on),
            Action::Serve {
                endpoint,
                role_arn,
                profile,
                on,
            } => {
                self.serve(endpoint, role_arn, profile.as_deref(), *on)
                    .await
            }
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
            Action::SaveEndpoint(request) => self.save_endpoint(request.clone()).await,
            Action::RemoveEndpoint { name } => self.remove_endpoint(name).await,
            Action::SetPreferences(patch) => self.set_preferences(patch.clone()).await,
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

    /// The settings last read from the file; when none ever loaded, why not.
    fn settings(&self) -> Result<Arc<Settings>, EngineError> {
        match self.on_disk().settings {
            Some(settings) => Ok(settings),
            None => Ok(Arc::new(Settings::load(&self.shared.config.paths)?)),
        }
    }

    fn endpoint(&self, name: &str) -> Result<(Arc<Settings>, Endpoint), EngineError> {
        let settings = self.settings()?;
        let endpoint = settings
            .endpoint(name)
            .cloned()
            .ok_or_else(|| EngineError::NoEndpoint {
                name: name.to_owned(),
            })?;
        Ok((settings, endpoint))
    }

    /// What answers the credential socket ([`crate::ipc::serve`]): this engine's
    /// [`Engine::credentials_for`], so the AWS tools and the tray share one renewal.
    pub fn credential_handler(&self) -> crate::ipc::Handler {
        let engine = self.clone();
        Arc::new(move |profile: String| {
            let engine = engine.clone();
            Box::pin(async move {
                let stored = engine
                    .credentials_for(&profile)
                    .await
                    .map_err(|err| err.to_string())?;
                crate::credential_process::to_json(&stored)
                    .map(crate::secrets::Sensitive::new)
                    .ok_or_else(|| {
                        format!(
                            "The credentials of profile \"{profile}\" have no usable expiration. \
                         Choose the role again in the Rolecall tray."
                        )
                    })
            })
        })
    }

    fn set_phase(&self, endpoint: &str, phase: Phase) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.phases.insert(endpoint.to_owned(), phase);
        }
        self.publish();
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
    NeedsPerson {
        endpoint: String,
        reason: String,
        /// Where the IdP's own pages take the person on.
        url: String,
    },
    #[error(transparent)]
    PasswordRefused(GuardedSignInError),
    #[error("Your sign-in does not grant {role}. Sign in again to see your current roles.")]
    NoRole { role: String },
    #[error("Rolecall does not manage a profile named \"{profile}\".")]
    NoProfile { profile: String },
    #[error(
        "The profile \"{profile}\" is not served to containers and IDEs. Turn on \"Serve to \
         containers and IDEs\" in its role's menu first."
    )]
    NotServed { profile: String },
    #[error(
        "Rolecall could not start serving the profile \"{profile}\" to containers and IDEs on \
         127.0.0.1. Check that loopback networking works, then turn it on again."
    )]
    Serve {
        profile: String,
        #[source]
        source: crate::container_endpoint::ContainerEndpointError,
    },
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    #[error(
        "Rolecall could not save its list of profiles ({detail}). Check that you may write to \
         its folder."
    )]
    Registry { detail: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Endpoint(#[from] crate::endpoints::EndpointError),
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
    #[error("The chain of roles cannot be assumed: {0}")]
    Chain(crate::chain::ChainProblem),
    #[error(
        "There is no chain named \"{name}\". Check the [[chains]] of Rolecall's settings file."
    )]
    NoChain { name: String },
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
