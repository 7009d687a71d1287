//! What the simulator knows: its users, their roles, MFA and faults, the account aliases, and
//! the lifetimes of what it hands out. Plain data; the server never changes it after start.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::wia::WiaAcceptor;

/// The relying party AWS registers in AD FS.
pub const AWS_RELYING_PARTY: &str = "urn:amazon:webservices";

/// The password every demo user has.
pub const DEMO_PASSWORD: &str = "Password1!";

/// How the simulated AD FS behaves and whom it knows.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub users: Vec<User>,
    /// Account id → alias, shown by the `/saml` role chooser.
    pub aliases: BTreeMap<String, String>,
    /// Which of AWS's role chooser layouts `/saml` serves: today's by default.
    pub role_chooser: RoleChooser,
    /// Relying parties `loginToRp` may name; any other gets the MSIS7007 page.
    pub relying_parties: Vec<String>,
    /// Lifetime of the `MSISAuth` SSO session.
    pub sso_lifetime: Duration,
    /// Lifetime of the session of a sign-in that ticked "Keep me signed in" (`Kmsi=true`);
    /// its cookies are persistent.
    pub kmsi_lifetime: Duration,
    /// AD FS 2019+'s paginated sign-in: the login form asks for the username, then, on the
    /// next page, for the password.
    pub paginated: bool,
    /// Home realm discovery: with any, a sign-in without a session first chooses one of these
    /// claims providers (every one signs in against `users` here).
    pub claims_providers: Vec<ClaimsProviderTrust>,
    /// `NotOnOrAfter` = issue instant + this.
    pub assertion_lifetime: Duration,
    /// How long an MFA page's `Context` stays usable.
    pub mfa_context_lifetime: Duration,
    /// `Response/@Destination` and the auto-post form's action; `None` means this simulator's
    /// own `<base>saml`.
    pub destination: Option<String>,
    /// The SAML provider name in the role pairs (`saml-provider/<name>`).
    pub provider_name: String,
    /// The partition the role pairs' ARNs name (`aws`, `aws-us-gov`, `aws-cn`, `aws-eusc`);
    /// set it with [`Self::destination`] to stand in for another partition's sign-in.
    pub partition: String,
    /// The login page's `errorText` after a refused password, as HTML: AD FS operators set it
    /// (`Set-AdfsGlobalWebContent`), markup and character references included. `None`: AD FS's
    /// own sentence ([`crate::WRONG_PASSWORD_TEXT`]).
    pub wrong_password_html: Option<String>,
    /// Decides the `Negotiate` tokens sent to `/adfs/ls/wia` (and the NTLM ones too when
    /// [`Self::ntlm`] is off), e.g. [`crate::negotiate::KerberosWia`]; `None` answers them with
    /// the 401 challenge, as AD FS does when it cannot authenticate the caller.
    pub wia: Option<Arc<dyn WiaAcceptor>>,
    /// Whether `/adfs/ls/wia` checks NTLM itself ([`crate::ntlm::NtlmAcceptor`], against
    /// `users`' passwords): `NTLM` legs, and raw NTLMSSP sent as `Negotiate`. On in the demo.
    pub ntlm: bool,
    /// How the simulated STS at `<base>sts` behaves.
    pub sts: StsConfig,
    /// An AD FS that tries to send a client's secrets elsewhere, or holds it up.
    pub hostile: Option<Hostile>,
}

/// The layouts AWS has served for its `/saml` role chooser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoleChooser {
    /// Since 2023, a Next.js page: its data (the accounts, keyed `"<alias> (<id>)"` or `"<id>"`,
    /// with their role ARNs) travels base64-encoded JSON in `<meta name="data">`, and scripts
    /// draw the chooser from it. The stand-in draws the same chooser as a plain form, so that
    /// it also works without scripts, headed by the account names without `Account:`.
    #[default]
    NextJs,
    /// The page before: server-side HTML, each account headed `Account: <alias> (<id>)`.
    Legacy,
}

/// A claims provider the home realm discovery page offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsProviderTrust {
    /// What its button posts as `HomeRealmSelection`: `AD AUTHORITY` for the farm's own
    /// directory, else the provider's identifier.
    pub id: String,
    /// What its button shows.
    pub name: String,
}

