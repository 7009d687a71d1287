//! A stand-in for the network beyond this machine, for tests that must show where Rolecall
//! (or the webview) would have gone without sending anything there.

use std::io::Write as _;

/// Stands in for the network: `HTTPS_PROXY` for the app points here, so whatever would leave
/// the machine over http(s) comes here instead, is written down and refused. Rolecall's own
/// HTTP client and the webview (WebKitGTK, through GLib's libproxy resolver) both honour the
/// proxy variables; loopback, in `NO_PROXY`, goes direct.
#[derive(Debug)]
pub struct NoNetwork {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NoNetwork {
    pub fn start() -> Self {
        use std::io::{BufRead, BufReader};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = std::sync::Arc::<std::sync::Mutex<Vec<String>>>::default();
        let stop = std::sync::Arc::<std::sync::atomic::AtomicBool>::default();
        let thread = {
            let requests = std::sync::Arc::clone(&requests);
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut stream, _)) = listener.accept() else {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    };
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                    let mut head = String::new();
                    let mut reader = BufReader::new(&stream);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                        head.push_str(&line);
                        line.clear();
                    }
                    if let Ok(mut requests) = requests.lock() {
                        requests.push(head);
                    }
                    let _ = stream.write_all(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            })
        };
        Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The head (request line and headers) of every request that tried to leave.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for NoNetwork {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
