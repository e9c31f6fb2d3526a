//! Processing a registration response at the member (RFC 9838 §2.3.3, §4.4, §4.5):
//! validate the policy, check it against the local acceptance, match key bags to
//! policies by (Protocol, SPI), unwrap, and describe the SAs to install.
//!
//! Nothing here changes state: the caller commits the returned registration only when
//! everything checked out.

use super::config::{Acceptance, MembershipConfig, SenderRole};
use super::install::{Direction, Registration, RekeyAuth, RekeySaInfo, RekeySaState, SaInstall};
use super::request::rekey_integ_supported;
use super::GmError;
use crate::crypto::keywrap::{KeyWrapper, Kwa};
use crate::crypto::sign::{SignatureAlg, VerifyingKey};
use crate::crypto::sk::EncrAlg;
use crate::crypto::{Key, KeyMaterial};
use crate::ike_sa::IkeSaContext;
use crate::lkh::{PathError, WorkingKeyPath, WrappedKeyIn};
use crate::suite::{integ_is_counter_mode, integ_key_len, EncrSpec};
use crate::time::Time;
use crate::wire::{
    GcAuthId, GroupKeyBag, GroupPolicy, GsaAttrType, GsaPayload, GsaPolicy, GwPolicy, GwpAttrType,
    IntegId, KdPayload, KeyBag, MemberKeyBag, NotifyType, Payload, PayloadBody, ProtocolId, SnId,
    TransformAttrType, TransformType,
};
use std::collections::HashMap;

pub(crate) fn malformed(reason: impl Into<String>) -> GmError {
    GmError::Malformed(reason.into())
}

fn unacceptable(reason: impl Into<String>) -> GmError {
    GmError::PolicyUnacceptable(reason.into())
}

/// How a Rekey SA is authenticated, as the policy says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GcAuthKind {
    Implicit,
    Signature(SignatureAlg),
}

/// A structurally valid GSA policy with its transforms picked out.
pub(crate) struct CheckedPolicy<'a> {
    pub(crate) policy: &'a GsaPolicy,
    pub(crate) encr: Option<EncrSpec>,
    pub(crate) integ: Option<IntegId>,
    pub(crate) sn: Option<SnId>,
    pub(crate) kwa: Option<Kwa>,
    pub(crate) gcauth: Option<GcAuthKind>,
    pub(crate) lifetime: Option<u32>,
    pub(crate) initial_message_id: Option<u32>,
}

impl CheckedPolicy<'_> {
    pub(crate) fn keymat_len(&self) -> usize {
        self.encr.and_then(|e| e.key_len()).unwrap_or(0)
            + self.integ.and_then(integ_key_len).unwrap_or(0)
            + self.kwa.map_or(0, |k| k.kwk_len())
    }

    pub(crate) fn spi_hex(&self) -> String {
        crate::wire::hex(&self.policy.spi)
    }
}

