//! The simulated STS over the wire, as aws-sdk-sts speaks to it (awsQuery: a form POST, an XML
//! answer): credentials for assertions the sim issued, and each error real STS gives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use rolecall_sim::User;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::*;

const PROD_ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const PROD_READ_ONLY: &str = "arn:aws:iam::111122223333:role/ReadOnly";
const PROD_PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/ADFS";
const NAMESPACE: &str = r#"xmlns="https://sts.amazonaws.com/doc/2011-06-15/""#;

/// The `SAMLResponse` value AD FS hands `username`.
async fn saml_response(sim: &Sim, username: &str) -> String {
    let page = sign_in(sim, &client(), username).await;
    input_value(&page, "SAMLResponse").expect("auto-post page has SAMLResponse")
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: String,
    request_id_header: String,
    body: String,
}

impl Answer {
    /// The text of the first `<tag>`.
    fn text(&self, tag: &str) -> Option<String> {
        let open = format!("<{tag}>");
        let from = self.body.find(&open)? + open.len();
        let to = from + self.body[from..].find(&format!("</{tag}>"))?;
        Some(self.body[from..to].to_owned())
    }

    fn must(&self, tag: &str) -> String {
        self.text(tag)
            .unwrap_or_else(|| panic!("answer has <{tag}>: {}", self.body))
    }

    /// Asserts AWS's awsQuery error shape with this status and code; returns the message.
    fn error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(
            self.status, status,
            "{code} comes with {status}: {}",
            self.body
        );
        assert_eq!(self.content_type, "text/xml");
        assert!(
            self.body
                .starts_with(&format!("<ErrorResponse {NAMESPACE}>")),
            "error document is an ErrorResponse in STS's namespace: {}",
            self.body
        );
        assert_eq!(self.must("Type"), "Sender");
        assert_eq!(self.must("Code"), code, "{}", self.body);
        assert_eq!(
            self.must("RequestId"),
            self.request_id_header,
            "body and x-amzn-RequestId agree"
        );
        self.must("Message")
    }
}

async fn post(url: reqwest::Url, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new().post(url).form(form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    Answer {
        status: response.status(),
        content_type: header(CONTENT_TYPE.as_str()),
        request_id_header: header("x-amzn-requestid"),
        body: response.text().await.unwrap(),
    }
}

async fn assume(
    sim: &Sim,
    role_arn: &str,
    principal_arn: &str,
    assertion: &str,
    duration: Option<u32>,
) -> Answer {
    let duration = duration.map(|d| d.to_string());
    let mut form = vec![
        ("Action", "AssumeRoleWithSAML"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("PrincipalArn", principal_arn),
        ("SAMLAssertion", assertion),
    ];
    if let Some(duration) = &duration {
        form.push(("DurationSeconds", duration));
    }
    post(sim.sts_url(), &[], &form).await
}

async fn caller_identity(sim: &Sim, access_key_id: &str, token: Option<&str>) -> Answer {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/20261201/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef"
    );
    let mut headers = vec![
        ("authorization", authorization.as_str()),
        ("x-amz-date", "20261201T120000Z"),
    ];
    if let Some(token) = token {
        headers.push(("x-amz-security-token", token));
    }
    post(
        sim.sts_url(),
        &headers,
        &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
    )
    .await
}

fn seconds_from_now(expiration: &str) -> i64 {
    let at = OffsetDateTime::parse(expiration, &Rfc3339).unwrap();
    #[expect(
        clippy::disallowed_methods,
        reason = "the simulator stamps expiries from the machine's clock"
    )]
    let now = OffsetDateTime::now_utc();
    (at - now).whole_seconds()
}

