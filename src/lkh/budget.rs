//! How large a rekey plan may grow (RFC 9838 §4.5, §4.5.3.1; docs/decisions.md L10).
//!
//! A plan's WRAP_KEYs travel in one Member Key Bag of one KD payload (at most 65,535
//! octets), so the key server gives every KEK change a limit on them. The nodes a change
//! must replace (an excluded member's path, a newcomer's path with backward access
//! control) always go in; the paths of members that left without a rekey
//! ([`LkhTree::free_leaf`]) are added, neighbours first, as long as the plan stays within
//! the limit, and the rest wait for the next KEK change.
//!
//! The count is an upper bound computed before anything changes: a replaced node costs one
//! WRAP_KEY per child holding members (per existing child when a compaction may move
//! members into vacant leaves), a node whose key the plan announces (growth) likewise.
//! Members only leave during the change, so the plan built afterwards never has more.

use std::collections::HashSet;

use super::error::LkhError;
use super::storage::Pos;
use super::tree::{LeafId, LkhTree};

/// Nodes above level 0 that a plan replaces, per level, and an upper bound on the
/// WRAP_KEYs they cost.
pub(super) struct Affected {
    levels: Vec<HashSet<u32>>,
    /// Upper bound on the WRAP_KEYs of the plan so far.
    pub(super) wraps: usize,
}

impl Affected {
    /// Nothing affected yet, in a tree of `depth` levels.
    pub(super) fn new(depth: usize) -> Self {
        Affected {
            levels: vec![HashSet::new(); depth],
            wraps: 0,
        }
    }

    fn contains(&self, pos: Pos) -> bool {
        self.levels
            .get(usize::from(pos.level))
            .is_some_and(|s| s.contains(&pos.idx))
    }

    fn insert(&mut self, pos: Pos) {
        if let Some(s) = self.levels.get_mut(usize::from(pos.level)) {
            s.insert(pos.idx);
        }
    }

    /// The affected positions per level, each level sorted.
    pub(super) fn into_sorted(self) -> Vec<Vec<u32>> {
        self.levels
            .into_iter()
            .map(|s| {
                let mut v: Vec<u32> = s.into_iter().collect();
                v.sort_unstable();
                v
            })
            .collect()
    }
}

impl LkhTree {
    /// WRAP_KEYs a new key at `pos` costs: one per child holding members, or per existing
    /// child when `any_child` (a compaction moves members into vacant leaves).
    pub(super) fn wrap_cost(&self, pos: Pos, any_child: bool) -> usize {
        self.children(pos)
            .filter(|&c| any_child || self.members_at(c) > 0)
            .count()
    }

    /// Whether a node exists at `pos`.
    fn exists(&self, pos: Pos) -> bool {
        self.level(pos.level)
            .is_some_and(|l| (pos.idx as usize) < l.len())
    }

    /// The existing nodes above leaf position `idx` that `a` does not hold yet, lowest
    /// first, and what replacing them costs. Paths are added whole, so the walk stops at
    /// the first node already held.
    fn new_ancestors(&self, a: &Affected, idx: u32, any_child: bool) -> (Vec<Pos>, usize) {
        let mut nodes = Vec::new();
        let mut cost = 0;
        for pos in self.ancestors(idx) {
            if !self.exists(pos) {
                continue;
            }
            if a.contains(pos) {
                break;
            }
            cost += self.wrap_cost(pos, any_child);
            nodes.push(pos);
        }
        (nodes, cost)
    }

    /// Adds the path above leaf position `idx` to `a`, whatever it costs.
    pub(super) fn affect_path(&self, a: &mut Affected, idx: u32, any_child: bool) {
        let (nodes, cost) = self.new_ancestors(a, idx, any_child);
        for pos in nodes {
            a.insert(pos);
        }
        a.wraps += cost;
    }

    /// Chooses the departed leaves whose paths this plan refreshes: in order of position
    /// (neighbours share most of their paths), as long as `a` stays within `max_wrap_keys`.
    /// With `force_one`, the first is taken whatever it costs, so a change made only for
    /// them always makes progress. Returns the chosen positions and the ones left for a
    /// later plan (sorted, without duplicates).
    pub(super) fn choose_departed(
        &self,
        a: &mut Affected,
        max_wrap_keys: usize,
        force_one: bool,
    ) -> (Vec<u32>, Vec<u32>) {
        let mut order = self.departed.clone();
        order.sort_unstable();
        order.dedup();
        let mut taken = 0;
        for &idx in &order {
            let (nodes, cost) = self.new_ancestors(a, idx, false);
            let first = force_one && taken == 0;
            if !first && a.wraps.saturating_add(cost) > max_wrap_keys {
                break;
            }
            for pos in nodes {
                a.insert(pos);
            }
            a.wraps += cost;
            taken += 1;
        }
        let left = order.split_off(taken);
        (order, left)
    }

    /// Cuts a batch exclusion into KEK changes of their own (docs/decisions.md K9, K32):
    /// consecutive runs of `leaves`, in the order given, of at most `max_members` each,
    /// and, while a run holds more than one leaf, within `max_wrap_keys` WRAP_KEYs by the
    /// upper bound every plan uses (the first run also pays for the nodes the tree grew
    /// since the last plan). A single leaf whose path alone exceeds the limit is a run of
    /// its own: its KEK change then fails cleanly when built (K15, K20). Returns the run
    /// lengths; they add up to `leaves.len()`.
    ///
    /// The bound is taken on the tree as it is now. Each run's KEK change only removes
    /// members, which never adds WRAP_KEYs to the later runs, so the later plans stay
    /// within it too; a compaction that would not fit is skipped by the plan itself.
    pub fn exclusion_chunks(
        &self,
        leaves: &[LeafId],
        max_members: usize,
        max_wrap_keys: usize,
    ) -> Result<Vec<usize>, LkhError> {
        let max_members = max_members.max(1);
        let pending: usize = self
            .pending
            .iter()
            .filter_map(|&id| self.index.get(id))
            .map(|pos| self.wrap_cost(pos, false))
            .sum();
        let mut runs = Vec::new();
        let mut run = Affected::new(self.levels.len());
        run.wraps = pending;
        let mut len = 0;
        for &leaf in leaves {
            let idx = self.occupied_leaf(leaf)?;
            let (nodes, cost) = self.new_ancestors(&run, idx, false);
            let full = len == max_members || (len > 0 && run.wraps + cost > max_wrap_keys);
            let (nodes, cost) = if full {
                runs.push(len);
                len = 0;
                run = Affected::new(self.levels.len());
                self.new_ancestors(&run, idx, false)
            } else {
                (nodes, cost)
            };
            for pos in nodes {
                run.insert(pos);
            }
            run.wraps += cost;
            len += 1;
        }
        if len > 0 {
            runs.push(len);
        }
        Ok(runs)
    }

    /// Members that left without a rekey whose paths are still to be refreshed
    /// ([`LkhTree::free_leaf`]); the next plans replace them (RFC 9838 §3.2.1).
    pub fn departed_count(&self) -> usize {
        self.departed.len()
    }
}
