//! Membership changes of the key server's tree: join (with or without backward access
//! control), exclusion of one or many members (forward access control, RFC 9838 §2.4.1,
//! §3.2.1, Appendix A.4), and leaving without a rekey.
//!
//! Every operation checks its inputs, the Key ID budget and draws its random keys before
//! it changes anything, so a failed call leaves the tree as it was.

use std::cmp::Reverse;

use super::budget::Affected;
use super::plan::RekeyPlan;
use super::storage::{Level, Pos};
use super::tree::{ceil_div, ceil_log, level_lengths, LeafId, LkhTree, MAX_MEMBERS};
use super::undo::{ExclusionUndo, HolesBefore};
use super::LkhError;

/// Where a joining member goes.
#[derive(Clone, Copy)]
enum Slot {
    /// A vacant leaf freed earlier (no Key ID, no key).
    Vacant(u32),
    /// A pre-built leaf never used (it has a Key ID and a fresh key).
    Prebuilt(u32),
    /// A new leaf at the end of level 0; the tree grows.
    Append,
}

impl LkhTree {
    /// Adds a member in the leftmost free leaf (all leaves are at the same depth, so every
    /// free leaf is a shallowest one; freed leaves are reused before new ones are added).
    ///
    /// When no leaf is free the tree grows: a new leaf is appended, with new nodes above
    /// it where needed, and when the top level is full (`d` nodes) a new top node is put
    /// above the old top nodes first. Existing members learn that node's key in the next
    /// rekey plan (the "pending" wraps), so a join without backward access control never
    /// needs a rekey message of its own.
    ///
    /// With `backward_access_control`, every node key on the new member's path is replaced
    /// (fresh keys, fresh Key IDs) and the returned plan gives the new keys, and a new Rekey
    /// SA keying material, to the existing members. Send it (GSA_REKEY) before the
    /// registration response: the newcomer then holds no key any earlier rekey message was
    /// wrapped under (backward access control, RFC 9838 §3.2). The same plan refreshes the
    /// paths of members that left with [`LkhTree::free_leaf`]: they still hold the keys
    /// above their old leaves, some of which the plan wraps the new Rekey SA keying
    /// material under (forward access control, §3.2.1). The plan is `None` when no other
    /// member needs anything.
    pub fn join(
        &mut self,
        backward_access_control: bool,
    ) -> Result<(LeafId, Option<RekeyPlan>), LkhError> {
        let (leaf, plan) = self.join_undoable(backward_access_control, usize::MAX)?;
        Ok((leaf, plan.map(|(plan, _)| plan)))
    }

