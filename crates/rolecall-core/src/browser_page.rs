//! Handing a URL that carries a secret (the console sign-in URL and its `SigninToken`) to the
//! person's browser without putting it on a command line, where every local user can read it
//! in `/proc/<pid>/cmdline` for as long as the opener and the browser run.
//!
//! The URL goes into a small HTML page that sends the browser on at once; the page is mode
//! 0600 in a 0700 folder of the person's own (the runtime folder when there is one, which is
//! memory-backed and emptied at log-out). The opener then gets the page's path only. A page is
//! kept for [`KEEP`], long enough for a browser that has to start first, and is removed by the
//! next use after that (the tray removes its own too).
//!
//! Child processes must not inherit the secrets Rolecall reads from its environment, so
//! [`withhold_secrets`] removes them from a command before it starts.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use url::Url;

use crate::browser_command::ConsoleBrowser;
use crate::paths::{AppPaths, Environment};
use crate::secrets::Sensitive;

/// How long a page stays: a browser that was not running may take this long to read it.
pub const KEEP: Duration = Duration::from_secs(60);

/// The environment variables that hold secrets Rolecall reads at start; no child inherits them.
pub const SECRET_VARIABLES: [&str; 2] = ["ROLECALL_PASSWORD", "ROLECALL_MFA_CODE"];

const PREFIX: &str = "open-";
const SUFFIX: &str = ".html";

#[derive(Debug, thiserror::Error)]
pub enum BrowserPageError {
    #[error(
        "could not prepare the page that opens the browser in {}: {source}. Check that this \
         folder belongs to you, or use --print and open the URL yourself.",
        folder.display()
    )]
    Folder {
        folder: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "could not write the page that opens the browser ({}): {source}. Use --print and open \
         the URL yourself.",
        path.display()
    )]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "could not start {program} to open the browser: {source}. Install it (xdg-utils on \
         Linux), or use --print and open the URL yourself."
    )]
    Opener {
        program: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "could not start the console browser {program:?}: {source}. Check the console_browser \
         setting (the program must be installed and on your PATH), or use --print and open \
         the URL yourself."
    )]
    Browser {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{program} could not open the browser ({status}). Use --print and open the URL yourself."
    )]
    OpenerFailed {
        program: &'static str,
        status: std::process::ExitStatus,
    },
}

/// The desktop's own opener of files and folders, with its leading arguments.
pub(crate) fn desktop_opener() -> (&'static str, &'static [&'static str]) {
    if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("rundll32", &["url.dll,FileProtocolHandler"])
    } else {
        ("xdg-open", &[])
    }
}

/// Hands the URL to the desktop's default browser through a private page, so it never goes on
/// the opener's command line (which other local users can read). The opener is started without
/// a shell and without Rolecall's secret variables. The page is removed after [`KEEP`] if this
/// process still runs, else by the next [`sweep`].
///
/// With a `browser` the person chose ([`crate::browser_command`]), that command opens the
/// page instead, its `{url}` being the page's `file://` URL: it is not waited for (a browser
/// that was not running keeps running), only started.
pub fn open(
    paths: &AppPaths,
    env: &Environment,
    url: &Sensitive<Url>,
    browser: Option<&ConsoleBrowser>,
) -> Result<(), BrowserPageError> {
    let page = write(&folder(paths, env), url)?;
    if let Some(browser) = browser {
        return open_in(browser, page);
    }
    let (program, leading) = desktop_opener();
    let mut command = Command::new(program);
    withhold_secrets(&mut command)
        .args(leading)
        .arg(&page)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let status = command.status();
    let remove = page.clone();
    std::thread::spawn(move || {
        std::thread::sleep(KEEP);
        let _ = fs::remove_file(remove);
    });
    let status = status.map_err(|source| BrowserPageError::Opener { program, source })?;
    if status.success() {
        Ok(())
    } else {
        let _ = fs::remove_file(&page);
        Err(BrowserPageError::OpenerFailed { program, status })
    }
}

/// Starts the person's browser command on `page`.
fn open_in(browser: &ConsoleBrowser, page: PathBuf) -> Result<(), BrowserPageError> {
    let page_url = Url::from_file_path(&page)
        .map(String::from)
        .unwrap_or_else(|()| page.display().to_string());
    let (program, args) = browser.argv(&page_url);
    let mut command = Command::new(&program);
    withhold_secrets(&mut command)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = command.spawn();
    let remove = page.clone();
    match child {
        Ok(mut child) => {
            std::thread::spawn(move || {
                std::thread::sleep(KEEP);
                let _ = fs::remove_file(remove);
                // Reaped if it ended meanwhile; a browser still running is left alone.
                let _ = child.try_wait();
            });
            Ok(())
        }
        Err(source) => {
            let _ = fs::remove_file(&page);
            Err(BrowserPageError::Browser { program, source })
        }
    }
}

/// The folder the pages go in: `$XDG_RUNTIME_DIR/rolecall/browser`, else Rolecall's own
/// folder's `run/browser`.
pub fn folder(paths: &AppPaths, env: &Environment) -> PathBuf {
    let base = match env.var("XDG_RUNTIME_DIR") {
        Some(runtime) => PathBuf::from(runtime).join("rolecall"),
        None => paths.config_dir.join("run"),
    };
    base.join("browser")
}

