//! Rolecall's engine, free of any GUI: everything the tray app and the command line do is
//! decided here, so both front ends behave the same and the logic is tested without a display.
//!
//! Nothing in this crate reads the process environment or the clock on its own: callers pass
//! an [`paths::Environment`] (and a clock and HTTP endpoints where needed), which is what lets
//! every test run in its own sandbox.

pub mod accounts;
pub mod aws_files;
pub mod browser_command;
pub mod browser_page;
pub mod chain;
pub mod clock;
pub mod console;
pub mod container_endpoint;
pub mod credential_process;
pub mod demo;
pub mod doctor;
pub mod endpoints;
pub mod engine;
pub mod env_format;
pub mod exec;
pub mod html;
pub mod http;
pub mod idp;
pub mod import;
pub mod ipc;
pub mod last_sign_in;
pub mod logs;
pub mod negotiate;
pub mod ntlm;
pub mod overview;
pub mod partition;
pub mod paths;
pub mod profiles;
pub mod provision;
pub mod recent;
pub mod refresh;
pub mod refused_passwords;
pub mod registry;
pub mod saml;
pub mod secrets;
pub mod settings;
pub mod sign_in;
pub mod store;
pub mod sts;
pub mod tray_menu;
pub mod untrusted;
pub mod webview;
