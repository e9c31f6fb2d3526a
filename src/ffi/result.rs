//! `gikev2_result_t`: everything one operation asks the host to do. The result owns every
//! octet a pointer it hands out points to (payload bodies, datagrams, strings, keys), so
//! those pointers stay valid until `gikev2_result_free`. Keys stay in [`crate::crypto::Key`]
//! values, which wipe themselves when the result is dropped.

use super::abi::{
    gikev2_datagram_t, gikev2_direction_t, gikev2_event_kind_t, gikev2_event_t,
    gikev2_inband_target_t, gikev2_outcome_t, gikev2_payload_t, gikev2_rekey_listen_t,
    gikev2_result_t, gikev2_sa_install_t, gikev2_sa_removal_t, gikev2_status_t, gikev2_ts_t,
};
use super::boundary::{cstring, guard, guard_value, out_ptr, write_out, Handle, OutPayload};
use super::error::Error;
use crate::gm::{Direction, RekeySaInfo, SaInstall, SaRemoval};
use std::ffi::{c_char, CString};

/// One GSA_REKEY datagram to send.
pub(crate) struct OutDatagram {
    pub(crate) group: CString,
    pub(crate) message_id: u32,
    pub(crate) data: Vec<u8>,
    pub(crate) src: gikev2_ts_t,
    pub(crate) dst: gikev2_ts_t,
}

/// One SA to remove.
pub(crate) struct OutRemoval {
    pub(crate) group: CString,
    pub(crate) protocol: u8,
    pub(crate) spi: [u8; 16],
    pub(crate) spi_len: usize,
    pub(crate) at_ms: u64,
}

/// One Rekey SA to listen on.
pub(crate) struct OutListen {
    pub(crate) group: CString,
    pub(crate) spi: [u8; 16],
    pub(crate) src: gikev2_ts_t,
    pub(crate) dst: gikev2_ts_t,
    pub(crate) expires_at_ms: u64,
}

/// One member whose IKE SA needs a GSA_INBAND_REKEY.
pub(crate) struct OutInband {
    pub(crate) group: CString,
    pub(crate) member: CString,
    pub(crate) spi_i: [u8; 8],
    pub(crate) spi_r: [u8; 8],
}

/// One event.
pub(crate) struct OutEvent {
    pub(crate) kind: gikev2_event_kind_t,
    pub(crate) group: CString,
    pub(crate) member: Option<CString>,
    pub(crate) sender_ids: Option<(u32, u32)>,
    pub(crate) detail: CString,
}

/// The Rust value behind `gikev2_result_t`.
pub(crate) struct ResultData {
    pub(crate) notify: u16,
    pub(crate) outcome: gikev2_outcome_t,
    pub(crate) payloads: Vec<OutPayload>,
    pub(crate) datagrams: Vec<OutDatagram>,
    /// The group ID text and the SA, keys included.
    pub(crate) installs: Vec<(CString, SaInstall)>,
    pub(crate) removals: Vec<OutRemoval>,
    pub(crate) listens: Vec<OutListen>,
    pub(crate) inbands: Vec<OutInband>,
    pub(crate) events: Vec<OutEvent>,
    pub(crate) text: CString,
}

impl Default for ResultData {
    fn default() -> Self {
        ResultData {
            notify: 0,
            outcome: gikev2_outcome_t::GIKEV2_OUTCOME_NONE,
            payloads: Vec::new(),
            datagrams: Vec::new(),
            installs: Vec::new(),
            removals: Vec::new(),
            listens: Vec::new(),
            inbands: Vec::new(),
            events: Vec::new(),
            text: CString::default(),
        }
    }
}

impl Handle for gikev2_result_t {
    type Inner = ResultData;
}

impl ResultData {
    pub(crate) fn event(
        &mut self,
        kind: gikev2_event_kind_t,
        group: &str,
        member: Option<String>,
        sender_ids: Option<(u32, u32)>,
        detail: impl Into<String>,
    ) {
        self.events.push(OutEvent {
            kind,
            group: cstring(group),
            member: member.map(cstring),
            sender_ids,
            detail: cstring(detail),
        });
    }

