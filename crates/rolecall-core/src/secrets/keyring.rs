//! The OS keyring, through the `keyring` crate (4.x, its default `v1` feature): Keychain on
//! macOS, Credential Manager on Windows, the Secret Service (GNOME Keyring, KWallet) elsewhere.
//!
//! # How keyring 4 picks its store
//!
//! `keyring` 4 is a thin wrapper over `keyring-core`, whose entries are built by a process-wide
//! *default store*. The wrapper's `Entry::new` first forces a `LazyLock` that creates the
//! platform store (for the Secret Service, `zbus-secret-service-keyring-store`, which connects to
//! the session bus named by `DBUS_SESSION_BUS_ADDRESS` right then) and installs it with
//! `keyring_core::set_default_store`. So:
//!
//! - we set no store ourselves: the first `Entry::new` (or `Entry::store_status`) does it, once
//!   per process, and every later call is a no-op; [`Keyring::new`] forces it so it happens at a
//!   known moment;
//! - if that first attempt fails (no session bus, no Secret Service on it), keyring 4 never
//!   retries: every `Entry::new` of the process then fails with `NoDefaultStore`, which we report
//!   as "no unlocked keyring", and `Entry::store_status` keeps the original error for the log;
//! - a store a test installs with `keyring_core::set_default_store` *before* that first call is
//!   replaced by the platform store, and one installed after it wins for the whole process. Our
//!   tests therefore never touch the default store: they build entries in a `keyring-core` mock
//!   store explicitly ([`Keyring::in_store`]), and the real Secret Service is tested in a child
//!   process that has the private bus in its environment from the start.

use std::fmt;
#[cfg(test)]
use std::sync::Arc;

use super::chunks::{self, Fault, Slots};
use super::{
    ENTRY_LIMIT_UTF16, KEYRING_SERVICE, SecretKind, SecretPlace, SecretStore, SecretsError,
    Sensitive,
};

/// Secrets in the OS keyring, under the service name `rolecall`.
pub struct Keyring {
    source: Source,
}

enum Source {
    /// The platform store keyring 4 installs as `keyring-core`'s default.
    Platform,
    /// Entries built in this store, bypassing the process-wide default.
    #[cfg(test)]
    Store(Arc<keyring_core::CredentialStore>),
}

impl Keyring {
    /// The platform keyring. Connects on the first call in the process (see the module docs);
    /// failing to connect is reported by the first operation, not here.
    pub fn new() -> Self {
        if let Err(err) = ::keyring::Entry::store_status() {
            tracing::warn!(%err, "the OS keyring is not available");
        }
        Self {
            source: Source::Platform,
        }
    }

    /// The platform keyring, connected when a secret is first asked for rather than now: for
    /// commands that usually need none (`rolecall exec` and `rolecall env` while the
    /// credentials are fresh), so they never wait for the session bus.
    pub fn when_needed() -> Self {
        Self {
            source: Source::Platform,
        }
    }

    /// A keyring whose entries live in `store` (a `keyring-core` mock in tests).
    #[cfg(test)]
    pub(crate) fn in_store(store: Arc<keyring_core::CredentialStore>) -> Self {
        Self {
            source: Source::Store(store),
        }
    }

    fn entry(&self, user: &str) -> Result<::keyring::Entry, Fault> {
        let entry = match &self.source {
            Source::Platform => ::keyring::Entry::new(KEYRING_SERVICE, user),
            #[cfg(test)]
            Source::Store(store) => keyring_core::Entry::new_in_store(store, KEYRING_SERVICE, user)
                .map(|inner| ::keyring::Entry { inner }),
        };
        entry.map_err(|err| match err {
            // Only the platform store's one-time setup fails this way; its own error says why.
            ::keyring::Error::NoDefaultStore => match ::keyring::Entry::store_status() {
                Err(cause) => Fault::Unavailable(cause.to_string()),
                Ok(()) => fault(err, user),
            },
            err => fault(err, user),
        })
    }
}

impl Default for Keyring {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = match self.source {
            Source::Platform => "platform",
            #[cfg(test)]
            Source::Store(_) => "explicit",
        };
        f.debug_struct("Keyring")
            .field("service", &KEYRING_SERVICE)
            .field("store", &store)
            .finish()
    }
}

/// On the Secret Service, `NoStorageAccess` means a locked collection or a dismissed unlock
/// prompt: the person needs an unlocked keyring. On Keychain and Credential Manager it means the
/// keyring said no to us.
const ACCESS_REFUSAL_MEANS_LOCKED: bool = !cfg!(any(target_os = "macos", windows));

/// Words in a Secret Service failure that mean nobody owns `org.freedesktop.secrets` (any more).
const NO_SERVICE_SIGNS: &[&str] = &[
    "ServiceUnknown",
    "NameHasNoOwner",
    "org.freedesktop.secrets was not provided",
];

fn fault(err: ::keyring::Error, user: &str) -> Fault {
    use ::keyring::Error;
    match err {
        Error::NoDefaultStore => Fault::Unavailable(Error::NoDefaultStore.to_string()),
        Error::NoStorageAccess(cause) if ACCESS_REFUSAL_MEANS_LOCKED => {
            Fault::Unavailable(cause.to_string())
        }
        Error::NoStorageAccess(cause) => Fault::Denied(cause.to_string()),
        Error::PlatformFailure(cause) => {
            let detail = cause.to_string();
            if NO_SERVICE_SIGNS.iter().any(|sign| detail.contains(sign)) {
                Fault::Unavailable(detail)
            } else {
                Fault::Other(detail)
            }
        }
        // The bytes these carry are (part of) a secret: they are dropped here, never shown.
        Error::BadEncoding(_) | Error::BadDataFormat(..) => Fault::Damaged,
        Error::Ambiguous(items) => Fault::Ambiguous {
            user: user.to_owned(),
            count: items.len(),
        },
        other => Fault::Other(other.to_string()),
    }
}

