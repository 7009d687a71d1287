//! Secrets: passwords, session tokens, SAML assertions, SSO cookies, in memory and in the OS
//! keyring.
//!
//! [`Sensitive`] holds a secret so that it can never be printed by accident: its `Debug` and
//! `Display` say `<redacted>` and it does not implement `Serialize`. Code that must write the
//! secret where it belongs calls [`Sensitive::expose`] at that one place. When it is dropped its
//! bytes are overwritten ([`Wipe`]), so the secret does not linger in freed memory.
//!
//! [`SecretStore`] is where secrets that outlive the process live: an endpoint's password and its
//! IdP single sign-on cookies. [`Keyring`] keeps them in the OS keyring (Keychain, Windows
//! Credential Manager, Secret Service); [`MemoryStore`] keeps them in memory, for tests and the
//! demo. This module never writes a secret to a file and never logs one.
//!
//! # Layout in the keyring
//!
//! Every entry has the service name [`KEYRING_SERVICE`] (`rolecall`) and a user string
//! `<kind>:<endpoint>`, e.g. `password:corp` or `sso:corp` (`#` and `%` in endpoint names are
//! percent-escaped so that names never collide with chunk names). A value that does not fit in
//! one entry (Windows Credential Manager takes at most [`ENTRY_LIMIT_UTF16`] UTF-16 units; SSO
//! cookies are often several KB) is split across `sso:corp#0`, `sso:corp#1`, ... and the entry
//! `sso:corp` then holds a header with the chunk count and a checksum. Every platform uses the
//! same layout, so what is tested here is what runs on Windows.

use std::fmt;

use zeroize::Zeroize as _;

mod chunks;
mod keyring;
mod memory;

pub use self::keyring::Keyring;
pub use self::memory::MemoryStore;

/// The service name of every keyring entry Rolecall writes.
pub const KEYRING_SERVICE: &str = "rolecall";

/// The largest value one keyring entry holds, in UTF-16 code units: Windows Credential Manager's
/// limit (2,560 bytes of UTF-16), the smallest of the supported keyrings.
pub const ENTRY_LIMIT_UTF16: usize = 1280;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T: Wipe>(T);

impl<T: Wipe> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that writes or sends it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The secret, out of its wrapper, for a caller that keeps it; the wrapper's own copy is
    /// wiped.
    pub fn into_inner(self) -> T
    where
        T: Clone,
    {
        self.0.clone()
    }
}

impl<T: Wipe> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

/// A value whose bytes can be overwritten in place, so that a dropped [`Sensitive`] leaves no
/// copy of its secret behind. Implemented with `zeroize` for the kinds of secret Rolecall
/// keeps.
pub trait Wipe {
    /// Overwrites the value's bytes and leaves it empty.
    fn wipe(&mut self);
}

impl Wipe for String {
    fn wipe(&mut self) {
        self.zeroize();
    }
}

impl Wipe for Vec<u8> {
    fn wipe(&mut self) {
        self.zeroize();
    }
}

impl<const N: usize> Wipe for [u8; N] {
    fn wipe(&mut self) {
        self.zeroize();
    }
}

/// Form fields (a password among them).
impl Wipe for Vec<(String, String)> {
    fn wipe(&mut self) {
        for (name, value) in self.iter_mut() {
            name.zeroize();
            value.zeroize();
        }
        self.clear();
    }
}

/// A URL that carries a token: its text is overwritten, `about:blank` is left.
impl Wipe for url::Url {
    fn wipe(&mut self) {
        if let Ok(blank) = url::Url::parse("about:blank") {
            let mut text: String = std::mem::replace(self, blank).into();
            text.zeroize();
        }
    }
}

impl<T: Wipe> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Wipe> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret can arrive in a message (the settings window sends a new password); it still never
/// leaves as one.
impl<'de, T: Wipe + serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

impl<T: Wipe> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An access key id as people may see it: `ASIA…WXYZ`, never more.
pub fn mask_access_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// What a stored secret is, for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// The password for NTLM, Kerberos or forms sign-in.
    Password,
    /// The IdP's single sign-on cookies (e.g. AD FS `MSISAuth`), serialised by the caller.
    SsoCookies,
}

impl SecretKind {
    pub const ALL: [SecretKind; 2] = [SecretKind::Password, SecretKind::SsoCookies];

    /// The prefix of the keyring user string: `password` or `sso`.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Password => "password",
            SecretKind::SsoCookies => "sso",
        }
    }

    /// The keyring user string of this kind of secret for `endpoint`, e.g. `password:corp`.
    pub fn keyring_user(self, endpoint: &str) -> String {
        let mut user = String::with_capacity(self.prefix().len() + 1 + endpoint.len());
        user.push_str(self.prefix());
        user.push(':');
        for c in endpoint.chars() {
            match c {
                // `#` separates chunk numbers; `%` is the escape itself.
                '#' => user.push_str("%23"),
                '%' => user.push_str("%25"),
                c => user.push(c),
            }
        }
        user
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::Password => "password",
            SecretKind::SsoCookies => "single sign-on session",
        })
    }
}

