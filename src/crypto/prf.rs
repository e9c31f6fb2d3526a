//! The IKEv2 pseudo-random function and `prf+` (RFC 7296 §2.13, RFC 4868 §2.1).

use openssl::hash::MessageDigest;
use zeroize::Zeroizing;

use super::error::{CryptoError, Result};
use super::hmac::{HmacKey, MAX_MAC_LEN};
use super::secret::Key;

/// IKEv2 PRF transforms (Transform Type 2) supported by this crate: HMAC-SHA2 per RFC 4868.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrfAlg {
    /// PRF_HMAC_SHA2_256, transform ID 5 (RFC 4868 §2.1).
    HmacSha256,
    /// PRF_HMAC_SHA2_384, transform ID 6 (RFC 4868 §2.1).
    HmacSha384,
    /// PRF_HMAC_SHA2_512, transform ID 7 (RFC 4868 §2.1).
    HmacSha512,
}

impl PrfAlg {
    /// Maps an IKEv2 PRF transform ID (IANA "Transform Type 2") to an algorithm.
    pub const fn from_transform_id(id: u16) -> Option<Self> {
        match id {
            5 => Some(PrfAlg::HmacSha256),
            6 => Some(PrfAlg::HmacSha384),
            7 => Some(PrfAlg::HmacSha512),
            _ => None,
        }
    }

    /// The IKEv2 PRF transform ID (5, 6 or 7).
    pub const fn transform_id(self) -> u16 {
        match self {
            PrfAlg::HmacSha256 => 5,
            PrfAlg::HmacSha384 => 6,
            PrfAlg::HmacSha512 => 7,
        }
    }

    /// Output length in octets (32, 48 or 64). This is also the preferred key length, hence the
    /// length of SK_d, SK_pi and SK_pr (RFC 7296 §2.14, RFC 4868 §2.1.2).
    pub const fn output_len(self) -> usize {
        match self {
            PrfAlg::HmacSha256 => 32,
            PrfAlg::HmacSha384 => 48,
            PrfAlg::HmacSha512 => 64,
        }
    }

    /// Largest output `prf+` can produce: 255 blocks (RFC 7296 §2.13).
    pub const fn max_prf_plus_len(self) -> usize {
        255 * self.output_len()
    }

    pub(crate) fn digest(self) -> MessageDigest {
        match self {
            PrfAlg::HmacSha256 => MessageDigest::sha256(),
            PrfAlg::HmacSha384 => MessageDigest::sha384(),
            PrfAlg::HmacSha512 => MessageDigest::sha512(),
        }
    }

    /// `prf(key, data)`: HMAC of `data` under `key` (RFC 7296 §2.13, RFC 4868 §2.1).
    pub fn prf(self, key: &[u8], data: &[u8]) -> Result<Key> {
        self.prf_parts(key, &[data])
    }

    /// `prf(key, part0 | part1 | ...)` without building the concatenation.
    pub(crate) fn prf_parts(self, key: &[u8], parts: &[&[u8]]) -> Result<Key> {
        let mac = HmacKey::new(self.digest(), key)?;
        Key::fill_with(|buf| mac.mac_into(parts, buf))
    }

    /// `prf+(key, seed)` truncated to `len` octets (RFC 7296 §2.13):
    ///
    /// ```text
    /// prf+ (K,S) = T1 | T2 | T3 | ...
    /// T1 = prf (K, S | 0x01)
    /// Tn = prf (K, Tn-1 | S | n)
    /// ```
    ///
    /// Fails with [`CryptoError::InvalidLength`] when `len` exceeds 255 blocks
    /// ([`PrfAlg::max_prf_plus_len`]).
    pub fn prf_plus(self, key: &[u8], seed: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
        self.prf_plus_parts(key, &[seed], len)
    }

    /// `prf+` whose seed is the concatenation of `seed_parts`.
    pub(crate) fn prf_plus_parts(
        self,
        key: &[u8],
        seed_parts: &[&[u8]],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if len > self.max_prf_plus_len() {
            return Err(CryptoError::InvalidLength {
                what: "prf+ output (maximum)",
                expected: self.max_prf_plus_len(),
                got: len,
            });
        }
        let h = self.output_len();
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        if len == 0 {
            return Ok(out);
        }
        let mac = HmacKey::new(self.digest(), key)?;
        let mut block = Zeroizing::new([0u8; MAX_MAC_LEN]);
        let mut have_prev = false;
        let mut counter: u8 = 1;
        while out.len() < len {
            let mut next = Zeroizing::new([0u8; MAX_MAC_LEN]);
            let ctr = [counter];
            let mut parts: Vec<&[u8]> = Vec::with_capacity(seed_parts.len() + 2);
            if have_prev {
                parts.push(&block[..h]);
            }
            parts.extend_from_slice(seed_parts);
            parts.push(&ctr);
            mac.mac_into(&parts, &mut next[..])?;
            drop(parts);
            let take = (len - out.len()).min(h);
            out.extend_from_slice(&next[..take]);
            block.copy_from_slice(&next[..]);
            have_prev = true;
            // At most 255 iterations by the length check above.
            counter = counter.wrapping_add(1);
        }
        Ok(out)
    }
}
