//! A role's credentials handed to other programs from the tray: the text its Copy entries put
//! on the clipboard, and the container credentials endpoint it serves a profile on.
//!
//! Both need a profile Rolecall renews: a role that has none gets one first, named by the
//! template as "All roles → profiles" would name it, and the active profile stays as it is.
//! The credentials come the way `rolecall exec` gets them: from the file while more than 15
//! minutes are left, otherwise renewed first ([`Engine::credentials_for`]).

use super::*;
use crate::container_endpoint::{ContainerEndpoint, Source};
use crate::env_format::{self, Format};
use crate::exec::{self, ProfileCredentials};
use crate::provision::{Request, Roles};
use crate::secrets::Sensitive;

/// What the person asked to have on the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyRequest {
    /// The console sign-in URL of the role ([`Engine::console_url`]).
    SigninLink { endpoint: String, role_arn: String },
    /// `export` lines of the profile's keys, for a POSIX shell; `profile` is the one the menu
    /// showed for the role, `None` when it had none.
    Environment {
        endpoint: String,
        role_arn: String,
        profile: Option<String>,
    },
    /// `export` lines that point the SDKs at the profile's container credentials endpoint.
    ContainerVariables { profile: String },
    /// `rolecall doctor`'s report, redacted for a ticket.
    Diagnostics,
}

/// Text for the clipboard, and what it holds.
#[derive(Debug)]
pub struct Clipboard {
    pub text: Sensitive<String>,
    pub holds: Held,
}

/// What a [`Clipboard`] holds, for the words that tell the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    SigninLink {
        role_arn: String,
    },
    Environment {
        profile: String,
        expiration: Option<OffsetDateTime>,
    },
    ContainerVariables {
        profile: String,
    },
    /// The doctor's report; `failed` when one of its checks failed.
    Diagnostics {
        failed: bool,
    },
}

impl Engine {
    /// The text for `request`, renewing or writing the profile first where it must.
    pub async fn copy(&self, request: &CopyRequest) -> Result<Clipboard, EngineError> {
        let copied = self.copy_text(request).await;
        // A profile may have been written or renewed on the way.
        self.publish();
        self.shared.replan.notify_one();
        copied
    }

    async fn copy_text(&self, request: &CopyRequest) -> Result<Clipboard, EngineError> {
        Ok(match request {
            CopyRequest::SigninLink { endpoint, role_arn } => {
                let url = self.console_url(endpoint, role_arn).await?;
                Clipboard {
                    text: Sensitive::new(url.expose().to_string()),
                    holds: Held::SigninLink {
                        role_arn: role_arn.clone(),
                    },
                }
            }
            CopyRequest::Environment {
                endpoint,
                role_arn,
                profile,
            } => {
                let profile = self
                    .handed_profile(endpoint, role_arn, profile.as_deref())
                    .await?;
                let credentials = self.profile_credentials(&profile).await?;
                let changes = exec::static_env(&credentials)?;
                Clipboard {
                    text: Sensitive::new(env_format::render(Format::Sh, &changes)),
                    holds: Held::Environment {
                        profile,
                        expiration: credentials.credentials.expiration,
                    },
                }
            }
            CopyRequest::ContainerVariables { profile } => {
                let served = self.shared.state.lock().ok().and_then(|state| {
                    let endpoint = state.served.get(profile)?;
                    Some((endpoint.url().to_owned(), endpoint.token().clone()))
                });
                let (url, token) = served.ok_or_else(|| EngineError::NotServed {
                    profile: profile.clone(),
                })?;
                let region =
                    AwsFiles::from_paths(&self.shared.config.paths).read_region(profile)?;
                let changes = exec::container_env(&url, &token, region.as_deref());
                Clipboard {
                    text: Sensitive::new(env_format::render(Format::Sh, &changes)),
                    holds: Held::ContainerVariables {
                        profile: profile.clone(),
                    },
                }
            }
            CopyRequest::Diagnostics => {
                let config = &self.shared.config;
                let report = crate::doctor::run(&crate::doctor::Request {
                    paths: config.paths.clone(),
                    env: config.env.clone(),
                    clock: Arc::clone(&config.clock),
                    secrets: Arc::clone(&config.secrets),
                    kerberos: Arc::new(crate::doctor::SystemKerberos),
                    endpoint: None,
                })
                .await;
                Clipboard {
                    // Redacted by the doctor; Sensitive keeps it out of logs all the same.
                    text: Sensitive::new(report.text()),
                    holds: Held::Diagnostics {
                        failed: report.exit_code != 0,
                    },
                }
            }
        })
    }

