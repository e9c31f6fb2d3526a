//! GSA_REKEY and GSA_INBAND_REKEY at the member (RFC 9838 §2.4.1.4, §2.4.2, §2.4.3, §4.2).
//!
//! Order of §2.4.1.4: decrypt and check the ICV with the current KEK; verify AUTH with
//! the AUTH_KEY from registration; check the Message ID (the first at or above
//! GSA_INITIAL_MESSAGE_ID, then strictly increasing); process GSA, then KD (the Key Path
//! algorithm for the KEK); then Deletes. Everything is computed first and committed at the
//! end, so a rejected message changes nothing (except fragment reassembly, which only
//! buffers authentic fragments).

use super::install::{RekeyAuth, RekeySaInfo, RekeySaState, SaInstall};
use super::response::{
    announced_next_spis, check_acceptance, check_policy, data_sa_install, malformed, rekey_sa_keys,
    Placement,
};
use super::{GmError, GroupMember};
use crate::crypto::keywrap::unwrap;
use crate::crypto::sign::VerifyingKey;
use crate::crypto::sk::SkProtector;
use crate::gsa_rekey::{RekeyMessageError, Verifier};
use crate::identity::GroupId;
use crate::lkh::{PathError, WrappedKeyIn};
use crate::time::Time;
use crate::wire::{self, GroupPolicy, KeyBag, MemberKeyBagAttr, PayloadBody, ProtocolId};
use std::fmt;

/// An SA the member must remove, and when (now + GWP_DTD, RFC 9838 §4.4.3.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaRemoval {
    /// ESP, AH or GIKE_UPDATE.
    pub protocol: ProtocolId,
    /// Its SPI (4 or 16 octets).
    pub spi: Vec<u8>,
    /// When.
    pub at: Time,
}

/// What a rekey message did.
#[derive(Debug)]
pub struct RekeyResult {
    /// The group.
    pub group: GroupId,
    /// Message ID of the GSA_REKEY (0 for GSA_INBAND_REKEY).
    pub message_id: u32,
    /// New Data-Security SAs to install.
    pub installs: Vec<SaInstall>,
    /// SAs to remove after DTD.
    pub removals: Vec<SaRemoval>,
    /// The new Rekey SA to listen on, if it changed.
    pub new_rekey_sa: Option<RekeySaInfo>,
    /// The member was excluded (no key chain to the new KEK, or a Delete of GIKE_UPDATE
    /// SPI 0): it must register again, after this time (a random delay, §2.4.3).
    pub excluded: Option<Time>,
}

/// Why a GSA_REKEY was dropped.
#[derive(Debug)]
#[non_exhaustive]
pub enum GmRekeyError {
    /// No group of this member uses that Rekey SA SPI.
    UnknownRekeySa([u8; 16]),
    /// The Rekey SA was replaced (RFC 9838 §2.4.1.4): nothing is accepted on it any more;
    /// it is only recognised until GWP_DTD so that late copies of the message that
    /// replaced it (§2.4.1.3) are told apart (docs/decisions.md K12).
    RetiredRekeySa {
        /// Its SPI.
        spi: [u8; 16],
        /// The Message ID of the datagram (not authenticated).
        message_id: u32,
    },
    /// Decryption, fragments, replay, or authentication failed.
    Message(RekeyMessageError),
    /// The content breaks RFC 9838 or this member's policy.
    Content(GmError),
}

