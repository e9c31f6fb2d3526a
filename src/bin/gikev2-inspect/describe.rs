//! One [`Node`] per payload and substructure: IKEv2 payloads (RFC 7296 §3) and the
//! G-IKEv2 ones (RFC 9838 §4: IDg, SAg, GSA policies, GW policy, KD key bags).
//!
//! Key-like octets (KE data, nonces, AUTH data, wrapped keys, AUTH_KEY) appear as
//! lengths unless `show_keys` is set; identities, SPIs and algorithm identifiers are
//! always shown.

use crate::der;
use crate::keymat::{self, Needs};
use crate::render::{hex, is_printable, printable, Json, Node};
use gikev2::wire::{
    transform_id_name, AttrValue, Attribute, AuthMethod, AuthPayload, CertPayload, DeletePayload,
    EncryptedFragment, EncryptedPayload, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, GsaAttrType,
    GsaPayload, GsaPolicy, GwPolicy, GwpAttrType, IdPayload, IdType, KdPayload, KeId, KePayload,
    KeyBag, MemberKeyBag, MemberKeyBagAttr, NotifyPayload, NotifyType, Payload, PayloadBody,
    PayloadType, ProtocolId, SaPayload, SignatureAuthData, TrafficSelector, Transform,
    TransformAttrType, TsPayload, WrappedKey,
};
use std::fmt::Display;

/// How to describe payloads of one message.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// Show key-like octets in hex.
    pub show_keys: bool,
    /// SA payloads are SAg (an SA in a GSA_AUTH or GSA_REGISTRATION request).
    pub sag: bool,
    /// KEYMAT needs of the GSA policies travelling with the KD payload, if any.
    pub needs: Option<&'a Needs>,
    /// The KWA that wraps the keys of this message, when known.
    pub kwa: Option<u16>,
}

/// `NAME(n)` for a known code point, else the number.
fn named<T: Display>(v: T) -> String {
    v.to_string()
}

/// Adds `key` (number) and `key_name` (IANA name or null).
fn enum_fields(n: &mut Node, key: &str, value: u64, name: Option<&str>) {
    n.set(key, value);
    n.set(&format!("{key}_name"), name.map(str::to_string));
}

/// Hex dump lines of key-like octets, when allowed.
fn key_octets(n: &mut Node, key: &str, bytes: &[u8], ctx: &Ctx) {
    if ctx.show_keys {
        n.set(key, hex(bytes));
        for l in crate::render::hexdump(bytes, 0, bytes.len(), None) {
            n.line(l);
        }
    }
}

/// An SPI: `SPIi:SPIr` halves for the 16-octet Rekey SA SPI, `0x..` for 4 octets.
pub fn spi_text(spi: &[u8]) -> String {
    match spi.len() {
        0 => "none".into(),
        16 => format!("{}:{}", hex(&spi[..8]), hex(&spi[8..])),
        _ => format!("0x{}", hex(spi)),
    }
}

/// The display name of a payload: `SAg`, `N(GROUP_SENDER)`, `IDg`, ...
pub fn display_name(p: &Payload, ctx: &Ctx) -> String {
    match &p.body {
        PayloadBody::Sa(_) if ctx.sag => "SAg".into(),
        PayloadBody::Notify(n) => match n.notify_type.name() {
            Some(name) => format!("N({name})"),
            None => format!("N({})", n.notify_type.0),
        },
        PayloadBody::Nonce(_) => "Nonce".into(),
        b => match b.payload_type().name() {
            Some(name) => name.to_string(),
            None => format!("payload type {}", b.payload_type().0),
        },
    }
}

