//! `rolecall endpoint ...` and `rolecall password ...`: the endpoints of the settings file and
//! their passwords in the keyring, for machines without a settings window and for scripts.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use rolecall_core::refused_passwords::RefusedPasswords;
use rolecall_core::secrets::{Keyring, SecretKind, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings, SignInMethod};

use super::{exit, fail, load_settings, resolve_paths};

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Add an endpoint: an AD FS host or any IdP-initiated sign-in URL.
    Add {
        /// A short name, shown in menus.
        name: String,
        #[arg(long, value_name = "URL")]
        url: String,
        /// auto, windows, kerberos, ntlm, forms or webview.
        #[arg(long, value_name = "METHOD", default_value = "auto")]
        auth: String,
        #[arg(long, value_name = "USER")]
        username: Option<String>,
        /// A PEM file of CA certificates to trust besides the system's.
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Another host that may receive the password, NTLM answers and Kerberos tickets
        /// (repeat for more); by default only the endpoint's own host does.
        #[arg(long = "trust-host", value_name = "HOST")]
        trust_hosts: Vec<String>,
    },
    /// List the endpoints.
    List,
    /// Remove an endpoint and forget its password and single sign-on session.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Store the endpoint's password (read from the first line of standard input).
    Set {
        #[arg(long, value_name = "NAME")]
        endpoint: String,
    },
    /// Forget the endpoint's password.
    Forget {
        #[arg(long, value_name = "NAME")]
        endpoint: String,
    },
}

pub fn endpoint(command: EndpointCommand) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let settings = match load_settings(&paths) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    match command {
        EndpointCommand::Add {
            name,
            url,
            auth,
            username,
            ca_file,
            trust_hosts,
        } => {
            let Some(method) = SignInMethod::from_name(&auth) else {
                return fail(
                    exit::USAGE,
                    &format!(
                        "--auth {auth:?} is not a sign-in method: use auto, windows, kerberos, \
                         ntlm, forms or webview."
                    ),
                );
            };
            let mut endpoint = match Endpoint::new(name.clone(), &url) {
                Ok(endpoint) => endpoint,
                Err(err) => return fail(exit::USAGE, &err.to_string()),
            };
            endpoint.method = method;
            endpoint.username = username;
            endpoint.ca_file = ca_file;
            for host in trust_hosts {
                // Kept as the settings file keeps it; anything else is refused on save.
                endpoint
                    .trusted_hosts
                    .push(rolecall_core::settings::trusted_host(&host).unwrap_or(host));
            }
            if let Err(err) =
                Settings::update(&paths, |settings| settings.add_endpoint(endpoint.clone()))
            {
                return fail(exit::USAGE, &err.to_string());
            }
            println!("Added endpoint \"{name}\": {} ({method}).", endpoint.url);
        }
        EndpointCommand::List => print_endpoints(&settings),
        EndpointCommand::Remove { name } => {
            if let Err(err) =
                Settings::update(&paths, |settings| settings.remove_endpoint(&name).map(drop))
            {
                return fail(exit::USAGE, &err.to_string());
            }
            let _ = RefusedPasswords::new(&paths.config_dir).clear(&name);
            // The sign-in window's cookies and cache for the endpoint go with it.
            if let Err(err) = rolecall_core::webview::delete_data(&paths.config_dir, &name) {
                eprintln!("rolecall: removed \"{name}\", but {err}");
                return ExitCode::from(exit::OTHER);
            }
            if let Err(err) = Keyring::new().forget_endpoint(&name) {
                eprintln!("rolecall: removed \"{name}\", but its secrets stay: {err}");
                return ExitCode::from(exit::OTHER);
            }
            println!("Removed endpoint \"{name}\" and forgot its secrets.");
        }
    }
    ExitCode::SUCCESS
}

fn print_endpoints(settings: &Settings) {
    if settings.endpoints.is_empty() {
        println!(
            "No endpoints yet. Add one: rolecall endpoint add corp --url https://sts.corp.example"
        );
    }
    for endpoint in &settings.endpoints {
        let user = endpoint
            .username
            .as_deref()
            .map(|user| format!(", {user}"))
            .unwrap_or_default();
        let trusted = if endpoint.trusted_hosts.is_empty() {
            String::new()
        } else {
            format!(", also trusts {}", endpoint.trusted_hosts.join(", "))
        };
        println!(
            "{}  {} ({}{user}{trusted})",
            endpoint.name, endpoint.url, endpoint.method
        );
    }
}

pub fn password(command: PasswordCommand) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let settings = match load_settings(&paths) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let name = match &command {
        PasswordCommand::Set { endpoint } | PasswordCommand::Forget { endpoint } => endpoint,
    };
    if settings.endpoint(name).is_none() {
        return fail(
            exit::USAGE,
            &format!("there is no endpoint named \"{name}\" (rolecall endpoint list)."),
        );
    }
    let keyring = Keyring::new();
    let result = match &command {
        PasswordCommand::Set { .. } => {
            let mut line = String::new();
            if let Err(err) = std::io::stdin().lock().read_line(&mut line) {
                return fail(exit::USAGE, &format!("could not read the password: {err}"));
            }
            let password = line.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return fail(
                    exit::USAGE,
                    "no password on standard input: give it as the first line, e.g. from a \
                     password manager's command line.",
                );
            }
            keyring.set(
                name,
                SecretKind::Password,
                &Sensitive::new(password.to_owned()),
            )
        }
        PasswordCommand::Forget { .. } => keyring.delete(name, SecretKind::Password),
    };
    // A password stored or forgotten by the person is no longer the one the IdP refused.
    if result.is_ok()
        && let Err(err) = RefusedPasswords::new(&paths.config_dir).clear(name)
    {
        return fail(
            exit::OTHER,
            &format!(
                "the keyring has the change, but Rolecall could not forget that the old password \
                 of \"{name}\" was refused ({err}). Delete the file \"{name}\" in {}, then try \
                 again.",
                paths
                    .config_dir
                    .join(rolecall_core::refused_passwords::FOLDER)
                    .display()
            ),
        );
    }
    match result {
        Ok(()) => {
            match command {
                PasswordCommand::Set { .. } => {
                    println!("Stored the password of \"{name}\" in the keyring.");
                }
                PasswordCommand::Forget { .. } => {
                    println!("Forgot the password of \"{name}\".");
                }
            }
            ExitCode::SUCCESS
        }
        Err(err) => fail(exit::OTHER, &err.to_string()),
    }
}