fn upper_alnum(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn assume_role_with_saml_answers_credentials_in_aws_shape() {
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, Some(3600)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.content_type, "text/xml");
    assert!(
        answer
            .body
            .starts_with(&format!("<AssumeRoleWithSAMLResponse {NAMESPACE}>")),
        "{}",
        answer.body
    );

    let akid = answer.must("AccessKeyId");
    assert!(
        akid.len() == 20 && akid.starts_with("ASIA") && upper_alnum(&akid),
        "temporary keys are ASIA + 16: {akid}"
    );
    assert_eq!(answer.must("SecretAccessKey").len(), 40);
    assert!(
        answer.must("SessionToken").len() > 500,
        "session tokens are long"
    );
    let expiration = answer.must("Expiration");
    assert!(
        expiration.ends_with('Z') && expiration.len() == 20,
        "RFC 3339 UTC, whole seconds: {expiration}"
    );
    assert!(
        (3590..=3601).contains(&seconds_from_now(&expiration)),
        "expires an hour from now: {expiration}"
    );

    let role_id = answer.must("AssumedRoleId");
    let (id, session) = role_id.split_once(':').unwrap();
    assert!(
        id.len() == 20 && id.starts_with("AROA") && upper_alnum(id),
        "{id}"
    );
    assert_eq!(session, "alice@corp.example");
    assert_eq!(
        answer.must("Arn"),
        "arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example"
    );
    let host = sim.base_url().host_str().unwrap().to_owned();
    let port = sim.base_url().port().unwrap();
    assert_eq!(
        answer.must("Issuer"),
        format!("http://{host}:{port}/adfs/services/trust")
    );
    assert_eq!(answer.must("Audience"), sim.signin_saml_url().as_str());
    assert_eq!(answer.must("Subject"), "CORP\\alice");
    assert_eq!(answer.must("SubjectType"), "persistent");
    assert_eq!(answer.must("NameQualifier").len(), 28);
    assert_eq!(answer.must("RequestId"), answer.request_id_header);
    assert_eq!(answer.request_id_header.len(), 36, "request ids are UUIDs");

    let issued = sim.issued_credentials();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].access_key_id, akid);
    assert_eq!(issued[0].account, "111122223333");
    let stats = sim.stats();
    assert_eq!((stats.sts_calls, stats.sts_errors), (1, 0));

    // The same assertion is redeemed again for the same role: new keys, same role id.
    let again = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_ne!(again.must("AccessKeyId"), akid);
    assert_eq!(again.must("AssumedRoleId"), role_id, "role ids are stable");
}

#[tokio::test]
async fn role_written_role_first_in_the_assertion_is_assumed_for_an_hour_by_default() {
    // alice's ReadOnly pair is written "role,provider"; STS accepts either order.
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;
    assert!(
        decode(&assertion).contains(&format!("{PROD_READ_ONLY},{PROD_PROVIDER}")),
        "the fixture really has the reverse order"
    );
    let answer = assume(&sim, PROD_READ_ONLY, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        (3590..=3601).contains(&seconds_from_now(&answer.must("Expiration"))),
        "no DurationSeconds means 3600"
    );
}

#[tokio::test]
async fn sts_answers_at_its_root_and_with_a_trailing_slash() {
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;
    for path in ["", "sts/"] {
        let url = sim.base_url().join(path).unwrap();
        let answer = post(
            url,
            &[],
            &[
                ("Action", "AssumeRoleWithSAML"),
                ("Version", "2011-06-15"),
                ("RoleArn", PROD_ADMIN),
                ("PrincipalArn", PROD_PROVIDER),
                ("SAMLAssertion", &assertion),
            ],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "/{path}: {}", answer.body);
    }
    let index = client().get(sim.base_url()).send().await.unwrap();
    assert!(
        index.text().await.unwrap().contains("IdpInitiatedSignOn"),
        "GET / is still the index page"
    );
}

#[tokio::test]
async fn role_not_in_the_assertion_is_access_denied() {
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;
    let other_account = "arn:aws:iam::444455556666:role/ReadOnly";
    let answer = assume(&sim, other_account, PROD_PROVIDER, &assertion, None).await;
    let message = answer.error(StatusCode::FORBIDDEN, "AccessDenied");
    assert_eq!(message, "Not authorized to perform sts:AssumeRoleWithSAML");
    let wrong_provider = "arn:aws:iam::111122223333:saml-provider/Okta";
    let answer = assume(&sim, PROD_ADMIN, wrong_provider, &assertion, None).await;
    answer.error(StatusCode::FORBIDDEN, "AccessDenied");
    assert_eq!(sim.stats().sts_errors, 2);
    assert!(sim.issued_credentials().is_empty());
}

