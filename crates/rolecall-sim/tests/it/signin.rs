//! The AWS sign-in `/saml` stand-in: the role chooser with account aliases.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;

use rolecall_sim::RoleChooser;

use super::*;

async fn post_saml(sim: &Sim, value: &str) -> reqwest::Response {
    client()
        .post(sim.signin_saml_url())
        .form(&[("SAMLResponse", value)])
        .send()
        .await
        .unwrap()
}

/// The chooser page for alice, in `layout`.
async fn alice_chooser(layout: RoleChooser) -> (Sim, String) {
    let sim = start_with(SimConfig {
        role_chooser: layout,
        ..SimConfig::demo()
    })
    .await;
    let page = sign_in(&sim, &client(), "alice").await;
    let response = post_saml(&sim, &input_value(&page, "SAMLResponse").unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let chooser = response.text().await.unwrap();
    (sim, chooser)
}

/// The JSON in today's page's `<meta name="data">`.
fn next_js_data(page: &str) -> serde_json::Value {
    let content = tag_attribute(page, "name=\"data\"", "content").expect("the page has the meta");
    let json = STANDARD.decode(content).expect("its content is base64");
    serde_json::from_slice(&json).expect("of JSON")
}

/// The role radios and their labels, the same in both layouts: a person picks a role by them.
fn assert_role_radios(chooser: &str, count: usize) {
    assert!(chooser.contains(
        r#"<input type="radio" name="roleIndex" value="arn:aws:iam::111122223333:role/ReadOnly""#
    ));
    assert!(chooser.contains(
        r#"<label for="arn:aws:iam::777788889999:role/SecurityAudit" class="saml-role-description">SecurityAudit</label>"#
    ));
    assert_eq!(chooser.matches("name=\"roleIndex\"").count(), count);
}

#[tokio::test]
async fn todays_role_chooser_carries_the_accounts_in_its_data_meta() {
    let (sim, chooser) = alice_chooser(RoleChooser::default()).await;
    let data = next_js_data(&chooser);
    assert_eq!(
        data["roles_accounts"],
        serde_json::json!({
            "corp-prod (111122223333)": [
                "arn:aws:iam::111122223333:role/Admin",
                "arn:aws:iam::111122223333:role/ReadOnly",
            ],
            "corp-staging (444455556666)": [
                "arn:aws:iam::444455556666:role/Developer",
                "arn:aws:iam::444455556666:role/Admin",
            ],
            "777788889999": ["arn:aws:iam::777788889999:role/SecurityAudit"],
        }),
        "accounts are keyed \"alias (id)\", or by id alone without an alias"
    );
    assert_eq!(
        data["SAMLResponse"].as_str(),
        input_value(&chooser, "SAMLResponse").as_deref(),
        "the data carries the response, as the form does"
    );
    assert_eq!(data["RelayState"], "");
    // The plain form a person uses without scripts: named by the data, never `Account:`.
    for legend in [
        r#"<legend class="saml-account-name">corp-prod (111122223333)</legend>"#,
        r#"<legend class="saml-account-name">777788889999</legend>"#,
    ] {
        assert!(chooser.contains(legend), "chooser lacks {legend}");
    }
    assert!(
        !chooser.contains("Account: "),
        "the names are only in the data and the legends"
    );
    assert!(
        chooser.contains(r#"<button type="submit" id="signin_button""#),
        "the form posts without scripts"
    );
    assert_role_radios(&chooser, 5);
    assert_eq!(sim.stats().alias_page_posts, 1);
}

#[tokio::test]
async fn the_legacy_role_chooser_heads_accounts_with_their_aliases() {
    let (sim, chooser) = alice_chooser(RoleChooser::Legacy).await;
    for account in [
        "<div class=\"saml-account-name\">Account: corp-prod (111122223333)</div>",
        "<div class=\"saml-account-name\">Account: corp-staging (444455556666)</div>",
        "<div class=\"saml-account-name\">Account: 777788889999</div>",
    ] {
        assert!(chooser.contains(account), "chooser lacks {account}");
    }
    assert!(!chooser.contains("name=\"data\""), "no data meta");
    assert_role_radios(&chooser, 5);
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
    let accounts = next_js_data(&chooser)["roles_accounts"].clone();
    let accounts = accounts.as_object().unwrap();
    assert_eq!(accounts.len(), 60);
    assert_eq!(
        accounts["team-00 (210000000000)"].as_array().unwrap().len(),
        10
    );
    assert!(
        accounts.keys().any(|key| key.len() == 12),
        "accounts without an alias are keyed by id"
    );
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
