//! The clock and network checks: one request to each endpoint and to the AWS STS it signs in
//! to, and what its answer says about this computer's clock, its name, its proxy and its
//! certificate chain.

use std::collections::BTreeMap;

use url::Url;

use super::probe::{self, Outcome, Probe, TlsSeen, Verdict};
use super::{Check, CheckKind, Request, Status, rfc3339, span};
use crate::http::{Network, RequestFailure};
use crate::last_sign_in::LastSignIn;
use crate::partition::Partition;
use crate::settings::Endpoint;

/// From this much apart on, the clock check warns.
const SKEW_WARN_SECS: i64 = 2 * 60;
/// From this much apart on, it fails: Kerberos refuses a clock 5 minutes off its KDC's, and
/// AWS refuses SAML assertions from too far in the future.
const SKEW_FAIL_SECS: i64 = 5 * 60;

/// A server to ask.
#[derive(Debug, Clone)]
struct Target {
    /// "corp", "AWS STS for corp".
    label: String,
    /// The endpoint whose settings (CA file, proxy) apply.
    endpoint: String,
    url: Url,
    network: Network,
    /// Whether this is the endpoint's own server (the IdP), where a 5xx answer matters.
    identity_provider: bool,
    ca_file: Option<std::path::PathBuf>,
}

pub(super) async fn checks(
    request: &Request,
    endpoints: &[Endpoint],
    summaries: Option<&BTreeMap<String, LastSignIn>>,
) -> Vec<Check> {
    let mut targets = Vec::new();
    let mut setup_failures = Vec::new();
    for endpoint in endpoints {
        targets.push(Target {
            label: endpoint.name.clone(),
            endpoint: endpoint.name.clone(),
            url: endpoint.url.clone(),
            network: endpoint.network(),
            identity_provider: true,
            ca_file: endpoint.ca_file.clone(),
        });
        let summary = summaries.and_then(|all| all.get(&endpoint.name));
        match sts_url(request, endpoint, summary) {
            Ok(url) => {
                // One request per STS and network, however many endpoints share them.
                let network = endpoint.network();
                let known = targets.iter().any(|t: &Target| {
                    !t.identity_provider
                        && t.url == url
                        && t.ca_file == endpoint.ca_file
                        && t.network.proxy == network.proxy
                });
                if !known {
                    targets.push(Target {
                        label: format!("AWS STS for {}", endpoint.name),
                        endpoint: endpoint.name.clone(),
                        url,
                        network,
                        identity_provider: false,
                        ca_file: endpoint.ca_file.clone(),
                    });
                }
            }
            Err(problem) => setup_failures.push(
                Check::new(CheckKind::Network, Status::Fail, problem)
                    .about(format!("AWS STS for {}", endpoint.name)),
            ),
        }
    }
    let mut probes = Vec::with_capacity(targets.len());
    for target in &targets {
        let probe = probe::probe(
            &target.url,
            &target.network,
            &request.env,
            request.clock.as_ref(),
        )
        .await;
        probes.push(probe);
    }
    let mut checks: Vec<Check> = targets
        .iter()
        .zip(&probes)
        .map(|(target, probe)| clock_check(target, probe))
        .collect();
    checks.extend(
        targets
            .iter()
            .zip(&probes)
            .map(|(target, probe)| network_check(target, probe)),
    );
    checks.extend(setup_failures);
    checks
}

