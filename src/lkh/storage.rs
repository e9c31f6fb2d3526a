//! Flat storage for the key server's tree (RFC 9838 Appendix A.2): one level at a time, node
//! keys packed back to back in a zeroizing arena, and a sorted Key ID index.
//!
//! A `Secret<64>` per node would cost 72 octets, so keys live in one `Vec<u8>` per level
//! with a stride of `key_len` octets (16, 24 or 32). The arena is wiped when it is dropped,
//! when it is truncated and before its buffer is reallocated, so no copy of a node key is
//! left behind in freed memory.

use zeroize::Zeroize;

use super::KeyId;

/// Node keys of one level, `key_len` octets each, wiped on drop.
pub(super) struct KeyArena {
    key_len: usize,
    bytes: Vec<u8>,
}

impl KeyArena {
    /// An arena for `count` keys, filled by `fill` (which gets the whole buffer).
    pub(super) fn filled<E>(
        key_len: usize,
        count: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut arena = KeyArena {
            key_len,
            bytes: vec![0u8; count.saturating_mul(key_len)],
        };
        fill(&mut arena.bytes)?;
        Ok(arena)
    }

    /// The key at `i`; empty if `i` is out of range.
    pub(super) fn get(&self, i: usize) -> &[u8] {
        let start = i.saturating_mul(self.key_len);
        self.bytes
            .get(start..start.saturating_add(self.key_len))
            .unwrap_or(&[])
    }

    /// Overwrites the key at `i` with `key` (ignored unless `key` is `key_len` octets and
    /// `i` is in range).
    pub(super) fn set(&mut self, i: usize, key: &[u8]) {
        let start = i.saturating_mul(self.key_len);
        if key.len() != self.key_len {
            return;
        }
        if let Some(slot) = self
            .bytes
            .get_mut(start..start.saturating_add(self.key_len))
        {
            slot.copy_from_slice(key);
        }
    }

    /// Wipes the key at `i` (a vacant leaf holds no key).
    pub(super) fn clear(&mut self, i: usize) {
        let start = i.saturating_mul(self.key_len);
        if let Some(slot) = self
            .bytes
            .get_mut(start..start.saturating_add(self.key_len))
        {
            slot.zeroize();
        }
    }

    /// Appends `key` (must be `key_len` octets). Grows by reallocating into a fresh buffer
    /// and wiping the old one, so `Vec`'s own reallocation never leaves key copies behind.
    pub(super) fn push(&mut self, key: &[u8]) {
        if key.len() != self.key_len {
            return;
        }
        let need = self.bytes.len() + self.key_len;
        if need > self.bytes.capacity() {
            let cap = need.max(self.bytes.capacity().saturating_mul(2));
            let mut grown = Vec::with_capacity(cap);
            grown.extend_from_slice(&self.bytes);
            self.bytes.zeroize();
            self.bytes = grown;
        }
        self.bytes.extend_from_slice(key);
    }

    /// Keeps the first `n` keys and wipes the rest.
    pub(super) fn truncate(&mut self, n: usize) {
        let keep = n.saturating_mul(self.key_len);
        if keep < self.bytes.len() {
            if let Some(tail) = self.bytes.get_mut(keep..) {
                tail.zeroize();
            }
            self.bytes.truncate(keep);
        }
    }

    /// Moves the keys from `n` on into a new arena (an exactly sized copy) and wipes them
    /// here, for an exclusion that may have to be undone.
    pub(super) fn split_off(&mut self, n: usize) -> KeyArena {
        let keep = n.saturating_mul(self.key_len);
        let tail = KeyArena {
            key_len: self.key_len,
            bytes: self.bytes.get(keep..).unwrap_or(&[]).to_vec(),
        };
        self.truncate(n);
        tail
    }

    /// Appends every key of `tail` (the inverse of [`KeyArena::split_off`]).
    pub(super) fn append(&mut self, tail: &KeyArena) {
        for key in tail.bytes.chunks_exact(self.key_len) {
            self.push(key);
        }
    }

