//! Inputs the LKH layer must reject, and proof that a rejection changes nothing: the
//! member's Working Key Path (RFC 9838 §4.2) and the key server's tree stay as they were.

use gikev2::crypto::keywrap::{unwrap, wrap, KeyWrapper, Kwa};
use gikev2::crypto::{CryptoError, Key, KeyMaterial};
use gikev2::lkh::{
    LeafId, LkhError, LkhTree, PathError, WorkingKeyPath, WrappedKeyIn, WrappedKeyOut, MAX_MEMBERS,
    MAX_PATH_LEN, MAX_SA_KEYS, MAX_WRAP_KEYS,
};

const KWA: Kwa = Kwa::Kw5649_256;

fn inputs(v: &[WrappedKeyOut]) -> Vec<WrappedKeyIn<'_>> {
    v.iter().map(WrappedKeyOut::as_input).collect()
}

/// The Appendix A.2 tree with all eight members registered; returns the tree, the leaves
/// and the Working Key Paths.
fn a2() -> (LkhTree, Vec<LeafId>, Vec<WorkingKeyPath>, KeyMaterial) {
    let mut tree = LkhTree::with_capacity(2, 32, 8).unwrap();
    let keymat = KeyMaterial::random(64).unwrap();
    let (mut leaves, mut paths) = (Vec::new(), Vec::new());
    for _ in 0..8 {
        let (leaf, _) = tree.join(false).unwrap();
        let (sa, mut wk, _) = tree
            .registration_keys(leaf, KWA, keymat.as_bytes())
            .unwrap();
        let gsk_w = Key::random(32).unwrap();
        wk.push(
            tree.wrap_leaf_key(leaf, &mut KeyWrapper::new(KWA, gsk_w.as_bytes()).unwrap())
                .unwrap(),
        );
        let (path, _) = WorkingKeyPath::from_registration(sa.as_input(), &inputs(&wk), KWA, |d| {
            unwrap(KWA, gsk_w.as_bytes(), d)
        })
        .unwrap();
        leaves.push(leaf);
        paths.push(path);
    }
    (tree, leaves, paths, keymat)
}