/// RFC 9838 §4.4.2.1: which transforms each protocol carries, exactly once or at most once.
pub(crate) fn check_policy(
    p: &GsaPolicy,
    registration: bool,
) -> Result<CheckedPolicy<'_>, GmError> {
    let name = format!("{} policy {}", p.protocol, crate::wire::hex(&p.spi));
    let want_spi = if p.protocol == ProtocolId::GIKE_UPDATE {
        16
    } else {
        4
    };
    if p.spi.len() != want_spi {
        return Err(malformed(format!("{name}: SPI of {} octets", p.spi.len())));
    }
    let mut count: HashMap<TransformType, usize> = HashMap::new();
    for t in &p.transforms {
        *count.entry(t.transform_type).or_default() += 1;
    }
    let (required, optional): (&[TransformType], &[TransformType]) = match p.protocol {
        // GCAUTH only at registration: the method never changes (§4.4.2.1.1).
        ProtocolId::GIKE_UPDATE if registration => (
            &[
                TransformType::ENCR,
                TransformType::KWA,
                TransformType::GCAUTH,
            ],
            &[TransformType::INTEG],
        ),
        ProtocolId::GIKE_UPDATE => (
            &[TransformType::ENCR, TransformType::KWA],
            &[TransformType::INTEG],
        ),
        ProtocolId::ESP => (
            &[TransformType::ENCR, TransformType::SN],
            &[TransformType::INTEG],
        ),
        _ => (&[TransformType::INTEG, TransformType::SN], &[]),
    };
    for (t, n) in &count {
        let ok = if required.contains(t) {
            *n == 1
        } else {
            optional.contains(t) && *n == 1
        };
        if !ok {
            return Err(malformed(format!("{name}: {n} transform(s) of type {t}")));
        }
    }
    if let Some(t) = required.iter().find(|t| !count.contains_key(t)) {
        return Err(malformed(format!("{name}: no {t} transform")));
    }
    let encr = p
        .transform(TransformType::ENCR)
        .map(EncrSpec::from_transform);
    let integ = p
        .transform(TransformType::INTEG)
        .map(|t| IntegId(t.id))
        .filter(|i| *i != IntegId::NONE);
    if let Some(e) = encr {
        if e.is_aead() == integ.is_some() {
            return Err(malformed(format!(
                "{name}: integrity must be {} with {}",
                if e.is_aead() { "absent" } else { "present" },
                e.id
            )));
        }
    }
    let sn = p.transform(TransformType::SN).map(|t| SnId(t.id));
    if sn == Some(SnId::PARTIAL_SEQ64) {
        return Err(malformed(format!(
            "{name}: 64-bit sequence numbers are forbidden for group SAs"
        )));
    }
    let kwa = match p.transform(TransformType::KWA) {
        Some(t) => Some(
            Kwa::from_id(t.id)
                .ok_or_else(|| unacceptable(format!("{name}: unknown KWA {}", t.id)))?,
        ),
        None => None,
    };
    let gcauth = match p.transform(TransformType::GCAUTH) {
        None => None,
        Some(t) => {
            let algs: Vec<_> = t
                .attributes
                .iter()
                .filter(|a| a.attr_type == TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER)
                .collect();
            match GcAuthId(t.id) {
                GcAuthId::IMPLICIT if algs.is_empty() => Some(GcAuthKind::Implicit),
                GcAuthId::IMPLICIT => {
                    return Err(malformed(format!(
                        "{name}: attribute 18 with implicit GCAUTH"
                    )))
                }
                GcAuthId::DIGITAL_SIGNATURE => {
                    let [a] = algs.as_slice() else {
                        return Err(malformed(format!(
                            "{name}: digital signature needs exactly one attribute 18"
                        )));
                    };
                    let der = a
                        .tlv_value()
                        .ok_or_else(|| malformed(format!("{name}: attribute 18 in TV form")))?;
                    let alg = SignatureAlg::from_algorithm_identifier(der).ok_or_else(|| {
                        unacceptable(format!(
                            "{name}: unsupported signature algorithm {}",
                            crate::wire::hex(der)
                        ))
                    })?;
                    Some(GcAuthKind::Signature(alg))
                }
                other => return Err(unacceptable(format!("{name}: unknown GCAUTH {other}"))),
            }
        }
    };
    let dup = |t: GsaAttrType| malformed(format!("{name}: {t:?} duplicated or malformed"));
    let lifetime = p.key_lifetime().map_err(dup)?;
    let initial_message_id = p.initial_message_id().map_err(dup)?;
    p.next_spis().map_err(dup)?;
    if p.protocol != ProtocolId::GIKE_UPDATE && initial_message_id.is_some() {
        return Err(malformed(format!(
            "{name}: GSA_INITIAL_MESSAGE_ID on a data SA"
        )));
    }
    Ok(CheckedPolicy {
        policy: p,
        encr,
        integ,
        sn,
        kwa,
        gcauth,
        lifetime,
        initial_message_id,
    })
}

