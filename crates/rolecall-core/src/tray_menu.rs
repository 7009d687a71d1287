//! What the tray shows, built from the engine's [`Status`] and a `now` the caller gives: the
//! menu as a tree of entries, the icon's state, the tooltip, and the words of the
//! notifications. The shell draws the tree as it is and sends each entry's [`MenuId`] back.
//!
//! A menu id names what it acts on (an endpoint, a role ARN, a profile), never a position in
//! a snapshot, and a toggle carries the state it is turned to. So a click on a menu that was
//! rebuilt in the meantime still does what the person saw, and the shell keeps no snapshot.

use time::OffsetDateTime;

use crate::engine::{
    Action, CopyRequest, EndpointStatus, Held, Notice, Overall, Phase, ProfileStatus, Status,
};
use crate::refresh::WarningKind;
use crate::saml::RolePair;

/// One entry of the menu, in the order shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line; without an id it is a note that cannot be chosen.
    Item {
        id: Option<MenuId>,
        label: String,
        enabled: bool,
    },
    Check {
        id: MenuId,
        label: String,
        enabled: bool,
        checked: bool,
    },
    Submenu {
        label: String,
        entries: Vec<Entry>,
    },
    Separator,
}

impl Entry {
    fn note(label: impl Into<String>) -> Self {
        Self::Item {
            id: None,
            label: label.into(),
            enabled: false,
        }
    }

    fn choice(id: MenuId, label: impl Into<String>, enabled: bool) -> Self {
        Self::Item {
            id: Some(id),
            label: label.into(),
            enabled,
        }
    }

    /// The label as the menu shows it.
    pub fn label(&self) -> &str {
        match self {
            Self::Item { label, .. } | Self::Check { label, .. } | Self::Submenu { label, .. } => {
                label
            }
            Self::Separator => "",
        }
    }
}

/// The whole tray: icon state, tooltip and menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayMenu {
    pub overall: Overall,
    pub tooltip: String,
    pub entries: Vec<Entry>,
}

/// What the tray knows that the engine does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Surroundings<'a> {
    /// What the demo tells the person, when this is the demo.
    pub demo: Option<&'a crate::demo::Guide>,
    /// Whether Rolecall starts at login, as the platform says; `None` where the menu may not
    /// change it (the demo leaves the real login items alone).
    pub start_at_login: Option<bool>,
}

/// The tray for `status` at `now`.
pub fn model(status: &Status, surroundings: Surroundings<'_>, now: OffsetDateTime) -> TrayMenu {
    let status_line = status_line(status, now);
    let mut entries = vec![Entry::note(status_line.clone())];
    if let Some(guide) = surroundings.demo {
        entries.extend(guide.tray_lines().into_iter().map(Entry::note));
    }
    // A file Rolecall cannot read, named with what to do (a menu line cannot wrap, so the
    // line is the whole sentence).
    entries.extend(
        status
            .problems
            .iter()
            .map(|p| Entry::note(format!("⚠ {p}"))),
    );
    entries.push(Entry::Separator);
    if status.endpoints.is_empty() {
        entries.push(Entry::note(
            "No sign-in endpoints yet: add one in Settings…",
        ));
    }
    for endpoint in &status.endpoints {
        entries.push(Entry::Submenu {
            label: endpoint.name.clone(),
            entries: endpoint_entries(status, endpoint, now),
        });
    }
    let renewable =
        (status.profiles.iter()).any(|p| p.active || p.keep_refreshed || p.containers.is_some());
    entries.extend([
        Entry::Separator,
        Entry::choice(MenuId::RenewNow, "Renew now", renewable),
        Entry::choice(MenuId::Settings, "Settings…", true),
        Entry::choice(MenuId::CopyDiagnostics, "Copy diagnostics", true),
        Entry::choice(MenuId::OpenLogFolder, "Open log folder", true),
        Entry::Check {
            id: MenuId::StartAtLogin {
                on: surroundings.start_at_login != Some(true),
            },
            label: if surroundings.demo.is_some() {
                "Start at login (not in the demo)".to_owned()
            } else {
                "Start at login".to_owned()
            },
            enabled: surroundings.start_at_login.is_some(),
            checked: surroundings.start_at_login == Some(true),
        },
        Entry::Separator,
        Entry::choice(MenuId::Quit, "Quit Rolecall", true),
    ]);
    TrayMenu {
        overall: status.overall,
        tooltip: format!("Rolecall — {status_line}"),
        entries,
    }
}

fn endpoint_entries(status: &Status, endpoint: &EndpointStatus, now: OffsetDateTime) -> Vec<Entry> {
    let mut entries = Vec::new();
    let name = &endpoint.name;
    match &endpoint.phase {
        Phase::SignedOut => {}
        Phase::Working => entries.push(Entry::note("Signing in…")),
        Phase::SignedIn { session_name } => {
            entries.push(Entry::note(format!("Signed in as {session_name}")));
        }
        Phase::NeedsPerson { reason, .. } => {
            entries.push(Entry::note(format!("Needs you: {reason}")))
        }
        Phase::Failed { message } => {
            entries.push(Entry::note(format!("Failed: {}", short(message))))
        }
    }
    if !matches!(endpoint.phase, Phase::SignedIn { .. }) {
        let id = MenuId::SignIn {
            endpoint: name.clone(),
        };
        entries.push(Entry::choice(
            id,
            "Sign in",
            endpoint.phase != Phase::Working,
        ));
        return entries;
    }
    // Favourites first, in the order they were marked, each under its account's name.
    let mut any_favourite = false;
    for favourite in &status.favourites {
        for account in &endpoint.accounts {
            if let Some(role) = account.roles.iter().find(|r| &r.role_arn == favourite) {
                let account_name = account.alias.as_deref().unwrap_or(&account.id);
                let prefix = format!("★ {account_name} / ");
                entries.push(role_menu(status, name, role, &prefix, now));
                any_favourite = true;
            }
        }
    }
    if any_favourite {
        entries.push(Entry::Separator);
    }
    for account in &endpoint.accounts {
        let mut roles: Vec<Entry> = (account.roles.iter())
            .map(|role| role_menu(status, name, role, "", now))
            .collect();
        roles.extend(chain_entries(status, name, &account.roles, now));
        entries.push(Entry::Submenu {
            label: account.label(),
            entries: roles,
        });
    }
    entries.extend([
        Entry::Separator,
        Entry::choice(
            MenuId::AllRoles {
                endpoint: name.clone(),
            },
            "All roles → profiles",
            true,
        ),
        Entry::choice(
            MenuId::SignOut {
                endpoint: name.clone(),
            },
            "Sign out",
            true,
        ),
    ]);
    entries
}

