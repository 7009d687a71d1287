//! What the tray shows, built from the engine's [`Status`] and a `now` the caller gives: the
//! menu as a tree of entries, the icon's state, the tooltip, and the words of the
//! notifications. The shell draws the tree as it is and sends each entry's [`MenuId`] back.
//!
//! A menu id names what it acts on (an endpoint, a role ARN, a profile), never a position in
//! a snapshot, and a toggle carries the state it is turned to. So a click on a menu that was
//! rebuilt in the meantime still does what the person saw, and the shell keeps no snapshot.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::engine::{
    Action, ChainStatus, CopyRequest, EndpointStatus, Held, Notice, Overall, Phase, ProfileStatus,
    Status,
};
use crate::recent::Used;
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
///
/// The menu is laid out for switching roles all day: a click on a role makes it the active
/// profile's. At the top, under the status line, the active role's own entries ("Active
/// role ▸"), then the favourites and the roles used last, each one click away. With one
/// endpoint its accounts follow at the top level (a role is two clicks from the icon), with
/// several each endpoint has a submenu. What else a role offers (the console, the Copy
/// entries, serving, its toggles) is in its account's "More ▸", so no submenu stands between
/// the person and a role.
pub fn model(status: &Status, surroundings: Surroundings<'_>, now: OffsetDateTime) -> TrayMenu {
    let at = StatusAt::new(status, now);
    let status_line = status_line(status, now);
    let mut entries = vec![Entry::note(status_line.clone())];
    entries.extend(active_role(&at));
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
    let quick = quick_roles(&at);
    if !quick.is_empty() {
        entries.extend(quick);
        entries.push(Entry::Separator);
    }
    match &status.endpoints[..] {
        [] => entries.push(Entry::note(
            "No sign-in endpoints yet: add one in Settings…",
        )),
        [only] => entries.extend(endpoint_entries(&at, only, Layout::TopLevel)),
        several => entries.extend(several.iter().map(|endpoint| Entry::Submenu {
            label: endpoint.name.clone(),
            entries: endpoint_entries(&at, endpoint, Layout::Submenu),
        })),
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

/// Where an endpoint's entries go: into the menu itself (the only endpoint), or into its own
/// submenu, where they need not name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    TopLevel,
    Submenu,
}

fn endpoint_entries(at: &StatusAt<'_>, endpoint: &EndpointStatus, layout: Layout) -> Vec<Entry> {
    let mut entries = Vec::new();
    let name = &endpoint.name;
    let phase_note = match &endpoint.phase {
        Phase::SignedOut => None,
        Phase::Working => Some("Signing in…".to_owned()),
        Phase::SignedIn { session_name } => Some(format!("Signed in as {session_name}")),
        Phase::NeedsPerson { reason, .. } => Some(format!("Needs you: {reason}")),
        Phase::Failed { message } => Some(format!("Failed: {}", short(message))),
    };
    let (sign_in, sign_out) = match layout {
        Layout::TopLevel => (format!("Sign in to {name}"), format!("Sign out of {name}")),
        Layout::Submenu => ("Sign in".to_owned(), "Sign out".to_owned()),
    };
    if !matches!(endpoint.phase, Phase::SignedIn { .. }) {
        entries.extend(phase_note.map(Entry::note));
        let id = MenuId::SignIn {
            endpoint: name.clone(),
        };
        entries.push(Entry::choice(id, sign_in, endpoint.phase != Phase::Working));
        return entries;
    }
    let accounts = endpoint
        .accounts
        .iter()
        .map(|account| account_menu(at, name, account));
    let endpoint_lines = phase_note.into_iter().map(Entry::note);
    match layout {
        // The accounts first: they are what the person comes for.
        Layout::TopLevel => {
            entries.extend(accounts);
            entries.push(Entry::Separator);
            entries.extend(endpoint_lines);
        }
        Layout::Submenu => {
            entries.extend(endpoint_lines);
            entries.extend(accounts);
            entries.push(Entry::Separator);
        }
    }
    entries.extend([
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
            sign_out,
            true,
        ),
    ]);
    entries
}

