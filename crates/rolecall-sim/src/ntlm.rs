//! The simulator's NTLM acceptor at `/adfs/ls/wia`: NTLMv2 checked against the directory
//! users' passwords, as a domain controller would for AD FS (MS-NLMP).
//!
//! Leg one (NEGOTIATE_MESSAGE) gets a CHALLENGE_MESSAGE with a fresh random server challenge,
//! remembered for the TCP connection it came on; leg two (AUTHENTICATE_MESSAGE) on that same
//! connection is accepted when its NTProofStr proves a user's password, and its MIC, when the
//! client says it sent one, covers all three messages. A leg two on a connection that was never
//! challenged, LM and NTLMv1 responses, anonymous and non-Unicode clients are all refused.
//!
//! Written apart from `rolecall-core`'s NTLM client on purpose: the client is checked against
//! pyspnego, and this acceptor against pyspnego's client, so neither can share a bug with the
//! other unnoticed.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use md4::{Digest as _, Md4};
use md5::Md5;

use crate::config::User;
use crate::random;
use crate::wia::{WiaAcceptor, WiaStep};

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

// NegotiateFlags (MS-NLMP 2.2.2.5).
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const REQUEST_TARGET: u32 = 0x0000_0004;
const NEGOTIATE_SIGN: u32 = 0x0000_0010;
const NEGOTIATE_SEAL: u32 = 0x0000_0020;
const NEGOTIATE_NTLM: u32 = 0x0000_0200;
const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
const NEGOTIATE_128: u32 = 0x2000_0000;
const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
const NEGOTIATE_56: u32 = 0x8000_0000;

/// Flags the server grants when the client asks for them.
const GRANTABLE: u32 = NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;
/// Flags the server always sets: Unicode, NTLMv2 with target info, a domain target.
const ALWAYS: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | TARGET_TYPE_DOMAIN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_TARGET_INFO;

// AV_PAIR ids (MS-NLMP 2.2.2.1).
const AV_EOL: u16 = 0;
const AV_NB_COMPUTER_NAME: u16 = 1;
const AV_NB_DOMAIN_NAME: u16 = 2;
const AV_DNS_COMPUTER_NAME: u16 = 3;
const AV_DNS_DOMAIN_NAME: u16 = 4;
const AV_FLAGS: u16 = 6;
const AV_TIMESTAMP: u16 = 7;
const AV_FLAG_MIC: u32 = 0x2;

/// The simulated domain, as a Windows server names it in its challenge.
const NB_DOMAIN: &str = "CORP";
const NB_COMPUTER: &str = "ADFS";
const DNS_DOMAIN: &str = "corp.example";
const DNS_COMPUTER: &str = "adfs.corp.example";

/// Windows Server 2022's VERSION: 10.0 build 20348, NTLMSSP revision 15.
const VERSION: [u8; 8] = [10, 0, 0x4c, 0x4f, 0, 0, 0, 0x0F];

const MIC_OFFSET: usize = 72;
/// A challenge not answered within this long is forgotten.
const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);

/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_UNIX_EPOCH_SECS: u64 = 11_644_473_600;

/// NTLMv2 against the passwords of the simulator's users; see the module docs.
#[derive(Debug)]
pub struct NtlmAcceptor {
    users: Vec<User>,
    /// The challenge each connection got, by connection id.
    pending: Mutex<HashMap<u64, Pending>>,
}

#[derive(Debug)]
struct Pending {
    server_challenge: [u8; 8],
    /// Leg one and our answer as sent: the MIC covers them.
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    issued: Instant,
}

impl NtlmAcceptor {
    pub fn new(users: &[User]) -> Self {
        Self {
            users: users.to_vec(),
            pending: Mutex::default(),
        }
    }