/// The profile a role's entry speaks for: the active one if the role has it, else the one
/// that lasts longest.
fn profile_of<'a>(status: &'a Status, endpoint: &str, role_arn: &str) -> Option<&'a ProfileStatus> {
    status
        .profiles
        .iter()
        .filter(|p| p.endpoint == endpoint && p.role_arn == role_arn && p.chain.is_empty())
        .max_by_key(|p| (p.active, p.expiration))
}

/// One role's submenu: its name, checked with the time left when it is the active profile's.
///
/// "Use as" stays first, so using a role is still three clicks from the tray; below it the
/// console, then what hands the credentials to other programs, then the role's toggles.
fn role_menu(
    status: &Status,
    endpoint: &str,
    role: &RolePair,
    prefix: &str,
    now: OffsetDateTime,
) -> Entry {
    let profile = profile_of(status, endpoint, &role.role_arn);
    let mut label = format!("{prefix}{}", role.role_name());
    if profile.is_some_and(|p| p.active) {
        label = format!("✓ {label}");
    }
    if let Some(expiration) = profile.and_then(|p| p.expiration) {
        label.push_str(&format!(" ({})", time_left(expiration, now)));
    }
    let role_id =
        |make: fn(String, String) -> MenuId| make(endpoint.to_owned(), role.role_arn.clone());
    // The active and the served profiles are renewed whatever their own flag says, so they
    // show as kept.
    let kept = profile.is_some_and(|p| p.keep_refreshed || p.active || p.containers.is_some());
    let favourite = status.favourites.contains(&role.role_arn);
    // Empty for a role without a profile: the engine writes one before it hands anything out.
    let profile_name = profile.map(|p| p.name.clone()).unwrap_or_default();
    let served = profile.is_some_and(|p| p.containers.is_some());
    let mut entries = vec![
        Entry::choice(
            role_id(|endpoint, role_arn| MenuId::Use { endpoint, role_arn }),
            format!("Use as \"{}\"", status.active_profile),
            true,
        ),
        Entry::choice(
            role_id(|endpoint, role_arn| MenuId::Console { endpoint, role_arn }),
            "Open console",
            true,
        ),
        Entry::choice(
            role_id(|endpoint, role_arn| MenuId::CopySigninLink { endpoint, role_arn }),
            "Copy sign-in link",
            true,
        ),
        Entry::Separator,
        Entry::choice(
            MenuId::CopyEnvironment {
                endpoint: endpoint.to_owned(),
                role_arn: role.role_arn.clone(),
                profile: profile_name.clone(),
            },
            "Copy environment",
            true,
        ),
        Entry::Check {
            id: MenuId::Serve {
                endpoint: endpoint.to_owned(),
                role_arn: role.role_arn.clone(),
                profile: profile_name.clone(),
                on: !served,
            },
            label: "Serve to containers and IDEs".to_owned(),
            enabled: true,
            checked: served,
        },
    ];
    if served {
        entries.push(Entry::choice(
            MenuId::CopyContainerVariables {
                profile: profile_name,
            },
            "Copy container variables",
            true,
        ));
    }
    entries.extend([
        Entry::Separator,
        Entry::Check {
            id: MenuId::KeepRefreshed {
                profile: profile.map(|p| p.name.clone()).unwrap_or_default(),
                on: !profile.is_some_and(|p| p.keep_refreshed),
            },
            label: "Keep refreshed".to_owned(),
            enabled: profile.is_some(),
            checked: kept,
        },
        Entry::Check {
            id: MenuId::Favourite {
                role_arn: role.role_arn.clone(),
                on: !favourite,
            },
            label: "Favourite".to_owned(),
            enabled: true,
            checked: favourite,
        },
    ]);
    if let Some(error) = profile.and_then(|p| p.last_error.as_ref()) {
        entries.push(Entry::note(format!("Last renewal: {}", short(error))));
    }
    Entry::Submenu { label, entries }
}

// ---- Chained roles ----------------------------------------------------------------------

/// The chains that start from one of `roles` (an account's, at `endpoint`), after a separator.
fn chain_entries(
    status: &Status,
    endpoint: &str,
    roles: &[RolePair],
    now: OffsetDateTime,
) -> Vec<Entry> {
    let chains: Vec<Entry> = status
        .chains
        .iter()
        .filter(|chain| {
            chain
                .endpoint
                .as_deref()
                .is_none_or(|only| only == endpoint)
        })
        .filter(|chain| roles.iter().any(|role| role.role_arn == chain.source_role))
        .map(|chain| chain_menu(status, endpoint, chain, now))
        .collect();
    if chains.is_empty() {
        return chains;
    }
    std::iter::once(Entry::Separator).chain(chains).collect()
}

