//! Getting new bytes onto the disk without losing anyone's: the AWS file is edited behind a
//! lock on a side file, written to a temporary file beside it, synced, checked against what was
//! read (other tools do not lock), and renamed over the original.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::{AwsFilesError, FileChange};

/// How long the edit of one file may wait and retry; tests shorten these.
#[derive(Clone, Copy)]
pub(super) struct Patience<'h> {
    pub lock_timeout: Duration,
    /// How many times an edit is redone when the file changed under it.
    pub attempts: u32,
    /// Runs after the temporary file is written and before the re-check: lets tests change the
    /// file at the worst moment.
    pub before_replace: &'h dyn Fn(&Path),
}

impl Default for Patience<'_> {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(10),
            attempts: 5,
            before_replace: &|_| {},
        }
    }
}

/// An AWS file whose side lock Rolecall holds until this is dropped.
#[derive(Debug)]
pub(super) struct Locked {
    /// The file itself, symlinks followed.
    path: PathBuf,
    // Closing the handle releases the lock.
    _lock: Option<File>,
}

/// What the file held when read, to tell whether anyone changed it since.
#[derive(Debug, PartialEq)]
struct Snapshot {
    bytes: Option<Vec<u8>>,
    modified: Option<SystemTime>,
    permissions: Option<Permissions>,
}

/// Locks `path` (its symlinks followed) for editing, creating its folder (0700) if needed.
/// `share` is a lock already held on the same file (both paths may name one file).
pub(super) fn lock(
    path: &Path,
    timeout: Duration,
    share: Option<&Locked>,
) -> Result<Locked, AwsFilesError> {
    let path = follow_symlinks(path)?;
    if share.is_some_and(|other| other.path == path) {
        return Ok(Locked { path, _lock: None });
    }
    let dir = folder_of(&path);
    create_private_dir(dir).map_err(|source| AwsFilesError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let lock_path = lock_path_for(&path);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let failed = |source| AwsFilesError::Lock {
        path: lock_path.clone(),
        source,
    };
    let file = options.open(&lock_path).map_err(failed)?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(Locked {
                    path,
                    _lock: Some(file),
                });
            }
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(AwsFilesError::LockBusy {
                    path: lock_path,
                    seconds: timeout.as_secs().max(1),
                });
            }
            Err(fs::TryLockError::Error(source)) => return Err(failed(source)),
        }
    }
}

/// The side lock file of an AWS file: `credentials.rolecall.lock` beside `credentials`.
pub(super) fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".rolecall.lock");
    folder_of(path).join(name)
}

impl Locked {
    /// The file's bytes, `None` if it does not exist.
    pub fn read(&self) -> Result<Option<Vec<u8>>, AwsFilesError> {
        read_optional(&self.path)
    }

    /// Replaces the file with `edit(current bytes)` (empty bytes for a missing file), redoing
    /// the edit from the new content when another program changed the file meanwhile.
    pub fn edit(
        &self,
        patience: Patience<'_>,
        mut edit: impl FnMut(&[u8]) -> Result<Vec<u8>, AwsFilesError>,
    ) -> Result<FileChange, AwsFilesError> {
        self.remove_stale_temps();
        let mut change = None;
        // Content another program wrote into the file we replaced, after our last check.
        let mut orphaned: Option<Vec<u8>> = None;
        for _ in 0..patience.attempts.max(1) {
            let before = self.snapshot()?;
            let base = orphaned.take().or_else(|| before.bytes.clone());
            let new = edit(base.as_deref().unwrap_or_default())?;
            if before
                .bytes
                .as_deref()
                .map_or(new.is_empty(), |now| now == new)
            {
                return Ok(change.unwrap_or(FileChange::Unchanged));
            }
            // Held across the rename: a writer that does not lock may still write into the
            // file we are about to replace, and this is how its write is found again.
            let replaced_file = File::open(&self.path).ok();
            let temp = self.write_temp(&new, before.permissions.clone())?;
            (patience.before_replace)(&self.path);
            let replaced = match self.snapshot() {
                Ok(now) if now == before => replace(&temp, &self.path).map(|()| true),
                Ok(_) => Ok(false),
                Err(err) => {
                    let _ = fs::remove_file(&temp);
                    return Err(err);
                }
            };
            match replaced {
                Ok(true) => {
                    sync_dir(folder_of(&self.path)).map_err(|source| self.write_error(source))?;
                    change.get_or_insert(match before.bytes {
                        Some(_) => FileChange::Updated,
                        None => FileChange::Created,
                    });
                    match replaced_file.and_then(|file| late_write(file, before.bytes.as_deref())) {
                        // Someone wrote the old file between our check and the rename: redo
                        // the edit on what they wrote, so neither change is lost.
                        Some(theirs) => orphaned = Some(theirs),
                        None => return Ok(change.unwrap_or(FileChange::Updated)),
                    }
                }
                Ok(false) => {
                    let _ = fs::remove_file(&temp);
                }
                Err(source) => {
                    let _ = fs::remove_file(&temp);
                    return Err(self.write_error(source));
                }
            }
        }
        Err(AwsFilesError::KeptChanging {
            path: self.path.clone(),
        })
    }