    fn challenge(&self, negotiate: &[u8], connection_id: u64) -> WiaStep {
        let requested = u32_at(negotiate, 12);
        if requested & NEGOTIATE_UNICODE == 0 {
            eprintln!("rolecall-sim: NTLM: the client does not speak Unicode; refused");
            return WiaStep::Rejected;
        }
        let flags = ALWAYS | (requested & GRANTABLE);
        let mut server_challenge = [0u8; 8];
        server_challenge.copy_from_slice(&random::bytes(8));
        let message = challenge_message(
            flags,
            server_challenge,
            filetime(crate::clock::machine_time()),
        );
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|_, p| p.issued.elapsed() < CHALLENGE_LIFETIME);
        pending.insert(
            connection_id,
            Pending {
                server_challenge,
                negotiate: negotiate.to_vec(),
                challenge: message.clone(),
                issued: crate::clock::monotonic(),
            },
        );
        WiaStep::Continue(message)
    }

    fn verify(&self, authenticate: &[u8], connection_id: u64) -> Result<String, String> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&connection_id)
            .ok_or("an AUTHENTICATE_MESSAGE on a connection that got no challenge")?;
        if authenticate.len() < 64 {
            return Err("the AUTHENTICATE_MESSAGE is too short".to_owned());
        }
        let part = |at: usize, what: &str| {
            field(authenticate, at).ok_or_else(|| format!("its {what} lies outside the message"))
        };
        let nt = part(20, "NtChallengeResponse")?;
        let domain = utf16(part(28, "DomainName")?)?;
        let user = utf16(part(36, "UserName")?)?;
        let encrypted_key = part(52, "EncryptedRandomSessionKey")?;
        let flags = u32_at(authenticate, 60);
        if user.is_empty() {
            return Err("anonymous NTLM is not accepted".to_owned());
        }
        if nt.len() <= 24 {
            return Err(format!(
                "{domain}\\{user} sent an LM or NTLMv1 response; only NTLMv2 is accepted"
            ));
        }
        let directory_user = self
            .users
            .iter()
            .find(|u| u.answers_to(&user))
            .ok_or_else(|| format!("no directory user {user:?}"))?;
        let key = ntowfv2(&directory_user.password, &user, &domain);
        let (proof, blob) = nt.split_at(16);
        let expected = hmac_md5(&key, &[&pending.server_challenge, blob]);
        if proof != expected {
            return Err(format!("wrong password for {domain}\\{user}"));
        }
        let client_flags = blob
            .get(28..)
            .and_then(av_pairs)
            .ok_or("the NTLMv2 response's AV pairs are malformed")?
            .iter()
            .find(|(id, value)| *id == AV_FLAGS && value.len() == 4)
            .map_or(0, |(_, value)| u32_at(value, 0));
        if client_flags & AV_FLAG_MIC != 0 {
            if authenticate.len() < MIC_OFFSET + 16 {
                return Err("the client said it sent a MIC, but there is none".to_owned());
            }
            let session_base_key = hmac_md5(&key, &[proof]);
            let exported = if flags & NEGOTIATE_KEY_EXCH != 0 && encrypted_key.len() == 16 {
                rc4(&session_base_key, encrypted_key)
            } else {
                session_base_key.to_vec()
            };
            let mut zeroed = authenticate.to_vec();
            zeroed[MIC_OFFSET..MIC_OFFSET + 16].fill(0);
            let mic = hmac_md5(
                &exported,
                &[&pending.negotiate, &pending.challenge, &zeroed],
            );
            if authenticate[MIC_OFFSET..MIC_OFFSET + 16] != mic {
                return Err(format!(
                    "the MIC of {domain}\\{user}'s messages does not match"
                ));
            }
        }
        Ok(user)
    }
}

