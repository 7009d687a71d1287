//! A container credentials endpoint on loopback: what the AWS SDKs and the AWS CLI read when
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN` are set
//! (`rolecall exec --ecs-server`). Programs then never hold static keys, and the SDKs come back
//! for new credentials before `Expiration`.
//!
//! Each request asks the [`Source`] (which renews through the same path as
//! `credential-process` when fewer than 15 minutes are left) and answers the SDKs' JSON. A
//! request without the right `Authorization` header (compared in constant time) gets 401;
//! any other path gets 404. The server listens on 127.0.0.1 only, answers one request per
//! connection, bounds each request's size and time, and stops when its handle is dropped.
//!
//! Anyone holding the token can read the credentials: any local process that can read the
//! environment of the program it was given to (as the same user, in `/proc`). The token
//! changes with every start.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::credential_process::{ProfileCredentials, rfc3339};
use crate::secrets::Sensitive;

/// The path the credentials are served at.
pub const PATH: &str = "/rolecall/credentials";
/// The largest request head read; the SDKs send a few hundred bytes.
const MAX_REQUEST: usize = 16 * 1024;
/// How long a connection may take to send its request.
const REQUEST_TIME: Duration = Duration::from_secs(10);

/// Where each request's credentials come from: `Err` is a sentence saying why there are none.
pub type Source = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<ProfileCredentials, String>> + Send>>
        + Send
        + Sync,
>;

/// A running endpoint; dropping it stops it and every connection it has open.
#[derive(Debug)]
pub struct ContainerEndpoint {
    url: String,
    token: Sensitive<String>,
    task: JoinHandle<()>,
}

impl Drop for ContainerEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ContainerEndpoint {
    /// Serves `source` on a free port of 127.0.0.1 with a new random token.
    pub async fn start(source: Source) -> Result<Self, ContainerEndpointError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|source| ContainerEndpointError::Bind { source })?;
        Self::serve(listener, new_token()?, source)
    }

    /// Serves `source` on `listener` (bound by the caller to a loopback address), answering
    /// only requests that carry `token`.
    pub fn serve(
        listener: TcpListener,
        token: Sensitive<String>,
        source: Source,
    ) -> Result<Self, ContainerEndpointError> {
        let address = listener
            .local_addr()
            .map_err(|source| ContainerEndpointError::Bind { source })?;
        if !address.ip().is_loopback() {
            return Err(ContainerEndpointError::NotLoopback { address });
        }
        let url = format!("http://{address}{PATH}");
        let expected = Arc::new(token.clone());
        let task = tokio::spawn(async move {
            // Owned here, so aborting the server ends its connections too.
            let mut connections = JoinSet::new();
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!("container endpoint: accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Finished connections leave the set as new ones come.
                while connections.try_join_next().is_some() {}
                connections.spawn(answer(stream, Arc::clone(&expected), Arc::clone(&source)));
            }
        });
        Ok(Self { url, token, task })
    }

    /// `http://127.0.0.1:<port>/rolecall/credentials`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn token(&self) -> &Sensitive<String> {
        &self.token
    }
}

/// 32 random bytes in hex.
pub fn new_token() -> Result<Sensitive<String>, ContainerEndpointError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| ContainerEndpointError::NoRandomness {
        detail: err.to_string(),
    })?;
    Ok(Sensitive::new(
        bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
    ))
}

/// Whether `given` is `expected`, in a time that depends only on `expected`'s length.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != expected.len());
    for (i, byte) in expected.iter().enumerate() {
        difference |= given.get(i).copied().unwrap_or(0) ^ byte;
    }
    std::hint::black_box(difference) == 0
}

/// The JSON the SDKs read from a container endpoint.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Served<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<&'a str>,
}

/// The JSON for `credentials`, or why there is none.
pub fn to_json(credentials: &ProfileCredentials) -> Result<String, String> {
    let stored = &credentials.credentials;
    let unusable = || {
        format!(
            "The profile \"{}\" holds no temporary credentials with an expiration. Choose its \
             role again with `rolecall login` or in the Rolecall tray.",
            credentials.profile
        )
    };
    let token = stored.session_token.as_ref().ok_or_else(unusable)?;
    let expiration = stored.expiration.and_then(rfc3339).ok_or_else(unusable)?;
    serde_json::to_string(&Served {
        access_key_id: &stored.access_key_id,
        secret_access_key: stored.secret_access_key.expose(),
        token: token.expose(),
        expiration,
        role_arn: credentials.role_arn.as_deref(),
    })
    .map_err(|err| err.to_string())
}

