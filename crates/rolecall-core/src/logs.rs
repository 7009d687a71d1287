//! What Rolecall logs and how, one definition for `rolecall` and `rolecall-tray`.
//!
//! `ROLECALL_LOG` picks the levels (`EnvFilter` syntax: `debug`, `rolecall_core=trace,warn`, …),
//! with two limits it cannot lift:
//! - other crates never log below `debug`, and only those whose `debug` lines were read and
//!   hold no secret go that far ([`DEBUG_CRATES`]); every other stops at `info`. At `trace` the
//!   AWS SDK prints whole requests and responses (the SAML assertion, the secret key, the session
//!   token), and at `debug` the cookie store prints every `Set-Cookie` (the SSO cookies).
//!   Rolecall's own crates log hosts, paths and sentences, never secrets, at every level.
//! - every line is masked before it is written: values under names that hold secrets
//!   (`Password=`, `<SessionToken>`, `MSISAuth…=`, …) and long runs that look like tokens become
//!   `<redacted>`, and control characters (an IdP's text can carry ESC) are dropped. This is the
//!   second line of defence; the first is that nothing prints a secret.
//!
//! Lines are plain text: terminal colours would need the very escape sequences that are dropped.

use std::borrow::Cow;
use std::io::{self, Write};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

mod file;

pub use self::file::{LogFile, MAX_BYTES, folder};

/// The environment variable that sets the log levels.
pub const VARIABLE: &str = "ROLECALL_LOG";

/// The lowest level other crates may log at, whatever `ROLECALL_LOG` says.
pub const OTHER_CRATES_CAP: LevelFilter = LevelFilter::INFO;

/// Crates (target prefixes) whose `debug` lines say what happens on the network (hosts, TLS,
/// retries, D-Bus errors) and print no body, header value or cookie: they may log at `debug`.
/// Their `trace` lines are another matter (the SDK's carry whole requests and responses).
pub const DEBUG_CRATES: &[&str] = &[
    "aws_smithy",
    "aws_sdk_sts",
    "aws_runtime",
    "reqwest",
    "hyper",
    "h2",
    "rustls",
    "zbus",
    "tauri",
    "tao",
    "wry",
];

/// What a masked value is replaced with.
pub const MASK: &str = "<redacted>";

/// Installs the log output on stderr for the process: `spec` is `ROLECALL_LOG`'s value, `default`
/// the directive used without it (or when it does not parse).
pub fn init(spec: Option<&str>, default: &str) {
    let _ = tracing_subscriber::registry()
        .with(layer(spec, default, || Masked::new(io::stderr())))
        .try_init();
}

/// Keeps the log file written to; dropping it writes out what is left.
pub type FileGuard = tracing_appender::non_blocking::WorkerGuard;

/// [`init`], and the log file `name` in [`folder`] at `file_default` (or `ROLECALL_LOG`'s
/// levels), masked the same way: what the tray uses, so that a person can send its log. When
/// there is no folder or file, logs go to stderr only and a warning says why.
pub fn init_with_file(
    spec: Option<&str>,
    default: &str,
    file_default: &str,
    env: &crate::paths::Environment,
    name: &str,
) -> Option<FileGuard> {
    let opened = folder(env).map_err(|err| err.to_string()).and_then(|dir| {
        LogFile::open(&dir, name, MAX_BYTES).map_err(|err| format!("{}: {err}", dir.display()))
    });
    let file = match opened {
        Ok(file) => file,
        Err(reason) => {
            init(spec, default);
            tracing::warn!("Rolecall keeps no log file: {reason}");
            return None;
        }
    };
    let (writer, guard) = tracing_appender::non_blocking(file);
    let layers = vec![
        layer(spec, default, || Masked::new(io::stderr())).boxed(),
        layer(spec, file_default, move || Masked::new(writer.clone())).boxed(),
    ];
    let _ = tracing_subscriber::registry().with(layers).try_init();
    Some(guard)
}

/// Shows the log folder in the desktop's file manager ("Open log folder"), creating it when
/// nothing was logged yet.
pub fn open_folder(env: &crate::paths::Environment) -> Result<(), String> {
    let dir = folder(env).map_err(|err| err.to_string())?;
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let (program, leading) = crate::browser_page::desktop_opener();
    let status = std::process::Command::new(program)
        .args(leading)
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|err| {
            format!(
                "{program} could not start ({err}); the logs are in {}",
                dir.display()
            )
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} could not open the folder; the logs are in {}",
            dir.display()
        ))
    }
}