    /// Temporary files of this file left by a write that was killed before its rename (they
    /// hold a full copy of the file). Only a lock holder writes one, and the lock is ours now,
    /// so every one found is stale.
    fn remove_stale_temps(&self) {
        let Some(name) = self
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
        else {
            return;
        };
        let prefix = format!(".{name}.rolecall.");
        let Ok(entries) = fs::read_dir(folder_of(&self.path)) else {
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

    fn snapshot(&self) -> Result<Snapshot, AwsFilesError> {
        let metadata = match fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(Snapshot {
                    bytes: None,
                    modified: None,
                    permissions: None,
                });
            }
            Err(source) => return Err(self.read_error(source)),
        };
        // The whole content is compared, not a hash of it: these files are small, and a
        // same-size edit within the clock's resolution must still count as a change.
        Ok(Snapshot {
            bytes: self.read()?,
            modified: metadata.modified().ok(),
            permissions: Some(metadata.permissions()),
        })
    }

    /// A synced temporary file beside the target, with the target's permissions (0600 for a
    /// new file).
    fn write_temp(
        &self,
        bytes: &[u8],
        permissions: Option<Permissions>,
    ) -> Result<PathBuf, AwsFilesError> {
        let dir = folder_of(&self.path);
        let name = self
            .path
            .file_name()
            .map_or_else(|| "aws".into(), |name| name.to_string_lossy());
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
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
                    return Err(AwsFilesError::Write {
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
            return Err(self.write_error(source));
        }
        Ok(temp)
    }

    fn read_error(&self, source: io::Error) -> AwsFilesError {
        AwsFilesError::Read {
            path: self.path.clone(),
            source,
        }
    }

    fn write_error(&self, source: io::Error) -> AwsFilesError {
        AwsFilesError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

/// What another program wrote into `replaced` (the file as it was before our rename) if that
/// is no longer `read`: its write landed after our last check. Waits briefly for such a write
/// to finish.
fn late_write(mut replaced: File, read: Option<&[u8]>) -> Option<Vec<u8>> {
    use std::io::{Read, Seek};
    let contents = |file: &mut File| {
        let mut bytes = Vec::new();
        file.rewind().ok()?;
        file.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    };
    let mut seen = contents(&mut replaced)?;
    if Some(seen.as_slice()) == read {
        return None;
    }
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(20));
        let again = contents(&mut replaced)?;
        if again == seen {
            break;
        }
        seen = again;
    }
    Some(seen)
}

pub(super) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, AwsFilesError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AwsFilesError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The file a path finally names. Only the last component is followed by hand: the link stays
/// a link, and the new content lands in its target (which may not exist yet).
fn follow_symlinks(path: &Path) -> Result<PathBuf, AwsFilesError> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current).map_err(|source| AwsFilesError::Read {
                    path: current.clone(),
                    source,
                })?;
                current = folder_of(&current).join(target);
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(source) => {
                return Err(AwsFilesError::Read {
                    path: current,
                    source,
                });
            }
        }
    }
    Err(AwsFilesError::SymlinkLoop {
        path: path.to_owned(),
    })
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
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
fn replace(temp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(temp, path)
}

#[cfg(windows)]
fn replace(temp: &Path, path: &Path) -> io::Result<()> {
    // Windows refuses to replace a file that a reader opened without FILE_SHARE_DELETE (the
    // AWS CLI, a virus scanner) for a moment; a short retry loop rides that out.
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

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    // Makes the rename itself durable, so a crash cannot bring back the old file.
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
