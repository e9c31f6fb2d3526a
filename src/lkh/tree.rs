//! The key server's LKH tree (RFC 9838 §3.3, Appendix A.2): its shape, its storage and
//! the read-only queries. Membership changes are in `membership.rs`, registration
//! downloads in `registration.rs`, rekey plans in `plan.rs`.
//!
//! # Shape
//!
//! The tree is a *left-complete* d-ary tree whose leaves are all at the same depth: level 0
//! holds the leaves, node `i` of a level has parent `i / d` one level up, and each level has
//! `ceil(leaves / d^level)` nodes, up to a top level of at most `d` nodes. The root is the
//! Rekey SA keying material; it is not stored (the caller passes it in) and has no Key ID
//! (Key ID 0 means SA keying material, RFC 9838 §4.5.4). With d = 2 and 8 leaves this is
//! exactly the tree of Appendix A.2 (top nodes 1, 2; then 3-6; leaves 7-14).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use zeroize::Zeroizing;

use super::registration::RegistrationCache;
use super::storage::{IdIndex, KeyArena, Level, Pos};
use super::{KeyId, LkhError};
use crate::crypto::rand::fill_random;
use crate::crypto::Key;

/// Smallest supported degree (children per node) of the key tree (RFC 9838 Appendix A).
pub const MIN_DEGREE: usize = 2;
/// Largest supported degree (children per node) of the key tree (RFC 9838 Appendix A).
pub const MAX_DEGREE: usize = 8;
/// Largest number of members (and of pre-built leaves) a tree holds: 2^28 (the leaves of
/// RFC 9838 Appendix A.2).
pub const MAX_MEMBERS: u32 = 1 << 28;

/// A member's leaf, named by the leaf's Key ID (in Appendix A.2, member A is leaf 7).
///
/// The leaf key never changes while the member stays, so this handle stays valid for the
/// member's whole membership, also when compaction moves the leaf to another position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeafId(pub(super) KeyId);

impl LeafId {
    /// The Key ID of the leaf (its WRAP_KEY Key ID, RFC 9838 §4.5.4).
    pub fn key_id(self) -> KeyId {
        self.0
    }

    /// The handle for a leaf Key ID obtained earlier from [`LeafId::key_id`] (for a caller
    /// that stores it as a number; RFC 9838 §4.5.4 Key IDs are 32 bits). Every operation
    /// checks it: an ID that is not a member's leaf gives [`LkhError::UnknownLeaf`] or
    /// [`LkhError::LeafNotOccupied`].
    pub fn from_key_id(id: KeyId) -> Self {
        LeafId(id)
    }
}

/// The key server's Logical Key Hierarchy for one group (RFC 9838 §3.3, Appendix A).
///
/// Each node below the root holds a random key of `key_len` octets (the KWK length of the
/// Rekey SA's key wrap algorithm) and a non-zero 32-bit Key ID; the leaves are the members'
/// private keys. See the module documentation of [`super`] for the policies (Key IDs,
/// growth, compaction, order of wraps, memory layout).
pub struct LkhTree {
    pub(super) degree: u32,
    pub(super) key_len: usize,
    /// Bottom-up: `levels[0]` are the leaves, the last level the top nodes.
    pub(super) levels: Vec<Level>,
    pub(super) index: IdIndex,
    /// The next Key ID to allocate (`u32::MAX + 1` once exhausted).
    pub(super) next_id: u64,
    pub(super) member_count: u32,
    /// Leaves at `cursor..` were pre-built and never used; they hold a Key ID and a key.
    pub(super) cursor: u32,
    /// Vacant leaves below `cursor` (they hold no Key ID), smallest first.
    pub(super) holes: BinaryHeap<Reverse<u32>>,
    /// Leaves freed without a rekey ([`LkhTree::free_leaf`]); the next exclusion refreshes
    /// their paths.
    pub(super) departed: Vec<u32>,
    /// Nodes added above existing members by growth; the next plan hands their keys to
    /// the members below.
    pub(super) pending: Vec<KeyId>,
    pub(super) cache: RegistrationCache,
    /// Membership changes so far (join, exclude, free, undo), so an
    /// [`super::ExclusionUndo`] is applied only right after its exclusion.
    pub(super) changes: u64,
}

