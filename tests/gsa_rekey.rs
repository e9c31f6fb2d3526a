//! GSA_REKEY datagrams (RFC 9838 §2.4.1): build, sign, fragment, open, verify, and the
//! rejections. The signature framing (A | P with adjusted lengths, §2.4.1.1) is checked
//! against an independent reconstruction verified by Python `cryptography`.

use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::crypto::sk::{EncrAlg, SkProtector};
use gikev2::gsa_rekey::{
    build, Authenticator, RekeyMessageError, RekeyReceiver, Verifier, MAX_DATAGRAM_LEN,
};
use gikev2::wire::{
    self, GroupKeyBag, GroupKeyBagAttr, KdPayload, KeyBag, NotifyPayload, NotifyType, Payload,
    PayloadBody, ProtocolId, WrappedKey,
};
use std::process::Command;

const SPI: [u8; 16] = [
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
];
const GSK_E: [u8; 36] = [0x42; 36];

fn protector() -> SkProtector {
    SkProtector::new(EncrAlg::AesGcm16 { key_bits: 256 }, None, &GSK_E, &[]).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A KD with `n` Group Key Bags, to make messages of any size.
fn inner(n: usize) -> Vec<Payload> {
    let bags = (0..n)
        .map(|i| {
            KeyBag::Group(GroupKeyBag {
                protocol: ProtocolId::ESP,
                spi: (i as u32 + 0x1000).to_be_bytes().to_vec(),
                attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                    key_id: 0,
                    kwk_id: 0,
                    encrypted: vec![i as u8; 48],
                })],
            })
        })
        .collect();
    vec![
        Payload::new(PayloadBody::Kd(KdPayload { bags })),
        Payload::new(PayloadBody::Notify(NotifyPayload::new(
            NotifyType(40000),
            vec![1, 2],
        ))),
    ]
}

fn receive_all(datagrams: &[Vec<u8>], verifier: Verifier<'_>) -> gikev2::gsa_rekey::OpenedRekey {
    let mut rx = RekeyReceiver::new();
    let mut done = None;
    for d in datagrams {
        if let Some(m) = rx.receive(d, &SPI, &protector(), 0, verifier).unwrap() {
            done = Some(m);
        }
    }
    done.expect("message complete")
}

#[test]
fn implicit_round_trip() {
    let d = build(
        &SPI,
        7,
        &inner(2),
        &protector(),
        Authenticator::Implicit,
        None,
    )
    .unwrap();
    assert_eq!(d.len(), 1);
    let raw = wire::RawHeader::decode(&d[0]).unwrap();
    assert_eq!(raw.header.exchange, wire::ExchangeType::GSA_REKEY);
    assert_eq!(raw.header.flags, 0);
    assert_eq!(raw.header.spi_pair(), SPI);
    assert_eq!(raw.next_payload, wire::PayloadType::SK);
    let m = receive_all(&d, Verifier::Implicit);
    assert_eq!(m.message_id(), 7);
    assert_eq!(m.inner, inner(2));
    m.check_implicit().unwrap();
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    assert!(matches!(
        m.verify(&key.verifying_key().unwrap()),
        Err(RekeyMessageError::MissingAuth)
    ));
}

