//! The SAML reader on any input: it never panics, an assertion it accepts is one STS can take
//! as it is, and no message or `Debug` string carries the assertion.
//!
//! The first byte picks how the rest arrives: 0 as decoded XML, 1 as that XML in base64 (what
//! an IdP posts), 2 as whatever text the `SAMLResponse` field held.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use rolecall_core::saml::{self, Assertion, RolePair, SESSION_DURATION_SECS, SamlError};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let read = saml::parse_response_xml(rest);
            check(&read, rest, &String::from_utf8_lossy(rest));
        }
        1 => {
            let posted = STANDARD.encode(rest);
            let read = saml::parse_response(&posted);
            check(&read, rest, &posted);
            if let Ok(assertion) = &read {
                assert_eq!(
                    assertion.raw.expose(),
                    &posted,
                    "canonical base64 is kept as it is"
                );
            }
            assert_eq!(
                read,
                saml::parse_response_xml(rest),
                "the XML and its base64 read the same"
            );
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let read = saml::parse_response(text);
            let xml = match &read {
                Ok(assertion) => STANDARD
                    .decode(assertion.raw.expose())
                    .expect("the kept SAMLResponse is canonical base64"),
                Err(_) => Vec::new(),
            };
            check(&read, &xml, text);
        }
    }
});

fn check(read: &Result<Assertion, SamlError>, xml: &[u8], input: &str) {
    match read {
        Ok(assertion) => check_assertion(assertion, xml),
        Err(err) => {
            let message = err.to_string();
            // Errors quote at most one short value (120 characters, escaped).
            if input.chars().count() > 300 {
                assert!(!message.contains(input), "an error message holds the input");
            }
            assert!(
                message.chars().count() < 2_000,
                "an error message is long: {message}"
            );
        }
    }
}

fn check_assertion(assertion: &Assertion, xml: &[u8]) {
    // STS gets exactly the bytes that were read.
    assert_eq!(
        STANDARD.decode(assertion.raw.expose()).ok().as_deref(),
        Some(xml),
        "the kept SAMLResponse is not the XML that was read"
    );
    assert!(!assertion.roles.is_empty(), "an assertion without roles");
    assert!(
        saml::is_valid_session_name(&assertion.role_session_name),
        "a session name STS refuses: {:?}",
        assertion.role_session_name
    );
    if let Some(duration) = assertion.session_duration {
        assert!(SESSION_DURATION_SECS.contains(&duration));
    }
    for (index, role) in assertion.roles.iter().enumerate() {
        assert!(!assertion.roles[..index].contains(role), "a role twice");
        assert!(
            role.partition().is_some(),
            "a role outside the known partitions"
        );
        assert_eq!(
            role.account_id().len(),
            12,
            "an account id that is not 12 digits"
        );
        // What the menu keeps reads back as the same role.
        let value = format!("{},{}", role.role_arn, role.principal_arn);
        assert_eq!(RolePair::from_attribute_value(&value).as_ref(), Ok(role));
    }
    let grouped: usize = assertion.roles_by_account().values().map(Vec::len).sum();
    assert_eq!(
        grouped,
        assertion.roles.len(),
        "grouping lost or added roles"
    );
    let raw = assertion.raw.expose();
    if raw.len() >= 16 {
        assert!(
            !format!("{assertion:?}").contains(raw.as_str()),
            "Debug shows the assertion"
        );
    }
}
