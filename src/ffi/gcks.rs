//! The key server exports (`gikev2_gcks_*`). The C API names a group by its configuration
//! section name (`groups.<name>`); the handle maps section names to group IDs, and results
//! name groups by section too.

use super::abi::{gikev2_event_kind_t as K, gikev2_status_t};
use super::abi::{
    gikev2_executor_fn, gikev2_gcks_t, gikev2_ike_sa_t, gikev2_job_fn, gikev2_payload_t,
    gikev2_result_t, gikev2_setting_t,
};
use super::boundary::{self, guard, out_ptr, write_out, Handle};
use super::error::Error;
use super::result::{hand_out, OutDatagram, OutInband, ResultData};
use crate::executor::{Executor, SharedExecutor};
use crate::gcks::{ConfigError, Gcks, GcksEvent, GcksOutput, GcksResponse};
use crate::identity::{GroupId, Identity};
use crate::time::Time;
use crate::wire::{hex, ExchangeType};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The value behind `gikev2_gcks_t`.
pub(crate) struct GcksHandle {
    gcks: Gcks,
    /// Section name -> group ID.
    sections: BTreeMap<String, GroupId>,
}

impl Handle for gikev2_gcks_t {
    type Inner = GcksHandle;
}

impl GcksHandle {
    fn group_id(&self, section: &str) -> Result<GroupId, Error> {
        self.sections
            .get(section)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no group section '{section}'")))
    }

    /// The section name of a group, or its ID text if it has none (never happens: every
    /// group is added through a section).
    fn section(&self, id: &GroupId) -> String {
        self.sections
            .iter()
            .find(|(_, g)| *g == id)
            .map_or_else(|| id.to_string(), |(s, _)| s.clone())
    }

    /// Datagrams and inband targets of key server outputs.
    fn outputs(&self, outputs: Vec<GcksOutput>, r: &mut ResultData) {
        for o in outputs {
            match o {
                GcksOutput::Multicast(m) => {
                    let group = self.section(&m.group);
                    let (src, dst) = (boundary::ts_out(&m.src), boundary::ts_out(&m.dst));
                    for data in m.datagrams {
                        r.datagrams.push(OutDatagram {
                            group: boundary::cstring(group.as_str()),
                            message_id: m.message_id,
                            data,
                            src,
                            dst,
                        });
                    }
                }
                GcksOutput::InbandRekeyNeeded { group, members } => {
                    let group = self.section(&group);
                    for (member, spis) in members {
                        let mut spi_i = [0u8; 8];
                        let mut spi_r = [0u8; 8];
                        spi_i.copy_from_slice(&spis[..8]);
                        spi_r.copy_from_slice(&spis[8..]);
                        r.inbands.push(OutInband {
                            group: boundary::cstring(group.as_str()),
                            member: boundary::cstring(member.to_string()),
                            spi_i,
                            spi_r,
                        });
                    }
                }
            }
        }
    }

    fn events(&self, events: Vec<GcksEvent>, r: &mut ResultData) {
        for e in events {
            match e {
                GcksEvent::MemberJoined {
                    group,
                    member,
                    sender_ids,
                } => r.event(
                    K::GIKEV2_EVENT_MEMBER_JOINED,
                    &self.section(&group),
                    Some(member.to_string()),
                    sender_ids,
                    "joined",
                ),
                GcksEvent::MemberReregistered {
                    group,
                    member,
                    sender_ids,
                } => r.event(
                    K::GIKEV2_EVENT_MEMBER_REREGISTERED,
                    &self.section(&group),
                    Some(member.to_string()),
                    sender_ids,
                    "registered again; earlier state replaced",
                ),
                GcksEvent::MemberLeft { group, member } => r.event(
                    K::GIKEV2_EVENT_MEMBER_LEFT,
                    &self.section(&group),
                    Some(member.to_string()),
                    None,
                    "left",
                ),
                GcksEvent::AllMembersExcluded {
                    group,
                    excluded,
                    previous_rekey_spi,
                    reason,
                } => {
                    let section = self.section(&group);
                    let told = match previous_rekey_spi {
                        Some(spi) => format!(
                            "told by a Delete on the previous Rekey SA {}",
                            hex(&spi[..8])
                        ),
                        None => "it registers again when its SAs end".to_string(),
                    };
                    for (member, info) in excluded {
                        r.event(
                            K::GIKEV2_EVENT_MEMBER_EXCLUDED,
                            &section,
                            Some(member.to_string()),
                            info.sender_ids,
                            format!("{reason}: every member excluded, SAs replaced; {told}"),
                        );
                    }
                }
            }
        }
    }

