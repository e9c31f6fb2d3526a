//! Lossless codec for every IKEv2 and G-IKEv2 message this project sends or receives.
//!
//! - IKE header (RFC 7296 §3.1) and the generic payload chain (§3.2);
//! - SA/SAg, proposals, transforms and attributes (§3.3; RFC 9838 §4.3, KWA = 13,
//!   GCAUTH = 14, attribute 18);
//! - KE, Nonce, ID and IDg, CERT, CERTREQ, AUTH (incl. RFC 7427 method 14), Notify,
//!   Delete, TS (§3.4-§3.13; RFC 9838 §4.2, §4.6, §4.7);
//! - SK and SKF containers (§3.14; RFC 7383 §2.5), opaque here; see [`crate::protect`];
//! - GSA (policies and GW policy, RFC 9838 §4.4) and KD (key bags, wrapped keys, §4.5).
//!
//! Guarantees: `encode(decode(b)) == b` for every input the decoder accepts and
//! `decode(encode(v)) == v` for every value the encoder accepts. Registries are open
//! enums, so unknown code points, unknown payloads and unknown substructures survive a
//! round trip. Every failure is a [`DecodeError`] naming the structure and the absolute
//! offset; nothing allocates more than the input's own size, and nothing panics.

mod attribute;
mod chain;
mod enums;
mod error;
mod gsa;
mod header;
mod kd;
mod message;
mod payloads;
mod reader;
mod sa;
mod substructure;
mod ts;
mod writer;

pub use attribute::{single as single_attribute, AttrValue, Attribute};
pub use chain::{
    decode_payloads, encode_payload_refs, encode_payloads, EncryptedFragment, EncryptedPayload,
    Payload, PayloadBody, PAYLOAD_HEADER_LEN,
};
pub use enums::*;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
pub use gsa::{GroupPolicy, GsaPayload, GsaPolicy, GwPolicy};
pub use header::{flags, IkeHeader, RawHeader, IKE_HEADER_LEN};
pub use kd::{
    GroupKeyBag, GroupKeyBagAttr, KdPayload, KeyBag, MemberKeyBag, MemberKeyBagAttr, WrappedKey,
};
pub use message::Message;
pub use payloads::{
    AuthPayload, CertPayload, DeletePayload, IdPayload, KePayload, NotifyPayload, SignatureAuthData,
};
pub use sa::{Proposal, SaPayload, Transform};
pub use ts::{TrafficSelector, TsPayload};

/// Lower-case hex of a byte string (for Debug output of non-secret octets).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
