//! Diffie-Hellman for IKE_SA_INIT / CREATE_CHILD_SA key exchange: Curve25519 (group 31,
//! RFC 8031) and NIST P-256 (group 19, RFC 5903).

use std::fmt;

use openssl::bn::{BigNum, BigNumContext};
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};

use super::error::{CryptoError, Result};
use super::secret::Key;

/// Length of an X25519 key or shared secret (RFC 7748 §5).
const X25519_LEN: usize = 32;
/// Length of a P-256 field element (RFC 5903 §7).
const P256_COORD_LEN: usize = 32;

/// Supported Diffie-Hellman groups (IKEv2 Transform Type 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhGroup {
    /// Curve25519, group 31 (RFC 8031).
    Curve25519,
    /// 256-bit random ECP group (NIST P-256), group 19 (RFC 5903).
    Ecp256,
}

impl DhGroup {
    /// Maps an IKEv2 DH group number to a group.
    pub const fn from_group_id(id: u16) -> Option<Self> {
        match id {
            31 => Some(DhGroup::Curve25519),
            19 => Some(DhGroup::Ecp256),
            _ => None,
        }
    }

    /// The IKEv2 DH group number (31 or 19).
    pub const fn group_id(self) -> u16 {
        match self {
            DhGroup::Curve25519 => 31,
            DhGroup::Ecp256 => 19,
        }
    }

    /// Length of the Key Exchange Data in a KE payload: 32 for Curve25519 (RFC 8031 §2),
    /// 64 (`x | y`) for P-256 (RFC 5903 §7).
    pub const fn public_value_len(self) -> usize {
        match self {
            DhGroup::Curve25519 => X25519_LEN,
            DhGroup::Ecp256 => 2 * P256_COORD_LEN,
        }
    }

    /// Length of the shared secret g^ir: 32 for both groups.
    pub const fn shared_secret_len(self) -> usize {
        match self {
            DhGroup::Curve25519 => X25519_LEN,
            DhGroup::Ecp256 => P256_COORD_LEN,
        }
    }