/// Reads one request head from `stream`; `None` when it is too large, too slow or not HTTP.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let read = async {
        loop {
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                head.truncate(end);
                return Some(());
            }
            if head.len() > MAX_REQUEST {
                return None;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(REQUEST_TIME, read).await.ok()??;
    Some(head)
}

/// A request's method, path and `Authorization` header.
type RequestHead<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);

/// What a request head asks: its method, its path without the query, and its
/// `Authorization` header.
fn parse_head(head: &[u8]) -> Option<RequestHead<'_>> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let mut request = lines.next()?.split(|&b| b == b' ');
    let method = request.next()?;
    let target = request.next()?;
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    let mut authorization = None;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if line[..colon].eq_ignore_ascii_case(b"authorization") && authorization.is_none() {
            authorization = Some(line[colon + 1..].trim_ascii());
        }
    }
    Some((method, path, authorization))
}

async fn answer(mut stream: TcpStream, token: Arc<Sensitive<String>>, source: Source) {
    let Some(head) = read_head(&mut stream).await else {
        respond(
            &mut stream,
            "400 Bad Request",
            &error("BadRequest", "Unreadable request."),
        )
        .await;
        return;
    };
    let Some((method, path, authorization)) = parse_head(&head) else {
        respond(
            &mut stream,
            "400 Bad Request",
            &error("BadRequest", "Unreadable request."),
        )
        .await;
        return;
    };
    let authorized =
        authorization.is_some_and(|given| same_token(given, token.expose().as_bytes()));
    if !authorized {
        let body = error(
            "Unauthorized",
            "Send the value of AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header.",
        );
        respond(&mut stream, "401 Unauthorized", &body).await;
        return;
    }
    if method != b"GET" || path != PATH.as_bytes() {
        respond(
            &mut stream,
            "404 Not Found",
            &error("NotFound", "Nothing here."),
        )
        .await;
        return;
    }
    match source().await.and_then(|credentials| to_json(&credentials)) {
        Ok(json) => respond(&mut stream, "200 OK", &Sensitive::new(json)).await,
        Err(message) => {
            tracing::error!("container endpoint: {message}");
            respond(
                &mut stream,
                "500 Internal Server Error",
                &error("CredentialsUnavailable", &message),
            )
            .await;
        }
    }
}

fn error(code: &str, message: &str) -> Sensitive<String> {
    Sensitive::new(serde_json::json!({ "Code": code, "Message": message }).to_string())
}