    pub(crate) fn removal(&mut self, group: &str, r: &SaRemoval) {
        let mut spi = [0u8; 16];
        let n = r.spi.len().min(16);
        spi[..n].copy_from_slice(&r.spi[..n]);
        self.removals.push(OutRemoval {
            group: cstring(group),
            protocol: r.protocol.0,
            spi,
            spi_len: n,
            at_ms: r.at.as_millis(),
        });
    }

    pub(crate) fn listen(&mut self, group: &str, info: &RekeySaInfo) {
        self.listens.push(OutListen {
            group: cstring(group),
            spi: info.spi,
            src: super::boundary::ts_out(&info.src),
            dst: super::boundary::ts_out(&info.dst),
            expires_at_ms: info.expires_at.as_millis(),
        });
    }
}

/// Hands a finished result to C through `out` (checked non-NULL by the caller).
///
/// # Safety
/// `out` is non-NULL and writable.
pub(crate) unsafe fn hand_out(out: *mut *mut gikev2_result_t, data: ResultData) {
    // SAFETY: forwarded contract.
    unsafe { write_out(out, gikev2_result_t::into_raw(data)) }
}

/// Frees a result and wipes the keys it holds; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn gikev2_result_free(result: *mut gikev2_result_t) {
    // SAFETY: NULL or a result we handed out, freed once (the header's contract).
    guard_value((), || unsafe { gikev2_result_t::free(result) })
}

/// Borrows a result for a getter; `None` for NULL.
///
/// # Safety
/// `result` is NULL or a live result.
unsafe fn data<'a>(result: *const gikev2_result_t) -> Option<&'a ResultData> {
    // SAFETY: forwarded contract.
    unsafe { gikev2_result_t::get(result, "result") }.ok()
}

/// The notify of the result, 0 if none (or for NULL).
#[no_mangle]
pub unsafe extern "C" fn gikev2_result_notify(result: *const gikev2_result_t) -> u16 {
    // SAFETY: NULL or a live result.
    guard_value(0, || unsafe { data(result) }.map_or(0, |d| d.notify))
}

/// The member-side outcome, GIKEV2_OUTCOME_NONE for NULL.
#[no_mangle]
pub unsafe extern "C" fn gikev2_result_outcome(result: *const gikev2_result_t) -> gikev2_outcome_t {
    let none = gikev2_outcome_t::GIKEV2_OUTCOME_NONE;
    // SAFETY: NULL or a live result.
    guard_value(none, || unsafe { data(result) }.map_or(none, |d| d.outcome))
}

/// The text of a status result; "" if none or for NULL (never NULL).
#[no_mangle]
pub unsafe extern "C" fn gikev2_result_text(result: *const gikev2_result_t) -> *const c_char {
    let empty = c"".as_ptr();
    // SAFETY: NULL or a live result; the text lives as long as the result.
    guard_value(empty, || {
        unsafe { data(result) }.map_or(empty, |d| d.text.as_ptr())
    })
}

/// Common shape of the indexed getters: NULL checks, index check, write on success.
///
/// # Safety
/// `result` is NULL or live; `out` is NULL or writable.
unsafe fn item<T, O>(
    function: &'static str,
    result: *const gikev2_result_t,
    index: usize,
    out: *mut O,
    list: impl FnOnce(&ResultData) -> &Vec<T>,
    convert: impl FnOnce(&T) -> O,
) -> gikev2_status_t {
    guard(function, || {
        // SAFETY: forwarded contract.
        let d = unsafe { gikev2_result_t::get(result, "result") }?;
        out_ptr(out, "out")?;
        let items = list(d);
        let it = items.get(index).ok_or_else(|| {
            Error::Argument(format!(
                "index {index} is out of range (count {})",
                items.len()
            ))
        })?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { write_out(out, convert(it)) };
        Ok(())
    })
}

