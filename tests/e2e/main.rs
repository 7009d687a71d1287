//! End-to-end tests: the real `rolecall` binary, each test in its own sandbox and, where a
//! desktop is needed, its own Xvfb display and session bus.

mod architecture;
mod cli;
mod roles;
mod tray;