/// Runs `apply_rekey` on `path`, expects `want`, and checks the path did not change.
fn rejected(
    path: &mut WorkingKeyPath,
    sa: &[WrappedKeyIn<'_>],
    wraps: &[WrappedKeyIn<'_>],
    want: impl Fn(&PathError) -> bool,
) {
    let before = path.duplicate();
    let err = path.apply_rekey(sa, wraps, KWA, None).unwrap_err();
    assert!(want(&err), "unexpected error {err:?}");
    assert_eq!(path.ids(), before.ids());
    for id in before.ids() {
        assert!(path.key(id).unwrap().ct_eq(before.key(id).unwrap()));
    }
}

fn wrapped(key_id: u32, kwk_id: u32, kwk: &[u8], data: &[u8]) -> WrappedKeyOut {
    WrappedKeyOut {
        key_id,
        kwk_id,
        encrypted: wrap(KWA, kwk, data).unwrap(),
    }
}

/// The A.4 exclusion message.
fn a4_message(tree: &mut LkhTree, f: LeafId) -> (Vec<WrappedKeyOut>, Vec<WrappedKeyOut>) {
    let plan = tree.exclude(&[f]).unwrap();
    let keymat = KeyMaterial::random(64).unwrap();
    tree.wrap_plan(&plan, KWA, keymat.as_bytes()).unwrap()
}

#[test]
fn tampered_wrap_key_is_rejected_and_changes_nothing() {
    let (mut tree, leaves, mut paths, _) = a2();
    let (sa, mut wraps) = a4_message(&mut tree, leaves[5]);
    let i = wraps
        .iter()
        .position(|w| (w.key_id, w.kwk_id) == (16, 11))
        .unwrap();
    wraps[i].encrypted[9] ^= 1;
    let e = &mut paths[4];
    rejected(e, &inputs(&sa), &inputs(&wraps), |err| {
        matches!(
            err,
            PathError::Unwrap {
                key_id: 16,
                kwk_id: 11,
                error: CryptoError::UnwrapFailed
            }
        )
    });
    assert_eq!(e.ids(), vec![2, 5, 11]);
    // G is not affected by the tampered element.
    paths[6]
        .apply_rekey(&inputs(&sa), &inputs(&wraps), KWA, None)
        .unwrap();
    assert_eq!(paths[6].ids(), vec![15, 6, 13]);
}

#[test]
fn tampered_sa_key_is_rejected() {
    let (mut tree, leaves, mut paths, _) = a2();
    let (mut sa, wraps) = a4_message(&mut tree, leaves[5]);
    sa[0].encrypted[0] ^= 0x80;
    rejected(&mut paths[0], &inputs(&sa), &inputs(&wraps), |err| {
        matches!(
            err,
            PathError::Unwrap {
                key_id: 0,
                kwk_id: 1,
                ..
            }
        )
    });
}

#[test]
fn wrong_key_length_is_rejected() {
    let (tree, _, mut paths, _) = a2();
    let k1 = tree.key(1).unwrap();
    let k7 = tree.key(7).unwrap();
    // A 16-octet "key" 16 under A's leaf key 7, and the keymat under 16.
    let short = [0x42u8; 16];
    let sa = [wrapped(0, 16, &[0x42; 32], &[1; 64])];
    let wraps = [wrapped(16, 7, k7.as_bytes(), &short)];
    rejected(&mut paths[0], &inputs(&sa), &inputs(&wraps), |err| {
        *err == PathError::WrongKeyLength {
            key_id: 16,
            expected: 32,
            got: 16,
        }
    });
    // A 48-octet one under key 1.
    let wraps = [wrapped(16, 1, k1.as_bytes(), &[7; 48])];
    rejected(&mut paths[0], &inputs(&sa), &inputs(&wraps), |err| {
        matches!(err, PathError::WrongKeyLength { got: 48, .. })
    });
}

#[test]
fn cycle_is_rejected() {
    let (_, _, mut paths, _) = a2();
    // A holds 1, 3, 7; WRAP_KEY(5,6), WRAP_KEY(6,5) lead nowhere but round.
    let sa = [wrapped(0, 5, &[5; 32], &[1; 64])];
    let wraps = [
        wrapped(5, 6, &[6; 32], &[5; 32]),
        wrapped(6, 5, &[5; 32], &[6; 32]),
    ];
    rejected(&mut paths[0], &inputs(&sa), &inputs(&wraps), |err| {
        matches!(err, PathError::Cycle { key_id: 5 | 6 })
    });
    // At registration too.
    let r = WorkingKeyPath::from_registration(sa[0].as_input(), &inputs(&wraps), KWA, |_| {
        panic!("GSK_w is never reached")
    });
    assert!(matches!(r.err(), Some(PathError::Cycle { .. })));
    // A cycle next to a valid chain does not matter.
    let k3 = Key::from_slice(paths[0].key(3).unwrap().as_bytes()).unwrap();
    let new1 = [9u8; 32];
    let keymat = [4u8; 64];
    let sa = [
        wrapped(0, 5, &[5; 32], &[1; 64]),
        wrapped(0, 20, &new1, &keymat),
    ];
    let wraps = [
        wrapped(5, 6, &[6; 32], &[5; 32]),
        wrapped(6, 5, &[5; 32], &[6; 32]),
        wrapped(20, 3, k3.as_bytes(), &new1),
    ];
    let got = paths[0]
        .apply_rekey(&inputs(&sa), &inputs(&wraps), KWA, None)
        .unwrap();
    assert_eq!(got.as_bytes(), &keymat);
    assert_eq!(paths[0].ids(), vec![20, 3, 7]);
}

#[test]
fn sa_key_under_unknown_kwk() {
    let (_, _, mut paths, _) = a2();
    let sa = [wrapped(0, 999, &[3; 32], &[1; 64])];
    rejected(&mut paths[2], &inputs(&sa), &[], |err| {
        *err == PathError::Excluded
    });
    let r = WorkingKeyPath::from_registration(sa[0].as_input(), &[], KWA, |_| {
        panic!("GSK_w is never reached")
    });
    assert_eq!(r.err(), Some(PathError::UnknownKwk { kwk_id: 999 }));
    // A registration chain that stops at a key nobody provides.
    let wraps = [wrapped(999, 500, &[3; 32], &[3; 32])];
    let r = WorkingKeyPath::from_registration(sa[0].as_input(), &inputs(&wraps), KWA, |_| {
        panic!("GSK_w is never reached")
    });
    assert_eq!(r.err(), Some(PathError::UnknownKwk { kwk_id: 500 }));
}

#[test]
fn malformed_ids_and_counts() {
    let (_, _, mut paths, _) = a2();
    let good_sa = wrapped(0, 1, &[1; 32], &[1; 64]);
    let p = &mut paths[0];
    rejected(p, &[], &[], |e| *e == PathError::NoSaKey);
    let sa = [wrapped(3, 1, &[1; 32], &[1; 64])];
    rejected(p, &inputs(&sa), &[], |e| {
        *e == PathError::InvalidKeyId {
            key_id: 3,
            kwk_id: 1,
        }
    });
    for (k, kwk) in [(0, 3), (5, 5)] {
        let w = [wrapped(k, kwk, &[1; 32], &[1; 32])];
        rejected(p, &[good_sa.as_input()], &inputs(&w), |e| {
            *e == PathError::InvalidKeyId {
                key_id: k,
                kwk_id: kwk,
            }
        });
    }
    let blob = [0u8; 40];
    let many = vec![
        WrappedKeyIn {
            key_id: 0,
            kwk_id: 1,
            encrypted: &blob,
        };
        MAX_SA_KEYS + 1
    ];
    rejected(p, &many, &[], |e| {
        matches!(
            e,
            PathError::Limit {
                what: "SA_KEYs",
                ..
            }
        )
    });
    let many = vec![
        WrappedKeyIn {
            key_id: 9,
            kwk_id: 1,
            encrypted: &blob,
        };
        MAX_WRAP_KEYS + 1
    ];
    rejected(p, &[good_sa.as_input()], &many, |e| {
        matches!(
            e,
            PathError::Limit {
                what: "WRAP_KEYs",
                ..
            }
        )
    });
}

#[test]
fn overlong_chain_is_rejected() {
    let (_, _, mut paths, _) = a2();
    let k7 = Key::from_slice(paths[0].key(7).unwrap().as_bytes()).unwrap();
    // Keys 1000.. each wrapped under the next, the last under A's leaf key 7.
    let n = MAX_PATH_LEN + 2;
    let keys: Vec<Key> = (0..n).map(|_| Key::random(32).unwrap()).collect();
    let mut wraps = Vec::new();
    for i in 0..n {
        let (kwk_id, kwk) = if i + 1 < n {
            (1001 + i as u32, keys[i + 1].as_bytes())
        } else {
            (7, k7.as_bytes())
        };
        wraps.push(wrapped(1000 + i as u32, kwk_id, kwk, keys[i].as_bytes()));
    }
    let sa = [wrapped(0, 1000, keys[0].as_bytes(), &[1; 64])];
    rejected(&mut paths[0], &inputs(&sa), &inputs(&wraps), |e| {
        matches!(e, PathError::Limit { .. })
    });
}

#[test]
fn failed_sa_key_falls_through_to_the_next() {
    let (tree, _, mut paths, _) = a2();
    let k3 = tree.key(3).unwrap();
    let keymat = [0x5au8; 64];
    let mut first = wrapped(0, 1, tree.key(1).unwrap().as_bytes(), &keymat);
    first.encrypted[3] ^= 4;
    let second = wrapped(0, 3, k3.as_bytes(), &keymat);
    let got = paths[0]
        .apply_rekey(&[first.as_input(), second.as_input()], &[], KWA, None)
        .unwrap();
    assert_eq!(got.as_bytes(), &keymat);
    assert_eq!(paths[0].ids(), vec![1, 3, 7], "empty new path: no change");
}

#[test]
fn tree_parameters_are_checked() {
    for d in [0, 1, 9, 100] {
        assert_eq!(
            LkhTree::with_capacity(d, 32, 8).err(),
            Some(LkhError::DegreeOutOfRange { degree: d })
        );
    }
    for len in [0, 8, 20, 33, 64] {
        assert_eq!(
            LkhTree::with_capacity(2, len, 8).err(),
            Some(LkhError::KeyLength { len })
        );
    }
    assert!(matches!(
        LkhTree::with_capacity(2, 32, MAX_MEMBERS + 1).err(),
        Some(LkhError::TooManyMembers { .. })
    ));
    for len in [16, 24, 32] {
        assert!(LkhTree::with_capacity(8, len, 100).is_ok());
    }
}

#[test]
fn kwa_must_match_the_key_length() {
    let (mut tree, leaves, _, keymat) = a2();
    let want = Some(LkhError::KwaMismatch {
        kwa_key_len: 16,
        tree_key_len: 32,
    });
    assert_eq!(
        tree.registration_keys(leaves[0], Kwa::Kw5649_128, keymat.as_bytes())
            .err(),
        want
    );
    let plan = tree.exclude(&[leaves[1]]).unwrap();
    assert_eq!(
        tree.wrap_plan(&plan, Kwa::Kw5649_128, keymat.as_bytes())
            .err(),
        want
    );
    assert!(matches!(
        tree.wrap_plan(&plan, Kwa::KwArx, keymat.as_bytes()).err(),
        Some(LkhError::Crypto(CryptoError::Unsupported(_)))
    ));
    // The plan is still good.
    assert!(tree.wrap_plan(&plan, KWA, keymat.as_bytes()).is_ok());
}

#[test]
fn unknown_and_vacant_leaves() {
    let (mut tree, leaves, _, keymat) = a2();
    let ids = tree.key_ids();
    for leaf in [
        LeafId::from_key_id(0),
        LeafId::from_key_id(3),
        LeafId::from_key_id(99),
    ] {
        assert_eq!(
            tree.exclude(&[leaf]).err(),
            Some(LkhError::UnknownLeaf(leaf))
        );
        assert_eq!(tree.path(leaf).err(), Some(LkhError::UnknownLeaf(leaf)));
        assert!(tree.leaf_key(leaf).is_err());
        assert!(tree
            .registration_keys(leaf, KWA, keymat.as_bytes())
            .is_err());
    }
    // A batch with one bad leaf excludes nobody.
    let bad = LeafId::from_key_id(99);
    assert!(tree.exclude(&[leaves[0], bad]).is_err());
    assert!(tree.is_member(leaves[0]));
    assert_eq!(tree.key_ids(), ids);
    assert_eq!(tree.member_count(), 8);
    // A pre-built leaf nobody joined yet.
    let mut t = LkhTree::with_capacity(2, 32, 4).unwrap();
    let prebuilt = LeafId::from_key_id(6);
    assert_eq!(
        t.exclude(&[prebuilt]).err(),
        Some(LkhError::LeafNotOccupied(prebuilt))
    );
    assert_eq!(
        t.free_leaf(prebuilt).err(),
        Some(LkhError::LeafNotOccupied(prebuilt))
    );
    // Round trip through the number.
    assert_eq!(LeafId::from_key_id(leaves[2].key_id()), leaves[2]);
}

#[test]
fn stale_plan_is_refused() {
    let (mut tree, leaves, _, keymat) = a2();
    let plan_a = tree.exclude(&[leaves[0]]).unwrap();
    let _plan_b = tree.exclude(&[leaves[1]]).unwrap(); // replaces 3's successor and 1's
    assert!(matches!(
        tree.wrap_plan(&plan_a, KWA, keymat.as_bytes()).err(),
        Some(LkhError::StalePlan { .. })
    ));
}

#[test]
fn key_id_exhaustion_fails_without_change() {
    // Exactly 14 IDs left: the A.2 tree fits, nothing more does.
    assert_eq!(
        LkhTree::with_capacity_from(2, 32, 8, u32::MAX - 12).err(),
        Some(LkhError::KeyIdsExhausted)
    );
    let mut tree = LkhTree::with_capacity_from(2, 32, 8, u32::MAX - 13).unwrap();
    assert_eq!(tree.next_key_id(), None);
    let mut leaves = Vec::new();
    for _ in 0..8 {
        leaves.push(tree.join(false).unwrap().0);
    }
    assert_eq!(tree.top_ids(), vec![u32::MAX - 13, u32::MAX - 12]);
    let ids = tree.key_ids();
    let paths: Vec<_> = leaves.iter().map(|l| tree.path(*l).unwrap()).collect();
    assert_eq!(
        tree.exclude(&[leaves[5]]).err(),
        Some(LkhError::KeyIdsExhausted)
    );
    assert_eq!(tree.join(false).err(), Some(LkhError::KeyIdsExhausted));
    assert_eq!(tree.key_ids(), ids);
    assert_eq!(tree.member_count(), 8);
    for (l, p) in leaves.iter().zip(&paths) {
        assert_eq!(&tree.path(*l).unwrap(), p);
    }
    // free_leaf needs no ID; joining its slot then does.
    tree.free_leaf(leaves[0]).unwrap();
    assert_eq!(tree.join(true).err(), Some(LkhError::KeyIdsExhausted));
    assert_eq!(tree.member_count(), 7);
}

#[test]
fn errors_display_without_key_material() {
    let e = LkhError::StalePlan { key_id: 5 };
    assert_eq!(e.to_string(), "rekey plan is stale: key 5 changed");
    let e = PathError::Unwrap {
        key_id: 16,
        kwk_id: 11,
        error: CryptoError::UnwrapFailed,
    };
    assert_eq!(
        e.to_string(),
        "unwrapping key 16 under 11 failed: key unwrap failed"
    );
    assert!(std::error::Error::source(&e).is_some());
    let tree = LkhTree::with_capacity(4, 16, 10).unwrap();
    let dbg = format!("{tree:?}");
    assert!(
        dbg.contains("degree: 4") && dbg.contains("members: 0"),
        "{dbg}"
    );
}
