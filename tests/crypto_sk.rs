//! SK payload protection (RFC 7296 §3.14, RFC 5282, RFC 4868).
//!
//! AES-GCM known answers: McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)",
//! revised spec, test cases 2, 4, 14 and 16 (96-bit IV), in the salt | IV split of
//! strongSwan 5.9.8 `src/libstrongswan/plugins/test_vectors/test_vectors/aes_gcm.c`
//! (`aes_gcm2`, `aes_gcm4`, `aes_gcm14`, `aes_gcm16`).

use gikev2::crypto::sk::{EncrAlg, IntegAlg, SkProtector};
use gikev2::crypto::{CryptoError, Key};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{encrypt, encrypt_aead, Cipher};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const MCGREW_VIEGA_TC4_K: &str = "feffe9928665731c6d6a8f9467308308";
const MCGREW_VIEGA_TC16_K: &str =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
/// IV of test cases 4/16: `cafebabe` is the RFC 5282 salt, `facedbaddecaf888` the IV.
const MCGREW_VIEGA_TC4_SALT: &str = "cafebabe";
const MCGREW_VIEGA_TC4_IV: &str = "facedbaddecaf888";
const MCGREW_VIEGA_TC4_P: &str = concat!(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
);
const MCGREW_VIEGA_TC4_A: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const MCGREW_VIEGA_TC4_C: &str = concat!(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e",
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
);
const MCGREW_VIEGA_TC4_T: &str = "5bc94fbc3221a5db94fae95ae7121a47";
const MCGREW_VIEGA_TC16_C: &str = concat!(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa",
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
);
const MCGREW_VIEGA_TC16_T: &str = "76fc6ece0f4e1768cddf8853bb2d551b";
/// Test cases 2 and 14: all-zero key, IV and 16-octet plaintext, no AAD.
const MCGREW_VIEGA_TC2_C: &str = "0388dace60b6a392f328c2b971b2fe78";
const MCGREW_VIEGA_TC2_T: &str = "ab6e47d42cec13bdf53a67b21257bddf";
const MCGREW_VIEGA_TC14_C: &str = "cea7403d4d606b6e074ec5d3baf39d18";
const MCGREW_VIEGA_TC14_T: &str = "d0d1c8a799996bf0265b98b5d48ab919";

fn gcm(key_bits: u16, key: &[u8], salt: &[u8]) -> SkProtector {
    let sk_e = [key, salt].concat();
    SkProtector::new(EncrAlg::AesGcm16 { key_bits }, None, &sk_e, &[]).unwrap()
}

/// Test cases 4 and 16 through `open`. The 60-octet plaintext P ends in 0x39, which `open`
/// reads as Pad Length 57, so the inner payloads are the first 60 - 57 - 1 = 2 octets of P;
/// the tag check makes this an exact known-answer test of the decryption.
#[test]
fn gcm_mcgrew_viega_tc4_tc16_open() {
    let p = hex(MCGREW_VIEGA_TC4_P);
    assert_eq!(*p.last().unwrap(), 0x39);
    for (bits, k, c, t) in [
        (
            128,
            MCGREW_VIEGA_TC4_K,
            MCGREW_VIEGA_TC4_C,
            MCGREW_VIEGA_TC4_T,
        ),
        (
            256,
            MCGREW_VIEGA_TC16_K,
            MCGREW_VIEGA_TC16_C,
            MCGREW_VIEGA_TC16_T,
        ),
    ] {
        let sk = gcm(bits, &hex(k), &hex(MCGREW_VIEGA_TC4_SALT));
        let body = [hex(MCGREW_VIEGA_TC4_IV), hex(c), hex(t)].concat();
        let aad = hex(MCGREW_VIEGA_TC4_A);
        let inner = sk.open(&aad, &body).unwrap();
        assert_eq!(&inner[..], &p[..2], "AES-{bits}-GCM");
        // Any change to AAD, IV, ciphertext or tag fails the tag check.
        let mut bad_aad = aad.clone();
        bad_aad[0] ^= 1;
        assert_eq!(
            sk.open(&bad_aad, &body).unwrap_err(),
            CryptoError::IcvMismatch
        );
        for pos in 0..body.len() {
            let mut b = body.clone();
            b[pos] ^= 0x10;
            assert_eq!(
                sk.open(&aad, &b).unwrap_err(),
                CryptoError::IcvMismatch,
                "pos {pos}"
            );
        }
    }
}

