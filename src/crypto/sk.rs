//! Protection of the Encrypted (SK, type 46) and Encrypted Fragment (SKF, type 53) payloads:
//! AES-CBC with truncated HMAC-SHA2 (RFC 7296 §3.14, RFC 4868 §2.2) and AES-GCM with a
//! 16-octet ICV (RFC 5282).
//!
//! G-IKEv2 uses the same protection for its unicast exchanges and, with GSK_e/GSK_a, for
//! GSA_REKEY (RFC 9838 §2.4.1, §3.4).

use std::fmt;

use std::sync::OnceLock;

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::hash::MessageDigest;
use zeroize::Zeroizing;

use super::ct;
use super::error::{CryptoError, Result};
use super::hmac::{HmacKey, MAX_MAC_LEN};
use super::rand::fill_random;
use super::secret::{Key, Secret};

/// AES block size in octets.
const AES_BLOCK: usize = 16;
/// Length of the RFC 5282 salt carried at the end of an AES-GCM key.
const GCM_SALT_LEN: usize = 4;
/// AES-GCM explicit IV length in IKEv2 (RFC 5282 §3.1).
const GCM_IV_LEN: usize = 8;
/// ICV length of ENCR_AES_GCM_16 (RFC 5282 §3).
const GCM_ICV_LEN: usize = 16;

/// Largest SK payload body: the 16-bit Payload Length of the SK/SKF generic header covers the
/// 4-octet header too (RFC 7296 §3.2).
pub const MAX_SK_BODY_LEN: usize = 0xffff - 4;
/// Largest AAD accepted (an IKE message cannot be longer than its SK payload allows).
const MAX_AAD_LEN: usize = 0xffff;

/// IKEv2 encryption transforms (Transform Type 1) supported for SK payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncrAlg {
    /// ENCR_AES_CBC, transform ID 12, with a Key Length attribute of 128, 192 or 256
    /// (RFC 3602, RFC 7296 §3.3.5).
    AesCbc {
        /// AES key size in bits: 128, 192 or 256.
        key_bits: u16,
    },
    /// ENCR_AES_GCM_16, transform ID 20, with a Key Length attribute of 128, 192 or 256
    /// (RFC 5282 §7.1).
    AesGcm16 {
        /// AES key size in bits: 128, 192 or 256 (the 4-octet salt comes on top).
        key_bits: u16,
    },
}

impl EncrAlg {
    /// Builds an algorithm from an ENCR transform ID and its Key Length attribute (in bits);
    /// `None` for unsupported IDs or key sizes.
    pub fn from_transform(id: u16, key_bits: Option<u16>) -> Option<Self> {
        let bits = key_bits?;
        let alg = match id {
            12 => EncrAlg::AesCbc { key_bits: bits },
            20 => EncrAlg::AesGcm16 { key_bits: bits },
            _ => return None,
        };
        alg.validate().ok().map(|_| alg)
    }

    /// The ENCR transform ID: 12 (AES-CBC) or 20 (AES-GCM with 16-octet ICV).
    pub const fn transform_id(self) -> u16 {
        match self {
            EncrAlg::AesCbc { .. } => 12,
            EncrAlg::AesGcm16 { .. } => 20,
        }
    }

    /// The Key Length attribute value in bits.
    pub const fn key_bits(self) -> u16 {
        match self {
            EncrAlg::AesCbc { key_bits } | EncrAlg::AesGcm16 { key_bits } => key_bits,
        }
    }

    /// Keying material length in octets, i.e. the length of SK_ei/SK_er (RFC 7296 §2.14).
    /// For AES-GCM this includes the 4-octet salt (RFC 5282 §7.1): 20, 28 or 36.
    pub const fn key_len(self) -> usize {
        match self {
            EncrAlg::AesCbc { key_bits } => key_bits as usize / 8,
            EncrAlg::AesGcm16 { key_bits } => key_bits as usize / 8 + GCM_SALT_LEN,
        }
    }

    /// Length of the Initialization Vector at the start of the SK payload body: 16 for
    /// AES-CBC (RFC 3602 §3), 8 for AES-GCM (RFC 5282 §3.1).
    pub const fn iv_len(self) -> usize {
        match self {
            EncrAlg::AesCbc { .. } => AES_BLOCK,
            EncrAlg::AesGcm16 { .. } => GCM_IV_LEN,
        }
    }

