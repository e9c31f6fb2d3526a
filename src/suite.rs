//! Facts about the algorithms a group policy can name: key sizes including salts,
//! AEAD and counter modes. Used by both roles to size, split and check keys.
//!
//! Key material layout follows RFC 7296 §2.17 (encryption key first, then integrity key);
//! salts belong to the encryption key material as each cipher's ESP RFC defines
//! (RFC 4106/4309/4543/5930/7634: 4 octets, CCM 3 octets; RFC 9838 §3.4).

use crate::wire::{EncrId, IntegId, Transform, TransformType};

/// An encryption transform: ID and Key Length attribute (bits), if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncrSpec {
    /// Transform Type 1 ID.
    pub id: EncrId,
    /// Key Length attribute in bits (required for AES-based ciphers).
    pub key_bits: Option<u16>,
}

impl EncrSpec {
    /// A cipher with a Key Length attribute.
    pub const fn with_bits(id: EncrId, bits: u16) -> Self {
        EncrSpec {
            id,
            key_bits: Some(bits),
        }
    }

    /// A cipher without a Key Length attribute (e.g. ChaCha20-Poly1305).
    pub const fn fixed(id: EncrId) -> Self {
        EncrSpec { id, key_bits: None }
    }

    /// The ENCR transform for this cipher.
    pub fn transform(&self) -> Transform {
        let t = Transform::new(TransformType::ENCR, self.id.0);
        match self.key_bits {
            Some(b) => t.with_key_length(b),
            None => t,
        }
    }

    /// The spec an ENCR transform describes.
    pub fn from_transform(t: &Transform) -> Self {
        EncrSpec {
            id: EncrId(t.id),
            key_bits: t.key_length(),
        }
    }

    /// Octets of salt/nonce material that follow the key.
    pub fn salt_len(&self) -> usize {
        match self.id {
            EncrId::ENCR_AES_CCM_8
            | EncrId::ENCR_AES_CCM_12
            | EncrId::ENCR_AES_CCM_16
            | EncrId::ENCR_AES_CCM_8_IIV => 3,
            EncrId::ENCR_AES_CTR
            | EncrId::ENCR_AES_GCM_8
            | EncrId::ENCR_AES_GCM_12
            | EncrId::ENCR_AES_GCM_16
            | EncrId::ENCR_NULL_AUTH_AES_GMAC
            | EncrId::ENCR_AES_GCM_16_IIV
            | EncrId::ENCR_CHACHA20_POLY1305
            | EncrId::ENCR_CHACHA20_POLY1305_IIV => 4,
            _ => 0,
        }
    }

    /// Key length in octets *including* the salt; `None` for an unknown cipher or a Key
    /// Length the cipher does not allow.
    pub fn key_len(&self) -> Option<usize> {
        let aes = |bits: Option<u16>| match bits {
            Some(b @ (128 | 192 | 256)) => Some(b as usize / 8),
            _ => None,
        };
        let base = match self.id {
            EncrId::ENCR_NULL => match self.key_bits {
                None | Some(0) => Some(0),
                _ => None,
            },
            EncrId::ENCR_3DES => match self.key_bits {
                None => Some(24),
                _ => None,
            },
            EncrId::ENCR_CHACHA20_POLY1305 | EncrId::ENCR_CHACHA20_POLY1305_IIV => {
                match self.key_bits {
                    None | Some(256) => Some(32),
                    _ => None,
                }
            }
            EncrId::ENCR_AES_CBC
            | EncrId::ENCR_AES_CTR
            | EncrId::ENCR_AES_CCM_8
            | EncrId::ENCR_AES_CCM_12
            | EncrId::ENCR_AES_CCM_16
            | EncrId::ENCR_AES_GCM_8
            | EncrId::ENCR_AES_GCM_12
            | EncrId::ENCR_AES_GCM_16
            | EncrId::ENCR_NULL_AUTH_AES_GMAC
            | EncrId::ENCR_AES_CCM_8_IIV
            | EncrId::ENCR_AES_GCM_16_IIV => aes(self.key_bits),
            _ => None,
        }?;
        Some(base + self.salt_len())
    }

