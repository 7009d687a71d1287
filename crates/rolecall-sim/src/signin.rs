//! The stand-in for AWS's `https://signin.aws.amazon.com/saml`: it reads a posted `SAMLResponse`
//! and shows AWS's role chooser with account aliases, in the layout the configuration names
//! ([`RoleChooser`]: today's Next.js page or the legacy one); the chooser posted back with a role
//! (`roleIndex`) signs the stand-in console in as that role. It reads only what the simulator
//! itself writes (with [`crate::saml_read`]) and never checks signatures.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::RoleChooser;
use crate::escape::markup;
use crate::saml_read::{Claims, RolePair, read_claims, read_response};

/// The chooser's layout and the account aliases it shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chooser<'a> {
    pub(crate) layout: RoleChooser,
    pub(crate) aliases: &'a BTreeMap<String, String>,
}

/// Why the sign-in page refused a response (AWS answers these with a 400 page).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Rejection {
    #[error("the form has no SAMLResponse field")]
    Missing,
    #[error("SAMLResponse is not base64 of UTF-8 text")]
    NotBase64,
    #[error("the SAML response carries a DTD, which AWS refuses")]
    Dtd,
    #[error("the SAML response is not a successful samlp:Response with an assertion")]
    NotAResponse,
    #[error("the assertion is encrypted; this stand-in cannot decrypt it")]
    Encrypted,
    #[error("the assertion expired at {0}")]
    Expired(String),
    #[error("the assertion has no usable Role attribute")]
    NoRoles,
    #[error("the chosen role {0} is not one the assertion grants")]
    UnknownRole(String),
}

/// What a post to `/saml` asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SignIn {
    /// The role chooser page, for a response without a chosen role.
    Chooser(String),
    /// The chooser came back with a role: the console session's assumed-role ARN.
    Role { assumed_role_arn: String },
}

/// Reads a posted form body: the chooser for a bare `SAMLResponse`, the chosen role when the
/// chooser's own form comes back with `roleIndex`.
pub(crate) fn sign_in(
    form: &[(String, String)],
    chooser: &Chooser<'_>,
    now: OffsetDateTime,
) -> Result<SignIn, Rejection> {
    let value = form_field(form, "SAMLResponse").ok_or(Rejection::Missing)?;
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD.decode(compact).map_err(|_| Rejection::NotBase64)?;
    let xml = String::from_utf8(bytes).map_err(|_| Rejection::NotBase64)?;
    let claims = read_roles(&xml, now)?;
    let Some(chosen) = form_field(form, "roleIndex") else {
        let page = match chooser.layout {
            RoleChooser::NextJs => render_next_js(value, &claims.roles, chooser.aliases),
            RoleChooser::Legacy => render_legacy(value, &claims.roles, chooser.aliases),
        };
        return Ok(SignIn::Chooser(page));
    };
    let role = claims
        .roles
        .iter()
        .find(|role| role.role_arn == chosen)
        .ok_or_else(|| Rejection::UnknownRole(chosen.to_owned()))?;
    // As STS names the session: the assertion's RoleSessionName.
    let partition = role.role_arn.split(':').nth(1).unwrap_or("aws");
    let session_name = claims.session_name.unwrap_or_default();
    Ok(SignIn::Role {
        assumed_role_arn: format!(
            "arn:{partition}:sts::{}:assumed-role/{}/{session_name}",
            role.account_id(),
            role.role_name()
        ),
    })
}

fn form_field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.as_str())
}

fn read_roles(xml: &str, now: OffsetDateTime) -> Result<Claims, Rejection> {
    if xml.to_ascii_lowercase().contains("<!doctype") {
        return Err(Rejection::Dtd);
    }
    let elements = read_response(xml).ok_or(Rejection::NotAResponse)?;
    if elements
        .iter()
        .any(|element| element.local == "EncryptedAssertion")
    {
        return Err(Rejection::Encrypted);
    }
    let claims = read_claims(&elements).ok_or(Rejection::NotAResponse)?;
    if let Some(expiry) = claims.not_on_or_after
        && now >= expiry
    {
        return Err(Rejection::Expired(
            expiry.format(&Rfc3339).unwrap_or_default(),
        ));
    }
    if claims.roles.is_empty() {
        Err(Rejection::NoRoles)
    } else {
        Ok(claims)
    }
}