impl WiaAcceptor for NtlmAcceptor {
    /// `scheme` is `NTLM`, or `Negotiate` carrying raw NTLMSSP as Windows clients may send.
    fn accept(&self, _scheme: &str, token: &[u8], connection_id: u64) -> WiaStep {
        if token.len() < 16 || &token[..8] != SIGNATURE {
            eprintln!("rolecall-sim: NTLM: not an NTLMSSP message; refused");
            return WiaStep::Rejected;
        }
        match u32_at(token, 8) {
            1 => self.challenge(token, connection_id),
            3 => match self.verify(token, connection_id) {
                Ok(username) => WiaStep::Accepted {
                    username,
                    reply: None,
                },
                Err(reason) => {
                    eprintln!("rolecall-sim: NTLM refused: {reason}");
                    WiaStep::Rejected
                }
            },
            other => {
                eprintln!("rolecall-sim: NTLM: unexpected message type {other}; refused");
                WiaStep::Rejected
            }
        }
    }
}

/// True when the NTLM token starts an NTLMSSP message (raw NTLM sent as `Negotiate`).
pub fn is_ntlmssp(token: &[u8]) -> bool {
    token.starts_with(SIGNATURE)
}

fn challenge_message(flags: u32, server_challenge: [u8; 8], time: u64) -> Vec<u8> {
    let target_name = utf16le(NB_DOMAIN);
    let mut info = Vec::new();
    for (id, text) in [
        (AV_NB_DOMAIN_NAME, NB_DOMAIN),
        (AV_NB_COMPUTER_NAME, NB_COMPUTER),
        (AV_DNS_DOMAIN_NAME, DNS_DOMAIN),
        (AV_DNS_COMPUTER_NAME, DNS_COMPUTER),
    ] {
        put_av(&mut info, id, &utf16le(text));
    }
    put_av(&mut info, AV_TIMESTAMP, &time.to_le_bytes());
    put_av(&mut info, AV_EOL, &[]);

    const HEADER: usize = 56;
    let mut message = Vec::with_capacity(HEADER + target_name.len() + info.len());
    message.extend_from_slice(SIGNATURE);
    message.extend_from_slice(&2u32.to_le_bytes());
    put_field(&mut message, target_name.len(), HEADER);
    message.extend_from_slice(&flags.to_le_bytes());
    message.extend_from_slice(&server_challenge);
    message.extend_from_slice(&[0; 8]);
    put_field(&mut message, info.len(), HEADER + target_name.len());
    message.extend_from_slice(&VERSION);
    message.extend_from_slice(&target_name);
    message.extend_from_slice(&info);
    message
}

fn put_av(info: &mut Vec<u8>, id: u16, value: &[u8]) {
    info.extend_from_slice(&id.to_le_bytes());
    // Every value is one of the short constants above or a timestamp.
    info.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
    info.extend_from_slice(value);
}

fn put_field(message: &mut Vec<u8>, len: usize, offset: usize) {
    let len = u16::try_from(len).unwrap_or(0).to_le_bytes();
    message.extend_from_slice(&len);
    message.extend_from_slice(&len);
    message.extend_from_slice(&u32::try_from(offset).unwrap_or(0).to_le_bytes());
}

/// The AV pairs before MsvAvEOL; `None` if they run past the end.
fn av_pairs(mut data: &[u8]) -> Option<Vec<(u16, Vec<u8>)>> {
    let mut pairs = Vec::new();
    loop {
        let id = u16::from_le_bytes(data.get(..2)?.try_into().ok()?);
        let len = usize::from(u16::from_le_bytes(data.get(2..4)?.try_into().ok()?));
        if id == AV_EOL {
            return Some(pairs);
        }
        pairs.push((id, data.get(4..4 + len)?.to_vec()));
        data = &data[4 + len..];
    }
}

/// The payload a (len, maxlen, offset) field at `at` points to.
fn field(message: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(u16::from_le_bytes(
        message.get(at..at + 2)?.try_into().ok()?,
    ));
    let offset = usize::try_from(u32_at(message.get(at + 4..at + 8)?, 0)).ok()?;
    message.get(offset..offset.checked_add(len)?)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16(bytes: &[u8]) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err("a name of odd length is not UTF-16".to_owned());
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| "a name is not valid UTF-16".to_owned())
}

