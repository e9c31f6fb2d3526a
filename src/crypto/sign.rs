//! Digital signatures for GCAUTH "Digital Signature" (RFC 9838 §4.4.2.1.1, §2.4.1.1) with the
//! RFC 7427 Authentication Data format: an ASN.1 AlgorithmIdentifier followed by the
//! signature value.
//!
//! Supported: Ed25519 (RFC 8420), ECDSA P-256 with SHA-256 (RFC 7427 A.3.1, DER
//! `ECDSA-Sig-Value` output) and RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-octet salt
//! (RFC 7427 A.4.3).

use std::fmt;

use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

use super::error::{CryptoError, Result};

/// `AlgorithmIdentifier { id-Ed25519 }` with absent parameters (RFC 8420 §3, RFC 8410 §3).
const AID_ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// `AlgorithmIdentifier { ecdsa-with-SHA256 }` (RFC 7427 Appendix A.3.1).
const AID_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// `AlgorithmIdentifier { id-RSASSA-PSS, RSASSA-PSS-params { SHA-256, MGF1-SHA-256, salt 32 } }`
/// in DER: RFC 7427 Appendix A.4.3 as corrected by its erratum (the default trailerField
/// is omitted, as DER requires, and the lengths adjusted). strongSwan sends this form by
/// default (`charon.rsa_pss_trailerfield = no`).
const AID_RSA_PSS_SHA256: &[u8] = &[
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0,
    0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03,
    0x02, 0x01, 0x20,
];

/// The same parameters as printed in RFC 7427 Appendix A.4.3 before the erratum: with an
/// explicit `trailerField 1`. Accepted on receipt, never sent.
const AID_RSA_PSS_SHA256_WITH_TRAILER: &[u8] = &[
    0x30, 0x46, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x39, 0xa0,
    0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03,
    0x02, 0x01, 0x20, 0xa3, 0x03, 0x02, 0x01, 0x01,
];

/// RSASSA-PSS salt length in octets (RFC 7427 A.4.3: the SHA-256 output length).
const PSS_SALT_LEN: i32 = 32;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// Signature algorithms for the GCAUTH Digital Signature method and the Signature Algorithm
/// Identifier transform attribute (type 18) (RFC 9838 §4.4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlg {
    /// Pure Ed25519 (RFC 8420).
    Ed25519,
    /// ECDSA on P-256 with SHA-256; the signature is a DER `ECDSA-Sig-Value` (RFC 7427 §3).
    EcdsaP256Sha256,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-octet salt (RFC 7427 A.4.3).
    RsaPssSha256,
}

impl SignatureAlg {
    /// The DER `AlgorithmIdentifier` this crate sends in the AUTH payload and in the
    /// Signature Algorithm Identifier attribute (RFC 7427 §3, RFC 9838 §4.4.2.1.1).
    pub const fn algorithm_identifier(self) -> &'static [u8] {
        match self {
            SignatureAlg::Ed25519 => AID_ED25519,
            SignatureAlg::EcdsaP256Sha256 => AID_ECDSA_SHA256,
            SignatureAlg::RsaPssSha256 => AID_RSA_PSS_SHA256,
        }
    }

    /// Recognises a received DER `AlgorithmIdentifier` by exact comparison. For RSASSA-PSS
    /// both the DER form and the form printed in RFC 7427 A.4.3 (explicit default
    /// trailerField) are accepted.
    pub fn from_algorithm_identifier(der: &[u8]) -> Option<Self> {
        if der == AID_ED25519 {
            Some(SignatureAlg::Ed25519)
        } else if der == AID_ECDSA_SHA256 {
            Some(SignatureAlg::EcdsaP256Sha256)
        } else if der == AID_RSA_PSS_SHA256 || der == AID_RSA_PSS_SHA256_WITH_TRAILER {
            Some(SignatureAlg::RsaPssSha256)
        } else {
            None
        }
    }

    /// Checks that `pkey` is a key this algorithm can use (RFC 9838 Q13 read as "consistent
    /// key type"): an Ed25519 key, a P-256 EC key, or an RSA key (rsaEncryption or
    /// id-RSASSA-PSS) of at least [`MIN_RSA_BITS`] bits.
    fn check_key<T: HasPublic>(self, pkey: &PKeyRef<T>) -> Result<()> {
        let ok = match self {
            SignatureAlg::Ed25519 => pkey.id() == Id::ED25519,
            SignatureAlg::EcdsaP256Sha256 => {
                pkey.id() == Id::EC
                    && pkey.ec_key().ok().and_then(|k| k.group().curve_name())
                        == Some(Nid::X9_62_PRIME256V1)
            }
            SignatureAlg::RsaPssSha256 => {
                if pkey.id() != Id::RSA && pkey.id() != Id::RSA_PSS {
                    false
                } else if pkey.bits() < MIN_RSA_BITS {
                    return Err(CryptoError::InvalidKey(
                        "RSA modulus shorter than 2048 bits",
                    ));
                } else {
                    true
                }
            }
        };
        if ok {
            Ok(())
        } else {
            Err(CryptoError::InvalidKey(
                "key type does not match the signature algorithm",
            ))
        }
    }
}