    /// [`LkhTree::join`] for a key server whose GSA_REKEY carrying the backward access
    /// control plan may still fail (RFC 9838 §2.4.1), with that plan limited to one KD
    /// payload (§4.5, docs/decisions.md L10, L11).
    ///
    /// The newcomer's path always goes in; departed paths are refreshed, leftmost first,
    /// while the plan stays within `max_wrap_keys` WRAP_KEYs, and the others stay for the
    /// next plan ([`LkhTree::departed_count`]): the caller refreshes them in KEK changes of
    /// their own before any new Data-Security SA. With the plan comes an
    /// [`ExclusionUndo`]: [`LkhTree::undo_exclusion`] puts back every key the plan
    /// replaced and the lists it took, and vacates the newcomer's leaf (the tree keeps any
    /// node the join added, unused), so the members still hold every key of their paths.
    pub fn join_undoable(
        &mut self,
        backward_access_control: bool,
        max_wrap_keys: usize,
    ) -> Result<(LeafId, Option<(RekeyPlan, ExclusionUndo)>), LkhError> {
        if self.member_count >= MAX_MEMBERS {
            return Err(LkhError::TooManyMembers { max: MAX_MEMBERS });
        }
        let d = u64::from(self.degree);
        let leaf_len = self.levels.first().map_or(0, Level::len) as u64;
        let slot = match self.holes.peek() {
            Some(Reverse(p)) => Slot::Vacant(*p),
            None if u64::from(self.cursor) < leaf_len => Slot::Prebuilt(self.cursor),
            None => Slot::Append,
        };
        let h = self.levels.len();

        // What growth does, before any change: a new top level, and the levels that get a
        // new node (bottom-up flags).
        let (grow, append_at) = match slot {
            Slot::Append => {
                let n = leaf_len + 1;
                let grow = h > 0 && ceil_div(n, d.saturating_pow(h as u32 - 1)) > d;
                let h2 = h + usize::from(grow);
                let mut append_at = Vec::with_capacity(h2.max(1));
                for level in 0..h2.max(1) {
                    let have = match self.levels.get(level) {
                        Some(l) => l.len() as u64,
                        None if grow => 1, // the new top node
                        None => 0,         // the first leaf of an empty tree
                    };
                    append_at.push(ceil_div(n, d.saturating_pow(level as u32)) > have);
                }
                (grow, append_at)
            }
            _ => (false, Vec::new()),
        };
        let fresh_nodes = usize::from(grow)
            + append_at.iter().filter(|&&a| a).count()
            + usize::from(matches!(slot, Slot::Vacant(_)));
        let idx = match slot {
            Slot::Vacant(p) | Slot::Prebuilt(p) => p,
            Slot::Append => leaf_len as u32,
        };
        // Backward access control replaces the newcomer's ancestors that exist before this
        // call (the appended ones are new) and the paths of as many departed members as
        // fit; the plan also announces the nodes growth added, the new top node included.
        let (replaced, departed_left) = if backward_access_control {
            let top_cost = self
                .levels
                .last()
                .map_or(0, |l| l.members.iter().filter(|&&m| m > 0).count());
            let pending_cost: usize = self
                .pending
                .iter()
                .filter_map(|&id| self.index.get(id))
                .map(|pos| self.wrap_cost(pos, false))
                .sum::<usize>()
                + if grow { top_cost } else { 0 };
            let mut chosen = Affected::new(h);
            chosen.wraps = pending_cost;
            self.affect_path(&mut chosen, idx, false);
            let (_, left) = self.choose_departed(&mut chosen, max_wrap_keys, false);
            let mut replaced = Vec::new();
            for (level, idxs) in chosen.into_sorted().into_iter().enumerate().rev() {
                replaced.extend(idxs.into_iter().map(|idx| Pos {
                    level: level as u8,
                    idx,
                }));
            }
            (replaced, Some(left))
        } else {
            (Vec::new(), None)
        };
        self.check_ids(fresh_nodes + replaced.len())?;
        let keys = self.random_keys(fresh_nodes + replaced.len())?;
        let (fresh_keys, replace_keys) = keys.split_at(fresh_nodes * self.key_len);
        let mut fresh_keys = fresh_keys.chunks_exact(self.key_len);
        let mut next_key = || fresh_keys.next().unwrap_or(&[]);

        // ----- from here on nothing fails -----
        let key_len = self.key_len;
        if grow {
            let members = self.member_count;
            let id = self.alloc_id();
            let mut top = Level::empty(key_len);
            top.push(id, members, next_key());
            let level = self.levels.len() as u8;
            self.levels.push(top);
            self.index.push(id, Pos { level, idx: 0 });
            self.pending.push(id);
        }
        if self.levels.is_empty() {
            self.levels.push(Level::empty(key_len));
        }
        for level in (0..append_at.len()).rev() {
            if !append_at.get(level).copied().unwrap_or(false) {
                continue;
            }
            let id = self.alloc_id();
            let key = next_key();
            if let Some(l) = self.levels.get_mut(level) {
                let idx = l.len() as u32;
                l.push(id, 0, key);
                self.index.push(
                    id,
                    Pos {
                        level: level as u8,
                        idx,
                    },
                );
            }
        }
        match slot {
            Slot::Vacant(p) => {
                self.holes.pop();
                self.replace_node(Pos { level: 0, idx: p }, next_key());
            }
            Slot::Prebuilt(_) | Slot::Append => self.cursor = idx + 1,
        }
        let leaf = LeafId(self.id_at(Pos { level: 0, idx }));
        self.add_members(idx, 1);
        self.member_count += 1;

        let mut planned = match departed_left {
            Some(left) => {
                // The plan is for the members already there: the newcomer's leaf counts for
                // no KWK and no SA_KEY.
                let mut undo = ExclusionUndo::record(self, replaced.clone());
                undo.joined = Some(idx);
                for (pos, key) in replaced.iter().zip(replace_keys.chunks_exact(key_len)) {
                    self.replace_node(*pos, key);
                }
                let pending = std::mem::take(&mut self.pending);
                let plan = self.build_plan(&replaced, &pending, Some(idx));
                undo.pending = pending;
                undo.departed = std::mem::replace(&mut self.departed, left);
                self.cache.maybe_sweep(&self.index);
                Some((plan, undo))
            }
            None => None,
        };
        self.changes += 1;
        if let Some((_, undo)) = planned.as_mut() {
            undo.seal(self);
        }
        log::debug!(
            "LKH join: leaf {} at depth {}, {} members, rekey plan: {} ({} departed left)",
            leaf.0,
            self.levels.len(),
            self.member_count,
            planned.as_ref().map_or(0, |(p, _)| p.wrap_count()),
            self.departed.len()
        );
        Ok((leaf, planned.filter(|(plan, _)| !plan.is_empty())))
    }

