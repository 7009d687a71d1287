//! The sign-in window's rules: where its pages may go, and which SAML response it takes.
//!
//! The window shows the IdP's own pages, so it holds whatever those pages (and any frame in
//! them) do. This module decides, for every navigation the window sees, whether it goes ahead;
//! it writes the capture script that takes the SAML response from the IdP's auto-post page and
//! reads what that script sends back. It is pure: the shell calls [`SignInPolicy::navigation`]
//! from the webview's navigation handler and does what the answer says. When the window shows
//! and when it gives up is [`SignInTiming`], a state machine fed the window's events and the
//! time.
//!
//! What may be loaded: `https` pages, `about:blank`, and `http` on loopback when the endpoint
//! itself is on loopback (the demo and the tests). Never `file:`, `data:`, `blob:`,
//! `javascript:`, the app's own origin (`tauri://localhost`, `http(s)://tauri.localhost`, the
//! IPC origins) or any other scheme, and never AWS's `/saml` pages (the response must not reach
//! AWS from the window).
//!
//! How the response is handed over (DESIGN §7): the capture script runs in every frame, hooks
//! form submission, and when a form carries `SAMLResponse` it navigates to a sentinel URL on
//! [`CAPTURE_HOST`] instead, which the shell refuses and reads. The webview does not say which
//! frame asked for a navigation, and any frame can navigate to any URL, so the sentinel proves
//! where it came from with a key: a random value the script holds in its closure and writes
//! into the sentinel only from the top frame of a page on one of the IdP's origins. A frame of
//! another origin (or any page that is not the IdP's) never sees the key, so what it forges is
//! ignored. The Issuer pin in the engine is the second check.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use crate::http::is_loopback;
use crate::partition;
use crate::paths::AppPaths;
use crate::secrets::Sensitive;
use crate::settings::Settings;

/// The host the capture script navigates to; `.invalid` never resolves (RFC 6761).
pub const CAPTURE_HOST: &str = "rolecall-capture.invalid";

/// Hosts of the app's own pages and IPC on every platform: never loaded in a sign-in window.
const APP_HOSTS: [&str; 2] = ["tauri.localhost", "ipc.localhost"];

/// What one navigation in the sign-in window means.
#[derive(Debug)]
pub enum Navigation {
    /// The capture script, in the top frame of the IdP's page, took the response. `post_to`
    /// is where the page would have posted it when that is an AWS sign-in page (it serves
    /// the account aliases).
    Captured {
        saml_response: Sensitive<String>,
        post_to: Option<Url>,
    },
    /// The capture script found a SAML response in the top frame of a page that is not on one
    /// of the IdP's origins: nothing is taken.
    NotTheIdp {
        origin: String,
    },
    /// A sentinel without this window's key: some page or frame made it up. Ignored.
    Forged,
    /// The script's sentinel without a response: nothing to sign in with.
    Empty,
    /// Toward AWS's `/saml` past the capture script: refused, the response is not readable.
    TowardAws,
    /// A scheme or origin a sign-in window never loads.
    Refused,
    Allowed,
}

/// One sign-in window's rules: the IdP's origins and the window's capture key.
pub struct SignInPolicy {
    endpoint_on_loopback: bool,
    /// Serialised origins (`https://sts.corp.example`) whose top-level pages may hand over a
    /// response.
    origins: Vec<String>,
    key: Sensitive<String>,
}

