//! The generic payload chain (RFC 7296 §3.2) and the encrypted containers SK
//! (RFC 7296 §3.14) and SKF (RFC 7383 §2.5).

use super::enums::PayloadType;
use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::gsa::GsaPayload;
use super::kd::KdPayload;
use super::payloads::{
    AuthPayload, CertPayload, DeletePayload, IdPayload, KePayload, NotifyPayload,
};
use super::reader::Reader;
use super::sa::SaPayload;
use super::ts::TsPayload;
use super::writer::Writer;
use std::borrow::Borrow;

/// Length of the generic payload header.
pub const PAYLOAD_HEADER_LEN: usize = 4;
/// The critical bit in the generic payload header.
const CRITICAL: u8 = 0x80;

/// The SK payload body (RFC 7296 §3.14): IV, ciphertext and ICV, opaque to the codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedPayload {
    /// The Next Payload field of the SK header: the type of the first inner payload.
    pub inner_first: PayloadType,
    /// IV | encrypted payloads, padding and Pad Length | ICV.
    pub body: Vec<u8>,
}

/// The SKF payload body (RFC 7383 §2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedFragment {
    /// Next Payload: the first inner payload's type in fragment 1, 0 in the others.
    pub inner_first: PayloadType,
    /// Fragment Number (1-based).
    pub fragment_number: u16,
    /// Total Fragments.
    pub total_fragments: u16,
    /// IV | encrypted content | ICV.
    pub body: Vec<u8>,
}

/// A payload body, typed by the Payload Type that announced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadBody {
    /// SA (33), also SAg.
    Sa(SaPayload),
    /// KE (34).
    Ke(KePayload),
    /// IDi (35).
    IdI(IdPayload),
    /// IDr (36).
    IdR(IdPayload),
    /// CERT (37).
    Cert(CertPayload),
    /// CERTREQ (38).
    CertReq(CertPayload),
    /// AUTH (39).
    Auth(AuthPayload),
    /// Nonce (40): the nonce data.
    Nonce(Vec<u8>),
    /// Notify (41).
    Notify(NotifyPayload),
    /// Delete (42).
    Delete(DeletePayload),
    /// TSi (44).
    TsI(TsPayload),
    /// TSr (45).
    TsR(TsPayload),
    /// SK (46).
    Sk(EncryptedPayload),
    /// IDg (50).
    IdG(IdPayload),
    /// GSA (51).
    Gsa(GsaPayload),
    /// KD (52).
    Kd(KdPayload),
    /// SKF (53).
    Skf(EncryptedFragment),
    /// Any other payload (Vendor ID, CP, EAP, unknown types), kept as octets.
    Raw {
        /// The Payload Type.
        payload_type: PayloadType,
        /// The body after the generic header.
        data: Vec<u8>,
    },
}

impl PayloadBody {
    /// The Payload Type this body is announced with.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            PayloadBody::Sa(_) => PayloadType::SA,
            PayloadBody::Ke(_) => PayloadType::KE,
            PayloadBody::IdI(_) => PayloadType::IDi,
            PayloadBody::IdR(_) => PayloadType::IDr,
            PayloadBody::Cert(_) => PayloadType::CERT,
            PayloadBody::CertReq(_) => PayloadType::CERTREQ,
            PayloadBody::Auth(_) => PayloadType::AUTH,
            PayloadBody::Nonce(_) => PayloadType::NONCE,
            PayloadBody::Notify(_) => PayloadType::N,
            PayloadBody::Delete(_) => PayloadType::D,
            PayloadBody::TsI(_) => PayloadType::TSi,
            PayloadBody::TsR(_) => PayloadType::TSr,
            PayloadBody::Sk(_) => PayloadType::SK,
            PayloadBody::IdG(_) => PayloadType::IDg,
            PayloadBody::Gsa(_) => PayloadType::GSA,
            PayloadBody::Kd(_) => PayloadType::KD,
            PayloadBody::Skf(_) => PayloadType::SKF,
            PayloadBody::Raw { payload_type, .. } => *payload_type,
        }
    }

    fn is_encrypted(&self) -> bool {
        matches!(self, PayloadBody::Sk(_) | PayloadBody::Skf(_))
    }
}

/// One payload: the generic header's flag octet and the typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Critical bit.
    pub critical: bool,
    /// The seven RESERVED bits after the critical bit (sent 0; kept for round trips).
    pub reserved: u8,
    /// The body.
    pub body: PayloadBody,
}

impl Payload {
    /// A payload with clear critical and RESERVED bits.
    pub fn new(body: PayloadBody) -> Self {
        Payload {
            critical: false,
            reserved: 0,
            body,
        }
    }

