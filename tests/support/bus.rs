//! Reading and clicking a tray menu the way a panel does, over the session bus with `gdbus`
//! (Debian package libglib2.0-bin).
//!
//! libayatana-appindicator exports a StatusNotifierItem at `/org/ayatana/NotificationItem/<id>`
//! and its menu (com.canonical.dbusmenu) at `<that>/Menu`.

use crate::Desktop;
use std::process::Command;
use std::time::Duration;

const ITEM_ROOT: &str = "/org/ayatana/NotificationItem";

/// A tray item found on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayItem {
    pub connection: String,
    pub path: String,
}

/// One entry of a dbusmenu layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
    /// `Some(true)` for a checked check item, `Some(false)` unchecked, `None` for plain items.
    pub checked: Option<bool>,
}

impl Desktop {
    fn gdbus(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("timeout")
            .arg("3")
            .arg("gdbus")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus_address())
            .output()
            .expect("gdbus (Debian package libglib2.0-bin; scripts/setup installs it)");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn call(&self, dest: &str, path: &str, method: &str, args: &[&str]) -> Option<String> {
        let mut all = vec![
            "call",
            "--session",
            "--timeout",
            "2",
            "--dest",
            dest,
            "--object-path",
            path,
            "--method",
            method,
        ];
        if !args.is_empty() {
            all.push("--");
            all.extend_from_slice(args);
        }
        self.gdbus(&all)
    }

