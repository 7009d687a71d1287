//! `rolecall import saml2aws` and `rolecall import aws-adfs`: the endpoints of the tools people
//! come to Rolecall from, read from those tools' own settings, shown first as a plan (nothing
//! written) and saved only when asked.
//!
//! - saml2aws keeps one IdP account per section of `~/.saml2aws` (or `SAML2AWS_CONFIGFILE`):
//!   `url`, `username`, `provider`, `aws_urn`, `skip_verify`, `aws_profile`, `role_arn`, `mfa`.
//! - aws-adfs keeps its settings in the AWS config file, in the profile it signs in for, as
//!   `adfs_config.*` keys: `adfs_host`, `adfs_user`, `provider_id`, `ssl_verification`,
//!   `adfs_ca_bundle`, `role_arn`. Profiles that share a host and user become one endpoint.
//!
//! Nothing here reads a password: neither tool stores one in these files, and Rolecall asks for
//! it at the first sign-in (or `rolecall password set`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use url::Url;

use crate::aws_files;
use crate::paths::{AppPaths, Environment, PathsError};
use crate::settings::{ADFS_SIGN_ON_PATH, Endpoint, Settings, SettingsError, SignInMethod};

/// The relying party AWS is in AD FS unless the admin chose another name.
const AWS_RELYING_PARTY: &str = "urn:amazon:webservices";

/// Whose settings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Saml2aws,
    AwsAdfs,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Saml2aws => "saml2aws",
            Source::AwsAdfs => "aws-adfs",
        }
    }

    /// Where the tool keeps its settings on this machine.
    pub fn default_file(self, env: &Environment, paths: &AppPaths) -> Result<PathBuf, PathsError> {
        Ok(match self {
            Source::Saml2aws => match env.var("SAML2AWS_CONFIGFILE") {
                Some(file) if !file.is_empty() => env.expand(file)?,
                _ => env.home()?.join(".saml2aws"),
            },
            Source::AwsAdfs => paths.aws_config_file.clone(),
        })
    }
}

/// What an import would do, entry by entry, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub source: Source,
    pub entries: Vec<Entry>,
}

/// One IdP account of saml2aws, or the aws-adfs profiles that share an AD FS host and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it was found: the saml2aws section, or the aws-adfs profiles.
    pub from: Vec<String>,
    pub outcome: Outcome,
    /// What the person should know or do next, each a sentence.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new endpoint, checked like one typed in the settings window.
    Add(Box<Endpoint>),
    /// An endpoint with the same sign-in URL and user is already in the settings.
    AlreadyThere { endpoint: String },
    /// Not imported, with the reason and what to do instead.
    Skip { reason: String },
}

impl Plan {
    pub fn additions(&self) -> impl Iterator<Item = &Endpoint> {
        self.entries
            .iter()
            .filter_map(|entry| match &entry.outcome {
                Outcome::Add(endpoint) => Some(&**endpoint),
                _ => None,
            })
    }
}

/// Reads another tool's settings (`text`, the file's bytes) against the settings Rolecall has.
pub fn plan(source: Source, text: &[u8], settings: &Settings) -> Plan {
    let found = match source {
        Source::Saml2aws => saml2aws(text),
        Source::AwsAdfs => aws_adfs(text),
    };
    let mut entries = Vec::new();
    // What the settings would hold after the entries so far.
    let mut planned = settings.endpoints.clone();
    for candidate in found {
        let outcome = match candidate.endpoint {
            Err(reason) => Outcome::Skip { reason },
            Ok(wanted) => decide(wanted, &mut planned),
        };
        let name = match &outcome {
            Outcome::Add(endpoint) => endpoint.name.as_str(),
            Outcome::AlreadyThere { endpoint } => endpoint.as_str(),
            Outcome::Skip { .. } => "NAME",
        };
        let notes = candidate
            .notes
            .iter()
            .map(|note| note.replace(ENDPOINT, name))
            .collect();
        entries.push(Entry {
            from: candidate.from,
            outcome,
            notes,
        });
    }
    Plan { source, entries }
}