/// Test cases 2 and 14 through `seal`: 15 zero octets of inner payloads plus Pad Length 0
/// form the 16 zero octets of P; with zero key, salt and IV, the body is IV | C | T.
#[test]
fn gcm_mcgrew_viega_tc2_tc14_seal() {
    for (bits, c, t) in [
        (128, MCGREW_VIEGA_TC2_C, MCGREW_VIEGA_TC2_T),
        (256, MCGREW_VIEGA_TC14_C, MCGREW_VIEGA_TC14_T),
    ] {
        let sk = gcm(bits, &vec![0; bits as usize / 8], &[0; 4]);
        let body = sk.seal(&[], &[0; 8], &[0; 15]).unwrap();
        assert_eq!(
            body,
            [vec![0; 8], hex(c), hex(t)].concat(),
            "AES-{bits}-GCM"
        );
        assert_eq!(body.len(), sk.sealed_len(15));
        assert_eq!(&sk.open(&[], &body).unwrap()[..], &[0u8; 15][..]);
    }
}

fn all_protectors() -> Vec<SkProtector> {
    let mut v = Vec::new();
    for bits in [128u16, 192, 256] {
        for integ in [
            IntegAlg::HmacSha256_128,
            IntegAlg::HmacSha384_192,
            IntegAlg::HmacSha512_256,
        ] {
            let e = EncrAlg::AesCbc { key_bits: bits };
            let ek = Key::random(e.key_len()).unwrap();
            let ak = Key::random(integ.key_len()).unwrap();
            v.push(SkProtector::new(e, Some(integ), ek.as_bytes(), ak.as_bytes()).unwrap());
        }
        let e = EncrAlg::AesGcm16 { key_bits: bits };
        let ek = Key::random(e.key_len()).unwrap();
        v.push(SkProtector::new(e, None, ek.as_bytes(), &[]).unwrap());
    }
    v
}

#[test]
fn round_trip_all_algorithms_and_lengths() {
    let aad = b"IKE header and SK generic header";
    for sk in all_protectors() {
        for n in 0..=70 {
            let pt: Vec<u8> = (0..n).map(|i| i as u8 ^ 0x5c).collect();
            let iv = sk.fresh_iv().unwrap();
            assert_eq!(iv.len(), sk.iv_len());
            let body = sk.seal(aad, &iv, &pt).unwrap();
            assert_eq!(body.len(), sk.sealed_len(n), "{sk:?} n={n}");
            assert_eq!(&body[..sk.iv_len()], &iv[..]);
            let ct_len = body.len() - sk.iv_len() - sk.icv_len();
            assert_eq!(ct_len % sk.encr().block_size(), 0);
            assert_eq!(ct_len, n + sk.padding_len(n) + 1);
            assert_eq!(&sk.open(aad, &body).unwrap()[..], &pt[..], "{sk:?} n={n}");
        }
    }
}