    /// Every name on the bus, well-known and unique.
    pub fn bus_names(&self) -> Vec<String> {
        self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
            &[],
        )
        .map(|names| quoted_strings(&names))
        .unwrap_or_default()
    }

    /// The unique connection names owned by process `pid`.
    pub fn connections_of(&self, pid: u32) -> Vec<String> {
        self.bus_names()
            .into_iter()
            .filter(|name| name.starts_with(':'))
            .filter(|name| {
                self.call(
                    "org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.GetConnectionUnixProcessID",
                    &[name],
                )
                .is_some_and(|answer| answer.contains(&format!("uint32 {pid},")))
            })
            .collect()
    }

    /// The StatusNotifierItem that process `pid` exports, if any.
    pub fn tray_item_of(&self, pid: u32) -> Option<TrayItem> {
        self.connections_of(pid).into_iter().find_map(|connection| {
            // One of the app's connections never answers introspection: `gdbus` runs under a
            // short timeout.
            let xml = self.gdbus(&[
                "introspect",
                "--session",
                "--xml",
                "--dest",
                &connection,
                "--object-path",
                ITEM_ROOT,
            ])?;
            let node = xml
                .split("<node name=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())?
                .to_owned();
            Some(TrayItem {
                path: format!("{ITEM_ROOT}/{node}"),
                connection,
            })
        })
    }

    /// A property of the StatusNotifierItem, as gdbus prints it.
    pub fn tray_property(&self, item: &TrayItem, name: &str) -> Option<String> {
        self.call(
            &item.connection,
            &item.path,
            "org.freedesktop.DBus.Properties.Get",
            &["org.kde.StatusNotifierItem", name],
        )
    }

    /// The top level of the item's menu, as a panel would show it.
    pub fn menu(&self, item: &TrayItem) -> Vec<MenuEntry> {
        let layout = self
            .call(
                &item.connection,
                &format!("{}/Menu", item.path),
                "com.canonical.dbusmenu.GetLayout",
                &["0", "1", "[]"],
            )
            .unwrap_or_default();
        parse_layout(&layout)
    }

    /// The entries of the submenu reached by following `path` (labels, from the top level).
    pub fn submenu(&self, item: &TrayItem, path: &[&str]) -> Vec<MenuEntry> {
        let mut entries = self.menu(item);
        for label in path {
            let Some(entry) = entries.iter().find(|entry| entry.label == *label) else {
                return Vec::new();
            };
            let layout = self
                .call(
                    &item.connection,
                    &format!("{}/Menu", item.path),
                    "com.canonical.dbusmenu.GetLayout",
                    &[&entry.id.to_string(), "1", "[]"],
                )
                .unwrap_or_default();
            // The answer starts with the parent itself; its children follow.
            entries = parse_layout(&layout);
        }
        entries
    }

    /// Clicks the entry at the end of `path` (its submenus' labels, then its own).
    pub fn click_path(&self, item: &TrayItem, path: &[&str]) {
        let (label, parents) = path.split_last().expect("a path to click");
        self.click_found(item, &format!("{path:?}"), || {
            let menu = self.submenu(item, parents);
            menu.iter()
                .find(|entry| entry.label == *label)
                .map(|entry| entry.id)
                .ok_or_else(|| format!("no menu entry {path:?} in {menu:#?}"))
        });
    }

    /// Looks the entry up and clicks it. The app rebuilds its menu when its state changes,
    /// which gives the entries new ids: a click that lands just then finds its id gone, and
    /// is made again on the new menu, as a person would click again.
    fn click_found(&self, item: &TrayItem, what: &str, find: impl Fn() -> Result<i32, String>) {
        for attempt in 1..=3 {
            let id = find().unwrap_or_else(|missing| panic!("{missing}"));
            let clicked = self.call(
                &item.connection,
                &format!("{}/Menu", item.path),
                "com.canonical.dbusmenu.Event",
                &[&id.to_string(), "clicked", "<\"\">", "0"],
            );
            if clicked.is_some() {
                return;
            }
            assert!(attempt < 3, "clicking {what} over D-Bus failed");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Clicks the entry labelled `label`, as a panel does.
    pub fn click(&self, item: &TrayItem, label: &str) {
        self.click_found(item, &format!("{label:?}"), || {
            let menu = self.menu(item);
            menu.iter()
                .find(|entry| entry.label == label)
                .map(|entry| entry.id)
                .ok_or_else(|| format!("no menu entry {label:?} in {menu:#?}"))
        });
    }
}

/// Every single-quoted string in gdbus' printed value.
fn quoted_strings(text: &str) -> Vec<String> {
    text.split('\'')
        .enumerate()
        .filter(|(index, _)| index % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

/// Reads the children of a `GetLayout` answer, e.g.
/// `(uint32 4, (0, {...}, [<(1, {'label': <'Settings…'>}, @av [])>, ...]))`.
fn parse_layout(text: &str) -> Vec<MenuEntry> {
    text.split("<(")
        .skip(1)
        .filter_map(|chunk| {
            let id = chunk.split(',').next()?.trim().parse().ok()?;
            let props = chunk.split("}, ").next()?;
            // gdbus quotes a string that holds an apostrophe with double quotes.
            let quoted = |open: &str, close: &str| {
                props
                    .split(open)
                    .nth(1)
                    .and_then(|rest| rest.split(close).next())
                    .map(str::to_owned)
            };
            let label = quoted("'label': <'", "'>")
                .or_else(|| quoted("'label': <\"", "\">"))
                .unwrap_or_default()
                // dbusmenu marks the mnemonic with an underscore.
                .replace('_', "");
            let enabled = !props.contains("'enabled': <false>");
            let checked = props
                .contains("'toggle-type': <'checkmark'>")
                .then(|| props.contains("'toggle-state': <1>"));
            Some(MenuEntry {
                id,
                label,
                enabled,
                checked,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_layout_as_gdbus_prints_it() {
        let text = "(uint32 7, (0, {'children-display': <'submenu'>}, [<(1, {'label': <'Signed out'>, 'enabled': <false>}, @av [])>, <(2, {'type': <'separator'>}, @av [])>, <(3, {'label': <'Start at login'>, 'toggle-type': <'checkmark'>, 'toggle-state': <1>}, @av [])>, <(4, {'label': <'_Quit Rolecall'>}, @av [])>]))\n";
        let entries = parse_layout(text);
        assert_eq!(entries.len(), 4, "{entries:#?}");
        assert_eq!(entries[0].label, "Signed out");
        assert!(!entries[0].enabled);
        assert_eq!(entries[2].checked, Some(true));
        assert_eq!(entries[3].id, 4);
        assert_eq!(entries[3].label, "Quit Rolecall");
        let apostrophe = "(uint32 2, (0, {}, [<(1, {'label': <\"\u{26a0} the system's certificates\">, 'enabled': <false>}, @av [])>]))\n";
        assert_eq!(
            parse_layout(apostrophe)[0].label,
            "\u{26a0} the system's certificates"
        );
        assert!(entries[3].enabled);
    }

    #[test]
    fn quoted_strings_skip_the_unquoted_parts() {
        assert_eq!(quoted_strings("(['a', ':1.2'],)"), vec!["a", ":1.2"]);
    }
}
