//! Forms sign-in: the login page, the 302 with the split MSISAuth cookies, the auto-post page.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use rolecall_sim::WRONG_PASSWORD_TEXT;

use super::*;

#[tokio::test]
async fn login_page_has_ad_fs_form_with_empty_error_label() {
    let sim = start().await;
    let response = client().get(sim.sign_on_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    let action = tag_attribute(&page, "id=\"loginForm\"", "action").unwrap();
    assert!(
        action.starts_with(
            "/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices&client-request-id="
        ),
        "relative action with a client-request-id: {action}"
    );
    for marker in [
        r#"<form method="post" id="loginForm" autocomplete="off" novalidate="novalidate" onKeyPress="#,
        r#"id="userNameInput" name="UserName""#,
        r#"id="passwordInput" name="Password""#,
        r#"name="Kmsi""#,
    ] {
        assert!(page.contains(marker), "login page lacks {marker}");
    }
    assert_eq!(
        input_value(&page, "AuthMethod").as_deref(),
        Some("FormsAuthentication")
    );
    assert_eq!(
        error_text(&page),
        "",
        "the error label is present but empty at first"
    );
    assert_eq!(sim.stats().login_pages_served, 1);
}

#[tokio::test]
async fn sign_on_path_is_case_insensitive() {
    let sim = start().await;
    let url = sim
        .base_url()
        .join("ADFS/LS/idpinitiatedsignon.ASPX?loginToRp=urn:amazon:webservices")
        .unwrap();
    let page = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"loginForm\""), "AD FS paths ignore case");
}

#[tokio::test]
async fn wrong_password_shows_error_text_on_the_same_page() {
    let sim = start().await;
    let response = post_login(&sim, &client(), "alice", "nope").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "AD FS answers a wrong password with 200"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"loginForm\""));
    assert_eq!(error_text(&page), WRONG_PASSWORD_TEXT);
    let unknown = post_login(&sim, &client(), "mallory", "Password1!").await;
    assert_eq!(
        error_text(&unknown.text().await.unwrap()),
        WRONG_PASSWORD_TEXT
    );
    assert_eq!(sim.stats().form_posts, 2);
    assert_eq!(sim.stats().sso_sessions, 0);
}

#[tokio::test]
async fn right_password_redirects_with_split_msisauth_cookies_then_auto_posts() {
    let sim = start().await;
    let client = client();
    let response = post_login(&sim, &client, "CORP\\Alice", "Password1!").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with(sim.sign_on_url().as_str()),
        "302 goes back to the sign-on URL: {location}"
    );
    let cookies = set_cookies(&response);
    let names: Vec<&str> = cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["MSISAuth", "MSISAuth1", "MSISAuth2", "MSISAuthenticated"],
        "{cookies:?}"
    );
    for cookie in &cookies {
        assert!(cookie.contains("; path=/adfs"), "scoped to /adfs: {cookie}");
        assert!(
            !cookie.contains("Secure"),
            "no Secure on plain-http loopback: {cookie}"
        );
    }
    assert!(
        cookies[0].split(';').next().unwrap().len() > 1000,
        "the token is large"
    );

    let page = follow(&client, response).await;
    assert!(
        page.contains(&format!(
            r#"<form method="POST" name="hiddenform" action="{}">"#,
            sim.signin_saml_url()
        )),
        "auto-post form posts to the sim's /saml: {page}"
    );
    assert!(page.contains("document.forms[0].submit()"));
    let xml = decode(&input_value(&page, "SAMLResponse").unwrap());
    assert!(xml.starts_with("<samlp:Response "), "{xml}");
    assert!(xml.contains(&format!(r#"Destination="{}""#, sim.signin_saml_url())));
    assert!(xml.contains(
        "<AttributeValue>arn:aws:iam::111122223333:saml-provider/ADFS,arn:aws:iam::111122223333:role/Admin</AttributeValue>"
    ));
    assert!(xml.contains(
        "<AttributeValue>arn:aws:iam::111122223333:role/ReadOnly,arn:aws:iam::111122223333:saml-provider/ADFS</AttributeValue>"
    ), "some pairs put the role first");
    assert!(xml.contains("<AttributeValue>alice@corp.example</AttributeValue>"));
    assert!(xml.contains("SAML/Attributes/SessionDuration\"><AttributeValue>28800<"));
    let stats = sim.stats();
    assert_eq!(
        (
            stats.form_posts,
            stats.assertions_issued,
            stats.sso_sessions
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn assertion_times_are_utc_with_milliseconds_and_bounded_by_lifetime() {
    let sim = start().await;
    let xml = response_xml(&sim, "alice").await;
    let attribute = |name: &str| {
        let from = xml.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        xml[from..from + 24].to_owned()
    };
    let issued = attribute("IssueInstant");
    assert!(
        issued.ends_with('Z') && issued.as_bytes()[19] == b'.',
        "{issued}"
    );
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    let lifetime = parse(&attribute("NotOnOrAfter")) - parse(&issued);
    assert_eq!(lifetime, time::Duration::minutes(5));
}

#[tokio::test]
async fn user_without_roles_gets_an_assertion_without_role_attribute() {
    let sim = start().await;
    let xml = response_xml(&sim, "carol").await;
    assert!(xml.contains("RoleSessionName"), "{xml}");
    assert!(
        !xml.contains("https://aws.amazon.com/SAML/Attributes/Role\""),
        "{xml}"
    );
}

#[tokio::test]
async fn many_roles_make_an_assertion_just_under_the_sts_limit() {
    let sim = start().await;
    let page = sign_in(&sim, &client(), "many").await;
    let value = input_value(&page, "SAMLResponse").unwrap();
    assert!(
        (90_000..100_000).contains(&value.len()),
        "590 roles come to 90,000–100,000 characters (STS allows 100,000): {}",
        value.len()
    );
    assert_eq!(decode(&value).matches(":role/").count(), 590);
}
