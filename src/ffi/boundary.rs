//! What every export does at the boundary: catch panics, check pointers, read C strings,
//! slices and structs, convert payloads and selectors, own and free handles.

use super::abi::{gikev2_ike_sa_t, gikev2_payload_t, gikev2_status_t, gikev2_ts_t};
use super::error::Error;
use crate::crypto::keywrap::Kwa;
use crate::crypto::prf::PrfAlg;
use crate::identity::Identity;
use crate::ike_sa::IkeSaContext;
use crate::wire::{self, IdType, Payload, PayloadType, TrafficSelector, TsType};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs an export's body: `Ok` is GIKEV2_OK, an error is logged and mapped, and a panic
/// becomes GIKEV2_ERR_INTERNAL instead of unwinding into C (which would abort the daemon).
///
/// The body writes its outputs as its last step, so on any error nothing was written.
/// `AssertUnwindSafe`: after a panic the object the body borrowed may hold a partly
/// applied change, but it is still a valid Rust value (no memory is left inconsistent);
/// later calls see that state, which is the documented "object stays usable".
pub(crate) fn guard(
    function: &'static str,
    body: impl FnOnce() -> Result<(), Error>,
) -> gikev2_status_t {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown payload".to_string());
        Err(Error::Panic(text))
    });
    match outcome {
        Ok(()) => gikev2_status_t::GIKEV2_OK,
        Err(e) => {
            // Logging calls the host's callback; a panic in the formatting must not escape.
            let _ = catch_unwind(AssertUnwindSafe(|| e.log(function)));
            e.status()
        }
    }
}

/// Like [`guard`] for the functions that return a plain value (getters, stringifiers):
/// `fallback` on a panic.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// A C opaque handle type and the Rust value behind it: `Box::into_raw` of the value,
/// cast to the opaque type. Each opaque type names its one Rust type, so a pointer of one
/// handle type cannot be turned into another's value.
pub(crate) trait Handle: Sized {
    type Inner;

    /// Hands `inner` to C.
    fn into_raw(inner: Self::Inner) -> *mut Self {
        Box::into_raw(Box::new(inner)).cast()
    }

    /// Borrows the value behind a pointer C passed in.
    ///
    /// # Safety
    /// `p` is NULL or came from [`Handle::into_raw`] and was not freed; no other reference
    /// to it is live (the header's threading rule).
    unsafe fn get<'a>(p: *const Self, what: &'static str) -> Result<&'a Self::Inner, Error> {
        // SAFETY: by the caller's contract the pointer is a live Box<Inner>.
        unsafe { p.cast::<Self::Inner>().as_ref() }.ok_or(Error::Null(what))
    }

    /// Mutably borrows the value behind a pointer C passed in.
    ///
    /// # Safety
    /// As [`Handle::get`], and no other borrow of it is live.
    unsafe fn get_mut<'a>(p: *mut Self, what: &'static str) -> Result<&'a mut Self::Inner, Error> {
        // SAFETY: by the caller's contract the pointer is a live, unaliased Box<Inner>.
        unsafe { p.cast::<Self::Inner>().as_mut() }.ok_or(Error::Null(what))
    }

    /// Frees what [`Handle::into_raw`] handed out; NULL is a no-op.
    ///
    /// # Safety
    /// `p` is NULL or came from [`Handle::into_raw`] and was not freed yet.
    unsafe fn free(p: *mut Self) {
        if !p.is_null() {
            // SAFETY: by the caller's contract `p` is the Box we handed out, freed once.
            drop(unsafe { Box::from_raw(p.cast::<Self::Inner>()) });
        }
    }
}

/// Checks an output pointer before any work is done.
pub(crate) fn out_ptr<T>(p: *mut T, what: &'static str) -> Result<(), Error> {
    if p.is_null() {
        Err(Error::Null(what))
    } else {
        Ok(())
    }
}