/// The STS the endpoint's sign-ins go to: the last sign-in's partition and region, else the
/// commercial partition's default region (or the SDK's override).
fn sts_url(
    request: &Request,
    endpoint: &Endpoint,
    summary: Option<&LastSignIn>,
) -> Result<Url, String> {
    let partition = summary
        .and_then(|summary| Partition::from_id(&summary.partition))
        .unwrap_or_default();
    let region = summary
        .and_then(|summary| summary.region.clone())
        .unwrap_or_else(|| partition.default_region().to_owned());
    let sts = crate::sts::Sts::new(&endpoint.network(), &request.env, partition, &region)
        .map_err(|err| err.to_string())?;
    Url::parse(sts.endpoint()).map_err(|err| format!("{}: {err}", sts.endpoint()))
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

fn clock_check(target: &Target, probe: &Probe) -> Check {
    let host = host_of(&target.url);
    let check = match &probe.outcome {
        Outcome::Answered(answer) => match answer.date {
            Some(date) => {
                let skew = (date - answer.received).whole_seconds();
                let status = match skew.abs() {
                    s if s >= SKEW_FAIL_SECS => Status::Fail,
                    s if s >= SKEW_WARN_SECS => Status::Warn,
                    _ => Status::Ok,
                };
                let finding = if skew == 0 {
                    format!("this computer's clock agrees with {host}'s")
                } else {
                    format!(
                        "this computer's clock is {} {} {host}'s",
                        span(skew),
                        if skew > 0 { "behind" } else { "ahead of" }
                    )
                };
                let mut check = Check::new(CheckKind::Clock, status, finding).detail(format!(
                    "{host} says {}, this computer {}",
                    rfc3339(date),
                    rfc3339(answer.received)
                ));
                check.skew_seconds = Some(skew);
                if status != Status::Ok {
                    check = check.action(
                        "Set this computer's clock from the network (`timedatectl set-ntp true`, \
                         or Date & Time in the system settings): Kerberos and AWS refuse a \
                         clock 5 minutes off.",
                    );
                }
                check
            }
            None => Check::new(
                CheckKind::Clock,
                Status::Warn,
                format!("{host} sent no readable Date header, so the clocks were not compared"),
            ),
        },
        _ => Check::new(
            CheckKind::Clock,
            Status::Warn,
            format!("{host} did not answer, so the clocks were not compared"),
        ),
    };
    check.about(target.label.clone())
}

fn network_check(target: &Target, probe: &Probe) -> Check {
    let host = host_of(&target.url);
    let mut check = match &probe.outcome {
        Outcome::Setup(problem) => Check::new(CheckKind::Network, Status::Fail, problem.clone()),
        Outcome::Failed { failure, detail } => failed(target, &host, *failure).detail(format!(
            "the client said: {}",
            crate::untrusted::for_terminal(detail)
        )),
        Outcome::Answered(answer) => answered(target, &host, answer.status, probe.tls.as_ref()),
    };
    check = check.about(target.label.clone());
    check.details.insert(0, format!("url: {}", probe.url));
    check.details.insert(1, format!("proxy: {}", probe.proxy));
    let mut at = 2;
    if let Some(addresses) = &probe.addresses {
        let line = match addresses {
            Ok(ips) if ips.is_empty() => format!("{host} resolves to no address here"),
            Ok(ips) => format!(
                "{host} resolves to {}",
                ips.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(err) => format!("{host} does not resolve here: {err}"),
        };
        check.details.insert(at, line);
        at += 1;
    }
    if let Some(tls) = &probe.tls {
        for (index, certificate) in tls.chain.iter().enumerate() {
            let mut line = format!(
                "certificate {}: {}, issued by {}",
                index + 1,
                certificate
                    .subject
                    .as_deref()
                    .unwrap_or("(unreadable subject)"),
                certificate
                    .issuer
                    .as_deref()
                    .unwrap_or("(unreadable issuer)"),
            );
            if let Some(not_after) = certificate.not_after {
                line.push_str(&format!(", valid until {}", rfc3339(not_after)));
            }
            if index == 0 && !certificate.names.is_empty() {
                line.push_str(&format!(", for {}", certificate.names.join(", ")));
            }
            check.details.insert(at, line);
            at += 1;
        }
        check.tls = Some(tls.clone());
    }
    check
}

fn failed(target: &Target, host: &str, failure: RequestFailure) -> Check {
    let finding = format!("{host} could not be reached: {}", failure.describe());
    let action = match failure {
        RequestFailure::HostNotFound => format!(
            "Check the URL of endpoint \"{}\", and that this computer is on the company network \
             (or its VPN) and its DNS knows {host}.",
            target.endpoint
        ),
        RequestFailure::Refused | RequestFailure::NoConnection => format!(
            "Check that {host} is up and that this computer may connect to it (VPN, firewall, \
             or the proxy setting of endpoint \"{}\").",
            target.endpoint
        ),
        RequestFailure::TimedOut => format!(
            "A firewall or proxy may be dropping the connection: check the proxy setting of \
             endpoint \"{}\" and the network.",
            target.endpoint
        ),
        _ => format!(
            "Check the network and the proxy setting of endpoint \"{}\".",
            target.endpoint
        ),
    };
    Check::new(CheckKind::Network, Status::Fail, finding).action(action)
}

fn answered(target: &Target, host: &str, status: u16, tls: Option<&TlsSeen>) -> Check {
    if status == 407 {
        return Check::new(
            CheckKind::Network,
            Status::Fail,
            format!("the proxy on the way to {host} asks for a password (HTTP 407)"),
        )
        .action(
            "Rolecall does not sign in to proxies: use a proxy that lets this computer through, \
             or set the endpoint's proxy to one that does.",
        );
    }
    let Some(tls) = tls else {
        return Check::new(
            CheckKind::Network,
            Status::Ok,
            format!("{host} answered HTTP {status} over plain http (this computer only)"),
        );
    };
    let ca_file = target
        .ca_file
        .as_ref()
        .map(|path| path.display().to_string());
    let with_ca_file = tls.with_ca_file.as_ref().zip(ca_file.as_ref());
    let mut check = match (&tls.system, with_ca_file) {
        (Verdict::Trusted, None) => Check::new(
            CheckKind::Network,
            Status::Ok,
            format!("{host} answered HTTP {status}; this computer trusts its certificate"),
        ),
        (Verdict::Trusted, Some((_, path))) => Check::new(
            CheckKind::Network,
            Status::Ok,
            format!(
                "{host} answered HTTP {status}; this computer trusts its certificate without \
                 the CA file {path}, which is not needed"
            ),
        ),
        (Verdict::Refused(_), Some((Verdict::Trusted, path))) => Check::new(
            CheckKind::Network,
            Status::Ok,
            format!(
                "{host} answered HTTP {status}; its certificate is trusted with the CA file \
                 {path}, which is needed (this computer alone does not trust it)"
            ),
        ),
        (Verdict::Refused(_), Some((Verdict::Refused(why), path))) => Check::new(
            CheckKind::Network,
            Status::Fail,
            format!("{host}'s certificate is not trusted even with the CA file {path}: {why}"),
        )
        .action(untrusted_action(target, tls, why, true)),
        (Verdict::Refused(why), None) => Check::new(
            CheckKind::Network,
            Status::Fail,
            format!("{host}'s certificate is not trusted: {why}"),
        )
        .action(untrusted_action(target, tls, why, false)),
    };
    if check.status == Status::Ok && target.identity_provider && status >= 500 {
        check.status = Status::Warn;
        check.finding = format!("{host} answered HTTP {status}, an error on the server's side");
        check.action = Some(
            "The identity provider has a problem of its own: tell its administrators.".to_owned(),
        );
    }
    check
}

fn untrusted_action(target: &Target, tls: &TlsSeen, why: &str, has_ca_file: bool) -> String {
    let top = tls
        .chain
        .last()
        .and_then(|certificate| certificate.issuer.clone())
        .unwrap_or_else(|| "the authority that issued the last certificate".to_owned());
    if why.contains("expired") {
        "The server's certificate has expired: tell the identity provider's administrators, \
         and check this computer's date."
            .to_owned()
    } else if why.contains("another host name") {
        format!(
            "The certificate is for other names than the URL's: check the URL of endpoint \"{}\" \
             (use the host the certificate names).",
            target.endpoint
        )
    } else if has_ca_file {
        format!(
            "The CA file does not hold the authority this chain ends at ({top}): put that \
             authority's certificate (PEM) in it, or set the right file with `rolecall endpoint \
             edit {} --ca-file PATH`.",
            target.endpoint
        )
    } else {
        format!(
            "If your company inspects TLS (or runs its own CA), get the certificate of {top} as \
             a PEM file and set it: `rolecall endpoint edit {} --ca-file PATH`.",
            target.endpoint
        )
    }
}