impl std::fmt::Debug for SignInPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInPolicy")
            .field("endpoint_on_loopback", &self.endpoint_on_loopback)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl SignInPolicy {
    /// The rules for a window signing in to `endpoint` (its URL). The IdP's origin is the
    /// endpoint's; `other_hosts` are further hosts the person trusts for this endpoint (an IdP
    /// whose flow ends on another host of its own), taken as `https` origins.
    pub fn new(endpoint: &Url, other_hosts: &[String]) -> Result<Self, WebviewError> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|err| WebviewError::NoRandomness {
            detail: err.to_string(),
        })?;
        let key = key.iter().map(|byte| format!("{byte:02x}")).collect();
        Ok(Self::with_key(endpoint, other_hosts, key))
    }

    /// The rules for a window signing in to the endpoint named `endpoint` in the settings.
    /// The IdP's origin is the endpoint's, whatever page the window starts on, and the hosts
    /// the person trusts for it may end its sign-in too; an endpoint the settings do not have
    /// (or cannot be read) is taken to be at `url`, the page the window opens.
    pub fn for_endpoint(paths: &AppPaths, endpoint: &str, url: &Url) -> Result<Self, WebviewError> {
        let settings = Settings::load(paths).ok();
        match settings
            .as_ref()
            .and_then(|settings| settings.endpoint(endpoint))
        {
            Some(endpoint) => Self::new(&endpoint.url, &endpoint.trusted_hosts),
            None => Self::new(url, &[]),
        }
    }

    fn with_key(endpoint: &Url, other_hosts: &[String], key: String) -> Self {
        let mut origins = vec![endpoint.origin().ascii_serialization()];
        for host in other_hosts {
            let host = host.trim().to_ascii_lowercase();
            if !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
            {
                origins.push(format!("https://{host}"));
            }
        }
        origins.retain(|origin| origin != "null");
        origins.dedup();
        Self {
            endpoint_on_loopback: is_loopback(endpoint),
            origins,
            key: Sensitive::new(key),
        }
    }

    /// The origins whose top-level pages may hand over a response.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// The capture script for every frame of the window (see the module docs). What the page
    /// could use against it is taken before any of the page's own scripts run: whether this
    /// is the top frame, and the prototype's methods and getters (so an input named
    /// `elements` or `action`, or a replaced `encodeURIComponent`, changes nothing).
    pub fn script(&self) -> String {
        let key = json_string(self.key.expose());
        let origins = serde_json::to_string(&self.origins).unwrap_or_else(|_| "[]".to_owned());
        CAPTURE_SCRIPT
            .replace("__KEY__", &key)
            .replace("__ORIGINS__", &origins)
            .replace("__HOST__", CAPTURE_HOST)
    }

    /// What the navigation to `url` means, and so whether it may go ahead (only
    /// [`Navigation::Allowed`] does).
    pub fn navigation(&self, url: &Url) -> Navigation {
        if url.scheme() == "https" && url.host_str() == Some(CAPTURE_HOST) {
            return self.sentinel(url);
        }
        if self.is_aws_saml(url) {
            return Navigation::TowardAws;
        }
        if self.may_load(url) {
            Navigation::Allowed
        } else {
            Navigation::Refused
        }
    }

    fn sentinel(&self, url: &Url) -> Navigation {
        let mut key = None;
        let mut origin = None;
        let mut foreign = None;
        let mut saml_response = None;
        let mut action = None;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "key" => key = Some(value.into_owned()),
                "origin" => origin = Some(value.into_owned()),
                "foreign" => foreign = Some(value.into_owned()),
                "SAMLResponse" => saml_response = Some(Sensitive::new(value.into_owned())),
                "action" => action = Url::parse(&value).ok(),
                _ => {}
            }
        }
        if key.as_deref() != Some(self.key.expose().as_str()) {
            // The script writes no key on a page that is not the IdP's, and says so.
            return match foreign {
                Some(origin) if key.is_none() && saml_response.is_none() => Navigation::NotTheIdp {
                    origin: shown_origin(&origin),
                },
                _ => Navigation::Forged,
            };
        }
        // The script checked the origin already; a second look costs nothing.
        let origin = origin.unwrap_or_default();
        if !self.origins.contains(&origin) {
            return Navigation::NotTheIdp {
                origin: shown_origin(&origin),
            };
        }
        match saml_response {
            Some(saml_response) if !saml_response.expose().is_empty() => Navigation::Captured {
                saml_response,
                // Only an AWS sign-in page gets the assertion (for the aliases): a page could
                // name any action.
                post_to: action.filter(|action| self.is_aws_saml(action)),
            },
            _ => Navigation::Empty,
        }
    }

    /// AWS's `/saml` pages in any partition ([`partition::is_saml_page`]). The simulator stands
    /// in for AWS at `<its base>/saml` on loopback, so for an endpoint on loopback a loopback
    /// `…/saml` counts as AWS's: otherwise the demo's response would reach the simulator's page
    /// and never be taken.
    fn is_aws_saml(&self, url: &Url) -> bool {
        partition::is_saml_page(url)
            || partition::is_loopback_stand_in(url, self.endpoint_on_loopback)
    }

    fn may_load(&self, url: &Url) -> bool {
        let app_host = url
            .host_str()
            .is_some_and(|host| APP_HOSTS.contains(&host.trim_end_matches('.')));
        match url.scheme() {
            _ if app_host => false,
            "https" => url.host_str().is_some(),
            "http" => self.endpoint_on_loopback && is_loopback(url),
            // Frames start on about:blank, and IdPs build frames with srcdoc.
            "about" => matches!(url.path(), "blank" | "srcdoc"),
            _ => false,
        }
    }
}

/// An origin as it may be shown to the person: a parsed web origin, or nothing recognisable.
fn shown_origin(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.origin().ascii_serialization(),
        _ => "a page that is not a web site".to_owned(),
    }
}

