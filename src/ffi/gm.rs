//! The group member exports (`gikev2_membership_*`, `gikev2_gm_*`). Results name groups
//! by their group ID text (`fqdn:video.example.com`).

use super::abi::{gikev2_event_kind_t as K, gikev2_outcome_t as O, gikev2_status_t};
use super::abi::{gikev2_gm_t, gikev2_ike_sa_t, gikev2_membership_t, gikev2_payload_t};
use super::abi::{gikev2_result_t, gikev2_setting_t};
use super::boundary::{self, guard, out_ptr, write_out, Handle};
use super::error::Error;
use super::result::{hand_out, ResultData};
use crate::gm::{
    GmAction, GmError, GroupMember, MembershipConfig, ReRegisterReason, ResponseOutcome, SaRemoval,
};
use crate::identity::GroupId;
use crate::time::Time;
use crate::wire::{hex, GroupPolicy, NotifyType, Payload, PayloadBody, ProtocolId};
use std::ffi::c_char;

/// The value behind `gikev2_membership_t`.
pub(crate) struct MembershipHandle {
    name: String,
    config: MembershipConfig,
    /// The group ID text, as results name the group.
    group_text: std::ffi::CString,
}

impl Handle for gikev2_membership_t {
    type Inner = MembershipHandle;
}

