//! Windows Integrated Authentication at `/adfs/ls/wia`: which user agents AD FS sends there, and
//! the seam where an acceptor plugs in: the built-in NTLMv2 one (`ntlm`), the keytab-backed
//! Kerberos one (`negotiate`), or a test's own. The simulator never issues Kerberos tickets.

/// Substrings of `User-Agent` that AD FS treats as WIA-capable (its `WIASupportedUserAgents`).
pub const WIA_USER_AGENTS: &[&str] = &["MSIE", "Trident", "Edge/", "Windows NT"];

/// The authentication schemes `/adfs/ls/wia` offers, in the order of its challenge headers.
pub const WIA_SCHEMES: [&str; 2] = ["Negotiate", "NTLM"];

/// True when AD FS would redirect this user agent to integrated auth.
pub fn is_wia_user_agent(user_agent: &str) -> bool {
    WIA_USER_AGENTS
        .iter()
        .any(|needle| user_agent.contains(needle))
}

/// Decides one leg of Negotiate or NTLM. `connection_id` names the TCP connection the leg came
/// on: NTLM's three legs must share one.
pub trait WiaAcceptor: Send + Sync + std::fmt::Debug {
    /// `scheme` is `"Negotiate"` or `"NTLM"`; `token` is the decoded `Authorization` token.
    fn accept(&self, scheme: &str, token: &[u8], connection_id: u64) -> WiaStep;
}

/// What the acceptor made of one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WiaStep {
    /// Another leg is needed: `401` with `WWW-Authenticate: <scheme> <base64 of this>`.
    Continue(Vec<u8>),
    /// The caller is `username`: `302` with the session cookies, plus
    /// `WWW-Authenticate: <scheme> <base64 of reply>` when there is a reply.
    Accepted {
        username: String,
        reply: Option<Vec<u8>>,
    },
    /// Not authenticated: the plain challenge again.
    Rejected,
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_browsers_are_wia_capable_and_clients_are_not() {
        assert!(super::is_wia_user_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko"
        ));
        assert!(!super::is_wia_user_agent("rolecall/0.1"));
        assert!(!super::is_wia_user_agent(""));
    }
}