    /// `true` for combined-mode (AEAD) ciphers, which take no INTEG transform (RFC 5282 §8).
    pub const fn is_aead(self) -> bool {
        matches!(self, EncrAlg::AesGcm16 { .. })
    }

    /// Block size the plaintext (with padding and Pad Length) must be a multiple of.
    pub const fn block_size(self) -> usize {
        match self {
            EncrAlg::AesCbc { .. } => AES_BLOCK,
            EncrAlg::AesGcm16 { .. } => 1,
        }
    }

    fn validate(self) -> Result<()> {
        match self.key_bits() {
            128 | 192 | 256 => Ok(()),
            _ => Err(CryptoError::Unsupported(
                "AES key length other than 128/192/256",
            )),
        }
    }

    /// The OpenSSL cipher, fetched from the default provider once per process: a legacy
    /// `EVP_aes_*()` handle makes OpenSSL 3.0 fetch the implementation again at every
    /// context initialisation, about a microsecond per SK payload. Falls back to the
    /// legacy handle if the fetch fails.
    fn cipher(self) -> Result<&'static CipherRef> {
        static FETCHED: [OnceLock<Option<Cipher>>; 6] = [const { OnceLock::new() }; 6];
        let (slot, name, legacy): (usize, &str, fn() -> &'static CipherRef) = match self {
            EncrAlg::AesCbc { key_bits: 128 } => (0, "AES-128-CBC", Cipher::aes_128_cbc),
            EncrAlg::AesCbc { key_bits: 192 } => (1, "AES-192-CBC", Cipher::aes_192_cbc),
            EncrAlg::AesCbc { key_bits: 256 } => (2, "AES-256-CBC", Cipher::aes_256_cbc),
            EncrAlg::AesGcm16 { key_bits: 128 } => (3, "AES-128-GCM", Cipher::aes_128_gcm),
            EncrAlg::AesGcm16 { key_bits: 192 } => (4, "AES-192-GCM", Cipher::aes_192_gcm),
            EncrAlg::AesGcm16 { key_bits: 256 } => (5, "AES-256-GCM", Cipher::aes_256_gcm),
            _ => {
                return Err(CryptoError::Unsupported(
                    "AES key length other than 128/192/256",
                ))
            }
        };
        Ok(FETCHED[slot]
            .get_or_init(|| Cipher::fetch(None, name, None).ok())
            .as_deref()
            .unwrap_or_else(legacy))
    }
}

/// IKEv2 integrity transforms (Transform Type 3) supported for SK payloads (RFC 4868 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegAlg {
    /// AUTH_HMAC_SHA2_256_128, transform ID 12: 32-octet key, 16-octet ICV.
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192, transform ID 13: 48-octet key, 24-octet ICV.
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256, transform ID 14: 64-octet key, 32-octet ICV.
    HmacSha512_256,
}

impl IntegAlg {
    /// Maps an INTEG transform ID to an algorithm.
    pub const fn from_transform_id(id: u16) -> Option<Self> {
        match id {
            12 => Some(IntegAlg::HmacSha256_128),
            13 => Some(IntegAlg::HmacSha384_192),
            14 => Some(IntegAlg::HmacSha512_256),
            _ => None,
        }
    }

    /// The INTEG transform ID (12, 13 or 14).
    pub const fn transform_id(self) -> u16 {
        match self {
            IntegAlg::HmacSha256_128 => 12,
            IntegAlg::HmacSha384_192 => 13,
            IntegAlg::HmacSha512_256 => 14,
        }
    }

    /// Key length in octets, the length of SK_ai/SK_ar (RFC 4868 §2.1.1).
    pub const fn key_len(self) -> usize {
        match self {
            IntegAlg::HmacSha256_128 => 32,
            IntegAlg::HmacSha384_192 => 48,
            IntegAlg::HmacSha512_256 => 64,
        }
    }

    /// Length of the truncated ICV in octets (RFC 4868 §2.2).
    pub const fn icv_len(self) -> usize {
        match self {
            IntegAlg::HmacSha256_128 => 16,
            IntegAlg::HmacSha384_192 => 24,
            IntegAlg::HmacSha512_256 => 32,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            IntegAlg::HmacSha256_128 => MessageDigest::sha256(),
            IntegAlg::HmacSha384_192 => MessageDigest::sha384(),
            IntegAlg::HmacSha512_256 => MessageDigest::sha512(),
        }
    }
}

