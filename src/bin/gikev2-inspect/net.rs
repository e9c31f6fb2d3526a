//! Link layer, IPv4/IPv6 and UDP: finds the IKE message in a captured frame.
//!
//! Link types: Ethernet (1, with 802.1Q/802.1ad tags), raw IP (101, 228, 229; also the
//! platform DLT values 12 and 14), Linux SLL (113) and SLL2 (276), BSD loopback/null (0)
//! and OpenBSD loop (108). IKE is UDP to or from port 500, 848 or 4500; on 4500 the
//! four zero octets of the non-ESP marker (RFC 3948 §2.2) precede IKE, anything else is
//! ESP, and the single octet 0xff is a NAT-keepalive (RFC 3948 §2.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// UDP ports that carry IKE: 500 and 4500 (RFC 7296 §2), 848 (RFC 9838 §2.1).
pub const IKE_PORTS: [u16; 3] = [500, 848, 4500];
/// The NAT-T port, where the non-ESP marker applies.
pub const NATT_PORT: u16 = 4500;

/// Addresses and ports of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
}

impl Endpoints {
    /// `a:p -> b:q`, with brackets around IPv6 addresses.
    pub fn describe(&self) -> String {
        fn ep(a: IpAddr, p: u16) -> String {
            match a {
                IpAddr::V4(v) => format!("{v}:{p}"),
                IpAddr::V6(v) => format!("[{v}]:{p}"),
            }
        }
        format!(
            "{} -> {}",
            ep(self.src, self.sport),
            ep(self.dst, self.dport)
        )
    }
}

/// What a frame holds, as far as this tool is concerned.
#[derive(Debug)]
pub enum Content<'a> {
    /// An IKE message (after the non-ESP marker, if any).
    Ike {
        /// Addresses and ports.
        ends: Endpoints,
        /// A non-ESP marker preceded the message.
        marker: bool,
        /// The message octets.
        data: &'a [u8],
        /// The UDP datagram is cut short: (octets present, octets the UDP header claims).
        short: Option<(usize, usize)>,
    },
    /// Something on an IKE port worth mentioning that is not decoded (ESP, keepalive,
    /// IP fragment).
    Skipped {
        /// Addresses and ports, when known.
        ends: Option<Endpoints>,
        /// What it is.
        text: String,
    },
    /// A frame that cannot be parsed far enough to tell whether it is IKE.
    Malformed(String),
    /// Not IKE traffic (silently counted).
    Other,
    /// The link type is not supported.
    UnsupportedLink(u32),
}

/// Finds the IKE message in a frame of the given link type.
pub fn decode(linktype: u32, data: &[u8]) -> Content<'_> {
    match linktype {
        1 => ethernet(data),
        101 | 12 | 14 => raw_ip(data),
        228 => ipv4(data),
        229 => ipv6(data),
        113 => sll(data),
        276 => sll2(data),
        0 => null(data, false),
        108 => null(data, true),
        other => Content::UnsupportedLink(other),
    }
}

fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

fn ethernet(d: &[u8]) -> Content<'_> {
    if d.len() < 14 {
        return Content::Malformed(format!(
            "Ethernet header truncated: {} of 14 octets",
            d.len()
        ));
    }
    let mut ethertype = be16(d, 12);
    let mut at = 14;
    // 802.1Q / 802.1ad / QinQ tags: TCI (2) then the inner EtherType (2).
    let mut tags = 0;
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        tags += 1;
        if d.len() < at + 4 || tags > 4 {
            return Content::Malformed(format!("VLAN tag truncated at frame offset {at}"));
        }
        ethertype = be16(d, at + 2);
        at += 4;
    }
    by_ethertype(ethertype, &d[at..])
}

fn by_ethertype(ethertype: u16, d: &[u8]) -> Content<'_> {
    match ethertype {
        0x0800 => ipv4(d),
        0x86dd => ipv6(d),
        _ => Content::Other,
    }
}

fn raw_ip(d: &[u8]) -> Content<'_> {
    match d.first().map(|b| b >> 4) {
        Some(4) => ipv4(d),
        Some(6) => ipv6(d),
        Some(v) => Content::Malformed(format!("raw IP frame with IP version {v}")),
        None => Content::Malformed("empty frame".into()),
    }
}

fn sll(d: &[u8]) -> Content<'_> {
    if d.len() < 16 {
        return Content::Malformed(format!(
            "Linux cooked (SLL) header truncated: {} of 16 octets",
            d.len()
        ));
    }
    by_ethertype(be16(d, 14), &d[16..])
}

fn sll2(d: &[u8]) -> Content<'_> {
    if d.len() < 20 {
        return Content::Malformed(format!(
            "Linux cooked (SLL2) header truncated: {} of 20 octets",
            d.len()
        ));
    }
    by_ethertype(be16(d, 0), &d[20..])
}

