//! The one layout every store uses: a value in one entry when it fits, else chunks plus a header.
//!
//! Writes put the chunks first and the header last, so a reader never sees a header whose chunks
//! are not written yet; a write cut short leaves a header whose checksum no longer matches, which
//! reads as "damaged" (sign in again), never as a wrong value.

use super::{SecretAction, SecretKind, SecretsError, Sensitive};

/// The start of a header entry. A value that itself starts with this is always chunked, so a
/// header and a stored value can never be confused.
const MARKER: &str = "rolecall-chunks:";

/// Far more than any SSO cookie jar (1,000 × 1,280 units ≈ 1.2 M characters), small enough that
/// a damaged header cannot send a reader into a long loop.
const MAX_CHUNKS: usize = 1000;

/// One keyring entry's worth of storage, addressed by its user string.
pub(super) trait Slots {
    fn read(&self, user: &str) -> Result<Option<String>, Fault>;
    fn write(&self, user: &str, value: &str) -> Result<(), Fault>;
    /// Removes the entry; says whether there was one.
    fn remove(&self, user: &str) -> Result<bool, Fault>;
}

/// A store's failure, before it is told which endpoint and action it was about.
#[derive(Debug)]
pub(super) enum Fault {
    Unavailable(String),
    Denied(String),
    Damaged,
    Ambiguous { user: String, count: usize },
    Other(String),
}

impl Fault {
    fn about(self, action: SecretAction, endpoint: &str, kind: SecretKind) -> SecretsError {
        let endpoint = endpoint.to_owned();
        match self {
            Fault::Unavailable(detail) => {
                tracing::warn!(%endpoint, %kind, %action, %detail, "keyring unavailable");
                SecretsError::Unavailable { detail }
            }
            Fault::Denied(detail) => SecretsError::AccessDenied {
                action,
                endpoint,
                kind,
                detail,
            },
            Fault::Damaged => SecretsError::Damaged { endpoint, kind },
            Fault::Ambiguous { user, count } => SecretsError::Ambiguous {
                endpoint,
                kind,
                user,
                count,
            },
            Fault::Other(detail) => SecretsError::Failed {
                action,
                endpoint,
                kind,
                detail,
            },
        }
    }
}

fn chunk_user(head: &str, index: usize) -> String {
    format!("{head}#{index}")
}

