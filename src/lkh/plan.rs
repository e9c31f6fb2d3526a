//! Rekey plans: which keys a GSA_REKEY must carry wrapped under which, and producing the
//! wrapped octets (RFC 9838 §2.4.1, §4.5.2, §4.5.3.1, Appendix A.4).
//!
//! # Order
//!
//! SA_KEYs and WRAP_KEYs are each sorted by (Key ID, KWK ID). New Key IDs are allocated top
//! down (level by level, left to right), so a replaced node comes before its replaced
//! children, and among the wraps of one node, keys that were not replaced (older, smaller
//! IDs) come before replaced ones. This reproduces Appendix A.4 exactly: SA_KEY(0,1),
//! SA_KEY(0,15), WRAP_KEY(15,6), WRAP_KEY(15,16), WRAP_KEY(16,11). Receivers do not depend
//! on the order (RFC 9838 §4.2 builds chains by Key ID).

use super::storage::Pos;
use super::tree::LkhTree;
use super::{KeyId, LkhError, WrappedKeyOut};
use crate::crypto::keywrap::{wrap, Kwa, MultiKeyWrapper};
use crate::crypto::CryptoError;
use crate::executor::{self, Executor, Sequential};

/// Fewest WRAP_KEYs worth a job of their own on another thread (a wrap costs about 1 us;
/// starting work on a thread costs tens of microseconds).
const MIN_WRAPS_PER_JOB: usize = 128;

/// One wrap of a plan: the key of the node at `key_pos` under the key of `kwk_pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PlannedWrap {
    pub(super) key_id: KeyId,
    pub(super) key_pos: Pos,
    pub(super) kwk_id: KeyId,
    pub(super) kwk_pos: Pos,
}

/// The wraps a rekey must carry after a membership change (RFC 9838 §2.4.1, Appendix A.4):
/// the new Rekey SA keying material under the listed top-level keys (SA_KEY attributes,
/// Key ID 0) and node keys under node keys (WRAP_KEY attributes). It names keys only;
/// [`LkhTree::wrap_plan`] produces the octets. A plan stays valid as long as every key it
/// names is still in the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RekeyPlan {
    pub(super) sa: Vec<(KeyId, Pos)>,
    pub(super) wraps: Vec<PlannedWrap>,
}

impl RekeyPlan {
    /// KWK IDs of the SA_KEYs (the top-level nodes with members), in ascending order
    /// (RFC 9838 §4.5.2, Appendix A.4: 1, 15).
    pub fn sa_key_kwk_ids(&self) -> Vec<KeyId> {
        self.sa.iter().map(|&(id, _)| id).collect()
    }

    /// (Key ID, KWK ID) of each WRAP_KEY, sorted (RFC 9838 §4.5.3.1, Appendix A.4: (15,6),
    /// (15,16), (16,11)).
    pub fn wrap_key_ids(&self) -> Vec<(KeyId, KeyId)> {
        self.wraps.iter().map(|w| (w.key_id, w.kwk_id)).collect()
    }

    /// Number of SA_KEY attributes (RFC 9838 §4.5.2).
    pub fn sa_key_count(&self) -> usize {
        self.sa.len()
    }

    /// Number of WRAP_KEY attributes (RFC 9838 §4.5.3.1).
    pub fn wrap_key_count(&self) -> usize {
        self.wraps.len()
    }

    /// Number of key wraps the plan costs: SA_KEYs plus WRAP_KEYs (5 for RFC 9838
    /// Appendix A.4; about `d * depth - 1` for one exclusion).
    pub fn wrap_count(&self) -> usize {
        self.sa.len() + self.wraps.len()
    }

    /// `true` if there is nothing to send (no member to rekey, RFC 9838 §2.4.1).
    pub fn is_empty(&self) -> bool {
        self.sa.is_empty() && self.wraps.is_empty()
    }
}

impl LkhTree {
    /// The plan for the current tree: each node in `replaced`, and each still-present node
    /// in `announce`, wrapped under its children that have members; the SA_KEYs under the
    /// top-level nodes that have members. A member at leaf position `newcomer` is left
    /// out (a join's plan is for the members already there).
    pub(super) fn build_plan(
        &self,
        replaced: &[Pos],
        announce: &[KeyId],
        newcomer: Option<u32>,
    ) -> RekeyPlan {
        let has_members = |pos: Pos| {
            let own = newcomer.is_some_and(|leaf| {
                let span = u64::from(self.degree).saturating_pow(u32::from(pos.level));
                u64::from(leaf) / span == u64::from(pos.idx)
            });
            self.members_at(pos) > u32::from(own)
        };
        let mut wraps = Vec::new();
        let mut nodes: Vec<Pos> = replaced.to_vec();
        nodes.extend(announce.iter().filter_map(|&id| self.index.get(id)));
        nodes.sort_unstable();
        nodes.dedup();
        for pos in nodes {
            if pos.level == 0 {
                continue;
            }
            let key_id = self.id_at(pos);
            for child in self.children(pos) {
                let kwk_id = self.id_at(child);
                if kwk_id != 0 && has_members(child) {
                    wraps.push(PlannedWrap {
                        key_id,
                        key_pos: pos,
                        kwk_id,
                        kwk_pos: child,
                    });
                }
            }
        }
        wraps.sort_unstable_by_key(|w| (w.key_id, w.kwk_id));
        let mut sa = Vec::new();
        if let Some(top) = self.levels.len().checked_sub(1) {
            let level = top as u8;
            let len = self.levels.get(top).map_or(0, |l| l.len());
            for idx in 0..len as u32 {
                let pos = Pos { level, idx };
                let id = self.id_at(pos);
                if id != 0 && has_members(pos) {
                    sa.push((id, pos));
                }
            }
        }
        sa.sort_unstable_by_key(|&(id, _)| id);
        RekeyPlan { sa, wraps }
    }

