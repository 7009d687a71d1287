//! The command line's arguments, as clap reads them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::engine::ArgValueCompleter;
use rolecall_core::env_format::Format;
use rolecall_core::settings::SignInMethod;
use rolecall_core::sign_in::Target;

use super::exit::EXIT_CODES;

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
    ///
    /// With --chain, the roles named are assumed one after the other from the session of the
    /// one --role (sts:AssumeRole, at most one hour each), and --profile gets the last one's
    /// credentials; Rolecall renews it the same way, from a new sign-in:
    ///
    ///   rolecall login --endpoint corp --role hub/Admin --chain arn:aws:iam::222222222222:role/Deploy --profile spoke
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
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::completions::profile_names))]
        profile: Option<String>,
        /// The region written with the profiles (and the STS region used).
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// Session length in seconds (900 to 43200; capped by the role and the IdP).
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u32>,
        /// The last resort when Rolecall cannot sign in to the IdP itself: a SAMLResponse
        /// (base64) copied from the browser's developer tools, in a file or `-` for standard
        /// input; no sign-in to the IdP. Its profiles renew from the endpoint as usual.
        #[arg(long, value_name = "PATH", conflicts_with = "password_stdin")]
        saml_response_file: Option<PathBuf>,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Print a profile's credentials for the AWS tools' credential_process setting, renewing
    /// them first when fewer than 15 minutes are left.
    CredentialProcess {
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::completions::profile_names))]
        profile: String,
    },
    /// Run a program with a profile's credentials in its environment, renewing them first when
    /// fewer than 15 minutes are left.
    ///
    /// The program gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    /// AWS_CREDENTIAL_EXPIRATION and the profile's region (AWS_REGION, AWS_DEFAULT_REGION);
    /// AWS_PROFILE and other sources of credentials are removed, so the SDKs use these. Without
    /// a program it starts your shell ($SHELL). Signals are passed on to the program (a Ctrl-C
    /// at the terminal reaches it once), and its exit code is Rolecall's:
    ///
    ///   rolecall exec --profile dev -- aws sts get-caller-identity
    ///
    /// With --ecs-server the program gets a container credentials endpoint instead of keys
    /// (AWS_CONTAINER_CREDENTIALS_FULL_URI on 127.0.0.1 and AWS_CONTAINER_AUTHORIZATION_TOKEN,
    /// new for every run); the SDKs ask it again before the credentials end, and Rolecall
    /// renews them. It serves as long as the program runs. Any process of yours that can read
    /// the program's environment can read the token, and with it the credentials.
    #[command(after_help = EXEC_EXIT_CODES)]
    Exec {
        /// The profile (default: the active profile, `default`).
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::completions::profile_names))]
        profile: Option<String>,
        /// Run inside the `rolecall exec` of another profile all the same.
        #[arg(long)]
        force: bool,
        /// Serve the credentials on a container credentials endpoint on 127.0.0.1 instead of
        /// putting keys in the program's environment.
        #[arg(long)]
        ecs_server: bool,
        /// The program and its arguments, after `--` (default: your shell).
        #[arg(
            value_name = "COMMAND",
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_hint = ValueHint::CommandWithArguments
        )]
        command: Vec<OsString>,
    },
    /// Print a profile's credentials for a shell, a .env file or a script, renewing them first
    /// when fewer than 15 minutes are left.
    ///
    /// The same variables `rolecall exec` sets, with AWS_PROFILE and the other sources of
    /// credentials unset. The output holds the secret key: keep it out of logs and shared files.
    ///
    ///   bash, zsh:  eval "$(rolecall env --profile dev)"
    ///
    ///   fish:       rolecall env --profile dev --format fish | source
    ///
    ///   PowerShell: rolecall env --profile dev --format powershell | Out-String | Invoke-Expression
    ///
    ///   a file:     rolecall env --profile dev --format dotenv > .env
    #[command(after_help = ENV_EXIT_CODES)]
    Env {
        /// The profile (default: the active profile, `default`).
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::completions::profile_names))]
        profile: Option<String>,
        /// How to write the variables.
        #[arg(long, value_enum, value_name = "FORMAT", default_value_t = EnvFormatArg::Sh)]
        format: EnvFormatArg,
    },
    /// Open the AWS console in your browser, signed in with a profile's credentials.
    ///
    /// The region is --region, else the profile's region in the AWS config file, else the
    /// partition's first region. The console session ends when the credentials do.
    Console {
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::completions::profile_names))]
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
    /// Show every profile Rolecall manages: role, endpoint, expiry, time left, and what needs
    /// you. Reads the files only (no network), so it can sit in a shell prompt.
    ///
    /// Examples: `rolecall status`; `rolecall status --json`;
    /// `rolecall status --profile "${AWS_PROFILE:-default}" --format '{profile} {left}'`.
    Status {
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// One line per profile from this template: {profile}, {role}, {role_arn},
        /// {account_id}, {endpoint}, {expires}, {left}, {state}, {active}, {needs};
        /// `{{` and `}}` are literal braces.
        #[arg(long, value_name = "TEMPLATE")]
        format: Option<String>,
        /// Only this profile (nothing is printed when Rolecall does not manage it).
        #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::completions::profile_names))]
        profile: Option<String>,
    },
    /// Check what a sign-in needs and print a report to paste into a help desk ticket.
    ///
    /// The clock against each server's Date, each server's name, proxy and certificate chain
    /// (and whether the endpoint's CA file is needed), the Kerberos ticket and the HTTP/<host>
    /// service tickets, the keyring, the AWS files, and what the last sign-in's assertion said.
    /// It signs in to nothing and sends no secret; the report holds no password, token, cookie
    /// or assertion.
    #[command(after_help = rolecall_core::doctor::exit_codes())]
    Doctor {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Only this endpoint of the settings.
        #[arg(long, value_name = "NAME")]
        endpoint: Option<String>,
    },
    /// Print the script that gives your shell Rolecall's completions, profile names included.
    ///
    /// bash: `source <(rolecall completions bash)` in ~/.bashrc; zsh: `source <(rolecall
    /// completions zsh)` in ~/.zshrc; fish: `rolecall completions fish | source` in
    /// ~/.config/fish/config.fish; PowerShell: `rolecall completions powershell | Out-String |
    /// Invoke-Expression` in $PROFILE.
    Completions {
        #[arg(value_enum)]
        shell: super::completions::ShellArg,
    },
    /// Turn another tool's settings into Rolecall endpoints: saml2aws (~/.saml2aws) or
    /// aws-adfs (the adfs_config keys in the AWS config file).
    ///
    /// Shows what it would add and writes nothing; run it again with --apply to save those
    /// endpoints. Passwords are never read: Rolecall asks at the first sign-in.
    ///
    ///   rolecall import saml2aws
    ///   rolecall import saml2aws --apply
    Import {
        #[arg(value_enum)]
        tool: ImportTool,
        /// The tool's settings file, instead of where it keeps them (~/.saml2aws or
        /// SAML2AWS_CONFIGFILE; the AWS config file for aws-adfs).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Save the endpoints shown (all of them, or none when one cannot be saved).
        #[arg(long)]
        apply: bool,
    },
    /// Add, change, list, rename or remove sign-in endpoints (the same settings the tray uses).
    #[command(subcommand)]
    Endpoint(super::endpoints::EndpointCommand),
    /// Keep or forget an endpoint's password in the OS keyring.
    #[command(subcommand)]
    Password(super::endpoints::PasswordCommand),
}

