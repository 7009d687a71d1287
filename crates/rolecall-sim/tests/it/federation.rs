//! The simulated federation endpoint's `getSigninToken` over the wire, with credentials its
//! STS issued, as Rolecall's "Open console" calls it.

use reqwest::StatusCode;

use super::*;

const PROD_ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const PROD_PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/ADFS";

/// The URL-encoded JSON `Session` of credentials alice's Admin role got from the simulator.
async fn admin_session(sim: &Sim) -> String {
    let page = sign_in(sim, &client(), "alice").await;
    let assertion = input_value(&page, "SAMLResponse").expect("auto-post page has SAMLResponse");
    let answer = client()
        .post(sim.sts_url())
        .form(&[
            ("Action", "AssumeRoleWithSAML"),
            ("Version", "2011-06-15"),
            ("RoleArn", PROD_ADMIN),
            ("PrincipalArn", PROD_PROVIDER),
            ("SAMLAssertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let credentials = sim.issued_credentials().pop().expect("credentials issued");
    serde_json::json!({
        "sessionId": credentials.access_key_id,
        "sessionKey": credentials.secret_access_key,
        "sessionToken": credentials.session_token,
    })
    .to_string()
}

async fn get_signin_token(sim: &Sim, session: &str, duration: Option<&str>) -> StatusCode {
    let mut url = sim.federation_url();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("Action", "getSigninToken");
        if let Some(duration) = duration {
            query.append_pair("SessionDuration", duration);
        }
        query.append_pair("Session", session);
    }
    client().get(url).send().await.unwrap().status()
}

/// Role credentials may ask for a console session length (AWS refuses it only with
/// `GetFederationToken` credentials); tests read what each call asked for, refusals included.
#[tokio::test]
async fn the_session_duration_each_call_asked_for_is_recorded() {
    let sim = start().await;
    let session = admin_session(&sim).await;

    assert_eq!(get_signin_token(&sim, &session, None).await, StatusCode::OK);
    assert_eq!(
        get_signin_token(&sim, &session, Some("28800")).await,
        StatusCode::OK,
        "assumed-role credentials may set SessionDuration"
    );
    assert_eq!(
        get_signin_token(&sim, &session, Some("43201")).await,
        StatusCode::BAD_REQUEST,
        "above 12 hours"
    );

    let stats = sim.stats();
    assert_eq!(
        stats.console_durations_asked,
        [None, Some("28800".to_owned()), Some("43201".to_owned())]
    );
    assert_eq!(
        sim.handed_out().signin_tokens.len(),
        2,
        "a token for each call answered"
    );
    assert_eq!(
        stats.durations_asked,
        [None],
        "the STS call asked for no length"
    );
}
