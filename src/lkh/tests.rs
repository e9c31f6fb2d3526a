//! Structural tests of the key server's tree with access to its internals: shape, member
//! counts, free leaves and the Key ID index after every operation of a long random run.

use super::tree::{ceil_log, level_lengths};
use super::{LeafId, LkhTree};
use crate::crypto::keywrap::Kwa;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn geometry() {
    assert_eq!(level_lengths(0, 2), Vec::<u64>::new());
    assert_eq!(level_lengths(1, 2), vec![1]);
    assert_eq!(level_lengths(8, 2), vec![8, 4, 2]);
    assert_eq!(level_lengths(9, 2), vec![9, 5, 3, 2]);
    assert_eq!(
        level_lengths(1_000_000, 4),
        vec![1_000_000, 250_000, 62_500, 15_625, 3_907, 977, 245, 62, 16, 4]
    );
    assert_eq!(ceil_log(1, 2), 0);
    assert_eq!(ceil_log(8, 2), 3);
    assert_eq!(ceil_log(9, 2), 4);
    assert_eq!(ceil_log(1_000_000, 8), 7);
}

#[test]
fn prebuilt_tree_matches_appendix_a2() {
    let t = LkhTree::with_capacity(2, 32, 8).unwrap();
    t.assert_invariants();
    assert_eq!(t.node_count(), 14);
    let t = LkhTree::with_capacity(3, 16, 10).unwrap();
    t.assert_invariants();
    // 10 leaves, 4 parents, 2 tops: IDs 1-2 tops, 3-6, leaves 7-16.
    assert_eq!(t.top_ids(), vec![1, 2]);
    assert_eq!(t.key_ids(), (1..=16).collect::<Vec<u32>>());
}

/// Random joins (with and without backward access control), single and batch exclusions,
/// leaves without rekey and empty refreshes, for every degree; invariants after each.
#[test]
fn random_operations_keep_invariants() {
    let keymat = [7u8; 48];
    for degree in 2..=8 {
        let mut rng = Rng(0x1234_5678 + degree as u64);
        let mut tree = LkhTree::with_capacity(degree, 16, (degree * 3) as u32).unwrap();
        let mut members: Vec<LeafId> = Vec::new();
        for op in 0..1500 {
            let grow = op % 500 < 300;
            match rng.below(10) {
                0..=5 if grow || members.len() < 3 => {
                    let (leaf, plan) = tree.join(rng.below(3) == 0).unwrap();
                    if let Some(plan) = plan {
                        tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                    }
                    members.push(leaf);
                }
                0..=7 if !members.is_empty() => {
                    let k = if rng.below(4) == 0 {
                        1 + rng.below(members.len().min(9))
                    } else {
                        1
                    };
                    let mut batch = Vec::new();
                    for _ in 0..k {
                        batch.push(members.swap_remove(rng.below(members.len())));
                    }
                    let plan = tree.exclude(&batch).unwrap();
                    tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                    let n = tree.member_count() as u64;
                    assert!(tree.depth() <= ceil_log(n, degree as u64) + 1);
                }
                8 if !members.is_empty() => {
                    let leaf = members.swap_remove(rng.below(members.len()));
                    tree.free_leaf(leaf).unwrap();
                }
                _ => {
                    let plan = tree.exclude(&[]).unwrap();
                    tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                }
            }
            tree.assert_invariants();
            assert_eq!(tree.member_count() as usize, members.len());
            for &m in members.iter().take(5) {
                let path = tree.path(m).unwrap();
                assert_eq!(path.len(), tree.depth());
                assert_eq!(*path.last().unwrap(), m.key_id());
            }
        }
    }
}

#[test]
fn registration_cache_is_swept() {
    let keymat = [1u8; 32];
    let mut tree = LkhTree::with_capacity(2, 16, 256).unwrap();
    let mut members = Vec::new();
    for _ in 0..256 {
        let (leaf, _) = tree.join(false).unwrap();
        tree.registration_keys(leaf, Kwa::Kw5649_128, &keymat)
            .unwrap();
        members.push(leaf);
    }
    // Internal edges (254 - 2 tops ... ) and the two SA_KEY wraps.
    let warm = tree.cached_wraps();
    assert!(warm > 100, "{warm}");
    let mut rng = Rng(99);
    for _ in 0..200 {
        let leaf = members.swap_remove(rng.below(members.len()));
        let plan = tree.exclude(&[leaf]).unwrap();
        tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
        tree.assert_invariants();
    }
    // Dead entries do not pile up: at most the live internal edges plus what was retired
    // since the last sweep.
    assert!(
        tree.cached_wraps() <= 2 * tree.node_count(),
        "{}",
        tree.cached_wraps()
    );
    // And a different keying material drops the SA_KEY wraps.
    let before = tree.cached_wraps();
    tree.registration_keys(members[0], Kwa::Kw5649_128, &[2u8; 32])
        .unwrap();
    assert!(tree.cached_wraps() <= before + tree.depth());
}