    /// Excludes `leaves` (one member or a batch) in one rekey (RFC 9838 §2.4.1, Appendix
    /// A.4) and returns the plan of the GSA_REKEY that tells the remaining members.
    ///
    /// Every node on the path of an excluded member gets a new key and a fresh Key ID, and
    /// the new key is wrapped under the current key of each child that still has members
    /// (the child's new key when it was replaced too). Nothing is wrapped under GSK_w (KWK ID
    /// 0) or under any key an excluded member holds. The new Rekey SA keying material is
    /// wrapped under every top-level node that has members. Excluding F from the tree of
    /// Appendix A.2 gives exactly SA_KEY(0,1), SA_KEY(0,15), WRAP_KEY(15,6),
    /// WRAP_KEY(15,16), WRAP_KEY(16,11).
    ///
    /// The same plan also refreshes the paths of members that left with
    /// [`LkhTree::free_leaf`] and hands out the keys of nodes added by growth.
    ///
    /// When the remaining members would fit in a tree two levels shallower (depth >
    /// `ceil(log_d(members)) + 1`), the tree is compacted in the same rekey: the rightmost
    /// members move into the leftmost free leaves (keeping their leaf keys and
    /// [`LeafId`]s), the nodes above their old and new positions get new keys, and empty
    /// levels and subtrees are removed. This holds for every plan, also one with no
    /// excluded member (the refresh of departed paths), so members that leave shrink the
    /// tree too. Depth therefore stays within one level of the minimum, except while a
    /// compaction is too large for the limit of [`LkhTree::exclude_undoable_within`]
    /// (docs/decisions.md L2).
    ///
    /// The GSA_REKEY carrying the plan must change only the Rekey SA; new Data-Security SA
    /// keys go in a later rekey under the new Rekey SA (forward access control, RFC 9838
    /// §3.2.1). Duplicates in `leaves` are ignored. An empty `leaves` still refreshes
    /// departed paths and returns SA_KEYs for a new Rekey SA keying material.
    ///
    /// A failed call changes nothing. When the GSA_REKEY that carries the plan may still
    /// fail, use [`LkhTree::exclude_undoable`].
    pub fn exclude(&mut self, leaves: &[LeafId]) -> Result<RekeyPlan, LkhError> {
        self.exclude_undoable(leaves).map(|(plan, _)| plan)
    }

    /// [`LkhTree::exclude`], also returning what it changed: if the GSA_REKEY carrying the
    /// plan cannot be built, [`LkhTree::undo_exclusion`] puts the tree back as it was, so
    /// the members, who never saw the plan, still hold every key of their paths (RFC 9838
    /// §2.4.1: a member follows only the rekeys it receives). Drop the record once the
    /// message is out; it holds copies of the replaced keys and wipes them.
    pub fn exclude_undoable(
        &mut self,
        leaves: &[LeafId],
    ) -> Result<(RekeyPlan, ExclusionUndo), LkhError> {
        self.exclude_undoable_within(leaves, usize::MAX)
    }

