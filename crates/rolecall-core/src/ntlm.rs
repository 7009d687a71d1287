//! NTLM with a username and password, for integrated sign-in where Kerberos cannot reach: one
//! [`NtlmClient`] is one NTLM conversation (MS-NLMP), turning the person's password into the
//! tokens for `Authorization: NTLM <base64>` (or `Negotiate`, which servers accept with raw
//! NTLM messages too).
//!
//! Only NTLMv2 is spoken, with Unicode strings and a MIC over the three messages whenever the
//! server sends a timestamp (every Windows server since 2008 does). There is no LM and no NTLMv1
//! response, no signing or sealing (HTTP needs neither) and so no session key exchange. The
//! password lives only as long as [`NtlmClient::new`]: the client keeps the NTLMv2 key derived
//! from it (NTOWFv2), itself a secret, in a [`Sensitive`].
//!
//! This module owns the messages only; the HTTP 401 loop, base64 and the rule that all three
//! legs travel on one TCP connection belong to [`crate::idp`].
//!
//! Written by hand (MD4, HMAC-MD5 from RustCrypto) rather than with the `sspi` crate: NTLMv2 for
//! HTTP is a few hundred lines, while `sspi` brings a Kerberos stack, RSA and release-candidate
//! pins we would not use.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use md4::{Digest as _, Md4};
use md5::Md5;

use crate::secrets::Sensitive;

/// What went wrong in an NTLM conversation. The raw reason is kept in `detail` for logs; the
/// message says what a person can do.
#[derive(Debug, thiserror::Error)]
pub enum NtlmError {
    /// The username cannot be sent in NTLM.
    #[error(
        "\"{username}\" is not a username NTLM can sign in with. Give it as DOMAIN\\user, \
         user@domain or user."
    )]
    BadUsername {
        /// As typed, with control characters shown as `?` so the message stays one line.
        username: String,
    },
    /// The server's CHALLENGE_MESSAGE is malformed.
    #[error(
        "The server's NTLM challenge could not be read, so NTLM sign-in cannot go on. Choose \
         Kerberos or Forms sign-in for this endpoint, and tell your AD FS administrators if it \
         keeps happening."
    )]
    BadChallenge { detail: String },
    /// The server wants something only older, weaker NTLM offers.
    #[error(
        "The server asks for an NTLM variant Rolecall does not speak (Rolecall uses NTLMv2 with \
         Unicode only). Choose Kerberos or Forms sign-in for this endpoint."
    )]
    Unsupported { detail: String },
    /// [`NtlmClient::authenticate`] before [`NtlmClient::negotiate`], or twice.
    #[error("NTLM sign-in got its steps out of order. Try signing in again.")]
    OutOfOrder { detail: &'static str },
    /// The operating system gave no random bytes for the client challenge.
    #[error(
        "This computer could not give Rolecall the random numbers NTLM sign-in needs. Try \
         again; if it keeps failing, restart the computer."
    )]
    NoRandomness { detail: String },
}

impl NtlmError {
    /// The raw reason, for logs.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::BadChallenge { detail }
            | Self::Unsupported { detail }
            | Self::NoRandomness { detail } => Some(detail),
            Self::OutOfOrder { detail } => Some(detail),
            Self::BadUsername { .. } => None,
        }
    }
}

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NEGOTIATE_MESSAGE: u32 = 1;
const CHALLENGE_MESSAGE: u32 = 2;
const AUTHENTICATE_MESSAGE: u32 = 3;

// NegotiateFlags (MS-NLMP 2.2.2.5).
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const REQUEST_TARGET: u32 = 0x0000_0004;
const NEGOTIATE_NTLM: u32 = 0x0000_0200;
const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
const NEGOTIATE_128: u32 = 0x2000_0000;
const NEGOTIATE_56: u32 = 0x8000_0000;

/// What Rolecall asks for: NTLMv2 (extended session security) with Unicode; no signing, sealing
/// or key exchange, which HTTP authentication never uses.
const CLIENT_FLAGS: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_TARGET_INFO
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_56;

