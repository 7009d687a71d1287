//! Reading the pages an IdP answers with: the one place that knows what AD FS pages look like.
//!
//! [`classify`] turns an HTML page into a [`Page`]: a login form (whole, or AD FS 2019's
//! paginated username page), home realm discovery, an MFA prompt, the page that changes an
//! expired password, the auto-post page carrying the SAML response, an AD FS (`MSIS`) error, or
//! something else. It reads
//! through [`crate::html`], which never fails: any input, however broken, is some [`Page`], at
//! worst [`Page::Unknown`].

use crate::html::{Document, Node, collapse_whitespace};
use crate::secrets::Sensitive;

/// A page of the sign-in conversation, as far as Rolecall can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The page that posts the SAML response to AWS (`hiddenform`).
    SamlPost {
        action: String,
        saml_response: Sensitive<String>,
    },
    /// A username and password form (AD FS `loginForm`).
    Login {
        form: Form,
        username_field: String,
        password_field: String,
        /// The page's error text (AD FS `errorText`), when it shows one.
        error: Option<String>,
    },
    /// The first page of a paginated sign-in (AD FS 2019+): the `loginForm` asks for the
    /// username only, and the password comes on the next page.
    Username {
        form: Form,
        username_field: String,
        error: Option<String>,
    },
    /// Home realm discovery: the claims providers to choose from, each a button that posts
    /// `HomeRealmSelection`.
    HomeRealm {
        form: Form,
        /// The buttons Rolecall could read; empty when the page lists them some other way.
        providers: Vec<ClaimsProvider>,
        error: Option<String>,
    },
    /// A form that changes the password (`/adfs/portal/updatepassword`): the old one expired
    /// or must be changed.
    PasswordChange { error: Option<String> },
    /// An MFA adapter page that takes a one-time passcode (AD FS `options` form).
    Passcode {
        form: Form,
        adapter: String,
        passcode_field: String,
        error: Option<String>,
    },
    /// An MFA adapter page without a passcode field (a push, a phone call, FIDO2, Duo's
    /// Universal Prompt, ...): only a person in a browser can answer it.
    OtherMfa { adapter: String },
    /// An AD FS error page (`MSIS7007: ...`).
    AdfsError { code: String, text: String },
    /// Anything else.
    Unknown,
}

/// An HTML form: where it posts and what it sends as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    pub id: Option<String>,
    pub name: Option<String>,
    /// The `action` attribute as written (relative or absolute); `None` posts to the page itself.
    pub action: Option<String>,
    pub method: String,
    pub inputs: Vec<Input>,
}

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Input {
    pub name: String,
    /// `type`, lowercased; `text` when absent (`submit` for a `<button>` without one).
    pub kind: String,
    pub value: String,
    /// The text a `<button>` shows, whitespace collapsed; empty for an `<input>`.
    pub label: String,
}

/// One claims provider a home realm discovery page offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClaimsProvider {
    /// What the button posts as `HomeRealmSelection` (`AD AUTHORITY` for the farm's own
    /// directory, otherwise the provider's identifier).
    pub id: String,
    /// What the button shows.
    pub name: String,
}

impl ClaimsProvider {
    /// Whether `wanted` (an endpoint's `claims_provider`) names this provider: its identifier
    /// exactly, or the name it shows in any case.
    pub fn is_named(&self, wanted: &str) -> bool {
        let wanted = wanted.trim();
        self.id == wanted
            || self.id.eq_ignore_ascii_case(wanted)
            || collapse_whitespace(&self.name).eq_ignore_ascii_case(&collapse_whitespace(wanted))
    }
}

impl std::fmt::Display for ClaimsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name.is_empty() || self.name == self.id {
            write!(f, "\"{}\"", self.id)
        } else {
            write!(f, "\"{}\" ({})", self.name, self.id)
        }
    }
}

