//! GSA_AUTH and GSA_REGISTRATION at the key server (RFC 9838 §2.3.1, §2.3.2, §2.3.4).

use super::group::{Group, MemberInfo};
use super::sag;
use super::sender_id::Allocation;
use super::{Gcks, GcksError};
use crate::crypto::keywrap::{KeyWrapper, Kwa};
use crate::identity::{GroupId, Identity};
use crate::ike_sa::IkeSaContext;
use crate::time::Time;
use crate::wire::{ExchangeType, NotifyPayload, NotifyType, Payload, PayloadBody, SaPayload};

/// What a request achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The member joined (or re-registered); the response carries GSA and KD.
    Registered {
        /// The group.
        group: GroupId,
        /// Sender-IDs given: first and count.
        sender_ids: Option<(u32, u32)>,
    },
    /// The request was refused; the response carries `notify`.
    Rejected {
        /// The group, when the request named one.
        group: Option<GroupId>,
        /// The error notify sent.
        notify: NotifyType,
        /// Why, for the log.
        reason: String,
    },
    /// The member left the group; the response is empty (RFC 9838 §2.3.2).
    Left {
        /// The group.
        group: GroupId,
    },
}

/// Something the host should know about (log, operator view, rekey scheduling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GcksEvent {
    /// A new member joined.
    MemberJoined {
        /// The group.
        group: GroupId,
        /// The member's authenticated identity.
        member: Identity,
        /// Its Sender-IDs.
        sender_ids: Option<(u32, u32)>,
    },
    /// A member registered again; its earlier state was replaced.
    MemberReregistered {
        /// The group.
        group: GroupId,
        /// The member.
        member: Identity,
        /// Its new Sender-IDs.
        sender_ids: Option<(u32, u32)>,
    },
    /// A member left.
    MemberLeft {
        /// The group.
        group: GroupId,
        /// The member.
        member: Identity,
    },
    /// Every member was excluded and the group's SAs were replaced: they must all
    /// register again (RFC 9838 §2.5.1 Sender-ID exhaustion). The excluded members are
    /// told with a Delete (GIKE_UPDATE, SPI 0) under the previous Rekey SA, which the
    /// group keeps for that (`Group::previous_rekey_sa_spi`), or by GSA_INBAND_REKEY over
    /// their IKE SAs.
    AllMembersExcluded {
        /// The group.
        group: GroupId,
        /// The excluded members with their IKE SA SPIs.
        excluded: Vec<(Identity, MemberInfo)>,
        /// SPI of the Rekey SA the excluded members still hold.
        previous_rekey_spi: Option<[u8; 16]>,
        /// Why.
        reason: &'static str,
    },
}

/// The response to one registration request.
#[derive(Debug)]
pub struct GcksResponse {
    /// The payloads to put in the response's SK payload, after IDr/AUTH (which the host
    /// adds in GSA_AUTH).
    pub payloads: Vec<Payload>,
    /// What happened.
    pub outcome: Outcome,
    /// Events for the host.
    pub events: Vec<GcksEvent>,
    /// GSA_REKEY messages to multicast before sending this response (backward access
    /// control replaced the keys on the newcomer's path).
    pub rekeys: Vec<super::rekey::RekeyMessage>,
    /// GSA_INBAND_REKEY the existing members need
    /// ([`GcksOutput::InbandRekeyNeeded`](super::GcksOutput::InbandRekeyNeeded)): backward
    /// access control in a group without a Rekey SA replaced the Data-Security SAs before
    /// the newcomer got them (docs/decisions.md L12).
    pub inband: Option<super::GcksOutput>,
}

impl GcksResponse {
    /// The error notify the response carries, if any.
    pub fn notify(&self) -> Option<NotifyType> {
        match &self.outcome {
            Outcome::Rejected { notify, .. } => Some(*notify),
            _ => None,
        }
    }

    fn rejected(group: Option<GroupId>, notify: NotifyType, data: Vec<u8>, reason: String) -> Self {
        log::info!(
            "registration{} rejected with {notify}: {reason}",
            group
                .as_ref()
                .map(|g| format!(" to {g}"))
                .unwrap_or_default()
        );
        GcksResponse {
            payloads: vec![Payload::new(PayloadBody::Notify(NotifyPayload::new(
                notify, data,
            )))],
            outcome: Outcome::Rejected {
                group,
                notify,
                reason,
            },
            events: Vec::new(),
            rekeys: Vec::new(),
            inband: None,
        }
    }
}

