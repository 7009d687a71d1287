//! A real panel on the test desktop, where the person sees the tray: xfce4-panel with only its
//! status tray (Debian package xfce4-panel), which hosts the app's StatusNotifierItem and draws
//! its menu with GTK. The test clicks the icon and walks the menu with the keyboard through
//! xdotool, takes screenshots with ImageMagick's `import`, and reads the clipboard with xclip.
//!
//! The panel and its settings daemon (xfconfd) run with HOME and the XDG folders in a folder
//! of their own, so they never read or write the machine's own settings.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::bus::TrayItem;
use crate::{Desktop, Running, eventually};

/// A panel along the top of the screen holding only the status tray, so the first tray icon
/// is at a known place.
const PANEL_SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
"#;

/// Where the status tray puts its first icon, on a 32-pixel panel at the top left.
const FIRST_ICON: (u32, u32) = (12, 16);
/// Between two keys, time for GTK to draw what the last one opened.
const KEY_DELAY_MS: &str = "200";
/// After a key that opens a submenu, time for GTK to draw it.
const SUBMENU_DELAY: Duration = Duration::from_millis(600);

/// How long a menu may take to open on a busy machine.
const MENU_LIMIT: Duration = Duration::from_secs(5);

/// xfce4-panel and xfconfd on a [`Desktop`], stopped when dropped.
#[derive(Debug)]
pub struct Panel {
    display: String,
    _panel: Running,
    _settings: Running,
    _home: tempfile::TempDir,
}

impl Desktop {
    /// Starts the panel and waits until it watches for tray items; start it before the app,
    /// as a desktop session would.
    pub fn start_panel(&self) -> Panel {
        let home = tempfile::Builder::new()
            .prefix("rolecall-panel-")
            .tempdir()
            .expect("a temporary home for the panel");
        let channel = home.path().join("config/xfce4/xfconf/xfce-perchannel-xml");
        std::fs::create_dir_all(&channel).expect("the panel's settings folder");
        std::fs::write(channel.join("xfce4-panel.xml"), PANEL_SETTINGS)
            .expect("writing the panel's settings");
        let runtime = home.path().join("runtime");
        std::fs::create_dir_all(&runtime).expect("the panel's runtime folder");
        let command = |program: &str| {
            let mut command = Command::new(program);
            command
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", home.path())
                .env("XDG_CONFIG_HOME", home.path().join("config"))
                .env("XDG_DATA_HOME", home.path().join("data"))
                .env("XDG_CACHE_HOME", home.path().join("cache"))
                .env("XDG_RUNTIME_DIR", &runtime)
                .envs(self.env())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command
        };
        // The desktop's bus starts nothing on demand: the settings daemon is started here.
        let settings = Running::spawn(&mut command(&xfconfd()));
        // No window manager runs on the test display.
        let panel = Running::spawn(command("xfce4-panel").arg("--disable-wm-check"));
        eventually(Duration::from_secs(60), || {
            self.bus_names()
                .iter()
                .any(|name| name == "org.kde.StatusNotifierWatcher")
                .then_some(())
        })
        .expect("xfce4-panel's status tray watches for tray items (Debian package xfce4-panel)");
        Panel {
            display: self.display().to_owned(),
            _panel: panel,
            _settings: settings,
            _home: home,
        }
    }

    /// What the clipboard holds, as `xclip` reads it (Debian package xclip).
    pub fn clipboard(&self) -> Option<String> {
        let output = Command::new("timeout")
            .args(["5", "xclip", "-o", "-selection", "clipboard"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DISPLAY", self.display())
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("xclip (Debian package xclip; scripts/setup installs it)");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// xfconfd, in the multiarch library folder Debian installs it to.
fn xfconfd() -> String {
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("xfce4/xfconf/xfconfd"))
        .find(|path| path.exists())
        .map(|path| path.display().to_string())
        .expect("xfconfd (Debian package xfconf, which xfce4-panel brings)")
}

impl Panel {
    fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .status()
            .expect("xdotool (Debian package xdotool; scripts/setup installs it)");
        assert!(status.success(), "xdotool {args:?}: {status}");
    }

    /// Clicks the tray icon, which opens its menu.
    pub fn click_icon(&self) {
        let (x, y) = FIRST_ICON;
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    }

    /// Presses keys (xdotool's names: Down, Right, Return, Escape).
    pub fn press(&self, keys: &[&str]) {
        let mut args = vec!["key", "--delay", KEY_DELAY_MS];
        args.extend_from_slice(keys);
        self.xdotool(&args);
    }

    /// How many top-level windows are mapped on the screen. GTK draws each open menu in a
    /// window of its own, so this grows by one as a menu or submenu opens.
    fn mapped_windows(&self) -> usize {
        let run = |args: &[&str]| {
            Command::new("xwininfo")
                .args(args)
                .env_clear()
                .env("DISPLAY", &self.display)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
                .unwrap_or_default()
        };
        run(&["-root", "-children"])
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("0x"))
            .filter_map(|rest| rest.split(' ').next())
            .filter(|id| run(&["-id", &format!("0x{id}")]).contains("Map State: IsViewable"))
            .count()
    }

    /// Waits until more than `before` windows are mapped, so that the menu a click or a key
    /// opened is on the screen before the next key; then a moment more, as GTK grabs the
    /// keyboard for it after mapping it. Another window closing meanwhile (a notification) can
    /// hide the change in the count: the wait then ends at its limit, and the walk goes on.
    fn wait_for_menu(&self, before: usize) {
        let _ = eventually(MENU_LIMIT, || {
            (self.mapped_windows() > before).then_some(())
        });
        std::thread::sleep(SUBMENU_DELAY);
    }

    /// Opens the menu and walks to the entry at the end of `path` (labels, from the top)
    /// with the arrow keys, opening each submenu on the way, as a person does with the
    /// keyboard. The entries are counted in the menu the app exports, which the panel draws:
    /// the arrows pass over separators and greyed-out lines.
    pub fn walk_to(&self, desktop: &Desktop, item: &TrayItem, path: &[&str]) {
        let before = self.mapped_windows();
        self.click_icon();
        self.wait_for_menu(before);
        for (depth, label) in path.iter().enumerate() {
            let entries = desktop.submenu(item, &path[..depth]);
            let index = entries
                .iter()
                .filter(|entry| entry.enabled && !entry.label.is_empty())
                .position(|entry| entry.label == *label)
                .unwrap_or_else(|| panic!("no entry {label:?} to choose in {entries:#?}"));
            // A menu opened by a click has nothing chosen yet; a submenu opened with the
            // arrow has its first entry chosen.
            let downs = if depth == 0 { index + 1 } else { index };
            // The first entry of a submenu is chosen already: nothing to press.
            if downs > 0 {
                self.press(&vec!["Down"; downs]);
            }
            if depth + 1 < path.len() {
                // A key pressed before the submenu is on the screen would go to its parent.
                let open = self.mapped_windows();
                self.press(&["Right"]);
                self.wait_for_menu(open);
            }
        }
    }

    /// The whole screen as a PNG at `path` (ImageMagick's `import`).
    pub fn screenshot(&self, path: &Path) {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).expect("the screenshots folder");
        }
        let status = Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .status()
            .expect("import (Debian package imagemagick; scripts/setup installs it)");
        assert!(status.success(), "import: {status}");
    }
}