/// Describes one payload; `offset` and `len` locate it in its buffer.
pub fn payload(p: &Payload, offset: usize, len: usize, ctx: &Ctx) -> Node {
    let t = p.body.payload_type();
    let name = display_name(p, ctx);
    let mut n = Node::new("");
    n.set("name", name.clone());
    enum_fields(&mut n, "payload_type", t.0.into(), t.name());
    n.set("critical", p.critical);
    n.set("offset", offset);
    n.set("length", len);
    let summary = match &p.body {
        PayloadBody::Sa(sa) => sa_payload(&mut n, sa),
        PayloadBody::Ke(ke) => ke_payload(&mut n, ke, ctx),
        PayloadBody::IdI(id) | PayloadBody::IdR(id) | PayloadBody::IdG(id) => {
            id_payload(&mut n, id)
        }
        PayloadBody::Cert(c) => cert_payload(&mut n, c, false),
        PayloadBody::CertReq(c) => cert_payload(&mut n, c, true),
        PayloadBody::Auth(a) => auth_payload(&mut n, a, ctx),
        PayloadBody::Nonce(d) => {
            n.set("data_length", d.len());
            key_octets(&mut n, "data", d, ctx);
            format!("{} octets of nonce data", d.len())
        }
        PayloadBody::Notify(nt) => notify_payload(&mut n, nt),
        PayloadBody::Delete(d) => delete_payload(&mut n, d),
        PayloadBody::TsI(ts) | PayloadBody::TsR(ts) => ts_payload(&mut n, ts),
        PayloadBody::Sk(sk) => sk_payload(&mut n, sk),
        PayloadBody::Skf(f) => skf_payload(&mut n, f),
        PayloadBody::Gsa(g) => gsa_payload(&mut n, g, ctx),
        PayloadBody::Kd(k) => kd_payload(&mut n, k, ctx),
        PayloadBody::Raw { payload_type, data } => raw_payload(&mut n, *payload_type, data, ctx),
    };
    let crit = if p.critical { ", critical" } else { "" };
    let reserved = if p.reserved != 0 {
        format!(", RESERVED bits 0x{:02x}", p.reserved)
    } else {
        String::new()
    };
    n.text = format!("{name} ({}) {len} octets{crit}{reserved}: {summary}", t.0);
    n
}

fn sa_payload(n: &mut Node, sa: &SaPayload) -> String {
    let props: Vec<Node> = sa.proposals.iter().map(proposal).collect();
    n.push_many("proposals", props);
    plural(sa.proposals.len(), "proposal")
}

fn plural(k: usize, what: &str) -> String {
    if k == 1 {
        format!("1 {what}")
    } else {
        format!("{k} {what}s")
    }
}

fn proposal(p: &gikev2::wire::Proposal) -> Node {
    let mut n = Node::new(format!(
        "proposal {}: {}{}, {}",
        p.number,
        named(p.protocol),
        if p.spi.is_empty() {
            String::new()
        } else {
            format!(" SPI {}", spi_text(&p.spi))
        },
        plural(p.transforms.len(), "transform")
    ));
    n.set("number", p.number);
    enum_fields(&mut n, "protocol", p.protocol.0.into(), p.protocol.name());
    n.set("spi", (!p.spi.is_empty()).then(|| hex(&p.spi)));
    n.push_many("transforms", p.transforms.iter().map(transform).collect());
    n
}

/// Describes a transform (RFC 7296 §3.3.2; KWA and GCAUTH from RFC 9838 §4.4.2.1).
pub fn transform(t: &Transform) -> Node {
    let type_name = t
        .transform_type
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("transform type {}", t.transform_type.0));
    let id = match transform_id_name(t.transform_type, t.id) {
        Some(name) => format!("{name}({})", t.id),
        None => t.id.to_string(),
    };
    let key_len = t.key_length();
    let mut text = format!("{type_name}: {id}");
    if let Some(k) = key_len {
        text.push_str(&format!(", Key Length {k}"));
    }
    let mut n = Node::new(text);
    enum_fields(
        &mut n,
        "transform_type",
        t.transform_type.0.into(),
        t.transform_type.name(),
    );
    enum_fields(
        &mut n,
        "transform_id",
        t.id.into(),
        transform_id_name(t.transform_type, t.id),
    );
    n.set("key_length", key_len);
    let attrs: Vec<Node> = t
        .attributes
        .iter()
        .filter(|a| !(a.attr_type == TransformAttrType::KEY_LENGTH && a.tv_value().is_some()))
        .map(transform_attribute)
        .collect();
    n.push_many("attributes", attrs);
    n
}

fn transform_attribute(a: &Attribute<TransformAttrType>) -> Node {
    match (&a.value, a.attr_type) {
        (AttrValue::Tlv(v), TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER) => {
            let alg = der::algorithm_name(v);
            let mut n = Node::new(format!(
                "Signature Algorithm Identifier (18): {}{}",
                hex(v),
                match &alg {
                    Some(name) => format!(" = {name}"),
                    None => " (not a DER AlgorithmIdentifier)".into(),
                }
            ));
            enum_fields(&mut n, "attribute_type", 18, a.attr_type.name());
            n.set("value", hex(v));
            n.set("algorithm", alg);
            n
        }
        _ => generic_attribute(a.attr_type.0, a.attr_type.name(), &a.value),
    }
}