/// One chain's submenu, like a role's: "⛓ name → last role", checked with the time left when
/// the active profile holds it.
fn chain_menu(
    status: &Status,
    endpoint: &str,
    chain: &crate::engine::ChainStatus,
    now: OffsetDateTime,
) -> Entry {
    let profile = status
        .profiles
        .iter()
        .filter(|p| {
            p.endpoint == endpoint && p.role_arn == chain.source_role && p.chain == chain.roles
        })
        .max_by_key(|p| (p.active, p.expiration));
    let last = chain
        .roles
        .last()
        .map_or("", |role| role.rsplit(['/', ':']).next().unwrap_or(role));
    let mut label = format!("⛓ {} → {last}", chain.name);
    if profile.is_some_and(|p| p.active) {
        label = format!("✓ {label}");
    }
    if let Some(expiration) = profile.and_then(|p| p.expiration) {
        label.push_str(&format!(" ({})", time_left(expiration, now)));
    }
    let mut entries = vec![
        Entry::choice(
            MenuId::UseChain {
                endpoint: endpoint.to_owned(),
                chain: chain.name.clone(),
            },
            format!("Use as \"{}\"", status.active_profile),
            true,
        ),
        Entry::Check {
            id: MenuId::KeepRefreshed {
                profile: profile.map(|p| p.name.clone()).unwrap_or_default(),
                on: !profile.is_some_and(|p| p.keep_refreshed),
            },
            label: "Keep refreshed".to_owned(),
            enabled: profile.is_some(),
            checked: profile.is_some_and(|p| p.keep_refreshed || p.active),
        },
    ];
    if let Some(error) = profile.and_then(|p| p.last_error.as_ref()) {
        entries.push(Entry::note(format!("Last renewal: {}", short(error))));
    }
    Entry::Submenu { label, entries }
}

/// A message cut to what fits on a menu line.
fn short(message: &str) -> String {
    message.chars().take(90).collect()
}

/// "52 min left", "1 h 05 min left", "expired".
pub fn time_left(expiration: OffsetDateTime, now: OffsetDateTime) -> String {
    let minutes = (expiration - now).whole_minutes();
    match minutes {
        _ if expiration <= now => "expired".to_owned(),
        0..60 => format!("{minutes} min left"),
        _ => format!("{} h {:02} min left", minutes / 60, minutes % 60),
    }
}

/// The menu's first line: the active profile, its role and its time left.
pub fn status_line(status: &Status, now: OffsetDateTime) -> String {
    if status.overall == Overall::Working {
        return "working…".to_owned();
    }
    match status.profiles.iter().find(|profile| profile.active) {
        Some(ProfileStatus {
            name,
            role_arn,
            expiration: Some(expiration),
            chain,
            ..
        }) => {
            // A chained profile holds its last role's credentials.
            let role_arn = chain.last().unwrap_or(role_arn);
            let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
            format!("{name}: {role} — {}", time_left(*expiration, now))
        }
        _ => "Signed out".to_owned(),
    }
}

/// A notification: its words and whether it offers Renew for an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub summary: String,
    pub body: String,
    /// The endpoint a "Renew" button signs in to.
    pub renew: Option<String>,
}

/// The notification for `notice` at `now`; `None` for a notice that is not shown
/// ([`Notice::TrySilently`] is a hidden window's business).
pub fn toast(notice: &Notice, now: OffsetDateTime) -> Option<Toast> {
    match notice {
        Notice::Expiry(warning) => {
            let minutes = (warning.expiration - now).whole_minutes().max(0);
            let (profile, endpoint) = (&warning.profile, &warning.endpoint);
            let (summary, body) = match warning.kind {
                WarningKind::ExpiresSoon => (
                    format!("{profile} expires in {minutes} minutes"),
                    format!(
                        "Rolecall cannot renew it without you (endpoint \"{endpoint}\"). Renew \
                         now to keep working."
                    ),
                ),
                WarningKind::Expired => (
                    format!("{profile} has expired"),
                    format!("Sign in to endpoint \"{endpoint}\" to renew it."),
                ),
            };
            Some(Toast {
                summary,
                body,
                renew: Some(endpoint.clone()),
            })
        }
        Notice::RenewalFailed { endpoint, message } => Some(Toast {
            summary: format!("Could not renew the profiles of \"{endpoint}\""),
            body: message.clone(),
            renew: None,
        }),
        Notice::TrySilently { .. } => None,
    }
}

/// The notification after a Copy entry put `held` on the clipboard: what it holds, how long
/// it lasts, and that whoever has it can use the credentials.
pub fn copied(held: &Held, now: OffsetDateTime) -> Toast {
    let (summary, body) = match held {
        Held::SigninLink { role_arn } => {
            let minutes = crate::console::SIGNIN_TOKEN_LIFETIME.as_secs() / 60;
            let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
            (
                "Sign-in link copied".to_owned(),
                format!(
                    "Anyone who opens it in the next {minutes} minutes is signed in to the AWS \
                     console as {role}. Paste it only where you mean to."
                ),
            )
        }
        Held::Environment {
            profile,
            expiration,
        } => {
            let left =
                expiration.map_or_else(String::new, |at| format!(" ({})", time_left(at, now)));
            (
                format!("Environment of \"{profile}\" copied"),
                format!(
                    "Paste it into a shell (sh, bash, zsh). Its keys are not renewed there{left}; \
                     anyone who has them can use them."
                ),
            )
        }
        Held::Diagnostics { failed } => (
            "Diagnostics copied".to_owned(),
            format!(
                "{}Paste them into your help desk ticket: passwords, tokens, cookies and \
                 assertions are left out.",
                if *failed {
                    "A check failed: the report says which and what to do. "
                } else {
                    ""
                }
            ),
        ),
        Held::ContainerVariables { profile } => (
            format!("Container variables of \"{profile}\" copied"),
            "Programs started with them get the profile's credentials from Rolecall, renewed, \
             until you turn off \"Serve to containers and IDEs\". Anyone who has the token can \
             read the credentials."
                .to_owned(),
        ),
    };
    Toast {
        summary,
        body,
        renew: None,
    }
}

