//! Cryptographically secure random bytes from OpenSSL's DRBG.

use super::error::Result;

/// Fills `buf` with random octets from OpenSSL (`RAND_bytes`).
///
/// Used for IVs (RFC 7296 §3.14), generated keys (RFC 9838 §4.5) and nonces.
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    openssl::rand::rand_bytes(buf)?;
    Ok(())
}
