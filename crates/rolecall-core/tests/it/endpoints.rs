//! Endpoints and preferences as the settings window and the command line change them: an edit
//! keeps what it does not carry, a rename moves everything keyed by the name, a removal forgets
//! the secrets and stops the renewals.

use std::sync::Arc;

use rolecall_core::accounts::{self, AccountNames, Aliases, PageAccounts};
use rolecall_core::endpoints::{
    self, EndpointEdit, EndpointError, EndpointSave, NewEndpoint, PasswordChange, PreferencesPatch,
};
use rolecall_core::engine::{Action, Engine, EngineConfig, SystemClock};
use rolecall_core::paths::{AppPaths, Environment, Platform};
use rolecall_core::refused_passwords::RefusedPasswords;
use rolecall_core::registry::{ProfileSource, Registry};
use rolecall_core::saml::RolePair;
use rolecall_core::secrets::{MemoryStore, SecretKind, SecretPlace, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, ProxySetting, Settings, SignInMethod};
use rolecall_core::webview;
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const PROXY: &str = "http://proxy.corp.example:3128/";

struct Folder {
    paths: AppPaths,
    env: Environment,
    secrets: Arc<MemoryStore>,
    _dir: tempfile::TempDir,
}

/// A config folder with `corp` (forms, alice, a proxy, a trusted host, a pinned issuer), its
/// password and SSO cookies, a refused-password marker, webview data and one profile record.
fn folder() -> Folder {
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::new(Platform::current())
        .with("HOME", dir.path().to_string_lossy())
        .with(
            "ROLECALL_CONFIG_DIR",
            dir.path().join("config").to_string_lossy(),
        );
    let paths = AppPaths::resolve(&env).unwrap();
    let mut endpoint = Endpoint::new("corp", "https://sts.corp.example").unwrap();
    endpoint.method = SignInMethod::Forms;
    endpoint.username = Some("alice".to_owned());
    endpoint.proxy = ProxySetting::Url(url::Url::parse(PROXY).unwrap());
    endpoint.trusted_hosts = vec!["login.corp.example".to_owned()];
    endpoint.issuer = Some("http://sts.corp.example/adfs/services/trust".to_owned());
    endpoint.claims_provider = Some("AD AUTHORITY".to_owned());
    endpoint.keep_me_signed_in = true;
    let mut settings = Settings::default();
    settings.add_endpoint(endpoint.clone()).unwrap();
    settings.save(&paths).unwrap();
    let secrets = Arc::new(MemoryStore::new());
    for (kind, value) in [
        (SecretKind::Password, "hunter2"),
        (SecretKind::SsoCookies, "MSISAuth=abc"),
    ] {
        secrets
            .set("corp", kind, &Sensitive::new(value.to_owned()))
            .unwrap();
    }
    RefusedPasswords::new(&paths.config_dir)
        .mark("corp")
        .unwrap();
    let data = webview::data_directory(&paths.config_dir, "corp");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("cookies.sqlite"), "idp cookies").unwrap();
    let role = RolePair {
        role_arn: ADMIN.to_owned(),
        principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
    };
    let mut source = ProfileSource::new(&endpoint, &role, Some("eu-west-1"));
    source.keep_refreshed = true;
    Registry::load(&paths.config_dir)
        .unwrap()
        .record([("corp-admin".to_owned(), source)])
        .unwrap();
    Folder {
        paths,
        env,
        secrets,
        _dir: dir,
    }
}

impl Folder {
    fn endpoint(&self, name: &str) -> Option<Endpoint> {
        Settings::load(&self.paths).unwrap().endpoint(name).cloned()
    }

    fn secret(&self, name: &str, kind: SecretKind) -> Option<String> {
        self.secrets
            .get(name, kind)
            .unwrap()
            .map(|value| value.expose().clone())
    }

    fn record(&self, profile: &str) -> ProfileSource {
        Registry::load(&self.paths.config_dir)
            .unwrap()
            .get(profile)
            .cloned()
            .unwrap()
    }

    fn edit(&self, edit: EndpointEdit) -> Result<endpoints::Saved, EndpointError> {
        endpoints::edit_endpoint(&self.paths, self.secrets.as_ref(), edit)
    }
}