/// Writes an output; only called on success, after [`out_ptr`] checked it.
///
/// # Safety
/// `p` is non-NULL, aligned and writable for a `T`.
pub(crate) unsafe fn write_out<T>(p: *mut T, value: T) {
    // SAFETY: the caller checked `p` and the header makes it a writable output.
    unsafe { p.write(value) }
}

/// A buffer `p`/`len` from C; NULL with length 0 is empty.
///
/// # Safety
/// When `p` is not NULL it points to `len` readable `T`s that stay valid and unchanged for
/// the call.
pub(crate) unsafe fn slice<'a, T>(
    p: *const T,
    len: usize,
    what: &'static str,
) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::Null(what));
    }
    if len
        .checked_mul(std::mem::size_of::<T>().max(1))
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(Error::Argument(format!(
            "{what}: length {len} is too large"
        )));
    }
    // SAFETY: non-NULL, length bounded, validity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A NUL-terminated UTF-8 string from C.
///
/// # Safety
/// When `p` is not NULL it points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn string<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::Null(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::Argument(format!("{what} is not UTF-8")))
}

/// A section name (`groups.<name>`, `memberships.<name>`): one non-empty word.
pub(crate) fn section_name(name: &str, what: &'static str) -> Result<(), Error> {
    if name.is_empty() || name.contains('.') || name.chars().any(char::is_whitespace) {
        return Err(Error::Argument(format!(
            "{what} '{name}' is not a section name (one word, no dots)"
        )));
    }
    Ok(())
}

/// The settings array of `gikev2_gcks_add_group` / `gikev2_membership_new`.
///
/// # Safety
/// As [`slice`]; every key and value is NULL or a NUL-terminated string.
pub(crate) unsafe fn settings<'a>(
    p: *const super::abi::gikev2_setting_t,
    count: usize,
) -> Result<Vec<(&'a str, &'a str)>, Error> {
    // SAFETY: forwarded contract.
    let raw = unsafe { slice(p, count, "settings") }?;
    raw.iter()
        .map(|s| {
            // SAFETY: forwarded contract.
            let key = unsafe { string(s.key, "settings[].key") }?;
            // SAFETY: forwarded contract.
            let value = unsafe { string(s.value, "settings[].value") }.map_err(|e| match e {
                Error::Argument(_) => Error::Argument(format!("the value of '{key}' is not UTF-8")),
                other => other,
            })?;
            Ok((key, value))
        })
        .collect()
}

/// A CString for text that may (in theory) hold a NUL: NULs become '?'.
pub(crate) fn cstring(s: impl Into<String>) -> CString {
    let s: String = s.into();
    CString::new(s).unwrap_or_else(|e| {
        let bytes: Vec<u8> = e
            .into_vec()
            .into_iter()
            .map(|b| if b == 0 { b'?' } else { b })
            .collect();
        CString::new(bytes).unwrap_or_default()
    })
}

/// The IKE SA context from the C description; SK_d is used at once and not kept.
///
/// # Safety
/// `p` is NULL or points to a valid `gikev2_ike_sa_t` whose buffers follow [`slice`].
pub(crate) unsafe fn ike_sa(p: *const gikev2_ike_sa_t) -> Result<IkeSaContext, Error> {
    // SAFETY: forwarded contract.
    unsafe { ike_sa_with(p, true) }
}

/// As [`ike_sa`] for the member, which does not know the key server's identity before
/// IKE_AUTH completes (a connection whose remote ID is `%any`): an empty peer ID is
/// accepted and stands for "not known yet".
///
/// # Safety
/// As [`ike_sa`].
pub(crate) unsafe fn member_ike_sa(p: *const gikev2_ike_sa_t) -> Result<IkeSaContext, Error> {
    // SAFETY: forwarded contract.
    unsafe { ike_sa_with(p, false) }
}