/// Everything an exclusion may change, keys included: shape, Key IDs, member counts,
/// keys, counters, free/departed/pending lists and the Key ID index.
#[allow(clippy::type_complexity)]
fn fingerprint(
    t: &LkhTree,
) -> (
    Vec<(Vec<u32>, Vec<u32>, Vec<u8>)>,
    (u32, u32),
    Vec<u32>,
    Vec<u32>,
    Vec<u32>,
    Vec<(u32, Option<super::storage::Pos>)>,
) {
    let levels = t
        .levels
        .iter()
        .map(|l| {
            let keys: Vec<u8> = (0..l.len()).flat_map(|i| l.keys.get(i).to_vec()).collect();
            (l.ids.clone(), l.members.clone(), keys)
        })
        .collect();
    let mut holes: Vec<u32> = t.holes.iter().map(|r| r.0).collect();
    holes.sort_unstable();
    let index = t.index.ids().map(|id| (id, t.index.get(id))).collect();
    (
        levels,
        (t.member_count, t.cursor),
        holes,
        t.departed.clone(),
        t.pending.clone(),
        index,
    )
}

/// An exclusion undone leaves no trace but the Key IDs it used: over a long random run
/// for every degree (growth, departed leaves, pending nodes, batches and compactions),
/// each exclusion is first made, wrapped and undone, and the tree must equal its earlier
/// self; the exclusion made again gives a plan of the same shape.
#[test]
fn undone_exclusions_leave_the_tree_as_it_was() {
    let keymat = [9u8; 48];
    let mut compactions = 0;
    for degree in 2..=8 {
        let mut rng = Rng(0x0bad_cafe + degree as u64);
        let mut tree = LkhTree::with_capacity(degree, 16, degree as u32).unwrap();
        let mut members: Vec<LeafId> = Vec::new();
        for op in 0..600 {
            let grow = op % 200 < 120;
            match rng.below(10) {
                0..=5 if grow || members.len() < 3 => {
                    let (leaf, plan) = tree.join(rng.below(4) == 0).unwrap();
                    if let Some(plan) = plan {
                        tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                    }
                    members.push(leaf);
                }
                6 if !members.is_empty() => {
                    let leaf = members.swap_remove(rng.below(members.len()));
                    tree.free_leaf(leaf).unwrap();
                }
                _ => {
                    let k = rng.below(members.len().min(12) + 1);
                    let mut batch = Vec::new();
                    for _ in 0..k {
                        batch.push(members.swap_remove(rng.below(members.len())));
                    }
                    let before = fingerprint(&tree);
                    let next_id = tree.next_key_id();
                    let (plan, undo) = tree.exclude_undoable(&batch).unwrap();
                    tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                    if !undo.removed_levels.is_empty() || !undo.tails.is_empty() {
                        compactions += 1;
                    }
                    tree.undo_exclusion(undo).unwrap();
                    tree.assert_invariants();
                    assert!(fingerprint(&tree) == before, "degree {degree}, op {op}");
                    assert!(
                        tree.next_key_id() >= next_id,
                        "Key IDs are never handed back"
                    );
                    let again = tree.exclude(&batch).unwrap();
                    assert_eq!(again.sa_key_count(), plan.sa_key_count());
                    assert_eq!(again.wrap_key_count(), plan.wrap_key_count());
                    tree.wrap_plan(&again, Kwa::Kw5649_128, &keymat).unwrap();
                }
            }
            tree.assert_invariants();
            assert_eq!(tree.member_count() as usize, members.len());
        }
    }
    assert!(compactions > 20, "compactions undone: {compactions}");
}

/// An undo applies only right after its exclusion.
#[test]
fn a_stale_undo_is_refused() {
    let mut tree = LkhTree::with_capacity(2, 16, 8).unwrap();
    let leaves: Vec<LeafId> = (0..8).map(|_| tree.join(false).unwrap().0).collect();
    let (_, undo) = tree.exclude_undoable(&leaves[..1]).unwrap();
    tree.join(false).unwrap();
    let before = fingerprint(&tree);
    assert_eq!(
        tree.undo_exclusion(undo).err(),
        Some(super::LkhError::StaleUndo)
    );
    assert!(fingerprint(&tree) == before);
}

/// Runs each job on a scoped thread, last job first.
struct ReversedThreads(usize);

