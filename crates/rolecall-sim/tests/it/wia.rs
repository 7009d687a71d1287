//! Integrated auth: the redirect of WIA-capable browsers, the double challenge, and the
//! acceptor seam with per-connection legs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, LOCATION, USER_AGENT, WWW_AUTHENTICATE};
use rolecall_sim::{WiaAcceptor, WiaStep};

use super::*;

const IE11: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko";

fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn wia_url(sim: &Sim) -> url::Url {
    sim.base_url()
        .join("adfs/ls/wia?loginToRp=urn:amazon:webservices")
        .unwrap()
}

/// NTLM's shape: leg one gets a challenge, leg two is accepted only on the same connection.
#[derive(Debug, Default)]
struct TwoLegAcceptor {
    challenged: Mutex<HashMap<u64, String>>,
    legs: Mutex<Vec<(String, Vec<u8>, u64)>>,
}

impl WiaAcceptor for TwoLegAcceptor {
    fn accept(&self, scheme: &str, token: &[u8], connection_id: u64) -> WiaStep {
        self.legs
            .lock()
            .unwrap()
            .push((scheme.to_owned(), token.to_vec(), connection_id));
        match token {
            b"negotiate" => {
                self.challenged
                    .lock()
                    .unwrap()
                    .insert(connection_id, scheme.to_owned());
                WiaStep::Continue(b"challenge".to_vec())
            }
            b"authenticate:alice" => match self.challenged.lock().unwrap().remove(&connection_id) {
                Some(_) => WiaStep::Accepted {
                    username: "alice".to_owned(),
                    reply: None,
                },
                None => WiaStep::Rejected,
            },
            b"kerberos:alice" => WiaStep::Accepted {
                username: "CORP\\alice".to_owned(),
                reply: Some(b"mutual".to_vec()),
            },
            _ => WiaStep::Rejected,
        }
    }
}

async fn start_with_acceptor() -> (Sim, Arc<TwoLegAcceptor>) {
    let acceptor = Arc::new(TwoLegAcceptor::default());
    let mut config = SimConfig::demo();
    config.wia = Some(acceptor.clone());
    // This acceptor plays NTLM too: the built-in one would take those legs.
    config.ntlm = false;
    (start_with(config).await, acceptor)
}

async fn leg(client: &reqwest::Client, sim: &Sim, scheme: &str, token: &[u8]) -> reqwest::Response {
    client
        .get(wia_url(sim))
        .header(
            AUTHORIZATION,
            format!("{scheme} {}", STANDARD.encode(token)),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wia_capable_browser_is_redirected_to_the_wia_endpoint() {
    let sim = start().await;
    let response = client()
        .get(sim.sign_on_url())
        .header(USER_AGENT, IE11)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert_eq!(
        location,
        wia_url(&sim).as_str(),
        "the original query is kept"
    );
    assert_eq!(sim.stats().login_pages_served, 0);
}

#[tokio::test]
async fn wia_endpoint_challenges_with_negotiate_and_ntlm_as_two_headers() {
    let sim = start().await;
    let response = client()
        .get(wia_url(&sim))
        .header(USER_AGENT, IE11)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&response), ["Negotiate", "NTLM"]);
    // Without an acceptor AD FS cannot authenticate anyone: a token gets the challenge again.
    let response = leg(&client(), &sim, "Negotiate", b"anything").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&response), ["Negotiate", "NTLM"]);
}

#[tokio::test]
async fn ntlm_legs_on_one_connection_sign_in() {
    let (sim, acceptor) = start_with_acceptor().await;
    let client = client();
    let first = leg(&client, &sim, "NTLM", b"negotiate").await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&first),
        [format!("NTLM {}", STANDARD.encode("challenge"))]
    );
    first.text().await.unwrap();
    let second = leg(&client, &sim, "ntlm", b"authenticate:alice").await;
    assert_eq!(
        second.status(),
        StatusCode::FOUND,
        "accepted on the same connection"
    );
    assert!(
        second.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with(sim.sign_on_url().as_str())
    );
    let page = follow(&client, second).await;
    assert!(input_value(&page, "SAMLResponse").is_some());
    let legs = acceptor.legs.lock().unwrap().clone();
    assert_eq!(legs.len(), 2);
    assert_eq!(legs[0].2, legs[1].2, "both legs came on one connection id");
    assert_eq!(
        (legs[0].0.as_str(), legs[1].0.as_str()),
        ("NTLM", "NTLM"),
        "scheme canonical"
    );
}

#[tokio::test]
async fn ntlm_leg_on_another_connection_is_rejected() {
    let (sim, acceptor) = start_with_acceptor().await;
    leg(&client(), &sim, "NTLM", b"negotiate")
        .await
        .text()
        .await
        .unwrap();
    let second = leg(&client(), &sim, "NTLM", b"authenticate:alice").await;
    assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&second), ["Negotiate", "NTLM"]);
    let legs = acceptor.legs.lock().unwrap().clone();
    assert_ne!(legs[0].2, legs[1].2, "a new client is a new connection");
}

#[tokio::test]
async fn one_leg_negotiate_sends_the_reply_with_the_session() {
    let (sim, _) = start_with_acceptor().await;
    let response = leg(&client(), &sim, "Negotiate", b"kerberos:alice").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        challenges(&response),
        [format!("Negotiate {}", STANDARD.encode("mutual"))]
    );
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("MSISAuth="))
    );
    assert_eq!(sim.stats().sso_sessions, 1);
}