/// Rebuilds DataToAuthenticate by hand from the datagram and the plaintext the Python
/// oracle decrypted, and has Python verify the signature.
fn independent_signature_check(datagram: &[u8], key: &SigningKey) {
    let out = Command::new("python3")
        .args([
            "tests/oracle/sk_oracle.py",
            "open-msg",
            "--encr",
            "gcm",
            "--encr-key",
            &hex(&GSK_E),
            "--integ",
            "none",
            "--msg",
            &hex(datagram),
        ])
        .output()
        .expect("python3 runs (CI installs it)");
    assert!(
        out.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut p = unhex(String::from_utf8(out.stdout).unwrap().trim());
    // Walk the generic payload headers of P to the last payload, which is AUTH.
    let mut auth_start = 0;
    loop {
        let len = u16::from_be_bytes([p[auth_start + 2], p[auth_start + 3]]) as usize;
        if auth_start + len == p.len() {
            break;
        }
        auth_start += len;
    }
    let alg_id = key.alg().algorithm_identifier();
    let sig_start = auth_start + 8 + 1 + alg_id.len();
    let sig = p[sig_start..].to_vec();
    assert_eq!(p[auth_start + 4], 14, "AUTH method 14");
    assert_eq!(&p[auth_start + 9..sig_start], alg_id);
    p[sig_start..].iter_mut().for_each(|b| *b = 0);
    let mut a = datagram[..28].to_vec();
    a[16] = 46;
    a[24..28].copy_from_slice(&((32 + p.len()) as u32).to_be_bytes());
    a.extend_from_slice(&datagram[28..30]);
    a.extend_from_slice(&((p.len() + 4) as u16).to_be_bytes());
    a.extend_from_slice(&p);
    let alg = match key.alg() {
        SignatureAlg::Ed25519 => "ed25519",
        SignatureAlg::EcdsaP256Sha256 => "ecdsa-p256",
        SignatureAlg::RsaPssSha256 => "rsa-pss",
    };
    let spki = key.public_spki_der().unwrap();
    let out = Command::new("python3")
        .args([
            "tests/oracle/sk_oracle.py",
            "verify",
            "--alg",
            alg,
            "--spki",
            &hex(&spki),
            "--data",
            &hex(&a),
            "--sig",
            &hex(&sig),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "OK",
        "{alg}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn signatures_verify_here_and_independently() {
    for alg in [
        SignatureAlg::Ed25519,
        SignatureAlg::EcdsaP256Sha256,
        SignatureAlg::RsaPssSha256,
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let other = SigningKey::generate(alg).unwrap();
        for round in 0..4u32 {
            let d = build(
                &SPI,
                round,
                &inner(3),
                &protector(),
                Authenticator::Signature(&key),
                None,
            )
            .unwrap();
            let vk = key.verifying_key().unwrap();
            let m = receive_all(&d, Verifier::Signature(&vk));
            m.verify(&vk).unwrap();
            assert!(matches!(
                m.verify(&other.verifying_key().unwrap()),
                Err(RekeyMessageError::SignatureInvalid)
            ));
            assert!(matches!(
                m.check_implicit(),
                Err(RekeyMessageError::UnexpectedAuth)
            ));
            if round == 0 {
                independent_signature_check(&d[0], &key);
            }
        }
        let ed = SigningKey::generate(if alg == SignatureAlg::Ed25519 {
            SignatureAlg::EcdsaP256Sha256
        } else {
            SignatureAlg::Ed25519
        })
        .unwrap();
        let d = build(
            &SPI,
            1,
            &inner(1),
            &protector(),
            Authenticator::Signature(&key),
            None,
        )
        .unwrap();
        assert!(matches!(
            receive_all(&d, Verifier::Signature(&key.verifying_key().unwrap()))
                .verify(&ed.verifying_key().unwrap()),
            Err(RekeyMessageError::AlgorithmMismatch)
        ));
    }
}

#[test]
fn every_flipped_bit_is_rejected() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let vk = key.verifying_key().unwrap();
    let d = build(
        &SPI,
        3,
        &inner(1),
        &protector(),
        Authenticator::Signature(&key),
        None,
    )
    .unwrap();
    for i in 0..d[0].len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = d[0].clone();
            bad[i] ^= bit;
            let mut rx = RekeyReceiver::new();
            let r = rx.receive(&bad, &SPI, &protector(), 0, Verifier::Signature(&vk));
            let accepted = matches!(&r, Ok(Some(_)));
            assert!(!accepted, "flip at {i} accepted");
        }
    }
}