/// The group-relevant content of a request.
struct Request<'a> {
    group: GroupId,
    sag: Option<&'a SaPayload>,
    /// Requested Sender-ID count, if the member will send.
    sender: Option<u32>,
    /// REGISTRATION_FAILED or NO_PROPOSAL_CHOSEN: the member leaves.
    leave: Option<NotifyType>,
}

struct Reject(NotifyType, Vec<u8>, String);

fn syntax(reason: &str) -> Reject {
    Reject(NotifyType::INVALID_SYNTAX, Vec::new(), reason.to_string())
}

fn parse_request(exchange: ExchangeType, payloads: &[Payload]) -> Result<Request<'_>, Reject> {
    let mut group = None;
    let mut sag = None;
    let mut sender = None;
    let mut leave = None;
    for p in payloads {
        if p.is_unsupported_critical() {
            let t = p.body.payload_type();
            return Err(Reject(
                NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
                vec![t.0],
                format!("critical payload of unknown type {t}"),
            ));
        }
        match &p.body {
            PayloadBody::IdG(_) if group.is_some() => return Err(syntax("more than one IDg")),
            PayloadBody::IdG(id) => group = Some(Identity::from_payload(id)),
            PayloadBody::Sa(_) if sag.is_some() => return Err(syntax("more than one SAg")),
            PayloadBody::Sa(sa) => sag = Some(sa),
            PayloadBody::Notify(n) => match n.notify_type {
                NotifyType::GROUP_SENDER => {
                    // RFC 9838 §4.7.4: a 4-octet count; §2.5.1: one ID is always given, so
                    // 0 and empty data mean 1 (docs/decisions.md R4).
                    let count = match n.data.len() {
                        0 => 1,
                        4 => n.group_sender_count().unwrap_or(1).max(1),
                        _ => return Err(syntax("GROUP_SENDER data is not 4 octets")),
                    };
                    if sender.replace(count).is_some() {
                        return Err(syntax("more than one GROUP_SENDER"));
                    }
                }
                NotifyType::REGISTRATION_FAILED | NotifyType::NO_PROPOSAL_CHOSEN => {
                    if exchange != ExchangeType::GSA_REGISTRATION {
                        return Err(syntax("leaving is only possible in GSA_REGISTRATION"));
                    }
                    leave = Some(n.notify_type);
                }
                _ => {}
            },
            _ => {}
        }
    }
    let group = group.ok_or_else(|| syntax("no IDg"))?;
    Ok(Request {
        group,
        sag,
        sender,
        leave,
    })
}

