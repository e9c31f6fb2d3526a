//! Group rekeying at the key server (RFC 9838 §2.4, §3.2, Appendix A): GSA_REKEY messages
//! for a new Rekey SA (KEK) through the LKH key tree, new Data-Security SAs (TEKs),
//! exclusion with forward access control, periodic rekeys before lifetimes end,
//! retransmission, GSA_INBAND_REKEY content, and the timers that drive them.
//!
//! Forward access control (§3.2.1): a message that changes the KEK carries only the new
//! KEK; the new TEKs follow in a second message under the new KEK (docs/decisions.md K6),
//! also for periodic rekeys, since members may have left since the last one. Each KEK
//! change fits one KD payload: members that left are cut off in as many KEK changes as
//! their paths need, all before the TEKs (L10).

use super::config::GcAuth;
use super::group::{wire_key, DataSa, Group, HeldSa, RekeySa};
use super::{Gcks, GcksError};
use crate::crypto::keywrap::KeyWrapper;
use crate::crypto::sk::SkProtector;
use crate::gsa_rekey::{self, Authenticator};
use crate::identity::{GroupId, Identity};
use crate::ike_sa::IkeSaContext;
use crate::lkh::{ExclusionUndo, LeafId, RekeyPlan};
use crate::suite::integ_key_len;
use crate::time::Time;
use crate::wire::{
    Attribute, DeletePayload, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, GsaAttrType, GsaPayload,
    GsaPolicy, KdPayload, KeyBag, MemberKeyBag, MemberKeyBagAttr, Payload, PayloadBody, ProtocolId,
    TrafficSelector, WrappedKey,
};

/// One GSA_REKEY message, ready to send: its datagrams (several when fragmented) go to the
/// Rekey SA destination. Retransmissions repeat exactly these octets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RekeyMessage {
    /// The group.
    pub group: GroupId,
    /// Rekey SA SPI the message travels on.
    pub spi: [u8; 16],
    /// Its Message ID.
    pub message_id: u32,
    /// Where to send it: the Rekey SA's destination selector (multicast address, UDP
    /// port).
    pub dst: TrafficSelector,
    /// The source selector (the key server's address and port).
    pub src: TrafficSelector,
    /// The datagrams (without the non-ESP marker).
    pub datagrams: Vec<Vec<u8>>,
}

/// What the key server asks the host to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GcksOutput {
    /// Send a GSA_REKEY (first transmission or a retransmission).
    Multicast(RekeyMessage),
    /// An inband group's SAs were replaced: for every listed member's IKE SA, send
    /// GSA_INBAND_REKEY with the payloads of [`Gcks::inband_rekey_payloads`].
    InbandRekeyNeeded {
        /// The group.
        group: GroupId,
        /// Members with their IKE SA SPIs.
        members: Vec<(Identity, [u8; 16])>,
    },
}

/// What [`Group::restart`] did: the members it let go (with their records) and the
/// announcement of their exclusion, if one was built.
pub(crate) type Restarted = (Vec<(Identity, super::MemberInfo)>, Option<RekeyMessage>);

/// What [`Gcks::exclude`] did (RFC 9838 §3.2; docs/decisions.md K9, K15).
///
/// Every output changed the group's state (a new Rekey SA, a Message ID used) and must be
/// sent in order, also when `not_excluded` or `teks_deferred` report a failure: the
/// members follow only the messages they receive.
#[derive(Debug, Default)]
#[must_use = "the outputs changed the group's state: send them"]
pub struct Exclusion {
    /// GSA_REKEY messages (or inband targets) to send, in order.
    pub outputs: Vec<GcksOutput>,
    /// Members no longer in the group (refused at registration until
    /// [`Gcks::readmit`]), in the order the exclusion took them (by position in the key
    /// tree, K26).
    pub excluded: Vec<Identity>,
    /// Members still in the group because the KEK change that was to exclude them failed
    /// (an internal error, not the input): nothing of theirs changed. Exclude them again.
    pub not_excluded: Option<NotExcluded>,
    /// The new Data-Security SAs that must follow the KEK changes (§3.2.1) could not be
    /// built: until [`Gcks::on_timeout`] sends them (it retries every 5 s,
    /// [`Group::teks_owed`]), the excluded members can still read group traffic.
    pub teks_deferred: Option<GcksError>,
}

impl Exclusion {
    /// `true` if every member asked for was excluded and the new Data-Security SAs sent.
    pub fn is_complete(&self) -> bool {
        self.not_excluded.is_none() && self.teks_deferred.is_none()
    }
}

/// Members an exclusion left in the group, and why.
#[derive(Debug)]
pub struct NotExcluded {
    /// The members, in the order the exclusion took them (by position in the key tree).
    pub members: Vec<Identity>,
    /// The failure of the KEK change that was to exclude the first of them.
    pub error: GcksError,
}

/// Most members excluded by one KEK-change message (a KD payload holds 64 KiB).
pub const MAX_EXCLUDED_PER_MESSAGE: usize = 32;

/// Octets a KEK-change GSA_REKEY may need besides its WRAP_KEY attributes (RFC 9838
/// §2.4.1, docs/decisions.md L10): IKE header (28), SK payload header, IV, padding and ICV
/// (at most 72), AUTH with an RFC 7427 signature (about 600 with RSA-4096), the GSA
/// payload with the Rekey SA policy (about 150), and the KD payload with its Group Key Bag
/// of up to 8 SA_KEYs (at most 1,300). The largest this key server builds (AES-CBC-256 with
/// HMAC-SHA2-512-256, RSA-4096, degree 8) measures 2,000 octets: unit test
/// `a_kek_change_within_the_budget_fits_one_datagram`.
pub const KEK_CHANGE_HEADROOM: usize = 4096;

/// Octets of an RFC 7383 fragment spent on anything but the message (IKE header 28,
/// SKF header 8, IV, padding and ICV), at most.
const FRAGMENT_OVERHEAD: usize = 128;

/// Octets of one WRAP_KEY attribute (RFC 9838 §4.5.3.1, §4.5.4): attribute header (4),
/// Key ID and KWK ID (8), and the RFC 5649 output for a key of `key_len` octets.
pub const fn wrap_key_attribute_len(key_len: usize) -> usize {
    4 + WrappedKey::HEADER_LEN + crate::crypto::keywrap::wrapped_len(key_len)
}

/// A message with copies still to send.
#[derive(Clone, Debug)]
pub(crate) struct PendingSend {
    message: RekeyMessage,
    copies_left: u8,
    next_at: Time,
}