#[test]
fn sealed_len_and_padding_policy() {
    let cbc = SkProtector::new(
        EncrAlg::AesCbc { key_bits: 256 },
        Some(IntegAlg::HmacSha256_128),
        &[1; 32],
        &[2; 32],
    )
    .unwrap();
    // IV 16 + round_up(n + 1, 16) + ICV 16.
    assert_eq!(cbc.sealed_len(0), 16 + 16 + 16);
    assert_eq!(cbc.sealed_len(15), 16 + 16 + 16);
    assert_eq!(cbc.sealed_len(16), 16 + 32 + 16);
    assert_eq!(cbc.padding_len(15), 0);
    assert_eq!(cbc.padding_len(0), 15);
    let g = SkProtector::new(EncrAlg::AesGcm16 { key_bits: 128 }, None, &[1; 20], &[]).unwrap();
    // IV 8 + n + Pad Length 1 + ICV 16, no padding.
    assert_eq!(g.sealed_len(0), 25);
    assert_eq!(g.sealed_len(100), 125);
    assert_eq!(g.padding_len(13), 0);
}

/// AES-CBC + HMAC-SHA-256-128: flipping any octet of the AAD or the body is caught by the
/// ICV, which is checked before decryption.
#[test]
fn cbc_hmac_sha256_128_tamper_every_position() {
    let sk = SkProtector::new(
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha256_128),
        &[0x11; 16],
        &[0x22; 32],
    )
    .unwrap();
    let aad: Vec<u8> = (0..32u8).collect();
    let pt = b"inner payloads, 29 octets....";
    let body = sk.seal(&aad, &[0x33; 16], pt).unwrap();
    assert_eq!(&sk.open(&aad, &body).unwrap()[..], pt);
    for pos in 0..aad.len() {
        let mut a = aad.clone();
        a[pos] ^= 0x01;
        assert_eq!(sk.open(&a, &body).unwrap_err(), CryptoError::IcvMismatch);
    }
    for pos in 0..body.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = body.clone();
            b[pos] ^= bit;
            assert_eq!(
                sk.open(&aad, &b).unwrap_err(),
                CryptoError::IcvMismatch,
                "pos {pos} bit {bit:#x}"
            );
        }
    }
}

#[test]
fn gcm_tamper_every_position() {
    let sk = gcm(256, &[0x44; 32], &[1, 2, 3, 4]);
    let aad = [0xa5u8; 32];
    let body = sk.seal(&aad, &[9; 8], b"payload").unwrap();
    for pos in 0..body.len() {
        let mut b = body.clone();
        b[pos] ^= 0x01;
        assert_eq!(sk.open(&aad, &b).unwrap_err(), CryptoError::IcvMismatch);
    }
    for pos in 0..aad.len() {
        let mut a = aad;
        a[pos] ^= 0x01;
        assert_eq!(sk.open(&a, &body).unwrap_err(), CryptoError::IcvMismatch);
    }
}

#[test]
fn open_length_errors() {
    let cbc = SkProtector::new(
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha256_128),
        &[1; 16],
        &[2; 32],
    )
    .unwrap();
    for n in [0usize, 1, 16, 31, 47] {
        assert_eq!(
            cbc.open(&[], &vec![0; n]).unwrap_err(),
            CryptoError::InvalidLength {
                what: "SK payload body (minimum)",
                expected: 48,
                got: n
            }
        );
    }
    // IV 16 + 17 octets of ciphertext + ICV 16: not a block multiple; rejected before the
    // ICV is even computed.
    assert_eq!(
        cbc.open(&[], &[0; 49]).unwrap_err(),
        CryptoError::InvalidLength {
            what: "SK ciphertext (multiple of the block size)",
            expected: 32,
            got: 17
        }
    );
    // The SK Payload Length is 16 bits: bodies over 65531 octets cannot exist.
    assert_eq!(
        cbc.open(&[], &vec![0; 65532]).unwrap_err(),
        CryptoError::InvalidLength {
            what: "SK payload body (maximum)",
            expected: 65531,
            got: 65532
        }
    );
    assert!(matches!(
        cbc.seal(&[], &[0; 16], &vec![0; 65531]),
        Err(CryptoError::InvalidLength {
            what: "SK payload body (maximum)",
            ..
        })
    ));
    // Largest CBC plaintext: IV 16 + 65488 (n + 1 rounded up to 16) + ICV 16 = 65520.
    assert_eq!(cbc.sealed_len(65487), 65520);
    assert!(cbc.seal(&[], &[0; 16], &vec![0; 65487]).is_ok());
    assert_eq!(cbc.sealed_len(65488), 65536);
    assert!(cbc.seal(&[], &[0; 16], &vec![0; 65488]).is_err());
    let g = gcm(128, &[1; 16], &[2; 4]);
    for n in [0usize, 8, 24] {
        assert!(matches!(
            g.open(&[], &vec![0; n]),
            Err(CryptoError::InvalidLength { expected: 25, .. })
        ));
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = PKey::hmac(key).unwrap();
    let mut s = Signer::new(MessageDigest::sha256(), &k).unwrap();
    s.update(data).unwrap();
    s.sign_to_vec().unwrap()
}

