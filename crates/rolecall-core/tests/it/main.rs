//! rolecall-core's integration tests, one binary so the suite links once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "shared test helpers: a failed precondition fails the test, with a message"
)]

mod adfs_pages;
mod aws_files_safety;
mod chain;
mod console;
mod endpoints;
mod engine;
mod keyring;
mod negotiate;
mod ntlm;
mod off_the_workers;
mod provision;
mod refused_passwords;
mod signin;
mod sts;