/// Seals and opens SK/SKF payload bodies for one direction of one SA.
///
/// The body is `IV | ciphertext | ICV`, where the ciphertext covers
/// `inner payloads | Padding | Pad Length` (RFC 7296 §3.14). Padding octets are zero and
/// minimal: up to the 16-octet block for AES-CBC, none for AES-GCM. On receipt any padding
/// value is accepted (RFC 7296 §3.14).
pub struct SkProtector {
    encr: EncrAlg,
    integ: Option<IntegAlg>,
    cipher: &'static CipherRef,
    /// The AES key (without the GCM salt).
    enc_key: Key,
    /// The RFC 5282 salt (GCM only; empty for CBC).
    salt: Secret<GCM_SALT_LEN>,
    /// The HMAC key for CBC; `None` for AEAD.
    mac: Option<HmacKey>,
}

impl fmt::Debug for SkProtector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkProtector")
            .field("encr", &self.encr)
            .field("integ", &self.integ)
            .finish_non_exhaustive()
    }
}

impl SkProtector {
    /// Creates a protector from the negotiated transforms and the direction's keys
    /// (SK_ei/SK_ai, SK_er/SK_ar, or GSK_e/GSK_a of a Rekey SA, RFC 9838 §3.4).
    ///
    /// AEAD ciphers take no integrity transform and an empty `sk_a`; AES-CBC requires one
    /// (RFC 7296 §3.3). `sk_e` must be [`EncrAlg::key_len`] octets (for GCM, key | salt) and
    /// `sk_a` [`IntegAlg::key_len`] octets.
    pub fn new(encr: EncrAlg, integ: Option<IntegAlg>, sk_e: &[u8], sk_a: &[u8]) -> Result<Self> {
        encr.validate()?;
        let cipher = encr.cipher()?;
        if sk_e.len() != encr.key_len() {
            return Err(CryptoError::InvalidLength {
                what: "SK_e",
                expected: encr.key_len(),
                got: sk_e.len(),
            });
        }
        let aes_len = encr.key_bits() as usize / 8;
        let (aes_key, salt) = sk_e.split_at(aes_len);
        let mac = match (encr.is_aead(), integ) {
            (true, Some(_)) => {
                return Err(CryptoError::Unsupported(
                    "integrity transform combined with an AEAD cipher",
                ))
            }
            (true, None) => {
                if !sk_a.is_empty() {
                    return Err(CryptoError::InvalidLength {
                        what: "SK_a (must be empty with an AEAD cipher)",
                        expected: 0,
                        got: sk_a.len(),
                    });
                }
                None
            }
            (false, None) => {
                return Err(CryptoError::Unsupported(
                    "AES-CBC without an integrity transform",
                ))
            }
            (false, Some(i)) => {
                if sk_a.len() != i.key_len() {
                    return Err(CryptoError::InvalidLength {
                        what: "SK_a",
                        expected: i.key_len(),
                        got: sk_a.len(),
                    });
                }
                Some(HmacKey::new(i.digest(), sk_a)?)
            }
        };
        Ok(SkProtector {
            encr,
            integ,
            cipher,
            enc_key: Key::from_slice(aes_key)?,
            salt: Secret::from_slice(salt)?,
            mac,
        })
    }

    /// The encryption transform.
    pub fn encr(&self) -> EncrAlg {
        self.encr
    }

    /// The integrity transform (`None` for AEAD).
    pub fn integ(&self) -> Option<IntegAlg> {
        self.integ
    }

    /// IV length in octets.
    pub fn iv_len(&self) -> usize {
        self.encr.iv_len()
    }

    /// ICV length in octets: the GCM tag (16) or the truncated HMAC.
    pub fn icv_len(&self) -> usize {
        match self.integ {
            Some(i) => i.icv_len(),
            None => GCM_ICV_LEN,
        }
    }

    /// Number of Padding octets [`SkProtector::seal`] adds for `plaintext_len` octets of
    /// inner payloads.
    pub fn padding_len(&self, plaintext_len: usize) -> usize {
        let bs = self.encr.block_size();
        // Makes `plaintext_len + padding + 1` a multiple of the block size.
        bs - 1 - plaintext_len % bs
    }