/// The settings window does not show the proxy, the trusted hosts or the pinned issuer; an
/// edit of what it shows (here, as it sends it) keeps them. It used to reset the proxy.
#[test]
fn an_edit_keeps_the_proxy_and_everything_else_it_does_not_carry() {
    let folder = folder();
    let request: EndpointSave = serde_json::from_value(serde_json::json!({
        "kind": "edit",
        "name": "corp",
        "new_name": "corp",
        "url": "https://sts.corp.example",
        "method": "ntlm",
        "username": "bob",
        "ca_file": null,
        "password": null,
        "forget_issuer": false,
    }))
    .unwrap();
    endpoints::save(&folder.paths, folder.secrets.as_ref(), request).unwrap();

    let endpoint = folder.endpoint("corp").unwrap();
    assert_eq!(endpoint.method, SignInMethod::Ntlm, "the edit is saved");
    assert_eq!(endpoint.username.as_deref(), Some("bob"));
    assert_eq!(
        endpoint.proxy,
        ProxySetting::Url(url::Url::parse(PROXY).unwrap()),
        "the proxy stays"
    );
    assert_eq!(endpoint.trusted_hosts, ["login.corp.example"]);
    assert!(endpoint.issuer.is_some(), "the pin stays with the same IdP");
    assert_eq!(endpoint.claims_provider.as_deref(), Some("AD AUTHORITY"));
    assert!(endpoint.keep_me_signed_in, "left out, it stays");
    assert_eq!(
        folder.secret("corp", SecretKind::Password).as_deref(),
        Some("hunter2"),
        "no password in the form keeps the stored one"
    );
    assert!(
        RefusedPasswords::new(&folder.paths.config_dir).is_refused("corp"),
        "the refused password is still not tried: no new one was entered"
    );
    let record = folder.record("corp-admin");
    assert_eq!(
        (record.method, record.username.as_deref()),
        (SignInMethod::Ntlm, Some("bob")),
        "the profile's record follows the edit, so a renewal signs in as the endpoint now says"
    );
}

/// The settings window sends the claims provider (blank for none) and the "Keep me signed in"
/// box with every save; the view shows what is saved.
#[test]
fn the_window_sets_and_clears_the_claims_provider_and_keep_me_signed_in() {
    let folder = folder();
    let edit = |provider: serde_json::Value, keep: bool| {
        let request: EndpointSave = serde_json::from_value(serde_json::json!({
            "kind": "edit",
            "name": "corp",
            "claims_provider": provider,
            "keep_me_signed_in": keep,
        }))
        .unwrap();
        endpoints::save(&folder.paths, folder.secrets.as_ref(), request)
    };
    edit(serde_json::json!("  Partner & Co "), false).unwrap();
    let corp = folder.endpoint("corp").unwrap();
    assert_eq!(
        corp.claims_provider.as_deref(),
        Some("Partner & Co"),
        "trimmed"
    );
    assert!(!corp.keep_me_signed_in);
    let view = endpoints::view(&folder.paths, folder.secrets.as_ref(), []).unwrap();
    assert_eq!(
        view.endpoints[0].claims_provider.as_deref(),
        Some("Partner & Co")
    );

    edit(serde_json::json!(""), true).unwrap();
    let corp = folder.endpoint("corp").unwrap();
    assert_eq!(corp.claims_provider, None, "blank clears it");
    assert!(corp.keep_me_signed_in);

    let err = edit(serde_json::json!("AD\u{7}AUTHORITY"), true).unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("claims_provider"), "{err}");

    let added: EndpointSave = serde_json::from_value(serde_json::json!({
        "kind": "add",
        "name": "lab",
        "url": "https://sts.lab.example",
        "claims_provider": "AD AUTHORITY",
        "keep_me_signed_in": true,
    }))
    .unwrap();
    endpoints::save(&folder.paths, folder.secrets.as_ref(), added).unwrap();
    let lab = folder.endpoint("lab").unwrap();
    assert_eq!(lab.claims_provider.as_deref(), Some("AD AUTHORITY"));
    assert!(lab.keep_me_signed_in);
}

