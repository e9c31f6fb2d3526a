//! One group's live state at the key server: its current SAs and keys, its members and
//! its Sender-ID counter; and the GSA and KD payloads that describe it (RFC 9838 §4.4,
//! §4.5).

use super::config::{GcAuth, GroupConfig};
use super::sag::RequiredSa;
use super::sender_id::SenderIdCounter;
use super::GcksError;
use crate::crypto::keywrap::KeyWrapper;
use crate::crypto::rand::fill_random;
use crate::crypto::KeyMaterial;
use crate::executor::SharedExecutor;
use crate::identity::{GroupId, Identity};
use crate::lkh::{LeafId, LkhTree, WrappedKeyOut};
use crate::suite::integ_key_len;
use crate::time::Time;
use crate::wire::{
    Attribute, GcAuthId, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, GsaAttrType, GsaPayload,
    GsaPolicy, GwPolicy, GwpAttrType, IntegId, KdPayload, KeyBag, MemberKeyBag, MemberKeyBagAttr,
    ProtocolId, Transform, TransformAttrType, TransformType, WrappedKey,
};
use std::collections::HashMap;

/// A Data-Security SA the group currently hands out.
#[derive(Debug)]
pub(crate) struct DataSa {
    /// Index into the configuration's data policies.
    pub(crate) policy: usize,
    pub(crate) spi: [u8; 4],
    pub(crate) keymat: KeyMaterial,
    /// End of its lifetime; `None` when the policy sets no lifetime (inband rekey only).
    pub(crate) expires: Option<Time>,
    /// The SPI reserved for the SA that will replace this one, announced as GSA_NEXT_SPI
    /// (multicast rekey only, RFC 9838 §4.4.2.2.3).
    pub(crate) next_spi: Option<[u8; 4]>,
}

/// The group's current Rekey SA (GIKE_UPDATE).
#[derive(Debug)]
pub(crate) struct RekeySa {
    pub(crate) spi: [u8; 16],
    /// KEYMAT = GSK_e | GSK_a | GSK_w (RFC 9838 §3.4).
    pub(crate) keymat: KeyMaterial,
    pub(crate) expires: Time,
    /// Message ID of the next GSA_REKEY (RFC 9838 §2.4.1.3).
    pub(crate) next_message_id: u32,
    /// The SPI reserved for the Rekey SA that will replace this one (GSA_NEXT_SPI).
    pub(crate) next_spi: [u8; 16],
}

/// What the key server remembers about one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Sender-IDs of the latest registration: first and count.
    pub sender_ids: Option<(u32, u32)>,
    /// When it (last) registered.
    pub registered_at: Time,
    /// SPIs of the IKE SA it registered over (SPIi | SPIr).
    pub ike_spis: [u8; 16],
    /// Its leaf in the group's LKH key tree, when the group has one.
    pub leaf: Option<LeafId>,
    /// Its IKE SA negotiated IKEv2 fragmentation (RFC 7383; RFC 9838 §2.4.1.2).
    pub fragmentation: bool,
}

