//! `recent-roles.json` in Rolecall's folder: the roles and chains the person used last, newest
//! first, so the tray offers them at its top, one click each, also after a restart.
//!
//! It is Rolecall's own record, written at every switch, like `profiles.json`: the settings
//! file, which people edit by hand and the settings window rewrites, stays as it was.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{JsonFile, StoreError};

/// How many are kept.
pub const KEPT: usize = 5;

/// What the person used: a role of an endpoint, or a chain (`[[chains]]`, by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Used {
    Role { endpoint: String, role_arn: String },
    Chain { endpoint: String, chain: String },
}

pub const FILE_NAME: &str = "recent-roles.json";

fn file(config_dir: &Path) -> JsonFile<Vec<Used>> {
    JsonFile::new(config_dir.join(FILE_NAME))
}

/// The roles used last, newest first; none for a missing file. One that cannot be read is an
/// error naming it.
pub fn load(config_dir: &Path) -> Result<Vec<Used>, StoreError> {
    file(config_dir).load()
}

/// Puts `used` first and saves the file (under its lock, so two Rolecalls keep both).
/// A broken file is not written over.
pub fn remember(config_dir: &Path, used: Used) -> Result<Vec<Used>, StoreError> {
    file(config_dir).update(|recent| {
        put_first(recent, used);
        Ok::<_, StoreError>(recent.clone())
    })
}

/// `used` first, each once, at most [`KEPT`].
fn put_first(recent: &mut Vec<Used>, used: Used) {
    recent.retain(|earlier| *earlier != used);
    recent.insert(0, used);
    recent.truncate(KEPT);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn role(name: &str) -> Used {
        Used::Role {
            endpoint: "corp".to_owned(),
            role_arn: format!("arn:aws:iam::111122223333:role/{name}"),
        }
    }

    #[test]
    fn the_newest_comes_first_each_once_and_only_five_are_kept() {
        let mut recent = Vec::new();
        for name in ["A", "B", "C", "D", "E", "F"] {
            put_first(&mut recent, role(name));
        }
        assert_eq!(
            recent,
            [role("F"), role("E"), role("D"), role("C"), role("B")]
        );
        put_first(&mut recent, role("C"));
        assert_eq!(
            recent,
            [role("C"), role("F"), role("E"), role("D"), role("B")],
            "used again: moved up, not twice"
        );
        let chain = Used::Chain {
            endpoint: "corp".to_owned(),
            chain: "spoke".to_owned(),
        };
        put_first(&mut recent, chain.clone());
        assert_eq!(recent[0], chain);
        assert_eq!(recent.len(), KEPT);
    }

    #[test]
    fn what_was_used_is_there_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), [], "no file: nothing used yet");
        remember(dir.path(), role("Admin")).unwrap();
        remember(dir.path(), role("ReadOnly")).unwrap();
        assert_eq!(load(dir.path()).unwrap(), [role("ReadOnly"), role("Admin")]);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            text.contains("\"role_arn\": \"arn:aws:iam::111122223333:role/Admin\""),
            "{text}"
        );
    }

    #[test]
    fn a_broken_file_is_named_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "[{\"role\": ").unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains(FILE_NAME), "{err}");
        assert!(remember(dir.path(), role("Admin")).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[{\"role\": ");
    }
}