fn generic_attribute(t: u16, name: Option<&str>, v: &AttrValue) -> Node {
    let label = match name {
        Some(nm) => format!("{nm}({t})"),
        None => format!("attribute type {t}"),
    };
    let mut n = Node::new(match v {
        AttrValue::Tv(x) => format!("{label}: TV value {x}"),
        AttrValue::Tlv(b) => format!("{label}: TLV, {} octets: {}", b.len(), hex(b)),
    });
    enum_fields(&mut n, "attribute_type", t.into(), name);
    match v {
        AttrValue::Tv(x) => n.set("value", *x),
        AttrValue::Tlv(b) => n.set("value", hex(b)),
    }
    n
}

fn ke_payload(n: &mut Node, ke: &KePayload, ctx: &Ctx) -> String {
    let g = KeId(ke.group);
    enum_fields(n, "group", ke.group.into(), g.name());
    n.set("data_length", ke.data.len());
    key_octets(n, "data", &ke.data, ctx);
    format!(
        "{}, {} octets of key exchange data",
        named(g),
        ke.data.len()
    )
}

/// Human-readable identity (RFC 7296 §3.5; RFC 9838 §4.2 for IDg).
pub fn id_value(id: &IdPayload) -> String {
    let d = &id.data;
    match id.id_type {
        IdType::ID_IPV4_ADDR | IdType::ID_IPV6_ADDR if d.len() == 4 || d.len() == 16 => {
            let prefix_ok = (id.id_type == IdType::ID_IPV4_ADDR) == (d.len() == 4);
            if prefix_ok {
                id.display_value()
            } else {
                format!("{} (wrong length for the ID type)", hex(d))
            }
        }
        IdType::ID_FQDN | IdType::ID_RFC822_ADDR => printable(d),
        IdType::ID_KEY_ID if is_printable(d) => format!("\"{}\"", printable(d)),
        IdType::ID_DER_ASN1_DN => der::dn_string(d).unwrap_or_else(|| hex(d)),
        IdType::ID_NULL => "(null identity)".into(),
        _ => hex(d),
    }
}

fn id_payload(n: &mut Node, id: &IdPayload) -> String {
    enum_fields(n, "id_type", id.id_type.0.into(), id.id_type.name());
    let v = id_value(id);
    n.set("value", v.clone());
    n.set("data", hex(&id.data));
    format!("{} {v}", named(id.id_type))
}

fn cert_payload(n: &mut Node, c: &CertPayload, req: bool) -> String {
    enum_fields(n, "encoding", c.encoding.0.into(), c.encoding.name());
    n.set("data_length", c.data.len());
    if req && !c.data.is_empty() && c.data.len() % 20 == 0 {
        n.set("ca_hashes", c.data.len() / 20);
        format!(
            "{}, {}",
            named(c.encoding),
            plural(c.data.len() / 20, "CA key hash")
        )
    } else {
        format!("{}, {} octets", named(c.encoding), c.data.len())
    }
}

fn auth_payload(n: &mut Node, a: &AuthPayload, ctx: &Ctx) -> String {
    enum_fields(n, "method", a.method.0.into(), a.method.name());
    n.set("data_length", a.data.len());
    let s = if a.method == AuthMethod::DIGITAL_SIGNATURE {
        match SignatureAuthData::decode(&a.data) {
            Ok(sig) => {
                let alg = der::algorithm_name(&sig.algorithm_identifier);
                n.set("algorithm_identifier", hex(&sig.algorithm_identifier));
                n.set("algorithm", alg.clone());
                n.set("signature_length", sig.signature.len());
                format!(
                    "{}: {}, {}-octet signature",
                    named(a.method),
                    alg.unwrap_or_else(|| format!(
                        "AlgorithmIdentifier {}",
                        hex(&sig.algorithm_identifier)
                    )),
                    sig.signature.len()
                )
            }
            Err(e) => {
                n.set("warning", format!("malformed RFC 7427 data: {e}"));
                format!("{}: malformed RFC 7427 data: {e}", named(a.method))
            }
        }
    } else {
        format!(
            "{}, {} octets of authentication data",
            named(a.method),
            a.data.len()
        )
    };
    key_octets(n, "data", &a.data, ctx);
    s
}