pub(crate) fn check_acceptance(c: &CheckedPolicy<'_>, a: &Acceptance) -> Result<(), GmError> {
    let name = format!("{} policy {}", c.policy.protocol, c.spi_hex());
    if let Some(e) = c.encr {
        if e.key_len().is_none() || !a.encr.contains(&e) {
            return Err(unacceptable(format!(
                "{name}: cipher {} {:?} not accepted",
                e.id, e.key_bits
            )));
        }
        if c.policy.protocol == ProtocolId::GIKE_UPDATE
            && EncrAlg::from_transform(e.id.0, e.key_bits).is_none()
        {
            return Err(unacceptable(format!(
                "{name}: cipher {} not supported for GSA_REKEY",
                e.id
            )));
        }
    }
    if let Some(i) = c.integ {
        let supported = integ_key_len(i).is_some()
            && (c.policy.protocol != ProtocolId::GIKE_UPDATE || rekey_integ_supported(i));
        if !supported || !a.integ.contains(&i) {
            return Err(unacceptable(format!("{name}: integrity {i} not accepted")));
        }
    }
    if let Some(sn) = c.sn {
        if !a.sn.contains(&sn) {
            return Err(unacceptable(format!(
                "{name}: sequence numbers {sn} not accepted"
            )));
        }
    }
    if let Some(k) = c.kwa {
        if k == Kwa::KwArx || !a.kwa.contains(&k) {
            return Err(unacceptable(format!("{name}: key wrap {k:?} not accepted")));
        }
    }
    match c.gcauth {
        Some(GcAuthKind::Implicit) if !a.implicit_auth => Err(unacceptable(format!(
            "{name}: implicit GSA_REKEY authentication not accepted"
        ))),
        Some(GcAuthKind::Signature(s)) if !a.signature_algs.contains(&s) => Err(unacceptable(
            format!("{name}: signature algorithm {s:?} not accepted"),
        )),
        _ => Ok(()),
    }
}

/// The GW policy's values (RFC 9838 §4.4.3): ATD, DTD, Sender-ID bits.
fn check_gw(gw: Option<&GwPolicy>) -> Result<(u16, u16, Option<u16>), GmError> {
    let Some(gw) = gw else {
        return Ok((0, 0, None));
    };
    let get = |t| {
        gw.tv(t)
            .map_err(|t| malformed(format!("GW policy: {t:?} duplicated or not TV")))
    };
    Ok((
        get(GwpAttrType::GWP_ATD)?.unwrap_or(0),
        get(GwpAttrType::GWP_DTD)?.unwrap_or(0),
        get(GwpAttrType::GWP_SENDER_ID_BITS)?,
    ))
}

/// Unwraps the single SA_KEY of a registration key bag (Key ID 0, KWK ID 0).
fn unwrap_sa_key(
    bag: &GroupKeyBag,
    wrapper: &mut KeyWrapper,
    want_len: usize,
    name: &str,
) -> Result<KeyMaterial, GmError> {
    let keys: Vec<_> = bag.sa_keys().collect();
    let [k] = keys.as_slice() else {
        return Err(malformed(format!(
            "{name}: {} SA_KEY attributes, expected one",
            keys.len()
        )));
    };
    if k.key_id != 0 {
        return Err(malformed(format!(
            "{name}: SA_KEY with Key ID {}",
            k.key_id
        )));
    }
    if k.kwk_id != 0 {
        return Err(GmError::UnknownKwk(k.kwk_id));
    }
    let keymat = wrapper.unwrap(&k.encrypted).map_err(GmError::Unwrap)?;
    if keymat.len() != want_len {
        return Err(malformed(format!(
            "{name}: keying material of {} octets, the policy needs {want_len}",
            keymat.len()
        )));
    }
    Ok(keymat)
}

pub(crate) fn split(keymat: &KeyMaterial, lens: &[usize]) -> Result<Vec<Key>, GmError> {
    let mut at = 0;
    let mut out = Vec::with_capacity(lens.len());
    for l in lens {
        let part = keymat
            .as_bytes()
            .get(at..at + l)
            .ok_or_else(|| malformed("keying material shorter than its parts"))?;
        out.push(Key::from_slice(part).map_err(GmError::Unwrap)?);
        at += l;
    }
    Ok(out)
}

/// Where a member puts the Data-Security SAs of one group: from its role (RFC 9838
/// §2.3.3) and the group-wide policy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    pub(crate) direction: Direction,
    pub(crate) transport_mode: bool,
    /// When sending may start (now + GWP_ATD), for senders.
    pub(crate) send_from: Option<Time>,
}

