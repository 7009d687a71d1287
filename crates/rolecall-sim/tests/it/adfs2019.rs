//! AD FS 2019+ pages: the paginated sign-in, home realm discovery, the expired password's
//! update page, lockouts, and "Keep me signed in".

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, USER_AGENT};
use rolecall_sim::{
    ClaimsProviderTrust, LOCKED_OUT_TEXT, NEW_PASSWORD_REFUSED_TEXT, UPDATE_PASSWORD_PATH,
    UPDATE_REFUSED_TEXT, WIA_USER_AGENTS, WRONG_PASSWORD_TEXT,
};

use super::*;

fn paginated() -> SimConfig {
    SimConfig {
        paginated: true,
        ..SimConfig::demo()
    }
}

fn with_providers() -> SimConfig {
    SimConfig {
        claims_providers: ClaimsProviderTrust::directory_and_partner(),
        ..SimConfig::demo()
    }
}

async fn get_text(client: &reqwest::Client, url: reqwest::Url) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Posts `fields` to the action of the form marked `form_marker` on `page`.
async fn post_form(
    sim: &Sim,
    client: &reqwest::Client,
    page: &str,
    form_marker: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let action = tag_attribute(page, form_marker, "action").expect("the form has an action");
    client
        .post(sim.base_url().join(&action).unwrap())
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_paginated_sign_in_asks_for_the_username_then_the_password() {
    let sim = start_with(paginated()).await;
    let client = client();
    let first = get_text(&client, sim.sign_on_url()).await;
    assert!(first.contains(r#"id="loginForm""#));
    assert!(first.contains(r#"name="UserName""#));
    assert!(!first.contains(r#"name="Password""#), "no password yet");
    assert_eq!(error_text(&first), "");

    let second = post_form(
        &sim,
        &client,
        &first,
        r#"id="loginForm""#,
        &[("UserName", "alice"), ("AuthMethod", "FormsAuthentication")],
    )
    .await;
    assert_eq!(second.status(), StatusCode::OK);
    let second = second.text().await.unwrap();
    assert!(second.contains(r#"id="loginForm""#), "the same form");
    assert_eq!(input_value(&second, "UserName").as_deref(), Some("alice"));
    assert!(second.contains(r#"name="Password" type="password""#));
    assert!(second.contains(r#"name="Kmsi""#));
    assert_eq!(sim.stats().username_posts, 1);
    assert_eq!(sim.stats().form_posts, 0, "no password was posted yet");

    let wrong = post_form(
        &sim,
        &client,
        &second,
        r#"id="loginForm""#,
        &[("UserName", "alice"), ("Password", "nope")],
    )
    .await;
    let wrong = wrong.text().await.unwrap();
    assert_eq!(error_text(&wrong), WRONG_PASSWORD_TEXT);
    assert!(
        wrong.contains(r#"name="Password""#),
        "the password page again"
    );

    let right = post_form(
        &sim,
        &client,
        &wrong,
        r#"id="loginForm""#,
        &[("UserName", "alice"), ("Password", DEMO_PASSWORD)],
    )
    .await;
    let page = follow(&client, right).await;
    assert!(input_value(&page, "SAMLResponse").is_some());
}

#[tokio::test]
async fn home_realm_discovery_lists_the_providers_and_remembers_the_choice() {
    let sim = start_with(with_providers()).await;
    let client = client();
    let page = get_text(&client, sim.sign_on_url()).await;
    assert!(!page.contains("loginForm"), "the choice comes first");
    for provider in ClaimsProviderTrust::directory_and_partner() {
        assert!(
            page.contains(&format!(
                r#"name="HomeRealmSelection" value="{}""#,
                provider.id
            )),
            "{page}"
        );
    }
    assert!(
        page.contains("Partner &amp; Co"),
        "names are markup-escaped"
    );

    let unknown = post_form(
        &sim,
        &client,
        &page,
        r#"id="hrdForm""#,
        &[("HomeRealmSelection", "urn:nobody")],
    )
    .await;
    let unknown = unknown.text().await.unwrap();
    assert!(unknown.contains(r#"id="hrdForm""#), "asked again");
    assert!(!error_text(&unknown).is_empty());

    let chosen = post_form(
        &sim,
        &client,
        &page,
        r#"id="hrdForm""#,
        &[("HomeRealmSelection", "AD AUTHORITY")],
    )
    .await;
    assert_eq!(chosen.status(), StatusCode::OK);
    assert!(chosen.text().await.unwrap().contains(r#"id="loginForm""#));
    assert_eq!(
        sim.stats().home_realm_selections,
        vec!["urn:nobody".to_owned(), "AD AUTHORITY".to_owned()]
    );

    // An integrated-capable agent goes on to integrated sign-in once it has chosen.
    let wia = client
        .post(sim.sign_on_url())
        .header(USER_AGENT, WIA_USER_AGENTS[0])
        .form(&[("HomeRealmSelection", "AD AUTHORITY")])
        .send()
        .await
        .unwrap();
    assert_eq!(wia.status(), StatusCode::FOUND);
    assert!(
        wia.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("/adfs/ls/wia?")
    );
}

#[tokio::test]
async fn an_expired_password_leads_to_the_update_page_and_the_new_one_signs_in() {
    let sim = start().await;
    let client = client();
    let posted = post_login(&sim, &client, "expired", DEMO_PASSWORD).await;
    assert_eq!(posted.status(), StatusCode::FOUND);
    let location = posted.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.ends_with(UPDATE_PASSWORD_PATH), "{location}");
    assert!(
        sim.stats().sso_sessions == 0,
        "no session with an expired password"
    );

    let page = get_text(&client, location.parse().unwrap()).await;
    for field in [
        "UserName",
        "OldPassword",
        "NewPassword",
        "ConfirmNewPassword",
    ] {
        assert!(page.contains(&format!(r#"name="{field}""#)), "{field}");
    }
    let form = r#"id="updatePasswordForm""#;
    let refused = post_form(
        &sim,
        &client,
        &page,
        form,
        &[
            ("UserName", "expired"),
            ("OldPassword", "wrong"),
            ("NewPassword", "New-Password2"),
            ("ConfirmNewPassword", "New-Password2"),
        ],
    )
    .await;
    assert_eq!(
        error_text(&refused.text().await.unwrap()),
        UPDATE_REFUSED_TEXT
    );
    let mismatched = post_form(
        &sim,
        &client,
        &page,
        form,
        &[
            ("UserName", "expired"),
            ("OldPassword", DEMO_PASSWORD),
            ("NewPassword", "New-Password2"),
            ("ConfirmNewPassword", "New-Password3"),
        ],
    )
    .await;
    assert_eq!(
        error_text(&mismatched.text().await.unwrap()),
        NEW_PASSWORD_REFUSED_TEXT
    );
    let changed = post_form(
        &sim,
        &client,
        &page,
        form,
        &[
            ("UserName", "expired"),
            ("OldPassword", DEMO_PASSWORD),
            ("NewPassword", "New-Password2"),
            ("ConfirmNewPassword", "New-Password2"),
        ],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(changed.contains("has been updated"), "{changed}");
    assert!(
        tag_attribute(&changed, "id=\"signInAgain\"", "href")
            .is_some_and(|href| href.contains("IdpInitiatedSignOn.aspx?loginToRp=")),
        "it links back to the sign-in"
    );
    assert_eq!(sim.stats().password_changes, 1);

    let old = post_login(&sim, &client, "expired", DEMO_PASSWORD).await;
    assert_eq!(error_text(&old.text().await.unwrap()), WRONG_PASSWORD_TEXT);
    let new = post_login(&sim, &client, "expired", "New-Password2").await;
    assert!(input_value(&follow(&client, new).await, "SAMLResponse").is_some());
}

#[tokio::test]
async fn a_locked_out_account_is_refused_whatever_the_password() {
    let sim = start().await;
    for password in [DEMO_PASSWORD, "wrong"] {
        let page = post_login(&sim, &client(), "locked", password)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(error_text(&page), LOCKED_OUT_TEXT, "{password}");
        let page = post_login(&sim, &client(), "extranet-locked", password)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            error_text(&page),
            WRONG_PASSWORD_TEXT,
            "extranet lockout looks like a wrong password"
        );
    }
    assert_eq!(sim.stats().sso_sessions, 0);
}

#[tokio::test]
async fn keep_me_signed_in_makes_the_session_last_longer_in_lasting_cookies() {
    let sim = start().await;
    let kept = client();
    let page = get_text(&kept, sim.sign_on_url()).await;
    let posted = post_form(
        &sim,
        &kept,
        &page,
        r#"id="loginForm""#,
        &[
            ("UserName", "alice"),
            ("Password", DEMO_PASSWORD),
            ("Kmsi", "true"),
            ("AuthMethod", "FormsAuthentication"),
        ],
    )
    .await;
    let cookies = set_cookies(&posted);
    assert!(
        cookies
            .iter()
            .filter(|cookie| cookie.starts_with("MSISAuth="))
            .all(|cookie| cookie.contains("Max-Age=86400")),
        "{cookies:?}"
    );
    follow(&kept, posted).await;
    let session = client();
    sign_in(&sim, &session, "alice").await;
    assert_eq!(sim.stats().kmsi_sign_ins, 1);

    sim.advance_clock(Duration::from_secs(9 * 60 * 60));
    let again = get_text(&kept, sim.sign_on_url()).await;
    assert!(
        input_value(&again, "SAMLResponse").is_some(),
        "the kept session outlives the 8-hour one"
    );
    let ended = get_text(&session, sim.sign_on_url()).await;
    assert!(ended.contains("loginForm"), "the plain session ended");
}
