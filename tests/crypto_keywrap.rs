//! RFC 5649 key wrap for the G-IKEv2 KWA transforms (RFC 9838 §4.4.2.1.2, §4.5.4).
//!
//! Source of the known answers: RFC 5649 §6 (both examples use a 192-bit KEK, hence
//! KW_5649_192 / OpenSSL's aes-192-wrap-pad).

use gikev2::crypto::keywrap::{
    unwrap, wrap, wrapped_len, KeyWrapper, Kwa, MultiKeyUnwrapper, MultiKeyWrapper,
    MAX_KEY_DATA_LEN,
};
use gikev2::crypto::{CryptoError, Key};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const RFC5649_S6_KEK: &str = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8";
const RFC5649_S6_KEY_20: &str = "c37b7e6492584340bed12207808941155068f738";
const RFC5649_S6_WRAP_20: &str = "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a";
const RFC5649_S6_KEY_7: &str = "466f7250617369";
const RFC5649_S6_WRAP_7: &str = "afbeb0f07dfbf5419200f2ccb50bb24f";

const RFC5649_KWAS: [Kwa; 3] = [Kwa::Kw5649_128, Kwa::Kw5649_192, Kwa::Kw5649_256];

#[test]
fn rfc5649_section6_vectors() {
    let kek = hex(RFC5649_S6_KEK);
    for (key, wrapped) in [
        (RFC5649_S6_KEY_20, RFC5649_S6_WRAP_20),
        (RFC5649_S6_KEY_7, RFC5649_S6_WRAP_7),
    ] {
        let (key, wrapped) = (hex(key), hex(wrapped));
        assert_eq!(wrap(Kwa::Kw5649_192, &kek, &key).unwrap(), wrapped);
        assert_eq!(
            unwrap(Kwa::Kw5649_192, &kek, &wrapped).unwrap().as_bytes(),
            &key[..]
        );
        let mut w = KeyWrapper::new(Kwa::Kw5649_192, &kek).unwrap();
        assert_eq!(w.wrap(&key).unwrap(), wrapped);
        assert_eq!(w.unwrap(&wrapped).unwrap().as_bytes(), &key[..]);
    }
}

#[test]
fn round_trip_every_kwa_and_length() {
    for kwa in RFC5649_KWAS {
        let kwk = Key::random(kwa.kwk_len()).unwrap();
        let mut wrapper = KeyWrapper::new(kwa, kwk.as_bytes()).unwrap();
        assert_eq!(wrapper.kwa(), kwa);
        for n in 1..=MAX_KEY_DATA_LEN {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
            let w = wrap(kwa, kwk.as_bytes(), &data).unwrap();
            assert_eq!(w.len(), wrapped_len(n), "{kwa:?} n={n}");
            let u = unwrap(kwa, kwk.as_bytes(), &w).unwrap();
            assert_eq!(u.as_bytes(), &data[..], "{kwa:?} n={n}");
            // RFC 5649 is deterministic: the reusable wrapper gives identical output, and
            // reusing its contexts across calls works.
            assert_eq!(wrapper.wrap(&data).unwrap(), w, "{kwa:?} n={n}");
            assert_eq!(wrapper.unwrap(&w).unwrap().as_bytes(), &data[..]);
        }
    }
}

#[test]
fn multi_key_wrapper_equals_one_shot_wraps_under_changing_kwks() {
    for kwa in RFC5649_KWAS {
        let mut multi = MultiKeyWrapper::new(kwa).unwrap();
        for i in 0..40usize {
            // a different KWK each time, as in an LKH rekey plan
            let kwk = Key::random(kwa.kwk_len()).unwrap();
            let n = 1 + (i * 13) % MAX_KEY_DATA_LEN;
            let data: Vec<u8> = (0..n).map(|j| (j * 3 + i) as u8).collect();
            let w = multi.wrap(kwk.as_bytes(), &data).unwrap();
            assert_eq!(
                w,
                wrap(kwa, kwk.as_bytes(), &data).unwrap(),
                "{kwa:?} i={i}"
            );
            assert_eq!(
                unwrap(kwa, kwk.as_bytes(), &w).unwrap().as_bytes(),
                &data[..]
            );
        }
        // a KWK of the wrong size is refused and leaves the wrapper usable
        assert!(multi.wrap(&[0u8; 5], b"key").is_err());
        let kwk = Key::random(kwa.kwk_len()).unwrap();
        assert_eq!(
            multi.wrap(kwk.as_bytes(), b"0123456789abcdef").unwrap(),
            wrap(kwa, kwk.as_bytes(), b"0123456789abcdef").unwrap()
        );
    }
}

