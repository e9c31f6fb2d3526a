//! Just enough DER to name things: the AlgorithmIdentifier of GCAUTH attribute 18 and of
//! RFC 7427 AUTH data, the SubjectPublicKeyInfo of AUTH_KEY, and ID_DER_ASN1_DN.
//!
//! Read-only and bounded: every length is checked against the input; anything
//! unexpected yields `None` and the caller falls back to hex.

/// One TLV: tag octet and content.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
}

/// Reads one TLV (single-octet tags, definite lengths up to four octets).
fn read(d: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *d.first()?;
    let l0 = *d.get(1)?;
    let (len, hdr) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*d.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    let content = d.get(hdr..end)?;
    Some((Tlv { tag, content }, &d[end..]))
}

/// Reads a TLV with an expected tag.
fn expect(d: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, rest) = read(d)?;
    (t.tag == tag).then_some((t.content, rest))
}

/// Dotted form of an OBJECT IDENTIFIER's content octets.
fn oid_string(c: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    let mut in_arc = false;
    for &b in c {
        if v > (u64::MAX >> 7) {
            return None;
        }
        v = (v << 7) | u64::from(b & 0x7f);
        in_arc = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
            in_arc = false;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Names of the OIDs an operator meets in G-IKEv2 (RFC 7427 Appendix A, RFC 8410,
/// RFC 4055, RFC 5480, FIPS 204).
fn oid_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.8" => "id-mgf1",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10040.4.1" => "id-dsa",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.3.14.3.2.26" => "SHA-1",
        "2.16.840.1.101.3.4.2.1" => "SHA-256",
        "2.16.840.1.101.3.4.2.2" => "SHA-384",
        "2.16.840.1.101.3.4.2.3" => "SHA-512",
        "2.16.840.1.101.3.4.3.17" => "ML-DSA-44",
        "2.16.840.1.101.3.4.3.18" => "ML-DSA-65",
        "2.16.840.1.101.3.4.3.19" => "ML-DSA-87",
        _ => return None,
    })
}

fn algorithm(d: &[u8]) -> Option<(String, Option<Tlv<'_>>)> {
    let (seq, _) = expect(d, 0x30)?;
    let (oid, rest) = expect(seq, 0x06)?;
    let params = read(rest).map(|(t, _)| t);
    Some((oid_string(oid)?, params))
}

/// Names a DER AlgorithmIdentifier, e.g. `Ed25519`, `ecdsa-with-SHA256`,
/// `RSASSA-PSS (SHA-256, MGF1, salt 32)`; unknown OIDs are shown dotted.
pub fn algorithm_name(der: &[u8]) -> Option<String> {
    let (oid, params) = algorithm(der)?;
    let name = oid_name(&oid).map(str::to_string).unwrap_or(oid.clone());
    if oid == "1.2.840.113549.1.1.10" {
        return Some(pss_description(params.as_ref()));
    }
    Some(name)
}

/// RSASSA-PSS-params (RFC 4055 §3.1): hash, MGF and salt length, with the defaults.
fn pss_description(params: Option<&Tlv<'_>>) -> String {
    let mut hash = "SHA-1".to_string();
    let mut salt = 20u64;
    if let Some(p) = params.filter(|p| p.tag == 0x30) {
        let mut rest = p.content;
        while let Some((t, r)) = read(rest) {
            match t.tag {
                0xa0 => {
                    if let Some((oid, _)) = algorithm(t.content) {
                        hash = oid_name(&oid).map(str::to_string).unwrap_or(oid);
                    }
                }
                0xa2 => {
                    if let Some((int, _)) = expect(t.content, 0x02) {
                        if int.len() <= 8 {
                            salt = int.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
                        }
                    }
                }
                _ => {}
            }
            rest = r;
        }
    }
    format!("RSASSA-PSS ({hash}, salt {salt})")
}