/// The formatting layer [`init`] installs, writing to what `make_writer` gives.
pub fn layer<W>(
    spec: Option<&str>,
    default: &str,
    make_writer: W,
) -> impl Layer<Registry> + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(make_writer)
        .with_filter(env_filter(spec, default).and(caps()))
}

fn env_filter(spec: Option<&str>, default: &str) -> EnvFilter {
    spec.and_then(|spec| EnvFilter::try_new(spec).ok())
        .or_else(|| EnvFilter::try_new(default).ok())
        .unwrap_or_else(|| EnvFilter::new("error"))
}

/// Rolecall's crates (`rolecall`, `rolecall_core`, `rolecall_tray`, `rolecall_sim`) at any
/// level, [`DEBUG_CRATES`] down to `debug`, everything else at most [`OTHER_CRATES_CAP`].
fn caps() -> Targets {
    DEBUG_CRATES
        .iter()
        .fold(
            Targets::new().with_default(OTHER_CRATES_CAP),
            |targets, name| targets.with_target(*name, LevelFilter::DEBUG),
        )
        .with_target("rolecall", LevelFilter::TRACE)
}

/// A writer that masks each write with [`redact`]. The formatter writes one whole line per event,
/// so a secret is never split across two writes.
#[derive(Debug)]
pub struct Masked<W>(W);

impl<W: Write> Masked<W> {
    pub fn new(inner: W) -> Self {
        Self(inner)
    }
}

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Names whose value is a secret, lowercase: form fields, query parameters, JSON keys, XML
/// elements, headers and AWS file keys. A name matches as a prefix (`MSISAuth1`,
/// `SessionTokenX`) and with any case.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passcode",
    "samlresponse",
    "samlassertion",
    "secretaccesskey",
    "secret_access_key",
    "sessiontoken",
    "session_token",
    "sessionkey",
    "signintoken",
    "msisauth",
];

/// Header names whose whole value, to the end of the line or quote, is a secret (`Negotiate …`,
/// `a=b; c=d`). They match as whole words only, so prose about cookies keeps its words.
const SECRET_HEADERS: &[&str] = &["authorization", "set-cookie", "cookie"];

/// Runs of token characters at least this long, with upper case, lower case and digits, are
/// masked: base64 and percent-encoded secrets (assertions, session tokens, SSO cookies, sign-in
/// tokens, secret keys: 40 characters) while words, paths, ARNs and request ids stay.
const TOKEN_RUN: usize = 32;

/// `line` with secrets masked and control characters other than newline and tab dropped.
pub fn redact(line: &str) -> Cow<'_, str> {
    let named = mask_named_values(line);
    let runs = mask_token_runs(&named);
    let clean = crate::untrusted::for_terminal(&runs);
    if clean == line {
        Cow::Borrowed(line)
    } else {
        Cow::Owned(clean.into_owned())
    }
}

