//! HTTP Negotiate (SPNEGO/Kerberos) tokens for integrated Windows authentication.
//!
//! A [`NegotiateClient`] is one Negotiate conversation with one AD FS host, as the person who is
//! logged in: it turns the Kerberos ticket they already hold into the token for
//! `Authorization: Negotiate <base64>`, and checks the server's answer when there is one. It
//! owns the GSSAPI side only; the HTTP 401 loop, base64 and cookies belong to [`crate::idp`].
//!
//! The ticket comes from where the operating system keeps it: the GSSAPI ticket cache on Unix
//! (the one `kinit` and a domain login fill, named by `KRB5CCNAME` or the Kerberos
//! configuration). That is the one place this crate lets a library read the process
//! environment, because the person's own ticket cache is the point of integrated sign-in.
//!
//! [`NegotiateClient::with_password`] is Kerberos with a username and password instead: GSSAPI
//! asks the KDC for a ticket-granting ticket with the password and keeps it in memory for this
//! one conversation; no ticket cache is read or written. (The Kerberos configuration, which
//! names the realm's KDCs, is still read from the usual place.)
//!
//! Like browsers, the client speaks SPNEGO for the service principal `HTTP/<host>`, with the host
//! name as given (no DNS canonicalisation of ours), and asks for mutual authentication without
//! depending on it: a server that answers `200`/`302` without a token of its own has still
//! accepted us; [`NegotiateClient::is_complete`] then stays `false`, meaning only that the
//! server did not prove who it is.
//!
//! On Windows the current user's ticket is reached through SSPI, which needs `unsafe` calls
//! into the `windows` crate; the workspace denies `unsafe_code`, so this build reports
//! [`NegotiateError::Unsupported`] there and the sign-in falls through to forms or the webview.

use crate::secrets::Sensitive;
use std::fmt;

/// What went wrong in a Negotiate conversation. The raw GSSAPI status is kept in `detail` for
/// logs and bug reports; it is never part of the message a person sees.
#[derive(Debug, thiserror::Error)]
pub enum NegotiateError {
    /// No usable ticket: the cache is empty, missing or expired.
    #[error(
        "Rolecall found no valid Kerberos ticket for integrated sign-in to {host}. Run `kinit \
         you@REALM` (or log in to your domain account), then try again."
    )]
    NoTicket { host: String, detail: String },
    /// The KDC does not know `HTTP/<host>`.
    #[error(
        "Your Kerberos realm does not know the service HTTP/{host}, so integrated sign-in to \
         {host} cannot work. The AD FS host may need its SPN registered (ask your directory \
         administrators), or choose Forms sign-in for this endpoint."
    )]
    UnknownServer { host: String, detail: String },
    /// Any other Kerberos failure: the KDC unreachable, a clock too far off, a bad reply.
    #[error(
        "Integrated sign-in to {host} failed in Kerberos. Check that this computer can reach \
         your domain (on the VPN if you need one) and that its clock is right, then try again, \
         or choose Forms sign-in for this endpoint."
    )]
    Failed { host: String, detail: String },
    /// The KDC refused the password, or does not know the user.
    #[error(
        "Kerberos did not accept the password for {principal} (or does not know that user). \
         Check the username and password in Settings → Endpoints, then try again."
    )]
    BadPassword { principal: String, detail: String },
    /// The username cannot name a Kerberos principal.
    #[error(
        "\"{principal}\" is not a Kerberos username. Give it as user@REALM (for example \
         alice@CORP.EXAMPLE), or as user in the default realm."
    )]
    BadPrincipal { principal: String },
    /// This build has no Kerberos for this platform.
    #[error(
        "Integrated sign-in with Kerberos is not available in this build on this platform; \
         choose Forms or Webview sign-in."
    )]
    Unsupported,
}

impl NegotiateError {
    /// The raw GSSAPI status text, for logs.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::NoTicket { detail, .. }
            | Self::UnknownServer { detail, .. }
            | Self::Failed { detail, .. }
            | Self::BadPassword { detail, .. } => Some(detail),
            Self::BadPrincipal { .. } | Self::Unsupported => None,
        }
    }
}

