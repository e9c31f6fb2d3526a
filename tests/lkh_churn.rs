//! Randomised membership churn against the LKH tree (RFC 9838 §2.4.1, §4.2, Appendix A),
//! simulating every member's Working Key Path with real keys and real RFC 5649 wraps.
//!
//! The choice of operations comes from a seeded xorshift generator, so every run is the
//! same sequence; the keys still come from OpenSSL. Checked after every operation:
//! - every current member recovers the newest Rekey SA keying material from each rekey, and
//!   its Working Key Path ends with its tree path, key for key;
//! - every excluded member, keeping its old path, recovers nothing from any later rekey
//!   (forward access control), and none of its Key IDs is still in the tree;
//! - every member that left without a rekey (`free_leaf`), keeping its old path and
//!   following every rekey it can, holds no key of the tree once the departed paths are
//!   refreshed, and from then on recovers nothing (RFC 9838 §3.2.1). Refreshes and joins
//!   with backward access control run with a small WRAP_KEY limit, as the key server's
//!   KEK changes do (docs/decisions.md L10, L11), so they take several steps;
//! - a member that joined with backward access control holds no Key ID used in any earlier
//!   rekey message and cannot process any of them;
//! - depth <= ceil(log_d(most members since the last exclusion)) + 1 (a refresh of
//!   departed paths compacts only when the compaction fits its budget), Key IDs in the
//!   tree are unique, member counts agree.

use std::collections::HashSet;

use gikev2::crypto::keywrap::{unwrap, KeyWrapper, Kwa};
use gikev2::crypto::{Key, KeyMaterial};
use gikev2::lkh::{LeafId, LkhTree, RekeyPlan, WorkingKeyPath, WrappedKeyIn, WrappedKeyOut};

const KWA: Kwa = Kwa::Kw5649_256;
/// A short Rekey SA KEYMAT (GSK_e 16 | GSK_w 16) keeps the debug-build test fast.
const KEYMAT_LEN: usize = 32;
/// Excluded members run through every later rekey (older ones are covered by Key IDs).
const RECENT_EXCLUDED: usize = 48;
/// Earlier rekeys a backward-access-controlled newcomer is run through.
const RECENT_MESSAGES: usize = 32;
/// WRAP_KEYs per plan for refreshes and joins with backward access control: small, so the
/// departed paths take several plans.
const BUDGET: usize = 24;

/// xorshift64* (Vigna), enough to choose operations reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn inputs(v: &[WrappedKeyOut]) -> Vec<WrappedKeyIn<'_>> {
    v.iter().map(WrappedKeyOut::as_input).collect()
}

fn ceil_log(n: usize, d: usize) -> usize {
    let (mut h, mut cap) = (0, 1usize);
    while cap < n {
        cap *= d;
        h += 1;
    }
    h
}

struct Message {
    sa: Vec<WrappedKeyOut>,
    wraps: Vec<WrappedKeyOut>,
}

struct Sim {
    tree: LkhTree,
    keymat: KeyMaterial,
    members: Vec<(LeafId, WorkingKeyPath)>,
    excluded: Vec<WorkingKeyPath>,
    /// Members that left whose paths are not all refreshed yet: they follow what they can.
    left: Vec<WorkingKeyPath>,
    /// Most members since the last exclusion (a budgeted refresh may skip compacting).
    peak: usize,
    history: Vec<Message>,
    /// Every Key ID and KWK ID that appeared in a rekey message.
    used_ids: HashSet<u32>,
    /// Key IDs in the tree after the previous operation, and the largest ever seen.
    prev_ids: HashSet<u32>,
    max_id: u32,
    rekeys: usize,
    batch_exclusions: usize,
    bac_joins: usize,
    leaves: usize,
    refreshes: usize,
    /// Refreshes of departed paths that took more than one plan (a join's included).
    split_refreshes: usize,
    max_depth: usize,
    max_members: usize,
}

impl Sim {
    fn new(degree: usize) -> Self {
        Sim {
            tree: LkhTree::with_capacity(degree, 32, 0).unwrap(),
            keymat: KeyMaterial::random(KEYMAT_LEN).unwrap(),
            members: Vec::new(),
            excluded: Vec::new(),
            left: Vec::new(),
            peak: 0,
            history: Vec::new(),
            used_ids: HashSet::new(),
            prev_ids: HashSet::new(),
            max_id: 0,
            rekeys: 0,
            batch_exclusions: 0,
            bac_joins: 0,
            leaves: 0,
            refreshes: 0,
            split_refreshes: 0,
            max_depth: 0,
            max_members: 0,
        }
    }

