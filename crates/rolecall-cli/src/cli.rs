//! The command line: the same core as the tray, for scripts and headless machines.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

mod console;
mod credential_process;
mod endpoints;
mod login;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use rolecall_core::accounts::{Account, AliasCache};
use rolecall_core::idp::{
    self, FailureKind, Outcome, PasscodePrompt, PasscodeSource, SignIn, SignInError,
};
use rolecall_core::paths::{AppPaths, Environment};
use rolecall_core::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use rolecall_core::secrets::{Keyring, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};
use rolecall_core::untrusted;

/// Rolecall signs you in to AWS through AD FS or any SAML 2.0 identity provider.
///
/// Without a subcommand it starts the tray app.
#[derive(Debug, Parser)]
#[command(name = "rolecall", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Try the tray app against a stand-in AD FS and AWS on 127.0.0.1, in a sandbox folder.
    ///
    /// The demo prints its folder (settings, AWS credentials and config files); sessions last
    /// five minutes, so renewals and expiry warnings come while you watch. Your own AWS files,
    /// settings and keyring are not touched.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print where Rolecall keeps its settings and which AWS files it edits.
    Paths {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Sign in and list the AWS roles you hold, grouped by account.
    ///
    /// The password comes from ROLECALL_PASSWORD, --password-stdin or the keyring; a one-time
    /// passcode from ROLECALL_MFA_CODE or, on a terminal, a prompt.
    #[command(after_help = EXIT_CODES)]
    Roles {
        #[command(flatten)]
        sign_in: SignInArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Sign in, assume roles and write their profiles into the AWS credentials file.
    ///
    /// One role goes to --profile (default: the active profile, `default`); several roles, or
    /// --all-roles, get names from the profile template (`{account_alias}-{role}`).
    #[command(after_help = EXIT_CODES)]
    Login {
        #[command(flatten)]
        sign_in: SignInArgs,
        /// A role to assume: its ARN, or ACCOUNT/ROLE with the account's id or alias.
        #[arg(
            long = "role",
            value_name = "ROLE",
            required_unless_present = "all_roles"
        )]
        roles: Vec<String>,
        /// Assume every role of the assertion.
        #[arg(long, conflicts_with = "roles")]
        all_roles: bool,
        /// The profile to write one role to.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// The region written with the profiles (and the STS region used).
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// Session length in seconds (900 to 43200; capped by the role and the IdP).
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u32>,
    },
    /// Print a profile's credentials for the AWS tools' credential_process setting, renewing
    /// them first when fewer than 15 minutes are left.
    CredentialProcess {
        #[arg(long, value_name = "NAME")]
        profile: String,
    },
    /// Open the AWS console in your browser, signed in with a profile's credentials.
    ///
    /// The region is --region, else the profile's region in the AWS config file, else the
    /// partition's first region. The console session ends when the credentials do.
    Console {
        #[arg(long, value_name = "NAME")]
        profile: String,
        /// Print the sign-in URL instead of opening it (it signs anyone in for 15 minutes).
        #[arg(long)]
        print: bool,
        /// The console's region.
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// Sign the browser out of the console first (it is signed in to another account).
        #[arg(long)]
        logout_first: bool,
    },
    /// End the identity provider's single sign-on session and forget its cookies.
    SignOut {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Add, change, list, rename or remove sign-in endpoints (the same settings the tray uses).
    #[command(subcommand)]
    Endpoint(endpoints::EndpointCommand),
    /// Keep or forget an endpoint's password in the OS keyring.
    #[command(subcommand)]
    Password(endpoints::PasswordCommand),
}

/// Which endpoint: one from the settings, or a URL.
#[derive(Debug, ClapArgs)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// An endpoint from Rolecall's settings, by name.
    #[arg(long, value_name = "NAME")]
    endpoint: Option<String>,
    /// An AD FS host (https://sts.corp.example) or any IdP-initiated sign-in URL.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct SignInArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// How to sign in (default: the endpoint's method, or auto).
    #[arg(long, value_enum, value_name = "METHOD")]
    auth: Option<AuthArg>,
    /// The username for forms, NTLM or Kerberos sign-in.
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// A PEM file of CA certificates to trust besides the system's.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthArg {
    Auto,
    Windows,
    Kerberos,
    Ntlm,
    Forms,
}

