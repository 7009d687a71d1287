//! The HTTP clients Rolecall talks to IdPs with: trust store, extra CA file, proxy, user agent.
//!
//! Every request of a sign-in goes through a client built here, so an endpoint's CA file and
//! proxy apply to all of them (the IdP, its redirects, the AWS sign-in page). This module never
//! sends anything itself.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};
use url::{Host, Url};

/// How long one request may take before Rolecall gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a proxy URL never carries: this computer's traffic, which plain `http` may be.
const LOOPBACK_NO_PROXY: &str = "localhost,127.0.0.0/8,::1";

/// What a client needs to know about the network around an endpoint.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// A PEM file of CA certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    pub proxy: ProxySetting,
}

/// A client with a cookie jar of its own, and the jar, so a sign-in can read and seed cookies.
#[derive(Clone)]
pub struct Session {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

// The jar holds the IdP's session cookies (MSISAuth): its own Debug would print them.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client)
            .field("jar", &"<redacted>")
            .finish()
    }
}

impl Network {
    /// A client for one sign-in conversation: redirects are not followed (the caller follows
    /// them, so it sees every page and every hop), cookies are kept in a fresh jar.
    pub fn session(&self, user_agent: &str) -> Result<Session, HttpError> {
        self.session_with_jar(user_agent, Arc::new(reqwest::cookie::Jar::default()))
    }

    /// Like [`Network::session`], with a cookie jar shared with other clients (a sign-in's
    /// attempts with different user agents share one).
    pub fn session_with_jar(
        &self,
        user_agent: &str,
        jar: Arc<reqwest::cookie::Jar>,
    ) -> Result<Session, HttpError> {
        let client = self
            .builder(user_agent)?
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(Arc::clone(&jar))
            .build()
            .map_err(|err| HttpError::Build {
                detail: err.to_string(),
            })?;
        Ok(Session { client, jar })
    }

    /// A plain client (no cookies, no redirects followed) for API calls such as STS.
    pub fn client(&self, user_agent: &str) -> Result<reqwest::Client, HttpError> {
        self.builder(user_agent)?
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| HttpError::Build {
                detail: err.to_string(),
            })
    }

    /// A plain client with this network's proxy and the TLS configuration `tls` instead of
    /// the usual trust (`rolecall doctor` records the certificates it is shown).
    pub fn client_with_tls(
        &self,
        user_agent: &str,
        tls: rustls::ClientConfig,
    ) -> Result<reqwest::Client, HttpError> {
        self.builder(user_agent)?
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|err| HttpError::Build {
                detail: err.to_string(),
            })
    }

    /// The certificates of the CA file, as DER; empty without one.
    pub fn ca_certificates(
        &self,
    ) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, HttpError> {
        use rustls::pki_types::pem::PemObject as _;
        let Some(path) = &self.ca_file else {
            return Ok(Vec::new());
        };
        // The same checks as for the clients first, with the same messages.
        read_ca_file(path)?;
        let pem = crate::store::read_optional(path)
            .ok()
            .flatten()
            .unwrap_or_default();
        rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| HttpError::CaFile {
                path: path.to_owned(),
                detail: err.to_string(),
            })
    }

    fn builder(&self, user_agent: &str) -> Result<reqwest::ClientBuilder, HttpError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // NTLM authenticates a TCP connection: keep one per host so its legs share it.
            .pool_max_idle_per_host(1)
            // `localhost` is trusted as this computer by name, so it must be this computer:
            // no resolver or hosts file is asked (RFC 6761 §6.3, as browsers do).
            .resolve_to_addrs(
                "localhost",
                &[
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                    SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
                ],
            );
        if let Some(path) = &self.ca_file {
            builder = builder.tls_certs_merge(read_ca_file(path)?);
        }
        builder = match &self.proxy {
            ProxySetting::System => builder,
            ProxySetting::None => builder.no_proxy(),
            ProxySetting::Url(url) => {
                let proxy = reqwest::Proxy::all(url.as_str()).map_err(|err| HttpError::Proxy {
                    proxy: url.to_string(),
                    detail: err.to_string(),
                })?;
                // Plain http to loopback stays on this computer, never through the proxy.
                builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_string(LOOPBACK_NO_PROXY)))
            }
        };
        Ok(builder)
    }
}

fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, HttpError> {
    // Never a FIFO or a device: opening one for reading would wait for ever.
    let pem = match crate::store::read_optional(path) {
        Ok(Some(pem)) => pem,
        Ok(None) => {
            return Err(HttpError::CaFile {
                path: path.to_owned(),
                detail: "it does not exist".to_owned(),
            });
        }
        Err(err) => {
            return Err(HttpError::CaFile {
                path: path.to_owned(),
                detail: err.to_string(),
            });
        }
    };
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|err| HttpError::CaFile {
            path: path.to_owned(),
            detail: err.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(HttpError::CaFile {
            path: path.to_owned(),
            detail: "it holds no PEM certificate".to_owned(),
        });
    }
    Ok(certificates)
}