/// The assertion's accounts in order of first appearance, as AWS lists them, with their roles.
fn by_account(roles: &[RolePair]) -> Vec<(&str, Vec<&RolePair>)> {
    let mut accounts: Vec<(&str, Vec<&RolePair>)> = Vec::new();
    for role in roles {
        match accounts.iter_mut().find(|(id, _)| *id == role.account_id()) {
            Some((_, list)) => list.push(role),
            None => accounts.push((role.account_id(), vec![role])),
        }
    }
    accounts
}

/// How today's page names an account: `<alias> (<id>)`, or the id alone.
fn account_key(account: &str, aliases: &BTreeMap<String, String>) -> String {
    match aliases.get(account) {
        Some(alias) => format!("{alias} ({account})"),
        None => account.to_owned(),
    }
}

/// Today's page: the data in `<meta name="data">` (base64 of JSON with `roles_accounts`,
/// `SAMLResponse`, `RelayState` and `region`) and the chooser drawn from it as a plain form,
/// one fieldset per account whose legend is the account's name.
fn render_next_js(
    saml_response: &str,
    roles: &[RolePair],
    aliases: &BTreeMap<String, String>,
) -> String {
    let accounts = by_account(roles);
    let roles_accounts: serde_json::Map<String, serde_json::Value> = accounts
        .iter()
        .map(|(account, list)| {
            let arns: Vec<&str> = list.iter().map(|role| role.role_arn.as_str()).collect();
            (account_key(account, aliases), serde_json::json!(arns))
        })
        .collect();
    let data = serde_json::json!({
        "roles_accounts": roles_accounts,
        "SAMLResponse": saml_response,
        "RelayState": "",
        "region": "us-east-1",
    });
    let mut body = String::new();
    for (index, (account, list)) in accounts.iter().enumerate() {
        body.push_str(&format!(
            r#"<fieldset class="saml-account" id="account{index}"><legend class="saml-account-name">{}</legend>"#,
            markup(&account_key(account, aliases))
        ));
        for role in list {
            let arn = markup(&role.role_arn);
            body.push_str(&format!(
                r#"<div class="saml-role" onClick="checkRadio(this);"><input type="radio" name="roleIndex" value="{arn}" class="saml-radio" id="{arn}" /><label for="{arn}" class="saml-role-description">{}</label></div>"#,
                markup(role.role_name())
            ));
        }
        body.push_str("</fieldset>");
    }
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" /><meta name="data" content="{}" /><title>Amazon Web Services Sign-In</title><link rel="stylesheet" type="text/css" href="/static/css/saml.css" /></head><body><div id="__next"><div id="container"><h1 class="background">Amazon Web Services Login</h1><form id="saml_form" name="saml_form" action="/saml" method="post"><input type="hidden" name="RelayState" value="" /><input type="hidden" name="SAMLResponse" value="{}" /><p style="font-size: 16px; padding-left: 20px;">Select a role:</p>{body}<p id="saml_error" class="saml-error" role="alert"></p><div class="buttoninput"><button type="submit" id="signin_button" class="css3button">Sign In</button></div></form></div></div><script type="text/javascript" src="/static/js/saml.js"></script></body></html>"#,
        STANDARD.encode(data.to_string()),
        markup(saml_response)
    )
}

