//! The group member (GM) role of G-IKEv2 (RFC 9838 §2.3): one [`GroupMember`] per
//! registration IKE SA builds GSA_AUTH / GSA_REGISTRATION requests and processes the
//! responses into SA install descriptions for the host.
//!
//! Sans-IO and single-threaded: a member belongs to one IKE SA and needs no lock. A
//! rejected response changes no state.

mod config;
mod install;
mod iv;
mod rekey;
mod request;
mod response;
mod timers;

pub use config::{Acceptance, MembershipConfig, SenderRole};
pub use install::{Direction, Registration, RekeyAuth, RekeySaInfo, RekeySaState, SaInstall};
pub use iv::{counter_mode_iv, IvError, IvSequence};
pub use rekey::{GmRekeyError, RekeyResult, SaRemoval};
pub use request::{build_sag, join_payloads, leave_payloads};
pub use timers::{GmAction, ReRegisterReason};

use crate::crypto::CryptoError;
use crate::identity::GroupId;
use crate::ike_sa::IkeSaContext;
use crate::time::Time;
use crate::wire::{NotifyType, Payload, ProtocolId};
use std::collections::HashMap;
use std::fmt;

/// Why a registration did not succeed at the member.
#[derive(Debug)]
#[non_exhaustive]
pub enum GmError {
    /// The key server refused with this notify (INVALID_GROUP_ID, AUTHORIZATION_FAILED,
    /// REGISTRATION_FAILED, NO_PROPOSAL_CHOSEN, ...).
    Rejected(NotifyType),
    /// The policy is well-formed but this member does not accept it: leave with
    /// GSA_REGISTRATION + NO_PROPOSAL_CHOSEN (RFC 9838 §2.3.1).
    PolicyUnacceptable(String),
    /// The response breaks RFC 9838 (missing, duplicated or inconsistent payloads,
    /// attributes or keys).
    Malformed(String),
    /// A Group Key Bag names an SA the GSA payload does not describe.
    UnknownSpi {
        /// Protocol of the bag.
        protocol: ProtocolId,
        /// Its SPI.
        spi: Vec<u8>,
    },
    /// A key is wrapped under a KWK this member does not hold.
    UnknownKwk(u32),
    /// A wrapped key did not unwrap (wrong KWK or tampered).
    Unwrap(CryptoError),
    /// No request for this group is outstanding.
    NoPendingRequest(GroupId),
}

impl GmError {
    /// The notify to leave the group with (GSA_REGISTRATION), when this error means the
    /// member cannot use what it got: NO_PROPOSAL_CHOSEN for an unacceptable policy,
    /// REGISTRATION_FAILED for a response it could not process.
    pub fn leave_notify(&self) -> Option<NotifyType> {
        match self {
            GmError::PolicyUnacceptable(_) => Some(NotifyType::NO_PROPOSAL_CHOSEN),
            GmError::Malformed(_)
            | GmError::UnknownSpi { .. }
            | GmError::UnknownKwk(_)
            | GmError::Unwrap(_) => Some(NotifyType::REGISTRATION_FAILED),
            GmError::Rejected(_) | GmError::NoPendingRequest(_) => None,
        }
    }
}

impl fmt::Display for GmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GmError::Rejected(n) => write!(f, "key server refused: {n}"),
            GmError::PolicyUnacceptable(r) => write!(f, "policy not acceptable: {r}"),
            GmError::Malformed(r) => write!(f, "malformed response: {r}"),
            GmError::UnknownSpi { protocol, spi } => write!(
                f,
                "key bag for unknown SA {protocol} {}",
                crate::wire::hex(spi)
            ),
            GmError::UnknownKwk(id) => write!(f, "key wrapped under unknown KWK ID {id}"),
            GmError::Unwrap(e) => write!(f, "key unwrap: {e}"),
            GmError::NoPendingRequest(g) => write!(f, "no registration pending for {g}"),
        }
    }
}

impl std::error::Error for GmError {}

