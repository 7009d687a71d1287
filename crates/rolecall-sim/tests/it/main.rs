//! The simulator over real TCP on 127.0.0.1, driven by reqwest the way a client would drive AD FS.

// Helpers shared by the tests panic on purpose when the simulator misbehaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adfs2019;
mod faults;
mod federation;
mod forms;
mod lifecycle;
mod mfa;
mod portal;
mod relying_party;
mod signin;
mod sso;
mod sts;
mod wia;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use rolecall_sim::{DEMO_PASSWORD, Sim, SimConfig};
use tokio::net::TcpListener;

pub async fn start() -> Sim {
    start_with(SimConfig::demo()).await
}

pub async fn start_with(config: SimConfig) -> Sim {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sim::start(listener, config).await.unwrap()
}

/// A client like Rolecall's: keeps cookies, does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of `attribute` in the first tag that contains `marker`.
pub fn tag_attribute(page: &str, marker: &str, attribute: &str) -> Option<String> {
    let at = page.find(marker)?;
    let start = page[..at].rfind('<')?;
    let end = at + page[at..].find('>')?;
    let tag = &page[start..end];
    let needle = format!(" {attribute}=\"");
    let from = tag.find(&needle)? + needle.len();
    let value = &tag[from..from + tag[from..].find('"')?];
    Some(value.replace("&quot;", "\"").replace("&amp;", "&"))
}

pub fn input_value(page: &str, name: &str) -> Option<String> {
    tag_attribute(page, &format!("name=\"{name}\""), "value")
}

/// The text of `<label id="errorText" ...>`.
pub fn error_text(page: &str) -> String {
    let at = page
        .find("id=\"errorText\"")
        .expect("page has an errorText label");
    let from = at + page[at..].find('>').unwrap() + 1;
    page[from..from + page[from..].find('<').unwrap()].to_owned()
}

pub fn decode(saml_response: &str) -> String {
    String::from_utf8(
        STANDARD
            .decode(saml_response)
            .expect("SAMLResponse is base64"),
    )
    .unwrap()
}

pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Posts the login page's form with these credentials and returns the raw response.
pub async fn post_login(
    sim: &Sim,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = client
        .get(sim.sign_on_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = tag_attribute(&page, "id=\"loginForm\"", "action").expect("login form action");
    let url = sim.base_url().join(&action).unwrap();
    client
        .post(url)
        .form(&[
            ("UserName", username),
            ("Password", password),
            ("AuthMethod", "FormsAuthentication"),
        ])
        .send()
        .await
        .unwrap()
}

/// Follows a 302 with a GET, as clients must after AD FS's POST.
pub async fn follow(client: &reqwest::Client, response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND, "expected AD FS's 302");
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let next = client.get(location).send().await.unwrap();
    assert_eq!(next.status(), StatusCode::OK);
    next.text().await.unwrap()
}

/// Signs `username` in with the demo password and returns the auto-post page.
pub async fn sign_in(sim: &Sim, client: &reqwest::Client, username: &str) -> String {
    let posted = post_login(sim, client, username, DEMO_PASSWORD).await;
    follow(client, posted).await
}

/// Signs in and returns the decoded Response XML.
pub async fn response_xml(sim: &Sim, username: &str) -> String {
    let page = sign_in(sim, &client(), username).await;
    decode(&input_value(&page, "SAMLResponse").expect("auto-post page has SAMLResponse"))
}