/// Removes `command`'s inherited secrets ([`SECRET_VARIABLES`]).
pub fn withhold_secrets(command: &mut Command) -> &mut Command {
    for name in SECRET_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Writes a page that sends the browser to `url` into `folder` (created 0700 if missing, made
/// 0700 if not), after removing the pages older than [`KEEP`]. Returns the page's path.
pub fn write(folder: &Path, url: &Sensitive<Url>) -> Result<PathBuf, BrowserPageError> {
    prepare(folder).map_err(|source| BrowserPageError::Folder {
        folder: folder.to_owned(),
        source,
    })?;
    sweep(folder, KEEP, crate::clock::SystemClock.now().into());
    let path = folder.join(format!("{PREFIX}{}{SUFFIX}", unique_name()));
    let written = create_private(&path).and_then(|mut file| {
        file.write_all(page(url.expose()).as_bytes())?;
        file.sync_all()
    });
    if let Err(source) = written {
        let _ = fs::remove_file(&path);
        return Err(BrowserPageError::Write { path, source });
    }
    Ok(path)
}

/// Removes the pages in `folder` last changed more than `older_than` before `now`; other files
/// stay.
pub fn sweep(folder: &Path, older_than: Duration, now: SystemTime) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > older_than);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The page: a refresh to `url` at once, no referrer, and a link for browsers that block the
/// refresh. The URL is escaped for an attribute value.
fn page(url: &Url) -> String {
    let href = attribute(url.as_str());
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={href}\">\
         <title>Opening the AWS console</title></head>\
         <body><p><a href=\"{href}\">Open the AWS console</a></p></body></html>\n"
    )
}

fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn unique_name() -> String {
    let mut random = [0u8; 12];
    // Without randomness the pid and time still make the name unique; `create_new` refuses
    // anything already there.
    let _ = getrandom::fill(&mut random);
    let nanos = crate::clock::SystemClock.now().unix_timestamp_nanos();
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{nanos}-{random}", std::process::id())
}

#[cfg(unix)]
fn prepare(folder: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)?;
    let meta = fs::symlink_metadata(folder)?;
    if !meta.is_dir() {
        return Err(io::Error::other("it is not a folder (a link or a file)"));
    }
    if meta.permissions().mode() & 0o777 != 0o700 {
        fs::set_permissions(folder, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn prepare(folder: &Path) -> io::Result<()> {
    fs::create_dir_all(folder)?;
    if !fs::symlink_metadata(folder)?.is_dir() {
        return Err(io::Error::other("it is not a folder (a link or a file)"));
    }
    Ok(())
}

fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signin_url() -> Sensitive<Url> {
        Sensitive::new(
            Url::parse(
                "https://signin.aws.amazon.com/federation?Action=login&Issuer=rolecall\
                 &Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=VERY\"SECRET<x>",
            )
            .unwrap(),
        )
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_page_is_private_and_sends_the_browser_on() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("run/rolecall/browser");
        let path = write(&folder, &signin_url()).unwrap();
        assert_eq!(path.parent(), Some(folder.as_path()));
        #[cfg(unix)]
        {
            assert_eq!(mode(&folder), 0o700, "the folder is the person's only");
            assert_eq!(mode(&path), 0o600, "the page is the person's only");
        }
        let html = fs::read_to_string(&path).unwrap();
        let href = attribute(signin_url().expose().as_str());
        assert!(
            html.contains(&format!("content=\"0;url={href}\"")),
            "refreshes to the URL, escaped: {html}"
        );
        assert!(html.contains("no-referrer"), "{html}");
        assert!(
            !html.contains("VERY\"SECRET<x>"),
            "the URL cannot end the attribute"
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(!name.contains("SECRET"), "the name says nothing: {name}");
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_read_is_made_private_and_a_link_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        write(&open, &signin_url()).unwrap();
        assert_eq!(mode(&open), 0o700);

        let elsewhere = root.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let err = write(&link, &signin_url()).unwrap_err();
        assert!(matches!(err, BrowserPageError::Folder { .. }), "{err}");
        assert_eq!(
            fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn old_pages_are_swept_and_new_ones_and_other_files_stay() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("browser");
        let first = write(&folder, &signin_url()).unwrap();
        let other = folder.join("notes.txt");
        fs::write(&other, "mine").unwrap();
        let now: SystemTime = crate::clock::SystemClock.now().into();

        sweep(&folder, KEEP, now);
        assert!(first.exists(), "a page younger than KEEP stays");

        sweep(&folder, KEEP, now + KEEP + Duration::from_secs(1));
        assert!(!first.exists(), "a page older than KEEP goes");
        assert!(other.exists(), "files that are not pages stay");
    }

    #[test]
    fn children_do_not_inherit_the_secret_variables() {
        let mut command = Command::new("env");
        command
            .env("ROLECALL_PASSWORD", "hunter2")
            .env("ROLECALL_MFA_CODE", "123456")
            .env("KEPT", "1");
        withhold_secrets(&mut command);
        let envs: Vec<_> = command.get_envs().collect();
        for name in SECRET_VARIABLES {
            assert!(
                envs.contains(&(std::ffi::OsStr::new(name), None)),
                "{name} is removed: {envs:?}"
            );
        }
        assert!(envs.contains(&(
            std::ffi::OsStr::new("KEPT"),
            Some(std::ffi::OsStr::new("1"))
        )));
    }
}
