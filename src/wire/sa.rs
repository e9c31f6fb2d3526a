//! SA payload, proposals and transforms (RFC 7296 §3.3), also used for SAg
//! (RFC 9838 §4.3) and inside GSA policies (RFC 9838 §4.4.2.1).

use super::attribute::Attribute;
use super::enums::{ProtocolId, TransformAttrType, TransformType};
use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::reader::Reader;
use super::writer::Writer;

/// Last Substruc value of a proposal followed by another (RFC 7296 §3.3.1).
const MORE_PROPOSALS: u8 = 2;
/// Last Substruc value of a transform followed by another (RFC 7296 §3.3.2).
const MORE_TRANSFORMS: u8 = 3;
/// Last Substruc value of the final substructure.
const LAST: u8 = 0;

/// A Transform substructure (RFC 7296 §3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform {
    /// The RESERVED octet after Last Substruc (sent 0; kept for lossless round trips).
    pub reserved1: u8,
    /// Transform Type.
    pub transform_type: TransformType,
    /// The RESERVED octet after Transform Type.
    pub reserved2: u8,
    /// Transform ID, interpreted according to `transform_type`.
    pub id: u16,
    /// Transform attributes (Key Length 14, Signature Algorithm Identifier 18, ...).
    pub attributes: Vec<Attribute<TransformAttrType>>,
}

impl Transform {
    /// A transform without attributes.
    pub fn new(transform_type: TransformType, id: u16) -> Self {
        Transform {
            reserved1: 0,
            transform_type,
            reserved2: 0,
            id,
            attributes: Vec::new(),
        }
    }

    /// Adds a Key Length attribute (TV, bits).
    pub fn with_key_length(mut self, bits: u16) -> Self {
        self.attributes
            .push(Attribute::tv(TransformAttrType::KEY_LENGTH, bits));
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, a: Attribute<TransformAttrType>) -> Self {
        self.attributes.push(a);
        self
    }

    /// The Key Length attribute value in bits, if present and in TV form.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes
            .iter()
            .find(|a| a.attr_type == TransformAttrType::KEY_LENGTH)
            .and_then(|a| a.tv_value())
    }

    /// Decodes one transform and returns it with its Last Substruc octet.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<(Self, u8), DecodeError> {
        let s = Structure::Transform;
        let last_at = r.offset();
        let last = r.u8(s)?;
        if last != LAST && last != MORE_TRANSFORMS {
            return Err(DecodeError {
                structure: s,
                offset: last_at,
                kind: DecodeErrorKind::InvalidValue {
                    field: "Last Substruc",
                    value: u64::from(last),
                },
            });
        }
        let reserved1 = r.u8(s)?;
        let len_at = r.offset();
        let len = r.u16(s)? as usize;
        let mut body = r.sub_structure(len, 4, len_at, s)?;
        let transform_type = TransformType(body.u8(s)?);
        let reserved2 = body.u8(s)?;
        let id = body.u16(s)?;
        let attributes = Attribute::decode_all(&mut body)?;
        Ok((
            Transform {
                reserved1,
                transform_type,
                reserved2,
                id,
                attributes,
            },
            last,
        ))
    }

    /// Encodes this transform; `last` says whether it ends its list.
    pub(crate) fn encode(&self, w: &mut Writer, last: bool) -> Result<(), EncodeError> {
        let start = w.len();
        w.u8(if last { LAST } else { MORE_TRANSFORMS });
        w.u8(self.reserved1);
        let mark = w.length16_placeholder(start);
        w.u8(self.transform_type.0);
        w.u8(self.reserved2);
        w.u16(self.id);
        for a in &self.attributes {
            a.encode(w)?;
        }
        w.patch_length16(mark, Structure::Transform)
    }

    /// Decodes transforms until one carries Last Substruc = 0 (GSA policies have no
    /// transform count, RFC 9838 §4.4.2).
    pub(crate) fn decode_until_last(r: &mut Reader<'_>) -> Result<Vec<Self>, DecodeError> {
        let mut out = Vec::new();
        loop {
            if r.is_empty() {
                return Err(r.error(
                    Structure::Transform,
                    DecodeErrorKind::MissingLastSubstructure,
                ));
            }
            let (t, last) = Transform::decode(r)?;
            out.push(t);
            if last == LAST {
                return Ok(out);
            }
        }
    }

    /// Encodes a transform list, marking the final one.
    pub(crate) fn encode_list(list: &[Self], w: &mut Writer) -> Result<(), EncodeError> {
        for (i, t) in list.iter().enumerate() {
            t.encode(w, i + 1 == list.len())?;
        }
        Ok(())
    }
}

