//! Unpredictable-enough bytes for ids, tokens and MFA contexts, from the standard library's
//! per-process random hash keys (a loopback simulator needs no cryptographic generator).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn next_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = crate::clock::machine_time()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

pub(crate) fn bytes(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&next_u64().to_le_bytes());
    }
    out.truncate(len);
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