impl Handle for gikev2_gm_t {
    type Inner = GroupMember;
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_membership_new(
    name: *const c_char,
    settings: *const gikev2_setting_t,
    count: usize,
    out: *mut *mut gikev2_membership_t,
) -> gikev2_status_t {
    guard("gikev2_membership_new", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let name = unsafe { boundary::string(name, "name") }?;
        let settings = unsafe { boundary::settings(settings, count) }?;
        out_ptr(out, "out")?;
        boundary::section_name(name, "name")?;
        let config = crate::settings::membership_config(name, &settings)?;
        let h = MembershipHandle {
            name: name.to_string(),
            group_text: boundary::cstring(config.group.to_string()),
            config,
        };
        // SAFETY: checked non-NULL.
        unsafe { write_out(out, gikev2_membership_t::into_raw(h)) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_membership_free(membership: *mut gikev2_membership_t) {
    // SAFETY: NULL or a handle from gikev2_membership_new, freed once.
    boundary::guard_value((), || unsafe { gikev2_membership_t::free(membership) })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_membership_group(
    membership: *const gikev2_membership_t,
) -> *const c_char {
    let empty = c"".as_ptr();
    // SAFETY: NULL or a live membership; the text lives as long as it.
    boundary::guard_value(empty, || {
        unsafe { gikev2_membership_t::get(membership, "membership") }
            .map_or(empty, |h| h.group_text.as_ptr())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_new(
    ike_sa: *const gikev2_ike_sa_t,
    out: *mut *mut gikev2_gm_t,
) -> gikev2_status_t {
    guard("gikev2_gm_new", || {
        if ike_sa.is_null() {
            return Err(Error::Null("ike_sa"));
        }
        out_ptr(out, "out")?;
        // SAFETY: non-NULL, valid by the header's contract.
        let ctx = unsafe { boundary::member_ike_sa(ike_sa) }?;
        // SAFETY: checked non-NULL.
        unsafe { write_out(out, gikev2_gm_t::into_raw(GroupMember::new(ctx))) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_free(gm: *mut gikev2_gm_t) {
    // SAFETY: NULL or a handle from gikev2_gm_new, freed once.
    boundary::guard_value((), || unsafe { gikev2_gm_t::free(gm) })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_update_ike_sa(
    gm: *mut gikev2_gm_t,
    ike_sa: *const gikev2_ike_sa_t,
) -> gikev2_status_t {
    guard("gikev2_gm_update_ike_sa", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get_mut(gm, "gm") }?;
        let ctx = unsafe { boundary::member_ike_sa(ike_sa) }?;
        gm.set_ike_sa(ctx);
        Ok(())
    })
}

/// The membership, GM and output of the join/leave exports.
///
/// # Safety
/// Pointers as the header describes them.
unsafe fn gm_and_membership<'a>(
    gm: *mut gikev2_gm_t,
    membership: *const gikev2_membership_t,
    out: *mut *mut gikev2_result_t,
) -> Result<(&'a mut GroupMember, &'a MembershipHandle), Error> {
    // SAFETY: forwarded contract.
    let g = unsafe { gikev2_gm_t::get_mut(gm, "gm") }?;
    // SAFETY: forwarded contract.
    let m = unsafe { gikev2_membership_t::get(membership, "membership") }?;
    out_ptr(out, "out")?;
    Ok((g, m))
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_join(
    gm: *mut gikev2_gm_t,
    membership: *const gikev2_membership_t,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_join", || {
        // SAFETY: forwarded contract.
        let (gm, m) = unsafe { gm_and_membership(gm, membership, out) }?;
        let payloads = boundary::payloads_out(&gm.join_request(&m.config))?;
        ::log::debug!("membership {}: join request for {}", m.name, m.config.group);
        let r = ResultData {
            payloads,
            ..ResultData::default()
        };
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_leave(
    gm: *mut gikev2_gm_t,
    membership: *const gikev2_membership_t,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_leave", || {
        // SAFETY: forwarded contract.
        let (gm, m) = unsafe { gm_and_membership(gm, membership, out) }?;
        let payloads = gm.leave_request(&m.config.group, NotifyType::REGISTRATION_FAILED);
        let r = ResultData {
            payloads: boundary::payloads_out(&payloads)?,
            ..ResultData::default()
        };
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

/// Everything the member holds of `group` before a response replaces or ends it, as
/// removals due at `now`: its SAs, its current and retiring Rekey SAs, and removals still
/// waiting for their DTD (the membership's timers go with it).
fn held_sas(gm: &GroupMember, group: &GroupId, now: Time) -> Vec<SaRemoval> {
    let Some(m) = gm.membership(group) else {
        return Vec::new();
    };
    let mut held: Vec<(ProtocolId, Vec<u8>)> = m
        .sa_protocols
        .iter()
        .map(|(spi, protocol)| (*protocol, spi.to_vec()))
        .collect();
    let rekey = m
        .rekey
        .iter()
        .chain(m.previous_rekey.as_ref().map(|(r, _)| r));
    held.extend(rekey.map(|r| (ProtocolId::GIKE_UPDATE, r.spi.to_vec())));
    held.extend(
        m.timers
            .removals
            .iter()
            .map(|r| (r.protocol, r.spi.clone())),
    );
    let mut out: Vec<SaRemoval> = Vec::new();
    for (protocol, spi) in held {
        if !out.iter().any(|r| r.protocol == protocol && r.spi == spi) {
            out.push(SaRemoval {
                protocol,
                spi,
                at: now,
            });
        }
    }
    out
}

/// Consecutive runs of Sender-IDs, as (first, count).
fn runs(ids: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some((first, n)) if first.checked_add(*n) == Some(*id) => *n += 1,
            _ => out.push((*id, 1)),
        }
    }
    out
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_process_response(
    gm: *mut gikev2_gm_t,
    membership: *const gikev2_membership_t,
    payloads: *const gikev2_payload_t,
    count: usize,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_process_response", || {
        // SAFETY: forwarded contract.
        let (gm, m) = unsafe { gm_and_membership(gm, membership, out) }?;
        // SAFETY: forwarded contract.
        let payloads = unsafe { boundary::payloads_in(payloads, count) }?;
        let now = Time::from_millis(now_ms);
        let group = &m.config.group;
        let group_text = group.to_string();
        let before = held_sas(gm, group, now);
        let was_member = gm.membership(group).is_some();
        let mut r = ResultData::default();
        match gm.process_response(group, &payloads, now) {
            Ok(ResponseOutcome::Registered(reg)) => {
                r.outcome = O::GIKEV2_OUTCOME_REGISTERED;
                // A registration replaces all earlier state (RFC 9838 §2.3.3): SAs it no
                // longer lists are removed now.
                let kept = |spi: &[u8]| {
                    reg.data_sas.iter().any(|s| s.spi[..] == spi[..])
                        || reg.rekey_sa.as_ref().is_some_and(|k| k.spi[..] == spi[..])
                };
                for old in before.iter().filter(|o| !kept(&o.spi)) {
                    r.removal(&group_text, old);
                }
                if let Some(info) = &reg.rekey_sa {
                    r.listen(&group_text, info);
                }
                let kind = if was_member {
                    K::GIKEV2_EVENT_MEMBER_REREGISTERED
                } else {
                    K::GIKEV2_EVENT_MEMBER_JOINED
                };
                let detail = match reg.sender_id_bits {
                    Some(bits) => format!("registered; Sender-IDs of {bits} bits"),
                    None => "registered".to_string(),
                };
                let runs = runs(&reg.sender_ids);
                if runs.is_empty() {
                    r.event(kind, &group_text, None, None, detail.as_str());
                }
                for run in runs {
                    r.event(kind, &group_text, None, Some(run), detail.as_str());
                }
                r.installs = reg
                    .data_sas
                    .into_iter()
                    .map(|sa| (boundary::cstring(group_text.as_str()), sa))
                    .collect();
            }
            Ok(ResponseOutcome::Left(_)) => {
                r.outcome = O::GIKEV2_OUTCOME_LEFT;
                for old in &before {
                    r.removal(&group_text, old);
                }
                r.event(K::GIKEV2_EVENT_MEMBER_LEFT, &group_text, None, None, "left");
            }
            Err(GmError::Rejected(n)) => {
                r.outcome = O::GIKEV2_OUTCOME_REFUSED;
                r.notify = n.0;
            }
            Err(e) => match e.leave_notify() {
                Some(n) => {
                    ::log::warn!("group {group}: leaving with {n}: {e}");
                    r.outcome = O::GIKEV2_OUTCOME_MUST_LEAVE;
                    r.notify = n.0;
                    r.payloads = boundary::payloads_out(&gm.leave_request(group, n))?;
                }
                None => return Err(e.into()),
            },
        }
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_owns_rekey_spi(
    gm: *const gikev2_gm_t,
    spi: *const u8,
    spi_len: usize,
    out: *mut bool,
) -> gikev2_status_t {
    guard("gikev2_gm_owns_rekey_spi", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get(gm, "gm") }?;
        // SAFETY: as above.
        let spi = unsafe { boundary::slice(spi, spi_len, "spi") }?;
        out_ptr(out, "out")?;
        let spi: &[u8; 16] = spi.try_into().map_err(|_| {
            Error::Argument(format!("spi_len {spi_len} (a Rekey SA SPI has 16 octets)"))
        })?;
        let owns = gm.group_for_rekey_spi(spi).is_some();
        // SAFETY: checked non-NULL.
        unsafe { write_out(out, owns) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_process_rekey(
    gm: *mut gikev2_gm_t,
    datagram: *const u8,
    len: usize,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_process_rekey", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get_mut(gm, "gm") }?;
        // SAFETY: as above (NULL with length 0 is an empty datagram).
        let datagram = unsafe { boundary::slice(datagram, len, "datagram") }?;
        out_ptr(out, "out")?;
        let now = Time::from_millis(now_ms);
        let rekey_sas: Vec<(GroupId, [u8; 16])> = gm
            .groups()
            .filter_map(|g| Some((g.clone(), gm.membership(g)?.rekey.as_ref()?.spi)))
            .collect();
        let result = gm
            .process_gsa_rekey(datagram, now)?
            .ok_or(Error::Incomplete)?;
        let previous = rekey_sas
            .iter()
            .find(|(g, _)| *g == result.group)
            .map(|(_, spi)| *spi);
        let r = rekey_result(result, previous, now);
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

/// The result of a GSA_REKEY or GSA_INBAND_REKEY. Removals are reported once, when due:
/// the SAs a rekey replaces are removed after GWP_DTD, which `gikev2_gm_on_timeout`
/// reports. An excluded member keeps no timers, so what it must drop is listed here, due
/// now: the SAs the message deleted and the Rekey SA it listened on (`rekey_sa`).
fn rekey_result(
    result: crate::gm::RekeyResult,
    rekey_sa: Option<[u8; 16]>,
    now: Time,
) -> ResultData {
    let group = result.group.to_string();
    let mut r = ResultData::default();
    if let Some(info) = &result.new_rekey_sa {
        r.listen(&group, info);
    }
    if let Some(at) = result.excluded {
        for rm in &result.removals {
            r.removal(
                &group,
                &SaRemoval {
                    at: now,
                    ..rm.clone()
                },
            );
        }
        if let Some(spi) = rekey_sa {
            r.removal(
                &group,
                &SaRemoval {
                    protocol: ProtocolId::GIKE_UPDATE,
                    spi: spi.to_vec(),
                    at: now,
                },
            );
        }
        r.event(
            K::GIKEV2_EVENT_MEMBER_EXCLUDED,
            &group,
            None,
            None,
            format!(
                "excluded from the group; registers again at {} ms (gikev2_gm_on_timeout)",
                at.as_millis()
            ),
        );
    }
    r.installs = result
        .installs
        .into_iter()
        .map(|sa| (boundary::cstring(group.as_str()), sa))
        .collect();
    r
}

/// The group a GSA_INBAND_REKEY is for: it carries no IDg, so the SPIs it names (new SAs,
/// SAs announced with GSA_NEXT_SPI, deleted SAs) pick the membership; a member of one group
/// needs no SPI match.
fn inband_group(gm: &GroupMember, payloads: &[Payload]) -> Result<GroupId, Error> {
    let mut spis: Vec<&[u8]> = Vec::new();
    for p in payloads {
        match &p.body {
            PayloadBody::Gsa(g) => spis.extend(g.policies.iter().filter_map(|p| match p {
                GroupPolicy::Sa(s) => Some(s.spi.as_slice()),
                _ => None,
            })),
            PayloadBody::Delete(d) => spis.extend(d.spis.iter().map(Vec::as_slice)),
            _ => {}
        }
    }
    let groups: Vec<&GroupId> = gm.groups().collect();
    let matching: Vec<&GroupId> = groups
        .iter()
        .copied()
        .filter(|g| {
            gm.membership(g).is_some_and(|m| {
                spis.iter().any(|s| {
                    m.data_sa_spis.iter().any(|d| d[..] == s[..])
                        || m.next_spis.iter().any(|n| n[..] == s[..])
                })
            })
        })
        .collect();
    match (matching.as_slice(), groups.as_slice()) {
        ([g], _) | ([], [g]) => Ok((*g).clone()),
        ([], []) => Err(Error::NotFound("this member belongs to no group".into())),
        _ => Err(Error::NotFound(format!(
            "the GSA_INBAND_REKEY names SAs of {} of this member's {} groups",
            matching.len(),
            groups.len()
        ))),
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_process_inband_rekey(
    gm: *mut gikev2_gm_t,
    payloads: *const gikev2_payload_t,
    count: usize,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_process_inband_rekey", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get_mut(gm, "gm") }?;
        out_ptr(out, "out")?;
        // SAFETY: as above.
        let payloads = unsafe { boundary::payloads_in(payloads, count) }?;
        let group = inband_group(gm, &payloads)?;
        let now = Time::from_millis(now_ms);
        let result = gm.process_inband_rekey(&group, &payloads, now)?;
        let r = rekey_result(result, None, now);
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_next_deadline(
    gm: *const gikev2_gm_t,
    out_ms: *mut u64,
) -> gikev2_status_t {
    guard("gikev2_gm_next_deadline", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get(gm, "gm") }?;
        out_ptr(out_ms, "out_ms")?;
        let t = gm.next_deadline().ok_or(Error::NoDeadline)?;
        // SAFETY: checked non-NULL.
        unsafe { write_out(out_ms, t.as_millis()) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_on_timeout(
    gm: *mut gikev2_gm_t,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_on_timeout", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get_mut(gm, "gm") }?;
        out_ptr(out, "out")?;
        let now = Time::from_millis(now_ms);
        let mut r = ResultData::default();
        for action in gm.on_timeout(now) {
            match action {
                GmAction::RemoveSa {
                    group,
                    protocol,
                    spi,
                } => r.removal(
                    &group.to_string(),
                    &SaRemoval {
                        protocol,
                        spi,
                        at: now,
                    },
                ),
                GmAction::ReRegister { group, reason } => {
                    let detail = match reason {
                        ReRegisterReason::Excluded => "excluded: register again".to_string(),
                        ReRegisterReason::NoSenderId => {
                            "a rekey brought a counter-mode SA without a Sender-ID: register again"
                                .to_string()
                        }
                        ReRegisterReason::LifetimeEnding { spi } => format!(
                            "SA {} nears the end of its lifetime without a rekey: register again",
                            hex(&spi)
                        ),
                    };
                    r.event(
                        K::GIKEV2_EVENT_REREGISTER,
                        &group.to_string(),
                        None,
                        None,
                        detail,
                    );
                }
            }
        }
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gm_status(
    gm: *const gikev2_gm_t,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gm_status", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let gm = unsafe { gikev2_gm_t::get(gm, "gm") }?;
        out_ptr(out, "out")?;
        let now = Time::from_millis(now_ms);
        let mut groups: Vec<&GroupId> = gm.groups().collect();
        groups.sort();
        let mut text = format!(
            "ike-sa {}_i {}_r with {}\n",
            hex(&gm.ike_sa().spi_i),
            hex(&gm.ike_sa().spi_r),
            gm.ike_sa().peer
        );
        for g in groups {
            let Some(m) = gm.membership(g) else { continue };
            let ids = if m.sender_ids.is_empty() {
                "receiver".to_string()
            } else {
                let ids: Vec<String> = m.sender_ids.iter().map(u32::to_string).collect();
                format!("sender-ids {}", ids.join(","))
            };
            text.push_str(&format!(
                "group {g}: {ids}, registered {} s ago, atd {} s, dtd {} s\n",
                m.registered_at.secs_until(now),
                m.atd_dtd_secs.0,
                m.atd_dtd_secs.1
            ));
            for (spi, protocol) in &m.sa_protocols {
                text.push_str(&format!("  sa {protocol} {}\n", hex(spi)));
            }
            if let Some(rk) = &m.rekey {
                text.push_str(&format!(
                    "  rekey-sa {} next message id {}, expires in {} s\n",
                    hex(&rk.spi),
                    rk.next_message_id,
                    now.secs_until(rk.expires_at)
                ));
            }
        }
        let r = ResultData {
            text: boundary::cstring(text),
            ..ResultData::default()
        };
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}
