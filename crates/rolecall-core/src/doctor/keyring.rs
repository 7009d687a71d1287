//! The keyring check: whether the keyring answers (unlocked, reachable), and which endpoints
//! have a password and a single sign-on session in it. Only whether one is there is reported,
//! never the value.

use std::sync::Arc;

use super::{Check, CheckKind, Status};
use crate::secrets::{SecretKind, SecretStore, SecretsError};
use crate::settings::Endpoint;

/// The name looked up when there is no endpoint yet: an entry that is never there, so the
/// answer says only whether the keyring answers.
const PROBE_ENDPOINT: &str = "rolecall-doctor-probe";

pub(super) async fn checks(secrets: &Arc<dyn SecretStore>, endpoints: &[Endpoint]) -> Vec<Check> {
    let names: Vec<String> = endpoints.iter().map(|e| e.name.clone()).collect();
    let store = Arc::clone(secrets);
    let place = store.place();
    // Keyring calls block (a D-Bus round trip, a Keychain prompt).
    let found = tokio::task::spawn_blocking(move || look_up(store.as_ref(), &names)).await;
    let found = match found {
        Ok(found) => found,
        Err(err) => Err(SecretsError::Failed {
            action: crate::secrets::SecretAction::Read,
            endpoint: String::new(),
            kind: SecretKind::Password,
            detail: err.to_string(),
        }),
    };
    let place = match place {
        crate::secrets::SecretPlace::Keyring => "the keyring",
        crate::secrets::SecretPlace::Memory => "this run's memory (demo)",
    };
    let check = match found {
        Ok(kept) => {
            let mut check = Check::new(
                CheckKind::Keyring,
                Status::Ok,
                format!("{place} answers (it is unlocked)"),
            );
            for (endpoint, password, sso) in kept {
                check = check.detail(format!(
                    "{endpoint}: {}, {}",
                    if password {
                        "a password is stored"
                    } else {
                        "no password stored"
                    },
                    if sso {
                        "a single sign-on session is kept"
                    } else {
                        "no single sign-on session"
                    }
                ));
            }
            check
        }
        Err(err @ SecretsError::Unavailable { .. }) => {
            let mut check = Check::new(
                CheckKind::Keyring,
                Status::Fail,
                format!("{place} cannot be reached, or it is locked"),
            )
            .action(err.to_string());
            if let SecretsError::Unavailable { detail } = &err {
                check = check.detail(format!("the keyring library said: {detail}"));
            }
            check
        }
        Err(err) => Check::new(
            CheckKind::Keyring,
            Status::Warn,
            "the keyring answered with an error",
        )
        .action(err.to_string()),
    };
    vec![check]
}

/// Per endpoint: whether a password and an SSO session are stored.
fn look_up(
    store: &dyn SecretStore,
    names: &[String],
) -> Result<Vec<(String, bool, bool)>, SecretsError> {
    if names.is_empty() {
        store.get(PROBE_ENDPOINT, SecretKind::Password)?;
        return Ok(Vec::new());
    }
    names
        .iter()
        .map(|name| {
            let password = store.get(name, SecretKind::Password)?.is_some();
            let sso = store.get(name, SecretKind::SsoCookies)?.is_some();
            Ok((name.clone(), password, sso))
        })
        .collect()
}