#[tokio::test]
async fn duration_is_bounded_by_the_api_and_by_the_roles_max_session_duration() {
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;

    let answer = assume(&sim, PROD_READ_ONLY, PROD_PROVIDER, &assertion, Some(7200)).await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "ValidationError"),
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );

    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, Some(43_200)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "alice's Admin allows 12 hours: {}",
        answer.body
    );
    let left = seconds_from_now(&answer.must("Expiration"));
    assert!((43_190..=43_201).contains(&left), "{left}");

    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, Some(43_201)).await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "ValidationError"),
        "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
    );
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, Some(899)).await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "ValidationError"),
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
}

/// Tests read what each call asked for, refused calls included, even when the answer hides it
/// (a capped session, a refusal).
#[tokio::test]
async fn the_duration_each_call_asked_for_is_recorded() {
    let mut config = SimConfig::demo();
    config.sts.session_cap = Some(Duration::from_secs(300));
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "alice").await;
    assert!(sim.stats().durations_asked.is_empty());

    for (role, duration) in [
        (PROD_ADMIN, Some(28_800)),
        (PROD_ADMIN, None),
        (PROD_READ_ONLY, Some(7200)),
    ] {
        assume(&sim, role, PROD_PROVIDER, &assertion, duration).await;
    }
    let answer = post(
        sim.sts_url(),
        &[],
        &[
            ("Action", "AssumeRoleWithSAML"),
            ("RoleArn", PROD_ADMIN),
            ("PrincipalArn", PROD_PROVIDER),
            ("SAMLAssertion", &assertion),
            ("DurationSeconds", "eight hours"),
        ],
    )
    .await;
    answer.error(StatusCode::BAD_REQUEST, "MalformedInput");

    let stats = sim.stats();
    assert_eq!(
        stats.durations_asked,
        [
            Some("28800".to_owned()),
            None,
            Some("7200".to_owned()),
            Some("eight hours".to_owned()),
        ],
        "as sent, in order, refusals included"
    );
    assert_eq!(stats.sts_errors, 2, "ReadOnly's 7200 and the malformed one");
    assert!(
        stats.console_durations_asked.is_empty(),
        "no console sign-in was asked for"
    );
}

#[tokio::test]
async fn missing_parameters_are_listed_in_one_validation_error() {
    let sim = start().await;
    let answer = post(
        sim.sts_url(),
        &[],
        &[
            ("Action", "AssumeRoleWithSAML"),
            ("Version", "2011-06-15"),
            ("PrincipalArn", PROD_PROVIDER),
        ],
    )
    .await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "ValidationError"),
        "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'sAMLAssertion' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn assertion_older_than_five_minutes_is_expired() {
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;
    sim.advance_clock(Duration::from_secs(6 * 60));
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "ExpiredTokenException"),
        "Token must be redeemed within 5 minutes of issuance"
    );
}

#[tokio::test]
async fn assertions_the_sim_did_not_issue_are_invalid_identity_tokens() {
    let sim = start().await;
    let garbage = assume(&sim, PROD_ADMIN, PROD_PROVIDER, "!!not*base64!!", None).await;
    assert_eq!(
        garbage.error(StatusCode::BAD_REQUEST, "InvalidIdentityToken"),
        "Invalid base64 SAMLResponse"
    );

    let not_xml = STANDARD.encode("hello, world");
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &not_xml, None).await;
    answer.error(StatusCode::BAD_REQUEST, "InvalidIdentityToken");

    // A forged grant: alice's assertion with a role she does not have spliced in.
    let xml = decode(&saml_response(&sim, "alice").await);
    let forged_role = "arn:aws:iam::999999999999:role/Admin";
    let forged = xml.replace(PROD_ADMIN, forged_role);
    let answer = assume(
        &sim,
        forged_role,
        PROD_PROVIDER,
        &STANDARD.encode(forged),
        None,
    )
    .await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "InvalidIdentityToken"),
        "Response signature invalid"
    );

    for user in ["truncated", "dtd", "broken-base64"] {
        let value = saml_response(&sim, user).await;
        let answer = assume(&sim, PROD_READ_ONLY, PROD_PROVIDER, &value, None).await;
        answer.error(StatusCode::BAD_REQUEST, "InvalidIdentityToken");
    }
}