/// A group at the key server.
#[derive(Debug)]
pub struct Group {
    pub(crate) config: GroupConfig,
    pub(crate) data_sas: Vec<DataSa>,
    pub(crate) rekey_sa: Option<RekeySa>,
    /// The Rekey SA replaced last, kept so excluded members can still be told.
    pub(crate) previous_rekey_sa: Option<RekeySa>,
    /// Data-Security SAs replaced by the last rekey, until their deletion took effect.
    pub(crate) previous_data_sas: Vec<DataSa>,
    /// The LKH key tree over the members, when the group has a multicast Rekey SA.
    pub(crate) lkh: Option<LkhTree>,
    /// GSA_REKEY copies still to be sent.
    pub(crate) retransmit: Vec<super::rekey::PendingSend>,
    /// After a failed periodic rekey, or while new TEKs are owed: not before this time
    /// again.
    pub(crate) rekey_retry_at: Option<Time>,
    /// A KEK change went out but the new Data-Security SAs that must follow it (RFC 9838
    /// §3.2.1) could not be built: [`super::Gcks::on_timeout`] tries again.
    pub(crate) teks_owed: bool,
    /// Change only through [`Group::insert_member`], [`Group::remove_member`] and
    /// [`Group::drain_members`], which keep `without_fragmentation` right.
    pub(crate) members: HashMap<Identity, MemberInfo>,
    /// Members whose IKE SA did not negotiate IKEv2 fragmentation: GSA_REKEY is
    /// fragmented only while this is 0 (RFC 9838 §2.4.1.2). A count, so a message does
    /// not scan every member.
    without_fragmentation: usize,
    /// Members the operator excluded: refused (AUTHORIZATION_FAILED) until re-admitted
    /// (docs/decisions.md R23).
    pub(crate) excluded: std::collections::HashSet<Identity>,
    pub(crate) sender_ids: SenderIdCounter,
    auth_key_spki: Option<Vec<u8>>,
    pub(crate) required: Vec<RequiredSa>,
    /// Runs the key wraps of large LKH rekeys (the key server's, [`super::Gcks::set_executor`]).
    pub(crate) executor: SharedExecutor,
    /// A member received the group's current keys since they were created
    /// ([`Group::restart`] clears it): a newcomer with backward access control must not
    /// get them, even when everybody who had them has left (docs/decisions.md L12).
    pub(crate) keys_issued: bool,
    /// In a group without a Rekey SA: the Data-Security SAs each member was last given
    /// (registration or GSA_INBAND_REKEY), so a GSA_INBAND_REKEY deletes exactly what the
    /// member holds even when rekeys followed each other before the host sent it
    /// (docs/decisions.md K29).
    pub(crate) inband_held: HashMap<Identity, Vec<HeldSa>>,
    /// Excluded members of such a group still to be told (K29), with the SAs they held.
    pub(crate) inband_excluded: HashMap<Identity, Vec<HeldSa>>,
}

/// A Data-Security SA as a member holds it: protocol (AH or ESP) and SPI.
pub(crate) type HeldSa = (crate::wire::ProtocolId, [u8; 4]);

fn random_array<const N: usize>() -> Result<[u8; N], GcksError> {
    let mut a = [0u8; N];
    fill_random(&mut a)?;
    Ok(a)
}

/// A random ESP/AH SPI outside the reserved range 0-255 (RFC 4303 §2.1), not yet in use.
pub(crate) fn fresh_spi4(in_use: &dyn Fn(&[u8]) -> bool) -> Result<[u8; 4], GcksError> {
    loop {
        let spi: [u8; 4] = random_array()?;
        if u32::from_be_bytes(spi) > 255 && !in_use(&spi) {
            return Ok(spi);
        }
    }
}

/// A random 16-octet Rekey SA SPI whose two IKE-header halves are non-zero, not in use.
pub(crate) fn fresh_spi16(in_use: &dyn Fn(&[u8]) -> bool) -> Result<[u8; 16], GcksError> {
    loop {
        let spi: [u8; 16] = random_array()?;
        if spi[..8] != [0; 8] && spi[8..] != [0; 8] && !in_use(&spi) {
            return Ok(spi);
        }
    }
}

