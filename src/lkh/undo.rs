//! Undoing an exclusion, or a join with backward access control, whose GSA_REKEY could
//! not be built (RFC 9838 §2.4.1, Appendix A.4): the key server's tree goes back to the
//! keys the members hold.
//!
//! An exclusion changes few nodes: the excluded (and, when compacting, moved) leaves, the
//! nodes above them and above the departed leaves it refreshes. [`ExclusionUndo`] keeps
//! their before-images, the levels and tails a compaction cut off, and the small lists
//! (free leaves, departed leaves, pending nodes), so recording costs about one key copy
//! per changed node and undoing touches nothing else. The Key IDs the exclusion allocated stay used: a Key ID names one key for
//! ever (Q18), also one that was never sent.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use zeroize::Zeroizing;

use super::storage::{Level, Pos};
use super::tree::LkhTree;
use super::{KeyId, LkhError};

/// The free leaves before the exclusion.
pub(super) enum HolesBefore {
    /// The exclusion added these leaves (sorted) to the free list: take them out again.
    Without(Vec<u32>),
    /// A compaction emptied the list: the list as it was.
    All(BinaryHeap<Reverse<u32>>),
}

/// What one exclusion ([`LkhTree::exclude_undoable`]) or join with backward access
/// control ([`LkhTree::join_undoable`]) changed in the key tree, so that
/// [`LkhTree::undo_exclusion`] can put it back when the GSA_REKEY carrying its plan cannot
/// be built. Holds copies of the keys it replaced, wiped on drop; it never leaves the key
/// server.
pub struct ExclusionUndo {
    /// Position, Key ID and member count of every node the exclusion changed.
    nodes: Vec<(Pos, KeyId, u32)>,
    /// Their keys, `key_len` octets each, in the same order.
    keys: Zeroizing<Vec<u8>>,
    member_count: u32,
    cursor: u32,
    pub(super) holes: HolesBefore,
    pub(super) departed: Vec<u32>,
    pub(super) pending: Vec<KeyId>,
    /// Levels a compaction removed, topmost first.
    pub(super) removed_levels: Vec<Level>,
    /// Nodes a compaction cut off the end of a level: (level, nodes).
    pub(super) tails: Vec<(usize, Level)>,
    /// The Key IDs the exclusion allocated: `from..to`.
    new_ids: (u64, u64),
    /// A join's newcomer (leaf position), whose leaf the undo vacates again.
    pub(super) joined: Option<u32>,
    /// The tree's change count right after the exclusion.
    changes: u64,
}

impl fmt::Debug for ExclusionUndo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExclusionUndo")
            .field("nodes", &self.nodes.len())
            .field("removed_levels", &self.removed_levels.len())
            .field("tails", &self.tails.len())
            .field("new_ids", &self.new_ids)
            .field("joined", &self.joined)
            .finish_non_exhaustive()
    }
}

impl ExclusionUndo {
    /// Before-images of `touched` and of the tree's counters, taken just before an
    /// exclusion changes anything.
    pub(super) fn record(tree: &LkhTree, touched: Vec<Pos>) -> Self {
        let key_len = tree.key_len;
        // Sized up front: a reallocation would leave key copies in freed memory.
        let mut keys = Zeroizing::new(Vec::with_capacity(touched.len() * key_len));
        let mut nodes = Vec::with_capacity(touched.len());
        for pos in touched {
            let key = tree.key_at(pos);
            if key.len() == key_len {
                keys.extend_from_slice(key);
            } else {
                let len = keys.len();
                keys.resize(len + key_len, 0);
            }
            nodes.push((pos, tree.id_at(pos), tree.members_at(pos)));
        }
        ExclusionUndo {
            nodes,
            keys,
            member_count: tree.member_count,
            cursor: tree.cursor,
            holes: HolesBefore::Without(Vec::new()),
            departed: Vec::new(),
            pending: Vec::new(),
            removed_levels: Vec::new(),
            tails: Vec::new(),
            new_ids: (tree.next_id, tree.next_id),
            joined: None,
            changes: tree.changes,
        }
    }

