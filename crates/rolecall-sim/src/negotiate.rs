//! The simulator's side of integrated Windows authentication: checks the SPNEGO (or bare
//! Kerberos) token of an `Authorization: Negotiate` header with the service keys of a keytab,
//! and says who the client is, as AD FS's `/adfs/ls/wia` does.
//!
//! It never talks to a KDC and never issues tickets: a test runs a real MIT KDC (see
//! `rolecall_tests::kdc`), gets a ticket for `HTTP/<host>` with `kinit`, and this module only
//! verifies it. Only one-leg Kerberos is accepted, the way browsers send it; NTLM inside
//! SPNEGO (or anything else that needs a second leg) is refused with a sentence.
//!
//! The keys come from the keytab named by `KRB5_KTNAME` in the process environment (GSSAPI
//! reads it), so a process should hold one acceptor for one keytab.
//!
//! [`KerberosWia`] plugs the acceptor into `/adfs/ls/wia` (see [`crate::WiaAcceptor`]): the
//! principal's name part is the directory user, as AD FS maps `alice@REALM` to `REALM\alice`.

/// Accepts SPNEGO/Kerberos tokens for HTTP/<host> with the keys in the keytab named by
/// KRB5_KTNAME (process environment).
#[derive(Debug)]
pub struct KerberosAcceptor {
    #[cfg(unix)]
    credential: libgssapi::credential::Cred,
    #[cfg(not(unix))]
    _unavailable: (),
}

// One acceptor serves every connection of the simulator's server.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KerberosAcceptor>();
};

/// A client that proved who it is.
#[derive(Debug)]
pub struct KerberosAccepted {
    /// The client's principal, e.g. `alice@ROLECALL.TEST`.
    pub principal: String,
    /// The mutual-authentication token to send back in `WWW-Authenticate: Negotiate <base64>`.
    pub reply: Option<Vec<u8>>,
}

#[cfg(unix)]
impl KerberosAcceptor {
    /// Loads the service keys of every principal in the keytab (e.g. `HTTP/localhost` and
    /// `HTTP/127.0.0.1`), for SPNEGO and bare Kerberos tokens.
    pub fn new() -> Result<Self, String> {
        use libgssapi::credential::{Cred, CredUsage};
        use libgssapi::oid::{GSS_MECH_KRB5, GSS_MECH_SPNEGO, OidSet};

        let mut mechanisms = OidSet::new();
        for mechanism in [GSS_MECH_SPNEGO, GSS_MECH_KRB5] {
            mechanisms
                .add(mechanism)
                .map_err(|err| format!("GSSAPI: {err}"))?;
        }
        let credential =
            Cred::acquire(None, None, CredUsage::Accept, Some(&mechanisms)).map_err(|err| {
                format!(
                    "The simulator could not load Kerberos service keys from the keytab named \
                     by KRB5_KTNAME ({}): {err}. Point KRB5_KTNAME at a keytab with HTTP/<host> \
                     keys.",
                    std::env::var("KRB5_KTNAME").unwrap_or_else(|_| "not set".to_owned())
                )
            })?;
        Ok(Self { credential })
    }

    /// Checks one client token (the bytes after `Negotiate ` in `Authorization`, base64
    /// decoded). Each call is a conversation of its own.
    pub fn accept(&self, token: &[u8]) -> Result<KerberosAccepted, String> {
        use libgssapi::context::{SecurityContext, ServerCtx};

        let mut context = ServerCtx::new(Some(self.credential.clone()));
        let reply = context
            .step(token, None)
            .map_err(|err| format!("The Negotiate token was refused: {err}."))?;
        if !context.is_complete() {
            return Err(
                "The Negotiate token needs another leg (SPNEGO chose a mechanism other than \
                 one-leg Kerberos, such as NTLM). The simulator accepts Kerberos tokens as \
                 browsers send them, in one leg."
                    .to_owned(),
            );
        }
        let principal = context
            .source_name()
            .map_err(|err| format!("The Negotiate token names no client: {err}."))?
            .to_string();
        Ok(KerberosAccepted {
            principal,
            reply: reply.map(|reply| reply.to_vec()),
        })
    }
}

#[cfg(not(unix))]
impl KerberosAcceptor {
    /// Kerberos needs GSSAPI, which only the Unix builds link.
    pub fn new() -> Result<Self, String> {
        Err(
            "The simulator's Kerberos sign-in needs GSSAPI, which this platform's build does \
             not have."
                .to_owned(),
        )
    }

    pub fn accept(&self, _token: &[u8]) -> Result<KerberosAccepted, String> {
        Err("The simulator's Kerberos sign-in is not available on this platform.".to_owned())
    }
}

/// [`KerberosAcceptor`] at `/adfs/ls/wia`: `Negotiate` legs whose Kerberos token checks out sign
/// in the principal's user (`alice@ROLECALL.TEST` → `alice`); anything else gets the challenge
/// again. NTLM is the simulator's own `ntlm` acceptor's business.
#[derive(Debug)]
pub struct KerberosWia(pub KerberosAcceptor);

impl KerberosWia {
    /// An acceptor with the keys of the keytab named by `KRB5_KTNAME`.
    pub fn from_keytab() -> Result<Self, String> {
        KerberosAcceptor::new().map(Self)
    }
}

impl crate::WiaAcceptor for KerberosWia {
    fn accept(&self, scheme: &str, token: &[u8], _connection_id: u64) -> crate::WiaStep {
        if !scheme.eq_ignore_ascii_case("Negotiate") {
            return crate::WiaStep::Rejected;
        }
        match self.0.accept(token) {
            Ok(accepted) => crate::WiaStep::Accepted {
                username: user_of(&accepted.principal).to_owned(),
                reply: accepted.reply,
            },
            Err(refusal) => {
                eprintln!("rolecall-sim: {refusal}");
                crate::WiaStep::Rejected
            }
        }
    }
}

/// The name part of a Kerberos principal: `alice@REALM` → `alice` (a realm-less name as is).
fn user_of(principal: &str) -> &str {
    principal
        .rsplit_once('@')
        .map_or(principal, |(name, _realm)| name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_principal_name_part_is_the_user() {
        assert_eq!(super::user_of("alice@ROLECALL.TEST"), "alice");
        assert_eq!(super::user_of("alice"), "alice");
        // An enterprise principal keeps its own @ (alice@corp.example@REALM).
        assert_eq!(
            super::user_of("alice@corp.example@ROLECALL.TEST"),
            "alice@corp.example"
        );
    }
}