// Inputs may carry a SAMLResponse or a pre-filled password: never print their values.
impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Form {
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs
            .iter()
            .find(|input| input.name.eq_ignore_ascii_case(name))
    }

    fn has_input(&self, name: &str) -> bool {
        self.input(name).is_some()
    }

    /// The check box named `name`, if the form has one.
    pub fn checkbox(&self, name: &str) -> Option<&Input> {
        self.inputs
            .iter()
            .find(|input| input.kind == "checkbox" && input.name.eq_ignore_ascii_case(name))
    }

    /// The fields a browser would submit as they are (hidden fields and pre-filled values),
    /// leaving out submit buttons and unticked check boxes.
    pub fn default_fields(&self) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .filter(|input| !input.name.is_empty())
            .filter(|input| !matches!(&*input.kind, "submit" | "button" | "image" | "reset"))
            .filter(|input| !matches!(&*input.kind, "checkbox" | "radio"))
            .map(|input| (input.name.clone(), input.value.clone()))
            .collect()
    }
}

/// The field home realm discovery posts the chosen claims provider in.
pub const HOME_REALM_SELECTION: &str = "HomeRealmSelection";

/// What kind of page `html` is.
pub fn classify(html: &str) -> Page {
    let document = Document::scan(html);
    let forms = forms(&document);

    if let Some(form) = forms.iter().find(|form| form.has_input("SAMLResponse")) {
        let value = form
            .input("SAMLResponse")
            .map(|input| input.value.clone())
            .unwrap_or_default();
        return Page::SamlPost {
            action: form.action.clone().unwrap_or_default(),
            saml_response: Sensitive::new(value),
        };
    }

    let error = document.text_of_id("errorText");

    // The MFA page comes before the login form: AD FS keeps the AuthMethod/Context pair there.
    if let Some(form) = forms
        .iter()
        .find(|form| form.has_input("Context") && form.has_input("AuthMethod"))
        && !form.has_input("Password")
    {
        let adapter = form
            .input("AuthMethod")
            .map(|input| input.value.clone())
            .unwrap_or_default();
        let passcode = form
            .inputs
            .iter()
            .find(|input| input.name.eq_ignore_ascii_case("Passcode"))
            .or_else(|| {
                form.inputs.iter().find(|input| {
                    matches!(&*input.kind, "text" | "password" | "tel" | "number")
                        && !input.name.is_empty()
                })
            });
        return match passcode {
            Some(field) => Page::Passcode {
                form: form.clone(),
                adapter,
                passcode_field: field.name.clone(),
                error,
            },
            None => Page::OtherMfa { adapter },
        };
    }

    // Before the login form: the update page asks for the user name and the old password too.
    if forms.iter().any(|form| form.has_input("NewPassword")) {
        return Page::PasswordChange { error };
    }

    if let Some(form) = forms
        .iter()
        .find(|form| form.has_input(HOME_REALM_SELECTION))
    {
        let providers = form
            .inputs
            .iter()
            .filter(|input| input.name.eq_ignore_ascii_case(HOME_REALM_SELECTION))
            .filter(|input| matches!(&*input.kind, "submit" | "button" | "image"))
            .filter(|input| !input.value.trim().is_empty())
            .map(|input| ClaimsProvider {
                id: input.value.trim().to_owned(),
                name: if input.label.is_empty() {
                    input.value.trim().to_owned()
                } else {
                    input.label.clone()
                },
            })
            .fold(Vec::<ClaimsProvider>::new(), |mut seen, provider| {
                if !seen.iter().any(|other| other.id == provider.id) {
                    seen.push(provider);
                }
                seen
            });
        return Page::HomeRealm {
            form: form.clone(),
            providers,
            error,
        };
    }

    if let Some(form) = forms.iter().find(|form| {
        form.id.as_deref() == Some("loginForm")
            || (form.has_input("UserName") && form.has_input("Password"))
    }) {
        let password_field = form
            .inputs
            .iter()
            .find(|input| input.kind == "password")
            .or_else(|| form.input("Password"))
            .map(|input| input.name.clone());
        let username_field = form
            .input("UserName")
            .or_else(|| {
                form.inputs
                    .iter()
                    .find(|input| matches!(&*input.kind, "text" | "email"))
            })
            .map(|input| input.name.clone());
        match (username_field, password_field) {
            (Some(username_field), Some(password_field)) => {
                return Page::Login {
                    form: form.clone(),
                    username_field,
                    password_field,
                    error,
                };
            }
            (Some(username_field), None) => {
                return Page::Username {
                    form: form.clone(),
                    username_field,
                    error,
                };
            }
            _ => {}
        }
    }

    if let Some((code, text)) = msis_error(&document.text()) {
        return Page::AdfsError { code, text };
    }
    Page::Unknown
}

