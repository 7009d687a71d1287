//! `rolecall status`: every profile Rolecall manages, its role, endpoint, expiry and time left,
//! and what needs the person, read from the files alone (no network, no keyring), fast enough
//! to sit in a shell prompt.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::aws_files::AwsFiles;
use crate::paths::AppPaths;
use crate::refused_passwords::RefusedPasswords;
use crate::registry::Registry;
use crate::saml::RolePair;
use crate::settings::Settings;

/// Where a profile's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Valid,
    /// Within the renewal lead of its end.
    Expiring,
    Expired,
    /// The credentials file has no session for it.
    Missing,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Missing => "missing",
        }
    }
}

/// One managed profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileLine {
    pub profile: String,
    pub role_arn: String,
    pub account_id: String,
    pub role: String,
    pub endpoint: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiration: Option<OffsetDateTime>,
    /// Whole seconds left; 0 once expired.
    pub seconds_left: Option<i64>,
    pub state: State,
    pub active: bool,
    pub keep_refreshed: bool,
    /// What the person has to do, if anything, as a sentence.
    pub needs: Option<String>,
}

/// Every managed profile, and what is wrong with the files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub profiles: Vec<ProfileLine>,
    /// Files that could not be read, each a sentence naming the file and what to do.
    pub problems: Vec<String>,
}

/// Reads the settings, the registry and the credentials file as they are at `now`.
pub fn read(paths: &AppPaths, now: OffsetDateTime) -> Overview {
    let mut problems = Vec::new();
    let settings = Settings::load(paths).unwrap_or_else(|err| {
        problems.push(err.to_string());
        Settings::default()
    });
    let registry = Registry::load(&paths.config_dir)
        .map(|registry| registry.all().clone())
        .unwrap_or_else(|err| {
            problems.push(err.to_string());
            BTreeMap::new()
        });
    let expirations: BTreeMap<String, Option<OffsetDateTime>> = AwsFiles::from_paths(paths)
        .read_all_credentials()
        .map(|all| {
            all.into_iter()
                .map(|(name, stored)| (name, stored.expiration))
                .collect()
        })
        .unwrap_or_else(|err| {
            problems.push(err.to_string());
            BTreeMap::new()
        });
    let refused = RefusedPasswords::new(&paths.config_dir);
    let lead = time::Duration::minutes(i64::from(settings.preferences.refresh_lead_minutes));
    let active = &settings.preferences.active_profile;
    let profiles = registry
        .into_iter()
        .map(|(profile, source)| {
            let expiration = expirations.get(&profile).copied().flatten();
            let seconds_left = expiration.map(|at| (at - now).whole_seconds().max(0));
            let state = match expiration {
                None => State::Missing,
                Some(at) if at <= now => State::Expired,
                Some(at) if at - now <= lead => State::Expiring,
                Some(_) => State::Valid,
            };
            let needs = if refused.is_refused(&source.endpoint) {
                Some(format!(
                    "The IdP refused the stored password of endpoint \"{}\": enter it again \
                     in Settings or with `rolecall password set --endpoint {}`.",
                    source.endpoint, source.endpoint
                ))
            } else if settings.endpoint(&source.endpoint).is_none() {
                Some(format!(
                    "Endpoint \"{}\" is no longer in the settings: add it again or log in to \
                     this role from another endpoint.",
                    source.endpoint
                ))
            } else {
                matches!(state, State::Expired | State::Missing).then(|| {
                    format!(
                        "Sign in again: `rolecall login --endpoint {} --role {} --profile {profile}`, \
                         or Use from the tray.",
                        source.endpoint, source.role_arn
                    )
                })
            };
            let role = RolePair {
                role_arn: source.role_arn.clone(),
                principal_arn: source.principal_arn.clone(),
            };
            ProfileLine {
                active: &profile == active,
                account_id: role.account_id().to_owned(),
                role: role.role_name().to_owned(),
                role_arn: source.role_arn,
                endpoint: source.endpoint,
                keep_refreshed: source.keep_refreshed,
                profile,
                expiration,
                seconds_left,
                state,
                needs,
            }
        })
        .collect();
    Overview { profiles, problems }
}

