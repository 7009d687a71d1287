//! Opening a URL that carries a secret (the console sign-in URL) in the person's default browser.
//!
//! The URL never goes on the opener's command line, which other local users can read: the core
//! writes it into a private page (`browser_page`) and the opener gets that page's path. The
//! opener is looked up by name and started without a shell and without Rolecall's secret
//! environment variables.

use std::process::{Command, Stdio};

use rolecall_core::browser_page;
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::secrets::Sensitive;
use url::Url;

/// Hands the URL to the desktop's default browser through a private page. The page is removed
/// after [`browser_page::KEEP`] if this process still runs, else by the next use.
pub fn open(url: &Sensitive<Url>) -> Result<(), String> {
    let env = Environment::from_process();
    let paths = AppPaths::resolve(&env).map_err(|err| err.to_string())?;
    let page = browser_page::write(&browser_page::folder(&paths, &env), url)
        .map_err(|err| err.to_string())?;
    let (program, leading): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("rundll32", &["url.dll,FileProtocolHandler"])
    } else {
        ("xdg-open", &[])
    };
    let mut command = Command::new(program);
    browser_page::withhold_secrets(&mut command)
        .args(leading)
        .arg(&page)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let status = command.status();
    let remove = page.clone();
    std::thread::spawn(move || {
        std::thread::sleep(browser_page::KEEP);
        let _ = std::fs::remove_file(remove);
    });
    let status = status.map_err(|err| format!("{program}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        let _ = std::fs::remove_file(&page);
        Err(format!("{program} exited with {status}"))
    }
}