    /// Wraps `plan` with a new keying material and hands the message to everyone.
    fn rekey(&mut self, plan: &RekeyPlan) {
        let keymat = KeyMaterial::random(KEYMAT_LEN).unwrap();
        let (sa, wraps) = self.tree.wrap_plan(plan, KWA, keymat.as_bytes()).unwrap();
        assert_eq!(sa.len() + wraps.len(), plan.wrap_count());
        assert!(wraps.iter().all(|w| w.kwk_id != 0 && w.key_id != 0));
        assert!(sa.iter().all(|w| w.kwk_id != 0 && w.key_id == 0));
        let (sa_in, wraps_in) = (inputs(&sa), inputs(&wraps));
        for (leaf, path) in &mut self.members {
            let got = path
                .apply_rekey(&sa_in, &wraps_in, KWA, None)
                .unwrap_or_else(|e| panic!("member {leaf:?} with {path:?}: {e}"));
            assert!(got.ct_eq(&keymat), "member {leaf:?} got the wrong keymat");
        }
        // Every excluded member's Key IDs are retired when it is excluded (checked in
        // `exclude`) and Key IDs are never reused (checked in `check`), so no later rekey
        // can name a key it holds; running the recent ones through the real algorithm
        // checks that independently.
        let recent = self.excluded.len().saturating_sub(RECENT_EXCLUDED);
        for path in &mut self.excluded[recent..] {
            let before = path.ids();
            assert!(
                path.apply_rekey(&sa_in, &wraps_in, KWA, None).is_err(),
                "excluded member {before:?} read a later rekey"
            );
            assert_eq!(path.ids(), before);
        }
        // A member that left follows as long as it can (until its path is refreshed).
        for path in &mut self.left {
            let _ = path.apply_rekey(&sa_in, &wraps_in, KWA, None);
        }
        self.keymat = keymat;
        self.rekeys += 1;
        self.check_paths(true);
        self.used_ids
            .extend(sa.iter().chain(&wraps).flat_map(|w| [w.key_id, w.kwk_id]));
        self.history.push(Message { sa, wraps });
    }

    fn join(&mut self, bac: bool) {
        let (leaf, plan) = self.tree.join_undoable(bac, BUDGET).unwrap();
        let plan = plan.map(|(plan, _)| plan);
        // Messages sent before this join; the rekey made for it carries only what the
        // newcomer receives anyway (the new keying material, keys of its own path).
        let earlier = self.history.len();
        let used_before = if bac {
            self.used_ids.clone()
        } else {
            HashSet::new()
        };
        if let Some(plan) = plan {
            assert!(bac || plan.is_empty());
            assert!(plan.wrap_key_count() <= BUDGET);
            self.rekey(&plan);
        }
        if bac {
            // The departed paths the join's plan had no room for, before the newcomer's
            // registration (the key server's order).
            if self.tree.departed_count() > 0 {
                self.split_refreshes += 1;
            }
            self.refresh_departed();
        }
        let (sa, mut wraps, leaf_id) = self
            .tree
            .registration_keys(leaf, KWA, self.keymat.as_bytes())
            .unwrap();
        assert_eq!(leaf_id, leaf.key_id());
        let gsk_w = Key::random(32).unwrap();
        let mut wrapper = KeyWrapper::new(KWA, gsk_w.as_bytes()).unwrap();
        wraps.push(self.tree.wrap_leaf_key(leaf, &mut wrapper).unwrap());
        let (path, keymat) =
            WorkingKeyPath::from_registration(sa.as_input(), &inputs(&wraps), KWA, |d| {
                unwrap(KWA, gsk_w.as_bytes(), d)
            })
            .unwrap();
        assert!(keymat.ct_eq(&self.keymat));
        assert_eq!(path.ids(), self.tree.path(leaf).unwrap());
        if bac {
            self.bac_joins += 1;
            for id in path.ids() {
                assert!(
                    !used_before.contains(&id),
                    "newcomer holds key {id}, used in an earlier rekey"
                );
            }
            let first = earlier.saturating_sub(RECENT_MESSAGES);
            for m in &self.history[first..earlier] {
                let mut copy = path.duplicate();
                assert!(copy
                    .apply_rekey(&inputs(&m.sa), &inputs(&m.wraps), KWA, None)
                    .is_err());
            }
            // Independently of Key IDs: none of its keys unwraps anything in the last rekeys.
            for m in self.history.iter().take(earlier).rev().take(2) {
                for w in m.sa.iter().chain(&m.wraps) {
                    for id in path.ids() {
                        let k = path.key(id).unwrap();
                        assert!(unwrap(KWA, k.as_bytes(), &w.encrypted).is_err());
                    }
                }
            }
        }
        self.members.push((leaf, path));
    }

