//! Getting Rolecall's bytes onto the disk without losing anyone's: every file Rolecall writes
//! (the AWS files, `settings.toml`, its JSON side files) is changed behind a lock on a side
//! file, written to a unique temporary file beside it, synced, renamed over the original, and
//! the folder synced. Reads refuse what is not a regular file (a FIFO would block a read
//! forever, a folder cannot be replaced). [`JsonFile`] is a typed JSON file on top of that:
//! a locked read-modify-write, and a file that does not parse is an error naming it, never an
//! empty value that the next save would write over it.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long a writer waits for another one's lock before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A side lock, held until this is dropped.
#[derive(Debug)]
pub struct FileLock {
    // Closing the handle releases the lock.
    _file: File,
}

/// Takes the side lock of `path` (`credentials.rolecall.lock` beside `credentials`), creating
/// the folder (owner-only) if needed, waiting up to `timeout` for another holder.
pub fn lock(path: &Path, timeout: Duration) -> Result<FileLock, StoreError> {
    let dir = folder_of(path);
    create_private_dir(dir).map_err(|source| StoreError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let lock_path = lock_path_for(path);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let failed = |source| StoreError::Lock {
        path: lock_path.clone(),
        source,
    };
    let file = options.open(&lock_path).map_err(failed)?;
    // Counted in pauses rather than read off a clock: this waits on a real thread.
    let pause = Duration::from_millis(20);
    let mut pauses_left = timeout.as_millis() / pause.as_millis();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if pauses_left > 0 => {
                pauses_left -= 1;
                std::thread::sleep(pause);
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::LockBusy {
                    path: lock_path,
                    seconds: timeout.as_secs().max(1),
                });
            }
            Err(fs::TryLockError::Error(source)) => return Err(failed(source)),
        }
    }
}

/// The side lock file of `path`.
pub fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".rolecall.lock");
    folder_of(path).join(name)
}

/// The file's bytes, `None` if it does not exist. A folder, FIFO, socket or device there is
/// refused without reading from it.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(mut file) = open_regular(path)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|source| StoreError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(bytes))
}

/// Opens `path` for reading if it is a regular file (symlinks followed); `None` if nothing is
/// there. Opening never waits for a FIFO's writer.
pub fn open_regular(path: &Path) -> Result<Option<File>, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer unless non-blocking; on a regular
        // file the flag changes nothing.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let failed = |source| StoreError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.kind() == io::ErrorKind::IsADirectory => {
            return Err(not_a_file(path, "folder"));
        }
        Err(source) => return Err(failed(source)),
    };
    let kind = file.metadata().map_err(failed)?.file_type();
    if kind.is_file() {
        Ok(Some(file))
    } else if kind.is_dir() {
        Err(not_a_file(path, "folder"))
    } else {
        Err(not_a_file(path, "special file (a FIFO, socket or device)"))
    }
}

fn not_a_file(path: &Path, kind: &'static str) -> StoreError {
    StoreError::NotAFile {
        path: path.to_owned(),
        kind,
    }
}

