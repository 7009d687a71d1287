//! Reading the pages an IdP answers with: the one place that knows what AD FS pages look like.
//!
//! [`classify`] turns an HTML page into a [`Page`]: a login form, an MFA prompt, the auto-post
//! page carrying the SAML response, an AD FS (`MSIS`) error, or something else. It reads
//! through [`crate::html`], which never fails: any input, however broken, is some [`Page`], at
//! worst [`Page::Unknown`].

use crate::html::{Document, collapse_whitespace};
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
    /// `type`, lowercased; `text` when absent.
    pub kind: String,
    pub value: String,
}

// Inputs may carry a SAMLResponse or a pre-filled password: never print their values.
impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("kind", &self.kind)
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
        if let (Some(username_field), Some(password_field)) = (username_field, password_field) {
            return Page::Login {
                form: form.clone(),
                username_field,
                password_field,
                error,
            };
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
    for node in &document.nodes {
        if node.is_open("form") {
            if let Some(done) = current.take() {
                forms.push(done);
            }
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
        } else if node.is_open("input")
            && let Some(form) = current.as_mut()
        {
            form.inputs.push(Input {
                name: node.attribute("name").unwrap_or_default().to_owned(),
                kind: node
                    .attribute("type")
                    .unwrap_or("text")
                    .to_ascii_lowercase(),
                value: node.attribute("value").unwrap_or_default().to_owned(),
            });
        }
    }
    forms.extend(current);
    forms
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