    fn exclude(&mut self, rng: &mut Rng, count: usize) {
        let mut leaves = Vec::new();
        for _ in 0..count {
            let i = rng.below(self.members.len());
            let (leaf, path) = self.members.swap_remove(i);
            leaves.push(leaf);
            self.excluded.push(path);
        }
        if count > 1 {
            self.batch_exclusions += 1;
        }
        let plan = self.tree.exclude(&leaves).unwrap();
        self.rekey(&plan);
        for leaf in &leaves {
            assert!(!self.tree.is_member(*leaf));
        }
        // An unlimited exclusion refreshes every departed path and compacts.
        assert_eq!(self.tree.departed_count(), 0);
        self.cut_off_leavers();
        self.peak = self.members.len();
        for path in &self.excluded[self.excluded.len() - count..] {
            for id in path.ids() {
                assert!(
                    self.tree.key(id).is_none(),
                    "excluded key {id} still in the tree"
                );
            }
        }
    }

    /// A member leaves without a rekey and keeps its path.
    fn leave(&mut self, rng: &mut Rng) {
        let (leaf, path) = self.members.swap_remove(rng.below(self.members.len()));
        self.tree.free_leaf(leaf).unwrap();
        assert!(!self.tree.is_member(leaf));
        self.left.push(path);
        self.leaves += 1;
    }

    /// Refreshes the departed paths in plans of at most `BUDGET` WRAP_KEYs (a periodic
    /// rekey at the key server, docs/decisions.md L10); then every member that left holds
    /// no key of the tree and joins the excluded ones.
    fn refresh_departed(&mut self) {
        let first = self.refreshes;
        while self.tree.departed_count() > 0 {
            let before = self.tree.departed_count();
            let (plan, _) = self.tree.exclude_undoable_within(&[], BUDGET).unwrap();
            assert!(plan.wrap_key_count() <= BUDGET);
            assert!(self.tree.departed_count() < before, "no progress");
            self.rekey(&plan);
            self.refreshes += 1;
        }
        if self.refreshes > first + 1 {
            self.split_refreshes += 1;
        }
        self.cut_off_leavers();
    }

    /// Once no departed path is left, no key a member that left holds is in the tree.
    fn cut_off_leavers(&mut self) {
        if self.tree.departed_count() > 0 {
            return;
        }
        for path in self.left.drain(..) {
            for id in path.ids() {
                assert!(
                    self.tree.key(id).is_none(),
                    "a member that left still holds key {id}"
                );
            }
            self.excluded.push(path);
        }
    }

    /// Invariants after an operation; `paths`: also every member's path against the tree.
    fn check(&mut self, paths: bool) {
        let n = self.members.len();
        assert_eq!(self.tree.member_count() as usize, n);
        let depth = self.tree.depth();
        self.max_depth = self.max_depth.max(depth);
        self.max_members = self.max_members.max(n);
        self.peak = self.peak.max(n);
        assert!(
            depth <= ceil_log(self.peak.max(1), self.tree.degree()) + 1,
            "depth {depth} for {n} members (at most {} since the last exclusion)",
            self.peak
        );
        let ids = self.tree.key_ids();
        let unique: HashSet<u32> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate Key IDs");
        assert!(!unique.contains(&0));
        // Key IDs are never reused: every ID new since the last operation is above all
        // IDs seen before.
        for id in unique.difference(&self.prev_ids) {
            assert!(
                *id > self.max_id,
                "Key ID {id} reused (max so far {})",
                self.max_id
            );
        }
        self.max_id = self.max_id.max(ids.iter().copied().max().unwrap_or(0));
        self.prev_ids = unique;
        if paths {
            self.check_paths(false);
        }
    }