impl Gcks {
    /// Handles the decrypted payloads of a GSA_AUTH or GSA_REGISTRATION request that
    /// arrived over the IKE SA described by `ctx` (whose peer is authenticated).
    ///
    /// Returns the payloads of the response: GSA + KD (+ USE_TRANSPORT_MODE) on success;
    /// N(INVALID_GROUP_ID | AUTHORIZATION_FAILED | REGISTRATION_FAILED |
    /// NO_PROPOSAL_CHOSEN | INVALID_SYNTAX) on refusal (RFC 9838 §2.3.1, §4.7); nothing
    /// when the member leaves (§2.3.2). Keys are wrapped under the IKE SA's GSK_w.
    pub fn handle_request(
        &mut self,
        ctx: &IkeSaContext,
        exchange: ExchangeType,
        payloads: &[Payload],
        now: Time,
    ) -> GcksResponse {
        if !matches!(
            exchange,
            ExchangeType::GSA_AUTH | ExchangeType::GSA_REGISTRATION
        ) {
            return GcksResponse::rejected(
                None,
                NotifyType::INVALID_SYNTAX,
                Vec::new(),
                format!("{exchange} is not a registration exchange"),
            );
        }
        let req = match parse_request(exchange, payloads) {
            Ok(r) => r,
            Err(Reject(n, data, reason)) => return GcksResponse::rejected(None, n, data, reason),
        };
        let group_id = req.group.clone();
        let reject = |n: NotifyType, reason: String| {
            GcksResponse::rejected(Some(group_id.clone()), n, Vec::new(), reason)
        };
        // A snapshot of every SPI, needed only when backward access control makes a join
        // replace the KEK while the group is borrowed mutably.
        let backward = self
            .groups
            .get(&req.group)
            .is_some_and(|g| g.config.rekey_behaviour.backward_access_control);
        let in_use: std::collections::HashSet<Vec<u8>> = if backward {
            self.groups.values().flat_map(|g| g.all_spis()).collect()
        } else {
            std::collections::HashSet::new()
        };
        let spi_taken_now = move |spi: &[u8]| in_use.contains(spi);
        let Some(group) = self.groups.get(&req.group) else {
            return reject(NotifyType::INVALID_GROUP_ID, "unknown group".into());
        };
        if let Some(reason) = req.leave {
            return leave(
                self.groups.get_mut(&req.group),
                &ctx.peer,
                reason,
                req.group,
            );
        }
        if !group.config.authorized.iter().any(|p| p.matches(&ctx.peer)) {
            return reject(
                NotifyType::AUTHORIZATION_FAILED,
                format!("{} is not authorised", ctx.peer),
            );
        }
        if group.excluded.contains(&ctx.peer) {
            return reject(
                NotifyType::AUTHORIZATION_FAILED,
                format!("{} was excluded by the operator", ctx.peer),
            );
        }
        let rejoining = group.members.contains_key(&ctx.peer);
        if !rejoining && group.members.len() >= group.config.capacity {
            return reject(
                NotifyType::REGISTRATION_FAILED,
                format!("group is full ({} members)", group.config.capacity),
            );
        }
        if let Some(sag) = req.sag {
            if !sag::supports(sag, &group.required) {
                return reject(
                    NotifyType::NO_PROPOSAL_CHOSEN,
                    "the member's SAg does not cover the group policy".into(),
                );
            }
        }
        if ctx.kwa == Kwa::KwArx {
            return reject(
                NotifyType::NO_PROPOSAL_CHOSEN,
                "the IKE SA negotiated KW_ARX, which this key server does not support".into(),
            );
        }
        let wants_ids = req.sender.is_some() && group.config.uses_counter_mode();
        let mut events = Vec::new();

        // The one state change a registration may cause whatever this member's fate: when
        // the Sender-ID space is used up, every member is excluded and the SAs replaced
        // (RFC 9838 §2.5.1). Registration never replaces SAs otherwise: keys change only
        // by rekeying the whole group (docs/decisions.md R7).
        let exhausted = wants_ids
            && group.sender_ids.peek(
                req.sender.unwrap_or(1),
                group.config.max_sender_ids_per_request,
            ) == Allocation::Exhausted;
        let mut early_rekeys = Vec::new();
        if exhausted {
            let taken: std::collections::HashSet<Vec<u8>> =
                self.groups.values().flat_map(|g| g.all_spis()).collect();
            let Some(group) = self.groups.get_mut(&req.group) else {
                return reject(NotifyType::INVALID_GROUP_ID, "unknown group".into());
            };
            let (excluded, announcement) = match group.restart(now, &|s| taken.contains(s)) {
                Ok(x) => x,
                Err(e) => return internal(&req.group, e),
            };
            early_rekeys.extend(announcement);
            log::warn!(
                "group {}: Sender-IDs exhausted, excluded all {} members",
                req.group,
                excluded.len()
            );
            // The senders register again with fresh IDs; if they already need more than
            // exist, they will exhaust the space again and again (RFC 9838 §2.5.1 leaves
            // sizing GWP_SENDER_ID_BITS to the operator): say so once per exhaustion.
            let live: u64 = excluded
                .iter()
                .filter_map(|(_, m)| m.sender_ids)
                .map(|(_, n)| u64::from(n))
                .sum::<u64>()
                + u64::from(req.sender.unwrap_or(1));
            if live > group.sender_ids.capacity() {
                log::error!(
                    "group {}: its senders need {live} Sender-IDs but {} bits give {}: \
                     they will exhaust them again on re-registering; raise sender_id_bits",
                    req.group,
                    group.config.sender_id_bits,
                    group.sender_ids.capacity()
                );
            }
            events.push(GcksEvent::AllMembersExcluded {
                group: req.group.clone(),
                excluded,
                previous_rekey_spi: group.previous_rekey_sa.as_ref().map(|r| r.spi),
                reason: "Sender-ID space exhausted",
            });
        }
        let Some(group) = self.groups.get_mut(&req.group) else {
            return reject(NotifyType::INVALID_GROUP_ID, "unknown group".into());
        };
        let joining = !group.members.contains_key(&ctx.peer);
        let backward = joining && group.config.rekey_behaviour.backward_access_control;
        if backward && group.members.is_empty() && group.keys_issued {
            // Nobody is left to tell, but the keys that protected earlier traffic must not
            // reach the newcomer either: new SAs and key tree, sent to nobody (L12).
            if let Err(e) = group.restart(now, &spi_taken_now) {
                let mut r = internal(&req.group, e);
                r.events = events;
                r.rekeys = early_rekeys;
                return r;
            }
            log::info!(
                "group {}: new keys for a newcomer to the empty group (backward access \
                 control)",
                req.group
            );
        }
        let allocation = if wants_ids {
            group.sender_ids.peek(
                req.sender.unwrap_or(1),
                group.config.max_sender_ids_per_request,
            )
        } else {
            Allocation::Exhausted
        };
        let sender_ids = match allocation {
            Allocation::Ids { first, count } => Some((first, count)),
            Allocation::Exhausted => None,
        };
        // The member's leaf in the key tree: kept on re-registration, a new one on joining.
        // With backward access control, the keys on the newcomer's path are replaced first
        // and the existing members told by GSA_REKEY, before the newcomer gets any key.
        let previous_leaf = group.members.get(&ctx.peer).and_then(|m| m.leaf);
        let mut inband = None;
        if backward && group.lkh.is_none() && !group.members.is_empty() {
            // A group without a Rekey SA: new Data-Security SAs for the members by
            // GSA_INBAND_REKEY, and only those for the newcomer (L12).
            match group.new_data_sas(now, &spi_taken_now) {
                Ok(teks) => inband = Some(group.install_inband(teks)),
                Err(e) => {
                    let mut r = internal(&req.group, e);
                    r.events = events;
                    r.rekeys = early_rekeys;
                    return r;
                }
            }
        }
        let mut rekeys = early_rekeys;
        let mut new_leaf = None;
        let budget = group.wrap_key_budget();
        let leaf = match (previous_leaf, group.lkh.as_mut()) {
            (Some(l), _) => Some(l),
            (None, Some(tree)) => {
                let backward = backward && !group.members.is_empty();
                match tree.join_undoable(backward, budget) {
                    Ok((leaf, planned)) => {
                        new_leaf = Some(leaf);
                        if let Some((plan, undo)) = planned {
                            // Backward access control: new KEK for the existing members (the
                            // plan also cuts off members that left, docs/decisions.md L11),
                            // then the KEK changes for those the plan had no room for, then
                            // new TEKs, before the newcomer gets anything.
                            match group.change_kek_undoable(
                                Some(plan),
                                Some(undo),
                                &spi_taken_now,
                                now,
                            ) {
                                Ok(msgs) => rekeys.extend(msgs),
                                Err(e) => {
                                    // Undone: the tree is as the members hold it, and the
                                    // newcomer's leaf is free again.
                                    let mut r = internal(&req.group, e);
                                    r.events = events;
                                    r.rekeys = rekeys;
                                    return r;
                                }
                            }
                            let (msgs, error) = group.follow_with_teks(&spi_taken_now, now);
                            rekeys.extend(msgs);
                            if let Some(e) = error {
                                if let Some(t) = group.lkh.as_mut() {
                                    let _ = t.free_leaf(leaf);
                                }
                                // A KEK change that went through is still sent
                                // (docs/decisions.md K17); the newcomer must not get the
                                // TEKs it was to miss, so it is refused.
                                let mut r = internal(&req.group, e);
                                r.events = events;
                                r.rekeys = rekeys;
                                return r;
                            }
                        }
                        Some(leaf)
                    }
                    Err(e) => {
                        let mut r = internal(&req.group, e.into());
                        r.events = events;
                        r.rekeys = rekeys;
                        return r;
                    }
                }
            }
            (None, None) => None,
        };
        let response = build_response(group, ctx, sender_ids, leaf, now);
        let payloads = match response {
            Ok(p) => p,
            Err(e) => {
                if let (Some(l), Some(t)) = (new_leaf, group.lkh.as_mut()) {
                    let _ = t.free_leaf(l);
                }
                let mut r = internal(&req.group, e);
                r.events = events;
                r.rekeys = rekeys;
                r.inband = inband;
                return r;
            }
        };
        // Commit: nothing below can fail.
        group.sender_ids.commit(&allocation);
        if group.rekey_sa.is_none() {
            group
                .inband_held
                .insert(ctx.peer.clone(), group.current_held());
            group.inband_excluded.remove(&ctx.peer);
        }
        let mut ike_spis = [0u8; 16];
        ike_spis[..8].copy_from_slice(&ctx.spi_i);
        ike_spis[8..].copy_from_slice(&ctx.spi_r);
        let previous = group.insert_member(
            ctx.peer.clone(),
            MemberInfo {
                sender_ids,
                registered_at: now,
                ike_spis,
                leaf,
                fragmentation: ctx.fragmentation,
            },
        );
        let (group_id, member) = (req.group.clone(), ctx.peer.clone());
        log::info!(
            "group {group_id}: {member} {} ({} sender ID(s), {} member(s))",
            if previous.is_some() {
                "re-registered"
            } else {
                "joined"
            },
            sender_ids.map_or(0, |(_, c)| c),
            group.members.len()
        );
        events.push(if previous.is_some() {
            GcksEvent::MemberReregistered {
                group: group_id.clone(),
                member,
                sender_ids,
            }
        } else {
            GcksEvent::MemberJoined {
                group: group_id.clone(),
                member,
                sender_ids,
            }
        });
        GcksResponse {
            payloads,
            outcome: Outcome::Registered {
                group: group_id,
                sender_ids,
            },
            events,
            rekeys,
            inband,
        }
    }
}