impl RekeySa {
    /// The SK protector of GSA_REKEY on this Rekey SA: GSK_e and GSK_a of its KEYMAT.
    fn protector(&self, group: &Group) -> Result<SkProtector, GcksError> {
        let r = group
            .config
            .rekey
            .as_ref()
            .ok_or_else(|| GcksError::NoRekeySa(group.config.id.clone()))?;
        let e_len = r.encr.key_len().unwrap_or(0);
        let a_len = r.integ.and_then(integ_key_len).unwrap_or(0);
        let k = self.keymat.as_bytes();
        let (Some(gsk_e), Some(gsk_a)) = (k.get(..e_len), k.get(e_len..e_len + a_len)) else {
            return Err(GcksError::Crypto(crate::crypto::CryptoError::InvalidKey(
                "Rekey SA KEYMAT",
            )));
        };
        crate::protect::protector_for(r.encr, r.integ, gsk_e, gsk_a).map_err(|e| match e {
            crate::protect::ProtectError::Crypto(c) => GcksError::Crypto(c),
            other => GcksError::Crypto(crate::crypto::CryptoError::Unsupported(
                if matches!(other, crate::protect::ProtectError::UnsupportedAlgorithm(_)) {
                    "Rekey SA algorithm"
                } else {
                    "Rekey SA protection"
                },
            )),
        })
    }

    /// GSK_w: the last part of the KEYMAT (RFC 9838 §3.4).
    fn gsk_w<'a>(&'a self, group: &Group) -> &'a [u8] {
        let kwk = group.config.rekey.as_ref().map_or(0, |r| r.kwa.kwk_len());
        let k = self.keymat.as_bytes();
        &k[k.len().saturating_sub(kwk)..]
    }
}

impl Group {
    /// Every SPI the group uses or recently used.
    pub(crate) fn all_spis(&self) -> Vec<Vec<u8>> {
        let data = self.data_sas.iter().chain(&self.previous_data_sas);
        let rekey = self.rekey_sa.iter().chain(&self.previous_rekey_sa);
        data.clone()
            .filter_map(|s| s.next_spi.map(|n| n.to_vec()))
            .chain(rekey.clone().map(|r| r.next_spi.to_vec()))
            .chain(data.map(|s| s.spi.to_vec()))
            .chain(
                self.rekey_sa
                    .iter()
                    .chain(&self.previous_rekey_sa)
                    .map(|r| r.spi.to_vec()),
            )
            .collect()
    }

    /// The Rekey SA policy as sent in GSA_REKEY: no GCAUTH (§4.4.2.1.1).
    fn kek_policy(&self, rs: &RekeySa, now: Time) -> Option<GroupPolicy> {
        let r = self.config.rekey.as_ref()?;
        Some(GroupPolicy::Sa(GsaPolicy {
            protocol: ProtocolId::GIKE_UPDATE,
            spi: rs.spi.to_vec(),
            src_ts: r.src.clone(),
            dst_ts: r.dst.clone(),
            transforms: self.rekey_transforms(false),
            attributes: vec![
                Group::lifetime_attr(now, rs.expires),
                Group::next_spi_attr(&rs.next_spi),
            ],
        }))
    }

    fn tek_policies(&self, sas: &[DataSa], now: Time) -> Vec<GroupPolicy> {
        sas.iter()
            .map(|sa| {
                let p = &self.config.data_policies[sa.policy];
                let mut attributes: Vec<Attribute<GsaAttrType>> = Vec::new();
                if let Some(e) = sa.expires {
                    attributes.push(Group::lifetime_attr(now, e));
                }
                if let Some(next) = &sa.next_spi {
                    attributes.push(Group::next_spi_attr(next));
                }
                GroupPolicy::Sa(GsaPolicy {
                    protocol: p.protocol.protocol_id(),
                    spi: sa.spi.to_vec(),
                    src_ts: p.src.clone(),
                    dst_ts: p.dst.clone(),
                    transforms: self.data_transforms(sa.policy),
                    attributes,
                })
            })
            .collect()
    }

