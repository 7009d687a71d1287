//! Checks of the values a person gives: URLs, names, the CA file, profile names and templates,
//! ranges. Each says what is wrong and what to do.

use super::*;

/// Turns what a person typed into an endpoint URL.
///
/// A bare host, or an `https://` URL whose path is empty, `/`, or a beginning of the AD FS
/// sign-on path (`/adfs`, `/adfs/ls/`), expands to
/// `https://<host>/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices`; the sign-on
/// page itself without a query gets the `loginToRp` query, so AD FS goes straight to AWS; any
/// other URL (a longer path, or one with a query) is kept as it is. `http://` is refused except
/// to loopback hosts.
pub fn endpoint_url(input: &str) -> Result<Url, UrlProblem> {
    let input = input.trim();
    if input.is_empty() {
        return Err(UrlProblem::Empty);
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|err| UrlProblem::NotUrl(err.to_string()))?;
    check_endpoint_url(&url)?;
    if url.query().is_none() && url.fragment().is_none() {
        let path = url.path().to_ascii_lowercase();
        let sign_on = ADFS_SIGN_ON_PATH.to_ascii_lowercase();
        let is_start = ["", "/", "/adfs", "/adfs/", "/adfs/ls", "/adfs/ls/"].contains(&&*path);
        if is_start {
            url.set_path(ADFS_SIGN_ON_PATH);
        }
        if is_start || path == sign_on {
            url.set_query(Some(ADFS_AWS_QUERY));
        }
    }
    Ok(url)
}
pub(super) fn check_endpoint_url(url: &Url) -> Result<(), UrlProblem> {
    match url.scheme() {
        "https" => {}
        "http" if crate::http::is_loopback(url) => {}
        "http" => return Err(UrlProblem::Insecure),
        other => return Err(UrlProblem::Scheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    Ok(())
}
/// A host as [`Endpoint::trusted_hosts`] keeps it: a DNS name or an IP address, lowercase, no
/// trailing dot, IPv6 in brackets; `None` for anything else (a port, a path, a scheme, a `*`).
pub fn trusted_host(input: &str) -> Option<String> {
    let input = input.trim();
    let input = input.strip_suffix('.').unwrap_or(input);
    let bracketed = input.starts_with('[') && input.ends_with(']');
    if input.is_empty()
        || input
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':')))
        || (input.contains(':') && !bracketed)
    {
        return None;
    }
    match url::Host::parse(input).ok()? {
        url::Host::Domain(name) => Some(name.to_ascii_lowercase()),
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(format!("[{ip}]")),
    }
}
/// The most characters a `claims_provider` holds: identifiers are URLs or URNs.
const MAX_CLAIMS_PROVIDER_CHARS: usize = 1024;

/// A `claims_provider` as written: not blank, no spaces around it, no control characters, and
/// no longer than any identifier.
pub(super) fn is_claims_provider(value: &str) -> bool {
    !value.trim().is_empty()
        && value.trim() == value
        && !value.chars().any(char::is_control)
        && value.chars().count() <= MAX_CLAIMS_PROVIDER_CHARS
}