/// The first `MSISnnnn` code in the text, with the sentence it starts.
fn msis_error(text: &str) -> Option<(String, String)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find("MSIS") {
        let start = from + found;
        let digits = bytes[start + 4..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 4 {
            let code = text[start..start + 8].to_owned();
            let sentence: String = text[start..]
                .chars()
                .take_while(|&c| c != '\n')
                .take(300)
                .collect();
            return Some((code, collapse_whitespace(&sentence)));
        }
        from = start + 4;
    }
    None
}

fn forms(document: &Document) -> Vec<Form> {
    let mut forms = Vec::new();
    let mut current: Option<Form> = None;
    // The `<button>` whose text is being read, by its place in the current form's inputs.
    let mut button: Option<usize> = None;
    for node in &document.nodes {
        if node.is_open("form") {
            if let Some(done) = current.take() {
                forms.push(done);
            }
            button = None;
            current = Some(Form {
                id: node.attribute("id").map(str::to_owned),
                name: node.attribute("name").map(str::to_owned),
                action: node
                    .attribute("action")
                    .filter(|action| !action.trim().is_empty())
                    .map(|action| action.trim().to_owned()),
                method: node
                    .attribute("method")
                    .unwrap_or("get")
                    .to_ascii_lowercase(),
                inputs: Vec::new(),
            });
        } else if node.is_close("form") {
            if let Some(done) = current.take() {
                forms.push(done);
            }
            button = None;
        } else if let Some(form) = current.as_mut() {
            if node.is_open("input") {
                form.inputs.push(Input {
                    name: node.attribute("name").unwrap_or_default().to_owned(),
                    kind: node
                        .attribute("type")
                        .unwrap_or("text")
                        .to_ascii_lowercase(),
                    value: node.attribute("value").unwrap_or_default().to_owned(),
                    label: String::new(),
                });
            } else if node.is_open("button") {
                button = Some(form.inputs.len());
                form.inputs.push(Input {
                    name: node.attribute("name").unwrap_or_default().to_owned(),
                    kind: node
                        .attribute("type")
                        .unwrap_or("submit")
                        .to_ascii_lowercase(),
                    value: node.attribute("value").unwrap_or_default().to_owned(),
                    label: String::new(),
                });
            } else if node.is_close("button") {
                if let Some(input) = button.take().and_then(|at| form.inputs.get_mut(at)) {
                    input.label = collapse_whitespace(&input.label);
                }
            } else if let (Node::Text(text), Some(at)) = (node, button)
                && let Some(input) = form.inputs.get_mut(at)
            {
                push_label(&mut input.label, text);
            }
        }
    }
    if let Some(input) = button.and_then(|at| current.as_mut()?.inputs.get_mut(at)) {
        input.label = collapse_whitespace(&input.label);
    }
    forms.extend(current);
    forms
}

/// The most of a button's text kept as its label: a few words on real pages, and a hostile
/// page's endless one costs no more.
const MAX_LABEL_BYTES: usize = 512;

