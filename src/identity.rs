//! Identities: group IDs (IDg, RFC 9838 §4.2), member identities (IDi, RFC 7296 §3.5) and
//! the patterns a group's authorisation list is written in.

use crate::wire::{hex, IdPayload, IdType};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IKEv2 identity: ID type and identification data.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// ID Type.
    pub id_type: IdType,
    /// Identification Data.
    pub data: Vec<u8>,
}

impl Identity {
    /// An identity from its parts.
    pub fn new(id_type: IdType, data: impl Into<Vec<u8>>) -> Self {
        Identity {
            id_type,
            data: data.into(),
        }
    }

    /// An ID_KEY_ID identity (the type every G-IKEv2 implementation supports for IDg).
    pub fn key_id(data: impl Into<Vec<u8>>) -> Self {
        Identity::new(IdType::ID_KEY_ID, data)
    }

    /// An ID_FQDN identity.
    pub fn fqdn(name: &str) -> Self {
        Identity::new(IdType::ID_FQDN, name.as_bytes())
    }

    /// The identity carried by an ID or IDg payload (RESERVED octets dropped).
    pub fn from_payload(p: &IdPayload) -> Self {
        Identity::new(p.id_type, p.data.clone())
    }

    /// The ID/IDg payload body for this identity.
    pub fn to_payload(&self) -> IdPayload {
        IdPayload::new(self.id_type, self.data.clone())
    }

    /// The text form used for matching patterns: addresses and names as text, opaque
    /// types as `0x`-prefixed hex unless they are printable.
    pub fn text(&self) -> String {
        match self.id_type {
            IdType::ID_IPV4_ADDR => match <[u8; 4]>::try_from(self.data.as_slice()) {
                Ok(a) => Ipv4Addr::from(a).to_string(),
                Err(_) => format!("0x{}", hex(&self.data)),
            },
            IdType::ID_IPV6_ADDR => match <[u8; 16]>::try_from(self.data.as_slice()) {
                Ok(a) => Ipv6Addr::from(a).to_string(),
                Err(_) => format!("0x{}", hex(&self.data)),
            },
            _ if is_printable(&self.data) => String::from_utf8_lossy(&self.data).into_owned(),
            _ => format!("0x{}", hex(&self.data)),
        }
    }

    fn prefix(&self) -> &'static str {
        match self.id_type {
            IdType::ID_IPV4_ADDR => "ipv4",
            IdType::ID_IPV6_ADDR => "ipv6",
            IdType::ID_FQDN => "fqdn",
            IdType::ID_RFC822_ADDR => "email",
            IdType::ID_KEY_ID => "keyid",
            IdType::ID_DER_ASN1_DN => "dn",
            IdType::ID_DER_ASN1_GN => "gn",
            _ => "id",
        }
    }
}

fn is_printable(data: &[u8]) -> bool {
    !data.is_empty() && data.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix() == "id" {
            write!(f, "id{}:{}", self.id_type.0, self.text())
        } else {
            write!(f, "{}:{}", self.prefix(), self.text())
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Why an identity string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityParseError(pub String);

impl fmt::Display for IdentityParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid identity: {}", self.0)
    }
}

impl std::error::Error for IdentityParseError {}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl FromStr for Identity {
    type Err = IdentityParseError;

    /// Parses `keyid:group-1`, `keyid:0x0102`, `fqdn:gm.example.com`,
    /// `email:gm@example.com`, `ipv4:192.0.2.1`, `ipv6:2001:db8::1`; without a prefix, an
    /// address is an IP identity, a string with `@` an e-mail identity, anything else an
    /// FQDN (the strongSwan convention).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || IdentityParseError(s.to_string());
        let (prefix, value) = match s.split_once(':') {
            Some((p, v))
                if matches!(p, "keyid" | "fqdn" | "email" | "rfc822" | "ipv4" | "ipv6") =>
            {
                (Some(p), v)
            }
            _ => (None, s),
        };
        if value.is_empty() {
            return Err(err());
        }
        let bytes_or_hex = |v: &str| match v.strip_prefix("0x") {
            Some(h) => parse_hex(h).ok_or_else(err),
            None => Ok(v.as_bytes().to_vec()),
        };
        match prefix {
            Some("keyid") => Ok(Identity::key_id(bytes_or_hex(value)?)),
            Some("fqdn") => Ok(Identity::new(IdType::ID_FQDN, value.as_bytes())),
            Some("email" | "rfc822") => Ok(Identity::new(IdType::ID_RFC822_ADDR, value.as_bytes())),
            Some("ipv4") => value
                .parse::<Ipv4Addr>()
                .map(|a| Identity::new(IdType::ID_IPV4_ADDR, a.octets()))
                .map_err(|_| err()),
            Some("ipv6") => value
                .parse::<Ipv6Addr>()
                .map(|a| Identity::new(IdType::ID_IPV6_ADDR, a.octets()))
                .map_err(|_| err()),
            _ => {
                if let Ok(a) = value.parse::<Ipv4Addr>() {
                    Ok(Identity::new(IdType::ID_IPV4_ADDR, a.octets()))
                } else if let Ok(a) = value.parse::<Ipv6Addr>() {
                    Ok(Identity::new(IdType::ID_IPV6_ADDR, a.octets()))
                } else if value.contains('@') {
                    Ok(Identity::new(IdType::ID_RFC822_ADDR, value.as_bytes()))
                } else {
                    Ok(Identity::new(IdType::ID_FQDN, value.as_bytes()))
                }
            }
        }
    }
}