impl Slots for Keyring {
    fn read(&self, user: &str) -> Result<Option<String>, Fault> {
        match self.entry(user)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(::keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(fault(err, user)),
        }
    }

    fn write(&self, user: &str, value: &str) -> Result<(), Fault> {
        self.entry(user)?
            .set_password(value)
            .map_err(|err| fault(err, user))
    }

    fn remove(&self, user: &str) -> Result<bool, Fault> {
        match self.entry(user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(::keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(fault(err, user)),
        }
    }
}

impl SecretStore for Keyring {
    fn place(&self) -> SecretPlace {
        SecretPlace::Keyring
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
    use keyring_core::mock;

    fn mock_keyring() -> (Keyring, Arc<keyring_core::CredentialStore>) {
        let store: Arc<keyring_core::CredentialStore> = mock::Store::new().unwrap();
        (Keyring::in_store(store.clone()), store)
    }

    /// Makes the next call on entry `user` of the mock fail with `err`.
    fn fail_next(store: &Arc<keyring_core::CredentialStore>, user: &str, err: ::keyring::Error) {
        let entry = keyring_core::Entry::new_in_store(store, KEYRING_SERVICE, user).unwrap();
        let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(err);
    }

    fn secret(value: &str) -> Sensitive<String> {
        Sensitive::new(value.to_owned())
    }

    #[test]
    fn passwords_round_trip_under_service_rolecall() {
        let (keyring, store) = mock_keyring();
        keyring
            .set("corp", SecretKind::Password, &secret("hunter2"))
            .unwrap();
        let raw = keyring_core::Entry::new_in_store(&store, "rolecall", "password:corp")
            .unwrap()
            .get_password()
            .unwrap();
        assert_eq!(
            raw, "hunter2",
            "the entry is service rolecall, user password:corp"
        );
        assert_eq!(
            keyring.get("corp", SecretKind::Password).unwrap(),
            Some(secret("hunter2"))
        );
        keyring.delete("corp", SecretKind::Password).unwrap();
        assert_eq!(keyring.get("corp", SecretKind::Password).unwrap(), None);
    }

    #[test]
    fn sso_cookies_of_several_kb_are_chunked_in_the_keyring_too() {
        let (keyring, store) = mock_keyring();
        let cookies = secret(&"MSISAuth=abc; ".repeat(400));
        keyring
            .set("corp", SecretKind::SsoCookies, &cookies)
            .unwrap();
        let first = keyring_core::Entry::new_in_store(&store, "rolecall", "sso:corp#0")
            .unwrap()
            .get_password()
            .unwrap();
        assert_eq!(first.chars().count(), ENTRY_LIMIT_UTF16);
        assert_eq!(
            keyring.get("corp", SecretKind::SsoCookies).unwrap(),
            Some(cookies)
        );
    }

    #[test]
    fn no_default_store_is_no_unlocked_keyring() {
        let (keyring, store) = mock_keyring();
        fail_next(&store, "password:corp", ::keyring::Error::NoDefaultStore);
        let err = keyring.get("corp", SecretKind::Password).unwrap_err();
        assert!(matches!(err, SecretsError::Unavailable { .. }), "{err:?}");
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn a_locked_secret_service_is_no_unlocked_keyring() {
        let (keyring, store) = mock_keyring();
        fail_next(
            &store,
            "password:corp",
            ::keyring::Error::NoStorageAccess("Locked".into()),
        );
        let err = keyring
            .set("corp", SecretKind::Password, &secret("pw"))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Rolecall could not reach an unlocked keyring (Secret Service)."),
            "{err}"
        );
    }

    #[test]
    fn a_vanished_secret_service_is_no_unlocked_keyring() {
        let (keyring, store) = mock_keyring();
        fail_next(
            &store,
            "password:corp",
            ::keyring::Error::PlatformFailure(
                "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was \
                 not provided by any .service files"
                    .into(),
            ),
        );
        let err = keyring.get("corp", SecretKind::Password).unwrap_err();
        assert!(matches!(err, SecretsError::Unavailable { .. }), "{err:?}");
    }

    #[test]
    fn other_platform_failures_name_the_action_endpoint_and_kind() {
        let (keyring, store) = mock_keyring();
        fail_next(
            &store,
            "sso:corp",
            ::keyring::Error::PlatformFailure("disk full".into()),
        );
        let err = keyring
            .set("corp", SecretKind::SsoCookies, &secret("c"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Rolecall could not save the single sign-on session of endpoint \"corp\" in your \
             keyring: disk full. Try again; if it keeps failing, restart your keyring or log out \
             and in again."
        );
    }

    #[test]
    fn undecodable_bytes_are_damaged_and_never_shown() {
        let (keyring, store) = mock_keyring();
        keyring
            .set("corp", SecretKind::Password, &secret("x"))
            .unwrap();
        fail_next(
            &store,
            "password:corp",
            ::keyring::Error::BadEncoding(b"hunter2\xff".to_vec()),
        );
        let err = keyring.get("corp", SecretKind::Password).unwrap_err();
        assert!(matches!(err, SecretsError::Damaged { .. }), "{err:?}");
        assert!(!format!("{err:?}{err}").contains("hunter2"));
    }

    #[test]
    fn debug_names_the_service_only() {
        let (keyring, _) = mock_keyring();
        assert_eq!(
            format!("{keyring:?}"),
            "Keyring { service: \"rolecall\", store: \"explicit\" }"
        );
    }
}
