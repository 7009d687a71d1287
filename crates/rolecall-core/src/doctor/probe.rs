//! One request to a server, as the sign-in would make it (the endpoint's proxy and CA file),
//! that records what a help desk needs: the addresses its name resolves to, the certificate
//! chain the server showed and whether it verifies with and without the CA file, and the
//! server's `Date`.
//!
//! The request is a plain `GET` with no cookie, no password and no token, so the chain is
//! recorded and the answer read even when the chain is not trusted (what the sign-in would
//! refuse is reported, not acted on). Nothing else is ever sent.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use url::Url;

use super::certificate::CertificateSummary;
use crate::clock::Clock;
use crate::http::{HttpError, Network, ProxySetting, RequestFailure};
use crate::paths::Environment;

/// How long the name lookup may take (the request has the clients' own timeouts).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// What one request found.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The URL without query or user info.
    pub url: String,
    /// Which proxy the request went through, as a phrase.
    pub proxy: String,
    /// What the name resolves to on this computer; `None` for an address or `localhost`.
    pub addresses: Option<Result<Vec<IpAddr>, String>>,
    pub outcome: Outcome,
    /// What the TLS handshake showed; `None` for plain `http` or a connection that never got
    /// that far.
    pub tls: Option<TlsSeen>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The client could not be built (a CA file that cannot be read, a bad proxy).
    Setup(String),
    Answered(Answer),
    Failed {
        failure: RequestFailure,
        /// The client's own words, for the details.
        detail: String,
    },
}

/// The server's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Its `Date` header, when it sent a readable one.
    pub date: Option<OffsetDateTime>,
    /// This computer's time when the answer came.
    pub received: OffsetDateTime,
}

/// The chain the server showed and what each trust store made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSeen {
    /// The server's certificate first, then the others it sent, in its order.
    pub chain: Vec<CertificateSummary>,
    /// This computer's trust store alone.
    pub system: Verdict,
    /// The trust store with the endpoint's CA file; `None` without one.
    pub with_ca_file: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Verdict {
    Trusted,
    /// Refused, and why, as a phrase about the certificate.
    Refused(String),
}

/// Sends one `GET url` through `network`.
pub async fn probe(url: &Url, network: &Network, env: &Environment, clock: &dyn Clock) -> Probe {
    let addresses = lookup(url).await;
    let mut probe = Probe {
        url: crate::http::redact(url),
        proxy: describe_proxy(&network.proxy, url, env),
        addresses,
        outcome: Outcome::Setup(String::new()),
        tls: None,
    };
    let seen = Arc::new(Mutex::new(None));
    let client = match recording_client(network, Arc::clone(&seen)) {
        Ok(client) => client,
        Err(err) => {
            probe.outcome = Outcome::Setup(err.to_string());
            return probe;
        }
    };
    let sent = client.get(url.clone()).send().await;
    let received = clock.now();
    probe.outcome = match sent {
        Ok(response) => Outcome::Answered(Answer {
            status: response.status().as_u16(),
            date: response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|value| value.to_str().ok())
                .and_then(parse_http_date),
            received,
        }),
        Err(err) => {
            // The URL is in the report already; a query in it is not repeated here.
            let err = err.without_url();
            Outcome::Failed {
                failure: crate::http::classify(&err),
                detail: error_chain(&err),
            }
        }
    };
    probe.tls = seen.lock().ok().and_then(|mut seen| seen.take());
    probe
}