/// A rename moves the password and SSO cookies, the sign-in window's data, the refused
/// password marker and the profile records together. Renaming used to orphan the profiles:
/// never renewed again and gone from the tray.
#[test]
fn a_rename_moves_secrets_window_data_marker_and_profiles() {
    let folder = folder();
    let saved = endpoints::rename(&folder.paths, folder.secrets.as_ref(), "corp", "work").unwrap();
    assert_eq!(saved.renamed_from.as_deref(), Some("corp"));
    assert_eq!(saved.profiles, ["corp-admin"]);

    assert!(folder.endpoint("corp").is_none());
    let endpoint = folder
        .endpoint("work")
        .expect("the endpoint has its new name");
    assert_eq!(
        endpoint.proxy,
        ProxySetting::Url(url::Url::parse(PROXY).unwrap())
    );
    assert!(
        endpoint.issuer.is_some(),
        "a rename is no reason to forget the pin"
    );
    for (kind, value) in [
        (SecretKind::Password, "hunter2"),
        (SecretKind::SsoCookies, "MSISAuth=abc"),
    ] {
        assert_eq!(
            folder.secret("work", kind).as_deref(),
            Some(value),
            "{kind}"
        );
        assert_eq!(
            folder.secret("corp", kind),
            None,
            "{kind} left the old name"
        );
    }
    let refused = RefusedPasswords::new(&folder.paths.config_dir);
    assert!(refused.is_refused("work") && !refused.is_refused("corp"));
    let config = &folder.paths.config_dir;
    assert_eq!(
        std::fs::read_to_string(webview::data_directory(config, "work").join("cookies.sqlite"))
            .unwrap(),
        "idp cookies"
    );
    assert!(!webview::data_directory(config, "corp").exists());
    let record = folder.record("corp-admin");
    assert_eq!(record.endpoint, "work");
    assert_eq!(
        (record.region.as_deref(), record.keep_refreshed),
        (Some("eu-west-1"), true),
        "the profile keeps its region and stays kept fresh"
    );
}

/// A rename that cannot finish (the new name is taken) changes nothing, and leaves nothing of
/// the other endpoint's under the old one's secrets.
#[test]
fn a_rename_to_a_taken_name_changes_nothing() {
    let folder = folder();
    endpoints::add(
        &folder.paths,
        folder.secrets.as_ref(),
        NewEndpoint {
            name: "lab".to_owned(),
            url: "https://sts.lab.example".to_owned(),
            method: SignInMethod::Auto,
            username: None,
            ca_file: None,
            proxy: ProxySetting::System,
            trusted_hosts: Vec::new(),
            claims_provider: None,
            keep_me_signed_in: false,
            password: PasswordChange::Set(Sensitive::new("lab-password".to_owned())),
        },
    )
    .unwrap();
    let err = endpoints::rename(&folder.paths, folder.secrets.as_ref(), "corp", "lab").unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("lab"), "{err}");
    assert!(folder.endpoint("corp").is_some() && folder.endpoint("lab").is_some());
    assert_eq!(
        folder.secret("corp", SecretKind::Password).as_deref(),
        Some("hunter2")
    );
    assert_eq!(
        folder.secret("lab", SecretKind::Password).as_deref(),
        Some("lab-password")
    );
    assert_eq!(folder.record("corp-admin").endpoint, "corp");
    assert!(webview::data_directory(&folder.paths.config_dir, "corp").exists());
}

/// A rename whose settings write fails after the secrets and records moved takes every step
/// back: the file, the keyring and the records agree on the old name.
#[test]
fn a_rename_that_cannot_write_the_settings_takes_its_steps_back() {
    let folder = folder();
    // A folder where the settings file's lock goes: the rename's last step cannot take it.
    let lock = rolecall_core::store::lock_path_for(&folder.paths.settings_file());
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let err =
        endpoints::rename(&folder.paths, folder.secrets.as_ref(), "corp", "work").unwrap_err();
    assert!(!err.is_invalid_input(), "{err}");
    assert!(
        err.to_string().contains("settings.toml"),
        "the message names the file: {err}"
    );
    std::fs::remove_dir(&lock).unwrap();
    assert!(folder.endpoint("corp").is_some());
    for (kind, value) in [
        (SecretKind::Password, "hunter2"),
        (SecretKind::SsoCookies, "MSISAuth=abc"),
    ] {
        assert_eq!(
            folder.secret("corp", kind).as_deref(),
            Some(value),
            "{kind}"
        );
        assert_eq!(folder.secret("work", kind), None, "{kind}");
    }
    assert_eq!(folder.record("corp-admin").endpoint, "corp");
    assert!(RefusedPasswords::new(&folder.paths.config_dir).is_refused("corp"));
    assert!(webview::data_directory(&folder.paths.config_dir, "corp").exists());
    assert!(!webview::data_directory(&folder.paths.config_dir, "work").exists());
}