/// Saves the plan's new endpoints, all or none.
pub fn apply(paths: &AppPaths, plan: &Plan) -> Result<Vec<String>, SettingsError> {
    let additions: Vec<Endpoint> = plan.additions().cloned().collect();
    if additions.is_empty() {
        return Ok(Vec::new());
    }
    crate::endpoints::update_settings(paths, |settings| {
        for endpoint in &additions {
            settings.add_endpoint(endpoint.clone())?;
        }
        Ok(())
    })?;
    Ok(additions
        .into_iter()
        .map(|endpoint| endpoint.name)
        .collect())
}

/// What was read for one endpoint, before it meets the settings.
struct Candidate {
    from: Vec<String>,
    endpoint: Result<Wanted, String>,
    notes: Vec<String>,
}

struct Wanted {
    /// The name it would like, made unique against the settings later.
    name: String,
    url: String,
    method: SignInMethod,
    username: Option<String>,
    ca_file: Option<PathBuf>,
}

/// Where a note names the endpoint, before its name is known.
const ENDPOINT: &str = "{endpoint}";

fn decide(wanted: Wanted, planned: &mut Vec<Endpoint>) -> Outcome {
    let taken: Vec<&str> = planned.iter().map(|e| e.name.as_str()).collect();
    let mut endpoint = match Endpoint::new(unique_name(&wanted.name, &taken), &wanted.url) {
        Ok(endpoint) => endpoint,
        Err(err) => {
            return Outcome::Skip {
                reason: err.to_string(),
            };
        }
    };
    endpoint.method = wanted.method;
    endpoint.username = wanted.username;
    endpoint.ca_file = wanted.ca_file;
    if let Some(existing) = planned.iter().find(|existing| {
        existing.url == endpoint.url
            && (existing.username.is_none()
                || endpoint.username.is_none()
                || existing.username == endpoint.username)
    }) {
        return Outcome::AlreadyThere {
            endpoint: existing.name.clone(),
        };
    }
    if let Err(problem) = endpoint.check(planned.len() + 1) {
        return Outcome::Skip {
            reason: problem.to_string(),
        };
    }
    planned.push(endpoint.clone());
    Outcome::Add(Box::new(endpoint))
}

fn unique_name(wanted: &str, taken: &[&str]) -> String {
    let free = |name: &str| !taken.iter().any(|t| t.eq_ignore_ascii_case(name));
    if free(wanted) {
        return wanted.to_owned();
    }
    (2..)
        .map(|n| format!("{wanted}-{n}"))
        .find(|name| free(name))
        .unwrap_or_else(|| wanted.to_owned())
}

/// A short endpoint name from a host: the company's label, not the server's
/// (`sts.corp.example` → `corp`).
fn name_from_host(host: &str) -> String {
    const SERVER_LABELS: [&str; 9] = [
        "sts",
        "adfs",
        "fs",
        "login",
        "sso",
        "idp",
        "auth",
        "signin",
        "federation",
    ];
    let host = host.split(':').next().unwrap_or_default();
    let labels: Vec<&str> = host.split('.').filter(|label| !label.is_empty()).collect();
    match labels.as_slice() {
        [first, second, _, ..] if SERVER_LABELS.contains(&first.to_ascii_lowercase().as_str()) => {
            (*second).to_owned()
        }
        [first, ..] => (*first).to_owned(),
        [] => "imported".to_owned(),
    }
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "1" | "on"
    )
}

fn falsy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "false" | "no" | "0" | "off"
    )
}

/// The AD FS sign-in URL for a host (or URL) and relying party.
fn adfs_url(host_or_url: &str, relying_party: Option<&str>) -> String {
    match relying_party.map(str::trim).filter(|rp| !rp.is_empty()) {
        Some(rp) if rp != AWS_RELYING_PARTY => {
            let base = if host_or_url.contains("://") {
                host_or_url.to_owned()
            } else {
                format!("https://{host_or_url}")
            };
            match Url::parse(&base) {
                Ok(mut url) => {
                    url.set_path(ADFS_SIGN_ON_PATH);
                    url.query_pairs_mut().clear().append_pair("loginToRp", rp);
                    url.to_string()
                }
                Err(_) => host_or_url.to_owned(),
            }
        }
        _ => host_or_url.to_owned(),
    }
}

