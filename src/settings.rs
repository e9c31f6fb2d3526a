//! The daemon's configuration settings (`key = value` pairs of one section) turned into a
//! key server group ([`GroupConfig`], section `groups.<name>`) or a member's membership
//! ([`MembershipConfig`], section `memberships.<name>`), as `docs/configuration.md`
//! describes them.
//!
//! Every error is a [`ConfigError`] naming the full option (`groups.video.policies.p1.encr`)
//! and what was expected. Unknown keys are errors, so a typo never silently falls back to
//! a default.

use crate::crypto::keywrap::Kwa;
use crate::crypto::sign::{SignatureAlg, SigningKey};
use crate::gcks::{DataPolicyConfig, DataProtocol, GcAuth, GroupConfig, RekeyPolicyConfig};
use crate::gm::{Acceptance, MembershipConfig, SenderRole};
use crate::identity::{Identity, IdentityPattern};
use crate::suite::EncrSpec;
use crate::wire::{EncrId, IntegId, SnId, TrafficSelector};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::gcks::ConfigError;

/// The `encr` names (docs/configuration.md "Algorithm names").
const ENCR: &[(&str, EncrSpec)] = &[
    ("aes128", EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 128)),
    ("aes192", EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 192)),
    ("aes256", EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256)),
    (
        "aes128gcm16",
        EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 128),
    ),
    (
        "aes192gcm16",
        EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 192),
    ),
    (
        "aes256gcm16",
        EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
    ),
    ("aes128ctr", EncrSpec::with_bits(EncrId::ENCR_AES_CTR, 128)),
    ("aes192ctr", EncrSpec::with_bits(EncrId::ENCR_AES_CTR, 192)),
    ("aes256ctr", EncrSpec::with_bits(EncrId::ENCR_AES_CTR, 256)),
    (
        "chacha20poly1305",
        EncrSpec::fixed(EncrId::ENCR_CHACHA20_POLY1305),
    ),
    ("null", EncrSpec::fixed(EncrId::ENCR_NULL)),
];

/// The `integ` names; `none` is handled by the callers.
const INTEG: &[(&str, IntegId)] = &[
    ("sha256", IntegId::AUTH_HMAC_SHA2_256_128),
    ("sha384", IntegId::AUTH_HMAC_SHA2_384_192),
    ("sha512", IntegId::AUTH_HMAC_SHA2_512_256),
    ("sha1", IntegId::AUTH_HMAC_SHA1_96),
    ("aes128gmac", IntegId::AUTH_AES_128_GMAC),
    ("aes192gmac", IntegId::AUTH_AES_192_GMAC),
    ("aes256gmac", IntegId::AUTH_AES_256_GMAC),
];

const KWA: &[(&str, Kwa)] = &[
    ("kw5649_128", Kwa::Kw5649_128),
    ("kw5649_192", Kwa::Kw5649_192),
    ("kw5649_256", Kwa::Kw5649_256),
];

const SN: &[(&str, SnId)] = &[
    ("seq32", SnId::SEQ32),
    ("unspecified32", SnId::UNSPECIFIED32),
];

const SIGNATURE: &[(&str, SignatureAlg)] = &[
    ("ed25519", SignatureAlg::Ed25519),
    ("ecdsa256", SignatureAlg::EcdsaP256Sha256),
    ("rsapss256", SignatureAlg::RsaPssSha256),
];

/// Keys of `groups.<name>` other than `policies.<p>.*`.
const GROUP_KEYS: &[&str] = &[
    "id",
    "members",
    "capacity",
    "sender_id_bits",
    "max_sender_ids",
    "atd",
    "dtd",
    "transport",
    "lkh_degree",
    "backward_access_control",
    "rekey_margin",
    "retransmissions",
    "retransmit_interval_ms",
    "fragment_size",
    "rekey.destination",
    "rekey.source",
    "rekey.encr",
    "rekey.integ",
    "rekey.kwa",
    "rekey.auth",
    "rekey.signature",
    "rekey.key",
    "rekey.lifetime",
];

/// Keys of `groups.<name>.policies.<p>`.
const POLICY_KEYS: &[&str] = &["protocol", "encr", "integ", "sn", "src", "dst", "lifetime"];

/// Keys of `memberships.<name>`.
const MEMBERSHIP_KEYS: &[&str] = &[
    "group",
    "connection",
    "sender",
    "sender_ids",
    "receive",
    "accept.encr",
    "accept.integ",
    "accept.sn",
    "accept.kwa",
    "accept.implicit_auth",
    "accept.signature",
];

/// The settings of one section, by key, with the section's prefix for error messages.
struct Section {
    prefix: String,
    values: BTreeMap<String, String>,
    /// Keys in the order the daemon gave them (policies keep that order).
    order: Vec<String>,
}

impl Section {
    fn new<K: AsRef<str>, V: AsRef<str>>(
        prefix: String,
        settings: &[(K, V)],
    ) -> Result<Self, ConfigError> {
        let mut values = BTreeMap::new();
        let mut order = Vec::new();
        for (k, v) in settings {
            let key = k.as_ref().trim().to_string();
            if key.is_empty() {
                return Err(ConfigError {
                    option: prefix.clone(),
                    reason: "a setting has an empty key".into(),
                });
            }
            if values
                .insert(key.clone(), v.as_ref().trim().to_string())
                .is_some()
            {
                return Err(ConfigError {
                    option: format!("{prefix}.{key}"),
                    reason: "set more than once".into(),
                });
            }
            order.push(key);
        }
        Ok(Section {
            prefix,
            values,
            order,
        })
    }

    fn option(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    fn err(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            option: self.option(key),
            reason: reason.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn required(&self, key: &str) -> Result<&str, ConfigError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            Some(_) => Err(self.err(key, "must not be empty")),
            None => Err(self.err(key, "required setting missing")),
        }
    }

    /// Parses `key` with `f` if it is set; errors name the option.
    fn parse<T>(
        &self,
        key: &str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(key)
            .map(|v| f(v).map_err(|reason| self.err(key, reason)))
            .transpose()
    }
}

fn bool_value(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(format!(
            "'{v}' is not a boolean (expected yes, no, true, false, 1 or 0)"
        )),
    }
}