/// An account's submenu: a check per role, a click using it, and its chains; then "More ▸"
/// with what else each offers.
fn account_menu(at: &StatusAt<'_>, endpoint: &str, account: &crate::accounts::Account) -> Entry {
    let mut entries: Vec<Entry> = (account.roles.iter())
        .map(|role| use_role(at, endpoint, &role.role_arn, role.role_name()))
        .collect();
    let chains = chains_from(at.status, endpoint, &account.roles);
    if !chains.is_empty() {
        entries.push(Entry::Separator);
        entries.extend(
            chains
                .iter()
                .map(|chain| use_chain(at, endpoint, chain, "")),
        );
    }
    let mut more: Vec<Entry> = (account.roles.iter())
        .map(|role| Entry::Submenu {
            label: role_label(
                role.role_name(),
                at.profile(endpoint, &role.role_arn),
                at.now,
            ),
            entries: role_actions(at, endpoint, &role.role_arn),
        })
        .collect();
    if !chains.is_empty() {
        more.push(Entry::Separator);
        more.extend(chains.iter().map(|chain| Entry::Submenu {
            label: role_label(
                &chain_name(chain),
                chain_profile(at.status, endpoint, chain),
                at.now,
            ),
            entries: chain_actions(chain_profile(at.status, endpoint, chain)),
        }));
    }
    entries.extend([
        Entry::Separator,
        Entry::Submenu {
            label: "More".to_owned(),
            entries: more,
        },
    ]);
    Entry::Submenu {
        label: account.label(),
        entries,
    }
}

/// `name`, with its profile's time left when it has one.
fn role_label(name: &str, profile: Option<&ProfileStatus>, now: OffsetDateTime) -> String {
    match profile.and_then(|p| p.expiration) {
        Some(expiration) => format!("{name} ({})", time_left(expiration, now)),
        None => name.to_owned(),
    }
}

/// A role as one click to use, checked while the active profile holds it.
fn use_role(at: &StatusAt<'_>, endpoint: &str, role_arn: &str, label: &str) -> Entry {
    let profile = at.profile(endpoint, role_arn);
    Entry::Check {
        id: MenuId::Use {
            endpoint: endpoint.to_owned(),
            role_arn: role_arn.to_owned(),
        },
        label: role_label(label, profile, at.now),
        enabled: true,
        checked: profile.is_some_and(|p| p.active),
    }
}

/// A chain as one click to use, like a role: "⛓ name → last role".
fn use_chain(at: &StatusAt<'_>, endpoint: &str, chain: &ChainStatus, prefix: &str) -> Entry {
    let profile = chain_profile(at.status, endpoint, chain);
    Entry::Check {
        id: MenuId::UseChain {
            endpoint: endpoint.to_owned(),
            chain: chain.name.clone(),
        },
        label: role_label(&format!("{prefix}{}", chain_name(chain)), profile, at.now),
        enabled: true,
        checked: profile.is_some_and(|p| p.active),
    }
}

/// The status at `now`, with the profile each role's entries speak for found once: a menu
/// has entries for every role, and as many profiles.
struct StatusAt<'a> {
    status: &'a Status,
    now: OffsetDateTime,
    /// By endpoint and role ARN: the active profile if the role has it, else the one that
    /// lasts longest (chained profiles are their chain's).
    profiles: HashMap<(&'a str, &'a str), &'a ProfileStatus>,
}

impl<'a> StatusAt<'a> {
    fn new(status: &'a Status, now: OffsetDateTime) -> Self {
        let mut profiles: HashMap<(&str, &str), &ProfileStatus> = HashMap::new();
        for profile in status.profiles.iter().filter(|p| p.chain.is_empty()) {
            let key = (profile.endpoint.as_str(), profile.role_arn.as_str());
            let rank = |p: &ProfileStatus| (p.active, p.expiration);
            if profiles
                .get(&key)
                .is_none_or(|kept| rank(kept) < rank(profile))
            {
                profiles.insert(key, profile);
            }
        }
        Self {
            status,
            now,
            profiles,
        }
    }

