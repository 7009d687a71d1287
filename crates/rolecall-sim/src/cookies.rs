//! The `MSISAuth` cookie family: reading the `Cookie` header, joining the split token back
//! together, and writing the `Set-Cookie` values that start and end a session.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;

/// AD FS splits its session token into cookies of at most this many characters.
pub const MSISAUTH_CHUNK: usize = 2000;

/// The cookies of one `Cookie` header, in order, as (name, value).
pub(crate) fn parse(header: &str) -> Vec<(&str, &str)> {
    header
        .split(';')
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.trim(), value.trim().trim_matches('"')))
        })
        .collect()
}

/// The session token carried by `MSISAuth`, `MSISAuth1`, `MSISAuth2`, ... joined in order.
pub(crate) fn msisauth_token(cookies: &[(&str, &str)]) -> Option<String> {
    let find = |name: &str| cookies.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let mut token = find("MSISAuth").filter(|v| !v.is_empty())?.to_owned();
    for index in 1.. {
        match find(&format!("MSISAuth{index}")) {
            Some(part) if !part.is_empty() => token.push_str(part),
            _ => break,
        }
    }
    Some(token)
}

/// How many `MSISAuth*` cookies a request carries (to clear them all on sign-out).
pub(crate) fn msisauth_count(cookies: &[(&str, &str)]) -> usize {
    cookies.iter().filter(|(n, _)| is_msisauth_name(n)).count()
}

fn is_msisauth_name(name: &str) -> bool {
    name.strip_prefix("MSISAuth")
        .is_some_and(|rest| rest.is_empty() || rest.bytes().all(|b| b.is_ascii_digit()))
}

fn chunk_name(index: usize) -> String {
    if index == 0 {
        "MSISAuth".to_owned()
    } else {
        format!("MSISAuth{index}")
    }
}

/// `Set-Cookie` values that hand `token` to the client: session cookies, or persistent ones
/// that last `persistent` ("Keep me signed in"). No `Secure`: the simulator speaks plain http
/// on loopback, where clients would drop a `Secure` cookie.
pub(crate) fn session_set_cookies(
    token: &str,
    now: OffsetDateTime,
    persistent: Option<std::time::Duration>,
) -> Vec<String> {
    let lasting = persistent
        .map(|lifetime| format!("; Max-Age={}", lifetime.as_secs()))
        .unwrap_or_default();
    let mut out: Vec<String> = token
        .as_bytes()
        .chunks(MSISAUTH_CHUNK)
        .enumerate()
        .map(|(i, part)| {
            format!(
                "{}={}; path=/adfs; HttpOnly{lasting}",
                chunk_name(i),
                String::from_utf8_lossy(part)
            )
        })
        .collect();
    let stamp = STANDARD.encode(crate::assertion::instant(now));
    out.push(format!("MSISAuthenticated={stamp}; path=/adfs; HttpOnly"));
    out
}

/// `Set-Cookie` values that remove the session cookies (at least `count` token chunks).
pub(crate) fn clearing_set_cookies(count: usize) -> Vec<String> {
    (0..count.max(1))
        .map(chunk_name)
        .chain(["MSISAuthenticated".to_owned()])
        .map(|name| {
            format!(
                "{name}=; path=/adfs; HttpOnly; Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_token_joins_back_in_order() {
        let token = "a".repeat(2000) + &"b".repeat(2000) + "ccc";
        let set = session_set_cookies(&token, OffsetDateTime::UNIX_EPOCH, None);
        assert_eq!(set.len(), 4, "three chunks and MSISAuthenticated: {set:?}");
        let header = set
            .iter()
            .rev()
            .map(|c| c.split(';').next().unwrap())
            .collect::<Vec<_>>()
            .join("; ");
        let cookies = parse(&header);
        assert_eq!(msisauth_token(&cookies).as_deref(), Some(token.as_str()));
        assert_eq!(msisauth_count(&cookies), 3);
    }

    #[test]
    fn no_msisauth_means_no_token() {
        assert_eq!(msisauth_token(&parse("MSISAuth1=x; other=y")), None);
        assert_eq!(msisauth_token(&parse("")), None);
    }
}