    /// True for a payload of a type the codec does not model, with the critical bit set:
    /// the caller must reject the message with UNSUPPORTED_CRITICAL_PAYLOAD
    /// (RFC 7296 §2.5).
    pub fn is_unsupported_critical(&self) -> bool {
        self.critical
            && matches!(&self.body, PayloadBody::Raw { payload_type, .. }
                if !matches!(*payload_type, PayloadType::V | PayloadType::CP | PayloadType::EAP))
    }
}

/// Payload types `decode_body` decodes into a typed variant (keep in sync with it).
fn is_modelled(t: PayloadType) -> bool {
    matches!(
        t,
        PayloadType::SA
            | PayloadType::KE
            | PayloadType::IDi
            | PayloadType::IDr
            | PayloadType::CERT
            | PayloadType::CERTREQ
            | PayloadType::AUTH
            | PayloadType::NONCE
            | PayloadType::N
            | PayloadType::D
            | PayloadType::TSi
            | PayloadType::TSr
            | PayloadType::SK
            | PayloadType::SKF
            | PayloadType::IDg
            | PayloadType::GSA
            | PayloadType::KD
    )
}

fn decode_body(
    t: PayloadType,
    r: &mut Reader<'_>,
    next: PayloadType,
) -> Result<PayloadBody, DecodeError> {
    let body = match t {
        PayloadType::SA => PayloadBody::Sa(SaPayload::decode(r)?),
        PayloadType::KE => PayloadBody::Ke(KePayload::decode(r)?),
        PayloadType::IDi => PayloadBody::IdI(IdPayload::decode(r, Structure::IdPayload)?),
        PayloadType::IDr => PayloadBody::IdR(IdPayload::decode(r, Structure::IdPayload)?),
        PayloadType::CERT => PayloadBody::Cert(CertPayload::decode(r, Structure::CertPayload)?),
        PayloadType::CERTREQ => {
            PayloadBody::CertReq(CertPayload::decode(r, Structure::CertReqPayload)?)
        }
        PayloadType::AUTH => PayloadBody::Auth(AuthPayload::decode(r)?),
        PayloadType::NONCE => PayloadBody::Nonce(r.rest().to_vec()),
        PayloadType::N => PayloadBody::Notify(NotifyPayload::decode(r)?),
        PayloadType::D => PayloadBody::Delete(DeletePayload::decode(r)?),
        PayloadType::TSi => PayloadBody::TsI(TsPayload::decode(r)?),
        PayloadType::TSr => PayloadBody::TsR(TsPayload::decode(r)?),
        PayloadType::SK => PayloadBody::Sk(EncryptedPayload {
            inner_first: next,
            body: r.rest().to_vec(),
        }),
        PayloadType::SKF => {
            let s = Structure::SkfPayload;
            PayloadBody::Skf(EncryptedFragment {
                inner_first: next,
                fragment_number: r.u16(s)?,
                total_fragments: r.u16(s)?,
                body: r.rest().to_vec(),
            })
        }
        PayloadType::IDg => PayloadBody::IdG(IdPayload::decode(r, Structure::IdgPayload)?),
        PayloadType::GSA => PayloadBody::Gsa(GsaPayload::decode(r)?),
        PayloadType::KD => PayloadBody::Kd(KdPayload::decode(r)?),
        _ => PayloadBody::Raw {
            payload_type: t,
            data: r.rest().to_vec(),
        },
    };
    let s = match t {
        PayloadType::SA => Structure::SaPayload,
        PayloadType::TSi | PayloadType::TSr => Structure::TsPayload,
        PayloadType::GSA => Structure::GsaPayload,
        PayloadType::KD => Structure::KdPayload,
        _ => Structure::Payload,
    };
    r.finish(s)?;
    Ok(body)
}

/// Decodes a payload chain that starts with a payload of type `first` and fills `r`.
///
/// An SK or SKF payload ends the chain; octets after it are an error.
pub(crate) fn decode_chain(
    first: PayloadType,
    r: &mut Reader<'_>,
) -> Result<Vec<Payload>, DecodeError> {
    let mut out = Vec::new();
    let mut current = first;
    while current != PayloadType::NONE {
        let s = Structure::PayloadHeader;
        let start = r.offset();
        let next = PayloadType(r.u8(s)?);
        let flags = r.u8(s)?;
        let len_at = r.offset();
        let len = r.u16(s)? as usize;
        let mut body_reader = r.sub_structure(len, PAYLOAD_HEADER_LEN, len_at, s)?;
        let body = decode_body(current, &mut body_reader, next)?;
        let encrypted = body.is_encrypted();
        out.push(Payload {
            critical: flags & CRITICAL != 0,
            reserved: flags & !CRITICAL,
            body,
        });
        if encrypted {
            if !r.is_empty() {
                return Err(DecodeError {
                    structure: if current == PayloadType::SKF {
                        Structure::SkfPayload
                    } else {
                        Structure::SkPayload
                    },
                    offset: start,
                    kind: DecodeErrorKind::EncryptedNotLast,
                });
            }
            return Ok(out);
        }
        current = next;
    }
    r.finish(Structure::PayloadHeader)?;
    Ok(out)
}

