//! Wrapped keys as the LKH layer produces and consumes them: the Key ID, the KWK ID and the
//! Encrypted Key of the value of an SA_KEY or WRAP_KEY attribute (RFC 9838 §4.5.4).
//!
//! These are deliberately not the codec's types: the key server converts
//! [`WrappedKeyOut`] to its wire form, and a member passes received attributes in as
//! [`WrappedKeyIn`] borrowing the message buffer, so `lkh` depends on `crypto` only.

use super::KeyId;

/// A wrapped key produced by the key server (RFC 9838 §4.5.4): `key_id` names the key
/// inside (0 for Rekey SA keying material, i.e. an SA_KEY), `kwk_id` the key it is wrapped
/// under (0 for the default KWK GSK_w of the SA carrying it), and `encrypted` is the key
/// wrap algorithm's output. The octets are ciphertext, so `Debug` may show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKeyOut {
    /// Key ID of the wrapped key; 0 for SA keying material (RFC 9838 §4.5.4).
    pub key_id: KeyId,
    /// Key ID of the key wrap key; 0 for GSK_w (RFC 9838 §4.5.4).
    pub kwk_id: KeyId,
    /// Encrypted Key: the KWA output (RFC 5649 §4.1 for KW_5649_*).
    pub encrypted: Vec<u8>,
}

impl WrappedKeyOut {
    /// Borrows this wrapped key as member-side input (RFC 9838 §4.2).
    pub fn as_input(&self) -> WrappedKeyIn<'_> {
        WrappedKeyIn {
            key_id: self.key_id,
            kwk_id: self.kwk_id,
            encrypted: &self.encrypted,
        }
    }
}

/// A received SA_KEY or WRAP_KEY value (RFC 9838 §4.5.4) as a member hands it to
/// [`super::WorkingKeyPath`]: the two IDs and the Encrypted Key, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrappedKeyIn<'a> {
    /// Key ID of the wrapped key; 0 for SA keying material.
    pub key_id: KeyId,
    /// Key ID of the key wrap key; 0 for GSK_w of the SA carrying the message.
    pub kwk_id: KeyId,
    /// Encrypted Key: the KWA output.
    pub encrypted: &'a [u8],
}

impl<'a> From<&'a WrappedKeyOut> for WrappedKeyIn<'a> {
    fn from(w: &'a WrappedKeyOut) -> Self {
        w.as_input()
    }
}
