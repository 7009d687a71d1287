//! MFA after the password: the options form, right and wrong passcodes, expired contexts.

use std::time::Duration;

use reqwest::StatusCode;
use rolecall_sim::{CONTEXT_EXPIRED_TEXT, WRONG_PASSCODE_TEXT};

use super::*;

async fn mfa_page(sim: &Sim, client: &reqwest::Client, user: &str) -> String {
    let response = post_login(sim, client, user, DEMO_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "the MFA page is a 200");
    response.text().await.unwrap()
}

async fn post_passcode(client: &reqwest::Client, page: &str, passcode: &str) -> reqwest::Response {
    let action = tag_attribute(page, "id=\"options\"", "action").expect("options form action");
    client
        .post(action)
        .form(&[
            ("AuthMethod", input_value(page, "AuthMethod").unwrap()),
            ("Context", input_value(page, "Context").unwrap()),
            ("Passcode", passcode.to_owned()),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn password_then_right_passcode_signs_in() {
    let sim = start().await;
    let client = client();
    let page = mfa_page(&sim, &client, "bob").await;
    let action = tag_attribute(&page, "id=\"options\"", "action").unwrap();
    assert!(
        action.starts_with(sim.sign_on_url().as_str()),
        "absolute action: {action}"
    );
    assert_eq!(
        input_value(&page, "AuthMethod").as_deref(),
        Some("SecurIDv2Authentication")
    );
    assert!(input_value(&page, "Context").is_some_and(|c| c.len() > 100));
    assert!(page.contains("name=\"Passcode\""));
    assert_eq!(error_text(&page), "");
    assert_eq!(
        sim.stats().sso_sessions,
        0,
        "no session before the second factor"
    );

    let response = post_passcode(&client, &page, "123456").await;
    let names: Vec<String> = set_cookies(&response)
        .iter()
        .map(|c| c.split('=').next().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"MSISAuth".to_owned()), "{names:?}");
    let auto_post = follow(&client, response).await;
    assert!(input_value(&auto_post, "SAMLResponse").is_some());
    assert_eq!(sim.stats().mfa_posts, 1);
}

#[tokio::test]
async fn wrong_passcode_asks_again_with_error_text() {
    let sim = start().await;
    let client = client();
    let page = mfa_page(&sim, &client, "dave").await;
    assert_eq!(
        input_value(&page, "AuthMethod").as_deref(),
        Some("AzureMfaServerAuthentication")
    );
    let response = post_passcode(&client, &page, "000000").await;
    assert_eq!(response.status(), StatusCode::OK);
    let again = response.text().await.unwrap();
    assert!(again.contains("id=\"options\""), "still the MFA page");
    assert_eq!(error_text(&again), WRONG_PASSCODE_TEXT);
    let response = post_passcode(&client, &again, "654321").await;
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "the new context works"
    );
}

#[tokio::test]
async fn expired_mfa_context_starts_over_at_the_login_page() {
    let sim = start().await;
    let client = client();
    let page = mfa_page(&sim, &client, "bob").await;
    sim.advance_clock(Duration::from_secs(5 * 60 + 1));
    let response = post_passcode(&client, &page, "123456").await;
    assert_eq!(response.status(), StatusCode::OK);
    let login = response.text().await.unwrap();
    assert!(login.contains("id=\"loginForm\""), "AD FS starts over");
    assert_eq!(error_text(&login), CONTEXT_EXPIRED_TEXT);
    assert_eq!(sim.stats().sso_sessions, 0);
}

#[tokio::test]
async fn unknown_mfa_context_starts_over_at_the_login_page() {
    let sim = start().await;
    let page = mfa_page(&sim, &client(), "bob").await;
    let forged = page.replace(&input_value(&page, "Context").unwrap(), "forged");
    let login = post_passcode(&client(), &forged, "123456")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(error_text(&login), CONTEXT_EXPIRED_TEXT);
}