/// What a menu entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuId {
    SignIn {
        endpoint: String,
    },
    SignOut {
        endpoint: String,
    },
    AllRoles {
        endpoint: String,
    },
    Use {
        endpoint: String,
        role_arn: String,
    },
    UseChain {
        endpoint: String,
        chain: String,
    },
    Console {
        endpoint: String,
        role_arn: String,
    },
    /// "Copy sign-in link": the console's sign-in URL on the clipboard ([`MenuId::copy`]).
    CopySigninLink {
        endpoint: String,
        role_arn: String,
    },
    /// "Copy environment": `profile` is the one the role's entry showed, empty for none.
    CopyEnvironment {
        endpoint: String,
        role_arn: String,
        profile: String,
    },
    /// "Serve to containers and IDEs", turned to `on`; `profile` as for `CopyEnvironment`.
    Serve {
        endpoint: String,
        role_arn: String,
        profile: String,
        on: bool,
    },
    CopyContainerVariables {
        profile: String,
    },
    KeepRefreshed {
        profile: String,
        on: bool,
    },
    Favourite {
        role_arn: String,
        on: bool,
    },
    RenewNow,
    /// "Copy diagnostics": the shell puts [`crate::doctor::run`]'s [`crate::doctor::Report::text`]
    /// on the clipboard (redacted, for a help desk ticket).
    CopyDiagnostics,
    /// "Open log folder": the shell shows [`crate::logs::folder`] ([`crate::logs::open_folder`]).
    OpenLogFolder,
    Settings,
    StartAtLogin {
        on: bool,
    },
    Quit,
}

impl MenuId {
    /// The id on the wire: a name, then its fields, each with `%` and `:` escaped, joined by
    /// `:` (`use:corp:arn%3Aaws%3Aiam%3A%3A111122223333%3Arole/Admin`).
    pub fn to_id(&self) -> String {
        let on = |on: &bool| if *on { "on" } else { "off" };
        let (name, fields): (&str, Vec<&str>) = match self {
            Self::SignIn { endpoint } => ("sign-in", vec![endpoint]),
            Self::SignOut { endpoint } => ("sign-out", vec![endpoint]),
            Self::AllRoles { endpoint } => ("all-roles", vec![endpoint]),
            Self::Use { endpoint, role_arn } => ("use", vec![endpoint, role_arn]),
            Self::UseChain { endpoint, chain } => ("use-chain", vec![endpoint, chain]),
            Self::Console { endpoint, role_arn } => ("console", vec![endpoint, role_arn]),
            Self::CopySigninLink { endpoint, role_arn } => {
                ("copy-signin-link", vec![endpoint, role_arn])
            }
            Self::CopyEnvironment {
                endpoint,
                role_arn,
                profile,
            } => ("copy-env", vec![endpoint, role_arn, profile]),
            Self::Serve {
                endpoint,
                role_arn,
                profile,
                on: to,
            } => ("serve", vec![on(to), endpoint, role_arn, profile]),
            Self::CopyContainerVariables { profile } => ("copy-container", vec![profile]),
            Self::KeepRefreshed { profile, on: to } => ("keep", vec![on(to), profile]),
            Self::Favourite { role_arn, on: to } => ("favourite", vec![on(to), role_arn]),
            Self::RenewNow => ("renew-now", vec![]),
            Self::CopyDiagnostics => ("copy-diagnostics", vec![]),
            Self::OpenLogFolder => ("open-log-folder", vec![]),
            Self::Settings => ("settings", vec![]),
            Self::StartAtLogin { on: to } => ("start-at-login", vec![on(to)]),
            Self::Quit => ("quit", vec![]),
        };
        let mut id = name.to_owned();
        for field in fields {
            id.push(':');
            id.push_str(&field.replace('%', "%25").replace(':', "%3A"));
        }
        id
    }

