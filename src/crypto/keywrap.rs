//! Key wrap algorithms of G-IKEv2 (RFC 9838 §4.4.2.1.2, Transform Type 13): AES key wrap with
//! padding (RFC 5649).
//!
//! The RFC 5649 mode (the alternative initial value, padding, and the 6·n rounds of the
//! RFC 3394 wrapping process) runs here over OpenSSL's AES-ECB, one block per call; every
//! AES operation is OpenSSL's. OpenSSL 3.0's own `aes-*-wrap-pad` ciphers are not used on
//! the hot path because their provider calls the software `AES_encrypt` even on CPUs with
//! AES instructions (about 15 µs per 64-octet key against about 1-2 µs here); the tests
//! check this implementation against OpenSSL's wrap-pad output for every length 1..=256
//! and against the RFC 5649 §6 vectors (docs/decisions.md C5). This is the same split
//! strongSwan uses for its GCM, CCM and CTR plugins: the mode over a block cipher.
//!
//! The output is the "Encrypted Key" field of the Wrapped Key format used by SA_KEY and
//! WRAP_KEY attributes (RFC 9838 §4.5.4).

use std::fmt;
use std::sync::OnceLock;

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use zeroize::Zeroizing;

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

    /// AES-ECB of the KWK size, fetched from the provider once per process (OpenSSL 3 would
    /// otherwise repeat the provider lookup on every context set-up).
    fn ecb(self) -> Result<&'static CipherRef> {
        static FETCHED: [OnceLock<Option<Cipher>>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (slot, name, legacy): (usize, &str, fn() -> &'static CipherRef) = match self {
            Kwa::Kw5649_128 => (0, "AES-128-ECB", Cipher::aes_128_ecb),
            Kwa::Kw5649_192 => (1, "AES-192-ECB", Cipher::aes_192_ecb),
            Kwa::Kw5649_256 => (2, "AES-256-ECB", Cipher::aes_256_ecb),
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

/// The RFC 5649 §3 Alternative Initial Value prefix.
const AIV_PREFIX: [u8; 4] = [0xa6, 0x59, 0x59, 0xa6];

/// `kwk` must be a KWK of `kwa` ([`Kwa::kwk_len`] octets).
fn check_kwk_len(kwa: Kwa, kwk: &[u8]) -> Result<()> {
    if kwk.len() != kwa.kwk_len() {
        return Err(CryptoError::InvalidLength {
            what: "key wrap key",
            expected: kwa.kwk_len(),
            got: kwk.len(),
        });
    }
    Ok(())
}

/// An AES-ECB context keyed with the KWK, for one direction.
fn new_ctx(kwa: Kwa, kwk: &[u8], encrypt: bool) -> Result<CipherCtx> {
    let cipher = kwa.ecb()?;
    check_kwk_len(kwa, kwk)?;
    let mut ctx = CipherCtx::new()?;
    if encrypt {
        ctx.encrypt_init(Some(cipher), Some(kwk), None)?;
    } else {
        ctx.decrypt_init(Some(cipher), Some(kwk), None)?;
    }
    ctx.set_padding(false);
    Ok(ctx)
}

/// Scratch space for one wrap or unwrap: the AES input block and OpenSSL's output (which
/// may need a block of slack), zeroized when dropped.
struct Scratch(Zeroizing<[u8; 48]>);

impl Scratch {
    fn new() -> Self {
        Scratch(Zeroizing::new([0u8; 48]))
    }

    /// The input block (octets 0..16).
    fn block(&mut self) -> &mut [u8] {
        &mut self.0[..16]
    }

    /// Encrypts or decrypts the input block with `ctx`; the result is in octets 16..32.
    fn run(&mut self, ctx: &mut CipherCtx) -> Result<&[u8]> {
        let (input, output) = self.0.split_at_mut(16);
        let n = ctx.cipher_update(input, Some(output))?;
        if n != 16 {
            return Err(CryptoError::InvalidLength {
                what: "AES block output",
                expected: 16,
                got: n,
            });
        }
        Ok(&self.0[16..32])
    }
}

/// RFC 5649 §4.1: wraps `key_data` with an encrypting AES-ECB context.
fn wrap_with(ctx: &mut CipherCtx, key_data: &[u8]) -> Result<Vec<u8>> {
    check_key_data_len(key_data.len())?;
    let n = key_data.len();
    let m = n.div_ceil(8);
    let mut out = vec![0u8; 8 + 8 * m];
    // out = A | R[1] .. R[m]; A starts as the AIV, R as the zero-padded key data.
    out[..4].copy_from_slice(&AIV_PREFIX);
    // n <= 256 fits 32 bits.
    out[4..8].copy_from_slice(&(n as u32).to_be_bytes());
    out[8..8 + n].copy_from_slice(key_data);
    let mut scratch = Scratch::new();
    if m == 1 {
        // §4.1 step 2: one block, encrypted once.
        scratch.block().copy_from_slice(&out);
        out.copy_from_slice(scratch.run(ctx)?);
        return Ok(out);
    }
    // RFC 3394 §2.2.1 with the AIV as initial value. A stays in the scratch block between
    // steps (B's first half, xored with t).
    scratch.block()[..8].copy_from_slice(&out[..8]);
    for j in 0..6 {
        for i in 1..=m {
            scratch.block()[8..].copy_from_slice(&out[8 * i..8 * i + 8]);
            let b = scratch.run(ctx)?;
            out[8 * i..8 * i + 8].copy_from_slice(&b[8..]);
            let t = ((m * j + i) as u64).to_be_bytes();
            let mut a = [0u8; 8];
            for k in 0..8 {
                a[k] = b[k] ^ t[k];
            }
            scratch.block()[..8].copy_from_slice(&a);
        }
    }
    out[..8].copy_from_slice(&scratch.block()[..8]);
    Ok(out)
}

/// Wraps several keys under one KWK at once: step `s` of the RFC 3394 process of every key
/// goes through a single multi-block AES-ECB call, so the per-call cost of OpenSSL is paid
/// `6·max(m)` times instead of `Σ 6·m`. The output equals [`wrap_with`] key by key.
fn wrap_many_with(ctx: &mut CipherCtx, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
    let mut outs = Vec::with_capacity(keys.len());
    let mut ms = Vec::with_capacity(keys.len());
    for k in keys {
        check_key_data_len(k.len())?;
        let m = k.len().div_ceil(8);
        let mut out = vec![0u8; 8 + 8 * m];
        out[..4].copy_from_slice(&AIV_PREFIX);
        out[4..8].copy_from_slice(&(k.len() as u32).to_be_bytes());
        out[8..8 + k.len()].copy_from_slice(k);
        outs.push(out);
        ms.push(m);
    }
    // Steps a key takes: one block encryption when m = 1, else 6·m.
    let steps = |m: usize| if m == 1 { 1 } else { 6 * m };
    let total_steps = ms.iter().map(|m| steps(*m)).max().unwrap_or(0);
    let mut batch = Zeroizing::new(vec![0u8; 16 * keys.len()]);
    let mut result = Zeroizing::new(vec![0u8; 16 * keys.len() + 16]);
    for s in 0..total_steps {
        // Gather block `s` of every key still running, in key order.
        let mut len = 0;
        for (m, out) in ms.iter().zip(&outs).filter(|(m, _)| s < steps(**m)) {
            let block = &mut batch[len..len + 16];
            if *m == 1 {
                block.copy_from_slice(out);
            } else {
                let i = s % m + 1;
                block[..8].copy_from_slice(&out[..8]);
                block[8..].copy_from_slice(&out[8 * i..8 * i + 8]);
            }
            len += 16;
        }
        let n = ctx.cipher_update(&batch[..len], Some(&mut result[..len + 16]))?;
        if n != len {
            return Err(CryptoError::InvalidLength {
                what: "AES-ECB output",
                expected: len,
                got: n,
            });
        }
        // Scatter the results back in the same order.
        let mut at = 0;
        for (m, out) in ms
            .iter()
            .zip(outs.iter_mut())
            .filter(|(m, _)| s < steps(**m))
        {
            let b = &result[at..at + 16];
            if *m == 1 {
                out.copy_from_slice(b);
            } else {
                let (j, i) = (s / m, s % m + 1);
                let t = ((m * j + i) as u64).to_be_bytes();
                for x in 0..8 {
                    out[x] = b[x] ^ t[x];
                }
                out[8 * i..8 * i + 8].copy_from_slice(&b[8..]);
            }
            at += 16;
        }
    }
    Ok(outs)
}

/// RFC 5649 §4.2: unwraps with a decrypting AES-ECB context and checks the AIV, the
/// length indicator and the padding.
fn unwrap_with(ctx: &mut CipherCtx, wrapped: &[u8]) -> Result<KeyMaterial> {
    check_wrapped_len(wrapped.len())?;
    let m = wrapped.len() / 8 - 1;
    let mut work = Zeroizing::new([0u8; 8 + 8 * (MAX_KEY_DATA_LEN / 8)]);
    let work = &mut work[..wrapped.len()];
    work.copy_from_slice(wrapped);
    // One scratch block for the whole unwrap (zeroized once, when dropped).
    let mut scratch = Scratch::new();
    if m == 1 {
        scratch.block().copy_from_slice(work);
        work.copy_from_slice(scratch.run(ctx)?);
    } else {
        // RFC 3394 §2.2.2. A stays in the first half of the scratch block between steps.
        scratch.block()[..8].copy_from_slice(&work[..8]);
        for j in (0..6).rev() {
            for i in (1..=m).rev() {
                let t = ((m * j + i) as u64).to_be_bytes();
                let block = scratch.block();
                for k in 0..8 {
                    block[k] ^= t[k];
                }
                block[8..].copy_from_slice(&work[8 * i..8 * i + 8]);
                let b = scratch.run(ctx)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[..8]);
                work[8 * i..8 * i + 8].copy_from_slice(&b[8..]);
                scratch.block()[..8].copy_from_slice(&a);
            }
        }
        work[..8].copy_from_slice(&scratch.block()[..8]);
    }
    // §3: A must be the AIV with 8·(m-1) < MLI <= 8·m, and the padding octets zero. All
    // checks are evaluated before deciding, so the failure does not say which one failed.
    let mli = u32::from_be_bytes([work[4], work[5], work[6], work[7]]) as usize;
    let prefix_ok = super::ct::eq(&work[..4], &AIV_PREFIX);
    let len_ok = mli > 8 * (m - 1) && mli <= 8 * m;
    let pad_start = 8 + mli.min(8 * m);
    let pad_ok = work[pad_start..].iter().fold(0u8, |acc, x| acc | x) == 0;
    if !(prefix_ok & len_ok & pad_ok) {
        return Err(CryptoError::UnwrapFailed);
    }
    KeyMaterial::from_slice(&work[8..8 + mli])
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

/// Wraps keys under many different KWKs (one each: the LKH wraps of a rekey plan, RFC 9838
/// §3.2) with one OpenSSL context that is only re-keyed per KWK, which saves the context
/// set-up of a one-shot [`wrap`] each time. Output equals [`wrap`].
pub struct MultiKeyWrapper {
    kwa: Kwa,
    ctx: CipherCtx,
}

impl fmt::Debug for MultiKeyWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiKeyWrapper")
            .field("kwa", &self.kwa)
            .finish_non_exhaustive()
    }
}