// AV_PAIR ids (MS-NLMP 2.2.2.1).
const AV_EOL: u16 = 0;
const AV_FLAGS: u16 = 6;
const AV_TIMESTAMP: u16 = 7;
/// MsvAvTargetName: the SPN the client meant to reach, inside the proof, so the answer cannot be
/// relayed to another service (MS-NLMP 2.2.2.1, 3.1.5.1.2).
const AV_TARGET_NAME: u16 = 9;
/// MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC.
const AV_FLAG_MIC: u32 = 0x2;

/// VERSION (MS-NLMP 2.2.2.10): only for debugging on the server; no product version claimed,
/// NTLMSSP revision 15.
const VERSION: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 0x0F];

/// Header length of the AUTHENTICATE_MESSAGE with its Version and MIC fields.
const AUTHENTICATE_HEADER: usize = 88;
const MIC_OFFSET: usize = 72;

/// Longest username or domain, in UTF-16 units (AD's limits are far lower; this keeps every
/// length in its 16-bit field).
const NAME_LIMIT: usize = 1024;

/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_UNIX_EPOCH_SECS: u64 = 11_644_473_600;

/// One NTLM conversation as one user; `Send`, so the sign-in task can hold it across awaits.
pub struct NtlmClient {
    user: String,
    domain: String,
    /// `HTTP/<host>`, sent as MsvAvTargetName.
    target_name: String,
    /// NTOWFv2 of the password.
    key: Sensitive<[u8; 16]>,
    state: State,
}

enum State {
    New,
    /// The NEGOTIATE_MESSAGE as sent: the MIC covers it.
    Negotiated(Vec<u8>),
    Done,
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<NtlmClient>();
};

