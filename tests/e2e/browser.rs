//! The simulator's pages in a real browser, used as a person uses them: Debian's Chromium
//! (headless, its own profile in the sandbox), driven over W3C WebDriver by chromedriver, types
//! and clicks its way through the AD FS login and passcode pages, the relying-party chooser,
//! the Duo stand-in, the sign-out page and AWS's role chooser. Only keys and clicks move the
//! pages on; scripts run only to read what a person would see.

use std::process::Stdio;

use rolecall_sim::{DEMO_PASSWORD, RoleChooser, Sim, SimConfig};
use rolecall_tests::webdriver::{ENTER, LIMIT, Session, WebDriver, free_port};
use rolecall_tests::{Running, Sandbox, eventually};
use serde_json::json;

use crate::webview::screenshots_dir;

/// Debian's Chromium; chromedriver (package `chromium-driver`) drives it.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What the role chooser shows for alice (the simulator's demo aliases), in today's layout and
/// in the legacy one, whose headings add `Account: `.
const ALICE_ACCOUNTS: [&str; 3] = [
    "corp-prod (111122223333)",
    "corp-staging (444455556666)",
    "777788889999",
];

/// A simulator and a browser on it.
struct World {
    sim: Sim,
    sandbox: Sandbox,
    _chromedriver: Running,
    driver: WebDriver,
}

impl World {
    async fn start(config: SimConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Sim::start(listener, config).await.unwrap();
        let sandbox = Sandbox::new();
        let port = free_port();
        let chromedriver = Running::spawn(
            sandbox
                .command(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null()),
        );
        let driver = WebDriver::new(tokio::runtime::Handle::current(), port);
        Self {
            sim,
            sandbox,
            _chromedriver: chromedriver,
            driver,
        }
    }

    /// A fresh browser window: headless, its profile in the sandbox, no network but loopback.
    fn browser(&self) -> Browser<'_> {
        eventually(LIMIT, || self.driver.ready().then_some(()))
            .expect("chromedriver answers on its port");
        let profile = self.sandbox.root().join("chromium-profile");
        let session = self.driver.new_session_with(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    // The tests run as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,800",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--no-proxy-server",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--lang=en-US",
                ],
            },
        }));
        Browser {
            session: Some(session),
        }
    }
}

/// A browser session that closes the browser when dropped, also when the test fails.
struct Browser<'a> {
    session: Option<Session<'a>>,
}

impl<'a> std::ops::Deref for Browser<'a> {
    type Target = Session<'a>;

    fn deref(&self) -> &Session<'a> {
        self.session.as_ref().unwrap()
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            session.end();
        }
    }
}