/// A correctly authenticated ciphertext whose Pad Length octet points past the start of the
/// plaintext is rejected with `BadPadding` (built here with raw OpenSSL calls).
#[test]
fn pad_length_too_large_is_bad_padding() {
    // GCM: plaintext [1, 2, 3, 0xff]: Pad Length 255 > 3.
    let (key, salt, iv, aad) = ([7u8; 16], [8u8; 4], [9u8; 8], [1u8; 32]);
    let nonce = [&salt[..], &iv[..]].concat();
    let mut tag = [0u8; 16];
    let ct = encrypt_aead(
        Cipher::aes_128_gcm(),
        &key,
        Some(&nonce),
        &aad,
        &[1, 2, 3, 0xff],
        &mut tag,
    )
    .unwrap();
    let body = [&iv[..], &ct, &tag].concat();
    let g = gcm(128, &key, &salt);
    assert_eq!(g.open(&aad, &body).unwrap_err(), CryptoError::BadPadding);
    // Pad Length 3 with 4 octets is fine: empty inner payloads.
    let ct = encrypt_aead(
        Cipher::aes_128_gcm(),
        &key,
        Some(&nonce),
        &aad,
        &[1, 2, 3, 3],
        &mut tag,
    )
    .unwrap();
    let body = [&iv[..], &ct, &tag].concat();
    assert!(g.open(&aad, &body).unwrap().is_empty());

    // CBC: one block whose last octet is 16.
    let (ek, ak, iv) = ([3u8; 16], [4u8; 32], [5u8; 16]);
    let mut block = [0u8; 16];
    block[15] = 16;
    let c = Cipher::aes_128_cbc();
    let mut ct = encrypt(c, &ek, Some(&iv), &block).unwrap();
    ct.truncate(16); // drop the PKCS#7 block `encrypt` appends
    let mac = hmac_sha256(&ak, &[&aad[..], &iv, &ct].concat());
    let body = [&iv[..], &ct, &mac[..16]].concat();
    let sk = SkProtector::new(
        EncrAlg::AesCbc { key_bits: 128 },
        Some(IntegAlg::HmacSha256_128),
        &ek,
        &ak,
    )
    .unwrap();
    assert_eq!(sk.open(&aad, &body).unwrap_err(), CryptoError::BadPadding);
    block[15] = 15; // all 16 octets are padding: empty inner payloads
    let mut ct = encrypt(c, &ek, Some(&iv), &block).unwrap();
    ct.truncate(16);
    let mac = hmac_sha256(&ak, &[&aad[..], &iv, &ct].concat());
    let body = [&iv[..], &ct, &mac[..16]].concat();
    assert!(sk.open(&aad, &body).unwrap().is_empty());
}

