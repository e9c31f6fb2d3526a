//! Traffic selectors (RFC 7296 §3.13), used by TS payloads and by GSA policies
//! (RFC 9838 §4.4.2, one source and one destination selector).

use super::enums::TsType;
use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::reader::Reader;
use super::writer::Writer;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One traffic selector substructure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrafficSelector {
    /// TS_IPV4_ADDR_RANGE (7).
    Ipv4 {
        /// IP Protocol ID (0 = any).
        ip_protocol: u8,
        /// Start Port.
        start_port: u16,
        /// End Port.
        end_port: u16,
        /// Starting Address.
        start: Ipv4Addr,
        /// Ending Address.
        end: Ipv4Addr,
    },
    /// TS_IPV6_ADDR_RANGE (8).
    Ipv6 {
        /// IP Protocol ID (0 = any).
        ip_protocol: u8,
        /// Start Port.
        start_port: u16,
        /// End Port.
        end_port: u16,
        /// Starting Address.
        start: Ipv6Addr,
        /// Ending Address.
        end: Ipv6Addr,
    },
    /// Any other selector type, kept opaque: the octet after TS Type and the octets after
    /// Selector Length.
    Other {
        /// TS Type.
        ts_type: TsType,
        /// Second octet (IP Protocol ID or RESERVED, depending on the type).
        octet1: u8,
        /// Remaining octets.
        data: Vec<u8>,
    },
}

impl TrafficSelector {
    /// A selector for one IPv4 address, one protocol and one port (`port` 0 = any port).
    pub fn ipv4_host(addr: Ipv4Addr, ip_protocol: u8, port: Option<u16>) -> Self {
        let (start_port, end_port) = match port {
            Some(p) => (p, p),
            None => (0, 0xffff),
        };
        TrafficSelector::Ipv4 {
            ip_protocol,
            start_port,
            end_port,
            start: addr,
            end: addr,
        }
    }

    /// TS Type of this selector.
    pub fn ts_type(&self) -> TsType {
        match self {
            TrafficSelector::Ipv4 { .. } => TsType::TS_IPV4_ADDR_RANGE,
            TrafficSelector::Ipv6 { .. } => TsType::TS_IPV6_ADDR_RANGE,
            TrafficSelector::Other { ts_type, .. } => *ts_type,
        }
    }

    /// Decodes one selector.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::TrafficSelector;
        let ts_type = TsType(r.u8(s)?);
        let octet1 = r.u8(s)?;
        let len_at = r.offset();
        let len = r.u16(s)? as usize;
        let mut body = r.sub_structure(len, 4, len_at, s)?;
        let want = match ts_type {
            TsType::TS_IPV4_ADDR_RANGE => Some(16),
            TsType::TS_IPV6_ADDR_RANGE => Some(40),
            _ => None,
        };
        if let Some(want) = want {
            if len != want {
                return Err(DecodeError {
                    structure: s,
                    offset: len_at,
                    kind: DecodeErrorKind::InvalidValue {
                        field: "Selector Length",
                        value: len as u64,
                    },
                });
            }
        }
        let ts = match ts_type {
            TsType::TS_IPV4_ADDR_RANGE => TrafficSelector::Ipv4 {
                ip_protocol: octet1,
                start_port: body.u16(s)?,
                end_port: body.u16(s)?,
                start: Ipv4Addr::from(body.array::<4>(s)?),
                end: Ipv4Addr::from(body.array::<4>(s)?),
            },
            TsType::TS_IPV6_ADDR_RANGE => TrafficSelector::Ipv6 {
                ip_protocol: octet1,
                start_port: body.u16(s)?,
                end_port: body.u16(s)?,
                start: Ipv6Addr::from(body.array::<16>(s)?),
                end: Ipv6Addr::from(body.array::<16>(s)?),
            },
            _ => TrafficSelector::Other {
                ts_type,
                octet1,
                data: body.rest().to_vec(),
            },
        };
        body.finish(s)?;
        Ok(ts)
    }

    /// Encodes one selector.
    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        let start = w.len();
        match self {
            TrafficSelector::Ipv4 {
                ip_protocol,
                start_port,
                end_port,
                start: a,
                end: b,
            } => encode_range(
                w,
                TsType::TS_IPV4_ADDR_RANGE,
                *ip_protocol,
                (*start_port, *end_port),
                &a.octets(),
                &b.octets(),
            ),
            TrafficSelector::Ipv6 {
                ip_protocol,
                start_port,
                end_port,
                start: a,
                end: b,
            } => encode_range(
                w,
                TsType::TS_IPV6_ADDR_RANGE,
                *ip_protocol,
                (*start_port, *end_port),
                &a.octets(),
                &b.octets(),
            ),
            TrafficSelector::Other {
                ts_type,
                octet1,
                data,
            } => {
                if matches!(
                    *ts_type,
                    TsType::TS_IPV4_ADDR_RANGE | TsType::TS_IPV6_ADDR_RANGE
                ) {
                    return Err(EncodeError::OutOfRange {
                        structure: Structure::TrafficSelector,
                        field: "TS Type (opaque form of an address range)",
                        value: u64::from(ts_type.0),
                    });
                }
                w.u8(ts_type.0);
                w.u8(*octet1);
                let mark = w.length16_placeholder(start);
                w.bytes(data);
                w.patch_length16(mark, Structure::TrafficSelector)?;
            }
        }
        Ok(())
    }
}

/// Writes an address-range selector: type, protocol, Selector Length, ports, addresses.
fn encode_range(
    w: &mut Writer,
    ts_type: TsType,
    ip_protocol: u8,
    (start_port, end_port): (u16, u16),
    start: &[u8],
    end: &[u8],
) {
    w.u8(ts_type.0);
    w.u8(ip_protocol);
    // 8 octets of header and ports, then two addresses: 16 for IPv4, 40 for IPv6.
    w.u16(8 + 2 * start.len() as u16);
    w.u16(start_port);
    w.u16(end_port);
    w.bytes(start);
    w.bytes(end);
}

/// A TS payload body (RFC 7296 §3.13).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TsPayload {
    /// The three RESERVED octets after Number of TSs.
    pub reserved: [u8; 3],
    /// Selectors in wire order.
    pub selectors: Vec<TrafficSelector>,
}

impl TsPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::TsPayload;
        let count_at = r.offset();
        let count = r.u8(s)? as usize;
        let reserved = r.array(s)?;
        let mut selectors = Vec::with_capacity(count.min(r.remaining() / 8));
        while !r.is_empty() {
            selectors.push(TrafficSelector::decode(r)?);
        }
        if selectors.len() != count {
            return Err(DecodeError {
                structure: s,
                offset: count_at,
                kind: DecodeErrorKind::CountMismatch {
                    field: "Number of TSs",
                    declared: count,
                    found: selectors.len(),
                },
            });
        }
        Ok(TsPayload {
            reserved,
            selectors,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8_len(self.selectors.len(), Structure::TsPayload, "Number of TSs")?;
        w.bytes(&self.reserved);
        for t in &self.selectors {
            t.encode(w)?;
        }
        Ok(())
    }
}
