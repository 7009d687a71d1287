//! The last sign-in check: what the identity provider's last assertion said (its summary kept
//! by [`crate::last_sign_in`]), and what in it AWS would trip over.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{Check, CheckKind, Status, rfc3339, span};
use crate::last_sign_in::LastSignIn;
use crate::partition::Partition;
use crate::settings::{Endpoint, Settings};
use crate::store::StoreError;

/// The relying party AWS's SAML provider answers to.
const AWS_AUDIENCE: &str = "urn:amazon:webservices";

pub(super) fn checks(
    endpoints: &[Endpoint],
    summaries: Result<BTreeMap<String, LastSignIn>, StoreError>,
    settings: &Settings,
    now: OffsetDateTime,
) -> Vec<Check> {
    let summaries = match summaries {
        Ok(summaries) => summaries,
        Err(err) => {
            return vec![Check::new(
                CheckKind::LastSignIn,
                Status::Fail,
                err.to_string(),
            )];
        }
    };
    endpoints
        .iter()
        .map(|endpoint| {
            let pinned = settings
                .endpoint(&endpoint.name)
                .and_then(|e| e.issuer.clone());
            match summaries.get(&endpoint.name) {
                Some(summary) => check(
                    summary,
                    pinned.as_deref(),
                    crate::http::is_loopback(&endpoint.url),
                    now,
                ),
                None => Check::new(
                    CheckKind::LastSignIn,
                    Status::Warn,
                    "no sign-in to this endpoint was recorded yet",
                )
                .action(format!(
                    "Sign in once (from the tray, or `rolecall roles --endpoint {}`); the next \
                     report shows what the identity provider sent.",
                    endpoint.name
                )),
            }
            .about(endpoint.name.clone())
        })
        .collect()
}

/// `on_loopback`: the endpoint is on this computer (the demo, tests), whose stand-in AWS pages
/// are on loopback too.
fn check(
    summary: &LastSignIn,
    pinned: Option<&str>,
    on_loopback: bool,
    now: OffsetDateTime,
) -> Check {
    let ago = (now - summary.at).whole_seconds();
    let mut check = Check::new(
        CheckKind::LastSignIn,
        Status::Ok,
        format!(
            "signed in {} ago ({}) {} as {}: {} role{}",
            span(ago),
            rfc3339(summary.at),
            how(&summary.via),
            summary.role_session_name,
            summary.roles.len(),
            if summary.roles.len() == 1 { "" } else { "s" }
        ),
    );
    let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
    check = check
        .detail(format!("Issuer: {}", shown(&summary.issuer)))
        .detail(format!("Destination: {}", shown(&summary.destination)))
        .detail(format!(
            "Audience: {}",
            if summary.audiences.is_empty() {
                "(none)".to_owned()
            } else {
                summary.audiences.join(", ")
            }
        ))
        .detail(format!(
            "NotOnOrAfter: {}",
            summary
                .not_on_or_after
                .map_or("(none)".to_owned(), |limit| format!(
                    "{} ({} after the sign-in)",
                    rfc3339(limit),
                    span((limit - summary.at).whole_seconds())
                ))
        ))
        .detail(format!(
            "SessionDuration: {}",
            summary.session_duration.map_or(
                "(none: AWS gives sessions of one hour)".to_owned(),
                |secs| format!("{secs} s ({})", span(i64::from(secs)))
            )
        ))
        .detail(format!("RoleSessionName: {}", summary.role_session_name));
    for role in &summary.roles {
        check = check.detail(format!("role: {role}"));
    }
    if let Some(refusal) = &summary.sts_refusal {
        check = check.detail(format!(
            "STS refused {} at {}: {}",
            refusal.role_arn,
            rfc3339(refusal.at),
            refusal.aws
        ));
    }
    check.last_sign_in = Some(summary.clone());

    let mut problems = Vec::new();
    let aws_destination = summary
        .destination
        .as_deref()
        .and_then(|destination| url::Url::parse(destination).ok())
        .is_some_and(|destination| crate::accounts::is_alias_page(&destination, on_loopback));
    if !aws_destination {
        problems.push(format!(
            "its Destination ({}) is not an AWS sign-in URL such as https://{}/saml",
            shown(&summary.destination),
            Partition::Aws.signin_host()
        ));
    }
    let aws_audience = summary.audiences.iter().any(|audience| {
        audience == AWS_AUDIENCE || Partition::from_saml_destination(audience).is_some()
    });
    if !aws_audience {
        problems.push(format!(
            "its Audience is not AWS's ({AWS_AUDIENCE}): the relying party trust may be for \
             another application"
        ));
    }
    if let Some(limit) = summary.not_on_or_after
        && limit <= summary.at
    {
        problems.push(
            "it had already expired when it arrived: the identity provider's clock or this \
             computer's is off"
                .to_owned(),
        );
    }
    if let (Some(pinned), Some(issuer)) = (pinned, &summary.issuer)
        && pinned != issuer
    {
        problems.push(format!(
            "its Issuer is not the one Rolecall pinned for this endpoint ({pinned})"
        ));
    }
    if !problems.is_empty() {
        check.status = Status::Warn;
        check.finding = format!(
            "the last sign-in's assertion ({}): {}",
            rfc3339(summary.at),
            problems.join("; ")
        );
        check = check.action(
            "Show these details to the identity provider's administrators: the relying party \
             trust for AWS (urn:amazon:webservices) decides them.",
        );
    }
    check
}

/// How the summary's `via` reads in a sentence.
fn how(via: &str) -> String {
    match via {
        "sign-in window" => "in the sign-in window".to_owned(),
        "kerberos" => "with Kerberos".to_owned(),
        other => format!("with the {other}"),
    }
}