impl fmt::Debug for NtlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::New => "new",
            State::Negotiated(_) => "negotiated",
            State::Done => "done",
        };
        f.debug_struct("NtlmClient")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl NtlmClient {
    /// `username` as `DOMAIN\user`, `user@domain` or `user`. A UPN is sent whole with an empty
    /// domain, as Windows does; a bare name leaves the domain to the server. `host` is the
    /// server's host name (no port): the answer names `HTTP/<host>` as its target.
    pub fn new(
        username: &str,
        password: &Sensitive<String>,
        host: &str,
    ) -> Result<Self, NtlmError> {
        let (user, domain) = split_username(username)?;
        let key = ntowfv2(password.expose(), &user, &domain);
        Ok(Self {
            user,
            domain,
            target_name: format!("HTTP/{}", host.to_ascii_lowercase()),
            key,
            state: State::New,
        })
    }

    /// The NEGOTIATE_MESSAGE (type 1), the first leg.
    pub fn negotiate(&mut self) -> Result<Sensitive<Vec<u8>>, NtlmError> {
        if !matches!(self.state, State::New) {
            return Err(NtlmError::OutOfOrder {
                detail: "negotiate called twice",
            });
        }
        let mut message = Vec::with_capacity(40);
        message.extend_from_slice(SIGNATURE);
        put_u32(&mut message, NEGOTIATE_MESSAGE);
        put_u32(&mut message, CLIENT_FLAGS);
        // Empty DomainName and Workstation: the AUTHENTICATE_MESSAGE names the user.
        for _ in 0..2 {
            put_field(&mut message, 0, 40);
        }
        message.extend_from_slice(&VERSION);
        self.state = State::Negotiated(message.clone());
        Ok(Sensitive::new(message))
    }

    /// The AUTHENTICATE_MESSAGE (type 3) answering the server's CHALLENGE_MESSAGE (type 2).
    pub fn authenticate(&mut self, challenge: &[u8]) -> Result<Sensitive<Vec<u8>>, NtlmError> {
        let mut client_challenge = [0u8; 8];
        getrandom::fill(&mut client_challenge).map_err(|err| NtlmError::NoRandomness {
            detail: err.to_string(),
        })?;
        // NTLMv2 wants the client's time only when the server sent none of its own.
        self.authenticate_with(
            challenge,
            client_challenge,
            crate::clock::SystemClock.now().into(),
        )
    }

    fn authenticate_with(
        &mut self,
        challenge: &[u8],
        client_challenge: [u8; 8],
        now: SystemTime,
    ) -> Result<Sensitive<Vec<u8>>, NtlmError> {
        let negotiate = match std::mem::replace(&mut self.state, State::Done) {
            State::Negotiated(negotiate) => negotiate,
            State::New => {
                self.state = State::New;
                return Err(NtlmError::OutOfOrder {
                    detail: "authenticate called before negotiate",
                });
            }
            State::Done => {
                return Err(NtlmError::OutOfOrder {
                    detail: "authenticate called twice",
                });
            }
        };
        let parsed = Challenge::parse(challenge)?;
        if parsed.flags & NEGOTIATE_UNICODE == 0 {
            return Err(NtlmError::Unsupported {
                detail: format!(
                    "the challenge's flags {:#010x} do not choose Unicode",
                    parsed.flags
                ),
            });
        }

        // With the server's timestamp, Windows sends a MIC and no LMv2 response (MS-NLMP 3.1.5.1.2).
        let server_time = parsed.timestamp();
        let with_mic = server_time.is_some();
        let time = server_time.unwrap_or_else(|| filetime(now));
        let mut pairs: Vec<(u16, Vec<u8>)> = parsed
            .target_info
            .iter()
            .filter(|(id, _)| *id != AV_FLAGS && *id != AV_TARGET_NAME)
            .cloned()
            .collect();
        let server_av_flags = parsed
            .target_info
            .iter()
            .find(|(id, value)| *id == AV_FLAGS && value.len() == 4)
            .map_or(0, |(_, value)| u32_at(value, 0));
        if with_mic || server_av_flags != 0 {
            let av_flags = server_av_flags | if with_mic { AV_FLAG_MIC } else { 0 };
            pairs.push((AV_FLAGS, av_flags.to_le_bytes().to_vec()));
        }
        let target_name = utf16le(&self.target_name);
        if target_name.len() <= usize::from(u16::MAX) {
            pairs.push((AV_TARGET_NAME, target_name));
        }
        let responses = respond(
            self.key.expose(),
            &parsed.server_challenge,
            &client_challenge,
            time,
            &pairs,
        );
        // The NT response echoes the server's TargetInfo behind a 16-bit length: one too long
        // for it cannot be answered (a saturated length would send a broken message).
        if u16::try_from(responses.nt.len()).is_err() {
            return Err(NtlmError::BadChallenge {
                detail: format!(
                    "the TargetInfo makes an NT response of {} bytes, over 65,535",
                    responses.nt.len()
                ),
            });
        }
        let lm_response = if with_mic {
            vec![0u8; 24]
        } else {
            responses.lmv2.clone()
        };

        let flags = parsed.flags & CLIENT_FLAGS;
        let domain = utf16le(&self.domain);
        let user = utf16le(&self.user);
        let payloads: [&[u8]; 6] = [
            &lm_response,
            &responses.nt,
            &domain,
            &user,
            &[], // Workstation: not needed to authenticate, and it would name this computer.
            &[], // EncryptedRandomSessionKey: no key exchange.
        ];
        let mut message = Vec::with_capacity(
            AUTHENTICATE_HEADER + payloads.iter().map(|p| p.len()).sum::<usize>(),
        );
        message.extend_from_slice(SIGNATURE);
        put_u32(&mut message, AUTHENTICATE_MESSAGE);
        // The header lists the fields in this order; the payload keeps domain, user first as
        // Windows does, then the responses.
        let order = [2usize, 3, 4, 0, 1, 5];
        let mut offsets = [0usize; 6];
        let mut offset = AUTHENTICATE_HEADER;
        for index in order {
            offsets[index] = offset;
            offset += payloads[index].len();
        }
        for (payload, offset) in payloads.iter().zip(offsets) {
            put_field(&mut message, payload.len(), offset);
        }
        put_u32(&mut message, flags);
        message.extend_from_slice(&VERSION);
        message.extend_from_slice(&[0u8; 16]); // MIC, filled in below
        for index in order {
            message.extend_from_slice(payloads[index]);
        }
        if with_mic {
            // The exported session key is the session base key, as there is no key exchange.
            let mic = hmac_md5(
                responses.session_base_key.expose(),
                &[&negotiate, challenge, &message],
            );
            message[MIC_OFFSET..MIC_OFFSET + 16].copy_from_slice(&mic);
        }
        Ok(Sensitive::new(message))
    }
}

