//! KEYMAT length checks: does each SA_KEY in a KD payload have the size its GSA policy
//! needs? A mismatch is a classic reason a group does not come up.
//!
//! KEYMAT of a Rekey SA is GSK_e | GSK_a | GSK_w (RFC 9838 §3.4); of a Data-Security
//! SA, the ENCR key (with salt/nonce octets, RFC 5282 / RFC 4106 conventions) then the
//! INTEG key (RFC 7296 §2.17). The wrapped size follows the KWA: RFC 5649 gives
//! 8 + 8·⌈n/8⌉ octets, KW_ARX n + 16 (RFC 9838 §4.5.4).

use gikev2::wire::{
    EncrId, GroupPolicy, IntegId, KwaId, Payload, PayloadBody, ProtocolId, SaPayload, Transform,
    TransformType,
};
use std::collections::HashMap;

/// What the keys of one GSA policy need.
#[derive(Clone, Debug)]
pub struct Need {
    /// KEYMAT length in octets.
    pub len: usize,
    /// How it adds up, e.g. `ENCR 36 + KWA 32`.
    pub parts: String,
    /// `KEK` or `TEK`.
    pub kind: &'static str,
}

/// Needs by (protocol, SPI).
pub type Needs = HashMap<(u8, Vec<u8>), Need>;

/// Key octets of an ENCR transform, salt or nonce included.
fn encr_len(t: &Transform) -> Option<usize> {
    let bits = t.key_length().map(usize::from);
    Some(match EncrId(t.id) {
        EncrId::ENCR_NULL => 0,
        EncrId::ENCR_3DES => 24,
        EncrId::ENCR_AES_CBC => bits? / 8,
        EncrId::ENCR_AES_CTR
        | EncrId::ENCR_AES_GCM_8
        | EncrId::ENCR_AES_GCM_12
        | EncrId::ENCR_AES_GCM_16
        | EncrId::ENCR_AES_GCM_16_IIV
        | EncrId::ENCR_NULL_AUTH_AES_GMAC => bits? / 8 + 4,
        EncrId::ENCR_AES_CCM_8
        | EncrId::ENCR_AES_CCM_12
        | EncrId::ENCR_AES_CCM_16
        | EncrId::ENCR_AES_CCM_8_IIV => bits? / 8 + 3,
        EncrId::ENCR_CHACHA20_POLY1305 | EncrId::ENCR_CHACHA20_POLY1305_IIV => 36,
        _ => return None,
    })
}

/// Key octets of an INTEG transform.
fn integ_len(id: u16) -> Option<usize> {
    Some(match IntegId(id) {
        IntegId::NONE => 0,
        IntegId::AUTH_HMAC_SHA1_96 => 20,
        IntegId::AUTH_AES_XCBC_96 | IntegId::AUTH_AES_CMAC_96 => 16,
        IntegId::AUTH_AES_128_GMAC => 20,
        IntegId::AUTH_AES_192_GMAC => 28,
        IntegId::AUTH_AES_256_GMAC => 36,
        IntegId::AUTH_HMAC_SHA2_256_128 => 32,
        IntegId::AUTH_HMAC_SHA2_384_192 => 48,
        IntegId::AUTH_HMAC_SHA2_512_256 => 64,
        _ => return None,
    })
}

/// Key octets of a KWA (the size of GSK_w).
fn kwa_len(id: u16) -> Option<usize> {
    Some(match KwaId(id) {
        KwaId::KW_5649_128 => 16,
        KwaId::KW_5649_192 => 24,
        KwaId::KW_5649_256 | KwaId::KW_ARX => 32,
        _ => return None,
    })
}

fn of_type(ts: &[Transform], t: TransformType) -> Option<&Transform> {
    ts.iter().find(|x| x.transform_type == t)
}

/// The needs of every GSA policy in a payload list.
pub fn needs(payloads: &[Payload]) -> Needs {
    let mut out = Needs::new();
    for p in payloads {
        let PayloadBody::Gsa(g) = &p.body else {
            continue;
        };
        for gp in &g.policies {
            let GroupPolicy::Sa(s) = gp else { continue };
            let Some(e) = of_type(&s.transforms, TransformType::ENCR).and_then(encr_len) else {
                continue;
            };
            let i = match of_type(&s.transforms, TransformType::INTEG) {
                Some(t) => match integ_len(t.id) {
                    Some(l) => l,
                    None => continue,
                },
                None => 0,
            };
            let mut parts = format!("ENCR {e}");
            if i > 0 {
                parts.push_str(&format!(" + INTEG {i}"));
            }
            let (kind, w) = if s.protocol == ProtocolId::GIKE_UPDATE {
                let Some(w) =
                    of_type(&s.transforms, TransformType::KWA).and_then(|t| kwa_len(t.id))
                else {
                    continue;
                };
                parts.push_str(&format!(" + KWA {w}"));
                ("KEK", w)
            } else {
                ("TEK", 0)
            };
            out.insert(
                (s.protocol.0, s.spi.clone()),
                Need {
                    len: e + i + w,
                    parts,
                    kind,
                },
            );
        }
    }
    out
}

/// The KWA of each KEK policy in a payload list, by Rekey SA SPI.
pub fn kek_kwas(payloads: &[Payload]) -> Vec<([u8; 16], u16)> {
    let mut out = Vec::new();
    for p in payloads {
        let PayloadBody::Gsa(g) = &p.body else {
            continue;
        };
        for s in g.sa_policies() {
            if s.protocol != ProtocolId::GIKE_UPDATE {
                continue;
            }
            if let (Ok(spi), Some(t)) = (
                <[u8; 16]>::try_from(s.spi.as_slice()),
                of_type(&s.transforms, TransformType::KWA),
            ) {
                out.push((spi, t.id));
            }
        }
    }
    out
}

/// The KWA of an IKE SA proposal (the chosen one, in an IKE_SA_INIT response).
pub fn ike_kwa(sa: &SaPayload) -> Option<u16> {
    sa.proposals
        .first()?
        .transforms_of(TransformType::KWA)
        .next()
        .map(|t| t.id)
}

/// Wrapped size of `n` octets under a KWA (`None`: assume RFC 5649).
pub fn wrapped_len(kwa: Option<u16>, n: usize) -> Option<usize> {
    match kwa.map(KwaId) {
        None | Some(KwaId::KW_5649_128) | Some(KwaId::KW_5649_192) | Some(KwaId::KW_5649_256) => {
            Some(8 + n.max(1).div_ceil(8) * 8)
        }
        Some(KwaId::KW_ARX) => Some(n + 16),
        Some(_) => None,
    }
}

/// `KW_5649_256` or `RFC 5649 key wrap` when the KWA is not known.
pub fn kwa_text(kwa: Option<u16>) -> String {
    match kwa {
        Some(id) => KwaId(id)
            .name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("KWA {id}")),
        None => "RFC 5649 key wrap (KWA not seen in this capture)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_sizes() {
        assert_eq!(wrapped_len(None, 68), Some(80));
        assert_eq!(wrapped_len(Some(3), 36), Some(48));
        assert_eq!(wrapped_len(Some(1), 8), Some(16));
        assert_eq!(wrapped_len(Some(4), 32), Some(48));
        assert_eq!(wrapped_len(Some(99), 32), None);
        let gcm = Transform::new(TransformType::ENCR, 20).with_key_length(256);
        assert_eq!(encr_len(&gcm), Some(36));
        assert_eq!(integ_len(12), Some(32));
    }
}
