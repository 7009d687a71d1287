//! The tray's log file, for a person to send: in the platform's log folder ([`folder`]), masked
//! like every other log line, and never larger than [`MAX_BYTES`] twice over: when the file
//! would pass it, it becomes `<name>.1` (the one before is dropped) and a new file starts.
//! Lines are written off the app's threads (tracing-appender), so a slow disk never stalls it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::paths::{Environment, PathsError, Platform};

/// One file's limit: a day of a busy tray at `debug` fits twice over.
pub const MAX_BYTES: u64 = 2 << 20;

/// Where Rolecall's logs go: `ROLECALL_LOG_DIR`, else `$XDG_STATE_HOME/rolecall` or
/// `~/.local/state/rolecall` on Linux, `~/Library/Logs/Rolecall` on macOS,
/// `%LOCALAPPDATA%\Rolecall\logs` on Windows.
pub fn folder(env: &Environment) -> Result<PathBuf, PathsError> {
    if let Some(raw) = env.var("ROLECALL_LOG_DIR") {
        return env.expand(raw);
    }
    Ok(match env.platform() {
        Platform::Linux => match env.var("XDG_STATE_HOME") {
            // As for the other XDG folders, a relative value is ignored.
            Some(xdg) if Path::new(xdg).is_absolute() => PathBuf::from(xdg),
            _ => env.home()?.join(".local").join("state"),
        }
        .join("rolecall"),
        Platform::MacOs => env.home()?.join("Library").join("Logs").join("Rolecall"),
        Platform::Windows => match env.var("LOCALAPPDATA") {
            Some(local) => PathBuf::from(local),
            None => env.home()?.join("AppData").join("Local"),
        }
        .join("Rolecall")
        .join("logs"),
    })
}

/// A log file that rolls over to `<name>.1` when it would pass its limit.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    limit: u64,
    file: File,
    written: u64,
}

impl LogFile {
    /// Opens (or creates) `folder/name` for appending, the folder too; private to the user.
    pub fn open(folder: &Path, name: &str, limit: u64) -> io::Result<Self> {
        create_private_dir(folder)?;
        let path = folder.join(name);
        let file = open_append(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            limit,
            file,
            written,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn roll_over(&mut self) -> io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        fs::rename(&self.path, old)?;
        self.file = open_append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.limit {
            self.roll_over()?;
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn create_private_dir(folder: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_rolls_over_at_its_limit_and_keeps_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::open(dir.path(), "rolecall-tray.log", 100).unwrap();
        let line = [b'a'; 39];
        for _ in 0..10 {
            log.write_all(&line).unwrap();
            log.write_all(b"\n").unwrap();
        }
        let current = fs::metadata(dir.path().join("rolecall-tray.log"))
            .unwrap()
            .len();
        let before = fs::metadata(dir.path().join("rolecall-tray.log.1"))
            .unwrap()
            .len();
        assert!(current <= 100 && before <= 100, "{current} {before}");
        assert!(!dir.path().join("rolecall-tray.log.2").exists());
        let total: usize = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(total, 2, "never more than the file and the one before");
    }

    #[test]
    fn a_file_left_by_the_last_run_is_appended_to_and_counts_toward_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.log"), [b'b'; 90]).unwrap();
        let mut log = LogFile::open(dir.path(), "x.log", 100).unwrap();
        log.write_all(&[b'c'; 20]).unwrap();
        assert_eq!(fs::read(dir.path().join("x.log.1")).unwrap(), [b'b'; 90]);
        assert_eq!(fs::read(dir.path().join("x.log")).unwrap(), [b'c'; 20]);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_user_can_read_the_logs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("state/rolecall");
        let log = LogFile::open(&folder, "x.log", 100).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(log.path()), 0o600);
        assert_eq!(mode(&folder), 0o700);
    }

    #[test]
    fn the_folder_is_the_platforms() {
        let linux = Environment::new(Platform::Linux).with("HOME", "/home/alice");
        assert_eq!(
            folder(&linux).unwrap(),
            PathBuf::from("/home/alice/.local/state/rolecall")
        );
        assert_eq!(
            folder(&linux.clone().with("XDG_STATE_HOME", "/state")).unwrap(),
            PathBuf::from("/state/rolecall")
        );
        assert_eq!(
            folder(&linux.clone().with("ROLECALL_LOG_DIR", "~/logs")).unwrap(),
            PathBuf::from("/home/alice/logs")
        );
        let mac = Environment::new(Platform::MacOs).with("HOME", "/Users/alice");
        assert_eq!(
            folder(&mac).unwrap(),
            PathBuf::from("/Users/alice/Library/Logs/Rolecall")
        );
        let windows = Environment::new(Platform::Windows).with("LOCALAPPDATA", r"C:\Local");
        assert_eq!(
            folder(&windows).unwrap(),
            PathBuf::from(r"C:\Local").join("Rolecall").join("logs")
        );
    }
}