/// Splits `DOMAIN\user`; keeps `user@domain` and `user` whole, with an empty domain.
fn split_username(username: &str) -> Result<(String, String), NtlmError> {
    let bad = || NtlmError::BadUsername {
        username: username
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
    };
    let trimmed = username.trim();
    let (user, domain) = match trimmed.split_once('\\') {
        Some((domain, user)) => (user, domain),
        None => (trimmed, ""),
    };
    let unusable = |part: &str| {
        part.chars().any(|c| c.is_control() || c == '\\')
            || part.encode_utf16().count() > NAME_LIMIT
    };
    if user.is_empty() || (trimmed.contains('\\') && domain.is_empty()) {
        return Err(bad());
    }
    if unusable(user) || unusable(domain) {
        return Err(bad());
    }
    Ok((user.to_owned(), domain.to_owned()))
}

/// NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5 keyed with MD4(UTF-16LE(password)) over
/// UTF-16LE(uppercase(user) + domain).
fn ntowfv2(password: &str, user: &str, domain: &str) -> Sensitive<[u8; 16]> {
    let unicode = Sensitive::new(utf16le(password));
    let nt_hash: Sensitive<[u8; 16]> = Sensitive::new(Md4::digest(unicode.expose()).into());
    let identity = format!("{}{domain}", upcase(user));
    Sensitive::new(hmac_md5(nt_hash.expose(), &[&utf16le(&identity)]))
}

/// Upper case one character at a time, as Windows does: a character whose upper case is more
/// than one character (ß) stays as it is.
fn upcase(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(single), None) => single,
                _ => c,
            }
        })
        .collect()
}

struct Responses {
    nt: Vec<u8>,
    lmv2: Vec<u8>,
    session_base_key: Sensitive<[u8; 16]>,
}

/// NTLMv2's responses (MS-NLMP 3.3.2) for the AV pairs `pairs` (without the terminator).
fn respond(
    key: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    time: u64,
    pairs: &[(u16, Vec<u8>)],
) -> Responses {
    let mut temp = Vec::with_capacity(32 + pairs.iter().map(|(_, v)| 4 + v.len()).sum::<usize>());
    temp.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    temp.extend_from_slice(&time.to_le_bytes());
    temp.extend_from_slice(client_challenge);
    temp.extend_from_slice(&[0; 4]);
    for (id, value) in pairs {
        temp.extend_from_slice(&id.to_le_bytes());
        // Values come from the server's own 16-bit lengths, or are ours and short.
        temp.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
        temp.extend_from_slice(value);
    }
    temp.extend_from_slice(&[0; 4]); // MsvAvEOL
    temp.extend_from_slice(&[0; 4]);
    let proof = hmac_md5(key, &[server_challenge, &temp]);
    let mut nt = proof.to_vec();
    nt.extend_from_slice(&temp);
    let mut lmv2 = hmac_md5(key, &[server_challenge, client_challenge]).to_vec();
    lmv2.extend_from_slice(client_challenge);
    Responses {
        nt,
        lmv2,
        session_base_key: Sensitive::new(hmac_md5(key, &[&proof])),
    }
}

/// The parts of a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) the client uses.
#[derive(Debug)]
struct Challenge {
    flags: u32,
    server_challenge: [u8; 8],
    target_info: Vec<(u16, Vec<u8>)>,
}