/// The IdP-initiated sign-in URL on `url`'s host for IdPs that name the relying party in a
/// query parameter (Shibboleth's `providerId`, PingFederate's `PartnerSpId`), for the sign-in
/// window.
fn idp_initiated(
    url: &str,
    path: &str,
    parameter: &str,
    relying_party: Option<&str>,
) -> Result<(String, SignInMethod), String> {
    let mut start =
        Url::parse(url).map_err(|err| format!("Its url {url:?} is not a URL ({err})."))?;
    start.set_path(path);
    start
        .query_pairs_mut()
        .clear()
        .append_pair(parameter, relying_party.unwrap_or(AWS_RELYING_PARTY));
    Ok((start.to_string(), SignInMethod::Webview))
}

fn tls_note(endpoint: &str) -> String {
    format!(
        "It skipped the IdP's certificate check; Rolecall always checks it. If the sign-in \
         fails on the certificate, give your company's CA: rolecall endpoint edit {endpoint} \
         --ca-file ca.pem"
    )
}

fn login_note(endpoint: &str, role: Option<&str>, profile: Option<&str>) -> Option<String> {
    let role = role.filter(|role| !role.is_empty());
    let profile = profile.filter(|profile| !profile.is_empty());
    if role.is_none() && profile.is_none() {
        return None;
    }
    let mut command = format!("rolecall login --endpoint {endpoint}");
    if let Some(role) = role {
        command.push_str(&format!(" --role {role}"));
    }
    if let Some(profile) = profile {
        command.push_str(&format!(" --profile {profile}"));
    }
    Some(format!("To have the same profile: {command}"))
}

fn saml2aws(text: &[u8]) -> Vec<Candidate> {
    aws_files::read_sections(text, aws_files::SectionNames::Plain)
        .into_iter()
        .map(|(section, keys)| saml2aws_account(section, &keys))
        .collect()
}

fn saml2aws_account(section: String, keys: &BTreeMap<String, String>) -> Candidate {
    let get = |key: &str| keys.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let url = get("url").unwrap_or_default();
    let provider = get("provider").unwrap_or_default();
    let host = Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let name = if section == "default" || section.is_empty() {
        name_from_host(&host)
    } else {
        section.clone()
    };
    let relying_party = get("aws_urn");
    let mut notes = Vec::new();
    let endpoint = if url.is_empty() {
        Err("It has no url: saml2aws was never configured for it.".to_owned())
    } else {
        match provider.to_ascii_lowercase().as_str() {
            "adfs" | "adfs2" => Ok((adfs_url(url, relying_party), SignInMethod::Auto)),
            // These IdPs sign in to AWS from one URL: the sign-in window goes there.
            "okta" | "keycloak" | "jumpcloud" | "browser" | "authentik" => {
                Ok((url.to_owned(), SignInMethod::Webview))
            }
            "shibboleth" => idp_initiated(
                url,
                "/idp/profile/SAML2/Unsolicited/SSO",
                "providerId",
                relying_party,
            ),
            "ping" => idp_initiated(url, "/idp/startSSO.ping", "PartnerSpId", relying_party),
            "" => Err("It names no provider.".to_owned()),
            _ => Err(format!(
                "saml2aws signs in to {provider} with {provider}'s own API, which Rolecall does \
                 not speak. Rolecall can sign in there in its sign-in window: copy the AWS \
                 app's sign-in link from your {provider} portal and run rolecall endpoint add \
                 {name} --url <that link> --auth webview"
            )),
        }
    }
    .map(|(url, method)| {
        if method == SignInMethod::Webview {
            notes.push(format!(
                "Rolecall signs in to {provider} in its sign-in window, where you answer the \
                 IdP's own pages (MFA included)."
            ));
        } else if let Some(mfa) = get("mfa").filter(|mfa| !mfa.eq_ignore_ascii_case("auto")) {
            notes.push(format!(
                "saml2aws answered {mfa} itself; Rolecall shows the IdP's MFA page in its \
                 sign-in window when AD FS asks."
            ));
        }
        if get("skip_verify").is_some_and(truthy) {
            notes.push(tls_note(ENDPOINT));
        }
        if let Some(note) = login_note(ENDPOINT, get("role_arn"), get("aws_profile")) {
            notes.push(note);
        }
        Wanted {
            name: name.clone(),
            url,
            method,
            username: get("username").map(str::to_owned),
            ca_file: None,
        }
    });
    Candidate {
        from: vec![section],
        endpoint,
        notes,
    }
}

