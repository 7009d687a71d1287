//! The MSISAuth SSO session: reuse, expiry on the sim's clock, and sign-out.

use std::time::Duration;

use reqwest::StatusCode;

use super::*;

#[tokio::test]
async fn second_visit_with_cookies_gets_the_auto_post_page_directly() {
    let sim = start().await;
    let client = client();
    sign_in(&sim, &client, "alice").await;
    let again = client.get(sim.sign_on_url()).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let page = again.text().await.unwrap();
    assert!(
        input_value(&page, "SAMLResponse").is_some(),
        "SSO reuse skips the login page"
    );
    let stats = sim.stats();
    assert_eq!(
        (
            stats.form_posts,
            stats.assertions_issued,
            stats.login_pages_served
        ),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn session_expires_after_sso_lifetime_on_the_sim_clock() {
    let sim = start().await;
    let client = client();
    sign_in(&sim, &client, "alice").await;
    sim.advance_clock(Duration::from_secs(8 * 60 * 60 - 60));
    let page = client
        .get(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("hiddenform"),
        "still valid a minute before the end"
    );
    sim.advance_clock(Duration::from_secs(61));
    assert_eq!(sim.stats().sso_sessions, 0);
    let page = client
        .get(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"loginForm\""),
        "an expired session gets the login page"
    );
}

#[tokio::test]
async fn assertion_expires_after_its_lifetime_on_the_sim_clock() {
    let sim = start().await;
    let page = sign_in(&sim, &client(), "alice").await;
    let value = input_value(&page, "SAMLResponse").unwrap();
    let post = |value: String| {
        client()
            .post(sim.signin_saml_url())
            .form(&[("SAMLResponse", value)])
            .send()
    };
    assert_eq!(post(value.clone()).await.unwrap().status(), StatusCode::OK);
    sim.advance_clock(Duration::from_secs(5 * 60 + 1));
    let response = post(value).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "past NotOnOrAfter it is refused"
    );
    assert!(response.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn sign_out_ends_the_session_and_clears_the_cookies() {
    let sim = start().await;
    let client = client();
    sign_in(&sim, &client, "alice").await;
    let url = sim.base_url().join("adfs/ls/?wa=wsignout1.0").unwrap();
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = set_cookies(&response);
    for name in ["MSISAuth=", "MSISAuth1=", "MSISAuth2="] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(name) && c.contains("Max-Age=0")),
            "{name} cleared: {cleared:?}"
        );
    }
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("You have successfully signed out")
    );
    assert_eq!(sim.stats().sign_outs, 1);
    assert_eq!(sim.stats().sso_sessions, 0);
    let page = client
        .get(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"loginForm\""),
        "after sign-out the login page again"
    );
}

#[tokio::test]
async fn old_cookies_no_longer_work_after_sign_out() {
    let sim = start().await;
    let client = client();
    let posted = post_login(&sim, &client, "alice", DEMO_PASSWORD).await;
    let cookie_header: String = set_cookies(&posted)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let fresh = reqwest::Client::new();
    let with_cookies = |url: url::Url| fresh.get(url).header("Cookie", cookie_header.clone());
    let page = with_cookies(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("hiddenform"),
        "hand-joined MSISAuth chunks name the session"
    );
    let sign_out = sim.base_url().join("ADFS/ls/?wa=wsignout1.0").unwrap();
    with_cookies(sign_out).send().await.unwrap();
    let page = with_cookies(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"loginForm\""),
        "the replayed cookies are dead"
    );
}