#[test]
fn constructor_validation() {
    let cbc = EncrAlg::AesCbc { key_bits: 256 };
    let g = EncrAlg::AesGcm16 { key_bits: 256 };
    assert_eq!(
        SkProtector::new(g, Some(IntegAlg::HmacSha256_128), &[0; 36], &[0; 32]).unwrap_err(),
        CryptoError::Unsupported("integrity transform combined with an AEAD cipher")
    );
    assert_eq!(
        SkProtector::new(cbc, None, &[0; 32], &[]).unwrap_err(),
        CryptoError::Unsupported("AES-CBC without an integrity transform")
    );
    assert_eq!(
        SkProtector::new(g, None, &[0; 32], &[]).unwrap_err(),
        CryptoError::InvalidLength {
            what: "SK_e",
            expected: 36,
            got: 32
        }
    );
    assert!(matches!(
        SkProtector::new(g, None, &[0; 36], &[0; 1]),
        Err(CryptoError::InvalidLength { expected: 0, .. })
    ));
    assert!(matches!(
        SkProtector::new(cbc, Some(IntegAlg::HmacSha512_256), &[0; 32], &[0; 32]),
        Err(CryptoError::InvalidLength {
            what: "SK_a",
            expected: 64,
            got: 32
        })
    ));
    assert!(matches!(
        SkProtector::new(EncrAlg::AesCbc { key_bits: 100 }, None, &[], &[]),
        Err(CryptoError::Unsupported(_))
    ));
    let sk = SkProtector::new(g, None, &[0; 36], &[]).unwrap();
    assert!(matches!(
        sk.seal(&[], &[0; 16], b"x"),
        Err(CryptoError::InvalidLength {
            what: "IV",
            expected: 8,
            got: 16
        })
    ));
    assert!(!format!("{sk:?}").contains("[0"));
}

#[test]
fn transform_code_points() {
    assert_eq!(
        EncrAlg::from_transform(12, Some(128)),
        Some(EncrAlg::AesCbc { key_bits: 128 })
    );
    assert_eq!(
        EncrAlg::from_transform(20, Some(256)),
        Some(EncrAlg::AesGcm16 { key_bits: 256 })
    );
    assert_eq!(EncrAlg::from_transform(20, Some(64)), None);
    assert_eq!(EncrAlg::from_transform(20, None), None);
    assert_eq!(EncrAlg::from_transform(19, Some(128)), None); // GCM ICV 12: unsupported
    for (bits, cbc_len, gcm_len) in [(128, 16, 20), (192, 24, 28), (256, 32, 36)] {
        let c = EncrAlg::AesCbc { key_bits: bits };
        let g = EncrAlg::AesGcm16 { key_bits: bits };
        assert_eq!((c.key_len(), c.iv_len(), c.is_aead()), (cbc_len, 16, false));
        assert_eq!((g.key_len(), g.iv_len(), g.is_aead()), (gcm_len, 8, true));
        assert_eq!((c.transform_id(), g.transform_id()), (12, 20));
        assert_eq!(g.key_bits(), bits);
    }
    for (id, alg, kl, icv) in [
        (12, IntegAlg::HmacSha256_128, 32, 16),
        (13, IntegAlg::HmacSha384_192, 48, 24),
        (14, IntegAlg::HmacSha512_256, 64, 32),
    ] {
        assert_eq!(IntegAlg::from_transform_id(id), Some(alg));
        assert_eq!(
            (alg.transform_id(), alg.key_len(), alg.icv_len()),
            (id, kl, icv)
        );
    }
    assert_eq!(IntegAlg::from_transform_id(2), None);
}

proptest! {
    /// `open` never panics on arbitrary input; random bodies never authenticate.
    #[test]
    fn open_never_panics(aad in proptest::collection::vec(any::<u8>(), 0..40),
                         body in proptest::collection::vec(any::<u8>(), 0..200)) {
        for sk in [
            SkProtector::new(EncrAlg::AesCbc { key_bits: 128 }, Some(IntegAlg::HmacSha256_128),
                             &[1; 16], &[2; 32]).unwrap(),
            SkProtector::new(EncrAlg::AesGcm16 { key_bits: 128 }, None, &[1; 20], &[]).unwrap(),
        ] {
            prop_assert!(sk.open(&aad, &body).is_err());
        }
    }
}