/// Runs `body` off the async runtime (WebDriver calls block), with a simulator and a browser.
async fn with_browser(body: impl FnOnce(&World, &Browser<'_>) + Send + 'static) {
    with_browser_on(SimConfig::demo(), body).await;
}

/// [`with_browser`] with a simulator configured as `config`.
async fn with_browser_on(
    config: SimConfig,
    body: impl FnOnce(&World, &Browser<'_>) + Send + 'static,
) {
    let world = World::start(config).await;
    tokio::task::spawn_blocking(move || {
        let browser = world.browser();
        body(&world, &browser);
    })
    .await
    .unwrap();
}

fn wait_for_title(browser: &Browser<'_>, title: &str) {
    eventually(LIMIT, || {
        (browser.title().as_deref() == Some(title)).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the browser shows a page titled {title:?}, not {:?} at {:?}",
            browser.title(),
            browser.url()
        )
    });
}

/// The role chooser's text once the browser shows it.
fn role_chooser_text(browser: &Browser<'_>) -> String {
    wait_for_title(browser, "Amazon Web Services Sign-In");
    browser.text("#saml_form")
}

/// The role chooser's radio button for `role_arn`.
fn role(role_arn: &str) -> String {
    format!("input[name='roleIndex'][value='{role_arn}']")
}

/// The error text once it reads `expected` (it is filled in by the page's script).
fn error_text_becomes(browser: &Browser<'_>, expected: &str) {
    let shown = eventually(LIMIT, || {
        let text = browser.text("#errorText");
        (text == expected).then_some(text)
    });
    assert!(
        shown.is_some(),
        "the page says {expected:?}; it says {:?}",
        browser.text("#errorText")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_click_on_sign_in_lands_on_the_role_chooser_where_a_click_picks_the_role() {
    with_browser(|world, browser| {
        let screenshots = screenshots_dir();
        browser.navigate(world.sim.sign_on_url().as_str());
        wait_for_title(browser, "Sign In");
        browser.find("#loginForm");
        browser.screenshot(&screenshots.join("browser-login.png"));
        browser.type_into("#userNameInput", "alice");
        browser.type_into("#passwordInput", DEMO_PASSWORD);
        browser.click("#submitButton");

        // The auto-post page's script took the browser on to AWS's (the simulator's) chooser.
        let chooser = role_chooser_text(browser);
        for account in ALICE_ACCOUNTS {
            assert!(
                chooser.contains(account),
                "the chooser shows {account}: {chooser}"
            );
        }
        for name in ["Admin", "ReadOnly", "Developer", "SecurityAudit"] {
            assert!(
                chooser.contains(name),
                "the chooser shows {name}: {chooser}"
            );
        }
        browser.screenshot(&screenshots.join("browser-role-chooser.png"));

        // Sign In before picking a role says so and stays.
        browser.click("#signin_button");
        let said = eventually(LIMIT, || {
            let text = browser.text("#saml_error");
            (!text.is_empty()).then_some(text)
        });
        assert_eq!(said.as_deref(), Some("Select a role to sign in with."));
        assert_eq!(
            world.sim.stats().console_sign_ins,
            0,
            "no role was chosen yet"
        );

        // A click on the role's name picks it.
        let read_only = "arn:aws:iam::111122223333:role/ReadOnly";
        browser.click(&format!("label[for='{read_only}']"));
        assert!(browser.is_selected(&role(read_only)), "ReadOnly is picked");
        assert!(!browser.is_selected(&role("arn:aws:iam::111122223333:role/Admin")));
        browser.click("#signin_button");

        wait_for_title(browser, "AWS console (Rolecall demo)");
        assert_eq!(
            browser.text("#principal"),
            "arn:aws:sts::111122223333:assumed-role/ReadOnly/alice@corp.example",
            "the console is signed in as the role picked"
        );
    })
    .await;
}

/// AWS's role chooser as it was before 2023, which the simulator still serves on request: its
/// `Account:` headings fold their roles away, and a role is picked and signed in with as today.
#[tokio::test(flavor = "multi_thread")]
async fn the_legacy_role_chooser_still_lets_a_click_pick_the_role() {
    let config = SimConfig {
        role_chooser: RoleChooser::Legacy,
        ..SimConfig::demo()
    };
    with_browser_on(config, |world, browser| {
        browser.navigate(world.sim.sign_on_url().as_str());
        wait_for_title(browser, "Sign In");
        browser.type_into("#userNameInput", "alice");
        browser.type_into("#passwordInput", DEMO_PASSWORD);
        browser.click("#submitButton");

        let chooser = role_chooser_text(browser);
        for account in ALICE_ACCOUNTS {
            assert!(
                chooser.contains(&format!("Account: {account}")),
                "the legacy chooser heads {account} with Account: {chooser}"
            );
        }
        let admin = "arn:aws:iam::111122223333:role/Admin";
        let admin_label = format!("label[for='{admin}']");
        // A click on the account's heading folds its roles away (a hidden label shows no
        // text), and another brings them back.
        browser.click("div.saml-account-name");
        eventually(LIMIT, || {
            browser.text(&admin_label).is_empty().then_some(())
        })
        .expect("the click folds corp-prod's roles away");
        browser.click("div.saml-account-name");
        eventually(LIMIT, || {
            (browser.text(&admin_label) == "Admin").then_some(())
        })
        .expect("a second click shows them again");

        browser.click(&admin_label);
        assert!(browser.is_selected(&role(admin)), "Admin is picked");
        browser.click("#signin_button");
        wait_for_title(browser, "AWS console (Rolecall demo)");
        assert_eq!(
            browser.text("#principal"),
            "arn:aws:sts::111122223333:assumed-role/Admin/alice@corp.example"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_fields_say_what_is_missing_and_enter_signs_in() {
    with_browser(|world, browser| {
        browser.navigate(world.sim.sign_on_url().as_str());
        wait_for_title(browser, "Sign In");
        assert_eq!(browser.text("#errorText"), "", "no error at first");

        browser.click("#submitButton");
        error_text_becomes(
            browser,
            "Enter your user ID in the format domain\\user or user@domain.",
        );
        browser.type_into("#userNameInput", "alice");
        browser.type_into("#userNameInput", ENTER);
        error_text_becomes(browser, "Enter your password.");
        assert_eq!(
            world.sim.stats().form_posts,
            0,
            "nothing is sent while a field is empty"
        );

        browser.type_into("#passwordInput", DEMO_PASSWORD);
        browser.type_into("#passwordInput", ENTER);
        let chooser = role_chooser_text(browser);
        assert!(chooser.contains(ALICE_ACCOUNTS[0]), "{chooser}");
        assert_eq!(world.sim.stats().form_posts, 1, "Enter sent the form once");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_shown_and_space_on_sign_in_retries() {
    with_browser(|world, browser| {
        browser.navigate(world.sim.sign_on_url().as_str());
        wait_for_title(browser, "Sign In");
        browser.type_into("#userNameInput", "alice");
        browser.type_into("#passwordInput", "not-the-password");
        browser.click("#submitButton");
        error_text_becomes(browser, rolecall_sim::WRONG_PASSWORD_TEXT);
        assert_eq!(
            browser.value("#userNameInput"),
            "alice",
            "the user name is kept"
        );

        browser.type_into("#passwordInput", DEMO_PASSWORD);
        // Space on the focused "Sign in", as a keyboard user presses it.
        browser.type_into("#submitButton", " ");
        let chooser = role_chooser_text(browser);
        assert!(chooser.contains(ALICE_ACCOUNTS[0]), "{chooser}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bob_types_his_passcode_and_continues_to_his_roles() {
    with_browser(|world, browser| {
        let screenshots = screenshots_dir();
        browser.navigate(world.sim.sign_on_url().as_str());
        wait_for_title(browser, "Sign In");
        browser.type_into("#userNameInput", "bob");
        browser.type_into("#passwordInput", DEMO_PASSWORD);
        browser.click("#submitButton");

        browser.find("#passcodeInput");
        assert!(
            !browser.has("#loginForm"),
            "the passcode page replaced the login page"
        );
        browser.screenshot(&screenshots.join("browser-passcode.png"));
        browser.type_into("#passcodeInput", "000000");
        browser.click("#submitButton");
        error_text_becomes(browser, rolecall_sim::WRONG_PASSCODE_TEXT);
        browser.type_into("#passcodeInput", "123456");
        browser.click("#submitButton");

        let chooser = role_chooser_text(browser);
        for shown in [
            "corp-prod (111122223333)",
            "ReadOnly",
            "corp-staging (444455556666)",
            "Developer",
        ] {
            assert!(
                chooser.contains(shown),
                "bob's chooser shows {shown}: {chooser}"
            );
        }
        assert!(
            !chooser.contains("Admin"),
            "bob has no Admin role: {chooser}"
        );
        let developer = "arn:aws:iam::444455556666:role/Developer";
        // The whole row is a target, not just the radio button.
        browser.click(&format!("div.saml-role:has(input[value='{developer}'])"));
        assert!(browser.is_selected(&role(developer)));
        browser.type_into("#signin_button", ENTER);
        wait_for_title(browser, "AWS console (Rolecall demo)");
        assert_eq!(
            browser.text("#principal"),
            "arn:aws:sts::444455556666:assumed-role/Developer/bob@corp.example"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relying_party_chooser_leads_to_sign_in_and_sign_out_ends_the_session() {
    with_browser(|world, browser| {
        let base = world.sim.base_url();
        browser.navigate(
            base.join("adfs/ls/IdpInitiatedSignOn.aspx")
                .unwrap()
                .as_str(),
        );
        wait_for_title(browser, "Sign In");
        assert!(
            browser
                .text("#idpInitiatedArea")
                .contains("You are not signed in."),
            "the chooser page"
        );
        browser.click("#idp_RelyingPartyDropDownList option[value='urn:amazon:webservices']");
        browser.click("#idp_SignInButton");
        browser.find("#loginForm");
        let at = browser.url().unwrap_or_default();
        assert!(
            at.contains("loginToRp=urn%3Aamazon%3Awebservices"),
            "the chooser asked for AWS's sign-on: {at}"
        );

        browser.type_into("#userNameInput", "alice");
        browser.type_into("#passwordInput", DEMO_PASSWORD);
        browser.click("#submitButton");
        role_chooser_text(browser);
        assert_eq!(world.sim.stats().sso_sessions, 1);

        // The session signs in again without a password…
        browser.navigate(world.sim.sign_on_url().as_str());
        role_chooser_text(browser);
        assert_eq!(world.sim.stats().form_posts, 1, "no second password");

        // …until the person signs out.
        browser.navigate(base.join("adfs/ls/?wa=wsignout1.0").unwrap().as_str());
        wait_for_title(browser, "Sign Out");
        assert_eq!(
            browser.text("#openingMessage"),
            "You have successfully signed out."
        );
        assert_eq!(
            world.sim.stats().sso_sessions,
            0,
            "sign-out ended the session"
        );
        browser.navigate(world.sim.sign_on_url().as_str());
        browser.find("#loginForm");

        // An unknown relying party gets AD FS's error page, with the logo shown.
        browser.navigate(
            base.join("adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:nope")
                .unwrap()
                .as_str(),
        );
        assert!(browser.text("#errorArea").contains("MSIS7007"));
        // Script only reads state for the assertion (it gets the test past no page): the
        // image's decoded width, which a broken image does not have.
        let logo_width =
            browser.execute("return document.getElementById('companyLogo').naturalWidth;");
        assert!(
            logo_width.as_u64().unwrap_or(0) > 0,
            "the logo loads: {logo_width}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_duo_stand_in_is_approved_by_a_click_in_its_frame() {
    with_browser(|world, browser| {
        browser.navigate(world.sim.sign_on_url().as_str());
        wait_for_title(browser, "Sign In");
        browser.type_into("#userNameInput", "duo");
        browser.type_into("#passwordInput", DEMO_PASSWORD);
        browser.click("#submitButton");

        browser.switch_to_frame("#duo_iframe");
        browser.click("#duo_approve");
        browser.switch_to_top();
        let chooser = role_chooser_text(browser);
        assert!(chooser.contains(ALICE_ACCOUNTS[0]), "{chooser}");
        assert_eq!(world.sim.stats().sso_sessions, 1);
    })
    .await;
}
