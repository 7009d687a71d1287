//! Starting and stopping: the server lives exactly as long as its `Sim`.

use std::time::Duration;

use super::*;

#[tokio::test]
async fn dropping_the_sim_stops_the_server() {
    let sim = start().await;
    let url = sim.sign_on_url();
    assert!(reqwest::get(url.clone()).await.is_ok());
    drop(sim);
    for _ in 0..50 {
        if reqwest::Client::new()
            .get(url.clone())
            .send()
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server still answers a second after its Sim was dropped");
}

#[tokio::test]
async fn configured_destination_is_used_for_the_response_and_the_form() {
    let destination = "https://signin.amazonaws-us-gov.com/saml";
    let mut config = SimConfig::demo();
    config.destination = Some(destination.to_owned());
    let sim = start_with(config).await;
    let page = sign_in(&sim, &client(), "alice").await;
    assert_eq!(
        tag_attribute(&page, "name=\"hiddenform\"", "action").as_deref(),
        Some(destination)
    );
    let xml = decode(&input_value(&page, "SAMLResponse").unwrap());
    assert!(
        xml.contains(&format!("Destination=\"{destination}\"")),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("Recipient=\"{destination}\"")),
        "{xml}"
    );
}
