//! The crypto layer: the only module that touches OpenSSL.
//!
//! It depends on no other module of the crate. Everything here is a thin, typed wrapper
//! over the system libcrypto (the copy strongSwan's openssl plugin uses); no primitive is
//! implemented by hand.
//!
//! - [`secret`] and [`ct`]: key containers that wipe themselves, constant-time comparison.
//! - [`prf`] and [`ike_keys`]: IKEv2 `prf`/`prf+` and key derivation (RFC 7296 §2.13–§2.18),
//!   including GSK_w (RFC 9838 §3.1).
//! - [`sk`]: SK/SKF payload encryption and integrity (RFC 7296 §3.14, RFC 5282).
//! - [`keywrap`]: the G-IKEv2 Key Wrap Algorithms (RFC 9838 §4.4.2.1.2, RFC 5649).
//! - [`sign`]: GCAUTH digital signatures (RFC 9838 §4.4.2.1.1, RFC 7427).
//! - [`dh`]: Curve25519 and P-256 key exchange (RFC 8031, RFC 5903).
//! - [`rand`]: random bytes.
//!
//! Key bytes are never logged; at most their lengths.

pub mod ct;
pub mod dh;
pub mod error;
mod hmac;
pub mod ike_keys;
pub mod keywrap;
pub mod prf;
pub mod rand;
pub mod secret;
pub mod sign;
pub mod sk;

pub use error::{CryptoError, Result};
pub use secret::{Key, KeyMaterial, Secret};