/// An unsigned integer in `min..=max`.
fn number<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String>
where
    T: TryFrom<u128> + PartialOrd + Copy + std::fmt::Display,
{
    move |v| {
        let out_of_range = || format!("{v} is out of range (expected {min} to {max})");
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{v}' is not a number (expected {min} to {max})"));
        }
        // All digits: only too many of them can fail to parse.
        let n = v.parse::<u128>().map_err(|_| out_of_range())?;
        match T::try_from(n) {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(out_of_range()),
        }
    }
}

fn named<T: Copy>(table: &[(&str, T)], v: &str) -> Result<T, String> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(v))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown algorithm '{v}' (expected one of {})",
                names.join(", ")
            )
        })
}

/// A comma-separated list; empty items are errors.
fn list(v: &str) -> Result<Vec<&str>, String> {
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(format!("'{v}' has an empty list item"));
    }
    Ok(items)
}

fn list_of<T: Copy + PartialEq>(table: &[(&str, T)], v: &str) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for item in list(v)? {
        let t = named(table, item)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// `none` or an integrity name.
fn integ_value(v: &str) -> Result<Option<IntegId>, String> {
    if v.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    named(INTEG, v)
        .map(Some)
        .map_err(|e| format!("{e} or none"))
}

fn identity_value(v: &str) -> Result<Identity, String> {
    v.parse::<Identity>().map_err(|_| {
        format!("'{v}' is not an identity (e.g. fqdn:video.example.com, keyid:group-1)")
    })
}

fn protocol_number(p: &str) -> Result<u8, String> {
    match p.to_ascii_lowercase().as_str() {
        "any" | "%any" => Ok(0),
        "icmp" => Ok(1),
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "ipv6-icmp" | "icmp6" | "icmpv6" => Ok(58),
        "sctp" => Ok(132),
        other => other.parse::<u8>().map_err(|_| {
            format!("unknown protocol '{p}' (expected udp, tcp, icmp, icmp6, sctp or 0-255)")
        }),
    }
}

/// `port`, `from-to`, or `%any`.
fn port_range(p: &str) -> Result<(u16, u16), String> {
    if p == "%any" || p == "any" {
        return Ok((0, 0xffff));
    }
    let one = |s: &str| {
        s.trim()
            .parse::<u16>()
            .map_err(|_| format!("'{p}' is not a port or port range (e.g. 5000, 5000-5010)"))
    };
    match p.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if a > b {
                return Err(format!("port range '{p}' is empty"));
            }
            Ok((a, b))
        }
        None => {
            let a = one(p)?;
            Ok((a, a))
        }
    }
}

/// Splits `text[inner]` into `(text, Some(inner))`.
fn bracket(v: &str) -> Result<(&str, Option<&str>), String> {
    match v.split_once('[') {
        None => Ok((v.trim(), None)),
        Some((head, tail)) => match tail.strip_suffix(']') {
            Some(inner) if !inner.contains('[') && !inner.contains(']') => {
                Ok((head.trim(), Some(inner.trim())))
            }
            _ => Err(format!("'{v}' has an unbalanced '['")),
        },
    }
}

/// An address with an optional prefix length (`10.0.0.0/24`, `ff0e::1`): the range it
/// covers. Host bits beyond the prefix are ignored (strongSwan's convention).
fn cidr(v: &str) -> Result<(IpAddr, IpAddr), String> {
    let (addr, bits) = match v.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let addr: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("'{v}' is not an address or subnet (e.g. 10.0.0.0/24)"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => match b.trim().parse::<u32>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("'{v}': prefix length must be 0 to {max}")),
        },
    };
    Ok(match addr {
        IpAddr::V4(a) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            let start = u32::from(a) & mask;
            (
                IpAddr::V4(Ipv4Addr::from(start)),
                IpAddr::V4(Ipv4Addr::from(start | !mask)),
            )
        }
        IpAddr::V6(a) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            let start = u128::from(a) & mask;
            (
                IpAddr::V6(Ipv6Addr::from(start)),
                IpAddr::V6(Ipv6Addr::from(start | !mask)),
            )
        }
    })
}

fn selector(range: (IpAddr, IpAddr), ip_protocol: u8, ports: (u16, u16)) -> TrafficSelector {
    let (start_port, end_port) = ports;
    match range {
        (IpAddr::V4(start), IpAddr::V4(end)) => TrafficSelector::Ipv4 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        },
        (IpAddr::V6(start), IpAddr::V6(end)) => TrafficSelector::Ipv6 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        },
        // cidr() returns both ends in one family.
        (start, _) => selector((start, start), ip_protocol, ports),
    }
}

/// A policy selector: `cidr[proto/port]`, `cidr[proto]` or `cidr`.
fn policy_selector(v: &str) -> Result<TrafficSelector, String> {
    let (net, inner) = bracket(v)?;
    let range = cidr(net)?;
    let (proto, ports) = match inner {
        None => (0, (0, 0xffff)),
        Some(inner) => match inner.split_once('/') {
            Some((p, port)) => (protocol_number(p.trim())?, port_range(port.trim())?),
            None => (protocol_number(inner)?, (0, 0xffff)),
        },
    };
    if proto == 0 && ports != (0, 0xffff) {
        return Err(format!("'{v}': a port needs a protocol (e.g. [udp/5000])"));
    }
    Ok(selector(range, proto, ports))
}

/// A Rekey SA endpoint: `addr[port]`, `addr` or `cidr`; always UDP.
fn rekey_endpoint(v: &str) -> Result<TrafficSelector, String> {
    let (net, inner) = bracket(v)?;
    let range = cidr(net)?;
    let ports = match inner {
        None => (0, 0xffff),
        Some(p) => port_range(p)?,
    };
    Ok(selector(range, 17, ports))
}