#[tokio::test]
async fn encrypted_assertion_is_redeemed_as_sts_decrypts_it() {
    let sim = start().await;
    let value = saml_response(&sim, "encrypted").await;
    let answer = assume(&sim, PROD_READ_ONLY, PROD_PROVIDER, &value, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.must("Arn"),
        "arn:aws:sts::111122223333:assumed-role/ReadOnly/encrypted@corp.example"
    );
}

#[tokio::test]
async fn assertion_over_100000_characters_is_a_validation_error() {
    let sim = start().await;
    let value = saml_response(&sim, "huge").await;
    let answer = assume(&sim, PROD_READ_ONLY, PROD_PROVIDER, &value, None).await;
    assert_eq!(
        answer.error(StatusCode::BAD_REQUEST, "ValidationError"),
        "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000"
    );
}

#[tokio::test]
async fn throttle_knob_answers_throttling_then_credentials() {
    let mut config = SimConfig::demo();
    config.sts.throttle_first = 2;
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "alice").await;
    for _ in 0..2 {
        let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
        assert_eq!(
            answer.error(StatusCode::BAD_REQUEST, "Throttling"),
            "Rate exceeded"
        );
    }
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "the third call goes through: {}",
        answer.body
    );
    let stats = sim.stats();
    assert_eq!((stats.sts_calls, stats.sts_errors), (3, 2));
}

/// The demo's short sessions: the cap cuts what DurationSeconds asked for, and no more.
#[tokio::test]
async fn session_cap_knob_shortens_every_session() {
    let mut config = SimConfig::demo();
    config.sts.session_cap = Some(Duration::from_secs(300));
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "alice").await;
    for duration in [None, Some(900), Some(43_200)] {
        let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, duration).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{duration:?}: {}",
            answer.body
        );
        let left = seconds_from_now(&answer.must("Expiration"));
        assert!((290..=301).contains(&left), "{duration:?} gave {left} s");
    }
}

#[tokio::test]
async fn denied_role_and_disabled_region_are_refused() {
    let mut config = SimConfig::demo();
    config.sts.denied_roles.insert(PROD_READ_ONLY.to_owned());
    let sim = start_with(config.clone()).await;
    let assertion = saml_response(&sim, "alice").await;
    let answer = assume(&sim, PROD_READ_ONLY, PROD_PROVIDER, &assertion, None).await;
    answer.error(StatusCode::FORBIDDEN, "AccessDenied");
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "only the denied role is refused"
    );

    config.sts.disabled = true;
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "alice").await;
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(
        answer.error(StatusCode::FORBIDDEN, "RegionDisabledException"),
        "STS is not activated in this region for account:111122223333. Your account administrator can activate STS in this region using the IAM Console."
    );
}

#[tokio::test]
async fn invalid_role_session_name_is_a_rejected_claim() {
    let mut config = SimConfig::demo();
    let alice = config.users.iter_mut().find(|u| u.username == "alice");
    alice.unwrap().session_name = "Alice Smith".to_owned();
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "alice").await;
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    assert_eq!(
        answer.error(StatusCode::FORBIDDEN, "IDPRejectedClaim"),
        "Invalid RoleSessionName in SAML assertion"
    );
}