const EXEC_EXIT_CODES: &str = "Exit codes: the program's own (128 + the signal that ended \
it), else 126 the program cannot run, 127 no such program (as a shell says), 1 other failure, 2 \
unusable input (an exec of another profile inside one, a profile Rolecall cannot hand out), 5 \
needs you to sign in (use the tray).";

const ENV_EXIT_CODES: &str = "Exit codes: 0 printed, 1 other failure, 2 unusable input (a \
profile Rolecall cannot hand out), 5 needs you to sign in (use the tray).";

/// `rolecall env --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormatArg {
    /// `export NAME='value'` for sh, bash, zsh and the like.
    Sh,
    /// `set -gx NAME 'value'`.
    Fish,
    /// `$Env:NAME = 'value'`.
    Powershell,
    /// `NAME=value` lines for a .env file (Docker Compose, dotenv libraries).
    Dotenv,
    /// One JSON object of the variables.
    Json,
}

impl From<EnvFormatArg> for Format {
    fn from(arg: EnvFormatArg) -> Self {
        match arg {
            EnvFormatArg::Sh => Format::Sh,
            EnvFormatArg::Fish => Format::Fish,
            EnvFormatArg::Powershell => Format::PowerShell,
            EnvFormatArg::Dotenv => Format::Dotenv,
            EnvFormatArg::Json => Format::Json,
        }
    }
}

