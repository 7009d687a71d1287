//! The requests of a sign-in: redirects followed by hand, the body cap, the time budget, and
//! what a failed request means.

use super::*;

impl Conversation<'_> {
    /// Whether `url`'s host may receive this endpoint's password, passcodes, NTLM answers and
    /// Kerberos tickets.
    pub(super) fn trusts(&self, url: &Url) -> bool {
        url.host_str()
            .is_some_and(|host| self.endpoint.trusts_host(host))
    }

    /// Sends `request` and follows redirects to the page at their end. A `302`/`303` (and
    /// `301`) turn a POST into a GET, as browsers do; `307`/`308` keep it.
    // `&mut self`: the conversation is `Send` but not `Sync` (the Negotiate client).
    pub(super) async fn fetch(&mut self, mut request: Request) -> Result<Fetched, SignInError> {
        for _ in 0..=MAX_REDIRECTS {
            if !is_secure_target(&request.url) {
                return Err(SignInError::Insecure {
                    url: redact(&request.url),
                });
            }
            // Every secret goes through here: the checks where each is made name the case
            // better, this one makes sure none is missed.
            if (request.form.is_some() || request.authorization.is_some())
                && !self.trusts(&request.url)
            {
                return Err(SignInError::FormElsewhere {
                    form: "sign-in request",
                    page_host: host_of(&request.url),
                    other_host: host_of(&request.url),
                    endpoint_host: host_of(&self.endpoint.url),
                });
            }
            let mut builder = self
                .session
                .client
                .request(request.method.clone(), request.url.clone());
            if let Some(fields) = &request.form {
                builder = if request.method == Method::GET {
                    builder.query(fields.expose())
                } else {
                    builder.form(fields.expose())
                };
            }
            if let Some(authorization) = &request.authorization {
                builder = builder.header(AUTHORIZATION, authorization.expose().as_str());
            }
            let url = request.url.clone();
            let response = self
                .within(&request, async move {
                    builder
                        .send()
                        .await
                        .map_err(|err| request_error(&url, &err))
                })
                .await?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(LOCATION)
            {
                let target = location
                    .to_str()
                    .ok()
                    .and_then(|location| request.url.join(location).ok())
                    .ok_or_else(|| SignInError::UnusableForm {
                        host: host_of(&request.url),
                    })?;
                let keep_method = matches!(
                    status,
                    StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
                );
                // Every form Rolecall sends holds a password or a passcode, so a re-post to
                // another host is refused rather than sent, or sent without its body (which
                // that host did not ask for either).
                if keep_method && request.form.is_some() && !self.trusts(&target) {
                    return Err(SignInError::RepostElsewhere {
                        from_host: host_of(&request.url),
                        status: status.as_u16(),
                        other_host: host_of(&target),
                        endpoint_host: host_of(&self.endpoint.url),
                    });
                }
                request = if keep_method {
                    Request {
                        url: target,
                        authorization: None,
                        ..request
                    }
                } else {
                    Request::get(target, Step::Redirect)
                };
                continue;
            }
            let url = response.url().clone();
            let headers = response.headers().clone();
            let body = self.within(&request, read_body(response, &url)).await?;
            return Ok(Fetched {
                url,
                status,
                headers,
                body,
            });
        }
        Err(SignInError::TooManyPages {
            host: host_of(&request.url),
        })
    }
}

impl Conversation<'_> {
    /// Runs `work` (a request, or reading its answer) within the IdP's time left.
    pub(super) async fn within<T>(
        &mut self,
        request: &Request,
        work: impl Future<Output = Result<T, SignInError>>,
    ) -> Result<T, SignInError> {
        let started = crate::clock::monotonic();
        let done = tokio::time::timeout(self.budget.left, work).await;
        self.budget.left = self.budget.left.saturating_sub(started.elapsed());
        done.unwrap_or_else(|_| {
            Err(SignInError::Deadline {
                endpoint: self.endpoint.name.clone(),
                seconds: self.budget.deadline.as_secs_f64(),
                waiting: format!("{} to answer {}", redact(&request.url), request.step),
            })
        })
    }
}

pub(super) async fn read_body(
    mut response: reqwest::Response,
    url: &Url,
) -> Result<String, SignInError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| request_error(url, &err))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(SignInError::PageTooLarge { host: host_of(url) });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

pub(super) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

/// What a failed request means for a person: an untrusted certificate, or no connection.
pub(super) fn request_error(url: &Url, err: &reqwest::Error) -> SignInError {
    let host = host_of(url);
    match crate::http::classify(err) {
        crate::http::RequestFailure::Untrusted(detail) => SignInError::Tls { host, detail },
        failure => SignInError::Network {
            host,
            detail: failure.describe(),
        },
    }
}
