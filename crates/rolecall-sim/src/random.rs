//! Random bytes for ids, tokens and MFA contexts, from the operating system's generator: a
//! session cookie or an MFA context the tests could guess would let a test pass that a real
//! IdP fails.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub(crate) fn bytes(len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    if let Err(err) = getrandom::fill(&mut out) {
        // Without the system's generator nothing the simulator hands out would be secret.
        panic!("the operating system gave no random bytes: {err}");
    }
    out
}

/// Standard base64 of `len` random bytes.
pub(crate) fn base64(len: usize) -> String {
    STANDARD.encode(bytes(len))
}

/// A GUID in AD FS's lower-case 8-4-4-4-12 form.
pub(crate) fn guid() -> String {
    let hex: String = bytes(16).iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// An XML ID as AD FS writes them: `_` and a GUID.
pub(crate) fn xml_id() -> String {
    format!("_{}", guid())
}

#[cfg(test)]
mod tests {
    #[test]
    fn guids_are_distinct_and_shaped() {
        let (a, b) = (super::guid(), super::guid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
