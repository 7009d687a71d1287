//! A minimal W3C WebDriver client, as blocking calls: the commands Rolecall's end-to-end tests
//! need to use a window as a person does (find, type, click, read), for any driver (tauri-driver
//! in front of WebKitWebDriver, chromedriver).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::eventually;

/// How long a driver may take over one command, and an element to appear.
pub const LIMIT: Duration = Duration::from_secs(90);

/// The key of an element reference in WebDriver answers (W3C WebDriver §12.1).
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The Enter key, as typed with [`Session::type_into`] (W3C WebDriver §17.4.2).
pub const ENTER: &str = "\u{E007}";

/// A port nobody listens on now, for a driver to take.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A WebDriver server on a loopback port.
#[derive(Debug)]
pub struct WebDriver {
    runtime: tokio::runtime::Handle,
    client: reqwest::Client,
    base: String,
}

impl WebDriver {
    pub fn new(runtime: tokio::runtime::Handle, port: u16) -> Self {
        Self {
            runtime,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_send(method.clone(), path, body)
            .unwrap_or_else(|err| panic!("WebDriver {method} {path}: {err}"))
    }

    pub fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.runtime.block_on(async {
            let mut request = self
                .client
                .request(method, format!("{}{path}", self.base))
                .timeout(LIMIT);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.map_err(|err| err.to_string())?;
            let status = response.status();
            let answer: Value = response.json().await.map_err(|err| err.to_string())?;
            if status.is_success() {
                Ok(answer["value"].clone())
            } else {
                Err(format!("{status}: {answer}"))
            }
        })
    }

    /// Whether the driver answers its status command yet.
    pub fn ready(&self) -> bool {
        self.try_send(reqwest::Method::GET, "/status", None).is_ok()
    }

    /// A session on the Tauri app `application` (tauri-driver's capabilities).
    pub fn new_session(&self, application: &Path) -> Session<'_> {
        self.new_session_with(json!({
            "browserName": "wry",
            "tauri:options": {"application": application},
        }))
    }

    /// A session with these capabilities (`alwaysMatch`), e.g. chromedriver's
    /// `goog:chromeOptions`.
    pub fn new_session_with(&self, capabilities: Value) -> Session<'_> {
        let answer = self.send(
            reqwest::Method::POST,
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": capabilities}})),
        );
        let id = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a session id in {answer}"))
            .to_owned();
        Session { driver: self, id }
    }
}

/// One WebDriver session: a browser, or the app's webviews.
#[derive(Debug)]
pub struct Session<'a> {
    driver: &'a WebDriver,
    id: String,
}

impl Session<'_> {
    pub fn post(&self, path: &str, body: Value) -> Value {
        self.driver.send(
            reqwest::Method::POST,
            &format!("/session/{}{path}", self.id),
            Some(body),
        )
    }

    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.driver.try_send(
            reqwest::Method::GET,
            &format!("/session/{}{path}", self.id),
            None,
        )
    }

    /// Ends the session; a browser session closes the browser.
    pub fn end(self) {
        let _ = self.driver.try_send(
            reqwest::Method::DELETE,
            &format!("/session/{}", self.id),
            None,
        );
    }

    pub fn window_handles(&self) -> Vec<String> {
        self.get("/window/handles")
            .ok()
            .and_then(|handles| serde_json::from_value(handles).ok())
            .unwrap_or_default()
    }

    pub fn switch_to(&self, handle: &str) {
        self.post("/window", json!({ "handle": handle }));
    }

    /// Goes into the frame `css` selects: finding and clicking then happen in its document.
    pub fn switch_to_frame(&self, css: &str) {
        let element = self.find(css);
        self.post("/frame", json!({ "id": { ELEMENT: element } }));
    }

    /// Back to the window's own page, also when the frame it was in has gone.
    pub fn switch_to_top(&self) {
        self.post("/frame", json!({ "id": null }));
    }

    pub fn title(&self) -> Option<String> {
        self.get("/title").ok()?.as_str().map(str::to_owned)
    }

    /// The element `css` selects, once the page has it.
    pub fn find(&self, css: &str) -> String {
        eventually(LIMIT, || {
            let found = self
                .driver
                .try_send(
                    reqwest::Method::POST,
                    &format!("/session/{}/element", self.id),
                    Some(json!({"using": "css selector", "value": css})),
                )
                .ok()?;
            found[ELEMENT].as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("the page has {css}"))
    }

    /// Whether the page has an element `css` selects now.
    pub fn has(&self, css: &str) -> bool {
        self.driver
            .try_send(
                reqwest::Method::POST,
                &format!("/session/{}/elements", self.id),
                Some(json!({"using": "css selector", "value": css})),
            )
            .ok()
            .and_then(|found| found.as_array().map(|elements| !elements.is_empty()))
            .unwrap_or(false)
    }

    /// Types `text` into the element `css` selects, as keys pressed with it focused ([`ENTER`]
    /// and the other WebDriver key codes included).
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// Empties the field `css` selects, as select-all and delete would.
    pub fn clear(&self, css: &str) {
        let element = self.find(css);
        self.post(&format!("/element/{element}/clear"), json!({}));
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    pub fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
    }

    pub fn execute_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({"script": script, "args": []}))
    }

    /// The visible text of the element `css` selects.
    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.get(&format!("/element/{element}/text"))
            .ok()
            .and_then(|text| text.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The visible text of every element `css` selects now, in page order; a hidden element
    /// has none.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let found = self
            .driver
            .try_send(
                reqwest::Method::POST,
                &format!("/session/{}/elements", self.id),
                Some(json!({"using": "css selector", "value": css})),
            )
            .unwrap_or_default();
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|element| element[ELEMENT].as_str())
            .map(|element| {
                self.get(&format!("/element/{element}/text"))
                    .ok()
                    .and_then(|text| text.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// What a form field holds now, as the person sees it in the field.
    pub fn value(&self, css: &str) -> String {
        let element = self.find(css);
        self.get(&format!("/element/{element}/property/value"))
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether the check box or radio button `css` selects is ticked.
    pub fn is_selected(&self, css: &str) -> bool {
        let element = self.find(css);
        self.get(&format!("/element/{element}/selected"))
            .ok()
            .and_then(|selected| selected.as_bool())
            .unwrap_or(false)
    }

    pub fn url(&self) -> Option<String> {
        self.get("/url").ok()?.as_str().map(str::to_owned)
    }

    /// Asks the window to go to `url`, as a link would; the answer does not matter, where the
    /// window is afterwards does.
    pub fn navigate(&self, url: &str) {
        let _ = self.driver.try_send(
            reqwest::Method::POST,
            &format!("/session/{}/url", self.id),
            Some(json!({ "url": url })),
        );
    }

    /// A PNG of the current window, written to `path`: a test artifact, so a failure to take
    /// it is reported, not fatal (WebKitWebDriver's screenshots hang now and then under load).
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let taken = self.get("/screenshot").and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_str().unwrap_or_default())
                .map_err(|err| err.to_string())
        });
        match taken {
            Ok(png) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, png).unwrap();
            }
            Err(err) => eprintln!("no screenshot {}: {err}", path.display()),
        }
    }
}
