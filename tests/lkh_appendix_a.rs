//! RFC 9838 Appendix A (LKH) reproduced end to end with real keys and real RFC 5649 wraps:
//! group creation and registration downloads (A.2), a simple rekey (A.3) and the exclusion
//! of member F (A.4). Every member's `WorkingKeyPath` processes the actual wrapped output.

use gikev2::crypto::keywrap::{unwrap, wrap, KeyWrapper, Kwa};
use gikev2::crypto::{Key, KeyMaterial};
use gikev2::lkh::{LeafId, LkhTree, PathError, WorkingKeyPath, WrappedKeyIn, WrappedKeyOut};

/// The Rekey SA's key wrap algorithm: 32-octet KWKs, so 32-octet LKH keys.
const KWA: Kwa = Kwa::Kw5649_256;
/// Rekey SA KEYMAT = GSK_e (32) | GSK_a (0, AEAD) | GSK_w (32), RFC 9838 §3.4.
const KEYMAT_LEN: usize = 64;

struct Member {
    name: char,
    leaf: LeafId,
    path: WorkingKeyPath,
}

fn inputs(v: &[WrappedKeyOut]) -> Vec<WrappedKeyIn<'_>> {
    v.iter().map(WrappedKeyOut::as_input).collect()
}

fn ids(v: &[WrappedKeyOut]) -> Vec<(u32, u32)> {
    v.iter().map(|w| (w.key_id, w.kwk_id)).collect()
}

/// GSK_w of a Rekey SA: the last 32 octets of its KEYMAT.
fn rekey_gsk_w(keymat: &KeyMaterial) -> Key {
    Key::from_slice(&keymat.as_bytes()[KEYMAT_LEN - 32..]).unwrap()
}

/// Members A..H join the A.2 tree in order and register. Odd members' IKE SAs use
/// KW_5649_128, the others KW_5649_256: wraps under GSK_w follow the IKE SA's KWA, wraps
/// under LKH keys the Rekey SA's (Q2).
fn group_a2(keymat1: &KeyMaterial) -> (LkhTree, Vec<Member>) {
    let mut tree = LkhTree::with_capacity(2, 32, 8).unwrap();
    assert_eq!(tree.depth(), 3);
    assert_eq!(tree.top_ids(), vec![1, 2]);
    assert_eq!(tree.key_ids(), (1..=14).collect::<Vec<u32>>());
    let mut members = Vec::new();
    for (i, name) in ('A'..='H').enumerate() {
        let (leaf, plan) = tree.join(false).unwrap();
        assert!(plan.is_none());
        assert_eq!(leaf.key_id(), 7 + i as u32, "member {name}");

        let (sa_key, mut wrap_keys, leaf_id) = tree
            .registration_keys(leaf, KWA, keymat1.as_bytes())
            .unwrap();
        assert_eq!(leaf_id, leaf.key_id());
        // The IKE SA's GSK_w and KWA.
        let ike_kwa = if i % 2 == 0 {
            Kwa::Kw5649_256
        } else {
            Kwa::Kw5649_128
        };
        let gsk_w = Key::random(ike_kwa.kwk_len()).unwrap();
        let mut wrapper = KeyWrapper::new(ike_kwa, gsk_w.as_bytes()).unwrap();
        let leaf_wrap = tree.wrap_leaf_key(leaf, &mut wrapper).unwrap();
        // Same as wrapping leaf_key() by hand.
        let by_hand = wrap(
            ike_kwa,
            gsk_w.as_bytes(),
            tree.leaf_key(leaf).unwrap().as_bytes(),
        );
        assert_eq!(leaf_wrap.encrypted, by_hand.unwrap());
        assert_eq!((leaf_wrap.key_id, leaf_wrap.kwk_id), (leaf_id, 0));
        wrap_keys.push(leaf_wrap);

        if name == 'A' {
            // KD( GP(SA1)( 1{K_sa1} ), MP( 3{1}, 7{3}, GSK_w{7} ) )
            assert_eq!((sa_key.key_id, sa_key.kwk_id), (0, 1));
            assert_eq!(ids(&wrap_keys), vec![(1, 3), (3, 7), (7, 0)]);
            assert_eq!(sa_key.encrypted.len(), 8 + KEYMAT_LEN);
            assert!(wrap_keys.iter().all(|w| w.encrypted.len() == 40));
        }

        let (path, keymat) = WorkingKeyPath::from_registration(
            sa_key.as_input(),
            &inputs(&wrap_keys),
            KWA,
            |data| unwrap(ike_kwa, gsk_w.as_bytes(), data),
        )
        .unwrap();
        assert!(keymat.ct_eq(keymat1), "member {name} keymat");
        members.push(Member { name, leaf, path });
    }
    (tree, members)
}

