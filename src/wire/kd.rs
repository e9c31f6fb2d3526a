//! The KD payload (RFC 9838 §4.5): Group Key Bags and the Member Key Bag, and the
//! wrapped key format (§4.5.4).

use super::attribute::{require_tlv, AttrValue, Attribute};
use super::enums::{GroupKeyBagAttrType, MemberKeyBagAttrType, ProtocolId};
use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::reader::Reader;
use super::substructure;
use super::writer::Writer;

/// A wrapped key (RFC 9838 §4.5.4): the value of SA_KEY and WRAP_KEY.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Key ID: 0 = SA keying material; otherwise an intermediate KWK (e.g. an LKH node).
    pub key_id: u32,
    /// KWK ID: 0 = the default KWK (GSK_w) of the SA the message travels over.
    pub kwk_id: u32,
    /// Key wrap algorithm output (ciphertext; not secret).
    pub encrypted: Vec<u8>,
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKey")
            .field("key_id", &self.key_id)
            .field("kwk_id", &self.kwk_id)
            .field("encrypted_len", &self.encrypted.len())
            .finish()
    }
}

impl WrappedKey {
    /// Length of the Key ID and KWK ID header.
    pub const HEADER_LEN: usize = 8;

    /// Decodes a wrapped key from an attribute value; `base` is the value's absolute offset.
    pub fn decode_at(value: &[u8], base: usize) -> Result<Self, DecodeError> {
        let s = Structure::WrappedKey;
        let mut r = Reader::at(value, base);
        let key_id = r.u32(s)?;
        let kwk_id = r.u32(s)?;
        Ok(WrappedKey {
            key_id,
            kwk_id,
            encrypted: r.rest().to_vec(),
        })
    }

    /// Encodes the attribute value.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(Self::HEADER_LEN + self.encrypted.len());
        v.extend_from_slice(&self.key_id.to_be_bytes());
        v.extend_from_slice(&self.kwk_id.to_be_bytes());
        v.extend_from_slice(&self.encrypted);
        v
    }
}

/// A Group Key Bag attribute (RFC 9838 §4.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupKeyBagAttr {
    /// SA_KEY (1): wrapped SA keying material.
    SaKey(WrappedKey),
    /// Any other attribute, kept as is.
    Other(Attribute<GroupKeyBagAttrType>),
}

/// A Member Key Bag attribute (RFC 9838 §4.5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberKeyBagAttr {
    /// WRAP_KEY (1): a wrapped intermediate KWK.
    WrapKey(WrappedKey),
    /// AUTH_KEY (2): DER SubjectPublicKeyInfo for GSA_REKEY signatures (not wrapped).
    AuthKey(Vec<u8>),
    /// GM_SENDER_ID (3): one Sender-ID, big-endian (encoding: docs/decisions.md).
    GmSenderId(Vec<u8>),
    /// Any other attribute, kept as is.
    Other(Attribute<MemberKeyBagAttrType>),
}

/// A Group Key Bag (RFC 9838 §4.5.2): keys for one SA, identified by (Protocol, SPI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupKeyBag {
    /// GIKE_UPDATE, AH or ESP.
    pub protocol: ProtocolId,
    /// SPI of the SA these keys belong to.
    pub spi: Vec<u8>,
    /// Attributes in wire order.
    pub attributes: Vec<GroupKeyBagAttr>,
}

impl GroupKeyBag {
    /// The SA_KEY attributes in wire order.
    pub fn sa_keys(&self) -> impl Iterator<Item = &WrappedKey> {
        self.attributes.iter().filter_map(|a| match a {
            GroupKeyBagAttr::SaKey(k) => Some(k),
            GroupKeyBagAttr::Other(_) => None,
        })
    }
}

/// The Member Key Bag (RFC 9838 §4.5.3): keys for this member only.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MemberKeyBag {
    /// RESERVED octet (kept for round trips).
    pub reserved: u8,
    /// Attributes in wire order.
    pub attributes: Vec<MemberKeyBagAttr>,
}

impl MemberKeyBag {
    /// The WRAP_KEY attributes in wire order.
    pub fn wrap_keys(&self) -> impl Iterator<Item = &WrappedKey> {
        self.attributes.iter().filter_map(|a| match a {
            MemberKeyBagAttr::WrapKey(k) => Some(k),
            _ => None,
        })
    }

    /// The AUTH_KEY attributes (at most one is valid).
    pub fn auth_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.attributes.iter().filter_map(|a| match a {
            MemberKeyBagAttr::AuthKey(k) => Some(k.as_slice()),
            _ => None,
        })
    }

    /// The GM_SENDER_ID attribute values in wire order.
    pub fn sender_ids(&self) -> impl Iterator<Item = &[u8]> {
        self.attributes.iter().filter_map(|a| match a {
            MemberKeyBagAttr::GmSenderId(v) => Some(v.as_slice()),
            _ => None,
        })
    }
}