/// A new password replaces the one the IdP refused, so background sign-ins may use it again;
/// an empty one forgets it.
#[test]
fn a_new_password_clears_the_refused_marker_and_an_empty_one_forgets_it() {
    let folder = folder();
    folder
        .edit(EndpointEdit {
            name: "corp".to_owned(),
            password: Some(Sensitive::new("new one".to_owned())).into(),
            ..EndpointEdit::default()
        })
        .unwrap();
    assert_eq!(
        folder.secret("corp", SecretKind::Password).as_deref(),
        Some("new one")
    );
    assert!(!RefusedPasswords::new(&folder.paths.config_dir).is_refused("corp"));
    folder
        .edit(EndpointEdit {
            name: "corp".to_owned(),
            password: Some(Sensitive::new(String::new())).into(),
            ..EndpointEdit::default()
        })
        .unwrap();
    assert_eq!(folder.secret("corp", SecretKind::Password), None);
}

/// Removing forgets the secrets, the window data and the marker; the profiles stay in the AWS
/// files, no longer renewed, and the result says so.
#[test]
fn a_removal_forgets_the_secrets_and_stops_renewing_its_profiles() {
    let folder = folder();
    let removed = endpoints::remove(&folder.paths, folder.secrets.as_ref(), "corp").unwrap();
    assert_eq!(removed.profiles, ["corp-admin"]);
    let said = removed.to_string();
    assert!(
        said.contains("\"corp-admin\" stays in your AWS files") && said.contains("no longer"),
        "{said}"
    );
    assert!(folder.endpoint("corp").is_none());
    for kind in SecretKind::ALL {
        assert_eq!(folder.secret("corp", kind), None, "{kind}");
    }
    assert!(!RefusedPasswords::new(&folder.paths.config_dir).is_refused("corp"));
    assert!(!webview::data_directory(&folder.paths.config_dir, "corp").exists());
    let record = folder.record("corp-admin");
    assert!(
        !record.keep_refreshed,
        "the record stays, so the profile is still known as Rolecall's, but is not kept"
    );

    let err = endpoints::remove(&folder.paths, folder.secrets.as_ref(), "corp").unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
}

/// Preferences change by patch: what the person did not change keeps what the file has, a
/// favourite chosen meanwhile among it.
#[test]
fn a_preferences_patch_changes_only_what_it_carries() {
    let folder = folder();
    endpoints::update_settings(&folder.paths, |settings| {
        settings.preferences.favourites.push(ADMIN.to_owned());
        settings.preferences.default_region = Some("eu-west-1".to_owned());
        Ok(())
    })
    .unwrap();
    let patch: PreferencesPatch = serde_json::from_value(serde_json::json!({
        "session_duration_secs": 7200,
        "default_output": " ",
    }))
    .unwrap();
    endpoints::set_preferences(&folder.paths, &patch).unwrap();
    let preferences = Settings::load(&folder.paths).unwrap().preferences;
    assert_eq!(preferences.session_duration_secs, 7200);
    assert_eq!(preferences.default_output, None, "blank is none");
    assert_eq!(preferences.default_region.as_deref(), Some("eu-west-1"));
    assert_eq!(preferences.favourites, [ADMIN]);

    let cleared: PreferencesPatch =
        serde_json::from_value(serde_json::json!({ "default_region": null })).unwrap();
    endpoints::set_preferences(&folder.paths, &cleared).unwrap();
    let preferences = Settings::load(&folder.paths).unwrap().preferences;
    assert_eq!(preferences.default_region, None, "null clears");
    assert_eq!(preferences.session_duration_secs, 7200);

    let refused: PreferencesPatch =
        serde_json::from_value(serde_json::json!({ "session_duration_secs": 60 })).unwrap();
    let err = endpoints::set_preferences(&folder.paths, &refused).unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
}

/// The settings window's view tells which stored passwords the IdP refused, and shows the
/// proxy it does not edit.
#[test]
fn the_view_shows_passwords_refusals_and_the_proxy() {
    let folder = folder();
    let view = endpoints::view(&folder.paths, folder.secrets.as_ref(), []).unwrap();
    let corp = &view.endpoints[0];
    assert!(corp.password == Some(SecretPlace::Memory) && corp.password_refused);
    assert_eq!(
        serde_json::to_value(&corp.proxy).unwrap(),
        serde_json::json!(PROXY)
    );
    assert!(
        !format!("{view:?}").contains("hunter2"),
        "the view never holds a secret"
    );
}

