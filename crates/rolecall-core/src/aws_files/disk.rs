//! Editing an AWS file on top of [`crate::store`]: behind its side lock, into a temporary file
//! beside it, checked against what was read (other tools do not lock), renamed over the
//! original. A program that writes the old file in place after that check is caught too.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, Permissions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::lines::{self, Document, FileKind, LineKind};
use super::{
    ACCESS_KEY_ID, AwsFilesError, EXPIRATION, FileChange, LEGACY_SESSION_TOKEN, OUTPUT,
    PRINCIPAL_ARN, REGION, SECRET_ACCESS_KEY, SESSION_TOKEN,
};

/// The keys Rolecall writes in a credentials file's profile.
const MANAGED_CREDENTIAL_KEYS: [&str; 6] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    LEGACY_SESSION_TOKEN,
    EXPIRATION,
    PRINCIPAL_ARN,
];
use crate::store::{self, FileLock, folder_of};

/// How long the edit of one file may wait and retry; tests shorten these.
#[derive(Clone, Copy)]
pub(super) struct Patience<'h> {
    pub lock_timeout: Duration,
    /// How many times an edit is redone when the file changed under it.
    pub attempts: u32,
    /// Runs after the temporary file is written and before the re-check: lets tests change the
    /// file at the worst moment.
    pub before_replace: &'h dyn Fn(&Path),
    /// Runs after the re-check and before the rename, the window no check can close.
    pub after_check: &'h dyn Fn(&Path),
    /// How long a program that wrote the old file after the check may take to finish.
    pub late_write_wait: Duration,
}

impl Default for Patience<'_> {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(10),
            attempts: 5,
            before_replace: &|_| {},
            after_check: &|_| {},
            // A tool that truncates the file and then writes it (`aws configure set`) can be
            // held up for seconds between the two on a busy machine; only the rare write that
            // lands in the window after the check waits this long.
            late_write_wait: Duration::from_secs(5),
        }
    }
}

/// An AWS file whose side lock Rolecall holds until this is dropped.
#[derive(Debug)]
pub(super) struct Locked {
    /// The file itself, symlinks followed.
    path: PathBuf,
    kind: FileKind,
    _lock: Option<FileLock>,
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
    kind: FileKind,
    timeout: Duration,
    share: Option<&Locked>,
) -> Result<Locked, AwsFilesError> {
    let path = follow_symlinks(path)?;
    if share.is_some_and(|other| other.path == path) {
        return Ok(Locked {
            path,
            kind,
            _lock: None,
        });
    }
    let lock = store::lock(&path, timeout)?;
    Ok(Locked {
        path,
        kind,
        _lock: Some(lock),
    })
}

/// The side lock file of an AWS file: `credentials.rolecall.lock` beside `credentials`.
#[cfg(test)]
pub(super) fn lock_path_for(path: &Path) -> PathBuf {
    store::lock_path_for(path)
}

impl Locked {
    /// The file's bytes, `None` if it does not exist.
    pub fn read(&self) -> Result<Option<Vec<u8>>, AwsFilesError> {
        read_optional(&self.path)
    }