fn notify_payload(n: &mut Node, nt: &NotifyPayload) -> String {
    let t = nt.notify_type;
    enum_fields(n, "notify_type", t.0.into(), t.name());
    n.set("error", t.is_error());
    enum_fields(n, "protocol", nt.protocol.0.into(), nt.protocol.name());
    n.set("spi", (!nt.spi.is_empty()).then(|| hex(&nt.spi)));
    n.set("data_length", nt.data.len());
    let mut s = named(t);
    if t.is_error() {
        s.push_str(" (error)");
    }
    if nt.protocol != ProtocolId::NONE || !nt.spi.is_empty() {
        s.push_str(&format!(
            ", protocol {}, SPI {}",
            named(nt.protocol),
            spi_text(&nt.spi)
        ));
    }
    let d = &nt.data;
    let detail = match t {
        NotifyType::GROUP_SENDER => match nt.group_sender_count() {
            Some(c) => {
                n.set("sender_id_count", c);
                format!("{} requested", plural(c as usize, "Sender-ID"))
            }
            None => {
                n.set(
                    "warning",
                    format!("GROUP_SENDER data is {} octets, 4 expected", d.len()),
                );
                format!(
                    "malformed data: {} octets, 4 expected (RFC 9838 §4.7.4)",
                    d.len()
                )
            }
        },
        NotifyType::INVALID_KE_PAYLOAD if d.len() == 2 => {
            let g = KeId(u16::from_be_bytes([d[0], d[1]]));
            enum_fields(n, "group", g.0.into(), g.name());
            format!("accepted group {}", named(g))
        }
        NotifyType::SIGNATURE_HASH_ALGORITHMS if d.len() % 2 == 0 => {
            let algs: Vec<String> = d
                .chunks(2)
                .map(|c| {
                    let v = u16::from_be_bytes([c[0], c[1]]);
                    match v {
                        1 => "SHA1(1)".into(),
                        2 => "SHA2_256(2)".into(),
                        3 => "SHA2_384(3)".into(),
                        4 => "SHA2_512(4)".into(),
                        5 => "Identity(5)".into(),
                        o => o.to_string(),
                    }
                })
                .collect();
            n.set("hash_algorithms", algs.clone());
            algs.join(", ")
        }
        NotifyType::NAT_DETECTION_SOURCE_IP | NotifyType::NAT_DETECTION_DESTINATION_IP => {
            n.set("data", hex(d));
            format!("{}-octet hash {}", d.len(), hex(d))
        }
        NotifyType::SET_WINDOW_SIZE if d.len() == 4 => {
            let w = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
            n.set("window_size", w);
            format!("window size {w}")
        }
        _ if d.is_empty() => String::new(),
        _ => {
            n.set("data", hex(d));
            let shown = if d.len() > 64 {
                format!("{}...", hex(&d[..64]))
            } else {
                hex(d)
            };
            format!("{} octets of data: {shown}", d.len())
        }
    };
    if !detail.is_empty() {
        s.push_str(", ");
        s.push_str(&detail);
    }
    s
}

fn delete_payload(n: &mut Node, d: &DeletePayload) -> String {
    enum_fields(n, "protocol", d.protocol.0.into(), d.protocol.name());
    n.set("spi_size", d.spi_size);
    let spis: Vec<String> = d.spis.iter().map(|s| spi_text(s)).collect();
    n.set("spis", spis.clone());
    let mut s = format!(
        "{}, {} of {} octets",
        named(d.protocol),
        plural(d.spis.len(), "SPI"),
        d.spi_size
    );
    if !spis.is_empty() {
        s.push_str(": ");
        s.push_str(&spis.join(", "));
    }
    if d.spis.iter().all(|s| s.iter().all(|b| *b == 0)) && !d.spis.is_empty() {
        s.push_str(" (SPI 0: every SA of the protocol, RFC 9838 §2.4.3)");
    }
    s
}

fn ip_proto_name(p: u8) -> String {
    match p {
        0 => "any".into(),
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        o => format!("proto{o}"),
    }
}

/// A traffic selector as `239.192.0.1/udp/848`, `10.0.0.0-10.0.0.255`, `any`.
pub fn ts_text(ts: &TrafficSelector) -> String {
    fn assemble(addr: String, proto: u8, sp: u16, ep: u16) -> String {
        let port = if sp == ep {
            sp.to_string()
        } else if sp == 0 && ep == 0xffff {
            "any".to_string()
        } else {
            format!("{sp}-{ep}")
        };
        match (proto, port.as_str()) {
            (0, "any") => addr,
            (_, "any") => format!("{addr}/{}", ip_proto_name(proto)),
            _ => format!("{addr}/{}/{port}", ip_proto_name(proto)),
        }
    }
    match ts {
        TrafficSelector::Ipv4 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => {
            let addr = if start == end {
                start.to_string()
            } else if start.is_unspecified() && end.is_broadcast() {
                "any".into()
            } else {
                format!("{start}-{end}")
            };
            assemble(addr, *ip_protocol, *start_port, *end_port)
        }
        TrafficSelector::Ipv6 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => {
            let addr = if start == end {
                start.to_string()
            } else if start.is_unspecified() && end.octets() == [0xff; 16] {
                "any6".into()
            } else {
                format!("{start}-{end}")
            };
            assemble(addr, *ip_protocol, *start_port, *end_port)
        }
        TrafficSelector::Other {
            ts_type,
            octet1,
            data,
        } => format!(
            "{} (second octet {octet1}, {} octets)",
            named(*ts_type),
            data.len()
        ),
    }
}

