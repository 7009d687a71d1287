//! Signing in and out: the IdP conversation, the sign-in window's responses and the
//! assertion kept for more roles.

use super::*;
use crate::last_sign_in;

impl Engine {
    /// Signs in (silently where the method allows) and keeps the roles and the assertion; a
    /// sign-in of the endpoint already under way is waited for and its assertion taken.
    pub(super) async fn sign_in(&self, name: &str) -> Result<Arc<Assertion>, EngineError> {
        let (_, endpoint) = self.endpoint(name)?;
        self.assertion_of(&endpoint, true).await
    }

    /// One sign-in, now; the caller holds the endpoint's turn.
    async fn sign_in_now(&self, endpoint: &Endpoint) -> Result<Arc<Assertion>, EngineError> {
        let name = endpoint.name.as_str();
        self.set_phase(name, Phase::Working);
        let refused = RefusedPasswords::new(&self.shared.config.paths.config_dir);
        let outcome = refused_passwords::sign_in(
            SignIn {
                endpoint,
                password: None,
                secrets: Arc::clone(&self.shared.config.secrets),
                passcodes: &NoPasscodes,
            },
            &refused,
        )
        .await;
        let needs_person = |url: &url::Url, reason: String| {
            // Noted before the endpoint's turn passes on, so callers waiting for this sign-in
            // take its answer instead of signing in again.
            if let Ok(mut state) = self.shared.state.lock() {
                state
                    .failed_at
                    .insert(name.to_owned(), crate::clock::monotonic());
            }
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
                url: url.to_string(),
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
                // The AWS tools show this too, through the credential socket.
                let reason = format!(
                    "the identity provider refused the password Rolecall keeps for endpoint \
                     \"{name}\", so Rolecall no longer tries it on its own; store the current \
                     one with `rolecall password set --endpoint {name}` or in Settings → \
                     Endpoints"
                );
                return Err(needs_person(&endpoint.url, reason));
            }
            Err(GuardedSignInError::SignIn(err)) => {
                if let Some(offered) = err.claims_providers_offered()
                    && let Ok(mut state) = self.shared.state.lock()
                {
                    state
                        .claims_providers
                        .insert(name.to_owned(), offered.to_vec());
                }
                self.set_phase(
                    name,
                    Phase::Failed {
                        message: err.to_string(),
                    },
                );
                return Err(EngineError::SignIn(err));
            }
        };
        let via = last_sign_in::Via::Idp(signed_in.via);
        self.signed_in(name, endpoint, *signed_in, via).await
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
        self.signed_in(name, &endpoint, signed_in, last_sign_in::Via::Window)
            .await?;
        self.publish();
        self.shared.replan.notify_one();
        Ok(())
    }

    /// A response from the sign-in window counts only when every `Issuer` in it is the one
    /// pinned for the endpoint; the first one taken pins its issuer. A page in the window's
    /// flow could hand over another IdP's genuine response (for the attacker's own account):
    /// the pin refuses it from the second sign-in on.
    pub(super) fn check_issuer(
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

    /// Keeps what a sign-in gave: the accounts (with aliases), the assertion, and its summary
    /// for `rolecall doctor`.
    pub(super) async fn signed_in(
        &self,
        name: &str,
        endpoint: &Endpoint,
        signed_in: idp::SignedIn,
        via: last_sign_in::Via,
    ) -> Result<Arc<Assertion>, EngineError> {
        last_sign_in::record_or_log(
            &self.shared.config.paths.config_dir,
            name,
            last_sign_in::LastSignIn::of(&signed_in.assertion, via, self.shared.config.clock.now()),
        );
        let mut cache = AliasCache::load_or_empty(&self.shared.config.paths.config_dir);
        // Names the person gave accounts; settings that cannot be read name none.
        let account_names = self
            .settings()
            .map(|settings| settings.preferences.account_names.clone())
            .unwrap_or_default();
        let (accounts, problem) =
            idp::accounts_of(&signed_in, endpoint, &mut cache, &account_names).await;
        if let Some(problem) = problem {
            tracing::info!("{problem}");
        }
        let assertion = Arc::new(signed_in.assertion);
        if let Ok(mut state) = self.shared.state.lock() {
            state.accounts.insert(name.to_owned(), accounts);
            state.assertions.insert(
                name.to_owned(),
                (Arc::clone(&assertion), crate::clock::monotonic()),
            );
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
    pub(super) async fn assertion(&self, name: &str) -> Result<Arc<Assertion>, EngineError> {
        let (_, endpoint) = self.endpoint(name)?;
        self.assertion_of(&endpoint, false).await
    }

    /// The endpoint's assertion: one issued while this call waited for its turn, else (unless
    /// `new`) the last one while it may be reused, else a new sign-in. One sign-in per
    /// endpoint at a time, however many menu clicks, renewals and AWS tools ask at once.
    pub(super) async fn assertion_of(
        &self,
        endpoint: &Endpoint,
        new: bool,
    ) -> Result<Arc<Assertion>, EngineError> {
        let name = endpoint.name.as_str();
        let asked = crate::clock::monotonic();
        let turn = {
            let mut turns = self
                .shared
                .turns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(turns.entry(name.to_owned()).or_default())
        };
        let _turn = turn.lock().await;
        let now = self.shared.config.clock.now();
        let (kept, needed_person) = match self.shared.state.lock() {
            Ok(state) => (
                state.assertions.get(name).cloned(),
                match (state.failed_at.get(name), state.phases.get(name)) {
                    // The sign-in this call waited for found that a person is needed.
                    (Some(failed), Some(Phase::NeedsPerson { url, reason }))
                        if *failed >= asked =>
                    {
                        Some(EngineError::NeedsPerson {
                            endpoint: name.to_owned(),
                            reason: reason.clone(),
                            url: url.clone(),
                        })
                    }
                    _ => None,
                },
            ),
            Err(_) => (None, None),
        };
        if let Some(err) = needed_person {
            return Err(err);
        }
        match kept {
            Some((assertion, issued))
                if reusable(issued, asked, new, crate::clock::monotonic())
                    && !assertion.is_expired_at(now) =>
            {
                Ok(assertion)
            }
            _ => self.sign_in_now(endpoint).await,
        }
    }

    pub(super) async fn sign_out(&self, name: &str) -> Result<(), EngineError> {
        let (_, endpoint) = self.endpoint(name)?;
        if let Ok(mut state) = self.shared.state.lock() {
            state.assertions.remove(name);
            state.accounts.remove(name);
            state.phases.insert(name.to_owned(), Phase::SignedOut);
        }
        idp::sign_out(&endpoint, Arc::clone(&self.shared.config.secrets)).await?;
        Ok(())
    }
}

/// Whether an assertion issued at `issued` serves a caller that asked at `asked`: one issued
/// since serves anyone (it waited for that sign-in); otherwise, unless a new sign-in is asked
/// for, one STS still takes.
fn reusable(issued: Instant, asked: Instant, new: bool, now: Instant) -> bool {
    issued >= asked || (!new && now.duration_since(issued) < ASSERTION_REUSE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::monotonic;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn an_assertion_is_reused_for_four_minutes_and_a_new_sign_in_follows() {
        let issued = monotonic();
        tokio::time::advance(Duration::from_secs(4 * 60 - 1)).await;
        let asked = monotonic();
        assert!(reusable(issued, asked, false, monotonic()), "within 4 min");
        assert!(
            !reusable(issued, asked, true, monotonic()),
            "Sign in asks for a new one"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        let asked = monotonic();
        assert!(
            !reusable(issued, asked, false, monotonic()),
            "after 4 min, a new sign-in"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn who_waited_for_a_sign_in_takes_its_assertion() {
        let asked = monotonic();
        tokio::time::advance(Duration::from_secs(20)).await;
        let issued = monotonic();
        assert!(
            reusable(issued, asked, true, monotonic()),
            "a second Sign in click during the first does not sign in again"
        );
    }
}