/// The ticket-granting ticket in the person's ticket cache, as `klist` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// `user@REALM`.
    pub principal: String,
    /// How long it stays valid; zero once it has expired.
    pub lifetime: std::time::Duration,
}

impl Ticket {
    /// The realm of the principal (what follows the last `@`).
    pub fn realm(&self) -> Option<&str> {
        self.principal.rsplit_once('@').map(|(_, realm)| realm)
    }
}

/// The ticket in the ticket cache, read without asking the KDC anything.
pub fn current_ticket() -> Result<Ticket, NegotiateError> {
    imp::current_ticket()
}

/// Whether the ticket cache's ticket gets a service ticket for `HTTP/<host>` (the KDC is asked,
/// as `kvno HTTP/<host>` does): what integrated sign-in to `host` needs. The token built on the
/// way is dropped unsent.
pub fn service_ticket(host: &str) -> Result<(), NegotiateError> {
    NegotiateClient::new(host)?.step(None).map(drop)
}

/// One Negotiate conversation with `HTTP/<host>` as the current user (GSSAPI ticket cache on
/// Unix, SSPI on Windows).
pub struct NegotiateClient {
    host: String,
    #[cfg(unix)]
    context: libgssapi::context::ClientCtx,
}

// The idp module keeps a client across `.await`s in a tokio task.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<NegotiateClient>();
};

impl fmt::Debug for NegotiateClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NegotiateClient")
            .field("service", &format_args!("HTTP/{}", self.host))
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}

impl NegotiateClient {
    /// Starts a conversation with `HTTP/<host>` (SPNEGO, like browsers; mutual authentication
    /// asked for, not required). Nothing is sent to the KDC until the first [`Self::step`].
    pub fn new(host: &str) -> Result<Self, NegotiateError> {
        imp::new(host)
    }

    /// Starts a conversation with `HTTP/<host>` as `principal` (`user@REALM`, or `user` in the
    /// configuration's default realm), proving `password` to the KDC first: the ticket lives in
    /// memory only, and nothing is written to any ticket cache. A wrong password is
    /// [`NegotiateError::BadPassword`], here rather than at the first [`Self::step`].
    pub fn with_password(
        host: &str,
        principal: &str,
        password: &Sensitive<String>,
    ) -> Result<Self, NegotiateError> {
        imp::with_password(host, principal, password)
    }

    /// One leg. The first call takes `None` and gives the token for
    /// `Authorization: Negotiate <base64>`; later calls take the token of the server's
    /// `WWW-Authenticate: Negotiate <token>` reply. `Ok(None)` means there is nothing more to
    /// send.
    pub fn step(
        &mut self,
        server_token: Option<&[u8]>,
    ) -> Result<Option<Sensitive<Vec<u8>>>, NegotiateError> {
        imp::step(self, server_token)
    }

    /// Whether the conversation is finished on our side, including the server's proof of
    /// identity (mutual authentication).
    pub fn is_complete(&self) -> bool {
        imp::is_complete(self)
    }

    pub fn host(&self) -> &str {
        &self.host
    }
}

#[cfg(unix)]
mod imp {
    use super::{NegotiateClient, NegotiateError};
    use crate::secrets::Sensitive;
    use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
    use libgssapi::credential::{Cred, CredUsage};
    use libgssapi::error::{Error, MajorFlags};
    use libgssapi::name::Name;
    use libgssapi::oid::{
        GSS_MECH_KRB5, GSS_MECH_SPNEGO, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL, OidSet,
    };

    // MIT krb5 and Heimdal minor status codes (com_err table "krb5"), as GSSAPI reports them.
    const KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = -1_765_328_377;
    const KRB5KRB_AP_ERR_TKT_EXPIRED: i32 = -1_765_328_352;
    const KRB5_CC_NOTFOUND: i32 = -1_765_328_243;
    const KRB5_FCC_NOFILE: i32 = -1_765_328_189;
    const KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN: i32 = -1_765_328_378;
    const KRB5KDC_ERR_PREAUTH_FAILED: i32 = -1_765_328_360;
    const KRB5KRB_AP_ERR_BAD_INTEGRITY: i32 = -1_765_328_353;