/// The keys a group section uses, in the order their policies first appear.
fn policy_names(s: &Section) -> Result<Vec<String>, ConfigError> {
    let mut names: Vec<String> = Vec::new();
    for key in &s.order {
        if GROUP_KEYS.contains(&key.as_str()) {
            continue;
        }
        let Some(rest) = key.strip_prefix("policies.") else {
            return Err(s.err(key, "unknown setting"));
        };
        let Some((name, field)) = rest.rsplit_once('.') else {
            return Err(s.err(
                key,
                format!(
                    "unknown setting (expected policies.<name>.{{{}}})",
                    POLICY_KEYS.join(",")
                ),
            ));
        };
        if name.is_empty() || name.contains('.') {
            return Err(s.err(key, "a policy name is one word (policies.<name>.<key>)"));
        }
        if !POLICY_KEYS.contains(&field) {
            return Err(s.err(
                key,
                format!(
                    "unknown policy setting (expected one of {})",
                    POLICY_KEYS.join(", ")
                ),
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

fn data_policy(s: &Section, name: &str) -> Result<DataPolicyConfig, ConfigError> {
    let k = |f: &str| format!("policies.{name}.{f}");
    let protocol = s
        .parse(&k("protocol"), |v| match v.to_ascii_lowercase().as_str() {
            "esp" => Ok(DataProtocol::Esp),
            "ah" => Ok(DataProtocol::Ah),
            _ => Err(format!("unknown protocol '{v}' (expected esp or ah)")),
        })?
        .unwrap_or(DataProtocol::Esp);
    let encr = match (protocol, s.get(&k("encr"))) {
        (DataProtocol::Ah, Some(_)) => return Err(s.err(&k("encr"), "AH has no encryption")),
        (DataProtocol::Ah, None) => None,
        (DataProtocol::Esp, _) => Some(
            s.parse(&k("encr"), |v| named(ENCR, v))?
                .unwrap_or(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256)),
        ),
    };
    let integ = s.parse(&k("integ"), integ_value)?.flatten();
    let sn = s
        .parse(&k("sn"), |v| named(SN, v))?
        .unwrap_or(SnId::UNSPECIFIED32);
    let dst_text = s.required(&k("dst"))?;
    let dst = policy_selector(dst_text).map_err(|r| s.err(&k("dst"), r))?;
    let src = s
        .parse(&k("src"), policy_selector)?
        .unwrap_or_else(|| match dst {
            TrafficSelector::Ipv6 { .. } => selector(any_v6(), 0, (0, 0xffff)),
            _ => selector(any_v4(), 0, (0, 0xffff)),
        });
    if src.ts_type() != dst.ts_type() {
        return Err(s.err(&k("src"), "must be of the same address family as dst"));
    }
    let lifetime_secs = s
        .parse(&k("lifetime"), number(0u32, u32::MAX))?
        .unwrap_or(3600);
    Ok(DataPolicyConfig {
        name: name.to_string(),
        protocol,
        encr,
        integ,
        sn,
        src,
        dst,
        lifetime_secs,
    })
}

fn any_v4() -> (IpAddr, IpAddr) {
    (
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::BROADCAST),
    )
}

fn any_v6() -> (IpAddr, IpAddr) {
    (
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::from(u128::MAX)),
    )
}

fn rekey_policy(s: &Section) -> Result<Option<RekeyPolicyConfig>, ConfigError> {
    let Some(dst) = s.parse("rekey.destination", rekey_endpoint)? else {
        // Inband-only group: the other rekey.* keys would be ignored, so they are errors.
        if let Some(k) = s.values.keys().find(|k| k.starts_with("rekey.")) {
            return Err(s.err(k, "only used with rekey.destination (a multicast Rekey SA)"));
        }
        return Ok(None);
    };
    let src = match s.parse("rekey.source", rekey_endpoint)? {
        Some(src) => src,
        None => match dst {
            TrafficSelector::Ipv6 { .. } => selector(any_v6(), 17, (0, 0xffff)),
            _ => selector(any_v4(), 17, (0, 0xffff)),
        },
    };
    if src.ts_type() != dst.ts_type() {
        return Err(s.err(
            "rekey.source",
            "must be of the same address family as rekey.destination",
        ));
    }
    let encr = s
        .parse("rekey.encr", |v| named(ENCR, v))?
        .unwrap_or(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256));
    let integ = s.parse("rekey.integ", integ_value)?.flatten();
    let kwa = s
        .parse("rekey.kwa", |v| named(KWA, v))?
        .unwrap_or(Kwa::Kw5649_256);
    let signature = s
        .parse("rekey.auth", |v| match v.to_ascii_lowercase().as_str() {
            "signature" => Ok(true),
            "implicit" => Ok(false),
            _ => Err(format!(
                "unknown method '{v}' (expected signature or implicit)"
            )),
        })?
        .unwrap_or(true);
    let auth = if signature {
        let alg = s
            .parse("rekey.signature", |v| named(SIGNATURE, v))?
            .unwrap_or(SignatureAlg::Ed25519);
        let key = match s.get("rekey.key") {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| s.err("rekey.key", format!("cannot read '{path}': {e}")))?;
                SigningKey::from_pem(alg, &pem)
                    .map_err(|e| s.err("rekey.key", format!("'{path}': {e}")))?
            }
            None => SigningKey::generate(alg).map_err(|e| {
                s.err(
                    "rekey.signature",
                    format!("cannot generate a signing key: {e}"),
                )
            })?,
        };
        GcAuth::Signature(key)
    } else {
        for k in ["rekey.signature", "rekey.key"] {
            if s.get(k).is_some() {
                return Err(s.err(k, "only used with rekey.auth = signature"));
            }
        }
        GcAuth::Implicit
    };
    let lifetime_secs = s
        .parse("rekey.lifetime", number(1u32, u32::MAX))?
        .unwrap_or(86400);
    Ok(Some(RekeyPolicyConfig {
        encr,
        integ,
        kwa,
        auth,
        src,
        dst,
        lifetime_secs,
    }))
}

/// Builds the key server configuration of the group in section `groups.<name>` from its
/// settings (keys relative to the section). Reads `rekey.key` from the file system; without
/// it, generates a signing key of `rekey.signature`'s algorithm. The result is validated
/// ([`GroupConfig::validate`]), with errors naming the setting.
pub fn group_config<K: AsRef<str>, V: AsRef<str>>(
    name: &str,
    settings: &[(K, V)],
) -> Result<GroupConfig, ConfigError> {
    let s = Section::new(format!("groups.{name}"), settings)?;
    let policies = policy_names(&s)?;
    let id = identity_value(s.required("id")?).map_err(|r| s.err("id", r))?;
    let mut c = GroupConfig::new(id);
    let members = s.required("members")?;
    for item in list(members).map_err(|r| s.err("members", r))? {
        let p = item
            .parse::<IdentityPattern>()
            .map_err(|_| s.err("members", format!("'{item}' is not an identity or pattern")))?;
        c.authorized.push(p);
    }
    if let Some(n) = s.parse("capacity", number(1usize, usize::MAX))? {
        c.capacity = n;
    }
    if let Some(n) = s.parse("sender_id_bits", number(1u16, 32))? {
        c.sender_id_bits = n;
    }
    if let Some(n) = s.parse("max_sender_ids", number(1u32, u32::MAX))? {
        c.max_sender_ids_per_request = n;
    }
    c.atd_secs = s.parse("atd", number(0u16, u16::MAX))?;
    c.dtd_secs = s.parse("dtd", number(0u16, u16::MAX))?;
    if let Some(b) = s.parse("transport", bool_value)? {
        c.transport_mode = b;
    }
    let b = &mut c.rekey_behaviour;
    if let Some(n) = s.parse(
        "lkh_degree",
        number(crate::lkh::MIN_DEGREE, crate::lkh::MAX_DEGREE),
    )? {
        b.lkh_degree = n;
    }
    if let Some(v) = s.parse("backward_access_control", bool_value)? {
        b.backward_access_control = v;
    }
    b.margin_secs = s.parse("rekey_margin", number(0u32, u32::MAX))?;
    if let Some(n) = s.parse("retransmissions", number(0u8, u8::MAX))? {
        b.retransmissions = n;
    }
    if let Some(n) = s.parse("retransmit_interval_ms", number(1u32, u32::MAX))? {
        b.retransmit_interval_ms = n;
    }
    b.fragment_size = s.parse("fragment_size", number(256usize, 65535))?;
    for p in &policies {
        c.data_policies.push(data_policy(&s, p)?);
    }
    c.rekey = rekey_policy(&s)?;
    c.validate().map_err(|e| rename(e, &c, &s.prefix))?;
    Ok(c)
}

