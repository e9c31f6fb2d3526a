//! GCAUTH digital signatures (RFC 9838 §4.4.2.1.1, RFC 7427, RFC 8420).
//!
//! AlgorithmIdentifier sources: RFC 8420 §3 / RFC 8410 §3 (Ed25519), RFC 7427 Appendix A.3.1
//! (ecdsa-with-SHA256), RFC 7427 Appendix A.4.3 and its erratum (RSASSA-PSS SHA-256); the
//! RSASSA-PSS encodings are also those of strongSwan 5.9.8
//! `src/libstrongswan/tests/suites/test_signature_params.c` ("from RFC 7427, SHA-256" and
//! "SHA-256 (errata, without trailer, with len corrections)"). `tests/data/crypto/` holds an
//! id-RSASSA-PSS key made with `openssl genpkey -algorithm RSA-PSS -pkeyopt
//! rsa_pss_keygen_md:sha256 -pkeyopt rsa_pss_keygen_mgf1_md:sha256 -pkeyopt
//! rsa_pss_keygen_saltlen:32` (OpenSSL 3.0), whose SPKI carries OpenSSL's own encoding of the
//! same parameters.

use gikev2::crypto::sign::{SignatureAlg, SigningKey, VerifyingKey};
use gikev2::crypto::CryptoError;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const RFC8420_AID_ED25519: &str = "300506032b6570";
const RFC7427_A31_AID_ECDSA_SHA256: &str = "300a06082a8648ce3d040302";
const RFC7427_A43_ERRATUM_AID_RSA_PSS_SHA256: &str = concat!(
    "304106092a864886f70d01010a3034a00f300d06096086480165030402010500",
    "a11c301a06092a864886f70d010108300d06096086480165030402010500a203",
    "020120"
);
const RFC7427_A43_AID_RSA_PSS_SHA256_WITH_TRAILER: &str = concat!(
    "304606092a864886f70d01010a3039a00f300d06096086480165030402010500",
    "a11c301a06092a864886f70d010108300d06096086480165030402010500a203",
    "020120a303020101"
);

const RSA_PSS_KEY_PEM: &[u8] = include_bytes!("data/crypto/rsa_pss_sha256_2048.key.pem");
const RSA_PSS_SPKI_DER: &[u8] = include_bytes!("data/crypto/rsa_pss_sha256_2048.spki.der");
/// `openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048`: an id-RSASSA-PSS
/// SPKI without parameters.
const RSA_PSS_NOPARAMS_SPKI_DER: &[u8] =
    include_bytes!("data/crypto/rsa_pss_noparams_2048.spki.der");

const ALL: [SignatureAlg; 3] = [
    SignatureAlg::Ed25519,
    SignatureAlg::EcdsaP256Sha256,
    SignatureAlg::RsaPssSha256,
];

#[test]
fn algorithm_identifiers_are_exact() {
    assert_eq!(
        SignatureAlg::Ed25519.algorithm_identifier(),
        &hex(RFC8420_AID_ED25519)[..]
    );
    assert_eq!(
        SignatureAlg::EcdsaP256Sha256.algorithm_identifier(),
        &hex(RFC7427_A31_AID_ECDSA_SHA256)[..]
    );
    assert_eq!(
        SignatureAlg::RsaPssSha256.algorithm_identifier(),
        &hex(RFC7427_A43_ERRATUM_AID_RSA_PSS_SHA256)[..]
    );
    for alg in ALL {
        assert_eq!(
            SignatureAlg::from_algorithm_identifier(alg.algorithm_identifier()),
            Some(alg)
        );
    }
    assert_eq!(
        SignatureAlg::from_algorithm_identifier(&hex(RFC7427_A43_AID_RSA_PSS_SHA256_WITH_TRAILER)),
        Some(SignatureAlg::RsaPssSha256)
    );
    // sha256WithRSAEncryption (RFC 7427 A.2.3) and truncations are not recognised.
    assert_eq!(
        SignatureAlg::from_algorithm_identifier(&hex("300d06092a864886f70d01010b0500")),
        None
    );
    assert_eq!(
        SignatureAlg::from_algorithm_identifier(&hex(RFC8420_AID_ED25519)[..6]),
        None
    );
    assert_eq!(SignatureAlg::from_algorithm_identifier(&[]), None);
}

