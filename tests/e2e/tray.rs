//! The real tray app on a private desktop, seen and clicked through the session bus as a panel
//! would.

use std::time::Duration;

use rolecall_tests::bus::TrayItem;
use rolecall_tests::{Desktop, Running, Sandbox, eventually, rolecall_binary};

/// A cold start of a debug build on a loaded 2-core machine can take a while.
const START_LIMIT: Duration = Duration::from_secs(90);
const EXIT_LIMIT: Duration = Duration::from_secs(30);

fn start_app(desktop: &Desktop, sandbox: &Sandbox) -> (Running, TrayItem) {
    let mut app = Running::spawn(&mut desktop.command(sandbox, rolecall_binary()));
    let item = eventually(START_LIMIT, || {
        if !app.is_running() {
            Some(Err("the app exited before its tray item appeared"))
        } else {
            desktop.tray_item_of(app.pid()).map(Ok)
        }
    })
    .unwrap_or(Err(
        "the app should export its tray item on the session bus",
    ))
    .unwrap_or_else(|problem| panic!("{problem}"));
    (app, item)
}

fn labels(desktop: &Desktop, item: &TrayItem) -> Vec<String> {
    desktop
        .menu(item)
        .into_iter()
        .map(|entry| entry.label)
        .collect()
}

#[test]
fn tray_item_is_registered_and_quit_exits_cleanly() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let (mut app, item) = start_app(&desktop, &sandbox);

    let status = desktop.tray_property(&item, "Status").unwrap_or_default();
    assert!(
        status.contains("Active"),
        "the tray item should be active: {status:?}"
    );
    let labels = labels(&desktop, &item);
    for expected in [
        "Signed out",
        "Settings…",
        "Copy diagnostics",
        "Open log folder",
        "Start at login",
        "Quit Rolecall",
    ] {
        assert!(
            labels.iter().any(|label| label == expected),
            "no {expected:?} in {labels:?}"
        );
    }
    assert!(
        !desktop
            .window_titles()
            .iter()
            .any(|title| title.contains("Rolecall")),
        "no window should open at start: {:?}",
        desktop.window_titles()
    );

    desktop.click(&item, "Quit Rolecall");
    let exit = app
        .wait_for_exit(EXIT_LIMIT)
        .expect("Quit should end the app");
    assert!(exit.success(), "Quit should exit with status 0, got {exit}");

    // The log a person can send, in the platform's log folder, private to them.
    let log = sandbox
        .home()
        .join(".local/state/rolecall/rolecall-tray.log");
    let text =
        std::fs::read_to_string(&log).unwrap_or_else(|err| panic!("{}: {err}", log.display()));
    assert!(
        text.contains("Rolecall") && text.contains("starts"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", log.display());
    }
}

/// A console page an earlier run left behind (it quit within a minute of opening the console)
/// is gone once the app is up.
#[test]
fn a_console_page_left_behind_is_removed_at_start() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let folder = sandbox.runtime_dir().join("rolecall/browser");
    std::fs::create_dir_all(&folder).unwrap();
    let page = folder.join("open-left-behind.html");
    std::fs::File::create(&page)
        .unwrap()
        .set_modified(
            std::time::SystemTime::from(rolecall_core::clock::SystemClock.now())
                - Duration::from_secs(3600),
        )
        .unwrap();
    let mine = folder.join("notes.txt");
    std::fs::write(&mine, "not a page").unwrap();

    let (mut app, item) = start_app(&desktop, &sandbox);
    assert!(!page.exists(), "the old page was removed");
    assert!(mine.exists(), "other files stay");

    desktop.click(&item, "Quit Rolecall");
    app.wait_for_exit(EXIT_LIMIT)
        .expect("Quit should end the app");
}

#[test]
fn settings_opens_from_the_tray_without_ending_it() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let (mut app, item) = start_app(&desktop, &sandbox);

    desktop.click(&item, "Settings…");
    eventually(START_LIMIT, || {
        desktop
            .window_titles()
            .iter()
            .any(|title| title == "Rolecall settings")
            .then_some(())
    })
    .expect("Settings… should open the settings window");
    assert!(app.is_running());
    desktop.click(&item, "Quit Rolecall");
    assert!(
        app.wait_for_exit(EXIT_LIMIT)
            .is_some_and(|status| status.success())
    );
}

#[test]
fn second_launch_hands_over_to_the_first() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let (mut first, item) = start_app(&desktop, &sandbox);

    let mut second = Running::spawn(&mut desktop.command(&sandbox, rolecall_binary()));
    let exit = second
        .wait_for_exit(START_LIMIT)
        .expect("a second launch should exit instead of running twice");
    assert!(
        exit.success(),
        "the second launch should exit cleanly, got {exit}"
    );
    eventually(START_LIMIT, || {
        desktop
            .window_titles()
            .iter()
            .any(|title| title == "Rolecall settings")
            .then_some(())
    })
    .expect("the first instance should show its settings window when launched again");
    assert!(first.is_running(), "the first instance keeps running");
    desktop.click(&item, "Quit Rolecall");
    assert!(first.wait_for_exit(EXIT_LIMIT).is_some());
}