/// A traffic selector node, labelled `label`.
pub fn ts_node(label: &str, ts: &TrafficSelector) -> Node {
    let mut n = Node::new(format!("{label}: {}", ts_text(ts)));
    let t = ts.ts_type();
    enum_fields(&mut n, "ts_type", t.0.into(), t.name());
    n.set("text", ts_text(ts));
    match ts {
        TrafficSelector::Ipv4 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => {
            n.set("ip_protocol", *ip_protocol);
            n.set("start_port", *start_port);
            n.set("end_port", *end_port);
            n.set("start_address", start.to_string());
            n.set("end_address", end.to_string());
        }
        TrafficSelector::Ipv6 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => {
            n.set("ip_protocol", *ip_protocol);
            n.set("start_port", *start_port);
            n.set("end_port", *end_port);
            n.set("start_address", start.to_string());
            n.set("end_address", end.to_string());
        }
        TrafficSelector::Other { data, .. } => n.set("data", hex(data)),
    }
    n
}

fn ts_payload(n: &mut Node, ts: &TsPayload) -> String {
    let sel: Vec<Node> = ts
        .selectors
        .iter()
        .map(|t| ts_node("selector", t))
        .collect();
    n.push_many("selectors", sel);
    let list: Vec<String> = ts.selectors.iter().map(ts_text).collect();
    format!(
        "{}: {}",
        plural(ts.selectors.len(), "selector"),
        list.join(", ")
    )
}

fn sk_payload(n: &mut Node, sk: &EncryptedPayload) -> String {
    enum_fields(
        n,
        "inner_first",
        sk.inner_first.0.into(),
        sk.inner_first.name(),
    );
    n.set("encrypted_length", sk.body.len());
    format!(
        "encrypted, {} octets (IV, ciphertext, ICV), first inner payload {}",
        sk.body.len(),
        named(sk.inner_first)
    )
}

fn skf_payload(n: &mut Node, f: &EncryptedFragment) -> String {
    enum_fields(
        n,
        "inner_first",
        f.inner_first.0.into(),
        f.inner_first.name(),
    );
    n.set("fragment_number", f.fragment_number);
    n.set("total_fragments", f.total_fragments);
    n.set("encrypted_length", f.body.len());
    let first = if f.inner_first != PayloadType::NONE {
        format!(", first inner payload {}", named(f.inner_first))
    } else {
        String::new()
    };
    format!(
        "fragment {} of {}, encrypted, {} octets{first}",
        f.fragment_number,
        f.total_fragments,
        f.body.len()
    )
}

fn gsa_payload(n: &mut Node, g: &GsaPayload, ctx: &Ctx) -> String {
    let nodes: Vec<Node> = g.policies.iter().map(|p| group_policy(p, ctx)).collect();
    n.push_many("policies", nodes);
    let kinds: Vec<&str> = g
        .policies
        .iter()
        .map(|p| match p {
            GroupPolicy::Sa(s) if s.protocol == ProtocolId::GIKE_UPDATE => "KEK",
            GroupPolicy::Sa(_) => "TEK",
            GroupPolicy::Gw(_) => "GW",
            GroupPolicy::Unknown { .. } => "unknown",
        })
        .collect();
    format!(
        "{} ({})",
        plural(g.policies.len(), "group policy").replace("policys", "policies"),
        kinds.join(", ")
    )
}

fn group_policy(p: &GroupPolicy, _ctx: &Ctx) -> Node {
    match p {
        GroupPolicy::Sa(s) => gsa_policy(s),
        GroupPolicy::Gw(g) => gw_policy(g),
        GroupPolicy::Unknown {
            protocol,
            octet1,
            data,
        } => {
            let mut n = Node::new(format!(
                "unknown group policy substructure: first octet {}, second octet {octet1}, {} octets",
                protocol.0,
                data.len()
            ));
            n.set("kind", "unknown");
            enum_fields(&mut n, "protocol", protocol.0.into(), protocol.name());
            n.set("data", hex(data));
            n
        }
    }
}