async fn respond(stream: &mut TcpStream, status: &str, body: &Sensitive<String>) {
    let body = body.expose();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // One write, so the SDK never reads a head without its body.
    let bytes = Sensitive::new(head + body);
    // A caller that went away has nothing more to hear.
    let _ = stream.write_all(bytes.expose().as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ContainerEndpointError {
    #[error(
        "Rolecall could not listen on 127.0.0.1 for the container credentials endpoint \
         ({source}). Check that loopback networking works, or run without --ecs-server."
    )]
    Bind {
        #[source]
        source: std::io::Error,
    },
    #[error(
        "The container credentials endpoint would listen on {address}, which is not a loopback \
         address; Rolecall serves credentials on 127.0.0.1 only."
    )]
    NotLoopback { address: SocketAddr },
    #[error(
        "Rolecall could not draw a random token for the container credentials endpoint \
         ({detail}). Try again; if it keeps failing, run without --ecs-server."
    )]
    NoRandomness { detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_files::StoredCredentials;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn credentials() -> ProfileCredentials {
        ProfileCredentials {
            profile: "dev".to_owned(),
            credentials: StoredCredentials {
                access_key_id: "ASIAEXAMPLEEXAMPLE12".to_owned(),
                secret_access_key: Sensitive::new("secret".to_owned()),
                session_token: Some(Sensitive::new("token".to_owned())),
                expiration: Some(time::macros::datetime!(2026-12-01 12:30:00.7 UTC)),
                principal_arn: None,
            },
            region: None,
            role_arn: Some("arn:aws:iam::123456789012:role/Dev".to_owned()),
        }
    }

    fn counting(calls: Arc<AtomicUsize>) -> Source {
        Arc::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(credentials()) })
        })
    }

    /// Sends `request` as it is and reads the whole answer: its status code and body.
    async fn send(url: &str, request: String) -> (u16, String) {
        let address = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("an HTTP status line: {answer}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn get(path: &str, authorization: Option<&str>) -> String {
        let header = authorization
            .map(|token| format!("Authorization: {token}\r\n"))
            .unwrap_or_default();
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}Accept: application/json\r\n\r\n"
        )
    }

    #[tokio::test]
    async fn the_endpoint_serves_credentials_to_the_token_only() {
        let calls = Arc::new(AtomicUsize::new(0));
        let endpoint = ContainerEndpoint::start(counting(Arc::clone(&calls)))
            .await
            .unwrap();
        assert!(
            endpoint.url().starts_with("http://127.0.0.1:"),
            "{}",
            endpoint.url()
        );
        assert!(endpoint.url().ends_with(PATH));
        let token = endpoint.token().expose().clone();
        assert_eq!(token.len(), 64);

        let (status, body) = send(endpoint.url(), get(PATH, Some(&token))).await;
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["AccessKeyId"], "ASIAEXAMPLEEXAMPLE12");
        assert_eq!(json["SecretAccessKey"], "secret");
        assert_eq!(json["Token"], "token");
        assert_eq!(json["Expiration"], "2026-12-01T12:30:00Z");
        assert_eq!(json["RoleArn"], "arn:aws:iam::123456789012:role/Dev");

        let query = format!("{PATH}?x=1");
        let (status, _) = send(endpoint.url(), get(&query, Some(&token))).await;
        assert_eq!(status, 200, "a query string does not change the path");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "each request asks the source"
        );

        for wrong in [
            None,
            Some("wrong"),
            Some(&token[..63]),
            Some(&*format!("{token}0")),
        ] {
            let (status, body) = send(endpoint.url(), get(PATH, wrong)).await;
            assert_eq!(status, 401, "{wrong:?}");
            assert!(
                !body.contains("ASIA"),
                "no credentials without the token: {body}"
            );
        }
        let (status, _) = send(endpoint.url(), get("/", None)).await;
        assert_eq!(status, 401, "nothing is told without the token");
        let (status, _) = send(endpoint.url(), get("/other", Some(&token))).await;
        assert_eq!(status, 404);
        let post = get(PATH, Some(&token)).replacen("GET", "POST", 1);
        let (status, _) = send(endpoint.url(), post).await;
        assert_eq!(status, 404, "only GET reads credentials");
        let (status, _) = send(endpoint.url(), "\r\n\r\n".to_owned()).await;
        assert_eq!(status, 400);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "refused requests renew nothing"
        );
    }

    #[tokio::test]
    async fn a_source_that_fails_answers_500_with_its_sentence() {
        let source: Source =
            Arc::new(|| Box::pin(async { Err("Sign in from the Rolecall tray.".to_owned()) }));
        let endpoint = ContainerEndpoint::start(source).await.unwrap();
        let token = endpoint.token().expose().clone();
        let (status, body) = send(endpoint.url(), get(PATH, Some(&token))).await;
        assert_eq!(status, 500);
        assert!(body.contains("Sign in from the Rolecall tray."), "{body}");
    }

    #[tokio::test]
    async fn a_dropped_endpoint_stops_listening() {
        let endpoint = ContainerEndpoint::start(counting(Arc::default()))
            .await
            .unwrap();
        let address = endpoint
            .url()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        drop(endpoint);
        // Aborting takes effect at the task's next turn; the port is then closed.
        tokio::task::yield_now().await;
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(&address).await.is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(refused, "nothing listens on {address} after the drop");
    }

    #[tokio::test]
    async fn only_loopback_listeners_are_served() {
        let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let err =
            ContainerEndpoint::serve(listener, new_token().unwrap(), counting(Arc::default()))
                .unwrap_err();
        assert!(
            matches!(err, ContainerEndpointError::NotLoopback { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abd", b"abc"));
        assert!(!same_token(b"ab", b"abc"));
        assert!(!same_token(b"abcd", b"abc"));
        assert!(!same_token(b"", b"abc"));
        assert_ne!(
            new_token().unwrap(),
            new_token().unwrap(),
            "a new token each start"
        );
    }
}
