//! The classified-page loop: fetch, classify, answer (the login form, the passcode prompt), and
//! finish at the page that carries the SAML response.

use super::*;

impl<'a> Conversation<'a> {
    pub(super) async fn run(&mut self) -> Result<Outcome, SignInError> {
        let mut next = Request::get(self.endpoint.url.clone(), Step::SignOnPage);
        for _ in 0..MAX_PAGES {
            let mut fetched = self.fetch(next).await?;
            if fetched.status == StatusCode::UNAUTHORIZED {
                next = self.answer_challenge(&fetched)?;
                if self.attempt == Attempt::Ntlm {
                    // NTLM authenticates the TCP connection; reqwest hands a connection back
                    // to its pool just after the body is read, so give it that moment.
                    tokio::time::sleep(NTLM_LEG_PAUSE).await;
                }
                continue;
            }
            if !fetched.status.is_success() {
                return Err(SignInError::Status {
                    host: host_of(&fetched.url),
                    status: fetched.status.as_u16(),
                });
            }
            if is_update_password_page(&fetched.url) {
                return Ok(self.password_expired(&fetched.url));
            }
            let body = std::mem::take(&mut fetched.body);
            let page = if body.len() < CLASSIFY_INLINE_BYTES {
                classify(&body)
            } else {
                tokio::task::spawn_blocking(move || classify(&body))
                    .await
                    .map_err(|err| SignInError::Internal {
                        detail: err.to_string(),
                    })?
            };
            next = match page {
                Page::SamlPost {
                    action,
                    saml_response,
                } => return self.finish(&fetched.url, &action, &saml_response),
                Page::Login {
                    form,
                    username_field,
                    password_field,
                    error,
                } => {
                    self.answer_login(&fetched.url, &form, &username_field, &password_field, error)?
                }
                Page::Username {
                    form,
                    username_field,
                    error,
                } => self.answer_username(&fetched.url, &form, &username_field, error)?,
                Page::HomeRealm {
                    form,
                    providers,
                    error,
                } => self.answer_home_realm(&fetched.url, &form, providers, error)?,
                Page::PasswordChange { .. } => return Ok(self.password_expired(&fetched.url)),
                Page::Passcode {
                    form,
                    adapter,
                    passcode_field,
                    error,
                } => self.answer_passcode(&fetched.url, &form, adapter, &passcode_field, error)?,
                Page::OtherMfa { adapter } => {
                    return Ok(Outcome::NeedsPerson {
                        url: self.endpoint.url.clone(),
                        reason: PersonNeeded::Mfa { adapter },
                    });
                }
                Page::AdfsError { code, text } if self.posted_password && is_lockout(&code) => {
                    return Err(SignInError::AccountLocked {
                        endpoint: self.endpoint.name.clone(),
                        username: self.endpoint.username.clone().unwrap_or_default(),
                        message: text,
                    });
                }
                Page::AdfsError { code, text } => {
                    return Err(SignInError::Adfs {
                        host: host_of(&fetched.url),
                        code,
                        text,
                    });
                }
                Page::Unknown => {
                    tracing::info!(url = %redact(&fetched.url), "a sign-in page Rolecall does not know");
                    return Ok(Outcome::NeedsPerson {
                        url: self.endpoint.url.clone(),
                        reason: PersonNeeded::UnknownPage,
                    });
                }
            };
        }
        Err(SignInError::TooManyPages {
            host: host_of(&self.endpoint.url),
        })
    }

    pub(super) fn finish(
        &self,
        page_url: &Url,
        action: &str,
        saml_response: &Sensitive<String>,
    ) -> Result<Outcome, SignInError> {
        let assertion = saml::parse_response(saml_response.expose())?;
        let post_to = page_url.join(action).ok();
        let via = if self.passcode_tries > 0 {
            SignedInVia::PasswordAndPasscode
        } else if self.posted_password {
            SignedInVia::Password
        } else if self.used_kerberos {
            SignedInVia::Kerberos
        } else {
            SignedInVia::SingleSignOn
        };
        Ok(Outcome::SignedIn(Box::new(SignedIn {
            assertion,
            post_to,
            via,
        })))
    }