    /// Every member's Working Key Path ends with its tree path, key for key. Between
    /// rekeys the tree path may start with nodes added by growth that members learn in the
    /// next plan (`complete` false).
    fn check_paths(&self, complete: bool) {
        for (leaf, path) in &self.members {
            let tree_path = self.tree.path(*leaf).unwrap();
            let ids = path.ids();
            let common = ids
                .iter()
                .rev()
                .zip(tree_path.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            let want = if complete { tree_path.len() } else { 1 };
            assert!(
                common >= want,
                "member {leaf:?}: path {ids:?}, tree {tree_path:?}"
            );
            for id in &tree_path[tree_path.len() - common..] {
                let k = self.tree.key(*id).unwrap();
                assert!(path.key(*id).unwrap().ct_eq(&k), "key {id} differs");
            }
        }
    }
}

fn churn(degree: usize, ops: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut sim = Sim::new(degree);
    for op in 0..ops {
        // Grow, shrink, then mix: exercises growth, compaction and reuse of free leaves.
        let join_percent = match op * 10 / ops {
            0..=2 => 80,
            3..=4 => 40,
            _ => 70,
        };
        if sim.members.len() < 2 || rng.chance(join_percent) {
            let bac = rng.chance(40);
            sim.join(bac);
        } else if rng.chance(25) {
            // One or several members leave.
            for _ in 0..(1 + rng.below(8)).min(sim.members.len() - 1) {
                sim.leave(&mut rng);
            }
        } else if rng.chance(30) {
            // A periodic rekey: the departed paths, in steps.
            sim.refresh_departed();
        } else {
            let n = sim.members.len();
            let count = if rng.chance(85) || n < 4 {
                1
            } else {
                2 + rng.below((n / 3).clamp(1, 12))
            };
            sim.exclude(&mut rng, count);
        }
        sim.check(op % 4 == 0);
    }
    eprintln!(
        "d={degree}: {ops} ops, {} members left (max {}), {} excluded or gone, {} rekeys ({} \
         batch, {} BAC joins), {} leaves, {} refresh steps ({} refreshes in several), max \
         depth {}",
        sim.members.len(),
        sim.max_members,
        sim.excluded.len(),
        sim.rekeys,
        sim.batch_exclusions,
        sim.bac_joins,
        sim.leaves,
        sim.refreshes,
        sim.split_refreshes,
        sim.max_depth
    );
    assert!(sim.batch_exclusions > 0 && sim.bac_joins > 0 && sim.leaves > 0);
}

#[test]
fn churn_degree_2() {
    churn(2, 1000, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn churn_degree_3() {
    churn(3, 400, 0xD1B5_4A32_D192_ED03);
}

#[test]
fn churn_degree_4() {
    churn(4, 1000, 0x2545_F491_4F6C_DD1D);
}

#[test]
fn churn_degree_8() {
    churn(8, 400, 0x94D0_49BB_1331_11EB);
}

/// A member that leaves without a rekey keeps reading until the next exclusion, which
/// refreshes its old path too.
#[test]
fn free_leaf_is_refreshed_by_the_next_exclusion() {
    let mut sim = Sim::new(2);
    for _ in 0..12 {
        sim.join(false);
    }
    let (leaf, mut departed) = sim.members.remove(3);
    sim.tree.free_leaf(leaf).unwrap();
    assert!(!sim.tree.is_member(leaf));
    assert_eq!(
        sim.tree.exclude(&[leaf]).err(),
        Some(gikev2::lkh::LkhError::UnknownLeaf(leaf))
    );
    // A newcomer takes the freed leaf (with a fresh leaf key and ID).
    sim.join(false);
    sim.check(true);
    // The next exclusion (of someone else) also replaces the departed member's old keys.
    let other = sim.members[0].0;
    let (_, gone) = sim.members.remove(0);
    sim.excluded.push(gone);
    let plan = sim.tree.exclude(&[other]).unwrap();
    let keymat = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (sa, wraps) = sim.tree.wrap_plan(&plan, KWA, keymat.as_bytes()).unwrap();
    assert!(departed
        .apply_rekey(&inputs(&sa), &inputs(&wraps), KWA, None)
        .is_err());
    for id in departed.ids() {
        assert!(sim.tree.key(id).is_none());
    }
    for (_, path) in &mut sim.members {
        assert!(path
            .apply_rekey(&inputs(&sa), &inputs(&wraps), KWA, None)
            .unwrap()
            .ct_eq(&keymat));
    }
    sim.check(true);
}

/// Many members leave at once: the refresh takes several plans of at most `BUDGET`
/// WRAP_KEYs; members follow each, every leaver (following what it can) ends with no key
/// of the tree, and the next rekeys are beyond it. A join with backward access control
/// after more leaves refreshes what its plan has room for and the rest in further plans.
#[test]
fn many_leavers_are_cut_off_in_several_plans() {
    for degree in [2, 3, 4, 8] {
        let mut sim = Sim::new(degree);
        let mut rng = Rng(0x5eed + degree as u64);
        for _ in 0..80 {
            sim.join(false);
        }
        for _ in 0..25 {
            sim.leave(&mut rng);
        }
        sim.check(true);
        let before = sim.refreshes;
        sim.refresh_departed();
        assert!(sim.refreshes > before + 1, "degree {degree}: one plan");
        assert!(sim.left.is_empty() && sim.excluded.len() == 25);
        sim.check(true);
        for _ in 0..25 {
            sim.leave(&mut rng);
        }
        let splits = sim.split_refreshes;
        sim.join(true);
        assert!(sim.split_refreshes > splits, "degree {degree}: one plan");
        assert!(sim.left.is_empty() && sim.excluded.len() == 50);
        sim.check(true);
        sim.exclude(&mut rng, 1);
        sim.check(true);
    }
}

/// Growth from an empty tree hands the new top keys to existing members in the next plan.
#[test]
fn growth_keys_reach_existing_members() {
    for degree in [2, 3, 8] {
        let mut sim = Sim::new(degree);
        // Two levels of growth above the first full top level.
        for i in 0..(2 * degree * degree + 1) {
            sim.join(false);
            if i % 5 == 4 {
                // Nothing to exclude: just refresh (pending growth keys go out here).
                let plan = sim.tree.exclude(&[]).unwrap();
                sim.rekey(&plan);
            }
            sim.check(true);
        }
        let mut rng = Rng(7);
        sim.exclude(&mut rng, 1);
        sim.check(true);
    }
}

/// Excluding everyone empties the tree; it then grows again.
#[test]
fn exclude_all_then_rejoin() {
    let mut sim = Sim::new(4);
    for _ in 0..20 {
        sim.join(true);
    }
    let mut rng = Rng(3);
    sim.exclude(&mut rng, 20);
    assert_eq!(sim.tree.depth(), 0);
    assert_eq!(sim.tree.node_count(), 0);
    for _ in 0..5 {
        sim.join(false);
        sim.check(true);
    }
    sim.exclude(&mut rng, 1);
    sim.check(true);
}

/// Members that leave (GSA_REGISTRATION leave, `free_leaf`) shrink the tree too: the plans
/// that refresh their paths (`exclude(&[])`, a periodic rekey at `Gcks`) compact it when
/// the compaction fits (docs/decisions.md L2; review of issue 4: only exclusions used to
/// compact, and 4 members stayed in a tree of depth 10 after 1,020 of 1,024 left).
#[test]
fn the_tree_rebalances_after_members_leave() {
    let mut tree = LkhTree::with_capacity(2, 32, 0).unwrap();
    let leaves: Vec<LeafId> = (0..1024).map(|_| tree.join(false).unwrap().0).collect();
    // Members leave, keeping every 256th.
    for (i, l) in leaves.iter().enumerate() {
        if i % 256 != 0 {
            tree.free_leaf(*l).unwrap();
        }
    }
    // Periodic rekeys refresh the departed paths (Group::change_kek_excluding(&[])).
    while tree.departed_count() > 0 {
        tree.exclude(&[]).unwrap();
    }
    let n = u64::from(tree.member_count());
    assert_eq!(n, 4);
    let bound = ceil_log(n as usize, 2) + 1;
    assert!(
        tree.depth() <= bound,
        "{n} members in a tree of depth {} (L2 bound {bound}); every rekey plan and every \
         registration path costs the peak depth",
        tree.depth()
    );
}
