//! A group's configuration at the key server (RFC 9838 §1.2, §4.4): its ID, the
//! Data-Security SA policies, the Rekey SA policy, the group-wide policy, and who may join.

use crate::crypto::keywrap::Kwa;
use crate::crypto::sign::SigningKey;
use crate::identity::{GroupId, IdentityPattern};
use crate::suite::{integ_key_len, EncrSpec};
use crate::wire::{EncrId, IntegId, ProtocolId, SnId, TrafficSelector};
use std::fmt;

/// A configuration error, naming the option at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The option, e.g. `groups.g1.policies.video.encr`.
    pub option: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    fn new(option: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            option: option.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.option, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// The protocol of a Data-Security SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataProtocol {
    /// ESP.
    Esp,
    /// AH.
    Ah,
}

impl DataProtocol {
    /// The Security Protocol ID.
    pub fn protocol_id(self) -> ProtocolId {
        match self {
            DataProtocol::Esp => ProtocolId::ESP,
            DataProtocol::Ah => ProtocolId::AH,
        }
    }
}

/// One Data-Security SA policy (RFC 9838 §4.4.2 with protocol ESP or AH).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataPolicyConfig {
    /// A name for logs and operator commands.
    pub name: String,
    /// ESP or AH.
    pub protocol: DataProtocol,
    /// Encryption (ESP only).
    pub encr: Option<EncrSpec>,
    /// Integrity (required for AH and for non-AEAD ESP).
    pub integ: Option<IntegId>,
    /// Sequence Numbers transform (RFC 9838 §2.6): 0 for single-sender SAs with
    /// anti-replay, 2 for multi-sender SAs. 1 (64-bit) is forbidden for group SAs.
    pub sn: SnId,
    /// Source traffic selector (usually any, or one sender).
    pub src: TrafficSelector,
    /// Destination traffic selector (usually one multicast address).
    pub dst: TrafficSelector,
    /// Lifetime in seconds (GSA_KEY_LIFETIME).
    pub lifetime_secs: u32,
}

/// How GSA_REKEY messages are authenticated (GCAUTH, RFC 9838 §4.4.2.1.1).
#[derive(Debug)]
pub enum GcAuth {
    /// Implicit: only the ability to decrypt (small trusted groups).
    Implicit,
    /// Digital signature with the key server's signing key.
    Signature(SigningKey),
}

/// The Rekey SA policy (GIKE_UPDATE, RFC 9838 §4.4.2).
#[derive(Debug)]
pub struct RekeyPolicyConfig {
    /// Encryption of GSA_REKEY (AES-CBC or AES-GCM-16, as the SK layer supports).
    pub encr: EncrSpec,
    /// Integrity of GSA_REKEY (required unless `encr` is AEAD).
    pub integ: Option<IntegId>,
    /// Key wrap algorithm for keys sent in GSA_REKEY.
    pub kwa: Kwa,
    /// Authentication of GSA_REKEY.
    pub auth: GcAuth,
    /// Source traffic selector: the key server's address, UDP and port.
    pub src: TrafficSelector,
    /// Destination: one multicast address, UDP and one port.
    pub dst: TrafficSelector,
    /// Lifetime in seconds (GSA_KEY_LIFETIME).
    pub lifetime_secs: u32,
}