/// The member's key-path unwrapper (one context re-keyed per element) gives what the
/// one-shot unwrap gives, for every length, and fails the same way on tampering, a wrong
/// KWK or a wrong KWK size, staying usable after each failure.
#[test]
fn multi_key_unwrapper_equals_one_shot_unwraps_under_changing_kwks() {
    for kwa in RFC5649_KWAS {
        let mut multi = MultiKeyUnwrapper::new(kwa).unwrap();
        for n in 1..=MAX_KEY_DATA_LEN {
            let kwk = Key::random(kwa.kwk_len()).unwrap();
            let data: Vec<u8> = (0..n).map(|j| (j * 7 + n) as u8).collect();
            let w = wrap(kwa, kwk.as_bytes(), &data).unwrap();
            assert_eq!(
                multi.unwrap(kwk.as_bytes(), &w).unwrap().as_bytes(),
                &data[..],
                "{kwa:?} n={n}"
            );
            let mut bad = w.clone();
            bad[n % w.len()] ^= 1;
            assert!(matches!(
                multi.unwrap(kwk.as_bytes(), &bad),
                Err(CryptoError::UnwrapFailed)
            ));
            let other = Key::random(kwa.kwk_len()).unwrap();
            assert!(matches!(
                multi.unwrap(other.as_bytes(), &w),
                Err(CryptoError::UnwrapFailed)
            ));
        }
        assert!(multi.unwrap(&[0u8; 5], &[0u8; 16]).is_err());
        let kwk = Key::random(kwa.kwk_len()).unwrap();
        let w = wrap(kwa, kwk.as_bytes(), b"0123456789abcdef").unwrap();
        assert_eq!(
            multi.unwrap(kwk.as_bytes(), &w).unwrap().as_bytes(),
            b"0123456789abcdef"
        );
    }
}

#[test]
fn tampered_wrapped_data_fails_with_unwrap_failed() {
    for kwa in RFC5649_KWAS {
        let kwk = Key::random(kwa.kwk_len()).unwrap();
        for n in [1, 8, 9, 32, 256] {
            let data = vec![0x42u8; n];
            let w = wrap(kwa, kwk.as_bytes(), &data).unwrap();
            for pos in 0..w.len() {
                for bit in [0x01u8, 0x80] {
                    let mut t = w.clone();
                    t[pos] ^= bit;
                    assert_eq!(
                        unwrap(kwa, kwk.as_bytes(), &t).unwrap_err(),
                        CryptoError::UnwrapFailed,
                        "{kwa:?} n={n} pos={pos} bit={bit:#x}"
                    );
                }
            }
            // A reusable wrapper still works after a failed unwrap.
            let mut wrapper = KeyWrapper::new(kwa, kwk.as_bytes()).unwrap();
            let mut t = w.clone();
            t[0] ^= 1;
            assert_eq!(wrapper.unwrap(&t).unwrap_err(), CryptoError::UnwrapFailed);
            assert_eq!(wrapper.unwrap(&w).unwrap().as_bytes(), &data[..]);
            // Wrong KWK.
            let other = Key::random(kwa.kwk_len()).unwrap();
            assert_eq!(
                unwrap(kwa, other.as_bytes(), &w).unwrap_err(),
                CryptoError::UnwrapFailed
            );
        }
    }
}

#[test]
fn length_checks() {
    let kwk = [0x11u8; 32];
    assert!(matches!(
        wrap(Kwa::Kw5649_256, &kwk, &[]),
        Err(CryptoError::InvalidLength { got: 0, .. })
    ));
    assert!(matches!(
        wrap(Kwa::Kw5649_256, &kwk, &[0; 257]),
        Err(CryptoError::InvalidLength { got: 257, .. })
    ));
    for bad in [0usize, 8, 15, 17, 23, 272] {
        assert!(
            matches!(
                unwrap(Kwa::Kw5649_256, &kwk, &vec![0; bad]),
                Err(CryptoError::InvalidLength { .. })
            ),
            "wrapped length {bad}"
        );
    }
    // 264 octets is the largest valid input; all-zero data fails the integrity check.
    assert_eq!(
        unwrap(Kwa::Kw5649_256, &kwk, &[0; 264]).unwrap_err(),
        CryptoError::UnwrapFailed
    );
    assert_eq!(
        wrap(Kwa::Kw5649_128, &kwk, &[1; 16]).unwrap_err(),
        CryptoError::InvalidLength {
            what: "key wrap key",
            expected: 16,
            got: 32
        }
    );
    assert!(matches!(
        KeyWrapper::new(Kwa::Kw5649_192, &kwk),
        Err(CryptoError::InvalidLength { expected: 24, .. })
    ));
    assert_eq!(wrapped_len(1), 16);
    assert_eq!(wrapped_len(8), 16);
    assert_eq!(wrapped_len(9), 24);
    assert_eq!(wrapped_len(32), 40);
    assert_eq!(wrapped_len(256), 264);
}

#[test]
fn kw_arx_is_unsupported() {
    let kwk = [0u8; 32];
    assert_eq!(
        wrap(Kwa::KwArx, &kwk, &[1; 32]).unwrap_err(),
        CryptoError::Unsupported("KW_ARX")
    );
    assert_eq!(
        unwrap(Kwa::KwArx, &kwk, &[1; 48]).unwrap_err(),
        CryptoError::Unsupported("KW_ARX")
    );
    assert_eq!(
        KeyWrapper::new(Kwa::KwArx, &kwk).unwrap_err(),
        CryptoError::Unsupported("KW_ARX")
    );
}