/// The roles list says where each account's name came from, as a word the window turns into
/// a sentence.
#[test]
fn the_view_says_where_each_accounts_name_came_from() {
    let folder = folder();
    let pair = |account: &str| RolePair {
        role_arn: format!("arn:aws:iam::{account}:role/Admin"),
        principal_arn: format!("arn:aws:iam::{account}:saml-provider/ADFS"),
    };
    let names = AccountNames {
        page: PageAccounts::from([("111122223333".to_owned(), Some("corp-prod".to_owned()))]),
        cache: Aliases::from([("444455556666".to_owned(), "corp-staging".to_owned())]),
        settings: Aliases::from([("777788889999".to_owned(), "audit".to_owned())]),
    };
    let roles = [
        "111122223333",
        "444455556666",
        "777788889999",
        "999999999999",
    ]
    .map(pair);
    let accounts = accounts::group(&roles, &names);
    let view = endpoints::view(
        &folder.paths,
        folder.secrets.as_ref(),
        [("corp", accounts.as_slice())],
    )
    .unwrap();
    let json = serde_json::to_value(&view).unwrap();
    let rows: Vec<(&str, &str)> = json["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["account"].as_str().unwrap(),
                row["account_name_source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("audit (777788889999)", "settings"),
            ("corp-prod (111122223333)", "page"),
            ("corp-staging (444455556666)", "cache"),
            ("999999999999", "none"),
        ]
    );
}

/// Through the engine: a renamed endpoint's profile is still shown and renewed under the new
/// name, and the engine remembers its sign-in there.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_rename_the_engine_still_shows_and_renews_the_profiles() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(listener, SimConfig::demo()).await.unwrap();
    let folder = folder();
    let env = folder
        .env
        .clone()
        .with("AWS_ENDPOINT_URL_STS", sim.sts_url());
    // `corp` at the simulator, with alice's password; no proxy (the simulator is on loopback).
    endpoints::update_settings(&folder.paths, |settings| {
        let mut endpoint = Endpoint::new("corp", sim.sign_on_url().as_str())?;
        endpoint.method = SignInMethod::Forms;
        endpoint.username = Some("alice".to_owned());
        settings.update_endpoint("corp", endpoint)
    })
    .unwrap();
    RefusedPasswords::new(&folder.paths.config_dir)
        .clear("corp")
        .unwrap();
    folder
        .secrets
        .set(
            "corp",
            SecretKind::Password,
            &Sensitive::new(DEMO_PASSWORD.to_owned()),
        )
        .unwrap();
    let (engine, _notices) = Engine::new(EngineConfig {
        paths: folder.paths.clone(),
        env,
        secrets: Arc::clone(&folder.secrets) as Arc<dyn SecretStore>,
        clock: Arc::new(SystemClock),
    });
    engine
        .act(Action::Use {
            endpoint: "corp".to_owned(),
            role_arn: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let credentials = || std::fs::read_to_string(&folder.paths.aws_credentials_file).unwrap();
    let before = credentials();

    engine
        .act(Action::SaveEndpoint(EndpointSave::Edit(EndpointEdit {
            name: "corp".to_owned(),
            new_name: Some("work".to_owned()),
            ..EndpointEdit::default()
        })))
        .await
        .unwrap();
    let status = engine.status();
    let names: Vec<&str> = status.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["work"]);
    assert!(
        !status.endpoints[0].accounts.is_empty(),
        "the accounts signed in to stay listed under the new name"
    );
    let shown: Vec<(&str, &str)> = status
        .profiles
        .iter()
        .map(|p| (p.name.as_str(), p.endpoint.as_str()))
        .collect();
    assert!(
        shown.contains(&("default", "work")) && shown.contains(&("corp-admin", "work")),
        "the profiles are shown under the new name: {shown:?}"
    );

    engine.act(Action::RenewNow).await.unwrap();
    assert_ne!(
        credentials(),
        before,
        "Renew now renews the renamed endpoint's profiles"
    );
    assert!(
        engine
            .status()
            .profiles
            .iter()
            .all(|p| p.last_error.is_none()),
        "{:?}",
        engine.status().profiles
    );

    engine
        .act(Action::RemoveEndpoint {
            name: "work".to_owned(),
        })
        .await
        .unwrap();
    let status = engine.status();
    assert!(status.endpoints.is_empty() && status.profiles.is_empty());
    assert!(credentials().contains("[default]"), "the profiles stay");
}