pub(super) fn check_name(name: &str, position: usize) -> Result<(), Problem> {
    let bad = |reason| {
        Err(Problem::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return Err(Problem::EmptyName { position });
    }
    if name.trim() != name {
        return bad("starts or ends with a space");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return bad("is longer than 64 characters");
    }
    Ok(())
}
/// Reads at most this much of a CA file: far more than any bundle.
pub(super) const MAX_CA_FILE_BYTES: u64 = 16 << 20;
pub(super) const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";
/// A `[[chains]]` entry at `position` (from 1) on its own; its endpoint and the uniqueness of
/// its name are the whole settings' to check.
pub(super) fn check_chain(chain: &ChainSetting, position: usize) -> Result<(), Problem> {
    let name = &chain.name;
    if name.trim().is_empty() {
        return Err(Problem::EmptyChainName { position });
    }
    if name.trim() != name
        || name.chars().any(char::is_control)
        || name.chars().count() > MAX_NAME_CHARS
    {
        return Err(Problem::BadChainName { name: name.clone() });
    }
    if !crate::saml::is_role_arn(&chain.source_role) {
        return Err(Problem::ChainSource {
            chain: name.clone(),
            value: chain.source_role.clone(),
        });
    }
    chain.chain.check().map_err(|problem| Problem::Chain {
        chain: name.clone(),
        problem,
    })
}

pub(super) fn check_ca_file(path: &Path) -> Result<(), CaProblem> {
    if let Some(problem) = ca_path_problem(path) {
        return Err(problem);
    }
    // Never a FIFO or a device: opening one for reading would wait for ever.
    let file = match store::open_regular(path) {
        Ok(Some(file)) => file,
        Ok(None) => return Err(CaProblem::Missing),
        Err(StoreError::NotAFile { kind, .. }) => {
            return Err(CaProblem::Unreadable(format!("it is a {kind}")));
        }
        Err(err) => return Err(CaProblem::Unreadable(err.to_string())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|err| CaProblem::Unreadable(err.to_string()))?;
    if !bytes
        .windows(PEM_CERTIFICATE.len())
        .any(|window| window == PEM_CERTIFICATE)
    {
        return Err(CaProblem::NotPem);
    }
    Ok(())
}
pub(super) fn bad_profile_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '#' | ';')
}
pub(super) fn check_profile_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    match name.chars().find(|&c| bad_profile_char(c)) {
        Some(c) => Err(NameProblem::BadChar(c)),
        None => Ok(()),
    }
}
/// A browser command template ([`crate::browser_command`]): it must split into words, name a
/// program and use known placeholders only.
pub(super) fn check_console_browser(
    template: &str,
) -> Result<(), crate::browser_command::BrowserCommandProblem> {
    crate::browser_command::BrowserCommand::parse(template).map(|_| ())
}

/// A name of `[preferences.account_names]`: shown in menus beside the id, so one short line.
pub(super) fn check_account_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        Err("is blank")
    } else if name.trim() != name {
        Err("starts or ends with a space")
    } else if name.chars().any(char::is_control) {
        Err("contains a control character")
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err("is longer than 64 characters")
    } else {
        Ok(())
    }
}

/// A key of the per-account settings: a 12-digit account id or a role ARN.
pub(super) fn is_account_or_role_key(key: &str) -> bool {
    let account = key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit());
    account || key.starts_with("arn:")
}

pub(super) fn check_template(template: &str) -> Result<(), TemplateProblem> {
    if template.is_empty() {
        return Err(TemplateProblem::Empty);
    }
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        check_literal(&rest[..at])?;
        if rest[at..].starts_with('}') {
            return Err(TemplateProblem::Unbalanced);
        }
        let after = &rest[at + 1..];
        let end = after.find('}').ok_or(TemplateProblem::Unbalanced)?;
        let name = &after[..end];
        if name.contains('{') {
            return Err(TemplateProblem::Unbalanced);
        }
        if !PROFILE_PLACEHOLDERS.contains(&name) {
            return Err(TemplateProblem::Unknown(name.to_owned()));
        }
        rest = &after[end + 1..];
    }
    check_literal(rest)
}
pub(super) fn check_literal(text: &str) -> Result<(), TemplateProblem> {
    match text.chars().find(|&c| bad_profile_char(c)) {
        Some(c) => Err(TemplateProblem::BadChar(c)),
        None => Ok(()),
    }
}
pub(super) fn check_range(
    field: &'static str,
    value: u32,
    range: &RangeInclusive<u32>,
    unit: &'static str,
) -> Result<(), Problem> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(Problem::OutOfRange {
        field,
        value,
        min: *range.start(),
        max: *range.end(),
        unit,
    })
}