impl fmt::Debug for LkhTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LkhTree")
            .field("degree", &self.degree)
            .field("key_len", &self.key_len)
            .field("members", &self.member_count)
            .field("depth", &self.depth())
            .field("nodes", &self.node_count())
            .finish_non_exhaustive()
    }
}

/// `ceil(a / b)` for `b > 0`.
pub(super) fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

/// Level sizes, bottom-up, of the left-complete tree with `leaves` leaves: level `l` has
/// `ceil(leaves / d^l)` nodes, up to the first level with at most `d` nodes. Empty for 0.
pub(super) fn level_lengths(leaves: u64, degree: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut len = leaves;
    if len == 0 {
        return out;
    }
    loop {
        out.push(len);
        if len <= degree {
            return out;
        }
        len = ceil_div(len, degree);
    }
}

/// Smallest `h` with `degree^h >= n` (0 for n <= 1): the depth a tree for `n` members needs.
pub(super) fn ceil_log(n: u64, degree: u64) -> usize {
    let mut h = 0;
    let mut cap = 1u64;
    while cap < n {
        cap = cap.saturating_mul(degree.max(2));
        h += 1;
    }
    h
}

impl LkhTree {
    /// A tree of `degree` (2 to 8) with node keys of `key_len` octets (16, 24 or 32: the
    /// KWK length of the Rekey SA's KWA, RFC 9838 §3.1), pre-built to hold `capacity`
    /// members. Key IDs are allocated from 1 in breadth-first order, so `(2, 32, 8)` gives
    /// the tree of RFC 9838 Appendix A.2. `capacity` 0 gives an empty tree that grows on
    /// [`LkhTree::join`].
    pub fn with_capacity(degree: usize, key_len: usize, capacity: u32) -> Result<Self, LkhError> {
        Self::with_capacity_from(degree, key_len, capacity, 1)
    }

    /// Same as [`LkhTree::with_capacity`], allocating Key IDs from `first_key_id` (at least
    /// 1; Key ID 0 means SA keying material, RFC 9838 §4.5.4). A key server that rebuilds a
    /// group's tree can continue above the IDs of the previous tree, so no member ever sees
    /// one Key ID name two keys (Q18).
    pub fn with_capacity_from(
        degree: usize,
        key_len: usize,
        capacity: u32,
        first_key_id: KeyId,
    ) -> Result<Self, LkhError> {
        if !(MIN_DEGREE..=MAX_DEGREE).contains(&degree) {
            return Err(LkhError::DegreeOutOfRange { degree });
        }
        if !matches!(key_len, 16 | 24 | 32) {
            return Err(LkhError::KeyLength { len: key_len });
        }
        if capacity > MAX_MEMBERS {
            return Err(LkhError::TooManyMembers { max: MAX_MEMBERS });
        }
        let lens = level_lengths(u64::from(capacity), degree as u64);
        let total: u64 = lens.iter().sum();
        let first = u64::from(first_key_id.max(1));
        if first + total > u64::from(u32::MAX) + 1 {
            return Err(LkhError::KeyIdsExhausted);
        }
        let mut index = IdIndex::with_capacity(total as usize);
        let mut next = first;
        let mut top_down = Vec::with_capacity(lens.len());
        for (level, &len) in lens.iter().enumerate().rev() {
            let n = len as usize;
            let keys = KeyArena::filled(key_len, n, fill_random)?;
            let mut ids = Vec::with_capacity(n);
            for idx in 0..len {
                let id = next as KeyId;
                ids.push(id);
                index.push(
                    id,
                    Pos {
                        level: level as u8,
                        idx: idx as u32,
                    },
                );
                next += 1;
            }
            top_down.push(Level {
                ids,
                members: vec![0; n],
                keys,
            });
        }
        top_down.reverse();
        Ok(LkhTree {
            degree: degree as u32,
            key_len,
            levels: top_down,
            index,
            next_id: next,
            member_count: 0,
            cursor: 0,
            holes: BinaryHeap::new(),
            departed: Vec::new(),
            pending: Vec::new(),
            cache: RegistrationCache::default(),
            changes: 0,
        })
    }