/// OpenSSL encodes the RSASSA-PSS parameters of an id-RSASSA-PSS key exactly as we do.
#[test]
fn openssl_rsa_pss_spki_uses_the_same_algorithm_identifier() {
    let aid = SignatureAlg::RsaPssSha256.algorithm_identifier();
    // SPKI = 30 82 01 56 | AlgorithmIdentifier | BIT STRING
    assert_eq!(&RSA_PSS_SPKI_DER[4..4 + aid.len()], aid);
}

#[test]
fn sign_verify_round_trip_and_tamper() {
    let data = b"DataToAuthenticate = A | P (RFC 9838 section 2.4.1.1)";
    for alg in ALL {
        let sk = SigningKey::generate(alg).unwrap();
        assert_eq!(sk.alg(), alg);
        let vk = VerifyingKey::from_spki_der(alg, &sk.public_spki_der().unwrap()).unwrap();
        assert_eq!(vk.alg(), alg);
        assert_eq!(vk.spki_der().unwrap(), sk.public_spki_der().unwrap());
        let sig = sk.sign(data).unwrap();
        assert!(sig.len() <= sk.max_signature_len());
        assert_eq!(vk.max_signature_len(), sk.max_signature_len());
        vk.verify(data, &sig).unwrap();
        sk.verifying_key().unwrap().verify(data, &sig).unwrap();

        let mut d = data.to_vec();
        d[0] ^= 1;
        assert_eq!(
            vk.verify(&d, &sig).unwrap_err(),
            CryptoError::SignatureInvalid
        );
        for pos in [0, sig.len() / 2, sig.len() - 1] {
            let mut s = sig.clone();
            s[pos] ^= 0x40;
            assert_eq!(
                vk.verify(data, &s).unwrap_err(),
                CryptoError::SignatureInvalid,
                "{alg:?} pos {pos}"
            );
        }
        assert_eq!(
            vk.verify(data, &[]).unwrap_err(),
            CryptoError::SignatureInvalid
        );
        let mut longer = sig.clone();
        longer.push(0);
        assert_eq!(
            vk.verify(data, &longer).unwrap_err(),
            CryptoError::SignatureInvalid
        );

        // A different key of the same type does not verify.
        let other = SigningKey::generate(alg).unwrap().verifying_key().unwrap();
        assert_eq!(
            other.verify(data, &sig).unwrap_err(),
            CryptoError::SignatureInvalid
        );
    }
}

#[test]
fn signature_formats() {
    let data = b"x";
    let ed = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    assert_eq!(ed.max_signature_len(), 64);
    assert_eq!(ed.sign(data).unwrap().len(), 64);
    // Ed25519 is deterministic.
    assert_eq!(ed.sign(data).unwrap(), ed.sign(data).unwrap());

    let ec = SigningKey::generate(SignatureAlg::EcdsaP256Sha256).unwrap();
    assert_eq!(ec.max_signature_len(), 72);
    for _ in 0..8 {
        // DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s } (RFC 7427 §3).
        let sig = ec.sign(data).unwrap();
        assert_eq!(sig[0], 0x30);
        assert_eq!(sig[1] as usize, sig.len() - 2);
        assert_eq!(sig[2], 0x02);
        assert!(sig.len() <= 72);
    }

    let rsa = SigningKey::generate(SignatureAlg::RsaPssSha256).unwrap();
    assert_eq!(rsa.max_signature_len(), 256);
    assert_eq!(rsa.sign(data).unwrap().len(), 256);
}

#[test]
fn spki_key_type_must_match_algorithm() {
    let ed = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let ec = SigningKey::generate(SignatureAlg::EcdsaP256Sha256).unwrap();
    let rsa = SigningKey::generate(SignatureAlg::RsaPssSha256).unwrap();
    let mismatch = CryptoError::InvalidKey("key type does not match the signature algorithm");
    for (alg, spki) in [
        (SignatureAlg::EcdsaP256Sha256, ed.public_spki_der().unwrap()),
        (SignatureAlg::RsaPssSha256, ed.public_spki_der().unwrap()),
        (SignatureAlg::Ed25519, ec.public_spki_der().unwrap()),
        (SignatureAlg::RsaPssSha256, ec.public_spki_der().unwrap()),
        (SignatureAlg::Ed25519, rsa.public_spki_der().unwrap()),
        (
            SignatureAlg::EcdsaP256Sha256,
            rsa.public_spki_der().unwrap(),
        ),
    ] {
        assert_eq!(
            VerifyingKey::from_spki_der(alg, &spki).unwrap_err(),
            mismatch,
            "{alg:?}"
        );
    }
    // P-384 is not P-256.
    let p384 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap();
    let p384 = PKey::from_ec_key(p384)
        .unwrap()
        .public_key_to_der()
        .unwrap();
    assert_eq!(
        VerifyingKey::from_spki_der(SignatureAlg::EcdsaP256Sha256, &p384).unwrap_err(),
        mismatch
    );
    // RSA below 2048 bits.
    let small = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
    assert_eq!(
        VerifyingKey::from_spki_der(
            SignatureAlg::RsaPssSha256,
            &small.public_key_to_der().unwrap()
        )
        .unwrap_err(),
        CryptoError::InvalidKey("RSA modulus shorter than 2048 bits")
    );
    // Malformed and trailing data.
    let mut spki = ed.public_spki_der().unwrap();
    spki.push(0);
    assert_eq!(
        VerifyingKey::from_spki_der(SignatureAlg::Ed25519, &spki).unwrap_err(),
        CryptoError::InvalidKey("malformed SubjectPublicKeyInfo")
    );
    for bad in [&[][..], &[0x30], &[0x30, 0x00], &[0x04, 0x01, 0x00]] {
        assert!(VerifyingKey::from_spki_der(SignatureAlg::Ed25519, bad).is_err());
    }
}

