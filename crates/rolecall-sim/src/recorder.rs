//! A listener that writes down every request it gets and answers each the same way: the
//! "other host" of the tests that check a client sends its secrets nowhere else.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

/// How a [`Recorder`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecorderAnswer {
    /// `200` with a page that is no sign-in page.
    Page,
    /// `401` asking for integrated sign-in (`WWW-Authenticate: NTLM` and `Negotiate`), as AD
    /// FS's `/adfs/ls/wia` does.
    IntegratedChallenge,
}

/// One request as it came.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A running recorder; dropping it stops the server.
#[derive(Debug)]
pub struct Recorder {
    base: Url,
    seen: Arc<Mutex<Vec<Recorded>>>,
    shutdown: Option<oneshot::Sender<()>>,
}

#[derive(Debug)]
struct Shared {
    answer: RecorderAnswer,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// Serves on `listener`, which must be bound to a loopback address.
    pub async fn start(listener: TcpListener, answer: RecorderAnswer) -> io::Result<Recorder> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the recorder only serves loopback, not {addr}"),
            ));
        }
        let base = Url::parse(&format!("http://{addr}/")).map_err(io::Error::other)?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            answer,
            seen: Arc::clone(&seen),
        });
        let app = Router::new().fallback(record).with_state(shared);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                eprintln!("rolecall-sim recorder: server stopped: {error}");
            }
        });
        Ok(Recorder {
            base,
            seen,
            shutdown: Some(shutdown),
        })
    }

    /// `http://<address>:<port>/`.
    pub fn base_url(&self) -> Url {
        self.base.clone()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = uri
        .path_and_query()
        .map(|target| target.as_str().to_owned())
        .unwrap_or_default();
    shared
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Recorded {
            method,
            target,
            headers,
            body,
        });
    let mut response = Response::new(Body::from("<html><body>Nothing here.</body></html>"));
    if shared.answer == RecorderAnswer::IntegratedChallenge {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        for scheme in ["Negotiate", "NTLM"] {
            response
                .headers_mut()
                .append(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
    }
    response
}