impl MultiKeyWrapper {
    /// A wrapper for `kwa`; no KWK yet.
    pub fn new(kwa: Kwa) -> Result<Self> {
        let cipher = kwa.ecb()?;
        let mut ctx = CipherCtx::new()?;
        ctx.encrypt_init(Some(cipher), None, None)?;
        ctx.set_padding(false);
        Ok(MultiKeyWrapper { kwa, ctx })
    }

    /// Same as [`wrap`]`(kwa, kwk, key_data)`.
    pub fn wrap(&mut self, kwk: &[u8], key_data: &[u8]) -> Result<Vec<u8>> {
        check_kwk_len(self.kwa, kwk)?;
        self.ctx.encrypt_init(None, Some(kwk), None)?;
        wrap_with(&mut self.ctx, key_data)
    }
}

/// Unwraps keys under a different KWK each time with one OpenSSL context, re-keyed per
/// call (a member following a key path, RFC 9838 §4.2: every element has its own KWK).
/// Output equals [`unwrap`].
pub struct MultiKeyUnwrapper {
    kwa: Kwa,
    ctx: CipherCtx,
}

impl fmt::Debug for MultiKeyUnwrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiKeyUnwrapper")
            .field("kwa", &self.kwa)
            .finish_non_exhaustive()
    }
}