    /// [`LkhTree::exclude_undoable`] for a plan that must fit one KD payload (RFC 9838
    /// §4.5): the plan carries at most `max_wrap_keys` WRAP_KEYs, unless the excluded
    /// members' paths alone need more (docs/decisions.md L10).
    ///
    /// The excluded members' paths always go in. Paths of members that left without a
    /// rekey ([`LkhTree::free_leaf`]) are refreshed, leftmost first, as far as the limit
    /// allows; the others stay for the next plan ([`LkhTree::departed_count`]), so the
    /// caller sends further KEK changes before any new Data-Security SA (§3.2.1). With no
    /// excluded member at least one departed path is refreshed, so repeated calls finish.
    /// A compaction that would not fit is left for a later plan.
    pub fn exclude_undoable_within(
        &mut self,
        leaves: &[LeafId],
        max_wrap_keys: usize,
    ) -> Result<(RekeyPlan, ExclusionUndo), LkhError> {
        let mut excluded = Vec::with_capacity(leaves.len());
        for &leaf in leaves {
            excluded.push(self.occupied_leaf(leaf)?);
        }
        excluded.sort_unstable();
        excluded.dedup();
        let d = u64::from(self.degree);
        let h = self.levels.len();
        let remaining = self.member_count - excluded.len() as u32;
        let mut compact = h > 0 && (remaining == 0 || h > ceil_log(u64::from(remaining), d) + 1);

        // Moves that make the occupied leaves exactly 0..remaining.
        let mut moves: Vec<(u32, u32)> = Vec::new();
        if compact {
            let leaf_members = self
                .levels
                .first()
                .map(|l| l.members.as_slice())
                .unwrap_or(&[]);
            let is_excluded = |i: u32| excluded.binary_search(&i).is_ok();
            let holes = (0..remaining).filter(|&i| {
                leaf_members.get(i as usize).copied().unwrap_or(0) == 0 || is_excluded(i)
            });
            let sources = (remaining..leaf_members.len() as u32).filter(|&i| {
                leaf_members.get(i as usize).copied().unwrap_or(0) == 1 && !is_excluded(i)
            });
            moves = sources.zip(holes).collect();
        }

        // Nodes whose keys an excluded, moved or departed member knows: the ancestors of
        // every leaf concerned. Excluded and moved leaves first (a compaction that does
        // not fit the limit is dropped), then as many departed leaves as fit.
        let pending_cost = |any_child: bool| -> usize {
            self.pending
                .iter()
                .filter_map(|&id| self.index.get(id))
                .map(|pos| self.wrap_cost(pos, any_child))
                .sum()
        };
        let mut chosen = self.affected_by(&excluded, &moves, compact, pending_cost(compact));
        if compact && chosen.wraps > max_wrap_keys {
            compact = false;
            moves.clear();
            chosen = self.affected_by(&excluded, &moves, false, pending_cost(false));
        }
        let (departed, departed_left) =
            self.choose_departed(&mut chosen, max_wrap_keys, excluded.is_empty());
        let affected = chosen.into_sorted();

        // The shape after this rekey.
        let new_lens: Vec<u64> = if compact {
            level_lengths(u64::from(remaining), d)
        } else {
            self.levels.iter().map(|l| l.len() as u64).collect()
        };
        let survives = |pos: Pos| {
            new_lens
                .get(usize::from(pos.level))
                .is_some_and(|&n| u64::from(pos.idx) < n)
        };
        let mut replaced: Vec<Pos> = Vec::new();
        for (level, idxs) in affected.iter().enumerate().rev() {
            for &idx in idxs {
                let pos = Pos {
                    level: level as u8,
                    idx,
                };
                if level > 0 && survives(pos) {
                    replaced.push(pos);
                }
            }
        }
        self.check_ids(replaced.len())?;
        let keys = self.random_keys(replaced.len())?;

        // ----- from here on nothing fails -----
        // Before-images of every node whose Key ID, member count or key changes: the
        // excluded and moved leaves, and every node above them (the affected ones).
        let touched: Vec<Pos> = excluded
            .iter()
            .chain(moves.iter().flat_map(|(s, t)| [s, t]))
            .map(|&idx| Pos { level: 0, idx })
            .chain(affected.iter().enumerate().flat_map(|(level, idxs)| {
                idxs.iter().map(move |&idx| Pos {
                    level: level as u8,
                    idx,
                })
            }))
            .collect();
        let mut undo = ExclusionUndo::record(self, touched);
        for &idx in &excluded {
            self.clear_leaf(idx);
            self.add_members(idx, -1);
        }
        self.member_count = remaining;
        for &(src, dst) in &moves {
            self.move_leaf(src, dst);
        }
        if compact {
            let (removed, tails) = self.shrink_to(&new_lens);
            undo.removed_levels = removed;
            undo.tails = tails;
            undo.holes = HolesBefore::All(std::mem::take(&mut self.holes));
            self.cursor = remaining;
        } else {
            self.holes.extend(excluded.iter().map(|&i| Reverse(i)));
            undo.holes = HolesBefore::Without(excluded.clone());
        }
        undo.departed = std::mem::replace(&mut self.departed, departed_left);
        for (pos, key) in replaced.iter().zip(keys.chunks_exact(self.key_len)) {
            self.replace_node(*pos, key);
        }
        let pending = std::mem::take(&mut self.pending);
        let plan = self.build_plan(&replaced, &pending, None);
        undo.pending = pending;
        self.cache.maybe_sweep(&self.index);
        self.changes += 1;
        undo.seal(self);
        log::debug!(
            "LKH exclude: {} leaves, {} departed refreshed ({} left), {} moved, {} keys \
             replaced, {} wraps; {} members, depth {}",
            excluded.len(),
            departed.len(),
            self.departed.len(),
            moves.len(),
            replaced.len(),
            plan.wrap_count(),
            self.member_count,
            self.levels.len()
        );
        Ok((plan, undo))
    }