/// # Safety
/// As [`ike_sa`].
unsafe fn ike_sa_with(
    p: *const gikev2_ike_sa_t,
    peer_required: bool,
) -> Result<IkeSaContext, Error> {
    // SAFETY: NULL or valid by contract.
    let sa = unsafe { p.as_ref() }.ok_or(Error::Null("ike_sa"))?;
    // SAFETY: forwarded contract.
    let sk_d = unsafe { slice(sa.sk_d, sa.sk_d_len, "ike_sa->sk_d") }?;
    // SAFETY: forwarded contract.
    let peer = unsafe { slice(sa.peer_id, sa.peer_id_len, "ike_sa->peer_id") }?;
    let prf = PrfAlg::from_transform_id(sa.prf).ok_or_else(|| {
        Error::Argument(format!(
            "ike_sa->prf {} is not a supported PRF (5, 6 or 7: PRF_HMAC_SHA2_256/384/512)",
            sa.prf
        ))
    })?;
    let kwa = Kwa::from_id(sa.kwa).ok_or_else(|| {
        Error::Argument(format!(
            "ike_sa->kwa {} is not a Key Wrap Algorithm (1 to 4)",
            sa.kwa
        ))
    })?;
    if sk_d.is_empty() || sk_d.len() > 64 {
        return Err(Error::Argument(format!(
            "ike_sa->sk_d_len {} (expected 1 to 64 octets, the PRF's key size)",
            sk_d.len()
        )));
    }
    if peer.is_empty() && peer_required {
        return Err(Error::Argument("ike_sa->peer_id is empty".into()));
    }
    let peer = Identity::new(IdType(sa.peer_id_type), peer);
    let mut ctx = IkeSaContext::new(sa.spi_i, sa.spi_r, prf, sk_d, kwa, peer)?;
    ctx.fragmentation = sa.fragmentation;
    Ok(ctx)
}

/// Rebuilds the generic payload chain (RFC 7296 §3.2) from the C array and decodes it with
/// the wire decoder, so C input goes through exactly the checks network input does.
///
/// # Safety
/// As [`slice`] for the array and every body.
pub(crate) unsafe fn payloads_in(
    p: *const gikev2_payload_t,
    count: usize,
) -> Result<Vec<Payload>, Error> {
    // SAFETY: forwarded contract.
    let raw = unsafe { slice(p, count, "payloads") }?;
    let Some(first) = raw.first() else {
        return Ok(Vec::new());
    };
    let mut bytes = Vec::new();
    for (i, pl) in raw.iter().enumerate() {
        if pl.type_ == 0 {
            return Err(Error::Argument(format!(
                "payloads[{i}].type is 0 (no payload)"
            )));
        }
        // SAFETY: forwarded contract.
        let body = unsafe { slice(pl.body, pl.body_len, "payloads[].body") }?;
        let len = u16::try_from(body.len() + wire::PAYLOAD_HEADER_LEN).map_err(|_| {
            Error::Argument(format!(
                "payloads[{i}].body_len {} exceeds an IKEv2 payload",
                body.len()
            ))
        })?;
        bytes.push(raw.get(i + 1).map_or(0, |n| n.type_));
        bytes.push(if pl.critical { 0x80 } else { 0 });
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(body);
    }
    Ok(wire::decode_payloads(PayloadType(first.type_), &bytes)?)
}

/// One payload as C sees it: type, critical bit, body without the generic header.
pub(crate) struct OutPayload {
    pub(crate) payload_type: u8,
    pub(crate) critical: bool,
    pub(crate) body: Vec<u8>,
}

/// Encodes each payload and keeps its body.
pub(crate) fn payloads_out(payloads: &[Payload]) -> Result<Vec<OutPayload>, Error> {
    payloads
        .iter()
        .map(|p| {
            let (_, mut bytes) = wire::encode_payloads(std::slice::from_ref(p))?;
            bytes.drain(..wire::PAYLOAD_HEADER_LEN.min(bytes.len()));
            Ok(OutPayload {
                payload_type: p.body.payload_type().0,
                critical: p.critical,
                body: bytes,
            })
        })
        .collect()
}