#[test]
fn replay_spi_and_exchange_checks() {
    let d = build(
        &SPI,
        5,
        &inner(1),
        &protector(),
        Authenticator::Implicit,
        None,
    )
    .unwrap();
    let mut rx = RekeyReceiver::new();
    assert!(matches!(
        rx.receive(&d[0], &SPI, &protector(), 6, Verifier::Implicit),
        Err(RekeyMessageError::Replay {
            received: 5,
            expected: 6
        })
    ));
    let mut other = SPI;
    other[0] ^= 1;
    assert!(matches!(
        rx.receive(&d[0], &other, &protector(), 0, Verifier::Implicit),
        Err(RekeyMessageError::WrongSpi)
    ));
    let mut x = d[0].clone();
    x[18] = 37;
    assert!(matches!(
        rx.receive(&x, &SPI, &protector(), 0, Verifier::Implicit),
        Err(RekeyMessageError::NotGsaRekey(_))
    ));
    let wrong_keys =
        SkProtector::new(EncrAlg::AesGcm16 { key_bits: 256 }, None, &[1; 36], &[]).unwrap();
    assert!(matches!(
        rx.receive(&d[0], &SPI, &wrong_keys, 0, Verifier::Implicit),
        Err(RekeyMessageError::Crypto(_))
    ));
    for cut in [0, 10, 27, 31, d[0].len() - 1] {
        assert!(
            rx.receive(&d[0][..cut], &SPI, &protector(), 0, Verifier::Implicit)
                .is_err(),
            "cut at {cut}"
        );
    }
    assert!(rx
        .receive(&d[0], &SPI, &protector(), 5, Verifier::Implicit)
        .unwrap()
        .is_some());
}

#[test]
fn fragments_reassemble_in_any_order_and_signature_covers_the_whole() {
    let key = SigningKey::generate(SignatureAlg::EcdsaP256Sha256).unwrap();
    let vk = key.verifying_key().unwrap();
    let limit = 300;
    let d = build(
        &SPI,
        9,
        &inner(20),
        &protector(),
        Authenticator::Signature(&key),
        Some(limit),
    )
    .unwrap();
    assert!(d.len() > 3, "{} fragments", d.len());
    for f in &d {
        assert!(f.len() <= limit);
        assert_eq!(
            wire::RawHeader::decode(f).unwrap().next_payload,
            wire::PayloadType::SKF
        );
    }
    let whole = build(
        &SPI,
        9,
        &inner(20),
        &protector(),
        Authenticator::Implicit,
        None,
    )
    .unwrap();
    assert!(whole[0].len() > limit);
    for order in [d.clone(), d.iter().rev().cloned().collect::<Vec<_>>()] {
        let m = receive_all(&order, Verifier::Signature(&vk));
        m.verify(&vk).unwrap();
        assert_eq!(&m.inner[..2], &inner(20)[..]);
    }
    // Missing, duplicate, truncated and stale fragments.
    let mut rx = RekeyReceiver::new();
    for f in &d[..d.len() - 1] {
        assert!(rx
            .receive(f, &SPI, &protector(), 0, Verifier::Signature(&vk))
            .unwrap()
            .is_none());
    }
    assert!(matches!(
        rx.receive(&d[0], &SPI, &protector(), 0, Verifier::Signature(&vk)),
        Err(RekeyMessageError::BadFragment(_))
    ));
    assert!(rx
        .receive(
            &d[d.len() - 1][..40],
            &SPI,
            &protector(),
            0,
            Verifier::Signature(&vk)
        )
        .is_err());
    let older = build(
        &SPI,
        8,
        &inner(20),
        &protector(),
        Authenticator::Implicit,
        Some(limit),
    )
    .unwrap();
    // A fragment of another message is reassembled apart and does not disturb this one.
    assert!(rx
        .receive(&older[0], &SPI, &protector(), 0, Verifier::Signature(&vk))
        .unwrap()
        .is_none());
    // The rejected datagrams changed nothing: the last fragment completes the message.
    let m = rx
        .receive(
            &d[d.len() - 1],
            &SPI,
            &protector(),
            0,
            Verifier::Signature(&vk),
        )
        .unwrap()
        .unwrap();
    m.verify(&key.verifying_key().unwrap()).unwrap();
    assert!(matches!(
        build(
            &SPI,
            1,
            &inner(20),
            &protector(),
            Authenticator::Implicit,
            Some(60)
        ),
        Err(RekeyMessageError::FragmentSizeTooSmall(60))
    ));
}