/// Which endpoint: one from the settings, or a URL.
#[derive(Debug, ClapArgs)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// An endpoint from Rolecall's settings, by name.
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: Option<String>,
    /// An AD FS host (https://sts.corp.example) or any IdP-initiated sign-in URL.
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
}

impl TargetArgs {
    pub(crate) fn target(&self) -> Target {
        match (&self.endpoint, &self.url) {
            (Some(name), _) => Target::Named(name.clone()),
            (None, url) => Target::Url(url.clone().unwrap_or_default()),
        }
    }
}

#[derive(Debug, ClapArgs)]
pub struct SignInArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// How to sign in (default: the endpoint's method, or auto).
    #[arg(long, value_enum, value_name = "METHOD")]
    pub(crate) auth: Option<AuthArg>,
    /// The username for forms, NTLM or Kerberos sign-in.
    #[arg(long, value_name = "USER")]
    pub(crate) username: Option<String>,
    /// A PEM file of CA certificates to trust besides the system's.
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AuthArg {
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

// ---- Chained roles ----------------------------------------------------------------------------

/// `rolecall login --chain`: roles assumed from the session of the one `--role`.
#[derive(Debug, ClapArgs)]
pub struct ChainArgs {
    /// A role ARN to assume from the session before it, in order (repeat for more hops).
    #[arg(
        long = "chain",
        id = "chain",
        value_name = "ROLE_ARN",
        conflicts_with = "all_roles"
    )]
    pub(crate) roles: Vec<String>,
    /// The external id the chained roles' trust policies ask for.
    #[arg(long, value_name = "ID", requires = "chain")]
    pub(crate) external_id: Option<String>,
    /// The session name of every hop (default: your sign-in's RoleSessionName).
    #[arg(long, value_name = "NAME", requires = "chain")]
    pub(crate) session_name: Option<String>,
}

#[cfg(test)]
mod chain_tests {
    use clap::{CommandFactory, Parser};

    use super::{Args, Command};

    /// Clap checks its definitions only when a command line is parsed: two arguments with one
    /// id made every `rolecall login` panic.
    #[test]
    fn the_arguments_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn chain_reads_hops_in_order_and_an_external_id_needs_a_chain() {
        let args = Args::try_parse_from([
            "rolecall",
            "login",
            "--endpoint",
            "corp",
            "--role",
            "hub/Admin",
            "--chain",
            "arn:a",
            "--chain",
            "arn:b",
            "--external-id",
            "x1",
            "--profile",
            "spoke",
        ])
        .unwrap();
        let Some(Command::Login { chain, .. }) = args.command else {
            panic!("a login");
        };
        assert_eq!(chain.roles, ["arn:a", "arn:b"]);
        assert_eq!(chain.external_id.as_deref(), Some("x1"));
        assert!(
            Args::try_parse_from([
                "rolecall",
                "login",
                "--endpoint",
                "corp",
                "--role",
                "hub/Admin",
                "--external-id",
                "x1",
            ])
            .is_err()
        );
    }
}

/// The tools `rolecall import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportTool {
    Saml2aws,
    AwsAdfs,
}

#[cfg(test)]
mod exec_tests {
    use clap::Parser;

    use super::{Args, Command};

    fn command_of(line: &[&str]) -> (Option<String>, bool, Vec<String>) {
        let args = Args::try_parse_from(line).unwrap();
        let Some(Command::Exec {
            profile,
            force,
            command,
            ..
        }) = args.command
        else {
            panic!("an exec: {line:?}");
        };
        let command = command
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        (profile, force, command)
    }

    /// What follows the program belongs to it, even when it looks like Rolecall's own options.
    #[test]
    fn the_program_takes_every_argument_after_it() {
        let (profile, force, command) = command_of(&[
            "rolecall",
            "exec",
            "--profile",
            "dev",
            "--",
            "aws",
            "--profile",
            "x",
            "--force",
        ]);
        assert_eq!(profile.as_deref(), Some("dev"));
        assert!(!force);
        assert_eq!(command, ["aws", "--profile", "x", "--force"]);
        let (_, _, command) = command_of(&["rolecall", "exec", "sh", "-c", "exit 7"]);
        assert_eq!(command, ["sh", "-c", "exit 7"], "`--` may be left out");
        let (profile, _, command) = command_of(&["rolecall", "exec"]);
        assert_eq!(
            (profile, command.len()),
            (None, 0),
            "the active profile's shell"
        );
    }
}