#[tokio::test]
async fn get_caller_identity_names_the_assumed_role_of_an_issued_key() {
    let sim = start().await;
    let assertion = saml_response(&sim, "alice").await;
    let answer = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, Some(3600)).await;
    let akid = answer.must("AccessKeyId");
    let token = answer.must("SessionToken");

    let identity = caller_identity(&sim, &akid, Some(&token)).await;
    assert_eq!(identity.status, StatusCode::OK, "{}", identity.body);
    assert!(
        identity
            .body
            .starts_with(&format!("<GetCallerIdentityResponse {NAMESPACE}>"))
    );
    assert_eq!(
        identity.must("Arn"),
        "arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example"
    );
    assert_eq!(identity.must("UserId"), answer.must("AssumedRoleId"));
    assert_eq!(identity.must("Account"), "111122223333");

    let unknown = caller_identity(&sim, "ASIAAAAAAAAAAAAAAAAA", None).await;
    unknown.error(StatusCode::FORBIDDEN, "InvalidClientTokenId");
    let wrong_token = caller_identity(&sim, &akid, Some("not-the-token")).await;
    wrong_token.error(StatusCode::FORBIDDEN, "InvalidClientTokenId");
    let unsigned = post(
        sim.sts_url(),
        &[],
        &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
    )
    .await;
    unsigned.error(StatusCode::FORBIDDEN, "MissingAuthenticationToken");

    sim.advance_clock(Duration::from_secs(3601));
    let expired = caller_identity(&sim, &akid, Some(&token)).await;
    assert_eq!(
        expired.error(StatusCode::FORBIDDEN, "ExpiredToken"),
        "The security token included in the request is expired"
    );
}

#[tokio::test]
async fn latency_does_not_serialise_concurrent_calls() {
    let mut config = SimConfig::demo();
    config.sts.latency = Duration::from_millis(300);
    let sim = Arc::new(start_with(config).await);
    let assertion = Arc::new(saml_response(&sim, "alice").await);
    #[expect(
        clippy::disallowed_methods,
        reason = "measures real latency of a real server"
    )]
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (sim, assertion) = (Arc::clone(&sim), Arc::clone(&assertion));
        calls.spawn(async move {
            assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None)
                .await
                .status
        });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(16 * 300 / 2),
        "16 calls of 300 ms overlap: took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_assertion_redeems_all_590_roles_of_the_many_user() {
    // Rolecall assumes every role of a big directory from one assertion with a bounded pool.
    let sim = Arc::new(start().await);
    let assertion = Arc::new(saml_response(&sim, "many").await);
    let xml = decode(&assertion);
    let pairs: Vec<(String, String)> = xml
        .split("<AttributeValue>")
        .filter_map(|v| v.split_once("</AttributeValue>").map(|(v, _)| v))
        .filter_map(|v| v.split_once(','))
        .map(|(a, b)| {
            if a.contains(":role/") {
                (a.to_owned(), b.to_owned())
            } else {
                (b.to_owned(), a.to_owned())
            }
        })
        .collect();
    assert_eq!(pairs.len(), 590);
    // Encoded once: form-encoding 95 KB 590 times would be most of this test's time.
    let encoded: Arc<String> =
        Arc::new(url::form_urlencoded::byte_serialize(assertion.as_bytes()).collect());
    let pool = Arc::new(tokio::sync::Semaphore::new(32));
    let http = reqwest::Client::new();
    let mut calls = tokio::task::JoinSet::new();
    for (role, provider) in pairs {
        let (url, encoded, pool, http) = (
            sim.sts_url(),
            Arc::clone(&encoded),
            Arc::clone(&pool),
            http.clone(),
        );
        calls.spawn(async move {
            let _permit = pool.acquire().await.unwrap();
            let body = format!(
                "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={role}&PrincipalArn={provider}&SAMLAssertion={encoded}"
            );
            let response = http
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{role}: {}", response.text().await.unwrap());
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    assert_eq!(sim.issued_credentials().len(), 590);
    assert_eq!(sim.stats().sts_errors, 0);
}

#[tokio::test]
async fn user_with_custom_roles_gets_only_those() {
    // A config the lead's tests may build: one user, one role, a custom max.
    let mut config = SimConfig::demo();
    config.users = vec![User::new(
        "erin",
        vec![rolecall_sim::Role::new("123456789012", "Deploy")],
    )];
    config
        .sts
        .max_session_duration
        .insert("Deploy".to_owned(), 7200);
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "erin").await;
    let answer = assume(
        &sim,
        "arn:aws:iam::123456789012:role/Deploy",
        "arn:aws:iam::123456789012:saml-provider/ADFS",
        &assertion,
        Some(7200),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "max by bare role name: {}",
        answer.body
    );
}

// ---- AssumeRole (role chaining) -------------------------------------------------------------

/// `AssumeRole` signed with `akid` (and its `token`), with these extra parameters.
async fn assume_role(sim: &Sim, akid: &str, token: &str, form: &[(&str, &str)]) -> Answer {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={akid}/20261201/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef"
    );
    let headers = [
        ("authorization", authorization.as_str()),
        ("x-amz-date", "20261201T120000Z"),
        ("x-amz-security-token", token),
    ];
    let mut all = vec![("Action", "AssumeRole"), ("Version", "2011-06-15")];
    all.extend_from_slice(form);
    post(sim.sts_url(), &headers, &all).await
}

