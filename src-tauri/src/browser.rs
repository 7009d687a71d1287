//! Opening a URL in the person's default browser.

use std::process::{Command, Stdio};

use rolecall_core::secrets::Sensitive;
use url::Url;

/// Hands the URL to the desktop's default browser, as one argument of the platform's opener
/// and never through a shell (the URL's `&`s would split a `cmd /c start` line).
pub fn open(url: &Sensitive<Url>) -> Result<(), String> {
    let (program, leading): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("rundll32", &["url.dll,FileProtocolHandler"])
    } else {
        ("xdg-open", &[])
    };
    let status = Command::new(program)
        .args(leading)
        .arg(url.expose().as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|err| format!("{program}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} exited with {status}"))
    }
}
