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
            return Err(match error {
                Some(message) => SignInError::BadCredentials {
                    endpoint: self.endpoint.name.clone(),
                    username,
                    message,
                },
                None => SignInError::LoginLoop {
                    host: host_of(page_url),
                },
            });
        }
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
        let Some(password) = self.password else {
            return Err(SignInError::NoPassword {
                endpoint: self.endpoint.name.clone(),
                keyring: None,
            });
        };
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
        self.posted_password = true;
        Ok(Request {
            form: Some(Sensitive::new(fields)),
            ..request
        })
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
                form: if step == Step::LoginForm {
                    "sign-in form"
                } else {
                    "passcode form"
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

pub(super) fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(field, _)| field == name) {
        Some((_, slot)) => *slot = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}