/// A Proposal substructure (RFC 7296 §3.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// RESERVED octet after Last Substruc.
    pub reserved: u8,
    /// Proposal Num (in SAg, proposals sharing a number form a set, RFC 9838 §4.3).
    pub number: u8,
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// SPI (SPI Size octets; empty in SAg).
    pub spi: Vec<u8>,
    /// Transforms in wire order.
    pub transforms: Vec<Transform>,
}

impl Proposal {
    /// A proposal with no SPI.
    pub fn new(number: u8, protocol: ProtocolId, transforms: Vec<Transform>) -> Self {
        Proposal {
            reserved: 0,
            number,
            protocol,
            spi: Vec::new(),
            transforms,
        }
    }

    /// Transforms of one type, in order.
    pub fn transforms_of(&self, t: TransformType) -> impl Iterator<Item = &Transform> {
        self.transforms
            .iter()
            .filter(move |x| x.transform_type == t)
    }

    fn decode(r: &mut Reader<'_>) -> Result<(Self, u8), DecodeError> {
        let s = Structure::Proposal;
        let last_at = r.offset();
        let last = r.u8(s)?;
        if last != LAST && last != MORE_PROPOSALS {
            return Err(DecodeError {
                structure: s,
                offset: last_at,
                kind: DecodeErrorKind::InvalidValue {
                    field: "Last Substruc",
                    value: u64::from(last),
                },
            });
        }
        let reserved = r.u8(s)?;
        let len_at = r.offset();
        let len = r.u16(s)? as usize;
        let mut body = r.sub_structure(len, 4, len_at, s)?;
        let number = body.u8(s)?;
        let protocol = ProtocolId(body.u8(s)?);
        let spi_size = body.u8(s)? as usize;
        let count_at = body.offset();
        let count = body.u8(s)? as usize;
        let spi = body.take(spi_size, s)?.to_vec();
        let mut transforms = Vec::with_capacity(count.min(body.remaining() / 8));
        let mut saw_last = false;
        while !body.is_empty() {
            if saw_last {
                return Err(body.error(
                    s,
                    DecodeErrorKind::TrailingOctets {
                        count: body.remaining(),
                    },
                ));
            }
            let (t, t_last) = Transform::decode(&mut body)?;
            transforms.push(t);
            saw_last = t_last == LAST;
        }
        if transforms.len() != count {
            return Err(DecodeError {
                structure: s,
                offset: count_at,
                kind: DecodeErrorKind::CountMismatch {
                    field: "Num Transforms",
                    declared: count,
                    found: transforms.len(),
                },
            });
        }
        if count > 0 && !saw_last {
            return Err(body.error(
                Structure::Transform,
                DecodeErrorKind::MissingLastSubstructure,
            ));
        }
        Ok((
            Proposal {
                reserved,
                number,
                protocol,
                spi,
                transforms,
            },
            last,
        ))
    }

    fn encode(&self, w: &mut Writer, last: bool) -> Result<(), EncodeError> {
        let s = Structure::Proposal;
        let start = w.len();
        w.u8(if last { LAST } else { MORE_PROPOSALS });
        w.u8(self.reserved);
        let mark = w.length16_placeholder(start);
        w.u8(self.number);
        w.u8(self.protocol.0);
        w.u8_len(self.spi.len(), s, "SPI Size")?;
        w.u8_len(self.transforms.len(), s, "Num Transforms")?;
        w.bytes(&self.spi);
        Transform::encode_list(&self.transforms, w)?;
        w.patch_length16(mark, s)
    }
}

/// The SA payload body (RFC 7296 §3.3), also SAg (RFC 9838 §4.3).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SaPayload {
    /// Proposals in wire order.
    pub proposals: Vec<Proposal>,
}

impl SaPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut proposals = Vec::new();
        let mut saw_last = false;
        while !r.is_empty() {
            if saw_last {
                return Err(r.error(
                    Structure::SaPayload,
                    DecodeErrorKind::TrailingOctets {
                        count: r.remaining(),
                    },
                ));
            }
            let (p, last) = Proposal::decode(r)?;
            proposals.push(p);
            saw_last = last == LAST;
        }
        if !proposals.is_empty() && !saw_last {
            return Err(r.error(
                Structure::Proposal,
                DecodeErrorKind::MissingLastSubstructure,
            ));
        }
        Ok(SaPayload { proposals })
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        for (i, p) in self.proposals.iter().enumerate() {
            p.encode(w, i + 1 == self.proposals.len())?;
        }
        Ok(())
    }
}