fn mask_named_values(line: &str) -> Cow<'_, str> {
    let lower = line.to_ascii_lowercase();
    // (start, end) of each value to mask, in order.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < lower.len() {
        let rest = &lower[at..];
        let header = SECRET_HEADERS
            .iter()
            .find(|name| rest.starts_with(*name))
            .filter(|name| {
                !bytes
                    .get(at + name.len())
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            });
        let name = header.or_else(|| SECRET_NAMES.iter().find(|name| rest.starts_with(*name)));
        let Some(name) = name else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        // A name may go on (`MSISAuth1`, `SessionTokenExpiry`), then comes a separator.
        let mut end = at + name.len();
        if header.is_none() {
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
        }
        match value_start(line, end) {
            Some(start) => {
                let stop = if header.is_some() {
                    line[start..]
                        .find(['\n', '"', '\\'])
                        .map_or(line.len(), |at| start + at)
                } else {
                    value_end(line, start)
                };
                if stop > start {
                    spans.push((start, stop));
                }
                at = stop.max(end);
            }
            None => at = end,
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    for (start, end) in spans {
        out.push_str(&line[copied..start]);
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// Where the value after a name starts: past quotes, blanks, one `=`, `:` or `>`, and the
/// percent-encoded forms of those (`%22%3A%22`, `%3D`).
fn value_start(line: &str, from: usize) -> Option<usize> {
    let rest = &line[from..];
    let mut at = 0;
    let mut separated = false;
    loop {
        let tail = &rest[at..];
        let step = if tail.starts_with(['"', '\'', ' ', '\\']) {
            1
        } else if tail.starts_with("%22") || tail.starts_with("%27") {
            3
        } else if !separated && tail.starts_with(['=', ':', '>']) {
            separated = true;
            1
        } else if !separated && (tail.starts_with("%3D") || tail.starts_with("%3A")) {
            separated = true;
            3
        } else {
            break;
        };
        at += step;
    }
    separated.then_some(from + at)
}

/// Where a value ends: at a blank, a quote, `&`, `,`, `;`, `<`, `}` or a percent-encoded quote.
fn value_end(line: &str, from: usize) -> usize {
    let rest = &line[from..];
    let mut end = rest.len();
    for (at, c) in rest.char_indices() {
        if c.is_whitespace() || matches!(c, '"' | '\'' | '&' | ',' | ';' | '<' | '}' | '\\') {
            end = at;
            break;
        }
        if rest[at..].starts_with("%22") || rest[at..].starts_with("%26") {
            end = at;
            break;
        }
    }
    from + end
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '%' | '_' | '-')
}

fn mask_token_runs(line: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut run_start = None;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for index in 0..=chars.len() {
        let c = chars.get(index).map(|&(_, c)| c);
        match (c.is_some_and(is_token_char), run_start) {
            (true, None) => run_start = Some(index),
            (false, Some(start)) => {
                run_start = None;
                let from = chars[start].0;
                let to = chars.get(index).map_or(line.len(), |&(at, _)| at);
                let run = &line[from..to];
                if looks_like_token(run) {
                    out.push_str(&line[copied..from]);
                    out.push_str(MASK);
                    copied = to;
                }
            }
            _ => {}
        }
    }
    if copied == 0 {
        return Cow::Borrowed(line);
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

fn looks_like_token(run: &str) -> bool {
    run.len() >= TOKEN_RUN
        && run.bytes().any(|b| b.is_ascii_uppercase())
        && run.bytes().any(|b| b.is_ascii_lowercase())
        && run.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Runs `log` under the layer Rolecall installs, with `ROLECALL_LOG=spec`.
    fn logged(spec: &str, log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(layer(Some(spec), "error", move || {
                Masked::new(writer.clone())
            }));
        tracing::subscriber::with_default(subscriber, log);
        captured.text()
    }

    #[test]
    fn other_crates_stay_at_debug_whatever_rolecall_log_says() {
        for spec in [
            "trace",
            "rolecall_core=trace,aws_smithy_runtime=trace",
            "rolecall_core=trace,aws_smithy_runtime::client::orchestrator=trace",
            "trace,aws_smithy_runtime=trace,hyper=trace,reqwest=trace",
        ] {
            let text = logged(spec, || {
                tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "transmitting request SAMLAssertion=PHNhbWw");
                tracing::trace!(target: "hyper_util::client", "trace from hyper");
                tracing::trace!(target: "zbus::connection", "trace from zbus");
                tracing::debug!(target: "cookie_store::cookie_store", "inserting Set-Cookie from cookie_store");
                tracing::info!(target: "cookie_store::cookie_store", "info from cookie_store");
                tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "beginning attempt #1");
                tracing::trace!(target: "rolecall_core::idp", "a trace line of Rolecall's own");
            });
            assert!(
                !text.contains("transmitting") && !text.contains("trace from"),
                "{spec}: no other crate logs at trace: {text}"
            );
            assert!(
                !text.contains("Set-Cookie from"),
                "{spec}: crates not known to be clean stop at info: {text}"
            );
            if spec.starts_with("trace") {
                assert!(text.contains("info from cookie_store"), "{spec}: {text}");
            }
            assert!(
                text.contains("a trace line of Rolecall's own"),
                "{spec}: Rolecall's own trace lines stay: {text}"
            );
            assert!(
                text.contains("beginning attempt #1"),
                "{spec}: other crates' debug lines stay: {text}"
            );
        }
    }

    #[test]
    fn the_default_applies_without_a_variable_or_with_a_broken_one() {
        for spec in [None, Some("=nonsense=")] {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::registry()
                .with(layer(spec, "warn", move || Masked::new(writer.clone())));
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(target: "rolecall_core::idp", "an info line");
                tracing::warn!(target: "rolecall_core::idp", "a warning");
            });
            let text = captured.text();
            assert!(
                text.contains("a warning") && !text.contains("an info line"),
                "{spec:?}: {text}"
            );
        }
    }

    #[test]
    fn named_secrets_are_masked_in_every_spelling() {
        let lines = [
            (
                "UserName=alice&Password=hunter2&AuthMethod=Forms",
                "hunter2",
            ),
            ("Passcode=73190428&Context=x", "73190428"),
            (r#"{"password": "hunter2"}"#, "hunter2"),
            (
                "<SecretAccessKey>wJalr/K7MDENG</SecretAccessKey>",
                "wJalr/K7MDENG",
            ),
            ("<SessionToken>FQoGZXIvYXdz</SessionToken>", "FQoGZXIvYXdz"),
            (
                "Action=AssumeRoleWithSAML&SAMLAssertion=PHNhbWw%3D&RoleArn=x",
                "PHNhbWw",
            ),
            ("cookie: MSISAuth=AAEAAN; MSISAuth1=BBCC", "AAEAAN"),
            ("cookie: MSISAuth=AAEAAN; MSISAuth1=BBCC", "BBCC"),
            ("?Action=login&SigninToken=abc_DEF&Destination=x", "abc_DEF"),
            (
                "Session=%7B%22sessionKey%22%3A%22wJal%2Fr%22%7D",
                "wJal%2Fr",
            ),
            ("aws_secret_access_key = wJalrXUtnFEMI", "wJalrXUtnFEMI"),
            (
                "authorization: NTLM TlRMTVNTUAADAAAAGAAYAHAAAAAYABgA",
                "TlRMTVNTUAAD",
            ),
            ("Cookie: MSISAuth=x; MSISSignOut=yz", "MSISSignOut=yz"),
            (r#"SAMLResponse: "PHNhbWxwOlJl""#, "PHNhbWxwOlJl"),
        ];
        for (line, secret) in lines {
            let masked = redact(line);
            assert!(
                !masked.contains(secret),
                "{secret} must not survive in {line:?}: {masked}"
            );
            assert!(masked.contains(MASK), "{line:?}: {masked}");
        }
    }

    #[test]
    fn long_token_runs_are_masked_and_ordinary_text_stays() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let line = format!("received {key} from STS");
        assert_eq!(redact(&line), "received <redacted> from STS");
        let encoded =
            "PHNhbWxwOlJlc3BvbnNlIHhtbG5zOnNhbWxwPSJ1cm46b2FzaXM6bmFtZXM6dGM6U0FNTDoy%2BA%3D%3D";
        assert!(
            !redact(encoded).contains("PHNhbW"),
            "percent-encoded base64"
        );
        for ordinary in [
            "could not keep the single sign-on cookies: the keyring is locked",
            "signed in to endpoint \"corp\" at sts.corp.example/adfs/ls/IdpInitiatedSignOn.aspx",
            "arn:aws:iam::111122223333:role/Administrators-For-Production-Accounts",
            "request id c6104cbe-af31-11e0-8154-cbc7ccf896c7 finished",
            "aws_smithy_runtime::client::orchestrator: beginning attempt #1",
            "/home/alice/.config/rolecall/settings.toml",
            "2026-12-02T14:22:07.123456Z DEBUG rolecall_core::idp: a page",
        ] {
            assert_eq!(redact(ordinary), ordinary, "stays as it is");
        }
    }

    #[test]
    fn control_characters_from_an_idp_are_dropped() {
        assert_eq!(
            redact("AD FS says: \u{1b}[31mexpired\u{1b}[0m\r\n"),
            "AD FS says: [31mexpired[0m\n"
        );
    }

    #[test]
    fn the_masking_writer_masks_what_the_formatter_writes() {
        let text = logged("trace", || {
            tracing::info!(target: "rolecall_core::sts", "body <SessionToken>FQoGZXIvYXdzEJr//////////wEaDM3</SessionToken>");
        });
        assert!(!text.contains("FQoGZXIvYXdz"), "{text}");
        assert!(
            text.contains("<SessionToken><redacted></SessionToken>"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colours: {text:?}");
    }
}