/// A group ID (IDg, RFC 9838 §4.2).
pub type GroupId = Identity;

/// A pattern in a group's list of authorised members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityPattern {
    /// Every authenticated identity.
    Any,
    /// Exactly this identity (type and octets).
    Exact(Identity),
    /// A glob over the text form (`*` matches any run of characters), optionally limited
    /// to one ID type: `*.gms.example.com`, `*@example.com`, `fqdn:gm-*`.
    Glob {
        /// The ID type the identity must have, if any.
        id_type: Option<IdType>,
        /// The pattern.
        pattern: String,
    },
}

impl IdentityPattern {
    /// True if `id` matches.
    pub fn matches(&self, id: &Identity) -> bool {
        match self {
            IdentityPattern::Any => true,
            IdentityPattern::Exact(x) => x == id,
            IdentityPattern::Glob { id_type, pattern } => {
                id_type.is_none_or(|t| t == id.id_type)
                    && glob(pattern.as_bytes(), id.text().as_bytes())
            }
        }
    }
}

impl FromStr for IdentityPattern {
    type Err = IdentityParseError;

    /// `%any` or `*` for any; a string containing `*` is a glob (an optional prefix as in
    /// [`Identity`] limits the ID type); anything else is an exact identity.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "%any" || s == "*" {
            return Ok(IdentityPattern::Any);
        }
        if s.contains('*') {
            let (id_type, pattern) = match s.split_once(':') {
                Some(("keyid", p)) => (Some(IdType::ID_KEY_ID), p),
                Some(("fqdn", p)) => (Some(IdType::ID_FQDN), p),
                Some(("email" | "rfc822", p)) => (Some(IdType::ID_RFC822_ADDR), p),
                _ => (None, s),
            };
            return Ok(IdentityPattern::Glob {
                id_type,
                pattern: pattern.to_string(),
            });
        }
        s.parse().map(IdentityPattern::Exact)
    }
}

/// Glob match with `*` only, iterative (no recursion, linear backtracking).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_identities() {
        let g: Identity = "keyid:group-1".parse().unwrap();
        assert_eq!(g, Identity::key_id("group-1"));
        assert_eq!(g.to_string(), "keyid:group-1");
        let a: Identity = "192.0.2.7".parse().unwrap();
        assert_eq!(a.id_type, IdType::ID_IPV4_ADDR);
        assert_eq!(a.data, vec![192, 0, 2, 7]);
        let h: Identity = "keyid:0x00ff".parse().unwrap();
        assert_eq!(h.data, vec![0, 0xff]);
        assert_eq!(h.to_string(), "keyid:0x00ff");
        assert!("keyid:".parse::<Identity>().is_err());
        assert!("ipv4:300.1.1.1".parse::<Identity>().is_err());
    }

    #[test]
    fn glob_patterns() {
        let p: IdentityPattern = "*.gms.example.com".parse().unwrap();
        assert!(p.matches(&Identity::fqdn("a.gms.example.com")));
        assert!(!p.matches(&Identity::fqdn("a.gms.example.org")));
        let typed: IdentityPattern = "fqdn:gm-*".parse().unwrap();
        assert!(typed.matches(&Identity::fqdn("gm-7")));
        assert!(!typed.matches(&Identity::key_id("gm-7")));
        let exact: IdentityPattern = "fqdn:gm1".parse().unwrap();
        assert!(exact.matches(&Identity::fqdn("gm1")));
        assert!(!exact.matches(&Identity::fqdn("gm10")));
        assert!(glob(b"a*b*c", b"axxbyyc"));
        assert!(!glob(b"a*b*c", b"axxbyy"));
        assert!(glob(b"*", b""));
    }
}