/// One key bag of a KD payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyBag {
    /// Group Key Bag (first octet 6, 2 or 3).
    Group(GroupKeyBag),
    /// Member Key Bag (first octet 0).
    Member(MemberKeyBag),
    /// A bag with another first octet, kept opaque.
    Unknown {
        /// First octet.
        protocol: ProtocolId,
        /// Second octet.
        octet1: u8,
        /// Body after the Length field.
        data: Vec<u8>,
    },
}

/// The KD payload body (RFC 9838 §4.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KdPayload {
    /// Key bags in wire order.
    pub bags: Vec<KeyBag>,
}

impl KdPayload {
    /// The Group Key Bags.
    pub fn group_bags(&self) -> impl Iterator<Item = &GroupKeyBag> {
        self.bags.iter().filter_map(|b| match b {
            KeyBag::Group(g) => Some(g),
            _ => None,
        })
    }

    /// The Member Key Bags (at most one is expected).
    pub fn member_bags(&self) -> impl Iterator<Item = &MemberKeyBag> {
        self.bags.iter().filter_map(|b| match b {
            KeyBag::Member(m) => Some(m),
            _ => None,
        })
    }

    /// Decodes a KD payload body (the octets after the generic payload header).
    /// Offsets in errors are relative to `body`.
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        Self::decode(&mut r)
    }

    /// Encodes a KD payload body.
    pub fn encode_body(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::with_capacity(512);
        self.encode(&mut w)?;
        Ok(w.into_vec())
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut bags = Vec::new();
        while !r.is_empty() {
            bags.push(decode_bag(r)?);
        }
        Ok(KdPayload { bags })
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        for b in &self.bags {
            encode_bag(b, w)?;
        }
        Ok(())
    }
}

/// Reads one attribute that must be TLV and returns it with the absolute offset of
/// its value.
fn read_tlv_attr<T: Copy + Into<u16> + From<u16>>(
    r: &mut Reader<'_>,
    s: Structure,
) -> Result<(Attribute<T>, usize), DecodeError> {
    let at = r.offset();
    let a = Attribute::<T>::decode(r)?;
    require_tlv(&a, at, s)?;
    Ok((a, at + 4))
}

/// Reads one TLV attribute header and returns its value, borrowed, with the value's offset.
fn read_tlv_value<'a>(r: &mut Reader<'a>, s: Structure) -> Result<(&'a [u8], usize), DecodeError> {
    let at = r.offset();
    let first = r.u16(Structure::Attribute)?;
    if first & 0x8000 != 0 {
        return Err(DecodeError {
            structure: s,
            offset: at,
            kind: DecodeErrorKind::WrongAttributeFormat {
                attr_type: first & 0x7fff,
            },
        });
    }
    let len = r.u16(Structure::Attribute)? as usize;
    Ok((r.take(len, Structure::Attribute)?, at + 4))
}

fn tlv_bytes<T>(a: Attribute<T>) -> Vec<u8> {
    match a.value {
        AttrValue::Tlv(v) => v,
        AttrValue::Tv(v) => v.to_be_bytes().to_vec(),
    }
}

fn decode_bag(r: &mut Reader<'_>) -> Result<KeyBag, DecodeError> {
    let first = ProtocolId(r.peek_u8(Structure::KdPayload)?);
    if first == ProtocolId::NONE {
        let s = Structure::MemberKeyBag;
        let (reserved, mut body) = substructure::read(r, s)?;
        let mut attributes = Vec::new();
        while !body.is_empty() {
            let peek_type = MemberKeyBagAttrType(body.clone().u16(s)? & 0x7fff);
            let attr = match peek_type {
                MemberKeyBagAttrType::WRAP_KEY => {
                    let (v, value_at) = read_tlv_value(&mut body, s)?;
                    MemberKeyBagAttr::WrapKey(WrappedKey::decode_at(v, value_at)?)
                }
                MemberKeyBagAttrType::AUTH_KEY => {
                    let (a, _) = read_tlv_attr::<MemberKeyBagAttrType>(&mut body, s)?;
                    MemberKeyBagAttr::AuthKey(tlv_bytes(a))
                }
                MemberKeyBagAttrType::GM_SENDER_ID => {
                    let (a, _) = read_tlv_attr::<MemberKeyBagAttrType>(&mut body, s)?;
                    MemberKeyBagAttr::GmSenderId(tlv_bytes(a))
                }
                _ => MemberKeyBagAttr::Other(Attribute::decode(&mut body)?),
            };
            attributes.push(attr);
        }
        return Ok(KeyBag::Member(MemberKeyBag {
            reserved,
            attributes,
        }));
    }
    if !substructure::is_sa_protocol(first) {
        let (octet1, mut body) = substructure::read(r, Structure::KdPayload)?;
        return Ok(KeyBag::Unknown {
            protocol: first,
            octet1,
            data: body.rest().to_vec(),
        });
    }
    let s = Structure::GroupKeyBag;
    let (spi_size, mut body) = substructure::read(r, s)?;
    let spi = body.take(usize::from(spi_size), s)?.to_vec();
    let mut attributes = Vec::new();
    while !body.is_empty() {
        let peek_type = GroupKeyBagAttrType(body.clone().u16(s)? & 0x7fff);
        if peek_type == GroupKeyBagAttrType::SA_KEY {
            let (v, value_at) = read_tlv_value(&mut body, s)?;
            attributes.push(GroupKeyBagAttr::SaKey(WrappedKey::decode_at(v, value_at)?));
        } else {
            attributes.push(GroupKeyBagAttr::Other(Attribute::decode(&mut body)?));
        }
    }
    Ok(KeyBag::Group(GroupKeyBag {
        protocol: first,
        spi,
        attributes,
    }))
}

