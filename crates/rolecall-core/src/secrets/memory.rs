//! A [`SecretStore`] in memory: for other modules' tests and for the demo, which must never touch
//! the person's real keyring.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::chunks::{self, Fault, Slots};
use super::{ENTRY_LIMIT_UTF16, SecretKind, SecretPlace, SecretStore, SecretsError, Sensitive};

/// Secrets in a map, laid out entry by entry exactly as [`super::Keyring`] lays them out.
///
/// [`MemoryStore::lock`] makes every call fail as a locked keyring does, so callers can test
/// what they tell the person then.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    entry_limit: usize,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, Sensitive<String>>,
    locked: bool,
}

impl MemoryStore {
    /// An empty, unlocked store that, like Windows Credential Manager, refuses entries longer
    /// than [`ENTRY_LIMIT_UTF16`] UTF-16 units.
    pub fn new() -> Self {
        Self {
            state: Mutex::default(),
            entry_limit: ENTRY_LIMIT_UTF16,
        }
    }

    /// Makes every call fail with [`SecretsError::Unavailable`] until [`MemoryStore::unlock`].
    pub fn lock(&self) {
        self.state().locked = true;
    }

    pub fn unlock(&self) {
        self.state().locked = false;
    }

    /// The names (keyring user strings) of the entries held, in order.
    pub fn entry_names(&self) -> Vec<String> {
        self.state().entries.keys().cloned().collect()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread cannot leave the map half-updated: every change is
        // one insert or remove.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unlocked(&self) -> Result<MutexGuard<'_, State>, Fault> {
        let state = self.state();
        if state.locked {
            return Err(Fault::Unavailable(
                "the in-memory store is locked".to_owned(),
            ));
        }
        Ok(state)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl Slots for MemoryStore {
    fn read(&self, user: &str) -> Result<Option<String>, Fault> {
        Ok(self
            .unlocked()?
            .entries
            .get(user)
            .map(|value| value.expose().clone()))
    }

    fn write(&self, user: &str, value: &str) -> Result<(), Fault> {
        let units: usize = value.chars().map(char::len_utf16).sum();
        if units > self.entry_limit {
            return Err(Fault::Other(format!(
                "an entry may hold at most {} characters",
                self.entry_limit
            )));
        }
        self.unlocked()?
            .entries
            .insert(user.to_owned(), Sensitive::new(value.to_owned()));
        Ok(())
    }

    fn remove(&self, user: &str) -> Result<bool, Fault> {
        Ok(self.unlocked()?.entries.remove(user).is_some())
    }
}

impl SecretStore for MemoryStore {
    fn place(&self) -> SecretPlace {
        SecretPlace::Memory
    }

    fn get(
        &self,
        endpoint: &str,
        kind: SecretKind,
    ) -> Result<Option<Sensitive<String>>, SecretsError> {
        chunks::get(self, endpoint, kind)
    }

    fn set(
        &self,
        endpoint: &str,
        kind: SecretKind,
        value: &Sensitive<String>,
    ) -> Result<(), SecretsError> {
        chunks::set(self, endpoint, kind, value, ENTRY_LIMIT_UTF16)
    }

    fn delete(&self, endpoint: &str, kind: SecretKind) -> Result<(), SecretsError> {
        chunks::delete(self, endpoint, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> Sensitive<String> {
        Sensitive::new(value.to_owned())
    }

    #[test]
    fn a_short_password_is_one_entry() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::Password, &secret("hunter2"))
            .unwrap();
        assert_eq!(store.entry_names(), ["password:corp"]);
        assert_eq!(
            store.get("corp", SecretKind::Password).unwrap(),
            Some(secret("hunter2"))
        );
    }

    #[test]
    fn nothing_stored_reads_as_none_and_deletes_quietly() {
        let store = MemoryStore::new();
        assert_eq!(store.get("corp", SecretKind::SsoCookies).unwrap(), None);
        store.delete("corp", SecretKind::SsoCookies).unwrap();
    }

    /// SSO cookie jars are several KB; Windows Credential Manager takes 1,280 UTF-16 units.
    #[test]
    fn large_values_are_chunked_within_the_windows_limit() {
        let store = MemoryStore::new();
        let cookies = secret(&"MSISAuth=ü😀;".repeat(500));
        store.set("corp", SecretKind::SsoCookies, &cookies).unwrap();

        let names = store.entry_names();
        assert!(names.len() > 3, "expected chunks, got {names:?}");
        assert!(names.contains(&"sso:corp#0".to_owned()), "{names:?}");
        assert_eq!(
            store.get("corp", SecretKind::SsoCookies).unwrap(),
            Some(cookies)
        );
    }

    #[test]
    fn a_value_of_exactly_the_limit_is_not_chunked_and_one_more_is() {
        let store = MemoryStore::new();
        let exact = secret(&"x".repeat(ENTRY_LIMIT_UTF16));
        store.set("e", SecretKind::SsoCookies, &exact).unwrap();
        assert_eq!(store.entry_names(), ["sso:e"]);

        let over = secret(&"x".repeat(ENTRY_LIMIT_UTF16 + 1));
        store.set("e", SecretKind::SsoCookies, &over).unwrap();
        assert_eq!(store.entry_names(), ["sso:e", "sso:e#0", "sso:e#1"]);
        assert_eq!(store.get("e", SecretKind::SsoCookies).unwrap(), Some(over));
    }

    #[test]
    fn a_shorter_value_leaves_no_stale_chunks() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::SsoCookies, &secret(&"a".repeat(6000)))
            .unwrap();
        store
            .set("corp", SecretKind::SsoCookies, &secret(&"b".repeat(2000)))
            .unwrap();
        assert_eq!(
            store.entry_names(),
            ["sso:corp", "sso:corp#0", "sso:corp#1"]
        );
        store
            .set("corp", SecretKind::SsoCookies, &secret("c"))
            .unwrap();
        assert_eq!(store.entry_names(), ["sso:corp"]);
    }

