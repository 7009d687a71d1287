//! `rolecall endpoint ...` and `rolecall password ...`: the endpoints of the settings file and
//! their passwords in the keyring, for machines without a settings window and for scripts.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use rolecall_core::endpoints::{self, EndpointEdit, EndpointError, NewEndpoint, PasswordChange};
use rolecall_core::secrets::{Keyring, Sensitive};
use rolecall_core::settings::{Problem, ProxySetting, Settings, SignInMethod};

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
        /// The claims provider to choose when AD FS asks which one (its identifier, such as
        /// "AD AUTHORITY", or the name its button shows).
        #[arg(long, value_name = "PROVIDER")]
        claims_provider: Option<String>,
        /// Tick AD FS's "Keep me signed in" box, so its session lasts longer.
        #[arg(long)]
        keep_me_signed_in: bool,
    },
    /// Change an endpoint: only what you give changes, the rest stays as it is.
    Edit {
        name: String,
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// auto, windows, kerberos, ntlm, forms or webview.
        #[arg(long, value_name = "METHOD")]
        auth: Option<String>,
        /// The username; "" forgets it.
        #[arg(long, value_name = "USER")]
        username: Option<String>,
        /// A PEM file of CA certificates to trust besides the system's; "" forgets it.
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// "system" (the environment's and the system's proxy), "none" or the proxy's URL.
        #[arg(long, value_name = "PROXY")]
        proxy: Option<String>,
        /// The claims provider to choose when AD FS asks which one; "" forgets it.
        #[arg(long, value_name = "PROVIDER")]
        claims_provider: Option<String>,
        /// Tick AD FS's "Keep me signed in" box (true or false).
        #[arg(long, value_name = "BOOL")]
        keep_me_signed_in: Option<bool>,
    },
    /// List the endpoints.
    List,
    /// Give an endpoint a new name; its password, sign-in session and profiles go with it.
    Rename { name: String, new_name: String },
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
    let keyring = Keyring::new();
    match command {
        EndpointCommand::Add {
            name,
            url,
            auth,
            username,
            ca_file,
            trust_hosts,
            claims_provider,
            keep_me_signed_in,
        } => {
            let Some(method) = SignInMethod::from_name(&auth) else {
                return fail(exit::USAGE, &not_a_method(&auth));
            };
            let new = NewEndpoint {
                name,
                url,
                method,
                username,
                ca_file,
                proxy: ProxySetting::System,
                trusted_hosts: trust_hosts,
                claims_provider,
                keep_me_signed_in,
                password: PasswordChange::Keep,
            };
            match endpoints::add(&paths, &keyring, new) {
                Ok(saved) => {
                    println!(
                        "Added endpoint \"{}\": {} ({method}).",
                        saved.name, saved.url
                    );
                }
                Err(err) => return failed(&err),
            }
        }
        EndpointCommand::Edit {
            name,
            url,
            auth,
            username,
            ca_file,
            proxy,
            claims_provider,
            keep_me_signed_in,
        } => {
            let method = match auth.as_deref().map(SignInMethod::from_name) {
                None => None,
                Some(Some(method)) => Some(method),
                Some(None) => return fail(exit::USAGE, &not_a_method(&auth.unwrap_or_default())),
            };
            let proxy = match proxy.map(|text| {
                ProxySetting::parse(&text).map_err(|reason| Problem::Proxy {
                    endpoint: name.clone(),
                    value: text,
                    reason,
                })
            }) {
                None => None,
                Some(Ok(proxy)) => Some(proxy),
                Some(Err(problem)) => return fail(exit::USAGE, &problem.to_string()),
            };
            let edit = EndpointEdit {
                name,
                url,
                method,
                username: username.map(Some),
                ca_file: ca_file.map(Some),
                proxy,
                claims_provider: claims_provider.map(Some),
                keep_me_signed_in,
                ..EndpointEdit::default()
            };
            match endpoints::edit_endpoint(&paths, &keyring, edit) {
                Ok(saved) => println!("Changed endpoint \"{}\": {}.", saved.name, saved.url),
                Err(err) => return failed(&err),
            }
        }
        EndpointCommand::List => match load_settings(&paths) {
            Ok(settings) => print_endpoints(&settings),
            Err(code) => return code,
        },
        EndpointCommand::Rename { name, new_name } => {
            match endpoints::rename(&paths, &keyring, &name, &new_name) {
                Ok(saved) => {
                    let profiles = match saved.profiles.len() {
                        0 => String::new(),
                        1 => ", with its profile".to_owned(),
                        count => format!(", with its {count} profiles"),
                    };
                    println!(
                        "Renamed endpoint \"{name}\" to \"{}\"{profiles}.",
                        saved.name
                    );
                }
                Err(err) => return failed(&err),
            }
        }
        EndpointCommand::Remove { name } => match endpoints::remove(&paths, &keyring, &name) {
            Ok(removed) => println!("{removed}"),
            Err(err) => return failed(&err),
        },
    }
    ExitCode::SUCCESS
}

fn not_a_method(auth: &str) -> String {
    format!(
        "--auth {auth:?} is not a sign-in method: use auto, windows, kerberos, ntlm, forms or \
         webview."
    )
}

/// A refused input is a usage error; anything else is not.
fn failed(err: &EndpointError) -> ExitCode {
    let code = if err.is_invalid_input() {
        exit::USAGE
    } else {
        exit::OTHER
    };
    fail(code, &err.to_string())
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
        let proxy = match &endpoint.proxy {
            ProxySetting::System => String::new(),
            ProxySetting::None => ", no proxy".to_owned(),
            ProxySetting::Url(url) => format!(", proxy {url}"),
        };
        let provider = endpoint
            .claims_provider
            .as_deref()
            .map(|provider| format!(", claims provider {provider:?}"))
            .unwrap_or_default();
        let kmsi = if endpoint.keep_me_signed_in {
            ", keeps you signed in"
        } else {
            ""
        };
        println!(
            "{}  {} ({}{user}{trusted}{proxy}{provider}{kmsi})",
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
    let change = match &command {
        PasswordCommand::Set { .. } => {
            let mut line = String::new();
            if let Err(err) = std::io::stdin().lock().read_line(&mut line) {
                return fail(exit::USAGE, &format!("could not read the password: {err}"));
            }
            let password = Sensitive::new(line.trim_end_matches(['\r', '\n']).to_owned());
            drop(Sensitive::new(line));
            if password.expose().is_empty() {
                return fail(
                    exit::USAGE,
                    "no password on standard input: give it as the first line, e.g. from a \
                     password manager's command line.",
                );
            }
            PasswordChange::Set(password)
        }
        PasswordCommand::Forget { .. } => PasswordChange::Forget,
    };
    match endpoints::change_password(&paths, &Keyring::new(), name, change) {
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
        Err(err) => failed(&err),
    }
}
