//! The static files the simulator's pages link, written for the simulator (never copied from
//! AD FS or AWS): the sign-in script and stylesheet under AD FS's `/adfs/portal/`, the stand-in
//! for Duo's web script, and the role chooser's script, stylesheet and arrow under `/static/`.
//! Without them a person in a browser could not click "Sign in" or pick a role.

/// A file the simulator serves as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Asset {
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The file at `path` (lowercased, as the server matches paths), if it is one of ours.
pub(crate) fn asset(path: &str) -> Option<Asset> {
    let (content_type, body) = match path {
        "/adfs/portal/script/onload.js" => (JAVASCRIPT, include_str!("../assets/onload.js")),
        "/adfs/portal/script/duo-web-v2.min.js" => (JAVASCRIPT, include_str!("../assets/duo.js")),
        "/adfs/portal/css/style.css" => (CSS, include_str!("../assets/style.css")),
        "/adfs/portal/logo/logo.svg" => (SVG, include_str!("../assets/logo.svg")),
        "/static/js/saml.js" => (JAVASCRIPT, include_str!("../assets/saml.js")),
        "/static/css/saml.css" => (CSS, include_str!("../assets/saml.css")),
        "/static/image/down.svg" => (SVG, include_str!("../assets/down.svg")),
        _ => return None,
    };
    Some(Asset { content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_a_page_links_is_served() {
        let pages = [
            crate::pages::login("/adfs/ls/", Some("post"), "", None),
            crate::pages::login_page(
                crate::pages::LoginStep::Username,
                "/adfs/ls/",
                Some("post"),
                "",
                "",
            ),
            crate::pages::home_realm("/adfs/ls/", &[("AD AUTHORITY".into(), "Corp".into())], None),
            crate::pages::update_password("", None),
            crate::pages::duo("/adfs/ls/", "context", "tx"),
            crate::pages::duo_frame("tx"),
        ];
        for page in &pages {
            for attribute in ["src='", "href=\"", "src=\"", "href='"] {
                for link in page.split(attribute).skip(1) {
                    let end = link.find(['\'', '"']).unwrap_or(link.len());
                    let path = link[..end].split('?').next().unwrap_or_default();
                    if !path.starts_with("/adfs/portal/") || path.starts_with("/adfs/portal/duo/") {
                        continue;
                    }
                    assert!(
                        asset(&path.to_ascii_lowercase()).is_some(),
                        "{path} is linked but not served"
                    );
                }
            }
        }
        assert!(asset("/adfs/portal/script/other.js").is_none());
    }
}