    /// Children per node (RFC 9838 Appendix A.2 uses 2).
    pub fn degree(&self) -> usize {
        self.degree as usize
    }

    /// Length of every node key in octets: the KWK length of the Rekey SA's KWA (RFC 9838
    /// §3.1, §4.5.3.1).
    pub fn key_len(&self) -> usize {
        self.key_len
    }

    /// Number of members (occupied leaves, RFC 9838 Appendix A.2).
    pub fn member_count(&self) -> u32 {
        self.member_count
    }

    /// Number of levels below the root: the length of every member's Key Path (A.2: 3).
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// Number of nodes below the root, vacant leaves included (RFC 9838 Appendix A.2: 14).
    pub fn node_count(&self) -> usize {
        self.levels.iter().map(Level::len).sum()
    }

    /// Key IDs of the top-level nodes, the children of the root: the KWKs of the SA_KEYs
    /// of an LKH rekey (RFC 9838 Appendix A.4).
    pub fn top_ids(&self) -> Vec<KeyId> {
        self.levels
            .last()
            .map(|l| l.ids.iter().copied().filter(|&id| id != 0).collect())
            .unwrap_or_default()
    }

    /// Every Key ID in the tree, top level first, left to right (RFC 9838 Appendix A.2:
    /// 1 to 14).
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.levels
            .iter()
            .rev()
            .flat_map(|l| l.ids.iter().copied().filter(|&id| id != 0))
            .collect()
    }

    /// The Key ID the next new key will get; `None` once all 2^32 - 1 are used (RFC 9838
    /// §4.5.4, Q18).
    pub fn next_key_id(&self) -> Option<KeyId> {
        KeyId::try_from(self.next_id).ok()
    }

    /// Whether `leaf` is a member's leaf (RFC 9838 Appendix A.2).
    pub fn is_member(&self, leaf: LeafId) -> bool {
        self.occupied_leaf(leaf).is_ok()
    }

    /// Where `leaf` sits among the leaves, left to right: members whose positions are close
    /// share most of their paths, so exclusions split into several rekeys (RFC 9838 §3.2,
    /// docs/decisions.md K9) cost fewest wraps when each takes neighbours. `None` if no
    /// member occupies the leaf.
    pub fn leaf_position(&self, leaf: LeafId) -> Option<u32> {
        self.occupied_leaf(leaf).ok()
    }

    /// The Key IDs from the top-level node down to `leaf`: the member's Working Key Path
    /// as the key server sees it (RFC 9838 §4.2, Appendix A.2: A is 1-3-7).
    pub fn path(&self, leaf: LeafId) -> Result<Vec<KeyId>, LkhError> {
        let idx = self.occupied_leaf(leaf)?;
        Ok(self.path_positions(idx).map(|p| self.id_at(p)).collect())
    }

    /// A copy of the key with Key ID `id`, if it is in the tree (a KWK of RFC 9838 §4.5.4).
    pub fn key(&self, id: KeyId) -> Option<Key> {
        let pos = self.index.get(id)?;
        Key::from_slice(self.key_at(pos)).ok()
    }

    /// A copy of the private key of a member's leaf. The caller wraps it under the IKE SA's
    /// GSK_w as WRAP_KEY(leaf, 0) (RFC 9838 Appendix A.2), or uses
    /// [`LkhTree::wrap_leaf_key`].
    pub fn leaf_key(&self, leaf: LeafId) -> Result<Key, LkhError> {
        let idx = self.occupied_leaf(leaf)?;
        Ok(Key::from_slice(self.key_at(Pos { level: 0, idx }))?)
    }

    /// Heap octets held by the tree's own structures (levels, ID index), without the
    /// registration cache: the memory cost of RFC 9838 Appendix A's tree.
    pub fn heap_bytes(&self) -> usize {
        self.levels.iter().map(Level::heap_bytes).sum::<usize>()
            + self.levels.capacity() * std::mem::size_of::<Level>()
            + self.index.heap_bytes()
            + self.holes.capacity() * 4
            + self.departed.capacity() * 4
            + self.pending.capacity() * 4
    }

    // ----- internal helpers -----

    pub(super) fn level(&self, level: u8) -> Option<&Level> {
        self.levels.get(usize::from(level))
    }

    pub(super) fn id_at(&self, pos: Pos) -> KeyId {
        self.level(pos.level)
            .and_then(|l| l.ids.get(pos.idx as usize))
            .copied()
            .unwrap_or(0)
    }

    pub(super) fn members_at(&self, pos: Pos) -> u32 {
        self.level(pos.level)
            .and_then(|l| l.members.get(pos.idx as usize))
            .copied()
            .unwrap_or(0)
    }

    pub(super) fn key_at(&self, pos: Pos) -> &[u8] {
        self.level(pos.level)
            .map(|l| l.keys.get(pos.idx as usize))
            .unwrap_or(&[])
    }

    /// Position of `leaf` in level 0.
    pub(super) fn leaf_index(&self, leaf: LeafId) -> Result<u32, LkhError> {
        match self.index.get(leaf.0) {
            Some(p) if p.level == 0 && leaf.0 != 0 => Ok(p.idx),
            _ => Err(LkhError::UnknownLeaf(leaf)),
        }
    }

    /// Position of `leaf`, which must hold a member.
    pub(super) fn occupied_leaf(&self, leaf: LeafId) -> Result<u32, LkhError> {
        let idx = self.leaf_index(leaf)?;
        if self.members_at(Pos { level: 0, idx }) == 0 {
            return Err(LkhError::LeafNotOccupied(leaf));
        }
        Ok(idx)
    }

    /// Positions from the top level down to leaf `idx`.
    pub(super) fn path_positions(&self, idx: u32) -> impl Iterator<Item = Pos> {
        let d = self.degree;
        let h = self.levels.len();
        let mut at = Vec::with_capacity(h);
        let mut i = idx;
        for level in 0..h {
            at.push(Pos {
                level: level as u8,
                idx: i,
            });
            i /= d;
        }
        at.into_iter().rev()
    }

    /// Positions of the nodes above leaf `idx`, lowest first.
    pub(super) fn ancestors(&self, idx: u32) -> impl Iterator<Item = Pos> {
        let d = self.degree;
        (1..self.levels.len()).scan(idx, move |i, level| {
            *i /= d;
            Some(Pos {
                level: level as u8,
                idx: *i,
            })
        })
    }

    /// Children of `pos` that exist (none for a leaf).
    pub(super) fn children(&self, pos: Pos) -> impl Iterator<Item = Pos> {
        let (level, first, end) = match pos.level.checked_sub(1) {
            Some(below) => {
                let len = self.level(below).map_or(0, Level::len) as u64;
                let first = u64::from(pos.idx) * u64::from(self.degree);
                let end = (first + u64::from(self.degree)).min(len);
                (below, first, end.max(first))
            }
            None => (0, 0, 0),
        };
        (first..end).map(move |i| Pos {
            level,
            idx: i as u32,
        })
    }

    /// Adds `delta` to the member count of leaf `idx` and all its ancestors.
    pub(super) fn add_members(&mut self, idx: u32, delta: i32) {
        let d = self.degree;
        let mut i = idx;
        for level in self.levels.iter_mut() {
            if let Some(m) = level.members.get_mut(i as usize) {
                *m = m.saturating_add_signed(delta);
            }
            i /= d;
        }
    }

    /// Fails unless `n` more Key IDs can be allocated.
    pub(super) fn check_ids(&self, n: usize) -> Result<(), LkhError> {
        if self.next_id + n as u64 > u64::from(u32::MAX) + 1 {
            return Err(LkhError::KeyIdsExhausted);
        }
        Ok(())
    }

    /// Allocates the next Key ID. Callers check the budget first with `check_ids`.
    pub(super) fn alloc_id(&mut self) -> KeyId {
        let id = KeyId::try_from(self.next_id).unwrap_or(KeyId::MAX);
        self.next_id += 1;
        id
    }

    /// `n` fresh random keys, back to back, in a buffer wiped on drop.
    pub(super) fn random_keys(&self, n: usize) -> Result<Zeroizing<Vec<u8>>, LkhError> {
        let mut buf = Zeroizing::new(vec![0u8; n * self.key_len]);
        fill_random(&mut buf)?;
        Ok(buf)
    }

    /// Gives the node at `pos` a new Key ID and key (retiring the old ID).
    pub(super) fn replace_node(&mut self, pos: Pos, key: &[u8]) {
        let old = self.id_at(pos);
        if old != 0 {
            self.index.retire(old);
            self.cache.note_retired(1);
        }
        let id = self.alloc_id();
        if let Some(level) = self.levels.get_mut(usize::from(pos.level)) {
            if let Some(slot) = level.ids.get_mut(pos.idx as usize) {
                *slot = id;
            }
            level.keys.set(pos.idx as usize, key);
        }
        self.index.push(id, pos);
    }

    /// Empties leaf `idx`: its Key ID is retired and its key wiped. Member counts are the
    /// caller's business.
    pub(super) fn clear_leaf(&mut self, idx: u32) {
        let id = self.id_at(Pos { level: 0, idx });
        if id != 0 {
            self.index.retire(id);
            self.cache.note_retired(1);
        }
        if let Some(level) = self.levels.first_mut() {
            if let Some(slot) = level.ids.get_mut(idx as usize) {
                *slot = 0;
            }
            level.keys.clear(idx as usize);
        }
    }
}