/// What the member remembers about a group it belongs to.
#[derive(Debug)]
pub struct Membership {
    /// Sender-IDs of the latest registration.
    pub sender_ids: Vec<u32>,
    /// GWP_SENDER_ID_BITS of the latest registration.
    pub sender_id_bits: Option<u16>,
    /// GWP_ATD and GWP_DTD in seconds.
    pub atd_dtd_secs: (u16, u16),
    /// SPIs of the Data-Security SAs.
    pub data_sa_spis: Vec<[u8; 4]>,
    /// The Rekey SA, if the group is rekeyed by multicast.
    pub rekey: Option<RekeySaState>,
    /// When it registered.
    pub registered_at: Time,
    /// The LKH Working Key Path (empty without a key tree).
    pub working_path: crate::lkh::WorkingKeyPath,
    /// The configuration it registered with (role and acceptance for later rekeys).
    pub(crate) config: MembershipConfig,
    /// Reassembly of fragmented GSA_REKEY messages.
    pub(crate) receiver: crate::gsa_rekey::RekeyReceiver,
    /// The Rekey SA replaced last, recognised (never accepted, docs/decisions.md K12) until
    /// its GWP_DTD runs out; `on_timeout` forgets it then.
    pub(crate) previous_rekey: Option<(RekeySaState, Time)>,
    /// USE_TRANSPORT_MODE was sent at registration (applies to every SA of the group).
    pub(crate) transport_mode: bool,
    /// SPIs announced as GSA_NEXT_SPI for SAs that will replace current ones
    /// (RFC 9838 §4.4.2.2.3).
    pub next_spis: Vec<Vec<u8>>,
    /// Removals, re-registration and soft lifetimes to watch.
    pub(crate) timers: timers::MemberTimers,
    /// The protocol of each Data-Security SA (Deletes name SPIs per protocol).
    pub(crate) sa_protocols: Vec<([u8; 4], crate::wire::ProtocolId)>,
}

impl Membership {
    /// The reassembly of fragmented GSA_REKEY messages (RFC 9838 §2.4.1.2), for its
    /// bounds (docs/decisions.md K27).
    pub fn reassembly(&self) -> &crate::gsa_rekey::RekeyReceiver {
        &self.receiver
    }
}

#[derive(Debug)]
enum Pending {
    /// A join request built from this configuration: the response is judged by the same
    /// role and acceptance the request announced.
    Join(MembershipConfig),
    Leave,
}

/// What processing a response achieved.
#[derive(Debug)]
pub enum ResponseOutcome {
    /// Registered (or re-registered): install these SAs.
    Registered(Registration),
    /// The member left the group; remove its SAs.
    Left(GroupId),
}

/// The member's side of one registration IKE SA.
#[derive(Debug)]
pub struct GroupMember {
    ike_sa: IkeSaContext,
    pending: HashMap<GroupId, Pending>,
    groups: HashMap<GroupId, Membership>,
}