/// How the key server rekeys a group (RFC 9838 §2.4, §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RekeyBehaviour {
    /// Degree of the LKH key tree (2 to 8); exclusion of one of N members then costs
    /// about `degree · log_degree(N)` wrapped keys (RFC 9838 Appendix A).
    pub lkh_degree: usize,
    /// Members the LKH key tree is built for when the group is created, Key IDs assigned
    /// breadth-first from 1 (degree 2 and 8 members give exactly the tree of RFC 9838
    /// Appendix A.2: nodes 1-6, leaves 7-14). `None`: `lkh_degree` leaves. The tree grows
    /// beyond it on demand either way; each pre-built leaf costs a node key up front.
    pub lkh_initial_capacity: Option<u32>,
    /// Replace the keys on a newcomer's path before it joins, so it cannot read earlier
    /// rekeys (backward access control). Costs one GSA_REKEY per join.
    pub backward_access_control: bool,
    /// Start a rekey this many seconds before an SA's lifetime ends; `None`: a tenth of the
    /// shortest lifetime, at least 5 s.
    pub margin_secs: Option<u32>,
    /// Extra copies of each GSA_REKEY (bit-identical, RFC 9838 §2.4.1.3).
    pub retransmissions: u8,
    /// Time between copies.
    pub retransmit_interval_ms: u32,
    /// Fragment GSA_REKEY messages larger than this many octets (RFC 7383). Applied only
    /// while every member's IKE SA negotiated IKEv2 fragmentation
    /// ([`crate::ike_sa::IkeSaContext::fragmentation`], RFC 9838 §2.4.1.2); otherwise
    /// larger messages go whole, with a warning (docs/decisions.md K19).
    pub fragment_size: Option<usize>,
}

impl RekeyBehaviour {
    /// Members the key tree is built for: `lkh_initial_capacity`, or `lkh_degree`.
    pub(crate) fn lkh_initial_leaves(&self) -> u32 {
        self.lkh_initial_capacity
            .unwrap_or(u32::try_from(self.lkh_degree).unwrap_or(u32::MAX))
    }
}

impl Default for RekeyBehaviour {
    /// Degree 4, a tree built for 4 members, no backward access control, a tenth of the
    /// lifetime as margin, two retransmissions one second apart, no fragmentation.
    fn default() -> Self {
        RekeyBehaviour {
            lkh_degree: 4,
            lkh_initial_capacity: None,
            backward_access_control: false,
            margin_secs: None,
            retransmissions: 2,
            retransmit_interval_ms: 1000,
            fragment_size: None,
        }
    }
}

/// Everything the key server knows about one group.
#[derive(Debug)]
pub struct GroupConfig {
    /// The group ID (IDg).
    pub id: GroupId,
    /// Data-Security SA policies.
    pub data_policies: Vec<DataPolicyConfig>,
    /// Multicast Rekey SA policy; `None` for a group rekeyed only with GSA_INBAND_REKEY.
    pub rekey: Option<RekeyPolicyConfig>,
    /// GWP_ATD: seconds senders wait before using new SAs.
    pub atd_secs: Option<u16>,
    /// GWP_DTD: seconds receivers keep replaced SAs.
    pub dtd_secs: Option<u16>,
    /// GWP_SENDER_ID_BITS: IV bits holding the Sender-ID (RFC 6054), 1 to 32.
    pub sender_id_bits: u16,
    /// Most Sender-IDs one registration may receive (RFC 9838 §2.5.1).
    pub max_sender_ids_per_request: u32,
    /// Members allowed to join.
    pub authorized: Vec<IdentityPattern>,
    /// Most members at once; further registrations get REGISTRATION_FAILED.
    pub capacity: usize,
    /// Send USE_TRANSPORT_MODE: all Data-Security SAs are transport mode (RFC 9838 §2.3.1).
    pub transport_mode: bool,
    /// How the group is rekeyed.
    pub rekey_behaviour: RekeyBehaviour,
}

impl GroupConfig {
    /// A group with defaults: no policies yet, no ATD/DTD, 16 Sender-ID bits, up to 4
    /// Sender-IDs per registration, capacity one million, tunnel mode.
    pub fn new(id: GroupId) -> Self {
        GroupConfig {
            id,
            data_policies: Vec::new(),
            rekey: None,
            atd_secs: None,
            dtd_secs: None,
            sender_id_bits: 16,
            max_sender_ids_per_request: 4,
            authorized: Vec::new(),
            capacity: 1_000_000,
            transport_mode: false,
            rekey_behaviour: RekeyBehaviour::default(),
        }
    }