impl Placement {
    pub(crate) fn new(role: SenderRole, transport_mode: bool, atd_secs: u16, now: Time) -> Self {
        let direction = match role {
            SenderRole::Receiver => Direction::Inbound,
            SenderRole::Sender { receives: true, .. } => Direction::Both,
            SenderRole::Sender {
                receives: false, ..
            } => Direction::Outbound,
        };
        let send_from = match role {
            SenderRole::Receiver => None,
            SenderRole::Sender { .. } => Some(now.plus_secs(u64::from(atd_secs))),
        };
        Placement {
            direction,
            transport_mode,
            send_from,
        }
    }
}

/// A Data-Security SA to install from its checked policy and unwrapped keying material
/// (encryption key, salt, integrity key, RFC 7296 §2.17).
pub(crate) fn data_sa_install(
    p: &CheckedPolicy<'_>,
    keymat: &KeyMaterial,
    place: Placement,
    now: Time,
) -> Result<SaInstall, GmError> {
    let encr_len = p.encr.and_then(|e| e.key_len()).unwrap_or(0);
    let salt_len = p.encr.map_or(0, |e| e.salt_len());
    let integ_len = p.integ.and_then(integ_key_len).unwrap_or(0);
    let parts = split(keymat, &[encr_len - salt_len, salt_len, integ_len])?;
    let [encr_key, salt, integ_key]: [Key; 3] = parts
        .try_into()
        .map_err(|_| malformed("keying material split"))?;
    let spi: [u8; 4] = p
        .policy
        .spi
        .as_slice()
        .try_into()
        .map_err(|_| malformed("data SA SPI is not 4 octets"))?;
    Ok(SaInstall {
        protocol: p.policy.protocol,
        spi,
        direction: place.direction,
        transport_mode: place.transport_mode,
        src: p.policy.src_ts.clone(),
        dst: p.policy.dst_ts.clone(),
        encr: p.encr,
        integ: p.integ,
        sn: p.sn.unwrap_or(SnId::SEQ32),
        encr_key,
        salt,
        integ_key,
        lifetime_secs: p.lifetime,
        expires_at: p.lifetime.map(|l| now.plus_secs(u64::from(l))),
        send_from: place.send_from,
    })
}

/// GSK_e, GSK_a and GSK_w of a Rekey SA's keying material (RFC 9838 §3.4).
pub(crate) fn rekey_sa_keys(
    p: &CheckedPolicy<'_>,
    keymat: &KeyMaterial,
) -> Result<(EncrSpec, Kwa, [Key; 3]), GmError> {
    let (Some(encr), Some(kwa)) = (p.encr, p.kwa) else {
        return Err(malformed("Rekey SA policy without ENCR or KWA"));
    };
    let lens = [
        encr.key_len().unwrap_or(0),
        p.integ.and_then(integ_key_len).unwrap_or(0),
        kwa.kwk_len(),
    ];
    let keys: [Key; 3] = split(keymat, &lens)?
        .try_into()
        .map_err(|_| malformed("keying material split"))?;
    Ok((encr, kwa, keys))
}