    fn profile(&self, endpoint: &str, role_arn: &str) -> Option<&'a ProfileStatus> {
        self.profiles.get(&(endpoint, role_arn)).copied()
    }
}

/// What a role offers besides being used: the console, then what hands the credentials to
/// other programs, then its toggles.
fn role_actions(at: &StatusAt<'_>, endpoint: &str, role_arn: &str) -> Vec<Entry> {
    let profile = at.profile(endpoint, role_arn);
    let role_id =
        |make: fn(String, String) -> MenuId| make(endpoint.to_owned(), role_arn.to_owned());
    // The active and the served profiles are renewed whatever their own flag says, so they
    // show as kept.
    let kept = profile.is_some_and(|p| p.keep_refreshed || p.active || p.containers.is_some());
    let favourite = at.status.favourites.iter().any(|f| f == role_arn);
    // Empty for a role without a profile: the engine writes one before it hands anything out.
    let profile_name = profile.map(|p| p.name.clone()).unwrap_or_default();
    let served = profile.is_some_and(|p| p.containers.is_some());
    let mut entries = vec![
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
                role_arn: role_arn.to_owned(),
                profile: profile_name.clone(),
            },
            "Copy environment",
            true,
        ),
        Entry::Check {
            id: MenuId::Serve {
                endpoint: endpoint.to_owned(),
                role_arn: role_arn.to_owned(),
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
                profile: profile_name.clone(),
            },
            "Copy container variables",
            true,
        ));
    }
    entries.extend([
        Entry::Separator,
        Entry::Check {
            id: MenuId::KeepRefreshed {
                profile: profile_name,
                on: !profile.is_some_and(|p| p.keep_refreshed),
            },
            label: "Keep refreshed".to_owned(),
            enabled: profile.is_some(),
            checked: kept,
        },
        Entry::Check {
            id: MenuId::Favourite {
                role_arn: role_arn.to_owned(),
                on: !favourite,
            },
            label: "Favourite".to_owned(),
            enabled: true,
            checked: favourite,
        },
    ]);
    entries.extend(last_renewal(profile));
    entries
}

fn last_renewal(profile: Option<&ProfileStatus>) -> Option<Entry> {
    let error = profile.and_then(|p| p.last_error.as_ref())?;
    Some(Entry::note(format!("Last renewal: {}", short(error))))
}

// ---- The top: the active role, favourites, the roles used last --------------------------

/// "Active role: corp-prod / Admin ▸" with what the active profile's role offers, when the
/// active profile holds one.
fn active_role(at: &StatusAt<'_>) -> Option<Entry> {
    let status = at.status;
    let profile = status.profiles.iter().find(|p| p.active)?;
    if profile.chain.is_empty() {
        return Some(Entry::Submenu {
            label: format!(
                "Active role: {}",
                role_in_account(status, &profile.endpoint, &profile.role_arn)
            ),
            entries: role_actions(at, &profile.endpoint, &profile.role_arn),
        });
    }
    let name = status
        .chains
        .iter()
        .find(|chain| chain.source_role == profile.role_arn && chain.roles == profile.chain)
        .map_or_else(|| format!("⛓ {}", last_role(&profile.chain)), chain_name);
    Some(Entry::Submenu {
        label: format!("Active role: {name}"),
        entries: chain_actions(Some(profile)),
    })
}

/// "corp-prod / Admin": the account's alias where the endpoint's sign-in named it, else its id.
fn role_in_account(status: &Status, endpoint: &str, role_arn: &str) -> String {
    let role = role_arn.rsplit(['/', ':']).next().unwrap_or(role_arn);
    let account_id = role_arn.split(':').nth(4).unwrap_or_default();
    let alias = status
        .endpoints
        .iter()
        .filter(|e| e.name == endpoint)
        .flat_map(|e| &e.accounts)
        .find(|account| account.id == account_id)
        .and_then(|account| account.alias.as_deref());
    format!("{} / {role}", alias.unwrap_or(account_id))
}

