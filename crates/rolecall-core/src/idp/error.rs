//! Why a sign-in failed, as a sentence that says what to do.

use super::*;

/// The broad kind of a sign-in failure, for exit codes and IPC codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BadCredentials,
    Passcode,
    NoRoles,
    Tls,
    Network,
    Other,
}

/// Why a sign-in failed. Each message says what happened and what to do, and never holds a
/// password, a cookie or the assertion.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(
        "The identity provider did not accept the username and password for {username} at \
         endpoint \"{endpoint}\": “{message}” Check them (Settings → Endpoints, or \
         ROLECALL_PASSWORD), then try again. If they are right, the account may be locked out \
         after too many failed sign-ins (AD FS then answers just as it did here): wait for the \
         lockout to end, or ask your IT help desk."
    )]
    BadCredentials {
        endpoint: String,
        username: String,
        message: String,
    },

    #[error(
        "The identity provider says the account {username} of endpoint \"{endpoint}\" is \
         locked out: “{message}” Rolecall does not try the password again on its own. Wait for \
         the lockout to end (your AD FS administrator sets how long) or ask your IT help desk \
         to unlock the account, then sign in again."
    )]
    AccountLocked {
        endpoint: String,
        username: String,
        message: String,
    },

    #[error(
        "The identity provider did not accept the username {username} of endpoint \
         \"{endpoint}\": “{message}” Check it (Settings → Endpoints, or --username), then try \
         again."
    )]
    UsernameRefused {
        endpoint: String,
        username: String,
        message: String,
    },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" asks which claims provider to sign \
         in with{}. Choose one for the endpoint in Settings → Endpoints (claims_provider in the \
         settings file, or `rolecall endpoint edit {endpoint} --claims-provider ...`), then \
         try again.",
        offered_list(offered)
    )]
    ClaimsProviderNeeded {
        endpoint: String,
        /// The providers the page listed (also in the endpoint's status, for the settings
        /// window to offer).
        offered: Vec<ClaimsProvider>,
    },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" does not offer the claims provider \
         \"{wanted}\" set for the endpoint{}. Choose one it offers in Settings → Endpoints \
         (claims_provider in the settings file), then try again.",
        offered_list(offered)
    )]
    ClaimsProviderUnknown {
        endpoint: String,
        wanted: String,
        offered: Vec<ClaimsProvider>,
    },

    #[error(
        "AD FS at {host} asked for the claims provider again after Rolecall chose \"{chosen}\"{}. \
         Check the endpoint's claims provider in Settings → Endpoints, or sign in with the \
         Webview method to see what AD FS wants.",
        message.as_deref().map(|said| format!(" (“{said}”)")).unwrap_or_default()
    )]
    ClaimsProviderRefused {
        host: String,
        chosen: String,
        message: Option<String>,
    },

    #[error(
        "Endpoint \"{endpoint}\" signs in with a username and password, but Rolecall has no \
         password for it{}. Save it in Settings → Endpoints, or give it with ROLECALL_PASSWORD \
         or --password-stdin.",
        keyring.as_ref().map(|problem| format!(" (and the keyring could not be read: {problem})")).unwrap_or_default()
    )]
    NoPassword {
        endpoint: String,
        /// Why the keyring could not be asked, when it could not.
        keyring: Option<String>,
    },

    #[error(
        "Endpoint \"{endpoint}\" has no username to sign in with. Set it in Settings → \
         Endpoints (or with --username), then try again."
    )]
    NoUsername { endpoint: String },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" asks for a one-time passcode \
         ({adapter}). Enter it when Rolecall asks (ROLECALL_MFA_CODE for scripts), then try \
         again."
    )]
    PasscodeNeeded { endpoint: String, adapter: String },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" did not accept the passcode: \
         “{message}” Wait for a fresh code, then sign in again."
    )]
    PasscodeRejected { endpoint: String, message: String },

    #[error(
        "The passcode step of endpoint \"{endpoint}\" took too long and the identity provider \
         started over. Sign in again and enter the code as soon as it is asked for."
    )]
    PasscodeExpired { endpoint: String },

    #[error("AD FS at {host} answered with an error: {text} {}", adfs_advice(code))]
    Adfs {
        host: String,
        code: String,
        text: String,
    },

    #[error(transparent)]
    Saml(#[from] SamlError),

    #[error(
        "Rolecall does not trust the certificate of {host}: {detail}. If your company uses its \
         own certificate authority, give its PEM file as the endpoint's CA file (--ca-file on \
         the command line)."
    )]
    Tls { host: String, detail: &'static str },

    #[error(
        "Rolecall could not reach {host} ({detail}). Check your network connection, VPN and \
         proxy settings, then try again."
    )]
    Network { host: String, detail: &'static str },

    #[error(
        "{host} answered HTTP {status} during the sign-in. Try again later; if it keeps \
         happening, check the endpoint URL or sign in with the Webview method."
    )]
    Status { host: String, status: u16 },

    #[error(
        "The sign-in led to {url}, which is not https, so Rolecall stopped rather than send \
         credentials in the clear. Check the endpoint URL."
    )]
    Insecure { url: String },

    #[error(
        "The {form} at {page_host} would send your credentials to {other_host}, which is not \
         the endpoint's host {endpoint_host}, so Rolecall sent nothing there. {}",
        elsewhere_advice(other_host)
    )]
    FormElsewhere {
        form: &'static str,
        page_host: String,
        other_host: String,
        endpoint_host: String,
    },

    #[error(
        "{from_host} answered the sign-in form with HTTP {status}, which would post it again, \
         password included, to {other_host}, which is not the endpoint's host {endpoint_host}, \
         so Rolecall sent nothing there. {}",
        elsewhere_advice(other_host)
    )]
    RepostElsewhere {
        from_host: String,
        status: u16,
        other_host: String,
        endpoint_host: String,
    },

    #[error(
        "The sign-in form at {page_host} would send your password to {target_host} inside the \
         web address (a GET form), where proxies and server logs keep it, so Rolecall sent \
         nothing (the endpoint's host is {endpoint_host}). Sign in with the Webview method, and \
         tell your IT team."
    )]
    PasswordInAddress {
        page_host: String,
        target_host: String,
        endpoint_host: String,
    },

    #[error(
        "{other_host} asks for {scheme} sign-in, but it is not the endpoint's host \
         {endpoint_host}, so Rolecall sent it no answer. {}",
        elsewhere_advice(other_host)
    )]
    ChallengeElsewhere {
        endpoint_host: String,
        other_host: String,
        scheme: &'static str,
    },

    #[error(
        "The identity provider of endpoint \"{endpoint}\" took more than {seconds} seconds in \
         all to answer the sign-in: Rolecall was still waiting for {waiting}. Try again later; \
         if it keeps happening, check the endpoint URL, your network and proxy, or sign in with \
         the Webview method."
    )]
    Deadline {
        endpoint: String,
        seconds: f64,
        waiting: String,
    },

    #[error(
        "The sign-in at {host} went through more pages than any sign-in needs, so Rolecall \
         stopped. Sign in with the Webview method, or tell your AD FS administrator."
    )]
    TooManyPages { host: String },

    #[error(
        "The sign-in page of {host} answered far more data than a sign-in page holds, so \
         Rolecall stopped reading. Check the endpoint URL."
    )]
    PageTooLarge { host: String },

    #[error(
        "The identity provider at {host} showed its sign-in form again without saying why. \
         Sign in with the Webview method to see what it wants."
    )]
    LoginLoop { host: String },

    #[error(
        "A sign-in page of {host} has a form Rolecall cannot send. Sign in with the Webview \
         method."
    )]
    UnusableForm { host: String },

    #[error(
        "AD FS at {host} asks for integrated Windows sign-in only. Choose the Automatic or \
         Windows integrated sign-in method for this endpoint."
    )]
    IntegratedOnly { host: String },

    #[error(
        "AD FS at {host} does not offer integrated Windows sign-in to Rolecall (it showed its \
         sign-in form). Choose the Forms or Automatic sign-in method for this endpoint."
    )]
    IntegratedOff { host: String },

    #[error(
        "AD FS at {host} did not accept Rolecall's Kerberos ticket. Run `klist` to check your \
         ticket (renew it with `kinit`), or choose the Forms sign-in method."
    )]
    KerberosRefused { host: String },

    #[error(transparent)]
    Negotiate(#[from] NegotiateError),

    #[error(
        "The identity provider at {host} did not accept the NTLM sign-in of {username}. Check \
         the username (DOMAIN\\user or user@domain) and password, then try again."
    )]
    NtlmRefused { host: String, username: String },

    #[error(transparent)]
    Ntlm(#[from] NtlmError),

    #[error(transparent)]
    Http(#[from] HttpError),

    #[error(transparent)]
    Secrets(SecretsError),

    #[error("Rolecall's sign-in stopped unexpectedly ({detail}). Try again.")]
    Internal { detail: String },
}

/// The claims providers a page offered, for a sentence that goes on after "with".
fn offered_list(offered: &[ClaimsProvider]) -> String {
    if offered.is_empty() {
        return ", but lists the choices in a way Rolecall cannot read; ask your AD FS \
                administrator which identifier to give"
            .to_owned();
    }
    let names: Vec<String> = offered.iter().map(ToString::to_string).collect();
    format!(": {}", names.join(", "))
}

fn elsewhere_advice(other_host: &str) -> String {
    let host = other_host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(other_host, |(host, _)| host);
    format!(
        "If {host} is part of your company's sign-in, add it to the endpoint's trusted hosts \
         (trusted_hosts in the settings file, or `rolecall endpoint add --trust-host {host}`); \
         otherwise tell your IT team."
    )
}

fn adfs_advice(code: &str) -> &'static str {
    match code {
        "MSIS7007" => {
            "The sign-in URL names a relying party AD FS does not know: for AWS its loginToRp is \
             urn:amazon:webservices. Check the endpoint URL, or ask your AD FS administrator \
             whether the AWS relying party trust exists."
        }
        "MSIS7017" | "MSIS7066" => {
            "AD FS refuses sign-ins to this account for now (a lockout). Wait for it to end, or \
             ask your IT help desk to unlock the account."
        }
        "MSIS7042" | "MSIS7043" => {
            "AD FS saw too many sign-ins in a short time. Wait a few minutes, then try again."
        }
        "MSIS7012" | "MSIS7000" => {
            "AD FS could not handle the request. Try again; if it repeats, ask your AD FS \
             administrator to look for this time in the AD FS event log."
        }
        _ => {
            "Ask your AD FS administrator what this code means for your account, or sign in with \
             the Webview method."
        }
    }
}