fn gsa_policy(s: &GsaPolicy) -> Node {
    let (kind, role) = if s.protocol == ProtocolId::GIKE_UPDATE {
        ("KEK", "Rekey SA")
    } else {
        ("TEK", "Data-Security SA")
    };
    let mut n = Node::new(format!(
        "GSA {kind} policy ({role}): {}, SPI {}",
        named(s.protocol),
        spi_text(&s.spi)
    ));
    n.set("kind", kind.to_ascii_lowercase());
    enum_fields(&mut n, "protocol", s.protocol.0.into(), s.protocol.name());
    n.set("spi", hex(&s.spi));
    n.push_one("src_ts", ts_node("source", &s.src_ts));
    n.push_one("dst_ts", ts_node("destination", &s.dst_ts));
    n.push_many("transforms", s.transforms.iter().map(transform).collect());
    n.push_many(
        "attributes",
        s.attributes
            .iter()
            .map(|a| gsa_attribute(a, s.spi.len()))
            .collect(),
    );
    n
}

fn u32_value(v: &AttrValue) -> Option<u32> {
    match v {
        AttrValue::Tlv(b) => <[u8; 4]>::try_from(b.as_slice())
            .ok()
            .map(u32::from_be_bytes),
        AttrValue::Tv(_) => None,
    }
}

fn gsa_attribute(a: &Attribute<GsaAttrType>, spi_len: usize) -> Node {
    let t = a.attr_type;
    let label = named(t);
    let (text, value): (String, Json) = match t {
        GsaAttrType::GSA_KEY_LIFETIME => match u32_value(&a.value) {
            Some(s) => (format!("{label}: {s} s{}", duration(s)), s.into()),
            None => return malformed_attr(t.0, t.name(), &a.value, "a 4-octet TLV"),
        },
        GsaAttrType::GSA_INITIAL_MESSAGE_ID => match u32_value(&a.value) {
            Some(m) => (format!("{label}: {m}"), m.into()),
            None => return malformed_attr(t.0, t.name(), &a.value, "a 4-octet TLV"),
        },
        GsaAttrType::GSA_NEXT_SPI => match &a.value {
            AttrValue::Tlv(b) if b.len() == spi_len => {
                (format!("{label}: {}", spi_text(b)), hex(b).into())
            }
            _ => {
                return malformed_attr(
                    t.0,
                    t.name(),
                    &a.value,
                    &format!("a TLV of the SPI size ({spi_len} octets)"),
                )
            }
        },
        _ => return generic_attribute(t.0, t.name(), &a.value),
    };
    let mut n = Node::new(text);
    enum_fields(&mut n, "attribute_type", t.0.into(), t.name());
    n.set("value", value);
    n
}

fn malformed_attr(t: u16, name: Option<&str>, v: &AttrValue, expected: &str) -> Node {
    let mut n = generic_attribute(t, name, v);
    n.text
        .push_str(&format!(" (malformed: expected {expected})"));
    n.set("warning", format!("malformed: expected {expected}"));
    n
}

/// ` (1d 2h 3m 4s)` for durations of a minute or more.
fn duration(s: u32) -> String {
    if s < 60 {
        return String::new();
    }
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if sec > 0 {
        parts.push(format!("{sec}s"));
    }
    format!(" ({})", parts.join(" "))
}

