//! The key server (GCKS) role of G-IKEv2 (RFC 9838 §1.2, §2.3): named groups, the
//! registration exchanges GSA_AUTH and GSA_REGISTRATION, policy, keys and Sender-IDs.
//!
//! Sans-IO: the host hands over the decrypted request payloads, the IKE SA context and the
//! time; [`Gcks::handle_request`] returns the payloads of the response and events. A
//! rejected request changes no state.

mod config;
mod group;
mod registration;
mod rekey;
mod sag;
mod sender_id;

pub use config::{
    ConfigError, DataPolicyConfig, DataProtocol, GcAuth, GroupConfig, RekeyBehaviour,
    RekeyPolicyConfig,
};
pub use group::{Group, MemberInfo};
pub use registration::{GcksEvent, GcksResponse, Outcome};
pub use rekey::{
    wrap_key_attribute_len, Exclusion, GcksOutput, NotExcluded, RekeyMessage, KEK_CHANGE_HEADROOM,
    MAX_EXCLUDED_PER_MESSAGE,
};
pub use sag::{supports as sag_supports, RequiredSa};
pub use sender_id::{Allocation, SenderIdCounter};

use crate::crypto::CryptoError;
use crate::executor::SharedExecutor;
use crate::identity::GroupId;
use crate::time::Time;
use std::collections::HashMap;
use std::fmt;

/// Failures of key server operations other than protocol rejections (which are
/// responses, see [`Outcome::Rejected`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum GcksError {
    /// The group configuration is invalid.
    Config(ConfigError),
    /// A group with this ID exists already.
    DuplicateGroup(GroupId),
    /// No group with this ID.
    UnknownGroup(GroupId),
    /// A cryptographic operation failed (random numbers, key wrap, signing).
    Crypto(CryptoError),
    /// The LKH key tree refused an operation.
    Lkh(crate::lkh::LkhError),
    /// A GSA_REKEY could not be built.
    RekeyMessage(crate::gsa_rekey::RekeyMessageError),
    /// No member with this identity in the group.
    UnknownMember(crate::identity::Identity),
    /// The member is named twice in one request.
    DuplicateMember(crate::identity::Identity),
    /// The operation needs a multicast Rekey SA, which the group does not have.
    NoRekeySa(GroupId),
    /// The Rekey SA has used every Message ID (RFC 9838 §2.4.1.3: they do not wrap; a
    /// member accepts nothing after 0xFFFFFFFF, docs/decisions.md K8, K13). Unreachable
    /// in practice: periodic rekeys replace the Rekey SA after a handful of messages.
    MessageIdsExhausted(GroupId),
}

impl fmt::Display for GcksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcksError::Config(e) => write!(f, "configuration: {e}"),
            GcksError::DuplicateGroup(g) => write!(f, "group {g} exists already"),
            GcksError::UnknownGroup(g) => write!(f, "no group {g}"),
            GcksError::Crypto(e) => write!(f, "crypto: {e}"),
            GcksError::Lkh(e) => write!(f, "key tree: {e}"),
            GcksError::RekeyMessage(e) => write!(f, "GSA_REKEY: {e}"),
            GcksError::UnknownMember(m) => write!(f, "no member {m}"),
            GcksError::DuplicateMember(m) => write!(f, "member {m} named twice"),
            GcksError::NoRekeySa(g) => write!(f, "group {g} has no multicast Rekey SA"),
            GcksError::MessageIdsExhausted(g) => {
                write!(f, "group {g}: the Rekey SA has used every Message ID")
            }
        }
    }
}

impl std::error::Error for GcksError {}

impl From<crate::lkh::LkhError> for GcksError {
    fn from(e: crate::lkh::LkhError) -> Self {
        GcksError::Lkh(e)
    }
}

impl From<crate::gsa_rekey::RekeyMessageError> for GcksError {
    fn from(e: crate::gsa_rekey::RekeyMessageError) -> Self {
        GcksError::RekeyMessage(e)
    }
}

impl From<crate::wire::EncodeError> for GcksError {
    fn from(e: crate::wire::EncodeError) -> Self {
        GcksError::RekeyMessage(crate::gsa_rekey::RekeyMessageError::Encode(e))
    }
}

impl From<CryptoError> for GcksError {
    fn from(e: CryptoError) -> Self {
        GcksError::Crypto(e)
    }
}

/// The key server: a set of groups.
#[derive(Debug, Default)]
pub struct Gcks {
    groups: HashMap<GroupId, Group>,
    executor: SharedExecutor,
}

impl Gcks {
    /// A key server with no groups.
    pub fn new() -> Self {
        Gcks::default()
    }

    /// Validates `config` and creates the group with fresh SAs and keys.
    pub fn add_group(&mut self, config: GroupConfig, now: Time) -> Result<(), GcksError> {
        config.validate().map_err(GcksError::Config)?;
        if self.groups.contains_key(&config.id) {
            return Err(GcksError::DuplicateGroup(config.id));
        }
        let id = config.id.clone();
        let mut group = Group::new(config, now, &|spi| self.spi_in_use(spi))?;
        group.executor = self.executor.clone();
        log::info!(
            "group {id}: created with {} data SA(s){}",
            group.data_sas.len(),
            if group.rekey_sa.is_some() {
                " and a multicast Rekey SA"
            } else {
                ""
            }
        );
        self.groups.insert(id, group);
        Ok(())
    }

    /// Hands the key server the host's threads (the library starts none): the key wraps of
    /// large LKH rekeys, a batch exclusion above all (RFC 9838 §3.2), are split into jobs
    /// `executor` runs. Applies to every group, present and future. The messages are the
    /// same with any executor.
    pub fn set_executor(&mut self, executor: SharedExecutor) {
        for g in self.groups.values_mut() {
            g.executor = executor.clone();
        }
        self.executor = executor;
    }

    /// Removes a group and forgets its keys.
    pub fn remove_group(&mut self, id: &GroupId) -> Result<Group, GcksError> {
        self.groups
            .remove(id)
            .ok_or_else(|| GcksError::UnknownGroup(id.clone()))
    }

    /// The IKE SA with SPIs `old` (SPIi | SPIr) was rekeyed into one with SPIs `new`
    /// (RFC 7296 §2.18): members that registered over it are now reached over the new one
    /// (GSA_INBAND_REKEY, RFC 9838 §2.4.2), and `fragmentation` says whether the new one
    /// supports IKEv2 fragmentation (RFC 7383; it normally inherits the old one's, RFC
    /// 9838 §2.4.1.2). Returns how many memberships moved.
    pub fn ike_sa_rekeyed(&mut self, old: &[u8; 16], new: &[u8; 16], fragmentation: bool) -> usize {
        self.groups
            .values_mut()
            .map(|g| g.move_members(old, new, fragmentation))
            .sum()
    }

    /// A group by ID.
    pub fn group(&self, id: &GroupId) -> Option<&Group> {
        self.groups.get(id)
    }

    /// All groups.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    fn spi_in_use(&self, spi: &[u8]) -> bool {
        self.groups.values().any(|g| g.spis_in_use(spi))
    }
}
