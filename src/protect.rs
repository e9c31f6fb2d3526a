//! SK-protected IKEv2 messages: builds and opens the Encrypted and Authenticated payload
//! (RFC 7296 §3.14, RFC 5282) around a payload chain, using [`crate::wire`] for the
//! octets and [`crate::crypto::sk`] for the cipher.
//!
//! The AAD (GCM) or the ICV input (CBC + HMAC) covers the message from the first octet of
//! the IKE header through the SK generic payload header, with the final Length fields.

use crate::crypto::sk::{EncrAlg, IntegAlg, SkProtector};
use crate::crypto::CryptoError;
use crate::wire::{
    self, DecodeError, EncodeError, EncryptedPayload, IkeHeader, IntegId, Message, Payload,
    PayloadBody, PayloadType, Transform, TransformType, PAYLOAD_HEADER_LEN,
};
use std::fmt;
use zeroize::Zeroizing;

/// Why a protected message could not be built or opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProtectError {
    /// The outer message is malformed (answer INVALID_SYNTAX if it was a request).
    Decode(DecodeError),
    /// The decrypted inner payloads are malformed (INVALID_SYNTAX).
    InnerDecode(DecodeError),
    /// A value did not fit its wire field.
    Encode(EncodeError),
    /// Decryption or ICV check failed, or a crypto call failed: drop the message
    /// silently (RFC 7296 §2.21).
    Crypto(CryptoError),
    /// The message has no SK payload.
    NotEncrypted,
    /// The transforms name an algorithm the SK layer does not implement.
    UnsupportedAlgorithm(&'static str),
}

impl fmt::Display for ProtectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtectError::Decode(e) => write!(f, "malformed message: {e}"),
            ProtectError::InnerDecode(e) => write!(f, "malformed encrypted content: {e}"),
            ProtectError::Encode(e) => write!(f, "cannot encode: {e}"),
            ProtectError::Crypto(e) => write!(f, "SK protection: {e}"),
            ProtectError::NotEncrypted => f.write_str("message has no SK payload"),
            ProtectError::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm: {a}"),
        }
    }
}

impl std::error::Error for ProtectError {}

impl From<EncodeError> for ProtectError {
    fn from(e: EncodeError) -> Self {
        ProtectError::Encode(e)
    }
}

impl From<CryptoError> for ProtectError {
    fn from(e: CryptoError) -> Self {
        ProtectError::Crypto(e)
    }
}

/// Maps negotiated ENCR and INTEG transforms to the SK algorithms
/// (ENCR_AES_CBC and ENCR_AES_GCM_16 with their Key Length; HMAC-SHA2 integrity).
pub fn sk_algorithms(
    encr: &Transform,
    integ: Option<&Transform>,
) -> Result<(EncrAlg, Option<IntegAlg>), ProtectError> {
    if encr.transform_type != TransformType::ENCR {
        return Err(ProtectError::UnsupportedAlgorithm(
            "ENCR transform expected",
        ));
    }
    let encr_alg = EncrAlg::from_transform(encr.id, encr.key_length())
        .ok_or(ProtectError::UnsupportedAlgorithm("ENCR"))?;
    let integ_alg = match integ.map(|t| IntegId(t.id)) {
        None | Some(IntegId::NONE) => None,
        Some(id) => Some(
            IntegAlg::from_transform_id(id.0).ok_or(ProtectError::UnsupportedAlgorithm("INTEG"))?,
        ),
    };
    Ok((encr_alg, integ_alg))
}

/// The SK protector of an SA described by its policy algorithms (the Rekey SA of
/// GSA_REKEY, RFC 9838 §3.4: GSK_e and GSK_a used as SK_e and SK_a in one direction).
pub fn protector_for(
    encr: crate::suite::EncrSpec,
    integ: Option<IntegId>,
    sk_e: &[u8],
    sk_a: &[u8],
) -> Result<SkProtector, ProtectError> {
    let integ = integ
        .filter(|i| *i != IntegId::NONE)
        .map(|i| Transform::new(TransformType::INTEG, i.0));
    let (e, i) = sk_algorithms(&encr.transform(), integ.as_ref())?;
    Ok(SkProtector::new(e, i, sk_e, sk_a)?)
}

/// Builds a complete message: `header`, then an SK payload protecting `inner`, with a
/// fresh random IV. Retransmissions (RFC 9838 §2.4.1.3) resend the returned octets; they
/// never seal again.
pub fn seal(
    header: &IkeHeader,
    inner: &[Payload],
    protector: &SkProtector,
) -> Result<Vec<u8>, ProtectError> {
    let iv = protector.fresh_iv()?;
    seal_with_iv(header, inner, protector, &iv)
}

/// [`seal`] with a caller-chosen IV, for reproducible test vectors only. With AES-GCM an
/// IV used twice under one key reveals the authentication key: never pass anything but a
/// fresh IV outside tests.
pub fn seal_with_iv(
    header: &IkeHeader,
    inner: &[Payload],
    protector: &SkProtector,
    iv: &[u8],
) -> Result<Vec<u8>, ProtectError> {
    let (inner_first, plaintext) = wire::encode_payloads(inner)?;
    let plaintext = Zeroizing::new(plaintext);
    seal_encoded_with_iv(header, inner_first, &plaintext, protector, iv)
}

/// [`seal`] for an inner chain that is already encoded (`plaintext`, whose first payload
/// is of type `inner_first`).
pub fn seal_encoded(
    header: &IkeHeader,
    inner_first: PayloadType,
    plaintext: &[u8],
    protector: &SkProtector,
) -> Result<Vec<u8>, ProtectError> {
    let iv = protector.fresh_iv()?;
    seal_encoded_with_iv(header, inner_first, plaintext, protector, &iv)
}