impl MultiKeyUnwrapper {
    /// An unwrapper for `kwa`; no KWK yet.
    pub fn new(kwa: Kwa) -> Result<Self> {
        let cipher = kwa.ecb()?;
        let mut ctx = CipherCtx::new()?;
        ctx.decrypt_init(Some(cipher), None, None)?;
        ctx.set_padding(false);
        Ok(MultiKeyUnwrapper { kwa, ctx })
    }

    /// Same as [`unwrap`]`(kwa, kwk, wrapped)`.
    pub fn unwrap(&mut self, kwk: &[u8], wrapped: &[u8]) -> Result<KeyMaterial> {
        check_kwk_len(self.kwa, kwk)?;
        self.ctx.decrypt_init(None, Some(kwk), None)?;
        self.ctx.set_padding(false);
        unwrap_with(&mut self.ctx, wrapped)
    }
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
        kwa.ecb()?;
        check_kwk_len(kwa, kwk)?;
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

    /// Wraps several keys under this wrapper's KWK, as [`wrap`] would one by one, with fewer
    /// calls into OpenSSL (the RFC 3394 steps of all keys share each AES-ECB call).
    pub fn wrap_many(&mut self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        let ctx = match &mut self.wrap_ctx {
            Some(c) => c,
            slot => slot.insert(new_ctx(self.kwa, self.kwk.as_bytes(), true)?),
        };
        wrap_many_with(ctx, keys)
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
