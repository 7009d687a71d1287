//! AD FS's single sign-on session: its cookies kept per endpoint in the secret store, and
//! sign-out.

use super::*;

/// Ends the endpoint's single sign-on session: tells AD FS (`wsignout1.0`) and forgets the
/// stored cookies. The cookies are forgotten even when AD FS cannot be reached.
pub async fn sign_out(
    endpoint: &Endpoint,
    secrets: Arc<dyn SecretStore>,
) -> Result<(), SignInError> {
    let stored = match read_secret(&secrets, &endpoint.name, SecretKind::SsoCookies).await {
        Ok(stored) => stored,
        // No keyring to reach: nothing was kept there, so there is nothing to forget either.
        Err(SignInError::Secrets(SecretsError::Unavailable { .. })) => return Ok(()),
        Err(err) => return Err(err),
    };
    let forget = {
        let secrets = Arc::clone(&secrets);
        let name = endpoint.name.clone();
        tokio::task::spawn_blocking(move || secrets.delete(&name, SecretKind::SsoCookies))
    };
    let told = async {
        let Some(cookies) = stored else {
            return Ok(());
        };
        let network = endpoint.network();
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let sso_url = sso_cookie_url(&endpoint.url);
        restore_cookies(&jar, &sso_url, &cookies);
        let session = network.session_with_jar(FORMS_USER_AGENT, jar)?;
        let mut url = endpoint.url.clone();
        url.set_path("/adfs/ls/");
        url.set_query(Some("wa=wsignout1.0"));
        let response = session
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|err| request_error(&url, &err))?;
        tracing::info!(endpoint = %endpoint.name, status = %response.status(), "signed out");
        Ok(())
    };
    let (told, forgotten) = tokio::join!(told, forget);
    forgotten
        .map_err(|err| SignInError::Internal {
            detail: err.to_string(),
        })?
        .map_err(SignInError::Secrets)?;
    told
}

/// Where AD FS scopes its SSO cookies (`path=/adfs`).
pub(super) fn sso_cookie_url(endpoint_url: &Url) -> Url {
    let mut url = endpoint_url.clone();
    url.set_path("/adfs/ls/");
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Whether a cookie is part of AD FS's SSO session.
pub(super) fn is_sso_cookie(name: &str) -> bool {
    name.starts_with("MSISAuth")
}

pub(super) fn restore_cookies(jar: &reqwest::cookie::Jar, url: &Url, stored: &Sensitive<String>) {
    for pair in stored.expose().split(';') {
        let pair = pair.trim();
        if let Some((name, _)) = pair.split_once('=')
            && is_sso_cookie(name)
        {
            jar.add_cookie_str(&format!("{pair}; Path=/adfs"), url);
        }
    }
}

pub(super) async fn save_sso_cookies(
    secrets: &Arc<dyn SecretStore>,
    endpoint: &str,
    jar: &reqwest::cookie::Jar,
    url: &Url,
) {
    use reqwest::cookie::CookieStore as _;
    let Some(header) = jar.cookies(url) else {
        return;
    };
    let Ok(header) = header.to_str() else {
        return;
    };
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(name, _)| is_sso_cookie(name))
        })
        .collect();
    if kept.is_empty() {
        return;
    }
    let value = Sensitive::new(kept.join("; "));
    let secrets = Arc::clone(secrets);
    let endpoint = endpoint.to_owned();
    let saved =
        tokio::task::spawn_blocking(move || secrets.set(&endpoint, SecretKind::SsoCookies, &value))
            .await;
    // Not saving only costs a silent sign-in next time; the sign-in itself worked.
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!("could not keep the single sign-on session: {err}"),
        Err(err) => tracing::warn!("could not keep the single sign-on session: {err}"),
    }
}

pub(super) async fn read_secret(
    secrets: &Arc<dyn SecretStore>,
    endpoint: &str,
    kind: SecretKind,
) -> Result<Option<Sensitive<String>>, SignInError> {
    let secrets = Arc::clone(secrets);
    let endpoint = endpoint.to_owned();
    tokio::task::spawn_blocking(move || secrets.get(&endpoint, kind))
        .await
        .map_err(|err| SignInError::Internal {
            detail: err.to_string(),
        })?
        .map_err(SignInError::Secrets)
}