    /// Reads an id [`MenuId::to_id`] wrote; `None` for anything else.
    pub fn parse(id: &str) -> Option<Self> {
        let mut parts = id.split(':');
        let name = parts.next()?;
        let fields: Vec<String> = parts.map(unescape).collect::<Option<_>>()?;
        let on = |text: &str| match text {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        Some(match (name, &fields[..]) {
            ("sign-in", [endpoint]) => Self::SignIn {
                endpoint: (*endpoint).to_owned(),
            },
            ("sign-out", [endpoint]) => Self::SignOut {
                endpoint: (*endpoint).to_owned(),
            },
            ("all-roles", [endpoint]) => Self::AllRoles {
                endpoint: (*endpoint).to_owned(),
            },
            ("use", [endpoint, role_arn]) => Self::Use {
                endpoint: (*endpoint).to_owned(),
                role_arn: (*role_arn).to_owned(),
            },
            ("use-chain", [endpoint, chain]) => Self::UseChain {
                endpoint: (*endpoint).to_owned(),
                chain: (*chain).to_owned(),
            },
            ("console", [endpoint, role_arn]) => Self::Console {
                endpoint: (*endpoint).to_owned(),
                role_arn: (*role_arn).to_owned(),
            },
            ("copy-signin-link", [endpoint, role_arn]) => Self::CopySigninLink {
                endpoint: (*endpoint).to_owned(),
                role_arn: (*role_arn).to_owned(),
            },
            ("copy-env", [endpoint, role_arn, profile]) => Self::CopyEnvironment {
                endpoint: (*endpoint).to_owned(),
                role_arn: (*role_arn).to_owned(),
                profile: (*profile).to_owned(),
            },
            ("serve", [to, endpoint, role_arn, profile]) => Self::Serve {
                endpoint: (*endpoint).to_owned(),
                role_arn: (*role_arn).to_owned(),
                profile: (*profile).to_owned(),
                on: on(to)?,
            },
            ("copy-container", [profile]) => Self::CopyContainerVariables {
                profile: (*profile).to_owned(),
            },
            ("keep", [to, profile]) => Self::KeepRefreshed {
                profile: (*profile).to_owned(),
                on: on(to)?,
            },
            ("favourite", [to, role_arn]) => Self::Favourite {
                role_arn: (*role_arn).to_owned(),
                on: on(to)?,
            },
            ("renew-now", []) => Self::RenewNow,
            ("copy-diagnostics", []) => Self::CopyDiagnostics,
            ("open-log-folder", []) => Self::OpenLogFolder,
            ("settings", []) => Self::Settings,
            ("start-at-login", [to]) => Self::StartAtLogin { on: on(to)? },
            ("quit", []) => Self::Quit,
            _ => return None,
        })
    }

    /// The engine action the entry stands for; `None` for the Copy entries ([`MenuId::copy`])
    /// and what the shell does itself (windows, the console, start at login, quitting).
    pub fn action(&self) -> Option<Action> {
        Some(match self.clone() {
            Self::SignIn { endpoint } => Action::SignIn { endpoint },
            Self::SignOut { endpoint } => Action::SignOut { endpoint },
            Self::AllRoles { endpoint } => Action::AllRoles { endpoint },
            Self::Use { endpoint, role_arn } => Action::Use { endpoint, role_arn },
            Self::UseChain { endpoint, chain } => Action::UseChain { endpoint, chain },
            Self::KeepRefreshed { profile, on } => Action::KeepRefreshed { profile, on },
            Self::Serve {
                endpoint,
                role_arn,
                profile,
                on,
            } => Action::Serve {
                endpoint,
                role_arn,
                profile: named(profile),
                on,
            },
            Self::Favourite { role_arn, on } => Action::Favourite { role_arn, on },
            Self::RenewNow => Action::RenewNow,
            Self::Console { .. }
            | Self::CopySigninLink { .. }
            | Self::CopyEnvironment { .. }
            | Self::CopyContainerVariables { .. }
            | Self::CopyDiagnostics
            | Self::OpenLogFolder
            | Self::Settings
            | Self::StartAtLogin { .. }
            | Self::Quit => {
                return None;
            }
        })
    }
}

impl MenuId {
    /// What a Copy entry asks to have on the clipboard ([`crate::engine::Engine::copy`]); the
    /// shell puts the text there and shows [`copied`].
    pub fn copy(&self) -> Option<CopyRequest> {
        Some(match self.clone() {
            Self::CopySigninLink { endpoint, role_arn } => {
                CopyRequest::SigninLink { endpoint, role_arn }
            }
            Self::CopyEnvironment {
                endpoint,
                role_arn,
                profile,
            } => CopyRequest::Environment {
                endpoint,
                role_arn,
                profile: named(profile),
            },
            Self::CopyContainerVariables { profile } => CopyRequest::ContainerVariables { profile },
            Self::CopyDiagnostics => CopyRequest::Diagnostics,
            _ => return None,
        })
    }
}

/// A profile named in an id; empty for none.
fn named(profile: String) -> Option<String> {
    (!profile.is_empty()).then_some(profile)
}

/// Undoes the escaping of [`MenuId::to_id`]; `None` for any other `%`.
fn unescape(field: &str) -> Option<String> {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3)?;
        out.push(match code {
            "25" => '%',
            "3A" => ':',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::accounts::Account;
    use crate::refresh::Warning;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);
    const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
    const READ_ONLY: &str = "arn:aws:iam::111122223333:role/ReadOnly";

    fn role(arn: &str) -> RolePair {
        RolePair {
            role_arn: arn.to_owned(),
            principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
        }
    }

    fn profile(name: &str, role_arn: &str, minutes: i64, active: bool) -> ProfileStatus {
        ProfileStatus {
            name: name.to_owned(),
            endpoint: "corp".to_owned(),
            role_arn: role_arn.to_owned(),
            expiration: Some(NOW + time::Duration::minutes(minutes)),
            active,
            keep_refreshed: false,
            last_error: None,
            chain: Vec::new(),
            containers: None,
        }
    }

    fn signed_in() -> Status {
        Status {
            endpoints: vec![EndpointStatus {
                name: "corp".to_owned(),
                phase: Phase::SignedIn {
                    session_name: "alice@corp.example".to_owned(),
                },
                accounts: vec![Account {
                    id: "111122223333".to_owned(),
                    alias: Some("prod".to_owned()),
                    alias_source: crate::accounts::NameSource::Page,
                    roles: vec![role(ADMIN), role(READ_ONLY)],
                }],
                claims_providers: Vec::new(),
            }],
            profiles: Vec::new(),
            active_profile: "default".to_owned(),
            favourites: Vec::new(),
            chains: Vec::new(),
            overall: Overall::Valid,
            problems: Vec::new(),
            files_revision: 0,
        }
    }

    const PLAIN: Surroundings<'static> = Surroundings {
        demo: None,
        start_at_login: Some(false),
    };

    fn labels(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(Entry::label).collect()
    }