/// `text` as a JavaScript string literal.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// See [`SignInPolicy::script`]. `__KEY__`, `__ORIGINS__` and `__HOST__` are filled in.
const CAPTURE_SCRIPT: &str = r#"(function () {
  'use strict';
  var key = __KEY__;
  var origins = __ORIGINS__;
  var proto = window.HTMLFormElement && window.HTMLFormElement.prototype;
  if (!proto || proto.__rolecallCapture) { return; }
  var isTop = window.top === window;
  var encode = window.encodeURIComponent;
  var elements = Object.getOwnPropertyDescriptor(proto, 'elements').get;
  var action = Object.getOwnPropertyDescriptor(proto, 'action').get;
  var namedItem = window.HTMLFormControlsCollection.prototype.namedItem;
  var submit = proto.submit;
  function isIdp(origin) {
    for (var i = 0; i < origins.length; i++) {
      if (origins[i] === origin) { return true; }
    }
    return false;
  }
  // `location` and its members are unforgeable: a page cannot swap `replace` or `origin`.
  function capture(form) {
    if (!(form instanceof window.HTMLFormElement)) { return false; }
    var field = namedItem.call(elements.call(form), 'SAMLResponse');
    if (!field || typeof field.value !== 'string' || field.value === '') { return false; }
    // Only the IdP's own top-level page hands a response over; in a frame it goes nowhere.
    if (!isTop) { return true; }
    var origin = window.location.origin;
    if (!isIdp(origin)) {
      window.location.replace('https://__HOST__/?foreign=' + encode(origin));
      return true;
    }
    window.location.replace('https://__HOST__/?key=' + key + '&origin=' + encode(origin) +
      '&SAMLResponse=' + encode(field.value) + '&action=' + encode(action.call(form)));
    return true;
  }
  Object.defineProperty(proto, '__rolecallCapture', { value: true });
  proto.submit = function () {
    if (!capture(this)) { return submit.apply(this, arguments); }
  };
  window.addEventListener('submit', function (event) {
    if (capture(event.target)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();"#;

/// The folder of an endpoint's webview data (cookies, cache, storage): one per endpoint, so one
/// IdP's SSO session never signs in to another endpoint; [`crate::paths::file_name`] makes any
/// endpoint name one safe, distinct folder name.
pub fn data_directory(config_dir: &Path, endpoint: &str) -> PathBuf {
    config_dir
        .join("webview")
        .join(crate::paths::file_name(endpoint))
}

/// Deletes an endpoint's webview folder, with the IdP's cookies and the cache in it. A folder
/// that is not there is already gone; a symbolic link in its place is removed, never followed.
pub fn delete_data(config_dir: &Path, endpoint: &str) -> Result<(), WebviewError> {
    let path = data_directory(config_dir, endpoint);
    let removed = match std::fs::symlink_metadata(&path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
        Ok(_) => std::fs::remove_file(&path),
    };
    removed.map_err(|err| WebviewError::Data {
        path,
        detail: err.to_string(),
    })
}

/// Moves an endpoint's webview folder to its new name, so a renamed endpoint keeps its IdP
/// session and no other endpoint picks it up under the old name. A folder already at the new
/// name (a removed endpoint's leftovers) gives way.
pub fn move_data(config_dir: &Path, from: &str, to: &str) -> Result<(), WebviewError> {
    let source = data_directory(config_dir, from);
    if source == data_directory(config_dir, to) {
        return Ok(());
    }
    match std::fs::symlink_metadata(&source) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return delete_data(config_dir, to),
        Err(err) => {
            return Err(WebviewError::Data {
                path: source,
                detail: err.to_string(),
            });
        }
        Ok(_) => {}
    }
    delete_data(config_dir, to)?;
    let target = data_directory(config_dir, to);
    std::fs::rename(&source, &target).map_err(|err| WebviewError::Data {
        path: source,
        detail: err.to_string(),
    })
}

impl Navigation {
    /// Why the sign-in to `endpoint` ends here without a response, for a navigation that ends
    /// it so; `idp_origins` are the policy's [`SignInPolicy::origins`].
    pub fn abandoned(&self, endpoint: &str, idp_origins: &[String]) -> Option<String> {
        match self {
            Self::NotTheIdp { origin } => Some(format!(
                "A page at {origin} tried to hand Rolecall a sign-in for \"{endpoint}\", but the \
                 endpoint's IdP is at {}, so nothing was taken. Sign in again; if your IdP \
                 really ends its sign-in on {origin}, tell your IT department.",
                idp_origins.join(", ")
            )),
            Self::Empty | Self::TowardAws => Some(format!(
                "The sign-in page of \"{endpoint}\" sent its answer in a way Rolecall could not \
                 read, so it was stopped before it reached AWS. Sign in again; if this keeps \
                 happening, report it."
            )),
            Self::Captured { .. } | Self::Forged | Self::Refused | Self::Allowed => None,
        }
    }
}

/// The window shows at the latest this long after it opened without a response.
pub const SHOW_AFTER: Duration = Duration::from_secs(8);
/// A page that stays this long after loading wants the person: the window shows.
pub const SETTLED_AFTER: Duration = Duration::from_secs(2);
/// The window closes and the sign-in fails this long after it opened.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(5 * 60);

/// When a sign-in window shows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// At once.
    Now,
    /// When a page waits for the person (the IdP may sign in silently first).
    WhenNeeded,
    /// Never: a background renewal's try of the IdP's SSO cookie. A page that waits for the
    /// person closes the window quietly; the expiry warning tells them in time.
    Never,
}

/// What the window should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Wait,
    Show,
    /// Close without a word: a silent try met a page that wants the person.
    CloseQuietly,
    /// Close, and the sign-in has failed: it took [`GIVE_UP_AFTER`].
    GiveUp,
}

