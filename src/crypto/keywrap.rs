//! Key wrap algorithms of G-IKEv2 (RFC 9838 §4.4.2.1.2, Transform Type 13): AES key wrap with
//! padding (RFC 5649) through OpenSSL's `aes-*-wrap-pad` ciphers.
//!
//! The output is the "Encrypted Key" field of the Wrapped Key format used by SA_KEY and
//! WRAP_KEY attributes (RFC 9838 §4.5.4).

use std::fmt;
use std::sync::OnceLock;

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};

use super::error::{CryptoError, Result};
use super::secret::{Key, KeyMaterial};

/// Largest key data that may be wrapped: 256 octets (RFC 9838 §4.5.4).
pub const MAX_KEY_DATA_LEN: usize = 256;

/// Key Wrap Algorithm transform IDs (RFC 9838 §4.4.2.1.2, IANA Transform Type 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kwa {
    /// KW_5649_128 (ID 1): RFC 5649 with a 128-bit KWK.
    Kw5649_128,
    /// KW_5649_192 (ID 2): RFC 5649 with a 192-bit KWK.
    Kw5649_192,
    /// KW_5649_256 (ID 3): RFC 5649 with a 256-bit KWK.
    Kw5649_256,
    /// KW_ARX (ID 4): ARX-KW-8-2-4-GX. Not implemented: the order of tag and ciphertext in
    /// the output is taken from the ARX-KW paper, not an RFC, and is still an open question
    /// (RFC 9838 digest, Q10). [`wrap`] and [`unwrap`] return
    /// `CryptoError::Unsupported("KW_ARX")`.
    KwArx,
}

impl Kwa {
    /// Maps a Transform Type 13 ID to an algorithm; `None` for reserved, unassigned or
    /// private-use IDs.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            1 => Some(Kwa::Kw5649_128),
            2 => Some(Kwa::Kw5649_192),
            3 => Some(Kwa::Kw5649_256),
            4 => Some(Kwa::KwArx),
            _ => None,
        }
    }

    /// The Transform Type 13 ID (1 to 4).
    pub const fn id(self) -> u16 {
        match self {
            Kwa::Kw5649_128 => 1,
            Kwa::Kw5649_192 => 2,
            Kwa::Kw5649_256 => 3,
            Kwa::KwArx => 4,
        }
    }

    /// Length of the key wrap key in octets, and hence of GSK_w (RFC 9838 §3.1): 16, 24 or
    /// 32; 32 for KW_ARX (ChaCha20 key).
    pub const fn kwk_len(self) -> usize {
        match self {
            Kwa::Kw5649_128 => 16,
            Kwa::Kw5649_192 => 24,
            Kwa::Kw5649_256 | Kwa::KwArx => 32,
        }
    }

    /// The OpenSSL cipher, fetched from the provider once per process. OpenSSL 3 would
    /// otherwise repeat the provider lookup (an implicit fetch) on every context set-up,
    /// which costs more than the wrap itself.
    fn cipher(self) -> Result<&'static CipherRef> {
        static FETCHED: [OnceLock<Option<Cipher>>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (slot, name, legacy): (usize, &str, fn() -> &'static CipherRef) = match self {
            Kwa::Kw5649_128 => (0, "AES-128-WRAP-PAD", Cipher::aes_128_wrap_pad),
            Kwa::Kw5649_192 => (1, "AES-192-WRAP-PAD", Cipher::aes_192_wrap_pad),
            Kwa::Kw5649_256 => (2, "AES-256-WRAP-PAD", Cipher::aes_256_wrap_pad),
            Kwa::KwArx => return Err(CryptoError::Unsupported("KW_ARX")),
        };
        Ok(FETCHED[slot]
            .get_or_init(|| Cipher::fetch(None, name, None).ok())
            .as_deref()
            .unwrap_or_else(legacy))
    }
}

/// Length of RFC 5649 output for `n` octets of key data: `8 + 8 * ceil(n / 8)`, which is 16
/// for `n <= 8` (RFC 5649 §4.1).
pub const fn wrapped_len(n: usize) -> usize {
    n.div_ceil(8).saturating_mul(8).saturating_add(8)
}

fn check_key_data_len(n: usize) -> Result<()> {
    if n == 0 || n > MAX_KEY_DATA_LEN {
        return Err(CryptoError::InvalidLength {
            what: "key data (1 to 256 octets)",
            expected: if n == 0 { 1 } else { MAX_KEY_DATA_LEN },
            got: n,
        });
    }
    Ok(())
}

fn check_wrapped_len(n: usize) -> Result<()> {
    if n < wrapped_len(1) || n > wrapped_len(MAX_KEY_DATA_LEN) || n % 8 != 0 {
        return Err(CryptoError::InvalidLength {
            what: "wrapped key (16 to 264 octets, multiple of 8)",
            expected: if n < wrapped_len(1) {
                wrapped_len(1)
            } else {
                wrapped_len(MAX_KEY_DATA_LEN)
            },
            got: n,
        });
    }
    Ok(())
}

