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

/// The Duo-like page's frame is the simulator's stand-in: a person approves there, the page's
/// script posts `duo_form` with the frame's `sig_response`, and the sign-in goes on. Without the
/// approval (all a client without a browser could send) it does not.
#[tokio::test]
async fn duo_stand_in_frame_lets_a_person_approve() {
    let sim = start().await;
    let client = client();
    let page = post_login(&sim, &client, "duo", DEMO_PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    let frame = tag_attribute(&page, "id=\"duo_iframe\"", "src").expect("the Duo frame");
    let action = tag_attribute(&page, "id=\"duo_form\"", "action").expect("duo_form");
    let context = input_value(&page, "Context").unwrap();
    let frame_url = sim.base_url().join(&frame).unwrap();
    let transaction = frame_url
        .query_pairs()
        .find(|(name, _)| name == "tx")
        .map(|(_, value)| value.into_owned())
        .expect("the frame names its transaction");
    let duo_post = |context: String, sig_response: Option<String>| {
        let mut form = vec![
            ("AuthMethod".to_owned(), "DuoAdfsAdapter".to_owned()),
            ("Context".to_owned(), context),
        ];
        form.extend(sig_response.map(|value| ("sig_response".to_owned(), value)));
        client.post(action.as_str()).form(&form).send()
    };

    // Not approved yet: the page comes again, with a new context and transaction.
    let unapproved = duo_post(context, Some(format!("AUTH|{transaction}")))
        .await
        .unwrap();
    assert_eq!(unapproved.status(), StatusCode::OK);
    let page = unapproved.text().await.unwrap();
    assert!(page.contains("id=\"duo_form\""), "{page}");
    assert_eq!(sim.stats().sso_sessions, 0);

    let frame = tag_attribute(&page, "id=\"duo_iframe\"", "src").unwrap();
    let context = input_value(&page, "Context").unwrap();
    let frame_url = sim.base_url().join(&frame).unwrap();
    let frame_page = client.get(frame_url.clone()).send().await.unwrap();
    assert_eq!(frame_page.status(), StatusCode::OK);
    let frame_page = frame_page.text().await.unwrap();
    let transaction = input_value(&frame_page, "tx").expect("the frame's approval form");
    let approved = client
        .post(frame_url.as_str().split('?').next().unwrap())
        .form(&[("tx", transaction.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sig_response =
        tag_attribute(&approved, "data-sig-response", "data-sig-response").expect("sig_response");
    let signed_in = duo_post(context, Some(sig_response)).await.unwrap();
    assert_eq!(
        signed_in.status(),
        StatusCode::FOUND,
        "approved: AD FS's 302"
    );
    assert_eq!(sim.stats().sso_sessions, 1);
}