/// One sign-in window's timing: hidden while the IdP may sign in by itself, shown when a page
/// waits for the person or [`SHOW_AFTER`] has passed, given up after [`GIVE_UP_AFTER`]. Driven
/// by the window's events and the time the caller reads; it reads no clock itself.
#[derive(Debug, Clone)]
pub struct SignInTiming {
    visibility: Visibility,
    opened: Instant,
    shown: bool,
    done: bool,
    /// When the page on screen finished loading, if no navigation followed.
    loaded: Option<Instant>,
}

impl SignInTiming {
    /// A window opened at `now`. `automation`: a test drives it, and WebDriver cannot drive a
    /// hidden window, so it shows at once unless it is a silent try.
    pub fn new(visibility: Visibility, automation: bool, now: Instant) -> Self {
        Self {
            visibility,
            opened: now,
            shown: visibility == Visibility::Now || (automation && visibility != Visibility::Never),
            done: false,
            loaded: None,
        }
    }

    /// Whether the window is shown from the start.
    pub fn shown(&self) -> bool {
        self.shown
    }

    /// The window went elsewhere: the page that loaded is not waiting any more.
    pub fn navigated(&mut self) {
        self.loaded = None;
    }

    pub fn page_loaded(&mut self, now: Instant) {
        self.loaded = Some(now);
    }

    /// The window is done (a response taken or refused): true the first time only, so one
    /// window ends one sign-in.
    pub fn finish(&mut self) -> bool {
        !std::mem::replace(&mut self.done, true)
    }

    /// When [`SignInTiming::step`] next has something to say; `None` once done.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        let give_up = self.opened + GIVE_UP_AFTER;
        if self.shown {
            return Some(give_up);
        }
        let settled = self.loaded.map(|loaded| loaded + SETTLED_AFTER);
        let show = self.opened + SHOW_AFTER;
        Some(settled.map_or(show, |settled| settled.min(show)))
    }

    /// What to do at `now`.
    pub fn step(&mut self, now: Instant) -> Step {
        if self.done {
            return Step::Wait;
        }
        if now >= self.opened + GIVE_UP_AFTER {
            self.done = true;
            return Step::GiveUp;
        }
        let settled = self
            .loaded
            .is_some_and(|loaded| now >= loaded + SETTLED_AFTER);
        if self.shown || !(settled || now >= self.opened + SHOW_AFTER) {
            return Step::Wait;
        }
        if self.visibility == Visibility::Never {
            self.done = true;
            Step::CloseQuietly
        } else {
            self.shown = true;
            Step::Show
        }
    }
}