/// Whether a URL's host is this machine: the only place Rolecall talks plain `http` to. A
/// loopback address, or `localhost`, which Rolecall's clients always connect on loopback (no
/// DNS asked) and never send through a proxy URL; `localhost.` and `*.localhost` are not it.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether Rolecall may send credentials or an assertion to this URL: `https`, or `http` to
/// loopback.
pub fn is_secure_target(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
}

/// A URL for messages and logs: scheme, host, port and path, never the query (which may carry
/// tokens) or user info.
pub fn redact(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "Rolecall could not use the CA file {} ({detail}). Check that it is a readable PEM \
         file with \"-----BEGIN CERTIFICATE-----\" blocks, or remove it from the endpoint.",
        path.display()
    )]
    CaFile { path: PathBuf, detail: String },
    #[error(
        "Rolecall could not use the proxy {proxy} ({detail}). Check the proxy setting of the \
         endpoint."
    )]
    Proxy { proxy: String, detail: String },
    #[error(
        "Rolecall could not set up its HTTPS client ({detail}). This is a bug: please report it."
    )]
    Build { detail: String },
}

/// What a failed request means for a person, read once from reqwest's error and its causes,
/// so every front end words the same failure the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    /// The server's certificate was refused; the text says why.
    Untrusted(&'static str),
    HostNotFound,
    Refused,
    TimedOut,
    NoConnection,
    /// The answer came but could not be read.
    Unreadable,
    Other,
}

impl RequestFailure {
    /// A short phrase for a sentence about the host.
    pub fn describe(self) -> &'static str {
        match self {
            RequestFailure::Untrusted(why) => why,
            RequestFailure::HostNotFound => "its host name could not be found",
            RequestFailure::Refused => "the connection was refused",
            RequestFailure::TimedOut => "no answer in time",
            RequestFailure::NoConnection => "could not connect",
            RequestFailure::Unreadable => "the answer could not be read",
            RequestFailure::Other => "the connection failed",
        }
    }
}

/// Reads a failed request from its error and causes (a reqwest error, or one wrapping it). The
/// TLS and DNS causes are known only by their messages (reqwest hides the TLS library's and the
/// resolver's types), so those are matched in this one place.
pub fn classify(err: &(dyn std::error::Error + 'static)) -> RequestFailure {
    let mut chain = String::new();
    let (mut refused, mut timeout, mut connect, mut unreadable) = (false, false, false, false);
    let mut source = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            timeout |= io.kind() == std::io::ErrorKind::TimedOut;
        }
        if let Some(request) = cause.downcast_ref::<reqwest::Error>() {
            timeout |= request.is_timeout();
            connect |= request.is_connect();
            unreadable |= request.is_decode() || request.is_body();
        }
        chain.push_str(&cause.to_string().to_ascii_lowercase());
        chain.push_str(": ");
        source = cause.source();
    }
    if chain.contains("certificate") || chain.contains("unknownissuer") {
        return RequestFailure::Untrusted(
            if chain.contains("unknownissuer") || chain.contains("unknown issuer") {
                "it is signed by an authority this computer does not trust"
            } else if chain.contains("expired") {
                "it has expired"
            } else if chain.contains("notvalidforname") || chain.contains("not valid for") {
                "it is for another host name"
            } else {
                "it is not trusted"
            },
        );
    }
    if timeout || chain.contains("timed out") {
        RequestFailure::TimedOut
    } else if refused || chain.contains("connection refused") {
        RequestFailure::Refused
    } else if chain.contains("dns error") || chain.contains("failed to lookup") {
        RequestFailure::HostNotFound
    } else if connect {
        RequestFailure::NoConnection
    } else if unreadable {
        RequestFailure::Unreadable
    } else {
        RequestFailure::Other
    }
}

/// Which proxy an endpoint is reached through. Written in the file as `"system"`, `"none"` or
/// the proxy's URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxySetting {
    /// The environment (`HTTPS_PROXY`, `NO_PROXY`, ...) and the system's static proxy.
    #[default]
    System,
    /// A direct connection.
    None,
    Url(Url),
}

impl ProxySetting {
    /// Reads `"system"`, `"none"` or a proxy URL (`http://` is assumed when no scheme is given).
    pub fn parse(input: &str) -> Result<Self, ProxyProblem> {
        let input = input.trim();
        match input.to_ascii_lowercase().as_str() {
            "system" | "" => return Ok(ProxySetting::System),
            "none" => return Ok(ProxySetting::None),
            _ => {}
        }
        let with_scheme = if input.contains("://") {
            input.to_owned()
        } else {
            format!("http://{input}")
        };
        let url = Url::parse(&with_scheme).map_err(|err| ProxyProblem::NotUrl(err.to_string()))?;
        check_proxy_url(&url)?;
        Ok(ProxySetting::Url(url))
    }

    /// How the settings file writes it.
    pub fn as_setting(&self) -> String {
        match self {
            ProxySetting::System => "system".to_owned(),
            ProxySetting::None => "none".to_owned(),
            ProxySetting::Url(url) => url.to_string(),
        }
    }
}

impl Serialize for ProxySetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_setting())
    }
}