fn null(d: &[u8], network_order: bool) -> Content<'_> {
    if d.len() < 4 {
        return Content::Malformed(format!(
            "loopback header truncated: {} of 4 octets",
            d.len()
        ));
    }
    let raw = [d[0], d[1], d[2], d[3]];
    // DLT_NULL uses the capturing host's byte order; accept both.
    let fam = if network_order {
        u32::from_be_bytes(raw)
    } else {
        let le = u32::from_le_bytes(raw);
        if le < 0x1_0000 {
            le
        } else {
            u32::from_be_bytes(raw)
        }
    };
    match fam {
        2 => ipv4(&d[4..]),
        10 | 24 | 28 | 30 => ipv6(&d[4..]),
        _ => Content::Other,
    }
}

fn ipv4(d: &[u8]) -> Content<'_> {
    if d.len() < 20 {
        return Content::Malformed(format!("IPv4 header truncated: {} of 20 octets", d.len()));
    }
    if d[0] >> 4 != 4 {
        return Content::Malformed(format!("IPv4 header with version {}", d[0] >> 4));
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    if ihl < 20 || ihl > d.len() {
        return Content::Malformed(format!(
            "IPv4 header length {ihl} invalid for {} captured octets",
            d.len()
        ));
    }
    let total = usize::from(be16(d, 2));
    if total < ihl {
        return Content::Malformed(format!(
            "IPv4 total length {total} below the header length {ihl}"
        ));
    }
    let proto = d[9];
    let src = IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19]));
    if proto != 17 {
        return Content::Other;
    }
    let frag = be16(d, 6);
    let more = frag & 0x2000 != 0;
    let offset = usize::from(frag & 0x1fff) * 8;
    // Ethernet may pad short frames: the IP total length bounds the packet.
    let end = total.min(d.len());
    let payload = &d[ihl..end];
    let ip_short = (total > d.len()).then_some((d.len() - ihl, total - ihl));
    if more || offset != 0 {
        let id = be16(d, 4);
        let ports = if offset == 0 && payload.len() >= 4 {
            let (sp, dp) = (be16(payload, 0), be16(payload, 2));
            if !IKE_PORTS.contains(&sp) && !IKE_PORTS.contains(&dp) {
                return Content::Other;
            }
            Some(Endpoints {
                src,
                dst,
                sport: sp,
                dport: dp,
            })
        } else {
            None
        };
        let ep_text = match &ports {
            Some(e) => e.describe(),
            None => format!("{src} -> {dst}, UDP"),
        };
        return Content::Skipped {
            ends: ports,
            text: format!(
                "IPv4 fragment ({ep_text}, ID 0x{id:04x}, offset {offset}{}), skipped: \
                 IP reassembly is not supported",
                if more { ", more fragments" } else { ", last" }
            ),
        };
    }
    udp(src, dst, payload, ip_short)
}

fn ipv6(d: &[u8]) -> Content<'_> {
    if d.len() < 40 {
        return Content::Malformed(format!("IPv6 header truncated: {} of 40 octets", d.len()));
    }
    if d[0] >> 4 != 6 {
        return Content::Malformed(format!("IPv6 header with version {}", d[0] >> 4));
    }
    let plen = usize::from(be16(d, 4));
    let mut next = d[6];
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&d[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    let body = &d[40..];
    // Payload Length 0 means a jumbogram: use what was captured.
    let (end, ip_short) = if plen == 0 || plen > body.len() {
        (
            body.len(),
            (plen > body.len()).then_some((body.len(), plen)),
        )
    } else {
        (plen, None)
    };
    let mut rest = &body[..end];
    let mut consumed = 0usize;
    for _ in 0..8 {
        match next {
            17 => {
                let short = ip_short.map(|(have, want)| {
                    (have.saturating_sub(consumed), want.saturating_sub(consumed))
                });
                return udp(src, dst, rest, short);
            }
            0 | 43 | 60 => {
                if rest.len() < 2 {
                    return Content::Malformed("IPv6 extension header truncated".into());
                }
                let len = (usize::from(rest[1]) + 1) * 8;
                if rest.len() < len {
                    return Content::Malformed("IPv6 extension header truncated".into());
                }
                next = rest[0];
                rest = &rest[len..];
                consumed += len;
            }
            51 => {
                if rest.len() < 2 {
                    return Content::Malformed("IPv6 AH header truncated".into());
                }
                let len = (usize::from(rest[1]) + 2) * 4;
                if rest.len() < len {
                    return Content::Malformed("IPv6 AH header truncated".into());
                }
                next = rest[0];
                rest = &rest[len..];
                consumed += len;
            }
            44 => {
                if rest.len() < 8 {
                    return Content::Malformed("IPv6 fragment header truncated".into());
                }
                let off = usize::from(be16(rest, 2) >> 3) * 8;
                let more = rest[3] & 1 != 0;
                let ident = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
                if !more && off == 0 {
                    // Atomic fragment (RFC 6946): the whole datagram is here.
                    next = rest[0];
                    rest = &rest[8..];
                    consumed += 8;
                    continue;
                }
                if rest[0] != 17 && off == 0 {
                    return Content::Other;
                }
                return Content::Skipped {
                    ends: None,
                    text: format!(
                        "IPv6 fragment ({src} -> {dst}, ID 0x{ident:08x}, offset {off}{}), \
                         skipped: IP reassembly is not supported",
                        if more { ", more fragments" } else { ", last" }
                    ),
                };
            }
            _ => return Content::Other,
        }
    }
    Content::Other
}

