//! A loopback stand-in for Microsoft AD FS (IdP-initiated sign-on, forms and MFA pages, AD FS
//! 2019+'s paginated sign-in, home realm discovery and expired-password pages, WIA,
//! `MSISAuth` SSO sessions, sign-out) and for AWS's `/saml` role chooser, STS and console
//! federation (`/federation`, `/console`), for Rolecall's tests and demo. It follows how real
//! AD FS and AWS behave on the wire (see DESIGN.md §3), not what any client expects, and it
//! only ever listens on loopback.

mod assertion;
mod clock;
mod config;
mod cookies;
mod escape;
mod federation;
pub mod negotiate;
pub mod ntlm;
mod pages;
mod portal;
mod random;
mod recorder;
mod saml_read;
mod server;
mod signin;
mod sts;
mod wia;

pub use config::{
    AWS_RELYING_PARTY, ClaimsProviderTrust, DEMO_PASSWORD, Fault, Hostile, Mfa, Role, RoleChooser,
    SimConfig, StsConfig, TarpitStep, User,
};
pub use cookies::MSISAUTH_CHUNK;
pub use federation::{CONSOLE_PATH, FEDERATION_PATH, OAUTH_PATH};
pub use pages::{
    CONTEXT_EXPIRED_TEXT, LOCKED_OUT_TEXT, NEW_PASSWORD_REFUSED_TEXT, UPDATE_PASSWORD_PATH,
    UPDATE_REFUSED_TEXT, WRONG_PASSCODE_TEXT, WRONG_PASSWORD_TEXT,
};
pub use recorder::{Recorded, Recorder, RecorderAnswer};
pub use server::{HANDED_OUT_KEPT, HandedOut, SIGN_ON_PATH, Sim, Stats};
pub use sts::{AssumeRoleCall, IssuedCredentials, STS_PATH};
pub use wia::{WIA_SCHEMES, WIA_USER_AGENTS, WiaAcceptor, WiaStep, is_wia_user_agent};