    /// True if any Data-Security SA uses a counter mode, so senders need Sender-IDs.
    pub fn uses_counter_mode(&self) -> bool {
        self.data_policies.iter().any(|p| {
            p.encr.is_some_and(|e| e.is_counter_mode())
                || p.integ.is_some_and(crate::suite::integ_is_counter_mode)
        })
    }

    /// Checks the configuration against RFC 9838 §4.4.2.1 and what this implementation
    /// supports; the error names the option.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let g = format!("group {}", self.id);
        if self.data_policies.is_empty() && self.rekey.is_none() {
            return Err(ConfigError::new(&g, "needs at least one policy"));
        }
        if self.authorized.is_empty() {
            return Err(ConfigError::new(
                format!("{g}.members"),
                "no member is authorised; list identities or use %any",
            ));
        }
        if self.capacity == 0 {
            return Err(ConfigError::new(
                format!("{g}.capacity"),
                "must be at least 1",
            ));
        }
        if !(1..=32).contains(&self.sender_id_bits) {
            return Err(ConfigError::new(
                format!("{g}.sender_id_bits"),
                "must be 1 to 32",
            ));
        }
        if self.max_sender_ids_per_request == 0 {
            return Err(ConfigError::new(
                format!("{g}.max_sender_ids"),
                "must be at least 1",
            ));
        }
        let mut names = std::collections::HashSet::new();
        for p in &self.data_policies {
            let o = format!("{g}.policies.{}", p.name);
            if !names.insert(p.name.as_str()) {
                return Err(ConfigError::new(o, "duplicate policy name"));
            }
            validate_data_policy(p, &o, self.rekey.is_some())?;
        }
        for (i, p) in self.data_policies.iter().enumerate() {
            let clash = self.data_policies[..i]
                .iter()
                .any(|q| q.protocol != p.protocol && q.src == p.src && q.dst == p.dst);
            if clash {
                return Err(ConfigError::new(
                    format!("{g}.policies.{}", p.name),
                    "ESP and AH policies for the same traffic selectors (RFC 9838 §4.4.1)",
                ));
            }
        }
        if let Some(r) = &self.rekey {
            validate_rekey_policy(r, &format!("{g}.rekey"))?;
        }
        let b = &self.rekey_behaviour;
        if !(crate::lkh::MIN_DEGREE..=crate::lkh::MAX_DEGREE).contains(&b.lkh_degree) {
            return Err(ConfigError::new(
                format!("{g}.rekey.lkh_degree"),
                "must be 2 to 8",
            ));
        }
        if let Some(n) = b.lkh_initial_capacity {
            if n > crate::lkh::MAX_MEMBERS || n as usize > self.capacity {
                return Err(ConfigError::new(
                    format!("{g}.rekey.lkh_initial_capacity"),
                    "must not exceed the group's capacity (nor 2^28)",
                ));
            }
        }
        if b.fragment_size.is_some_and(|f| f < 256) {
            return Err(ConfigError::new(
                format!("{g}.rekey.fragment_size"),
                "must be at least 256 octets",
            ));
        }
        Ok(())
    }
}

