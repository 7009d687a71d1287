//! End-to-end tests: the real `rolecall` binary, each test in its own sandbox and, where a
//! desktop is needed, its own Xvfb display and session bus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "shared test helpers: a failed precondition fails the test, with a message"
)]

mod adfs_pages;
mod architecture;
mod browser;
mod cli;
mod console;
mod consumers;
mod demo;
mod doctor;
mod exec;
mod foreign_keys;
mod idle;
mod kerberos;
mod leaks;
mod lockout;
mod login;
mod notifications;
mod partitions;
mod roles;
mod settings_window;
mod tray;
mod tray_copy;
mod tray_roles;
mod tray_switch;
mod webview;
