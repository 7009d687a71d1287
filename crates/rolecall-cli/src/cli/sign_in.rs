//! Signing in from the command line: the password from standard input or the environment,
//! passcodes from the environment or the terminal, and what the sign-in found.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use rolecall_core::accounts::{Account, AliasCache};
use rolecall_core::clock::SystemClock;
use rolecall_core::idp::{self, Outcome, PasscodePrompt, PasscodeSource, PersonNeeded, SignIn};
use rolecall_core::last_sign_in::{self, LastSignIn, Via};
use rolecall_core::paths::AppPaths;
use rolecall_core::refused_passwords::{self, GuardedSignInError, RefusedPasswords};
use rolecall_core::secrets::{Keyring, SecretStore, Sensitive};
use rolecall_core::settings::{Endpoint, Settings};
use rolecall_core::sign_in::Overrides;
use rolecall_core::untrusted;

use super::{SignInArgs, exit, exit_code_of, fail, load_settings, resolve_paths};

pub(crate) fn read_password(args: &SignInArgs) -> Result<Option<Sensitive<String>>, ExitCode> {
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|err| fail(exit::USAGE, &format!("could not read the password: {err}")))?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            return Err(fail(
                exit::USAGE,
                "--password-stdin read an empty line: give the password on standard input.",
            ));
        }
        return Ok(Some(Sensitive::new(password)));
    }
    Ok(std::env::var("ROLECALL_PASSWORD")
        .ok()
        .filter(|password| !password.is_empty())
        .map(Sensitive::new))
}

/// Passcodes from `ROLECALL_MFA_CODE` (once), or typed at a terminal.
#[derive(Debug)]
struct CommandLinePasscodes {
    from_env: Mutex<Option<Sensitive<String>>>,
}

impl PasscodeSource for CommandLinePasscodes {
    fn passcode(&self, prompt: &PasscodePrompt) -> Option<Sensitive<String>> {
        if let Ok(mut from_env) = self.from_env.lock()
            && let Some(code) = from_env.take()
        {
            return Some(code);
        }
        if prompt.attempt > 1 && std::env::var_os("ROLECALL_MFA_CODE").is_some() {
            // The code from the environment was refused: asking again would only repeat it.
            return None;
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        if let Some(error) = &prompt.error {
            eprintln!("{}", untrusted::for_terminal(error));
        }
        eprint!(
            "One-time passcode for {} ({}): ",
            prompt.endpoint,
            untrusted::for_terminal(&prompt.adapter)
        );
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        stdin.lock().read_line(&mut line).ok()?;
        let code = line.trim().to_owned();
        (!code.is_empty()).then(|| Sensitive::new(code))
    }
}

/// A finished sign-in, with the roles grouped by account.
pub(crate) struct Session {
    pub(crate) paths: AppPaths,
    pub(crate) settings: Settings,
    pub(crate) endpoint: Endpoint,
    pub(crate) signed_in: Box<idp::SignedIn>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) alias_problem: Option<String>,
}

/// Signs in as the command line says, asking for a passcode on the terminal when there is one.
pub(crate) async fn sign_in(args: &SignInArgs) -> Result<Session, ExitCode> {
    let paths = resolve_paths()?;
    let settings = load_settings(&paths)?;
    let overrides = Overrides {
        method: args.auth.map(Into::into),
        username: args.username.clone(),
        ca_file: args.ca_file.clone(),
    };
    let endpoint = rolecall_core::sign_in::endpoint(&settings, &args.target.target(), &overrides)
        .map_err(|err| fail(exit::USAGE, &err.to_string()))?;
    let password = read_password(args)?;
    let passcodes = CommandLinePasscodes {
        from_env: Mutex::new(
            std::env::var("ROLECALL_MFA_CODE")
                .ok()
                .filter(|code| !code.trim().is_empty())
                .map(Sensitive::new),
        ),
    };
    let refused = RefusedPasswords::new(&paths.config_dir);
    let signed_in = sign_in_to(&endpoint, password, &passcodes, &refused).await?;
    let via = Via::Idp(signed_in.via);
    session_of(paths, settings, endpoint, signed_in, via).await
}