/// Why a sign-in window could not be set up, or its data not cleared.
#[derive(Debug, thiserror::Error)]
pub enum WebviewError {
    #[error(
        "Rolecall could not get random bytes from the system ({detail}) for the sign-in \
         window. Try again; if it keeps failing, restart the computer."
    )]
    NoRandomness { detail: String },
    #[error(
        "Rolecall could not clear the sign-in window's data in {} ({detail}). Delete that \
         folder yourself: it holds the IdP's cookies.",
        path.display()
    )]
    Data { path: PathBuf, detail: String },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff";

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn policy(endpoint: &str) -> SignInPolicy {
        SignInPolicy::with_key(&url(endpoint), &[], KEY.to_owned())
    }

    fn adfs() -> SignInPolicy {
        policy(
            "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices",
        )
    }

    /// The sentinel as the script writes it: `encodeURIComponent` of every value.
    fn sentinel(key: Option<&str>, origin: &str, saml_response: &str, action: &str) -> Url {
        let mut url = url("https://rolecall-capture.invalid/");
        {
            let mut query = url.query_pairs_mut();
            if let Some(key) = key {
                query.append_pair("key", key);
            }
            query
                .append_pair("origin", origin)
                .append_pair("SAMLResponse", saml_response)
                .append_pair("action", action);
        }
        url
    }

    #[test]
    fn the_sentinel_with_the_key_from_the_idp_gives_the_response_and_an_aws_action() {
        // Base64 has `+`, `/` and `=`, which the script percent-encodes.
        let value = "PHNhbWxwOlJlc3BvbnNl+/==";
        let Navigation::Captured {
            saml_response,
            post_to,
        } = adfs().navigation(&sentinel(
            Some(KEY),
            "https://sts.corp.example",
            value,
            "https://signin.aws.amazon.com:443/saml",
        ))
        else {
            panic!("the sentinel is a capture");
        };
        assert_eq!(saml_response.expose(), value);
        assert_eq!(
            post_to.map(String::from).as_deref(),
            Some("https://signin.aws.amazon.com/saml"),
            "the AWS action is kept for the aliases"
        );
    }

    #[test]
    fn the_sentinel_as_the_script_writes_it_with_encode_uri_component() {
        let written = url(&format!(
            "https://rolecall-capture.invalid/?key={KEY}&origin=https%3A%2F%2Fsts.corp.example&SAMLResponse=a%2Bb%2Fc%3D&action=https%3A%2F%2Fus-east-2.signin.aws.amazon.com%2Fsaml"
        ));
        let Navigation::Captured {
            saml_response,
            post_to,
        } = adfs().navigation(&written)
        else {
            panic!("the sentinel is a capture");
        };
        assert_eq!(saml_response.expose(), "a+b/c=");
        assert!(post_to.is_some(), "a regional sign-in host is AWS's");
    }

    /// Any frame can navigate to any URL: a sentinel without the window's key is made up.
    #[test]
    fn a_sentinel_without_the_windows_key_is_forged() {
        for key in [
            None,
            Some(""),
            Some("0011"),
            Some("ffeeddccbbaa99887766554433221100"),
        ] {
            let forged = sentinel(
                key,
                "https://sts.corp.example",
                "x",
                "https://signin.aws.amazon.com/saml",
            );
            assert!(
                matches!(adfs().navigation(&forged), Navigation::Forged),
                "key {key:?} is not the window's"
            );
        }
        // The old sentinel, without key or origin.
        assert!(matches!(
            adfs().navigation(&url(
                "https://rolecall-capture.invalid/?SAMLResponse=x&action=y"
            )),
            Navigation::Forged
        ));
        // A page cannot pass a forged response off as the script's refusal either.
        assert!(matches!(
            adfs().navigation(&url(
                "https://rolecall-capture.invalid/?foreign=https%3A%2F%2Fevil.example&SAMLResponse=x"
            )),
            Navigation::Forged
        ));
    }

    #[test]
    fn a_keyed_sentinel_from_another_origin_takes_nothing() {
        for origin in [
            "https://evil.example",
            "https://sts.corp.example:8443",
            "http://sts.corp.example",
            "null",
            "",
        ] {
            assert!(
                matches!(
                    adfs().navigation(&sentinel(Some(KEY), origin, "x", "")),
                    Navigation::NotTheIdp { .. }
                ),
                "{origin:?} is not the IdP's"
            );
        }
    }

    #[test]
    fn the_scripts_word_that_the_page_is_not_the_idps_names_the_origin() {
        let Navigation::NotTheIdp { origin } = adfs().navigation(&url(
            "https://rolecall-capture.invalid/?foreign=https%3A%2F%2Flogin.evil.example",
        )) else {
            panic!("the script's refusal");
        };
        assert_eq!(origin, "https://login.evil.example");
        let Navigation::NotTheIdp { origin } = adfs().navigation(&url(
            "https://rolecall-capture.invalid/?foreign=%1B%5B31mred",
        )) else {
            panic!("the script's refusal");
        };
        assert_eq!(
            origin, "a page that is not a web site",
            "never the raw text"
        );
    }

    #[test]
    fn hosts_the_person_trusts_are_the_idps_origins_too() {
        let policy = SignInPolicy::with_key(
            &url("https://myapps.corp.example/signin/aws"),
            &["Login.Corp.Example".to_owned(), "evil.example/x".to_owned()],
            KEY.to_owned(),
        );
        assert_eq!(
            policy.origins(),
            ["https://myapps.corp.example", "https://login.corp.example"]
        );
        assert!(matches!(
            policy.navigation(&sentinel(Some(KEY), "https://login.corp.example", "x", "")),
            Navigation::Captured { .. }
        ));
    }

    /// A page names the action: the assertion must only ever go to an AWS sign-in page.
    #[test]
    fn an_action_that_is_not_aws_is_dropped() {
        for action in [
            "https://evil.example/saml",
            "https://signin.aws.amazon.com.evil.example/saml",
            "http://127.0.0.1:8080/saml",
            "",
        ] {
            let Navigation::Captured { post_to, .. } = adfs().navigation(&sentinel(
                Some(KEY),
                "https://sts.corp.example",
                "x",
                action,
            )) else {
                panic!("the sentinel is a capture");
            };
            assert!(
                post_to.is_none(),
                "{action:?} is not where the response goes"
            );
        }
    }

    #[test]
    fn the_simulators_saml_page_counts_as_aws_for_a_loopback_endpoint() {
        let sim = policy("http://127.0.0.1:8080/adfs/ls/IdpInitiatedSignOn.aspx");
        let Navigation::Captured { post_to, .. } = sim.navigation(&sentinel(
            Some(KEY),
            "http://127.0.0.1:8080",
            "x",
            "http://127.0.0.1:8080/saml",
        )) else {
            panic!("the sentinel is a capture");
        };
        assert!(post_to.is_some());
        assert!(matches!(
            sim.navigation(&url("http://127.0.0.1:8080/saml")),
            Navigation::TowardAws
        ));
        assert!(matches!(
            adfs().navigation(&url("http://127.0.0.1:8080/saml")),
            Navigation::Refused
        ));
    }

    #[test]
    fn a_sentinel_without_a_response_is_empty() {
        assert!(matches!(
            adfs().navigation(&sentinel(Some(KEY), "https://sts.corp.example", "", "")),
            Navigation::Empty
        ));
    }

    #[test]
    fn navigations_to_aws_saml_pages_of_every_partition_are_stopped() {
        for target in [
            "https://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com:443/saml",
            "https://signin.aws.amazon.com/saml/",
            "https://signin.aws.amazon.com/saml?x",
            "https://eu-west-1.signin.aws.amazon.com/saml",
            "https://signin.amazonaws-us-gov.com/saml",
            "https://us-gov-west-1.signin.amazonaws-us-gov.com/saml",
            "https://signin.amazonaws.cn/saml",
            "https://cn-north-1.signin.amazonaws.cn/saml",
        ] {
            assert!(
                matches!(adfs().navigation(&url(target)), Navigation::TowardAws),
                "{target} is AWS's /saml"
            );
        }
    }

    #[test]
    fn the_idps_own_pages_and_https_are_allowed() {
        for target in [
            "https://sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices",
            "https://login.microsoftonline.com/common/saml2",
            "https://signin.aws.amazon.com/console",
            "https://rolecall-capture.invalid.evil.example/?SAMLResponse=x",
            "https://localhost:8443/",
            "about:blank",
            "about:srcdoc",
        ] {
            assert!(
                matches!(adfs().navigation(&url(target)), Navigation::Allowed),
                "{target} is the IdP's business"
            );
        }
    }

    #[test]
    fn plain_http_is_refused_unless_the_endpoint_and_the_page_are_on_loopback() {
        let sim = policy("http://127.0.0.1:8080/adfs/ls/");
        for target in [
            "http://127.0.0.1:9999/",
            "http://127.0.0.2:8080/x",
            "http://[::1]:1/",
            "http://localhost:1/",
        ] {
            assert!(
                matches!(sim.navigation(&url(target)), Navigation::Allowed),
                "{target} is loopback, like the endpoint"
            );
            assert!(
                matches!(adfs().navigation(&url(target)), Navigation::Refused),
                "{target} is http for an https endpoint"
            );
        }
        for target in [
            "http://sts.corp.example/adfs/ls/",
            "http://rolecall-capture.invalid/?SAMLResponse=x",
            "http://10.0.0.1/",
        ] {
            assert!(
                matches!(adfs().navigation(&url(target)), Navigation::Refused),
                "{target}"
            );
            assert!(
                matches!(sim.navigation(&url(target)), Navigation::Refused),
                "{target}"
            );
        }
    }

    #[test]
    fn the_apps_own_origin_and_other_schemes_are_refused() {
        let sim = policy("http://127.0.0.1:8080/adfs/ls/");
        for target in [
            "tauri://localhost/index.html",
            "tauri://localhost",
            "http://tauri.localhost/index.html",
            "https://tauri.localhost/index.html",
            "https://tauri.localhost./index.html",
            "ipc://localhost/settings_view",
            "http://ipc.localhost/settings_view",
            "asset://localhost/etc/passwd",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "javascript:alert(1)",
            "blob:https://sts.corp.example/0b3d6a0e-8d5c-4a0e-a1b5-7a8c7b7b7b7b",
            "about:config",
            "ftp://sts.corp.example/",
            "ws://127.0.0.1:8080/",
            "ms-settings:privacy",
            "x-rolecall://open",
        ] {
            assert!(
                matches!(adfs().navigation(&url(target)), Navigation::Refused),
                "{target} is never loaded"
            );
            assert!(
                matches!(sim.navigation(&url(target)), Navigation::Refused),
                "{target} is never loaded, not even in the demo"
            );
        }
    }

    #[test]
    fn the_script_holds_the_key_the_origins_and_the_sentinel_host() {
        let script = adfs().script();
        assert!(script.contains(&format!("var key = \"{KEY}\";")));
        assert!(script.contains(r#"var origins = ["https://sts.corp.example"];"#));
        assert!(script.contains("'https://rolecall-capture.invalid/?key=' + key"));
        assert!(script.contains("'https://rolecall-capture.invalid/?foreign='"));
        for placeholder in ["__KEY__", "__ORIGINS__", "__HOST__"] {
            assert!(!script.contains(placeholder), "{placeholder} is filled in");
        }
    }

    #[test]
    fn each_endpoint_has_its_own_safe_data_folder() {
        let base = Path::new("/config");
        assert_eq!(
            data_directory(base, "corp"),
            base.join("webview").join("corp")
        );
        assert_eq!(
            data_directory(base, "../x y"),
            base.join("webview").join("%2E.%2Fx%20y")
        );
        assert_ne!(data_directory(base, "a/b"), data_directory(base, "a_b"));
    }

    fn folder_with_cookies(config: &Path, endpoint: &str) -> PathBuf {
        let dir = data_directory(config, endpoint);
        std::fs::create_dir_all(dir.join("WebKitCache")).unwrap();
        std::fs::write(
            dir.join("cookies"),
            "sts.corp.example\tFALSE\t/\tTRUE\t0\tMSISAuth\tx\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn deleting_an_endpoints_data_removes_its_cookies_and_cache_and_nothing_else() {
        let config = tempfile::tempdir().unwrap();
        let corp = folder_with_cookies(config.path(), "corp");
        let lab = folder_with_cookies(config.path(), "lab");
        delete_data(config.path(), "corp").unwrap();
        assert!(!corp.exists());
        assert!(
            lab.join("cookies").is_file(),
            "another endpoint keeps its session"
        );
        delete_data(config.path(), "corp").unwrap();
        delete_data(config.path(), "never-signed-in").unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_in_place_of_the_folder_is_removed_not_followed() {
        let config = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("keep"), "x").unwrap();
        let link = data_directory(config.path(), "corp");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
        delete_data(config.path(), "corp").unwrap();
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert!(elsewhere.path().join("keep").is_file());
    }

    #[test]
    fn a_renamed_endpoint_takes_its_data_along() {
        let config = tempfile::tempdir().unwrap();
        folder_with_cookies(config.path(), "corp");
        // A removed endpoint's leftovers under the new name give way.
        let stale = folder_with_cookies(config.path(), "work");
        std::fs::write(stale.join("stale"), "").unwrap();
        move_data(config.path(), "corp", "work").unwrap();
        assert!(!data_directory(config.path(), "corp").exists());
        let moved = data_directory(config.path(), "work");
        assert!(moved.join("cookies").is_file());
        assert!(!moved.join("stale").exists());
        move_data(config.path(), "work", "work").unwrap();
        assert!(
            moved.join("cookies").is_file(),
            "a rename to the same name keeps it"
        );
        move_data(config.path(), "never-signed-in", "other").unwrap();
    }

    #[test]
    fn every_window_has_its_own_key_and_debug_never_shows_it() {
        let endpoint = url("https://sts.corp.example/adfs/ls/");
        let one = SignInPolicy::new(&endpoint, &[]).unwrap();
        let two = SignInPolicy::new(&endpoint, &[]).unwrap();
        assert_ne!(one.key.expose(), two.key.expose());
        assert_eq!(one.key.expose().len(), 32);
        assert!(!format!("{one:?}").contains(one.key.expose().as_str()));
    }

    #[test]
    fn a_navigation_that_ends_the_sign_in_says_why() {
        let origins = ["https://sts.corp.example".to_owned()];
        let foreign = Navigation::NotTheIdp {
            origin: "https://evil.example".to_owned(),
        };
        let reason = foreign.abandoned("corp", &origins).unwrap();
        assert!(
            reason.contains("https://evil.example") && reason.contains("https://sts.corp.example"),
            "{reason}"
        );
        assert!(Navigation::Empty.abandoned("corp", &origins).is_some());
        assert!(Navigation::TowardAws.abandoned("corp", &origins).is_some());
        for goes_on in [Navigation::Allowed, Navigation::Refused, Navigation::Forged] {
            assert_eq!(goes_on.abandoned("corp", &origins), None);
        }
    }

    #[test]
    fn the_policy_of_an_endpoint_comes_from_its_settings() {
        use crate::settings::{Endpoint, Settings};
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths {
            config_dir: dir.path().to_path_buf(),
            aws_credentials_file: dir.path().join("credentials"),
            aws_config_file: dir.path().join("config"),
        };
        let mut endpoint = Endpoint::new("corp", "https://sts.corp.example/adfs/ls/").unwrap();
        endpoint.trusted_hosts = vec!["login.corp.example".to_owned()];
        let mut settings = Settings::default();
        settings.add_endpoint(endpoint).unwrap();
        settings.save(&paths).unwrap();

        let page = url("https://elsewhere.example/start");
        let policy = SignInPolicy::for_endpoint(&paths, "corp", &page).unwrap();
        assert_eq!(
            policy.origins(),
            ["https://sts.corp.example", "https://login.corp.example"],
            "the endpoint's origin and the hosts trusted for it, whatever page the window opens"
        );
        let unknown = SignInPolicy::for_endpoint(&paths, "gone", &page).unwrap();
        assert_eq!(unknown.origins(), ["https://elsewhere.example"]);
    }

    mod timing {
        use super::super::*;
        use crate::clock;

        const SECOND: Duration = Duration::from_secs(1);

        #[test]
        fn a_hidden_window_shows_when_a_page_settles_and_gives_up_after_five_minutes() {
            let opened = clock::monotonic();
            let mut timing = SignInTiming::new(Visibility::WhenNeeded, false, opened);
            assert!(!timing.shown());
            assert_eq!(timing.next_wake(), Some(opened + SHOW_AFTER));
            timing.page_loaded(opened + SECOND);
            assert_eq!(timing.next_wake(), Some(opened + SECOND + SETTLED_AFTER));
            assert_eq!(
                timing.step(opened + 2 * SECOND),
                Step::Wait,
                "not settled yet"
            );
            assert_eq!(timing.step(opened + 3 * SECOND), Step::Show);
            assert!(timing.shown());
            assert_eq!(timing.next_wake(), Some(opened + GIVE_UP_AFTER));
            assert_eq!(timing.step(opened + SHOW_AFTER), Step::Wait, "shown once");
            assert_eq!(timing.step(opened + GIVE_UP_AFTER), Step::GiveUp);
            assert_eq!(timing.next_wake(), None);
            assert!(
                !timing.finish(),
                "a window given up takes no response after"
            );
        }

        #[test]
        fn a_page_that_moves_on_before_it_settles_does_not_show_the_window() {
            let opened = clock::monotonic();
            let mut timing = SignInTiming::new(Visibility::WhenNeeded, false, opened);
            timing.page_loaded(opened + SECOND);
            timing.navigated();
            assert_eq!(timing.step(opened + 4 * SECOND), Step::Wait);
            assert_eq!(
                timing.step(opened + SHOW_AFTER),
                Step::Show,
                "at the latest"
            );
        }

        #[test]
        fn a_silent_try_closes_quietly_where_a_person_would_be_asked() {
            let opened = clock::monotonic();
            let mut timing = SignInTiming::new(Visibility::Never, true, opened);
            assert!(!timing.shown(), "never shown, even under automation");
            timing.page_loaded(opened);
            assert_eq!(timing.step(opened + SETTLED_AFTER), Step::CloseQuietly);
            assert_eq!(timing.next_wake(), None);

            let mut timing = SignInTiming::new(Visibility::Never, false, opened);
            assert_eq!(timing.step(opened + SHOW_AFTER), Step::CloseQuietly);
        }

        #[test]
        fn a_response_ends_the_window_once() {
            let opened = clock::monotonic();
            let mut timing = SignInTiming::new(Visibility::Now, false, opened);
            assert!(timing.shown());
            assert!(timing.finish());
            assert!(!timing.finish(), "a second response is not taken");
            assert_eq!(
                timing.step(opened + GIVE_UP_AFTER),
                Step::Wait,
                "no give-up after"
            );
        }

        #[test]
        fn under_automation_a_window_shows_at_once() {
            let timing = SignInTiming::new(Visibility::WhenNeeded, true, clock::monotonic());
            assert!(timing.shown());
        }
    }
}