/// Where a store keeps the secrets, as the settings window names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretPlace {
    /// The platform's keyring: kept between runs.
    Keyring,
    /// This run's memory (the demo): gone when the app quits.
    Memory,
}

/// Where an endpoint's password and SSO cookies are kept between runs.
///
/// Calls may block (the Secret Service is a D-Bus round trip, Keychain may show a prompt): call
/// them from a blocking context (`tokio::task::spawn_blocking`), never on an async worker.
pub trait SecretStore: fmt::Debug + Send + Sync {
    /// Where this store keeps what it is given.
    fn place(&self) -> SecretPlace;

    /// The secret, or `None` when none is stored.
    fn get(
        &self,
        endpoint: &str,
        kind: SecretKind,
    ) -> Result<Option<Sensitive<String>>, SecretsError>;

    /// Stores the secret, replacing any earlier one.
    fn set(
        &self,
        endpoint: &str,
        kind: SecretKind,
        value: &Sensitive<String>,
    ) -> Result<(), SecretsError>;

    /// Removes the secret; removing one that is not there is not an error.
    fn delete(&self, endpoint: &str, kind: SecretKind) -> Result<(), SecretsError>;

    /// Removes every secret of an endpoint, e.g. when the endpoint is removed from the settings.
    fn forget_endpoint(&self, endpoint: &str) -> Result<(), SecretsError> {
        for kind in SecretKind::ALL {
            self.delete(endpoint, kind)?;
        }
        Ok(())
    }

    /// Moves every secret of an endpoint to its new name, when the endpoint is renamed.
    fn rename_endpoint(&self, from: &str, to: &str) -> Result<(), SecretsError> {
        if from == to {
            return Ok(());
        }
        for kind in SecretKind::ALL {
            if let Some(value) = self.get(from, kind)? {
                self.set(to, kind, &value)?;
                self.delete(from, kind)?;
            }
        }
        Ok(())
    }
}

/// What Rolecall was doing with a secret when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretAction {
    Read,
    Save,
    Delete,
}

impl fmt::Display for SecretAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretAction::Read => "read",
            SecretAction::Save => "save",
            SecretAction::Delete => "delete",
        })
    }
}

/// The sentence for a keyring that cannot be reached, in the words of the platform.
fn no_keyring_sentence() -> &'static str {
    if cfg!(target_os = "macos") {
        "Rolecall could not reach an unlocked keychain. Unlock your login keychain (Keychain \
         Access) or log in to a desktop session, then try again."
    } else if cfg!(windows) {
        "Rolecall could not reach the Windows Credential Manager. Log in to a desktop session \
         as yourself, then try again."
    } else {
        "Rolecall could not reach an unlocked keyring (Secret Service). Unlock your keyring \
         (GNOME Keyring, KWallet) or log in to a desktop session, then try again."
    }
}

