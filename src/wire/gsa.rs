//! The GSA payload (RFC 9838 §4.4): GSA policies for the Rekey SA (GIKE_UPDATE) and the
//! Data-Security SAs (ESP, AH), and the group-wide (GW) policy.

use super::attribute::{self, Attribute};
use super::enums::{GsaAttrType, GwpAttrType, ProtocolId, TransformType};
use super::error::{DecodeError, EncodeError, Structure};
use super::reader::Reader;
use super::sa::Transform;
use super::substructure;
use super::ts::TrafficSelector;
use super::writer::Writer;

/// A GSA policy substructure (RFC 9838 §4.4.2): one Rekey SA or Data-Security SA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GsaPolicy {
    /// GIKE_UPDATE (6), AH (2) or ESP (3).
    pub protocol: ProtocolId,
    /// SPI: 16 octets for GIKE_UPDATE, 4 for AH and ESP.
    pub spi: Vec<u8>,
    /// Source Traffic Selector.
    pub src_ts: TrafficSelector,
    /// Destination Traffic Selector.
    pub dst_ts: TrafficSelector,
    /// GSA Transforms (the list ends at the transform with Last Substruc = 0).
    pub transforms: Vec<Transform>,
    /// GSA Attributes (GSA_KEY_LIFETIME, GSA_INITIAL_MESSAGE_ID, GSA_NEXT_SPI).
    pub attributes: Vec<Attribute<GsaAttrType>>,
}

impl GsaPolicy {
    /// The first transform of a type.
    pub fn transform(&self, t: TransformType) -> Option<&Transform> {
        self.transforms.iter().find(|x| x.transform_type == t)
    }

    /// GSA_KEY_LIFETIME in seconds (RFC 9838 §4.4.2.2.1): `Ok(None)` when absent,
    /// `Err` naming the attribute when duplicated or malformed.
    pub fn key_lifetime(&self) -> Result<Option<u32>, GsaAttrType> {
        self.u32_attr(GsaAttrType::GSA_KEY_LIFETIME)
    }

    /// GSA_INITIAL_MESSAGE_ID (RFC 9838 §4.4.2.2.2).
    pub fn initial_message_id(&self) -> Result<Option<u32>, GsaAttrType> {
        self.u32_attr(GsaAttrType::GSA_INITIAL_MESSAGE_ID)
    }

    /// GSA_NEXT_SPI values (RFC 9838 §4.4.2.2.3); each must be SPI-sized.
    pub fn next_spis(&self) -> Result<Vec<&[u8]>, GsaAttrType> {
        self.attributes
            .iter()
            .filter(|a| a.attr_type == GsaAttrType::GSA_NEXT_SPI)
            .map(|a| match a.tlv_value() {
                Some(v) if v.len() == self.spi.len() => Ok(v),
                _ => Err(GsaAttrType::GSA_NEXT_SPI),
            })
            .collect()
    }

    fn u32_attr(&self, t: GsaAttrType) -> Result<Option<u32>, GsaAttrType> {
        match attribute::single(&self.attributes, t)? {
            None => Ok(None),
            Some(a) => a
                .tlv_value()
                .and_then(|v| <[u8; 4]>::try_from(v).ok())
                .map(|b| Some(u32::from_be_bytes(b)))
                .ok_or(t),
        }
    }
}

/// The group-wide policy substructure (RFC 9838 §4.4.3).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GwPolicy {
    /// RESERVED octet (sent 0, ignored on receipt, kept for round trips).
    pub reserved: u8,
    /// GW Policy Attributes (GWP_ATD, GWP_DTD, GWP_SENDER_ID_BITS; all TV).
    pub attributes: Vec<Attribute<GwpAttrType>>,
}

impl GwPolicy {
    /// A TV attribute's value: `Ok(None)` when absent, `Err` when duplicated or TLV.
    pub fn tv(&self, t: GwpAttrType) -> Result<Option<u16>, GwpAttrType> {
        match attribute::single(&self.attributes, t)? {
            None => Ok(None),
            Some(a) => a.tv_value().map(Some).ok_or(t),
        }
    }
}