    /// Produces the wrapped keys of `plan`: the SA_KEYs (`new_rekey_keymat`, the new Rekey
    /// SA's KEYMAT = GSK_e | GSK_a | GSK_w, RFC 9838 §3.4, under each top-level key) and the
    /// WRAP_KEYs, in the plan's order, with `kwa` (the Rekey SA's key wrap algorithm, whose
    /// KWK length must be the tree's key length). Returns `(SA_KEYs, WRAP_KEYs)`.
    ///
    /// The SA_KEYs are also kept in the registration cache, so registrations that follow
    /// reuse them. Fails with [`LkhError::StalePlan`] when a key named by the plan has changed.
    pub fn wrap_plan(
        &mut self,
        plan: &RekeyPlan,
        kwa: Kwa,
        new_rekey_keymat: &[u8],
    ) -> Result<(Vec<WrappedKeyOut>, Vec<WrappedKeyOut>), LkhError> {
        self.wrap_plan_on(plan, kwa, new_rekey_keymat, &Sequential)
    }

    /// [`LkhTree::wrap_plan`] with the WRAP_KEYs of a large plan (thousands of wraps, a
    /// batch exclusion) split into jobs run by the host's `executor`. The output is the
    /// same as with [`Sequential`]: every wrap is a function of two keys only.
    pub fn wrap_plan_on(
        &mut self,
        plan: &RekeyPlan,
        kwa: Kwa,
        new_rekey_keymat: &[u8],
        executor: &dyn Executor,
    ) -> Result<(Vec<WrappedKeyOut>, Vec<WrappedKeyOut>), LkhError> {
        self.check_kwa(kwa)?;
        for &(id, pos) in &plan.sa {
            if self.id_at(pos) != id {
                return Err(LkhError::StalePlan { key_id: id });
            }
        }
        for w in &plan.wraps {
            for (id, pos) in [(w.key_id, w.key_pos), (w.kwk_id, w.kwk_pos)] {
                if self.id_at(pos) != id {
                    return Err(LkhError::StalePlan { key_id: id });
                }
            }
        }
        let mut sa_out = Vec::with_capacity(plan.sa.len());
        for &(id, pos) in &plan.sa {
            sa_out.push(WrappedKeyOut {
                key_id: 0,
                kwk_id: id,
                encrypted: wrap(kwa, self.key_at(pos), new_rekey_keymat)?,
            });
        }
        // Every key of a tree wraps only its parent, so no KWK appears twice in a plan: one
        // OpenSSL context per job, re-keyed per KWK, serves them all.
        let tree: &LkhTree = self;
        let parts = executor::map_parts(executor, &plan.wraps, MIN_WRAPS_PER_JOB, |part| {
            let mut wrapper = MultiKeyWrapper::new(kwa)?;
            let mut out = Vec::with_capacity(part.len());
            for w in part {
                out.push(WrappedKeyOut {
                    key_id: w.key_id,
                    kwk_id: w.kwk_id,
                    encrypted: wrapper.wrap(tree.key_at(w.kwk_pos), tree.key_at(w.key_pos))?,
                });
            }
            Ok::<_, CryptoError>(out)
        })?;
        let mut wrap_out = Vec::with_capacity(plan.wraps.len());
        for part in parts {
            wrap_out.extend(part?);
        }
        // Remember the results for registrations (same keys give the same RFC 5649 output).
        self.cache.set_context(kwa, new_rekey_keymat)?;
        for out in &sa_out {
            self.cache.put_sa(out.kwk_id, &out.encrypted);
        }
        // The WRAP_KEYs are not copied into the cache: a registration computes the few it
        // needs on first use (the same octets), while copying all of them would cost a
        // batch exclusion about a tenth of its time for paths nobody may register under.
        log::debug!(
            "LKH rekey wrapped: {} SA_KEYs, {} WRAP_KEYs",
            sa_out.len(),
            wrap_out.len()
        );
        Ok((sa_out, wrap_out))
    }

    /// Fails unless `kwa` wraps with keys of the tree's key length.
    pub(super) fn check_kwa(&self, kwa: Kwa) -> Result<(), LkhError> {
        if kwa.kwk_len() != self.key_len {
            return Err(LkhError::KwaMismatch {
                kwa_key_len: kwa.kwk_len(),
                tree_key_len: self.key_len,
            });
        }
        Ok(())
    }
}
