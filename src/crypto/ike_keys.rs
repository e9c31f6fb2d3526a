//! IKE SA key derivation (RFC 7296 §2.14, §2.17, §2.18) and the G-IKEv2 / PSP default key
//! wrap keys (RFC 9838 §3.1, draft-smyslov-ipsecme-ikev2-psp).

use zeroize::Zeroizing;

use super::error::{CryptoError, Result};
use super::keywrap::Kwa;
use super::prf::PrfAlg;
use super::secret::Key;

/// The `prf+` label of the default KWK of a unicast IKE SA (RFC 9838 §3.1):
/// `GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2")`. Twenty ASCII octets, no NUL terminator.
pub const GSK_W_LABEL: &[u8; 20] = b"Key Wrap for G-IKEv2";

/// The `prf+` label of the PSP key wrap key (draft-smyslov-ipsecme-ikev2-psp, "key wrapping"):
/// `SK_w = prf+(SK_d, "Key Wrap for PSP")`. Sixteen ASCII octets, no NUL terminator.
pub const SK_W_PSP_LABEL: &[u8; 16] = b"Key Wrap for PSP";

/// The seven IKE SA keys `{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}`
/// (RFC 7296 §2.14), each zeroized on drop.
///
/// For an AEAD cipher SK_ai/SK_ar are empty and SK_ei/SK_er include the salt
/// (RFC 5282 §7.1).
#[derive(Debug)]
pub struct IkeSaKeys {
    /// Key for deriving Child SA keying material and GSK_w (RFC 7296 §2.17, RFC 9838 §3.1).
    pub sk_d: Key,
    /// Integrity key, initiator to responder.
    pub sk_ai: Key,
    /// Integrity key, responder to initiator.
    pub sk_ar: Key,
    /// Encryption key, initiator to responder.
    pub sk_ei: Key,
    /// Encryption key, responder to initiator.
    pub sk_er: Key,
    /// Key for the initiator's AUTH payload.
    pub sk_pi: Key,
    /// Key for the responder's AUTH payload.
    pub sk_pr: Key,
}

/// `SKEYSEED = prf(Ni | Nr, g^ir)` (RFC 7296 §2.14). `ni`/`nr` are the nonce values without
/// payload headers; `g_ir` is the shared DH secret (for ECP groups the x-coordinate only,
/// RFC 5903 §7).
pub fn skeyseed(prf: PrfAlg, ni: &[u8], nr: &[u8], g_ir: &[u8]) -> Result<Key> {
    let mut key = Zeroizing::new(Vec::with_capacity(ni.len() + nr.len()));
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    prf.prf(&key, g_ir)
}

/// `SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)` when rekeying an IKE SA
/// (RFC 7296 §2.18). Recompute GSK_w from the new SK_d afterwards (RFC 9838 §3.1).
pub fn skeyseed_rekey(
    prf: PrfAlg,
    old_sk_d: &[u8],
    g_ir: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Result<Key> {
    prf.prf_parts(old_sk_d, &[g_ir, ni, nr])
}

/// Derives the IKE SA keys: `{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
/// prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)` (RFC 7296 §2.14).
///
/// SK_d, SK_pi and SK_pr have the PRF's output length; `encr_key_len` (including any salt,
/// e.g. 36 for AES-256-GCM) and `integ_key_len` (0 for AEAD) give the others. Each must fit
/// a [`Key`] (64 octets).
#[allow(clippy::too_many_arguments)]
pub fn derive_ike_keys(
    prf: PrfAlg,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
    encr_key_len: usize,
    integ_key_len: usize,
) -> Result<IkeSaKeys> {
    for (what, l) in [
        ("encryption key length (maximum)", encr_key_len),
        ("integrity key length (maximum)", integ_key_len),
    ] {
        if l > Key::CAPACITY {
            return Err(CryptoError::InvalidLength {
                what,
                expected: Key::CAPACITY,
                got: l,
            });
        }
    }
    let p = prf.output_len();
    let total = 3 * p + 2 * encr_key_len + 2 * integ_key_len;
    let dkm = prf.prf_plus_parts(skeyseed, &[ni, nr, spi_i, spi_r], total)?;
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<Key> {
        let k = Key::from_slice(dkm.get(pos..pos + n).ok_or(CryptoError::InvalidLength {
            what: "IKE SA keying material",
            expected: pos + n,
            got: dkm.len(),
        })?)?;
        pos += n;
        Ok(k)
    };
    Ok(IkeSaKeys {
        sk_d: take(p)?,
        sk_ai: take(integ_key_len)?,
        sk_ar: take(integ_key_len)?,
        sk_ei: take(encr_key_len)?,
        sk_er: take(encr_key_len)?,
        sk_pi: take(p)?,
        sk_pr: take(p)?,
    })
}

/// Child SA keying material (RFC 7296 §2.17): `KEYMAT = prf+(SK_d, Ni | Nr)`, or with a
/// CREATE_CHILD_SA Diffie-Hellman exchange `prf+(SK_d, g^ir (new) | Ni | Nr)`.
pub fn child_sa_keymat(
    prf: PrfAlg,
    sk_d: &[u8],
    g_ir_new: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    match g_ir_new {
        Some(g) => prf.prf_plus_parts(sk_d, &[g, ni, nr], len),
        None => prf.prf_plus_parts(sk_d, &[ni, nr], len),
    }
}

/// The default KWK of a unicast IKE SA: `GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2")`
/// (RFC 9838 §3.1), as long as the key of the KWA negotiated in IKE_SA_INIT (16, 24 or 32
/// octets, [`Kwa::kwk_len`]). Taking the algorithm rather than a length keeps a caller from
/// passing, say, the PRF's output length.
pub fn gsk_w(prf: PrfAlg, sk_d: &[u8], kwa: Kwa) -> Result<Key> {
    label_key(prf, sk_d, GSK_W_LABEL, kwa.kwk_len())
}

/// The PSP key wrap key: `SK_w = prf+(SK_d, "Key Wrap for PSP")`
/// (draft-smyslov-ipsecme-ikev2-psp, "key wrapping"), as long as the KWA's key.
pub fn sk_w_psp(prf: PrfAlg, sk_d: &[u8], kwa: Kwa) -> Result<Key> {
    label_key(prf, sk_d, SK_W_PSP_LABEL, kwa.kwk_len())
}

fn label_key(prf: PrfAlg, sk_d: &[u8], label: &[u8], len: usize) -> Result<Key> {
    if len > Key::CAPACITY {
        return Err(CryptoError::InvalidLength {
            what: "key wrap key length (maximum)",
            expected: Key::CAPACITY,
            got: len,
        });
    }
    let km = prf.prf_plus(sk_d, label, len)?;
    Key::from_slice(&km)
}
