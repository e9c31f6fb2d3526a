//! Group rekeying at the key server (RFC 9838 §2.4, §3.2, Appendix A): GSA_REKEY messages
//! for a new Rekey SA (KEK) through the LKH key tree, new Data-Security SAs (TEKs),
//! exclusion with forward access control, periodic rekeys before lifetimes end,
//! retransmission, GSA_INBAND_REKEY content, and the timers that drive them.
//!
//! Forward access control (§3.2.1): a message that changes membership carries only the
//! new KEK; the new TEKs follow in a second message under the new KEK. A periodic rekey,
//! with no membership change, carries the new KEK and the new TEKs together, so policy
//! never changes without a new KEK.

use super::config::GcAuth;
use super::group::{wire_key, DataSa, Group, RekeySa};
use super::{Gcks, GcksError};
use crate::crypto::keywrap::KeyWrapper;
use crate::crypto::sk::SkProtector;
use crate::gsa_rekey::{self, Authenticator};
use crate::identity::{GroupId, Identity};
use crate::ike_sa::IkeSaContext;
use crate::lkh::RekeyPlan;
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

/// Most members excluded by one KEK-change message (a KD payload holds 64 KiB).
pub const MAX_EXCLUDED_PER_MESSAGE: usize = 32;

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

    fn delete_payloads(old: &[DataSa], config: &super::GroupConfig) -> Vec<Payload> {
        let mut by_protocol: Vec<(ProtocolId, Vec<Vec<u8>>)> = Vec::new();
        for sa in old {
            let p = config.data_policies[sa.policy].protocol.protocol_id();
            match by_protocol.iter_mut().find(|(q, _)| *q == p) {
                Some((_, v)) => v.push(sa.spi.to_vec()),
                None => by_protocol.push((p, vec![sa.spi.to_vec()])),
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

    /// Tells the members excluded together (Sender-ID exhaustion, RFC 9838 §2.5.1) on the
    /// Rekey SA they still hold: a Delete of GIKE_UPDATE with SPI 0 (§2.4.3), sent as one
    /// all-zero 16-octet SPI (docs/decisions.md K5).
    pub(crate) fn announce_exclusion_of_all(
        &mut self,
        now: Time,
    ) -> Result<RekeyMessage, GcksError> {
        let delete = Payload::new(PayloadBody::Delete(DeletePayload {
            protocol: ProtocolId::GIKE_UPDATE,
            spi_size: 16,
            spis: vec![vec![0; 16]],
        }));
        self.send_on(true, vec![delete], now)
    }

    /// Builds, signs and queues one GSA_REKEY on the current or the previous Rekey SA.
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
        let b = &self.config.rekey_behaviour;
        let datagrams = gsa_rekey::build(
            &rs.spi,
            message_id,
            &inner,
            &protector,
            auth,
            b.fragment_size,
        )?;
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
            rs.next_message_id = rs.next_message_id.wrapping_add(1);
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

    /// Replaces the Rekey SA (KEK) under the LKH `plan` (or, without a plan, wrapped under
    /// the current GSK_w as in Appendix A.3) and announces it on the current Rekey SA. With
    /// `with_teks` the Data-Security SAs are replaced in the same message (no membership
    /// change); otherwise only the KEK changes (§3.2.1).
    pub(crate) fn change_kek(
        &mut self,
        plan: Option<RekeyPlan>,
        with_teks: bool,
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
            (Some(plan), Some(tree)) => tree.wrap_plan(&plan, kwa, fresh.keymat.as_bytes())?,
            _ => (
                vec![crate::lkh::WrappedKeyOut {
                    key_id: 0,
                    kwk_id: 0,
                    encrypted: current_wrapper.wrap(fresh.keymat.as_bytes())?,
                }],
                Vec::new(),
            ),
        };
        let mut policies: Vec<GroupPolicy> = self.kek_policy(&fresh, now).into_iter().collect();
        let mut bags = vec![KeyBag::Group(GroupKeyBag {
            protocol: ProtocolId::GIKE_UPDATE,
            spi: fresh.spi.to_vec(),
            attributes: sa_keys
                .into_iter()
                .map(|k| GroupKeyBagAttr::SaKey(wire_key(k)))
                .collect(),
        })];
        let mut new_teks = None;
        let mut deletes = Vec::new();
        if with_teks {
            let teks = self.new_data_sas(now, &|s| in_use(s) || s == fresh.spi)?;
            policies.extend(self.tek_policies(&teks, now));
            bags.extend(self.tek_bags(&teks, &mut current_wrapper)?);
            deletes = Group::delete_payloads(&self.data_sas, &self.config);
            new_teks = Some(teks);
        }
        if !wrap_keys.is_empty() {
            bags.push(KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: wrap_keys
                    .into_iter()
                    .map(|k| MemberKeyBagAttr::WrapKey(wire_key(k)))
                    .collect(),
            }));
        }
        let mut inner = vec![
            Payload::new(PayloadBody::Gsa(GsaPayload { policies })),
            Payload::new(PayloadBody::Kd(KdPayload { bags })),
        ];
        inner.extend(deletes);
        let message = self.send(inner, now)?;
        self.previous_rekey_sa = self.rekey_sa.replace(fresh);
        if let Some(teks) = new_teks {
            self.previous_data_sas = std::mem::replace(&mut self.data_sas, teks);
        }
        Ok(vec![message])
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
        inner.extend(Group::delete_payloads(&self.data_sas, &self.config));
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
        [rekey, resend].into_iter().flatten().min()
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

    /// Excludes `members` from `group` in one LKH rekey (RFC 9838 §3.2, Appendix A.4):
    /// a first GSA_REKEY, on the current Rekey SA, carries only the new KEK wrapped so that
    /// no excluded member can unwrap it; a second, on the new Rekey SA, carries the new
    /// Data-Security SAs and deletes the old ones (forward access control, §3.2.1).
    /// The excluded members are refused if they register again, until
    /// [`Gcks::readmit`].
    pub fn exclude(
        &mut self,
        group: &GroupId,
        members: &[Identity],
        now: Time,
    ) -> Result<Vec<GcksOutput>, GcksError> {
        let in_use = self.spi_snapshot();
        let g = self.group_mut(group)?;
        if let Some(m) = members.iter().find(|m| !g.members.contains_key(*m)) {
            return Err(GcksError::UnknownMember(m.clone()));
        }
        // An excluded member must not simply register again (docs/decisions.md R23).
        g.excluded.extend(members.iter().cloned());
        if g.rekey_sa.is_none() {
            // Inband-only group: new SAs, sent over the IKE SA of every remaining member
            // (RFC 9838 §2.4.2); the excluded ones simply get nothing.
            for m in members {
                g.members.remove(m);
            }
            log::info!(
                "group {group}: excluded {} member(s), inband rekey",
                members.len()
            );
            return rekey_group(g, &in_use, now);
        }
        let mut leaves = Vec::with_capacity(members.len());
        for m in members {
            let info = g
                .members
                .get(m)
                .ok_or_else(|| GcksError::UnknownMember(m.clone()))?;
            leaves.extend(info.leaf);
        }
        // A KD payload holds at most 64 KiB: at a million members one excluded member
        // costs about 18 wrapped keys (52 octets each on the wire), so large batches are
        // excluded in chunks, each a KEK change of its own, in order (docs/decisions.md K9).
        let mut out: Vec<GcksOutput> = Vec::new();
        let chunks: Vec<&[crate::lkh::LeafId]> = if leaves.is_empty() {
            vec![&[]]
        } else {
            leaves.chunks(MAX_EXCLUDED_PER_MESSAGE).collect()
        };
        for m in members {
            g.members.remove(m);
        }
        for chunk in chunks {
            let plan = match g.lkh.as_mut() {
                Some(tree) => Some(tree.exclude(chunk)?),
                None => None,
            };
            out.extend(
                g.change_kek(plan, false, &in_use, now)?
                    .into_iter()
                    .map(GcksOutput::Multicast),
            );
        }
        let fresh_spi = g.rekey_sa.as_ref().map(|r| r.spi.to_vec());
        let in_use2 = |s: &[u8]| in_use(s) || fresh_spi.as_deref() == Some(s);
        out.push(GcksOutput::Multicast(g.change_teks(&in_use2, now)?));
        log::info!("group {group}: excluded {} member(s)", members.len());
        Ok(out)
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

    /// Rekeys `group` now: a new KEK and new Data-Security SAs in one GSA_REKEY (or, for
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
            if g.rekey_due().is_some_and(|t| t <= now) && g.rekey_retry_at.is_none_or(|t| t <= now)
            {
                match rekey_group(g, &in_use, now) {
                    Ok(o) => {
                        g.rekey_retry_at = None;
                        out.extend(o)
                    }
                    Err(e) => {
                        // Try again in 5 s rather than on every call.
                        g.rekey_retry_at = Some(now.plus_secs(5));
                        log::error!("group {}: periodic rekey failed: {e}", g.config.id)
                    }
                }
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
    /// SA's GSK_w, and Deletes for the SAs they replace.
    pub fn inband_rekey_payloads(
        &mut self,
        ctx: &IkeSaContext,
        group: &GroupId,
        now: Time,
    ) -> Result<Vec<Payload>, GcksError> {
        let g = self.group_mut(group)?;
        let mut wrapper = KeyWrapper::new(ctx.kwa, ctx.gsk_w().as_bytes())?;
        let mut inner = vec![
            Payload::new(PayloadBody::Gsa(GsaPayload {
                policies: g.tek_policies(&g.data_sas, now),
            })),
            Payload::new(PayloadBody::Kd(KdPayload {
                bags: g.tek_bags(&g.data_sas, &mut wrapper)?,
            })),
        ];
        inner.extend(Group::delete_payloads(&g.previous_data_sas, &g.config));
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
        // out the keys of nodes the tree grew), then the new TEKs under it: whoever left
        // since the last rekey must not read them (§3.2.1, docs/decisions.md K6).
        let plan = match g.lkh.as_mut() {
            Some(tree) => Some(tree.exclude(&[])?),
            None => None,
        };
        let mut out: Vec<GcksOutput> = g
            .change_kek(plan, false, in_use, now)?
            .into_iter()
            .map(GcksOutput::Multicast)
            .collect();
        let kek = g.rekey_sa.as_ref().map(|r| r.spi.to_vec());
        let taken = |s: &[u8]| in_use(s) || kek.as_deref() == Some(s);
        out.push(GcksOutput::Multicast(g.change_teks(&taken, now)?));
        return Ok(out);
    }
    let teks = g.new_data_sas(now, in_use)?;
    g.previous_data_sas = std::mem::replace(&mut g.data_sas, teks);
    Ok(vec![GcksOutput::InbandRekeyNeeded {
        group: g.config.id.clone(),
        members: g
            .members
            .iter()
            .map(|(id, m)| (id.clone(), m.ike_spis))
            .collect(),
    }])
}