/// A message too large for one datagram (docs/decisions.md K20): refused when it may not
/// be fragmented; fragmented within the largest datagram when it may, also with a
/// `fragment_size` above that.
#[test]
fn a_message_above_the_largest_datagram_needs_fragments() {
    let mut big = inner(900);
    big.push(Payload::new(PayloadBody::Notify(NotifyPayload::new(
        NotifyType(40001),
        vec![7; 6000],
    ))));
    let b = |fragment_size| {
        build(
            &SPI,
            3,
            &big,
            &protector(),
            Authenticator::Implicit,
            fragment_size,
        )
    };
    assert!(matches!(
        b(None),
        Err(RekeyMessageError::TooLarge { len, max: MAX_DATAGRAM_LEN }) if len > MAX_DATAGRAM_LEN
    ));
    for limit in [1400, 65_535] {
        let d = b(Some(limit)).unwrap();
        assert!(d.len() > 1);
        assert!(d.iter().all(|x| x.len() <= limit.min(MAX_DATAGRAM_LEN)));
    }
}

/// A member holding the current keys forges fragments with high Message IDs (it can pass
/// the ICV, not the signature): the key server's next message still reassembles.
#[test]
fn forged_high_id_fragments_cannot_block_the_next_message() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let vk = key.verifying_key().unwrap();
    let limit = 300;
    let mut rx = RekeyReceiver::new();
    for id in 0..20u32 {
        let forged = build(
            &SPI,
            u32::MAX - id,
            &inner(20),
            &protector(),
            Authenticator::Implicit,
            Some(limit),
        )
        .unwrap();
        assert!(rx
            .receive(&forged[0], &SPI, &protector(), 4, Verifier::Signature(&vk))
            .unwrap()
            .is_none());
    }
    let d = build(
        &SPI,
        4,
        &inner(20),
        &protector(),
        Authenticator::Signature(&key),
        Some(limit),
    )
    .unwrap();
    let mut done = None;
    for f in &d {
        if let Some(m) = rx
            .receive(f, &SPI, &protector(), 4, Verifier::Signature(&vk))
            .unwrap()
        {
            done = Some(m);
        }
    }
    done.expect("the real message completes")
        .verify(&key.verifying_key().unwrap())
        .unwrap();
}

/// A member holding the current keys forges one fragment with the Message ID of the key
/// server's next message: with another Total Fragments, or with the same Total and other
/// octets for one Fragment Number (review: `tests/rekey_attacks.rs` a7, a8). The key
/// server's message completes and verifies all the same, on its first copy.
#[test]
fn forged_fragments_of_the_next_message_are_reassembled_apart() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let vk = key.verifying_key().unwrap();
    let real = build(
        &SPI,
        4,
        &inner(20),
        &protector(),
        Authenticator::Signature(&key),
        Some(300),
    )
    .unwrap();
    let other_total = build(
        &SPI,
        4,
        &inner(40),
        &protector(),
        Authenticator::Implicit,
        Some(300),
    )
    .unwrap();
    assert_ne!(other_total.len(), real.len());
    let f = gikev2::protect::open_fragment(&real[1], &protector()).unwrap();
    let mut chunk = f.chunk.to_vec();
    chunk[0] ^= 1;
    let same_total = gikev2::protect::seal_fragment(
        &f.message.header,
        f.inner_first,
        f.number,
        f.total,
        &chunk,
        &protector(),
    )
    .unwrap();
    for forged in [&other_total[1], &same_total] {
        let mut rx = RekeyReceiver::new();
        assert!(rx
            .receive(forged, &SPI, &protector(), 4, Verifier::Signature(&vk))
            .unwrap()
            .is_none());
        let mut done = None;
        for d in &real {
            if let Some(m) = rx
                .receive(d, &SPI, &protector(), 4, Verifier::Signature(&vk))
                .unwrap()
            {
                done = Some(m);
            }
        }
        assert_eq!(done.expect("the real message completes").message_id(), 4);
        assert_eq!(rx.candidates(), 0, "the forgery goes with it");
    }
}
