//! The AWS files check: what would make the AWS tools refuse a file (a byte order mark, a
//! repeated section or key), profiles of Rolecall's that someone else's keys took over or that
//! hold hand-written keys, and the profiles other tools own.

use std::collections::BTreeSet;

use super::{Check, CheckKind, Status};
use crate::aws_files::{AwsFiles, Finding};
use crate::paths::AppPaths;
use crate::registry::Registry;

pub(super) fn checks(paths: &AppPaths) -> Vec<Check> {
    let mut checks = Vec::new();
    let registered: BTreeSet<String> = match Registry::load(&paths.config_dir) {
        Ok(registry) => registry.all().keys().cloned().collect(),
        Err(err) => {
            checks.push(
                Check::new(CheckKind::AwsFiles, Status::Fail, err.to_string()).about(
                    paths
                        .config_dir
                        .join(Registry::FILE_NAME)
                        .display()
                        .to_string(),
                ),
            );
            BTreeSet::new()
        }
    };
    let files = AwsFiles::from_paths(paths);
    let findings = match files.inspect(|name| registered.contains(name)) {
        Ok(findings) => findings,
        Err(err) => {
            checks.push(Check::new(
                CheckKind::AwsFiles,
                Status::Fail,
                err.to_string(),
            ));
            return checks;
        }
    };
    let mut others = Vec::new();
    let mut problems = Vec::new();
    for finding in findings {
        match finding {
            Finding::OwnedElsewhere {
                profile,
                owner,
                registered: false,
                ..
            } => {
                let line = format!("{profile} ({owner})");
                if !others.contains(&line) {
                    others.push(line);
                }
            }
            finding => problems.push(problem(finding)),
        }
    }
    let exists = |path: &std::path::Path| {
        if path.exists() {
            path.display().to_string()
        } else {
            format!("{} (not there yet)", path.display())
        }
    };
    let mut summary = Check::new(
        CheckKind::AwsFiles,
        Status::Ok,
        match registered.len() {
            0 => "Rolecall manages no profile yet".to_owned(),
            n => format!(
                "Rolecall manages {n} profile{}: {}",
                if n == 1 { "" } else { "s" },
                registered.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        },
    )
    .detail(format!(
        "credentials file: {}",
        exists(files.credentials_file())
    ))
    .detail(format!("config file: {}", exists(files.config_file())));
    if !others.is_empty() {
        summary = summary.detail(format!(
            "profiles other tools own (Rolecall leaves them alone): {}",
            others.join("; ")
        ));
    }
    if problems.is_empty() {
        summary
            .finding
            .push_str("; the AWS tools can read both files");
    }
    checks.push(summary);
    checks.extend(problems);
    checks
}

fn lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn problem(finding: Finding) -> Check {
    match finding {
        Finding::ByteOrderMark { path } => Check::new(
            CheckKind::AwsFiles,
            Status::Fail,
            "the file starts with a byte order mark, which the AWS CLI and SDKs cannot read",
        )
        .about(path.display().to_string())
        .action("Save it as UTF-8 without a byte order mark (in most editors: Encoding → UTF-8)."),
        Finding::RepeatedSection {
            path,
            profile,
            lines: at,
        } => Check::new(
            CheckKind::AwsFiles,
            Status::Fail,
            format!(
                "the profile \"{profile}\" has {} sections (lines {}): the AWS CLI refuses the \
                 whole file",
                at.len(),
                lines(&at)
            ),
        )
        .about(path.display().to_string())
        .action(
            "Merge them into one section (the AWS SDKs read them as one, the last value winning).",
        ),
        Finding::RepeatedKey {
            path,
            profile,
            key,
            lines: at,
        } => Check::new(
            CheckKind::AwsFiles,
            Status::Fail,
            format!(
                "`{key}` appears {} times in the profile \"{profile}\" (lines {}): the AWS CLI \
                 refuses the whole file",
                at.len(),
                lines(&at)
            ),
        )
        .about(path.display().to_string())
        .action("Keep one of them (the AWS SDKs use the last)."),
        Finding::HandWrittenKey {
            path,
            profile,
            key,
            line,
        } => Check::new(
            CheckKind::AwsFiles,
            Status::Warn,
            format!(
                "the profile \"{profile}\" is Rolecall's, but `{key}` (line {line}) is not a key \
                 Rolecall writes"
            ),
        )
        .about(path.display().to_string())
        .action(
            "Rolecall keeps it as it is. Remove it if nobody needs it; a setting such as region \
             belongs in the config file.",
        ),
        Finding::OwnedElsewhere {
            path,
            profile,
            owner,
            ..
        } => Check::new(
            CheckKind::AwsFiles,
            Status::Fail,
            format!(
                "Rolecall's profile \"{profile}\" now holds {owner}, so Rolecall will not renew \
                 it"
            ),
        )
        .about(path.display().to_string())
        .action(format!(
            "Take those keys out of \"{profile}\", or log in to its role under another profile \
             name (`rolecall login ... --profile NAME`)."
        )),
    }
}