impl ClaimsProviderTrust {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }

    /// The farm's own Active Directory and a partner's AD FS, as a farm with one federation
    /// partner lists them.
    pub fn directory_and_partner() -> Vec<Self> {
        vec![
            Self::new("AD AUTHORITY", "Corp directory"),
            Self::new(
                "http://sts.partner.example/adfs/services/trust",
                "Partner & Co",
            ),
        ]
    }
}

/// What a compromised or misconfigured AD FS does, so clients can be tested against it. The
/// URLs are on another host (a second loopback address in the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostile {
    /// The login form's `action` is this absolute URL.
    LoginFormPostsTo(String),
    /// A POST of the login form is answered with this redirect (307 or 308), which asks the
    /// client to post it again at `location`.
    LoginPostRedirects { status: u16, location: String },
    /// The login form says `method="get"`.
    GetLoginForm,
    /// The login form has no `method`, which HTML reads as GET.
    MethodlessLoginForm,
    /// Integrated-capable agents are sent to this URL for integrated sign-in.
    WiaAt(String),
    /// This step is never answered: the request is held for an hour.
    Tarpit(TarpitStep),
}

/// Which request a [`Hostile::Tarpit`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarpitStep {
    /// The first `GET` of the sign-on page.
    SignOnPage,
    /// The POST of the login form.
    LoginPost,
}

/// How the simulated STS answers, and the error paths it can be made to take.
#[derive(Debug, Clone)]
pub struct StsConfig {
    /// Added to every STS call (without serialising concurrent ones), for benchmarks.
    pub latency: Duration,
    /// A role's MaxSessionDuration in seconds, by role ARN or bare role name (ARN wins).
    pub max_session_duration: BTreeMap<String, u32>,
    /// MaxSessionDuration of every other role (IAM's default: 3600).
    pub default_max_session_duration: u32,
    /// The first N `AssumeRoleWithSAML` calls answer `Throttling`.
    pub throttle_first: u32,
    /// Every Nth `AssumeRoleWithSAML` call answers `Throttling` (0: never).
    pub throttle_every: u32,
    /// Roles (ARN or bare name) whose trust policy refuses the provider: `AccessDenied`.
    pub denied_roles: BTreeSet<String>,
    /// STS is not activated in the region: every `AssumeRoleWithSAML` answers
    /// `RegionDisabledException`.
    pub disabled: bool,
    /// Roles (ARN or bare name) whose trust policy asks `AssumeRole` callers for this
    /// `ExternalId`; a call without it, or with another, is `AccessDenied`.
    pub external_ids: BTreeMap<String, String>,
    /// Caps every issued session, whatever `DurationSeconds` asked for (real STS never does):
    /// the demo's sessions end within minutes, so renewals and expiry warnings can be watched.
    pub session_cap: Option<Duration>,
}

/// A directory user AD FS can sign in.
#[derive(Debug, Clone)]
pub struct User {
    /// Matched case-insensitively, also as `DOMAIN\name` or `name@domain`.
    pub username: String,
    pub password: String,
    /// The `RoleSessionName` attribute value.
    pub session_name: String,
    pub roles: Vec<Role>,
    /// The `SessionDuration` attribute, when set.
    pub session_duration: Option<u32>,
    /// The `SourceIdentity` attribute, when set: STS keeps it on the session and on every role
    /// chained from it.
    pub source_identity: Option<String>,
    pub mfa: Option<Mfa>,
    pub fault: Option<Fault>,
}

/// One IAM role the user may assume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub account_id: String,
    pub role_name: String,
}

/// A second factor asked for after the password.
#[derive(Debug, Clone)]
pub struct Mfa {
    /// The AD FS adapter name, e.g. `SecurIDv2Authentication` or `AzureMfaServerAuthentication`.
    pub adapter: String,
    pub passcode: String,
}