    /// Group Key Bags for `sas`, each SA_KEY(0, 0) under `gsk_w` (the GSK_w of the SA the
    /// message travels on).
    fn tek_bags(&self, sas: &[DataSa], wrapper: &mut KeyWrapper) -> Result<Vec<KeyBag>, GcksError> {
        let keymats: Vec<&[u8]> = sas.iter().map(|s| s.keymat.as_bytes()).collect();
        let wrapped = wrapper.wrap_many(&keymats)?;
        Ok(sas
            .iter()
            .zip(wrapped)
            .map(|(sa, encrypted)| {
                KeyBag::Group(GroupKeyBag {
                    protocol: self.config.data_policies[sa.policy].protocol.protocol_id(),
                    spi: sa.spi.to_vec(),
                    attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                        key_id: 0,
                        kwk_id: 0,
                        encrypted,
                    })],
                })
            })
            .collect())
    }

    /// The exclusion signal (RFC 9838 §2.4.3): a Delete of GIKE_UPDATE with SPI 0, sent as
    /// one all-zero 16-octet SPI (docs/decisions.md K5).
    fn exclusion_delete() -> Payload {
        Payload::new(PayloadBody::Delete(DeletePayload {
            protocol: ProtocolId::GIKE_UPDATE,
            spi_size: 16,
            spis: vec![vec![0; 16]],
        }))
    }

    /// One Delete payload per protocol for the SAs in `held` (RFC 7296 §3.11).
    fn delete_held(held: &[HeldSa]) -> Vec<Payload> {
        let mut by_protocol: Vec<(ProtocolId, Vec<Vec<u8>>)> = Vec::new();
        for &(p, spi) in held {
            match by_protocol.iter_mut().find(|(q, _)| *q == p) {
                Some((_, v)) => v.push(spi.to_vec()),
                None => by_protocol.push((p, vec![spi.to_vec()])),
            }
        }
        by_protocol
            .into_iter()
            .map(|(protocol, spis)| {
                Payload::new(PayloadBody::Delete(DeletePayload {
                    protocol,
                    spi_size: 4,
                    spis,
                }))
            })
            .collect()
    }

    /// Builds, signs and queues one GSA_REKEY on the current Rekey SA.
    fn send(&mut self, inner: Vec<Payload>, now: Time) -> Result<RekeyMessage, GcksError> {
        self.send_on(false, inner, now)
    }

    /// Every member out at once: new Data-Security SAs, a new Rekey SA and a fresh key tree
    /// whose Key IDs continue above the old ones (no key a member holds survives,
    /// docs/decisions.md R5), and the members told with a Delete of GIKE_UPDATE SPI 0 on
    /// the Rekey SA they hold (RFC 9838 §2.4.3; [`Group::announce_exclusion_of_all`]).
    /// Used at Sender-ID exhaustion (§2.5.1) and when an exclusion names every member
    /// (an LKH plan would have no top-level key left to wrap the new KEK under). Returns
    /// the members and the announcement (`None` without members or when it could not be
    /// built, which is logged). On error nothing changed.
    pub(crate) fn restart(
        &mut self,
        now: Time,
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Restarted, GcksError> {
        let data_sas = self.new_data_sas(now, in_use)?;
        let rekey_sa = self.new_rekey_sa(now, in_use)?;
        let tree = match (self.lkh.as_ref(), &self.config.rekey) {
            (Some(old), Some(r)) => {
                let b = &self.config.rekey_behaviour;
                // Above the old IDs while there is room (R5), else from 1 again.
                let first = old.next_key_id().unwrap_or(1);
                Some(crate::lkh::LkhTree::with_capacity_from(
                    b.lkh_degree,
                    r.kwa.kwk_len(),
                    b.lkh_initial_leaves(),
                    first,
                )?)
            }
            _ => None,
        };
        self.data_sas = data_sas;
        self.previous_rekey_sa = std::mem::replace(&mut self.rekey_sa, rekey_sa);
        if tree.is_some() {
            self.lkh = tree;
        }
        let members = self.drain_members();
        self.keys_issued = false;
        self.sender_ids.reset();
        let mut announcement = None;
        if !members.is_empty() && self.previous_rekey_sa.is_some() {
            match self.announce_exclusion_of_all(now) {
                Ok(m) => announcement = Some(m),
                Err(e) => log::error!(
                    "group {}: cannot announce the exclusion: {e}",
                    self.config.id
                ),
            }
        }
        Ok((members, announcement))
    }

    /// Tells the members excluded together (Sender-ID exhaustion, RFC 9838 §2.5.1) on the
    /// Rekey SA they still hold: a Delete of GIKE_UPDATE with SPI 0 (§2.4.3), sent as one
    /// all-zero 16-octet SPI (docs/decisions.md K5).
    pub(crate) fn announce_exclusion_of_all(
        &mut self,
        now: Time,
    ) -> Result<RekeyMessage, GcksError> {
        self.send_on(true, vec![Group::exclusion_delete()], now)
    }

    /// Builds, signs and queues one GSA_REKEY on the current or the previous Rekey SA. The
    /// previous one only for [`Group::announce_exclusion_of_all`], where no member was told
    /// of the current one: members accept nothing on a Rekey SA they replaced
    /// (docs/decisions.md K12).
    fn send_on(
        &mut self,
        previous: bool,
        inner: Vec<Payload>,
        now: Time,
    ) -> Result<RekeyMessage, GcksError> {
        let sa = if previous {
            &self.previous_rekey_sa
        } else {
            &self.rekey_sa
        };
        let rs = sa
            .as_ref()
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let r = self
            .config
            .rekey
            .as_ref()
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let protector = rs.protector(self)?;
        let auth = match &r.auth {
            GcAuth::Implicit => Authenticator::Implicit,
            GcAuth::Signature(k) => Authenticator::Signature(k),
        };
        let message_id = rs.next_message_id;
        // Message IDs do not wrap (§2.4.1.3, K8): after 0xFFFFFFFF members accept nothing
        // more on this Rekey SA (K13), so that ID is never sent and nothing after it.
        if message_id == u32::MAX {
            return Err(GcksError::MessageIdsExhausted(self.config.id.clone()));
        }
        let b = &self.config.rekey_behaviour;
        // IKEv2 fragmentation only if every member negotiated it (RFC 9838 §2.4.1.2);
        // otherwise a large message goes whole and the IP layer fragments it
        // (docs/decisions.md K19).
        let lacking = self.members_without_fragmentation();
        let fragment_size = b.fragment_size.filter(|_| lacking == 0);
        let datagrams =
            gsa_rekey::build(&rs.spi, message_id, &inner, &protector, auth, fragment_size)?;
        if let (Some(limit), None, [whole]) = (b.fragment_size, fragment_size, &datagrams[..]) {
            if whole.len() > limit {
                log::warn!(
                    "group {}: GSA_REKEY message {message_id} is {} octets, above \
                     fragment_size {limit}, sent whole: {lacking} member(s) did not \
                     negotiate IKEv2 fragmentation (RFC 9838 §2.4.1.2)",
                    self.config.id,
                    whole.len()
                );
            }
        }
        let message = RekeyMessage {
            group: self.config.id.clone(),
            spi: rs.spi,
            message_id,
            dst: r.dst.clone(),
            src: r.src.clone(),
            datagrams,
        };
        let (copies, interval) = (b.retransmissions, b.retransmit_interval_ms);
        let sa = if previous {
            &mut self.previous_rekey_sa
        } else {
            &mut self.rekey_sa
        };
        if let Some(rs) = sa.as_mut() {
            rs.next_message_id = message_id.saturating_add(1);
        }
        if copies > 0 {
            self.retransmit.push(PendingSend {
                message: message.clone(),
                copies_left: copies,
                next_at: now.plus_millis(u64::from(interval)),
            });
        }
        log::info!(
            "group {}: GSA_REKEY message {message_id} on Rekey SA {}, {} datagram(s)",
            self.config.id,
            crate::wire::hex(&message.spi[..8]),
            message.datagrams.len()
        );
        Ok(message)
    }

    /// Replaces the Rekey SA (KEK) under the LKH `plan` and announces it on the current
    /// Rekey SA; only the KEK changes (§3.2.1, K6: the TEKs follow in a message of their
    /// own). Without a plan (a group with a Rekey SA always has a tree, so only a tree
    /// that could not be rebuilt gets here) the new KEK is wrapped under the current
    /// GSK_w, the form of Appendix A.3.
    pub(crate) fn change_kek(
        &mut self,
        plan: Option<RekeyPlan>,
        in_use: &dyn Fn(&[u8]) -> bool,
        now: Time,
    ) -> Result<Vec<RekeyMessage>, GcksError> {
        let current = self
            .rekey_sa
            .as_ref()
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let kwa = self
            .config
            .rekey
            .as_ref()
            .map(|r| r.kwa)
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let fresh = self
            .new_rekey_sa(now, in_use)?
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let mut current_wrapper = KeyWrapper::new(kwa, current.gsk_w(self))?;
        let (sa_keys, wrap_keys) = match (plan, self.lkh.as_mut()) {
            (Some(plan), Some(tree)) => {
                tree.wrap_plan_on(&plan, kwa, fresh.keymat.as_bytes(), self.executor.get())?
            }
            _ => (
                vec![crate::lkh::WrappedKeyOut {
                    key_id: 0,
                    kwk_id: 0,
                    encrypted: current_wrapper.wrap(fresh.keymat.as_bytes())?,
                }],
                Vec::new(),
            ),
        };
        let policies: Vec<GroupPolicy> = self.kek_policy(&fresh, now).into_iter().collect();
        let mut bags = vec![KeyBag::Group(GroupKeyBag {
            protocol: ProtocolId::GIKE_UPDATE,
            spi: fresh.spi.to_vec(),
            attributes: sa_keys
                .into_iter()
                .map(|k| GroupKeyBagAttr::SaKey(wire_key(k)))
                .collect(),
        })];
        if !wrap_keys.is_empty() {
            bags.push(KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: wrap_keys
                    .into_iter()
                    .map(|k| MemberKeyBagAttr::WrapKey(wire_key(k)))
                    .collect(),
            }));
        }
        let inner = vec![
            Payload::new(PayloadBody::Gsa(GsaPayload { policies })),
            Payload::new(PayloadBody::Kd(KdPayload { bags })),
        ];
        let message = self.send(inner, now)?;
        self.previous_rekey_sa = self.rekey_sa.replace(fresh);
        Ok(vec![message])
    }

    /// Most WRAP_KEYs one KEK change carries (RFC 9838 §4.5, docs/decisions.md L10): its
    /// GSA_REKEY must fit one datagram of [`gsa_rekey::MAX_DATAGRAM_LEN`] octets (so its
    /// KD payload stays below 65,535 octets) or, while every member negotiated IKEv2
    /// fragmentation, 64 fragments of `fragment_size` (§2.4.1.2), less
    /// [`KEK_CHANGE_HEADROOM`] for the rest of the message. 1,180 WRAP_KEYs of 32-octet
    /// keys (52 octets each) without fragmentation.
    pub fn wrap_key_budget(&self) -> usize {
        let Some(r) = self.config.rekey.as_ref() else {
            return usize::MAX;
        };
        let whole = gsa_rekey::MAX_DATAGRAM_LEN;
        let room = match self
            .config
            .rekey_behaviour
            .fragment_size
            .filter(|_| self.members_without_fragmentation() == 0)
        {
            Some(f) => whole.min(
                usize::from(gsa_rekey::MAX_FRAGMENTS)
                    .saturating_mul(f.min(whole).saturating_sub(FRAGMENT_OVERHEAD)),
            ),
            None => whole,
        };
        room.saturating_sub(KEK_CHANGE_HEADROOM) / wrap_key_attribute_len(r.kwa.kwk_len())
    }

    /// A KEK change that excludes `leaves` from the key tree (RFC 9838 §3.2, Appendix
    /// A.4) and refreshes the paths of as many members that left as fit one KD payload
    /// ([`Group::wrap_key_budget`]), or with no leaves refreshes at least one such path
    /// and hands out the nodes the tree grew: it happens completely (tree, Rekey SA,
    /// Message ID, retransmissions) or, on error, not at all. The caller commits the
    /// membership change only on success.
    pub(crate) fn change_kek_excluding(
        &mut self,
        leaves: &[LeafId],
        in_use: &dyn Fn(&[u8]) -> bool,
        now: Time,
    ) -> Result<Vec<RekeyMessage>, GcksError> {
        let budget = self.wrap_key_budget();
        let (plan, undo) = match self.lkh.as_mut() {
            Some(tree) => {
                let (plan, undo) = tree.exclude_undoable_within(leaves, budget)?;
                (Some(plan), Some(undo))
            }
            None => (None, None),
        };
        self.change_kek_undoable(plan, undo, in_use, now)
    }

    /// [`Group::change_kek`] for a plan the key tree already made: if the KEK change
    /// fails, `undo` puts the tree back to the keys the members hold (L9), so nothing
    /// changed.
    pub(crate) fn change_kek_undoable(
        &mut self,
        plan: Option<RekeyPlan>,
        undo: Option<ExclusionUndo>,
        in_use: &dyn Fn(&[u8]) -> bool,
        now: Time,
    ) -> Result<Vec<RekeyMessage>, GcksError> {
        match self.change_kek(plan, in_use, now) {
            Ok(messages) => Ok(messages),
            Err(e) => {
                // Nobody received the plan: the tree goes back to the keys they hold.
                if let (Some(tree), Some(undo)) = (self.lkh.as_mut(), undo) {
                    if let Err(u) = tree.undo_exclusion(undo) {
                        log::error!("group {}: {u}", self.config.id);
                    }
                }
                Err(e)
            }
        }
    }

    /// What must follow a KEK change before the members may use new Data-Security SAs
    /// (RFC 9838 §3.2.1): first a KEK change of its own for each budget's worth of
    /// members that left and still hold the current KEK (their paths did not fit the
    /// earlier changes, docs/decisions.md L10), then the new TEKs under the last new KEK.
    ///
    /// Returns the messages built, in order (they must be sent, also on failure), and the
    /// error that stopped it: the TEKs are then owed, and [`Gcks::on_timeout`] tries again
    /// (departed paths first) every 5 s (K17).
    pub(crate) fn follow_with_teks(
        &mut self,
        in_use: &dyn Fn(&[u8]) -> bool,
        now: Time,
    ) -> (Vec<RekeyMessage>, Option<GcksError>) {
        let mut messages = Vec::new();
        while self.lkh.as_ref().is_some_and(|t| t.departed_count() > 0) {
            match self.change_kek_excluding(&[], in_use, now) {
                Ok(m) => messages.extend(m),
                Err(e) => return (messages, Some(self.owe_teks(e, now))),
            }
        }
        let kek = self.rekey_sa.as_ref().map(|r| r.spi.to_vec());
        let taken = |s: &[u8]| in_use(s) || kek.as_deref() == Some(s);
        match self.change_teks(&taken, now) {
            Ok(message) => {
                self.teks_owed = false;
                messages.push(message);
                (messages, None)
            }
            Err(e) => (messages, Some(self.owe_teks(e, now))),
        }
    }

    /// Notes that the new TEKs are owed after `e` (K17) and returns `e`.
    fn owe_teks(&mut self, e: GcksError, now: Time) -> GcksError {
        self.teks_owed = true;
        self.rekey_retry_at = Some(now.plus_secs(5));
        log::error!(
            "group {}: new Data-Security SAs after the KEK change failed: {e}; members that \
             left can read group traffic until they are sent (retry in 5 s)",
            self.config.id
        );
        e
    }

    /// Installs `teks` in a group without a Rekey SA and names the members whose IKE SAs
    /// must carry them (GSA_INBAND_REKEY, RFC 9838 §2.4.2).
    pub(crate) fn install_inband(&mut self, teks: Vec<DataSa>) -> GcksOutput {
        self.previous_data_sas = std::mem::replace(&mut self.data_sas, teks);
        GcksOutput::InbandRekeyNeeded {
            group: self.config.id.clone(),
            members: self
                .members
                .iter()
                .map(|(id, m)| (id.clone(), m.ike_spis))
                .collect(),
        }
    }

    /// Replaces the Data-Security SAs on the current Rekey SA: new policies and keys
    /// (SA_KEY(0, 0) under its GSK_w) and Deletes for the old ones.
    pub(crate) fn change_teks(
        &mut self,
        in_use: &dyn Fn(&[u8]) -> bool,
        now: Time,
    ) -> Result<RekeyMessage, GcksError> {
        let current = self
            .rekey_sa
            .as_ref()
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let kwa = self
            .config
            .rekey
            .as_ref()
            .map(|r| r.kwa)
            .ok_or_else(|| GcksError::NoRekeySa(self.config.id.clone()))?;
        let mut wrapper = KeyWrapper::new(kwa, current.gsk_w(self))?;
        let teks = self.new_data_sas(now, in_use)?;
        let mut inner = vec![
            Payload::new(PayloadBody::Gsa(GsaPayload {
                policies: self.tek_policies(&teks, now),
            })),
            Payload::new(PayloadBody::Kd(KdPayload {
                bags: self.tek_bags(&teks, &mut wrapper)?,
            })),
        ];
        inner.extend(Group::delete_held(&self.current_held()));
        let message = self.send(inner, now)?;
        self.previous_data_sas = std::mem::replace(&mut self.data_sas, teks);
        Ok(message)
    }

    /// When the next rekey is due: the earliest end of lifetime minus the margin.
    pub(crate) fn rekey_due(&self) -> Option<Time> {
        let margin_ms = |lifetime: u32| {
            let m = self
                .config
                .rekey_behaviour
                .margin_secs
                .unwrap_or((lifetime / 10).max(5))
                .min(lifetime.saturating_sub(1));
            u64::from(m) * 1000
        };
        let data = self.data_sas.iter().filter_map(|sa| {
            let lifetime = self.config.data_policies[sa.policy].lifetime_secs;
            sa.expires
                .map(|e| Time::from_millis(e.as_millis().saturating_sub(margin_ms(lifetime))))
        });
        let kek = self.rekey_sa.iter().map(|rs| {
            let lifetime = self.config.rekey.as_ref().map_or(0, |r| r.lifetime_secs);
            Time::from_millis(rs.expires.as_millis().saturating_sub(margin_ms(lifetime)))
        });
        data.chain(kek).min()
    }

    fn next_deadline(&self) -> Option<Time> {
        let resend = self.retransmit.iter().map(|p| p.next_at).min();
        let rekey = match (self.rekey_due(), self.rekey_retry_at) {
            (Some(due), Some(retry)) => Some(due.max(retry)),
            (due, _) => due,
        };
        let owed = self
            .teks_owed
            .then(|| self.rekey_retry_at.unwrap_or(Time::from_millis(0)));
        [rekey, resend, owed].into_iter().flatten().min()
    }
}

