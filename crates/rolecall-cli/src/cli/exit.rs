//! Exit codes scripts can rely on; `rolecall roles --help` names them.

use rolecall_core::idp::{FailureKind, SignInError};

pub(crate) const EXIT_CODES: &str = "Exit codes: 0 signed in, 1 other failure, 2 unusable input, 3 username or \
password refused (or none), 4 one-time passcode needed or refused, 5 needs an interactive \
sign-in (use the tray), 6 no AWS roles, 7 untrusted certificate (see --ca-file), 8 network.";

/// Anything not listed below.
pub const OTHER: u8 = 1;
/// The environment or the input is unusable; the message says how to fix it.
pub const USAGE: u8 = 2;
/// The identity provider refused the username or password, or there is none.
pub const BAD_CREDENTIALS: u8 = 3;
/// A one-time passcode is needed, or was refused.
pub const PASSCODE: u8 = 4;
/// Only a person in the IdP's own pages can go on: sign in from the tray.
pub const NEEDS_PERSON: u8 = 5;
/// The sign-in worked but grants no AWS role.
pub const NO_ROLES: u8 = 6;
/// The IdP's certificate is not trusted.
pub const TLS: u8 = 7;
/// The IdP could not be reached.
pub const NETWORK: u8 = 8;

/// The exit code of a failed sign-in.
pub(crate) fn exit_code_of(err: &SignInError) -> u8 {
    match err.kind() {
        FailureKind::BadCredentials => BAD_CREDENTIALS,
        FailureKind::Passcode => PASSCODE,
        FailureKind::NoRoles => NO_ROLES,
        FailureKind::Tls => TLS,
        FailureKind::Network => NETWORK,
        FailureKind::Other => OTHER,
    }
}