/// NTOWFv2 (MS-NLMP 3.3.2), upper-casing one character at a time as Windows does.
fn ntowfv2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let nt_hash: [u8; 16] = Md4::digest(utf16le(password)).into();
    let upper: String = user
        .chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(single), None) => single,
                _ => c,
            }
        })
        .collect();
    hmac_md5(&nt_hash, &[&utf16le(&format!("{upper}{domain}"))])
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let Ok(mut mac) = Hmac::<Md5>::new_from_slice(key) else {
        unreachable!("HMAC accepts every key length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// RC4, which NTLM's key exchange uses to carry the exported session key (MS-NLMP 3.4.5.1's
/// RC4K); only ever run over 16 bytes here.
fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|byte| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[usize::from(i)]);
            s.swap(usize::from(i), usize::from(j));
            byte ^ s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))]
        })
        .collect()
}

/// 100-nanosecond intervals since 1601-01-01.
fn filetime(now: SystemTime) -> u64 {
    let since_unix = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    (FILETIME_UNIX_EPOCH_SECS + since_unix.as_secs()) * 10_000_000
        + u64::from(since_unix.subsec_nanos() / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn ntowfv2_and_rc4_match_the_specification_and_test_vectors() {
        // MS-NLMP 4.2.4.1.1.
        assert_eq!(
            hex(&ntowfv2("Password", "User", "Domain")),
            "0c868a403bfd7a93a3001ef22ef02e3f"
        );
        // RFC 6229's first RC4 vector: key 0102030405, keystream 0..16.
        assert_eq!(
            hex(&rc4(&[1, 2, 3, 4, 5], &[0; 16])),
            "b2396305f03dc027ccc3524a0a1118a8"
        );
    }

    fn acceptor() -> NtlmAcceptor {
        NtlmAcceptor::new(&[User::new("alice", Vec::new())])
    }

    #[test]
    fn leg_two_without_a_challenge_on_its_connection_is_rejected() {
        let acceptor = acceptor();
        let mut negotiate = SIGNATURE.to_vec();
        negotiate.extend_from_slice(&1u32.to_le_bytes());
        negotiate.extend_from_slice(&(NEGOTIATE_UNICODE | NEGOTIATE_NTLM).to_le_bytes());
        negotiate.extend_from_slice(&[0; 16]);
        let WiaStep::Continue(challenge) = acceptor.accept("NTLM", &negotiate, 7) else {
            panic!("leg one should be challenged");
        };
        assert_eq!(u32_at(&challenge, 8), 2, "a CHALLENGE_MESSAGE");
        assert_ne!(
            challenge[24..32],
            match acceptor.accept("NTLM", &negotiate, 8) {
                WiaStep::Continue(other) => other[24..32].to_vec(),
                step => panic!("{step:?}"),
            },
            "each connection gets its own server challenge"
        );
        let mut authenticate = SIGNATURE.to_vec();
        authenticate.extend_from_slice(&3u32.to_le_bytes());
        authenticate.resize(88, 0);
        assert_eq!(acceptor.accept("NTLM", &authenticate, 9), WiaStep::Rejected);
    }

    #[test]
    fn garbage_is_rejected_not_a_panic() {
        let acceptor = acceptor();
        for token in [&b""[..], b"NTLMSSP\0", b"NTLMSSP\0\x03\0\0\0", &[0xff; 100]] {
            assert_eq!(acceptor.accept("NTLM", token, 1), WiaStep::Rejected);
        }
        let mut negotiate = SIGNATURE.to_vec();
        negotiate.extend_from_slice(&1u32.to_le_bytes());
        negotiate.extend_from_slice(&NEGOTIATE_UNICODE.to_le_bytes());
        for cut in 0..120 {
            let _ = acceptor.accept("NTLM", &negotiate, 2);
            let mut authenticate = SIGNATURE.to_vec();
            authenticate.extend_from_slice(&3u32.to_le_bytes());
            authenticate.extend(std::iter::repeat_n(0xee, cut));
            assert_eq!(acceptor.accept("NTLM", &authenticate, 2), WiaStep::Rejected);
        }
    }
}
