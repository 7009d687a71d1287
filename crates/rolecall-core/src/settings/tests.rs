//! The settings module's tests.

use super::*;

#[cfg(unix)]
#[test]
fn a_fifo_as_the_ca_file_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("corp.pem");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let problem = check_ca_file(&fifo).unwrap_err();
    assert!(
        matches!(&problem, CaProblem::Unreadable(why) if why.contains("FIFO")),
        "{problem:?}"
    );
}
use proptest::prelude::*;
use std::fs;

/// A config folder inside a temporary directory; the AWS files are never touched here.
struct Folder {
    _root: tempfile::TempDir,
    paths: AppPaths,
}

fn folder() -> Folder {
    let root = tempfile::tempdir().unwrap();
    let paths = AppPaths {
        config_dir: root.path().join("config").join("rolecall"),
        aws_credentials_file: root.path().join("aws-credentials"),
        aws_config_file: root.path().join("aws-config"),
    };
    Folder { _root: root, paths }
}

impl Folder {
    fn write(&self, text: impl AsRef<[u8]>) {
        fs::create_dir_all(&self.paths.config_dir).unwrap();
        fs::write(self.paths.settings_file(), text).unwrap();
    }

    fn load(&self) -> Result<Settings, SettingsError> {
        Settings::load(&self.paths)
    }

    fn load_err(&self, text: &str) -> String {
        self.write(text);
        match self.load() {
            Ok(settings) => panic!("{text:?} should be refused, got {settings:#?}"),
            Err(err) => err.to_string(),
        }
    }

    fn root(&self) -> &Path {
        self._root.path()
    }
}

const CORP_URL: &str =
    "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices";

fn url_of(input: &str) -> String {
    endpoint_url(input)
        .unwrap_or_else(|err| panic!("{input:?} should be accepted: {err}"))
        .to_string()
}

fn endpoint(name: &str) -> Endpoint {
    Endpoint::new(name, "sts.corp.example").unwrap()
}

fn problem(settings: &Settings) -> Problem {
    settings
        .validate()
        .expect_err("these settings should be refused")
}

fn with_preferences(change: impl FnOnce(&mut Preferences)) -> Settings {
    let mut settings = Settings::default();
    change(&mut settings.preferences);
    settings
}

// ---- Loading ----------------------------------------------------------------------------

#[test]
fn a_missing_file_gives_the_defaults() {
    let folder = folder();
    let settings = folder.load().unwrap();
    assert_eq!(settings, Settings::default());
    assert_eq!(settings.preferences.active_profile, "default");
    assert_eq!(
        settings.preferences.profile_template,
        "{account_alias}-{role}"
    );
    assert_eq!(settings.preferences.session_duration_secs, 3600);
    assert_eq!(settings.preferences.refresh_lead_minutes, 15);
    assert_eq!(settings.preferences.notify_lead_minutes, 10);
    assert!(
        !folder.paths.config_dir.exists(),
        "loading must not create the folder"
    );
}