/// Replaces `path` with `bytes` in one step: a unique temporary file beside it with `mode`
/// (or the file's current mode, 0600 for a new file), synced, renamed over it, the folder
/// synced. The caller holds the file's [`lock`].
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = folder_of(path);
    create_private_dir(dir).map_err(|source| StoreError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let permissions = match open_regular(path)? {
        Some(file) => Some(
            file.metadata()
                .map_err(|source| StoreError::Read {
                    path: path.to_owned(),
                    source,
                })?
                .permissions(),
        ),
        None => None,
    };
    let temp = write_temp(path, bytes, permissions)?;
    let replaced = replace(&temp, path).and_then(|()| sync_dir(dir));
    if let Err(source) = replaced {
        let _ = fs::remove_file(&temp);
        return Err(StoreError::Write {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}

/// A synced temporary file beside `path` holding `bytes`, created owner-only and then given
/// `permissions` when known. Its name starts with `.<name>.rolecall.` so that
/// [`remove_stale_temps`] finds it after a crash.
pub fn write_temp(
    path: &Path,
    bytes: &[u8],
    permissions: Option<Permissions>,
) -> Result<PathBuf, StoreError> {
    let dir = folder_of(path);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy());
    let nanos = crate::clock::SystemClock.now().nanosecond();
    let mut attempt = 0u32;
    let (temp, mut file) = loop {
        let temp = dir.join(format!(
            ".{name}.rolecall.{}.{nanos}.{attempt}.tmp",
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&temp) {
            Ok(file) => break (temp, file),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(source) => {
                return Err(StoreError::Write {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
    };
    let written = permissions
        .map_or(Ok(()), |permissions| file.set_permissions(permissions))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        let _ = fs::remove_file(&temp);
        return Err(StoreError::Write {
            path: path.to_owned(),
            source,
        });
    }
    Ok(temp)
}

/// Temporary files of `path` left by a write that was killed before its rename (each holds a
/// full copy of the file). Only a lock holder writes one, so the caller, holding the lock,
/// knows every one found is stale.
pub fn remove_stale_temps(path: &Path) {
    let Some(name) = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
    else {
        return;
    };
    let prefix = format!(".{name}.rolecall.");
    let Ok(entries) = fs::read_dir(folder_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The folder `path` is in (`.` for a bare name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Creates `dir` and its missing parents, owner-only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(not(windows))]
pub fn replace(temp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(temp, path)
}

#[cfg(windows)]
pub fn replace(temp: &Path, path: &Path) -> io::Result<()> {
    // Windows refuses to replace a file that a reader opened without FILE_SHARE_DELETE (the
    // AWS CLI, an editor, a virus scanner) for a moment; a short retry loop rides that out.
    let mut tries = 0;
    loop {
        match fs::rename(temp, path) {
            Err(err) if err.kind() == io::ErrorKind::PermissionDenied && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Makes a rename in `dir` durable, so a crash cannot bring back the old file.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// A JSON file of Rolecall's holding one `T`: missing means `T::default()`.
#[derive(Debug, Clone)]
pub struct JsonFile<T> {
    path: PathBuf,
    value: PhantomData<fn() -> T>,
}

impl<T> JsonFile<T>
where
    T: Serialize + DeserializeOwned + Default + PartialEq + Clone,
{
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            value: PhantomData,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds now; a file that is not such JSON is [`StoreError::Corrupt`].
    pub fn load(&self) -> Result<T, StoreError> {
        match read_optional(&self.path)? {
            None => Ok(T::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|err| StoreError::Corrupt {
                path: self.path.clone(),
                reason: err.to_string(),
            }),
        }
    }

    /// Reads the file, lets `change` edit the value and saves it if it changed, all under
    /// the file's lock, so concurrent updates (in this process or others) each see the last.
    /// Nothing is written when `change` fails or the file cannot be read.
    pub fn update<R, E>(&self, change: impl FnOnce(&mut T) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let mut locked = self.lock()?;
        let mut value = locked.value.clone();
        let result = change(&mut value)?;
        locked.save(&value)?;
        Ok(result)
    }

    /// Takes the file's lock and reads it, for a change that saves more than once (see
    /// [`LockedJson::save`]).
    pub fn lock(&self) -> Result<LockedJson<'_, T>, StoreError> {
        let lock = lock(&self.path, LOCK_TIMEOUT)?;
        remove_stale_temps(&self.path);
        let value = self.load()?;
        Ok(LockedJson {
            file: self,
            value,
            _lock: lock,
        })
    }
}

/// A [`JsonFile`] whose lock is held until this is dropped, with what it held when locked.
#[derive(Debug)]
pub struct LockedJson<'f, T> {
    file: &'f JsonFile<T>,
    value: T,
    _lock: FileLock,
}

impl<T> LockedJson<'_, T>
where
    T: Serialize + DeserializeOwned + Default + PartialEq + Clone,
{
    /// The value as last read or saved.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Writes `value` unless the file already holds it.
    pub fn save(&mut self, value: &T) -> Result<(), StoreError> {
        if *value == self.value {
            return Ok(());
        }
        let text = serde_json::to_vec_pretty(value).map_err(|err| StoreError::Write {
            path: self.file.path.clone(),
            source: io::Error::other(err),
        })?;
        write_atomically(&self.file.path, &text)?;
        self.value = value.clone();
        Ok(())
    }
}

/// A file of Rolecall's that could not be read, written or understood. Each message names the
/// file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "Rolecall could not read {}: {source}. Check that you may read that file, then try again.",
        path.display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "Rolecall could not write {}: {source}. Check that you may write to it and to its \
         folder, and that the disk is not full, then try again.",
        path.display()
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "Rolecall could not take the lock {}: {source}. Check that you may write to that \
         folder, then try again.",
        path.display()
    )]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "Another program has held the lock {} for over {seconds} seconds, so Rolecall left the \
         file beside it alone. If no other Rolecall is running, delete the lock file and try \
         again.",
        path.display()
    )]
    LockBusy { path: PathBuf, seconds: u64 },

    #[error(
        "{} is a {kind}, not a regular file, so Rolecall neither reads nor replaces it. Move it \
         away (or point Rolecall at a file), then try again.",
        path.display()
    )]
    NotAFile { path: PathBuf, kind: &'static str },

    #[error(
        "Rolecall cannot read {}: it is not the JSON Rolecall writes ({reason}). Rolecall \
         leaves it as it is; move it away to start it afresh.",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Map = BTreeMap<String, u32>;

    #[test]
    fn a_missing_json_file_is_empty_and_a_corrupt_one_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::<Map>::new(dir.path().join("side.json"));
        assert_eq!(file.load().unwrap(), Map::new());
        fs::write(file.path(), b"{\"a\": 1").unwrap();
        let err = file.load().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains(&file.path().display().to_string()));
        let update = file.update(|map| {
            map.insert("b".to_owned(), 2);
            Ok::<_, StoreError>(())
        });
        assert!(matches!(update, Err(StoreError::Corrupt { .. })));
        assert_eq!(
            fs::read(file.path()).unwrap(),
            b"{\"a\": 1",
            "a corrupt file is never written over"
        );
    }

    #[test]
    fn updates_keep_every_entry_and_leave_only_the_file_and_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/side.json");
        let threads: Vec<_> = (0..8)
            .map(|writer| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let file = JsonFile::<Map>::new(path);
                    for n in 0..20 {
                        file.update(|map| {
                            map.insert(format!("{writer}-{n}"), n);
                            Ok::<_, StoreError>(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let map = JsonFile::<Map>::new(&path).load().unwrap();
        assert_eq!(map.len(), 8 * 20, "no update may be lost");
        let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["side.json", "side.json.rolecall.lock"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_folder_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_optional(&fifo).unwrap_err();
        assert!(
            matches!(err, StoreError::NotAFile { ref path, .. } if *path == fifo),
            "{err:?}"
        );
        assert!(err.to_string().contains("FIFO"), "{err}");
        let folder = dir.path().join("folder");
        fs::create_dir(&folder).unwrap();
        let err = read_optional(&folder).unwrap_err();
        assert!(matches!(err, StoreError::NotAFile { .. }), "{err:?}");
        assert!(err.to_string().contains("is a folder"), "{err}");
        let err = write_atomically(&folder, b"x").unwrap_err();
        assert!(matches!(err, StoreError::NotAFile { .. }), "{err:?}");
    }
}