fn assert_paths(tree: &LkhTree, members: &[Member], expected: &[(char, [u32; 3])]) {
    for &(name, want) in expected {
        let m = members.iter().find(|m| m.name == name).unwrap();
        assert_eq!(m.path.ids(), want.to_vec(), "Working Key Path of {name}");
        assert_eq!(
            tree.path(m.leaf).unwrap(),
            want.to_vec(),
            "tree path of {name}"
        );
        for id in want {
            let held = m.path.key(id).unwrap();
            assert!(held.ct_eq(&tree.key(id).unwrap()), "{name} key {id}");
        }
    }
}

const A2_PATHS: [(char, [u32; 3]); 8] = [
    ('A', [1, 3, 7]),
    ('B', [1, 3, 8]),
    ('C', [1, 4, 9]),
    ('D', [1, 4, 10]),
    ('E', [2, 5, 11]),
    ('F', [2, 5, 12]),
    ('G', [2, 6, 13]),
    ('H', [2, 6, 14]),
];

#[test]
fn a2_group_creation_and_registration() {
    let keymat1 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (tree, members) = group_a2(&keymat1);
    assert_eq!(tree.member_count(), 8);
    assert_paths(&tree, &members, &A2_PATHS);
}

#[test]
fn a2_registration_cache_gives_identical_downloads() {
    let keymat1 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (mut tree, members) = group_a2(&keymat1);
    assert!(tree.cached_wraps() > 0);
    let b = &members[1];
    let first = tree
        .registration_keys(b.leaf, KWA, keymat1.as_bytes())
        .unwrap();
    tree.clear_registration_cache();
    let again = tree
        .registration_keys(b.leaf, KWA, keymat1.as_bytes())
        .unwrap();
    assert_eq!(first, again);
    // B: SA_KEY(0,1), WRAP_KEY(1,3), WRAP_KEY(3,8).
    assert_eq!((first.0.key_id, first.0.kwk_id), (0, 1));
    assert_eq!(ids(&first.1), vec![(1, 3), (3, 8)]);
    assert_eq!(first.2, 8);
}

#[test]
fn a3_simple_rekey_changes_no_path() {
    let keymat1 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (tree, mut members) = group_a2(&keymat1);
    let ids_before = tree.key_ids();
    // KD( GP(SA2)( GSK_w{K_sa2} ) ): wrapped under the current Rekey SA's GSK_w.
    let gsk_w1 = rekey_gsk_w(&keymat1);
    let keymat2 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let sa_key = WrappedKeyOut {
        key_id: 0,
        kwk_id: 0,
        encrypted: wrap(KWA, gsk_w1.as_bytes(), keymat2.as_bytes()).unwrap(),
    };
    for m in &mut members {
        let got = m
            .path
            .apply_rekey(&[sa_key.as_input()], &[], KWA, Some(&gsk_w1))
            .unwrap();
        assert!(got.ct_eq(&keymat2), "member {}", m.name);
    }
    assert_eq!(tree.key_ids(), ids_before, "the tree is not involved");
    assert_paths(&tree, &members, &A2_PATHS);
    // Without the Rekey SA's GSK_w there is no chain.
    let mut a = members.remove(0);
    assert_eq!(
        a.path
            .apply_rekey(&[sa_key.as_input()], &[], KWA, None)
            .err(),
        Some(PathError::Excluded)
    );
    assert_eq!(a.path.ids(), vec![1, 3, 7]);
}