#[test]
fn a_hand_written_file_loads_with_defaults_for_what_it_leaves_out() {
    let folder = folder();
    folder.write(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\n\
         [preferences]\ndefault_region = \"eu-west-1\"\n",
    );
    let settings = folder.load().unwrap();
    let corp = settings.endpoint("corp").unwrap();
    assert_eq!(corp.url.as_str(), CORP_URL);
    assert_eq!(corp.method, SignInMethod::Auto);
    assert_eq!(corp.proxy, ProxySetting::System);
    assert_eq!(
        settings.preferences.default_region.as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(settings.preferences.session_duration_secs, 3600);
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let folder = folder();
    folder.write("\u{feff}[preferences]\nactive_profile = \"work\"\n");
    assert_eq!(folder.load().unwrap().preferences.active_profile, "work");
}

#[test]
fn a_syntax_error_names_the_file_line_and_column() {
    let folder = folder();
    let message = folder.load_err("[preferences]\nactive_profile = \"work\"\nrefresh = = 3\n");
    assert!(
        message.contains(&folder.paths.settings_file().display().to_string()),
        "{message}"
    );
    assert!(message.contains("line 3, column"), "{message}");
    assert!(message.contains("move the file away"), "{message}");
}

#[test]
fn a_wrong_type_names_the_line() {
    let folder = folder();
    let message = folder.load_err("[preferences]\nsession_duration_secs = \"an hour\"\n");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_place() {
    let folder = folder();
    folder.write(b"[preferences]\nactive_profile = \"w\xffrk\"\n");
    let message = folder.load().unwrap_err().to_string();
    assert!(message.contains("not UTF-8"), "{message}");
    assert!(message.contains("line 2, column 20"), "{message}");
}

#[test]
fn an_unreadable_file_names_the_path() {
    let folder = folder();
    // A folder where the file should be: unreadable even for root.
    fs::create_dir_all(folder.paths.settings_file()).unwrap();
    let message = folder.load().unwrap_err().to_string();
    assert!(
        message.contains("is a folder, not a regular file"),
        "{message}"
    );
    assert!(message.contains("settings.toml"), "{message}");
}

/// Typos must not be silently ignored: `sesion_duration_secs` would otherwise do nothing.
#[test]
fn unknown_keys_are_named_with_their_place() {
    let folder = folder();
    let message = folder.load_err("[preferences]\nsesion_duration_secs = 7200\n");
    assert!(
        message.contains("unknown setting `sesion_duration_secs`"),
        "{message}"
    );
    assert!(message.contains("in [preferences]"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(
        message.contains("session_duration_secs"),
        "lists the known ones: {message}"
    );

    let message = folder.load_err(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethd = \"forms\"\n",
    );
    assert!(message.contains("`methd`"), "{message}");
    assert!(message.contains("in a [[endpoints]] entry"), "{message}");

    let message = folder.load_err("verbose = true\n");
    assert!(message.contains("`verbose`"), "{message}");
    assert!(message.contains("at the top of the file"), "{message}");
}

#[test]
fn known_keys_are_accepted_everywhere() {
    let folder = folder();
    let pem = folder.root().join("ca.pem");
    fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    folder.write(format!(
        "[preferences]\nactive_profile = \"work\"\nprofile_template = \"{{role}}\"\n\
         session_duration_secs = 7200\nrefresh_lead_minutes = 5\nnotify_lead_minutes = 0\n\
         default_region = \"us-gov-west-1\"\ndefault_output = \"json\"\n\n\
         [[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethod = \"ntlm\"\n\
         username = \"CORP\\\\alice\"\nca_file = {:?}\nproxy = \"none\"\n\
         issuer = \"http://adfs.corp.example/adfs/services/trust\"\n",
        pem.display().to_string()
    ));
    let settings = folder.load().unwrap();
    let corp = settings.endpoint("corp").unwrap();
    assert_eq!(corp.username.as_deref(), Some("CORP\\alice"));
    assert_eq!(corp.ca_file.as_deref(), Some(pem.as_path()));
    assert_eq!(
        corp.issuer.as_deref(),
        Some("http://adfs.corp.example/adfs/services/trust")
    );
    assert_eq!(settings.preferences.default_output.as_deref(), Some("json"));
}

/// The hosts a person lists are the only ones besides the endpoint's that get its secrets:
/// they must be plain host names, kept as written in the file, compared without case.
#[test]
fn trusted_hosts_are_plain_host_names() {
    let folder = folder();
    folder.write(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\
         trusted_hosts = [\"Login.Corp.Example.\", \"10.0.0.7\", \"[::1]\"]\n",
    );
    let settings = folder.load().unwrap();
    let corp = settings.endpoint("corp").unwrap();
    assert_eq!(
        corp.trusted_hosts,
        ["login.corp.example", "10.0.0.7", "[::1]"]
    );
    for host in [
        "sts.corp.example",
        "STS.corp.example.",
        "login.corp.example",
        "10.0.0.7",
        "[::1]",
    ] {
        assert!(corp.trusts_host(host), "{host} should be trusted");
    }
    for host in [
        "corp.example",
        "evil.example",
        "login.corp.example.evil.example",
        "127.0.0.2",
    ] {
        assert!(!corp.trusts_host(host), "{host} should not be trusted");
    }

    for bad in [
        "https://login.corp.example",
        "login.corp.example:443",
        "*.corp.example",
        "a/b",
        "",
    ] {
        let message = folder.load_err(&format!(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\ntrusted_hosts = [{bad:?}]\n"
        ));
        assert!(message.contains("is not a host name"), "{bad}: {message}");
        assert!(message.contains("endpoint \"corp\""), "{bad}: {message}");
    }
    let mut settings = Settings::default();
    let mut corp = endpoint("corp");
    corp.trusted_hosts = vec!["Login.corp.example".to_owned()];
    settings.endpoints.push(corp);
    assert!(matches!(problem(&settings), Problem::TrustedHost { .. }));
}

/// What AD FS's home realm discovery should choose, and its "Keep me signed in" box: read,
/// checked, and written back only when set.
#[test]
fn claims_provider_and_keep_me_signed_in_are_read_checked_and_kept() {
    let folder = folder();
    folder.write(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\
         claims_provider = \"http://sts.partner.example/adfs/services/trust\"\n\
         keep_me_signed_in = true\n\n\
         [[endpoints]]\nname = \"lab\"\nurl = \"sts.lab.example\"\nkeep_me_signed_in = false\n",
    );
    let settings = folder.load().unwrap();
    let corp = settings.endpoint("corp").unwrap();
    assert_eq!(
        corp.claims_provider.as_deref(),
        Some("http://sts.partner.example/adfs/services/trust")
    );
    assert!(corp.keep_me_signed_in);
    let lab = settings.endpoint("lab").unwrap();
    assert_eq!(lab.claims_provider, None);
    assert!(!lab.keep_me_signed_in);

    settings.save(&folder.paths).unwrap();
    let text = fs::read_to_string(folder.paths.settings_file()).unwrap();
    assert_eq!(
        text.matches("keep_me_signed_in = true").count(),
        1,
        "written where it is on: {text}"
    );
    assert!(!text.contains("keep_me_signed_in = false"), "{text}");
    assert_eq!(folder.load().unwrap(), settings, "kept on save");

    // As TOML writes them: blank, spaces only, a leading space, a control character.
    for bad in [
        r#""""#,
        r#""  ""#,
        r#"" AD AUTHORITY""#,
        r#""AD\u0007AUTHORITY""#,
    ] {
        let message = folder.load_err(&format!(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nclaims_provider = {bad}\n"
        ));
        assert!(message.contains("claims_provider"), "{bad:?}: {message}");
        assert!(message.contains("endpoint \"corp\""), "{bad:?}: {message}");
    }
    let long = "x".repeat(1025);
    let message = folder.load_err(&format!(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nclaims_provider = {long:?}\n"
    ));
    assert!(message.contains("1024 characters"), "{message}");
    let message = folder.load_err(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nkeep_me_signed_in = \"yes\"\n",
    );
    assert!(message.contains("line 4"), "{message}");
}

#[test]
fn a_bad_value_in_the_file_names_the_file_and_the_endpoint() {
    let folder = folder();
    let message =
        folder.load_err("[[endpoints]]\nname = \"corp\"\nurl = \"http://sts.corp.example\"\n");
    assert!(
        message.starts_with("In Rolecall's settings file"),
        "{message}"
    );
    assert!(message.contains("endpoint \"corp\""), "{message}");
    assert!(message.contains("Use https://"), "{message}");
}

// ---- Saving -----------------------------------------------------------------------------

fn everything(folder: &Folder) -> Settings {
    let pem = folder.root().join("corp-ca.pem");
    fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let mut corp = endpoint("corp");
    corp.method = SignInMethod::Forms;
    corp.username = Some("alice@corp.example".to_owned());
    corp.ca_file = Some(pem);
    corp.proxy = ProxySetting::parse("http://proxy.corp.example:8080").unwrap();
    corp.claims_provider = Some("AD AUTHORITY".to_owned());
    corp.keep_me_signed_in = true;
    let mut okta = Endpoint::new(
        "Okta (partner)",
        "https://corp.okta.com/app/amazon_aws/exk1/sso/saml",
    )
    .unwrap();
    okta.method = SignInMethod::Webview;
    okta.proxy = ProxySetting::None;
    okta.issuer = Some("http://www.okta.com/exk1".to_owned());
    okta.console_browser = Some(r#"chromium "--profile-directory=aws {account_id}""#.to_owned());
    Settings {
        endpoints: vec![corp, okta],
        preferences: Preferences {
            active_profile: "work".to_owned(),
            profile_template: "{endpoint}.{account_id}.{role}".to_owned(),
            session_duration_secs: 43_200,
            refresh_lead_minutes: 20,
            notify_lead_minutes: 0,
            default_region: Some("eu-central-1".to_owned()),
            default_output: Some("table".to_owned()),
            favourites: vec!["arn:aws:iam::111122223333:role/Admin".to_owned()],
            regions: BTreeMap::from([
                ("111122223333".to_owned(), "eu-west-1".to_owned()),
                (
                    "arn:aws:iam::111122223333:role/Billing".to_owned(),
                    "us-east-1".to_owned(),
                ),
            ]),
            console_browsers: BTreeMap::from([(
                "111122223333".to_owned(),
                "firefox -P 'prod {account_alias}' {url}".to_owned(),
            )]),
            account_names: BTreeMap::from([(
                "444455556666".to_owned(),
                "Payments (prod)".to_owned(),
            )]),
        },
        chains: vec![ChainSetting {
            name: "spoke-admin".to_owned(),
            endpoint: Some("corp".to_owned()),
            source_role: "arn:aws:iam::111122223333:role/Hub".to_owned(),
            chain: crate::chain::Chain {
                roles: vec![
                    "arn:aws:iam::444455556666:role/Transit".to_owned(),
                    "arn:aws:iam::777788889999:role/Admin".to_owned(),
                ],
                external_id: Some("corp-42".to_owned()),
                session_name: None,
            },
        }],
    }
}

#[test]
fn a_roles_region_wins_over_its_accounts_and_the_default() {
    let folder = folder();
    let preferences = everything(&folder).preferences;
    let region = |role: &str| preferences.region_for(&format!("arn:aws:iam::{role}"), &role[..12]);
    assert_eq!(region("111122223333:role/Billing"), Some("us-east-1"));
    assert_eq!(region("111122223333:role/Admin"), Some("eu-west-1"));
    assert_eq!(region("444455556666:role/Admin"), Some("eu-central-1"));
    assert!(preferences.is_favourite("arn:aws:iam::111122223333:role/Admin"));
    let mut bad = everything(&folder);
    bad.preferences
        .regions
        .insert("prod".to_owned(), "eu-west-1".to_owned());
    assert!(matches!(bad.validate(), Err(Problem::RegionKey { .. })));
    let mut bad = everything(&folder);
    bad.preferences
        .regions
        .insert("111122223333".to_owned(), "eu/west".to_owned());
    assert!(matches!(bad.validate(), Err(Problem::Region { .. })));
}

#[test]
fn settings_survive_a_round_trip() {
    let folder = folder();
    let settings = everything(&folder);
    settings.save(&folder.paths).unwrap();
    assert_eq!(folder.load().unwrap(), settings);
    // A second save of what was loaded is byte-for-byte the same file.
    let first = fs::read_to_string(folder.paths.settings_file()).unwrap();
    folder.load().unwrap().save(&folder.paths).unwrap();
    assert_eq!(
        fs::read_to_string(folder.paths.settings_file()).unwrap(),
        first
    );
}

#[test]
fn the_saved_file_says_it_is_rolecalls_and_holds_no_secret_fields() {
    let folder = folder();
    everything(&folder).save(&folder.paths).unwrap();
    let text = fs::read_to_string(folder.paths.settings_file()).unwrap();
    assert!(text.starts_with("# Rolecall's settings."), "{text}");
    assert!(!text.to_lowercase().contains("password"), "{text}");
    assert!(text.contains("method = \"forms\""), "{text}");
    assert!(
        text.contains("proxy = \"http://proxy.corp.example:8080/\""),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn the_folder_is_created_owner_only_and_the_file_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let folder = folder();
    Settings::default().save(&folder.paths).unwrap();
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder.paths.config_dir), 0o700);
    assert_eq!(mode(&folder.paths.settings_file()), 0o600);
}

#[test]
fn saving_replaces_the_file_and_leaves_no_temporary_files() {
    let folder = folder();
    folder.write("# someone else's notes\n");
    everything(&folder).save(&folder.paths).unwrap();
    Settings::default().save(&folder.paths).unwrap();
    let mut names: Vec<String> = fs::read_dir(&folder.paths.config_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["settings.toml", "settings.toml.rolecall.lock"]);
    assert_eq!(folder.load().unwrap(), Settings::default());
}

#[test]
fn invalid_settings_are_not_saved() {
    let folder = folder();
    let settings = with_preferences(|p| p.session_duration_secs = 60);
    let err = settings.save(&folder.paths).unwrap_err();
    assert!(
        matches!(err, SettingsError::Rejected(Problem::OutOfRange { .. })),
        "{err:?}"
    );
    assert!(!folder.paths.settings_file().exists());
}

#[test]
fn concurrent_updates_keep_every_change() {
    let folder = folder();
    let threads: Vec<_> = (0..4)
        .map(|writer| {
            let paths = folder.paths.clone();
            std::thread::spawn(move || {
                for n in 0..10 {
                    Settings::update(&paths, Settings::default, |settings| {
                        settings
                            .preferences
                            .favourites
                            .push(format!("arn:aws:iam::111122223333:role/W{writer}-{n}"));
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(folder.load().unwrap().preferences.favourites.len(), 40);
}

#[test]
fn the_first_run_proposes_a_free_active_profile_when_default_holds_keys() {
    let folder = folder();
    assert_eq!(
        crate::profiles::first_run_settings(&folder.paths)
            .preferences
            .active_profile,
        "default"
    );
    fs::write(
        &folder.paths.aws_credentials_file,
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n\n\
         [default-2]\naws_access_key_id = AKIAIOSFODNN7EXAMPLF\naws_secret_access_key = y\n",
    )
    .unwrap();
    crate::endpoints::update_settings(&folder.paths, |_| Ok(())).unwrap();
    assert_eq!(
        folder.load().unwrap().preferences.active_profile,
        "default-3"
    );
    // Only the first run chooses; a saved name stays the person's.
    crate::endpoints::update_settings(&folder.paths, |settings| {
        settings.preferences.active_profile = "default".to_owned();
        Ok(())
    })
    .unwrap();
    crate::endpoints::update_settings(&folder.paths, |_| Ok(())).unwrap();
    assert_eq!(folder.load().unwrap().preferences.active_profile, "default");
}

#[test]
fn a_save_that_cannot_write_names_the_file() {
    let folder = folder();
    // A file where the folder should be.
    fs::create_dir_all(folder.paths.config_dir.parent().unwrap()).unwrap();
    fs::write(&folder.paths.config_dir, "").unwrap();
    let message = Settings::default()
        .save(&folder.paths)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("Rolecall could not save its settings to"),
        "{message}"
    );
    assert!(message.contains("settings.toml"), "{message}");
}

/// The settings window receives the settings as JSON: URLs as strings, methods and proxies
/// as the words of the file.
#[test]
fn settings_serialise_for_the_settings_window_as_in_the_file() {
    let folder = folder();
    let json = serde_json::to_value(everything(&folder)).unwrap();
    assert_eq!(json["endpoints"][0]["url"], CORP_URL);
    assert_eq!(json["endpoints"][0]["method"], "forms");
    assert_eq!(
        json["endpoints"][0]["proxy"],
        "http://proxy.corp.example:8080/"
    );
    assert_eq!(json["endpoints"][1]["proxy"], "none");
    assert_eq!(json["preferences"]["session_duration_secs"], 43_200);
}

// ---- Endpoint URLs ----------------------------------------------------------------------

#[test]
fn a_bare_host_expands_to_the_adfs_sign_on_page_for_aws() {
    assert_eq!(url_of("sts.corp.example"), CORP_URL);
    assert_eq!(
        url_of("  STS.Corp.Example  "),
        CORP_URL,
        "hosts are lower-cased"
    );
    assert_eq!(
        url_of("sts.corp.example:8443"),
        CORP_URL.replace("example/", "example:8443/")
    );
}

#[test]
fn an_https_host_with_no_path_or_the_start_of_the_adfs_path_expands() {
    for input in [
        "https://sts.corp.example",
        "https://sts.corp.example/",
        "https://sts.corp.example/adfs",
        "https://sts.corp.example/adfs/",
        "https://sts.corp.example/adfs/ls",
        "https://sts.corp.example/ADFS/ls/",
    ] {
        assert_eq!(url_of(input), CORP_URL, "{input}");
    }
}

#[test]
fn the_sign_on_page_without_a_query_is_sent_straight_to_aws() {
    assert_eq!(
        url_of("https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx"),
        CORP_URL
    );
}

#[test]
fn a_full_idp_initiated_url_is_kept_as_it_is() {
    for input in [
        CORP_URL,
        "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices:govcloud",
        "https://corp.okta.com/app/amazon_aws/exk1/sso/saml",
        "https://idp.corp.example/?RelayState=x",
        "https://sts.corp.example/adfs/services/trust",
    ] {
        assert_eq!(url_of(input), input, "{input}");
    }
}

#[test]
fn http_is_refused_except_to_loopback() {
    for input in [
        "http://127.0.0.1:8443/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=x",
        "http://127.9.9.9:8443",
        "http://[::1]:8443",
        "http://localhost:8443",
        "http://LOCALHOST",
    ] {
        assert!(endpoint_url(input).is_ok(), "{input} is loopback");
    }
    for input in [
        "http://sts.corp.example",
        "http://10.0.0.1",
        "http://localhost.corp.example",
        "http://[::2]",
    ] {
        assert_eq!(endpoint_url(input), Err(UrlProblem::Insecure), "{input}");
    }
    let message = Endpoint::new("corp", "http://sts.corp.example")
        .unwrap_err()
        .to_string();
    assert!(
        message
            .starts_with("The URL of endpoint \"corp\" (\"http://sts.corp.example\") uses http://"),
        "{message}"
    );
    assert!(message.contains("Use https://"), "{message}");
}

#[test]
fn urls_that_are_not_https_sign_in_pages_are_refused_with_a_reason() {
    assert_eq!(endpoint_url(""), Err(UrlProblem::Empty));
    assert_eq!(endpoint_url("   "), Err(UrlProblem::Empty));
    assert!(matches!(
        endpoint_url("https://"),
        Err(UrlProblem::NotUrl(_))
    ));
    assert!(matches!(
        endpoint_url("sts corp"),
        Err(UrlProblem::NotUrl(_))
    ));
    assert_eq!(
        endpoint_url("ftp://sts.corp.example"),
        Err(UrlProblem::Scheme("ftp".to_owned()))
    );
    assert_eq!(
        endpoint_url("https://alice:pw@sts.corp.example"),
        Err(UrlProblem::Credentials)
    );
}

// ---- Endpoints --------------------------------------------------------------------------

#[test]
fn endpoints_need_a_name() {
    assert!(Endpoint::new("corp", "sts.corp.example").is_ok());
    let message = Endpoint::new(" ", "sts.corp.example")
        .unwrap_err()
        .to_string();
    assert!(message.contains("has no name"), "{message}");

    let folder = folder();
    let message = folder.load_err("[[endpoints]]\nurl = \"sts.corp.example\"\n");
    assert!(
        message.contains("Endpoint number 1 has no name"),
        "{message}"
    );
}

#[test]
fn endpoint_names_are_tidy() {
    assert!(Endpoint::new("Corp (EU) – prod", "sts.corp.example").is_ok());
    for (name, reason) in [
        (" corp", "starts or ends with a space"),
        ("co\trp", "control character"),
        (&*"x".repeat(65), "longer than 64"),
    ] {
        let message = Endpoint::new(name, "sts.corp.example")
            .unwrap_err()
            .to_string();
        assert!(message.contains(reason), "{name:?}: {message}");
    }
}

#[test]
fn endpoint_names_are_unique() {
    let two = Settings {
        endpoints: vec![endpoint("corp"), endpoint("lab")],
        ..Settings::default()
    };
    assert_eq!(two.validate(), Ok(()));
    let twins = Settings {
        endpoints: vec![endpoint("corp"), endpoint("corp")],
        ..Settings::default()
    };
    assert_eq!(
        problem(&twins).to_string(),
        "Two endpoints are named \"corp\". Give each endpoint its own name."
    );
}

#[test]
fn every_method_is_known_by_its_name_and_others_are_listed() {
    let folder = folder();
    for method in SignInMethod::ALL {
        folder.write(format!(
            "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethod = \"{method}\"\n"
        ));
        assert_eq!(folder.load().unwrap().endpoints[0].method, method);
    }
    let message = folder.load_err(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nmethod = \"saml\"\n",
    );
    assert!(
        message.contains(
            "Endpoint \"corp\" has an unknown sign-in method \"saml\". Use one of: auto, \
             windows, kerberos, ntlm, forms, webview."
        ),
        "{message}"
    );
}

#[test]
fn usernames_are_optional_but_never_blank() {
    let mut corp = endpoint("corp");
    corp.username = Some("alice@corp.example".to_owned());
    assert_eq!(corp.check(1), Ok(()));
    corp.username = Some("  ".to_owned());
    assert!(matches!(corp.check(1), Err(Problem::Username { .. })));
}

#[test]
fn a_ca_file_must_be_an_existing_pem_certificate() {
    let folder = folder();
    let mut corp = endpoint("corp");
    let pem = folder.root().join("ca.pem");
    fs::write(&pem, "subject=CN=Corp\n-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    corp.ca_file = Some(pem);
    assert_eq!(corp.check(1), Ok(()));

    let der = folder.root().join("ca.cer");
    fs::write(&der, [0x30, 0x82, 0x01, 0x0a]).unwrap();
    for (path, reason) in [
        (folder.root().join("missing.pem"), CaProblem::Missing),
        (der, CaProblem::NotPem),
        (PathBuf::from("ca.pem"), CaProblem::NotAbsolute),
    ] {
        corp.ca_file = Some(path.clone());
        match corp.check(1) {
            Err(Problem::CaFile { reason: got, .. }) => assert_eq!(got, reason, "{path:?}"),
            other => panic!("{path:?}: expected {reason:?}, got {other:?}"),
        }
    }
    corp.ca_file = Some(folder.root().to_owned());
    let message = corp.check(1).unwrap_err().to_string();
    assert!(
        message.contains("cannot be read"),
        "a folder is not a CA file: {message}"
    );
    assert!(
        message.starts_with("The CA file of endpoint \"corp\", /"),
        "{message}"
    );

    corp.ca_file = Some(folder.root().join("missing.pem"));
    let message = corp.check(1).unwrap_err().to_string();
    assert!(message.contains("remove ca_file"), "{message}");
}

#[test]
fn settings_whose_ca_file_went_away_still_load_and_save() {
    let folder = folder();
    let pem = folder.root().join("ca.pem");
    fs::write(&pem, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let mut corp = endpoint("corp");
    corp.ca_file = Some(pem.clone());
    let mut settings = Settings::default();
    settings.add_endpoint(corp.clone()).unwrap();
    settings.save(&folder.paths).unwrap();
    fs::remove_file(&pem).unwrap();

    let loaded = Settings::load(&folder.paths).expect("a gone CA file does not fail the load");
    assert_eq!(loaded.endpoint("corp"), Some(&corp));
    loaded
        .save(&folder.paths)
        .expect("nor a save that keeps it");
    let mut entered = Settings::default();
    assert!(
        matches!(
            entered.add_endpoint(corp),
            Err(SettingsError::Rejected(Problem::CaFile { .. }))
        ),
        "entering it is still refused"
    );
}

#[test]
fn proxies_are_system_none_or_a_plain_url() {
    assert_eq!(ProxySetting::parse("system"), Ok(ProxySetting::System));
    assert_eq!(ProxySetting::parse("None"), Ok(ProxySetting::None));
    assert_eq!(
        ProxySetting::parse("proxy.corp.example:8080"),
        Ok(ProxySetting::Url(
            Url::parse("http://proxy.corp.example:8080").unwrap()
        )),
        "http:// is assumed, as curl and reqwest do"
    );
    assert!(ProxySetting::parse("socks5h://127.0.0.1:1080").is_ok());
    assert!(ProxySetting::parse("http://alice@proxy.corp.example:8080").is_ok());

    assert!(matches!(
        ProxySetting::parse("http://proxy:99999"),
        Err(ProxyProblem::NotUrl(_))
    ));
    assert_eq!(
        ProxySetting::parse("ftp://proxy.corp.example"),
        Err(ProxyProblem::Scheme("ftp".to_owned()))
    );
    assert_eq!(
        ProxySetting::parse("http://alice:pw@proxy.corp.example:8080"),
        Err(ProxyProblem::Password)
    );
    assert_eq!(
        ProxySetting::parse("http://proxy.corp.example/pac.js"),
        Err(ProxyProblem::Path)
    );

    let folder = folder();
    let message = folder.load_err(
        "[[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\nproxy = \"http://a:b@p\"\n",
    );
    assert!(
        message.contains("The proxy of endpoint \"corp\""),
        "{message}"
    );
    assert!(message.contains("contains a password"), "{message}");
}

#[test]
fn an_edit_keeps_the_pinned_issuer_unless_it_is_forgotten_or_the_url_changes() {
    let mut before = endpoint("corp");
    before.issuer = Some("http://sts.corp.example/adfs/services/trust".to_owned());
    let mut edited = endpoint("corp");
    edited.keep_issuer_of(&before, false);
    assert_eq!(edited.issuer, before.issuer, "an edit keeps the pin");
    edited.keep_issuer_of(&before, true);
    assert_eq!(edited.issuer, None, "the person forgot it");
    let mut moved = Endpoint::new("corp", "https://idp.other.example/sso/aws").unwrap();
    moved.keep_issuer_of(&before, false);
    assert_eq!(moved.issuer, None, "another IdP pins its own");
}

#[test]
fn endpoints_can_be_added_updated_and_removed() {
    let mut settings = Settings::default();
    settings.add_endpoint(endpoint("corp")).unwrap();
    settings.add_endpoint(endpoint("lab")).unwrap();
    let err = settings.add_endpoint(endpoint("corp")).unwrap_err();
    assert!(
        matches!(err, SettingsError::Rejected(Problem::DuplicateName { .. })),
        "{err:?}"
    );

    let mut renamed = endpoint("corp-eu");
    renamed.method = SignInMethod::Kerberos;
    settings.update_endpoint("corp", renamed.clone()).unwrap();
    assert_eq!(
        settings.endpoints[0], renamed,
        "an update keeps the endpoint's place"
    );
    let err = settings
        .update_endpoint("corp-eu", endpoint("lab"))
        .unwrap_err();
    assert!(
        matches!(err, SettingsError::Rejected(Problem::DuplicateName { .. })),
        "{err:?}"
    );
    settings.update_endpoint("lab", endpoint("lab")).unwrap();

    assert_eq!(settings.remove_endpoint("lab").unwrap().name, "lab");
    let err = settings.remove_endpoint("lab").unwrap_err();
    assert_eq!(
        err.to_string(),
        "There is no endpoint named \"lab\". Check the name in Settings → Endpoints."
    );
    assert_eq!(settings.endpoints.len(), 1);
}

// ---- Preferences ------------------------------------------------------------------------

#[test]
fn templates_use_only_known_placeholders() {
    for template in [
        "{account_alias}-{role}",
        "{endpoint}/{account_id}/{role}",
        "aws",
    ] {
        assert_eq!(
            with_preferences(|p| p.profile_template = template.to_owned()).validate(),
            Ok(()),
            "{template}"
        );
    }
    let message = problem(&with_preferences(|p| {
        p.profile_template = "{account}-{role}".to_owned()
    }))
    .to_string();
    assert_eq!(
        message,
        "The profile name template \"{account}-{role}\" uses {account}, which Rolecall does \
         not know. Use {account_alias}, {account_id}, {role} and {endpoint}."
    );
    for (template, expected) in [
        ("", TemplateProblem::Empty),
        ("{role", TemplateProblem::Unbalanced),
        ("role}", TemplateProblem::Unbalanced),
        ("{{role}}", TemplateProblem::Unbalanced),
        ("{account_alias} {role}", TemplateProblem::BadChar(' ')),
        ("[{role}]", TemplateProblem::BadChar('[')),
    ] {
        assert_eq!(
            problem(&with_preferences(
                |p| p.profile_template = template.to_owned()
            )),
            Problem::Template {
                template: template.to_owned(),
                reason: expected
            },
            "{template:?}"
        );
    }
}

#[test]
fn the_active_profile_is_a_valid_profile_name() {
    assert_eq!(
        with_preferences(|p| p.active_profile = "corp-admin".to_owned()).validate(),
        Ok(())
    );
    let message = problem(&with_preferences(|p| {
        p.active_profile = "my profile".to_owned()
    }))
    .to_string();
    assert!(
        message.starts_with("The active profile name \"my profile\" contains ' '"),
        "{message}"
    );
}

#[test]
fn session_durations_are_what_sts_accepts() {
    for secs in [900, 3600, 43_200] {
        assert_eq!(
            with_preferences(|p| {
                p.session_duration_secs = secs;
                p.refresh_lead_minutes = 5;
                p.notify_lead_minutes = 5;
            })
            .validate(),
            Ok(()),
            "{secs}"
        );
    }
    for secs in [0, 899, 43_201] {
        let message = problem(&with_preferences(|p| p.session_duration_secs = secs)).to_string();
        assert_eq!(
            message,
            format!(
                "session_duration_secs is {secs}; use a value from 900 to 43200 seconds \
                 (15 minutes to 12 hours)."
            )
        );
    }
}

#[test]
fn lead_times_are_in_range_and_shorter_than_the_session() {
    assert_eq!(
        with_preferences(|p| p.refresh_lead_minutes = 0).validate(),
        Err(Problem::OutOfRange {
            field: "refresh_lead_minutes",
            value: 0,
            min: 1,
            max: 120,
            unit: " minutes"
        })
    );
    assert!(matches!(
        with_preferences(|p| p.notify_lead_minutes = 121).validate(),
        Err(Problem::OutOfRange {
            field: "notify_lead_minutes",
            ..
        })
    ));
    let message = problem(&with_preferences(|p| {
        p.session_duration_secs = 900;
        p.refresh_lead_minutes = 15;
    }))
    .to_string();
    assert!(
        message.starts_with("refresh_lead_minutes (15 minutes) must be shorter than the session"),
        "{message}"
    );
    assert_eq!(
        with_preferences(|p| {
            p.session_duration_secs = 900;
            p.refresh_lead_minutes = 14;
            p.notify_lead_minutes = 14;
        })
        .validate(),
        Ok(())
    );
}

#[test]
fn regions_and_outputs_are_ones_aws_knows() {
    for region in [
        "us-east-1",
        "eu-central-2",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
    ] {
        assert_eq!(
            with_preferences(|p| p.default_region = Some(region.to_owned())).validate(),
            Ok(()),
            "{region}"
        );
    }
    for region in [
        "",
        "us-east",
        "US-EAST-1",
        "east-1",
        "us_east_1",
        "us-east-1a",
        // The STS endpoint and the console refuse it: settings must too.
        "us-east-1234",
    ] {
        assert!(
            matches!(
                with_preferences(|p| p.default_region = Some(region.to_owned())).validate(),
                Err(Problem::Region { .. })
            ),
            "{region:?}"
        );
    }
    assert_eq!(
        with_preferences(|p| p.default_output = Some("yaml-stream".to_owned())).validate(),
        Ok(())
    );
    let message = problem(&with_preferences(|p| {
        p.default_output = Some("xml".to_owned())
    }))
    .to_string();
    assert!(
        message.contains("Use json, yaml, yaml-stream, text or table"),
        "{message}"
    );
}

#[test]
fn line_and_column_count_characters() {
    assert_eq!(line_column("", 0), (1, 1));
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("é\né", 5), (2, 2));
    assert_eq!(
        line_column("é", 1),
        (1, 1),
        "a split character counts from its start"
    );
}

// ---- Robustness -------------------------------------------------------------------------

fn near_valid() -> impl Strategy<Value = Vec<u8>> {
    let valid = b"[preferences]\nactive_profile = \"work\"\nsession_duration_secs = 3600\n\n\
                  [[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\
                  method = \"forms\"\nproxy = \"none\"\n"
        .to_vec();
    (
        Just(valid),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, byte) in edits {
                let index = at.index(bytes.len());
                bytes[index] = byte;
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever is in the file, loading gives settings or an error, never a panic.
    #[test]
    fn load_never_panics(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "\\PC{0,300}".prop_map(String::into_bytes),
        near_valid(),
    ]) {
        let folder = folder();
        folder.write(&bytes);
        match folder.load() {
            Ok(settings) => prop_assert_eq!(settings.validate(), Ok(())),
            Err(err) => prop_assert!(err.to_string().ends_with('.'), "{}", err),
        }
    }
}

// ---- Chains -----------------------------------------------------------------------------

const HAND_WRITTEN_CHAIN: &str = r#"[[endpoints]]
name = "corp"
url = "sts.corp.example"

[[chains]]
name = "spoke-admin"
endpoint = "corp"
source_role = "arn:aws:iam::111122223333:role/Hub"
roles = ["arn:aws:iam::444455556666:role/Admin"]
external_id = "corp-42"
"#;

#[test]
fn a_hand_written_chain_is_read_and_kept_when_the_app_changes_other_settings() {
    let folder = folder();
    folder.write(HAND_WRITTEN_CHAIN);
    let settings = folder.load().unwrap();
    let chain = settings.chain("spoke-admin").expect("the chain is read");
    assert_eq!(chain.endpoint.as_deref(), Some("corp"));
    assert_eq!(chain.source_role, "arn:aws:iam::111122223333:role/Hub");
    assert_eq!(chain.chain.roles, ["arn:aws:iam::444455556666:role/Admin"]);
    assert_eq!(chain.chain.external_id.as_deref(), Some("corp-42"));
    assert_eq!(chain.chain.session_name, None);
    Settings::update(&folder.paths, Settings::default, |settings| {
        settings.preferences.active_profile = "work".to_owned();
        Ok(())
    })
    .unwrap();
    let after = folder.load().unwrap();
    assert_eq!(
        after.chains, settings.chains,
        "a change of preferences keeps the chain as it was"
    );
    assert_eq!(after.preferences.active_profile, "work");
}

#[test]
fn a_wrong_chain_is_refused_with_its_name_and_what_to_do() {
    let folder = folder();
    for (from, to, expected) in [
        (
            "source_role = \"arn:aws:iam::111122223333:role/Hub\"",
            "source_role = \"Hub\"",
            "The source_role of chain \"spoke-admin\" (\"Hub\") is not an IAM role ARN",
        ),
        (
            "roles = [\"arn:aws:iam::444455556666:role/Admin\"]",
            "roles = []",
            "Chain \"spoke-admin\": it names no role to assume",
        ),
        (
            "roles = [\"arn:aws:iam::444455556666:role/Admin\"]",
            "roles = [\"444455556666/Admin\"]",
            "\"444455556666/Admin\" is not an IAM role ARN",
        ),
        (
            "endpoint = \"corp\"\nsource",
            "endpoint = \"lab\"\nsource",
            "Chain \"spoke-admin\" names the endpoint \"lab\", which the settings do not have",
        ),
        (
            "external_id = \"corp-42\"",
            "external_id = \"corp 42\"",
            "its external id is not one AWS accepts",
        ),
        (
            "name = \"spoke-admin\"",
            "name = \"\"",
            "Chain number 1 ([[chains]]) has no name",
        ),
        (
            "external_id = \"corp-42\"",
            "roll = \"x\"",
            "unknown setting `roll` in a [[chains]] entry",
        ),
    ] {
        assert!(HAND_WRITTEN_CHAIN.contains(from), "{from}");
        let message = folder.load_err(&HAND_WRITTEN_CHAIN.replace(from, to));
        assert!(message.contains(expected), "{to}: {message}");
    }
    let twice = format!(
        "{HAND_WRITTEN_CHAIN}\n{}",
        &HAND_WRITTEN_CHAIN[HAND_WRITTEN_CHAIN.find("[[chains]]").unwrap()..]
    );
    let message = folder.load_err(&twice);
    assert!(
        message.contains("Two chains are named \"spoke-admin\""),
        "{message}"
    );
}

// ---- Console browsers ---------------------------------------------------------------------

#[test]
fn console_browsers_are_read_per_endpoint_and_per_account() {
    let folder = folder();
    folder.write(
        "[preferences.console_browsers]\n\
         111122223333 = \"firefox -P prod\"\n\
         \"arn:aws:iam::111122223333:role/Admin\" = \"firefox -P admin {url}\"\n\n\
         [[endpoints]]\nname = \"corp\"\nurl = \"sts.corp.example\"\n\
         console_browser = \"firefox -P {account_alias}\"\n",
    );
    let settings = folder.load().unwrap();
    assert_eq!(
        settings.endpoints[0].console_browser.as_deref(),
        Some("firefox -P {account_alias}")
    );
    let prefs = &settings.preferences;
    assert_eq!(
        prefs.console_browser_for("arn:aws:iam::111122223333:role/Admin", "111122223333"),
        Some("firefox -P admin {url}"),
        "a role's own entry wins over its account's"
    );
    assert_eq!(
        prefs.console_browser_for("arn:aws:iam::111122223333:role/Dev", "111122223333"),
        Some("firefox -P prod")
    );
    assert_eq!(
        prefs.console_browser_for("arn:aws:iam::444455556666:role/Dev", "444455556666"),
        None
    );
}

#[test]
fn a_console_browser_that_cannot_run_is_refused_naming_where_it_is() {
    let mut settings = Settings::default();
    let mut corp = endpoint("corp");
    corp.console_browser = Some("firefox -P {alias}".to_owned());
    settings.endpoints.push(corp);
    let message = problem(&settings).to_string();
    assert!(message.contains("endpoint \"corp\""), "{message}");
    assert!(message.contains("{alias}"), "{message}");
    assert!(
        message.contains("{account_alias}"),
        "says what to use: {message}"
    );

    let mut settings = Settings::default();
    settings
        .preferences
        .console_browsers
        .insert("111122223333".to_owned(), "firefox 'unclosed".to_owned());
    let message = problem(&settings).to_string();
    assert!(message.contains("111122223333"), "{message}");
    assert!(message.contains("quote is not closed"), "{message}");

    let mut settings = Settings::default();
    settings
        .preferences
        .console_browsers
        .insert("corp-prod".to_owned(), "firefox".to_owned());
    assert_eq!(
        problem(&settings),
        Problem::ConsoleBrowserKey {
            key: "corp-prod".to_owned()
        },
        "an alias can change: accounts are named by id"
    );
}

// ---- Account names ------------------------------------------------------------------------

#[test]
fn account_names_are_read_and_kept_when_the_app_changes_other_settings() {
    let folder = folder();
    folder.write(
        "[preferences.account_names]\n\
         111122223333 = \"Payments prod\"\n\
         \"444455556666\" = \"sandbox\"\n",
    );
    let settings = folder.load().unwrap();
    let names = &settings.preferences.account_names;
    assert_eq!(
        names.get("111122223333").map(String::as_str),
        Some("Payments prod")
    );
    assert_eq!(
        names.get("444455556666").map(String::as_str),
        Some("sandbox")
    );

    // The settings window changes preferences by patch; the names it never shows stay.
    crate::endpoints::set_preferences(
        &folder.paths,
        &crate::endpoints::PreferencesPatch {
            active_profile: Some("work".to_owned()),
            ..Default::default()
        },
    )
    .unwrap();
    let after = folder.load().unwrap();
    assert_eq!(after.preferences.active_profile, "work");
    assert_eq!(
        &after.preferences.account_names, names,
        "a change of other preferences keeps the account names"
    );
    assert!(
        fs::read_to_string(folder.paths.settings_file())
            .unwrap()
            .contains("[preferences.account_names]"),
        "they are written back under their own table"
    );
}

#[test]
fn an_account_name_is_keyed_by_account_id_and_fits_on_a_line() {
    let folder = folder();
    let message = folder.load_err("[preferences.account_names]\npayments = \"Payments\"\n");
    assert!(
        message.contains("\"payments\" does not name an AWS account"),
        "{message}"
    );
    assert!(
        message.contains("111122223333 = \"payments-prod\""),
        "says how to write it: {message}"
    );
    for (key, reason) in [
        ("arn:aws:iam::111122223333:role/Admin", "does not name"),
        ("1111", "does not name"),
    ] {
        let mut settings = Settings::default();
        settings
            .preferences
            .account_names
            .insert(key.to_owned(), "x".to_owned());
        let message = problem(&settings).to_string();
        assert!(message.contains(reason), "{key}: {message}");
    }
    let long = "x".repeat(65);
    for (name, reason) in [
        ("", "is blank"),
        ("  ", "is blank"),
        (" padded", "starts or ends with a space"),
        ("two\nlines", "contains a control character"),
        (long.as_str(), "is longer than 64 characters"),
    ] {
        let mut settings = Settings::default();
        settings
            .preferences
            .account_names
            .insert("111122223333".to_owned(), name.to_owned());
        let message = problem(&settings).to_string();
        assert!(
            message.contains(reason) && message.contains("account 111122223333"),
            "{name:?}: {message}"
        );
    }
}