    /// Starts serving the role's profile on a loopback container credentials endpoint (a new
    /// port and token), or stops it. Serving is not remembered across restarts.
    pub(super) async fn serve(
        &self,
        endpoint: &str,
        role_arn: &str,
        profile: Option<&str>,
        on: bool,
    ) -> Result<(), EngineError> {
        if !on {
            if let Some(profile) = profile {
                let stopped = self
                    .shared
                    .state
                    .lock()
                    .ok()
                    .and_then(|mut state| state.served.remove(profile));
                // Dropping it closes the port and every open connection.
                drop(stopped);
            }
            return Ok(());
        }
        let profile = self.handed_profile(endpoint, role_arn, profile).await?;
        let already = self
            .shared
            .state
            .lock()
            .is_ok_and(|state| state.served.contains_key(&profile));
        if already {
            return Ok(());
        }
        let served = ContainerEndpoint::start(self.container_source(&profile))
            .await
            .map_err(|source| {
                tracing::warn!("could not serve {profile:?} to containers: {source}");
                EngineError::Serve {
                    profile: profile.clone(),
                    source,
                }
            })?;
        if let Ok(mut state) = self.shared.state.lock() {
            // Two clicks at once start two; the first one stays, the other is dropped.
            state.served.entry(profile).or_insert(served);
        }
        Ok(())
    }

    /// Each request of the container endpoint asks the engine, which renews the profile when
    /// fewer than 15 minutes are left. The endpoint lives in the engine's state, so it holds
    /// the engine weakly.
    fn container_source(&self, profile: &str) -> Source {
        let shared = Arc::downgrade(&self.shared);
        let profile = profile.to_owned();
        Arc::new(move || {
            let shared = shared.clone();
            let profile = profile.clone();
            Box::pin(async move {
                let engine = Engine {
                    shared: shared
                        .upgrade()
                        .ok_or_else(|| "Rolecall is quitting.".to_owned())?,
                };
                engine
                    .profile_credentials(&profile)
                    .await
                    .map_err(|err| err.to_string())
            })
        })
    }

    /// The profile's credentials with more than 15 minutes left, with its region and role.
    async fn profile_credentials(&self, profile: &str) -> Result<ProfileCredentials, EngineError> {
        let stored = self.credentials_for(profile).await?;
        Ok(exec::with_details(
            &self.shared.config.paths,
            profile,
            stored,
        )?)
    }

    /// The profile the role's entry named, or, where the role had none, one written now under
    /// the template's name (the active profile is left alone).
    async fn handed_profile(
        &self,
        endpoint: &str,
        role_arn: &str,
        profile: Option<&str>,
    ) -> Result<String, EngineError> {
        if let Some(profile) = profile {
            return match self.on_disk().registry.get(profile) {
                Some(_) => Ok(profile.to_owned()),
                None => Err(EngineError::NoProfile {
                    profile: profile.to_owned(),
                }),
            };
        }
        let (settings, setting) = self.endpoint(endpoint)?;
        let assertion = self.assertion(endpoint).await?;
        let role = provision::granted(&assertion, role_arn)?;
        let written = self
            .provision(
                &settings,
                &setting,
                &assertion,
                Request::new(Roles::Set(vec![role])),
            )
            .await?;
        written
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::NoRole {
                role: role_arn.to_owned(),
            })
    }
}
