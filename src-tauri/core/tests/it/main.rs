//! rolecall-core's integration tests, one binary so the suite links once.

mod keyring;
mod negotiate;
mod signin;
