//! Every tray menu entry, named once. Entries about endpoints and roles carry their positions in
//! the status snapshot the menu was built from; the tray keeps that snapshot to read them back.

use std::fmt;
use std::str::FromStr;

/// A role's place in a snapshot: endpoint, account, role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleAt {
    pub endpoint: usize,
    pub account: usize,
    pub role: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuId {
    Status,
    SignIn(usize),
    SignOut(usize),
    AllRoles(usize),
    Use(RoleAt),
    Console(RoleAt),
    KeepRefreshed(RoleAt),
    Favourite(RoleAt),
    RenewNow,
    Settings,
    StartAtLogin,
    Quit,
}

impl MenuId {
    /// The id on the wire, e.g. `use/0/2/1`.
    pub fn to_id(self) -> String {
        let role =
            |name: &str, at: RoleAt| format!("{name}/{}/{}/{}", at.endpoint, at.account, at.role);
        match self {
            Self::Status => "status".to_owned(),
            Self::SignIn(endpoint) => format!("sign-in/{endpoint}"),
            Self::SignOut(endpoint) => format!("sign-out/{endpoint}"),
            Self::AllRoles(endpoint) => format!("all-roles/{endpoint}"),
            Self::Use(at) => role("use", at),
            Self::Console(at) => role("console", at),
            Self::KeepRefreshed(at) => role("keep", at),
            Self::Favourite(at) => role("favourite", at),
            Self::RenewNow => "renew-now".to_owned(),
            Self::Settings => "settings".to_owned(),
            Self::StartAtLogin => "start-at-login".to_owned(),
            Self::Quit => "quit".to_owned(),
        }
    }
}

impl fmt::Display for MenuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_id())
    }
}

impl FromStr for MenuId {
    type Err = UnknownMenuId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownMenuId(s.to_owned());
        let mut parts = s.split('/');
        let name = parts.next().ok_or_else(unknown)?;
        let numbers: Vec<usize> = parts
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| unknown())?;
        let at = || match numbers[..] {
            [endpoint, account, role] => Ok(RoleAt {
                endpoint,
                account,
                role,
            }),
            _ => Err(unknown()),
        };
        let one = || match numbers[..] {
            [endpoint] => Ok(endpoint),
            _ => Err(unknown()),
        };
        let plain = |id: MenuId| {
            if numbers.is_empty() {
                Ok(id)
            } else {
                Err(unknown())
            }
        };
        match name {
            "status" => plain(Self::Status),
            "sign-in" => one().map(Self::SignIn),
            "sign-out" => one().map(Self::SignOut),
            "all-roles" => one().map(Self::AllRoles),
            "use" => at().map(Self::Use),
            "console" => at().map(Self::Console),
            "keep" => at().map(Self::KeepRefreshed),
            "favourite" => at().map(Self::Favourite),
            "renew-now" => plain(Self::RenewNow),
            "settings" => plain(Self::Settings),
            "start-at-login" => plain(Self::StartAtLogin),
            "quit" => plain(Self::Quit),
            _ => Err(unknown()),
        }
    }
}

#[derive(Debug)]
pub struct UnknownMenuId(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let at = RoleAt {
            endpoint: 1,
            account: 22,
            role: 3,
        };
        for id in [
            MenuId::Status,
            MenuId::SignIn(0),
            MenuId::SignOut(4),
            MenuId::AllRoles(2),
            MenuId::Use(at),
            MenuId::Console(at),
            MenuId::KeepRefreshed(at),
            MenuId::Favourite(at),
            MenuId::RenewNow,
            MenuId::Settings,
            MenuId::StartAtLogin,
            MenuId::Quit,
        ] {
            assert_eq!(id.to_id().parse::<MenuId>().ok(), Some(id), "{id}");
        }
        for bad in ["nope", "use/1/2", "sign-in", "quit/1", "use/a/b/c", ""] {
            assert!(bad.parse::<MenuId>().is_err(), "{bad}");
        }
    }
}
