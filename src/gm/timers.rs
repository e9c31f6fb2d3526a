//! The member's timers (sans-IO: the host asks for the next deadline and calls
//! [`GroupMember::on_timeout`]): removing replaced SAs after GWP_DTD and forgetting the
//! replaced Rekey SA then (RFC 9838 §2.4.1.4), re-registering after an exclusion (after a
//! random delay, §2.4.3), and re-registering when an SA nears the end of its lifetime
//! without having been rekeyed (§2.4.1.4).

use super::rekey::SaRemoval;
use super::GroupMember;
use crate::identity::GroupId;
use crate::time::Time;
use crate::wire::ProtocolId;

/// Why the member should register again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReRegisterReason {
    /// It was excluded (no key chain to a new KEK, or a Delete of GIKE_UPDATE SPI 0).
    Excluded,
    /// A rekey brought a counter-mode SA this sender has no Sender-ID for; it was not
    /// installed (RFC 9838 §2.4.1.4).
    NoSenderId,
    /// An SA is about to expire and no rekey replaced it (a GSA_REKEY was probably lost).
    LifetimeEnding {
        /// The SA's SPI.
        spi: Vec<u8>,
    },
}

/// What the host must do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GmAction {
    /// Remove this SA from the kernel (its DTD has passed).
    RemoveSa {
        /// The group.
        group: GroupId,
        /// ESP, AH or GIKE_UPDATE.
        protocol: ProtocolId,
        /// Its SPI.
        spi: Vec<u8>,
    },
    /// Register again with GSA_REGISTRATION (or GSA_AUTH on a new IKE SA).
    ReRegister {
        /// The group.
        group: GroupId,
        /// Why.
        reason: ReRegisterReason,
    },
}

/// Pending timed work of one membership.
#[derive(Debug, Default)]
pub(crate) struct MemberTimers {
    pub(crate) removals: Vec<SaRemoval>,
    pub(crate) reregister: Option<(Time, ReRegisterReason)>,
    /// (SPI, soft limit): re-register if still current then.
    pub(crate) soft_limits: Vec<(Vec<u8>, Time)>,
}

/// The soft limit of an SA: 5% of its lifetime (at least 1 s) before it ends, half the
/// key server's default rekey margin, so a working group never reaches it.
pub(crate) fn soft_limit(now: Time, expires: Time) -> Time {
    let lifetime = expires.as_millis().saturating_sub(now.as_millis());
    let margin = (lifetime / 20).max(1000).min(lifetime);
    Time::from_millis(expires.as_millis() - margin)
}

impl MemberTimers {
    fn next(&self) -> Option<Time> {
        let removals = self.removals.iter().map(|r| r.at);
        let soft = self.soft_limits.iter().map(|(_, t)| *t);
        removals
            .chain(soft)
            .chain(self.reregister.as_ref().map(|(t, _)| *t))
            .min()
    }

    /// An SA is gone or replaced: no soft limit for it any more.
    pub(crate) fn forget(&mut self, spi: &[u8]) {
        self.soft_limits.retain(|(s, _)| s[..] != spi[..]);
    }
}

impl GroupMember {
    /// The earliest time [`GroupMember::on_timeout`] has work, if any.
    pub fn next_deadline(&self) -> Option<Time> {
        self.groups
            .values()
            .flat_map(|m| {
                let retired = m.previous_rekey.as_ref().map(|(_, until)| *until);
                m.timers.next().into_iter().chain(retired)
            })
            .min()
    }

    /// Does the work due at `now`.
    pub fn on_timeout(&mut self, now: Time) -> Vec<GmAction> {
        let mut out = Vec::new();
        for (group, m) in self.groups.iter_mut() {
            // The retired Rekey SA is forgotten once its GWP_DTD ran out (its removal is
            // reported from `removals` below; docs/decisions.md K12).
            if m.previous_rekey
                .as_ref()
                .is_some_and(|(_, until)| *until <= now)
            {
                m.previous_rekey = None;
            }
            let t = &mut m.timers;
            let (due, later): (Vec<SaRemoval>, Vec<SaRemoval>) =
                t.removals.drain(..).partition(|r| r.at <= now);
            t.removals = later;
            out.extend(due.into_iter().map(|r| GmAction::RemoveSa {
                group: group.clone(),
                protocol: r.protocol,
                spi: r.spi,
            }));
            if t.reregister.as_ref().is_some_and(|(at, _)| *at <= now) {
                if let Some((_, reason)) = t.reregister.take() {
                    out.push(GmAction::ReRegister {
                        group: group.clone(),
                        reason,
                    });
                }
            }
            if let Some((spi, _)) = t.soft_limits.iter().find(|(_, at)| *at <= now).cloned() {
                // One request is enough: a registration replaces every SA of the group.
                t.soft_limits.clear();
                out.push(GmAction::ReRegister {
                    group: group.clone(),
                    reason: ReRegisterReason::LifetimeEnding { spi },
                });
            }
        }
        out
    }
}
