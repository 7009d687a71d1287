//! The AWS sign-in `/saml` stand-in: the role chooser with account aliases.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;

use super::*;

async fn post_saml(sim: &Sim, value: &str) -> reqwest::Response {
    client()
        .post(sim.signin_saml_url())
        .form(&[("SAMLResponse", value)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn role_chooser_lists_accounts_with_aliases_and_roles() {
    let sim = start().await;
    let page = sign_in(&sim, &client(), "alice").await;
    let response = post_saml(&sim, &input_value(&page, "SAMLResponse").unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let chooser = response.text().await.unwrap();
    for account in [
        "<div class=\"saml-account-name\">Account: corp-prod (111122223333)</div>",
        "<div class=\"saml-account-name\">Account: corp-staging (444455556666)</div>",
        "<div class=\"saml-account-name\">Account: 777788889999</div>",
    ] {
        assert!(chooser.contains(account), "chooser lacks {account}");
    }
    assert!(chooser.contains(
        r#"<input type="radio" name="roleIndex" value="arn:aws:iam::111122223333:role/ReadOnly""#
    ));
    assert!(chooser.contains(
        r#"<label for="arn:aws:iam::777788889999:role/SecurityAudit" class="saml-role-description">SecurityAudit</label>"#
    ));
    assert_eq!(chooser.matches("name=\"roleIndex\"").count(), 5);
    assert_eq!(sim.stats().alias_page_posts, 1);
}

#[tokio::test]
async fn role_chooser_handles_the_590_role_assertion() {
    let sim = start().await;
    let page = sign_in(&sim, &client(), "many").await;
    let chooser = post_saml(&sim, &input_value(&page, "SAMLResponse").unwrap()).await;
    let chooser = chooser.text().await.unwrap();
    assert_eq!(chooser.matches("name=\"roleIndex\"").count(), 590);
    assert_eq!(chooser.matches("class=\"saml-account-name\"").count(), 60);
    assert!(chooser.contains("Account: team-00 (210000000000)"));
}

#[tokio::test]
async fn role_chooser_refuses_what_aws_would_refuse() {
    let sim = start().await;
    for (what, value) in [
        ("not base64", "!!**".to_owned()),
        ("not XML", STANDARD.encode("hello")),
        (
            "no roles",
            input_value(&sign_in(&sim, &client(), "carol").await, "SAMLResponse").unwrap(),
        ),
    ] {
        let response = post_saml(&sim, &value).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{what} is refused"
        );
    }
    let missing = client()
        .post(sim.signin_saml_url())
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_role_chosen_on_the_chooser_signs_the_console_in_as_that_role() {
    let sim = start().await;
    let page = sign_in(&sim, &client(), "alice").await;
    let value = input_value(&page, "SAMLResponse").unwrap();
    let chosen = |role: &str| {
        client()
            .post(sim.signin_saml_url())
            .form(&[("SAMLResponse", value.as_str()), ("roleIndex", role)])
            .send()
    };
    let refused = chosen("arn:aws:iam::111122223333:role/NotGranted")
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "only a granted role"
    );
    assert_eq!(sim.stats().console_sign_ins, 0);

    let response = chosen("arn:aws:iam::444455556666:role/Developer")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let console = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(console.ends_with("/console"), "{console}");
    let shown = client()
        .get(console)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("arn:aws:sts::444455556666:assumed-role/Developer/alice@corp.example"),
        "{shown}"
    );
    assert_eq!(sim.stats().console_sign_ins, 1);
}