    #[test]
    fn delete_removes_the_header_and_every_chunk() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::SsoCookies, &secret(&"a".repeat(6000)))
            .unwrap();
        store
            .set("other", SecretKind::Password, &secret("pw"))
            .unwrap();
        store.delete("corp", SecretKind::SsoCookies).unwrap();
        assert_eq!(store.entry_names(), ["password:other"]);
    }

    /// A value that looks like a header must come back as itself, not be read as chunks.
    #[test]
    fn a_value_that_looks_like_a_header_round_trips() {
        let store = MemoryStore::new();
        let tricky = secret("rolecall-chunks:v1:2:0000000000000000");
        store.set("corp", SecretKind::Password, &tricky).unwrap();
        assert_eq!(
            store.get("corp", SecretKind::Password).unwrap(),
            Some(tricky)
        );
    }

    #[test]
    fn a_missing_chunk_reads_as_damaged() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::SsoCookies, &secret(&"a".repeat(4000)))
            .unwrap();
        Slots::remove(&store, "sso:corp#1").unwrap();
        let err = store.get("corp", SecretKind::SsoCookies).unwrap_err();
        assert!(matches!(err, SecretsError::Damaged { .. }), "{err:?}");
        assert!(err.to_string().contains("Sign in to that endpoint again"));
    }

    /// A write cut short after the chunks but before the header mixes old and new chunks.
    #[test]
    fn a_torn_write_reads_as_damaged_not_as_a_wrong_value() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::SsoCookies, &secret(&"a".repeat(4000)))
            .unwrap();
        Slots::write(&store, "sso:corp#0", &"b".repeat(1280)).unwrap();
        let err = store.get("corp", SecretKind::SsoCookies).unwrap_err();
        assert!(matches!(err, SecretsError::Damaged { .. }), "{err:?}");
    }

    #[test]
    fn a_locked_store_says_no_unlocked_keyring_and_unlocking_restores_it() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::Password, &secret("pw"))
            .unwrap();
        store.lock();
        let err = store.get("corp", SecretKind::Password).unwrap_err();
        assert!(matches!(err, SecretsError::Unavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("could not reach"), "{err}");
        store.unlock();
        assert_eq!(
            store.get("corp", SecretKind::Password).unwrap(),
            Some(secret("pw"))
        );
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let store = MemoryStore::new();
        store
            .set("corp", SecretKind::Password, &secret("hunter2"))
            .unwrap();
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("password:corp"), "{debug}");
    }
}