/// A keyring operation that failed. The messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No keyring to talk to, or (Secret Service) only a locked one. `detail` is the keyring
    /// library's own words, for the log.
    #[error("{}", no_keyring_sentence())]
    Unavailable { detail: String },

    /// The keyring answered but refused (Keychain: the person clicked "Deny").
    #[error(
        "Your keyring refused to let Rolecall {action} the {kind} of endpoint \"{endpoint}\". \
         Allow Rolecall when the keyring asks (or in Keychain Access), then try again."
    )]
    AccessDenied {
        action: SecretAction,
        endpoint: String,
        kind: SecretKind,
        detail: String,
    },

    /// The stored value cannot be read back as Rolecall wrote it (not UTF-8, a chunk missing,
    /// a checksum mismatch).
    #[error(
        "The {kind} that Rolecall keeps for endpoint \"{endpoint}\" in your keyring is damaged. \
         Sign in to that endpoint again to replace it."
    )]
    Damaged { endpoint: String, kind: SecretKind },

    /// Several keyring items match one entry (Secret Service items made by another tool).
    #[error(
        "Your keyring holds {count} items for the {kind} of endpoint \"{endpoint}\" (service \
         \"{KEYRING_SERVICE}\", user \"{user}\"). Delete the extra ones in your keyring manager \
         (e.g. Seahorse), then try again."
    )]
    Ambiguous {
        endpoint: String,
        kind: SecretKind,
        user: String,
        count: usize,
    },

    /// Anything else the keyring reported.
    #[error(
        "Rolecall could not {action} the {kind} of endpoint \"{endpoint}\" in your keyring: \
         {detail}. Try again; if it keeps failing, restart your keyring or log out and in again."
    )]
    Failed {
        action: SecretAction,
        endpoint: String,
        kind: SecretKind,
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret that counts how often it was wiped.
    #[derive(Clone)]
    struct Counted(std::rc::Rc<std::cell::Cell<u32>>);

    impl Wipe for Counted {
        fn wipe(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn a_dropped_secret_is_wiped_once_and_one_taken_out_is_left_whole() {
        let wiped = std::rc::Rc::new(std::cell::Cell::new(0));
        drop(Sensitive::new(Counted(std::rc::Rc::clone(&wiped))));
        assert_eq!(wiped.get(), 1, "dropping wipes");

        let kept = Sensitive::new(Counted(std::rc::Rc::clone(&wiped))).into_inner();
        assert_eq!(wiped.get(), 2, "the wrapper's own copy is wiped");
        drop(kept);
        assert_eq!(wiped.get(), 2, "what the caller took out is the caller's");
    }

    #[test]
    fn wiping_overwrites_and_empties_each_kind_of_secret() {
        let mut password = "hunter2".to_owned();
        password.wipe();
        assert!(password.is_empty());
        let mut token = b"AUTHENTICATE".to_vec();
        token.wipe();
        assert!(token.is_empty());
        let mut key = [7_u8; 16];
        key.wipe();
        assert_eq!(key, [0; 16]);
        let mut fields = vec![("Password".to_owned(), "hunter2".to_owned())];
        fields.wipe();
        assert!(fields.is_empty());
        let mut url =
            url::Url::parse("https://signin.aws.amazon.com/federation?SigninToken=x").unwrap();
        url.wipe();
        assert_eq!(url.as_str(), "about:blank");
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let secret = Sensitive::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_deserialized_secret_is_as_redacted_as_any_other() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code, reason = "read through Debug only")]
        struct Form {
            password: Option<Sensitive<String>>,
        }
        let form: Form = serde_json::from_str(r#"{"password":"hunter2"}"#).unwrap();
        assert_eq!(format!("{form:?}"), "Form { password: Some(<redacted>) }");
        assert_eq!(form.password.unwrap().expose(), "hunter2");
    }

    #[test]
    fn access_keys_show_only_their_ends() {
        assert_eq!(mask_access_key("ASIAABCDEFGHIJKLWXYZ"), "ASIA…WXYZ");
        assert_eq!(mask_access_key("short"), "…");
    }

    #[test]
    fn keyring_users_name_the_kind_and_the_endpoint() {
        assert_eq!(SecretKind::Password.keyring_user("corp"), "password:corp");
        assert_eq!(SecretKind::SsoCookies.keyring_user("corp"), "sso:corp");
    }

    /// An endpoint called `x#0` must not share an entry with chunk 0 of endpoint `x`.
    #[test]
    fn endpoint_names_cannot_collide_with_chunk_names() {
        assert_eq!(SecretKind::SsoCookies.keyring_user("x#0"), "sso:x%230");
        assert_eq!(SecretKind::SsoCookies.keyring_user("50%"), "sso:50%25");
        assert_ne!(
            SecretKind::SsoCookies.keyring_user("x%230"),
            SecretKind::SsoCookies.keyring_user("x#0"),
            "the escape character is escaped too"
        );
    }

    #[test]
    fn errors_are_sentences_that_say_what_to_do() {
        let unavailable = SecretsError::Unavailable {
            detail: "org.freedesktop.DBus.Error.ServiceUnknown".to_owned(),
        }
        .to_string();
        assert!(unavailable.contains("could not reach"), "{unavailable}");
        assert!(unavailable.ends_with("then try again."), "{unavailable}");
        assert!(
            !unavailable.contains("ServiceUnknown"),
            "details are for the log, not the person: {unavailable}"
        );

        let damaged = SecretsError::Damaged {
            endpoint: "corp".to_owned(),
            kind: SecretKind::SsoCookies,
        }
        .to_string();
        assert_eq!(
            damaged,
            "The single sign-on session that Rolecall keeps for endpoint \"corp\" in your keyring \
             is damaged. Sign in to that endpoint again to replace it."
        );
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn the_secret_service_message_is_the_documented_sentence() {
        let message = SecretsError::Unavailable {
            detail: String::new(),
        }
        .to_string();
        assert_eq!(
            message,
            "Rolecall could not reach an unlocked keyring (Secret Service). Unlock your keyring \
             (GNOME Keyring, KWallet) or log in to a desktop session, then try again."
        );
    }

    #[test]
    fn rename_moves_every_kind_and_leaves_nothing_behind() {
        let store = MemoryStore::new();
        let password = Sensitive::new("pw".to_owned());
        let cookies = Sensitive::new("c".repeat(3000));
        store.set("old", SecretKind::Password, &password).unwrap();
        store.set("old", SecretKind::SsoCookies, &cookies).unwrap();

        store.rename_endpoint("old", "new").unwrap();

        assert_eq!(
            store.get("new", SecretKind::Password).unwrap(),
            Some(password)
        );
        assert_eq!(
            store.get("new", SecretKind::SsoCookies).unwrap(),
            Some(cookies)
        );
        assert!(
            store.entry_names().iter().all(|name| !name.contains("old")),
            "no entry of the old name may remain: {:?}",
            store.entry_names()
        );
    }

    #[test]
    fn forget_removes_both_kinds() {
        let store = MemoryStore::new();
        store
            .set(
                "corp",
                SecretKind::Password,
                &Sensitive::new("pw".to_owned()),
            )
            .unwrap();
        store
            .set(
                "corp",
                SecretKind::SsoCookies,
                &Sensitive::new("c".repeat(5000)),
            )
            .unwrap();
        store.forget_endpoint("corp").unwrap();
        assert!(store.entry_names().is_empty(), "{:?}", store.entry_names());
    }
}