    /// Length of the SK payload body (`IV | ciphertext | ICV`) that [`SkProtector::seal`]
    /// produces for `plaintext_len` octets of inner payloads, so the caller can write the
    /// final IKE header Length and SK Payload Length before sealing.
    pub fn sealed_len(&self, plaintext_len: usize) -> usize {
        // Saturating: absurd lengths must fail the maximum check in `seal`, not overflow.
        (self.iv_len() + self.padding_len(plaintext_len) + 1 + self.icv_len())
            .saturating_add(plaintext_len)
    }

    /// A fresh random IV of the right length. For AES-GCM the 8-octet IV must never repeat
    /// under one key (RFC 5282 §3.1); 64 random bits keep collisions negligible for the
    /// message counts of an IKE or Rekey SA.
    pub fn fresh_iv(&self) -> Result<Vec<u8>> {
        let mut iv = vec![0u8; self.iv_len()];
        fill_random(&mut iv)?;
        Ok(iv)
    }

    /// Encrypts and integrity-protects `plaintext` (the inner payloads) and returns the SK
    /// payload body `IV | ciphertext | ICV` of [`SkProtector::sealed_len`] octets.
    ///
    /// `aad` is the message from the first octet of the IKE header through the last octet of
    /// the SK (or SKF, including Fragment Number and Total Fragments) generic payload header,
    /// with the final length fields. For AES-CBC the ICV is the truncated HMAC over
    /// `aad | IV | ciphertext` (RFC 7296 §3.14); for AES-GCM the nonce is `salt | IV` and
    /// `aad` is the AAD (RFC 5282 §5.1). Fails with [`CryptoError::InvalidLength`] if the
    /// body would exceed [`MAX_SK_BODY_LEN`].
    pub fn seal(&self, aad: &[u8], iv: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        check_aad(aad)?;
        let total = self.sealed_len(plaintext.len());
        if total > MAX_SK_BODY_LEN {
            return Err(CryptoError::InvalidLength {
                what: "SK payload body (maximum)",
                expected: MAX_SK_BODY_LEN,
                got: total,
            });
        }
        if iv.len() != self.iv_len() {
            return Err(CryptoError::InvalidLength {
                what: "IV",
                expected: self.iv_len(),
                got: iv.len(),
            });
        }
        let pad = self.padding_len(plaintext.len());
        let inner_len = plaintext.len() + pad + 1;
        let mut padded = Zeroizing::new(Vec::with_capacity(inner_len));
        padded.extend_from_slice(plaintext);
        padded.resize(plaintext.len() + pad, 0);
        // `pad` < block size (16), so it fits the Pad Length octet.
        padded.push(pad as u8);

        let mut out = Vec::with_capacity(total + AES_BLOCK);
        out.extend_from_slice(iv);
        let start = out.len();
        let mut ctx = CipherCtx::new()?;
        match &self.mac {
            Some(mac) => {
                ctx.encrypt_init(Some(self.cipher), Some(self.enc_key.as_bytes()), Some(iv))?;
                ctx.set_padding(false);
                out.resize(start + inner_len + AES_BLOCK, 0);
                let n = ctx.cipher_update(&padded, Some(&mut out[start..]))?;
                let m = ctx.cipher_final(&mut out[start + n..])?;
                out.truncate(start + n + m);
                let mut icv = [0u8; MAX_MAC_LEN];
                mac.mac_into(&[aad, &out], &mut icv)?;
                out.extend_from_slice(&icv[..self.icv_len()]);
            }
            None => {
                let nonce = self.gcm_nonce(iv);
                ctx.encrypt_init(
                    Some(self.cipher),
                    Some(self.enc_key.as_bytes()),
                    Some(&nonce),
                )?;
                ctx.cipher_update(aad, None)?;
                out.resize(start + inner_len, 0);
                let n = ctx.cipher_update(&padded, Some(&mut out[start..]))?;
                let m = ctx.cipher_final(&mut out[start + n..])?;
                out.truncate(start + n + m);
                let mut tag = [0u8; GCM_ICV_LEN];
                ctx.tag(&mut tag)?;
                out.extend_from_slice(&tag);
            }
        }
        if out.len() != total {
            return Err(CryptoError::InvalidLength {
                what: "sealed SK payload body",
                expected: total,
                got: out.len(),
            });
        }
        Ok(out)
    }