/// A way the sign-in goes wrong, so clients can be tested against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// After the password, AD FS answers a page that is neither login, MFA nor auto-post.
    GarbageAfterLogin,
    /// `SAMLResponse` is the first half of a valid value.
    TruncatedResponse,
    /// `SAMLResponse` has characters outside the base64 alphabet.
    BrokenBase64,
    /// `SAMLResponse` is valid but longer than 1,000,000 characters.
    HugeResponse,
    /// The response XML carries a DTD with nested entities (billion-laughs shape, small).
    DtdInResponse,
    /// The assertion is an `EncryptedAssertion`, whose roles nobody but STS can read.
    EncryptedAssertion,
    /// After the password, a Duo-like page no client can complete without a browser.
    UnknownAdapter,
    /// The password is right but has expired: AD FS sends the sign-in to
    /// `/adfs/portal/updatepassword/`, and the password changed there signs in.
    PasswordExpired,
    /// The account is locked out, and the login page says so with its MSIS7017 code
    /// ([`crate::LOCKED_OUT_TEXT`]), whatever password is given.
    LockedOut,
    /// Extranet lockout: every password, the right one too, is answered exactly like a wrong
    /// one ([`crate::WRONG_PASSWORD_TEXT`]).
    ExtranetLockout,
}

impl Role {
    pub fn new(account_id: impl Into<String>, role_name: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            role_name: role_name.into(),
        }
    }
}

impl User {
    /// A user with the demo password, `<name>@corp.example` as session name and no extras.
    pub fn new(username: &str, roles: Vec<Role>) -> Self {
        Self {
            username: username.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            session_name: format!("{username}@corp.example"),
            roles,
            session_duration: None,
            source_identity: None,
            mfa: None,
            fault: None,
        }
    }

    /// True when `typed` names this user: any case, bare or as `DOMAIN\name` / `name@domain`.
    pub fn answers_to(&self, typed: &str) -> bool {
        bare_name(typed).eq_ignore_ascii_case(bare_name(&self.username))
    }
}

fn bare_name(name: &str) -> &str {
    let name = name.trim();
    let name = name.rsplit_once('\\').map_or(name, |(_, bare)| bare);
    name.split_once('@').map_or(name, |(bare, _)| bare)
}

impl Default for StsConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            max_session_duration: BTreeMap::new(),
            default_max_session_duration: 3600,
            throttle_first: 0,
            throttle_every: 0,
            denied_roles: BTreeSet::new(),
            disabled: false,
            external_ids: BTreeMap::new(),
            session_cap: None,
        }
    }
}

impl StsConfig {
    /// The MaxSessionDuration of `role_arn`.
    pub fn max_session_duration_for(&self, role_arn: &str) -> u32 {
        self.max_session_duration
            .get(role_arn)
            .or_else(|| self.max_session_duration.get(role_name(role_arn)))
            .copied()
            .unwrap_or(self.default_max_session_duration)
    }

    /// The `ExternalId` the trust policy of `role_arn` asks for, if any.
    pub fn external_id_for(&self, role_arn: &str) -> Option<&str> {
        self.external_ids
            .get(role_arn)
            .or_else(|| self.external_ids.get(role_name(role_arn)))
            .map(String::as_str)
    }

    /// True when `role_arn` is configured to refuse every assertion (and every chained call).
    pub fn denies(&self, role_arn: &str) -> bool {
        self.denied_roles.contains(role_arn) || self.denied_roles.contains(role_name(role_arn))
    }
}

fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::demo()
    }
}

/// Accounts of the demo's named users: (id, alias).
const DEMO_ACCOUNTS: [(&str, Option<&str>); 3] = [
    ("111122223333", Some("corp-prod")),
    ("444455556666", Some("corp-staging")),
    ("777788889999", None),
];

/// Role names of the 590-role user; short like real ones so 590 of them fit under STS's
/// 100,000-character assertion limit, as they do at real companies.
const MANY_ROLE_NAMES: [&str; 10] = [
    "Admin", "ReadOnly", "Dev", "Billing", "Audit", "Network", "DBA", "Support", "Data", "Ops",
];