    /// True for combined-mode ciphers, which take no separate integrity algorithm.
    pub fn is_aead(&self) -> bool {
        matches!(
            self.id,
            EncrId::ENCR_AES_CCM_8
                | EncrId::ENCR_AES_CCM_12
                | EncrId::ENCR_AES_CCM_16
                | EncrId::ENCR_AES_GCM_8
                | EncrId::ENCR_AES_GCM_12
                | EncrId::ENCR_AES_GCM_16
                | EncrId::ENCR_NULL_AUTH_AES_GMAC
                | EncrId::ENCR_CHACHA20_POLY1305
                | EncrId::ENCR_AES_CCM_8_IIV
                | EncrId::ENCR_AES_GCM_16_IIV
                | EncrId::ENCR_CHACHA20_POLY1305_IIV
        )
    }

    /// True for counter-based modes, whose IVs must be partitioned by Sender-ID when
    /// several members send (RFC 9838 §2.5).
    pub fn is_counter_mode(&self) -> bool {
        self.id == EncrId::ENCR_AES_CTR || self.is_aead()
    }

    /// True for the implicit-IV ciphers of RFC 8750, which need unique sequence numbers
    /// and so a single sender (RFC 9838 §2.7).
    pub fn is_implicit_iv(&self) -> bool {
        matches!(
            self.id,
            EncrId::ENCR_AES_CCM_8_IIV
                | EncrId::ENCR_AES_GCM_16_IIV
                | EncrId::ENCR_CHACHA20_POLY1305_IIV
        )
    }
}

/// Integrity key length in octets (incl. the GMAC salt); `None` for unknown algorithms.
pub fn integ_key_len(id: IntegId) -> Option<usize> {
    match id {
        IntegId::NONE => Some(0),
        IntegId::AUTH_HMAC_SHA1_96 => Some(20),
        IntegId::AUTH_AES_XCBC_96 | IntegId::AUTH_AES_CMAC_96 => Some(16),
        IntegId::AUTH_AES_128_GMAC => Some(16 + 4),
        IntegId::AUTH_AES_192_GMAC => Some(24 + 4),
        IntegId::AUTH_AES_256_GMAC => Some(32 + 4),
        IntegId::AUTH_HMAC_SHA2_256_128 => Some(32),
        IntegId::AUTH_HMAC_SHA2_384_192 => Some(48),
        IntegId::AUTH_HMAC_SHA2_512_256 => Some(64),
        _ => None,
    }
}

/// True for AES-GMAC integrity, a counter mode (RFC 4543; RFC 9838 §2.5).
pub fn integ_is_counter_mode(id: IntegId) -> bool {
    matches!(
        id,
        IntegId::AUTH_AES_128_GMAC | IntegId::AUTH_AES_192_GMAC | IntegId::AUTH_AES_256_GMAC
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lengths_include_salts() {
        assert_eq!(
            EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256).key_len(),
            Some(36)
        );
        assert_eq!(
            EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 128).key_len(),
            Some(20)
        );
        assert_eq!(
            EncrSpec::with_bits(EncrId::ENCR_AES_CCM_16, 128).key_len(),
            Some(19)
        );
        assert_eq!(
            EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256).key_len(),
            Some(32)
        );
        assert_eq!(
            EncrSpec::fixed(EncrId::ENCR_CHACHA20_POLY1305).key_len(),
            Some(36)
        );
        assert_eq!(
            EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 100).key_len(),
            None
        );
        assert_eq!(EncrSpec::fixed(EncrId::ENCR_AES_CBC).key_len(), None);
        assert_eq!(integ_key_len(IntegId::AUTH_HMAC_SHA2_256_128), Some(32));
        assert_eq!(integ_key_len(IntegId::AUTH_AES_128_GMAC), Some(20));
    }

    #[test]
    fn counter_modes() {
        assert!(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 128).is_counter_mode());
        assert!(EncrSpec::with_bits(EncrId::ENCR_AES_CTR, 128).is_counter_mode());
        assert!(!EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 128).is_counter_mode());
        assert!(integ_is_counter_mode(IntegId::AUTH_AES_256_GMAC));
    }
}