impl SignInError {
    pub fn kind(&self) -> FailureKind {
        match self {
            SignInError::BadCredentials { .. }
            | SignInError::AccountLocked { .. }
            | SignInError::UsernameRefused { .. }
            | SignInError::NoPassword { .. }
            | SignInError::NoUsername { .. }
            | SignInError::NtlmRefused { .. }
            | SignInError::Negotiate(
                NegotiateError::BadPassword { .. } | NegotiateError::NoTicket { .. },
            ) => FailureKind::BadCredentials,
            SignInError::PasscodeNeeded { .. }
            | SignInError::PasscodeRejected { .. }
            | SignInError::PasscodeExpired { .. } => FailureKind::Passcode,
            SignInError::Saml(SamlError::NoRoles) => FailureKind::NoRoles,
            SignInError::Tls { .. } => FailureKind::Tls,
            SignInError::Network { .. } | SignInError::Deadline { .. } => FailureKind::Network,
            _ => FailureKind::Other,
        }
    }

    /// The claims providers the IdP offered, when it asked which one and Rolecall could not
    /// choose.
    pub fn claims_providers_offered(&self) -> Option<&[ClaimsProvider]> {
        match self {
            SignInError::ClaimsProviderNeeded { offered, .. }
            | SignInError::ClaimsProviderUnknown { offered, .. } => Some(offered),
            _ => None,
        }
    }

    /// Failures after which the automatic method goes on to the password.
    pub(super) fn integrated_unavailable(&self) -> bool {
        matches!(
            self,
            SignInError::Negotiate(_)
                | SignInError::KerberosRefused { .. }
                | SignInError::IntegratedOff { .. }
        )
    }
}
