//! `rolecall login`: sign in, assume the chosen roles, write their profiles.

use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::chain::Chain;
use rolecall_core::clock::SystemClock;
use rolecall_core::provision::{self, Request as Provision, Roles};
use rolecall_core::secrets::mask_access_key;
use rolecall_core::untrusted;

use super::args::ChainArgs;
use super::{Session, SignInArgs, exit, fail, sign_in};

/// What `rolecall login` was asked.
#[derive(Debug)]
pub struct Request {
    pub sign_in: SignInArgs,
    pub roles: Vec<String>,
    pub all_roles: bool,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub duration: Option<u32>,
    /// A SAMLResponse copied from a browser, instead of a sign-in (`-`: standard input).
    pub saml_response_file: Option<std::path::PathBuf>,
    pub chain: ChainArgs,
}

pub async fn run(request: Request) -> ExitCode {
    if let Err(err) = provision::check_overrides(request.duration, request.region.as_deref()) {
        return fail(exit::USAGE, &err.to_string());
    }
    // A chain that cannot run is refused before anyone signs in.
    if !request.chain.roles.is_empty() {
        if request.roles.len() != 1 {
            return fail(exit::USAGE, ONE_SOURCE);
        }
        if let Err(problem) = chain_of_args(&request.chain).check() {
            return fail(exit::USAGE, &format!("--chain: {problem}"));
        }
    }
    let session = match &request.saml_response_file {
        Some(file) => sign_in::copied(&request.sign_in, file).await,
        None => sign_in(&request.sign_in).await,
    };
    let Session {
        paths,
        settings,
        endpoint,
        signed_in,
        accounts,
        ..
    } = match session {
        Ok(session) => session,
        Err(code) => return code,
    };
    let assertion = Arc::new(signed_in.assertion);
    let aliases = accounts
        .iter()
        .filter_map(|account| Some((account.id.clone(), account.alias.clone()?)))
        .collect();
    let chosen = if request.all_roles {
        Vec::new()
    } else {
        match provision::select_roles(&assertion.roles, &aliases, &request.roles) {
            Ok(chosen) => chosen,
            Err(err) => return fail(exit::USAGE, &err.to_string()),
        }
    };
    let roles = match Roles::chosen(
        chosen,
        request.all_roles,
        request.profile,
        &settings.preferences.active_profile,
    ) {
        Ok(roles) => roles,
        Err(err) => return fail(exit::USAGE, &err.to_string()),
    };
    let roles = match chained(roles, request.chain) {
        Ok(roles) => roles,
        Err(message) => return fail(exit::USAGE, message),
    };
    let files = AwsFiles::from_paths(&paths);
    let env = rolecall_core::paths::Environment::from_process();
    let ctx = provision::Context {
        env: &env,
        files: &files,
        config_dir: &paths.config_dir,
        clock: &SystemClock,
        preferences: &settings.preferences,
        endpoint: &endpoint,
        aliases: &aliases,
        limits: provision::limits_on_disk(&paths.config_dir),
    };
    let roles_written = roles.clone();
    let written = match provision::provision(
        &ctx,
        &assertion,
        Provision {
            roles,
            duration_secs: request.duration,
            region: request.region,
        },
    )
    .await
    {
        Ok(written) => written,
        Err(err @ (provision::ProvisionError::Sts(_) | provision::ProvisionError::Chain(_))) => {
            return fail(exit::USAGE, &err.to_string());
        }
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };

    for (name, role, credentials) in &written.profiles {
        let minutes = (credentials.expiration - written.at).whole_minutes();
        let chain = chain_of(name, &roles_written);
        println!(
            "{name}: {}{chain} ({}), expires in {}h{:02}m",
            untrusted::for_terminal(&role.role_arn),
            mask_access_key(&credentials.access_key_id),
            minutes / 60,
            minutes % 60
        );
    }
    if let Some(report) = &written.report {
        println!(
            "Wrote {} profile{} to {}.",
            written.profiles.len(),
            if written.profiles.len() == 1 { "" } else { "s" },
            files.credentials_file().display()
        );
        for warning in &report.warnings {
            eprintln!("rolecall: {warning}");
        }
    }
    for (name, role, err) in &written.failed {
        let line = format!("{name} ({}): {err}", role.role_arn);
        eprintln!("rolecall: {}", untrusted::for_terminal(&line));
    }
    if written.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::OTHER)
    }
}

const ONE_SOURCE: &str =
    "--chain starts from one role: give exactly one --role, where the chain starts.";

fn chain_of_args(args: &ChainArgs) -> Chain {
    Chain {
        roles: args.roles.clone(),
        external_id: args.external_id.clone(),
        session_name: args.session_name.clone(),
    }
}

/// `--chain` turns the one role chosen into the source of a chain.
fn chained(roles: Roles, args: ChainArgs) -> Result<Roles, &'static str> {
    if args.roles.is_empty() {
        return Ok(roles);
    }
    match roles {
        Roles::One { role, profile } => Ok(Roles::Chain {
            role,
            chain: chain_of_args(&args),
            profile,
        }),
        _ => Err(ONE_SOURCE),
    }
}

/// " → role → role" for a chained profile, as the login printed it.
fn chain_of(profile: &str, roles: &Roles) -> String {
    match roles {
        Roles::Chain {
            chain, profile: p, ..
        } if p == profile => chain
            .roles
            .iter()
            .map(|role| format!(" → {}", untrusted::for_terminal(role)))
            .collect(),
        _ => String::new(),
    }
}