    /// Heap octets held (capacity), for memory accounting.
    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

impl Drop for KeyArena {
    fn drop(&mut self) {
        // Zeroize for Vec<u8> wipes the contents and the spare capacity.
        self.bytes.zeroize();
    }
}

/// One level of the tree (level 0 = leaves). Node `i` of level `h` has parent `i / d` in
/// level `h + 1` and children `i * d .. i * d + d` in level `h - 1`.
pub(super) struct Level {
    /// Key ID of each node; 0 for a vacant leaf (which also holds no key).
    pub(super) ids: Vec<KeyId>,
    /// Occupied leaves in each node's subtree (0 or 1 for a leaf).
    pub(super) members: Vec<u32>,
    /// Node keys.
    pub(super) keys: KeyArena,
}

impl Level {
    /// An empty level for keys of `key_len` octets.
    pub(super) fn empty(key_len: usize) -> Self {
        Level {
            ids: Vec::new(),
            members: Vec::new(),
            keys: KeyArena {
                key_len,
                bytes: Vec::new(),
            },
        }
    }

    /// Number of nodes.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Appends a node.
    pub(super) fn push(&mut self, id: KeyId, members: u32, key: &[u8]) {
        self.ids.push(id);
        self.members.push(members);
        self.keys.push(key);
    }

    /// Keeps the first `n` nodes and returns the others as a level of their own (see
    /// [`KeyArena::split_off`]).
    pub(super) fn split_off(&mut self, n: usize) -> Level {
        let n = n.min(self.len());
        Level {
            ids: self.ids.split_off(n),
            members: self.members.split_off(n),
            keys: self.keys.split_off(n),
        }
    }

    /// Appends the nodes of `tail` (the inverse of [`Level::split_off`]).
    pub(super) fn append(&mut self, tail: &Level) {
        self.ids.extend_from_slice(&tail.ids);
        self.members.extend_from_slice(&tail.members);
        self.keys.append(&tail.keys);
    }

    /// Heap octets held, for memory accounting.
    pub(super) fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4 + self.members.capacity() * 4 + self.keys.heap_bytes()
    }
}

/// Where a node sits: level (0 = leaves) and index within the level. Positions stay valid
/// when a level is added on top; they change only when an exclusion compacts the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Pos {
    /// Level counted from the leaves (0).
    pub(super) level: u8,
    /// Index within the level.
    pub(super) idx: u32,
}

/// One entry of [`IdIndex`]: 12 octets.
#[derive(Clone, Copy)]
struct Entry {
    id: KeyId,
    idx: u32,
    level: u8,
}

/// Marks an entry whose Key ID is no longer in the tree.
const RETIRED: u8 = u8::MAX;

/// Key ID -> position. Key IDs are allocated in increasing order and never reused, so the
/// index is a `Vec` sorted by construction: lookups are an interpolation search, retiring an ID
/// leaves a tombstone, and tombstones are swept once they outnumber live entries. About
/// 12 octets per node, against roughly 30 for a `HashMap<u32, Pos>` at its load factor.
pub(super) struct IdIndex {
    entries: Vec<Entry>,
    retired: usize,
}

impl IdIndex {
    /// An empty index with room for `n` entries.
    pub(super) fn with_capacity(n: usize) -> Self {
        IdIndex {
            entries: Vec::with_capacity(n),
            retired: 0,
        }
    }

    /// Adds `id` at `pos`. `id` must be larger than every ID added before (the allocator
    /// guarantees it); anything else is ignored so the order invariant cannot break.
    pub(super) fn push(&mut self, id: KeyId, pos: Pos) {
        if self.entries.last().is_some_and(|e| e.id >= id) {
            log::error!("LKH: Key ID {id} added out of order; not indexed");
            return;
        }
        self.entries.push(Entry {
            id,
            idx: pos.idx,
            level: pos.level,
        });
    }