/// A private signing key (the GCKS's GCAUTH key).
pub struct SigningKey {
    alg: SignatureAlg,
    pkey: PKey<Private>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key for `alg` (RSA: 2048 bits, rsaEncryption).
    pub fn generate(alg: SignatureAlg) -> Result<Self> {
        let pkey = match alg {
            SignatureAlg::Ed25519 => PKey::generate_ed25519()?,
            SignatureAlg::EcdsaP256Sha256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
            SignatureAlg::RsaPssSha256 => PKey::from_rsa(Rsa::generate(MIN_RSA_BITS)?)?,
        };
        Ok(SigningKey { alg, pkey })
    }

    /// Loads a DER PKCS#8 `PrivateKeyInfo` and checks it matches `alg`.
    pub fn from_pkcs8_der(alg: SignatureAlg, der: &[u8]) -> Result<Self> {
        let pkey = PKey::private_key_from_pkcs8(der)
            .map_err(|_| CryptoError::InvalidKey("malformed PKCS#8 private key"))?;
        alg.check_key(&pkey)?;
        Ok(SigningKey { alg, pkey })
    }

    /// Loads a PEM private key (PKCS#8 or traditional format) and checks it matches `alg`.
    pub fn from_pem(alg: SignatureAlg, pem: &[u8]) -> Result<Self> {
        let pkey = PKey::private_key_from_pem(pem)
            .map_err(|_| CryptoError::InvalidKey("malformed PEM private key"))?;
        alg.check_key(&pkey)?;
        Ok(SigningKey { alg, pkey })
    }

    /// Exports the private key as DER PKCS#8. The result is secret.
    pub fn to_pkcs8_der(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        Ok(zeroize::Zeroizing::new(self.pkey.private_key_to_pkcs8()?))
    }

    /// The signature algorithm.
    pub fn alg(&self) -> SignatureAlg {
        self.alg
    }

    /// The public key as a DER `SubjectPublicKeyInfo` (what AUTH_KEY carries,
    /// RFC 9838 §4.5.3.2).
    pub fn public_spki_der(&self) -> Result<Vec<u8>> {
        Ok(self.pkey.public_key_to_der()?)
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_spki_der(self.alg, &self.public_spki_der()?)
    }

    /// Upper bound on the signature length in octets: 64 for Ed25519, 72 for ECDSA P-256
    /// (DER, variable), the modulus length for RSA. Useful for sizing the placeholder of
    /// RFC 9838 §2.4.1.1 (digest Q3).
    pub fn max_signature_len(&self) -> usize {
        self.pkey.size()
    }

    /// Signs `data` (for GSA_REKEY, the `DataToAuthenticate` of RFC 9838 §2.4.1.1).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        match self.alg {
            SignatureAlg::Ed25519 => {
                let mut s = Signer::new_without_digest(&self.pkey)?;
                Ok(s.sign_oneshot_to_vec(data)?)
            }
            SignatureAlg::EcdsaP256Sha256 => {
                let mut s = Signer::new(MessageDigest::sha256(), &self.pkey)?;
                s.update(data)?;
                Ok(s.sign_to_vec()?)
            }
            SignatureAlg::RsaPssSha256 => {
                let mut s = Signer::new(MessageDigest::sha256(), &self.pkey)?;
                s.set_rsa_padding(Padding::PKCS1_PSS)?;
                s.set_rsa_mgf1_md(MessageDigest::sha256())?;
                s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(PSS_SALT_LEN))?;
                s.update(data)?;
                Ok(s.sign_to_vec()?)
            }
        }
    }
}