/// `rolecall login --saml-response-file`: the SAMLResponse the person copied from a browser
/// instead of a sign-in to the IdP; then everything goes on as after one.
pub(crate) async fn copied(args: &SignInArgs, file: &Path) -> Result<Session, ExitCode> {
    let paths = resolve_paths()?;
    let settings = load_settings(&paths)?;
    let overrides = Overrides {
        method: args.auth.map(Into::into),
        username: args.username.clone(),
        ca_file: args.ca_file.clone(),
    };
    let endpoint = rolecall_core::sign_in::endpoint(&settings, &args.target.target(), &overrides)
        .map_err(|err| fail(exit::USAGE, &err.to_string()))?;
    let text = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .map_err(|err| {
                fail(
                    exit::USAGE,
                    &format!("could not read the SAML response from standard input: {err}"),
                )
            })?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|err| {
            fail(
                exit::USAGE,
                &format!(
                    "could not read the SAML response from {}: {err}",
                    file.display()
                ),
            )
        })?
    };
    let assertion = rolecall_core::sign_in::copied_response(&text, SystemClock.now())
        .map_err(|err| fail(exit::USAGE, &err.to_string()))?;
    // The endpoint's pinned IdP: a response of another one belongs to another endpoint.
    if let (Some(pinned), Some(issuer)) = (&endpoint.issuer, assertion.issuers.first())
        && pinned != issuer
    {
        return Err(fail(
            exit::USAGE,
            &format!(
                "The SAML response was issued by {}, but endpoint \"{}\" signs in with {}. Give \
                 the endpoint of the identity provider you signed in to in the browser.",
                untrusted::for_terminal(issuer),
                endpoint.name,
                untrusted::for_terminal(pinned)
            ),
        ));
    }
    let signed_in = Box::new(idp::SignedIn {
        assertion,
        post_to: None,
        via: idp::SignedInVia::SingleSignOn,
    });
    session_of(paths, settings, endpoint, signed_in, Via::CopiedResponse).await
}

/// What a sign-in gave, kept for the doctor and grouped by account.
async fn session_of(
    paths: AppPaths,
    settings: Settings,
    endpoint: Endpoint,
    signed_in: Box<idp::SignedIn>,
    via: Via,
) -> Result<Session, ExitCode> {
    let mut cache =
        AliasCache::load(&paths.config_dir).map_err(|err| fail(exit::OTHER, &err.to_string()))?;
    last_sign_in::record_or_log(
        &paths.config_dir,
        &endpoint.name,
        LastSignIn::of(&signed_in.assertion, via, SystemClock.now()),
    );
    let (accounts, alias_problem) = idp::accounts_of(
        &signed_in,
        &endpoint,
        &mut cache,
        &settings.preferences.account_names,
    )
    .await;
    if let Some(problem) = &alias_problem {
        tracing::warn!("{problem}");
    }
    Ok(Session {
        paths,
        settings,
        endpoint,
        signed_in,
        accounts,
        alias_problem: alias_problem.map(|problem| problem.to_string()),
    })
}

pub(crate) async fn sign_in_to(
    endpoint: &Endpoint,
    password: Option<Sensitive<String>>,
    passcodes: &dyn PasscodeSource,
    refused: &RefusedPasswords,
) -> Result<Box<idp::SignedIn>, ExitCode> {
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new());
    let outcome = refused_passwords::sign_in(
        SignIn {
            endpoint,
            password,
            secrets,
            passcodes,
        },
        refused,
    )
    .await;
    match outcome {
        Ok(Outcome::SignedIn(signed_in)) => Ok(signed_in),
        Ok(Outcome::NeedsPerson {
            url,
            reason: PersonNeeded::PasswordExpired { username },
        }) => Err(fail(
            exit::NEEDS_PERSON,
            &format!(
                "The identity provider of endpoint \"{}\" says the password of {} has expired \
                 and must be changed. Change it on its page ({}: Sign in from the Rolecall tray \
                 shows it, or open it in a browser), then sign in with the new one and store it \
                 with `rolecall password set --endpoint {}`.",
                endpoint.name,
                untrusted::for_terminal(&username),
                rolecall_core::http::redact(&url),
                endpoint.name
            ),
        )),
        Ok(Outcome::NeedsPerson { url, reason }) => Err(fail(
            exit::NEEDS_PERSON,
            &format!(
                "endpoint \"{}\" needs an interactive sign-in ({reason}). Sign in from the \
                 Rolecall tray, or open {} in a browser.",
                endpoint.name,
                rolecall_core::http::redact(&url)
            ),
        )),
        Err(err @ GuardedSignInError::PasswordRefused { .. }) => {
            Err(fail(exit::BAD_CREDENTIALS, &err.to_string()))
        }
        Err(GuardedSignInError::SignIn(err)) => Err(fail(exit_code_of(&err), &err.to_string())),
    }
}