fn build_response(
    group: &mut Group,
    ctx: &IkeSaContext,
    sender_ids: Option<(u32, u32)>,
    leaf: Option<crate::lkh::LeafId>,
    now: Time,
) -> Result<Vec<Payload>, GcksError> {
    let mut wrapper = KeyWrapper::new(ctx.kwa, ctx.gsk_w().as_bytes())?;
    let gsa = group.registration_gsa(now, sender_ids.is_some());
    let kd = group.registration_kd(&mut wrapper, sender_ids, leaf)?;
    let mut payloads = vec![
        Payload::new(PayloadBody::Gsa(gsa)),
        Payload::new(PayloadBody::Kd(kd)),
    ];
    if group.config.transport_mode {
        payloads.push(Payload::new(PayloadBody::Notify(NotifyPayload::new(
            NotifyType::USE_TRANSPORT_MODE,
            Vec::new(),
        ))));
    }
    Ok(payloads)
}

fn internal(group: &GroupId, e: GcksError) -> GcksResponse {
    log::error!("group {group}: cannot build the registration response: {e}");
    GcksResponse::rejected(
        Some(group.clone()),
        NotifyType::REGISTRATION_FAILED,
        Vec::new(),
        format!("internal error: {e}"),
    )
}

fn leave(
    group: Option<&mut Group>,
    member: &Identity,
    reason: NotifyType,
    group_id: GroupId,
) -> GcksResponse {
    let mut events = Vec::new();
    if let Some(g) = group {
        if let Some(info) = g.remove_member(member) {
            // The member's keys stay valid until the next KEK change; the operator excludes
            // it (LKH rekey) when that matters.
            if let (Some(leaf), Some(tree)) = (info.leaf, g.lkh.as_mut()) {
                let _ = tree.free_leaf(leaf);
            }
            log::info!("group {group_id}: {member} left ({reason})");
            events.push(GcksEvent::MemberLeft {
                group: group_id.clone(),
                member: member.clone(),
            });
        }
    }
    GcksResponse {
        payloads: Vec::new(),
        outcome: Outcome::Left { group: group_id },
        events,
        rekeys: Vec::new(),
        inband: None,
    }
}