/// Count of one list, 0 for NULL.
///
/// # Safety
/// `result` is NULL or live.
unsafe fn count<T>(
    result: *const gikev2_result_t,
    list: impl FnOnce(&ResultData) -> &Vec<T>,
) -> usize {
    // SAFETY: forwarded contract.
    guard_value(0, || unsafe { data(result) }.map_or(0, |d| list(d).len()))
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_payload_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.payloads) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_payload(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_payload_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_payload",
            result,
            index,
            out,
            |d| &d.payloads,
            |p| gikev2_payload_t {
                type_: p.payload_type,
                critical: p.critical,
                body: p.body.as_ptr(),
                body_len: p.body.len(),
            },
        )
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_datagram_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.datagrams) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_datagram(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_datagram_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_datagram",
            result,
            index,
            out,
            |d| &d.datagrams,
            |g| gikev2_datagram_t {
                group: g.group.as_ptr(),
                message_id: g.message_id,
                data: g.data.as_ptr(),
                len: g.data.len(),
                src: g.src,
                dst: g.dst,
            },
        )
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_install_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.installs) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_install(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_sa_install_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_install",
            result,
            index,
            out,
            |d| &d.installs,
            |(group, sa)| install_out(group, sa),
        )
    }
}

fn install_out(group: &CString, sa: &SaInstall) -> gikev2_sa_install_t {
    gikev2_sa_install_t {
        group: group.as_ptr(),
        protocol: sa.protocol.0,
        spi: sa.spi,
        direction: match sa.direction {
            Direction::Inbound => gikev2_direction_t::GIKEV2_DIR_IN,
            Direction::Outbound => gikev2_direction_t::GIKEV2_DIR_OUT,
            Direction::Both => gikev2_direction_t::GIKEV2_DIR_BOTH,
        },
        transport_mode: sa.transport_mode,
        src: super::boundary::ts_out(&sa.src),
        dst: super::boundary::ts_out(&sa.dst),
        encr_alg: sa.encr.map_or(0, |e| e.id.0),
        encr_key_bits: sa.encr.and_then(|e| e.key_bits).unwrap_or(0),
        integ_alg: sa.integ.map_or(0, |i| i.0),
        sn: sa.sn.0,
        // Never NULL, also when empty: C may pass them to memcpy.
        encr_key: sa.encr_key.as_bytes().as_ptr(),
        encr_key_len: sa.encr_key.len(),
        salt: sa.salt.as_bytes().as_ptr(),
        salt_len: sa.salt.len(),
        integ_key: sa.integ_key.as_bytes().as_ptr(),
        integ_key_len: sa.integ_key.len(),
        lifetime_secs: sa.lifetime_secs.unwrap_or(0),
        expires_at_ms: sa.expires_at.map_or(0, |t| t.as_millis()),
        send_from_ms: sa.send_from.map_or(0, |t| t.as_millis()),
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_removal_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.removals) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_removal(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_sa_removal_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_removal",
            result,
            index,
            out,
            |d| &d.removals,
            |r| gikev2_sa_removal_t {
                group: r.group.as_ptr(),
                protocol: r.protocol,
                spi: r.spi,
                spi_len: r.spi_len,
                at_ms: r.at_ms,
            },
        )
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_listen_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.listens) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_listen(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_rekey_listen_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_listen",
            result,
            index,
            out,
            |d| &d.listens,
            |l| gikev2_rekey_listen_t {
                group: l.group.as_ptr(),
                spi: l.spi,
                src: l.src,
                dst: l.dst,
                expires_at_ms: l.expires_at_ms,
            },
        )
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_inband_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.inbands) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_inband(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_inband_target_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_inband",
            result,
            index,
            out,
            |d| &d.inbands,
            |t| gikev2_inband_target_t {
                group: t.group.as_ptr(),
                member: t.member.as_ptr(),
                spi_i: t.spi_i,
                spi_r: t.spi_r,
            },
        )
    }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_event_count(result: *const gikev2_result_t) -> usize {
    // SAFETY: forwarded contract.
    unsafe { count(result, |d| &d.events) }
}

#[no_mangle]
pub unsafe extern "C" fn gikev2_result_event(
    result: *const gikev2_result_t,
    index: usize,
    out: *mut gikev2_event_t,
) -> gikev2_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        item(
            "gikev2_result_event",
            result,
            index,
            out,
            |d| &d.events,
            |e| {
                let (first, n) = e.sender_ids.unwrap_or((0, 0));
                gikev2_event_t {
                    kind: e.kind,
                    group: e.group.as_ptr(),
                    member: e.member.as_ref().map_or(std::ptr::null(), |m| m.as_ptr()),
                    sender_id_first: first,
                    sender_id_count: n,
                    detail: e.detail.as_ptr(),
                }
            },
        )
    }
}