/// A public verification key (AUTH_KEY held by a GM, RFC 9838 §4.5.3.2). Cloning shares
/// OpenSSL's key object (a reference count), so it costs no decoding.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: SignatureAlg,
    pkey: PKey<Public>,
    /// The SubjectPublicKeyInfo as received (re-encoding an id-RSASSA-PSS key would give
    /// rsaEncryption).
    spki: Vec<u8>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("bits", &self.pkey.bits())
            .finish()
    }
}

/// DER of `SEQUENCE { SEQUENCE { OID id-Ed25519 }, BIT STRING (0 unused bits) }` up to the
/// 32 key octets (RFC 8410 §4, §10.1).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl VerifyingKey {
    /// Parses a DER `SubjectPublicKeyInfo` and checks that its key type is consistent with
    /// `alg` (RFC 9838 Q13): id-Ed25519 for Ed25519, id-ecPublicKey on P-256 for ECDSA,
    /// rsaEncryption or id-RSASSA-PSS for RSASSA-PSS. An id-RSASSA-PSS key must carry
    /// RSASSA-PSS-params (RFC 9838 §4.5.3.2); OpenSSL then enforces them (hash, MGF1 hash,
    /// minimum salt length) when verifying. Trailing octets are rejected.
    pub fn from_spki_der(alg: SignatureAlg, der: &[u8]) -> Result<Self> {
        if der_sequence_len(der) != Some(der.len()) {
            return Err(CryptoError::InvalidKey("malformed SubjectPublicKeyInfo"));
        }
        let pkey = match spki_parts(der) {
            // id-RSASSA-PSS: decoded without OpenSSL's key decoder, which in 3.0 fails now
            // and then on such keys while other threads use RSA keys (about 1 test run in
            // 15). The AlgorithmIdentifier must be exactly the one of the signature
            // algorithm (stricter than OpenSSL's own checks: same hash, MGF1 hash and salt),
            // and the key is the PKCS #1 RSAPublicKey inside the BIT STRING.
            Some((aid, key)) if aid_is_rsassa_pss(aid) => {
                if spki_algorithm_has_params(der) != Some(true) {
                    // RFC 9838 §4.5.3.2: an id-RSASSA-PSS AUTH_KEY MUST carry the params.
                    return Err(CryptoError::InvalidKey(
                        "id-RSASSA-PSS key without RSASSA-PSS-params",
                    ));
                }
                if alg != SignatureAlg::RsaPssSha256
                    || (aid != AID_RSA_PSS_SHA256 && aid != AID_RSA_PSS_SHA256_WITH_TRAILER)
                {
                    return Err(CryptoError::InvalidKey(
                        "id-RSASSA-PSS parameters other than SHA-256, MGF1-SHA-256, salt 32",
                    ));
                }
                let rsa = Rsa::public_key_from_der_pkcs1(key)
                    .map_err(|_| CryptoError::InvalidKey("malformed SubjectPublicKeyInfo"))?;
                PKey::from_rsa(rsa)?
            }
            // id-Ed25519 (RFC 8410 §4): the SPKI is a fixed 12-octet prefix and the raw
            // 32-octet key, taken as such; OpenSSL 3.0's generic key decoder costs about
            // 100 us per call, as much as the rest of a member's registration.
            _ if der.len() == ED25519_SPKI_PREFIX.len() + 32
                && der.starts_with(&ED25519_SPKI_PREFIX) =>
            {
                PKey::public_key_from_raw_bytes(&der[ED25519_SPKI_PREFIX.len()..], Id::ED25519)
                    .map_err(|_| CryptoError::InvalidKey("malformed SubjectPublicKeyInfo"))?
            }
            _ => PKey::public_key_from_der(der)
                .map_err(|_| CryptoError::InvalidKey("malformed SubjectPublicKeyInfo"))?,
        };
        alg.check_key(&pkey)?;
        if alg == SignatureAlg::EcdsaP256Sha256 {
            pkey.ec_key()
                .and_then(|k| k.check_key())
                .map_err(|_| CryptoError::InvalidKey("invalid P-256 public key"))?;
        }
        Ok(VerifyingKey {
            alg,
            pkey,
            spki: der.to_vec(),
        })
    }

    /// The signature algorithm.
    pub fn alg(&self) -> SignatureAlg {
        self.alg
    }

    /// The key as DER `SubjectPublicKeyInfo`, as it was received.
    pub fn spki_der(&self) -> Result<Vec<u8>> {
        Ok(self.spki.clone())
    }

    /// Upper bound on the signature length in octets (see [`SigningKey::max_signature_len`]).
    pub fn max_signature_len(&self) -> usize {
        self.pkey.size()
    }

    /// Verifies `sig` over `data`; [`CryptoError::SignatureInvalid`] on any mismatch or
    /// malformed signature.
    pub fn verify(&self, data: &[u8], sig: &[u8]) -> Result<()> {
        let ok = match self.alg {
            SignatureAlg::Ed25519 => {
                let mut v = Verifier::new_without_digest(&self.pkey)?;
                v.verify_oneshot(sig, data)
            }
            SignatureAlg::EcdsaP256Sha256 => {
                let mut v = Verifier::new(MessageDigest::sha256(), &self.pkey)?;
                v.update(data)?;
                v.verify(sig)
            }
            SignatureAlg::RsaPssSha256 => {
                let mut v = Verifier::new(MessageDigest::sha256(), &self.pkey)?;
                v.set_rsa_padding(Padding::PKCS1_PSS)?;
                v.set_rsa_mgf1_md(MessageDigest::sha256())?;
                v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(PSS_SALT_LEN))?;
                v.update(data)?;
                v.verify(sig)
            }
        };
        match ok {
            Ok(true) => Ok(()),
            _ => Err(CryptoError::SignatureInvalid),
        }
    }
}

