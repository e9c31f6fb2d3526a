//! Decryption keys: Wireshark's `ikev2_decryption_table` (the UAT file strongSwan's
//! save-keys plugin writes) and keys given on the command line.
//!
//! A table line is
//! `SPIi,SPIr,SK_ei,SK_er,"<encryption>",SK_ai,SK_ar,"<integrity>"`, with hex octets
//! (quoted or not) and the algorithm names Wireshark uses. The names below are those of
//! `vs_ikev2_encr_algs[]` and `vs_ikev2_auth_algs[]` in Wireshark's
//! `epan/dissectors/packet-isakmp.c` (e.g. "AES-CBC-256 \[RFC3602\]",
//! "AES-GCM-128 with 16 octet ICV \[RFC5282\]", "HMAC_SHA2_256_128 \[RFC4868\]",
//! "NONE \[RFC4306\]"); strongSwan's save-keys plugin writes the same strings.
//!
//! For a Rekey SA (GSA_REKEY, RFC 9838 §2.4.1) the SPIs are the two halves of the
//! 16-octet Rekey SA SPI and SK_ei/SK_ai hold GSK_e/GSK_a.

use gikev2::crypto::sk::{EncrAlg, IntegAlg};
use zeroize::Zeroizing;

/// Wireshark encryption algorithm names and what this tool does with them.
const ENCR_NAMES: &[(&str, Option<EncrAlg>)] = &[
    ("3DES [RFC2451]", None),
    (
        "AES-CBC-128 [RFC3602]",
        Some(EncrAlg::AesCbc { key_bits: 128 }),
    ),
    (
        "AES-CBC-192 [RFC3602]",
        Some(EncrAlg::AesCbc { key_bits: 192 }),
    ),
    (
        "AES-CBC-256 [RFC3602]",
        Some(EncrAlg::AesCbc { key_bits: 256 }),
    ),
    ("NULL [RFC2410]", None),
    ("AES-CTR-128 [RFC5930]", None),
    ("AES-CTR-192 [RFC5930]", None),
    ("AES-CTR-256 [RFC5930]", None),
    (
        "AES-GCM-128 with 16 octet ICV [RFC5282]",
        Some(EncrAlg::AesGcm16 { key_bits: 128 }),
    ),
    (
        "AES-GCM-192 with 16 octet ICV [RFC5282]",
        Some(EncrAlg::AesGcm16 { key_bits: 192 }),
    ),
    (
        "AES-GCM-256 with 16 octet ICV [RFC5282]",
        Some(EncrAlg::AesGcm16 { key_bits: 256 }),
    ),
    ("AES-GCM-128 with 8 octet ICV [RFC5282]", None),
    ("AES-GCM-192 with 8 octet ICV [RFC5282]", None),
    ("AES-GCM-256 with 8 octet ICV [RFC5282]", None),
    ("AES-GCM-128 with 12 octet ICV [RFC5282]", None),
    ("AES-GCM-192 with 12 octet ICV [RFC5282]", None),
    ("AES-GCM-256 with 12 octet ICV [RFC5282]", None),
    ("AES-CCM-128 with 16 octet ICV [RFC5282]", None),
    ("AES-CCM-192 with 16 octet ICV [RFC5282]", None),
    ("AES-CCM-256 with 16 octet ICV [RFC5282]", None),
    ("AES-CCM-128 with 8 octet ICV [RFC5282]", None),
    ("AES-CCM-192 with 8 octet ICV [RFC5282]", None),
    ("AES-CCM-256 with 8 octet ICV [RFC5282]", None),
    ("AES-CCM-128 with 12 octet ICV [RFC5282]", None),
    ("AES-CCM-192 with 12 octet ICV [RFC5282]", None),
    ("AES-CCM-256 with 12 octet ICV [RFC5282]", None),
];

/// Wireshark integrity algorithm names; `Some(None)` is "no integrity" (AEAD).
const INTEG_NAMES: &[(&str, Option<Option<IntegAlg>>)] = &[
    ("HMAC_MD5_96 [RFC2403]", None),
    ("HMAC_SHA1_96 [RFC2404]", None),
    ("HMAC_MD5_128 [RFC4595]", None),
    ("HMAC_SHA1_160 [RFC4595]", None),
    ("HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]", None),
    (
        "HMAC_SHA2_256_128 [RFC4868]",
        Some(Some(IntegAlg::HmacSha256_128)),
    ),
    (
        "HMAC_SHA2_384_192 [RFC4868]",
        Some(Some(IntegAlg::HmacSha384_192)),
    ),
    (
        "HMAC_SHA2_512_256 [RFC4868]",
        Some(Some(IntegAlg::HmacSha512_256)),
    ),
    ("NONE [RFC4306]", Some(None)),
];

