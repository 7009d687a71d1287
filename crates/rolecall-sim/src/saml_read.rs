//! Reading the SAML responses the simulator's AD FS issued, as STS and AWS's sign-in page do:
//! with a real XML parser, so a truncated, mangled or crossed document is refused the way AWS
//! refuses it. Signatures are not checked here (STS's seal stands in for that).

use time::OffsetDateTime;

use crate::assertion::{ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE, SOURCE_IDENTITY_ATTRIBUTE};

/// What STS reads from an assertion.
#[derive(Debug, Clone, Default)]
pub(crate) struct Claims {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) subject_format: String,
    pub(crate) recipient: String,
    pub(crate) session_name: Option<String>,
    pub(crate) source_identity: Option<String>,
    pub(crate) roles: Vec<RolePair>,
    pub(crate) not_on_or_after: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RolePair {
    pub(crate) role_arn: String,
    pub(crate) provider_arn: String,
}

impl RolePair {
    pub(crate) fn account_id(&self) -> &str {
        self.role_arn.split(':').nth(4).unwrap_or_default()
    }

    pub(crate) fn role_name(&self) -> &str {
        self.role_arn.rsplit('/').next().unwrap_or_default()
    }
}

/// One element of a SAML response: its local name, its attributes by local
/// name (unescaped) and its own text (unescaped, without its children's).
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub(crate) local: String,
    attributes: Vec<(String, String)>,
    text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// A SAML response read with a real XML parser: its elements in document order. `None` when
/// it is not well-formed XML, its root is not a `Response`, it has no `Assertion` or
/// `EncryptedAssertion`, or anything but white space follows the root, as STS and AWS's
/// sign-in page refuse a truncated or mangled one.
pub(crate) fn read_response(xml: &str) -> Option<Vec<Element>> {
    use quick_xml::events::Event;

    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut elements: Vec<Element> = Vec::new();
    // Indices into `elements` of the open elements.
    let mut open: Vec<usize> = Vec::new();
    let mut closed_root = false;
    let mut assertion = false;
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if closed_root {
                    return None;
                }
                let local = String::from_utf8(start.local_name().as_ref().to_vec()).ok()?;
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.ok()?;
                    let key =
                        String::from_utf8(attribute.key.local_name().as_ref().to_vec()).ok()?;
                    let value = attribute
                        .decode_and_unescape_value(reader.decoder())
                        .ok()?
                        .into_owned();
                    attributes.push((key, value));
                }
                elements.push(Element {
                    local,
                    attributes,
                    text: String::new(),
                });
                let index = elements.len() - 1;
                if matches!(event, Event::Start(_)) {
                    open.push(index);
                } else {
                    assertion |= is_assertion(&elements[index].local);
                    closed_root |= open.is_empty();
                }
            }
            Event::End(_) => {
                let index = open.pop()?;
                assertion |= is_assertion(&elements[index].local);
                closed_root |= open.is_empty();
            }
            Event::Text(text) => {
                let text = text.xml_content().ok()?;
                match open.last() {
                    Some(&index) => elements[index].text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return None,
                }
            }
            Event::CData(text) => {
                let text = text.decode().ok()?;
                elements[*open.last()?].text.push_str(&text);
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().ok()? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().ok()?;
                        quick_xml::escape::resolve_xml_entity(&name)?.to_owned()
                    }
                };
                elements[*open.last()?].text.push_str(&resolved);
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    let root_is_response = elements
        .first()
        .is_some_and(|root| root.local == "Response");
    (root_is_response && closed_root && open.is_empty() && assertion).then_some(elements)
}

fn is_assertion(local: &str) -> bool {
    matches!(local, "Assertion" | "EncryptedAssertion")
}

/// `ID` of the top-level `Response`.
pub(crate) fn response_id(elements: &[Element]) -> Option<String> {
    elements.first().and_then(|root| root.attribute("ID"))
}

/// The claims of a response whose status is Success; `None` for any other status.
pub(crate) fn read_claims(elements: &[Element]) -> Option<Claims> {
    let mut claims = Claims::default();
    let mut success = false;
    let mut attribute: Option<String> = None;
    for element in elements {
        match element.local.as_str() {
            "StatusCode" => {
                success |= element
                    .attribute("Value")
                    .is_some_and(|v| v.ends_with(":status:Success"));
            }
            "Issuer" if claims.issuer.is_empty() => {
                claims.issuer = element.text.trim().to_owned();
            }
            "NameID" => {
                claims.subject = element.text.trim().to_owned();
                claims.subject_format = element.attribute("Format").unwrap_or_default();
            }
            "SubjectConfirmationData" => {
                claims.recipient = element.attribute("Recipient").unwrap_or_default();
            }
            "Conditions" => {
                claims.not_on_or_after = element.attribute("NotOnOrAfter").and_then(|at| {
                    OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok()
                });
            }
            "Attribute" => attribute = element.attribute("Name"),
            "AttributeValue" => match attribute.as_deref() {
                Some(ROLE_SESSION_NAME_ATTRIBUTE) => {
                    claims.session_name = Some(element.text.trim().to_owned());
                }
                Some(ROLE_ATTRIBUTE) => claims.roles.extend(role_pair(&element.text)),
                Some(SOURCE_IDENTITY_ATTRIBUTE) => {
                    claims.source_identity = Some(element.text.trim().to_owned());
                }
                _ => {}
            },
            _ => {}
        }
    }
    success.then_some(claims)
}

/// A `Role` attribute value: the two ARNs in either order, whitespace tolerated.
pub(crate) fn role_pair(value: &str) -> Option<RolePair> {
    let (a, b) = value.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    let (role_arn, provider_arn) = if a.contains(":role/") { (a, b) } else { (b, a) };
    (role_arn.contains(":role/") && provider_arn.contains(":saml-provider/")).then(|| RolePair {
        role_arn: role_arn.to_owned(),
        provider_arn: provider_arn.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_pairs_read_in_either_order() {
        let forward = role_pair("arn:aws:iam::1:saml-provider/P, arn:aws:iam::1:role/A").unwrap();
        let reverse = role_pair(" arn:aws:iam::1:role/A ,arn:aws:iam::1:saml-provider/P").unwrap();
        assert_eq!(forward, reverse);
        assert!(role_pair("arn:aws:iam::1:role/A").is_none());
    }

    #[test]
    fn truncated_responses_are_not_well_formed() {
        let xml = r#"<samlp:Response ID="_1"><Assertion ID="_2"><Issuer>x</Issuer></Assertion></samlp:Response>"#;
        let elements = read_response(xml).unwrap();
        assert_eq!(response_id(&elements).as_deref(), Some("_1"));
        for cut in [10, 40, xml.len() - 3] {
            assert!(read_response(&xml[..cut]).is_none(), "{}", &xml[..cut]);
        }
        let trailing = format!("{xml}<x/>");
        assert!(read_response(&trailing).is_none());
        let crossed = xml.replace(
            "</Assertion></samlp:Response>",
            "</samlp:Response></Assertion>",
        );
        assert!(read_response(&crossed).is_none());
    }
}
