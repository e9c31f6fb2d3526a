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