/// Short name used in output, e.g. `AES-GCM-16-256` or `AES-CBC-128 + HMAC-SHA2-256-128`.
pub fn suite_name(encr: EncrAlg, integ: Option<IntegAlg>) -> String {
    let e = match encr {
        EncrAlg::AesCbc { key_bits } => format!("AES-CBC-{key_bits}"),
        EncrAlg::AesGcm16 { key_bits } => format!("AES-GCM-16-{key_bits}"),
    };
    match integ {
        None => e,
        Some(i) => format!("{e} + {}", integ_cli_name(i).to_ascii_uppercase()),
    }
}

fn integ_cli_name(i: IntegAlg) -> &'static str {
    match i {
        IntegAlg::HmacSha256_128 => "hmac-sha2-256-128",
        IntegAlg::HmacSha384_192 => "hmac-sha2-384-192",
        IntegAlg::HmacSha512_256 => "hmac-sha2-512-256",
    }
}

/// Keys of one IKE SA or Rekey SA.
pub struct SaKeys {
    /// Where they came from, e.g. `keys.txt line 3` or `command line`.
    pub origin: String,
    /// The SPI pair they apply to; `None` = every SA (command-line keys without `--spi`).
    pub spis: Option<([u8; 8], [u8; 8])>,
    /// Encryption algorithm, or why it cannot be used.
    pub encr: Result<EncrAlg, String>,
    /// Integrity algorithm (`None` for AEAD), or why it cannot be used.
    pub integ: Result<Option<IntegAlg>, String>,
    /// SK_ei (GSK_e for a Rekey SA).
    pub sk_ei: Zeroizing<Vec<u8>>,
    /// SK_er.
    pub sk_er: Zeroizing<Vec<u8>>,
    /// SK_ai (GSK_a for a Rekey SA).
    pub sk_ai: Zeroizing<Vec<u8>>,
    /// SK_ar.
    pub sk_ar: Zeroizing<Vec<u8>>,
}

/// All keys known to this run.
#[derive(Default)]
pub struct KeyStore {
    entries: Vec<SaKeys>,
}

impl KeyStore {
    /// Adds an entry; table entries added first take precedence over wildcards.
    pub fn push(&mut self, k: SaKeys) {
        self.entries.push(k);
    }

    /// True if no keys were given.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys for an SPI pair: an exact match first, then a wildcard entry.
    pub fn lookup(&self, spi_i: &[u8; 8], spi_r: &[u8; 8]) -> Option<&SaKeys> {
        self.entries
            .iter()
            .find(|k| matches!(&k.spis, Some((i, r)) if i == spi_i && r == spi_r))
            .or_else(|| self.entries.iter().find(|k| k.spis.is_none()))
    }
}

/// Parses hex with optional `0x`, whitespace and `:` separators.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(s.len());
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    for (i, c) in t.chars().enumerate() {
        if c.is_ascii_whitespace() || c == ':' || c == '-' {
            continue;
        }
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None => return Err(format!("invalid hex character {c:?} at position {}", i + 1)),
        }
    }
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

fn spi8(s: &str, what: &str) -> Result<[u8; 8], String> {
    let v = parse_hex(s).map_err(|e| format!("{what}: {e}"))?;
    <[u8; 8]>::try_from(v.as_slice())
        .map_err(|_| format!("{what} must be 8 octets (16 hex digits), got {}", v.len()))
}

/// Splits one UAT record into fields: `"quoted"` (with `\\`, `\"` and `\xHH` escapes)
/// or bare, separated by commas.
fn uat_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut f = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some('x') => {
                            let h: String = chars.by_ref().take(2).collect();
                            let b = u8::from_str_radix(&h, 16).map_err(|_| {
                                format!("bad \\x escape in field {}", fields.len() + 1)
                            })?;
                            f.push(char::from(b));
                        }
                        Some(o) => f.push(o),
                        None => return Err("line ends inside an escape".into()),
                    },
                    c => f.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated quote in field {}", fields.len() + 1));
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                f.push(c);
                chars.next();
            }
            f = f.trim().to_string();
        }
        fields.push(f);
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(c) => {
                return Err(format!(
                    "unexpected {c:?} after field {} (fields are separated by commas)",
                    fields.len()
                ))
            }
        }
    }
    Ok(fields)
}