/// What a proxy URL may be: a scheme Rolecall can speak, a host, no password, no path.
pub fn check_proxy_url(url: &Url) -> Result<(), ProxyProblem> {
    if !["http", "https", "socks5", "socks5h"].contains(&url.scheme()) {
        return Err(ProxyProblem::Scheme(url.scheme().to_owned()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ProxyProblem::NoHost);
    }
    if url.password().is_some() {
        return Err(ProxyProblem::Password);
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(ProxyProblem::Path);
    }
    Ok(())
}

/// Why a proxy setting was refused; completes a sentence that starts with the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyProblem {
    #[error(
        "is not \"system\", \"none\" or a proxy URL ({0}). Use one of those, such as \
         http://proxy.corp.example:8080."
    )]
    NotUrl(String),
    #[error("uses {0}://. Use an http://, https://, socks5:// or socks5h:// proxy URL.")]
    Scheme(String),
    #[error("has no host name. Use a URL such as http://proxy.corp.example:8080.")]
    NoHost,
    #[error(
        "contains a password. Remove it: Rolecall keeps passwords only in your keyring, never \
         in the settings file."
    )]
    Password,
    #[error(
        "has a path or query. A proxy URL is a scheme, host and port only, such as \
         http://proxy.corp.example:8080."
    )]
    Path,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_debug_never_shows_its_cookies() {
        use reqwest::cookie::CookieStore as _;
        let session = Network::default().session("Rolecall").unwrap();
        let url = Url::parse("https://sts.corp.example/adfs/ls/").unwrap();
        let cookie = reqwest::header::HeaderValue::from_static(
            "MSISAuth=c2Vzc2lvbi1jb29raWUtc2VjcmV0; path=/adfs",
        );
        session.jar.set_cookies(&mut std::iter::once(&cookie), &url);
        assert!(
            session.jar.cookies(&url).is_some(),
            "the jar holds the cookie"
        );
        let shown = format!("{session:?}");
        assert!(
            !shown.contains("c2Vzc2lvbi1jb29raWUtc2VjcmV0"),
            "no cookie in Debug: {shown}"
        );
    }

    #[test]
    fn only_https_or_loopback_http_carries_secrets() {
        let ok = |u: &str| is_secure_target(&Url::parse(u).unwrap());
        assert!(ok("https://sts.corp.example/adfs/ls/"));
        assert!(ok("http://127.0.0.1:8080/saml"));
        assert!(ok("http://localhost/saml"));
        assert!(ok("http://[::1]:9/x"));
        assert!(!ok("http://sts.corp.example/adfs/ls/"));
        assert!(!ok("http://127.0.0.1.nip.io/"));
        assert!(!ok("ftp://127.0.0.1/"));
    }

    /// Answers every request with `name`, so a test sees who answered.
    async fn answering(name: &'static str) -> SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0; 8192];
                let _ = socket.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{name}",
                    name.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        addr
    }

    /// `http://localhost` carries passwords in the demo: it must stay on this computer, also
    /// when the endpoint has a proxy, and reach loopback by name.
    #[tokio::test]
    async fn localhost_is_reached_on_loopback_and_never_through_the_proxy() {
        let target = answering("target").await;
        let proxy = answering("proxy").await;
        let network = Network {
            ca_file: None,
            proxy: ProxySetting::Url(Url::parse(&format!("http://{proxy}")).unwrap()),
        };
        let client = network.client("test").unwrap();
        for host in ["localhost", "127.0.0.1", "LOCALHOST"] {
            let url = format!("http://{host}:{}/adfs/ls/", target.port());
            let body = client.get(&url).send().await.unwrap().text().await.unwrap();
            assert_eq!(body, "target", "{url} went through the proxy");
        }
        let elsewhere = format!("http://rolecall-test.invalid:{}/", target.port());
        let body = client
            .get(&elsewhere)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "proxy", "other hosts still use the proxy");
    }

    #[test]
    fn localhost_is_loopback_only_by_its_exact_name() {
        let loopback = |u: &str| is_loopback(&Url::parse(u).unwrap());
        assert!(loopback("http://localhost:1/"));
        assert!(loopback("http://127.8.9.10/"));
        assert!(!loopback("http://localhost.corp.example/"));
        assert!(!loopback("http://app.localhost/"));
        assert!(!loopback("http://localhost./"));
    }

    #[test]
    fn redacted_urls_drop_the_query_and_user_info() {
        let url = Url::parse("https://u:p@signin.aws.amazon.com:8443/federation?SigninToken=abc")
            .unwrap();
        assert_eq!(
            redact(&url),
            "https://signin.aws.amazon.com:8443/federation"
        );
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corp.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let network = Network {
            ca_file: Some(path.clone()),
            proxy: ProxySetting::System,
        };
        let err = network.session("x").unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_as_the_ca_file_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("corp.pem");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let network = Network {
            ca_file: Some(fifo.clone()),
            proxy: ProxySetting::System,
        };
        let err = network.session("x").unwrap_err().to_string();
        assert!(
            err.contains(&fifo.display().to_string()) && err.contains("FIFO"),
            "{err}"
        );
    }
}