fn validate_data_policy(p: &DataPolicyConfig, o: &str, multicast: bool) -> Result<(), ConfigError> {
    match p.protocol {
        DataProtocol::Esp => {
            let e = p.encr.ok_or_else(|| {
                ConfigError::new(format!("{o}.encr"), "ESP needs an encryption algorithm")
            })?;
            if e.key_len().is_none() {
                return Err(ConfigError::new(
                    format!("{o}.encr"),
                    format!("unknown cipher {} or key length {:?}", e.id, e.key_bits),
                ));
            }
            let has_integ = p.integ.is_some_and(|i| i != IntegId::NONE);
            if e.is_aead() && has_integ {
                return Err(ConfigError::new(
                    format!("{o}.integ"),
                    "must be empty with an AEAD cipher",
                ));
            }
            if !e.is_aead() && !has_integ {
                return Err(ConfigError::new(
                    format!("{o}.integ"),
                    "a non-AEAD cipher needs integrity",
                ));
            }
            if e.is_implicit_iv() {
                // RFC 9838 §2.7: only safe with exactly one sender and SN 0; group policy
                // here cannot name that one sender, so every sender would install it.
                return Err(ConfigError::new(
                    format!("{o}.encr"),
                    "implicit-IV ciphers (RFC 8750) need a single designated sender, which \
                     group policy cannot express yet (RFC 9838 §2.7)",
                ));
            }
        }
        DataProtocol::Ah => {
            if p.encr.is_some() {
                return Err(ConfigError::new(
                    format!("{o}.encr"),
                    "AH has no encryption",
                ));
            }
            if p.integ.is_none_or(|i| i == IntegId::NONE) {
                return Err(ConfigError::new(
                    format!("{o}.integ"),
                    "AH needs an integrity algorithm",
                ));
            }
        }
    }
    if let Some(i) = p.integ {
        if integ_key_len(i).is_none() {
            return Err(ConfigError::new(
                format!("{o}.integ"),
                format!("unknown algorithm {i}"),
            ));
        }
    }
    if !matches!(p.sn, SnId::SEQ32 | SnId::UNSPECIFIED32) {
        return Err(ConfigError::new(
            format!("{o}.sn"),
            "group SAs use 32-bit sequential (0) or unspecified (2) numbers (RFC 9838 §2.6)",
        ));
    }
    if multicast && p.lifetime_secs == 0 {
        return Err(ConfigError::new(
            format!("{o}.lifetime"),
            "must be set when the group is rekeyed by multicast (RFC 9838 §4.4.2.2.1)",
        ));
    }
    Ok(())
}

fn validate_rekey_policy(r: &RekeyPolicyConfig, o: &str) -> Result<(), ConfigError> {
    let sk_ok = matches!(
        (r.encr.id, r.encr.key_bits),
        (
            EncrId::ENCR_AES_CBC | EncrId::ENCR_AES_GCM_16,
            Some(128 | 192 | 256)
        )
    );
    if !sk_ok {
        return Err(ConfigError::new(
            format!("{o}.encr"),
            "the Rekey SA supports aes-cbc and aes-gcm-16 with 128, 192 or 256 bits",
        ));
    }
    let has_integ = r.integ.is_some_and(|i| i != IntegId::NONE);
    if r.encr.is_aead() == has_integ {
        return Err(ConfigError::new(
            format!("{o}.integ"),
            "needed with aes-cbc, forbidden with aes-gcm-16",
        ));
    }
    if let Some(i) = r.integ.filter(|i| *i != IntegId::NONE) {
        if !matches!(
            i,
            IntegId::AUTH_HMAC_SHA2_256_128
                | IntegId::AUTH_HMAC_SHA2_384_192
                | IntegId::AUTH_HMAC_SHA2_512_256
        ) {
            return Err(ConfigError::new(
                format!("{o}.integ"),
                "use an HMAC-SHA2 algorithm",
            ));
        }
    }
    if r.kwa == Kwa::KwArx {
        return Err(ConfigError::new(
            format!("{o}.kwa"),
            "KW_ARX is not supported",
        ));
    }
    if r.lifetime_secs == 0 {
        return Err(ConfigError::new(format!("{o}.lifetime"), "must be set"));
    }
    match &r.dst {
        TrafficSelector::Ipv4 {
            ip_protocol: 17,
            start_port,
            end_port,
            start,
            end,
        } if start == end && start_port == end_port && start.is_multicast() => Ok(()),
        TrafficSelector::Ipv6 {
            ip_protocol: 17,
            start_port,
            end_port,
            start,
            end,
        } if start == end && start_port == end_port && start.is_multicast() => Ok(()),
        _ => Err(ConfigError::new(
            format!("{o}.destination"),
            "must be one multicast address, UDP, one port (RFC 9838 §4.4.2)",
        )),
    }
}