fn new_ctx(kwa: Kwa, kwk: &[u8], encrypt: bool) -> Result<CipherCtx> {
    let cipher = kwa.cipher()?;
    if kwk.len() != kwa.kwk_len() {
        return Err(CryptoError::InvalidLength {
            what: "key wrap key",
            expected: kwa.kwk_len(),
            got: kwk.len(),
        });
    }
    let mut ctx = CipherCtx::new()?;
    ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
    // No IV: RFC 5649 uses its Alternative Initial Value (0xA65959A6 | MLI).
    if encrypt {
        ctx.encrypt_init(Some(cipher), Some(kwk), None)?;
    } else {
        ctx.decrypt_init(Some(cipher), Some(kwk), None)?;
    }
    Ok(ctx)
}

fn wrap_with(ctx: &mut CipherCtx, key_data: &[u8]) -> Result<Vec<u8>> {
    check_key_data_len(key_data.len())?;
    let want = wrapped_len(key_data.len());
    let mut out = vec![0u8; want];
    let n = ctx.cipher_update(key_data, Some(&mut out))?;
    if n != want {
        return Err(CryptoError::InvalidLength {
            what: "RFC 5649 output",
            expected: want,
            got: n,
        });
    }
    Ok(out)
}

fn unwrap_with(ctx: &mut CipherCtx, wrapped: &[u8]) -> Result<KeyMaterial> {
    check_wrapped_len(wrapped.len())?;
    // OpenSSL writes at most wrapped.len() - 8 <= 256 octets, straight into the secret.
    KeyMaterial::fill_with(|buf| {
        let n = ctx
            .cipher_update(wrapped, Some(buf))
            .map_err(|_| CryptoError::UnwrapFailed)?;
        if n == 0 || n > MAX_KEY_DATA_LEN || wrapped_len(n) != wrapped.len() {
            return Err(CryptoError::UnwrapFailed);
        }
        Ok(n)
    })
}

/// Wraps `key_data` (1 to 256 octets) under `kwk` with `kwa` (RFC 5649 §4.1, RFC 9838 §4.5.4)
/// and returns the Encrypted Key of [`wrapped_len`] octets.
///
/// `kwk` must be [`Kwa::kwk_len`] octets. `KwArx` fails with
/// `CryptoError::Unsupported("KW_ARX")`.
pub fn wrap(kwa: Kwa, kwk: &[u8], key_data: &[u8]) -> Result<Vec<u8>> {
    check_key_data_len(key_data.len())?;
    let mut ctx = new_ctx(kwa, kwk, true)?;
    wrap_with(&mut ctx, key_data)
}

/// Unwraps an Encrypted Key (RFC 5649 §4.2) and returns the key data.
///
/// Fails with [`CryptoError::UnwrapFailed`] when the integrity check fails (wrong KWK or
/// modified data), and with [`CryptoError::InvalidLength`] when `wrapped` cannot be RFC 5649
/// output for 1 to 256 octets of key data.
pub fn unwrap(kwa: Kwa, kwk: &[u8], wrapped: &[u8]) -> Result<KeyMaterial> {
    check_wrapped_len(wrapped.len())?;
    let mut ctx = new_ctx(kwa, kwk, false)?;
    unwrap_with(&mut ctx, wrapped)
}

/// A key wrap key with its AES key schedules prepared once, for wrapping or unwrapping many
/// keys under the same KWK (for example one GSK_w or LKH node key across a whole group,
/// RFC 9838 §3.3). OpenSSL wipes the schedules when the wrapper is dropped.
pub struct KeyWrapper {
    kwa: Kwa,
    kwk: Key,
    wrap_ctx: Option<CipherCtx>,
    unwrap_ctx: Option<CipherCtx>,
}

impl fmt::Debug for KeyWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyWrapper")
            .field("kwa", &self.kwa)
            .finish_non_exhaustive()
    }
}

impl KeyWrapper {
    /// Prepares `kwk` (of [`Kwa::kwk_len`] octets) for `kwa`. The OpenSSL contexts are set
    /// up on first use, so a wrapper that only wraps never pays for the unwrap schedule.
    pub fn new(kwa: Kwa, kwk: &[u8]) -> Result<Self> {
        kwa.cipher()?;
        if kwk.len() != kwa.kwk_len() {
            return Err(CryptoError::InvalidLength {
                what: "key wrap key",
                expected: kwa.kwk_len(),
                got: kwk.len(),
            });
        }
        Ok(KeyWrapper {
            kwa,
            kwk: Key::from_slice(kwk)?,
            wrap_ctx: None,
            unwrap_ctx: None,
        })
    }

    /// The key wrap algorithm.
    pub fn kwa(&self) -> Kwa {
        self.kwa
    }

    /// Same as [`wrap`] with this wrapper's KWK.
    pub fn wrap(&mut self, key_data: &[u8]) -> Result<Vec<u8>> {
        let ctx = match &mut self.wrap_ctx {
            Some(c) => c,
            slot => slot.insert(new_ctx(self.kwa, self.kwk.as_bytes(), true)?),
        };
        wrap_with(ctx, key_data)
    }

    /// Same as [`unwrap`] with this wrapper's KWK.
    pub fn unwrap(&mut self, wrapped: &[u8]) -> Result<KeyMaterial> {
        let ctx = match &mut self.unwrap_ctx {
            Some(c) => c,
            slot => slot.insert(new_ctx(self.kwa, self.kwk.as_bytes(), false)?),
        };
        unwrap_with(ctx, wrapped)
    }
}