/// [`GroupConfig::validate`] names options `group <id>.<path>`; the settings name them
/// `groups.<name>.<key>`.
fn rename(e: ConfigError, c: &GroupConfig, prefix: &str) -> ConfigError {
    let g = format!("group {}", c.id);
    let option = match e.option.strip_prefix(&g) {
        Some("") if c.data_policies.is_empty() => format!("{prefix}.policies"),
        Some(rest) => {
            let rest = match rest {
                ".rekey.lkh_degree" => ".lkh_degree",
                ".rekey.fragment_size" => ".fragment_size",
                r => r,
            };
            format!("{prefix}{rest}")
        }
        None => e.option,
    };
    ConfigError {
        option,
        reason: e.reason,
    }
}

/// Builds a member's membership from the settings of section `memberships.<name>` (keys
/// relative to the section). `connection` is the plugin's and only checked to be
/// non-empty here.
pub fn membership_config<K: AsRef<str>, V: AsRef<str>>(
    name: &str,
    settings: &[(K, V)],
) -> Result<MembershipConfig, ConfigError> {
    let s = Section::new(format!("memberships.{name}"), settings)?;
    if let Some(k) = s
        .values
        .keys()
        .find(|k| !MEMBERSHIP_KEYS.contains(&k.as_str()))
    {
        return Err(s.err(
            k,
            format!(
                "unknown setting (expected one of {})",
                MEMBERSHIP_KEYS.join(", ")
            ),
        ));
    }
    let group = identity_value(s.required("group")?).map_err(|r| s.err("group", r))?;
    if s.get("connection").is_some() {
        s.required("connection")?;
    }
    let sender = s.parse("sender", bool_value)?.unwrap_or(false);
    let sender_ids = s.parse("sender_ids", number(1u32, u32::MAX))?;
    let receive = s.parse("receive", bool_value)?;
    let role = if sender {
        SenderRole::Sender {
            sender_ids: sender_ids.unwrap_or(1),
            receives: receive.unwrap_or(true),
        }
    } else {
        if sender_ids.is_some() {
            return Err(s.err("sender_ids", "only used with sender = yes"));
        }
        if receive == Some(false) {
            return Err(s.err(
                "receive",
                "a member that does not send must receive (set sender = yes)",
            ));
        }
        SenderRole::Receiver
    };
    let mut accept = Acceptance::default();
    if let Some(v) = s.parse("accept.encr", |v| list_of(ENCR, v))? {
        accept.encr = v;
    }
    if let Some(v) = s.parse("accept.integ", |v| {
        if v.eq_ignore_ascii_case("none") {
            Ok(Vec::new())
        } else {
            list_of(INTEG, v).map_err(|e| format!("{e}, or none alone"))
        }
    })? {
        accept.integ = v;
    }
    if let Some(v) = s.parse("accept.sn", |v| list_of(SN, v))? {
        accept.sn = v;
    }
    if let Some(v) = s.parse("accept.kwa", |v| list_of(KWA, v))? {
        accept.kwa = v;
    }
    if let Some(v) = s.parse("accept.implicit_auth", bool_value)? {
        accept.implicit_auth = v;
    }
    if let Some(v) = s.parse("accept.signature", |v| list_of(SIGNATURE, v))? {
        accept.signature_algs = v;
    }
    Ok(MembershipConfig {
        group,
        role,
        accept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcks::DataProtocol;

    fn group(settings: &[(&str, &str)]) -> Result<GroupConfig, ConfigError> {
        group_config("video", settings)
    }

    /// The smallest valid multicast group plus `extra`.
    fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v = vec![
            ("id", "fqdn:video.example.com"),
            ("members", "%any"),
            ("policies.p1.dst", "239.1.1.1/32[udp/5000]"),
            ("rekey.destination", "239.1.1.1[500]"),
        ];
        for (k, val) in extra {
            v.retain(|(x, _)| x != k);
            v.push((k, val));
        }
        v
    }

    fn err(settings: &[(&str, &str)]) -> ConfigError {
        match group(settings) {
            Ok(_) => panic!("accepted {settings:?}"),
            Err(e) => e,
        }
    }

    fn member(settings: &[(&str, &str)]) -> Result<MembershipConfig, ConfigError> {
        membership_config("m", settings)
    }

    fn member_err(settings: &[(&str, &str)]) -> ConfigError {
        match member(settings) {
            Ok(_) => panic!("accepted {settings:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn minimal_group_takes_the_documented_defaults() {
        let c = group(&base(&[])).unwrap();
        assert_eq!(c.id, Identity::fqdn("video.example.com"));
        assert_eq!(c.authorized, vec![IdentityPattern::Any]);
        assert_eq!(c.capacity, 1_000_000);
        assert_eq!(c.sender_id_bits, 16);
        assert_eq!(c.max_sender_ids_per_request, 4);
        assert_eq!((c.atd_secs, c.dtd_secs), (None, None));
        assert!(!c.transport_mode);
        let b = &c.rekey_behaviour;
        assert_eq!(b.lkh_degree, 4);
        assert!(!b.backward_access_control);
        assert_eq!(b.margin_secs, None);
        assert_eq!(b.retransmissions, 2);
        assert_eq!(b.retransmit_interval_ms, 1000);
        assert_eq!(b.fragment_size, None);
        let [p] = c.data_policies.as_slice() else {
            panic!("one policy expected")
        };
        assert_eq!(p.name, "p1");
        assert_eq!(p.protocol, DataProtocol::Esp);
        assert_eq!(
            p.encr,
            Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256))
        );
        assert_eq!(p.integ, None);
        assert_eq!(p.sn, SnId::UNSPECIFIED32);
        assert_eq!(
            p.src,
            TrafficSelector::Ipv4 {
                ip_protocol: 0,
                start_port: 0,
                end_port: 0xffff,
                start: Ipv4Addr::UNSPECIFIED,
                end: Ipv4Addr::BROADCAST,
            }
        );
        assert_eq!(
            p.dst,
            TrafficSelector::ipv4_host(Ipv4Addr::new(239, 1, 1, 1), 17, Some(5000))
        );
        assert_eq!(p.lifetime_secs, 3600);
        let r = c.rekey.as_ref().unwrap();
        assert_eq!(
            r.dst,
            TrafficSelector::ipv4_host(Ipv4Addr::new(239, 1, 1, 1), 17, Some(500))
        );
        assert_eq!(
            r.src,
            TrafficSelector::Ipv4 {
                ip_protocol: 17,
                start_port: 0,
                end_port: 0xffff,
                start: Ipv4Addr::UNSPECIFIED,
                end: Ipv4Addr::BROADCAST,
            }
        );
        assert_eq!(r.encr, EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256));
        assert_eq!(r.integ, None);
        assert_eq!(r.kwa, Kwa::Kw5649_256);
        assert!(matches!(&r.auth, GcAuth::Signature(k) if k.alg() == SignatureAlg::Ed25519));
        assert_eq!(r.lifetime_secs, 86400);
    }

    #[test]
    fn every_group_key_is_read() {
        let c = group(&base(&[
            (
                "members",
                "fqdn:gm1.example, *.gms.example.com ,keyid:0x0102",
            ),
            ("capacity", "10"),
            ("sender_id_bits", "8"),
            ("max_sender_ids", "2"),
            ("atd", "3"),
            ("dtd", "20"),
            ("transport", "yes"),
            ("lkh_degree", "8"),
            ("backward_access_control", "true"),
            ("rekey_margin", "60"),
            ("retransmissions", "0"),
            ("retransmit_interval_ms", "250"),
            ("fragment_size", "1280"),
            ("rekey.source", "10.0.0.1[848]"),
            ("rekey.encr", "aes128"),
            ("rekey.integ", "sha384"),
            ("rekey.kwa", "kw5649_128"),
            ("rekey.auth", "signature"),
            ("rekey.signature", "ecdsa256"),
            ("rekey.lifetime", "7200"),
            ("policies.p1.protocol", "esp"),
            ("policies.p1.encr", "aes192ctr"),
            ("policies.p1.integ", "aes256gmac"),
            ("policies.p1.sn", "seq32"),
            ("policies.p1.src", "10.0.0.0/24[udp]"),
            ("policies.p1.lifetime", "600"),
            ("policies.auth.protocol", "ah"),
            ("policies.auth.integ", "sha512"),
            ("policies.auth.dst", "239.1.1.2"),
        ]))
        .unwrap();
        assert_eq!(c.authorized.len(), 3);
        assert!(c.authorized[0].matches(&Identity::fqdn("gm1.example")));
        assert!(c.authorized[1].matches(&Identity::fqdn("a.gms.example.com")));
        assert_eq!(
            c.authorized[2],
            IdentityPattern::Exact(Identity::key_id(vec![1, 2]))
        );
        assert_eq!(c.capacity, 10);
        assert_eq!(c.sender_id_bits, 8);
        assert_eq!(c.max_sender_ids_per_request, 2);
        assert_eq!((c.atd_secs, c.dtd_secs), (Some(3), Some(20)));
        assert!(c.transport_mode);
        let b = &c.rekey_behaviour;
        assert_eq!(b.lkh_degree, 8);
        assert!(b.backward_access_control);
        assert_eq!(b.margin_secs, Some(60));
        assert_eq!(b.retransmissions, 0);
        assert_eq!(b.retransmit_interval_ms, 250);
        assert_eq!(b.fragment_size, Some(1280));
        let r = c.rekey.as_ref().unwrap();
        assert_eq!(
            r.src,
            TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(848))
        );
        assert_eq!(r.encr, EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 128));
        assert_eq!(r.integ, Some(IntegId::AUTH_HMAC_SHA2_384_192));
        assert_eq!(r.kwa, Kwa::Kw5649_128);
        assert!(
            matches!(&r.auth, GcAuth::Signature(k) if k.alg() == SignatureAlg::EcdsaP256Sha256)
        );
        assert_eq!(r.lifetime_secs, 7200);
        // Policies in order of first appearance.
        let [p1, ah] = c.data_policies.as_slice() else {
            panic!("two policies expected")
        };
        assert_eq!(p1.name, "p1");
        assert_eq!(
            p1.encr,
            Some(EncrSpec::with_bits(EncrId::ENCR_AES_CTR, 192))
        );
        assert_eq!(p1.integ, Some(IntegId::AUTH_AES_256_GMAC));
        assert_eq!(p1.sn, SnId::SEQ32);
        assert_eq!(
            p1.src,
            TrafficSelector::Ipv4 {
                ip_protocol: 17,
                start_port: 0,
                end_port: 0xffff,
                start: Ipv4Addr::new(10, 0, 0, 0),
                end: Ipv4Addr::new(10, 0, 0, 255),
            }
        );
        assert_eq!(p1.lifetime_secs, 600);
        assert_eq!(ah.name, "auth");
        assert_eq!(ah.protocol, DataProtocol::Ah);
        assert_eq!(ah.encr, None);
        assert_eq!(ah.integ, Some(IntegId::AUTH_HMAC_SHA2_512_256));
        assert_eq!(
            ah.dst,
            TrafficSelector::Ipv4 {
                ip_protocol: 0,
                start_port: 0,
                end_port: 0xffff,
                start: Ipv4Addr::new(239, 1, 1, 2),
                end: Ipv4Addr::new(239, 1, 1, 2),
            }
        );
    }

    #[test]
    fn every_algorithm_name_parses() {
        for (name, spec) in ENCR {
            let integ = if spec.is_aead() { "none" } else { "sha256" };
            let c = group(&base(&[
                ("policies.p1.encr", name),
                ("policies.p1.integ", integ),
            ]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.data_policies[0].encr, Some(*spec), "{name}");
        }
        for (name, id) in INTEG {
            let c = group(&base(&[
                ("policies.p1.encr", "aes256"),
                ("policies.p1.integ", name),
            ]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.data_policies[0].integ, Some(*id), "{name}");
        }
        for (name, kwa) in KWA {
            let c = group(&base(&[("rekey.kwa", name)])).unwrap();
            assert_eq!(c.rekey.unwrap().kwa, *kwa, "{name}");
        }
        for (name, sn) in SN {
            let c = group(&base(&[("policies.p1.sn", name)])).unwrap();
            assert_eq!(c.data_policies[0].sn, *sn, "{name}");
        }
        for (name, alg) in SIGNATURE {
            let c = group(&base(&[("rekey.signature", name)])).unwrap();
            assert!(
                matches!(&c.rekey.unwrap().auth, GcAuth::Signature(k) if k.alg() == *alg),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_algorithm_names_the_option_and_the_choices() {
        let e = err(&base(&[("policies.p1.encr", "aes999")]));
        assert_eq!(e.option, "groups.video.policies.p1.encr");
        assert_eq!(
            e.reason,
            "unknown algorithm 'aes999' (expected one of aes128, aes192, aes256, aes128gcm16, \
             aes192gcm16, aes256gcm16, aes128ctr, aes192ctr, aes256ctr, chacha20poly1305, null)"
        );
        assert_eq!(
            e.to_string(),
            format!("groups.video.policies.p1.encr: {}", e.reason)
        );
        let e = err(&base(&[("policies.p1.integ", "md5")]));
        assert_eq!(e.option, "groups.video.policies.p1.integ");
        assert!(
            e.reason.contains("sha256") && e.reason.ends_with("or none"),
            "{e}"
        );
        assert_eq!(
            err(&base(&[("rekey.kwa", "arx")])).option,
            "groups.video.rekey.kwa"
        );
        assert_eq!(
            err(&base(&[("policies.p1.sn", "seq64")])).option,
            "groups.video.policies.p1.sn"
        );
        let e = err(&base(&[("rekey.signature", "dsa")]));
        assert_eq!(e.option, "groups.video.rekey.signature");
        assert!(e.reason.contains("ed25519, ecdsa256, rsapss256"), "{e}");
    }

    #[test]
    fn unknown_and_duplicate_keys_are_errors() {
        let e = err(&base(&[("capacit", "10")]));
        assert_eq!(e.option, "groups.video.capacit");
        assert_eq!(e.reason, "unknown setting");
        let e = err(&base(&[("policies.p1.cipher", "aes256")]));
        assert_eq!(e.option, "groups.video.policies.p1.cipher");
        assert!(e.reason.starts_with("unknown policy setting"), "{e}");
        let e = err(&base(&[("policies.encr", "aes256")]));
        assert_eq!(e.option, "groups.video.policies.encr");
        let e = err(&base(&[("policies.a.b.encr", "aes256")]));
        assert!(e.reason.contains("one word"), "{e}");
        let mut dup = base(&[]);
        dup.push(("id", "fqdn:other"));
        let e = err(&dup);
        assert_eq!(e.option, "groups.video.id");
        assert_eq!(e.reason, "set more than once");
        let e = err(&base(&[("", "x")]));
        assert_eq!(e.option, "groups.video");
    }

    #[test]
    fn required_keys() {
        let without = |key: &str| -> Vec<(&str, &str)> {
            base(&[]).into_iter().filter(|(k, _)| *k != key).collect()
        };
        let e = err(&without("id"));
        assert_eq!(
            (e.option.as_str(), e.reason.as_str()),
            ("groups.video.id", "required setting missing")
        );
        let e = err(&without("members"));
        assert_eq!(e.option, "groups.video.members");
        let e = err(&base(&[("members", "")]));
        assert_eq!(
            (e.option.as_str(), e.reason.as_str()),
            ("groups.video.members", "must not be empty")
        );
        let none: Vec<(&str, &str)> = without("policies.p1.dst")
            .into_iter()
            .filter(|(k, _)| *k != "rekey.destination")
            .collect();
        let e = err(&none);
        assert_eq!(
            (e.option.as_str(), e.reason.as_str()),
            ("groups.video.policies", "needs at least one policy")
        );
        let e = err(&base(&[
            ("policies.p1.lifetime", "60"),
            ("policies.p2.encr", "aes256"),
        ]));
        assert_eq!(e.option, "groups.video.policies.p2.dst");
        assert_eq!(e.reason, "required setting missing");
    }

    #[test]
    fn values_out_of_range_name_the_range() {
        for (key, value, option, reason) in [
            (
                "capacity",
                "0",
                "capacity",
                "0 is out of range (expected 1 to ",
            ),
            (
                "sender_id_bits",
                "33",
                "sender_id_bits",
                "33 is out of range (expected 1 to 32)",
            ),
            (
                "sender_id_bits",
                "x",
                "sender_id_bits",
                "'x' is not a number (expected 1 to 32)",
            ),
            ("max_sender_ids", "0", "max_sender_ids", "0 is out of range"),
            (
                "atd",
                "65536",
                "atd",
                "65536 is out of range (expected 0 to 65535)",
            ),
            ("dtd", "-1", "dtd", "'-1' is not a number"),
            (
                "capacity",
                "99999999999999999999999999999999999999999",
                "capacity",
                "is out of range",
            ),
            (
                "lkh_degree",
                "9",
                "lkh_degree",
                "9 is out of range (expected 2 to 8)",
            ),
            (
                "retransmissions",
                "256",
                "retransmissions",
                "256 is out of range",
            ),
            (
                "retransmit_interval_ms",
                "0",
                "retransmit_interval_ms",
                "0 is out of range",
            ),
            (
                "fragment_size",
                "100",
                "fragment_size",
                "100 is out of range (expected 256 to 65535)",
            ),
            (
                "rekey_margin",
                "soon",
                "rekey_margin",
                "'soon' is not a number",
            ),
            ("rekey.lifetime", "0", "rekey.lifetime", "0 is out of range"),
            (
                "policies.p1.lifetime",
                "1h",
                "policies.p1.lifetime",
                "'1h' is not a number",
            ),
            (
                "transport",
                "maybe",
                "transport",
                "'maybe' is not a boolean",
            ),
            (
                "backward_access_control",
                "on",
                "backward_access_control",
                "is not a boolean",
            ),
        ] {
            let e = err(&base(&[(key, value)]));
            assert_eq!(e.option, format!("groups.video.{option}"), "{key}");
            assert!(e.reason.contains(reason), "{key}: {e}");
        }
    }

    #[test]
    fn booleans_accept_every_documented_spelling() {
        for (v, want) in [
            ("yes", true),
            ("no", false),
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            ("YES", true),
        ] {
            let c = group(&base(&[("transport", v)])).unwrap();
            assert_eq!(c.transport_mode, want, "{v}");
        }
    }

    #[test]
    fn identities_and_members() {
        let e = err(&base(&[("id", "keyid:")]));
        assert_eq!(e.option, "groups.video.id");
        assert!(e.reason.contains("is not an identity"), "{e}");
        let e = err(&base(&[("members", "fqdn:a,,fqdn:b")]));
        assert_eq!(e.option, "groups.video.members");
        assert!(e.reason.contains("empty list item"), "{e}");
        let e = err(&base(&[("members", "ipv4:300.0.0.1")]));
        assert_eq!(e.option, "groups.video.members");
        assert_eq!(e.reason, "'ipv4:300.0.0.1' is not an identity or pattern");
        let c = group(&base(&[("id", "192.0.2.1"), ("members", "*")])).unwrap();
        assert_eq!(c.id, "ipv4:192.0.2.1".parse().unwrap());
    }

    #[test]
    fn selectors() {
        assert_eq!(
            policy_selector("10.1.2.3/16[tcp/80-90]").unwrap(),
            TrafficSelector::Ipv4 {
                ip_protocol: 6,
                start_port: 80,
                end_port: 90,
                start: Ipv4Addr::new(10, 1, 0, 0),
                end: Ipv4Addr::new(10, 1, 255, 255),
            }
        );
        assert_eq!(
            policy_selector("ff0e::1/128[udp/5000]").unwrap(),
            TrafficSelector::Ipv6 {
                ip_protocol: 17,
                start_port: 5000,
                end_port: 5000,
                start: "ff0e::1".parse().unwrap(),
                end: "ff0e::1".parse().unwrap(),
            }
        );
        assert_eq!(
            policy_selector("0.0.0.0/0[47]").unwrap(),
            TrafficSelector::Ipv4 {
                ip_protocol: 47,
                start_port: 0,
                end_port: 0xffff,
                start: Ipv4Addr::UNSPECIFIED,
                end: Ipv4Addr::BROADCAST,
            }
        );
        for (bad, why) in [
            ("239.1.1.1/33", "prefix length must be 0 to 32"),
            ("239.1.1/32", "is not an address or subnet"),
            ("239.1.1.1[udp/5000", "unbalanced"),
            ("239.1.1.1[gre]", "unknown protocol 'gre'"),
            ("239.1.1.1[udp/x]", "is not a port"),
            ("239.1.1.1[udp/9-1]", "is empty"),
            ("239.1.1.1[any/53]", "a port needs a protocol"),
        ] {
            let e = err(&base(&[("policies.p1.dst", bad)]));
            assert_eq!(e.option, "groups.video.policies.p1.dst", "{bad}");
            assert!(e.reason.contains(why), "{bad}: {e}");
        }
        let e = err(&base(&[("policies.p1.src", "::/0")]));
        assert_eq!(e.option, "groups.video.policies.p1.src");
        assert!(e.reason.contains("address family"), "{e}");
        // IPv6 Rekey SA: the default source follows the destination's family.
        let c = group(&base(&[("rekey.destination", "ff0e::2[848]")])).unwrap();
        assert!(matches!(
            c.rekey.unwrap().src,
            TrafficSelector::Ipv6 {
                ip_protocol: 17,
                ..
            }
        ));
        let e = err(&base(&[("rekey.source", "2001:db8::1")]));
        assert_eq!(e.option, "groups.video.rekey.source");
    }

    #[test]
    fn library_validation_is_reported_under_the_setting_names() {
        let e = err(&base(&[("policies.p1.encr", "aes256")]));
        assert_eq!(e.option, "groups.video.policies.p1.integ");
        assert_eq!(e.reason, "a non-AEAD cipher needs integrity");
        let e = err(&base(&[("policies.p1.integ", "sha256")]));
        assert_eq!(e.option, "groups.video.policies.p1.integ");
        assert_eq!(e.reason, "must be empty with an AEAD cipher");
        let e = err(&base(&[("policies.p1.protocol", "ah")]));
        assert_eq!(e.option, "groups.video.policies.p1.integ");
        assert_eq!(e.reason, "AH needs an integrity algorithm");
        let e = err(&base(&[
            ("policies.p1.protocol", "ah"),
            ("policies.p1.encr", "aes256"),
        ]));
        assert_eq!(e.option, "groups.video.policies.p1.encr");
        assert_eq!(e.reason, "AH has no encryption");
        let e = err(&base(&[("policies.p1.protocol", "gre")]));
        assert_eq!(e.option, "groups.video.policies.p1.protocol");
        let e = err(&base(&[("policies.p1.lifetime", "0")]));
        assert_eq!(e.option, "groups.video.policies.p1.lifetime");
        let e = err(&base(&[("rekey.encr", "chacha20poly1305")]));
        assert_eq!(e.option, "groups.video.rekey.encr");
        let e = err(&base(&[("rekey.encr", "aes256")]));
        assert_eq!(e.option, "groups.video.rekey.integ");
        let e = err(&base(&[("rekey.destination", "10.0.0.1[500]")]));
        assert_eq!(e.option, "groups.video.rekey.destination");
        assert!(e.reason.contains("multicast"), "{e}");
        let e = err(&base(&[("rekey.destination", "239.1.1.1")]));
        assert_eq!(e.option, "groups.video.rekey.destination");
    }

    #[test]
    fn inband_only_group() {
        let settings: Vec<(&str, &str)> = base(&[("policies.p1.lifetime", "0")])
            .into_iter()
            .filter(|(k, _)| !k.starts_with("rekey."))
            .collect();
        let c = group(&settings).unwrap();
        assert!(c.rekey.is_none());
        assert_eq!(c.data_policies[0].lifetime_secs, 0);
        let mut with_encr = settings.clone();
        with_encr.push(("rekey.encr", "aes128gcm16"));
        let e = err(&with_encr);
        assert_eq!(e.option, "groups.video.rekey.encr");
        assert!(e.reason.contains("rekey.destination"), "{e}");
    }

    #[test]
    fn rekey_auth_and_signing_key_file() {
        let c = group(&base(&[("rekey.auth", "implicit")])).unwrap();
        assert!(matches!(c.rekey.unwrap().auth, GcAuth::Implicit));
        let e = err(&base(&[
            ("rekey.auth", "implicit"),
            ("rekey.signature", "ed25519"),
        ]));
        assert_eq!(e.option, "groups.video.rekey.signature");
        assert_eq!(e.reason, "only used with rekey.auth = signature");
        let e = err(&base(&[("rekey.auth", "psk")]));
        assert_eq!(e.option, "groups.video.rekey.auth");

        let key = SigningKey::generate(SignatureAlg::EcdsaP256Sha256).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let pkey = openssl::pkey::PKey::private_key_from_pkcs8(&der).unwrap();
        let pem = pkey.private_key_to_pem_pkcs8().unwrap();
        let dir = std::env::temp_dir().join(format!("gikev2-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gcks.pem");
        std::fs::write(&path, &pem).unwrap();
        let p = path.to_str().unwrap();
        let c = group(&base(&[("rekey.signature", "ecdsa256"), ("rekey.key", p)])).unwrap();
        match &c.rekey.unwrap().auth {
            GcAuth::Signature(k) => {
                assert_eq!(k.public_spki_der().unwrap(), key.public_spki_der().unwrap())
            }
            GcAuth::Implicit => panic!("implicit"),
        }
        // The key file must fit the algorithm (default ed25519).
        let e = err(&base(&[("rekey.key", p)]));
        assert_eq!(e.option, "groups.video.rekey.key");
        assert!(e.reason.contains("does not match"), "{e}");
        let missing = dir.join("missing.pem");
        let e = err(&base(&[("rekey.key", missing.to_str().unwrap())]));
        assert_eq!(e.option, "groups.video.rekey.key");
        assert!(e.reason.starts_with("cannot read"), "{e}");
        std::fs::write(&path, b"not a key").unwrap();
        let e = err(&base(&[("rekey.key", p)]));
        assert!(e.reason.contains("malformed"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn membership_defaults_and_every_key() {
        let m = member(&[("group", "fqdn:video.example.com"), ("connection", "gcks")]).unwrap();
        assert_eq!(
            m,
            MembershipConfig::receiver(Identity::fqdn("video.example.com"))
        );
        let m = member(&[
            ("group", "keyid:group-1"),
            ("sender", "yes"),
            ("sender_ids", "3"),
            ("receive", "no"),
            ("accept.encr", "aes256gcm16, chacha20poly1305"),
            ("accept.integ", "sha256,sha512"),
            ("accept.sn", "unspecified32"),
            ("accept.kwa", "kw5649_256"),
            ("accept.implicit_auth", "yes"),
            ("accept.signature", "ecdsa256"),
        ])
        .unwrap();
        assert_eq!(m.group, Identity::key_id("group-1"));
        assert_eq!(
            m.role,
            SenderRole::Sender {
                sender_ids: 3,
                receives: false
            }
        );
        assert_eq!(
            m.accept.encr,
            vec![
                EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
                EncrSpec::fixed(EncrId::ENCR_CHACHA20_POLY1305)
            ]
        );
        assert_eq!(
            m.accept.integ,
            vec![
                IntegId::AUTH_HMAC_SHA2_256_128,
                IntegId::AUTH_HMAC_SHA2_512_256
            ]
        );
        assert_eq!(m.accept.sn, vec![SnId::UNSPECIFIED32]);
        assert_eq!(m.accept.kwa, vec![Kwa::Kw5649_256]);
        assert!(m.accept.implicit_auth);
        assert_eq!(m.accept.signature_algs, vec![SignatureAlg::EcdsaP256Sha256]);
        let m = member(&[("group", "g"), ("sender", "1")]).unwrap();
        assert_eq!(
            m.role,
            SenderRole::Sender {
                sender_ids: 1,
                receives: true
            }
        );
        let m = member(&[("group", "g"), ("accept.integ", "none")]).unwrap();
        assert!(m.accept.integ.is_empty());
    }

    #[test]
    fn membership_errors_name_the_option() {
        let e = member_err(&[("connection", "gcks")]);
        assert_eq!(
            (e.option.as_str(), e.reason.as_str()),
            ("memberships.m.group", "required setting missing")
        );
        let e = member_err(&[("group", "g"), ("sendr", "yes")]);
        assert_eq!(e.option, "memberships.m.sendr");
        assert!(e
            .reason
            .starts_with("unknown setting (expected one of group, connection"));
        let e = member_err(&[("group", "g"), ("connection", "")]);
        assert_eq!(e.option, "memberships.m.connection");
        let e = member_err(&[("group", "g"), ("sender_ids", "2")]);
        assert_eq!(e.option, "memberships.m.sender_ids");
        assert_eq!(e.reason, "only used with sender = yes");
        let e = member_err(&[("group", "g"), ("receive", "no")]);
        assert_eq!(e.option, "memberships.m.receive");
        let e = member_err(&[("group", "g"), ("sender", "yes"), ("sender_ids", "0")]);
        assert_eq!(e.option, "memberships.m.sender_ids");
        let e = member_err(&[("group", "g"), ("accept.encr", "aes999")]);
        assert_eq!(e.option, "memberships.m.accept.encr");
        assert!(e.reason.starts_with("unknown algorithm 'aes999'"), "{e}");
        let e = member_err(&[("group", "g"), ("accept.integ", "none,sha256")]);
        assert_eq!(e.option, "memberships.m.accept.integ");
        let e = member_err(&[("group", "g"), ("accept.sn", "seq64")]);
        assert_eq!(e.option, "memberships.m.accept.sn");
        let e = member_err(&[("group", "g"), ("accept.kwa", "kw_arx")]);
        assert_eq!(e.option, "memberships.m.accept.kwa");
        let e = member_err(&[("group", "g"), ("accept.implicit_auth", "perhaps")]);
        assert_eq!(e.option, "memberships.m.accept.implicit_auth");
        let e = member_err(&[("group", "g"), ("accept.signature", "dsa")]);
        assert_eq!(e.option, "memberships.m.accept.signature");
        let e = member_err(&[("group", "g"), ("group", "h")]);
        assert_eq!(e.reason, "set more than once");
    }
}