    /// The username and password for Kerberos or NTLM with a password.
    pub(super) fn credentials(&self) -> Result<(String, &'a Sensitive<String>), SignInError> {
        let username = self
            .endpoint
            .username
            .clone()
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| SignInError::NoUsername {
                endpoint: self.endpoint.name.clone(),
            })?;
        let password = self.password.ok_or_else(|| SignInError::NoPassword {
            endpoint: self.endpoint.name.clone(),
            keyring: None,
        })?;
        Ok((username, password))
    }

    pub(super) fn answer_login(
        &mut self,
        page_url: &Url,
        form: &Form,
        username_field: &str,
        password_field: &str,
        error: Option<String>,
    ) -> Result<Request, SignInError> {
        let username = self.endpoint.username.clone().unwrap_or_default();
        if self.passcode_tries > 0 {
            // AD FS starts over at the login page when the MFA context has expired.
            return Err(SignInError::PasscodeExpired {
                endpoint: self.endpoint.name.clone(),
            });
        }
        if self.posted_password {
            return Err(self.refused(page_url, username, error));
        }
        let password = self.ready_to_post(page_url, &username)?;
        let request = self.post(page_url, form, Step::LoginForm)?;
        if request.method != Method::POST {
            // A GET would put the password in the address, and so in proxy and server logs.
            return Err(SignInError::PasswordInAddress {
                page_host: host_of(page_url),
                target_host: host_of(&request.url),
                endpoint_host: host_of(&self.endpoint.url),
            });
        }
        let mut fields = form.default_fields();
        set_field(&mut fields, username_field, &username);
        set_field(&mut fields, password_field, password.expose());
        self.tick_keep_me_signed_in(form, &mut fields);
        self.posted_password = true;
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
    }

    /// The first page of a paginated sign-in: the username now, the password on the next page.
    pub(super) fn answer_username(
        &mut self,
        page_url: &Url,
        form: &Form,
        username_field: &str,
        error: Option<String>,
    ) -> Result<Request, SignInError> {
        let username = self.endpoint.username.clone().unwrap_or_default();
        if self.passcode_tries > 0 {
            return Err(SignInError::PasscodeExpired {
                endpoint: self.endpoint.name.clone(),
            });
        }
        if self.posted_password {
            // Back to the first page after the password: AD FS started over.
            return Err(self.refused(page_url, username, error));
        }
        if self.posted_username {
            return Err(match error {
                Some(message) => SignInError::UsernameRefused {
                    endpoint: self.endpoint.name.clone(),
                    username,
                    message,
                },
                None => SignInError::LoginLoop {
                    host: host_of(page_url),
                },
            });
        }
        // Nothing is sent unless the password page can be answered too.
        self.ready_to_post(page_url, &username)?;
        let request = self.post(page_url, form, Step::UsernameForm)?;
        let mut fields = form.default_fields();
        set_field(&mut fields, username_field, &username);
        self.tick_keep_me_signed_in(form, &mut fields);
        self.posted_username = true;
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
    }

    /// Home realm discovery: posts the endpoint's claims provider, or says which ones the page
    /// offers when the endpoint names none of them.
    pub(super) fn answer_home_realm(
        &mut self,
        page_url: &Url,
        form: &Form,
        providers: Vec<ClaimsProvider>,
        error: Option<String>,
    ) -> Result<Request, SignInError> {
        if let Some(chosen) = self.chosen_provider.take() {
            return Err(SignInError::ClaimsProviderRefused {
                host: host_of(page_url),
                chosen,
                message: error,
            });
        }
        let Some(wanted) = self
            .endpoint
            .claims_provider
            .as_deref()
            .map(str::trim)
            .filter(|wanted| !wanted.is_empty())
        else {
            return Err(SignInError::ClaimsProviderNeeded {
                endpoint: self.endpoint.name.clone(),
                offered: providers,
            });
        };
        // A list Rolecall cannot read: the setting is what the person was told to post.
        let id = if providers.is_empty() {
            wanted.to_owned()
        } else {
            match providers.iter().find(|provider| provider.is_named(wanted)) {
                Some(provider) => provider.id.clone(),
                None => {
                    return Err(SignInError::ClaimsProviderUnknown {
                        endpoint: self.endpoint.name.clone(),
                        wanted: wanted.to_owned(),
                        offered: providers,
                    });
                }
            }
        };
        let request = self.post(page_url, form, Step::HomeRealmForm)?;
        let field = form
            .input(page::HOME_REALM_SELECTION)
            .map_or(page::HOME_REALM_SELECTION, |input| input.name.as_str());
        let mut fields = form.default_fields();
        set_field(&mut fields, field, &id);
        self.chosen_provider = Some(id);
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
    }

    /// The password was posted and the sign-in page came back: refused, locked out, or a loop.
    fn refused(&self, page_url: &Url, username: String, error: Option<String>) -> SignInError {
        let endpoint = self.endpoint.name.clone();
        match error {
            Some(message) if mentions_lockout(&message) => SignInError::AccountLocked {
                endpoint,
                username,
                message,
            },
            Some(message) => SignInError::BadCredentials {
                endpoint,
                username,
                message,
            },
            None => SignInError::LoginLoop {
                host: host_of(page_url),
            },
        }
    }

    /// The password to post next, once integrated sign-in, the username and the password allow
    /// a forms sign-in at all.
    fn ready_to_post(
        &self,
        page_url: &Url,
        username: &str,
    ) -> Result<&'a Sensitive<String>, SignInError> {
        if self.attempt == Attempt::Integrated {
            // AD FS showed its form to an integrated-capable agent: integrated sign-in is off.
            return Err(SignInError::IntegratedOff {
                host: host_of(page_url),
            });
        }
        if username.is_empty() {
            return Err(SignInError::NoUsername {
                endpoint: self.endpoint.name.clone(),
            });
        }
        self.password.ok_or_else(|| SignInError::NoPassword {
            endpoint: self.endpoint.name.clone(),
            keyring: None,
        })
    }

    /// Ticks the form's "Keep me signed in" box (`Kmsi`) when the endpoint asks for it; a form
    /// without the box (the farm turned it off) gets nothing.
    fn tick_keep_me_signed_in(&self, form: &Form, fields: &mut Vec<(String, String)>) {
        if !self.endpoint.keep_me_signed_in {
            return;
        }
        if let Some(kmsi) = form.checkbox("Kmsi") {
            // What a browser sends for a ticked box: its value, or `on` without one.
            let value = if kmsi.value.is_empty() {
                "on"
            } else {
                kmsi.value.as_str()
            };
            set_field(fields, &kmsi.name, value);
        }
    }

    /// AD FS sent the sign-in to its page that changes the password: only the person can.
    fn password_expired(&self, page_url: &Url) -> Outcome {
        tracing::info!(url = %redact(page_url), "the identity provider asks for a new password");
        Outcome::NeedsPerson {
            url: page_url.clone(),
            reason: PersonNeeded::PasswordExpired {
                username: self.endpoint.username.clone().unwrap_or_default(),
            },
        }
    }

    pub(super) fn answer_passcode(
        &mut self,
        page_url: &Url,
        form: &Form,
        adapter: String,
        passcode_field: &str,
        error: Option<String>,
    ) -> Result<Request, SignInError> {
        if self.passcode_tries >= MAX_PASSCODE_TRIES {
            return Err(SignInError::PasscodeRejected {
                endpoint: self.endpoint.name.clone(),
                message: error.unwrap_or_default(),
            });
        }
        self.passcode_tries += 1;
        let prompt = PasscodePrompt {
            endpoint: self.endpoint.name.clone(),
            adapter: adapter.clone(),
            error: error.clone(),
            attempt: self.passcode_tries,
        };
        let Some(code) = self.passcodes.passcode(&prompt) else {
            return Err(match error {
                Some(message) if self.passcode_tries > 1 => SignInError::PasscodeRejected {
                    endpoint: self.endpoint.name.clone(),
                    message,
                },
                _ => SignInError::PasscodeNeeded {
                    endpoint: self.endpoint.name.clone(),
                    adapter,
                },
            });
        };
        let request = self.post(page_url, form, Step::PasscodeForm)?;
        let mut fields = form.default_fields();
        set_field(&mut fields, passcode_field, code.expose().trim());
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
    }

    /// Where and how `form` is sent, once its action is known to be a host that may receive
    /// the endpoint's secrets. The caller adds the fields.
    pub(super) fn post(
        &self,
        page_url: &Url,
        form: &Form,
        step: Step,
    ) -> Result<Request, SignInError> {
        let action = form.action.as_deref().unwrap_or("");
        let url = page_url
            .join(action)
            .map_err(|_| SignInError::UnusableForm {
                host: host_of(page_url),
            })?;
        if !self.trusts(&url) {
            return Err(SignInError::FormElsewhere {
                form: match step {
                    Step::PasscodeForm => "passcode form",
                    Step::HomeRealmForm => "claims provider form",
                    _ => "sign-in form",
                },
                page_host: host_of(page_url),
                other_host: host_of(&url),
                endpoint_host: host_of(&self.endpoint.url),
            });
        }
        // HTML's default method is GET; AD FS's forms all say `post`.
        let method = if form.method.trim() == "post" {
            Method::POST
        } else {
            Method::GET
        };
        Ok(Request {
            method,
            url,
            form: None,
            authorization: None,
            step,
        })
    }
}

/// Whether `url` is AD FS's page that changes a password, where an expired one leads.
fn is_update_password_page(url: &Url) -> bool {
    url.path()
        .trim_end_matches('/')
        .eq_ignore_ascii_case("/adfs/portal/updatepassword")
}

/// The codes of AD FS's lockout events: some farms show them on the page that refuses.
fn is_lockout(code: &str) -> bool {
    matches!(code, "MSIS7017" | "MSIS7066")
}

/// Whether the login page's error names a lockout by its code. Without one, a lockout reads
/// like a wrong password (AD FS's extranet lockout does so on purpose).
fn mentions_lockout(message: &str) -> bool {
    ["MSIS7017", "MSIS7066"]
        .iter()
        .any(|code| message.contains(code))
}

pub(super) fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(field, _)| field == name) {
        Some((_, slot)) => *slot = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}
