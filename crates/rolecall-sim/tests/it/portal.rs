//! The scripts, styles and logo the pages link are served, with their types.

use reqwest::StatusCode;

use super::*;

#[tokio::test]
async fn the_files_the_login_page_links_are_served() {
    let sim = start().await;
    let page = client()
        .get(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (marker, attribute, content_type, expected) in [
        ("onload.js", "src", "text/javascript", "submitLoginRequest"),
        ("style.css", "href", "text/css", "#brandingWrapper"),
        ("id=\"companyLogo\"", "src", "image/svg+xml", "<svg"),
    ] {
        let link = tag_attribute(&page.replace('\'', "\""), marker, attribute)
            .unwrap_or_else(|| panic!("the login page links {marker}"));
        let response = client()
            .get(sim.base_url().join(&link).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        let served = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(served.starts_with(content_type), "{link}: {served}");
        assert!(response.text().await.unwrap().contains(expected), "{link}");
    }
    let missing = client()
        .get(sim.base_url().join("adfs/portal/script/other.js").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