impl Challenge {
    fn parse(message: &[u8]) -> Result<Self, NtlmError> {
        let bad = |detail: &str| NtlmError::BadChallenge {
            detail: detail.to_owned(),
        };
        if message.len() < 32 || &message[..8] != SIGNATURE {
            return Err(bad("not an NTLMSSP message"));
        }
        if u32_at(message, 8) != CHALLENGE_MESSAGE {
            return Err(bad("not a CHALLENGE_MESSAGE"));
        }
        let flags = u32_at(message, 20);
        let mut server_challenge = [0u8; 8];
        server_challenge.copy_from_slice(&message[24..32]);
        let mut target_info = Vec::new();
        if flags & NEGOTIATE_TARGET_INFO != 0 {
            if message.len() < 48 {
                return Err(bad("the TargetInfo field is missing"));
            }
            let info = field(message, 40).ok_or_else(|| bad("TargetInfo lies outside"))?;
            target_info = av_pairs(info).ok_or_else(|| bad("TargetInfo is malformed"))?;
        }
        Ok(Self {
            flags,
            server_challenge,
            target_info,
        })
    }

    fn timestamp(&self) -> Option<u64> {
        self.target_info
            .iter()
            .find(|(id, value)| *id == AV_TIMESTAMP && value.len() == 8)
            .map(|(_, value)| u64::from_le_bytes(value[..8].try_into().unwrap_or([0; 8])))
    }
}

/// The AV pairs before MsvAvEOL; `None` if they run past the end or there is no terminator.
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

fn put_u32(message: &mut Vec<u8>, value: u32) {
    message.extend_from_slice(&value.to_le_bytes());
}