    /// Generates an ephemeral private key.
    pub fn generate(self) -> Result<DhPrivate> {
        let pkey = match self {
            DhGroup::Curve25519 => PKey::generate_x25519()?,
            DhGroup::Ecp256 => {
                let group = p256()?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
        };
        Ok(DhPrivate { group: self, pkey })
    }
}

fn p256() -> Result<EcGroup> {
    Ok(EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?)
}

/// An ephemeral DH private key. OpenSSL wipes the private value when it is dropped.
pub struct DhPrivate {
    group: DhGroup,
    pkey: PKey<Private>,
}

impl fmt::Debug for DhPrivate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhPrivate")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl DhPrivate {
    /// Imports a private value: the 32-octet X25519 scalar (RFC 7748 §5), or the 32-octet
    /// big-endian P-256 scalar in `[1, n-1]`. Meant for test vectors and fixed configuration.
    pub fn from_private_bytes(group: DhGroup, bytes: &[u8]) -> Result<Self> {
        let expected = match group {
            DhGroup::Curve25519 => X25519_LEN,
            DhGroup::Ecp256 => P256_COORD_LEN,
        };
        if bytes.len() != expected {
            return Err(CryptoError::InvalidLength {
                what: "DH private value",
                expected,
                got: bytes.len(),
            });
        }
        let pkey = match group {
            DhGroup::Curve25519 => PKey::private_key_from_raw_bytes(bytes, Id::X25519)
                .map_err(|_| CryptoError::InvalidKey("X25519 private value"))?,
            DhGroup::Ecp256 => {
                let ec = p256()?;
                let mut ctx = BigNumContext::new_secure()?;
                let mut d = BigNum::new_secure()?;
                d.copy_from_slice(bytes)?;
                let mut order = BigNum::new()?;
                ec.order(&mut order, &mut ctx)?;
                if d.num_bits() == 0 || d >= order {
                    return Err(CryptoError::InvalidKey("P-256 private value out of range"));
                }
                let mut q = EcPoint::new(&ec)?;
                q.mul_generator2(&ec, &d, &mut ctx)?;
                let key = EcKey::from_private_components(&ec, &d, &q)?;
                PKey::from_ec_key(key)?
            }
        };
        Ok(DhPrivate { group, pkey })
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// The Key Exchange Data for the KE payload: the 32-octet X25519 public key
    /// (RFC 8031 §2), or `x | y` for P-256 (RFC 5903 §7, no 0x04 prefix).
    pub fn public_value(&self) -> Result<Vec<u8>> {
        match self.group {
            DhGroup::Curve25519 => Ok(self.pkey.raw_public_key()?),
            DhGroup::Ecp256 => {
                let ec = self.pkey.ec_key()?;
                let mut ctx = BigNumContext::new()?;
                let bytes = ec.public_key().to_bytes(
                    ec.group(),
                    PointConversionForm::UNCOMPRESSED,
                    &mut ctx,
                )?;
                match bytes.split_first() {
                    Some((0x04, xy)) if xy.len() == 2 * P256_COORD_LEN => Ok(xy.to_vec()),
                    _ => Err(CryptoError::InvalidKey("unexpected P-256 point encoding")),
                }
            }
        }
    }

    /// Computes the shared secret g^ir from the peer's Key Exchange Data.
    ///
    /// P-256: the peer value must be 64 octets `x | y` of a valid point on the curve
    /// (RFC 5903 §7, RFC 6989 §2.3); the result is the x-coordinate only (RFC 5903 §7).
    /// X25519: the peer value must be 32 octets; an all-zero result is rejected
    /// (RFC 7748 §6.1, RFC 8031 §2.3).
    pub fn shared_secret(&self, peer_public: &[u8]) -> Result<Key> {
        let expected = self.group.public_value_len();
        if peer_public.len() != expected {
            return Err(CryptoError::InvalidLength {
                what: "peer Key Exchange Data",
                expected,
                got: peer_public.len(),
            });
        }
        let peer = match self.group {
            DhGroup::Curve25519 => PKey::public_key_from_raw_bytes(peer_public, Id::X25519)
                .map_err(|_| CryptoError::InvalidKey("X25519 public value"))?,
            DhGroup::Ecp256 => {
                let ec = p256()?;
                let mut ctx = BigNumContext::new()?;
                let mut encoded = [0u8; 1 + 2 * P256_COORD_LEN];
                encoded[0] = 0x04;
                encoded[1..].copy_from_slice(peer_public);
                let point = EcPoint::from_bytes(&ec, &encoded, &mut ctx)
                    .map_err(|_| CryptoError::InvalidKey("P-256 point not on the curve"))?;
                let key = EcKey::from_public_key(&ec, &point)
                    .map_err(|_| CryptoError::InvalidKey("P-256 public value"))?;
                key.check_key()
                    .map_err(|_| CryptoError::InvalidKey("P-256 public value"))?;
                PKey::from_ec_key(key)?
            }
        };
        let mut deriver = Deriver::new(&self.pkey)?;
        deriver
            .set_peer(&peer)
            .map_err(|_| CryptoError::InvalidKey("peer public value"))?;
        let secret = Key::fill_with(|buf| {
            let out = &mut buf[..self.group.shared_secret_len()];
            let n = deriver
                .derive(out)
                .map_err(|_| CryptoError::InvalidKey("key agreement failed"))?;
            Ok(n)
        })?;
        if secret.len() != self.group.shared_secret_len() {
            return Err(CryptoError::InvalidKey("unexpected shared secret length"));
        }
        // X25519: a low-order peer point yields all zeros (RFC 7748 §6.1). Checked without
        // data-dependent branches on the secret.
        if secret.as_bytes().iter().fold(0u8, |acc, b| acc | b) == 0 {
            return Err(CryptoError::InvalidKey("all-zero shared secret"));
        }
        Ok(secret)
    }
}