impl SimConfig {
    /// The demo directory: `alice`, `bob` (MFA), `dave` (Azure MFA), `carol` (no roles),
    /// `many` (590 roles) and one user per [`Fault`] (`expired`, `locked` and
    /// `extranet-locked` among them). All use [`DEMO_PASSWORD`].
    pub fn demo() -> Self {
        let [prod, staging, audit] = DEMO_ACCOUNTS.map(|(id, _)| id);
        let mut aliases: BTreeMap<String, String> = DEMO_ACCOUNTS
            .iter()
            .filter_map(|(id, alias)| alias.map(|a| ((*id).to_owned(), a.to_owned())))
            .collect();

        let alice = User {
            session_duration: Some(28_800),
            ..User::new(
                "alice",
                vec![
                    Role::new(prod, "Admin"),
                    Role::new(prod, "ReadOnly"),
                    Role::new(staging, "Developer"),
                    Role::new(staging, "Admin"),
                    Role::new(audit, "SecurityAudit"),
                ],
            )
        };
        let bob = User {
            mfa: Some(Mfa {
                adapter: "SecurIDv2Authentication".to_owned(),
                passcode: "123456".to_owned(),
            }),
            ..User::new(
                "bob",
                vec![Role::new(prod, "ReadOnly"), Role::new(staging, "Developer")],
            )
        };
        let dave = User {
            mfa: Some(Mfa {
                adapter: "AzureMfaServerAuthentication".to_owned(),
                passcode: "654321".to_owned(),
            }),
            ..User::new("dave", vec![Role::new(staging, "Developer")])
        };
        let carol = User::new("carol", Vec::new());

        let mut many_roles = Vec::with_capacity(590);
        for account in 0..60u64 {
            let id = format!("{:012}", 210_000_000_000 + account * 1_010_101);
            // Most accounts have an alias; every seventh shows as a bare id, as in real orgs.
            if account % 7 != 3 {
                aliases.insert(id.clone(), format!("team-{account:02}"));
            }
            let count = if account < 50 { 10 } else { 9 };
            for name in MANY_ROLE_NAMES.iter().take(count) {
                many_roles.push(Role::new(id.clone(), *name));
            }
        }
        let many = User::new("many", many_roles);

        let faulty = [
            ("garbage", Fault::GarbageAfterLogin),
            ("truncated", Fault::TruncatedResponse),
            ("broken-base64", Fault::BrokenBase64),
            ("huge", Fault::HugeResponse),
            ("dtd", Fault::DtdInResponse),
            ("encrypted", Fault::EncryptedAssertion),
            ("duo", Fault::UnknownAdapter),
            ("expired", Fault::PasswordExpired),
            ("locked", Fault::LockedOut),
            ("extranet-locked", Fault::ExtranetLockout),
        ]
        .map(|(name, fault)| User {
            fault: Some(fault),
            ..User::new(name, vec![Role::new(prod, "ReadOnly")])
        });

        let mut users = vec![alice, bob, dave, carol, many];
        users.extend(faulty);
        Self {
            users,
            aliases,
            role_chooser: RoleChooser::NextJs,
            relying_parties: vec![AWS_RELYING_PARTY.to_owned()],
            sso_lifetime: Duration::from_secs(8 * 60 * 60),
            // AD FS's default persistent sign-in lasts a day.
            kmsi_lifetime: Duration::from_secs(24 * 60 * 60),
            paginated: false,
            claims_providers: Vec::new(),
            assertion_lifetime: Duration::from_secs(5 * 60),
            mfa_context_lifetime: Duration::from_secs(5 * 60),
            destination: None,
            provider_name: "ADFS".to_owned(),
            partition: "aws".to_owned(),
            wrong_password_html: None,
            wia: None,
            ntlm: true,
            sts: StsConfig {
                // alice's Admin role in corp-prod allows 12-hour sessions; every other role 1 hour.
                max_session_duration: BTreeMap::from([(
                    format!("arn:aws:iam::{prod}:role/Admin"),
                    43_200,
                )]),
                ..StsConfig::default()
            },
            hostile: None,
        }
    }

    /// The user `typed` names, if any.
    pub fn user(&self, typed: &str) -> Option<&User> {
        self.users.iter().find(|u| u.answers_to(typed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_match_in_any_case_and_domain_form() {
        let config = SimConfig::demo();
        for typed in [
            "alice",
            "ALICE",
            "CORP\\Alice",
            "alice@corp.example",
            " alice ",
        ] {
            assert_eq!(
                config.user(typed).map(|u| u.username.as_str()),
                Some("alice"),
                "{typed}"
            );
        }
        assert!(config.user("mallory").is_none());
    }

    #[test]
    fn demo_many_user_has_590_roles_over_60_accounts() {
        let config = SimConfig::demo();
        let many = config.user("many").unwrap();
        assert_eq!(many.roles.len(), 590);
        let accounts: BTreeSet<_> = many.roles.iter().map(|r| r.account_id.as_str()).collect();
        assert_eq!(accounts.len(), 60);
        assert!(
            accounts
                .iter()
                .all(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(
            accounts.iter().any(|a| !config.aliases.contains_key(*a)),
            "some lack an alias"
        );
    }
}