/// Decodes a payload chain from a buffer (e.g. the decrypted content of SK, whose first
/// type is the SK header's Next Payload). Offsets in errors are relative to `bytes`.
pub fn decode_payloads(first: PayloadType, bytes: &[u8]) -> Result<Vec<Payload>, DecodeError> {
    let mut r = Reader::new(bytes);
    decode_chain(first, &mut r)
}

fn encode_body(body: &PayloadBody, w: &mut Writer) -> Result<(), EncodeError> {
    match body {
        PayloadBody::Sa(p) => p.encode(w)?,
        PayloadBody::Ke(p) => p.encode(w),
        PayloadBody::IdI(p) | PayloadBody::IdR(p) | PayloadBody::IdG(p) => p.encode(w),
        PayloadBody::Cert(p) | PayloadBody::CertReq(p) => p.encode(w),
        PayloadBody::Auth(p) => p.encode(w),
        PayloadBody::Nonce(n) => w.bytes(n),
        PayloadBody::Notify(p) => p.encode(w)?,
        PayloadBody::Delete(p) => p.encode(w)?,
        PayloadBody::TsI(p) | PayloadBody::TsR(p) => p.encode(w)?,
        PayloadBody::Sk(p) => w.bytes(&p.body),
        PayloadBody::Skf(p) => {
            w.u16(p.fragment_number);
            w.u16(p.total_fragments);
            w.bytes(&p.body);
        }
        PayloadBody::Gsa(p) => p.encode(w)?,
        PayloadBody::Kd(p) => p.encode(w)?,
        PayloadBody::Raw { payload_type, data } => {
            // NONE would end the chain and the typed kinds would decode as their variant.
            if *payload_type == PayloadType::NONE || is_modelled(*payload_type) {
                return Err(EncodeError::OutOfRange {
                    structure: Structure::Payload,
                    field: "Payload Type (opaque form of a modelled payload)",
                    value: u64::from(payload_type.0),
                });
            }
            w.bytes(data)
        }
    }
    Ok(())
}

/// Writes one payload's generic header and body; `next` is the following payload's type.
/// Returns the offset of the header so callers can locate it.
pub(crate) fn encode_payload(
    p: &Payload,
    next: PayloadType,
    w: &mut Writer,
) -> Result<usize, EncodeError> {
    let start = w.len();
    let next = match &p.body {
        PayloadBody::Sk(e) => e.inner_first,
        PayloadBody::Skf(e) => e.inner_first,
        _ => next,
    };
    w.u8(next.0);
    if p.reserved & CRITICAL != 0 {
        return Err(EncodeError::OutOfRange {
            structure: Structure::PayloadHeader,
            field: "RESERVED",
            value: u64::from(p.reserved),
        });
    }
    w.u8(if p.critical { CRITICAL } else { 0 } | p.reserved);
    let mark = w.length16_placeholder(start);
    encode_body(&p.body, w)?;
    w.patch_length16(mark, Structure::PayloadHeader)?;
    Ok(start)
}

/// Encodes a payload chain; returns the first payload's type (NONE for an empty chain).
pub(crate) fn encode_chain<P: Borrow<Payload>>(
    payloads: &[P],
    w: &mut Writer,
) -> Result<PayloadType, EncodeError> {
    for (i, p) in payloads.iter().enumerate() {
        let p = p.borrow();
        let next = match payloads.get(i + 1) {
            Some(n) => {
                if p.body.is_encrypted() {
                    return Err(EncodeError::EncryptedNotLast);
                }
                n.borrow().body.payload_type()
            }
            None => PayloadType::NONE,
        };
        encode_payload(p, next, w)?;
    }
    Ok(payloads
        .first()
        .map(|p| p.borrow().body.payload_type())
        .unwrap_or(PayloadType::NONE))
}

/// Encodes a payload chain into a new buffer (e.g. the plaintext of an SK payload) and
/// returns it with the first payload's type.
pub fn encode_payloads(payloads: &[Payload]) -> Result<(PayloadType, Vec<u8>), EncodeError> {
    encode_payload_refs(payloads)
}

/// [`encode_payloads`] for a chain held as references (a borrowed chain plus a payload of
/// the caller's, say), so nothing is copied before encoding.
pub fn encode_payload_refs<P: Borrow<Payload>>(
    payloads: &[P],
) -> Result<(PayloadType, Vec<u8>), EncodeError> {
    // A registration response is about 1 KB: one allocation instead of several regrowths.
    let mut w = Writer::with_capacity(1024);
    let first = encode_chain(payloads, &mut w)?;
    Ok((first, w.into_vec()))
}