/// A traffic selector for C; opaque selector types keep only their type.
pub(crate) fn ts_out(ts: &TrafficSelector) -> gikev2_ts_t {
    let mut out = gikev2_ts_t::default();
    match ts {
        TrafficSelector::Ipv4 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => {
            out.ts_type = TsType::TS_IPV4_ADDR_RANGE.0;
            out.ip_proto = *ip_protocol;
            out.start_port = *start_port;
            out.end_port = *end_port;
            out.start_addr[..4].copy_from_slice(&start.octets());
            out.end_addr[..4].copy_from_slice(&end.octets());
        }
        TrafficSelector::Ipv6 {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        } => {
            out.ts_type = TsType::TS_IPV6_ADDR_RANGE.0;
            out.ip_proto = *ip_protocol;
            out.start_port = *start_port;
            out.end_port = *end_port;
            out.start_addr = start.octets();
            out.end_addr = end.octets();
        }
        TrafficSelector::Other { ts_type, .. } => out.ts_type = ts_type.0,
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn guard_turns_panics_into_internal_and_errors_into_statuses() {
        let s = guard("test", || panic!("boom"));
        assert_eq!(s, gikev2_status_t::GIKEV2_ERR_INTERNAL);
        let s = guard("test", || Err(Error::Incomplete));
        assert_eq!(s, gikev2_status_t::GIKEV2_ERR_INCOMPLETE);
        assert_eq!(guard("test", || Ok(())), gikev2_status_t::GIKEV2_OK);
        assert_eq!(guard_value(7, || panic!("boom")), 7);
    }

    #[test]
    fn slices_and_strings() {
        // SAFETY: NULL with length 0 is allowed; the other pointers are valid.
        unsafe {
            assert!(slice::<u8>(std::ptr::null(), 0, "x").unwrap().is_empty());
            assert!(matches!(
                slice::<u8>(std::ptr::null(), 1, "x"),
                Err(Error::Null("x"))
            ));
            let bad = c"\xff";
            assert!(matches!(string(bad.as_ptr(), "s"), Err(Error::Argument(_))));
            assert!(matches!(
                string(std::ptr::null(), "s"),
                Err(Error::Null("s"))
            ));
            assert_eq!(string(c"ok".as_ptr(), "s").unwrap(), "ok");
        }
        assert_eq!(cstring("a\0b").to_str().unwrap(), "a?b");
    }

    #[test]
    fn payloads_round_trip_through_the_c_form() {
        let ps =
            crate::gm::join_payloads(&crate::gm::MembershipConfig::sender(Identity::fqdn("g"), 2));
        let out = payloads_out(&ps).unwrap();
        let c: Vec<gikev2_payload_t> = out
            .iter()
            .map(|p| gikev2_payload_t {
                type_: p.payload_type,
                critical: p.critical,
                body: p.body.as_ptr(),
                body_len: p.body.len(),
            })
            .collect();
        // SAFETY: `c` points into `out`, alive for the call.
        let back = unsafe { payloads_in(c.as_ptr(), c.len()) }.unwrap();
        assert_eq!(back, ps);
        // A truncated body does not decode.
        let mut cut = c.clone();
        cut[1].body_len -= 1;
        // SAFETY: as above, shorter.
        let e = unsafe { payloads_in(cut.as_ptr(), cut.len()) }.unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{e}");
    }

    #[test]
    fn selectors_for_c() {
        let ts = TrafficSelector::ipv4_host(Ipv4Addr::new(239, 1, 1, 1), 17, Some(500));
        let c = ts_out(&ts);
        assert_eq!(
            (c.ts_type, c.ip_proto, c.start_port, c.end_port),
            (7, 17, 500, 500)
        );
        assert_eq!(&c.start_addr[..4], &[239, 1, 1, 1]);
        assert_eq!(&c.end_addr[4..], &[0; 12]);
    }
}