/// The favourites (★, in the order marked) and then the roles and chains used last (newest
/// first), of the endpoints signed in, each a click to use; a favourite used lately shows
/// once. With several endpoints each line starts with its endpoint's name.
fn quick_roles(at: &StatusAt<'_>) -> Vec<Entry> {
    let status = at.status;
    let signed_in: Vec<&EndpointStatus> = (status.endpoints.iter())
        .filter(|e| matches!(e.phase, Phase::SignedIn { .. }))
        .collect();
    let prefix = |endpoint: &str| {
        if status.endpoints.len() > 1 {
            format!("{endpoint} / ")
        } else {
            String::new()
        }
    };
    let granted = |endpoint: &EndpointStatus, role_arn: &str| {
        (endpoint.accounts.iter()).any(|a| a.roles.iter().any(|r| r.role_arn == role_arn))
    };
    let mut entries = Vec::new();
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for favourite in &status.favourites {
        for endpoint in signed_in.iter().filter(|e| granted(e, favourite)) {
            let label = format!(
                "★ {}{}",
                prefix(&endpoint.name),
                role_in_account(status, &endpoint.name, favourite)
            );
            entries.push(use_role(at, &endpoint.name, favourite, &label));
            shown.push((&endpoint.name, favourite));
        }
    }
    for used in &status.recent {
        match used {
            Used::Role { endpoint, role_arn } => {
                let Some(signed) = signed_in.iter().find(|e| e.name == *endpoint) else {
                    continue;
                };
                if !granted(signed, role_arn) || shown.contains(&(endpoint, role_arn)) {
                    continue;
                }
                let label = format!(
                    "{}{}",
                    prefix(endpoint),
                    role_in_account(status, endpoint, role_arn)
                );
                entries.push(use_role(at, endpoint, role_arn, &label));
                shown.push((endpoint, role_arn));
            }
            Used::Chain { endpoint, chain } => {
                let Some(signed) = signed_in.iter().find(|e| e.name == *endpoint) else {
                    continue;
                };
                let Some(chain) = (status.chains.iter())
                    .find(|c| c.name == *chain && offered_at(c, endpoint))
                    .filter(|c| granted(signed, &c.source_role))
                else {
                    continue;
                };
                entries.push(use_chain(at, endpoint, chain, &prefix(endpoint)));
            }
        }
    }
    entries
}

// ---- Chained roles ----------------------------------------------------------------------

/// Whether the chain is offered at `endpoint` (all endpoints when it names none).
fn offered_at(chain: &ChainStatus, endpoint: &str) -> bool {
    chain
        .endpoint
        .as_deref()
        .is_none_or(|only| only == endpoint)
}

/// The chains that start from one of `roles` (an account's, at `endpoint`).
fn chains_from<'a>(status: &'a Status, endpoint: &str, roles: &[RolePair]) -> Vec<&'a ChainStatus> {
    status
        .chains
        .iter()
        .filter(|chain| offered_at(chain, endpoint))
        .filter(|chain| roles.iter().any(|role| role.role_arn == chain.source_role))
        .collect()
}

/// "⛓ name → last role".
fn chain_name(chain: &ChainStatus) -> String {
    format!("⛓ {} → {}", chain.name, last_role(&chain.roles))
}

fn last_role(roles: &[String]) -> &str {
    roles
        .last()
        .map_or("", |role| role.rsplit(['/', ':']).next().unwrap_or(role))
}

/// The profile that holds the chain at `endpoint`: the active one if it does, else the one
/// that lasts longest.
fn chain_profile<'a>(
    status: &'a Status,
    endpoint: &str,
    chain: &ChainStatus,
) -> Option<&'a ProfileStatus> {
    status
        .profiles
        .iter()
        .filter(|p| {
            p.endpoint == endpoint && p.role_arn == chain.source_role && p.chain == chain.roles
        })
        .max_by_key(|p| (p.active, p.expiration))
}