impl fmt::Display for GmRekeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GmRekeyError::UnknownRekeySa(s) => write!(f, "no Rekey SA {}", wire::hex(s)),
            GmRekeyError::RetiredRekeySa { spi, message_id } => write!(
                f,
                "Rekey SA {} was replaced: message {message_id} ignored",
                wire::hex(spi)
            ),
            GmRekeyError::Message(e) => write!(f, "{e}"),
            GmRekeyError::Content(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GmRekeyError {}

impl From<GmError> for GmRekeyError {
    fn from(e: GmError) -> Self {
        GmRekeyError::Content(e)
    }
}

impl RekeySaState {
    /// Records an accepted Message ID: the next must be higher (RFC 9838 §2.4.1.4). After
    /// 0xFFFFFFFF nothing more is accepted on this Rekey SA.
    fn accepted(&mut self, message_id: u32) {
        match message_id.checked_add(1) {
            Some(next) => self.next_message_id = next,
            None => self.message_ids_exhausted = true,
        }
    }

    fn protector(&self) -> Result<SkProtector, GmRekeyError> {
        crate::protect::protector_for(
            self.encr,
            self.integ,
            self.gsk_e.as_bytes(),
            self.gsk_a.as_bytes(),
        )
        .map_err(|e| GmRekeyError::Content(malformed(format!("Rekey SA keys: {e}"))))
    }
}

/// A random delay of 1 to 10 s before re-registering (§2.4.3 RECOMMENDS seconds).
fn reregister_at(now: Time) -> Time {
    let mut b = [0u8; 2];
    let jitter = match crate::crypto::rand::fill_random(&mut b) {
        Ok(()) => u64::from(u16::from_be_bytes(b)) % 9000,
        Err(_) => 4500,
    };
    now.plus_millis(1000 + jitter)
}

impl GroupMember {
    /// The group whose current (or retired, until GWP_DTD) Rekey SA has this SPI.
    pub fn group_for_rekey_spi(&self, spi: &[u8; 16]) -> Option<&GroupId> {
        self.groups.iter().find_map(|(g, m)| {
            let current = m.rekey.as_ref().is_some_and(|r| &r.spi == spi);
            let previous = m
                .previous_rekey
                .as_ref()
                .is_some_and(|(r, _)| &r.spi == spi);
            (current || previous).then_some(g)
        })
    }

    /// Processes one GSA_REKEY datagram (RFC 9838 §2.4.1.4). `Ok(None)` while fragments
    /// of a message are missing. A rejected datagram changes no state but the bounded
    /// reassembly buffers. Only the current Rekey SA is accepted: a datagram on the one it
    /// replaced is [`GmRekeyError::RetiredRekeySa`] before any other check
    /// (docs/decisions.md K12).
    pub fn process_gsa_rekey(
        &mut self,
        datagram: &[u8],
        now: Time,
    ) -> Result<Option<RekeyResult>, GmRekeyError> {
        let raw = wire::RawHeader::decode(datagram)
            .map_err(|e| GmRekeyError::Message(RekeyMessageError::Decode(e)))?;
        let spi = raw.header.spi_pair();
        let group = self
            .group_for_rekey_spi(&spi)
            .cloned()
            .ok_or(GmRekeyError::UnknownRekeySa(spi))?;
        let Some(m) = self.groups.get_mut(&group) else {
            return Err(GmRekeyError::UnknownRekeySa(spi));
        };
        // Nothing on a retired Rekey SA: the key server sends only on the current one
        // (for a member it excludes, the one that member still holds), so all that still
        // comes on it is late copies of the message that replaced it, or forgeries by a
        // member the change excluded, who holds its keys (docs/decisions.md K12).
        let rs = match (&m.rekey, &m.previous_rekey) {
            (Some(r), _) if r.spi == spi => r,
            (_, Some((r, _))) if r.spi == spi => {
                return Err(GmRekeyError::RetiredRekeySa {
                    spi,
                    message_id: raw.header.message_id,
                })
            }
            _ => return Err(GmRekeyError::UnknownRekeySa(spi)),
        };
        if rs.message_ids_exhausted {
            return Err(GmRekeyError::Message(RekeyMessageError::Replay {
                received: raw.header.message_id,
                expected: u32::MAX,
            }));
        }
        let protector = rs.protector()?;
        let verifier = match &rs.auth {
            RekeyAuth::Implicit => Verifier::Implicit,
            RekeyAuth::Signature(k) => Verifier::Signature(k),
        };
        // Steps 1-3 of §2.4.1.4; fragments are authenticated once reassembled, each
        // candidate reassembly apart (docs/decisions.md K27).
        let opened =
            match m
                .receiver
                .receive(datagram, &spi, &protector, rs.next_message_id, verifier)
            {
                Ok(Some(o)) => o,
                Ok(None) => return Ok(None),
                Err(e) => return Err(GmRekeyError::Message(e)),
            };
        let result = process_content(
            m,
            &group,
            &opened.inner,
            opened.message_id(),
            Carrier::RekeySa,
            now,
        )?;
        log::info!(
            "group {group}: GSA_REKEY {} processed: {} SA(s) installed, {} removed{}{}",
            opened.message_id(),
            result.installs.len(),
            result.removals.len(),
            if result.new_rekey_sa.is_some() {
                ", new Rekey SA"
            } else {
                ""
            },
            if result.excluded.is_some() {
                ", EXCLUDED"
            } else {
                ""
            }
        );
        Ok(Some(result))
    }
}

/// Where a rekey came from: a GSA_REKEY on a Rekey SA, or a GSA_INBAND_REKEY on the IKE
/// SA (whose GSK_w is then the default KWK, §2.4.2).
enum Carrier<'a> {
    /// The member's current Rekey SA (never a retired one, docs/decisions.md K12).
    RekeySa,
    Inband {
        kwa: crate::crypto::keywrap::Kwa,
        gsk_w: &'a crate::crypto::Key,
    },
}

