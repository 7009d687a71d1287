//! How long reading the largest SAML response STS accepts takes: about 100,000 base64
//! characters carrying 590 roles. DESIGN §5 sets the bar at 2 ms per parse.
//!
//! Plain `std::time::Instant`, no harness: `cargo bench -p rolecall-core --bench saml`.

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rolecall_core::saml;

const ROLES: usize = 590;
const RUNS: usize = 200;

/// An AD FS-shaped response: prefixed protocol element, default-namespace assertion, a
/// signature block, and one `Role` value per role.
fn response(roles: usize) -> String {
    let values: String = (0..roles)
        .map(|i| {
            let account = 100_000_000_000_u64 + (i as u64 % 37);
            format!(
                "<AttributeValue>arn:aws:iam::{account}:saml-provider/ADFS,\
                 arn:aws:iam::{account}:role/ADFS-Role-{i:04}</AttributeValue>"
            )
        })
        .collect();
    format!(
        r##"<samlp:Response ID="_r" Version="2.0" IssueInstant="2026-11-03T10:15:02.345Z" Destination="https://signin.aws.amazon.com:443/saml" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">http://adfs.corp.example/adfs/services/trust</Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><Assertion ID="_a" IssueInstant="2026-11-03T10:15:02.329Z" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Issuer>http://adfs.corp.example/adfs/services/trust</Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:Reference URI="#_a"><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>QUFBQQ==</ds:SignatureValue></ds:Signature><Subject><NameID>CORP\alice</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData NotOnOrAfter="2026-11-03T10:20:02.329Z" Recipient="https://signin.aws.amazon.com:443/saml"/></SubjectConfirmation></Subject><Conditions NotBefore="2026-11-03T10:15:02.329Z" NotOnOrAfter="2026-11-03T11:15:02.329Z"><AudienceRestriction><Audience>urn:amazon:webservices</Audience></AudienceRestriction></Conditions><AttributeStatement><Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><AttributeValue>alice@corp.example</AttributeValue></Attribute><Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">{values}</Attribute><Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration"><AttributeValue>28800</AttributeValue></Attribute></AttributeStatement></Assertion></samlp:Response>"##
    )
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let encoded = STANDARD.encode(response(ROLES));
    // Fail loudly rather than time an error path.
    match saml::parse_response(&encoded) {
        Ok(a) if a.roles.len() == ROLES => {}
        Ok(a) => panic!("expected {ROLES} roles, parsed {}", a.roles.len()),
        Err(e) => panic!("the benchmark response should parse: {e}"),
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = rolecall_core::clock::monotonic();
            let parsed = saml::parse_response(black_box(&encoded));
            let elapsed = start.elapsed();
            black_box(parsed).ok();
            elapsed
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    let p95 = times[RUNS * 95 / 100];
    let chars = encoded.len();
    println!(
        "saml parse ({},{:03} chars, {ROLES} roles): median {:.0} µs, p95 {:.0} µs",
        chars / 1000,
        chars % 1000,
        micros(median),
        micros(p95)
    );
}
