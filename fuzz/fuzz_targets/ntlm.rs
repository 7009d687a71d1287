//! The NTLM client on any CHALLENGE_MESSAGE: it never panics, and whatever it answers is a
//! well-formed AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) whose every field lies where its header
//! says, so the server reads the user and the responses Rolecall meant.
//!
//! The first byte picks the username form; the rest is the server's challenge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall_core::ntlm::NtlmClient;
use rolecall_core::secrets::Sensitive;

const USERS: [(&str, &str, &str); 3] = [
    ("CORP\\alice", "alice", "CORP"),
    ("bob@corp.example", "bob@corp.example", ""),
    ("Jürgen", "Jürgen", ""),
];

/// The endpoint's host: the answer names it as its target (MsvAvTargetName).
const HOST: &str = "sts.corp.example";

fuzz_target!(|data: &[u8]| {
    let Some((&which, challenge)) = data.split_first() else {
        return;
    };
    let (username, user, domain) = USERS[usize::from(which) % USERS.len()];
    let password = Sensitive::new("pässw0rd".to_owned());
    let mut client = NtlmClient::new(username, &password, HOST).expect("a valid username");
    let negotiate = client.negotiate().expect("the first leg");
    check_header(negotiate.expose(), 1);
    match client.authenticate(challenge) {
        Ok(message) => check_authenticate(message.expose(), user, domain),
        Err(err) => {
            let _ = err.to_string();
            let _ = err.detail();
        }
    }
    assert!(
        client.authenticate(challenge).is_err(),
        "a second answer to one challenge"
    );
});

fn check_header(message: &[u8], kind: u32) {
    assert_eq!(&message[..8], b"NTLMSSP\0");
    assert_eq!(u32_at(message, 8), kind);
}

/// The (len, maxlen, offset) field at `at`.
fn field(message: &[u8], at: usize) -> (usize, usize, usize) {
    let len = u16::from_le_bytes([message[at], message[at + 1]]);
    let max = u16::from_le_bytes([message[at + 2], message[at + 3]]);
    (
        usize::from(len),
        usize::from(max),
        u32_at(message, at + 4) as usize,
    )
}

fn u32_at(message: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(message[at..at + 4].try_into().expect("four bytes"))
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn check_authenticate(message: &[u8], user: &str, domain: &str) {
    const HEADER: usize = 88;
    assert!(message.len() >= HEADER, "shorter than its header");
    check_header(message, 3);
    // LmChallengeResponse, NtChallengeResponse, DomainName, UserName, Workstation,
    // EncryptedRandomSessionKey.
    let mut fields: Vec<(usize, usize)> = Vec::new();
    for index in 0..6 {
        let (len, max, offset) = field(message, 12 + 8 * index);
        assert_eq!(len, max, "field {index}: length and maximum length differ");
        assert!(offset >= HEADER, "field {index} points into the header");
        assert!(
            offset + len <= message.len(),
            "field {index} runs past the end ({offset} + {len} > {})",
            message.len()
        );
        fields.push((offset, len));
    }
    // The payloads tile the rest of the message: nothing unlisted, nothing overlapping.
    let mut spans: Vec<(usize, usize)> =
        fields.iter().copied().filter(|&(_, len)| len > 0).collect();
    spans.sort();
    let mut at = HEADER;
    for (offset, len) in spans {
        assert_eq!(offset, at, "payloads overlap or leave a gap");
        at += len;
    }
    assert_eq!(at, message.len(), "bytes after the last payload");
    let payload = |index: usize| &message[fields[index].0..fields[index].0 + fields[index].1];
    assert_eq!(payload(2), utf16le(domain), "the domain sent");
    assert_eq!(payload(3), utf16le(user), "the user sent");
    let nt = payload(1);
    // NTProofStr, then the blob: its header, the timestamp, the client challenge.
    assert!(
        nt.len() >= 16 + 28 + 4,
        "an NTLMv2 response too short: {}",
        nt.len()
    );
    assert_eq!(&nt[16..18], &[1, 1], "the NTLMv2 blob's version");
    let target = utf16le(&format!("HTTP/{HOST}"));
    assert!(
        nt.windows(target.len()).any(|window| window == target),
        "the answer names its target"
    );
    let lm = payload(0);
    assert!(lm.len() == 24, "an LMv2 response of {} bytes", lm.len());
    assert_ne!(u32_at(message, 60) & 1, 0, "not Unicode");
}