/// A (len, maxlen, offset) field; lengths are bounded by [`NAME_LIMIT`] and the server's own
/// 16-bit fields, so they fit.
fn put_field(message: &mut Vec<u8>, len: usize, offset: usize) {
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();
    message.extend_from_slice(&len);
    message.extend_from_slice(&len);
    put_u32(message, u32::try_from(offset).unwrap_or(u32::MAX));
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Md5>::new_from_slice(key) else {
        unreachable!("HMAC accepts every key length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// 100-nanosecond intervals since 1601-01-01, the NTLMv2 timestamp.
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

    fn av(id: u16, text: &str) -> (u16, Vec<u8>) {
        (id, utf16le(text))
    }

    /// MS-NLMP 4.2.4, the specification's own NTLMv2 example: User/Domain/Password, server
    /// challenge 0123456789abcdef, client challenge aa..., time 0.
    #[test]
    fn ntlmv2_matches_the_specification_example() {
        let key = ntowfv2("Password", "User", "Domain");
        assert_eq!(
            hex(key.expose()),
            "0c868a403bfd7a93a3001ef22ef02e3f",
            "NTOWFv2"
        );
        let pairs = [av(2, "Domain"), av(1, "Server")];
        let responses = respond(
            key.expose(),
            &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
            &[0xaa; 8],
            0,
            &pairs,
        );
        assert_eq!(
            hex(&responses.nt[..16]),
            "68cd0ab851e51c96aabc927bebef6a1c",
            "NTProofStr"
        );
        assert_eq!(
            hex(&responses.lmv2),
            "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa",
            "LMv2"
        );
        assert_eq!(
            hex(responses.session_base_key.expose()),
            "8de40ccadbc14a82f15cb0ad0de95ca3",
            "SessionBaseKey"
        );
    }

    #[test]
    fn usernames_split_as_windows_sends_them() {
        let split = |name| split_username(name).map_err(|err| err.to_string());
        assert_eq!(split("CORP\\alice"), Ok(("alice".into(), "CORP".into())));
        assert_eq!(
            split("alice@corp.example"),
            Ok(("alice@corp.example".into(), String::new()))
        );
        assert_eq!(split(" alice "), Ok(("alice".into(), String::new())));
        for bad in ["", "CORP\\", "\\alice", "a\\b\\c", "ali\nce"] {
            let err = split(bad).expect_err(bad);
            assert!(err.contains("DOMAIN\\user, user@domain or user"), "{err}");
        }
    }

    #[test]
    fn uppercase_is_per_character_as_in_windows() {
        assert_eq!(upcase("alice"), "ALICE");
        assert_eq!(upcase("straße"), "STRAßE");
    }

    fn challenge_message(flags: u32, target_info: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut info = Vec::new();
        for (id, value) in target_info {
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&(value.len() as u16).to_le_bytes());
            info.extend_from_slice(value);
        }
        info.extend_from_slice(&[0; 4]);
        let mut message = Vec::new();
        message.extend_from_slice(SIGNATURE);
        put_u32(&mut message, CHALLENGE_MESSAGE);
        put_field(&mut message, 0, 56);
        put_u32(&mut message, flags);
        message.extend_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        message.extend_from_slice(&[0; 8]);
        put_field(&mut message, info.len(), 56);
        message.extend_from_slice(&VERSION);
        message.extend_from_slice(&info);
        message
    }

    fn spec_client() -> NtlmClient {
        NtlmClient::new(
            "Domain\\User",
            &Sensitive::new("Password".to_owned()),
            "Sts.Corp.Example",
        )
        .expect("a client")
    }

    #[test]
    fn the_authenticate_message_carries_the_user_and_a_mic_when_the_server_sends_its_time() {
        let mut client = spec_client();
        let negotiate = client.negotiate().expect("type 1");
        assert_eq!(&negotiate.expose()[..8], SIGNATURE);
        assert_eq!(u32_at(negotiate.expose(), 12), CLIENT_FLAGS);

        let flags = CLIENT_FLAGS | NEGOTIATE_TARGET_INFO;
        let challenge = challenge_message(
            flags,
            &[
                av(2, "Domain"),
                av(1, "Server"),
                (AV_TIMESTAMP, 42u64.to_le_bytes().to_vec()),
            ],
        );
        let message = client
            .authenticate_with(&challenge, [0xaa; 8], UNIX_EPOCH)
            .expect("type 3");
        let message = message.expose();
        assert_eq!(u32_at(message, 8), AUTHENTICATE_MESSAGE);
        assert_eq!(field(message, 28), Some(&utf16le("Domain")[..]));
        assert_eq!(field(message, 36), Some(&utf16le("User")[..]));
        assert_eq!(
            field(message, 12),
            Some(&[0u8; 24][..]),
            "no LMv2 with a MIC"
        );
        let nt = field(message, 20).expect("an NT response");
        assert_eq!(&nt[24..32], &42u64.to_le_bytes(), "the server's time");
        assert_ne!(&message[MIC_OFFSET..MIC_OFFSET + 16], &[0u8; 16], "a MIC");
        let pairs = av_pairs(&nt[44..]).expect("AV pairs in the blob");
        assert!(
            pairs.contains(&(AV_FLAGS, AV_FLAG_MIC.to_le_bytes().to_vec())),
            "MsvAvFlags says there is a MIC: {pairs:?}"
        );
        assert!(
            pairs.contains(&av(AV_TARGET_NAME, "HTTP/sts.corp.example")),
            "MsvAvTargetName names the service the answer is for: {pairs:?}"
        );
    }

    /// A server cannot choose the target name: its own MsvAvTargetName is replaced by ours.
    #[test]
    fn the_target_name_is_the_clients_never_the_servers() {
        let mut client = spec_client();
        client.negotiate().expect("type 1");
        let challenge = challenge_message(
            CLIENT_FLAGS | NEGOTIATE_TARGET_INFO,
            &[av(2, "Domain"), av(AV_TARGET_NAME, "HTTP/relay.example")],
        );
        let message = client
            .authenticate_with(&challenge, [0xaa; 8], UNIX_EPOCH)
            .expect("type 3");
        let nt = field(message.expose(), 20).expect("an NT response");
        let pairs = av_pairs(&nt[44..]).expect("AV pairs in the blob");
        let names: Vec<_> = pairs
            .iter()
            .filter(|(id, _)| *id == AV_TARGET_NAME)
            .collect();
        assert_eq!(
            names,
            [&av(AV_TARGET_NAME, "HTTP/sts.corp.example")],
            "{pairs:?}"
        );
    }

    #[test]
    fn without_a_server_time_the_client_time_and_lmv2_are_sent() {
        let mut client = spec_client();
        client.negotiate().expect("type 1");
        let challenge = challenge_message(CLIENT_FLAGS, &[av(2, "Domain")]);
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1);
        let message = client
            .authenticate_with(&challenge, [0xaa; 8], at)
            .expect("type 3");
        let message = message.expose();
        let nt = field(message, 20).expect("an NT response");
        assert_eq!(
            &nt[24..32],
            &(116_444_736_010_000_000u64).to_le_bytes(),
            "FILETIME of 1970-01-01T00:00:01Z"
        );
        assert_eq!(field(message, 12).map(<[u8]>::len), Some(24), "LMv2");
        assert_eq!(&message[MIC_OFFSET..MIC_OFFSET + 16], &[0u8; 16], "no MIC");
    }

    #[test]
    fn steps_out_of_order_and_broken_challenges_are_errors_not_panics() {
        let mut client = spec_client();
        let err = client.authenticate(b"x").expect_err("before negotiate");
        assert!(matches!(err, NtlmError::OutOfOrder { .. }), "{err:?}");
        client.negotiate().expect("type 1");
        assert!(matches!(
            client.negotiate(),
            Err(NtlmError::OutOfOrder { .. })
        ));

        let good = challenge_message(CLIENT_FLAGS | NEGOTIATE_TARGET_INFO, &[av(2, "D")]);
        for cut in 0..good.len() {
            let mut client = spec_client();
            client.negotiate().expect("type 1");
            let _ = client.authenticate(&good[..cut]);
        }
        let mut lying = good.clone();
        lying[40] = 0xff; // TargetInfo longer than the message
        let mut client = spec_client();
        client.negotiate().expect("type 1");
        assert!(matches!(
            client.authenticate(&lying),
            Err(NtlmError::BadChallenge { .. })
        ));

        let mut client = spec_client();
        client.negotiate().expect("type 1");
        let oem = challenge_message(NEGOTIATE_NTLM | 0x2, &[]);
        let err = client.authenticate(&oem).expect_err("OEM only");
        assert!(matches!(err, NtlmError::Unsupported { .. }), "{err:?}");
        assert!(client.authenticate(&good).is_err(), "a conversation ends");
    }

    #[test]
    fn a_target_info_too_long_to_echo_is_refused_not_sent_with_a_wrong_length() {
        let flags = CLIENT_FLAGS | NEGOTIATE_TARGET_INFO;
        let nt_response_len = |value_len: usize| {
            let mut client = spec_client();
            client.negotiate().expect("type 1");
            let challenge = challenge_message(flags, &[(1, vec![0x41; value_len])]);
            let message = client.authenticate(&challenge).expect("type 3");
            field(message.expose(), 20).map(<[u8]>::len)
        };
        let short = nt_response_len(10).expect("an NT response");
        assert_eq!(
            nt_response_len(65_000),
            Some(short + 65_000 - 10),
            "the whole NT response, TargetInfo echoed"
        );

        // Near the most a challenge can carry, the echo no longer fits a 16-bit length.
        let mut client = spec_client();
        client.negotiate().expect("type 1");
        let too_long = challenge_message(flags, &[(1, vec![0x41; 65_500])]);
        let err = client
            .authenticate(&too_long)
            .expect_err("too long to answer");
        assert!(matches!(err, NtlmError::BadChallenge { .. }), "{err:?}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let client = NtlmClient::new(
            "CORP\\alice",
            &Sensitive::new("hunter2".to_owned()),
            "sts.corp.example",
        )
        .expect("a client");
        assert_eq!(
            format!("{client:?}"),
            "NtlmClient { user: \"alice\", domain: \"CORP\", state: \"new\", .. }"
        );
    }
}