impl crate::executor::Executor for ReversedThreads {
    fn parallelism(&self) -> usize {
        self.0
    }
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for i in (0..n).rev() {
                s.spawn(move || job(i));
            }
        });
    }
}

/// Runs every job but the first.
struct SkipsFirst;

impl crate::executor::Executor for SkipsFirst {
    fn parallelism(&self) -> usize {
        4
    }
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        (1..n).for_each(job);
    }
}

#[test]
fn wraps_on_an_executor_equal_the_sequential_ones() {
    let mut tree = LkhTree::with_capacity(4, 32, 20_000).unwrap();
    let leaves: Vec<LeafId> = (0..20_000).map(|_| tree.join(false).unwrap().0).collect();
    let mut rng = Rng(0xE8EC);
    let mut batch: Vec<LeafId> = (0..150).map(|_| leaves[rng.below(leaves.len())]).collect();
    batch.sort_unstable_by_key(|l| l.0);
    batch.dedup();
    let plan = tree.exclude(&batch).unwrap();
    // Enough wraps for several jobs (at least 128 each).
    assert!(plan.wrap_key_count() > 4 * 128, "{}", plan.wrap_key_count());
    let keymat = [7u8; 64];
    let sequential = tree.wrap_plan(&plan, Kwa::Kw5649_256, &keymat).unwrap();
    let threaded = tree
        .wrap_plan_on(&plan, Kwa::Kw5649_256, &keymat, &ReversedThreads(4))
        .unwrap();
    assert_eq!(sequential, threaded);
    assert_eq!(
        tree.wrap_plan_on(&plan, Kwa::Kw5649_256, &keymat, &SkipsFirst),
        Err(super::LkhError::Executor(
            crate::executor::ExecutorError::JobNotRun { index: 0, jobs: 4 }
        ))
    );
}

/// Every member's path and keys, by leaf.
fn member_keys(t: &LkhTree, members: &[LeafId]) -> Vec<(Vec<u32>, Vec<Vec<u8>>)> {
    members
        .iter()
        .map(|&m| {
            let path = t.path(m).unwrap();
            let keys = path
                .iter()
                .map(|&id| t.key(id).unwrap().as_bytes().to_vec())
                .collect();
            (path, keys)
        })
        .collect()
}

/// Plans limited to one KD payload (docs/decisions.md L10, L11), over a random run for
/// every degree: joins with backward access control (some undone), leaves, exclusions and
/// refreshes of departed paths. No plan carries more WRAP_KEYs than the limit, a refresh
/// always makes progress, and once no departed path is left, no key any member that left
/// held is still in the tree. An undone join leaves every member's path and keys, and the
/// departed list, as they were.
#[test]
fn budgeted_plans_refresh_departed_paths_in_steps() {
    const BUDGET: usize = 64;
    let keymat = [5u8; 48];
    let mut steps = 0;
    let mut undone_joins = 0;
    for degree in 2..=8 {
        let mut rng = Rng(0xde9a_17ed + degree as u64);
        let mut tree = LkhTree::with_capacity(degree, 16, degree as u32).unwrap();
        let mut members: Vec<LeafId> = Vec::new();
        // Key IDs known to members that left, until their paths are refreshed.
        let mut known: Vec<u32> = Vec::new();
        for op in 0..500 {
            let grow = op % 250 < 180;
            match rng.below(10) {
                0..=3 if grow || members.len() < 3 => {
                    let bac = rng.below(2) == 0;
                    let undo_it = bac && rng.below(3) == 0;
                    let before = member_keys(&tree, &members);
                    let departed = tree.departed.clone();
                    let pending = tree.pending.clone();
                    let (leaf, planned) = tree.join_undoable(bac, BUDGET).unwrap();
                    match planned {
                        Some((plan, undo)) => {
                            assert!(plan.wrap_key_count() <= BUDGET, "{}", plan.wrap_key_count());
                            tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                            if undo_it {
                                tree.undo_exclusion(undo).unwrap();
                                undone_joins += 1;
                                assert!(!tree.is_member(leaf));
                                // A level the join grew stays on top of every path.
                                let after = member_keys(&tree, &members);
                                for ((p0, k0), (p1, k1)) in before.iter().zip(&after) {
                                    assert!(p1.ends_with(p0) && k1.ends_with(k0));
                                    assert!(p1.len() - p0.len() <= 1);
                                }
                                assert_eq!(tree.departed, departed);
                                assert!(pending.iter().all(|p| tree.pending.contains(p)));
                            } else {
                                members.push(leaf);
                            }
                        }
                        None => members.push(leaf),
                    }
                }
                4..=5 if !members.is_empty() => {
                    let leaf = members.swap_remove(rng.below(members.len()));
                    known.extend(tree.path(leaf).unwrap());
                    tree.free_leaf(leaf).unwrap();
                }
                6..=7 if members.len() > 1 => {
                    let leaf = members.swap_remove(rng.below(members.len()));
                    let (plan, _) = tree.exclude_undoable_within(&[leaf], BUDGET).unwrap();
                    assert!(plan.wrap_key_count() <= BUDGET, "{}", plan.wrap_key_count());
                    tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                }
                _ => {
                    while tree.departed_count() > 0 {
                        let left = tree.departed_count();
                        let (plan, _) = tree.exclude_undoable_within(&[], BUDGET).unwrap();
                        assert!(plan.wrap_key_count() <= BUDGET, "{}", plan.wrap_key_count());
                        assert!(tree.departed_count() < left, "progress");
                        tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                        steps += 1;
                    }
                }
            }
            tree.assert_invariants();
            assert_eq!(tree.member_count() as usize, members.len());
            if tree.departed_count() == 0 {
                for id in known.drain(..) {
                    assert!(tree.key(id).is_none(), "degree {degree}, op {op}: key {id}");
                }
            }
        }
    }
    assert!(
        steps > 100 && undone_joins > 20,
        "{steps} steps, {undone_joins} undone joins"
    );
}