/// Header length and contents length of the DER element with tag `tag` at the start of
/// `der`, if its header is well formed (definite length, at most 2 length octets) and the
/// contents fit in `der`.
fn der_header(der: &[u8], tag: u8) -> Option<(usize, usize)> {
    if *der.first()? != tag {
        return None;
    }
    let first = *der.get(1)? as usize;
    let (hdr, len) = match first {
        0..=0x7f => (2, first),
        0x81 => (3, *der.get(2)? as usize),
        0x82 => (4, (*der.get(2)? as usize) << 8 | *der.get(3)? as usize),
        _ => return None,
    };
    (hdr + len <= der.len()).then_some((hdr, len))
}

/// Total length of the DER SEQUENCE at the start of `der`.
fn der_sequence_len(der: &[u8]) -> Option<usize> {
    der_header(der, 0x30).map(|(h, l)| h + l)
}

/// The AlgorithmIdentifier (whole DER element) and the subjectPublicKey contents (after
/// the unused-bits octet, which must be 0) of a DER SubjectPublicKeyInfo.
fn spki_parts(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let (h, l) = der_header(spki, 0x30)?;
    let body = spki.get(h..h + l)?;
    let (ah, al) = der_header(body, 0x30)?;
    let aid = body.get(..ah + al)?;
    let rest = body.get(ah + al..)?;
    let (bh, bl) = der_header(rest, 0x03)?;
    if bh + bl != rest.len() {
        return None;
    }
    let bits = rest.get(bh..bh + bl)?;
    match bits.split_first() {
        Some((0, key)) => Some((aid, key)),
        _ => None,
    }
}

/// OID 1.2.840.113549.1.1.10, id-RSASSA-PSS, as a DER element.
const OID_RSASSA_PSS: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
];

/// Whether an AlgorithmIdentifier names id-RSASSA-PSS.
fn aid_is_rsassa_pss(aid: &[u8]) -> bool {
    der_header(aid, 0x30)
        .and_then(|(h, _)| aid.get(h..h + OID_RSASSA_PSS.len()))
        .is_some_and(|oid| oid == OID_RSASSA_PSS)
}

/// Whether the AlgorithmIdentifier of a DER SubjectPublicKeyInfo carries parameters.
fn spki_algorithm_has_params(spki: &[u8]) -> Option<bool> {
    let (h, _) = der_header(spki, 0x30)?;
    let alg = spki.get(h..)?;
    let (ah, alen) = der_header(alg, 0x30)?;
    let body = alg.get(ah..ah + alen)?;
    let (oh, olen) = der_header(body, 0x06)?;
    Some(body.len() > oh + olen)
}