/// RFC 9838 Q13: for RSASSA-PSS both rsaEncryption and id-RSASSA-PSS SPKIs are accepted.
#[test]
fn rsa_pss_key_with_id_rsassa_pss_spki() {
    let sk = SigningKey::from_pem(SignatureAlg::RsaPssSha256, RSA_PSS_KEY_PEM).unwrap();
    assert_eq!(sk.public_spki_der().unwrap(), RSA_PSS_SPKI_DER);
    let vk = VerifyingKey::from_spki_der(SignatureAlg::RsaPssSha256, RSA_PSS_SPKI_DER).unwrap();
    let sig = sk.sign(b"group rekey").unwrap();
    vk.verify(b"group rekey", &sig).unwrap();
    // RFC 9838 §4.5.3.2: id-RSASSA-PSS AUTH_KEYs MUST include RSASSA-PSS-params.
    assert_eq!(
        VerifyingKey::from_spki_der(SignatureAlg::RsaPssSha256, RSA_PSS_NOPARAMS_SPKI_DER)
            .unwrap_err(),
        CryptoError::InvalidKey("id-RSASSA-PSS key without RSASSA-PSS-params")
    );
    // The same key is not an Ed25519 or ECDSA key.
    assert!(SigningKey::from_pem(SignatureAlg::Ed25519, RSA_PSS_KEY_PEM).is_err());
    assert!(VerifyingKey::from_spki_der(SignatureAlg::EcdsaP256Sha256, RSA_PSS_SPKI_DER).is_err());
}

#[test]
fn pkcs8_round_trip() {
    for alg in ALL {
        let sk = SigningKey::generate(alg).unwrap();
        let der = sk.to_pkcs8_der().unwrap();
        let again = SigningKey::from_pkcs8_der(alg, &der).unwrap();
        assert_eq!(
            again.public_spki_der().unwrap(),
            sk.public_spki_der().unwrap()
        );
        let sig = again.sign(b"m").unwrap();
        sk.verifying_key().unwrap().verify(b"m", &sig).unwrap();
        assert!(
            !format!("{sk:?}").contains("30"),
            "Debug must not print key bytes"
        );
    }
    assert_eq!(
        SigningKey::from_pkcs8_der(SignatureAlg::Ed25519, &[0x30, 0x00]).unwrap_err(),
        CryptoError::InvalidKey("malformed PKCS#8 private key")
    );
}

/// An id-RSASSA-PSS key restricted to other parameters (SHA-384) is refused for
/// RSASSA-PSS with SHA-256: its AlgorithmIdentifier must be the signature algorithm's.
#[test]
fn rsa_pss_key_with_other_parameters_is_refused() {
    let der = include_bytes!("data/crypto/rsa_pss_sha384_2048.spki.der");
    assert_eq!(
        VerifyingKey::from_spki_der(SignatureAlg::RsaPssSha256, der).unwrap_err(),
        CryptoError::InvalidKey(
            "id-RSASSA-PSS parameters other than SHA-256, MGF1-SHA-256, salt 32"
        )
    );
    // The accepted key keeps its SubjectPublicKeyInfo as received.
    let vk = VerifyingKey::from_spki_der(SignatureAlg::RsaPssSha256, RSA_PSS_SPKI_DER).unwrap();
    assert_eq!(vk.spki_der().unwrap(), RSA_PSS_SPKI_DER);
}
