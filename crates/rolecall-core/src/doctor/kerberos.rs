//! The Kerberos check: the ticket in the ticket cache (what `klist` shows) and, for each
//! endpoint that signs in with it, whether the KDC hands out a service ticket for
//! `HTTP/<host>` (what `kvno` does).

use std::sync::Arc;
use std::time::Duration;

use super::{Check, CheckKind, Status, span};
use crate::negotiate::{NegotiateError, Ticket};
use crate::settings::{Endpoint, SignInMethod};

/// A ticket this close to its end gets a warning: a renewal in the next quarter hour fails.
const SHORT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The person's Kerberos tickets: GSSAPI's ticket cache for real, a stand-in in tests.
pub trait KerberosTickets: std::fmt::Debug + Send + Sync {
    /// The ticket-granting ticket in the ticket cache.
    fn current(&self) -> Result<Ticket, NegotiateError>;
    /// Gets a service ticket for `HTTP/<host>` with it.
    fn service_ticket(&self, host: &str) -> Result<(), NegotiateError>;
}

/// The ticket cache GSSAPI reads (`KRB5CCNAME`, or the system's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemKerberos;

impl KerberosTickets for SystemKerberos {
    fn current(&self) -> Result<Ticket, NegotiateError> {
        crate::negotiate::current_ticket()
    }

    fn service_ticket(&self, host: &str) -> Result<(), NegotiateError> {
        crate::negotiate::service_ticket(host)
    }
}

/// How much a missing Kerberos piece matters to an endpoint: its sign-in depends on it
/// (`windows`), falls back to a password without it (`auto`), or brings its own ticket from
/// a password (`kerberos`).
fn weight(method: SignInMethod) -> Option<Status> {
    match method {
        SignInMethod::Windows => Some(Status::Fail),
        SignInMethod::Auto => Some(Status::Warn),
        SignInMethod::Kerberos => Some(Status::Ok),
        SignInMethod::Ntlm | SignInMethod::Forms | SignInMethod::Webview => None,
    }
}

pub(super) async fn checks(
    kerberos: &Arc<dyn KerberosTickets>,
    endpoints: &[Endpoint],
) -> Vec<Check> {
    let users: Vec<(&Endpoint, Status)> = endpoints
        .iter()
        .filter_map(|endpoint| Some((endpoint, weight(endpoint.method)?)))
        .collect();
    if users.is_empty() {
        return vec![Check::new(
            CheckKind::Kerberos,
            Status::Ok,
            "no endpoint signs in with Kerberos, so no ticket is needed",
        )];
    }
    let worst = users
        .iter()
        .map(|(_, weight)| *weight)
        .max()
        .unwrap_or(Status::Ok);
    // GSSAPI reads files and may ask the KDC: off the async workers.
    let ticket = blocking(kerberos, |kerberos| kerberos.current()).await;
    let mut checks = Vec::new();
    let ticket = match ticket {
        Ok(ticket) if !ticket.lifetime.is_zero() => ticket,
        Ok(ticket) => {
            checks.push(
                Check::new(
                    CheckKind::Kerberos,
                    worst,
                    format!("the Kerberos ticket of {} has expired", ticket.principal),
                )
                .action(format!(
                    "Run `kinit {}` (or lock and unlock your session).",
                    ticket.principal
                )),
            );
            return checks;
        }
        Err(err) => {
            let users: Vec<&str> = users.iter().map(|(e, _)| e.name.as_str()).collect();
            let mut check = Check::new(
                CheckKind::Kerberos,
                worst,
                match &err {
                    NegotiateError::Unsupported => {
                        "this build of Rolecall has no Kerberos on this platform".to_owned()
                    }
                    _ => "there is no Kerberos ticket in the ticket cache".to_owned(),
                },
            )
            .detail(format!("used by: {}", users.join(", ")));
            if let Some(detail) = err.detail() {
                check = check.detail(format!("GSSAPI said: {detail}"));
            }
            if worst == Status::Ok {
                check
                    .finding
                    .push_str(" (these endpoints get one from the password at each sign-in)");
            } else {
                check = check.action(
                    "Run `kinit you@REALM` (or log in to your domain account); without a ticket \
                     integrated sign-in cannot work.",
                );
            }
            checks.push(check);
            return checks;
        }
    };
    let realm = ticket.realm().unwrap_or("(no realm)").to_owned();
    let left = i64::try_from(ticket.lifetime.as_secs()).unwrap_or(i64::MAX);
    let mut check = Check::new(
        CheckKind::Kerberos,
        Status::Ok,
        format!(
            "ticket of {} (realm {realm}), valid for another {}",
            ticket.principal,
            span(left)
        ),
    );
    if ticket.lifetime < SHORT_LIFETIME {
        check.status = Status::Warn;
        check = check.action(format!(
            "The ticket ends soon: run `kinit {}` to get a new one.",
            ticket.principal
        ));
    }
    checks.push(check);
    for (endpoint, weight) in users {
        let Some(host) = endpoint.url.host_str() else {
            continue;
        };
        let service = format!("HTTP/{host}");
        let asked = host.to_owned();
        let got = blocking(kerberos, move |kerberos| kerberos.service_ticket(&asked)).await;
        let check = match got {
            Ok(()) => Check::new(
                CheckKind::Kerberos,
                Status::Ok,
                format!("{realm} gives a service ticket for {service}"),
            ),
            Err(err) => {
                let status = weight.max(Status::Warn);
                let finding = match &err {
                    NegotiateError::UnknownServer { .. } => {
                        format!("realm {realm} does not know the service {service}")
                    }
                    _ => format!("no service ticket for {service} could be had"),
                };
                let mut check =
                    Check::new(CheckKind::Kerberos, status, finding).action(err.to_string());
                if let Some(detail) = err.detail() {
                    check = check.detail(format!("GSSAPI said: {detail}"));
                }
                check
            }
        };
        checks.push(check.about(endpoint.name.clone()));
    }
    checks
}

async fn blocking<T: Send + 'static>(
    kerberos: &Arc<dyn KerberosTickets>,
    call: impl FnOnce(&dyn KerberosTickets) -> Result<T, NegotiateError> + Send + 'static,
) -> Result<T, NegotiateError> {
    let kerberos = Arc::clone(kerberos);
    tokio::task::spawn_blocking(move || call(kerberos.as_ref()))
        .await
        .unwrap_or_else(|err| {
            Err(NegotiateError::Failed {
                host: String::new(),
                detail: err.to_string(),
            })
        })
}