fn encode_tlv(t: u16, v: &[u8], w: &mut Writer) -> Result<(), EncodeError> {
    w.u16(t);
    w.u16_len(v.len(), Structure::Attribute, "Attribute Length")?;
    w.bytes(v);
    Ok(())
}

fn encode_wrapped(t: u16, k: &WrappedKey, w: &mut Writer) -> Result<(), EncodeError> {
    w.u16(t);
    w.u16_len(
        WrappedKey::HEADER_LEN + k.encrypted.len(),
        Structure::Attribute,
        "Attribute Length",
    )?;
    w.u32(k.key_id);
    w.u32(k.kwk_id);
    w.bytes(&k.encrypted);
    Ok(())
}

fn encode_bag(b: &KeyBag, w: &mut Writer) -> Result<(), EncodeError> {
    match b {
        KeyBag::Member(m) => {
            let s = Structure::MemberKeyBag;
            substructure::write(w, ProtocolId::NONE.0, m.reserved, s, |w| {
                for a in &m.attributes {
                    match a {
                        MemberKeyBagAttr::WrapKey(k) => {
                            encode_wrapped(MemberKeyBagAttrType::WRAP_KEY.0, k, w)?
                        }
                        MemberKeyBagAttr::AuthKey(v) => {
                            encode_tlv(MemberKeyBagAttrType::AUTH_KEY.0, v, w)?
                        }
                        MemberKeyBagAttr::GmSenderId(v) => {
                            encode_tlv(MemberKeyBagAttrType::GM_SENDER_ID.0, v, w)?
                        }
                        MemberKeyBagAttr::Other(a) => {
                            if matches!(
                                a.attr_type,
                                MemberKeyBagAttrType::WRAP_KEY
                                    | MemberKeyBagAttrType::AUTH_KEY
                                    | MemberKeyBagAttrType::GM_SENDER_ID
                            ) {
                                return Err(EncodeError::OutOfRange {
                                    structure: s,
                                    field: "Attribute Type (opaque form of a known attribute)",
                                    value: u64::from(a.attr_type.0),
                                });
                            }
                            a.encode(w)?
                        }
                    }
                }
                Ok(())
            })
        }
        KeyBag::Group(g) => {
            let s = Structure::GroupKeyBag;
            substructure::check_sa_protocol(g.protocol, s)?;
            let spi_size = substructure::spi_size(&g.spi, s)?;
            substructure::write(w, g.protocol.0, spi_size, s, |w| {
                w.bytes(&g.spi);
                for a in &g.attributes {
                    match a {
                        GroupKeyBagAttr::SaKey(k) => {
                            encode_wrapped(GroupKeyBagAttrType::SA_KEY.0, k, w)?
                        }
                        GroupKeyBagAttr::Other(a) => {
                            if a.attr_type == GroupKeyBagAttrType::SA_KEY {
                                return Err(EncodeError::OutOfRange {
                                    structure: s,
                                    field: "Attribute Type (opaque form of SA_KEY)",
                                    value: 1,
                                });
                            }
                            a.encode(w)?
                        }
                    }
                }
                Ok(())
            })
        }
        KeyBag::Unknown {
            protocol,
            octet1,
            data,
        } => {
            substructure::check_opaque(*protocol, Structure::KdPayload)?;
            substructure::write(w, protocol.0, *octet1, Structure::KdPayload, |w| {
                w.bytes(data);
                Ok(())
            })
        }
    }
}
