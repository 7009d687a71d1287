//! `rolecall roles`: the accounts and roles a sign-in grants.

use std::process::ExitCode;

use rolecall_core::accounts::Account;
use rolecall_core::untrusted;

use super::sign_in::{Session, sign_in};
use super::{SignInArgs, exit, fail};

pub(crate) async fn run(args: SignInArgs, json: bool) -> ExitCode {
    let Session {
        endpoint,
        signed_in,
        accounts,
        alias_problem,
        ..
    } = match sign_in(&args).await {
        Ok(session) => session,
        Err(code) => return code,
    };
    let assertion = &signed_in.assertion;
    if json {
        let document = serde_json::json!({
            "endpoint": endpoint.name,
            "role_session_name": assertion.role_session_name,
            "partition": assertion.partition.id(),
            "session_duration": assertion.session_duration,
            "accounts": accounts.iter().map(account_json).collect::<Vec<_>>(),
            "alias_lookup_problem": alias_problem,
        });
        match serde_json::to_string_pretty(&document) {
            Ok(text) => println!("{text}"),
            Err(err) => return fail(exit::OTHER, &format!("could not print JSON: {err}")),
        }
    } else {
        print_accounts(&assertion.role_session_name, &accounts);
    }
    ExitCode::SUCCESS
}

fn account_json(account: &Account) -> serde_json::Value {
    serde_json::json!({
        "id": account.id,
        "alias": account.alias,
        "alias_source": account.alias_source,
        "roles": account.roles.iter().map(|role| serde_json::json!({
            "name": role.role_name(),
            "role_arn": role.role_arn,
            "principal_arn": role.principal_arn,
        })).collect::<Vec<_>>(),
    })
}

fn print_accounts(session_name: &str, accounts: &[Account]) {
    let roles: usize = accounts.iter().map(|account| account.roles.len()).sum();
    println!(
        "Signed in as {session_name}: {roles} role{} in {} account{}.",
        if roles == 1 { "" } else { "s" },
        accounts.len(),
        if accounts.len() == 1 { "" } else { "s" },
    );
    for account in accounts {
        println!();
        println!("{}", untrusted::for_terminal(&account.label()));
        let width = account
            .roles
            .iter()
            .map(|role| role.role_name().chars().count())
            .max()
            .unwrap_or(0);
        for role in &account.roles {
            println!(
                "  {:width$}  {}",
                untrusted::for_terminal(role.role_name()),
                untrusted::for_terminal(&role.role_arn)
            );
        }
    }
}
