//! `rolecall import saml2aws|aws-adfs`: prints the plan the core makes from the other tool's
//! settings, and saves it with `--apply`.

use std::path::PathBuf;
use std::process::ExitCode;

use rolecall_core::import::{self, Outcome, Plan, Source};
use rolecall_core::paths::Environment;

use super::args::ImportTool;
use super::{exit, fail, load_settings, resolve_paths};

pub fn run(tool: ImportTool, file: Option<PathBuf>, apply: bool) -> ExitCode {
    let source = match tool {
        ImportTool::Saml2aws => Source::Saml2aws,
        ImportTool::AwsAdfs => Source::AwsAdfs,
    };
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let file = match file {
        Some(file) => file,
        None => match source.default_file(&Environment::from_process(), &paths) {
            Ok(file) => file,
            Err(err) => return fail(exit::USAGE, &err.to_string()),
        },
    };
    let text = match std::fs::read(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return fail(
                exit::USAGE,
                &format!(
                    "There is no {} settings file at {}. Give its place with --file.",
                    source.name(),
                    file.display()
                ),
            );
        }
        Err(err) => {
            return fail(
                exit::USAGE,
                &format!("Could not read {}: {err}", file.display()),
            );
        }
    };
    let settings = match load_settings(&paths) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let plan = import::plan(source, &text, &settings);
    print!("{}", describe(&plan, &file.display().to_string()));
    let additions = plan.additions().count();
    if additions == 0 {
        return ExitCode::SUCCESS;
    }
    if !apply {
        println!(
            "\nNothing is saved yet. To add {}: rolecall import {} --apply{}",
            if additions == 1 {
                "this endpoint".to_owned()
            } else {
                format!("these {additions} endpoints")
            },
            source.name(),
            match &file_argument(&file, source) {
                Some(argument) => format!(" --file {argument}"),
                None => String::new(),
            }
        );
        return ExitCode::SUCCESS;
    }
    match import::apply(&paths, &plan) {
        Ok(names) => {
            println!("\nSaved {}.", quoted_list(&names));
            ExitCode::SUCCESS
        }
        Err(err) => fail(exit::USAGE, &format!("Nothing was saved: {err}")),
    }
}

/// The plan as a person reads it: one paragraph per account found.
fn describe(plan: &Plan, file: &str) -> String {
    let mut out = String::new();
    if plan.entries.is_empty() {
        out.push_str(&format!(
            "{file} has no {} sign-in settings to import.\n",
            plan.source.name()
        ));
        return out;
    }
    out.push_str(&format!("From {file}:\n"));
    for entry in &plan.entries {
        let from = entry.from.join(", ");
        match &entry.outcome {
            Outcome::Add(endpoint) => {
                out.push_str(&format!(
                    "\n+ {from} → endpoint \"{}\": {} ({}{})\n",
                    endpoint.name,
                    endpoint.url,
                    endpoint.method,
                    endpoint
                        .username
                        .as_deref()
                        .map(|user| format!(", user {user}"))
                        .unwrap_or_default()
                ));
            }
            Outcome::AlreadyThere { endpoint } => {
                out.push_str(&format!(
                    "\n= {from}: already in Rolecall as endpoint \"{endpoint}\"\n"
                ));
            }
            Outcome::Skip { reason } => {
                out.push_str(&format!("\n- {from}: not imported. {reason}\n"));
            }
        }
        for note in &entry.notes {
            out.push_str(&format!("  {note}\n"));
        }
    }
    out
}

/// `--file …` to repeat in the hint, unless the file is where the tool keeps it.
fn file_argument(file: &std::path::Path, source: Source) -> Option<String> {
    let paths = resolve_paths().ok()?;
    let usual = source
        .default_file(&Environment::from_process(), &paths)
        .ok()?;
    (usual != file).then(|| rolecall_core::env_format::sh_quote(&file.display().to_string()))
}

fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
    match quoted.as_slice() {
        [one] => format!("endpoint {one}"),
        _ => format!("endpoints {}", quoted.join(", ")),
    }
}
