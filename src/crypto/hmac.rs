//! HMAC through OpenSSL's EVP interface (internal helper for `prf` and `sk`).
//!
//! HMAC-SHA2 is used as the IKEv2 PRF (RFC 4868 §2.1) and, truncated, as the SK payload
//! integrity algorithm (RFC 4868 §2.2).

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;

use super::error::{CryptoError, Result};

/// Largest HMAC output we produce (SHA-512).
pub(crate) const MAX_MAC_LEN: usize = 64;

/// An HMAC key bound to a digest, reusable for many MAC computations.
pub(crate) struct HmacKey {
    md: MessageDigest,
    pkey: PKey<Private>,
}

impl HmacKey {
    /// Prepares an HMAC key. OpenSSL copies the key and wipes its copy when freed.
    pub(crate) fn new(md: MessageDigest, key: &[u8]) -> Result<Self> {
        let pkey = PKey::hmac(key)?;
        Ok(HmacKey { md, pkey })
    }

    /// Output length of this HMAC in octets.
    pub(crate) fn output_len(&self) -> usize {
        self.md.size()
    }

    /// Computes HMAC over the concatenation of `parts` and writes the full-length MAC to the
    /// front of `out`, returning its length.
    pub(crate) fn mac_into(&self, parts: &[&[u8]], out: &mut [u8]) -> Result<usize> {
        let need = self.output_len();
        if out.len() < need {
            return Err(CryptoError::InvalidLength {
                what: "HMAC output buffer (minimum)",
                expected: need,
                got: out.len(),
            });
        }
        let mut signer = Signer::new(self.md, &self.pkey)?;
        for p in parts {
            signer.update(p)?;
        }
        let n = signer.sign(out)?;
        if n != need {
            return Err(CryptoError::InvalidLength {
                what: "HMAC output",
                expected: need,
                got: n,
            });
        }
        Ok(n)
    }
}