    /// Interpolation search. Every allocated ID stays in the index (live or tombstone)
    /// until a sweep, so between sweeps the IDs form one dense run and the first guess
    /// hits; after sweeps they are still close to uniform. Falls back to bisection after a
    /// few guesses, so the worst case stays logarithmic. (A plain binary search over a
    /// million entries costs about 20 cache misses, which dominated a single exclusion.)
    fn find(&self, id: KeyId) -> Option<usize> {
        let entries = &self.entries;
        let (mut lo, mut hi) = (0usize, entries.len());
        let mut guesses = 0;
        while lo < hi {
            let first = entries.get(lo)?.id;
            let last = entries.get(hi - 1)?.id;
            if id < first || id > last {
                return None;
            }
            let mid = if guesses < 4 && last > first {
                guesses += 1;
                let span = (hi - 1 - lo) as u64;
                lo + (u64::from(id - first) * span / u64::from(last - first)) as usize
            } else {
                lo + (hi - lo) / 2
            };
            let e = entries.get(mid)?;
            match e.id.cmp(&id) {
                std::cmp::Ordering::Equal => return (e.level != RETIRED).then_some(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// Position of `id`, if it is in the tree.
    pub(super) fn get(&self, id: KeyId) -> Option<Pos> {
        let e = self.entries.get(self.find(id)?)?;
        Some(Pos {
            level: e.level,
            idx: e.idx,
        })
    }

    /// Records that `id` moved to `pos` (a member relocated by compaction).
    pub(super) fn relocate(&mut self, id: KeyId, pos: Pos) {
        if let Some(i) = self.find(id) {
            if let Some(e) = self.entries.get_mut(i) {
                e.idx = pos.idx;
                e.level = pos.level;
            }
        }
    }

    /// Removes `id` from the tree. Returns whether it was present.
    pub(super) fn retire(&mut self, id: KeyId) -> bool {
        let Some(i) = self.find(id) else {
            return false;
        };
        if let Some(e) = self.entries.get_mut(i) {
            e.level = RETIRED;
            self.retired += 1;
        }
        if self.retired > 64 && self.retired * 2 > self.entries.len() {
            self.entries.retain(|e| e.level != RETIRED);
            self.retired = 0;
        }
        true
    }

    /// Makes every `(id, pos)` of `items` live at `pos` again: undoes retirements (also
    /// of entries a sweep removed, which are put back in order) and relocations.
    pub(super) fn restore(&mut self, items: &[(KeyId, Pos)]) {
        let mut missing = Vec::new();
        for &(id, pos) in items {
            match self.entries.binary_search_by_key(&id, |e| e.id) {
                Ok(i) => {
                    if let Some(e) = self.entries.get_mut(i) {
                        if e.level == RETIRED {
                            self.retired = self.retired.saturating_sub(1);
                        }
                        e.level = pos.level;
                        e.idx = pos.idx;
                    }
                }
                Err(_) => missing.push(Entry {
                    id,
                    idx: pos.idx,
                    level: pos.level,
                }),
            }
        }
        if !missing.is_empty() {
            // One sort for the lot: a compaction may have retired many IDs.
            self.entries.extend(missing);
            self.entries.sort_by_key(|e| e.id);
            self.entries.dedup_by_key(|e| e.id);
        }
    }

    /// Number of live IDs.
    #[cfg(test)]
    pub(super) fn live(&self) -> usize {
        self.entries.len() - self.retired
    }

    /// Live IDs in increasing order.
    #[cfg(test)]
    pub(super) fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.entries
            .iter()
            .filter(|e| e.level != RETIRED)
            .map(|e| e.id)
    }

    /// Heap octets held, for memory accounting.
    pub(super) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
    }
}

#[cfg(test)]
mod tests {
    use super::{IdIndex, Pos};

    fn pos(idx: u32) -> Pos {
        Pos { level: 1, idx }
    }

    #[test]
    fn index_lookups_with_gaps_and_sweeps() {
        let mut ix = IdIndex::with_capacity(0);
        assert_eq!(ix.get(1), None);
        // Dense run 1..=1000, then a sparse tail.
        for id in 1..=1000 {
            ix.push(id, pos(id));
        }
        for id in (2000..100_000).step_by(997) {
            ix.push(id, pos(id));
        }
        ix.push(u32::MAX, pos(7));
        for id in [1, 2, 500, 999, 1000, 2000, 2997] {
            assert_eq!(ix.get(id), Some(pos(id)));
        }
        assert_eq!(ix.get(u32::MAX), Some(pos(7)));
        for id in [0, 1001, 1999, 2001, 99_999, u32::MAX - 1] {
            assert_eq!(ix.get(id), None, "{id}");
        }
        // Retire most of the dense run: the sweep leaves gaps.
        for id in 1..=900 {
            assert!(ix.retire(id));
        }
        assert!(!ix.retire(5));
        assert_eq!(ix.get(5), None);
        assert_eq!(ix.get(901), Some(pos(901)));
        assert_eq!(ix.get(2997), Some(pos(2997)));
        assert_eq!(ix.live(), 100 + 99 + 1);
        ix.relocate(950, pos(3));
        assert_eq!(ix.get(950), Some(pos(3)));
        // Out-of-order pushes are refused.
        ix.push(10, pos(10));
        assert_eq!(ix.get(10), None);
        let ids: Vec<u32> = ix.ids().collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
