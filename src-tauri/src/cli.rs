//! The command line: the same core as the tray, for scripts and headless machines.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rolecall_core::paths::{AppPaths, Environment};

/// Rolecall signs you in to AWS through AD FS or any SAML 2.0 identity provider.
///
/// Without a subcommand it starts the tray app.
#[derive(Debug, Parser)]
#[command(name = "rolecall", version, about, long_about = None)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print where Rolecall keeps its settings and which AWS files it edits.
    Paths {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Exit codes scripts can rely on.
mod exit {
    /// The environment or the input is unusable; the message says how to fix it.
    pub const USAGE: u8 = 2;
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Paths { json } => paths(json),
    }
}

fn paths(json: bool) -> ExitCode {
    let paths = match AppPaths::resolve(&Environment::from_process()) {
        Ok(paths) => paths,
        Err(err) => {
            eprintln!("rolecall: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if json {
        match serde_json::to_string_pretty(&paths) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("rolecall: could not print the paths as JSON: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!("settings file     {}", paths.settings_file().display());
        println!("credentials file  {}", paths.aws_credentials_file.display());
        println!("config file       {}", paths.aws_config_file.display());
    }
    ExitCode::SUCCESS
}
