//! What a help desk reads off a certificate: subject, issuer, expiry and the host names it is
//! for, from its DER bytes.
//!
//! Only these fields are read, with a small DER walker that never panics and gives up on
//! anything it does not expect (a field it cannot read is `None`); the TLS library has already
//! checked what matters for trust. Nothing here decides whether a certificate is trusted.

use serde::Serialize;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A certificate as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    /// `CN=sts.corp.example, O=Corp`, most specific first (as RFC 4514 writes names).
    pub subject: Option<String>,
    pub issuer: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// The DNS names and IP addresses of its subjectAltName extension.
    pub names: Vec<String>,
}

impl CertificateSummary {
    /// Reads what it can of `der`; fields that cannot be read are left empty.
    pub fn of(der: &[u8]) -> Self {
        read(der).unwrap_or(Self {
            subject: None,
            issuer: None,
            not_before: None,
            not_after: None,
            names: Vec::new(),
        })
    }

    /// Whether the subject and the issuer are the same name (a root, or a self-signed
    /// certificate).
    pub fn is_self_issued(&self) -> bool {
        self.subject.is_some() && self.subject == self.issuer
    }
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;

/// 2.5.29.17
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

fn read(der: &[u8]) -> Option<CertificateSummary> {
    let mut outer = Reader(der);
    let certificate = outer.expect(SEQUENCE)?;
    let mut certificate = Reader(certificate);
    let mut tbs = Reader(certificate.expect(SEQUENCE)?);
    if tbs.peek() == Some(VERSION) {
        tbs.next()?;
    }
    tbs.expect(INTEGER)?;
    tbs.expect(SEQUENCE)?;
    let issuer = name(tbs.expect(SEQUENCE)?);
    let mut validity = Reader(tbs.expect(SEQUENCE)?);
    let not_before = validity.next().and_then(|(tag, value)| when(tag, value));
    let not_after = validity.next().and_then(|(tag, value)| when(tag, value));
    let subject = name(tbs.expect(SEQUENCE)?);
    // The public key, then optional unique ids, then the extensions.
    let mut names = Vec::new();
    while let Some((tag, value)) = tbs.next() {
        if tag == EXTENSIONS {
            names = alt_names(value).unwrap_or_default();
        }
    }
    Some(CertificateSummary {
        subject,
        issuer,
        not_before,
        not_after,
        names,
    })
}

/// A Name: RDNs in DER order, shown most specific first.
fn name(der: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let mut rdns = Reader(der);
    while let Some((tag, rdn)) = rdns.next() {
        if tag != SET {
            return None;
        }
        let mut attributes = Reader(rdn);
        while let Some((tag, attribute)) = attributes.next() {
            if tag != SEQUENCE {
                return None;
            }
            let mut attribute = Reader(attribute);
            let oid = attribute.expect(OID)?;
            let (kind, value) = attribute.next()?;
            parts.push(format!("{}={}", attribute_name(oid), text(kind, value)));
        }
    }
    parts.reverse();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".to_owned(),
        [0x55, 0x04, 0x05] => "serialNumber".to_owned(),
        [0x55, 0x04, 0x06] => "C".to_owned(),
        [0x55, 0x04, 0x07] => "L".to_owned(),
        [0x55, 0x04, 0x08] => "ST".to_owned(),
        [0x55, 0x04, 0x0a] => "O".to_owned(),
        [0x55, 0x04, 0x0b] => "OU".to_owned(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".to_owned(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".to_owned(),
        other => dotted(other),
    }
}

/// An OID in dotted form (`2.5.4.97`).
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &byte in oid {
        value = value
            .saturating_mul(128)
            .saturating_add(u64::from(byte & 0x7f));
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A directory string: UTF-8, printable, IA5 or teletex as text, BMP as UTF-16.
fn text(kind: u8, value: &[u8]) -> String {
    let shown = match kind {
        // BMPString
        0x1e => {
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(value).into_owned(),
    };
    crate::untrusted::for_terminal(&shown).into_owned()
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950 to 2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn when(tag: u8, value: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(value).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |at: usize| rest.get(at..at + 2)?.parse::<u8>().ok();
    let date = Date::from_calendar_date(year, Month::try_from(field(0)?).ok()?, field(2)?).ok()?;
    let time = Time::from_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The DNS names and IP addresses of the subjectAltName among `extensions` ([3] EXPLICIT).
fn alt_names(extensions: &[u8]) -> Option<Vec<String>> {
    let mut outer = Reader(extensions);
    let mut list = Reader(outer.expect(SEQUENCE)?);
    while let Some((tag, extension)) = list.next() {
        if tag != SEQUENCE {
            return None;
        }
        let mut extension = Reader(extension);
        let oid = extension.expect(OID)?;
        if extension.peek() == Some(BOOLEAN) {
            extension.next()?;
        }
        let value = extension.expect(OCTET_STRING)?;
        if oid != SUBJECT_ALT_NAME {
            continue;
        }
        let mut names = Vec::new();
        let mut general = Reader(Reader(value).expect(SEQUENCE)?);
        while let Some((tag, name)) = general.next() {
            match tag {
                DNS_NAME => names.push(text(0x16, name)),
                IP_ADDRESS => match name.len() {
                    4 => names.push(
                        std::net::Ipv4Addr::new(name[0], name[1], name[2], name[3]).to_string(),
                    ),
                    16 => {
                        let mut octets = [0_u8; 16];
                        octets.copy_from_slice(name);
                        names.push(std::net::Ipv6Addr::from(octets).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        return Some(names);
    }
    Some(Vec::new())
}

/// DER elements one after the other: a tag, a length, the contents.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let length = rest[..count]
                .iter()
                .fold(0_usize, |length, &byte| (length << 8) | usize::from(byte));
            (length, &rest[count..])
        };
        if rest.len() < length {
            return None;
        }
        let (contents, rest) = rest.split_at(length);
        self.0 = rest;
        Some((tag, contents))
    }

    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (found, contents) if found == tag => Some(contents),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    #[test]
    fn a_certificate_made_with_openssl_reads_back_as_openssl_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let made = rolecall_tests::tls::certificates(dir.path());
        let server = CertificateDer::from_pem_file(&made.cert).unwrap();
        let ca = CertificateDer::from_pem_file(&made.ca).unwrap();

        let server = CertificateSummary::of(&server);
        assert_eq!(server.subject.as_deref(), Some("CN=localhost"));
        assert_eq!(server.issuer.as_deref(), Some("CN=Rolecall Test CA"));
        assert_eq!(server.names, ["localhost", "127.0.0.1"]);
        let (not_before, not_after) = (server.not_before.unwrap(), server.not_after.unwrap());
        assert_eq!(
            (not_after - not_before).whole_days(),
            2,
            "openssl -days 2: {not_before} to {not_after}"
        );
        assert!(!server.is_self_issued());

        let ca = CertificateSummary::of(&ca);
        assert_eq!(ca.subject.as_deref(), Some("CN=Rolecall Test CA"));
        assert!(ca.is_self_issued(), "the CA is a root: {ca:?}");
        assert!(ca.names.is_empty());
    }

    #[test]
    fn both_kinds_of_time_are_read_and_nonsense_is_not() {
        assert_eq!(
            when(UTC_TIME, b"491231235959Z"),
            Some(time::macros::datetime!(2049-12-31 23:59:59 UTC))
        );
        assert_eq!(
            when(UTC_TIME, b"500101000000Z"),
            Some(time::macros::datetime!(1950-01-01 0:00 UTC))
        );
        assert_eq!(
            when(GENERALIZED_TIME, b"20991231235959Z"),
            Some(time::macros::datetime!(2099-12-31 23:59:59 UTC))
        );
        for bad in [&b"991331000000Z"[..], b"99123100000", b"9912310000+0Z", b""] {
            assert_eq!(when(UTC_TIME, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_attributes_show_their_oid_and_control_characters_are_not_printed() {
        assert_eq!(dotted(&[0x55, 0x04, 0x61]), "2.5.4.97");
        assert_eq!(dotted(&[0x2a, 0x86, 0x48]), "1.2.840");
        // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "a\x1b[31mb" } } }
        let value = b"a\x1b[31mb";
        let attribute = [
            &[OID, 3, 0x55, 0x04, 0x03, 0x0c, value.len() as u8][..],
            value,
        ]
        .concat();
        let rdn = [&[SEQUENCE, attribute.len() as u8][..], &attribute].concat();
        let name_der = [&[SET, rdn.len() as u8][..], &rdn].concat();
        let shown = name(&name_der).unwrap();
        assert!(!shown.contains('\x1b'), "{shown:?}");
        assert!(shown.starts_with("CN=a"), "{shown:?}");
    }

    proptest! {
        /// Whatever a server sends, reading it ends in a summary, never a panic.
        #[test]
        fn any_bytes_give_a_summary(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = CertificateSummary::of(&bytes);
        }

        #[test]
        fn any_bytes_inside_a_certificate_sequence_give_a_summary(
            bytes in proptest::collection::vec(any::<u8>(), 0..200)
        ) {
            let wrapped = [&[SEQUENCE, 0x81, bytes.len() as u8][..], &bytes].concat();
            let _ = CertificateSummary::of(&wrapped);
        }
    }
}