impl From<AuthArg> for SignInMethod {
    fn from(arg: AuthArg) -> Self {
        match arg {
            AuthArg::Auto => SignInMethod::Auto,
            AuthArg::Windows => SignInMethod::Windows,
            AuthArg::Kerberos => SignInMethod::Kerberos,
            AuthArg::Ntlm => SignInMethod::Ntlm,
            AuthArg::Forms => SignInMethod::Forms,
        }
    }
}

const EXIT_CODES: &str = "Exit codes: 0 signed in, 1 other failure, 2 unusable input, 3 username or \
password refused (or none), 4 one-time passcode needed or refused, 5 needs an interactive \
sign-in (use the tray), 6 no AWS roles, 7 untrusted certificate (see --ca-file), 8 network.";

/// Exit codes scripts can rely on; `rolecall roles --help` names them.
pub(crate) mod exit {
    /// Anything not listed below.
    pub const OTHER: u8 = 1;
    /// The environment or the input is unusable; the message says how to fix it.
    pub const USAGE: u8 = 2;
    /// The identity provider refused the username or password, or there is none.
    pub const BAD_CREDENTIALS: u8 = 3;
    /// A one-time passcode is needed, or was refused.
    pub const PASSCODE: u8 = 4;
    /// Only a person in the IdP's own pages can go on: sign in from the tray.
    pub const NEEDS_PERSON: u8 = 5;
    /// The sign-in worked but grants no AWS role.
    pub const NO_ROLES: u8 = 6;
    /// The IdP's certificate is not trusted.
    pub const TLS: u8 = 7;
    /// The IdP could not be reached.
    pub const NETWORK: u8 = 8;
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Paths { json } => paths(json),
        Command::Roles { sign_in, json } => with_runtime(roles(sign_in, json)),
        Command::Login {
            sign_in,
            roles,
            all_roles,
            profile,
            region,
            duration,
        } => with_runtime(login::run(login::Request {
            sign_in,
            roles,
            all_roles,
            profile,
            region,
            duration,
        })),
        Command::CredentialProcess { profile } => credential_process::run(&profile),
        Command::Console {
            profile,
            print,
            region,
            logout_first,
        } => with_runtime(console::run(console::Request {
            profile,
            print,
            region,
            logout_first,
        })),
        Command::SignOut { target } => with_runtime(sign_out(target)),
        Command::Endpoint(command) => endpoints::endpoint(command),
        Command::Password(command) => endpoints::password(command),
    }
}

pub(crate) fn with_runtime(work: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(work),
        Err(err) => fail(exit::OTHER, &format!("could not start: {err}")),
    }
}

pub(crate) fn fail(code: u8, message: &str) -> ExitCode {
    // Messages quote the IdP's own text, which may carry escape sequences.
    eprintln!("rolecall: {}", untrusted::for_terminal(message));
    ExitCode::from(code)
}

pub(crate) fn resolve_paths() -> Result<AppPaths, ExitCode> {
    AppPaths::resolve(&Environment::from_process())
        .map_err(|err| fail(exit::USAGE, &err.to_string()))
}

fn paths(json: bool) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    if json {
        match serde_json::to_string_pretty(&paths) {
            Ok(text) => println!("{text}"),
            Err(err) => return fail(exit::OTHER, &format!("could not print JSON: {err}")),
        }
    } else {
        println!("settings file     {}", paths.settings_file().display());
        println!("credentials file  {}", paths.aws_credentials_file.display());
        println!("config file       {}", paths.aws_config_file.display());
    }
    ExitCode::SUCCESS
}

/// The endpoint named on the command line, with the flags applied over its settings.
fn endpoint_of(settings: &Settings, target: &TargetArgs) -> Result<Endpoint, ExitCode> {
    if let Some(name) = &target.endpoint {
        return settings.endpoint(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = settings.endpoints.iter().map(|e| e.name.as_str()).collect();
            let known = if known.is_empty() {
                "there are none yet: add one in Settings or use --url".to_owned()
            } else {
                format!("the endpoints are: {}", known.join(", "))
            };
            fail(
                exit::USAGE,
                &format!("there is no endpoint named \"{name}\" ({known})."),
            )
        });
    }
    let url = target.url.as_deref().unwrap_or_default();
    // An endpoint given by URL keeps its secrets under its host name.
    let name = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| {
            url.trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or(url)
                .to_owned()
        });
    Endpoint::new(name, url).map_err(|err| fail(exit::USAGE, &err.to_string()))
}