async fn lookup(url: &Url) -> Option<Result<Vec<IpAddr>, String>> {
    let host = match url.host()? {
        url::Host::Domain(name) if !name.eq_ignore_ascii_case("localhost") => name.to_owned(),
        _ => return None,
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await;
    Some(match found {
        Ok(Ok(addresses)) => {
            let mut ips: Vec<IpAddr> = addresses.map(|address| address.ip()).collect();
            ips.dedup();
            Ok(ips)
        }
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer in time".to_owned()),
    })
}

/// The error and its causes on one line.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// Which proxy a request to `url` takes, without user info: reqwest's own order for the system
/// setting (`HTTPS_PROXY` or `HTTP_PROXY` by scheme, then `ALL_PROXY`, upper case first).
pub fn describe_proxy(setting: &ProxySetting, url: &Url, env: &Environment) -> String {
    match setting {
        ProxySetting::None => "none (direct connection)".to_owned(),
        ProxySetting::Url(proxy) => {
            format!("{} (the endpoint's setting)", shown_proxy(proxy.as_str()))
        }
        ProxySetting::System => {
            let names: &[&str] = if url.scheme() == "https" {
                &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            } else {
                &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            };
            let chosen = names
                .iter()
                .find_map(|name| env.var(name).map(|value| (*name, value)));
            let no_proxy = ["NO_PROXY", "no_proxy"]
                .iter()
                .find_map(|name| env.var(name).map(|value| format!(", {name}={value}")))
                .unwrap_or_default();
            match chosen {
                Some((name, value)) => format!("{} (system: {name}{no_proxy})", shown_proxy(value)),
                None => "none (system: no proxy variable is set)".to_owned(),
            }
        }
    }
}

/// A proxy URL without its user info (which may carry a password).
fn shown_proxy(value: &str) -> String {
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    match Url::parse(&with_scheme) {
        Ok(url) => crate::http::redact(&url).trim_end_matches('/').to_owned(),
        Err(_) => "a value that is not a URL".to_owned(),
    }
}

/// A client with `network`'s proxy whose TLS accepts any chain after recording it and what
/// the system's trust store, and the CA file's, make of it.
fn recording_client(
    network: &Network,
    seen: Arc<Mutex<Option<TlsSeen>>>,
) -> Result<reqwest::Client, HttpError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let build = |err: rustls::Error| HttpError::Build {
        detail: err.to_string(),
    };
    let system = rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(build)?;
    let extra = network.ca_certificates()?;
    let with_ca_file = if extra.is_empty() {
        None
    } else {
        Some(
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
                .map_err(build)?,
        )
    };
    let recorder = Recorder {
        system,
        with_ca_file,
        seen,
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(build)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recorder))
        .with_no_client_auth();
    network.client_with_tls(
        concat!("Rolecall/", env!("CARGO_PKG_VERSION"), " (doctor)"),
        tls,
    )
}

#[derive(Debug)]
struct Recorder {
    system: rustls_platform_verifier::Verifier,
    with_ca_file: Option<rustls_platform_verifier::Verifier>,
    seen: Arc<Mutex<Option<TlsSeen>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = |verifier: &rustls_platform_verifier::Verifier| match verifier
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Ok(_) => Verdict::Trusted,
            Err(err) => Verdict::Refused(refusal(&err)),
        };
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|der| CertificateSummary::of(der))
            .collect();
        let found = TlsSeen {
            chain,
            system: verdict(&self.system),
            with_ca_file: self.with_ca_file.as_ref().map(verdict),
        };
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(found);
        }
        // Recorded, not enforced: the request carries nothing, and its answer is what the
        // clock check reads.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.system.supported_verify_schemes()
    }
}

/// Why a chain was refused, in the words the sign-in's own errors use.
fn refusal(err: &rustls::Error) -> String {
    match crate::http::classify(err) {
        RequestFailure::Untrusted(why) => why.to_owned(),
        _ => format!("it is not trusted ({err})"),
    }
}

/// IMF-fixdate, the `Date` format of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`).
const HTTP_DATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// A `Date` header's time; `None` for anything but IMF-fixdate, which every current server
/// sends.
pub fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(value.trim(), HTTP_DATE)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// `at` as a `Date` header writes it.
pub fn format_http_date(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(HTTP_DATE)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn date_headers_read_back_as_written() {
        let at = datetime!(1994-11-06 08:49:37 UTC);
        assert_eq!(format_http_date(at), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(at));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn proxies_are_named_without_their_user_info() {
        let url = Url::parse("https://sts.corp.example/adfs/ls/").unwrap();
        let env = Environment::default()
            .with("HTTPS_PROXY", "http://alice:s3cret@proxy.corp.example:8080")
            .with("NO_PROXY", ".corp.internal");
        let shown = describe_proxy(&ProxySetting::System, &url, &env);
        assert_eq!(
            shown,
            "http://proxy.corp.example:8080 (system: HTTPS_PROXY, NO_PROXY=.corp.internal)"
        );
        assert!(!shown.contains("s3cret"));
        let direct = describe_proxy(&ProxySetting::System, &url, &Environment::default());
        assert!(direct.starts_with("none"), "{direct}");
    }
}