#[test]
fn kwa_code_points() {
    for (id, kwa, len) in [
        (1, Kwa::Kw5649_128, 16),
        (2, Kwa::Kw5649_192, 24),
        (3, Kwa::Kw5649_256, 32),
        (4, Kwa::KwArx, 32),
    ] {
        assert_eq!(Kwa::from_id(id), Some(kwa));
        assert_eq!(kwa.id(), id);
        assert_eq!(kwa.kwk_len(), len);
    }
    for id in [0, 5, 1023, 1024, 65535] {
        assert_eq!(Kwa::from_id(id), None);
    }
}

/// The RFC 5649 mode here runs over OpenSSL's AES-ECB (docs/decisions.md C5): its output
/// must equal OpenSSL's own `aes-*-wrap-pad` byte for byte, for every length and KWA, and
/// each must unwrap the other's output.
#[test]
fn identical_to_openssl_wrap_pad_for_every_length() {
    use gikev2::crypto::keywrap::{unwrap, wrap, Kwa};
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};
    for (kwa, cipher) in [
        (Kwa::Kw5649_128, Cipher::aes_128_wrap_pad()),
        (Kwa::Kw5649_192, Cipher::aes_192_wrap_pad()),
        (Kwa::Kw5649_256, Cipher::aes_256_wrap_pad()),
    ] {
        let mut kwk = vec![0u8; kwa.kwk_len()];
        openssl::rand::rand_bytes(&mut kwk).unwrap();
        for n in 1..=256usize {
            let mut data = vec![0u8; n];
            openssl::rand::rand_bytes(&mut data).unwrap();
            let mut ctx = CipherCtx::new().unwrap();
            ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
            ctx.encrypt_init(Some(cipher), Some(&kwk), None).unwrap();
            let mut reference = vec![0u8; n + 16];
            let len = ctx.cipher_update(&data, Some(&mut reference)).unwrap();
            reference.truncate(len);
            let ours = wrap(kwa, &kwk, &data).unwrap();
            assert_eq!(ours, reference, "{kwa:?} n={n}");
            assert_eq!(unwrap(kwa, &kwk, &reference).unwrap().as_bytes(), &data[..]);
            let mut ctx = CipherCtx::new().unwrap();
            ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
            ctx.decrypt_init(Some(cipher), Some(&kwk), None).unwrap();
            let mut back = vec![0u8; ours.len() + 16];
            let len = ctx.cipher_update(&ours, Some(&mut back)).unwrap();
            assert_eq!(
                &back[..len],
                &data[..],
                "{kwa:?} n={n}: OpenSSL unwraps ours"
            );
        }
    }
}

/// Wrapped keys whose length indicator or padding is wrong but whose AIV prefix would
/// decrypt correctly are refused: built with OpenSSL's plain RFC 3394 wrap over a block
/// carrying a forged AIV.
#[test]
fn forged_length_indicator_and_padding_are_refused() {
    use gikev2::crypto::keywrap::{unwrap, Kwa};
    use openssl::aes::{wrap_key, AesKey};
    let kwk = [9u8; 32];
    let key = AesKey::new_encrypt(&kwk).unwrap();
    // (MLI, padded data): MLI too large, MLI too small for the block count, non-zero pad.
    let cases: [(u32, Vec<u8>); 3] = [
        (17, vec![1u8; 16]),
        (8, vec![1u8; 16]),
        (13, [vec![1u8; 13], vec![0, 0, 7]].concat()),
    ];
    for (mli, data) in cases {
        let mut iv = [0u8; 8];
        iv[..4].copy_from_slice(&[0xa6, 0x59, 0x59, 0xa6]);
        iv[4..].copy_from_slice(&mli.to_be_bytes());
        let mut out = vec![0u8; data.len() + 8];
        wrap_key(&key, Some(iv), &mut out, &data).unwrap();
        assert!(unwrap(Kwa::Kw5649_256, &kwk, &out).is_err(), "MLI {mli}");
    }
}

#[test]
fn wrap_many_equals_wrapping_one_by_one() {
    use gikev2::crypto::keywrap::{wrap, KeyWrapper, Kwa};
    let kwk = [3u8; 32];
    let keys: Vec<Vec<u8>> = [1usize, 8, 9, 36, 64, 68, 256, 16, 3]
        .iter()
        .enumerate()
        .map(|(i, n)| (0..*n).map(|x| (x * 7 + i) as u8).collect())
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let mut w = KeyWrapper::new(Kwa::Kw5649_256, &kwk).unwrap();
    let many = w.wrap_many(&refs).unwrap();
    for (k, out) in keys.iter().zip(&many) {
        assert_eq!(out, &wrap(Kwa::Kw5649_256, &kwk, k).unwrap());
    }
    assert!(w.wrap_many(&[]).unwrap().is_empty());
    assert!(w.wrap_many(&[&[1u8; 257]]).is_err());
}