/// One element of the GSA payload's Group Policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupPolicy {
    /// A GSA policy (first octet 6, 2 or 3).
    Sa(GsaPolicy),
    /// The GW policy (first octet 0).
    Gw(GwPolicy),
    /// A substructure with another first octet, kept opaque (its second octet and the
    /// octets after the 4-octet header).
    Unknown {
        /// First octet.
        protocol: ProtocolId,
        /// Second octet.
        octet1: u8,
        /// Body after the Length field.
        data: Vec<u8>,
    },
}

/// The GSA payload body (RFC 9838 §4.4.1).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GsaPayload {
    /// Group Policies in wire order.
    pub policies: Vec<GroupPolicy>,
}

impl GsaPayload {
    /// The GSA policies (Rekey and Data-Security), skipping GW and unknown ones.
    pub fn sa_policies(&self) -> impl Iterator<Item = &GsaPolicy> {
        self.policies.iter().filter_map(|p| match p {
            GroupPolicy::Sa(s) => Some(s),
            _ => None,
        })
    }

    /// The GW policy, if any (the first one).
    pub fn gw_policy(&self) -> Option<&GwPolicy> {
        self.policies.iter().find_map(|p| match p {
            GroupPolicy::Gw(g) => Some(g),
            _ => None,
        })
    }

    /// Decodes a GSA payload body (the octets after the generic payload header).
    /// Offsets in errors are relative to `body`.
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        Self::decode(&mut r)
    }

    /// Encodes a GSA payload body.
    pub fn encode_body(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::with_capacity(512);
        self.encode(&mut w)?;
        Ok(w.into_vec())
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut policies = Vec::new();
        while !r.is_empty() {
            policies.push(decode_group_policy(r)?);
        }
        Ok(GsaPayload { policies })
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        for p in &self.policies {
            encode_group_policy(p, w)?;
        }
        Ok(())
    }
}

fn decode_group_policy(r: &mut Reader<'_>) -> Result<GroupPolicy, DecodeError> {
    let first = ProtocolId(r.peek_u8(Structure::GsaPolicy)?);
    if first == ProtocolId::NONE {
        let (reserved, mut body) = substructure::read(r, Structure::GwPolicy)?;
        let attributes = Attribute::decode_all(&mut body)?;
        return Ok(GroupPolicy::Gw(GwPolicy {
            reserved,
            attributes,
        }));
    }
    let s = Structure::GsaPolicy;
    let (second, mut body) = substructure::read(r, s)?;
    if !substructure::is_sa_protocol(first) {
        return Ok(GroupPolicy::Unknown {
            protocol: first,
            octet1: second,
            data: body.rest().to_vec(),
        });
    }
    let spi = body.take(usize::from(second), s)?.to_vec();
    let src_ts = TrafficSelector::decode(&mut body)?;
    let dst_ts = TrafficSelector::decode(&mut body)?;
    let transforms = Transform::decode_until_last(&mut body)?;
    let attributes = Attribute::decode_all(&mut body)?;
    Ok(GroupPolicy::Sa(GsaPolicy {
        protocol: first,
        spi,
        src_ts,
        dst_ts,
        transforms,
        attributes,
    }))
}

fn encode_group_policy(p: &GroupPolicy, w: &mut Writer) -> Result<(), EncodeError> {
    match p {
        GroupPolicy::Gw(g) => substructure::write(
            w,
            ProtocolId::NONE.0,
            g.reserved,
            Structure::GwPolicy,
            |w| g.attributes.iter().try_for_each(|a| a.encode(w)),
        ),
        GroupPolicy::Sa(s) => {
            let st = Structure::GsaPolicy;
            substructure::check_sa_protocol(s.protocol, st)?;
            if s.transforms.is_empty() {
                return Err(EncodeError::OutOfRange {
                    structure: st,
                    field: "number of GSA Transforms",
                    value: 0,
                });
            }
            let spi_size = substructure::spi_size(&s.spi, st)?;
            substructure::write(w, s.protocol.0, spi_size, st, |w| {
                w.bytes(&s.spi);
                s.src_ts.encode(w)?;
                s.dst_ts.encode(w)?;
                Transform::encode_list(&s.transforms, w)?;
                s.attributes.iter().try_for_each(|a| a.encode(w))
            })
        }
        GroupPolicy::Unknown {
            protocol,
            octet1,
            data,
        } => {
            substructure::check_opaque(*protocol, Structure::GsaPolicy)?;
            substructure::write(w, protocol.0, *octet1, Structure::GsaPolicy, |w| {
                w.bytes(data);
                Ok(())
            })
        }
    }
}