#[test]
fn start_at_login_writes_and_removes_the_autostart_entry() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let (mut app, item) = start_app(&desktop, &sandbox);
    let entry = sandbox.xdg_config_home().join("autostart/Rolecall.desktop");
    let checked = |desktop: &Desktop| {
        desktop
            .menu(&item)
            .into_iter()
            .find(|entry| entry.label == "Start at login")
            .and_then(|entry| entry.checked)
    };
    assert_eq!(
        checked(&desktop),
        Some(false),
        "start at login is off for a new user"
    );
    assert!(!entry.exists());

    desktop.click(&item, "Start at login");
    eventually(EXIT_LIMIT, || entry.exists().then_some(()))
        .expect("turning start at login on should write an XDG autostart entry");
    let text = std::fs::read_to_string(&entry).unwrap();
    let binary = rolecall_binary();
    let exec = text
        .lines()
        .find_map(|line| line.strip_prefix("Exec="))
        .unwrap_or_else(|| panic!("the entry has no Exec line: {text}"));
    // The program, quoted or not, without its arguments.
    let program = match exec.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or_default(),
        None => exec.split_whitespace().next().unwrap_or_default(),
    };
    assert!(
        [binary.clone(), binary.with_file_name("rolecall-tray")]
            .iter()
            .any(|path| std::path::Path::new(program) == path),
        "the entry should start this build of Rolecall, not {program}: {text}"
    );
    eventually(EXIT_LIMIT, || {
        (checked(&desktop) == Some(true)).then_some(())
    })
    .expect("the menu should show start at login as on");

    desktop.click(&item, "Start at login");
    eventually(EXIT_LIMIT, || (!entry.exists()).then_some(()))
        .expect("turning start at login off should remove the autostart entry");
    desktop.click(&item, "Quit Rolecall");
    assert!(app.wait_for_exit(EXIT_LIMIT).is_some());
}

/// A registry that no longer parses is named in the menu, and left as it was.
#[test]
fn a_corrupt_registry_shows_in_the_menu() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let registry = sandbox.config_dir().join("profiles.json");
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(&registry, "{\"work\": ").unwrap();
    let (mut app, item) = start_app(&desktop, &sandbox);

    let labels = labels(&desktop, &item);
    let problem = labels
        .iter()
        .find(|label| label.starts_with('⚠'))
        .unwrap_or_else(|| panic!("no problem line in {labels:?}"));
    assert!(
        problem.contains(&registry.display().to_string()) && problem.contains("move it away"),
        "{problem}"
    );
    assert_eq!(std::fs::read(&registry).unwrap(), b"{\"work\": ");

    desktop.click(&item, "Quit Rolecall");
    app.wait_for_exit(EXIT_LIMIT)
        .expect("Quit should end the app");
}

/// An endpoint whose CA file went away stays in the menu, with the problem named, instead of
/// the menu saying there are no endpoints.
#[test]
fn an_endpoint_whose_ca_file_is_gone_stays_in_the_menu_with_the_problem() {
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    let ca = sandbox.config_dir().join("corp-ca.pem");
    std::fs::write(
        sandbox.config_dir().join("settings.toml"),
        format!(
            "[[endpoints]]\nname = \"corp\"\nurl = \"https://sts.corp.example/adfs/ls/\"\n\
             method = \"forms\"\nca_file = \"{}\"\n",
            ca.display()
        ),
    )
    .unwrap();
    let (mut app, item) = start_app(&desktop, &sandbox);

    let labels = labels(&desktop, &item);
    assert!(
        labels.iter().any(|label| label == "Sign in to corp"),
        "{labels:?}"
    );
    assert!(
        !labels
            .iter()
            .any(|label| label.starts_with("No sign-in endpoints")),
        "{labels:?}"
    );
    let problem = labels
        .iter()
        .find(|label| label.starts_with('⚠'))
        .unwrap_or_else(|| panic!("no problem line in {labels:?}"));
    assert!(
        problem.contains(&ca.display().to_string()),
        "the problem names the CA file: {problem}"
    );

    desktop.click(&item, "Quit Rolecall");
    app.wait_for_exit(EXIT_LIMIT)
        .expect("Quit should end the app");
}

/// The running tray follows its files: an endpoint added on the command line, and a hand edit
/// of the settings, show in the menu within a second, with no minute's tick to wait for.
#[test]
fn the_tray_shows_what_the_command_line_and_a_hand_edit_change_within_a_second() {
    const FOLLOW_LIMIT: Duration = Duration::from_secs(1);
    let desktop = Desktop::start();
    let sandbox = Sandbox::new();
    let (mut app, item) = start_app(&desktop, &sandbox);
    assert!(
        labels(&desktop, &item)
            .iter()
            .any(|label| label.starts_with("No sign-in endpoints")),
        "{:?}",
        labels(&desktop, &item)
    );

    desktop.rolecall(
        &sandbox,
        &[
            "endpoint",
            "add",
            "corp",
            "--url",
            "https://sts.corp.example/adfs/ls/",
            "--auth",
            "forms",
        ],
        None,
        &[],
    );
    eventually(FOLLOW_LIMIT, || {
        labels(&desktop, &item)
            .iter()
            .any(|label| label == "Sign in to corp")
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the endpoint added on the command line is in the menu within a second: {:?}",
            labels(&desktop, &item)
        )
    });

    let settings = sandbox.config_dir().join("settings.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        text.replace("name = \"corp\"", "name = \"work\""),
    )
    .unwrap();
    eventually(FOLLOW_LIMIT, || {
        let labels = labels(&desktop, &item);
        (labels.iter().any(|label| label == "Sign in to work")
            && !labels.iter().any(|label| label == "Sign in to corp"))
        .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the hand edit is in the menu within a second: {:?}",
            labels(&desktop, &item)
        )
    });

    desktop.click(&item, "Quit Rolecall");
    app.wait_for_exit(EXIT_LIMIT)
        .expect("Quit should end the app");
}
