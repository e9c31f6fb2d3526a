//! Data attributes in the RFC 7296 §3.3.5 format, shared by transforms, GSA policy,
//! GW policy and key bags (RFC 9838 §4.4.2.2, §4.4.3.1, §4.5).

use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::reader::Reader;
use super::writer::Writer;
use std::fmt::Debug;

/// AF bit: set for TV (fixed two-octet value), clear for TLV.
const AF_TV: u16 = 0x8000;

/// The value of an attribute.
#[derive(Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// TV format: a two-octet value.
    Tv(u16),
    /// TLV format: a variable-length value (at most 65535 octets).
    Tlv(Vec<u8>),
}

impl Debug for AttrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrValue::Tv(v) => write!(f, "Tv({v})"),
            AttrValue::Tlv(b) => write!(f, "Tlv({})", super::hex(b)),
        }
    }
}

/// One attribute, typed by the registry it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute<T> {
    /// The 15-bit attribute type.
    pub attr_type: T,
    /// The value and its format.
    pub value: AttrValue,
}

impl<T: Copy + Into<u16> + From<u16>> Attribute<T> {
    /// A TV attribute.
    pub fn tv(attr_type: T, value: u16) -> Self {
        Attribute {
            attr_type,
            value: AttrValue::Tv(value),
        }
    }

    /// A TLV attribute.
    pub fn tlv(attr_type: T, value: Vec<u8>) -> Self {
        Attribute {
            attr_type,
            value: AttrValue::Tlv(value),
        }
    }

    /// The TV value, or `None` for a TLV attribute.
    pub fn tv_value(&self) -> Option<u16> {
        match self.value {
            AttrValue::Tv(v) => Some(v),
            AttrValue::Tlv(_) => None,
        }
    }

    /// The TLV value, or `None` for a TV attribute.
    pub fn tlv_value(&self) -> Option<&[u8]> {
        match &self.value {
            AttrValue::Tv(_) => None,
            AttrValue::Tlv(v) => Some(v),
        }
    }

    /// Decodes one attribute.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let first = r.u16(Structure::Attribute)?;
        let attr_type = T::from(first & !AF_TV);
        let value = if first & AF_TV != 0 {
            AttrValue::Tv(r.u16(Structure::Attribute)?)
        } else {
            let len = r.u16(Structure::Attribute)? as usize;
            AttrValue::Tlv(r.take(len, Structure::Attribute)?.to_vec())
        };
        Ok(Attribute { attr_type, value })
    }

    /// Decodes attributes until the reader is exhausted.
    pub(crate) fn decode_all(r: &mut Reader<'_>) -> Result<Vec<Self>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(Self::decode(r)?);
        }
        Ok(out)
    }

    /// Encodes this attribute.
    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        let t: u16 = self.attr_type.into();
        if t & AF_TV != 0 {
            return Err(EncodeError::OutOfRange {
                structure: Structure::Attribute,
                field: "Attribute Type",
                value: u64::from(t),
            });
        }
        match &self.value {
            AttrValue::Tv(v) => {
                w.u16(t | AF_TV);
                w.u16(*v);
            }
            AttrValue::Tlv(v) => {
                w.u16(t);
                w.u16_len(v.len(), Structure::Attribute, "Attribute Length")?;
                w.bytes(v);
            }
        }
        Ok(())
    }
}

/// Finds the single attribute of a type, failing on duplicates.
///
/// Returns `Ok(None)` when absent and the offending type when it occurs more than once.
pub fn single<T: Copy + PartialEq>(
    attrs: &[Attribute<T>],
    t: T,
) -> Result<Option<&Attribute<T>>, T> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.attr_type == t) {
        if found.is_some() {
            return Err(t);
        }
        found = Some(a);
    }
    Ok(found)
}

/// Checks a TLV attribute's format at decode time, for registries that require TLV.
pub(crate) fn require_tlv<T: Copy + Into<u16>>(
    a: &Attribute<T>,
    at: usize,
    structure: Structure,
) -> Result<(), DecodeError> {
    match a.value {
        AttrValue::Tlv(_) => Ok(()),
        AttrValue::Tv(_) => Err(DecodeError {
            structure,
            offset: at,
            kind: DecodeErrorKind::WrongAttributeFormat {
                attr_type: a.attr_type.into(),
            },
        }),
    }
}