/// A refresh whose departed paths do not all fit takes the leftmost ones and keeps the
/// rest; with a limit below any path it still takes one (progress).
#[test]
fn a_refresh_takes_departed_leaves_from_the_left() {
    let mut tree = LkhTree::with_capacity(4, 16, 256).unwrap();
    let leaves: Vec<LeafId> = (0..256).map(|_| tree.join(false).unwrap().0).collect();
    for &l in leaves.iter().step_by(16) {
        tree.free_leaf(l).unwrap();
    }
    assert_eq!(tree.departed_count(), 16);
    let (plan, _) = tree.exclude_undoable_within(&[], 30).unwrap();
    assert!(plan.wrap_key_count() <= 30);
    let left = tree.departed.clone();
    assert!(!left.is_empty() && left.len() < 16);
    assert!(left.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*left.last().unwrap(), 240, "the rightmost wait");
    let (plan, _) = tree.exclude_undoable_within(&[], 1).unwrap();
    assert!(plan.wrap_key_count() > 1);
    assert_eq!(tree.departed.len(), left.len() - 1);
    assert!(!tree.departed.contains(&left[0]));
    tree.assert_invariants();
}

/// `exclusion_chunks` (docs/decisions.md K32): the runs cover the batch in order, none has
/// more than the member limit, and the plan each run's KEK change really makes (applied one
/// after the other, departed paths left aside) stays within the WRAP_KEY limit whenever the
/// run has more than one leaf; a limit below one path gives runs of one leaf.
#[test]
fn exclusion_chunks_fit_the_limit_when_applied_in_order() {
    let keymat = [9u8; 48];
    for degree in 2..=8 {
        for budget in [1usize, 40, 150, 400] {
            let mut rng = Rng(0x5eed_c4a7 + (degree * 1000 + budget) as u64);
            let mut tree = LkhTree::with_capacity(degree, 16, 0).unwrap();
            let mut members: Vec<LeafId> = (0..3000).map(|_| tree.join(false).unwrap().0).collect();
            let plan = tree.exclude(&[]).unwrap();
            tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
            let mut batch = Vec::new();
            for _ in 0..200 {
                batch.push(members.swap_remove(rng.below(members.len())));
            }
            let runs = tree.exclusion_chunks(&batch, 32, budget).unwrap();
            assert_eq!(runs.iter().sum::<usize>(), batch.len());
            assert!(runs.iter().all(|&n| (1..=32).contains(&n)), "{runs:?}");
            if budget == 1 {
                assert!(runs.iter().all(|&n| n == 1));
            } else if budget >= 150 {
                assert!(runs.iter().any(|&n| n > 1), "{runs:?}");
            }
            let mut at = 0;
            for n in runs {
                let (plan, _undo) = tree
                    .exclude_undoable_within(&batch[at..at + n], usize::MAX)
                    .unwrap();
                if n > 1 {
                    assert!(
                        plan.wrap_key_count() <= budget,
                        "degree {degree}: {} WRAP_KEYs for {n} leaves, limit {budget}",
                        plan.wrap_key_count()
                    );
                }
                tree.wrap_plan(&plan, Kwa::Kw5649_128, &keymat).unwrap();
                at += n;
            }
            tree.assert_invariants();
        }
    }
}