#[tokio::test]
async fn assume_role_chains_from_a_session_for_at_most_an_hour_keeping_the_source_identity() {
    const SPOKE: &str = "arn:aws:iam::444455556666:role/Spoke";
    let mut config = SimConfig::demo();
    config.users = vec![User {
        source_identity: Some("alice.smith".to_owned()),
        ..User::new(
            "alice",
            vec![rolecall_sim::Role::new("111122223333", "Admin")],
        )
    }];
    config
        .sts
        .external_ids
        .insert("Spoke".to_owned(), "corp-42".to_owned());
    let sim = start_with(config).await;
    let assertion = saml_response(&sim, "alice").await;
    let hub = assume(&sim, PROD_ADMIN, PROD_PROVIDER, &assertion, None).await;
    let (akid, token) = (hub.must("AccessKeyId"), hub.must("SessionToken"));
    let base = [
        ("RoleArn", SPOKE),
        ("RoleSessionName", "alice"),
        ("ExternalId", "corp-42"),
    ];

    let too_long = assume_role(
        &sim,
        &akid,
        &token,
        &[&base[..], &[("DurationSeconds", "7200")]].concat(),
    )
    .await;
    assert!(
        too_long
            .error(StatusCode::BAD_REQUEST, "ValidationError")
            .contains("1 hour session limit for roles assumed by role chaining")
    );
    let no_id = assume_role(&sim, &akid, &token, &base[..2]).await;
    assert!(
        no_id
            .error(StatusCode::FORBIDDEN, "AccessDenied")
            .contains("is not authorized to perform: sts:AssumeRole on resource")
    );
    let other_identity = assume_role(
        &sim,
        &akid,
        &token,
        &[&base[..], &[("SourceIdentity", "mallory")]].concat(),
    )
    .await;
    other_identity.error(StatusCode::FORBIDDEN, "AccessDenied");
    let wrong_token = assume_role(&sim, &akid, "not-the-token", &base).await;
    wrong_token.error(StatusCode::FORBIDDEN, "InvalidClientTokenId");

    let spoke = assume_role(&sim, &akid, &token, &base).await;
    assert_eq!(spoke.status, StatusCode::OK, "{}", spoke.body);
    assert!(
        spoke
            .body
            .starts_with(&format!("<AssumeRoleResponse {NAMESPACE}>")),
        "{}",
        spoke.body
    );
    assert_eq!(
        spoke.must("Arn"),
        "arn:aws:sts::444455556666:assumed-role/Spoke/alice"
    );
    assert_eq!(
        spoke.must("SourceIdentity"),
        "alice.smith",
        "kept from the assertion"
    );
    let left = seconds_from_now(&spoke.must("Expiration"));
    assert!((3590..=3600).contains(&left), "an hour by default: {left}");
    let identity = caller_identity(
        &sim,
        &spoke.must("AccessKeyId"),
        Some(&spoke.must("SessionToken")),
    )
    .await;
    assert_eq!(identity.must("Account"), "444455556666");
    let calls = sim.assume_role_calls();
    assert_eq!(calls.len(), 5, "every call recorded, refused or not");
    assert!(
        calls
            .iter()
            .all(|call| call.signed_with.as_deref().is_some())
    );
}
