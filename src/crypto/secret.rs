//! Fixed-capacity secret buffers.
//!
//! Every key the crate holds (SK_d copies, GSK_w, KEKs, TEKs, LKH keys, keying material) is a
//! [`Secret`]: a `[u8; N]` array plus a length, wiped on drop, with a redacted `Debug` and no
//! `Clone`, `Display` or `PartialEq` (project style, "Zeroization"; modelled on rustls'
//! `OkmBlock`).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::ct;
use super::error::{CryptoError, Result};
use super::rand::fill_random;

/// A secret of at most `N` octets, zeroized on drop.
///
/// There is deliberately no `Clone` (use [`Secret::duplicate`], which is explicit), no
/// `Display` and no `PartialEq` (use [`Secret::ct_eq`]). `Debug` prints only the capacity and
/// the length.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Secret<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

/// Any single symmetric key: SK_d/SK_a/SK_e/SK_p (up to SHA-512 output, RFC 7296 §2.14),
/// GSK_w (RFC 9838 §3.1), a KEK or a wrapped key.
pub type Key = Secret<64>;

/// Keying material of up to 256 octets: the KEYMAT carried in SA_KEY or the key data of a
/// WRAP_KEY (RFC 9838 §4.5.4 limits key data to 256 octets).
pub type KeyMaterial = Secret<256>;

impl<const N: usize> Secret<N> {
    /// The capacity `N` of this secret type.
    pub const CAPACITY: usize = N;

    /// Copies `bytes` into a new secret.
    ///
    /// Fails with [`CryptoError::InvalidLength`] if `bytes` is longer than `N`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > N {
            return Err(CryptoError::InvalidLength {
                what: "secret (maximum)",
                expected: N,
                got: bytes.len(),
            });
        }
        let mut s = Self::empty();
        s.bytes[..bytes.len()].copy_from_slice(bytes);
        s.len = bytes.len();
        Ok(s)
    }

    /// Generates a secret of `len` random octets (OpenSSL DRBG).
    ///
    /// Fails with [`CryptoError::InvalidLength`] if `len > N`.
    pub fn random(len: usize) -> Result<Self> {
        Self::fill_with(|buf| {
            let out = buf.get_mut(..len).ok_or(CryptoError::InvalidLength {
                what: "secret (maximum)",
                expected: N,
                got: len,
            })?;
            fill_random(out)?;
            Ok(len)
        })
    }

    /// Exposes the secret octets.
    ///
    /// This declassifies: callers must only pass the result to a cryptographic primitive or
    /// to a caller-owned buffer that is wiped afterwards, never to a log.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Length of the secret in octets.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the secret has zero length.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes an explicit copy. This stands in for `Clone`, so every copy of key material is
    /// visible in the code.
    pub fn duplicate(&self) -> Self {
        let mut s = Self::empty();
        s.bytes[..self.len].copy_from_slice(self.as_bytes());
        s.len = self.len;
        s
    }

    /// Compares two secrets in constant time (lengths are compared first and are public).
    pub fn ct_eq<const M: usize>(&self, other: &Secret<M>) -> bool {
        ct::eq(self.as_bytes(), other.as_bytes())
    }

    /// Compares the secret with a byte slice in constant time.
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        ct::eq(self.as_bytes(), other)
    }

    /// A zero-length secret.
    fn empty() -> Self {
        Secret {
            bytes: [0u8; N],
            len: 0,
        }
    }

    /// Builds a secret in place: `f` receives the whole `N`-octet buffer and returns how many
    /// octets it wrote. Avoids an intermediate copy of key material.
    pub(crate) fn fill_with<F>(f: F) -> Result<Self>
    where
        F: FnOnce(&mut [u8]) -> Result<usize>,
    {
        let mut s = Self::empty();
        let len = f(&mut s.bytes)?;
        if len > N {
            return Err(CryptoError::InvalidLength {
                what: "secret (maximum)",
                expected: N,
                got: len,
            });
        }
        s.len = len;
        Ok(s)
    }
}

impl<const N: usize> fmt::Debug for Secret<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("capacity", &N)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