fn read_password(args: &SignInArgs) -> Result<Option<Sensitive<String>>, ExitCode> {
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|err| fail(exit::USAGE, &format!("could not read the password: {err}")))?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            return Err(fail(
                exit::USAGE,
                "--password-stdin read an empty line: give the password on standard input.",
            ));
        }
        return Ok(Some(Sensitive::new(password)));
    }
    Ok(std::env::var("ROLECALL_PASSWORD")
        .ok()
        .filter(|password| !password.is_empty())
        .map(Sensitive::new))
}

/// Passcodes from `ROLECALL_MFA_CODE` (once), or typed at a terminal.
#[derive(Debug)]
struct CommandLinePasscodes {
    from_env: Mutex<Option<Sensitive<String>>>,
}

impl PasscodeSource for CommandLinePasscodes {
    fn passcode(&self, prompt: &PasscodePrompt) -> Option<Sensitive<String>> {
        if let Ok(mut from_env) = self.from_env.lock()
            && let Some(code) = from_env.take()
        {
            return Some(code);
        }
        if prompt.attempt > 1 && std::env::var_os("ROLECALL_MFA_CODE").is_some() {
            // The code from the environment was refused: asking again would only repeat it.
            return None;
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        if let Some(error) = &prompt.error {
            eprintln!("{}", untrusted::for_terminal(error));
        }
        eprint!(
            "One-time passcode for {} ({}): ",
            prompt.endpoint,
            untrusted::for_terminal(&prompt.adapter)
        );
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        stdin.lock().read_line(&mut line).ok()?;
        let code = line.trim().to_owned();
        (!code.is_empty()).then(|| Sensitive::new(code))
    }
}

fn exit_code_of(err: &SignInError) -> u8 {
    match err.kind() {
        FailureKind::BadCredentials => exit::BAD_CREDENTIALS,
        FailureKind::Passcode => exit::PASSCODE,
        FailureKind::NoRoles => exit::NO_ROLES,
        FailureKind::Tls => exit::TLS,
        FailureKind::Network => exit::NETWORK,
        FailureKind::Other => exit::OTHER,
    }
}

/// A finished sign-in, with the roles grouped by account.
pub(crate) struct Session {
    paths: AppPaths,
    settings: Settings,
    endpoint: Endpoint,
    signed_in: Box<idp::SignedIn>,
    accounts: Vec<Account>,
    alias_problem: Option<String>,
}

pub(crate) fn load_settings(paths: &AppPaths) -> Result<Settings, ExitCode> {
    Settings::load(paths).map_err(|err| fail(exit::USAGE, &err.to_string()))
}

/// Signs in as the command line says, asking for a passcode on the terminal when there is one.
pub(crate) async fn sign_in(args: &SignInArgs) -> Result<Session, ExitCode> {
    let paths = resolve_paths()?;
    let settings = load_settings(&paths)?;
    let mut endpoint = endpoint_of(&settings, &args.target)?;
    if let Some(auth) = args.auth {
        endpoint.method = auth.into();
    }
    if let Some(username) = &args.username {
        endpoint.username = Some(username.clone());
    }
    if let Some(ca_file) = &args.ca_file {
        endpoint.ca_file = Some(ca_file.clone());
    }
    let password = read_password(args)?;
    let passcodes = CommandLinePasscodes {
        from_env: Mutex::new(
            std::env::var("ROLECALL_MFA_CODE")
                .ok()
                .filter(|code| !code.trim().is_empty())
                .map(Sensitive::new),
        ),
    };
    let refused = RefusedPasswords::new(&paths.config_dir);
    let mut cache =
        AliasCache::load(&paths.config_dir).map_err(|err| fail(exit::OTHER, &err.to_string()))?;
    let signed_in = sign_in_to(&endpoint, password, &passcodes, &refused).await?;
    let (accounts, alias_problem) = idp::accounts_of(&signed_in, &endpoint, &mut cache).await;
    if let Some(problem) = &alias_problem {
        tracing::warn!("{problem}");
    }
    Ok(Session {
        paths,
        settings,
        endpoint,
        signed_in,
        accounts,
        alias_problem: alias_problem.map(|problem| problem.to_string()),
    })
}

async fn sign_in_to(
    endpoint: &Endpoint,
    password: Option<Sensitive<String>>,
    passcodes: &dyn PasscodeSource,
    refused: &RefusedPasswords,
) -> Result<Box<idp::SignedIn>, ExitCode> {
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
    let outcome = refused_passwords::sign_in(
        SignIn {
            endpoint,
            password,
            secrets,
            passcodes,
        },
        refused,
    )
    .await;
    match outcome {
        Ok(Outcome::SignedIn(signed_in)) => Ok(signed_in),
        Ok(Outcome::NeedsPerson { url, reason }) => Err(fail(
            exit::NEEDS_PERSON,
            &format!(
                "endpoint \"{}\" needs an interactive sign-in ({reason}). Sign in from the \
                 Rolecall tray, or open {} in a browser.",
                endpoint.name,
                rolecall_core::http::redact(&url)
            ),
        )),
        Err(err @ GuardedSignInError::PasswordRefused { .. }) => {
            Err(fail(exit::BAD_CREDENTIALS, &err.to_string()))
        }
        Err(GuardedSignInError::SignIn(err)) => Err(fail(exit_code_of(&err), &err.to_string())),
    }
}

async fn roles(args: SignInArgs, json: bool) -> ExitCode {
    let Session {
        endpoint,
        signed_in,
        accounts,
        alias_problem,
        ..
    } = match sign_in(&args).await {
        Ok(session) => session,
        Err(code) => return code,
    };
    let assertion = &signed_in.assertion;
    if json {
        let document = serde_json::json!({
            "endpoint": endpoint.name,
            "role_session_name": assertion.role_session_name,
            "partition": assertion.partition.id(),
            "session_duration": assertion.session_duration,
            "accounts": accounts.iter().map(account_json).collect::<Vec<_>>(),
            "alias_lookup_problem": alias_problem,
        });
        match serde_json::to_string_pretty(&document) {
            Ok(text) => println!("{text}"),
            Err(err) => return fail(exit::OTHER, &format!("could not print JSON: {err}")),
        }
    } else {
        print_accounts(&assertion.role_session_name, &accounts);
    }
    ExitCode::SUCCESS
}

fn account_json(account: &Account) -> serde_json::Value {
    serde_json::json!({
        "id": account.id,
        "alias": account.alias,
        "roles": account.roles.iter().map(|role| serde_json::json!({
            "name": role.role_name(),
            "role_arn": role.role_arn,
            "principal_arn": role.principal_arn,
        })).collect::<Vec<_>>(),
    })
}

fn print_accounts(session_name: &str, accounts: &[Account]) {
    let roles: usize = accounts.iter().map(|account| account.roles.len()).sum();
    println!(
        "Signed in as {session_name}: {roles} role{} in {} account{}.",
        if roles == 1 { "" } else { "s" },
        accounts.len(),
        if accounts.len() == 1 { "" } else { "s" },
    );
    for account in accounts {
        println!();
        println!("{}", untrusted::for_terminal(&account.label()));
        let width = account
            .roles
            .iter()
            .map(|role| role.role_name().chars().count())
            .max()
            .unwrap_or(0);
        for role in &account.roles {
            println!(
                "  {:width$}  {}",
                untrusted::for_terminal(role.role_name()),
                untrusted::for_terminal(&role.role_arn)
            );
        }
    }
}

async fn sign_out(target: TargetArgs) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let settings = match load_settings(&paths) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let endpoint = match endpoint_of(&settings, &target) {
        Ok(endpoint) => endpoint,
        Err(code) => return code,
    };
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
    match idp::sign_out(&endpoint, secrets).await {
        Ok(()) => {
            println!("Signed out of endpoint \"{}\".", endpoint.name);
            ExitCode::SUCCESS
        }
        Err(err) => fail(exit_code_of(&err), &err.to_string()),
    }
}