fn aws_adfs(text: &[u8]) -> Vec<Candidate> {
    // The profiles that use one AD FS, in file order.
    let mut groups: Vec<(AdfsAccount, Vec<Profile>)> = Vec::new();
    for (profile, keys) in aws_files::read_sections(text, aws_files::SectionNames::Config) {
        let get = |key: &str| {
            keys.get(&format!("adfs_config.{key}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v != "None")
        };
        let Some(host) = get("adfs_host") else {
            continue;
        };
        let relying_party = get("provider_id").filter(|rp| rp != AWS_RELYING_PARTY);
        let key = (host.to_ascii_lowercase(), get("adfs_user"), relying_party);
        let found = Profile {
            name: profile,
            role_arn: get("role_arn"),
            verify: get("ssl_verification").is_none_or(|v| !falsy(&v)),
            ca_bundle: get("adfs_ca_bundle"),
        };
        match groups.iter_mut().find(|(seen, _)| *seen == key) {
            Some((_, profiles)) => profiles.push(found),
            None => groups.push((key, vec![found])),
        }
    }
    groups
        .into_iter()
        .map(|((host, user, relying_party), profiles)| {
            let name = name_from_host(&host);
            let mut notes = Vec::new();
            if profiles.iter().any(|profile| !profile.verify) {
                notes.push(tls_note(ENDPOINT));
            }
            for profile in &profiles {
                if let Some(note) =
                    login_note(ENDPOINT, profile.role_arn.as_deref(), Some(&profile.name))
                {
                    notes.push(note);
                }
            }
            let ca_file = profiles
                .iter()
                .find_map(|profile| profile.ca_bundle.clone())
                .map(PathBuf::from);
            Candidate {
                from: profiles.into_iter().map(|profile| profile.name).collect(),
                endpoint: Ok(Wanted {
                    name,
                    url: adfs_url(&host, relying_party.as_deref()),
                    method: SignInMethod::Auto,
                    username: user,
                    ca_file,
                }),
                notes,
            }
        })
        .collect()
}

/// An AD FS host (lowercase), user and relying party (`None` for AWS's usual one).
type AdfsAccount = (String, Option<String>, Option<String>);

struct Profile {
    name: String,
    role_arn: Option<String>,
    verify: bool,
    ca_bundle: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAML2AWS: &str = "\
[default]
name                    = default
app_id                  =
url                     = https://sts.corp.example
username                = alice@corp.example
provider                = ADFS
mfa                     = Auto
skip_verify             = false
timeout                 = 0
aws_urn                 = urn:amazon:webservices
aws_session_duration    = 3600
aws_profile             = saml
role_arn                =
region                  =

[lab]
url                     = https://adfs.lab.example
username                = LAB\\alice
provider                = ADFS2
mfa                     = VIP
skip_verify             = true
aws_urn                 = urn:amazon:lab
aws_profile             = lab-admin
role_arn                = arn:aws:iam::444455556666:role/Admin

[okta]
url                     = https://corp.okta.example/home/amazon_aws/0oa1/272
username                = alice@corp.example
provider                = Okta
mfa                     = PUSH

[azure]
app_id                  = 1234
url                     = https://account.activedirectory.windowsazure.com
provider                = AzureAD

[unused]
provider                = ADFS
";

    fn settings_with(endpoints: &[(&str, &str, Option<&str>)]) -> Settings {
        let mut settings = Settings::default();
        for (name, url, user) in endpoints {
            let mut endpoint = Endpoint::new(*name, url).unwrap();
            endpoint.username = user.map(str::to_owned);
            settings.endpoints.push(endpoint);
        }
        settings
    }

    fn added(entry: &Entry) -> &Endpoint {
        match &entry.outcome {
            Outcome::Add(endpoint) => endpoint,
            other => panic!("{:?} is added, not {other:?}", entry.from),
        }
    }

    fn skipped(entry: &Entry) -> &str {
        match &entry.outcome {
            Outcome::Skip { reason } => reason,
            other => panic!("{:?} is skipped, not {other:?}", entry.from),
        }
    }

    #[test]
    fn saml2aws_accounts_become_endpoints_or_say_why_not() {
        let plan = plan(Source::Saml2aws, SAML2AWS.as_bytes(), &Settings::default());
        let [default, lab, okta, azure, unused] = plan.entries.as_slice() else {
            panic!("one entry per section: {plan:?}");
        };

        let corp = added(default);
        assert_eq!(corp.name, "corp", "named after the company, not [default]");
        assert_eq!(
            corp.url.as_str(),
            "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices"
        );
        assert_eq!(corp.method, SignInMethod::Auto);
        assert_eq!(corp.username.as_deref(), Some("alice@corp.example"));
        assert_eq!(
            default.notes,
            ["To have the same profile: rolecall login --endpoint corp --profile saml"]
        );

        let lab_endpoint = added(lab);
        assert_eq!(lab_endpoint.name, "lab");
        assert_eq!(
            lab_endpoint.url.as_str(),
            "https://adfs.lab.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn%3Aamazon%3Alab",
            "another relying party is kept"
        );
        assert_eq!(lab_endpoint.username.as_deref(), Some("LAB\\alice"));
        let notes = lab.notes.join(" ");
        assert!(notes.contains("answered VIP itself"), "{notes}");
        assert!(
            notes.contains("--ca-file"),
            "skip_verify is not carried over: {notes}"
        );
        assert!(
            notes.contains(
                "rolecall login --endpoint lab --role arn:aws:iam::444455556666:role/Admin \
                 --profile lab-admin"
            ),
            "{notes}"
        );

        let okta_endpoint = added(okta);
        assert_eq!(okta_endpoint.method, SignInMethod::Webview);
        assert_eq!(
            okta_endpoint.url.as_str(),
            "https://corp.okta.example/home/amazon_aws/0oa1/272"
        );

        let reason = skipped(azure);
        assert!(
            reason.contains("AzureAD") && reason.contains("--auth webview"),
            "says what to do instead: {reason}"
        );
        assert!(skipped(unused).contains("no url"));
        assert_eq!(
            plan.additions()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["corp", "lab", "okta"]
        );
    }

    #[test]
    fn shibboleth_and_ping_accounts_start_at_their_idp_initiated_urls() {
        let text = "[shib]\nurl = https://idp.corp.example/whatever\nprovider = Shibboleth\n\n\
                    [ping]\nurl = https://sso.corp.example\nprovider = Ping\n\
                    aws_urn = urn:amazon:lab\n\n[bad]\nurl = not a url\nprovider = Ping\n";
        let plan = plan(Source::Saml2aws, text.as_bytes(), &Settings::default());
        assert_eq!(
            added(&plan.entries[0]).url.as_str(),
            "https://idp.corp.example/idp/profile/SAML2/Unsolicited/SSO?providerId=urn%3Aamazon%3Awebservices"
        );
        assert_eq!(added(&plan.entries[0]).method, SignInMethod::Webview);
        assert_eq!(
            added(&plan.entries[1]).url.as_str(),
            "https://sso.corp.example/idp/startSSO.ping?PartnerSpId=urn%3Aamazon%3Alab"
        );
        assert!(skipped(&plan.entries[2]).contains("is not a URL"));
    }

    #[test]
    fn what_rolecall_has_is_not_added_twice_and_names_do_not_clash() {
        let settings = settings_with(&[
            (
                "corp",
                "https://sts.corp.example",
                Some("alice@corp.example"),
            ),
            ("lab", "https://other.example", None),
        ]);
        let plan = plan(Source::Saml2aws, SAML2AWS.as_bytes(), &settings);
        assert_eq!(
            plan.entries[0].outcome,
            Outcome::AlreadyThere {
                endpoint: "corp".to_owned()
            }
        );
        assert_eq!(added(&plan.entries[1]).name, "lab-2", "a free name");
    }

    const AWS_CONFIG: &str = "\
[default]
region = eu-west-1

[profile dev]
region = eu-west-1
output = json
adfs_config.ssl_verification = True
adfs_config.role_arn = arn:aws:iam::111122223333:role/Dev
adfs_config.adfs_host = sts.corp.example
adfs_config.session_duration = 3600
adfs_config.provider_id = urn:amazon:webservices
adfs_config.sspi = False
adfs_config.duo_factor = None
adfs_config.adfs_user = alice@corp.example

[profile prod]
adfs_config.ssl_verification = False
adfs_config.role_arn = arn:aws:iam::444455556666:role/Admin
adfs_config.adfs_host = STS.corp.example
adfs_config.adfs_user = alice@corp.example

[profile other-tool]
credential_process = something
";

    #[test]
    fn aws_adfs_profiles_that_share_a_host_become_one_endpoint() {
        let plan = plan(Source::AwsAdfs, AWS_CONFIG.as_bytes(), &Settings::default());
        let [entry] = plan.entries.as_slice() else {
            panic!("one endpoint for both profiles: {plan:?}");
        };
        assert_eq!(entry.from, ["dev", "prod"]);
        let corp = added(entry);
        assert_eq!(corp.name, "corp");
        assert_eq!(corp.username.as_deref(), Some("alice@corp.example"));
        assert_eq!(corp.method, SignInMethod::Auto);
        let notes = entry.notes.join("\n");
        assert!(
            notes.contains("--ca-file"),
            "prod skipped the check: {notes}"
        );
        assert!(
            notes.contains("--role arn:aws:iam::111122223333:role/Dev --profile dev")
                && notes.contains("--role arn:aws:iam::444455556666:role/Admin --profile prod"),
            "{notes}"
        );
    }

    #[test]
    fn a_missing_ca_bundle_is_a_reason_not_an_endpoint_that_cannot_sign_in() {
        let config = "[profile dev]\nadfs_config.adfs_host = sts.corp.example\n\
                      adfs_config.adfs_ca_bundle = /nowhere/ca.pem\n";
        let plan = plan(Source::AwsAdfs, config.as_bytes(), &Settings::default());
        let reason = skipped(&plan.entries[0]);
        assert!(reason.contains("/nowhere/ca.pem"), "{reason}");
    }

    #[test]
    fn files_without_accounts_plan_nothing() {
        for source in [Source::Saml2aws, Source::AwsAdfs] {
            for text in ["", "garbage\n[[[\n", "[profile x]\nregion = x\n"] {
                let plan = plan(source, text.as_bytes(), &Settings::default());
                assert_eq!(plan.additions().count(), 0, "{source:?} {text:?}");
            }
        }
    }

    #[test]
    fn host_names_give_the_company_label() {
        for (host, name) in [
            ("sts.corp.example", "corp"),
            ("adfs.company.tld", "company"),
            ("corp.example", "corp"),
            ("fs.example", "fs"),
            ("localhost", "localhost"),
            ("sts.corp.example:8443", "corp"),
        ] {
            assert_eq!(name_from_host(host), name, "{host}");
        }
    }
}
