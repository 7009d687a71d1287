//! `loginToRp`: unknown trusts get MSIS7007, a missing one the plain IdP-initiated page.

use reqwest::StatusCode;

use super::*;

#[tokio::test]
async fn unknown_relying_party_gets_msis7007_page() {
    let sim = start().await;
    let url = sim
        .base_url()
        .join("adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:nope")
        .unwrap();
    let response = client().get(url).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "AD FS shows its error page with 200"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains(
            "MSIS7007: The requested relying party trust 'urn:nope' is unspecified or unsupported."
        ),
        "{page}"
    );
    assert!(page.contains("Activity ID:"));
    assert!(!page.contains("loginForm"));
}

#[tokio::test]
async fn missing_relying_party_gets_a_page_without_login_form() {
    let sim = start().await;
    let url = sim
        .base_url()
        .join("adfs/ls/IdpInitiatedSignOn.aspx")
        .unwrap();
    let page = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("loginForm") && !page.contains("hiddenform"),
        "{page}"
    );
    assert_eq!(sim.stats().login_pages_served, 0);

    // Its form asks the sign-on page again for the chosen relying party, as a browser sends it.
    let action = tag_attribute(&page, "id=\"idpForm\"", "action").expect("the chooser's form");
    assert_eq!(
        tag_attribute(&page, "id=\"idpForm\"", "method").as_deref(),
        Some("get")
    );
    assert!(page.contains(r#"<select id="idp_RelyingPartyDropDownList" name="loginToRp""#));
    let mut chosen = sim.base_url().join(&action).unwrap();
    chosen
        .query_pairs_mut()
        .append_pair("loginToRp", "urn:amazon:webservices");
    let login = client()
        .get(chosen)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("id=\"loginForm\""), "{login}");
    assert_eq!(sim.stats().login_pages_served, 1);
}