    /// Replaces the file with `edit(current bytes)` (empty bytes for a missing file), redoing
    /// the edit from the new content when another program changed the file meanwhile. Reports
    /// `true` beside the change when a credentials file open to others was made owner-only.
    pub fn edit(
        &self,
        patience: Patience<'_>,
        mut edit: impl FnMut(&[u8]) -> Result<Vec<u8>, AwsFilesError>,
    ) -> Result<(FileChange, bool), AwsFilesError> {
        store::remove_stale_temps(&self.path);
        let mut change = None;
        let mut made_private = false;
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
                return Ok((change.unwrap_or(FileChange::Unchanged), made_private));
            }
            // Held across the rename: a writer that does not lock may still write into the
            // file we are about to replace, and this is how its write is found again.
            let replaced_file = store::open_regular(&self.path).ok().flatten();
            let (permissions, private) = self.permissions_for(before.permissions.clone());
            made_private |= private;
            let temp = store::write_temp(&self.path, &new, permissions)?;
            (patience.before_replace)(&self.path);
            let replaced = match self.snapshot() {
                Ok(now) if now == before => {
                    (patience.after_check)(&self.path);
                    store::replace(&temp, &self.path).map(|()| true)
                }
                Ok(_) => Ok(false),
                Err(err) => {
                    let _ = fs::remove_file(&temp);
                    return Err(err);
                }
            };
            match replaced {
                Ok(true) => {
                    store::sync_dir(folder_of(&self.path))
                        .map_err(|source| self.write_error(source))?;
                    change.get_or_insert(match before.bytes {
                        Some(_) => FileChange::Updated,
                        None => FileChange::Created,
                    });
                    let late = replaced_file.and_then(|file| {
                        late_write(
                            file,
                            before.bytes.as_deref(),
                            self.kind,
                            patience.late_write_wait,
                        )
                    });
                    match late {
                        None => {
                            return Ok((change.unwrap_or(FileChange::Updated), made_private));
                        }
                        // Someone wrote the old file between our check and the rename: redo
                        // the edit on what they wrote, so neither change is lost.
                        Some(LateWrite::Complete(theirs)) => orphaned = Some(theirs),
                        // Never rebuild the file from a half-written copy: the file keeps
                        // what we read plus our edit, and the person is told.
                        Some(LateWrite::Incomplete) => {
                            return Err(AwsFilesError::ChangedWhileReplaced {
                                path: self.path.clone(),
                            });
                        }
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

    /// The new file's permissions: the old file's (0600 for a new one), except that a
    /// credentials file open to the group or others becomes owner-only (`true`).
    fn permissions_for(&self, old: Option<Permissions>) -> (Option<Permissions>, bool) {
        #[cfg(unix)]
        if self.kind == FileKind::Credentials
            && let Some(old) = &old
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = old.mode() & 0o7777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "{} could be read by other users (mode {mode:04o}); Rolecall made it \
                     owner-only (mode {:04o})",
                    self.path.display(),
                    mode & 0o700
                );
                return (Some(Permissions::from_mode(mode & 0o700)), true);
            }
        }
        (old, false)
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

    fn read_error(&self, source: io::Error) -> AwsFilesError {
        AwsFilesError::File(store::StoreError::Read {
            path: self.path.clone(),
            source,
        })
    }

    fn write_error(&self, source: io::Error) -> AwsFilesError {
        AwsFilesError::File(store::StoreError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// What another program wrote into the file we replaced, after our last check.
#[derive(Debug)]
enum LateWrite {
    Complete(Vec<u8>),
    /// Still partial when we stopped waiting: it lacks a profile or key of the file we read,
    /// is shorter than it, or ends mid-line.
    Incomplete,
}

/// What another program wrote into `replaced` (the file as it was before our rename) if that
/// is no longer `read`: its write landed after our last check. Waits up to `wait` for such a
/// write to settle (unchanged over 20 ms) and to look complete.
fn late_write(
    mut replaced: File,
    read: Option<&[u8]>,
    kind: FileKind,
    wait: Duration,
) -> Option<LateWrite> {
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
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        std::thread::sleep(step);
        waited += step;
        let Some(again) = contents(&mut replaced) else {
            return Some(LateWrite::Incomplete);
        };
        let settled = again == seen;
        seen = again;
        if settled && looks_complete(&seen, read.unwrap_or_default(), kind) {
            return Some(LateWrite::Complete(seen));
        }
        if waited >= wait {
            return Some(LateWrite::Incomplete);
        }
    }
}

/// Whether `theirs`, a copy another program wrote over `read`, can stand for the whole file.
/// A writer that truncates and rewrites in place (as `aws configure set` does) leaves a prefix
/// of its new text while it is under way: it is empty, or ends mid-line, or lacks the sections
/// after its cut. A complete copy may still lack what Rolecall wrote since that program read
/// the file (it wrote from an older copy), which Rolecall writes again at its next renewal. So
/// every section of `read` must still be there with all its keys, except sections of
/// temporary keys (credentials file) or of only `region`/`output` (config file), which may be
/// missing. Deleting a profile by hand the same moment is reported rather than guessed at.
pub(super) fn looks_complete(theirs: &[u8], read: &[u8], kind: FileKind) -> bool {
    let ends_a_line = |bytes: &[u8]| bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r'));
    if (!read.is_empty() && theirs.is_empty()) || (ends_a_line(read) && !ends_a_line(theirs)) {
        return false;
    }
    let theirs = shape(&Document::parse(theirs, kind), kind);
    shape(&Document::parse(read, kind), kind)
        .into_iter()
        .filter(|(_, section)| !section.renewable)
        .all(|(header, section)| {
            theirs
                .get(&header)
                .is_some_and(|their| section.keys.is_subset(&their.keys))
        })
}

/// What a section holds, for [`looks_complete`].
#[derive(Debug, Default)]
struct SectionShape {
    keys: BTreeSet<Vec<u8>>,
    /// Only keys Rolecall (or another tool) writes again on its own.
    renewable: bool,
}

/// Each section header (trimmed; empty for keys above the first) with its keys.
fn shape(doc: &Document<'_>, kind: FileKind) -> BTreeMap<Vec<u8>, SectionShape> {
    let mut shape: BTreeMap<Vec<u8>, SectionShape> = BTreeMap::new();
    let mut temporary: BTreeMap<Vec<u8>, (bool, bool)> = BTreeMap::new();
    let mut header: &[u8] = b"";
    for (index, line) in doc.lines.iter().enumerate() {
        match &line.kind {
            LineKind::Header => {
                header = lines::trim(line.content);
                shape.entry(header.to_vec()).or_default();
            }
            LineKind::Property { key, .. } => {
                shape
                    .entry(header.to_vec())
                    .or_default()
                    .keys
                    .insert(key.clone());
                let (token, long_term) = temporary.entry(header.to_vec()).or_default();
                let value = doc.value(index);
                if (key == SESSION_TOKEN.as_bytes() || key == LEGACY_SESSION_TOKEN.as_bytes())
                    && !value.is_empty()
                {
                    *token = true;
                }
                if key == ACCESS_KEY_ID.as_bytes() && value.starts_with(b"AKIA") {
                    *long_term = true;
                }
            }
            _ => {}
        }
    }
    for (header, section) in &mut shape {
        let managed: &[&str] = match kind {
            FileKind::Credentials => &MANAGED_CREDENTIAL_KEYS,
            FileKind::Config => &[REGION, OUTPUT],
        };
        let only_managed = !section.keys.is_empty()
            && section
                .keys
                .iter()
                .all(|key| managed.iter().any(|m| m.as_bytes() == key.as_slice()));
        let temporary_keys = match kind {
            FileKind::Credentials => temporary
                .get(header)
                .is_some_and(|&(token, long_term)| token && !long_term),
            FileKind::Config => true,
        };
        section.renewable = !header.is_empty() && only_managed && temporary_keys;
    }
    shape
}

pub(super) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, AwsFilesError> {
    Ok(store::read_optional(path)?)
}

/// The file a path finally names. Only the last component is followed by hand: the link stays
/// a link, and the new content lands in its target (which may not exist yet).
fn follow_symlinks(path: &Path) -> Result<PathBuf, AwsFilesError> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current).map_err(|source| {
                    AwsFilesError::File(store::StoreError::Read {
                        path: current.clone(),
                        source,
                    })
                })?;
                current = folder_of(&current).join(target);
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(source) => {
                return Err(AwsFilesError::File(store::StoreError::Read {
                    path: current,
                    source,
                }));
            }
        }
    }
    Err(AwsFilesError::SymlinkLoop {
        path: path.to_owned(),
    })
}
