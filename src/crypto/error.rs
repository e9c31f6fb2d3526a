//! The single error type of the crypto layer.
//!
//! Every fallible operation in [`crate::crypto`] returns `Result<_, CryptoError>`. Variants never
//! carry key bytes: at most a length or a static description.

use std::fmt;

/// Errors returned by the crypto layer.
///
/// Messages are safe to log: no variant holds secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// OpenSSL reported an error; the text is OpenSSL's error stack rendered as a string.
    Openssl(String),
    /// The Integrity Checksum Data of an SK/SKF payload (RFC 7296 §3.14) or the AES-GCM
    /// authentication tag (RFC 5282 §3) did not verify.
    IcvMismatch,
    /// An input had the wrong length. `expected` is the exact length required, or the
    /// minimum / maximum when the check is a bound (the `what` text says which).
    InvalidLength {
        /// Which input was wrong, e.g. `"SK payload body"`.
        what: &'static str,
        /// The length required (exact, minimum or maximum; see `what`).
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// RFC 5649 key unwrapping failed its integrity check (wrong KWK or tampered data),
    /// RFC 9838 §4.5.4.
    UnwrapFailed,
    /// The algorithm or combination is not supported by this implementation.
    Unsupported(&'static str),
    /// The Pad Length octet of a decrypted SK payload (RFC 7296 §3.14) is larger than the
    /// decrypted data allows.
    BadPadding,
    /// A digital signature (RFC 7427, RFC 9838 §4.4.2.1.1) did not verify.
    SignatureInvalid,
    /// A key (private, public or peer KE value) is malformed or of the wrong type.
    InvalidKey(&'static str),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::Openssl(e) => write!(f, "OpenSSL error: {e}"),
            CryptoError::IcvMismatch => f.write_str("integrity check value mismatch"),
            CryptoError::InvalidLength {
                what,
                expected,
                got,
            } => write!(
                f,
                "invalid length for {what}: expected {expected}, got {got}"
            ),
            CryptoError::UnwrapFailed => f.write_str("key unwrap failed"),
            CryptoError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CryptoError::BadPadding => f.write_str("bad SK payload padding"),
            CryptoError::SignatureInvalid => f.write_str("signature verification failed"),
            CryptoError::InvalidKey(what) => write!(f, "invalid key: {what}"),
        }
    }
}

impl std::error::Error for CryptoError {}

impl From<openssl::error::ErrorStack> for CryptoError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        CryptoError::Openssl(e.to_string())
    }
}

/// Result alias used throughout [`crate::crypto`].
pub type Result<T> = std::result::Result<T, CryptoError>;