/// Time left as a prompt shows it: `52m`, `3h05m`, `expired`, `-` without a session.
pub fn short_left(line: &ProfileLine) -> String {
    match (line.state, line.seconds_left) {
        (State::Missing, _) | (_, None) => "-".to_owned(),
        (State::Expired, _) => "expired".to_owned(),
        (_, Some(seconds)) => {
            let minutes = seconds / 60;
            if minutes >= 60 {
                format!("{}h{:02}m", minutes / 60, minutes % 60)
            } else {
                format!("{minutes}m")
            }
        }
    }
}

/// The placeholders a `--format` template may use.
pub const PLACEHOLDERS: [&str; 10] = [
    "profile",
    "role",
    "role_arn",
    "account_id",
    "endpoint",
    "expires",
    "left",
    "state",
    "active",
    "needs",
];

/// `template` with each `{placeholder}` of [`PLACEHOLDERS`] filled in for `line`; `{{` and
/// `}}` are literal braces.
pub fn render(template: &str, line: &ProfileLine) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
            continue;
        }
        if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
            continue;
        }
        let close = tail.strip_prefix('{').and_then(|inner| {
            inner
                .find('}')
                .map(|end| (&inner[..end], &inner[end + 1..]))
        });
        let Some((name, after)) = close else {
            return Err(TemplateError::Unbalanced);
        };
        out.push_str(&value(name, line).ok_or_else(|| TemplateError::Unknown {
            name: name.to_owned(),
        })?);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

fn value(name: &str, line: &ProfileLine) -> Option<String> {
    Some(match name {
        "profile" => line.profile.clone(),
        "role" => line.role.clone(),
        "role_arn" => line.role_arn.clone(),
        "account_id" => line.account_id.clone(),
        "endpoint" => line.endpoint.clone(),
        "expires" => line
            .expiration
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default(),
        "left" => short_left(line),
        "state" => line.state.word().to_owned(),
        "active" => if line.active { "*" } else { "" }.to_owned(),
        "needs" => line.needs.clone().unwrap_or_default(),
        _ => return None,
    })
}