/// What a chain offers besides being used: keeping its profile refreshed.
fn chain_actions(profile: Option<&ProfileStatus>) -> Vec<Entry> {
    let mut entries = vec![Entry::Check {
        id: MenuId::KeepRefreshed {
            profile: profile.map(|p| p.name.clone()).unwrap_or_default(),
            on: !profile.is_some_and(|p| p.keep_refreshed),
        },
        label: "Keep refreshed".to_owned(),
        enabled: profile.is_some(),
        checked: profile.is_some_and(|p| p.keep_refreshed || p.active),
    }];
    entries.extend(last_renewal(profile));
    entries
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
            recent: Vec::new(),
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

    const PROD: &str = "prod (111122223333)";

    /// A role's entries under its account's "More".
    fn more<'a>(entries: &'a [Entry], account: &str, role: &str) -> &'a [Entry] {
        submenu(submenu(submenu(entries, account), "More"), role)
    }

    #[test]
    fn a_signed_out_endpoint_offers_sign_in_and_the_menu_ends_with_quit() {
        let mut status = signed_in();
        status.endpoints[0].phase = Phase::SignedOut;
        status.overall = Overall::SignedOut;
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(menu.entries[0].label(), "Signed out");
        assert_eq!(menu.tooltip, "Rolecall — Signed out");
        assert_eq!(
            menu.entries[2],
            Entry::choice(
                MenuId::SignIn {
                    endpoint: "corp".to_owned()
                },
                "Sign in to corp",
                true
            ),
            "the only endpoint's Sign in is at the top: {:?}",
            labels(&menu.entries)
        );
        assert!(!labels(&menu.entries).contains(&PROD), "no accounts yet");
        let tail: Vec<&str> = labels(&menu.entries).into_iter().rev().take(3).collect();
        assert_eq!(tail, ["Quit Rolecall", "", "Start at login"]);
    }

    #[test]
    fn one_endpoint_lists_its_accounts_at_the_top_and_several_have_submenus() {
        let mut status = signed_in();
        status.favourites = vec![ADMIN.to_owned()];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            labels(&menu.entries),
            [
                "Signed out",
                "",
                "★ prod / Admin",
                "",
                PROD,
                "",
                "Signed in as alice@corp.example",
                "All roles → profiles",
                "Sign out of corp",
                "",
                "Renew now",
                "Settings…",
                "Copy diagnostics",
                "Open log folder",
                "Start at login",
                "",
                "Quit Rolecall"
            ]
        );

        status.endpoints.push(EndpointStatus {
            name: "lab".to_owned(),
            phase: Phase::SignedOut,
            accounts: Vec::new(),
            claims_providers: Vec::new(),
        });
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            labels(&menu.entries)[..6],
            ["Signed out", "", "★ corp / prod / Admin", "", "corp", "lab"],
            "the favourite names its endpoint where there are several"
        );
        assert_eq!(
            labels(submenu(&menu.entries, "corp")),
            [
                "Signed in as alice@corp.example",
                PROD,
                "",
                "All roles → profiles",
                "Sign out"
            ]
        );
        assert_eq!(labels(submenu(&menu.entries, "lab")), ["Sign in"]);
        let (id, _, _) = check(submenu(submenu(&menu.entries, "corp"), PROD), "ReadOnly");
        assert_eq!(
            id.action(),
            Some(Action::Use {
                endpoint: "corp".to_owned(),
                role_arn: READ_ONLY.to_owned()
            })
        );
    }

    #[test]
    fn a_click_on_a_role_makes_it_the_active_profiles_and_the_active_one_is_checked() {
        let mut status = signed_in();
        status.profiles = vec![
            profile("default", ADMIN, 65, true),
            profile("admin-old", ADMIN, 20, false),
        ];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(menu.entries[0].label(), "default: Admin — 1 h 05 min left");
        let roles = submenu(&menu.entries, PROD);
        assert_eq!(
            labels(roles),
            ["Admin (1 h 05 min left)", "ReadOnly", "", "More"]
        );
        let (_, _, checked) = check(roles, "Admin (1 h 05 min left)");
        assert!(checked, "the active profile's role");
        let (id, enabled, checked) = check(roles, "ReadOnly");
        assert!(enabled && !checked);
        assert_eq!(
            id.action(),
            Some(Action::Use {
                endpoint: "corp".to_owned(),
                role_arn: READ_ONLY.to_owned()
            }),
            "one click uses the role"
        );
        let (id, enabled, checked) = check(
            more(&menu.entries, PROD, "Admin (1 h 05 min left)"),
            "Keep refreshed",
        );
        assert!(enabled && checked, "the active profile is kept refreshed");
        assert_eq!(
            id,
            &MenuId::KeepRefreshed {
                profile: "default".to_owned(),
                on: true
            },
            "the role's entries speak for the active profile, not the older one"
        );
        // A role with no profile has nothing to keep refreshed.
        let (_, enabled, checked) = check(more(&menu.entries, PROD, "ReadOnly"), "Keep refreshed");
        assert!(!enabled && !checked);
    }

    #[test]
    fn the_active_roles_own_entries_are_at_the_top() {
        let mut status = signed_in();
        status.profiles = vec![served(profile("default", ADMIN, 52, true))];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            labels(&menu.entries)[..2],
            ["default: Admin — 52 min left", "Active role: prod / Admin"]
        );
        let active = submenu(&menu.entries, "Active role: prod / Admin");
        assert_eq!(
            labels(active),
            [
                "Open console",
                "Copy sign-in link",
                "",
                "Copy environment",
                "Serve to containers and IDEs",
                "Copy container variables",
                "",
                "Keep refreshed",
                "Favourite"
            ]
        );
        assert_eq!(
            active,
            more(&menu.entries, PROD, "Admin (52 min left)"),
            "the same entries as under its account"
        );

        // Signed out, the account has no alias to show: its id.
        status.endpoints[0].phase = Phase::SignedOut;
        status.endpoints[0].accounts.clear();
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(menu.entries[1].label(), "Active role: 111122223333 / Admin");
    }

    #[test]
    fn favourites_and_then_the_roles_used_last_are_one_click_at_the_top() {
        let mut status = with_chain(None);
        status.favourites = vec![READ_ONLY.to_owned(), ADMIN.to_owned()];
        status.recent = vec![
            Used::Chain {
                endpoint: "corp".to_owned(),
                chain: "spoke".to_owned(),
            },
            Used::Role {
                endpoint: "corp".to_owned(),
                role_arn: ADMIN.to_owned(),
            },
            Used::Role {
                endpoint: "gone".to_owned(),
                role_arn: ADMIN.to_owned(),
            },
            Used::Role {
                endpoint: "corp".to_owned(),
                role_arn: "arn:aws:iam::999999999999:role/NoLongerGranted".to_owned(),
            },
        ];
        let mut chained = profile("default", ADMIN, 40, true);
        chained.chain = vec![SPOKE.to_owned()];
        status.profiles = vec![chained];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            labels(&menu.entries)[..6],
            [
                "default: SpokeAdmin — 40 min left",
                "Active role: ⛓ spoke → SpokeAdmin",
                "",
                "★ prod / ReadOnly",
                "★ prod / Admin",
                "⛓ spoke → SpokeAdmin (40 min left)",
            ],
            "a favourite used lately shows once; what is no longer offered not at all"
        );
        assert_eq!(menu.entries[6], Entry::Separator);
        let (id, _, checked) = check(&menu.entries, "⛓ spoke → SpokeAdmin (40 min left)");
        assert!(checked, "the active profile holds the chain");
        assert_eq!(
            id.action(),
            Some(Action::UseChain {
                endpoint: "corp".to_owned(),
                chain: "spoke".to_owned()
            })
        );
        let (id, _, checked) = check(&menu.entries, "★ prod / Admin");
        assert!(
            !checked,
            "the chain's source role is not what the profile holds"
        );
        assert_eq!(
            id.action(),
            Some(Action::Use {
                endpoint: "corp".to_owned(),
                role_arn: ADMIN.to_owned()
            })
        );
        let (id, _, checked) = check(more(&menu.entries, PROD, "Admin"), "Favourite");
        assert!(checked);
        assert_eq!(
            id.action(),
            Some(Action::Favourite {
                role_arn: ADMIN.to_owned(),
                on: false
            }),
            "choosing a checked favourite unmarks it"
        );

        status.endpoints[0].phase = Phase::SignedOut;
        let menu = model(&status, PLAIN, NOW);
        assert!(
            !labels(&menu.entries).iter().any(|l| l.starts_with('★')),
            "only the roles of endpoints signed in: {:?}",
            labels(&menu.entries)
        );
    }

    /// The roles of the simulator's `many` user (590 in 60 accounts) as the engine lists them
    /// after a sign-in, one of them in the active profile and five used lately.
    fn many() -> Status {
        let config = rolecall_sim::SimConfig::demo();
        let user = config.user("many").unwrap();
        let roles: Vec<RolePair> = (user.roles.iter())
            .map(|r| RolePair {
                role_arn: format!("arn:aws:iam::{}:role/{}", r.account_id, r.role_name),
                principal_arn: format!("arn:aws:iam::{}:saml-provider/ADFS", r.account_id),
            })
            .collect();
        let mut status = signed_in();
        let names = crate::accounts::AccountNames {
            cache: config.aliases.clone(),
            ..Default::default()
        };
        status.endpoints[0].accounts = crate::accounts::group(&roles, &names);
        status.profiles = vec![profile("default", &roles[7].role_arn, 40, true)];
        status.recent = (roles.iter().step_by(100).take(5))
            .map(|role| Used::Role {
                endpoint: "corp".to_owned(),
                role_arn: role.role_arn.clone(),
            })
            .collect();
        status
    }

    /// Every click that uses a role, with how many submenus are open above it.
    fn uses(entries: &[Entry], depth: usize, found: &mut Vec<(String, usize)>) {
        for entry in entries {
            match entry {
                Entry::Check {
                    id: MenuId::Use { role_arn, .. },
                    ..
                } => found.push((role_arn.clone(), depth)),
                Entry::Submenu { entries, .. } => uses(entries, depth + 1, found),
                _ => {}
            }
        }
    }

    #[test]
    fn each_of_590_roles_is_a_click_in_its_account_at_the_top() {
        let status = many();
        let menu = model(&status, PLAIN, NOW);
        let mut found = Vec::new();
        uses(&menu.entries, 0, &mut found);
        let in_accounts: std::collections::BTreeSet<&str> = (found.iter())
            .filter(|(_, depth)| *depth == 1)
            .map(|(role, _)| role.as_str())
            .collect();
        assert_eq!(in_accounts.len(), 590, "each role in its account's submenu");
        assert_eq!(
            found.iter().filter(|(_, depth)| *depth == 0).count(),
            5,
            "the five used last at the top"
        );
        assert!(
            found.iter().all(|(_, depth)| *depth <= 1),
            "icon → account → role at most"
        );
        let accounts = (menu.entries.iter())
            .filter(|entry| {
                matches!(entry, Entry::Submenu { label, .. } if !label.starts_with("Active role"))
            })
            .count();
        assert_eq!(accounts, 60, "the accounts at the top level");
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
            labels(&menu.entries)[..7],
            [
                "Signed out",
                "Demo — files in /tmp/demo",
                "demo-window: type bob, pw, passcode 123456",
                "⚠ profiles.json cannot be read: move it away.",
                "",
                &format!("Failed: {}", "x".repeat(90)),
                "Sign in to corp"
            ]
        );
        let (_, enabled, checked) = check(&menu.entries, "Start at login (not in the demo)");
        assert!(!enabled && !checked, "the demo leaves start at login alone");

        status.endpoints[0].phase = Phase::Working;
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            labels(&menu.entries)[3..5],
            ["Signing in…", "Sign in to corp"]
        );
        assert!(matches!(
            menu.entries[4],
            Entry::Item { enabled: false, .. }
        ));
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
        let (id, _, _) = check(submenu(&before.entries, PROD), "ReadOnly");
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
        // The active role's 7 (it is served), the favourite, the account's 2 roles and under
        // More their 7 and 6, the endpoint's 2, and the 6 at the end.
        assert_eq!(seen, 7 + 1 + 2 + 7 + 6 + 2 + 6, "every choice has an id");
    }
    fn served(mut profile: ProfileStatus) -> ProfileStatus {
        profile.containers = Some(crate::engine::ContainerService {
            url: "http://127.0.0.1:4242/rolecall/credentials".to_owned(),
            token: crate::secrets::Sensitive::new("t0ken".to_owned()),
        });
        profile
    }

    #[test]
    fn more_offers_the_console_then_the_handing_out_entries_then_the_toggles() {
        let mut status = signed_in();
        status.profiles = vec![profile("default", ADMIN, 30, true)];
        let menu = model(&status, PLAIN, NOW);
        assert_eq!(
            labels(submenu(submenu(&menu.entries, PROD), "More")),
            ["Admin (30 min left)", "ReadOnly"]
        );
        let admin = more(&menu.entries, PROD, "Admin (30 min left)");
        assert_eq!(
            labels(admin),
            [
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
            admin[1],
            Entry::choice(
                MenuId::CopySigninLink {
                    endpoint: "corp".to_owned(),
                    role_arn: ADMIN.to_owned()
                },
                "Copy sign-in link",
                true
            )
        );
        let Entry::Item { id: Some(copy), .. } = &admin[3] else {
            panic!("Copy environment is a choice: {:?}", admin[3]);
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
        let admin = more(&menu.entries, PROD, "Admin (30 min left)");
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
        let read_only = more(&menu.entries, PROD, "ReadOnly");
        let Entry::Item {
            id: Some(copy),
            enabled: true,
            ..
        } = &read_only[3]
        else {
            panic!("Copy environment can be chosen: {:?}", read_only[3]);
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
        status.chains = vec![ChainStatus {
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
        let roles = submenu(&menu.entries, PROD);
        assert_eq!(
            labels(roles),
            [
                "Admin (30 min left)",
                "ReadOnly",
                "",
                "⛓ spoke → SpokeAdmin (50 min left)",
                "",
                "More"
            ]
        );
        let (id, enabled, checked) = check(roles, "⛓ spoke → SpokeAdmin (50 min left)");
        assert!(enabled && checked, "the active profile holds the chain");
        assert_eq!(
            id.action(),
            Some(Action::UseChain {
                endpoint: "corp".to_owned(),
                chain: "spoke".to_owned()
            }),
            "a click uses the chain"
        );
        let (_, _, checked) = check(roles, "Admin (30 min left)");
        assert!(!checked);
        let chain = more(&menu.entries, PROD, "⛓ spoke → SpokeAdmin (50 min left)");
        let (id, enabled, checked) = check(chain, "Keep refreshed");
        assert!(enabled && checked, "the active profile is kept refreshed");
        assert_eq!(
            id,
            &MenuId::KeepRefreshed {
                profile: "default".to_owned(),
                on: true
            }
        );
        assert_eq!(
            submenu(&menu.entries, "Active role: ⛓ spoke → SpokeAdmin"),
            chain
        );
    }

    #[test]
    fn a_chain_of_another_endpoint_or_account_is_not_shown() {
        let menu = model(&with_chain(Some("lab")), PLAIN, NOW);
        let roles = submenu(&menu.entries, PROD);
        assert_eq!(labels(roles), ["Admin", "ReadOnly", "", "More"]);
        let mut elsewhere = with_chain(None);
        elsewhere.chains[0].source_role = "arn:aws:iam::999999999999:role/Hub".to_owned();
        let menu = model(&elsewhere, PLAIN, NOW);
        let roles = submenu(&menu.entries, PROD);
        assert_eq!(labels(roles), ["Admin", "ReadOnly", "", "More"]);
    }
}
