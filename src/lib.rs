//! gikev2: group key management for IPsec (G-IKEv2, RFC 9838) as a sans-IO library
//! that plugs into an existing IKEv2 daemon.
//!
//! Layers (dependencies point downwards only):
//! - [`wire`]: lossless codec for IKEv2 and G-IKEv2 messages (RFC 7296, RFC 9838 §4).
//! - [`crypto`]: the only module that touches OpenSSL (prf+, SK protection, key wrap,
//!   signatures, DH).
//! - [`protect`]: SK-protected messages, built from [`wire`] and [`crypto`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod executor;
// The C ABI (include/gikev2.h): the only module with `unsafe` code.
#[allow(unsafe_code)]
mod ffi;
pub mod gcks;
pub mod gm;
pub mod gsa_rekey;
pub mod identity;
pub mod ike_sa;
pub mod lkh;
pub mod protect;
pub mod settings;
pub mod suite;
pub mod time;
pub mod wire;