impl Gcks {
    fn group_mut(&mut self, id: &GroupId) -> Result<&mut Group, GcksError> {
        self.groups
            .get_mut(id)
            .ok_or_else(|| GcksError::UnknownGroup(id.clone()))
    }

    fn spi_snapshot(&self) -> impl Fn(&[u8]) -> bool {
        let in_use: std::collections::HashSet<Vec<u8>> =
            self.groups.values().flat_map(|g| g.all_spis()).collect();
        move |spi: &[u8]| in_use.contains(spi)
    }

    /// Excludes `members` from `group` (RFC 9838 §3.2, Appendix A.4): a GSA_REKEY on the
    /// current Rekey SA carries only the new KEK, wrapped so that no excluded member can
    /// unwrap it; a second, on the new Rekey SA, carries the new Data-Security SAs and
    /// deletes the old ones (forward access control, §3.2.1). More than
    /// [`MAX_EXCLUDED_PER_MESSAGE`] members are excluded in chunks, each a KEK change of
    /// its own (docs/decisions.md K9). A group without a Rekey SA gets new SAs by
    /// GSA_INBAND_REKEY to the remaining members (§2.4.2). The excluded members are
    /// refused if they register again, until [`Gcks::readmit`].
    ///
    /// `Err` means nothing changed: an unknown group or member, a member named twice, or
    /// a failure before the first KEK change went out. After that, a chunk's members
    /// leave the group together with that chunk's KEK change; if a later KEK change fails,
    /// the result is `Ok` with the messages already built (they changed the group's state
    /// and must be sent) and the members still in the group in
    /// [`Exclusion::not_excluded`] (docs/decisions.md K15).
    pub fn exclude(
        &mut self,
        group: &GroupId,
        members: &[Identity],
        now: Time,
    ) -> Result<Exclusion, GcksError> {
        let in_use = self.spi_snapshot();
        let g = self.group_mut(group)?;
        // Every check that depends on the input comes before any change.
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        let mut leaves = Vec::with_capacity(members.len());
        for m in members {
            if !seen.insert(m) {
                return Err(GcksError::DuplicateMember(m.clone()));
            }
            let info = g
                .members
                .get(m)
                .ok_or_else(|| GcksError::UnknownMember(m.clone()))?;
            if let (Some(tree), Some(leaf)) = (g.lkh.as_ref(), info.leaf) {
                if !tree.is_member(leaf) {
                    return Err(GcksError::Lkh(crate::lkh::LkhError::LeafNotOccupied(leaf)));
                }
            }
            leaves.push(info.leaf);
        }
        if g.rekey_sa.is_some() && members.len() == g.members.len() {
            // Everybody: no top-level key would be left to wrap a new KEK under. New SAs
            // and tree, and a Delete of GIKE_UPDATE SPI 0 on the Rekey SA the members hold
            // (RFC 9838 §2.4.3) so they know they are out.
            let (_, announcement) = g.restart(now, &in_use)?;
            for m in members {
                g.excluded.insert(m.clone());
            }
            log::info!(
                "group {group}: excluded all {} member(s); new SAs",
                members.len()
            );
            return Ok(Exclusion {
                outputs: announcement
                    .into_iter()
                    .map(GcksOutput::Multicast)
                    .collect(),
                excluded: members.to_vec(),
                ..Exclusion::default()
            });
        }
        if g.rekey_sa.is_none() {
            // Inband-only group: new SAs, sent over the IKE SA of every remaining member
            // (RFC 9838 §2.4.2); the excluded ones are told over theirs, with Deletes of
            // the SAs they hold (§2.4.3, [`Gcks::inband_rekey_payloads`],
            // docs/decisions.md K29).
            let teks = g.new_data_sas(now, &in_use)?;
            let told: Vec<(Identity, [u8; 16])> = members
                .iter()
                .filter_map(|m| g.members.get(m).map(|i| (m.clone(), i.ike_spis)))
                .collect();
            for m in members {
                // What it holds, for the Deletes that tell it (K29).
                let held = g.inband_held.get(m).cloned().unwrap_or_default();
                g.remove_member(m);
                g.inband_excluded.insert(m.clone(), held);
                // An excluded member must not simply register again (docs/decisions.md
                // R23).
                g.excluded.insert(m.clone());
            }
            log::info!(
                "group {group}: excluded {} member(s), inband rekey",
                members.len()
            );
            let mut outputs = vec![g.install_inband(teks)];
            if !told.is_empty() {
                outputs.push(GcksOutput::InbandRekeyNeeded {
                    group: group.clone(),
                    members: told,
                });
            }
            return Ok(Exclusion {
                outputs,
                excluded: members.to_vec(),
                ..Exclusion::default()
            });
        }
        // A KD payload holds at most 64 KiB: at a million members one excluded member
        // costs about 18 wrapped keys (52 octets each on the wire), so large batches are
        // excluded in chunks, each a KEK change of its own, in order (docs/decisions.md K9).
        // Chunks take neighbours in the tree, whose paths overlap: fewer wraps than chunks
        // of members in the order given (K26).
        let mut order: Vec<(Option<u32>, &Identity, Option<LeafId>)> = members
            .iter()
            .zip(&leaves)
            .map(|(m, l)| {
                let pos = match (g.lkh.as_ref(), l) {
                    (Some(tree), Some(leaf)) => tree.leaf_position(*leaf),
                    _ => None,
                };
                (pos, m, *l)
            })
            .collect();
        order.sort_by_key(|(pos, _, _)| pos.unwrap_or(u32::MAX));
        let members: Vec<Identity> = order.iter().map(|(_, m, _)| (*m).clone()).collect();
        let leaves: Vec<Option<LeafId>> = order.iter().map(|(_, _, l)| *l).collect();
        // Chunks are also cut so that each KEK change's WRAP_KEYs fit one datagram or
        // the fragments allowed (K32).
        let sizes = match g.lkh.as_ref() {
            Some(tree) => {
                let in_tree: Vec<LeafId> = leaves.iter().flatten().copied().collect();
                if in_tree.len() == leaves.len() {
                    tree.exclusion_chunks(&in_tree, MAX_EXCLUDED_PER_MESSAGE, g.wrap_key_budget())?
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        };
        let sizes = if sizes.is_empty() {
            members
                .chunks(MAX_EXCLUDED_PER_MESSAGE)
                .map(<[Identity]>::len)
                .collect()
        } else {
            sizes
        };
        // (first member, members) of each chunk.
        let mut chunks: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for n in sizes {
            chunks.push((start, n));
            start += n;
        }
        if chunks.is_empty() {
            chunks.push((0, 0));
        }
        let count = chunks.len();
        let mut done = Exclusion::default();
        for (i, (start, n)) in chunks.into_iter().enumerate() {
            let ids = &members[start..start + n];
            let chunk_leaves = &leaves[start..start + n];
            let chunk_leaves: Vec<LeafId> = chunk_leaves.iter().flatten().copied().collect();
            match g.change_kek_excluding(&chunk_leaves, &in_use, now) {
                Ok(messages) => {
                    // The chunk's members leave together with its KEK change.
                    for m in ids {
                        g.remove_member(m);
                        g.excluded.insert(m.clone());
                    }
                    done.excluded.extend_from_slice(ids);
                    done.outputs
                        .extend(messages.into_iter().map(GcksOutput::Multicast));
                }
                // Nothing changed yet.
                Err(e) if i == 0 => return Err(e),
                Err(error) => {
                    let rest = members.get(start..).unwrap_or(&[]);
                    log::error!(
                        "group {group}: KEK change {} of {count} failed: {error}; {} \
                         member(s) not excluded: {}",
                        i + 1,
                        rest.len(),
                        rest.iter()
                            .map(|m| m.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    done.not_excluded = Some(NotExcluded {
                        members: rest.to_vec(),
                        error,
                    });
                    break;
                }
            }
        }
        // The new TEKs once, under the last new KEK: whoever was excluded must not read
        // them (§3.2.1).
        // Members that left and did not fit the chunks are cut off first (L10).
        let (messages, error) = g.follow_with_teks(&in_use, now);
        done.outputs
            .extend(messages.into_iter().map(GcksOutput::Multicast));
        done.teks_deferred = error;
        log::info!("group {group}: excluded {} member(s)", done.excluded.len());
        Ok(done)
    }

    /// Lets a member the operator excluded register again (it is refused with
    /// AUTHORIZATION_FAILED until then). Returns whether it was excluded.
    pub fn readmit(&mut self, group: &GroupId, member: &Identity) -> Result<bool, GcksError> {
        Ok(self.group_mut(group)?.excluded.remove(member))
    }

    /// Replaces the group's GSA_REKEY signing key (RFC 9838 §2.4.1, §4.5.3.2): a GSA_REKEY
    /// signed with the old key carries the new public key as AUTH_KEY, and members verify
    /// every later message with it. The algorithm cannot change (attribute 18 was fixed at
    /// registration).
    pub fn roll_signing_key(
        &mut self,
        group: &GroupId,
        new_key: crate::crypto::sign::SigningKey,
        now: Time,
    ) -> Result<Vec<GcksOutput>, GcksError> {
        let g = self.group_mut(group)?;
        let current_alg = match g.config.rekey.as_ref().map(|r| &r.auth) {
            Some(GcAuth::Signature(k)) => k.alg(),
            _ => return Err(GcksError::NoRekeySa(group.clone())),
        };
        if new_key.alg() != current_alg {
            return Err(GcksError::Crypto(crate::crypto::CryptoError::InvalidKey(
                "the new signing key must use the group's signature algorithm",
            )));
        }
        let spki = new_key.public_spki_der()?;
        let announce = vec![Payload::new(PayloadBody::Kd(KdPayload {
            bags: vec![KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: vec![MemberKeyBagAttr::AuthKey(spki.clone())],
            })],
        }))];
        let message = g.send(announce, now)?;
        if let Some(r) = g.config.rekey.as_mut() {
            r.auth = GcAuth::Signature(new_key);
        }
        g.set_auth_key_spki(spki);
        log::info!("group {group}: signing key rolled");
        Ok(vec![GcksOutput::Multicast(message)])
    }

    /// Rekeys `group` now: a GSA_REKEY with a new KEK, then one with new Data-Security SAs
    /// under it (RFC 9838 §3.2.1, docs/decisions.md K6) (or, for
    /// a group without a Rekey SA, new SAs announced by GSA_INBAND_REKEY).
    pub fn force_rekey(
        &mut self,
        group: &GroupId,
        now: Time,
    ) -> Result<Vec<GcksOutput>, GcksError> {
        let in_use = self.spi_snapshot();
        let g = self.group_mut(group)?;
        rekey_group(g, &in_use, now)
    }

    /// The earliest time [`Gcks::on_timeout`] has work: a rekey before a lifetime ends or
    /// a retransmission.
    pub fn next_deadline(&self) -> Option<Time> {
        self.groups.values().filter_map(Group::next_deadline).min()
    }

    /// Does the work due at `now`: periodic rekeys and retransmissions.
    pub fn on_timeout(&mut self, now: Time) -> Vec<GcksOutput> {
        let in_use = self.spi_snapshot();
        let mut out = Vec::new();
        for g in self.groups.values_mut() {
            let may_retry = g.rekey_retry_at.is_none_or(|t| t <= now);
            if g.rekey_due().is_some_and(|t| t <= now) && may_retry {
                match rekey_group(g, &in_use, now) {
                    Ok(o) => {
                        if !g.teks_owed {
                            g.rekey_retry_at = None;
                        }
                        out.extend(o)
                    }
                    Err(e) => {
                        // Try again in 5 s rather than on every call.
                        g.rekey_retry_at = Some(now.plus_secs(5));
                        log::error!("group {}: periodic rekey failed: {e}", g.config.id)
                    }
                }
            } else if g.teks_owed && may_retry {
                // The new TEKs a KEK change still owes (§3.2.1); a failure logs and sets
                // the next try.
                let (messages, error) = g.follow_with_teks(&in_use, now);
                if error.is_none() {
                    g.rekey_retry_at = None;
                }
                out.extend(messages.into_iter().map(GcksOutput::Multicast));
            }
            for p in g.retransmit.iter_mut().filter(|p| p.next_at <= now) {
                out.push(GcksOutput::Multicast(p.message.clone()));
                p.copies_left -= 1;
                p.next_at =
                    now.plus_millis(u64::from(g.config.rekey_behaviour.retransmit_interval_ms));
            }
            g.retransmit.retain(|p| p.copies_left > 0);
        }
        out
    }

    /// The payloads of a GSA_INBAND_REKEY for the member on the IKE SA `ctx` (RFC 9838
    /// §2.4.2): the current Data-Security SA policies, their keys wrapped under that IKE
    /// SA's GSK_w, and Deletes for the SAs they replace. For a member the operator
    /// excluded (listed by [`Gcks::exclude`] for exactly this): only Deletes of the SAs it
    /// holds and a Delete of GIKE_UPDATE SPI 0, the exclusion signal (§2.4.3, K29).
    pub fn inband_rekey_payloads(
        &mut self,
        ctx: &IkeSaContext,
        group: &GroupId,
        now: Time,
    ) -> Result<Vec<Payload>, GcksError> {
        let g = self.group_mut(group)?;
        if !g.members.contains_key(&ctx.peer) {
            if let Some(held) = g.inband_excluded.remove(&ctx.peer) {
                // An excluded member of an inband group (RFC 9838 §2.4.3): the SAs it
                // holds are deleted, nothing new, and a Delete of GIKE_UPDATE SPI 0 tells
                // it that it is excluded (K29).
                let mut deletes = Group::delete_held(&held);
                deletes.push(Group::exclusion_delete());
                return Ok(deletes);
            }
            // Nobody else gets the group's keys this way: not a member that left, nor an
            // excluded one asked for twice.
            return Err(GcksError::UnknownMember(ctx.peer.clone()));
        }
        let mut wrapper = KeyWrapper::new(ctx.kwa, ctx.gsk_w().as_bytes())?;
        let mut inner = vec![
            Payload::new(PayloadBody::Gsa(GsaPayload {
                policies: g.tek_policies(&g.data_sas, now),
            })),
            Payload::new(PayloadBody::Kd(KdPayload {
                bags: g.tek_bags(&g.data_sas, &mut wrapper)?,
            })),
        ];
        // Deletes of what this member holds and is no longer current: exactly its SAs,
        // also when several rekeys came before the host sent this one (K29).
        let current = g.current_held();
        let stale: Vec<HeldSa> = match g.inband_held.get(&ctx.peer) {
            Some(held) => held
                .iter()
                .filter(|h| !current.contains(h))
                .copied()
                .collect(),
            None => g.held(&g.previous_data_sas),
        };
        inner.extend(Group::delete_held(&stale));
        if g.members.contains_key(&ctx.peer) && g.rekey_sa.is_none() {
            g.inband_held.insert(ctx.peer.clone(), current);
        }
        Ok(inner)
    }
}

fn rekey_group(
    g: &mut Group,
    in_use: &dyn Fn(&[u8]) -> bool,
    now: Time,
) -> Result<Vec<GcksOutput>, GcksError> {
    if g.rekey_sa.is_some() {
        // A new KEK first (the plan also refreshes the paths of members that left and hands
        // out the keys of nodes the tree grew), more KEK changes while members that left
        // still hold the KEK (one KD payload each, docs/decisions.md L10), then the new
        // TEKs under the last one: whoever left since the last rekey must not read them
        // (§3.2.1, K6). If a later step fails, what was built still goes out and the TEKs
        // are owed (K17).
        let mut messages = g.change_kek_excluding(&[], in_use, now)?;
        messages.extend(g.follow_with_teks(in_use, now).0);
        return Ok(messages.into_iter().map(GcksOutput::Multicast).collect());
    }
    let teks = g.new_data_sas(now, in_use)?;
    Ok(vec![g.install_inband(teks)])
}

#[cfg(test)]
mod tests {
    use super::super::{DataPolicyConfig, DataProtocol, GroupConfig, RekeyPolicyConfig};
    use super::*;
    use crate::crypto::keywrap::Kwa;
    use crate::identity::IdentityPattern;
    use crate::suite::EncrSpec;
    use crate::wire::{EncrId, SnId};
    use std::net::Ipv4Addr;

    fn config() -> GroupConfig {
        let mut c = GroupConfig::new(Identity::key_id("owed"));
        c.data_policies.push(DataPolicyConfig {
            name: "p".into(),
            protocol: DataProtocol::Esp,
            encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256)),
            integ: None,
            sn: SnId::UNSPECIFIED32,
            src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 0, None),
            dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 1), 17, Some(5000)),
            lifetime_secs: 3600,
        });
        c.rekey = Some(RekeyPolicyConfig {
            encr: EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
            integ: None,
            kwa: Kwa::Kw5649_256,
            auth: GcAuth::Implicit,
            src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(848)),
            dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 100), 17, Some(848)),
            lifetime_secs: 7200,
        });
        c.authorized = vec![IdentityPattern::Any];
        c.rekey_behaviour.retransmissions = 0;
        c
    }

    /// [`KEK_CHANGE_HEADROOM`] covers everything but the WRAP_KEYs of the largest KEK
    /// change this key server builds: AES-CBC-256 with HMAC-SHA2-512-256 (the longest
    /// Rekey SA KEYMAT, padding and ICV), an RSA-4096 signature, 8 SA_KEYs (degree 8) and
    /// a full budget of WRAP_KEYs still go in one datagram (docs/decisions.md L10).
    #[test]
    fn a_kek_change_within_the_budget_fits_one_datagram() {
        use crate::crypto::keywrap::wrapped_len;
        use crate::crypto::sign::{SignatureAlg, SigningKey};
        use crate::wire::IntegId;
        let rsa = openssl::rsa::Rsa::generate(4096).unwrap();
        let der = openssl::pkey::PKey::from_rsa(rsa)
            .unwrap()
            .private_key_to_pkcs8()
            .unwrap();
        let key = SigningKey::from_pkcs8_der(SignatureAlg::RsaPssSha256, &der).unwrap();
        let mut c = config();
        let r = c.rekey.as_mut().unwrap();
        r.encr = EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256);
        r.integ = Some(IntegId::AUTH_HMAC_SHA2_512_256);
        r.auth = GcAuth::Signature(key);
        c.rekey_behaviour.lkh_degree = 8;
        let t0 = Time::from_secs(100);
        let mut gcks = Gcks::new();
        gcks.add_group(c, t0).unwrap();
        let g = gcks.groups.get_mut(&Identity::key_id("owed")).unwrap();
        let budget = g.wrap_key_budget();
        assert_eq!(wrap_key_attribute_len(32), 52);
        assert_eq!(budget, 1_180);
        let fresh = g.new_rekey_sa(t0, &|_| false).unwrap().unwrap();
        assert_eq!(fresh.keymat.as_bytes().len(), 128);
        let sa_len = wrapped_len(fresh.keymat.as_bytes().len());
        let sa_keys = (0..8)
            .map(|i| {
                GroupKeyBagAttr::SaKey(WrappedKey {
                    key_id: 0,
                    kwk_id: u32::MAX - i,
                    encrypted: vec![0xa5; sa_len],
                })
            })
            .collect();
        let wraps = (0..budget as u32)
            .map(|i| {
                MemberKeyBagAttr::WrapKey(WrappedKey {
                    key_id: u32::MAX - i,
                    kwk_id: i + 1,
                    encrypted: vec![0x5a; wrapped_len(32)],
                })
            })
            .collect();
        let inner = vec![
            Payload::new(PayloadBody::Gsa(GsaPayload {
                policies: g.kek_policy(&fresh, t0).into_iter().collect(),
            })),
            Payload::new(PayloadBody::Kd(KdPayload {
                bags: vec![
                    KeyBag::Group(GroupKeyBag {
                        protocol: ProtocolId::GIKE_UPDATE,
                        spi: fresh.spi.to_vec(),
                        attributes: sa_keys,
                    }),
                    KeyBag::Member(MemberKeyBag {
                        reserved: 0,
                        attributes: wraps,
                    }),
                ],
            })),
        ];
        let m = g.send(inner, t0).unwrap();
        let [whole] = m.datagrams.as_slice() else {
            panic!("{} datagrams", m.datagrams.len())
        };
        let rest = whole.len() - budget * 52;
        assert!(
            whole.len() <= gsa_rekey::MAX_DATAGRAM_LEN,
            "{}",
            whole.len()
        );
        // 2,000 octets: room left for a larger signature (RSA-8192 adds 512).
        assert!(
            rest + 1024 <= KEK_CHANGE_HEADROOM,
            "{rest} octets besides the WRAP_KEYs"
        );
    }

    /// New TEKs a KEK change still owes (its follow-up failed, docs/decisions.md K15) are
    /// a deadline of their own: `on_timeout` sends them at the retry time, under the
    /// current KEK, and then owes nothing.
    /// Message IDs do not wrap (K8): the last usable one is 0xFFFFFFFE; after it the
    /// Rekey SA refuses to send, and the refusal changes nothing.
    #[test]
    fn message_ids_of_a_rekey_sa_do_not_wrap() {
        let t0 = Time::from_secs(100);
        let mut gcks = Gcks::new();
        gcks.add_group(config(), t0).unwrap();
        let g = gcks.groups.get_mut(&Identity::key_id("owed")).unwrap();
        if let Some(rs) = g.rekey_sa.as_mut() {
            rs.next_message_id = u32::MAX - 1;
        }
        let last = g.send(Vec::new(), t0).unwrap();
        assert_eq!(last.message_id, u32::MAX - 1);
        assert!(matches!(
            g.send(Vec::new(), t0),
            Err(GcksError::MessageIdsExhausted(_))
        ));
        assert_eq!(
            g.rekey_sa.as_ref().map(|r| r.next_message_id),
            Some(u32::MAX)
        );
    }

    #[test]
    fn owed_teks_are_sent_at_the_retry_time() {
        let t0 = Time::from_secs(100);
        let mut gcks = Gcks::new();
        gcks.add_group(config(), t0).unwrap();
        let id = Identity::key_id("owed");
        let periodic = gcks.next_deadline().unwrap();
        let (old_teks, kek) = {
            let g = gcks.groups.get_mut(&id).unwrap();
            // As `follow_with_teks` leaves a group whose change_teks failed.
            g.teks_owed = true;
            g.rekey_retry_at = Some(t0.plus_secs(5));
            (g.data_sa_spis(), g.rekey_sa_spi().unwrap())
        };
        assert_eq!(gcks.next_deadline(), Some(t0.plus_secs(5)));
        assert!(periodic > t0.plus_secs(5));
        assert!(
            gcks.on_timeout(t0.plus_secs(4)).is_empty(),
            "not before the retry"
        );
        let out = gcks.on_timeout(t0.plus_secs(5));
        let [GcksOutput::Multicast(m)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!((m.spi, m.message_id), (kek, 0), "on the current KEK");
        let g = gcks.group(&id).unwrap();
        assert!(!g.teks_owed() && g.rekey_retry_at.is_none());
        assert!(g.data_sa_spis().iter().all(|s| !old_teks.contains(s)));
        assert!(
            gcks.next_deadline().unwrap() >= periodic,
            "nothing owed any more"
        );
        assert!(gcks.on_timeout(t0.plus_secs(6)).is_empty());
    }
}