#[test]
fn a4_exclusion_of_f() {
    let keymat1 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (mut tree, mut members) = group_a2(&keymat1);
    let gsk_w1 = rekey_gsk_w(&keymat1);
    let f_leaf = members[5].leaf;
    assert_eq!(f_leaf.key_id(), 12);

    let plan = tree.exclude(&[f_leaf]).unwrap();
    assert_eq!(plan.sa_key_kwk_ids(), vec![1, 15]);
    assert_eq!(plan.wrap_key_ids(), vec![(15, 6), (15, 16), (16, 11)]);
    assert_eq!(plan.wrap_count(), 5);
    assert_eq!(tree.top_ids(), vec![1, 15]);
    assert!(tree.key(2).is_none() && tree.key(5).is_none() && tree.key(12).is_none());
    assert!(!tree.is_member(f_leaf));

    let keymat3 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (sa_keys, wrap_keys) = tree.wrap_plan(&plan, KWA, keymat3.as_bytes()).unwrap();
    // wire: SA_KEY(0,1) SA_KEY(0,15) WRAP_KEY(15,6) WRAP_KEY(15,16) WRAP_KEY(16,11)
    assert_eq!(ids(&sa_keys), vec![(0, 1), (0, 15)]);
    assert_eq!(ids(&wrap_keys), vec![(15, 6), (15, 16), (16, 11)]);
    assert!(wrap_keys.iter().all(|w| w.kwk_id != 0));

    let sa_in = inputs(&sa_keys);
    let wrap_in = inputs(&wrap_keys);
    for m in &mut members {
        // Even with the current Rekey SA's GSK_w, which F also has: nothing is under it.
        let result = m.path.apply_rekey(&sa_in, &wrap_in, KWA, Some(&gsk_w1));
        if m.name == 'F' {
            assert_eq!(result.err(), Some(PathError::Excluded));
        } else {
            assert!(result.unwrap().ct_eq(&keymat3), "member {}", m.name);
        }
    }
    let f = members.remove(5);
    assert_eq!(f.path.ids(), vec![2, 5, 12], "F's path is unchanged");
    assert_paths(
        &tree,
        &members,
        &[
            ('A', [1, 3, 7]),
            ('B', [1, 3, 8]),
            ('C', [1, 4, 9]),
            ('D', [1, 4, 10]),
            ('E', [15, 16, 11]),
            ('G', [15, 6, 13]),
            ('H', [15, 6, 14]),
        ],
    );
}

#[test]
fn a4_followed_by_a_join_and_another_exclusion() {
    let keymat1 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (mut tree, mut members) = group_a2(&keymat1);
    let mut f = members.remove(5);
    let plan = tree.exclude(&[f.leaf]).unwrap();
    let keymat3 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (s, w) = tree.wrap_plan(&plan, KWA, keymat3.as_bytes()).unwrap();
    for m in &mut members {
        m.path
            .apply_rekey(&inputs(&s), &inputs(&w), KWA, None)
            .unwrap();
    }

    // I joins without backward access control: F's old slot, a fresh leaf ID (17).
    let (i_leaf, plan) = tree.join(false).unwrap();
    assert!(plan.is_none());
    assert_eq!(i_leaf.key_id(), 17);
    assert_eq!(tree.path(i_leaf).unwrap(), vec![15, 16, 17]);
    let (sa, mut wk, _) = tree
        .registration_keys(i_leaf, KWA, keymat3.as_bytes())
        .unwrap();
    let gsk_w = Key::random(32).unwrap();
    wk.push(
        tree.wrap_leaf_key(i_leaf, &mut KeyWrapper::new(KWA, gsk_w.as_bytes()).unwrap())
            .unwrap(),
    );
    let (i_path, km) = WorkingKeyPath::from_registration(sa.as_input(), &inputs(&wk), KWA, |d| {
        unwrap(KWA, gsk_w.as_bytes(), d)
    })
    .unwrap();
    assert!(km.ct_eq(&keymat3));
    members.push(Member {
        name: 'I',
        leaf: i_leaf,
        path: i_path,
    });

    // Exclude E and H together: one rekey, every affected path replaced once.
    let e_leaf = members.iter().find(|m| m.name == 'E').unwrap().leaf;
    let h_leaf = members.iter().find(|m| m.name == 'H').unwrap().leaf;
    let plan = tree.exclude(&[e_leaf, h_leaf]).unwrap();
    assert!(plan
        .wrap_key_ids()
        .iter()
        .all(|&(_, kwk)| kwk != 11 && kwk != 14));
    let keymat4 = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (s, w) = tree.wrap_plan(&plan, KWA, keymat4.as_bytes()).unwrap();
    for m in &mut members {
        let r = m.path.apply_rekey(&inputs(&s), &inputs(&w), KWA, None);
        if m.name == 'E' || m.name == 'H' {
            assert_eq!(r.err(), Some(PathError::Excluded), "{}", m.name);
        } else {
            assert!(r.unwrap().ct_eq(&keymat4), "{}", m.name);
            assert_eq!(m.path.ids(), tree.path(m.leaf).unwrap(), "{}", m.name);
        }
    }
    assert_eq!(
        f.path
            .apply_rekey(&inputs(&s), &inputs(&w), KWA, None)
            .err(),
        Some(PathError::Excluded)
    );
}
