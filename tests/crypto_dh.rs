//! Diffie-Hellman groups 31 (Curve25519) and 19 (P-256).
//!
//! Source of the X25519 known answer: RFC 7748 §6.1.

use gikev2::crypto::dh::DhGroup;
use gikev2::crypto::dh::DhPrivate;
use gikev2::crypto::CryptoError;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const RFC7748_S61_ALICE_PRIVATE: &str =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const RFC7748_S61_ALICE_PUBLIC: &str =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const RFC7748_S61_BOB_PRIVATE: &str =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const RFC7748_S61_BOB_PUBLIC: &str =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const RFC7748_S61_SHARED: &str = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

#[test]
fn x25519_rfc7748_section_6_1() {
    let alice = DhPrivate::from_private_bytes(DhGroup::Curve25519, &hex(RFC7748_S61_ALICE_PRIVATE))
        .unwrap();
    let bob =
        DhPrivate::from_private_bytes(DhGroup::Curve25519, &hex(RFC7748_S61_BOB_PRIVATE)).unwrap();
    assert_eq!(alice.public_value().unwrap(), hex(RFC7748_S61_ALICE_PUBLIC));
    assert_eq!(bob.public_value().unwrap(), hex(RFC7748_S61_BOB_PUBLIC));
    let k1 = alice.shared_secret(&hex(RFC7748_S61_BOB_PUBLIC)).unwrap();
    let k2 = bob.shared_secret(&hex(RFC7748_S61_ALICE_PUBLIC)).unwrap();
    assert_eq!(k1.as_bytes(), &hex(RFC7748_S61_SHARED)[..]);
    assert!(k1.ct_eq(&k2));
}

#[test]
fn two_parties_agree() {
    for group in [DhGroup::Curve25519, DhGroup::Ecp256] {
        let a = group.generate().unwrap();
        let b = group.generate().unwrap();
        assert_eq!(a.group(), group);
        let (pa, pb) = (a.public_value().unwrap(), b.public_value().unwrap());
        assert_eq!(pa.len(), group.public_value_len());
        assert_eq!(pb.len(), group.public_value_len());
        let ka = a.shared_secret(&pb).unwrap();
        let kb = b.shared_secret(&pa).unwrap();
        assert_eq!(ka.len(), group.shared_secret_len());
        assert!(ka.ct_eq(&kb), "{group:?}");
        let c = group.generate().unwrap();
        assert!(!ka.ct_eq(&c.shared_secret(&pa).unwrap()));
        assert_eq!(
            format!("{a:?}"),
            format!("DhPrivate {{ group: {group:?}, .. }}")
        );
    }
    assert_eq!(DhGroup::Ecp256.public_value_len(), 64);
    assert_eq!(DhGroup::Curve25519.public_value_len(), 32);
}

/// P-256 shared secret is the x-coordinate of d_a * Q_b (RFC 5903 §7): checked against a
/// scalar multiplication done with raw OpenSSL.
#[test]
fn p256_shared_secret_is_x_coordinate() {
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcPoint, PointConversionForm};
    use openssl::nid::Nid;
    // An arbitrary valid scalar.
    let d = hex("c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433");
    let a = DhPrivate::from_private_bytes(DhGroup::Ecp256, &d).unwrap();
    let b = DhGroup::Ecp256.generate().unwrap();
    let pb = b.public_value().unwrap();
    let k = a.shared_secret(&pb).unwrap();

    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let q = EcPoint::from_bytes(&group, &[&[4u8][..], &pb].concat(), &mut ctx).unwrap();
    let mut r = EcPoint::new(&group).unwrap();
    r.mul2(&group, &q, &BigNum::from_slice(&d).unwrap(), &mut ctx)
        .unwrap();
    let enc = r
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .unwrap();
    assert_eq!(k.as_bytes(), &enc[1..33]);
    // And the public value is x | y of d * G.
    let mut g = EcPoint::new(&group).unwrap();
    g.mul_generator2(&group, &BigNum::from_slice(&d).unwrap(), &mut ctx)
        .unwrap();
    let enc = g
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .unwrap();
    assert_eq!(a.public_value().unwrap(), enc[1..].to_vec());
}

#[test]
fn invalid_p256_points_are_rejected() {
    let a = DhGroup::Ecp256.generate().unwrap();
    let good = DhGroup::Ecp256.generate().unwrap().public_value().unwrap();
    // y + 1 is (overwhelmingly likely) off the curve.
    let mut off = good.clone();
    off[63] = off[63].wrapping_add(1);
    assert!(matches!(
        a.shared_secret(&off),
        Err(CryptoError::InvalidKey(_))
    ));
    // The all-zero encoding is not a point.
    assert!(matches!(
        a.shared_secret(&[0u8; 64]),
        Err(CryptoError::InvalidKey(_))
    ));
    // x >= p.
    assert!(matches!(
        a.shared_secret(&[0xffu8; 64]),
        Err(CryptoError::InvalidKey(_))
    ));
    for len in [0usize, 32, 63, 65] {
        assert!(matches!(
            a.shared_secret(&vec![1u8; len]),
            Err(CryptoError::InvalidLength { expected: 64, .. })
        ));
    }
}

#[test]
fn x25519_low_order_and_length() {
    let a = DhGroup::Curve25519.generate().unwrap();
    // u = 0 and u = 1 are low-order points: the result would be all zero (RFC 7748 §6.1).
    let mut one = [0u8; 32];
    one[0] = 1;
    for peer in [[0u8; 32], one] {
        assert!(matches!(
            a.shared_secret(&peer),
            Err(CryptoError::InvalidKey(_))
        ));
    }
    assert!(matches!(
        a.shared_secret(&[9u8; 31]),
        Err(CryptoError::InvalidLength { expected: 32, .. })
    ));
}

#[test]
fn private_import_checks() {
    assert!(matches!(
        DhPrivate::from_private_bytes(DhGroup::Ecp256, &[0u8; 32]),
        Err(CryptoError::InvalidKey(_))
    ));
    assert!(matches!(
        DhPrivate::from_private_bytes(DhGroup::Ecp256, &[0xffu8; 32]),
        Err(CryptoError::InvalidKey(_))
    ));
    assert!(matches!(
        DhPrivate::from_private_bytes(DhGroup::Curve25519, &[1u8; 31]),
        Err(CryptoError::InvalidLength { .. })
    ));
    assert_eq!(DhGroup::from_group_id(19), Some(DhGroup::Ecp256));
    assert_eq!(DhGroup::from_group_id(31), Some(DhGroup::Curve25519));
    assert_eq!(DhGroup::from_group_id(14), None);
    assert_eq!(DhGroup::Ecp256.group_id(), 19);
    assert_eq!(DhGroup::Curve25519.group_id(), 31);
}
