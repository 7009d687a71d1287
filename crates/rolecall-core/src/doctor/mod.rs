//! `rolecall doctor`: the checks a help desk asks for, in a report that can be pasted into a
//! ticket.
//!
//! Each [`Check`] has a status (ok, warn, fail), a one-line finding, what to do, and details.
//! They run in a fixed order — the settings, the clock against each server's `Date`, each
//! server's name, proxy and certificate chain, the Kerberos ticket and the `HTTP/<host>`
//! service tickets, the keyring, the AWS files, and the last sign-in's assertion (its summary,
//! kept by [`crate::last_sign_in`]) — and each kind has a stable exit code ([`CheckKind::code`]):
//! the report's is that of the first failed check, or 0.
//!
//! The doctor never signs in and never sends a password, a cookie or a token: its requests are
//! plain `GET`s. The report holds no secret either: no password (only whether one is stored),
//! no token, no cookie, no assertion; usernames, role ARNs and host names are in it. The time,
//! the paths and the environment (which names the STS endpoint and the system proxy), the
//! keyring and the Kerberos library come in through [`Request`], so tests inject their own.

mod certificate;
mod files;
mod kerberos;
mod keyring;
mod network;
pub mod probe;
mod sign_in;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use self::certificate::CertificateSummary;
pub use self::kerberos::{KerberosTickets, SystemKerberos};
use crate::clock::Clock;
use crate::last_sign_in::LastSignIn;
use crate::paths::{AppPaths, Environment};
use crate::secrets::SecretStore;
use crate::settings::{Endpoint, Settings};

/// What the doctor looks at.
#[derive(Debug, Clone)]
pub struct Request {
    pub paths: AppPaths,
    pub env: Environment,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<dyn SecretStore>,
    pub kerberos: Arc<dyn KerberosTickets>,
    /// Only this endpoint of the settings, when given.
    pub endpoint: Option<String>,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Works, but something will bite (or could not be checked).
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// The kinds of check, in the order they run, each with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Settings,
    Clock,
    Network,
    Kerberos,
    Keyring,
    AwsFiles,
    LastSignIn,
}

impl CheckKind {
    pub const ALL: [CheckKind; 7] = [
        CheckKind::Settings,
        CheckKind::Clock,
        CheckKind::Network,
        CheckKind::Kerberos,
        CheckKind::Keyring,
        CheckKind::AwsFiles,
        CheckKind::LastSignIn,
    ];

    /// The exit code of `rolecall doctor` when this is the first check that failed. Stable:
    /// scripts and help desks branch on it.
    pub fn code(self) -> u8 {
        match self {
            CheckKind::Settings => 10,
            CheckKind::Clock => 11,
            CheckKind::Network => 12,
            CheckKind::Kerberos => 13,
            CheckKind::Keyring => 14,
            CheckKind::AwsFiles => 15,
            CheckKind::LastSignIn => 16,
        }
    }

    /// The name in the report and in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Settings => "settings",
            CheckKind::Clock => "clock",
            CheckKind::Network => "network",
            CheckKind::Kerberos => "kerberos",
            CheckKind::Keyring => "keyring",
            CheckKind::AwsFiles => "aws_files",
            CheckKind::LastSignIn => "last_sign_in",
        }
    }

    fn about(self) -> &'static str {
        match self {
            CheckKind::Settings => "the settings file cannot be read, or names no such endpoint",
            CheckKind::Clock => "this computer's clock is 5 minutes or more off a server's",
            CheckKind::Network => "a server cannot be reached, or its certificate is not trusted",
            CheckKind::Kerberos => {
                "no Kerberos ticket, or no service ticket for HTTP/<host>, where integrated \
                 sign-in needs one"
            }
            CheckKind::Keyring => "the keyring is locked or not available",
            CheckKind::AwsFiles => {
                "the AWS files cannot be read by the AWS tools, or a profile of Rolecall's was \
                 taken over"
            }
            CheckKind::LastSignIn => "the last sign-in's summary cannot be read",
        }
    }
}

/// The exit codes, for `rolecall doctor --help` and the README.
pub fn exit_codes() -> String {
    let mut text =
        "Exit codes: 0 no check failed (warnings allowed), 1 the doctor itself could not \
                    run, 2 unusable input"
            .to_owned();
    for kind in CheckKind::ALL {
        text.push_str(&format!(", {} {}", kind.code(), kind.about()));
    }
    text.push_str(". The code is that of the first failed check, in this order.");
    text
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub check: CheckKind,
    pub code: u8,
    /// The endpoint, server or file it is about, when not the whole computer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub status: Status,
    pub finding: String,
    /// What to do, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The network check: the chain the server showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<probe::TlsSeen>,
    /// The clock check: the server's clock minus this computer's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew_seconds: Option<i64>,
    /// The last sign-in check: the summary it read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sign_in: Option<LastSignIn>,
}

impl Check {
    fn new(check: CheckKind, status: Status, finding: impl Into<String>) -> Self {
        Self {
            check,
            code: check.code(),
            subject: None,
            status,
            finding: finding.into(),
            action: None,
            details: Vec::new(),
            tls: None,
            skew_seconds: None,
            last_sign_in: None,
        }
    }

    fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub version: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub checks: Vec<Check>,
    /// The exit code: the first failed check's, or 0.
    pub exit_code: u8,
}

impl Report {
    fn new(at: OffsetDateTime, checks: Vec<Check>) -> Self {
        let exit_code = checks
            .iter()
            .find(|check| check.status == Status::Fail)
            .map_or(0, |check| check.code);
        Self {
            version: env!("CARGO_PKG_VERSION"),
            at,
            checks,
            exit_code,
        }
    }

    /// The report as text for a terminal or a ticket; what came from elsewhere (servers,
    /// files) is made safe to show.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Rolecall {} doctor, {} (no passwords, tokens, cookies or assertions in here)\n\n",
            self.version,
            rfc3339(self.at)
        );
        for check in &self.checks {
            let subject = check
                .subject
                .as_ref()
                .map(|subject| format!(" [{subject}]"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{:<4}  {}{subject}: {}\n",
                check.status.word(),
                check.check.name(),
                check.finding
            ));
            for detail in &check.details {
                out.push_str(&format!("      {detail}\n"));
            }
            if let Some(action) = &check.action {
                out.push_str(&format!("      → {action}\n"));
            }
        }
        let (fails, warns) = self
            .checks
            .iter()
            .fold((0, 0), |(f, w), check| match check.status {
                Status::Fail => (f + 1, w),
                Status::Warn => (f, w + 1),
                Status::Ok => (f, w),
            });
        out.push_str(&format!(
            "\n{} checks: {fails} failed, {warns} warning{}. Exit code {}.\n",
            self.checks.len(),
            if warns == 1 { "" } else { "s" },
            self.exit_code
        ));
        crate::untrusted::for_terminal(&out).into_owned()
    }
}

/// Runs every check.
pub async fn run(request: &Request) -> Report {
    let started = request.clock.now();
    let mut checks = Vec::new();
    let (check, read) = settings_check(request);
    checks.push(check);
    let (settings, endpoints) = read.unwrap_or_default();
    let summaries = crate::last_sign_in::read(&request.paths.config_dir);
    let known = summaries.as_ref().ok();
    checks.extend(network::checks(request, &endpoints, known).await);
    checks.extend(kerberos::checks(&request.kerberos, &endpoints).await);
    checks.extend(keyring::checks(&request.secrets, &endpoints).await);
    checks.extend(files::checks(&request.paths));
    checks.extend(sign_in::checks(&endpoints, summaries, &settings, started));
    Report::new(started, checks)
}

/// The settings check, and the settings and endpoints to check when they could be read.
fn settings_check(request: &Request) -> (Check, Option<(Settings, Vec<Endpoint>)>) {
    let file = request.paths.settings_file();
    let settings = match Settings::load(&request.paths) {
        Ok(settings) => settings,
        Err(err) => {
            let check = Check::new(CheckKind::Settings, Status::Fail, err.to_string())
                .about(file.display().to_string());
            return (check, None);
        }
    };
    let endpoints: Vec<Endpoint> = match &request.endpoint {
        Some(name) => match settings.endpoint(name) {
            Some(endpoint) => vec![endpoint.clone()],
            None => {
                let check = Check::new(
                    CheckKind::Settings,
                    Status::Fail,
                    format!("there is no endpoint \"{name}\" in the settings"),
                )
                .about(file.display().to_string())
                .action("`rolecall endpoint list` shows the endpoints there are.");
                return (check, None);
            }
        },
        None => settings.endpoints.clone(),
    };
    let mut check = if endpoints.is_empty() {
        Check::new(
            CheckKind::Settings,
            Status::Warn,
            "no sign-in endpoint is set up yet, so no server was checked",
        )
        .action("Add one: `rolecall endpoint add NAME --url https://sts.corp.example`.")
    } else {
        let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
        Check::new(
            CheckKind::Settings,
            Status::Ok,
            format!(
                "{} endpoint{} checked: {}",
                endpoints.len(),
                if endpoints.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
        )
    };
    check = check.about(file.display().to_string());
    for endpoint in &endpoints {
        let mut line = format!(
            "{}: {} sign-in at {}",
            endpoint.name,
            endpoint.method,
            crate::http::redact(&endpoint.url)
        );
        if let Some(user) = &endpoint.username {
            line.push_str(&format!(" as {user}"));
        }
        if let Some(ca) = &endpoint.ca_file {
            line.push_str(&format!(", CA file {}", ca.display()));
        }
        line.push_str(&format!(", proxy {}", endpoint.proxy.as_setting()));
        check = check.detail(line);
    }
    (check, Some((settings, endpoints)))
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// "3 min 20 s", "2 h 5 min", "40 s".
fn span(seconds: i64) -> String {
    let seconds = seconds.unsigned_abs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => match seconds % 60 {
            0 => format!("{} min", seconds / 60),
            s => format!("{} min {s} s", seconds / 60),
        },
        _ => match (seconds % 3600) / 60 {
            0 => format!("{} h", seconds / 3600),
            m => format!("{} h {m} min", seconds / 3600),
        },
    }
}