impl GroupMember {
    /// A member on the IKE SA described by `ike_sa` (peer = the key server).
    pub fn new(ike_sa: IkeSaContext) -> Self {
        GroupMember {
            ike_sa,
            pending: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    /// The IKE SA context.
    pub fn ike_sa(&self) -> &IkeSaContext {
        &self.ike_sa
    }

    /// Replaces the IKE SA context after the IKE SA was rekeyed (new SK_d, new GSK_w).
    pub fn set_ike_sa(&mut self, ike_sa: IkeSaContext) {
        self.ike_sa = ike_sa;
    }

    /// The group payloads of a join request, for GSA_AUTH (after IDi/AUTH) or
    /// GSA_REGISTRATION: IDg, SAg and N(GROUP_SENDER) for senders.
    pub fn join_request(&mut self, cfg: &MembershipConfig) -> Vec<Payload> {
        self.pending
            .insert(cfg.group.clone(), Pending::Join(cfg.clone()));
        join_payloads(cfg)
    }

    /// A GSA_REGISTRATION request that leaves `group` with `reason`
    /// (REGISTRATION_FAILED, or NO_PROPOSAL_CHOSEN for an unacceptable policy).
    pub fn leave_request(&mut self, group: &GroupId, reason: NotifyType) -> Vec<Payload> {
        self.pending.insert(group.clone(), Pending::Leave);
        leave_payloads(group, reason)
    }

    /// Processes the decrypted payloads of the response to the last request for `group`,
    /// judged by the configuration that request was built from. On success the
    /// membership's earlier state is replaced (RFC 9838 §2.3.3); on error nothing changes,
    /// except that the request is no longer pending once the key server has answered
    /// with an error notify.
    pub fn process_response(
        &mut self,
        group: &GroupId,
        payloads: &[Payload],
        now: Time,
    ) -> Result<ResponseOutcome, GmError> {
        let cfg = match self.pending.get(group) {
            None => return Err(GmError::NoPendingRequest(group.clone())),
            Some(Pending::Leave) => return self.process_leave_response(group, payloads),
            Some(Pending::Join(cfg)) => cfg.clone(),
        };
        let cfg = &cfg;
        let current = self.groups.get(group).and_then(|m| m.rekey.as_ref());
        let processed = match response::process(&self.ike_sa, cfg, current, payloads, now) {
            Ok(p) => p,
            Err(e) => {
                if let GmError::Rejected(n) = &e {
                    self.pending.remove(group);
                    log::info!("group {group}: registration refused with {n}");
                }
                return Err(e);
            }
        };
        self.pending.remove(group);
        let reg = processed.registration;
        let mut member_timers = timers::MemberTimers::default();
        for sa in &reg.data_sas {
            if let Some(e) = sa.expires_at {
                member_timers
                    .soft_limits
                    .push((sa.spi.to_vec(), timers::soft_limit(now, e)));
            }
        }
        if let Some(r) = &processed.rekey {
            member_timers
                .soft_limits
                .push((r.spi.to_vec(), timers::soft_limit(now, r.expires_at)));
        }
        // Debug, not info: the host logs the registration once (strongSwan: "gikev2:
        // registered to group ..."), so a member writes one line per registration.
        log::debug!(
            "group {group}: registered, {} data SA(s), {} Sender-ID(s){}",
            reg.data_sas.len(),
            reg.sender_ids.len(),
            if processed.rekey.is_some() {
                ", multicast Rekey SA"
            } else {
                ""
            }
        );
        self.groups.insert(
            group.clone(),
            Membership {
                sender_ids: reg.sender_ids.clone(),
                sender_id_bits: reg.sender_id_bits,
                atd_dtd_secs: (reg.atd_secs, reg.dtd_secs),
                data_sa_spis: reg.data_sas.iter().map(|s| s.spi).collect(),
                rekey: processed.rekey,
                registered_at: now,
                working_path: processed.path,
                config: cfg.clone(),
                receiver: crate::gsa_rekey::RekeyReceiver::new(),
                previous_rekey: None,
                transport_mode: processed.transport_mode,
                next_spis: processed.next_spis,
                timers: member_timers,
                sa_protocols: reg.data_sas.iter().map(|s| (s.spi, s.protocol)).collect(),
            },
        );
        Ok(ResponseOutcome::Registered(reg))
    }

    /// RFC 9838 §2.3.2: the answer to leaving is an empty SK payload.
    fn process_leave_response(
        &mut self,
        group: &GroupId,
        payloads: &[Payload],
    ) -> Result<ResponseOutcome, GmError> {
        let error = payloads.iter().find_map(|p| match &p.body {
            crate::wire::PayloadBody::Notify(n) if n.notify_type.is_error() => Some(n.notify_type),
            _ => None,
        });
        if let Some(n) = error {
            self.pending.remove(group);
            return Err(GmError::Rejected(n));
        }
        if !payloads.is_empty() {
            return Err(GmError::Malformed(
                "the answer to leaving must be empty".into(),
            ));
        }
        self.pending.remove(group);
        self.groups.remove(group);
        log::info!("group {group}: left");
        Ok(ResponseOutcome::Left(group.clone()))
    }

    /// The group that announced `spi` as the SPI of a coming SA (GSA_NEXT_SPI). Traffic on
    /// such an SPI means this member missed a GSA_REKEY: it SHOULD register again
    /// (RFC 9838 §4.4.2.2.3).
    pub fn group_announcing_next_spi(&self, spi: &[u8]) -> Option<&GroupId> {
        self.groups
            .iter()
            .find(|(_, m)| m.next_spis.iter().any(|n| n[..] == spi[..]))
            .map(|(g, _)| g)
    }

    /// The membership of a group.
    pub fn membership(&self, group: &GroupId) -> Option<&Membership> {
        self.groups.get(group)
    }

    /// Groups this member belongs to.
    pub fn groups(&self) -> impl Iterator<Item = &GroupId> {
        self.groups.keys()
    }
}