    /// The nodes above the `excluded` and moved leaves, with an upper bound on the
    /// WRAP_KEYs of a plan replacing them plus `extra` (the nodes it announces).
    fn affected_by(
        &self,
        excluded: &[u32],
        moves: &[(u32, u32)],
        compact: bool,
        extra: usize,
    ) -> Affected {
        let mut a = Affected::new(self.levels.len());
        a.wraps = extra;
        let leaves = excluded
            .iter()
            .copied()
            .chain(moves.iter().flat_map(|&(s, t)| [s, t]));
        for leaf in leaves {
            self.affect_path(&mut a, leaf, compact);
        }
        a
    }

    /// Frees a member's leaf *without* a rekey (for example a member that left, RFC 9838
    /// §2.3.2, when the group does not enforce forward access control at once).
    ///
    /// The departed member still holds the keys on its old path, and therefore can read
    /// every rekey until a plan replaces those keys too: the next [`LkhTree::exclude`],
    /// join with backward access control or refresh (`exclude(&[])`). A limited plan
    /// ([`LkhTree::exclude_undoable_within`]) may leave it to a later one, so the key
    /// server sends plans until [`LkhTree::departed_count`] is 0 before new Data-Security
    /// SAs (RFC 9838 §3.2.1). The leaf is reused by the next join.
    pub fn free_leaf(&mut self, leaf: LeafId) -> Result<(), LkhError> {
        let idx = self.occupied_leaf(leaf)?;
        self.clear_leaf(idx);
        self.add_members(idx, -1);
        self.member_count -= 1;
        self.changes += 1;
        self.holes.push(Reverse(idx));
        self.departed.push(idx);
        self.cache.maybe_sweep(&self.index);
        Ok(())
    }

    /// Moves the member at leaf `src` to the vacant leaf `dst`, with its key and Key ID.
    fn move_leaf(&mut self, src: u32, dst: u32) {
        let Some(leaves) = self.levels.first_mut() else {
            return;
        };
        let id = leaves.ids.get(src as usize).copied().unwrap_or(0);
        let key = zeroize::Zeroizing::new(leaves.keys.get(src as usize).to_vec());
        if let Some(slot) = leaves.ids.get_mut(dst as usize) {
            *slot = id;
        }
        leaves.keys.set(dst as usize, &key);
        if let Some(slot) = leaves.ids.get_mut(src as usize) {
            *slot = 0;
        }
        leaves.keys.clear(src as usize);
        self.index.relocate(id, Pos { level: 0, idx: dst });
        self.add_members(src, -1);
        self.add_members(dst, 1);
    }

    /// Cuts every level to `lens` (bottom-up) and removes the levels above; the IDs of the
    /// removed nodes are retired. Returns the removed levels (topmost first) and the cut
    /// tails (level, nodes), for [`LkhTree::undo_exclusion`].
    #[allow(clippy::type_complexity)]
    fn shrink_to(&mut self, lens: &[u64]) -> (Vec<Level>, Vec<(usize, Level)>) {
        let mut removed = Vec::new();
        while self.levels.len() > lens.len() {
            if let Some(level) = self.levels.pop() {
                let n = level.ids.iter().filter(|&&id| id != 0).count();
                for &id in level.ids.iter().filter(|&&id| id != 0) {
                    self.index.retire(id);
                }
                self.cache.note_retired(n);
                removed.push(level);
            }
        }
        let mut tails = Vec::new();
        for (i, (level, &len)) in self.levels.iter_mut().zip(lens).enumerate() {
            let len = len as usize;
            if len >= level.len() {
                continue;
            }
            let tail = level.split_off(len);
            let n = tail.ids.iter().filter(|&&id| id != 0).count();
            for &id in tail.ids.iter().filter(|&&id| id != 0) {
                self.index.retire(id);
            }
            self.cache.note_retired(n);
            tails.push((i, tail));
        }
        (removed, tails)
    }
}