fn lookup_encr(name: &str) -> Result<EncrAlg, String> {
    let norm = |s: &str| {
        s.split(" [")
            .next()
            .unwrap_or(s)
            .trim()
            .to_ascii_lowercase()
    };
    let n = norm(name);
    match ENCR_NAMES.iter().find(|(w, _)| *w == name || norm(w) == n) {
        Some((_, Some(a))) => Ok(*a),
        Some((w, None)) => Err(format!("{w} is not supported by this tool")),
        None => parse_encr_cli(name).map_err(|_| {
            format!("unknown encryption algorithm {name:?} (expected a Wireshark name such as \"AES-GCM-256 with 16 octet ICV [RFC5282]\")")
        }),
    }
}

fn lookup_integ(name: &str) -> Result<Option<IntegAlg>, String> {
    let norm = |s: &str| {
        s.split(" [")
            .next()
            .unwrap_or(s)
            .trim()
            .to_ascii_lowercase()
    };
    let n = norm(name);
    match INTEG_NAMES.iter().find(|(w, _)| *w == name || norm(w) == n) {
        Some((_, Some(a))) => Ok(*a),
        Some((w, None)) => Err(format!("{w} is not supported by this tool")),
        None => parse_integ_cli(name).map_err(|_| {
            format!("unknown integrity algorithm {name:?} (expected a Wireshark name such as \"HMAC_SHA2_256_128 [RFC4868]\" or \"NONE [RFC4306]\")")
        }),
    }
}

/// Parses an `ikev2_decryption_table` file. Syntax errors fail the whole file (with
/// the line number); unsupported algorithms are kept and reported when used.
pub fn parse_table(text: &str, name: &str) -> Result<Vec<SaKeys>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{name} line {}", i + 1);
        let f = uat_fields(line).map_err(|e| format!("{at}: {e}"))?;
        if f.len() != 8 {
            return Err(format!(
                "{at}: {} fields, expected 8: SPIi,SPIr,SK_ei,SK_er,\"encryption\",SK_ai,SK_ar,\"integrity\"",
                f.len()
            ));
        }
        let hex = |idx: usize, what: &str| -> Result<Zeroizing<Vec<u8>>, String> {
            parse_hex(&f[idx])
                .map(Zeroizing::new)
                .map_err(|e| format!("{at}: {what}: {e}"))
        };
        let spi_i = spi8(&f[0], "SPIi").map_err(|e| format!("{at}: {e}"))?;
        let spi_r = spi8(&f[1], "SPIr").map_err(|e| format!("{at}: {e}"))?;
        out.push(SaKeys {
            origin: at.clone(),
            spis: Some((spi_i, spi_r)),
            sk_ei: hex(2, "SK_ei")?,
            sk_er: hex(3, "SK_er")?,
            encr: lookup_encr(&f[4]),
            sk_ai: hex(5, "SK_ai")?,
            sk_ar: hex(6, "SK_ar")?,
            integ: lookup_integ(&f[7]),
        });
    }
    Ok(out)
}

/// Parses `--encr`: `aes-gcm-16-{128,192,256}`, `aes-cbc-{128,192,256}` (strongSwan's
/// `aes256gcm16` / `aes256` spellings are accepted too).
pub fn parse_encr_cli(s: &str) -> Result<EncrAlg, String> {
    let l = s.to_ascii_lowercase().replace('_', "-");
    for bits in [128u16, 192, 256] {
        if l == format!("aes-gcm-16-{bits}")
            || l == format!("aes-gcm16-{bits}")
            || l == format!("aes{bits}gcm16")
            || l == format!("aes-{bits}-gcm-16")
        {
            return Ok(EncrAlg::AesGcm16 { key_bits: bits });
        }
        if l == format!("aes-cbc-{bits}")
            || l == format!("aes{bits}")
            || l == format!("aes-{bits}-cbc")
        {
            return Ok(EncrAlg::AesCbc { key_bits: bits });
        }
    }
    Err(format!(
        "unknown --encr {s:?}: use aes-gcm-16-128|192|256 or aes-cbc-128|192|256"
    ))
}