fn udp(src: IpAddr, dst: IpAddr, d: &[u8], ip_short: Option<(usize, usize)>) -> Content<'_> {
    if d.len() < 8 {
        return Content::Malformed(format!("UDP header truncated: {} of 8 octets", d.len()));
    }
    let ends = Endpoints {
        src,
        dst,
        sport: be16(d, 0),
        dport: be16(d, 2),
    };
    if !IKE_PORTS.contains(&ends.sport) && !IKE_PORTS.contains(&ends.dport) {
        return Content::Other;
    }
    let ulen = usize::from(be16(d, 4));
    if ulen < 8 {
        return Content::Malformed(format!(
            "UDP length {ulen} below the 8-octet header ({})",
            ends.describe()
        ));
    }
    let (payload, short) = if ulen > d.len() {
        (&d[8..], Some((d.len() - 8, ulen - 8)))
    } else {
        (&d[8..ulen], None)
    };
    let short = short.or_else(|| ip_short.map(|(h, w)| (h.saturating_sub(8), w.saturating_sub(8))));
    if ends.sport == NATT_PORT || ends.dport == NATT_PORT {
        if payload == [0xff] {
            return Content::Skipped {
                ends: Some(ends),
                text: format!("NAT-keepalive ({})", ends.describe()),
            };
        }
        if payload.len() < 4 {
            return Content::Malformed(format!(
                "UDP payload on port 4500 of {} octets: too short for a non-ESP marker or ESP ({})",
                payload.len(),
                ends.describe()
            ));
        }
        if payload[..4] != [0, 0, 0, 0] {
            return Content::Skipped {
                ends: Some(ends),
                text: format!(
                    "ESP, skipped (SPI 0x{}, {} octets, {})",
                    crate::render::hex(&payload[..4]),
                    payload.len(),
                    ends.describe()
                ),
            };
        }
        return Content::Ike {
            ends,
            marker: true,
            data: &payload[4..],
            short,
        };
    }
    Content::Ike {
        ends,
        marker: false,
        data: payload,
        short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(sport: u16, dport: u16, payload: &[u8], frag: u16) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut v = vec![
            0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        v[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        v[6..8].copy_from_slice(&frag.to_be_bytes());
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn udp_4500_marker_esp_keepalive() {
        let m = ipv4_udp(4500, 4500, &[0, 0, 0, 0, 1, 2, 3], 0);
        match decode(101, &m) {
            Content::Ike { marker, data, .. } => {
                assert!(marker);
                assert_eq!(data, &[1, 2, 3]);
            }
            other => panic!("{other:?}"),
        }
        let esp = ipv4_udp(4500, 4500, &[0, 0, 1, 0, 9, 9], 0);
        assert!(
            matches!(decode(101, &esp), Content::Skipped { text, .. } if text.starts_with("ESP, skipped"))
        );
        let ka = ipv4_udp(4500, 4500, &[0xff], 0);
        assert!(
            matches!(decode(101, &ka), Content::Skipped { text, .. } if text.starts_with("NAT-keepalive"))
        );
        let other = ipv4_udp(53, 53, &[1], 0);
        assert!(matches!(decode(101, &other), Content::Other));
    }

    #[test]
    fn fragments_and_vlan() {
        let f = ipv4_udp(848, 848, &[1, 2, 3], 0x2000);
        assert!(
            matches!(decode(228, &f), Content::Skipped { text, .. } if text.contains("IPv4 fragment"))
        );
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        eth.extend_from_slice(&ipv4_udp(500, 500, &[7], 0));
        assert!(matches!(decode(1, &eth), Content::Ike { data: [7], .. }));
        // Truncations of every length never panic.
        for n in 0..eth.len() {
            let _ = decode(1, &eth[..n]);
            let _ = decode(113, &eth[..n]);
            let _ = decode(276, &eth[..n]);
            let _ = decode(0, &eth[..n]);
            let _ = decode(229, &eth[..n]);
        }
    }
}