fn gw_policy(g: &GwPolicy) -> Node {
    let attrs: Vec<Node> = g
        .attributes
        .iter()
        .map(|a| {
            let t = a.attr_type;
            match (&a.value, t) {
                (AttrValue::Tv(v), GwpAttrType::GWP_ATD | GwpAttrType::GWP_DTD) => {
                    let mut n = Node::new(format!("{}: {v} s", named(t)));
                    enum_fields(&mut n, "attribute_type", t.0.into(), t.name());
                    n.set("value", *v);
                    n
                }
                (AttrValue::Tv(v), GwpAttrType::GWP_SENDER_ID_BITS) => {
                    let mut n = Node::new(format!("{}: {v} bits", named(t)));
                    enum_fields(&mut n, "attribute_type", t.0.into(), t.name());
                    n.set("value", *v);
                    n
                }
                (
                    AttrValue::Tlv(_),
                    GwpAttrType::GWP_ATD | GwpAttrType::GWP_DTD | GwpAttrType::GWP_SENDER_ID_BITS,
                ) => malformed_attr(t.0, t.name(), &a.value, "TV format"),
                _ => generic_attribute(t.0, t.name(), &a.value),
            }
        })
        .collect();
    let summary: Vec<String> = g
        .attributes
        .iter()
        .filter_map(|a| {
            let short = match a.attr_type {
                GwpAttrType::GWP_ATD => "ATD",
                GwpAttrType::GWP_DTD => "DTD",
                GwpAttrType::GWP_SENDER_ID_BITS => "SENDER_ID_BITS",
                _ => return None,
            };
            a.tv_value().map(|v| format!("{short} {v}"))
        })
        .collect();
    let mut n = Node::new(if summary.is_empty() {
        "GW policy (group-wide)".to_string()
    } else {
        format!("GW policy (group-wide): {}", summary.join(", "))
    });
    n.set("kind", "gw");
    if g.reserved != 0 {
        n.set("reserved", g.reserved);
    }
    n.push_many("attributes", attrs);
    n
}

fn kd_payload(n: &mut Node, k: &KdPayload, ctx: &Ctx) -> String {
    let bags: Vec<Node> = k.bags.iter().map(|b| key_bag(b, ctx)).collect();
    n.push_many("key_bags", bags);
    let kinds: Vec<String> = k
        .bags
        .iter()
        .map(|b| match b {
            KeyBag::Group(g) => format!("group {}", g.protocol.name().unwrap_or("?")),
            KeyBag::Member(_) => "member".into(),
            KeyBag::Unknown { .. } => "unknown".into(),
        })
        .collect();
    format!("{} ({})", plural(k.bags.len(), "key bag"), kinds.join(", "))
}

fn key_bag(b: &KeyBag, ctx: &Ctx) -> Node {
    match b {
        KeyBag::Group(g) => group_key_bag(g, ctx),
        KeyBag::Member(m) => member_key_bag(m, ctx),
        KeyBag::Unknown {
            protocol,
            octet1,
            data,
        } => {
            let mut n = Node::new(format!(
                "unknown key bag: first octet {}, second octet {octet1}, {} octets",
                protocol.0,
                data.len()
            ));
            n.set("kind", "unknown");
            enum_fields(&mut n, "protocol", protocol.0.into(), protocol.name());
            n.set("data_length", data.len());
            n
        }
    }
}

fn wrapped(label: &str, t: u16, name: Option<&str>, w: &WrappedKey, ctx: &Ctx) -> Node {
    let mut n = Node::new(format!(
        "{label}: key_id={} kwk_id={} wrapped {} octets{}",
        w.key_id,
        w.kwk_id,
        w.encrypted.len(),
        match (w.key_id, w.kwk_id) {
            (0, 0) => " (SA keying material under the default KWK)",
            (0, _) => " (SA keying material under a WRAP_KEY)",
            (_, 0) => " (intermediate KWK under the default KWK)",
            _ => " (intermediate KWK under another KWK)",
        }
    ));
    enum_fields(&mut n, "attribute_type", t.into(), name);
    n.set("key_id", w.key_id);
    n.set("kwk_id", w.kwk_id);
    n.set("wrapped_length", w.encrypted.len());
    key_octets(&mut n, "wrapped", &w.encrypted, ctx);
    n
}

fn group_key_bag(g: &GroupKeyBag, ctx: &Ctx) -> Node {
    let mut n = Node::new(format!(
        "Group Key Bag: {}, SPI {}",
        named(g.protocol),
        spi_text(&g.spi)
    ));
    n.set("kind", "group");
    enum_fields(&mut n, "protocol", g.protocol.0.into(), g.protocol.name());
    n.set("spi", hex(&g.spi));
    let need = ctx
        .needs
        .and_then(|m| m.get(&(g.protocol.0, g.spi.clone())));
    if ctx.needs.is_some() && need.is_none() {
        n.line("no GSA policy with this protocol and SPI in this message (or its transforms are unknown)");
    }
    let attrs = g
        .attributes
        .iter()
        .map(|a| match a {
            GroupKeyBagAttr::SaKey(w) => {
                let mut an = wrapped("SA_KEY(1)", 1, Some("SA_KEY"), w, ctx);
                if let (Some(need), 0) = (need, w.key_id) {
                    keymat_check(&mut an, need, ctx.kwa, w.encrypted.len());
                }
                an
            }
            GroupKeyBagAttr::Other(o) => {
                generic_attribute(o.attr_type.0, o.attr_type.name(), &o.value)
            }
        })
        .collect();
    n.push_many("attributes", attrs);
    n
}

