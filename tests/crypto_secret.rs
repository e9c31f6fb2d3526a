//! `Secret`, `ct::eq` and `fill_random` (project style, "Zeroization").

use gikev2::crypto::ct;
use gikev2::crypto::rand::fill_random;
use gikev2::crypto::{CryptoError, Key, KeyMaterial, Secret};

#[test]
fn debug_is_redacted() {
    let key = Key::from_slice(&[0xC3; 32]).unwrap();
    let dbg = format!("{key:?}");
    assert!(dbg.contains("capacity: 64"), "{dbg}");
    assert!(dbg.contains("len: 32"), "{dbg}");
    assert!(!dbg.contains("195"), "key byte (decimal) leaked: {dbg}");
    assert!(
        !dbg.to_lowercase().contains("c3"),
        "key byte (hex) leaked: {dbg}"
    );
    let pretty = format!("{key:#?}");
    assert!(!pretty.contains("195"), "{pretty}");
}

#[test]
fn ct_eq_unequal_lengths_is_false_without_panic() {
    assert!(!ct::eq(&[1, 2, 3], &[1, 2]));
    assert!(!ct::eq(&[], &[0]));
    assert!(ct::eq(&[], &[]));
    assert!(ct::eq(&[9, 8, 7], &[9, 8, 7]));
    assert!(!ct::eq(&[9, 8, 7], &[9, 8, 6]));
}

#[test]
fn from_slice_rejects_oversized_input() {
    assert_eq!(
        Key::from_slice(&[0u8; 65]).unwrap_err(),
        CryptoError::InvalidLength {
            what: "secret (maximum)",
            expected: 64,
            got: 65
        }
    );
    assert!(KeyMaterial::from_slice(&[0u8; 256]).is_ok());
    assert!(KeyMaterial::from_slice(&[0u8; 257]).is_err());
    let empty = Key::from_slice(&[]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
}

#[test]
fn as_bytes_duplicate_and_ct_eq() {
    let a = Key::from_slice(b"0123456789abcdef").unwrap();
    assert_eq!(a.as_bytes(), b"0123456789abcdef");
    assert_eq!(a.len(), 16);
    let b = a.duplicate();
    assert!(a.ct_eq(&b));
    assert!(b.ct_eq_bytes(b"0123456789abcdef"));
    let c = Key::from_slice(b"0123456789abcdeF").unwrap();
    assert!(!a.ct_eq(&c));
    // Different capacity, same contents: equal; different length: not equal.
    let d = KeyMaterial::from_slice(b"0123456789abcdef").unwrap();
    assert!(a.ct_eq(&d));
    let e = Secret::<16>::from_slice(b"0123456789abcde").unwrap();
    assert!(!a.ct_eq(&e));
}

#[test]
fn random_secrets() {
    let a = Key::random(32).unwrap();
    let b = Key::random(32).unwrap();
    assert_eq!(a.len(), 32);
    assert!(!a.ct_eq(&b), "two random 256-bit keys collided");
    assert!(Key::random(0).unwrap().is_empty());
    assert!(matches!(
        Key::random(65),
        Err(CryptoError::InvalidLength { got: 65, .. })
    ));
    let mut buf = [0u8; 64];
    fill_random(&mut buf).unwrap();
    assert_ne!(buf, [0u8; 64]);
    fill_random(&mut []).unwrap();
}

#[test]
fn error_display_has_no_secret_and_is_std_error() {
    let e: Box<dyn std::error::Error> = Box::new(CryptoError::InvalidLength {
        what: "SK_e",
        expected: 36,
        got: 35,
    });
    assert_eq!(
        e.to_string(),
        "invalid length for SK_e: expected 36, got 35"
    );
    assert_eq!(
        CryptoError::Unsupported("KW_ARX").to_string(),
        "unsupported: KW_ARX"
    );
}
