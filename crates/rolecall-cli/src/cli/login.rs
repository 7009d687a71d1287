//! `rolecall login`: sign in, assume the chosen roles, write their profiles.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use rolecall_core::aws_files::AwsFiles;
use rolecall_core::http::Network;
use rolecall_core::paths::Environment;
use rolecall_core::profiles::{self, Registry, Writer};
use rolecall_core::saml::RolePair;
use rolecall_core::secrets::mask_access_key;
use rolecall_core::sts::{SessionLimits, Sts};
use rolecall_core::untrusted;

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
}

pub async fn run(request: Request) -> ExitCode {
    if let Some(duration) = request.duration
        && !(900..=43_200).contains(&duration)
    {
        return fail(
            exit::USAGE,
            &format!("--duration {duration} is not from 900 (15 minutes) to 43200 (12 hours)."),
        );
    }
    let Session {
        paths,
        settings,
        endpoint,
        signed_in,
        accounts,
        ..
    } = match sign_in(&request.sign_in).await {
        Ok(session) => session,
        Err(code) => return code,
    };
    let assertion = Arc::new(signed_in.assertion);
    let aliases = accounts
        .iter()
        .filter_map(|account| Some((account.id.clone(), account.alias.clone()?)))
        .collect();
    let chosen: Vec<RolePair> = if request.all_roles {
        assertion.roles.clone()
    } else {
        match profiles::select_roles(&assertion.roles, &aliases, &request.roles) {
            Ok(chosen) => chosen,
            Err(err) => return fail(exit::USAGE, &err.to_string()),
        }
    };
    let preferences = &settings.preferences;
    let files = AwsFiles::from_paths(&paths);
    let mut registry = match Registry::load(&paths.config_dir) {
        Ok(registry) => registry,
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    let named: Vec<(RolePair, String)> = if chosen.len() == 1 && !request.all_roles {
        let name = request
            .profile
            .clone()
            .unwrap_or_else(|| preferences.active_profile.clone());
        vec![(chosen[0].clone(), name)]
    } else {
        if request.profile.is_some() {
            return fail(
                exit::USAGE,
                "--profile names the profile of one role; several roles get names from the \
                 profile template (Settings → Profiles).",
            );
        }
        let foreign = match files.foreign_profiles(|name| registry.get(name).is_some()) {
            Ok(foreign) => foreign,
            Err(err) => return fail(exit::OTHER, &err.to_string()),
        };
        profiles::assign_names(
            &chosen,
            &preferences.profile_template,
            &aliases,
            &endpoint.name,
            &foreign,
        )
    };

    let region = request
        .region
        .clone()
        .or_else(|| preferences.default_region.clone());
    let sts_region = region
        .clone()
        .or_else(|| assertion.region.clone())
        .unwrap_or_else(|| assertion.partition.default_region().to_owned());
    let network = Network {
        ca_file: endpoint.ca_file.clone(),
        proxy: endpoint.proxy.clone(),
    };
    let sts = match Sts::new(
        &network,
        &Environment::from_process(),
        assertion.partition,
        &sts_region,
    ) {
        Ok(sts) => sts,
        Err(err) => return fail(exit::USAGE, &err.to_string()),
    };
    let limits = match SessionLimits::load(&paths.config_dir) {
        Ok(limits) => Arc::new(Mutex::new(limits)),
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };
    // --region is for every profile; otherwise the settings' region of each role or account.
    let role_regions = if request.region.is_some() {
        Default::default()
    } else {
        preferences.role_regions(named.iter().map(|(role, _)| role))
    };
    let writer = Writer {
        sts: &sts,
        files: &files,
        endpoint: &endpoint,
        region,
        role_regions,
        output: preferences.default_output.clone(),
        setting_secs: request
            .duration
            .unwrap_or(preferences.session_duration_secs),
        limits: &limits,
    };
    let written = match profiles::assume_and_write(&writer, &assertion, named, &mut registry).await
    {
        Ok(written) => written,
        Err(err) => return fail(exit::OTHER, &err.to_string()),
    };

    let now = rolecall_core::clock::SystemClock.now();
    for (name, role, credentials) in &written.profiles {
        let minutes = (credentials.expiration - now).whole_minutes();
        println!(
            "{name}: {} ({}), expires in {}h{:02}m",
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
