//! Integrated Windows authentication: the `401` challenges answered with a Kerberos ticket
//! (Negotiate) or NTLM.

use super::*;

impl Conversation<'_> {
    /// Integrated authentication: `401` with `WWW-Authenticate: Negotiate` and `NTLM`.
    pub(super) fn answer_challenge(&mut self, fetched: &Fetched) -> Result<Request, SignInError> {
        let host = host_of(&fetched.url);
        let offers: Vec<(String, String)> = fetched
            .headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(|offer| {
                let (scheme, token) = offer.split_once(' ').unwrap_or((offer, ""));
                (scheme.to_ascii_lowercase(), token.trim().to_owned())
            })
            .collect();
        let offer = |scheme: &str| {
            offers
                .iter()
                .find(|(offered, _)| offered == scheme)
                .map(|(_, token)| token.clone())
        };
        if self.attempt != Attempt::Password && !self.trusts(&fetched.url) {
            return Err(SignInError::ChallengeElsewhere {
                endpoint_host: host_of(&self.endpoint.url),
                other_host: host,
                scheme: if self.attempt == Attempt::Ntlm {
                    "NTLM"
                } else {
                    "Kerberos (Negotiate)"
                },
            });
        }
        let (scheme, token) = match self.attempt {
            Attempt::Password => {
                return Err(if offers.is_empty() {
                    SignInError::Status {
                        host,
                        status: fetched.status.as_u16(),
                    }
                } else {
                    SignInError::IntegratedOnly { host }
                });
            }
            Attempt::Integrated | Attempt::KerberosPassword => {
                let Some(server_token) = offer("negotiate") else {
                    return Err(SignInError::IntegratedOff { host });
                };
                (
                    "Negotiate",
                    self.negotiate_step(fetched, &host, &server_token)?,
                )
            }
            Attempt::Ntlm => {
                let Some(server_token) = offer("ntlm") else {
                    return Err(SignInError::IntegratedOff { host });
                };
                let target_host = fetched.url.host_str().unwrap_or_default();
                ("NTLM", self.ntlm_step(&host, target_host, &server_token)?)
            }
        };
        Ok(Request {
            method: Method::GET,
            url: fetched.url.clone(),
            form: None,
            authorization: Some(Sensitive::new(format!(
                "{scheme} {}",
                STANDARD.encode(token.expose())
            ))),
            step: if scheme == "NTLM" {
                Step::Ntlm
            } else {
                Step::Negotiate
            },
        })
    }

    /// The next Kerberos token: the current user's ticket, or one got with the password.
    pub(super) fn negotiate_step(
        &mut self,
        fetched: &Fetched,
        host: &str,
        server_token: &str,
    ) -> Result<Sensitive<Vec<u8>>, SignInError> {
        let refused = || SignInError::KerberosRefused {
            host: host.to_owned(),
        };
        if self.used_kerberos && server_token.is_empty() {
            // A second bare challenge after a ticket: the server did not accept it.
            return Err(refused());
        }
        let client = match &mut self.negotiate {
            Some(client) => client,
            None => {
                let host_name = fetched.url.host_str().unwrap_or_default();
                let client = if self.attempt == Attempt::KerberosPassword {
                    let (username, password) = self.credentials()?;
                    NegotiateClient::with_password(host_name, &username, password)?
                } else {
                    NegotiateClient::new(host_name)?
                };
                self.negotiate.insert(client)
            }
        };
        let server_token = if server_token.is_empty() {
            None
        } else {
            Some(
                STANDARD
                    .decode(server_token.as_bytes())
                    .map_err(|_| refused())?,
            )
        };
        let token = client.step(server_token.as_deref())?.ok_or_else(refused)?;
        self.used_kerberos = true;
        Ok(token)
    }

    /// NTLM's three legs: negotiate, the server's challenge, authenticate. A bare challenge
    /// after our answer means the password was refused, or (rarely) that the last leg went on
    /// another connection; the handshake is tried again a few times before giving up.
    pub(super) fn ntlm_step(
        &mut self,
        host: &str,
        target_host: &str,
        server_token: &str,
    ) -> Result<Sensitive<Vec<u8>>, SignInError> {
        if server_token.is_empty() {
            if self.ntlm.is_some() {
                self.ntlm_rounds += 1;
                if self.ntlm_rounds >= MAX_NTLM_ROUNDS {
                    return Err(SignInError::NtlmRefused {
                        host: host.to_owned(),
                        username: self.endpoint.username.clone().unwrap_or_default(),
                    });
                }
            }
            let (username, password) = self.credentials()?;
            let client = self
                .ntlm
                .insert(NtlmClient::new(&username, password, target_host)?);
            return Ok(client.negotiate()?);
        }
        let challenge =
            STANDARD
                .decode(server_token.as_bytes())
                .map_err(|_| SignInError::NtlmRefused {
                    host: host.to_owned(),
                    username: self.endpoint.username.clone().unwrap_or_default(),
                })?;
        let client = self.ntlm.as_mut().ok_or_else(|| SignInError::NtlmRefused {
            host: host.to_owned(),
            username: self.endpoint.username.clone().unwrap_or_default(),
        })?;
        self.posted_password = true;
        Ok(client.authenticate(&challenge)?)
    }
}
