//! Every tray menu entry, named once. Menu ids on the wire are these names; nothing else in the
//! app spells them.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuId {
    Status,
    Settings,
    StartAtLogin,
    Quit,
}

impl MenuId {
    const ALL: [Self; 4] = [Self::Status, Self::Settings, Self::StartAtLogin, Self::Quit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Settings => "settings",
            Self::StartAtLogin => "start-at-login",
            Self::Quit => "quit",
        }
    }
}

impl fmt::Display for MenuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MenuId {
    type Err = UnknownMenuId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownMenuId(s.to_owned()))
    }
}

#[derive(Debug)]
pub struct UnknownMenuId(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in MenuId::ALL {
            assert_eq!(id.as_str().parse::<MenuId>().ok(), Some(id));
        }
        assert!("nope".parse::<MenuId>().is_err());
    }
}