/// Describes a DER SubjectPublicKeyInfo: `Ed25519`, `EC P-256`, `RSA 2048-bit`, ...
pub fn spki_description(der: &[u8]) -> Option<String> {
    let (seq, _) = expect(der, 0x30)?;
    let (alg_seq_content, rest) = expect(seq, 0x30)?;
    let (oid, params_rest) = expect(alg_seq_content, 0x06)?;
    let oid = oid_string(oid)?;
    let (bits, _) = expect(rest, 0x03)?;
    let key = bits.get(1..)?;
    Some(match oid.as_str() {
        "1.2.840.10045.2.1" => {
            let curve = expect(params_rest, 0x06)
                .and_then(|(c, _)| oid_string(c))
                .map(|c| oid_name(&c).map(str::to_string).unwrap_or(c))
                .unwrap_or_else(|| "unknown curve".into());
            format!("EC {curve}")
        }
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let n_bits = expect(key, 0x30)
                .and_then(|(s, _)| expect(s, 0x02))
                .map(|(n, _)| {
                    let n = match n.iter().position(|b| *b != 0) {
                        Some(i) => &n[i..],
                        None => &n[n.len()..],
                    };
                    match n.first() {
                        Some(b) => n.len() * 8 - b.leading_zeros() as usize,
                        None => 0,
                    }
                });
            let kind = if oid.ends_with(".10") {
                "RSASSA-PSS"
            } else {
                "RSA"
            };
            match n_bits {
                Some(b) => format!("{kind} {b}-bit"),
                None => kind.to_string(),
            }
        }
        other => oid_name(other).map(str::to_string).unwrap_or(oid.clone()),
    })
}

/// Renders a DER Name (ID_DER_ASN1_DN) as `C=.., O=.., CN=..`.
pub fn dn_string(der: &[u8]) -> Option<String> {
    let (mut rdns, rest) = expect(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (set, r) = expect(rdns, 0x31)?;
        rdns = r;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (atv, r2) = expect(atvs, 0x30)?;
            atvs = r2;
            let (oid, vrest) = expect(atv, 0x06)?;
            let (val, _) = read(vrest)?;
            let oid = oid_string(oid)?;
            let key = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.5" => "serialNumber",
                "1.2.840.113549.1.9.1" => "E",
                "0.9.2342.19200300.100.1.25" => "DC",
                _ => "",
            };
            let key = if key.is_empty() {
                oid.clone()
            } else {
                key.into()
            };
            parts.push(format!("{key}={}", crate::render::printable(val.content)));
        }
    }
    Some(parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            algorithm_name(&[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]).as_deref(),
            Some("Ed25519")
        );
        let ecdsa = [
            0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
        ];
        assert_eq!(algorithm_name(&ecdsa).as_deref(), Some("ecdsa-with-SHA256"));
        // RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (RFC 7427 Appendix A.4.3).
        let pss = crate::keys::parse_hex(
            "3046 0609 2a864886f70d01010a 3039 a00f 300d 0609 608648016503040201 0500 \
             a11c 301a 0609 2a864886f70d010108 300d 0609 608648016503040201 0500 a203 020120 a303 020101",
        )
        .unwrap();
        assert_eq!(
            algorithm_name(&pss).as_deref(),
            Some("RSASSA-PSS (SHA-256, salt 32)")
        );
        let mut spki = crate::keys::parse_hex("302a300506032b6570032100").unwrap();
        spki.extend_from_slice(&[7; 32]);
        assert_eq!(spki_description(&spki).as_deref(), Some("Ed25519"));
        assert_eq!(algorithm_name(&[0x30, 0x80]), None);
        assert_eq!(algorithm_name(&[]), None);
        assert_eq!(
            algorithm_name(&[0x30, 0x04, 0x06, 0x02, 0x2a, 0x03]).as_deref(),
            Some("1.2.3")
        );
    }

    #[test]
    fn dn() {
        // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "gcks" } } }
        let d = [
            0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04, b'g',
            b'c', b'k', b's',
        ];
        assert_eq!(dn_string(&d).as_deref(), Some("CN=gcks"));
    }
}