    fn response(&self, resp: GcksResponse, r: &mut ResultData) -> Result<(), Error> {
        r.notify = resp.notify().map_or(0, |n| n.0);
        r.payloads = boundary::payloads_out(&resp.payloads)?;
        self.outputs(
            resp.rekeys
                .into_iter()
                .map(GcksOutput::Multicast)
                .chain(resp.inband)
                .collect(),
            r,
        );
        self.events(resp.events, r);
        Ok(())
    }

    /// One line per group, member and SA.
    fn status_text(&self, now: Time) -> String {
        let mut text = String::new();
        for (section, id) in &self.sections {
            let Some(g) = self.gcks.group(id) else {
                continue;
            };
            let c = g.config();
            text.push_str(&format!(
                "group {section} ({id}): {} member(s), {} Sender-ID(s) used, {}\n",
                g.member_count(),
                g.sender_ids_used(),
                if c.rekey.is_some() {
                    "multicast rekey"
                } else {
                    "inband rekey only"
                }
            ));
            for (spi, p) in g.data_sa_spis().iter().zip(&c.data_policies) {
                text.push_str(&format!(
                    "  sa {} {} policy {} lifetime {} s\n",
                    p.protocol.protocol_id(),
                    hex(spi),
                    p.name,
                    p.lifetime_secs
                ));
            }
            if let Some(spi) = g.rekey_sa_spi() {
                text.push_str(&format!("  rekey-sa {}\n", hex(&spi)));
            }
            let mut members: Vec<_> = g.members().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            for (member, info) in members {
                let ids = match info.sender_ids {
                    Some((first, n)) if n > 0 => {
                        format!("sender-ids {first}-{}", first.saturating_add(n - 1))
                    }
                    _ => "receiver".to_string(),
                };
                text.push_str(&format!(
                    "  member {member}: {ids}, ike-sa {}_i {}_r{}, registered {} s ago\n",
                    hex(&info.ike_spis[..8]),
                    hex(&info.ike_spis[8..]),
                    // RFC 9838 §2.4.1.2: one such member stops GSA_REKEY fragmentation.
                    if info.fragmentation {
                        ""
                    } else {
                        " (no IKEv2 fragmentation)"
                    },
                    info.registered_at.secs_until(now)
                ));
            }
        }
        text
    }
}

/// Creates a key server with no groups.
#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_new(out: *mut *mut gikev2_gcks_t) -> gikev2_status_t {
    guard("gikev2_gcks_new", || {
        out_ptr(out, "out")?;
        let h = GcksHandle {
            gcks: Gcks::new(),
            sections: BTreeMap::new(),
        };
        // SAFETY: checked non-NULL; writable by the header's contract.
        unsafe { write_out(out, gikev2_gcks_t::into_raw(h)) };
        Ok(())
    })
}

/// The host's executor as the library sees it (`gikev2_gcks_set_executor`).
struct HostExecutor {
    run: unsafe extern "C" fn(*mut c_void, usize, gikev2_job_fn, *mut c_void),
    parallelism: usize,
    /// The host's user pointer, kept as an address: the header makes the host promise it
    /// may be used from any thread that calls into the key server.
    user: usize,
}

/// Runs job `index` of the `&(dyn Fn(usize) + Sync)` that `ctx` points to. A panic stops
/// at this boundary: the job's result stays missing and the library reports the
/// operation as failed ([`crate::executor::ExecutorError::JobNotRun`]).
unsafe extern "C" fn run_job(ctx: *mut c_void, index: usize) {
    if ctx.is_null() {
        return;
    }
    // SAFETY: `ctx` is the address of the `&dyn Fn` that `HostExecutor::run` keeps alive
    // until the host's run function has returned, which it must not do before this call
    // returns (header contract).
    let job = unsafe { &*(ctx as *const &(dyn Fn(usize) + Sync)) };
    let _ = catch_unwind(AssertUnwindSafe(|| job(index)));
}