fn seal_encoded_with_iv(
    header: &IkeHeader,
    inner_first: PayloadType,
    plaintext: &[u8],
    protector: &SkProtector,
    iv: &[u8],
) -> Result<Vec<u8>, ProtectError> {
    let body_len = protector.sealed_len(plaintext.len());
    // Encode the message with a zero-filled SK body of the final size, so every length
    // field is final, then seal over the prefix and drop the body in place.
    let placeholder = Message {
        header: header.clone(),
        payloads: vec![Payload::new(PayloadBody::Sk(EncryptedPayload {
            inner_first,
            body: vec![0; body_len],
        }))],
    };
    let mut out = placeholder.encode()?;
    let aad_len = out.len() - body_len;
    let sealed = protector.seal(&out[..aad_len], iv, plaintext)?;
    if sealed.len() != body_len {
        return Err(ProtectError::Crypto(CryptoError::InvalidLength {
            what: "sealed SK body",
            expected: body_len,
            got: sealed.len(),
        }));
    }
    out[aad_len..].copy_from_slice(&sealed);
    Ok(out)
}

/// An opened message: the outer message (its SK payload still encrypted) and the
/// decrypted inner payloads.
#[derive(Debug)]
pub struct Opened {
    /// The message as received.
    pub message: Message,
    /// The payloads inside SK.
    pub inner: Vec<Payload>,
}

/// Decodes `bytes`, checks and decrypts its SK payload, and decodes the inner chain.
///
/// Fails without side effects on any malformed, truncated or tampered input.
pub fn open(bytes: &[u8], protector: &SkProtector) -> Result<Opened, ProtectError> {
    let message = Message::decode(bytes).map_err(ProtectError::Decode)?;
    let sk = match message.payloads.last().map(|p| &p.body) {
        Some(PayloadBody::Sk(sk)) => sk,
        _ => return Err(ProtectError::NotEncrypted),
    };
    // SK is the last payload and its body runs to the end of the message.
    let aad_len = bytes.len() - sk.body.len();
    debug_assert!(aad_len >= wire::IKE_HEADER_LEN + PAYLOAD_HEADER_LEN);
    let plaintext = protector.open(&bytes[..aad_len], &sk.body)?;
    let inner =
        wire::decode_payloads(sk.inner_first, &plaintext).map_err(ProtectError::InnerDecode)?;
    Ok(Opened { message, inner })
}

/// Type of the first inner payload of an SK payload.
pub fn inner_first_type(message: &Message) -> Option<PayloadType> {
    message.encrypted().map(|e| e.inner_first)
}

/// Builds one IKEv2 fragment (RFC 7383 §2.5): `header` (Next Payload becomes SKF), then
/// an SKF payload carrying fragment `number` of `total` of the inner plaintext.
///
/// `inner_first` is the type of the first inner payload in fragment 1 and NONE in the
/// others (RFC 7383 §2.5). The AAD covers the header and the SKF header including the
/// Fragment Number and Total Fragments fields. Each fragment gets a fresh random IV.
pub fn seal_fragment(
    header: &IkeHeader,
    inner_first: PayloadType,
    number: u16,
    total: u16,
    chunk: &[u8],
    protector: &SkProtector,
) -> Result<Vec<u8>, ProtectError> {
    let iv = protector.fresh_iv()?;
    let body_len = protector.sealed_len(chunk.len());
    let placeholder = Message {
        header: header.clone(),
        payloads: vec![Payload::new(PayloadBody::Skf(wire::EncryptedFragment {
            inner_first,
            fragment_number: number,
            total_fragments: total,
            body: vec![0; body_len],
        }))],
    };
    let mut out = placeholder.encode()?;
    let aad_len = out.len() - body_len;
    let sealed = protector.seal(&out[..aad_len], &iv, chunk)?;
    if sealed.len() != body_len {
        return Err(ProtectError::Crypto(CryptoError::InvalidLength {
            what: "sealed SKF body",
            expected: body_len,
            got: sealed.len(),
        }));
    }
    out[aad_len..].copy_from_slice(&sealed);
    Ok(out)
}

/// An opened fragment: its header fields and the decrypted chunk (not shown by `Debug`).
pub struct OpenedFragment {
    /// The message as received.
    pub message: Message,
    /// Next Payload of the SKF header (first inner type in fragment 1).
    pub inner_first: PayloadType,
    /// The flags octet of the SKF generic header (critical bit and RESERVED).
    pub flags_octet: u8,
    /// Fragment Number.
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// The decrypted part of the inner plaintext.
    pub chunk: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for OpenedFragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedFragment")
            .field("message", &self.message)
            .field("number", &self.number)
            .field("total", &self.total)
            .field("chunk_len", &self.chunk.len())
            .finish_non_exhaustive()
    }
}

/// Decodes `bytes` as a message whose last payload is SKF, checks and decrypts it.
pub fn open_fragment(
    bytes: &[u8],
    protector: &SkProtector,
) -> Result<OpenedFragment, ProtectError> {
    let message = Message::decode(bytes).map_err(ProtectError::Decode)?;
    let (skf, flags_octet) = match message.payloads.last() {
        Some(Payload {
            body: PayloadBody::Skf(f),
            critical,
            reserved,
        }) => (f, if *critical { 0x80 } else { 0 } | *reserved),
        _ => return Err(ProtectError::NotEncrypted),
    };
    let aad_len = bytes.len() - skf.body.len();
    let chunk = protector.open(&bytes[..aad_len], &skf.body)?;
    Ok(OpenedFragment {
        inner_first: skf.inner_first,
        flags_octet,
        number: skf.fragment_number,
        total: skf.total_fragments,
        chunk,
        message,
    })
}