    fn submenu<'a>(entries: &'a [Entry], label: &str) -> &'a [Entry] {
        entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Submenu { label: l, entries } if l == label => Some(&entries[..]),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no submenu {label:?} in {:?}", labels(entries)))
    }

    fn check<'a>(entries: &'a [Entry], label: &str) -> (&'a MenuId, bool, bool) {
        entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Check {
                    id,
                    label: l,
                    enabled,
                    checked,
                } if l == label => Some((id, *enabled, *checked)),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn a_signed_out_endpoint_offers_sign_in_and_the_menu_ends_with_quit() {
        let mut status = signed_in();
        status.endpoints[0].phase = Phase::SignedOut;
        status.overall = Overall::SignedOut;
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(menu.entries[0].label(), "Signed out");
        assert_eq!(menu.tooltip, "Rolecall — Signed out");
        let corp = submenu(&menu.entries, "corp");
        assert_eq!(
            corp,
            [Entry::choice(
                MenuId::SignIn {
                    endpoint: "corp".to_owned()
                },
                "Sign in",
                true
            )]
        );
        let tail: Vec<&str> = labels(&menu.entries).into_iter().rev().take(3).collect();
        assert_eq!(tail, ["Quit Rolecall", "", "Start at login"]);
    }

    #[test]
    fn the_active_role_is_checked_with_its_time_left_and_names_its_profile() {
        let mut status = signed_in();
        status.profiles = vec![
            profile("default", ADMIN, 65, true),
            profile("admin-old", ADMIN, 20, false),
        ];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(menu.entries[0].label(), "default: Admin — 1 h 05 min left");
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        assert_eq!(labels(roles), ["✓ Admin (1 h 05 min left)", "ReadOnly"]);
        let admin = submenu(roles, "✓ Admin (1 h 05 min left)");
        let (id, enabled, checked) = check(admin, "Keep refreshed");
        assert!(enabled && checked, "the active profile is kept refreshed");
        assert_eq!(
            id,
            &MenuId::KeepRefreshed {
                profile: "default".to_owned(),
                on: true
            },
            "the role's entry speaks for the active profile, not the older one"
        );
        // A role with no profile has nothing to keep refreshed.
        let (_, enabled, checked) = check(submenu(roles, "ReadOnly"), "Keep refreshed");
        assert!(!enabled && !checked);
    }

    #[test]
    fn favourites_come_first_under_their_account_in_the_order_marked() {
        let mut status = signed_in();
        status.favourites = vec![READ_ONLY.to_owned(), ADMIN.to_owned()];
        let menu = model(&status, PLAIN, NOW);
        let corp = submenu(&menu.entries, "corp");
        assert_eq!(
            labels(corp),
            [
                "Signed in as alice@corp.example",
                "★ prod / ReadOnly",
                "★ prod / Admin",
                "",
                "prod (111122223333)",
                "",
                "All roles → profiles",
                "Sign out"
            ]
        );
        let (id, _, checked) = check(submenu(corp, "★ prod / Admin"), "Favourite");
        assert!(checked);
        assert_eq!(
            id.action(),
            Some(Action::Favourite {
                role_arn: ADMIN.to_owned(),
                on: false
            }),
            "choosing a checked favourite unmarks it"
        );
    }

    #[test]
    fn time_left_reads_the_given_now() {
        let at = |minutes: i64| NOW + time::Duration::minutes(minutes);
        assert_eq!(time_left(at(52), NOW), "52 min left");
        assert_eq!(time_left(at(60), NOW), "1 h 00 min left");
        assert_eq!(time_left(at(0), NOW), "expired");
        assert_eq!(
            time_left(NOW + time::Duration::seconds(30), NOW),
            "0 min left"
        );
        assert_eq!(time_left(at(-5), NOW), "expired");
        assert_eq!(time_left(at(52), at(60)), "expired");
    }

    #[test]
    fn phases_notes_problems_and_the_demo_are_shown() {
        let mut status = signed_in();
        status.endpoints[0].phase = Phase::Failed {
            message: "x".repeat(200),
        };
        status.problems = vec!["profiles.json cannot be read: move it away.".to_owned()];
        let guide = crate::demo::Guide {
            folder: "/tmp/demo".into(),
            window_user: "bob".to_owned(),
            window_password: "pw".to_owned(),
            window_passcode: "123456".to_owned(),
        };
        let surroundings = Surroundings {
            demo: Some(&guide),
            start_at_login: None,
        };
        let menu = model(&status, surroundings, NOW);
        assert_eq!(
            labels(&menu.entries)[..4],
            [
                "Signed out",
                "Demo — files in /tmp/demo",
                "demo-window: type bob, pw, passcode 123456",
                "⚠ profiles.json cannot be read: move it away."
            ]
        );
        let corp = submenu(&menu.entries, "corp");
        assert_eq!(corp[0].label(), format!("Failed: {}", "x".repeat(90)));
        let (_, enabled, checked) = check(&menu.entries, "Start at login (not in the demo)");
        assert!(!enabled && !checked, "the demo leaves start at login alone");

        status.endpoints[0].phase = Phase::Working;
        let menu = model(&status, PLAIN, NOW);
        let corp = submenu(&menu.entries, "corp");
        assert_eq!(labels(corp), ["Signing in…", "Sign in"]);
        assert!(matches!(corp[1], Entry::Item { enabled: false, .. }));
    }

    #[test]
    fn an_expiry_warning_offers_renew_for_its_endpoint() {
        let warning = Warning {
            profile: "default".to_owned(),
            endpoint: "corp".to_owned(),
            expiration: NOW + time::Duration::minutes(8),
            kind: WarningKind::ExpiresSoon,
        };
        let toast = toast(&Notice::Expiry(warning), NOW).unwrap();
        assert_eq!(toast.summary, "default expires in 8 minutes");
        assert_eq!(toast.renew.as_deref(), Some("corp"));
        let silent = Notice::TrySilently {
            endpoint: "corp".to_owned(),
            url: "https://sts.corp.example/".to_owned(),
        };
        assert_eq!(super::toast(&silent, NOW), None);
    }

    #[test]
    fn ids_name_what_they_act_on() {
        let id = MenuId::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        };
        assert_eq!(
            id.to_id(),
            "use:corp:arn%3Aaws%3Aiam%3A%3A111122223333%3Arole/Admin"
        );
        for bad in [
            "",
            "nope",
            "use:corp",
            "quit:1",
            "keep:maybe:default",
            "sign-in:a%3",
            "sign-in:a%41",
            "use/0/1/2",
        ] {
            assert_eq!(MenuId::parse(bad), None, "{bad}");
        }
    }

    /// A menu drawn before the status changed (here an account listed ahead of the one shown)
    /// still acts on the role the person saw: ids carry names, not positions.
    #[test]
    fn a_choice_from_an_older_menu_still_names_its_role() {
        let before = model(&signed_in(), PLAIN, NOW);
        let roles = submenu(submenu(&before.entries, "corp"), "prod (111122223333)");
        let Entry::Item { id: Some(id), .. } = &submenu(roles, "ReadOnly")[0] else {
            panic!("Use is the role's first entry");
        };
        let mut after = signed_in();
        after.endpoints[0].accounts.insert(
            0,
            Account {
                id: "444455556666".to_owned(),
                alias: None,
                alias_source: crate::accounts::NameSource::None,
                roles: vec![role("arn:aws:iam::444455556666:role/Other")],
            },
        );
        assert_ne!(model(&after, PLAIN, NOW), before);
        assert_eq!(
            MenuId::parse(&id.to_id()).and_then(|id| id.action()),
            Some(Action::Use {
                endpoint: "corp".to_owned(),
                role_arn: READ_ONLY.to_owned()
            })
        );
    }

    fn any_id() -> impl Strategy<Value = MenuId> {
        let text = || any::<String>();
        prop_oneof![
            text().prop_map(|endpoint| MenuId::SignIn { endpoint }),
            text().prop_map(|endpoint| MenuId::SignOut { endpoint }),
            text().prop_map(|endpoint| MenuId::AllRoles { endpoint }),
            (text(), text()).prop_map(|(endpoint, role_arn)| MenuId::Use { endpoint, role_arn }),
            (text(), text()).prop_map(|(endpoint, chain)| MenuId::UseChain { endpoint, chain }),
            (text(), text())
                .prop_map(|(endpoint, role_arn)| MenuId::Console { endpoint, role_arn }),
            (text(), text())
                .prop_map(|(endpoint, role_arn)| MenuId::CopySigninLink { endpoint, role_arn }),
            (text(), text(), text()).prop_map(|(endpoint, role_arn, profile)| {
                MenuId::CopyEnvironment {
                    endpoint,
                    role_arn,
                    profile,
                }
            }),
            (text(), text(), text(), any::<bool>()).prop_map(
                |(endpoint, role_arn, profile, on)| MenuId::Serve {
                    endpoint,
                    role_arn,
                    profile,
                    on,
                }
            ),
            text().prop_map(|profile| MenuId::CopyContainerVariables { profile }),
            (text(), any::<bool>()).prop_map(|(profile, on)| MenuId::KeepRefreshed { profile, on }),
            (text(), any::<bool>()).prop_map(|(role_arn, on)| MenuId::Favourite { role_arn, on }),
            Just(MenuId::RenewNow),
            Just(MenuId::CopyDiagnostics),
            Just(MenuId::OpenLogFolder),
            Just(MenuId::Settings),
            any::<bool>().prop_map(|on| MenuId::StartAtLogin { on }),
            Just(MenuId::Quit),
        ]
    }

    proptest! {
        #[test]
        fn every_id_reads_back_as_itself(id in any_id()) {
            prop_assert_eq!(MenuId::parse(&id.to_id()), Some(id));
        }
    }

    /// Every entry of a full menu reads back as the id it was built with.
    #[test]
    fn every_entry_of_a_menu_round_trips() {
        let mut status = signed_in();
        status.profiles = vec![served(profile("default", ADMIN, 30, true))];
        status.favourites = vec![ADMIN.to_owned()];
        fn walk(entries: &[Entry], seen: &mut usize) {
            for entry in entries {
                match entry {
                    Entry::Item { id: Some(id), .. } | Entry::Check { id, .. } => {
                        *seen += 1;
                        assert_eq!(MenuId::parse(&id.to_id()).as_ref(), Some(id));
                    }
                    Entry::Submenu { entries, .. } => walk(entries, seen),
                    Entry::Item { .. } | Entry::Separator => {}
                }
            }
        }
        let mut seen = 0;
        walk(&model(&status, PLAIN, NOW).entries, &mut seen);
        // The endpoint's 2, the served Admin's 8 (as a favourite and in its account), the
        // other role's 7, and the 6 at the end.
        assert_eq!(seen, 2 + 8 * 2 + 7 + 6, "every choice has an id");
    }

    fn served(mut profile: ProfileStatus) -> ProfileStatus {
        profile.containers = Some(crate::engine::ContainerService {
            url: "http://127.0.0.1:4242/rolecall/credentials".to_owned(),
            token: crate::secrets::Sensitive::new("t0ken".to_owned()),
        });
        profile
    }

    #[test]
    fn use_stays_first_and_the_handing_out_entries_follow_the_console() {
        let mut status = signed_in();
        status.profiles = vec![profile("default", ADMIN, 30, true)];
        let menu = model(&status, PLAIN, NOW);
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        let admin = submenu(roles, "✓ Admin (30 min left)");
        assert_eq!(
            labels(admin),
            [
                "Use as \"default\"",
                "Open console",
                "Copy sign-in link",
                "",
                "Copy environment",
                "Serve to containers and IDEs",
                "",
                "Keep refreshed",
                "Favourite"
            ],
            "nothing to copy for containers until the profile is served"
        );
        assert_eq!(
            admin[2],
            Entry::choice(
                MenuId::CopySigninLink {
                    endpoint: "corp".to_owned(),
                    role_arn: ADMIN.to_owned()
                },
                "Copy sign-in link",
                true
            )
        );
        let Entry::Item { id: Some(copy), .. } = &admin[4] else {
            panic!("Copy environment is a choice: {:?}", admin[4]);
        };
        assert_eq!(
            copy.copy(),
            Some(CopyRequest::Environment {
                endpoint: "corp".to_owned(),
                role_arn: ADMIN.to_owned(),
                profile: Some("default".to_owned())
            }),
            "the role's entry copies the profile it speaks for"
        );
        assert_eq!(copy.action(), None, "a copy is not an action");
        let (serve, enabled, checked) = check(admin, "Serve to containers and IDEs");
        assert!(enabled && !checked);
        assert_eq!(
            serve.action(),
            Some(Action::Serve {
                endpoint: "corp".to_owned(),
                role_arn: ADMIN.to_owned(),
                profile: Some("default".to_owned()),
                on: true
            })
        );
    }

    #[test]
    fn a_served_profile_offers_its_variables_and_turning_serve_off() {
        let mut status = signed_in();
        status.profiles = vec![served(profile("admin", ADMIN, 30, false))];
        let menu = model(&status, PLAIN, NOW);
        assert!(
            matches!(menu.entries.iter().rev().nth(6), Some(Entry::Item { label, enabled: true, .. }) if label == "Renew now"),
            "a served profile can be renewed now"
        );
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        let admin = submenu(roles, "Admin (30 min left)");
        let (serve, _, checked) = check(admin, "Serve to containers and IDEs");
        assert!(checked);
        assert_eq!(
            serve,
            &MenuId::Serve {
                endpoint: "corp".to_owned(),
                role_arn: ADMIN.to_owned(),
                profile: "admin".to_owned(),
                on: false
            },
            "choosing it again stops serving"
        );
        let position = labels(admin)
            .iter()
            .position(|label| *label == "Copy container variables")
            .unwrap();
        assert_eq!(
            labels(admin)[position - 1],
            "Serve to containers and IDEs",
            "right under the check that turned it on"
        );
        let Entry::Item { id: Some(id), .. } = &admin[position] else {
            panic!("a choice");
        };
        assert_eq!(
            id.copy(),
            Some(CopyRequest::ContainerVariables {
                profile: "admin".to_owned()
            })
        );
        let (_, _, kept) = check(admin, "Keep refreshed");
        assert!(kept, "a served profile is renewed ahead");
        assert!(
            !format!("{status:?}").contains("t0ken"),
            "the token never shows in Debug"
        );
    }

    #[test]
    fn a_role_without_a_profile_still_offers_to_hand_it_out() {
        let menu = model(&signed_in(), PLAIN, NOW);
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        let read_only = submenu(roles, "ReadOnly");
        let Entry::Item {
            id: Some(copy),
            enabled: true,
            ..
        } = &read_only[4]
        else {
            panic!("Copy environment can be chosen: {:?}", read_only[4]);
        };
        assert_eq!(
            copy.copy(),
            Some(CopyRequest::Environment {
                endpoint: "corp".to_owned(),
                role_arn: READ_ONLY.to_owned(),
                profile: None
            }),
            "no profile: the engine writes one first"
        );
        let (serve, enabled, _) = check(read_only, "Serve to containers and IDEs");
        assert!(enabled);
        assert!(matches!(
            serve.action(),
            Some(Action::Serve {
                profile: None,
                on: true,
                ..
            })
        ));
    }

    #[test]
    fn the_copy_notifications_say_who_can_use_what_was_copied() {
        let link = copied(
            &Held::SigninLink {
                role_arn: ADMIN.to_owned(),
            },
            NOW,
        );
        assert_eq!(link.summary, "Sign-in link copied");
        assert!(
            link.body.contains("Anyone")
                && link.body.contains("15 minutes")
                && link.body.contains("Admin"),
            "{}",
            link.body
        );
        let environment = copied(
            &Held::Environment {
                profile: "default".to_owned(),
                expiration: Some(NOW + time::Duration::minutes(52)),
            },
            NOW,
        );
        assert_eq!(environment.summary, "Environment of \"default\" copied");
        assert!(
            environment.body.contains("52 min left") && environment.body.contains("anyone"),
            "{}",
            environment.body
        );
        let containers = copied(
            &Held::ContainerVariables {
                profile: "default".to_owned(),
            },
            NOW,
        );
        assert!(containers.body.contains("Anyone who has the token"));
        assert_eq!(containers.renew, None);
    }

    // ---- Chained roles ----------------------------------------------------------------------

    const SPOKE: &str = "arn:aws:iam::444455556666:role/SpokeAdmin";

    fn with_chain(endpoint: Option<&str>) -> Status {
        let mut status = signed_in();
        status.chains = vec![crate::engine::ChainStatus {
            name: "spoke".to_owned(),
            endpoint: endpoint.map(str::to_owned),
            source_role: ADMIN.to_owned(),
            roles: vec![SPOKE.to_owned()],
        }];
        status
    }

    #[test]
    fn a_chain_shows_under_its_source_account_and_uses_the_active_profile() {
        let mut status = with_chain(None);
        let mut chained = profile("default", ADMIN, 50, true);
        chained.chain = vec![SPOKE.to_owned()];
        // The plain role's own profile must not be taken for the chain's, nor the reverse.
        status.profiles = vec![chained, profile("admin", ADMIN, 30, false)];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            menu.entries[0].label(),
            "default: SpokeAdmin — 50 min left",
            "the status line names the role whose credentials the profile holds"
        );
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        assert_eq!(
            labels(roles),
            [
                "Admin (30 min left)",
                "ReadOnly",
                "",
                "✓ ⛓ spoke → SpokeAdmin (50 min left)"
            ]
        );
        let chain = submenu(roles, "✓ ⛓ spoke → SpokeAdmin (50 min left)");
        assert_eq!(
            chain[0],
            Entry::choice(
                MenuId::UseChain {
                    endpoint: "corp".to_owned(),
                    chain: "spoke".to_owned()
                },
                "Use as \"default\"",
                true
            )
        );
        assert_eq!(
            MenuId::UseChain {
                endpoint: "corp".to_owned(),
                chain: "spoke".to_owned()
            }
            .action(),
            Some(Action::UseChain {
                endpoint: "corp".to_owned(),
                chain: "spoke".to_owned()
            })
        );
        let (id, enabled, checked) = check(chain, "Keep refreshed");
        assert!(enabled && checked, "the active profile is kept refreshed");
        assert_eq!(
            id,
            &MenuId::KeepRefreshed {
                profile: "default".to_owned(),
                on: true
            }
        );
    }

    #[test]
    fn a_chain_of_another_endpoint_or_account_is_not_shown() {
        let menu = model(&with_chain(Some("lab")), PLAIN, NOW);
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        assert_eq!(labels(roles), ["Admin", "ReadOnly"]);
        let mut elsewhere = with_chain(None);
        elsewhere.chains[0].source_role = "arn:aws:iam::999999999999:role/Hub".to_owned();
        let menu = model(&elsewhere, PLAIN, NOW);
        let roles = submenu(submenu(&menu.entries, "corp"), "prod (111122223333)");
        assert_eq!(labels(roles), ["Admin", "ReadOnly"]);
    }
}