    /// The routine-error field of a major status (a number, not a set of flags).
    const ROUTINE_ERROR_MASK: u32 = 0x00ff_0000;

    pub(super) fn new(host: &str) -> Result<NegotiateClient, NegotiateError> {
        client(host, None)
    }

    pub(super) fn current_ticket() -> Result<super::Ticket, NegotiateError> {
        // No host here: the message of a failure is the caller's to word.
        let failed = |err: &Error| classify("", err, None);
        let mut mechanisms = OidSet::new();
        mechanisms.add(GSS_MECH_KRB5).map_err(|err| failed(&err))?;
        let credential = Cred::acquire(None, None, CredUsage::Initiate, Some(&mechanisms))
            .map_err(|err| failed(&err))?;
        let info = credential.info().map_err(|err| failed(&err))?;
        Ok(super::Ticket {
            principal: info.name.to_string(),
            lifetime: info.lifetime,
        })
    }

    pub(super) fn with_password(
        host: &str,
        principal: &str,
        password: &Sensitive<String>,
    ) -> Result<NegotiateClient, NegotiateError> {
        check_host(host)?;
        let principal = principal.trim();
        if principal.is_empty()
            || principal
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\\' | '/'))
        {
            return Err(NegotiateError::BadPrincipal {
                principal: principal
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect(),
            });
        }
        let name = Name::new(principal.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL)).map_err(|_| {
            NegotiateError::BadPrincipal {
                principal: principal.to_owned(),
            }
        })?;
        // Twice, on purpose. The SPNEGO context needs a SPNEGO credential, but through SPNEGO
        // MIT's glue renumbers the KDC's answer (see `step`), so a wrong password could not be
        // told from a KDC that is down. Kerberos alone answers with Kerberos' own codes; only
        // once it has accepted the password is the SPNEGO one asked for, so a wrong password
        // still costs one failed attempt toward a lockout, not two.
        acquire(&name, password, GSS_MECH_KRB5)
            .map_err(|err| classify_password(host, principal, &err))?;
        let credential = acquire(&name, password, GSS_MECH_SPNEGO)
            .map_err(|err| classify_password(host, principal, &err))?;
        client(host, Some(credential))
    }

    /// A credential for `mechanism` from `password`: a TGT from the KDC, in memory only.
    fn acquire(
        name: &Name,
        password: &Sensitive<String>,
        mechanism: libgssapi::oid::Oid<'static>,
    ) -> Result<Cred, Error> {
        let mut mechanisms = OidSet::new();
        mechanisms.add(mechanism)?;
        Cred::acquire_with_password(
            Some(name),
            password.expose(),
            None,
            CredUsage::Initiate,
            Some(&mechanisms),
        )
    }

    /// What a failed `gss_acquire_cred_with_password` means for the person.
    fn classify_password(host: &str, principal: &str, err: &Error) -> NegotiateError {
        match minor(err) {
            KRB5KDC_ERR_PREAUTH_FAILED
            | KRB5KRB_AP_ERR_BAD_INTEGRITY
            | KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN => NegotiateError::BadPassword {
                principal: principal.to_owned(),
                detail: describe(err),
            },
            _ => match classify(host, err, None) {
                // No ticket cannot be: the password was there to get one.
                NegotiateError::NoTicket { host, detail } => {
                    NegotiateError::Failed { host, detail }
                }
                other => other,
            },
        }
    }

    fn check_host(host: &str) -> Result<(), NegotiateError> {
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '\\'))
        {
            return Err(NegotiateError::Failed {
                host: host.to_owned(),
                detail: format!("{host:?} is not a host name for a service principal"),
            });
        }
        Ok(())
    }

    /// A SPNEGO conversation with `HTTP/<host>`, with `credential` or the ticket cache's.
    fn client(host: &str, credential: Option<Cred>) -> Result<NegotiateClient, NegotiateError> {
        check_host(host)?;
        let service = format!("HTTP@{host}");
        let target = Name::new(service.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|err| classify(host, &err, None))?;
        let context = ClientCtx::new(
            credential,
            target,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(GSS_MECH_SPNEGO),
        );
        Ok(NegotiateClient {
            host: host.to_owned(),
            context,
        })
    }

    pub(super) fn step(
        client: &mut NegotiateClient,
        server_token: Option<&[u8]>,
    ) -> Result<Option<Sensitive<Vec<u8>>>, NegotiateError> {
        let first_leg = server_token.is_none();
        let token = client.context.step(server_token, None).map_err(|err| {
            // Through SPNEGO, MIT's mechanism glue renumbers Kerberos' minor codes (each
            // (mechanism, code) pair gets a process-local number), so the KDC's answer cannot be
            // read from them. On a failed first leg, ask the Kerberos mechanism itself for the
            // same service: it fails the same way, with the com_err code intact. Only failures
            // pay for this second request, and it is not locale-dependent as the text would be.
            let krb5 = (first_leg && routine(&err) == MajorFlags::GSS_S_FAILURE.bits())
                .then(|| krb5_failure(&client.host))
                .flatten();
            classify(&client.host, &err, krb5.as_ref())
        })?;
        Ok(token.map(|token| Sensitive::new(token.to_vec())))
    }

    /// How the bare Kerberos mechanism fails for `HTTP/<host>`, if it does.
    fn krb5_failure(host: &str) -> Option<Error> {
        let target = Name::new(
            format!("HTTP@{host}").as_bytes(),
            Some(GSS_NT_HOSTBASED_SERVICE),
        )
        .ok()?;
        ClientCtx::new(
            None,
            target,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(GSS_MECH_KRB5),
        )
        .step(None, None)
        .err()
    }

    pub(super) fn is_complete(client: &NegotiateClient) -> bool {
        client.context.is_complete()
    }

    /// The routine-error number of a major status.
    fn routine(err: &Error) -> u32 {
        err.major.bits() & ROUTINE_ERROR_MASK
    }

    /// Minor codes are com_err codes: signed 32-bit numbers carried in an unsigned field.
    fn minor(err: &Error) -> i32 {
        i32::from_ne_bytes(err.minor.to_ne_bytes())
    }

    fn describe(err: &Error) -> String {
        // GSSAPI's status strings can carry their C terminator.
        let text = err.to_string().replace('\0', "");
        format!(
            "{text} (GSS major {:#010x}, minor {})",
            err.major.bits(),
            minor(err)
        )
    }

    /// Sorts a GSSAPI failure into what the person can do about it; `krb5` is the same request's
    /// failure in the bare Kerberos mechanism, whose minor code is Kerberos' own.
    pub(super) fn classify(host: &str, err: &Error, krb5: Option<&Error>) -> NegotiateError {
        let mut detail = describe(err);
        if let Some(krb5) = krb5 {
            detail.push_str("; Kerberos mechanism: ");
            detail.push_str(&describe(krb5));
        }
        let host = host.to_owned();
        let no_ticket = |err: &Error| {
            routine(err) == MajorFlags::GSS_S_NO_CRED.bits()
                || routine(err) == MajorFlags::GSS_S_CREDENTIALS_EXPIRED.bits()
                || matches!(
                    minor(err),
                    KRB5_FCC_NOFILE | KRB5_CC_NOTFOUND | KRB5KRB_AP_ERR_TKT_EXPIRED
                )
        };
        let unknown_server = |err: &Error| minor(err) == KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN;
        let errors = std::iter::once(err).chain(krb5);
        if errors.clone().any(unknown_server) {
            NegotiateError::UnknownServer { host, detail }
        } else if errors.clone().any(no_ticket) {
            NegotiateError::NoTicket { host, detail }
        } else {
            NegotiateError::Failed { host, detail }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn error(major: MajorFlags, minor: i32) -> Error {
            Error {
                major,
                minor: u32::from_ne_bytes(minor.to_ne_bytes()),
            }
        }

        #[test]
        fn server_not_in_the_kerberos_database_is_an_unknown_server() {
            let err = classify(
                "sts.corp.example",
                &error(MajorFlags::GSS_S_FAILURE, KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN),
                None,
            );
            assert!(
                matches!(&err, NegotiateError::UnknownServer { host, .. } if host == "sts.corp.example"),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("HTTP/sts.corp.example"), "{message}");
            assert!(message.contains("SPN registered"), "{message}");
            assert!(
                !message.contains("GSS"),
                "the raw status stays in the detail: {message}"
            );
            // (GSSAPI can only put words to a minor code it handed out itself, so a made-up
            // error shows its number; the integration test checks the words.)
            assert!(
                err.detail()
                    .is_some_and(|detail| detail.contains("minor -1765328377")),
                "the detail keeps the raw status: {err:?}"
            );
        }

        #[test]
        fn no_credentials_or_an_expired_ticket_means_no_ticket() {
            for err in [
                error(MajorFlags::GSS_S_NO_CRED, KRB5_FCC_NOFILE),
                error(MajorFlags::GSS_S_FAILURE, KRB5_CC_NOTFOUND),
                error(MajorFlags::GSS_S_CREDENTIALS_EXPIRED, 0),
                error(MajorFlags::GSS_S_FAILURE, KRB5KRB_AP_ERR_TKT_EXPIRED),
            ] {
                let err = classify("sts.corp.example", &err, None);
                assert!(matches!(err, NegotiateError::NoTicket { .. }), "{err:?}");
                assert!(err.to_string().contains("kinit"), "{err}");
            }
        }

        #[test]
        fn other_failures_are_failed_not_no_ticket() {
            // GSS_S_FAILURE shares bits with GSS_S_NO_CRED: a flag test would misread it.
            let err = classify(
                "sts.corp.example",
                &error(MajorFlags::GSS_S_FAILURE, 0),
                None,
            );
            assert!(matches!(err, NegotiateError::Failed { .. }), "{err:?}");
        }

        #[test]
        fn the_kerberos_mechanism_tells_what_spnego_renumbered() {
            // 100001: a minor code MIT's mechanism glue made up for SPNEGO.
            let spnego = error(MajorFlags::GSS_S_FAILURE, 100_001);
            let krb5 = error(MajorFlags::GSS_S_FAILURE, KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN);
            let err = classify("sts.corp.example", &spnego, Some(&krb5));
            assert!(
                matches!(err, NegotiateError::UnknownServer { .. }),
                "{err:?}"
            );
        }

        #[test]
        fn a_host_that_cannot_name_a_service_is_refused_before_gssapi() {
            for host in ["", "a b", "HTTP/x", "x@REALM"] {
                let err = NegotiateClient::new(host).expect_err(host);
                assert!(matches!(err, NegotiateError::Failed { .. }), "{err:?}");
            }
        }

        #[test]
        fn debug_names_the_service_and_nothing_else() {
            let client = NegotiateClient::new("sts.corp.example").expect("a client");
            assert_eq!(
                format!("{client:?}"),
                "NegotiateClient { service: HTTP/sts.corp.example, complete: false, .. }"
            );
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::{NegotiateClient, NegotiateError};
    use crate::secrets::Sensitive;

    pub(super) fn new(_host: &str) -> Result<NegotiateClient, NegotiateError> {
        Err(NegotiateError::Unsupported)
    }

    pub(super) fn current_ticket() -> Result<super::Ticket, NegotiateError> {
        Err(NegotiateError::Unsupported)
    }

    pub(super) fn with_password(
        _host: &str,
        _principal: &str,
        _password: &Sensitive<String>,
    ) -> Result<NegotiateClient, NegotiateError> {
        Err(NegotiateError::Unsupported)
    }

    pub(super) fn step(
        _client: &mut NegotiateClient,
        _server_token: Option<&[u8]>,
    ) -> Result<Option<Sensitive<Vec<u8>>>, NegotiateError> {
        Err(NegotiateError::Unsupported)
    }

    pub(super) fn is_complete(_client: &NegotiateClient) -> bool {
        false
    }
}