/// The page before: server-side HTML, each account headed `Account: <alias> (<id>)`.
fn render_legacy(
    saml_response: &str,
    roles: &[RolePair],
    aliases: &BTreeMap<String, String>,
) -> String {
    let accounts = by_account(roles);
    let mut body = String::new();
    for (index, (account, list)) in accounts.iter().enumerate() {
        let title = format!("Account: {}", markup(&account_key(account, aliases)));
        body.push_str(&format!(
            r#"<div class="saml-account"><div onClick="expandCollapse({index});"><img id="image{index}" src="/static/image/down.svg" alt="" valign="middle"></img><div class="saml-account-name">{title}</div></div><hr style="border: 1px solid #ddd;"><div id="{index}" class="saml-account">"#
        ));
        for role in list {
            let arn = markup(&role.role_arn);
            body.push_str(&format!(
                r#"<div class="saml-role" onClick="checkRadio(this);"><input type="radio" name="roleIndex" value="{arn}" class="saml-radio" id="{arn}" /><label for="{arn}" class="saml-role-description">{}</label><span style="clear: both;"></span></div>"#,
                markup(role.role_name())
            ));
        }
        body.push_str("</div></div>");
    }
    format!(
        r##"<!DOCTYPE html><html><head><title>Amazon Web Services Sign-In</title><link rel="stylesheet" type="text/css" href="/static/css/saml.css" /></head><body><div id="container"><h1 class="background">Amazon Web Services Login</h1><form id="saml_form" name="saml_form" action="/saml" method="post"><input type="hidden" name="RelayState" value="" /><input type="hidden" name="SAMLResponse" value="{}" /><input type="hidden" name="name" value="" /><input type="hidden" name="portal" value="" /><p style="font-size: 16px; padding-left: 20px;">Select a role:</p><fieldset>{body}</fieldset><p id="saml_error" class="saml-error" role="alert"></p><div class="buttoninput" id="input_signin_button"><a id="signin_button" class="css3button" href="#" alt="Continue" value="Continue">Sign In</a></div></form></div><script type="text/javascript" src="/static/js/saml.js"></script></body></html>"##,
        markup(saml_response)
    )
}

/// The 400 page AWS shows for a response it cannot use.
pub(crate) fn rejection_page(rejection: &Rejection) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>Amazon Web Services Sign-In</title></head><body><h1>Your request included an invalid SAML response.</h1><p>{}</p></body></html>",
        markup(&rejection.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_in_either_order_and_with_prefixes() {
        let xml = r#"<samlp:Response><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue xsi:type="xs:string">arn:aws:iam::1:role/A , arn:aws:iam::1:saml-provider/P</saml:AttributeValue><saml:AttributeValue>arn:aws:iam::1:saml-provider/P,arn:aws:iam::1:role/path/B</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#;
        let pairs = read_roles(xml, OffsetDateTime::UNIX_EPOCH).unwrap().roles;
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].role_arn, "arn:aws:iam::1:role/A");
        assert_eq!(pairs[1].role_name(), "B");
        assert_eq!(pairs[1].account_id(), "1");
        let truncated = &xml[..xml.len() - 20];
        assert!(matches!(
            read_roles(truncated, OffsetDateTime::UNIX_EPOCH),
            Err(Rejection::NotAResponse)
        ));
    }

    /// A person's browser gets the script and style each layout links: without the script the
    /// legacy page's "Sign In" link does nothing.
    #[test]
    fn every_file_either_layout_links_is_served() {
        let roles = [RolePair {
            role_arn: "arn:aws:iam::111122223333:role/Admin".to_owned(),
            provider_arn: "arn:aws:iam::111122223333:saml-provider/ADFS".to_owned(),
        }];
        let aliases = BTreeMap::from([("111122223333".to_owned(), "prod".to_owned())]);
        for page in [
            render_next_js("c2FtbA==", &roles, &aliases),
            render_legacy("c2FtbA==", &roles, &aliases),
        ] {
            let mut linked = 0;
            for link in page.split("=\"/static/").skip(1) {
                let path = format!("/static/{}", &link[..link.find('"').unwrap()]);
                assert!(
                    crate::portal::asset(&path).is_some(),
                    "{path} is linked but not served"
                );
                linked += 1;
            }
            assert!(linked >= 2, "the page links its script and style: {page}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        let form = vec![("SAMLResponse".to_owned(), "!!**".to_owned())];
        let aliases = BTreeMap::new();
        let chooser = Chooser {
            layout: RoleChooser::NextJs,
            aliases: &aliases,
        };
        assert_eq!(
            sign_in(&form, &chooser, OffsetDateTime::UNIX_EPOCH),
            Err(Rejection::NotBase64)
        );
        assert_eq!(
            sign_in(&[], &chooser, OffsetDateTime::UNIX_EPOCH),
            Err(Rejection::Missing)
        );
    }
}