impl Executor for HostExecutor {
    fn parallelism(&self) -> usize {
        self.parallelism
    }

    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        let holder: &(dyn Fn(usize) + Sync) = job;
        let ctx = &holder as *const &(dyn Fn(usize) + Sync) as *mut c_void;
        // SAFETY: the host's function as registered; `ctx` outlives the call.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
            (self.run)(self.user as *mut c_void, n, Some(run_job), ctx)
        }));
    }
}

/// Hands the key server the host's threads for large LKH rekeys (or takes them back
/// with `run` NULL).
#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_set_executor(
    gcks: *mut gikev2_gcks_t,
    run: gikev2_executor_fn,
    parallelism: usize,
    user: *mut c_void,
) -> gikev2_status_t {
    guard("gikev2_gcks_set_executor", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        let executor = match run {
            None => SharedExecutor::default(),
            Some(_) if parallelism == 0 => {
                return Err(Error::Argument("parallelism must be at least 1".into()))
            }
            Some(run) => SharedExecutor::new(HostExecutor {
                run,
                parallelism,
                user: user as usize,
            }),
        };
        h.gcks.set_executor(executor);
        Ok(())
    })
}

/// Frees a key server and every key it holds; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_free(gcks: *mut gikev2_gcks_t) {
    // SAFETY: NULL or a handle from gikev2_gcks_new, freed once.
    boundary::guard_value((), || unsafe { gikev2_gcks_t::free(gcks) })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_add_group(
    gcks: *mut gikev2_gcks_t,
    name: *const c_char,
    settings: *const gikev2_setting_t,
    count: usize,
    now_ms: u64,
) -> gikev2_status_t {
    guard("gikev2_gcks_add_group", || {
        // SAFETY (all four): pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        let name = unsafe { boundary::string(name, "name") }?;
        let settings = unsafe { boundary::settings(settings, count) }?;
        boundary::section_name(name, "name")?;
        if h.sections.contains_key(name) {
            return Err(Error::Config(ConfigError {
                option: format!("groups.{name}"),
                reason: "this group section was added already".into(),
            }));
        }
        let config = crate::settings::group_config(name, &settings)?;
        if let Some((other, _)) = h.sections.iter().find(|(_, id)| **id == config.id) {
            return Err(Error::Config(ConfigError {
                option: format!("groups.{name}.id"),
                reason: format!(
                    "group {} is configured already in groups.{other}",
                    config.id
                ),
            }));
        }
        let id = config.id.clone();
        h.gcks.add_group(config, Time::from_millis(now_ms))?;
        h.sections.insert(name.to_string(), id);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_handle_request(
    gcks: *mut gikev2_gcks_t,
    ike_sa: *const gikev2_ike_sa_t,
    exchange: u8,
    payloads: *const gikev2_payload_t,
    count: usize,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gcks_handle_request", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        out_ptr(out, "out")?;
        if ike_sa.is_null() {
            return Err(Error::Null("ike_sa"));
        }
        let exchange = ExchangeType(exchange);
        if !matches!(
            exchange,
            ExchangeType::GSA_AUTH | ExchangeType::GSA_REGISTRATION
        ) {
            return Err(Error::Argument(format!(
                "exchange {exchange} is not GSA_AUTH (39) or GSA_REGISTRATION (40)"
            )));
        }
        // SAFETY: as above.
        let payloads = unsafe { boundary::payloads_in(payloads, count) }?;
        // SAFETY: as above.
        let ctx = unsafe { boundary::ike_sa(ike_sa) }?;
        let resp = h
            .gcks
            .handle_request(&ctx, exchange, &payloads, Time::from_millis(now_ms));
        let mut r = ResultData::default();
        h.response(resp, &mut r)?;
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_exclude(
    gcks: *mut gikev2_gcks_t,
    group: *const c_char,
    members: *const *const c_char,
    count: usize,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gcks_exclude", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        let section = unsafe { boundary::string(group, "group") }?;
        let texts = unsafe { boundary::slice(members, count, "members") }?;
        out_ptr(out, "out")?;
        if texts.is_empty() {
            return Err(Error::Argument("members: count is 0".into()));
        }
        let mut ids: Vec<Identity> = Vec::with_capacity(texts.len());
        for (i, &p) in texts.iter().enumerate() {
            // SAFETY: each element is NULL or a string valid for the call (header).
            let text = unsafe { boundary::string(p, "members[i]") }?;
            ids.push(
                text.parse()
                    .map_err(|e| Error::Argument(format!("members[{i}]: {e}")))?,
            );
        }
        let id = h.group_id(section)?;
        let done = h.gcks.exclude(&id, &ids, Time::from_millis(now_ms))?;
        let mut r = ResultData::default();
        h.outputs(done.outputs, &mut r);
        for m in done.excluded {
            r.event(
                K::GIKEV2_EVENT_MEMBER_EXCLUDED,
                section,
                Some(m.to_string()),
                None,
                "excluded by the operator",
            );
        }
        if let Some(not) = done.not_excluded {
            let detail = format!("not excluded, still a member: {}", not.error);
            for m in not.members {
                r.event(
                    K::GIKEV2_EVENT_NOT_EXCLUDED,
                    section,
                    Some(m.to_string()),
                    None,
                    detail.as_str(),
                );
            }
        }
        if let Some(e) = done.teks_deferred {
            r.event(
                K::GIKEV2_EVENT_TEKS_OWED,
                section,
                None,
                None,
                format!("new Data-Security SAs not sent ({e}); retried every 5 s"),
            );
        }
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_ike_sa_rekeyed(
    gcks: *mut gikev2_gcks_t,
    old: *const gikev2_ike_sa_t,
    new_sa: *const gikev2_ike_sa_t,
    out_moved: *mut usize,
) -> gikev2_status_t {
    guard("gikev2_gcks_ike_sa_rekeyed", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        // SAFETY: NULL or valid per the header; only the SPIs are read.
        let old = unsafe { old.as_ref() }.ok_or(Error::Null("old"))?;
        let new_sa = unsafe { new_sa.as_ref() }.ok_or(Error::Null("new_sa"))?;
        out_ptr(out_moved, "out_moved")?;
        let spis = |sa: &gikev2_ike_sa_t| {
            let mut s = [0u8; 16];
            s[..8].copy_from_slice(&sa.spi_i);
            s[8..].copy_from_slice(&sa.spi_r);
            s
        };
        let moved = h
            .gcks
            .ike_sa_rekeyed(&spis(old), &spis(new_sa), new_sa.fragmentation);
        // SAFETY: checked non-NULL.
        unsafe { write_out(out_moved, moved) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_force_rekey(
    gcks: *mut gikev2_gcks_t,
    group: *const c_char,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gcks_force_rekey", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        let section = unsafe { boundary::string(group, "group") }?;
        out_ptr(out, "out")?;
        let id = h.group_id(section)?;
        let outputs = h.gcks.force_rekey(&id, Time::from_millis(now_ms))?;
        let mut r = ResultData::default();
        h.outputs(outputs, &mut r);
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_inband_rekey(
    gcks: *mut gikev2_gcks_t,
    ike_sa: *const gikev2_ike_sa_t,
    group: *const c_char,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gcks_inband_rekey", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        let section = unsafe { boundary::string(group, "group") }?;
        out_ptr(out, "out")?;
        if ike_sa.is_null() {
            return Err(Error::Null("ike_sa"));
        }
        let id = h.group_id(section)?;
        // SAFETY: as above.
        let ctx = unsafe { boundary::ike_sa(ike_sa) }?;
        let payloads = h
            .gcks
            .inband_rekey_payloads(&ctx, &id, Time::from_millis(now_ms))?;
        let r = ResultData {
            payloads: boundary::payloads_out(&payloads)?,
            ..ResultData::default()
        };
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_next_deadline(
    gcks: *const gikev2_gcks_t,
    out_ms: *mut u64,
) -> gikev2_status_t {
    guard("gikev2_gcks_next_deadline", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get(gcks, "gcks") }?;
        out_ptr(out_ms, "out_ms")?;
        let t = h.gcks.next_deadline().ok_or(Error::NoDeadline)?;
        // SAFETY: checked non-NULL.
        unsafe { write_out(out_ms, t.as_millis()) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_on_timeout(
    gcks: *mut gikev2_gcks_t,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gcks_on_timeout", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get_mut(gcks, "gcks") }?;
        out_ptr(out, "out")?;
        let outputs = h.gcks.on_timeout(Time::from_millis(now_ms));
        let mut r = ResultData::default();
        h.outputs(outputs, &mut r);
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_gcks_status(
    gcks: *const gikev2_gcks_t,
    now_ms: u64,
    out: *mut *mut gikev2_result_t,
) -> gikev2_status_t {
    guard("gikev2_gcks_status", || {
        // SAFETY: pointers as the header describes them, checked for NULL.
        let h = unsafe { gikev2_gcks_t::get(gcks, "gcks") }?;
        out_ptr(out, "out")?;
        let r = ResultData {
            text: boundary::cstring(h.status_text(Time::from_millis(now_ms))),
            ..ResultData::default()
        };
        // SAFETY: checked non-NULL.
        unsafe { hand_out(out, r) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{map_parts, ExecutorError};
    use std::ptr;

    /// A C-style executor: every job on a thread of its own, last first.
    unsafe extern "C" fn threads(
        _user: *mut c_void,
        n: usize,
        job: gikev2_job_fn,
        ctx: *mut c_void,
    ) {
        let (Some(job), ctx) = (job, ctx as usize) else {
            return;
        };
        std::thread::scope(|s| {
            for i in (0..n).rev() {
                // SAFETY: the library's job and context, called once per index.
                s.spawn(move || unsafe { job(ctx as *mut c_void, i) });
            }
        });
    }

    /// Forgets job 1.
    unsafe extern "C" fn skips(_user: *mut c_void, n: usize, job: gikev2_job_fn, ctx: *mut c_void) {
        if let Some(job) = job {
            for i in (0..n).filter(|i| *i != 1) {
                // SAFETY: as above.
                unsafe { job(ctx, i) };
            }
        }
    }

    fn host(
        run: unsafe extern "C" fn(*mut c_void, usize, gikev2_job_fn, *mut c_void),
    ) -> HostExecutor {
        HostExecutor {
            run,
            parallelism: 3,
            user: 0,
        }
    }

    #[test]
    fn jobs_reach_the_host_and_come_back_in_order() {
        let items: Vec<u32> = (0..300).collect();
        let parts = map_parts(&host(threads), &items, 1, |p| p.to_vec()).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), items);
    }

    #[test]
    fn a_skipped_or_panicking_job_is_reported_not_fatal() {
        let items: Vec<u32> = (0..300).collect();
        assert_eq!(
            map_parts(&host(skips), &items, 1, |p| p.len()),
            Err(ExecutorError::JobNotRun { index: 1, jobs: 3 })
        );
        let r = map_parts(&host(threads), &items, 1, |p| {
            assert!(p[0] != 100, "a bug in job 1");
            p.len()
        });
        assert_eq!(r, Err(ExecutorError::JobNotRun { index: 1, jobs: 3 }));
    }

    #[test]
    fn a_panic_inside_an_export_leaves_the_object_usable() {
        let mut p: *mut gikev2_gcks_t = ptr::null_mut();
        // SAFETY: `p` is a valid output; the handle is used as the header says and freed
        // once.
        unsafe {
            assert_eq!(gikev2_gcks_new(&mut p), gikev2_status_t::GIKEV2_OK);
            let s = guard("test", || {
                let h = gikev2_gcks_t::get_mut(p, "gcks")?;
                h.sections.insert("half".into(), Identity::fqdn("half"));
                panic!("a bug in the middle of a change");
            });
            assert_eq!(s, gikev2_status_t::GIKEV2_ERR_INTERNAL);
            let mut r: *mut gikev2_result_t = ptr::null_mut();
            assert_eq!(gikev2_gcks_status(p, 0, &mut r), gikev2_status_t::GIKEV2_OK);
            assert!(!r.is_null());
            super::super::gikev2_result_free(r);
            gikev2_gcks_free(p);
        }
    }
}