#[cfg(test)]
impl LkhTree {
    /// Checks every structural invariant; panics with a description on the first failure.
    pub(super) fn assert_invariants(&self) {
        let d = self.degree as usize;
        // Shape: level l has ceil(leaves / d^l) nodes, the top level at most d.
        let leaves = self.levels.first().map_or(0, Level::len) as u64;
        let lens: Vec<u64> = self.levels.iter().map(|l| l.len() as u64).collect();
        let want = level_lengths(leaves, d as u64);
        assert_eq!(lens, want, "level sizes");
        if let Some(top) = self.levels.last() {
            assert!(top.len() <= d, "top level has {} nodes", top.len());
        }
        // Member counts.
        let mut total = 0u32;
        for (l, level) in self.levels.iter().enumerate() {
            assert_eq!(level.ids.len(), level.members.len());
            assert_eq!(
                level.keys.get(level.len().saturating_sub(1)).len(),
                if level.len() > 0 { self.key_len } else { 0 }
            );
            for i in 0..level.len() {
                let pos = Pos {
                    level: l as u8,
                    idx: i as u32,
                };
                let m = self.members_at(pos);
                if l == 0 {
                    assert!(m <= 1);
                    total += m;
                    let id = self.id_at(pos);
                    if m == 1 {
                        assert_ne!(id, 0, "occupied leaf without ID");
                    }
                    if i as u32 >= self.cursor {
                        assert_eq!(m, 0, "leaf beyond cursor occupied");
                        assert_ne!(id, 0, "pre-built leaf without ID");
                    } else if m == 0 {
                        assert!(
                            self.holes.iter().any(|r| r.0 == i as u32),
                            "vacant leaf {i} not in holes"
                        );
                    }
                } else {
                    assert_ne!(self.id_at(pos), 0, "internal node without ID");
                    let sum: u32 = self.children(pos).map(|c| self.members_at(c)).sum();
                    assert_eq!(m, sum, "member count of {pos:?}");
                }
            }
        }
        assert_eq!(total, self.member_count, "member total");
        for r in self.holes.iter() {
            let pos = Pos { level: 0, idx: r.0 };
            assert!(r.0 < self.cursor, "hole beyond cursor");
            assert_eq!(self.members_at(pos), 0, "hole occupied");
            assert_eq!(self.id_at(pos), 0, "hole with ID");
        }
        // Index: every ID maps to its position, nothing else is live, IDs below next_id.
        let mut count = 0;
        for (l, level) in self.levels.iter().enumerate() {
            for (i, &id) in level.ids.iter().enumerate() {
                if id == 0 {
                    continue;
                }
                count += 1;
                assert!(u64::from(id) < self.next_id);
                assert_eq!(
                    self.index.get(id),
                    Some(Pos {
                        level: l as u8,
                        idx: i as u32
                    }),
                    "index entry of {id}"
                );
            }
        }
        assert_eq!(self.index.live(), count, "live index entries");
        let ids: Vec<KeyId> = self.index.ids().collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "index order");
    }
}
