//! `rolecall status`: the managed profiles from the files alone, as a table, JSON or one line
//! per profile from a template (for a shell prompt).

use std::process::ExitCode;

use rolecall_core::clock::SystemClock;
use rolecall_core::overview::{self, Overview};

use super::{exit, fail, resolve_paths};

pub(crate) struct Request {
    pub json: bool,
    pub format: Option<String>,
    pub profile: Option<String>,
}

pub(crate) fn run(request: Request) -> ExitCode {
    let paths = match resolve_paths() {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let mut overview = overview::read(&paths, SystemClock.now());
    if let Some(profile) = &request.profile {
        overview.profiles.retain(|line| &line.profile == profile);
    }
    if request.json {
        return match serde_json::to_string_pretty(&overview) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(err) => fail(exit::OTHER, &format!("could not print JSON: {err}")),
        };
    }
    if let Some(template) = &request.format {
        let mut out = String::new();
        for line in &overview.profiles {
            match overview::render(template, line) {
                Ok(text) => {
                    out.push_str(&text);
                    out.push('\n');
                }
                Err(err) => return fail(exit::USAGE, &err.to_string()),
            }
        }
        print!("{out}");
        return ExitCode::SUCCESS;
    }
    print!("{}", table(&overview));
    ExitCode::SUCCESS
}

fn table(overview: &Overview) -> String {
    let mut out = String::new();
    if overview.profiles.is_empty() {
        out.push_str(
            "Rolecall manages no profiles yet: `rolecall login` or Use in the tray writes one.\n",
        );
    }
    let rows: Vec<[String; 6]> = overview
        .profiles
        .iter()
        .map(|line| {
            [
                format!("{}{}", if line.active { "* " } else { "  " }, line.profile),
                line.role.clone(),
                line.account_id.clone(),
                line.endpoint.clone(),
                overview::render("{expires}", line).unwrap_or_default(),
                overview::short_left(line),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let header = [
            "  PROFILE",
            "ROLE",
            "ACCOUNT",
            "ENDPOINT",
            "EXPIRES",
            "LEFT",
        ]
        .map(str::to_owned);
        let mut widths = [0; 6];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    for line in &overview.profiles {
        if let Some(needs) = &line.needs {
            out.push_str(&format!("{}: {needs}\n", line.profile));
        }
    }
    for problem in &overview.problems {
        out.push_str(&format!("⚠ {problem}\n"));
    }
    out
}