/// Compares an SA_KEY's wrapped size with what its GSA policy needs.
fn keymat_check(n: &mut Node, need: &keymat::Need, kwa: Option<u16>, got: usize) {
    let Some(expected) = keymat::wrapped_len(kwa, need.len) else {
        return;
    };
    let ok = expected == got;
    let kwa_t = keymat::kwa_text(kwa);
    n.line(if ok {
        format!(
            "fits the GSA {} policy: {} octets of KEYMAT ({}) wrap to {expected} octets with {kwa_t}",
            need.kind, need.len, need.parts
        )
    } else {
        format!(
            "MISMATCH: the GSA {} policy needs {} octets of KEYMAT ({}), which wrap to {expected} octets with {kwa_t}, not {got}",
            need.kind, need.len, need.parts
        )
    });
    n.set(
        "keymat_check",
        Json::Obj(vec![
            ("policy".into(), Json::from(need.kind.to_ascii_lowercase())),
            ("keymat_length".into(), Json::from(need.len)),
            ("expected_wrapped_length".into(), Json::from(expected)),
            ("consistent".into(), Json::from(ok)),
        ]),
    );
}

fn member_key_bag(m: &MemberKeyBag, ctx: &Ctx) -> Node {
    let mut n = Node::new("Member Key Bag");
    n.set("kind", "member");
    let attrs = m
        .attributes
        .iter()
        .map(|a| match a {
            MemberKeyBagAttr::WrapKey(w) => wrapped("WRAP_KEY(1)", 1, Some("WRAP_KEY"), w, ctx),
            MemberKeyBagAttr::AuthKey(k) => {
                let desc = der::spki_description(k);
                let mut an = Node::new(format!(
                    "AUTH_KEY(2): SubjectPublicKeyInfo, {} octets, {}",
                    k.len(),
                    desc.clone()
                        .unwrap_or_else(|| "not a recognisable SubjectPublicKeyInfo".into())
                ));
                enum_fields(&mut an, "attribute_type", 2, Some("AUTH_KEY"));
                an.set("length", k.len());
                an.set("algorithm", desc);
                key_octets(&mut an, "value", k, ctx);
                an
            }
            MemberKeyBagAttr::GmSenderId(v) => {
                let id = (!v.is_empty() && v.len() <= 8)
                    .then(|| v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)));
                let mut sn = Node::new(match id {
                    Some(id) => format!("GM_SENDER_ID(3): {id}"),
                    None => format!(
                        "GM_SENDER_ID(3): {} octets: {} (not an integer of at most 8 octets)",
                        v.len(),
                        hex(v)
                    ),
                });
                enum_fields(&mut sn, "attribute_type", 3, Some("GM_SENDER_ID"));
                sn.set("value", id);
                sn.set("data", hex(v));
                sn
            }
            MemberKeyBagAttr::Other(o) => {
                generic_attribute(o.attr_type.0, o.attr_type.name(), &o.value)
            }
        })
        .collect();
    n.push_many("attributes", attrs);
    n
}

fn raw_payload(n: &mut Node, t: PayloadType, data: &[u8], ctx: &Ctx) -> String {
    n.set("data_length", data.len());
    match t {
        PayloadType::V => {
            n.set("data", hex(data));
            format!("Vendor ID, {} octets: {}", data.len(), hex(data))
        }
        _ => {
            key_octets(n, "data", data, ctx);
            if t.name().is_some() {
                format!("{} octets (not decoded)", data.len())
            } else {
                format!("unknown payload type, {} octets", data.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn ts_forms() {
        let host = TrafficSelector::ipv4_host(Ipv4Addr::new(239, 1, 1, 1), 17, Some(848));
        assert_eq!(ts_text(&host), "239.1.1.1/udp/848");
        let any = TrafficSelector::Ipv4 {
            ip_protocol: 0,
            start_port: 0,
            end_port: 0xffff,
            start: Ipv4Addr::UNSPECIFIED,
            end: Ipv4Addr::BROADCAST,
        };
        assert_eq!(ts_text(&any), "any");
        let udp_any = TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, None);
        assert_eq!(ts_text(&udp_any), "10.0.0.1/udp");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(30), "");
        assert_eq!(duration(86_400), " (1d)");
        assert_eq!(duration(3_661), " (1h 1m 1s)");
    }
}