    /// Verifies and decrypts an SK payload body (`IV | ciphertext | ICV`) and returns the inner
    /// payloads with Padding and Pad Length removed.
    ///
    /// `aad` is as for [`SkProtector::seal`], taken from the received message. For AES-CBC the
    /// ICV is checked in constant time before anything is decrypted. Errors:
    /// [`CryptoError::InvalidLength`] for a body shorter than IV + one block + ICV, longer
    /// than [`MAX_SK_BODY_LEN`], or whose ciphertext is not a whole number of blocks;
    /// [`CryptoError::IcvMismatch`] for a failed ICV or tag; [`CryptoError::BadPadding`] for
    /// a Pad Length that does not fit.
    pub fn open(&self, aad: &[u8], sk_body: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        check_aad(aad)?;
        if sk_body.len() > MAX_SK_BODY_LEN {
            return Err(CryptoError::InvalidLength {
                what: "SK payload body (maximum)",
                expected: MAX_SK_BODY_LEN,
                got: sk_body.len(),
            });
        }
        let iv_len = self.iv_len();
        let icv_len = self.icv_len();
        // At least one cipher block (CBC) or the Pad Length octet (GCM).
        let min = iv_len + self.encr.block_size() + icv_len;
        if sk_body.len() < min {
            return Err(CryptoError::InvalidLength {
                what: "SK payload body (minimum)",
                expected: min,
                got: sk_body.len(),
            });
        }
        let (iv, rest) = sk_body.split_at(iv_len);
        let (ciphertext, icv) = rest.split_at(rest.len() - icv_len);
        let bs = self.encr.block_size();
        if ciphertext.len() % bs != 0 {
            return Err(CryptoError::InvalidLength {
                what: "SK ciphertext (multiple of the block size)",
                expected: ciphertext.len().div_ceil(bs) * bs,
                got: ciphertext.len(),
            });
        }
        let mut ctx = CipherCtx::new()?;
        let mut out = Zeroizing::new(vec![0u8; ciphertext.len() + bs]);
        let len = match &self.mac {
            Some(mac) => {
                let mut expected = [0u8; MAX_MAC_LEN];
                mac.mac_into(&[aad, &sk_body[..sk_body.len() - icv_len]], &mut expected)?;
                if !ct::eq(&expected[..icv_len], icv) {
                    return Err(CryptoError::IcvMismatch);
                }
                ctx.decrypt_init(Some(self.cipher), Some(self.enc_key.as_bytes()), Some(iv))?;
                ctx.set_padding(false);
                let n = ctx.cipher_update(ciphertext, Some(&mut out[..]))?;
                let m = ctx.cipher_final(&mut out[n..])?;
                n + m
            }
            None => {
                let nonce = self.gcm_nonce(iv);
                ctx.decrypt_init(
                    Some(self.cipher),
                    Some(self.enc_key.as_bytes()),
                    Some(&nonce),
                )?;
                ctx.cipher_update(aad, None)?;
                let n = ctx.cipher_update(ciphertext, Some(&mut out[..]))?;
                ctx.set_tag(icv)?;
                let m = ctx
                    .cipher_final(&mut out[n..])
                    .map_err(|_| CryptoError::IcvMismatch)?;
                n + m
            }
        };
        out.truncate(len);
        let pad_len = match out.last() {
            Some(&p) => p as usize,
            None => return Err(CryptoError::BadPadding),
        };
        if pad_len + 1 > out.len() {
            return Err(CryptoError::BadPadding);
        }
        let inner = out.len() - pad_len - 1;
        out.truncate(inner);
        Ok(out)
    }

    /// `salt | IV`, the 12-octet AES-GCM nonce (RFC 5282 §4).
    fn gcm_nonce(&self, iv: &[u8]) -> [u8; GCM_SALT_LEN + GCM_IV_LEN] {
        let mut nonce = [0u8; GCM_SALT_LEN + GCM_IV_LEN];
        nonce[..GCM_SALT_LEN].copy_from_slice(self.salt.as_bytes());
        nonce[GCM_SALT_LEN..].copy_from_slice(iv);
        nonce
    }
}

fn check_aad(aad: &[u8]) -> Result<()> {
    if aad.len() > MAX_AAD_LEN {
        return Err(CryptoError::InvalidLength {
            what: "SK associated data (maximum)",
            expected: MAX_AAD_LEN,
            got: aad.len(),
        });
    }
    Ok(())
}
