//! The settings loader on any `settings.toml`: it never panics, a file it refuses gets a
//! message, and settings it accepts are saved and read back unchanged.
//!
//! CA files are the one thing the loader opens besides the settings file: inputs naming one
//! outside this target's own folder are skipped, so that a run never opens a device or
//! another file of the machine.
#![no_main]

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rolecall_core::paths::AppPaths;
use rolecall_core::settings::Settings;

/// Where the seed corpus's CA files point; the target makes the folder.
const CA_FOLDER: &str = "/tmp/rolecall-fuzz-ca";

struct Sandbox {
    read: AppPaths,
    saved: AppPaths,
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let ca = Path::new(CA_FOLDER);
        fs::create_dir_all(ca).expect("the CA folder");
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        write_once(&ca.join("ca.pem"), pem);
        write_once(&ca.join("not-a-certificate.txt"), b"hello\n");
        let root =
            std::env::temp_dir().join(format!("rolecall-fuzz-settings-{}", std::process::id()));
        let paths = |name: &str| AppPaths {
            config_dir: root.join(name),
            aws_credentials_file: root.join("aws/credentials"),
            aws_config_file: root.join("aws/config"),
        };
        let read = paths("read");
        fs::create_dir_all(&read.config_dir).expect("the settings folder");
        Sandbox {
            read,
            saved: paths("saved"),
        }
    })
}

/// Several fuzzing processes share the CA folder: each file is written whole, then renamed.
fn write_once(path: &Path, contents: &[u8]) {
    if fs::read(path).is_ok_and(|now| now == contents) {
        return;
    }
    let temp: PathBuf = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&temp, contents).expect("a CA file");
    fs::rename(&temp, path).expect("a CA file in place");
}

fuzz_target!(|data: &[u8]| {
    if !ca_files_stay_home(data) {
        return;
    }
    let sandbox = sandbox();
    fs::write(sandbox.read.settings_file(), data).expect("the settings file");
    let settings = match Settings::load(&sandbox.read) {
        Ok(settings) => settings,
        Err(err) => {
            let message = err.to_string();
            assert!(!message.is_empty());
            return;
        }
    };
    settings
        .save(&sandbox.saved)
        .unwrap_or_else(|err| panic!("settings that loaded do not save: {err}"));
    let again = Settings::load(&sandbox.saved)
        .unwrap_or_else(|err| panic!("saved settings do not load: {err}"));
    assert_eq!(again, settings, "settings changed through a save");
});

/// Whether every `ca_file` the loader could open lies in [`CA_FOLDER`] (a relative one is
/// refused before it is opened).
fn ca_files_stay_home(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return true;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(table) = text.parse::<toml::Table>() else {
        return true;
    };
    let Some(endpoints) = table.get("endpoints") else {
        return true;
    };
    let Some(endpoints) = endpoints.as_array() else {
        return true;
    };
    endpoints.iter().all(
        |endpoint| match endpoint.get("ca_file").and_then(toml::Value::as_str) {
            None => true,
            Some(path) => {
                let path = Path::new(path);
                !path.is_absolute()
                    || (path.starts_with(CA_FOLDER)
                        && path.components().all(|part| part != Component::ParentDir))
            }
        },
    )
}