    /// Notes the state right after the exclusion.
    pub(super) fn seal(&mut self, tree: &LkhTree) {
        self.new_ids.1 = tree.next_id;
        self.changes = tree.changes;
    }
}

impl LkhTree {
    /// Undoes the exclusion that returned `undo`, which must be the tree's last membership
    /// change (otherwise [`LkhError::StaleUndo`] and nothing changes). Afterwards the tree
    /// holds the same members, Key IDs, keys and shape as before the exclusion, and the
    /// next plan covers what that one would have (departed paths, pending nodes). The Key
    /// IDs the exclusion allocated are not reused (Q18); nobody saw them, so they are
    /// simply skipped.
    ///
    /// For a join ([`LkhTree::join_undoable`]) every member's path, keys and Key IDs are as
    /// before and the newcomer's leaf is free again; nodes the join added stay, without
    /// members (their keys are announced by the next plan, as after any growth).
    ///
    /// For a key server whose GSA_REKEY for the plan could not be built or signed (RFC
    /// 9838 §2.4.1): without the undo, the remaining members would never learn the keys
    /// that replaced theirs.
    pub fn undo_exclusion(&mut self, undo: ExclusionUndo) -> Result<(), LkhError> {
        if undo.changes != self.changes {
            return Err(LkhError::StaleUndo);
        }
        let ExclusionUndo {
            nodes,
            keys,
            member_count,
            cursor,
            holes,
            departed,
            pending,
            removed_levels,
            tails,
            new_ids,
            joined,
            changes: _,
        } = undo;

        // The shape first: cut tails and removed levels come back as they were cut (their
        // changed nodes are among the before-images).
        let mut positions: Vec<Pos> = nodes.iter().map(|&(pos, _, _)| pos).collect();
        for (i, tail) in &tails {
            if let Some(level) = self.levels.get_mut(*i) {
                let start = level.len() as u32;
                level.append(tail);
                positions.extend((0..tail.len() as u32).map(|k| Pos {
                    level: *i as u8,
                    idx: start + k,
                }));
            }
        }
        for level in removed_levels.into_iter().rev() {
            let at = self.levels.len() as u8;
            positions.extend((0..level.len() as u32).map(|idx| Pos { level: at, idx }));
            self.levels.push(level);
        }
        // Then every changed node.
        for (&(pos, id, members), key) in nodes.iter().zip(keys.chunks_exact(self.key_len)) {
            if let Some(level) = self.levels.get_mut(usize::from(pos.level)) {
                let i = pos.idx as usize;
                if let Some(slot) = level.ids.get_mut(i) {
                    *slot = id;
                }
                if let Some(slot) = level.members.get_mut(i) {
                    *slot = members;
                }
                level.keys.set(i, key);
            }
        }
        // The index: the new IDs leave, the old ones are where they were.
        let mut retired = 0;
        for id in new_ids.0..new_ids.1 {
            if let Ok(id) = KeyId::try_from(id) {
                retired += usize::from(self.index.retire(id));
            }
        }
        self.cache.note_retired(retired);
        let live: Vec<(KeyId, Pos)> = positions
            .into_iter()
            .map(|pos| (self.id_at(pos), pos))
            .filter(|&(id, _)| id != 0)
            .collect();
        self.index.restore(&live);

        self.member_count = member_count;
        self.cursor = cursor;
        self.departed = departed;
        self.pending = pending;
        self.holes = match holes {
            HolesBefore::All(h) => h,
            HolesBefore::Without(added) => {
                let mut v = std::mem::take(&mut self.holes).into_vec();
                v.retain(|r| added.binary_search(&r.0).is_err());
                BinaryHeap::from(v)
            }
        };
        if let Some(idx) = joined {
            // The newcomer never received anything: its leaf is simply free again.
            self.clear_leaf(idx);
            self.add_members(idx, -1);
            self.member_count = self.member_count.saturating_sub(1);
            self.holes.push(Reverse(idx));
        }
        self.changes += 1;
        log::debug!(
            "LKH exclusion undone: {} nodes restored, {} Key IDs skipped",
            nodes.len(),
            new_ids.1.saturating_sub(new_ids.0)
        );
        Ok(())
    }
}