impl GroupMember {
    /// Processes the decrypted payloads of a GSA_INBAND_REKEY request from the key server
    /// (RFC 9838 §2.4.2): keys wrapped under this IKE SA's GSK_w. The host answers with an
    /// empty SK payload. A rejected request changes nothing.
    pub fn process_inband_rekey(
        &mut self,
        group: &GroupId,
        payloads: &[crate::wire::Payload],
        now: Time,
    ) -> Result<RekeyResult, GmRekeyError> {
        let kwa = self.ike_sa.kwa;
        let gsk_w = self.ike_sa.gsk_w().duplicate();
        let m = self
            .groups
            .get_mut(group)
            .ok_or_else(|| GmRekeyError::Content(GmError::NoPendingRequest(group.clone())))?;
        process_content(
            m,
            group,
            payloads,
            0,
            Carrier::Inband { kwa, gsk_w: &gsk_w },
            now,
        )
    }
}

/// GSA, KD and Deletes of an authenticated rekey message; commits only at the end.
fn process_content(
    m: &mut super::Membership,
    group: &GroupId,
    inner: &[crate::wire::Payload],
    message_id: u32,
    carrier: Carrier<'_>,
    now: Time,
) -> Result<RekeyResult, GmRekeyError> {
    let rs = match carrier {
        Carrier::RekeySa => m.rekey.as_ref(),
        Carrier::Inband { .. } => None,
    };
    // The default KWK (KWK ID 0) and its algorithm.
    let (default_kwa, default_kwk) = match (&carrier, rs) {
        (Carrier::Inband { kwa, gsk_w }, _) => (*kwa, *gsk_w),
        (_, Some(r)) => (r.kwa, &r.gsk_w),
        _ => return Err(GmRekeyError::Content(malformed("Rekey SA vanished"))),
    };
    let dtd = u64::from(m.atd_dtd_secs.1);
    let mut gsa = None;
    let mut kd = None;
    let mut deletes = Vec::new();
    for p in inner {
        if p.is_unsupported_critical() {
            return Err(malformed("critical payload of unknown type").into());
        }
        match &p.body {
            PayloadBody::Gsa(_) if gsa.is_some() => {
                return Err(malformed("more than one GSA").into())
            }
            PayloadBody::Gsa(g) => gsa = Some(g),
            PayloadBody::Kd(_) if kd.is_some() => return Err(malformed("more than one KD").into()),
            PayloadBody::Kd(k) => kd = Some(k),
            PayloadBody::Delete(d) => deletes.push(d),
            _ => {}
        }
    }
    // GSA: new policies (no GCAUTH in rekeys).
    let mut policies = Vec::new();
    for p in gsa.map(|g| g.policies.as_slice()).unwrap_or(&[]) {
        match p {
            GroupPolicy::Sa(s) => {
                let c = check_policy(s, false)?;
                check_acceptance(&c, &m.config.accept)?;
                policies.push(c);
            }
            GroupPolicy::Gw(_) | GroupPolicy::Unknown { .. } => {}
        }
    }
    if policies
        .iter()
        .filter(|p| p.policy.protocol == ProtocolId::GIKE_UPDATE)
        .count()
        > 1
    {
        return Err(malformed("more than one Rekey SA policy").into());
    }
    // KD: bags for the new policies, WRAP_KEYs and a new AUTH_KEY in the Member Key Bag
    // (docs/decisions.md K4: Q1).
    let mut wraps: Vec<WrappedKeyIn<'_>> = Vec::new();
    let mut new_auth_key = None;
    let mut bags = Vec::new();
    for b in kd.map(|k| k.bags.as_slice()).unwrap_or(&[]) {
        match b {
            KeyBag::Group(g) => {
                if !policies
                    .iter()
                    .any(|p| p.policy.protocol == g.protocol && p.policy.spi == g.spi)
                {
                    return Err(GmError::UnknownSpi {
                        protocol: g.protocol,
                        spi: g.spi.clone(),
                    }
                    .into());
                }
                bags.push(g);
            }
            KeyBag::Member(mb) => {
                for a in &mb.attributes {
                    match a {
                        MemberKeyBagAttr::WrapKey(k) => wraps.push(WrappedKeyIn {
                            key_id: k.key_id,
                            kwk_id: k.kwk_id,
                            encrypted: &k.encrypted,
                        }),
                        MemberKeyBagAttr::AuthKey(der) => {
                            if new_auth_key.is_some() {
                                return Err(malformed("more than one AUTH_KEY").into());
                            }
                            new_auth_key = Some(der);
                        }
                        MemberKeyBagAttr::GmSenderId(_) => {
                            return Err(malformed("GM_SENDER_ID in GSA_REKEY").into())
                        }
                        MemberKeyBagAttr::Other(_) => {}
                    }
                }
            }
            KeyBag::Unknown { .. } => {}
        }
    }
    let place = Placement::new(m.config.role, m.transport_mode, m.atd_dtd_secs.0, now);
    // A new AUTH_KEY rolls the key server's signing key: it applies from the next message
    // on (this one was verified with the old key), to the current or the new Rekey SA.
    let mut rolled_auth = match (rs.map(|r| &r.auth), new_auth_key) {
        (_, None) => None,
        (Some(RekeyAuth::Signature(old)), Some(der)) => Some(RekeyAuth::Signature(
            VerifyingKey::from_spki_der(old.alg(), der)
                .map_err(|e| malformed(format!("AUTH_KEY: {e}")))?,
        )),
        (_, Some(_)) => {
            return Err(malformed("AUTH_KEY without digital signature authentication").into())
        }
    };
    let mut missing_sender_id = false;
    let mut path = m.working_path.duplicate();
    let mut installs = Vec::new();
    let mut new_rekey = None;
    let mut excluded = None;
    for p in &policies {
        // Named only in errors (formatting it for every policy of every message cost a
        // microsecond).
        let name = || format!("{} SA {}", p.policy.protocol, p.spi_hex());
        let Some(bag) = bags
            .iter()
            .find(|g| g.protocol == p.policy.protocol && g.spi == p.policy.spi)
        else {
            return Err(malformed(format!("{}: no key bag", name())).into());
        };
        let expires_at = p.lifetime.map(|l| now.plus_secs(u64::from(l)));
        if p.policy.protocol == ProtocolId::GIKE_UPDATE {
            let Some(rs) = rs else {
                return Err(malformed("a Rekey SA policy in GSA_INBAND_REKEY").into());
            };
            let sa_keys: Vec<WrappedKeyIn<'_>> = bag
                .sa_keys()
                .map(|k| WrappedKeyIn {
                    key_id: k.key_id,
                    kwk_id: k.kwk_id,
                    encrypted: &k.encrypted,
                })
                .collect();
            let keymat = match path.apply_rekey(&sa_keys, &wraps, rs.kwa, Some(&rs.gsk_w)) {
                Ok(k) => k,
                Err(PathError::Excluded) => {
                    excluded = Some(reregister_at(now));
                    continue;
                }
                Err(e) => return Err(malformed(format!("{}: key path: {e}", name())).into()),
            };
            if keymat.len() != p.keymat_len() {
                return Err(malformed(format!(
                    "{}: keying material of {} octets",
                    name(),
                    keymat.len()
                ))
                .into());
            }
            let (encr, kwa, [gsk_e, gsk_a, gsk_w]) = rekey_sa_keys(p, &keymat)?;
            // A new AUTH_KEY applies from the next message on (the one carrying it was
            // verified with the old key).
            // The new Rekey SA keeps the signing key, or takes the rolled one.
            let auth = match rolled_auth.take() {
                Some(a) => a,
                // The same key (shared, not decoded again: decoding an EC key in
                // OpenSSL 3.0 costs several times a verification).
                None => match &rs.auth {
                    RekeyAuth::Implicit => RekeyAuth::Implicit,
                    RekeyAuth::Signature(old) => RekeyAuth::Signature(old.clone()),
                },
            };
            if p.policy.spi[..] == rs.spi[..] {
                // A new Rekey SA under the current SPI would restart the replay window
                // (docs/decisions.md K8) and retire the SA it replaces.
                return Err(malformed(format!("{}: the current Rekey SA's SPI", name())).into());
            }
            let mut spi = [0u8; 16];
            spi.copy_from_slice(&p.policy.spi);
            new_rekey = Some(RekeySaState {
                spi,
                encr,
                integ: p.integ,
                kwa,
                gsk_e,
                gsk_a,
                gsk_w,
                auth,
                next_message_id: p.initial_message_id.unwrap_or(0),
                message_ids_exhausted: false,
                src: p.policy.src_ts.clone(),
                dst: p.policy.dst_ts.clone(),
                expires_at: expires_at.unwrap_or(now),
            });
        } else {
            // Data-Security SA: SA_KEY(0, 0) under the GSK_w of the Rekey SA the message
            // came on (§4.2 step 2).
            let keys: Vec<_> = bag.sa_keys().collect();
            let [k] = keys.as_slice() else {
                return Err(malformed(format!("{}: {} SA_KEYs", name(), keys.len())).into());
            };
            if k.key_id != 0 || k.kwk_id != 0 {
                return Err(GmError::UnknownKwk(k.kwk_id).into());
            }
            let keymat = unwrap(default_kwa, default_kwk.as_bytes(), &k.encrypted)
                .map_err(GmError::Unwrap)?;
            if keymat.len() != p.keymat_len() {
                return Err(malformed(format!(
                    "{}: keying material of {} octets",
                    name(),
                    keymat.len()
                ))
                .into());
            }
            let counter_mode = p.encr.is_some_and(|e| e.is_counter_mode())
                || p.integ.is_some_and(crate::suite::integ_is_counter_mode);
            let sender = matches!(m.config.role, super::config::SenderRole::Sender { .. });
            if sender && counter_mode && m.sender_ids.is_empty() {
                // §2.4.1.4: MUST NOT install it, MUST register again.
                missing_sender_id = true;
                continue;
            }
            installs.push(data_sa_install(p, &keymat, place, now)?);
        }
    }
    // Deletes (§2.4.3): listed SPIs, SPI 0 = every Data-Security SA of that protocol, and
    // GIKE_UPDATE SPI 0 = this member is excluded (docs/decisions.md K5: Q5).
    let mut removals = Vec::new();
    for d in deletes {
        let zero = d.spis.is_empty() || d.spis.iter().all(|s| s.iter().all(|b| *b == 0));
        match d.protocol {
            ProtocolId::GIKE_UPDATE if zero => excluded = Some(reregister_at(now)),
            ProtocolId::ESP | ProtocolId::AH if zero => {
                removals.extend(m.sa_protocols.iter().filter(|(_, p)| *p == d.protocol).map(
                    |(s, _)| SaRemoval {
                        protocol: d.protocol,
                        spi: s.to_vec(),
                        at: now.plus_secs(dtd),
                    },
                ))
            }
            ProtocolId::ESP | ProtocolId::AH => removals.extend(
                d.spis
                    .iter()
                    .filter(|s| {
                        m.sa_protocols
                            .iter()
                            .any(|(x, p)| x[..] == s[..] && *p == d.protocol)
                    })
                    .map(|s| SaRemoval {
                        protocol: d.protocol,
                        spi: s.clone(),
                        at: now.plus_secs(dtd),
                    }),
            ),
            _ => {}
        }
    }
    // Commit.
    let info = new_rekey.as_ref().map(|r: &RekeySaState| RekeySaInfo {
        spi: r.spi,
        dst: r.dst.clone(),
        src: r.src.clone(),
        expires_at: r.expires_at,
    });
    if matches!(carrier, Carrier::RekeySa) {
        if let Some(cur) = m.rekey.as_mut() {
            cur.accepted(message_id);
        }
    }
    if excluded.is_some() {
        m.rekey = None;
        m.previous_rekey = None;
        m.receiver = crate::gsa_rekey::RekeyReceiver::new();
    } else {
        m.working_path = path;
        if let (Some(a), Some(cur)) = (rolled_auth.take(), m.rekey.as_mut()) {
            cur.auth = a;
        }
        if let Some(r) = new_rekey {
            if let Some(old) = m.rekey.replace(r) {
                // Fragments of the replaced Rekey SA can no longer be used.
                m.receiver.forget(&old.spi);
                removals.push(SaRemoval {
                    protocol: ProtocolId::GIKE_UPDATE,
                    spi: old.spi.to_vec(),
                    at: now.plus_secs(dtd),
                });
                m.previous_rekey = Some((old, now.plus_secs(dtd)));
            }
        }
        // SPIs now in use are no longer "next"; the new policies announce theirs.
        let installed: Vec<Vec<u8>> = policies.iter().map(|p| p.policy.spi.clone()).collect();
        m.next_spis.retain(|n| !installed.contains(n));
        m.next_spis.extend(announced_next_spis(&policies));
        m.data_sa_spis
            .retain(|s| !removals.iter().any(|r| r.spi[..] == s[..]));
        m.data_sa_spis.extend(installs.iter().map(|i| i.spi));
        m.sa_protocols
            .retain(|(s, _)| !removals.iter().any(|r| r.spi[..] == s[..]));
        m.sa_protocols
            .extend(installs.iter().map(|i| (i.spi, i.protocol)));
        // Timers: replaced SAs no longer need a soft limit; the new ones do.
        for r in &removals {
            m.timers.forget(&r.spi);
        }
        for i in &installs {
            if let Some(e) = i.expires_at {
                m.timers
                    .soft_limits
                    .push((i.spi.to_vec(), super::timers::soft_limit(now, e)));
            }
        }
        if let Some(r) = &m.rekey {
            if info.as_ref().is_some_and(|n| n.spi == r.spi) {
                m.timers
                    .soft_limits
                    .push((r.spi.to_vec(), super::timers::soft_limit(now, r.expires_at)));
            }
        }
        m.timers.removals.extend(removals.iter().cloned());
    }
    if missing_sender_id && excluded.is_none() {
        m.timers.reregister = Some((now, super::timers::ReRegisterReason::NoSenderId));
    }
    if let Some(at) = excluded {
        m.timers.soft_limits.clear();
        m.timers.reregister = Some((at, super::timers::ReRegisterReason::Excluded));
    }
    // An excluded member installs nothing from the message that excluded it (none of it
    // was recorded or timed above).
    Ok(RekeyResult {
        group: group.clone(),
        message_id,
        installs: if excluded.is_some() {
            Vec::new()
        } else {
            installs
        },
        removals,
        new_rekey_sa: info,
        excluded,
    })
}