impl Group {
    /// Creates the group's first SAs. The configuration must have been validated.
    pub(crate) fn new(
        config: GroupConfig,
        now: Time,
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Self, GcksError> {
        let auth_key_spki = match config.rekey.as_ref().map(|r| &r.auth) {
            Some(GcAuth::Signature(k)) => Some(k.public_spki_der()?),
            _ => None,
        };
        let mut group = Group {
            sender_ids: SenderIdCounter::new(config.sender_id_bits),
            required: Vec::new(),
            config,
            data_sas: Vec::new(),
            rekey_sa: None,
            previous_rekey_sa: None,
            previous_data_sas: Vec::new(),
            lkh: None,
            retransmit: Vec::new(),
            rekey_retry_at: None,
            teks_owed: false,
            members: HashMap::new(),
            without_fragmentation: 0,
            excluded: std::collections::HashSet::new(),
            auth_key_spki,
            executor: SharedExecutor::default(),
            keys_issued: false,
            inband_held: HashMap::new(),
            inband_excluded: HashMap::new(),
        };
        group.required = group.required_sas();
        if let Some(r) = &group.config.rekey {
            let b = &group.config.rekey_behaviour;
            let leaves = b.lkh_initial_leaves();
            group.lkh = Some(LkhTree::with_capacity(
                b.lkh_degree,
                r.kwa.kwk_len(),
                leaves,
            )?);
        }
        group.data_sas = group.new_data_sas(now, in_use)?;
        group.rekey_sa = group.new_rekey_sa(now, in_use)?;
        Ok(group)
    }

    /// The group ID.
    pub fn id(&self) -> &GroupId {
        &self.config.id
    }

    /// The configuration.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// Current members and what the key server knows of them.
    pub fn members(&self) -> impl Iterator<Item = (&Identity, &MemberInfo)> {
        self.members.iter()
    }

    /// Number of current members.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Number of current members whose IKE SA did not negotiate IKEv2 fragmentation
    /// (RFC 7383). While it is not 0, GSA_REKEY is never fragmented (RFC 9838 §2.4.1.2).
    pub fn members_without_fragmentation(&self) -> usize {
        self.without_fragmentation
    }

    /// `sas` as a member holds them: protocol and SPI.
    pub(crate) fn held(&self, sas: &[DataSa]) -> Vec<HeldSa> {
        sas.iter()
            .map(|sa| {
                (
                    self.config.data_policies[sa.policy].protocol.protocol_id(),
                    sa.spi,
                )
            })
            .collect()
    }

    /// The current Data-Security SAs as a member holds them.
    pub(crate) fn current_held(&self) -> Vec<HeldSa> {
        self.held(&self.data_sas)
    }

    /// Adds or replaces a member; returns its earlier record.
    pub(crate) fn insert_member(&mut self, id: Identity, info: MemberInfo) -> Option<MemberInfo> {
        let lacks = !info.fragmentation;
        self.keys_issued = true;
        let previous = self.members.insert(id, info);
        self.without_fragmentation += usize::from(lacks);
        if let Some(p) = &previous {
            self.without_fragmentation -= usize::from(!p.fragmentation);
        }
        previous
    }

    /// Removes a member; returns its record.
    pub(crate) fn remove_member(&mut self, id: &Identity) -> Option<MemberInfo> {
        self.inband_held.remove(id);
        let previous = self.members.remove(id);
        if let Some(p) = &previous {
            self.without_fragmentation -= usize::from(!p.fragmentation);
        }
        previous
    }

    /// Removes every member.
    pub(crate) fn drain_members(&mut self) -> Vec<(Identity, MemberInfo)> {
        self.without_fragmentation = 0;
        self.inband_held.clear();
        self.inband_excluded.clear();
        self.members.drain().collect()
    }

    /// Records whether the IKE SA of every member registered over `old` (SPIi | SPIr),
    /// now rekeyed into `new`, supports fragmentation, and moves them to `new`. Returns
    /// how many moved.
    pub(crate) fn move_members(
        &mut self,
        old: &[u8; 16],
        new: &[u8; 16],
        fragmentation: bool,
    ) -> usize {
        let mut moved = 0;
        for m in self.members.values_mut().filter(|m| &m.ike_spis == old) {
            m.ike_spis = *new;
            if m.fragmentation != fragmentation {
                m.fragmentation = fragmentation;
                if fragmentation {
                    self.without_fragmentation -= 1;
                } else {
                    self.without_fragmentation += 1;
                }
            }
            moved += 1;
        }
        moved
    }

    /// SPIs of the current Data-Security SAs, in policy order.
    pub fn data_sa_spis(&self) -> Vec<[u8; 4]> {
        self.data_sas.iter().map(|s| s.spi).collect()
    }

    /// The AUTH_KEY registrations hand out from now on.
    pub(crate) fn set_auth_key_spki(&mut self, spki: Vec<u8>) {
        self.auth_key_spki = Some(spki);
    }

    /// The keying material of a current Data-Security SA (encryption key incl. salt, then
    /// integrity key), for a key server that also sends or receives group traffic.
    /// Secret: never log it.
    pub fn data_sa_keymat(&self, spi: &[u8; 4]) -> Option<&KeyMaterial> {
        self.data_sas
            .iter()
            .find(|s| &s.spi == spi)
            .map(|s| &s.keymat)
    }

    /// The keying material of the current Rekey SA (GSK_e | GSK_a | GSK_w). Secret.
    pub fn rekey_sa_keymat(&self) -> Option<&KeyMaterial> {
        self.rekey_sa.as_ref().map(|r| &r.keymat)
    }

    /// SPI of the Rekey SA replaced last (after every member was excluded), if any.
    pub fn previous_rekey_sa_spi(&self) -> Option<[u8; 16]> {
        self.previous_rekey_sa.as_ref().map(|r| r.spi)
    }

    /// SPI of the current Rekey SA, if the group has one.
    pub fn rekey_sa_spi(&self) -> Option<[u8; 16]> {
        self.rekey_sa.as_ref().map(|r| r.spi)
    }

    /// Message ID of the next GSA_REKEY on the current Rekey SA (RFC 9838 §2.4.1.3), if
    /// the group has one.
    pub fn next_rekey_message_id(&self) -> Option<u32> {
        self.rekey_sa.as_ref().map(|r| r.next_message_id)
    }

    /// The group's LKH key tree (RFC 9838 Appendix A), if it has a Rekey SA: read only,
    /// for inspection (depth, members, Key IDs).
    pub fn key_tree(&self) -> Option<&LkhTree> {
        self.lkh.as_ref()
    }

    /// `true` while new Data-Security SAs are owed after a KEK change whose follow-up
    /// failed (RFC 9838 §3.2.1); [`super::Gcks::on_timeout`] retries every 5 s.
    pub fn teks_owed(&self) -> bool {
        self.teks_owed
    }

    /// Sender-IDs handed out since the counter was last reset.
    pub fn sender_ids_used(&self) -> u64 {
        self.sender_ids.used()
    }

    pub(crate) fn spis_in_use(&self, spi: &[u8]) -> bool {
        self.data_sas.iter().any(|s| s.spi == spi)
            || self.rekey_sa.as_ref().is_some_and(|r| r.spi == spi)
    }

    /// Fresh Data-Security SAs for every policy.
    pub(crate) fn new_data_sas(
        &self,
        now: Time,
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<DataSa>, GcksError> {
        let mut out: Vec<DataSa> = Vec::with_capacity(self.config.data_policies.len());
        let multicast = self.config.rekey.is_some();
        for (i, p) in self.config.data_policies.iter().enumerate() {
            let len = p.encr.and_then(|e| e.key_len()).unwrap_or(0)
                + p.integ.and_then(integ_key_len).unwrap_or(0);
            let taken = |s: &[u8]| {
                in_use(s)
                    || out
                        .iter()
                        .any(|d| d.spi == s || d.next_spi.is_some_and(|n| n == s))
            };
            // The SPI announced as GSA_NEXT_SPI by the SA this one replaces, if any.
            let reserved = self
                .data_sas
                .iter()
                .find(|d| d.policy == i)
                .and_then(|d| d.next_spi);
            let spi = match reserved {
                Some(r) => r,
                None => fresh_spi4(&taken)?,
            };
            let next_spi = if multicast {
                Some(fresh_spi4(&|s| taken(s) || s == spi)?)
            } else {
                None
            };
            out.push(DataSa {
                policy: i,
                spi,
                keymat: KeyMaterial::random(len)?,
                expires: (p.lifetime_secs != 0).then(|| now.plus_secs(u64::from(p.lifetime_secs))),
                next_spi,
            });
        }
        Ok(out)
    }

    /// A fresh Rekey SA, if the group is rekeyed by multicast.
    pub(crate) fn new_rekey_sa(
        &self,
        now: Time,
        in_use: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Option<RekeySa>, GcksError> {
        let Some(r) = &self.config.rekey else {
            return Ok(None);
        };
        let len = r.encr.key_len().unwrap_or(0)
            + r.integ.and_then(integ_key_len).unwrap_or(0)
            + r.kwa.kwk_len();
        let spi = match &self.rekey_sa {
            Some(current) => current.next_spi,
            None => fresh_spi16(in_use)?,
        };
        let next_spi = fresh_spi16(&|s| in_use(s) || s == spi)?;
        Ok(Some(RekeySa {
            spi,
            keymat: KeyMaterial::random(len)?,
            expires: now.plus_secs(u64::from(r.lifetime_secs)),
            next_message_id: 0,
            next_spi,
        }))
    }

    pub(crate) fn rekey_transforms(&self, with_gcauth: bool) -> Vec<Transform> {
        let Some(r) = &self.config.rekey else {
            return Vec::new();
        };
        let mut t = vec![r.encr.transform()];
        if let Some(i) = r.integ.filter(|i| *i != IntegId::NONE) {
            t.push(Transform::new(TransformType::INTEG, i.0));
        }
        t.push(Transform::new(TransformType::KWA, r.kwa.id()));
        if with_gcauth {
            t.push(match &r.auth {
                GcAuth::Implicit => Transform::new(TransformType::GCAUTH, GcAuthId::IMPLICIT.0),
                GcAuth::Signature(k) => {
                    Transform::new(TransformType::GCAUTH, GcAuthId::DIGITAL_SIGNATURE.0)
                        .with_attribute(Attribute::tlv(
                            TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                            k.alg().algorithm_identifier().to_vec(),
                        ))
                }
            });
        }
        t
    }

    pub(crate) fn data_transforms(&self, policy: usize) -> Vec<Transform> {
        let p = &self.config.data_policies[policy];
        let mut t = Vec::with_capacity(3);
        if let Some(e) = p.encr {
            t.push(e.transform());
        }
        if let Some(i) = p.integ.filter(|i| *i != IntegId::NONE) {
            t.push(Transform::new(TransformType::INTEG, i.0));
        }
        t.push(Transform::new(TransformType::SN, p.sn.0));
        t
    }

    fn required_sas(&self) -> Vec<RequiredSa> {
        let mut out: Vec<RequiredSa> = (0..self.config.data_policies.len())
            .map(|i| RequiredSa {
                protocol: self.config.data_policies[i].protocol.protocol_id(),
                transforms: self.data_transforms(i),
            })
            .collect();
        if self.config.rekey.is_some() {
            out.push(RequiredSa {
                protocol: ProtocolId::GIKE_UPDATE,
                transforms: self.rekey_transforms(true),
            });
        }
        out
    }

    /// GSA_NEXT_SPI (RFC 9838 §4.4.2.2.3).
    pub(crate) fn next_spi_attr(spi: &[u8]) -> Attribute<GsaAttrType> {
        Attribute::tlv(GsaAttrType::GSA_NEXT_SPI, spi.to_vec())
    }

    pub(crate) fn lifetime_attr(now: Time, expires: Time) -> Attribute<GsaAttrType> {
        let secs = now.secs_until(expires).clamp(1, u64::from(u32::MAX)) as u32;
        Attribute::tlv(GsaAttrType::GSA_KEY_LIFETIME, secs.to_be_bytes().to_vec())
    }

    /// The GSA payload of a registration response (RFC 9838 §4.4): the Rekey SA policy
    /// with GCAUTH, every Data-Security SA policy, and the GW policy.
    pub(crate) fn registration_gsa(&self, now: Time, sender_id_bits: bool) -> GsaPayload {
        let mut policies = Vec::with_capacity(self.data_sas.len() + 2);
        if let (Some(rs), Some(r)) = (&self.rekey_sa, &self.config.rekey) {
            let mut attributes = vec![
                Self::lifetime_attr(now, rs.expires),
                Self::next_spi_attr(&rs.next_spi),
            ];
            if rs.next_message_id != 0 {
                attributes.push(Attribute::tlv(
                    GsaAttrType::GSA_INITIAL_MESSAGE_ID,
                    rs.next_message_id.to_be_bytes().to_vec(),
                ));
            }
            policies.push(GroupPolicy::Sa(GsaPolicy {
                protocol: ProtocolId::GIKE_UPDATE,
                spi: rs.spi.to_vec(),
                src_ts: r.src.clone(),
                dst_ts: r.dst.clone(),
                transforms: self
                    .required
                    .last()
                    .map(|r| r.transforms.clone())
                    .unwrap_or_default(),
                attributes,
            }));
        }
        for sa in &self.data_sas {
            let p = &self.config.data_policies[sa.policy];
            let mut attributes = Vec::with_capacity(2);
            if let Some(expires) = sa.expires {
                attributes.push(Self::lifetime_attr(now, expires));
            }
            if let Some(next) = &sa.next_spi {
                attributes.push(Self::next_spi_attr(next));
            }
            policies.push(GroupPolicy::Sa(GsaPolicy {
                protocol: p.protocol.protocol_id(),
                spi: sa.spi.to_vec(),
                src_ts: p.src.clone(),
                dst_ts: p.dst.clone(),
                transforms: self.required[sa.policy].transforms.clone(),
                attributes,
            }));
        }
        let mut gw = Vec::with_capacity(3);
        if let Some(atd) = self.config.atd_secs {
            gw.push(Attribute::tv(GwpAttrType::GWP_ATD, atd));
        }
        if let Some(dtd) = self.config.dtd_secs {
            gw.push(Attribute::tv(GwpAttrType::GWP_DTD, dtd));
        }
        if sender_id_bits {
            gw.push(Attribute::tv(
                GwpAttrType::GWP_SENDER_ID_BITS,
                self.config.sender_id_bits,
            ));
        }
        if !gw.is_empty() {
            policies.push(GroupPolicy::Gw(GwPolicy {
                reserved: 0,
                attributes: gw,
            }));
        }
        GsaPayload { policies }
    }

    /// The KD payload of a registration response (RFC 9838 §4.5): every SA's keying
    /// material wrapped under the IKE SA's GSK_w (Key ID 0, KWK ID 0), and the Member Key
    /// Bag with AUTH_KEY and the Sender-IDs.
    pub(crate) fn registration_kd(
        &mut self,
        wrapper: &mut KeyWrapper,
        sender_ids: Option<(u32, u32)>,
        leaf: Option<LeafId>,
    ) -> Result<KdPayload, GcksError> {
        // With a key tree, the Rekey SA keys come as the member's path (RFC 9838 A.2):
        // SA_KEY under its top node, WRAP_KEYs down to its leaf, the leaf under GSK_w.
        // The leaf key joins the batch of keys wrapped under the IKE SA's GSK_w below.
        let mut tree_keys: Option<(WrappedKeyOut, Vec<WrappedKeyOut>)> = None;
        let mut leaf_key = None;
        if let (Some(tree), Some(leaf), Some(rs), Some(r)) =
            (self.lkh.as_mut(), leaf, &self.rekey_sa, &self.config.rekey)
        {
            let (sa_key, path, leaf_id) =
                tree.registration_keys(leaf, r.kwa, rs.keymat.as_bytes())?;
            leaf_key = Some((leaf_id, tree.leaf_key(leaf)?));
            tree_keys = Some((sa_key, path));
        }
        // Every other keying material under the same GSK_w, wrapped in one batch.
        let kek_under_gsk_w = tree_keys.is_none();
        let sas: Vec<(ProtocolId, &[u8], &KeyMaterial)> = self
            .rekey_sa
            .iter()
            .filter(|_| kek_under_gsk_w)
            .map(|rs| (ProtocolId::GIKE_UPDATE, &rs.spi[..], &rs.keymat))
            .chain(self.data_sas.iter().map(|sa| {
                (
                    self.config.data_policies[sa.policy].protocol.protocol_id(),
                    &sa.spi[..],
                    &sa.keymat,
                )
            }))
            .collect();
        let mut keymats: Vec<&[u8]> = sas.iter().map(|(_, _, k)| k.as_bytes()).collect();
        if let Some((_, k)) = &leaf_key {
            keymats.push(k.as_bytes());
        }
        let mut wrapped = wrapper.wrap_many(&keymats)?;
        let leaf_wrap = match &leaf_key {
            Some((id, _)) => wrapped.pop().map(|encrypted| WrappedKeyOut {
                key_id: *id,
                kwk_id: 0,
                encrypted,
            }),
            None => None,
        };
        let mut bags: Vec<KeyBag> = sas
            .iter()
            .zip(wrapped)
            .map(|((protocol, spi, _), encrypted)| {
                KeyBag::Group(GroupKeyBag {
                    protocol: *protocol,
                    spi: spi.to_vec(),
                    attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                        key_id: 0,
                        kwk_id: 0,
                        encrypted,
                    })],
                })
            })
            .collect();
        let mut member = Vec::new();
        if let (Some((sa_key, mut path)), Some(rs)) = (tree_keys, &self.rekey_sa) {
            path.extend(leaf_wrap);
            bags.insert(
                0,
                KeyBag::Group(GroupKeyBag {
                    protocol: ProtocolId::GIKE_UPDATE,
                    spi: rs.spi.to_vec(),
                    attributes: vec![GroupKeyBagAttr::SaKey(wire_key(sa_key))],
                }),
            );
            member.extend(
                path.into_iter()
                    .map(|k| MemberKeyBagAttr::WrapKey(wire_key(k))),
            );
        }
        if let Some(spki) = &self.auth_key_spki {
            member.push(MemberKeyBagAttr::AuthKey(spki.clone()));
        }
        if let Some((first, count)) = sender_ids {
            // (0..count) rather than first..first + count: the last ID of a 32-bit space
            // is u32::MAX, and first + count would overflow.
            for k in 0..count {
                member.push(MemberKeyBagAttr::GmSenderId(
                    (first + k).to_be_bytes().to_vec(),
                ));
            }
        }
        if !member.is_empty() {
            bags.push(KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: member,
            }));
        }
        Ok(KdPayload { bags })
    }
}

/// The codec form of a wrapped key from the key tree.
pub(crate) fn wire_key(k: WrappedKeyOut) -> WrappedKey {
    WrappedKey {
        key_id: k.key_id,
        kwk_id: k.kwk_id,
        encrypted: k.encrypted,
    }
}