/// Parses `--integ`: `hmac-sha2-256-128`, `hmac-sha2-384-192`, `hmac-sha2-512-256`,
/// `none` (also strongSwan's `sha256`, `sha384`, `sha512`).
pub fn parse_integ_cli(s: &str) -> Result<Option<IntegAlg>, String> {
    match s.to_ascii_lowercase().replace('_', "-").as_str() {
        "none" => Ok(None),
        "hmac-sha2-256-128" | "sha256" | "sha2-256" => Ok(Some(IntegAlg::HmacSha256_128)),
        "hmac-sha2-384-192" | "sha384" | "sha2-384" => Ok(Some(IntegAlg::HmacSha384_192)),
        "hmac-sha2-512-256" | "sha512" | "sha2-512" => Ok(Some(IntegAlg::HmacSha512_256)),
        _ => Err(format!(
            "unknown --integ {s:?}: use hmac-sha2-256-128, hmac-sha2-384-192, hmac-sha2-512-256 or none"
        )),
    }
}

/// Parses `--spi SPIi:SPIr` (16 hex digits each).
pub fn parse_spi_pair(s: &str) -> Result<([u8; 8], [u8; 8]), String> {
    let (a, b) = s
        .split_once(':')
        .or_else(|| s.split_once(','))
        .ok_or_else(|| format!("--spi {s:?}: expected SPIi:SPIr"))?;
    Ok((spi8(a, "--spi SPIi")?, spi8(b, "--spi SPIr")?))
}

/// Which key a message is protected with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the original initiator (I flag set): SK_ei/SK_ai.
    Initiator,
    /// Sent by the original responder: SK_er/SK_ar.
    Responder,
    /// GSA_REKEY from the GCKS: GSK_e/GSK_a, given as SK_ei/SK_ai (RFC 9838 §2.4.1).
    Rekey,
}

impl SaKeys {
    /// The encryption and integrity keys for a direction, with their names.
    pub fn keys_for(&self, d: Direction) -> (&[u8], &[u8], &'static str) {
        match d {
            Direction::Initiator => (&self.sk_ei, &self.sk_ai, "SK_ei"),
            Direction::Responder => (&self.sk_er, &self.sk_ar, "SK_er"),
            Direction::Rekey => {
                if self.sk_ei.is_empty() && !self.sk_er.is_empty() {
                    (&self.sk_er, &self.sk_ar, "SK_er (as GSK_e)")
                } else {
                    (&self.sk_ei, &self.sk_ai, "SK_ei (as GSK_e)")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_line() {
        let t = "# comment\n\
            0123456789abcdef,fedcba9876543210,00112233,44556677,\"AES-GCM-128 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"\n\
            \"0123456789abcdef\",\"0000000000000001\",\"aa\",\"bb\",\"3DES [RFC2451]\",\"cc\",\"dd\",\"HMAC_SHA1_96 [RFC2404]\"\n";
        let v = parse_table(t, "k").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].encr, Ok(EncrAlg::AesGcm16 { key_bits: 128 }));
        assert_eq!(v[0].integ, Ok(None));
        assert_eq!(v[0].sk_er.as_slice(), &[0x44, 0x55, 0x66, 0x77]);
        assert!(v[0].sk_ai.is_empty());
        assert!(v[1].encr.is_err());
        assert!(v[1].integ.is_err());
        assert_eq!(v[1].origin, "k line 3");
        let e = parse_table("01,02,03", "k").err().unwrap();
        assert!(e.starts_with("k line 1: 3 fields"), "{e}");
        let e = parse_table(
            "0123,fedcba9876543210,,,\"NONE [RFC4306]\",,,\"NONE [RFC4306]\"",
            "k",
        )
        .err()
        .unwrap();
        assert!(e.contains("SPIi must be 8 octets"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for (n, a) in ENCR_NAMES {
            if let Some(a) = a {
                assert_eq!(lookup_encr(n), Ok(*a));
            }
        }
        for (n, a) in INTEG_NAMES {
            if let Some(a) = a {
                assert_eq!(lookup_integ(n), Ok(*a));
            }
        }
        assert_eq!(
            lookup_integ("hmac_sha2_256_128"),
            Ok(Some(IntegAlg::HmacSha256_128))
        );
        assert_eq!(
            parse_encr_cli("aes-gcm-16-256"),
            Ok(EncrAlg::AesGcm16 { key_bits: 256 })
        );
        assert_eq!(parse_hex("0x01:02 0A").unwrap(), vec![1, 2, 10]);
        assert!(parse_hex("012").is_err());
        assert!(parse_spi_pair("0102030405060708:1112131415161718").is_ok());
    }
}