/// FNV-1a: enough to tell a torn write from a whole one; not a security measure.
fn checksum(value: &str) -> u64 {
    value.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn header(count: usize, sum: u64) -> String {
    format!("{MARKER}v1:{count}:{sum:016x}")
}

fn parse_header(rest: &str) -> Option<(usize, u64)> {
    let rest = rest.strip_prefix("v1:")?;
    let (count, sum) = rest.split_once(':')?;
    let count: usize = count.parse().ok()?;
    let sum = u64::from_str_radix(sum, 16).ok()?;
    (1..=MAX_CHUNKS).contains(&count).then_some((count, sum))
}

fn utf16_len(value: &str) -> usize {
    value.chars().map(char::len_utf16).sum()
}

/// Splits at character boundaries into pieces of at most `limit` UTF-16 units.
fn split(value: &str, limit: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut units = 0;
    for (at, c) in value.char_indices() {
        if units + c.len_utf16() > limit {
            pieces.push(&value[start..at]);
            start = at;
            units = 0;
        }
        units += c.len_utf16();
    }
    if start < value.len() {
        pieces.push(&value[start..]);
    }
    pieces
}

fn read(slots: &impl Slots, head: &str) -> Result<Option<String>, Fault> {
    let Some(first) = slots.read(head)? else {
        return Ok(None);
    };
    let Some(rest) = first.strip_prefix(MARKER) else {
        return Ok(Some(first));
    };
    let (count, sum) = parse_header(rest).ok_or(Fault::Damaged)?;
    let mut value = String::new();
    for index in 0..count {
        let piece = slots
            .read(&chunk_user(head, index))?
            .ok_or(Fault::Damaged)?;
        value.push_str(&piece);
    }
    if checksum(&value) != sum {
        return Err(Fault::Damaged);
    }
    Ok(Some(value))
}

fn write(slots: &impl Slots, head: &str, value: &str, limit: usize) -> Result<(), Fault> {
    let used = if utf16_len(value) <= limit && !value.starts_with(MARKER) {
        slots.write(head, value)?;
        0
    } else {
        let pieces = split(value, limit);
        if pieces.len() > MAX_CHUNKS {
            return Err(Fault::Other(format!(
                "the value is too large for a keyring ({} characters)",
                value.chars().count()
            )));
        }
        for (index, piece) in pieces.iter().enumerate() {
            slots.write(&chunk_user(head, index), piece)?;
        }
        slots.write(head, &header(pieces.len(), checksum(value)))?;
        pieces.len()
    };
    remove_chunks_from(slots, head, used)
}

/// Chunks are numbered without gaps, so the first missing one ends the run.
fn remove_chunks_from(slots: &impl Slots, head: &str, first: usize) -> Result<(), Fault> {
    let mut index = first;
    while index < MAX_CHUNKS && slots.remove(&chunk_user(head, index))? {
        index += 1;
    }
    Ok(())
}

fn remove(slots: &impl Slots, head: &str) -> Result<(), Fault> {
    // The header goes first: from then on no reader finds the value, even if removing the
    // chunks fails half-way.
    slots.remove(head)?;
    remove_chunks_from(slots, head, 0)
}

pub(super) fn get(
    slots: &impl Slots,
    endpoint: &str,
    kind: SecretKind,
) -> Result<Option<Sensitive<String>>, SecretsError> {
    read(slots, &kind.keyring_user(endpoint))
        .map(|value| value.map(Sensitive::new))
        .map_err(|fault| fault.about(SecretAction::Read, endpoint, kind))
}

pub(super) fn set(
    slots: &impl Slots,
    endpoint: &str,
    kind: SecretKind,
    value: &Sensitive<String>,
    limit: usize,
) -> Result<(), SecretsError> {
    write(slots, &kind.keyring_user(endpoint), value.expose(), limit)
        .map_err(|fault| fault.about(SecretAction::Save, endpoint, kind))
}

pub(super) fn delete(
    slots: &impl Slots,
    endpoint: &str,
    kind: SecretKind,
) -> Result<(), SecretsError> {
    remove(slots, &kind.keyring_user(endpoint))
        .map_err(|fault| fault.about(SecretAction::Delete, endpoint, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split_respects_the_limit_in_utf16_units() {
        // '😀' is two UTF-16 units: it must never be cut in half or push a piece over the limit.
        let value = "a😀b😀c".repeat(7);
        for limit in 2..10 {
            let pieces = split(&value, limit);
            assert_eq!(pieces.concat(), value, "limit {limit}");
            assert!(
                pieces.iter().all(|piece| utf16_len(piece) <= limit),
                "a piece exceeds {limit} units: {pieces:?}"
            );
        }
    }

    #[test]
    fn headers_round_trip_and_reject_nonsense() {
        let text = header(4, 0xdead_beef);
        let rest = text.strip_prefix(MARKER).unwrap();
        assert_eq!(parse_header(rest), Some((4, 0xdead_beef)));
        assert_eq!(parse_header("v1:0:00"), None, "zero chunks is not a header");
        assert_eq!(parse_header("v1:1001:00"), None, "too many chunks");
        assert_eq!(parse_header("v2:1:00"), None, "unknown version");
        assert_eq!(parse_header("v1:x:00"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn split_always_reassembles(value in "\\PC{0,300}", limit in 2usize..64) {
            let pieces = split(&value, limit);
            prop_assert_eq!(pieces.concat(), value.clone());
            prop_assert!(pieces.iter().all(|piece| !piece.is_empty() && utf16_len(piece) <= limit));
        }
    }
}