/// Why a `--format` template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "The format names {{{name}}}, which `rolecall status` does not know. Use any of \
         {{profile}}, {{role}}, {{role_arn}}, {{account_id}}, {{endpoint}}, {{expires}}, \
         {{left}}, {{state}}, {{active}}, {{needs}}."
    )]
    Unknown { name: String },
    #[error(
        "The format has a brace without its pair. Write placeholders as {{profile}}, and a \
         literal brace as {{{{ or }}}}."
    )]
    Unbalanced,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::{Environment, Platform};
    use crate::registry::ProfileSource;
    use crate::settings::Endpoint;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    fn paths(dir: &std::path::Path) -> AppPaths {
        let env = Environment::new(Platform::current())
            .with("HOME", dir.to_string_lossy())
            .with("ROLECALL_CONFIG_DIR", dir.join("config").to_string_lossy());
        AppPaths::resolve(&env).unwrap()
    }

    fn setup(dir: &std::path::Path) -> AppPaths {
        let paths = paths(dir);
        let mut settings = Settings::default();
        settings
            .add_endpoint(Endpoint::new("corp", "https://sts.corp.example").unwrap())
            .unwrap();
        settings.preferences.active_profile = "dev".to_owned();
        settings.save(&paths).unwrap();
        let endpoint = settings.endpoint("corp").unwrap().clone();
        let mut registry = Registry::load(&paths.config_dir).unwrap();
        let role = |name: &str| RolePair {
            role_arn: format!("arn:aws:iam::111122223333:role/{name}"),
            principal_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
        };
        registry
            .record(
                ["dev", "ops", "old", "none"]
                    .map(|p| (p.to_owned(), ProfileSource::new(&endpoint, &role(p), None))),
            )
            .unwrap();
        std::fs::create_dir_all(paths.aws_credentials_file.parent().unwrap()).unwrap();
        let session = |name: &str, expires: &str| {
            format!(
                "[{name}]\naws_access_key_id = ASIAX\naws_secret_access_key = s\n\
                 aws_session_token = t\nx_security_token_expires = {expires}\n\n"
            )
        };
        std::fs::write(
            &paths.aws_credentials_file,
            session("dev", "2026-12-03T11:05:30Z")
                + &session("ops", "2026-12-03T10:10:00Z")
                + &session("old", "2026-12-03T09:00:00Z")
                + "[mine]\naws_access_key_id = AKIAMINE\naws_secret_access_key = x\n",
        )
        .unwrap();
        paths
    }

    #[test]
    fn each_managed_profile_with_its_state_and_what_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let paths = setup(dir.path());
        let overview = read(&paths, NOW);
        assert!(overview.problems.is_empty(), "{:?}", overview.problems);
        let by_name: BTreeMap<&str, &ProfileLine> = overview
            .profiles
            .iter()
            .map(|line| (line.profile.as_str(), line))
            .collect();
        assert_eq!(
            by_name.keys().copied().collect::<Vec<_>>(),
            ["dev", "none", "old", "ops"],
            "only Rolecall's profiles, not the person's own keys"
        );
        let dev = by_name["dev"];
        assert!(dev.active && dev.state == State::Valid && dev.needs.is_none());
        assert_eq!(dev.seconds_left, Some(65 * 60 + 30));
        assert_eq!(short_left(dev), "1h05m");
        assert_eq!(
            (dev.account_id.as_str(), dev.role.as_str()),
            ("111122223333", "dev")
        );
        assert_eq!(by_name["ops"].state, State::Expiring);
        assert_eq!(short_left(by_name["ops"]), "10m");
        let old = by_name["old"];
        assert_eq!(
            (old.state, short_left(old).as_str()),
            (State::Expired, "expired")
        );
        assert!(old.needs.as_deref().unwrap().contains("rolecall login"));
        assert_eq!(by_name["none"].state, State::Missing);
        assert_eq!(short_left(by_name["none"]), "-");
    }

    #[test]
    fn a_refused_password_is_what_the_person_must_fix() {
        let dir = tempfile::tempdir().unwrap();
        let paths = setup(dir.path());
        RefusedPasswords::new(&paths.config_dir)
            .mark("corp")
            .unwrap();
        let overview = read(&paths, NOW);
        assert!(
            overview.profiles.iter().all(|line| line
                .needs
                .as_deref()
                .unwrap_or_default()
                .contains("refused")),
            "{overview:?}"
        );
    }

    #[test]
    fn a_broken_file_is_a_problem_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let paths = setup(dir.path());
        std::fs::write(paths.config_dir.join(Registry::FILE_NAME), "{\"dev\": ").unwrap();
        let overview = read(&paths, NOW);
        assert!(overview.profiles.is_empty());
        assert_eq!(overview.problems.len(), 1, "{:?}", overview.problems);
    }

    #[test]
    fn templates_fill_placeholders_and_refuse_unknown_ones() {
        let dir = tempfile::tempdir().unwrap();
        let paths = setup(dir.path());
        let overview = read(&paths, NOW);
        let dev = overview
            .profiles
            .iter()
            .find(|l| l.profile == "dev")
            .unwrap();
        assert_eq!(
            render("{active}{profile} ({role}@{account_id}) {left} {{x}}", dev).unwrap(),
            "*dev (dev@111122223333) 1h05m {x}"
        );
        assert_eq!(
            render("{expires}|{state}", dev).unwrap(),
            "2026-12-03T11:05:30Z|valid"
        );
        assert!(matches!(
            render("{secret}", dev),
            Err(TemplateError::Unknown { name }) if name == "secret"
        ));
        assert_eq!(render("{profile", dev), Err(TemplateError::Unbalanced));
        assert_eq!(render("a } b", dev), Err(TemplateError::Unbalanced));
        for name in PLACEHOLDERS {
            assert!(render(&format!("{{{name}}}"), dev).is_ok(), "{name}");
        }
    }
}