fn push_label(label: &mut String, text: &str) {
    for c in text.chars().chain([' ']) {
        if label.len() + c.len_utf8() > MAX_LABEL_BYTES {
            return;
        }
        label.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{MAX_ATTRIBUTES, scan_attributes};
    use proptest::prelude::*;

    const LOGIN: &str = r#"<!DOCTYPE html><html><head><title>Sign In</title>
        <script>var x = "<form id='fake'><input name='Password'>";</script></head><body>
        <form method="post" id="loginForm" autocomplete="off" novalidate="novalidate"
              onKeyPress="if (event &amp;&amp; event.keyCode == 13) Login.submitLoginRequest();"
              action="/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices&amp;client-request-id=42">
          <div id="error" class="fieldMargin error smallText">
            <label id="errorText" for=""></label>
          </div>
          <input id="userNameInput" name="UserName" type="email" value="" spellcheck="false"/>
          <input id="passwordInput" name="Password" type="password" autocomplete="off"/>
          <input id="kmsiInput" type="checkbox" name="Kmsi" value="true" />
          <input id="optionForms" type="hidden" name="AuthMethod" value="FormsAuthentication"/>
          <span id="submitButton" class="submit" tabindex="4">Sign in</span>
        </form></body></html>"#;

    #[test]
    fn the_adfs_login_form_is_a_login_page_without_an_error() {
        let Page::Login {
            form,
            username_field,
            password_field,
            error,
        } = classify(LOGIN)
        else {
            panic!(
                "the AD FS login page should be a login page: {:?}",
                classify(LOGIN)
            );
        };
        assert_eq!(username_field, "UserName");
        assert_eq!(password_field, "Password");
        assert_eq!(error, None, "the empty errorText label is no error");
        assert_eq!(
            form.action.as_deref(),
            Some(
                "/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices&client-request-id=42"
            ),
            "entities in the action are decoded"
        );
        assert_eq!(
            form.default_fields(),
            vec![
                ("UserName".to_owned(), String::new()),
                ("Password".to_owned(), String::new()),
                ("AuthMethod".to_owned(), "FormsAuthentication".to_owned()),
            ],
            "the unticked Kmsi box is not sent"
        );
    }

    #[test]
    fn a_wrong_password_page_carries_the_message_verbatim() {
        let page = LOGIN.replace(
            r#"<label id="errorText" for=""></label>"#,
            r#"<label id="errorText" for="">Incorrect user ID or password. Type the correct
               user ID and password, and try again.</label>"#,
        );
        let Page::Login { error, .. } = classify(&page) else {
            panic!("still a login page");
        };
        assert_eq!(
            error.as_deref(),
            Some(
                "Incorrect user ID or password. Type the correct user ID and password, and try again."
            )
        );
    }

    #[test]
    fn the_auto_post_page_gives_the_saml_response() {
        let html = r#"<html><head><title>Working...</title></head><body>
            <form method="POST" name="hiddenform" action="https://signin.aws.amazon.com:443/saml">
            <input type="hidden" name="SAMLResponse" value="PHNhbWxwOlJlc3BvbnNlPg==" />
            <noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript>
            </form><script language="javascript">window.setTimeout('document.forms[0].submit()', 0);</script></body></html>"#;
        let Page::SamlPost {
            action,
            saml_response,
        } = classify(html)
        else {
            panic!("the auto-post page carries the response");
        };
        assert_eq!(action, "https://signin.aws.amazon.com:443/saml");
        assert_eq!(saml_response.expose(), "PHNhbWxwOlJlc3BvbnNlPg==");
        assert!(
            !format!("{:?}", classify(html)).contains("PHNh"),
            "Debug never shows the response"
        );
    }

    #[test]
    fn the_passcode_page_names_its_adapter_and_field() {
        let html = r#"<form method="post" id="options" class="hidden" action="https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices">
            <input id="authMethod" type="hidden" name="AuthMethod" value="SecurIDv2Authentication"/>
            <input id="context" type="hidden" name="Context" value="abc=="/>
            <label for="passcodeInput">Passcode</label>
            <input id="passcodeInput" name="Passcode" type="password" />
            <span id="errorText"></span></form>"#;
        let Page::Passcode {
            form,
            adapter,
            passcode_field,
            error,
        } = classify(html)
        else {
            panic!("a passcode page");
        };
        assert_eq!(adapter, "SecurIDv2Authentication");
        assert_eq!(passcode_field, "Passcode");
        assert_eq!(error, None);
        assert_eq!(
            form.input("Context").map(|i| i.value.as_str()),
            Some("abc==")
        );
    }

    #[test]
    fn an_mfa_page_without_a_code_field_needs_a_person() {
        let html = r#"<form id="options" method="post" action="/x">
            <input type="hidden" name="AuthMethod" value="AzureMfaAuthentication"/>
            <input type="hidden" name="Context" value="c"/>
            <input type="submit" value="Continue"/></form>"#;
        assert_eq!(
            classify(html),
            Page::OtherMfa {
                adapter: "AzureMfaAuthentication".to_owned()
            }
        );
    }

    #[test]
    fn msis_errors_are_recognised_with_their_sentence() {
        let html = "<html><body><div id=\"errorArea\"><span>Error details</span>\n\
            <span>MSIS7007: The requested relying party trust 'urn:x' is unspecified or \
            unsupported.</span></div></body></html>";
        assert_eq!(
            classify(html),
            Page::AdfsError {
                code: "MSIS7007".to_owned(),
                text: "MSIS7007: The requested relying party trust 'urn:x' is unspecified or \
                       unsupported."
                    .to_owned()
            }
        );
    }

    #[test]
    fn a_form_inside_a_script_is_not_a_form() {
        let html = r#"<script>document.write('<form id="loginForm"><input name="UserName"><input name="Password" type="password"></form>')</script>"#;
        assert_eq!(classify(html), Page::Unknown);
    }

    /// A hostile page's tag with 100,000 attributes: the scanner keeps a bounded number, so
    /// the work is one pass over the text, and the form around it still classifies.
    #[test]
    fn a_tag_with_100000_attributes_keeps_a_bounded_number() {
        let junk: String = (0..100_000).map(|i| format!(" a{i}=\"x\"")).collect();
        let tag = format!("{junk} a0=\"y\">rest");
        let (attributes, after) = scan_attributes(&tag);
        assert_eq!(attributes.len(), MAX_ATTRIBUTES, "at most the cap is kept");
        assert_eq!(
            attributes[0],
            ("a0".to_owned(), "x".to_owned()),
            "the first one wins"
        );
        assert_eq!(after, "rest");

        let html = format!(
            "<form id=\"loginForm\" method=\"post\" action=\"/adfs/ls/\">\
             <input name=\"UserName\" type=\"email\"{junk}>\
             <input name=\"Password\" type=\"password\"{junk}></form>"
        );
        assert!(
            matches!(classify(&html), Page::Login { ref form, .. } if form.inputs.len() == 2),
            "the login form is still found"
        );
    }

    #[test]
    fn garbage_is_unknown() {
        for html in [
            "",
            "<",
            "<<<>>>",
            "<form",
            "<input name=",
            "&#xFFFFFFFF;",
            "<!--",
            "plain",
        ] {
            assert_eq!(classify(html), Page::Unknown, "{html:?}");
        }
    }

    /// Rolecall's pages in the shapes of AD FS 2019+ (see the comment in each file).
    const PAGINATED_USERNAME: &str =
        include_str!("../../tests/fixtures/adfs/paginated-username.html");
    const PAGINATED_PASSWORD: &str =
        include_str!("../../tests/fixtures/adfs/paginated-password.html");
    const HOME_REALM: &str = include_str!("../../tests/fixtures/adfs/home-realm-discovery.html");
    const UPDATE_PASSWORD: &str = include_str!("../../tests/fixtures/adfs/update-password.html");
    const LOCKOUT: &str = include_str!("../../tests/fixtures/adfs/lockout-msis7017.html");

    #[test]
    fn the_first_page_of_a_paginated_sign_in_asks_for_the_username_only() {
        let Page::Username {
            form,
            username_field,
            error,
        } = classify(PAGINATED_USERNAME)
        else {
            panic!("a username page: {:?}", classify(PAGINATED_USERNAME));
        };
        assert_eq!(form.id.as_deref(), Some("loginForm"));
        assert_eq!(username_field, "UserName");
        assert_eq!(error, None);
        assert!(form.input("Password").is_none());
    }

    #[test]
    fn the_second_page_of_a_paginated_sign_in_is_the_login_form_with_its_kmsi_box() {
        let Page::Login {
            form,
            username_field,
            password_field,
            error,
        } = classify(PAGINATED_PASSWORD)
        else {
            panic!("a login page: {:?}", classify(PAGINATED_PASSWORD));
        };
        assert_eq!(
            (username_field.as_str(), password_field.as_str()),
            ("UserName", "Password")
        );
        assert_eq!(error, None);
        assert_eq!(
            form.input("UserName").map(|input| input.value.as_str()),
            Some("alice@corp.example"),
            "the username of the first page is carried"
        );
        assert_eq!(
            form.checkbox("kmsi").map(|input| input.value.as_str()),
            Some("true")
        );
        assert!(
            !form.default_fields().iter().any(|(name, _)| name == "Kmsi"),
            "unticked, the box is not sent"
        );
    }

    #[test]
    fn home_realm_discovery_lists_its_claims_providers_by_identifier_and_name() {
        let Page::HomeRealm {
            form,
            providers,
            error,
        } = classify(HOME_REALM)
        else {
            panic!("a home realm page: {:?}", classify(HOME_REALM));
        };
        assert_eq!(
            providers,
            vec![
                ClaimsProvider {
                    id: "AD AUTHORITY".to_owned(),
                    name: "Corp directory".to_owned(),
                },
                ClaimsProvider {
                    id: "http://sts.partner.example/adfs/services/trust".to_owned(),
                    name: "Partner & Co".to_owned(),
                },
            ]
        );
        assert_eq!(error, None);
        assert_eq!(form.method, "post");
        assert!(
            form.default_fields().is_empty(),
            "buttons are not sent as they are"
        );
        assert!(providers[1].is_named("partner & co"));
        assert!(providers[1].is_named(" http://sts.partner.example/adfs/services/trust "));
        assert!(providers[0].is_named("ad authority"));
        assert!(!providers[0].is_named("Partner"));
        assert_eq!(
            providers[1].to_string(),
            "\"Partner & Co\" (http://sts.partner.example/adfs/services/trust)"
        );
    }

    #[test]
    fn provider_buttons_as_inputs_and_a_hidden_field_are_read_too() {
        let html = r#"<form method="post" action="/adfs/ls/">
            <input type="hidden" name="HomeRealmSelection" value=""/>
            <input type="submit" name="HomeRealmSelection" value="AD AUTHORITY"/>
            <input type="submit" name="HomeRealmSelection" value="AD AUTHORITY"/></form>"#;
        let Page::HomeRealm { providers, .. } = classify(html) else {
            panic!("a home realm page");
        };
        assert_eq!(
            providers,
            vec![ClaimsProvider {
                id: "AD AUTHORITY".to_owned(),
                name: "AD AUTHORITY".to_owned()
            }],
            "once each, named by their value"
        );
        let hidden_only = r#"<form method="post"><input type="hidden" name="HomeRealmSelection"/>
            <div onclick="choose('AD AUTHORITY')">Corp</div></form>"#;
        assert!(
            matches!(classify(hidden_only), Page::HomeRealm { ref providers, .. } if providers.is_empty()),
            "a list Rolecall cannot read is still home realm discovery"
        );
    }

    #[test]
    fn a_button_label_is_cut_at_a_bound() {
        let html = format!(
            r#"<form method="post"><button name="HomeRealmSelection" value="x">{}é</button></form>"#,
            "word ".repeat(100_000)
        );
        let Page::HomeRealm { providers, .. } = classify(&html) else {
            panic!("a home realm page");
        };
        assert!(providers[0].name.len() <= MAX_LABEL_BYTES, "bounded");
        assert!(providers[0].name.starts_with("word word"));
    }

    #[test]
    fn the_update_password_page_is_a_password_change() {
        assert_eq!(
            classify(UPDATE_PASSWORD),
            Page::PasswordChange { error: None },
            "not a login page, although it asks for the username and old password"
        );
    }

    #[test]
    fn a_lockout_is_the_login_page_with_its_msis_code_in_the_error() {
        let Page::Login { error, .. } = classify(LOCKOUT) else {
            panic!("the login page again");
        };
        assert!(error.is_some_and(|error| error.starts_with("MSIS7017: ")));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The classifier reads pages from the network: nothing in them may make it panic.
        #[test]
        fn classify_never_panics(html in "(<|>|/|=|\"|'|&|#|;|!|-|form|input|name|MSIS|[0-9]|[a-zA-Z ]|é|\u{1F600})*") {
            let _ = classify(&html);
        }

        #[test]
        fn classify_never_panics_near_real_pages(cut in 0usize..2000, noise in ".{0,8}") {
            let mut page = LOGIN.to_owned();
            let at = page.char_indices().map(|(i, _)| i).nth(cut % LOGIN.chars().count()).unwrap_or(0);
            page.insert_str(at, &noise);
            let _ = classify(&page);
            let _ = classify(&page[..at]);
        }
    }
}