/// The GSA_NEXT_SPI values of checked policies (validated by `check_policy`).
pub(crate) fn announced_next_spis(policies: &[CheckedPolicy<'_>]) -> Vec<Vec<u8>> {
    policies
        .iter()
        .flat_map(|p| p.policy.next_spis().unwrap_or_default())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Sender-IDs from the Member Key Bag, decoded as big-endian integers of 1 to 4 octets
/// (docs/decisions.md R1); more than `limit` is refused before decoding any.
fn sender_ids(member: Option<&MemberKeyBag>, limit: usize) -> Result<Vec<u32>, GmError> {
    let count = member.map_or(0, |m| m.sender_ids().count());
    if count > limit {
        return Err(malformed(format!(
            "{count} GM_SENDER_IDs, {limit} requested"
        )));
    }
    let mut out = Vec::with_capacity(count);
    for v in member.into_iter().flat_map(|m| m.sender_ids()) {
        if v.is_empty() || v.len() > 4 {
            return Err(malformed(format!("GM_SENDER_ID of {} octets", v.len())));
        }
        let id = v.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        if out.contains(&id) {
            return Err(malformed(format!("GM_SENDER_ID {id} given twice")));
        }
        out.push(id);
    }
    Ok(out)
}

/// Everything a registration response produced, not yet committed.
pub(crate) struct Processed {
    pub(crate) registration: Registration,
    pub(crate) rekey: Option<RekeySaState>,
    /// The Working Key Path the Rekey SA key arrived through (empty without a key tree).
    pub(crate) path: WorkingKeyPath,
    /// USE_TRANSPORT_MODE was sent.
    pub(crate) transport_mode: bool,
    /// GSA_NEXT_SPI values of every policy.
    pub(crate) next_spis: Vec<Vec<u8>>,
}

/// Validates and processes the payloads of a GSA_AUTH or GSA_REGISTRATION response.
pub(crate) fn process(
    ctx: &IkeSaContext,
    cfg: &MembershipConfig,
    current_rekey: Option<&RekeySaState>,
    payloads: &[Payload],
    now: Time,
) -> Result<Processed, GmError> {
    let requested_ids = match cfg.role {
        SenderRole::Receiver => None,
        SenderRole::Sender { sender_ids, .. } => Some(sender_ids.max(1)),
    };
    let mut gsa: Option<&GsaPayload> = None;
    let mut kd: Option<&KdPayload> = None;
    let mut transport_mode = false;
    for p in payloads {
        if p.is_unsupported_critical() {
            return Err(malformed(format!(
                "critical payload of unknown type {}",
                p.body.payload_type()
            )));
        }
        match &p.body {
            PayloadBody::Notify(n) if n.notify_type.is_error() => {
                return Err(GmError::Rejected(n.notify_type));
            }
            PayloadBody::Notify(n) if n.notify_type == NotifyType::USE_TRANSPORT_MODE => {
                transport_mode = true;
            }
            PayloadBody::Gsa(_) if gsa.is_some() => {
                return Err(malformed("more than one GSA payload"))
            }
            PayloadBody::Gsa(g) => gsa = Some(g),
            PayloadBody::Kd(_) if kd.is_some() => {
                return Err(malformed("more than one KD payload"))
            }
            PayloadBody::Kd(k) => kd = Some(k),
            _ => {}
        }
    }
    let gsa = gsa.ok_or_else(|| malformed("no GSA payload"))?;
    let kd = kd.ok_or_else(|| malformed("no KD payload"))?;

    // Policies: structure first, then what this member accepts.
    let mut policies = Vec::new();
    let mut gw = None;
    for p in &gsa.policies {
        match p {
            GroupPolicy::Sa(s) => policies.push(check_policy(s, true)?),
            GroupPolicy::Gw(_) if gw.is_some() => return Err(malformed("more than one GW policy")),
            GroupPolicy::Gw(g) => gw = Some(g),
            GroupPolicy::Unknown { .. } => {}
        }
    }
    if policies.is_empty() {
        return Err(malformed("GSA payload without an SA policy"));
    }
    if policies
        .iter()
        .filter(|p| p.policy.protocol == ProtocolId::GIKE_UPDATE)
        .count()
        > 1
    {
        return Err(malformed("more than one Rekey SA policy"));
    }
    for (i, p) in policies.iter().enumerate() {
        if policies[..i]
            .iter()
            .any(|q| q.policy.protocol == p.policy.protocol && q.policy.spi == p.policy.spi)
        {
            return Err(malformed(format!("two policies for SPI {}", p.spi_hex())));
        }
    }
    // RFC 9838 §4.4.2.2.1: with multicast rekey (a Rekey SA policy), every policy carries
    // GSA_KEY_LIFETIME.
    let multicast = policies
        .iter()
        .any(|p| p.policy.protocol == ProtocolId::GIKE_UPDATE);
    if let Some(p) = policies.iter().find(|p| multicast && p.lifetime.is_none()) {
        return Err(malformed(format!(
            "{} policy {} without GSA_KEY_LIFETIME under multicast rekey",
            p.policy.protocol,
            p.spi_hex()
        )));
    }
    for p in &policies {
        check_acceptance(p, &cfg.accept)?;
    }
    let (atd_secs, dtd_secs, sender_id_bits) = check_gw(gw)?;

    // Key bags, matched to policies by (Protocol, SPI).
    let mut bags: HashMap<(ProtocolId, &[u8]), &GroupKeyBag> = HashMap::new();
    let mut member: Option<&MemberKeyBag> = None;
    for b in &kd.bags {
        match b {
            KeyBag::Group(g) => {
                if !policies
                    .iter()
                    .any(|p| p.policy.protocol == g.protocol && p.policy.spi == g.spi)
                {
                    return Err(GmError::UnknownSpi {
                        protocol: g.protocol,
                        spi: g.spi.clone(),
                    });
                }
                if bags.insert((g.protocol, g.spi.as_slice()), g).is_some() {
                    return Err(malformed(format!(
                        "two key bags for SPI {}",
                        crate::wire::hex(&g.spi)
                    )));
                }
            }
            KeyBag::Member(_) if member.is_some() => {
                return Err(malformed("more than one Member Key Bag"))
            }
            KeyBag::Member(m) => member = Some(m),
            KeyBag::Unknown { .. } => {}
        }
    }

    // Member Key Bag: Sender-IDs and AUTH_KEY.
    let ids =
        sender_ids(member, requested_ids.unwrap_or(0) as usize).map_err(
            |e| match requested_ids {
                None => malformed("GM_SENDER_ID without GROUP_SENDER"),
                Some(_) => e,
            },
        )?;
    let counter_mode = policies.iter().any(|p| {
        p.policy.protocol != ProtocolId::GIKE_UPDATE
            && (p.encr.is_some_and(|e| e.is_counter_mode())
                || p.integ.is_some_and(integ_is_counter_mode))
    });
    match requested_ids {
        None if !ids.is_empty() => return Err(malformed("GM_SENDER_ID without GROUP_SENDER")),
        Some(n) if ids.len() > n as usize => {
            return Err(malformed(format!(
                "{} GM_SENDER_IDs, {n} requested",
                ids.len()
            )))
        }
        Some(_) if counter_mode && ids.is_empty() => {
            return Err(malformed("a sender of counter-mode SAs got no Sender-ID"))
        }
        Some(_) if !counter_mode && !ids.is_empty() => {
            return Err(malformed(
                "GM_SENDER_ID although no SA uses a counter mode (RFC 9838 §5 note 1)",
            ))
        }
        _ => {}
    }
    let sender_id_bits = if ids.is_empty() {
        None
    } else {
        let bits =
            sender_id_bits.ok_or_else(|| malformed("GM_SENDER_ID without GWP_SENDER_ID_BITS"))?;
        if !(1..=32).contains(&bits) || ids.iter().any(|id| u64::from(*id) >> bits != 0) {
            return Err(malformed(format!("Sender-IDs do not fit in {bits} bits")));
        }
        Some(bits)
    };
    let auth_keys: Vec<&[u8]> = member.into_iter().flat_map(|m| m.auth_keys()).collect();

    let mut wrapper = KeyWrapper::new(ctx.kwa, ctx.gsk_w().as_bytes()).map_err(GmError::Unwrap)?;
    let mut data_sas = Vec::new();
    let mut rekey = None;
    let mut path = WorkingKeyPath::new();
    let place = Placement::new(cfg.role, transport_mode, atd_secs, now);
    for p in &policies {
        let name = format!("{} SA {}", p.policy.protocol, p.spi_hex());
        let bag = bags
            .get(&(p.policy.protocol, p.policy.spi.as_slice()))
            .ok_or_else(|| malformed(format!("{name}: no key bag")))?;
        let tree_sa_key = bag.sa_keys().find(|k| k.kwk_id != 0);
        let keymat = match (p.policy.protocol, tree_sa_key, p.kwa) {
            // RFC 9838 Appendix A.2: SA_KEY under a tree key, WRAP_KEYs down to the leaf,
            // the leaf under the IKE SA's GSK_w.
            (ProtocolId::GIKE_UPDATE, Some(sa_key), Some(kwa)) => {
                if bag.sa_keys().count() != 1 {
                    return Err(malformed(format!("{name}: more than one SA_KEY")));
                }
                let wraps: Vec<WrappedKeyIn<'_>> = member
                    .into_iter()
                    .flat_map(|m| m.wrap_keys())
                    .map(|k| WrappedKeyIn {
                        key_id: k.key_id,
                        kwk_id: k.kwk_id,
                        encrypted: &k.encrypted,
                    })
                    .collect();
                let sa_in = WrappedKeyIn {
                    key_id: sa_key.key_id,
                    kwk_id: sa_key.kwk_id,
                    encrypted: &sa_key.encrypted,
                };
                let (p_path, keymat) =
                    WorkingKeyPath::from_registration(sa_in, &wraps, kwa, |d| wrapper.unwrap(d))
                        .map_err(|e| match e {
                            PathError::UnknownKwk { kwk_id } => GmError::UnknownKwk(kwk_id),
                            other => malformed(format!("{name}: key path: {other}")),
                        })?;
                if keymat.len() != p.keymat_len() {
                    return Err(malformed(format!(
                        "{name}: keying material of {} octets, the policy needs {}",
                        keymat.len(),
                        p.keymat_len()
                    )));
                }
                path = p_path;
                keymat
            }
            _ => unwrap_sa_key(bag, &mut wrapper, p.keymat_len(), &name)?,
        };
        let expires_at = p.lifetime.map(|l| now.plus_secs(u64::from(l)));
        if p.policy.protocol == ProtocolId::GIKE_UPDATE {
            let (Some(encr), Some(kwa), Some(auth)) = (p.encr, p.kwa, p.gcauth) else {
                return Err(malformed(format!("{name}: incomplete")));
            };
            let auth = match auth {
                GcAuthKind::Implicit if auth_keys.is_empty() => RekeyAuth::Implicit,
                GcAuthKind::Implicit => {
                    return Err(malformed("AUTH_KEY with implicit authentication"))
                }
                GcAuthKind::Signature(alg) => {
                    let [der] = auth_keys.as_slice() else {
                        return Err(malformed(format!(
                            "{} AUTH_KEY attributes, expected one",
                            auth_keys.len()
                        )));
                    };
                    RekeyAuth::Signature(
                        VerifyingKey::from_spki_der(alg, der)
                            .map_err(|e| malformed(format!("AUTH_KEY: {e}")))?,
                    )
                }
            };
            let (_, _, [gsk_e, gsk_a, gsk_w]) = rekey_sa_keys(p, &keymat)?;
            let mut spi = [0u8; 16];
            spi.copy_from_slice(&p.policy.spi);
            // RFC 9838 §2.3.3: an initial Message ID lower than one already seen on this
            // Rekey SA is stale and ignored.
            let initial = p.initial_message_id.unwrap_or(0);
            let next_message_id = match current_rekey {
                Some(cur) if cur.spi == spi => cur.next_message_id.max(initial),
                _ => initial,
            };
            rekey = Some(RekeySaState {
                spi,
                encr,
                integ: p.integ,
                kwa,
                gsk_e,
                gsk_a,
                gsk_w,
                auth,
                next_message_id,
                message_ids_exhausted: false,
                src: p.policy.src_ts.clone(),
                dst: p.policy.dst_ts.clone(),
                expires_at: expires_at.unwrap_or(now),
            });
        } else {
            data_sas.push(data_sa_install(p, &keymat, place, now)?);
        }
    }
    let rekey_info = rekey.as_ref().map(|r: &RekeySaState| RekeySaInfo {
        spi: r.spi,
        dst: r.dst.clone(),
        src: r.src.clone(),
        expires_at: r.expires_at,
    });
    if rekey.is_none() && !auth_keys.is_empty() {
        return Err(malformed("AUTH_KEY without a Rekey SA"));
    }
    Ok(Processed {
        registration: Registration {
            group: cfg.group.clone(),
            data_sas,
            rekey_sa: rekey_info,
            sender_ids: ids,
            sender_id_bits,
            atd_secs,
            dtd_secs,
        },
        rekey,
        path,
        transport_mode,
        next_spis: announced_next_spis(&policies),
    })
}
