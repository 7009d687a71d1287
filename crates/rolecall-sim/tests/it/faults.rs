//! Each fault user produces the broken page or response its name promises.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;

use super::*;

async fn saml_value(sim: &Sim, user: &str) -> String {
    input_value(&sign_in(sim, &client(), user).await, "SAMLResponse").unwrap()
}

#[tokio::test]
async fn garbage_user_gets_an_unclassifiable_page_after_login() {
    let sim = start().await;
    let page = sign_in(&sim, &client(), "garbage").await;
    for marker in [
        "loginForm",
        "id=\"options\"",
        "hiddenform",
        "SAMLResponse",
        "MSIS",
    ] {
        assert!(!page.contains(marker), "garbage page has {marker}: {page}");
    }
}

#[tokio::test]
async fn truncated_response_is_half_of_a_valid_one() {
    let sim = start().await;
    let value = saml_value(&sim, "truncated").await;
    let xml = decode(&value);
    assert!(
        xml.starts_with("<samlp:Response") && !xml.contains("</samlp:Response>"),
        "{xml}"
    );
}

#[tokio::test]
async fn broken_base64_response_does_not_decode() {
    let sim = start().await;
    let value = saml_value(&sim, "broken-base64").await;
    assert!(value.contains("!!**"));
    assert!(STANDARD.decode(&value).is_err());
}

#[tokio::test]
async fn huge_response_is_over_a_million_characters() {
    let sim = start().await;
    let value = saml_value(&sim, "huge").await;
    assert!(value.len() > 1_000_000, "{}", value.len());
    assert!(decode(&value).ends_with("</samlp:Response>"));
}

#[tokio::test]
async fn dtd_response_carries_nested_entities() {
    let sim = start().await;
    let xml = decode(&saml_value(&sim, "dtd").await);
    assert!(
        xml.contains("<!DOCTYPE") && xml.contains("<!ENTITY lol2"),
        "{xml}"
    );
    assert!(xml.contains("&lol2;"), "the entity is used");
}

#[tokio::test]
async fn encrypted_response_has_no_readable_assertion() {
    let sim = start().await;
    let xml = decode(&saml_value(&sim, "encrypted").await);
    assert!(xml.contains("<EncryptedAssertion") && xml.contains("<xenc:EncryptedData"));
    assert!(!xml.contains("<Assertion ") && !xml.contains("SAML/Attributes/Role"));
}

#[tokio::test]
async fn duo_user_gets_a_page_only_a_browser_can_finish() {
    let sim = start().await;
    let response = post_login(&sim, &client(), "duo", DEMO_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"duo_form\"") && page.contains("duosecurity.com"));
    assert!(
        !page.contains("id=\"options\"") && !page.contains("Passcode"),
        "not a known MFA form"
    );
    assert_eq!(sim.stats().sso_sessions, 0);
}
